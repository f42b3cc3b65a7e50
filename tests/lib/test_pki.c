/*
 * test_pki.c — the test PKI and scratch directory shared by the signing suites (test_pki.h).
 */
#include "test_pki.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "status.h"

static char scratch_dir[1024];

const char *test_pki_dir(void)
{
    const char *dir = getenv("PIDE_TEST_PKI_DIR");
    if (dir == NULL || *dir == '\0') {
        fprintf(stderr, "PIDE_TEST_PKI_DIR is not set: run through ctest (fixture pki), or set it "
                        "to a directory made by scripts/pki\n");
        exit(EXIT_FAILURE);
    }
    return dir;
}

void test_pki_path(char *buf, size_t len, const char *file)
{
    snprintf(buf, len, "%s/%s", test_pki_dir(), file);
}

gw_signer *test_pki_open_signer(const char *name)
{
    char key[1100], cert[1100], file[128], err[512] = "";
    snprintf(file, sizeof file, "%s.key", name);
    test_pki_path(key, sizeof key, file);
    snprintf(file, sizeof file, "%s.pem", name);
    test_pki_path(cert, sizeof cert, file);
    gw_signer *signer = NULL;
    gw_status st = gw_signer_open(key, cert, &signer, err, sizeof err);
    ck_assert_msg(st == GW_OK, "gw_signer_open(%s): %s: %s", key, gw_status_name(st), err);
    return signer;
}

void test_pki_signing_setup(void)
{
    test_pki_dir();
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch_dir, sizeof scratch_dir, "%s/pide-check.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(scratch_dir) == NULL) {
        perror("mkdtemp");
        exit(EXIT_FAILURE);
    }
    if (gw_xmlsec_global_init() != GW_OK) {
        fprintf(stderr, "gw_xmlsec_global_init failed\n");
        exit(EXIT_FAILURE);
    }
}

void test_pki_signing_teardown(void)
{
    gw_xmlsec_global_shutdown();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", scratch_dir);
}

const char *test_scratch_dir(void)
{
    return scratch_dir;
}
