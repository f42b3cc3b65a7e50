/*
 * check_metrics.c — tests of gateway/metrics.c: the Prometheus text writer prints exactly the
 * exposition format (HELP/TYPE lines, escaped label values, shortest round-trip numbers,
 * cumulative histogram buckets ending in +Inf equal to _count); the gateway's whole exposition
 * passes a line-by-line format check (and `promtool check metrics` when installed); counters
 * counted from many threads at once lose nothing.
 */
#include <check.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "clock.h"
#include "exchange.h"
#include "metrics.h"

START_TEST(sample_lines_are_escaped_and_exact)
{
    gw_prom_buf b = {0};
    static const char *const names[] = {"service", "why"};
    const char *values[] = {"a\"b", "x\\y\nz"};
    gw_prom_family(&b, "pide_test_total", "counter", "Help with \\ and\nnewline.");
    gw_prom_sample(&b, "pide_test_total", names, values, 2, 42);
    gw_prom_sample(&b, "pide_test_total", NULL, NULL, 0, 0.1);
    ck_assert(!b.failed);
    ck_assert_str_eq(b.data, "# HELP pide_test_total Help with \\\\ and\\nnewline.\n"
                             "# TYPE pide_test_total counter\n"
                             "pide_test_total{service=\"a\\\"b\",why=\"x\\\\y\\nz\"} 42\n"
                             "pide_test_total 0.1\n");
    gw_prom_buf_free(&b);
}
END_TEST

START_TEST(special_values)
{
    gw_prom_buf b = {0};
    gw_prom_sample(&b, "g", NULL, NULL, 0, 1.0 / 0.0);
    gw_prom_sample(&b, "g", NULL, NULL, 0, -1.0 / 0.0);
    gw_prom_sample(&b, "g", NULL, NULL, 0, 0.0 / 0.0);
    gw_prom_sample(&b, "g", NULL, NULL, 0, 1e20);
    gw_prom_sample(&b, "g", NULL, NULL, 0, 123456789012.0);
    gw_prom_sample(&b, "g", NULL, NULL, 0, 2.65);
    ck_assert_str_eq(b.data, "g +Inf\ng -Inf\ng NaN\ng 1e+20\ng 123456789012\ng 2.65\n");
    gw_prom_buf_free(&b);
}
END_TEST

START_TEST(histogram_buckets_are_cumulative_and_end_in_inf)
{
    static const double bounds[] = {0.1, 1};
    gw_histogram h;
    gw_histogram_init(&h, bounds, 2);
    gw_histogram_observe(&h, 0.05);
    gw_histogram_observe(&h, 0.1); /* le: the bound itself belongs to its bucket */
    gw_histogram_observe(&h, 0.5);
    gw_histogram_observe(&h, 2);
    gw_prom_buf b = {0};
    static const char *const names[] = {"service"};
    const char *values[] = {"S"};
    gw_prom_histogram(&b, "pide_x_seconds", names, values, 1, &h);
    ck_assert_str_eq(b.data, "pide_x_seconds_bucket{service=\"S\",le=\"0.1\"} 2\n"
                             "pide_x_seconds_bucket{service=\"S\",le=\"1\"} 3\n"
                             "pide_x_seconds_bucket{service=\"S\",le=\"+Inf\"} 4\n"
                             "pide_x_seconds_sum{service=\"S\"} 2.65\n"
                             "pide_x_seconds_count{service=\"S\"} 4\n");
    gw_prom_buf_free(&b);
    gw_histogram h2;
    gw_histogram_init(&h2, bounds, 2);
    gw_prom_histogram(&b, "pide_y", NULL, NULL, 0, &h2);
    ck_assert_str_eq(b.data, "pide_y_bucket{le=\"0.1\"} 0\npide_y_bucket{le=\"1\"} 0\n"
                             "pide_y_bucket{le=\"+Inf\"} 0\npide_y_sum 0\npide_y_count 0\n");
    gw_prom_buf_free(&b);
}
END_TEST

/* A line-by-line check of the text format (0.0.4), as strict as promtool's parser where it
 * matters: HELP then TYPE before a family's samples, names and labels well-formed, counters
 * named *_total, histogram buckets non-decreasing with le ascending and +Inf == _count. */
