/* fuzz_import_lmms.c - the store's import of lmms-eval per-sample files (store/store_import.c,
 * db_import_lmms): one JSON object per line; the file is read as each benchmark's samples file
 * (the task comes from the file name, so each name is tried). */
#include "tests/fuzz/fuzz_util.h"

#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const names[][2] = {
        {"20250101_000000_samples_videomme.jsonl", "videomme"},
        {"20250101_000000_samples_mvbench_action_sequence.jsonl", "mvbench"},
        {"20250101_000000_samples_longvideobench_val_v.jsonl", "longvideobench"},
        {"20250101_000000_samples_mlvu_dev.jsonl", "mlvu"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        db_import_set set = {0};
        char err[1024];
        (void)db_import_lmms(names[i][0], (const char *)data, size, names[i][1], &set, err, sizeof err);
        db_import_set_free(&set);
    }
    return 0;
}
