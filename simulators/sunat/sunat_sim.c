/*
 * sunat_sim.c — sunat-sim: SUNAT's RUC register as an old Apache Axis 1 service answers it:
 * SOAP 1.1 RPC/encoded getDatosPrincipales at POST /axis/services/ConsultaRuc, the BeanDdp in a
 * multiRef the return element points at, Axis-style Faults (README.md). Data: sunat_data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>

#include "sim_buf.h"
#include "sim_server.h"
#include "sim_soap.h"
#include "sunat_data.h"

#define SUNAT_NS "http://ws.registro.servicio.sunat.gob.pe"
#define SUNAT_PATH "/axis/services/ConsultaRuc"
#define SOAPENC_NS "http://schemas.xmlsoap.org/soap/encoding/"
#define AXIS_NS "http://xml.apache.org/axis/"

static void envelope_begin(sim_buf *b)
{
    sim_buf_append_str(b,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>");
}

static void envelope_end(sim_buf *b) { sim_buf_append_str(b, "</soapenv:Body></soapenv:Envelope>"); }

/* A Fault as Axis 1 writes it: HTTP 500, faultcode soapenv:<code>, the host name in detail. */
static void axis_fault(sim_response *resp, const char *code, const char *text)
{
    resp->status = 500;
    sim_response_set_content_type(resp, "text/xml; charset=utf-8");
    sim_buf_clear(&resp->body);
    envelope_begin(&resp->body);
    sim_buf_printf(&resp->body, "<soapenv:Fault><faultcode>soapenv:%s</faultcode><faultstring>",
                   code);
    sim_buf_append_xml_text(&resp->body, text);
    sim_buf_append_str(&resp->body, "</faultstring><detail><ns1:hostname xmlns:ns1=\"" AXIS_NS
                                    "\">sunat-sim</ns1:hostname></detail></soapenv:Fault>");
    envelope_end(&resp->body);
}

static void write_found(sim_buf *b, const sunat_bean *bean, bool broken_ref)
{
    envelope_begin(b);
    sim_buf_append_str(b,
        "<ns1:getDatosPrincipalesResponse soapenv:encodingStyle=\"" SOAPENC_NS "\" "
        "xmlns:ns1=\"" SUNAT_NS "\"><getDatosPrincipalesReturn href=\"#id0\"/>"
        "</ns1:getDatosPrincipalesResponse>");
    sim_buf_printf(b, "<multiRef id=\"%s\" soapenc:root=\"0\" soapenv:encodingStyle=\"" SOAPENC_NS
                   "\" xsi:type=\"ns2:BeanDdp\" xmlns:soapenc=\"" SOAPENC_NS "\" "
                   "xmlns:ns2=\"" SUNAT_NS "\">", broken_ref ? "id1" : "id0");
    for (size_t i = 0; i < SUNAT_FIELD_COUNT; i++) {
        sim_buf_printf(b, "<%s xsi:type=\"xsd:string\">", bean->f[i].name);
        sim_buf_append_xml_text(b, bean->f[i].value);
        sim_buf_printf(b, "</%s>", bean->f[i].name);
    }
    const char *estado = sunat_field_value(bean, "ddp_estado");
    const char *flag22 = sunat_field_value(bean, "ddp_flag22");
    sim_buf_printf(b, "<esActivo xsi:type=\"xsd:boolean\">%s</esActivo>",
                   estado && strcmp(estado, "00") == 0 ? "true" : "false");
    sim_buf_printf(b, "<esHabido xsi:type=\"xsd:boolean\">%s</esHabido>",
                   flag22 && strcmp(flag22, "00") == 0 ? "true" : "false");
    sim_buf_append_str(b, "</multiRef>");
    envelope_end(b);
}

static void write_not_found(sim_buf *b)
{
    envelope_begin(b);
    sim_buf_append_str(b,
        "<ns1:getDatosPrincipalesResponse soapenv:encodingStyle=\"" SOAPENC_NS "\" "
        "xmlns:ns1=\"" SUNAT_NS "\"><getDatosPrincipalesReturn xsi:type=\"ns1:BeanDdp\" "
        "xsi:nil=\"true\"/></ns1:getDatosPrincipalesResponse>");
    envelope_end(b);
}

static void plain(sim_response *resp, int status, const char *text)
{
    resp->status = status;
    sim_response_set_content_type(resp, "text/plain; charset=utf-8");
    sim_buf_append_str(&resp->body, text);
}

static bool is_element(xmlNodePtr n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0 &&
           (ns ? n->ns && strcmp((const char *)n->ns->href, ns) == 0 : n->ns == NULL);
}

