/*
 * pj_sim.c — pj-sim: the Poder Judicial criminal-record simulator. Speaks the PJ's internal
 * SOAP 1.2 protocol (README.md) over pide_simcommon's HTTP server, answering from pj_data, and
 * accepts only calls signed with XML-DSig by a certificate of the CA given with --trusted-ca
 * (verified with gw_verify_document from lib/, the verifier the gateway uses).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pj_data.h"
#include "pj_protocol.h"
#include "sim_buf.h"
#include "sim_pick.h"
#include "sim_server.h"
#include "sim_soap.h"
#include "xml_sign.h"

#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"
/* Unsigned or badly signed calls: a SOAP 1.2 Sender Fault with this HTTP status. */
#define SIGNATURE_REFUSED_STATUS 403

typedef struct pj_sim {
    const char *trusted_ca;   /* PEM file of the CA(s) whose certificates may sign calls */
    bool verbose;             /* --verbose: also log who each signed call says is asking */
} pj_sim;

static bool is_ap_element(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           strcmp((const char *)n->ns->href, PJ_NS) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

static bool is_element_ns(xmlNodePtr n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           strcmp((const char *)n->ns->href, ns) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr ap_child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (is_ap_element(n, name))
            return n;
    return NULL;
}

static xmlNodePtr child_ns(xmlNodePtr parent, const char *ns, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (is_element_ns(n, ns, name))
            return n;
    return NULL;
}

static void plain(sim_response *resp, int status, const char *text)
{
    resp->status = status;
    sim_response_set_content_type(resp, "text/plain; charset=utf-8");
    sim_buf_append_str(&resp->body, text);
}

/* The action parameter of a SOAP 1.2 Content-Type, quotes removed, compared with PJ_ACTION. */
static bool action_matches(const char *content_type)
{
    for (const char *p = strchr(content_type, ';'); p; p = strchr(p + 1, ';')) {
        const char *param = p + 1;
        while (*param == ' ' || *param == '\t')
            param++;
        if (strncasecmp(param, "action=", 7) != 0)
            continue;
        const char *value = param + 7;
        size_t len = strcspn(value, ";");
        while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
            len--;
        if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
            value++;
            len -= 2;
        }
        return len == strlen(PJ_ACTION) && strncmp(value, PJ_ACTION, len) == 0;
    }
    return false;
}

/* The signature must cover the whole message: exactly one Reference, URI="". A signature over
 * a fragment would let anyone alter the rest of the call. */
static const char *signature_shape_problem(xmlNodePtr env)
{
    xmlNodePtr header = child_ns(env, sim_soap_envelope_ns(SIM_SOAP_12), "Header");
    xmlNodePtr sig = child_ns(header, DSIG_NS, "Signature");
    if (!sig)
        return "la solicitud no esta firmada: se requiere una firma XML-DSig (ds:Signature) "
               "en env:Header";
    xmlNodePtr signed_info = child_ns(sig, DSIG_NS, "SignedInfo");
    size_t references = 0;
    bool whole_document = false;
    for (xmlNodePtr n = signed_info ? signed_info->children : NULL; n; n = n->next) {
        if (!is_element_ns(n, DSIG_NS, "Reference"))
            continue;
        references++;
        xmlChar *uri = xmlGetNoNsProp(n, (const xmlChar *)"URI");
        whole_document = uri && uri[0] == '\0';
        xmlFree(uri);
    }
    if (references != 1 || !whole_document)
        return "firma rechazada: debe tener una sola Reference con URI=\"\" (todo el mensaje)";
    return NULL;
}

static void signature_refused(sim_response *resp, const char *reason)
{
    sim_soap_fault(resp, SIM_SOAP_12, true, reason);
    resp->status = SIGNATURE_REFUSED_STATUS;
}

static void element(sim_buf *b, const char *name, const char *text)
{
    sim_buf_printf(b, "<ap:%s>", name);
    sim_buf_append_xml_text(b, text);
    sim_buf_printf(b, "</ap:%s>", name);
}

static void write_answer(sim_buf *b, pj_resultado r, const pj_consulta *c)
{
    sim_soap_begin(b, SIM_SOAP_12, "xmlns:ap=\"" PJ_NS "\"");
    sim_buf_printf(b, "<ap:ConsultaAntecedentesResponse><ap:resultado codigo=\"%s\">%s"
                   "</ap:resultado><ap:documento tipo=\"DNI\">%s</ap:documento>",
                   pj_resultado_codigo(r), pj_resultado_descripcion(r), c->dni);
    if (r == PJ_CON_REGISTRO) {
        sim_buf_printf(b, "<ap:condenas total=\"%zu\">", c->total);
        for (size_t i = 0; i < c->total; i++) {
            const pj_condena *k = &c->condenas[i];
            sim_buf_append_str(b, "<ap:condena>");
            element(b, "organo", k->organo);
            element(b, "expediente", k->expediente);
            element(b, "delito", k->delito);
            element(b, "fechaSentencia", k->fecha_sentencia);
            sim_buf_printf(b, "<ap:situacion codigo=\"%c\">%s</ap:situacion>",
                           pj_situacion_codigo(k->situacion), pj_situacion_nombre(k->situacion));
            sim_buf_append_str(b, "</ap:condena>");
        }
        sim_buf_append_str(b, "</ap:condenas>");
    }
    sim_buf_append_str(b, "</ap:ConsultaAntecedentesResponse>");
    sim_soap_end(b);
}

