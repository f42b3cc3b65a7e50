/*
 * wss.c — WS-Security X.509 Token Profile signatures: verifying signed requests and signing
 * responses (and, through tools/pide-wss-sign, requests) with xmlsec1. The contract is in
 * wss.h, the profile and its rules in docs/wss.md.
 *
 * Signature wrapping is the attack this code is shaped against: a valid signature over an
 * element that the gateway does not process. So wsu:Id values must be unique in the document,
 * references may only name "#id" targets, and coverage is decided by node identity: the element
 * a Reference resolves to must be the very Body / Timestamp / header element found by position.
 */
#include "wss.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <libxml/valid.h>
#include <xmlsec/base64.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "gateway_header.h"
#include "log.h"

/* More references than signed parts a request can have; the cap bounds the C14N work an
 * unauthenticated sender can make us do before the signature is checked. */
#define MAX_REFERENCES 32

static int is_element(const xmlNode *n, const char *name, const char *ns)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST name) &&
           n->ns != NULL && xmlStrEqual(n->ns->href, BAD_CAST ns);
}

/* The first child element name/ns of parent; *count gets how many there are. */
static xmlNodePtr child_element(xmlNodePtr parent, const char *name, const char *ns, int *count)
{
    xmlNodePtr first = NULL;
    *count = 0;
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next) {
        if (is_element(c, name, ns)) {
            if (first == NULL)
                first = c;
            (*count)++;
        }
    }
    return first;
}

static int attr_equals(xmlNodePtr n, const char *name, const char *value)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    int equal = v != NULL && xmlStrEqual(v, BAD_CAST value);
    xmlFree(v);
    return equal;
}

/* ---- the envelope ---------------------------------------------------------------------- */

typedef struct soap_parts {
    xmlNodePtr envelope, header, body;
} soap_parts;

/* The Envelope's Header (may be NULL) and Body, by position: the elements the gateway reads. */
static gw_status find_soap_parts(xmlDocPtr doc, soap_parts *p, char *err, size_t errlen)
{
    int headers, bodies;
    memset(p, 0, sizeof *p);
    p->envelope = xmlDocGetRootElement(doc);
    const char *ns = is_element(p->envelope, "Envelope", GW_SOAP11_NS)   ? GW_SOAP11_NS
                     : is_element(p->envelope, "Envelope", GW_SOAP12_NS) ? GW_SOAP12_NS
                                                                     : NULL;
    if (ns == NULL) {
        gw_set_error(err, errlen, "the document is not a SOAP envelope");
        return GW_ERR_INVALID_ARG;
    }
    p->header = child_element(p->envelope, "Header", ns, &headers);
    p->body = child_element(p->envelope, "Body", ns, &bodies);
    if (headers > 1 || bodies != 1) {
        gw_set_error(err, errlen, "the SOAP envelope must have at most one Header and one Body");
        return GW_ERR_INVALID_ARG;
    }
    return GW_OK;
}

/* ---- ids ------------------------------------------------------------------------------- */

/* Makes every wsu:Id in the document an ID attribute, so "#id" references (ours and xmlsec's,
 * which share libxml2's ID table) resolve. An id used twice (or already used by an xml:id) is
 * refused: with two candidates a reference could be made to verify against one element while
 * the gateway processes the other. */
static gw_status register_wsu_ids(xmlDocPtr doc, char *err, size_t errlen)
{
    xmlNodePtr n = xmlDocGetRootElement(doc);
    while (n != NULL) {
        if (n->type == XML_ELEMENT_NODE) {
            for (xmlAttrPtr a = n->properties; a; a = a->next) {
                if (!xmlStrEqual(a->name, BAD_CAST "Id") || a->ns == NULL ||
                    !xmlStrEqual(a->ns->href, BAD_CAST GW_WSU_NS))
                    continue;
                xmlChar *value = xmlNodeListGetString(doc, a->children, 1);
                if (value == NULL || *value == '\0') {
                    xmlFree(value);
                    gw_set_error(err, errlen, "an empty wsu:Id on element %s", n->name);
                    return GW_ERR_BAD_SIGNATURE;
                }
                xmlAttrPtr known = xmlGetID(doc, value);
                if (known != NULL && known != a) {
                    gw_set_error(err, errlen,
                            "the id '%.64s' is used twice in the message (signature wrapping "
                            "refused)",
                            value);
                    xmlFree(value);
                    return GW_ERR_BAD_SIGNATURE;
                }
                if (known == NULL && xmlAddID(NULL, doc, value, a) == NULL) {
                    xmlFree(value);
                    gw_set_error(err, errlen, "cannot register wsu:Id on element %s", n->name);
                    return GW_ERR_NOMEM;
                }
                xmlFree(value);
            }
        }
        /* depth-first, without recursion */
        if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
            n = n->children;
            continue;
        }
        while (n != NULL && n->next == NULL)
            n = n->parent != NULL && n->parent->type == XML_ELEMENT_NODE ? n->parent : NULL;
        if (n != NULL)
            n = n->next;
    }
    return GW_OK;
}

