/* stage03_header.c — reads the pide-gateway SOAP header (client, service, message id, official,
 * purpose, protocol version) and the WS-Addressing headers (ws_addressing.h), which later stages
 * use for identity, routing checks and replay detection, and which the response echoes. */
#include "pipeline.h"
#include "response.h"
#include "ws_addressing.h"
#include "xml_parse.h"

gw_status gw_stage_header(gw_exchange *ex)
{
    xmlNodePtr env = xmlDocGetRootElement(ex->request_doc);
    for (xmlNodePtr c = gw_xml_first_element(env); c; c = c->next)
        if (gw_xml_is(c, gw_soap_version_ns(ex->soap_version), "Header"))
            ex->request_header = c;
    char err[384];
    gw_status st = gw_request_header_read(ex->request_header, &ex->arena, &ex->header, err,
                                          sizeof err);
    if (st != GW_OK)
        return gw_exchange_fail(ex, st, "%s", err);
    gw_wsa_request wsa;
    st = gw_wsa_read(ex->request_header, &ex->arena, &wsa, err, sizeof err);
    if (st != GW_OK)
        return gw_exchange_fail(ex, st, "%s", err);
    ex->wsa_used = wsa.present;
    ex->wsa_message_id = wsa.message_id;
    ex->wsa_action = wsa.action;
    /* The caller's message id: ours, else WS-Addressing's (replay protection, the log). */
    ex->message_id = ex->header.id ? ex->header.id : wsa.message_id;
    /* An official and a purpose declared in the header are logged unless the adapter finds
     * more specific ones in the body. */
    ex->purpose = ex->header.purpose;
    return GW_OK;
}
