/*
 * check_credential.c — tests of gateway/credential.c: the verifier cache (hits skip PBKDF2,
 * failures are never cached, bounded, thread-safe, concurrent misses of one key share a single
 * PBKDF2 run). Hash format: check_password_hash.c; secret files: check_secret_file.c.
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "credential.h"
#include "password_hash.h"

/* Tests use the minimum iteration count so that failures (which always run PBKDF2) stay fast. */
#define FAST GW_PASSWORD_HASH_MIN_ITERATIONS

static char *must_hash(const char *password, unsigned iterations)
{
    char *h = NULL;
    ck_assert_int_eq(gw_password_hash_new(password, iterations, &h), GW_OK);
    ck_assert_ptr_nonnull(h);
    return h;
}

/* ---- the cache, over an in-memory configuration ---- */

#define USERS 8

typedef struct test_config {
    gw_config cfg;
    gw_member member;
    gw_legacy_credential creds[USERS];
    char dni[USERS][9];
    char password[USERS][16];
} test_config;

/* One member 20000000001 with USERS officials 1000000u, each with password "pw-u". */
static test_config *make_test_config(void)
{
    test_config *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    for (int u = 0; u < USERS; u++) {
        ck_assert_int_eq(snprintf(t->dni[u], sizeof t->dni[u], "1000000%d", u), 8);
        ck_assert_int_gt(snprintf(t->password[u], sizeof t->password[u], "pw-%d", u), 0);
        t->creds[u].user_dni = t->dni[u];
        t->creds[u].password_hash = must_hash(t->password[u], FAST);
    }
    t->member.id = "20000000001";
    t->member.name = "Test";
    t->member.credentials = t->creds;
    t->member.credential_count = USERS;
    t->cfg.members = &t->member;
    t->cfg.member_count = 1;
    return t;
}

static void free_test_config(test_config *t)
{
    for (int u = 0; u < USERS; u++)
        free(t->creds[u].password_hash);
    free(t);
}

static gw_credential_cache_stats stats_of(gw_credential_cache *c)
{
    gw_credential_cache_stats s;
    gw_credential_cache_stats_get(c, &s);
    return s;
}

START_TEST(test_cache_second_check_skips_pbkdf2)
{
    test_config *t = make_test_config();
    gw_credential_cache *c = gw_credential_cache_new(64);
    ck_assert_ptr_nonnull(c);
    const char *ruc = "20000000001", *dni = t->dni[0], *pw = t->password[0];

    ck_assert_int_eq(gw_credential_check(c, &t->cfg, ruc, dni, pw), GW_OK);
    ck_assert_uint_eq(stats_of(c).pbkdf2_runs, 1);
    ck_assert_uint_eq(stats_of(c).hits, 0);
    ck_assert_uint_eq(stats_of(c).entries, 1);

    ck_assert_int_eq(gw_credential_check(c, &t->cfg, ruc, dni, pw), GW_OK);
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, ruc, dni, pw), GW_OK);
    ck_assert_uint_eq(stats_of(c).pbkdf2_runs, 1);
    ck_assert_uint_eq(stats_of(c).hits, 2);

    /* A cached success must not let a wrong password through, and failures are not cached. */
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(gw_credential_check(c, &t->cfg, ruc, dni, "pw-wrong"),
                         GW_ERR_AUTHENTICATION);
    ck_assert_uint_eq(stats_of(c).pbkdf2_runs, 3);
    ck_assert_uint_eq(stats_of(c).entries, 1);
    /* Another user's password is not this user's. */
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, ruc, t->dni[1], pw), GW_ERR_AUTHENTICATION);

    gw_credential_cache_free(c);
    free_test_config(t);
}
END_TEST