/* The element a same-document reference "#id" names, or NULL. Anything else (URI="", other
 * documents, XPointer expressions) is not a reference this profile uses. */
static xmlNodePtr resolve_id_reference(xmlDocPtr doc, const xmlChar *uri)
{
    if (uri == NULL || uri[0] != '#' || xmlValidateNCName(uri + 1, 0) != 0)
        return NULL;
    xmlAttrPtr a = xmlGetID(doc, uri + 1);
    return a != NULL && a->parent != NULL && a->parent->type == XML_ELEMENT_NODE ? a->parent
                                                                                   : NULL;
}

/* ---- algorithms ------------------------------------------------------------------------ */

/* Initializers for local arrays (the ids are function calls, so no shared static table that
 * threads would write concurrently). */
/* Whether element n has an Algorithm attribute that the signature policy allows (xml_sign.h). */
static int algorithm_allowed(xmlNodePtr n, gw_dsig_algorithm_kind kind)
{
    xmlChar *alg = xmlGetNoNsProp(n, BAD_CAST "Algorithm");
    int ok = gw_dsig_algorithm_allowed(kind, (const char *)alg);
    xmlFree(alg);
    return ok;
}

static int is_exclusive_c14n(xmlNodePtr n)
{
    xmlChar *alg = xmlGetNoNsProp(n, BAD_CAST "Algorithm");
    int ok = alg != NULL && xmlStrEqual(alg, xmlSecTransformExclC14NId->href);
    xmlFree(alg);
    return ok;
}

/* ---- verification ---------------------------------------------------------------------- */

/* One element that must be signed, with the words that name it in an error. */
typedef struct required_part {
    xmlNodePtr node;
    char what[96];
    int covered;
} required_part;

/* Checks SignedInfo's algorithms and references and marks which required parts they cover. */
static gw_status check_signed_info(xmlDocPtr doc, xmlNodePtr sig, required_part *parts,
                                   size_t nparts, char *err, size_t errlen)
{
    int count;
    xmlNodePtr signed_info = child_element(sig, "SignedInfo", (const char *)xmlSecDSigNs, &count);
    if (signed_info == NULL || count != 1) {
        gw_set_error(err, errlen, "the ds:Signature has no ds:SignedInfo");
        return GW_ERR_BAD_SIGNATURE;
    }
    xmlNodePtr c14n = child_element(signed_info, "CanonicalizationMethod",
                                    (const char *)xmlSecDSigNs, &count);
    if (c14n == NULL || !is_exclusive_c14n(c14n)) {
        gw_set_error(err, errlen, "SignedInfo must be canonicalized with exclusive C14N (%s)",
                (const char *)xmlSecTransformExclC14NId->href);
        return GW_ERR_BAD_SIGNATURE;
    }
    xmlNodePtr method =
        child_element(signed_info, "SignatureMethod", (const char *)xmlSecDSigNs, &count);
    if (method == NULL || !algorithm_allowed(method, GW_DSIG_SIGNATURE_METHOD)) {
        gw_set_error(err, errlen,
                "the signature method is not accepted (RSA or ECDSA with SHA-256 or stronger)");
        return GW_ERR_BAD_SIGNATURE;
    }

    int references = 0;
    for (xmlNodePtr ref = signed_info->children; ref; ref = ref->next) {
        if (!is_element(ref, "Reference", (const char *)xmlSecDSigNs))
            continue;
        if (++references > MAX_REFERENCES) {
            gw_set_error(err, errlen, "more than %d signature references", MAX_REFERENCES);
            return GW_ERR_BAD_SIGNATURE;
        }
        xmlChar *uri = xmlGetNoNsProp(ref, BAD_CAST "URI");
        xmlNodePtr target = resolve_id_reference(doc, uri);
        if (target == NULL) {
            gw_set_error(err, errlen,
                    "signature reference URI=\"%.80s\" does not name an element of this "
                    "message by wsu:Id (\"#id\" expected)",
                    uri ? (const char *)uri : "(none)");
            xmlFree(uri);
            return GW_ERR_BAD_SIGNATURE;
        }
        xmlFree(uri);
        xmlNodePtr transforms = child_element(ref, "Transforms", (const char *)xmlSecDSigNs,
                                              &count);
        int transform_count = 0;
        xmlNodePtr transform = child_element(transforms, "Transform", (const char *)xmlSecDSigNs,
                                             &transform_count);
        if (transform_count != 1 || !is_exclusive_c14n(transform)) {
            gw_set_error(err, errlen,
                    "signature reference to %s must have exactly one transform, exclusive "
                    "C14N",
                    target->name);
            return GW_ERR_BAD_SIGNATURE;
        }
        xmlNodePtr digest =
            child_element(ref, "DigestMethod", (const char *)xmlSecDSigNs, &count);
        if (digest == NULL || !algorithm_allowed(digest, GW_DSIG_DIGEST)) {
            gw_set_error(err, errlen,
                    "the digest method of the reference to %s is not accepted (SHA-256 or "
                    "stronger)",
                    target->name);
            return GW_ERR_BAD_SIGNATURE;
        }
        for (size_t i = 0; i < nparts; i++)
            if (parts[i].node == target)
                parts[i].covered = 1;
    }
    for (size_t i = 0; i < nparts; i++) {
        if (!parts[i].covered) {
            gw_set_error(err, errlen, "%s is not covered by the signature", parts[i].what);
            return GW_ERR_BAD_SIGNATURE;
        }
    }
    return GW_OK;
}

