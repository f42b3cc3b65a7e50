/*
 * check_secret_file.c — tests of gateway/secret_file.c: a private file is read (one trailing
 * newline dropped), a file group or others can access is refused without showing its contents,
 * missing/empty/non-regular files are refused with a reason.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret_file.h"

static char secret_dir[64];

static void make_secret_dir(void)
{
    snprintf(secret_dir, sizeof secret_dir, "/tmp/check_secret_file.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(secret_dir));
}

static void remove_secret_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", secret_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *write_secret(const char *name, const char *content, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", secret_dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

START_TEST(test_secret_file_private_is_read_without_newline)
{
    static const char *contents[] = {"s3cr3t\n", "s3cr3t\r\n", "s3cr3t"};
    for (size_t i = 0; i < sizeof contents / sizeof *contents; i++) {
        char *secret = NULL, err[256] = "";
        const char *path = write_secret("pw", contents[i], 0600);
        ck_assert_msg(gw_read_secret_file(path, &secret, err, sizeof err) == GW_OK, "%s", err);
        ck_assert_str_eq(secret, "s3cr3t");
        gw_secret_free(secret);
    }
    /* A line of its own inside the secret is kept: only one trailing newline goes. */
    char *secret = NULL, err[256] = "";
    const char *path = write_secret("pw2", "a\nb\n\n", 0400);
    ck_assert_int_eq(gw_read_secret_file(path, &secret, err, sizeof err), GW_OK);
    ck_assert_str_eq(secret, "a\nb\n");
    gw_secret_free(secret);
}
END_TEST

START_TEST(test_secret_file_readable_by_others_is_refused)
{
    static const mode_t modes[] = {0644, 0640, 0604, 0601, 0610};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        char *secret = (char *)"untouched", err[256] = "", want[32];
        const char *path = write_secret("pw", "hunter2\n", modes[i]);
        ck_assert_int_eq(gw_read_secret_file(path, &secret, err, sizeof err), GW_ERR_CONFIG);
        ck_assert_ptr_null(secret);
        snprintf(want, sizeof want, "(mode %04o)", (unsigned)modes[i]);
        ck_assert_msg(strstr(err, path) && strstr(err, want), "%s", err);
        ck_assert_msg(!strstr(err, "hunter2"), "the error shows the secret: %s", err);
    }
}
END_TEST

START_TEST(test_secret_file_other_problems)
{
    char *secret = NULL, err[256] = "";
    char missing[128];
    snprintf(missing, sizeof missing, "%s/absent", secret_dir);
    ck_assert_int_eq(gw_read_secret_file(missing, &secret, err, sizeof err), GW_ERR_IO);
    ck_assert_msg(strstr(err, "No such file"), "%s", err);

    const char *path = write_secret("empty", "\n", 0600);
    ck_assert_int_eq(gw_read_secret_file(path, &secret, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, "empty"), "%s", err);

    ck_assert_int_eq(chmod(secret_dir, 0700), 0);
    ck_assert_int_eq(gw_read_secret_file(secret_dir, &secret, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, "not a regular file"), "%s", err);
    ck_assert_ptr_null(secret);
}
END_TEST

static Suite *secret_file_suite(void)
{
    Suite *s = suite_create("secret_file");
    TCase *secret = tcase_create("secret_file");
    tcase_add_checked_fixture(secret, make_secret_dir, remove_secret_dir);
    tcase_add_test(secret, test_secret_file_private_is_read_without_newline);
    tcase_add_test(secret, test_secret_file_readable_by_others_is_refused);
    tcase_add_test(secret, test_secret_file_other_problems);
    suite_add_tcase(s, secret);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(secret_file_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
