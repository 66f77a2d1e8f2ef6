/* kernels_cpu_lean.c - the cpu op table of the lean GPU build (make lean), which links no OpenBLAS:
 * its init fails with a clear message, as the CUDA stub does in builds without CUDA. The lean build
 * has the ref table (the oracle of tests/test_ops.c) and the cuda table. Replaces kernels_cpu.c
 * there (the Makefile's X_lean.c rule). */
#include "engine/kernels.h"

static int lean_cpu_init(eng_backend *be) {
    return eng_backend_fail(be, "the lean build has no OpenBLAS cpu backend (use ref or cuda)");
}

const eng_kernels eng_kernels_cpu = {
    .name = "cpu",
    .on_device = 0,
    .dtypes = (1u << ENG_COMPUTE_FP32) | (1u << ENG_COMPUTE_FP16) | (1u << ENG_COMPUTE_BF16),
    .init = lean_cpu_init,
};
