/*
 * check_replay_store.c — the replay window shared by gateway nodes (gateway/replay_store.c,
 * migration 0010) against a real PostgreSQL: two stores stand for two nodes on one database.
 * An id seen by one is refused by the other; the same id from two members passes for both; an
 * id of the maximal length (128 characters) and one far longer are told apart from their
 * prefixes; an expired id is accepted again (its row reused, not duplicated); identical ids
 * sent at once from many threads through both stores pass exactly once; expired rows are
 * purged; many threads share a bounded pool of sessions; a backend killed under the pool is
 * replaced transparently; no database gives
 * GW_ERR_DATABASE with a clear message and no password; bad arguments are refused.
 * ctest-fixtures: postgres
 *
 * The cluster is shared with other suites: every test uses members tagged with this process's
 * pid and a random suffix, and counts only its own rows.
 */
#include <arpa/inet.h>
#include <check.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_run.h"
#include "replay_store.h"

static char *read_trimmed(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s (is the postgres fixture running?)", path);
    static char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    return strdup(buf);
}

static char *conninfo;
static char *password;

static void load_fixture(void)
{
    const char *file = getenv("PIDE_TEST_PG_CONNINFO_FILE");
    ck_assert_msg(file != NULL, "PIDE_TEST_PG_CONNINFO_FILE is not set (run through ctest)");
    conninfo = read_trimmed(file);
    char pw_path[4096];
    snprintf(pw_path, sizeof pw_path, "%s", file);
    char *slash = strrchr(pw_path, '/');
    snprintf(slash ? slash + 1 : pw_path,
             sizeof pw_path - (size_t)(slash ? slash + 1 - pw_path : 0), "gateway.password");
    password = read_trimmed(pw_path);
}

static void unload_fixture(void)
{
    free(conninfo);
    free(password);
}

