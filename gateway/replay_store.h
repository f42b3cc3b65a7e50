/*
 * replay_store.h — the replay window shared by every gateway node on one PostgreSQL database
 * (table public.replay_seen, migration 0010; docs/scaling.md).
 *
 * The in-process guard (replay_guard.h) only knows what this process saw: behind a load
 * balancer a message id replayed to another node would pass it. This store records each
 * accepted (member, message id) in the database with one INSERT ... ON CONFLICT round trip;
 * the primary key makes the decision atomic across nodes (of two concurrent sightings exactly
 * one passes). Only the SHA-256 of the message id is stored. Expiries use the database's clock,
 * so every node counts the window on the same clock; a row whose window has passed is reused.
 *
 * Connections: a small pool of at most max_sessions sessions (opened on first need), each with
 * search_path pinned and the statement prepared; a check waits for a free session (up to the
 * timeout) rather than opening more, so N nodes hold at most N x max_sessions connections
 * however many workers they run. One round trip takes a session for well under a millisecond. A broken connection
 * is dropped and the check retried once on a fresh one; if no answer can be had, the check fails
 * (GW_ERR_DATABASE): the caller must refuse the exchange, never accept it unchecked.
 *
 * synchronous_commit is off for these sessions: a recorded id only has to survive a crash if
 * its exchange was answered, and an answer waits for its log row's durable commit, which flushes
 * the write-ahead log past this earlier insert (and, with synchronous replication, waits for
 * the standby to have it too).
 */
#ifndef PIDE_GW_REPLAY_STORE_H
#define PIDE_GW_REPLAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Expired rows deleted by one purge statement; a full batch makes the next check purge again. */
#define GW_REPLAY_STORE_PURGE_BATCH 1000u
#define GW_REPLAY_STORE_PURGE_INTERVAL_US INT64_C(5000000)

typedef struct gw_replay_store gw_replay_store;

typedef struct gw_replay_store_options {
    const char *conninfo; /* libpq conninfo (no password in it) */
    const char *password; /* may be NULL; copied, wiped on close */
    unsigned window_s;    /* 1..GW_REPLAY_MAX_WINDOW_S */
    int timeout_ms;       /* connect and statement timeout; 0: 5000 */
    size_t max_sessions;  /* database sessions at most; 0: 8 */
    /* true (the log's spool is on): an unreachable database at open is not an error; every
     * check fails closed (GW_ERR_DATABASE) until the database answers. */
    int start_without_db;
} gw_replay_store_options;

typedef struct gw_replay_store_stats {
    uint64_t accepted; /* first sightings recorded (or expired rows reused) */
    uint64_t replayed; /* live pair already there: GW_ERR_REPLAY */
    uint64_t failures; /* checks that got no answer from the database */
    uint64_t purged;   /* expired rows deleted */
    uint64_t connects; /* connections opened */
} gw_replay_store_stats;

/* Connects once to check the table is there and usable (migration 0010 applied, privileges
 * granted), so a missing migration stops the start rather than every exchange. */
gw_status gw_replay_store_open(const gw_replay_store_options *opt, gw_replay_store **out, char *err,
                               size_t errlen);
void gw_replay_store_close(gw_replay_store *s);

/* GW_OK: first sighting within the window, recorded. GW_ERR_REPLAY: already recorded by some
 * node within the window. GW_ERR_INVALID_ARG: NULL or empty strings, or a member longer than 256
 * bytes. GW_ERR_DATABASE: no answer (err says why, never the password). Thread-safe. */
gw_status gw_replay_store_check(gw_replay_store *s, const char *member, const char *message_id,
                                char *err, size_t errlen);

/* Deletes up to GW_REPLAY_STORE_PURGE_BATCH expired rows now; *deleted gets the count.
 * Checks call this by themselves every GW_REPLAY_STORE_PURGE_INTERVAL_US. */
gw_status gw_replay_store_purge(gw_replay_store *s, unsigned *deleted, char *err, size_t errlen);

void gw_replay_store_stats_get(gw_replay_store *s, gw_replay_store_stats *out);

#endif
