/*
 * check_checkpoint.c — the pieces of gateway/checkpoint.c that need no database: the canonical
 * checkpoint statement (format, strict parse, refusal of look-alikes), its CMS signature with
 * the PKI's real signing keys (verified against the demo CA, refused against the foreign CA,
 * refused when the statement or the stored signer changes) and RFC 3161 token checks with a
 * token made by OpenSSL's TS_RESP_CTX and the PKI's TSA key (accepted over the right data,
 * refused over other data or with another trust anchor). The database parts are in
 * tests/integration/test_checkpoints.sh.
 * ctest-fixtures: pki
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "check_run.h"
#include "checkpoint.h"
#include "test_pki.h"

static gw_checkpoint_statement sample(void)
{
    gw_checkpoint_statement s = {.id = 7, .head_seq = 12345, .row_count = 1000,
                                 .created_us = INT64_C(1796270411123456)};
    snprintf(s.node_id, sizeof s.node_id, "gw-lima-1");
    for (int i = 0; i < 32; i++) {
        s.head_row_hash[i] = (unsigned char)i;
        s.prev_sha256[i] = (unsigned char)(0xff - i);
    }
    return s;
}

START_TEST(statement_round_trip)
{
    gw_checkpoint_statement s = sample(), back;
    char text[GW_CHECKPOINT_STATEMENT_MAX];
    size_t n = gw_checkpoint_statement_format(&s, text, sizeof text);
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(text, "pide-gateway exchange-log checkpoint v1\nid: 7\nnode: gw-lima-1\nseq: 12345\n"));
    ck_assert_ptr_nonnull(strstr(text, "created: 2026-12-03T"));
    ck_assert(gw_checkpoint_statement_parse((const unsigned char *)text, n, &back));
    ck_assert(memcmp(&s, &back, sizeof s) == 0);
}
END_TEST

START_TEST(statement_look_alikes_refused)
{
    gw_checkpoint_statement s = sample(), back;
    char text[GW_CHECKPOINT_STATEMENT_MAX], bad[GW_CHECKPOINT_STATEMENT_MAX + 8];
    size_t n = gw_checkpoint_statement_format(&s, text, sizeof text);
    /* Truncated, extended, a leading zero, upper-case hex, an extra space. */
    ck_assert(!gw_checkpoint_statement_parse((const unsigned char *)text, n - 1, &back));
    snprintf(bad, sizeof bad, "%sx\n", text);
    ck_assert(!gw_checkpoint_statement_parse((const unsigned char *)bad, strlen(bad), &back));
    const char *edits[][2] = {{"id: 7", "id: 07"}, {"seq: 12345", "seq:  12345"},
                              {"row_hash: 00", "row_hash: 0A"}, {"node: gw", "nodo: gw"}};
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *at = strstr(text, edits[i][0]);
        ck_assert_ptr_nonnull(at);
        size_t pre = (size_t)(at - text);
        snprintf(bad, sizeof bad, "%.*s%s%s", (int)pre, text, edits[i][1], at + strlen(edits[i][0]));
        ck_assert_msg(!gw_checkpoint_statement_parse((const unsigned char *)bad, strlen(bad), &back),
                      "accepted: %s", edits[i][1]);
    }
    /* A node id with a newline would smuggle a line in: not formatted at all. */
    snprintf(s.node_id, sizeof s.node_id, "a\nseq: 1");
    ck_assert_uint_eq(gw_checkpoint_statement_format(&s, text, sizeof text), 0);
    ck_assert(!gw_checkpoint_statement_parse(NULL, 0, &back));
}
END_TEST

static void load_pair(const char *name, EVP_PKEY **key, X509 **cert)
{
    char path[512];
    test_pki_path(path, sizeof path, name);
    strcat(path, ".key");
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    test_pki_path(path, sizeof path, name);
    strcat(path, ".pem");
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(*key);
    ck_assert_ptr_nonnull(*cert);
}

