/*
 * check_xslt_adapter.c — tests of adapters/xslt (pide_adapter_xslt.so) through the adapter test
 * host (adapter_test_host.h) with the SUNAT stylesheets of conf/sunat against a real sunat-sim
 * started on port 0: every answer validated against schemas/sunat-consulta-ruc.xsd, the subject
 * and result code declared, the RPC/encoded request SUNAT received; provider failures; and the
 * hostile stylesheets of tests/fixtures/xslt refused by init() with a message naming the
 * service, the file and the line.
 */
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "adapter_test_host.h"
#include "pide_adapter.h"

#define CONTRACT_NS "http://ws.pide-gateway.org/sunat/"

static ath_sim sim_ok, sim_failing, sim_migra;
static xmlSchemaPtr migra_schema;
static void *plugin;
static const pide_adapter *adapter;
static ath_contract contract = {.ns = CONTRACT_NS, .response = "getDatosPrincipalesResponse",
                                 .result_element = "coResultado"};

static void providers_start(void)
{
    static const char *const failing[] = {"--error-rate", "1", NULL};
    adapter = ath_load_adapter(XSLT_ADAPTER_SO, &plugin);
    sim_ok = ath_sim_start(SUNAT_SIM_EXE, NULL);
    sim_failing = ath_sim_start(SUNAT_SIM_EXE, failing);
    sim_migra = ath_sim_start(MIGRACIONES_SIM_EXE, NULL);
    contract.schema = ath_schema_load(SUNAT_XSD);
    migra_schema = ath_schema_load(MIGRACIONES_XSD);
}

static void providers_stop(void)
{
    ath_sim_stop(&sim_ok);
    ath_sim_stop(&sim_failing);
    ath_sim_stop(&sim_migra);
    xmlSchemaFree(contract.schema);
    xmlSchemaFree(migra_schema);
    ath_shutdown();
    dlclose(plugin);
}

/* The demo configuration's parameters, with request/response stylesheets overridable. */
static pide_result service_init_with(ath_service *s, unsigned port, const char *request_xsl,
                                     const char *response_xsl, const char *subject_xpath)
{
    static char req[512], resp[512];
    static const char *names[] = {"operations", "requestStylesheet", "responseStylesheet",
                                  "subjectXPath", "subjectType", "resultCodeXPath",
                                  "unavailableResultCode"};
    static const char *values[7];
    snprintf(req, sizeof req, "%s", request_xsl);
    snprintf(resp, sizeof resp, "%s", response_xsl);
    values[0] = "getDatosPrincipales";
    values[1] = req;
    values[2] = resp;
    values[3] = subject_xpath;
    values[4] = "RUC";
    values[5] = "/*/return/coResultado";
    values[6] = "0999";
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/axis/services/ConsultaRuc", port);
    return ath_service_init(s, adapter, "SunatConsultaRuc", url, 1500, 7, names, values);
}

static void service_init(ath_service *s, unsigned port)
{
    ck_assert_int_eq(service_init_with(s, port, SUNAT_CONF_DIR "/sunat-request.xsl",
                                       SUNAT_CONF_DIR "/sunat-response.xsl", "/*/numRuc"),
                     PIDE_OK);
}

static void run_exchange(ath_service *s, const char *ruc, ath_outcome *o)
{
    char request[1024];
    snprintf(request, sizeof request,
             "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
             "xmlns:sun=\"" CONTRACT_NS "\"><soapenv:Body><sun:getDatosPrincipales>"
             "<numRuc>%s</numRuc></sun:getDatosPrincipales></soapenv:Body></soapenv:Envelope>",
             ruc);
    ath_run(s, request, o);
}

