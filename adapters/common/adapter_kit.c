/*
 * adapter_kit.c — instance boilerplate, code tables, identifier digit checks and the answer
 * parsing step shared by the in-tree adapter plugins (adapter_kit.h).
 */
#include "adapter_kit.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "adapter_xml.h"

bool adapter_is_digits(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool adapter_is_dni(const char *s)
{
    return adapter_is_digits(s, ADAPTER_DNI_DIGITS);
}

bool adapter_is_ruc(const char *s)
{
    return adapter_is_digits(s, ADAPTER_RUC_DIGITS);
}

bool adapter_is_ce(const char *s)
{
    return adapter_is_digits(s, ADAPTER_CE_DIGITS);
}

const adapter_code *adapter_code_find(const adapter_code *table, size_t count,
                                      const char *provider)
{
    for (size_t i = 0; provider && i < count; i++)
        if (strcmp(provider, table[i].provider) == 0)
            return &table[i];
    return NULL;
}

pide_result adapter_instance_new(const pide_host_api *host, const pide_service_config *cfg,
                                 const char *adapter, const char *endpoint_role, size_t size,
                                 void **out)
{
    const char *service = cfg->service_name ? cfg->service_name : "(unnamed)";
    if (!cfg->endpoint_url || !*cfg->endpoint_url) {
        host->log(NULL, PIDE_LOG_ERROR, "%s adapter, service %s: no endpoint URL (%s) configured",
                  adapter, service, endpoint_role);
        return PIDE_ERR_CONFIG;
    }
    if (size < sizeof(adapter_instance))
        return PIDE_ERR_INTERNAL;
    adapter_instance *in = calloc(1, size);
    if (!in)
        return PIDE_ERR_NOMEM;
    in->host = host;
    in->service_name = strdup(service);
    in->endpoint_url = strdup(cfg->endpoint_url);
    if (!in->service_name || !in->endpoint_url) {
        adapter_instance_free(in);
        return PIDE_ERR_NOMEM;
    }
    /* Whatever the adapter parses later, the parser is initialised before worker threads. */
    xmlInitParser();
    *out = in;
    return PIDE_OK;
}

void adapter_instance_free(void *instance)
{
    adapter_instance *in = instance;
    if (!in)
        return;
    free(in->service_name);
    free(in->endpoint_url);
    free(in);
}

const char *adapter_param(const pide_host_api *host, const pide_service_config *cfg,
                          const char *name, const char *fallback)
{
    const char *v = host->config_param(cfg, name);
    return v ? v : fallback;
}

bool adapter_is_provider_failure(pide_result rc)
{
    return rc == PIDE_ERR_PROVIDER_TIMEOUT || rc == PIDE_ERR_PROVIDER_UNAVAILABLE ||
           rc == PIDE_ERR_PROVIDER_BAD_RESPONSE;
}

pide_result adapter_xml_answer(const pide_host_api *host, pide_exchange *ex, const char *who,
                               const pide_http_response *resp, xmlDocPtr *out)
{
    *out = NULL;
    if (!resp->body || resp->body_len == 0 || resp->body_len > INT_MAX) {
        host->log(ex, PIDE_LOG_WARN, "%s answered an empty or oversized body", who);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    *out = adapter_parse_answer(resp->body, resp->body_len);
    if (!*out) {
        host->log(ex, PIDE_LOG_WARN, "%s answer is not acceptable XML", who);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    return PIDE_OK;
}

/* ---- XPath parameters ------------------------------------------------------------------- */

/* Calls fn(prefix, uri, arg) for each "prefix=uri" of namespaces (copied to bounded buffers);
 * false at the first malformed pair, with *why set. */
typedef bool (*ns_pair_fn)(const char *prefix, const char *uri, void *arg);

static bool each_ns_pair(const char *namespaces, ns_pair_fn fn, void *arg, const char **why)
{
    const char *p = namespaces ? namespaces : "";
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t len = 0;
        while (p[len] && !isspace((unsigned char)p[len]))
            len++;
        const char *eq = memchr(p, '=', len);
        size_t plen = eq ? (size_t)(eq - p) : 0;
        char prefix[64], uri[512];
        if (!eq || plen == 0 || plen >= sizeof prefix || len - plen - 1 == 0 ||
            len - plen - 1 >= sizeof uri) {
            *why = "each entry must be prefix=URI (a prefix of 1-63 characters, a URI of 1-511)";
            return false;
        }
        memcpy(prefix, p, plen);
        prefix[plen] = '\0';
        memcpy(uri, eq + 1, len - plen - 1);
        uri[len - plen - 1] = '\0';
        if (xmlValidateNCName(BAD_CAST prefix, 0) != 0) {
            *why = "a prefix must be an XML NCName (no ':')";
            return false;
        }
        if (!fn(prefix, uri, arg)) {
            *why = "a prefix is bound twice, or out of memory";
            return false;
        }
        p += len;
    }
    return true;
}

static bool register_pair(const char *prefix, const char *uri, void *arg)
{
    xmlXPathContextPtr x = arg;
    if (xmlXPathNsLookup(x, BAD_CAST prefix) != NULL)
        return false;
    return xmlXPathRegisterNs(x, BAD_CAST prefix, BAD_CAST uri) == 0;
}

bool adapter_xpath_namespaces_ok(const pide_host_api *host, const char *adapter,
                                 const char *service, const char *param, const char *namespaces)
{
    const char *why = "out of memory";
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlXPathContextPtr x = doc ? xmlXPathNewContext(doc) : NULL;
    bool ok = x && each_ns_pair(namespaces, register_pair, x, &why);
    xmlXPathFreeContext(x);
    xmlFreeDoc(doc);
    if (!ok)
        host->log(NULL, PIDE_LOG_ERROR, "%s adapter, service %s: parameter %s '%.200s': %s",
                  adapter, service, param, namespaces ? namespaces : "", why);
    return ok;
}

typedef struct xpath_errors {
    char text[256];
} xpath_errors;

/* libxml2's structured error handler for one XPath context: keeps the first message. */
static void keep_first_error(void *ctx, xmlErrorPtr e)
{
    xpath_errors *errs = ctx;
    if (!errs || errs->text[0] || !e)
        return;
    /* libxml2 2.9 gives XPath errors a code and the offset, not always a message. */
    const char *what = e->message;
    if (!what)
        switch (e->code) {
        case XML_XPATH_UNDEF_PREFIX_ERROR:
            what = "undefined namespace prefix";
            break;
        case XML_XPATH_UNKNOWN_FUNC_ERROR:
            what = "unregistered function";
            break;
        case XML_XPATH_UNDEF_VARIABLE_ERROR:
            what = "undefined variable";
            break;
        case XML_XPATH_UNFINISHED_LITERAL_ERROR:
            what = "unfinished literal";
            break;
        case XML_XPATH_INVALID_PREDICATE_ERROR:
            what = "invalid predicate";
            break;
        case XML_XPATH_INVALID_ARITY:
            what = "wrong number of function arguments";
            break;
        default:
            what = "invalid expression";
            break;
        }
    snprintf(errs->text, sizeof errs->text, "%s at character %d", what, e->int1);
    for (char *c = errs->text; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    size_t n = strlen(errs->text);
    while (n && errs->text[n - 1] == ' ')
        errs->text[--n] = '\0';
}

/* libxml2's generic error function while an expression is checked: keeps the first message. */
static void keep_generic_error(void *ctx, const char *fmt, ...)
{
    xpath_errors *errs = ctx;
    if (!errs || errs->text[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errs->text, sizeof errs->text, fmt, ap);
    va_end(ap);
    for (char *c = errs->text; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    size_t n = strlen(errs->text);
    while (n && errs->text[n - 1] == ' ')
        errs->text[--n] = '\0';
}

/* A context on doc with the prefixes of namespaces and errors collected in errs; NULL when
 * out of memory or when namespaces is malformed. */
static xmlXPathContextPtr xpath_context(xmlDocPtr doc, const char *namespaces, xpath_errors *errs)
{
    xmlXPathContextPtr x = xmlXPathNewContext(doc);
    const char *why;
    if (!x)
        return NULL;
    x->error = (xmlStructuredErrorFunc)keep_first_error;
    x->userData = errs;
    if (!each_ns_pair(namespaces, register_pair, x, &why)) {
        xmlXPathFreeContext(x);
        return NULL;
    }
    return x;
}

bool adapter_xpath_ok(const pide_host_api *host, const char *adapter, const char *service,
                      const char *param, const char *expr, const char *namespaces)
{
    xpath_errors errs = {.text = ""};
    bool ok = false;
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "empty", NULL) : NULL;
    if (root)
        xmlDocSetRootElement(doc, root);
    xmlXPathContextPtr x = root ? xpath_context(doc, namespaces, &errs) : NULL;
    /* Some of libxml2's XPath errors (a function's undefined prefix) only reach its per-thread
     * generic error function: into the message rather than onto stderr (init is one thread). */
    xmlGenericErrorFunc old_fn = xmlGenericError;
    void *old_ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(&errs, keep_generic_error);
    xmlXPathCompExprPtr c = x && expr && *expr ? xmlXPathCtxtCompile(x, BAD_CAST expr) : NULL;
    if (c) {
        /* Evaluated once: an unknown prefix or function is only found when it runs. */
        xmlXPathObjectPtr o = xmlXPathCompiledEval(c, x);
        ok = o != NULL && !errs.text[0];
        xmlXPathFreeObject(o);
        xmlXPathFreeCompExpr(c);
    }
    xmlSetGenericErrorFunc(old_ctx, old_fn);
    xmlXPathFreeContext(x);
    xmlFreeDoc(doc);
    if (!ok)
        host->log(NULL, PIDE_LOG_ERROR,
                  "%s adapter, service %s: parameter %s '%.200s' is not "
                  "an XPath 1.0 expression (%s)",
                  adapter, service, param, expr ? expr : "", errs.text[0] ? errs.text : "invalid");
    return ok;
}

const char *adapter_xpath_string(const pide_host_api *host, pide_exchange *ex, xmlDocPtr doc,
                                 const char *expr, const char *namespaces)
{
    const char *res = NULL;
    xpath_errors errs = {.text = ""};
    xmlXPathContextPtr x = xpath_context(doc, namespaces, &errs);
    if (!x)
        return NULL;
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, x);
    xmlChar *s = o ? xmlXPathCastToString(o) : NULL;
    if (s && *s)
        res = host->strdup(ex, (const char *)s);
    xmlFree(s);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(x);
    return res;
}

/* ---- file parameters and XSDs ---------------------------------------------------------------- */

const char *adapter_file_path(const pide_host_api *host, const char *path, char *buf, size_t cap)
{
    const char *dir = PIDE_HOST_HAS(host, config_dir) ? host->config_dir(host) : NULL;
    int n = path[0] == '/' || !dir || !*dir ? snprintf(buf, cap, "%s", path)
                                            : snprintf(buf, cap, "%s/%s", dir, path);
    return n >= 0 && (size_t)n < cap ? buf : NULL;
}

typedef struct schema_errors {
    char text[320];
    int seen;
} schema_errors;

/* Keeps the first message libxml2 reports (warnings included), on one line. */
static void keep_schema_error(void *ctx, xmlErrorPtr e)
{
    schema_errors *s = ctx;
    if (s->seen++ || !e || !e->message)
        return;
    snprintf(s->text, sizeof s->text, "line %d: %s", e->line, e->message);
    for (char *c = s->text; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

xmlSchemaPtr adapter_load_schema(const pide_host_api *host, const char *adapter,
                                 const char *service, const char *param, const char *path)
{
    char file[PATH_MAX];
    schema_errors errs = {.text = "", .seen = 0};
    xmlSchemaPtr schema = NULL;
    if (!adapter_file_path(host, path, file, sizeof file)) {
        host->log(NULL, PIDE_LOG_ERROR, "%s adapter, service %s: %s %s: the path is too long",
                  adapter, service, param, path);
        return NULL;
    }
    FILE *f = fopen(file, "rb");
    if (!f) {
        host->log(NULL, PIDE_LOG_ERROR, "%s adapter, service %s: %s %s: cannot read it: %s",
                  adapter, service, param, file, strerror(errno));
        return NULL;
    }
    fclose(f);
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(file);
    if (pc) {
        xmlSchemaSetParserStructuredErrors(pc, keep_schema_error, &errs);
        schema = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
    }
    if (schema && errs.seen) {
        xmlSchemaFree(schema);
        schema = NULL;
    }
    if (!schema)
        host->log(NULL, PIDE_LOG_ERROR,
                  "%s adapter, service %s: %s %s is not a usable XSD, loaded whole (%s)", adapter,
                  service, param, file, errs.text[0] ? errs.text : "out of memory");
    return schema;
}

pide_result adapter_validate(const pide_host_api *host, pide_exchange *ex, xmlSchemaPtr schema,
                             xmlDocPtr doc, const char *adapter, const char *what)
{
    schema_errors errs = {.text = "", .seen = 0};
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    if (!vc)
        return PIDE_ERR_NOMEM;
    xmlSchemaSetValidStructuredErrors(vc, keep_schema_error, &errs);
    int v = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    if (v == 0)
        return PIDE_OK;
    host->log(ex, PIDE_LOG_WARN, "%s: %s is not valid by responseSchema: %s", adapter, what,
              errs.text[0] ? errs.text : "(no detail)");
    return v < 0 ? PIDE_ERR_INTERNAL : PIDE_ERR_PROVIDER_BAD_RESPONSE;
}

/* ---- the operations a generic adapter serves --------------------------------------------------- */

char *adapter_operations(const pide_host_api *host, const pide_service_config *cfg,
                         const char *adapter, const char *service)
{
    const char *ops = host->config_param(cfg, "operations");
    size_t len = ops ? strlen(ops) : 0;
    char *list = len ? malloc(len + 3) : NULL;
    if (!list) {
        host->log(NULL, PIDE_LOG_ERROR,
                  "%s adapter, service %s: parameter operations (the operation element names, "
                  "space-separated) is required",
                  adapter, service);
        return NULL;
    }
    snprintf(list, len + 3, " %s ", ops);
    for (char *p = list; *p; p++)
        if (isspace((unsigned char)*p))
            *p = ' ';
    return list;
}

bool adapter_operation_listed(const pide_host_api *host, pide_exchange *ex, const char *list,
                              const char *adapter, const pide_call *call)
{
    size_t op_len = strlen(call->operation);
    /* an element's local name has no space: one with a space never matches two listed names */
    const char *hit =
        op_len && !strchr(call->operation, ' ') ? strstr(list, call->operation) : NULL;
    while (hit) {
        if (hit[-1] == ' ' && hit[op_len] == ' ') /* list starts with ' ': hit > list */
            return true;
        hit = strstr(hit + 1, call->operation);
    }
    host->log(ex, PIDE_LOG_WARN, "%s: operation %.80s is not configured for service %s", adapter,
              call->operation, call->service_name);
    return false;
}

pide_result adapter_deliver(const pide_host_api *host, pide_exchange *ex, const pide_call *call,
                            xmlNodePtr result, const char *code)
{
    xmlNodePtr node = xmlDocCopyNode(result, call->response_body->doc, 1);
    if (!node || !xmlAddChild(call->response_body, node)) {
        xmlFreeNode(node);
        return PIDE_ERR_NOMEM;
    }
    if (code)
        host->set_result_code(ex, code);
    return PIDE_OK;
}

char *adapter_param_dup(const pide_host_api *host, const pide_service_config *cfg, const char *name,
                        bool *ok)
{
    const char *v = host->config_param(cfg, name);
    if (!v || !*v)
        return NULL;
    char *c = strdup(v);
    if (!c)
        *ok = false;
    return c;
}
