/* stage13_reply.c — sends the HTTP response: the serialised envelope, its status, and the
 * exchange id in a header too, for clients that do not read SOAP headers. */
#include <stdio.h>

#include "pipeline.h"
#include "runtime.h"
#include "stdsoap2.h"

gw_status stage_reply(gw_exchange *ex)
{
    struct soap *s = ex->soap;
    char extra[128];
    int n = snprintf(extra, sizeof extra, "X-Pide-Exchange-Id: %s", ex->exchange_id);
    if (ex->retry_after_s > 0 && n > 0 && (size_t)n < sizeof extra)
        snprintf(extra + n, sizeof extra - (size_t)n, "\r\nRetry-After: %d", ex->retry_after_s);
    gw_worker_close_if_draining(ex->worker, s);
    s->http_content = "text/xml; charset=utf-8";
    s->http_extra_header = extra;
    int status = ex->http_status == 200 ? SOAP_FILE : SOAP_FILE + ex->http_status;
    int rc = soap_response(s, status) || soap_send_raw(s, ex->response, ex->response_len) ||
             soap_end_send(s);
    s->http_extra_header = NULL;
    return rc ? GW_ERR_IO : GW_OK;
}
