/* ds_http.c - the HTTP(S)/file client behind tango-bench fetch (libcurl).
 *
 * One transfer = a chain of requests: redirects are followed by hand (at most 10 hops, http/https
 * only) so that the Bearer token goes to the original scheme+host+port and nowhere else. Each
 * transfer is retried with exponential backoff on 429, 5xx and transport errors (connection,
 * timeout, truncated body); 401/403 fail at once with a message about the dataset's terms and
 * HF_TOKEN. Bodies go into a tb_buf with a maximum, or into DEST.part which a later attempt resumes
 * with a Range request; a finished file is checked against the announced size and, for LFS files,
 * the sha256 ETag, then renamed into place. Retry-After is not honoured (the backoff is). */
#include "common/redact.h"
#include "common/sha256.h"
#include "datasets/ds_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define DS_MAX_REDIRECTS 10
#define DS_ERRBODY_MAX 2048

/* ============================================================================================
 * URL helpers
 */
char *ds_url_encode(const char *s, int keep_slash) {
    static const char hx[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *r = malloc(3 * n + 1);
    if (!r) return NULL;
    size_t k = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (isalnum(*c) || *c == '-' || *c == '_' || *c == '.' || *c == '~' || (keep_slash && *c == '/')) {
            r[k++] = (char)*c;
        } else {
            r[k++] = '%';
            r[k++] = hx[*c >> 4];
            r[k++] = hx[*c & 15];
        }
    }
    r[k] = '\0';
    return r;
}

/* "scheme://host:port" of url into out; returns 0 or -1. */
static int url_origin(const char *url, char *out, size_t out_len) {
    CURLU *u = curl_url();
    if (!u) return -1;
    int rc = -1;
    char *scheme = NULL, *host = NULL, *port = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        for (char *c = host; *c; c++) *c = (char)tolower((unsigned char)*c);
        snprintf(out, out_len, "%s://%s:%s", scheme, host, port);
        rc = 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static int is_file_url(const char *url) { return strncmp(url, "file:", 5) == 0; }

static void sleep_ms(int64_t ms) {
    if (ms <= 0) return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int is_hex64(const char *s) {
    if (strlen(s) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i])) return 0;
    return 1;
}

/* ============================================================================================
 * One request
 */
typedef struct {
    CURL *h;
    tb_buf *buf;        /* memory sink, or NULL */
    FILE *file;         /* file sink, or NULL */
    int64_t resume_from;/* file sink: bytes already in the file when the request started */
    int restart_file;   /* set when a ranged request got a full 200: the file was truncated */
    int first_write;
    int toobig;
    int sink_error;
    size_t max_bytes;
    int64_t written;    /* body bytes accepted from this request */
    tb_buf errbody;     /* body of a non-2xx answer (truncated) */
    /* headers of this response */
    char etag[80];
    char linked_etag[80];
    int64_t linked_size;
    int64_t content_length;
    int64_t range_start, range_total;
} req_state;

static long resp_code(CURL *h) {
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud) {
    req_state *r = ud;
    size_t n = sz * nm;
    long code = resp_code(r->h);
    if (code != 0 && (code < 200 || code > 299)) {
        if (r->errbody.len < DS_ERRBODY_MAX) tb_buf_append(&r->errbody, p, n < DS_ERRBODY_MAX ? n : DS_ERRBODY_MAX);
        return n;
    }
    if (r->first_write) {
        r->first_write = 0;
        if (r->file && r->resume_from > 0) {
            int ranged_ok = code == 206 && r->range_start == r->resume_from;
            if (!ranged_ok) {
                /* the server sent the whole file (or another range): start over */
                if (fflush(r->file) != 0 || ftruncate(fileno(r->file), 0) != 0 || fseek(r->file, 0, SEEK_SET) != 0) {
                    r->sink_error = 1;
                    return 0;
                }
                r->resume_from = 0;
                r->restart_file = 1;
            }
        }
    }
    if ((uint64_t)r->resume_from + (uint64_t)r->written + n > r->max_bytes) {
        r->toobig = 1;
        return 0;
    }
    if (r->buf) {
        int st = tb_buf_append(r->buf, p, n);
        if (st != TB_BUF_OK) {
            if (st == TB_BUF_TOOBIG) r->toobig = 1;
            else r->sink_error = 1;
            return 0;
        }
    } else if (r->file) {
        if (fwrite(p, 1, n, r->file) != n) {
            r->sink_error = 1;
            return 0;
        }
    }
    r->written += (int64_t)n;
    return n;
}

