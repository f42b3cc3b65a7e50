/* check_audit_service.c — the audit service's pure parts: document formats, page sizes,
 * xs:dateTime parsing (time ranges) and the per-row chain check verificarCadena applies. */
#include <check.h>
#include <openssl/evp.h>
#include <string.h>

#include "audit_service.h"
#include "check_run.h"

START_TEST(documents)
{
    ck_assert(gw_audit_document_ok("DNI", "45678912"));
    ck_assert(!gw_audit_document_ok("DNI", "1234"));
    ck_assert(!gw_audit_document_ok("DNI", "4567891a"));
    ck_assert(gw_audit_document_ok("RUC", "20000000001"));
    ck_assert(!gw_audit_document_ok("RUC", "45678912"));
    ck_assert(gw_audit_document_ok("CE", "001234567"));
    ck_assert(!gw_audit_document_ok("CE", "12345678"));      /* 8: too short */
    ck_assert(!gw_audit_document_ok("CE", "0012345' OR 1"));
    ck_assert(!gw_audit_document_ok("PASAPORTE", "45678912"));
    ck_assert(!gw_audit_document_ok(NULL, "45678912"));
    ck_assert(!gw_audit_document_ok("DNI", NULL));
}
END_TEST

START_TEST(page_sizes)
{
    ck_assert_int_eq(gw_audit_page_size(NULL), GW_AUDIT_PAGE_DEFAULT);
    ck_assert_int_eq(gw_audit_page_size("1"), 1);
    ck_assert_int_eq(gw_audit_page_size(" 100 "), 100);
    ck_assert_int_eq(gw_audit_page_size("+7"), 7);
    ck_assert_int_eq(gw_audit_page_size("101"), -1);
    ck_assert_int_eq(gw_audit_page_size("0"), -1);
    ck_assert_int_eq(gw_audit_page_size("-1"), -1);
    ck_assert_int_eq(gw_audit_page_size("99999999999999999999"), -1);
    ck_assert_int_eq(gw_audit_page_size("10a"), -1);
    ck_assert_int_eq(gw_audit_page_size(""), -1);
}
END_TEST

START_TEST(datetimes)
{
    int64_t a, b;
    ck_assert_int_eq(gw_audit_parse_datetime("1970-01-01T00:00:00Z", &a), 0);
    ck_assert_int_eq(a, 0);
    ck_assert_int_eq(gw_audit_parse_datetime("1970-01-01T00:00:00.25+00:00", &a), 0);
    ck_assert_int_eq(a, 250000);
    /* no zone: Lima, UTC-5 */
    ck_assert_int_eq(gw_audit_parse_datetime("2026-12-03T00:00:00", &a), 0);
    ck_assert_int_eq(gw_audit_parse_datetime("2026-12-03T05:00:00Z", &b), 0);
    ck_assert(a == b);
    ck_assert_int_eq(gw_audit_parse_datetime("2024-02-29T00:00:00Z", &a), 0);
    ck_assert_int_eq(gw_audit_parse_datetime("2026-02-29T00:00:00Z", &a), -1);
    ck_assert_int_eq(gw_audit_parse_datetime("2026-13-01T00:00:00Z", &a), -1);
    ck_assert_int_eq(gw_audit_parse_datetime("2026-12-03 00:00:00", &a), -1);
    ck_assert_int_eq(gw_audit_parse_datetime("2026-12-03T00:00:00Zjunk", &a), -1);
    ck_assert_int_eq(gw_audit_parse_datetime("2026-12-03T00:00:00+15:00", &a), -1);
    ck_assert_int_eq(gw_audit_parse_datetime("", &a), -1);
    ck_assert_int_eq(gw_audit_parse_datetime(NULL, &a), -1);
}
END_TEST

/* A v4 row of fields: seq as 8-byte big-endian, hash_version 4 as int2, the rest NULL or text. */
static void make_row(gw_log_field *col, unsigned char seqbuf[8], int64_t seq,
                     unsigned char ver[2], const char *subject)
{
    for (int i = 0; i < GW_LOG_FIELD_COUNT; i++)
        col[i] = (gw_log_field){NULL, -1};
    for (int i = 0; i < 8; i++)
        seqbuf[i] = (unsigned char)((uint64_t)seq >> (56 - 8 * i));
    col[0] = (gw_log_field){seqbuf, 8};
    ver[0] = 0;
    ver[1] = 4;
    col[31] = (gw_log_field){ver, 2};
    col[10] = (gw_log_field){subject, (int32_t)strlen(subject)};
}

START_TEST(chain_check)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    gw_log_field c1[GW_LOG_FIELD_COUNT], c2[GW_LOG_FIELD_COUNT];
    unsigned char s1[8], s2[8], v1[2], v2[2], zero[32] = {0}, h1[32], h2[32];
    make_row(c1, s1, 1, v1, "45678912");
    make_row(c2, s2, 2, v2, "12345678");
    ck_assert(gw_log_row_hash(md, zero, c1, GW_LOG_FIELD_COUNT, h1));
    ck_assert(gw_log_row_hash(md, h1, c2, GW_LOG_FIELD_COUNT, h2));
    gw_log_field p1 = {zero, 32}, r1 = {h1, 32}, p2 = {h1, 32}, r2 = {h2, 32};
    char buf[300];

    int64_t prev_seq = 0;
    unsigned char prev[32] = {0};
    ck_assert_ptr_null(gw_audit_check_row(md, c1, &p1, &r1, &prev_seq, prev, buf, sizeof buf));
    ck_assert_ptr_null(gw_audit_check_row(md, c2, &p2, &r2, &prev_seq, prev, buf, sizeof buf));

    /* a changed subject: the row hash no longer matches */
    c1[10] = (gw_log_field){"99999999", 8};
    prev_seq = 0;
    memset(prev, 0, sizeof prev);
    const char *p = gw_audit_check_row(md, c1, &p1, &r1, &prev_seq, prev, buf, sizeof buf);
    ck_assert_ptr_nonnull(p);
    ck_assert(strstr(p, "row_hash does not match") != NULL);
    /* the next row still chains on the stored row_hash */
    ck_assert_ptr_null(gw_audit_check_row(md, c2, &p2, &r2, &prev_seq, prev, buf, sizeof buf));

    /* a gap: row 2 after row 0 */
    prev_seq = 0;
    memset(prev, 0, sizeof prev);
    p = gw_audit_check_row(md, c2, &p2, &r2, &prev_seq, prev, buf, sizeof buf);
    ck_assert_ptr_nonnull(p);
    ck_assert(strstr(p, "seq gap") != NULL);
    EVP_MD_CTX_free(md);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("audit_service");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, documents);
    tcase_add_test(tc, page_sizes);
    tcase_add_test(tc, datetimes);
    tcase_add_test(tc, chain_check);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
