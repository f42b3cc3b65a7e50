/*
 * check_adapter_kit.c — adapters/common/adapter_kit.c: the identifier digit checks, the code
 * tables, the per-service instance, parameters with a fallback, the XML-answer step and the
 * XPath parameters (namespaces, init-time checks, evaluation),
 * through a host table of real functions (exchange memory from gateway/arena).
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>

#include "adapter_kit.h"
#include "arena.h"
#include "check_run.h"

static char last_log[512];

static void kit_log(pide_exchange *ex, pide_log_level level, const char *fmt, ...)
{
    (void)ex;
    (void)level;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_log, sizeof last_log, fmt, ap);
    va_end(ap);
}

static const char *kit_config_param(const pide_service_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->param_count; i++)
        if (strcmp(cfg->param_names[i], name) == 0)
            return cfg->param_values[i];
    return NULL;
}

static char *kit_strdup(pide_exchange *ex, const char *s)
{
    return gw_arena_strdup((gw_arena *)ex, s);
}

static const pide_host_api HOST = {
    .abi_version = PIDE_ADAPTER_ABI_VERSION,
    .struct_size = sizeof(pide_host_api),
    .strdup = kit_strdup,
    .log = kit_log,
    .config_param = kit_config_param,
};

START_TEST(identifier_digits)
{
    ck_assert(adapter_is_dni("45678912"));
    ck_assert(adapter_is_ruc("20000000001"));
    ck_assert(adapter_is_ce("000123456"));
    ck_assert(!adapter_is_dni(NULL));
    ck_assert(!adapter_is_dni(""));
    ck_assert(!adapter_is_dni("4567891"));
    ck_assert(!adapter_is_dni("456789123"));
    ck_assert(!adapter_is_dni("4567891a"));
    ck_assert(!adapter_is_dni("-4567891"));
    ck_assert(!adapter_is_dni(" 4567891"));
    ck_assert(!adapter_is_dni("4567\xd9\xa1" "12"));  /* an Arabic-Indic digit: 2 bytes */
    ck_assert(!adapter_is_ruc("2000000000"));
    ck_assert(!adapter_is_ruc("20000000001 "));
    ck_assert(!adapter_is_ce("45678912"));
    ck_assert(adapter_is_digits("123456", 6));
    ck_assert(!adapter_is_digits("12345", 6));
}
END_TEST

static const adapter_code TABLE[] = {
    {"00", "0000", "found", true},
    {"01", "0001", "not found", false},
};

START_TEST(code_table)
{
    const adapter_code *c = ADAPTER_CODE_FIND(TABLE, "01");
    ck_assert_ptr_eq(c, &TABLE[1]);
    ck_assert_str_eq(c->contract, "0001");
    ck_assert_ptr_null(ADAPTER_CODE_FIND(TABLE, "02"));
    ck_assert_ptr_null(ADAPTER_CODE_FIND(TABLE, NULL));
    ck_assert_ptr_null(ADAPTER_CODE_FIND(TABLE, "0"));
    ck_assert_ptr_null(ADAPTER_CODE_FIND(TABLE, "000"));
    ck_assert_ptr_null(adapter_code_find(TABLE, 0, "00"));
}
END_TEST

typedef struct kit_instance {
    adapter_instance base;
    int extra;
} kit_instance;

