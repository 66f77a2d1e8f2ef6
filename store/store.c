/* store.c - the SQLite results store (see store.h): opening and migrating a database, run keys,
 * writing runs and samples, merging shard databases. Reads live in store_query.c, the per-sample
 * export in store_export.c.
 *
 * Schema history (PRAGMA user_version):
 *   1  runs, samples, layer_tokens, timings
 *   2  samples.kl_mean / samples.top1_agree (agreement with the unpruned run), index by video
 *   3  samples.method_json (the method's solved knobs and accounting per sample)
 *   4  runs.convention / runs.aggregate (the scoring convention and its aggregation rule),
 *      samples.score (the sample's term in the convention's accuracy, NULL = not counted) and
 *      samples.options (the option texts, for rescoring); older rows get score = correct
 *   5  samples.decode_wait_ms (how long the model waited for the frame decoder on this sample)
 * Migrations run in order inside one transaction; a database newer than DB_SCHEMA_VERSION is
 * refused rather than guessed at. */
#include "store/store.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/redact.h"
#include "common/sha256.h"
#include "store/store_internal.h"

const char *const db_stage_names[DB_N_STAGES] = {"decode", "vision", "prune", "prefill", "generate", "total"};

static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE runs ("
    "  run_key TEXT PRIMARY KEY,"
    "  created TEXT NOT NULL,"
    "  updated TEXT NOT NULL,"
    "  code_version TEXT NOT NULL,"
    "  model TEXT NOT NULL,"
    "  weights_digest TEXT NOT NULL,"
    "  benchmark TEXT NOT NULL,"
    "  revision TEXT NOT NULL,"
    "  split TEXT NOT NULL,"
    "  frame_policy TEXT NOT NULL,"
    "  decoder TEXT NOT NULL,"
    "  method TEXT NOT NULL,"
    "  params TEXT NOT NULL,"
    "  compat TEXT NOT NULL,"
    "  quirks TEXT NOT NULL,"
    "  seed INTEGER NOT NULL,"
    "  spec TEXT NOT NULL,"
    "  n_expected INTEGER NOT NULL DEFAULT 0,"
    "  status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')));"
    "CREATE TABLE samples ("
    "  run_key TEXT NOT NULL REFERENCES runs(run_key),"
    "  sample_id TEXT NOT NULL,"
    "  video_id TEXT,"
    "  categories TEXT,"
    "  status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),"
    "  error TEXT,"
    "  raw_output TEXT,"
    "  parsed TEXT,"
    "  gold TEXT,"
    "  correct INTEGER NOT NULL DEFAULT 0,"
    "  parse_failed INTEGER NOT NULL DEFAULT 0,"
    "  n_visual_in INTEGER,"
    "  n_text INTEGER,"
    "  flops REAL,"
    "  equiv_retention REAL,"
    "  peak_bytes INTEGER,"
    "  created TEXT NOT NULL,"
    "  PRIMARY KEY (run_key, sample_id));"
    "CREATE TABLE layer_tokens ("
    "  run_key TEXT NOT NULL,"
    "  sample_id TEXT NOT NULL,"
    "  layer INTEGER NOT NULL,"
    "  visual INTEGER NOT NULL,"
    "  PRIMARY KEY (run_key, sample_id, layer),"
    "  FOREIGN KEY (run_key, sample_id) REFERENCES samples(run_key, sample_id));"
    "CREATE TABLE timings ("
    "  run_key TEXT NOT NULL,"
    "  sample_id TEXT NOT NULL,"
    "  stage TEXT NOT NULL CHECK (stage IN ('decode', 'vision', 'prune', 'prefill', 'generate', 'total')),"
    "  ms REAL NOT NULL,"
    "  PRIMARY KEY (run_key, sample_id, stage),"
    "  FOREIGN KEY (run_key, sample_id) REFERENCES samples(run_key, sample_id));",
    /* 1 -> 2 */
    "ALTER TABLE samples ADD COLUMN kl_mean REAL;"
    "ALTER TABLE samples ADD COLUMN top1_agree REAL;"
    "CREATE INDEX samples_by_video ON samples(run_key, video_id);",
    /* 2 -> 3 */
    "ALTER TABLE samples ADD COLUMN method_json TEXT;",
    /* 3 -> 4 */
    "ALTER TABLE runs ADD COLUMN convention TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE runs ADD COLUMN aggregate TEXT NOT NULL DEFAULT 'micro';"
    "ALTER TABLE samples ADD COLUMN score REAL;"
    "ALTER TABLE samples ADD COLUMN options TEXT;"
    "UPDATE runs SET convention = coalesce(json_extract(params, '$.convention'), '')"
    " WHERE json_valid(params) AND json_type(params, '$.convention') = 'text';"
    "UPDATE samples SET score = correct WHERE status = 'ok';",

    /* 4 -> 5 */
    "ALTER TABLE samples ADD COLUMN decode_wait_ms REAL;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == DB_SCHEMA_VERSION, "one migration per schema version");

int db_set_err(db_store *db, int status, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(db->err, sizeof db->err, "%s: %s", db->path, msg);
    return status;
}

int db_sql_err(db_store *db, const char *what) {
    int code = sqlite3_extended_errcode(db->db);
    return db_set_err(db, DB_ERR_IO, "%s: %s", what,
                      code == SQLITE_NOTADB ? "not an SQLite database (corrupt or another kind of file)"
                                            : sqlite3_errmsg(db->db));
}

static void now_iso(char out[32]) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *nz(const char *s) { return s ? s : ""; }

/* A column as a malloc'd string ("" for NULL); NULL only when out of memory. */
static char *col_dup(sqlite3_stmt *st, int i) {
    const char *t = (const char *)sqlite3_column_text(st, i);
    return strdup(t ? t : "");
}

/* Runs statements without parameters (schema and pragmas only). */
static int exec(db_store *db, const char *sql, const char *what) {
    char *msg = NULL;
    if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int code = sqlite3_extended_errcode(db->db);
        db_set_err(db, DB_ERR_IO, "%s: %s", what,
                   code == SQLITE_NOTADB ? "not an SQLite database (corrupt or another kind of file)"
                                         : (msg ? msg : sqlite3_errmsg(db->db)));
        sqlite3_free(msg);
        return DB_ERR_IO;
    }
    return DB_OK;
}

