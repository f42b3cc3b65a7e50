/*
 * check_run.h — the one way a Check test program runs its suite and turns the outcome into the
 * exit status ctest reads. pide_add_check_test (cmake/PideTesting.cmake) puts tests/lib on every
 * Check test's include path.
 */
#ifndef PIDE_CHECK_RUN_H
#define PIDE_CHECK_RUN_H

#include <stdlib.h>

#include <check.h>

/* Runs every test of `suite` (and frees it); EXIT_SUCCESS when none failed. */
static inline int check_run_suite(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
