/* store_fixture.h -- helpers shared by the store tests (test_store_*.c,
 * test_migrate.c, test_backup.c): reading a store's rows and meta data the way
 * the tools do, through the store interface. Header-only: each test program is
 * one file. */
#ifndef IPBORG_TEST_STORE_FIXTURE_H
#define IPBORG_TEST_STORE_FIXTURE_H

#include "store.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Calls fn for every row of table t in id order (a cursor underneath): the
 * record is valid during the call; non-zero from fn stops with STORE_ERROR
 * (err as fn left it, or a default). Returns STORE_OK at the end, or the
 * cursor's error. */
typedef int (*fixture_row_fn)(void *ctx, const struct grid_record *rec, char *err);

static inline int fixture_scan(struct store *st, enum grid_table t, fixture_row_fn fn,
                               void *ctx, char *err)
{
    struct store_cursor *cur = NULL;
    const struct grid_record *rec;
    int rc = store_cursor_open(st, t, &cur, err);
    while (rc == STORE_OK && (rc = store_cursor_next(cur, &rec, err)) == STORE_OK) {
        err[0] = '\0';
        if (fn(ctx, rec, err) != 0) {
            if (!err[0])
                store_errf(err, "stopped at id %lld", (long long)rec->id);
            rc = STORE_ERROR;
        }
    }
    store_cursor_close(cur);
    return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

/* A fresh, empty database of backend "sqlite" (a file in dir) or
 * "postgresql" (a database of its own on the server of IPBORG_TEST_PG_URL,
 * which must be set: a missing server fails the test, never skips it). The
 * URL goes into url; fixture_drop removes the database again. */
struct fixture_db {
    char backend[16];
    char url[1024];
    char name[256];         /* PostgreSQL: the database's name; SQLite: file path */
};

static inline void fixture_pg_admin(const char *sql)
{
    const char *base = getenv("IPBORG_TEST_PG_URL");
    if (!base || !*base)
        fail_msg("IPBORG_TEST_PG_URL is not set: the PostgreSQL store tests need a server "
                 "(make test starts one)");
    PGconn *c = PQconnectdb(base);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to %s: %s", base, PQerrorMessage(c));
    PGresult *res = PQexec(c, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
    if (!ok)
        fail_msg("%s: %s", sql, msg);
}

static inline void fixture_create(struct fixture_db *db, const char *backend, const char *dir)
{
    static int counter;
    memset(db, 0, sizeof *db);
    snprintf(db->backend, sizeof db->backend, "%s", backend);
    counter++;
    if (strcmp(backend, "sqlite") == 0) {
        snprintf(db->name, sizeof db->name, "%s/c%d.db", dir, counter);
        snprintf(db->url, sizeof db->url, "sqlite:///%s", db->name);
        return;
    }
    const char *base = getenv("IPBORG_TEST_PG_URL");
    if (!base || !*base)
        fail_msg("IPBORG_TEST_PG_URL is not set: the PostgreSQL store tests need a server "
                 "(make test starts one)");
    snprintf(db->name, sizeof db->name, "ipborg_contract_%d_%d", (int)getpid(), counter);
    char sql[400];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db->name);
    fixture_pg_admin(sql);
    /* base with its path replaced by the new database. */
    const char *p = strstr(base, "://");
    const char *slash = p ? strchr(p + 3, '/') : NULL;
    const char *query = strchr(base, '?');
    size_t head = slash ? (size_t)(slash - base) : query ? (size_t)(query - base) : strlen(base);
    snprintf(db->url, sizeof db->url, "%.*s/%s%s", (int)head, base, db->name,
             query ? query : "");
}

static inline void fixture_drop(struct fixture_db *db)
{
    if (strcmp(db->backend, "sqlite") == 0) {
        char p[300];
        unlink(db->name);
        snprintf(p, sizeof p, "%s-wal", db->name);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", db->name);
        unlink(p);
    } else if (db->name[0]) {
        char sql[400];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db->name);
        fixture_pg_admin(sql);
    }
}

#endif
