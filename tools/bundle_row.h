/*
 * bundle_row.h — one exchange-log row in an evidence bundle (`pide-audit export`,
 * docs/auditor-guide.md "Evidence bundles"): the 39 hashed fields written as readable JSON
 * (row.json) and read back into their PostgreSQL binary send forms, so that verify-bundle can
 * recompute row_hash with the writer's own gw_log_row_hash without a database. The request and
 * response bytes live in files of their own next to row.json; the JSON names them.
 */
#ifndef PIDE_BUNDLE_ROW_H
#define PIDE_BUNDLE_ROW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exchange_log.h"

#define BUNDLE_FIELD_REQUEST 13
#define BUNDLE_FIELD_RESPONSE 14
#define BUNDLE_REQUEST_FILE "request.bin"
#define BUNDLE_RESPONSE_FILE "response.xml"

/* A row's fields in binary send form (gw_log_field), with the storage the decoded numbers need.
 * Text values point into the json_t they were read from: keep it alive while using them. */
typedef struct bundle_row {
    gw_log_field f[GW_LOG_FIELD_COUNT];
    unsigned char prev_hash[GW_LOG_HASH_LEN], row_hash[GW_LOG_HASH_LEN];
    int64_t seq;
    int version;
    unsigned char store[GW_LOG_FIELD_COUNT][GW_LOG_HASH_LEN]; /* numbers, uuid, digests */
} bundle_row;

/* The PostgreSQL type of canonical field i: 'i' int8, 'u' uuid, 'b' bytea, 't' timestamptz,
 * '4' int4, '2' int2, 's' text. */
char bundle_field_type(int i);

/* row.json of fields in binary send form (as the database sends them), prev_hash and row_hash;
 * t_logged as text (not hashed; informative). The request and response become
 * {"file": ..., "bytes": N} (null when NULL). NULL when out of memory or a value is malformed. */
json_t *bundle_row_to_json(const gw_log_field *fields, const unsigned char *prev_hash,
                           const unsigned char *row_hash, const char *t_logged);

/* Reads row.json back. request / response are the bytes of the files it names (NULL when
 * absent); a file named by the JSON but absent, or present for a NULL field, is an error. On
 * error false with the reason (naming the field) in why. */
bool bundle_row_from_json(json_t *row, const unsigned char *request, size_t request_len,
                          const unsigned char *response, size_t response_len, bundle_row *out,
                          char *why, size_t whylen);

/* Hex helpers. */
void bundle_hex(const unsigned char *b, size_t n, char *out /* 2n+1 */);
bool bundle_unhex(const char *hex, unsigned char *out, size_t n);

/* The offline verifiers' report (verify-bundle, verify-archive): one line per check on stdout,
 * "ok: ..." or "FAILED: ...", counted. */
typedef struct bundle_checker {
    int passed, failed;
} bundle_checker;
void bundle_check(bundle_checker *c, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
