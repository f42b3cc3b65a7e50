/*
 * reniec_sim.c — reniec-sim: the RENIEC padrón simulator. Speaks RENIEC's internal SOAP 1.1
 * protocol (README.md) over pide_simcommon's HTTP server, answering from reniec_data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "reniec_data.h"
#include "reniec_protocol.h"
#include "sim_buf.h"
#include "sim_server.h"
#include "sim_soap.h"

/* An entity code the padrón refuses, to exercise estado 20 (documented in README.md). */
static const char BLOCKED_ENTITY[] = "BLOQUEADA";

typedef struct reniec_sim {
    sim_buf photo_base64;   /* encoded once; read-only while serving */
} reniec_sim;

static bool is_rp_element(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           strcmp((const char *)n->ns->href, RENIEC_NS) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

/* Text of the request's child `name`, or NULL when absent. Caller xmlFree()s. */
static xmlChar *child_text(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent->children; n; n = n->next)
        if (is_rp_element(n, name))
            return xmlNodeGetContent(n);
    return NULL;
}

static bool entity_code_valid(const char *code)
{
    size_t len = strlen(code);
    if (len < 3 || len > 32 || strcmp(code, BLOCKED_ENTITY) == 0)
        return false;
    for (const char *p = code; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
              *p == '.'))
            return false;
    return true;
}

static void element(sim_buf *b, const char *name, const char *text)
{
    sim_buf_printf(b, "<rp:%s>", name);
    sim_buf_append_xml_text(b, text);
    sim_buf_printf(b, "</rp:%s>", name);
}

static void write_answer(const reniec_sim *sim, sim_buf *b, reniec_estado estado,
                         const reniec_ciudadano *c)
{
    sim_soap_begin(b, SIM_SOAP_11, "xmlns:rp=\"" RENIEC_NS "\"");
    sim_buf_printf(b, "<rp:ConsultarCiudadanoResponse><rp:estado codigo=\"%s\">%s</rp:estado>",
                   reniec_estado_codigo(estado), reniec_estado_descripcion(estado));
    if (estado == RENIEC_ESTADO_ENCONTRADO || estado == RENIEC_ESTADO_FALLECIDO ||
        estado == RENIEC_ESTADO_RESTRINGIDO) {
        sim_buf_append_str(b, "<rp:ciudadano>");
        element(b, "numeroDocumento", c->dni);
        element(b, "nombres", c->nombres);
        element(b, "apellidoPaterno", c->apellido_paterno);
        element(b, "apellidoMaterno", c->apellido_materno);
        if (c->ubigeo) {
            sim_buf_append_str(b, "<rp:domicilio>");
            element(b, "direccion", c->direccion);
            element(b, "ubigeo", c->ubigeo);
            sim_buf_append_str(b, "</rp:domicilio>");
        }
        if (c->estado_civil)
            sim_buf_printf(b, "<rp:estadoCivil codigo=\"%c\">%s</rp:estadoCivil>", c->estado_civil,
                           reniec_estado_civil_nombre(c->estado_civil));
        if (c->fecha_fallecimiento[0])
            element(b, "fechaFallecimiento", c->fecha_fallecimiento);
        if (c->restriccion)
            element(b, "restriccion", c->restriccion);
        if (c->con_foto) {
            sim_buf_append_str(b, "<rp:fotografia formato=\"JPEG\">");
            sim_buf_append(b, sim->photo_base64.data, sim->photo_base64.len);
            sim_buf_append_str(b, "</rp:fotografia>");
        }
        sim_buf_append_str(b, "</rp:ciudadano>");
    }
    sim_buf_append_str(b, "</rp:ConsultarCiudadanoResponse>");
    sim_soap_end(b);
}

static bool soap_action_matches(const char *action)
{
    if (!action)
        return false;
    size_t len = strlen(action);
    if (len >= 2 && action[0] == '"' && action[len - 1] == '"') {
        action++;
        len -= 2;
    }
    return len == strlen(RENIEC_SOAP_ACTION) && strncmp(action, RENIEC_SOAP_ACTION, len) == 0;
}

