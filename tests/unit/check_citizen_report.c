/* check_citizen_report.c — the citizen's report renderer (tools/citizen_report.c) without a
 * database: subject validation, every hostile value escaped in HTML and intact in JSON, NULL
 * columns, the empty report, Lima dates in words, names only from the member table. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "citizen_report.h"

static const char *HOSTILE = "<script>alert('x')</script>\"&<img src=x onerror=y>\x01";

static citizen_entry sample(void)
{
    citizen_entry e = {.seq = "42", .exchange_id = "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
                       .time_lima = "2026-03-05 09:07:03", .time_utc = "2026-03-05T14:07:03.000001Z",
                       .member = "20000000001", .official = "11111111",
                       .service = "ReniecConsultaDni", .operation = "consultar",
                       .purpose = HOSTILE, .procedure = "EXP-<b>1</b>", .outcome = "ok",
                       .result_code = "0000", .http_status = "200", .auth_method = "mtls"};
    return e;
}

START_TEST(subjects)
{
    char why[256];
    ck_assert(citizen_subject_valid("DNI", "45678912", why, sizeof why));
    ck_assert(!citizen_subject_valid("DNI", "4567891", why, sizeof why));
    ck_assert(strstr(why, "is not a DNI") != NULL);
    ck_assert(!citizen_subject_valid("DNI", "45678912 ", why, sizeof why));
    ck_assert(!citizen_subject_valid("dni", "45678912", why, sizeof why));
    ck_assert(citizen_subject_valid("CE", "001234567", why, sizeof why));
    ck_assert(!citizen_subject_valid("CE", "00123456", why, sizeof why));
    ck_assert(citizen_subject_valid("RUC", "20000000001", why, sizeof why));
    ck_assert(!citizen_subject_valid("PASAPORTE", "X1", why, sizeof why));
    ck_assert(strstr(why, "unknown subject type") != NULL);
    ck_assert(!citizen_subject_valid(NULL, "1", why, sizeof why));
}
END_TEST

START_TEST(html_escapes_everything)
{
    citizen_report *r = citizen_report_new("DNI", "45678912", "<x>", NULL);
    ck_assert(citizen_report_add_member(r, "20000000001", "Agencia <b>\"A\"</b> & co"));
    citizen_report_set_member_source(r, "/etc/<conf>.xml");
    citizen_entry e = sample();
    ck_assert(citizen_report_add(r, &e));
    char *html = citizen_report_render(r, CITIZEN_HTML, "2026-03-05T14:08:00Z");
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_null(strstr(html, "<img"));
    ck_assert_ptr_null(strstr(html, "<b>"));
    ck_assert_ptr_null(strstr(html, "<x>"));
    ck_assert_ptr_null(strstr(html, "<conf>"));
    ck_assert_ptr_null(strchr(html, '\x01'));
    ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;&lt;img"));
    ck_assert_ptr_nonnull(strstr(html, "Agencia &lt;b&gt;&quot;A&quot;&lt;/b&gt; &amp; co (RUC 20000000001)"));
    ck_assert_ptr_nonnull(strstr(html, "5 de marzo de 2026, 09:07:03"));
    free(html);
    citizen_report_free(r);
}
END_TEST

START_TEST(json_keeps_values)
{
    citizen_report *r = citizen_report_new("DNI", "45678912", NULL, "2026-04-01");
    citizen_entry e = sample();
    e.purpose = HOSTILE;
    e.outcome = "fault";
    e.fault_code = "Client.AccessDenied";
    e.result_code = NULL;
    e.http_status = NULL;
    ck_assert(citizen_report_add(r, &e));
    char *text = citizen_report_render(r, CITIZEN_JSON, "2026-03-05T14:08:00Z");
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "report")), "pide-citizen-report");
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "schema_version")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "count")), 1);
    ck_assert(json_is_null(json_object_get(json_object_get(doc, "period"), "since")));
    json_t *c = json_array_get(json_object_get(doc, "consultations"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(c, "purpose")), HOSTILE);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "seq")), 42);
    ck_assert(json_is_null(json_object_get(json_object_get(c, "agency"), "name")));
    ck_assert(json_is_null(json_object_get(json_object_get(c, "outcome"), "http_status")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "outcome"), "fault_code")),
                     "Client.AccessDenied");
    json_decref(doc);
    free(text);
    citizen_report_free(r);
}
END_TEST

START_TEST(empty_report_says_so)
{
    citizen_report *r = citizen_report_new("CE", "001234567", "2026-01-01", NULL);
    char *text = citizen_report_render(r, CITIZEN_TEXT, "2026-03-05T14:08:00Z");
    ck_assert_ptr_nonnull(strstr(text, "No se registra ninguna consulta a los datos de CE 001234567 en este periodo."));
    free(text);
    char *html = citizen_report_render(r, CITIZEN_HTML, "2026-03-05T14:08:00Z");
    ck_assert_ptr_nonnull(strstr(html, "No se registra ninguna consulta"));
    ck_assert_ptr_null(strstr(html, "<article>"));
    free(html);
    citizen_report_free(r);
}
END_TEST

/* Months detached after their archive: every format says which consultations are not shown;
 * without detached months the JSON has no archived_before key. */
