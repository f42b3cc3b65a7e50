/*
 * xml_sign.c — XML-DSig enveloped signatures (xmlsec1, OpenSSL backend) over whole documents,
 * and their verification against trusted CA certificates. See xml_sign.h for the contract and
 * docs/signing.md for what is signed and how an auditor checks it.
 */
#include "xml_sign.h"

#include "crl.h"
#include "key_store.h"
#include "log.h"
#include "secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <libxml/parser.h>
#include <xmlsec/base64.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/openssl/x509.h>

/* A private key larger than this is not a PEM key we can use; the bound keeps a wrong path
 * (a log file, /dev/zero) from being read whole. */
/* Longer than any signature value or certificate we emit. */
#define BASE64_LINE_SIZE (64 * 1024)

struct gw_signer {
    xmlSecKeyPtr key;                 /* private key with its certificate as X509 data */
    xmlSecTransformId signature_method;
    const char *algorithm;            /* "rsa-sha256" / "ecdsa-sha256" */
};

struct gw_sign_ctx {
    gw_signer *signer;
    /* This thread's own copy: xmlsec key objects must not be shared while signing. It is lent
     * to each signing context and taken back before the context is finalized (which would
     * otherwise destroy it), so no key is copied per signature. */
    xmlSecKeyPtr key;
};

/* xmlsec reports errors through one process-wide callback, innermost first. Keeping the first
 * one since the current operation began (per thread) explains a failure to the caller that
 * caused it, instead of spraying the whole chain on stderr. */
static _Thread_local char last_xmlsec_error[256];

static void capture_xmlsec_error(const char *file, int line, const char *func,
                                 const char *error_object, const char *error_subject, int reason,
                                 const char *msg)
{
    (void)file;
    (void)line;
    if (last_xmlsec_error[0] != '\0')
        return;
    const char *reason_text = xmlSecErrorsGetMsg((xmlSecSize)0);
    for (xmlSecSize i = 0; xmlSecErrorsGetMsg(i) != NULL; i++) {
        if (xmlSecErrorsGetCode(i) == reason) {
            reason_text = xmlSecErrorsGetMsg(i);
            break;
        }
    }
    snprintf(last_xmlsec_error, sizeof last_xmlsec_error, "%s%s%s: %s%s%s",
             error_object ? error_object : "", error_object ? "/" : "",
             error_subject ? error_subject : (func ? func : "xmlsec"),
             reason_text ? reason_text : "error", msg ? ": " : "", msg ? msg : "");
}

/* The latest xmlsec error of this thread, for appending to a message. */
static const char *xmlsec_reason(void)
{
    return last_xmlsec_error[0] ? last_xmlsec_error : "no detail from xmlsec";
}

void gw_xmlsec_clear_error(void)
{
    last_xmlsec_error[0] = '\0';
}

const char *gw_xmlsec_last_error(void)
{
    return xmlsec_reason();
}

gw_status gw_xmlsec_global_init(void)
{
    xmlInitParser();
    if (xmlSecInit() < 0)
        return GW_ERR_INTERNAL;
    /* Headers and library must agree or struct layouts (xmlSecDSigCtx) differ. */
    if (xmlSecCheckVersion() != 1)
        goto fail_xmlsec;
    if (xmlSecCryptoAppInit(NULL) < 0)
        goto fail_xmlsec;
    if (xmlSecCryptoInit() < 0)
        goto fail_app;
    /* After crypto init, which installs its own callback. */
    xmlSecErrorsSetCallback(capture_xmlsec_error);
    /* Long lines: SignatureValue and the certificate come out as one line each, so the value
     * can be logged and compared as a plain string (xmlsec refuses 0, "no wrapping"). */
    xmlSecBase64SetDefaultLineSize(BASE64_LINE_SIZE);
    return GW_OK;

fail_app:
    xmlSecCryptoAppShutdown();
fail_xmlsec:
    xmlSecShutdown();
    return GW_ERR_INTERNAL;
}

void gw_xmlsec_global_shutdown(void)
{
    xmlSecCryptoShutdown();
    xmlSecCryptoAppShutdown();
    xmlSecShutdown();
    /* libxml2 belongs to the whole process: whoever initialised it cleans it up. */
}

/* A certificate that does not belong to the key, or has expired, would make every signature
 * fail verification at the receiver: refuse it at startup instead. */
