/*
 * check_key_store.c — tests of lib/key_store.c: the pkcs11: URI is parsed as RFC 7512 writes it
 * (path attributes, query attributes, percent-encoding, binary ids) and everything else is
 * refused with a reason that never repeats a value (a PIN in pin-value least of all); loading
 * refuses a PIN file others can read, a missing module and a missing PIN file, naming the cause
 * and not the PIN. (Loading from a real SoftHSM2 token: tests/integration/test_hsm_signing.sh.)
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "key_store.h"

static gw_pkcs11_uri u;
static char err[512];

static gw_status parse(const char *uri)
{
    err[0] = '\0';
    return gw_pkcs11_uri_parse(uri, &u, err, sizeof err);
}

START_TEST(test_key_store_prefix)
{
    ck_assert_int_eq(gw_key_is_pkcs11("pkcs11:token=a;object=b"), 1);
    ck_assert_int_eq(gw_key_is_pkcs11("PKCS11:token=a;object=b"), 1);
    ck_assert_int_eq(gw_key_is_pkcs11("/etc/pide-gateway/sign.key"), 0);
    ck_assert_int_eq(gw_key_is_pkcs11("pkcs11"), 0);
    ck_assert_int_eq(gw_key_is_pkcs11(NULL), 0);
}
END_TEST

START_TEST(test_key_store_uri_accepted)
{
    ck_assert_int_eq(parse("pkcs11:token=pide;object=gateway-sign;type=private"), GW_OK);
    ck_assert_str_eq(u.engine_uri, "pkcs11:token=pide;object=gateway-sign;type=private");
    ck_assert_str_eq(u.token, "pide");
    ck_assert_str_eq(u.pin_source, "");
    ck_assert_str_eq(u.module_path, "");

    /* type=private is added; a percent-encoded label is decoded for messages, passed on as is */
    ck_assert_int_eq(parse("pkcs11:token=PIDE%20Lima;object=sign"), GW_OK);
    ck_assert_str_eq(u.engine_uri, "pkcs11:token=PIDE%20Lima;object=sign;type=private");
    ck_assert_str_eq(u.token, "PIDE Lima");

    /* a binary id, %00 included */
    ck_assert_int_eq(parse("pkcs11:id=%00%01%ff"), GW_OK);
    ck_assert_str_eq(u.engine_uri, "pkcs11:id=%00%01%ff;type=private");

    /* query attributes: pin-source (file: or absolute), module-path; not passed to the engine */
    ck_assert_int_eq(parse("pkcs11:token=t;object=o?pin-source=file:/etc/pide/pin&module-path="
                           "/usr/lib/softhsm/libsofthsm2.so"),
                     GW_OK);
    ck_assert_str_eq(u.engine_uri, "pkcs11:token=t;object=o;type=private");
    ck_assert_str_eq(u.pin_source, "/etc/pide/pin");
    ck_assert_str_eq(u.module_path, "/usr/lib/softhsm/libsofthsm2.so");
    ck_assert_int_eq(parse("pkcs11:object=o?pin-source=file:///etc/pin"), GW_OK);
    ck_assert_str_eq(u.pin_source, "/etc/pin");
    /* libp11 and X-Road also write pin-source as a path attribute */
    ck_assert_int_eq(parse("pkcs11:object=o;pin-source=/etc/pin;serial=1234;model=SoftHSM%20v2;"
                           "manufacturer=SoftHSM%20project"),
                     GW_OK);
    ck_assert_str_eq(u.pin_source, "/etc/pin");
    ck_assert_str_eq(u.engine_uri, "pkcs11:object=o;serial=1234;model=SoftHSM%20v2;"
                                   "manufacturer=SoftHSM%20project;type=private");
}
END_TEST

/* Each refused with a reason containing `why`. */
static void refused(const char *uri, const char *why)
{
    ck_assert_msg(parse(uri) == GW_ERR_CONFIG, "accepted: %s", uri);
    ck_assert_msg(strstr(err, why) != NULL, "%s: reason '%s' lacks '%s'", uri, err, why);
}

