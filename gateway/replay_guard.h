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
 * Partitioned per client: each client (the authenticated member) has its own table, so one
 * member, however many fresh ids it sends, can only ever push out its own entries, never another
 * member's (issue 8; with rate limits off a flood used to evict everyone's). A partition is found
 * by a SipHash of the client id under a key drawn at creation (callers cannot aim at a slot), has
 * its own mutex, starts with GW_REPLAY_PARTITION_FLOOR entries (or max_entries if smaller) and
 * doubles when full while either all partitions together hold fewer than max_entries, or this one
 * holds less than its fair share (max_entries / partitions). Otherwise it expires, then evicts its
 * own oldest live entry (counted in stats.evicted; stats.last_evicted_age_us tells operators how
 * short that client's effective window got). Refusing instead would let a client deny itself
 * service with a full table; evicting only shortens protection for that client's oldest ids.
 * Clients beyond GW_REPLAY_MAX_PARTITIONS (only possible with more members than that, or an
 * unauthenticated client id) share one overflow partition.
 *
 * Only 64-bit digests are stored (24 bytes an entry plus ~4 bytes of index), never the strings;
 * two distinct pairs share a digest with probability ~entries / 2^64 per check. Memory: entries
 * held stay below 2 x max_entries + partitions x floor, ring capacity below twice that.
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
#define GW_REPLAY_PARTITION_FLOOR 256u
#define GW_REPLAY_MAX_PARTITIONS 4096u

typedef struct gw_replay_guard gw_replay_guard;

typedef struct gw_replay_guard_stats {
    uint64_t accepted;            /* first sightings, remembered */
    uint64_t replayed;            /* refused with GW_ERR_REPLAY */
    uint64_t expired;             /* entries dropped because their window had passed */
    uint64_t evicted;             /* live entries dropped because the table was full */
    int64_t last_evicted_age_us;  /* age of the most recently evicted live entry; 0 if none */
    size_t entries;               /* held now (expired ones not yet purged included) */
    size_t capacity;              /* entries the partitions can hold now (they grow, see above) */
    unsigned shards;              /* partitions (clients seen, plus the overflow one if used) */
    unsigned window_s;
} gw_replay_guard_stats;

/* window_s in 1..GW_REPLAY_MAX_WINDOW_S, max_entries in 1..GW_REPLAY_MAX_ENTRIES_LIMIT. One
 * client alone can hold max_entries before it evicts (its own entries).
 * NULL on a bad argument, out of memory or no randomness. */
gw_replay_guard *gw_replay_guard_new(unsigned window_s, size_t max_entries);
void gw_replay_guard_free(gw_replay_guard *g);

/* GW_OK: first sighting of (client_id, message_id), remembered until now_us + window.
 * GW_ERR_REPLAY: already seen within the window (the entry keeps its first expiry).
 * GW_ERR_INVALID_ARG: NULL or empty strings.
 * now_us comes from one monotonic clock (CLOCK_MONOTONIC) shared by every caller. */
gw_status gw_replay_guard_check(gw_replay_guard *g, const char *client_id, const char *message_id,
                                int64_t now_us);

/* Forgets a pair accepted by gw_replay_guard_check whose exchange could not go on (the shared
 * replay store, replay_store.h, gave no answer): the client's retry must not be taken for a
 * replay. GW_OK, or GW_ERR_INVALID_ARG as for check; a pair not held is no error. */
gw_status gw_replay_guard_forget(gw_replay_guard *g, const char *client_id, const char *message_id);

/* A consistent-enough snapshot: partitions are read one after the other. */
void gw_replay_guard_stats_get(gw_replay_guard *g, gw_replay_guard_stats *out);

#endif
