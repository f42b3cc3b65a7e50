/*
 * check_reniec_data.c — tests of simulators/reniec/reniec_data.c (the synthetic padrón) and of
 * the pide_simcommon helpers it relies on (base64 of the photo, failure-injection picks).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "reniec_data.h"
#include "sim_buf.h"
#include "sim_server.h"

static bool all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

START_TEST(same_dni_same_citizen)
{
    reniec_ciudadano a, b;
    ck_assert_int_eq(reniec_consultar("45678912", &a), RENIEC_ESTADO_ENCONTRADO);
    ck_assert_int_eq(reniec_consultar("45678912", &b), RENIEC_ESTADO_ENCONTRADO);
    ck_assert_str_eq(a.nombres, b.nombres);
    ck_assert_str_eq(a.apellido_paterno, b.apellido_paterno);
    ck_assert_str_eq(a.apellido_materno, b.apellido_materno);
    ck_assert_str_eq(a.direccion, b.direccion);
    ck_assert_str_eq(a.ubigeo, b.ubigeo);
    ck_assert_int_eq(a.estado_civil, b.estado_civil);
    ck_assert_str_eq(a.dni, "45678912");
}
END_TEST

START_TEST(found_citizen_is_complete)
{
    reniec_ciudadano c;
    ck_assert_int_eq(reniec_consultar("12345678", &c), RENIEC_ESTADO_ENCONTRADO);
    ck_assert_int_gt(strlen(c.nombres), 2);
    ck_assert_ptr_nonnull(c.apellido_paterno);
    ck_assert_ptr_nonnull(c.apellido_materno);
    ck_assert_int_gt(strlen(c.direccion), 5);
    ck_assert(all_digits(c.ubigeo, 6));
    ck_assert_ptr_nonnull(reniec_estado_civil_nombre(c.estado_civil));
    ck_assert_str_eq(c.fecha_fallecimiento, "");
    ck_assert_ptr_null(c.restriccion);
    ck_assert(c.con_foto);
}
END_TEST

/* Load tests rely on distinct DNIs giving varied people, not one repeated record. */
START_TEST(dnis_spread_over_the_lists)
{
    char dni[9];
    int differing_names = 0, differing_ubigeos = 0;
    reniec_ciudadano first, c;
    reniec_consultar("10000000", &first);
    for (int i = 1; i <= 200; i++) {
        snprintf(dni, sizeof dni, "%08d", 10000000 + i);
        ck_assert_int_eq(reniec_consultar(dni, &c), RENIEC_ESTADO_ENCONTRADO);
        differing_names += strcmp(c.nombres, first.nombres) != 0 ||
                           strcmp(c.apellido_paterno, first.apellido_paterno) != 0;
        differing_ubigeos += strcmp(c.ubigeo, first.ubigeo) != 0;
    }
    ck_assert_int_gt(differing_names, 180);
    ck_assert_int_gt(differing_ubigeos, 150);
}
END_TEST

START_TEST(leading_zero_is_not_found)
{
    reniec_ciudadano c;
    ck_assert_int_eq(reniec_consultar("01234567", &c), RENIEC_ESTADO_NO_EXISTE);
    ck_assert_int_eq(reniec_consultar("00000000", &c), RENIEC_ESTADO_NO_EXISTE);
    ck_assert_str_eq(c.nombres, "");
}
END_TEST

START_TEST(deceased_range_keeps_data_and_date)
{
    reniec_ciudadano c, again;
    ck_assert_int_eq(reniec_consultar("44444444", &c), RENIEC_ESTADO_FALLECIDO);
    ck_assert_int_eq(strlen(c.fecha_fallecimiento), 10);
    ck_assert_int_eq(c.fecha_fallecimiento[4], '-');
    ck_assert_int_gt(strlen(c.direccion), 5);
    ck_assert_ptr_nonnull(c.ubigeo);
    ck_assert(!c.con_foto);
    ck_assert_int_eq(reniec_consultar("44449999", &again), RENIEC_ESTADO_FALLECIDO);
    ck_assert_int_eq(reniec_consultar("44450000", &again), RENIEC_ESTADO_ENCONTRADO);
}
END_TEST

START_TEST(restricted_range_gives_names_only)
{
    reniec_ciudadano c;
    ck_assert_int_eq(reniec_consultar("55555555", &c), RENIEC_ESTADO_RESTRINGIDO);
    ck_assert_int_gt(strlen(c.nombres), 2);
    ck_assert_ptr_nonnull(c.apellido_paterno);
    ck_assert_ptr_nonnull(c.restriccion);
    ck_assert_str_eq(c.direccion, "");
    ck_assert_ptr_null(c.ubigeo);
    ck_assert_int_eq(c.estado_civil, 0);
    ck_assert(!c.con_foto);
    ck_assert_int_eq(reniec_consultar("55550000", &c), RENIEC_ESTADO_RESTRINGIDO);
}
END_TEST

