/* admin.c — the admin listener: metrics, health, readiness, maintenance (see admin.h). */
#include "admin.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "clock.h"
#include "config.h"
#include "exchange_log.h"
#include "log.h"
#include "metrics.h"
#include "reload.h"
#include "secret_file.h"
#include "server.h"

#define ADMIN_MAX_CONNS 32
#define ADMIN_HEAD_MAX 8192
#define ADMIN_BODY_MAX 1024
#define ADMIN_TIMEOUT_US 5000000
#define ADMIN_TARGET_MAX 1024

typedef struct admin_conn {
    int fd;                        /* -1: free */
    char in[ADMIN_HEAD_MAX + ADMIN_BODY_MAX];
    size_t in_len;
    char *out;
    size_t out_len, out_off;
    int64_t deadline_us;           /* monotonic */
} admin_conn;

struct gw_admin {
    const gw_runtime *rt;  /* the first: restart-only settings, the exchange log */
    gw_live *live;         /* the current snapshot: services, certificates, breakers */
    gw_reloader *reloader; /* POST /reload; NULL: not offered */
    int listen_fd, port, epoll_fd, wake_fd;
    pthread_t thread, prober;
    int thread_started, prober_started;
    atomic_int maintenance, stopping, quit;

    /* the database probe's verdict (prober thread writes, /readyz reads) */
    pthread_mutex_t lock;
    pthread_cond_t cond;           /* CLOCK_MONOTONIC: wakes the prober to stop */
    int db_ok;
    char db_why[96];
    char *db_password;

    admin_conn conns[ADMIN_MAX_CONNS];
};

/* ---- readiness ---- */

static int cert_ok(const char *which, double not_after, int min_days, char *why, size_t whylen)
{
    double now = (double)gw_now_us() / 1e6;
    if (not_after <= 0) {
        snprintf(why, whylen, "%s certificate unreadable", which);
        return 0;
    }
    if (not_after <= now) {
        snprintf(why, whylen, "%s certificate expired", which);
        return 0;
    }
    if (not_after - now < (double)min_days * 86400.0) {
        snprintf(why, whylen, "%s certificate expires in %.0f days (< %d)", which,
                 (not_after - now) / 86400.0, min_days);
        return 0;
    }
    return 1;
}

static const gw_runtime *snapshot_get(gw_admin *a)
{
    return a->live ? gw_live_acquire(a->live) : a->rt;
}

static void snapshot_put(gw_admin *a, const gw_runtime *rt)
{
    if (a->live)
        gw_live_release(a->live, rt);
}

/* Readiness against the configuration snapshot in force (its services and certificates). */
static int readiness(gw_admin *a, const gw_runtime *cur, char *why, size_t whylen)
{
    const gw_config *cfg = cur->config;
    if (atomic_load(&a->stopping)) {
        snprintf(why, whylen, "stopping");
        return 0;
    }
    if (atomic_load(&a->maintenance)) {
        snprintf(why, whylen, "maintenance");
        return 0;
    }
    if (!cur->adapters || cur->catalog.count == 0) {
        snprintf(why, whylen, "adapters not loaded");
        return 0;
    }
    long depth = 0;
    int broken = 0;
    if (a->rt->log)
        gw_exchange_log_state(a->rt->log, &depth, &broken);
    if (!a->rt->log || broken) {
        snprintf(why, whylen, "exchange log chain broken: restart after investigation");
        return 0;
    }
    /* With the spool on, a writable spool stands in for the database (docs/reliability.md). */
    gw_log_spool_state sp;
    int spool_ok = 0, spool_on = 0;
    if (a->rt->log && gw_exchange_log_spool_state(a->rt->log, &sp)) {
        spool_on = 1;
        if (sp.replay_stopped) {
            snprintf(why, whylen, "spool: a corrupt record stopped the replay (operator needed)");
            return 0;
        }
        spool_ok = sp.writable;
    }
    if (gw_metrics_log_is_failing() && !spool_ok) {
        snprintf(why, whylen, "exchange log writer failing");
        return 0;
    }
    pthread_mutex_lock(&a->lock);
    int db_ok = a->db_ok;
    if (!db_ok)
        snprintf(why, whylen, "database: %s%s", a->db_why,
                 spool_on ? "; spool not writable (full or failed)" : "");
    pthread_mutex_unlock(&a->lock);
    if (!db_ok && !spool_ok)
        return 0;
    if (!cert_ok("signing", cur->signing_not_after, cfg->admin_cert_min_days, why, whylen))
        return 0;
    if (cfg->tls_enabled &&
        !cert_ok("TLS", cur->tls_not_after, cfg->admin_cert_min_days, why, whylen))
        return 0;
    snprintf(why, whylen, "ready");
    return 1;
}

