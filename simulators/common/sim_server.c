/*
 * sim_server.c — HTTP/1.1 server of the provider simulators: listener thread, one thread per
 * connection, request parsing, latency and failure injection, response writing.
 */
#include "sim_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum {
    MAX_HEADER_BYTES = 16 * 1024,
    IDLE_TIMEOUT_S = 120,            /* an abandoned keep-alive connection frees its thread */
    CONN_STACK_BYTES = 1024 * 1024,
    LATENCY_SLICE_MS = 20,           /* how quickly a sleeping request notices a stop */
};

typedef struct sim_conn {
    int fd;
    sim_server *server;
    struct sim_conn *prev, *next;
} sim_conn;

struct sim_server {
    sim_server_config cfg;
    int listen_fd;
    int wake_pipe[2];
    uint16_t port;
    pthread_t accept_thread;
    pthread_mutex_t lock;
    pthread_cond_t all_closed;
    sim_conn *conns;                 /* open connections, under lock */
    size_t active;                   /* connection threads alive, under lock */
    atomic_bool stopping;
    atomic_uint_fast64_t next_number;
};

/* The parsed head of one request; pointers into the connection's buffer. */
typedef struct http_head {
    const char *method;
    const char *target;
    bool http10;
    const char *content_type;
    const char *soap_action;
    const char *connection;
    const char *traceparent;   /* W3C Trace Context, logged with --verbose; NULL when absent */
    int traceparents;          /* how many traceparent fields came */
    const char *tracestate;
    bool has_content_length;
    bool content_length_invalid;
    bool has_transfer_encoding;
    bool expect_continue;
    size_t content_length;
} http_head;