START_TEST(maintenance_dni)
{
    reniec_ciudadano c;
    ck_assert_int_eq(reniec_consultar("99999999", &c), RENIEC_ESTADO_MANTENIMIENTO);
    ck_assert_str_eq(reniec_estado_codigo(RENIEC_ESTADO_MANTENIMIENTO), "90");
}
END_TEST

START_TEST(invalid_input_is_rejected)
{
    static const char *const bad[] = {"", "1234567", "123456789", "1234567a", " 2345678",
                                      "12345678 ", "1234\x35" "678x", "-1234567"};
    reniec_ciudadano c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(reniec_consultar(bad[i], &c) == RENIEC_ESTADO_DNI_INVALIDO, "'%s'", bad[i]);
    ck_assert_int_eq(reniec_consultar(NULL, &c), RENIEC_ESTADO_DNI_INVALIDO);
}
END_TEST

START_TEST(estado_codes_are_distinct)
{
    const char *seen[7];
    for (int e = RENIEC_ESTADO_ENCONTRADO; e <= RENIEC_ESTADO_MANTENIMIENTO; e++) {
        seen[e] = reniec_estado_codigo((reniec_estado)e);
        ck_assert_int_eq(strlen(seen[e]), 2);
        for (int j = 0; j < e; j++)
            ck_assert_str_ne(seen[j], seen[e]);
    }
    ck_assert_str_eq(reniec_estado_codigo(RENIEC_ESTADO_ENCONTRADO), "00");
}
END_TEST

START_TEST(photo_is_a_baseline_jpeg)
{
    const unsigned char *p = reniec_photo_jpeg;
    size_t n = reniec_photo_jpeg_len;
    ck_assert_uint_gt(n, 100);
    ck_assert(p[0] == 0xFF && p[1] == 0xD8);           /* SOI */
    ck_assert(p[n - 2] == 0xFF && p[n - 1] == 0xD9);   /* EOI */
    bool has_sof0 = false;
    for (size_t i = 2; i + 8 < n; i++)
        if (p[i] == 0xFF && p[i + 1] == 0xC0) {
            has_sof0 = true;
            ck_assert_uint_eq(p[i + 5] << 8 | p[i + 6], 32); /* height */
            ck_assert_uint_eq(p[i + 7] << 8 | p[i + 8], 24); /* width */
            break;
        }
    ck_assert(has_sof0);
}
END_TEST

START_TEST(base64_matches_rfc4648_vectors)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const encoded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                          "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        sim_buf b;
        sim_buf_init(&b);
        sim_buf_append_base64(&b, (const unsigned char *)plain[i], strlen(plain[i]));
        sim_buf_append_str(&b, "");
        ck_assert_str_eq(b.data, encoded[i]);
        sim_buf_free(&b);
    }
}
END_TEST

START_TEST(failure_injection_is_deterministic_and_proportional)
{
    int failures = 0;
    for (uint64_t n = 0; n < 10000; n++) {
        bool f = sim_should_fail(42, 0.1, n);
        ck_assert_int_eq(f, sim_should_fail(42, 0.1, n));
        failures += f;
    }
    ck_assert_int_gt(failures, 850);
    ck_assert_int_lt(failures, 1150);
    ck_assert(!sim_should_fail(42, 0.0, 7));
    ck_assert(sim_should_fail(42, 1.0, 7));
    int differ = 0;
    for (uint64_t n = 0; n < 1000; n++)
        differ += sim_should_fail(42, 0.5, n) != sim_should_fail(43, 0.5, n);
    ck_assert_int_gt(differ, 300);
}
END_TEST

static Suite *reniec_data_suite(void)
{
    Suite *s = suite_create("reniec_data");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, same_dni_same_citizen);
    tcase_add_test(tc, found_citizen_is_complete);
    tcase_add_test(tc, dnis_spread_over_the_lists);
    tcase_add_test(tc, leading_zero_is_not_found);
    tcase_add_test(tc, deceased_range_keeps_data_and_date);
    tcase_add_test(tc, restricted_range_gives_names_only);
    tcase_add_test(tc, maintenance_dni);
    tcase_add_test(tc, invalid_input_is_rejected);
    tcase_add_test(tc, estado_codes_are_distinct);
    tcase_add_test(tc, photo_is_a_baseline_jpeg);
    tcase_add_test(tc, base64_matches_rfc4648_vectors);
    tcase_add_test(tc, failure_injection_is_deterministic_and_proportional);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(reniec_data_suite());
}
