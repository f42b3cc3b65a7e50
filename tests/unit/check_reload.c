/*
 * check_reload.c — tests of gateway/reload.c: restart-only settings keep their running value and
 * are named; the live snapshot's references (a replaced snapshot stays readable while held, the
 * first one is left to its owner when asked); a reload of a broken file or of a file whose
 * certificates cannot be read changes nothing and says why (file:line); the JSON answer of
 * POST /reload escapes what it quotes.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "config.h"
#include "reload.h"
#include "runtime.h"

static char source_dir[PATH_MAX];
static char schema_dir[PATH_MAX + 64];
static char demo_path[PATH_MAX + 64];

static void setup_paths(void)
{
    const char *src = getenv("PIDE_SOURCE_DIR");
    ck_assert_msg(src != NULL, "PIDE_SOURCE_DIR must name the repository root");
    ck_assert_ptr_nonnull(realpath(src, source_dir));
    snprintf(schema_dir, sizeof schema_dir, "%s/schemas", source_dir);
    snprintf(demo_path, sizeof demo_path, "%s/conf/demo.xml", source_dir);
}

static gw_config *load_demo(void)
{
    char err[1024] = "";
    gw_config *cfg = NULL;
    ck_assert_msg(gw_config_load(demo_path, schema_dir, &cfg, err, sizeof err) == GW_OK, "%s", err);
    return cfg;
}

/* A snapshot holding only a configuration (no TLS, adapters...): what gw_live counts. */
static gw_runtime *config_only_snapshot(void)
{
    gw_runtime *rt = calloc(1, sizeof *rt);
    ck_assert_ptr_nonnull(rt);
    rt->config = load_demo();
    rt->derived = 1; /* released entirely with its last reference */
    return rt;
}

START_TEST(test_restart_only_settings_keep_their_running_value)
{
    gw_config *run = load_demo(), *next = load_demo();
    char report[512];
    ck_assert_int_eq(gw_config_keep_restart_only(next, run, report, sizeof report), 0);
    ck_assert_str_eq(report, "");

    next->listen_port = 9999;
    next->workers = 3;
    free(next->db_conninfo);
    next->db_conninfo = strdup("host=elsewhere dbname=other");
    free(next->signing_key_path);
    next->signing_key_path = NULL;
    next->rate_per_s = 7;     /* reloadable: stays as loaded */
    next->max_body_bytes = 5; /* reloadable */
    int n = gw_config_keep_restart_only(next, run, report, sizeof report);
    ck_assert_int_eq(n, 4);
    ck_assert_msg(strstr(report, "<listen port>") && strstr(report, "<listen workers>") &&
                      strstr(report, "<database conninfo>") && strstr(report, "<signing key>"),
                  "%s", report);
    ck_assert_int_eq(next->listen_port, run->listen_port);
    ck_assert_int_eq(next->workers, run->workers);
    ck_assert_str_eq(next->db_conninfo, run->db_conninfo);
    ck_assert_str_eq(next->signing_key_path, run->signing_key_path);
    ck_assert_int_eq(next->rate_per_s, 7);
    ck_assert_uint_eq(next->max_body_bytes, 5);

    /* maxInFlight left to its default (twice workers) follows workers: restored, not reported. */
    next->workers = 3;
    next->max_in_flight = 6;
    ck_assert_int_eq(gw_config_keep_restart_only(next, run, report, sizeof report), 1);
    ck_assert_str_eq(report, "<listen workers>");
    ck_assert_int_eq(next->max_in_flight, run->max_in_flight);
    next->max_in_flight = 7; /* set on its own */
    ck_assert_int_eq(gw_config_keep_restart_only(next, run, report, sizeof report), 1);
    ck_assert_str_eq(report, "<listen maxInFlight>");

    /* A report buffer too small is cut, never overrun; the count stays exact. */
    next->listen_port = 1;
    next->backlog = 2;
    char tiny[8];
    ck_assert_int_eq(gw_config_keep_restart_only(next, run, tiny, sizeof tiny), 2);
    ck_assert_uint_lt(strlen(tiny), sizeof tiny);
    gw_config_free(run);
    gw_config_free(next);
}
END_TEST

