/*
 * check_wss.c — tests for gateway/wss.c (WS-Security X.509 Token Profile) with real keys made by
 * scripts/pki, tools/pide-wss-sign, and the stock xmlsec1/openssl CLIs as independent verifiers
 * of the gateway's WSS responses (the recipe in docs/wss.md).
 *
 * ctest-fixtures: pki
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmldsig.h>

#include "check_run.h"
#include "gateway_header.h"
#include "status.h"
#include "test_pki.h"
#include "test_xml.h"
#include "wss.h"
#include "xml_sign.h"

#include <ctype.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#define SOAP_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"

static const char request_xml[] =
    "<soapenv:Envelope xmlns:soapenv=\"" SOAP_NS "\" xmlns:pgw=\"" GW_HEADER_NS "\""
    " xmlns:pj=\"http://ws.pide-gateway.org/pj/\">"
    "<soapenv:Header>"
    "<pgw:client><pgw:memberCode>20000000001</pgw:memberCode>"
    "<pgw:subsystemCode>demo</pgw:subsystemCode></pgw:client>"
    "<pgw:id>msg-0001</pgw:id>"
    "<pgw:userId>11111111</pgw:userId>"
    "</soapenv:Header>"
    "<soapenv:Body><pj:verificarAntecedentesPenales><xDni>45678912</xDni>"
    "</pj:verificarAntecedentesPenales></soapenv:Body></soapenv:Envelope>";

/* A signing context for the key pair NAME.key / NAME.pem of the test PKI. */
typedef struct signing {
    gw_signer *signer;
    gw_sign_ctx *ctx;
} signing;

static signing open_signing(const char *name)
{
    signing s = {.signer = test_pki_open_signer(name)};
    ck_assert_int_eq(gw_sign_ctx_new(s.signer, &s.ctx), GW_OK);
    return s;
}

static void close_signing(signing *s)
{
    gw_sign_ctx_free(s->ctx);
    gw_signer_close(s->signer);
}

static xmlDocPtr parse(const char *xml)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "mem.xml", NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

/* A request signed by key pair `name`, Created = now + offset. */
static xmlDocPtr signed_request(const char *name, long created_offset, int ttl)
{
    signing s = open_signing(name);
    xmlDocPtr doc = parse(request_xml);
    char err[512] = "";
    gw_status st = gw_wss_sign(s.ctx, doc, time(NULL) + created_offset, ttl, NULL, err, sizeof err);
    ck_assert_msg(st == GW_OK, "gw_wss_sign: %s: %s", gw_status_name(st), err);
    close_signing(&s);
    return doc;
}

/* Serialises and re-parses, as the message travels: nothing may depend on in-memory state. */
static xmlDocPtr reparse(xmlDocPtr doc)
{
    xmlDocPtr again = test_xml_reparse(doc);
    xmlFreeDoc(doc);
    return again;
}

static gw_status verify(xmlDocPtr doc, gw_wss_result *res, char *err, size_t errlen)
{
    char ca[1100];
    test_pki_path(ca, sizeof ca, "ca.pem");
    gw_wss_policy policy = {.ca_pem_path = ca, .max_skew_s = 60, .max_age_s = 300};
    return gw_wss_verify_request(doc, &policy, res, err, errlen);
}

/* Verifies doc as verify() does; a refusal fails the test with its reason. */
static void assert_accepted(xmlDocPtr doc, gw_wss_result *res)
{
    char err[512] = "";
    gw_status st = verify(doc, res, err, sizeof err);
    ck_assert_msg(st == GW_OK, "%s: %s", gw_status_name(st), err);
}

static const char *const namespaces[] = {"soap", SOAP_NS,
                                         "ds", DSIG_NS,
                                         "wsse", GW_WSSE_NS,
                                         "wsu", GW_WSU_NS,
                                         "pgw", GW_HEADER_NS,
                                         "pj", "http://ws.pide-gateway.org/pj/",
                                         NULL};

static xmlNodePtr find(xmlDocPtr doc, const char *xpath)
{
    xmlNodePtr node = test_xml_first(doc, xpath, namespaces);
    ck_assert_msg(node != NULL, "no node %s", xpath);
    return node;
}

static X509 *read_cert(const char *file)
{
    char path[1100];
    test_pki_path(path, sizeof path, file);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(cert);
    return cert;
}

