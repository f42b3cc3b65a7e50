/*
 * check_pj_adapter.c — tests of adapters/pj (pide_adapter_pj.so) through the shared adapter
 * test host (adapter_test_host.h): the plugin is dlopen()ed, signs its requests with the pki
 * fixture's gateway key, and talks real HTTP to a pj-sim that trusts only the fixture's CA.
 * Every translated answer is validated against schemas/pj-antecedentes.xsd and compared with
 * pj_data. A pide_simcommon server plays a misbehaving registry; a host whose sign_document
 * does nothing shows that the registry refuses unsigned calls and what the adapter makes of it.
 * ctest-fixtures: pki
 */
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "adapter_test_host.h"
#include "pide_adapter.h"
#include "pj_data.h"
#include "sim_buf.h"
#include "sim_server.h"

#define CONTRACT_NS "http://ws.pide-gateway.org/pj/"
#define PJ_PATH "/pj/antecedentes/v1"

/* ---- providers: real pj-sims (normal, failing, slow) and a misbehaving registry ----------- */

static ath_sim sim_ok, sim_failing, sim_slow;
static sim_server *bad_registry;
static void *plugin;
static const pide_adapter *adapter;
static ath_contract contract = {.ns = CONTRACT_NS,
                                 .response = "verificarAntecedentesPenalesResponse",
                                 .result_element = "coResultado"};

/* Answers by path: each one a way for a registry to be wrong. */
static void bad_registry_handler(void *ctx, const sim_request *req, sim_response *resp)
{
    (void)ctx;
    static const char open[] =
        "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" "
        "xmlns:ap=\"urn:pj:antecedentes:interno:v1\"><env:Body><ap:ConsultaAntecedentesResponse>";
    static const char close[] = "</ap:ConsultaAntecedentesResponse></env:Body></env:Envelope>";
    static const char doc_ok[] = "<ap:documento tipo=\"DNI\">66666666</ap:documento>";
    static const char condena_ok[] =
        "<ap:organo>JUZGADO</ap:organo><ap:expediente>00001-2015-0-1801-JR-PE-01</ap:expediente>"
        "<ap:delito>HURTO</ap:delito><ap:fechaSentencia>2016-01-02</ap:fechaSentencia>";
    sim_response_set_content_type(resp, "application/soap+xml; charset=utf-8");
    sim_buf *b = &resp->body;
    const char *t = req->target;
    if (strcmp(t, "/notxml") == 0)
        sim_buf_append_str(b, "this is not XML at all");
    else if (strcmp(t, "/soap11") == 0)
        sim_buf_append_str(b, "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/"
                           "soap/envelope/\"><soapenv:Body/></soapenv:Envelope>");
    else if (strcmp(t, "/wrongshape") == 0)
        sim_buf_printf(b, "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\">"
                       "<env:Body><Otra/></env:Body></env:Envelope>");
    else if (strcmp(t, "/unknowncode") == 0)
        sim_buf_printf(b, "%s<ap:resultado codigo=\"ZZ\">?</ap:resultado>%s%s", open, doc_ok,
                       close);
    else if (strcmp(t, "/otherdni") == 0)
        sim_buf_printf(b, "%s<ap:resultado codigo=\"SR\">OK</ap:resultado>"
                       "<ap:documento tipo=\"DNI\">12345678</ap:documento>%s", open, close);
    else if (strcmp(t, "/crwithout") == 0)
        sim_buf_printf(b, "%s<ap:resultado codigo=\"CR\">X</ap:resultado>%s%s", open, doc_ok,
                       close);
    else if (strcmp(t, "/badfecha") == 0)
        sim_buf_printf(b, "%s<ap:resultado codigo=\"CR\">X</ap:resultado>%s<ap:condenas>"
                       "<ap:condena><ap:organo>J</ap:organo><ap:expediente>1</ap:expediente>"
                       "<ap:delito>D</ap:delito><ap:fechaSentencia>2016-13-40</ap:fechaSentencia>"
                       "<ap:situacion codigo=\"V\">VIGENTE</ap:situacion></ap:condena>"
                       "</ap:condenas>%s", open, doc_ok, close);
    else if (strcmp(t, "/badsituacion") == 0)
        sim_buf_printf(b, "%s<ap:resultado codigo=\"CR\">X</ap:resultado>%s<ap:condenas>"
                       "<ap:condena>%s<ap:situacion codigo=\"Q\">?</ap:situacion></ap:condena>"
                       "</ap:condenas>%s", open, doc_ok, condena_ok, close);
    else if (strcmp(t, "/totalmismatch") == 0)
        sim_buf_printf(b, "%s<ap:resultado codigo=\"CR\">X</ap:resultado>%s<ap:condenas total=\"3\">"
                       "<ap:condena>%s<ap:situacion codigo=\"V\">V</ap:situacion></ap:condena>"
                       "</ap:condenas>%s", open, doc_ok, condena_ok, close);
    else if (strcmp(t, "/dtd") == 0)
        sim_buf_printf(b, "<!DOCTYPE x [<!ENTITY e \"boom\">]>%s&e;%s", open, close);
    else if (strcmp(t, "/empty") == 0)
        ;
    else if (strcmp(t, "/fault200") == 0)
        sim_buf_append_str(b, "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\">"
                           "<env:Body><env:Fault/></env:Body></env:Envelope>");
    else if (strcmp(t, "/error502") == 0) {
        resp->status = 502;
        sim_buf_append_str(b, "bad gateway");
    } else {
        resp->status = 404;
        sim_buf_append_str(b, "not found");
    }
}

