/*
 * wss.h — WS-Security (OASIS WSS 1.1, X.509 Token Profile) signatures on SOAP messages: the
 * verification of signed requests (consumer → gateway) and the signing of responses (gateway →
 * consumer) and of requests (pide-wss-sign, for consumers and tests), with xmlsec1.
 *
 * The layout both directions use (docs/wss.md):
 *   soap:Header/wsse:Security[@soap:mustUnderstand="1"]
 *     wsu:Timestamp[@wsu:Id]  (wsu:Created, wsu:Expires, UTC)
 *     wsse:BinarySecurityToken[@wsu:Id]  (X509v3, Base64Binary: the signer's certificate)
 *     ds:Signature  exclusive C14N, RSA-SHA256 or ECDSA-SHA256, one Reference URI="#id" per
 *                   signed element (exclusive C14N transform, SHA-256 digest), KeyInfo =
 *                   wsse:SecurityTokenReference/wsse:Reference URI="#<token id>"
 * Signed: soap:Body, wsu:Timestamp and every soap:Header child in GW_HEADER_NS.
 */
#ifndef PIDE_GW_WSS_H
#define PIDE_GW_WSS_H

#include <stddef.h>
#include <time.h>

#include <libxml/tree.h>

#include "namespaces.h"
#include "status.h"
#include "xml_sign.h"

/* GW_WSSE_NS, GW_WSU_NS and the token URIs are namespaces.h's. */

/* Longest SignatureValue kept in gw_wss_result (base64 of an RSA-8192 signature is 1368). */
#define GW_WSS_SIGNATURE_VALUE_MAX 1400

typedef struct gw_wss_policy {
    /* Trusted CA(s) of signer certificates, PEM (a bundle is allowed); only these are trusted,
     * never the system bundle. Named in error messages. */
    const char *ca_pem_path;
    /* Optional: the same certificates loaded once (gw_trust_store_load), shared by all
     * workers. NULL: ca_pem_path is read on every call (tests, tools). */
    gw_trust_store *trust;
    int max_skew_s; /* clock difference tolerated between the signer and us */
    int max_age_s;  /* how old wsu:Created may be (plus max_skew_s) */
    time_t now;     /* the time to check against; 0 = time(NULL) */
} gw_wss_policy;

typedef struct gw_wss_result {
    char subject[512];           /* signer certificate subject, RFC 2253 */
    char member_id[64];          /* subject serialNumber, else CN (the RUC for members) */
    char cert_sha256_hex[65];    /* SHA-256 of the certificate DER, lowercase hex */
    char signature_value[GW_WSS_SIGNATURE_VALUE_MAX]; /* base64, whitespace removed */
    time_t created, expires;
    char created_text[40], expires_text[40];          /* as written in wsu:Timestamp */
    /* What identifies this signed message for the replay guard when it carries no pgw:id:
     * lowercase hex SHA-256 over the signer's certificate fingerprint, wsu:Created, wsu:Expires
     * and every DigestValue of SignedInfo (Body, Timestamp, gateway headers) in order. All of it
     * is fixed by the signature, unlike the SignatureValue itself (an ECDSA signature has a
     * second valid form anyone can compute), so the same message sent again has the same key. */
    char replay_key[65];
} gw_wss_result;

/* Verifies the WS-Security signature of a SOAP 1.1 request (see the layout above): the token
 * must chain to the policy's CA, the signature must be valid (xmlSecDSigStatusSucceeded), use
 * only exclusive C14N, SHA-256/384/512 digests and RSA/ECDSA with SHA-256/384/512, reference
 * only same-document "#id" targets, and cover the Body, the Timestamp and every gateway header
 * element (each the very element the gateway reads, not a copy elsewhere). wsu:Id attributes are
 * registered as IDs in doc; a duplicated id is refused. Then the Timestamp must be current.
 * GW_ERR_BAD_SIGNATURE or GW_ERR_TIMESTAMP with the reason in err; out is filled on GW_OK. */
gw_status gw_wss_verify_request(xmlDocPtr doc, const gw_wss_policy *policy, gw_wss_result *out,
                                char *err, size_t errlen);

/* Adds wsse:Security (mustUnderstand="1") to soap:Header (created when missing) with a
 * Timestamp of `created` .. `created + ttl_s`, the certificate of ctx as BinarySecurityToken
 * and a ds:Signature by ctx's key over the Body, the Timestamp and every GW_HEADER_NS header
 * element (each given a wsu:Id unless it has one). The one signing implementation, for both
 * directions. On success *sigval (if not NULL) points at the SignatureValue text inside doc.
 * GW_ERR_INVALID_ARG (not a SOAP envelope, already has wsse:Security) or GW_ERR_SIGNATURE, with
 * the reason in err; on failure doc gets no wsse:Security. */
gw_status gw_wss_sign(gw_sign_ctx *ctx, xmlDocPtr doc, time_t created, int ttl_s,
                      const char **sigval, char *err, size_t errlen);

/* The gateway's response signature in WSS form: gw_wss_sign at the current time. */
gw_status gw_wss_sign_response(gw_sign_ctx *ctx, xmlDocPtr doc, int ttl_s, const char **sigval);

#endif
