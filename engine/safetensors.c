/* safetensors.c - reader and writer for Hugging Face safetensors checkpoints (see safetensors.h).
 *
 * Reading: each shard is mmap'd read-only; the 8-byte little-endian header length and the JSON
 * header are validated (cJSON), every tensor entry is checked (name length, dtype, rank, shape
 * product with overflow checks, data_offsets inside the data section and equal to numel x dtype
 * size, no two tensors overlapping), and the tensors are put in one name table (open addressing).
 * A sharded checkpoint is a directory with model.safetensors.index.json whose weight_map must
 * agree exactly with the shards' headers.
 *
 * Writing: F32 (st_write) or raw F32/F16/BF16 (st_write_raw) tensors, header keys sorted by name,
 * header padded with spaces so the data section starts 8-byte aligned, tensors contiguous; written
 * to a temporary file and renamed into place.
 *
 * Not done here: dtypes other than F32/F16/BF16 (rejected with a clear error), big-endian hosts.
 */
#include "engine/safetensors.h"

#include "common/file.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_INDEX (64u << 20) /* longest accepted model.safetensors.index.json */

typedef struct {
    char *path; /* owned */
    void *map;  /* mmap of the whole file (NULL when size 0) */
    size_t map_len;
    const uint8_t *data; /* first byte after the header */
    size_t data_len;
} st_shard;

struct st_file {
    char *path; /* as given to st_open, owned */
    st_shard *shards;
    size_t n_shards;
    st_tensor *tensors; /* names owned (malloc'd), file borrowed from the shard */
    size_t n_tensors, cap_tensors;
    size_t *hash; /* tensor index + 1, 0 = empty; hash_cap is a power of two */
    size_t hash_cap;
    unsigned char *finite; /* [n_tensors] 1 = st_check_finite passed (each tensor is scanned once) */
};

/* ---- small helpers ------------------------------------------------------------------------- */

static void st_err(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void st_err(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || err_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

static char *st_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* a*b into *out; 0 on overflow. */
static int mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

size_t st_dtype_size(st_dtype dt) {
    return dt == ST_F32 ? 4 : 2;
}

const char *st_dtype_str(st_dtype dt) {
    switch (dt) {
    case ST_F32:
        return "F32";
    case ST_F16:
        return "F16";
    case ST_BF16:
        return "BF16";
    }
    return "?";
}

static int dtype_parse(const char *s, st_dtype *out) {
    if (strcmp(s, "F32") == 0) {
        *out = ST_F32;
        return 1;
    }
    if (strcmp(s, "F16") == 0) {
        *out = ST_F16;
        return 1;
    }
    if (strcmp(s, "BF16") == 0) {
        *out = ST_BF16;
        return 1;
    }
    return 0;
}

/* Other dtypes the safetensors format defines: named "unsupported" rather than "unknown". */
static int dtype_is_known_other(const char *s) {
    static const char *const k[] = {"F64", "I64", "I32",  "I16",     "I8",      "U64", "U32",
                                    "U16", "U8",  "BOOL", "F8_E4M3", "F8_E5M2", NULL};
    for (int i = 0; k[i]; i++)
        if (strcmp(s, k[i]) == 0) return 1;
    return 0;
}

/* A JSON number that is a non-negative integer <= 2^53; 0 otherwise. */
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0.0) || d > 9007199254740992.0 || d != (double)(uint64_t)d) return 0;
    *out = (uint64_t)d;
    return 1;
}

/* ---- half / bfloat16 ----------------------------------------------------------------------- */

float st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float st_bf16_to_f32(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t st_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    uint32_t lsb = (x >> 16) & 1u;
    x += 0x7fffu + lsb;
    return (uint16_t)(x >> 16);
}

uint16_t st_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);  /* NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
    if (ax < 0x38800000u) {                                   /* below 2^-14: subnormal or 0 */
        if (ax < 0x33000000u) return sign;                    /* < 2^-25: rounds to 0 */
        /* value = m * 2^(e-150) with the implicit bit in m; in half-subnormal units (2^-24)
         * that is m * 2^(e-126): a right shift by 126-e (14..24 here), rounded to nearest even.
         * A carry into 0x400 gives the smallest normal half, which is the right bit pattern. */
        uint32_t e = ax >> 23;
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t sh = 126 - e;
        uint32_t r = m >> sh;
        uint32_t rem = m & ((1u << sh) - 1u);
        uint32_t half = 1u << (sh - 1);
        if (rem > half || (rem == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = ax - 0x38000000u; /* rebias exponent 127 -> 15 (shifted by 13) */
    uint32_t lsb = (r >> 13) & 1u;
    r += 0xfffu + lsb;
    return (uint16_t)(sign | (r >> 13));
}

void st_convert_f32(const st_tensor *t, float *dst) {
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case ST_F32:
        memcpy(dst, p, t->numel * 4);
        break;
    case ST_F16:
        for (size_t i = 0; i < t->numel; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
            dst[i] = st_f16_to_f32(h);
        }
        break;
    case ST_BF16:
        for (size_t i = 0; i < t->numel; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
            dst[i] = st_bf16_to_f32(h);
        }
        break;
    }
}

