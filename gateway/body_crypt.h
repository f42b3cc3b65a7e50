/*
 * body_crypt.h — payload encryption at rest (docs/exchange-log.md, "Encrypted bodies"): a
 * service with <encryptAtRest recipient="auditor.pem"/> has the request, response and fault
 * message of its log rows stored as CMS EnvelopedData (RFC 5652), the content encrypted with a
 * fresh AES-256-CBC key wrapped to each recipient certificate (the auditors'), so only a holder
 * of one of their private keys can read them (`pide-audit exchange --decrypt-key`, or the stock
 * `openssl cms -decrypt -inform DER`). The worker encrypts (stage12_log.c), not the log writer.
 * A recipient set is read-only once built and shared by every worker.
 */
#ifndef PIDE_GW_BODY_CRYPT_H
#define PIDE_GW_BODY_CRYPT_H

#include <stddef.h>

#include "arena.h"
#include "status.h"

/* The value of the exchange_log column body_encryption for an encrypted row (migration 0008). */
#define GW_BODY_ENCRYPTION_CMS "cms"

typedef struct gw_body_crypt gw_body_crypt;

/* Checks that path holds one PEM X.509 certificate usable as a recipient: currently valid, an
 * RSA public key of 2048 bits or more, and a keyUsage (when present) that allows
 * keyEncipherment. GW_ERR_CONFIG with the reason (naming the file) in err otherwise. */
gw_status gw_body_crypt_check_recipient(const char *path, char *err, size_t errlen);

/* A recipient set from the certificate files (each checked as above); n >= 1. */
gw_status gw_body_crypt_new(const char *const *paths, size_t n, gw_body_crypt **out, char *err,
                            size_t errlen);
void gw_body_crypt_free(gw_body_crypt *bc);

/* DER CMS EnvelopedData of in[0..len) (binary, no MIME canonicalisation) in arena memory. */
gw_status gw_body_crypt_encrypt(const gw_body_crypt *bc, gw_arena *arena, const void *in,
                                size_t len, const unsigned char **out, size_t *out_len);
/* The same as base64 text (one line, NUL-terminated), for text columns (fault_message). */
gw_status gw_body_crypt_encrypt_text(const gw_body_crypt *bc, gw_arena *arena, const char *in,
                                     const char **out);

#endif
