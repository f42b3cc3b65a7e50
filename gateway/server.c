/* server.c — epoll dispatcher + fixed worker pool over gSOAP's HTTP engine (see server.h). */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "exchange_env.h"
#include "http_head.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "reload.h"
#include "rest_face.h"
#include "rest_openapi.h"
#include "rest_sign.h"
#include "service_catalog.h"
#include "service_page.h"
#include "tls.h"
#include "transport.h"
#include "stdsoap2.h"

#include <openssl/err.h>

struct gw_server;
struct gw_conn;

/* A worker thread and the resources it lends the exchanges it runs (exchange_env.h). */
typedef struct gw_worker {
    int id;
    gw_exchange_env env;
} gw_worker;

/* One request in flight: its connection, the engine reading it and writing its answer, and its
 * exchange. A worker fills it and runs the pipeline; when the pipeline has handed the row to
 * the exchange log, the worker is free and the slot waits for the log to report the commit,
 * after which a worker (any) writes the answer. The number of slots bounds the exchanges in
 * flight. Nothing of it reaches the pipeline but the request and response values
 * (transport.h). */
typedef struct gw_slot {
    struct gw_server *srv;
    struct soap *soap;                   /* inbound engine context, one request at a time */
    struct gw_conn *conn;
    const gw_runtime *rt; /* the configuration snapshot this request runs on */
    /* What the engine reads for one request: exactly the bytes of the request the dispatcher
     * read and checked. */
    struct {
        const char *data;
        size_t len, off;
    } input;
    gw_exchange exchange;
    gw_http_response resp;
    int refused;                         /* the dispatcher's refusal: linger afterwards */
    int keep;                            /* keep the connection after the answer */
    atomic_int holds;                    /* the worker and the log: the last one queues the answer */
    gw_status log_status;                /* what the log reported */
    struct gw_slot *next;                /* free list, or queue of answers to write */
} gw_slot;

typedef struct gw_listener {
    int fd;
    int port;
    int tls;                     /* the member listener: TLS handshake before the first request */
} gw_listener;

enum conn_state {
    CS_HANDSHAKE,                /* TLS handshake, driven by the dispatcher */
    CS_REQUEST,                  /* reading a request (head and body) in the dispatcher */
    CS_LINGER,                   /* refused: our side is shut, the rest of the input discarded */
};

struct gw_server;

typedef struct gw_conn {
    struct gw_server *srv;
    int fd;
    int tls;
    SSL *ssl;                    /* NULL until accepted (TLS listener only) */
    const gw_runtime *rt;        /* TLS: the snapshot whose SSL_CTX accepted it (held) */
    gw_tls_peer peer;
    char address[INET6_ADDRSTRLEN];
    int state;
    int hs_counted;              /* holds one of its address's handshake slots */
    unsigned hs_bucket;
    int want_write;              /* OpenSSL needs the socket writable to go on */
    int64_t last_active_us;
    /* Times on the monotonic clock (gw_monotonic_us): a step of the wall clock (NTP, a VM's
     * clock) must neither expire a connection early nor keep a stalled one forever. */
    int64_t started_us;          /* handshake begun, or first byte of the current request */
    struct gw_conn *prev, *next; /* in the parked list while waiting in epoll */
    int parked;
    struct gw_conn *queue_next;  /* in the ready queue */
    /* What the client sent and nobody consumed yet: the current request, then whatever it
     * pipelined after it. The dispatcher reads a whole request before a worker sees it, so a
     * client trickling its head or its body holds no worker. */
    char *in;
    size_t in_len, in_cap;
    int eof;                     /* the client closed (its side of) the connection */
    int have_head;
    gw_http_head head;
    gw_chunked_scan chunk;
    size_t req_len;              /* the whole current request, once complete */
    gw_status verdict;           /* GW_OK, or why the current request is refused */
    const char *verdict_why;
    int64_t linger_until_us;
    size_t linger_left;
} gw_conn;

/* RFC 9112 sets no limit; 8 KiB per line is what common servers allow. */
#define HEADER_LINE_MAX 8192
/* A refused request's remaining input is read and discarded for this long (or this many bytes
 * past maxBodyBytes), so a client that sends its whole body before reading still gets the
 * answer instead of a reset. */
#define LINGER_US 2000000
#define LINGER_EXTRA_BYTES 65536
/* Buckets of the per-address count of connections in TLS handshake (keyed hash: an attacker
 * cannot aim at a victim's bucket). */
#define HS_BUCKETS 4096

struct gw_server {
    gw_live *live; /* the current configuration snapshot (reload.h) */
    int owns_live;
    const gw_runtime *rt;        /* the dispatcher's snapshot (held; dispatcher thread only) */
    gw_listener plain;           /* HTTP, loopback */
    gw_listener member;          /* HTTPS with client certificates, when configured */
    int epoll_fd;
    int wake_fd;                 /* eventfd: tells the dispatcher to stop */
    pthread_t dispatcher;
    int dispatcher_started;

    /* connections ready for a worker, exchanges whose answer can be written, free slots */
    pthread_mutex_t queue_lock;
    pthread_cond_t queue_cond;
    gw_conn *queue_head, *queue_tail;
    gw_slot *answer_head, *answer_tail;
    gw_slot *free_slots;
    int in_flight;                       /* slots taken */
    int slot_count;
    gw_slot *slots;
    int stopping;
    atomic_int draining;         /* set first thing on stop: answers carry Connection: close */

    /* connections waiting in epoll, for the idle sweep */
    pthread_mutex_t parked_lock;
    gw_conn parked;              /* list head */

    /* TLS connections in handshake per address bucket (dispatcher thread only) */
    uint16_t hs_count[HS_BUCKETS];
    uint64_t hs_seed;

    int worker_count;
    gw_worker *workers;
    pthread_t *worker_threads;
    int workers_started;
};

/* ---- ready queue ---- */

static void queue_push(gw_server *srv, gw_conn *c)
{
    pthread_mutex_lock(&srv->queue_lock);
    c->queue_next = NULL;
    if (srv->queue_tail)
        srv->queue_tail->queue_next = c;
    else
        srv->queue_head = c;
    srv->queue_tail = c;
    pthread_cond_signal(&srv->queue_cond);
    pthread_mutex_unlock(&srv->queue_lock);
}

/* An exchange whose row the log settled: its answer can be written. */
static void answer_push(gw_server *srv, gw_slot *sl)
{
    pthread_mutex_lock(&srv->queue_lock);
    sl->next = NULL;
    if (srv->answer_tail)
        srv->answer_tail->next = sl;
    else
        srv->answer_head = sl;
    srv->answer_tail = sl;
    pthread_cond_signal(&srv->queue_cond);
    pthread_mutex_unlock(&srv->queue_lock);
}

static void slot_release(gw_server *srv, gw_slot *sl)
{
    pthread_mutex_lock(&srv->queue_lock);
    sl->conn = NULL;
    sl->next = srv->free_slots;
    srv->free_slots = sl;
    srv->in_flight--;
    /* A free slot matters to one worker when a connection waits for it, and to all of them
     * when the last exchange of a stopping server ends. Waking every idle worker for every
     * exchange (a broadcast) cost more CPU than the exchange itself with ECDSA keys. */
    if (srv->stopping && srv->in_flight == 0)
        pthread_cond_broadcast(&srv->queue_cond);
    else if (srv->queue_head)
        pthread_cond_signal(&srv->queue_cond);
    pthread_mutex_unlock(&srv->queue_lock);
}