/* What the module does before verifying, done here for xmlsec used directly: make every wsu:Id
 * an ID so "#id" references resolve (ids already registered are left alone). */
static void register_ids_for_xmlsec(xmlDocPtr doc)
{
    xmlXPathContextPtr xc = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(xc, BAD_CAST "wsu", BAD_CAST GW_WSU_NS);
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST "//@wsu:Id", xc);
    for (int i = 0; r && r->nodesetval && i < r->nodesetval->nodeNr; i++) {
        xmlAttrPtr a = (xmlAttrPtr)r->nodesetval->nodeTab[i];
        xmlChar *v = xmlNodeListGetString(doc, a->children, 1);
        if (xmlGetID(doc, v) == NULL)
            xmlAddID(NULL, doc, v, a);
        xmlFree(v);
    }
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(xc);
}

/* xmlsec alone, with the key of `cert_file`: whether the signature is cryptographically valid.
 * Lets a test prove that a refusal comes from the coverage rules, not from a broken signature. */
static int xmlsec_alone_accepts(xmlDocPtr doc, const char *cert_file)
{
    X509 *cert = read_cert(cert_file);
    xmlSecDSigCtxPtr dsig = xmlSecDSigCtxCreate(NULL);
    ck_assert_ptr_nonnull(dsig);
    dsig->signKey = gw_xmlsec_public_key_of(cert);
    register_ids_for_xmlsec(doc);
    int ok = xmlSecDSigCtxVerify(dsig, find(doc, "//ds:Signature")) == 0 &&
             dsig->status == xmlSecDSigStatusSucceeded;
    xmlSecDSigCtxDestroy(dsig);
    X509_free(cert);
    return ok;
}

/* Removes the SignedInfo references to the elements matching xpath and signs again, giving a
 * valid signature that covers less. */
static void resign_without(xmlDocPtr doc, const char *key_name, const char *target_xpath)
{
    xmlNodePtr target = find(doc, target_xpath);
    xmlChar *id = xmlGetNsProp(target, BAD_CAST "Id", BAD_CAST GW_WSU_NS);
    ck_assert_ptr_nonnull(id);
    char uri[128];
    snprintf(uri, sizeof uri, "#%s", (const char *)id);
    xmlFree(id);
    xmlNodePtr signed_info = find(doc, "//ds:SignedInfo");
    int removed = 0;
    for (xmlNodePtr r = signed_info->children, next; r; r = next) {
        next = r->next;
        xmlChar *u = xmlGetNoNsProp(r, BAD_CAST "URI");
        if (u != NULL && xmlStrEqual(u, BAD_CAST uri)) {
            xmlUnlinkNode(r);
            xmlFreeNode(r);
            removed++;
        }
        xmlFree(u);
    }
    ck_assert_int_eq(removed, 1);
    signing s = open_signing(key_name);
    register_ids_for_xmlsec(doc);
    xmlSecDSigCtx dsig;
    ck_assert_int_eq(xmlSecDSigCtxInitialize(&dsig, NULL), 0);
    dsig.signKey = gw_sign_ctx_key(s.ctx);
    ck_assert_int_eq(xmlSecDSigCtxSign(&dsig, find(doc, "//ds:Signature")), 0);
    dsig.signKey = NULL;
    xmlSecDSigCtxFinalize(&dsig);
    close_signing(&s);
}

static void set_text(xmlDocPtr doc, const char *xpath, const char *text)
{
    xmlNodeSetContent(find(doc, xpath), BAD_CAST text);
}

#define assert_refused(doc, expected_status, expected_text)                                    \
    do {                                                                                       \
        gw_wss_result res_;                                                                    \
        char err_[512] = "";                                                                   \
        gw_status st_ = verify((doc), &res_, err_, sizeof err_);                               \
        ck_assert_msg(st_ == (expected_status), "expected %s, got %s (%s)",                    \
                      gw_status_name(expected_status), gw_status_name(st_), err_);             \
        ck_assert_msg(strstr(err_, (expected_text)) != NULL, "reason '%s' lacks '%s'", err_,  \
                      (expected_text));                                                        \
    } while (0)

/* ---- valid requests -------------------------------------------------------------------- */

