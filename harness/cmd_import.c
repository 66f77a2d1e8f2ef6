/* cmd_import.c - tango-bench import: another tool's per-sample outputs into a results database as
 * a run, scored under the matching convention, so `compare` and `report` work across tools.
 *
 *     tango-bench import lmms-eval SAMPLES.jsonl... --db F --model M --benchmark B --method X
 *     tango-bench import vlmevalkit PRED.(xlsx|tsv|csv|json) --db F --model M --benchmark B --method X
 *
 * Model, benchmark and method are named on the command line (the files do not say which pruning
 * method ran); --ratio places the run in a retention block of the report (without it the run is a
 * full-token reference row, like the runner's "full"). The run key holds the SHA-256 of the files
 * (chained in the order given), so importing the same files again resumes the same run and adds
 * nothing; another file is another run. Every sample is scored again under --convention (default:
 * the tool's, as vendored in the Tango repository), from the raw output the file recorded. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/file.h"
#include "common/sha256.h"
#include "datasets/datasets.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/rescore.h"
#include "store/store.h"

#define IMPORT_MAX_FILES 64
#define IMPORT_FILE_MAX ((size_t)1 << 30)

/* Reads a whole file (at most IMPORT_FILE_MAX bytes), NUL-terminated. */
static char *read_all(const char *path, size_t *len, char *err, size_t err_len) {
    FILE *f = tb_fopen_read(path, TB_OPEN_REGULAR, err, err_len); /* a FIFO would block fopen */
    if (!f) return NULL;
    struct stat sb;
    char *buf = NULL;
    if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > IMPORT_FILE_MAX) {
        snprintf(err, err_len, "%s: not a regular file of at most 1 GiB", path);
        goto out;
    }
    *len = (size_t)sb.st_size;
    if (!(buf = malloc(*len + 1))) {
        snprintf(err, err_len, "%s: out of memory", path);
        goto out;
    }
    if (fread(buf, 1, *len, f) != *len) {
        snprintf(err, err_len, "%s: read error", path);
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[*len] = '\0';
out:
    fclose(f);
    return buf;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int cmd_import(int argc, char **argv) {
    const char *path = NULL, *model = NULL, *bench_name = NULL, *method = NULL, *conv_name = NULL;
    double ratio = NAN;
    char conv_help[200];
    snprintf(conv_help, sizeof conv_help, "score under this convention (default: the tool's): %s",
             ds_convention_names());
    const cli_opt opts[] = {
        {"db", CLI_STR, &path, "FILE", "results database", .required = 1, .env = "TANGO_DB"},
        {"model", CLI_STR, &model, "NAME", "the model that produced the outputs", .required = 1},
        {"benchmark", CLI_STR, &bench_name, "B", "videomme | mvbench | longvideobench | mlvu", .required = 1},
        {"method", CLI_STR, &method, "NAME", "the pruning method that ran (\"full\" for none)", .required = 1},
        {"ratio", CLI_DOUBLE, &ratio, "R", "its target equivalent retention (omit for a full-token run)", 1e-6, 1},
        {"convention", CLI_STR, &conv_name, "C", conv_help},
        {0},
    };
    const cli_spec spec = {"import", "lmms-eval|vlmevalkit FILE...", 2, 1 + IMPORT_MAX_FILES,
                           "load lmms-eval samples (.jsonl) or VLMEvalKit predictions (.xlsx, .tsv, .csv, .json) as a "
                           "run",
                           opts};
    char *pos[1 + IMPORT_MAX_FILES];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    const char *tool = pos[0];
    int lmms = !strcmp(tool, "lmms-eval");
    if (!lmms && strcmp(tool, "vlmevalkit")) return cli_usage_error(&spec, "unknown tool '%s' (lmms-eval or vlmevalkit)", tool);
    ds_bench bench;
    if (ds_bench_parse(bench_name, &bench)) return cli_usage_error(&spec, "unknown benchmark '%s'", bench_name);
    ds_convention conv = lmms ? DS_CONV_LMMS_EVAL : DS_CONV_VLMEVALKIT;
    if (conv_name && ds_convention_parse(conv_name, &conv))
        return cli_usage_error(&spec, "unknown convention '%s' (one of %s)", conv_name, ds_convention_names());

    /* read, hash and parse every file */
    char err[2048], chain[65] = "", key[DB_KEY_LEN + 1];
    db_import_set set = {0};
    cJSON *files = cJSON_CreateArray();
    int rc = 1;
    db_store *db = NULL;
    char *params = NULL;
    for (int i = 1; i < n_pos; i++) {
        size_t len;
        char *data = read_all(pos[i], &len, err, sizeof err), sha[65], link[140];
        if (!data) {
            fprintf(stderr, "tango-bench import: %s\n", err);
            goto done;
        }
        tb_sha256_hex(data, len, sha);
        snprintf(link, sizeof link, "%s%s", chain, sha); /* chained: order matters, names do not */
        tb_sha256_hex(link, strlen(link), chain);
        cJSON_AddItemToArray(files, cJSON_CreateString(base_name(pos[i])));
        int pst = lmms ? db_import_lmms(base_name(pos[i]), data, len, bench_name, &set, err, sizeof err)
                       : db_import_vlmeval(base_name(pos[i]), data, len, bench_name, &set, err, sizeof err);
        free(data);
        if (pst) {
            fprintf(stderr, "tango-bench import: %s\n", err);
            goto done;
        }
    }
    if (set.n == 0) {
        fprintf(stderr, "tango-bench import: %s: no samples\n", pos[1]);
        goto done;
    }

    /* the run: everything that identifies it, the files by content */
    cJSON *pj = cJSON_CreateObject(), *imp = cJSON_CreateObject();
    if (!isnan(ratio)) cJSON_AddNumberToObject(pj, "ratio", ratio);
    cJSON_AddStringToObject(imp, "tool", tool);
    cJSON_AddStringToObject(imp, "sha256", chain);
    cJSON_AddItemToObject(imp, "files", files);
    files = NULL;
    cJSON_AddItemToObject(pj, "import", imp);
    cJSON_AddStringToObject(pj, "convention", ds_convention_name(conv));
    params = cJSON_PrintUnformatted(pj);
    cJSON_Delete(pj);
    char aggregate[512], code_version[160];
    ds_aggregate_describe(conv, bench, aggregate, sizeof aggregate);
    snprintf(code_version, sizeof code_version, "tango-bench %s (git %s) import %s", TB_VERSION, TB_GIT_REV, tool);
    db_run_spec rs = db_run_spec_default();
    rs.model = model, rs.benchmark = bench_name, rs.method = method, rs.params_json = params;
    rs.revision = "", rs.split = bench == DS_BENCH_MLVU ? "dev" : "val";
    rs.code_version = code_version, rs.convention = ds_convention_name(conv), rs.aggregate = aggregate;
    rs.n_expected = (int64_t)set.n;
    if (!(db = db_open(path, err, sizeof err))) {
        fprintf(stderr, "tango-bench import: %s\n", err);
        goto done;
    }
    int resumed;
    if (db_run_open(db, &rs, key, &resumed)) {
        fprintf(stderr, "tango-bench import: %s\n", db_errmsg(db));
        goto done;
    }
    int64_t n_new = 0, n_correct = 0;
    for (size_t i = 0; i < set.n; i++) {
        const db_import_row *r = &set.rows[i];
        int done;
        if (db_sample_done(db, key, r->sample_id, &done)) {
            fprintf(stderr, "tango-bench import: %s\n", db_errmsg(db));
            goto done;
        }
        if (done) continue;
        hs_stored s;
        ds_answer a;
        if (hs_sample_from_stored(bench, conv, r->sample_id, r->gold, r->options_json, &s, err, sizeof err) ||
            (ds_answer_score(&s.s, conv, r->raw, &a, err, sizeof err) && (hs_stored_free(&s), 1))) {
            fprintf(stderr, "tango-bench import: %s: %s\n", pos[1], err);
            goto done;
        }
        hs_stored_free(&s);
        char parsed[2] = {a.letter, 0};
        db_sample_result res = {
            .sample_id = r->sample_id, .video_id = r->video_id, .categories_json = r->categories_json,
            .raw_output = r->raw, .parsed = a.parse == DS_PARSE_OK ? parsed : NULL, .gold = r->gold,
            .correct = a.correct, .parse_failed = a.parse != DS_PARSE_OK, .score_set = 1, .score = a.score,
            .options_json = r->options_json, .ms = {-1, -1, -1, -1, -1, -1},
        };
        if (db_sample_put(db, key, &res)) {
            fprintf(stderr, "tango-bench import: %s\n", db_errmsg(db));
            goto done;
        }
        n_new++;
        n_correct += a.correct;
    }
    if (db_run_finish(db, key, DB_RUN_OK)) {
        fprintf(stderr, "tango-bench import: %s\n", db_errmsg(db));
        goto done;
    }
    printf("imported %lld of %zu samples (%lld correct under %s) into run %s%s\n", (long long)n_new, set.n,
           (long long)n_correct, ds_convention_name(conv), key, resumed ? " (the run existed)" : "");
    rc = 0;
done:
    cJSON_Delete(files);
    free(params);
    db_import_set_free(&set);
    db_close(db);
    return rc;
}