static int user_version(db_store *db, int *v) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_sql_err(db, "reading the schema version");
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_sql_err(db, "reading the schema version");
    }
    *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return DB_OK;
}

static int migrate(db_store *db) {
    int v;
    if (user_version(db, &v)) return DB_ERR_IO;
    if (v > DB_SCHEMA_VERSION)
        return db_set_err(db, DB_ERR_SCHEMA,
                          "schema version %d is newer than this tango-bench understands (%d); use a newer tango-bench",
                          v, DB_SCHEMA_VERSION);
    if (v == DB_SCHEMA_VERSION) return DB_OK;
    if (v < 0) /* found by fuzz_store_merge: migrations[v] would be read out of bounds and run */
        return db_set_err(db, DB_ERR_SCHEMA, "schema version %d is not a tango-bench schema version", v);
    if (v == 0) { /* a fresh file, or a foreign database we must not touch */
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db->db, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL) != SQLITE_OK)
            return db_sql_err(db, "reading the schema");
        int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
        sqlite3_finalize(st);
        if (n != 0)
            return db_set_err(db, DB_ERR_SCHEMA, "not a tango-bench database (it has tables but no schema version)");
    }
    if (exec(db, "BEGIN IMMEDIATE", "starting the schema migration")) return DB_ERR_IO;
    for (int i = v; i < DB_SCHEMA_VERSION; i++) {
        if (exec(db, migrations[i], "migrating the schema")) goto fail;
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", i + 1);
        if (exec(db, pragma, "migrating the schema")) goto fail;
    }
    if (exec(db, "COMMIT", "committing the schema migration")) goto fail;
    return DB_OK;
fail:
    sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    return DB_ERR_IO;
}

/* The four tables every tango-bench database has; a file that lacks one is not ours (or was
 * damaged), said once here with the file's name instead of "no such table" at the first query. */
static int check_tables(db_store *db) {
    static const char *const need[] = {"runs", "samples", "layer_tokens", "timings"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db->db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", -1, &st,
                               NULL) != SQLITE_OK)
            return db_sql_err(db, "reading the schema");
        sqlite3_bind_text(st, 1, need[i], -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
            return db_set_err(db, DB_ERR_SCHEMA, "not a tango-bench database: table %s is missing", need[i]);
        if (rc != SQLITE_ROW) return db_sql_err(db, "reading the schema");
    }
    return DB_OK;
}

/* "file:" URI of path for SQLITE_OPEN_URI, with the characters a URI reserves escaped. */
static int uri_of(const char *path, const char *query, char *out, size_t n) {
    static const char hx[] = "0123456789ABCDEF";
    size_t k = (size_t)snprintf(out, n, "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if (k + 4 >= n) return -1;
        if (*c == '%' || *c == '?' || *c == '#' || *c < 0x21 || *c >= 0x7f) {
            out[k++] = '%';
            out[k++] = hx[*c >> 4];
            out[k++] = hx[*c & 15];
        } else {
            out[k++] = (char)*c;
        }
    }
    int w = snprintf(out + k, n - k, "%s", query);
    return w < 0 || (size_t)w >= n - k ? -1 : 0;
}

/* Opens db->db on db->path with flags, always as a URI (so a path is taken literally and ATTACH
 * may name URIs) with query appended ("" or "?immutable=1"); the schema version is read to make
 * SQLite touch the file (a read-only WAL database fails here, not later). */
