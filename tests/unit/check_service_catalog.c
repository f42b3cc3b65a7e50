/*
 * check_service_catalog.c — gateway/service_catalog.c and the built-in metaservices
 * (gateway/metaservices.c) on a small in-memory configuration whose service is bound, through
 * the real adapter registry, to the loader's "echo" fixture plugin (tests/fixtures/adapters), and
 * whose WSDL and XSD files are the project's own.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "adapter_loader.h"
#include "check_run.h"
#include "exchange.h"
#include "metaservices.h"
#include "runtime.h"
#include "service_catalog.h"
#include "xml_parse.h"

static char source_dir[4096];
static char fixture_dir[4096];
static char err[2048];

static char *source_path(const char *rel)
{
    char buf[8192];
    snprintf(buf, sizeof buf, "%s/%s", source_dir, rel);
    return strdup(buf);
}

static void assert_contains(const char *haystack, const char *needle)
{
    ck_assert_msg(strstr(haystack, needle) != NULL, "expected \"%s\" in \"%s\"", needle,
                  haystack);
}

/* ---- an in-memory configuration: EchoA (echo plugin), members A and B, A granted echo ---- */

static char *echo_ops[] = {"echo", NULL};

typedef struct test_config {
    gw_config cfg;
    gw_service_config services[3];
    gw_member members[2];
    gw_grant grants[1];
    char *paths[8];
    size_t path_count;
} test_config;

static char *keep(test_config *t, char *path)
{
    ck_assert_uint_lt(t->path_count, 8);
    return t->paths[t->path_count++] = path;
}

static gw_service_config *add_service(test_config *t, const char *name)
{
    gw_service_config *svc = &t->services[t->cfg.service_count++];
    svc->name = (char *)name;
    svc->adapter = "echo";
    svc->wsdl_path = keep(t, source_path("wsdl/ReniecConsultaDni.wsdl"));
    svc->schema_path = keep(t, source_path("schemas/reniec-consulta.xsd"));
    svc->endpoint_url = "http://127.0.0.1:9/none";
    svc->timeout_ms = 1000;
    svc->line = 7 * (int)t->cfg.service_count;
    return svc;
}

static void config_init(test_config *t, int with_meta)
{
    memset(t, 0, sizeof *t);
    t->cfg.path = "conf/test-catalog.xml";
    t->cfg.adapter_dir = fixture_dir;
    t->cfg.services = t->services;
    t->members[0].id = "20000000001";
    t->members[1].id = "20000000002";
    t->cfg.members = t->members;
    t->cfg.member_count = 2;
    gw_service_config *echo = add_service(t, "EchoA");
    t->grants[0].member_id = "20000000001";
    t->grants[0].operations = echo_ops;
    echo->grants = t->grants;
    echo->grant_count = 1;
    if (with_meta) {
        t->cfg.meta_wsdl_path = keep(t, source_path("wsdl/PideMetaservices.wsdl"));
        t->cfg.meta_schema_path = keep(t, source_path("schemas/pide-meta.xsd"));
    }
}

static void config_free(test_config *t)
{
    for (size_t i = 0; i < t->path_count; i++)
        free(t->paths[i]);
}

static pide_host_api host;

static gw_adapter_registry *registry_open(const test_config *t)
{
    gw_adapter_registry *reg = NULL;
    ck_assert_msg(gw_adapter_registry_open(&t->cfg, &host, &reg, err, sizeof err) == GW_OK, "%s",
                  err);
    return reg;
}

/* Opens the catalog of t over reg expecting a configuration refusal that leaves the catalog
 * empty; then closes reg and frees t. The reason stays in err. */
