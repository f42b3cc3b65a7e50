/* rest_sign.c — the JWS (detached, unencoded payload) of REST answers (see rest_sign.h). */
#include "rest_sign.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void gw_base64url_encode(const unsigned char *in, size_t len, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
        out[o++] = B64URL[v >> 6 & 63];
        out[o++] = B64URL[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
        out[o++] = B64URL[v >> 6 & 63];
    }
    out[o] = '\0';
}

long gw_base64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap)
{
    if (len % 4 == 1)
        return -1;
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = memchr(B64URL, in[i], 64);
        if (!p || !in[i])
            return -1;
        acc = acc << 6 | (unsigned)(p - B64URL);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outcap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    if (bits && (acc & ((1u << bits) - 1)))
        return -1; /* non-canonical trailing bits */
    return (long)o;
}

/* The JWS alg of key, its digest and (EC) the size of r and s. NULL when unsupported. */
static const char *alg_of(EVP_PKEY *key, const EVP_MD **md, size_t *coord)
{
    *coord = 0;
    if (EVP_PKEY_is_a(key, "RSA")) {
        *md = EVP_sha256();
        return "RS256";
    }
    if (EVP_PKEY_is_a(key, "EC")) {
        int bits = EVP_PKEY_get_bits(key);
        if (bits == 256) {
            *md = EVP_sha256();
            *coord = 32;
            return "ES256";
        }
        if (bits == 384) {
            *md = EVP_sha384();
            *coord = 48;
            return "ES384";
        }
    }
    return NULL;
}

static int cert_thumbprint(X509 *cert, char out[64])
{
    unsigned char der_hash[32];
    unsigned int n = 0;
    if (X509_digest(cert, EVP_sha256(), der_hash, &n) != 1 || n != 32)
        return 0;
    gw_base64url_encode(der_hash, 32, out);
    return 1;
}

/* b64url(header) "." body, malloc'd. */
static unsigned char *signing_input(const char *hdr_b64, const char *body, size_t len,
                                    size_t *out_len)
{
    size_t h = strlen(hdr_b64);
    unsigned char *in = malloc(h + 1 + len + 1);
    if (!in)
        return NULL;
    memcpy(in, hdr_b64, h);
    in[h] = '.';
    if (len)
        memcpy(in + h + 1, body, len);
    *out_len = h + 1 + len;
    return in;
}

gw_status gw_rest_jws_sign(EVP_PKEY *key, X509 *cert, const char *body, size_t len,
                           const char *exchange_id, int http_status, char **out, char *err,
                           size_t errlen)
{
    gw_status st = GW_ERR_SIGNATURE;
    const EVP_MD *md = NULL;
    size_t coord = 0;
    char x5t[64], *hdr_json = NULL, *hdr_b64 = NULL, *result = NULL;
    unsigned char *input = NULL, *der = NULL;
    EVP_MD_CTX *mctx = NULL;
    ECDSA_SIG *es = NULL;
    json_t *hdr = NULL;
    *out = NULL;
    const char *alg = key ? alg_of(key, &md, &coord) : NULL;
    if (!alg || !cert || !cert_thumbprint(cert, x5t)) {
        gw_set_error(err, errlen, "the signing key is neither RSA nor EC P-256/P-384");
        goto fail;
    }
    hdr = json_pack("{s:s, s:b, s:[s], s:s, s:s, s:s, s:i}", "alg", alg, "b64", 0, "crit", "b64",
                    "cty", "application/json", "x5t#S256", x5t, "pide-exchange-id",
                    exchange_id ? exchange_id : "", "pide-status", http_status);
    hdr_json = hdr ? json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    size_t hl = hdr_json ? strlen(hdr_json) : 0;
    hdr_b64 = hdr_json ? malloc(4 * (hl + 2) / 3 + 1) : NULL;
    if (!hdr_b64) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    gw_base64url_encode((const unsigned char *)hdr_json, hl, hdr_b64);
    size_t in_len = 0;
    input = signing_input(hdr_b64, body, len, &in_len);
    mctx = EVP_MD_CTX_new();
    size_t sig_len = 0;
    if (!input || !mctx || EVP_DigestSignInit(mctx, NULL, md, NULL, key) != 1 ||
        EVP_DigestSign(mctx, NULL, &sig_len, input, in_len) != 1 || !(der = malloc(sig_len)) ||
        EVP_DigestSign(mctx, der, &sig_len, input, in_len) != 1) {
        gw_set_error(err, errlen, "signing failed: %s",
                     ERR_reason_error_string(ERR_peek_last_error()));
        goto fail;
    }
    unsigned char raw[512];
    size_t raw_len = sig_len;
    if (coord) {
        /* JWS wants r || s, each left-padded to the curve size (RFC 7518 3.4), not DER. */
        const unsigned char *p = der;
        es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
        const BIGNUM *r = NULL, *s = NULL;
        if (es)
            ECDSA_SIG_get0(es, &r, &s);
        if (!es || BN_bn2binpad(r, raw, (int)coord) < 0 ||
            BN_bn2binpad(s, raw + coord, (int)coord) < 0) {
            gw_set_error(err, errlen, "cannot convert the ECDSA signature");
            goto fail;
        }
        raw_len = 2 * coord;
    } else {
        if (sig_len > sizeof raw) {
            gw_set_error(err, errlen, "RSA key too large");
            goto fail;
        }
        memcpy(raw, der, sig_len);
    }
    size_t hb = strlen(hdr_b64);
    result = malloc(hb + 2 + 4 * (raw_len + 2) / 3 + 1);
    if (!result) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    memcpy(result, hdr_b64, hb);
    result[hb] = result[hb + 1] = '.';
    gw_base64url_encode(raw, raw_len, result + hb + 2);
    *out = result;
    result = NULL;
    st = GW_OK;
fail:
    ERR_clear_error();
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(mctx);
    free(der);
    free(input);
    free(hdr_b64);
    free(hdr_json);
    free(result);
    json_decref(hdr);
    return st;
}

