/*
 * soap_version.h — the one place that decides which SOAP version an exchange speaks (SOAP 1.1,
 * text/xml, or SOAP 1.2, application/soap+xml) and what that implies: the envelope namespace,
 * the response Content-Type, the HTTP status of a Fault (SOAP 1.2 HTTP binding) and the Fault
 * code class. Rules (docs/soap-versions.md):
 *   - the Envelope's namespace decides the version; an Envelope in no namespace is not SOAP
 *     (Client.NotSoap); one in a namespace that is neither SOAP 1.1's nor 1.2's is
 *     a VersionMismatch (answered in SOAP 1.1 with an env:Upgrade header, SOAP 1.2 Appendix A);
 *   - a Content-Type that names the other version (text/xml with a 1.2 Envelope,
 *     application/soap+xml with a 1.1 one) is a VersionMismatch answered in the version the
 *     Content-Type names (the binding the client's HTTP stack expects to read);
 *   - any other or no Content-Type is left to the Envelope (older clients send none).
 */
#ifndef PIDE_GW_SOAP_VERSION_H
#define PIDE_GW_SOAP_VERSION_H

#include <libxml/tree.h>

#include "status.h"

typedef enum gw_soap_version {
    GW_SOAP_11 = 0, /* the default: what every exchange answers in until parsed */
    GW_SOAP_12 = 1,
} gw_soap_version;

/* The envelope namespace of v. */
const char *gw_soap_version_ns(gw_soap_version v);
/* "1.1" or "1.2". */
const char *gw_soap_version_name(gw_soap_version v);
/* The Content-Type a response in v is sent with. */
const char *gw_soap_version_content_type(gw_soap_version v);
/* The version an HTTP Content-Type names: 1 and *out set for text/xml (1.1) or
 * application/soap+xml (1.2), media type compared case-insensitively, parameters ignored;
 * 0 for anything else or NULL. */
int gw_soap_version_of_content_type(const char *content_type, gw_soap_version *out);
/* The `action` parameter of an application/soap+xml Content-Type (quotes removed), as an
 * arena-free copy in out (outlen bytes); 0 when there is none or it does not fit. */
int gw_soap_version_action_param(const char *content_type, char *out, size_t outlen);
/* Decides the version of a request from its Content-Type and its root element `env` (which must
 * be named Envelope). GW_OK with *out set; GW_ERR_VERSION_MISMATCH with *out the version to
 * answer in and the reason in err; GW_ERR_NOT_SOAP for an Envelope in no namespace. */
gw_status gw_soap_version_decide(const char *content_type, xmlNodePtr env, gw_soap_version *out,
                                 char *err, size_t errlen);
/* The HTTP status of a Fault for st in version v: SOAP 1.1 keeps status.h's; SOAP 1.2 sends
 * 400 for a Sender fault and 500 for a Receiver one where status.h says 500, and keeps the
 * specific statuses (404, 413, 429, 503...) the gateway uses otherwise. */
int gw_soap_version_fault_http(gw_soap_version v, gw_status st);
/* The SOAP 1.2 Code/Value local name of st: "Sender", "Receiver" or "VersionMismatch". */
const char *gw_soap12_fault_class(gw_status st);

#endif