static gw_status check_certificate(gw_signer *s, const char *cert_path, char *err, size_t errlen)
{
    xmlSecKeyDataPtr x509 = xmlSecKeyGetData(s->key, xmlSecOpenSSLKeyDataX509Id);
    X509 *cert = (x509 != NULL && xmlSecOpenSSLKeyDataX509GetCertsSize(x509) > 0)
                     ? xmlSecOpenSSLKeyDataX509GetCert(x509, 0)
                     : NULL;
    EVP_PKEY *pkey = xmlSecOpenSSLEvpKeyDataGetEvp(xmlSecKeyGetValue(s->key));
    if (cert == NULL || pkey == NULL) {
        gw_set_error(err, errlen, "signing certificate %s: not attached to the key", cert_path);
        return GW_ERR_CONFIG;
    }
    if (X509_check_private_key(cert, pkey) != 1) {
        gw_set_error(err, errlen, "signing certificate %s: does not match the signing key", cert_path);
        return GW_ERR_CONFIG;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
        gw_set_error(err, errlen, "signing certificate %s: has expired", cert_path);
        return GW_ERR_CONFIG;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
        gw_set_error(err, errlen, "signing certificate %s: is not valid yet", cert_path);
        return GW_ERR_CONFIG;
    }
    return GW_OK;
}

gw_status gw_signer_open(const char *key_pem_path, const char *cert_pem_path, gw_signer **out,
                         char *err, size_t errlen)
{
    gw_key_source src = {.key = key_pem_path};
    return gw_signer_open_source(&src, cert_pem_path, out, err, errlen);
}

/* A key in a token signs through the pkcs11 engine: one signature at start-up, verified with
 * the certificate's public key, proves that path end to end before any answer depends on it. */
static gw_status token_self_test(gw_signer *s, char *err, size_t errlen)
{
    gw_status st = GW_ERR_CONFIG;
    gw_sign_ctx *c = NULL;
    char why[512] = "";
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root =
        doc ? xmlNewDocNode(doc, NULL, BAD_CAST "selfTest", BAD_CAST "pide-gateway") : NULL;
    if (root == NULL || gw_sign_ctx_new(s, &c) != GW_OK) {
        st = GW_ERR_NOMEM;
        gw_set_error(err, errlen, "signing key: out of memory");
        goto fail;
    }
    xmlDocSetRootElement(doc, root);
    if (gw_sign_document(c, doc, root, NULL) != GW_OK) {
        gw_set_error(err, errlen, "signing key in the PKCS#11 token: a test signature failed (%s)",
                     xmlsec_reason());
        goto fail;
    }
    xmlNodePtr sig = xmlSecFindNode(root, xmlSecNodeSignature, xmlSecDSigNs);
    if (sig == NULL ||
        gw_dsig_verify_with_certificate(sig, gw_sign_ctx_certificate(c), GW_DSIG_ENVELOPED,
                                        GW_ERR_CONFIG, why, sizeof why) != GW_OK) {
        gw_set_error(err, errlen,
                     "signing key in the PKCS#11 token: a test signature does not "
                     "verify with the certificate (%s)",
                     why);
        goto fail;
    }
    st = GW_OK;
fail:
    gw_sign_ctx_free(c);
    if (doc != NULL)
        xmlFreeDoc(doc);
    return st;
}

