/* check_trace_context.c — gateway/trace_context.c: the W3C Trace Context Level 1 traceparent and
 * tracestate grammar tried with valid and hostile values (wrong lengths, uppercase hex, all-zero
 * ids, version ff, extra fields, oversized and duplicated headers), new ids from the CSPRNG, and
 * the traceparent the gateway passes on. Also the head reader's capture of both headers. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_run.h"
#include "http_head.h"
#include "trace_context.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"
#define VALID "00-" TID "-" PID "-01"

static bool parse(const char *v, const char **why)
{
    char t[33], p[17];
    unsigned char f;
    return gw_traceparent_parse(v, strlen(v), t, p, &f, why);
}

static void expect_invalid(const char *v)
{
    const char *why = NULL;
    ck_assert_msg(!parse(v, &why), "accepted: %s", v);
    ck_assert_ptr_nonnull(why);
}

static bool all_zero(const char *s)
{
    for (; *s; s++)
        if (*s != '0')
            return false;
    return true;
}

static bool lower_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

START_TEST(parses_a_valid_traceparent)
{
    char t[33], p[17];
    unsigned char f = 0;
    const char *why = NULL;
    ck_assert(gw_traceparent_parse(VALID, strlen(VALID), t, p, &f, &why));
    ck_assert_str_eq(t, TID);
    ck_assert_str_eq(p, PID);
    ck_assert_int_eq(f, 1);
    ck_assert(parse("00-" TID "-" PID "-00", NULL));
    ck_assert(parse("00-" TID "-" PID "-ff", NULL)); /* unknown flags: still valid */
}
END_TEST

START_TEST(parses_future_versions_per_spec)
{
    /* A higher version: its first 55 characters, and anything after must follow a '-'. */
    ck_assert(parse("cc-" TID "-" PID "-01", NULL));
    ck_assert(parse("cc-" TID "-" PID "-01-what-the-future-will-be-like", NULL));
    expect_invalid("cc-" TID "-" PID "-01.what-the-future-will-be-like");
    expect_invalid("cc-" TID "-" PID "-0");
    /* Version 00 must be exactly 55 characters: no extra fields. */
    expect_invalid(VALID "-extra");
    expect_invalid(VALID "-");
}
END_TEST

START_TEST(refuses_invalid_traceparents)
{
    expect_invalid("");
    expect_invalid("0");
    expect_invalid("ff-" TID "-" PID "-01");                      /* version ff */
    expect_invalid("00-" "4BF92F3577B34DA6A3CE929D0E0E4736" "-" PID "-01"); /* uppercase */
    expect_invalid("00-" TID "-" "00F067AA0BA902B7" "-01");
    expect_invalid("00-" TID "-" PID "-0A");
    expect_invalid("0A-" TID "-" PID "-01");
    expect_invalid("00-00000000000000000000000000000000-" PID "-01"); /* all-zero trace-id */
    expect_invalid("00-" TID "-0000000000000000-01");                 /* all-zero parent-id */
    expect_invalid("00-" TID "0-" PID "-01");                         /* wrong lengths */
    expect_invalid("00-4bf92f3577b34da6a3ce929d0e0e473-" PID "-01");
    expect_invalid("00-" TID "-00f067aa0ba902b-01");
    expect_invalid("00-" TID "-" PID "-1");
    expect_invalid("00-" TID "-" PID "-001");
    expect_invalid("00_" TID "-" PID "-01");                          /* separators */
    expect_invalid("00-" TID "_" PID "-01");
    expect_invalid("00-" TID "-" PID "_01");
    expect_invalid("00-4bf92f3577b34da6a3ce929d0e0e473g-" PID "-01"); /* not hex */
    expect_invalid(" " VALID);
    /* A future version's value is bounded too. */
    char big[GW_TRACEPARENT_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "cc-" TID "-" PID "-01-", 56);
    expect_invalid(big);
    /* An embedded NUL is not a shorter value: the length given is what counts. */
    char nul[] = VALID;
    nul[10] = '\0';
    ck_assert(!gw_traceparent_parse(nul, sizeof nul - 1, NULL, NULL, NULL, NULL));
}
END_TEST

