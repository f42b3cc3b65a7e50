/* check_replay_guard.c — replay window, per-client scope, capacity (expire first, then evict the
 * oldest and count it), and no lost or doubled entries under concurrent use. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_run.h"
#include "replay_guard.h"

#define SEC INT64_C(1000000)
#define CLIENT_A "20100070970"
#define CLIENT_B "20131312955"

START_TEST(second_use_within_window_is_a_replay_until_the_window_ends)
{
    gw_replay_guard *g = gw_replay_guard_new(60, 1000);
    ck_assert_ptr_nonnull(g);
    int64_t t0 = 1000 * SEC;
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-1", t0), GW_OK);
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-1", t0 + 1), GW_ERR_REPLAY);
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-1", t0 + 60 * SEC - 1), GW_ERR_REPLAY);
    /* Same id from another client, and another id from the same client, are not replays. */
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_B, "msg-1", t0 + 2), GW_OK);
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-2", t0 + 3), GW_OK);
    /* The window counts from the first sighting: replays do not extend it. */
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-1", t0 + 60 * SEC), GW_OK);
    /* ...and that acceptance starts a new window. */
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-1", t0 + 61 * SEC), GW_ERR_REPLAY);

    gw_replay_guard_stats st;
    gw_replay_guard_stats_get(g, &st);
    ck_assert_uint_eq(st.accepted, 4);
    ck_assert_uint_eq(st.replayed, 3);
    ck_assert_uint_eq(st.evicted, 0);
    ck_assert_uint_eq(st.window_s, 60);
    gw_replay_guard_free(g);
}
END_TEST

/* An id whose shared check gave no answer is forgotten, so the retry is not a replay; other ids,
 * and the same id of another client, stay remembered; the ring still purges in order. */
START_TEST(forgotten_id_is_accepted_again)
{
    gw_replay_guard *g = gw_replay_guard_new(60, 1000);
    ck_assert_ptr_nonnull(g);
    int64_t t0 = 1000 * SEC;
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-1", t0), GW_OK);
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-2", t0 + 1), GW_OK);
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_B, "msg-1", t0 + 2), GW_OK);
    ck_assert_int_eq(gw_replay_guard_forget(g, CLIENT_A, "msg-1"), GW_OK);
    ck_assert_int_eq(gw_replay_guard_forget(g, CLIENT_A, "never-seen"), GW_OK);
    ck_assert_int_eq(gw_replay_guard_forget(g, CLIENT_A, ""), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-2", t0 + 3), GW_ERR_REPLAY);
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_B, "msg-1", t0 + 4), GW_ERR_REPLAY);
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-1", t0 + 5), GW_OK);
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-1", t0 + 6), GW_ERR_REPLAY);
    /* Past every window all entries go, the forgotten one included. */
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "msg-3", t0 + 120 * SEC), GW_OK);
    gw_replay_guard_stats st;
    gw_replay_guard_stats_get(g, &st);
    ck_assert_uint_eq(st.entries, 2); /* msg-3 of A, and B's partition still holds its msg-1 */
    gw_replay_guard_free(g);
}
END_TEST

START_TEST(client_and_id_boundary_is_not_ambiguous)
{
    gw_replay_guard *g = gw_replay_guard_new(60, 1000);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gw_replay_guard_check(g, "ab", "c", 0), GW_OK);
    ck_assert_int_eq(gw_replay_guard_check(g, "a", "bc", 0), GW_OK);
    gw_replay_guard_free(g);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
    ck_assert_ptr_null(gw_replay_guard_new(0, 10));
    ck_assert_ptr_null(gw_replay_guard_new(GW_REPLAY_MAX_WINDOW_S + 1, 10));
    ck_assert_ptr_null(gw_replay_guard_new(60, 0));
    ck_assert_ptr_null(gw_replay_guard_new(60, (size_t)GW_REPLAY_MAX_ENTRIES_LIMIT + 1));
    gw_replay_guard *g = gw_replay_guard_new(60, 10);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gw_replay_guard_check(g, NULL, "m", 0), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_replay_guard_check(g, "", "m", 0), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, NULL, 0), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "", 0), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_replay_guard_check(NULL, CLIENT_A, "m", 0), GW_ERR_INVALID_ARG);
    gw_replay_guard_free(g);
}
END_TEST