gw_status gw_signer_open_source(const gw_key_source *src, const char *cert_pem_path,
                                gw_signer **out, char *err, size_t errlen)
{
    gw_status st;
    EVP_PKEY *pkey = NULL;
    xmlSecKeyDataPtr value = NULL;
    gw_signer *s = NULL;

    if (out == NULL || src == NULL || src->key == NULL || cert_pem_path == NULL) {
        gw_set_error(err, errlen, "signing key: missing key or certificate path");
        return GW_ERR_INVALID_ARG;
    }
    *out = NULL;
    /* A PEM file readable by the gateway's user only, or a key in a PKCS#11 token
     * (key_store.h): either way an EVP_PKEY, which xmlsec adopts. */
    st = gw_private_key_load(src, &pkey, err, errlen);
    if (st != GW_OK)
        goto fail;

    s = calloc(1, sizeof *s);
    if (s == NULL) {
        st = GW_ERR_NOMEM;
        gw_set_error(err, errlen, "signing key: out of memory");
        goto fail;
    }
    last_xmlsec_error[0] = '\0';
    value = xmlSecOpenSSLEvpKeyAdopt(pkey);
    if (value == NULL || (s->key = xmlSecKeyCreate()) == NULL ||
        xmlSecKeySetValue(s->key, value) < 0) {
        st = GW_ERR_CONFIG;
        gw_set_error(err, errlen, "signing key %s: xmlsec cannot use it (%s)",
                     gw_key_is_pkcs11(src->key) ? "(PKCS#11)" : src->key, xmlsec_reason());
        goto fail;
    }
    pkey = NULL;  /* owned by value */
    value = NULL; /* owned by s->key */
    value = xmlSecKeyGetValue(s->key);
    if (xmlSecKeyDataCheckId(value, xmlSecKeyDataRsaId)) {
        s->signature_method = xmlSecTransformRsaSha256Id;
        s->algorithm = "rsa-sha256";
    } else if (xmlSecKeyDataCheckId(value, xmlSecKeyDataEcdsaId)) {
        s->signature_method = xmlSecTransformEcdsaSha256Id;
        s->algorithm = "ecdsa-sha256";
    } else {
        st = GW_ERR_CONFIG;
        gw_set_error(err, errlen, "signing key: key type %s is not supported (use RSA or EC P-256)",
                     value ? (const char *)xmlSecKeyDataGetName(value) : "unknown");
        value = NULL;
        goto fail;
    }
    value = NULL;
    if (gw_key_is_pkcs11(src->key) && s->signature_method != xmlSecTransformRsaSha256Id) {
        /* xmlsec 1.2.37 sizes an ECDSA signature from the key's group order, which OpenSSL 3
         * cannot read from an engine key: refuse clearly rather than fail every signature. */
        st = GW_ERR_CONFIG;
        gw_set_error(err, errlen,
                     "signing key in the PKCS#11 token: an EC key cannot sign XML "
                     "here (xmlsec 1.2.37 with OpenSSL 3 engine keys); use an RSA "
                     "key in the token");
        goto fail;
    }
    if (xmlSecCryptoAppKeyCertLoad(s->key, cert_pem_path, xmlSecKeyDataFormatPem) < 0) {
        st = GW_ERR_CONFIG;
        gw_set_error(err, errlen, "signing certificate %s: cannot load PEM certificate (%s)",
                cert_pem_path, xmlsec_reason());
        goto fail;
    }
    st = check_certificate(s, cert_pem_path, err, errlen);
    if (st != GW_OK)
        goto fail;
    if (gw_key_is_pkcs11(src->key) && (st = token_self_test(s, err, errlen)) != GW_OK)
        goto fail;

    *out = s;
    return GW_OK;

fail:
    if (value != NULL)
        xmlSecKeyDataDestroy(value); /* frees pkey with it */
    else
        EVP_PKEY_free(pkey);
    gw_signer_close(s);
    return st;
}

void gw_signer_close(gw_signer *s)
{
    if (s == NULL)
        return;
    if (s->key != NULL)
        xmlSecKeyDestroy(s->key);
    free(s);
}

const char *gw_signer_algorithm(const gw_signer *s)
{
    return s ? s->algorithm : NULL;
}

gw_status gw_sign_ctx_new(gw_signer *s, gw_sign_ctx **out)
{
    if (s == NULL || out == NULL)
        return GW_ERR_INVALID_ARG;
    *out = NULL;
    gw_sign_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return GW_ERR_NOMEM;
    c->signer = s;
    c->key = xmlSecKeyDuplicate(s->key);
    if (c->key == NULL) {
        free(c);
        return GW_ERR_NOMEM;
    }
    *out = c;
    return GW_OK;
}

void gw_sign_ctx_free(gw_sign_ctx *c)
{
    if (c == NULL)
        return;
    xmlSecKeyDestroy(c->key);
    free(c);
}

xmlSecKeyPtr gw_sign_ctx_key(gw_sign_ctx *c)
{
    return c ? c->key : NULL;
}

xmlSecTransformId gw_sign_ctx_signature_method(const gw_sign_ctx *c)
{
    return c ? c->signer->signature_method : xmlSecTransformIdUnknown;
}

X509 *gw_sign_ctx_certificate(gw_sign_ctx *c)
{
    xmlSecKeyDataPtr x509 = c ? xmlSecKeyGetData(c->key, xmlSecOpenSSLKeyDataX509Id) : NULL;
    return (x509 != NULL && xmlSecOpenSSLKeyDataX509GetCertsSize(x509) > 0)
               ? xmlSecOpenSSLKeyDataX509GetCert(x509, 0)
               : NULL;
}