START_TEST(rsa_request_verifies_and_names_the_member)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 0, 300));
    gw_wss_result res;
    assert_accepted(doc, &res);
    ck_assert_str_eq(res.member_id, "20000000001");
    ck_assert_msg(strstr(res.subject, "CN=20000000001") != NULL, "subject %s", res.subject);
    ck_assert_msg(strstr(res.subject, "O=Demo agency") != NULL, "subject %s", res.subject);

    X509 *cert = read_cert("demo-client.pem");
    unsigned char md[32];
    unsigned int md_len = 0;
    X509_digest(cert, EVP_sha256(), md, &md_len);
    char hex[65];
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    ck_assert_str_eq(res.cert_sha256_hex, hex);
    X509_free(cert);

    xmlChar *value = xmlNodeGetContent(find(doc, "//ds:SignatureValue"));
    ck_assert_str_eq(res.signature_value, (const char *)value);
    xmlFree(value);
    xmlChar *created = xmlNodeGetContent(find(doc, "//wsu:Timestamp/wsu:Created"));
    ck_assert_str_eq(res.created_text, (const char *)created);
    xmlFree(created);
    ck_assert_int_eq(res.expires - res.created, 300);
    ck_assert_msg(llabs((long long)(res.created - time(NULL))) < 5, "created %lld",
                  (long long)res.created);
    /* the layout the profile prescribes */
    xmlNodePtr security = find(doc, "/soap:Envelope/soap:Header/wsse:Security");
    xmlChar *mu = xmlGetNsProp(security, BAD_CAST "mustUnderstand", BAD_CAST SOAP_NS);
    ck_assert_str_eq((const char *)mu, "1");
    xmlFree(mu);
    find(doc, "//ds:KeyInfo/wsse:SecurityTokenReference/wsse:Reference");
    find(doc, "//ds:SignatureMethod[@Algorithm="
              "'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256']");
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(ec_request_verifies)
{
    xmlDocPtr doc = reparse(signed_request("gateway-sign-ec", 0, 300));
    find(doc, "//ds:SignatureMethod[@Algorithm="
              "'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256']");
    gw_wss_result res;
    assert_accepted(doc, &res);
    ck_assert_str_eq(res.member_id, "pide-gateway signing"); /* no serialNumber: the CN */
    xmlFreeDoc(doc);
}
END_TEST

/* Issue 8 item 9: a signed request without pgw:id is kept from replay by a key its signature
 * fixes. ECDSA signatures are malleable: (r, n - s) verifies as well as (r, s), so anyone can
 * make a second valid SignatureValue for a captured message; the key must not change with it. */
static void malleate_ecdsa_signature(xmlDocPtr doc)
{
    xmlNodePtr sv = find(doc, "//ds:SignatureValue");
    xmlChar *b64 = xmlNodeGetContent(sv);
    unsigned char raw[256], out[256];
    char clean[512];
    size_t w = 0;
    for (const xmlChar *p = b64; *p && w + 1 < sizeof clean; p++)
        if (!isspace(*p))
            clean[w++] = (char)*p;
    clean[w] = '\0';
    xmlFree(b64);
    int n = EVP_DecodeBlock(raw, (const unsigned char *)clean, (int)w);
    while (w > 0 && clean[--w] == '=')
        n--;
    ck_assert_int_eq(n, 64); /* P-256: r || s */
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BIGNUM *sbn = BN_bin2bn(raw + 32, 32, NULL), *ns = BN_new();
    ck_assert_int_eq(BN_sub(ns, EC_GROUP_get0_order(group), sbn), 1);
    memcpy(out, raw, 32);
    ck_assert_int_eq(BN_bn2binpad(ns, out + 32, 32), 32);
    unsigned char enc[128];
    EVP_EncodeBlock(enc, out, 64);
    xmlNodeSetContent(sv, enc);
    BN_free(sbn);
    BN_free(ns);
    EC_GROUP_free(group);
}

static xmlDocPtr signed_ec_at(const char *xml, time_t created)
{
    signing s = open_signing("gateway-sign-ec");
    xmlDocPtr doc = parse(xml);
    char err[512] = "";
    ck_assert_int_eq(gw_wss_sign(s.ctx, doc, created, 300, NULL, err, sizeof err), GW_OK);
    close_signing(&s);
    return reparse(doc);
}

