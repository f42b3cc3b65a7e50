/*
 * check_xml_sign.c — tests for lib/xml_sign.c with real keys made by scripts/pki and the
 * stock xmlsec1 CLI as an independent verifier.
 *
 * ctest-fixtures: pki
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <openssl/pem.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/app.h>

#include "check_run.h"
#include "status.h"
#include "test_pki.h"
#include "test_xml.h"
#include "xml_sign.h"

#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"
#define SOAP_NS "http://schemas.xmlsoap.org/soap/envelope/"

static const char envelope_xml[] =
    "<soap:Envelope xmlns:soap=\"" SOAP_NS "\">"
    "<soap:Header/>"
    "<soap:Body><m:consultarRucResponse xmlns:m=\"urn:pide:sunat\">"
    "<m:ruc>20000000001</m:ruc><m:razonSocial>Demo agency</m:razonSocial>"
    "</m:consultarRucResponse></soap:Body></soap:Envelope>";

/* Which signing key a looped test uses: 0 = RSA, 1 = ECDSA. */
static const char *const key_names[] = {"gateway-sign", "gateway-sign-ec"};
static const char *const expected_algorithms[] = {"rsa-sha256", "ecdsa-sha256"};
static const char *const signature_method_uris[] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
};

static xmlDocPtr parse(const char *xml, size_t len)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "mem.xml", NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

static const char *const namespaces[] = {"ds", DSIG_NS, "soap", SOAP_NS, "m", "urn:pide:sunat",
                                         NULL};

static xmlNodePtr find_element(xmlDocPtr doc, const char *xpath)
{
    return test_xml_first(doc, xpath, namespaces);
}

/* Signs a fresh envelope under soap:Header with a new context of s. */
static xmlDocPtr sign_envelope(gw_signer *s, const char **value)
{
    gw_sign_ctx *c = NULL;
    ck_assert_int_eq(gw_sign_ctx_new(s, &c), GW_OK);
    xmlDocPtr doc = parse(envelope_xml, strlen(envelope_xml));
    xmlNodePtr header = find_element(doc, "/soap:Envelope/soap:Header");
    ck_assert_ptr_nonnull(header);
    gw_status st = gw_sign_document(c, doc, header, value);
    ck_assert_msg(st == GW_OK, "gw_sign_document: %s", gw_status_name(st));
    gw_sign_ctx_free(c);
    return doc;
}

static gw_status verify_with(xmlDocPtr doc, const char *ca_file, char *err, size_t errlen)
{
    char ca[1100];
    test_pki_path(ca, sizeof ca, ca_file);
    return gw_verify_document(doc, ca, err, errlen);
}

static void save(xmlDocPtr doc, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", test_scratch_dir(), name);
    ck_assert_int_gt(xmlSaveFile(path, doc), 0);
}

/* Exit status of `xmlsec1 --verify --trusted-pem CA FILE`, output discarded. */
static int run_xmlsec1_verify(const char *file)
{
    char ca[1100];
    test_pki_path(ca, sizeof ca, "ca.pem");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        execlp("xmlsec1", "xmlsec1", "--verify", "--trusted-pem", ca, file, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "xmlsec1 did not exit normally");
    ck_assert_msg(WEXITSTATUS(status) != 127, "xmlsec1 CLI not found (apt install xmlsec1)");
    return WEXITSTATUS(status);
}

static void tamper_body(xmlDocPtr doc)
{
    xmlNodePtr name = find_element(doc, "//m:razonSocial");
    ck_assert_ptr_nonnull(name);
    xmlNodeSetContent(name, BAD_CAST "Rogue agency");
}

