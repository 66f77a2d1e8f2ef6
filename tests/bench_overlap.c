/* bench_overlap.c - what decoding ahead saves (make bench): a make-demo-style run (the tiny
 * random-weight LLaVA-OneVision checkpoint at the real depth and input size, 8 frames) over a
 * synthetic 16-question benchmark (8 videos of 30 s at 640x360, 2 questions each; methods full and
 * Tango at 10 %), once with FFmpeg decoding inline before each video (--decode-ahead 0) and once
 * decoding ahead in its own thread (--decode-ahead 2), alternating, twice each. Prints the best
 * wall time of each mode, the model's total wait for decoded frames (samples.decode_wait_ms) and
 * what the overlap saves. Exit status 0 unless a run fails (the saving is reported). */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "datasets/video.h"
#include "engine/tiny_model.h"
#include "harness/runner.h"

static double sum_wait(const char *db_path) {
    sqlite3 *db;
    double v = NAN;
    if (sqlite3_open(db_path, &db) != SQLITE_OK) return v;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT sum(decode_wait_ms) FROM samples", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

int main(void) {
    char dir[1024], p[1400], err[2048];
    const char *build = getenv("TB_BUILD");
    snprintf(dir, sizeof dir, "%s/tmp/bench_overlap-%d", build && *build ? build : "build", (int)getpid());
    ds_synth_params sp = ds_synth_default_params();
    sp.n_videos = 8;
    sp.width = 640;
    sp.height = 360;
    sp.n_video_frames = 750;
    snprintf(p, sizeof p, "%s/synth", dir);
    if (ds_synth_write(p, &sp, NULL, err, sizeof err)) {
        fprintf(stderr, "bench_overlap: %s\n", err);
        return 1;
    }
    eng_tiny_params tp = eng_tiny_default_params();
    tp.llm_layers = 28;
    tp.image_size = 384;
    snprintf(p, sizeof p, "%s/tiny-ov", dir);
    if (eng_tiny_model_write(p, &tp, err, sizeof err)) {
        fprintf(stderr, "bench_overlap: %s\n", err);
        return 1;
    }
    snprintf(p, sizeof p, "%s/cfg.json", dir);
    FILE *f = fopen(p, "w");
    if (!f) return 1;
    fprintf(f,
            "{\"name\": \"overlap\", \"models\": [{\"name\": \"tiny\", \"path\": \"%s/tiny-ov\", \"family\": \"llava-ov\", "
            "\"frames\": 8}], \"benchmarks\": [{\"name\": \"mvbench\", \"manifest\": \"%s/synth/json\", \"videos\": "
            "\"%s/synth/videos\", \"max_new_tokens\": 8}], \"methods\": [{\"name\": \"full\"}, {\"name\": \"tango\", "
            "\"params\": {\"sinks\": \"\"}}], \"ratios\": [0.1]}\n",
            dir, dir, dir);
    fclose(f);
    run_config *cfg;
    if (run_config_load(p, &cfg, err, sizeof err)) {
        fprintf(stderr, "bench_overlap: %s\n", err);
        return 1;
    }
    double best[2] = {1e30, 1e30}, wait[2] = {0, 0};
    int64_t n_res = 0;
    for (int rep = 0; rep < 4; rep++) {
        int mode = rep % 2, ahead = mode ? 2 : 0;
        char db[1400];
        snprintf(db, sizeof db, "%s/run%d.db", dir, rep);
        unlink(db);
        run_params rp = run_default_params();
        rp.db_path = db;
        rp.decode_ahead = ahead;
        rp.log_prefix = NULL;
        run_stats stt;
        double t0 = tb_now_s();
        if (run_execute(cfg, &rp, &stt, err, sizeof err)) {
            fprintf(stderr, "bench_overlap: %s\n", err);
            return 1;
        }
        double dt = tb_now_s() - t0;
        n_res = stt.n_written;
        printf("  run %d: decode-ahead %d: %.2f s wall, model waited %.1f ms for frames (%lld results)\n", rep, ahead, dt,
               sum_wait(db), (long long)stt.n_written);
        if (dt < best[mode]) {
            best[mode] = dt;
            wait[mode] = sum_wait(db);
        }
    }
    run_config_free(cfg);
    printf("bench_overlap: 16 questions x {full, tango 0.10} = %lld results, 8 frames of 640x360 30 s videos\n",
           (long long)n_res);
    printf("inline decode   %.2f s wall, model waited %.1f ms\n", best[0], wait[0]);
    printf("decode ahead    %.2f s wall, model waited %.1f ms\n", best[1], wait[1]);
    printf("overlap saves %.1f ms of waiting (%.0f %%), %.2f s of wall time (%.1f %%, best of 2 each)\n",
           wait[0] - wait[1], wait[0] > 0 ? 100.0 * (wait[0] - wait[1]) / wait[0] : 0.0, best[0] - best[1],
           100.0 * (best[0] - best[1]) / best[0]);
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    if (system(p) != 0) fprintf(stderr, "bench_overlap: could not remove %s\n", dir);
    return 0;
}
