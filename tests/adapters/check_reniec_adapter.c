/*
 * check_reniec_adapter.c — tests of adapters/reniec (pide_adapter_reniec.so) through a small
 * real host: the plugin is dlopen()ed, its host table does real HTTP over loopback sockets to a
 * reniec-sim started on port 0, and every translated answer is validated against
 * schemas/reniec-consulta.xsd. A pide_simcommon server plays a misbehaving padrón.
 */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "pide_adapter.h"
#include "reniec_data.h"
#include "sim_buf.h"
#include "sim_server.h"

#define CONTRACT_NS "http://ws.pide-gateway.org/reniec/"
#define SECRET "s3cr3t-Pa55"

/* ---- the test host ------------------------------------------------------------------------ */

typedef struct chunk { struct chunk *next; max_align_t data[]; } chunk;

struct pide_exchange {
    const pide_service_config *cfg;
    chunk *chunks;                 /* the per-exchange arena: freed by exchange_end() */
    char subject[64];
    char result_code[8];
    char *sent_body;               /* what http_call sent, to check for the password */
    char sent_action[128];
    char log[4096];
};

static void *host_alloc(pide_exchange *ex, size_t size)
{
    chunk *c = malloc(sizeof *c + size);
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

static pthread_mutex_t global_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char global_log[4096];

static void host_log(pide_exchange *ex, pide_log_level level, const char *fmt, ...)
{
    (void)level;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (ex) {
        size_t used = strlen(ex->log);
        snprintf(ex->log + used, sizeof ex->log - used, "%s\n", line);
    } else {
        pthread_mutex_lock(&global_log_lock);
        size_t used = strlen(global_log);
        snprintf(global_log + used, sizeof global_log - used, "%s\n", line);
        pthread_mutex_unlock(&global_log_lock);
    }
}

static const char *host_config_param(const pide_service_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->param_count; i++)
        if (strcmp(cfg->param_names[i], name) == 0)
            return cfg->param_values[i];
    return NULL;
}

/* "http://127.0.0.1:PORT/path" only: this is test equipment. */
static pide_result host_http_call(pide_exchange *ex, const pide_http_request *req,
                                  pide_http_response *resp)
{
    const char *url = req->url ? req->url : ex->cfg->endpoint_url;
    unsigned port;
    int path_at = 0;
    if (sscanf(url, "http://127.0.0.1:%u%n", &port, &path_at) != 1)
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    const char *path = url[path_at] ? url + path_at : "/";
    unsigned timeout_ms = req->timeout_ms ? req->timeout_ms : ex->cfg->timeout_ms;

    ex->sent_body = host_strdup(ex, req->body);
    snprintf(ex->sent_action, sizeof ex->sent_action, "%s", req->soap_action ? req->soap_action : "");

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    char head[512];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: %s\r\n"
                     "SOAPAction: \"%s\"\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     req->method, path, port, req->content_type, req->soap_action,
                     req->body_len);
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n ||
        send(fd, req->body, req->body_len, MSG_NOSIGNAL) != (ssize_t)req->body_len) {
        close(fd);
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    size_t cap = 65536, len = 0;
    char *buf = host_alloc(ex, cap);
    ssize_t got;
    while (len + 1 < cap && (got = recv(fd, buf + len, cap - 1 - len, 0)) > 0)
        len += (size_t)got;
    bool timed_out = got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    close(fd);
    buf[len] = '\0';
    if (timed_out)
        return PIDE_ERR_PROVIDER_TIMEOUT;
    char *body = strstr(buf, "\r\n\r\n");
    if (!body || sscanf(buf, "HTTP/1.1 %d", &resp->status) != 1)
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    resp->body = body + 4;
    resp->body_len = len - (size_t)(resp->body - buf);
    resp->content_type = NULL;
    return PIDE_OK;
}

static void host_set_subject(pide_exchange *ex, const char *type, const char *id)
{
    snprintf(ex->subject, sizeof ex->subject, "%s:%s", type, id);
}

static void host_set_purpose(pide_exchange *ex, const char *purpose, const char *procedure)
{
    (void)ex, (void)purpose, (void)procedure;
}

