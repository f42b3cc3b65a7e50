/* check_http_head.c — gateway/http_head.c: the strict request-head reader and the chunked-body
 * scanner, tried as an attacker would (duplicated, conflicting, malformed and oversized framing)
 * and fed byte by byte the way a trickling client sends. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_run.h"
#include "http_head.h"

static gw_head_result parse(const char *s, gw_http_head *h)
{
    return gw_http_head_parse(s, strlen(s), 8192, 32768, h);
}

static void expect_bad(const char *s)
{
    gw_http_head h;
    ck_assert_msg(parse(s, &h) == GW_HEAD_BAD, "not refused: %s", s);
    ck_assert_ptr_nonnull(h.why);
}

START_TEST(reads_a_plain_post)
{
    const char *s = "POST /services/X?a=b HTTP/1.1\r\nHost: gw\r\nContent-Length: 12\r\n"
                    "Content-Type: text/xml\r\n\r\n<body/>";
    gw_http_head h;
    ck_assert_int_eq(parse(s, &h), GW_HEAD_OK);
    ck_assert_int_eq(h.content_length, 12);
    ck_assert_int_eq(h.chunked, 0);
    ck_assert_int_eq(h.close, 0);
    ck_assert_int_eq(h.minor, 1);
    ck_assert_uint_eq(h.head_len, strstr(s, "<body/>") - s);
    ck_assert(h.method_len == 4 && memcmp(s + h.method_off, "POST", 4) == 0);
    ck_assert(h.target_len == 15 && memcmp(s + h.target_off, "/services/X?a=b", 15) == 0);
}
END_TEST

START_TEST(reads_chunked_close_and_http10)
{
    gw_http_head h;
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChunKed\r\n"
                           "Connection: keep-alive, close\r\n\r\n", &h), GW_HEAD_OK);
    ck_assert_int_eq(h.chunked, 1);
    ck_assert_int_eq(h.content_length, -1);
    ck_assert_int_eq(h.close, 1);
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\n\r\n", &h), GW_HEAD_OK);
    ck_assert_int_eq(h.close, 1);
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h), GW_HEAD_OK);
    ck_assert_int_eq(h.close, 0);
    /* leading empty lines are ignored */
    ck_assert_int_eq(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &h), GW_HEAD_OK);
}
END_TEST

START_TEST(refuses_ambiguous_framing)
{
    expect_bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");
    expect_bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
    expect_bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
               "Transfer-Encoding: chunked\r\n\r\n");
    expect_bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
               "Content-Length: 5\r\n\r\n");
    expect_bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    expect_bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
               "Transfer-Encoding: chunked\r\n\r\n");
    expect_bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n");
    expect_bad("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
    static const char *bad_cl[] = {"+5", "-5", "5 5", "5,5", "0x5", "", "5a", "\xd9"};
    for (size_t i = 0; i < sizeof bad_cl / sizeof bad_cl[0]; i++) {
        char req[128];
        snprintf(req, sizeof req, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n",
                 bad_cl[i]);
        expect_bad(req);
    }
}
END_TEST