static int open_conn(db_store *db, const char *query, int flags) {
    if (db->db) sqlite3_close_v2(db->db);
    db->db = NULL;
    char uri[3200];
    if (uri_of(db->path, query, uri, sizeof uri)) return db_set_err(db, DB_ERR_OPEN, "path too long");
    int rc = sqlite3_open_v2(uri, &db->db, flags | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK)
        return db_set_err(db, DB_ERR_OPEN, "cannot open database: %s", db->db ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
    sqlite3_extended_result_codes(db->db, 1);
    sqlite3_busy_timeout(db->db, 10000);
    int v;
    return user_version(db, &v);
}

/* 1 (with db->err set) when PATH-wal holds changes the main file lacks: opening immutable would
 * silently read an older state. */
static int wal_pending_path(db_store *db, const char *path) {
    char wal[1100];
    struct stat sw;
    snprintf(wal, sizeof wal, "%s-wal", path);
    if (stat(wal, &sw) != 0 || sw.st_size == 0) return 0;
    db_set_err(db, DB_ERR_OPEN,
               "%s is read-only and %s holds changes not yet in it: copy both files to a writable place to read them",
               path, wal);
    return 1;
}

static int wal_pending(db_store *db) { return wal_pending_path(db, db->path); }

typedef enum { OPEN_CREATE, OPEN_EXISTING } open_mode;

static db_store *open_store(const char *path, open_mode mode, char *err, size_t err_len) {
    db_store *db = calloc(1, sizeof *db);
    if (!db) {
        snprintf(err, err_len, "%s: out of memory", path);
        return NULL;
    }
    snprintf(db->path, sizeof db->path, "%s", path);
    int writable = 1;
    if (mode == OPEN_EXISTING) {
        /* never create: a mistyped --db or merge input is an error, not a new empty database */
        struct stat sb;
        if (stat(path, &sb) != 0) {
            db_set_err(db, DB_ERR_OPEN, "no such database (%s)", strerror(errno));
            goto fail;
        }
        if (!S_ISREG(sb.st_mode)) {
            db_set_err(db, DB_ERR_OPEN, "not a database file (not a regular file)");
            goto fail;
        }
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) slash[slash == dir ? 1 : 0] = '\0';
        writable = access(path, W_OK) == 0 && access(slash ? dir : ".", W_OK) == 0;
    }
    if (writable) {
        int flags = SQLITE_OPEN_READWRITE | (mode == OPEN_CREATE ? SQLITE_OPEN_CREATE : 0);
        if (open_conn(db, "", flags)) goto fail;
        /* journal_mode answers with a row; a read-only or corrupt file fails here first. */
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK) {
            db_sql_err(db, "cannot use database");
            goto fail;
        }
        int rc = sqlite3_step(st);
        const char *jm = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        int wal = jm && !strcmp(jm, "wal");
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW) {
            db_sql_err(db, "cannot use database");
            goto fail;
        }
        if (!wal) {
            db_set_err(db, DB_ERR_OPEN, "cannot switch the database to WAL mode (read-only location?)");
            goto fail;
        }
        if (exec(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL", "configuring the database")) goto fail;
        if (migrate(db)) goto fail;
    } else {
        /* a read-only file or location (a read-only mount): read it as it is. SQLite cannot
         * create the -shm of a WAL database there; then the file is opened immutable, which is
         * only right when no -wal holds changes the main file lacks. */
        if (open_conn(db, "", SQLITE_OPEN_READONLY)) {
            if (wal_pending(db)) goto fail;
            if (open_conn(db, "?immutable=1", SQLITE_OPEN_READONLY)) goto fail;
        }
        int v;
        if (user_version(db, &v)) goto fail;
        if (v > DB_SCHEMA_VERSION) {
            db_set_err(db, DB_ERR_SCHEMA,
                       "schema version %d is newer than this tango-bench understands (%d); use a newer tango-bench", v,
                       DB_SCHEMA_VERSION);
            goto fail;
        }
        if (v < DB_SCHEMA_VERSION) {
            db_set_err(db, DB_ERR_SCHEMA,
                       "schema version %d needs migrating to %d, and the file is read-only: copy it to a writable "
                       "place first",
                       v, DB_SCHEMA_VERSION);
            goto fail;
        }
    }
    if (check_tables(db)) goto fail;
    return db;
fail:
    snprintf(err, err_len, "%s", db->err);
    sqlite3_close_v2(db->db);
    free(db);
    return NULL;
}

db_store *db_open(const char *path, char *err, size_t err_len) { return open_store(path, OPEN_CREATE, err, err_len); }

db_store *db_open_read(const char *path, char *err, size_t err_len) {
    return open_store(path, OPEN_EXISTING, err, err_len);
}

void db_close(db_store *db) {
    if (!db) return;
    sqlite3_close_v2(db->db);
    free(db);
}

const char *db_errmsg(const db_store *db) { return db ? db->err : "no database"; }

int db_schema_version(db_store *db) {
    int v = -1;
    user_version(db, &v);
    return v;
}

void db_set_fault_hook(db_store *db, void (*hook)(int step, void *ctx), void *ctx) {
    db->fault_hook = hook;
    db->fault_ctx = ctx;
}

db_run_spec db_run_spec_default(void) {
    return (db_run_spec){.compat = "official", .params_json = "{}"};
}

/* ---- canonical JSON and the run key ------------------------------------------------------- */

