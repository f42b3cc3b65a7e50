/* metaservices.c — the built-in "meta" adapter (see metaservices.h). */
#include "metaservices.h"

#include <stdio.h>
#include <string.h>

#include "exchange.h"
#include "runtime.h"
#include "xml_parse.h"

static const char *const meta_operations[] = {"listServices", "listMethods", "allowedMethods",
                                              "getWsdl", NULL};

static pide_result meta_init(const pide_host_api *host, const pide_service_config *cfg,
                             void **instance)
{
    (void)host; (void)cfg; (void)instance;
    return PIDE_OK;
}

static xmlNodePtr add_text(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
    return xmlNewTextChild(parent, ns, BAD_CAST name, BAD_CAST text);
}

static int grant_allows(const gw_service *svc, const char *member, const char *operation)
{
    const gw_service_config *sc = svc->config;
    for (size_t i = 0; member && i < sc->grant_count; i++) {
        if (strcmp(sc->grants[i].member_id, member) != 0)
            continue;
        for (char **op = sc->grants[i].operations; op && *op; op++)
            if (strcmp(*op, "*") == 0 || strcmp(*op, operation) == 0)
                return 1;
    }
    return 0;
}

/* Adds one `method` element per operation of svc (only_allowed: those granted to member). An adapter whose
 * descriptor lists "*" (the xslt adapter) serves what its service's `operations` parameter
 * names, space-separated: those are listed. */
static void add_methods(xmlNodePtr parent, xmlNsPtr ns, const gw_service *svc, const char *member,
                        int only_allowed)
{
    const char *const *ops = svc->binding->adapter->operations;
    if (ops[0] && strcmp(ops[0], "*") == 0) {
        const gw_service_config *sc = svc->config;
        for (size_t i = 0; i < sc->param_count; i++) {
            if (strcmp(sc->params[i].name, "operations") != 0)
                continue;
            const char *p = sc->params[i].value;
            while (*p) {
                size_t skip = strspn(p, " \t\r\n");
                p += skip;
                size_t len = strcspn(p, " \t\r\n");
                if (len > 0 && len < 128) {
                    char op[128];
                    memcpy(op, p, len);
                    op[len] = '\0';
                    if (!only_allowed || grant_allows(svc, member, op))
                        add_text(parent, ns, "method", op);
                }
                p += len;
            }
        }
        return;
    }
    for (; *ops; ops++)
        if (!only_allowed || grant_allows(svc, member, *ops))
            add_text(parent, ns, "method", *ops);
}

/* serviceCode of a listMethods/allowedMethods/getWsdl request, and the service it names. */
static pide_result requested_service(gw_exchange *ex, const pide_call *call,
                                     const gw_service **out, const char **code)
{
    xmlNodePtr n = gw_xml_child(call->request, "serviceCode");
    xmlChar *text = n ? xmlNodeGetContent(n) : NULL;
    *code = gw_arena_strdup(&ex->arena, text ? (const char *)text : "");
    xmlFree(text);
    *out = gw_service_catalog_find(&ex->rt->catalog, *code);
    if (!*out) {
        ex->fault_detail = gw_arena_printf(&ex->arena, "no service '%s' on this gateway", *code);
        return PIDE_ERR_BAD_REQUEST;
    }
    return PIDE_OK;
}

static pide_result meta_handle(void *instance, pide_exchange *ex, const pide_call *call)
{
    (void)instance;
    char name[64];
    snprintf(name, sizeof name, "%sResponse", call->operation);
    xmlNodePtr resp = xmlNewChild(call->response_body, NULL, BAD_CAST name, NULL);
    xmlNsPtr ns = xmlNewNs(resp, BAD_CAST GW_META_NS, BAD_CAST "m");
    xmlSetNs(resp, ns);

    if (strcmp(call->operation, "listServices") == 0) {
        const gw_service_catalog *cat = &ex->rt->catalog;
        for (size_t i = 0; i < cat->count; i++) {
            const gw_service *svc = &cat->services[i];
            xmlNodePtr s = xmlNewChild(resp, ns, BAD_CAST "service", NULL);
            add_text(s, ns, "serviceCode", svc->config->name);
            add_text(s, ns, "adapter", svc->binding->adapter->name);
            if (svc->binding->adapter->version)
                add_text(s, ns, "version", svc->binding->adapter->version);
            if (svc->description)
                add_text(s, ns, "description", svc->description);
            char path[160];
            snprintf(path, sizeof path, "/services/%s?wsdl", svc->config->name);
            add_text(s, ns, "wsdlPath", path);
            add_methods(s, ns, svc, NULL, 0);
        }
        return PIDE_OK;
    }

    const gw_service *svc;
    const char *code;
    pide_result r = requested_service(ex, call, &svc, &code);
    if (r != PIDE_OK)
        return r;
    add_text(resp, ns, "serviceCode", code);
    if (strcmp(call->operation, "getWsdl") == 0) {
        add_text(resp, ns, "wsdl", svc->wsdl);
        return PIDE_OK;
    }
    int only_allowed = strcmp(call->operation, "allowedMethods") == 0;
    add_methods(resp, ns, svc, ex->client_member, only_allowed);
    return PIDE_OK;
}

static const pide_adapter meta_adapter = {
    PIDE_ADAPTER_HEADER,
    .name = "builtin-meta",
    .version = PIDE_GATEWAY_VERSION,
    .operations = meta_operations,
    .init = meta_init,
    .handle = meta_handle,
    .fini = NULL,
};

const pide_adapter *gw_metaservices_adapter(void) { return &meta_adapter; }

static void meta_paths(const gw_config *cfg, const char **wsdl_path, const char **schema_path)
{
    *wsdl_path = cfg->meta_wsdl_path;
    *schema_path = cfg->meta_schema_path;
}

const gw_builtin_service gw_metaservices_builtin = {
    .name = GW_META_SERVICE_NAME,
    .what = "the metaservices",
    .adapter = gw_metaservices_adapter,
    .paths = meta_paths,
    .granted_to_all = 1,
};