START_TEST(replay_key_is_fixed_by_the_signed_content)
{
    time_t t = time(NULL);
    gw_wss_result r1, r2, r3;
    xmlDocPtr doc = signed_ec_at(request_xml, t);
    assert_accepted(doc, &r1);
    ck_assert_uint_eq(strlen(r1.replay_key), 64);
    malleate_ecdsa_signature(doc);
    assert_accepted(doc, &r2);
    ck_assert_str_ne(r1.signature_value, r2.signature_value); /* another valid signature... */
    ck_assert_str_eq(r1.replay_key, r2.replay_key);           /* ...of the same message */
    xmlFreeDoc(doc);
    doc = signed_ec_at(request_xml, t);
    assert_accepted(doc, &r3);
    ck_assert_str_ne(r1.replay_key, r3.replay_key); /* a message signed anew is another one */
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(preloaded_trust_store_is_used)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 0, 300));
    char ca[1100], err[512] = "";
    test_pki_path(ca, sizeof ca, "ca.pem");
    gw_trust_store *trust = NULL;
    ck_assert_int_eq(gw_trust_store_load(ca, &trust, err, sizeof err), GW_OK);
    /* a path that does not exist proves the loaded store is what is used */
    gw_wss_policy policy = {.ca_pem_path = "/nonexistent/ca.pem", .trust = trust,
                            .max_skew_s = 60, .max_age_s = 300};
    gw_wss_result res;
    gw_status st = gw_wss_verify_request(doc, &policy, &res, err, sizeof err);
    ck_assert_msg(st == GW_OK, "%s: %s", gw_status_name(st), err);
    gw_trust_store_free(trust);
    xmlFreeDoc(doc);
}
END_TEST

/* ---- tampering and coverage ------------------------------------------------------------ */

START_TEST(tampered_body_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 0, 300));
    set_text(doc, "//xDni", "11111111");
    assert_refused(doc, GW_ERR_BAD_SIGNATURE, "does not match");
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(tampered_gateway_header_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 0, 300));
    set_text(doc, "//pgw:userId", "22222222");
    assert_refused(doc, GW_ERR_BAD_SIGNATURE, "does not match");
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(tampered_timestamp_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", -200, 300));
    /* pushing Expires forward must not extend the message's life */
    xmlNodePtr expires = find(doc, "//wsu:Expires");
    char later[40];
    time_t t = time(NULL) + 3600;
    strftime(later, sizeof later, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    xmlNodeSetContent(expires, BAD_CAST later);
    assert_refused(doc, GW_ERR_BAD_SIGNATURE, "does not match");
    xmlFreeDoc(doc);
}
END_TEST

/* Each required part in turn left out of an otherwise valid signature. */
static const char *const uncovered_xpaths[] = {"//wsu:Timestamp", "//pgw:userId",
                                               "/soap:Envelope/soap:Body", "//pgw:client"};
static const char *const uncovered_reasons[] = {
    "the wsu:Timestamp is not covered by the signature",
    "the gateway header element userId is not covered by the signature",
    "the Body is not covered by the signature",
    "the gateway header element client is not covered by the signature",
};

START_TEST(signature_not_covering_a_part_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 0, 300));
    resign_without(doc, "demo-client", uncovered_xpaths[_i]);
    doc = reparse(doc);
    ck_assert_msg(xmlsec_alone_accepts(doc, "demo-client.pem"),
                  "the re-signed message should be cryptographically valid");
    assert_refused(doc, GW_ERR_BAD_SIGNATURE, uncovered_reasons[_i]);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(header_added_after_signing_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 0, 300));
    xmlNodePtr header = find(doc, "/soap:Envelope/soap:Header");
    xmlNewChild(header, xmlSearchNsByHref(doc, header, BAD_CAST GW_HEADER_NS),
                BAD_CAST "purpose", BAD_CAST "injected");
    assert_refused(doc, GW_ERR_BAD_SIGNATURE,
                   "the gateway header element purpose is not covered by the signature");
    xmlFreeDoc(doc);
}
END_TEST

/* Classic wrapping: the signed Body moved into a header wrapper, a forged Body in its place. */
START_TEST(moved_body_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 0, 300));
    xmlNodePtr envelope = xmlDocGetRootElement(doc);
    xmlNodePtr body = find(doc, "/soap:Envelope/soap:Body");
    xmlNodePtr header = find(doc, "/soap:Envelope/soap:Header");
    xmlUnlinkNode(body);
    xmlNodePtr wrapper = xmlNewChild(header, NULL, BAD_CAST "Wrapper", NULL);
    xmlAddChild(wrapper, body);
    xmlNodePtr forged = xmlNewChild(envelope, envelope->ns, BAD_CAST "Body", NULL);
    xmlNewChild(forged, NULL, BAD_CAST "forged", BAD_CAST "give me everything");
    doc = reparse(doc);
    ck_assert_msg(xmlsec_alone_accepts(doc, "demo-client.pem"),
                  "xmlsec alone should still accept the wrapped signature");
    assert_refused(doc, GW_ERR_BAD_SIGNATURE, "the Body is not covered by the signature");
    xmlFreeDoc(doc);
}
END_TEST