START_TEST(found_taxpayer_is_translated)
{
    ath_service s;
    service_init(&s, sim_ok.port);
    ath_outcome o;
    run_exchange(&s, "20100070970", &o);
    xmlNodePtr ret = ath_checked_return(&contract, &o, "0000");
    xmlNodePtr d = ath_find(ret, "datosPrincipales");
    ck_assert_ptr_nonnull(d);
    char buf[128];
    ck_assert_str_eq(ath_text(d, "ddp_numruc", buf, sizeof buf), "20100070970");
    ck_assert_str_eq(ath_text(d, "desc_estado", buf, sizeof buf), "ACTIVO");
    ck_assert_str_eq(ath_text(d, "esActivo", buf, sizeof buf), "true");
    ck_assert_str_eq(ath_text(d, "esHabido", buf, sizeof buf), "true");
    ck_assert_int_gt(strlen(ath_text(d, "ddp_nombre", buf, sizeof buf)), 3);
    ck_assert_str_eq(o.ex.subject_type, "RUC");
    ck_assert_str_eq(o.ex.subject_id, "20100070970");
    /* SUNAT heard SOAP 1.1 RPC/encoded */
    ck_assert_ptr_nonnull(o.ex.sent_body);
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\""));
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "<numRuc xsi:type=\"xsd:string\">20100070970</numRuc>"));
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(result_codes)
{
    static const struct {
        const char *ruc, *code;
        bool data;
    } cases[] = {
        {"20999999990", "0001", false}, /* not registered (xsi:nil) */
        {"30000000007", "0001", false}, /* unused prefix */
        {"20100070971", "0002", false}, /* wrong check digit: RucInvalidoException */
        {"20888888889", "0003", true},  /* BAJA DEFINITIVA */
        {"20777777778", "0004", true},  /* NO HABIDO */
        {"10456789124", "0000", true},  /* a natural person */
    };
    ath_service s;
    service_init(&s, sim_ok.port);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ath_outcome o;
        run_exchange(&s, cases[i].ruc, &o);
        xmlNodePtr ret = ath_checked_return(&contract, &o, cases[i].code);
        ck_assert_msg((ath_find(ret, "datosPrincipales") != NULL) == cases[i].data, "%s",
                      cases[i].ruc);
        ck_assert_str_eq(o.ex.subject_id, cases[i].ruc);
        ath_outcome_free(&o);
    }
    ath_service_fini(&s);
}
END_TEST

START_TEST(provider_failures)
{
    static const struct {
        const char *ruc;
        pide_result rc;
    } cases[] = {
        {"20666666667", PIDE_ERR_PROVIDER_UNAVAILABLE},  /* Server.generalException Fault */
        {"20555555556", PIDE_ERR_PROVIDER_BAD_RESPONSE}, /* HTML page */
        {"20444444445", PIDE_ERR_PROVIDER_BAD_RESPONSE}, /* href to no multiRef */
        {"20333333334", PIDE_ERR_PROVIDER_TIMEOUT},      /* 3 s > 1.5 s */
    };
    ath_service s;
    service_init(&s, sim_ok.port);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ath_outcome o;
        run_exchange(&s, cases[i].ruc, &o);
        ck_assert_msg(o.rc == cases[i].rc, "%s: rc %d, log %s", cases[i].ruc, o.rc, o.ex.log);
        ck_assert_ptr_null(o.answer);
        ck_assert_str_eq(o.ex.result_code, "0999");
        ath_outcome_free(&o);
    }
    ath_service_fini(&s);

    /* every request failing (--error-rate 1), and nobody listening */
    unsigned ports[] = {sim_failing.port, ath_unused_port()};
    for (size_t i = 0; i < 2; i++) {
        service_init(&s, ports[i]);
        ath_outcome o;
        run_exchange(&s, "20100070970", &o);
        ck_assert_int_eq(o.rc, PIDE_ERR_PROVIDER_UNAVAILABLE);
        ck_assert_str_eq(o.ex.result_code, "0999");
        ath_outcome_free(&o);
        ath_service_fini(&s);
    }
}
END_TEST

