/*
 * bench_load.c — a small closed-loop HTTP/1.1 load generator for bench/run, over plain TCP or
 * mutual TLS.
 *
 * Why it exists: wrk cannot present a client certificate, and the gateway's member listener
 * requires one. Measuring that listener with the same client as a plain-HTTP run also makes the
 * TLS-versus-plain comparison fair (same client costs on both sides).
 *
 * Each connection is one thread that sends a request, reads the whole response, and sends the
 * next one on the same kept-alive connection. The body is a template in which every "@DNI@" is
 * replaced by a different 8-digit DNI per request (nothing can be cached by accident). When the
 * duration is up, each thread finishes the request it has in flight and stops, so every request
 * sent has been answered: the count of 200 answers can be compared exactly with the log rows.
 *
 * Usage: bench_load --port N --path P --body FILE [--host 127.0.0.1] [--soapaction S]
 *                   [--connections 64] [--duration 10] [--dni-base 10000000]
 *                   [--tls --cert F --key F --ca F]
 * Prints one line of key=value pairs (requests, ok, non200, errors, rps, p50_us, p99_us, ...).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define MAX_CONNECTIONS 1024
#define DNI_SPAN 30000000L /* 10000000..39999999: all "found" in the RENIEC simulator */
#define IO_TIMEOUT_S 30

typedef struct load_options {
    const char *host, *path, *body_file, *soapaction;
    const char *cert, *key, *ca;
    int port, connections, duration_s, tls;
    long dni_base;
} load_options;

typedef struct load_shared {
    const load_options *opt;
    SSL_CTX *tls_ctx;
    char *template_text;   /* body with @DNI@ placeholders */
    int64_t deadline_us;
    atomic_long next_dni;
} load_shared;

typedef struct load_conn {
    int fd;
    SSL *ssl;
} load_conn;

typedef struct load_worker {
    pthread_t thread;
    load_shared *shared;
    uint32_t *latencies_us;
    size_t n_latencies, cap_latencies;
    long ok, non200, errors, reconnects;
    char first_error[160];
} load_worker;

static int64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void worker_error(load_worker *w, const char *what)
{
    w->errors++;
    if (!w->first_error[0])
        snprintf(w->first_error, sizeof w->first_error, "%s", what);
}

static void conn_close(load_conn *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int conn_open(load_worker *w, load_conn *c)
{
    const load_options *opt = w->shared->opt;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt->port)};
    if (inet_pton(AF_INET, opt->host, &addr.sin_addr) != 1) {
        worker_error(w, "bad --host (IPv4 address expected)");
        return -1;
    }
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        worker_error(w, "socket failed");
        return -1;
    }
    int one = 1;
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        worker_error(w, "connect failed");
        goto fail;
    }
    if (!opt->tls)
        return 0;
    c->ssl = SSL_new(w->shared->tls_ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) ||
        !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), opt->host)) {
        worker_error(w, "SSL_new failed");
        goto fail;
    }
    if (SSL_connect(c->ssl) != 1) {
        char msg[120];
        ERR_error_string_n(ERR_get_error(), msg, sizeof msg);
        worker_error(w, msg);
        goto fail;
    }
    return 0;
fail:
    conn_close(c);
    return -1;
}