static void check_exposition(const char *text)
{
    regex_t help, type, sample;
    ck_assert_int_eq(regcomp(&help, "^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$", REG_EXTENDED), 0);
    ck_assert_int_eq(regcomp(&type, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$",
                             REG_EXTENDED), 0);
    ck_assert_int_eq(
        regcomp(&sample,
                "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\""
                "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\")*)\\})? "
                "(NaN|[+-]Inf|-?[0-9]+(\\.[0-9]+)?(e[+-][0-9]+)?)$",
                REG_EXTENDED),
        0);
    char *copy = strdup(text), *save = NULL;
    char family[128] = "", ftype[16] = "";
    unsigned long long last_bucket = 0;
    double last_le = -1;
    int lines = 0;
    ck_assert(text[strlen(text) - 1] == '\n');
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lines++;
        regmatch_t m[4];
        if (strncmp(line, "# HELP ", 7) == 0) {
            ck_assert_msg(regexec(&help, line, 0, NULL, 0) == 0, "bad HELP: %s", line);
            continue;
        }
        if (regexec(&type, line, 3, m, 0) == 0) {
            snprintf(family, sizeof family, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
            snprintf(ftype, sizeof ftype, "%.*s", (int)(m[2].rm_eo - m[2].rm_so), line + m[2].rm_so);
            if (strcmp(ftype, "counter") == 0)
                ck_assert_msg(strstr(family, "_total") == family + strlen(family) - 6,
                              "counter %s not *_total", family);
            last_le = -1;
            continue;
        }
        ck_assert_msg(regexec(&sample, line, 2, m, 0) == 0, "bad sample line: %s", line);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
        ck_assert_msg(strncmp(name, family, strlen(family)) == 0, "%s outside its family %s", name,
                      family);
        if (strcmp(ftype, "histogram") == 0) {
            const char *le = strstr(line, "le=\"");
            unsigned long long v = strtoull(strrchr(line, ' ') + 1, NULL, 10);
            if (le) {
                double bound = strncmp(le + 4, "+Inf", 4) == 0 ? 1e308 : strtod(le + 4, NULL);
                if (last_le >= 0) {
                    ck_assert_msg(bound > last_le, "le not ascending: %s", line);
                    ck_assert_msg(v >= last_bucket, "buckets not cumulative: %s", line);
                }
                last_le = bound >= 1e308 ? -1 : bound; /* +Inf ends a series */
                last_bucket = v;
            } else if (strstr(name, "_count")) {
                ck_assert_msg(v == last_bucket, "_count != +Inf bucket: %s", line);
            }
        } else {
            ck_assert_str_eq(name, family);
        }
    }
    ck_assert_int_gt(lines, 20);
    free(copy);
    regfree(&help);
    regfree(&type);
    regfree(&sample);
}

static void promtool_check(const char *text)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        return; /* Debian package prometheus: optional, too large for install-deps */
    char path[] = "/tmp/check_metrics.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
    int rc = system(cmd);
    unlink(path);
    ck_assert_msg(rc == 0, "promtool check metrics failed");
}

#define THREADS 8
#define PER_THREAD 50000

static void *count_exchanges(void *arg)
{
    (void)arg;
    gw_exchange ex;
    memset(&ex, 0, sizeof ex);
    for (int i = 0; i < PER_THREAD; i++) {
        ex.status = i % 2 ? GW_ERR_UNKNOWN_SERVICE : GW_ERR_MALFORMED_XML;
        ex.t_request_in = gw_now_us() - 1500; /* 1.5 ms */
        gw_metrics_exchange_done(&ex, NULL);
        gw_metrics_worker_busy(1);
        gw_metrics_worker_busy(-1);
    }
    return NULL;
}

static double sample_value(const char *text, const char *key)
{
    const char *p = text;
    size_t n = strlen(key);
    while ((p = strstr(p, key)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p += n;
    }
    return -1;
}

START_TEST(whole_exposition_is_well_formed_and_counts_lose_nothing)
{
    ck_assert_int_eq(gw_metrics_init(), GW_OK);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, count_exchanges, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    gw_metrics_log_batch(3, 0.002);
    gw_metrics_log_batch(5, 0.004);
    gw_metrics_tls_handshake(GW_TLS_HS_FAILED);
    gw_metrics_gauges g = {.version = "9.9.9", .workers = 4, .log_queue_depth = 7, .ready = 1,
                           .signing_cert_not_after = 1953951398};
    gw_prom_buf b = {0};
    gw_metrics_render(&b, &g);
    ck_assert(!b.failed);
    check_exposition(b.data);
    promtool_check(b.data);
    double half = THREADS * PER_THREAD / 2;
    ck_assert_double_eq(sample_value(b.data, "pide_exchanges_total{service=\"\",operation=\"\","
                                             "member=\"\",outcome=\"Client.UnknownService\"}"),
                        half);
    ck_assert_double_eq(sample_value(b.data, "pide_exchanges_total{service=\"\",operation=\"\","
                                             "member=\"\",outcome=\"Client.MalformedXml\"}"),
                        half);
    ck_assert_double_eq(
        sample_value(b.data, "pide_exchange_duration_seconds_count{service=\"\"}"), 2 * half);
    /* every observation is 1.5 ms or a little more: none in the 1 ms bucket, all by 2.5 ms
     * (unless the machine stalled a whole millisecond) */
    ck_assert_double_eq(
        sample_value(b.data, "pide_exchange_duration_seconds_bucket{service=\"\",le=\"0.001\"}"),
        0);
    ck_assert_double_eq(sample_value(b.data, "pide_workers_busy"), 0);
    ck_assert_double_eq(sample_value(b.data, "pide_log_batch_size_sum"), 8);
    ck_assert_double_eq(sample_value(b.data, "pide_log_batch_size_count"), 2);
    ck_assert_double_eq(sample_value(b.data, "pide_log_commit_seconds_sum"), 0.006);
    ck_assert_double_eq(sample_value(b.data, "pide_tls_handshakes_total{result=\"failed\"}"), 1);
    ck_assert_double_eq(sample_value(b.data, "pide_log_queue_depth"), 7);
    ck_assert_ptr_nonnull(strstr(b.data, "\npide_build_info{version=\"9.9.9\"} 1\n"));
    gw_prom_buf_free(&b);
    gw_metrics_shutdown();
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sample_lines_are_escaped_and_exact);
    tcase_add_test(tc, special_values);
    tcase_add_test(tc, histogram_buckets_are_cumulative_and_end_in_inf);
    tcase_add_test(tc, whole_exposition_is_well_formed_and_counts_lose_nothing);
    suite_add_tcase(suite, tc);
    return check_run_suite(suite);
}