static void host_set_result_code(pide_exchange *ex, const char *code)
{
    snprintf(ex->result_code, sizeof ex->result_code, "%s", code);
}

static pide_result host_sign(pide_exchange *ex, xmlDocPtr doc, xmlNodePtr parent)
{
    (void)ex, (void)doc, (void)parent;
    return PIDE_ERR_INTERNAL;
}

static const pide_host_api HOST = {
    .abi_version = PIDE_ADAPTER_ABI_VERSION,
    .struct_size = sizeof(pide_host_api),
    .alloc = host_alloc,
    .strdup = host_strdup,
    .log = host_log,
    .config_param = host_config_param,
    .http_call = host_http_call,
    .set_subject = host_set_subject,
    .set_purpose = host_set_purpose,
    .set_result_code = host_set_result_code,
    .sign_document = host_sign,
};

static void exchange_end(pide_exchange *ex)
{
    while (ex->chunks) {
        chunk *next = ex->chunks->next;
        free(ex->chunks);
        ex->chunks = next;
    }
}

/* ---- providers: a real reniec-sim (normal, failing, slow) and a misbehaving padrón -------- */

typedef struct sim_process { pid_t pid; unsigned port; } sim_process;
static sim_process sim_ok, sim_failing, sim_slow;
static sim_server *bad_padron;
static void *plugin;
static const pide_adapter *adapter;
static xmlSchemaPtr schema;

static sim_process start_reniec_sim(const char *extra_opt, const char *extra_val)
{
    char port_file[] = "/tmp/reniec-adapter-test-XXXXXX";
    int tmp = mkstemp(port_file);
    ck_assert_int_ge(tmp, 0);
    close(tmp);
    unlink(port_file);
    sim_process p = {0};
    p.pid = fork();
    if (p.pid == 0) {
        execl(RENIEC_SIM_EXE, RENIEC_SIM_EXE, "--port", "0", "--port-file", port_file,
              extra_opt, extra_val, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            int ok = fscanf(f, "%u", &p.port);
            fclose(f);
            if (ok == 1)
                break;
        }
        struct timespec ts = {0, 25 * 1000000L};
        nanosleep(&ts, NULL);
    }
    unlink(port_file);
    if (!p.port) {
        fprintf(stderr, "reniec-sim did not start (%s)\n", RENIEC_SIM_EXE);
        abort();
    }
    return p;
}

static void stop_reniec_sim(sim_process *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
    }
}

/* Answers by path: each one a way for a padrón to be wrong. */
static void bad_padron_handler(void *ctx, const sim_request *req, sim_response *resp)
{
    (void)ctx;
    static const char env_open[] =
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns:rp=\"urn:reniec:padron:interno:v2\"><soapenv:Body>";
    static const char env_close[] = "</soapenv:Body></soapenv:Envelope>";
    if (strcmp(req->target, "/notxml") == 0)
        sim_buf_append_str(&resp->body, "this is not XML at all");
    else if (strcmp(req->target, "/wrongshape") == 0)
        sim_buf_printf(&resp->body, "%s<rp:OtraCosa/>%s", env_open, env_close);
    else if (strcmp(req->target, "/notsoap") == 0)
        sim_buf_append_str(&resp->body, "<html><body>proxy error</body></html>");
    else if (strcmp(req->target, "/unknownestado") == 0)
        sim_buf_printf(&resp->body, "%s<rp:ConsultarCiudadanoResponse><rp:estado codigo=\"77\">?"
                       "</rp:estado></rp:ConsultarCiudadanoResponse>%s", env_open, env_close);
    else if (strcmp(req->target, "/noperson") == 0)
        sim_buf_printf(&resp->body, "%s<rp:ConsultarCiudadanoResponse><rp:estado codigo=\"00\">OK"
                       "</rp:estado></rp:ConsultarCiudadanoResponse>%s", env_open, env_close);
    else if (strcmp(req->target, "/dtd") == 0)
        sim_buf_printf(&resp->body, "<!DOCTYPE x [<!ENTITY e \"boom\">]>%s&e;%s", env_open,
                       env_close);
    else if (strcmp(req->target, "/truncated") == 0)
        sim_buf_printf(&resp->body, "%s<rp:ConsultarCiudadanoResponse><rp:estado codigo=\"00\">",
                       env_open);
    else if (strcmp(req->target, "/error502") == 0) {
        resp->status = 502;
        sim_buf_append_str(&resp->body, "bad gateway");
    } else {
        resp->status = 404;
        sim_buf_append_str(&resp->body, "not found");
    }
}