START_TEST(sign_then_verify_with_ca)
{
    gw_signer *s = test_pki_open_signer(key_names[_i]);
    ck_assert_str_eq(gw_signer_algorithm(s), expected_algorithms[_i]);
    const char *value = NULL;
    xmlDocPtr doc = sign_envelope(s, &value);

    xmlNodePtr value_node = find_element(doc, "//ds:Signature/ds:SignatureValue");
    ck_assert_ptr_nonnull(value_node);
    ck_assert_ptr_nonnull(value);
    ck_assert_int_gt((int)strlen(value), 40);
    xmlChar *text = xmlNodeGetContent(value_node);
    ck_assert_str_eq(value, (const char *)text);
    xmlFree(text);

    char err[512] = "";
    gw_status st = verify_with(doc, "ca.pem", err, sizeof err);
    ck_assert_msg(st == GW_OK, "in-memory verify: %s: %s", gw_status_name(st), err);
    /* A receiver sees bytes, not our tree: verify what survives serialisation. */
    xmlDocPtr received = test_xml_reparse(doc);
    st = verify_with(received, "ca.pem", err, sizeof err);
    ck_assert_msg(st == GW_OK, "verify after reparse: %s: %s", gw_status_name(st), err);

    xmlFreeDoc(received);
    xmlFreeDoc(doc);
    gw_signer_close(s);
}
END_TEST

START_TEST(stock_cli_verifies_and_rejects_tampering)
{
    gw_signer *s = test_pki_open_signer(key_names[_i]);
    xmlDocPtr doc = sign_envelope(s, NULL);
    char path[1200];
    save(doc, _i ? "signed-ec.xml" : "signed-rsa.xml", path, sizeof path);
    ck_assert_msg(run_xmlsec1_verify(path) == 0, "xmlsec1 --verify rejected %s", path);

    tamper_body(doc);
    save(doc, _i ? "tampered-ec.xml" : "tampered-rsa.xml", path, sizeof path);
    ck_assert_msg(run_xmlsec1_verify(path) != 0, "xmlsec1 --verify accepted tampered %s", path);
    xmlFreeDoc(doc);
    gw_signer_close(s);
}
END_TEST

START_TEST(tampered_body_fails_verification)
{
    gw_signer *s = test_pki_open_signer(key_names[_i]);
    xmlDocPtr doc = sign_envelope(s, NULL);
    xmlDocPtr received = test_xml_reparse(doc);
    tamper_body(received);
    char err[512] = "";
    gw_status st = verify_with(received, "ca.pem", err, sizeof err);
    ck_assert_int_ne(st, GW_OK);
    ck_assert_msg(strstr(err, "does not match") != NULL, "unexpected reason: %s", err);
    xmlFreeDoc(received);
    xmlFreeDoc(doc);
    gw_signer_close(s);
}
END_TEST

START_TEST(foreign_ca_fails_verification)
{
    gw_signer *s = test_pki_open_signer(key_names[_i]);
    xmlDocPtr doc = sign_envelope(s, NULL);
    char err[512] = "";
    gw_status st = verify_with(doc, "other-ca.pem", err, sizeof err);
    ck_assert_int_ne(st, GW_OK);
    ck_assert_msg(err[0] != '\0', "no reason given");
    xmlFreeDoc(doc);
    gw_signer_close(s);
}
END_TEST

/* A certificate that only another CA vouches for: trusted by that CA, not by ours. */
START_TEST(signer_from_foreign_ca_is_not_trusted)
{
    char err[512] = "";
    gw_signer *s = test_pki_open_signer("rogue-client");
    xmlDocPtr doc = sign_envelope(s, NULL);
    ck_assert_int_eq(verify_with(doc, "other-ca.pem", err, sizeof err), GW_OK);
    ck_assert_int_ne(verify_with(doc, "ca.pem", err, sizeof err), GW_OK);
    ck_assert_msg(strstr(err, "not trusted") != NULL, "unexpected reason: %s", err);
    xmlFreeDoc(doc);
    gw_signer_close(s);
}
END_TEST

