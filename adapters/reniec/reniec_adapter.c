/*
 * reniec_adapter.c — adapter plugin for ReniecConsultaDni: translates the consumer contract
 * (wsdl/ReniecConsultaDni.wsdl, operation consultar) into RENIEC's internal padrón protocol
 * (ConsultarCiudadano, see simulators/reniec/README.md) and the padrón's answer back into
 * consultarResponse/return.
 *
 * Configuration: the service's endpoint_url (the padrón's address, e.g.
 * http://127.0.0.1:8091/padron/v2/ciudadano) and the optional parameter entityCode (sent as
 * codigoEntidad; default PIDE-GW). The caller's password is never read: the gateway has already
 * authenticated the caller, and RENIEC knows the gateway by its entity code.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "adapter_kit.h"
#include "adapter_xml.h"
#include "pide_adapter.h"
#include "reniec_protocol.h"

#define CONTRACT_NS "http://ws.pide-gateway.org/reniec/"
#define SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define DEFAULT_ENTITY_CODE "PIDE-GW"

typedef struct reniec_instance {
    adapter_instance base;
    char *entity_code;
} reniec_instance;

/* Each padrón answer code: the contract's coResultado, deResultado and whether the answer
 * carries a person. */
static const adapter_code ESTADOS[] = {
    {"00", "0000", "Consulta realizada correctamente", true},
    {"01", "0001", "El DNI consultado no existe en el padrón de RENIEC", false},
    {"02", "0002", "El DNI corresponde a una persona fallecida", true},
    {"03", "0003", "Los datos del ciudadano tienen restricción", true},
    {"10", "0004", "El número de DNI no es válido para RENIEC", false},
    {"20", "0005", "RENIEC no autoriza a la entidad a consultar", false},
    {"90", "0999", "El servicio de RENIEC no está disponible; reintente más tarde", false},
};

static const adapter_code ESTADOS_CIVILES[] = {
    {"S", "SOLTERO", NULL, false}, {"C", "CASADO", NULL, false},
    {"V", "VIUDO", NULL, false},   {"D", "DIVORCIADO", NULL, false},
};

/* Same rule as the padrón's: 3-32 characters of A-Z 0-9 - _ . (also keeps the request free of
 * characters needing XML escaping). */
static bool is_entity_code(const char *s)
{
    size_t len = strlen(s);
    if (len < 3 || len > 32)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
              *s == '.'))
            return false;
    return true;
}

static bool is_base64(const char *s)
{
    size_t significant = 0;
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            continue;
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '+' || *s == '/' || *s == '='))
            return false;
        significant++;
    }
    return significant > 0 && significant % 4 == 0;
}

static void reniec_fini(void *instance)
{
    reniec_instance *in = instance;
    if (in)
        free(in->entity_code);
    adapter_instance_free(in);
}

static pide_result reniec_init(const pide_host_api *host, const pide_service_config *cfg,
                               void **instance)
{
    reniec_instance *in = NULL;
    pide_result rc = adapter_instance_new(host, cfg, "reniec", "the padrón's address",
                                          sizeof *in, (void **)&in);
    if (rc != PIDE_OK)
        return rc;
    const char *entity = adapter_param(host, cfg, "entityCode", DEFAULT_ENTITY_CODE);
    if (!is_entity_code(entity)) {
        host->log(NULL, PIDE_LOG_ERROR,
                  "reniec adapter, service %s: parameter entityCode '%s' is invalid: "
                  "3 to 32 characters among A-Z 0-9 - _ .", in->base.service_name, entity);
        reniec_fini(in);
        return PIDE_ERR_CONFIG;
    }
    if (!(in->entity_code = strdup(entity))) {
        reniec_fini(in);
        return PIDE_ERR_NOMEM;
    }
    *instance = in;
    return PIDE_OK;
}

