/* stage08_authorize.c — access rights, deny by default: the identified member must hold a
 * grant for this service and operation in the configuration. */
#include <string.h>

#include "config.h"
#include "pipeline.h"
#include "service_catalog.h"

static int grant_covers(const gw_grant *g, const char *operation)
{
    for (char **op = g->operations; op && *op; op++)
        if (strcmp(*op, "*") == 0 || strcmp(*op, operation) == 0)
            return 1;
    return 0;
}

gw_status gw_stage_authorize(gw_exchange *ex)
{
    const gw_service_config *sc = ex->service->config;
    for (size_t i = 0; i < sc->grant_count; i++)
        if (strcmp(sc->grants[i].member_id, ex->client_member) == 0 &&
            grant_covers(&sc->grants[i], ex->operation))
            return GW_OK;
    return gw_exchange_fail(ex, GW_ERR_ACCESS_DENIED, "member %s may not call %s/%s",
                            ex->client_member, sc->name, ex->operation);
}
