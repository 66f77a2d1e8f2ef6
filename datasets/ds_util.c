/* ds_util.c - small utilities of the datasets module: error formatting, the growable buffer with
 * a maximum, file reads / atomic writes, mkdir -p, untrusted relative-path checks, sha256 (OpenSSL
 * EVP). No network here (ds_http.c). */
#include "datasets/ds_internal.h"

#include "common/check.h"
#include "common/file.h"

#include <libavutil/error.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


int ds_fail(char *err, size_t err_len, int status, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return status;
}

void ds_set_err(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || !err_len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

const char *ds_averr(int e, char *buf, size_t len) {
    if (av_strerror(e, buf, len) < 0) snprintf(buf, len, "error %d", e);
    return buf;
}

const char *ds_status_str(int status) {
    switch (status) {
    case DS_OK: return "ok";
    case DS_ERR_ARG: return "bad argument";
    case DS_ERR_IO: return "i/o error";
    case DS_ERR_NET: return "network error";
    case DS_ERR_HTTP: return "http error";
    case DS_ERR_AUTH: return "authentication required";
    case DS_ERR_JSON: return "malformed json";
    case DS_ERR_SCHEMA: return "unexpected schema";
    case DS_ERR_PATH: return "unsafe path";
    case DS_ERR_TOOBIG: return "too big";
    case DS_ERR_CHECKSUM: return "checksum mismatch";
    case DS_ERR_NOT_CACHED: return "not cached";
    case DS_ERR_NOMEM: return "out of memory";
    case DS_ERR_UNSUPPORTED: return "unsupported";
    default: return "unknown status";
    }
}

/* ============================================================================================
 * Growable buffer
 */
int ds_buf_status(int tb_buf_status) {
    switch (tb_buf_status) {
    case TB_BUF_OK: return DS_OK;
    case TB_BUF_TOOBIG: return DS_ERR_TOOBIG;
    default: return DS_ERR_NOMEM;
    }
}

/* ============================================================================================
 * Strings
 */
char *ds_strdup(const char *s) { return s ? ds_strndup(s, strlen(s)) : NULL; }

char *ds_strndup(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ============================================================================================
 * Files and paths
 */
int ds_read_file(const char *path, size_t max, char **out, size_t *out_len, char *err, size_t err_len) {
    *out = NULL;
    if (out_len) *out_len = 0;
    FILE *f = tb_fopen_read(path, 0, err, err_len); /* a pipe is fine, a FIFO never blocks the open */
    if (!f) return DS_ERR_IO;
    tb_buf b;
    tb_buf_init(&b, max);
    char chunk[65536];
    size_t n;
    int st = DS_OK;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        st = tb_buf_append(&b, chunk, n);
        if (st != DS_OK) break;
    }
    if (st == DS_OK && ferror(f)) st = DS_ERR_IO;
    fclose(f);
    if (st != DS_OK) {
        tb_buf_free(&b);
        if (st == DS_ERR_TOOBIG)
            return ds_fail(err, err_len, st, "%s is larger than %zu bytes", path, max);
        return ds_fail(err, err_len, st, "cannot read %s", path);
    }
    size_t len = b.len;
    *out = tb_buf_take(&b);
    if (!*out) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory reading %s", path);
    if (out_len) *out_len = len;
    return DS_OK;
}

int ds_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t err_len) {
    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int st = ds_fail(err, err_len, DS_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    int ok = fwrite(data, 1, len, f) == len;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int st = ds_fail(err, err_len, DS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    return DS_OK;
}

int ds_mkdirs(const char *path, char *err, size_t err_len) {
    char *p = ds_strdup(path);
    if (!p) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int st = ds_fail(err, err_len, DS_ERR_IO, "cannot create directory %s: %s", p, strerror(errno));
            free(p);
            return st;
        }
        p[i] = c;
    }
    free(p);
    if (!ds_is_dir(path)) return ds_fail(err, err_len, DS_ERR_IO, "%s is not a directory", path);
    return DS_OK;
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

int ds_rmtree(const char *path, char *err, size_t err_len) {
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return ds_fail(err, err_len, DS_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    return DS_OK;
}

int ds_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ds_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

char *ds_path_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/') la--;
    char *r = malloc(la + lb + 2);
    if (!r) return NULL;
    memcpy(r, a, la);
    size_t k = la;
    if (la && a[la - 1] != '/') r[k++] = '/';
    memcpy(r + k, b, lb);
    r[k + lb] = '\0';
    return r;
}

int ds_check_rel_path(const char *rel, const char *field, char *err, size_t err_len) {
    if (!rel || !*rel) return ds_fail(err, err_len, DS_ERR_PATH, "field '%s': empty video path", field);
    char q[300];
    tb_quote(q, sizeof q, rel, strlen(rel)); /* quoted: the value comes from a record */
    if (rel[0] == '/' || rel[0] == '~')
        return ds_fail(err, err_len, DS_ERR_PATH, "field '%s': absolute video path '%s' escapes the videos root",
                       field, q);
    for (const unsigned char *c = (const unsigned char *)rel; *c; c++)
        if (*c < 0x20 || *c == '\\' || *c == 0x7f)
            return ds_fail(err, err_len, DS_ERR_PATH, "field '%s': video path '%s' has a control character or backslash",
                           field, q);
    const char *s = rel;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return ds_fail(err, err_len, DS_ERR_PATH, "field '%s': video path '%s' escapes the videos root ('..')",
                           field, q);
        if (!e) break;
        s = e + 1;
    }
    return DS_OK;
}
