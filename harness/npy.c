/* npy.c - the .npy reader and writer (see npy.h). The header is an ASCII Python dict literal;
 * we accept exactly the dicts numpy writes: keys 'descr', 'fortran_order', 'shape'. */
#include "harness/npy.h"

#include "common/file.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPY_HEADER_MAX (1u << 20)

size_t npy_dtype_size(npy_dtype d) {
    switch (d) {
    case NPY_F32: return 4;
    case NPY_I32: return 4;
    case NPY_F64: return 8;
    case NPY_I64: return 8;
    case NPY_U8: return 1;
    }
    return 0;
}

int npy_check_finite(const npy_array *a, const char *path, char *err, size_t err_len) {
    for (size_t i = 0; i < a->numel; i++) {
        double v = a->dtype == NPY_F32 ? ((const float *)a->data)[i] : a->dtype == NPY_F64 ? ((const double *)a->data)[i] : 0;
        if (!isfinite(v)) {
            snprintf(err, err_len, "%s: element %zu is %s", path, i, isnan(v) ? "NaN" : "infinite");
            return -1;
        }
    }
    return 0;
}

void npy_free(npy_array *a) {
    if (!a) return;
    free(a->data);
    a->data = NULL;
    a->numel = 0;
}

/* Finds 'key': in the header dict and returns a pointer just past the colon, or NULL. */
static const char *dict_value(const char *hdr, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

/* v points just past "'descr':" and may be the header's terminating NUL: nothing is read past
 * the closing quote or the NUL. */
static int parse_descr(const char *v, npy_dtype *dt, char *err, size_t n, const char *path) {
    static const struct { const char *s; npy_dtype d; } known[] = {
        {"'<f4'", NPY_F32}, {"'<f8'", NPY_F64}, {"'<i8'", NPY_I64}, {"'<i4'", NPY_I32}, {"'|u1'", NPY_U8},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strncmp(v, known[i].s, strlen(known[i].s))) {
            *dt = known[i].d;
            return 0;
        }
    if (*v != '\'') {
        snprintf(err, n, "%s: header 'descr' is not a quoted dtype string", path);
        return -1;
    }
    /* quote the value as far as its closing quote, printable bytes only, at most 16 */
    char shown[17];
    size_t k = 0;
    for (const char *c = v + 1; *c && *c != '\'' && k < sizeof shown - 1; c++)
        shown[k++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
    shown[k] = '\0';
    snprintf(err, n, "%s: unsupported dtype '%s' (want <f4, <f8, <i4, <i8 or |u1)", path, shown);
    return -1;
}

static int parse_shape(const char *v, npy_array *a, char *err, size_t n, const char *path) {
    if (*v != '(') goto bad;
    v++;
    a->ndim = 0;
    a->numel = 1;
    for (;;) {
        while (*v == ' ') v++;
        if (*v == ')') break;
        if (!isdigit((unsigned char)*v)) goto bad;
        if (a->ndim >= NPY_MAX_DIMS) {
            snprintf(err, n, "%s: more than %d dimensions", path, NPY_MAX_DIMS);
            return -1;
        }
        errno = 0;
        char *end;
        long long d = strtoll(v, &end, 10);
        if (errno || d < 0 || d > (1LL << 40)) goto bad;
        a->shape[a->ndim++] = d;
        size_t prod;
        if (__builtin_mul_overflow(a->numel, (size_t)d, &prod)) goto bad;
        a->numel = prod;
        v = end;
        while (*v == ' ') v++;
        if (*v == ',') v++;
        else if (*v != ')') goto bad;
    }
    return 0;
bad:
    snprintf(err, n, "%s: malformed shape in header", path);
    return -1;
}

static void convert(const void *src, npy_dtype from, void *dst, npy_dtype to, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double v;
        int64_t iv = 0;
        int is_int = 0;
        switch (from) {
        case NPY_F32: v = ((const float *)src)[i]; break;
        case NPY_F64: v = ((const double *)src)[i]; break;
        case NPY_I32: iv = ((const int32_t *)src)[i]; v = (double)iv; is_int = 1; break;
        case NPY_U8: iv = ((const uint8_t *)src)[i]; v = (double)iv; is_int = 1; break;
        default: iv = ((const int64_t *)src)[i]; v = (double)iv; is_int = 1; break;
        }
        switch (to) {
        case NPY_F32: ((float *)dst)[i] = (float)v; break;
        case NPY_F64: ((double *)dst)[i] = v; break;
        case NPY_I32: ((int32_t *)dst)[i] = (int32_t)(is_int ? iv : (int64_t)v); break;
        case NPY_I64: ((int64_t *)dst)[i] = is_int ? iv : (int64_t)v; break;
        case NPY_U8: ((uint8_t *)dst)[i] = (uint8_t)iv; break;
        }
    }
}

int npy_read(const char *path, npy_dtype want, npy_array *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    int rc = -1;
    char *hdr = NULL;
    void *raw = NULL;
    FILE *f = tb_fopen_read(path, TB_OPEN_REGULAR, err, err_len); /* never blocks on a FIFO */
    if (!f) return -1;
    unsigned char pre[10];
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, "\x93NUMPY", 6)) {
        snprintf(err, err_len, "%s: not a .npy file (bad magic)", path);
        goto out;
    }
    uint32_t hlen;
    int major = pre[6];
    if (major == 1) {
        if (fread(pre + 8, 1, 2, f) != 2) goto trunc;
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        unsigned char b[4];
        if (fread(b, 1, 4, f) != 4) goto trunc;
        hlen = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    } else {
        snprintf(err, err_len, "%s: unsupported .npy version %d", path, major);
        goto out;
    }
    if (hlen > NPY_HEADER_MAX) {
        snprintf(err, err_len, "%s: header length %u is too large", path, hlen);
        goto out;
    }
    hdr = malloc(hlen + 1);
    if (!hdr || fread(hdr, 1, hlen, f) != hlen) goto trunc;
    hdr[hlen] = '\0';

    npy_dtype file_dt;
    const char *v = dict_value(hdr, "descr");
    if (!v) {
        snprintf(err, err_len, "%s: header has no 'descr'", path);
        goto out;
    }
    if (parse_descr(v, &file_dt, err, err_len, path)) goto out;
    v = dict_value(hdr, "fortran_order");
    if (!v || strncmp(v, "False", 5)) {
        snprintf(err, err_len, "%s: only C-order arrays are supported (fortran_order must be False)", path);
        goto out;
    }
    v = dict_value(hdr, "shape");
    if (!v) {
        snprintf(err, err_len, "%s: header has no 'shape'", path);
        goto out;
    }
    if (parse_shape(v, out, err, err_len, path)) goto out;
    if (want == NPY_U8 && file_dt != NPY_U8) {
        snprintf(err, err_len, "%s: expected a uint8 array ('|u1')", path);
        goto out;
    }
    if ((want == NPY_I64 || want == NPY_I32) && (file_dt == NPY_F32 || file_dt == NPY_F64)) {
        snprintf(err, err_len, "%s: expected an integer array, found floating point", path);
        goto out;
    }

    size_t fsz = npy_dtype_size(file_dt), bytes;
    if (__builtin_mul_overflow(out->numel, fsz, &bytes)) {
        snprintf(err, err_len, "%s: shape is too large", path);
        goto out;
    }
    long pos = ftell(f);
    if (fseek(f, 0, SEEK_END) || ftell(f) < pos) goto trunc;
    if ((size_t)(ftell(f) - pos) != bytes) {
        snprintf(err, err_len, "%s: data is %ld bytes, shape and dtype need %zu", path, ftell(f) - pos, bytes);
        goto out;
    }
    fseek(f, pos, SEEK_SET);
    raw = malloc(bytes ? bytes : 1);
    if (!raw) {
        snprintf(err, err_len, "%s: out of memory (%zu bytes)", path, bytes);
        goto out;
    }
    if (bytes && fread(raw, 1, bytes, f) != bytes) goto trunc;
    if (file_dt == want) {
        out->data = raw;
        raw = NULL;
    } else {
        out->data = malloc(out->numel * npy_dtype_size(want) + 1);
        if (!out->data) {
            snprintf(err, err_len, "%s: out of memory", path);
            goto out;
        }
        convert(raw, file_dt, out->data, want, out->numel);
    }
    out->dtype = want;
    rc = 0;
    goto out;