int gw_admin_readiness(gw_admin *a, char *why, size_t whylen)
{
    const gw_runtime *cur = snapshot_get(a);
    int ready = readiness(a, cur, why, whylen);
    snapshot_put(a, cur);
    return ready;
}

/* The database takes writes: reachable, not a standby, not read-only. A separate connection, so
 * the answer does not wait behind the log writer. */
static int probe_once(gw_admin *a, PGconn **conn, char *why, size_t whylen)
{
    const gw_config *cfg = a->rt->config;
    if (!*conn || PQstatus(*conn) != CONNECTION_OK) {
        if (*conn)
            PQfinish(*conn);
        const char *keys[] = {"application_name", "connect_timeout", "dbname", "password", NULL};
        const char *values[] = {"pide-gateway-admin", "2", cfg->db_conninfo, a->db_password, NULL};
        *conn = PQconnectdbParams(keys, values, 1);
        if (!*conn || PQstatus(*conn) != CONNECTION_OK) {
            snprintf(why, whylen, "unreachable");
            return 0;
        }
    }
    PGresult *res = PQexec(*conn, "SELECT pg_is_in_recovery(), "
                                  "current_setting('default_transaction_read_only')");
    int ok = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        snprintf(why, whylen, "unreachable");
    } else if (strcmp(PQgetvalue(res, 0, 0), "f") != 0) {
        snprintf(why, whylen, "read-only (in recovery)");
    } else if (strcmp(PQgetvalue(res, 0, 1), "off") != 0) {
        snprintf(why, whylen, "read-only (default_transaction_read_only)");
    } else {
        ok = 1;
    }
    PQclear(res);
    if (!ok && PQstatus(*conn) != CONNECTION_OK) {
        PQfinish(*conn);
        *conn = NULL;
    }
    return ok;
}

static void *prober_main(void *arg)
{
    gw_admin *a = arg;
    PGconn *conn = NULL;
    int was_ok = -1;
    for (;;) {
        char why[96] = "";
        int ok = probe_once(a, &conn, why, sizeof why);
        pthread_mutex_lock(&a->lock);
        a->db_ok = ok;
        snprintf(a->db_why, sizeof a->db_why, "%s", why);
        if (ok != was_ok && was_ok != -1)
            gw_log_event(ok ? PIDE_LOG_INFO : PIDE_LOG_WARN, "readiness", NULL,
                         "database probe: %s", ok ? "writable again" : why);
        was_ok = ok;
        struct timespec until = gw_monotonic_deadline_ms(a->rt->config->admin_probe_interval_ms);
        while (!atomic_load(&a->quit) && !gw_monotonic_reached(&until))
            pthread_cond_timedwait(&a->cond, &a->lock, &until);
        pthread_mutex_unlock(&a->lock);
        if (atomic_load(&a->quit))
            break;
    }
    if (conn)
        PQfinish(conn);
    return NULL;
}

/* ---- HTTP ---- */

static const char *reason_of(int code)
{
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409:
        return "Conflict";
    case 413: return "Content Too Large";
    case 422:
        return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    default: return "Service Unavailable";
    }
}

static void respond(admin_conn *c, int code, const char *ctype, const char *extra,
                    const char *body, size_t body_len, int head_only)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
                     code, reason_of(code), ctype, body_len, extra ? extra : "");
    size_t hl = n > 0 && (size_t)n < sizeof head ? (size_t)n : 0;
    size_t total = hl + (head_only ? 0 : body_len);
    free(c->out);
    c->out = malloc(total ? total : 1);
    c->out_off = 0;
    c->out_len = 0;
    if (!c->out)
        return;
    memcpy(c->out, head, hl);
    if (!head_only && body_len)
        memcpy(c->out + hl, body, body_len);
    c->out_len = total;
}

