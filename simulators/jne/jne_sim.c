/*
 * jne_sim.c — jne-sim: a JNE/RENIEC-style electoral register (padrón electoral) speaking SOAP 1.2
 * (application/soap+xml) at POST /jne/padron/v1, document/literal ConsultaElector ->
 * ConsultaElectorRespuesta in namespace urn:jne:padron:v1 (README.md). Options beyond the shared
 * ones: --soap11 (also accept SOAP 1.1, answered in 1.1) and --require-wss CA.pem (a call must carry
 * a valid WS-Security signature over its Body and Timestamp by a certificate of that CA, checked
 * with lib/'s verifier and trust store; otherwise a Sender Fault wsse:InvalidSecurity).
 * The published service behind the soap-proxy adapter (conf/demo.xml, JnePadronElectoral).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/valid.h>
#include <openssl/x509.h>
#include <openssl/evp.h>

#include "namespaces.h"
#include "sim_buf.h"
#include "sim_pick.h"
#include "sim_server.h"
#include "sim_soap.h"
#include "xml_sign.h"

#define JNE_NS "urn:jne:padron:v1"
#define JNE_PATH "/jne/padron/v1"
#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"
#define SLOW_MS 5000

typedef struct jne_sim {
    bool soap11;           /* --soap11: SOAP 1.1 accepted too */
    gw_trust_store *trust; /* --require-wss: signers must chain to it; NULL: not required */
} jne_sim;

static const char *const NOMBRES[] = {"MARIA ELENA", "JOSE LUIS", "ROSA",   "CARLOS ALBERTO",
                                      "ANA LUCIA",   "JUAN",      "CARMEN", "LUIS MIGUEL"};
static const char *const APELLIDOS[] = {"QUISPE", "MAMANI", "FLORES", "HUAMAN", "RAMOS",
                                        "GARCIA", "TORRES", "CHAVEZ", "ROJAS",  "MENDOZA"};
static const char *const DISTRITOS[][3] = {{"LIMA", "LIMA", "MIRAFLORES"},
                                           {"CUSCO", "CUSCO", "WANCHAQ"},
                                           {"AREQUIPA", "AREQUIPA", "CAYMA"},
                                           {"PIURA", "PIURA", "CASTILLA"},
                                           {"JUNIN", "HUANCAYO", "EL TAMBO"}};

static bool is_el(xmlNodePtr n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && ns &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr child(xmlNodePtr parent, const char *ns, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE &&
            (ns ? is_el(n, ns, name) : !n->ns && strcmp((const char *)n->name, name) == 0))
            return n;
    return NULL;
}

static void plain(sim_response *resp, int status, const char *text)
{
    resp->status = status;
    sim_response_set_content_type(resp, "text/plain; charset=utf-8");
    sim_buf_append_str(&resp->body, text);
}

/* A Sender Fault whose code says the WS-Security header is missing or wrong (OASIS WSS 1.1,
 * section 12: wsse:InvalidSecurity). */
static void security_fault(sim_response *resp, sim_soap_version v, const char *reason)
{
    sim_buf_clear(&resp->body);
    sim_response_set_content_type(resp, sim_soap_content_type(v));
    sim_soap_begin(&resp->body, v, "xmlns:wsse=\"" GW_WSSE_NS "\"");
    if (v == SIM_SOAP_11) {
        resp->status = 500;
        sim_buf_append_str(&resp->body, "<soapenv:Fault><faultcode>wsse:InvalidSecurity"
                                        "</faultcode><faultstring>");
        sim_buf_append_xml_text(&resp->body, reason);
        sim_buf_append_str(&resp->body, "</faultstring></soapenv:Fault>");
    } else {
        resp->status = 400;
        sim_buf_append_str(&resp->body, "<soapenv:Fault><soapenv:Code><soapenv:Value>"
                                        "soapenv:Sender</soapenv:Value><soapenv:Subcode>"
                                        "<soapenv:Value>wsse:InvalidSecurity</soapenv:Value>"
                                        "</soapenv:Subcode></soapenv:Code><soapenv:Reason>"
                                        "<soapenv:Text xml:lang=\"es\">");
        sim_buf_append_xml_text(&resp->body, reason);
        sim_buf_append_str(&resp->body, "</soapenv:Text></soapenv:Reason></soapenv:Fault>");
    }
    sim_soap_end(&resp->body);
}

