/*
 * check_reniec_adapter.c — tests of adapters/reniec (pide_adapter_reniec.so) through the
 * adapter test host (adapter_test_host.h): the plugin is dlopen()ed, its host table does real
 * HTTP over loopback sockets to a reniec-sim started on port 0, and every translated answer is
 * validated against schemas/reniec-consulta.xsd. A pide_simcommon server plays a misbehaving
 * padrón.
 */
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "adapter_test_host.h"
#include "pide_adapter.h"
#include "reniec_data.h"
#include "sim_buf.h"
#include "sim_server.h"

#define CONTRACT_NS "http://ws.pide-gateway.org/reniec/"
#define SECRET "s3cr3t-Pa55"

/* ---- providers: a real reniec-sim (normal, failing, slow) and a misbehaving padrón -------- */

static ath_sim sim_ok, sim_failing, sim_slow;
static sim_server *bad_padron;
static void *plugin;
static const pide_adapter *adapter;
static ath_contract contract = {.ns = CONTRACT_NS, .response = "consultarResponse",
                                 .result_element = "coResultado"};

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
    static const char *const failing[] = {"--error-rate", "1", NULL};
    static const char *const slow[] = {"--latency-ms", "1500", NULL};
    adapter = ath_load_adapter(RENIEC_ADAPTER_SO, &plugin);
    sim_ok = ath_sim_start(RENIEC_SIM_EXE, NULL);
    sim_failing = ath_sim_start(RENIEC_SIM_EXE, failing);
    sim_slow = ath_sim_start(RENIEC_SIM_EXE, slow);
    sim_server_config cfg = {.name = "bad-padron", .handler = bad_padron_handler};
    sim_options_defaults(&cfg.options);
    ck_assert_int_eq(sim_server_start(&cfg, &bad_padron), GW_OK);

    contract.schema = ath_schema_load(RENIEC_XSD);
}

static void providers_stop(void)
{
    ath_sim_stop(&sim_ok);
    ath_sim_stop(&sim_failing);
    ath_sim_stop(&sim_slow);
    sim_server_stop(bad_padron);
    xmlSchemaFree(contract.schema);
    ath_shutdown();
    dlclose(plugin);
}

/* ---- one exchange, as the gateway would run it -------------------------------------------- */

typedef ath_service service;
typedef ath_outcome outcome;

static void service_init(service *s, unsigned port, const char *path, unsigned timeout_ms,
                         const char *entity_code)
{
    static const char *const names[] = {"entityCode"};
    static const char *values[1];
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    values[0] = entity_code;
    ck_assert_int_eq(ath_service_init(s, adapter, "ReniecConsultaDni", url, timeout_ms,
                                      entity_code ? 1 : 0, names, values), PIDE_OK);
}

static void run_exchange(service *s, const char *dni, outcome *o)
{
    char request[1024];
    snprintf(request, sizeof request,
             "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
             "xmlns:ren=\"" CONTRACT_NS "\"><soapenv:Body><ren:consultar><arg0>"
             "<nuDniConsulta>%s</nuDniConsulta><nuDniUsuario>11111111</nuDniUsuario>"
             "<nuRucUsuario>20000000001</nuRucUsuario><password>" SECRET "</password>"
             "</arg0></ren:consultar></soapenv:Body></soapenv:Envelope>", dni);
    ath_run(s, request, o);
}

static void outcome_free(outcome *o)
{
    if (o->ex.sent_body) {
        ck_assert_ptr_null(strstr(o->ex.sent_body, SECRET));
        ck_assert_ptr_null(strstr(o->ex.sent_body, "password"));
    }
    ck_assert_ptr_null(strstr(o->ex.log, SECRET));
    ath_outcome_free(o);
}

/* ---- tests -------------------------------------------------------------------------------- */

START_TEST(found_citizen_is_translated)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, NULL);
    outcome o;
    run_exchange(&s, "45678912", &o);
    xmlNodePtr ret = ath_checked_return(&contract, &o, "0000");
    ck_assert_str_eq(o.ex.subject, "DNI:45678912");
    ck_assert_str_eq(o.ex.sent_action, "urn:reniec:padron:interno:v2#ConsultarCiudadano");
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "<rp:codigoEntidad>PIDE-GW</rp:codigoEntidad>"));

    reniec_ciudadano expected;
    ck_assert_int_eq(reniec_consultar("45678912", &expected), RENIEC_ESTADO_ENCONTRADO);
    xmlNodePtr datos = ath_find(ret, "datosPersona");
    ck_assert_ptr_nonnull(datos);
    char buf[128];
    ck_assert_str_eq(ath_text(datos, "prenombres", buf, sizeof buf), expected.nombres);
    ck_assert_str_eq(ath_text(datos, "apPrimer", buf, sizeof buf), expected.apellido_paterno);
    ck_assert_str_eq(ath_text(datos, "apSegundo", buf, sizeof buf), expected.apellido_materno);
    ck_assert_str_eq(ath_text(datos, "direccion", buf, sizeof buf), expected.direccion);
    ck_assert_str_eq(ath_text(datos, "ubigeo", buf, sizeof buf), expected.ubigeo);
    ck_assert_str_eq(ath_text(datos, "estadoCivil", buf, sizeof buf),
                     reniec_estado_civil_nombre(expected.estado_civil));
    ck_assert_ptr_null(ath_find(datos, "restriccion"));

    sim_buf photo;
    sim_buf_init(&photo);
    sim_buf_append_base64(&photo, reniec_photo_jpeg, reniec_photo_jpeg_len);
    xmlChar *foto = xmlNodeGetContent(ath_find(datos, "foto"));
    ck_assert_str_eq((const char *)foto, photo.data);
    xmlFree(foto);
    sim_buf_free(&photo);
    outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

