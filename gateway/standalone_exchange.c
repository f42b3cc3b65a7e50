/* standalone_exchange.c — gateway exchanges outside the server (see standalone_exchange.h). */
#include "standalone_exchange.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/schemasInternals.h>
#include <libxml/xmlschemas.h>

#include "adapter_loader.h"
#include "exchange_env.h"
#include "pipeline.h"
#include "runtime.h"
#include "service_catalog.h"
#include "xml_parse.h"

#define DEFAULT_TIMEOUT_MS 5000u

struct gw_standalone {
    gw_arena memory;                  /* configuration copies */
    gw_runtime rt;                    /* host table, signer, a one-service catalog */
    gw_service_config config;
    pide_service_config service_config;
    gw_service service;
    gw_service_binding binding;

    /* The binding points at `recording`, a copy of the adapter's descriptor whose handle()
     * notes what the real one returned before gw_stage_invoke folds it into a gw_status, so the
     * very stage the daemon runs is the one exercised here. */
    const pide_adapter *adapter;
    pide_adapter recording;
    void *instance;                   /* what the adapter's init() stored */
    int initialized;

    int worker_count;
    struct runner {
        gw_exchange_env env;          /* what a daemon worker lends its exchanges */
        gw_exchange exchange;
    } *workers;
    pide_result *handle_results;      /* per worker: the last handle() result */
    int *handle_called;
};

static pide_result recording_handle(void *instance, pide_exchange *ex, const pide_call *call)
{
    gw_standalone *s = instance;
    int w = ex->env->id;
    pide_result r = s->adapter->handle(s->instance, ex, call);
    s->handle_results[w] = r;
    s->handle_called[w] = 1;
    return r;
}

static gw_status load_schema(gw_standalone *s, const char *path, char *err, size_t errlen)
{
    gw_xml_first_error fe = {.default_file = "schema"};
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
    if (!pc) {
        gw_set_error(err, errlen, "%s: cannot create a schema parser", path);
        return GW_ERR_NOMEM;
    }
    xmlSchemaSetParserStructuredErrors(pc, gw_xml_keep_first_error, &fe);
    s->service.schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    if (!s->service.schema) {
        gw_set_error(err, errlen, "%s: not a usable XML Schema: %s", path,
                  fe.seen ? fe.text : "unreadable");
        return GW_ERR_CONFIG;
    }
    const char *tns = (const char *)s->service.schema->targetNamespace;
    s->service.target_namespace = strdup(tns ? tns : "");
    return s->service.target_namespace ? GW_OK : GW_ERR_NOMEM;
}

/* The service's configuration as the gateway's config holds it; what the adapter's init()
 * receives is made from it by the registry's own function (gw_adapter_service_config). */
static gw_status copy_configuration(gw_standalone *s, const gw_standalone_service *svc,
                                    char *err, size_t errlen)
{
    gw_arena *m = &s->memory;
    s->config.name = gw_arena_strdup(m, svc->name ? svc->name : "Standalone");
    s->config.endpoint_url = svc->endpoint_url ? gw_arena_strdup(m, svc->endpoint_url) : NULL;
    s->config.schema_path = svc->schema_path ? gw_arena_strdup(m, svc->schema_path) : NULL;
    s->config.timeout_ms = svc->timeout_ms ? svc->timeout_ms : DEFAULT_TIMEOUT_MS;
    s->config.params = (gw_param *)svc->params;
    s->config.param_count = svc->param_count;
    if (!s->config.name || (svc->endpoint_url && !s->config.endpoint_url) ||
        (svc->schema_path && !s->config.schema_path)) {
        gw_set_error(err, errlen, "out of memory");
        return GW_ERR_NOMEM;
    }
    char why[768];
    gw_status st = gw_adapter_service_config(m, s->adapter, &s->config, &s->service_config, why,
                                             sizeof why);
    if (st != GW_OK)
        gw_set_error(err, errlen, "service '%s': %s", s->config.name, why);
    s->config.params = NULL; /* the caller's; init() sees the resolved copy */
    s->config.param_count = 0;
    return st;
}

static gw_status runner_open(gw_standalone *s, struct runner *r, int id)
{
    gw_arena_init(&r->exchange.arena, 32768);
    return gw_exchange_env_init(&r->env, s->rt.signer, s->rt.catalog.count, id);
}