START_TEST(unconfigured_operation_is_refused)
{
    ath_service s;
    service_init(&s, sim_ok.port);
    ath_outcome o;
    ath_run(&s, "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
                "xmlns:sun=\"" CONTRACT_NS "\"><soapenv:Body><sun:getDatosPrincipalesResponse/>"
                "</soapenv:Body></soapenv:Envelope>", &o);
    ck_assert_int_eq(o.rc, PIDE_ERR_BAD_REQUEST);
    ck_assert_uint_eq(o.ex.http_calls, 0);
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

/* Each hostile stylesheet: init() refuses it, and says which service, file, line and why. */
START_TEST(hostile_stylesheets_are_refused)
{
    static const struct {
        const char *file, *why;
    } cases[] = {
        {"document-passwd.xsl", "line 5: document() is not allowed"},
        {"avt-document.xsl", "line 4: document() is not allowed"},
        {"include-url.xsl", "line 4: xsl:include of 'http://attacker.example/evil.xsl' is not allowed"},
        {"import-file.xsl", "line 4: xsl:import of '/etc/passwd' is not allowed"},
        {"extension-element.xsl", "extension elements (extension-element-prefixes) are not allowed"},
        {"extension-function.xsl", "line 6: php:function() is not allowed"},
        {"dtd-entity.xsl", "DTDs and entities are not allowed"},
        {"not-xslt.xsl", "the root element is not xsl:stylesheet"},
        {"broken.xsl", "does not compile"},
        {"no-such-file.xsl", "no-such-file.xsl"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512], expect[768];
        snprintf(path, sizeof path, "%s/%s", XSLT_FIXTURES_DIR, cases[i].file);
        for (int which = 0; which < 2; which++) {
            ath_global_log_clear();
            ath_service s;
            pide_result rc = which == 0
                ? service_init_with(&s, sim_ok.port, path, SUNAT_CONF_DIR "/sunat-response.xsl",
                                    "/*/numRuc")
                : service_init_with(&s, sim_ok.port, SUNAT_CONF_DIR "/sunat-request.xsl", path,
                                    "/*/numRuc");
            ck_assert_msg(rc == PIDE_ERR_CONFIG, "%s accepted", cases[i].file);
            snprintf(expect, sizeof expect, "service SunatConsultaRuc: %s %s: ",
                     which == 0 ? "requestStylesheet" : "responseStylesheet", path);
            ck_assert_msg(strstr(ath_global_log(), expect), "%s: log '%s'", cases[i].file,
                          ath_global_log());
            ck_assert_msg(strstr(ath_global_log(), cases[i].why), "%s: log '%s'",
                          cases[i].file, ath_global_log());
        }
    }
    /* and an XPath parameter that is not one, or calls document() */
    ath_service s;
    ath_global_log_clear();
    ck_assert_int_eq(service_init_with(&s, sim_ok.port, SUNAT_CONF_DIR "/sunat-request.xsl",
                                       SUNAT_CONF_DIR "/sunat-response.xsl", "/*/numRuc["),
                     PIDE_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(ath_global_log(), "subjectXPath"));
    ck_assert_int_eq(service_init_with(&s, sim_ok.port, SUNAT_CONF_DIR "/sunat-request.xsl",
                                       SUNAT_CONF_DIR "/sunat-response.xsl",
                                       "document('/etc/passwd')"),
                     PIDE_ERR_CONFIG);
}
END_TEST

/* purposeXPath: the declared purpose taken from the body, logged as the exchange's purpose. */
START_TEST(purpose_from_the_body)
{
    static const char *names[] = {"operations", "requestStylesheet", "responseStylesheet",
                                  "purposeXPath"};
    static const char *values[] = {"getDatosPrincipales", SUNAT_CONF_DIR "/sunat-request.xsl",
                                   SUNAT_CONF_DIR "/sunat-response.xsl",
                                   "concat('Consulta del RUC ', /*/numRuc)"};
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/axis/services/ConsultaRuc", sim_ok.port);
    ath_service s;
    ck_assert_int_eq(ath_service_init(&s, adapter, "SunatConsultaRuc", url, 1500, 4, names,
                                      values), PIDE_OK);
    ath_outcome o;
    run_exchange(&s, "20100070970", &o);
    ck_assert_int_eq(o.rc, PIDE_OK);
    ck_assert_str_eq(o.ex.purpose, "Consulta del RUC 20100070970");
    ck_assert_str_eq(o.ex.subject_id, ""); /* no subjectXPath: nothing declared */
    ck_assert_str_eq(o.ex.result_code, ""); /* no resultCodeXPath */
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

/* The authenticated caller reaches the stylesheets as parameters ($member, $operation...). */
START_TEST(identity_parameters_reach_the_stylesheet)
{
    ath_service s;
    ck_assert_int_eq(service_init_with(&s, sim_ok.port, XSLT_FIXTURES_DIR "/params-request.xsl",
                                       SUNAT_CONF_DIR "/sunat-response.xsl", "/*/numRuc"),
                     PIDE_OK);
    s.identity.struct_size = sizeof s.identity;
    s.identity.member = "20000000001";
    ath_outcome o;
    run_exchange(&s, "20100070970", &o);
    xmlNodePtr ret = ath_checked_return(&contract, &o, "0000");
    char buf[32];
    ck_assert_str_eq(ath_text(ath_find(ret, "datosPrincipales"), "ddp_numruc", buf, sizeof buf),
                     "20000000001");
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "<ser:getDatosPrincipales"));
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

/* providerStyle rest-json: MigraCarnetdeExtrajeria published with two stylesheets against the
 * REST/JSON migraciones-sim, the JSON seen in the W3C XML form. */
static void migra_init(ath_service *s, unsigned port)
{
    static const char *names[] = {"operations", "requestStylesheet", "responseStylesheet",
                                  "providerStyle", "subjectXPath", "subjectType",
                                  "resultCodeXPath", "unavailableResultCode"};
    static const char *values[] = {"consultarDocumento",
                                   XSLT_FIXTURES_DIR "/migraciones-rest-request.xsl",
                                   XSLT_FIXTURES_DIR "/migraciones-rest-response.xsl",
                                   "rest-json", "/*/solicitud/strNumDocumento", "CE",
                                   "/*/return/strNumRespuesta", "0002"};
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/carnes", port);
    ck_assert_int_eq(ath_service_init(s, adapter, "MigraCarnetdeExtrajeria", url, 1500, 8, names,
                                      values), PIDE_OK);
    s->identity.struct_size = sizeof s->identity;
    s->identity.member = "20000000001";
    s->identity.institution_code = "20000000001";
}

static void migra_run(ath_service *s, const char *ce, ath_outcome *o)
{
    char request[1024];
    snprintf(request, sizeof request,
             "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
             "xmlns:mig=\"http://ws.pide-gateway.org/migraciones/\"><soapenv:Body>"
             "<mig:consultarDocumento><solicitud><strCodInstitucion>OTRA</strCodInstitucion>"
             "<strMac>00:1A:2B:3C:4D:5E</strMac><strNroIp>192.168.10.25</strNroIp>"
             "<strNumDocumento>%s</strNumDocumento><strTipoDocumento>CE</strTipoDocumento>"
             "</solicitud></mig:consultarDocumento></soapenv:Body></soapenv:Envelope>", ce);
    ath_run(s, request, o);
}

START_TEST(rest_json_provider)
{
    ath_contract migra = {.ns = "http://ws.pide-gateway.org/migraciones/",
                          .response = "consultarDocumentoResponse",
                          .result_element = "strNumRespuesta", .schema = migra_schema};
    ath_service s;
    migra_init(&s, sim_migra.port);
    ath_outcome o;
    char buf[64];

    migra_run(&s, "001234567", &o);
    xmlNodePtr ret = ath_checked_return(&migra, &o, "0000");
    ck_assert_str_eq(ath_text(ret, "strEstadoCarne", buf, sizeof buf), "VIGENTE");
    ck_assert_int_gt(strlen(ath_text(ret, "strNombres", buf, sizeof buf)), 1);
    ck_assert_str_eq(o.ex.sent_method, "GET");
    /* the authenticated institution, not the request's strCodInstitucion */
    ck_assert_ptr_nonnull(strstr(o.ex.sent_url, "/api/v1/carnes/001234567?entidad=20000000001"));
    ck_assert_str_eq(o.ex.subject_id, "001234567");
    ath_outcome_free(&o);

    migra_run(&s, "000012345", &o); /* 404 CARNE_NO_ENCONTRADO */
    ath_checked_return(&migra, &o, "0001");
    ath_outcome_free(&o);
    migra_run(&s, "444412345", &o); /* VENCIDO */
    ret = ath_checked_return(&migra, &o, "0001");
    ck_assert_str_eq(ath_text(ret, "strEstadoCarne", buf, sizeof buf), "VENCIDO");
    ath_outcome_free(&o);

    static const struct {
        const char *ce;
        pide_result rc;
    } failures[] = {
        {"999999999", PIDE_ERR_PROVIDER_UNAVAILABLE},  /* 503 with JSON */
        {"888888888", PIDE_ERR_PROVIDER_BAD_RESPONSE}, /* truncated JSON */
    };
    for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++) {
        migra_run(&s, failures[i].ce, &o);
        ck_assert_msg(o.rc == failures[i].rc, "%s: rc %d, log %s", failures[i].ce, o.rc,
                      o.ex.log);
        ck_assert_str_eq(o.ex.result_code, "0002");
        ath_outcome_free(&o);
    }
    ath_service_fini(&s);
}
END_TEST