START_TEST(unsigned_document_fails_verification)
{
    xmlDocPtr doc = parse(envelope_xml, strlen(envelope_xml));
    char err[512] = "";
    ck_assert_int_ne(verify_with(doc, "ca.pem", err, sizeof err), GW_OK);
    ck_assert_msg(strstr(err, "no ds:Signature") != NULL, "unexpected reason: %s", err);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(missing_ca_file_is_reported)
{
    gw_signer *s = test_pki_open_signer(key_names[0]);
    xmlDocPtr doc = sign_envelope(s, NULL);
    char err[512] = "";
    ck_assert_int_eq(verify_with(doc, "no-such-ca.pem", err, sizeof err), GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, "no-such-ca.pem") != NULL, "file not named: %s", err);
    xmlFreeDoc(doc);
    gw_signer_close(s);
}
END_TEST

/* Copies the RSA signing key into the temp dir with the given mode. */
static void copy_key(const char *name, mode_t mode, char *out, size_t outlen)
{
    char src[1100];
    test_pki_path(src, sizeof src, "gateway-sign.key");
    snprintf(out, outlen, "%s/%s", test_scratch_dir(), name);
    FILE *in = fopen(src, "rb");
    ck_assert_ptr_nonnull(in);
    FILE *dst = fopen(out, "wb");
    ck_assert_ptr_nonnull(dst);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, dst), n);
    fclose(in);
    fclose(dst);
    ck_assert_int_eq(chmod(out, mode), 0);
}

START_TEST(key_readable_by_others_is_refused)
{
    char key[1200], cert[1100], err[512] = "";
    test_pki_path(cert, sizeof cert, "gateway-sign.pem");
    gw_signer *s = NULL;

    copy_key("open.key", 0644, key, sizeof key);
    ck_assert_int_eq(gw_signer_open(key, cert, &s, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, key) != NULL, "message does not name the file: %s", err);
    ck_assert_msg(strstr(err, "0644") != NULL, "message does not give the mode: %s", err);

    /* The same bytes with owner-only access load: the mode alone was the reason. */
    copy_key("closed.key", 0600, key, sizeof key);
    gw_status st = gw_signer_open(key, cert, &s, err, sizeof err);
    ck_assert_msg(st == GW_OK, "0600 copy refused: %s", err);
    gw_signer_close(s);
}
END_TEST