START_TEST(test_cache_unknown_member_or_user_fails_and_costs_pbkdf2)
{
    test_config *t = make_test_config();
    gw_credential_cache *c = gw_credential_cache_new(0);
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, "20000000009", t->dni[0], t->password[0]),
                     GW_ERR_AUTHENTICATION);
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, "20000000001", "99999999", t->password[0]),
                     GW_ERR_AUTHENTICATION);
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, "20000000001", t->dni[0], NULL),
                     GW_ERR_AUTHENTICATION);
    ck_assert_uint_eq(stats_of(c).pbkdf2_runs, 2);
    ck_assert_uint_eq(stats_of(c).entries, 0);
    /* Without a cache, checks still work. */
    ck_assert_int_eq(gw_credential_check(NULL, &t->cfg, "20000000001", t->dni[2], t->password[2]),
                     GW_OK);
    gw_credential_cache_free(c);
    free_test_config(t);
}
END_TEST

/* A new hash for a user (configuration reload) must not keep accepting the old password. */
START_TEST(test_cache_does_not_outlive_a_changed_hash)
{
    test_config *t = make_test_config();
    gw_credential_cache *c = gw_credential_cache_new(64);
    const char *ruc = "20000000001";
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, ruc, t->dni[0], t->password[0]), GW_OK);
    free(t->creds[0].password_hash);
    t->creds[0].password_hash = must_hash("new password", FAST);
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, ruc, t->dni[0], t->password[0]),
                     GW_ERR_AUTHENTICATION);
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, ruc, t->dni[0], "new password"), GW_OK);
    gw_credential_cache_free(c);
    free_test_config(t);
}
END_TEST

START_TEST(test_cache_is_bounded)
{
    test_config *t = make_test_config();
    gw_credential_cache *c = gw_credential_cache_new(4); /* one set of four */
    for (int u = 0; u < USERS; u++)
        ck_assert_int_eq(gw_credential_check(c, &t->cfg, "20000000001", t->dni[u], t->password[u]),
                         GW_OK);
    gw_credential_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.entries, 4);
    ck_assert_uint_eq(s.evictions, USERS - 4);
    /* The newest four are still cached, the oldest was evicted and needs PBKDF2 again. */
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, "20000000001", t->dni[USERS - 1],
                                         t->password[USERS - 1]),
                     GW_OK);
    ck_assert_uint_eq(stats_of(c).hits, 1);
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, "20000000001", t->dni[0], t->password[0]),
                     GW_OK);
    ck_assert_uint_eq(stats_of(c).pbkdf2_runs, USERS + 1);
    gw_credential_cache_free(c);
    free_test_config(t);
}
END_TEST

#define THREADS 6
#define CHECKS_PER_THREAD 300

typedef struct worker_arg {
    test_config *t;
    gw_credential_cache *cache;
    int seed;
    int wrong_answers;
    int checks;
} worker_arg;

static void *check_worker(void *p)
{
    worker_arg *w = p;
    for (int i = 0; i < CHECKS_PER_THREAD; i++) {
        int u = (w->seed + i) % USERS;
        int good = (i % 5) != 0;
        const char *pw = good ? w->t->password[u] : "wrong";
        gw_status st = gw_credential_check(w->cache, &w->t->cfg, "20000000001", w->t->dni[u], pw);
        if (st != (good ? GW_OK : GW_ERR_AUTHENTICATION))
            w->wrong_answers++;
        w->checks++;
    }
    return NULL;
}

START_TEST(test_cache_concurrent_checks)
{
    test_config *t = make_test_config();
    /* Smaller than the user count, so that threads evict each other's entries too. */
    gw_credential_cache *c = gw_credential_cache_new(4);
    pthread_t threads[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){.t = t, .cache = c, .seed = i};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, check_worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_int_eq(args[i].wrong_answers, 0);
        ck_assert_int_eq(args[i].checks, CHECKS_PER_THREAD);
    }
    gw_credential_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.hits + s.pbkdf2_runs + s.pbkdf2_waits, THREADS * CHECKS_PER_THREAD);
    ck_assert_uint_eq(s.in_flight, 0);
    ck_assert_uint_eq(s.waiting, 0);
    ck_assert_uint_gt(s.hits, 0);
    ck_assert_uint_le(s.entries, 4);
    gw_credential_cache_free(c);
    free_test_config(t);
}
END_TEST

/* ---- single flight: concurrent misses of one key share one PBKDF2 ---- */

