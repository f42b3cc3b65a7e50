/*
 * rest_sign.h — the signature of a REST answer (rest_face.h): a JWS with detached, unencoded
 * payload (RFC 7515 Appendix F with RFC 7797 "b64": false), sent in the X-Pide-Signature header.
 *
 *   X-Pide-Signature: BASE64URL(protected header) ".." BASE64URL(signature)
 *   signing input   = BASE64URL(protected header) "." body bytes exactly as sent
 *   protected header = {"alg": "ES256" | "ES384" | "RS256", "b64": false, "crit": ["b64"],
 *                       "cty": "application/json", "x5t#S256": BASE64URL(SHA-256(cert DER)),
 *                       "pide-exchange-id": the X-Pide-Exchange-Id header,
 *                       "pide-status": the HTTP status code}
 * ES256/ES384 signatures are the raw r || s (32 or 48 bytes each, RFC 7518 3.4), not DER. The
 * exchange id and the status are inside the signed header, so neither can be changed without
 * breaking the signature; the verifier compares them with the HTTP response's own.
 */
#ifndef PIDE_GW_REST_SIGN_H
#define PIDE_GW_REST_SIGN_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "status.h"

#define GW_REST_SIGNATURE_HEADER "X-Pide-Signature"

/* Signs body[0..len) with key (EC P-256/P-384 or RSA) whose certificate is cert. *out: a malloc'd
 * header value. GW_ERR_SIGNATURE with the reason in err. */
gw_status gw_rest_jws_sign(EVP_PKEY *key, X509 *cert, const char *body, size_t len,
                           const char *exchange_id, int http_status, char **out, char *err,
                           size_t errlen);

/* Verifies an X-Pide-Signature value against the body, the X-Pide-Exchange-Id and the status of
 * the response, with the public key of cert (which must be the certificate the header names).
 * GW_OK, or GW_ERR_BAD_SIGNATURE with the reason in err. */
gw_status gw_rest_jws_verify(X509 *cert, const char *jws, const char *body, size_t len,
                             const char *exchange_id, int http_status, char *err, size_t errlen);

/* base64url without padding of in[0..len) into out (room for 4 * (len + 2) / 3 + 1 bytes). */
void gw_base64url_encode(const unsigned char *in, size_t len, char *out);
/* Decodes base64url (no padding, no white space); -1 on a bad character or length. */
long gw_base64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap);

#endif
