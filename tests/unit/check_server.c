/* check_server.c — gateway/server.c: a real runtime (configuration file, PKI keys, the throwaway
 * PostgreSQL, the "echo" fixture adapter) served by gw_server_start on port 0 and spoken to over
 * real sockets: GETs, 405, keep-alive, the idle sweep, silent clients, ports, drain on stop.
 * ctest-fixtures: postgres pki */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <libxml/parser.h>

#include "check_run.h"
#include "config.h"
#include "runtime.h"
#include "server.h"
#include "xml_sign.h"

static char tmp_dir[PATH_MAX];

/* One gateway started for one test (each test runs in its own forked process). */
typedef struct test_gateway {
    gw_config *cfg;
    gw_runtime rt;
    gw_server *srv;
} test_gateway;

static char *read_trimmed(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    char line[4096] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    return strdup(line);
}

/* Writes the configuration and brings the gateway up the way main.c does. */
static void gateway_start(test_gateway *g, int workers, int idle_s, int with_tls)
{
    const char *src = getenv("PIDE_SOURCE_DIR"), *build = getenv("PIDE_BUILD_DIR");
    const char *pki = getenv("PIDE_TEST_PKI_DIR"), *ci_file = getenv("PIDE_TEST_PG_CONNINFO_FILE");
    ck_assert_msg(src && build && pki && ci_file, "run through ctest");
    char *conninfo = read_trimmed(ci_file);
    char pw_file[PATH_MAX];
    snprintf(pw_file, sizeof pw_file, "%s", ci_file);
    char *slash = strrchr(pw_file, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash + 1, sizeof pw_file - (size_t)(slash + 1 - pw_file), "gateway.password");

    char tls[3 * PATH_MAX] = "";
    if (with_tls)
        snprintf(tls, sizeof tls,
                 "<tls address='127.0.0.1' port='0' certificate='%s/gateway-tls.pem' "
                 "key='%s/gateway-tls.key' clientCa='%s/ca.pem'/>", pki, pki, pki);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/gateway-%d.xml", tmp_dir, (int)getpid());
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "<gateway xmlns='urn:pide-gateway:config:1'>\n"
            "  <listen address='127.0.0.1' port='0' workers='%d'/>\n"
            "  %s\n"
            "  <limits keepAliveIdleSeconds='%d' recvTimeoutSeconds='10' sendTimeoutSeconds='5'/>\n"
            "  <paths adapterDir='%s/tests/fixtures/adapters'/>\n"
            "  <signing key='%s/gateway-sign.key' certificate='%s/gateway-sign.pem'/>\n"
            "  <database conninfo='%s' passwordFile='%s' commitTimeoutMs='20000'/>\n"
            "  <services>\n"
            "    <service name='Eco' adapter='echo'\n"
            "             wsdl='%s/tests/fixtures/config/placeholder.wsdl'\n"
            "             schema='%s/tests/fixtures/config/placeholder.xsd'>\n"
            "      <endpoint url='http://127.0.0.1:9/'/>\n"
            "    </service>\n"
            "  </services>\n"
            "</gateway>\n",
            workers, tls, idle_s, build, pki, pki, conninfo, pw_file, src, src);
    fclose(f);
    free(conninfo);

    char schema_dir[PATH_MAX + 16], err[1024] = "";
    snprintf(schema_dir, sizeof schema_dir, "%s/schemas", src);
    ck_assert_msg(gw_config_load(path, schema_dir, &g->cfg, err, sizeof err) == GW_OK, "%s", err);
    ck_assert_int_eq(gw_xmlsec_global_init(), GW_OK);
    ck_assert_msg(gw_runtime_open(g->cfg, &g->rt, err, sizeof err) == GW_OK, "%s", err);
    ck_assert_msg(gw_server_start(&g->rt, &g->srv, err, sizeof err) == GW_OK, "%s", err);
    unlink(path);
}