gw_status gw_rest_jws_verify(X509 *cert, const char *jws, const char *body, size_t len,
                             const char *exchange_id, int http_status, char *err, size_t errlen)
{
    gw_status st = GW_ERR_BAD_SIGNATURE;
    EVP_PKEY *key = cert ? X509_get0_pubkey(cert) : NULL;
    json_t *hdr = NULL;
    unsigned char *input = NULL, *der = NULL;
    char *hdr_b64 = NULL;
    EVP_MD_CTX *mctx = NULL;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    const EVP_MD *md = NULL;
    size_t coord = 0;
    const char *dots = jws ? strstr(jws, "..") : NULL;
    const char *alg = key ? alg_of(key, &md, &coord) : NULL;
    if (!alg) {
        gw_set_error(err, errlen, "the certificate's key is neither RSA nor EC P-256/P-384");
        goto fail;
    }
    if (!dots || strchr(dots + 2, '.') || memchr(jws, '.', (size_t)(dots - jws))) {
        gw_set_error(err, errlen, "not a detached JWS (HEADER..SIGNATURE)");
        goto fail;
    }
    size_t hl = (size_t)(dots - jws);
    unsigned char hj[4096];
    long hn = gw_base64url_decode(jws, hl, hj, sizeof hj - 1);
    if (hn <= 0) {
        gw_set_error(err, errlen, "the protected header is not base64url");
        goto fail;
    }
    hj[hn] = '\0';
    json_error_t je;
    hdr = json_loadb((const char *)hj, (size_t)hn, JSON_REJECT_DUPLICATES, &je);
    const char *h_alg = NULL, *h_x5t = NULL, *h_id = NULL;
    int h_b64 = 1, h_status = -1;
    json_t *crit = NULL;
    if (!hdr || json_unpack(hdr, "{s:s, s:b, s:o, s:s, s:s, s:i}", "alg", &h_alg, "b64", &h_b64,
                            "crit", &crit, "x5t#S256", &h_x5t, "pide-exchange-id", &h_id,
                            "pide-status", &h_status) != 0) {
        gw_set_error(err, errlen,
                     "the protected header lacks alg, b64, crit, x5t#S256, "
                     "pide-exchange-id or pide-status");
        goto fail;
    }
    int crit_b64 = 0;
    for (size_t i = 0; json_is_array(crit) && i < json_array_size(crit); i++)
        crit_b64 |= json_is_string(json_array_get(crit, i)) &&
                    strcmp(json_string_value(json_array_get(crit, i)), "b64") == 0;
    char x5t[64];
    if (strcmp(h_alg, alg) != 0) {
        gw_set_error(err, errlen, "alg %s does not fit the certificate's key (%s)", h_alg, alg);
        goto fail;
    }
    if (h_b64 || !crit_b64) {
        gw_set_error(err, errlen, "the header must say b64 false and list it in crit");
        goto fail;
    }
    if (!cert_thumbprint(cert, x5t) || strcmp(x5t, h_x5t) != 0) {
        gw_set_error(err, errlen, "x5t#S256 names another certificate");
        goto fail;
    }
    if (!exchange_id || strcmp(h_id, exchange_id) != 0) {
        gw_set_error(err, errlen, "signed exchange id %s differs from the response's %s", h_id,
                     exchange_id ? exchange_id : "(none)");
        goto fail;
    }
    if (h_status != http_status) {
        gw_set_error(err, errlen, "signed status %d differs from the response's %d", h_status,
                     http_status);
        goto fail;
    }
    unsigned char raw[1024];
    const char *sig_b64 = dots + 2;
    long rn = gw_base64url_decode(sig_b64, strlen(sig_b64), raw, sizeof raw);
    if (rn <= 0 || (coord && (size_t)rn != 2 * coord)) {
        gw_set_error(err, errlen, "the signature is not base64url of the right length");
        goto fail;
    }
    size_t der_len = (size_t)rn;
    if (coord) {
        es = ECDSA_SIG_new();
        r = BN_bin2bn(raw, (int)coord, NULL);
        s = BN_bin2bn(raw + coord, (int)coord, NULL);
        if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
            goto fail;
        r = s = NULL;
        int n = i2d_ECDSA_SIG(es, &der);
        if (n <= 0)
            goto fail;
        der_len = (size_t)n;
    } else {
        der = malloc(der_len);
        if (!der)
            goto fail;
        memcpy(der, raw, der_len);
    }
    hdr_b64 = strndup(jws, hl);
    size_t in_len = 0;
    input = hdr_b64 ? signing_input(hdr_b64, body, len, &in_len) : NULL;
    mctx = EVP_MD_CTX_new();
    if (!input || !mctx || EVP_DigestVerifyInit(mctx, NULL, md, NULL, key) != 1 ||
        EVP_DigestVerify(mctx, der, der_len, input, in_len) != 1) {
        gw_set_error(err, errlen, "the signature does not match the body and header");
        goto fail;
    }
    st = GW_OK;
fail:
    ERR_clear_error();
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(mctx);
    if (coord)
        OPENSSL_free(der);
    else
        free(der);
    free(input);
    free(hdr_b64);
    json_decref(hdr);
    return st;
}
