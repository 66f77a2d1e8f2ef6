/* tokenizer.c - Qwen2 byte-level BPE tokenizer: loading HF tokenizer files, encoding, decoding,
 * and the qwen_1_5 chat prompt with LLaVA's "<image>" split (spec llava-ov-engine.md §5-§6).
 *
 * Representation. Every id has a byte string in one pool: vocabulary tokens are stored as the
 * raw bytes they stand for (the GPT-2 byte-to-unicode mapping is undone at load time), so BPE
 * runs directly on the UTF-8 bytes of a pre-token and decoding is a concatenation. Vocabulary
 * strings that are not byte-level (characters outside the 256 mapped ones) are kept as their
 * UTF-8 text: decodable and findable by tok_token_id, never produced by BPE.
 *
 * Hash tables (open addressing, power-of-two sizes): token bytes -> id for the byte-level
 * vocabulary, and (left id, right id) -> (rank, merged id) for the merges.
 *
 * BPE follows HF tokenizers' BPE::merge_word: a min-heap of candidate merges ordered by
 * (rank, position); the lowest-rank, leftmost pair merges first; stale heap entries are
 * recognised by re-checking the pair. O(n log n) per pre-token, no allocation per word.
 *
 * Differences from HF that we know of, all documented and none silent:
 * - PCRE2 replaces Rust's regex crate. `\s` is rewritten to include U+0085 so that it matches the
 *   Unicode White_Space set as Rust's `\s` does (PCRE2's UCP `\s` lacks NEL); `\S` inside a
 *   character class is left as PCRE2's. Unicode tables are PCRE2's (its Unicode version).
 * - NFC is done here (tokenizer_nfc.c) with tables generated from Python's unicodedata (Unicode
 *   14.0). HF tokenizers uses the unicode-normalization-alignments crate, whose tables are
 *   older: combining marks assigned after its Unicode version (e.g. U+1DF8) have ccc 0 there and
 *   can be ordered differently. Seen once in 21,000 random strings, never in ordinary text.
 * - Added tokens are matched on the raw text. HF matches "normalized": true tokens on the NFC
 *   text; the two differ only for an added token whose content NFC changes, and such a
 *   tokenizer.json is refused at load time.
 * - Input must be valid UTF-8 (Python/Rust strings always are); invalid input is refused with
 *   the byte offset, never repaired.
 */
#include "engine/tokenizer.h"
#include "engine/tokenizer_nfc.h"

#include "common/check.h"
#include "common/file.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------------------------------------
 * Constants and the handle
 * ------------------------------------------------------------------------------------------- */

#define TOK_MAX_FILE ((size_t)1 << 30) /* 1 GiB: far above any real tokenizer file */
#define TOK_MAX_IDS (1 << 24)          /* ids above this are refused (bounds the per-id arrays) */

