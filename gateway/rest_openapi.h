/*
 * rest_openapi.h — the OpenAPI 3.1 document of a service's REST face (rest_face.h), generated
 * from its XSD (rest_schema.h) and served at GET /rest/<service>/openapi.json on the member
 * listener to any authenticated member (as getWsdl is).
 *
 * One path per operation the service's adapter serves (GET /<operation>, server /rest/<service>):
 * the query parameters are the operation element's simple elements with their XSD types and
 * facets (pattern anchored as ^(?:...)$, length, minLength, maxLength, enumerations, bounds; an
 * element with maxOccurs > 1 an exploded array), plus the PIDE-Message-Id, PIDE-Purpose and
 * PIDE-User-Id headers; the 200 answer is the response element's JSON (gw_rest_json_of) with
 * exchangeId, messageId and requestHash; every refusal the Error schema. Answers carry
 * X-Pide-Exchange-Id and X-Pide-Signature (rest_sign.h). Security: mutualTLS.
 */
#ifndef PIDE_GW_REST_OPENAPI_H
#define PIDE_GW_REST_OPENAPI_H

#include <stddef.h>

#include "status.h"

struct gw_service;

/* The document as JSON text (malloc'd, *len bytes). */
gw_status gw_rest_openapi(const struct gw_service *svc, char **out, size_t *len, char *err,
                          size_t errlen);

#endif
