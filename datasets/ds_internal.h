/* ds_internal.h - private helpers of the datasets module (manifest side): a growable buffer with
 * a maximum, the HTTP client with retries/redirects/resume, sha256, file and path utilities.
 * Not for use outside datasets/. */
#ifndef TB_DS_INTERNAL_H
#define TB_DS_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "datasets/datasets.h"

/* ---- error helper: formats into err (if non-NULL) and returns status ---------------------- */
int ds_fail(char *err, size_t err_len, int status, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same without a status, for callers that return their own (the video code). */
void ds_set_err(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* FFmpeg's text for an AVERROR code, into buf; returns buf. */
const char *ds_averr(int e, char *buf, size_t len);

/* ---- growable byte buffer: common/buf.h (tb_buf) -------------------------------------------- */
/* Maps a tb_buf status (TB_BUF_*) onto the datasets' own (DS_OK, DS_ERR_NOMEM, DS_ERR_TOOBIG). */
int ds_buf_status(int tb_buf_status);

/* ---- strings -------------------------------------------------------------------------------- */
char *ds_strdup(const char *s);
char *ds_strndup(const char *s, size_t n);

/* ---- files ---------------------------------------------------------------------------------- */
/* Reads a whole file (max bytes) into a NUL-terminated malloc'd buffer. */
int ds_read_file(const char *path, size_t max, char **out, size_t *out_len, char *err, size_t err_len);
/* Writes data to path atomically (path.tmp.<pid> then rename). */
int ds_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t err_len);
/* mkdir -p. */
int ds_mkdirs(const char *path, char *err, size_t err_len);
int ds_is_dir(const char *path);
int ds_exists(const char *path);
/* rm -rf path (symlinks are removed, never followed); a missing path is fine. */
int ds_rmtree(const char *path, char *err, size_t err_len);
/* a + b + c, malloc'd; NULL when out of memory (ds_record.c). */
char *ds_cat3(const char *a, const char *b, const char *c);
/* Joins a and b with one '/'. malloc'd. */
char *ds_path_join(const char *a, const char *b);
/* Checks a relative path from untrusted data: non-empty, not absolute, no ".." component, no
 * backslash, no control characters. 0 ok, else DS_ERR_PATH with err naming field and value. */
int ds_check_rel_path(const char *rel, const char *field, char *err, size_t err_len);


/* ---- HTTP client ---------------------------------------------------------------------------- */
typedef struct {
    const char *token;      /* Bearer token sent to the original host only, or NULL */
    int max_retries;
    int64_t retry_base_ms;
    int64_t timeout_s;
    size_t max_bytes;
    const char *gated_repo; /* names the repo in the 401/403 message */
    int n_requests;         /* out: requests made (incremented) */
} ds_http_opts;

/* GET url into out (initialised by the caller with its maximum). Follows up to 10 redirects
 * manually, retries 429/5xx/transfer errors with backoff. Also reports a 64-hex ETag / X-Linked-Etag
 * (sha256 of LFS content) into etag_sha (may be NULL) and X-Linked-Size / Content-Length of the
 * final answer into expected_size (may be NULL; -1 unknown). file:// URLs read the file. */
int ds_http_get(const char *url, ds_http_opts *o, tb_buf *out, char etag_sha[65], int64_t *expected_size,
                char *err, size_t err_len);

/* Downloads url to dest through dest.part, resuming a partial .part with a Range request (also
 * between retries), checking the size and sha256 given by the caller (want_size >= 0, want_sha
 * non-NULL: e.g. from the tree listing) and otherwise those the server announces (X-Linked-Size,
 * Content-Length, a 64-hex ETag), then renames. sha_out (may be NULL) receives the file's sha256. */
int ds_http_download(const char *url, const char *dest, ds_http_opts *o, int64_t want_size, const char *want_sha,
                     char sha_out[65], char *err, size_t err_len);

/* Percent-encodes s for a URL; keep_slash keeps '/' literal. malloc'd. */
char *ds_url_encode(const char *s, int keep_slash);

/* ---- the dataset viewer's rows API (Video-MME), page by page (ds_fetch.c) ---------------------- */
struct cJSON;
typedef struct {
    int64_t total;         /* num_rows_total of the first page; -1 before it */
    struct cJSON **slots;  /* [total] the row objects by row_idx (borrowed from pages) */
    struct cJSON *pages;   /* owns every parsed page */
} ds_rows;
int ds_rows_init(ds_rows *r);
void ds_rows_free(ds_rows *r);
/* Validates one page body (untrusted: envelope, 'error', 'partial', features, row_idx range and
 * uniqueness, truncated cells) and takes its rows; *got = rows taken. Messages name url. */
int ds_rows_page_take(ds_rows *r, const char *url, const char *body, size_t len, int *got, char *err,
                      size_t err_len);
/* The rows in row_idx order as a JSON array text (malloc'd); a missing row is an error. */
int ds_rows_assemble(const ds_rows *r, char **json, size_t *len, char *err, size_t err_len);

/* ---- between ds_samples.c and ds_fetch.c ------------------------------------------------------ */
/* The remote files of a benchmark (repo paths) and their task stems (NULL for lvb); returns the
 * count (0 for videomme, which is paged through the rows API). Pointers are static. */
size_t ds_remote_files(ds_bench b, const char **paths, const char **tasks, size_t max);
/* Reads <cache>/<bench>/<rev>/manifest.json, checks every listed file's size (and sha256 when
 * verify_sha) and returns malloc'd absolute paths, task stems and, when shas is not NULL, the
 * manifest's sha256 of each (caller frees each and the arrays). DS_ERR_NOT_CACHED when the entry
 * is missing or incomplete. */
int ds_cache_files(ds_bench bench, const char *cache_dir, const char *rev, char ***paths, char ***tasks,
                   char ***shas, size_t *n, int verify_sha, char *err, size_t err_len);

/* ---- sample set internals ------------------------------------------------------------------- */
struct ds_sample_set {
    ds_sample *items;
    size_t n, cap;
    char content_sha256[65]; /* ds_sample_set_content_sha256; "" until a file is loaded */
};

#endif
