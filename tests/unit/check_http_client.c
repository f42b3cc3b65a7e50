/*
 * check_http_client.c — gateway/http_client.c against a small real HTTP server run in a thread of
 * the test on 127.0.0.1: bodies of 2xx and error statuses reach the caller, refused and silent
 * providers are classified, the connection is kept alive and re-opened when the provider closed
 * it, and what is sent (POST body, SOAPAction, the trace headers) arrives as given.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arena.h"
#include "check_run.h"
#include "http_client.h"

/* ---- the test server ------------------------------------------------------------------------ */

typedef enum server_mode {
    ANSWER,            /* answer every request, keep the connection open */
    ANSWER_THEN_CLOSE, /* answer (announcing keep-alive), then close the connection */
    NEVER_ANSWER,      /* read the request and stay silent */
    DROP_SECOND,       /* answer a connection's first request; close it on the second, unanswered:
                          the provider's idle close racing with the client's next request */
} server_mode;

typedef struct test_server {
    int listen_fd;
    int port;
    pthread_t thread;
    atomic_int stop;
    server_mode mode;
    int status;               /* HTTP status of the answers */
    const char *content_type;
    const char *body;
    atomic_int accepts;       /* TCP connections accepted */
    atomic_int requests;      /* requests read */
    /* the last request as received, written before `requests` is incremented */
    char request_head[4096];
    char request_body[4096];
    size_t request_body_len;
} test_server;

/* Waits until fd is readable or the server is told to stop; 1 when readable. */
static int wait_readable(test_server *srv, int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (!atomic_load(&srv->stop)) {
        int n = poll(&p, 1, 50);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 0;
    }
    return 0;
}

/* Reads one request (head and Content-Length body). 0 when the client closed or on stop. */
static int read_request(test_server *srv, int fd)
{
    static char buf[16384];
    size_t have = 0;
    char *end = NULL;
    while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
        if (have == sizeof buf || !wait_readable(srv, fd))
            return 0;
        ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
        if (n <= 0)
            return 0;
        have += (size_t)n;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    size_t body_len = 0;
    for (char *line = buf; line < end; line = strstr(line, "\r\n") + 2)
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            body_len = strtoul(line + 15, NULL, 10);
    while (have < head_len + body_len) {
        if (have == sizeof buf || !wait_readable(srv, fd))
            return 0;
        ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
        if (n <= 0)
            return 0;
        have += (size_t)n;
    }
    snprintf(srv->request_head, sizeof srv->request_head, "%.*s", (int)head_len, buf);
    srv->request_body_len = body_len < sizeof srv->request_body ? body_len : 0;
    memcpy(srv->request_body, buf + head_len, srv->request_body_len);
    srv->request_body[srv->request_body_len] = '\0';
    atomic_fetch_add(&srv->requests, 1);
    return 1;
}

static void send_answer(test_server *srv, int fd)
{
    char msg[8192];
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 %d Whatever\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: keep-alive\r\n\r\n%s",
                     srv->status, srv->content_type, strlen(srv->body), srv->body);
    ck_assert_int_lt(n, (int)sizeof msg);
    ck_assert_int_eq(send(fd, msg, (size_t)n, MSG_NOSIGNAL), n);
}

