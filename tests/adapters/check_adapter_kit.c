/*
 * check_adapter_kit.c — adapters/common/adapter_kit.c: the identifier digit checks, the code
 * tables, the per-service instance, parameters with a fallback, the XML-answer step and the
 * XPath parameters (namespaces, init-time checks, evaluation), the generic adapters' operations
 * list, file parameters, provider XSDs and the delivered answer,
 * through a host table of real functions (exchange memory from gateway/arena).
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static char last_code[64];

static void kit_set_result_code(pide_exchange *ex, const char *code)
{
    (void)ex;
    snprintf(last_code, sizeof last_code, "%s", code);
}

static const pide_host_api HOST = {
    .abi_version = PIDE_ADAPTER_ABI_VERSION,
    .struct_size = sizeof(pide_host_api),
    .strdup = kit_strdup,
    .log = kit_log,
    .config_param = kit_config_param,
    .set_result_code = kit_set_result_code,
};

static const char *kit_config_dir(const struct pide_host_api *host)
{
    (void)host;
    return "/etc/pide-gateway";
}

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

START_TEST(generic_operations)
{
    const char *names[] = {"operations"}, *values[] = {"  consultar\tobtener\n getX "};
    pide_service_config cfg = {
        .service_name = "S", .param_count = 1, .param_names = names, .param_values = values};
    char *list = adapter_operations(&HOST, &cfg, "kit", "S");
    ck_assert_ptr_nonnull(list);
    pide_call call = {.service_name = "S"};
    const char *yes[] = {"consultar", "obtener", "getX"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        call.operation = yes[i];
        ck_assert_msg(adapter_operation_listed(&HOST, NULL, list, "kit", &call), "%s", yes[i]);
    }
    const char *no[] = {"consulta", "onsultar", "get", "", "consultar obtener", "X"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        call.operation = no[i];
        last_log[0] = '\0';
        ck_assert_msg(!adapter_operation_listed(&HOST, NULL, list, "kit", &call), "'%s'", no[i]);
        ck_assert_ptr_nonnull(strstr(last_log, "is not configured for service S"));
    }
    free(list);
    bool ok = true;
    char *copy = adapter_param_dup(&HOST, &cfg, "operations", &ok);
    ck_assert(ok);
    ck_assert_str_eq(copy, values[0]);
    ck_assert_ptr_ne(copy, values[0]);
    free(copy);
    ck_assert_ptr_null(adapter_param_dup(&HOST, &cfg, "absent", &ok));
    values[0] = "";
    ck_assert_ptr_null(adapter_param_dup(&HOST, &cfg, "operations", &ok)); /* empty: unset */
    ck_assert(ok);
    ck_assert_ptr_null(adapter_operations(&HOST, &cfg, "kit", "S"));
    ck_assert_ptr_nonnull(strstr(last_log, "kit adapter, service S: parameter operations"));
    cfg.param_count = 0;
    ck_assert_ptr_null(adapter_operations(&HOST, &cfg, "kit", "S"));
}
END_TEST

START_TEST(file_parameters)
{
    char buf[64];
    /* no config_dir in the host: as given */
    ck_assert_str_eq(adapter_file_path(&HOST, "a/b.xsd", buf, sizeof buf), "a/b.xsd");
    pide_host_api with_dir = HOST;
    with_dir.config_dir = kit_config_dir;
    ck_assert_str_eq(adapter_file_path(&with_dir, "a/b.xsd", buf, sizeof buf),
                     "/etc/pide-gateway/a/b.xsd");
    ck_assert_str_eq(adapter_file_path(&with_dir, "/abs/b.xsd", buf, sizeof buf), "/abs/b.xsd");
    ck_assert_ptr_null(adapter_file_path(
        &with_dir, "a-name-long-enough-never-to-fit-in-sixty-four-bytes-with-its-folder.xsd", buf,
        sizeof buf));
}
END_TEST

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(provider_schemas)
{
    char dir[] = "/tmp/check_adapter_kit.XXXXXX", good[96], net[96], junk[96], missing[96];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(good, sizeof good, "%s/good.xsd", dir);
    snprintf(net, sizeof net, "%s/net.xsd", dir);
    snprintf(junk, sizeof junk, "%s/junk.xsd", dir);
    snprintf(missing, sizeof missing, "%s/missing.xsd", dir);
    write_text(good, "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>"
                     "<xs:element name='r'><xs:complexType><xs:sequence>"
                     "<xs:element name='n' type='xs:int'/></xs:sequence></xs:complexType>"
                     "</xs:element></xs:schema>");
    /* an import that cannot load (nothing listens on port 9): libxml2 only warns; refused */
    write_text(net, "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>"
                    "<xs:import namespace='urn:x' schemaLocation='http://127.0.0.1:9/x.xsd'/>"
                    "</xs:schema>");
    write_text(junk, "not a schema");

    xmlSchemaPtr schema = adapter_load_schema(&HOST, "kit", "S", "responseSchema", good);
    ck_assert_ptr_nonnull(schema);
    const struct {
        const char *path, *why;
    } bad[] = {{net, "not a usable XSD"}, {junk, "not a usable XSD"}, {missing, "cannot read"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        last_log[0] = '\0';
        ck_assert_ptr_null(adapter_load_schema(&HOST, "kit", "S", "responseSchema", bad[i].path));
        ck_assert_msg(strstr(last_log, "kit adapter, service S: responseSchema") &&
                          strstr(last_log, bad[i].why),
                      "%s: %s", bad[i].path, last_log);
    }

    static const char ok[] = "<r><n>7</n></r>", wrong[] = "<r><n>seven</n></r>";
    xmlDocPtr d1 = xmlReadMemory(ok, sizeof ok - 1, NULL, NULL, XML_PARSE_NONET);
    xmlDocPtr d2 = xmlReadMemory(wrong, sizeof wrong - 1, NULL, NULL, XML_PARSE_NONET);
    ck_assert_int_eq(adapter_validate(&HOST, NULL, schema, d1, "kit", "the answer"), PIDE_OK);
    last_log[0] = '\0';
    ck_assert_int_eq(adapter_validate(&HOST, NULL, schema, d2, "kit", "the answer"),
                     PIDE_ERR_PROVIDER_BAD_RESPONSE);
    ck_assert_ptr_nonnull(strstr(last_log, "kit: the answer is not valid by responseSchema"));

    /* the answer delivered: a copy in the response body, the result code set */
    xmlDocPtr reply = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr body = xmlNewDocNode(reply, NULL, BAD_CAST "Body", NULL);
    xmlDocSetRootElement(reply, body);
    pide_call call = {.response_body = body};
    last_code[0] = '\0';
    ck_assert_int_eq(adapter_deliver(&HOST, NULL, &call, xmlDocGetRootElement(d1), "0000"),
                     PIDE_OK);
    ck_assert_str_eq(last_code, "0000");
    ck_assert_ptr_nonnull(body->children);
    ck_assert_str_eq((const char *)body->children->name, "r");
    ck_assert_ptr_eq(body->children->doc, reply);
    xmlFreeDoc(reply);
    xmlFreeDoc(d1);
    xmlFreeDoc(d2);
    xmlSchemaFree(schema);
    remove(good);
    remove(net);
    remove(junk);
    rmdir(dir);
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
    tcase_add_test(tc, generic_operations);
    tcase_add_test(tc, file_parameters);
    tcase_add_test(tc, provider_schemas);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(adapter_kit_suite());
}
