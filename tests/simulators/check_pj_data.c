/*
 * check_pj_data.c — tests of simulators/pj/pj_data.c (the synthetic Poder Judicial registry):
 * the documented special DNIs, determinism, and that every record is complete and well formed.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "pj_data.h"

static bool matches_date(const char *s)
{
    unsigned y, m, d;
    int n = 0;
    return strlen(s) == 10 && sscanf(s, "%4u-%2u-%2u%n", &y, &m, &d, &n) == 3 && n == 10 &&
           y >= 1990 && y <= 2030 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static void assert_condena_complete(const pj_condena *c)
{
    ck_assert_ptr_nonnull(c->organo);
    ck_assert_int_gt(strlen(c->organo), 10);
    ck_assert_ptr_nonnull(c->delito);
    ck_assert_msg(matches_date(c->fecha_sentencia), "bad date '%s'", c->fecha_sentencia);
    /* NNNNN-YYYY-0-DDDD-JR-PE-NN */
    unsigned num, year, district, court;
    int n = 0;
    ck_assert_msg(sscanf(c->expediente, "%5u-%4u-0-%4u-JR-PE-%2u%n", &num, &year, &district,
                         &court, &n) == 4 && (size_t)n == strlen(c->expediente),
                  "bad expediente '%s'", c->expediente);
    /* A case is filed before (or the year of) its sentence. */
    ck_assert_uint_le(year, (unsigned)atoi(c->fecha_sentencia));
    ck_assert_ptr_nonnull(pj_situacion_nombre(c->situacion));
}

START_TEST(ordinary_dnis_have_no_record)
{
    static const char *const dnis[] = {"45678912", "12345678", "66659999", "66670000",
                                       "77769999", "88888887", "98765432"};
    for (size_t i = 0; i < sizeof dnis / sizeof dnis[0]; i++) {
        pj_consulta c;
        ck_assert_int_eq(pj_consultar(dnis[i], &c), PJ_SIN_REGISTRO);
        ck_assert_uint_eq(c.total, 0);
        ck_assert_str_eq(c.dni, dnis[i]);
    }
    ck_assert_str_eq(pj_resultado_codigo(PJ_SIN_REGISTRO), "SR");
}
END_TEST

START_TEST(block_6666_has_one_record)
{
    pj_consulta c;
    ck_assert_int_eq(pj_consultar("66666666", &c), PJ_CON_REGISTRO);
    ck_assert_uint_eq(c.total, 1);
    assert_condena_complete(&c.condenas[0]);
    ck_assert_int_eq(pj_consultar("66660000", &c), PJ_CON_REGISTRO);
    ck_assert_uint_eq(c.total, 1);
    ck_assert_int_eq(pj_consultar("66669999", &c), PJ_CON_REGISTRO);
    ck_assert_uint_eq(c.total, 1);
    ck_assert_str_eq(pj_resultado_codigo(PJ_CON_REGISTRO), "CR");
}
END_TEST

START_TEST(block_7777_has_two_to_four_records)
{
    bool seen[PJ_MAX_CONDENAS + 1] = {false};
    char dni[9];
    for (int i = 0; i < 200; i++) {
        snprintf(dni, sizeof dni, "7777%04d", i * 37);
        pj_consulta c;
        ck_assert_int_eq(pj_consultar(dni, &c), PJ_CON_REGISTRO);
        ck_assert_uint_ge(c.total, 2);
        ck_assert_uint_le(c.total, 4);
        seen[c.total] = true;
        for (size_t k = 0; k < c.total; k++)
            assert_condena_complete(&c.condenas[k]);
    }
    ck_assert(seen[2] && seen[3] && seen[4]);
}
END_TEST

START_TEST(same_dni_same_records)
{
    pj_consulta a, b;
    pj_consultar("77777777", &a);
    pj_consultar("77777777", &b);
    ck_assert_uint_eq(a.total, b.total);
    for (size_t k = 0; k < a.total; k++) {
        ck_assert_str_eq(a.condenas[k].organo, b.condenas[k].organo);
        ck_assert_str_eq(a.condenas[k].expediente, b.condenas[k].expediente);
        ck_assert_str_eq(a.condenas[k].delito, b.condenas[k].delito);
        ck_assert_str_eq(a.condenas[k].fecha_sentencia, b.condenas[k].fecha_sentencia);
        ck_assert_int_eq(a.condenas[k].situacion, b.condenas[k].situacion);
    }
}
END_TEST

/* Different DNIs give different records, not one repeated entry. */
START_TEST(records_spread_over_the_lists)
{
    pj_consulta first, c;
    pj_consultar("66660000", &first);
    int other_expediente = 0, other_delito = 0, other_situacion = 0;
    char dni[9];
    for (int i = 1; i < 100; i++) {
        snprintf(dni, sizeof dni, "6666%04d", i);
        pj_consultar(dni, &c);
        other_expediente += strcmp(c.condenas[0].expediente, first.condenas[0].expediente) != 0;
        other_delito += strcmp(c.condenas[0].delito, first.condenas[0].delito) != 0;
        other_situacion += c.condenas[0].situacion != first.condenas[0].situacion;
    }
    ck_assert_int_gt(other_expediente, 95);
    ck_assert_int_gt(other_delito, 60);
    ck_assert_int_gt(other_situacion, 20);
}
END_TEST

START_TEST(special_dnis)
{
    pj_consulta c;
    ck_assert_int_eq(pj_consultar("01234567", &c), PJ_NO_ENCONTRADO);
    ck_assert_int_eq(pj_consultar("00000000", &c), PJ_NO_ENCONTRADO);
    ck_assert_int_eq(pj_consultar("09999999", &c), PJ_NO_ENCONTRADO);
    ck_assert_uint_eq(c.total, 0);
    ck_assert_str_eq(pj_resultado_codigo(PJ_NO_ENCONTRADO), "NE");
    ck_assert_int_eq(pj_consultar("88888888", &c), PJ_RESPUESTA_DEFECTUOSA);
    ck_assert_ptr_null(pj_resultado_codigo(PJ_RESPUESTA_DEFECTUOSA));
    ck_assert_int_eq(pj_consultar("99999999", &c), PJ_MANTENIMIENTO);
    ck_assert_str_eq(pj_resultado_codigo(PJ_MANTENIMIENTO), "MT");
}
END_TEST

START_TEST(invalid_documents)
{
    static const char *const bad[] = {"", "1234567", "123456789", "1234567X", " 2345678",
                                      "１2345678"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pj_consulta c;
        ck_assert_int_eq(pj_consultar(bad[i], &c), PJ_DOCUMENTO_INVALIDO);
        ck_assert_uint_eq(c.total, 0);
    }
    pj_consulta c;
    ck_assert_int_eq(pj_consultar(NULL, &c), PJ_DOCUMENTO_INVALIDO);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pj_data");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, ordinary_dnis_have_no_record);
    tcase_add_test(tc, block_6666_has_one_record);
    tcase_add_test(tc, block_7777_has_two_to_four_records);
    tcase_add_test(tc, same_dni_same_records);
    tcase_add_test(tc, records_spread_over_the_lists);
    tcase_add_test(tc, special_dnis);
    tcase_add_test(tc, invalid_documents);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
