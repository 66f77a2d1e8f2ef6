/* cmd_score.c - tango-bench score: one benchmark's answer scoring under a named convention, as a
 * filter. JSON lines in on standard input, {"raw": "...", "options": ["...", ...], "gold": "B"},
 * one JSON line out per input line, in order:
 *     {"letter": "B" or null, "correct": true|false, "parse_failed": true|false, "score": 1|0|-1|null}
 * so anyone can check a rule set against their own outputs. `score` is the sample's term in the
 * peer's accuracy (null: the peer leaves it out of the denominator). `options` may be left out for
 * videomme (4 options) and longvideobench (5); mvbench and mlvu need the option texts. An optional
 * "task" names the sample's task for a convention that averages over tasks (lmms-eval mlvu).
 * --aggregate adds one last line {"aggregate": the peer's headline accuracy in percent, "n": N}.
 * A blank line is echoed as a blank line; a malformed one stops with a message naming its number. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aggregate.h"
#include "datasets/datasets.h"
#include "harness/cli.h"
#include "harness/commands.h"

/* Reads one line of any length from f into *buf (grown); returns its length or -1 at EOF. */
static long read_line(FILE *f, char **buf, size_t *cap) {
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (n + 2 > *cap) {
            size_t nc = *cap ? 2 * *cap : 4096;
            char *g = realloc(*buf, nc);
            if (!g) return -2;
            *buf = g;
            *cap = nc;
        }
        if (c == '\n') break;
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && n == 0) return -1;
    (*buf)[n] = '\0';
    if (n && (*buf)[n - 1] == '\r') (*buf)[--n] = '\0';
    return (long)n;
}

/* Fills s from one input object (strings borrowed from it). Returns 0, or -1 with err set. */
static int sample_from_json(const cJSON *o, ds_bench bench, ds_sample *s, const char **raw, char *err, size_t n) {
    memset(s, 0, sizeof *s);
    s->bench = bench;
    s->id = "stdin";
    if (!cJSON_IsObject(o)) return snprintf(err, n, "not a JSON object"), -1;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "raw");
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(o, "options");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "gold");
    if (r && !cJSON_IsString(r) && !cJSON_IsNull(r)) return snprintf(err, n, "field 'raw': not a string or null"), -1;
    *raw = cJSON_IsString(r) ? r->valuestring : "";
    if (!cJSON_IsString(g) || strlen(g->valuestring) != 1 || g->valuestring[0] < 'A' || g->valuestring[0] > 'Z')
        return snprintf(err, n, "field 'gold': not a capital letter"), -1;
    s->gold = g->valuestring[0];
    if (opts) {
        if (!cJSON_IsArray(opts)) return snprintf(err, n, "field 'options': not an array of strings"), -1;
        for (const cJSON *it = opts->child; it; it = it->next) {
            if (!cJSON_IsString(it)) return snprintf(err, n, "field 'options': not an array of strings"), -1;
            if (s->n_options == DS_MAX_OPTIONS) return snprintf(err, n, "field 'options': more than %d", DS_MAX_OPTIONS), -1;
            s->options[s->n_options++] = it->valuestring;
        }
        if (s->n_options < 1) return snprintf(err, n, "field 'options': empty"), -1;
    } else if (bench == DS_BENCH_VIDEOMME || bench == DS_BENCH_LONGVIDEOBENCH) {
        static char empty[] = "";
        s->n_options = bench == DS_BENCH_VIDEOMME ? 4 : 5;
        for (int i = 0; i < s->n_options; i++) s->options[i] = empty;
    } else {
        return snprintf(err, n, "field 'options': required for %s", ds_bench_name(bench)), -1;
    }
    if (s->gold >= 'A' + s->n_options)
        return snprintf(err, n, "field 'gold': '%c' is past the %d options", s->gold, s->n_options), -1;
    return 0;
}

int cmd_score(int argc, char **argv) {
    const char *bench_name = NULL, *conv_name = "vlmevalkit";
    int aggregate = 0;
    char conv_help[160];
    snprintf(conv_help, sizeof conv_help, "scoring convention: %s", ds_convention_names());
    const cli_opt opts[] = {
        {"benchmark", CLI_STR, &bench_name, "B", "videomme | mvbench | longvideobench | mlvu", .required = 1},
        {"convention", CLI_STR, &conv_name, "C", conv_help},
        {"aggregate", CLI_FLAG, &aggregate, NULL, "end with the peer's headline accuracy over all lines"},
        {0},
    };
    const cli_spec spec = {"score", NULL, 0, 0,
                           "score raw answers read as JSON lines on stdin ({\"raw\", \"options\", \"gold\"}); one JSON "
                           "line out per line in",
                           opts};
    char *pos[1];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    ds_bench bench;
    ds_convention conv;
    if (ds_bench_parse(bench_name, &bench)) return cli_usage_error(&spec, "unknown benchmark '%s'", bench_name);
    if (ds_convention_parse(conv_name, &conv))
        return cli_usage_error(&spec, "unknown convention '%s' (one of %s)", conv_name, ds_convention_names());

    char rule[512];
    tb_agg ag;
    if (ds_aggregate_describe(conv, bench, rule, sizeof rule) || tb_agg_init(&ag, rule)) {
        fprintf(stderr, "tango-bench score: bad aggregation rule\n");
        return 1;
    }
    int64_t n_lines = 0;
    char *line = NULL, err[512];
    size_t cap = 0;
    long len;
    int rc = 0;
    for (long lineno = 1; (len = read_line(stdin, &line, &cap)) >= 0; lineno++) {
        if (strspn(line, " \t") == (size_t)len) {
            putchar('\n');
            continue;
        }
        cJSON *o = cJSON_ParseWithLength(line, (size_t)len);
        ds_sample s;
        const char *raw = NULL;
        if (!o) snprintf(err, sizeof err, "not valid JSON");
        if (!o || sample_from_json(o, bench, &s, &raw, err, sizeof err)) {
            fprintf(stderr, "tango-bench score: stdin line %ld: %s\n", lineno, err);
            cJSON_Delete(o);
            rc = 1;
            break;
        }
        ds_answer a;
        if (ds_answer_score(&s, conv, raw, &a, err, sizeof err)) {
            fprintf(stderr, "tango-bench score: stdin line %ld: %s\n", lineno, err);
            cJSON_Delete(o);
            rc = 1;
            break;
        }
        n_lines++;
        const cJSON *task = cJSON_GetObjectItemCaseSensitive(o, "task");
        tb_agg_add(&ag, a.score, cJSON_IsString(task) ? task->valuestring : NULL);
        cJSON_Delete(o);
        char letter[8] = "null", score[16] = "null";
        if (a.letter) snprintf(letter, sizeof letter, "\"%c\"", a.letter);
        if (!isnan(a.score)) snprintf(score, sizeof score, "%g", a.score);
        printf("{\"letter\": %s, \"correct\": %s, \"parse_failed\": %s, \"score\": %s}\n", letter,
               a.correct ? "true" : "false", a.parse != DS_PARSE_OK ? "true" : "false", score);
    }
    if (aggregate && rc == 0) {
        double acc = tb_agg_value(&ag);
        if (isnan(acc)) printf("{\"aggregate\": null, \"n\": %lld}\n", (long long)n_lines);
        else printf("{\"aggregate\": %.10g, \"n\": %lld}\n", 100 * acc, (long long)n_lines);
    }
    if (len == -2) {
        fprintf(stderr, "tango-bench score: out of memory reading stdin\n");
        rc = 1;
    }
    free(line);
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "tango-bench score: write error\n");
        rc = 1;
    }
    return rc;
}
