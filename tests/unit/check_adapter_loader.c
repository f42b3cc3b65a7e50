/*
 * check_adapter_loader.c — gateway/adapter_loader.c against real plugins
 * (tests/fixtures/adapters): each rejection with its status and message, and the working
 * "echo" adapter bound to services and called through a real host table.
 */
#include <check.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "adapter_loader.h"
#include "arena.h"
#include "check_run.h"

/* ---- where the fixtures are ---------------------------------------------------------------- */

#ifndef PIDE_FIXTURE_ADAPTER_DIR
#error "PIDE_FIXTURE_ADAPTER_DIR comes from tests/fixtures/CMakeLists.txt"
#endif

/* ctest sets PIDE_BUILD_DIR; run by hand, the binary falls back to its own build's fixtures. */
static char fixture_dir[4096];

static void find_fixture_dir(void)
{
    const char *build = getenv("PIDE_BUILD_DIR");
    if (build && build[0])
        snprintf(fixture_dir, sizeof(fixture_dir), "%s/tests/fixtures/adapters", build);
    else
        snprintf(fixture_dir, sizeof(fixture_dir), "%s", PIDE_FIXTURE_ADAPTER_DIR);
}

/* Path of pide_adapter_<name>.so; static storage, valid until the next call. */
static const char *fixture_path(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof(path), "%s/pide_adapter_%s.so", fixture_dir, name);
    return path;
}

/* ---- a real host table --------------------------------------------------------------------- */

/* What the test host keeps per exchange: pide_exchange is opaque to adapters, so the host may
 * hand them any pointer of its own. */
typedef struct test_exchange {
    gw_arena arena;
    size_t alloc_calls;
    char result_code[32];
} test_exchange;

static void *test_alloc(pide_exchange *ex, size_t size)
{
    test_exchange *t = (test_exchange *)ex;
    t->alloc_calls++;
    return gw_arena_alloc(&t->arena, size);
}

static char *test_strdup(pide_exchange *ex, const char *s)
{
    return gw_arena_strdup(&((test_exchange *)ex)->arena, s);
}

static char last_log[512];

static void test_log(pide_exchange *ex, pide_log_level level, const char *fmt, ...)
{
    (void)ex;
    (void)level;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_log, sizeof(last_log), fmt, ap);
    va_end(ap);
}

static pide_result test_http_call(pide_exchange *ex, const pide_http_request *req,
                                  pide_http_response *resp)
{
    /* The echo adapter never calls a provider; answering "unavailable" keeps the table whole. */
    (void)ex;
    (void)req;
    (void)resp;
    return PIDE_ERR_PROVIDER_UNAVAILABLE;
}

static void test_set_subject(pide_exchange *ex, const char *id_type, const char *id)
{
    (void)ex;
    (void)id_type;
    (void)id;
}

static void test_set_purpose(pide_exchange *ex, const char *purpose, const char *procedure)
{
    (void)ex;
    (void)purpose;
    (void)procedure;
}

static void test_set_result_code(pide_exchange *ex, const char *code)
{
    test_exchange *t = (test_exchange *)ex;
    snprintf(t->result_code, sizeof(t->result_code), "%s", code);
}

static pide_result test_sign_document(pide_exchange *ex, xmlDocPtr doc, xmlNodePtr parent)
{
    (void)ex;
    (void)doc;
    (void)parent;
    return PIDE_ERR_INTERNAL;
}

static const pide_host_api test_host = {
    .abi_version = PIDE_ADAPTER_ABI_VERSION,
    .struct_size = sizeof(pide_host_api),
    .alloc = test_alloc,
    .strdup = test_strdup,
    .log = test_log,
    .config_param = gw_pide_config_param,
    .http_call = test_http_call,
    .set_subject = test_set_subject,
    .set_purpose = test_set_purpose,
    .set_result_code = test_set_result_code,
    .sign_document = test_sign_document,
};

/* ---- an in-memory configuration ------------------------------------------------------------ */

#define MAX_SERVICES 4
#define MAX_PARAMS 6

typedef struct test_config {
    gw_config cfg;
    gw_service_config services[MAX_SERVICES];
    gw_param params[MAX_SERVICES][MAX_PARAMS];
} test_config;

static void config_init(test_config *t)
{
    memset(t, 0, sizeof(*t));
    t->cfg.path = "conf/test-gateway.xml";
    t->cfg.adapter_dir = fixture_dir;
    t->cfg.services = t->services;
}

static gw_service_config *config_add_service(test_config *t, const char *name,
                                             const char *adapter, const char *endpoint)
{
    ck_assert_uint_lt(t->cfg.service_count, MAX_SERVICES);
    size_t i = t->cfg.service_count++;
    gw_service_config *svc = &t->services[i];
    svc->name = (char *)name;
    svc->adapter = (char *)adapter;
    svc->endpoint_url = (char *)endpoint;
    svc->timeout_ms = 1500 + (unsigned)i;
    svc->params = t->params[i];
    svc->line = 10 * (int)(i + 1);
    return svc;
}

