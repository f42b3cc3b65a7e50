/*
 * adapter_test_host.c — the test host for adapter plugins (see adapter_test_host.h): host
 * function table, per-exchange arena, loopback HTTP client, signing through lib/xml_sign,
 * simulator processes.
 */
#include "adapter_test_host.h"

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "xml_sign.h"

/* Relative: this library is built by adapters/CMakeLists.txt, outside pide_add_check_test. */
#include "../lib/check_run.h"

#define SOAP_ENV_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define MAX_PROVIDER_ANSWER (1024 * 1024)

/* ---- per-exchange arena ------------------------------------------------------------------- */

struct ath_chunk {
    struct ath_chunk *next;
    max_align_t data[];
};

static void *host_alloc(pide_exchange *ex, size_t size)
{
    struct ath_chunk *c = malloc(sizeof *c + size);
    if (!c)
        return NULL;
    c->next = ex->chunks;
    ex->chunks = c;
    return c->data;
}

static char *host_strdup(pide_exchange *ex, const char *s)
{
    char *d = host_alloc(ex, strlen(s) + 1);
    return d ? strcpy(d, s) : NULL;
}

/* ---- logging and declarations ------------------------------------------------------------- */

static pthread_mutex_t global_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char global_log[8192];

static void append_line(char *log, size_t cap, const char *line)
{
    size_t used = strlen(log);
    snprintf(log + used, cap - used, "%s\n", line);
}

static void host_log(pide_exchange *ex, pide_log_level level, const char *fmt, ...)
{
    (void)level;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (ex) {
        append_line(ex->log, sizeof ex->log, line);
    } else {
        pthread_mutex_lock(&global_log_lock);
        append_line(global_log, sizeof global_log, line);
        pthread_mutex_unlock(&global_log_lock);
    }
}

const char *ath_global_log(void)
{
    return global_log;
}

void ath_global_log_clear(void)
{
    pthread_mutex_lock(&global_log_lock);
    global_log[0] = '\0';
    pthread_mutex_unlock(&global_log_lock);
}

static const char *host_config_param(const pide_service_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->param_count; i++)
        if (strcmp(cfg->param_names[i], name) == 0)
            return cfg->param_values[i];
    return NULL;
}

#define COPY(field, value) snprintf((field), sizeof(field), "%s", (value) ? (value) : "")

static void host_set_subject(pide_exchange *ex, const char *type, const char *id)
{
    COPY(ex->subject_type, type);
    COPY(ex->subject_id, id);
    snprintf(ex->subject, sizeof ex->subject, "%s:%s", ex->subject_type, ex->subject_id);
}

static void host_set_purpose(pide_exchange *ex, const char *purpose, const char *procedure)
{
    COPY(ex->purpose, purpose);
    COPY(ex->procedure, procedure);
}

static void host_set_result_code(pide_exchange *ex, const char *code)
{
    COPY(ex->result_code, code);
}

static void host_set_caller_audit(pide_exchange *ex, const char *host_name, const char *ip,
                                  const char *user_name, const char *mac)
{
    ex->caller_audit_set = true;
    COPY(ex->audit_host_name, host_name);
    COPY(ex->audit_ip, ip);
    COPY(ex->audit_user_name, user_name);
    COPY(ex->audit_mac, mac);
}

/* ---- HTTP client -------------------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* The value of header `name` inside the head [head, head_end), copied into exchange memory. */
static const char *header_value(pide_exchange *ex, const char *head, const char *head_end,
                                const char *name, size_t *value_len)
{
    size_t name_len = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line && line < head_end;
         line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, name_len) == 0 && h[name_len] == ':') {
            const char *v = h + name_len + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            *value_len = (size_t)(end - v);
            char *copy = host_alloc(ex, *value_len + 1);
            if (!copy)
                return NULL;
            memcpy(copy, v, *value_len);
            copy[*value_len] = '\0';
            return copy;
        }
    }
    return NULL;
}

