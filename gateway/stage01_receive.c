/* stage01_receive.c — takes the request body the transport read (transport.h: the dispatcher
 * read and checked the whole request, server.c) and hashes it as received: the requestHash
 * returned to the caller and the digest in the log are over exactly these bytes. A request the
 * transport refused (bad framing, oversized, empty or short body, method) fails here with that
 * refusal, so it is answered with a signed Fault and logged like any other; so does one whose
 * body is over maxBodyBytes, empty or unreadable. Every refusal closes the connection. */
#include <openssl/sha.h>
#include <string.h>

#include "config.h"
#include "pipeline.h"
#include "rest_face.h"
#include "runtime.h"
#include "soap_version.h"
#include "transport.h"

static gw_status refuse(gw_exchange *ex, gw_status st, const char *why)
{
    ex->close_connection = 1;
    if (st == GW_ERR_REQUEST_TOO_LARGE)
        return gw_exchange_fail(ex, st, "limit is %zu bytes", ex->rt->config->max_body_bytes);
    return gw_exchange_fail(ex, st, "%s", why ? why : gw_status_message(st));
}

gw_status gw_stage_receive(gw_exchange *ex)
{
    const gw_http_request *in = ex->http_request;
    if (!in)
        return refuse(ex, GW_ERR_BAD_HTTP, "the request body could not be read");
    /* A REST request: the face builds the SOAP request the stages read (rest_face.h). */
    if (ex->rest) {
        gw_status st = gw_rest_request(ex);
        if (st == GW_OK)
            SHA256((const unsigned char *)ex->request, ex->request_len, ex->request_sha256);
        return st;
    }
    /* Until the Envelope is parsed, a refusal answers in the version the Content-Type names. */
    gw_soap_version_of_content_type(in->content_type, &ex->soap_version);
    if (in->refusal != GW_OK)
        return refuse(ex, in->refusal, in->refusal_why);
    if (in->body && in->body_len > ex->rt->config->max_body_bytes)
        return refuse(ex, GW_ERR_REQUEST_TOO_LARGE, NULL);
    if (!in->body)
        return refuse(ex, GW_ERR_BAD_HTTP, "the request body could not be read");
    if (in->body_len == 0)
        return refuse(ex, GW_ERR_EMPTY_BODY, "the request has no body");
    ex->request = gw_arena_strndup(&ex->arena, in->body, in->body_len);
    if (!ex->request)
        return GW_ERR_NOMEM;
    ex->request_len = in->body_len;
    /* ex->logged_request stays NULL: only stage12_log says what the log may store (redact.h). */
    SHA256((const unsigned char *)ex->request, in->body_len, ex->request_sha256);
    return GW_OK;
}
