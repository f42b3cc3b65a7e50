/* server.c — epoll dispatcher + fixed worker pool over gSOAP's HTTP engine (see server.h). */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "tls.h"
#include "pipeline.h"
#include "stdsoap2.h"

typedef struct gw_listener {
    int fd;
    int port;
    int tls;                     /* the member listener: TLS handshake before the first request */
} gw_listener;

typedef struct gw_conn {
    int fd;
    int tls;
    SSL *ssl;                    /* NULL until the handshake (TLS listener only) */
    gw_tls_peer peer;
    char address[INET6_ADDRSTRLEN];
    int64_t last_active_us;
    struct gw_conn *prev, *next; /* in the parked list while waiting in epoll */
    int parked;
    struct gw_conn *queue_next;  /* in the ready queue */
    /* Plain connections: the start of a request, read by the dispatcher until its headers are
     * complete, so a client trickling its headers holds no worker. */
    char *head;
    size_t head_len, head_cap;
    int64_t head_started_us;     /* when its first byte came; 0: no request begun */
} gw_conn;

/* Headers longer than this are handed to the engine as they are (it refuses them). */
#define REQUEST_HEAD_MAX 65536

struct gw_server {
    const gw_runtime *rt;
    gw_listener plain;           /* HTTP, loopback */
    gw_listener member;          /* HTTPS with client certificates, when configured */
    int epoll_fd;
    int wake_fd;                 /* eventfd: tells the dispatcher to stop */
    pthread_t dispatcher;
    int dispatcher_started;

    /* connections ready for a worker */
    pthread_mutex_t queue_lock;
    pthread_cond_t queue_cond;
    gw_conn *queue_head, *queue_tail;
    int stopping;
    atomic_int draining;         /* set first thing on stop: answers carry Connection: close */

    /* connections waiting in epoll, for the idle sweep */
    pthread_mutex_t parked_lock;
    gw_conn parked;              /* list head */

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

/* NULL when the server is stopping and nothing is left. */
static gw_conn *queue_pop(gw_server *srv)
{
    pthread_mutex_lock(&srv->queue_lock);
    while (!srv->queue_head && !srv->stopping)
        pthread_cond_wait(&srv->queue_cond, &srv->queue_lock);
    gw_conn *c = srv->queue_head;
    if (c) {
        srv->queue_head = c->queue_next;
        if (!srv->queue_head)
            srv->queue_tail = NULL;
    }
    pthread_mutex_unlock(&srv->queue_lock);
    return c;
}

/* ---- connections ---- */

static void conn_close(gw_conn *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c->head);
    free(c);
}

static void parked_unlink(gw_conn *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->parked = 0;
}

/* Puts a connection in epoll (op ADD for a new one, MOD for one a worker is done with) until
 * its next request arrives: workers only ever get connections with bytes ready to read, so a
 * client that connects and says nothing holds no worker. */
static void conn_park(gw_server *srv, gw_conn *c, int op)
{
    c->last_active_us = gw_now_us();
    pthread_mutex_lock(&srv->parked_lock);
    c->next = srv->parked.next;
    c->prev = &srv->parked;
    srv->parked.next->prev = c;
    srv->parked.next = c;
    c->parked = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = c};
    int rc = epoll_ctl(srv->epoll_fd, op, c->fd, &ev);
    if (rc != 0)
        parked_unlink(c);
    pthread_mutex_unlock(&srv->parked_lock);
    if (rc != 0)
        conn_close(c);
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

/* gSOAP calls this for every GET: /services/<name>?wsdl returns the service's WSDL. */
/* While the server drains, answers say Connection: close, so clients do not send another
 * request on a connection nobody will read again. */
void gw_worker_close_if_draining(gw_worker *w, struct soap *s)
{
    if (w->draining && atomic_load(w->draining))
        s->keep_alive = 0;
}