/* A worker's next job: an answer to write (*answer), or a connection with a request and a free
 * slot for it (*slot, conn attached). Answers come first: they free slots. 0 when the server
 * is stopping and nothing is left, queued or in flight. */
static int queue_pop(gw_server *srv, gw_slot **slot, gw_slot **answer)
{
    *slot = *answer = NULL;
    pthread_mutex_lock(&srv->queue_lock);
    for (;;) {
        if (srv->answer_head) {
            *answer = srv->answer_head;
            srv->answer_head = (*answer)->next;
            if (!srv->answer_head)
                srv->answer_tail = NULL;
            break;
        }
        if (srv->queue_head && srv->free_slots) {
            gw_conn *c = srv->queue_head;
            srv->queue_head = c->queue_next;
            if (!srv->queue_head)
                srv->queue_tail = NULL;
            *slot = srv->free_slots;
            srv->free_slots = (*slot)->next;
            (*slot)->conn = c;
            srv->in_flight++;
            break;
        }
        if (srv->stopping && !srv->queue_head && srv->in_flight == 0)
            break;
        pthread_cond_wait(&srv->queue_cond, &srv->queue_lock);
    }
    pthread_mutex_unlock(&srv->queue_lock);
    return *slot || *answer;
}

/* ---- connections ---- */