gw_status gw_standalone_open(const pide_adapter *adapter, const gw_standalone_service *svc,
                             gw_standalone **out, pide_result *init_result, char *err,
                             size_t errlen)
{
    gw_status st = GW_ERR_NOMEM;
    if (!adapter || !svc || !out) {
        gw_set_error(err, errlen, "gw_standalone_open: adapter, service and out are required");
        return GW_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (init_result)
        *init_result = PIDE_OK;
    gw_standalone *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    gw_arena_init(&s->memory, 0);
    s->adapter = adapter;
    s->recording = *adapter;
    s->recording.handle = recording_handle;
    s->worker_count = svc->workers < 1 ? 1 : svc->workers;

    gw_host_api_init(&s->rt.host);
    s->rt.signer = svc->signer;
    s->rt.catalog.services = &s->service;
    s->rt.catalog.count = 1;

    if ((st = copy_configuration(s, svc, err, errlen)) != GW_OK)
        goto fail;
    if (svc->schema_path && (st = load_schema(s, svc->schema_path, err, errlen)) != GW_OK)
        goto fail;
    s->binding = (gw_service_binding){
        .adapter = &s->recording,
        .instance = s,
        .service_config = &s->service_config,
        .adapter_path = adapter->name,
    };
    s->service = (gw_service){
        .index = 0,
        .config = &s->config,
        .schema = s->service.schema,
        .target_namespace = s->service.target_namespace,
        .binding = &s->binding,
    };

    s->workers = calloc((size_t)s->worker_count, sizeof *s->workers);
    s->handle_results = calloc((size_t)s->worker_count, sizeof *s->handle_results);
    s->handle_called = calloc((size_t)s->worker_count, sizeof *s->handle_called);
    if (!s->workers || !s->handle_results || !s->handle_called)
        goto nomem;
    for (int i = 0; i < s->worker_count; i++) {
        if (runner_open(s, &s->workers[i], i) != GW_OK)
            goto nomem;
    }

    pide_result r = adapter->init(&s->rt.host, &s->service_config, &s->instance);
    if (init_result)
        *init_result = r;
    if (r != PIDE_OK) {
        gw_set_error(err, errlen, "service '%s': init() failed: %s", s->config.name,
                  gw_pide_result_name(r));
        st = r == PIDE_ERR_NOMEM ? GW_ERR_NOMEM : GW_ERR_CONFIG;
        goto fail;
    }
    s->initialized = 1;
    *out = s;
    return GW_OK;

nomem:
    gw_set_error(err, errlen, "out of memory while setting up a standalone exchange");
    st = GW_ERR_NOMEM;
fail:
    gw_standalone_close(s);
    return st;
}

void gw_standalone_close(gw_standalone *s)
{
    if (!s)
        return;
    for (int i = 0; s->workers && i < s->worker_count; i++) {
        gw_exchange_end(&s->workers[i].exchange);
        /* Exchanges end before fini(), as in the daemon: nothing outlives the instance. */
    }
    if (s->initialized && s->adapter->fini)
        s->adapter->fini(s->instance);
    for (int i = 0; s->workers && i < s->worker_count; i++) {
        gw_exchange_env_fini(&s->workers[i].env);
        gw_arena_destroy(&s->workers[i].exchange.arena);
    }
    free(s->workers);
    free(s->handle_results);
    free(s->handle_called);
    if (s->service.schema)
        xmlSchemaFree(s->service.schema);
    free(s->service.target_namespace);
    gw_arena_destroy(&s->memory);
    free(s);
}

/* The request document: a SOAP 1.1 envelope whose Body holds a copy of `operation`. */
static gw_status build_request(gw_exchange *ex, xmlNodePtr operation)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    if (!doc)
        return GW_ERR_NOMEM;
    ex->request_doc = doc;
    xmlNodePtr env = xmlNewDocNode(doc, NULL, BAD_CAST "Envelope", NULL);
    if (!env)
        return GW_ERR_NOMEM;
    xmlDocSetRootElement(doc, env);
    xmlNsPtr soap = xmlNewNs(env, BAD_CAST GW_SOAP11_NS, BAD_CAST "soap");
    xmlNodePtr body = soap ? xmlNewChild(env, soap, BAD_CAST "Body", NULL) : NULL;
    if (!body)
        return GW_ERR_NOMEM;
    xmlSetNs(env, soap);
    xmlNodePtr copy = xmlDocCopyNode(operation, doc, 1);
    if (!copy)
        return GW_ERR_NOMEM;
    if (!xmlAddChild(body, copy)) {
        xmlFreeNode(copy);
        return GW_ERR_NOMEM;
    }
    xmlReconciliateNs(doc, copy);
    ex->request_operation = copy;
    ex->operation = gw_arena_strdup(&ex->arena, (const char *)copy->name);
    return ex->operation ? GW_OK : GW_ERR_NOMEM;
}

gw_status gw_standalone_run(gw_standalone *s, int worker, xmlNodePtr operation,
                            gw_standalone_outcome *out)
{
    if (!s || !operation || !out || worker < 0 || worker >= s->worker_count ||
        operation->type != XML_ELEMENT_NODE)
        return GW_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    struct runner *r = &s->workers[worker];
    gw_exchange *ex = &r->exchange;
    gw_exchange_end(ex);
    gw_exchange_begin(ex, &s->rt, &r->env, NULL, "standalone");
    ex->http_path = gw_arena_printf(&ex->arena, "/services/%s", s->config.name);
    s->handle_called[worker] = 0;

    /* The daemon's own stages, from its stage table: route (the one-service catalog; namespace
     * and operation), validate (the schema, when one was given) and invoke (handle()). */
    static const char *const stages[] = {"route", "validate", "invoke"};
    gw_status st = ex->http_path ? build_request(ex, operation) : GW_ERR_NOMEM;
    if (st != GW_OK)
        gw_exchange_fail(ex, st, "cannot build the request document");
    else
        st = gw_pipeline_run_stages(ex, stages, sizeof stages / sizeof stages[0]);

    out->status = st;
    out->handle_called = s->handle_called[worker];
    out->handle_result = s->handle_results[worker];
    out->exchange = ex;
    out->response = st == GW_OK ? gw_xml_first_element(ex->response_body) : NULL;
    return st;
}
