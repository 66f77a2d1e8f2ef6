/* kernels_host.h - engine-internal helpers shared by the host op tables (kernels_ref.c,
 * kernels_cpu.c): host memory, pooling cells, the rotary angle. Not for model code. */
#ifndef TB_ENGINE_KERNELS_HOST_H
#define TB_ENGINE_KERNELS_HOST_H

#include "engine/kernels.h"

/* 64-byte aligned malloc of n floats (n = 0 gives a valid pointer); NULL + be->err. */
float *eng_host_alloc(eng_backend *be, size_t n);
void eng_host_free(eng_backend *be, float *p);
/* memcpy of n floats (upload and download for host tables). */
int eng_host_copy(eng_backend *be, float *dst, const float *src, size_t n);
int eng_host_sync(eng_backend *be);

/* Validates a pool2d shape; 0 or -1 with be->err. */
int eng_pool2d_check(eng_backend *be, int64_t H, int64_t W, int64_t C, eng_pool_mode mode, int64_t Ho, int64_t Wo);
/* Computes output cell (b, oy, ox), all C channels, of pool2d (see kernels.h). */
void eng_pool2d_cell(float *y, const float *x, int64_t b, int64_t H, int64_t W, int64_t C, eng_pool_mode mode,
                     int64_t Ho, int64_t Wo, int64_t oy, int64_t ox);
/* Rotary angle of pair i at position pos, float32 as in transformers (see kernels_ref.c). */
float eng_rope_angle(int64_t pos, int64_t i, int64_t head_dim, float theta);

#endif
