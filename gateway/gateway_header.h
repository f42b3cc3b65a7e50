/*
 * gateway_header.h — the pide-gateway SOAP header (namespace urn:pide-gateway:header:1), after
 * X-Road's message header: who calls (client), what it calls (service), the caller's message id,
 * the official (userId), why (purpose) and the protocol version. Every element is optional in a
 * request; the response echoes them, always with an id, and adds the exchange id and the
 * requestHash. Schema: schemas/pide-gateway-header.xsd; guide: docs/security.md.
 */
#ifndef PIDE_GW_GATEWAY_HEADER_H
#define PIDE_GW_GATEWAY_HEADER_H

#include <libxml/tree.h>

#include "arena.h"
#include "namespaces.h"
#include "status.h"

#define GW_HEADER_PROTOCOL_VERSION "1.0"

typedef struct gw_request_header {
    int present;                  /* any element of ours in soap:Header */
    const char *client_member;    /* client/memberCode (RUC) */
    const char *client_subsystem; /* client/subsystemCode */
    const char *service_member;   /* service/memberCode (the provider's code) */
    const char *service_code;     /* service/serviceCode: must name the service called */
    const char *service_version;
    const char *id;               /* the caller's message id (replay detection) */
    const char *user_id;          /* the official's DNI */
    const char *purpose;
    const char *protocol_version;
} gw_request_header;

/* Reads our elements among the children of `soap_header` (may be NULL: no header). Strings are
 * arena copies. GW_ERR_BAD_HEADER with the reason in err for an unknown element of ours, a
 * repeated one, a malformed value (memberCode not 11 digits, userId not 8 digits, id longer than
 * 128 characters or with control characters) or an unsupported protocolVersion. */
gw_status gw_request_header_read(xmlNodePtr soap_header, gw_arena *arena, gw_request_header *out,
                                 char *err, size_t errlen);

/* Appends the response header elements under `soap_header`: echoes of client, service, userId
 * and purpose as received, id (the caller's or, when it sent none, the exchange id),
 * protocolVersion, exchangeId and requestHash (base64 SHA-256). */
void gw_response_header_write(xmlNodePtr soap_header, const gw_request_header *req,
                              const char *exchange_id, const unsigned char request_sha256[32]);

#endif
