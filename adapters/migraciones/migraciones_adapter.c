/*
 * migraciones_adapter.c — adapter plugin for MigraCarnetdeExtrajeria: translates the consumer
 * contract (wsdl/MigraCarnetdeExtrajeria.wsdl, operation consultarDocumento) into Migraciones'
 * internal REST/JSON card register (GET {endpoint}/{numero}?entidad=X, see
 * simulators/migraciones/README.md) and the register's JSON back into
 * consultarDocumentoResponse/return (strNumRespuesta codes in schemas/migraciones-carnet.xsd).
 *
 * Configuration: the service's endpoint_url, the register's card collection, e.g.
 * http://127.0.0.1:8092/api/v1/carnes. No parameters. The calling institution is passed on as
 * the register's `entidad`: the authenticated member's institution code from host->identity()
 * when the host offers it (the register decides access by it, so it must never be the
 * caller's word), else the request's strCodInstitucion.
 *
 * When the register cannot give an answer (down, timeout, 5xx, unreadable JSON) the adapter
 * declares result code 0002 and returns the PIDE_ERR_PROVIDER_* code: the gateway then answers
 * a Fault carrying 0002, never a consultarDocumentoResponse.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "adapter_kit.h"
#include "adapter_xml.h"
#include "migraciones_protocol.h"
#include "pide_adapter.h"

#define CONTRACT_NS "http://ws.pide-gateway.org/migraciones/"
#define OPERATION "consultarDocumento"

/* strNumRespuesta values (schemas/migraciones-carnet.xsd). */
#define RESP_FOUND            "0000"
#define RESP_NOT_FOUND        "0001"
#define RESP_PROVIDER_ERROR   "0002"
#define RESP_ENTITY_DENIED    "0003"
#define RESP_BAD_NUMBER       "0004"

typedef struct migra_instance {
    adapter_instance base;             /* base.endpoint_url: the card collection */
    bool host_has_caller_audit;        /* set_caller_audit exists in this host's table */
} migra_instance;

/* What goes into return/; NULL members are left out. */
typedef struct respuesta {
    const char *num_respuesta;
    const char *nombres, *primer_apellido, *segundo_apellido, *calidad_migratoria;
    const char *nacionalidad, *fecha_vencimiento, *estado_carne, *des_respuesta;
} respuesta;

/* ---- request side ------------------------------------------------------------------------- */

static bool all_of(const char *s, const char *allowed, size_t min, size_t max)
{
    size_t len = s ? strlen(s) : 0;
    return len >= min && len <= max && strspn(s, allowed) == len;
}

#define DIGITS "0123456789"
#define ENTITY_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" DIGITS "._-"

/* ---- answer side -------------------------------------------------------------------------- */

/* A JSON string member copied into exchange memory. *ok turns false when the member is
 * present but not a string (or memory runs out); absent or null gives NULL. */
static const char *json_text(const migra_instance *in, pide_exchange *ex, json_t *obj,
                             const char *key, bool *ok)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    const char *copy = json_is_string(v) ? in->base.host->strdup(ex, json_string_value(v)) : NULL;
    if (!copy)
        *ok = false;
    return copy;
}

/* "YYYY-MM-DD": what xsd:date accepts without a time zone. */
static bool is_iso_date(const char *s)
{
    if (!s || strlen(s) != 10)
        return false;
    for (int i = 0; i < 10; i++)
        if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return false;
    return !(s[5] == '0' && s[6] == '0') && !(s[8] == '0' && s[9] == '0');
}

/* HTTP 200: a card. VIGENTE gives the holder; VENCIDO/ANULADO give 0001 and why. */
static pide_result translate_card(const migra_instance *in, pide_exchange *ex, json_t *card,
                                  const char *numero, respuesta *r)
{
    bool ok = json_is_object(card);
    const char *got_numero = json_text(in, ex, card, "numero", &ok);
    const char *estado = json_text(in, ex, card, "estado", &ok);
    const char *vencimiento = json_text(in, ex, card, "fechaVencimiento", &ok);
    if (!ok || !got_numero || strcmp(got_numero, numero) != 0 || !estado ||
        !is_iso_date(vencimiento))
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    r->fecha_vencimiento = vencimiento;
    if (strcmp(estado, "VENCIDO") == 0 || strcmp(estado, "ANULADO") == 0) {
        r->num_respuesta = RESP_NOT_FOUND;
        r->estado_carne = estado[1] == 'E' ? "VENCIDO" : "ANULADO";
        r->des_respuesta = estado[1] == 'E' ? "El carne de extranjeria esta vencido"
                                            : "El carne de extranjeria fue anulado";
        if (estado[1] != 'E')
            r->fecha_vencimiento = NULL;   /* meaningless for a cancelled card */
        return PIDE_OK;
    }
    if (strcmp(estado, "VIGENTE") != 0)
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;

    json_t *titular = json_object_get(card, "titular");
    ok = json_is_object(titular);
    r->nombres = json_text(in, ex, titular, "nombres", &ok);
    r->primer_apellido = json_text(in, ex, titular, "apellidoPaterno", &ok);
    r->segundo_apellido = json_text(in, ex, titular, "apellidoMaterno", &ok);
    r->nacionalidad = json_text(in, ex, titular, "nacionalidad", &ok);
    r->calidad_migratoria = json_text(in, ex, card, "calidadMigratoria", &ok);
    if (!ok || !r->nombres || !r->primer_apellido || !r->calidad_migratoria)
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    if (!r->segundo_apellido)
        r->segundo_apellido = "";          /* a single surname: the element stays, empty */
    r->num_respuesta = RESP_FOUND;
    r->estado_carne = "VIGENTE";
    r->des_respuesta = "Consulta correcta";
    return PIDE_OK;
}

