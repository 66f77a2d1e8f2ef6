/* store_xlsx.c - tables from other tools' files: the first worksheet of an .xlsx (Office Open
 * XML, read with libzip and libxml2; no hand-written zip or XML parsing) and delimited text (CSV,
 * TSV). Inputs are untrusted: sizes are capped, the XML parser never touches the network or
 * loads external entities, and every index read from a file is checked. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "store/store_internal.h"

#define XLSX_PART_MAX ((zip_uint64_t)256 << 20)
#define TABLE_MAX_COLS 4096
#define TABLE_MAX_ROWS ((size_t)1 << 24)

static int fail(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return DB_ERR_INVALID;
}

void db_table_free(db_table *t) {
    if (!t) return;
    for (size_t i = 0; t->cells && i < t->n_rows * t->n_cols; i++) free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

const char *db_table_cell(const db_table *t, size_t row, size_t col) {
    if (row >= t->n_rows || col >= t->n_cols) return "";
    const char *c = t->cells[row * t->n_cols + col];
    return c ? c : "";
}

long db_table_col(const db_table *t, const char *name) {
    for (size_t c = 0; t->n_rows && c < t->n_cols; c++)
        if (!strcmp(db_table_cell(t, 0, c), name)) return (long)c;
    return -1;
}

/* ---- a growable grid ---------------------------------------------------------------------------- */

typedef struct {
    char **cells; /* row-major with a fixed column capacity */
    size_t n_rows, n_cols, cap_rows, cap_cols;
} grid;

static void grid_free(grid *g) {
    for (size_t i = 0; g->cells && i < g->cap_rows * g->cap_cols; i++) free(g->cells[i]);
    free(g->cells);
    memset(g, 0, sizeof *g);
}

/* Stores text (taken over) at (r, c), growing the grid; -1 when too big or out of memory. */
static int grid_set(grid *g, size_t r, size_t c, char *text) {
    if (r >= TABLE_MAX_ROWS || c >= TABLE_MAX_COLS) return free(text), -1;
    if (c >= g->cap_cols || r >= g->cap_rows) {
        size_t nc = g->cap_cols ? g->cap_cols : 16, nr = g->cap_rows ? g->cap_rows : 64;
        while (nc <= c) nc *= 2;
        while (nr <= r) nr *= 2;
        char **cells = calloc(nr * nc, sizeof *cells);
        if (!cells) return free(text), -1;
        for (size_t i = 0; i < g->cap_rows; i++)
            for (size_t j = 0; j < g->cap_cols; j++) cells[i * nc + j] = g->cells[i * g->cap_cols + j];
        free(g->cells);
        g->cells = cells, g->cap_rows = nr, g->cap_cols = nc;
    }
    free(g->cells[r * g->cap_cols + c]);
    g->cells[r * g->cap_cols + c] = text;
    if (r + 1 > g->n_rows) g->n_rows = r + 1;
    if (c + 1 > g->n_cols) g->n_cols = c + 1;
    return 0;
}

/* Moves the grid into a table whose every cell is a string. */
static int grid_to_table(grid *g, db_table *t) {
    memset(t, 0, sizeof *t);
    size_t n = g->n_rows * g->n_cols;
    t->cells = calloc(n ? n : 1, sizeof *t->cells);
    if (!t->cells) return -1;
    t->n_rows = g->n_rows, t->n_cols = g->n_cols;
    for (size_t r = 0; r < g->n_rows; r++)
        for (size_t c = 0; c < g->n_cols; c++) {
            char **src = &g->cells[r * g->cap_cols + c];
            t->cells[r * g->n_cols + c] = *src ? *src : strdup("");
            *src = NULL;
            if (!t->cells[r * g->n_cols + c]) return db_table_free(t), -1;
        }
    grid_free(g);
    return 0;
}

/* ---- delimited text ------------------------------------------------------------------------------ */

