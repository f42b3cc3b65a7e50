/* check_host_api.c — gateway/host_api.c: the host table adapters receive (gw_host_api_init),
 * exercised on a real exchange from gateway/standalone_exchange.c (the "echo" fixture adapter)
 * and, for http_call, against a small HTTP server run by the test on loopback; the WS-Security
 * signer for provider requests with the test PKI, checked by the gateway's own WSS verifier.
 * ctest-fixtures: pki */
#include <check.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "adapter_loader.h"
#include "check_run.h"
#include "clock.h"
#include "runtime.h"
#include "standalone_exchange.h"
#include "test_pki.h"
#include "wss.h"
#include "xml_sign.h"

static char fixture_dir[PATH_MAX];

/* ---- a real exchange to lend the host functions ---- */

typedef struct bound_exchange {
    gw_adapter_module *module;
    gw_standalone *standalone;
    xmlDocPtr request;
    gw_exchange *ex;
    pide_host_api host;
} bound_exchange;

static const gw_param echo_params[] = {{"prefix", "eco: "}};

static void bound_open(bound_exchange *b, const char *endpoint, unsigned timeout_ms)
{
    char path[PATH_MAX + 64], err[512] = "";
    snprintf(path, sizeof path, "%s/pide_adapter_echo.so", fixture_dir);
    ck_assert_msg(gw_adapter_load(path, &b->module, err, sizeof err) == GW_OK, "%s", err);
    gw_standalone_service svc = {.name = "Eco", .endpoint_url = endpoint,
                                 .timeout_ms = timeout_ms, .params = echo_params,
                                 .param_count = sizeof echo_params / sizeof echo_params[0]};
    ck_assert_msg(gw_standalone_open(gw_adapter_module_descriptor(b->module), &svc,
                                     &b->standalone, NULL, err, sizeof err) == GW_OK, "%s", err);
    static const char op[] = "<echo>hola</echo>";
    b->request = xmlReadMemory(op, (int)strlen(op), NULL, NULL, XML_PARSE_NONET);
    gw_standalone_outcome o;
    ck_assert_int_eq(gw_standalone_run(b->standalone, 0, xmlDocGetRootElement(b->request), &o),
                     GW_OK);
    /* The exchange stays the worker's until its next run: the host calls below act on it. */
    b->ex = (gw_exchange *)o.exchange;
    gw_host_api_init(&b->host);
}

static void bound_close(bound_exchange *b)
{
    gw_standalone_close(b->standalone);
    xmlFreeDoc(b->request);
    gw_adapter_unload(b->module);
}

START_TEST(table_describes_itself_and_is_complete)
{
    pide_host_api api;
    memset(&api, 0xa5, sizeof api);
    gw_host_api_init(&api);
    ck_assert_uint_eq(api.abi_version, PIDE_ADAPTER_ABI_VERSION);
    ck_assert_uint_eq(api.struct_size, sizeof api);
    ck_assert_ptr_nonnull(api.alloc);
    ck_assert_ptr_nonnull(api.strdup);
    ck_assert_ptr_nonnull(api.log);
    ck_assert_ptr_nonnull(api.config_param);
    ck_assert_ptr_nonnull(api.http_call);
    ck_assert_ptr_nonnull(api.set_subject);
    ck_assert_ptr_nonnull(api.set_purpose);
    ck_assert_ptr_nonnull(api.set_result_code);
    ck_assert_ptr_nonnull(api.sign_document);
    ck_assert_ptr_nonnull(api.set_caller_audit);
    ck_assert_ptr_nonnull(api.identity);
    ck_assert_ptr_nonnull(api.wss_signer_open);
    ck_assert_ptr_nonnull(api.wss_sign);
    ck_assert_ptr_nonnull(api.wss_signer_close);
}
END_TEST

