/*
 * sim_soap.c — SOAP 1.1/1.2 envelope parsing and writing for the simulators.
 */
#include "sim_soap.h"

#include <libxml/parser.h>
#include <string.h>

static const char SOAP11_NS[] = "http://schemas.xmlsoap.org/soap/envelope/";
static const char SOAP12_NS[] = "http://www.w3.org/2003/05/soap-envelope";

const char *sim_soap_envelope_ns(sim_soap_version v)
{
    return v == SIM_SOAP_11 ? SOAP11_NS : SOAP12_NS;
}

const char *sim_soap_content_type(sim_soap_version v)
{
    return v == SIM_SOAP_11 ? "text/xml; charset=utf-8" : "application/soap+xml; charset=utf-8";
}

static bool is_element(xmlNodePtr n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && strcmp((const char *)n->ns->href, ns) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr first_element(xmlNodePtr n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

gw_status sim_soap_parse(const char *body, size_t len, sim_soap_version v, xmlDocPtr *doc,
                         xmlNodePtr *payload, const char **why)
{
    const char *ns = sim_soap_envelope_ns(v);
    *doc = NULL;
    *payload = NULL;
    if (len == 0 || len > (size_t)0x7fffffff) {
        *why = "empty request body";
        return GW_ERR_MALFORMED_XML;
    }
    xmlDocPtr d = xmlReadMemory(body, (int)len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!d) {
        *why = "the request body is not well-formed XML";
        return GW_ERR_MALFORMED_XML;
    }
    if (d->intSubset) {
        *why = "a DTD is not allowed in a SOAP message";
        goto not_soap;
    }
    xmlNodePtr env = xmlDocGetRootElement(d);
    if (!is_element(env, ns, "Envelope")) {
        *why = v == SIM_SOAP_11 ? "the root element is not a SOAP 1.1 Envelope"
                                : "the root element is not a SOAP 1.2 Envelope";
        goto not_soap;
    }
    xmlNodePtr child = first_element(env->children);
    if (is_element(child, ns, "Header"))
        child = first_element(child->next);
    if (!is_element(child, ns, "Body")) {
        *why = "the Envelope has no Body";
        goto not_soap;
    }
    xmlNodePtr p = first_element(child->children);
    if (!p) {
        *why = "the Body is empty";
        goto not_soap;
    }
    *doc = d;
    *payload = p;
    return GW_OK;
not_soap:
    xmlFreeDoc(d);
    return GW_ERR_NOT_SOAP;
}

void sim_soap_begin(sim_buf *b, sim_soap_version v, const char *payload_ns_decls)
{
    sim_buf_printf(b,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                   "<soapenv:Envelope xmlns:soapenv=\"%s\"%s%s><soapenv:Body>",
                   sim_soap_envelope_ns(v), payload_ns_decls ? " " : "",
                   payload_ns_decls ? payload_ns_decls : "");
}

void sim_soap_end(sim_buf *b)
{
    sim_buf_append_str(b, "</soapenv:Body></soapenv:Envelope>");
}

void sim_soap_fault(sim_response *resp, sim_soap_version v, bool sender_fault, const char *reason)
{
    sim_buf_clear(&resp->body);
    sim_response_set_content_type(resp, sim_soap_content_type(v));
    sim_soap_begin(&resp->body, v, NULL);
    if (v == SIM_SOAP_11) {
        resp->status = 500;
        sim_buf_printf(&resp->body, "<soapenv:Fault><faultcode>soapenv:%s</faultcode><faultstring>",
                       sender_fault ? "Client" : "Server");
        sim_buf_append_xml_text(&resp->body, reason);
        sim_buf_append_str(&resp->body, "</faultstring></soapenv:Fault>");
    } else {
        resp->status = sender_fault ? 400 : 500;
        sim_buf_printf(&resp->body,
                       "<soapenv:Fault><soapenv:Code><soapenv:Value>soapenv:%s</soapenv:Value>"
                       "</soapenv:Code><soapenv:Reason><soapenv:Text xml:lang=\"es\">",
                       sender_fault ? "Sender" : "Receiver");
        sim_buf_append_xml_text(&resp->body, reason);
        sim_buf_append_str(&resp->body, "</soapenv:Text></soapenv:Reason></soapenv:Fault>");
    }
    sim_soap_end(&resp->body);
}