/* The shipped MigraCarneRest stylesheets (conf/migraciones-rest) with responseSchema: JSON whose
 * translation fails the contract's XSD is a bad response, a document type the request
 * stylesheet refuses (pgx:fault) never reaches the provider, and an unusable schema stops init. */
START_TEST(response_schema_and_request_fault)
{
    static const char *names[] = {"operations",           "requestStylesheet", "responseStylesheet",
                                  "providerStyle",        "responseSchema",    "resultCodeXPath",
                                  "unavailableResultCode"};
    static const char *values[] = {"consultarDocumento",
                                   MIGRA_REST_CONF_DIR "/carne-request.xsl",
                                   MIGRA_REST_CONF_DIR "/carne-response.xsl",
                                   "rest-json",
                                   MIGRA_REST_XSD,
                                   "/*/return/strNumRespuesta",
                                   "0002"};
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/carnes", sim_migra.port);
    ath_service s;
    ck_assert_int_eq(ath_service_init(&s, adapter, "MigraCarneRest", url, 1500, 7, names, values),
                     PIDE_OK);
    const char *fmt =
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns:mig=\"http://ws.pide-gateway.org/migraciones-rest/\"><soapenv:Body>"
        "<mig:consultarDocumento><solicitud><strCodInstitucion>20000000001</strCodInstitucion>"
        "<strMac>00:1A:2B:3C:4D:5E</strMac><strNroIp>192.168.10.25</strNroIp>"
        "<strNumDocumento>%s</strNumDocumento><strTipoDocumento>%s</strTipoDocumento>"
        "</solicitud></mig:consultarDocumento></soapenv:Body></soapenv:Envelope>";
    char request[1024];
    ath_outcome o;

    snprintf(request, sizeof request, fmt, "001234567", "CE");
    ath_run(&s, request, &o);
    ck_assert_msg(o.rc == PIDE_OK, "rc %d, log %s", o.rc, o.ex.log);
    ck_assert_str_eq(o.ex.result_code, "0000");
    /* the stylesheet's pgx:header went with the call (http_call_headers) */
    ck_assert_str_eq(o.ex.sent_headers, "Accept: application/json\r\n");
    ath_outcome_free(&o);

    snprintf(request, sizeof request, fmt, "777777777", "CE"); /* no fechaVencimiento */
    ath_run(&s, request, &o);
    ck_assert_msg(o.rc == PIDE_ERR_PROVIDER_BAD_RESPONSE, "rc %d, log %s", o.rc, o.ex.log);
    ck_assert_ptr_nonnull(strstr(o.ex.log, "not valid by responseSchema"));
    ck_assert_str_eq(o.ex.result_code, "0002");
    ath_outcome_free(&o);

    snprintf(request, sizeof request, fmt, "001234567", "DNI");
    ath_run(&s, request, &o);
    ck_assert_msg(o.rc == PIDE_ERR_BAD_REQUEST, "rc %d, log %s", o.rc, o.ex.log);
    ck_assert_msg(o.ex.sent_url[0] == '\0', "the provider was called: %s", o.ex.sent_url);
    ath_outcome_free(&o);
    ath_service_fini(&s);

    /* a stylesheet given as responseSchema: refused by init() */
    static const char *bad[7];
    memcpy(bad, values, sizeof bad);
    bad[4] = MIGRA_REST_CONF_DIR "/carne-request.xsl";
    ck_assert_int_eq(ath_service_init(&s, adapter, "MigraCarneRest", url, 1500, 7, names, bad),
                     PIDE_ERR_CONFIG);
}
END_TEST

