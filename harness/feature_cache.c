/* feature_cache.c - on-disk cache of eng_vision_out entries keyed by SHA-256 (see feature_cache.h).
 * Entries are directories of .npy files written through harness/npy.h and renamed into place. */
#include "common/sha256.h"
#include "harness/feature_cache.h"


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "harness/npy.h"

#define INFO_N 10 /* T, P, G, L, Gp, Dv, D, Dh, pool_mode, version */
#define FCACHE_VERSION 1


int fcache_key_encode(char *buf, size_t len, const char *weights_digest, const char *dtype, const char *source,
                      int64_t n_frames, const char *rule, int64_t size, const char *pool, int keep_hidden,
                      int keep_projected) {
    int n = snprintf(buf, len,
                     "tango-bench/encode v%d\nweights=%s\ndtype=%s\nsource=%s\nframes=%lld\nrule=%s\nsize=%lld\n"
                     "pool=%s\nhidden=%d\nprojected=%d\n",
                     FCACHE_VERSION, weights_digest, dtype, source, (long long)n_frames, rule, (long long)size, pool,
                     keep_hidden ? 1 : 0, keep_projected ? 1 : 0);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The arrays of an entry: name, pointer slot in eng_vision_out, shape builder. */
typedef struct {
    const char *name;
    size_t off; /* offsetof in eng_vision_out */
} fc_array;

static const fc_array k_arrays[] = {
    {"vision_hidden", offsetof(eng_vision_out, vision_hidden)},
    {"projected", offsetof(eng_vision_out, projected)},
    {"pooled", offsetof(eng_vision_out, pooled)},
    {"map_attn", offsetof(eng_vision_out, map_attn)},
    {"pooled_attn", offsetof(eng_vision_out, pooled_attn)},
    {"layer_attn_mean", offsetof(eng_vision_out, layer_attn_mean)},
    {"pooled_layer_attn", offsetof(eng_vision_out, pooled_layer_attn)},
    {"frame_global", offsetof(eng_vision_out, frame_global)},
    {"pooled_keys", offsetof(eng_vision_out, pooled_keys)},
};
#define N_ARRAYS (sizeof k_arrays / sizeof k_arrays[0])

static float **slot(eng_vision_out *o, size_t i) {
    return (float **)((char *)o + k_arrays[i].off);
}

/* Shape of array i for the dims of o; returns ndim. */
static int shape_of(const eng_vision_out *o, size_t i, int64_t shape[3]) {
    int64_t T = o->n_frames, P = o->n_patches, L = o->n_pooled;
    const char *n = k_arrays[i].name;
    if (!strcmp(n, "vision_hidden")) return shape[0] = T, shape[1] = P, shape[2] = o->d_vision, 3;
    if (!strcmp(n, "projected")) return shape[0] = T, shape[1] = P, shape[2] = o->d_model, 3;
    if (!strcmp(n, "pooled")) return shape[0] = T, shape[1] = L, shape[2] = o->d_model, 3;
    if (!strcmp(n, "pooled_keys")) return shape[0] = T, shape[1] = L, shape[2] = o->head_dim, 3;
    if (!strcmp(n, "frame_global")) return shape[0] = T, shape[1] = o->d_vision, 2;
    if (!strcmp(n, "map_attn") || !strcmp(n, "layer_attn_mean")) return shape[0] = T, shape[1] = P, 2;
    return shape[0] = T, shape[1] = L, 2; /* pooled_attn, pooled_layer_attn */
}

static int entry_path(char *buf, size_t len, const char *dir, const char *key, const char *suffix) {
    char h[65];
    if (tb_sha256_hex(key, strlen(key), h)) return -1;
    int n = snprintf(buf, len, "%s/%s%s", dir, h, suffix);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int file_path(char *buf, size_t len, const char *entry, const char *name, const char *ext) {
    int n = snprintf(buf, len, "%s/%s%s", entry, name, ext);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static char *read_text(const char *path, size_t max) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *s = malloc(max + 1);
    size_t n = s ? fread(s, 1, max, f) : 0;
    fclose(f);
    if (s) s[n] = 0;
    return s;
}

int fcache_lookup(const char *cache_dir, const char *key, const eng_vision_info *expect, int64_t n_frames,
                  eng_vision_out *out, double **ts, int64_t *n_ts, char *err, size_t err_len) {
    char entry[4096], p[4300];
    struct stat sb;
    memset(out, 0, sizeof *out);
    if (ts) *ts = NULL;
    if (n_ts) *n_ts = 0;
    if (entry_path(entry, sizeof entry, cache_dir, key, "")) {
        snprintf(err, err_len, "feature cache: path too long under %s", cache_dir);
        return -1;
    }
    if (stat(entry, &sb) != 0 || !S_ISDIR(sb.st_mode)) return 0;
    size_t klen = strlen(key);
    if (file_path(p, sizeof p, entry, "key", ".txt")) goto toolong;
    char *stored = read_text(p, klen + 1);
    int same = stored && strcmp(stored, key) == 0;
    free(stored);
    if (!same) {
        snprintf(err, err_len, "feature cache: %s: key.txt missing or differs from the key", entry);
        return -1;
    }
    npy_array a;
    if (file_path(p, sizeof p, entry, "info", ".npy")) goto toolong;
    if (npy_read(p, NPY_I64, &a, err, err_len)) return -1;
    if (a.numel != INFO_N || ((int64_t *)a.data)[9] != FCACHE_VERSION) {
        snprintf(err, err_len, "feature cache: %s: bad info.npy", p);
        npy_free(&a);
        return -1;
    }
    const int64_t *inf = a.data;
    out->n_frames = inf[0];
    out->n_patches = inf[1];
    out->grid = inf[2];
    out->n_pooled = inf[3];
    out->grid_pooled = inf[4];
    out->d_vision = inf[5];
    out->d_model = inf[6];
    out->head_dim = inf[7];
    out->pool_mode = (int)inf[8];
    npy_free(&a);
    /* self-consistent is not enough: the entry must have the request's frames and the loaded
     * model's dimensions */
    if ((n_frames > 0 && out->n_frames != n_frames) || out->n_frames < 1 ||
        out->grid_pooled * out->grid_pooled != out->n_pooled || out->grid * out->grid != out->n_patches ||
        (expect && (out->n_patches != expect->n_patches || out->grid != expect->grid ||
                    out->d_vision != expect->d_vision || out->d_model != expect->d_model ||
                    out->head_dim != expect->head_dim))) {
        snprintf(err, err_len,
                 "feature cache: %s/info.npy: %lld frames of %lldx%lld patches, width %lld do not match the request "
                 "(%lld frames, %dx%d, width %d): a damaged or altered entry (delete it)",
                 entry, (long long)out->n_frames, (long long)out->grid, (long long)out->grid, (long long)out->d_model,
                 (long long)n_frames, expect ? expect->grid : 0, expect ? expect->grid : 0, expect ? expect->d_model : 0);
        memset(out, 0, sizeof *out);
        return -1;
    }
    for (size_t i = 0; i < N_ARRAYS; i++) {
        if (file_path(p, sizeof p, entry, k_arrays[i].name, ".npy")) goto toolong;
        if (stat(p, &sb) != 0) continue; /* not stored (e.g. no head) */
        if (npy_read(p, NPY_F32, &a, err, err_len)) goto fail;
        int64_t shape[3];
        int nd = shape_of(out, i, shape);
        int ok = a.ndim == nd;
        for (int d = 0; ok && d < nd; d++) ok = a.shape[d] == shape[d];
        if (!ok) {
            snprintf(err, err_len, "feature cache: %s: shape does not match info.npy", p);
            npy_free(&a);
            goto fail;
        }
        if (npy_check_finite(&a, p, err, err_len)) {
            npy_free(&a);
            goto fail;
        }
        *slot(out, i) = a.data; /* ownership moves to out */
    }
    if (!out->pooled) {
        snprintf(err, err_len, "feature cache: %s: pooled.npy missing", entry);
        goto fail;
    }
    if (ts && n_ts) {
        if (file_path(p, sizeof p, entry, "timestamps", ".npy")) goto toolong;
        if (stat(p, &sb) == 0) {
            if (npy_read(p, NPY_F64, &a, err, err_len)) goto fail;
            if ((int64_t)a.numel != out->n_frames || npy_check_finite(&a, p, err, err_len)) {
                if ((int64_t)a.numel != out->n_frames)
                    snprintf(err, err_len, "feature cache: %s: %zu timestamps for %lld frames", p, a.numel,
                             (long long)out->n_frames);
                npy_free(&a);
                goto fail;
            }
            *ts = a.data;
            *n_ts = (int64_t)a.numel;
        }
    }
    return 1;
toolong:
    snprintf(err, err_len, "feature cache: path too long under %s", cache_dir);
fail:
    eng_vision_out_free(out);
    return -1;
}

static int mkdir_p(const char *dir, char *err, size_t err_len) {
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        snprintf(err, err_len, "feature cache: path too long: %s", dir);
        return -1;
    }
    for (char *s = tmp + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
            snprintf(err, err_len, "feature cache: mkdir %s: %s", tmp, strerror(errno));
            return -1;
        }
        *s = '/';
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "feature cache: mkdir %s: %s", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

static void rm_entry(const char *dir) {
    char p[4300];
    static const char *extra[] = {"key.txt", "info.npy", "timestamps.npy"};
    for (size_t i = 0; i < 3; i++)
        if (file_path(p, sizeof p, dir, extra[i], "") == 0) unlink(p);
    for (size_t i = 0; i < N_ARRAYS; i++)
        if (file_path(p, sizeof p, dir, k_arrays[i].name, ".npy") == 0) unlink(p);
    rmdir(dir);
}

int fcache_store(const char *cache_dir, const char *key, const eng_vision_out *out, const double *ts, int64_t n_ts,
                 char *err, size_t err_len) {
    char entry[4096], tmp[4096], p[4300], suffix[64];
    struct stat sb;
    if (!out || !out->pooled) {
        snprintf(err, err_len, "feature cache: nothing to store");
        return -1;
    }
    if (mkdir_p(cache_dir, err, err_len)) return -1;
    snprintf(suffix, sizeof suffix, ".tmp.%d", (int)getpid());
    if (entry_path(entry, sizeof entry, cache_dir, key, "") || entry_path(tmp, sizeof tmp, cache_dir, key, suffix)) {
        snprintf(err, err_len, "feature cache: path too long under %s", cache_dir);
        return -1;
    }
    if (stat(entry, &sb) == 0) return 0; /* already cached */
    rm_entry(tmp);                       /* leftovers of a killed run of this pid */
    if (mkdir(tmp, 0777) != 0) {
        snprintf(err, err_len, "feature cache: mkdir %s: %s", tmp, strerror(errno));
        return -1;
    }
    FILE *f = NULL;
    if (file_path(p, sizeof p, tmp, "key", ".txt") || !(f = fopen(p, "wb")) || fputs(key, f) < 0) {
        snprintf(err, err_len, "feature cache: cannot write %s", p);
        if (f) fclose(f);
        goto fail;
    }
    if (fclose(f) != 0) {
        snprintf(err, err_len, "feature cache: cannot write %s", p);
        goto fail;
    }
    int64_t info[INFO_N] = {out->n_frames, out->n_patches, out->grid,     out->n_pooled,  out->grid_pooled,
                            out->d_vision, out->d_model,   out->head_dim, out->pool_mode, FCACHE_VERSION};
    int64_t ishape[1] = {INFO_N};
    if (file_path(p, sizeof p, tmp, "info", ".npy") || npy_write(p, NPY_I64, info, 1, ishape, err, err_len)) goto fail;
    eng_vision_out *mo = (eng_vision_out *)out; /* slot() needs a non-const pointer; nothing is written */
    for (size_t i = 0; i < N_ARRAYS; i++) {
        const float *data = *slot(mo, i);
        if (!data) continue;
        int64_t shape[3];
        int nd = shape_of(out, i, shape);
        if (file_path(p, sizeof p, tmp, k_arrays[i].name, ".npy") ||
            npy_write(p, NPY_F32, data, nd, shape, err, err_len))
            goto fail;
    }
    if (ts && n_ts > 0) {
        int64_t tshape[1] = {n_ts};
        if (file_path(p, sizeof p, tmp, "timestamps", ".npy") || npy_write(p, NPY_F64, ts, 1, tshape, err, err_len))
            goto fail;
    }
    if (rename(tmp, entry) != 0) {
        if (stat(entry, &sb) == 0) { /* another writer won the race */
            rm_entry(tmp);
            return 0;
        }
        snprintf(err, err_len, "feature cache: rename %s: %s", tmp, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    rm_entry(tmp);
    return -1;
}
