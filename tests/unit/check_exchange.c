/* check_exchange.c — gateway/exchange.c: exchange ids (UUIDv7 text, unique, time-ordered),
 * gw_exchange_fail's status and detail, and the reset done by gw_exchange_begin/gw_exchange_end. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "check_run.h"
#include "clock.h"
#include "exchange.h"

static void exchange_new(gw_exchange *ex)
{
    memset(ex, 0, sizeof *ex);
    gw_arena_init(&ex->arena, 4096);
}

static int is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static void assert_uuid_v7(const char *id)
{
    ck_assert_uint_eq(strlen(id), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            ck_assert_msg(id[i] == '-', "'%s': no dash at %d", id, i);
        else
            ck_assert_msg(is_lower_hex(id[i]), "'%s': not lowercase hex at %d", id, i);
    }
    ck_assert_msg(id[14] == '7', "'%s': version nibble is not 7", id);
    ck_assert_msg(strchr("89ab", id[19]) != NULL, "'%s': variant is not RFC 4122", id);
}

/* The 48-bit millisecond timestamp at the front of the id. */
static uint64_t id_millis(const char *id)
{
    char hex[13];
    memcpy(hex, id, 8);
    memcpy(hex + 8, id + 9, 4);
    hex[12] = '\0';
    return strtoull(hex, NULL, 16);
}

static int compare_ids(const void *a, const void *b) { return strcmp(a, b); }

START_TEST(ids_are_uuid_v7_unique_and_time_ordered)
{
    enum { N = 100000 };
    char (*ids)[37] = malloc(sizeof *ids * N);
    ck_assert_ptr_nonnull(ids);
    gw_exchange ex;
    exchange_new(&ex);
    int64_t before_ms = gw_now_us() / 1000;
    for (int i = 0; i < N; i++) {
        gw_exchange_begin(&ex, NULL, NULL, NULL, "127.0.0.1");
        memcpy(ids[i], ex.exchange_id, 37);
        gw_exchange_end(&ex);
    }
    int64_t after_ms = gw_now_us() / 1000;
    for (int i = 0; i < N; i++) {
        assert_uuid_v7(ids[i]);
        if (i > 0)   /* the time prefix never goes back (same millisecond: equal) */
            ck_assert_uint_le(id_millis(ids[i - 1]), id_millis(ids[i]));
    }
    ck_assert_uint_ge(id_millis(ids[0]), (uint64_t)before_ms);
    ck_assert_uint_le(id_millis(ids[N - 1]), (uint64_t)after_ms);
    qsort(ids, N, sizeof *ids, compare_ids);
    for (int i = 1; i < N; i++)
        ck_assert_msg(strcmp(ids[i - 1], ids[i]) != 0, "duplicate id %s", ids[i]);
    free(ids);
    gw_arena_destroy(&ex.arena);
}
END_TEST

START_TEST(fail_records_status_and_a_copied_detail)
{
    gw_exchange ex;
    exchange_new(&ex);
    gw_exchange_begin(&ex, NULL, NULL, NULL, "10.0.0.1");
    char name[] = "Consulta";
    ck_assert_int_eq(gw_exchange_fail(&ex, GW_ERR_UNKNOWN_SERVICE, "no service '%s'", name),
                     GW_ERR_UNKNOWN_SERVICE);
    ck_assert_int_eq(ex.status, GW_ERR_UNKNOWN_SERVICE);
    name[0] = 'X';
    ck_assert_str_eq(ex.fault_detail, "no service 'Consulta'");

    /* A detail longer than the formatting buffer is cut, still NUL-terminated. */
    size_t long_len = 5000;
    char *big = malloc(long_len + 1);
    memset(big, 'a', long_len);
    big[long_len] = '\0';
    gw_exchange_fail(&ex, GW_ERR_SCHEMA_INVALID, "x%s", big);
    ck_assert_int_eq(ex.status, GW_ERR_SCHEMA_INVALID);
    size_t got = strlen(ex.fault_detail);
    ck_assert_uint_gt(got, 100);
    ck_assert_uint_lt(got, long_len);
    ck_assert_int_eq(ex.fault_detail[0], 'x');
    ck_assert_int_eq(ex.fault_detail[got - 1], 'a');
    free(big);

    /* No format: the status changes, the detail given earlier stays. */
    const char *before = ex.fault_detail;
    ck_assert_int_eq(gw_exchange_fail(&ex, GW_ERR_INTERNAL, NULL), GW_ERR_INTERNAL);
    ck_assert_int_eq(ex.status, GW_ERR_INTERNAL);
    ck_assert_ptr_eq(ex.fault_detail, before);
    gw_exchange_end(&ex);
    gw_arena_destroy(&ex.arena);
}
END_TEST

START_TEST(begin_and_end_reset_the_exchange)
{
    gw_exchange ex;
    exchange_new(&ex);
    char address[] = "192.0.2.7";
    int64_t t0 = gw_now_us();
    gw_exchange_begin(&ex, NULL, NULL, NULL, address);
    ck_assert_int_eq(ex.status, GW_OK);
    ck_assert_int_eq(ex.http_status, 200);
    ck_assert_int_ge(ex.t_request_in, t0);
    ck_assert_int_le(ex.t_request_in, gw_now_us());
    address[0] = '8';
    ck_assert_str_eq(ex.client_address, "192.0.2.7");    /* an arena copy */
    char first_id[37];
    memcpy(first_id, ex.exchange_id, sizeof first_id);

    /* Everything a previous exchange left is gone with the next begin. */
    gw_exchange_fail(&ex, GW_ERR_ACCESS_DENIED, "denied");
    ex.http_status = 403;
    ex.result_code = "0001";
    ex.t_provider_out = 5;
    ex.retry_after_s = 3;
    ex.request_doc = xmlNewDoc(BAD_CAST "1.0");
    ex.response_doc = xmlNewDoc(BAD_CAST "1.0");
    for (int i = 0; i < 50; i++)
        gw_arena_alloc(&ex.arena, 1000);
    ck_assert_uint_gt(ex.arena.bytes_allocated, 50000);
    gw_exchange_end(&ex);   /* frees both documents (valgrind/ASan would see a leak otherwise) */
    ck_assert_ptr_null(ex.request_doc);
    ck_assert_ptr_null(ex.response_doc);
    ck_assert_uint_eq(ex.arena.bytes_allocated, 0);

    gw_exchange_begin(&ex, NULL, NULL, NULL, "10.0.0.2");
    ck_assert_int_eq(ex.status, GW_OK);
    ck_assert_ptr_null(ex.fault_detail);
    ck_assert_ptr_null(ex.result_code);
    ck_assert_int_eq(ex.http_status, 200);
    ck_assert_int_eq(ex.t_provider_out, 0);
    ck_assert_int_eq(ex.retry_after_s, 0);
    ck_assert_str_ne(ex.exchange_id, first_id);
    ck_assert_str_eq(ex.client_address, "10.0.0.2");
    ck_assert_uint_lt(ex.arena.bytes_allocated, 64);     /* only the address copy */
    gw_exchange_end(&ex);
    gw_arena_destroy(&ex.arena);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("exchange");
    TCase *tc = tcase_create("exchange");
    tcase_add_test(tc, ids_are_uuid_v7_unique_and_time_ordered);
    tcase_add_test(tc, fail_records_status_and_a_copied_detail);
    tcase_add_test(tc, begin_and_end_reset_the_exchange);
    suite_add_tcase(suite, tc);
    return check_run_suite(suite);
}