static int serve_get(struct soap *s)
{
    gw_worker *w = s->user;
    gw_worker_keep_read_ahead(w, s);
    gw_worker_close_if_draining(w, s);
    const char *path = s->path;
    const char *q = strchr(path, '?');
    if (strncmp(path, "/services/", 10) == 0 && q && strcasecmp(q + 1, "wsdl") == 0) {
        char name[256];
        size_t n = (size_t)(q - (path + 10));
        if (n < sizeof name) {
            memcpy(name, path + 10, n);
            name[n] = '\0';
            const gw_service *svc = gw_service_catalog_find(&w->rt->catalog, name);
            if (svc)
                return send_plain(s, 200, "text/xml; charset=utf-8", svc->wsdl, svc->wsdl_len);
        }
    }
    /* The XSDs the WSDLs import (schemaLocation="../schemas/<file>"), so SOAP toolkits that
     * fetch ?wsdl from the gateway can resolve them. Only configured services' schemas. */
    if (strncmp(path, "/schemas/", 9) == 0 && !q) {
        const gw_service *svc = gw_service_catalog_find_schema(&w->rt->catalog, path + 9);
        if (svc)
            return send_plain(s, 200, "text/xml; charset=utf-8", svc->schema_text,
                              svc->schema_len);
    }
    if (strcmp(path, "/health") == 0)
        return send_plain(s, 200, "text/plain", "ok\n", 3);
    static const char not_found[] =
        "not found: the gateway serves POST /services/<name>, GET /services/<name>?wsdl and the "
        "schemas they import under /schemas/\n";
    return send_plain(s, 404, "text/plain", not_found, sizeof not_found - 1);
}

/* ---- what the engine reads ---- */

/* Room for the request line and headers on top of maxBodyBytes. */
#define REQUEST_HEADER_ALLOWANCE 65536

/* The engine's receive. It first hands back what a client sent ahead of this request (stashed
 * by stash_read_ahead: gSOAP does not keep its buffer from one request to the next), and cuts a
 * request off once it has read more than its limit: the engine then sees the end of the stream
 * and stage_receive answers Client.RequestTooLarge. This holds for chunked bodies too, whose size
 * is not announced. */
static size_t limited_recv(struct soap *s, char *buf, size_t len)
{
    gw_worker *w = s->user;
    if (w->input.bytes >= w->input.limit) {
        w->input.too_large = 1;
        return 0;
    }
    if (len > w->input.limit - w->input.bytes)
        len = w->input.limit - w->input.bytes;
    size_t n;
    if (w->input.pending_off < w->input.pending_len) {
        n = w->input.pending_len - w->input.pending_off;
        if (n > len)
            n = len;
        memcpy(buf, w->input.pending + w->input.pending_off, n);
        w->input.pending_off += n;
    } else {
        n = w->input.recv(s, buf, len);
    }
    w->input.bytes += n;
    return n;
}

void gw_worker_keep_read_ahead(gw_worker *w, struct soap *s)
{
    w->input.pending_len = w->input.pending_off = 0;
    if (s->bufidx >= s->buflen)
        return;
    size_t n = s->buflen - s->bufidx;
    if (n > w->input.pending_cap) {
        char *p = realloc(w->input.pending, n);
        if (!p) {
            /* Without room the read-ahead is lost: close rather than answer out of step. */
            s->keep_alive = 0;
            return;
        }
        w->input.pending = p;
        w->input.pending_cap = n;
    }
    memcpy(w->input.pending, s->buf + s->bufidx, n);
    w->input.pending_len = n;
}

/* ---- one request ---- */

/* Serves one request on c with worker w. Returns 1 to keep the connection, 0 to close it. */
static int serve_one(gw_worker *w, gw_conn *c)
{
    struct soap *s = w->soap;
    soap_begin(s);
    s->error = SOAP_OK;
    s->keep_alive = 1;
    w->input.bytes = 0;
    w->input.too_large = 0;
    int rc = soap_begin_recv(s);
    int keep = 0;
    if (rc == SOAP_STOP) {
        keep = s->keep_alive != 0; /* a GET answered by serve_get */
    } else if (rc >= SOAP_GET_METHOD && rc <= SOAP_HTTP_METHOD) {
        static const char msg[] = "method not allowed: use POST for SOAP, GET for ?wsdl\n";
        s->keep_alive = 0;
        send_plain(s, 405, "text/plain", msg, sizeof msg - 1);
    } else if (rc == SOAP_OK) {
        gw_exchange *ex = &w->exchange;
        exchange_begin(ex, w->rt, w, s, c->address);
        ex->http_path = gw_arena_strdup(&ex->arena, s->path);
        if (c->tls) {
            ex->tls_member = c->peer.member_id;
            ex->tls_subject = c->peer.subject;
            ex->tls_cert_sha256 = c->peer.fingerprint[0] ? c->peer.fingerprint : NULL;
        }
        pipeline_run(ex);
        exchange_end(ex);
        keep = s->keep_alive != 0 && s->error == SOAP_OK;
    }
    /* else: the client closed, timed out or sent garbage before a request line: just close. */
    soap_destroy(s);
    soap_end(s);
    return keep;
}

