/*
 * transport.h — the seam between the transport (server.c: sockets, TLS, HTTP framing,
 * keep-alive, draining) and the pipeline (pipeline.c and the stages), as two plain values.
 *
 * The transport reads and checks one whole request, then hands the pipeline a gw_http_request:
 * the bytes and the facts about the connection that the exchange needs (peer address, which
 * listener, the mutual-TLS identity) or the refusal the transport decided on. The pipeline
 * answers with a gw_http_response: status, content type, the headers it adds, the body bytes
 * and whether the connection must close afterwards. The transport writes it. Nothing of the
 * connection (socket, engine, read-ahead, draining) crosses this seam, so the stages can be
 * driven with an in-memory request (tests/unit/check_pipeline.c).
 */
#ifndef PIDE_GW_TRANSPORT_H
#define PIDE_GW_TRANSPORT_H

#include <stddef.h>

#include "status.h"

typedef enum gw_listener_kind {
    GW_LISTENER_PLAIN = 0,       /* HTTP, meant for loopback */
    GW_LISTENER_MEMBER = 1,      /* HTTPS with client certificates (<tls>) */
} gw_listener_kind;

/* Which face of the gateway a request speaks: SOAP (POST /services/...) or REST/JSON
 * (GET /rest/..., rest_face.h). */
typedef enum gw_face {
    GW_FACE_SOAP = 0,
    GW_FACE_REST = 1,
} gw_face;

/* A header field as received (not NUL-terminated) and how many fields of that name came. */
typedef struct gw_http_field {
    const char *value;
    size_t len;
    int count;
} gw_http_field;

typedef struct gw_http_request {
    gw_face face;
    const char *method;          /* "POST" (GETs are the transport's own: WSDL, schemas, health) */
    const char *path;            /* request target, e.g. /services/Name (a query is ignored) */
    const char *content_type;    /* as received, or NULL */
    const char *soap_action;     /* as received, or NULL */
    const char *body;            /* decoded body (chunked framing removed); NULL: unreadable */
    size_t body_len;
    const char *peer_address;    /* the client's IP address, text */
    gw_listener_kind listener;
    /* mutual TLS, member listener only (NULL otherwise) */
    const char *tls_member;      /* RUC from the client certificate; "" when it carries none */
    const char *tls_subject;
    const char *tls_cert_sha256; /* hex fingerprint of the client certificate */
    /* W3C Trace Context headers as received (not NUL-terminated; the last of each name) and
     * how many fields of each name came: 0 absent, >1 duplicated (trace_context.h) */
    const char *traceparent;
    size_t traceparent_len;
    int traceparent_count;
    const char *tracestate;
    size_t tracestate_len;
    int tracestate_count;
    /* The transport refused the request (framing, size, method, incomplete body): the pipeline
     * answers it with that Fault (signed and logged). GW_OK: not refused. */
    gw_status refusal;
    const char *refusal_why;     /* detail for the Fault, or NULL for the code's own message */
    /* REST face only: the query (after '?', not decoded) and the PIDE-* request headers */
    const char *query;
    size_t query_len;
    gw_http_field pide_message_id, pide_purpose, pide_user_id;
} gw_http_request;

typedef struct gw_http_response {
    int status;                  /* HTTP status code */
    const char *content_type;
    const char *exchange_id;     /* sent as X-Pide-Exchange-Id, or NULL */
    const char *traceparent;     /* sent as traceparent (the gateway's span), or NULL */
    int retry_after_s;           /* > 0: sent as Retry-After */
    const char *body;            /* exactly the bytes signed and logged */
    size_t body_len;
    int close;                   /* the connection closes after this answer */
    const char *signature;       /* REST: sent as X-Pide-Signature (rest_sign.h), or NULL */
    const char *allow;           /* sent as Allow (a 405), or NULL */
} gw_http_response;

#endif