static int cmp_keys(const void *a, const void *b) {
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Sorts every object's members by key, recursively, so equal content prints equal text. */
static int canonicalise(cJSON *node) {
    if (cJSON_IsArray(node)) {
        for (cJSON *c = node->child; c; c = c->next)
            if (canonicalise(c)) return -1;
        return 0;
    }
    if (!cJSON_IsObject(node)) return 0;
    int n = cJSON_GetArraySize(node);
    if (n == 0) return 0;
    cJSON **items = malloc((size_t)n * sizeof *items);
    if (!items) return -1;
    int i = 0;
    for (cJSON *c = node->child; c; c = c->next) items[i++] = c;
    qsort(items, (size_t)n, sizeof *items, cmp_keys);
    for (i = 0; i < n; i++) {
        items[i]->prev = i ? items[i - 1] : items[n - 1]; /* cJSON: head->prev is the tail */
        items[i]->next = i + 1 < n ? items[i + 1] : NULL;
        if (canonicalise(items[i])) {
            free(items);
            return -1;
        }
    }
    node->child = items[0];
    free(items);
    return 0;
}

int db_run_key(const db_run_spec *s, char key[DB_KEY_LEN + 1], char **canonical, char *err, size_t err_len) {
    int rc = DB_ERR_INVALID;
    char *text = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *params = cJSON_Parse(s->params_json ? s->params_json : "{}");
    if (!root) goto out;
    if (!cJSON_IsObject(params)) {
        snprintf(err, err_len, "run parameters are not a JSON object: %.200s", nz(s->params_json));
        goto out;
    }
    cJSON_AddStringToObject(root, "model", nz(s->model));
    cJSON_AddStringToObject(root, "weights_digest", nz(s->weights_digest));
    cJSON_AddStringToObject(root, "dtype", nz(s->dtype));
    cJSON_AddStringToObject(root, "benchmark", nz(s->benchmark));
    cJSON_AddStringToObject(root, "revision", nz(s->revision));
    cJSON_AddStringToObject(root, "split", nz(s->split));
    cJSON_AddStringToObject(root, "frame_policy", nz(s->frame_policy));
    cJSON_AddStringToObject(root, "decoder", nz(s->decoder));
    cJSON_AddStringToObject(root, "method", nz(s->method));
    cJSON_AddItemToObject(root, "params", params);
    params = NULL;
    cJSON_AddStringToObject(root, "compat", nz(s->compat));
    cJSON_AddStringToObject(root, "quirks", nz(s->quirks));
    cJSON_AddNumberToObject(root, "seed", (double)s->seed);
    cJSON_AddStringToObject(root, "code_version", nz(s->code_version));
    cJSON_AddStringToObject(root, "convention", nz(s->convention));
    if (canonicalise(root) || !(text = cJSON_PrintUnformatted(root))) {
        snprintf(err, err_len, "out of memory building the run key");
        goto out;
    }
    if (tb_sha256_hex(text, strlen(text), key)) {
        snprintf(err, err_len, "SHA-256 failed");
        goto out;
    }
    if (canonical) {
        *canonical = text;
        text = NULL;
    }
    rc = DB_OK;
out:
    cJSON_Delete(params);
    cJSON_Delete(root);
    free(text);
    return rc;
}

/* Binds s (NULL: SQL NULL) with $HF_TOKEN overwritten: no text the store writes holds the token,
 * whatever brought it there (an error line quoting a server, a config value). */
static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s) {
    const char *secret = tb_secret();
    if (!s) {
        sqlite3_bind_null(st, i);
    } else if (!secret || !strstr(s, secret)) {
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    } else {
        size_t n = strlen(s);
        char *c = malloc(n + 1);
        if (!c) {
            sqlite3_bind_text(st, i, "(redacted)", -1, SQLITE_STATIC);
            return;
        }
        memcpy(c, s, n + 1);
        tb_redact(c, secret);
        sqlite3_bind_text(st, i, c, -1, free);
    }
}

/* ---- runs ---------------------------------------------------------------------------------- */

int db_run_open(db_store *db, const db_run_spec *s, char key[DB_KEY_LEN + 1], int *resumed) {
    char *spec_json = NULL, err[512];
    if (db_run_key(s, key, &spec_json, err, sizeof err)) return db_set_err(db, DB_ERR_INVALID, "%s", err);
    cJSON *spec = cJSON_Parse(spec_json);
    char *params = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(spec, "params"));
    cJSON_Delete(spec);
    char now[32];
    now_iso(now);
    int rc = DB_ERR_IO;
    sqlite3_stmt *st = NULL;
    static const char *sql =
        "INSERT INTO runs (run_key, created, updated, code_version, model, weights_digest, benchmark, revision,"
        " split, frame_policy, decoder, method, params, compat, quirks, seed, spec, n_expected, status, convention,"
        " aggregate)"
        " VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 'running', ?18, ?19)"
        " ON CONFLICT (run_key) DO UPDATE SET status = 'running', updated = ?2,"
        " n_expected = max(n_expected, excluded.n_expected)";
    if (!params) {
        db_set_err(db, DB_ERR_INVALID, "out of memory");
        goto out;
    }
    int existed = 0;
    if (sqlite3_prepare_v2(db->db, "SELECT 1 FROM runs WHERE run_key = ?1", -1, &st, NULL) != SQLITE_OK) {
        db_sql_err(db, "looking up the run");
        goto out;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) existed = 1;
    else if (step != SQLITE_DONE) {
        db_sql_err(db, "looking up the run");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_sql_err(db, "creating the run");
        goto out;
    }
    const char *texts[] = {key, now, nz(s->code_version), nz(s->model), nz(s->weights_digest), nz(s->benchmark),
                           nz(s->revision), nz(s->split), nz(s->frame_policy), nz(s->decoder), nz(s->method),
                           params, nz(s->compat), nz(s->quirks)};
    for (int i = 0; i < 14; i++) bind_text_or_null(st, i + 1, texts[i]);
    sqlite3_bind_int64(st, 15, s->seed);
    bind_text_or_null(st, 16, spec_json);
    sqlite3_bind_int64(st, 17, s->n_expected);
    sqlite3_bind_text(st, 18, nz(s->convention), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 19, s->aggregate && *s->aggregate ? s->aggregate : "micro", -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_sql_err(db, "creating the run");
        goto out;
    }
    if (resumed) *resumed = existed;
    rc = DB_OK;