#define BURST 16
/* How long a held flight waits for the state a test wants before giving up (and failing the test
 * rather than hanging it). Generous: valgrind runs threads one at a time. */
#define HOLD_LIMIT_POLLS 30000 /* of 1 ms */

/* The flight hook of these tests: keeps the thread that ran PBKDF2 from sharing its result until
 * the cache reports `target` for `measure`, i.e. until the state under test has certainly
 * happened while the check was in flight. The state may last only until the first held thread
 * moves on (two flights in flight at once end when one finishes), so whoever sees it first
 * releases every held thread. */
typedef struct hold_open {
    gw_credential_cache *cache;
    unsigned long (*measure)(const gw_credential_cache_stats *s);
    unsigned long target;
    atomic_int seen;
    atomic_int gave_up;
} hold_open;

static unsigned long waiting_of(const gw_credential_cache_stats *s) { return s->waiting; }
static unsigned long in_flight_of(const gw_credential_cache_stats *s) { return s->in_flight; }
static unsigned long wait_timeouts_of(const gw_credential_cache_stats *s)
{
    return s->wait_timeouts;
}

static void hold_until_target(void *arg)
{
    hold_open *h = arg;
    for (int i = 0; i < HOLD_LIMIT_POLLS; i++) {
        gw_credential_cache_stats s = stats_of(h->cache);
        if (h->measure(&s) == h->target)
            atomic_store(&h->seen, 1);
        if (atomic_load(&h->seen))
            return;
        usleep(1000);
    }
    atomic_store(&h->gave_up, 1);
}

static void hold_flights_until(gw_credential_cache *c, hold_open *h,
                               unsigned long (*measure)(const gw_credential_cache_stats *),
                               unsigned long target)
{
    h->cache = c;
    h->measure = measure;
    h->target = target;
    atomic_init(&h->seen, 0);
    atomic_init(&h->gave_up, 0);
    gw_credential_cache_set_flight_hook(c, hold_until_target, h);
}

/* One thread of a burst: all of them pass the barrier, then check at once. */
typedef struct racer {
    pthread_barrier_t *start;
    gw_credential_cache *cache;
    const gw_config *cfg;
    const char *dni;
    const char *password;
    gw_status result;
} racer;

static void *racer_main(void *p)
{
    racer *r = p;
    pthread_barrier_wait(r->start);
    r->result = gw_credential_check(r->cache, r->cfg, "20000000001", r->dni, r->password);
    return NULL;
}

static void run_together(racer *racers, int n)
{
    pthread_barrier_t start;
    pthread_t threads[BURST];
    ck_assert_int_le(n, BURST);
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, (unsigned)n), 0);
    for (int i = 0; i < n; i++) {
        racers[i].start = &start;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, racer_main, &racers[i]), 0);
    }
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    pthread_barrier_destroy(&start);
}

static void run_burst(gw_credential_cache *c, const test_config *t, const char *dni,
                      const char *password, gw_status want)
{
    racer racers[BURST];
    for (int i = 0; i < BURST; i++)
        racers[i] = (racer){.cache = c, .cfg = &t->cfg, .dni = dni, .password = password};
    run_together(racers, BURST);
    for (int i = 0; i < BURST; i++)
        ck_assert_msg(racers[i].result == want, "racer %d: got %d, want %d", i,
                      (int)racers[i].result, (int)want);
}

START_TEST(test_single_flight_success_runs_pbkdf2_once)
{
    test_config *t = make_test_config();
    gw_credential_cache *c = gw_credential_cache_new(64);
    hold_open hold;
    /* The first thread's PBKDF2 is not shared before all the others are waiting for it. */
    hold_flights_until(c, &hold, waiting_of, BURST - 1);
    run_burst(c, t, t->dni[0], t->password[0], GW_OK);
    ck_assert_int_eq(atomic_load(&hold.gave_up), 0);

    gw_credential_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.pbkdf2_runs, 1);
    ck_assert_uint_eq(s.pbkdf2_waits, BURST - 1);
    ck_assert_uint_eq(s.hits, 0);
    ck_assert_uint_eq(s.wait_timeouts, 0);
    ck_assert_uint_eq(s.entries, 1);
    ck_assert_uint_eq(s.in_flight, 0);
    ck_assert_uint_eq(s.waiting, 0);

    /* The success was cached for later requests too. */
    gw_credential_cache_set_flight_hook(c, NULL, NULL);
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, "20000000001", t->dni[0], t->password[0]),
                     GW_OK);
    ck_assert_uint_eq(stats_of(c).hits, 1);
    ck_assert_uint_eq(stats_of(c).pbkdf2_runs, 1);
    gw_credential_cache_free(c);
    free_test_config(t);
}
END_TEST

