/* check_peru_id.c — RUC and DNI formats: exactly 11 / 8 ASCII digits, nothing else. */
#include <check.h>

#include "check_run.h"
#include "peru_id.h"

START_TEST(ruc_is_eleven_digits)
{
    ck_assert(gw_is_ruc("20000000001"));
    ck_assert(!gw_is_ruc("2000000001"));   /* 10 */
    ck_assert(!gw_is_ruc("200000000011")); /* 12 */
    ck_assert(!gw_is_ruc("2000000000a"));
    ck_assert(!gw_is_ruc(" 2000000001"));
    ck_assert(!gw_is_ruc(""));
    ck_assert(!gw_is_ruc(NULL));
}
END_TEST

START_TEST(dni_is_eight_digits)
{
    ck_assert(gw_is_dni("45678912"));
    ck_assert(!gw_is_dni("4567891"));
    ck_assert(!gw_is_dni("456789123"));
    ck_assert(!gw_is_dni("4567891\xd9"));  /* a non-ASCII byte is not a digit */
    ck_assert(!gw_is_dni("4567-912"));
}
END_TEST

START_TEST(digits_of_any_length)
{
    ck_assert(gw_is_digits("150101", 6));
    ck_assert(!gw_is_digits("15010", 6));
    ck_assert(gw_is_digits("", 0));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("peru_id");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, ruc_is_eleven_digits);
    tcase_add_test(tc, dni_is_eight_digits);
    tcase_add_test(tc, digits_of_any_length);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
