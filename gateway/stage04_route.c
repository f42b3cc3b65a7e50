/* stage04_route.c — finds the service from the URL (/services/<name>) and the operation from
 * the Body's element, which must be in the service's namespace and served by its adapter. */
#include <string.h>

#include "pipeline.h"
#include "runtime.h"

#define SERVICES_PREFIX "/services/"

/* The service name from a path like "/services/Name" or "/services/Name?x": arena copy. */
static const char *service_name_of(gw_exchange *ex, const char *path)
{
    if (!path || strncmp(path, SERVICES_PREFIX, strlen(SERVICES_PREFIX)) != 0)
        return NULL;
    const char *name = path + strlen(SERVICES_PREFIX);
    size_t n = strcspn(name, "?/#");
    return n ? gw_arena_strndup(&ex->arena, name, n) : NULL;
}

gw_status gw_stage_route(gw_exchange *ex)
{
    const char *name = service_name_of(ex, ex->http_path);
    if (!name)
        return gw_exchange_fail(ex, GW_ERR_UNKNOWN_SERVICE, "services live under /services/<name>");
    ex->service = gw_service_catalog_find(&ex->rt->catalog, name);
    if (!ex->service)
        return gw_exchange_fail(ex, GW_ERR_UNKNOWN_SERVICE, "'%s'", name);

    if (ex->header.service_code && strcmp(ex->header.service_code, name) != 0)
        return gw_exchange_fail(ex, GW_ERR_BAD_HEADER,
                                "service/serviceCode '%s' does not match the service called, '%s'",
                                ex->header.service_code, name);

    xmlNodePtr op = ex->request_operation;
    const char *ns = op->ns && op->ns->href ? (const char *)op->ns->href : "";
    ex->operation = gw_arena_strdup(&ex->arena, (const char *)op->name);
    /* A service always has its schema's namespace, but a tool's may have no schema
     * (standalone_exchange.h): then any namespace routes. */
    if (ex->service->target_namespace && strcmp(ns, ex->service->target_namespace) != 0)
        return gw_exchange_fail(ex, GW_ERR_UNKNOWN_OPERATION,
                                "element {%s}%s is not an operation of %s (namespace %s)", ns,
                                ex->operation, name, ex->service->target_namespace);
    if (!gw_binding_has_operation(ex->service->binding, ex->operation))
        return gw_exchange_fail(ex, GW_ERR_UNKNOWN_OPERATION, "%s has no operation '%s'", name,
                                ex->operation);
    return GW_OK;
}
