/* response.c — builds the response envelope and SOAP Faults (see response.h). */
#include "response.h"

#include <openssl/sha.h>
#include <stdio.h>

#include "redact.h"
#include "soap_version.h"
#include "ws_addressing.h"

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
    /* SOAP 1.1 answers keep their historic "soap" prefix; SOAP 1.2 ones use the spec's "env". */
    xmlNsPtr soap = xmlNewNs(env, BAD_CAST gw_soap_version_ns(ex->soap_version),
                             BAD_CAST(ex->soap_version == GW_SOAP_12 ? "env" : "soap"));
    xmlSetNs(env, soap);
    ex->response_header = xmlNewChild(env, soap, BAD_CAST "Header", NULL);
    ex->response_body = xmlNewChild(env, soap, BAD_CAST "Body", NULL);

    gw_response_header_write(ex->response_header, &ex->header, ex->exchange_id,
                             ex->request ? ex->request_sha256 : NULL);
    /* WS-Addressing answers relate to the request and say what they are (ws_addressing.h). */
    if (ex->wsa_used)
        gw_wsa_response_write(ex->response_header, ex->wsa_message_id,
                              ex->status != GW_OK
                                  ? GW_WSA_FAULT_ACTION
                                  : gw_arena_printf(&ex->arena, "%sResponse", ex->wsa_action),
                              ex->exchange_id);
    ex->response_doc = doc;
    return GW_OK;
}

/* SOAP 1.2's env:Upgrade header (Part 1, 5.4.7 and Appendix A): the envelopes this gateway
 * accepts, preferred first, each named by a QName whose prefix is declared on its element. The
 * element is in the SOAP 1.2 namespace in either version's answer. */
static void upgrade_header_write(xmlNodePtr soap_header)
{
    xmlNsPtr env12 = xmlNewNs(NULL, BAD_CAST GW_SOAP12_NS, BAD_CAST "upg");
    xmlNodePtr up = xmlNewNode(NULL, BAD_CAST "Upgrade");
    xmlAddChild(soap_header, up);
    up->nsDef = env12;
    xmlSetNs(up, env12);
    const char *nss[] = {GW_SOAP12_NS, GW_SOAP11_NS};
    const char *pfx[] = {"s12", "s11"};
    for (int i = 0; i < 2; i++) {
        xmlNodePtr se = xmlNewChild(up, env12, BAD_CAST "SupportedEnvelope", NULL);
        xmlNewNs(se, BAD_CAST nss[i], BAD_CAST pfx[i]);
        char q[16];
        snprintf(q, sizeof q, "%s:Envelope", pfx[i]);
        xmlNewProp(se, BAD_CAST "qname", BAD_CAST q);
    }
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
    xmlNodePtr detail;
    if (ex->soap_version == GW_SOAP_12) {
        /* SOAP 1.2: env:Code/env:Value is the class (Sender, Receiver, VersionMismatch), the
         * Subcode the gateway's stable code as a pgw: QName; env:Reason/env:Text with xml:lang;
         * env:Detail. */
        xmlNsPtr gw = xmlNewNs(fault, BAD_CAST GW_HEADER_NS, BAD_CAST "pgw");
        xmlNodePtr codeel = xmlNewChild(fault, soap, BAD_CAST "Code", NULL);
        char cls[64];
        snprintf(cls, sizeof cls, "env:%s", gw_soap12_fault_class(ex->status));
        xmlNewTextChild(codeel, soap, BAD_CAST "Value", BAD_CAST cls);
        if (ex->status != GW_ERR_VERSION_MISMATCH) {
            snprintf(qcode, sizeof qcode, "pgw:%s", code);
            xmlNodePtr sub = xmlNewChild(codeel, soap, BAD_CAST "Subcode", NULL);
            xmlNewTextChild(sub, soap, BAD_CAST "Value", BAD_CAST qcode);
        }
        (void)gw;
        xmlNodePtr reason = xmlNewChild(fault, soap, BAD_CAST "Reason", NULL);
        xmlNodePtr t = xmlNewTextChild(reason, soap, BAD_CAST "Text", BAD_CAST text);
        xmlNodeSetLang(t, BAD_CAST "en");
        detail = xmlNewChild(fault, soap, BAD_CAST "Detail", NULL);
    } else {
        /* SOAP 1.1: faultcode/faultstring/detail are unqualified. libxml2 gives a child created
         * with a NULL namespace its parent's (soap:), so the namespace is cleared explicitly. */
        xmlSetNs(xmlNewTextChild(fault, NULL, BAD_CAST "faultcode", BAD_CAST qcode), NULL);
        xmlSetNs(xmlNewTextChild(fault, NULL, BAD_CAST "faultstring", BAD_CAST text), NULL);
        detail = xmlNewChild(fault, NULL, BAD_CAST "detail", NULL);
        xmlSetNs(detail, NULL);
    }
    if (ex->status == GW_ERR_VERSION_MISMATCH)
        upgrade_header_write(ex->response_header);
    xmlNodePtr info = xmlNewChild(detail, NULL, BAD_CAST "faultInfo", NULL);
    xmlNsPtr gw = xmlNewNs(info, BAD_CAST GW_HEADER_NS, BAD_CAST "pgw");
    xmlSetNs(info, gw);
    xmlNewTextChild(info, gw, BAD_CAST "code", BAD_CAST code);
    xmlNewTextChild(info, gw, BAD_CAST "exchangeId", BAD_CAST ex->exchange_id);
    /* The contract's own code for this failure (e.g. coResultado), when the adapter gave one,
     * so clients that only understand the contract's codes still learn what happened. */
    if (ex->result_code)
        xmlNewTextChild(info, gw, BAD_CAST "resultCode", BAD_CAST ex->result_code);
    ex->http_status = gw_soap_version_fault_http(ex->soap_version, ex->status);
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