static unsigned hs_bucket_of(const gw_server *srv, const char *address)
{
    uint64_t h = 1469598103934665603ULL ^ srv->hs_seed;
    for (const char *p = address; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h ^= h >> 29;
    return (unsigned)(h % HS_BUCKETS);
}

static void hs_release(gw_conn *c)
{
    if (c->hs_counted && c->srv->hs_count[c->hs_bucket] > 0)
        c->srv->hs_count[c->hs_bucket]--;
    c->hs_counted = 0;
}

static void conn_close(gw_conn *c)
{
    hs_release(c);
    if (c->ssl) {
        if (c->state != CS_HANDSHAKE)
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    gw_live_release(c->srv->live, c->rt);
    free(c->in);
    free(c);
}

static void set_nonblocking(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static void parked_unlink(gw_conn *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->parked = 0;
}

/* Puts a connection in epoll (op ADD for a new one, MOD for one a worker is done with) until it
 * can make progress: workers only ever get connections holding a whole request, so a client
 * that connects and says nothing, or says it slowly, holds no worker. kick: input is already
 * buffered (pipelined bytes, or decrypted ones inside OpenSSL) that epoll would not report;
 * waiting for "writable" brings the connection straight back to the dispatcher. */
static void conn_park(gw_server *srv, gw_conn *c, int op, int kick)
{
    c->last_active_us = gw_monotonic_us();
    if (c->ssl)
        set_nonblocking(c->fd, 1);
    pthread_mutex_lock(&srv->parked_lock);
    c->next = srv->parked.next;
    c->prev = &srv->parked;
    srv->parked.next->prev = c;
    srv->parked.next = c;
    c->parked = 1;
    uint32_t events = (kick || c->want_write) ? EPOLLOUT : EPOLLIN | EPOLLRDHUP;
    struct epoll_event ev = {.events = events | EPOLLONESHOT, .data.ptr = c};
    int rc = epoll_ctl(srv->epoll_fd, op, c->fd, &ev);
    if (rc != 0)
        parked_unlink(c);
    pthread_mutex_unlock(&srv->parked_lock);
    if (rc != 0)
        conn_close(c);
}

/* Hands a connection with a whole request (or a refusal to send) to a worker. */
static void conn_to_worker(gw_server *srv, gw_conn *c)
{
    if (c->ssl)
        set_nonblocking(c->fd, 0); /* the engine writes the answer with its own timeouts */
    queue_push(srv, c);
}

/* ---- WSDL and other GETs ---- */

static int send_plain(struct soap *s, int http_status, const char *ctype, const char *body,
                      size_t len)
{
    s->http_content = ctype;
    if (soap_response(s, http_status == 200 ? SOAP_FILE : SOAP_FILE + http_status) ||
        soap_send_raw(s, body, len) || soap_end_send(s))
        return soap_closesock(s);
    return SOAP_OK;
}

/* While the server drains, answers say Connection: close, so clients do not send another
 * request on a connection nobody will read again. */
static void close_if_draining(gw_server *srv, struct soap *s)
{
    if (atomic_load(&srv->draining))
        s->keep_alive = 0;
}

/* gSOAP calls this for every GET: /services/<name>?wsdl returns the service's WSDL. */
static int serve_get(struct soap *s)
{
    gw_slot *sl = s->user;
    const gw_runtime *rt = sl->rt;
    close_if_draining(sl->srv, s);
    const char *path = s->path;
    const char *q = strchr(path, '?');
    if (strncmp(path, "/services/", 10) == 0 && q && strcasecmp(q + 1, "wsdl") == 0) {
        char name[256];
        size_t n = (size_t)(q - (path + 10));
        if (n < sizeof name) {
            memcpy(name, path + 10, n);
            name[n] = '\0';
            const gw_service *svc = gw_service_catalog_find(&rt->catalog, name);
            if (svc)
                return send_plain(s, 200, "text/xml; charset=utf-8", svc->wsdl, svc->wsdl_len);
        }
    }
    /* The XSDs the WSDLs import (schemaLocation="../schemas/<file>"), so SOAP toolkits that
     * fetch ?wsdl from the gateway can resolve them. Only configured services' schemas and the
     * header schema. */
    if (strncmp(path, "/schemas/", 9) == 0 && !q) {
        size_t len = 0;
        const char *xsd = gw_service_catalog_schema_text(&rt->catalog, path + 9, &len);
        if (xsd)
            return send_plain(s, 200, "text/xml; charset=utf-8", xsd, len);
    }
    if (strcmp(path, "/health") == 0)
        return send_plain(s, 200, "text/plain", "ok\n", 3);
    /* The published services for a person in a browser (service_page.h). */
    if ((strcmp(path, "/services") == 0 || strcmp(path, "/services/") == 0) && rt->services_page)
        return send_plain(s, 200, "text/html; charset=utf-8", rt->services_page,
                          rt->services_page_len);
    static const char not_found[] =
        "not found: the gateway serves POST /services/<name>, GET /services (the list), "
        "GET /services/<name>?wsdl and the schemas they import under /schemas/\n";
    return send_plain(s, 404, "text/plain", not_found, sizeof not_found - 1);
}

/* ---- what the engine reads ---- */

/* The engine's receive: exactly the bytes of the one request the dispatcher read and checked,
 * then the end of the stream. The engine never reads the socket, so it can neither wait on a
 * slow client nor swallow the start of a pipelined request. */
static size_t request_recv(struct soap *s, char *buf, size_t len)
{
    gw_slot *sl = s->user;
    size_t n = sl->input.len - sl->input.off;
    if (n > len)
        n = len;
    memcpy(buf, sl->input.data + sl->input.off, n);
    sl->input.off += n;
    return n;
}

/* ---- one request ---- */

/* The facts of the connection an exchange needs (transport.h). */
static void request_of_conn(const gw_conn *c, gw_http_request *req)
{
    memset(req, 0, sizeof *req);
    req->peer_address = c->address;
    req->listener = c->tls ? GW_LISTENER_MEMBER : GW_LISTENER_PLAIN;
    if (c->tls) {
        req->tls_member = c->peer.member_id;
        req->tls_subject = c->peer.subject;
        req->tls_cert_sha256 = c->peer.fingerprint;
    }
    /* The trace headers the dispatcher's head reader found (http_head.h), from c->in. */
    req->traceparent_count = c->head.traceparent_count;
    if (c->head.traceparent_count) {
        req->traceparent = c->in + c->head.traceparent_off;
        req->traceparent_len = c->head.traceparent_len;
    }
    req->tracestate_count = c->head.tracestate_count;
    if (c->head.tracestate_count) {
        req->tracestate = c->in + c->head.tracestate_off;
        req->tracestate_len = c->head.tracestate_len;
    }
    req->refusal = GW_OK;
}

/* Writes the pipeline's answer (transport.h) on the engine. 0 when it was sent. */
static int send_response(gw_server *srv, struct soap *s, const gw_http_response *resp)
{
    char extra[1536];
    extra[0] = '\0';
    int n = 0;
    if (resp->exchange_id)
        n = snprintf(extra, sizeof extra, "X-Pide-Exchange-Id: %s", resp->exchange_id);
    if (resp->signature && n >= 0 && (size_t)n < sizeof extra)
        n += snprintf(extra + n, sizeof extra - (size_t)n, "%s" GW_REST_SIGNATURE_HEADER ": %s",
                      n ? "\r\n" : "", resp->signature);
    if (resp->allow && n >= 0 && (size_t)n < sizeof extra)
        n += snprintf(extra + n, sizeof extra - (size_t)n, "%sAllow: %s", n ? "\r\n" : "",
                      resp->allow);
    if (resp->traceparent && n >= 0 && (size_t)n < sizeof extra)
        n += snprintf(extra + n, sizeof extra - (size_t)n, "%straceparent: %s", n ? "\r\n" : "",
                      resp->traceparent);
    if (resp->retry_after_s > 0 && n >= 0 && (size_t)n < sizeof extra)
        snprintf(extra + n, sizeof extra - (size_t)n, "%sRetry-After: %d", n ? "\r\n" : "",
                 resp->retry_after_s);
    if (resp->close)
        s->keep_alive = 0;
    close_if_draining(srv, s);
    s->http_content = resp->content_type;
    s->http_extra_header = extra[0] ? extra : NULL;
    int status = resp->status == 200 ? SOAP_FILE : SOAP_FILE + resp->status;
    int rc = soap_response(s, status) || soap_send_raw(s, resp->body, resp->body_len) ||
             soap_end_send(s);
    s->http_extra_header = NULL;
    return rc;
}

/* The log reported the row of the slot's exchange (gw_exchange_log_submit; the log's thread, with
 * its lock held: only hand the slot on). */
static void log_settled(void *arg, gw_status st)
{
    gw_slot *sl = arg;
    sl->log_status = st;
    if (atomic_fetch_sub(&sl->holds, 1) == 1)
        answer_push(sl->srv, sl);
}

/* What serving a request came to. */
enum { SERVED, ANSWER_READY, ANSWER_AWAITS_LOG };

/* One exchange through the pipeline, up to its row handed to the exchange log:
 * ANSWER_AWAITS_LOG until the log reports (log_settled), or ANSWER_READY in sl->resp (the log
 * refused the row at once: Server.LogUnavailable). */
static int run_exchange(gw_worker *w, gw_slot *sl, const gw_http_request *req)
{
    gw_exchange *ex = &sl->exchange;
    gw_exchange_begin(ex, sl->rt, &w->env, req, NULL);
    ex->log_notify = log_settled;
    ex->log_notify_arg = sl;
    atomic_store(&sl->holds, 2);
    gw_pipeline_run(ex, &sl->resp);
    ex->http_request = NULL; /* req is the caller's */
    ex->env = NULL;          /* the answer may be written by another worker */
    return ex->log_pending ? ANSWER_AWAITS_LOG : ANSWER_READY;
}

/* ---- the REST face (rest_face.h) ---- */

/* The value of the header field `name` in the head of c's current request (the last one) and
 * how many fields of that name came. The dispatcher checked the head's framing already. */
static gw_http_field head_field(const gw_conn *c, const char *name)
{
    gw_http_field f = {0};
    size_t nl = strlen(name);
    const char *p = c->in, *end = c->in + c->head.head_len;
    const char *line = memchr(p, '\n', (size_t)(end - p)); /* skip the request line */
    while (line && line + 1 < end) {
        const char *ls = line + 1;
        const char *le = memchr(ls, '\n', (size_t)(end - ls));
        if (!le)
            break;
        size_t ll = (size_t)(le - ls);
        if (ll && ls[ll - 1] == '\r')
            ll--;
        if (ll > nl && ls[nl] == ':' && strncasecmp(ls, name, nl) == 0) {
            f.count++;
            f.value = ls + nl + 1;
            f.len = ll - nl - 1;
        }
        line = le;
    }
    return f;
}

static void send_json_error(struct soap *s, int http, const char *code, const char *message)
{
    char body[512];
    int n = snprintf(body, sizeof body, "{\"code\":\"%s\",\"message\":\"%s\"}", code, message);
    send_plain(s, http, "application/json", body, n > 0 && (size_t)n < sizeof body ? (size_t)n : 0);
}

/* GET /rest/<service>/openapi.json: the member listener, to any authenticated member. */
static int serve_openapi(gw_slot *sl, const char *service)
{
    gw_conn *c = sl->conn;
    struct soap *s = sl->soap;
    const gw_runtime *rt = sl->rt; /* this request's snapshot */
    if (!c->tls) {
        send_json_error(s, 403, "Client.AuthenticationFailed",
                        "REST needs mutual TLS: use the member listener");
        return SERVED;
    }
    if (!c->peer.member_id[0] || !gw_config_find_member(rt->config, c->peer.member_id)) {
        send_json_error(s, 401, "Client.AuthenticationFailed",
                        "the client certificate names no known member");
        return SERVED;
    }
    const gw_service *svc = gw_service_catalog_find(&rt->catalog, service);
    char *doc = NULL;
    size_t len = 0;
    char err[256];
    if (!svc || !svc->schema_text) {
        send_json_error(s, 404, "Client.UnknownService", "no such service on this gateway");
    } else if (gw_rest_openapi(svc, &doc, &len, err, sizeof err) != GW_OK) {
        gw_log(PIDE_LOG_ERROR, "openapi.json of %s: %s", service, err);
        send_json_error(s, 500, "Server.Internal", "the OpenAPI document could not be made");
    } else {
        send_plain(s, 200, "application/json", doc, len);
    }
    free(doc);
    sl->keep = s->keep_alive != 0;
    return SERVED;
}

/* A request to /rest/...: -1 when it is not one (the SOAP path goes on); otherwise what serving
 * it came to. Every REST call is an exchange (signed, logged); POST and anything else is
 * refused with 405 through the same path. */
static int serve_rest(gw_worker *w, gw_slot *sl)
{
    gw_conn *c = sl->conn;
    const char *t = c->in + c->head.target_off;
    size_t tl = c->head.target_len;
    if (tl < strlen(GW_REST_PREFIX) || memcmp(t, GW_REST_PREFIX, strlen(GW_REST_PREFIX)) != 0)
        return -1;
    const char *q = memchr(t, '?', tl);
    size_t pl = q ? (size_t)(q - t) : tl;
    char path[512], method[8] = "";
    if (c->head.method_len < sizeof method) {
        memcpy(method, c->in + c->head.method_off, c->head.method_len);
        method[c->head.method_len] = '\0';
    }
    gw_http_request req;
    request_of_conn(c, &req);
    req.face = GW_FACE_REST;
    req.method = method;
    req.path = path;
    if (pl >= sizeof path) {
        memcpy(path, t, sizeof path - 1);
        path[sizeof path - 1] = '\0';
        req.refusal = GW_ERR_REQUEST_TOO_LARGE;
        req.refusal_why = "the path is too long";
        return run_exchange(w, sl, &req);
    }
    memcpy(path, t, pl);
    path[pl] = '\0';
    const char *last = strrchr(path, '/');
    if (strcmp(method, "GET") == 0 && last && strcmp(last + 1, GW_REST_OPENAPI_NAME) == 0 &&
        last > path + strlen(GW_REST_PREFIX)) {
        char service[256];
        size_t sn = (size_t)(last - (path + strlen(GW_REST_PREFIX)));
        if (sn < sizeof service && !memchr(path + strlen(GW_REST_PREFIX), '/', sn)) {
            memcpy(service, path + strlen(GW_REST_PREFIX), sn);
            service[sn] = '\0';
            return serve_openapi(sl, service);
        }
    }
    if (q) {
        req.query = q + 1;
        req.query_len = tl - pl - 1;
    }
    req.pide_message_id = head_field(c, "PIDE-Message-Id");
    req.pide_purpose = head_field(c, "PIDE-Purpose");
    req.pide_user_id = head_field(c, "PIDE-User-Id");
    if (strcmp(method, "GET") != 0) {
        req.refusal = GW_ERR_METHOD_NOT_ALLOWED;
        req.refusal_why = "the REST face answers GET only";
    } else if (c->head.chunked || c->head.content_length > 0) {
        req.refusal = GW_ERR_BAD_REQUEST;
        req.refusal_why = "a REST GET carries no body";
    }
    return run_exchange(w, sl, &req);
}

/* Serves the one request the dispatcher read on sl->conn: the engine parses its head (GETs are
 * answered by serve_get) and decodes its body, the pipeline makes the answer (run_exchange);
 * SERVED when there was no exchange (sl->keep says whether the connection stays). */
static int serve_one(gw_worker *w, gw_slot *sl)
{
    gw_conn *c = sl->conn;
    struct soap *s = sl->soap;
    soap_begin(s);
    s->error = SOAP_OK;
    s->keep_alive = 1;
    int rest = serve_rest(w, sl);
    if (rest >= 0)
        return rest;
    int rc = soap_begin_recv(s);
    sl->keep = 0;
    if (rc == SOAP_STOP) {
        sl->keep = s->keep_alive != 0; /* a GET answered by serve_get */
    } else if (rc == SOAP_OK) {
        gw_http_request req;
        request_of_conn(c, &req);
        req.method = "POST";
        req.path = s->path;
        req.content_type = s->http_content;
        req.soap_action = s->action;
        /* An announced length over the limit is refused before reading a byte of it. */
        if (s->length > sl->rt->config->max_body_bytes) {
            req.refusal = GW_ERR_REQUEST_TOO_LARGE;
        } else {
            size_t len = 0;
            char *body = soap_http_get_body(s, &len);
            req.body = body;
            req.body_len = body ? len : 0;
            if (body && len > 0 && len <= sl->rt->config->max_body_bytes)
                soap_end_recv(s);
        }
        return run_exchange(w, sl, &req);
    } else {
        /* The dispatcher checked the head; the engine refusing it anyway is logged. */
        gw_log(PIDE_LOG_INFO, "%s: request refused by the HTTP engine (gSOAP error %d)",
               c->address, rc);
    }
    return SERVED;
}

/* The path of the request line, without its query (which could carry anything). */
static void request_path(const gw_conn *c, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!c->head.target_len)
        return;
    size_t n = c->head.target_len;
    const char *t = c->in + c->head.target_off;
    const char *q = memchr(t, '?', n);
    if (q)
        n = (size_t)(q - t);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, t, n);
    out[n] = '\0';
}

/* Answers a request the dispatcher refused (c->verdict). One to a service path (anything but
 * a GET of /services/...) is an exchange: a signed Fault and a log row, through the pipeline
 * (gw_stage_receive fails it with the verdict). Anything else gets a plain-text status. Either
 * way the refusal is in the operational log, and the connection is closed afterwards. */
static int serve_refusal(gw_worker *w, gw_slot *sl)
{
    gw_conn *c = sl->conn;
    struct soap *s = sl->soap;
    soap_begin(s);
    s->error = SOAP_OK;
    s->keep_alive = 0;
    char method[16] = "", path[512];
    if (c->head.method_len && c->head.method_len < sizeof method) {
        memcpy(method, c->in + c->head.method_off, c->head.method_len);
        method[c->head.method_len] = '\0';
    }
    request_path(c, path, sizeof path);
    int http = gw_status_http_code(c->verdict);
    gw_log(PIDE_LOG_INFO, "%s: %s %s refused with %d %s: %s", c->address,
           method[0] ? method : "-", path[0] ? path : "-", http, gw_status_fault_code(c->verdict),
           c->verdict_why ? c->verdict_why : gw_status_message(c->verdict));
    if (method[0] && (gw_rest_path(path) ||
                      (strcmp(method, "GET") != 0 && strncmp(path, "/services/", 10) == 0))) {
        gw_http_request req;
        request_of_conn(c, &req);
        req.face = gw_rest_path(path) ? GW_FACE_REST : GW_FACE_SOAP;
        req.method = method;
        req.path = path;
        req.refusal = c->verdict;
        req.refusal_why = c->verdict_why;
        if (req.face == GW_FACE_REST && c->verdict == GW_ERR_METHOD_NOT_ALLOWED)
            req.refusal_why = "the REST face answers GET only";
        return run_exchange(w, sl, &req);
    } else {
        char msg[256];
        int n = snprintf(msg, sizeof msg, "%s\n", c->verdict_why ? c->verdict_why
                                                                 : gw_status_message(c->verdict));
        send_plain(s, http, "text/plain", msg, n > 0 && (size_t)n < sizeof msg ? (size_t)n : 0);
    }
    return SERVED;
}

/* After an answer: the request is consumed, and whatever followed it stays for the next one. */
static void conn_consume(gw_conn *c)
{
    size_t used = c->req_len <= c->in_len ? c->req_len : c->in_len;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    /* A large request's buffer is not kept for an idle keep-alive connection. */
    if (!c->in_len && c->in_cap > 65536) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    c->req_len = 0;
    c->have_head = 0;
    memset(&c->chunk, 0, sizeof c->chunk);
    c->verdict = GW_OK;
    c->verdict_why = NULL;
    c->started_us = c->in_len ? gw_monotonic_us() : 0;
}

/* A refused connection: our side is closed now (the client reads the answer, then the end),
 * what it still sends is read and discarded for a bounded while by the dispatcher. */
static void conn_linger(gw_server *srv, gw_conn *c, const gw_runtime *rt)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    shutdown(c->fd, SHUT_WR);
    c->state = CS_LINGER;
    c->in_len = 0;
    c->want_write = 0;
    c->linger_until_us = gw_monotonic_us() + LINGER_US;
    c->linger_left = rt->config->max_body_bytes + LINGER_EXTRA_BYTES;
    conn_park(srv, c, EPOLL_CTL_MOD, 0);
}