static void respond_text(admin_conn *c, int code, const char *extra, const char *text,
                         int head_only)
{
    respond(c, code, "text/plain; charset=utf-8", extra, text, strlen(text), head_only);
}

/* The spool's series (docs/operator-guide.md, "Spool"); nothing when it is off. */
static void render_spool(gw_prom_buf *b, exchange_log *log)
{
    gw_log_spool_state sp;
    if (!log || !gw_exchange_log_spool_state(log, &sp))
        return;
    const struct {
        const char *name, *type, *help;
        double value;
    } series[] = {
        {"pide_spool_bytes", "gauge", "Bytes of the spool's segment files on disk.",
         (double)sp.bytes},
        {"pide_spool_max_bytes", "gauge", "The spool's bound (maxBytes).", (double)sp.max_bytes},
        {"pide_spool_records", "gauge", "Rows in the spool waiting to be replayed.",
         (double)sp.records},
        {"pide_spool_active", "gauge", "1 while rows go to the spool instead of PostgreSQL.",
         sp.spooling ? 1 : 0},
        {"pide_spool_corrupt", "gauge", "1 when a corrupt record stopped the replay.",
         sp.replay_stopped ? 1 : 0},
        {"pide_spool_replayed_total", "counter", "Spooled rows replayed since start.",
         (double)sp.replayed_total},
        {"pide_spool_full_total", "counter",
         "Batches refused (Server.LogUnavailable) because the spool was full.",
         (double)sp.full_total},
    };
    for (size_t i = 0; i < sizeof series / sizeof series[0]; i++) {
        gw_prom_family(b, series[i].name, series[i].type, series[i].help);
        gw_prom_sample(b, series[i].name, NULL, NULL, 0, series[i].value);
    }
}

static void serve_metrics(gw_admin *a, admin_conn *c, int head_only)
{
    const gw_runtime *cur = snapshot_get(a);
    gw_metrics_gauges g = {
        .version = PIDE_GATEWAY_VERSION,
        .workers = a->rt->config->workers,
        .log_queue_depth = -1,
        .maintenance = atomic_load(&a->maintenance) || atomic_load(&a->stopping),
        .signing_cert_not_after = cur->signing_not_after,
        .tls_cert_not_after = cur->config->tls_enabled ? cur->tls_not_after : 0,
    };
    int broken = 0;
    if (a->rt->log)
        gw_exchange_log_state(a->rt->log, &g.log_queue_depth, &broken);
    char why[160];
    g.ready = readiness(a, cur, why, sizeof why);
    gw_prom_buf b = {0};
    gw_metrics_render(&b, &g);
    gw_metrics_render_circuits(&b, cur->breakers);
    snapshot_put(a, cur);
    render_spool(&b, a->rt->log);
    if (b.failed)
        respond_text(c, 500, NULL, "out of memory\n", head_only);
    else
        respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.data, b.len,
                head_only);
    gw_prom_buf_free(&b);
}

static void serve_maintenance(gw_admin *a, admin_conn *c, const char *method, const char *body,
                              size_t body_len)
{
    if (strcmp(method, "GET") == 0) {
        respond_text(c, 200, NULL, atomic_load(&a->maintenance) ? "on\n" : "off\n", 0);
        return;
    }
    /* the body is "on" or "off", surrounding white space aside */
    while (body_len && isspace((unsigned char)*body)) {
        body++;
        body_len--;
    }
    while (body_len && isspace((unsigned char)body[body_len - 1]))
        body_len--;
    int on;
    if (body_len == 2 && memcmp(body, "on", 2) == 0)
        on = 1;
    else if (body_len == 3 && memcmp(body, "off", 3) == 0)
        on = 0;
    else {
        respond_text(c, 400, NULL, "the body must be 'on' or 'off'\n", 0);
        return;
    }
    gw_admin_set_maintenance(a, on);
    respond_text(c, 200, NULL, on ? "maintenance on\n" : "maintenance off\n", 0);
}