static PGconn *gateway_session(void)
{
    const char *keys[] = {"dbname", "password", NULL};
    const char *values[] = {conninfo, password, NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

/* A store ("node") on the fixture's database; extra: conninfo keywords added. */
static gw_replay_store *open_store(unsigned window_s, const char *extra)
{
    char ci[2048], err[512];
    snprintf(ci, sizeof ci, "%s %s", conninfo, extra ? extra : "");
    gw_replay_store_options o = {.conninfo = ci,
                                 .password = password,
                                 .window_s = window_s,
                                 .timeout_ms = 5000,
                                 .max_sessions = 4};
    gw_replay_store *s = NULL;
    gw_status st = gw_replay_store_open(&o, &s, err, sizeof err);
    ck_assert_msg(st == GW_OK, "open: %s", err);
    return s;
}

/* A member name no other test or suite uses. */
static void new_member(char *out, size_t n)
{
    unsigned char r[6];
    ck_assert_int_eq(RAND_bytes(r, sizeof r), 1);
    snprintf(out, n, "check-replay-%d-%02x%02x%02x%02x%02x%02x", (int)getpid(), r[0], r[1], r[2],
             r[3], r[4], r[5]);
}

static long rows_of(const char *member)
{
    PGconn *c = gateway_session();
    const char *v[1] = {member};
    PGresult *res = PQexecParams(c, "SELECT count(*) FROM public.replay_seen WHERE member = $1", 1,
                                 NULL, v, NULL, NULL, 0);
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(c);
    return n;
}

static gw_status check(gw_replay_store *s, const char *member, const char *id)
{
    char err[512];
    gw_status st = gw_replay_store_check(s, member, id, err, sizeof err);
    ck_assert_msg(st == GW_OK || st == GW_ERR_REPLAY, "check: %s", err);
    return st;
}

START_TEST(test_id_seen_by_one_node_is_refused_by_the_other)
{
    gw_replay_store *node1 = open_store(600, NULL), *node2 = open_store(600, NULL);
    char m[64];
    new_member(m, sizeof m);
    ck_assert_int_eq(check(node1, m, "msg-0001"), GW_OK);
    ck_assert_int_eq(check(node2, m, "msg-0001"), GW_ERR_REPLAY);
    ck_assert_int_eq(check(node1, m, "msg-0001"), GW_ERR_REPLAY);
    ck_assert_int_eq(check(node2, m, "msg-0002"), GW_OK);
    ck_assert_int_eq(check(node1, m, "msg-0002"), GW_ERR_REPLAY);
    ck_assert_int_eq(rows_of(m), 2);
    gw_replay_store_stats st;
    gw_replay_store_stats_get(node1, &st);
    ck_assert_uint_eq(st.accepted, 1);
    ck_assert_uint_eq(st.replayed, 2);
    ck_assert_uint_eq(st.failures, 0);
    gw_replay_store_close(node1);
    gw_replay_store_close(node2);
}
END_TEST

START_TEST(test_same_id_from_two_members_passes_for_both)
{
    gw_replay_store *node1 = open_store(600, NULL), *node2 = open_store(600, NULL);
    char a[64], b[64];
    new_member(a, sizeof a);
    new_member(b, sizeof b);
    ck_assert_int_eq(check(node1, a, "shared-id"), GW_OK);
    ck_assert_int_eq(check(node2, b, "shared-id"), GW_OK);
    ck_assert_int_eq(check(node2, a, "shared-id"), GW_ERR_REPLAY);
    ck_assert_int_eq(check(node1, b, "shared-id"), GW_ERR_REPLAY);
    gw_replay_store_close(node1);
    gw_replay_store_close(node2);
}
END_TEST

START_TEST(test_maximal_and_oversized_ids_are_told_apart)
{
    gw_replay_store *s = open_store(600, NULL);
    char m[64];
    new_member(m, sizeof m);
    /* pgw:id allows 128 characters (gateway_header.h); the store takes any length (digest). */
    char id128[129], id128b[129], huge[70000];
    memset(id128, 'x', 128);
    id128[128] = '\0';
    memcpy(id128b, id128, sizeof id128b);
    id128b[127] = 'y';
    memset(huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    ck_assert_int_eq(check(s, m, id128), GW_OK);
    ck_assert_int_eq(check(s, m, id128b), GW_OK);
    ck_assert_int_eq(check(s, m, huge), GW_OK);
    ck_assert_int_eq(check(s, m, id128), GW_ERR_REPLAY);
    ck_assert_int_eq(check(s, m, huge), GW_ERR_REPLAY);
    /* The "wss:" key space of signed requests is apart from caller-chosen ids. */
    ck_assert_int_eq(check(s, m, "wss:abc"), GW_OK);
    ck_assert_int_eq(check(s, m, "abc"), GW_OK);
    gw_replay_store_close(s);
}
END_TEST

START_TEST(test_bad_arguments_are_refused)
{
    gw_replay_store *s = open_store(600, NULL);
    char err[256], member[300];
    memset(member, 'm', 257);
    member[257] = '\0';
    ck_assert_int_eq(gw_replay_store_check(s, "", "id", err, sizeof err), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_replay_store_check(s, "m", "", err, sizeof err), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_replay_store_check(s, NULL, "id", err, sizeof err), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_replay_store_check(s, member, "id", err, sizeof err), GW_ERR_INVALID_ARG);
    member[256] = '\0'; /* 256 bytes: the table's limit, accepted */
    ck_assert_int_eq(gw_replay_store_check(s, member, "id", err, sizeof err) != GW_ERR_INVALID_ARG,
                     1);
    gw_replay_store_options o = {.conninfo = conninfo, .password = password, .window_s = 0};
    gw_replay_store *bad = NULL;
    ck_assert_int_eq(gw_replay_store_open(&o, &bad, err, sizeof err), GW_ERR_INVALID_ARG);
    ck_assert_ptr_null(bad);
    gw_replay_store_close(s);
}
END_TEST

START_TEST(test_expired_id_is_accepted_again_and_its_row_reused)
{
    gw_replay_store *node1 = open_store(1, NULL), *node2 = open_store(1, NULL);
    char m[64];
    new_member(m, sizeof m);
    ck_assert_int_eq(check(node1, m, "short-lived"), GW_OK);
    ck_assert_int_eq(check(node2, m, "short-lived"), GW_ERR_REPLAY);
    usleep(1300 * 1000);
    ck_assert_int_eq(check(node2, m, "short-lived"), GW_OK);
    ck_assert_int_eq(check(node1, m, "short-lived"), GW_ERR_REPLAY);
    ck_assert_int_eq(rows_of(m), 1);
    gw_replay_store_close(node1);
    gw_replay_store_close(node2);
}
END_TEST

#define RACERS 16
typedef struct racer {
    gw_replay_store *store;
    const char *member, *id;
    pthread_barrier_t *start;
    gw_status result;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    char err[256];
    pthread_barrier_wait(r->start);
    r->result = gw_replay_store_check(r->store, r->member, r->id, err, sizeof err);
    return NULL;
}

START_TEST(test_identical_ids_at_once_on_both_nodes_pass_exactly_once)
{
    gw_replay_store *nodes[2] = {open_store(600, NULL), open_store(600, NULL)};
    for (int round = 0; round < 5; round++) {
        char m[64], id[32];
        new_member(m, sizeof m);
        snprintf(id, sizeof id, "race-%d", round);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, RACERS);
        racer r[RACERS];
        pthread_t t[RACERS];
        for (int i = 0; i < RACERS; i++) {
            r[i] = (racer){.store = nodes[i % 2], .member = m, .id = id, .start = &start};
            ck_assert_int_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
        }
        int passed = 0, refused = 0;
        for (int i = 0; i < RACERS; i++) {
            pthread_join(t[i], NULL);
            passed += r[i].result == GW_OK;
            refused += r[i].result == GW_ERR_REPLAY;
        }
        pthread_barrier_destroy(&start);
        ck_assert_int_eq(passed, 1);
        ck_assert_int_eq(refused, RACERS - 1);
        ck_assert_int_eq(rows_of(m), 1);
    }
    /* 8 threads per store at once, yet no more sessions than the pool's bound (4). */
    for (int n = 0; n < 2; n++) {
        gw_replay_store_stats st;
        gw_replay_store_stats_get(nodes[n], &st);
        ck_assert_uint_le(st.connects, 4);
        ck_assert_uint_eq(st.failures, 0);
    }
    gw_replay_store_close(nodes[0]);
    gw_replay_store_close(nodes[1]);
}
END_TEST

START_TEST(test_expired_rows_are_purged)
{
    gw_replay_store *s = open_store(1, NULL);
    char m[64], id[32], err[256];
    new_member(m, sizeof m);
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof id, "purge-%d", i);
        ck_assert_int_eq(check(s, m, id), GW_OK);
    }
    ck_assert_int_eq(rows_of(m), 50);
    usleep(1300 * 1000);
    /* Other suites' expired rows may go first: purge until ours are gone (bounded). */
    for (int i = 0; i < 100 && rows_of(m) > 0; i++) {
        unsigned deleted = 0;
        ck_assert_int_eq(gw_replay_store_purge(s, &deleted, err, sizeof err), GW_OK);
        ck_assert_uint_le(deleted, GW_REPLAY_STORE_PURGE_BATCH);
    }
    ck_assert_int_eq(rows_of(m), 0);
    gw_replay_store_stats st;
    gw_replay_store_stats_get(s, &st);
    ck_assert_uint_ge(st.purged, 50);
    gw_replay_store_close(s);
}
END_TEST