out:
    sqlite3_finalize(st);
    free(params);
    free(spec_json);
    return rc;
}

int db_run_set_quirks(db_store *db, const char *key, const char *quirks) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "UPDATE runs SET quirks = ?1 WHERE run_key = ?2", -1, &st, NULL) != SQLITE_OK)
        return db_sql_err(db, "updating the run");
    sqlite3_bind_text(st, 1, nz(quirks), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_sql_err(db, "updating the run");
    return sqlite3_changes(db->db) ? DB_OK : db_set_err(db, DB_ERR_NOT_FOUND, "no run %s", key);
}

int db_run_finish(db_store *db, const char *key, db_run_status status) {
    static const char *names[] = {"running", "ok", "failed"};
    char now[32];
    now_iso(now);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "UPDATE runs SET status = ?1, updated = ?2 WHERE run_key = ?3", -1, &st, NULL) !=
        SQLITE_OK)
        return db_sql_err(db, "updating the run");
    sqlite3_bind_text(st, 1, names[status], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_sql_err(db, "updating the run");
    if (sqlite3_changes(db->db) == 0) return db_set_err(db, DB_ERR_NOT_FOUND, "no run %s", key);
    return DB_OK;
}

/* ---- samples ------------------------------------------------------------------------------- */

int db_sample_done(db_store *db, const char *key, const char *sample_id, int *done) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "SELECT 1 FROM samples WHERE run_key = ?1 AND sample_id = ?2", -1, &st, NULL) !=
        SQLITE_OK)
        return db_sql_err(db, "looking up a sample");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sample_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_sql_err(db, "looking up a sample");
    *done = rc == SQLITE_ROW;
    return DB_OK;
}