/* POST /reload: the same reload as SIGHUP; 200 with the result as JSON, 409 while another runs,
 * 422 with the reason (file:line) when the new configuration was refused. */
static void serve_reload(gw_admin *a, admin_conn *c)
{
    gw_reload_result res;
    char json[4096];
    gw_reload(a->reloader, 0, &res);
    gw_reload_result_json(&res, json, sizeof json);
    respond(c, res.http_status, "application/json", NULL, json, strlen(json), 0);
}

/* A whole request is in c->in: answer it. */
static void dispatch(gw_admin *a, admin_conn *c, const char *method, const char *target,
                     const char *body, size_t body_len)
{
    char path[ADMIN_TARGET_MAX + 1];
    snprintf(path, sizeof path, "%.*s", (int)strcspn(target, "?"), target);
    int get = strcmp(method, "GET") == 0, head = strcmp(method, "HEAD") == 0;
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
        strcmp(path, "/metrics") == 0) {
        if (!get && !head) {
            respond_text(c, 405, "Allow: GET, HEAD\r\n", "method not allowed\n", 0);
            return;
        }
        if (path[1] == 'm') {
            serve_metrics(a, c, head);
        } else if (path[1] == 'h') {
            respond_text(c, 200, NULL, "ok\n", head);
        } else {
            char why[160], text[200];
            int ready = gw_admin_readiness(a, why, sizeof why);
            snprintf(text, sizeof text, "%s%s\n", ready ? "" : "not ready: ", why);
            respond_text(c, ready ? 200 : 503, NULL, text, head);
        }
        return;
    }
    if (strcmp(path, "/admin/maintenance") == 0) {
        if (!get && strcmp(method, "POST") != 0)
            respond_text(c, 405, "Allow: GET, POST\r\n", "method not allowed\n", 0);
        else
            serve_maintenance(a, c, method, body, body_len);
        return;
    }
    if (strcmp(path, "/reload") == 0 && a->reloader) {
        if (strcmp(method, "POST") != 0)
            respond_text(c, 405, "Allow: POST\r\n", "method not allowed\n", 0);
        else
            serve_reload(a, c);
        return;
    }
    respond_text(c, 404, NULL, "not found\n", head);
}

static int is_token_char(char ch)
{
    return isalnum((unsigned char)ch) || strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* 0: need more bytes; 1: answered (c->out set). */
static int evaluate(gw_admin *a, admin_conn *c)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) {
        if (c->in_len >= ADMIN_HEAD_MAX) {
            respond_text(c, 431, NULL, "request head too large\n", 0);
            return 1;
        }
        return 0;
    }
    size_t head_len = (size_t)(end - c->in) + 4;
    if (head_len > ADMIN_HEAD_MAX) {
        respond_text(c, 431, NULL, "request head too large\n", 0);
        return 1;
    }
    /* request line: METHOD SP origin-form SP HTTP/1.x */
    char method[16], target[ADMIN_TARGET_MAX + 1];
    const char *p = c->in;
    size_t i = 0;
    while (i < sizeof method - 1 && is_token_char(p[i])) {
        method[i] = p[i];
        i++;
    }
    method[i] = '\0';
    if (i == 0 || p[i] != ' ') {
        respond_text(c, 400, NULL, "malformed request line\n", 0);
        return 1;
    }
    p += i + 1;
    i = 0;
    while (i < ADMIN_TARGET_MAX && p[i] > ' ' && p[i] < 0x7f) {
        target[i] = p[i];
        i++;
    }
    target[i] = '\0';
    if (i == 0 || target[0] != '/' || p[i] != ' ' ||
        (strncmp(p + i + 1, "HTTP/1.1\r\n", 10) != 0 && strncmp(p + i + 1, "HTTP/1.0\r\n", 10) != 0)) {
        respond_text(c, 400, NULL, "malformed request line\n", 0);
        return 1;
    }
    /* header fields: name ":" value; only Content-Length matters, Transfer-Encoding refused */
    /* the request line ended with the first CRLF (checked above) */
    const char *line = (const char *)memmem(c->in, head_len, "\r\n", 2) + 2;
    long content_length = 0;
    int have_length = 0;
    while (line < end + 2) {
        const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        if (!eol || eol == line)
            break;
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon || colon == line) {
            respond_text(c, 400, NULL, "malformed header field\n", 0);
            return 1;
        }
        for (const char *q = line; q < colon; q++)
            if (!is_token_char(*q)) {
                respond_text(c, 400, NULL, "malformed header field\n", 0);
                return 1;
            }
        size_t name_len = (size_t)(colon - line);
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        if (name_len == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            respond_text(c, 501, NULL, "transfer codings are not supported\n", 0);
            return 1;
        }
        if (name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            long n = 0;
            const char *q = v;
            for (; q < eol && isdigit((unsigned char)*q) && n <= ADMIN_BODY_MAX; q++)
                n = n * 10 + (*q - '0');
            while (q < eol && (*q == ' ' || *q == '\t'))
                q++;
            if (q == v || (q < eol && n <= ADMIN_BODY_MAX) || (have_length && n != content_length)) {
                respond_text(c, 400, NULL, "malformed Content-Length\n", 0);
                return 1;
            }
            if (n > ADMIN_BODY_MAX) {
                respond_text(c, 413, NULL, "request body too large\n", 0);
                return 1;
            }
            content_length = n;
            have_length = 1;
        }
        line = eol + 2;
    }
    if (c->in_len < head_len + (size_t)content_length)
        return 0;
    dispatch(a, c, method, target, c->in + head_len, (size_t)content_length);
    return 1;
}

