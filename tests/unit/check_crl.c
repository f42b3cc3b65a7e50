/*
 * check_crl.c — lib/crl.c with the test PKI (scripts/pki): the revocation lists refuse a
 * revoked signer where the trust store alone accepts it; a list replaced on disk is in force
 * after a refresh, and within a second without one; a list that no longer parses keeps the
 * previous one in force; an expired list fails every check (closed); unreadable files are
 * refused at start with their name. CRLs other than the PKI's are made here, signed by its CA.
 * ctest-fixtures: pki
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check_run.h"
#include "crl.h"
#include "test_pki.h"
#include "xml_sign.h"

static char err[512];

static const char *pki(const char *file)
{
    static char buf[4][1024];
    static int next;
    char *b = buf[next++ % 4];
    test_pki_path(b, sizeof buf[0], file);
    return b;
}

static const char *scratch(const char *file)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", test_scratch_dir(), file);
    return buf;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* Writes a CRL of the PKI's CA to path (through a rename, as a publisher would), revoking the
 * certificate file `revoked` (NULL: none), issued at now + last_update_s, valid until now +
 * next_update_s. */
static void write_crl_at(const char *path, const char *revoked, long last_update_s,
                         long next_update_s)
{
    X509 *ca = read_cert(pki("ca.pem"));
    FILE *f = fopen(pki("ca.key"), "r");
    ck_assert_ptr_nonnull(f);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(key);

    X509_CRL *crl = X509_CRL_new();
    ck_assert_int_eq(X509_CRL_set_version(crl, 1), 1);
    ck_assert_int_eq(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)), 1);
    time_t now = time(NULL);
    ASN1_TIME *last = ASN1_TIME_adj(NULL, now, 0, last_update_s);
    ASN1_TIME *next = ASN1_TIME_adj(NULL, now, 0, next_update_s);
    ck_assert_int_eq(X509_CRL_set1_lastUpdate(crl, last), 1);
    ck_assert_int_eq(X509_CRL_set1_nextUpdate(crl, next), 1);
    if (revoked) {
        X509 *cert = read_cert(revoked);
        X509_REVOKED *r = X509_REVOKED_new();
        X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(cert));
        X509_REVOKED_set_revocationDate(r, last);
        ck_assert_int_eq(X509_CRL_add0_revoked(crl, r), 1);
        X509_free(cert);
    }
    X509_CRL_sort(crl);
    ck_assert_int_gt(X509_CRL_sign(crl, key, EVP_sha256()), 0);

    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_X509_CRL(f, crl), 1);
    fclose(f);
    ck_assert_int_eq(rename(tmp, path), 0);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    EVP_PKEY_free(key);
    X509_free(ca);
}

static void write_crl(const char *path, const char *revoked, long next_update_s)
{
    write_crl_at(path, revoked, next_update_s < 0 ? 2 * next_update_s : -60, next_update_s);
}

static void write_text(const char *path, const char *text)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, path), 0);
}

/* The verdict of a trust store of the PKI's CA, consulting crls (may be NULL), on a member's
 * certificate file. */
static gw_status check_member(gw_crl_set *crls, const char *cert_file)
{
    gw_trust_store *t = NULL;
    ck_assert_msg(gw_trust_store_load(pki("ca.pem"), &t, err, sizeof err) == GW_OK, "%s", err);
    if (crls)
        ck_assert_int_eq(gw_trust_store_use_crls(t, crls), GW_OK);
    X509 *cert = read_cert(pki(cert_file));
    err[0] = '\0';
    gw_status st = gw_trust_store_check_signer(t, cert, NULL, err, sizeof err);
    X509_free(cert);
    gw_trust_store_free(t);
    ERR_clear_error();
    return st;
}

static gw_crl_set *open_one(const char *path)
{
    gw_crl_set *set = NULL;
    ck_assert_msg(gw_crl_set_open(&path, 1, &set, err, sizeof err) == GW_OK, "%s", err);
    return set;
}

START_TEST(revoked_signer_is_refused_only_with_the_crl)
{
    ck_assert_int_eq(check_member(NULL, "revoked-member.pem"), GW_OK);
    gw_crl_set *set = open_one(pki("ca.crl"));
    ck_assert_uint_eq(gw_crl_set_count(set), 1);
    ck_assert_int_eq(check_member(set, "revoked-member.pem"), GW_ERR_SIGNATURE);
    ck_assert_msg(strstr(err, "revoked") != NULL, "%s", err);
    ck_assert_msg(check_member(set, "demo-client.pem") == GW_OK, "%s", err);
    gw_crl_set_free(set);
}
END_TEST

