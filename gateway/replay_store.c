/*
 * replay_store.c — the shared replay window in PostgreSQL (replay_store.h, migration 0010):
 * a pool of lazily opened sessions, each pinned (search_path) and with the check prepared, so
 * one exchange costs one round trip; expired rows are purged in small batches on the side.
 */
#include "replay_store.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "exchange_log.h"
#include "log.h"
#include "replay_guard.h"

#define DIGEST_LEN 32
#define MAX_MEMBER_BYTES 256
#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_MAX_SESSIONS 8
#define CHECK_STMT "pide_replay_check"

/* One row back: first sighting (or an expired row reused). None: a live row is there. The
 * operators are pg_catalog's and objects are named by schema (docs/security.md). */
static const char CHECK_SQL[] =
    "INSERT INTO public.replay_seen AS r (member, id_digest, expires) "
    "VALUES ($1::pg_catalog.text, $2::pg_catalog.bytea, pg_catalog.now() OPERATOR(pg_catalog.+) "
    "pg_catalog.make_interval(secs => $3::pg_catalog.float8)) "
    "ON CONFLICT (member, id_digest) DO UPDATE SET expires = EXCLUDED.expires "
    "WHERE r.expires OPERATOR(pg_catalog.<=) pg_catalog.now() RETURNING 1";

/* ctid of a few expired rows, deleted in one statement: short, bounded work each time. */
static const char PURGE_SQL[] =
    "DELETE FROM public.replay_seen WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
    "SELECT ctid FROM public.replay_seen WHERE expires OPERATOR(pg_catalog.<=) pg_catalog.now() "
    "LIMIT $1::pg_catalog.int4))";

/* Usable at start-up: the table exists and this role may insert and update it. */
static const char PROBE_SQL[] =
    "SELECT pg_catalog.has_table_privilege('public.replay_seen', 'INSERT') AND "
    "pg_catalog.has_column_privilege('public.replay_seen', 'expires', 'UPDATE') AND "
    "pg_catalog.has_table_privilege('public.replay_seen', 'DELETE')";

struct gw_replay_store {
    atomic_bool connect_failed; /* the last session_open failed to connect (read at open) */
    char *conninfo;
    char *password;
    unsigned window_s;
    int timeout_ms;
    size_t max_sessions;
    pthread_mutex_t lock;
    pthread_cond_t given_back;
    PGconn **idle; /* max_sessions slots */
    size_t idle_count;
    size_t open_count; /* sessions existing (idle or in use) or being opened */
    atomic_int_fast64_t next_purge_us;
    atomic_uint_fast64_t accepted, replayed, failures, purged, connects;
};

static void copy_db_error(PGconn *conn, const char *what, char *err, size_t errlen)
{
    const char *msg = conn ? PQerrorMessage(conn) : "out of memory";
    size_t n = strcspn(msg, "\n");
    gw_set_error(err, errlen, "replay store: %s: %.*s", what, (int)n, *msg ? msg : "no detail");
}

/* A session was closed or never opened: room for another. */
static void session_lost(gw_replay_store *s)
{
    pthread_mutex_lock(&s->lock);
    s->open_count--;
    pthread_cond_signal(&s->given_back);
    pthread_mutex_unlock(&s->lock);
}

/* A new session: pinned search_path, asynchronous commit, bounded statements, CHECK_STMT ready. */
static PGconn *session_open(gw_replay_store *s, char *err, size_t errlen)
{
    char connect_s[16], user_timeout_ms[16];
    snprintf(connect_s, sizeof connect_s, "%d", s->timeout_ms / 1000 + 1);
    snprintf(user_timeout_ms, sizeof user_timeout_ms, "%d", s->timeout_ms);
    /* As exchange_log.c: our defaults first, the operator's conninfo may override them, the
     * password file's password wins. */
    const char *keys[] = {"application_name", "connect_timeout",
                          "keepalives_idle",  "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout",
                          "dbname",           "client_encoding",
                          "password",         NULL};
    const char *values[] = {"pide-gateway-replay", connect_s,   "5",    "2",         "3",
                            user_timeout_ms,       s->conninfo, "UTF8", s->password, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    atomic_store(&s->connect_failed, false);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        atomic_store(&s->connect_failed, conn != NULL);
        copy_db_error(conn, "cannot connect", err, errlen);
        goto fail;
    }
    char setup[256];
    snprintf(setup, sizeof setup,
             GW_LOG_PIN_SEARCH_PATH_SQL
             "; SET synchronous_commit = off; SET statement_timeout = %d",
             s->timeout_ms);
    PGresult *res = PQexec(conn, setup);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        copy_db_error(conn, "cannot set up the session", err, errlen);
        goto fail;
    }
    res = PQprepare(conn, CHECK_STMT, CHECK_SQL, 3, NULL);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        copy_db_error(conn, "cannot prepare the check (is migration 0010 applied?)", err, errlen);
        goto fail;
    }
    atomic_fetch_add(&s->connects, 1);
    return conn;
