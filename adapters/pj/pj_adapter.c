/*
 * pj_adapter.c — adapter plugin for AntecedentesPenales: translates the consumer contract
 * (wsdl/AntecedentesPenales.wsdl, operation verificarAntecedentesPenales) into the Poder
 * Judicial's internal SOAP 1.2 protocol (ConsultaAntecedentes, see simulators/pj/README.md),
 * signs that request with the gateway's key (the PJ accepts only signed calls) and translates
 * the registry's answer back into verificarAntecedentesPenalesResponse/return.
 *
 * Configuration: the service's endpoint_url (the registry's address, e.g.
 * http://127.0.0.1:8093/pj/antecedentes/v1); no parameters.
 *
 * The consultant told to the registry (rucEntidad, dniOperador) is the authenticated identity
 * from host->identity() when the host offers it, not the request's xRucEntidadConsultante /
 * xDniPersonaConsultante (which the gateway also binds: docs/configuration.md).
 *
 * Outcomes, as an operator reads them:
 *   registry answers SR / CR / NE / MT   -> coResultado 0000 / 0001 / 0002 / 0999 (normal answers)
 *   no connection, HTTP 5xx, SOAP Fault  -> Server.Provider.Unavailable
 *   no answer in time                    -> Server.Provider.Timeout
 *   unparseable or wrongly shaped answer,
 *   an answer about another DNI, 4xx     -> Server.Provider.BadResponse
 *   HTTP 403 (the PJ refused the gateway's signature) -> Server.Adapter (PIDE_ERR_CONFIG) and an
 *       ERROR line naming the PJ's reason: the PJ is up and answering, so neither "provider
 *       unavailable" nor "bad response" is true; what is wrong is the gateway's signing key or
 *       certificate (not issued by a CA the PJ trusts, expired...), which only the gateway's
 *       operator can fix.
 * Every provider-side failure is logged with result code 0999.
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
#include "pj_protocol.h"

#define CONTRACT_NS "http://ws.pide-gateway.org/pj/"
#define SOAP12_NS "http://www.w3.org/2003/05/soap-envelope"
#define PROVIDER_FAILED_CODE "0999"

/* Host, service name and endpoint are all it keeps. */
typedef adapter_instance pj_instance;

/* Each registry answer code: the contract's coResultado, deResultado and whether the answer
 * lists condenas. */
static const adapter_code RESULTADOS[] = {
    {"SR", "0000", "La persona no registra antecedentes penales", false},
    {"CR", "0001", "La persona registra antecedentes penales", true},
    {"NE", "0002", "El DNI no figura en el registro de condenas del Poder Judicial", false},
    {"MT", "0999", "El servicio del Poder Judicial no esta disponible; reintente mas tarde", false},
};

static const adapter_code SITUACIONES[] = {
    {"V", "VIGENTE", NULL, false}, {"C", "CUMPLIDA", NULL, false},
    {"R", "REHABILITADO", NULL, false},
};

/* The consumer request fields, in contract order. */
typedef struct pj_request {
    const char *apellido_paterno, *apellido_materno, *nombre1, *nombre2, *nombre3;
    const char *dni, *motivo, *proceso, *ruc, *dni_consultante;
    const char *aud_pc, *aud_ip, *aud_usuario, *aud_mac;
} pj_request;