/* HTTP 4xx with the register's {"error":{"codigo":...}}: business answers. */
static pide_result translate_error(const migra_instance *in, pide_exchange *ex, int status,
                                   json_t *doc, respuesta *r)
{
    bool ok = true;
    json_t *error = json_object_get(doc, "error");
    const char *codigo = json_is_object(error) ? json_text(in, ex, error, "codigo", &ok) : NULL;
    if (!codigo)
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    if (status == 404 && strcmp(codigo, MIGRA_ERR_NOT_FOUND) == 0) {
        r->num_respuesta = RESP_NOT_FOUND;
        r->des_respuesta = "No existe carne de extranjeria con ese numero";
    } else if (status == 403 && strcmp(codigo, MIGRA_ERR_ENTITY_DENIED) == 0) {
        r->num_respuesta = RESP_ENTITY_DENIED;
        r->des_respuesta = "Migraciones no autoriza a la institucion consultante";
    } else if (status == 400 && strcmp(codigo, MIGRA_ERR_BAD_NUMBER) == 0) {
        r->num_respuesta = RESP_BAD_NUMBER;
        r->des_respuesta = "Numero de documento invalido para Migraciones";
    } else {
        /* e.g. RECURSO_NO_ENCONTRADO: the endpoint is misconfigured, not a business answer */
        in->base.host->log(ex, PIDE_LOG_WARN, "migraciones: register answered HTTP %d %s", status,
                      codigo);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    return PIDE_OK;
}

/* Appends <name>text</name> when there is a text: return/'s members are all optional. */
static bool add_optional(xmlNodePtr parent, const char *name, const char *text)
{
    return !text || adapter_add_element(parent, name, text) != NULL;
}

static pide_result append_response(xmlNodePtr body, const respuesta *r)
{
    xmlNodePtr response =
        adapter_new_response(body->doc, CONTRACT_NS, "consultarDocumentoResponse");
    if (!response)
        return PIDE_ERR_NOMEM;
    xmlNodePtr ret = adapter_add_element(response, "return", NULL);
    if (!ret || !add_optional(ret, "strNumRespuesta", r->num_respuesta) ||
        !add_optional(ret, "strNombres", r->nombres) ||
        !add_optional(ret, "strPrimerApellido", r->primer_apellido) ||
        !add_optional(ret, "strSegundoApellido", r->segundo_apellido) ||
        !add_optional(ret, "strCalidadMigratoria", r->calidad_migratoria) ||
        !add_optional(ret, "strNacionalidad", r->nacionalidad) ||
        !add_optional(ret, "strFechaVencimiento", r->fecha_vencimiento) ||
        !add_optional(ret, "strEstadoCarne", r->estado_carne) ||
        !add_optional(ret, "strDesRespuesta", r->des_respuesta) ||
        !xmlAddChild(body, response))
        goto fail;
    return PIDE_OK;
fail:
    xmlFreeNode(response);
    return PIDE_ERR_NOMEM;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static pide_result migra_init(const pide_host_api *host, const pide_service_config *cfg,
                              void **instance)
{
    const char *url = cfg->endpoint_url;
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        strpbrk(url, "?# ") || url[strlen(url) - 1] == '/') {
        host->log(NULL, PIDE_LOG_ERROR, "service %s: migraciones needs an endpoint url "
                  "http(s)://host:port/path without query or trailing '/' (the card collection, "
                  "e.g. http://127.0.0.1:8092" MIGRA_CARNES_PATH ")", cfg->service_name);
        return PIDE_ERR_CONFIG;
    }
    migra_instance *in = NULL;
    pide_result rc = adapter_instance_new(host, cfg, "migraciones", "the card collection",
                                          sizeof *in, (void **)&in);
    if (rc != PIDE_OK)
        return rc;
    in->host_has_caller_audit = PIDE_HOST_HAS(host, set_caller_audit);
    /* jansson seeds its hash function on first use; do it here, before worker threads. */
    json_object_seed(0);
    *instance = in;
    return PIDE_OK;
}

/* The register's answer to `status`/`body` as a respuesta, or a PIDE_ERR_PROVIDER_* code. */
static pide_result translate_answer(const migra_instance *in, pide_exchange *ex,
                                    const pide_http_response *resp, const char *numero,
                                    respuesta *r)
{
    if (resp->status >= 500) {
        in->base.host->log(ex, PIDE_LOG_WARN, "migraciones: register answered HTTP %d",
                           resp->status);
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    if (resp->status != 200 && resp->status != 400 && resp->status != 403 && resp->status != 404) {
        in->base.host->log(ex, PIDE_LOG_WARN, "migraciones: register answered HTTP %d",
                           resp->status);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    json_error_t err;
    json_t *doc = resp->body ? json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES,
                                          &err)
                             : NULL;
    if (!doc) {
        in->base.host->log(ex, PIDE_LOG_WARN, "migraciones: register answer (HTTP %d) is not JSON",
                      resp->status);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    pide_result rc = resp->status == 200 ? translate_card(in, ex, doc, numero, r)
                                         : translate_error(in, ex, resp->status, doc, r);
    if (rc == PIDE_ERR_PROVIDER_BAD_RESPONSE)
        in->base.host->log(ex, PIDE_LOG_WARN,
                           "migraciones: register answer has an unexpected shape");
    json_decref(doc);
    return rc;
}

static pide_result migra_handle(void *instance, pide_exchange *ex, const pide_call *call)
{
    const migra_instance *in = instance;
    const pide_host_api *host = in->base.host;

    if (strcmp(call->operation, OPERATION) != 0)
        return PIDE_ERR_BAD_REQUEST;
    xmlNodePtr solicitud = adapter_child(call->request, NULL, "solicitud");
    const char *institucion = adapter_child_text(host, ex, solicitud, NULL, "strCodInstitucion");
    const char *mac = adapter_child_text(host, ex, solicitud, NULL, "strMac");
    const char *ip = adapter_child_text(host, ex, solicitud, NULL, "strNroIp");
    const char *numero = adapter_child_text(host, ex, solicitud, NULL, "strNumDocumento");
    const char *tipo = adapter_child_text(host, ex, solicitud, NULL, "strTipoDocumento");
    const pide_identity *id = PIDE_HOST_HAS(host, identity) ? host->identity(ex) : NULL;
    if (id && id->institution_code)
        institucion = id->institution_code;
    if (!adapter_is_ce(numero) || !all_of(institucion, ENTITY_CHARS, 1, 32) || !tipo) {
        host->log(ex, PIDE_LOG_WARN, "migraciones: solicitud lacks a 9-digit strNumDocumento, "
                  "a strCodInstitucion or a strTipoDocumento");
        return PIDE_ERR_BAD_REQUEST;
    }
    host->set_subject(ex, tipo, numero);
    if (in->host_has_caller_audit)
        host->set_caller_audit(ex, NULL, ip, NULL, mac);
    if (strcmp(tipo, "CE") != 0) {
        host->log(ex, PIDE_LOG_WARN, "migraciones: strTipoDocumento '%s' is not served (only CE)",
                  tipo);
        return PIDE_ERR_BAD_REQUEST;
    }

    /* Digits and [A-Za-z0-9._-] only: nothing needs percent-encoding. */
    size_t cap = strlen(in->base.endpoint_url) + strlen(numero) + strlen(institucion) +
                 sizeof "/?" MIGRA_ENTITY_QUERY "=";
    char *url = host->alloc(ex, cap);
    if (!url)
        return PIDE_ERR_NOMEM;
    snprintf(url, cap, "%s/%s?" MIGRA_ENTITY_QUERY "=%s", in->base.endpoint_url, numero,
             institucion);

    pide_http_request req = {.url = url, .method = "GET"};
    pide_http_response resp = {0};
    respuesta r = {0};
    pide_result rc = host->http_call(ex, &req, &resp);
    if (rc == PIDE_OK)
        rc = translate_answer(in, ex, &resp, numero, &r);
    if (rc == PIDE_OK)
        rc = append_response(call->response_body, &r);
    if (rc == PIDE_OK)
        host->set_result_code(ex, r.num_respuesta);
    else if (adapter_is_provider_failure(rc))
        host->set_result_code(ex, RESP_PROVIDER_ERROR);
    return rc;
}

static const char *const OPERATIONS[] = {OPERATION, NULL};

static const pide_adapter MIGRACIONES_ADAPTER = {
    PIDE_ADAPTER_HEADER,
    .name = "migraciones",
    .version = "1.0.0",
    .operations = OPERATIONS,
    .init = migra_init,
    .handle = migra_handle,
    .fini = adapter_instance_free,
    .params = NULL, /* no parameters: the endpoint is all it needs */
};

PIDE_ADAPTER_EXPORT(MIGRACIONES_ADAPTER)
