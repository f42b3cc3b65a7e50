/*
 * response.h — the response envelope every exchange answers with.
 *
 * Every answer, data or Fault, is a SOAP Envelope of the exchange's version (soap_version.h: 1.1
 * or 1.2; a 1.2 Fault has Code/Subcode/Reason/Detail) whose Header carries the pide-gateway
 * header (gateway_header.h: the caller's header echoed, the message id, the exchange id — PIDE's
 * CUO — and the SHA-256 of the request as received, so a response provably answers one request)
 * and, when the request used WS-Addressing, wsa:MessageID/RelatesTo/Action (ws_addressing.h),
 * and, once signed, the ds:Signature.
 */
#ifndef PIDE_GW_RESPONSE_H
#define PIDE_GW_RESPONSE_H

#include "exchange.h"
#include "namespaces.h"

/* Creates ex->response_doc with Envelope, Header (pide-gateway header) and an empty Body. */
gw_status gw_response_envelope_create(gw_exchange *ex);
/* Replaces the Body's content with a soap:Fault for ex->status (creating the envelope if
 * needed): faultcode soap:<code>, faultstring the human message (+ detail), and a detail
 * element carrying the code and the exchange id. Sets ex->http_status. */
gw_status gw_response_set_fault(gw_exchange *ex);
/* Throws away the response built so far (data, header, any signature) and answers a Fault for
 * `st` with no detail instead, in a fresh envelope: what a stage does when the answer it holds
 * must not be sent (signing failed; the log refused the row). Sets ex->status. */
gw_status gw_response_replace_with_fault(gw_exchange *ex, gw_status st);

/* Serialises ex->response_doc into ex->response (arena) and hashes it. */
gw_status gw_response_serialise(gw_exchange *ex);

#endif
