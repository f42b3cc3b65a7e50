/*
 * template_adapter.c — a complete, minimal pide-gateway adapter to copy and rename.
 *
 * Consumer contract (template.xsd): operation consultarRegistro with <codigo> (the record asked
 * for) and an optional <motivo> (declared purpose); the answer consultarRegistroResponse carries
 * codResultado (0000 found, 0001 not found), deResultado and, when found, titular and estado.
 *
 * Provider protocol (the part you replace): GET <endpoint>/<codigo>?entidad=<entityCode>,
 * answering HTTP 200 with <registro><titular>..</titular><estado>..</estado></registro>, or 404
 * when there is no such record.
 *
 * Configuration (<service> of the gateway's configuration): the endpoint URL and
 * <param name="entityCode" value="..."/> (required; how the provider knows the gateway), as
 * PARAMS below declares: the gateway refuses a service giving another parameter, leaving this
 * one out or giving a value of the wrong type before init() runs, and hands init() the
 * declared defaults of optional parameters.
 *
 * Walk-through: docs/integrator-guide.md. Rules: docs/adapter-abi.md.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "adapter_kit.h"
#include "adapter_xml.h"
#include "pide_adapter.h"

#define CONTRACT_NS "http://ws.example.gob.pe/registro/"
#define CODIGO_MAX 20

/* Per configured service; read-only after init(), since handle() runs on many threads. The
 * kit's adapter_instance (host, service name, endpoint URL) comes first. */
typedef struct template_instance {
    adapter_instance base;
    const char *entity_code;     /* points into the service configuration, which lives until
                                  * after fini() */
} template_instance;

