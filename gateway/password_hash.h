/*
 * password_hash.h — the stored form of a legacy PIDE password: salted PBKDF2-SHA256.
 *
 * Format: "pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>" (standard base64 with
 * padding, a 32-byte derived key). The same string Python makes with
 * hashlib.pbkdf2_hmac("sha256", password, salt, iterations). Pure functions, no state: the
 * configuration loader checks the format, credential.c verifies, main.c makes new hashes.
 */
#ifndef PIDE_GW_PASSWORD_HASH_H
#define PIDE_GW_PASSWORD_HASH_H

#include <stddef.h>

#include "status.h"

#define GW_PASSWORD_HASH_DEFAULT_ITERATIONS 100000u
/* Bounds accepted in a hash: below the minimum a hash is too cheap to guess, above the maximum
 * one configured hash could stall every worker. */
#define GW_PASSWORD_HASH_MIN_ITERATIONS 1000u
#define GW_PASSWORD_HASH_MAX_ITERATIONS 10000000u
/* Longer passwords are refused without hashing them. */
#define GW_PASSWORD_MAX_LENGTH 1024u

/* Makes a new hash of `password` with a random 16-byte salt. iterations 0 means the default.
 * *out is malloc'd; free() it. */
gw_status gw_password_hash_new(const char *password, unsigned iterations, char **out);

/* GW_OK when `password` matches; GW_ERR_AUTHENTICATION when it does not; GW_ERR_CONFIG when
 * `encoded_hash` is not a well-formed hash (a configuration error, never the caller's fault).
 * The comparison is constant-time. */
gw_status gw_password_hash_verify(const char *encoded_hash, const char *password);

/* GW_OK when `encoded_hash` is well-formed; otherwise GW_ERR_CONFIG and a reason in `why`
 * (used by the configuration loader to report file:line: reason). */
gw_status gw_password_hash_check_format(const char *encoded_hash, char *why, size_t whylen);

/* Spends what a verification at the default iteration count costs, and nothing else: an unknown
 * user then answers no faster than a wrong password. */
void gw_password_hash_spend(const char *password);

#endif