/* Moves the request head the dispatcher read into what the engine reads first. */
static void take_head(gw_worker *w, gw_conn *c)
{
    w->input.pending_len = w->input.pending_off = 0;
    if (!c->head_len)
        return;
    if (c->head_len > w->input.pending_cap) {
        char *p = realloc(w->input.pending, c->head_len);
        if (!p)
            return; /* the engine then reads the socket only: the request is refused as garbled */
        w->input.pending = p;
        w->input.pending_cap = c->head_len;
    }
    memcpy(w->input.pending, c->head, c->head_len);
    w->input.pending_len = c->head_len;
    c->head_len = 0;
    c->head_started_us = 0;
}

static int pending_has_head(const gw_worker *w)
{
    size_t n = w->input.pending_len - w->input.pending_off;
    return n >= REQUEST_HEAD_MAX ||
           (n >= 4 && memmem(w->input.pending + w->input.pending_off, n, "\r\n\r\n", 4));
}

/* The unread start of the next request goes back to the connection, to be completed by the
 * dispatcher without holding this worker. */
static void give_back_head(gw_worker *w, gw_conn *c)
{
    size_t n = w->input.pending_len - w->input.pending_off;
    char *p = n > c->head_cap ? realloc(c->head, n) : c->head;
    if (!p)
        return;
    c->head = p;
    if (n > c->head_cap)
        c->head_cap = n;
    memcpy(c->head, w->input.pending + w->input.pending_off, n);
    c->head_len = n;
    c->head_started_us = gw_now_us();
    w->input.pending_len = w->input.pending_off = 0;
}

/* The member listener's handshake, done by a worker so the dispatcher never blocks. */
static int tls_handshake(gw_server *srv, gw_conn *c)
{
    char err[512];
    if (gw_tls_accept(srv->rt->tls, c->fd, srv->rt->config->recv_timeout_s, &c->ssl, &c->peer,
                      err, sizeof err) != GW_OK) {
        gw_log(PIDE_LOG_INFO, "%s: %s", c->address, err);
        return 0;
    }
    return 1;
}

struct worker_arg {
    gw_server *srv;
    gw_worker *w;
};

static void *worker_loop(void *arg)
{
    gw_server *srv = ((struct worker_arg *)arg)->srv;
    gw_worker *w = ((struct worker_arg *)arg)->w;
    free(arg);
    gw_conn *c;
    while ((c = queue_pop(srv)) != NULL) {
        struct soap *s = w->soap;
        if (c->tls && !c->ssl && !tls_handshake(srv, c)) {
            conn_close(c);
            continue;
        }
        s->socket = c->fd;
        s->ssl = c->ssl;
        s->bufidx = s->buflen = 0;
        take_head(w, c);
        int keep, ahead;
        /* Bytes the client sent ahead (pipelining), read into the engine's buffer or decrypted
         * in OpenSSL's: epoll would not report them, so serve them here. */
        do {
            s->bufidx = s->buflen = 0; /* read-ahead, if any, comes back via limited_recv */
            keep = serve_one(w, c);
            ahead = keep && w->input.pending_off < w->input.pending_len;
            /* Only the start of the next request: back to the dispatcher to wait for the rest. */
            if (ahead && !c->tls && !pending_has_head(w)) {
                give_back_head(w, c);
                ahead = 0;
            }
        } while (keep && (ahead || (s->ssl && SSL_pending(s->ssl) > 0)));
        w->input.pending_len = w->input.pending_off = 0;
        /* gSOAP closes (and frees the TLS state of) a connection it gives up on itself. */
        if (!soap_valid_socket(s->socket))
            c->fd = -1;
        c->ssl = s->ssl;
        s->ssl = NULL;
        s->socket = SOAP_INVALID_SOCKET;
        if (keep && c->fd >= 0)
            conn_park(srv, c, EPOLL_CTL_MOD);
        else
            conn_close(c);
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
        c->fd = fd;
        c->tls = l->tls;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (sa.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, c->address,
                      sizeof c->address);
        else
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, c->address,
                      sizeof c->address);
        conn_park(srv, c, EPOLL_CTL_ADD);
    }
}

/* Closes connections idle longer than keepAliveIdleSeconds, and those whose request headers
 * have not all arrived within recvTimeoutSeconds of their first byte. */