/* The certificate of the wsse:BinarySecurityToken (a child of `security`) that the
 * signature's KeyInfo points at through wsse:SecurityTokenReference/wsse:Reference. */
static gw_status read_token_certificate(xmlDocPtr doc, xmlNodePtr security, xmlNodePtr sig,
                                        X509 **out, char *err, size_t errlen)
{
    int count;
    *out = NULL;
    xmlNodePtr key_info = child_element(sig, "KeyInfo", (const char *)xmlSecDSigNs, &count);
    xmlNodePtr str = child_element(key_info, "SecurityTokenReference", GW_WSSE_NS, &count);
    xmlNodePtr ref = child_element(str, "Reference", GW_WSSE_NS, &count);
    if (ref == NULL) {
        gw_set_error(err, errlen, "the signature's KeyInfo has no "
                             "wsse:SecurityTokenReference/wsse:Reference to the signer's token");
        return GW_ERR_BAD_SIGNATURE;
    }
    xmlChar *uri = xmlGetNoNsProp(ref, BAD_CAST "URI");
    xmlNodePtr token = resolve_id_reference(doc, uri);
    xmlFree(uri);
    if (!is_element(token, "BinarySecurityToken", GW_WSSE_NS) || token->parent != security) {
        gw_set_error(err, errlen, "the signature's SecurityTokenReference does not name a "
                             "wsse:BinarySecurityToken of this wsse:Security header");
        return GW_ERR_BAD_SIGNATURE;
    }
    if (!attr_equals(token, "ValueType", GW_WSS_X509V3_VALUE_TYPE)) {
        gw_set_error(err, errlen, "the wsse:BinarySecurityToken is not an X.509v3 certificate "
                             "(ValueType " GW_WSS_X509V3_VALUE_TYPE " expected)");
        return GW_ERR_BAD_SIGNATURE;
    }
    xmlChar *encoding = xmlGetNoNsProp(token, BAD_CAST "EncodingType");
    int base64 = encoding == NULL || xmlStrEqual(encoding, BAD_CAST GW_WSS_BASE64_ENCODING_TYPE);
    xmlFree(encoding);
    if (!base64) {
        gw_set_error(err, errlen, "the wsse:BinarySecurityToken is not Base64Binary");
        return GW_ERR_BAD_SIGNATURE;
    }
    xmlChar *b64 = xmlNodeGetContent(token);
    xmlSecSize der_len = 0;
    X509 *cert = NULL;
    if (b64 != NULL && xmlSecBase64DecodeInPlace(b64, &der_len) == 0) {
        const unsigned char *der = b64;
        cert = d2i_X509(NULL, &der, (long)der_len);
        if (cert != NULL && der != b64 + der_len) { /* trailing bytes: not one certificate */
            X509_free(cert);
            cert = NULL;
        }
    }
    xmlFree(b64);
    ERR_clear_error();
    if (cert == NULL) {
        gw_set_error(err, errlen, "the wsse:BinarySecurityToken is not a valid X.509 certificate");
        return GW_ERR_BAD_SIGNATURE;
    }
    *out = cert;
    return GW_OK;
}

/* xsd:dateTime as WSS writes it: YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm). */
static int parse_datetime(const char *s, time_t *out)
{
    int year, mon, day, hour, min, sec, used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &mon, &day, &hour, &min, &sec, &used) != 6 ||
        used != 19)
        return -1;
    const char *p = s + used;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    long offset = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 14 || om > 59)
            return -1;
        offset = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1; /* a local time without zone is ambiguous */
    }
    if (*p != '\0' || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 ||
        sec > 60)
        return -1;
    struct tm tm = {.tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day,
                    .tm_hour = hour, .tm_min = min, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = t - offset;
    return 0;
}