/* ---- the tensor table ---------------------------------------------------------------------- */

static long find_index(const st_file *st, const char *name) {
    if (!st->hash_cap) return -1;
    size_t mask = st->hash_cap - 1;
    for (size_t i = (size_t)hash_name(name) & mask;; i = (i + 1) & mask) {
        size_t v = st->hash[i];
        if (v == 0) return -1;
        if (strcmp(st->tensors[v - 1].name, name) == 0) return (long)(v - 1);
    }
}

/* Builds the hash table; fails (returns the index of the second one) on a duplicate name. */
static long build_hash(st_file *st) {
    size_t cap = 16;
    while (cap < 2 * st->n_tensors + 1)
        cap <<= 1;
    free(st->hash);
    st->hash = calloc(cap, sizeof *st->hash);
    if (!st->hash) return -2;
    st->hash_cap = cap;
    for (size_t t = 0; t < st->n_tensors; t++) {
        size_t mask = cap - 1;
        size_t i = (size_t)hash_name(st->tensors[t].name) & mask;
        for (;; i = (i + 1) & mask) {
            size_t v = st->hash[i];
            if (v == 0) break;
            if (strcmp(st->tensors[v - 1].name, st->tensors[t].name) == 0) return (long)t;
        }
        st->hash[i] = t + 1;
    }
    return -1;
}

static int push_tensor(st_file *st, const st_tensor *t) {
    if (st->n_tensors == st->cap_tensors) {
        size_t nc = st->cap_tensors ? 2 * st->cap_tensors : 64;
        st_tensor *nt = realloc(st->tensors, nc * sizeof *nt);
        if (!nt) return -1;
        st->tensors = nt;
        st->cap_tensors = nc;
    }
    st->tensors[st->n_tensors++] = *t;
    return 0;
}

/* ---- one shard ----------------------------------------------------------------------------- */

typedef struct {
    uint64_t begin, end;
    size_t idx;
} range;

static int range_cmp(const void *a, const void *b) {
    const range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Parses one tensor entry of a header. Returns 0 or -1 with err set. */
static int parse_entry(const char *file, const cJSON *e, size_t data_len, st_tensor *t, uint64_t *begin, uint64_t *end,
                       char *err, size_t err_len) {
    const char *name = e->string;
    size_t nlen = strlen(name);
    if (nlen == 0) {
        st_err(err, err_len, "%s: tensor with an empty name in the header", file);
        return -1;
    }
    if (nlen > ST_MAX_NAME) {
        st_err(err, err_len, "%s: tensor name of %zu bytes is too long (max %d): %.64s...", file, nlen, ST_MAX_NAME,
               name);
        return -1;
    }
    if (!cJSON_IsObject(e)) {
        st_err(err, err_len, "%s: tensor %s: header entry is not an object", file, name);
        return -1;
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt)) {
        st_err(err, err_len, "%s: tensor %s: missing or non-string \"dtype\"", file, name);
        return -1;
    }
    if (!dtype_parse(dt->valuestring, &t->dtype)) {
        if (dtype_is_known_other(dt->valuestring))
            st_err(err, err_len, "%s: tensor %s: unsupported dtype %s (F32, F16 or BF16 expected)", file, name,
                   dt->valuestring);
        else
            st_err(err, err_len, "%s: tensor %s: unknown dtype \"%.32s\"", file, name, dt->valuestring);
        return -1;
    }
    if (!cJSON_IsArray(sh)) {
        st_err(err, err_len, "%s: tensor %s: missing or non-array \"shape\"", file, name);
        return -1;
    }
    int nd = cJSON_GetArraySize(sh);
    if (nd > ST_MAX_DIMS) {
        st_err(err, err_len, "%s: tensor %s: %d dimensions (max %d)", file, name, nd, ST_MAX_DIMS);
        return -1;
    }
    t->ndim = nd;
    uint64_t numel = 1;
    for (int i = 0; i < nd; i++) {
        uint64_t d;
        if (!json_uint(cJSON_GetArrayItem(sh, i), &d) || d > (uint64_t)INT64_MAX) {
            st_err(err, err_len, "%s: tensor %s: shape[%d] is not a non-negative integer", file, name, i);
            return -1;
        }
        t->shape[i] = (int64_t)d;
        if (!mul_ok(numel, d, &numel)) {
            st_err(err, err_len, "%s: tensor %s: shape product overflows", file, name);
            return -1;
        }
    }
    for (int i = nd; i < ST_MAX_DIMS; i++)
        t->shape[i] = 0;
    uint64_t nbytes;
    if (!mul_ok(numel, st_dtype_size(t->dtype), &nbytes) || numel > SIZE_MAX) {
        st_err(err, err_len, "%s: tensor %s: byte size overflows", file, name);
        return -1;
    }
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(cJSON_GetArrayItem(off, 0), begin) ||
        !json_uint(cJSON_GetArrayItem(off, 1), end)) {
        st_err(err, err_len, "%s: tensor %s: \"data_offsets\" must be two non-negative integers", file, name);
        return -1;
    }
    if (*end < *begin) {
        st_err(err, err_len, "%s: tensor %s: data_offsets end %llu < begin %llu", file, name, (unsigned long long)*end,
               (unsigned long long)*begin);
        return -1;
    }
    if (*end > data_len) {
        st_err(err, err_len, "%s: tensor %s: data_offsets [%llu, %llu] outside the data section (%zu bytes)", file,
               name, (unsigned long long)*begin, (unsigned long long)*end, data_len);
        return -1;
    }
    if (*end - *begin != nbytes) {
        st_err(err, err_len, "%s: tensor %s: data_offsets span %llu bytes but shape x %s needs %llu", file, name,
               (unsigned long long)(*end - *begin), st_dtype_str(t->dtype), (unsigned long long)nbytes);
        return -1;
    }
    t->numel = (size_t)numel;
    return 0;
}