START_TEST(test_killed_backend_is_replaced_transparently)
{
    char app[64], extra[96], m[64];
    snprintf(app, sizeof app, "check-replay-store-%d", (int)getpid());
    snprintf(extra, sizeof extra, "application_name=%s", app);
    gw_replay_store *s = open_store(600, extra);
    new_member(m, sizeof m);
    ck_assert_int_eq(check(s, m, "before"), GW_OK);
    PGconn *c = gateway_session();
    const char *v[1] = {app};
    PGresult *res = PQexecParams(c,
                                 "SELECT count(pg_terminate_backend(pid, 5000)) FROM "
                                 "pg_stat_activity WHERE application_name = $1",
                                 1, NULL, v, NULL, NULL, 0);
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    ck_assert_int_ge(strtol(PQgetvalue(res, 0, 0), NULL, 10), 1);
    PQclear(res);
    PQfinish(c);
    ck_assert_int_eq(check(s, m, "after"), GW_OK);
    ck_assert_int_eq(check(s, m, "before"), GW_ERR_REPLAY);
    gw_replay_store_stats st;
    gw_replay_store_stats_get(s, &st);
    ck_assert_uint_ge(st.connects, 2);
    ck_assert_uint_eq(st.failures, 0);
    gw_replay_store_close(s);
}
END_TEST

