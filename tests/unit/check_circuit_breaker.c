/* check_circuit_breaker.c — the per-endpoint circuit breaker's state machine
 * (gateway/circuit_breaker.c), with the clock passed in: no sleeping. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "circuit_breaker.h"
#include "service_catalog.h"

#define S 1000000LL /* one second in microseconds */

/* Four services: two on one provider (different paths, scheme in another case), one on
 * another, one built-in without an endpoint. */
static gw_service_config configs[4];
static gw_service services[4];
static gw_service_catalog catalog;

static void setup(void)
{
    memset(configs, 0, sizeof configs);
    memset(services, 0, sizeof services);
    configs[0].endpoint_url = "http://127.0.0.1:8091/padron/v2/ciudadano";
    configs[1].endpoint_url = "HTTP://127.0.0.1:8091/otro?x=1";
    configs[2].endpoint_url = "https://migra.example.gob.pe/api";
    configs[3].endpoint_url = NULL;
    for (size_t i = 0; i < 4; i++) {
        services[i].index = i;
        services[i].config = &configs[i];
    }
    catalog.services = services;
    catalog.count = 4;
}

static gw_breakers *open_breakers(int failures, int64_t open_us)
{
    gw_breaker_policy p = {.failures = failures, .open_us = open_us};
    gw_breakers *b = NULL;
    char err[128] = "";
    ck_assert_int_eq(gw_breakers_new(&catalog, &p, &b, err, sizeof err), GW_OK);
    return b;
}

/* Admits and records one call of service `svc` at time `now`. Returns whether it was admitted. */
static int call(gw_breakers *b, size_t svc, int64_t now, int failed)
{
    gw_breaker_ticket t;
    if (!gw_breaker_admit(b, svc, now, &t, NULL))
        return 0;
    gw_breaker_record(b, &t, failed, now);
    return 1;
}

static gw_breaker_state state_of(gw_breakers *b, size_t circuit)
{
    gw_breaker_view v;
    gw_breakers_view(b, circuit, &v);
    return v.state;
}

START_TEST(test_origins)
{
    char o[64];
    ck_assert(gw_url_origin("http://a.b:80/x/y?z", o, sizeof o));
    ck_assert_str_eq(o, "http://a.b:80");
    ck_assert(gw_url_origin("HTTPS://[::1]:8443", o, sizeof o));
    ck_assert_str_eq(o, "https://[::1]:8443");
    ck_assert(!gw_url_origin("ftp://a/b", o, sizeof o));
    ck_assert(!gw_url_origin("http:///x", o, sizeof o));
    ck_assert(!gw_url_origin(NULL, o, sizeof o));
    ck_assert(!gw_url_origin("http://a-very-long-host-name.example/", o, 16));
}
END_TEST

START_TEST(test_one_circuit_per_endpoint)
{
    gw_breakers *b = open_breakers(3, 10 * S);
    ck_assert_uint_eq(gw_breakers_count(b), 2);
    gw_breaker_view v;
    gw_breakers_view(b, 0, &v);
    ck_assert_str_eq(v.origin, "http://127.0.0.1:8091");
    /* Failures of service 0 and of service 1 count together: one provider. */
    call(b, 0, 0, 1);
    call(b, 1, 0, 1);
    call(b, 0, 0, 1);
    ck_assert_int_eq(state_of(b, 0), GW_BREAKER_OPEN);
    ck_assert_int_eq(call(b, 1, 1, 0), 0);
    /* The other provider and the built-in service are untouched. */
    ck_assert_int_eq(state_of(b, 1), GW_BREAKER_CLOSED);
    ck_assert_int_eq(call(b, 2, 1, 0), 1);
    ck_assert_int_eq(call(b, 3, 1, 1), 1);
    ck_assert_int_eq(call(b, 3, 1, 1), 1);
    ck_assert_int_eq(call(b, 3, 1, 1), 1);
    gw_breakers_free(b);
}
END_TEST

START_TEST(test_consecutive_failures_only)
{
    gw_breakers *b = open_breakers(3, 10 * S);
    /* A success in between starts the count again. */
    call(b, 0, 0, 1);
    call(b, 0, 0, 1);
    call(b, 0, 0, 0);
    call(b, 0, 0, 1);
    call(b, 0, 0, 1);
    ck_assert_int_eq(state_of(b, 0), GW_BREAKER_CLOSED);
    call(b, 0, 0, 1);
    ck_assert_int_eq(state_of(b, 0), GW_BREAKER_OPEN);
    gw_breakers_free(b);
}
END_TEST

