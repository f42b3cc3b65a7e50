/*
 * check_migraciones_data.c — tests of simulators/migraciones/migraciones_data.c (the synthetic
 * card register): determinism, the documented special numbers, and well-formed fields.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "migraciones_data.h"

static bool is_date(const char *s)
{
    int y, m, d, n = 0;
    return strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10 &&
           m >= 1 && m <= 12 && d >= 1 && d <= 28;
}

static bool is_upper_text(const char *s)
{
    if (!*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p >= 'a' && *p <= 'z') || *p < ' ')
            return false;
    return true;
}

START_TEST(same_number_same_card)
{
    migra_carne a, b;
    ck_assert_int_eq(migra_consultar("001234567", &a), MIGRA_VIGENTE);
    ck_assert_int_eq(migra_consultar("001234567", &b), MIGRA_VIGENTE);
    ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
    ck_assert_str_eq(a.numero, "001234567");
}
END_TEST

START_TEST(every_valid_number_has_a_well_formed_card)
{
    char numero[10];
    int distinct_names = 0, single_surname = 0, female = 0;
    char first_names[48] = "";
    for (int i = 0; i < 5000; i++) {
        snprintf(numero, sizeof numero, "%09d", 100000000 + i * 7919);
        migra_carne c;
        ck_assert_int_eq(migra_consultar(numero, &c), MIGRA_VIGENTE);
        ck_assert_str_eq(c.numero, numero);
        ck_assert(is_upper_text(c.nombres));
        ck_assert(is_upper_text(c.apellido_paterno));
        if (c.apellido_materno)
            ck_assert(is_upper_text(c.apellido_materno));
        else
            single_surname++;
        ck_assert(is_upper_text(c.nacionalidad));
        ck_assert(is_upper_text(c.calidad_migratoria));
        ck_assert(c.sexo == 'F' || c.sexo == 'M');
        female += c.sexo == 'F';
        ck_assert(is_date(c.fecha_nacimiento));
        ck_assert(is_date(c.fecha_emision));
        ck_assert(is_date(c.fecha_vencimiento));
        ck_assert_msg(strcmp(c.fecha_vencimiento, "2030-01-01") >= 0, "valid card expires %s",
                      c.fecha_vencimiento);
        ck_assert(strcmp(c.fecha_emision, c.fecha_vencimiento) < 0);
        ck_assert(strcmp(c.fecha_nacimiento, c.fecha_emision) < 0);
        ck_assert_ptr_null(c.motivo_anulacion);
        if (i == 0)
            snprintf(first_names, sizeof first_names, "%s", c.nombres);
        else if (strcmp(first_names, c.nombres) != 0)
            distinct_names++;
    }
    /* The picks vary: not every card is the same person, both sexes, some single surnames. */
    ck_assert_int_gt(distinct_names, 4000);
    ck_assert_int_gt(female, 2000);
    ck_assert_int_lt(female, 3000);
    ck_assert_int_gt(single_surname, 500);
}
END_TEST

START_TEST(unregistered_numbers_are_not_found)
{
    migra_carne c;
    ck_assert_int_eq(migra_consultar("000000000", &c), MIGRA_NO_EXISTE);
    ck_assert_int_eq(migra_consultar("000012345", &c), MIGRA_NO_EXISTE);
    ck_assert_int_eq(migra_consultar("000099999", &c), MIGRA_NO_EXISTE);
    ck_assert_int_eq(migra_consultar("000100000", &c), MIGRA_VIGENTE);
    ck_assert_ptr_null(migra_estado_carne(MIGRA_NO_EXISTE));
}
END_TEST

START_TEST(expired_cards_expired_in_the_past)
{
    migra_carne c;
    ck_assert_int_eq(migra_consultar("444412345", &c), MIGRA_VENCIDO);
    ck_assert_str_eq(migra_estado_carne(MIGRA_VENCIDO), "VENCIDO");
    ck_assert(is_date(c.fecha_vencimiento));
    ck_assert_msg(strcmp(c.fecha_vencimiento, "2024-01-01") < 0, "expired on %s",
                  c.fecha_vencimiento);
    ck_assert(strcmp(c.fecha_emision, c.fecha_vencimiento) < 0);
    ck_assert(is_upper_text(c.nombres));
    ck_assert_ptr_null(c.motivo_anulacion);
}
END_TEST

START_TEST(cancelled_cards_carry_a_reason)
{
    migra_carne c;
    ck_assert_int_eq(migra_consultar("555500001", &c), MIGRA_ANULADO);
    ck_assert_str_eq(migra_estado_carne(MIGRA_ANULADO), "ANULADO");
    ck_assert_ptr_nonnull(c.motivo_anulacion);
    ck_assert(is_upper_text(c.motivo_anulacion));
}
END_TEST

START_TEST(test_numbers_and_invalid_numbers)
{
    migra_carne c;
    ck_assert_int_eq(migra_consultar("999999999", &c), MIGRA_MANTENIMIENTO);
    ck_assert_int_eq(migra_consultar("888888888", &c), MIGRA_JSON_INVALIDO);
    ck_assert_int_eq(migra_consultar("777777777", &c), MIGRA_FORMA_INCORRECTA);
    ck_assert_int_eq(migra_consultar("12345678", &c), MIGRA_NUMERO_INVALIDO);
    ck_assert_int_eq(migra_consultar("1234567890", &c), MIGRA_NUMERO_INVALIDO);
    ck_assert_int_eq(migra_consultar("12345678X", &c), MIGRA_NUMERO_INVALIDO);
    ck_assert_int_eq(migra_consultar("", &c), MIGRA_NUMERO_INVALIDO);
    ck_assert_int_eq(migra_consultar(NULL, &c), MIGRA_NUMERO_INVALIDO);
    ck_assert_str_eq(migra_estado_carne(MIGRA_VIGENTE), "VIGENTE");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migraciones_data");
    TCase *tc = tcase_create("register");
    tcase_add_test(tc, same_number_same_card);
    tcase_add_test(tc, every_valid_number_has_a_well_formed_card);
    tcase_add_test(tc, unregistered_numbers_are_not_found);
    tcase_add_test(tc, expired_cards_expired_in_the_past);
    tcase_add_test(tc, cancelled_cards_carry_a_reason);
    tcase_add_test(tc, test_numbers_and_invalid_numbers);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