struct worker_arg {
    gw_server *srv;
    gw_worker *w;
};

/* The request is answered (or the engine gave up): the engine lets go of the connection, which
 * lingers (refused), waits for its next request (kept) or closes, and the slot is free. */
static void slot_finish(gw_server *srv, gw_slot *sl)
{
    struct soap *s = sl->soap;
    gw_conn *c = sl->conn;
    int refused = sl->refused, keep = sl->keep && !refused && !c->head.close;
    const gw_runtime *rt = sl->rt; /* the slot may be taken again once released */
    sl->rt = NULL;
    soap_destroy(s);
    soap_end(s);
    sl->input.data = NULL;
    sl->input.len = sl->input.off = 0;
    /* gSOAP closes (and frees the TLS state of) a connection it gives up on itself. */
    if (!soap_valid_socket(s->socket))
        c->fd = -1;
    c->ssl = s->ssl;
    s->ssl = NULL;
    s->socket = SOAP_INVALID_SOCKET;
    slot_release(srv, sl);
    if (c->fd < 0) {
        conn_close(c);
    } else if (refused) {
        conn_linger(srv, c, rt);
    } else if (keep && !c->eof) {
        conn_consume(c);
        /* Bytes the client sent ahead (pipelining) sit in c->in or decrypted in OpenSSL:
         * epoll would not report them, so the dispatcher is called back at once. */
        conn_park(srv, c, EPOLL_CTL_MOD, c->in_len > 0 || (c->ssl && SSL_pending(c->ssl)));
    } else {
        conn_close(c);
    }
    /* The exchange is over (answered and logged): its snapshot may go if it was replaced. */
    gw_live_release(srv->live, rt);
}

