/* kernels_cuda_stub.c - the CUDA op table of a build without CUDA (make without CUDA=1): its init
 * fails with "not built with CUDA", so selecting the cuda backend is a clear runtime error and no
 * model code needs #ifdef. Replaced by kernels_cuda.cu in CUDA builds. */
#include "engine/kernels.h"

static int stub_init(eng_backend *be) {
    return eng_backend_fail(be, "not built with CUDA (rebuild with make CUDA=1)");
}

const eng_kernels eng_kernels_cuda = {
    .name = "cuda",
    .on_device = 1,
    .dtypes = (1u << ENG_COMPUTE_FP32) | (1u << ENG_COMPUTE_FP16) | (1u << ENG_COMPUTE_BF16),
    .init = stub_init,
};