static void sweep_idle(gw_server *srv)
{
    int64_t now = gw_now_us();
    int64_t idle_limit = now - (int64_t)srv->rt->config->keepalive_idle_s * 1000000;
    int64_t head_limit = now - (int64_t)srv->rt->config->recv_timeout_s * 1000000;
    pthread_mutex_lock(&srv->parked_lock);
    gw_conn *c = srv->parked.next;
    while (c != &srv->parked) {
        gw_conn *next = c->next;
        if (c->last_active_us < idle_limit ||
            (c->head_started_us && c->head_started_us < head_limit)) {
            parked_unlink(c);
            epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
            conn_close(c);
        }
        c = next;
    }
    pthread_mutex_unlock(&srv->parked_lock);
}

/* 1 once c->head holds a whole request head (or as much as a head may be). */
static int head_complete(const gw_conn *c)
{
    return c->head_len >= REQUEST_HEAD_MAX ||
           (c->head_len >= 4 && memmem(c->head, c->head_len, "\r\n\r\n", 4) != NULL);
}

/* Reads what a plain connection has to give, without blocking. -1: closed or failed. */
static int read_head(gw_conn *c)
{
    for (;;) {
        if (c->head_cap - c->head_len < 4096 && c->head_cap < REQUEST_HEAD_MAX) {
            size_t cap = c->head_cap ? 2 * c->head_cap : 4096;
            char *p = realloc(c->head, cap);
            if (!p)
                return -1;
            c->head = p;
            c->head_cap = cap;
        }
        size_t room = c->head_cap - c->head_len;
        if (room == 0)
            return 0;
        ssize_t n = recv(c->fd, c->head + c->head_len, room, MSG_DONTWAIT);
        if (n > 0) {
            if (!c->head_len)
                c->head_started_us = gw_now_us();
            c->head_len += (size_t)n;
            if (head_complete(c))
                return 0;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

/* A parked connection has bytes to read. TLS connections go to a worker (the handshake and the
 * decryption are the engine's); a plain one gets a worker only once its request head is
 * complete, and otherwise waits in epoll again. */
static void conn_readable(gw_server *srv, gw_conn *c)
{
    if (c->tls) {
        queue_push(srv, c);
        return;
    }
    if (read_head(c) != 0) {
        epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
        conn_close(c);
    } else if (head_complete(c)) {
        queue_push(srv, c);
    } else {
        conn_park(srv, c, EPOLL_CTL_MOD);
    }
}

static void *dispatcher_loop(void *arg)
{
    gw_server *srv = arg;
    struct epoll_event events[128];
    int64_t last_sweep = gw_now_us();
    for (;;) {
        int n = epoll_wait(srv->epoll_fd, events, 128, 1000);
        if (n < 0 && errno != EINTR) {
            gw_log(PIDE_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            break;
        }
        int stop = 0;
        for (int i = 0; i < n; i++) {
            void *p = events[i].data.ptr;
            if (p == &srv->plain || p == &srv->member) {
                accept_ready(srv, p);
            } else if (p == &srv->wake_fd) {
                stop = 1;
            } else {
                gw_conn *c = p;
                pthread_mutex_lock(&srv->parked_lock);
                int was_parked = c->parked;
                if (was_parked)
                    parked_unlink(c);
                pthread_mutex_unlock(&srv->parked_lock);
                if (was_parked)
                    conn_readable(srv, c);
            }
        }
        if (stop)
            break;
        if (gw_now_us() - last_sweep > 1000000) {
            sweep_idle(srv);
            last_sweep = gw_now_us();
        }
    }
    return NULL;
}

/* ---- start / stop ---- */

static gw_status listen_on(gw_listener *l, const char *address, int port, int backlog,
                           char *err, size_t errlen)
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
        snprintf(err, errlen, "listen address '%s' is not an IP address", address);
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
    l->port = ntohs(sa.ss_family == AF_INET6 ? in6->sin6_port : in4->sin_port);
    l->fd = fd;
    return GW_OK;
fail:
    snprintf(err, errlen, "cannot listen on %s:%d: %s", address, port, strerror(errno));
    if (fd >= 0)
        close(fd);
    return GW_ERR_IO;
}

static struct soap *inbound_engine_new(const gw_config *cfg, gw_worker *w)
{
    struct soap *s = soap_new1(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
    if (!s)
        return NULL;
    s->user = w;
    s->fget = serve_get;
    s->recv_timeout = cfg->recv_timeout_s;
    s->send_timeout = cfg->send_timeout_s;
    /* A client trickling a byte just within every recv timeout must still not hold a worker:
     * the whole request has recvTimeoutSeconds to arrive. */
    s->transfer_timeout = cfg->recv_timeout_s;
    /* gSOAP's recv_maxlength truncates a body silently; count the bytes ourselves instead. */
    w->input.recv = s->frecv;
    s->frecv = limited_recv;
    w->input.limit = cfg->max_body_bytes + REQUEST_HEADER_ALLOWANCE;
    s->max_keep_alive = 0;
    s->socket = SOAP_INVALID_SOCKET;
    return s;
}

gw_status gw_server_start(const gw_runtime *rt, gw_server **out, char *err, size_t errlen)
{
    gw_status st = GW_ERR_NOMEM;
    gw_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return GW_ERR_NOMEM;
    srv->rt = rt;
    srv->plain.fd = srv->member.fd = srv->epoll_fd = srv->wake_fd = -1;
    srv->member.tls = 1;
    pthread_mutex_init(&srv->queue_lock, NULL);
    pthread_cond_init(&srv->queue_cond, NULL);
    pthread_mutex_init(&srv->parked_lock, NULL);
    srv->parked.next = srv->parked.prev = &srv->parked;

    const gw_config *cfg = rt->config;
    st = listen_on(&srv->plain, cfg->listen_address, cfg->listen_port, cfg->backlog, err, errlen);
    if (st == GW_OK && cfg->tls_enabled)
        st = listen_on(&srv->member, cfg->tls_address, cfg->tls_port, cfg->backlog, err, errlen);
    if (st != GW_OK)
        goto fail;
    st = GW_ERR_IO;
    srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->epoll_fd < 0 || srv->wake_fd < 0) {
        snprintf(err, errlen, "epoll/eventfd: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &srv->plain};
    struct epoll_event mev = {.events = EPOLLIN, .data.ptr = &srv->member};
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &srv->wake_fd};
    if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->plain.fd, &lev) != 0 ||
        (srv->member.fd >= 0 &&
         epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->member.fd, &mev) != 0) ||
        epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->wake_fd, &wev) != 0) {
        snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
        goto fail;
    }

    srv->worker_count = rt->config->workers > 0 ? rt->config->workers : 1;
    srv->workers = calloc((size_t)srv->worker_count, sizeof *srv->workers);
    srv->worker_threads = calloc((size_t)srv->worker_count, sizeof *srv->worker_threads);
    if (!srv->workers || !srv->worker_threads) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    for (int i = 0; i < srv->worker_count; i++) {
        gw_worker *w = &srv->workers[i];
        st = gw_worker_init(w, rt, i);
        w->draining = &srv->draining;
        if (st == GW_OK && !(w->soap = inbound_engine_new(rt->config, w)))
            st = GW_ERR_NOMEM;
        struct worker_arg *wa = st == GW_OK ? malloc(sizeof *wa) : NULL;
        if (!wa) {
            snprintf(err, errlen, "cannot create worker %d: %s", i, gw_status_message(st));
            st = GW_ERR_NOMEM;
            goto fail;
        }
        wa->srv = srv;
        wa->w = w;
        if (pthread_create(&srv->worker_threads[i], NULL, worker_loop, wa) != 0) {
            free(wa);
            snprintf(err, errlen, "cannot start worker %d", i);
            st = GW_ERR_INTERNAL;
            goto fail;
        }
        srv->workers_started++;
    }
    if (pthread_create(&srv->dispatcher, NULL, dispatcher_loop, srv) != 0) {
        snprintf(err, errlen, "cannot start the dispatcher");
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
    /* Workers finish what is queued (each exchange is logged before it is answered), then see
     * `stopping` with an empty queue and return. */
    pthread_mutex_lock(&srv->queue_lock);
    srv->stopping = 1;
    pthread_cond_broadcast(&srv->queue_cond);
    pthread_mutex_unlock(&srv->queue_lock);
    for (int i = 0; i < srv->workers_started; i++)
        pthread_join(srv->worker_threads[i], NULL);
    for (int i = 0; i < srv->worker_count && srv->workers; i++) {
        if (srv->workers[i].soap)
            soap_free(srv->workers[i].soap);
        free(srv->workers[i].input.pending);
        gw_worker_fini(&srv->workers[i]);
    }
    /* Connections still parked in epoll. */
    while (srv->parked.next != &srv->parked) {
        gw_conn *c = srv->parked.next;
        parked_unlink(c);
        conn_close(c);
    }
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