static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

START_TEST(test_no_database_fails_clearly_without_the_password)
{
    char ci[2048], err[512];
    snprintf(ci, sizeof ci, "%s port=%d", conninfo, unused_port());
    gw_replay_store_options o = {
        .conninfo = ci, .password = password, .window_s = 600, .timeout_ms = 2000};
    gw_replay_store *s = (gw_replay_store *)&o;
    ck_assert_int_eq(gw_replay_store_open(&o, &s, err, sizeof err), GW_ERR_DATABASE);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "cannot connect") != NULL, "%s", err);
    ck_assert_msg(strstr(err, password) == NULL, "the error shows the password");
}
END_TEST

/* Started without the database (the log's spool is on): open succeeds, every check fails
 * closed (GW_ERR_DATABASE, never GW_OK) and says why without the password; a database that
 * answers but lacks the table still refuses the open. */
START_TEST(test_start_without_database_fails_closed)
{
    char ci[2048], err[512];
    snprintf(ci, sizeof ci, "%s port=%d", conninfo, unused_port());
    gw_replay_store_options o = {.conninfo = ci,
                                 .password = password,
                                 .window_s = 600,
                                 .timeout_ms = 2000,
                                 .start_without_db = 1};
    gw_replay_store *s = NULL;
    ck_assert_int_eq(gw_replay_store_open(&o, &s, err, sizeof err), GW_OK);
    ck_assert_ptr_nonnull(s);
    for (int i = 0; i < 3; i++) {
        err[0] = '\0';
        ck_assert_int_eq(gw_replay_store_check(s, "20000000001", "cold-1", err, sizeof err),
                         GW_ERR_DATABASE);
        ck_assert_msg(strstr(err, "cannot connect") != NULL, "%s", err);
        ck_assert_msg(strstr(err, password) == NULL, "the error shows the password");
    }
    gw_replay_store_close(s);
    /* A reachable database with the wrong password is not an outage. */
    o.conninfo = conninfo;
    o.password = "not-the-password";
    s = NULL;
    ck_assert_int_eq(gw_replay_store_open(&o, &s, err, sizeof err), GW_ERR_DATABASE);
    ck_assert_ptr_null(s);
}
END_TEST

static Suite *replay_store_suite(void)
{
    Suite *s = suite_create("replay_store");
    TCase *tc = tcase_create("postgres");
    tcase_add_checked_fixture(tc, load_fixture, unload_fixture);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_id_seen_by_one_node_is_refused_by_the_other);
    tcase_add_test(tc, test_same_id_from_two_members_passes_for_both);
    tcase_add_test(tc, test_maximal_and_oversized_ids_are_told_apart);
    tcase_add_test(tc, test_bad_arguments_are_refused);
    tcase_add_test(tc, test_expired_id_is_accepted_again_and_its_row_reused);
    tcase_add_test(tc, test_identical_ids_at_once_on_both_nodes_pass_exactly_once);
    tcase_add_test(tc, test_expired_rows_are_purged);
    tcase_add_test(tc, test_killed_backend_is_replaced_transparently);
    tcase_add_test(tc, test_no_database_fails_clearly_without_the_password);
    tcase_add_test(tc, test_start_without_database_fails_closed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run_suite(replay_store_suite()); }