fail:
    PQfinish(conn);
    return NULL;
}

/* An idle session, or a new one while fewer than max_sessions exist, or the next one given
 * back within the timeout; NULL (err set) otherwise. */
static PGconn *session_take(gw_replay_store *s, char *err, size_t errlen)
{
    PGconn *conn = NULL;
    int open_new = 0;
    struct timespec deadline = gw_monotonic_deadline_ms(s->timeout_ms);
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (s->idle_count > 0) {
            conn = s->idle[--s->idle_count];
            break;
        }
        if (s->open_count < s->max_sessions) {
            s->open_count++;
            open_new = 1;
            break;
        }
        if (pthread_cond_timedwait(&s->given_back, &s->lock, &deadline) != 0)
            break;
    }
    pthread_mutex_unlock(&s->lock);
    if (open_new && !(conn = session_open(s, err, errlen)))
        session_lost(s);
    else if (!conn && !open_new)
        gw_set_error(err, errlen, "replay store: all %zu sessions busy for %d ms", s->max_sessions,
                     s->timeout_ms);
    return conn;
}

/* Back to the pool when healthy, closed (making room for a new one) otherwise. */
static void session_give(gw_replay_store *s, PGconn *conn)
{
    if (!conn)
        return;
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE) {
        pthread_mutex_lock(&s->lock);
        s->idle[s->idle_count++] = conn;
        pthread_cond_signal(&s->given_back);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    PQfinish(conn);
    session_lost(s);
}

/* An outage (the server down, starting or stopping), not a server that is up and refuses us
 * (password, role, database: a configuration error)? PQpingParams does not log in. */
static bool server_is_down(const gw_replay_store *s)
{
    char connect_s[16];
    snprintf(connect_s, sizeof connect_s, "%d", s->timeout_ms / 1000 + 1);
    const char *keys[] = {"connect_timeout", "dbname", NULL};
    const char *values[] = {connect_s, s->conninfo, NULL};
    PGPing p = PQpingParams(keys, values, 1);
    return p == PQPING_REJECT || p == PQPING_NO_RESPONSE;
}

gw_status gw_replay_store_open(const gw_replay_store_options *opt, gw_replay_store **out, char *err,
                               size_t errlen)
{
    gw_status st = GW_ERR_INVALID_ARG;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    *out = NULL;
    if (!opt || !opt->conninfo || opt->window_s == 0 || opt->window_s > GW_REPLAY_MAX_WINDOW_S) {
        gw_set_error(err, errlen, "replay store: bad options");
        return GW_ERR_INVALID_ARG;
    }
    gw_replay_store *s = calloc(1, sizeof *s);
    if (!s) {
        gw_set_error(err, errlen, "replay store: out of memory");
        return GW_ERR_NOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t mono; /* waits time out on the monotonic clock (clock.h) */
    pthread_condattr_init(&mono);
    pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
    pthread_cond_init(&s->given_back, &mono);
    pthread_condattr_destroy(&mono);
    s->window_s = opt->window_s;
    s->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : DEFAULT_TIMEOUT_MS;
    s->max_sessions = opt->max_sessions > 0 ? opt->max_sessions : DEFAULT_MAX_SESSIONS;
    s->conninfo = strdup(opt->conninfo);
    s->password = opt->password ? strdup(opt->password) : NULL;
    s->idle = calloc(s->max_sessions, sizeof *s->idle);
    if (!s->conninfo || (opt->password && !s->password) || !s->idle) {
        st = GW_ERR_NOMEM;
        gw_set_error(err, errlen, "replay store: out of memory");
        goto fail;
    }
    atomic_init(&s->next_purge_us, 0);
    if (!(conn = session_take(s, err, errlen))) {
        if (atomic_load(&s->connect_failed) && opt->start_without_db && server_is_down(s)) {
            gw_log(PIDE_LOG_WARN,
                   "%s; starting anyway (the spool is on): the shared replay window cannot be "
                   "checked, so every exchange that needs it is refused (Server.LogUnavailable) "
                   "until PostgreSQL answers",
                   err);
            err[0] = '\0';
            *out = s;
            return GW_OK;
        }
        st = GW_ERR_DATABASE;
        goto fail;
    }
    res = PQexec(conn, PROBE_SQL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
        strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        st = GW_ERR_DATABASE;
        gw_set_error(err, errlen,
                     "replay store: this role may not insert, update (expires) and "
                     "delete public.replay_seen (migration 0010)");
        goto fail;
    }
    PQclear(res);
    session_give(s, conn);
    *out = s;
    return GW_OK;
fail:
    PQclear(res);
    if (conn) {
        PQfinish(conn);
        session_lost(s);
    }
    gw_replay_store_close(s);
    return st;
}

void gw_replay_store_close(gw_replay_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->idle_count; i++)
        PQfinish(s->idle[i]);
    free(s->idle);
    free(s->conninfo);
    if (s->password) {
        OPENSSL_cleanse(s->password, strlen(s->password));
        free(s->password);
    }
    pthread_cond_destroy(&s->given_back);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* 1 recorded, 0 replay, -1 no answer on this connection. */
static int run_check(gw_replay_store *s, PGconn *conn, const char *member,
                     const unsigned char digest[DIGEST_LEN])
{
    char window[16];
    snprintf(window, sizeof window, "%u", s->window_s);
    const char *values[3] = {member, (const char *)digest, window};
    const int lengths[3] = {0, DIGEST_LEN, 0};
    const int formats[3] = {0, 1, 0};
    PGresult *res = PQexecPrepared(conn, CHECK_STMT, 3, values, lengths, formats, 0);
    int answer = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) == 1 : -1;
    PQclear(res);
    return answer;
}

