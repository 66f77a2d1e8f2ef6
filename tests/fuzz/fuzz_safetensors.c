/* fuzz_safetensors.c - one safetensors file (engine/safetensors.c): header length, JSON header,
 * every tensor entry (dtype, shape product, data_offsets, overlaps), then each tensor read back
 * as float32 with its own shape. */
#include "tests/fuzz/fuzz_util.h"

#include "engine/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fz_path("model.safetensors");
    fz_write(p, data, size);
    char err[1024];
    st_file *st = st_open(p, err, sizeof err);
    if (!st) return 0;
    for (size_t i = 0; i < st_count(st); i++) {
        const st_tensor *t = st_at(st, i);
        float *v = st_load_f32(st, t->name, t->ndim, t->shape, err, sizeof err);
        free(v);
    }
    st_close(st);
    return 0;
}
