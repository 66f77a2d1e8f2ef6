/* fuzz_st_index.c - a sharded checkpoint's model.safetensors.index.json (engine/safetensors.c):
 * the weight_map against two fixed, valid shards (tensors a.w and b.w in model-00001-of-00002,
 * c.w in model-00002-of-00002). */
#include "tests/fuzz/fuzz_util.h"

#include "engine/safetensors.h"

static char dir[512];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "%s", fz_path("ckpt"));
    mkdir(dir, 0700);
    float v[4] = {1, 2, 3, 4};
    st_write_tensor a[] = {{"a.w", 2, {2, 1}, v}, {"b.w", 1, {2}, v + 2}};
    st_write_tensor c[] = {{"c.w", 1, {4}, v}};
    char p[600], err[512];
    snprintf(p, sizeof p, "%s/model-00001-of-00002.safetensors", dir);
    if (st_write(p, a, 2, err, sizeof err)) abort();
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", dir);
    if (st_write(p, c, 1, err, sizeof err)) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) LLVMFuzzerInitialize(NULL, NULL);
    char p[600], err[1024];
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    fz_write(p, data, size);
    st_file *st = st_open(dir, err, sizeof err);
    if (st) {
        for (size_t i = 0; i < st_count(st); i++) (void)st_find(st, st_at(st, i)->name);
        st_close(st);
    }
    return 0;
}