/* Wrapping with a duplicated id: the forged Body carries the signed Body's wsu:Id. */
START_TEST(duplicate_id_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 0, 300));
    xmlNodePtr envelope = xmlDocGetRootElement(doc);
    xmlNodePtr body = find(doc, "/soap:Envelope/soap:Body");
    xmlNodePtr header = find(doc, "/soap:Envelope/soap:Header");
    xmlNodePtr copy = xmlCopyNode(body, 1);
    xmlAddChild(xmlNewChild(header, NULL, BAD_CAST "Wrapper", NULL), copy);
    set_text(doc, "/soap:Envelope/soap:Body//xDni", "11111111");
    (void)envelope;
    doc = reparse(doc);
    assert_refused(doc, GW_ERR_BAD_SIGNATURE, "used twice");
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(whole_document_reference_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 0, 300));
    xmlSetProp(find(doc, "//ds:Reference"), BAD_CAST "URI", BAD_CAST "");
    assert_refused(doc, GW_ERR_BAD_SIGNATURE, "does not name an element of this message");
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(weak_digest_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 0, 300));
    xmlSetProp(find(doc, "//ds:Reference/ds:DigestMethod"), BAD_CAST "Algorithm",
               BAD_CAST "http://www.w3.org/2000/09/xmldsig#sha1");
    assert_refused(doc, GW_ERR_BAD_SIGNATURE, "SHA-256 or stronger");
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(weak_signature_method_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 0, 300));
    xmlSetProp(find(doc, "//ds:SignatureMethod"), BAD_CAST "Algorithm",
               BAD_CAST "http://www.w3.org/2000/09/xmldsig#rsa-sha1");
    assert_refused(doc, GW_ERR_BAD_SIGNATURE, "signature method is not accepted");
    xmlFreeDoc(doc);
}
END_TEST

/* ---- trust ----------------------------------------------------------------------------- */

START_TEST(rogue_ca_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("rogue-client", 0, 300));
    assert_refused(doc, GW_ERR_BAD_SIGNATURE, "not trusted");
    xmlFreeDoc(doc);
}
END_TEST

/* A trusted token swapped in for the signer's: the signature no longer matches its key. */
START_TEST(swapped_token_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("rogue-client", 0, 300));
    xmlDocPtr other = reparse(signed_request("demo-client", 0, 300));
    xmlChar *trusted_b64 = xmlNodeGetContent(find(other, "//wsse:BinarySecurityToken"));
    xmlNodeSetContent(find(doc, "//wsse:BinarySecurityToken"), trusted_b64);
    xmlFree(trusted_b64);
    xmlFreeDoc(other);
    gw_wss_result res;
    char err[512] = "";
    ck_assert_int_eq(verify(doc, &res, err, sizeof err), GW_ERR_BAD_SIGNATURE);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(unsigned_request_is_refused)
{
    xmlDocPtr doc = parse(request_xml);
    assert_refused(doc, GW_ERR_BAD_SIGNATURE, "no wsse:Security header");
    xmlFreeDoc(doc);
}
END_TEST

/* ---- timestamps ------------------------------------------------------------------------ */

/* Timestamps outside the policy's window (max_skew_s 60, max_age_s 300). */
static const struct {
    long created_offset;
    int ttl;
    const char *reason;
} late_or_early[] = {
    {-3600, 7200, "s old"},       /* not expired (ttl two hours) but older than max_age */
    {-400, 300, "expired"},
    {600, 300, "in the future"}, /* beyond the allowed clock skew */
};

START_TEST(timestamp_outside_the_window_is_refused)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", late_or_early[_i].created_offset,
                                           late_or_early[_i].ttl));
    assert_refused(doc, GW_ERR_TIMESTAMP, late_or_early[_i].reason);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(future_timestamp_within_skew_is_accepted)
{
    xmlDocPtr doc = reparse(signed_request("demo-client", 30, 300));
    gw_wss_result res;
    assert_accepted(doc, &res);
    xmlFreeDoc(doc);
}
END_TEST