/* The ds:Signature template: exclusive C14N of SignedInfo, one Reference URI="" (the whole
 * document) with enveloped + exclusive C14N transforms and SHA-256, and the certificate. */
static xmlNodePtr build_signature_template(xmlDocPtr doc, xmlSecTransformId signature_method)
{
    xmlNodePtr sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId,
                                                     signature_method, NULL, BAD_CAST "ds");
    if (sig == NULL)
        return NULL;
    /* (node, digestMethodId, id, uri, type) */
    xmlNodePtr ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL,
                                                     BAD_CAST "", NULL);
    if (ref == NULL || xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL ||
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == NULL)
        goto fail;
    xmlNodePtr key_info = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
    xmlNodePtr x509_data = key_info ? xmlSecTmplKeyInfoAddX509Data(key_info) : NULL;
    if (x509_data == NULL || xmlSecTmplX509DataAddCertificate(x509_data) == NULL)
        goto fail;
    return sig;

fail:
    xmlFreeNode(sig);
    return NULL;
}

gw_status gw_sign_ctx_sign_template(gw_sign_ctx *c, xmlNodePtr sig,
                                    const char **signature_value_b64)
{
    xmlSecDSigCtx dsig;
    if (signature_value_b64 != NULL)
        *signature_value_b64 = NULL;
    if (xmlSecDSigCtxInitialize(&dsig, NULL) < 0)
        return GW_ERR_SIGNATURE;
    dsig.signKey = c->key;
    int rc = xmlSecDSigCtxSign(&dsig, sig);
    int ok = rc >= 0 && dsig.status == xmlSecDSigStatusSucceeded;
    dsig.signKey = NULL; /* ours: finalize must not destroy it */
    xmlSecDSigCtxFinalize(&dsig);
    if (!ok)
        return GW_ERR_SIGNATURE;
    if (signature_value_b64 != NULL) {
        xmlNodePtr value = xmlSecFindChild(sig, xmlSecNodeSignatureValue, xmlSecDSigNs);
        if (value == NULL || value->children == NULL || value->children->type != XML_TEXT_NODE)
            return GW_ERR_SIGNATURE;
        *signature_value_b64 = (const char *)value->children->content;
    }
    return GW_OK;
}

gw_status gw_sign_document(gw_sign_ctx *c, xmlDocPtr doc, xmlNodePtr parent,
                           const char **signature_value_b64)
{
    if (c == NULL || doc == NULL || parent == NULL || parent->doc != doc ||
        parent->type != XML_ELEMENT_NODE)
        return GW_ERR_INVALID_ARG;
    if (signature_value_b64 != NULL)
        *signature_value_b64 = NULL;
    last_xmlsec_error[0] = '\0';

    xmlNodePtr sig = build_signature_template(doc, c->signer->signature_method);
    if (sig == NULL)
        return GW_ERR_NOMEM;
    if (xmlAddChild(parent, sig) == NULL) {
        xmlFreeNode(sig);
        return GW_ERR_SIGNATURE;
    }
    gw_status st = gw_sign_ctx_sign_template(c, sig, signature_value_b64);
    if (st != GW_OK) {
        /* Never leave a half-made signature in a document that may still be sent. */
        xmlUnlinkNode(sig);
        xmlFreeNode(sig);
        gw_log_event(PIDE_LOG_ERROR, "signing", NULL, "xml_sign: signing failed: %s", xmlsec_reason());
    }
    return st;
}

struct gw_trust_store {
    X509_STORE *store;
    char *ca_pem_path; /* for messages */
};

/* Every certificate of a PEM file (a bundle is allowed) becomes a trust anchor, and nothing
 * else: xmlsec's own keys manager would also trust the system CA bundle (and re-read it on
 * every call), so the chain is checked here with a store holding only these. */