START_TEST(test_open_half_open_closed)
{
    gw_breakers *b = open_breakers(2, 10 * S);
    call(b, 0, 0, 1);
    call(b, 0, 1 * S, 1); /* opens at t=1 s */
    gw_breaker_view v;
    gw_breakers_view(b, 0, &v);
    ck_assert_uint_eq(v.opened_total, 1);
    /* Refused at once until the period is over. */
    ck_assert_int_eq(call(b, 0, 2 * S, 0), 0);
    ck_assert_int_eq(call(b, 0, 11 * S - 1, 0), 0);
    /* Then one probe, and only one while it is out. */
    gw_breaker_ticket probe, other;
    ck_assert_int_eq(gw_breaker_admit(b, 0, 11 * S, &probe, NULL), 1);
    ck_assert_int_eq(probe.probe, 1);
    ck_assert_int_eq(state_of(b, 0), GW_BREAKER_HALF_OPEN);
    ck_assert_int_eq(gw_breaker_admit(b, 1, 11 * S, &other, NULL), 0);
    /* The probe fails: open again for a whole period from now. */
    gw_breaker_record(b, &probe, 1, 12 * S);
    ck_assert_int_eq(state_of(b, 0), GW_BREAKER_OPEN);
    ck_assert_int_eq(call(b, 0, 21 * S, 0), 0);
    /* The next probe succeeds: closed, and calls flow. */
    ck_assert_int_eq(gw_breaker_admit(b, 0, 22 * S, &probe, NULL), 1);
    gw_breaker_record(b, &probe, 0, 22 * S);
    ck_assert_int_eq(state_of(b, 0), GW_BREAKER_CLOSED);
    ck_assert_int_eq(call(b, 0, 22 * S, 0), 1);
    gw_breakers_view(b, 0, &v);
    ck_assert_uint_eq(v.opened_total, 2);
    ck_assert_uint_eq(v.refused_total, 4);
    /* And it takes `failures` new failures to open again. */
    call(b, 0, 23 * S, 1);
    ck_assert_int_eq(state_of(b, 0), GW_BREAKER_CLOSED);
    gw_breakers_free(b);
}
END_TEST

START_TEST(test_late_answers_do_not_decide)
{
    gw_breakers *b = open_breakers(2, 10 * S);
    gw_breaker_ticket slow;
    ck_assert_int_eq(gw_breaker_admit(b, 0, 0, &slow, NULL), 1);
    call(b, 0, 0, 1);
    call(b, 0, 0, 1); /* open */
    /* A call admitted before it opened comes back fine: the circuit stays open. */
    gw_breaker_record(b, &slow, 0, 1 * S);
    ck_assert_int_eq(state_of(b, 0), GW_BREAKER_OPEN);
    gw_breakers_free(b);
}
END_TEST

START_TEST(test_turned_off)
{
    gw_breaker_policy p = {.failures = 0, .open_us = S};
    gw_breakers *b = (gw_breakers *)1;
    ck_assert_int_eq(gw_breakers_new(&catalog, &p, &b, NULL, 0), GW_OK);
    ck_assert_ptr_null(b);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(call(NULL, 0, 0, 1), 1);
    gw_breakers_free(NULL);
}
END_TEST

/* Many workers failing at once open the circuit exactly once and count every refusal. */
static gw_breakers *shared;
static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++)
        call(shared, 0, 0, 1);
    return NULL;
}

START_TEST(test_concurrent)
{
    shared = open_breakers(5, 1000 * S);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    gw_breaker_view v;
    gw_breakers_view(shared, 0, &v);
    ck_assert_int_eq(v.state, GW_BREAKER_OPEN);
    ck_assert_uint_eq(v.opened_total, 1);
    ck_assert_uint_ge(v.refused_total, 40000 - 5 - 4 * 1); /* admitted: the 5, plus in-flight */
    gw_breakers_free(shared);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("circuit_breaker");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_origins);
    tcase_add_test(tc, test_one_circuit_per_endpoint);
    tcase_add_test(tc, test_consecutive_failures_only);
    tcase_add_test(tc, test_open_half_open_closed);
    tcase_add_test(tc, test_late_answers_do_not_decide);
    tcase_add_test(tc, test_turned_off);
    tcase_add_test(tc, test_concurrent);
    SRunner *sr = srunner_create(s);
    suite_add_tcase(s, tc);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
