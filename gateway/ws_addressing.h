/*
 * ws_addressing.h — WS-Addressing 1.0 (W3C 2005/08) headers of a request and of its answer.
 *
 * A request may carry wsa:MessageID (used as the message id for replay protection when it has
 * no pgw:id), wsa:Action (must name the operation of the Body: gw_action_names_operation, the
 * one policy also applied to SOAPAction and SOAP 1.2's action parameter), wsa:To and
 * wsa:ReplyTo/FaultTo (anonymous or none only: the gateway answers on the HTTP response and
 * never sends a message anywhere else). Each at most once, values of at most 256 printable
 * characters. The answer carries wsa:MessageID of its own, wsa:RelatesTo the request's, and
 * wsa:Action. Guide: docs/soap-versions.md; replay: docs/security.md.
 */
#ifndef PIDE_GW_WS_ADDRESSING_H
#define PIDE_GW_WS_ADDRESSING_H

#include <libxml/tree.h>

#include "arena.h"
#include "status.h"

#define GW_WSA_MAX_VALUE 256

typedef struct gw_wsa_request {
    int present;             /* any wsa: element in the header */
    const char *message_id;  /* arena copies, or NULL */
    const char *action;
    const char *to;
} gw_wsa_request;

/* Reads the wsa: children of `soap_header` (NULL: none). GW_ERR_BAD_ADDRESSING with the reason
 * in err for a duplicated, unknown, empty, oversized or structured value, a missing wsa:Action
 * when other wsa: headers are present, or a ReplyTo/FaultTo that is not anonymous/none. */
gw_status gw_wsa_read(xmlNodePtr soap_header, gw_arena *arena, gw_wsa_request *out, char *err,
                      size_t errlen);

/* 1 when `action` (a URI) names `operation`: its last segment after '/', '#' or ':' is the
 * operation or the operation followed by "Request". An empty or NULL action names nothing and
 * is not checked by callers (SOAPAction "" is SOAP 1.1's "no intent"). */
int gw_action_names_operation(const char *action, const char *operation);

/* Appends wsa:MessageID (urn:uuid:<exchange_id>), wsa:RelatesTo (relates_to, when given) and
 * wsa:Action (when given) under `soap_header`. */
void gw_wsa_response_write(xmlNodePtr soap_header, const char *relates_to, const char *action,
                           const char *exchange_id);

#endif