START_TEST(test_key_store_uri_refused)
{
    refused("pkcs11:token=pide", "object= (the label) or id= is required");
    refused("pkcs11:", "object= (the label) or id= is required");
    refused("file:/etc/key.pem", "does not start with 'pkcs11:'");
    refused("pkcs11:object=o;type=public", "type must be 'private'");
    refused("pkcs11:object=o;type=cert", "type must be 'private'");
    refused("pkcs11:object=o;object=p", "'object' given twice");
    refused("pkcs11:object=o;slot-id=3", "attribute 'slot-id' is not supported");
    refused("pkcs11:object=o;;token=t", "an empty attribute");
    refused("pkcs11:object=o;", "ends with ';'");
    refused("pkcs11:object", "has no '='");
    refused("pkcs11:=x;object=o", "no or too long a name");
    refused("pkcs11:object=", "'object' is empty");
    refused("pkcs11:object=%4", "not well percent-encoded");
    refused("pkcs11:object=%zz", "not well percent-encoded");
    refused("pkcs11:object=a%00b", "not well percent-encoded");
    refused("pkcs11:object=a%0ab", "not well percent-encoded");
    refused("pkcs11:object=a b", "space or control character");
    refused("pkcs11:object=a\tb", "space or control character");
    refused("pkcs11:object=o?pin-source=relative/pin", "absolute file path");
    refused("pkcs11:object=o?module-path=libsofthsm2.so", "absolute file path");
    refused("pkcs11:object=o?pin-source=/a&pin-source=/b", "'pin-source' given twice");
    refused("pkcs11:object=o?token=t", "query attribute 'token' is not supported");
    refused("pkcs11:object=o?a=b?c=d", "query attribute 'a' is not supported");
    /* pin-value anywhere: refused, and the PIN is not repeated */
    refused("pkcs11:object=o?pin-value=8642135", "pin-value is refused");
    ck_assert_ptr_null(strstr(err, "8642135"));
    refused("pkcs11:object=o;pin-value=8642135", "pin-value is refused");
    ck_assert_ptr_null(strstr(err, "8642135"));

    char longuri[GW_PKCS11_URI_MAX + 64] = "pkcs11:object=";
    memset(longuri + strlen(longuri), 'a', GW_PKCS11_URI_MAX);
    longuri[GW_PKCS11_URI_MAX + 20] = '\0';
    refused(longuri, "longer than");
    /* the longest accepted URI still gets its ";type=private" whole */
    longuri[GW_PKCS11_URI_MAX] = '\0';
    ck_assert_int_eq(parse(longuri), GW_OK);
    ck_assert_uint_eq(strlen(u.engine_uri), GW_PKCS11_URI_MAX + strlen(";type=private"));
    ck_assert_str_eq(u.engine_uri + GW_PKCS11_URI_MAX, ";type=private");
    ck_assert_int_eq(gw_pkcs11_uri_parse(NULL, &u, err, sizeof err), GW_ERR_INVALID_ARG);
}
END_TEST

static char dir[64];

static const char *file_in_dir(const char *name, const char *content, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

START_TEST(test_key_store_load_refusals)
{
    snprintf(dir, sizeof dir, "/tmp/check_key_store.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    EVP_PKEY *key = (EVP_PKEY *)1;
    char pin_open[128], pin_ok[128], missing[160];
    snprintf(pin_open, sizeof pin_open, "%s", file_in_dir("open.pin", "97531\n", 0644));
    snprintf(pin_ok, sizeof pin_ok, "%s", file_in_dir("ok.pin", "97531\n", 0600));
    snprintf(missing, sizeof missing, "%s/missing.pin", dir);

    gw_key_source src = {.key = "pkcs11:token=t;object=o", .pin_file = pin_open};
    ck_assert_int_eq(gw_private_key_load(&src, &key, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_null(key);
    ck_assert_ptr_nonnull(strstr(err, "open.pin"));
    ck_assert_ptr_null(strstr(err, "97531"));

    src.pin_file = missing;
    ck_assert_int_eq(gw_private_key_load(&src, &key, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "missing.pin"));

    src.pin_file = NULL;
    ck_assert_int_eq(gw_private_key_load(&src, &key, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "no PIN file"));

    src.pin_file = pin_ok;
    src.module = "/nonexistent/libvendor-pkcs11.so";
    ck_assert_int_eq(gw_private_key_load(&src, &key, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/libvendor-pkcs11.so"));
    ck_assert_ptr_null(strstr(err, "97531"));

    /* both pinFile and a different pin-source: ambiguous */
    src.key = "pkcs11:object=o?pin-source=/etc/other.pin";
    ck_assert_int_eq(gw_private_key_load(&src, &key, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "both pinFile and pin-source"));

    /* a PEM key file that is not a key */
    gw_key_source pem = {.key = file_in_dir("not-a-key.pem", "hello\n", 0600)};
    ck_assert_int_eq(gw_private_key_load(&pem, &key, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "not a usable unencrypted PEM private key"));

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    gw_key_store_shutdown();
}
END_TEST

static Suite *key_store_suite(void)
{
    Suite *s = suite_create("key_store");
    TCase *uri = tcase_create("uri");
    tcase_add_test(uri, test_key_store_prefix);
    tcase_add_test(uri, test_key_store_uri_accepted);
    tcase_add_test(uri, test_key_store_uri_refused);
    suite_add_tcase(s, uri);
    TCase *load = tcase_create("load");
    tcase_add_test(load, test_key_store_load_refusals);
    suite_add_tcase(s, load);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(key_store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