START_TEST(archived_months_are_named)
{
    citizen_report *r = citizen_report_new("DNI", "45678912", NULL, NULL);
    char *json = citizen_report_render(r, CITIZEN_JSON, "2026-03-05T14:08:00Z");
    ck_assert_ptr_null(strstr(json, "archived_before"));
    free(json);
    citizen_report_set_archived_before(r, "2026-01-01");
    char *text = citizen_report_render(r, CITIZEN_TEXT, "2026-03-05T14:08:00Z");
    ck_assert_ptr_nonnull(
        strstr(text, "Las consultas anteriores al 2026-01-01 (UTC) están archivadas"));
    free(text);
    char *html = citizen_report_render(r, CITIZEN_HTML, "2026-03-05T14:08:00Z");
    ck_assert_ptr_nonnull(
        strstr(html, "Las consultas anteriores al 2026-01-01 (UTC) están archivadas"));
    free(html);
    json = citizen_report_render(r, CITIZEN_JSON, "2026-03-05T14:08:00Z");
    json_t *doc = json_loads(json, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "archived_before")), "2026-01-01");
    json_decref(doc);
    free(json);
    citizen_report_free(r);
}
END_TEST

START_TEST(unknown_service_and_nulls)
{
    citizen_report *r = citizen_report_new("DNI", "45678912", NULL, NULL);
    citizen_entry e = {.exchange_id = "1b4e28ba-2fa1-41d2-883f-0016d3cca427", .service = "Otro",
                       .outcome = "ok"};
    ck_assert(citizen_report_add(r, &e));
    char *text = citizen_report_render(r, CITIZEN_TEXT, "2026-03-05T14:08:00Z");
    ck_assert_ptr_nonnull(strstr(text, "Servicio Otro, operación (sin nombre)"));
    ck_assert_ptr_nonnull(strstr(text, "nombre no disponible (RUC no identificado)"));
    ck_assert_ptr_nonnull(strstr(text, "Finalidad:       (no declarado)"));
    ck_assert_ptr_nonnull(strstr(text, "(sin fecha)"));
    free(text);
    ck_assert_ptr_null(citizen_service_description("ReniecConsultaDni", "otra"));
    citizen_format f;
    ck_assert(citizen_parse_format("html", &f) && f == CITIZEN_HTML);
    ck_assert(citizen_parse_format("pdf", &f) && f == CITIZEN_PDF);
    ck_assert(!citizen_parse_format("docx", &f));
    citizen_report_free(r);
}
END_TEST

/* The PDF says what the text says: same lines, hostile PDF syntax in a member's name and a
 * purpose escaped, a very long purpose wrapped and not lost, accents in Windows-1252. */
START_TEST(pdf_matches_text)
{
    citizen_report *r = citizen_report_new("DNI", "45678912", NULL, NULL);
    ck_assert(
        citizen_report_add_member(r, "20000000001", "Agencia de demostración (sede) \\ ) Tj"));
    char purpose[5001];
    for (int i = 0; i < 5000; i++)
        purpose[i] = i % 7 == 6 ? ' ' : (char)('a' + i % 7);
    purpose[5000] = '\0';
    citizen_entry e = sample();
    e.purpose = purpose;
    ck_assert(citizen_report_add(r, &e));
    e.purpose = ") Tj ET BT (x";
    ck_assert(citizen_report_add(r, &e));
    char *pdf = citizen_report_render(r, CITIZEN_PDF, "2026-03-05T14:08:00Z");
    ck_assert_ptr_nonnull(pdf);
    ck_assert(strncmp(pdf, "%PDF-1.4\n", 9) == 0);
    ck_assert_ptr_nonnull(strstr(
        pdf, "(Agencia de demostraci\\363n \\(sede\\) \\\\ \\) Tj \\(RUC 20000000001\\)) Tj ET"));
    ck_assert_ptr_nonnull(strstr(pdf, "(\\) Tj ET BT \\(x) Tj ET"));
    ck_assert_ptr_nonnull(strstr(pdf, "(C\\363digo de la consulta:) Tj ET"));
    ck_assert_ptr_nonnull(strstr(pdf, "P\\341gina 1 de "));
    /* the long purpose: every 'abcdef' word shown, on many lines */
    size_t words = 0;
    for (const char *s = strstr(pdf, "abcdef"); s; s = strstr(s + 1, "abcdef"))
        words++;
    ck_assert_uint_eq(words, 5000 / 7); /* and the trailing "ab" */
    free(pdf);
    citizen_report_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("citizen_report");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, subjects);
    tcase_add_test(tc, html_escapes_everything);
    tcase_add_test(tc, json_keeps_values);
    tcase_add_test(tc, empty_report_says_so);
    tcase_add_test(tc, unknown_service_and_nulls);
    tcase_add_test(tc, archived_months_are_named);
    tcase_add_test(tc, pdf_matches_text);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
