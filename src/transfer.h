/* transfer.h -- the one pipeline that moves rows into a store: migrate and
 * import feed it, export and the verifications read through the same row
 * forms (row.h).
 *
 * A transfer is one load transaction on the target (store_load_*): it is
 * refused on a target holding grids unless replace (which empties the target
 * first: grids, deletion log, high-water marks, undated marks, salts); it
 * takes the salts, every row (checked, digested in canonical form, loaded),
 * the deletion log and the high-water marks; it commits all or nothing. After
 * the commit, transfer_verify re-opens the target read-only and checks that it
 * holds exactly what was loaded: per table the count and digest of the
 * canonical rows, the salts, the high-water marks and the deletion log.
 *
 * Messages: transfer_fail is the one failure printer of these commands: one
 * line "ipborg CMD: ..." on msgs, line breaks of backend texts flattened, and
 * passwords hidden (redact.h). Results go to out. */
#ifndef IPBORG_TRANSFER_H
#define IPBORG_TRANSFER_H

#include <stdio.h>

#include "row.h"
#include "store.h"

#define TRANSFER_MSGLEN (2 * STORE_ERRLEN)

/* One line "ipborg CMD: ..." on msgs (nothing when msgs is NULL). */
void transfer_fail(FILE *msgs, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Progress on a stream: after the first IPBORG_PROGRESS_SECONDS (default 1),
 * "ipborg CMD: WHAT: done/total rows (p%), r rows/s" about that often (a \r
 * line on a terminal). */
struct progress {
    FILE *f;
    int tty;
    const char *cmd, *what;
    double start, last, interval;
    int64_t done, total;
    int open_line;
};
void progress_start(struct progress *p, FILE *f, const char *cmd, const char *what,
                    int64_t total);
void progress_tick(struct progress *p);
/* Ends a \r line so that what follows starts on a line of its own. */
void progress_break(struct progress *p);

struct transfer {
    const char *cmd;            /* "migrate", "import": for messages */
    FILE *out, *msgs;
    struct store *dst;
    int loading;                /* between transfer_begin and commit/abort */
    struct progress pg;
    int64_t rows[GRID_TABLES], max_id[GRID_TABLES];
    struct digest dg[GRID_TABLES];      /* canonical rows, in load order */
    int64_t deletions;
    struct digest log_dg;               /* deletion lines, in load order */
    int64_t last[GRID_TABLES];          /* high-water marks loaded */
    char *pub, *sec;                    /* salts loaded (malloc'd), or none */
};

/* Opens the target read-write and begins the load (see the top). 0, or -1
 * after printing why (shown: the URL for messages, without password). */
int transfer_begin(struct transfer *tr, const char *cmd, const char *dst_url,
                   const char *shown, int replace, FILE *out, FILE *msgs);

/* Inside the load: gives the target salts pub/sec (both, or NULL for none;
 * from: where they come from, for messages). Salts the target already stores
 * (a target without grids; --replace removed any) are replaced when
 * overwrite (import: the file's salts give its grids their URLs), kept when
 * equal, and otherwise refused when grids are coming (has_rows), since
 * those would get other URLs. 0, or -1 after printing why. */
int transfer_salts(struct transfer *tr, const char *pub, const char *sec, const char *from,
                   int overwrite, int has_rows);

/* Checks row rec of table t (row_check), loads it and folds it into the
 * digest. 0, or -1 with one line in err (TRANSFER_MSGLEN) naming the column
 * or the write that failed; the caller says where the row came from. */
int transfer_row(struct transfer *tr, enum grid_table t, const struct grid_record *rec,
                 char *err);
/* Appends a deletion log entry / raises a high-water mark. 0, or -1 + err. */
int transfer_deletion(struct transfer *tr, const struct store_deletion *d, char *err);
int transfer_last_id(struct transfer *tr, enum grid_table t, int64_t last_id, char *err);

/* Commits (0, or -1 after printing why: then nothing was written), or rolls
 * back (transfer_abort, after a failure; prints nothing). Both close the
 * target. */
int transfer_commit(struct transfer *tr);
void transfer_abort(struct transfer *tr);

/* After the commit: re-opens dst_url read-only and compares it with what was
 * loaded. Prints "verification: TABLE: N rows ..., digest X" per table and,
 * on a difference, returns -1 with it in msg (TRANSFER_MSGLEN) and the table in
 * *bad_table (-1 for salts, marks, log); 0 when all is equal. */
int transfer_verify(struct transfer *tr, const char *dst_url, int *bad_table, char *msg);

/* Compares table t of two stores row by row with two cursors, in one thread;
 * names the first difference in msg. 0 when equal. */
int transfer_compare(struct store *a, struct store *b, enum grid_table t,
                     struct progress *pg, int64_t *rows, char *msg);

/* Frees what tr holds (salts). */
void transfer_clear(struct transfer *tr);

#endif
