/*
 * sim_soap.h — SOAP envelopes for SOAP-speaking simulators: parse a request down to its payload
 * element (safely: no network, no DTD, no entity expansion) and write envelopes and Faults in
 * SOAP 1.1 or 1.2.
 */
#ifndef PIDE_SIM_SOAP_H
#define PIDE_SIM_SOAP_H

#include <stdbool.h>
#include <libxml/tree.h>

#include "sim_server.h"
#include "status.h"

typedef enum sim_soap_version { SIM_SOAP_11, SIM_SOAP_12 } sim_soap_version;

const char *sim_soap_envelope_ns(sim_soap_version v);
/* "text/xml; charset=utf-8" (1.1) or "application/soap+xml; charset=utf-8" (1.2) */
const char *sim_soap_content_type(sim_soap_version v);

/* Parses body as a SOAP envelope of version v. On GW_OK, *doc owns the tree (xmlFreeDoc it) and
 * *payload is the first element child of soap:Body. Otherwise *why says what is wrong. */
gw_status sim_soap_parse(const char *body, size_t len, sim_soap_version v, xmlDocPtr *doc,
                         xmlNodePtr *payload, const char **why);

/* Writes "<?xml?><soapenv:Envelope ...><soapenv:Body>" — payload_ns_decls (e.g.
 * "xmlns:rp=\"urn:x\"") is added to the Envelope — and the matching close. */
void sim_soap_begin(sim_buf *b, sim_soap_version v, const char *payload_ns_decls);
void sim_soap_end(sim_buf *b);

/* Replaces resp with a Fault, HTTP 500 (SOAP 1.1 uses 500 for both; 1.2 uses 400 for Sender).
 * sender_fault: the request was at fault (Client / Sender), else the server (Server / Receiver). */
void sim_soap_fault(sim_response *resp, sim_soap_version v, bool sender_fault, const char *reason);

#endif
