/* cmd_samples.c - tango-bench samples BENCH: print a benchmark's normalised samples and prompts,
 * from the cache (tango-bench fetch) or a local manifest in the official record format. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "datasets/datasets.h"
#include "harness/cli.h"
#include "harness/commands.h"

static cJSON *num_or_null(double v) { return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v); }

/* One JSON object per line with the keys of the issue, in order. 0 ok, else 1 (message printed). */
static int print_json(const ds_sample *s, const char *prompt) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return 1;
    char gold[2] = {s->gold, 0};
    cJSON_AddStringToObject(o, "id", s->id);
    cJSON_AddStringToObject(o, "benchmark", ds_bench_name(s->bench));
    cJSON_AddStringToObject(o, "video", s->video);
    cJSON_AddItemToObject(o, "start", num_or_null(s->start));
    cJSON_AddItemToObject(o, "end", num_or_null(s->end));
    cJSON_AddStringToObject(o, "question", s->question);
    cJSON *opts = cJSON_AddArrayToObject(o, "options");
    for (int i = 0; opts && i < s->n_options; i++) cJSON_AddItemToArray(opts, cJSON_CreateString(s->options[i]));
    cJSON_AddStringToObject(o, "gold", gold);
    cJSON *cats = cJSON_AddObjectToObject(o, "categories");
    for (int i = 0; cats && i < s->n_categories; i++)
        cJSON_AddStringToObject(cats, s->category_keys[i], s->category_values[i]);
    cJSON_AddStringToObject(o, "prompt", prompt);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) {
        fprintf(stderr, "tango-bench samples: out of memory\n");
        return 1;
    }
    puts(text);
    free(text);
    return 0;
}

static void print_text(const ds_sample *s, const char *prompt) {
    printf("%s  gold=%c  video=%s", s->id, s->gold, s->video);
    if (!isnan(s->start)) printf("  [%g, %g] s", s->start, s->end);
    for (int i = 0; i < s->n_categories; i++) printf("  %s=%s", s->category_keys[i], s->category_values[i]);
    printf("\n  Q: %s\n", s->question);
    for (int i = 0; i < s->n_options; i++) printf("  %c. %s\n", 'A' + i, s->options[i]);
    printf("  prompt: ");
    for (const char *c = prompt; *c; c++) {
        if (*c == '\n') fputs("\\n", stdout);
        else putchar(*c);
    }
    putchar('\n');
}

int cmd_samples(int argc, char **argv) {
    const char *family = "llava-ov", *convention = "vlmevalkit", *cache = NULL, *revision = "main";
    const char *videos = ".", *manifest = NULL;
    int64_t limit = 0;
    int json = 0;
    const cli_opt opts[] = {
        {"limit", CLI_INT, &limit, "N", "print at most N samples (0 = all)", .min = 0, .max = 1e12},
        {"json", CLI_FLAG, &json, NULL, "one JSON object per line"},
        {"family", CLI_STR, &family, "NAME", "model family for the prompt: llava-ov | llava-video"},
        {"convention", CLI_STR, &convention, "NAME", "prompt/scoring convention: vlmevalkit | lmms-eval | vlmevalkit@e8e78f0 | lmms-eval@0.7.3"},
        {"cache", CLI_STR, &cache, "DIR", "cache root written by fetch", .env = "TB_CACHE"},
        {"revision", CLI_STR, &revision, "REV", "dataset revision of the cache entry"},
        {"videos", CLI_STR, &videos, "DIR", "videos root (benchmark layout below it)"},
        {"manifest", CLI_STR, &manifest, "PATH", "local manifest file or directory in the official format (bypasses the cache)"},
        {0}};
    const cli_spec spec = {"samples", "BENCH", 1, 1, "print a benchmark's normalised samples and prompts", opts};
    char *pos[1];
    int n_pos = 0;
    int st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    ds_bench bench;
    ds_prompt_params pp = ds_prompt_default_params();
    if (ds_bench_parse(pos[0], &bench) != 0)
        return cli_usage_error(&spec, "unknown benchmark '%s' (videomme, mvbench, longvideobench, mlvu)", pos[0]);
    if (tb_family_parse(family, &pp.family) != 0)
        return cli_usage_error(&spec, "--family must be llava-ov or llava-video, not '%s'", family);
    if (ds_convention_parse(convention, &pp.convention) != 0)
        return cli_usage_error(&spec, "--convention must be one of %s, not '%s'", ds_convention_names(), convention);
    ds_load_params lp = ds_load_default_params();
    lp.cache_dir = cache && *cache ? cache : NULL;
    lp.revision = revision;
    lp.videos_root = videos;
    lp.manifest = manifest;
    char err[1024] = "";
    ds_sample_set *set = NULL;
    int rc = ds_samples_load(bench, &lp, &set, err, sizeof err);
    if (rc != DS_OK) {
        fprintf(stderr, "tango-bench samples: %s\n", err[0] ? err : ds_status_str(rc));
        return 1;
    }
    size_t n = ds_sample_set_count(set);
    if (limit > 0 && (uint64_t)limit < n) n = (size_t)limit;
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++) {
        const ds_sample *s = ds_sample_set_get(set, i);
        char *prompt = ds_prompt_user(s, &pp, NULL, err, sizeof err);
        if (!prompt) {
            fprintf(stderr, "tango-bench samples: %s: %s\n", s->id, err);
            ret = 2;
            break;
        }
        if (json) ret = print_json(s, prompt);
        else print_text(s, prompt);
        free(prompt);
    }
    ds_sample_set_free(set);
    return ret;
}