int db_sample_put(db_store *db, const char *key, const db_sample_result *r) {
    if (!r->sample_id || !*r->sample_id) return db_set_err(db, DB_ERR_INVALID, "sample result without a sample id");
    if (r->n_layers < 0 || (r->n_layers > 0 && !r->visual_per_layer))
        return db_set_err(db, DB_ERR_INVALID, "sample %s: bad per-layer token counts", r->sample_id);
    char now[32];
    now_iso(now);
    sqlite3_stmt *st = NULL;
    int rc = DB_ERR_IO;
    if (exec(db, "BEGIN IMMEDIATE", "starting a sample transaction")) return DB_ERR_IO;

    static const char *ins =
        "INSERT INTO samples (run_key, sample_id, video_id, categories, status, error, raw_output, parsed, gold,"
        " correct, parse_failed, n_visual_in, n_text, flops, equiv_retention, peak_bytes, created, method_json,"
        " score, options, decode_wait_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)";
    if (sqlite3_prepare_v2(db->db, ins, -1, &st, NULL) != SQLITE_OK) {
        db_sql_err(db, "writing a sample");
        goto rollback;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->sample_id, -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, r->video_id);
    bind_text_or_null(st, 4, r->categories_json);
    sqlite3_bind_text(st, 5, r->error ? "failed" : "ok", -1, SQLITE_STATIC);
    bind_text_or_null(st, 6, r->error);
    bind_text_or_null(st, 7, r->raw_output);
    bind_text_or_null(st, 8, r->parsed);
    bind_text_or_null(st, 9, r->gold);
    sqlite3_bind_int(st, 10, r->error ? 0 : (r->correct != 0));
    sqlite3_bind_int(st, 11, r->parse_failed != 0);
    sqlite3_bind_int64(st, 12, r->n_visual_in);
    sqlite3_bind_int64(st, 13, r->n_text);
    sqlite3_bind_double(st, 14, r->flops);
    sqlite3_bind_double(st, 15, r->equiv_retention);
    sqlite3_bind_int64(st, 16, r->peak_bytes);
    sqlite3_bind_text(st, 17, now, -1, SQLITE_STATIC);
    bind_text_or_null(st, 18, r->method_json);
    double score = r->score_set ? r->score : (r->correct != 0);
    if (r->error || isnan(score)) sqlite3_bind_null(st, 19);
    else sqlite3_bind_double(st, 19, score);
    bind_text_or_null(st, 20, r->options_json);
    if (r->decode_wait_ms >= 0) sqlite3_bind_double(st, 21, r->decode_wait_ms);
    else sqlite3_bind_null(st, 21);
    int step = sqlite3_step(st);
    if (step != SQLITE_DONE) {
        int ext = sqlite3_extended_errcode(db->db);
        if (ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
            db_set_err(db, DB_ERR_DUPLICATE, "sample %s already has a result in run %.12s", r->sample_id, key);
            rc = DB_ERR_DUPLICATE;
        } else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY) {
            db_set_err(db, DB_ERR_NOT_FOUND, "no run %s for sample %s", key, r->sample_id);
            rc = DB_ERR_NOT_FOUND;
        } else {
            db_sql_err(db, "writing a sample");
        }
        goto rollback;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (db->fault_hook) db->fault_hook(1, db->fault_ctx);

    if (r->n_layers > 0) {
        if (sqlite3_prepare_v2(db->db,
                               "INSERT INTO layer_tokens (run_key, sample_id, layer, visual) VALUES (?1, ?2, ?3, ?4)",
                               -1, &st, NULL) != SQLITE_OK) {
            db_sql_err(db, "writing per-layer token counts");
            goto rollback;
        }
        for (int l = 0; l < r->n_layers; l++) {
            sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, r->sample_id, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 3, l);
            sqlite3_bind_int64(st, 4, r->visual_per_layer[l]);
            if (sqlite3_step(st) != SQLITE_DONE) {
                db_sql_err(db, "writing per-layer token counts");
                goto rollback;
            }
            sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (db->fault_hook) db->fault_hook(2, db->fault_ctx);

    if (sqlite3_prepare_v2(db->db, "INSERT INTO timings (run_key, sample_id, stage, ms) VALUES (?1, ?2, ?3, ?4)", -1,
                           &st, NULL) != SQLITE_OK) {
        db_sql_err(db, "writing timings");
        goto rollback;
    }
    for (int i = 0; i < DB_N_STAGES; i++) {
        if (r->ms[i] < 0) continue;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->sample_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, db_stage_names[i], -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, r->ms[i]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            db_sql_err(db, "writing timings");
            goto rollback;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (db->fault_hook) db->fault_hook(3, db->fault_ctx);
    if (exec(db, "COMMIT", "committing a sample")) goto rollback;
    return DB_OK;
rollback:
    sqlite3_finalize(st);
    sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- merge --------------------------------------------------------------------------------- */

/* Runs one parameterless statement of the merge and adds sqlite3_changes() to *changes. */
/* what: "merging IN.db", for the message. */
static int merge_step(db_store *db, const char *merge_what, const char *sql, int64_t *changes) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) return db_sql_err(db, merge_what);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && changes) *changes += sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_sql_err(db, merge_what);
    if (rc == SQLITE_DONE && changes) *changes += sqlite3_changes(db->db);
    return DB_OK;
}

int db_merge_from(db_store *db, const char *in_path, db_merge_stats *stats) {
    memset(stats, 0, sizeof *stats);
    char err[2048];
    db_store *in = db_open_read(in_path, err, sizeof err); /* exists, is ours, migrated: never created */
    if (!in) return db_set_err(db, DB_ERR_OPEN, "cannot merge %s", err);
    db_close(in);

    /* attached by URI (the connection opens URIs): literally the path, or immutable when the
     * input is read-only (a read-only mount) and SQLite cannot attach it otherwise */
    int rc = SQLITE_ERROR;
    for (int pass = 0; pass < 2 && rc != SQLITE_DONE; pass++) {
        char uri[3200];
        if (pass == 1 && wal_pending_path(db, in_path)) return DB_ERR_OPEN;
        if (uri_of(in_path, pass ? "?immutable=1&mode=ro" : "", uri, sizeof uri))
            return db_set_err(db, DB_ERR_OPEN, "%s: path too long", in_path);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db->db, "ATTACH DATABASE ?1 AS src", -1, &st, NULL) != SQLITE_OK)
            return db_sql_err(db, "attaching the input");
        sqlite3_bind_text(st, 1, uri, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_DONE) return db_set_err(db, DB_ERR_IO, "attaching %s: %s", in_path, sqlite3_errmsg(db->db));

    int status = DB_ERR_IO;
    char what[1100];
    snprintf(what, sizeof what, "merging %s", in_path);
    if (exec(db, "BEGIN IMMEDIATE", what)) goto detach;
    static const char *count_joined =
        "SELECT count(*) FROM src.runs s JOIN main.runs m ON m.run_key = s.run_key";
    static const char *join_runs =
        "UPDATE main.runs SET"
        " n_expected = n_expected + (SELECT s.n_expected FROM src.runs s WHERE s.run_key = main.runs.run_key),"
        " status = CASE"
        "   WHEN status = 'failed' OR (SELECT s.status FROM src.runs s WHERE s.run_key = main.runs.run_key) = 'failed'"
        "     THEN 'failed'"
        "   WHEN status = 'running' OR (SELECT s.status FROM src.runs s WHERE s.run_key = main.runs.run_key) = 'running'"
        "     THEN 'running'"
        "   ELSE 'ok' END"
        " WHERE run_key IN (SELECT run_key FROM src.runs)";
    static const char *count_conflicts =
        "SELECT count(*) FROM src.samples s JOIN main.samples m USING (run_key, sample_id)"
        " WHERE s.status IS NOT m.status OR s.correct IS NOT m.correct OR s.raw_output IS NOT m.raw_output"
        " OR s.parsed IS NOT m.parsed";
    static const char *count_dups =
        "SELECT count(*) FROM src.samples s JOIN main.samples m USING (run_key, sample_id)";
    /* Per-layer counts and timings travel only with the samples this input adds. */
    static const char *new_samples =
        "CREATE TEMP TABLE merge_new AS SELECT run_key, sample_id FROM src.samples s"
        " WHERE NOT EXISTS (SELECT 1 FROM main.samples m WHERE m.run_key = s.run_key AND m.sample_id = s.sample_id)";
    int64_t dummy = 0;
    if (merge_step(db, what, count_joined, &stats->runs_joined) || merge_step(db, what, join_runs, &dummy) ||
        merge_step(db, what, "INSERT OR IGNORE INTO main.runs SELECT * FROM src.runs", &stats->runs_new) ||
        merge_step(db, what, count_conflicts, &stats->samples_conflicting) ||
        merge_step(db, what, count_dups, &stats->samples_duplicate) ||
        merge_step(db, what, "DROP TABLE IF EXISTS temp.merge_new", &dummy) ||
        merge_step(db, what, new_samples, &dummy) ||
        merge_step(db, what, "INSERT OR IGNORE INTO main.samples SELECT * FROM src.samples", &stats->samples_added) ||
        merge_step(db, what, "INSERT INTO main.layer_tokens SELECT * FROM src.layer_tokens"
                       " WHERE (run_key, sample_id) IN (SELECT run_key, sample_id FROM temp.merge_new)", &dummy) ||
        merge_step(db, what, "INSERT INTO main.timings SELECT * FROM src.timings"
                       " WHERE (run_key, sample_id) IN (SELECT run_key, sample_id FROM temp.merge_new)", &dummy) ||
        merge_step(db, what, "DROP TABLE temp.merge_new", &dummy)) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        goto detach;
    }
    if (exec(db, "COMMIT", what)) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        goto detach;
    }
    status = DB_OK;
