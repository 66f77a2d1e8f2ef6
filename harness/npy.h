/* npy.h - read and write NumPy .npy files (format 1.0/2.0/3.0, C order, little-endian).
 *
 * The reader treats the file as untrusted: the magic, header length, dict syntax, dtype, shape
 * and the data size are checked against the file; anything else is an error naming the file.
 * Data is converted on load to the dtype the caller asks for (float32, float64 or int64), so a
 * float64 or int32 array written by numpy can be read as float32 / int64 directly.
 *
 * Usage:
 *     npy_array a;
 *     char err[256];
 *     if (npy_read("feat.npy", NPY_F32, &a, err, sizeof err)) { fprintf(stderr, "%s\n", err); ... }
 *     // a.shape[0..a.ndim-1], a.data (float*), a.numel
 *     npy_free(&a);
 *     int64_t shape[2] = {3, 4};
 *     npy_write("out.npy", NPY_F32, data, 2, shape, err, sizeof err);
 */
#ifndef TB_NPY_H
#define TB_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8

typedef enum { NPY_F32, NPY_F64, NPY_I64, NPY_I32, NPY_U8 } npy_dtype; /* NPY_U8: '|u1' (frames) */

typedef struct {
    npy_dtype dtype;              /* element type of data (as requested when reading) */
    int ndim;                     /* 0..NPY_MAX_DIMS */
    int64_t shape[NPY_MAX_DIMS];
    size_t numel;                 /* product of shape (1 for ndim 0) */
    void *data;                   /* numel elements, owned; free with npy_free */
} npy_array;

/* Reads path converting to want (NPY_F32, NPY_F64, NPY_I64; NPY_U8 only from a '|u1' file). Returns 0 or -1 with a one-line
 * message in err. Float-to-int conversion is refused; int-to-float is exact up to 2^24/2^53. */
int npy_read(const char *path, npy_dtype want, npy_array *out, char *err, size_t err_len);

/* Writes numel = prod(shape) elements of dtype from data atomically (temp file + rename).
 * Returns 0 or -1 with a message in err. */
int npy_write(const char *path, npy_dtype dtype, const void *data, int ndim, const int64_t *shape, char *err,
              size_t err_len);

/* Frees the data of a (safe on a zeroed or already freed array). */
void npy_free(npy_array *a);

/* 0 when every element of a float array is finite (integer arrays always are), else -1 with
 * "PATH: element K is NaN" in err: inputs that would turn every later value into NaN. */
int npy_check_finite(const npy_array *a, const char *path, char *err, size_t err_len);

/* Element size in bytes of a dtype. */
size_t npy_dtype_size(npy_dtype d);

#endif