static void config_add_param(gw_service_config *svc, const char *name, const char *value)
{
    ck_assert_uint_lt(svc->param_count, MAX_PARAMS);
    svc->params[svc->param_count].name = (char *)name;
    svc->params[svc->param_count].value = (char *)value;
    svc->param_count++;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static char err[2048];

static void assert_contains(const char *haystack, const char *needle)
{
    ck_assert_msg(strstr(haystack, needle) != NULL, "expected \"%s\" in \"%s\"", needle,
                  haystack);
}

/* Loads fixture `name` expecting rejection `reason`. */
static void assert_load_rejected(const char *name, gw_status expected, const char *reason)
{
    /* Not NULL beforehand, so the test sees that a failed load resets *out. */
    static char not_a_module;
    gw_adapter_module *module = (gw_adapter_module *)&not_a_module;
    const char *path = fixture_path(name);
    gw_status st = gw_adapter_load(path, &module, err, sizeof(err));
    ck_assert_msg(st == expected, "%s: got %s, expected %s (%s)", name, gw_status_name(st),
                  gw_status_name(expected), err);
    ck_assert_ptr_null(module);
    assert_contains(err, path);
    assert_contains(err, reason);
}

/* The registry of t's services, which must open. */
static gw_adapter_registry *open_registry(const test_config *t)
{
    gw_adapter_registry *reg = NULL;
    ck_assert_msg(gw_adapter_registry_open(&t->cfg, &test_host, &reg, err, sizeof(err)) == GW_OK,
                  "%s", err);
    return reg;
}

/* Opens the registry of t's services expecting refusal `expected`; the reason is left in err. */
static void assert_registry_refused(const test_config *t, gw_status expected)
{
    gw_adapter_registry *reg = NULL;
    ck_assert_int_eq(gw_adapter_registry_open(&t->cfg, &test_host, &reg, err, sizeof(err)),
                     expected);
    ck_assert_ptr_null(reg);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    static char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

/* A fresh temporary file name for the echo adapter's fini_log. */
static void temp_path(char *path, size_t len)
{
    snprintf(path, len, "/tmp/check_adapter_loader_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

/* Runs handle() of `binding` on <echo>text</echo>; returns its result, the response element
 * (or NULL) in *response_out. */
typedef struct echo_call {
    xmlDocPtr doc;
    xmlNodePtr body;
    test_exchange ex;
} echo_call;

static pide_result call_echo(echo_call *c, const gw_service_binding *binding,
                             const char *operation, const char *text)
{
    memset(c, 0, sizeof(*c));
    gw_arena_init(&c->ex.arena, 1024);
    c->doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr envelope = xmlNewNode(NULL, BAD_CAST "Envelope");
    xmlDocSetRootElement(c->doc, envelope);
    xmlNodePtr request_body = xmlNewChild(envelope, NULL, BAD_CAST "RequestBody", NULL);
    xmlNodePtr request = xmlNewTextChild(request_body, NULL, BAD_CAST operation, BAD_CAST text);
    c->body = xmlNewChild(envelope, NULL, BAD_CAST "Body", NULL);
    pide_call call = {
        .service_name = binding->service_config->service_name,
        .operation = operation,
        .request = request,
        .response_body = c->body,
    };
    return binding->adapter->handle(binding->instance, (pide_exchange *)&c->ex, &call);
}

static void echo_call_free(echo_call *c)
{
    xmlFreeDoc(c->doc);
    gw_arena_destroy(&c->ex.arena);
}

static char *attr(xmlNodePtr node, const char *name)
{
    xmlChar *v = xmlGetProp(node, BAD_CAST name);
    char *copy = strdup(v ? (const char *)v : "");
    xmlFree(v);
    return copy;
}

/* ---- gw_adapter_load ----------------------------------------------------------------------- */

START_TEST(good_plugin_loads)
{
    gw_adapter_module *module = NULL;
    const char *path = fixture_path("echo");
    ck_assert_int_eq(gw_adapter_load(path, &module, err, sizeof(err)), GW_OK);
    const pide_adapter *d = gw_adapter_module_descriptor(module);
    ck_assert_str_eq(d->name, "echo");
    ck_assert_str_eq(d->operations[0], "echo");
    ck_assert_ptr_null(d->operations[1]);
    ck_assert_ptr_nonnull(d->init);
    ck_assert_ptr_nonnull(d->handle);
    ck_assert_ptr_nonnull(d->fini);
    ck_assert_str_eq(gw_adapter_module_path(module), path);
    gw_adapter_unload(module);
}
END_TEST

START_TEST(unload_releases_the_plugin)
{
    gw_adapter_module *module = NULL;
    const char *path = fixture_path("echo");
    ck_assert_int_eq(gw_adapter_load(path, &module, err, sizeof(err)), GW_OK);
    void *probe = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    ck_assert_ptr_nonnull(probe);
    dlclose(probe);
    gw_adapter_unload(module);
    probe = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    ck_assert_msg(probe == NULL, "%s still loaded after gw_adapter_unload", path);
}
END_TEST

START_TEST(newer_minor_revision_is_accepted)
{
    gw_adapter_module *module = NULL;
    ck_assert_int_eq(gw_adapter_load(fixture_path("newer_minor"), &module, err, sizeof(err)),
                     GW_OK);
    const pide_adapter *d = gw_adapter_module_descriptor(module);
    ck_assert_uint_gt(d->struct_size, sizeof(pide_adapter));
    gw_adapter_unload(module);
}
END_TEST

START_TEST(rejects_unresolved_symbol)
{
    assert_load_rejected("unresolved", GW_ERR_ABI, ": dlopen failed: ");
    assert_contains(err, "pide_fixture_symbol_nobody_defines");
}
END_TEST

/* Plugins the loader refuses with GW_ERR_ABI, each with the reason given after its path. */
static const struct {
    const char *fixture;
    const char *reason;
} abi_refusals[] = {
    {"not_built_anywhere", ": dlopen failed: "},
    {"no_entry", ": missing symbol pide_adapter_entry"},
    {"entry_null", ": entry point returned NULL"},
    {"abi_999", ": ABI version 999, this gateway speaks 2"},
    {"no_name", ": no name"},
    {"no_operations", ": no operations"},
    {"no_handle", ": handle() is NULL"},
    {"no_init", ": init() is NULL"},
    {"bad_default", ": parameter 'repeat' has default 'ten', not of type int"},
    {"declared_twice", ": parameter 'repeat' is declared twice"},
    {"bad_type", ": parameter 'odd' is declared with unknown type 42"},
};

START_TEST(rejects_plugin_breaking_the_abi)
{
    assert_load_rejected(abi_refusals[_i].fixture, GW_ERR_ABI, abi_refusals[_i].reason);
}
END_TEST

START_TEST(rejects_small_descriptor)
{
    char reason[128];
    snprintf(reason, sizeof(reason), ": descriptor size 24 smaller than the %zu bytes of ABI 2",
             sizeof(pide_adapter));
    assert_load_rejected("struct_small", GW_ERR_ABI, reason);
}
END_TEST

/* The ABI passes xmlNodePtr: a plugin built against another libxml2 major version is refused,
 * the message naming both versions. */
START_TEST(rejects_other_libxml2_major)
{
    char reason[160];
    snprintf(reason, sizeof(reason), ": built against libxml2 major version 99, this gateway "
             "uses libxml2 major version %d", LIBXML_VERSION / 10000);
    assert_load_rejected("libxml2_99", GW_ERR_ABI, reason);
}
END_TEST

START_TEST(good_plugin_declares_its_params)
{
    gw_adapter_module *module = NULL;
    ck_assert_int_eq(gw_adapter_load(fixture_path("echo"), &module, err, sizeof(err)), GW_OK);
    const pide_adapter *d = gw_adapter_module_descriptor(module);
    ck_assert_uint_eq(d->abi_version, 2);
    ck_assert_uint_eq(d->libxml2_major, (uint32_t)(LIBXML_VERSION / 10000));
    ck_assert_ptr_nonnull(d->params);
    ck_assert_str_eq(d->params[0].name, "prefix");
    ck_assert_str_eq(d->params[2].name, "mode");
    ck_assert_str_eq(d->params[2].default_value, "echo");
    ck_assert_int_eq(d->params[3].type, PIDE_PARAM_INT);
    gw_adapter_unload(module);
}
END_TEST

START_TEST(rejects_bare_name)
{
    gw_adapter_module *module = NULL;
    ck_assert_int_eq(gw_adapter_load("pide_adapter_echo.so", &module, err, sizeof(err)),
                     GW_ERR_INVALID_ARG);
    ck_assert_ptr_null(module);
    assert_contains(err, "pide_adapter_echo.so: not a path");
}
END_TEST

/* ---- the registry -------------------------------------------------------------------------- */

START_TEST(registry_binds_two_services_to_one_adapter)
{
    test_config t;
    config_init(&t);
    gw_service_config *a = config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");
    config_add_param(a, "prefix", "A:");
    gw_service_config *b = config_add_service(&t, "EchoB", "echo", "http://127.0.0.1:9002/b");
    config_add_param(b, "prefix", "B:");
    config_add_param(b, "loud", "true");

    gw_adapter_registry *reg = open_registry(&t);
    ck_assert_uint_eq(gw_adapter_registry_service_count(reg), 2);
    ck_assert_uint_eq(gw_adapter_registry_module_count(reg), 1);

    const gw_service_binding *ba = gw_adapter_registry_find(reg, "EchoA");
    const gw_service_binding *bb = gw_adapter_registry_find(reg, "EchoB");
    ck_assert_ptr_nonnull(ba);
    ck_assert_ptr_nonnull(bb);
    ck_assert_ptr_null(gw_adapter_registry_find(reg, "EchoC"));
    ck_assert_ptr_eq(ba->adapter, bb->adapter);
    ck_assert_ptr_ne(ba->instance, bb->instance);
    ck_assert_str_eq(ba->adapter->name, "echo");
    ck_assert_str_eq(ba->adapter_path, fixture_path("echo"));

    /* The registry's copy, not the configuration's strings. */
    const pide_service_config *sb = bb->service_config;
    ck_assert_str_eq(sb->service_name, "EchoB");
    ck_assert_ptr_ne(sb->service_name, b->name);
    ck_assert_str_eq(sb->endpoint_url, "http://127.0.0.1:9002/b");
    ck_assert_uint_eq(sb->timeout_ms, b->timeout_ms);
    /* Given ones, then the declared defaults of the others (mode); none for fini_log. */
    ck_assert_uint_eq(sb->param_count, 3);
    ck_assert_str_eq(gw_pide_config_param(sb, "loud"), "true");
    ck_assert_str_eq(gw_pide_config_param(sb, "mode"), "echo");
    ck_assert_ptr_null(gw_pide_config_param(sb, "fini_log"));
    ck_assert_ptr_null(gw_pide_config_param(sb, "absent"));
    const pide_service_config *sa = ba->service_config;
    ck_assert_uint_eq(sa->param_count, 3);
    ck_assert_str_eq(gw_pide_config_param(sa, "loud"), "false");

    ck_assert_int_eq(gw_binding_has_operation(ba, "echo"), 1);
    ck_assert_int_eq(gw_binding_has_operation(ba, "consultar"), 0);

    gw_adapter_registry_close(reg);
}
END_TEST

START_TEST(handle_works_through_the_host_table)
{
    test_config t;
    config_init(&t);
    gw_service_config *a = config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");
    config_add_param(a, "prefix", "A:");
    gw_service_config *b = config_add_service(&t, "EchoB", "echo", "http://127.0.0.1:9002/b");
    config_add_param(b, "prefix", "B:");

    gw_adapter_registry *reg = open_registry(&t);

    /* Each service's instance answers with what its own init() was given. */
    const char *services[] = {"EchoA", "EchoB"};
    const char *expected_text[] = {"A:hola <mundo>", "B:hola <mundo>"};
    const char *expected_endpoint[] = {"http://127.0.0.1:9001/a", "http://127.0.0.1:9002/b"};
    const char *expected_timeout[] = {"1500", "1501"};
    for (int i = 0; i < 2; i++) {
        const gw_service_binding *binding = gw_adapter_registry_find(reg, services[i]);
        echo_call c;
        ck_assert_int_eq(call_echo(&c, binding, "echo", "hola <mundo>"), PIDE_OK);
        xmlNodePtr response = c.body->children;
        ck_assert_ptr_nonnull(response);
        ck_assert_str_eq((const char *)response->name, "echoResponse");
        xmlChar *text = xmlNodeGetContent(response);
        ck_assert_str_eq((const char *)text, expected_text[i]);
        xmlFree(text);
        char *v = attr(response, "service");
        ck_assert_str_eq(v, services[i]);
        free(v);
        v = attr(response, "endpoint");
        ck_assert_str_eq(v, expected_endpoint[i]);
        free(v);
        v = attr(response, "timeout");
        ck_assert_str_eq(v, expected_timeout[i]);
        free(v);
        /* init() saw the default the loader applied. */
        v = attr(response, "mode");
        ck_assert_str_eq(v, "echo");
        free(v);
        /* Its working memory came from the host. */
        ck_assert_uint_ge(c.ex.alloc_calls, 1);
        ck_assert_uint_gt(c.ex.arena.bytes_allocated, strlen(expected_text[i]));
        ck_assert_str_eq(c.ex.result_code, "0000");
        echo_call_free(&c);
    }

    /* An adapter's refusal maps to the caller's Fault. */
    const gw_service_binding *binding = gw_adapter_registry_find(reg, "EchoA");
    echo_call c;
    pide_result r = call_echo(&c, binding, "echo", "");
    ck_assert_int_eq(r, PIDE_ERR_BAD_REQUEST);
    ck_assert_ptr_null(c.body->children);
    ck_assert_str_eq(gw_status_fault_code(gw_status_from_pide_result(r)), "Client.BadRequest");
    echo_call_free(&c);

    gw_adapter_registry_close(reg);
}
END_TEST

START_TEST(close_calls_fini_for_every_service_and_unloads)
{
    char log_path[64];
    temp_path(log_path, sizeof(log_path));
    test_config t;
    config_init(&t);
    gw_service_config *a = config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");
    config_add_param(a, "fini_log", log_path);
    gw_service_config *b = config_add_service(&t, "EchoB", "echo", "http://127.0.0.1:9002/b");
    config_add_param(b, "fini_log", log_path);

    gw_adapter_registry *reg = open_registry(&t);
    char *before = read_file(log_path);
    ck_assert_str_eq(before, "");
    free(before);

    gw_adapter_registry_close(reg);
    char *after = read_file(log_path);
    ck_assert_str_eq(after, "fini EchoB\nfini EchoA\n");
    free(after);
    void *probe = dlopen(fixture_path("echo"), RTLD_NOW | RTLD_NOLOAD);
    ck_assert_msg(probe == NULL, "the echo plugin is still loaded after close");
    unlink(log_path);
}
END_TEST

START_TEST(registry_reports_failed_init_and_finishes_the_others)
{
    char log_path[64];
    temp_path(log_path, sizeof(log_path));
    test_config t;
    config_init(&t);
    gw_service_config *a = config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");
    config_add_param(a, "fini_log", log_path);
    gw_service_config *p = config_add_service(&t, "NeedsPrefix", "needs_prefix",
                                              "http://127.0.0.1:9003/");
    config_add_param(p, "fini_log", log_path);

    assert_registry_refused(&t, GW_ERR_CONFIG);
    assert_contains(err, "conf/test-gateway.xml:20: service 'NeedsPrefix'");
    assert_contains(err, fixture_path("needs_prefix"));
    assert_contains(err, "init() failed: PIDE_ERR_CONFIG");
    assert_contains(last_log, "parameter 'prefix' is required");

    /* The service set up before the failure was finished. */
    char *log = read_file(log_path);
    ck_assert_str_eq(log, "fini EchoA\n");
    free(log);
    unlink(log_path);

    /* With the parameter it starts. */
    config_add_param(p, "prefix", "P:");
    gw_adapter_registry *reg = open_registry(&t);
    ck_assert_uint_eq(gw_adapter_registry_module_count(reg), 2);
    gw_adapter_registry_close(reg);
    unlink(log_path);
}
END_TEST

START_TEST(registry_rejects_duplicate_adapter_name)
{
    test_config t;
    config_init(&t);
    config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");
    config_add_service(&t, "Twin", "echo_twin", "http://127.0.0.1:9002/b");

    assert_registry_refused(&t, GW_ERR_CONFIG);
    assert_contains(err, "service 'Twin'");
    assert_contains(err, "duplicate adapter name 'echo'");
    assert_contains(err, "/pide_adapter_echo_twin.so");
    assert_contains(err, "/pide_adapter_echo.so");
}
END_TEST

START_TEST(registry_rejects_duplicate_service_name)
{
    test_config t;
    config_init(&t);
    config_add_service(&t, "Same", "echo", "http://127.0.0.1:9001/a");
    config_add_service(&t, "Other", "echo", "http://127.0.0.1:9001/a");
    config_add_service(&t, "Same", "echo", "http://127.0.0.1:9002/b");

    assert_registry_refused(&t, GW_ERR_CONFIG);
    assert_contains(err, "conf/test-gateway.xml:30: service 'Same': duplicate service name "
                         "(first declared at line 10)");
}
END_TEST

START_TEST(registry_rejects_missing_adapter_file)
{
    test_config t;
    config_init(&t);
    config_add_service(&t, "Lost", "renic", "http://127.0.0.1:9001/a");

    assert_registry_refused(&t, GW_ERR_CONFIG);
    assert_contains(err, "conf/test-gateway.xml:10: service 'Lost': adapter 'renic' has no file ");
    assert_contains(err, fixture_path("renic"));
}
END_TEST

START_TEST(registry_rejects_unsafe_adapter_name)
{
    test_config t;
    config_init(&t);
    config_add_service(&t, "Escape", "../adapters/echo", "http://127.0.0.1:9001/a");

    assert_registry_refused(&t, GW_ERR_CONFIG);
    assert_contains(err, "service 'Escape': adapter name '../adapters/echo' must be");
}
END_TEST

START_TEST(registry_passes_on_plugin_check_failures)
{
    test_config t;
    config_init(&t);
    config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");
    config_add_service(&t, "Old", "abi_999", "http://127.0.0.1:9002/b");

    assert_registry_refused(&t, GW_ERR_ABI);
    assert_contains(err, "conf/test-gateway.xml:20: service 'Old': ");
    assert_contains(err, fixture_path("abi_999"));
    assert_contains(err, "ABI version 999, this gateway speaks 2");
}
END_TEST

/* ---- declared parameters ------------------------------------------------------------------- */

START_TEST(registry_refuses_undeclared_param)
{
    test_config t;
    config_init(&t);
    config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");
    gw_service_config *b = config_add_service(&t, "EchoB", "echo", "http://127.0.0.1:9002/b");
    config_add_param(b, "prefix", "B:");
    config_add_param(b, "prefx", "typo");

    assert_registry_refused(&t, GW_ERR_CONFIG);
    assert_contains(err, "conf/test-gateway.xml:20: service 'EchoB': parameter 'prefx' is not "
                         "declared by adapter 'echo' (it accepts: prefix, fini_log, mode, "
                         "repeat, loud, callback)");
}
END_TEST

START_TEST(registry_refuses_param_given_twice)
{
    test_config t;
    config_init(&t);
    gw_service_config *a = config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");
    config_add_param(a, "prefix", "A:");
    config_add_param(a, "prefix", "B:");

    assert_registry_refused(&t, GW_ERR_CONFIG);
    assert_contains(err, "service 'EchoA': parameter 'prefix' of adapter 'echo' is given twice");
}
END_TEST

START_TEST(registry_refuses_missing_required_param)
{
    char log_path[64];
    temp_path(log_path, sizeof(log_path));
    test_config t;
    config_init(&t);
    gw_service_config *a = config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");
    config_add_param(a, "fini_log", log_path);
    gw_service_config *r = config_add_service(&t, "Strict", "requires_prefix",
                                              "http://127.0.0.1:9003/");
    config_add_param(r, "mode", "x");
    last_log[0] = '\0';

    assert_registry_refused(&t, GW_ERR_CONFIG);
    assert_contains(err, "conf/test-gateway.xml:20: service 'Strict': required parameter "
                         "'prefix' (string) of adapter 'requires_prefix' is missing");
    /* Refused before its init() ran; the service already started was finished. */
    ck_assert_str_eq(last_log, "");
    char *log = read_file(log_path);
    ck_assert_str_eq(log, "fini EchoA\n");
    free(log);
    unlink(log_path);

    config_add_param(r, "prefix", "");
    gw_adapter_registry *reg = open_registry(&t);
    gw_adapter_registry_close(reg);
    unlink(log_path);
}
END_TEST

/* Values each typed parameter of the echo fixture must refuse, and some it must take. */
static const struct {
    const char *param;
    const char *value;
    const char *type;
} bad_values[] = {
    {"repeat", "many", "int"},
    {"repeat", "", "int"},
    {"repeat", "12abc", "int"},
    {"repeat", "-", "int"},
    {"repeat", " 7", "int"},
    {"repeat", "+7", "int"},
    {"repeat", "2147483648", "int"},
    {"repeat", "99999999999999999999999", "int"},
    {"loud", "yes", "bool"},
    {"loud", "TRUE", "bool"},
    {"loud", "", "bool"},
    {"callback", "ftp://example.org/", "url"},
    {"callback", "http://", "url"},
    {"callback", "https:///path", "url"},
    {"callback", "http://a b/", "url"},
    {"callback", "http://a/\r\nX-Injected: 1", "url"},
    {"callback", "javascript:alert(1)", "url"},
};

START_TEST(registry_refuses_param_of_wrong_type)
{
    test_config t;
    config_init(&t);
    gw_service_config *a = config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");
    config_add_param(a, bad_values[_i].param, bad_values[_i].value);

    assert_registry_refused(&t, GW_ERR_CONFIG);
    char expected[256];
    snprintf(expected, sizeof(expected), "service 'EchoA': parameter '%s' of adapter 'echo' "
             "must be of type %s, not '", bad_values[_i].param, bad_values[_i].type);
    assert_contains(err, expected);
}
END_TEST

START_TEST(registry_takes_params_of_the_right_type)
{
    test_config t;
    config_init(&t);
    gw_service_config *a = config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");
    config_add_param(a, "repeat", "-2147483648");
    config_add_param(a, "loud", "1");
    config_add_param(a, "callback", "https://127.0.0.1:8443/cb?x=1");
    config_add_param(a, "mode", "");
    gw_adapter_registry *reg = open_registry(&t);
    const pide_service_config *sa = gw_adapter_registry_find(reg, "EchoA")->service_config;
    ck_assert_uint_eq(sa->param_count, 4);  /* all given: no default added */
    ck_assert_str_eq(gw_pide_config_param(sa, "mode"), "");
    gw_adapter_registry_close(reg);

    ck_assert_int_eq(gw_pide_param_value_is(PIDE_PARAM_INT, "2147483647"), 1);
    ck_assert_int_eq(gw_pide_param_value_is(PIDE_PARAM_INT, "0"), 1);
    ck_assert_int_eq(gw_pide_param_value_is(PIDE_PARAM_BOOL, "false"), 1);
    ck_assert_int_eq(gw_pide_param_value_is(PIDE_PARAM_BOOL, "0"), 1);
    ck_assert_int_eq(gw_pide_param_value_is(PIDE_PARAM_URL, "http://h"), 1);
    ck_assert_int_eq(gw_pide_param_value_is(PIDE_PARAM_STRING, ""), 1);
    ck_assert_int_eq(gw_pide_param_value_is(PIDE_PARAM_STRING, NULL), 0);
    ck_assert_int_eq(gw_pide_param_value_is((pide_param_type)42, "x"), 0);
    ck_assert_str_eq(gw_pide_param_type_name(PIDE_PARAM_URL), "url");
    ck_assert_str_eq(gw_pide_param_type_name((pide_param_type)42), "unknown");
}
END_TEST

START_TEST(registry_refuses_other_libxml2_major)
{
    test_config t;
    config_init(&t);
    config_add_service(&t, "Old", "libxml2_99", "http://127.0.0.1:9002/b");

    assert_registry_refused(&t, GW_ERR_ABI);
    assert_contains(err, "conf/test-gateway.xml:10: service 'Old': ");
    assert_contains(err, "built against libxml2 major version 99");
}
END_TEST

/* gw_adapter_resolve_params() with the real adapter `name` of this build; the module is
 * unloaded again (the resolved strings live in *memory). */
static gw_status resolve_with_real_adapter(const char *name, const gw_param *given, size_t count,
                                           gw_arena *memory, gw_param **list, size_t *n)
{
    const char *build = getenv("PIDE_BUILD_DIR");
    ck_assert_msg(build != NULL, "run through ctest (PIDE_BUILD_DIR)");
    char so[4400];
    snprintf(so, sizeof(so), "%s/adapters/pide_adapter_%s.so", build, name);
    gw_adapter_module *module = NULL;
    ck_assert_msg(gw_adapter_load(so, &module, err, sizeof(err)) == GW_OK, "%s", err);
    gw_status st = gw_adapter_resolve_params(gw_adapter_module_descriptor(module), given, count,
                                             memory, list, n, err, sizeof(err));
    gw_adapter_unload(module);
    return st;
}

/* The shipped configurations give only parameters the real adapters declare, of their type:
 * what the daemon's loader checks before it calls init(). The adapters come from this build
 * (PIDE_BUILD_DIR/adapters) rather than the configurations' adapterDir. */
START_TEST(example_configurations_params_validate)
{
    static const char *examples[] = {"conf/pide-gateway.xml", "conf/demo.xml"};
    const char *src = getenv("PIDE_SOURCE_DIR");
    ck_assert_msg(src != NULL, "run through ctest (PIDE_SOURCE_DIR)");
    for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
        char path[4200], schemas[4200];
        snprintf(path, sizeof(path), "%s/%s", src, examples[i]);
        snprintf(schemas, sizeof(schemas), "%s/schemas", src);
        gw_config *cfg = NULL;
        ck_assert_msg(gw_config_load(path, schemas, &cfg, err, sizeof(err)) == GW_OK, "%s", err);
        ck_assert_uint_gt(cfg->service_count, 0);
        for (size_t j = 0; j < cfg->service_count; j++) {
            const gw_service_config *svc = &cfg->services[j];
            gw_arena memory;
            gw_arena_init(&memory, 0);
            gw_param *list = NULL;
            size_t n = 0;
            gw_status st = resolve_with_real_adapter(svc->adapter, svc->params, svc->param_count,
                                                     &memory, &list, &n);
            ck_assert_msg(st == GW_OK, "%s: service '%s': %s", examples[i], svc->name, err);
            ck_assert_uint_ge(n, svc->param_count);
            gw_arena_destroy(&memory);
        }
        gw_config_free(cfg);
    }
}
END_TEST

/* The real adapters' declarations: a typo'd or foreign parameter is a configuration error. */
START_TEST(real_adapters_refuse_foreign_params)
{
    static const struct {
        const char *adapter;
        const char *param;
        const char *accepts;
    } cases[] = {
        {"reniec", "entityCod", "(it accepts: entityCode)"},
        {"pj", "entityCode", "(it accepts: none)"},
        {"migraciones", "entityCode", "(it accepts: none)"},
    };
    gw_arena memory;
    gw_arena_init(&memory, 0);
    gw_param *list = NULL;
    size_t n = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_param given = {(char *)cases[i].param, (char *)"PIDE-GW"};
        ck_assert_int_eq(resolve_with_real_adapter(cases[i].adapter, &given, 1, &memory, &list,
                                                   &n), GW_ERR_CONFIG);
        assert_contains(err, cases[i].param);
        assert_contains(err, cases[i].accepts);
    }
    /* reniec's default reaches init() when the service gives none. */
    ck_assert_int_eq(resolve_with_real_adapter("reniec", NULL, 0, &memory, &list, &n), GW_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].name, "entityCode");
    ck_assert_str_eq(list[0].value, "PIDE-GW");
    gw_arena_destroy(&memory);
}
END_TEST

START_TEST(registry_requires_adapter_dir)
{
    test_config t;
    config_init(&t);
    t.cfg.adapter_dir = NULL;
    config_add_service(&t, "EchoA", "echo", "http://127.0.0.1:9001/a");

    assert_registry_refused(&t, GW_ERR_CONFIG);
    assert_contains(err, "conf/test-gateway.xml: no adapter directory configured");
}
END_TEST

/* ---- results ------------------------------------------------------------------------------- */

START_TEST(results_map_to_statuses_and_names)
{
    static const struct {
        pide_result result;
        gw_status status;
        const char *name;
        const char *fault;
    } cases[] = {
        {PIDE_OK, GW_OK, "PIDE_OK", ""},
        {PIDE_ERR_BAD_REQUEST, GW_ERR_BAD_REQUEST, "PIDE_ERR_BAD_REQUEST", "Client.BadRequest"},
        {PIDE_ERR_PROVIDER_TIMEOUT, GW_ERR_PROVIDER_TIMEOUT, "PIDE_ERR_PROVIDER_TIMEOUT",
         "Server.Provider.Timeout"},
        {PIDE_ERR_PROVIDER_UNAVAILABLE, GW_ERR_PROVIDER_UNAVAILABLE,
         "PIDE_ERR_PROVIDER_UNAVAILABLE", "Server.Provider.Unavailable"},
        {PIDE_ERR_PROVIDER_BAD_RESPONSE, GW_ERR_PROVIDER_BAD_RESPONSE,
         "PIDE_ERR_PROVIDER_BAD_RESPONSE", "Server.Provider.BadResponse"},
        {PIDE_ERR_CONFIG, GW_ERR_ADAPTER, "PIDE_ERR_CONFIG", "Server.Adapter"},
        {PIDE_ERR_NOMEM, GW_ERR_NOMEM, "PIDE_ERR_NOMEM", "Server.Internal"},
        {PIDE_ERR_INTERNAL, GW_ERR_ADAPTER, "PIDE_ERR_INTERNAL", "Server.Adapter"},
        {(pide_result)77, GW_ERR_ADAPTER, "PIDE_ERR_UNKNOWN", "Server.Adapter"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(gw_status_from_pide_result(cases[i].result), cases[i].status);
        ck_assert_str_eq(gw_pide_result_name(cases[i].result), cases[i].name);
        ck_assert_str_eq(gw_status_fault_code(gw_status_from_pide_result(cases[i].result)),
                         cases[i].fault);
    }
}
END_TEST

static Suite *adapter_loader_suite(void)
{
    Suite *s = suite_create("adapter_loader");

    TCase *load = tcase_create("load");
    tcase_add_test(load, good_plugin_loads);
    tcase_add_test(load, unload_releases_the_plugin);
    tcase_add_test(load, newer_minor_revision_is_accepted);
    tcase_add_loop_test(load, rejects_plugin_breaking_the_abi, 0,
                        (int)(sizeof(abi_refusals) / sizeof(abi_refusals[0])));
    tcase_add_test(load, rejects_unresolved_symbol);
    tcase_add_test(load, rejects_small_descriptor);
    tcase_add_test(load, rejects_other_libxml2_major);
    tcase_add_test(load, good_plugin_declares_its_params);
    tcase_add_test(load, rejects_bare_name);
    suite_add_tcase(s, load);

    TCase *registry = tcase_create("registry");
    tcase_add_test(registry, registry_binds_two_services_to_one_adapter);
    tcase_add_test(registry, handle_works_through_the_host_table);
    tcase_add_test(registry, close_calls_fini_for_every_service_and_unloads);
    tcase_add_test(registry, registry_reports_failed_init_and_finishes_the_others);
    tcase_add_test(registry, registry_rejects_duplicate_adapter_name);
    tcase_add_test(registry, registry_rejects_duplicate_service_name);
    tcase_add_test(registry, registry_rejects_missing_adapter_file);
    tcase_add_test(registry, registry_rejects_unsafe_adapter_name);
    tcase_add_test(registry, registry_passes_on_plugin_check_failures);
    tcase_add_test(registry, registry_requires_adapter_dir);
    tcase_add_test(registry, registry_refuses_undeclared_param);
    tcase_add_test(registry, registry_refuses_param_given_twice);
    tcase_add_test(registry, registry_refuses_missing_required_param);
    tcase_add_loop_test(registry, registry_refuses_param_of_wrong_type, 0,
                        (int)(sizeof(bad_values) / sizeof(bad_values[0])));
    tcase_add_test(registry, registry_takes_params_of_the_right_type);
    tcase_add_test(registry, registry_refuses_other_libxml2_major);
    tcase_add_test(registry, example_configurations_params_validate);
    tcase_add_test(registry, real_adapters_refuse_foreign_params);
    suite_add_tcase(s, registry);

    TCase *results = tcase_create("results");
    tcase_add_test(results, results_map_to_statuses_and_names);
    suite_add_tcase(s, results);
    return s;
}

int main(void)
{
    find_fixture_dir();
    return check_run_suite(adapter_loader_suite());
}