START_TEST(instance_boilerplate)
{
    const char *names[] = {"mode"};
    const char *values[] = {"fast"};
    pide_service_config cfg = {.service_name = "Kit", .endpoint_url = NULL};
    void *instance = NULL;
    last_log[0] = '\0';
    ck_assert_int_eq(adapter_instance_new(&HOST, &cfg, "kit", "the register", sizeof(kit_instance),
                                          &instance), PIDE_ERR_CONFIG);
    ck_assert_ptr_null(instance);
    ck_assert_str_eq(last_log, "kit adapter, service Kit: no endpoint URL (the register) "
                               "configured");
    cfg.endpoint_url = "";
    ck_assert_int_eq(adapter_instance_new(&HOST, &cfg, "kit", "x", sizeof(kit_instance),
                                          &instance), PIDE_ERR_CONFIG);
    ck_assert_int_eq(adapter_instance_new(&HOST, &cfg, "kit", "x", 1, &instance),
                     PIDE_ERR_CONFIG);

    cfg.endpoint_url = "http://127.0.0.1:1/r";
    cfg.param_count = 1;
    cfg.param_names = names;
    cfg.param_values = values;
    ck_assert_int_eq(adapter_instance_new(&HOST, &cfg, "kit", "x", 1, &instance),
                     PIDE_ERR_INTERNAL);
    ck_assert_int_eq(adapter_instance_new(&HOST, &cfg, "kit", "x", sizeof(kit_instance),
                                          &instance), PIDE_OK);
    kit_instance *in = instance;
    ck_assert_ptr_eq(in->base.host, &HOST);
    ck_assert_str_eq(in->base.service_name, "Kit");
    ck_assert_ptr_ne(in->base.endpoint_url, cfg.endpoint_url);  /* its own copy */
    ck_assert_str_eq(in->base.endpoint_url, "http://127.0.0.1:1/r");
    ck_assert_int_eq(in->extra, 0);
    ck_assert_str_eq(adapter_param(&HOST, &cfg, "mode", "slow"), "fast");
    ck_assert_str_eq(adapter_param(&HOST, &cfg, "other", "slow"), "slow");
    ck_assert_ptr_null(adapter_param(&HOST, &cfg, "other", NULL));
    adapter_instance_free(in);
    adapter_instance_free(NULL);
}
END_TEST

START_TEST(provider_failures)
{
    ck_assert(adapter_is_provider_failure(PIDE_ERR_PROVIDER_TIMEOUT));
    ck_assert(adapter_is_provider_failure(PIDE_ERR_PROVIDER_UNAVAILABLE));
    ck_assert(adapter_is_provider_failure(PIDE_ERR_PROVIDER_BAD_RESPONSE));
    ck_assert(!adapter_is_provider_failure(PIDE_OK));
    ck_assert(!adapter_is_provider_failure(PIDE_ERR_BAD_REQUEST));
    ck_assert(!adapter_is_provider_failure(PIDE_ERR_CONFIG));
    ck_assert(!adapter_is_provider_failure(PIDE_ERR_NOMEM));
}
END_TEST