/* Maps and parses one safetensors file, appending its tensors to st. */
static int open_shard(st_file *st, const char *path, char *err, size_t err_len) {
    st_shard *ns = realloc(st->shards, (st->n_shards + 1) * sizeof *ns);
    if (!ns) {
        st_err(err, err_len, "%s: out of memory", path);
        return -1;
    }
    st->shards = ns;
    st_shard *sh = &st->shards[st->n_shards];
    memset(sh, 0, sizeof *sh);
    sh->path = st_strdup(path);
    if (!sh->path) {
        st_err(err, err_len, "%s: out of memory", path);
        return -1;
    }
    st->n_shards++;

    /* a FIFO named by the index would block open(2) forever: tb_open_read never blocks and
     * refuses anything but a regular file */
    long long fsize = 0;
    int fd = tb_open_read(path, TB_OPEN_REGULAR, &fsize, err, err_len);
    if (fd < 0) return -1;
    size_t size = (size_t)fsize;
    if (size < 8) {
        st_err(err, err_len, "%s: file of %zu bytes is too short for the 8-byte header length", path, size);
        close(fd);
        return -1;
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        st_err(err, err_len, "%s: mmap failed: %s", path, strerror(errno));
        return -1;
    }
    sh->map = map;
    sh->map_len = size;
    const uint8_t *b = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | b[i];
    if (hlen > size - 8) {
        st_err(err, err_len, "%s: header length %llu exceeds the file (%zu bytes)", path, (unsigned long long)hlen,
               size);
        return -1;
    }
    if (hlen > ST_MAX_HEADER) {
        st_err(err, err_len, "%s: header length %llu exceeds the limit of %u bytes", path, (unsigned long long)hlen,
               ST_MAX_HEADER);
        return -1;
    }
    if (hlen < 2) {
        st_err(err, err_len, "%s: header length %llu is too short for a JSON object", path, (unsigned long long)hlen);
        return -1;
    }
    sh->data = b + 8 + hlen;
    sh->data_len = size - 8 - (size_t)hlen;

    const char *end_ptr = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)b + 8, (size_t)hlen, &end_ptr, 0);
    if (!root || !cJSON_IsObject(root)) {
        st_err(err, err_len, "%s: header is not a JSON object", path);
        cJSON_Delete(root);
        return -1;
    }
    for (const char *p = end_ptr; p && p < (const char *)b + 8 + hlen; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\0') {
            st_err(err, err_len, "%s: trailing bytes after the JSON header", path);
            cJSON_Delete(root);
            return -1;
        }
    }

    size_t first = st->n_tensors;
    size_t n_here = 0;
    range *ranges = NULL;
    int rc = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) n_here++;
    ranges = calloc(n_here ? n_here : 1, sizeof *ranges);
    if (!ranges) {
        st_err(err, err_len, "%s: out of memory", path);
        goto out;
    }
    size_t nr = 0;
    cJSON_ArrayForEach(e, root) {
        if (!e->string) continue;
        if (strcmp(e->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(e)) {
                st_err(err, err_len, "%s: \"__metadata__\" is not an object", path);
                goto out;
            }
            continue;
        }
        st_tensor t;
        memset(&t, 0, sizeof t);
        uint64_t bg, en;
        if (parse_entry(path, e, sh->data_len, &t, &bg, &en, err, err_len) != 0) goto out;
        t.name = st_strdup(e->string);
        if (!t.name) {
            st_err(err, err_len, "%s: out of memory", path);
            goto out;
        }
        t.data = sh->data + bg;
        t.file = sh->path;
        if (push_tensor(st, &t) != 0) {
            free((char *)t.name);
            st_err(err, err_len, "%s: out of memory", path);
            goto out;
        }
        ranges[nr].begin = bg;
        ranges[nr].end = en;
        ranges[nr].idx = st->n_tensors - 1;
        nr++;
    }
    /* Overlaps: sorted by begin, each non-empty range must start at or after the furthest end so
     * far. Empty tensors (begin == end) occupy no bytes and cannot overlap. */
    qsort(ranges, nr, sizeof *ranges, range_cmp);
    uint64_t max_end = 0;
    size_t max_idx = 0;
    int have = 0;
    for (size_t i = 0; i < nr; i++) {
        if (ranges[i].begin == ranges[i].end) continue;
        if (have && ranges[i].begin < max_end) {
            st_err(err, err_len, "%s: tensor %s: data_offsets [%llu, %llu] overlap tensor %s", path,
                   st->tensors[ranges[i].idx].name, (unsigned long long)ranges[i].begin,
                   (unsigned long long)ranges[i].end, st->tensors[max_idx].name);
            goto out;
        }
        if (!have || ranges[i].end > max_end) {
            max_end = ranges[i].end;
            max_idx = ranges[i].idx;
        }
        have = 1;
    }
    (void)first;
    rc = 0;