/* The W3C JSON form both ways: what the request stylesheet writes as a body is the JSON sent. */
START_TEST(rest_json_body_mapping)
{
    ath_service s;
    static const char *names[] = {"operations", "requestStylesheet", "responseStylesheet",
                                  "providerStyle"};
    static const char *values[] = {"getDatosPrincipales", XSLT_FIXTURES_DIR "/json-body-request.xsl",
                                   SUNAT_CONF_DIR "/sunat-response.xsl", "rest-json"};
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/carnes", sim_migra.port);
    ck_assert_int_eq(ath_service_init(&s, adapter, "X", url, 1500, 4, names, values), PIDE_OK);
    ath_outcome o;
    run_exchange(&s, "20100070970", &o);
    /* migraciones-sim refuses POST (405 with JSON): the SUNAT stylesheet sees no Envelope */
    ck_assert_int_eq(o.rc, PIDE_ERR_PROVIDER_BAD_RESPONSE);
    ck_assert_str_eq(o.ex.sent_method, "POST");
    ck_assert_str_eq(o.ex.sent_body,
                     "{\"ruc\":\"20100070970\",\"n\":12,\"x\":-1.4999999999999999e-7,"
                     "\"ok\":true,\"nada\":null,\"lista\":[\"a\",{\"k\":false}],"
                     "\"t\":\"\\\"<&>\xc3\xa9\"}");
    ath_outcome_free(&o);
    ath_service_fini(&s);
    /* and a stylesheet that writes a map member twice is an adapter error */
    values[1] = XSLT_FIXTURES_DIR "/json-body-duplicate.xsl";
    ck_assert_int_eq(ath_service_init(&s, adapter, "X", url, 1500, 4, names, values), PIDE_OK);
    run_exchange(&s, "20100070970", &o);
    ck_assert_int_eq(o.rc, PIDE_ERR_INTERNAL);
    ck_assert_uint_eq(o.ex.http_calls, 0);
    ck_assert_ptr_nonnull(strstr(o.ex.log, "a key given twice"));
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

/* A RUC of prefix 20 with the right check digit, from n. */
static void ruc_of(int n, char out[12])
{
    static const int W[10] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
    snprintf(out, 12, "20%08d", n);
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += (out[i] - '0') * W[i];
    int d = 11 - sum % 11;
    out[10] = (char)('0' + (d == 10 ? 0 : d == 11 ? 1 : d));
    out[11] = '\0';
}

static bool concurrent_ok(ath_service *s, int n)
{
    char ruc[12], buf[32];
    ruc_of(n, ruc);
    ath_outcome o;
    run_exchange(s, ruc, &o);
    bool ok = o.rc == PIDE_OK && o.answer &&
              strcmp(o.ex.subject_id, ruc) == 0 &&
              ath_text(ath_find(ath_find(o.answer, "return"), "datosPrincipales"), "ddp_numruc",
                       buf, sizeof buf) &&
              strcmp(buf, ruc) == 0;
    ath_outcome_free(&o);
    return ok;
}

/* One compiled stylesheet pair serves 4 threads at once, each answer its own RUC's. */
START_TEST(shared_stylesheets_across_threads)
{
    ath_service s;
    service_init(&s, sim_ok.port);
    static const int first[4] = {1000, 2000, 3000, 4000};
    ath_assert_concurrent(&s, first, 40, concurrent_ok);
    ath_service_fini(&s);
}
END_TEST

static Suite *xslt_adapter_suite(void)
{
    Suite *s = suite_create("xslt_adapter");
    TCase *tc = tcase_create("sunat");
    tcase_add_unchecked_fixture(tc, providers_start, providers_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, found_taxpayer_is_translated);
    tcase_add_test(tc, result_codes);
    tcase_add_test(tc, provider_failures);
    tcase_add_test(tc, unconfigured_operation_is_refused);
    tcase_add_test(tc, hostile_stylesheets_are_refused);
    tcase_add_test(tc, identity_parameters_reach_the_stylesheet);
    tcase_add_test(tc, purpose_from_the_body);
    tcase_add_test(tc, shared_stylesheets_across_threads);
    tcase_add_test(tc, rest_json_provider);
    tcase_add_test(tc, rest_json_body_mapping);
    tcase_add_test(tc, response_schema_and_request_fault);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ath_run_suite(xslt_adapter_suite());
}
