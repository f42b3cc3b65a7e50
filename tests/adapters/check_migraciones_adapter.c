/*
 * check_migraciones_adapter.c — tests of adapters/migraciones (pide_adapter_migraciones.so) in
 * the adapter test host (adapter_test_host.h) against real migraciones-sim processes: every
 * translated answer is validated against schemas/migraciones-carnet.xsd and compared with the
 * simulator's own data (migraciones_data); failures of the register must end in the right
 * PIDE_ERR_PROVIDER_* with result code 0002 and no answer. Also checks the test host's
 * sign_document, which signs for real with the pki fixture's key.
 * ctest-fixtures: pki
 */
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "adapter_test_host.h"
#include "migraciones_data.h"
#include "pide_adapter.h"
#include "xml_sign.h"

#define CONTRACT_NS "http://ws.pide-gateway.org/migraciones/"
#define SERVICE "MigraCarnetdeExtrajeria"
#define CARNES "/api/v1/carnes"

static ath_sim sim_ok, sim_failing, sim_slow;
static void *plugin;
static const pide_adapter *adapter;
static ath_contract contract = {.ns = CONTRACT_NS, .response = "consultarDocumentoResponse",
                                 .result_element = "strNumRespuesta"};

static void providers_start(void)
{
    static const char *const failing[] = {"--error-rate", "1", NULL};
    static const char *const slow[] = {"--latency-ms", "1500", NULL};
    adapter = ath_load_adapter(MIGRACIONES_ADAPTER_SO, &plugin);
    sim_ok = ath_sim_start(MIGRACIONES_SIM_EXE, NULL);
    sim_failing = ath_sim_start(MIGRACIONES_SIM_EXE, failing);
    sim_slow = ath_sim_start(MIGRACIONES_SIM_EXE, slow);
    contract.schema = ath_schema_load(MIGRACIONES_XSD);
}

static void providers_stop(void)
{
    ath_sim_stop(&sim_ok);
    ath_sim_stop(&sim_failing);
    ath_sim_stop(&sim_slow);
    xmlSchemaFree(contract.schema);
    ath_shutdown();
    dlclose(plugin);
}

static void service_init(ath_service *s, unsigned port, const char *path, unsigned timeout_ms)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    ck_assert_int_eq(ath_service_init(s, adapter, SERVICE, url, timeout_ms, 0, NULL, NULL),
                     PIDE_OK);
}

/* Runs one consultarDocumento; the request itself must be valid by the contract. */
static void run(ath_service *s, const char *numero, const char *tipo, const char *institucion,
                ath_outcome *o)
{
    char request[1400];
    snprintf(request, sizeof request,
             "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
             "xmlns:mig=\"" CONTRACT_NS "\"><soapenv:Body><mig:consultarDocumento><solicitud>"
             "<strCodInstitucion>%s</strCodInstitucion><strMac>00:1A:2B:3C:4D:5E</strMac>"
             "<strNroIp>192.168.10.25</strNroIp><strNumDocumento>%s</strNumDocumento>"
             "<strTipoDocumento>%s</strTipoDocumento></solicitud></mig:consultarDocumento>"
             "</soapenv:Body></soapenv:Envelope>", institucion, numero, tipo);
    ath_run(s, request, o);
}

/* ---- answers ------------------------------------------------------------------------------ */

START_TEST(descriptor_is_consistent)
{
    ck_assert_str_eq(adapter->name, "migraciones");
    ck_assert_str_eq(adapter->operations[0], "consultarDocumento");
    ck_assert_ptr_null(adapter->operations[1]);
    ck_assert_ptr_nonnull(adapter->fini);
}
END_TEST