/* Reads wsu:Created or wsu:Expires of the Timestamp into *t and text. */
static gw_status read_timestamp_field(xmlNodePtr timestamp, const char *name, time_t *t,
                                      char *text, size_t textlen, char *err, size_t errlen)
{
    int count;
    xmlNodePtr field = child_element(timestamp, name, GW_WSU_NS, &count);
    if (field == NULL || count != 1) {
        gw_set_error(err, errlen, "the wsu:Timestamp must have exactly one wsu:%s", name);
        return GW_ERR_TIMESTAMP;
    }
    xmlChar *value = xmlNodeGetContent(field);
    int ok = value != NULL && xmlStrlen(value) < (int)textlen &&
             parse_datetime((const char *)value, t) == 0;
    if (ok)
        snprintf(text, textlen, "%s", (const char *)value);
    else
        gw_set_error(err, errlen, "wsu:%s '%.40s' is not a dateTime with a time zone", name,
                value ? (const char *)value : "");
    xmlFree(value);
    return ok ? GW_OK : GW_ERR_TIMESTAMP;
}

static gw_status check_timestamp(xmlNodePtr timestamp, const gw_wss_policy *policy,
                                 gw_wss_result *out, char *err, size_t errlen)
{
    gw_status st = read_timestamp_field(timestamp, "Created", &out->created, out->created_text,
                                        sizeof out->created_text, err, errlen);
    if (st == GW_OK)
        st = read_timestamp_field(timestamp, "Expires", &out->expires, out->expires_text,
                                  sizeof out->expires_text, err, errlen);
    if (st != GW_OK)
        return st;
    time_t now = policy->now != 0 ? policy->now : time(NULL);
    long skew = policy->max_skew_s;
    if (out->expires <= out->created) {
        gw_set_error(err, errlen, "wsu:Expires %s is not after wsu:Created %s", out->expires_text,
                out->created_text);
        return GW_ERR_TIMESTAMP;
    }
    if (out->created > now + skew) {
        gw_set_error(err, errlen, "wsu:Created %s is %lld s in the future (allowed skew %ld s)",
                out->created_text, (long long)(out->created - now), skew);
        return GW_ERR_TIMESTAMP;
    }
    if (out->expires < now - skew) {
        gw_set_error(err, errlen, "the message expired at %s (%lld s ago)", out->expires_text,
                (long long)(now - out->expires));
        return GW_ERR_TIMESTAMP;
    }
    if (out->created < now - policy->max_age_s - skew) {
        gw_set_error(err, errlen, "wsu:Created %s is %lld s old (at most %d s accepted)",
                out->created_text, (long long)(now - out->created), policy->max_age_s);
        return GW_ERR_TIMESTAMP;
    }
    return GW_OK;
}

/* UTF-8 text of the first name entry with nid, or "" */
static void name_entry(X509_NAME *name, int nid, char *buf, size_t len)
{
    buf[0] = '\0';
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0)
        return;
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n > 0)
        snprintf(buf, len, "%.*s", n, (const char *)utf8);
    OPENSSL_free(utf8);
}

/* out->replay_key (wss.h), after the signature, Timestamp and certificate were checked. */
static gw_status compute_replay_key(xmlNodePtr sig, gw_wss_result *out, char *err, size_t errlen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    const char *fields[] = {out->cert_sha256_hex, out->created_text, out->expires_text};
    for (size_t i = 0; ok && i < sizeof fields / sizeof fields[0]; i++)
        ok = EVP_DigestUpdate(md, fields[i], strlen(fields[i]) + 1) == 1; /* with the NUL */
    int count, refs = 0;
    xmlNodePtr si = child_element(sig, "SignedInfo", (const char *)xmlSecDSigNs, &count);
    for (xmlNodePtr r = si ? si->children : NULL; ok && r; r = r->next) {
        if (r->type != XML_ELEMENT_NODE || !xmlStrEqual(r->name, BAD_CAST "Reference"))
            continue;
        xmlNodePtr dv = child_element(r, "DigestValue", (const char *)xmlSecDSigNs, &count);
        xmlChar *v = dv ? xmlNodeGetContent(dv) : NULL;
        ok = v && EVP_DigestUpdate(md, v, strlen((const char *)v) + 1) == 1;
        xmlFree(v);
        refs++;
    }
    unsigned char h[32];
    unsigned int hl = 0;
    ok = ok && refs > 0 && EVP_DigestFinal_ex(md, h, &hl) == 1 && hl == 32;
    EVP_MD_CTX_free(md);
    if (!ok) {
        gw_set_error(err, errlen, "cannot compute the signed message's replay key");
        return GW_ERR_BAD_SIGNATURE;
    }
    for (unsigned i = 0; i < 32; i++)
        snprintf(out->replay_key + 2 * i, 3, "%02x", h[i]);
    return GW_OK;
}