static void gateway_stop(test_gateway *g)
{
    gw_server_stop(g->srv);
    gw_runtime_close(&g->rt);
    gw_config_free(g->cfg);
    gw_xmlsec_global_shutdown();
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s",
                  strerror(errno));
    /* A hung server fails the test instead of hanging it. */
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const char *text)
{
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = send(fd, text, len, MSG_NOSIGNAL);
        ck_assert_msg(n > 0, "send: %s", strerror(errno));
        text += n;
        len -= (size_t)n;
    }
}

typedef struct http_answer {
    int status;
    int connection_close;    /* the answer said Connection: close */
    char body[4096];
} http_answer;

/* Reads one HTTP/1.1 response (Content-Length, chunked, or up to the close). 0 when the
 * connection closed or timed out before a status line. */
static int read_answer(int fd, http_answer *a)
{
    static char buf[16384];
    size_t len = 0;
    char *end = NULL;
    memset(a, 0, sizeof *a);
    buf[0] = '\0';
    while (!(end = strstr(buf, "\r\n\r\n"))) {
        ck_assert_uint_lt(len, sizeof buf - 1);
        ssize_t n = recv(fd, buf + len, 1, 0);  /* byte by byte: the next answer stays unread */
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
    }
    ck_assert_int_eq(sscanf(buf, "HTTP/1.%*d %d", &a->status), 1);
    for (char *p = buf; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    a->connection_close = strstr(buf, "\r\nconnection: close") != NULL;
    const char *cl = strstr(buf, "\r\ncontent-length:");
    int chunked = strstr(buf, "\r\ntransfer-encoding: chunked") != NULL;
    size_t body_len = 0;
    if (cl) {
        size_t want = strtoul(cl + 17, NULL, 10);
        ck_assert_uint_lt(want, sizeof a->body);
        while (body_len < want) {
            ssize_t n = recv(fd, a->body + body_len, want - body_len, 0);
            ck_assert_int_gt(n, 0);
            body_len += (size_t)n;
        }
    } else if (chunked) {
        for (;;) {
            char line[32];
            size_t l = 0;
            while (l < sizeof line - 1) {
                ck_assert_int_eq(recv(fd, line + l, 1, 0), 1);
                if (line[l++] == '\n')
                    break;
            }
            line[l] = '\0';
            size_t size = strtoul(line, NULL, 16);
            ck_assert_uint_lt(body_len + size, sizeof a->body);
            for (size_t got = 0; got < size + 2;) {   /* the chunk and its CRLF */
                char *dst = got < size ? a->body + body_len + got : line;
                size_t room = got < size ? size - got : size + 2 - got;
                ssize_t n = recv(fd, dst, room, 0);
                ck_assert_int_gt(n, 0);
                got += (size_t)n;
            }
            body_len += size;
            if (size == 0)
                break;
        }
    } else {
        ssize_t n;
        while ((n = recv(fd, a->body + body_len, sizeof a->body - 1 - body_len, 0)) > 0)
            body_len += (size_t)n;
    }
    a->body[body_len] = '\0';
    return 1;
}

/* A second session as the gateway role that holds the exchange log's chain lock (what every
 * commit takes, exchange_log.c): until it lets go, no row commits. */
static PGconn *hold_the_log(void)
{
    const char *ci_file = getenv("PIDE_TEST_PG_CONNINFO_FILE");
    ck_assert_ptr_nonnull(ci_file);
    char *conninfo = read_trimmed(ci_file);
    char pw_file[PATH_MAX];
    snprintf(pw_file, sizeof pw_file, "%s", ci_file);
    char *slash = strrchr(pw_file, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash + 1, sizeof pw_file - (size_t)(slash + 1 - pw_file), "gateway.password");
    char *password = read_trimmed(pw_file);
    const char *keys[] = {"dbname", "password", NULL};
    const char *values[] = {conninfo, password, NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    free(conninfo);
    free(password);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    const char *sql[] = {"BEGIN", "SELECT pg_catalog.pg_advisory_xact_lock(8100115791357964135)"};
    for (size_t i = 0; i < 2; i++) {
        PGresult *r = PQexec(c, sql[i]);
        ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
                      "%s: %s", sql[i], PQerrorMessage(c));
        PQclear(r);
    }
    return c;
}

static void release_the_log(PGconn *c)
{
    PGresult *r = PQexec(c, "ROLLBACK");
    PQclear(r);
    PQfinish(c);
}

/* 1 when fd has something to read within ms milliseconds. */
static int readable_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) > 0;
}

