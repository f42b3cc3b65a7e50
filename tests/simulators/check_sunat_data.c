/*
 * check_sunat_data.c — tests of simulators/sunat/sunat_data.c (the synthetic RUC register): the
 * check digit, the special numbers README.md documents, and determinism.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_run.h"
#include "sunat_data.h"

START_TEST(check_digit)
{
    ck_assert(sunat_ruc_valid("20100070970"));
    ck_assert(sunat_ruc_valid("20000000001"));
    ck_assert(sunat_ruc_valid("10456789124"));
    ck_assert(!sunat_ruc_valid("20100070971"));
    ck_assert(!sunat_ruc_valid("2010007097"));
    ck_assert(!sunat_ruc_valid("201000709700"));
    ck_assert(!sunat_ruc_valid("2010007097a"));
    ck_assert(!sunat_ruc_valid(""));
    ck_assert(!sunat_ruc_valid(NULL));
}
END_TEST

START_TEST(special_numbers)
{
    sunat_bean b;
    ck_assert_int_eq(sunat_lookup(SUNAT_RUC_NOT_FOUND, &b), SUNAT_NOT_FOUND);
    ck_assert_int_eq(sunat_lookup(SUNAT_RUC_DB_DOWN, &b), SUNAT_DB_DOWN);
    ck_assert_int_eq(sunat_lookup(SUNAT_RUC_GARBAGE, &b), SUNAT_GARBAGE);
    ck_assert_int_eq(sunat_lookup(SUNAT_RUC_BROKEN_REF, &b), SUNAT_BROKEN_REF);
    ck_assert_int_eq(sunat_lookup(SUNAT_RUC_SLOW, &b), SUNAT_SLOW);
    ck_assert_int_eq(sunat_lookup("20100070971", &b), SUNAT_INVALID);
    /* an unused prefix (check digit valid) is not registered */
    ck_assert_int_eq(sunat_lookup("30000000007", &b), sunat_ruc_valid("30000000007")
                                                          ? SUNAT_NOT_FOUND : SUNAT_INVALID);
    ck_assert_int_eq(sunat_lookup(SUNAT_RUC_BAJA, &b), SUNAT_FOUND);
    ck_assert_str_eq(sunat_field_value(&b, "desc_estado"), "BAJA DEFINITIVA");
    ck_assert_str_eq(sunat_field_value(&b, "ddp_fecbaj"), "2021-06-30");
    ck_assert_int_eq(sunat_lookup(SUNAT_RUC_NO_HABIDO, &b), SUNAT_FOUND);
    ck_assert_str_eq(sunat_field_value(&b, "desc_flag22"), "NO HABIDO");
    ck_assert_str_eq(sunat_field_value(&b, "desc_estado"), "ACTIVO");
}
END_TEST

START_TEST(found_is_complete_and_deterministic)
{
    sunat_bean a, b;
    ck_assert_int_eq(sunat_lookup("20100070970", &a), SUNAT_FOUND);
    ck_assert_int_eq(sunat_lookup("20100070970", &b), SUNAT_FOUND);
    ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
    ck_assert_str_eq(sunat_field_value(&a, "ddp_numruc"), "20100070970");
    ck_assert_str_eq(sunat_field_value(&a, "desc_estado"), "ACTIVO");
    ck_assert_str_eq(sunat_field_value(&a, "desc_flag22"), "HABIDO");
    ck_assert_str_eq(sunat_field_value(&a, "desc_identi"), "PERSONA JURIDICA");
    const char *fields[] = {"ddp_nombre", "ddp_ubigeo", "desc_dep", "desc_prov", "desc_dist",
                            "ddp_ciiu", "desc_ciiu", "ddp_tpoemp", "desc_tpoemp", "ddp_fecalt",
                            "desc_tipvia", "ddp_nomvia"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        ck_assert_msg(strlen(sunat_field_value(&a, fields[i])) > 0, "%s empty", fields[i]);
    ck_assert_int_eq(sunat_lookup("10456789124", &a), SUNAT_FOUND);
    ck_assert_str_eq(sunat_field_value(&a, "desc_identi"), "PERSONA NATURAL");
}
END_TEST

static Suite *sunat_data_suite(void)
{
    Suite *s = suite_create("sunat_data");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, check_digit);
    tcase_add_test(tc, special_numbers);
    tcase_add_test(tc, found_is_complete_and_deterministic);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(sunat_data_suite());
}