static void providers_start(void)
{
    xmlInitParser();
    sim_ok = start_reniec_sim(NULL, NULL);
    sim_failing = start_reniec_sim("--error-rate", "1");
    sim_slow = start_reniec_sim("--latency-ms", "1500");
    sim_server_config cfg = {.name = "bad-padron", .handler = bad_padron_handler};
    sim_options_defaults(&cfg.options);
    ck_assert_int_eq(sim_server_start(&cfg, &bad_padron), GW_OK);

    plugin = dlopen(RENIEC_ADAPTER_SO, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(plugin != NULL, "dlopen: %s", dlerror());
    pide_adapter_entry_fn entry = (pide_adapter_entry_fn)dlsym(plugin, PIDE_ADAPTER_ENTRY_SYMBOL);
    ck_assert_ptr_nonnull(entry);
    adapter = entry();

    xmlSchemaParserCtxtPtr pctx = xmlSchemaNewParserCtxt(RENIEC_XSD);
    schema = xmlSchemaParse(pctx);
    xmlSchemaFreeParserCtxt(pctx);
    ck_assert_ptr_nonnull(schema);
}

static void providers_stop(void)
{
    stop_reniec_sim(&sim_ok);
    stop_reniec_sim(&sim_failing);
    stop_reniec_sim(&sim_slow);
    sim_server_stop(bad_padron);
    xmlSchemaFree(schema);
    dlclose(plugin);
}

/* ---- one exchange, as the gateway would run it -------------------------------------------- */

typedef struct service {
    char url[128];
    const char *param_values[1];
    pide_service_config cfg;
    void *instance;
} service;

static void service_init(service *s, unsigned port, const char *path, unsigned timeout_ms,
                         const char *entity_code)
{
    static const char *const names[] = {"entityCode"};
    memset(s, 0, sizeof *s);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u%s", port, path);
    s->cfg.service_name = "ReniecConsultaDni";
    s->cfg.endpoint_url = s->url;
    s->cfg.timeout_ms = timeout_ms;
    if (entity_code) {
        s->param_values[0] = entity_code;
        s->cfg.param_count = 1;
        s->cfg.param_names = names;
        s->cfg.param_values = s->param_values;
    }
    ck_assert_int_eq(adapter->init(&HOST, &s->cfg, &s->instance), PIDE_OK);
}

typedef struct outcome {
    pide_exchange ex;
    pide_result rc;
    xmlDocPtr response_doc;
    xmlNodePtr answer;             /* consultarResponse, or NULL */
} outcome;

static void run_exchange(service *s, const char *dni, outcome *o)
{
    char request[1024];
    snprintf(request, sizeof request,
             "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
             "xmlns:ren=\"" CONTRACT_NS "\"><soapenv:Body><ren:consultar><arg0>"
             "<nuDniConsulta>%s</nuDniConsulta><nuDniUsuario>11111111</nuDniUsuario>"
             "<nuRucUsuario>20000000001</nuRucUsuario><password>" SECRET "</password>"
             "</arg0></ren:consultar></soapenv:Body></soapenv:Envelope>", dni);
    xmlDocPtr req_doc = xmlReadMemory(request, (int)strlen(request), NULL, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(req_doc);
    xmlNodePtr op = xmlDocGetRootElement(req_doc)->children->children;

    static const char empty_response[] =
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        "<soapenv:Body/></soapenv:Envelope>";
    o->response_doc = xmlReadMemory(empty_response, (int)strlen(empty_response), NULL, NULL, 0);
    ck_assert_ptr_nonnull(o->response_doc);
    xmlNodePtr body = xmlDocGetRootElement(o->response_doc)->children;

    memset(&o->ex, 0, sizeof o->ex);
    o->ex.cfg = &s->cfg;
    pide_call call = {.service_name = "ReniecConsultaDni", .operation = "consultar",
                      .request = op, .response_body = body};
    o->rc = adapter->handle(s->instance, &o->ex, &call);
    o->answer = body->children;
    xmlFreeDoc(req_doc);
}

static void outcome_free(outcome *o)
{
    if (o->ex.sent_body) {
        ck_assert_ptr_null(strstr(o->ex.sent_body, SECRET));
        ck_assert_ptr_null(strstr(o->ex.sent_body, "password"));
    }
    ck_assert_ptr_null(strstr(o->ex.log, SECRET));
    exchange_end(&o->ex);
    xmlFreeDoc(o->response_doc);
}

static xmlNodePtr find(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0) {
            ck_assert_msg(n->ns == NULL, "<%s> must be unqualified", name);
            return n;
        }
    return NULL;
}

/* Text of return/<path...>; a static buffer per call site is enough for these tests. */
static char *text(xmlNodePtr parent, const char *name, char *buf, size_t cap)
{
    xmlNodePtr n = find(parent, name);
    if (!n)
        return NULL;
    xmlChar *c = xmlNodeGetContent(n);
    snprintf(buf, cap, "%s", (const char *)c);
    xmlFree(c);
    return buf;
}

/* The answer is the contract's consultarResponse and valid by the contract's XSD. */
static xmlNodePtr checked_return(outcome *o, const char *co_resultado)
{
    ck_assert_msg(o->rc == PIDE_OK, "handle() = %d, log: %s", o->rc, o->ex.log);
    ck_assert_ptr_nonnull(o->answer);
    ck_assert_str_eq((const char *)o->answer->name, "consultarResponse");
    ck_assert_str_eq((const char *)o->answer->ns->href, CONTRACT_NS);
    xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema);
    int valid = xmlSchemaValidateOneElement(v, o->answer);
    xmlSchemaFreeValidCtxt(v);
    ck_assert_msg(valid == 0, "consultarResponse does not validate against the XSD");
    xmlNodePtr ret = find(o->answer, "return");
    ck_assert_ptr_nonnull(ret);
    char buf[16];
    ck_assert_str_eq(text(ret, "coResultado", buf, sizeof buf), co_resultado);
    ck_assert_str_eq(o->ex.result_code, co_resultado);
    return ret;
}