START_TEST(refuses_malformed_heads)
{
    expect_bad("POST / HTTP/1.1\nHost: a\n\n");                      /* bare LF */
    expect_bad("POST / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n");           /* bare CR */
    expect_bad("POST / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n");
    expect_bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 1\r\n\r\n");
    expect_bad("POST / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n");
    expect_bad("POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n");        /* no Host */
    expect_bad("POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    expect_bad("POST  / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect_bad("POST / HTTP/2.0\r\nHost: a\r\n\r\n");
    expect_bad("POST / HTTP/1.1 \r\nHost: a\r\n\r\n");
    expect_bad("POST /a b HTTP/1.1\r\nHost: a\r\n\r\n");
    expect_bad("PO(ST / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect_bad("POST / HTTP/1.1\r\n: novalue\r\n\r\n");
}
END_TEST

START_TEST(limits_lines_and_heads)
{
    char big[12000];
    gw_http_head h;
    memset(big, 'a', sizeof big);
    memcpy(big, "GET /", 5);
    big[sizeof big - 1] = '\0';
    /* an endless first line is refused before its end arrives */
    ck_assert_int_eq(gw_http_head_parse(big, strlen(big), 8192, 32768, &h), GW_HEAD_TOO_LARGE);
    char req[20000];
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nX: %.9000s\r\n\r\n", big);
    ck_assert_int_eq(parse(req, &h), GW_HEAD_TOO_LARGE);
    /* many short lines over the whole-head limit */
    size_t n = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\n");
    while (n < 17000)
        n += (size_t)snprintf(req + n, sizeof req - n, "X-Filler: %.100s\r\n", big);
    snprintf(req + n, sizeof req - n, "\r\n");
    ck_assert_int_eq(gw_http_head_parse(req, strlen(req), 8192, 16384, &h), GW_HEAD_TOO_LARGE);
    ck_assert_int_eq(gw_http_head_parse(req, strlen(req), 8192, 32768, &h), GW_HEAD_OK);
    /* the request line is known even when the head is refused: the refusal can be logged */
    ck_assert_uint_eq(h.method_len, 3);
}
END_TEST

START_TEST(incomplete_until_the_empty_line_byte_by_byte)
{
    const char *s = "POST /services/X HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\n";
    size_t len = strlen(s);
    gw_http_head h;
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(gw_http_head_parse(s, i, 8192, 32768, &h) == GW_HEAD_INCOMPLETE,
                      "complete after %zu bytes", i);
    ck_assert_int_eq(gw_http_head_parse(s, len, 8192, 32768, &h), GW_HEAD_OK);
    ck_assert_uint_eq(h.head_len, len);
}
END_TEST

static gw_chunked_result scan_all(const char *body, size_t len, uint64_t max, size_t *end,
                                  uint64_t *decoded)
{
    gw_chunked_scan sc;
    memset(&sc, 0, sizeof sc);
    gw_chunked_result r = gw_chunked_scan_feed(&sc, body, len, max, 8192);
    *end = sc.pos;
    *decoded = sc.decoded;
    return r;
}

START_TEST(finds_the_end_of_a_chunked_body)
{
    const char *b = "5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nGET / HTTP/1.1";
    size_t end;
    uint64_t dec;
    ck_assert_int_eq(scan_all(b, strlen(b), 1000, &end, &dec), GW_CHUNKED_DONE);
    ck_assert_uint_eq(end, strstr(b, "GET") - b); /* the pipelined request is not swallowed */
    ck_assert_uint_eq(dec, 15);
    /* byte by byte, resuming each time */
    gw_chunked_scan sc;
    memset(&sc, 0, sizeof sc);
    size_t want = strstr(b, "GET") - b;
    for (size_t i = 0; i < want; i++)
        ck_assert_int_eq(gw_chunked_scan_feed(&sc, b, i, 1000, 8192), GW_CHUNKED_INCOMPLETE);
    ck_assert_int_eq(gw_chunked_scan_feed(&sc, b, want, 1000, 8192), GW_CHUNKED_DONE);
    ck_assert_uint_eq(sc.pos, want);
}
END_TEST

START_TEST(refuses_bad_or_oversized_chunks)
{
    size_t end;
    uint64_t dec;
    static const char *bad[] = {"x\r\n", "\r\n", "5\r\nhelloX\r\n", "5\nhello\r\n",
                                "-1\r\n", "5\r\nhello\r\n0\r\n\rX"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(scan_all(bad[i], strlen(bad[i]), 1000, &end, &dec) == GW_CHUNKED_BAD,
                      "not refused: %zu", i);
    const char *big = "10\r\n0123456789abcdef\r\n0\r\n\r\n";
    ck_assert_int_eq(scan_all(big, strlen(big), 15, &end, &dec), GW_CHUNKED_TOO_LARGE);
    ck_assert_int_eq(scan_all(big, strlen(big), 16, &end, &dec), GW_CHUNKED_DONE);
    const char *huge = "ffffffffffffffffff\r\n";
    ck_assert_int_eq(scan_all(huge, strlen(huge), 1000, &end, &dec), GW_CHUNKED_TOO_LARGE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_head");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, reads_a_plain_post);
    tcase_add_test(tc, reads_chunked_close_and_http10);
    tcase_add_test(tc, refuses_ambiguous_framing);
    tcase_add_test(tc, refuses_malformed_heads);
    tcase_add_test(tc, limits_lines_and_heads);
    tcase_add_test(tc, incomplete_until_the_empty_line_byte_by_byte);
    tcase_add_test(tc, finds_the_end_of_a_chunked_body);
    tcase_add_test(tc, refuses_bad_or_oversized_chunks);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
