/*
 * check_body_crypt.c — gateway/body_crypt.c with the test PKI (scripts/pki): a body encrypted to
 * the auditors' certificate decrypts with auditor.key to the same bytes (OpenSSL CMS_decrypt, as
 * `openssl cms -decrypt` does), and with a second recipient's key too; another key cannot
 * decrypt it; each encryption has a fresh content key; the text form is base64 of the same
 * CMS; and every unusable recipient (no file, not PEM, a CA certificate without
 * keyEncipherment, an EC key, an expired certificate) is refused with the file named.
 * ctest-fixtures: pki
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "body_crypt.h"
#include "check_run.h"
#include "test_pki.h"

static char err[1024];

static const char *pki(const char *file)
{
    static char buf[4][1024];
    static int next;
    char *b = buf[next++ % 4];
    test_pki_path(b, 1024, file);
    return b;
}

/* CMS_decrypt of der with the PKI's NAME.key (no certificate given, like openssl cms -decrypt
 * -inkey; CMS_DEBUG_DECRYPT so a key that is no recipient's fails instead of yielding random
 * bytes). NULL when it cannot. */
static unsigned char *decrypt_with(const char *name, const unsigned char *der, size_t der_len,
                                   size_t *out_len)
{
    char file[64];
    snprintf(file, sizeof file, "%s.key", name);
    FILE *f = fopen(pki(file), "r");
    ck_assert_ptr_nonnull(f);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(key);
    BIO *in = BIO_new_mem_buf(der, (int)der_len), *out = BIO_new(BIO_s_mem());
    CMS_ContentInfo *cms = d2i_CMS_bio(in, NULL);
    ck_assert_ptr_nonnull(cms);
    unsigned char *plain = NULL;
    if (CMS_decrypt(cms, key, NULL, NULL, out, CMS_BINARY | CMS_DEBUG_DECRYPT) == 1) {
        char *mem;
        long n = BIO_get_mem_data(out, &mem);
        plain = malloc((size_t)n + 1);
        if (n > 0) /* an empty body: no memory behind mem */
            memcpy(plain, mem, (size_t)n);
        plain[n] = 0;
        *out_len = (size_t)n;
    }
    ERR_clear_error();
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    BIO_free(out);
    EVP_PKEY_free(key);
    return plain;
}

static gw_body_crypt *open_recipients(const char *a, const char *b)
{
    const char *paths[] = {pki(a), b ? pki(b) : NULL};
    gw_body_crypt *bc = NULL;
    ck_assert_msg(gw_body_crypt_new(paths, b ? 2 : 1, &bc, err, sizeof err) == GW_OK, "%s", err);
    return bc;
}

START_TEST(round_trip_with_the_auditor_key)
{
    static const char body[] = "<s:Envelope><s:Body><x>SECRETO-DISTINTIVO-42 \xc3\xb1</x>"
                               "</s:Body></s:Envelope>\n\0binary tail";
    gw_body_crypt *bc = open_recipients("auditor.pem", NULL);
    gw_arena arena;
    gw_arena_init(&arena, 4096);
    const unsigned char *der, *der2;
    size_t der_len, der2_len, plain_len = 0;
    ck_assert_int_eq(gw_body_crypt_encrypt(bc, &arena, body, sizeof body, &der, &der_len), GW_OK);
    ck_assert_int_gt(der_len, sizeof body);
    ck_assert_ptr_null(memmem(der, der_len, "SECRETO-DISTINTIVO-42", 21));
    unsigned char *plain = decrypt_with("auditor", der, der_len, &plain_len);
    ck_assert_ptr_nonnull(plain);
    ck_assert_uint_eq(plain_len, sizeof body);
    ck_assert(memcmp(plain, body, sizeof body) == 0);
    free(plain);
    /* Another key is refused; a fresh content key each time. */
    ck_assert_ptr_null(decrypt_with("other-auditor", der, der_len, &plain_len));
    ck_assert_ptr_null(decrypt_with("demo-client", der, der_len, &plain_len));
    ck_assert_int_eq(gw_body_crypt_encrypt(bc, &arena, body, sizeof body, &der2, &der2_len), GW_OK);
    ck_assert(der2_len != der_len || memcmp(der, der2, der_len) != 0);
    /* Empty bodies encrypt too. */
    ck_assert_int_eq(gw_body_crypt_encrypt(bc, &arena, "", 0, &der, &der_len), GW_OK);
    plain = decrypt_with("auditor", der, der_len, &plain_len);
    ck_assert_ptr_nonnull(plain);
    ck_assert_uint_eq(plain_len, 0);
    free(plain);
    gw_arena_destroy(&arena);
    gw_body_crypt_free(bc);
}
END_TEST