int db_dsv_read(const char *data, size_t len, char sep, db_table *out, char *err, size_t err_len) {
    grid g = {0};
    memset(out, 0, sizeof *out);
    size_t r = 0, c = 0, i = 0;
    if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3)) i = 3; /* a UTF-8 byte order mark */
    while (i < len) {
        /* one field */
        size_t cap = 64, n = 0;
        char *f = malloc(cap);
        if (!f) goto oom;
        if (data[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    free(f);
                    grid_free(&g);
                    return fail(err, err_len, "row %zu: a quoted field is not closed", r + 1);
                }
                if (data[i] == '"') {
                    if (i + 1 < len && data[i + 1] == '"') i++;
                    else {
                        i++;
                        break;
                    }
                }
                if (n + 2 > cap) {
                    char *gr = realloc(f, cap *= 2);
                    if (!gr) return free(f), grid_free(&g), fail(err, err_len, "out of memory");
                    f = gr;
                }
                f[n++] = data[i++];
            }
            /* text after the closing quote up to the delimiter is kept, as pandas does */
        }
        while (i < len && data[i] != sep && data[i] != '\n' && data[i] != '\r') {
            if (n + 2 > cap) {
                char *gr = realloc(f, cap *= 2);
                if (!gr) return free(f), grid_free(&g), fail(err, err_len, "out of memory");
                f = gr;
            }
            f[n++] = data[i++];
        }
        f[n] = '\0';
        if (grid_set(&g, r, c, f)) goto oom;
        if (i < len && data[i] == sep) {
            i++;
            c++;
            if (i == len) { /* a trailing delimiter: one more empty field */
                char *e = strdup("");
                if (!e || grid_set(&g, r, c, e)) goto oom;
            }
            continue;
        }
        if (i < len && data[i] == '\r') i++;
        if (i < len && data[i] == '\n') i++;
        r++, c = 0;
    }
    if (grid_to_table(&g, out)) goto oom;
    return DB_OK;
oom:
    grid_free(&g);
    return fail(err, err_len, "out of memory or more than %d columns / %zu rows", TABLE_MAX_COLS, TABLE_MAX_ROWS);
}

/* ---- xlsx --------------------------------------------------------------------------------------- */

/* One part of the package, NUL-terminated; NULL with err set when absent or unreadable. */
static char *zip_part(zip_t *z, const char *name, size_t *len, char *err, size_t err_len) {
    zip_stat_t stt;
    zip_stat_init(&stt);
    if (zip_stat(z, name, 0, &stt) != 0) {
        fail(err, err_len, "no part %s in the package", name);
        return NULL;
    }
    if (!(stt.valid & ZIP_STAT_SIZE) || stt.size > XLSX_PART_MAX) {
        fail(err, err_len, "part %s: size unknown or over %llu bytes", name, (unsigned long long)XLSX_PART_MAX);
        return NULL;
    }
    zip_file_t *f = zip_fopen(z, name, 0);
    char *buf = f ? malloc((size_t)stt.size + 1) : NULL;
    zip_int64_t got = buf ? zip_fread(f, buf, stt.size) : -1;
    if (f) zip_fclose(f);
    if (got < 0 || (zip_uint64_t)got != stt.size) {
        free(buf);
        fail(err, err_len, "part %s: cannot be read (%s)", name, f ? "truncated or corrupt" : zip_strerror(z));
        return NULL;
    }
    buf[got] = '\0';
    *len = (size_t)got;
    return buf;
}

static xmlDocPtr parse_xml(const char *buf, size_t len, const char *name, char *err, size_t err_len) {
    if (len > (size_t)0x7fffffff) return fail(err, err_len, "part %s is too big", name), NULL;
    xmlDocPtr d = xmlReadMemory(buf, (int)len, name, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!d || !xmlDocGetRootElement(d)) {
        if (d) xmlFreeDoc(d);
        fail(err, err_len, "part %s is not well-formed XML", name);
        return NULL;
    }
    return d;
}

static int is(const xmlNode *n, const char *local) {
    return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, local);
}

static const xmlNode *child(const xmlNode *n, const char *local) {
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is(c, local)) return c;
    return NULL;
}

static char *attr(const xmlNode *n, const char *name) { return (char *)xmlGetProp((xmlNodePtr)n, (const xmlChar *)name); }