/* ---- tests -------------------------------------------------------------------------------- */

START_TEST(found_citizen_is_translated)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, NULL);
    outcome o;
    run_exchange(&s, "45678912", &o);
    xmlNodePtr ret = checked_return(&o, "0000");
    ck_assert_str_eq(o.ex.subject, "DNI:45678912");
    ck_assert_str_eq(o.ex.sent_action, "urn:reniec:padron:interno:v2#ConsultarCiudadano");
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "<rp:codigoEntidad>PIDE-GW</rp:codigoEntidad>"));

    reniec_ciudadano expected;
    ck_assert_int_eq(reniec_consultar("45678912", &expected), RENIEC_ESTADO_ENCONTRADO);
    xmlNodePtr datos = find(ret, "datosPersona");
    ck_assert_ptr_nonnull(datos);
    char buf[128];
    ck_assert_str_eq(text(datos, "prenombres", buf, sizeof buf), expected.nombres);
    ck_assert_str_eq(text(datos, "apPrimer", buf, sizeof buf), expected.apellido_paterno);
    ck_assert_str_eq(text(datos, "apSegundo", buf, sizeof buf), expected.apellido_materno);
    ck_assert_str_eq(text(datos, "direccion", buf, sizeof buf), expected.direccion);
    ck_assert_str_eq(text(datos, "ubigeo", buf, sizeof buf), expected.ubigeo);
    ck_assert_str_eq(text(datos, "estadoCivil", buf, sizeof buf),
                     reniec_estado_civil_nombre(expected.estado_civil));
    ck_assert_ptr_null(find(datos, "restriccion"));

    sim_buf photo;
    sim_buf_init(&photo);
    sim_buf_append_base64(&photo, reniec_photo_jpeg, reniec_photo_jpeg_len);
    xmlChar *foto = xmlNodeGetContent(find(datos, "foto"));
    ck_assert_str_eq((const char *)foto, photo.data);
    xmlFree(foto);
    sim_buf_free(&photo);
    outcome_free(&o);
    adapter->fini(s.instance);
}
END_TEST

