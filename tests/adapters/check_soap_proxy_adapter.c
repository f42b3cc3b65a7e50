/*
 * check_soap_proxy_adapter.c — tests of adapters/soap-proxy (pide_adapter_soap_proxy.so) through
 * the adapter test host (adapter_test_host.h) against a real jne-sim started on port 0: what the
 * register received (renamed namespace and elements, the authenticated member overwriting the
 * body's), the answer renamed back into the contract, the subject, type, purpose and result code
 * from the XPath parameters; an unconfigured operation; and init() refusing each bad parameter
 * (with a host that offers no WS-Security signer, the signing parameters too).
 */
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "adapter_test_host.h"
#include "pide_adapter.h"

#define CONTRACT_NS "http://ws.pide-gateway.org/jne/"

static ath_sim sim;
static void *plugin;
static const pide_adapter *adapter;

static void provider_start(void)
{
    adapter = ath_load_adapter(SOAP_PROXY_ADAPTER_SO, &plugin);
    sim = ath_sim_start(JNE_SIM_EXE, NULL);
}

static void provider_stop(void)
{
    ath_sim_stop(&sim);
    ath_shutdown();
    dlclose(plugin);
}

#define NPARAMS 11
static const char *names[NPARAMS + 1] = {"operations",      "soapVersion",     "renameNamespace",
                                         "renameElement",   "memberElement",   "responseSchema",
                                         "xpathNamespaces", "subjectXPath",    "subjectTypeXPath",
                                         "purposeXPath",    "resultCodeXPath", NULL};

/* The demo's parameters, with parameter `name` (which may be a new one, added last) set to
 * `value` (NULL: left out). */
static pide_result init_with(ath_service *s, const char *name, const char *value)
{
    static const char *values[NPARAMS + 1];
    static const char *n[NPARAMS + 1];
    const char *base[NPARAMS] = {
        "consultarPadron",
        "1.2",
        CONTRACT_NS "=urn:jne:padron:v1",
        "consultarPadron=ConsultaElector consultarPadronResponse=ConsultaElectorRespuesta",
        "rucEntidad",
        JNE_PROVIDER_XSD,
        "j=" CONTRACT_NS,
        "/j:consultarPadron/numeroDni",
        "substring('DNI-x', 1, 3)",
        "/j:consultarPadron/motivo",
        "/*/codigo"};
    size_t count = 0;
    bool replaced = false;
    for (size_t i = 0; i < NPARAMS; i++) {
        const char *v = base[i];
        if (name && strcmp(names[i], name) == 0) {
            v = value;
            replaced = true;
        }
        if (v) {
            n[count] = names[i];
            values[count++] = v;
        }
    }
    if (name && !replaced && value) {
        n[count] = name;
        values[count++] = value;
    }
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/jne/padron/v1", sim.port);
    return ath_service_init(s, adapter, "JnePadronElectoral", url, 2000, count, n, values);
}

static char *request(char *buf, size_t cap, const char *op, const char *dni, const char *ruc)
{
    snprintf(buf, cap,
             "<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/' "
             "xmlns:j='" CONTRACT_NS "'><soap:Body><j:%s><numeroDni>%s</numeroDni>"
             "<rucEntidad>%s</rucEntidad><motivo>Fiscalizacion 7</motivo></j:%s>"
             "</soap:Body></soap:Envelope>",
             op, dni, ruc, op);
    return buf;
}

START_TEST(forwarded_renamed_with_the_authenticated_member)
{
    ath_service s;
    ck_assert_int_eq(init_with(&s, NULL, NULL), PIDE_OK);
    s.identity.struct_size = sizeof s.identity;
    s.identity.member = "20000000001";
    ath_outcome o;
    char req[1024];
    ath_run(&s, request(req, sizeof req, "consultarPadron", "45678912", "20999999999"), &o);
    ck_assert_msg(o.rc == PIDE_OK, "rc %d: %s", o.rc, o.ex.log);
    /* What the register received: its own names, SOAP 1.2, the member the gateway authenticated */
    ck_assert_ptr_nonnull(o.ex.sent_body);
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "http://www.w3.org/2003/05/soap-envelope"));
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "urn:jne:padron:v1"));
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, ":ConsultaElector"));
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "<rucEntidad>20000000001</rucEntidad>"));
    ck_assert_ptr_null(strstr(o.ex.sent_body, "20999999999"));
    ck_assert_ptr_null(strstr(o.ex.sent_body, CONTRACT_NS));
    ck_assert_ptr_null(strstr(o.ex.sent_body, "consultarPadron"));
    /* The answer in the contract's names */
    ck_assert_ptr_nonnull(o.answer);
    ck_assert_str_eq((const char *)o.answer->name, "consultarPadronResponse");
    ck_assert_str_eq((const char *)o.answer->ns->href, CONTRACT_NS);
    char text[64];
    ck_assert_str_eq(ath_text(o.answer, "codigo", text, sizeof text), "0000");
    ck_assert_str_eq(ath_text(o.answer, "rucEntidad", text, sizeof text), "20000000001");
    ck_assert_str_eq(ath_text(ath_find(o.answer, "elector"), "numeroDni", text, sizeof text),
                     "45678912");
    ck_assert_str_eq(o.ex.subject_type, "DNI");
    ck_assert_str_eq(o.ex.subject_id, "45678912");
    ck_assert_str_eq(o.ex.purpose, "Fiscalizacion 7");
    ck_assert_str_eq(o.ex.result_code, "0000");
    ath_outcome_free(&o);

    /* Without an identity (a standalone check) the body's value goes as it is. */
    memset(&s.identity, 0, sizeof s.identity);
    ath_run(&s, request(req, sizeof req, "consultarPadron", "10000001", "20000000002"), &o);
    ck_assert_int_eq(o.rc, PIDE_OK);
    ck_assert_ptr_nonnull(strstr(o.ex.sent_body, "<rucEntidad>20000000002</rucEntidad>"));
    ck_assert_str_eq(o.ex.result_code, "0001");
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(unconfigured_operation_is_refused)
{
    ath_service s;
    ck_assert_int_eq(init_with(&s, NULL, NULL), PIDE_OK);
    ath_outcome o;
    char req[1024];
    ath_run(&s, request(req, sizeof req, "consultarPadronResponse", "45678912", "20000000001"), &o);
    ck_assert_int_eq(o.rc, PIDE_ERR_BAD_REQUEST);
    ck_assert_uint_eq(o.ex.http_calls, 0);
    ath_outcome_free(&o);
    ath_service_fini(&s);
}
END_TEST