static void handle_request(void *ctx, const sim_request *req, sim_response *resp)
{
    (void)ctx;
    size_t path_len = strcspn(req->target, "?");
    if (path_len != strlen(SUNAT_PATH) || strncmp(req->target, SUNAT_PATH, path_len) != 0) {
        plain(resp, 404, "no such service; SUNAT answers POST " SUNAT_PATH "\n");
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        plain(resp, 405, "only POST is allowed\n");
        return;
    }
    if (!req->content_type || strncmp(req->content_type, "text/xml", 8) != 0) {
        plain(resp, 415, "Content-Type must be text/xml (SOAP 1.1)\n");
        return;
    }
    /* Axis 1 wants a SOAPAction header (any value; it dispatches on the Body). */
    if (!req->soap_action) {
        axis_fault(resp, "Client", "no SOAPAction header!");
        return;
    }

    xmlDocPtr doc = NULL;
    xmlNodePtr payload;
    const char *why;
    xmlChar *ruc = NULL;
    if (sim_soap_parse(req->body, req->body_len, SIM_SOAP_11, &doc, &payload, &why) != GW_OK) {
        char text[256];
        snprintf(text, sizeof text, "org.xml.sax.SAXParseException: %s", why);
        axis_fault(resp, "Server.userException", text);
        return;
    }
    if (!payload || !payload->ns || strcmp((const char *)payload->ns->href, SUNAT_NS) != 0 ||
        strcmp((const char *)payload->name, "getDatosPrincipales") != 0) {
        char text[200];
        snprintf(text, sizeof text, "No such operation '%.100s'",
                 payload ? (const char *)payload->name : "");
        axis_fault(resp, "Client", text);
        goto done;
    }
    xmlNodePtr arg = NULL;
    for (xmlNodePtr n = payload->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE) {
            if (arg || !is_element(n, NULL, "numRuc")) {
                axis_fault(resp, "Client", "No such operation 'getDatosPrincipales' with the "
                           "parameters given; expected one numRuc");
                goto done;
            }
            arg = n;
        }
    if (!arg) {
        axis_fault(resp, "Server.userException",
                   "pe.gob.sunat.servicio.registro.ws.RucInvalidoException: "
                   "El numero de RUC es obligatorio");
        goto done;
    }
    ruc = xmlNodeGetContent(arg);
    sunat_bean bean;
    switch (sunat_lookup((const char *)ruc, &bean)) {
    case SUNAT_INVALID: {
        char text[200];
        snprintf(text, sizeof text, "pe.gob.sunat.servicio.registro.ws.RucInvalidoException: "
                 "El numero de RUC %.20s no es valido", (const char *)ruc);
        axis_fault(resp, "Server.userException", text);
        break;
    }
    case SUNAT_NOT_FOUND: write_not_found(&resp->body); break;
    case SUNAT_DB_DOWN:
        axis_fault(resp, "Server.generalException",
                   "java.sql.SQLException: ORA-12541: TNS:no listener");
        break;
    case SUNAT_GARBAGE:
        sim_response_set_content_type(resp, "text/html");
        sim_buf_append_str(&resp->body, "<html><body><h1>Error 503 - Servicio no disponible"
                                        "</h1><p>Intente mas tarde<br></body>");
        break;
    case SUNAT_BROKEN_REF: {
        sunat_lookup("20100070970", &bean);
        write_found(&resp->body, &bean, true);
        break;
    }
    case SUNAT_SLOW: {
        struct timespec ts = {SUNAT_SLOW_MS / 1000, (SUNAT_SLOW_MS % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        write_found(&resp->body, &bean, false);
        break;
    }
    case SUNAT_FOUND: write_found(&resp->body, &bean, false); break;
    }
done:
    xmlFree(ruc);
    xmlFreeDoc(doc);
}

static void handle_injected_failure(void *ctx, const sim_request *req, sim_response *resp)
{
    (void)ctx;
    (void)req;
    axis_fault(resp, "Server.generalException",
               "java.sql.SQLException: ORA-12541: TNS:no listener (falla simulada)");
}

int main(int argc, char **argv)
{
    sim_server_config cfg = {
        .name = "sunat-sim",
        .handler = handle_request,
        .failure_handler = handle_injected_failure,
    };
    switch (sim_options_parse(&cfg.options, argc, argv, cfg.name,
                              "Simulates SUNAT's RUC register as Apache Axis 1 serves it: SOAP 1.1 "
                              "RPC/encoded\ngetDatosPrincipales at POST " SUNAT_PATH
                              " (namespace " SUNAT_NS ").\nSee simulators/sunat/README.md "
                              "for the special RUCs.")) {
    case SIM_OPTIONS_RUN: break;
    case SIM_OPTIONS_EXIT_OK: return 0;
    case SIM_OPTIONS_EXIT_USAGE: return 2;
    }
    xmlInitParser();
    int rc = sim_server_run_until_signal(&cfg);
    xmlCleanupParser();
    return rc;
}