/* A wrong password for a known user, and a guess at an unknown user: both shared the same way,
 * so that a burst of guesses does not tell a known DNI from an unknown one by its duration. */
static const struct failing_burst {
    int user;           /* index into the test users, or -1 for an unknown DNI */
    const char *password;
} failing_bursts[] = {
    {0, "pw-wrong"},
    {-1, "pw-0"},
};

START_TEST(test_single_flight_failure_is_shared_only_with_waiters)
{
    test_config *t = make_test_config();
    gw_credential_cache *c = gw_credential_cache_new(64);
    const struct failing_burst *fb = &failing_bursts[_i];
    const char *dni = fb->user >= 0 ? t->dni[fb->user] : "99999999";
    hold_open hold;
    hold_flights_until(c, &hold, waiting_of, BURST - 1);
    run_burst(c, t, dni, fb->password, GW_ERR_AUTHENTICATION);
    ck_assert_int_eq(atomic_load(&hold.gave_up), 0);

    gw_credential_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.pbkdf2_runs, 1);
    ck_assert_uint_eq(s.pbkdf2_waits, BURST - 1);
    ck_assert_uint_eq(s.entries, 0);
    ck_assert_uint_eq(s.in_flight, 0);

    /* A later guess is a new request: it pays its own PBKDF2, failures are never cached. */
    gw_credential_cache_set_flight_hook(c, NULL, NULL);
    ck_assert_int_eq(gw_credential_check(c, &t->cfg, "20000000001", dni, fb->password),
                     GW_ERR_AUTHENTICATION);
    ck_assert_uint_eq(stats_of(c).pbkdf2_runs, 2);
    ck_assert_uint_eq(stats_of(c).pbkdf2_waits, BURST - 1);
    gw_credential_cache_free(c);
    free_test_config(t);
}
END_TEST

START_TEST(test_single_flight_different_keys_do_not_wait_for_each_other)
{
    test_config *t = make_test_config();
    gw_credential_cache *c = gw_credential_cache_new(64);
    hold_open hold;
    /* Neither PBKDF2 finishes before both keys are in flight at once. */
    hold_flights_until(c, &hold, in_flight_of, 2);
    racer racers[2] = {
        {.cache = c, .cfg = &t->cfg, .dni = t->dni[0], .password = t->password[0]},
        {.cache = c, .cfg = &t->cfg, .dni = t->dni[1], .password = t->password[1]},
    };
    run_together(racers, 2);
    ck_assert_int_eq(atomic_load(&hold.gave_up), 0);
    ck_assert_int_eq(racers[0].result, GW_OK);
    ck_assert_int_eq(racers[1].result, GW_OK);
    gw_credential_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.pbkdf2_runs, 2);
    ck_assert_uint_eq(s.pbkdf2_waits, 0);
    ck_assert_uint_eq(s.entries, 2);
    gw_credential_cache_free(c);
    free_test_config(t);
}
END_TEST