/* RENIEC hears the official from host->identity(), not the request's nuDniUsuario (issue 8,
 * item 1); without an identity (an older host) the request's is used. */
START_TEST(official_is_the_authenticated_one)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, NULL);
    s.identity = (pide_identity){.struct_size = sizeof(pide_identity), .member = "20000000001",
                                 .official = "22222222", .auth_method = "mtls"};
    outcome o;
    run_exchange(&s, "45678912", &o);
    ath_checked_return(&contract, &o, "0000");
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "<rp:usuarioConsulta>22222222<"));
    outcome_free(&o);
    s.identity.member = NULL;
    run_exchange(&s, "45678912", &o);
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "<rp:usuarioConsulta>11111111<"));
    outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(not_found_has_no_person)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, NULL);
    outcome o;
    run_exchange(&s, "01234567", &o);
    xmlNodePtr ret = ath_checked_return(&contract, &o, "0001");
    ck_assert_ptr_null(ath_find(ret, "datosPersona"));
    char buf[128];
    ck_assert_ptr_nonnull(strstr(ath_text(ret, "deResultado", buf, sizeof buf), "no existe"));
    outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(deceased_keeps_data_without_photo)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, NULL);
    outcome o;
    run_exchange(&s, "44444444", &o);
    xmlNodePtr ret = ath_checked_return(&contract, &o, "0002");
    reniec_ciudadano expected;
    reniec_consultar("44444444", &expected);
    char buf[160];
    ck_assert_ptr_nonnull(strstr(ath_text(ret, "deResultado", buf, sizeof buf),
                                 expected.fecha_fallecimiento));
    xmlNodePtr datos = ath_find(ret, "datosPersona");
    ck_assert_str_eq(ath_text(datos, "prenombres", buf, sizeof buf), expected.nombres);
    ck_assert_str_eq(ath_text(datos, "direccion", buf, sizeof buf), expected.direccion);
    ck_assert_str_eq(ath_text(datos, "restriccion", buf, sizeof buf), "FALLECIDO");
    ck_assert_ptr_null(ath_find(datos, "foto"));
    outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(restricted_gives_names_and_reason_only)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, NULL);
    outcome o;
    run_exchange(&s, "55555555", &o);
    xmlNodePtr ret = ath_checked_return(&contract, &o, "0003");
    xmlNodePtr datos = ath_find(ret, "datosPersona");
    char buf[128];
    ck_assert_ptr_nonnull(ath_text(datos, "apPrimer", buf, sizeof buf));
    ck_assert_ptr_nonnull(ath_text(datos, "restriccion", buf, sizeof buf));
    ck_assert_ptr_null(ath_find(datos, "direccion"));
    ck_assert_ptr_null(ath_find(datos, "ubigeo"));
    ck_assert_ptr_null(ath_find(datos, "foto"));
    outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(refused_entity_and_maintenance_are_answers)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, "BLOQUEADA");
    outcome o;
    run_exchange(&s, "45678912", &o);
    ck_assert_ptr_null(ath_find(ath_checked_return(&contract, &o, "0005"), "datosPersona"));
    outcome_free(&o);
    ath_service_fini(&s);

    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 2000, NULL);
    run_exchange(&s, "99999999", &o);
    ath_checked_return(&contract, &o, "0999");
    outcome_free(&o);
    ath_service_fini(&s);
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
    /* The contract's "service unavailable" travels with the Fault. */
    ck_assert_str_eq(o.ex.result_code, "0999");
    outcome_free(&o);
    ath_service_fini(&s);
}

START_TEST(padron_down_is_unavailable)
{
    /* A port that was just free: nothing listens there. */
    expect_failure(ath_unused_port(), "/padron/v2/ciudadano", 2000,
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
    ck_assert_int_eq(adapter->init(ath_host(), &no_endpoint, &instance), PIDE_ERR_CONFIG);

    static const char *const names[] = {"entityCode"};
    static const char *const values[] = {"bad code<x>"};
    pide_service_config bad_entity = {.service_name = "ReniecConsultaDni",
                                      .endpoint_url = "http://127.0.0.1:1/padron/v2/ciudadano",
                                      .param_count = 1, .param_names = names,
                                      .param_values = values};
    ck_assert_int_eq(adapter->init(ath_host(), &bad_entity, &instance), PIDE_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(ath_global_log(), "entityCode"));
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

static bool citizen_answer_ok(ath_service *s, int n)
{
    char dni[9];
    snprintf(dni, sizeof dni, "%08d", n);
    outcome o;
    run_exchange(s, dni, &o);
    reniec_ciudadano expected;
    reniec_consultar(dni, &expected);
    xmlNodePtr ret = o.rc == PIDE_OK ? ath_find(o.answer, "return") : NULL;
    char buf[64];
    bool ok = ret && strcmp(ath_text(ath_find(ret, "datosPersona"), "prenombres", buf, sizeof buf),
                            expected.nombres) == 0 && strcmp(o.ex.result_code, "0000") == 0;
    outcome_free(&o);
    return ok;
}

START_TEST(concurrent_exchanges_do_not_interfere)
{
    service s;
    service_init(&s, sim_ok.port, "/padron/v2/ciudadano", 5000, NULL);
    static const int first[4] = {20000000, 20001000, 20002000, 20003000};
    ath_assert_concurrent(&s, first, 100, citizen_answer_ok);
    ath_service_fini(&s);
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
    tcase_add_test(tc, official_is_the_authenticated_one);
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
    return ath_run_suite(reniec_adapter_suite());
}