static void *server_main(void *arg)
{
    test_server *srv = arg;
    while (wait_readable(srv, srv->listen_fd)) {
        int fd = accept(srv->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&srv->accepts, 1);
        int served = 0;
        while (read_request(srv, fd)) {
            if (srv->mode == DROP_SECOND && served++ == 1)
                break;
            if (srv->mode == NEVER_ANSWER) {
                wait_readable(srv, -1); /* until told to stop */
                break;
            }
            send_answer(srv, fd);
            if (srv->mode == ANSWER_THEN_CLOSE)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void server_start(test_server *srv, server_mode mode, int status, const char *content_type,
                         const char *body)
{
    memset(srv, 0, sizeof *srv);
    srv->mode = mode;
    srv->status = status;
    srv->content_type = content_type;
    srv->body = body;
    srv->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(srv->listen_fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(srv->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(srv->listen_fd, 8), 0);
    socklen_t alen = sizeof a;
    ck_assert_int_eq(getsockname(srv->listen_fd, (struct sockaddr *)&a, &alen), 0);
    srv->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&srv->thread, NULL, server_main, srv), 0);
}

static void server_stop(test_server *srv)
{
    atomic_store(&srv->stop, 1);
    pthread_join(srv->thread, NULL);
    close(srv->listen_fd);
}

/* ---- helpers -------------------------------------------------------------------------------- */

static gw_arena arena;
static gw_http_client *client;
static char err[1024];
static char url[128];

static void setup(void)
{
    gw_arena_init(&arena, 4096);
    client = gw_http_client_new();
    ck_assert_ptr_nonnull(client);
    err[0] = '\0';
}

static void teardown(void)
{
    gw_http_client_free(client);
    gw_arena_destroy(&arena);
}

static const char *url_of(const test_server *srv, const char *path)
{
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", srv->port, path);
    return url;
}

static gw_status get(const char *u, unsigned timeout_ms, pide_http_response *resp)
{
    pide_http_request req = {.url = u, .method = "GET", .timeout_ms = timeout_ms};
    return gw_http_call(client, &arena, &req, NULL, resp, err, sizeof err);
}

static void assert_contains(const char *haystack, const char *needle)
{
    ck_assert_msg(strstr(haystack, needle) != NULL, "expected \"%s\" in \"%s\"", needle,
                  haystack);
}

/* ---- tests ---------------------------------------------------------------------------------- */

START_TEST(ok_with_body)
{
    test_server srv;
    server_start(&srv, ANSWER, 200, "application/json", "{\"nombre\":\"JUAN\"}");
    pide_http_response resp;
    gw_status st = get(url_of(&srv, "/padron?dni=1"), 2000, &resp);
    ck_assert_msg(st == GW_OK, "%s: %s", gw_status_name(st), err);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "{\"nombre\":\"JUAN\"}");
    ck_assert_uint_eq(resp.body_len, strlen("{\"nombre\":\"JUAN\"}"));
    ck_assert_ptr_nonnull(resp.content_type);
    assert_contains(resp.content_type, "application/json");
    assert_contains(srv.request_head, "GET /padron?dni=1 HTTP/1.1\r\n");
    server_stop(&srv);
}
END_TEST

/* A provider's "not found" or "forbidden" is an answer with a body the adapter must read. */
static const int error_statuses[] = {404, 403, 503};

START_TEST(error_status_body_reaches_caller)
{
    int code = error_statuses[_i];
    char body[128];
    snprintf(body, sizeof body, "{\"error\":\"status %d\",\"codigo\":\"E%d\"}", code, code);
    test_server srv;
    server_start(&srv, ANSWER, code, "application/json", body);
    pide_http_response resp;
    gw_status st = get(url_of(&srv, "/x"), 2000, &resp);
    ck_assert_msg(st == GW_OK, "%d: %s: %s", code, gw_status_name(st), err);
    ck_assert_int_eq(resp.status, code);
    ck_assert_ptr_nonnull(resp.body);
    ck_assert_str_eq(resp.body, body);
    ck_assert_uint_eq(resp.body_len, strlen(body));
    /* and the connection is still usable for the next call */
    st = get(url_of(&srv, "/y"), 2000, &resp);
    ck_assert_msg(st == GW_OK, "second call: %s: %s", gw_status_name(st), err);
    ck_assert_str_eq(resp.body, body);
    server_stop(&srv);
}
END_TEST

START_TEST(connection_refused_is_unavailable)
{
    /* A port that was just free: bound, then closed without listening. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t alen = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    close(fd);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    pide_http_response resp;
    ck_assert_int_eq(get(url, 2000, &resp), GW_ERR_PROVIDER_UNAVAILABLE);
    assert_contains(err, url);
}
END_TEST

START_TEST(silent_provider_times_out)
{
    test_server srv;
    server_start(&srv, NEVER_ANSWER, 200, "text/plain", "");
    pide_http_response resp;
    gw_status st = get(url_of(&srv, "/slow"), 300, &resp);
    ck_assert_msg(st == GW_ERR_PROVIDER_TIMEOUT, "%s: %s", gw_status_name(st), err);
    assert_contains(err, "300 ms");
    ck_assert_int_eq(atomic_load(&srv.requests), 1);
    server_stop(&srv);
}
END_TEST

START_TEST(no_url_is_unavailable)
{
    pide_http_response resp;
    ck_assert_int_eq(get(NULL, 100, &resp), GW_ERR_PROVIDER_UNAVAILABLE);
    assert_contains(err, "no provider URL");
}
END_TEST

/* Makes `calls` GETs to a server in `mode` answering <ok/>, pausing pause_ms after each; then
 * checks how many requests and TCP connections the server saw. */
static void assert_calls_reach_server(server_mode mode, int calls, unsigned pause_ms,
                                      int expected_requests, int expected_accepts)
{
    test_server srv;
    server_start(&srv, mode, 200, "text/xml", "<ok/>");
    for (int i = 0; i < calls; i++) {
        pide_http_response resp;
        gw_status st = get(url_of(&srv, "/ok"), 2000, &resp);
        ck_assert_msg(st == GW_OK, "call %d: %s: %s", i, gw_status_name(st), err);
        ck_assert_str_eq(resp.body, "<ok/>");
        usleep(pause_ms * 1000);
    }
    ck_assert_int_eq(atomic_load(&srv.requests), expected_requests);
    ck_assert_int_eq(atomic_load(&srv.accepts), expected_accepts);
    server_stop(&srv);
}

START_TEST(keep_alive_reuses_one_connection)
{
    assert_calls_reach_server(ANSWER, 5, 0, 5, 1);
}
END_TEST

START_TEST(closed_keep_alive_connection_is_reopened)
{
    /* The provider closes between calls: the next call goes out on a new connection. The pause
     * lets the close reach the client's socket. */
    assert_calls_reach_server(ANSWER_THEN_CLOSE, 3, 50, 3, 3);
}
END_TEST

START_TEST(request_lost_on_closing_connection_is_retried)
{
    /* The provider closes the kept-alive connection just as the request arrives: the client
     * only sees the close after sending, and must retry once on a fresh connection. Calls 2 and
     * 3 are each sent twice: dropped on the old connection, answered on a new one. */
    assert_calls_reach_server(DROP_SECOND, 3, 0, 5, 3);
}
END_TEST

static void assert_post_arrives(const char *given_action)
{
    test_server srv;
    server_start(&srv, ANSWER, 200, "text/xml", "<r/>");
    static const char body[] = "<soap:Envelope><soap:Body><a>\xc3\xb1</a></soap:Body>"
                               "</soap:Envelope>";
    pide_http_request req = {.url = url_of(&srv, "/svc"),
                             .method = "POST",
                             .content_type = "text/xml; charset=utf-8",
                             .soap_action = given_action,
                             .body = body,
                             .body_len = sizeof body - 1,
                             .timeout_ms = 2000};
    pide_http_response resp;
    gw_status st = gw_http_call(client, &arena, &req, NULL, &resp, err, sizeof err);
    ck_assert_msg(st == GW_OK, "%s: %s", gw_status_name(st), err);
    assert_contains(srv.request_head, "POST /svc HTTP/1.1\r\n");
    assert_contains(srv.request_head, "Content-Type: text/xml; charset=utf-8\r\n");
    assert_contains(srv.request_head, "SOAPAction: \"urn:reniec:consultar\"\r\n");
    ck_assert_uint_eq(srv.request_body_len, sizeof body - 1);
    ck_assert_mem_eq(srv.request_body, body, sizeof body - 1);
    server_stop(&srv);
}

START_TEST(post_body_and_action_arrive_as_sent)
{
    assert_post_arrives("urn:reniec:consultar");
}
END_TEST

START_TEST(quoted_action_is_quoted_once)
{
    assert_post_arrives("\"urn:reniec:consultar\"");
}
END_TEST

/* The extra header lines (the exchange's traceparent/tracestate) go with every call they are
 * given to, and only with those. */
START_TEST(extra_headers_go_with_their_call_only)
{
    test_server srv;
    server_start(&srv, ANSWER, 200, "text/xml", "<r/>");
    pide_http_request req = {.url = url_of(&srv, "/svc"), .method = "POST", .body = "<a/>",
                             .body_len = 4, .timeout_ms = 2000};
    pide_http_response resp;
    const char *tp = "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
                     "tracestate: rojo=1";
    gw_status st = gw_http_call(client, &arena, &req, tp, &resp, err, sizeof err);
    ck_assert_msg(st == GW_OK, "%s: %s", gw_status_name(st), err);
    assert_contains(srv.request_head,
                    "\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n");
    assert_contains(srv.request_head, "\r\ntracestate: rojo=1\r\n");
    st = gw_http_call(client, &arena, &req, NULL, &resp, err, sizeof err);
    ck_assert_msg(st == GW_OK, "%s: %s", gw_status_name(st), err);
    ck_assert_ptr_null(strstr(srv.request_head, "traceparent"));
    server_stop(&srv);
}
END_TEST

static Suite *http_client_suite(void)
{
    Suite *s = suite_create("http_client");
    TCase *tc = tcase_create("calls");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ok_with_body);
    tcase_add_loop_test(tc, error_status_body_reaches_caller, 0,
                        (int)(sizeof error_statuses / sizeof error_statuses[0]));
    tcase_add_test(tc, connection_refused_is_unavailable);
    tcase_add_test(tc, silent_provider_times_out);
    tcase_add_test(tc, no_url_is_unavailable);
    tcase_add_test(tc, keep_alive_reuses_one_connection);
    tcase_add_test(tc, closed_keep_alive_connection_is_reopened);
    tcase_add_test(tc, request_lost_on_closing_connection_is_retried);
    tcase_add_test(tc, post_body_and_action_arrive_as_sent);
    tcase_add_test(tc, quoted_action_is_quoted_once);
    tcase_add_test(tc, extra_headers_go_with_their_call_only);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(http_client_suite());
}
