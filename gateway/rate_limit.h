/*
 * rate_limit.h — per-client token buckets (Client.RateLimited, HTTP 429 with Retry-After).
 *
 * Each client has a bucket of `burst` tokens refilled at `rate` tokens per second; a request
 * takes one token or is refused with the time until one is available. It keeps one member from
 * using up the gateway's workers, the provider's capacity or the log's write rate that other
 * members share. Key it on the authenticated client (after identification): a limit on a claimed,
 * unauthenticated id would let anyone drain another member's bucket.
 *
 * Per-client overrides (e.g. a bulk consumer with a contract for more) are set with
 * gw_rate_limiter_set_client() after creation and before the limiter is shared between threads.
 *
 * Thread-safe: buckets live in shards with their own mutex, chosen by a SipHash of the client id
 * under a key drawn at creation. Memory is bounded by max_clients. When the table is full, the
 * least recently used bucket is dropped if it has refilled completely (a new bucket starts full,
 * so nothing is forgotten). If it has not, the table is full of active clients: the new client is
 * refused (GW_ERR_RATE_LIMITED, counted in stats.refused_table_full) rather than letting it push
 * out a bucket whose owner would then get a fresh burst. Clients are authenticated members, so
 * max_clients >= number of members makes this impossible; the stat shows a mis-sized table.
 */
#ifndef PIDE_GW_RATE_LIMIT_H
#define PIDE_GW_RATE_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define GW_RATE_DEFAULT_PER_S 50.0
#define GW_RATE_DEFAULT_BURST 100.0
#define GW_RATE_DEFAULT_MAX_CLIENTS 10000u
#define GW_RATE_MAX_PER_S 1e6
#define GW_RATE_MAX_BURST 1e6
#define GW_RATE_MAX_CLIENTS_LIMIT (UINT32_C(1) << 24)

typedef struct gw_rate_limiter gw_rate_limiter;

typedef struct gw_rate_limiter_stats {
    uint64_t allowed;
    uint64_t limited;             /* refused because the client's bucket was empty */
    uint64_t refused_table_full;  /* refused because no bucket could be made for a new client */
    uint64_t evicted_idle;        /* full buckets dropped to make room */
    size_t clients;               /* buckets held now */
    size_t capacity;
    size_t overrides;
    unsigned shards;
} gw_rate_limiter_stats;

/* rate_per_s in (0, GW_RATE_MAX_PER_S], burst in [1, GW_RATE_MAX_BURST], max_clients in
 * 1..GW_RATE_MAX_CLIENTS_LIMIT. NULL on a bad argument, out of memory or no randomness. */
gw_rate_limiter *gw_rate_limiter_new(double rate_per_s, double burst, size_t max_clients);
void gw_rate_limiter_free(gw_rate_limiter *l);

/* Gives `client_id` its own rate and burst (same ranges as above); a second call for the same id
 * replaces the first. Not thread-safe: call before the limiter is used by several threads.
 * GW_ERR_INVALID_ARG on a bad value, GW_ERR_NOMEM. */
gw_status gw_rate_limiter_set_client(gw_rate_limiter *l, const char *client_id, double rate_per_s,
                                     double burst);

/* GW_OK: a token was taken. GW_ERR_RATE_LIMITED: none available; *retry_after_s (if not NULL)
 * is the number of seconds until one is (> 0; the caller rounds it up for Retry-After).
 * GW_ERR_INVALID_ARG: NULL or empty client id.
 * now_us comes from one monotonic clock shared by every caller; a now_us earlier than the
 * bucket's last update (threads racing) refills nothing. */
gw_status gw_rate_limit_take(gw_rate_limiter *l, const char *client_id, int64_t now_us,
                             double *retry_after_s);

void gw_rate_limiter_stats_get(gw_rate_limiter *l, gw_rate_limiter_stats *out);

#endif