static void providers_start(void)
{
    const char *pki = getenv("PIDE_TEST_PKI_DIR");
    ck_assert_msg(pki != NULL, "PIDE_TEST_PKI_DIR is not set: run through ctest (fixture pki)");
    static char ca[512];
    snprintf(ca, sizeof ca, "%s/ca.pem", pki);
    const char *const ok[] = {"--trusted-ca", ca, NULL};
    const char *const failing[] = {"--trusted-ca", ca, "--error-rate", "1", NULL};
    const char *const slow[] = {"--trusted-ca", ca, "--latency-ms", "1500", NULL};
    adapter = ath_load_adapter(PJ_ADAPTER_SO, &plugin);
    sim_ok = ath_sim_start(PJ_SIM_EXE, ok);
    sim_failing = ath_sim_start(PJ_SIM_EXE, failing);
    sim_slow = ath_sim_start(PJ_SIM_EXE, slow);
    sim_server_config cfg = {.name = "bad-registry", .handler = bad_registry_handler};
    sim_options_defaults(&cfg.options);
    ck_assert_int_eq(sim_server_start(&cfg, &bad_registry), GW_OK);

    contract.schema = ath_schema_load(PJ_XSD);
}

static void providers_stop(void)
{
    ath_sim_stop(&sim_ok);
    ath_sim_stop(&sim_failing);
    ath_sim_stop(&sim_slow);
    sim_server_stop(bad_registry);
    xmlSchemaFree(contract.schema);
    ath_shutdown();
    dlclose(plugin);
}

/* ---- one exchange, as the gateway would run it -------------------------------------------- */

static void service_init(ath_service *s, unsigned port, const char *path, unsigned timeout_ms)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    ck_assert_int_eq(ath_service_init(s, adapter, "AntecedentesPenales", url, timeout_ms, 0, NULL,
                                      NULL), PIDE_OK);
}

/* The motive carries characters that need escaping on the way to the registry. */
#define MOTIVO "SELECCION DE PERSONAL & <CAS> \"2024\""
#define MOTIVO_XML "SELECCION DE PERSONAL &amp; &lt;CAS&gt; \"2024\""

static void run_exchange(ath_service *s, const char *dni, ath_outcome *o)
{
    char request[2048];
    snprintf(request, sizeof request,
             "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
             "xmlns:pj=\"" CONTRACT_NS "\"><soapenv:Body><pj:verificarAntecedentesPenales>"
             "<xApellidoPaterno>QUISPE</xApellidoPaterno><xApellidoMaterno>MAMANI"
             "</xApellidoMaterno><xNombre1>JUAN</xNombre1><xNombre2>CARLOS</xNombre2>"
             "<xDni>%s</xDni><xMotivoConsulta>" MOTIVO_XML "</xMotivoConsulta>"
             "<xProcesoEntidadConsultante>CAS-012-2024</xProcesoEntidadConsultante>"
             "<xRucEntidadConsultante>20000000001</xRucEntidadConsultante>"
             "<xDniPersonaConsultante>11111111</xDniPersonaConsultante>"
             "<xAudNombrePC>PC-RRHH-07</xAudNombrePC><xAudIP>192.168.10.27</xAudIP>"
             "<xAudNombreUsuario>jperez</xAudNombreUsuario>"
             "<xAudDireccionMAC>00:1A:2B:3C:4D:5E</xAudDireccionMAC>"
             "</pj:verificarAntecedentesPenales></soapenv:Body></soapenv:Envelope>", dni);
    ath_run(s, request, o);
}