/* Writes an exchange's answer, now that its row is committed (or the log refused it: then the
 * answer becomes Server.LogUnavailable first), and finishes the slot. */
static void slot_answer(gw_server *srv, gw_slot *sl, int log_reported)
{
    gw_exchange *ex = &sl->exchange;
    struct soap *s = sl->soap;
    if (log_reported)
        gw_pipeline_log_settled(ex, sl->log_status, &sl->resp);
    gw_metrics_exchange_done(ex, sl->rt->config);
    if (send_response(srv, s, &sl->resp))
        gw_log(PIDE_LOG_DEBUG, "[%s] reply not delivered", ex->exchange_id);
    gw_exchange_end(ex);
    sl->keep = s->keep_alive != 0 && s->error == SOAP_OK;
    slot_finish(srv, sl);
}

static void *worker_loop(void *arg)
{
    gw_server *srv = ((struct worker_arg *)arg)->srv;
    gw_worker *w = ((struct worker_arg *)arg)->w;
    free(arg);
    gw_slot *sl, *answer;
    while (queue_pop(srv, &sl, &answer)) {
        gw_metrics_worker_busy(1);
        if (answer) {
            slot_answer(srv, answer, 1);
            gw_metrics_worker_busy(-1);
            continue;
        }
        gw_conn *c = sl->conn;
        struct soap *s = sl->soap;
        /* The configuration in force when the request starts is the one it runs on to its end,
         * whatever reloads happen meanwhile (reload.h). */
        sl->rt = gw_live_acquire(srv->live);
        if (gw_exchange_env_use(&w->env, sl->rt->generation, sl->rt->catalog.count) != GW_OK)
            gw_log(PIDE_LOG_WARN, "worker %d: no memory for its schema validators", w->id);
        s->recv_timeout = sl->rt->config->recv_timeout_s;
        s->send_timeout = sl->rt->config->send_timeout_s;
        s->socket = c->fd;
        s->ssl = c->ssl;
        s->bufidx = s->buflen = 0;
        sl->input.data = c->in;
        sl->input.len = c->req_len;
        sl->input.off = 0;
        sl->refused = c->verdict != GW_OK;
        sl->keep = 0;
        switch (sl->refused ? serve_refusal(w, sl) : serve_one(w, sl)) {
        case SERVED: /* a GET, a plain refusal, or nothing to answer */
            slot_finish(srv, sl);
            break;
        case ANSWER_READY:
            slot_answer(srv, sl, 0);
            break;
        default: /* the worker moves on; the log's report queues the answer */
            if (atomic_fetch_sub(&sl->holds, 1) == 1)
                answer_push(srv, sl);
        }
        gw_metrics_worker_busy(-1);
    }
    return NULL;
}

/* ---- dispatcher ---- */

static void accept_ready(gw_server *srv, gw_listener *l)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof sa;
        int fd = accept4(l->fd, (struct sockaddr *)&sa, &salen, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                gw_log(PIDE_LOG_WARN, "accept: %s", strerror(errno));
            return;
        }
        gw_conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = srv;
        c->fd = fd;
        c->tls = l->tls;
        c->state = CS_REQUEST;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (sa.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, c->address,
                      sizeof c->address);
        else
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, c->address,
                      sizeof c->address);
        if (c->tls) {
            /* The handshake is the dispatcher's, within handshakeTimeoutSeconds, and one
             * address may only have maxHandshakesPerIp of them under way. */
            c->hs_bucket = hs_bucket_of(srv, c->address);
            if (srv->hs_count[c->hs_bucket] >= srv->rt->config->max_handshakes_per_ip) {
                gw_metrics_tls_handshake(GW_TLS_HS_REFUSED);
                gw_log(PIDE_LOG_INFO, "%s: TLS connection refused: %d handshakes already under "
                       "way from this address", c->address, srv->rt->config->max_handshakes_per_ip);
                conn_close(c);
                continue;
            }
            /* New handshakes use the current configuration's certificate and CAs; the connection
             * keeps that snapshot (and its SSL_CTX) for its life. */
            c->rt = gw_live_acquire(srv->live);
            c->ssl = gw_tls_conn_new(c->rt->tls, fd);
            if (!c->ssl) {
                conn_close(c);
                continue;
            }
            srv->hs_count[c->hs_bucket]++;
            c->hs_counted = 1;
            c->state = CS_HANDSHAKE;
            c->started_us = gw_monotonic_us();
        }
        conn_park(srv, c, EPOLL_CTL_ADD, 0);
    }
}

static void conn_drop(gw_server *srv, gw_conn *c)
{
    epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    conn_close(c);
}

/* Closes connections idle longer than keepAliveIdleSeconds, handshakes not done within
 * handshakeTimeoutSeconds, lingering ones past their while, and requests whose head has not
 * all arrived within recvTimeoutSeconds of their first byte. A request whose head arrived but
 * whose body stopped short is answered with Client.IncompleteBody (and logged) instead. */