/* The Qwen2 pre-tokenizer pattern (tokenization_qwen2.py / tokenizer.json). */
static const char QWEN2_PATTERN[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/* GPT-2's pattern, used by a ByteLevel pre-tokenizer with use_regex = true. */
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

enum { KIND_NONE = 0, KIND_BPE, KIND_RAW, KIND_ADDED, KIND_SPECIAL };

typedef struct {
    int32_t a, b;   /* pair of ids; a == -1: empty slot */
    int32_t rank;   /* merge priority (0 = first) */
    int32_t id;     /* id of the merged token */
} merge_slot;

typedef struct {
    int32_t id;
    uint32_t len;
} added_ref;

struct tok_tokenizer {
    int32_t n_ids;         /* max id + 1 */
    uint32_t *off, *len;   /* [n_ids] byte string of each id in pool */
    uint8_t *kind;         /* [n_ids] KIND_* */
    char *pool;
    size_t pool_len, pool_cap;
    int32_t *vhash;        /* [vmask + 1] byte-level vocabulary ids, -1 = empty */
    size_t vmask;
    merge_slot *mhash;     /* [mmask + 1] */
    size_t mmask;
    int32_t byte_id[256];  /* id of each single-byte token, -1 when absent */
    added_ref *added;      /* added tokens, longest first */
    size_t n_added;
    uint8_t added_first[256]; /* 1 when some added token starts with this byte */
    pcre2_code *re;        /* pre-tokenizer; NULL = the whole segment is one pre-token */
    int nfc;               /* apply NFC to non-added segments */
    int ignore_merges;     /* HF BPE ignore_merges: a pre-token in the vocabulary is kept whole */
    int32_t unk_id;        /* for bytes without a token; -1 = refuse such input */
    int32_t id_im_start, id_im_end, id_eot;
};

/* ---------------------------------------------------------------------------------------------
 * Small helpers: errors, files, growable lists
 * ------------------------------------------------------------------------------------------- */

static int seterr(char *err, size_t err_len, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int seterr(char *err, size_t err_len, int status, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return status;
}

const char *tok_status_str(int status) {
    switch (status) {
    case TOK_OK: return "ok";
    case TOK_ERR_IO: return "cannot read tokenizer file";
    case TOK_ERR_FORMAT: return "malformed or unsupported tokenizer file";
    case TOK_ERR_NOMEM: return "out of memory";
    case TOK_ERR_INPUT: return "bad input text or id";
    }
    return "unknown status";
}

/* Reads a whole file into a NUL-terminated buffer (caller frees). */
static int read_file(const char *path, char **buf, size_t *len, char *err, size_t err_len) {
    *buf = NULL;
    *len = 0;
    FILE *f = tb_fopen_read(path, TB_OPEN_REGULAR, err, err_len); /* a FIFO would block fopen */
    if (!f) return TOK_ERR_IO;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        fclose(f);
        return seterr(err, err_len, TOK_ERR_IO, "%s: cannot stat", path);
    }
    if ((uint64_t)sb.st_size > TOK_MAX_FILE) {
        fclose(f);
        return seterr(err, err_len, TOK_ERR_FORMAT, "%s: file too large (%lld bytes)", path,
                      (long long)sb.st_size);
    }
    size_t n = (size_t)sb.st_size;
    char *b = malloc(n + 1);
    if (!b) {
        fclose(f);
        return seterr(err, err_len, TOK_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(b, 1, n, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        free(b);
        return seterr(err, err_len, TOK_ERR_IO, "%s: read error", path);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return TOK_OK;
}

static int file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Ensures room for extra more ids. */
static int ids_reserve(tok_ids *o, size_t extra) {
    if (o->n + extra <= o->cap) return 0;
    size_t cap = o->cap ? o->cap : 64;
    while (cap < o->n + extra) {
        if (cap > SIZE_MAX / 2 / sizeof(int32_t)) return -1;
        cap *= 2;
    }
    int32_t *v = realloc(o->v, cap * sizeof *v);
    if (!v) return -1;
    o->v = v;
    o->cap = cap;
    return 0;
}

static int ids_push(tok_ids *o, int32_t id) {
    if (ids_reserve(o, 1)) return -1;
    o->v[o->n++] = id;
    return 0;
}

void tok_ids_free(tok_ids *ids) {
    if (!ids) return;
    free(ids->v);
    ids->v = NULL;
    ids->n = ids->cap = 0;
}

/* A growable byte buffer (scratch for NFC output, decode output, merge strings). */
typedef struct {
    char *p;
    size_t n, cap;
} bbuf;

static int bbuf_put(bbuf *b, const void *src, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) {
            if (cap > SIZE_MAX / 2) return -1;
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * UTF-8 and the GPT-2 byte-to-unicode mapping
 * ------------------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n-1] (1..4), or 0 when it is invalid (overlong,
 * surrogate, above U+10FFFF, truncated). *valid_prefix gets how many leading bytes formed a
 * valid prefix (at least 1), which is what one U+FFFD replaces in lossy decoding. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp, size_t *valid_prefix) {
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    uint32_t v;
    if (valid_prefix) *valid_prefix = 1;
    if (c < 0x80) {
        if (cp) *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n) return 0;
        unsigned char d = s[i];
        if (d < lo || d > hi) return 0;
        lo = 0x80;
        hi = 0xBF;
        v = (v << 6) | (d & 0x3F);
        if (valid_prefix) *valid_prefix = i + 1;
    }
    if (cp) *cp = v;
    return need + 1;
}

/* Offset of the first invalid UTF-8 byte in s, or n when s is valid. */
static size_t utf8_check(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(u + i, n - i, NULL, NULL);
        if (!k) return i;
        i += k;
    }
    return n;
}

/* GPT-2 bytes_to_unicode: the printable bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF map to the
 * code point of the same value; the other 68 bytes map, in byte order, to U+0100, U+0101, ...
 * cp_to_byte is the inverse over U+0000..U+0143 (-1 = not a mapped character). */
#define BYTE_CP_LIMIT 0x144
static int16_t g_cp_to_byte[BYTE_CP_LIMIT];
static uint16_t g_byte_to_cp[256];

static int printable_byte(int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

/* Fills the tables; idempotent and race-free in effect (every caller writes the same values),
 * but called from tok_load only. */
static void byte_map_init(void) {
    int n = 0;
    for (int i = 0; i < BYTE_CP_LIMIT; i++) g_cp_to_byte[i] = -1;
    for (int b = 0; b < 256; b++) {
        int cp = printable_byte(b) ? b : 256 + n++;
        g_byte_to_cp[b] = (uint16_t)cp;
        g_cp_to_byte[cp] = (int16_t)b;
    }
}

/* Converts a byte-level token string (UTF-8 of mapped characters) to the bytes it stands for.
 * Returns 1 and appends to out when every character is mapped, 0 when some is not, -2 when s is
 * not valid UTF-8, -1 when out of memory (out keeps its old length unless 1 is returned). */
static int unmap_token(const char *s, size_t n, bbuf *out) {
    size_t start = out->n;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = utf8_seq(u + i, n - i, &cp, NULL);
        if (!k) {
            out->n = start;
            return -2;
        }
        if (cp >= BYTE_CP_LIMIT || g_cp_to_byte[cp] < 0) {
            out->n = start;
            return 0;
        }
        unsigned char b = (unsigned char)g_cp_to_byte[cp];
        if (bbuf_put(out, &b, 1)) {
            out->n = start;
            return -1;
        }
        i += k;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Hash tables
 * ------------------------------------------------------------------------------------------- */

static uint64_t hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static uint64_t hash_pair(int32_t a, int32_t b) {
    uint64_t x = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    x ^= x >> 33; /* murmur3 finaliser */
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb3f99e3b4f53ULL;
    x ^= x >> 33;
    return x;
}

static size_t pow2_at_least(size_t n) {
    size_t p = 16;
    while (p < n) p *= 2;
    return p;
}

/* Id of the byte-level vocabulary token with these bytes, or -1. */
static int32_t vocab_find(const tok_tokenizer *tk, const void *bytes, size_t n) {
    size_t i = (size_t)hash_bytes(bytes, n) & tk->vmask;
    for (;;) {
        int32_t id = tk->vhash[i];
        if (id < 0) return -1;
        if (tk->len[id] == n && memcmp(tk->pool + tk->off[id], bytes, n) == 0) return id;
        i = (i + 1) & tk->vmask;
    }
}

/* Inserts id (its bytes already in the pool); returns the id already holding these bytes, or
 * -1 when inserted. The table is sized at twice the vocabulary, so it never fills. */
static int32_t vocab_insert(tok_tokenizer *tk, int32_t id) {
    const char *bytes = tk->pool + tk->off[id];
    size_t n = tk->len[id];
    size_t i = (size_t)hash_bytes(bytes, n) & tk->vmask;
    for (;;) {
        int32_t cur = tk->vhash[i];
        if (cur < 0) {
            tk->vhash[i] = id;
            return -1;
        }
        if (tk->len[cur] == n && memcmp(tk->pool + tk->off[cur], bytes, n) == 0) return cur;
        i = (i + 1) & tk->vmask;
    }
}

static const merge_slot *merge_find(const tok_tokenizer *tk, int32_t a, int32_t b) {
    size_t i = (size_t)hash_pair(a, b) & tk->mmask;
    for (;;) {
        const merge_slot *s = &tk->mhash[i];
        if (s->a < 0) return NULL;
        if (s->a == a && s->b == b) return s;
        i = (i + 1) & tk->mmask;
    }
}

/* Inserts or overwrites (HF keeps the last duplicate merge). */
static void merge_insert(tok_tokenizer *tk, int32_t a, int32_t b, int32_t rank, int32_t id) {
    size_t i = (size_t)hash_pair(a, b) & tk->mmask;
    for (;;) {
        merge_slot *s = &tk->mhash[i];
        if (s->a < 0 || (s->a == a && s->b == b)) {
            s->a = a;
            s->b = b;
            s->rank = rank;
            s->id = id;
            return;
        }
        i = (i + 1) & tk->mmask;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------------------- */

/* A parsed added token before it is placed in the handle. */
typedef struct {
    int32_t id;
    const char *content; /* borrowed from the cJSON tree */
    int special;
    int normalized;      /* HF "normalized": matched on the normalised text */
} added_src;

/* Parses JSON text; on error names the file, line and column. */
static cJSON *parse_json(const char *path, const char *buf, size_t len, char *err, size_t err_len) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (root) return root;
    size_t off = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : len;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (buf[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    /* truncation hint: the text ends inside a string or with brackets still open */
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    int truncated = off >= len || in_str || depth > 0;
    seterr(err, err_len, TOK_ERR_FORMAT, "%s: invalid JSON at line %zu column %zu%s", path, line,
           col, truncated ? " (truncated file?)" : "");
    return NULL;
}

/* Reads a JSON number that must be an id in [0, TOK_MAX_IDS). */
static int json_id(const cJSON *v, int32_t *id) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0 && d < TOK_MAX_IDS) || d != floor(d)) return -1;
    *id = (int32_t)d;
    return 0;
}

static int pool_add(tok_tokenizer *tk, int32_t id, const void *bytes, size_t n) {
    if (tk->pool_len + n > UINT32_MAX) return -1;
    /* an empty first token needs a pool too: NULL + 0 (vocab_insert) is undefined behaviour */
    if (!tk->pool || tk->pool_len + n > tk->pool_cap) {
        size_t cap = tk->pool_cap ? tk->pool_cap : 1 << 20;
        while (cap < tk->pool_len + n) cap *= 2;
        char *p = realloc(tk->pool, cap);
        if (!p) return -1;
        tk->pool = p;
        tk->pool_cap = cap;
    }
    if (n) memcpy(tk->pool + tk->pool_len, bytes, n);
    tk->off[id] = (uint32_t)tk->pool_len;
    tk->len[id] = (uint32_t)n;
    tk->pool_len += n;
    return 0;
}

/* Checks the vocabulary object and the added tokens, sizes the per-id arrays. */
static int alloc_ids(tok_tokenizer *tk, const char *vpath, const cJSON *vocab, const added_src *added,
                     size_t n_added, char *err, size_t err_len) {
    int32_t max_id = -1;
    size_t n_vocab = 0;
    for (const cJSON *it = vocab->child; it; it = it->next) {
        int32_t id;
        if (json_id(it, &id))
            return seterr(err, err_len, TOK_ERR_FORMAT,
                          "%s: vocabulary entry \"%.60s\" has a bad id (want an integer in [0, %d))",
                          vpath, it->string ? it->string : "", TOK_MAX_IDS);
        if (id > max_id) max_id = id;
        n_vocab++;
    }
    for (size_t i = 0; i < n_added; i++)
        if (added[i].id > max_id) max_id = added[i].id;
    if (max_id < 0) return seterr(err, err_len, TOK_ERR_FORMAT, "%s: the vocabulary is empty", vpath);
    tk->n_ids = max_id + 1;
    size_t n = (size_t)tk->n_ids;
    tk->off = calloc(n, sizeof *tk->off);
    tk->len = calloc(n, sizeof *tk->len);
    tk->kind = calloc(n, 1);
    tk->vmask = pow2_at_least(2 * n_vocab + 2) - 1;
    tk->vhash = malloc((tk->vmask + 1) * sizeof *tk->vhash);
    if (!tk->off || !tk->len || !tk->kind || !tk->vhash)
        return seterr(err, err_len, TOK_ERR_NOMEM, "%s: out of memory", vpath);
    memset(tk->vhash, 0xff, (tk->vmask + 1) * sizeof *tk->vhash);
    return TOK_OK;
}

/* Fills the vocabulary from a JSON object {token: id}. */
static int load_vocab(tok_tokenizer *tk, const char *vpath, const cJSON *vocab, char *err,
                      size_t err_len) {
    bbuf b = {0};
    int st = TOK_OK;
    for (const cJSON *it = vocab->child; it; it = it->next) {
        int32_t id = 0;
        (void)json_id(it, &id); /* checked in alloc_ids */
        const char *s = it->string ? it->string : "";
        size_t sn = strlen(s);
        if (tk->kind[id] != KIND_NONE) {
            st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: id %d is used by two tokens (\"%.60s\")",
                        vpath, id, s);
            goto out;
        }
        b.n = 0;
        int r = unmap_token(s, sn, &b);
        if (r == -1) goto nomem;
        if (r < 0) {
            st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: token for id %d is not valid UTF-8", vpath, id);
            goto out;
        }
        if (r == 1) {
            if (pool_add(tk, id, b.p, b.n)) goto nomem;
            tk->kind[id] = KIND_BPE;
            int32_t prev = vocab_insert(tk, id);
            if (prev >= 0) {
                st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: token \"%.60s\" appears twice (ids %d and %d)",
                            vpath, s, prev, id);
                goto out;
            }
            if (b.n == 1) tk->byte_id[(unsigned char)b.p[0]] = id;
        } else {
            if (pool_add(tk, id, s, sn)) goto nomem;
            tk->kind[id] = KIND_RAW;
        }
    }
    goto out;
nomem:
    st = seterr(err, err_len, TOK_ERR_NOMEM, "%s: out of memory", vpath);
out:
    free(b.p);
    return st;
}

/* Resolves one merge (left, right as byte-level strings) with the given rank. where names the
 * position for errors ("line 7", "entry 12"). */
static int add_merge(tok_tokenizer *tk, const char *mpath, const char *where, const char *l, size_t ln,
                     const char *r, size_t rn, int32_t rank, bbuf *b, char *err, size_t err_len) {
    b->n = 0;
    int ra = unmap_token(l, ln, b);
    size_t la = b->n;
    int rb = ra == 1 ? unmap_token(r, rn, b) : 0;
    if (ra == -1 || rb == -1) return seterr(err, err_len, TOK_ERR_NOMEM, "%s: out of memory", mpath);
    if (ra < 0 || rb < 0)
        return seterr(err, err_len, TOK_ERR_FORMAT, "%s: merge %s: not valid UTF-8", mpath, where);
    /* tokens are quoted (tb_quote): a binary merges.txt must not reach the terminal raw */
    char q1[256], q2[256];
    int32_t ia = ra == 1 ? vocab_find(tk, b->p, la) : -1;
    if (ia < 0)
        return seterr(err, err_len, TOK_ERR_FORMAT, "%s: merge %s references unknown token \"%s\"", mpath, where,
                      tb_quote(q1, 64, l, ln));
    int32_t ib = rb == 1 ? vocab_find(tk, b->p + la, b->n - la) : -1;
    if (ib < 0)
        return seterr(err, err_len, TOK_ERR_FORMAT, "%s: merge %s references unknown token \"%s\"", mpath, where,
                      tb_quote(q1, 64, r, rn));
    int32_t im = vocab_find(tk, b->p, b->n);
    if (im < 0)
        return seterr(err, err_len, TOK_ERR_FORMAT,
                      "%s: merge %s: the merged token \"%s%s\" is not in the vocabulary", mpath, where,
                      tb_quote(q1, 64, l, ln), tb_quote(q2, 64, r, rn));
    merge_insert(tk, ia, ib, rank, im);
    return TOK_OK;
}

static int alloc_merges(tok_tokenizer *tk, size_t n, const char *mpath, char *err, size_t err_len) {
    if (n >= (size_t)INT32_MAX)
        return seterr(err, err_len, TOK_ERR_FORMAT, "%s: too many merges", mpath);
    tk->mmask = pow2_at_least(2 * n + 2) - 1;
    tk->mhash = malloc((tk->mmask + 1) * sizeof *tk->mhash);
    if (!tk->mhash) return seterr(err, err_len, TOK_ERR_NOMEM, "%s: out of memory", mpath);
    for (size_t i = 0; i <= tk->mmask; i++) tk->mhash[i].a = -1;
    return TOK_OK;
}

/* merges.txt: an optional "#version" line, then one "left right" pair per line. */
static int load_merges_txt(tok_tokenizer *tk, const char *mpath, const char *buf, size_t len,
                           char *err, size_t err_len) {
    size_t n_lines = 0;
    for (size_t i = 0; i < len; i++) n_lines += buf[i] == '\n';
    int st = alloc_merges(tk, n_lines + 1, mpath, err, err_len);
    if (st) return st;
    bbuf b = {0};
    int32_t rank = 0;
    size_t line_no = 0, p = 0;
    while (p < len) {
        const char *ls = buf + p;
        const char *nl = memchr(ls, '\n', len - p);
        size_t ll = nl ? (size_t)(nl - ls) : len - p;
        p += ll + (nl ? 1 : 0);
        line_no++;
        if (ll && ls[ll - 1] == '\r') ll--;
        if (ll >= 8 && !memcmp(ls, "#version", 8)) continue;
        const char *sp = memchr(ls, ' ', ll);
        char where[48];
        snprintf(where, sizeof where, "line %zu", line_no);
        if (!sp || sp == ls || sp == ls + ll - 1 || memchr(sp + 1, ' ', ll - (size_t)(sp + 1 - ls))) {
            free(b.p);
            char q[256];
            return seterr(err, err_len, TOK_ERR_FORMAT, "%s: %s: expected \"left right\", got \"%s\"%s", mpath,
                          where, tb_quote(q, 64, ls, ll), nl ? "" : " (truncated file?)");
        }
        st = add_merge(tk, mpath, where, ls, (size_t)(sp - ls), sp + 1, ll - (size_t)(sp + 1 - ls), rank++,
                       &b, err, err_len);
        if (st) {
            free(b.p);
            return st;
        }
    }
    free(b.p);
    return TOK_OK;
}

/* tokenizer.json model.merges: ["a b", ...] or [["a", "b"], ...]. */
static int load_merges_json(tok_tokenizer *tk, const char *path, const cJSON *merges, char *err,
                            size_t err_len) {
    int st = alloc_merges(tk, (size_t)cJSON_GetArraySize(merges), path, err, err_len);
    if (st) return st;
    bbuf b = {0};
    int32_t rank = 0;
    for (const cJSON *m = merges->child; m; m = m->next, rank++) {
        char where[64];
        snprintf(where, sizeof where, "model.merges[%d]", rank);
        const char *l = NULL, *r = NULL;
        size_t ln = 0, rn = 0;
        if (cJSON_IsString(m)) {
            const char *s = m->valuestring;
            const char *sp = strchr(s, ' ');
            if (sp && sp != s && sp[1] && !strchr(sp + 1, ' ')) {
                l = s;
                ln = (size_t)(sp - s);
                r = sp + 1;
                rn = strlen(r);
            }
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                   cJSON_IsString(m->child->next) && m->child->valuestring[0] &&
                   m->child->next->valuestring[0]) {
            l = m->child->valuestring;
            ln = strlen(l);
            r = m->child->next->valuestring;
            rn = strlen(r);
        }
        if (!l) {
            free(b.p);
            return seterr(err, err_len, TOK_ERR_FORMAT,
                          "%s: %s: expected \"left right\" or [\"left\", \"right\"]", path, where);
        }
        st = add_merge(tk, path, where, l, ln, r, rn, rank, &b, err, err_len);
        if (st) {
            free(b.p);
            return st;
        }
    }
    free(b.p);
    return TOK_OK;
}

static int cmp_added(const void *x, const void *y) {
    const added_ref *a = x, *b = y;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Places the added tokens: an id already holding a vocabulary token must hold the same text. */
static int place_added(tok_tokenizer *tk, const char *path, const added_src *src, size_t n, char *err,
                       size_t err_len) {
    tk->added = calloc(n ? n : 1, sizeof *tk->added);
    if (!tk->added) return seterr(err, err_len, TOK_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        int32_t id = src[i].id;
        const char *c = src[i].content;
        size_t cn = strlen(c);
        if (cn == 0 || utf8_check(c, cn) != cn)
            return seterr(err, err_len, TOK_ERR_FORMAT, "%s: added token %d: empty or not UTF-8", path, id);
        if (src[i].normalized && tk->nfc) {
            char *norm = NULL;
            size_t nn = 0;
            if (tok_nfc(c, cn, &norm, &nn)) return seterr(err, err_len, TOK_ERR_NOMEM, "%s: out of memory", path);
            free(norm);
            if (norm)
                return seterr(err, err_len, TOK_ERR_FORMAT,
                              "%s: added token %d is \"normalized\" and NFC changes it: not supported", path, id);
        }
        if (tk->kind[id] == KIND_ADDED || tk->kind[id] == KIND_SPECIAL)
            return seterr(err, err_len, TOK_ERR_FORMAT, "%s: added token id %d given twice", path, id);
        if (tk->kind[id] != KIND_NONE) {
            if (tk->len[id] != cn || memcmp(tk->pool + tk->off[id], c, cn))
                return seterr(err, err_len, TOK_ERR_FORMAT,
                              "%s: added token \"%.60s\" has id %d, which the vocabulary gives to another token",
                              path, c, id);
        } else if (pool_add(tk, id, c, cn)) {
            return seterr(err, err_len, TOK_ERR_NOMEM, "%s: out of memory", path);
        }
        for (size_t j = 0; j < tk->n_added; j++)
            if (tk->len[tk->added[j].id] == cn && !memcmp(tk->pool + tk->off[tk->added[j].id], c, cn))
                return seterr(err, err_len, TOK_ERR_FORMAT, "%s: added token \"%.60s\" given twice",
                              path, c);
        tk->kind[id] = src[i].special ? KIND_SPECIAL : KIND_ADDED;
        tk->added[tk->n_added].id = id;
        tk->added[tk->n_added].len = (uint32_t)cn;
        tk->n_added++;
        tk->added_first[(unsigned char)c[0]] = 1;
    }
    qsort(tk->added, tk->n_added, sizeof *tk->added, cmp_added);
    return TOK_OK;
}

/* Rewrites `\s` so that it also matches U+0085 (Rust's `\s` is Unicode White_Space, PCRE2's UCP
 * `\s` is not), and compiles with UTF + UCP. */
static int compile_pattern(tok_tokenizer *tk, const char *path, const char *pat, char *err,
                           size_t err_len) {
    bbuf b = {0};
    int in_class = 0, st = TOK_OK;
    size_t n = strlen(pat);
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        size_t take = 1;
        if (pat[i] == '\\' && i + 1 < n) {
            take = 2;
            if (pat[i + 1] == 's') rep = in_class ? "\\s\\x{85}" : "[\\s\\x{85}]";
            else if (pat[i + 1] == 'S' && !in_class) rep = "[^\\s\\x{85}]";
        } else if (pat[i] == '[' && !in_class) {
            in_class = 1;
        } else if (pat[i] == ']' && in_class) {
            in_class = 0;
        }
        if (rep ? bbuf_put(&b, rep, strlen(rep)) : bbuf_put(&b, pat + i, take)) {
            free(b.p);
            return seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
        }
        i += take - 1;
    }
    int ec = 0;
    PCRE2_SIZE eo = 0;
    tk->re = pcre2_compile((PCRE2_SPTR)b.p, b.n, PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
    if (!tk->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: pre-tokenizer regex does not compile: %s (at %zu)",
                    path, (const char *)msg, (size_t)eo);
    }
    free(b.p);
    return st;
}

static const char *json_type_of(const cJSON *o) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* Value of a boolean field: def when absent or null, -1 when not a boolean. */
static int json_bool(const cJSON *o, const char *key, int def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return def;
    if (!cJSON_IsBool(v)) return -1;
    return cJSON_IsTrue(v) ? 1 : 0;
}

/* 1 when the field is absent, null or "" (string options we do not implement). */
static int json_unset_str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return !v || cJSON_IsNull(v) || (cJSON_IsString(v) && v->valuestring[0] == '\0');
}

/* normalizer: null, NFC, or a Sequence of NFC. */
static int parse_normalizer(tok_tokenizer *tk, const char *path, const cJSON *nz, char *err, size_t err_len) {
    if (!nz || cJSON_IsNull(nz)) return TOK_OK;
    const char *t = json_type_of(nz);
    if (t && !strcmp(t, "NFC")) {
        tk->nfc = 1;
        return TOK_OK;
    }
    if (t && !strcmp(t, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(nz, "normalizers");
        if (!cJSON_IsArray(list)) return seterr(err, err_len, TOK_ERR_FORMAT, "%s: normalizer.normalizers missing", path);
        for (const cJSON *it = list->child; it; it = it->next) {
            int st = parse_normalizer(tk, path, it, err, err_len);
            if (st) return st;
        }
        return TOK_OK;
    }
    return seterr(err, err_len, TOK_ERR_FORMAT, "%s: normalizer type \"%s\" is not supported (only NFC)",
                  path, t ? t : "?");
}

/* pre_tokenizer: ByteLevel (use_regex: GPT-2 pattern), or a Sequence of an optional
 * Split(Regex, Isolated) and a final ByteLevel(use_regex false). add_prefix_space must be false. */
static int parse_pretokenizer(tok_tokenizer *tk, const char *path, const cJSON *pt, char *err,
                              size_t err_len) {
    if (!pt || cJSON_IsNull(pt))
        return seterr(err, err_len, TOK_ERR_FORMAT,
                      "%s: pre_tokenizer is missing; only byte-level BPE (a ByteLevel pre-tokenizer) is supported",
                      path);
    const cJSON *items[2] = {pt, NULL};
    int n_items = 1;
    const char *t = json_type_of(pt);
    if (t && !strcmp(t, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pt, "pretokenizers");
        int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
        if (n < 1 || n > 2)
            return seterr(err, err_len, TOK_ERR_FORMAT,
                          "%s: pre_tokenizer Sequence must be [Split, ByteLevel] or [ByteLevel]", path);
        items[0] = list->child;
        items[1] = n == 2 ? list->child->next : NULL;
        n_items = n;
    }
    const char *pattern = NULL;
    const cJSON *bl = items[n_items - 1];
    const char *blt = json_type_of(bl);
    if (!blt || strcmp(blt, "ByteLevel"))
        return seterr(err, err_len, TOK_ERR_FORMAT,
                      "%s: pre_tokenizer type \"%s\" is not supported (byte-level BPE needs ByteLevel last)",
                      path, blt ? blt : "?");
    if (json_bool(bl, "add_prefix_space", 0) != 0)
        return seterr(err, err_len, TOK_ERR_FORMAT, "%s: pre_tokenizer ByteLevel add_prefix_space=true is not supported", path);
    int use_regex = json_bool(bl, "use_regex", 1);
    if (use_regex < 0) return seterr(err, err_len, TOK_ERR_FORMAT, "%s: ByteLevel use_regex is not a boolean", path);
    if (n_items == 2) {
        const cJSON *sp = items[0];
        const char *st = json_type_of(sp);
        const cJSON *pobj = cJSON_GetObjectItemCaseSensitive(sp, "pattern");
        const cJSON *rx = cJSON_GetObjectItemCaseSensitive(pobj, "Regex");
        const cJSON *beh = cJSON_GetObjectItemCaseSensitive(sp, "behavior");
        if (!st || strcmp(st, "Split"))
            return seterr(err, err_len, TOK_ERR_FORMAT, "%s: pre_tokenizer type \"%s\" is not supported", path,
                          st ? st : "?");
        if (!cJSON_IsString(rx))
            return seterr(err, err_len, TOK_ERR_FORMAT, "%s: pre_tokenizer Split needs pattern.Regex", path);
        if (!cJSON_IsString(beh) || strcmp(beh->valuestring, "Isolated") || json_bool(sp, "invert", 0) != 0)
            return seterr(err, err_len, TOK_ERR_FORMAT,
                          "%s: pre_tokenizer Split must have behavior Isolated and invert false", path);
        if (use_regex)
            return seterr(err, err_len, TOK_ERR_FORMAT,
                          "%s: Split followed by ByteLevel use_regex=true is not supported", path);
        pattern = rx->valuestring;
    } else if (use_regex) {
        pattern = GPT2_PATTERN;
    }
    return pattern ? compile_pattern(tk, path, pattern, err, err_len) : TOK_OK;
}

/* Parses a tokenizer.json: model.vocab/merges, added_tokens, normalizer, pre_tokenizer; checks
 * that post_processor and decoder add nothing we do not do. */
static int load_tokenizer_json(tok_tokenizer *tk, const char *path, char *err, size_t err_len) {
    char *buf = NULL;
    size_t len = 0;
    added_src *added = NULL;
    cJSON *root = NULL;
    int st = read_file(path, &buf, &len, err, err_len);
    if (st) goto out;
    root = parse_json(path, buf, len, err, err_len);
    if (!root) {
        st = TOK_ERR_FORMAT;
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: top level is not a JSON object", path);
        goto out;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsObject(model)) {
        st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: missing object \"model\"", path);
        goto out;
    }
    const char *mt = json_type_of(model);
    if (mt && strcmp(mt, "BPE")) {
        st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: model.type \"%s\" is not supported (only BPE)", path, mt);
        goto out;
    }
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsObject(vocab)) {
        st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: missing object model.vocab", path);
        goto out;
    }
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsArray(merges)) {
        st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: missing array model.merges", path);
        goto out;
    }
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (dropout && !cJSON_IsNull(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0)) {
        st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: model.dropout is not supported", path);
        goto out;
    }
    if (!json_unset_str(model, "continuing_subword_prefix") || !json_unset_str(model, "end_of_word_suffix")) {
        st = seterr(err, err_len, TOK_ERR_FORMAT,
                    "%s: model.continuing_subword_prefix / end_of_word_suffix are not supported", path);
        goto out;
    }
    if (json_bool(model, "byte_fallback", 0) != 0) {
        st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: model.byte_fallback is not supported", path);
        goto out;
    }
    tk->ignore_merges = json_bool(model, "ignore_merges", 0);
    if (json_bool(model, "fuse_unk", 0) < 0 || tk->ignore_merges < 0) {
        st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: model.fuse_unk / ignore_merges must be booleans", path);
        goto out;
    }

    const cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    size_t n_added = 0;
    if (at && !cJSON_IsNull(at)) {
        if (!cJSON_IsArray(at)) {
            st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: added_tokens is not an array", path);
            goto out;
        }
        added = calloc((size_t)cJSON_GetArraySize(at) + 1, sizeof *added);
        if (!added) {
            st = seterr(err, err_len, TOK_ERR_NOMEM, "%s: out of memory", path);
            goto out;
        }
        for (const cJSON *a = at->child; a; a = a->next, n_added++) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "content");
            if (json_id(cJSON_GetObjectItemCaseSensitive(a, "id"), &added[n_added].id) || !cJSON_IsString(c)) {
                st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: added_tokens[%zu] needs an integer id and a content string",
                            path, n_added);
                goto out;
            }
            if (json_bool(a, "lstrip", 0) != 0 || json_bool(a, "rstrip", 0) != 0 || json_bool(a, "single_word", 0) != 0) {
                st = seterr(err, err_len, TOK_ERR_FORMAT,
                            "%s: added_tokens[%zu] (\"%.60s\"): lstrip/rstrip/single_word are not supported",
                            path, n_added, c->valuestring);
                goto out;
            }
            added[n_added].content = c->valuestring;
            added[n_added].special = json_bool(a, "special", 0) == 1;
            added[n_added].normalized = json_bool(a, "normalized", 0) == 1;
        }
    }

    st = parse_normalizer(tk, path, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), err, err_len);
    if (st) goto out;
    st = parse_pretokenizer(tk, path, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), err, err_len);
    if (st) goto out;
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
    const char *ppt = pp ? json_type_of(pp) : NULL;
    if (pp && !cJSON_IsNull(pp) && (!ppt || strcmp(ppt, "ByteLevel"))) {
        st = seterr(err, err_len, TOK_ERR_FORMAT,
                    "%s: post_processor type \"%s\" is not supported (it would add tokens)", path, ppt ? ppt : "?");
        goto out;
    }
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(root, "decoder");
    const char *dt = dec ? json_type_of(dec) : NULL;
    if (dec && !cJSON_IsNull(dec) && (!dt || strcmp(dt, "ByteLevel"))) {
        st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: decoder type \"%s\" is not supported (only ByteLevel)",
                    path, dt ? dt : "?");
        goto out;
    }

    st = alloc_ids(tk, path, vocab, added, n_added, err, err_len);
    if (!st) st = load_vocab(tk, path, vocab, err, err_len);
    if (!st) st = load_merges_json(tk, path, merges, err, err_len);
    if (!st) st = place_added(tk, path, added, n_added, err, err_len);
    if (!st) {
        const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
        if (cJSON_IsString(unk) && json_bool(model, "fuse_unk", 0) == 1) {
            st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: model.fuse_unk=true with an unk_token is not supported", path);
        } else if (cJSON_IsString(unk)) {
            tk->unk_id = tok_token_id(tk, unk->valuestring);
            if (tk->unk_id < 0)
                st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: model.unk_token \"%.60s\" is not in the vocabulary",
                            path, unk->valuestring);
        }
    }