static void *store_of(const char *file)
{
    char path[512], err[256];
    void *store = NULL;
    test_pki_path(path, sizeof path, file);
    ck_assert_int_eq(gw_checkpoint_load_store(path, &store, err, sizeof err), GW_OK);
    return store;
}

static void sign_and_check(const char *name)
{
    EVP_PKEY *key;
    X509 *cert;
    load_pair(name, &key, &cert);
    gw_checkpoint_statement s = sample();
    char text[GW_CHECKPOINT_STATEMENT_MAX], err[400];
    size_t n = gw_checkpoint_statement_format(&s, text, sizeof text);
    unsigned char *der = NULL, *cert_der = NULL;
    size_t der_len = 0;
    ck_assert_int_eq(gw_checkpoint_sign(key, cert, (unsigned char *)text, n, &der, &der_len, err,
                                        sizeof err), GW_OK);
    int cert_len = i2d_X509(cert, &cert_der);
    void *ca = store_of("ca.pem"), *other = store_of("other-ca.pem");
    ck_assert_int_eq(gw_checkpoint_verify_signature(ca, der, der_len, (unsigned char *)text, n,
                                                    cert_der, (size_t)cert_len, err, sizeof err),
                     GW_OK);
    ck_assert_int_eq(gw_checkpoint_verify_signature(other, der, der_len, (unsigned char *)text, n,
                                                    NULL, 0, err, sizeof err),
                     GW_ERR_BAD_SIGNATURE);
    text[n - 2] ^= 1; /* one bit of the statement */
    ck_assert_int_eq(gw_checkpoint_verify_signature(ca, der, der_len, (unsigned char *)text, n,
                                                    NULL, 0, err, sizeof err),
                     GW_ERR_BAD_SIGNATURE);
    text[n - 2] ^= 1;
    /* The stored signer must be the one inside the signature. */
    EVP_PKEY *okey;
    X509 *ocert;
    unsigned char *ocert_der = NULL;
    load_pair("other-member", &okey, &ocert);
    int olen = i2d_X509(ocert, &ocert_der);
    ck_assert_int_eq(gw_checkpoint_verify_signature(ca, der, der_len, (unsigned char *)text, n,
                                                    ocert_der, (size_t)olen, err, sizeof err),
                     GW_ERR_BAD_SIGNATURE);
    /* Garbage and a truncated document. */
    ck_assert_int_eq(gw_checkpoint_verify_signature(ca, (unsigned char *)"junk", 4,
                                                    (unsigned char *)text, n, NULL, 0, err,
                                                    sizeof err),
                     GW_ERR_BAD_SIGNATURE);
    ck_assert_int_eq(gw_checkpoint_verify_signature(ca, der, der_len - 1, (unsigned char *)text, n,
                                                    NULL, 0, err, sizeof err),
                     GW_ERR_BAD_SIGNATURE);
    OPENSSL_free(ocert_der);
    X509_free(ocert);
    EVP_PKEY_free(okey);
    gw_checkpoint_free_store(ca);
    gw_checkpoint_free_store(other);
    OPENSSL_free(der);
    OPENSSL_free(cert_der);
    X509_free(cert);
    EVP_PKEY_free(key);
}

START_TEST(signature_rsa) { sign_and_check("gateway-sign"); }
END_TEST

START_TEST(signature_ecdsa) { sign_and_check("gateway-sign-ec"); }
END_TEST

static ASN1_INTEGER *serial_one(TS_RESP_CTX *ctx, void *data)
{
    (void)ctx;
    (void)data;
    ASN1_INTEGER *n = ASN1_INTEGER_new();
    ASN1_INTEGER_set(n, 1);
    return n;
}

