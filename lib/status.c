/* status.c — one table maps each gw_status to its name, message, Fault code and HTTP status. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

struct status_info {
    const char *name;
    const char *fault_code;
    int http_code;
    const char *message;
};

static const struct status_info status_table[GW_STATUS_COUNT] = {
    [GW_OK] = {"GW_OK", "", 200, "success"},
    [GW_ERR_NOMEM] = {"GW_ERR_NOMEM", "Server.Internal", 500, "the gateway ran out of memory"},
    [GW_ERR_INVALID_ARG] = {"GW_ERR_INVALID_ARG", "Server.Internal", 500, "invalid argument"},
    [GW_ERR_IO] = {"GW_ERR_IO", "Server.Internal", 500, "input/output error"},
    [GW_ERR_CONFIG] = {"GW_ERR_CONFIG", "Server.Internal", 500, "invalid configuration"},
    [GW_ERR_BAD_HTTP] = {"GW_ERR_BAD_HTTP", "Client.BadHttpRequest", 405,
                         "the HTTP request is not a SOAP POST or a WSDL GET"},
    [GW_ERR_REQUEST_TOO_LARGE] = {"GW_ERR_REQUEST_TOO_LARGE", "Client.RequestTooLarge", 413,
                                  "the request body exceeds the gateway's size limit"},
    [GW_ERR_MALFORMED_XML] = {"GW_ERR_MALFORMED_XML", "Client.MalformedXml", 500,
                              "the request is not well-formed XML"},
    [GW_ERR_XML_LIMIT] = {"GW_ERR_XML_LIMIT", "Client.XmlLimitExceeded", 500,
                          "the request exceeds the gateway's XML depth or size limits"},
    [GW_ERR_NOT_SOAP] = {"GW_ERR_NOT_SOAP", "Client.NotSoap", 500,
                         "the request is not a SOAP Envelope with a Body"},
    [GW_ERR_MALFORMED_ENVELOPE] = {"GW_ERR_MALFORMED_ENVELOPE", "Client.MalformedEnvelope", 500,
                                   "the Envelope must hold at most one Header, then exactly one "
                                   "Body, and nothing after the Body"},
    [GW_ERR_UNKNOWN_SERVICE] = {"GW_ERR_UNKNOWN_SERVICE", "Client.UnknownService", 404,
                                "no such service on this gateway"},
    [GW_ERR_UNKNOWN_OPERATION] = {"GW_ERR_UNKNOWN_OPERATION", "Client.UnknownOperation", 500,
                                  "the service has no such operation"},
    [GW_ERR_SCHEMA_INVALID] = {"GW_ERR_SCHEMA_INVALID", "Client.SchemaInvalid", 500,
                               "the request does not conform to the service's schema"},
    [GW_ERR_AUTHENTICATION] = {"GW_ERR_AUTHENTICATION", "Client.AuthenticationFailed", 500,
                               "the caller could not be authenticated"},
    [GW_ERR_ACCESS_DENIED] = {"GW_ERR_ACCESS_DENIED", "Client.AccessDenied", 500,
                              "the caller is not granted this service operation"},
    [GW_ERR_BAD_HEADER] = {"GW_ERR_BAD_HEADER", "Client.BadHeader", 500,
                           "the pide-gateway SOAP header is malformed"},
    [GW_ERR_BAD_SIGNATURE] = {"GW_ERR_BAD_SIGNATURE", "Client.BadSignature", 500,
                              "the request's WS-Security signature is missing or invalid"},
    [GW_ERR_TIMESTAMP] = {"GW_ERR_TIMESTAMP", "Client.TimestampRejected", 500,
                          "the request's timestamp is missing, expired or too far off"},
    [GW_ERR_REPLAY] = {"GW_ERR_REPLAY", "Client.Replay", 500,
                       "a message with this id was already received from this client"},
    [GW_ERR_RATE_LIMITED] = {"GW_ERR_RATE_LIMITED", "Client.RateLimited", 429,
                             "too many requests from this client; retry later"},
    [GW_ERR_BAD_REQUEST] = {"GW_ERR_BAD_REQUEST", "Client.BadRequest", 500,
                            "the request is not one this service can accept"},
    [GW_ERR_PROVIDER_TIMEOUT] = {"GW_ERR_PROVIDER_TIMEOUT", "Server.Provider.Timeout", 500,
                                 "the provider did not answer in time"},
    [GW_ERR_PROVIDER_UNAVAILABLE] = {"GW_ERR_PROVIDER_UNAVAILABLE",
                                     "Server.Provider.Unavailable", 500,
                                     "the provider is unavailable"},
    [GW_ERR_PROVIDER_BAD_RESPONSE] = {"GW_ERR_PROVIDER_BAD_RESPONSE",
                                      "Server.Provider.BadResponse", 500,
                                      "the provider's answer could not be understood"},
    [GW_ERR_ADAPTER] = {"GW_ERR_ADAPTER", "Server.Adapter", 500,
                        "the service adapter failed"},
    [GW_ERR_SIGNATURE] = {"GW_ERR_SIGNATURE", "Server.Signature", 500,
                          "the gateway could not sign the response"},
    [GW_ERR_LOG_UNAVAILABLE] = {"GW_ERR_LOG_UNAVAILABLE", "Server.LogUnavailable", 503,
                                "the exchange could not be logged; no answer is given without "
                                "its log record"},
    [GW_ERR_DATABASE] = {"GW_ERR_DATABASE", "Server.Internal", 500, "database error"},
    [GW_ERR_ABI] = {"GW_ERR_ABI", "Server.Internal", 500, "adapter plugin rejected"},
    [GW_ERR_INTERNAL] = {"GW_ERR_INTERNAL", "Server.Internal", 500, "internal gateway error"},
    [GW_ERR_IDENTITY_MISMATCH] = {"GW_ERR_IDENTITY_MISMATCH", "Client.IdentityMismatch", 403,
                                  "a request field naming the calling entity or official "
                                  "differs from the authenticated caller"},
    [GW_ERR_BAD_FRAMING] = {"GW_ERR_BAD_FRAMING", "Client.BadHttpFraming", 400,
                            "the request's HTTP framing is malformed or ambiguous"},
    [GW_ERR_HEADER_TOO_LARGE] = {"GW_ERR_HEADER_TOO_LARGE", "Client.HeaderTooLarge", 431,
                                 "the request's HTTP header is too large"},
    [GW_ERR_EMPTY_BODY] = {"GW_ERR_EMPTY_BODY", "Client.EmptyBody", 400,
                           "the request has no body"},
    [GW_ERR_INCOMPLETE_BODY] = {"GW_ERR_INCOMPLETE_BODY", "Client.IncompleteBody", 400,
                                "the request body ended before its announced length"},
    [GW_ERR_METHOD_NOT_ALLOWED] = {"GW_ERR_METHOD_NOT_ALLOWED", "Client.MethodNotAllowed", 405,
                                   "method not allowed: use POST for SOAP, GET for ?wsdl"},
    [GW_ERR_VERSION_MISMATCH] = {"GW_ERR_VERSION_MISMATCH", "VersionMismatch", 500,
                                 "this gateway speaks SOAP 1.1 (text/xml) and SOAP 1.2 "
                                 "(application/soap+xml); see the Upgrade header"},
    [GW_ERR_ACTION_MISMATCH] = {"GW_ERR_ACTION_MISMATCH", "Client.ActionMismatch", 500,
                                "the request's action does not name the operation in its Body"},
    [GW_ERR_BAD_ADDRESSING] = {"GW_ERR_BAD_ADDRESSING", "Client.BadAddressing", 500,
                               "the request's WS-Addressing headers are malformed"},
};

static const struct status_info *status_lookup(gw_status st)
{
    if ((unsigned)st >= GW_STATUS_COUNT)
        st = GW_ERR_INTERNAL;
    return &status_table[st];
}

const char *gw_status_name(gw_status st) { return status_lookup(st)->name; }
const char *gw_status_message(gw_status st) { return status_lookup(st)->message; }
const char *gw_status_fault_code(gw_status st) { return status_lookup(st)->fault_code; }
int gw_status_http_code(gw_status st) { return status_lookup(st)->http_code; }

void gw_set_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
