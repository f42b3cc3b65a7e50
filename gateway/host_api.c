/* host_api.c — the services the gateway lends adapters (pide_host_api), bound to an exchange. */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapter_loader.h"
#include "circuit_breaker.h"
#include "exchange.h"
#include "clock.h"
#include "config.h"
#include "exchange_env.h"
#include "http_client.h"
#include "log.h"
#include "runtime.h"
#include "wss.h"
#include "xml_sign.h"

static void *host_alloc(pide_exchange *ex, size_t size) { return gw_arena_alloc(&ex->arena, size); }

static char *host_strdup(pide_exchange *ex, const char *s) { return gw_arena_strdup(&ex->arena, s); }

static void host_log(pide_exchange *ex, pide_log_level level, const char *fmt, ...)
{
    char prefix[64];
    va_list ap;
    if (ex)
        snprintf(prefix, sizeof prefix, "[%s]", ex->exchange_id);
    va_start(ap, fmt);
    gw_vlog(level, ex ? prefix : "[adapter]", fmt, ap);
    va_end(ap);
}

/* The call itself: the circuit breaker, the four timestamps, the trace headers, then `extra`
 * header lines ("Name: value" joined by CRLF; may be NULL). */
static pide_result http_call_with(pide_exchange *ex, const pide_http_request *req,
                                  const char *extra, pide_http_response *resp)
{
    const pide_service_config *sc = ex->service->binding->service_config;
    pide_http_request r = *req;
    if (!r.url)
        r.url = sc->endpoint_url;
    if (!r.timeout_ms)
        r.timeout_ms = sc->timeout_ms;
    char err[512];
    /* A provider whose circuit is open is not called: the adapter hears "unavailable" at once,
     * what the timeout would have told it later (circuit_breaker.h). */
    if (!ex->breaker_circuit) {
        gw_breaker_ticket t;
        const char *origin = NULL;
        if (!gw_breaker_admit(ex->rt->breakers, ex->service->index, gw_monotonic_us(), &t,
                              &origin)) {
            ex->fault_detail = gw_arena_printf(&ex->arena,
                                               "provider %s: circuit open after repeated "
                                               "failures, not called", origin);
            return PIDE_ERR_PROVIDER_UNAVAILABLE;
        }
        ex->breaker_circuit = t.circuit;
        ex->breaker_probe = t.probe;
    }
    int64_t t_out = gw_now_us();
    if (!ex->t_provider_out)
        ex->t_provider_out = t_out;
    /* The exchange's trace goes on to the provider with the gateway's span as its parent. */
    const char *trace = NULL;
    if (ex->trace.traceparent[0])
        trace = ex->trace.tracestate[0]
                    ? gw_arena_printf(&ex->arena, "traceparent: %s\r\ntracestate: %s",
                                      ex->trace.traceparent, ex->trace.tracestate)
                    : gw_arena_printf(&ex->arena, "traceparent: %s", ex->trace.traceparent);
    const char *headers = trace && extra ? gw_arena_printf(&ex->arena, "%s\r\n%s", trace, extra)
                          : trace        ? trace
                                         : extra;
    gw_status st = gw_http_call(ex->env->http, &ex->arena, &r, headers, resp, err, sizeof err);
    ex->t_provider_in = gw_now_us();
    if (st == GW_OK)
        return PIDE_OK;
    gw_log(PIDE_LOG_WARN, "[%s] provider call failed: %s", ex->exchange_id, err);
    ex->fault_detail = gw_arena_strdup(&ex->arena, err);
    return st == GW_ERR_PROVIDER_TIMEOUT ? PIDE_ERR_PROVIDER_TIMEOUT
                                         : PIDE_ERR_PROVIDER_UNAVAILABLE;
}

static pide_result host_http_call(pide_exchange *ex, const pide_http_request *req,
                                  pide_http_response *resp)
{
    return http_call_with(ex, req, NULL, resp);
}

#define MAX_EXTRA_HEADERS 16
#define MAX_HEADER_VALUE 1024

/* Why an adapter may not send header `name` (NULL: it may): an HTTP token of 1-64 characters
 * that the host does not write itself. */