gw_status gw_trust_store_load(const char *ca_pem_path, gw_trust_store **out, char *err,
                              size_t errlen)
{
    gw_status st = GW_ERR_CONFIG;
    int loaded = 0;
    X509 *cert;
    gw_trust_store *t = NULL;
    FILE *f = NULL;
    if (ca_pem_path == NULL || out == NULL) {
        gw_set_error(err, errlen, "trusted CA file: no path given");
        return GW_ERR_INVALID_ARG;
    }
    *out = NULL;
    f = fopen(ca_pem_path, "re");
    if (f == NULL) {
        gw_set_error(err, errlen, "trusted CA file %s: cannot open: %s", ca_pem_path,
                strerror(errno));
        goto fail;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL || (t->store = X509_STORE_new()) == NULL ||
        (t->ca_pem_path = strdup(ca_pem_path)) == NULL) {
        st = GW_ERR_NOMEM;
        gw_set_error(err, errlen, "verify: out of memory");
        goto fail;
    }
    while ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        int added = X509_STORE_add_cert(t->store, cert);
        X509_free(cert);
        if (added != 1) {
            gw_set_error(err, errlen, "trusted CA file %s: cannot use certificate %d", ca_pem_path,
                    loaded + 1);
            goto fail;
        }
        loaded++;
    }
    if (loaded == 0) {
        gw_set_error(err, errlen, "trusted CA file %s: no PEM certificate in it", ca_pem_path);
        goto fail;
    }
    /* The read loop ends on a "no start line" error at end of file; do not leave it queued. */
    ERR_clear_error();
    fclose(f);
    *out = t;
    return GW_OK;

fail:
    ERR_clear_error();
    gw_trust_store_free(t);
    if (f != NULL)
        fclose(f);
    return st;
}

gw_status gw_trust_store_use_crls(gw_trust_store *t, struct gw_crl_set *crls)
{
    return gw_crl_set_attach(crls, t->store);
}

void gw_trust_store_free(gw_trust_store *t)
{
    if (t == NULL)
        return;
    X509_STORE_free(t->store);
    free(t->ca_pem_path);
    free(t);
}

/* The certificates in ds:KeyInfo/ds:X509Data: the first is the signer's, any others are
 * intermediates offered for building the chain. */
static gw_status read_keyinfo_certificates(xmlNodePtr sig, STACK_OF(X509) *certs, char *err,
                                           size_t errlen)
{
    xmlNodePtr key_info = xmlSecFindChild(sig, xmlSecNodeKeyInfo, xmlSecDSigNs);
    for (xmlNodePtr data = key_info ? key_info->children : NULL; data; data = data->next) {
        if (!xmlSecCheckNodeName(data, xmlSecNodeX509Data, xmlSecDSigNs))
            continue;
        for (xmlNodePtr n = data->children; n; n = n->next) {
            if (!xmlSecCheckNodeName(n, xmlSecNodeX509Certificate, xmlSecDSigNs))
                continue;
            xmlChar *b64 = xmlNodeGetContent(n);
            xmlSecSize der_len = 0;
            X509 *cert = NULL;
            if (b64 != NULL && xmlSecBase64DecodeInPlace(b64, &der_len) == 0) {
                const unsigned char *der = b64;
                cert = d2i_X509(NULL, &der, (long)der_len);
            }
            xmlFree(b64);
            if (cert == NULL || !sk_X509_push(certs, cert)) {
                X509_free(cert);
                ERR_clear_error();
                gw_set_error(err, errlen, "verify: ds:X509Certificate %d is not a valid certificate",
                        sk_X509_num(certs) + 1);
                return GW_ERR_SIGNATURE;
            }
        }
    }
    if (sk_X509_num(certs) == 0) {
        gw_set_error(err, errlen, "verify: no ds:KeyInfo/ds:X509Data/ds:X509Certificate to check");
        return GW_ERR_SIGNATURE;
    }
    return GW_OK;
}