/* Waits (bounded) until the server closes fd: 1 when recv returned 0, 0 on timeout. */
static int closed_by_server_within(int fd, int seconds)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, seconds * 1000) <= 0)
        return 0;
    char c;
    return recv(fd, &c, 1, 0) == 0;
}

static const char get_health[] = "GET /health HTTP/1.1\r\nHost: gw\r\n\r\n";

START_TEST(answers_health_and_unknown_paths)
{
    test_gateway g;
    gateway_start(&g, 2, 30, 0);
    int fd = connect_to(gw_server_port(g.srv));
    http_answer a;
    send_all(fd, get_health);
    ck_assert_int_eq(read_answer(fd, &a), 1);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.body, "ok\n");
    send_all(fd, "GET /nope HTTP/1.1\r\nHost: gw\r\n\r\n");
    ck_assert_int_eq(read_answer(fd, &a), 1);
    ck_assert_int_eq(a.status, 404);
    ck_assert_ptr_nonnull(strstr(a.body, "not found"));
    /* The service's WSDL, by name; an unknown service's is a 404. */
    send_all(fd, "GET /services/Eco?wsdl HTTP/1.1\r\nHost: gw\r\n\r\n");
    ck_assert_int_eq(read_answer(fd, &a), 1);
    ck_assert_int_eq(a.status, 200);
    send_all(fd, "GET /services/Nadie?wsdl HTTP/1.1\r\nHost: gw\r\n\r\n");
    ck_assert_int_eq(read_answer(fd, &a), 1);
    ck_assert_int_eq(a.status, 404);
    close(fd);
    gateway_stop(&g);
}
END_TEST

START_TEST(refuses_other_methods_and_closes)
{
    test_gateway g;
    gateway_start(&g, 2, 30, 0);
    int fd = connect_to(gw_server_port(g.srv));
    send_all(fd, "PUT /services/Eco HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\nhi");
    http_answer a;
    ck_assert_int_eq(read_answer(fd, &a), 1);
    ck_assert_int_eq(a.status, 405);
    ck_assert_ptr_nonnull(strstr(a.body, "method not allowed"));
    ck_assert_int_eq(closed_by_server_within(fd, 5), 1);
    close(fd);
    gateway_stop(&g);
}
END_TEST

START_TEST(serves_several_requests_on_one_connection)
{
    test_gateway g;
    gateway_start(&g, 1, 30, 0);
    int fd = connect_to(gw_server_port(g.srv));
    http_answer a;
    for (int i = 0; i < 5; i++) {
        send_all(fd, get_health);
        ck_assert_msg(read_answer(fd, &a) == 1, "request %d on the kept-alive connection", i);
        ck_assert_int_eq(a.status, 200);
        ck_assert_int_eq(a.connection_close, 0);
    }
    /* Pipelined: two requests in one write, both answered in order. */
    send_all(fd, "GET /health HTTP/1.1\r\nHost: gw\r\n\r\nGET /nope HTTP/1.1\r\nHost: gw\r\n\r\n");
    ck_assert_int_eq(read_answer(fd, &a), 1);
    ck_assert_int_eq(a.status, 200);
    ck_assert_int_eq(read_answer(fd, &a), 1);
    ck_assert_int_eq(a.status, 404);
    close(fd);
    gateway_stop(&g);
}
END_TEST

START_TEST(closes_idle_kept_alive_connections)
{
    test_gateway g;
    gateway_start(&g, 1, 1, 0);
    int fd = connect_to(gw_server_port(g.srv));
    http_answer a;
    send_all(fd, get_health);
    ck_assert_int_eq(read_answer(fd, &a), 1);
    ck_assert_int_eq(a.status, 200);
    /* Idle for more than keepAliveIdleSeconds: the sweep (about once a second) closes it. */
    ck_assert_int_eq(closed_by_server_within(fd, 8), 1);
    close(fd);
    /* A connection that never sent anything is swept too. */
    fd = connect_to(gw_server_port(g.srv));
    ck_assert_int_eq(closed_by_server_within(fd, 8), 1);
    close(fd);
    gateway_stop(&g);
}
END_TEST

