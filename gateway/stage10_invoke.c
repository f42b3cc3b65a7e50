/* stage10_invoke.c — hands the validated request to the service's adapter, which calls the
 * provider and appends the response payload to the response Body. */
#include "adapter_loader.h"
#include "circuit_breaker.h"
#include "clock.h"
#include "pipeline.h"
#include "response.h"
#include "runtime.h"
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
    /* The adapter's own verdict settles the provider's circuit, if a call went out (the host's
     * http_call took the ticket; an open circuit refused it there, so the adapter still set the
     * subject and its contract's code). */
    gw_breaker_ticket ticket = {.circuit = ex->breaker_circuit, .probe = ex->breaker_probe};
    ex->breaker_circuit = NULL;
    gw_breaker_record(ex->rt->breakers, &ticket,
                      r == PIDE_ERR_PROVIDER_TIMEOUT || r == PIDE_ERR_PROVIDER_UNAVAILABLE,
                      gw_monotonic_us());
    if (r != PIDE_OK)
        return gw_exchange_fail(ex, gw_status_from_pide_result(r), "%s",
                                ex->fault_detail ? ex->fault_detail : gw_pide_result_name(r));
    if (!gw_xml_first_element(ex->response_body))
        return gw_exchange_fail(ex, GW_ERR_ADAPTER, "adapter %s returned no response element",
                                b->adapter->name);
    return GW_OK;
}
