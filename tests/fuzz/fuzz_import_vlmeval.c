/* fuzz_import_vlmeval.c - the store's import of VLMEvalKit prediction and score files
 * (store/store_import.c, db_import_vlmeval): .xlsx (zip + XML), .tsv, .csv or .json, chosen by
 * the file name's extension; the input is offered under each extension, and as each
 * benchmark's file. */
#include "tests/fuzz/fuzz_util.h"

#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const names[] = {"model_MLVU_MCQ.xlsx", "model_MVBench.tsv", "model_Video-MME.csv",
                                        "model_LongVideoBench.json"};
    static const char *const benches[] = {"mlvu", "mvbench", "videomme", "longvideobench"};
    for (size_t i = 0; i < 4; i++) {
        db_import_set set = {0};
        char err[1024];
        (void)db_import_vlmeval(names[i], data, size, benches[i], &set, err, sizeof err);
        db_import_set_free(&set);
    }
    return 0;
}