static const char *header_name_refusal(const char *name)
{
    static const char *const reserved[] = {
        "host",       "content-length", "content-type", "transfer-encoding",
        "connection", "keep-alive",     "te",           "trailer",
        "upgrade",    "expect",         "soapaction",   "traceparent",
        "tracestate",
    };
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return "a header name must have 1 to 64 characters";
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return "a header name must be an HTTP token";
    if (strncasecmp(name, "proxy-", 6) == 0)
        return "the host writes this header itself";
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return "the host writes this header itself";
    return NULL;
}

static int header_value_ok(const char *v)
{
    size_t n = 0;
    for (; v && v[n]; n++)
        if (((unsigned char)v[n] < 0x20 && v[n] != '\t') || v[n] == 0x7f)
            return 0;
    return v && n <= MAX_HEADER_VALUE;
}

static pide_result host_http_call_headers(pide_exchange *ex, const pide_http_request *req,
                                          const char *const *names, const char *const *values,
                                          size_t count, pide_http_response *resp)
{
    if (count > MAX_EXTRA_HEADERS) {
        gw_log(PIDE_LOG_WARN, "[%s] adapter asked for %zu provider headers (at most %d)",
               ex->exchange_id, count, MAX_EXTRA_HEADERS);
        return PIDE_ERR_INTERNAL;
    }
    size_t len = 0;
    for (size_t i = 0; i < count; i++) {
        const char *why = header_name_refusal(names[i]);
        if (why) {
            gw_log(PIDE_LOG_WARN, "[%s] provider header '%.64s' refused: %s", ex->exchange_id,
                   names[i] ? names[i] : "", why);
            return PIDE_ERR_INTERNAL;
        }
        if (!header_value_ok(values[i])) {
            /* the value is not logged: it may carry request data or a provider's key */
            gw_log(PIDE_LOG_WARN,
                   "[%s] provider header '%s' refused: its value is over %d characters or holds "
                   "a control character",
                   ex->exchange_id, names[i], MAX_HEADER_VALUE);
            return PIDE_ERR_BAD_REQUEST;
        }
        len += strlen(names[i]) + strlen(values[i]) + 4;
    }
    char *extra = NULL;
    if (count) {
        extra = gw_arena_alloc(&ex->arena, len + 1);
        if (!extra)
            return PIDE_ERR_NOMEM;
        char *p = extra;
        for (size_t i = 0; i < count; i++)
            p += sprintf(p, "%s%s: %s", i ? "\r\n" : "", names[i], values[i]);
    }
    return http_call_with(ex, req, extra, resp);
}

static void host_set_subject(pide_exchange *ex, const char *id_type, const char *id)
{
    ex->subject_type = gw_arena_strdup(&ex->arena, id_type);
    ex->subject_id = gw_arena_strdup(&ex->arena, id);
}

static void host_set_purpose(pide_exchange *ex, const char *purpose, const char *procedure)
{
    ex->purpose = gw_arena_strdup(&ex->arena, purpose);
    ex->procedure = gw_arena_strdup(&ex->arena, procedure);
}

static void host_set_result_code(pide_exchange *ex, const char *code)
{
    ex->result_code = gw_arena_strdup(&ex->arena, code);
}

static void host_set_caller_audit(pide_exchange *ex, const char *host_name, const char *ip,
                                  const char *user_name, const char *mac)
{
    ex->caller_host = gw_arena_strdup(&ex->arena, host_name);
    ex->caller_ip = gw_arena_strdup(&ex->arena, ip);
    ex->caller_user = gw_arena_strdup(&ex->arena, user_name);
    ex->caller_mac = gw_arena_strdup(&ex->arena, mac);
}

static pide_result host_sign_document(pide_exchange *ex, xmlDocPtr doc, xmlNodePtr parent)
{
    return gw_sign_document(ex->env->sign, doc, parent, NULL) == GW_OK ? PIDE_OK
                                                                          : PIDE_ERR_INTERNAL;
}

