/* handlers.h -- one function per route: parse the request, call the grid
 * module and the store, fill the reply. The routing table lives here too, so
 * that the whole HTTP API (docs/protocol.md §3) reads in one place.
 *
 * Handlers hold no state between requests; everything they share is in struct
 * app, which is filled before the server starts and read-only afterwards. */
#ifndef IPBORG_HANDLERS_H
#define IPBORG_HANDLERS_H

#include <stdatomic.h>

#include "config.h"
#include "grid.h"
#include "hashid.h"
#include "server.h"
#include "store.h"

struct app {
    const struct config *cfg;
    struct store *store;
    struct hashid *hashid[GRID_TABLES];   /* one codec per table (salt) */
    struct grid_limits limits;
    struct http_server *_Atomic server;   /* set once the server runs (metrics) */
    atomic_uint_fast64_t posted[GRID_TABLES];   /* grids stored by this process */
};

/* GET/HEAD/POST routes of docs/protocol.md §3, ending with a NULL method. */
extern const struct http_route handlers_routes[];

/* A store_deletion_fn (store.h) with app as ctx: makes the running server
 * forget every cached answer about the deleted grid (its page, /get answer
 * and PNG), or, for d NULL, every cached answer. Thread-safe. */
void handlers_forget_deleted(void *app, const struct store_deletion *d);

/* The 404 page, for every path no route takes. */
void handle_not_found(void *app, const struct http_request *req,
                      struct http_reply *reply, const char *arg);

#endif
