/* exchange.c — lifecycle of a gw_exchange and the helpers every stage uses. */
#include "exchange.h"

#include "clock.h"
#include "log.h"
#include "transport.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libxml/tree.h>
#include <openssl/rand.h>

gw_status gw_exchange_fail(gw_exchange *ex, gw_status st, const char *fmt, ...)
{
    ex->status = st;
    if (fmt) {
        va_list ap;
        char buf[512];
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        ex->fault_detail = gw_arena_strdup(&ex->arena, buf);
    }
    return st;
}

/* A version-7 UUID: time-ordered, so log rows of one period sit together in the index. */
static void exchange_id_generate(char out[37])
{
    unsigned char b[16];
    uint64_t ms = (uint64_t)(gw_now_us() / 1000);
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    if (RAND_bytes(b + 6, 10) != 1) {
        /* RAND_bytes only fails when the CSPRNG cannot be seeded; fall back to the clock so the
         * exchange still gets an id, and uniqueness is still enforced by the log. */
        uint64_t t = (uint64_t)gw_now_us();
        memcpy(b + 6, &t, 8);
        b[14] = b[15] = 0;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

void gw_exchange_begin(gw_exchange *ex, const struct gw_runtime *rt, struct gw_exchange_env *env,
                       const struct gw_http_request *req, const char *client_address)
{
    gw_arena arena = ex->arena;
    memset(ex, 0, sizeof *ex);
    ex->arena = arena;
    ex->rt = rt;
    ex->env = env;
    ex->http_request = req;
    ex->status = GW_OK;
    ex->http_status = 200;
    if (!client_address && req)
        client_address = req->peer_address;
    ex->client_address = gw_arena_strdup(&ex->arena, client_address);
    if (req) {
        ex->http_path = gw_arena_strdup(&ex->arena, req->path);
        ex->rest = req->face == GW_FACE_REST;
        if (req->listener == GW_LISTENER_MEMBER) {
            ex->tls_member = gw_arena_strdup(&ex->arena, req->tls_member);
            ex->tls_subject = gw_arena_strdup(&ex->arena, req->tls_subject);
            ex->tls_cert_sha256 = req->tls_cert_sha256 && req->tls_cert_sha256[0]
                                      ? gw_arena_strdup(&ex->arena, req->tls_cert_sha256)
                                      : NULL;
        }
    }
    ex->t_request_in = gw_now_us();
    exchange_id_generate(ex->exchange_id);
    /* An absent, invalid or duplicated traceparent starts a new trace: never an error. */
    if (req)
        gw_trace_begin(&ex->trace, req->traceparent, req->traceparent_len,
                       req->traceparent_count, req->tracestate, req->tracestate_len,
                       req->tracestate_count);
    else
        gw_trace_begin(&ex->trace, NULL, 0, 0, NULL, 0, 0);
    gw_log_bind_trace(ex->exchange_id, ex->trace.trace_id);
    /* Why a sent traceparent was not continued (static text: nothing of the input). */
    if (req && req->traceparent_count && !ex->trace.inherited)
        gw_log(PIDE_LOG_DEBUG, "[%s] traceparent not continued (%s): new trace %s",
               ex->exchange_id, ex->trace.why_new, ex->trace.trace_id);
}

void gw_exchange_end(gw_exchange *ex)
{
    if (ex->request_doc)
        xmlFreeDoc(ex->request_doc);
    if (ex->response_doc)
        xmlFreeDoc(ex->response_doc);
    ex->request_doc = ex->response_doc = NULL;
    gw_arena_reset(&ex->arena);
}