/* A waiter whose owner takes longer than the wait limit stops waiting and checks on its own. */
START_TEST(test_single_flight_wait_is_bounded)
{
    test_config *t = make_test_config();
    gw_credential_cache *c = gw_credential_cache_new(64);
    gw_credential_cache_set_wait_limit(c, 1);
    hold_open hold;
    /* The owner is held until the other thread has given up waiting for it. */
    hold_flights_until(c, &hold, wait_timeouts_of, 1);
    racer racers[2];
    for (int i = 0; i < 2; i++)
        racers[i] = (racer){.cache = c, .cfg = &t->cfg, .dni = t->dni[0],
                            .password = t->password[0]};
    run_together(racers, 2);
    ck_assert_int_eq(atomic_load(&hold.gave_up), 0);
    ck_assert_int_eq(racers[0].result, GW_OK);
    ck_assert_int_eq(racers[1].result, GW_OK);
    gw_credential_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.wait_timeouts, 1);
    ck_assert_uint_eq(s.pbkdf2_runs, 2);
    ck_assert_uint_eq(s.pbkdf2_waits, 0);
    ck_assert_uint_eq(s.entries, 1);
    ck_assert_uint_eq(s.in_flight, 0);
    ck_assert_uint_eq(s.waiting, 0);
    gw_credential_cache_free(c);
    free_test_config(t);
}
END_TEST

/* With a wait limit of 0 nobody waits: every check that misses runs PBKDF2 itself. */
START_TEST(test_single_flight_wait_limit_zero_never_waits)
{
    test_config *t = make_test_config();
    gw_credential_cache *c = gw_credential_cache_new(64);
    gw_credential_cache_set_wait_limit(c, 0);
    hold_open hold;
    hold_flights_until(c, &hold, wait_timeouts_of, BURST - 1);
    run_burst(c, t, t->dni[0], "pw-wrong", GW_ERR_AUTHENTICATION);
    ck_assert_int_eq(atomic_load(&hold.gave_up), 0);
    gw_credential_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.pbkdf2_runs, BURST);
    ck_assert_uint_eq(s.wait_timeouts, BURST - 1);
    ck_assert_uint_eq(s.pbkdf2_waits, 0);
    gw_credential_cache_free(c);
    free_test_config(t);
}
END_TEST

/* conf/demo.xml's member logs in with "demo", as docs and the demo script promise. */
START_TEST(test_demo_configuration_password_is_demo)
{
    const char *src = getenv("PIDE_SOURCE_DIR");
    ck_assert_ptr_nonnull(src);
    char path[PATH_MAX], schemas[PATH_MAX], err[1024] = "";
    snprintf(path, sizeof path, "%.4000s/conf/demo.xml", src);
    snprintf(schemas, sizeof schemas, "%.4000s/schemas", src);
    gw_config *cfg = NULL;
    ck_assert_msg(gw_config_load(path, schemas, &cfg, err, sizeof err) == GW_OK, "%s", err);
    gw_credential_cache *c = gw_credential_cache_new(0);
    ck_assert_int_eq(gw_credential_check(c, cfg, "20000000001", "11111111", "demo"), GW_OK);
    ck_assert_int_eq(gw_credential_check(c, cfg, "20000000001", "11111111", "Demo"),
                     GW_ERR_AUTHENTICATION);
    gw_credential_cache_free(c);
    gw_config_free(cfg);
}
END_TEST

static Suite *credential_suite(void)
{
    Suite *s = suite_create("credential");
    TCase *cache = tcase_create("cache");
    tcase_add_test(cache, test_cache_second_check_skips_pbkdf2);
    tcase_add_test(cache, test_cache_unknown_member_or_user_fails_and_costs_pbkdf2);
    tcase_add_test(cache, test_cache_does_not_outlive_a_changed_hash);
    tcase_add_test(cache, test_cache_is_bounded);
    tcase_add_test(cache, test_cache_concurrent_checks);
    tcase_add_test(cache, test_demo_configuration_password_is_demo);
    suite_add_tcase(s, cache);

    TCase *flight = tcase_create("single_flight");
    tcase_add_test(flight, test_single_flight_success_runs_pbkdf2_once);
    tcase_add_loop_test(flight, test_single_flight_failure_is_shared_only_with_waiters, 0,
                        (int)(sizeof failing_bursts / sizeof *failing_bursts));
    tcase_add_test(flight, test_single_flight_different_keys_do_not_wait_for_each_other);
    tcase_add_test(flight, test_single_flight_wait_is_bounded);
    tcase_add_test(flight, test_single_flight_wait_limit_zero_never_waits);
    suite_add_tcase(s, flight);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(credential_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