START_TEST(test_replaced_snapshot_lives_while_held)
{
    gw_live *live = NULL;
    gw_runtime *first = config_only_snapshot();
    ck_assert_int_eq(gw_live_new(first, 1, &live), GW_OK);
    ck_assert_uint_eq(gw_live_generation(live), 0);

    const gw_runtime *held = gw_live_acquire(live);
    ck_assert_ptr_eq(held, first);
    gw_runtime *second = config_only_snapshot();
    gw_live_swap(live, second);
    ck_assert_uint_eq(gw_live_generation(live), 1);
    ck_assert_uint_eq(second->generation, 1);

    /* New references get the new snapshot; the old one is still whole for its holder. */
    const gw_runtime *now = gw_live_acquire(live);
    ck_assert_ptr_eq(now, second);
    ck_assert_uint_eq(held->config->member_count, 4);
    ck_assert_ptr_nonnull(gw_config_find_member(held->config, "20000000002"));
    gw_live_release(live, held); /* the last reference to the first: freed here */

    gw_runtime *third = config_only_snapshot();
    gw_live_swap(live, third); /* second still held by `now` */
    ck_assert_uint_eq(gw_live_generation(live), 2);
    ck_assert_uint_eq(now->generation, 1);
    ck_assert_ptr_nonnull(now->config->services);
    gw_live_release(live, now);
    gw_live_release(live, NULL); /* harmless */
    gw_live_free(live);          /* third goes with the live's own reference */
}
END_TEST