void sim_response_set_content_type(sim_response *resp, const char *content_type)
{
    snprintf(resp->content_type, sizeof resp->content_type, "%s", content_type);
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

bool sim_should_fail(uint64_t seed, double error_rate, uint64_t n)
{
    if (error_rate <= 0.0)
        return false;
    if (error_rate >= 1.0)
        return true;
    double u = (double)(splitmix64(seed ^ splitmix64(n)) >> 11) * 0x1.0p-53;
    return u < error_rate;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static bool send_all(int fd, struct iovec *iov, int iovcnt)
{
    while (iovcnt > 0) {
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return true;
}

static bool write_response(int fd, const char *server_name, int status, const char *content_type,
                           const char *body, size_t body_len, bool keep_alive)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nServer: %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
                     status, reason_phrase(status), server_name, content_type, body_len,
                     keep_alive ? "keep-alive" : "close");
    if (n < 0 || (size_t)n >= sizeof head)
        return false;
    struct iovec iov[2] = {{head, (size_t)n}, {(void *)body, body_len}};
    return send_all(fd, iov, body_len ? 2 : 1);
}

/* An HTTP-level refusal: a short text body, then the connection is closed. */
static void refuse(sim_server *s, int fd, int status, const char *why)
{
    char body[256];
    int n = snprintf(body, sizeof body, "%d %s: %s\n", status, reason_phrase(status), why);
    write_response(fd, s->cfg.name, status, "text/plain; charset=utf-8", body,
                   n > 0 ? (size_t)n : 0, false);
    /* Lingering close: closing with unread request bytes would send an RST that can destroy
     * the refusal before the client reads it. Half-close, then drain briefly. */
    shutdown(fd, SHUT_WR);
    struct timeval drain = {.tv_sec = 0, .tv_usec = 200 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &drain, sizeof drain);
    char sink[4096];
    for (size_t drained = 0; drained < 256 * 1024;) {
        ssize_t got = recv(fd, sink, sizeof sink, 0);
        if (got <= 0)
            break;
        drained += (size_t)got;
    }
    if (s->cfg.options.verbose)
        fprintf(stderr, "%s: refused request: %d %s\n", s->cfg.name, status, why);
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = '\0';
    return s;
}

/* Parses the request line and headers in place (head_len bytes ending with CRLF CRLF).
 * Returns 0 or the HTTP status to refuse the request with. */
static int parse_head(char *buf, size_t head_len, http_head *h)
{
    memset(h, 0, sizeof *h);
    char *end = buf + head_len - 2; /* the last CRLF ends the header block */
    char *line_end = strstr(buf, "\r\n");
    if (!line_end || line_end >= end + 2)
        return 400;
    *line_end = '\0';

    char *sp1 = strchr(buf, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || sp1 == buf || sp2 == sp1 + 1)
        return 400;
    *sp1 = *sp2 = '\0';
    for (const char *m = buf; *m; m++)
        if (*m < 'A' || *m > 'Z')
            return 400;
    if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
        h->http10 = false;
    else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
        h->http10 = true;
    else
        return 400;
    if (strchr(sp1 + 1, ' '))
        return 400;
    h->method = buf;
    h->target = sp1 + 1;

    for (char *line = line_end + 2; line < end; line = line_end + 2) {
        line_end = strstr(line, "\r\n");
        if (!line_end)
            return 400;
        *line_end = '\0';
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            return 400;
        *colon = '\0';
        char *value = trim(colon + 1, line_end);
        if (strcasecmp(line, "Content-Length") == 0) {
            char *num_end;
            errno = 0;
            unsigned long long v = strtoull(value, &num_end, 10);
            if (*value < '0' || *value > '9' || *num_end || errno ||
                (h->has_content_length && v != h->content_length))
                h->content_length_invalid = true;
            h->has_content_length = true;
            h->content_length = (size_t)v;
        } else if (strcasecmp(line, "Content-Type") == 0) {
            h->content_type = value;
        } else if (strcasecmp(line, "SOAPAction") == 0) {
            h->soap_action = value;
        } else if (strcasecmp(line, "Connection") == 0) {
            h->connection = value;
        } else if (strcasecmp(line, "traceparent") == 0) {
            h->traceparent = value;
            h->traceparents++;
        } else if (strcasecmp(line, "tracestate") == 0) {
            h->tracestate = value;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            h->has_transfer_encoding = true;
        } else if (strcasecmp(line, "Expect") == 0) {
            h->expect_continue = strcasecmp(value, "100-continue") == 0;
        }
    }
    return 0;
}

static bool wants_keep_alive(const http_head *h)
{
    if (h->connection && strcasecmp(h->connection, "close") == 0)
        return false;
    if (h->http10)
        return h->connection && strcasecmp(h->connection, "keep-alive") == 0;
    return true;
}

static void sleep_interruptible(sim_server *s, unsigned ms)
{
    while (ms > 0 && !atomic_load(&s->stopping)) {
        unsigned slice = ms < LATENCY_SLICE_MS ? ms : LATENCY_SLICE_MS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)slice * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

/* Reads until `want` bytes are buffered. False on EOF, error, idle timeout or stop. */
static bool fill(int fd, char **buf, size_t *cap, size_t *len, size_t want)
{
    if (want + 1 > *cap) {
        size_t cap2 = *cap;
        while (cap2 < want + 1)
            cap2 *= 2;
        char *grown = realloc(*buf, cap2);
        if (!grown)
            return false;
        *buf = grown;
        *cap = cap2;
    }
    while (*len < want) {
        ssize_t n = recv(fd, *buf + *len, *cap - 1 - *len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        *len += (size_t)n;
    }
    (*buf)[*len] = '\0';
    return true;
}

/* Index just past the CRLF CRLF ending the head, or 0 when not buffered yet. */
static size_t head_end(const char *buf, size_t len)
{
    const char *p = memmem(buf, len, "\r\n\r\n", 4);
    return p ? (size_t)(p - buf) + 4 : 0;
}

static void serve_connection(sim_server *s, int fd)
{
    const sim_options *o = &s->cfg.options;
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    sim_response resp;
    sim_buf_init(&resp.body);
    if (!buf)
        goto done;

    for (;;) {
        size_t hlen;
        while ((hlen = head_end(buf, len)) == 0) {
            if (len >= MAX_HEADER_BYTES) {
                refuse(s, fd, 431, "request head larger than 16 KiB");
                goto done;
            }
            if (!fill(fd, &buf, &cap, &len, len + 1))
                goto done;
        }
        struct timespec started;
        clock_gettime(CLOCK_MONOTONIC, &started);

        http_head h;
        int refusal = parse_head(buf, hlen, &h);
        if (refusal) {
            refuse(s, fd, refusal, "malformed request line or header");
            goto done;
        }
        if (h.has_transfer_encoding) {
            refuse(s, fd, 501, "Transfer-Encoding is not supported; send Content-Length");
            goto done;
        }
        if (h.content_length_invalid) {
            refuse(s, fd, 400, "invalid Content-Length");
            goto done;
        }
        if (!h.has_content_length && (strcmp(h.method, "POST") == 0 ||
                                      strcmp(h.method, "PUT") == 0)) {
            refuse(s, fd, 411, "Content-Length required");
            goto done;
        }
        if (h.content_length > o->max_body) {
            refuse(s, fd, 413, "request body larger than --max-body");
            goto done;
        }
        if (h.expect_continue && len < hlen + h.content_length) {
            struct iovec iov = {(void *)"HTTP/1.1 100 Continue\r\n\r\n", 25};
            if (!send_all(fd, &iov, 1))
                goto done;
        }
        /* fill() may move the buffer: keep offsets, not pointers, across it */
        size_t method_off = (size_t)(h.method - buf), target_off = (size_t)(h.target - buf);
        size_t ctype_off = h.content_type ? (size_t)(h.content_type - buf) : 0;
        size_t action_off = h.soap_action ? (size_t)(h.soap_action - buf) : 0;
        size_t trace_off = h.traceparent ? (size_t)(h.traceparent - buf) : 0;
        size_t state_off = h.tracestate ? (size_t)(h.tracestate - buf) : 0;
        bool keep_alive = wants_keep_alive(&h);
        if (!fill(fd, &buf, &cap, &len, hlen + h.content_length))
            goto done;
        /* The byte after the body is the next request's first: keep it while the handler
         * reads the body as a C string. */
        char saved = buf[hlen + h.content_length];
        buf[hlen + h.content_length] = '\0';

        sim_request req = {
            .method = buf + method_off,
            .target = buf + target_off,
            .content_type = h.content_type ? buf + ctype_off : NULL,
            .soap_action = h.soap_action ? buf + action_off : NULL,
            .body = buf + hlen,
            .body_len = h.content_length,
            .number = atomic_fetch_add(&s->next_number, 1),
        };

        resp.status = 200;
        sim_response_set_content_type(&resp, "text/xml; charset=utf-8");
        sim_buf_clear(&resp.body);
        sleep_interruptible(s, o->latency_ms);
        bool inject = sim_should_fail(o->seed, o->error_rate, req.number);
        if (inject && s->cfg.failure_handler)
            s->cfg.failure_handler(s->cfg.ctx, &req, &resp);
        else if (inject) {
            resp.status = 500;
            sim_response_set_content_type(&resp, "text/plain; charset=utf-8");
            sim_buf_append_str(&resp.body, "injected failure\n");
        } else
            s->cfg.handler(s->cfg.ctx, &req, &resp);

        bool sent;
        if (!sim_buf_ok(&resp.body)) {
            sent = write_response(fd, s->cfg.name, 503, "text/plain; charset=utf-8",
                                  "out of memory\n", 14, false);
            keep_alive = false;
        } else
            sent = write_response(fd, s->cfg.name, resp.status, resp.content_type,
                                  resp.body.data ? resp.body.data : "", resp.body.len, keep_alive);
        if (o->verbose)
            fprintf(stderr, "%s: #%llu %s %s -> %d, %zu bytes in, %zu out, %.2f ms%s%s%.100s%s%.600s%s\n",
                    s->cfg.name, (unsigned long long)req.number, req.method, req.target,
                    resp.status, req.body_len, resp.body.len, elapsed_ms(&started),
                    inject ? " (injected failure)" : "",
                    h.traceparent ? " traceparent=" : "", h.traceparent ? buf + trace_off : "",
                    h.tracestate ? " tracestate=" : "", h.tracestate ? buf + state_off : "",
                    h.traceparents > 1 ? " (more than one traceparent)" : "");
        if (!sent || !keep_alive)
            goto done;

        buf[hlen + h.content_length] = saved;
        size_t used = hlen + h.content_length;
        memmove(buf, buf + used, len - used);
        len -= used;
        buf[len] = '\0';
    }
done:
    sim_buf_free(&resp.body);
    free(buf);
}

static void *connection_thread(void *arg)
{
    sim_conn *c = arg;
    sim_server *s = c->server;
    serve_connection(s, c->fd);

    pthread_mutex_lock(&s->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->fd);
    if (--s->active == 0)
        pthread_cond_broadcast(&s->all_closed);
    pthread_mutex_unlock(&s->lock);
    free(c);
    return NULL;
}

static void start_connection(sim_server *s, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval idle = {.tv_sec = IDLE_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);

    sim_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->server = s;

    pthread_mutex_lock(&s->lock);
    if (atomic_load(&s->stopping)) {
        pthread_mutex_unlock(&s->lock);
        close(fd);
        free(c);
        return;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->active++;

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, CONN_STACK_BYTES);
    pthread_t tid;
    int rc = pthread_create(&tid, &attr, connection_thread, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        s->conns = c->next;
        if (c->next)
            c->next->prev = NULL;
        if (--s->active == 0)
            pthread_cond_broadcast(&s->all_closed);
        close(fd);
        free(c);
        fprintf(stderr, "%s: cannot start a connection thread: %s\n", s->cfg.name,
                strerror(rc));
    }
    pthread_mutex_unlock(&s->lock);
}

static void *accept_thread(void *arg)
{
    sim_server *s = arg;
    struct pollfd fds[2] = {{.fd = s->listen_fd, .events = POLLIN},
                            {.fd = s->wake_pipe[0], .events = POLLIN}};
    while (!atomic_load(&s->stopping)) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: poll: %s\n", s->cfg.name, strerror(errno));
            break;
        }
        if (fds[1].revents)
            break;
        if (!(fds[0].revents & POLLIN))
            continue;
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED && s->cfg.options.verbose)
                fprintf(stderr, "%s: accept: %s\n", s->cfg.name, strerror(errno));
            if (errno == EMFILE || errno == ENFILE) {
                struct timespec ts = {.tv_nsec = 10 * 1000000L};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        start_connection(s, fd);
    }
    return NULL;
}

/* Written to a temporary name and renamed, so a reader never sees a half-written file. */
static gw_status write_port_file(const char *path, uint16_t port, const char *prog)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        return GW_ERR_NOMEM;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    gw_status st = GW_OK;
    if (!f || fprintf(f, "%u\n", (unsigned)port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "%s: --port-file: cannot write '%s': %s\n", prog, path, strerror(errno));
        st = GW_ERR_IO;
    }
    free(tmp);
    return st;
}

