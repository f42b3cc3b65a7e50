/*
 * password_hash.c — the password-hash format "pbkdf2-sha256$<iterations>$<salt>$<hash>": parsed
 * strictly, made with a random salt, verified in constant time. No state; used by the
 * configuration loader (format check), the credential check and `pide-gateway --hash-password`.
 */
#include "password_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define HASH_PREFIX "pbkdf2-sha256$"
#define SALT_BYTES 16
#define DERIVED_KEY_BYTES 32
#define MIN_SALT_BYTES 8
#define MAX_SALT_BYTES 64

/* ---- base64 (standard alphabet, padded), strict on input ---- */

#define BASE64_LENGTH(n) (4 * (((n) + 2) / 3))

static int is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* Decodes exactly `len` characters of `in` into `out` (capacity `cap`). EVP_DecodeBlock skips
 * whitespace and ignores stray padding, so the text is checked here first: a hash in the
 * configuration is either exactly right or refused. */
static gw_status base64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                               size_t *out_len)
{
    if (len == 0 || len % 4 != 0)
        return GW_ERR_CONFIG;
    size_t padding = 0;
    if (in[len - 1] == '=')
        padding = (in[len - 2] == '=') ? 2 : 1;
    for (size_t i = 0; i < len - padding; i++)
        if (!is_base64_char(in[i]))
            return GW_ERR_CONFIG;
    size_t decoded = len / 4 * 3 - padding;
    if (decoded > cap)
        return GW_ERR_CONFIG;
    unsigned char scratch[MAX_SALT_BYTES + 3];
    if (len / 4 * 3 > sizeof scratch)
        return GW_ERR_CONFIG;
    if (EVP_DecodeBlock(scratch, (const unsigned char *)in, (int)len) != (int)(len / 4 * 3))
        return GW_ERR_CONFIG;
    memcpy(out, scratch, decoded);
    OPENSSL_cleanse(scratch, sizeof scratch);
    *out_len = decoded;
    return GW_OK;
}

/* ---- the hash string ---- */

typedef struct parsed_hash {
    unsigned iterations;
    unsigned char salt[MAX_SALT_BYTES];
    size_t salt_len;
    unsigned char derived[DERIVED_KEY_BYTES];
} parsed_hash;

static void set_reason(char *why, size_t whylen, const char *reason)
{
    gw_set_error(why, whylen, "%s", reason);
}

static gw_status parse_hash(const char *encoded, parsed_hash *ph, char *why, size_t whylen)
{
    if (!encoded) {
        set_reason(why, whylen, "password hash is missing");
        return GW_ERR_CONFIG;
    }
    if (strncmp(encoded, HASH_PREFIX, strlen(HASH_PREFIX)) != 0) {
        set_reason(why, whylen, "password hash must start with \"" HASH_PREFIX "\"");
        return GW_ERR_CONFIG;
    }
    const char *iter_text = encoded + strlen(HASH_PREFIX);
    const char *salt_text = strchr(iter_text, '$');
    const char *derived_text = salt_text ? strchr(salt_text + 1, '$') : NULL;
    if (!salt_text || !derived_text || strchr(derived_text + 1, '$')) {
        set_reason(why, whylen,
                   "password hash must have the form pbkdf2-sha256$<iterations>$<salt>$<hash>");
        return GW_ERR_CONFIG;
    }
    unsigned long iterations = 0;
    if (iter_text == salt_text || salt_text - iter_text > 9) {
        set_reason(why, whylen, "password hash iteration count is missing or too long");
        return GW_ERR_CONFIG;
    }
    for (const char *p = iter_text; p < salt_text; p++) {
        if (*p < '0' || *p > '9') {
            set_reason(why, whylen, "password hash iteration count is not a number");
            return GW_ERR_CONFIG;
        }
        iterations = iterations * 10 + (unsigned long)(*p - '0');
    }
    if (iterations < GW_PASSWORD_HASH_MIN_ITERATIONS || iterations > GW_PASSWORD_HASH_MAX_ITERATIONS) {
        char reason[160];
        snprintf(reason, sizeof reason,
                 "password hash iteration count %lu is outside %u..%u", iterations,
                 GW_PASSWORD_HASH_MIN_ITERATIONS, GW_PASSWORD_HASH_MAX_ITERATIONS);
        set_reason(why, whylen, reason);
        return GW_ERR_CONFIG;
    }
    ph->iterations = (unsigned)iterations;
    if (base64_decode(salt_text + 1, (size_t)(derived_text - salt_text - 1), ph->salt,
                      sizeof ph->salt, &ph->salt_len) != GW_OK ||
        ph->salt_len < MIN_SALT_BYTES) {
        set_reason(why, whylen, "password hash salt is not base64 of 8 to 64 bytes");
        return GW_ERR_CONFIG;
    }
    size_t derived_len = 0;
    if (base64_decode(derived_text + 1, strlen(derived_text + 1), ph->derived,
                      sizeof ph->derived, &derived_len) != GW_OK ||
        derived_len != DERIVED_KEY_BYTES) {
        set_reason(why, whylen, "password hash value is not base64 of 32 bytes");
        return GW_ERR_CONFIG;
    }
    return GW_OK;
}