static bool is_date(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (size_t i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    int month = (s[5] - '0') * 10 + (s[6] - '0');
    int day = (s[8] - '0') * 10 + (s[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

static pide_result pj_init(const pide_host_api *host, const pide_service_config *cfg,
                           void **instance)
{
    return adapter_instance_new(host, cfg, "pj", "the registry's address", sizeof(pj_instance),
                                instance);
}

static pide_result read_request(const pj_instance *in, pide_exchange *ex, xmlNodePtr op,
                                pj_request *r)
{
    r->apellido_paterno = adapter_child_text(in->host, ex, op, NULL, "xApellidoPaterno");
    r->apellido_materno = adapter_child_text(in->host, ex, op, NULL, "xApellidoMaterno");
    r->nombre1 = adapter_child_text(in->host, ex, op, NULL, "xNombre1");
    r->nombre2 = adapter_child_text(in->host, ex, op, NULL, "xNombre2");
    r->nombre3 = adapter_child_text(in->host, ex, op, NULL, "xNombre3");
    r->dni = adapter_child_text(in->host, ex, op, NULL, "xDni");
    r->motivo = adapter_child_text(in->host, ex, op, NULL, "xMotivoConsulta");
    r->proceso = adapter_child_text(in->host, ex, op, NULL, "xProcesoEntidadConsultante");
    r->ruc = adapter_child_text(in->host, ex, op, NULL, "xRucEntidadConsultante");
    r->dni_consultante = adapter_child_text(in->host, ex, op, NULL, "xDniPersonaConsultante");
    r->aud_pc = adapter_child_text(in->host, ex, op, NULL, "xAudNombrePC");
    r->aud_ip = adapter_child_text(in->host, ex, op, NULL, "xAudIP");
    r->aud_usuario = adapter_child_text(in->host, ex, op, NULL, "xAudNombreUsuario");
    r->aud_mac = adapter_child_text(in->host, ex, op, NULL, "xAudDireccionMAC");
    /* Who asks is who the gateway authenticated, whatever the request says: the registry hears
     * the same entity and official as the exchange log records. */
    const pide_identity *id = PIDE_HOST_HAS(in->host, identity) ? in->host->identity(ex) : NULL;
    if (id && id->member)
        r->ruc = id->member;
    if (id && id->official)
        r->dni_consultante = id->official;
    /* The XSD guarantees these; checked again because the adapter may run behind another host. */
    if (!adapter_is_dni(r->dni) || !adapter_is_dni(r->dni_consultante) ||
        !adapter_is_ruc(r->ruc) || !r->motivo || !*r->motivo) {
        in->host->log(ex, PIDE_LOG_WARN, "pj: xDni, xDniPersonaConsultante, "
                      "xRucEntidadConsultante or xMotivoConsulta missing or malformed");
        return PIDE_ERR_BAD_REQUEST;
    }
    return PIDE_OK;
}

/* The given names joined by single spaces, or NULL when there are none. */
static const char *joined_names(const pj_instance *in, pide_exchange *ex, const pj_request *r)
{
    const char *parts[] = {r->nombre1, r->nombre2, r->nombre3};
    size_t len = 0;
    for (size_t i = 0; i < 3; i++)
        if (parts[i] && *parts[i])
            len += strlen(parts[i]) + 1;
    if (len == 0)
        return NULL;
    char *out = in->host->alloc(ex, len);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < 3; i++)
        if (parts[i] && *parts[i]) {
            if (out[0])
                strcat(out, " ");
            strcat(out, parts[i]);
        }
    return out;
}

static bool set_optional_prop(xmlNodePtr n, const char *name, const char *value)
{
    return !value || xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)value) != NULL;
}

static bool add_optional(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *value)
{
    return !value || xmlNewTextChild(parent, ns, (const xmlChar *)name,
                                     (const xmlChar *)value) != NULL;
}

/* Builds the registry's SOAP 1.2 request, signed. On PIDE_OK *out is the serialised envelope
 * in exchange memory. */
static pide_result build_signed_request(const pj_instance *in, pide_exchange *ex,
                                        const pj_request *r, const char **out, size_t *out_len)
{
    pide_result rc = PIDE_ERR_NOMEM;
    xmlChar *serialised = NULL;
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr env = doc ? xmlNewDocNode(doc, NULL, (const xmlChar *)"Envelope", NULL) : NULL;
    if (!env)
        goto done;
    xmlDocSetRootElement(doc, env);
    xmlNsPtr env_ns = xmlNewNs(env, (const xmlChar *)SOAP12_NS, (const xmlChar *)"env");
    xmlNsPtr ap = xmlNewNs(env, (const xmlChar *)PJ_NS, (const xmlChar *)"ap");
    if (!env_ns || !ap)
        goto done;
    xmlSetNs(env, env_ns);

    xmlNodePtr header = xmlNewChild(env, env_ns, (const xmlChar *)"Header", NULL);
    xmlNodePtr consultante = header ? xmlNewChild(header, ap, (const xmlChar *)"Consultante",
                                                  NULL) : NULL;
    if (!consultante || !add_optional(consultante, ap, "rucEntidad", r->ruc) ||
        !add_optional(consultante, ap, "dniOperador", r->dni_consultante) ||
        !add_optional(consultante, ap, "motivo", r->motivo) ||
        !add_optional(consultante, ap, "procedimiento", r->proceso))
        goto done;
    if (r->aud_pc || r->aud_ip || r->aud_usuario || r->aud_mac) {
        xmlNodePtr terminal = xmlNewChild(consultante, ap, (const xmlChar *)"terminal", NULL);
        if (!terminal || !set_optional_prop(terminal, "equipo", r->aud_pc) ||
            !set_optional_prop(terminal, "ip", r->aud_ip) ||
            !set_optional_prop(terminal, "usuario", r->aud_usuario) ||
            !set_optional_prop(terminal, "mac", r->aud_mac))
            goto done;
    }

    xmlNodePtr body = xmlNewChild(env, env_ns, (const xmlChar *)"Body", NULL);
    xmlNodePtr request = body ? xmlNewChild(body, ap, (const xmlChar *)"ConsultaAntecedentesRequest",
                                            NULL) : NULL;
    xmlNodePtr documento = request ? xmlNewTextChild(request, ap, (const xmlChar *)"documento",
                                                     (const xmlChar *)r->dni) : NULL;
    if (!documento || !xmlNewProp(documento, (const xmlChar *)"tipo", (const xmlChar *)"DNI") ||
        !add_optional(request, ap, "apellidoPaterno", r->apellido_paterno) ||
        !add_optional(request, ap, "apellidoMaterno", r->apellido_materno) ||
        !add_optional(request, ap, "nombres", joined_names(in, ex, r)))
        goto done;

    /* The registry refuses unsigned calls: the signature covers the whole envelope and goes
     * last in the Header, where the registry looks for it. */
    rc = in->host->sign_document(ex, doc, header);
    if (rc != PIDE_OK) {
        in->host->log(ex, PIDE_LOG_ERROR, "pj: cannot sign the request to the registry (%d)", rc);
        goto done;
    }
    int len = 0;
    /* No re-indentation: any change after signing would break the signature. */
    xmlDocDumpMemoryEnc(doc, &serialised, &len, "UTF-8");
    char *copy = serialised && len > 0 ? in->host->alloc(ex, (size_t)len + 1) : NULL;
    if (!copy) {
        rc = PIDE_ERR_NOMEM;
        goto done;
    }
    memcpy(copy, serialised, (size_t)len);
    copy[len] = '\0';
    *out = copy;
    *out_len = (size_t)len;
    rc = PIDE_OK;
done:
    xmlFree(serialised);
    xmlFreeDoc(doc);
    return rc;
}

/* The reason text of a SOAP 1.2 Fault answer, for the operational log; "" when there is none. */
static const char *fault_reason(const pj_instance *in, pide_exchange *ex, const char *body,
                                size_t len)
{
    xmlDocPtr doc = adapter_parse_answer(body, len);
    const char *reason = NULL;
    if (doc) {
        xmlNodePtr env = xmlDocGetRootElement(doc);
        xmlNodePtr fault = adapter_child(adapter_child(env, SOAP12_NS, "Body"), SOAP12_NS, "Fault");
        xmlNodePtr reason_el = adapter_child(fault, SOAP12_NS, "Reason");
        reason = adapter_child_text(in->host, ex, reason_el, SOAP12_NS, "Text");
    }
    xmlFreeDoc(doc);
    return reason ? reason : "";
}

/* Translates one ap:condena into antecedente under `list`. */
static pide_result add_record(const pj_instance *in, pide_exchange *ex, xmlNodePtr condena,
                              xmlNodePtr list)
{
    const char *organo = adapter_child_text(in->host, ex, condena, PJ_NS, "organo");
    const char *expediente = adapter_child_text(in->host, ex, condena, PJ_NS, "expediente");
    const char *delito = adapter_child_text(in->host, ex, condena, PJ_NS, "delito");
    const char *fecha = adapter_child_text(in->host, ex, condena, PJ_NS, "fechaSentencia");
    xmlNodePtr situacion_el = adapter_child(condena, PJ_NS, "situacion");
    const char *codigo = adapter_attr_of(in->host, ex, situacion_el, "codigo");
    const adapter_code *s = ADAPTER_CODE_FIND(SITUACIONES, codigo);
    const char *situacion = s ? s->contract : NULL;
    if (!organo || !*organo || !expediente || !*expediente || !delito || !*delito ||
        !is_date(fecha) || !situacion) {
        in->host->log(ex, PIDE_LOG_WARN, "pj: condena incomplete or malformed (organo, "
                      "expediente, delito, fechaSentencia YYYY-MM-DD, situacion V/C/R)");
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    xmlNodePtr a = adapter_add_element(list, "antecedente", NULL);
    if (!a || !adapter_add_element(a, "xOrganoJurisdiccional", organo) ||
        !adapter_add_element(a, "xNumeroExpediente", expediente) ||
        !adapter_add_element(a, "xDelito", delito) ||
        !adapter_add_element(a, "fSentencia", fecha) ||
        !adapter_add_element(a, "xSituacion", situacion))
        return PIDE_ERR_NOMEM;
    return PIDE_OK;
}

/* Builds verificarAntecedentesPenalesResponse from the registry's parsed answer. On PIDE_OK
 * *out is detached and owned by the caller. */
static pide_result translate_answer(const pj_instance *in, pide_exchange *ex, xmlDocPtr answer,
                                    const char *dni, xmlDocPtr out_doc, xmlNodePtr *out,
                                    const char **co_resultado)
{
    xmlNodePtr env = xmlDocGetRootElement(answer);
    if (!adapter_element_is(env, SOAP12_NS, "Envelope")) {
        in->host->log(ex, PIDE_LOG_WARN, "pj: answer is not a SOAP 1.2 envelope");
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    xmlNodePtr body = adapter_child(env, SOAP12_NS, "Body");
    xmlNodePtr payload = adapter_first_element(body ? body->children : NULL);
    if (adapter_element_is(payload, SOAP12_NS, "Fault")) {
        in->host->log(ex, PIDE_LOG_WARN, "pj: registry answered a SOAP Fault with HTTP 200");
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    if (!adapter_element_is(payload, PJ_NS, "ConsultaAntecedentesResponse")) {
        in->host->log(ex, PIDE_LOG_WARN, "pj: Body holds no ConsultaAntecedentesResponse");
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    xmlNodePtr resultado = adapter_child(payload, PJ_NS, "resultado");
    const char *codigo = adapter_attr_of(in->host, ex, resultado, "codigo");
    const adapter_code *m = ADAPTER_CODE_FIND(RESULTADOS, codigo);
    if (!m) {
        in->host->log(ex, PIDE_LOG_WARN, "pj: unknown resultado '%.8s'",
                      codigo ? codigo : "(missing)");
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    /* An answer about somebody else must never reach the consumer. */
    const char *answered_dni = adapter_child_text(in->host, ex, payload, PJ_NS, "documento");
    if (!answered_dni || strcmp(answered_dni, dni) != 0) {
        in->host->log(ex, PIDE_LOG_WARN, "pj: the answer is not about the DNI asked for");
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    xmlNodePtr condenas = adapter_child(payload, PJ_NS, "condenas");
    size_t count = 0;
    for (xmlNodePtr n = condenas ? condenas->children : NULL; n; n = n->next)
        count += adapter_element_is(n, PJ_NS, "condena");
    if (m->flag != (count > 0)) {
        in->host->log(ex, PIDE_LOG_WARN, "pj: resultado %s with %zu condenas", m->provider,
                      count);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    const char *total = adapter_attr_of(in->host, ex, condenas, "total");
    if (total) {
        char expected[24];
        snprintf(expected, sizeof expected, "%zu", count);
        if (strcmp(total, expected) != 0) {
            in->host->log(ex, PIDE_LOG_WARN, "pj: condenas total=\"%.8s\" but %zu listed", total,
                          count);
            return PIDE_ERR_PROVIDER_BAD_RESPONSE;
        }
    }

    pide_result rc = PIDE_ERR_NOMEM;
    xmlNodePtr response =
        adapter_new_response(out_doc, CONTRACT_NS, "verificarAntecedentesPenalesResponse");
    if (!response)
        return PIDE_ERR_NOMEM;
    xmlNodePtr ret = adapter_add_element(response, "return", NULL);
    if (!ret || !adapter_add_element(ret, "coResultado", m->contract) ||
        !adapter_add_element(ret, "deResultado", m->text) ||
        !adapter_add_element(ret, "xDni", dni))
        goto fail;
    if (count > 0) {
        xmlNodePtr list = adapter_add_element(ret, "antecedentes", NULL);
        if (!list)
            goto fail;
        for (xmlNodePtr n = condenas->children; n; n = n->next)
            if (adapter_element_is(n, PJ_NS, "condena") &&
                (rc = add_record(in, ex, n, list)) != PIDE_OK)
                goto fail;
    }
    *out = response;
    *co_resultado = m->contract;
    return PIDE_OK;
fail:
    xmlFreeNode(response);
    return rc;
}

/* The answer's HTTP status decides before its body does. */
static pide_result check_status(const pj_instance *in, pide_exchange *ex,
                                const pide_http_response *resp)
{
    if (resp->status == 200)
        return PIDE_OK;
    const char *reason = fault_reason(in, ex, resp->body, resp->body_len);
    if (resp->status == 403) {
        in->host->log(ex, PIDE_LOG_ERROR,
                      "pj: the Poder Judicial refused the gateway's signature (HTTP 403: %.300s); "
                      "check that the gateway's signing certificate is issued by a CA the "
                      "Poder Judicial trusts and is still valid", reason);
        return PIDE_ERR_CONFIG;
    }
    in->host->log(ex, PIDE_LOG_WARN, "pj: registry answered HTTP %d%s%.300s", resp->status,
                  *reason ? ": " : "", reason);
    return resp->status >= 500 ? PIDE_ERR_PROVIDER_UNAVAILABLE : PIDE_ERR_PROVIDER_BAD_RESPONSE;
}

static pide_result pj_handle(void *instance, pide_exchange *ex, const pide_call *call)
{
    const pj_instance *in = instance;
    const pide_host_api *host = in->host;
    xmlDocPtr answer = NULL;
    pide_result rc;

    if (strcmp(call->operation, "verificarAntecedentesPenales") != 0)
        return PIDE_ERR_BAD_REQUEST;
    pj_request r;
    rc = read_request(in, ex, call->request, &r);
    if (rc != PIDE_OK)
        return rc;
    host->set_subject(ex, "DNI", r.dni);
    host->set_purpose(ex, r.motivo, r.proceso);
    host->set_caller_audit(ex, r.aud_pc, r.aud_ip, r.aud_usuario, r.aud_mac);

    const char *body;
    size_t body_len;
    rc = build_signed_request(in, ex, &r, &body, &body_len);
    if (rc != PIDE_OK)
        return rc;
    pide_http_request req = {
        .url = NULL,
        .method = "POST",
        .content_type = PJ_CONTENT_TYPE, /* SOAP 1.2: the action is a Content-Type parameter */
        .soap_action = NULL,
        .body = body,
        .body_len = body_len,
        .timeout_ms = 0,
    };
    pide_http_response resp = {0};
    rc = host->http_call(ex, &req, &resp);
    if (rc != PIDE_OK)
        goto provider_failed;
    rc = check_status(in, ex, &resp);
    if (rc != PIDE_OK)
        goto provider_failed;
    rc = adapter_xml_answer(host, ex, "pj: registry", &resp, &answer);
    if (rc != PIDE_OK)
        goto provider_failed;
    xmlNodePtr response = NULL;
    const char *co_resultado = NULL;
    rc = translate_answer(in, ex, answer, r.dni, call->response_body->doc, &response,
                          &co_resultado);
    if (rc == PIDE_ERR_NOMEM)
        goto done;
    if (rc != PIDE_OK)
        goto provider_failed;
    if (!xmlAddChild(call->response_body, response)) {
        xmlFreeNode(response);
        rc = PIDE_ERR_NOMEM;
        goto done;
    }
    host->set_result_code(ex, co_resultado);
    goto done;
provider_failed:
    host->set_result_code(ex, PROVIDER_FAILED_CODE);
done:
    xmlFreeDoc(answer);
    return rc;
}

static const char *const OPERATIONS[] = {"verificarAntecedentesPenales", NULL};

static const pide_adapter PJ_ADAPTER = {
    PIDE_ADAPTER_HEADER,
    .name = "pj",
    .version = "1.0.0",
    .operations = OPERATIONS,
    .init = pj_init,
    .handle = pj_handle,
    .fini = adapter_instance_free,
    .params = NULL, /* no parameters: the endpoint is all it needs */
};

PIDE_ADAPTER_EXPORT(PJ_ADAPTER)
