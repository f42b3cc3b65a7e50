/* response.c — builds the response envelope and SOAP Faults (see response.h). */
#include "response.h"

#include <openssl/sha.h>
#include <stdio.h>

#include "redact.h"

static xmlNsPtr soap_ns_of(gw_exchange *ex)
{
    return xmlDocGetRootElement(ex->response_doc)->ns;
}

gw_status gw_response_envelope_create(gw_exchange *ex)
{
    if (ex->response_doc)
        return GW_OK;
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    if (!doc)
        return GW_ERR_NOMEM;
    xmlNodePtr env = xmlNewDocNode(doc, NULL, BAD_CAST "Envelope", NULL);
    xmlDocSetRootElement(doc, env);
    xmlNsPtr soap = xmlNewNs(env, BAD_CAST GW_SOAP11_NS, BAD_CAST "soap");
    xmlSetNs(env, soap);
    ex->response_header = xmlNewChild(env, soap, BAD_CAST "Header", NULL);
    ex->response_body = xmlNewChild(env, soap, BAD_CAST "Body", NULL);

    gw_response_header_write(ex->response_header, &ex->header, ex->exchange_id,
                             ex->request ? ex->request_sha256 : NULL);
    ex->response_doc = doc;
    return GW_OK;
}

gw_status gw_response_set_fault(gw_exchange *ex)
{
    gw_status st = gw_response_envelope_create(ex);
    if (st != GW_OK)
        return st;
    /* Drop whatever an adapter may have half-written. */
    xmlNodePtr c = ex->response_body->children;
    while (c) {
        xmlNodePtr next = c->next;
        xmlUnlinkNode(c);
        xmlFreeNode(c);
        c = next;
    }
    xmlNsPtr soap = soap_ns_of(ex);
    const char *code = gw_status_fault_code(ex->status);
    char qcode[96], text[1024];
    snprintf(qcode, sizeof qcode, "soap:%s", code);
    /* The detail may quote the request (a schema error quotes values): never a secret of it in
     * the answer, nor in the row that stores the answer and the message (redact.h). */
    ex->fault_detail = gw_redact_scrub_text(&ex->arena, ex->request_doc, ex->fault_detail);
    if (ex->fault_detail)
        snprintf(text, sizeof text, "%s: %s", gw_status_message(ex->status), ex->fault_detail);
    else
        snprintf(text, sizeof text, "%s", gw_status_message(ex->status));
    xmlNodePtr fault = xmlNewChild(ex->response_body, soap, BAD_CAST "Fault", NULL);
    /* SOAP 1.1: faultcode/faultstring/detail are unqualified. libxml2 gives a child created
     * with a NULL namespace its parent's (soap:), so the namespace is cleared explicitly. */
    xmlSetNs(xmlNewTextChild(fault, NULL, BAD_CAST "faultcode", BAD_CAST qcode), NULL);
    xmlSetNs(xmlNewTextChild(fault, NULL, BAD_CAST "faultstring", BAD_CAST text), NULL);
    xmlNodePtr detail = xmlNewChild(fault, NULL, BAD_CAST "detail", NULL);
    xmlSetNs(detail, NULL);
    xmlNodePtr info = xmlNewChild(detail, NULL, BAD_CAST "faultInfo", NULL);
    xmlNsPtr gw = xmlNewNs(info, BAD_CAST GW_HEADER_NS, BAD_CAST "pgw");
    xmlSetNs(info, gw);
    xmlNewTextChild(info, gw, BAD_CAST "code", BAD_CAST code);
    xmlNewTextChild(info, gw, BAD_CAST "exchangeId", BAD_CAST ex->exchange_id);
    /* The contract's own code for this failure (e.g. coResultado), when the adapter gave one,
     * so clients that only understand the contract's codes still learn what happened. */
    if (ex->result_code)
        xmlNewTextChild(info, gw, BAD_CAST "resultCode", BAD_CAST ex->result_code);
    ex->http_status = gw_status_http_code(ex->status);
    return GW_OK;
}

gw_status gw_response_replace_with_fault(gw_exchange *ex, gw_status st)
{
    ex->status = st;
    ex->fault_detail = NULL;
    ex->signature_value = NULL;
    if (ex->response_doc)
        xmlFreeDoc(ex->response_doc);
    ex->response_doc = NULL;
    ex->response_header = ex->response_body = NULL;
    return gw_response_set_fault(ex);
}

gw_status gw_response_serialise(gw_exchange *ex)
{
    xmlChar *buf = NULL;
    int len = 0;
    xmlDocDumpMemoryEnc(ex->response_doc, &buf, &len, "UTF-8");
    if (!buf)
        return GW_ERR_NOMEM;
    ex->response = gw_arena_strndup(&ex->arena, (const char *)buf, (size_t)len);
    ex->response_len = ex->response ? (size_t)len : 0;
    xmlFree(buf);
    if (!ex->response)
        return GW_ERR_NOMEM;
    SHA256((const unsigned char *)ex->response, ex->response_len, ex->response_sha256);
    return GW_OK;
}