START_TEST(xml_answer)
{
    gw_arena arena;
    gw_arena_init(&arena, 0);
    pide_exchange *ex = (pide_exchange *)&arena;
    xmlDocPtr doc = NULL;
    static const char good[] = "<a><b>1</b></a>";
    static const char dtd[] = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM "
                              "\"file:///etc/passwd\">]><a>&x;</a>";
    static const char broken[] = "<a><b></a>";
    pide_http_response resp = {.status = 200, .body = good, .body_len = sizeof good - 1};
    ck_assert_int_eq(adapter_xml_answer(&HOST, ex, "kit: register", &resp, &doc), PIDE_OK);
    ck_assert_ptr_nonnull(doc);
    xmlFreeDoc(doc);

    const struct {
        const char *body;
        size_t len;
        const char *log;
    } bad[] = {
        {NULL, 0, "kit: register answered an empty or oversized body"},
        {good, 0, "kit: register answered an empty or oversized body"},
        {good, (size_t)INT32_MAX + 1, "kit: register answered an empty or oversized body"},
        {dtd, sizeof dtd - 1, "kit: register answer is not acceptable XML"},
        {broken, sizeof broken - 1, "kit: register answer is not acceptable XML"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        resp.body = bad[i].body;
        resp.body_len = bad[i].len;
        doc = (xmlDocPtr)&arena;   /* not NULL beforehand: a failure must reset it */
        ck_assert_int_eq(adapter_xml_answer(&HOST, ex, "kit: register", &resp, &doc),
                         PIDE_ERR_PROVIDER_BAD_RESPONSE);
        ck_assert_ptr_null(doc);
        ck_assert_str_eq(last_log, bad[i].log);
    }
    gw_arena_destroy(&arena);
}
END_TEST

/* The XPath parameters the xslt and soap_proxy adapters share: namespaces, init-time checks and
 * evaluation into exchange memory. */
START_TEST(xpath_parameters)
{
    static const char ns[] = "j=urn:a  k=urn:b";
    ck_assert(adapter_xpath_namespaces_ok(&HOST, "kit", "S", "ns", NULL));
    ck_assert(adapter_xpath_namespaces_ok(&HOST, "kit", "S", "ns", ""));
    ck_assert(adapter_xpath_namespaces_ok(&HOST, "kit", "S", "ns", ns));
    const char *bad_ns[] = {"j", "=urn:a", "j=", "a:b=urn:x", "j=urn:a j=urn:b", "1x=urn:a"};
    for (size_t i = 0; i < sizeof bad_ns / sizeof bad_ns[0]; i++) {
        last_log[0] = '\0';
        ck_assert_msg(!adapter_xpath_namespaces_ok(&HOST, "kit", "S", "ns", bad_ns[i]), "%s",
                      bad_ns[i]);
        ck_assert_ptr_nonnull(strstr(last_log, "kit adapter, service S: parameter ns"));
    }

    ck_assert(adapter_xpath_ok(&HOST, "kit", "S", "x", "/*/n", NULL));
    ck_assert(adapter_xpath_ok(&HOST, "kit", "S", "x", "/j:op/k:n", ns));
    ck_assert(adapter_xpath_ok(&HOST, "kit", "S", "x", "concat(/*/a, '-', count(//b))", NULL));
    const struct {
        const char *expr, *why;
    } bad[] = {
        {"/*/n[", "invalid"},
        {"/x:op/n", "undefined namespace prefix"},
        {"php:function('system')", "bound to undefined prefix php"},
        {"nosuch(1)", "function nosuch not found"},
        {"$v", "undefined variable"},
        {"'open", "unfinished literal"},
        {"", "invalid"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        last_log[0] = '\0';
        ck_assert_msg(!adapter_xpath_ok(&HOST, "kit", "S", "x", bad[i].expr, ns), "%s",
                      bad[i].expr);
        ck_assert_msg(strstr(last_log, "is not an XPath 1.0 expression") &&
                          strstr(last_log, bad[i].why),
                      "%s: %s", bad[i].expr, last_log);
    }

    gw_arena arena;
    gw_arena_init(&arena, 0);
    pide_exchange *ex = (pide_exchange *)&arena;
    static const char xml[] = "<j:op xmlns:j='urn:a' xmlns:k='urn:b'><k:n>45678912</k:n>"
                              "<n>plain</n><e/></j:op>";
    xmlDocPtr doc = xmlReadMemory(xml, sizeof xml - 1, NULL, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(adapter_xpath_string(&HOST, ex, doc, "/j:op/k:n", ns), "45678912");
    ck_assert_str_eq(adapter_xpath_string(&HOST, ex, doc, "/*/n", NULL), "plain");
    /* the document's own prefixes mean nothing: only the configured ones */
    ck_assert_ptr_null(adapter_xpath_string(&HOST, ex, doc, "/j:op/k:n", NULL));
    ck_assert_ptr_null(adapter_xpath_string(&HOST, ex, doc, "/*/e", NULL)); /* empty */
    ck_assert_ptr_null(adapter_xpath_string(&HOST, ex, doc, "/*/missing", NULL));
    ck_assert_ptr_null(adapter_xpath_string(&HOST, ex, doc, "/*/n[", NULL));
    ck_assert_str_eq(adapter_xpath_string(&HOST, ex, doc, "count(//*)", NULL), "4");
    xmlFreeDoc(doc);
    gw_arena_destroy(&arena);
}
END_TEST

static Suite *adapter_kit_suite(void)
{
    Suite *s = suite_create("adapter_kit");
    TCase *tc = tcase_create("kit");
    tcase_add_test(tc, identifier_digits);
    tcase_add_test(tc, code_table);
    tcase_add_test(tc, instance_boilerplate);
    tcase_add_test(tc, provider_failures);
    tcase_add_test(tc, xml_answer);
    tcase_add_test(tc, xpath_parameters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(adapter_kit_suite());
}