static gw_status describe_signer(X509 *cert, xmlNodePtr sig, gw_wss_result *out, char *err,
                                 size_t errlen)
{
    X509_NAME *subject = X509_get_subject_name(cert);
    BIO *mem = BIO_new(BIO_s_mem());
    if (mem == NULL) {
        gw_set_error(err, errlen, "out of memory");
        return GW_ERR_NOMEM;
    }
    X509_NAME_print_ex(mem, subject, 0, XN_FLAG_RFC2253);
    int n = BIO_read(mem, out->subject, (int)sizeof out->subject - 1);
    out->subject[n > 0 ? n : 0] = '\0';
    BIO_free(mem);

    name_entry(subject, NID_serialNumber, out->member_id, sizeof out->member_id);
    if (out->member_id[0] == '\0')
        name_entry(subject, NID_commonName, out->member_id, sizeof out->member_id);
    if (out->member_id[0] == '\0') {
        gw_set_error(err, errlen, "the signer certificate %s names no member (no serialNumber or "
                             "CN)", out->subject);
        return GW_ERR_BAD_SIGNATURE;
    }

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1 || md_len != 32) {
        gw_set_error(err, errlen, "cannot fingerprint the signer certificate");
        return GW_ERR_INTERNAL;
    }
    for (unsigned i = 0; i < md_len; i++)
        snprintf(out->cert_sha256_hex + 2 * i, 3, "%02x", md[i]);

    int count;
    xmlNodePtr value_node =
        child_element(sig, "SignatureValue", (const char *)xmlSecDSigNs, &count);
    xmlChar *value = xmlNodeGetContent(value_node);
    size_t w = 0;
    for (const xmlChar *p = value; p && *p; p++) {
        if (isspace(*p))
            continue;
        if (w + 1 >= sizeof out->signature_value) {
            xmlFree(value);
            gw_set_error(err, errlen, "the SignatureValue is longer than %d characters",
                    GW_WSS_SIGNATURE_VALUE_MAX - 1);
            return GW_ERR_BAD_SIGNATURE;
        }
        out->signature_value[w++] = (char)*p;
    }
    out->signature_value[w] = '\0';
    xmlFree(value);
    return GW_OK;
}

