/*
 * credential.h — legacy PIDE credentials (nuRucUsuario / nuDniUsuario / password in the request
 * body): the check of a member's official against the configured hash (format in
 * password_hash.h), and a verifier cache that keeps per-request checks cheap (and lets
 * concurrent checks of one caller share one PBKDF2). Secret files are secret_file.h's.
 */
#ifndef PIDE_GW_CREDENTIAL_H
#define PIDE_GW_CREDENTIAL_H

#include <stddef.h>

#include "config.h"
#include "status.h"

/* Remembers successful (member, user, password) checks so that repeated requests of the same
 * caller cost one HMAC instead of one PBKDF2. Thread-safe. Only successes are remembered; the key
 * includes the configured hash, so a changed hash (configuration reload) never matches an old
 * entry. Entries are HMAC-SHA256 digests under a key drawn at creation: the cache never holds a
 * password.
 *
 * Single flight: while one thread runs PBKDF2 for a key that is not cached, other checks of the
 * same key wait for its result instead of running their own (a cold start with many workers would
 * otherwise run one PBKDF2 per worker for the same caller). A success is cached and shared; a
 * failure is shared only with the checks already waiting, never cached: a check that arrives
 * after it runs PBKDF2 again, so every new password guess still costs one. Different keys never
 * wait for each other. A waiter gives up after the wait limit (GW_CREDENTIAL_DEFAULT_WAIT_MS
 * unless set) and runs PBKDF2 itself: one run takes milliseconds, so a run still going after
 * seconds means a starved or stuck thread that nobody should queue behind. */
typedef struct gw_credential_cache gw_credential_cache;

#define GW_CREDENTIAL_DEFAULT_WAIT_MS 5000u

typedef struct gw_credential_cache_stats {
    unsigned long hits;          /* checks answered from the cache */
    unsigned long pbkdf2_runs;   /* checks that ran PBKDF2 (misses, failures, unknown users) */
    unsigned long pbkdf2_waits;  /* checks answered by waiting for another thread's PBKDF2 */
    unsigned long wait_timeouts; /* waits given up at the wait limit (then counted as runs) */
    unsigned long evictions;     /* entries dropped to make room */
    size_t entries;              /* entries held now */
    size_t in_flight;            /* keys whose PBKDF2 others can wait for, now */
    size_t waiting;              /* checks waiting for one of those, now */
} gw_credential_cache_stats;

/* capacity 0 means a default (4096 entries). NULL on allocation or randomness failure. */
gw_credential_cache *gw_credential_cache_new(size_t capacity);
void gw_credential_cache_free(gw_credential_cache *cache);
void gw_credential_cache_stats_get(gw_credential_cache *cache, gw_credential_cache_stats *out);

/* How long a check waits for another thread's PBKDF2 of the same key before running its own;
 * 0 means never wait. Set it before the cache is shared between threads. */
void gw_credential_cache_set_wait_limit(gw_credential_cache *cache, unsigned milliseconds);

/* Called by a thread that ran PBKDF2 for a key others may wait for, after PBKDF2 and before the
 * result is shared, with no lock held. It exists for tests, which hold a check in flight this way
 * to see waiting happen without depending on timing. NULL removes it. Set it before the cache is
 * shared between threads. */
typedef void gw_credential_flight_hook(void *arg);
void gw_credential_cache_set_flight_hook(gw_credential_cache *cache,
                                         gw_credential_flight_hook *hook, void *arg);

/* GW_OK when member `ruc` of `cfg` has a legacy credential for `user_dni` whose hash matches
 * `password`; GW_ERR_AUTHENTICATION otherwise (unknown member or user included: those cost a
 * PBKDF2 too, so timing does not tell which part was wrong). `cache` may be NULL (no caching). */
gw_status gw_credential_check(gw_credential_cache *cache, const gw_config *cfg, const char *ruc,
                              const char *user_dni, const char *password);

#endif
