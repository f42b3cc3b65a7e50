/* stage02_parse.c — parses the body with the hardened parser and checks it is a SOAP 1.1
 * Envelope of at most one Header then one Body (Client.MalformedEnvelope otherwise, before any
 * other stage reads it: two Headers would let stages read different ones) whose Body holds an
 * operation element. */
#include <string.h>

#include "pipeline.h"
#include "response.h"
#include "runtime.h"
#include "namespaces.h"
#include "xml_parse.h"

gw_status gw_stage_parse(gw_exchange *ex)
{
    char err[512];
    gw_status st = gw_xml_parse(ex->request, ex->request_len, &ex->rt->xml_limits,
                                &ex->request_doc, err, sizeof err);
    if (st != GW_OK)
        return gw_exchange_fail(ex, st, "%s", err);
    xmlNodePtr env = xmlDocGetRootElement(ex->request_doc);
    if (gw_xml_is(env, GW_SOAP12_NS, "Envelope"))
        return gw_exchange_fail(ex, GW_ERR_NOT_SOAP,
                                "SOAP 1.2 is not served here; send a SOAP 1.1 Envelope (%s)",
                                GW_SOAP11_NS);
    if (!gw_xml_is(env, GW_SOAP11_NS, "Envelope"))
        return gw_exchange_fail(ex, GW_ERR_NOT_SOAP, "the root element is not soap:Envelope");
    xmlNodePtr header = NULL, body = NULL;
    st = gw_xml_soap_envelope_parts(env, GW_SOAP11_NS, &header, &body, err, sizeof err);
    if (st != GW_OK)
        return gw_exchange_fail(ex, st, "%s", err);
    ex->request_header = header;
    ex->request_operation = gw_xml_first_element(body);
    if (!ex->request_operation)
        return gw_exchange_fail(ex, GW_ERR_NOT_SOAP, "the Body is empty");
    return GW_OK;
}