/* A token over SHA-256(data) from the PKI's TSA key, made as tsa-sim makes them. */
static unsigned char *make_token(const unsigned char *data, size_t len, int *token_len)
{
    EVP_PKEY *key;
    X509 *cert;
    load_pair("tsa", &key, &cert);
    unsigned char digest[32];
    EVP_Digest(data, len, digest, NULL, EVP_sha256(), NULL);
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
    TS_MSG_IMPRINT_set_algo(mi, alg);
    TS_MSG_IMPRINT_set_msg(mi, digest, 32);
    TS_REQ_set_version(req, 1);
    TS_REQ_set_msg_imprint(req, mi);
    TS_REQ_set_cert_req(req, 1);
    unsigned char *qder = NULL;
    int qlen = i2d_TS_REQ(req, &qder);
    TS_RESP_CTX *ctx = TS_RESP_CTX_new();
    ASN1_OBJECT *policy = OBJ_txt2obj("1.3.6.1.4.1.99999.3161.1", 1);
    TS_RESP_CTX_set_signer_cert(ctx, cert);
    TS_RESP_CTX_set_signer_key(ctx, key);
    TS_RESP_CTX_set_def_policy(ctx, policy);
    TS_RESP_CTX_add_md(ctx, EVP_sha256());
    TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256());
    TS_RESP_CTX_set_serial_cb(ctx, serial_one, NULL);
    BIO *in = BIO_new_mem_buf(qder, qlen);
    TS_RESP *resp = TS_RESP_create_response(ctx, in);
    ck_assert_ptr_nonnull(resp);
    unsigned char *tder = NULL;
    *token_len = i2d_PKCS7(TS_RESP_get_token(resp), &tder);
    ck_assert_int_gt(*token_len, 0);
    TS_RESP_free(resp);
    BIO_free(in);
    ASN1_OBJECT_free(policy);
    TS_RESP_CTX_free(ctx);
    OPENSSL_free(qder);
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(req);
    X509_free(cert);
    EVP_PKEY_free(key);
    return tder;
}

START_TEST(token_checks)
{
    static const unsigned char doc[] = "a signed checkpoint document";
    int len = 0;
    unsigned char *token = make_token(doc, sizeof doc, &len);
    void *ca = store_of("ca.pem"), *other = store_of("other-ca.pem");
    char err[400];
    int64_t gen = 0;
    ck_assert_int_eq(gw_checkpoint_verify_token(ca, token, (size_t)len, doc, sizeof doc, &gen, err,
                                                sizeof err), GW_OK);
    ck_assert_int_gt(gen, INT64_C(1700000000) * 1000000);
    ck_assert_int_eq(gw_checkpoint_verify_token(ca, token, (size_t)len, doc, sizeof doc - 1, NULL,
                                                err, sizeof err), GW_ERR_BAD_SIGNATURE);
    ck_assert_int_eq(gw_checkpoint_verify_token(other, token, (size_t)len, doc, sizeof doc, NULL,
                                                err, sizeof err), GW_ERR_BAD_SIGNATURE);
    ck_assert_int_eq(gw_checkpoint_verify_token(ca, token, (size_t)len - 3, doc, sizeof doc, NULL,
                                                err, sizeof err), GW_ERR_BAD_SIGNATURE);
    ck_assert_int_eq(gw_checkpoint_verify_token(ca, (unsigned char *)"\x30\x03\x02\x01\x01", 5,
                                                doc, sizeof doc, NULL, err, sizeof err),
                     GW_ERR_BAD_SIGNATURE);
    gw_checkpoint_free_store(ca);
    gw_checkpoint_free_store(other);
    OPENSSL_free(token);
}
END_TEST

START_TEST(store_needs_certificates)
{
    void *store = NULL;
    char err[256];
    ck_assert_int_ne(gw_checkpoint_load_store("/nonexistent/ca.pem", &store, err, sizeof err), GW_OK);
    ck_assert_ptr_null(store);
    char path[512];
    test_pki_path(path, sizeof path, "gateway-sign.key");
    ck_assert_int_eq(gw_checkpoint_load_store(path, &store, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "no PEM certificate"));
}
END_TEST

static Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, statement_round_trip);
    tcase_add_test(tc, statement_look_alikes_refused);
    tcase_add_test(tc, signature_rsa);
    tcase_add_test(tc, signature_ecdsa);
    tcase_add_test(tc, token_checks);
    tcase_add_test(tc, store_needs_certificates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(checkpoint_suite());
}