trunc:
    snprintf(err, err_len, "%s: truncated file", path);
out:
    if (rc) npy_free(out);
    free(raw);
    free(hdr);
    fclose(f);
    return rc;
}

int npy_write(const char *path, npy_dtype dtype, const void *data, int ndim, const int64_t *shape, char *err,
              size_t err_len) {
    static const char *descr[] = {[NPY_F32] = "<f4", [NPY_F64] = "<f8", [NPY_I64] = "<i8", [NPY_I32] = "<i4", [NPY_U8] = "|u1"};
    if (ndim < 0 || ndim > NPY_MAX_DIMS) {
        snprintf(err, err_len, "%s: bad ndim %d", path, ndim);
        return -1;
    }
    char dict[512];
    int off = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr[dtype]);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        off += snprintf(dict + off, sizeof dict - off, "%lld,%s", (long long)shape[i], i + 1 < ndim ? " " : "");
        numel *= (size_t)shape[i];
    }
    off += snprintf(dict + off, sizeof dict - off, "), }");
    /* Pad with spaces so that magic + len + dict + '\n' is a multiple of 64, as numpy does. */
    size_t total = 10 + (size_t)off + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)off + pad + 1;

    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp) {
        snprintf(err, err_len, "%s: path too long", path);
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, err_len, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)off, f) == (size_t)off;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    size_t bytes = numel * npy_dtype_size(dtype);
    ok = ok && (bytes == 0 || fwrite(data, 1, bytes, f) == bytes);
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path)) {
        snprintf(err, err_len, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
