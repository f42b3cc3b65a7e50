/* check_status.c — every status has a name, a message and a Fault code; the public Fault codes
 * keep their meaning. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "status.h"

START_TEST(every_status_is_described)
{
    for (int st = 0; st < GW_STATUS_COUNT; st++) {
        ck_assert_ptr_nonnull(gw_status_name(st));
        ck_assert_msg(strncmp(gw_status_name(st), "GW_", 3) == 0, "status %d has no name", st);
        ck_assert_msg(gw_status_message(st) && *gw_status_message(st), "status %d", st);
        ck_assert_int_ge(gw_status_http_code(st), 200);
        /* VersionMismatch is SOAP's own code (soap:VersionMismatch, env:VersionMismatch). */
        if (st != GW_OK && st != GW_ERR_VERSION_MISMATCH)
            ck_assert_msg(strncmp(gw_status_fault_code(st), "Client.", 7) == 0 ||
                              strncmp(gw_status_fault_code(st), "Server.", 7) == 0,
                          "status %d fault code '%s'", st, gw_status_fault_code(st));
    }
}
END_TEST

START_TEST(public_fault_codes_are_stable)
{
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_MALFORMED_XML), "Client.MalformedXml");
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_VERSION_MISMATCH), "VersionMismatch");
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_ACTION_MISMATCH), "Client.ActionMismatch");
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_BAD_ADDRESSING), "Client.BadAddressing");
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_MALFORMED_ENVELOPE), "Client.MalformedEnvelope");
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_UNKNOWN_SERVICE), "Client.UnknownService");
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_SCHEMA_INVALID), "Client.SchemaInvalid");
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_ACCESS_DENIED), "Client.AccessDenied");
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_PROVIDER_TIMEOUT), "Server.Provider.Timeout");
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_PROVIDER_UNAVAILABLE),
                     "Server.Provider.Unavailable");
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_LOG_UNAVAILABLE), "Server.LogUnavailable");
    ck_assert_int_eq(gw_status_http_code(GW_ERR_UNKNOWN_SERVICE), 404);
    ck_assert_int_eq(gw_status_http_code(GW_ERR_LOG_UNAVAILABLE), 503);
}
END_TEST

START_TEST(out_of_range_is_internal)
{
    ck_assert_str_eq(gw_status_name((gw_status)9999), "GW_ERR_INTERNAL");
    ck_assert_str_eq(gw_status_fault_code((gw_status)-1), "Server.Internal");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, every_status_is_described);
    tcase_add_test(tc, public_fault_codes_are_stable);
    tcase_add_test(tc, out_of_range_is_internal);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
