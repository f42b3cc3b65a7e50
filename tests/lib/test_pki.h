/*
 * test_pki.h — the test PKI (ctest fixture "pki", made by scripts/pki) and a scratch directory,
 * as the signing suites (check_xml_sign, check_wss) and check_tls use them.
 *
 * test_pki_open_signer fails the running Check test; the fixture functions exit with a message,
 * since no test can run without the PKI.
 */
#ifndef PIDE_TEST_PKI_H
#define PIDE_TEST_PKI_H

#include <stddef.h>

#include "xml_sign.h"

/* $PIDE_TEST_PKI_DIR; exits with a message when it is not set. */
const char *test_pki_dir(void);

/* buf = "<pki dir>/<file>". */
void test_pki_path(char *buf, size_t len, const char *file);

/* The signer of the PKI's key pair NAME.key / NAME.pem. */
gw_signer *test_pki_open_signer(const char *name);

/* Unchecked Check fixture for the signing suites: needs the PKI, makes a scratch directory,
 * initialises xmlsec; the teardown undoes both. */
void test_pki_signing_setup(void);
void test_pki_signing_teardown(void);

/* The scratch directory made by test_pki_signing_setup. */
const char *test_scratch_dir(void);

#endif