/* Translates rp:ciudadano into datosPersona under `ret`. */
static pide_result add_person(const reniec_instance *in, pide_exchange *ex, xmlNodePtr ciudadano,
                              const char *estado, xmlNodePtr ret)
{
    const pide_host_api *host = in->base.host;
    const char *nombres = adapter_child_text(host, ex, ciudadano, RENIEC_NS, "nombres");
    const char *paterno = adapter_child_text(host, ex, ciudadano, RENIEC_NS, "apellidoPaterno");
    const char *materno = adapter_child_text(host, ex, ciudadano, RENIEC_NS, "apellidoMaterno");
    if (!nombres || !paterno || !materno || !*nombres) {
        host->log(ex, PIDE_LOG_WARN, "reniec: ciudadano without nombres or apellidos");
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    xmlNodePtr domicilio = adapter_child(ciudadano, RENIEC_NS, "domicilio");
    const char *direccion = adapter_child_text(host, ex, domicilio, RENIEC_NS, "direccion");
    const char *ubigeo = adapter_child_text(host, ex, domicilio, RENIEC_NS, "ubigeo");
    if (ubigeo && !adapter_is_digits(ubigeo, 6)) {
        host->log(ex, PIDE_LOG_WARN, "reniec: ubigeo '%.16s' is not 6 digits", ubigeo);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }

    /* The padrón sends a code; the contract wants the name. A code we do not know yet keeps
     * the padrón's own wording rather than failing the whole answer. */
    const char *estado_civil = NULL;
    xmlNodePtr civil = adapter_child(ciudadano, RENIEC_NS, "estadoCivil");
    if (civil) {
        const adapter_code *c =
            ADAPTER_CODE_FIND(ESTADOS_CIVILES, adapter_attr_of(host, ex, civil, "codigo"));
        estado_civil = c ? c->contract : NULL;
        if (!estado_civil) {
            estado_civil = adapter_text_of(host, ex, civil);
            if (estado_civil && !*estado_civil)
                estado_civil = NULL;
        }
    }

    const char *restriccion = adapter_child_text(host, ex, ciudadano, RENIEC_NS, "restriccion");
    if (strcmp(estado, "02") == 0)
        restriccion = "FALLECIDO";
    const char *foto = adapter_child_text(host, ex, ciudadano, RENIEC_NS, "fotografia");
    if (foto && !is_base64(foto)) {
        host->log(ex, PIDE_LOG_WARN, "reniec: fotografia is not base64");
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }

    xmlNodePtr datos = adapter_add_element(ret, "datosPersona", NULL);
    if (!datos || !adapter_add_element(datos, "prenombres", nombres) ||
        !adapter_add_element(datos, "apPrimer", paterno) ||
        !adapter_add_element(datos, "apSegundo", materno) ||
        (direccion && !adapter_add_element(datos, "direccion", direccion)) ||
        (estado_civil && !adapter_add_element(datos, "estadoCivil", estado_civil)) ||
        (ubigeo && !adapter_add_element(datos, "ubigeo", ubigeo)) ||
        (restriccion && !adapter_add_element(datos, "restriccion", restriccion)) ||
        (foto && !adapter_add_element(datos, "foto", foto)))
        return PIDE_ERR_NOMEM;
    return PIDE_OK;
}

/* Builds consultarResponse from the padrón's parsed answer. On PIDE_OK *out is detached and
 * owned by the caller. */
static pide_result translate_answer(const reniec_instance *in, pide_exchange *ex, xmlDocPtr answer,
                                    xmlDocPtr out_doc, xmlNodePtr *out, const char **co_resultado)
{
    const pide_host_api *host = in->base.host;
    xmlNodePtr env = xmlDocGetRootElement(answer);
    if (!adapter_element_is(env, SOAP11_NS, "Envelope")) {
        host->log(ex, PIDE_LOG_WARN, "reniec: answer is not a SOAP 1.1 envelope");
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    xmlNodePtr body = adapter_child(env, SOAP11_NS, "Body");
    xmlNodePtr payload = adapter_first_element(body ? body->children : NULL);
    if (adapter_element_is(payload, SOAP11_NS, "Fault")) {
        const char *why = adapter_child_text(host, ex, payload, NULL, "faultstring");
        host->log(ex, PIDE_LOG_WARN, "reniec: padrón answered a SOAP Fault: %.200s",
                  why ? why : "(no faultstring)");
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    if (!adapter_element_is(payload, RENIEC_NS, "ConsultarCiudadanoResponse")) {
        host->log(ex, PIDE_LOG_WARN, "reniec: Body holds no ConsultarCiudadanoResponse");
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    const char *estado =
        adapter_attr_of(host, ex, adapter_child(payload, RENIEC_NS, "estado"), "codigo");
    const adapter_code *m = ADAPTER_CODE_FIND(ESTADOS, estado);
    if (!m) {
        host->log(ex, PIDE_LOG_WARN, "reniec: unknown estado '%.8s'",
                  estado ? estado : "(missing)");
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    xmlNodePtr ciudadano = adapter_child(payload, RENIEC_NS, "ciudadano");
    if (m->flag && !ciudadano) {
        host->log(ex, PIDE_LOG_WARN, "reniec: estado %s without ciudadano", m->provider);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }

    char de_resultado[160];
    snprintf(de_resultado, sizeof de_resultado, "%s", m->text);
    if (strcmp(m->provider, "02") == 0) {
        const char *fecha =
            adapter_child_text(host, ex, ciudadano, RENIEC_NS, "fechaFallecimiento");
        if (fecha && *fecha)
            snprintf(de_resultado, sizeof de_resultado, "%s (fecha de fallecimiento: %.10s)",
                     m->text, fecha);
    }

    pide_result rc = PIDE_ERR_NOMEM;
    xmlNodePtr response = adapter_new_response(out_doc, CONTRACT_NS, "consultarResponse");
    if (!response)
        return PIDE_ERR_NOMEM;
    xmlNodePtr ret = adapter_add_element(response, "return", NULL);
    if (!ret || !adapter_add_element(ret, "coResultado", m->contract) ||
        !adapter_add_element(ret, "deResultado", de_resultado))
        goto fail;
    if (m->flag && (rc = add_person(in, ex, ciudadano, m->provider, ret)) != PIDE_OK)
        goto fail;
    *out = response;
    *co_resultado = m->contract;
    return PIDE_OK;
fail:
    xmlFreeNode(response);
    return rc;
}

static pide_result consult_padron(void *instance, pide_exchange *ex, const pide_call *call)
{
    const reniec_instance *in = instance;
    const pide_host_api *host = in->base.host;
    xmlDocPtr answer = NULL;
    pide_result rc;

    if (strcmp(call->operation, "consultar") != 0)
        return PIDE_ERR_BAD_REQUEST;
    xmlNodePtr arg0 = adapter_child(call->request, NULL, "arg0");
    const char *dni = adapter_child_text(host, ex, arg0, NULL, "nuDniConsulta");
    const char *usuario = adapter_child_text(host, ex, arg0, NULL, "nuDniUsuario");
    /* RENIEC hears the official the gateway authenticated (or the authenticated member
     * declared), the one the exchange log records. */
    const pide_identity *id = PIDE_HOST_HAS(host, identity) ? host->identity(ex) : NULL;
    if (id && id->official)
        usuario = id->official;
    if (!adapter_is_dni(dni) || !adapter_is_dni(usuario)) {
        host->log(ex, PIDE_LOG_WARN, "reniec: arg0/nuDniConsulta or nuDniUsuario is not 8 digits");
        return PIDE_ERR_BAD_REQUEST;
    }
    host->set_subject(ex, "DNI", dni);

    /* Every value below is digits or a validated entity code: nothing needs escaping. */
    static const char request_fmt[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<soapenv:Envelope xmlns:soapenv=\"" SOAP11_NS "\" xmlns:rp=\"" RENIEC_NS "\">"
        "<soapenv:Body><rp:ConsultarCiudadanoRequest>"
        "<rp:numeroDocumento>%s</rp:numeroDocumento>"
        "<rp:codigoEntidad>%s</rp:codigoEntidad>"
        "<rp:usuarioConsulta>%s</rp:usuarioConsulta>"
        "</rp:ConsultarCiudadanoRequest></soapenv:Body></soapenv:Envelope>";
    size_t cap = sizeof request_fmt + strlen(dni) + strlen(in->entity_code) + strlen(usuario);
    char *body = host->alloc(ex, cap);
    if (!body)
        return PIDE_ERR_NOMEM;
    int body_len = snprintf(body, cap, request_fmt, dni, in->entity_code, usuario);

    pide_http_request req = {
        .url = NULL,
        .method = "POST",
        .content_type = "text/xml; charset=utf-8",
        .soap_action = RENIEC_SOAP_ACTION, /* the host quotes it on the wire if it must */
        .body = body,
        .body_len = (size_t)body_len,
        .timeout_ms = 0,
    };
    pide_http_response resp = {0};
    rc = host->http_call(ex, &req, &resp);
    if (rc != PIDE_OK)
        return rc;
    if (resp.status >= 500) {
        /* Whether a SOAP Fault or an error page: the padrón could not answer. */
        host->log(ex, PIDE_LOG_WARN, "reniec: padrón answered HTTP %d", resp.status);
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    if (resp.status != 200) {
        host->log(ex, PIDE_LOG_WARN, "reniec: padrón answered HTTP %d", resp.status);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    rc = adapter_xml_answer(host, ex, "reniec: padrón", &resp, &answer);
    if (rc != PIDE_OK)
        goto done;

    xmlNodePtr response = NULL;
    const char *co_resultado = NULL;
    rc = translate_answer(in, ex, answer, call->response_body->doc, &response, &co_resultado);
    if (rc != PIDE_OK)
        goto done;
    if (!xmlAddChild(call->response_body, response)) {
        xmlFreeNode(response);
        rc = PIDE_ERR_NOMEM;
        goto done;
    }
    host->set_result_code(ex, co_resultado);
done:
    xmlFreeDoc(answer);
    return rc;
}

/* coResultado for "the service is not available": what RENIEC's contract says when the padrón
 * cannot answer, sent in the Fault's detail beside the gateway's own code. */
#define CO_SERVICE_UNAVAILABLE "0999"

static pide_result reniec_handle(void *instance, pide_exchange *ex, const pide_call *call)
{
    pide_result rc = consult_padron(instance, ex, call);
    if (adapter_is_provider_failure(rc))
        ((const reniec_instance *)instance)->base.host->set_result_code(ex, CO_SERVICE_UNAVAILABLE);
    return rc;
}

static const char *const OPERATIONS[] = {"consultar", NULL};

static const pide_param_decl PARAMS[] = {
    {"entityCode", PIDE_PARAM_STRING, 0, DEFAULT_ENTITY_CODE,
     "codigoEntidad RENIEC knows the gateway by: 3-32 of A-Z 0-9 - _ ."},
    {NULL, PIDE_PARAM_STRING, 0, NULL, NULL},
};

static const pide_adapter RENIEC_ADAPTER = {
    PIDE_ADAPTER_HEADER,
    .name = "reniec",
    .version = "1.0.0",
    .operations = OPERATIONS,
    .init = reniec_init,
    .handle = reniec_handle,
    .fini = reniec_fini,
    .params = PARAMS,
};

PIDE_ADAPTER_EXPORT(RENIEC_ADAPTER)
