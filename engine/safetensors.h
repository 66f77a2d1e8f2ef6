/* safetensors.h - engine-internal: read Hugging Face safetensors checkpoints (single file or
 * sharded through model.safetensors.index.json), mmap'd, every offset checked.
 *
 * The file is untrusted: the 8-byte header length, the JSON header (cJSON), each tensor's dtype,
 * shape product and [begin, end) byte range are checked against the file size and against each
 * other (no overlaps, no gaps past the data section end); a bad file is one clear error naming the
 * file and the tensor. F32, F16 and BF16 are accepted; model weights are used in place (the
 * engine's eng_wdesc views, engine/kernels.h), small tensors copied to float32 (st_load_f32).
 *
 * Usage:
 *     char err[512];
 *     st_file *st = st_open("model_dir", err, sizeof err);  // dir (index or single file) or a .safetensors path
 *     if (!st) { fprintf(stderr, "%s\n", err); return ...; }
 *     int64_t shape[2] = {1152, 1152};
 *     float *w = st_load_f32(st, "vision_model.encoder.layers.0.self_attn.q_proj.weight", 2, shape, err, sizeof err);
 *     // w: caller frees with free(); NULL with err set when missing, mis-shaped or bad dtype
 *     st_close(st);
 */
#ifndef TB_ENGINE_SAFETENSORS_H
#define TB_ENGINE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

typedef enum { ST_F32, ST_F16, ST_BF16 } st_dtype;

typedef struct {
    const char *name;   /* borrowed, valid until st_close */
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel;
    const void *data;   /* points into the mmap, valid until st_close */
    const char *file;   /* the shard file it lives in */
} st_tensor;

typedef struct st_file st_file; /* opaque: one or more mmap'd shards */

/* Opens a checkpoint: a .safetensors file, or a directory holding model.safetensors.index.json
 * (sharded) or a single *.safetensors. Returns NULL with a message in err. Caller frees with
 * st_close. */
st_file *st_open(const char *path, char *err, size_t err_len);

/* Closes and unmaps; st_close(NULL) is a no-op. */
void st_close(st_file *st);

/* Reads every page of t's data once (after an madvise WILLNEED), so that later reads do not
 * fault: loaders call it for the tensors they use, moving the disk reads of a big checkpoint into
 * start-up. NULL is a no-op. */
void st_prefault_tensor(const st_tensor *t);

/* Looks up a tensor by exact name; NULL when absent. Borrowed. */
const st_tensor *st_find(const st_file *st, const char *name);

/* Number of tensors and the i-th one (in header order, shards concatenated). */
size_t st_count(const st_file *st);
const st_tensor *st_at(const st_file *st, size_t i);

/* Copies a tensor to a new float32 buffer, checking that it exists and has exactly the given
 * shape (ndim dims). Returns NULL with "FILE: tensor NAME: ..." in err. Caller frees with free(). */
float *st_load_f32(const st_file *st, const char *name, int ndim, const int64_t *shape, char *err, size_t err_len);

/* Writes a safetensors file (F32 tensors only, header sorted by name, 8-byte aligned data) from
 * n named arrays; used by make-tiny-model and tests. Atomic (temp file + rename). Returns 0 or -1. */
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const float *data;
} st_write_tensor;
int st_write(const char *path, const st_write_tensor *tensors, size_t n, char *err, size_t err_len);

/* ---- extensions (engine helper `eio`) ------------------------------------------------------ */

#define ST_MAX_NAME 1024             /* longest accepted tensor name, bytes */
#define ST_MAX_HEADER (100u << 20)   /* longest accepted JSON header, bytes (as upstream) */

/* Bytes per element (4 or 2). */
size_t st_dtype_size(st_dtype dt);

/* "F32" / "F16" / "BF16". */
const char *st_dtype_str(st_dtype dt);

/* The path st_open was given (borrowed). */
const char *st_path(const st_file *st);

/* Scans t (a tensor of st) for NaN or +-Inf in its stored dtype: 0, or -1 with "FILE: tensor
 * NAME: element K is NaN" in err. A tensor that passed is not scanned again. The model loaders
 * call it for every tensor they use (eng_tensor_find), so a corrupt checkpoint is refused at load
 * instead of producing NaN features and token 0 for every answer. */
int st_check_finite(const st_file *st, const st_tensor *t, char *err, size_t err_len);

/* Converts a tensor (any accepted dtype) to float32 into dst (t->numel floats). */
void st_convert_f32(const st_tensor *t, float *dst);

/* Scalar conversions: IEEE half / bfloat16 bits to float (exact, subnormals, inf and NaN kept);
 * float to half / bfloat16 bits with round-to-nearest-even (overflow to inf, NaN kept). */
float st_f16_to_f32(uint16_t h);
float st_bf16_to_f32(uint16_t b);
uint16_t st_f32_to_f16(float f);
uint16_t st_f32_to_bf16(float f);

/* Like st_write, for tensors already in their stored dtype: data holds numel elements of dtype
 * (little-endian raw bytes). Used by tests to write F16/BF16 files. Returns 0 or -1. */
typedef struct {
    const char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
} st_write_raw_tensor;
int st_write_raw(const char *path, const st_write_raw_tensor *tensors, size_t n, char *err, size_t err_len);

/* Streaming writer for files larger than memory (the full-size test checkpoints): open writes the
 * header of tensors[0..n) (their data pointers are ignored; header keys sorted by name, data laid
 * out in the given order), then the data of every tensor follows in that order through any number
 * of st_stream_write calls of any size; close checks that every byte came, closes and renames the
 * temporary file into place. On any failure (and on close with missing data) the temporary file
 * is removed and -1 returned with err set; close frees the writer in every case.
 *     st_stream *w = st_stream_open(path, t, n, err, sizeof err);
 *     while (...) st_stream_write(w, chunk, bytes, err, sizeof err);
 *     st_stream_close(w, err, sizeof err); */
typedef struct st_stream st_stream;
st_stream *st_stream_open(const char *path, const st_write_raw_tensor *tensors, size_t n, char *err, size_t err_len);
int st_stream_write(st_stream *w, const void *bytes, size_t n, char *err, size_t err_len);
int st_stream_close(st_stream *w, char *err, size_t err_len);

#endif
