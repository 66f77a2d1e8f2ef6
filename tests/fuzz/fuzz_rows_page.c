/* fuzz_rows_page.c - the dataset viewer's rows API (datasets/ds_fetch.c, Video-MME): parts are
 * successive page bodies as the server would send them; each is validated and taken
 * (ds_rows_page_take), the rows are assembled in row_idx order and the result goes through the
 * Video-MME adapter, as fetch does before it commits a cache entry. */
#include "tests/fuzz/fuzz_util.h"

#include "datasets/datasets.h"
#include "datasets/ds_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[FZ_MAX_PARTS];
    size_t len[FZ_MAX_PARTS];
    size_t n = fz_split(data, size, part, len, FZ_MAX_PARTS);
    ds_rows acc;
    if (ds_rows_init(&acc)) return 0;
    char err[1024];
    int st = 0;
    for (size_t i = 0; i < n && !st; i++) {
        int got = 0;
        st = ds_rows_page_take(&acc, "fuzz/rows", (const char *)part[i], len[i], &got, err, sizeof err);
    }
    char *json = NULL;
    size_t jl = 0;
    if (!st && ds_rows_assemble(&acc, &json, &jl, err, sizeof err) == 0) {
        ds_load_params lp = ds_load_default_params();
        lp.keep_bad_records = 1;
        ds_sample_set *set = NULL;
        if (ds_samples_parse(DS_BENCH_VIDEOMME, json, jl, NULL, "rows API", &lp, &set, err, sizeof err) == 0)
            ds_sample_set_free(set);
        free(json);
    }
    ds_rows_free(&acc);
    return 0;
}