static void sweep_idle(gw_server *srv)
{
    const gw_config *cfg = srv->rt->config;
    int64_t now = gw_monotonic_us();
    int64_t idle_limit = now - (int64_t)cfg->keepalive_idle_s * 1000000;
    int64_t recv_limit = now - (int64_t)cfg->recv_timeout_s * 1000000;
    int64_t hs_limit = now - (int64_t)cfg->handshake_timeout_s * 1000000;
    gw_conn *late = NULL; /* answered by a worker, after the lock is released */
    pthread_mutex_lock(&srv->parked_lock);
    gw_conn *c = srv->parked.next;
    while (c != &srv->parked) {
        gw_conn *next = c->next;
        int drop = 0;
        if (c->state == CS_HANDSHAKE) {
            if (c->started_us < hs_limit) {
                gw_metrics_tls_handshake(GW_TLS_HS_TIMEOUT);
                gw_log(PIDE_LOG_INFO, "%s: TLS handshake not done within %d s: closed",
                       c->address, cfg->handshake_timeout_s);
                drop = 1;
            }
        } else if (c->state == CS_LINGER) {
            drop = c->linger_until_us < now;
        } else if (c->started_us && c->started_us < recv_limit) {
            if (c->have_head) {
                parked_unlink(c);
                epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
                c->verdict = GW_ERR_INCOMPLETE_BODY;
                c->verdict_why = "the body did not arrive within recvTimeoutSeconds";
                c->queue_next = late;
                late = c;
            } else {
                drop = 1;
            }
        } else if (!c->started_us && c->last_active_us < idle_limit) {
            drop = 1;
        }
        if (drop) {
            parked_unlink(c);
            conn_drop(srv, c);
        }
        c = next;
    }
    pthread_mutex_unlock(&srv->parked_lock);
    while (late) {
        gw_conn *n = late->queue_next;
        conn_to_worker(srv, late);
        late = n;
    }
}

/* Room for one request: its head, and its body even chunked in small pieces. */
static size_t input_cap(const gw_config *cfg)
{
    return cfg->max_header_bytes + 2 * cfg->max_body_bytes + LINGER_EXTRA_BYTES;
}

enum { IN_WAIT, IN_READY, IN_CLOSE };