static void header_value(const char *line, size_t n, char *out, size_t out_len) {
    const char *c = memchr(line, ':', n);
    if (!c) {
        out[0] = '\0';
        return;
    }
    c++;
    const char *e = line + n;
    while (c < e && (*c == ' ' || *c == '\t')) c++;
    while (e > c && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) e--;
    if (e - c >= 2 && c[0] == 'W' && c[1] == '/') c += 2;
    if (e - c >= 2 && *c == '"' && e[-1] == '"') {
        c++;
        e--;
    }
    size_t k = (size_t)(e - c);
    if (k >= out_len) k = out_len - 1;
    memcpy(out, c, k);
    out[k] = '\0';
}

static int hdr_is(const char *line, size_t n, const char *name) {
    size_t k = strlen(name);
    return n > k && line[k] == ':' && strncasecmp(line, name, k) == 0;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud) {
    req_state *r = ud;
    size_t n = sz * nm;
    char v[128];
    if (n > 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (e.g. after 100-continue) */
        r->etag[0] = r->linked_etag[0] = '\0';
        r->linked_size = r->content_length = r->range_start = r->range_total = -1;
    } else if (hdr_is(p, n, "etag")) {
        header_value(p, n, r->etag, sizeof r->etag);
    } else if (hdr_is(p, n, "x-linked-etag")) {
        header_value(p, n, r->linked_etag, sizeof r->linked_etag);
    } else if (hdr_is(p, n, "x-linked-size")) {
        header_value(p, n, v, sizeof v);
        r->linked_size = strtoll(v, NULL, 10);
    } else if (hdr_is(p, n, "content-length")) {
        header_value(p, n, v, sizeof v);
        r->content_length = strtoll(v, NULL, 10);
    } else if (hdr_is(p, n, "content-range")) {
        header_value(p, n, v, sizeof v);
        long long a, b, t;
        if (sscanf(v, "bytes %lld-%lld/%lld", &a, &b, &t) == 3) {
            r->range_start = a;
            r->range_total = t;
        }
    }
    return n;
}

typedef enum { XV_OK, XV_RETRY, XV_FAIL } req_verdict;

/* Runs one transfer (with manual redirects) of url into the sink of r. Returns the verdict;
 * on XV_FAIL/XV_RETRY err holds the reason and *status the ds status. */
