/*
 * body_crypt.c — CMS EnvelopedData encryption of logged bodies to the auditors' certificates
 * (body_crypt.h). OpenSSL's CMS_encrypt with AES-256-CBC, binary mode, DER out; the recipients'
 * certificates are checked once, when the configuration is loaded.
 */
#include "body_crypt.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_body_crypt {
    STACK_OF(X509) * recipients;
};

/* The reason of the newest OpenSSL error, or `fallback`. */
static const char *ssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : fallback;
}

static gw_status load_recipient(const char *path, X509 **out, char *err, size_t errlen)
{
    gw_status st = GW_ERR_CONFIG;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    FILE *f = NULL;
    *out = NULL;
    ERR_clear_error();
    if (!path || !*path) {
        gw_set_error(err, errlen, "encryptAtRest: no recipient certificate file given");
        goto fail;
    }
    if (!(f = fopen(path, "r"))) {
        gw_set_error(err, errlen, "encryptAtRest: cannot read the recipient certificate '%s'",
                     path);
        goto fail;
    }
    if (!(cert = PEM_read_X509(f, NULL, NULL, NULL))) {
        gw_set_error(err, errlen, "encryptAtRest: '%s' is not a PEM X.509 certificate (%s)", path,
                     ssl_reason("no certificate found"));
        goto fail;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0 ||
        X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
        gw_set_error(err, errlen,
                     "encryptAtRest: the recipient certificate '%s' is not valid now (expired or "
                     "not yet valid)",
                     path);
        goto fail;
    }
    key = X509_get_pubkey(cert);
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) < 2048) {
        gw_set_error(err, errlen,
                     "encryptAtRest: the recipient certificate '%s' has no RSA key of 2048 bits "
                     "or more",
                     path);
        goto fail;
    }
    if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) &&
        !(X509_get_key_usage(cert) & KU_KEY_ENCIPHERMENT)) {
        gw_set_error(err, errlen,
                     "encryptAtRest: the recipient certificate '%s' does not allow "
                     "keyEncipherment (keyUsage)",
                     path);
        goto fail;
    }
    *out = cert;
    cert = NULL;
    st = GW_OK;
fail:
    if (f)
        fclose(f);
    EVP_PKEY_free(key);
    X509_free(cert);
    ERR_clear_error();
    return st;
}

gw_status gw_body_crypt_check_recipient(const char *path, char *err, size_t errlen)
{
    X509 *cert = NULL;
    gw_status st = load_recipient(path, &cert, err, errlen);
    X509_free(cert);
    return st;
}

gw_status gw_body_crypt_new(const char *const *paths, size_t n, gw_body_crypt **out, char *err,
                            size_t errlen)
{
    gw_status st = GW_ERR_NOMEM;
    gw_body_crypt *bc = NULL;
    X509 *cert = NULL;
    *out = NULL;
    if (!paths || n == 0) {
        gw_set_error(err, errlen, "encryptAtRest: no recipient certificate");
        return GW_ERR_CONFIG;
    }
    if (!(bc = calloc(1, sizeof *bc)) || !(bc->recipients = sk_X509_new_null()))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if ((st = load_recipient(paths[i], &cert, err, errlen)) != GW_OK)
            goto fail;
        if (!sk_X509_push(bc->recipients, cert)) {
            st = GW_ERR_NOMEM;
            goto fail;
        }
        cert = NULL;
    }
    *out = bc;
    return GW_OK;
fail:
    X509_free(cert);
    gw_body_crypt_free(bc);
    return st;
}

void gw_body_crypt_free(gw_body_crypt *bc)
{
    if (!bc)
        return;
    sk_X509_pop_free(bc->recipients, X509_free);
    free(bc);
}

gw_status gw_body_crypt_encrypt(const gw_body_crypt *bc, gw_arena *arena, const void *in,
                                size_t len, const unsigned char **out, size_t *out_len)
{
    gw_status st = GW_ERR_INTERNAL;
    BIO *src = NULL, *dst = NULL;
    CMS_ContentInfo *cms = NULL;
    unsigned char *copy;
    char *mem = NULL;
    long n;
    *out = NULL;
    *out_len = 0;
    if (!bc || !arena || (!in && len) || len > (size_t)INT32_MAX)
        return GW_ERR_INVALID_ARG;
    if (!(src = BIO_new_mem_buf(len ? in : "", (int)len)) || !(dst = BIO_new(BIO_s_mem())))
        goto fail;
    cms = CMS_encrypt(bc->recipients, src, EVP_aes_256_cbc(), CMS_BINARY);
    if (!cms || i2d_CMS_bio(dst, cms) != 1)
        goto fail;
    n = BIO_get_mem_data(dst, &mem);
    if (n <= 0)
        goto fail;
    st = GW_ERR_NOMEM;
    if (!(copy = gw_arena_alloc(arena, (size_t)n)))
        goto fail;
    memcpy(copy, mem, (size_t)n);
    *out = copy;
    *out_len = (size_t)n;
    st = GW_OK;
fail:
    CMS_ContentInfo_free(cms);
    BIO_free(src);
    BIO_free(dst);
    ERR_clear_error();
    return st;
}

gw_status gw_body_crypt_encrypt_text(const gw_body_crypt *bc, gw_arena *arena, const char *in,
                                     const char **out)
{
    const unsigned char *der;
    size_t der_len;
    *out = NULL;
    if (!in)
        return GW_ERR_INVALID_ARG;
    gw_status st = gw_body_crypt_encrypt(bc, arena, in, strlen(in), &der, &der_len);
    if (st != GW_OK)
        return st;
    char *b64 = gw_arena_alloc(arena, 4 * ((der_len + 2) / 3) + 1);
    if (!b64)
        return GW_ERR_NOMEM;
    EVP_EncodeBlock((unsigned char *)b64, der, (int)der_len);
    *out = b64;
    return GW_OK;
}