gw_status gw_password_hash_check_format(const char *encoded_hash, char *why, size_t whylen)
{
    parsed_hash ph;
    gw_status st = parse_hash(encoded_hash, &ph, why, whylen);
    OPENSSL_cleanse(&ph, sizeof ph);
    return st;
}

static gw_status derive(const char *password, const unsigned char *salt, size_t salt_len,
                        unsigned iterations, unsigned char out[DERIVED_KEY_BYTES])
{
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, (int)iterations,
                          EVP_sha256(), DERIVED_KEY_BYTES, out) != 1)
        return GW_ERR_INTERNAL;
    return GW_OK;
}

gw_status gw_password_hash_new(const char *password, unsigned iterations, char **out)
{
    if (!password || !out)
        return GW_ERR_INVALID_ARG;
    *out = NULL;
    if (iterations == 0)
        iterations = GW_PASSWORD_HASH_DEFAULT_ITERATIONS;
    if (iterations < GW_PASSWORD_HASH_MIN_ITERATIONS || iterations > GW_PASSWORD_HASH_MAX_ITERATIONS ||
        strlen(password) > GW_PASSWORD_MAX_LENGTH)
        return GW_ERR_INVALID_ARG;

    unsigned char salt[SALT_BYTES], derived[DERIVED_KEY_BYTES];
    char salt_b64[BASE64_LENGTH(SALT_BYTES) + 1];
    char derived_b64[BASE64_LENGTH(DERIVED_KEY_BYTES) + 1];
    gw_status st = GW_ERR_INTERNAL;
    if (RAND_bytes(salt, sizeof salt) != 1)
        goto fail;
    if ((st = derive(password, salt, sizeof salt, iterations, derived)) != GW_OK)
        goto fail;

    EVP_EncodeBlock((unsigned char *)salt_b64, salt, sizeof salt);
    EVP_EncodeBlock((unsigned char *)derived_b64, derived, sizeof derived);
    size_t need = strlen(HASH_PREFIX) + 10 + 1 + sizeof salt_b64 + sizeof derived_b64 + 1;
    *out = malloc(need);
    if (!*out) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    snprintf(*out, need, HASH_PREFIX "%u$%s$%s", iterations, salt_b64, derived_b64);
    st = GW_OK;
fail:
    OPENSSL_cleanse(derived, sizeof derived);
    return st;
}

gw_status gw_password_hash_verify(const char *encoded_hash, const char *password)
{
    if (!password)
        return GW_ERR_INVALID_ARG;
    parsed_hash ph;
    unsigned char derived[DERIVED_KEY_BYTES];
    gw_status st = parse_hash(encoded_hash, &ph, NULL, 0);
    if (st != GW_OK)
        goto fail;
    if (strlen(password) > GW_PASSWORD_MAX_LENGTH) {
        st = GW_ERR_AUTHENTICATION;
        goto fail;
    }
    if ((st = derive(password, ph.salt, ph.salt_len, ph.iterations, derived)) != GW_OK)
        goto fail;
    st = CRYPTO_memcmp(derived, ph.derived, DERIVED_KEY_BYTES) == 0 ? GW_OK
                                                                     : GW_ERR_AUTHENTICATION;
fail:
    OPENSSL_cleanse(&ph, sizeof ph);
    OPENSSL_cleanse(derived, sizeof derived);
    return st;
}

void gw_password_hash_spend(const char *password)
{
    static const unsigned char salt[SALT_BYTES] = {0};
    unsigned char sink[DERIVED_KEY_BYTES];
    (void)derive(password, salt, sizeof salt, GW_PASSWORD_HASH_DEFAULT_ITERATIONS, sink);
    OPENSSL_cleanse(sink, sizeof sink);
}
