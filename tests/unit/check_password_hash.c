/*
 * check_password_hash.c — tests of gateway/password_hash.c: PBKDF2 hashes made, verified,
 * refused when malformed (with a reason), compatible with another implementation.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "password_hash.h"

/* Tests use the minimum iteration count so that failures (which always run PBKDF2) stay fast. */
#define FAST GW_PASSWORD_HASH_MIN_ITERATIONS

static char *must_hash(const char *password, unsigned iterations)
{
    char *h = NULL;
    ck_assert_int_eq(gw_password_hash_new(password, iterations, &h), GW_OK);
    ck_assert_ptr_nonnull(h);
    return h;
}

START_TEST(test_hash_then_verify)
{
    char *h = must_hash("correct horse", FAST);
    ck_assert_int_eq(gw_password_hash_verify(h, "correct horse"), GW_OK);
    ck_assert_int_eq(gw_password_hash_verify(h, "correct hors"), GW_ERR_AUTHENTICATION);
    ck_assert_int_eq(gw_password_hash_verify(h, "correct horse "), GW_ERR_AUTHENTICATION);
    ck_assert_int_eq(gw_password_hash_verify(h, ""), GW_ERR_AUTHENTICATION);
    ck_assert_int_eq(gw_password_hash_check_format(h, NULL, 0), GW_OK);
    free(h);
}
END_TEST

START_TEST(test_default_iterations_and_format)
{
    char *h = must_hash("x", 0);
    ck_assert_msg(strncmp(h, "pbkdf2-sha256$100000$", 21) == 0, "%s", h);
    /* 16-byte salt and 32-byte hash in padded base64. */
    const char *salt = h + 21;
    const char *hash = strchr(salt, '$') + 1;
    ck_assert_int_eq((int)(hash - salt - 1), 24);
    ck_assert_int_eq((int)strlen(hash), 44);
    ck_assert_int_eq(gw_password_hash_verify(h, "x"), GW_OK);
    free(h);
}
END_TEST

START_TEST(test_two_hashes_of_one_password_differ)
{
    char *a = must_hash("same", FAST), *b = must_hash("same", FAST);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(gw_password_hash_verify(a, "same"), GW_OK);
    ck_assert_int_eq(gw_password_hash_verify(b, "same"), GW_OK);
    free(a);
    free(b);
}
END_TEST

/* Made by Python: hashlib.pbkdf2_hmac("sha256", b"secret", bytes(range(16)), 1000). */
START_TEST(test_hash_from_another_implementation_verifies)
{
    const char *h =
        "pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw==$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY=";
    ck_assert_int_eq(gw_password_hash_verify(h, "secret"), GW_OK);
    ck_assert_int_eq(gw_password_hash_verify(h, "Secret"), GW_ERR_AUTHENTICATION);
}
END_TEST

static const struct malformed_case {
    const char *hash;
    const char *reason;
} malformed[] = {
    {"", "must start with"},
    {"md5$deadbeef", "must start with"},
    {"pbkdf2-sha1$1000$AAECAwQFBgcICQoLDA0ODw==$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY=",
     "must start with"},
    {"pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw==", "must have the form"},
    {"pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw==$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY=$",
     "must have the form"},
    {"pbkdf2-sha256$1e3$AAECAwQFBgcICQoLDA0ODw==$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY=",
     "not a number"},
    {"pbkdf2-sha256$$AAECAwQFBgcICQoLDA0ODw==$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY=",
     "missing"},
    {"pbkdf2-sha256$10$AAECAwQFBgcICQoLDA0ODw==$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY=",
     "outside"},
    {"pbkdf2-sha256$1000$AAEC*wQFBgcICQoLDA0ODw==$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY=",
     "salt"},
    {"pbkdf2-sha256$1000$AAECAw==$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY=", "salt"},
    {"pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw==$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2Pa", "value"},
    {"pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw==$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY",
     "value"},
};

START_TEST(test_malformed_hash_is_a_distinct_error)
{
    const struct malformed_case *c = &malformed[_i];
    char why[160] = "";
    ck_assert_msg(gw_password_hash_verify(c->hash, "secret") == GW_ERR_CONFIG, "'%s' accepted",
                  c->hash);
    ck_assert_int_eq(gw_password_hash_check_format(c->hash, why, sizeof why), GW_ERR_CONFIG);
    ck_assert_msg(strstr(why, c->reason), "'%s': want '%s' in '%s'", c->hash, c->reason, why);
}
END_TEST

static Suite *password_hash_suite(void)
{
    Suite *s = suite_create("password_hash");
    TCase *hash = tcase_create("hash");
    tcase_add_test(hash, test_hash_then_verify);
    tcase_add_test(hash, test_default_iterations_and_format);
    tcase_add_test(hash, test_two_hashes_of_one_password_differ);
    tcase_add_test(hash, test_hash_from_another_implementation_verifies);
    tcase_add_loop_test(hash, test_malformed_hash_is_a_distinct_error, 0,
                        (int)(sizeof malformed / sizeof *malformed));
    suite_add_tcase(s, hash);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(password_hash_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