static void expect_valid_card(ath_service *s, const char *numero)
{
    ath_outcome o;
    run(s, numero, "CE", "20000000001", &o);
    xmlNodePtr ret = ath_checked_return(&contract, &o, "0000");
    migra_carne c;
    ck_assert_int_eq(migra_consultar(numero, &c), MIGRA_VIGENTE);
    char buf[128];
    ck_assert_str_eq(ath_text(ret, "strNombres", buf, sizeof buf), c.nombres);
    ck_assert_str_eq(ath_text(ret, "strPrimerApellido", buf, sizeof buf), c.apellido_paterno);
    ck_assert_str_eq(ath_text(ret, "strSegundoApellido", buf, sizeof buf),
                     c.apellido_materno ? c.apellido_materno : "");
    ck_assert_str_eq(ath_text(ret, "strCalidadMigratoria", buf, sizeof buf), c.calidad_migratoria);
    ck_assert_str_eq(ath_text(ret, "strNacionalidad", buf, sizeof buf), c.nacionalidad);
    ck_assert_str_eq(ath_text(ret, "strFechaVencimiento", buf, sizeof buf), c.fecha_vencimiento);
    ck_assert_str_eq(ath_text(ret, "strEstadoCarne", buf, sizeof buf), "VIGENTE");

    /* What the adapter declared and sent. */
    char subject[32];
    snprintf(subject, sizeof subject, "CE:%s", numero);
    ck_assert_str_eq(o.ex.subject, subject);
    ck_assert(o.ex.caller_audit_set);
    ck_assert_str_eq(o.ex.audit_ip, "192.168.10.25");
    ck_assert_str_eq(o.ex.audit_mac, "00:1A:2B:3C:4D:5E");
    ck_assert_str_eq(o.ex.audit_host_name, "");
    ck_assert_str_eq(o.ex.audit_user_name, "");
    ck_assert_str_eq(o.ex.sent_method, "GET");
    ck_assert_ptr_null(o.ex.sent_body);
    char url_tail[64];
    snprintf(url_tail, sizeof url_tail, CARNES "/%s?entidad=20000000001", numero);
    ck_assert_msg(strstr(o.ex.sent_url, url_tail), "sent %s", o.ex.sent_url);
    ath_outcome_free(&o);
}

START_TEST(valid_card_is_translated)
{
    ath_service s;
    service_init(&s, sim_ok.port, CARNES, 2000);
    /* One holder with a single surname (empty strSegundoApellido), one with two. */
    bool single = false, two = false;
    char numero[10];
    for (int i = 0; i < 200 && !(single && two); i++) {
        snprintf(numero, sizeof numero, "%09d", 1234567 + i);
        migra_carne c;
        ck_assert_int_eq(migra_consultar(numero, &c), MIGRA_VIGENTE);
        if ((c.apellido_materno && two) || (!c.apellido_materno && single))
            continue;
        expect_valid_card(&s, numero);
        single |= !c.apellido_materno;
        two |= c.apellido_materno != NULL;
    }
    ck_assert(single && two);
    ath_service_fini(&s);
}
END_TEST