detach:
    sqlite3_exec(db->db, "DETACH DATABASE src", NULL, NULL, NULL);
    return status;
}

/* ---- reading a run's spec ------------------------------------------------------------------- */

void db_run_record_free(db_run_record *r) {
    if (!r) return;
    char **f[] = {&r->model, &r->weights_digest, &r->benchmark, &r->revision, &r->split, &r->frame_policy,
                  &r->decoder, &r->method, &r->params_json, &r->compat, &r->quirks, &r->code_version,
                  &r->convention, &r->aggregate, &r->status, &r->created};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) free(*f[i]);
    memset(r, 0, sizeof *r);
}

int db_run_get(db_store *db, const char *key, db_run_record *out) {
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    static const char *sql =
        "SELECT model, weights_digest, benchmark, revision, split, frame_policy, decoder, method, params, compat,"
        " quirks, code_version, convention, aggregate, status, created, seed, n_expected FROM runs WHERE run_key = ?1";
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) return db_sql_err(db, "reading the run");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE) return db_set_err(db, DB_ERR_NOT_FOUND, "no run %s", key);
        return db_sql_err(db, "reading the run");
    }
    char **f[] = {&out->model, &out->weights_digest, &out->benchmark, &out->revision, &out->split,
                  &out->frame_policy, &out->decoder, &out->method, &out->params_json, &out->compat,
                  &out->quirks, &out->code_version, &out->convention, &out->aggregate, &out->status,
                  &out->created};
    int ok = 1;
    for (int i = 0; i < (int)(sizeof f / sizeof f[0]); i++) ok &= (*f[i] = col_dup(st, i)) != NULL;
    out->seed = sqlite3_column_int64(st, 16);
    out->n_expected = sqlite3_column_int64(st, 17);
    sqlite3_finalize(st);
    if (!ok) {
        db_run_record_free(out);
        return db_set_err(db, DB_ERR_IO, "out of memory reading run %.12s", key);
    }
    return DB_OK;
}

db_run_spec db_run_record_spec(const db_run_record *r) {
    db_run_spec s = db_run_spec_default();
    s.model = r->model, s.weights_digest = r->weights_digest, s.benchmark = r->benchmark;
    s.revision = r->revision, s.split = r->split, s.frame_policy = r->frame_policy, s.decoder = r->decoder;
    s.method = r->method, s.params_json = r->params_json, s.compat = r->compat, s.quirks = r->quirks;
    s.seed = r->seed, s.code_version = r->code_version, s.convention = r->convention;
    s.aggregate = r->aggregate, s.n_expected = r->n_expected;
    return s;
}

/* ---- rescoring -------------------------------------------------------------------------------- */

typedef struct {
    db_store *db;
    const char *key;
    db_rescore_fn fn;
    void *ctx;
    sqlite3_stmt *ins;
    int64_t n;
    int failed;
} rescore_ctx;