static void plain(sim_response *resp, int status, const char *text)
{
    resp->status = status;
    sim_response_set_content_type(resp, "text/plain; charset=utf-8");
    sim_buf_append_str(&resp->body, text);
}

static void handle_request(void *ctx, const sim_request *req, sim_response *resp)
{
    const reniec_sim *sim = ctx;
    size_t path_len = strcspn(req->target, "?");
    if (path_len != strlen(RENIEC_PATH) || strncmp(req->target, RENIEC_PATH, path_len) != 0) {
        plain(resp, 404, "no such service; the padron answers POST " RENIEC_PATH "\n");
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
    if (!soap_action_matches(req->soap_action)) {
        sim_soap_fault(resp, SIM_SOAP_11, true,
                       "SOAPAction desconocida; se espera \"" RENIEC_SOAP_ACTION "\"");
        return;
    }

    xmlDocPtr doc;
    xmlNodePtr payload;
    const char *why;
    if (sim_soap_parse(req->body, req->body_len, SIM_SOAP_11, &doc, &payload, &why) != GW_OK) {
        sim_soap_fault(resp, SIM_SOAP_11, true, why);
        return;
    }
    xmlChar *dni = NULL, *entidad = NULL;
    if (!is_rp_element(payload, "ConsultarCiudadanoRequest")) {
        sim_soap_fault(resp, SIM_SOAP_11, true,
                       "se espera {" RENIEC_NS "}ConsultarCiudadanoRequest en el Body");
        goto done;
    }
    dni = child_text(payload, "numeroDocumento");
    entidad = child_text(payload, "codigoEntidad");
    if (!dni || !entidad) {
        sim_soap_fault(resp, SIM_SOAP_11, true,
                       "ConsultarCiudadanoRequest requiere numeroDocumento y codigoEntidad");
        goto done;
    }

    reniec_ciudadano c = {0};
    reniec_estado estado = entity_code_valid((const char *)entidad)
                               ? reniec_consultar((const char *)dni, &c)
                               : RENIEC_ESTADO_ENTIDAD_NO_AUTORIZADA;
    write_answer(sim, &resp->body, estado, &c);
done:
    xmlFree(dni);
    xmlFree(entidad);
    xmlFreeDoc(doc);
}

static void handle_injected_failure(void *ctx, const sim_request *req, sim_response *resp)
{
    (void)ctx;
    (void)req;
    sim_soap_fault(resp, SIM_SOAP_11, false, "ERROR INTERNO DEL PADRON (falla simulada)");
}

int main(int argc, char **argv)
{
    sim_server_config cfg = {
        .name = "reniec-sim",
        .handler = handle_request,
        .failure_handler = handle_injected_failure,
    };
    switch (sim_options_parse(&cfg.options, argc, argv, cfg.name,
                              "Simulates RENIEC's padron: SOAP 1.1 ConsultarCiudadano at POST "
                              RENIEC_PATH "\n(namespace " RENIEC_NS "). See "
                              "simulators/reniec/README.md for the special DNIs.")) {
    case SIM_OPTIONS_RUN: break;
    case SIM_OPTIONS_EXIT_OK: return 0;
    case SIM_OPTIONS_EXIT_USAGE: return 2;
    }

    xmlInitParser();
    reniec_sim sim;
    sim_buf_init(&sim.photo_base64);
    sim_buf_append_base64(&sim.photo_base64, reniec_photo_jpeg, reniec_photo_jpeg_len);
    if (!sim_buf_ok(&sim.photo_base64)) {
        fprintf(stderr, "reniec-sim: out of memory\n");
        return 1;
    }
    cfg.ctx = &sim;
    int rc = sim_server_run_until_signal(&cfg);
    sim_buf_free(&sim.photo_base64);
    xmlCleanupParser();
    return rc;
}