/* ECMA-376's ST_Xstring escapes: "_xHHHH_" is the character U+HHHH (so "_x005F_" is "_"). */
static void unescape_xstring(char *s) {
    char *w = s;
    for (const char *r = s; *r;) {
        unsigned v;
        if (r[0] == '_' && r[1] == 'x' && strspn(r + 2, "0123456789abcdefABCDEF") >= 4 && r[6] == '_' &&
            sscanf(r + 2, "%4x", &v) == 1) {
            if (v < 0x80) *w++ = (char)v;
            else if (v < 0x800) *w++ = (char)(0xC0 | (v >> 6)), *w++ = (char)(0x80 | (v & 0x3F));
            else *w++ = (char)(0xE0 | (v >> 12)), *w++ = (char)(0x80 | ((v >> 6) & 0x3F)), *w++ = (char)(0x80 | (v & 0x3F));
            r += 7; /* the escape takes 7 bytes, its UTF-8 at most 3 */
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

/* The text of a string item (<si> or <is>): its <t>, or the <t> of each rich-text run <r>;
 * phonetic runs are not text. malloc'd. */
static char *item_text(const xmlNode *si) {
    size_t cap = 64, n = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = '\0';
    for (const xmlNode *c = si ? si->children : NULL; c; c = c->next) {
        const xmlNode *t = is(c, "t") ? c : is(c, "r") ? child(c, "t") : NULL;
        if (!t) continue;
        xmlChar *txt = xmlNodeGetContent(t);
        size_t k = txt ? strlen((char *)txt) : 0;
        if (n + k + 1 > cap) {
            while (n + k + 1 > cap) cap *= 2;
            char *g = realloc(out, cap);
            if (!g) return xmlFree(txt), free(out), NULL;
            out = g;
        }
        if (k) memcpy(out + n, txt, k);
        n += k;
        out[n] = '\0';
        xmlFree(txt);
    }
    unescape_xstring(out);
    return out;
}

/* "BC12" -> column 54 (0-based); -1 when not a cell reference. */
static long ref_col(const char *ref) {
    long c = 0;
    int k = 0;
    for (; ref[k] >= 'A' && ref[k] <= 'Z'; k++) {
        if (k == 3) return -1;
        c = c * 26 + (ref[k] - 'A' + 1);
    }
    return k ? c - 1 : -1;
}

/* The worksheet part of the first sheet: workbook.xml's first <sheet>, through its relationship. */
static char *first_sheet(zip_t *z, char *err, size_t err_len) {
    size_t len;
    char *wb = zip_part(z, "xl/workbook.xml", &len, err, err_len), *rels = NULL, *rid = NULL, *path = NULL;
    xmlDocPtr d = NULL, dr = NULL;
    if (!wb || !(d = parse_xml(wb, len, "xl/workbook.xml", err, err_len))) goto out;
    const xmlNode *sheet = child(child(xmlDocGetRootElement(d), "sheets"), "sheet");
    if (sheet) rid = attr(sheet, "id"); /* r:id; xmlGetProp ignores the namespace */
    if (!rid) {
        fail(err, err_len, "xl/workbook.xml: no sheet");
        goto out;
    }
    if (!(rels = zip_part(z, "xl/_rels/workbook.xml.rels", &len, err, err_len)) ||
        !(dr = parse_xml(rels, len, "xl/_rels/workbook.xml.rels", err, err_len)))
        goto out;
    for (const xmlNode *r = xmlDocGetRootElement(dr)->children; r && !path; r = r->next) {
        if (!is(r, "Relationship")) continue;
        char *id = attr(r, "Id"), *target = attr(r, "Target");
        if (id && target && !strcmp(id, rid) && !strstr(target, "..")) {
            const char *t = target[0] == '/' ? target + 1 : target;
            size_t n = strlen(t) + 4;
            if ((path = malloc(n))) snprintf(path, n, "%s%s", target[0] == '/' ? "" : "xl/", t);
        }
        xmlFree(id), xmlFree(target);
    }
    if (!path) fail(err, err_len, "xl/_rels/workbook.xml.rels: no worksheet for sheet %s", rid);
out:
    if (d) xmlFreeDoc(d);
    if (dr) xmlFreeDoc(dr);
    if (rid) xmlFree(rid);
    free(wb), free(rels);
    return path;
}

int db_xlsx_read(const void *data, size_t len, db_table *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    xmlInitParser();
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
    zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    if (!z) {
        int rc = fail(err, err_len, "not an .xlsx file (zip: %s)", zip_error_strerror(&ze));
        if (src) zip_source_free(src);
        zip_error_fini(&ze);
        return rc;
    }
    zip_error_fini(&ze);
    int rc = DB_ERR_INVALID;
    char **sst = NULL, *sheet_path = NULL, *buf = NULL;
    size_t n_sst = 0, blen;
    xmlDocPtr ds = NULL, dw = NULL;
    grid g = {0};
    /* shared strings (optional: a sheet may have none) */
    if (zip_name_locate(z, "xl/sharedStrings.xml", 0) >= 0) {
        if (!(buf = zip_part(z, "xl/sharedStrings.xml", &blen, err, err_len))) goto out;
        if (!(ds = parse_xml(buf, blen, "xl/sharedStrings.xml", err, err_len))) goto out;
        size_t cap = 0;
        for (const xmlNode *si = xmlDocGetRootElement(ds)->children; si; si = si->next) {
            if (!is(si, "si")) continue;
            if (n_sst == cap) {
                char **grown = realloc(sst, (cap = cap ? 2 * cap : 256) * sizeof *sst);
                if (!grown) goto oom;
                sst = grown;
            }
            if (!(sst[n_sst++] = item_text(si))) goto oom;
        }
        free(buf);
        buf = NULL;
    }
    if (!(sheet_path = first_sheet(z, err, err_len)) || !(buf = zip_part(z, sheet_path, &blen, err, err_len)) ||
        !(dw = parse_xml(buf, blen, sheet_path, err, err_len)))
        goto out;
    const xmlNode *sd = child(xmlDocGetRootElement(dw), "sheetData");
    size_t row = 0;
    for (const xmlNode *rn = sd ? sd->children : NULL; rn; rn = rn->next) {
        if (!is(rn, "row")) continue;
        char *rr = attr(rn, "r");
        if (rr) {
            long v = strtol(rr, NULL, 10);
            xmlFree(rr);
            if (v < 1 || (size_t)v > TABLE_MAX_ROWS || (size_t)v - 1 < row) {
                fail(err, err_len, "%s: row number out of order", sheet_path);
                goto out;
            }
            row = (size_t)v - 1;
        }
        long col = 0;
        for (const xmlNode *c = rn->children; c; c = c->next) {
            if (!is(c, "c")) continue;
            char *ref = attr(c, "r"), *type = attr(c, "t");
            if (ref) {
                long rc2 = ref_col(ref);
                if (rc2 < 0 || rc2 < col) {
                    fail(err, err_len, "%s: bad cell reference '%s'", sheet_path, ref);
                    xmlFree(ref), xmlFree(type);
                    goto out;
                }
                col = rc2;
            }
            xmlFree(ref);
            const xmlNode *f = child(c, "f"), *v = child(c, "v");
            char *text = NULL;
            if (f && (f->children || !v)) { /* a formula: what was typed, "=" + formula */
                xmlChar *ft = xmlNodeGetContent(f);
                size_t n = (ft ? strlen((char *)ft) : 0) + 2;
                if ((text = malloc(n))) snprintf(text, n, "=%s", ft ? (char *)ft : "");
                xmlFree(ft);
            } else if (type && !strcmp(type, "inlineStr")) {
                text = item_text(child(c, "is"));
            } else if (v) {
                xmlChar *vt = xmlNodeGetContent(v);
                if (type && !strcmp(type, "s")) {
                    char *end;
                    long k = vt ? strtol((char *)vt, &end, 10) : -1;
                    if (!vt || *end || k < 0 || (size_t)k >= n_sst) {
                        fail(err, err_len, "%s: shared string index '%s' out of range", sheet_path, vt ? (char *)vt : "");
                        xmlFree(vt), xmlFree(type);
                        goto out;
                    }
                    text = strdup(sst[k]);
                } else if (type && !strcmp(type, "b")) {
                    text = strdup(vt && !strcmp((char *)vt, "1") ? "TRUE" : "FALSE");
                } else {
                    text = strdup(vt ? (char *)vt : "");
                    if (text && type && !strcmp(type, "str")) unescape_xstring(text);
                }
                xmlFree(vt);
            } else {
                text = strdup("");
            }
            xmlFree(type);
            if (!text || grid_set(&g, row, (size_t)col, text)) goto oom;
            col++;
        }
        row++;
    }
    if (grid_to_table(&g, out)) goto oom;
    rc = DB_OK;
    goto out;
oom:
    fail(err, err_len, "out of memory, or more than %d columns / %zu rows", TABLE_MAX_COLS, TABLE_MAX_ROWS);
out:
    grid_free(&g);
    for (size_t i = 0; i < n_sst; i++) free(sst[i]);
    free(sst), free(sheet_path), free(buf);
    if (ds) xmlFreeDoc(ds);
    if (dw) xmlFreeDoc(dw);
    zip_close(z); /* also frees the source */
    return rc;
}