/* The contract's response with the given code, about `dni`, after one signed call. */
static xmlNodePtr checked_return(ath_outcome *o, const char *dni, const char *co_resultado)
{
    xmlNodePtr ret = ath_checked_return(&contract, o, co_resultado);
    char buf[16];
    ck_assert_str_eq(ath_text(ret, "xDni", buf, sizeof buf), dni);
    ck_assert_uint_eq(o->ex.signatures, 1);
    return ret;
}

/* The contract's antecedentes equal the registry's records for that DNI. */
static void assert_records_match(xmlNodePtr ret, const char *dni)
{
    pj_consulta expected;
    ck_assert_int_eq(pj_consultar(dni, &expected), PJ_CON_REGISTRO);
    xmlNodePtr list = ath_find(ret, "antecedentes");
    ck_assert_ptr_nonnull(list);
    size_t i = 0;
    char buf[128];
    for (xmlNodePtr a = list->children; a; a = a->next) {
        if (a->type != XML_ELEMENT_NODE)
            continue;
        ck_assert_uint_lt(i, expected.total);
        const pj_condena *c = &expected.condenas[i++];
        ck_assert_str_eq(ath_text(a, "xOrganoJurisdiccional", buf, sizeof buf), c->organo);
        ck_assert_str_eq(ath_text(a, "xNumeroExpediente", buf, sizeof buf), c->expediente);
        ck_assert_str_eq(ath_text(a, "xDelito", buf, sizeof buf), c->delito);
        ck_assert_str_eq(ath_text(a, "fSentencia", buf, sizeof buf), c->fecha_sentencia);
        ck_assert_str_eq(ath_text(a, "xSituacion", buf, sizeof buf),
                         pj_situacion_nombre(c->situacion));
    }
    ck_assert_uint_eq(i, expected.total);
}

/* ---- tests -------------------------------------------------------------------------------- */

START_TEST(descriptor_is_consistent)
{
    ck_assert_uint_eq(adapter->abi_version, PIDE_ADAPTER_ABI_VERSION);
    ck_assert_uint_eq(adapter->struct_size, sizeof(pide_adapter));
    ck_assert_str_eq(adapter->name, "pj");
    ck_assert_str_eq(adapter->operations[0], "verificarAntecedentesPenales");
    ck_assert_ptr_null(adapter->operations[1]);
}
END_TEST

START_TEST(no_record_is_0000_and_audit_is_declared)
{
    ath_service s;
    service_init(&s, sim_ok.port, PJ_PATH, 3000);
    ath_outcome o;
    run_exchange(&s, "45678912", &o);
    xmlNodePtr ret = checked_return(&o, "45678912", "0000");
    ck_assert_ptr_null(ath_find(ret, "antecedentes"));

    ck_assert_str_eq(o.ex.subject, "DNI:45678912");
    ck_assert_str_eq(o.ex.purpose, MOTIVO);
    ck_assert_str_eq(o.ex.procedure, "CAS-012-2024");
    ck_assert(o.ex.caller_audit_set);
    ck_assert_str_eq(o.ex.audit_host_name, "PC-RRHH-07");
    ck_assert_str_eq(o.ex.audit_ip, "192.168.10.27");
    ck_assert_str_eq(o.ex.audit_user_name, "jperez");
    ck_assert_str_eq(o.ex.audit_mac, "00:1A:2B:3C:4D:5E");

    /* What went to the registry: its own protocol, signed, the motive escaped, no SOAPAction. */
    ck_assert_uint_eq(o.ex.http_calls, 1);
    ck_assert_str_eq(o.ex.sent_method, "POST");
    ck_assert_str_eq(o.ex.sent_action, "");
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "http://www.w3.org/2003/05/soap-envelope"));
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "ConsultaAntecedentesRequest"));
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, ">45678912</ap:documento>"));
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "<ap:nombres>JUAN CARLOS</ap:nombres>"));
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "&amp; &lt;CAS&gt;"));
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "SignatureValue"));
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

/* The registry hears the authenticated entity and official from host->identity(), not the
 * request's xRucEntidadConsultante / xDniPersonaConsultante (issue 8, item 1). */
