/* seed_store.c - writes the store_merge seed: a results database with two runs (one with a
 * ratio, one without) and a few samples (ok, failed, parse failure) with layer counts and
 * timings. Built and run by tests/fuzz/make_seeds.py only. Usage: seed_store OUT.db */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    unlink(argv[1]);
    char err[512], key[DB_KEY_LEN + 1];
    db_store *db = db_open(argv[1], err, sizeof err);
    if (!db) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    static const char *const methods[] = {"full", "fastv"};
    static const char *const params[] = {"{\"ratio\":null}", "{\"ratio\":0.1,\"K\":2}"};
    for (int m = 0; m < 2; m++) {
        db_run_spec rs = db_run_spec_default();
        rs.model = "tiny";
        rs.benchmark = "videomme";
        rs.method = methods[m];
        rs.params_json = params[m];
        rs.n_expected = 3;
        if (db_run_open(db, &rs, key, NULL)) return 1;
        int64_t layers[4] = {100, 100, 50, 50};
        for (int i = 0; i < 3; i++) {
            char id[16];
            snprintf(id, sizeof id, "00%d-1", i);
            db_sample_result r = {.sample_id = id, .video_id = "vid", .categories_json = "{\"duration\":\"short\"}",
                                  .error = i == 2 ? "corrupt video" : NULL, .raw_output = i == 1 ? "none" : "B",
                                  .parsed = i == 0 ? "B" : NULL, .gold = "B", .correct = i == 0,
                                  .parse_failed = i == 1, .n_visual_in = 100, .n_text = 20, .n_layers = 4,
                                  .visual_per_layer = layers, .flops = 1e9, .equiv_retention = 0.75,
                                  .peak_bytes = 1 << 20, .method_json = "{}"};
            for (int s = 0; s < DB_N_STAGES; s++) r.ms[s] = 1.0 + s;
            if (db_sample_put(db, key, &r)) return 1;
        }
        if (db_run_finish(db, key, DB_RUN_OK)) return 1;
    }
    db_close(db);
    return 0;
}
