/* stage13_reply.c — the HTTP response value (transport.h) the transport sends: the serialised
 * envelope exactly as signed and logged, its status, and the exchange id in a header too, for
 * clients that do not read SOAP headers. Sending it is the transport's job, not a stage's. */
#include "pipeline.h"
#include "soap_version.h"

gw_status gw_stage_reply(gw_exchange *ex)
{
    if (!ex->reply)
        return GW_ERR_INTERNAL;
    *ex->reply = (gw_http_response){
        .status = ex->http_status,
        .content_type =
            ex->rest ? "application/json" : gw_soap_version_content_type(ex->soap_version),
        .exchange_id = ex->exchange_id,
        .traceparent = ex->trace.traceparent[0] ? ex->trace.traceparent : NULL,
        .retry_after_s = ex->retry_after_s,
        .body = ex->response,
        .body_len = ex->response_len,
        .close = ex->close_connection,
        .signature = ex->rest ? ex->rest_signature : NULL,
        .allow = ex->status == GW_ERR_METHOD_NOT_ALLOWED ? (ex->rest ? "GET" : "GET, POST") : NULL,
    };
    return GW_OK;
}
