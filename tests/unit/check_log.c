/*
 * check_log.c — tests of lib/log.c's JSON-lines mode: every record is one JSON object (checked
 * with jansson) whatever the message holds — quotes, backslashes, control characters, UTF-8,
 * a message far over the line size cut without splitting a character; a leading "[<exchange
 * id>]" becomes the exchange_id field; libxml2's own error reports and OpenSSL's error queue
 * come out as JSON records with quoted values removed, never raw.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "check_run.h"
#include "log.h"

static json_t *parse(const char *line)
{
    json_error_t e;
    json_t *o = json_loads(line, 0, &e);
    ck_assert_msg(o != NULL, "not JSON (%s): %s", e.text, line);
    ck_assert(json_is_object(o));
    return o;
}

static const char *field(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return v && json_is_string(v) ? json_string_value(v) : NULL;
}

START_TEST(record_is_json_whatever_the_message)
{
    char line[4096];
    const char *msg = "quote \" backslash \\ newline \n tab \t bell \a del \x7f" " e\xc3\xb1" "e";
    gw_log_format_json(line, sizeof line, PIDE_LOG_WARN, "test", "0f0e0d0c-0b0a-4908-8706-050403020100", msg);
    ck_assert_ptr_null(strchr(line, '\n'));
    json_t *o = parse(line);
    ck_assert_str_eq(field(o, "level"), "warn");
    ck_assert_str_eq(field(o, "event"), "test");
    ck_assert_str_eq(field(o, "exchange_id"), "0f0e0d0c-0b0a-4908-8706-050403020100");
    ck_assert_str_eq(field(o, "message"), msg);
    ck_assert_int_eq(strlen(field(o, "time")), strlen("2026-12-03T04:15:42.295Z"));
    json_decref(o);
}
END_TEST

START_TEST(trace_id_only_on_the_bound_exchange)
{
    const char *ex = "0f0e0d0c-0b0a-4908-8706-050403020100";
    const char *other = "1f0e0d0c-0b0a-4908-8706-050403020100";
    const char *tid = "4bf92f3577b34da6a3ce929d0e0e4736";
    char line[4096];
    gw_log_format_json(line, sizeof line, PIDE_LOG_INFO, "test", ex, "before binding");
    json_t *o = parse(line);
    ck_assert_ptr_null(json_object_get(o, "trace_id"));
    json_decref(o);
    gw_log_bind_trace(ex, tid);
    gw_log_format_json(line, sizeof line, PIDE_LOG_INFO, "test", ex, "bound");
    o = parse(line);
    ck_assert_str_eq(field(o, "trace_id"), tid);
    ck_assert_str_eq(field(o, "exchange_id"), ex);
    json_decref(o);
    /* another exchange's line, or one without an exchange, never gets the bound trace */
    gw_log_format_json(line, sizeof line, PIDE_LOG_INFO, "test", other, "other");
    o = parse(line);
    ck_assert_ptr_null(json_object_get(o, "trace_id"));
    json_decref(o);
    gw_log_format_json(line, sizeof line, PIDE_LOG_INFO, "test", NULL, "none");
    o = parse(line);
    ck_assert_ptr_null(json_object_get(o, "trace_id"));
    json_decref(o);
    gw_log_bind_trace(NULL, NULL);
    gw_log_format_json(line, sizeof line, PIDE_LOG_INFO, "test", ex, "cleared");
    o = parse(line);
    ck_assert_ptr_null(json_object_get(o, "trace_id"));
    json_decref(o);
}
END_TEST

START_TEST(long_message_is_cut_without_breaking_json_or_utf8)
{
    size_t n = 20000;
    char *msg = malloc(n + 1);
    for (size_t i = 0; i + 2 <= n; i += 2)
        memcpy(msg + i, "\xc3\xb1", 2); /* ñ */
    msg[n] = '\0';
    for (size_t size = 256; size <= 4096; size += 37) {
        char *line = malloc(size);
        gw_log_format_json(line, size, PIDE_LOG_ERROR, NULL, NULL, msg);
        ck_assert_uint_lt(strlen(line), size);
        json_t *o = parse(line); /* jansson refuses invalid UTF-8 */
        ck_assert_str_eq(field(o, "event"), "gateway");
        ck_assert_ptr_null(json_object_get(o, "exchange_id"));
        json_decref(o);
        free(line);
    }
    free(msg);
}
END_TEST