gw_status gw_wss_verify_request(xmlDocPtr doc, const gw_wss_policy *policy, gw_wss_result *out,
                                char *err, size_t errlen)
{
    gw_status st;
    soap_parts soap;
    required_part *parts = NULL;
    gw_trust_store *own_trust = NULL;
    X509 *cert = NULL;
    int count;

    if (doc == NULL || policy == NULL || out == NULL ||
        (policy->trust == NULL && policy->ca_pem_path == NULL)) {
        gw_set_error(err, errlen, "wss: missing document, policy or trusted CA");
        return GW_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof *out);
    gw_xmlsec_clear_error();
    st = find_soap_parts(doc, &soap, err, errlen);
    if (st != GW_OK) {
        st = GW_ERR_BAD_SIGNATURE;
        goto fail;
    }
    st = GW_ERR_BAD_SIGNATURE;
    xmlNodePtr security = child_element(soap.header, "Security", GW_WSSE_NS, &count);
    if (security == NULL) {
        gw_set_error(err, errlen, "no wsse:Security header: the request must be signed");
        goto fail;
    }
    if (count > 1) {
        gw_set_error(err, errlen, "more than one wsse:Security header");
        goto fail;
    }
    st = register_wsu_ids(doc, err, errlen);
    if (st != GW_OK)
        goto fail;
    st = GW_ERR_BAD_SIGNATURE;
    xmlNodePtr sig = child_element(security, "Signature", (const char *)xmlSecDSigNs, &count);
    if (sig == NULL || count != 1) {
        gw_set_error(err, errlen, "the wsse:Security header must hold exactly one ds:Signature");
        goto fail;
    }
    xmlNodePtr timestamp = child_element(security, "Timestamp", GW_WSU_NS, &count);
    if (timestamp == NULL || count != 1) {
        st = GW_ERR_TIMESTAMP;
        gw_set_error(err, errlen, "the wsse:Security header must hold exactly one wsu:Timestamp");
        goto fail;
    }

    /* What must be signed, found by position: Body, Timestamp, each header element of ours. */
    size_t nparts = 2;
    for (xmlNodePtr h = soap.header->children; h; h = h->next)
        if (h->type == XML_ELEMENT_NODE && h->ns && xmlStrEqual(h->ns->href, BAD_CAST GW_HEADER_NS))
            nparts++;
    parts = calloc(nparts, sizeof *parts);
    if (parts == NULL) {
        st = GW_ERR_NOMEM;
        gw_set_error(err, errlen, "out of memory");
        goto fail;
    }
    parts[0].node = soap.body;
    snprintf(parts[0].what, sizeof parts[0].what, "the Body");
    parts[1].node = timestamp;
    snprintf(parts[1].what, sizeof parts[1].what, "the wsu:Timestamp");
    size_t k = 2;
    for (xmlNodePtr h = soap.header->children; h; h = h->next) {
        if (h->type == XML_ELEMENT_NODE && h->ns && xmlStrEqual(h->ns->href, BAD_CAST GW_HEADER_NS)) {
            parts[k].node = h;
            snprintf(parts[k].what, sizeof parts[k].what, "the gateway header element %.60s",
                     (const char *)h->name);
            k++;
        }
    }
    st = check_signed_info(doc, sig, parts, nparts, err, errlen);
    if (st != GW_OK)
        goto fail;
    st = read_token_certificate(doc, security, sig, &cert, err, errlen);
    if (st != GW_OK)
        goto fail;

    gw_trust_store *trust = policy->trust;
    if (trust == NULL) {
        st = gw_trust_store_load(policy->ca_pem_path, &own_trust, err, errlen);
        if (st != GW_OK)
            goto fail;
        trust = own_trust;
    }
    st = gw_trust_store_check_signer(trust, cert, NULL, err, errlen);
    if (st != GW_OK) {
        if (st == GW_ERR_SIGNATURE)
            st = GW_ERR_BAD_SIGNATURE;
        goto fail;
    }
    st = gw_dsig_verify_with_certificate(sig, cert, GW_DSIG_WSS, GW_ERR_BAD_SIGNATURE, err,
                                         errlen);
    if (st != GW_OK)
        goto fail;
    /* Only now are the Timestamp's values known to come from the signer. */
    st = check_timestamp(timestamp, policy, out, err, errlen);
    if (st != GW_OK)
        goto fail;
    st = describe_signer(cert, sig, out, err, errlen);
    if (st == GW_OK)
        st = compute_replay_key(sig, out, err, errlen);

fail:
    X509_free(cert);
    gw_trust_store_free(own_trust);
    free(parts);
    return st;
}

/* ---- signing --------------------------------------------------------------------------- */

/* The namespace href in scope at node (declared on `declare_on` with prefix when missing). */
static xmlNsPtr ensure_ns(xmlDocPtr doc, xmlNodePtr node, xmlNodePtr declare_on, const char *href,
                          const char *prefix)
{
    xmlNsPtr ns = xmlSearchNsByHref(doc, node, BAD_CAST href);
    /* A default namespace cannot qualify an attribute. */
    if (ns != NULL && ns->prefix != NULL)
        return ns;
    return xmlNewNs(declare_on, BAD_CAST href, BAD_CAST prefix);
}

/* Gives node a fresh wsu:Id "<prefix>-<random>" unless it has one; returns the id attribute
 * and records it in *added when it is new (so a failure can take it away again). */
static xmlAttrPtr ensure_wsu_id(xmlDocPtr doc, xmlNodePtr node, xmlNsPtr wsu, const char *prefix,
                                xmlAttrPtr *added)
{
    *added = NULL;
    xmlAttrPtr existing = xmlHasNsProp(node, BAD_CAST "Id", BAD_CAST GW_WSU_NS);
    if (existing != NULL)
        return existing;
    char id[64];
    for (int attempt = 0; attempt < 8; attempt++) {
        unsigned char r[8];
        if (RAND_bytes(r, sizeof r) != 1)
            return NULL;
        snprintf(id, sizeof id, "%s-%02x%02x%02x%02x%02x%02x%02x%02x", prefix, r[0], r[1], r[2],
                 r[3], r[4], r[5], r[6], r[7]);
        if (xmlGetID(doc, BAD_CAST id) != NULL)
            continue;
        xmlAttrPtr a = xmlSetNsProp(node, wsu, BAD_CAST "Id", BAD_CAST id);
        if (a == NULL)
            return NULL;
        if (xmlAddID(NULL, doc, BAD_CAST id, a) == NULL) {
            xmlRemoveProp(a);
            return NULL;
        }
        *added = a;
        return a;
    }
    return NULL;
}

