/*
 * credential.h — legacy PIDE credentials (nuRucUsuario / nuDniUsuario / password in the request
 * body): salted PBKDF2-SHA256 password hashes, a verifier cache that keeps per-request checks
 * cheap, and reading secrets (passwords) from files only the gateway user can read.
 *
 * Hash format: "pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>" (standard base64 with
 * padding, a 32-byte derived key). The same string Python makes with
 * hashlib.pbkdf2_hmac("sha256", password, salt, iterations).
 */
#ifndef PIDE_GW_CREDENTIAL_H
#define PIDE_GW_CREDENTIAL_H

#include <stddef.h>

#include "config.h"
#include "status.h"

#define GW_CREDENTIAL_DEFAULT_ITERATIONS 100000u
/* Bounds accepted in a hash: below the minimum a hash is too cheap to guess, above the maximum
 * one configured hash could stall every worker. */
#define GW_CREDENTIAL_MIN_ITERATIONS 1000u
#define GW_CREDENTIAL_MAX_ITERATIONS 10000000u
/* Longer passwords are refused without hashing them. */
#define GW_CREDENTIAL_MAX_PASSWORD 1024u

/* Makes a new hash of `password` with a random 16-byte salt. iterations 0 means the default.
 * *out is malloc'd; free() it. */
gw_status gw_credential_hash(const char *password, unsigned iterations, char **out);

/* GW_OK when `password` matches; GW_ERR_AUTHENTICATION when it does not; GW_ERR_CONFIG when
 * `encoded_hash` is not a well-formed hash (a configuration error, never the caller's fault).
 * The comparison is constant-time. */
gw_status gw_credential_verify(const char *encoded_hash, const char *password);

/* GW_OK when `encoded_hash` is well-formed; otherwise GW_ERR_CONFIG and a reason in `why`
 * (used by the configuration loader to report file:line: reason). */
gw_status gw_credential_hash_check_format(const char *encoded_hash, char *why, size_t whylen);

/* Remembers successful (member, user, password) checks so that repeated requests of the same
 * caller cost one HMAC instead of one PBKDF2. Thread-safe. Only successes are remembered; the key
 * includes the configured hash, so a changed hash (configuration reload) never matches an old
 * entry. Entries are HMAC-SHA256 digests under a key drawn at creation: the cache never holds a
 * password. */
typedef struct gw_credential_cache gw_credential_cache;

typedef struct gw_credential_cache_stats {
    unsigned long hits;          /* checks answered from the cache */
    unsigned long pbkdf2_runs;   /* checks that ran PBKDF2 (misses, failures, unknown users) */
    unsigned long evictions;     /* entries dropped to make room */
    size_t entries;              /* entries held now */
} gw_credential_cache_stats;

/* capacity 0 means a default (4096 entries). NULL on allocation or randomness failure. */
gw_credential_cache *gw_credential_cache_new(size_t capacity);
void gw_credential_cache_free(gw_credential_cache *cache);
void gw_credential_cache_stats_get(gw_credential_cache *cache, gw_credential_cache_stats *out);

/* GW_OK when member `ruc` of `cfg` has a legacy credential for `user_dni` whose hash matches
 * `password`; GW_ERR_AUTHENTICATION otherwise (unknown member or user included: those cost a
 * PBKDF2 too, so timing does not tell which part was wrong). `cache` may be NULL (no caching). */
gw_status gw_credential_check(gw_credential_cache *cache, const gw_config *cfg, const char *ruc,
                              const char *user_dni, const char *password);

/* Reads a secret (e.g. the database password) from `path`. Refuses a file that is not a regular
 * file or whose mode gives any access to group or others (mode & 077). Strips one trailing
 * newline ("\n" or "\r\n"). *out is malloc'd: wipe and free it with gw_secret_free(). Errors name
 * the file and the reason, never the contents. */
gw_status gw_read_secret_file(const char *path, char **out, char *err, size_t errlen);
void gw_secret_free(char *secret);

#endif