static int conn_write_all(load_conn *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = c->ssl ? SSL_write(c->ssl, p, (int)n) : send(c->fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) {
            if (!c->ssl && k < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static ssize_t conn_read(load_conn *c, char *p, size_t n)
{
    for (;;) {
        ssize_t k = c->ssl ? SSL_read(c->ssl, p, (int)n) : recv(c->fd, p, n, 0);
        if (!c->ssl && k < 0 && errno == EINTR)
            continue;
        return k;
    }
}

/* Reads one response whose body length is given by Content-Length. Returns the HTTP status,
 * or -1 on a transport or framing error; *close_after is set when the server says so. */
static int read_response(load_conn *c, char **buf, size_t *cap, int *close_after)
{
    size_t have = 0;
    char *end_of_head = NULL;
    while (!end_of_head) {
        if (have + 4096 > *cap) {
            size_t ncap = *cap * 2;
            char *nb = realloc(*buf, ncap);
            if (!nb)
                return -1;
            *buf = nb;
            *cap = ncap;
        }
        ssize_t k = conn_read(c, *buf + have, *cap - have - 1);
        if (k <= 0)
            return -1;
        have += (size_t)k;
        (*buf)[have] = '\0';
        end_of_head = strstr(*buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(*buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    size_t head_len = (size_t)(end_of_head + 4 - *buf);
    long content_length = -1;
    *close_after = 0;
    for (char *line = strstr(*buf, "\r\n") + 2; line < end_of_head;
         line = strstr(line, "\r\n") + 2) {
        if (!strncasecmp(line, "Content-Length:", 15))
            content_length = strtol(line + 15, NULL, 10);
        else if (!strncasecmp(line, "Connection:", 11)) {
            const char *v = line + 11;
            while (*v == ' ' || *v == '\t')
                v++;
            if (!strncasecmp(v, "close", 5))
                *close_after = 1;
        }
        else if (!strncasecmp(line, "Transfer-Encoding:", 18))
            return -1; /* the gateway and simulators send Content-Length; chunked is unexpected */
    }
    if (content_length < 0)
        return -1;
    size_t body_have = have - head_len;
    while (body_have < (size_t)content_length) {
        char sink[16384];
        size_t want = (size_t)content_length - body_have;
        ssize_t k = conn_read(c, sink, want < sizeof sink ? want : sizeof sink);
        if (k <= 0)
            return -1;
        body_have += (size_t)k;
    }
    return status;
}

/* The request for the next DNI: headers plus the template with every @DNI@ replaced. */
static int build_request(load_shared *s, char **out, size_t *cap, size_t *len)
{
    long dni = s->opt->dni_base + atomic_fetch_add(&s->next_dni, 1) % DNI_SPAN;
    char dni_text[16];
    snprintf(dni_text, sizeof dni_text, "%08ld", dni);
    size_t body_len = 0;
    for (const char *p = s->template_text; *p;) {
        const char *hit = strstr(p, "@DNI@");
        if (!hit) {
            body_len += strlen(p);
            break;
        }
        body_len += (size_t)(hit - p) + 8;
        p = hit + 5;
    }
    size_t need = body_len + 512 + strlen(s->opt->path) + strlen(s->opt->soapaction);
    if (need > *cap) {
        char *nb = realloc(*out, need);
        if (!nb)
            return -1;
        *out = nb;
        *cap = need;
    }
    int n = snprintf(*out, *cap,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: text/xml; charset=utf-8\r\n"
                     "SOAPAction: \"%s\"\r\nContent-Length: %zu\r\n\r\n",
                     s->opt->path, s->opt->host, s->opt->port, s->opt->soapaction, body_len);
    char *w = *out + n;
    for (const char *p = s->template_text; *p;) {
        const char *hit = strstr(p, "@DNI@");
        size_t chunk = hit ? (size_t)(hit - p) : strlen(p);
        memcpy(w, p, chunk);
        w += chunk;
        if (!hit)
            break;
        memcpy(w, dni_text, 8);
        w += 8;
        p = hit + 5;
    }
    *len = (size_t)(w - *out);
    return 0;
}

static int record_latency(load_worker *w, int64_t us)
{
    if (w->n_latencies == w->cap_latencies) {
        size_t ncap = w->cap_latencies ? w->cap_latencies * 2 : 4096;
        uint32_t *nl = realloc(w->latencies_us, ncap * sizeof *nl);
        if (!nl)
            return -1;
        w->latencies_us = nl;
        w->cap_latencies = ncap;
    }
    w->latencies_us[w->n_latencies++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    return 0;
}

static void *worker_main(void *arg)
{
    load_worker *w = arg;
    load_shared *s = w->shared;
    load_conn c = {.fd = -1};
    size_t req_cap = 0, req_len = 0, resp_cap = 65536;
    char *req = NULL, *resp = malloc(resp_cap);
    if (!resp) {
        worker_error(w, "out of memory");
        return NULL;
    }
    while (monotonic_us() < s->deadline_us) {
        if (c.fd < 0 && conn_open(w, &c) != 0) {
            usleep(10000);
            continue;
        }
        if (build_request(s, &req, &req_cap, &req_len) != 0) {
            worker_error(w, "out of memory");
            break;
        }
        int64_t t0 = monotonic_us();
        int close_after = 0;
        int status = conn_write_all(&c, req, req_len) == 0
                         ? read_response(&c, &resp, &resp_cap, &close_after) : -1;
        int64_t t1 = monotonic_us();
        if (status < 0) {
            worker_error(w, "connection failed mid-request");
            conn_close(&c);
            continue;
        }
        if (record_latency(w, t1 - t0) != 0) {
            worker_error(w, "out of memory");
            break;
        }
        if (status == 200)
            w->ok++;
        else
            w->non200++;
        if (close_after) {
            conn_close(&c);
            w->reconnects++;
        }
    }
    conn_close(&c);
    free(req);
    free(resp);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        rewind(f);
        text = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (text && fread(text, 1, (size_t)n, f) == (size_t)n)
            text[n] = '\0';
        else {
            free(text);
            text = NULL;
        }
    }
    fclose(f);
    return text;
}

static SSL_CTX *tls_context(const load_options *opt)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    if (SSL_CTX_use_certificate_chain_file(ctx, opt->cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, opt->key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(ctx, opt->ca, NULL) != 1) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

static void usage(FILE *to)
{
    fputs("usage: bench_load --port N --path P --body FILE [--host 127.0.0.1] [--soapaction S]\n"
          "                  [--connections 64] [--duration 10] [--dni-base 10000000]\n"
          "                  [--tls --cert F --key F --ca F]\n"
          "Every @DNI@ in FILE is replaced by a different DNI per request.\n",
          to);
}

static int parse_options(int argc, char **argv, load_options *opt)
{
    static const struct option longs[] = {
        {"host", required_argument, NULL, 'H'},   {"port", required_argument, NULL, 'p'},
        {"path", required_argument, NULL, 'P'},   {"body", required_argument, NULL, 'b'},
        {"soapaction", required_argument, NULL, 'a'},
        {"connections", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},
        {"dni-base", required_argument, NULL, 'n'}, {"tls", no_argument, NULL, 't'},
        {"cert", required_argument, NULL, 'C'},   {"key", required_argument, NULL, 'K'},
        {"ca", required_argument, NULL, 'A'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *opt = (load_options){.host = "127.0.0.1", .soapaction = "", .connections = 64,
                          .duration_s = 10, .dni_base = 10000000};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'H': opt->host = optarg; break;
        case 'p': opt->port = atoi(optarg); break;
        case 'P': opt->path = optarg; break;
        case 'b': opt->body_file = optarg; break;
        case 'a': opt->soapaction = optarg; break;
        case 'c': opt->connections = atoi(optarg); break;
        case 'd': opt->duration_s = atoi(optarg); break;
        case 'n': opt->dni_base = atol(optarg); break;
        case 't': opt->tls = 1; break;
        case 'C': opt->cert = optarg; break;
        case 'K': opt->key = optarg; break;
        case 'A': opt->ca = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    const char *bad = NULL;
    if (opt->port < 1 || opt->port > 65535)
        bad = "--port must be 1..65535";
    else if (!opt->path || opt->path[0] != '/')
        bad = "--path must start with /";
    else if (!opt->body_file)
        bad = "--body FILE is required";
    else if (opt->connections < 1 || opt->connections > MAX_CONNECTIONS)
        bad = "--connections must be 1..1024";
    else if (opt->duration_s < 1)
        bad = "--duration must be at least 1 second";
    else if (opt->dni_base < 0 || opt->dni_base + DNI_SPAN > 100000000L)
        bad = "--dni-base must leave room for 30,000,000 8-digit DNIs";
    else if (opt->tls && (!opt->cert || !opt->key || !opt->ca))
        bad = "--tls needs --cert, --key and --ca";
    if (bad) {
        fprintf(stderr, "bench_load: %s\n", bad);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    load_options opt;
    if (parse_options(argc, argv, &opt) != 0)
        return 2;
    int rc = 1;
    load_shared shared = {.opt = &opt};
    load_worker *workers = calloc((size_t)opt.connections, sizeof *workers);
    uint32_t *all = NULL;
    int started = 0;
    if (!workers)
        goto fail;
    shared.template_text = read_file(opt.body_file);
    if (!shared.template_text) {
        fprintf(stderr, "bench_load: cannot read %s\n", opt.body_file);
        goto fail;
    }
    if (opt.tls && !(shared.tls_ctx = tls_context(&opt))) {
        fprintf(stderr, "bench_load: cannot load the client certificate, key or CA\n");
        goto fail;
    }
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    int64_t t_start = monotonic_us();
    shared.deadline_us = t_start + (int64_t)opt.duration_s * 1000000;
    for (; started < opt.connections; started++) {
        workers[started].shared = &shared;
        if (pthread_create(&workers[started].thread, NULL, worker_main, &workers[started]) != 0) {
            fprintf(stderr, "bench_load: pthread_create failed\n");
            break;
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(workers[i].thread, NULL);
    if (started < opt.connections)
        goto fail;
    double elapsed_s = (double)(monotonic_us() - t_start) / 1e6;
    getrusage(RUSAGE_SELF, &ru1);

    long ok = 0, non200 = 0, errors = 0, reconnects = 0;
    size_t n = 0;
    const char *first_error = NULL;
    for (int i = 0; i < opt.connections; i++) {
        ok += workers[i].ok;
        non200 += workers[i].non200;
        errors += workers[i].errors;
        reconnects += workers[i].reconnects;
        n += workers[i].n_latencies;
        if (!first_error && workers[i].first_error[0])
            first_error = workers[i].first_error;
    }
    all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        goto fail;
    size_t at = 0;
    for (int i = 0; i < opt.connections; i++) {
        memcpy(all + at, workers[i].latencies_us, workers[i].n_latencies * sizeof *all);
        at += workers[i].n_latencies;
    }
    qsort(all, n, sizeof *all, cmp_u32);
    double cpu_us = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
                             ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 +
                    (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
                             ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
    printf("requests=%zu ok=%ld non200=%ld errors=%ld reconnects=%ld duration_s=%.2f rps=%.0f "
           "p50_us=%u p99_us=%u max_us=%u client_cpu_us_per_req=%.1f\n",
           n, ok, non200, errors, reconnects, elapsed_s, (double)n / elapsed_s,
           n ? all[n / 2] : 0, n ? all[(size_t)((double)n * 0.99)] : 0, n ? all[n - 1] : 0,
           n ? cpu_us / (double)n : 0.0);
    if (first_error)
        fprintf(stderr, "bench_load: first error: %s\n", first_error);
    rc = 0;
fail:
    if (workers)
        for (int i = 0; i < opt.connections; i++)
            free(workers[i].latencies_us);
    free(workers);
    free(all);
    free(shared.template_text);
    SSL_CTX_free(shared.tls_ctx);
    return rc;
}
