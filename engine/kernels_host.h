/* kernels_host.h - engine-internal helpers shared by the host op tables (kernels_ref.c,
 * kernels_cpu.c): host memory, activation storage in the backend's numerics, the host clock ticks,
 * pooling cells, the rotary angle. Not for model code. */
#ifndef TB_ENGINE_KERNELS_HOST_H
#define TB_ENGINE_KERNELS_HOST_H

#include <string.h>

#include "engine/kernels.h"
#include "engine/safetensors.h" /* the exact conversions between float32 and fp16 / bf16 */

/* 64-byte aligned malloc of n floats (n = 0 gives a valid pointer); NULL + be->err. */
float *eng_host_alloc(eng_backend *be, size_t n);
void eng_host_free(eng_backend *be, float *p);
/* memcpy of n floats (upload and download for host tables). */
int eng_host_copy(eng_backend *be, float *dst, const float *src, size_t n);
int eng_host_sync(eng_backend *be);

/* Host activation buffers: n elements of be->dtype (float32, or the uint16 bit patterns of fp16 /
 * bf16 on the ref table's emulation). The upload rounds to nearest even, the download widens. */
eng_act *eng_host_act_alloc(eng_backend *be, size_t n);
void eng_host_act_free(eng_backend *be, eng_act *p);
int eng_host_act_upload(eng_backend *be, eng_act *dst, const float *src, size_t n);
int eng_host_act_download(eng_backend *be, float *dst, const eng_act *src, size_t n);

/* Element i of a host activation buffer as float, and a float stored into it (rounded). */
static inline float eng_host_ld(const eng_backend *be, const eng_act *p, size_t i) {
    switch (be->dtype) {
    case ENG_COMPUTE_FP16: return st_f16_to_f32(((const uint16_t *)(const void *)p)[i]);
    case ENG_COMPUTE_BF16: return st_bf16_to_f32(((const uint16_t *)(const void *)p)[i]);
    default: return ((const float *)(const void *)p)[i];
    }
}
static inline void eng_host_st(const eng_backend *be, eng_act *p, size_t i, float v) {
    switch (be->dtype) {
    case ENG_COMPUTE_FP16: ((uint16_t *)(void *)p)[i] = st_f32_to_f16(v); break;
    case ENG_COMPUTE_BF16: ((uint16_t *)(void *)p)[i] = st_f32_to_bf16(v); break;
    default: ((float *)(void *)p)[i] = v; break;
    }
}
/* v rounded to the activation type and back (what storing and reloading it gives). */
static inline float eng_host_round(const eng_backend *be, float v) {
    switch (be->dtype) {
    case ENG_COMPUTE_FP16: return st_f16_to_f32(st_f32_to_f16(v));
    case ENG_COMPUTE_BF16: return st_bf16_to_f32(st_f32_to_bf16(v));
    default: return v;
    }
}

/* The host clock as ticks (tick / tick_elapsed of the host tables). */
int eng_host_tick(eng_backend *be, eng_tick *t);
int eng_host_tick_elapsed(eng_backend *be, const eng_tick *a, const eng_tick *b, double *seconds);

/* Validates a pool2d shape; 0 or -1 with be->err. */
int eng_pool2d_check(eng_backend *be, int64_t H, int64_t W, int64_t C, eng_pool_mode mode, int64_t Ho, int64_t Wo);
/* Computes output cell (b, oy, ox), all C channels, of pool2d (see kernels.h) on float arrays. */
void eng_pool2d_cell(float *y, const float *x, int64_t b, int64_t H, int64_t W, int64_t C, eng_pool_mode mode,
                     int64_t Ho, int64_t Wo, int64_t oy, int64_t ox);
/* Rotary angle of pair i at position pos, float32 as in transformers (see kernels_ref.c). */
float eng_rope_angle(int64_t pos, int64_t i, int64_t head_dim, float theta);

#endif