out:
    cJSON_Delete(root);
    free(added);
    free(buf);
    return st;
}

/* vocab.json + merges.txt (+ added_tokens.json, all special) with Qwen2's NFC and regex. */
static int load_vocab_merges(tok_tokenizer *tk, const char *dir, char *err, size_t err_len) {
    char vpath[4096], mpath[4096], apath[4096];
    if ((size_t)snprintf(vpath, sizeof vpath, "%s/vocab.json", dir) >= sizeof vpath ||
        (size_t)snprintf(mpath, sizeof mpath, "%s/merges.txt", dir) >= sizeof mpath ||
        (size_t)snprintf(apath, sizeof apath, "%s/added_tokens.json", dir) >= sizeof apath)
        return seterr(err, err_len, TOK_ERR_IO, "%s: path too long", dir);
    if (!file_exists(vpath))
        return seterr(err, err_len, TOK_ERR_IO, "%s: no tokenizer.json and no vocab.json in this directory", dir);
    char *vbuf = NULL, *mbuf = NULL, *abuf = NULL;
    size_t vlen = 0, mlen = 0, alen = 0, n_added = 0;
    cJSON *vroot = NULL, *aroot = NULL;
    added_src *added = NULL;
    int st = read_file(vpath, &vbuf, &vlen, err, err_len);
    if (!st) st = read_file(mpath, &mbuf, &mlen, err, err_len);
    if (st) goto out;
    vroot = parse_json(vpath, vbuf, vlen, err, err_len);
    if (!vroot) {
        st = TOK_ERR_FORMAT;
        goto out;
    }
    if (!cJSON_IsObject(vroot)) {
        st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: expected a JSON object {token: id}", vpath);
        goto out;
    }
    if (file_exists(apath)) {
        st = read_file(apath, &abuf, &alen, err, err_len);
        if (st) goto out;
        aroot = parse_json(apath, abuf, alen, err, err_len);
        if (!aroot) {
            st = TOK_ERR_FORMAT;
            goto out;
        }
        if (!cJSON_IsObject(aroot)) {
            st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: expected a JSON object {token: id}", apath);
            goto out;
        }
        added = calloc((size_t)cJSON_GetArraySize(aroot) + 1, sizeof *added);
        if (!added) {
            st = seterr(err, err_len, TOK_ERR_NOMEM, "%s: out of memory", apath);
            goto out;
        }
        for (const cJSON *a = aroot->child; a; a = a->next, n_added++) {
            if (json_id(a, &added[n_added].id)) {
                st = seterr(err, err_len, TOK_ERR_FORMAT, "%s: \"%.60s\" has a bad id", apath, a->string ? a->string : "");
                goto out;
            }
            added[n_added].content = a->string ? a->string : "";
            added[n_added].special = 1;
        }
    }
    tk->nfc = 1;
    st = alloc_ids(tk, vpath, vroot, added, n_added, err, err_len);
    if (!st) st = load_vocab(tk, vpath, vroot, err, err_len);
    if (!st) st = load_merges_txt(tk, mpath, mbuf, mlen, err, err_len);
    if (!st) st = place_added(tk, apath, added, n_added, err, err_len);
    if (!st) st = compile_pattern(tk, "Qwen2 pattern", QWEN2_PATTERN, err, err_len);
out:
    cJSON_Delete(vroot);
    cJSON_Delete(aroot);
    free(added);
    free(vbuf);
    free(mbuf);
    free(abuf);
    return st;
}

