/* fuzz_adapter.h - one benchmark adapter end to end (datasets/): parts "RECORDS ##### PREDICTION".
 * RECORDS (a JSON array, JSON Lines or a rows-API page, in that benchmark's record format) go
 * through ds_samples_parse, once failing on the first bad record and once keeping bad records as
 * failed samples (as the runner does); every good sample gets its chat prompt for each model
 * family and scoring convention, with and without the time instruction, and PREDICTION (bytes,
 * NULs included) is scored under each convention. MVBench and MLVU need a task: it is chosen by the input size
 * among the official ones, so seeds stay plain record files. */
#ifndef TB_FUZZ_ADAPTER_H
#define TB_FUZZ_ADAPTER_H

#include "tests/fuzz/fuzz_util.h"

#include "datasets/datasets.h"
#include "datasets/ds_adapt_internal.h"

static inline void fz_sample(const ds_sample *s, const char *pred, size_t pred_len) {
    char err[512];
    static const double times[3] = {0.0, 1.5, 3.25};
    ds_video_time vt = {.duration_s = 4.0, .frame_height = 384, .n_frames = 3, .frame_times = times};
    for (int fam = 0; fam < TB_N_FAMILIES; fam++)
        for (int conv = 0; conv < DS_CONV_COUNT; conv++) {
            ds_prompt_params pp = ds_prompt_default_params();
            pp.family = (tb_family)fam;
            pp.convention = (ds_convention)conv;
            free(ds_prompt_chat(s, &pp, NULL, err, sizeof err));
            free(ds_prompt_chat(s, &pp, &vt, err, sizeof err));
            ds_answer a;
            (void)ds_answer_score_n(s, pp.convention, pred, pred_len, &a, err, sizeof err);
        }
}

static inline int fz_adapter(ds_bench bench, const uint8_t *data, size_t size) {
    const uint8_t *part[2];
    size_t len[2];
    size_t n = fz_split(data, size, part, len, 2);
    size_t pred_len = n > 1 ? len[1] : 0;
    char *pred = fz_strndup(n > 1 ? part[1] : (const uint8_t *)"", pred_len); /* may hold NULs */
    const char *task = NULL;
    if (bench == DS_BENCH_MVBENCH) task = ds_mvbench_task_stem(size % DS_MVBENCH_N_TASKS);
    if (bench == DS_BENCH_MLVU) task = ds_mlvu_file_stem(size % DS_MLVU_N_FILES);
    for (int keep = 0; keep < 2; keep++) {
        ds_load_params lp = ds_load_default_params();
        lp.videos_root = "/nonexistent-videos";
        lp.keep_bad_records = keep;
        ds_sample_set *set = NULL;
        char err[1024];
        if (ds_samples_parse(bench, (const char *)part[0], len[0], task, "fuzz.json", &lp, &set, err, sizeof err))
            continue;
        for (size_t i = 0; i < ds_sample_set_count(set); i++) {
            const ds_sample *s = ds_sample_set_get(set, i);
            if (!s->error) fz_sample(s, pred, pred_len);
        }
        ds_sample_set_free(set);
    }
    free(pred);
    return 0;
}

#endif