START_TEST(two_recipients_and_the_text_form)
{
    gw_body_crypt *bc = open_recipients("auditor.pem", "other-auditor.pem");
    gw_arena arena;
    gw_arena_init(&arena, 4096);
    const char *b64 = NULL;
    ck_assert_int_eq(gw_body_crypt_encrypt_text(bc, &arena, "campo 'SECRETO' no valido", &b64),
                     GW_OK);
    ck_assert_ptr_null(strstr(b64, "SECRETO"));
    ck_assert_uint_eq(
        strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
        strlen(b64));
    unsigned char *der = malloc(strlen(b64));
    int n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)strlen(b64));
    ck_assert_int_gt(n, 0);
    size_t pad = (size_t)(b64[strlen(b64) - 1] == '=') + (size_t)(b64[strlen(b64) - 2] == '=');
    size_t plain_len;
    for (int k = 0; k < 2; k++) {
        unsigned char *plain =
            decrypt_with(k ? "other-auditor" : "auditor", der, (size_t)n - pad, &plain_len);
        ck_assert_ptr_nonnull(plain);
        ck_assert_str_eq((char *)plain, "campo 'SECRETO' no valido");
        free(plain);
    }
    ck_assert_ptr_null(decrypt_with("gateway-sign", der, (size_t)n - pad, &plain_len));
    free(der);
    gw_arena_destroy(&arena);
    gw_body_crypt_free(bc);
}
END_TEST

static void assert_refused(const char *path, const char *why)
{
    err[0] = 0;
    ck_assert_int_eq(gw_body_crypt_check_recipient(path, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, why) && strstr(err, path), "%s: %s", path, err);
    const char *paths[] = {pki("auditor.pem"), path};
    gw_body_crypt *bc = (gw_body_crypt *)1;
    ck_assert_int_eq(gw_body_crypt_new(paths, 2, &bc, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_null(bc);
}

START_TEST(unusable_recipients_are_refused)
{
    ck_assert_int_eq(gw_body_crypt_check_recipient(pki("auditor.pem"), err, sizeof err), GW_OK);
    assert_refused("/nonexistent/auditor.pem", "cannot read the recipient certificate");
    assert_refused(pki("auditor.key"), "is not a PEM X.509 certificate");
    assert_refused(pki("ca.pem"), "does not allow keyEncipherment");
    assert_refused(pki("gateway-sign-ec.pem"), "has no RSA key of 2048 bits");
    assert_refused(pki("gateway-sign.pem"), "does not allow keyEncipherment");

    /* An expired certificate (made here: self-signed, valid ten days ago for a day). */
    char pem[] = "/tmp/check_body_crypt.XXXXXX";
    int fd = mkstemp(pem);
    ck_assert_int_ge(fd, 0);
    EVP_PKEY *key = EVP_RSA_gen(2048);
    X509 *old = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(old), 1);
    X509_gmtime_adj(X509_getm_notBefore(old), -10L * 86400);
    X509_gmtime_adj(X509_getm_notAfter(old), -9L * 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(old), "CN", MBSTRING_ASC,
                               (const unsigned char *)"old", -1, -1, 0);
    X509_set_issuer_name(old, X509_get_subject_name(old));
    X509_set_pubkey(old, key);
    ck_assert_int_gt(X509_sign(old, key, EVP_sha256()), 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_int_eq(PEM_write_X509(f, old), 1);
    fclose(f);
    assert_refused(pem, "is not valid now");
    unlink(pem);
    X509_free(old);
    EVP_PKEY_free(key);

    gw_body_crypt *bc = NULL;
    ck_assert_int_eq(gw_body_crypt_new(NULL, 0, &bc, err, sizeof err), GW_ERR_CONFIG);
}
END_TEST

/* What encryption costs a worker (printed, not asserted: the box is shared). */
START_TEST(cost_of_one_body)
{
    gw_body_crypt *bc = open_recipients("auditor.pem", NULL);
    gw_arena arena;
    gw_arena_init(&arena, 1 << 16);
    static char body[2048];
    memset(body, 'x', sizeof body);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    const int n = 500;
    for (int i = 0; i < n; i++) {
        const unsigned char *der;
        size_t der_len;
        ck_assert_int_eq(gw_body_crypt_encrypt(bc, &arena, body, sizeof body, &der, &der_len),
                         GW_OK);
        if (i == 0)
            printf("check_body_crypt: a 2 KiB body becomes %zu bytes of CMS (one recipient)\n",
                   der_len);
        gw_arena_reset(&arena);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("check_body_crypt: %d encryptions of 2 KiB in %.3f s (%.1f us each)\n", n, s,
           s * 1e6 / n);
    gw_arena_destroy(&arena);
    gw_body_crypt_free(bc);
}
END_TEST

static Suite *body_crypt_suite(void)
{
    Suite *s = suite_create("body_crypt");
    TCase *tc = tcase_create("cms");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_trip_with_the_auditor_key);
    tcase_add_test(tc, two_recipients_and_the_text_form);
    tcase_add_test(tc, unusable_recipients_are_refused);
    tcase_add_test(tc, cost_of_one_body);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run_suite(body_crypt_suite()); }
