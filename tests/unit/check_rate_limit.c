/* check_rate_limit.c — token buckets on simulated time: burst, Retry-After, refill, isolation,
 * overrides, a full table, and the bound on tokens granted to racing threads. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "check_run.h"
#include "rate_limit.h"

#define SEC INT64_C(1000000)
#define MS INT64_C(1000)
#define CLIENT_A "20100070970"
#define CLIENT_B "20131312955"
#define CLIENT_C "20131370645"
#define TOL 1e-9

static void take_ok(gw_rate_limiter *l, const char *client, int64_t now_us, int times)
{
    for (int i = 0; i < times; i++) {
        double retry = -1;
        ck_assert_int_eq(gw_rate_limit_take(l, client, now_us, &retry), GW_OK);
        ck_assert_double_eq(retry, 0);
    }
}

static void take_refused(gw_rate_limiter *l, const char *client, int64_t now_us, double want_retry)
{
    double retry = -1;
    ck_assert_int_eq(gw_rate_limit_take(l, client, now_us, &retry), GW_ERR_RATE_LIMITED);
    ck_assert_double_eq_tol(retry, want_retry, TOL);
}

START_TEST(burst_then_refusal_with_time_until_next_token)
{
    gw_rate_limiter *l = gw_rate_limiter_new(10, 5, 100);
    ck_assert_ptr_nonnull(l);
    int64_t t0 = 50 * SEC;
    take_ok(l, CLIENT_A, t0, 5);
    take_refused(l, CLIENT_A, t0, 0.1);
    take_refused(l, CLIENT_A, t0 + 40 * MS, 0.06);
    take_ok(l, CLIENT_A, t0 + 100 * MS, 1);
    take_refused(l, CLIENT_A, t0 + 100 * MS, 0.1);
    /* Refused takes consume nothing: 250 ms later there are 2.5 tokens, so two pass. */
    take_ok(l, CLIENT_A, t0 + 350 * MS, 2);
    take_refused(l, CLIENT_A, t0 + 350 * MS, 0.05);

    gw_rate_limiter_stats st;
    gw_rate_limiter_stats_get(l, &st);
    ck_assert_uint_eq(st.allowed, 8);
    ck_assert_uint_eq(st.limited, 4);
    ck_assert_uint_eq(st.clients, 1);
    gw_rate_limiter_free(l);
}
END_TEST

START_TEST(idle_time_refills_up_to_the_burst_only)
{
    gw_rate_limiter *l = gw_rate_limiter_new(10, 5, 100);
    ck_assert_ptr_nonnull(l);
    take_ok(l, CLIENT_A, 0, 5);
    take_ok(l, CLIENT_A, 3600 * SEC, 5);
    take_refused(l, CLIENT_A, 3600 * SEC, 0.1);
    gw_rate_limiter_free(l);
}
END_TEST

START_TEST(clients_have_separate_buckets)
{
    gw_rate_limiter *l = gw_rate_limiter_new(1, 3, 100);
    ck_assert_ptr_nonnull(l);
    take_ok(l, CLIENT_A, 0, 3);
    take_refused(l, CLIENT_A, 0, 1.0);
    take_ok(l, CLIENT_B, 0, 3);
    take_refused(l, CLIENT_B, 0, 1.0);
    gw_rate_limiter_free(l);
}
END_TEST

START_TEST(override_gives_one_client_its_own_rate_and_burst)
{
    gw_rate_limiter *l = gw_rate_limiter_new(10, 5, 100);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(gw_rate_limiter_set_client(l, CLIENT_B, 0.5, 2), GW_OK);
    ck_assert_int_eq(gw_rate_limiter_set_client(l, CLIENT_C, 100, 50), GW_OK);
    ck_assert_int_eq(gw_rate_limiter_set_client(l, CLIENT_C, 1000, 20), GW_OK); /* replaces */
    take_ok(l, CLIENT_B, 0, 2);
    take_refused(l, CLIENT_B, 0, 2.0);
    take_ok(l, CLIENT_C, 0, 20);
    take_refused(l, CLIENT_C, 0, 0.001);
    take_ok(l, CLIENT_A, 0, 5);
    take_refused(l, CLIENT_A, 0, 0.1);
    gw_rate_limiter_stats st;
    gw_rate_limiter_stats_get(l, &st);
    ck_assert_uint_eq(st.overrides, 2);
    gw_rate_limiter_free(l);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
    ck_assert_ptr_null(gw_rate_limiter_new(0, 5, 10));
    ck_assert_ptr_null(gw_rate_limiter_new(-1, 5, 10));
    ck_assert_ptr_null(gw_rate_limiter_new(10, 0.5, 10));
    ck_assert_ptr_null(gw_rate_limiter_new(10, 5, 0));
    ck_assert_ptr_null(gw_rate_limiter_new(GW_RATE_MAX_PER_S * 2, 5, 10));
    ck_assert_ptr_null(gw_rate_limiter_new(__builtin_nan(""), 5, 10));
    gw_rate_limiter *l = gw_rate_limiter_new(10, 5, 10);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(gw_rate_limiter_set_client(l, "", 1, 1), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_rate_limiter_set_client(l, CLIENT_A, 0, 1), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_rate_limiter_set_client(l, CLIENT_A, 1, 0), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_rate_limit_take(l, NULL, 0, NULL), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_rate_limit_take(l, "", 0, NULL), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_rate_limit_take(NULL, CLIENT_A, 0, NULL), GW_ERR_INVALID_ARG);
    gw_rate_limiter_free(l);
}
END_TEST