out:
    free(ranges);
    cJSON_Delete(root);
    return rc;
}

/* ---- open / close -------------------------------------------------------------------------- */

static char *read_small_file(const char *path, size_t max, size_t *len, char *err, size_t err_len) {
    FILE *f = tb_fopen_read(path, TB_OPEN_REGULAR, err, err_len);
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if (cap >= max) {
                st_err(err, err_len, "%s: file larger than %zu bytes", path, max);
                free(buf);
                buf = NULL;
                break;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (buf && ferror(f)) {
        st_err(err, err_len, "%s: read error", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf) {
        if (err && err_len && !err[0]) st_err(err, err_len, "%s: out of memory", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/') p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

static int file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int shard_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 255 || strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
    return 1;
}

/* Sharded checkpoint: read the index, open every shard named there (sorted), check that the
 * weight_map and the shard headers agree exactly. */
static int open_index(st_file *st, const char *dir, const char *index_path, char *err, size_t err_len) {
    size_t len = 0;
    char *text = read_small_file(index_path, ST_MAX_INDEX, &len, err, err_len);
    if (!text) return -1;
    int rc = -1;
    char **files = NULL;
    size_t n_files = 0;
    unsigned char *seen = NULL;
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *wm = root ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
    if (!root || !cJSON_IsObject(root)) {
        st_err(err, err_len, "%s: not a JSON object", index_path);
        goto out;
    }
    if (!cJSON_IsObject(wm)) {
        st_err(err, err_len, "%s: missing \"weight_map\" object", index_path);
        goto out;
    }
    size_t n_map = (size_t)cJSON_GetArraySize(wm);
    files = calloc(n_map ? n_map : 1, sizeof *files);
    if (!files) {
        st_err(err, err_len, "%s: out of memory", index_path);
        goto out;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, wm) {
        if (!cJSON_IsString(e) || !shard_name_ok(e->valuestring)) {
            st_err(err, err_len, "%s: tensor %s: shard file name must be a plain file name", index_path,
                   e->string ? e->string : "?");
            goto out;
        }
        files[n_files++] = e->valuestring; /* borrowed from root */
    }
    qsort(files, n_files, sizeof *files, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n_files; i++)
        if (u == 0 || strcmp(files[u - 1], files[i]) != 0) files[u++] = files[i];
    n_files = u;
    if (n_files == 0) {
        st_err(err, err_len, "%s: empty weight_map", index_path);
        goto out;
    }
    for (size_t i = 0; i < n_files; i++) {
        char *p = path_join(dir, files[i]);
        if (!p) {
            st_err(err, err_len, "%s: out of memory", index_path);
            goto out;
        }
        int r = open_shard(st, p, err, err_len);
        free(p);
        if (r != 0) goto out;
    }
    long dup = build_hash(st);
    if (dup == -2) {
        st_err(err, err_len, "%s: out of memory", index_path);
        goto out;
    }
    if (dup >= 0) {
        st_err(err, err_len, "%s: tensor %s: present in more than one shard", st->tensors[dup].file,
               st->tensors[dup].name);
        goto out;
    }
    seen = calloc(st->n_tensors ? st->n_tensors : 1, 1);
    if (!seen) {
        st_err(err, err_len, "%s: out of memory", index_path);
        goto out;
    }
    cJSON_ArrayForEach(e, wm) {
        long idx = find_index(st, e->string);
        if (idx < 0) {
            st_err(err, err_len, "%s: tensor %s: listed in the index but missing from shard %s", index_path, e->string,
                   e->valuestring);
            goto out;
        }
        const char *f = st->tensors[idx].file;
        const char *base = strrchr(f, '/');
        base = base ? base + 1 : f;
        if (strcmp(base, e->valuestring) != 0) {
            st_err(err, err_len, "%s: tensor %s: index says shard %s but it is in %s", index_path, e->string,
                   e->valuestring, f);
            goto out;
        }
        if (seen[idx]) {
            st_err(err, err_len, "%s: tensor %s: listed twice in the weight_map", index_path, e->string);
            goto out;
        }
        seen[idx] = 1;
    }
    for (size_t i = 0; i < st->n_tensors; i++) {
        if (!seen[i]) {
            st_err(err, err_len, "%s: tensor %s: not listed in %s", st->tensors[i].file, st->tensors[i].name,
                   index_path);
            goto out;
        }
    }
    rc = 0;
out:
    free(seen);
    free(files);
    cJSON_Delete(root);
    free(text);
    return rc;
}

st_file *st_open(const char *path, char *err, size_t err_len) {
    if (err && err_len) err[0] = '\0';
    if (!path) {
        st_err(err, err_len, "st_open: no path");
        return NULL;
    }
    st_file *st = calloc(1, sizeof *st);
    if (!st || !(st->path = st_strdup(path))) {
        free(st);
        st_err(err, err_len, "%s: out of memory", path);
        return NULL;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
        st_err(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(sb.st_mode)) {
        char *index = path_join(path, "model.safetensors.index.json");
        if (!index) goto oom;
        if (file_exists(index)) {
            int r = open_index(st, path, index, err, err_len);
            free(index);
            if (r != 0) goto fail;
            if (!(st->finite = calloc(st->n_tensors ? st->n_tensors : 1, 1))) goto oom;
            return st;
        }
        free(index);
        /* No index: exactly one *.safetensors file in the directory. */
        DIR *d = opendir(path);
        if (!d) {
            st_err(err, err_len, "%s: cannot list directory: %s", path, strerror(errno));
            goto fail;
        }
        char *found = NULL;
        int n_found = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            if (n > 12 && strcmp(de->d_name + n - 12, ".safetensors") == 0) {
                n_found++;
                if (!found || strcmp(de->d_name, "model.safetensors") == 0) {
                    free(found);
                    found = path_join(path, de->d_name);
                }
            }
        }
        closedir(d);
        if (n_found == 0 || !found) {
            free(found);
            st_err(err, err_len, "%s: no model.safetensors.index.json and no .safetensors file", path);
            goto fail;
        }
        if (n_found > 1 && strcmp(strrchr(found, '/') + 1, "model.safetensors") != 0) {
            free(found);
            st_err(err, err_len, "%s: %d .safetensors files but no model.safetensors.index.json", path, n_found);
            goto fail;
        }
        int r = open_shard(st, found, err, err_len);
        free(found);
        if (r != 0) goto fail;
    } else {
        if (open_shard(st, path, err, err_len) != 0) goto fail;
    }
    long dup = build_hash(st);
    if (dup == -2) goto oom;
    if (dup >= 0) {
        st_err(err, err_len, "%s: tensor %s: listed twice in the header", st->tensors[dup].file, st->tensors[dup].name);
        goto fail;
    }
    if (!(st->finite = calloc(st->n_tensors ? st->n_tensors : 1, 1))) goto oom;
    return st;
oom:
    st_err(err, err_len, "%s: out of memory", path);
fail:
    st_close(st);
    return NULL;
}

void st_close(st_file *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n_tensors; i++)
        free((char *)st->tensors[i].name);
    free(st->tensors);
    for (size_t i = 0; i < st->n_shards; i++) {
        if (st->shards[i].map) munmap(st->shards[i].map, st->shards[i].map_len);
        free(st->shards[i].path);
    }
    free(st->shards);
    free(st->hash);
    free(st->finite);
    free(st->path);
    free(st);
}

void st_prefault_tensor(const st_tensor *t) {
    if (!t || !t->data) return;
    long pg = sysconf(_SC_PAGESIZE);
    size_t step = pg > 0 ? (size_t)pg : 4096, bytes = t->numel * (t->dtype == ST_F32 ? 4 : 2);
    uintptr_t p0 = (uintptr_t)t->data & ~(uintptr_t)(step - 1);
    madvise((void *)p0, (uintptr_t)t->data + bytes - p0, MADV_WILLNEED); /* one readahead request */
    volatile const uint8_t *b = t->data;
    uint8_t acc = 0;
    for (size_t o = 0; o < bytes; o += step) acc ^= b[o];
    if (bytes) acc ^= b[bytes - 1];
    (void)acc;
}

/* Index of the first element whose exponent bits are all ones (NaN or +-Inf), or n. Eight bytes
 * at a time (SWAR): after masking each lane to its exponent and xor-ing with the all-ones
 * exponent, a non-finite element is a zero lane, which the classic has-zero test finds; a word
 * with a hit is searched again element by element. */
static size_t first_nonfinite(const uint8_t *p, size_t n, st_dtype dt) {
    const size_t esz = dt == ST_F32 ? 4 : 2;
    uint64_t mask, ones, msb;
    if (dt == ST_F32) {
        mask = 0x7f8000007f800000ull, ones = 0x0000000100000001ull, msb = 0x8000000080000000ull;
    } else {
        uint64_t m = dt == ST_BF16 ? 0x7f80u : 0x7c00u;
        mask = m * 0x0001000100010001ull, ones = 0x0001000100010001ull, msb = 0x8000800080008000ull;
    }
    size_t bytes = n * esz, w = 0;
    /* blocks of 64 words without a branch inside, so the compiler vectorises them */
    for (; w + 512 <= bytes; w += 512) {
        uint64_t acc = 0;
        for (int k = 0; k < 64; k++) {
            uint64_t x;
            memcpy(&x, p + w + 8 * (size_t)k, 8);
            uint64_t t = (x & mask) ^ mask; /* lanes have no top bit set: the test is exact */
            acc |= (t - ones) & ~t & msb;
        }
        if (acc) break;
    }
    for (; w + 8 <= bytes; w += 8) {
        uint64_t x;
        memcpy(&x, p + w, 8);
        uint64_t t = (x & mask) ^ mask;
        if ((t - ones) & ~t & msb) break;
    }
    for (size_t i = w / esz; i < n; i++) {
        float v;
        if (dt == ST_F32) {
            memcpy(&v, p + 4 * i, 4);
        } else {
            uint16_t x;
            memcpy(&x, p + 2 * i, 2);
            v = dt == ST_BF16 ? st_bf16_to_f32(x) : st_f16_to_f32(x);
        }
        if (!isfinite(v)) return i;
    }
    return n;
}

int st_check_finite(const st_file *st, const st_tensor *t, char *err, size_t err_len) {
    if (!st || !t) return 0;
    size_t idx = (size_t)(t - st->tensors);
    if (idx < st->n_tensors && st->finite && st->finite[idx]) return 0;
    size_t bad = first_nonfinite(t->data, t->numel, t->dtype);
    if (bad < t->numel) {
        float v;
        if (t->dtype == ST_F32) {
            memcpy(&v, (const uint8_t *)t->data + 4 * bad, 4);
        } else {
            uint16_t x;
            memcpy(&x, (const uint8_t *)t->data + 2 * bad, 2);
            v = t->dtype == ST_BF16 ? st_bf16_to_f32(x) : st_f16_to_f32(x);
        }
        st_err(err, err_len, "%s: tensor %s: element %zu is %s (a corrupt or diverged checkpoint)", t->file, t->name,
               bad, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return -1;
    }
    if (idx < st->n_tensors && st->finite) st->finite[idx] = 1;
    return 0;
}

const char *st_path(const st_file *st) {
    return st ? st->path : NULL;
}

const st_tensor *st_find(const st_file *st, const char *name) {
    if (!st || !name) return NULL;
    long i = find_index(st, name);
    return i < 0 ? NULL : &st->tensors[i];
}

size_t st_count(const st_file *st) {
    return st ? st->n_tensors : 0;
}

const st_tensor *st_at(const st_file *st, size_t i) {
    return st && i < st->n_tensors ? &st->tensors[i] : NULL;
}

static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t k = 0;
    int n = snprintf(buf, len, "[");
    if (n > 0) k = (size_t)n;
    for (int i = 0; i < ndim && k < len; i++) {
        n = snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
        if (n < 0) break;
        k += (size_t)n;
    }
    if (k < len) snprintf(buf + k, len - k, "]");
}

float *st_load_f32(const st_file *st, const char *name, int ndim, const int64_t *shape, char *err, size_t err_len) {
    if (!st || !name) {
        st_err(err, err_len, "st_load_f32: no checkpoint or name");
        return NULL;
    }
    const st_tensor *t = st_find(st, name);
    if (!t) {
        st_err(err, err_len, "%s: tensor %s: not found", st->path, name);
        return NULL;
    }
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char a[160], b[160];
        shape_str(a, sizeof a, t->ndim, t->shape);
        shape_str(b, sizeof b, ndim, shape);
        st_err(err, err_len, "%s: tensor %s: shape %s, expected %s", t->file, name, a, b);
        return NULL;
    }
    float *out = malloc(t->numel ? t->numel * sizeof(float) : 1);
    if (!out) {
        st_err(err, err_len, "%s: tensor %s: out of memory (%zu floats)", t->file, name, t->numel);
        return NULL;
    }
    st_convert_f32(t, out);
    return out;
}

/* ---- writer -------------------------------------------------------------------------------- */

static int cmp_raw_by_name(const void *a, const void *b) {
    const st_write_raw_tensor *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

int st_write_raw(const char *path, const st_write_raw_tensor *tensors, size_t n, char *err, size_t err_len) {
    int rc = -1;
    const st_write_raw_tensor **ord = NULL;
    uint64_t *nbytes = NULL;
    cJSON *root = NULL;
    char *hdr = NULL, *tmp = NULL;
    FILE *f = NULL;
    ord = calloc(n ? n : 1, sizeof *ord);
    nbytes = calloc(n ? n : 1, sizeof *nbytes);
    root = cJSON_CreateObject();
    if (!ord || !nbytes || !root) {
        st_err(err, err_len, "%s: out of memory", path);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const st_write_raw_tensor *t = &tensors[i];
        if (!t->name || !t->name[0] || strlen(t->name) > ST_MAX_NAME || strcmp(t->name, "__metadata__") == 0) {
            st_err(err, err_len, "%s: tensor %zu: bad name", path, i);
            goto out;
        }
        if (t->ndim < 0 || t->ndim > ST_MAX_DIMS) {
            st_err(err, err_len, "%s: tensor %s: %d dimensions", path, t->name, t->ndim);
            goto out;
        }
        uint64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] < 0 || !mul_ok(numel, (uint64_t)t->shape[d], &numel)) {
                st_err(err, err_len, "%s: tensor %s: bad shape", path, t->name);
                goto out;
            }
        }
        if (!mul_ok(numel, st_dtype_size(t->dtype), &nbytes[i]) || nbytes[i] > (1ull << 52)) {
            st_err(err, err_len, "%s: tensor %s: too large", path, t->name);
            goto out;
        }
        if (nbytes[i] && !t->data) {
            st_err(err, err_len, "%s: tensor %s: no data", path, t->name);
            goto out;
        }
        ord[i] = t;
    }
    qsort(ord, n, sizeof *ord, cmp_raw_by_name);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(ord[i - 1]->name, ord[i]->name) == 0) {
            st_err(err, err_len, "%s: tensor %s: given twice", path, ord[i]->name);
            goto out;
        }
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const st_write_raw_tensor *t = ord[i];
        uint64_t nb = nbytes[t - tensors];
        cJSON *e = cJSON_CreateObject();
        cJSON *sh = cJSON_CreateArray();
        cJSON *of = cJSON_CreateArray();
        if (!e || !sh || !of) {
            cJSON_Delete(e);
            cJSON_Delete(sh);
            cJSON_Delete(of);
            st_err(err, err_len, "%s: out of memory", path);
            goto out;
        }
        cJSON_AddItemToObject(root, t->name, e);
        cJSON_AddStringToObject(e, "dtype", st_dtype_str(t->dtype));
        for (int d = 0; d < t->ndim; d++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddItemToObject(e, "shape", sh);
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + nb)));
        cJSON_AddItemToObject(e, "data_offsets", of);
        off += nb;
    }
    hdr = cJSON_PrintUnformatted(root);
    if (!hdr) {
        st_err(err, err_len, "%s: out of memory", path);
        goto out;
    }
    size_t hl = strlen(hdr);
    size_t padded = (hl + 7) & ~(size_t)7; /* 8 + padded is a multiple of 8 */
    size_t tl = strlen(path) + 32;
    tmp = malloc(tl);
    if (!tmp) {
        st_err(err, err_len, "%s: out of memory", path);
        goto out;
    }
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (!f) {
        st_err(err, err_len, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    uint8_t lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (uint8_t)(((uint64_t)padded >> (8 * i)) & 0xff);
    int ok = fwrite(lenb, 1, 8, f) == 8 && fwrite(hdr, 1, hl, f) == hl;
    for (size_t i = hl; ok && i < padded; i++)
        ok = fputc(' ', f) != EOF;
    for (size_t i = 0; ok && i < n; i++) {
        uint64_t nb = nbytes[ord[i] - tensors];
        if (nb) ok = fwrite(ord[i]->data, 1, (size_t)nb, f) == nb;
    }
    if (fclose(f) != 0) ok = 0;
    f = NULL;
    if (!ok) {
        st_err(err, err_len, "%s: write failed: %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        st_err(err, err_len, "%s: cannot rename into place: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    if (f) {
        fclose(f);
        unlink(tmp);
    }
    free(tmp);
    free(hdr);
    cJSON_Delete(root);
    free(nbytes);
    free(ord);
    return rc;
}

int st_write(const char *path, const st_write_tensor *tensors, size_t n, char *err, size_t err_len) {
    st_write_raw_tensor *raw = calloc(n ? n : 1, sizeof *raw);
    if (!raw) {
        st_err(err, err_len, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        raw[i].name = tensors[i].name;
        raw[i].dtype = ST_F32;
        raw[i].ndim = tensors[i].ndim;
        memcpy(raw[i].shape, tensors[i].shape, sizeof raw[i].shape);
        raw[i].data = tensors[i].data;
    }
    int rc = st_write_raw(path, raw, n, err, err_len);
    free(raw);
    return rc;
}

/* ---- streaming writer ---------------------------------------------------------------------- */

struct st_stream {
    FILE *f;
    char *path, *tmp;
    uint64_t *nbytes; /* [n] bytes each tensor needs, in the given (data) order */
    size_t n, cur;    /* tensors; the one being written */
    uint64_t left;    /* bytes still owed to tensor cur */
    int failed;       /* a write failed: close removes the file */
};

static void stream_abort(st_stream *w) {
    if (!w) return;
    if (w->f) fclose(w->f);
    if (w->tmp) unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w->nbytes);
    free(w);
}

st_stream *st_stream_open(const char *path, const st_write_raw_tensor *tensors, size_t n, char *err,
                          size_t err_len) {
    st_stream *w = calloc(1, sizeof *w);
    cJSON *root = cJSON_CreateObject();
    const st_write_raw_tensor **ord = calloc(n ? n : 1, sizeof *ord);
    uint64_t *off = calloc(n ? n : 1, sizeof *off);
    char *hdr = NULL;
    if (!w || !root || !ord || !off || !(w->nbytes = calloc(n ? n : 1, sizeof *w->nbytes)) ||
        !(w->path = st_strdup(path)) || !(w->tmp = malloc(strlen(path) + 32))) {
        st_err(err, err_len, "%s: out of memory", path);
        goto fail;
    }
    snprintf(w->tmp, strlen(path) + 32, "%s.tmp.%ld", path, (long)getpid());
    w->n = n;
    uint64_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const st_write_raw_tensor *t = &tensors[i];
        uint64_t numel = 1;
        if (!t->name || !t->name[0] || strlen(t->name) > ST_MAX_NAME || t->ndim < 0 || t->ndim > ST_MAX_DIMS) {
            st_err(err, err_len, "%s: tensor %zu: bad name or rank", path, i);
            goto fail;
        }
        for (int d = 0; d < t->ndim; d++)
            if (t->shape[d] < 0 || !mul_ok(numel, (uint64_t)t->shape[d], &numel)) {
                st_err(err, err_len, "%s: tensor %s: bad shape", path, t->name);
                goto fail;
            }
        if (!mul_ok(numel, st_dtype_size(t->dtype), &w->nbytes[i]) || w->nbytes[i] > (1ull << 52)) {
            st_err(err, err_len, "%s: tensor %s: too large", path, t->name);
            goto fail;
        }
        off[i] = pos; /* data in the given order */
        pos += w->nbytes[i];
        ord[i] = t;
    }
    qsort(ord, n, sizeof *ord, cmp_raw_by_name); /* header keys sorted by name */
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp(ord[i - 1]->name, ord[i]->name) == 0) {
            st_err(err, err_len, "%s: tensor %s: given twice", path, ord[i]->name);
            goto fail;
        }
        size_t k = (size_t)(ord[i] - tensors);
        cJSON *e = cJSON_CreateObject(), *sh = cJSON_CreateArray(), *of = cJSON_CreateArray();
        if (!e || !sh || !of) {
            cJSON_Delete(e), cJSON_Delete(sh), cJSON_Delete(of);
            st_err(err, err_len, "%s: out of memory", path);
            goto fail;
        }
        cJSON_AddItemToObject(root, ord[i]->name, e);
        cJSON_AddStringToObject(e, "dtype", st_dtype_str(ord[i]->dtype));
        for (int d = 0; d < ord[i]->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)ord[i]->shape[d]));
        cJSON_AddItemToObject(e, "shape", sh);
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off[k]));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off[k] + w->nbytes[k])));
        cJSON_AddItemToObject(e, "data_offsets", of);
    }
    if (!(hdr = cJSON_PrintUnformatted(root))) {
        st_err(err, err_len, "%s: out of memory", path);
        goto fail;
    }
    size_t hl = strlen(hdr), padded = (hl + 7) & ~(size_t)7;
    if (!(w->f = fopen(w->tmp, "wb"))) {
        st_err(err, err_len, "%s: cannot create: %s", w->tmp, strerror(errno));
        goto fail;
    }
    uint8_t lenb[8];
    for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)(((uint64_t)padded >> (8 * i)) & 0xff);
    int ok = fwrite(lenb, 1, 8, w->f) == 8 && fwrite(hdr, 1, hl, w->f) == hl;
    for (size_t i = hl; ok && i < padded; i++) ok = fputc(' ', w->f) != EOF;
    if (!ok) {
        st_err(err, err_len, "%s: write failed: %s", w->tmp, strerror(errno));
        goto fail;
    }
    w->cur = 0;
    w->left = n ? w->nbytes[0] : 0;
    free(hdr);
    free(off);
    free(ord);
    cJSON_Delete(root);
    return w;