START_TEST(full_table_evicts_the_oldest_and_counts_it)
{
    /* Below 2048 entries the table is one shard holding exactly max_entries. */
    gw_replay_guard *g = gw_replay_guard_new(100, 4);
    ck_assert_ptr_nonnull(g);
    char id[32];
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "m%d", i);
        ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, id, i * SEC), GW_OK);
    }
    gw_replay_guard_stats st;
    gw_replay_guard_stats_get(g, &st);
    ck_assert_uint_eq(st.capacity, 4);
    ck_assert_uint_eq(st.entries, 4);
    ck_assert_uint_eq(st.shards, 1);

    /* A fifth id at t=10 s pushes out m0, first seen 10 s earlier. */
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "m4", 10 * SEC), GW_OK);
    gw_replay_guard_stats_get(g, &st);
    ck_assert_uint_eq(st.evicted, 1);
    ck_assert_int_eq(st.last_evicted_age_us, 10 * SEC);
    ck_assert_uint_eq(st.entries, 4);
    for (int i = 1; i <= 4; i++) {
        snprintf(id, sizeof id, "m%d", i);
        ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, id, 11 * SEC), GW_ERR_REPLAY);
    }
    /* The documented cost of evicting: m0 is forgotten within its window (and m1 goes now). */
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "m0", 12 * SEC), GW_OK);
    gw_replay_guard_stats_get(g, &st);
    ck_assert_uint_eq(st.evicted, 2);
    ck_assert_int_eq(st.last_evicted_age_us, 11 * SEC);
    gw_replay_guard_free(g);
}
END_TEST

START_TEST(expired_entries_make_room_before_any_eviction)
{
    gw_replay_guard *g = gw_replay_guard_new(10, 4);
    ck_assert_ptr_nonnull(g);
    char id[32];
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "old%d", i);
        ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, id, 0), GW_OK);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "new%d", i);
        ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, id, 10 * SEC), GW_OK);
    }
    gw_replay_guard_stats st;
    gw_replay_guard_stats_get(g, &st);
    ck_assert_uint_eq(st.evicted, 0);
    ck_assert_uint_eq(st.expired, 4);
    ck_assert_uint_eq(st.entries, 4);
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "new%d", i);
        ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, id, 15 * SEC), GW_ERR_REPLAY);
    }
    gw_replay_guard_free(g);
}
END_TEST

#define THREADS 8
#define IDS_PER_THREAD 10000

typedef struct worker_arg {
    gw_replay_guard *g;
    int thread;
    int first_pass_failures;
    int second_pass_misses;
    pthread_barrier_t *between_passes;
} worker_arg;

static void *distinct_ids_worker(void *p)
{
    worker_arg *a = p;
    char client[16], id[32];
    snprintf(client, sizeof client, "2010007097%d", a->thread);
    for (int i = 0; i < IDS_PER_THREAD; i++) {
        snprintf(id, sizeof id, "%d-%d", a->thread, i);
        if (gw_replay_guard_check(a->g, client, id, SEC + i) != GW_OK)
            a->first_pass_failures++;
    }
    pthread_barrier_wait(a->between_passes);
    for (int i = 0; i < IDS_PER_THREAD; i++) {
        snprintf(id, sizeof id, "%d-%d", a->thread, i);
        if (gw_replay_guard_check(a->g, client, id, 2 * SEC + i) != GW_ERR_REPLAY)
            a->second_pass_misses++;
    }
    return NULL;
}

START_TEST(concurrent_distinct_ids_are_all_kept_below_capacity)
{
    gw_replay_guard *g = gw_replay_guard_new(300, THREADS * IDS_PER_THREAD);
    ck_assert_ptr_nonnull(g);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    pthread_t threads[THREADS];
    worker_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (worker_arg){.g = g, .thread = t, .between_passes = &barrier};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, distinct_ids_worker, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        ck_assert_int_eq(args[t].first_pass_failures, 0);
        ck_assert_int_eq(args[t].second_pass_misses, 0);
    }
    pthread_barrier_destroy(&barrier);
    gw_replay_guard_stats st;
    gw_replay_guard_stats_get(g, &st);
    ck_assert_uint_eq(st.accepted, THREADS * IDS_PER_THREAD);
    ck_assert_uint_eq(st.replayed, THREADS * IDS_PER_THREAD);
    ck_assert_uint_eq(st.evicted, 0);
    ck_assert_uint_eq(st.shards, THREADS); /* one partition per client */
    ck_assert_uint_ge(st.capacity, THREADS * IDS_PER_THREAD);
    gw_replay_guard_free(g);
}
END_TEST

#define RACED_IDS 2000
static atomic_int raced_accepts[RACED_IDS];