static void conn_free(gw_admin *a, admin_conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(a->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    free(c->out);
    c->out = NULL;
    c->fd = -1;
    c->in_len = c->out_len = c->out_off = 0;
}

/* Writes what it can; the connection is closed once everything is sent. */
static void conn_write(gw_admin *a, admin_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
            return;
        }
        break;
    }
    shutdown(c->fd, SHUT_WR);
    conn_free(a, c);
}

static void conn_read(gw_admin *a, admin_conn *c)
{
    for (;;) {
        size_t room = sizeof c->in - c->in_len;
        if (room == 0) {
            respond_text(c, 413, NULL, "request too large\n", 0);
            conn_write(a, c);
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
        if (n > 0) {
            c->in_len += (size_t)n;
            if (evaluate(a, c)) {
                if (!c->out)
                    conn_free(a, c); /* out of memory: just close */
                else
                    conn_write(a, c);
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        conn_free(a, c); /* closed or failed before a whole request */
        return;
    }
}

static void accept_all(gw_admin *a)
{
    for (;;) {
        int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        admin_conn *c = NULL;
        for (int i = 0; i < ADMIN_MAX_CONNS && !c; i++)
            if (a->conns[i].fd < 0)
                c = &a->conns[i];
        if (!c) {
            close(fd); /* busy: a scraper retries */
            continue;
        }
        c->fd = fd;
        c->in_len = 0;
        c->deadline_us = gw_monotonic_us() + ADMIN_TIMEOUT_US;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            c->fd = -1;
        }
    }
}

static void *admin_main(void *arg)
{
    gw_admin *a = arg;
    struct epoll_event events[ADMIN_MAX_CONNS + 2];
    while (!atomic_load(&a->quit)) {
        int n = epoll_wait(a->epoll_fd, events, ADMIN_MAX_CONNS + 2, 500);
        for (int i = 0; i < n; i++) {
            void *p = events[i].data.ptr;
            if (p == &a->listen_fd) {
                accept_all(a);
            } else if (p == &a->wake_fd) {
                /* stop: the loop condition ends it */
            } else {
                admin_conn *c = p;
                if (c->fd < 0)
                    continue;
                if (c->out)
                    conn_write(a, c);
                else
                    conn_read(a, c);
            }
        }
        int64_t now = gw_monotonic_us();
        for (int i = 0; i < ADMIN_MAX_CONNS; i++) {
            admin_conn *c = &a->conns[i];
            if (c->fd >= 0 && now > c->deadline_us) {
                if (!c->out) {
                    respond_text(c, 408, NULL, "request not received in time\n", 0);
                    c->deadline_us = now + ADMIN_TIMEOUT_US;
                    if (c->out) {
                        conn_write(a, c);
                        continue;
                    }
                }
                conn_free(a, c);
            }
        }
    }
    return NULL;
}

/* ---- start / stop ---- */

gw_status gw_admin_start(const gw_runtime *rt, gw_live *live, gw_reloader *reloader, gw_admin **out,
                         char *err, size_t errlen)
{
    const gw_config *cfg = rt->config;
    gw_status st = GW_ERR_NOMEM;
    *out = NULL;
    gw_admin *a = calloc(1, sizeof *a);
    if (!a)
        return GW_ERR_NOMEM;
    a->rt = rt;
    a->live = live;
    a->reloader = reloader;
    a->listen_fd = a->epoll_fd = a->wake_fd = -1;
    for (int i = 0; i < ADMIN_MAX_CONNS; i++)
        a->conns[i].fd = -1;
    pthread_mutex_init(&a->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cond, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(a->db_why, sizeof a->db_why, "not probed yet");

    if ((st = gw_metrics_init()) != GW_OK) {
        gw_set_error(err, errlen, "cannot allocate the metrics");
        goto fail;
    }
    if (cfg->db_password_file &&
        (st = gw_read_secret_file(cfg->db_password_file, &a->db_password, err, errlen)) != GW_OK)
        goto fail;

    if ((st = gw_tcp_listen("admin", cfg->admin_address, cfg->admin_port, 64, &a->listen_fd,
                            &a->port, err, errlen)) != GW_OK)
        goto fail;
    st = GW_ERR_IO;
    a->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &a->listen_fd};
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &a->wake_fd};
    if (a->epoll_fd < 0 || a->wake_fd < 0 ||
        epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, a->listen_fd, &lev) != 0 ||
        epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, a->wake_fd, &wev) != 0) {
        gw_set_error(err, errlen, "admin epoll: %s", strerror(errno));
        goto fail;
    }
    st = GW_ERR_INTERNAL;
    if (pthread_create(&a->prober, NULL, prober_main, a) != 0) {
        gw_set_error(err, errlen, "cannot start the admin database probe");
        goto fail;
    }
    a->prober_started = 1;
    if (pthread_create(&a->thread, NULL, admin_main, a) != 0) {
        gw_set_error(err, errlen, "cannot start the admin listener");
        goto fail;
    }
    a->thread_started = 1;
    *out = a;
    return GW_OK;
