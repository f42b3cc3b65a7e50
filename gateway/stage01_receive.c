/* stage01_receive.c — reads the request body (headers were read by the server) within the
 * configured size limit, and hashes it as received: the requestHash returned to the caller and
 * the digest in the log are over exactly these bytes. */
#include <openssl/sha.h>
#include <string.h>

#include "pipeline.h"
#include "runtime.h"
#include "stdsoap2.h"

gw_status stage_receive(gw_exchange *ex)
{
    size_t len = 0;
    char *body = soap_http_get_body(ex->soap, &len);
    if (!body) {
        /* Nothing usable was read: the connection cannot carry another request. */
        ex->soap->keep_alive = 0;
        if (ex->soap->error == SOAP_EOM)
            return exchange_fail(ex, GW_ERR_REQUEST_TOO_LARGE, "limit is %zu bytes",
                                 ex->rt->config->max_body_bytes);
        return exchange_fail(ex, GW_ERR_BAD_HTTP, "the request body could not be read");
    }
    soap_end_recv(ex->soap);
    ex->request = gw_arena_strndup(&ex->arena, body, len);
    if (!ex->request)
        return GW_ERR_NOMEM;
    ex->request_len = len;
    ex->logged_request = ex->request;
    ex->logged_request_len = len;
    SHA256((const unsigned char *)ex->request, len, ex->request_sha256);
    if (len > ex->rt->config->max_body_bytes)
        return exchange_fail(ex, GW_ERR_REQUEST_TOO_LARGE, "limit is %zu bytes",
                             ex->rt->config->max_body_bytes);
    return GW_OK;
}