START_TEST(memory_comes_from_the_exchange_arena)
{
    bound_exchange b;
    bound_open(&b, NULL, 0);
    size_t before = b.ex->arena.bytes_allocated;
    char *p = b.host.alloc(b.ex, 1000);
    ck_assert_ptr_nonnull(p);
    memset(p, 'x', 1000);
    ck_assert_uint_ge(b.ex->arena.bytes_allocated, before + 1000);
    char source[] = "texto del adaptador";
    before = b.ex->arena.bytes_allocated;
    char *copy = b.host.strdup(b.ex, source);
    ck_assert_ptr_ne(copy, source);
    ck_assert_uint_ge(b.ex->arena.bytes_allocated, before + sizeof source);
    source[0] = 'T';
    ck_assert_str_eq(copy, "texto del adaptador");
    /* The next exchange rewinds the arena: nothing for the adapter to free. */
    gw_standalone_outcome o;
    ck_assert_int_eq(gw_standalone_run(b.standalone, 0, xmlDocGetRootElement(b.request), &o),
                     GW_OK);
    ck_assert_uint_lt(o.exchange->arena.bytes_allocated, before);
    b.host.log(b.ex, PIDE_LOG_DEBUG, "log with an exchange %d", 1);
    b.host.log(NULL, PIDE_LOG_DEBUG, "log without one %s", "(init)");
    bound_close(&b);
}
END_TEST

START_TEST(log_fields_are_copied)
{
    bound_exchange b;
    bound_open(&b, NULL, 0);
    char type[] = "DNI", id[] = "12345678", purpose[] = "verificar", procedure[] = "TUPA-1";
    char code[] = "0000", host[] = "pc-01", ip[] = "10.1.2.3", user[] = "jperez",
         mac[] = "00:11:22:33:44:55";
    b.host.set_subject(b.ex, type, id);
    b.host.set_purpose(b.ex, purpose, procedure);
    b.host.set_result_code(b.ex, code);
    b.host.set_caller_audit(b.ex, host, ip, user, mac);
    /* The adapter's buffers change or go away after the call: the exchange keeps its own. */
    char *mutable[] = {type, id, purpose, procedure, code, host, ip, user, mac};
    for (size_t i = 0; i < sizeof mutable / sizeof *mutable; i++)
        memset(mutable[i], '#', strlen(mutable[i]));
    ck_assert_str_eq(b.ex->subject_type, "DNI");
    ck_assert_str_eq(b.ex->subject_id, "12345678");
    ck_assert_str_eq(b.ex->purpose, "verificar");
    ck_assert_str_eq(b.ex->procedure, "TUPA-1");
    ck_assert_str_eq(b.ex->result_code, "0000");
    ck_assert_str_eq(b.ex->caller_host, "pc-01");
    ck_assert_str_eq(b.ex->caller_ip, "10.1.2.3");
    ck_assert_str_eq(b.ex->caller_user, "jperez");
    ck_assert_str_eq(b.ex->caller_mac, "00:11:22:33:44:55");
    /* NULL clears (what the adapter did not declare stays NULL in the log). */
    b.host.set_purpose(b.ex, "otro", NULL);
    ck_assert_str_eq(b.ex->purpose, "otro");
    ck_assert_ptr_null(b.ex->procedure);
    bound_close(&b);
}
END_TEST

START_TEST(config_param_finds_the_service_params)
{
    bound_exchange b;
    bound_open(&b, NULL, 0);
    const pide_service_config *sc = b.ex->service->binding->service_config;
    ck_assert_str_eq(b.host.config_param(sc, "prefix"), "eco: ");
    /* a declared parameter not given comes with its declared default, as in the gateway */
    ck_assert_str_eq(b.host.config_param(sc, "mode"), "echo");
    ck_assert_ptr_null(b.host.config_param(sc, "missing"));
    bound_close(&b);
}
END_TEST

/* ---- a provider on loopback ---- */

