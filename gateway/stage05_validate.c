/* stage05_validate.c — validates the operation element against the service's XSD, and tells
 * the caller the first thing that is wrong (element, line, the schema's own words). */
#include <stdio.h>
#include <string.h>

#include <libxml/xmlschemas.h>

#include "exchange_env.h"
#include "pipeline.h"
#include "runtime.h"

gw_status gw_stage_validate(gw_exchange *ex)
{
    /* Only a tool's service may come without a schema (standalone_exchange.h); the daemon's
     * configuration requires one for every service. */
    if (!ex->service->schema)
        return GW_OK;
    xmlSchemaValidCtxtPtr v = gw_exchange_env_validator(ex->env, ex->service);
    if (!v)
        return GW_ERR_NOMEM;
    gw_xml_first_error fe = {.seen = 0};
    xmlSchemaSetValidStructuredErrors(v, gw_xml_keep_first_error, &fe);
    int rc = xmlSchemaValidateOneElement(v, ex->request_operation);
    xmlSchemaSetValidStructuredErrors(v, NULL, NULL);
    if (rc != 0)
        return gw_exchange_fail(ex, GW_ERR_SCHEMA_INVALID, "%s",
                                fe.seen ? fe.text : "the request does not match the schema");
    return GW_OK;
}