START_TEST(not_found_has_no_person)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, NULL);
    outcome o;
    run_exchange(&s, "01234567", &o);
    xmlNodePtr ret = checked_return(&o, "0001");
    ck_assert_ptr_null(find(ret, "datosPersona"));
    char buf[128];
    ck_assert_ptr_nonnull(strstr(text(ret, "deResultado", buf, sizeof buf), "no existe"));
    outcome_free(&o);
    adapter->fini(s.instance);
}
END_TEST

START_TEST(deceased_keeps_data_without_photo)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, NULL);
    outcome o;
    run_exchange(&s, "44444444", &o);
    xmlNodePtr ret = checked_return(&o, "0002");
    reniec_ciudadano expected;
    reniec_consultar("44444444", &expected);
    char buf[160];
    ck_assert_ptr_nonnull(strstr(text(ret, "deResultado", buf, sizeof buf),
                                 expected.fecha_fallecimiento));
    xmlNodePtr datos = find(ret, "datosPersona");
    ck_assert_str_eq(text(datos, "prenombres", buf, sizeof buf), expected.nombres);
    ck_assert_str_eq(text(datos, "direccion", buf, sizeof buf), expected.direccion);
    ck_assert_str_eq(text(datos, "restriccion", buf, sizeof buf), "FALLECIDO");
    ck_assert_ptr_null(find(datos, "foto"));
    outcome_free(&o);
    adapter->fini(s.instance);
}
END_TEST

START_TEST(restricted_gives_names_and_reason_only)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, NULL);
    outcome o;
    run_exchange(&s, "55555555", &o);
    xmlNodePtr ret = checked_return(&o, "0003");
    xmlNodePtr datos = find(ret, "datosPersona");
    char buf[128];
    ck_assert_ptr_nonnull(text(datos, "apPrimer", buf, sizeof buf));
    ck_assert_ptr_nonnull(text(datos, "restriccion", buf, sizeof buf));
    ck_assert_ptr_null(find(datos, "direccion"));
    ck_assert_ptr_null(find(datos, "ubigeo"));
    ck_assert_ptr_null(find(datos, "foto"));
    outcome_free(&o);
    adapter->fini(s.instance);
}
END_TEST

START_TEST(refused_entity_and_maintenance_are_answers)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, "BLOQUEADA");
    outcome o;
    run_exchange(&s, "45678912", &o);
    ck_assert_ptr_null(find(checked_return(&o, "0005"), "datosPersona"));
    outcome_free(&o);
    adapter->fini(s.instance);

    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, NULL);
    run_exchange(&s, "99999999", &o);
    checked_return(&o, "0999");
    outcome_free(&o);
    adapter->fini(s.instance);
}
END_TEST

static void expect_failure(unsigned port, const char *path, unsigned timeout_ms,
                           pide_result expected)
{
    service s;
    service_init(&s, port, path, timeout_ms, NULL);
    outcome o;
    run_exchange(&s, "45678912", &o);
    ck_assert_msg(o.rc == expected, "%s: handle() = %d, expected %d", path, o.rc, expected);
    ck_assert_msg(o.answer == NULL, "%s: a failed exchange must append nothing", path);
    ck_assert_str_eq(o.ex.result_code, "");
    outcome_free(&o);
    adapter->fini(s.instance);
}