static int rescore_one(const db_sample_row *r, void *vctx) {
    rescore_ctx *c = vctx;
    db_rescored out = {.score = NAN};
    char err[512] = "";
    if (r->ok && c->fn(r, &out, c->ctx, err, sizeof err)) {
        db_set_err(c->db, DB_ERR_INVALID, "sample %s: %s", r->sample_id, err);
        return c->failed = 1;
    }
    sqlite3_stmt *st = c->ins;
    sqlite3_bind_text(st, 1, c->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->sample_id, -1, SQLITE_STATIC);
    if (r->ok) {
        if (out.parsed[0]) sqlite3_bind_text(st, 3, out.parsed, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(st, 3);
        sqlite3_bind_int(st, 4, out.correct != 0);
        sqlite3_bind_int(st, 5, out.parse_failed != 0);
        if (isnan(out.score)) sqlite3_bind_null(st, 6);
        else sqlite3_bind_double(st, 6, out.score);
        sqlite3_bind_int(st, 7, 1);
    } else {
        sqlite3_bind_null(st, 3), sqlite3_bind_int(st, 4, 0), sqlite3_bind_int(st, 5, r->parse_failed);
        sqlite3_bind_null(st, 6), sqlite3_bind_int(st, 7, 0);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        db_sql_err(c->db, "writing a rescored sample");
        return c->failed = 1;
    }
    c->n++;
    return 0;
}

int db_run_rescore(db_store *db, const char *src, const db_run_spec *spec, db_rescore_fn fn, void *ctx,
                   char key[DB_KEY_LEN + 1], int *existed, int64_t *n_samples) {
    char err[512];
    *existed = 0;
    *n_samples = 0;
    if (db_run_key(spec, key, NULL, err, sizeof err)) return db_set_err(db, DB_ERR_INVALID, "%s", err);
    if (!strcmp(key, src)) return db_set_err(db, DB_ERR_INVALID, "the rescored run would be run %.12s itself", src);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "SELECT 1 FROM runs WHERE run_key = ?1", -1, &st, NULL) != SQLITE_OK)
        return db_sql_err(db, "looking up the run");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) {
        *existed = 1;
        return DB_OK;
    }
    if (rc != SQLITE_DONE) return db_sql_err(db, "looking up the run");
    if (exec(db, "SAVEPOINT rescore", "starting the rescoring")) return DB_ERR_IO;
    int resumed, status = DB_ERR_IO;
    rescore_ctx c = {.db = db, .key = key, .fn = fn, .ctx = ctx};
    if ((status = db_run_open(db, spec, key, &resumed))) goto rollback;
    status = DB_ERR_IO;
    /* every column of the source row, the answer fields replaced */
    static const char *ins =
        "INSERT INTO samples (run_key, sample_id, video_id, categories, status, error, raw_output, parsed, gold,"
        " correct, parse_failed, n_visual_in, n_text, flops, equiv_retention, peak_bytes, created, kl_mean,"
        " top1_agree, method_json, score, options)"
        " SELECT ?1, sample_id, video_id, categories, status, error, raw_output,"
        " CASE WHEN ?7 THEN ?3 ELSE parsed END, gold, ?4, ?5, n_visual_in, n_text, flops, equiv_retention,"
        " peak_bytes, created, kl_mean, top1_agree, method_json, ?6, options"
        " FROM samples WHERE run_key = ?8 AND sample_id = ?2";
    if (sqlite3_prepare_v2(db->db, ins, -1, &c.ins, NULL) != SQLITE_OK) {
        db_sql_err(db, "rescoring");
        goto rollback;
    }
    sqlite3_bind_text(c.ins, 8, src, -1, SQLITE_STATIC);
    rc = db_sample_rows(db, src, rescore_one, &c);
    sqlite3_finalize(c.ins);
    c.ins = NULL;
    if (c.failed) {
        status = DB_ERR_INVALID;
        if (strstr(db->err, "writing")) status = DB_ERR_IO;
        goto rollback;
    }
    if (rc) goto rollback;
    static const char *const copies[] = {
        "INSERT INTO layer_tokens (run_key, sample_id, layer, visual)"
        " SELECT ?1, sample_id, layer, visual FROM layer_tokens WHERE run_key = ?2",
        "INSERT INTO timings (run_key, sample_id, stage, ms) SELECT ?1, sample_id, stage, ms FROM timings"
        " WHERE run_key = ?2",
        "UPDATE runs SET status = (SELECT status FROM runs WHERE run_key = ?2),"
        " quirks = (SELECT quirks FROM runs WHERE run_key = ?2) WHERE run_key = ?1",
    };
    for (size_t i = 0; i < sizeof copies / sizeof copies[0]; i++) {
        if (sqlite3_prepare_v2(db->db, copies[i], -1, &st, NULL) != SQLITE_OK) {
            db_sql_err(db, "rescoring");
            goto rollback;
        }
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, src, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            db_sql_err(db, "rescoring");
            goto rollback;
        }
    }
    if (exec(db, "RELEASE rescore", "committing the rescoring")) goto rollback;
    *n_samples = c.n;
    return DB_OK;
rollback:
    sqlite3_exec(db->db, "ROLLBACK TO rescore; RELEASE rescore", NULL, NULL, NULL);
    return status;
}