START_TEST(checks_tracestate)
{
    static const char *good[] = {"", "rojo=00f067aa0ba902b7", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
                                 "a@b=1", "tenant1@sys=x y", " , a=1 ,, b=2 ", "k_-*/9=v"};
    static const char *bad[] = {"Rojo=1", "=1", "a=", "a", "a=1,a=2", "a=b=c", "a=1 ,b=x\x01",
                                "1a=1", "@b=1", "a@=1", "a@B=1", "a=\x7f"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(gw_tracestate_valid(good[i], strlen(good[i])), "refused: %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!gw_tracestate_valid(bad[i], strlen(bad[i])), "accepted: %s", bad[i]);
    /* 32 members at most; over GW_TRACESTATE_MAX characters refused. */
    char list[1024] = "";
    for (int i = 0; i < 33; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%sk%d=v", i ? "," : "", i);
    ck_assert(!gw_tracestate_valid(list, strlen(list)));
    *strrchr(list, ',') = '\0';
    ck_assert(gw_tracestate_valid(list, strlen(list)));
    char longv[GW_TRACESTATE_MAX + 2];
    memset(longv, 'v', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    memcpy(longv, "a=", 2);
    ck_assert(!gw_tracestate_valid(longv, strlen(longv)));
}
END_TEST

START_TEST(generates_random_nonzero_ids)
{
    char a[33], b[33], s[17];
    ck_assert_int_eq(gw_trace_random_hex(a, 16), GW_OK);
    ck_assert_int_eq(gw_trace_random_hex(b, 16), GW_OK);
    ck_assert_int_eq(gw_trace_random_hex(s, 8), GW_OK);
    ck_assert(lower_hex(a, 32) && lower_hex(b, 32) && lower_hex(s, 16));
    ck_assert(!all_zero(a) && !all_zero(s));
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(gw_trace_random_hex(a, 0), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_trace_random_hex(a, 17), GW_ERR_INVALID_ARG);
}
END_TEST

START_TEST(continues_a_valid_trace)
{
    gw_trace_context tc;
    const char *ts = "rojo=00f067aa0ba902b7";
    ck_assert_int_eq(gw_trace_begin(&tc, VALID, strlen(VALID), 1, ts, strlen(ts), 1), GW_OK);
    ck_assert(tc.inherited);
    ck_assert_ptr_null(tc.why_new);
    ck_assert_str_eq(tc.trace_id, TID);
    ck_assert_str_eq(tc.parent_id, PID);
    ck_assert(lower_hex(tc.span_id, 16) && strcmp(tc.span_id, PID) != 0);
    ck_assert_str_eq(tc.tracestate, ts);
    char want[64];
    snprintf(want, sizeof want, "00-%s-%s-01", TID, tc.span_id);
    ck_assert_str_eq(tc.traceparent, want);
    ck_assert(parse(tc.traceparent, NULL));
    /* Flags other than sampled are not passed on; a future version continues as 00. */
    const char *fut = "cc-" TID "-" PID "-fe-more";
    ck_assert_int_eq(gw_trace_begin(&tc, fut, strlen(fut), 1, NULL, 0, 0), GW_OK);
    ck_assert(tc.inherited);
    ck_assert_int_eq(tc.flags, 0);
    ck_assert(strncmp(tc.traceparent, "00-" TID "-", 36) == 0);
    ck_assert_str_eq(tc.traceparent + 52, "-00");
    /* A malformed, duplicated or oversized tracestate is dropped, the trace kept. */
    ck_assert_int_eq(gw_trace_begin(&tc, VALID, strlen(VALID), 1, "Bad=1", 5, 1), GW_OK);
    ck_assert(tc.inherited);
    ck_assert_str_eq(tc.tracestate, "");
    ck_assert_int_eq(gw_trace_begin(&tc, VALID, strlen(VALID), 1, ts, strlen(ts), 2), GW_OK);
    ck_assert_str_eq(tc.tracestate, "");
}
END_TEST

START_TEST(starts_a_new_trace_when_absent_invalid_or_duplicated)
{
    gw_trace_context tc;
    const char *ts = "rojo=1";
    ck_assert_int_eq(gw_trace_begin(&tc, NULL, 0, 0, ts, strlen(ts), 1), GW_OK);
    ck_assert(!tc.inherited);
    ck_assert_str_eq(tc.why_new, "no traceparent");
    ck_assert_str_eq(tc.parent_id, "");
    ck_assert_str_eq(tc.tracestate, ""); /* tracestate without a traceparent is not kept */
    ck_assert(lower_hex(tc.trace_id, 32) && !all_zero(tc.trace_id));
    ck_assert(parse(tc.traceparent, NULL));
    ck_assert_int_eq(tc.flags, 1);

    const char *upper = "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01";
    ck_assert_int_eq(gw_trace_begin(&tc, upper, strlen(upper), 1, NULL, 0, 0), GW_OK);
    ck_assert(!tc.inherited);
    ck_assert_str_ne(tc.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    ck_assert_str_eq(tc.parent_id, "");

    ck_assert_int_eq(gw_trace_begin(&tc, VALID, strlen(VALID), 2, NULL, 0, 0), GW_OK);
    ck_assert(!tc.inherited);
    ck_assert_str_eq(tc.why_new, "more than one traceparent");
    ck_assert_str_ne(tc.trace_id, TID);

    char huge[4096];
    memset(huge, 'a', sizeof huge);
    ck_assert_int_eq(gw_trace_begin(&tc, huge, sizeof huge, 1, NULL, 0, 0), GW_OK);
    ck_assert(!tc.inherited);
    ck_assert(parse(tc.traceparent, NULL));
}
END_TEST

START_TEST(head_reader_captures_trace_headers)
{
    const char *s = "POST /services/X HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n"
                    "TraceParent:  " VALID " \r\ntracestate: a=1\r\n\r\n";
    gw_http_head h;
    ck_assert_int_eq(gw_http_head_parse(s, strlen(s), 8192, 32768, &h), GW_HEAD_OK);
    ck_assert_int_eq(h.traceparent_count, 1);
    ck_assert_uint_eq(h.traceparent_len, 55);
    ck_assert(strncmp(s + h.traceparent_off, VALID, 55) == 0);
    ck_assert_int_eq(h.tracestate_count, 1);
    ck_assert(strncmp(s + h.tracestate_off, "a=1", h.tracestate_len) == 0);
    const char *dup = "POST / HTTP/1.1\r\nHost: gw\r\ntraceparent: " VALID "\r\n"
                      "traceparent: " VALID "\r\n\r\n";
    ck_assert_int_eq(gw_http_head_parse(dup, strlen(dup), 8192, 32768, &h), GW_HEAD_OK);
    ck_assert_int_eq(h.traceparent_count, 2);
    const char *none = "POST / HTTP/1.1\r\nHost: gw\r\n\r\n";
    ck_assert_int_eq(gw_http_head_parse(none, strlen(none), 8192, 32768, &h), GW_HEAD_OK);
    ck_assert_int_eq(h.traceparent_count, 0);
    ck_assert_int_eq(h.tracestate_count, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_context");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, parses_a_valid_traceparent);
    tcase_add_test(tc, parses_future_versions_per_spec);
    tcase_add_test(tc, refuses_invalid_traceparents);
    tcase_add_test(tc, checks_tracestate);
    tcase_add_test(tc, generates_random_nonzero_ids);
    tcase_add_test(tc, continues_a_valid_trace);
    tcase_add_test(tc, starts_a_new_trace_when_absent_invalid_or_duplicated);
    tcase_add_test(tc, head_reader_captures_trace_headers);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