START_TEST(padron_down_is_unavailable)
{
    /* A port that was just free: nothing listens there. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    getsockname(fd, (struct sockaddr *)&addr, &len);
    close(fd);
    expect_failure(ntohs(addr.sin_port), "/padron/v2/ciudadano", 2000,
                   PIDE_ERR_PROVIDER_UNAVAILABLE);
}
END_TEST

START_TEST(padron_fault_is_unavailable)
{
    expect_failure(sim_failing.port, "/padron/v2/ciudadano", 2000, PIDE_ERR_PROVIDER_UNAVAILABLE);
    expect_failure(sim_server_port(bad_padron), "/error502", 2000, PIDE_ERR_PROVIDER_UNAVAILABLE);
}
END_TEST

START_TEST(slow_padron_is_a_timeout)
{
    expect_failure(sim_slow.port, "/padron/v2/ciudadano", 300, PIDE_ERR_PROVIDER_TIMEOUT);
}
END_TEST

START_TEST(garbage_is_a_bad_response)
{
    static const char *const paths[] = {"/notxml", "/wrongshape", "/notsoap", "/unknownestado",
                                        "/noperson", "/dtd", "/truncated", "/http404"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        expect_failure(sim_server_port(bad_padron), paths[i], 2000,
                       PIDE_ERR_PROVIDER_BAD_RESPONSE);
}
END_TEST

START_TEST(bad_configuration_is_refused)
{
    void *instance = NULL;
    pide_service_config no_endpoint = {.service_name = "ReniecConsultaDni", .timeout_ms = 100};
    ck_assert_int_eq(adapter->init(&HOST, &no_endpoint, &instance), PIDE_ERR_CONFIG);

    static const char *const names[] = {"entityCode"};
    static const char *const values[] = {"bad code<x>"};
    pide_service_config bad_entity = {.service_name = "ReniecConsultaDni",
                                      .endpoint_url = "http://127.0.0.1:1/padron/v2/ciudadano",
                                      .param_count = 1, .param_names = names,
                                      .param_values = values};
    ck_assert_int_eq(adapter->init(&HOST, &bad_entity, &instance), PIDE_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(global_log, "entityCode"));
    ck_assert_ptr_null(instance);
}
END_TEST

START_TEST(descriptor_is_consistent)
{
    ck_assert_uint_eq(adapter->abi_version, PIDE_ADAPTER_ABI_VERSION);
    ck_assert_uint_eq(adapter->struct_size, sizeof(pide_adapter));
    ck_assert_str_eq(adapter->name, "reniec");
    ck_assert_str_eq(adapter->operations[0], "consultar");
    ck_assert_ptr_null(adapter->operations[1]);
}
END_TEST

/* handle() runs concurrently with one instance in the gateway. */
typedef struct worker { service *s; int first; int failures; } worker;

static void *concurrent_worker(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 100; i++) {
        char dni[9];
        snprintf(dni, sizeof dni, "%08d", w->first + i);
        outcome o;
        run_exchange(w->s, dni, &o);
        reniec_ciudadano expected;
        reniec_consultar(dni, &expected);
        xmlNodePtr ret = o.rc == PIDE_OK ? find(o.answer, "return") : NULL;
        char buf[64];
        if (!ret || strcmp(text(find(ret, "datosPersona"), "prenombres", buf, sizeof buf),
                           expected.nombres) != 0 || strcmp(o.ex.result_code, "0000") != 0)
            w->failures++;
        outcome_free(&o);
    }
    return NULL;
}

START_TEST(concurrent_exchanges_do_not_interfere)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 5000, NULL);
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.s = &s, .first = 20000000 + i * 1000};
        pthread_create(&t[i], NULL, concurrent_worker, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    adapter->fini(s.instance);
}
END_TEST

static Suite *reniec_adapter_suite(void)
{
    Suite *s = suite_create("reniec_adapter");
    TCase *tc = tcase_create("against reniec-sim");
    tcase_add_unchecked_fixture(tc, providers_start, providers_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, descriptor_is_consistent);
    tcase_add_test(tc, found_citizen_is_translated);
    tcase_add_test(tc, not_found_has_no_person);
    tcase_add_test(tc, deceased_keeps_data_without_photo);
    tcase_add_test(tc, restricted_gives_names_and_reason_only);
    tcase_add_test(tc, refused_entity_and_maintenance_are_answers);
    tcase_add_test(tc, padron_down_is_unavailable);
    tcase_add_test(tc, padron_fault_is_unavailable);
    tcase_add_test(tc, slow_padron_is_a_timeout);
    tcase_add_test(tc, garbage_is_a_bad_response);
    tcase_add_test(tc, bad_configuration_is_refused);
    tcase_add_test(tc, concurrent_exchanges_do_not_interfere);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(reniec_adapter_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