START_TEST(unknown_card_is_0001_without_holder)
{
    ath_service s;
    service_init(&s, sim_ok.port, CARNES, 2000);
    ath_outcome o;
    run(&s, "000012345", "CE", "20000000001", &o);
    xmlNodePtr ret = ath_checked_return(&contract, &o, "0001");
    ck_assert_ptr_null(ath_find(ret, "strNombres"));
    ck_assert_ptr_null(ath_find(ret, "strEstadoCarne"));
    char buf[128];
    ck_assert_ptr_nonnull(strstr(ath_text(ret, "strDesRespuesta", buf, sizeof buf), "No existe"));
    ck_assert_str_eq(o.ex.subject, "CE:000012345");
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(expired_and_cancelled_cards_are_0001_with_reason)
{
    ath_service s;
    service_init(&s, sim_ok.port, CARNES, 2000);
    ath_outcome o;
    run(&s, "444412345", "CE", "20000000001", &o);
    xmlNodePtr ret = ath_checked_return(&contract, &o, "0001");
    migra_carne c;
    ck_assert_int_eq(migra_consultar("444412345", &c), MIGRA_VENCIDO);
    char buf[128];
    ck_assert_str_eq(ath_text(ret, "strEstadoCarne", buf, sizeof buf), "VENCIDO");
    ck_assert_str_eq(ath_text(ret, "strFechaVencimiento", buf, sizeof buf), c.fecha_vencimiento);
    ck_assert_ptr_null(ath_find(ret, "strNombres"));
    ck_assert_ptr_null(ath_find(ret, "strCalidadMigratoria"));
    ath_outcome_free(&o);

    run(&s, "555500001", "CE", "20000000001", &o);
    ret = ath_checked_return(&contract, &o, "0001");
    ck_assert_str_eq(ath_text(ret, "strEstadoCarne", buf, sizeof buf), "ANULADO");
    ck_assert_ptr_null(ath_find(ret, "strNombres"));
    ck_assert_ptr_null(ath_find(ret, "strFechaVencimiento"));
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(refused_institution_is_0003)
{
    ath_service s;
    service_init(&s, sim_ok.port, CARNES, 2000);
    ath_outcome o;
    run(&s, "001234567", "CE", "BLOQUEADA", &o);
    xmlNodePtr ret = ath_checked_return(&contract, &o, "0003");
    ck_assert_ptr_null(ath_find(ret, "strNombres"));
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

/* The register decides access by institution: it hears the authenticated member's code from
 * host->identity(), never the request's strCodInstitucion (issue 8, item 1). */
START_TEST(institution_is_the_authenticated_members)
{
    ath_service s;
    service_init(&s, sim_ok.port, CARNES, 2000);
    s.identity = (pide_identity){.struct_size = sizeof(pide_identity), .member = "20000000004",
                                 .auth_method = "mtls", .institution_code = "BLOQUEADA"};
    ath_outcome o;
    run(&s, "001234567", "CE", "20000000001", &o);
    ath_checked_return(&contract, &o, "0003");
    ck_assert_msg(strstr(o.ex.sent_url, "entidad=BLOQUEADA"), "sent %s", o.ex.sent_url);
    ath_outcome_free(&o);
    s.identity.institution_code = "20000000001";
    run(&s, "001234567", "CE", "BLOQUEADA", &o);
    ath_checked_return(&contract, &o, "0000");
    ck_assert_msg(strstr(o.ex.sent_url, "entidad=20000000001"), "sent %s", o.ex.sent_url);
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(other_document_types_are_bad_requests)
{
    ath_service s;
    service_init(&s, sim_ok.port, CARNES, 2000);
    ath_outcome o;
    run(&s, "001234567", "PAS", "20000000001", &o);
    ck_assert_int_eq(o.rc, PIDE_ERR_BAD_REQUEST);
    ck_assert_ptr_null(o.answer);
    ck_assert_uint_eq(o.ex.http_calls, 0);
    ck_assert_str_eq(o.ex.result_code, "");
    ck_assert_ptr_nonnull(strstr(o.ex.log, "only CE"));
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

/* ---- failures of the register ------------------------------------------------------------- */

static void expect_failure(unsigned port, const char *path, unsigned timeout_ms,
                           const char *numero, pide_result expected)
{
    ath_service s;
    service_init(&s, port, path, timeout_ms);
    ath_outcome o;
    run(&s, numero, "CE", "20000000001", &o);
    ck_assert_msg(o.rc == expected, "%s %s: handle() = %d, expected %d", path, numero, o.rc,
                  expected);
    ck_assert_msg(o.answer == NULL, "%s %s: a failed exchange must append nothing", path, numero);
    ck_assert_str_eq(o.ex.result_code, "0002");
    ck_assert_msg(o.ex.subject[0], "the subject is declared even when the register fails");
    ath_outcome_free(&o);
    ath_service_fini(&s);
}

START_TEST(register_down_is_unavailable)
{
    expect_failure(ath_unused_port(), CARNES, 2000, "001234567", PIDE_ERR_PROVIDER_UNAVAILABLE);
}
END_TEST

START_TEST(register_errors_are_unavailable)
{
    expect_failure(sim_failing.port, CARNES, 2000, "001234567", PIDE_ERR_PROVIDER_UNAVAILABLE);
    expect_failure(sim_ok.port, CARNES, 2000, "999999999", PIDE_ERR_PROVIDER_UNAVAILABLE);
}
END_TEST

START_TEST(slow_register_is_a_timeout)
{
    expect_failure(sim_slow.port, CARNES, 300, "001234567", PIDE_ERR_PROVIDER_TIMEOUT);
}
END_TEST

START_TEST(garbage_is_a_bad_response)
{
    expect_failure(sim_ok.port, CARNES, 2000, "888888888", PIDE_ERR_PROVIDER_BAD_RESPONSE);
    expect_failure(sim_ok.port, CARNES, 2000, "777777777", PIDE_ERR_PROVIDER_BAD_RESPONSE);
    /* A wrong endpoint path: the register's 404 is not "card not found". */
    expect_failure(sim_ok.port, "/api/v1/otra-cosa", 2000, "001234567",
                   PIDE_ERR_PROVIDER_BAD_RESPONSE);
}
END_TEST

START_TEST(bad_configuration_is_refused)
{
    static const char *const bad_urls[] = {NULL, "ftp://x/api", "http://127.0.0.1:1/api/",
                                           "http://127.0.0.1:1/api?x=1"};
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        ath_global_log_clear();
        ath_service s;
        ck_assert_int_eq(ath_service_init(&s, adapter, SERVICE, bad_urls[i], 100, 0, NULL, NULL),
                         PIDE_ERR_CONFIG);
        ck_assert_ptr_null(s.instance);
        ck_assert_ptr_nonnull(strstr(ath_global_log(), SERVICE));
    }
}
END_TEST

static bool card_answer_ok(ath_service *s, int n)
{
    char numero[10];
    snprintf(numero, sizeof numero, "%09d", n);
    ath_outcome o;
    run(s, numero, "CE", "20000000001", &o);
    migra_carne expected;
    migra_consultar(numero, &expected);
    xmlNodePtr ret = o.rc == PIDE_OK ? ath_find(o.answer, "return") : NULL;
    char buf[64];
    bool ok = ret && strcmp(ath_text(ret, "strNombres", buf, sizeof buf), expected.nombres) == 0 &&
              strcmp(o.ex.result_code, "0000") == 0;
    ath_outcome_free(&o);
    return ok;
}

START_TEST(concurrent_exchanges_do_not_interfere)
{
    ath_service s;
    service_init(&s, sim_ok.port, CARNES, 5000);
    static const int first[4] = {200000000, 200001000, 200002000, 200003000};
    ath_assert_concurrent(&s, first, 100, card_answer_ok);
    ath_service_fini(&s);
}
END_TEST

/* ---- the test host's own signing (used by adapters whose provider wants signed calls) ------ */

START_TEST(test_host_signs_with_the_pki_key)
{
    const char *pki = getenv("PIDE_TEST_PKI_DIR");
    ck_assert_msg(pki != NULL, "run through ctest (pki fixture)");
    static const char doc_text[] = "<peticion xmlns=\"urn:prueba\"><dato>42</dato></peticion>";
    xmlDocPtr doc = xmlReadMemory(doc_text, (int)strlen(doc_text), NULL, NULL, XML_PARSE_NONET);
    pide_exchange ex = {0};
    ck_assert_int_eq(ath_host()->sign_document(&ex, doc, xmlDocGetRootElement(doc)), PIDE_OK);
    ck_assert_uint_eq(ex.signatures, 1);
    char ca[512], err[256] = "";
    snprintf(ca, sizeof ca, "%s/ca.pem", pki);
    ck_assert_msg(gw_verify_document(doc, ca, err, sizeof err) == GW_OK, "verify: %s", err);
    /* Altering the signed content breaks it: the signature covers the document. */
    xmlNodeSetContent(xmlDocGetRootElement(doc)->children, BAD_CAST "43");
    ck_assert_int_ne(gw_verify_document(doc, ca, err, sizeof err), GW_OK);
    xmlFreeDoc(doc);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("migraciones_adapter");
    TCase *tc = tcase_create("against migraciones-sim");
    tcase_add_unchecked_fixture(tc, providers_start, providers_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, descriptor_is_consistent);
    tcase_add_test(tc, institution_is_the_authenticated_members);
    tcase_add_test(tc, valid_card_is_translated);
    tcase_add_test(tc, unknown_card_is_0001_without_holder);
    tcase_add_test(tc, expired_and_cancelled_cards_are_0001_with_reason);
    tcase_add_test(tc, refused_institution_is_0003);
    tcase_add_test(tc, other_document_types_are_bad_requests);
    tcase_add_test(tc, register_down_is_unavailable);
    tcase_add_test(tc, register_errors_are_unavailable);
    tcase_add_test(tc, slow_register_is_a_timeout);
    tcase_add_test(tc, garbage_is_a_bad_response);
    tcase_add_test(tc, bad_configuration_is_refused);
    tcase_add_test(tc, concurrent_exchanges_do_not_interfere);
    tcase_add_test(tc, test_host_signs_with_the_pki_key);
    suite_add_tcase(suite, tc);
    return ath_run_suite(suite);
}
