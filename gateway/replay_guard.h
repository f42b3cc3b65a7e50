/*
 * replay_guard.h — refuses a message id a client already used within a time window
 * (Client.Replay).
 *
 * Every request carries a message id in the pide-gateway header (X-Road's messageId, PIDE's
 * CUO). A captured request sent again must not be executed twice, so the guard remembers each
 * (client, message id) pair until `window` seconds after it was first seen. Requests older than
 * the window must be refused by the timestamp check (GW_ERR_TIMESTAMP): the window has to be at
 * least the accepted timestamp age plus clock skew, or a replay just after the window passes.
 *
 * Thread-safe: the table is split into shards (up to 64), each with its own mutex, chosen by a
 * SipHash of (client, id) under a key drawn at creation, so callers cannot aim at one shard or one
 * bucket. Only the 64-bit digest is stored (24 bytes an entry plus ~4 bytes of index), never the
 * strings; two distinct pairs share a digest with probability ~entries / 2^64 per check.
 *
 * Memory is bounded. When a shard is full, expired entries go first; if it is still full the
 * oldest live entry is evicted (counted in stats.evicted). Refusing instead would let one client
 * that floods fresh ids deny service to every client; evicting only shortens protection for the
 * oldest ids, and stats.last_evicted_age_us tells operators how short the effective window got.
 * Size max_entries >= peak accepted requests per second x window (docs/abuse-limits.md).
 */
#ifndef PIDE_GW_REPLAY_GUARD_H
#define PIDE_GW_REPLAY_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define GW_REPLAY_DEFAULT_WINDOW_S 300u
#define GW_REPLAY_DEFAULT_MAX_ENTRIES 1000000u
#define GW_REPLAY_MAX_WINDOW_S 86400u
#define GW_REPLAY_MAX_ENTRIES_LIMIT (UINT32_C(1) << 28)

typedef struct gw_replay_guard gw_replay_guard;

typedef struct gw_replay_guard_stats {
    uint64_t accepted;            /* first sightings, remembered */
    uint64_t replayed;            /* refused with GW_ERR_REPLAY */
    uint64_t expired;             /* entries dropped because their window had passed */
    uint64_t evicted;             /* live entries dropped because the table was full */
    int64_t last_evicted_age_us;  /* age of the most recently evicted live entry; 0 if none */
    size_t entries;               /* held now (expired ones not yet purged included) */
    size_t capacity;              /* entries the table can hold (memory bound) */
    unsigned shards;
    unsigned window_s;
} gw_replay_guard_stats;

/* window_s in 1..GW_REPLAY_MAX_WINDOW_S, max_entries in 1..GW_REPLAY_MAX_ENTRIES_LIMIT.
 * Tables below 2048 entries have one shard and hold exactly max_entries; larger ones are split
 * into shards of at least 1024 and hold up to 25 % more, so that uneven hashing does not evict
 * before max_entries are held. NULL on a bad argument, out of memory or no randomness. */
gw_replay_guard *gw_replay_guard_new(unsigned window_s, size_t max_entries);
void gw_replay_guard_free(gw_replay_guard *g);

/* GW_OK: first sighting of (client_id, message_id), remembered until now_us + window.
 * GW_ERR_REPLAY: already seen within the window (the entry keeps its first expiry).
 * GW_ERR_INVALID_ARG: NULL or empty strings.
 * now_us comes from one monotonic clock (CLOCK_MONOTONIC) shared by every caller. */
gw_status gw_replay_guard_check(gw_replay_guard *g, const char *client_id, const char *message_id,
                                int64_t now_us);

/* A consistent-enough snapshot: shards are read one after the other. */
void gw_replay_guard_stats_get(gw_replay_guard *g, gw_replay_guard_stats *out);

#endif
