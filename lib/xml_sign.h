/*
 * xml_sign.h — XML-DSig signing and verification with xmlsec1 (OpenSSL backend).
 *
 * The gateway signs every response it sends (and outbound requests to providers that demand
 * it) with an enveloped signature: Reference URI="" (the whole document, which covers the
 * soap:Body), enveloped-signature + exclusive C14N transforms, SHA-256 digest, RSA-SHA256 or
 * ECDSA-SHA256 by key type, and the signer's X.509 certificate in KeyInfo, so that the stock
 * `xmlsec1 --verify --trusted-pem ca.pem doc.xml` verifies it with nothing but the CA.
 *
 * Thread safety: gw_signer_open() loads the key once; each thread then signs through its own
 * gw_sign_ctx (a duplicate of the key: xmlsec key objects are not safe to share while signing).
 */
#ifndef PIDE_GW_XML_SIGN_H
#define PIDE_GW_XML_SIGN_H

#include <libxml/tree.h>
#include <openssl/x509.h>
#include <xmlsec/keys.h>
#include <xmlsec/transforms.h>

#include "status.h"

typedef struct gw_signer gw_signer;     /* the loaded key + certificate, shared read-only */
typedef struct gw_sign_ctx gw_sign_ctx; /* one per thread */

/* Once per process, before any other call here (libxml2 must be initialised). */
gw_status gw_xmlsec_global_init(void);
void gw_xmlsec_global_shutdown(void);

/* Loads a PEM private key (RSA or EC) and its PEM certificate. Refuses (GW_ERR_CONFIG) a key
 * file readable by group or others; err gets the reason. */
gw_status gw_signer_open(const char *key_pem_path, const char *cert_pem_path, gw_signer **out,
                         char *err, size_t errlen);
/* The same with the key where src says (key_store.h): a PEM file or a PKCS#11 token object. */
struct gw_key_source;
gw_status gw_signer_open_source(const struct gw_key_source *src, const char *cert_pem_path,
                                gw_signer **out, char *err, size_t errlen);
void gw_signer_close(gw_signer *s);
/* "rsa-sha256" or "ecdsa-sha256" */
const char *gw_signer_algorithm(const gw_signer *s);

gw_status gw_sign_ctx_new(gw_signer *s, gw_sign_ctx **out);
void gw_sign_ctx_free(gw_sign_ctx *c);

/* Appends an enveloped ds:Signature to `parent` (an element of doc) covering the whole doc.
 * On success *signature_value_b64 (if not NULL) points into the document at the
 * SignatureValue text (valid while doc lives). */
gw_status gw_sign_document(gw_sign_ctx *c, xmlDocPtr doc, xmlNodePtr parent,
                           const char **signature_value_b64);

/* For signature layouts other than the enveloped one (WS-Security, gateway/wss.c), which build
 * their own template but must sign with the same key. The key is c's own duplicate, lent: do not
 * destroy it, and give it back (set the xmlsec context's signKey to NULL) before finalizing
 * the context. The certificate is the signer's (owned by the key). */
xmlSecKeyPtr gw_sign_ctx_key(gw_sign_ctx *c);
xmlSecTransformId gw_sign_ctx_signature_method(const gw_sign_ctx *c);
X509 *gw_sign_ctx_certificate(gw_sign_ctx *c);

/* An xmlsec key holding only the public key of cert (the caller destroys it), for verifying
 * with exactly the key of a certificate already checked. NULL when the key is unusable. */
xmlSecKeyPtr gw_xmlsec_public_key_of(X509 *cert);

/* xmlsec's first error on this thread since the last gw_xmlsec_clear_error() (or "no detail
 * from xmlsec"), for explaining a failed xmlsec call in an error message. */
void gw_xmlsec_clear_error(void);
const char *gw_xmlsec_last_error(void);

/* The one signature-algorithm policy of the gateway, for every signature it verifies (and the
 * ones it makes use a subset): digests SHA-256, SHA-384, SHA-512; signature methods RSA or ECDSA
 * with those digests. Never SHA-1, MD5, HMAC, DSA or anything else. The profile adds what the
 * kind of signature needs and nothing more:
 *   GW_DSIG_ENVELOPED  a whole-document signature (URI=""): the enveloped-signature transform,
 *                      exclusive or inclusive C14N with or without comments;
 *   GW_DSIG_WSS        WS-Security: same-document "#id" references, exclusive C14N only. */
typedef enum gw_dsig_profile { GW_DSIG_ENVELOPED, GW_DSIG_WSS } gw_dsig_profile;
typedef enum gw_dsig_algorithm_kind { GW_DSIG_DIGEST, GW_DSIG_SIGNATURE_METHOD } gw_dsig_algorithm_kind;

/* 1 when the algorithm URI (a DigestMethod or SignatureMethod Algorithm) is in the policy. */
int gw_dsig_algorithm_allowed(gw_dsig_algorithm_kind kind, const char *href);

/* A verification context that xmlsec itself restricts to the policy of the profile (its
 * transforms and reference URIs), with no keys manager; NULL when out of memory. Free with
 * xmlSecDSigCtxDestroy. */
xmlSecDSigCtxPtr gw_dsig_ctx_new(gw_dsig_profile profile);

/* Verifies the ds:Signature `sig` with the public key of `cert` and nothing else, under the
 * policy of the profile. GW_OK only when xmlsec's status says the signature and every digest
 * match; otherwise `failure` (the caller's status for a bad signature) with the reason in err,
 * or GW_ERR_INTERNAL when no context could be made. The one verification step under both
 * signature styles. */
gw_status gw_dsig_verify_with_certificate(xmlNodePtr sig, X509 *cert, gw_dsig_profile profile,
                                          gw_status failure, char *err, size_t errlen);

/* Trusted CA certificates for checking signers, read once from a PEM file (a bundle is allowed)
 * and nothing else: no system CA bundle (see docs/signing.md). A loaded store may be shared by
 * threads for checking. */
typedef struct gw_trust_store gw_trust_store;
struct gw_crl_set;
gw_status gw_trust_store_load(const char *ca_pem_path, gw_trust_store **out, char *err,
                              size_t errlen);
void gw_trust_store_free(gw_trust_store *t);
/* From now on signers checked with t must not be on a CRL of crls (crl.h), which must outlive t. */
gw_status gw_trust_store_use_crls(gw_trust_store *t, struct gw_crl_set *crls);
/* GW_OK when signer chains to a certificate of t (untrusted: intermediates offered by the
 * signer, may be NULL) and its key usage allows digital signatures; otherwise
 * GW_ERR_SIGNATURE with the reason in err. */
gw_status gw_trust_store_check_signer(gw_trust_store *t, X509 *signer, STACK_OF(X509) *untrusted,
                                      char *err, size_t errlen);

/* Signs a ds:Signature template that is already in its document (its references resolvable)
 * with c's key and checks xmlsec's status. On success *signature_value_b64 (if not NULL) points
 * at the SignatureValue text. On failure the template is left where it is: the caller removes
 * what it added. The one signing step under both the enveloped and the WS-Security signatures. */
gw_status gw_sign_ctx_sign_template(gw_sign_ctx *c, xmlNodePtr sig,
                                    const char **signature_value_b64);

/* Verifies the first ds:Signature in doc against the trusted CA certificate(s) in
 * ca_pem_path. GW_OK only when xmlsec reports xmlSecDSigStatusSucceeded. Used by tests, the
 * audit tooling and simulators that demand signed calls. */
gw_status gw_verify_document(xmlDocPtr doc, const char *ca_pem_path, char *err, size_t errlen);

#endif