static gw_status purge_on(gw_replay_store *s, PGconn *conn, unsigned *deleted, char *err,
                          size_t errlen)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%u", GW_REPLAY_STORE_PURGE_BATCH);
    const char *values[1] = {limit};
    PGresult *res = PQexecParams(conn, PURGE_SQL, 1, NULL, values, NULL, NULL, 0);
    gw_status st = GW_OK;
    *deleted = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        copy_db_error(conn, "purge failed", err, errlen);
        st = GW_ERR_DATABASE;
    } else {
        *deleted = (unsigned)strtoul(PQcmdTuples(res), NULL, 10);
        atomic_fetch_add(&s->purged, *deleted);
    }
    PQclear(res);
    return st;
}

/* One caller at a time wins the purge turn; a full batch leaves the turn open for the next. */
static void maybe_purge(gw_replay_store *s, PGconn *conn)
{
    int64_t now = gw_monotonic_us();
    int_fast64_t due = atomic_load(&s->next_purge_us);
    if (now < due || !atomic_compare_exchange_strong(&s->next_purge_us, &due,
                                                     now + GW_REPLAY_STORE_PURGE_INTERVAL_US))
        return;
    unsigned deleted = 0;
    char ignored[8];
    if (purge_on(s, conn, &deleted, ignored, sizeof ignored) == GW_OK &&
        deleted == GW_REPLAY_STORE_PURGE_BATCH)
        atomic_store(&s->next_purge_us, 0);
}

gw_status gw_replay_store_check(gw_replay_store *s, const char *member, const char *message_id,
                                char *err, size_t errlen)
{
    if (!s || !member || !*member || !message_id || !*message_id ||
        strlen(member) > MAX_MEMBER_BYTES) {
        gw_set_error(err, errlen, "replay store: no member or message id");
        return GW_ERR_INVALID_ARG;
    }
    unsigned char digest[DIGEST_LEN];
    unsigned int dlen = 0;
    if (!EVP_Digest(message_id, strlen(message_id), digest, &dlen, EVP_sha256(), NULL) ||
        dlen != DIGEST_LEN) {
        gw_set_error(err, errlen, "replay store: cannot hash the message id");
        return GW_ERR_INTERNAL;
    }
    /* A pooled session may have died since (database restart): one retry on a fresh one. */
    gw_status st = GW_ERR_DATABASE;
    for (int attempt = 0; attempt < 2; attempt++) {
        PGconn *conn = session_take(s, err, errlen);
        if (!conn)
            break;
        int answer = run_check(s, conn, member, digest);
        if (answer >= 0) {
            st = answer ? GW_OK : GW_ERR_REPLAY;
            maybe_purge(s, conn);
            session_give(s, conn);
            break;
        }
        copy_db_error(conn, "check failed", err, errlen);
        int broken = PQstatus(conn) != CONNECTION_OK;
        PQfinish(conn);
        session_lost(s);
        if (!broken)
            break; /* the statement itself failed (timeout, privileges): no blind retry */
    }
    atomic_fetch_add(st == GW_OK           ? &s->accepted
                     : st == GW_ERR_REPLAY ? &s->replayed
                                           : &s->failures,
                     1);
    return st;
}

gw_status gw_replay_store_purge(gw_replay_store *s, unsigned *deleted, char *err, size_t errlen)
{
    *deleted = 0;
    PGconn *conn = session_take(s, err, errlen);
    if (!conn)
        return GW_ERR_DATABASE;
    gw_status st = purge_on(s, conn, deleted, err, errlen);
    session_give(s, conn);
    return st;
}

void gw_replay_store_stats_get(gw_replay_store *s, gw_replay_store_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    out->accepted = atomic_load(&s->accepted);
    out->replayed = atomic_load(&s->replayed);
    out->failures = atomic_load(&s->failures);
    out->purged = atomic_load(&s->purged);
    out->connects = atomic_load(&s->connects);
}