static void assert_catalog_refused(test_config *t, gw_adapter_registry *reg)
{
    gw_service_catalog cat;
    ck_assert_int_eq(gw_service_catalog_open(&t->cfg, reg, &cat, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_uint_eq(cat.count, 0);
    gw_adapter_registry_close(reg);
    config_free(t);
}

static char *file_contents(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* ---- the catalog ---------------------------------------------------------------------------- */

START_TEST(catalog_loads_services_and_meta)
{
    test_config t;
    config_init(&t, 1);
    gw_adapter_registry *reg = registry_open(&t);
    gw_service_catalog cat;
    ck_assert_msg(gw_service_catalog_open(&t.cfg, reg, &cat, err, sizeof err) == GW_OK, "%s",
                  err);
    ck_assert_uint_eq(cat.count, 2);

    const gw_service *echo = gw_service_catalog_find(&cat, "EchoA");
    ck_assert_ptr_nonnull(echo);
    ck_assert_uint_eq(echo->index, 0);
    ck_assert_ptr_eq(echo->config, &t.services[0]);
    ck_assert_str_eq(echo->wsdl, file_contents(t.services[0].wsdl_path));
    ck_assert_uint_eq(echo->wsdl_len, strlen(echo->wsdl));
    ck_assert_ptr_nonnull(echo->schema);
    ck_assert_str_eq(echo->target_namespace, "http://ws.pide-gateway.org/reniec/");
    ck_assert_ptr_nonnull(echo->binding);
    ck_assert_str_eq(echo->binding->adapter->name, "echo");

    const gw_service *meta = gw_service_catalog_find(&cat, GW_META_SERVICE_NAME);
    ck_assert_ptr_nonnull(meta);
    ck_assert_uint_eq(meta->index, 1);
    ck_assert_str_eq(meta->target_namespace, GW_META_NS);
    ck_assert_ptr_eq(meta->binding->adapter, gw_metaservices_adapter());
    ck_assert_ptr_eq(meta->binding->instance, &cat);
    ck_assert_str_eq(meta->wsdl, file_contents(t.cfg.meta_wsdl_path));
    /* every member is granted every metaservice */
    ck_assert_uint_eq(meta->config->grant_count, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_str_eq(meta->config->grants[i].member_id, t.members[i].id);
        ck_assert_str_eq(meta->config->grants[i].operations[0], "*");
        ck_assert_ptr_null(meta->config->grants[i].operations[1]);
    }

    ck_assert_ptr_null(gw_service_catalog_find(&cat, "NoSuch"));

    /* /schemas/<file>: a service's XSD, and the header schema every WSDL imports */
    size_t len = 0;
    const char *xsd = gw_service_catalog_schema_text(&cat, "reniec-consulta.xsd", &len);
    ck_assert_ptr_eq(xsd, echo->schema_text);
    ck_assert_uint_eq(len, echo->schema_len);
    xsd = gw_service_catalog_schema_text(&cat, GW_HEADER_SCHEMA_FILE, &len);
    ck_assert_ptr_nonnull(xsd);
    char *hdr_path = source_path("schemas/" GW_HEADER_SCHEMA_FILE);
    char *want = file_contents(hdr_path);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(xsd, want, len) == 0);
    free(hdr_path);
    ck_assert_ptr_null(gw_service_catalog_schema_text(&cat, "gateway-config.xsd", &len));
    ck_assert_ptr_null(gw_service_catalog_schema_text(&cat, "../etc/passwd", &len));
    gw_service_catalog_close(&cat);
    ck_assert_uint_eq(cat.count, 0);
    ck_assert_ptr_null(cat.header_schema);
    gw_adapter_registry_close(reg);
    config_free(&t);
}
END_TEST

START_TEST(catalog_without_meta)
{
    test_config t;
    config_init(&t, 0);
    gw_adapter_registry *reg = registry_open(&t);
    gw_service_catalog cat;
    ck_assert_msg(gw_service_catalog_open(&t.cfg, reg, &cat, err, sizeof err) == GW_OK, "%s",
                  err);
    ck_assert_uint_eq(cat.count, 1);
    ck_assert_ptr_null(gw_service_catalog_find(&cat, GW_META_SERVICE_NAME));
    gw_service_catalog_close(&cat);
    gw_adapter_registry_close(reg);
    config_free(&t);
}
END_TEST

START_TEST(catalog_refuses_missing_wsdl)
{
    test_config t;
    config_init(&t, 1);
    gw_adapter_registry *reg = registry_open(&t);
    t.services[0].wsdl_path = keep(&t, source_path("wsdl/NoSuch.wsdl"));
    assert_catalog_refused(&t, reg);
    assert_contains(err, "wsdl/NoSuch.wsdl");
    assert_contains(err, "No such file");
}
END_TEST

START_TEST(catalog_refuses_invalid_schema)
{
    test_config t;
    config_init(&t, 0);
    gw_adapter_registry *reg = registry_open(&t);
    /* a WSDL is XML but no XML Schema */
    t.services[0].schema_path = keep(&t, source_path("wsdl/ReniecConsultaDni.wsdl"));
    assert_catalog_refused(&t, reg);
    assert_contains(err, "ReniecConsultaDni.wsdl");
}
END_TEST

START_TEST(catalog_refuses_unbound_service)
{
    test_config t;
    config_init(&t, 0);
    gw_adapter_registry *reg = registry_open(&t);
    add_service(&t, "EchoB"); /* configured after the registry was built */
    assert_catalog_refused(&t, reg);
    assert_contains(err, "service 'EchoB': no adapter bound");
}
END_TEST

START_TEST(catalog_refuses_service_named_meta)
{
    test_config t;
    config_init(&t, 1);
    add_service(&t, GW_META_SERVICE_NAME);
    gw_adapter_registry *reg = registry_open(&t);
    assert_catalog_refused(&t, reg);
    assert_contains(err, "service name 'meta' is reserved for the metaservices");
}
END_TEST

/* ---- the metaservices, answering from the catalog ------------------------------------------ */

static test_config meta_cfg;
static gw_adapter_registry *meta_reg;
static gw_runtime rt;
static gw_exchange ex;
static xmlDocPtr request_doc, response_doc;

static void meta_setup(void)
{
    config_init(&meta_cfg, 1);
    meta_reg = registry_open(&meta_cfg);
    memset(&rt, 0, sizeof rt);
    rt.config = &meta_cfg.cfg;
    ck_assert_msg(gw_service_catalog_open(&meta_cfg.cfg, meta_reg, &rt.catalog, err,
                                          sizeof err) == GW_OK,
                  "%s", err);
    memset(&ex, 0, sizeof ex);
    gw_arena_init(&ex.arena, 4096);
    ex.rt = &rt;
    request_doc = response_doc = NULL;
}

static void meta_teardown(void)
{
    xmlFreeDoc(request_doc);
    xmlFreeDoc(response_doc);
    gw_arena_destroy(&ex.arena);
    gw_service_catalog_close(&rt.catalog);
    gw_adapter_registry_close(meta_reg);
    config_free(&meta_cfg);
}

/* Calls metaservice `operation` with `service_code` (NULL: none) as `member`; returns the
 * response element. */
static pide_result meta_call(const char *operation, const char *service_code, const char *member,
                             xmlNodePtr *response)
{
    char xml[512];
    snprintf(xml, sizeof xml, "<m:%s xmlns:m=\"" GW_META_NS "\">%s%s%s</m:%s>", operation,
             service_code ? "<m:serviceCode>" : "", service_code ? service_code : "",
             service_code ? "</m:serviceCode>" : "", operation);
    request_doc = xmlReadMemory(xml, (int)strlen(xml), "req.xml", NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(request_doc);
    response_doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr body = xmlNewDocNode(response_doc, NULL, BAD_CAST "Body", NULL);
    xmlDocSetRootElement(response_doc, body);
    ex.client_member = member;
    pide_call call = {.service_name = GW_META_SERVICE_NAME,
                      .operation = operation,
                      .request = xmlDocGetRootElement(request_doc),
                      .response_body = body};
    const pide_adapter *meta = gw_metaservices_adapter();
    pide_result r = meta->handle(NULL, &ex, &call);
    *response = gw_xml_first_element(body);
    return r;
}

/* The texts of the children named `name` of `parent`, space-separated. */
static const char *texts(xmlNodePtr parent, const char *name)
{
    static char out[1024];
    out[0] = '\0';
    for (xmlNodePtr c = gw_xml_first_element(parent); c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !gw_xml_is(c, GW_META_NS, name))
            continue;
        xmlChar *t = xmlNodeGetContent(c);
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", out[0] ? " " : "",
                 (const char *)t);
        xmlFree(t);
    }
    return out;
}

START_TEST(meta_lists_services)
{
    xmlNodePtr resp;
    ck_assert_int_eq(meta_call("listServices", NULL, "20000000001", &resp), PIDE_OK);
    ck_assert_ptr_nonnull(resp);
    ck_assert_str_eq((const char *)resp->name, "listServicesResponse");
    ck_assert_str_eq((const char *)resp->ns->href, GW_META_NS);
    xmlNodePtr first = gw_xml_child(resp, "service");
    ck_assert_ptr_nonnull(first);
    ck_assert_str_eq(texts(first, "serviceCode"), "EchoA");
    ck_assert_str_eq(texts(first, "adapter"), "echo");
    ck_assert_str_eq(texts(first, "wsdlPath"), "/services/EchoA?wsdl");
    ck_assert_str_eq(texts(first, "method"), "echo");
    xmlNodePtr second = first->next;
    ck_assert_ptr_nonnull(second);
    ck_assert_str_eq(texts(second, "serviceCode"), "meta");
    ck_assert_str_eq(texts(second, "method"), "listServices listMethods allowedMethods getWsdl");
    ck_assert_ptr_null(second->next);
}
END_TEST

START_TEST(meta_lists_methods_of_a_service)
{
    xmlNodePtr resp;
    ck_assert_int_eq(meta_call("listMethods", "EchoA", "20000000002", &resp), PIDE_OK);
    ck_assert_str_eq((const char *)resp->name, "listMethodsResponse");
    ck_assert_str_eq(texts(resp, "serviceCode"), "EchoA");
    ck_assert_str_eq(texts(resp, "method"), "echo");
}
END_TEST

START_TEST(meta_allowed_methods_follow_grants)
{
    xmlNodePtr resp;
    ck_assert_int_eq(meta_call("allowedMethods", "EchoA", "20000000001", &resp), PIDE_OK);
    ck_assert_str_eq(texts(resp, "method"), "echo");
    xmlFreeDoc(request_doc);
    xmlFreeDoc(response_doc);
    ck_assert_int_eq(meta_call("allowedMethods", "EchoA", "20000000002", &resp), PIDE_OK);
    ck_assert_str_eq(texts(resp, "method"), "");
    ck_assert_str_eq(texts(resp, "serviceCode"), "EchoA");
    xmlFreeDoc(request_doc);
    xmlFreeDoc(response_doc);
    /* the meta service itself: granted to every member */
    ck_assert_int_eq(meta_call("allowedMethods", "meta", "20000000002", &resp), PIDE_OK);
    ck_assert_str_eq(texts(resp, "method"), "listServices listMethods allowedMethods getWsdl");
}
END_TEST

START_TEST(meta_gives_wsdl)
{
    xmlNodePtr resp;
    ck_assert_int_eq(meta_call("getWsdl", "EchoA", "20000000001", &resp), PIDE_OK);
    xmlNodePtr wsdl = gw_xml_child(resp, "wsdl");
    ck_assert_ptr_nonnull(wsdl);
    xmlChar *text = xmlNodeGetContent(wsdl);
    ck_assert_str_eq((const char *)text, gw_service_catalog_find(&rt.catalog, "EchoA")->wsdl);
    xmlFree(text);
}
END_TEST

START_TEST(meta_unknown_service_is_bad_request)
{
    xmlNodePtr resp;
    ck_assert_int_eq(meta_call("listMethods", "NoSuch", "20000000001", &resp),
                     PIDE_ERR_BAD_REQUEST);
    ck_assert_ptr_nonnull(ex.fault_detail);
    assert_contains(ex.fault_detail, "no service 'NoSuch'");
}
END_TEST

static Suite *service_catalog_suite(void)
{
    Suite *s = suite_create("service_catalog");
    TCase *cat = tcase_create("catalog");
    tcase_add_test(cat, catalog_loads_services_and_meta);
    tcase_add_test(cat, catalog_without_meta);
    tcase_add_test(cat, catalog_refuses_missing_wsdl);
    tcase_add_test(cat, catalog_refuses_invalid_schema);
    tcase_add_test(cat, catalog_refuses_unbound_service);
    tcase_add_test(cat, catalog_refuses_service_named_meta);
    suite_add_tcase(s, cat);
    TCase *meta = tcase_create("metaservices");
    tcase_add_checked_fixture(meta, meta_setup, meta_teardown);
    tcase_add_test(meta, meta_lists_services);
    tcase_add_test(meta, meta_lists_methods_of_a_service);
    tcase_add_test(meta, meta_allowed_methods_follow_grants);
    tcase_add_test(meta, meta_gives_wsdl);
    tcase_add_test(meta, meta_unknown_service_is_bad_request);
    suite_add_tcase(s, meta);
    return s;
}

int main(void)
{
    const char *src = getenv("PIDE_SOURCE_DIR");
    const char *build = getenv("PIDE_BUILD_DIR");
    if (!src || !src[0] || !build || !build[0]) {
        fprintf(stderr, "PIDE_SOURCE_DIR and PIDE_BUILD_DIR are not set: run through ctest\n");
        return EXIT_FAILURE;
    }
    snprintf(source_dir, sizeof source_dir, "%s", src);
    snprintf(fixture_dir, sizeof fixture_dir, "%s/tests/fixtures/adapters", build);
    gw_host_api_init(&host);
    return check_run_suite(service_catalog_suite());
}