/* Reads what the connection has to give without blocking, up to input_cap. */
static void conn_read(gw_conn *c, size_t cap)
{
    c->want_write = 0;
    while (!c->eof && c->in_len < cap) {
        if (c->in_cap - c->in_len < 4096 && c->in_cap < cap) {
            size_t ncap = c->in_cap ? 2 * c->in_cap : 8192;
            if (ncap > cap)
                ncap = cap;
            char *p = realloc(c->in, ncap);
            if (!p) {
                c->eof = 1;
                return;
            }
            c->in = p;
            c->in_cap = ncap;
        }
        size_t room = c->in_cap - c->in_len;
        if (c->ssl) {
            ERR_clear_error();
            int n = SSL_read(c->ssl, c->in + c->in_len, room > INT_MAX ? INT_MAX : (int)room);
            if (n > 0) {
                if (!c->in_len && !c->started_us)
                    c->started_us = gw_monotonic_us();
                c->in_len += (size_t)n;
                continue;
            }
            int e = SSL_get_error(c->ssl, n);
            if (e == SSL_ERROR_WANT_READ)
                return;
            if (e == SSL_ERROR_WANT_WRITE) {
                c->want_write = 1;
                return;
            }
            ERR_clear_error();
            c->eof = 1;
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
        if (n > 0) {
            if (!c->in_len && !c->started_us)
                c->started_us = gw_monotonic_us();
            c->in_len += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        c->eof = 1;
    }
}

static int refuse(gw_conn *c, gw_status why, const char *detail)
{
    gw_metrics_http_refusal();
    c->verdict = why;
    c->verdict_why = detail;
    c->req_len = c->in_len;
    return IN_READY;
}

/* Decides what the bytes read so far amount to: a whole request (IN_READY, possibly refused:
 * c->verdict), not yet (IN_WAIT), or nothing worth answering (IN_CLOSE). */
static int conn_evaluate(gw_server *srv, gw_conn *c)
{
    const gw_config *cfg = srv->rt->config;
    if (!c->have_head) {
        if (!c->in_len)
            return c->eof ? IN_CLOSE : IN_WAIT;
        size_t line_max = cfg->max_header_bytes < HEADER_LINE_MAX ? cfg->max_header_bytes
                                                                   : HEADER_LINE_MAX;
        switch (gw_http_head_parse(c->in, c->in_len, line_max, cfg->max_header_bytes,
                                   &c->head)) {
        case GW_HEAD_INCOMPLETE:
            return c->eof ? IN_CLOSE : IN_WAIT;
        case GW_HEAD_BAD:
            return refuse(c, GW_ERR_BAD_FRAMING, c->head.why);
        case GW_HEAD_TOO_LARGE:
            return refuse(c, GW_ERR_HEADER_TOO_LARGE, c->head.why);
        case GW_HEAD_OK:
            break;
        }
        c->have_head = 1;
        const char *m = c->in + c->head.method_off;
        size_t ml = c->head.method_len;
        int get = ml == 3 && memcmp(m, "GET", 3) == 0;
        int post = ml == 4 && memcmp(m, "POST", 4) == 0;
        if (!get && !post)
            return refuse(c, GW_ERR_METHOD_NOT_ALLOWED, NULL);
        if (c->head.content_length > (int64_t)cfg->max_body_bytes)
            return refuse(c, GW_ERR_REQUEST_TOO_LARGE, "the announced body is over maxBodyBytes");
        if (post && !c->head.chunked && c->head.content_length <= 0)
            return refuse(c, GW_ERR_EMPTY_BODY, NULL);
        /* A client waiting for "100 Continue" before its body gets it now (best effort: a
         * client that gets none sends its body after its own timeout). */
        if (c->head.expect_continue && c->in_len == c->head.head_len) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            if (c->ssl) {
                ERR_clear_error();
                if (SSL_write(c->ssl, cont, (int)sizeof cont - 1) <= 0)
                    ERR_clear_error();
            } else if (send(c->fd, cont, sizeof cont - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
                gw_log(PIDE_LOG_DEBUG, "%s: 100 Continue not sent: %s", c->address,
                       strerror(errno));
            }
        }
    }
    size_t head_len = c->head.head_len;
    if (c->head.chunked) {
        switch (gw_chunked_scan_feed(&c->chunk, c->in + head_len, c->in_len - head_len,
                                     cfg->max_body_bytes, HEADER_LINE_MAX)) {
        case GW_CHUNKED_DONE:
            c->req_len = head_len + c->chunk.pos;
            if (c->chunk.decoded == 0 && c->head.method_len == 4)
                return refuse(c, GW_ERR_EMPTY_BODY, NULL);
            return IN_READY;
        case GW_CHUNKED_BAD:
            return refuse(c, GW_ERR_BAD_FRAMING, "malformed chunked body");
        case GW_CHUNKED_TOO_LARGE:
            return refuse(c, GW_ERR_REQUEST_TOO_LARGE, "the chunked body is over maxBodyBytes");
        case GW_CHUNKED_INCOMPLETE:
            break;
        }
    } else {
        size_t body = c->head.content_length > 0 ? (size_t)c->head.content_length : 0;
        if (c->in_len - head_len >= body) {
            c->req_len = head_len + body;
            return IN_READY;
        }
    }
    if (c->eof)
        return refuse(c, GW_ERR_INCOMPLETE_BODY, "the client closed before the whole body");
    if (c->in_len >= input_cap(cfg))
        return refuse(c, GW_ERR_REQUEST_TOO_LARGE, "the request is over the input limit");
    return IN_WAIT;
}

static void conn_request_progress(gw_server *srv, gw_conn *c)
{
    conn_read(c, input_cap(srv->rt->config));
    switch (conn_evaluate(srv, c)) {
    case IN_READY:
        conn_to_worker(srv, c);
        break;
    case IN_WAIT:
        conn_park(srv, c, EPOLL_CTL_MOD, 0);
        break;
    default:
        conn_drop(srv, c);
    }
}

/* A parked connection can make progress. */
static void conn_ready(gw_server *srv, gw_conn *c)
{
    if (c->state == CS_HANDSHAKE) {
        char err[512];
        switch (gw_tls_handshake_step(c->ssl, &c->peer, err, sizeof err)) {
        case GW_TLS_DONE:
            gw_metrics_tls_handshake(GW_TLS_HS_OK);
            hs_release(c);
            c->state = CS_REQUEST;
            c->started_us = 0;
            c->want_write = 0;
            conn_request_progress(srv, c);
            return;
        case GW_TLS_WANT_READ:
            c->want_write = 0;
            conn_park(srv, c, EPOLL_CTL_MOD, 0);
            return;
        case GW_TLS_WANT_WRITE:
            c->want_write = 1;
            conn_park(srv, c, EPOLL_CTL_MOD, 0);
            return;
        case GW_TLS_FAILED:
            gw_metrics_tls_handshake(GW_TLS_HS_FAILED);
            gw_log(PIDE_LOG_INFO, "%s: %s", c->address, err);
            conn_drop(srv, c);
            return;
        }
    }
    if (c->state == CS_LINGER) {
        char sink[16384];
        for (;;) {
            ssize_t n = recv(c->fd, sink, sizeof sink, MSG_DONTWAIT);
            if (n > 0 && (size_t)n < c->linger_left) {
                c->linger_left -= (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                int64_t until = c->linger_until_us;
                conn_park(srv, c, EPOLL_CTL_MOD, 0); /* refreshes last_active_us only */
                (void)until;
                return;
            }
            conn_drop(srv, c); /* the client closed, failed, or sent too much */
            return;
        }
    }
    conn_request_progress(srv, c);
}

/* Once the server stops: connections with no request under way are closed; the dispatcher
 * goes on only while some request is still arriving (each gets its answer, or the
 * Client.IncompleteBody Fault at recvTimeoutSeconds). 1: nothing left, the dispatcher ends. */
static int drain_parked(gw_server *srv)
{
    int left = 0;
    pthread_mutex_lock(&srv->parked_lock);
    gw_conn *c = srv->parked.next;
    while (c != &srv->parked) {
        gw_conn *next = c->next;
        if (c->state == CS_REQUEST && c->started_us) {
            left++;
        } else {
            parked_unlink(c);
            conn_drop(srv, c);
        }
        c = next;
    }
    pthread_mutex_unlock(&srv->parked_lock);
    return left == 0;
}

static void *dispatcher_loop(void *arg)
{
    gw_server *srv = arg;
    struct epoll_event events[128];
    int64_t last_sweep = gw_monotonic_us();
    int draining = 0;
    for (;;) {
        int n = epoll_wait(srv->epoll_fd, events, 128, 250);
        /* A reload (reload.h): the dispatcher applies the new limits from now on. */
        if (gw_live_generation(srv->live) != srv->rt->generation) {
            const gw_runtime *old = srv->rt;
            srv->rt = gw_live_acquire(srv->live);
            gw_live_release(srv->live, old);
        }
        if (n < 0 && errno != EINTR) {
            gw_log(PIDE_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            void *p = events[i].data.ptr;
            if (p == &srv->plain || p == &srv->member) {
                if (!draining)
                    accept_ready(srv, p);
            } else if (p == &srv->wake_fd) {
                uint64_t v;
                if (read(srv->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                    gw_log(PIDE_LOG_WARN, "wake: %s", strerror(errno));
                draining = 1;
                epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, srv->plain.fd, NULL);
                if (srv->member.fd >= 0)
                    epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, srv->member.fd, NULL);
            } else {
                gw_conn *c = p;
                pthread_mutex_lock(&srv->parked_lock);
                int was_parked = c->parked;
                if (was_parked)
                    parked_unlink(c);
                pthread_mutex_unlock(&srv->parked_lock);
                if (was_parked)
                    conn_ready(srv, c);
            }
        }
        if (gw_monotonic_us() - last_sweep > 250000) {
            sweep_idle(srv);
            last_sweep = gw_monotonic_us();
        }
        if (draining && drain_parked(srv))
            break;
    }
    return NULL;
}

/* ---- start / stop ---- */

gw_status gw_tcp_listen(const char *what, const char *address, int port, int backlog, int *fd_out,
                        int *port_out, char *err, size_t errlen)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    memset(&sa, 0, sizeof sa);
    struct sockaddr_in *in4 = (struct sockaddr_in *)&sa;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
    if (inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        salen = sizeof *in4;
    } else if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        salen = sizeof *in6;
    } else {
        gw_set_error(err, errlen, "%s address '%s' is not an IP address", what, address);
        return GW_ERR_CONFIG;
    }
    int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, salen) != 0 || listen(fd, backlog) != 0)
        goto fail;
    salen = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &salen);
    *port_out = ntohs(sa.ss_family == AF_INET6 ? in6->sin6_port : in4->sin_port);
    *fd_out = fd;
    return GW_OK;
fail:
    gw_set_error(err, errlen, "cannot listen on %s:%d (%s): %s", address, port, what,
                 strerror(errno));
    if (fd >= 0)
        close(fd);
    return GW_ERR_IO;
}

static gw_status worker_init(gw_worker *w, const gw_runtime *rt, int id)
{
    memset(w, 0, sizeof *w);
    w->id = id;
    gw_status st = gw_exchange_env_init(&w->env, rt->signer, rt->catalog.count, id);
    if (st == GW_OK)
        w->env.generation = rt->generation;
    return st;
}

static void worker_fini(gw_worker *w)
{
    gw_exchange_env_fini(&w->env);
    memset(w, 0, sizeof *w);
}

static void slot_fini(gw_slot *sl)
{
    if (sl->soap)
        soap_free(sl->soap);
    gw_arena_destroy(&sl->exchange.arena);
    memset(sl, 0, sizeof *sl);
}