tok_tokenizer *tok_load(const char *path, char *err, size_t err_len) {
    if (err && err_len) err[0] = '\0';
    if (!path) {
        seterr(err, err_len, TOK_ERR_IO, "tokenizer path is NULL");
        return NULL;
    }
    byte_map_init();
    tok_tokenizer *tk = calloc(1, sizeof *tk);
    if (!tk) {
        seterr(err, err_len, TOK_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    tk->unk_id = -1;
    for (int b = 0; b < 256; b++) tk->byte_id[b] = -1;
    struct stat sb;
    int st;
    if (stat(path, &sb) != 0) {
        st = seterr(err, err_len, TOK_ERR_IO, "%s: %s", path, strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        char jpath[4096];
        if ((size_t)snprintf(jpath, sizeof jpath, "%s/tokenizer.json", path) >= sizeof jpath)
            st = seterr(err, err_len, TOK_ERR_IO, "%s: path too long", path);
        else if (file_exists(jpath))
            st = load_tokenizer_json(tk, jpath, err, err_len);
        else
            st = load_vocab_merges(tk, path, err, err_len);
    } else {
        st = load_tokenizer_json(tk, path, err, err_len);
    }
    if (st) {
        tok_free(tk);
        return NULL;
    }
    tk->id_im_start = tok_token_id(tk, "<|im_start|>");
    tk->id_im_end = tok_token_id(tk, "<|im_end|>");
    tk->id_eot = tok_token_id(tk, "<|endoftext|>");
    return tk;
}

void tok_free(tok_tokenizer *tk) {
    if (!tk) return;
    free(tk->off);
    free(tk->len);
    free(tk->kind);
    free(tk->pool);
    free(tk->vhash);
    free(tk->mhash);
    free(tk->added);
    pcre2_code_free(tk->re);
    free(tk);
}

/* ---------------------------------------------------------------------------------------------
 * Lookups
 * ------------------------------------------------------------------------------------------- */

int32_t tok_vocab_size(const tok_tokenizer *tk) { return tk->n_ids; }
int32_t tok_id_im_start(const tok_tokenizer *tk) { return tk->id_im_start; }
int32_t tok_id_im_end(const tok_tokenizer *tk) { return tk->id_im_end; }
int32_t tok_id_endoftext(const tok_tokenizer *tk) { return tk->id_eot; }

int tok_is_special(const tok_tokenizer *tk, int32_t id) {
    return id >= 0 && id < tk->n_ids && tk->kind[id] == KIND_SPECIAL;
}

const char *tok_token_bytes(const tok_tokenizer *tk, int32_t id, size_t *len) {
    if (id < 0 || id >= tk->n_ids || tk->kind[id] == KIND_NONE) return NULL;
    if (len) *len = tk->len[id];
    return tk->pool + tk->off[id];
}

int32_t tok_token_id(const tok_tokenizer *tk, const char *text) {
    size_t n = strlen(text);
    for (size_t i = 0; i < tk->n_added; i++) {
        int32_t id = tk->added[i].id;
        if (tk->len[id] == n && !memcmp(tk->pool + tk->off[id], text, n)) return id;
    }
    int32_t id = vocab_find(tk, text, n);
    if (id >= 0) return id;
    for (int32_t i = 0; i < tk->n_ids; i++)
        if (tk->kind[i] == KIND_RAW && tk->len[i] == n && !memcmp(tk->pool + tk->off[i], text, n)) return i;
    return -1;
}

/* ---------------------------------------------------------------------------------------------
 * BPE on one pre-token
 * ------------------------------------------------------------------------------------------- */

typedef struct {
    int32_t rank;
    int32_t pos;   /* index of the left symbol */
} cand;

/* Per-call scratch, grown to the longest pre-token. */
typedef struct {
    int32_t *id, *prev, *next;
    cand *heap;
    size_t cap, heap_cap, heap_n;
    bbuf nfc;
} scratch;

static void scratch_free(scratch *s) {
    free(s->id);
    free(s->prev);
    free(s->next);
    free(s->heap);
    free(s->nfc.p);
}

static int scratch_reserve(scratch *s, size_t n) {
    if (n <= s->cap) return 0;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < n) cap *= 2;
    int32_t *a = realloc(s->id, cap * sizeof *a);
    if (!a) return -1;
    s->id = a;
    a = realloc(s->prev, cap * sizeof *a);
    if (!a) return -1;
    s->prev = a;
    a = realloc(s->next, cap * sizeof *a);
    if (!a) return -1;
    s->next = a;
    s->cap = cap;
    return 0;
}

static int cand_less(cand a, cand b) { return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos); }

static int heap_push(scratch *s, cand c) {
    if (s->heap_n == s->heap_cap) {
        size_t cap = s->heap_cap ? s->heap_cap * 2 : 128;
        cand *h = realloc(s->heap, cap * sizeof *h);
        if (!h) return -1;
        s->heap = h;
        s->heap_cap = cap;
    }
    size_t i = s->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(c, s->heap[p])) break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = c;
    return 0;
}

