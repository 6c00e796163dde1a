/* deletions.h -- the deletion watcher: one thread per server that follows the
 * store's deletion log (store.h, watch_*) and reports each deleted grid to a
 * callback, which makes the server forget its cached answers. This is how a
 * grid deleted by `ipborg delete` (admin.c), perhaps on another machine,
 * stops being served by every server on the database within a second.
 *
 * The watcher holds a connection of its own. When it loses it, it logs one
 * line, reconnects at once and then every second until that works, and goes
 * on from its cursor: the log is durable, so no deletion is missed. */
#ifndef IPBORG_DELETIONS_H
#define IPBORG_DELETIONS_H

#include "store.h"

struct deletions_watcher;

/* Opens the watch and reads the log's current end on the calling thread
 * (so deletions from this moment on are all seen), then starts the thread,
 * which calls fn(ctx, d) for each later deletion, and fn(ctx, NULL) when some
 * may have been missed. NULL + one line in err (STORE_ERRLEN) on failure. */
struct deletions_watcher *deletions_watch_start(struct store *st, store_deletion_fn fn,
                                                void *ctx, char *err);

/* Stops the thread (within about a poll interval) and closes its connection. */
void deletions_watch_stop(struct deletions_watcher *w);

#endif