START_TEST(consultant_is_the_authenticated_identity)
{
    ath_service s;
    service_init(&s, sim_ok.port, PJ_PATH, 3000);
    s.identity = (pide_identity){.struct_size = sizeof(pide_identity), .member = "20000000009",
                                 .official = "99999998", .auth_method = "mtls"};
    ath_outcome o;
    run_exchange(&s, "45678912", &o);
    checked_return(&o, "45678912", "0000");
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "<ap:rucEntidad>20000000009</ap:rucEntidad>"));
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "<ap:dniOperador>99999998</ap:dniOperador>"));
    ck_assert_ptr_null(strstr(o.ex.sent_body, "20000000001"));
    ck_assert_ptr_null(strstr(o.ex.sent_body, "11111111"));
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(records_are_translated)
{
    ath_service s;
    service_init(&s, sim_ok.port, PJ_PATH, 3000);
    static const char *const dnis[] = {"66666666", "77777777", "77770042"};
    for (size_t i = 0; i < sizeof dnis / sizeof dnis[0]; i++) {
        ath_outcome o;
        run_exchange(&s, dnis[i], &o);
        assert_records_match(checked_return(&o, dnis[i], "0001"), dnis[i]);
        ath_outcome_free(&o);
    }
    ath_service_fini(&s);
}
END_TEST

