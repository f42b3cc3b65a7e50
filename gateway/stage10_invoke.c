/* stage10_invoke.c — hands the validated request to the service's adapter, which calls the
 * provider and appends the response payload to the response Body. */
#include "adapter_loader.h"
#include "pipeline.h"
#include "response.h"
#include "service_catalog.h"
#include "xml_parse.h"

gw_status gw_stage_invoke(gw_exchange *ex)
{
    gw_status st = gw_response_envelope_create(ex);
    if (st != GW_OK)
        return st;
    const gw_service_binding *b = ex->service->binding;
    pide_call call = {
        .service_name = ex->service->config->name,
        .operation = ex->operation,
        .request = ex->request_operation,
        .response_body = ex->response_body,
    };
    pide_result r = b->adapter->handle(b->instance, ex, &call);
    if (r != PIDE_OK)
        return gw_exchange_fail(ex, gw_status_from_pide_result(r), "%s",
                                ex->fault_detail ? ex->fault_detail : gw_pide_result_name(r));
    if (!gw_xml_first_element(ex->response_body))
        return gw_exchange_fail(ex, GW_ERR_ADAPTER, "adapter %s returned no response element",
                                b->adapter->name);
    return GW_OK;
}
