/* check_standalone_exchange.c — gateway/standalone_exchange.c: an adapter (the loader's "echo"
 * fixture plugins, built into build/tests/fixtures/adapters) bound and run through the real host
 * table, validate and invoke stages, outside the server. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "adapter_loader.h"
#include "check_run.h"
#include "standalone_exchange.h"

static char fixture_dir[PATH_MAX];
static char tmp_dir[PATH_MAX];

static gw_adapter_module *load_fixture(const char *name)
{
    char path[PATH_MAX + 64], err[512];
    gw_adapter_module *m = NULL;
    snprintf(path, sizeof path, "%s/pide_adapter_%s.so", fixture_dir, name);
    ck_assert_msg(gw_adapter_load(path, &m, err, sizeof err) == GW_OK, "%s", err);
    return m;
}

/* The operation element of a little document; the caller frees the document. */
static xmlNodePtr operation_of(const char *xml, xmlDocPtr *doc)
{
    *doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(*doc);
    return xmlDocGetRootElement(*doc);
}

START_TEST(runs_an_exchange_through_the_adapter)
{
    gw_adapter_module *m = load_fixture("echo");
    gw_param params[] = {{"prefix", "eco: "}};
    gw_standalone_service svc = {.name = "Eco", .endpoint_url = "http://127.0.0.1:9/x",
                                 .timeout_ms = 1234, .params = params, .param_count = 1};
    gw_standalone *s = NULL;
    char err[512];
    ck_assert_int_eq(gw_standalone_open(gw_adapter_module_descriptor(m), &svc, &s, NULL, err,
                                        sizeof err), GW_OK);
    xmlDocPtr doc;
    gw_standalone_outcome o;
    ck_assert_int_eq(gw_standalone_run(s, 0, operation_of("<echo>hola</echo>", &doc), &o), GW_OK);
    ck_assert_int_eq(o.handle_called, 1);
    ck_assert_int_eq(o.handle_result, PIDE_OK);
    ck_assert_ptr_nonnull(o.response);
    ck_assert_str_eq((const char *)o.response->name, "echoResponse");
    xmlChar *text = xmlNodeGetContent(o.response);
    xmlChar *endpoint = xmlGetProp(o.response, BAD_CAST "endpoint");
    xmlChar *timeout = xmlGetProp(o.response, BAD_CAST "timeout");
    ck_assert_str_eq((const char *)text, "eco: hola");          /* the param reached init() */
    ck_assert_str_eq((const char *)endpoint, "http://127.0.0.1:9/x");
    ck_assert_str_eq((const char *)timeout, "1234");
    ck_assert_str_eq(o.exchange->result_code, "0000");           /* set_result_code() */
    ck_assert_int_eq(strlen(o.exchange->exchange_id), 36);
    xmlFree(text);
    xmlFree(endpoint);
    xmlFree(timeout);
    xmlFreeDoc(doc);

    /* A second exchange on the same worker starts clean. */
    ck_assert_int_eq(gw_standalone_run(s, 0, operation_of("<echo/>", &doc), &o),
                     GW_ERR_BAD_REQUEST);
    ck_assert_int_eq(o.handle_result, PIDE_ERR_BAD_REQUEST);
    ck_assert_ptr_null(o.response);
    ck_assert_ptr_null(o.exchange->result_code);
    xmlFreeDoc(doc);
    gw_standalone_close(s);
    gw_adapter_unload(m);
}
END_TEST

START_TEST(refuses_an_operation_the_adapter_does_not_serve)
{
    gw_adapter_module *m = load_fixture("echo");
    gw_standalone_service svc = {.name = "Eco"};
    gw_standalone *s = NULL;
    ck_assert_int_eq(gw_standalone_open(gw_adapter_module_descriptor(m), &svc, &s, NULL, NULL, 0),
                     GW_OK);
    xmlDocPtr doc;
    gw_standalone_outcome o;
    ck_assert_int_eq(gw_standalone_run(s, 0, operation_of("<saludar>x</saludar>", &doc), &o),
                     GW_ERR_UNKNOWN_OPERATION);
    ck_assert_int_eq(o.handle_called, 0);
    ck_assert_ptr_nonnull(strstr(o.exchange->fault_detail, "no operation 'saludar'"));
    xmlFreeDoc(doc);
    gw_standalone_close(s);
    gw_adapter_unload(m);
}
END_TEST