static struct soap *inbound_engine_new(const gw_config *cfg, gw_slot *w)
{
    struct soap *s = soap_new1(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
    if (!s)
        return NULL;
    s->user = w;
    s->fget = serve_get;
    s->recv_timeout = cfg->recv_timeout_s;
    s->send_timeout = cfg->send_timeout_s;
    /* The engine reads only the request the dispatcher read (request_recv). */
    s->frecv = request_recv;
    s->max_keep_alive = 0;
    s->socket = SOAP_INVALID_SOCKET;
    return s;
}

gw_status gw_server_start(const gw_runtime *rt, gw_server **out, char *err, size_t errlen)
{
    gw_live *live = NULL;
    /* A fixed configuration: a live nobody swaps, that leaves rt to the caller. */
    if (gw_live_new((gw_runtime *)rt, 0, &live) != GW_OK)
        return GW_ERR_NOMEM;
    gw_status st = gw_server_start_live(live, out, err, errlen);
    if (st == GW_OK)
        (*out)->owns_live = 1;
    else
        gw_live_free(live);
    return st;
}

gw_status gw_server_start_live(gw_live *live, gw_server **out, char *err, size_t errlen)
{
    gw_status st = GW_ERR_NOMEM;
    gw_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return GW_ERR_NOMEM;
    srv->live = live;
    const gw_runtime *rt = srv->rt = gw_live_acquire(live);
    srv->plain.fd = srv->member.fd = srv->epoll_fd = srv->wake_fd = -1;
    srv->member.tls = 1;
    pthread_mutex_init(&srv->queue_lock, NULL);
    pthread_cond_init(&srv->queue_cond, NULL);
    pthread_mutex_init(&srv->parked_lock, NULL);
    srv->parked.next = srv->parked.prev = &srv->parked;
    if (getrandom(&srv->hs_seed, sizeof srv->hs_seed, 0) != sizeof srv->hs_seed)
        srv->hs_seed = (uint64_t)gw_now_us();

    const gw_config *cfg = rt->config;
    st = gw_tcp_listen("listen", cfg->listen_address, cfg->listen_port, cfg->backlog,
                       &srv->plain.fd, &srv->plain.port, err, errlen);
    if (st == GW_OK && cfg->tls_enabled)
        st = gw_tcp_listen("tls", cfg->tls_address, cfg->tls_port, cfg->backlog, &srv->member.fd,
                           &srv->member.port, err, errlen);
    if (st != GW_OK)
        goto fail;
    st = GW_ERR_IO;
    srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->epoll_fd < 0 || srv->wake_fd < 0) {
        gw_set_error(err, errlen, "epoll/eventfd: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &srv->plain};
    struct epoll_event mev = {.events = EPOLLIN, .data.ptr = &srv->member};
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &srv->wake_fd};
    if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->plain.fd, &lev) != 0 ||
        (srv->member.fd >= 0 &&
         epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->member.fd, &mev) != 0) ||
        epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->wake_fd, &wev) != 0) {
        gw_set_error(err, errlen, "epoll_ctl: %s", strerror(errno));
        goto fail;
    }

    srv->worker_count = rt->config->workers > 0 ? rt->config->workers : 1;
    /* Exchanges in flight (<listen maxInFlight>, default twice the workers): those being worked
     * on, and those waiting for their log commit, each holding its connection and engine. */
    srv->slot_count = rt->config->max_in_flight >= srv->worker_count ? rt->config->max_in_flight
                                                                      : 2 * srv->worker_count;
    srv->slots = calloc((size_t)srv->slot_count, sizeof *srv->slots);
    if (!srv->slots) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    for (int i = 0; i < srv->slot_count; i++) {
        gw_slot *sl = &srv->slots[i];
        sl->srv = srv;
        gw_arena_init(&sl->exchange.arena, 32768);
        if (!(sl->soap = inbound_engine_new(rt->config, sl))) {
            gw_set_error(err, errlen, "cannot create the HTTP engine of slot %d", i);
            st = GW_ERR_NOMEM;
            goto fail;
        }
        sl->next = srv->free_slots;
        srv->free_slots = sl;
    }
    srv->workers = calloc((size_t)srv->worker_count, sizeof *srv->workers);
    srv->worker_threads = calloc((size_t)srv->worker_count, sizeof *srv->worker_threads);
    if (!srv->workers || !srv->worker_threads) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    for (int i = 0; i < srv->worker_count; i++) {
        gw_worker *w = &srv->workers[i];
        st = worker_init(w, rt, i);
        struct worker_arg *wa = st == GW_OK ? malloc(sizeof *wa) : NULL;
        if (!wa) {
            gw_set_error(err, errlen, "cannot create worker %d: %s", i, gw_status_message(st));
            st = GW_ERR_NOMEM;
            goto fail;
        }
        wa->srv = srv;
        wa->w = w;
        if (pthread_create(&srv->worker_threads[i], NULL, worker_loop, wa) != 0) {
            free(wa);
            gw_set_error(err, errlen, "cannot start worker %d", i);
            st = GW_ERR_INTERNAL;
            goto fail;
        }
        srv->workers_started++;
    }
    if (pthread_create(&srv->dispatcher, NULL, dispatcher_loop, srv) != 0) {
        gw_set_error(err, errlen, "cannot start the dispatcher");
        st = GW_ERR_INTERNAL;
        goto fail;
    }
    srv->dispatcher_started = 1;
    *out = srv;
    return GW_OK;
fail:
    gw_server_stop(srv);
    return st;
}

int gw_server_port(const gw_server *srv) { return srv->plain.port; }

int gw_server_tls_port(const gw_server *srv) { return srv->member.fd >= 0 ? srv->member.port : 0; }

void gw_server_stop(gw_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->draining, 1);
    if (srv->dispatcher_started) {
        uint64_t one = 1;
        if (write(srv->wake_fd, &one, sizeof one) < 0)
            gw_log(PIDE_LOG_WARN, "cannot wake the dispatcher: %s", strerror(errno));
        pthread_join(srv->dispatcher, NULL);
    }
    /* Workers finish what is queued and answer every exchange in flight (each one once its row
     * is committed, or with Server.LogUnavailable), then see `stopping` with nothing left and
     * return. */
    pthread_mutex_lock(&srv->queue_lock);
    srv->stopping = 1;
    pthread_cond_broadcast(&srv->queue_cond);
    pthread_mutex_unlock(&srv->queue_lock);
    for (int i = 0; i < srv->workers_started; i++)
        pthread_join(srv->worker_threads[i], NULL);
    for (int i = 0; i < srv->worker_count && srv->workers; i++)
        worker_fini(&srv->workers[i]);
    for (int i = 0; i < srv->slot_count && srv->slots; i++)
        slot_fini(&srv->slots[i]);
    free(srv->slots);
    /* Connections still parked in epoll. */
    while (srv->parked.next != &srv->parked) {
        gw_conn *c = srv->parked.next;
        parked_unlink(c);
        conn_close(c);
    }
    gw_live_release(srv->live, srv->rt);
    if (srv->owns_live)
        gw_live_free(srv->live);
    free(srv->workers);
    free(srv->worker_threads);
    if (srv->plain.fd >= 0)
        close(srv->plain.fd);
    if (srv->member.fd >= 0)
        close(srv->member.fd);
    if (srv->epoll_fd >= 0)
        close(srv->epoll_fd);
    if (srv->wake_fd >= 0)
        close(srv->wake_fd);
    pthread_mutex_destroy(&srv->queue_lock);
    pthread_cond_destroy(&srv->queue_cond);
    pthread_mutex_destroy(&srv->parked_lock);
    free(srv);
}