gw_status sim_server_start(const sim_server_config *cfg, sim_server **out)
{
    const sim_options *o = &cfg->options;
    gw_status st = GW_ERR_IO;
    sim_server *s = calloc(1, sizeof *s);
    if (!s)
        return GW_ERR_NOMEM;
    s->cfg = *cfg;
    s->listen_fd = s->wake_pipe[0] = s->wake_pipe[1] = -1;
    atomic_init(&s->stopping, false);
    atomic_init(&s->next_number, 0);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->all_closed, NULL);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(o->port)};
    if (inet_pton(AF_INET, o->listen_addr, &addr.sin_addr) != 1) {
        fprintf(stderr, "%s: --listen: '%s' is not an IPv4 address\n", cfg->name, o->listen_addr);
        st = GW_ERR_INVALID_ARG;
        goto fail;
    }
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (s->listen_fd < 0 ||
        setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(s->listen_fd, 1024) != 0) {
        fprintf(stderr, "%s: cannot listen on %s:%u: %s\n", cfg->name, o->listen_addr,
                (unsigned)o->port, strerror(errno));
        goto fail;
    }
    socklen_t alen = sizeof addr;
    if (getsockname(s->listen_fd, (struct sockaddr *)&addr, &alen) != 0)
        goto fail;
    s->port = ntohs(addr.sin_port);
    if (pipe2(s->wake_pipe, O_CLOEXEC) != 0)
        goto fail;
    if (o->port_file && (st = write_port_file(o->port_file, s->port, cfg->name)) != GW_OK)
        goto fail;
    if (pthread_create(&s->accept_thread, NULL, accept_thread, s) != 0) {
        st = GW_ERR_INTERNAL;
        goto fail;
    }
    if (o->verbose)
        fprintf(stderr, "%s: listening on %s:%u\n", cfg->name, o->listen_addr, (unsigned)s->port);
    *out = s;
    return GW_OK;