START_TEST(replaced_crl_is_in_force_after_refresh)
{
    const char *path = scratch("members.crl");
    write_crl(path, NULL, 3600);
    gw_crl_set *set = open_one(path);
    ck_assert_msg(check_member(set, "demo-client.pem") == GW_OK, "%s", err);
    ck_assert_int_eq(gw_crl_set_refresh(set, err, sizeof err), 0); /* nothing changed */

    write_crl(path, pki("demo-client.pem"), 3600);
    ck_assert_int_eq(gw_crl_set_refresh(set, err, sizeof err), 1);
    ck_assert_int_eq(check_member(set, "demo-client.pem"), GW_ERR_SIGNATURE);
    ck_assert_msg(strstr(err, "revoked") != NULL, "%s", err);

    /* A publisher's mistake does not lift the revocation: the previous list stays in force. */
    write_text(path, "-----BEGIN X509 CRL-----\nnot a CRL\n-----END X509 CRL-----\n");
    ck_assert_int_eq(gw_crl_set_refresh(set, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "members.crl") != NULL, "%s", err);
    ck_assert_int_eq(check_member(set, "demo-client.pem"), GW_ERR_SIGNATURE);
    ck_assert_uint_eq(gw_crl_set_count(set), 1);
    /* Nor does removing the file. */
    ck_assert_int_eq(unlink(path), 0);
    gw_crl_set_refresh(set, err, sizeof err);
    ck_assert_int_eq(check_member(set, "demo-client.pem"), GW_ERR_SIGNATURE);
    /* A good list put back is read again. */
    write_crl(path, NULL, 3600);
    ck_assert_int_eq(gw_crl_set_refresh(set, err, sizeof err), 1);
    ck_assert_msg(check_member(set, "demo-client.pem") == GW_OK, "%s", err);
    gw_crl_set_free(set);
}
END_TEST

START_TEST(replaced_crl_is_noticed_by_lookups)
{
    const char *path = scratch("lookup.crl");
    write_crl(path, NULL, 3600);
    gw_crl_set *set = open_one(path);
    ck_assert_msg(check_member(set, "demo-client.pem") == GW_OK, "%s", err);
    write_crl(path, pki("demo-client.pem"), 3600);
    /* No explicit refresh: a check more than a second later looks at the file. */
    usleep(1100 * 1000);
    ck_assert_int_eq(check_member(set, "demo-client.pem"), GW_ERR_SIGNATURE);
    ck_assert_msg(strstr(err, "revoked") != NULL, "%s", err);
    gw_crl_set_free(set);
}
END_TEST

START_TEST(expired_crl_fails_closed)
{
    const char *path = scratch("expired.crl");
    write_crl(path, NULL, -3600);
    gw_crl_set *set = open_one(path);
    ck_assert_int_eq(check_member(set, "demo-client.pem"), GW_ERR_SIGNATURE);
    ck_assert_msg(strstr(err, "expired") != NULL, "%s", err);
    gw_crl_set_free(set);
}
END_TEST

START_TEST(unreadable_files_are_refused_by_name)
{
    gw_crl_set *set = NULL;
    const char *missing = pki("no-such.crl");
    ck_assert_int_eq(gw_crl_set_open(&missing, 1, &set, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_null(set);
    ck_assert_msg(strstr(err, "no-such.crl") != NULL, "%s", err);

    const char *garbage = scratch("garbage.crl");
    write_text(garbage, "hello\n");
    ck_assert_int_eq(gw_crl_set_open(&garbage, 1, &set, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, "garbage.crl") != NULL, "%s", err);

    /* A certificate where a CRL is expected. */
    const char *cert = pki("ca.pem");
    ck_assert_int_eq(gw_crl_set_open(&cert, 1, &set, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, "ca.pem") != NULL, "%s", err);
}
END_TEST

/* Several files are one set; of two lists by the same CA, the more recent one is in force
 * (OpenSSL's rule: a newer CRL supersedes an older one of its issuer). */
START_TEST(several_files_are_one_set)
{
    const char *older = scratch("older.crl"), *newer = scratch("newer.crl");
    write_crl_at(older, pki("demo-client.pem"), -7200, 3600);
    write_crl_at(newer, pki("other-member.pem"), -60, 3600);
    const char *paths[] = {older, newer};
    gw_crl_set *set = NULL;
    ck_assert_msg(gw_crl_set_open(paths, 2, &set, err, sizeof err) == GW_OK, "%s", err);
    ck_assert_uint_eq(gw_crl_set_count(set), 2);
    ck_assert_int_eq(check_member(set, "other-member.pem"), GW_ERR_SIGNATURE);
    ck_assert_msg(check_member(set, "demo-client.pem") == GW_OK, "%s", err);
    gw_crl_set_free(set);
}
END_TEST

static Suite *crl_suite(void)
{
    Suite *s = suite_create("crl");
    TCase *tc = tcase_create("crl");
    tcase_add_unchecked_fixture(tc, test_pki_signing_setup, test_pki_signing_teardown);
    tcase_add_test(tc, revoked_signer_is_refused_only_with_the_crl);
    tcase_add_test(tc, replaced_crl_is_in_force_after_refresh);
    tcase_add_test(tc, replaced_crl_is_noticed_by_lookups);
    tcase_add_test(tc, expired_crl_fails_closed);
    tcase_add_test(tc, unreadable_files_are_refused_by_name);
    tcase_add_test(tc, several_files_are_one_set);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(crl_suite());
}