START_TEST(a_silent_client_holds_no_worker)
{
    test_gateway g;
    gateway_start(&g, 1, 30, 0);
    /* The only worker would be stuck in its receive (recvTimeoutSeconds) if it were handed
     * this connection; the answer below must come well before that. */
    int silent = connect_to(gw_server_port(g.srv));
    usleep(200 * 1000);
    int fd = connect_to(gw_server_port(g.srv));
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    send_all(fd, get_health);
    http_answer a;
    ck_assert_msg(read_answer(fd, &a) == 1, "no answer while a silent client is connected");
    ck_assert_int_eq(a.status, 200);
    close(fd);
    close(silent);
    gateway_stop(&g);
}
END_TEST

START_TEST(a_client_trickling_its_headers_holds_no_worker)
{
    test_gateway g;
    gateway_start(&g, 1, 30, 0);
    /* Half a request head: the dispatcher keeps it until the rest comes, no worker waits. */
    int slow = connect_to(gw_server_port(g.srv));
    send_all(slow, "GET /health HTTP/1.1\r\nHo");
    usleep(200 * 1000);
    int fd = connect_to(gw_server_port(g.srv));
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    http_answer a;
    send_all(fd, get_health);
    ck_assert_msg(read_answer(fd, &a) == 1, "no answer while a client trickles its headers");
    ck_assert_int_eq(a.status, 200);
    /* Once its head is complete the slow client is served too. */
    send_all(slow, "st: gw\r\n\r\n");
    ck_assert_msg(read_answer(slow, &a) == 1, "the slow client's completed request got no answer");
    ck_assert_int_eq(a.status, 200);
    /* And a pipelined request cut after its first line waits in the dispatcher as well. */
    send_all(slow, "GET /health HTTP/1.1\r\nHost: gw\r\n\r\nGET /health HT");
    ck_assert_int_eq(read_answer(slow, &a), 1);
    send_all(fd, get_health);
    ck_assert_msg(read_answer(fd, &a) == 1, "a half-sent pipelined request held the worker");
    send_all(slow, "TP/1.1\r\nHost: gw\r\n\r\n");
    ck_assert_int_eq(read_answer(slow, &a), 1);
    ck_assert_int_eq(a.status, 200);
    close(fd);
    close(slow);
    gateway_stop(&g);
}
END_TEST

START_TEST(reports_the_ports_bound)
{
    test_gateway g;
    gateway_start(&g, 1, 30, 0);
    int port = gw_server_port(g.srv);
    ck_assert_int_gt(port, 0);
    ck_assert_int_eq(gw_server_tls_port(g.srv), 0);   /* no <tls>: no member listener */
    close(connect_to(port));
    gateway_stop(&g);

    gateway_start(&g, 1, 30, 1);
    port = gw_server_port(g.srv);
    int tls_port = gw_server_tls_port(g.srv);
    ck_assert_int_gt(port, 0);
    ck_assert_int_gt(tls_port, 0);
    ck_assert_int_ne(port, tls_port);
    close(connect_to(tls_port));                      /* really listening */
    gateway_stop(&g);
}
END_TEST

/* Stop lets an answer already under way finish and closes connections parked in epoll. */
struct stopper {
    gw_server *srv;
};

static void *stop_server(void *arg)
{
    gw_server_stop(((struct stopper *)arg)->srv);
    return NULL;
}