/* DNI 88888888: what a provider sends when its database link dies mid-answer. */
static void write_garbage(sim_response *resp)
{
    sim_response_set_content_type(resp, sim_soap_content_type(SIM_SOAP_12));
    sim_soap_begin(&resp->body, SIM_SOAP_12, "xmlns:ap=\"" PJ_NS "\"");
    sim_buf_append_str(&resp->body, "<ap:ConsultaAntecedentesResponse><ap:resultado codigo=\"S"
                       "ORA-03113: end-of-file on communication channel\n");
}

static void handle_request(void *ctx, const sim_request *req, sim_response *resp)
{
    const pj_sim *sim = ctx;
    size_t path_len = strcspn(req->target, "?");
    if (path_len != strlen(PJ_PATH) || strncmp(req->target, PJ_PATH, path_len) != 0) {
        plain(resp, 404, "no such service; the registry answers POST " PJ_PATH "\n");
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        plain(resp, 405, "only POST is allowed\n");
        return;
    }
    if (!req->content_type || strncasecmp(req->content_type, "application/soap+xml", 20) != 0) {
        plain(resp, 415, "Content-Type must be application/soap+xml (SOAP 1.2)\n");
        return;
    }
    if (!action_matches(req->content_type)) {
        sim_soap_fault(resp, SIM_SOAP_12, true,
                       "accion desconocida; se espera action=\"" PJ_ACTION "\" en Content-Type");
        return;
    }

    xmlDocPtr doc;
    xmlNodePtr payload;
    const char *why;
    xmlChar *dni = NULL, *ruc = NULL, *motivo = NULL;
    if (sim_soap_parse(req->body, req->body_len, SIM_SOAP_12, &doc, &payload, &why) != GW_OK) {
        sim_soap_fault(resp, SIM_SOAP_12, true, why);
        return;
    }

    /* The signature first: an unsigned call learns nothing else about the service. */
    const char *shape = signature_shape_problem(xmlDocGetRootElement(doc));
    if (shape) {
        signature_refused(resp, shape);
        goto done;
    }
    char err[256];
    if (gw_verify_document(doc, sim->trusted_ca, err, sizeof err) != GW_OK) {
        char reason[400];
        snprintf(reason, sizeof reason, "firma XML-DSig rechazada: %s", err);
        signature_refused(resp, reason);
        goto done;
    }

    if (!is_ap_element(payload, "ConsultaAntecedentesRequest")) {
        sim_soap_fault(resp, SIM_SOAP_12, true,
                       "se espera {" PJ_NS "}ConsultaAntecedentesRequest en el Body");
        goto done;
    }
    xmlNodePtr header = child_ns(xmlDocGetRootElement(doc), sim_soap_envelope_ns(SIM_SOAP_12),
                                 "Header");
    xmlNodePtr consultante = ap_child(header, "Consultante");
    xmlNodePtr ruc_el = ap_child(consultante, "rucEntidad");
    xmlNodePtr motivo_el = ap_child(consultante, "motivo");
    ruc = ruc_el ? xmlNodeGetContent(ruc_el) : NULL;
    motivo = motivo_el ? xmlNodeGetContent(motivo_el) : NULL;
    if (!sim_is_digits((const char *)ruc, 11) || !motivo || !motivo[0]) {
        sim_soap_fault(resp, SIM_SOAP_12, true,
                       "env:Header requiere ap:Consultante con ap:rucEntidad (11 digitos) y "
                       "ap:motivo");
        goto done;
    }
    if (sim->verbose) {
        /* Who the registry was told is asking (tests compare it with the gateway's log). */
        xmlNodePtr operador_el = ap_child(consultante, "dniOperador");
        xmlChar *operador = operador_el ? xmlNodeGetContent(operador_el) : NULL;
        fprintf(stderr, "pj-sim: #%llu consultante rucEntidad=%s dniOperador=%s\n",
                (unsigned long long)req->number, (const char *)ruc,
                sim_is_digits((const char *)operador, 8) ? (const char *)operador : "-");
        xmlFree(operador);
    }
    xmlNodePtr documento = ap_child(payload, "documento");
    xmlChar *tipo = documento ? xmlGetNoNsProp(documento, (const xmlChar *)"tipo") : NULL;
    bool tipo_dni = tipo && strcmp((const char *)tipo, "DNI") == 0;
    xmlFree(tipo);
    dni = documento ? xmlNodeGetContent(documento) : NULL;
    pj_consulta c;
    pj_resultado r = tipo_dni ? pj_consultar((const char *)dni, &c) : PJ_DOCUMENTO_INVALIDO;
    if (r == PJ_DOCUMENTO_INVALIDO)
        sim_soap_fault(resp, SIM_SOAP_12, true,
                       "ap:documento debe ser tipo=\"DNI\" con 8 digitos");
    else if (r == PJ_RESPUESTA_DEFECTUOSA)
        write_garbage(resp);
    else {
        sim_response_set_content_type(resp, sim_soap_content_type(SIM_SOAP_12));
        write_answer(&resp->body, r, &c);
    }
done:
    xmlFree(dni);
    xmlFree(ruc);
    xmlFree(motivo);
    xmlFreeDoc(doc);
}

