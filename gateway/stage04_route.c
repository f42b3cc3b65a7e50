/* stage04_route.c — finds the service from the URL (/services/<name>) and the operation from
 * the Body's element, which must be in the service's namespace and served by its adapter; a
 * stated action (SOAPAction, SOAP 1.2 action parameter, wsa:Action) must name that operation. */
#include <string.h>

#include "pipeline.h"
#include "runtime.h"
#include "soap_version.h"
#include "transport.h"
#include "ws_addressing.h"

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

/* One policy for every way a request states its intent: the SOAPAction header (SOAP 1.1), the
 * action parameter of application/soap+xml (SOAP 1.2) and wsa:Action. Each one given and
 * non-empty must name the Body's operation (gw_action_names_operation); an empty SOAPAction ""
 * states nothing and is accepted, as before. */
static gw_status check_actions(gw_exchange *ex)
{
    const gw_http_request *in = ex->http_request;
    char param[GW_WSA_MAX_VALUE + 1];
    struct {
        const char *what, *value;
    } given[] = {
        {"SOAPAction", in ? in->soap_action : NULL},
        {"the Content-Type's action",
         in && gw_soap_version_action_param(in->content_type, param, sizeof param) ? param
                                                                                   : NULL},
        {"wsa:Action", ex->wsa_action},
    };
    for (size_t i = 0; i < sizeof given / sizeof given[0]; i++) {
        const char *v = given[i].value;
        if (!v || !*v || strcmp(v, "\"\"") == 0)
            continue;
        if (!gw_action_names_operation(v, ex->operation))
            return gw_exchange_fail(ex, GW_ERR_ACTION_MISMATCH,
                                    "%s '%.200s' does not name the operation '%s'", given[i].what,
                                    v, ex->operation);
    }
    return GW_OK;
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
    return check_actions(ex);
}
