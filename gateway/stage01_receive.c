/* stage01_receive.c — reads the request body (headers were read by the server) within the
 * configured size limit, and hashes it as received: the requestHash returned to the caller and
 * the digest in the log are over exactly these bytes. */
#include <openssl/sha.h>
#include <string.h>

#include "pipeline.h"
#include "runtime.h"
#include "stdsoap2.h"

static gw_status too_large(gw_exchange *ex)
{
    /* The rest of the body is not read: the connection cannot carry another request. */
    ex->soap->keep_alive = 0;
    return exchange_fail(ex, GW_ERR_REQUEST_TOO_LARGE, "limit is %zu bytes",
                         ex->rt->config->max_body_bytes);
}

gw_status stage_receive(gw_exchange *ex)
{
    size_t limit = ex->rt->config->max_body_bytes;
    /* An announced length over the limit is refused before reading a byte of it. */
    if (ex->soap->length > limit)
        return too_large(ex);
    size_t len = 0;
    char *body = soap_http_get_body(ex->soap, &len);
    if (ex->worker->input.too_large || (body && len > limit))
        return too_large(ex);
    if (!body) {
        ex->soap->keep_alive = 0;
        return exchange_fail(ex, GW_ERR_BAD_HTTP, "the request body could not be read");
    }
    soap_end_recv(ex->soap);
    gw_worker_keep_read_ahead(ex->worker, ex->soap);
    ex->request = gw_arena_strndup(&ex->arena, body, len);
    if (!ex->request)
        return GW_ERR_NOMEM;
    ex->request_len = len;
    ex->logged_request = ex->request;
    ex->logged_request_len = len;
    SHA256((const unsigned char *)ex->request, len, ex->request_sha256);
    return GW_OK;
}