START_TEST(not_found_and_maintenance_are_answers)
{
    ath_service s;
    service_init(&s, sim_ok.port, PJ_PATH, 3000);
    ath_outcome o;
    run_exchange(&s, "01234567", &o);
    char buf[160];
    xmlNodePtr ret = checked_return(&o, "01234567", "0002");
    ck_assert_ptr_null(ath_find(ret, "antecedentes"));
    ck_assert_ptr_nonnull(strstr(ath_text(ret, "deResultado", buf, sizeof buf), "no figura"));
    ath_outcome_free(&o);

    run_exchange(&s, "99999999", &o);
    ck_assert_ptr_null(ath_find(checked_return(&o, "99999999", "0999"), "antecedentes"));
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

static void expect_failure(unsigned port, const char *path, unsigned timeout_ms,
                           const char *dni, pide_result expected)
{
    ath_service s;
    service_init(&s, port, path, timeout_ms);
    ath_outcome o;
    run_exchange(&s, dni, &o);
    ck_assert_msg(o.rc == expected, "%s %s: handle() = %d, expected %d; log: %s", path, dni,
                  o.rc, expected, o.ex.log);
    ck_assert_msg(o.answer == NULL, "%s: a failed exchange must append nothing", path);
    ck_assert_str_eq(o.ex.result_code, "0999");
    ath_outcome_free(&o);
    ath_service_fini(&s);
}

START_TEST(registry_down_is_unavailable)
{
    expect_failure(ath_unused_port(), PJ_PATH, 2000, "45678912", PIDE_ERR_PROVIDER_UNAVAILABLE);
}
END_TEST

START_TEST(registry_fault_is_unavailable)
{
    expect_failure(sim_failing.port, PJ_PATH, 2000, "45678912", PIDE_ERR_PROVIDER_UNAVAILABLE);
    expect_failure(sim_server_port(bad_registry), "/error502", 2000, "66666666",
                   PIDE_ERR_PROVIDER_UNAVAILABLE);
    expect_failure(sim_server_port(bad_registry), "/fault200", 2000, "66666666",
                   PIDE_ERR_PROVIDER_UNAVAILABLE);
}
END_TEST

START_TEST(slow_registry_is_a_timeout)
{
    expect_failure(sim_slow.port, PJ_PATH, 300, "45678912", PIDE_ERR_PROVIDER_TIMEOUT);
}
END_TEST

START_TEST(garbage_is_a_bad_response)
{
    /* The real simulator's garbage DNI, then each way the fake registry is wrong. */
    expect_failure(sim_ok.port, PJ_PATH, 2000, "88888888", PIDE_ERR_PROVIDER_BAD_RESPONSE);
    static const char *const paths[] = {"/notxml", "/soap11", "/wrongshape", "/unknowncode",
                                        "/otherdni", "/crwithout", "/badfecha", "/badsituacion",
                                        "/totalmismatch", "/dtd", "/empty", "/http404"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        expect_failure(sim_server_port(bad_registry), paths[i], 2000, "66666666",
                       PIDE_ERR_PROVIDER_BAD_RESPONSE);
}
END_TEST

/* The service bound to the adapter under a host table other than the test host's own. */
static void service_init_with_host(ath_service *s, const pide_host_api *host)
{
    *s = (ath_service){.adapter = adapter};
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u%s", sim_ok.port, PJ_PATH);
    s->cfg = (pide_service_config){.service_name = "AntecedentesPenales", .endpoint_url = s->url,
                                   .timeout_ms = 2000};
    ck_assert_int_eq(adapter->init(host, &s->cfg, &s->instance), PIDE_OK);
}

static pide_result sign_nothing(pide_exchange *ex, xmlDocPtr doc, xmlNodePtr parent)
{
    (void)ex, (void)doc, (void)parent;
    return PIDE_OK;
}

/* A gateway whose signing silently does nothing: the registry refuses, and the adapter says
 * it is the gateway's signing configuration (Server.Adapter), naming the registry's reason. */
START_TEST(unsigned_request_is_refused_by_the_registry)
{
    pide_host_api unsigned_host = *ath_host();
    unsigned_host.sign_document = sign_nothing;
    ath_service s;
    service_init_with_host(&s, &unsigned_host);
    ath_outcome o;
    run_exchange(&s, "45678912", &o);
    ck_assert_msg(o.rc == PIDE_ERR_CONFIG, "handle() = %d; log: %s", o.rc, o.ex.log);
    ck_assert_ptr_null(o.answer);
    ck_assert_ptr_null(strstr(o.ex.sent_body, "Signature"));
    ck_assert_ptr_nonnull(strstr(o.ex.log, "refused the gateway's signature"));
    ck_assert_ptr_nonnull(strstr(o.ex.log, "no esta firmada"));
    ck_assert_str_eq(o.ex.result_code, "0999");
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

static pide_result sign_fails(pide_exchange *ex, xmlDocPtr doc, xmlNodePtr parent)
{
    (void)ex, (void)doc, (void)parent;
    return PIDE_ERR_INTERNAL;
}

/* When the gateway cannot sign, nothing is sent. */
START_TEST(signing_failure_sends_nothing)
{
    pide_host_api host = *ath_host();
    host.sign_document = sign_fails;
    ath_service s;
    service_init_with_host(&s, &host);
    ath_outcome o;
    run_exchange(&s, "45678912", &o);
    ck_assert_int_eq(o.rc, PIDE_ERR_INTERNAL);
    ck_assert_uint_eq(o.ex.http_calls, 0);
    ck_assert_ptr_nonnull(strstr(o.ex.log, "cannot sign"));
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(bad_configuration_is_refused)
{
    ath_service s;
    ath_global_log_clear();
    ck_assert_int_eq(ath_service_init(&s, adapter, "AntecedentesPenales", NULL, 100, 0, NULL,
                                      NULL), PIDE_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(ath_global_log(), "no endpoint URL"));
    ck_assert_ptr_null(s.instance);
}
END_TEST

static bool record_answer_ok(ath_service *s, int n)
{
    char dni[9];
    snprintf(dni, sizeof dni, "%08d", n);
    pj_consulta expected;
    const char *code = pj_consultar(dni, &expected) == PJ_CON_REGISTRO ? "0001" : "0000";
    ath_outcome o;
    run_exchange(s, dni, &o);
    xmlNodePtr ret = o.rc == PIDE_OK ? ath_find(o.answer, "return") : NULL;
    char got_dni[16] = "", got_code[8] = "";
    if (ret) {
        ath_text(ret, "xDni", got_dni, sizeof got_dni);
        ath_text(ret, "coResultado", got_code, sizeof got_code);
    }
    bool ok = strcmp(got_dni, dni) == 0 && strcmp(got_code, code) == 0 &&
              strcmp(o.ex.result_code, code) == 0;
    ath_outcome_free(&o);
    return ok;
}

START_TEST(concurrent_exchanges_do_not_interfere)
{
    ath_service s;
    service_init(&s, sim_ok.port, PJ_PATH, 5000);
    static const int first[4] = {66660100, 45000000, 77770500, 30000000};
    ath_assert_concurrent(&s, first, 25, record_answer_ok);
    ath_service_fini(&s);
}
END_TEST

static Suite *pj_adapter_suite(void)
{
    Suite *s = suite_create("pj_adapter");
    TCase *tc = tcase_create("against pj-sim");
    tcase_add_unchecked_fixture(tc, providers_start, providers_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, descriptor_is_consistent);
    tcase_add_test(tc, no_record_is_0000_and_audit_is_declared);
    tcase_add_test(tc, consultant_is_the_authenticated_identity);
    tcase_add_test(tc, records_are_translated);
    tcase_add_test(tc, not_found_and_maintenance_are_answers);
    tcase_add_test(tc, registry_down_is_unavailable);
    tcase_add_test(tc, registry_fault_is_unavailable);
    tcase_add_test(tc, slow_registry_is_a_timeout);
    tcase_add_test(tc, garbage_is_a_bad_response);
    tcase_add_test(tc, unsigned_request_is_refused_by_the_registry);
    tcase_add_test(tc, signing_failure_sends_nothing);
    tcase_add_test(tc, bad_configuration_is_refused);
    tcase_add_test(tc, concurrent_exchanges_do_not_interfere);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ath_run_suite(pj_adapter_suite());
}