static void format_time(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Adds a Reference "#<id of target>" with exclusive C14N and SHA-256 to the template. */
static int add_reference(xmlDocPtr doc, xmlNodePtr sig, xmlAttrPtr id_attr)
{
    xmlChar *id = xmlNodeListGetString(doc, id_attr->children, 1);
    if (id == NULL)
        return -1;
    size_t len = strlen((const char *)id) + 2;
    char *uri = malloc(len);
    xmlNodePtr ref = NULL;
    if (uri != NULL) {
        snprintf(uri, len, "#%s", (const char *)id);
        /* (node, digestMethodId, id, uri, type) */
        ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST uri,
                                              NULL);
    }
    free(uri);
    xmlFree(id);
    return ref != NULL && xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) != NULL
               ? 0
               : -1;
}

/* The certificate as base64 DER on one line. */
static xmlChar *certificate_base64(X509 *cert)
{
    unsigned char *der = NULL;
    int der_len = i2d_X509(cert, &der);
    if (der_len <= 0)
        return NULL;
    xmlChar *b64 = xmlMalloc((size_t)(4 * ((der_len + 2) / 3) + 1));
    if (b64 != NULL)
        EVP_EncodeBlock(b64, der, der_len);
    OPENSSL_free(der);
    return b64;
}

/* The header elements a signed answer covers: the pide-gateway header and the WS-Addressing
 * headers (MessageID, RelatesTo, Action), so neither can be swapped onto another answer. */
static int response_header_signed(xmlNodePtr h)
{
    return h->type == XML_ELEMENT_NODE && h->ns &&
           (xmlStrEqual(h->ns->href, BAD_CAST GW_HEADER_NS) ||
            xmlStrEqual(h->ns->href, BAD_CAST GW_WSA_NS));
}