START_TEST(scrub_keeps_names_and_removes_values)
{
    char m[] = "Element '{urn:x}nuDni': [facet 'pattern'] The value '45678912' is not accepted by "
               "the pattern '[0-9]{8}'; attribute 'id' value 'abc'; ''";
    gw_log_scrub_quoted(m);
    ck_assert_ptr_nonnull(strstr(m, "Element '{urn:x}nuDni'"));
    ck_assert_ptr_nonnull(strstr(m, "facet 'pattern'"));
    ck_assert_ptr_nonnull(strstr(m, "attribute 'id'"));
    ck_assert_ptr_null(strstr(m, "45678912"));
    ck_assert_ptr_null(strstr(m, "abc"));
    ck_assert_ptr_null(strstr(m, "[0-9]"));
    char odd[] = "an 'unterminated quote";
    gw_log_scrub_quoted(odd);
    ck_assert_str_eq(odd, "an 'unterminated quote");
}
END_TEST

/* Runs fn with stderr captured; returns what it wrote (malloc'd). */
static char *capture_stderr(void (*fn)(void))
{
    fflush(stderr);
    char path[] = "/tmp/check_log.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    int saved = dup(2);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *out = calloc(1, (size_t)len + 1);
    ck_assert_int_eq(pread(fd, out, (size_t)len, 0), len);
    close(fd);
    unlink(path);
    return out;
}

/* Every line is a JSON object; returns how many lines had the event. */
static int lines_with_event(char *text, const char *event, const char *must_not_contain)
{
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = parse(line);
        if (strcmp(field(o, "event"), event) == 0)
            n++;
        if (must_not_contain)
            ck_assert_msg(strstr(line, must_not_contain) == NULL, "leaked: %s", line);
        json_decref(o);
    }
    return n;
}

static void log_some(void)
{
    gw_log(PIDE_LOG_ERROR, "[0f0e0d0c-0b0a-4908-8706-050403020100] exchange not logged");
    gw_log(PIDE_LOG_INFO, "plain \"message\"");
    gw_log(PIDE_LOG_DEBUG, "filtered out at INFO");
}

START_TEST(json_mode_lines_and_exchange_id)
{
    gw_log_set_json(1);
    char *out = capture_stderr(log_some);
    gw_log_set_json(0);
    char *first = strdup(out);
    first[strcspn(first, "\n")] = '\0';
    json_t *o = parse(first);
    ck_assert_str_eq(field(o, "exchange_id"), "0f0e0d0c-0b0a-4908-8706-050403020100");
    ck_assert_str_eq(field(o, "message"), "exchange not logged");
    ck_assert_str_eq(field(o, "level"), "error");
    json_decref(o);
    ck_assert_int_eq(lines_with_event(out, "gateway", NULL), 2);
    free(first);
    free(out);
}
END_TEST

static void xml_error(void)
{
    /* no NOERROR option: libxml2 reports through the generic handler routed to the log */
    xmlDocPtr d = xmlReadMemory("<a><secret>45678912</b>", 23, "x.xml", NULL, 0);
    ck_assert_ptr_null(d);
    /* NOERROR still means silence */
    d = xmlReadMemory("<a><quiet>111</b>", 17, "y.xml", NULL, XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    ck_assert_ptr_null(d);
}

START_TEST(libxml2_errors_are_json_records)
{
    gw_log_set_json(1);
    gw_log_route_library_errors();
    char *out = capture_stderr(xml_error);
    gw_log_set_json(0);
    ck_assert_ptr_null(strstr(out, "y.xml"));
    ck_assert_int_ge(lines_with_event(out, "xml", "45678912"), 1);
    free(out);
}
END_TEST

static void openssl_error(void)
{
    BIO *bio = BIO_new_mem_buf("-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n", -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    ck_assert_ptr_null(x);
    BIO_free(bio);
    gw_log_openssl_errors(PIDE_LOG_WARN, "test certificate");
    ck_assert_int_eq(ERR_peek_error(), 0); /* the queue was drained */
}

START_TEST(openssl_errors_are_json_records)
{
    gw_log_set_json(1);
    char *out = capture_stderr(openssl_error);
    gw_log_set_json(0);
    ck_assert_int_ge(lines_with_event(out, "openssl", "not base64"), 1);
    free(out);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, record_is_json_whatever_the_message);
    tcase_add_test(tc, trace_id_only_on_the_bound_exchange);
    tcase_add_test(tc, long_message_is_cut_without_breaking_json_or_utf8);
    tcase_add_test(tc, scrub_keeps_names_and_removes_values);
    tcase_add_test(tc, json_mode_lines_and_exchange_id);
    tcase_add_test(tc, libxml2_errors_are_json_records);
    tcase_add_test(tc, openssl_errors_are_json_records);
    suite_add_tcase(suite, tc);
    return check_run_suite(suite);
}
