/* check_bundle_row.c — row.json of evidence bundles (tools/bundle_row.c): a row written to JSON
 * and read back gives the same binary send forms, hence the same row hash as the writer's
 * gw_log_row_hash; changed, missing, non-canonical or mistyped values are refused or change the
 * hash. */
#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <string.h>

#include "bundle_row.h"
#include "check_run.h"

static unsigned char num_seq[8] = {0, 0, 0, 0, 0, 0, 0, 42};
static unsigned char uuid[16] = {0x1b, 0x4e, 0x28, 0xba, 0x2f, 0xa1, 0x41, 0xd2,
                                 0x88, 0x3f, 0x00, 0x16, 0xd3, 0xcc, 0xa4, 0x27};
static unsigned char ts[8] = {0x00, 0x02, 0xe5, 0x1b, 0x61, 0x2a, 0x80, 0x01};
static unsigned char neg_ts[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static unsigned char http[4] = {0, 0, 0, 200};
static unsigned char version[2] = {0, 4};
static unsigned char digest[32] = {1, 2, 3};
static const char request[] = "<req><password>[REDACTED]</password></req>";
static const char response[] = "<resp>\xc3\xb1</resp>";

static void sample(gw_log_field *f)
{
    for (int i = 0; i < GW_LOG_FIELD_COUNT; i++) {
        f[i].len = -1;
        f[i].data = NULL;
    }
#define SET(i, p, n) (f[i].data = (p), f[i].len = (int32_t)(n))
    SET(0, num_seq, 8);
    SET(1, uuid, 16);
    SET(2, "20000000001", 11);
    SET(11, "Tr\xc3\xa1mite <x>", 12);
    SET(12, "", 0); /* empty differs from NULL */
    SET(13, request, strlen(request));
    SET(14, response, strlen(response));
    SET(15, digest, 32);
    SET(16, digest, 32);
    SET(18, ts, 8);
    SET(19, neg_ts, 8); /* one microsecond before 2000-01-01 */
    SET(22, "ok", 2);
    SET(26, http, 4);
    SET(31, version, 2);
    SET(36, "4bf92f3577b34da6a3ce929d0e0e4736", 32); /* trace_id, hashed since v4 */
    SET(38, "cms", 3);                               /* body_encryption */
#undef SET
}

static void hash(const unsigned char *prev, const gw_log_field *f, unsigned char *out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ck_assert(gw_log_row_hash(md, prev, f, GW_LOG_FIELD_COUNT, out));
    EVP_MD_CTX_free(md);
}

START_TEST(round_trip_same_hash)
{
    gw_log_field f[GW_LOG_FIELD_COUNT];
    unsigned char prev[32] = {9}, h[32], again[32];
    sample(f);
    hash(prev, f, h);
    json_t *row = bundle_row_to_json(f, prev, h, "2026-03-05T14:08:00.000000Z");
    ck_assert_ptr_nonnull(row);
    ck_assert_str_eq(json_string_value(json_object_get(row, "exchange_id")),
                     "1b4e28ba-2fa1-41d2-883f-0016d3cca427");
    ck_assert_str_eq(json_string_value(json_object_get(row, "t_provider_out")),
                     "1999-12-31T23:59:59.999999Z");
    ck_assert(json_is_null(json_object_get(row, "client_user")));
    ck_assert_str_eq(json_string_value(json_object_get(row, "procedure")), "");
    /* Through text, as a bundle travels. */
    char *text = json_dumps(row, 0);
    json_decref(row);
    json_error_t err;
    row = json_loads(text, 0, &err);
    free(text);
    bundle_row br;
    char why[256];
    ck_assert_msg(bundle_row_from_json(row, (const unsigned char *)request, strlen(request),
                                       (const unsigned char *)response, strlen(response), &br,
                                       why, sizeof why), "%s", why);
    ck_assert_int_eq(br.seq, 42);
    ck_assert_int_eq(br.version, 4);
    ck_assert_mem_eq(br.prev_hash, prev, 32);
    hash(br.prev_hash, br.f, again);
    ck_assert_mem_eq(again, h, 32);
    for (int i = 0; i < GW_LOG_FIELD_COUNT; i++) {
        ck_assert_int_eq(br.f[i].len, f[i].len);
        if (f[i].len > 0) ck_assert_mem_eq(br.f[i].data, f[i].data, (size_t)f[i].len);
    }
    /* A changed field changes the hash. */
    json_object_set_new(row, "client_member", json_string("20000000002"));
    ck_assert(bundle_row_from_json(row, (const unsigned char *)request, strlen(request),
                                   (const unsigned char *)response, strlen(response), &br, why,
                                   sizeof why));
    hash(br.prev_hash, br.f, again);
    ck_assert(memcmp(again, h, 32) != 0);
    json_decref(row);
}
END_TEST

/* A row.json written before hash version 4 has no trace_id, trace_parent_id nor
 * body_encryption: read as NULL, its v3 hash recomputes. */
START_TEST(pre_v4_bundles_still_read)
{
    gw_log_field f[GW_LOG_FIELD_COUNT];
    unsigned char prev[32] = {7}, h[32], again[32], v3[2] = {0, 3};
    sample(f);
    f[31] = (gw_log_field){v3, 2};
    for (int i = GW_LOG_FIELD_FIRST_V4; i < GW_LOG_FIELD_COUNT; i++)
        f[i] = (gw_log_field){NULL, -1};
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ck_assert(gw_log_row_hash(md, prev, f, gw_log_hash_field_count(3), h));
    json_t *row = bundle_row_to_json(f, prev, h, NULL);
    ck_assert_int_eq(json_object_del(row, "trace_id"), 0);
    ck_assert_int_eq(json_object_del(row, "trace_parent_id"), 0);
    ck_assert_int_eq(json_object_del(row, "body_encryption"), 0);
    bundle_row br;
    char why[256];
    ck_assert_msg(bundle_row_from_json(row, (const unsigned char *)request, strlen(request),
                                       (const unsigned char *)response, strlen(response), &br, why,
                                       sizeof why),
                  "%s", why);
    ck_assert_int_eq(br.version, 3);
    ck_assert_int_eq(br.f[GW_LOG_FIELD_BODY_ENCRYPTION].len, -1);
    ck_assert(gw_log_row_hash(md, br.prev_hash, br.f, gw_log_hash_field_count(br.version), again));
    ck_assert_mem_eq(again, h, 32);
    /* A v3 row claiming encryption is a row its version does not cover. */
    char buf[200];
    br.f[GW_LOG_FIELD_BODY_ENCRYPTION] = (gw_log_field){"cms", 3};
    ck_assert_str_eq(gw_log_uncovered_fields(3, br.f, buf, sizeof buf),
                     "hash_version 3 row carries body_encryption, which v3 does not cover");
    ck_assert_ptr_null(gw_log_uncovered_fields(4, br.f, buf, sizeof buf));
    EVP_MD_CTX_free(md);
    json_decref(row);
}
END_TEST

static bool read_back(json_t *row, char *why)
{
    bundle_row br;
    return bundle_row_from_json(row, (const unsigned char *)request, strlen(request),
                                (const unsigned char *)response, strlen(response), &br, why, 256);
}

START_TEST(refuses_malformed)
{
    gw_log_field f[GW_LOG_FIELD_COUNT];
    unsigned char prev[32] = {0}, h[32] = {0};
    char why[256];
    sample(f);
    json_t *good = bundle_row_to_json(f, prev, h, NULL);
    const struct {
        const char *field;
        json_t *value;
        const char *reason;
    } cases[] = {
        {"t_request_in", json_string("2026-03-05T14:08:00.00001Z"), "t_request_in is not a UTC time"},
        {"t_request_in", json_string("2026-02-30T14:08:00.000000Z"), "t_request_in is not a UTC time"},
        {"exchange_id", json_string("1B4E28BA-2FA1-41D2-883F-0016D3CCA427"), "exchange_id is not a lower-case uuid"},
        {"seq", json_string("42"), "seq is not an integer"},
        {"http_status", json_integer(1LL << 40), "http_status is out of range"},
        {"request_sha256", json_string("abc"), "request_sha256 is not 64"},
        {"purpose", json_integer(1), "purpose is not a string"},
        {"response", json_pack("{s:s, s:i}", "file", "response.xml", "bytes", 3), "response has another length"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *row = json_deep_copy(good);
        json_object_set_new(row, cases[i].field, cases[i].value);
        ck_assert_msg(!read_back(row, why), "case %zu accepted", i);
        ck_assert_msg(strstr(why, cases[i].reason) != NULL, "case %zu: %s", i, why);
        json_decref(row);
    }
    json_t *row = json_deep_copy(good);
    json_object_del(row, "outcome");
    ck_assert(!read_back(row, why));
    ck_assert(strstr(why, "outcome is missing") != NULL);
    json_decref(row);
    /* The request file present for a NULL request, or missing for a present one. */
    row = json_deep_copy(good);
    json_object_set_new(row, "request", json_null());
    ck_assert(!read_back(row, why));
    json_decref(row);
    bundle_row br;
    ck_assert(!bundle_row_from_json(good, NULL, 0, (const unsigned char *)response,
                                    strlen(response), &br, why, sizeof why));
    ck_assert(strstr(why, "names a file the bundle does not have") != NULL);
    json_decref(good);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bundle_row");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, round_trip_same_hash);
    tcase_add_test(tc, refuses_malformed);
    tcase_add_test(tc, pre_v4_bundles_still_read);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
