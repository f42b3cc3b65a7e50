/*
 * status.h — the gateway's one error enum, its names, SOAP Fault codes and HTTP statuses.
 *
 * Every gateway function that can fail returns a gw_status. A failure that ends an exchange is
 * answered with the Fault code from gw_status_fault_code(): these strings are part of the public
 * contract (docs/integrator-guide.md) and never change meaning.
 */
#ifndef PIDE_GW_STATUS_H
#define PIDE_GW_STATUS_H

#include <stddef.h>

typedef enum gw_status {
    GW_OK = 0,
    GW_ERR_NOMEM,
    GW_ERR_INVALID_ARG,
    GW_ERR_IO,
    GW_ERR_CONFIG,
    GW_ERR_BAD_HTTP,            /* method not allowed, unreadable request */
    GW_ERR_REQUEST_TOO_LARGE,
    GW_ERR_MALFORMED_XML,
    GW_ERR_XML_LIMIT,           /* depth, element or attribute count exceeded */
    GW_ERR_NOT_SOAP,            /* well-formed XML but not a SOAP Envelope */
    GW_ERR_MALFORMED_ENVELOPE,  /* two Headers or Bodies, Header after Body, anything after Body */
    GW_ERR_UNKNOWN_SERVICE,
    GW_ERR_UNKNOWN_OPERATION,
    GW_ERR_SCHEMA_INVALID,
    GW_ERR_AUTHENTICATION,
    GW_ERR_ACCESS_DENIED,
    GW_ERR_BAD_HEADER,          /* the pide-gateway SOAP header is malformed or inconsistent */
    GW_ERR_BAD_SIGNATURE,       /* WS-Security signature missing, invalid or not the caller's */
    GW_ERR_TIMESTAMP,           /* wsu:Timestamp missing, expired or outside the allowed skew */
    GW_ERR_REPLAY,              /* the same message id from the same client within the window */
    GW_ERR_RATE_LIMITED,
    GW_ERR_BAD_REQUEST,         /* valid by schema, but the adapter cannot translate it */
    GW_ERR_PROVIDER_TIMEOUT,
    GW_ERR_PROVIDER_UNAVAILABLE,
    GW_ERR_PROVIDER_BAD_RESPONSE,
    GW_ERR_ADAPTER,
    GW_ERR_SIGNATURE,           /* the gateway could not sign */
    GW_ERR_LOG_UNAVAILABLE,     /* the exchange could not be logged durably: no answer given */
    GW_ERR_DATABASE,
    GW_ERR_ABI,                 /* an adapter plugin failed the loader's checks */
    GW_ERR_INTERNAL,
    GW_ERR_IDENTITY_MISMATCH,   /* a request field naming the caller is not who authenticated */
    /* HTTP framing (http_head.h, server.c) */
    GW_ERR_BAD_FRAMING,         /* conflicting, duplicate or malformed request framing: 400 */
    GW_ERR_HEADER_TOO_LARGE,    /* a header line or the whole head over its limit: 431 */
    GW_ERR_EMPTY_BODY,          /* a POST without a body: 400 */
    GW_ERR_INCOMPLETE_BODY,     /* the body stopped short of its announced length: 400 */
    GW_ERR_METHOD_NOT_ALLOWED,  /* neither POST nor GET: 405 */
    /* SOAP versions and WS-Addressing (soap_version.h, ws_addressing.h) */
    GW_ERR_VERSION_MISMATCH,    /* Envelope namespace unknown, or Content-Type of the other version */
    GW_ERR_ACTION_MISMATCH,     /* wsa:Action / SOAP 1.2 action does not name the operation */
    GW_ERR_BAD_ADDRESSING,      /* WS-Addressing headers duplicated, oversized or malformed */
    GW_STATUS_COUNT
} gw_status;

/* "GW_ERR_MALFORMED_XML" */
const char *gw_status_name(gw_status st);
/* A human sentence, safe to show to a caller (never contains secrets). */
const char *gw_status_message(gw_status st);
/* "Client.MalformedXml"; "Server.Internal" for codes that never reach a caller. */
const char *gw_status_fault_code(gw_status st);
/* The HTTP status a Fault for this code is sent with (SOAP 1.1: 500, 4xx for HTTP-level). */
int gw_status_http_code(gw_status st);

/* printf into a caller's error buffer (err may be NULL or errlen 0: nothing is written). Every
 * function that explains a failure takes (char *err, size_t errlen) and fills it with this. */
void gw_set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