gw_status gw_wss_sign(gw_sign_ctx *ctx, xmlDocPtr doc, time_t created, int ttl_s,
                      const char **sigval, char *err, size_t errlen)
{
    gw_status st;
    soap_parts soap;
    xmlNodePtr security = NULL, created_header = NULL;
    xmlAttrPtr *added_ids = NULL;
    size_t nadded = 0;
    int count;

    if (sigval != NULL)
        *sigval = NULL;
    if (ctx == NULL || doc == NULL || ttl_s <= 0) {
        gw_set_error(err, errlen, "wss sign: missing context or document, or ttl not positive");
        return GW_ERR_INVALID_ARG;
    }
    X509 *cert = gw_sign_ctx_certificate(ctx);
    if (cert == NULL) {
        gw_set_error(err, errlen, "wss sign: the signing key has no certificate");
        return GW_ERR_INVALID_ARG;
    }
    gw_xmlsec_clear_error();
    st = find_soap_parts(doc, &soap, err, errlen);
    if (st != GW_OK)
        return st;
    if (child_element(soap.header, "Security", GW_WSSE_NS, &count) != NULL) {
        gw_set_error(err, errlen, "wss sign: the message already has a wsse:Security header");
        return GW_ERR_INVALID_ARG;
    }
    st = register_wsu_ids(doc, err, errlen);
    if (st != GW_OK)
        return st == GW_ERR_BAD_SIGNATURE ? GW_ERR_INVALID_ARG : st;

    st = GW_ERR_NOMEM;
    gw_set_error(err, errlen, "wss sign: out of memory");
    if (soap.header == NULL) {
        created_header = xmlNewDocNode(doc, soap.envelope->ns, BAD_CAST "Header", NULL);
        if (created_header == NULL || xmlAddPrevSibling(soap.body, created_header) == NULL) {
            xmlFreeNode(created_header);
            created_header = NULL;
            goto fail;
        }
        soap.header = created_header;
    }
    size_t nheaders = 0;
    for (xmlNodePtr h = soap.header->children; h; h = h->next)
        if (response_header_signed(h))
            nheaders++;
    added_ids = calloc(nheaders + 1, sizeof *added_ids);
    if (added_ids == NULL)
        goto fail;

    security = xmlNewDocNode(doc, NULL, BAD_CAST "Security", NULL);
    if (security == NULL)
        goto fail;
    if (soap.header->children != NULL)
        xmlAddPrevSibling(soap.header->children, security);
    else
        xmlAddChild(soap.header, security);
    xmlNsPtr wsse = xmlNewNs(security, BAD_CAST GW_WSSE_NS, BAD_CAST "wsse");
    xmlNsPtr soap_ns = ensure_ns(doc, security, security,
                                 (const char *)soap.envelope->ns->href, "soapenv");
    xmlNsPtr wsu = ensure_ns(doc, soap.envelope, soap.envelope, GW_WSU_NS, "wsu");
    if (wsse == NULL || soap_ns == NULL || wsu == NULL)
        goto fail;
    xmlSetNs(security, wsse);
    if (xmlSetNsProp(security, soap_ns, BAD_CAST "mustUnderstand", BAD_CAST "1") == NULL)
        goto fail;

    char created_text[40], expires_text[40];
    format_time(created, created_text, sizeof created_text);
    format_time(created + ttl_s, expires_text, sizeof expires_text);
    xmlNodePtr timestamp = xmlNewChild(security, wsu, BAD_CAST "Timestamp", NULL);
    xmlAttrPtr unused;
    xmlAttrPtr timestamp_id = timestamp ? ensure_wsu_id(doc, timestamp, wsu, "TS", &unused) : NULL;
    if (timestamp_id == NULL ||
        xmlNewChild(timestamp, wsu, BAD_CAST "Created", BAD_CAST created_text) == NULL ||
        xmlNewChild(timestamp, wsu, BAD_CAST "Expires", BAD_CAST expires_text) == NULL)
        goto fail;

    xmlChar *cert_b64 = certificate_base64(cert);
    xmlNodePtr token = cert_b64 ? xmlNewChild(security, wsse, BAD_CAST "BinarySecurityToken",
                                              cert_b64)
                                : NULL;
    xmlFree(cert_b64);
    xmlAttrPtr token_id = token ? ensure_wsu_id(doc, token, wsu, "X509", &unused) : NULL;
    if (token_id == NULL ||
        xmlSetProp(token, BAD_CAST "EncodingType", BAD_CAST GW_WSS_BASE64_ENCODING_TYPE) == NULL ||
        xmlSetProp(token, BAD_CAST "ValueType", BAD_CAST GW_WSS_X509V3_VALUE_TYPE) == NULL)
        goto fail;

    xmlNodePtr sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId,
                                                     gw_sign_ctx_signature_method(ctx), NULL,
                                                     BAD_CAST "ds");
    if (sig == NULL)
        goto fail;
    xmlAddChild(security, sig);
    if (add_reference(doc, sig, timestamp_id) != 0)
        goto fail;
    for (xmlNodePtr h = soap.header->children; h; h = h->next) {
        if (!response_header_signed(h))
            continue;
        xmlAttrPtr id = ensure_wsu_id(doc, h, wsu, "H", &added_ids[nadded]);
        if (added_ids[nadded] != NULL)
            nadded++;
        if (id == NULL || add_reference(doc, sig, id) != 0)
            goto fail;
    }
    xmlAttrPtr body_id = ensure_wsu_id(doc, soap.body, wsu, "Body", &added_ids[nadded]);
    if (added_ids[nadded] != NULL)
        nadded++;
    if (body_id == NULL || add_reference(doc, sig, body_id) != 0)
        goto fail;

    xmlNodePtr key_info = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
    xmlNodePtr str = key_info ? xmlNewChild(key_info, wsse, BAD_CAST "SecurityTokenReference",
                                            NULL)
                              : NULL;
    xmlNodePtr str_ref = str ? xmlNewChild(str, wsse, BAD_CAST "Reference", NULL) : NULL;
    xmlChar *token_id_value = xmlNodeListGetString(doc, token_id->children, 1);
    char token_uri[80];
    snprintf(token_uri, sizeof token_uri, "#%s", token_id_value ? (char *)token_id_value : "");
    xmlFree(token_id_value);
    if (str_ref == NULL || xmlSetProp(str_ref, BAD_CAST "URI", BAD_CAST token_uri) == NULL ||
        xmlSetProp(str_ref, BAD_CAST "ValueType", BAD_CAST GW_WSS_X509V3_VALUE_TYPE) == NULL)
        goto fail;

    st = gw_sign_ctx_sign_template(ctx, sig, sigval);
    if (st != GW_OK) {
        gw_set_error(err, errlen, "wss sign: xmlsec could not sign: %s", gw_xmlsec_last_error());
        goto fail;
    }
    free(added_ids);
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    return GW_OK;

fail:
    /* Leave the document as it was: no half-made Security header, no ids we added. */
    if (security != NULL) {
        xmlUnlinkNode(security);
        xmlFreeNode(security);
    }
    for (size_t i = 0; i < nadded; i++)
        xmlRemoveProp(added_ids[i]);
    if (created_header != NULL) {
        xmlUnlinkNode(created_header);
        xmlFreeNode(created_header);
    }
    free(added_ids);
    return st;
}

gw_status gw_wss_sign_response(gw_sign_ctx *ctx, xmlDocPtr doc, int ttl_s, const char **sigval)
{
    char err[512] = "";
    gw_status st = gw_wss_sign(ctx, doc, time(NULL), ttl_s, sigval, err, sizeof err);
    if (st != GW_OK)
        gw_log_event(PIDE_LOG_ERROR, "signing", NULL, "wss: signing the response failed: %s", err);
    return st;
}
