/*
 * rest_face.h — the REST/JSON face of the gateway (docs/integrator-guide.md, "REST"): one module
 * decides what a REST exchange means for the stages, as soap_version.h does for SOAP 1.2.
 *
 *   GET /rest/<service>/<operation>?<field>=<value>&...   (member listener, mutual TLS only)
 *   PIDE-Message-Id: the caller's message id (pgw:id: replay detection, the log)
 *   PIDE-Purpose: why (pgw:purpose);  PIDE-User-Id: the official's DNI (pgw:userId)
 *
 * The request: the query is mapped onto the operation's element per the service's XSD
 * (rest_schema.h: the simple elements, by local name, in XSD order; complex ones are built as
 * wrappers), and the face hands the stages the very SOAP 1.1 request a SOAP client would send
 * (stage01_receive), so XSD validation, identification, identity binding, authorization,
 * throttling, replay, invocation and logging are the SOAP path's. Strict: a malformed percent
 * escape, invalid UTF-8, a control character, an unknown, duplicated (unless the XSD repeats
 * it) or secret-named parameter, or a query over GW_REST_MAX_QUERY bytes is refused before any
 * of it is used or logged. Secret-named elements (redact.h) are never taken from the query: a
 * required one is filled with GW_REST_SECRET_PLACEHOLDER (REST identifies by certificate only,
 * nothing reads it). An identity field (<identityField>) the query omits is filled from the
 * authenticated member (is="member", is="institutionCode") or PIDE-User-Id (is="official").
 *
 * The answer (stage11_sign): the operation's response element as JSON (gw_rest_json_of), with
 * exchangeId, messageId and requestHash; a refusal as {"code", "message", "exchangeId"} with the
 * Fault's stable code and an HTTP status of its own (gw_rest_http_status); signed with a
 * detached JWS (rest_sign.h). The log row stores the JSON exactly as sent.
 */
#ifndef PIDE_GW_REST_FACE_H
#define PIDE_GW_REST_FACE_H

#include <stddef.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "exchange.h"
#include "rest_schema.h"
#include "status.h"

#define GW_REST_PREFIX "/rest/"
#define GW_REST_MAX_QUERY 4096
#define GW_REST_MAX_PARAMS 64
#define GW_REST_SECRET_PLACEHOLDER "mutual-tls"
#define GW_REST_OPENAPI_NAME "openapi.json"

/* A value for a field the query leaves out (identity fields). */
typedef struct gw_rest_default {
    const char *name;
    const char *value;
} gw_rest_default;

/* Appends under `op` (the operation element, in the target namespace `tns`) the elements the
 * query q[0..qlen) (without '?') gives, per el. GW_ERR_BAD_REQUEST with the reason in err for
 * a malformed, unknown, duplicated or secret-named parameter (the reason never quotes a value). */
gw_status gw_rest_query_to_element(const gw_rest_element *el, const char *q, size_t qlen,
                                   const gw_rest_default *defaults, size_t ndefaults, xmlNodePtr op,
                                   xmlNsPtr tns, char *err, size_t errlen);

/* The JSON of element `e` (its local name is the key the caller puts it under): an object of
 * its children; a simple element is a string, or a number / boolean when el types it so; an
 * element the XSD repeats (maxOccurs > 1) is always an array. el may be NULL (no schema: every
 * leaf a string, repeated names arrays). New reference, NULL on out of memory. */
json_t *gw_rest_json_of(xmlNodePtr e, const gw_rest_element *el);

/* The HTTP status of a REST refusal for st: 400 malformed/invalid, 401 not authenticated, 403
 * denied, 404 unknown service/operation, 405, 409 replay, 413/414/431 sizes, 429, 502/503/504
 * provider, 500 otherwise. */
int gw_rest_http_status(gw_status st);

/* 1 when the request path is a REST one. */
int gw_rest_path(const char *path);

/* stage01_receive for a REST request: builds ex->request (the SOAP request) from the path,
 * query and headers, or fails the exchange. */
gw_status gw_rest_request(gw_exchange *ex);
/* stage11_sign for a REST exchange: the JSON answer, its JWS, ex->response and its hash. */
gw_status gw_rest_answer(gw_exchange *ex);
/* The log refused the row (stage12_log.c): ex->response becomes the unsigned JSON error of
 * ex->status (no signature vouches for an exchange that has no log record). */
void gw_rest_unsigned_error(gw_exchange *ex);

#endif