typedef struct provider {
    int listen_fd;
    int port;
    int answer;              /* 0: accept and never answer */
    char request_line[256];  /* what the client asked for */
    char head[8192];         /* the whole request head */
    pthread_t thread;
} provider;

static void *provider_serve(void *arg)
{
    provider *p = arg;
    int fd = accept(p->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char buf[8192];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    buf[len] = '\0';
    snprintf(p->head, sizeof p->head, "%s", buf);
    size_t line = strcspn(buf, "\r\n");
    if (line >= sizeof p->request_line)
        line = sizeof p->request_line - 1;
    memcpy(p->request_line, buf, line);
    p->request_line[line] = '\0';
    if (p->answer) {
        static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                     "Content-Length: 6\r\nConnection: close\r\n\r\nvale\r\n";
        ssize_t n = send(fd, answer, sizeof answer - 1, MSG_NOSIGNAL);
        (void)n;
    } else {
        /* Hold the connection until the client gives up. */
        while (recv(fd, buf, sizeof buf, 0) > 0)
            ;
    }
    close(fd);
    return NULL;
}

static void provider_start(provider *p, int answer)
{
    memset(p, 0, sizeof *p);
    p->answer = answer;
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof sa;
    ck_assert_int_eq(bind(p->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(p->listen_fd, 4), 0);
    getsockname(p->listen_fd, (struct sockaddr *)&sa, &salen);
    p->port = ntohs(sa.sin_port);
    ck_assert_int_eq(pthread_create(&p->thread, NULL, provider_serve, p), 0);
}

static void provider_stop(provider *p)
{
    pthread_join(p->thread, NULL);
    close(p->listen_fd);
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof sa;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    getsockname(fd, (struct sockaddr *)&sa, &salen);
    close(fd);
    return ntohs(sa.sin_port);
}

START_TEST(http_call_uses_the_service_endpoint_and_records_times)
{
    provider p;
    provider_start(&p, 1);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/padron/v2", p.port);
    bound_exchange b;
    bound_open(&b, endpoint, 3000);
    ck_assert_int_eq(b.ex->t_provider_out, 0);
    pide_http_request req = {.method = "GET"};   /* url NULL: the service's endpoint */
    pide_http_response resp = {0};
    int64_t before = gw_now_us();
    ck_assert_int_eq(b.host.http_call(b.ex, &req, &resp), PIDE_OK);
    provider_stop(&p);
    ck_assert_str_eq(p.request_line, "GET /padron/v2 HTTP/1.1");
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "vale\r\n");
    ck_assert_int_ge(b.ex->t_provider_out, before);
    ck_assert_int_le(b.ex->t_provider_out, b.ex->t_provider_in);
    ck_assert_int_le(b.ex->t_provider_in, gw_now_us());
    bound_close(&b);
}
END_TEST

START_TEST(http_call_headers_sends_checked_headers)
{
    provider p;
    provider_start(&p, 1);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/api", p.port);
    bound_exchange b;
    bound_open(&b, endpoint, 3000);
    ck_assert(PIDE_HOST_HAS(&b.host, http_call_headers));
    pide_http_request req = {.method = "GET"};
    pide_http_response resp = {0};
    const char *names[] = {"Accept", "X-Api-Version"}, *values[] = {"application/json", "2"};
    ck_assert_int_eq(b.host.http_call_headers(b.ex, &req, names, values, 2, &resp), PIDE_OK);
    provider_stop(&p);
    ck_assert_ptr_nonnull(strstr(p.head, "\r\nAccept: application/json\r\n"));
    ck_assert_ptr_nonnull(strstr(p.head, "\r\nX-Api-Version: 2\r\n"));

    /* refused before any connection: names the host writes, bad tokens, forged lines */
    const struct {
        const char *name, *value;
        pide_result rc;
    } bad[] = {
        {"Host", "evil", PIDE_ERR_INTERNAL},
        {"content-length", "0", PIDE_ERR_INTERNAL},
        {"Proxy-Authorization", "x", PIDE_ERR_INTERNAL},
        {"traceparent", "00-x", PIDE_ERR_INTERNAL},
        {"Bad Name", "x", PIDE_ERR_INTERNAL},
        {"", "x", PIDE_ERR_INTERNAL},
        {"X-Id", "1\r\nX-Forged: yes", PIDE_ERR_BAD_REQUEST},
        {"X-Id", "1\nX-Forged: yes", PIDE_ERR_BAD_REQUEST},
        {"X-Id", "nul\x01", PIDE_ERR_BAD_REQUEST},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(b.host.http_call_headers(b.ex, &req, &bad[i].name, &bad[i].value, 1, &resp) ==
                          bad[i].rc,
                      "%s", bad[i].name);
    char long_value[1100];
    memset(long_value, 'a', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    const char *ln = "X-Long", *lv = long_value;
    ck_assert_int_eq(b.host.http_call_headers(b.ex, &req, &ln, &lv, 1, &resp),
                     PIDE_ERR_BAD_REQUEST);
    const char *many_n[17], *many_v[17];
    for (int i = 0; i < 17; i++) {
        many_n[i] = "X-Many";
        many_v[i] = "1";
    }
    ck_assert_int_eq(b.host.http_call_headers(b.ex, &req, many_n, many_v, 17, &resp),
                     PIDE_ERR_INTERNAL);
    bound_close(&b);
}
END_TEST

START_TEST(http_call_maps_refused_connections_to_unavailable)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/x", closed_port());
    bound_exchange b;
    bound_open(&b, "http://127.0.0.1:9/unused", 3000);
    pide_http_request req = {.method = "GET", .url = endpoint};
    pide_http_response resp = {0};
    ck_assert_int_eq(b.host.http_call(b.ex, &req, &resp), PIDE_ERR_PROVIDER_UNAVAILABLE);
    ck_assert_ptr_nonnull(b.ex->fault_detail);
    ck_assert_int_gt(b.ex->t_provider_out, 0);
    ck_assert_int_le(b.ex->t_provider_out, b.ex->t_provider_in);
    bound_close(&b);
}
END_TEST

START_TEST(http_call_uses_the_service_timeout)
{
    provider p;
    provider_start(&p, 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/lento", p.port);
    bound_exchange b;
    bound_open(&b, endpoint, 300);             /* the client's own default is 5000 ms */
    pide_http_request req = {.method = "GET"}; /* timeout_ms 0: the service's */
    pide_http_response resp = {0};
    int64_t before = gw_now_us();
    ck_assert_int_eq(b.host.http_call(b.ex, &req, &resp), PIDE_ERR_PROVIDER_TIMEOUT);
    int64_t elapsed_ms = (gw_now_us() - before) / 1000;
    ck_assert_int_ge(elapsed_ms, 250);
    ck_assert_int_lt(elapsed_ms, 3000);
    ck_assert_ptr_nonnull(strstr(b.ex->fault_detail, "300 ms"));
    ck_assert_int_le(b.ex->t_provider_out, b.ex->t_provider_in);
    bound_close(&b);
    provider_stop(&p);
}
END_TEST

/* wss_signer_open / wss_sign / wss_signer_close: a SOAP 1.2 provider request signed with a
 * service's own key verifies under the gateway's WSS policy; a missing key, an envelope already
 * signed and a document that is not an Envelope are refused. */
START_TEST(wss_signer_signs_provider_requests)
{
    bound_exchange b;
    bound_open(&b, NULL, 0);
    ck_assert(PIDE_HOST_HAS(&b.host, wss_signer_open));
    ck_assert(PIDE_HOST_HAS(&b.host, wss_sign));
    ck_assert(PIDE_HOST_HAS(&b.host, wss_signer_close));
    pide_service_config cfg = {.service_name = "Eco"};
    char key[PATH_MAX], cert[PATH_MAX], ca[PATH_MAX];
    test_pki_path(key, sizeof key, "gateway-sign.key");
    test_pki_path(cert, sizeof cert, "gateway-sign.pem");
    test_pki_path(ca, sizeof ca, "ca.pem");
    ck_assert_ptr_null(b.host.wss_signer_open(&cfg, "/nonexistent.key", cert));
    ck_assert_ptr_null(b.host.wss_signer_open(&cfg, key, NULL));
    b.host.wss_signer_close(NULL);
    pide_wss_signer *w = b.host.wss_signer_open(&cfg, key, cert);
    ck_assert_ptr_nonnull(w);

    static const char env[] =
        "<e:Envelope xmlns:e='http://www.w3.org/2003/05/soap-envelope'><e:Body>"
        "<p:ConsultaElector xmlns:p='urn:jne:padron:v1'><numeroDni>45678912</numeroDni>"
        "</p:ConsultaElector></e:Body></e:Envelope>";
    xmlDocPtr doc = xmlReadMemory(env, (int)strlen(env), NULL, NULL, XML_PARSE_NONET);
    ck_assert_int_eq(b.host.wss_sign(b.ex, w, doc, 120), PIDE_OK);
    /* What a provider would receive: serialized and parsed again, then verified. */
    xmlChar *wire = NULL;
    int len = 0;
    xmlDocDumpMemory(doc, &wire, &len);
    xmlDocPtr received = xmlReadMemory((const char *)wire, len, NULL, NULL, XML_PARSE_NONET);
    gw_wss_policy policy = {.ca_pem_path = ca, .max_skew_s = 60, .max_age_s = 300};
    gw_wss_result r;
    char err[512] = "";
    ck_assert_msg(gw_wss_verify_request(received, &policy, &r, err, sizeof err) == GW_OK, "%s",
                  err);
    ck_assert_int_eq((int)(r.expires - r.created), 120);
    /* Signed once: a second signature is refused, the document left as it was. */
    ck_assert_int_eq(b.host.wss_sign(b.ex, w, doc, 120), PIDE_ERR_INTERNAL);
    static const char not_soap[] = "<a/>";
    xmlDocPtr other = xmlReadMemory(not_soap, (int)strlen(not_soap), NULL, NULL, 0);
    ck_assert_int_eq(b.host.wss_sign(b.ex, w, other, 120), PIDE_ERR_INTERNAL);
    xmlFreeDoc(other);
    xmlFree(wire);
    xmlFreeDoc(received);
    xmlFreeDoc(doc);
    b.host.wss_signer_close(w);
    bound_close(&b);
}
END_TEST

int main(void)
{
    const char *build = getenv("PIDE_BUILD_DIR");
    if (!build) {
        fprintf(stderr, "check_host_api: run through ctest (PIDE_BUILD_DIR)\n");
        return 1;
    }
    snprintf(fixture_dir, sizeof fixture_dir, "%s/tests/fixtures/adapters", build);
    xmlInitParser();
    if (gw_xmlsec_global_init() != GW_OK) {
        fprintf(stderr, "check_host_api: cannot initialise xmlsec\n");
        return 1;
    }
    Suite *suite = suite_create("host_api");
    TCase *tc = tcase_create("host_api");
    tcase_add_test(tc, table_describes_itself_and_is_complete);
    tcase_add_test(tc, memory_comes_from_the_exchange_arena);
    tcase_add_test(tc, log_fields_are_copied);
    tcase_add_test(tc, config_param_finds_the_service_params);
    tcase_add_test(tc, http_call_uses_the_service_endpoint_and_records_times);
    tcase_add_test(tc, http_call_maps_refused_connections_to_unavailable);
    tcase_add_test(tc, http_call_headers_sends_checked_headers);
    tcase_add_test(tc, http_call_uses_the_service_timeout);
    tcase_add_test(tc, wss_signer_signs_provider_requests);
    suite_add_tcase(suite, tc);
    return check_run_suite(suite);
}
