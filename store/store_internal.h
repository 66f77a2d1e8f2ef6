/* store_internal.h - what the store's own files share (store.c: schema, writes and merge;
 * store_query.c: reads; store_export.c: export). Not for other folders: they use store.h. */
#ifndef TB_STORE_INTERNAL_H
#define TB_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

struct db_store {
    sqlite3 *db;
    char path[1024];
    char err[2048];
    void (*fault_hook)(int step, void *ctx);
    void *fault_ctx;
};

/* Writes "PATH: message" into db->err and returns status. */
int db_set_err(db_store *db, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records the connection's last SQLite error for the action `what` ("reading runs") and returns
 * DB_ERR_IO. */
int db_sql_err(db_store *db, const char *what);

/* A run's headline accuracy by its aggregation rule (store_query.c). */
int db_run_accuracy(db_store *db, const char *key, const char *rule, double *acc);

/* ---- tables read from other tools' files (store_xlsx.c) ------------------------------------
 * A grid of cells as text: row 0 is the header. Every cell is a malloc'd, NUL-terminated string
 * ("" for an empty cell); a table owns its cells. */
typedef struct {
    size_t n_rows, n_cols;
    char **cells; /* [n_rows * n_cols] */
} db_table;

void db_table_free(db_table *t);
/* The cell at (row, col); "" past the grid. */
const char *db_table_cell(const db_table *t, size_t row, size_t col);
/* The column whose header is name, or -1. */
long db_table_col(const db_table *t, const char *name);

/* The first worksheet of an .xlsx file (bytes, untrusted): shared, inline and formula strings,
 * numbers as written, booleans as TRUE/FALSE; text with Excel's _xHHHH_ escapes decoded; a cell
 * holding a formula reads as "=" + the formula (what was typed). Read with libzip (each part at
 * most 256 MiB uncompressed) and libxml2 (no network, no external entities). Returns DB_OK, or
 * DB_ERR_INVALID with one line in err. */
int db_xlsx_read(const void *data, size_t len, db_table *out, char *err, size_t err_len);

/* Delimited text (CSV / TSV as pandas writes them: fields in double quotes, "" inside, quoted
 * newlines) into a table. Returns DB_OK, or DB_ERR_INVALID with one line in err. */
int db_dsv_read(const char *data, size_t len, char sep, db_table *out, char *err, size_t err_len);

#endif
