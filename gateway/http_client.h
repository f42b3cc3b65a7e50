/*
 * http_client.h — outbound HTTP(S) calls to providers, on gSOAP's client engine.
 *
 * One client per worker thread: it keeps its connection to the provider alive between
 * exchanges (providers are called thousands of times a second; a TCP or TLS handshake per call
 * would dominate). A call reused on a connection the provider has meanwhile closed is retried
 * once on a fresh connection; anything else is reported, classified as a timeout or as the
 * provider being unavailable.
 */
#ifndef PIDE_GW_HTTP_CLIENT_H
#define PIDE_GW_HTTP_CLIENT_H

#include "arena.h"
#include "pide_adapter.h"
#include "status.h"

typedef struct gw_http_client gw_http_client;

gw_http_client *gw_http_client_new(void);
void gw_http_client_free(gw_http_client *c);

/* Performs req (url must be set). The response body is copied into `arena`. headers: extra
 * request header lines ("Name: value", joined by CRLF, no trailing CRLF) or NULL.
 * GW_OK: a response arrived (any HTTP status; see resp->status).
 * GW_ERR_PROVIDER_TIMEOUT / GW_ERR_PROVIDER_UNAVAILABLE otherwise, with a reason in err. */
gw_status gw_http_call(gw_http_client *c, gw_arena *arena, const pide_http_request *req,
                       const char *headers, pide_http_response *resp, char *err, size_t errlen);

#endif