/* ---- signing --------------------------------------------------------------------------- */

static const char *const response_keys[] = {"gateway-sign", "gateway-sign-ec"};

/* The recipe of docs/wss.md, "Verifying our responses with the stock tools". */
static int stock_cli_accepts(const char *file)
{
    char ca[1100], cmd[4096];
    test_pki_path(ca, sizeof ca, "ca.pem");
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; f='%s'\n"
             "WSU=http://docs.oasis-open.org/wss/2004/01/"
             "oasis-200401-wss-wssecurity-utility-1.0.xsd\n"
             "PGW=urn:pide-gateway:header:1\n"
             "xmllint --xpath 'string(//*[local-name()=\"BinarySecurityToken\"])' \"$f\" "
             "| base64 -d | openssl x509 -inform DER -out signer.pem\n"
             "openssl verify -no-CApath -no-CAstore -CAfile '%s' signer.pem >/dev/null\n"
             "xmlsec1 --verify --enabled-reference-uris same-doc --pubkey-cert-pem signer.pem "
             "--id-attr:Id \"$WSU:Timestamp\" "
             "--id-attr:Id http://schemas.xmlsoap.org/soap/envelope/:Body "
             "$(for e in client service id userId purpose protocolVersion exchangeId "
             "requestHash; do printf -- '--id-attr:Id %%s:%%s ' \"$PGW\" \"$e\"; done) "
             "\"$f\" >/dev/null 2>&1\n",
             test_scratch_dir(), file, ca);
    char script[1200];
    snprintf(script, sizeof script, "%s/verify.sh", test_scratch_dir());
    FILE *f = fopen(script, "w");
    ck_assert_ptr_nonnull(f);
    fputs(cmd, f);
    fclose(f);
    char run[1300];
    snprintf(run, sizeof run, "bash '%s' 2>/dev/null", script);
    return system(run) == 0;
}

static void write_doc(xmlDocPtr doc, const char *path)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    xmlDocDump(f, doc);
    fclose(f);
}

