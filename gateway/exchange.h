/*
 * exchange.h — one request/response exchange as it travels the pipeline.
 *
 * A worker fills a gw_exchange stage by stage (pipeline.c lists them in order) and everything
 * the exchange owns comes from ex->arena, released in one go by gw_exchange_end(). Adapters see
 * the same struct as the opaque `pide_exchange` of the ABI header.
 */
#ifndef PIDE_GW_EXCHANGE_H
#define PIDE_GW_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "arena.h"
#include "gateway_header.h"
#include "pide_adapter.h"
#include "soap_version.h"
#include "status.h"
#include "trace_context.h"

struct gw_runtime;
struct gw_exchange_env;
struct gw_http_request;
struct gw_http_response;
struct gw_service;

struct pide_exchange {
    gw_arena arena;
    const struct gw_runtime *rt;   /* process-wide, read-only: config, services, log, keys */
    struct gw_exchange_env *env;   /* this thread's resources: provider client, signing, XSD */
    const struct gw_http_request *http_request; /* what the transport read (transport.h) */

    char exchange_id[37];          /* UUID text: the CUO returned to the caller and logged */
    gw_trace_context trace;        /* W3C trace: the caller's or a new one, and our span */
    const char *client_address;
    const char *http_path;

    /* receive */
    char *request;                 /* body as received, NUL-terminated */
    size_t request_len;
    unsigned char request_sha256[32];
    const char *logged_request;    /* what the log stores: set by stage12_log (gw_redact_request) */
    size_t logged_request_len;

    /* parse + route */
    gw_soap_version soap_version;  /* what the exchange speaks and answers in (soap_version.h) */
    xmlDocPtr request_doc;
    xmlNodePtr request_operation;  /* first element child of soap:Body */
    xmlNodePtr request_header;     /* soap:Header, or NULL */
    gw_request_header header;      /* our header elements in it */
    /* WS-Addressing (ws_addressing.h): set when the request carried wsa: headers */
    int wsa_used;
    const char *wsa_message_id;    /* the request's wsa:MessageID */
    const char *wsa_action;        /* the request's wsa:Action */
    const char *message_id;        /* pgw:id, else wsa:MessageID: replay key and logged */
    const struct gw_service *service;
    const char *operation;

    /* the member listener's client certificate, when the request came over mutual TLS */
    const char *tls_member;        /* RUC from the certificate; "" when it carries none */
    const char *tls_subject;

    const char *tls_cert_sha256;

    /* a WS-Security signed request (stage06_verify) */
    int request_signed;
    const char *signer_member;     /* RUC of the signing certificate */
    const char *signer_cert_sha256;
    const char *request_signature_value;
    const char *request_replay_key;  /* replay guard key of a signed request (wss.h replay_key) */

    /* identify + authorize */
    const char *client_member;
    const char *client_user;
    const char *auth_method;

    /* what the adapter declared */
    const char *subject_type;
    const char *subject_id;
    const char *purpose;
    const char *procedure;
    const char *result_code;
    const char *caller_host;       /* audit fields the request declares (set_caller_audit) */
    const char *caller_ip;
    const char *caller_user;
    const char *caller_mac;

    /* response */
    xmlDocPtr response_doc;
    xmlNodePtr response_header;
    xmlNodePtr response_body;
    const char *signature_value;   /* base64, arena copy */
    char *response;                /* serialised, arena copy */
    size_t response_len;
    unsigned char response_sha256[32];

    /* outcome */
    gw_status status;
    const char *fault_detail;      /* what exactly went wrong, shown in the Fault (no secrets) */
    int http_status;
    int retry_after_s;             /* > 0: sent as Retry-After (rate limiting) */
    int close_connection;          /* the answer closes the connection (a refused request) */
    struct gw_http_response *reply; /* where gw_stage_reply puts the answer (transport.h) */
    /* Set by a caller that does not wait for the log commit (pipeline.h): gw_stage_log hands the
     * row over and log_notify(log_notify_arg, status) reports its commit later. */
    void (*log_notify)(void *arg, gw_status status);
    void *log_notify_arg;
    int log_pending;               /* the row is handed over, its commit not yet reported */

    /* microseconds since the epoch; 0 = did not happen */
    int64_t t_request_in;
    int64_t t_provider_out;
    int64_t t_provider_in;
    /* The provider endpoint's circuit this exchange was let through (circuit_breaker.h): taken
     * by the first provider call, settled by gw_stage_invoke with the adapter's result. */
    struct gw_breaker *breaker_circuit;
    int breaker_probe;
    int64_t t_response_out;

    /* the REST face (rest_face.h): answered in JSON with a JWS instead of a SOAP envelope */
    int rest;
    const char *rest_signature; /* the X-Pide-Signature value */
    int rest_http_status;       /* > 0: the status a REST refusal is answered with */
};

typedef struct pide_exchange gw_exchange;

/* gw_now_us(), the wall clock the log stores, is clock.h's. */

/* Records why the exchange failed and returns st, so stages can `return gw_exchange_fail(...)`. */
gw_status gw_exchange_fail(gw_exchange *ex, gw_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets ex for a new exchange of request `req` (transport.h; may be NULL), run with this
 * thread's resources `env`. client_address NULL: the request's peer address. */
void gw_exchange_begin(gw_exchange *ex, const struct gw_runtime *rt, struct gw_exchange_env *env,
                       const struct gw_http_request *req, const char *client_address);
/* Frees the documents and rewinds the arena. */
void gw_exchange_end(gw_exchange *ex);

#endif