/* The signer's certificate must chain to a trusted CA and be meant for signing. */
gw_status gw_trust_store_check_signer(gw_trust_store *t, X509 *signer, STACK_OF(X509) *untrusted,
                                      char *err, size_t errlen)
{
    gw_status st = GW_ERR_SIGNATURE;
    if (t == NULL || signer == NULL) {
        gw_set_error(err, errlen, "verify: no trust store or no signer certificate");
        return GW_ERR_INVALID_ARG;
    }
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    if (vctx == NULL || X509_STORE_CTX_init(vctx, t->store, signer, untrusted) != 1) {
        st = GW_ERR_NOMEM;
        gw_set_error(err, errlen, "verify: out of memory");
        goto done;
    }
    if (X509_verify_cert(vctx) != 1) {
        char subject[256];
        X509_NAME_oneline(X509_get_subject_name(signer), subject, sizeof subject);
        gw_set_error(err, errlen, "verify: signer certificate %s is not trusted by %s: %s", subject,
                t->ca_pem_path, X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
        goto done;
    }
    uint32_t usage = X509_get_key_usage(signer); /* all bits when the extension is absent */
    if ((usage & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
        gw_set_error(err, errlen, "verify: signer certificate is not for digital signatures");
        goto done;
    }
    st = GW_OK;

done:
    ERR_clear_error();
    X509_STORE_CTX_free(vctx);
    return st;
}

xmlSecKeyPtr gw_xmlsec_public_key_of(X509 *cert)
{
    EVP_PKEY *pub = X509_get_pubkey(cert);
    xmlSecKeyDataPtr value = pub ? xmlSecOpenSSLEvpKeyAdopt(pub) : NULL;
    if (value == NULL) {
        EVP_PKEY_free(pub);
        return NULL;
    }
    xmlSecKeyPtr key = xmlSecKeyCreate();
    if (key == NULL || xmlSecKeySetValue(key, value) < 0) {
        xmlSecKeyDataDestroy(value);
        if (key != NULL)
            xmlSecKeyDestroy(key);
        return NULL;
    }
    return key;
}

/* What a verified signature may use: the algorithms this gateway signs with and their
 * stronger SHA-2 siblings. No SHA-1, no XSLT/XPath transforms, no fetching of remote URIs. */
/* ---- the signature-algorithm policy (xml_sign.h) ------------------------------------------ */

#define GW_DSIG_MAX_ALGORITHMS 8

/* The algorithms of one kind the policy allows. (xmlsec's transform ids are function calls,
 * so the lists are built when asked, not static.) */
static size_t allowed_algorithms(gw_dsig_algorithm_kind kind,
                                 xmlSecTransformId out[GW_DSIG_MAX_ALGORITHMS])
{
    size_t n = 0;
    if (kind == GW_DSIG_DIGEST) {
        out[n++] = xmlSecTransformSha256Id;
        out[n++] = xmlSecTransformSha384Id;
        out[n++] = xmlSecTransformSha512Id;
    } else {
        out[n++] = xmlSecTransformRsaSha256Id;
        out[n++] = xmlSecTransformRsaSha384Id;
        out[n++] = xmlSecTransformRsaSha512Id;
        out[n++] = xmlSecTransformEcdsaSha256Id;
        out[n++] = xmlSecTransformEcdsaSha384Id;
        out[n++] = xmlSecTransformEcdsaSha512Id;
    }
    return n;
}

int gw_dsig_algorithm_allowed(gw_dsig_algorithm_kind kind, const char *href)
{
    xmlSecTransformId ids[GW_DSIG_MAX_ALGORITHMS];
    size_t n = allowed_algorithms(kind, ids);
    for (size_t i = 0; href && i < n; i++)
        if (xmlStrEqual(BAD_CAST href, ids[i]->href))
            return 1;
    return 0;
}

xmlSecDSigCtxPtr gw_dsig_ctx_new(gw_dsig_profile profile)
{
    xmlSecDSigCtxPtr dsig = xmlSecDSigCtxCreate(NULL);
    if (dsig == NULL)
        return NULL;
    xmlSecTransformId c14n[GW_DSIG_MAX_ALGORITHMS], digests[GW_DSIG_MAX_ALGORITHMS],
        methods[GW_DSIG_MAX_ALGORITHMS];
    size_t nc = 0, nd = allowed_algorithms(GW_DSIG_DIGEST, digests),
           nm = allowed_algorithms(GW_DSIG_SIGNATURE_METHOD, methods);
    c14n[nc++] = xmlSecTransformExclC14NId;
    if (profile == GW_DSIG_ENVELOPED) {
        c14n[nc++] = xmlSecTransformExclC14NWithCommentsId;
        c14n[nc++] = xmlSecTransformInclC14NId;
        c14n[nc++] = xmlSecTransformInclC14NWithCommentsId;
        if (xmlSecDSigCtxEnableReferenceTransform(dsig, xmlSecTransformEnvelopedId) < 0)
            goto fail;
    }
    for (size_t i = 0; i < nc; i++)
        if (xmlSecDSigCtxEnableReferenceTransform(dsig, c14n[i]) < 0 ||
            xmlSecDSigCtxEnableSignatureTransform(dsig, c14n[i]) < 0)
            goto fail;
    for (size_t i = 0; i < nd; i++)
        if (xmlSecDSigCtxEnableReferenceTransform(dsig, digests[i]) < 0)
            goto fail;
    for (size_t i = 0; i < nm; i++)
        if (xmlSecDSigCtxEnableSignatureTransform(dsig, methods[i]) < 0)
            goto fail;
    dsig->transformCtx.enabledUris = xmlSecTransformUriTypeSameDocument;
    if (profile == GW_DSIG_ENVELOPED)
        dsig->transformCtx.enabledUris |= xmlSecTransformUriTypeEmpty;
    return dsig;
fail:
    xmlSecDSigCtxDestroy(dsig);
    return NULL;
}

static const char *dsig_status_text(xmlSecDSigStatus status)
{
    switch (status) {
    case xmlSecDSigStatusSucceeded: return "valid";
    case xmlSecDSigStatusInvalid: return "signature or digest does not match the document";
    case xmlSecDSigStatusUnknown: break;
    }
    return "not verified";
}

gw_status gw_dsig_verify_with_certificate(xmlNodePtr sig, X509 *cert, gw_dsig_profile profile,
                                          gw_status failure, char *err, size_t errlen)
{
    gw_status st = failure;
    last_xmlsec_error[0] = '\0';
    /* No keys manager: the only key xmlsec may use is the one of the certificate the caller
     * checked, never one it would find or fetch by itself. */
    xmlSecDSigCtxPtr dsig = gw_dsig_ctx_new(profile);
    if (dsig == NULL) {
        gw_set_error(err, errlen, "verify: cannot create the xmlsec signature context (%s)",
                     xmlsec_reason());
        return GW_ERR_INTERNAL;
    }
    dsig->signKey = gw_xmlsec_public_key_of(cert);
    if (dsig->signKey == NULL) {
        gw_set_error(err, errlen, "verify: cannot use the public key of the signer certificate");
        goto done;
    }
    /* xmlSecDSigCtxVerify returns 0 for a well-formed but invalid signature: the verdict is
     * in status. A negative return is a processing error (bad structure, disallowed
     * algorithm, key of the wrong type). */
    if (xmlSecDSigCtxVerify(dsig, sig) < 0) {
        gw_set_error(err, errlen, "verify: signature could not be processed: %s", xmlsec_reason());
        goto done;
    }
    if (dsig->status != xmlSecDSigStatusSucceeded) {
        gw_set_error(err, errlen, "verify: %s", dsig_status_text(dsig->status));
        goto done;
    }
    st = GW_OK;
done:
    xmlSecDSigCtxDestroy(dsig);
    return st;
}

gw_status gw_verify_document(xmlDocPtr doc, const char *ca_pem_path, char *err, size_t errlen)
{
    gw_status st = GW_ERR_SIGNATURE;
    gw_trust_store *trusted = NULL;
    STACK_OF(X509) *certs = NULL;

    if (doc == NULL || ca_pem_path == NULL) {
        gw_set_error(err, errlen, "verify: missing document or CA file");
        return GW_ERR_INVALID_ARG;
    }
    last_xmlsec_error[0] = '\0';
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr sig = root ? xmlSecFindNode(root, xmlSecNodeSignature, xmlSecDSigNs) : NULL;
    if (sig == NULL) {
        gw_set_error(err, errlen, "verify: the document has no ds:Signature");
        goto fail;
    }
    st = gw_trust_store_load(ca_pem_path, &trusted, err, errlen);
    if (st != GW_OK)
        goto fail;
    certs = sk_X509_new_null();
    if (certs == NULL) {
        st = GW_ERR_NOMEM;
        gw_set_error(err, errlen, "verify: out of memory");
        goto fail;
    }
    st = read_keyinfo_certificates(sig, certs, err, errlen);
    if (st != GW_OK)
        goto fail;
    st = gw_trust_store_check_signer(trusted, sk_X509_value(certs, 0), certs, err, errlen);
    if (st != GW_OK)
        goto fail;

    st = gw_dsig_verify_with_certificate(sig, sk_X509_value(certs, 0), GW_DSIG_ENVELOPED,
                                         GW_ERR_SIGNATURE, err, errlen);
    if (st != GW_OK)
        goto fail;
fail:
    sk_X509_pop_free(certs, X509_free);
    gw_trust_store_free(trusted);
    return st;
}