/* Only characters that are safe in a URL path and query, so nothing needs escaping. */
static bool is_code(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

static pide_result template_init(const pide_host_api *host, const pide_service_config *cfg,
                                 void **instance)
{
    const char *entity = adapter_param(host, cfg, "entityCode", NULL);
    if (!is_code(entity, 32)) {
        host->log(NULL, PIDE_LOG_ERROR,
                  "template adapter, service %s: parameter entityCode is %s: 1 to 32 of "
                  "A-Z a-z 0-9 - _", cfg->service_name, entity ? "invalid" : "required");
        return PIDE_ERR_CONFIG;
    }
    /* Refuses a service without an endpoint URL, and fills the base. */
    pide_result rc = adapter_instance_new(host, cfg, "template", "the registry's REST service",
                                          sizeof(template_instance), instance);
    if (rc != PIDE_OK)
        return rc;
    ((template_instance *)*instance)->entity_code = entity;
    return PIDE_OK;
}

static void template_fini(void *instance)
{
    adapter_instance_free(instance);
}

/* Appends consultarRegistroResponse to the response Body. titular/estado may be NULL. The
 * contract's children are unqualified: adapter_add_element does not inherit the namespace. */
static pide_result append_response(const pide_call *call, const char *code, const char *text,
                                   const char *titular, const char *estado)
{
    xmlNodePtr r = adapter_new_response(call->response_body->doc, CONTRACT_NS,
                                        "consultarRegistroResponse");
    if (!r)
        return PIDE_ERR_NOMEM;
    if (!xmlAddChild(call->response_body, r)) {
        xmlFreeNode(r);
        return PIDE_ERR_NOMEM;
    }
    if (!adapter_add_element(r, "codResultado", code) ||
        !adapter_add_element(r, "deResultado", text) ||
        (titular && !adapter_add_element(r, "titular", titular)) ||
        (estado && !adapter_add_element(r, "estado", estado)))
        return PIDE_ERR_NOMEM;
    return PIDE_OK;
}

static pide_result template_handle(void *instance, pide_exchange *ex, const pide_call *call)
{
    const template_instance *in = instance;
    const pide_host_api *host = in->base.host;
    pide_result rc;
    xmlDocPtr answer = NULL;

    /* The request was validated against template.xsd by the gateway; what the schema cannot
     * say (here: characters safe in a URL) is still the adapter's to check. */
    const char *codigo = adapter_child_text(host, ex, call->request, NULL, "codigo");
    if (!is_code(codigo, CODIGO_MAX)) {
        host->log(ex, PIDE_LOG_WARN, "template: codigo is not 1-%d of A-Z a-z 0-9 - _",
                  CODIGO_MAX);
        return PIDE_ERR_BAD_REQUEST;
    }
    host->set_subject(ex, "CODIGO", codigo);
    const char *motivo = adapter_child_text(host, ex, call->request, NULL, "motivo");
    if (motivo)
        host->set_purpose(ex, motivo, NULL);
    /* Who asks: when a provider must be told which agency or official is asking, take it from
     * host->identity() (what the gateway authenticated and logs), never from a request field
     * (docs/adapter-abi.md, "Who asked"). This provider is told only the gateway's entity. */
    const pide_identity *id = PIDE_HOST_HAS(host, identity) ? host->identity(ex) : NULL;
    if (id)
        host->log(ex, PIDE_LOG_DEBUG, "template: asked by member %s", id->member);

    /* http_call() would use the service's endpoint for url == NULL; this provider wants the
     * code in the path, so the URL is built here, in exchange memory. */
    size_t url_len = strlen(in->base.endpoint_url) + 1 + strlen(codigo) + 9 + strlen(in->entity_code) + 1;
    char *url = host->alloc(ex, url_len);
    if (!url)
        return PIDE_ERR_NOMEM;
    snprintf(url, url_len, "%s/%s?entidad=%s", in->base.endpoint_url, codigo, in->entity_code);

    pide_http_request req = {.url = url, .method = "GET"};
    pide_http_response resp = {0};
    rc = host->http_call(ex, &req, &resp);
    if (rc != PIDE_OK)
        return rc; /* PIDE_ERR_PROVIDER_TIMEOUT or _UNAVAILABLE, already logged by the host */

    /* A business answer is a normal response with the contract's own code, not an error. */
    if (resp.status == 404) {
        host->set_result_code(ex, "0001");
        return append_response(call, "0001", "No existe un registro con ese código", NULL, NULL);
    }
    if (resp.status >= 500) {
        host->log(ex, PIDE_LOG_WARN, "template: provider answered HTTP %d", resp.status);
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    if (resp.status != 200 || !resp.body || resp.body_len == 0 || resp.body_len > 1u << 24) {
        host->log(ex, PIDE_LOG_WARN, "template: provider answered HTTP %d, %zu bytes",
                  resp.status, resp.body_len);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    /* Provider data is untrusted too: no network, no DTD, no entities. */
    answer = adapter_parse_answer(resp.body, resp.body_len);
    xmlNodePtr registro = answer ? xmlDocGetRootElement(answer) : NULL;
    if (!adapter_element_is(registro, NULL, "registro")) {
        host->log(ex, PIDE_LOG_WARN, "template: provider answer is not a <registro>");
        rc = PIDE_ERR_PROVIDER_BAD_RESPONSE;
        goto done;
    }
    const char *titular = adapter_child_text(host, ex, registro, NULL, "titular");
    const char *estado = adapter_child_text(host, ex, registro, NULL, "estado");
    if (!titular || !estado) {
        host->log(ex, PIDE_LOG_WARN, "template: <registro> without titular or estado");
        rc = PIDE_ERR_PROVIDER_BAD_RESPONSE;
        goto done;
    }
    rc = append_response(call, "0000", "Consulta realizada correctamente", titular, estado);
    if (rc == PIDE_OK)
        host->set_result_code(ex, "0000");
done:
    xmlFreeDoc(answer);
    return rc;
}

static const char *const OPERATIONS[] = {"consultarRegistro", NULL};

/* Every <param> a service of this adapter may give: name, type (STRING, INT, BOOL, URL),
 * required, default (optional ones only), one line for pide-adapter-check --list. */
static const pide_param_decl PARAMS[] = {
    {"entityCode", PIDE_PARAM_STRING, 1, NULL,
     "how the provider knows the gateway: 1 to 32 of A-Z a-z 0-9 - _"},
    {NULL, PIDE_PARAM_STRING, 0, NULL, NULL},
};

static const pide_adapter TEMPLATE_ADAPTER = {
    PIDE_ADAPTER_HEADER,
    .name = "template",
    .version = "0.1.0",
    .operations = OPERATIONS,
    .init = template_init,
    .handle = template_handle,
    .fini = template_fini,
    .params = PARAMS,
};

PIDE_ADAPTER_EXPORT(TEMPLATE_ADAPTER)
