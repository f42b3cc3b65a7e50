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

#include "pide_adapter.h"

#define CONTRACT_NS "http://ws.example.gob.pe/registro/"
#define CODIGO_MAX 20

/* Per configured service; read-only after init(), since handle() runs on many threads. */
typedef struct template_instance {
    const pide_host_api *host;
    const char *endpoint;        /* both point into the service configuration, which lives */
    const char *entity_code;     /* until after fini() */
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

/* The first child element named `name` (unqualified, as in the contract), or NULL. */
static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

/* Text of a child element, copied into exchange memory (freed by the host); NULL if absent. */
static const char *child_text(const template_instance *in, pide_exchange *ex, xmlNodePtr parent,
                              const char *name)
{
    xmlNodePtr n = child(parent, name);
    xmlChar *content = n ? xmlNodeGetContent(n) : NULL;
    if (!content)
        return NULL;
    char *copy = in->host->strdup(ex, (const char *)content);
    xmlFree(content);
    return copy;
}

static pide_result template_init(const pide_host_api *host, const pide_service_config *cfg,
                                 void **instance)
{
    if (!cfg->endpoint_url || !*cfg->endpoint_url) {
        host->log(NULL, PIDE_LOG_ERROR, "template adapter, service %s: no endpoint URL",
                  cfg->service_name);
        return PIDE_ERR_CONFIG;
    }
    const char *entity = host->config_param(cfg, "entityCode");
    if (!is_code(entity, 32)) {
        host->log(NULL, PIDE_LOG_ERROR,
                  "template adapter, service %s: parameter entityCode is %s: 1 to 32 of "
                  "A-Z a-z 0-9 - _", cfg->service_name, entity ? "invalid" : "required");
        return PIDE_ERR_CONFIG;
    }
    template_instance *in = malloc(sizeof *in);
    if (!in)
        return PIDE_ERR_NOMEM;
    in->host = host;
    in->endpoint = cfg->endpoint_url;
    in->entity_code = entity;
    *instance = in;
    return PIDE_OK;
}

static void template_fini(void *instance)
{
    free(instance);
}

/* Appends <name>text</name> without a namespace (the contract's children are unqualified;
 * xmlNewTextChild(parent, NULL, ...) would put it in the parent's namespace instead). The text
 * is taken literally and escaped on output: provider data may hold '<' or '&'. */
static bool add_text_element(xmlNodePtr parent, const char *name, const char *text)
{
    xmlNodePtr n = xmlNewDocNode(parent->doc, NULL, BAD_CAST name, NULL);
    if (!n)
        return false;
    xmlNodeAddContent(n, BAD_CAST text);
    if (!xmlAddChild(parent, n)) {
        xmlFreeNode(n);
        return false;
    }
    return true;
}

/* Appends consultarRegistroResponse to the response Body. titular/estado may be NULL. */
static pide_result append_response(const pide_call *call, const char *code, const char *text,
                                   const char *titular, const char *estado)
{
    xmlNodePtr r = xmlNewChild(call->response_body, NULL, BAD_CAST "consultarRegistroResponse",
                               NULL);
    xmlNsPtr ns = r ? xmlNewNs(r, BAD_CAST CONTRACT_NS, BAD_CAST "reg") : NULL;
    if (!ns)
        return PIDE_ERR_NOMEM;
    xmlSetNs(r, ns);
    if (!add_text_element(r, "codResultado", code) || !add_text_element(r, "deResultado", text) ||
        (titular && !add_text_element(r, "titular", titular)) ||
        (estado && !add_text_element(r, "estado", estado)))
        return PIDE_ERR_NOMEM;
    return PIDE_OK;
}

static pide_result template_handle(void *instance, pide_exchange *ex, const pide_call *call)
{
    const template_instance *in = instance;
    const pide_host_api *host = in->host;
    pide_result rc;
    xmlDocPtr answer = NULL;

    /* The request was validated against template.xsd by the gateway; what the schema cannot
     * say (here: characters safe in a URL) is still the adapter's to check. */
    const char *codigo = child_text(in, ex, call->request, "codigo");
    if (!is_code(codigo, CODIGO_MAX)) {
        host->log(ex, PIDE_LOG_WARN, "template: codigo is not 1-%d of A-Z a-z 0-9 - _",
                  CODIGO_MAX);
        return PIDE_ERR_BAD_REQUEST;
    }
    host->set_subject(ex, "CODIGO", codigo);
    const char *motivo = child_text(in, ex, call->request, "motivo");
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
    size_t url_len = strlen(in->endpoint) + 1 + strlen(codigo) + 9 + strlen(in->entity_code) + 1;
    char *url = host->alloc(ex, url_len);
    if (!url)
        return PIDE_ERR_NOMEM;
    snprintf(url, url_len, "%s/%s?entidad=%s", in->endpoint, codigo, in->entity_code);

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
    answer = xmlReadMemory(resp.body, (int)resp.body_len, NULL, NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr registro = answer ? xmlDocGetRootElement(answer) : NULL;
    if (!registro || answer->intSubset || strcmp((const char *)registro->name, "registro") != 0) {
        host->log(ex, PIDE_LOG_WARN, "template: provider answer is not a <registro>");
        rc = PIDE_ERR_PROVIDER_BAD_RESPONSE;
        goto done;
    }
    const char *titular = child_text(in, ex, registro, "titular");
    const char *estado = child_text(in, ex, registro, "estado");
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