START_TEST(test_first_snapshot_not_owned_is_left_alone)
{
    gw_runtime first;
    memset(&first, 0, sizeof first);
    gw_config *cfg = load_demo();
    first.config = cfg;
    gw_live *live = NULL;
    ck_assert_int_eq(gw_live_new(&first, 0, &live), GW_OK);
    gw_live_swap(live, config_only_snapshot());
    ck_assert_ptr_eq(first.config, cfg); /* untouched: still the caller's */
    ck_assert_int_eq(first.refs, 0);
    gw_live_free(live);
    gw_config_free(cfg);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_bad_reload_changes_nothing_and_says_why)
{
    gw_live *live = NULL;
    gw_runtime *first = config_only_snapshot();
    ck_assert_int_eq(gw_live_new(first, 1, &live), GW_OK);
    char dir[] = "/tmp/check_reload.XXXXXX", path[PATH_MAX];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/gateway.xml", dir);
    write_file(path, "<?xml version=\"1.0\"?>\n<gateway xmlns=\"urn:pide-gateway:config:1\">\n"
                     "  <listen address=\"127.0.0.1\"\n</gateway>\n");
    gw_reloader *r = NULL;
    ck_assert_int_eq(gw_reloader_new(live, first, path, schema_dir, NULL, &r), GW_OK);
    gw_reload_result res;
    gw_reload(r, 1, &res);
    ck_assert_int_eq(res.ok, 0);
    ck_assert_int_eq(res.http_status, 422);
    char want[PATH_MAX + 8];
    snprintf(want, sizeof want, "%s:4:", path);
    ck_assert_msg(strstr(res.message, want), "%s", res.message);
    ck_assert_uint_eq(gw_live_generation(live), 0);
    ck_assert_uint_eq(res.members, 4); /* still the running configuration's */
    gw_reloader_free(r);

    /* A file that loads, but whose CRL and certificates (var/pki, not made in the source tree
     * by the tests) cannot be read: the snapshot is not built, nothing leaks, nothing changes. */
    char missing[PATH_MAX + 64];
    snprintf(missing, sizeof missing, "%s/var/pki/ca.crl", source_dir);
    if (access(missing, R_OK) != 0) {
        ck_assert_int_eq(gw_reloader_new(live, first, demo_path, schema_dir, NULL, &r), GW_OK);
        gw_reload(r, 1, &res);
        ck_assert_int_eq(res.ok, 0);
        ck_assert_int_eq(res.http_status, 422);
        ck_assert_msg(strstr(res.message, "var/pki/"), "%s", res.message);
        ck_assert_uint_eq(gw_live_generation(live), 0);
        ck_assert_int_eq(res.restart_needed, 0);
        gw_reloader_free(r);
    }
    ck_assert_ptr_eq(gw_live_acquire(live), first);
    gw_live_release(live, first);
    gw_live_free(live);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* Called by the reload with its lock held: a second reload then, without waiting, is refused. */
static gw_reloader *nested_reloader;
static gw_reload_result nested_result;
static int notified_reloading, notified_ready;

static void notify_nested(const char *state)
{
    if (strcmp(state, "RELOADING=1") == 0) {
        notified_reloading++;
        gw_reload(nested_reloader, 0, &nested_result);
    } else if (strcmp(state, "READY=1") == 0) {
        notified_ready++;
    }
}

START_TEST(test_second_reload_meanwhile_is_refused_with_409)
{
    gw_live *live = NULL;
    gw_runtime *first = config_only_snapshot();
    ck_assert_int_eq(gw_live_new(first, 1, &live), GW_OK);
    ck_assert_int_eq(gw_reloader_new(live, first, "/nonexistent/gateway.xml", schema_dir,
                                     notify_nested, &nested_reloader),
                     GW_OK);
    gw_reload_result res;
    gw_reload(nested_reloader, 1, &res);
    ck_assert_int_eq(nested_result.http_status, 409);
    ck_assert_str_eq(nested_result.message, "another reload is under way");
    ck_assert_int_eq(res.http_status, 422); /* the outer one: the file does not exist */
    ck_assert_msg(strstr(res.message, "/nonexistent/gateway.xml"), "%s", res.message);
    ck_assert_int_eq(notified_reloading, 1);
    ck_assert_int_eq(notified_ready, 1);
    gw_reloader_free(nested_reloader);
    gw_live_free(live);
}
END_TEST

START_TEST(test_result_json_escapes_what_it_quotes)
{
    gw_reload_result res;
    memset(&res, 0, sizeof res);
    res.http_status = 422;
    res.generation = 3;
    snprintf(res.message, sizeof res.message, "/etc/x \"y\".xml:7: bad\\value\nnext");
    char json[4096];
    gw_reload_result_json(&res, json, sizeof json);
    ck_assert_str_eq(json, "{\"result\":\"failed\",\"generation\":3,\"error\":"
                           "\"/etc/x \\\"y\\\".xml:7: bad\\\\value\\u000anext\"}\n");
    res.ok = 1;
    res.members = 4;
    res.services = 5;
    res.grants = 9;
    res.old_members = 3;
    snprintf(res.restart_settings, sizeof res.restart_settings, "<listen port>");
    gw_reload_result_json(&res, json, sizeof json);
    ck_assert_str_eq(json, "{\"result\":\"ok\",\"generation\":3,\"members\":4,\"services\":5,"
                           "\"grants\":9,\"previous\":{\"members\":3,\"services\":0,"
                           "\"grants\":0},\"restartNeeded\":\"<listen port>\"}\n");
    char small[16];
    gw_reload_result_json(&res, small, sizeof small);
    ck_assert_uint_lt(strlen(small), sizeof small);
}
END_TEST

static Suite *reload_suite(void)
{
    Suite *s = suite_create("reload");
    TCase *tc = tcase_create("reload");
    tcase_add_checked_fixture(tc, setup_paths, NULL);
    tcase_add_test(tc, test_restart_only_settings_keep_their_running_value);
    tcase_add_test(tc, test_replaced_snapshot_lives_while_held);
    tcase_add_test(tc, test_first_snapshot_not_owned_is_left_alone);
    tcase_add_test(tc, test_bad_reload_changes_nothing_and_says_why);
    tcase_add_test(tc, test_second_reload_meanwhile_is_refused_with_409);
    tcase_add_test(tc, test_result_json_escapes_what_it_quotes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run_suite(reload_suite()); }