START_TEST(earlier_time_from_a_racing_thread_refills_nothing)
{
    gw_rate_limiter *l = gw_rate_limiter_new(10, 1, 10);
    ck_assert_ptr_nonnull(l);
    take_ok(l, CLIENT_A, 10 * SEC, 1);
    take_refused(l, CLIENT_A, 9 * SEC, 0.1);
    take_ok(l, CLIENT_A, 10 * SEC + 100 * MS, 1);
    gw_rate_limiter_free(l);
}
END_TEST

START_TEST(full_table_drops_only_refilled_buckets)
{
    /* Two clients fit (one shard, exact capacity). */
    gw_rate_limiter *l = gw_rate_limiter_new(1, 2, 2);
    ck_assert_ptr_nonnull(l);
    take_ok(l, CLIENT_A, 0, 2);
    take_ok(l, CLIENT_B, 500 * MS, 1);
    /* Both still refilling: C is refused until A (least recently used) is full again, at 2 s. */
    take_refused(l, CLIENT_C, 1 * SEC, 1.0);
    gw_rate_limiter_stats st;
    gw_rate_limiter_stats_get(l, &st);
    ck_assert_uint_eq(st.refused_table_full, 1);
    ck_assert_uint_eq(st.clients, 2);
    /* At 2 s A is full: dropping it loses nothing, C gets a bucket. */
    take_ok(l, CLIENT_C, 2 * SEC, 2);
    gw_rate_limiter_stats_get(l, &st);
    ck_assert_uint_eq(st.evicted_idle, 1);
    ck_assert_uint_eq(st.clients, 2);
    /* B kept its state: 1 token left at 0.5 s + 1.5 s of refill = full (2), capped. */
    take_ok(l, CLIENT_B, 2 * SEC, 2);
    take_refused(l, CLIENT_B, 2 * SEC, 1.0);
    gw_rate_limiter_free(l);
}
END_TEST

#define THREADS 8
#define TAKES_PER_THREAD 20000
#define TICK_US 1

typedef struct hammer_state {
    gw_rate_limiter *l;
    atomic_llong clock_us;
    atomic_long granted;
} hammer_state;

static void *hammer_one_client(void *p)
{
    hammer_state *h = p;
    for (int i = 0; i < TAKES_PER_THREAD; i++) {
        int64_t now = atomic_fetch_add(&h->clock_us, TICK_US);
        if (gw_rate_limit_take(h->l, CLIENT_A, now, NULL) == GW_OK)
            atomic_fetch_add(&h->granted, 1);
    }
    return NULL;
}

START_TEST(racing_threads_never_exceed_burst_plus_refill)
{
    const double rate = 1000, burst = 50;
    hammer_state h = {.l = gw_rate_limiter_new(rate, burst, 100)};
    ck_assert_ptr_nonnull(h.l);
    atomic_init(&h.clock_us, 0);
    atomic_init(&h.granted, 0);
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&threads[t], NULL, hammer_one_client, &h), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    double elapsed_s = (double)atomic_load(&h.clock_us) / 1e6; /* 0.16 s of simulated time */
    long granted = atomic_load(&h.granted);
    ck_assert_int_le(granted, (long)(burst + rate * elapsed_s));
    ck_assert_int_ge(granted, (long)burst);
    gw_rate_limiter_stats st;
    gw_rate_limiter_stats_get(h.l, &st);
    ck_assert_uint_eq(st.allowed + st.limited, THREADS * TAKES_PER_THREAD);
    ck_assert_uint_eq(st.allowed, (uint64_t)granted);
    gw_rate_limiter_free(h.l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rate_limit");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, burst_then_refusal_with_time_until_next_token);
    tcase_add_test(tc, idle_time_refills_up_to_the_burst_only);
    tcase_add_test(tc, clients_have_separate_buckets);
    tcase_add_test(tc, override_gives_one_client_its_own_rate_and_burst);
    tcase_add_test(tc, bad_arguments_are_refused);
    tcase_add_test(tc, earlier_time_from_a_racing_thread_refills_nothing);
    tcase_add_test(tc, full_table_drops_only_refilled_buckets);
    tcase_add_test(tc, racing_threads_never_exceed_burst_plus_refill);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