static req_verdict transfer(const char *url, ds_http_opts *o, req_state *r, char *etag_sha, int64_t *exp_size,
                            int *status, char *err, size_t err_len) {
    char origin[512] = "", cur_origin[512];
    char *cur = ds_strdup(url);
    if (!cur) {
        *status = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
        return XV_FAIL;
    }
    int have_origin = url_origin(url, origin, sizeof origin) == 0;
    int64_t linked_size = -1;
    char linked_etag[80] = "";
    req_verdict verdict = XV_FAIL;
    for (int hop = 0;; hop++) {
        CURL *h = curl_easy_init();
        if (!h) {
            *status = ds_fail(err, err_len, DS_ERR_NOMEM, "curl_easy_init failed");
            break;
        }
        char ebuf[CURL_ERROR_SIZE] = "";
        struct curl_slist *hdrs = NULL;
        r->h = h;
        r->first_write = 1;
        r->written = 0;
        r->etag[0] = r->linked_etag[0] = '\0';
        r->linked_size = r->content_length = r->range_start = r->range_total = -1;
        r->errbody.len = 0;
        int same_host = have_origin && url_origin(cur, cur_origin, sizeof cur_origin) == 0 && !strcmp(origin, cur_origin);
        if (o->token && *o->token && same_host && !is_file_url(cur)) {
            size_t hl = strlen(o->token) + 32;
            char *hv = malloc(hl);
            if (hv) {
                snprintf(hv, hl, "Authorization: Bearer %s", o->token);
                hdrs = curl_slist_append(hdrs, hv);
                memset(hv, 0, hl);
                free(hv);
            }
        }
        curl_easy_setopt(h, CURLOPT_URL, cur);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "tango-bench/" TB_VERSION);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)(o->timeout_s < 30 ? o->timeout_s : 30));
        curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)o->timeout_s);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(o->timeout_s < 60 ? o->timeout_s : 60));
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
        if (hdrs) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        /* CURLOPT_RANGE, not RESUME_FROM: curl then leaves a full 200 to on_body, which starts the
         * file over; with RESUME_FROM a server that ignores Range failed the transfer with a range
         * error before that, and the .part stayed stuck forever. */
        char range[48];
        if (r->file && r->resume_from > 0) {
            snprintf(range, sizeof range, "%lld-", (long long)r->resume_from);
            curl_easy_setopt(h, CURLOPT_RANGE, range);
        }
        o->n_requests++;
        CURLcode cc = curl_easy_perform(h);
        long code = resp_code(h);
        char *loc = NULL;
        if (cc == CURLE_OK && code >= 300 && code < 400) {
            char *rl = NULL;
            curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &rl);
            if (rl) loc = ds_strdup(rl);
        }
        if (r->linked_etag[0]) snprintf(linked_etag, sizeof linked_etag, "%s", r->linked_etag);
        if (r->linked_size >= 0) linked_size = r->linked_size;
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        r->h = NULL;

        if (r->toobig) {
            *status = ds_fail(err, err_len, DS_ERR_TOOBIG, "%s: body larger than the maximum of %zu bytes", url,
                              r->max_bytes);
            free(loc);
            break;
        }
        if (r->sink_error) {
            *status = ds_fail(err, err_len, DS_ERR_IO, "%s: cannot store the body", url);
            free(loc);
            break;
        }
        if (cc != CURLE_OK) {
            free(loc);
            int retry = cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_PARTIAL_FILE ||
                        cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING ||
                        cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_HTTP2 ||
                        cc == CURLE_HTTP2_STREAM;
            if (is_file_url(cur) && (cc == CURLE_FILE_COULDNT_READ_FILE || cc == CURLE_READ_ERROR)) {
                *status = ds_fail(err, err_len, DS_ERR_HTTP, "%s: not found (%s)", cur, ebuf[0] ? ebuf : curl_easy_strerror(cc));
                break;
            }
            *status = ds_fail(err, err_len, DS_ERR_NET, "%s: %s", cur, ebuf[0] ? ebuf : curl_easy_strerror(cc));
            verdict = retry ? XV_RETRY : XV_FAIL;
            break;
        }
        if (code >= 300 && code < 400) {
            if (!loc) {
                *status = ds_fail(err, err_len, DS_ERR_HTTP, "%s: HTTP %ld redirect without Location", cur, code);
                break;
            }
            if (hop >= DS_MAX_REDIRECTS || is_file_url(loc) ||
                (strncmp(loc, "http://", 7) != 0 && strncmp(loc, "https://", 8) != 0)) {
                *status = ds_fail(err, err_len, DS_ERR_HTTP, "%s: too many or unsafe redirects", url);
                free(loc);
                break;
            }
            free(cur);
            cur = loc;
            continue;
        }
        free(loc);
        if (code == 0 || (code >= 200 && code < 300)) {
            if (etag_sha) {
                etag_sha[0] = '\0';
                if (is_hex64(linked_etag)) memcpy(etag_sha, linked_etag, 65);
                else if (is_hex64(r->etag)) memcpy(etag_sha, r->etag, 65);
                for (char *c = etag_sha; *c; c++) *c = (char)tolower((unsigned char)*c);
            }
            if (exp_size) {
                *exp_size = -1;
                if (linked_size >= 0) *exp_size = linked_size;
                else if (code == 206 && r->range_total >= 0) *exp_size = r->range_total;
                else if (code == 200 && r->content_length >= 0) *exp_size = r->content_length;
            }
            *status = DS_OK;
            verdict = XV_OK;
            break;
        }
        /* error status: keep a short, printable excerpt of the body */
        char excerpt[200] = "";
        if (r->errbody.data) {
            size_t k = 0;
            for (size_t i = 0; i < r->errbody.len && k + 1 < sizeof excerpt; i++) {
                unsigned char c = (unsigned char)r->errbody.data[i];
                excerpt[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
            }
            excerpt[k] = '\0';
            tb_redact(excerpt, o->token); /* an error page may echo the Authorization header */
        }
        if (code == 401 || code == 403) {
            const char *repo = o->gated_repo ? o->gated_repo : "this dataset";
            *status = ds_fail(err, err_len, DS_ERR_AUTH,
                              "HTTP %ld from %s: %s is gated or private: accept the dataset's terms at "
                              "https://huggingface.co/datasets/%s (logged in) and set HF_TOKEN to a token of that account",
                              code, cur, repo, repo);
            break;
        }
        *status = ds_fail(err, err_len, DS_ERR_HTTP, "HTTP %ld from %s%s%s", code, cur, excerpt[0] ? ": " : "", excerpt);
        verdict = (code == 429 || code >= 500) ? XV_RETRY : XV_FAIL;
        break;
    }
    free(cur);
    return verdict;
}

static int64_t backoff_ms(const ds_http_opts *o, int attempt) {
    int64_t ms = o->retry_base_ms;
    for (int i = 0; i < attempt && ms < 30000; i++) ms *= 2;
    return ms > 30000 ? 30000 : ms;
}

/* ============================================================================================
 * Public (module-internal) entry points
 */
