/* check_rest_sign.c — the REST answer's detached JWS (b64=false) with the PKI's signing keys:
 * RS256 (RSA) and ES256 (EC P-256, raw r||s of 64 bytes, not DER) sign and verify; a changed
 * body, exchange id, status, header or signature, another certificate and a malformed value are
 * refused; base64url round-trips.
 * ctest-fixtures: pki */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "check_run.h"
#include "rest_sign.h"
#include "test_pki.h"

static EVP_PKEY *load_key(const char *name)
{
    char path[1024];
    test_pki_path(path, sizeof path, name);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(k);
    return k;
}

static X509 *load_cert(const char *name)
{
    char path[1024];
    test_pki_path(path, sizeof path, name);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(c);
    return c;
}

static const char *const names[][3] = {
    {"gateway-sign.key", "gateway-sign.pem", "RS256"},
    {"gateway-sign-ec.key", "gateway-sign-ec.pem", "ES256"},
};
static const char BODY[] = "{\"exchangeId\":\"e-1\",\"x\":{\"coResultado\":\"0000\"}}";
#define ID "01a23aba-9229-7c9a-8727-bcac2e58db7b"

START_TEST(sign_then_verify_and_refuse_tampering)
{
    EVP_PKEY *key = load_key(names[_i][0]);
    X509 *cert = load_cert(names[_i][1]);
    X509 *other = load_cert(names[1 - _i][1]);
    char *jws = NULL, err[512] = "";
    ck_assert_int_eq(
        gw_rest_jws_sign(key, cert, BODY, sizeof BODY - 1, ID, 200, &jws, err, sizeof err), GW_OK);
    /* HEADER..SIGNATURE, the header naming the algorithm, b64 false, the id and the status. */
    const char *dots = strstr(jws, "..");
    ck_assert_ptr_nonnull(dots);
    unsigned char hdr[1024];
    long hn = gw_base64url_decode(jws, (size_t)(dots - jws), hdr, sizeof hdr);
    ck_assert_int_gt(hn, 0);
    json_t *h = json_loadb((const char *)hdr, (size_t)hn, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(h, "alg")), names[_i][2]);
    ck_assert(json_is_false(json_object_get(h, "b64")));
    ck_assert_str_eq(json_string_value(json_object_get(h, "pide-exchange-id")), ID);
    ck_assert_int_eq(json_integer_value(json_object_get(h, "pide-status")), 200);
    json_decref(h);
    unsigned char sig[1024];
    long sn = gw_base64url_decode(dots + 2, strlen(dots + 2), sig, sizeof sig);
    ck_assert_int_eq(sn, _i ? 64 : 256); /* ES256: raw r||s; RS256: the modulus size */

    ck_assert_msg(gw_rest_jws_verify(cert, jws, BODY, sizeof BODY - 1, ID, 200, err, sizeof err) ==
                      GW_OK,
                  "%s", err);
    char body[sizeof BODY];
    memcpy(body, BODY, sizeof BODY);
    body[30] ^= 1;
    ck_assert_int_eq(gw_rest_jws_verify(cert, jws, body, sizeof BODY - 1, ID, 200, err, sizeof err),
                     GW_ERR_BAD_SIGNATURE);
    ck_assert_int_eq(gw_rest_jws_verify(cert, jws, BODY, sizeof BODY - 2, ID, 200, err, sizeof err),
                     GW_ERR_BAD_SIGNATURE);
    ck_assert_int_eq(gw_rest_jws_verify(cert, jws, BODY, sizeof BODY - 1,
                                        "01a23aba-9229-7c9a-8727-bcac2e58db7c", 200, err,
                                        sizeof err),
                     GW_ERR_BAD_SIGNATURE);
    ck_assert_int_eq(gw_rest_jws_verify(cert, jws, BODY, sizeof BODY - 1, ID, 403, err, sizeof err),
                     GW_ERR_BAD_SIGNATURE);
    ck_assert_int_eq(
        gw_rest_jws_verify(other, jws, BODY, sizeof BODY - 1, ID, 200, err, sizeof err),
        GW_ERR_BAD_SIGNATURE);
    /* A flipped signature character, a missing part, an attached payload, garbage. */
    char *bad = strdup(jws);
    size_t bl = strlen(bad);
    bad[bl - 3] = bad[bl - 3] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(gw_rest_jws_verify(cert, bad, BODY, sizeof BODY - 1, ID, 200, err, sizeof err),
                     GW_ERR_BAD_SIGNATURE);
    free(bad);
    /* The header changed (another status claimed) with the old signature. */
    char hdr_json[512], hdr_b64[800], forged[2048];
    snprintf(hdr_json, sizeof hdr_json,
             "{\"alg\":\"%s\",\"b64\":false,\"crit\":[\"b64\"],"
             "\"pide-exchange-id\":\"" ID "\",\"pide-status\":201,\"x5t#S256\":\"x\"}",
             names[_i][2]);
    gw_base64url_encode((const unsigned char *)hdr_json, strlen(hdr_json), hdr_b64);
    snprintf(forged, sizeof forged, "%s%s", hdr_b64, dots);
    ck_assert_int_eq(
        gw_rest_jws_verify(cert, forged, BODY, sizeof BODY - 1, ID, 201, err, sizeof err),
        GW_ERR_BAD_SIGNATURE);
    static const char *const garbage[] = {"", "..", "abc", "a.b.c", "!!..!!"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        ck_assert_int_eq(
            gw_rest_jws_verify(cert, garbage[i], BODY, sizeof BODY - 1, ID, 200, err, sizeof err),
            GW_ERR_BAD_SIGNATURE);
    /* An empty body signs and verifies too. */
    free(jws);
    ck_assert_int_eq(gw_rest_jws_sign(key, cert, "", 0, ID, 204, &jws, err, sizeof err), GW_OK);
    ck_assert_int_eq(gw_rest_jws_verify(cert, jws, "", 0, ID, 204, err, sizeof err), GW_OK);
    free(jws);
    X509_free(other);
    X509_free(cert);
    EVP_PKEY_free(key);
}
END_TEST

START_TEST(base64url_round_trip)
{
    unsigned char in[64], back[64];
    char enc[128];
    for (size_t n = 0; n < sizeof in; n++) {
        for (size_t i = 0; i < n; i++)
            in[i] = (unsigned char)(i * 37 + n);
        gw_base64url_encode(in, n, enc);
        ck_assert(!strpbrk(enc, "+/="));
        ck_assert_int_eq(gw_base64url_decode(enc, strlen(enc), back, sizeof back), (long)n);
        ck_assert(memcmp(in, back, n) == 0);
    }
    ck_assert_int_eq(gw_base64url_decode("ab+c", 4, back, sizeof back), -1);
    ck_assert_int_eq(gw_base64url_decode("abcde", 5, back, sizeof back), -1);
    ck_assert_int_eq(gw_base64url_decode("ab=", 3, back, sizeof back), -1);
}
END_TEST

static Suite *rest_sign_suite(void)
{
    Suite *suite = suite_create("rest_sign");
    TCase *tc = tcase_create("jws");
    tcase_add_loop_test(tc, sign_then_verify_and_refuse_tampering, 0, 2);
    tcase_add_test(tc, base64url_round_trip);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return check_run_suite(rest_sign_suite()); }