static cand heap_pop(scratch *s) {
    cand top = s->heap[0];
    cand last = s->heap[--s->heap_n];
    size_t i = 0, n = s->heap_n;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        cand best = last;
        if (l < n && cand_less(s->heap[l], best)) {
            m = l;
            best = s->heap[l];
        }
        if (l + 1 < n && cand_less(s->heap[l + 1], best)) m = l + 1;
        if (m == i) break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (n) s->heap[i] = last;
    return top;
}

/* Pushes the candidate merge of symbol pos with its right neighbour, if any. */
static int push_pair(const tok_tokenizer *tk, scratch *s, int32_t pos) {
    int32_t nx = s->next[pos];
    if (nx < 0) return 0;
    const merge_slot *m = merge_find(tk, s->id[pos], s->id[nx]);
    if (!m) return 0;
    cand c = {m->rank, pos};
    return heap_push(s, c);
}

/* Appends the BPE ids of the pre-token w[0..n-1] (raw bytes, n >= 1). */
static int bpe_word(const tok_tokenizer *tk, const unsigned char *w, size_t n, scratch *s, tok_ids *out,
                    char *err, size_t err_len) {
    if (tk->ignore_merges) {
        int32_t id = vocab_find(tk, w, n);
        if (id >= 0) return ids_push(out, id) ? seterr(err, err_len, TOK_ERR_NOMEM, "out of memory") : TOK_OK;
    }
    if (n > INT32_MAX / 2) return seterr(err, err_len, TOK_ERR_INPUT, "pre-token too long (%zu bytes)", n);
    if (scratch_reserve(s, n)) return seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int32_t id = tk->byte_id[w[i]];
        if (id < 0) id = tk->unk_id;
        if (id < 0)
            return seterr(err, err_len, TOK_ERR_INPUT,
                          "byte 0x%02x has no token in the vocabulary (and there is no unk_token)", w[i]);
        s->id[i] = id;
        s->prev[i] = (int32_t)i - 1;
        s->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    s->heap_n = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (push_pair(tk, s, (int32_t)i)) return seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
    while (s->heap_n) {
        cand c = heap_pop(s);
        int32_t p = c.pos;
        if (s->id[p] < 0) continue; /* symbol was merged into its left neighbour */
        int32_t q = s->next[p];
        if (q < 0) continue;
        const merge_slot *m = merge_find(tk, s->id[p], s->id[q]);
        if (!m || m->rank != c.rank) continue; /* the pair changed since this entry was pushed */
        s->id[p] = m->id;
        s->id[q] = -1;
        s->next[p] = s->next[q];
        if (s->next[q] >= 0) s->prev[s->next[q]] = p;
        if ((s->prev[p] >= 0 && push_pair(tk, s, s->prev[p])) || push_pair(tk, s, p))
            return seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
    }
    for (int32_t i = 0; i >= 0; i = s->next[i])
        if (ids_push(out, s->id[i])) return seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
    return TOK_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------------------------- */

/* One segment without added tokens: NFC, pre-tokenize, BPE each piece. */
static int encode_segment(const tok_tokenizer *tk, const char *seg, size_t n, scratch *s, tok_ids *out,
                          char *err, size_t err_len) {
    if (n == 0) return TOK_OK;
    if (tk->nfc) {
        char *norm = NULL;
        size_t nn = 0;
        if (tok_nfc(seg, n, &norm, &nn)) return seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
        if (norm) {
            s->nfc.n = 0;
            int bad = bbuf_put(&s->nfc, norm, nn);
            free(norm);
            if (bad) return seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
            seg = s->nfc.p;
            n = nn;
        }
    }
    const unsigned char *u = (const unsigned char *)seg;
    if (!tk->re) return bpe_word(tk, u, n, s, out, err, err_len);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(tk->re, NULL);
    if (!md) return seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
    /* HF Split(Isolated): matches and the gaps between them are the pieces; an empty match
     * ends the current gap and the search resumes one character later. */
    int st = TOK_OK;
    size_t prev = 0, search = 0;
    while (st == TOK_OK && search <= n) {
        int rc = pcre2_match(tk->re, (PCRE2_SPTR)seg, n, search, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            st = seterr(err, err_len, TOK_ERR_INPUT, "pre-tokenizer regex failed at byte %zu: %s", search,
                        (const char *)msg);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (ms > prev) st = bpe_word(tk, u + prev, ms - prev, s, out, err, err_len);
        if (st == TOK_OK && me > ms) st = bpe_word(tk, u + ms, me - ms, s, out, err, err_len);
        prev = me;
        if (me > ms) {
            search = me;
        } else {
            if (ms >= n) break;
            size_t k = utf8_seq(u + ms, n - ms, NULL, NULL);
            search = ms + (k ? k : 1);
        }
    }
    if (st == TOK_OK && prev < n) st = bpe_word(tk, u + prev, n - prev, s, out, err, err_len);
    pcre2_match_data_free(md);
    return st;
}

/* Leftmost, then longest, added token in t[from..n-1]; returns its position (n when none). */
static size_t find_added(const tok_tokenizer *tk, const char *t, size_t n, size_t from, int32_t *id,
                         size_t *len) {
    if (!tk->n_added) return n;
    for (size_t p = from; p < n; p++) {
        if (!tk->added_first[(unsigned char)t[p]]) continue;
        for (size_t i = 0; i < tk->n_added; i++) { /* longest first */
            int32_t a = tk->added[i].id;
            size_t al = tk->len[a];
            if (al <= n - p && !memcmp(t + p, tk->pool + tk->off[a], al)) {
                *id = a;
                *len = al;
                return p;
            }
        }
    }
    return n;
}

int tok_encode(const tok_tokenizer *tk, const char *text, size_t len, tok_ids *out, char *err,
               size_t err_len) {
    size_t bad = utf8_check(text, len);
    if (bad < len)
        return seterr(err, err_len, TOK_ERR_INPUT, "text is not valid UTF-8 (byte %zu: 0x%02x)", bad,
                      (unsigned char)text[bad]);
    size_t n0 = out->n;
    scratch s = {0};
    int st = TOK_OK;
    size_t pos = 0;
    while (pos < len && st == TOK_OK) {
        int32_t aid = -1;
        size_t alen = 0;
        size_t m = find_added(tk, text, len, pos, &aid, &alen);
        st = encode_segment(tk, text + pos, m - pos, &s, out, err, err_len);
        if (st == TOK_OK && m < len && ids_push(out, aid)) st = seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
        pos = m < len ? m + alen : len;
    }
    scratch_free(&s);
    if (st) out->n = n0;
    return st;
}

int tok_encode_image_split(const tok_tokenizer *tk, const char *text, size_t len, tok_ids *out,
                           char *err, size_t err_len) {
    static const char IMG[] = "<image>";
    const size_t il = sizeof IMG - 1;
    size_t n0 = out->n, pos = 0;
    for (;;) {
        size_t m = pos;
        while (m + il <= len && memcmp(text + m, IMG, il)) m++;
        if (m + il > len) m = len;
        int st = tok_encode(tk, text + pos, m - pos, out, err, err_len);
        if (st == TOK_OK && m < len && ids_push(out, TOK_IMAGE_ID))
            st = seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
        if (st) {
            out->n = n0;
            return st;
        }
        if (m >= len) return TOK_OK;
        pos = m + il;
    }
}

/* ---------------------------------------------------------------------------------------------
 * The qwen_1_5 conversation template (spec §5.1, §5.4)
 * ------------------------------------------------------------------------------------------- */

static const char CHAT_PREFIX[] =
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n";
static const char CHAT_SUFFIX[] = "<|im_end|>\n<|im_start|>assistant\n";

char *tok_chat_render(const char *content) {
    size_t a = sizeof CHAT_PREFIX - 1, b = strlen(content), c = sizeof CHAT_SUFFIX - 1;
    char *s = malloc(a + b + c + 1);
    if (!s) return NULL;
    memcpy(s, CHAT_PREFIX, a);
    memcpy(s + a, content, b);
    memcpy(s + a + b, CHAT_SUFFIX, c + 1);
    return s;
}

int tok_chat_encode(const tok_tokenizer *tk, const char *content, tok_ids *out, char *err,
                    size_t err_len) {
    char *p = tok_chat_render(content);
    if (!p) return seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
    int st = tok_encode_image_split(tk, p, strlen(p), out, err, err_len);
    free(p);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------------------------------- */

char *tok_decode(const tok_tokenizer *tk, const int32_t *ids, size_t n, int skip_special,
                 size_t *len, char *err, size_t err_len) {
    bbuf raw = {0}, txt = {0};
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= tk->n_ids || tk->kind[id] == KIND_NONE) {
            seterr(err, err_len, TOK_ERR_INPUT, "id %d (position %zu) is not a token of this tokenizer", id, i);
            goto fail;
        }
        if (skip_special && tk->kind[id] == KIND_SPECIAL) continue;
        if (bbuf_put(&raw, tk->pool + tk->off[id], tk->len[id])) goto nomem;
    }
    if (bbuf_put(&txt, "", 0)) goto nomem;
    /* lossy UTF-8: each maximal invalid subpart becomes one U+FFFD (Rust from_utf8_lossy) */
    const unsigned char *u = (const unsigned char *)raw.p;
    size_t i = 0, run = 0;
    while (i < raw.n) {
        size_t vp = 1;
        size_t k = u[i] < 0x80 ? 1 : utf8_seq(u + i, raw.n - i, NULL, &vp);
        if (k) {
            i += k;
            continue;
        }
        if (bbuf_put(&txt, raw.p + run, i - run) || bbuf_put(&txt, "\xEF\xBF\xBD", 3)) goto nomem;
        i += vp;
        run = i;
    }
    if (bbuf_put(&txt, raw.p ? raw.p + run : "", i - run)) goto nomem;
    free(raw.p);
    if (len) *len = txt.n;
    return txt.p;
nomem:
    seterr(err, err_len, TOK_ERR_NOMEM, "out of memory");
fail:
    free(raw.p);
    free(txt.p);
    return NULL;
}