START_TEST(bad_key_and_cert_files_are_refused)
{
    char key[1100], cert[1100], other_cert[1100], err[512] = "";
    gw_signer *s = NULL;
    test_pki_path(key, sizeof key, "gateway-sign.key");
    test_pki_path(cert, sizeof cert, "gateway-sign.pem");
    test_pki_path(other_cert, sizeof other_cert, "gateway-sign-ec.pem");

    ck_assert_int_eq(gw_signer_open(key, other_cert, &s, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, "does not match") != NULL, "mismatch not explained: %s", err);

    char missing[1200];
    snprintf(missing, sizeof missing, "%s/absent.key", test_scratch_dir());
    ck_assert_int_eq(gw_signer_open(missing, cert, &s, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, missing) != NULL, "file not named: %s", err);

    /* A certificate where the key should be: not a private key. */
    char not_key[1200];
    snprintf(not_key, sizeof not_key, "%s/cert-as-key.key", test_scratch_dir());
    FILE *f = fopen(not_key, "w");
    ck_assert_ptr_nonnull(f);
    fputs("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    ck_assert_int_eq(chmod(not_key, 0600), 0);
    ck_assert_int_eq(gw_signer_open(not_key, cert, &s, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, not_key) != NULL, "file not named: %s", err);
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(signature_shape_is_whole_document_sha256_exclusive_c14n)
{
    gw_signer *s = test_pki_open_signer(key_names[_i]);
    xmlDocPtr doc = sign_envelope(s, NULL);

    xmlNodePtr sig = find_element(doc, "/soap:Envelope/soap:Header/ds:Signature");
    ck_assert_msg(sig != NULL, "ds:Signature is not a child of the given parent");
    xmlNodePtr ref = find_element(doc, "//ds:Signature/ds:SignedInfo/ds:Reference");
    ck_assert_ptr_nonnull(ref);
    xmlChar *uri = xmlGetProp(ref, BAD_CAST "URI");
    ck_assert_ptr_nonnull(uri);
    ck_assert_str_eq((const char *)uri, "");
    xmlFree(uri);
    ck_assert_msg(!xmlHasProp(ref, BAD_CAST "Type"), "Reference has a Type attribute");

    struct {
        const char *xpath;
        const char *algorithm;
    } expected[] = {
        {"//ds:SignedInfo/ds:CanonicalizationMethod", "http://www.w3.org/2001/10/xml-exc-c14n#"},
        {"//ds:SignedInfo/ds:SignatureMethod", signature_method_uris[_i]},
        {"//ds:Reference/ds:DigestMethod", "http://www.w3.org/2001/04/xmlenc#sha256"},
        {"//ds:Reference/ds:Transforms/ds:Transform[1]",
         "http://www.w3.org/2000/09/xmldsig#enveloped-signature"},
        {"//ds:Reference/ds:Transforms/ds:Transform[2]", "http://www.w3.org/2001/10/xml-exc-c14n#"},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        xmlNodePtr n = find_element(doc, expected[i].xpath);
        ck_assert_msg(n != NULL, "missing %s", expected[i].xpath);
        xmlChar *alg = xmlGetProp(n, BAD_CAST "Algorithm");
        ck_assert_msg(alg != NULL && strcmp((const char *)alg, expected[i].algorithm) == 0,
                      "%s Algorithm=%s, want %s", expected[i].xpath, alg ? (char *)alg : "(none)",
                      expected[i].algorithm);
        xmlFree(alg);
    }
    ck_assert_ptr_null(find_element(doc, "//ds:Reference/ds:Transforms/ds:Transform[3]"));
    ck_assert_int_eq(xmlChildElementCount(find_element(doc, "//ds:SignedInfo")), 3);

    xmlNodePtr cert = find_element(doc, "//ds:KeyInfo/ds:X509Data/ds:X509Certificate");
    ck_assert_ptr_nonnull(cert);
    xmlChar *b64 = xmlNodeGetContent(cert);
    ck_assert_int_gt(xmlStrlen(b64), 500);
    xmlFree(b64);

    xmlFreeDoc(doc);
    gw_signer_close(s);
}
END_TEST

#define SIGN_THREADS 4
#define SIGNS_PER_THREAD 25

struct signing_thread {
    gw_signer *signer;
    int index;
    xmlChar *out[SIGNS_PER_THREAD];
    int out_len[SIGNS_PER_THREAD];
    gw_status status;
};

/* Each signature covers a body unique to (thread, round), so a mix-up between threads shows. */
static void *signing_thread_main(void *arg)
{
    struct signing_thread *t = arg;
    gw_sign_ctx *c = NULL;
    t->status = gw_sign_ctx_new(t->signer, &c);
    for (int i = 0; i < SIGNS_PER_THREAD && t->status == GW_OK; i++) {
        char xml[1024];
        int n = snprintf(xml, sizeof xml,
                         "<soap:Envelope xmlns:soap=\"" SOAP_NS "\"><soap:Header/><soap:Body>"
                         "<r>thread %d round %d</r></soap:Body></soap:Envelope>",
                         t->index, i);
        xmlDocPtr doc = xmlReadMemory(xml, n, "mem.xml", NULL, XML_PARSE_NONET);
        if (doc == NULL) {
            t->status = GW_ERR_MALFORMED_XML;
            break;
        }
        t->status = gw_sign_document(c, doc, xmlDocGetRootElement(doc)->children, NULL);
        if (t->status == GW_OK)
            xmlDocDumpMemory(doc, &t->out[i], &t->out_len[i]);
        xmlFreeDoc(doc);
    }
    gw_sign_ctx_free(c);
    return NULL;
}

START_TEST(threads_sign_concurrently_with_own_contexts)
{
    gw_signer *s = test_pki_open_signer(key_names[_i]);
    struct signing_thread threads[SIGN_THREADS];
    pthread_t ids[SIGN_THREADS];
    memset(threads, 0, sizeof threads);
    for (int t = 0; t < SIGN_THREADS; t++) {
        threads[t].signer = s;
        threads[t].index = t;
        ck_assert_int_eq(pthread_create(&ids[t], NULL, signing_thread_main, &threads[t]), 0);
    }
    for (int t = 0; t < SIGN_THREADS; t++)
        ck_assert_int_eq(pthread_join(ids[t], NULL), 0);

    for (int t = 0; t < SIGN_THREADS; t++) {
        ck_assert_msg(threads[t].status == GW_OK, "thread %d: %s", t,
                      gw_status_name(threads[t].status));
        for (int i = 0; i < SIGNS_PER_THREAD; i++) {
            char expected[64];
            snprintf(expected, sizeof expected, "<r>thread %d round %d</r>", t, i);
            ck_assert_ptr_nonnull(strstr((const char *)threads[t].out[i], expected));
            xmlDocPtr doc = parse((const char *)threads[t].out[i], (size_t)threads[t].out_len[i]);
            char err[512] = "";
            gw_status st = verify_with(doc, "ca.pem", err, sizeof err);
            ck_assert_msg(st == GW_OK, "thread %d round %d: %s", t, i, err);
            xmlFreeDoc(doc);
            xmlFree(threads[t].out[i]);
        }
    }
    gw_signer_close(s);
}
END_TEST

/* ---- one signature-algorithm policy under both profiles ------------------------------------ */

/* <root><data Id="part">...</data><ds:Signature/></root>, the Signature over "#part" made with
 * the gateway's RSA key and the given algorithms (any xmlsec knows, weak ones included). */
static xmlDocPtr sign_part_with(xmlSecTransformId method, xmlSecTransformId digest)
{
    static const char xml[] = "<root><data Id=\"part\">consulta 45678912</data></root>";
    xmlDocPtr doc = parse(xml, strlen(xml));
    xmlNodePtr root = xmlDocGetRootElement(doc), data = root->children;
    xmlAttrPtr id = xmlHasProp(data, BAD_CAST "Id");
    ck_assert_ptr_nonnull(xmlAddID(NULL, doc, BAD_CAST "part", id));
    xmlNodePtr sig = xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId, method, NULL);
    ck_assert_ptr_nonnull(sig);
    xmlAddChild(root, sig);
    xmlNodePtr ref = xmlSecTmplSignatureAddReference(sig, digest, NULL, BAD_CAST "#part", NULL);
    ck_assert_ptr_nonnull(ref);
    ck_assert_ptr_nonnull(xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId));

    char key_path[1100];
    test_pki_path(key_path, sizeof key_path, "gateway-sign.key");
    xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
    ctx->signKey = xmlSecOpenSSLAppKeyLoad(key_path, xmlSecKeyDataFormatPem, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(ctx->signKey);
    ck_assert_int_eq(xmlSecDSigCtxSign(ctx, sig), 0);
    xmlSecDSigCtxDestroy(ctx);
    return doc;
}

static X509 *gateway_certificate(void)
{
    char path[1100];
    test_pki_path(path, sizeof path, "gateway-sign.pem");
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(cert);
    return cert;
}

static gw_status verify_part(xmlDocPtr doc, gw_dsig_profile profile, char *err, size_t errlen)
{
    X509 *cert = gateway_certificate();
    xmlNodePtr sig = xmlSecFindNode(xmlDocGetRootElement(doc), xmlSecNodeSignature, xmlSecDSigNs);
    gw_status st = gw_dsig_verify_with_certificate(sig, cert, profile, GW_ERR_BAD_SIGNATURE, err,
                                                   errlen);
    X509_free(cert);
    return st;
}

/* The same signature, strong algorithms: both profiles accept it (the control of the test
 * below: a refusal there is the algorithm's doing, nothing else's). */
START_TEST(both_profiles_accept_the_strong_algorithms)
{
    char err[512];
    xmlDocPtr doc = sign_part_with(xmlSecTransformRsaSha256Id, xmlSecTransformSha256Id);
    ck_assert_msg(verify_part(doc, GW_DSIG_ENVELOPED, err, sizeof err) == GW_OK, "%s", err);
    ck_assert_msg(verify_part(doc, GW_DSIG_WSS, err, sizeof err) == GW_OK, "%s", err);
    xmlFreeDoc(doc);
    ck_assert(gw_dsig_algorithm_allowed(GW_DSIG_DIGEST, "http://www.w3.org/2001/04/xmlenc#sha256"));
    ck_assert(gw_dsig_algorithm_allowed(GW_DSIG_SIGNATURE_METHOD,
                                        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"));
}
END_TEST

/* SHA-1 as the digest, RSA-SHA1, RSA-MD5 and HMAC as the signature method: refused by the one
 * policy whichever profile verifies (enveloped responses, WS-Security requests). */
START_TEST(both_profiles_refuse_the_same_weak_algorithms)
{
    static const struct {
        const char *what;
        int method; /* 0 digest, 1 signature method */
        const char *href;
    } weak[] = {
        {"SHA-1 digest", 0, "http://www.w3.org/2000/09/xmldsig#sha1"},
        {"MD5 digest", 0, "http://www.w3.org/2001/04/xmldsig-more#md5"},
        {"RSA-SHA1", 1, "http://www.w3.org/2000/09/xmldsig#rsa-sha1"},
        {"RSA-MD5", 1, "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"},
        {"HMAC-SHA1", 1, "http://www.w3.org/2000/09/xmldsig#hmac-sha1"},
        {"HMAC-SHA256", 1, "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"},
    };
    for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++)
        ck_assert_msg(!gw_dsig_algorithm_allowed(weak[i].method ? GW_DSIG_SIGNATURE_METHOD
                                                                : GW_DSIG_DIGEST,
                                                 weak[i].href),
                      "%s allowed", weak[i].what);

    /* Real signatures with the weak algorithms xmlsec can still make, through each profile's
     * verification context. */
    char err[512];
    xmlDocPtr docs[] = {
        sign_part_with(xmlSecTransformRsaSha256Id, xmlSecTransformSha1Id),
        sign_part_with(xmlSecTransformRsaSha1Id, xmlSecTransformSha256Id),
        sign_part_with(xmlSecTransformRsaMd5Id, xmlSecTransformSha256Id),
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        ck_assert_int_eq(verify_part(docs[i], GW_DSIG_ENVELOPED, err, sizeof err),
                         GW_ERR_BAD_SIGNATURE);
        ck_assert_int_eq(verify_part(docs[i], GW_DSIG_WSS, err, sizeof err),
                         GW_ERR_BAD_SIGNATURE);
        xmlFreeDoc(docs[i]);
    }
}
END_TEST

static Suite *xml_sign_suite(void)
{
    Suite *suite = suite_create("xml_sign");
    TCase *tc = tcase_create("sign_verify");
    tcase_add_unchecked_fixture(tc, test_pki_signing_setup, test_pki_signing_teardown);
    tcase_add_loop_test(tc, sign_then_verify_with_ca, 0, 2);
    tcase_add_loop_test(tc, stock_cli_verifies_and_rejects_tampering, 0, 2);
    tcase_add_loop_test(tc, tampered_body_fails_verification, 0, 2);
    tcase_add_loop_test(tc, foreign_ca_fails_verification, 0, 2);
    tcase_add_test(tc, signer_from_foreign_ca_is_not_trusted);
    tcase_add_test(tc, unsigned_document_fails_verification);
    tcase_add_test(tc, missing_ca_file_is_reported);
    tcase_add_test(tc, key_readable_by_others_is_refused);
    tcase_add_test(tc, bad_key_and_cert_files_are_refused);
    tcase_add_loop_test(tc, signature_shape_is_whole_document_sha256_exclusive_c14n, 0, 2);
    tcase_add_loop_test(tc, threads_sign_concurrently_with_own_contexts, 0, 2);
    tcase_add_test(tc, both_profiles_accept_the_strong_algorithms);
    tcase_add_test(tc, both_profiles_refuse_the_same_weak_algorithms);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    return check_run_suite(xml_sign_suite());
}