/* Reads until the peer closes (Connection: close) or the deadline; *timed_out on deadline. */
static char *read_answer(pide_exchange *ex, int fd, long long deadline, size_t *len,
                         bool *timed_out)
{
    size_t cap = 8192;
    char *buf = malloc(cap);
    *len = 0;
    *timed_out = false;
    while (buf) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            *timed_out = true;
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, (int)left);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0) {
            *timed_out = true;
            break;
        }
        if (*len + 1 >= cap) {
            if (cap >= MAX_PROVIDER_ANSWER)
                break;
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                break;
            buf = bigger;
            cap *= 2;
        }
        ssize_t got = recv(fd, buf + *len, cap - 1 - *len, 0);
        if (got <= 0)
            break;
        *len += (size_t)got;
    }
    char *copy = buf ? host_alloc(ex, *len + 1) : NULL;
    if (copy) {
        memcpy(copy, buf, *len);
        copy[*len] = '\0';
    }
    free(buf);
    return copy;
}

/* The call, with `extra` header lines ("Name: value\r\n" each; may be ""). */
static pide_result http_call_raw(pide_exchange *ex, const pide_http_request *req, const char *extra,
                                 pide_http_response *resp)
{
    const char *url = req->url ? req->url : ex->cfg->endpoint_url;
    unsigned timeout_ms = req->timeout_ms ? req->timeout_ms : ex->cfg->timeout_ms;
    long long deadline = now_ms() + timeout_ms;
    bool is_post = strcmp(req->method, "POST") == 0;
    ex->http_calls++;
    COPY(ex->sent_method, req->method);
    COPY(ex->sent_url, url);
    COPY(ex->sent_action, req->soap_action);
    ex->sent_body = NULL;
    if (is_post && req->body) {
        ex->sent_body = host_alloc(ex, req->body_len + 1);
        if (!ex->sent_body)
            return PIDE_ERR_NOMEM;
        memcpy(ex->sent_body, req->body, req->body_len);
        ex->sent_body[req->body_len] = '\0';
    }

    unsigned port;
    int path_at = 0;
    if (sscanf(url, "http://127.0.0.1:%u%n", &port, &path_at) != 1 || port > 65535) {
        host_log(ex, PIDE_LOG_ERROR, "test host: unsupported URL %s", url);
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    const char *path = url[path_at] ? url + path_at : "/";

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    char head[1024];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                     "Connection: close\r\n", req->method, path, port);
    if (is_post)
        n += snprintf(head + n, sizeof head - (size_t)n,
                      "Content-Type: %s\r\nContent-Length: %zu\r\n",
                      req->content_type ? req->content_type : "application/octet-stream",
                      req->body_len);
    if (req->soap_action)
        n += snprintf(head + n, sizeof head - (size_t)n, "SOAPAction: \"%s\"\r\n",
                      req->soap_action);
    n += snprintf(head + n, sizeof head - (size_t)n, "%s\r\n", extra);
    if (n >= (int)sizeof head || !send_all(fd, head, (size_t)n) ||
        (is_post && !send_all(fd, req->body, req->body_len))) {
        close(fd);
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    size_t len;
    bool timed_out;
    char *answer = read_answer(ex, fd, deadline, &len, &timed_out);
    close(fd);
    if (timed_out)
        return PIDE_ERR_PROVIDER_TIMEOUT;
    if (!answer)
        return PIDE_ERR_NOMEM;
    char *head_end = strstr(answer, "\r\n\r\n");
    if (!head_end || sscanf(answer, "HTTP/1.%*1d %d", &resp->status) != 1)
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    size_t ct_len = 0;
    resp->content_type = header_value(ex, answer, head_end + 2, "Content-Type", &ct_len);
    resp->body = head_end + 4;
    resp->body_len = len - (size_t)(resp->body - answer);
    return PIDE_OK;
}

static pide_result host_http_call(pide_exchange *ex, const pide_http_request *req,
                                  pide_http_response *resp)
{
    ex->sent_headers[0] = '\0';
    return http_call_raw(ex, req, "", resp);
}

/* The real host checks names and values (gateway/host_api.c, check_host_api.c); this one
 * records and sends them as given. */
static pide_result host_http_call_headers(pide_exchange *ex, const pide_http_request *req,
                                          const char *const *names, const char *const *values,
                                          size_t count, pide_http_response *resp)
{
    size_t n = 0;
    ex->sent_headers[0] = '\0';
    for (size_t i = 0; i < count && n < sizeof ex->sent_headers; i++)
        n += (size_t)snprintf(ex->sent_headers + n, sizeof ex->sent_headers - n, "%s: %s\r\n",
                              names[i], values[i]);
    if (n >= sizeof ex->sent_headers)
        return PIDE_ERR_INTERNAL;
    return http_call_raw(ex, req, ex->sent_headers, resp);
}

/* ---- signing ------------------------------------------------------------------------------ */

static pthread_mutex_t signer_lock = PTHREAD_MUTEX_INITIALIZER;
static gw_signer *signer;
static bool xmlsec_ready;

static pide_result host_sign(pide_exchange *ex, xmlDocPtr doc, xmlNodePtr parent)
{
    pide_result rc = PIDE_ERR_INTERNAL;
    gw_sign_ctx *ctx = NULL;
    pthread_mutex_lock(&signer_lock);
    if (!signer) {
        const char *dir = getenv("PIDE_TEST_PKI_DIR");
        char key[512], cert[512], err[256] = "";
        if (!dir) {
            host_log(ex, PIDE_LOG_ERROR, "test host: PIDE_TEST_PKI_DIR is not set: cannot sign");
        } else if (!xmlsec_ready && gw_xmlsec_global_init() != GW_OK) {
            host_log(ex, PIDE_LOG_ERROR, "test host: xmlsec initialisation failed");
        } else {
            xmlsec_ready = true;
            snprintf(key, sizeof key, "%s/gateway-sign.key", dir);
            snprintf(cert, sizeof cert, "%s/gateway-sign.pem", dir);
            if (gw_signer_open(key, cert, &signer, err, sizeof err) != GW_OK)
                host_log(ex, PIDE_LOG_ERROR, "test host: signing key: %s", err);
        }
    }
    if (signer && gw_sign_ctx_new(signer, &ctx) == GW_OK &&
        gw_sign_document(ctx, doc, parent, NULL) == GW_OK) {
        ex->signatures++;
        rc = PIDE_OK;
    }
    pthread_mutex_unlock(&signer_lock);
    gw_sign_ctx_free(ctx);
    return rc;
}

void ath_shutdown(void)
{
    pthread_mutex_lock(&signer_lock);
    if (signer)
        gw_signer_close(signer);
    signer = NULL;
    if (xmlsec_ready)
        gw_xmlsec_global_shutdown();
    xmlsec_ready = false;
    pthread_mutex_unlock(&signer_lock);
}

static const pide_identity *host_identity(pide_exchange *ex)
{
    return ex->identity;
}

static const pide_host_api HOST = {
    .abi_version = PIDE_ADAPTER_ABI_VERSION,
    .struct_size = sizeof(pide_host_api),
    .alloc = host_alloc,
    .strdup = host_strdup,
    .log = host_log,
    .config_param = host_config_param,
    .http_call = host_http_call,
    .http_call_headers = host_http_call_headers,
    .set_subject = host_set_subject,
    .set_purpose = host_set_purpose,
    .set_result_code = host_set_result_code,
    .sign_document = host_sign,
    .set_caller_audit = host_set_caller_audit,
    .identity = host_identity,
};

const pide_host_api *ath_host(void)
{
    return &HOST;
}

/* ---- plugin, services, exchanges ---------------------------------------------------------- */

const pide_adapter *ath_load_adapter(const char *so_path, void **handle)
{
    xmlInitParser();
    *handle = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(*handle != NULL, "dlopen: %s", dlerror());
    pide_adapter_entry_fn entry = (pide_adapter_entry_fn)dlsym(*handle, PIDE_ADAPTER_ENTRY_SYMBOL);
    ck_assert_msg(entry != NULL, "%s: missing symbol %s", so_path, PIDE_ADAPTER_ENTRY_SYMBOL);
    const pide_adapter *a = entry();
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(a->abi_version, PIDE_ADAPTER_ABI_VERSION);
    ck_assert_uint_ge(a->struct_size, sizeof(pide_adapter));
    return a;
}

pide_result ath_service_init(ath_service *s, const pide_adapter *adapter,
                             const char *service_name, const char *endpoint_url,
                             unsigned timeout_ms, size_t param_count,
                             const char *const *param_names, const char *const *param_values)
{
    memset(s, 0, sizeof *s);
    s->adapter = adapter;
    if (endpoint_url) {
        snprintf(s->url, sizeof s->url, "%s", endpoint_url);
        s->cfg.endpoint_url = s->url;
    }
    s->cfg.service_name = service_name;
    s->cfg.timeout_ms = timeout_ms;
    s->cfg.param_count = param_count;
    s->cfg.param_names = param_names;
    s->cfg.param_values = param_values;
    return adapter->init(&HOST, &s->cfg, &s->instance);
}

void ath_service_fini(ath_service *s)
{
    if (s->adapter->fini)
        s->adapter->fini(s->instance);
    s->instance = NULL;
}

static xmlNodePtr first_element(xmlNodePtr n)
{
    while (n && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

void ath_run(ath_service *s, const char *request_envelope, ath_outcome *o)
{
    memset(o, 0, sizeof *o);
    xmlDocPtr req_doc = xmlReadMemory(request_envelope, (int)strlen(request_envelope), NULL,
                                      NULL, XML_PARSE_NONET);
    ck_assert_msg(req_doc != NULL, "request is not well-formed XML");
    xmlNodePtr body = first_element(xmlDocGetRootElement(req_doc)->children);
    while (body && strcmp((const char *)body->name, "Body") != 0)
        body = first_element(body->next);
    ck_assert_msg(body != NULL, "request has no soap:Body");
    xmlNodePtr op = first_element(body->children);
    ck_assert_msg(op != NULL, "request's soap:Body is empty");

    o->response_doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr env = xmlNewNode(NULL, BAD_CAST "Envelope");
    xmlNsPtr soap = xmlNewNs(env, BAD_CAST SOAP_ENV_NS, BAD_CAST "soapenv");
    xmlSetNs(env, soap);
    xmlDocSetRootElement(o->response_doc, env);
    o->response_body = xmlNewChild(env, soap, BAD_CAST "Body", NULL);
    ck_assert_ptr_nonnull(o->response_body);

    o->ex.cfg = &s->cfg;
    if (s->identity.member)
        o->ex.identity = &s->identity;
    pide_call call = {.service_name = s->cfg.service_name, .operation = (const char *)op->name,
                      .request = op, .response_body = o->response_body};
    o->rc = s->adapter->handle(s->instance, &o->ex, &call);
    o->answer = first_element(o->response_body->children);
    xmlFreeDoc(req_doc);
}

void ath_outcome_free(ath_outcome *o)
{
    while (o->ex.chunks) {
        struct ath_chunk *next = o->ex.chunks->next;
        free(o->ex.chunks);
        o->ex.chunks = next;
    }
    xmlFreeDoc(o->response_doc);
    o->response_doc = NULL;
}

/* ---- simulator processes ------------------------------------------------------------------ */

ath_sim ath_sim_start(const char *exe, const char *const *extra_args)
{
    char port_file[] = "/tmp/adapter-test-port-XXXXXX";
    int tmp = mkstemp(port_file);
    ck_assert_int_ge(tmp, 0);
    close(tmp);
    unlink(port_file);   /* the simulator creates it once it listens */

    const char *argv[32] = {exe, "--port", "0", "--port-file", port_file};
    size_t argc = 5;
    for (size_t i = 0; extra_args && extra_args[i]; i++) {
        ck_assert_uint_lt(argc, sizeof argv / sizeof argv[0] - 1);
        argv[argc++] = extra_args[i];
    }
    argv[argc] = NULL;

    ath_sim sim = {0};
    sim.pid = fork();
    ck_assert_int_ge(sim.pid, 0);
    if (sim.pid == 0) {
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 200 && !sim.port; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%u", &sim.port) != 1)
                sim.port = 0;
            fclose(f);
        }
        if (!sim.port) {
            struct timespec ts = {0, 25 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    unlink(port_file);
    if (!sim.port) {
        kill(sim.pid, SIGTERM);
        waitpid(sim.pid, NULL, 0);
        ck_abort_msg("%s did not start", exe);
    }
    return sim;
}

void ath_sim_stop(ath_sim *sim)
{
    if (sim->pid > 0) {
        kill(sim->pid, SIGTERM);
        waitpid(sim->pid, NULL, 0);
    }
    sim->pid = 0;
    sim->port = 0;
}

unsigned ath_unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* ---- assertions on an adapter's answer --------------------------------------------------- */

xmlNodePtr ath_find(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0) {
            ck_assert_msg(n->ns == NULL, "<%s> must be unqualified", name);
            return n;
        }
    return NULL;
}

char *ath_text(xmlNodePtr parent, const char *name, char *buf, size_t cap)
{
    xmlNodePtr n = ath_find(parent, name);
    if (!n)
        return NULL;
    xmlChar *c = xmlNodeGetContent(n);
    snprintf(buf, cap, "%s", (const char *)c);
    xmlFree(c);
    return buf;
}

xmlSchemaPtr ath_schema_load(const char *xsd_path)
{
    xmlSchemaParserCtxtPtr pctx = xmlSchemaNewParserCtxt(xsd_path);
    xmlSchemaPtr schema = xmlSchemaParse(pctx);
    xmlSchemaFreeParserCtxt(pctx);
    ck_assert_msg(schema != NULL, "cannot parse %s", xsd_path);
    return schema;
}

xmlNodePtr ath_checked_return(const ath_contract *contract, const ath_outcome *o,
                              const char *code)
{
    ck_assert_msg(o->rc == PIDE_OK, "handle() = %d, log: %s", o->rc, o->ex.log);
    ck_assert_ptr_nonnull(o->answer);
    ck_assert_str_eq((const char *)o->answer->name, contract->response);
    ck_assert_str_eq((const char *)o->answer->ns->href, contract->ns);
    xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(contract->schema);
    int valid = xmlSchemaValidateOneElement(v, o->answer);
    xmlSchemaFreeValidCtxt(v);
    ck_assert_msg(valid == 0, "%s does not validate against the XSD", contract->response);
    xmlNodePtr ret = ath_find(o->answer, "return");
    ck_assert_ptr_nonnull(ret);
    char buf[16];
    ck_assert_str_eq(ath_text(ret, contract->result_element, buf, sizeof buf), code);
    ck_assert_str_eq(o->ex.result_code, code);
    return ret;
}

typedef struct concurrent_worker {
    ath_service *s;
    int first, count, failures;
    ath_exchange_ok exchange_ok;
} concurrent_worker;

static void *run_worker(void *arg)
{
    concurrent_worker *w = arg;
    for (int n = w->first; n < w->first + w->count; n++)
        if (!w->exchange_ok(w->s, n))
            w->failures++;
    return NULL;
}

void ath_assert_concurrent(ath_service *s, const int first[4], int per_thread,
                           ath_exchange_ok exchange_ok)
{
    concurrent_worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (concurrent_worker){.s = s, .first = first[i], .count = per_thread,
                                   .exchange_ok = exchange_ok};
        ck_assert_int_eq(pthread_create(&t[i], NULL, run_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
}

int ath_run_suite(Suite *suite)
{
    signal(SIGPIPE, SIG_IGN);
    return check_run_suite(suite);
}
