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

#endif