static void handle_injected_failure(void *ctx, const sim_request *req, sim_response *resp)
{
    (void)ctx;
    (void)req;
    sim_soap_fault(resp, SIM_SOAP_12, false,
                   "ERROR INTERNO DEL REGISTRO NACIONAL DE CONDENAS (falla simulada)");
}

/* Removes "--trusted-ca FILE" / "--trusted-ca=FILE" from argv (the shared option parser does
 * not know it); returns its value or NULL. Sets *bad when the option lacks its value. */
static const char *take_trusted_ca(int *argc, char **argv, bool *bad)
{
    static const char opt[] = "--trusted-ca";
    const char *value = NULL;
    int out = 1;
    *bad = false;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], opt) == 0) {
            if (i + 1 >= *argc) {
                *bad = true;
                continue;
            }
            value = argv[++i];
        } else if (strncmp(argv[i], opt, sizeof opt - 1) == 0 && argv[i][sizeof opt - 1] == '=') {
            value = argv[i] + sizeof opt;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    return value;
}

/* At least one PEM certificate in the file, so a wrong path fails at start-up, not per call. */
static bool ca_file_usable(const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, whylen, "cannot open: %s", strerror(errno));
        return false;
    }
    int certs = 0;
    X509 *cert;
    while ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        certs++;
        X509_free(cert);
    }
    fclose(f);
    if (certs == 0)
        snprintf(why, whylen, "holds no PEM certificate");
    return certs > 0;
}

int main(int argc, char **argv)
{
    sim_server_config cfg = {
        .name = "pj-sim",
        .handler = handle_request,
        .failure_handler = handle_injected_failure,
    };
    bool bad;
    pj_sim sim = {.trusted_ca = take_trusted_ca(&argc, argv, &bad)};
    if (bad) {
        fprintf(stderr, "pj-sim: --trusted-ca needs a value\n");
        return 2;
    }
    switch (sim_options_parse(&cfg.options, argc, argv, cfg.name,
                              "Simulates the Poder Judicial's criminal-record registry: SOAP 1.2\n"
                              "ConsultaAntecedentes at POST " PJ_PATH " (namespace " PJ_NS "),\n"
                              "signed calls only.\n"
                              "  --trusted-ca FILE  required: PEM CA certificate(s); a call must\n"
                              "                     carry an XML-DSig signature whose certificate\n"
                              "                     chains to one of them (else HTTP 403 Fault)\n"
                              "See simulators/pj/README.md for the special DNIs.")) {
    case SIM_OPTIONS_RUN: break;
    case SIM_OPTIONS_EXIT_OK: return 0;
    case SIM_OPTIONS_EXIT_USAGE: return 2;
    }
    if (!sim.trusted_ca) {
        fprintf(stderr, "pj-sim: --trusted-ca FILE is required: the registry accepts only calls "
                "signed by a certificate of that CA (see --help)\n");
        return 2;
    }
    char why[160];
    if (!ca_file_usable(sim.trusted_ca, why, sizeof why)) {
        fprintf(stderr, "pj-sim: --trusted-ca: '%s' %s\n", sim.trusted_ca, why);
        return 2;
    }

    xmlInitParser();
    if (gw_xmlsec_global_init() != GW_OK) {
        fprintf(stderr, "pj-sim: cannot initialise xmlsec\n");
        return 1;
    }
    sim.verbose = cfg.options.verbose;
    cfg.ctx = &sim;
    int rc = sim_server_run_until_signal(&cfg);
    gw_xmlsec_global_shutdown();
    xmlCleanupParser();
    return rc;
}