int ds_http_get(const char *url, ds_http_opts *o, tb_buf *out, char etag_sha[65], int64_t *expected_size, char *err,
                size_t err_len) {
    req_state r;
    memset(&r, 0, sizeof r);
    tb_buf_init(&r.errbody, DS_ERRBODY_MAX + 256);
    r.buf = out;
    r.max_bytes = out->max;
    int status = DS_ERR_NET;
    for (int attempt = 0;; attempt++) {
        out->len = 0;
        if (out->data) out->data[0] = '\0';
        r.toobig = r.sink_error = 0;
        req_verdict v = transfer(url, o, &r, etag_sha, expected_size, &status, err, err_len);
        if (v == XV_OK) {
            if (expected_size && *expected_size >= 0 && (int64_t)out->len != *expected_size) {
                status = ds_fail(err, err_len, DS_ERR_CHECKSUM, "%s: got %zu bytes, expected %lld", url, out->len,
                                 (long long)*expected_size);
                v = XV_RETRY;
            } else if (etag_sha && etag_sha[0]) {
                char got[65];
                tb_sha256_hex(out->data ? out->data : "", out->len, got);
                if (strcmp(got, etag_sha) != 0) {
                    status = ds_fail(err, err_len, DS_ERR_CHECKSUM, "%s: sha256 %s does not match the ETag %s", url, got,
                                     etag_sha);
                    v = XV_RETRY;
                }
            }
        }
        if (v != XV_RETRY || attempt >= o->max_retries) break;
        sleep_ms(backoff_ms(o, attempt));
    }
    if (status == DS_OK && !out->data) tb_buf_append(out, "", 0);
    tb_buf_free(&r.errbody);
    return status;
}

int ds_http_download(const char *url, const char *dest, ds_http_opts *o, int64_t want_size, const char *want_sha,
                     char sha_out[65], char *err, size_t err_len) {
    size_t pl = strlen(dest) + 8;
    char *part = malloc(pl);
    if (!part) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    snprintf(part, pl, "%s.part", dest);
    req_state r;
    memset(&r, 0, sizeof r);
    tb_buf_init(&r.errbody, DS_ERRBODY_MAX + 256);
    r.max_bytes = o->max_bytes;
    int status = DS_ERR_NET;
    char etag[65] = "";
    int64_t exp = -1;
    for (int attempt = 0;; attempt++) {
        FILE *f = fopen(part, "ab");
        if (!f) {
            status = ds_fail(err, err_len, DS_ERR_IO, "cannot open %s: %s", part, strerror(errno));
            break;
        }
        struct stat stt;
        r.resume_from = (fstat(fileno(f), &stt) == 0) ? (int64_t)stt.st_size : 0;
        if (is_file_url(url) && r.resume_from > 0) { /* no ranges on file:// : start over */
            if (ftruncate(fileno(f), 0) != 0) r.sink_error = 1;
            r.resume_from = 0;
        }
        r.file = f;
        r.toobig = r.sink_error = 0;
        req_verdict v = transfer(url, o, &r, etag, &exp, &status, err, err_len);
        if (want_size >= 0) exp = want_size;
        if (want_sha && *want_sha) snprintf(etag, sizeof etag, "%s", want_sha);
        int closed_ok = fclose(f) == 0;
        r.file = NULL;
        if (v == XV_OK && !closed_ok) {
            status = ds_fail(err, err_len, DS_ERR_IO, "cannot write %s", part);
            v = XV_FAIL;
        }
        if (v == XV_OK) {
            char got[65];
            int64_t size = 0;
            if (tb_sha256_file(part, got, &size, err, err_len)) {
                status = DS_ERR_IO;
                break;
            }
            if (exp >= 0 && size != exp) {
                status = ds_fail(err, err_len, DS_ERR_CHECKSUM, "%s: file has %lld bytes, expected %lld", url,
                                 (long long)size, (long long)exp);
                if (size > exp) unlink(part);
                v = XV_RETRY;
            } else if (etag[0] && strcmp(got, etag) != 0) {
                status = ds_fail(err, err_len, DS_ERR_CHECKSUM, "%s: sha256 %s, expected %s", url, got, etag);
                unlink(part);
                v = XV_RETRY;
            } else {
                if (rename(part, dest) != 0) {
                    status = ds_fail(err, err_len, DS_ERR_IO, "cannot rename %s to %s: %s", part, dest, strerror(errno));
                    break;
                }
                if (sha_out) memcpy(sha_out, got, 65);
                status = DS_OK;
                break;
            }
        }
        if (v == XV_FAIL) {
            if (status != DS_ERR_NET) unlink(part);
            break;
        }
        if (attempt >= o->max_retries) break;
        sleep_ms(backoff_ms(o, attempt));
    }
    tb_buf_free(&r.errbody);
    free(part);
    return status;
}