/* The identity gw_stage_identify established (and gw_stage_bind completed), in exchange memory. */
static const pide_identity *host_identity(pide_exchange *ex)
{
    if (!ex || !ex->client_member || !*ex->client_member || !ex->rt || !ex->rt->config)
        return NULL;
    const gw_member *m = gw_config_find_member(ex->rt->config, ex->client_member);
    if (!m)
        return NULL;
    pide_identity *id = gw_arena_calloc(&ex->arena, 1, sizeof *id);
    if (!id)
        return NULL;
    id->struct_size = (uint32_t)sizeof *id;
    id->member = m->id;
    id->member_name = m->name;
    id->subsystem = ex->header.client_subsystem;
    id->official = ex->client_user && *ex->client_user ? ex->client_user : NULL;
    id->auth_method = ex->auth_method;
    /* The same certificate the log row names (stage12_log.c): the signer's, else the TLS
     * client's. */
    id->cert_sha256 = ex->signer_cert_sha256 ? ex->signer_cert_sha256 : ex->tls_cert_sha256;
    id->institution_code = gw_member_institution_code(m);
    return id;
}

/* A service's WS-Security key for its provider (pide_host_api.wss_signer_open). */
struct pide_wss_signer {
    gw_signer *signer;
};

static pide_wss_signer *host_wss_signer_open(const pide_service_config *cfg, const char *key_pem,
                                             const char *cert_pem)
{
    char err[512] = "";
    pide_wss_signer *w = calloc(1, sizeof *w);
    if (!w || !key_pem || !cert_pem ||
        gw_signer_open(key_pem, cert_pem, &w->signer, err, sizeof err) != GW_OK) {
        gw_log(PIDE_LOG_ERROR,
               "[adapter] service %s: the WS-Security signing key for its "
               "provider cannot be used: %s",
               cfg && cfg->service_name ? cfg->service_name : "?",
               err[0] ? err : "out of memory or no key/certificate path");
        free(w);
        return NULL;
    }
    return w;
}

static pide_result host_wss_sign(pide_exchange *ex, pide_wss_signer *w, xmlDocPtr envelope,
                                 int ttl_seconds)
{
    char err[512] = "";
    gw_sign_ctx *ctx = NULL;
    pide_result rc = PIDE_ERR_INTERNAL;
    /* One context per call: xmlsec keys are not shared between signing threads (xml_sign.h). */
    if (!w || gw_sign_ctx_new(w->signer, &ctx) != GW_OK) {
        gw_set_error(err, sizeof err, "no signer, or out of memory");
        goto fail;
    }
    if (gw_wss_sign(ctx, envelope, (time_t)(gw_now_us() / 1000000), ttl_seconds, NULL, err,
                    sizeof err) != GW_OK)
        goto fail;
    rc = PIDE_OK;
fail:
    if (rc != PIDE_OK)
        gw_log(PIDE_LOG_ERROR, "[%s] WS-Security signing of the provider request failed: %s",
               ex ? ex->exchange_id : "adapter", err);
    gw_sign_ctx_free(ctx);
    return rc;
}

static void host_wss_signer_close(pide_wss_signer *w)
{
    if (!w)
        return;
    gw_signer_close(w->signer);
    free(w);
}

/* Only in the table a gw_runtime holds (gw_runtime_host_config_dir sets it): `host` is then
 * that runtime's own member. */
static const char *host_config_dir(const pide_host_api *host)
{
    const gw_runtime *rt =
        (const gw_runtime *)(const void *)((const char *)host - offsetof(gw_runtime, host));
    return rt->config ? rt->config->base_dir : NULL;
}

void gw_host_api_set_config_dir(pide_host_api *api) { api->config_dir = host_config_dir; }

void gw_host_api_init(pide_host_api *api)
{
    memset(api, 0, sizeof *api);
    api->abi_version = PIDE_ADAPTER_ABI_VERSION;
    api->struct_size = (uint32_t)sizeof *api;
    api->alloc = host_alloc;
    api->strdup = host_strdup;
    api->log = host_log;
    api->config_param = gw_pide_config_param;
    api->http_call = host_http_call;
    api->http_call_headers = host_http_call_headers;
    api->set_subject = host_set_subject;
    api->set_purpose = host_set_purpose;
    api->set_result_code = host_set_result_code;
    api->sign_document = host_sign_document;
    api->set_caller_audit = host_set_caller_audit;
    api->identity = host_identity;
    api->wss_signer_open = host_wss_signer_open;
    api->wss_sign = host_wss_sign;
    api->wss_signer_close = host_wss_signer_close;
}