fail:
    free(hdr);
    free(off);
    free(ord);
    cJSON_Delete(root);
    stream_abort(w);
    return NULL;
}

int st_stream_write(st_stream *w, const void *bytes, size_t n, char *err, size_t err_len) {
    const uint8_t *p = bytes;
    while (n > 0) {
        while (w->cur < w->n && w->left == 0) w->left = ++w->cur < w->n ? w->nbytes[w->cur] : 0;
        if (w->cur >= w->n) {
            st_err(err, err_len, "%s: %zu bytes past the last tensor", w->path, n);
            w->failed = 1;
            return -1;
        }
        size_t k = n < w->left ? n : (size_t)w->left;
        if (fwrite(p, 1, k, w->f) != k) {
            st_err(err, err_len, "%s: write failed: %s", w->tmp, strerror(errno));
            w->failed = 1;
            return -1;
        }
        p += k;
        n -= k;
        w->left -= k;
    }
    return 0;
}

int st_stream_close(st_stream *w, char *err, size_t err_len) {
    if (!w) return 0;
    while (w->cur < w->n && w->left == 0) w->left = ++w->cur < w->n ? w->nbytes[w->cur] : 0;
    int rc = -1;
    if (w->failed) {
        st_err(err, err_len, "%s: not written (an earlier write failed)", w->path);
    } else if (w->cur < w->n) {
        st_err(err, err_len, "%s: closed with %llu bytes of data missing", w->path, (unsigned long long)w->left);
    } else {
        int c = fclose(w->f);
        w->f = NULL;
        if (c != 0) st_err(err, err_len, "%s: write failed: %s", w->tmp, strerror(errno));
        else if (rename(w->tmp, w->path) != 0)
            st_err(err, err_len, "%s: cannot rename into place: %s", w->path, strerror(errno));
        else rc = 0;
    }
    if (rc == 0) {
        free(w->tmp);
        w->tmp = NULL;
    }
    stream_abort(w);
    return rc;
}