fail:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->wake_pipe[0] >= 0) {
        close(s->wake_pipe[0]);
        close(s->wake_pipe[1]);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->all_closed);
    free(s);
    return st;
}

uint16_t sim_server_port(const sim_server *s)
{
    return s->port;
}

void sim_server_stop(sim_server *s)
{
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->stopping, true);
    pthread_mutex_unlock(&s->lock);
    ssize_t ignored = write(s->wake_pipe[1], "x", 1);
    (void)ignored;
    pthread_join(s->accept_thread, NULL);

    pthread_mutex_lock(&s->lock);
    for (sim_conn *c = s->conns; c; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    while (s->active > 0)
        pthread_cond_wait(&s->all_closed, &s->lock);
    pthread_mutex_unlock(&s->lock);

    close(s->listen_fd);
    close(s->wake_pipe[0]);
    close(s->wake_pipe[1]);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->all_closed);
    free(s);
}

int sim_server_run_until_signal(const sim_server_config *cfg)
{
    /* Blocked before any thread exists, so every thread inherits the mask and only sigwait()
     * below receives them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    sim_server *s;
    if (sim_server_start(cfg, &s) != GW_OK)
        return 1;
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (cfg->options.verbose)
        fprintf(stderr, "%s: %s received, stopping\n", cfg->name, strsignal(sig));
    sim_server_stop(s);
    return 0;
}
