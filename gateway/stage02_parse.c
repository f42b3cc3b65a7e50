/* stage02_parse.c — parses the body with the hardened parser, decides the SOAP version once
 * (soap_version.h: the Envelope's namespace, checked against the Content-Type; VersionMismatch
 * otherwise) and checks it is a SOAP of at most one Header then one Body (Client.MalformedEnvelope otherwise, before any
 * other stage reads it: two Headers would let stages read different ones) whose Body holds an
 * operation element. */
#include <string.h>

#include "pipeline.h"
#include "response.h"
#include "runtime.h"
#include "soap_version.h"
#include "transport.h"
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
    if (!env || env->type != XML_ELEMENT_NODE || strcmp((const char *)env->name, "Envelope") != 0)
        return gw_exchange_fail(ex, GW_ERR_NOT_SOAP, "the root element is not soap:Envelope");
    st = gw_soap_version_decide(ex->http_request ? ex->http_request->content_type : NULL, env,
                                &ex->soap_version, err, sizeof err);
    if (st != GW_OK)
        return gw_exchange_fail(ex, st, "%s", err);
    xmlNodePtr header = NULL, body = NULL;
    st = gw_xml_soap_envelope_parts(env, gw_soap_version_ns(ex->soap_version), &header, &body, err,
                                    sizeof err);
    if (st != GW_OK)
        return gw_exchange_fail(ex, st, "%s", err);
    ex->request_header = header;
    ex->request_operation = gw_xml_first_element(body);
    if (!ex->request_operation)
        return gw_exchange_fail(ex, GW_ERR_NOT_SOAP, "the Body is empty");
    return GW_OK;
}