/* The wsu:Id of n, registered as an ID of its document; NULL when it has none or it is taken. */
static xmlChar *register_id(xmlDocPtr doc, xmlNodePtr n)
{
    xmlAttrPtr a = n ? xmlHasNsProp(n, BAD_CAST "Id", BAD_CAST GW_WSU_NS) : NULL;
    xmlChar *id = a ? xmlNodeListGetString(doc, a->children, 1) : NULL;
    if (!id)
        return NULL;
    if (xmlGetID(doc, id) != NULL || xmlAddID(NULL, doc, id, a) == NULL) {
        xmlFree(id);
        return NULL;
    }
    return id;
}

/* NULL when the envelope carries a valid WS-Security signature over its Body and Timestamp by a
 * certificate the trust store accepts, with a current Timestamp; else why not. */
static const char *wss_problem(const jne_sim *sim, xmlDocPtr doc, sim_soap_version v, char *why,
                               size_t whylen)
{
    const char *env_ns = sim_soap_envelope_ns(v);
    xmlNodePtr env = xmlDocGetRootElement(doc);
    xmlNodePtr security = child(child(env, env_ns, "Header"), GW_WSSE_NS, "Security");
    xmlNodePtr ts = child(security, GW_WSU_NS, "Timestamp");
    xmlNodePtr token = child(security, GW_WSSE_NS, "BinarySecurityToken");
    xmlNodePtr sig = child(security, DSIG_NS, "Signature");
    xmlNodePtr body = child(env, env_ns, "Body");
    if (!security || !ts || !token || !sig)
        return "se requiere una firma WS-Security (wsse:Security con wsu:Timestamp, "
               "BinarySecurityToken y ds:Signature)";
    xmlChar *body_id = register_id(doc, body), *ts_id = register_id(doc, ts);
    xmlChar *token_id = register_id(doc, token);
    const char *problem = NULL;
    X509 *cert = NULL;
    xmlChar *b64 = NULL;
    if (!body_id || !ts_id || !token_id) {
        problem = "Body, Timestamp y BinarySecurityToken necesitan un wsu:Id unico";
        goto done;
    }
    /* Both the Body and the Timestamp are covered by a Reference of SignedInfo. */
    bool body_signed = false, ts_signed = false;
    for (xmlNodePtr r =
             child(sig, DSIG_NS, "SignedInfo") ? child(sig, DSIG_NS, "SignedInfo")->children : NULL;
         r; r = r->next) {
        if (!is_el(r, DSIG_NS, "Reference"))
            continue;
        xmlChar *uri = xmlGetNoNsProp(r, BAD_CAST "URI");
        if (uri && uri[0] == '#') {
            body_signed |= strcmp((const char *)uri + 1, (const char *)body_id) == 0;
            ts_signed |= strcmp((const char *)uri + 1, (const char *)ts_id) == 0;
        }
        xmlFree(uri);
    }
    if (!body_signed || !ts_signed) {
        problem = "la firma debe cubrir el Body y el Timestamp";
        goto done;
    }
    xmlNodePtr expires = child(ts, GW_WSU_NS, "Expires");
    xmlChar *exp_text = expires ? xmlNodeGetContent(expires) : NULL;
    struct tm tm = {0};
    const char *end = exp_text ? strptime((const char *)exp_text, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    xmlFree(exp_text);
    if (!end || timegm(&tm) < time(NULL)) {
        problem = "wsu:Timestamp vencido o sin wsu:Expires";
        goto done;
    }
    b64 = xmlNodeGetContent(token);
    int der_len = -1;
    if (b64) {
        /* base64 without its line breaks */
        size_t n = 0;
        for (xmlChar *p = b64; *p; p++)
            if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
                b64[n++] = *p;
        b64[n] = '\0';
        /* In place (the output trails the input); the zero bytes '=' padding decodes to are
         * past the end of the DER, which carries its own length. */
        der_len = n % 4 == 0 && n > 0 && n < INT_MAX ? EVP_DecodeBlock(b64, b64, (int)n) : -1;
    }
    const unsigned char *der = b64;
    if (der_len <= 0 || !(cert = d2i_X509(NULL, &der, der_len))) {
        problem = "BinarySecurityToken no es un certificado X.509";
        goto done;
    }
    char err[256] = "";
    if (gw_trust_store_check_signer(sim->trust, cert, NULL, err, sizeof err) != GW_OK) {
        snprintf(why, whylen, "certificado no confiable: %s", err);
        problem = why;
        goto done;
    }
    if (gw_dsig_verify_with_certificate(sig, cert, GW_DSIG_WSS, GW_ERR_BAD_SIGNATURE, err,
                                        sizeof err) != GW_OK) {
        snprintf(why, whylen, "firma invalida: %s", err);
        problem = why;
    }
done:
    X509_free(cert);
    xmlFree(b64);
    xmlFree(body_id);
    xmlFree(ts_id);
    xmlFree(token_id);
    return problem;
}

static void field(sim_buf *b, const char *name, const char *text)
{
    sim_buf_printf(b, "<%s>", name);
    sim_buf_append_xml_text(b, text);
    sim_buf_printf(b, "</%s>", name);
}

static void answer(sim_response *resp, sim_soap_version v, const char *dni, const char *ruc,
                   bool invalid_shape)
{
    sim_response_set_content_type(resp, sim_soap_content_type(v));
    sim_buf *b = &resp->body;
    sim_soap_begin(b, v, "xmlns:jne=\"" JNE_NS "\"");
    sim_buf_append_str(b, "<jne:ConsultaElectorRespuesta>");
    bool found = strcmp(dni, "10000001") != 0;
    if (invalid_shape) {
        /* What a provider sends after an unannounced change of its contract. */
        field(b, "codigo", "OK");
        field(b, "fechaProceso", "2026-12-03");
    } else if (!found) {
        field(b, "codigo", "0001");
        field(b, "descripcion", "DNI NO FIGURA EN EL PADRON ELECTORAL");
    } else {
        uint64_t s = sim_pick_seed(dni);
        const char *const *d = DISTRITOS[sim_pick_next(&s) % 5];
        char apellidos[64], mesa[8];
        snprintf(apellidos, sizeof apellidos, "%s %s", APELLIDOS[sim_pick_next(&s) % 10],
                 APELLIDOS[sim_pick_next(&s) % 10]);
        snprintf(mesa, sizeof mesa, "%06u", (unsigned)(sim_pick_next(&s) % 900000 + 1000));
        field(b, "codigo", "0000");
        field(b, "descripcion", "ELECTOR HABIL");
        sim_buf_append_str(b, "<elector>");
        field(b, "numeroDni", dni);
        field(b, "nombres", NOMBRES[sim_pick_next(&s) % 8]);
        field(b, "apellidos", apellidos);
        field(b, "departamento", d[0]);
        field(b, "provincia", d[1]);
        field(b, "distrito", d[2]);
        field(b, "mesa", mesa);
        sim_buf_append_str(b, "</elector>");
    }
    /* Who the register was told is asking: tests compare it with the authenticated member. */
    field(b, "rucEntidad", ruc);
    sim_buf_append_str(b, "</jne:ConsultaElectorRespuesta>");
    sim_soap_end(b);
}

static void handle_request(void *ctx, const sim_request *req, sim_response *resp)
{
    const jne_sim *sim = ctx;
    size_t path_len = strcspn(req->target, "?");
    if (path_len != strlen(JNE_PATH) || strncmp(req->target, JNE_PATH, path_len) != 0) {
        plain(resp, 404, "no such service; the register answers POST " JNE_PATH "\n");
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        plain(resp, 405, "only POST is allowed\n");
        return;
    }
    sim_soap_version v;
    if (req->content_type && strncasecmp(req->content_type, "application/soap+xml", 20) == 0)
        v = SIM_SOAP_12;
    else if (sim->soap11 && req->content_type && strncasecmp(req->content_type, "text/xml", 8) == 0)
        v = SIM_SOAP_11;
    else {
        plain(resp, 415,
              sim->soap11 ? "Content-Type must be application/soap+xml (SOAP 1.2) or "
                            "text/xml (SOAP 1.1)\n"
                          : "Content-Type must be application/soap+xml (SOAP 1.2)\n");
        return;
    }
    xmlDocPtr doc;
    xmlNodePtr payload;
    const char *why;
    xmlChar *dni = NULL, *ruc = NULL;
    if (sim_soap_parse(req->body, req->body_len, v, &doc, &payload, &why) != GW_OK) {
        sim_soap_fault(resp, v, true, why);
        return;
    }
    char reason[400];
    const char *problem = sim->trust ? wss_problem(sim, doc, v, reason, sizeof reason) : NULL;
    if (problem) {
        fprintf(stderr, "jne-sim: #%llu refused: %s\n", (unsigned long long)req->number, problem);
        security_fault(resp, v, problem);
        goto done;
    }
    if (!is_el(payload, JNE_NS, "ConsultaElector")) {
        sim_soap_fault(resp, v, true, "se espera {" JNE_NS "}ConsultaElector en el Body");
        goto done;
    }
    xmlNodePtr dni_el = child(payload, NULL, "numeroDni");
    xmlNodePtr ruc_el = child(payload, NULL, "rucEntidad");
    dni = dni_el ? xmlNodeGetContent(dni_el) : NULL;
    ruc = ruc_el ? xmlNodeGetContent(ruc_el) : NULL;
    if (!sim_is_digits((const char *)dni, 8) || !sim_is_digits((const char *)ruc, 11)) {
        sim_soap_fault(resp, v, true,
                       "numeroDni (8 digitos) y rucEntidad (11 digitos) son "
                       "obligatorios");
        goto done;
    }
    fprintf(stderr, "jne-sim: #%llu SOAP %s rucEntidad=%s signed=%s\n",
            (unsigned long long)req->number, v == SIM_SOAP_12 ? "1.2" : "1.1", (const char *)ruc,
            sim->trust ? "yes" : "not-required");
    const char *d = (const char *)dni;
    if (strcmp(d, "99999990") == 0) {
        sim_soap_fault(resp, v, false, "ORA-12541: TNS:no listener (padron no disponible)");
    } else if (strcmp(d, "99999991") == 0) {
        sim_response_set_content_type(resp, sim_soap_content_type(v));
        sim_soap_begin(&resp->body, v, "xmlns:jne=\"" JNE_NS "\"");
        sim_buf_append_str(&resp->body, "<jne:ConsultaElectorRespuesta><codigo>00");
    } else if (strcmp(d, "99999994") == 0) {
        /* A DTD with an external entity: a provider never needs one, the gateway refuses it. */
        sim_response_set_content_type(resp, sim_soap_content_type(v));
        sim_buf_printf(&resp->body,
                       "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x SYSTEM "
                       "\"file:///etc/passwd\">]><soapenv:Envelope xmlns:soapenv=\"%s\">"
                       "<soapenv:Body><jne:ConsultaElectorRespuesta xmlns:jne=\"" JNE_NS "\">"
                       "<codigo>&x;</codigo></jne:ConsultaElectorRespuesta></soapenv:Body>"
                       "</soapenv:Envelope>",
                       sim_soap_envelope_ns(v));
    } else if (strcmp(d, "99999995") == 0) {
        /* Two answers in one Body: which one would the consumer get? */
        answer(resp, v, "45678912", (const char *)ruc, false);
        sim_buf_clear(&resp->body);
        sim_soap_begin(&resp->body, v, "xmlns:jne=\"" JNE_NS "\"");
        sim_buf_append_str(&resp->body, "<jne:ConsultaElectorRespuesta><codigo>0001</codigo>"
                                        "</jne:ConsultaElectorRespuesta>"
                                        "<jne:ConsultaElectorRespuesta><codigo>0000</codigo>"
                                        "</jne:ConsultaElectorRespuesta>");
        sim_soap_end(&resp->body);
    } else if (strcmp(d, "99999996") == 0) {
        /* An answer in the other SOAP version than the call's. */
        answer(resp, v == SIM_SOAP_12 ? SIM_SOAP_11 : SIM_SOAP_12, "45678912", (const char *)ruc,
               false);
    } else if (strcmp(d, "99999993") == 0) {
        struct timespec ts = {SLOW_MS / 1000, (SLOW_MS % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        answer(resp, v, d, (const char *)ruc, false);
    } else {
        answer(resp, v, d, (const char *)ruc, strcmp(d, "99999992") == 0);
    }
done:
    xmlFree(dni);
    xmlFree(ruc);
    xmlFreeDoc(doc);
}

static void handle_injected_failure(void *ctx, const sim_request *req, sim_response *resp)
{
    (void)ctx;
    sim_soap_version v = req->content_type && strncasecmp(req->content_type, "text/xml", 8) == 0
                             ? SIM_SOAP_11
                             : SIM_SOAP_12;
    sim_soap_fault(resp, v, false, "ERROR INTERNO DEL PADRON ELECTORAL (falla simulada)");
}

/* Removes the simulator's own options from argv (the shared parser does not know them). */
static bool take_options(int *argc, char **argv, bool *soap11, const char **ca)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--soap11") == 0) {
            *soap11 = true;
        } else if (strcmp(argv[i], "--require-wss") == 0) {
            if (i + 1 >= *argc)
                return false;
            *ca = argv[++i];
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    return true;
}

int main(int argc, char **argv)
{
    sim_server_config cfg = {
        .name = "jne-sim",
        .handler = handle_request,
        .failure_handler = handle_injected_failure,
    };
    jne_sim sim = {.soap11 = false, .trust = NULL};
    const char *ca = NULL;
    if (!take_options(&argc, argv, &sim.soap11, &ca)) {
        fprintf(stderr, "jne-sim: --require-wss needs a CA file\n");
        return 2;
    }
    switch (sim_options_parse(&cfg.options, argc, argv, cfg.name,
                              "Simulates an electoral register (padron electoral): SOAP 1.2\n"
                              "ConsultaElector at POST " JNE_PATH " (namespace " JNE_NS ").\n"
                              "  --soap11            also accept SOAP 1.1 (text/xml), answered "
                              "in 1.1\n"
                              "  --require-wss FILE  a call must carry a WS-Security signature "
                              "(Body and\n"
                              "                      Timestamp) by a certificate of the CA(s) in "
                              "FILE,\n"
                              "                      else a Sender Fault wsse:InvalidSecurity\n"
                              "See simulators/jne/README.md for the special DNIs.")) {
    case SIM_OPTIONS_RUN:
        break;
    case SIM_OPTIONS_EXIT_OK:
        return 0;
    case SIM_OPTIONS_EXIT_USAGE:
        return 2;
    }
    xmlInitParser();
    if (gw_xmlsec_global_init() != GW_OK) {
        fprintf(stderr, "jne-sim: cannot initialise xmlsec\n");
        return 1;
    }
    int rc = 2;
    char err[256];
    if (ca && gw_trust_store_load(ca, &sim.trust, err, sizeof err) != GW_OK) {
        fprintf(stderr, "jne-sim: --require-wss: %s\n", err);
        goto done;
    }
    cfg.ctx = &sim;
    rc = sim_server_run_until_signal(&cfg);
done:
    gw_trust_store_free(sim.trust);
    gw_xmlsec_global_shutdown();
    xmlCleanupParser();
    return rc;
}