START_TEST(stop_drains_and_closes_parked_connections)
{
    test_gateway g;
    gateway_start(&g, 1, 30, 0);
    int port = gw_server_port(g.srv);
    int parked = connect_to(port);
    http_answer a;
    send_all(parked, get_health);
    ck_assert_int_eq(read_answer(parked, &a), 1);
    ck_assert_int_eq(a.status, 200);
    /* A body cut in the middle is still arriving while stop begins: the dispatcher keeps
     * reading it (it holds no worker), and the whole request is then served. */
    int busy = connect_to(port);
    send_all(busy, "POST /services/Eco HTTP/1.1\r\nHost: gw\r\nContent-Type: text/xml\r\n"
                   "Content-Length: 10\r\n\r\n<not");
    usleep(300 * 1000);
    pthread_t t;
    struct stopper st = {g.srv};
    ck_assert_int_eq(pthread_create(&t, NULL, stop_server, &st), 0);
    usleep(300 * 1000);
    /* The request in flight still gets its answer (a Fault: it is not XML), saying the
     * connection closes. */
    send_all(busy, " xml/>");
    ck_assert_int_eq(read_answer(busy, &a), 1);
    ck_assert_int_eq(a.status, 500);
    ck_assert_int_eq(a.connection_close, 1);
    pthread_join(t, NULL);
    ck_assert_int_eq(closed_by_server_within(busy, 5), 1);
    ck_assert_int_eq(closed_by_server_within(parked, 5), 1);
    close(busy);
    close(parked);
    gw_runtime_close(&g.rt);
    gw_config_free(g.cfg);
    gw_xmlsec_global_shutdown();
}
END_TEST

static const char post_eco[] =
    "POST /services/Eco HTTP/1.1\r\nHost: gw\r\nContent-Type: text/xml\r\nContent-Length: 123\r\n\r\n"
    "<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body><echo>x"
    "</echo></soap:Body></soap:Envelope>";

START_TEST(a_worker_is_free_while_a_row_commits)
{
    ck_assert_uint_eq(strlen(strstr(post_eco, "\r\n\r\n") + 4), 123);
    test_gateway g;
    gateway_start(&g, 1, 30, 0);
    PGconn *lock = hold_the_log();
    /* The only worker runs the exchange up to its row, which cannot commit yet... */
    int fd = connect_to(gw_server_port(g.srv));
    send_all(fd, post_eco);
    ck_assert_msg(!readable_within(fd, 700), "answered before its row was committed");
    /* ...and is free meanwhile: another client is served while that row waits. */
    int other = connect_to(gw_server_port(g.srv));
    send_all(other, get_health);
    /* (Well under commitTimeoutMs, after which a waiting worker would be free again.) */
    ck_assert_msg(readable_within(other, 10000), "the only worker waited for a commit");
    http_answer a;
    ck_assert_int_eq(read_answer(other, &a), 1);
    ck_assert_int_eq(a.status, 200);
    close(other);
    /* Still no answer for the exchange: none goes out before its row is committed. */
    ck_assert_int_eq(readable_within(fd, 0), 0);
    release_the_log(lock);
    ck_assert_int_eq(read_answer(fd, &a), 1);
    ck_assert_ptr_nonnull(strstr(a.body, "exchangeId"));
    ck_assert_ptr_null(strstr(a.body, "LogUnavailable"));
    ck_assert_int_ne(a.status, 503);
    close(fd);
    gateway_stop(&g);
}
END_TEST

int main(void)
{
    const char *build = getenv("PIDE_BUILD_DIR");
    if (!build) {
        fprintf(stderr, "check_server: run through ctest (PIDE_BUILD_DIR)\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/test-run", build);
    mkdir(parent, 0700);
    snprintf(tmp_dir, sizeof tmp_dir, "%s/test-run/server-XXXXXX", build);
    if (!mkdtemp(tmp_dir)) {
        perror(tmp_dir);
        return 1;
    }
    xmlInitParser();
    Suite *suite = suite_create("server");
    TCase *tc = tcase_create("server");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, answers_health_and_unknown_paths);
    tcase_add_test(tc, refuses_other_methods_and_closes);
    tcase_add_test(tc, serves_several_requests_on_one_connection);
    tcase_add_test(tc, closes_idle_kept_alive_connections);
    tcase_add_test(tc, a_silent_client_holds_no_worker);
    tcase_add_test(tc, a_client_trickling_its_headers_holds_no_worker);
    tcase_add_test(tc, reports_the_ports_bound);
    tcase_add_test(tc, stop_drains_and_closes_parked_connections);
    tcase_add_test(tc, a_worker_is_free_while_a_row_commits);
    suite_add_tcase(suite, tc);
    int exit_status = check_run_suite(suite);
    rmdir(tmp_dir);
    return exit_status;
}