START_TEST(bad_parameters_are_refused_by_init)
{
    const struct {
        const char *name, *value, *why;
    } bad[] = {
        {"soapVersion", "1.3", "soapVersion '1.3' is not one of 1.1, 1.2"},
        {"operations", "", "parameter operations"},
        {"renameElement", "a=b b=c", "a name appears in two pairs"},
        {"renameElement", "a=a", "a name renamed to itself"},
        {"renameElement", "a:x=b", "element names must be XML names"},
        {"renameNamespace", "urn:a", "each entry must be from=to"},
        {"renameNamespace", "=urn:b", "each entry must be from=to"},
        {"memberElement", "p:ruc", "memberElement 'p:ruc' is not an XML name"},
        {"subjectTypeXPath", NULL, "subjectXPath needs exactly one of"},
        {"subjectType", "DNI", "subjectXPath needs exactly one of"},
        {"purposeXPath", "/q:x", "undefined namespace prefix"},
        {"xpathNamespaces", "j=" CONTRACT_NS " j=urn:x", "bound twice"},
        {"responseSchema", "/nonexistent.xsd", "responseSchema /nonexistent.xsd: cannot read it"},
        {"soapAction", "a\"b", "soapAction may not hold quotes"},
        {"wssTtlSeconds", "0", "wssTtlSeconds '0' is not 1..3600"},
        {"wssSigningKey", "/k.pem", "wssSigningKey and wssSigningCertificate go together"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ath_global_log_clear();
        ath_service s;
        pide_result rc = init_with(&s, bad[i].name, bad[i].value);
        ck_assert_msg(rc == PIDE_ERR_CONFIG, "%s=%s: rc %d", bad[i].name,
                      bad[i].value ? bad[i].value : "(none)", rc);
        ck_assert_msg(strstr(ath_global_log(), bad[i].why), "%s: '%s' not in %s", bad[i].name,
                      bad[i].why, ath_global_log());
        ck_assert_ptr_nonnull(strstr(ath_global_log(), "service JnePadronElectoral"));
    }
}
END_TEST

/* A host without the WS-Security signer (this test host, an older gateway): asking for signed
 * requests stops the start instead of sending unsigned ones. */
START_TEST(signing_needs_a_host_that_signs)
{
    ck_assert(!PIDE_HOST_HAS(ath_host(), wss_signer_open));
    ath_service s;
    static const char *n[] = {"operations", "wssSigningKey", "wssSigningCertificate"};
    static const char *v[] = {"consultarPadron", "/k.pem", "/c.pem"};
    ath_global_log_clear();
    ck_assert_int_eq(ath_service_init(&s, adapter, "JnePadronElectoral",
                                      "http://127.0.0.1:1/jne/padron/v1", 2000, 3, n, v),
                     PIDE_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(ath_global_log(), "cannot sign provider requests"));
}
END_TEST

static Suite *soap_proxy_suite(void)
{
    Suite *s = suite_create("soap_proxy_adapter");
    TCase *tc = tcase_create("jne");
    tcase_add_unchecked_fixture(tc, provider_start, provider_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, forwarded_renamed_with_the_authenticated_member);
    tcase_add_test(tc, unconfigured_operation_is_refused);
    tcase_add_test(tc, bad_parameters_are_refused_by_init);
    tcase_add_test(tc, signing_needs_a_host_that_signs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return ath_run_suite(soap_proxy_suite()); }
