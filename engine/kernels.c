/* kernels.c - backend selection and the helpers every op table shares (error formatting, the
 * bilinear index rule). The ops themselves live in kernels_ref.c, kernels_cpu.c, kernels_cuda.cu. */
#include "engine/kernels.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int eng_backend_fail(eng_backend *be, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(be->err, sizeof be->err, fmt, ap);
    va_end(ap);
    return -1;
}

int eng_backend_init(eng_backend *be, eng_backend_kind kind, char *err, size_t err_len) {
    return eng_backend_init_dtype(be, kind, ENG_COMPUTE_AUTO, err, err_len);
}

int eng_backend_init_dtype(eng_backend *be, eng_backend_kind kind, eng_compute_dtype dtype, char *err,
                           size_t err_len) {
    memset(be, 0, sizeof *be);
    switch (kind) {
    case ENG_BACKEND_REF: be->k = &eng_kernels_ref; break;
    case ENG_BACKEND_CPU: be->k = &eng_kernels_cpu; break;
    case ENG_BACKEND_CUDA: be->k = &eng_kernels_cuda; break;
    default:
        snprintf(err, err_len, "unknown backend %d", (int)kind);
        return -1;
    }
    if ((int)dtype < 0 || dtype > ENG_COMPUTE_BF16) {
        snprintf(err, err_len, "unknown dtype %d", (int)dtype);
        be->k = NULL;
        return -1;
    }
    be->dtype = dtype == ENG_COMPUTE_AUTO ? eng_compute_dtype_default(kind) : dtype;
    be->act_size = be->dtype == ENG_COMPUTE_FP32 ? 4 : 2;
    if (!(be->k->dtypes & (1u << be->dtype))) {
        snprintf(err, err_len, "the %s backend does not compute in %s (it does:%s%s%s)", be->k->name,
                 eng_compute_dtype_name(be->dtype), be->k->dtypes & (1u << ENG_COMPUTE_FP32) ? " fp32" : "",
                 be->k->dtypes & (1u << ENG_COMPUTE_FP16) ? " fp16" : "",
                 be->k->dtypes & (1u << ENG_COMPUTE_BF16) ? " bf16" : "");
        be->k = NULL;
        return -1;
    }
    if (be->k->init && be->k->init(be) != 0) {
        snprintf(err, err_len, "backend %s: %s", be->k->name, be->err);
        if (be->impl && be->k->fini) be->k->fini(be); /* partial init */
        be->impl = NULL;
        be->k = NULL;
        return -1;
    }
    return 0;
}

void eng_backend_fini(eng_backend *be) {
    if (!be || !be->k) return;
    if (be->k->fini) be->k->fini(be);
    be->impl = NULL;
    be->k = NULL;
}

void eng_bilinear_index(int64_t n_in, int64_t n_out, int64_t o, int64_t *i0, int64_t *i1, float *w0, float *w1) {
    /* PyTorch (UpSample.h): scale = (float)n_in / n_out; src = scale * (o + 0.5) - 0.5 clamped at
     * 0; index = floor(src) capped at n_in - 1; lambda = clamp(src - index, 0, 1). */
    float scale = (float)n_in / (float)n_out;
    float src = scale * ((float)o + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    int64_t a = (int64_t)src;
    if (a > n_in - 1) a = n_in - 1;
    float l1 = src - (float)a;
    if (l1 < 0.0f) l1 = 0.0f;
    if (l1 > 1.0f) l1 = 1.0f;
    *i0 = a;
    *i1 = a < n_in - 1 ? a + 1 : a;
    *w1 = l1;
    *w0 = 1.0f - l1;
}

void eng_wdesc_of_tensor(const st_tensor *t, eng_wdesc *d) {
    d->dtype = t->dtype == ST_BF16 ? ENG_DT_BF16 : t->dtype == ST_F16 ? ENG_DT_F16 : ENG_DT_F32;
    d->rows = t->ndim > 0 ? t->shape[0] : 1;
    d->cols = d->rows > 0 ? (int64_t)(t->numel / (size_t)d->rows) : 0;
    d->host = t->data;
    d->owned = NULL;
}

const char *eng_backend_name(eng_backend_kind kind) {
    switch (kind) {
    case ENG_BACKEND_REF: return "ref";
    case ENG_BACKEND_CPU: return "cpu";
    case ENG_BACKEND_CUDA: return "cuda";
    }
    return "?";
}

int eng_backend_parse(const char *name, eng_backend_kind *out) {
    if (!name) return -1;
    if (strcmp(name, "ref") == 0) *out = ENG_BACKEND_REF;
    else if (strcmp(name, "cpu") == 0) *out = ENG_BACKEND_CPU;
    else if (strcmp(name, "cuda") == 0) *out = ENG_BACKEND_CUDA;
    else return -1;
    return 0;
}

const char *eng_compute_dtype_name(eng_compute_dtype d) {
    switch (d) {
    case ENG_COMPUTE_AUTO: return "auto";
    case ENG_COMPUTE_FP32: return "fp32";
    case ENG_COMPUTE_FP16: return "fp16";
    case ENG_COMPUTE_BF16: return "bf16";
    }
    return "?";
}

int eng_compute_dtype_parse(const char *name, eng_compute_dtype *out) {
    static const eng_compute_dtype all[] = {ENG_COMPUTE_AUTO, ENG_COMPUTE_FP32, ENG_COMPUTE_FP16, ENG_COMPUTE_BF16};
    if (!name) return -1;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, eng_compute_dtype_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

eng_compute_dtype eng_compute_dtype_default(eng_backend_kind kind) {
    return kind == ENG_BACKEND_CUDA ? ENG_COMPUTE_FP16 : ENG_COMPUTE_FP32;
}