START_TEST(validates_requests_with_the_schema)
{
    char xsd[PATH_MAX + 32];
    snprintf(xsd, sizeof xsd, "%s/echo.xsd", tmp_dir);
    FILE *f = fopen(xsd, "w");
    ck_assert_ptr_nonnull(f);
    fputs("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>"
          "<xs:element name='echo'><xs:simpleType><xs:restriction base='xs:string'>"
          "<xs:maxLength value='5'/></xs:restriction></xs:simpleType></xs:element>"
          "</xs:schema>", f);
    fclose(f);
    gw_adapter_module *m = load_fixture("echo");
    gw_standalone_service svc = {.name = "Eco", .schema_path = xsd, .workers = 2};
    gw_standalone *s = NULL;
    char err[512];
    ck_assert_int_eq(gw_standalone_open(gw_adapter_module_descriptor(m), &svc, &s, NULL, err,
                                        sizeof err), GW_OK);
    xmlDocPtr doc;
    gw_standalone_outcome o;
    ck_assert_int_eq(gw_standalone_run(s, 1, operation_of("<echo>demasiado</echo>", &doc), &o),
                     GW_ERR_SCHEMA_INVALID);
    ck_assert_int_eq(o.handle_called, 0);
    xmlFreeDoc(doc);
    ck_assert_int_eq(gw_standalone_run(s, 1, operation_of("<echo>ok</echo>", &doc), &o), GW_OK);
    xmlFreeDoc(doc);
    ck_assert_int_eq(gw_standalone_run(s, 2, operation_of("<echo>ok</echo>", &doc), &o),
                     GW_ERR_INVALID_ARG);                    /* only workers 0 and 1 */
    xmlFreeDoc(doc);
    gw_standalone_close(s);

    svc.schema_path = "/nonexistent/echo.xsd";
    ck_assert_int_eq(gw_standalone_open(gw_adapter_module_descriptor(m), &svc, &s, NULL, err,
                                        sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/echo.xsd"));
    gw_adapter_unload(m);
    unlink(xsd);
}
END_TEST

START_TEST(reports_a_refused_init_and_calls_fini)
{
    gw_adapter_module *m = load_fixture("needs_prefix");
    gw_standalone_service svc = {.name = "Eco"};
    gw_standalone *s = NULL;
    pide_result init = PIDE_OK;
    char err[512];
    ck_assert_int_eq(gw_standalone_open(gw_adapter_module_descriptor(m), &svc, &s, &init, err,
                                        sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(init, PIDE_ERR_CONFIG);
    ck_assert_str_eq(err, "service 'Eco': init() failed: PIDE_ERR_CONFIG");

    char log[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/fini.log", tmp_dir);
    unlink(log);
    gw_param params[] = {{"prefix", "p"}, {"fini_log", log}};
    svc.params = params;
    svc.param_count = 2;
    ck_assert_int_eq(gw_standalone_open(gw_adapter_module_descriptor(m), &svc, &s, &init, err,
                                        sizeof err), GW_OK);
    gw_standalone_close(s);
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    char line[64] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_str_eq(line, "fini Eco\n");
    unlink(log);
    gw_adapter_unload(m);
}
END_TEST

int main(void)
{
    const char *build = getenv("PIDE_BUILD_DIR");
    if (!build) {
        fprintf(stderr, "check_standalone_exchange: run through ctest (PIDE_BUILD_DIR)\n");
        return 1;
    }
    snprintf(fixture_dir, sizeof fixture_dir, "%s/tests/fixtures/adapters", build);
    snprintf(tmp_dir, sizeof tmp_dir, "%s/test-run/standalone-XXXXXX", build);
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/test-run", build);
    mkdir(parent, 0700);
    if (!mkdtemp(tmp_dir)) {
        perror(tmp_dir);
        return 1;
    }
    xmlInitParser();
    Suite *suite = suite_create("standalone_exchange");
    TCase *tc = tcase_create("standalone_exchange");
    tcase_add_test(tc, runs_an_exchange_through_the_adapter);
    tcase_add_test(tc, refuses_an_operation_the_adapter_does_not_serve);
    tcase_add_test(tc, validates_requests_with_the_schema);
    tcase_add_test(tc, reports_a_refused_init_and_calls_fini);
    suite_add_tcase(suite, tc);
    int exit_status = check_run_suite(suite);
    rmdir(tmp_dir);
    return exit_status;
}