START_TEST(signed_response_verifies_with_module_and_stock_cli)
{
    signing s = open_signing(response_keys[_i]);
    xmlDocPtr doc = parse(request_xml);
    const char *sigval = NULL;
    ck_assert_int_eq(gw_wss_sign_response(s.ctx, doc, 300, &sigval), GW_OK);
    ck_assert_ptr_nonnull(sigval);
    xmlChar *in_doc = xmlNodeGetContent(find(doc, "//ds:SignatureValue"));
    ck_assert_str_eq(sigval, (const char *)in_doc);
    xmlFree(in_doc);
    close_signing(&s);

    char path[1200];
    snprintf(path, sizeof path, "%s/response-%d.xml", test_scratch_dir(), _i);
    write_doc(doc, path);
    doc = reparse(doc);
    gw_wss_result res;
    assert_accepted(doc, &res);
    ck_assert_msg(stock_cli_accepts(path), "the stock xmlsec1 recipe refused %s", path);

    /* and the recipe is not a rubber stamp: a changed Body fails it */
    set_text(doc, "//xDni", "11111111");
    write_doc(doc, path);
    ck_assert_msg(!stock_cli_accepts(path), "the stock recipe accepted a tampered response");
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(signing_twice_is_refused_and_leaves_the_document_alone)
{
    signing s = open_signing("gateway-sign");
    xmlDocPtr doc = parse(request_xml);
    ck_assert_int_eq(gw_wss_sign_response(s.ctx, doc, 300, NULL), GW_OK);
    xmlChar *before = NULL, *after = NULL;
    int before_len = 0, after_len = 0;
    xmlDocDumpMemory(doc, &before, &before_len);
    char err[512] = "";
    ck_assert_int_eq(gw_wss_sign(s.ctx, doc, time(NULL), 300, NULL, err, sizeof err),
                     GW_ERR_INVALID_ARG);
    ck_assert_msg(strstr(err, "already has a wsse:Security") != NULL, "reason: %s", err);
    xmlDocDumpMemory(doc, &after, &after_len);
    ck_assert_str_eq((const char *)before, (const char *)after);
    xmlFree(before);
    xmlFree(after);
    close_signing(&s);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(envelope_without_header_gets_one)
{
    signing s = open_signing("gateway-sign");
    xmlDocPtr doc = parse("<s:Envelope xmlns:s=\"" SOAP_NS "\"><s:Body><x/></s:Body></s:Envelope>");
    ck_assert_int_eq(gw_wss_sign_response(s.ctx, doc, 60, NULL), GW_OK);
    close_signing(&s);
    doc = reparse(doc);
    find(doc, "/soap:Envelope/soap:Header/wsse:Security");
    gw_wss_result res;
    assert_accepted(doc, &res);
    xmlFreeDoc(doc);
}
END_TEST

/* tools/pide-wss-sign signs like the module: fresh passes, --created-offset -3600 is stale. */
START_TEST(pide_wss_sign_tool)
{
    const char *build = getenv("PIDE_BUILD_DIR");
    const char *source = getenv("PIDE_SOURCE_DIR");
    ck_assert_msg(build && source, "PIDE_BUILD_DIR / PIDE_SOURCE_DIR not set");
    const long offsets[] = {0, -3600};
    const gw_status expected[] = {GW_OK, GW_ERR_TIMESTAMP};
    for (int i = 0; i < 2; i++) {
        char out[1200], cmd[4096];
        snprintf(out, sizeof out, "%s/tool-%d.xml", test_scratch_dir(), i);
        snprintf(cmd, sizeof cmd,
                 "'%s/tools/pide-wss-sign' --key '%s/demo-client.key' --cert "
                 "'%s/demo-client.pem' --created-offset %ld '%s/docs/examples/pj-verificar.xml' "
                 "> '%s'",
                 build, test_pki_dir(), test_pki_dir(), offsets[i], source, out);
        ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
        xmlDocPtr doc = xmlReadFile(out, NULL, XML_PARSE_NONET);
        ck_assert_ptr_nonnull(doc);
        gw_wss_result res;
        char err[512] = "";
        gw_status st = verify(doc, &res, err, sizeof err);
        ck_assert_msg(st == expected[i], "offset %ld: %s: %s", offsets[i], gw_status_name(st),
                      err);
        if (st == GW_OK)
            ck_assert_str_eq(res.member_id, "20000000001");
        xmlFreeDoc(doc);
    }
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "'%s/tools/pide-wss-sign' --key /nonexistent.key --cert x in.xml "
                              ">/dev/null 2>&1", build);
    ck_assert_int_ne(system(cmd), 0);
}
END_TEST

static Suite *wss_suite(void)
{
    Suite *s = suite_create("wss");
    TCase *t = tcase_create("verify");
    tcase_add_unchecked_fixture(t, test_pki_signing_setup, test_pki_signing_teardown);
    tcase_add_test(t, rsa_request_verifies_and_names_the_member);
    tcase_add_test(t, ec_request_verifies);
    tcase_add_test(t, replay_key_is_fixed_by_the_signed_content);
    tcase_add_test(t, preloaded_trust_store_is_used);
    tcase_add_test(t, tampered_body_is_refused);
    tcase_add_test(t, tampered_gateway_header_is_refused);
    tcase_add_test(t, tampered_timestamp_is_refused);
    tcase_add_loop_test(t, signature_not_covering_a_part_is_refused, 0,
                        (int)(sizeof uncovered_xpaths / sizeof uncovered_xpaths[0]));
    tcase_add_test(t, header_added_after_signing_is_refused);
    tcase_add_test(t, moved_body_is_refused);
    tcase_add_test(t, duplicate_id_is_refused);
    tcase_add_test(t, whole_document_reference_is_refused);
    tcase_add_test(t, weak_digest_is_refused);
    tcase_add_test(t, weak_signature_method_is_refused);
    tcase_add_test(t, rogue_ca_is_refused);
    tcase_add_test(t, swapped_token_is_refused);
    tcase_add_test(t, unsigned_request_is_refused);
    tcase_add_loop_test(t, timestamp_outside_the_window_is_refused, 0,
                        (int)(sizeof late_or_early / sizeof late_or_early[0]));
    tcase_add_test(t, future_timestamp_within_skew_is_accepted);
    tcase_add_loop_test(t, signed_response_verifies_with_module_and_stock_cli, 0, 2);
    tcase_add_test(t, signing_twice_is_refused_and_leaves_the_document_alone);
    tcase_add_test(t, envelope_without_header_gets_one);
    tcase_add_test(t, pide_wss_sign_tool);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return check_run_suite(wss_suite());
}
