/* stage01_receive.c — reads the request body (the dispatcher read and checked the whole
 * request, server.c; headers were parsed by the engine) and hashes it as received: the
 * requestHash returned to the caller and the digest in the log are over exactly these bytes.
 * A request the dispatcher refused (bad framing, oversized, empty or short body, method) fails
 * here with that refusal, so it is answered with a signed Fault and logged like any other. */
#include <openssl/sha.h>
#include <string.h>

#include "pipeline.h"
#include "runtime.h"
#include "stdsoap2.h"

static gw_status too_large(gw_exchange *ex)
{
    ex->soap->keep_alive = 0;
    return exchange_fail(ex, GW_ERR_REQUEST_TOO_LARGE, "limit is %zu bytes",
                         ex->rt->config->max_body_bytes);
}

gw_status stage_receive(gw_exchange *ex)
{
    gw_worker *w = ex->worker;
    if (w && w->input.refusal != GW_OK) {
        ex->soap->keep_alive = 0;
        if (w->input.refusal == GW_ERR_REQUEST_TOO_LARGE)
            return too_large(ex);
        return exchange_fail(ex, w->input.refusal, "%s",
                             w->input.refusal_why ? w->input.refusal_why
                                                  : gw_status_message(w->input.refusal));
    }
    size_t limit = ex->rt->config->max_body_bytes;
    /* An announced length over the limit is refused before reading a byte of it. */
    if (ex->soap->length > limit)
        return too_large(ex);
    size_t len = 0;
    char *body = soap_http_get_body(ex->soap, &len);
    if (body && len > limit)
        return too_large(ex);
    if (!body || len == 0) {
        ex->soap->keep_alive = 0;
        return exchange_fail(ex, body ? GW_ERR_EMPTY_BODY : GW_ERR_BAD_HTTP,
                             body ? "the request has no body"
                                  : "the request body could not be read");
    }
    soap_end_recv(ex->soap);
    ex->request = gw_arena_strndup(&ex->arena, body, len);
    if (!ex->request)
        return GW_ERR_NOMEM;
    ex->request_len = len;
    /* ex->logged_request stays NULL: only stage12_log says what the log may store (redact.h). */
    SHA256((const unsigned char *)ex->request, len, ex->request_sha256);
    return GW_OK;
}
