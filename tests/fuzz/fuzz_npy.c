/* fuzz_npy.c - the .npy reader (harness/npy.c): magic, version, header dict, shape, data size,
 * read as each dtype the harness asks for. */
#include "tests/fuzz/fuzz_util.h"

#include "harness/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fz_path("in.npy");
    fz_write(p, data, size);
    static const npy_dtype want[] = {NPY_F32, NPY_F64, NPY_I32, NPY_I64};
    for (int i = 0; i < 4; i++) {
        npy_array a;
        char err[512];
        if (npy_read(p, want[i], &a, err, sizeof err) == 0) npy_free(&a);
    }
    return 0;
}