fail:
    gw_admin_stop(a);
    return st;
}

int gw_admin_port(const gw_admin *a) { return a->port; }

void gw_admin_set_maintenance(gw_admin *a, int on)
{
    if (!a)
        return;
    if (atomic_exchange(&a->maintenance, on ? 1 : 0) != (on ? 1 : 0))
        gw_log_event(PIDE_LOG_INFO, "maintenance", NULL, "maintenance %s: /readyz answers %s",
                     on ? "on" : "off", on ? "503" : "by the checks again");
}

void gw_admin_set_stopping(gw_admin *a)
{
    if (a)
        atomic_store(&a->stopping, 1);
}

void gw_admin_stop(gw_admin *a)
{
    if (!a)
        return;
    atomic_store(&a->quit, 1);
    if (a->wake_fd >= 0) {
        uint64_t one = 1;
        if (write(a->wake_fd, &one, sizeof one) < 0)
            gw_log(PIDE_LOG_WARN, "cannot wake the admin listener: %s", strerror(errno));
    }
    if (a->thread_started)
        pthread_join(a->thread, NULL);
    pthread_mutex_lock(&a->lock);
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    if (a->prober_started)
        pthread_join(a->prober, NULL);
    for (int i = 0; i < ADMIN_MAX_CONNS; i++)
        if (a->conns[i].fd >= 0 || a->conns[i].out)
            conn_free(a, &a->conns[i]);
    if (a->listen_fd >= 0)
        close(a->listen_fd);
    if (a->epoll_fd >= 0)
        close(a->epoll_fd);
    if (a->wake_fd >= 0)
        close(a->wake_fd);
    gw_secret_free(a->db_password);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cond);
    free(a);
}
