/*
 * spool.h — a durable local spool for exchange-log rows: append-only, checksummed records in
 * segment files on local disk, bounded in size, read back in order by one replayer.
 *
 * The exchange log (exchange_log.c) writes here instead of PostgreSQL while the database is
 * down or slow (docs/reliability.md, "The spool"). The spool knows nothing of rows: a record is
 * an opaque payload. On disk a record is
 *
 *     magic "PSP1" (4) | be32 payload length | be32 CRC-32C(length bytes || payload) | payload
 *
 * appended to seg-<16 hex digits>.spool files. gw_spool_append writes a whole batch and calls
 * fdatasync once before it returns GW_OK: a record is durable when, and only when, the call that
 * appended it returned GW_OK. The replay position (segment, offset) lives in replay.offset,
 * replaced atomically (write, fsync, rename, fsync of the folder); segments wholly before it are
 * deleted.
 *
 * On open, an invalid record at the very end of the last segment, with no valid record after it,
 * is a torn append (a crash mid-write, never acknowledged) and is cut off. Any other invalid
 * record is corruption: the records before it are replayed, then gw_spool_peek fails at it and
 * the spool reports itself corrupt — it is never skipped.
 *
 * One appender thread and one reader thread may use a spool at once; gw_spool_compact needs
 * neither to be running.
 */
#ifndef PIDE_GW_SPOOL_H
#define PIDE_GW_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct gw_spool gw_spool;

/* Records returned by gw_spool_peek, in order; gw_spool_consume marks them replayed. */
typedef struct gw_spool_batch {
    size_t n;
    unsigned char **data;
    size_t *len;
    uint64_t end_seg, end_off; /* the replay position after the last record */
} gw_spool_batch;

typedef struct gw_spool_stats {
    uint64_t bytes;          /* on disk: every segment file, replayed head included */
    uint64_t records;        /* appended and not yet replayed */
    uint64_t replayed_total; /* records consumed since open */
    uint64_t full_total;     /* appends refused because the spool was full */
    uint64_t torn_bytes;     /* cut off a torn tail at open */
    uint64_t max_bytes;
    bool full_now; /* the last append was refused as full (until one fits again) */
    bool corrupt; /* an invalid record stops the replay: operator needed */
    bool failed;  /* a write or fsync failed: no more appends */
} gw_spool_stats;

/* Opens (creating it 0700 when absent) the spool folder dir: refused unless it is a folder
 * owned by this user without group or other access. max_bytes bounds the segment files. */
gw_status gw_spool_open(const char *dir, uint64_t max_bytes, gw_spool **out, char *err,
                        size_t errlen);
void gw_spool_close(gw_spool *sp);

/* Appends n records and makes them durable with one fdatasync. GW_OK: every record is on disk.
 * GW_ERR_LOG_UNAVAILABLE: the spool is full (nothing written). GW_ERR_IO: write or fsync failed
 * (nothing acknowledged; the spool refuses further appends). */
gw_status gw_spool_append(gw_spool *sp, const unsigned char *const *data, const size_t *len,
                          size_t n, char *err, size_t errlen);

/* Up to max_records records from the replay position (not consumed). GW_OK with out->n == 0
 * when nothing is waiting. GW_ERR_IO when the next record is corrupt (the spool is then marked
 * corrupt) or cannot be read. Records before a corrupt one are returned first. */
gw_status gw_spool_peek(gw_spool *sp, size_t max_records, gw_spool_batch *out, char *err,
                        size_t errlen);
/* Moves the durable replay position past the batch and deletes fully replayed segments. */
gw_status gw_spool_consume(gw_spool *sp, const gw_spool_batch *b, char *err, size_t errlen);
void gw_spool_batch_free(gw_spool_batch *b);

/* When nothing is waiting, starts a new empty segment and deletes the replayed ones, so the
 * bound counts only what is waiting. No append or peek may run meanwhile. */
gw_status gw_spool_compact(gw_spool *sp, char *err, size_t errlen);

void gw_spool_stats_of(gw_spool *sp, gw_spool_stats *out);
bool gw_spool_is_empty(gw_spool *sp);

/* CRC-32C (Castagnoli), exposed for tests. */
uint32_t gw_crc32c(uint32_t crc, const void *data, size_t len);

#endif