static void *same_ids_worker(void *p)
{
    gw_replay_guard *g = p;
    char id[32];
    for (int i = 0; i < RACED_IDS; i++) {
        snprintf(id, sizeof id, "race-%d", i);
        if (gw_replay_guard_check(g, CLIENT_A, id, SEC) == GW_OK)
            atomic_fetch_add(&raced_accepts[i], 1);
    }
    return NULL;
}

START_TEST(racing_threads_accept_each_id_exactly_once)
{
    gw_replay_guard *g = gw_replay_guard_new(300, 100000);
    ck_assert_ptr_nonnull(g);
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&threads[t], NULL, same_ids_worker, g), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    for (int i = 0; i < RACED_IDS; i++)
        ck_assert_int_eq(atomic_load(&raced_accepts[i]), 1);
    gw_replay_guard_free(g);
}
END_TEST

/* Issue 8 item 10: with rate limits off, member A flooding fresh ids must not evict member B's
 * entries (before, the shared table dropped the oldest entries whoever they belonged to). */
START_TEST(one_member_flooding_cannot_evict_another_members_entries)
{
    gw_replay_guard *g = gw_replay_guard_new(600, 1000);
    ck_assert_ptr_nonnull(g);
    char id[32];
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "b-%d", i);
        ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_B, id, 0), GW_OK);
    }
    for (int i = 0; i < 100000; i++) {
        snprintf(id, sizeof id, "flood-%d", i);
        ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, id, SEC + i), GW_OK);
    }
    gw_replay_guard_stats st;
    gw_replay_guard_stats_get(g, &st);
    ck_assert_uint_gt(st.evicted, 0);                  /* A evicted its own */
    ck_assert_uint_le(st.entries, 2 * 1000 + 2 * GW_REPLAY_PARTITION_FLOOR); /* memory bound */
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "b-%d", i);
        ck_assert_msg(gw_replay_guard_check(g, CLIENT_B, id, 200 * SEC) == GW_ERR_REPLAY,
                      "member B's %s was evicted by member A's flood", id);
    }
    /* B can still hold its fair share (1000 / 2 members) while A keeps flooding. */
    for (int i = 100; i < 450; i++) {
        snprintf(id, sizeof id, "b-%d", i);
        ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_B, id, 201 * SEC), GW_OK);
        snprintf(id, sizeof id, "flood2-%d", i);
        ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, id, 201 * SEC), GW_OK);
    }
    for (int i = 0; i < 450; i++) {
        snprintf(id, sizeof id, "b-%d", i);
        ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_B, id, 202 * SEC), GW_ERR_REPLAY);
    }
    /* A's most recent ids are still remembered: the flood protects A no worse than before. */
    ck_assert_int_eq(gw_replay_guard_check(g, CLIENT_A, "flood2-449", 203 * SEC), GW_ERR_REPLAY);
    gw_replay_guard_free(g);
}
END_TEST

/* Many distinct clients: every one keeps its entries; those beyond the partition limit share one. */
START_TEST(many_clients_each_keep_their_entries)
{
    gw_replay_guard *g = gw_replay_guard_new(600, 100000);
    ck_assert_ptr_nonnull(g);
    char client[32];
    for (unsigned c = 0; c < GW_REPLAY_MAX_PARTITIONS + 10; c++) {
        snprintf(client, sizeof client, "2%010u", c);
        ck_assert_int_eq(gw_replay_guard_check(g, client, "m", SEC), GW_OK);
    }
    for (unsigned c = 0; c < GW_REPLAY_MAX_PARTITIONS + 10; c++) {
        snprintf(client, sizeof client, "2%010u", c);
        ck_assert_int_eq(gw_replay_guard_check(g, client, "m", 2 * SEC), GW_ERR_REPLAY);
    }
    gw_replay_guard_stats st;
    gw_replay_guard_stats_get(g, &st);
    ck_assert_uint_eq(st.shards, GW_REPLAY_MAX_PARTITIONS + 1);
    gw_replay_guard_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("replay_guard");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, second_use_within_window_is_a_replay_until_the_window_ends);
    tcase_add_test(tc, client_and_id_boundary_is_not_ambiguous);
    tcase_add_test(tc, forgotten_id_is_accepted_again);
    tcase_add_test(tc, bad_arguments_are_refused);
    tcase_add_test(tc, full_table_evicts_the_oldest_and_counts_it);
    tcase_add_test(tc, expired_entries_make_room_before_any_eviction);
    tcase_add_test(tc, concurrent_distinct_ids_are_all_kept_below_capacity);
    tcase_add_test(tc, racing_threads_accept_each_id_exactly_once);
    tcase_add_test(tc, one_member_flooding_cannot_evict_another_members_entries);
    tcase_add_test(tc, many_clients_each_keep_their_entries);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
