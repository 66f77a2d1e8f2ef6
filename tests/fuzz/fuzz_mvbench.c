/* fuzz_mvbench.c - the mvbench adapter, prompts and scoring (see fuzz_adapter.h). */
#include "tests/fuzz/fuzz_adapter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fz_adapter(DS_BENCH_MVBENCH, data, size); }
