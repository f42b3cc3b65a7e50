/*
 * xslt_adapter.c — pide_adapter_xslt.so: publishes an agency's service by configuration, with
 * no C of its own. Two XSLT 1.0 stylesheets (libxslt) do the translation:
 *
 *   requestStylesheet   the consumer's operation element (document/literal, already validated
 *                       against the service's XSD) -> the provider's whole request document
 *                       (providerStyle soap11: a SOAP 1.1 Envelope, e.g. RPC/encoded;
 *                       rest-json: <pgx:http method= path=> with an optional JSON body), or a
 *                       pgx:fault refusing the request before the provider hears it;
 *   responseStylesheet  the provider's whole answer (its Envelope, a SOAP Fault included; for
 *                       rest-json <pgx:response status=> holding the JSON) -> the contract's
 *                       response element, or a pgx:fault element (urn:pide-gateway:xslt:1)
 *                       naming a gateway failure. JSON is seen in the W3C's XML form of JSON.
 *
 * Relative file paths (the stylesheets, responseSchema) are resolved against the configuration
 * file's folder when the host tells it (pide_host_api.config_dir), else against the working
 * directory (pide-adapter-check).
 *
 * Optional XPath parameters name what the exchange log records as columns: subjectXPath +
 * subjectType and purposeXPath on the request, resultCodeXPath on the translated response.
 * responseSchema (the contract's XSD) validates the translated response: an answer whose data
 * do not fit the contract is Server.Provider.BadResponse, never sent to the consumer.
 * docs/configuration.md lists the parameters, docs/integrator-guide.md walks through SUNAT.
 *
 * Hardening: a stylesheet is untrusted configuration. It is parsed without network, DTD or
 * entity substitution (a DTD is refused outright), and refused at init — naming the service,
 * file and line — when it uses xsl:include, xsl:import, document(), extension elements
 * (extension-element-prefixes) or any namespaced (extension) function. At run time the transform
 * context carries security preferences forbidding every file, directory and network access, and
 * the process-wide document loader of libxslt loads nothing.
 *
 * Threads: each stylesheet is compiled once at init and then only read. libxslt supports one
 * compiled xsltStylesheet applied by many threads at once, each with its own transform context
 * (libxslt's own xsltproc/testThreads.c does exactly that; libxml2's threads notes: XPath is
 * safe on documents nobody modifies). Every handle() makes its own transform context, input and
 * output documents, so nothing mutable is shared between workers.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpathInternals.h>
#include <jansson.h>
#include <libxslt/documents.h>
#include <libxslt/security.h>
#include <libxslt/transform.h>
#include <libxslt/variables.h>
#include <libxslt/xslt.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/xsltutils.h>

#include "adapter_kit.h"
#include "adapter_xml.h"
#include "pide_adapter.h"

#define XSLT_NS "http://www.w3.org/1999/XSL/Transform"
#define SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"
/* What a response stylesheet outputs instead of the contract's answer when the provider's
 * answer means a gateway failure: <pgx:fault code="provider-unavailable">why</pgx:fault>. */
#define PGX_NS "urn:pide-gateway:xslt:1"

typedef struct xslt_instance {
    adapter_instance base;
    char *operations;           /* " op1 op2 " : the operations this service serves */
    xsltStylesheetPtr request_style;
    xsltStylesheetPtr response_style;
    char *soap_action;          /* NULL: no SOAPAction header */
    char *subject_xpath;        /* NULL when not configured */
    char *subject_type;
    char *purpose_xpath;
    char *result_code_xpath;
    char *unavailable_code;     /* result code declared on provider failures; NULL: none */
    bool rest_json;             /* providerStyle rest-json, else soap11 */
    xmlSchemaPtr response_schema; /* responseSchema: the translated answer must be valid by it */
} xslt_instance;

/* ---- process-wide libxslt set-up --------------------------------------------------------- */

/* libxslt's loader for xsl:include/xsl:import and document(): loads nothing. */
static xmlDocPtr refuse_load(const xmlChar *uri, xmlDictPtr dict, int options, void *ctxt,
                             xsltLoadType type)
{
    (void)uri; (void)dict; (void)options; (void)ctxt; (void)type;
    return NULL;
}

static void global_setup(void)
{
    xsltInit();
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void trim_newlines(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = '\0';
}

/* ---- error text: libxslt's messages, at compile time and at run time ------------------------- */

typedef struct error_text {
    char text[512];
    size_t len;
} error_text;

/* Appends one libxslt message to e (cut at its size). */
static void error_text_add(error_text *e, const char *fmt, va_list ap)
{
    if (e->len >= sizeof e->text - 1)
        return;
    int n = vsnprintf(e->text + e->len, sizeof e->text - e->len, fmt, ap);
    if (n > 0)
        e->len += (size_t)n < sizeof e->text - e->len ? (size_t)n : sizeof e->text - 1 - e->len;
}

/* libxslt reports compile errors through its generic error function, which is process-wide. It
 * is set once, to capture_error, which writes to the calling thread's capture (none: the message goes to the host's log).
 * A reload compiles stylesheets on one thread while transforms run on others: no thread ever
 * writes into another's capture, and the global is never swapped under a running transform. */
static _Thread_local error_text *compile_capture;
static pthread_once_t capture_installed = PTHREAD_ONCE_INIT;
/* the host's log, for messages outside a compile (one host API per process) */
static _Atomic(const pide_host_api *) capture_host;

static void capture_error(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    error_text other = {.len = 0};
    va_list ap;
    va_start(ap, fmt);
    error_text_add(compile_capture ? compile_capture : &other, fmt, ap);
    va_end(ap);
    const pide_host_api *host = atomic_load(&capture_host);
    if (!compile_capture && other.len && host) {
        trim_newlines(other.text);
        host->log(NULL, PIDE_LOG_WARN, "libxslt: %s", other.text);
    }
}

static void install_capture(void)
{
    xsltSetGenericErrorFunc(NULL, capture_error);
}

/* ---- the static checks of a stylesheet ------------------------------------------------------ */

static bool is_xsl(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && strcmp((const char *)n->ns->href, XSLT_NS) == 0 &&
           (!name || strcmp((const char *)n->name, name) == 0);
}

/* The first forbidden call in an XPath expression or attribute value template: document(...)
 * or a prefixed (extension) function name. Writes its name to `what`. String literals are
 * skipped. */
static bool forbidden_call(const char *expr, char *what, size_t cap)
{
    const char *p = expr;
    while (*p) {
        if (*p == '\'' || *p == '"') {
            const char *end = strchr(p + 1, *p);
            if (!end)
                return false;
            p = end + 1;
            continue;
        }
        if (isalpha((unsigned char)*p) || *p == '_') {
            const char *start = p;
            while (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.' || *p == ':')
                p++;
            /* "axis::" is not a name with a prefix */
            const char *q = p;
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
                q++;
            size_t len = (size_t)(p - start);
            /* a prefix: one ':' inside the name ("axis::name" is an axis step, not a prefix) */
            const char *colon = memchr(start, ':', len);
            bool has_prefix = colon && !(colon + 1 < p && colon[1] == ':');
            if (*q == '(') {
                if ((len == 8 && strncmp(start, "document", 8) == 0) || has_prefix) {
                    snprintf(what, cap, "%.*s()", (int)(len > 64 ? 64 : len), start);
                    return true;
                }
            }
            continue;
        }
        p++;
    }
    return false;
}

/* Attributes of XSLT instructions holding XPath expressions or patterns. */
static const char *const XPATH_ATTRS[] = {"select", "test", "match", "use", "count", "from",
                                          "value", NULL};

/* Walks the stylesheet tree; on the first forbidden construct writes why (with its line) and
 * returns false. */
static bool check_tree(xmlNodePtr n, char *why, size_t cap)
{
    for (; n; n = n->next) {
        if (n->type == XML_DTD_NODE || n->type == XML_ENTITY_REF_NODE ||
            n->type == XML_ENTITY_DECL) {
            snprintf(why, cap, "line %ld: DTDs and entities are not allowed", xmlGetLineNo(n));
            return false;
        }
        if (n->type != XML_ELEMENT_NODE)
            continue;
        long line = xmlGetLineNo(n);
        if (is_xsl(n, "include") || is_xsl(n, "import")) {
            xmlChar *href = xmlGetProp(n, BAD_CAST "href");
            snprintf(why, cap, "line %ld: xsl:%s of '%.200s' is not allowed (a stylesheet must "
                     "be one self-contained file)", line, (const char *)n->name,
                     href ? (const char *)href : "");
            xmlFree(href);
            return false;
        }
        for (xmlAttrPtr a = n->properties; a; a = a->next) {
            const char *an = (const char *)a->name;
            bool xsl_attr = a->ns && strcmp((const char *)a->ns->href, XSLT_NS) == 0;
            if (strcmp(an, "extension-element-prefixes") == 0 && (is_xsl(n, NULL) || xsl_attr)) {
                snprintf(why, cap, "line %ld: extension elements (extension-element-prefixes) "
                         "are not allowed", line);
                return false;
            }
            xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
            if (!v)
                continue;
            bool xpath = false;
            if (is_xsl(n, NULL) && !a->ns)
                for (const char *const *x = XPATH_ATTRS; *x; x++)
                    if (strcmp(an, *x) == 0)
                        xpath = true;
            /* Attribute value templates: literal result elements and some xsl attributes. */
            bool avt = strchr((const char *)v, '{') != NULL;
            char what[80];
            if ((xpath || avt) && forbidden_call((const char *)v, what, sizeof what)) {
                snprintf(why, cap, "line %ld: %s is not allowed (%s)", line, what,
                         strcmp(what, "document()") == 0 ? "no document loading"
                                                         : "no extension functions");
                xmlFree(v);
                return false;
            }
            xmlFree(v);
        }
        if (!check_tree(n->children, why, cap))
            return false;
    }
    return true;
}

/* Parses and compiles one stylesheet, refusing what the header comment lists. On failure logs
 * "<service>: <param> <path>: <why>" and returns NULL. */
static xsltStylesheetPtr compile_stylesheet(const pide_host_api *host, const char *service,
                                            const char *param, const char *path)
{
    char why[640] = "";
    xsltStylesheetPtr style = NULL;
    xmlDocPtr doc = NULL;
    error_text errs = {.len = 0};
    xmlParserCtxtPtr pctxt = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, sizeof why, "cannot read it: %s", strerror(errno));
        goto fail;
    }
    fclose(f);
    pctxt = xmlNewParserCtxt();
    if (!pctxt) {
        snprintf(why, sizeof why, "out of memory");
        goto fail;
    }
    /* No network, no DTD loading, no entity substitution; a DTD is then refused below. */
    doc = xmlCtxtReadFile(pctxt, path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                 XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlCtxtGetLastError(pctxt);
        if (e && e->message) {
            snprintf(why, sizeof why, "line %d: %s", e->line, e->message);
            trim_newlines(why);
        } else {
            snprintf(why, sizeof why, "cannot read it: %s", strerror(errno ? errno : ENOENT));
        }
        goto fail;
    }
    if (doc->intSubset || doc->extSubset) {
        snprintf(why, sizeof why, "DTDs and entities are not allowed (it has a DOCTYPE)");
        goto fail;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || !is_xsl(root, NULL) || (strcmp((const char *)root->name, "stylesheet") != 0 &&
                                         strcmp((const char *)root->name, "transform") != 0)) {
        snprintf(why, sizeof why, "the root element is not xsl:stylesheet (simplified "
                 "stylesheets are not accepted)");
        goto fail;
    }
    if (!check_tree(root, why, sizeof why))
        goto fail;

    /* Compile errors are captured (capture_error) so the operator sees them in the gateway's
     * own message. */
    atomic_store(&capture_host, host);
    pthread_once(&capture_installed, install_capture);
    compile_capture = &errs;
    style = xsltParseStylesheetDoc(doc);
    compile_capture = NULL;
    /* Warnings too: an unknown xsl: instruction is only a warning to libxslt, and would fail
     * (or be skipped) at run time instead of at start. */
    if (!style || style->errors > 0 || style->warnings > 0) {
        if (style)
            xsltFreeStylesheet(style); /* owns doc */
        else
            xmlFreeDoc(doc);
        doc = NULL;
        style = NULL;
        trim_newlines(errs.text);
        snprintf(why, sizeof why, "does not compile: %s", errs.len ? errs.text : "(no message)");
        goto fail;
    }
    xmlFreeParserCtxt(pctxt);
    return style;
fail:
    host->log(NULL, PIDE_LOG_ERROR, "xslt adapter, service %s: %s %s: %s", service, param, path,
              why);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(pctxt);
    return NULL;
}

/* An XPath parameter must compile (the kit's check, adapter_kit.h) and call neither document()
 * nor an extension function; checked at init so a typo stops the start, not an exchange. */
static bool xpath_ok(const pide_host_api *host, const char *service, const char *param,
                     const char *expr)
{
    char what[80];
    if (forbidden_call(expr, what, sizeof what)) {
        host->log(NULL, PIDE_LOG_ERROR, "xslt adapter, service %s: parameter %s: %s is not "
                  "allowed", service, param, what);
        return false;
    }
    return adapter_xpath_ok(host, "xslt", service, param, expr, NULL);
}

static void xslt_fini(void *instance)
{
    xslt_instance *in = instance;
    if (!in)
        return;
    if (in->request_style)
        xsltFreeStylesheet(in->request_style);
    if (in->response_style)
        xsltFreeStylesheet(in->response_style);
    if (in->response_schema)
        xmlSchemaFree(in->response_schema);
    free(in->operations);
    free(in->soap_action);
    free(in->subject_xpath);
    free(in->subject_type);
    free(in->purpose_xpath);
    free(in->result_code_xpath);
    free(in->unavailable_code);
    adapter_instance_free(in);
}

static pide_result xslt_init(const pide_host_api *host, const pide_service_config *cfg,
                             void **instance)
{
    xslt_instance *in = NULL;
    pide_result rc = adapter_instance_new(host, cfg, "xslt", "the provider's address", sizeof *in,
                                          (void **)&in);
    if (rc != PIDE_OK)
        return rc;
    pthread_once(&global_once, global_setup);
    /* Every init (they run on one thread, before any exchange): a plugin unloaded and loaded
     * again points libxslt at the loader of its new copy. */
    xsltSetLoaderFunc(refuse_load);
    const char *svc = in->base.service_name;
    rc = PIDE_ERR_CONFIG;

    const char *style = adapter_param(host, cfg, "providerStyle", "soap11");
    if (strcmp(style, "soap11") != 0 && strcmp(style, "rest-json") != 0) {
        host->log(NULL, PIDE_LOG_ERROR, "xslt adapter, service %s: providerStyle '%.40s' is not "
                  "one of soap11, rest-json", svc, style);
        goto fail;
    }
    in->rest_json = strcmp(style, "rest-json") == 0;
    if (!(in->operations = adapter_operations(host, cfg, "xslt", svc)))
        goto fail;
    const char *req_path = host->config_param(cfg, "requestStylesheet");
    const char *resp_path = host->config_param(cfg, "responseStylesheet");
    if (!req_path || !*req_path || !resp_path || !*resp_path) {
        host->log(NULL, PIDE_LOG_ERROR, "xslt adapter, service %s: requestStylesheet and "
                  "responseStylesheet are required", svc);
        goto fail;
    }
    char req_file[PATH_MAX], resp_file[PATH_MAX];
    if (!adapter_file_path(host, req_path, req_file, sizeof req_file) ||
        !adapter_file_path(host, resp_path, resp_file, sizeof resp_file)) {
        host->log(NULL, PIDE_LOG_ERROR,
                  "xslt adapter, service %s: a stylesheet path is too "
                  "long",
                  svc);
        goto fail;
    }
    if (!(in->request_style = compile_stylesheet(host, svc, "requestStylesheet", req_file)) ||
        !(in->response_style = compile_stylesheet(host, svc, "responseStylesheet", resp_file)))
        goto fail;

    bool ok = true;
    in->soap_action = adapter_param_dup(host, cfg, "soapAction", &ok);
    in->subject_xpath = adapter_param_dup(host, cfg, "subjectXPath", &ok);
    in->subject_type = adapter_param_dup(host, cfg, "subjectType", &ok);
    in->purpose_xpath = adapter_param_dup(host, cfg, "purposeXPath", &ok);
    in->result_code_xpath = adapter_param_dup(host, cfg, "resultCodeXPath", &ok);
    in->unavailable_code = adapter_param_dup(host, cfg, "unavailableResultCode", &ok);
    if (!ok) {
        rc = PIDE_ERR_NOMEM;
        goto fail;
    }
    if (!in->subject_xpath != !in->subject_type) {
        host->log(NULL, PIDE_LOG_ERROR, "xslt adapter, service %s: subjectXPath and subjectType "
                  "go together (give both or neither)", svc);
        goto fail;
    }
    if ((in->subject_xpath && !xpath_ok(host, svc, "subjectXPath", in->subject_xpath)) ||
        (in->purpose_xpath && !xpath_ok(host, svc, "purposeXPath", in->purpose_xpath)) ||
        (in->result_code_xpath &&
         !xpath_ok(host, svc, "resultCodeXPath", in->result_code_xpath)))
        goto fail;
    const char *schema_path = host->config_param(cfg, "responseSchema");
    if (schema_path && *schema_path &&
        !(in->response_schema =
              adapter_load_schema(host, "xslt", svc, "responseSchema", schema_path)))
        goto fail;
    /* jansson seeds its hash function on first use: here, before any worker thread. */
    json_object_seed(0);
    *instance = in;
    return PIDE_OK;
fail:
    xslt_fini(in);
    return rc;
}

/* ---- one exchange ---------------------------------------------------------------------------- */

typedef struct run_errors {
    const pide_host_api *host;
    pide_exchange *ex;
    const char *which;
    error_text err;
} run_errors;

static void run_error(void *ctx, const char *fmt, ...)
{
    run_errors *e = ctx;
    va_list ap;
    va_start(ap, fmt);
    error_text_add(&e->err, fmt, ap);
    va_end(ap);
}

/* Applies `style` to `in_doc` with its own transform context (forbidding all I/O) and the
 * stylesheet parameters from the exchange. NULL on failure (logged). */
static xmlDocPtr transform(const xslt_instance *in, pide_exchange *ex, xsltStylesheetPtr style,
                           xmlDocPtr in_doc, const char *which, const pide_call *call)
{
    const pide_host_api *host = in->base.host;
    xmlDocPtr out = NULL;
    run_errors errs = {.host = host, .ex = ex, .which = which, .err = {.len = 0}};
    xsltSecurityPrefsPtr sec = xsltNewSecurityPrefs();
    xsltTransformContextPtr ctxt = xsltNewTransformContext(style, in_doc);
    if (!sec || !ctxt)
        goto done;
    if (xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_FILE, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_FILE, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_CREATE_DIRECTORY, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_NETWORK, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_NETWORK, xsltSecurityForbid) ||
        xsltSetCtxtSecurityPrefs(sec, ctxt))
        goto done;
    xsltSetTransformErrorFunc(ctxt, &errs, run_error);
    ctxt->maxTemplateDepth = 200;

    /* Parameters every stylesheet may declare (xsl:param at top level), as strings. */
    const pide_identity *id = PIDE_HOST_HAS(host, identity) ? host->identity(ex) : NULL;
    const char *names[] = {"service", "operation", "member", "institutionCode", "official",
                           "subsystem"};
    const char *values[] = {call->service_name, call->operation,
                            id && id->member ? id->member : "",
                            id && id->institution_code ? id->institution_code : "",
                            id && id->official ? id->official : "",
                            id && id->subsystem ? id->subsystem : ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (xsltQuoteOneUserParam(ctxt, BAD_CAST names[i], BAD_CAST(values[i] ? values[i] : "")))
            goto done;
    out = xsltApplyStylesheetUser(style, in_doc, NULL, NULL, NULL, ctxt);
    if (out && ctxt->state != XSLT_STATE_OK) {
        xmlFreeDoc(out);
        out = NULL;
    }
done:
    if (!out) {
        trim_newlines(errs.err.text);
        host->log(ex, PIDE_LOG_WARN, "xslt: %s stylesheet failed: %.200s", which,
                  errs.err.len ? errs.err.text : "(no message)");
    }
    if (ctxt)
        xsltFreeTransformContext(ctxt);
    if (sec)
        xsltFreeSecurityPrefs(sec);
    return out;
}

/* string(expr) on doc, in exchange memory; NULL on error or empty. */
static const char *xpath_string(const pide_host_api *host, pide_exchange *ex, xmlDocPtr doc,
                                const char *expr)
{
    return adapter_xpath_string(host, ex, doc, expr, NULL);
}

static const struct {
    const char *code;
    pide_result rc;
} FAULT_CODES[] = {
    {"bad-request", PIDE_ERR_BAD_REQUEST},
    {"provider-unavailable", PIDE_ERR_PROVIDER_UNAVAILABLE},
    {"provider-timeout", PIDE_ERR_PROVIDER_TIMEOUT},
    {"provider-bad-response", PIDE_ERR_PROVIDER_BAD_RESPONSE},
    {"internal", PIDE_ERR_INTERNAL},
};

/* ---- providerStyle soap11 ------------------------------------------------------------------ */

/* Sends the request stylesheet's Envelope; *answer is the provider's parsed answer (200, or 500
 * with a SOAP Fault: both go to the response stylesheet). */
static pide_result soap11_call(const xslt_instance *in, pide_exchange *ex, xmlDocPtr provider_req,
                               xmlDocPtr *answer)
{
    const pide_host_api *host = in->base.host;
    xmlNodePtr env = xmlDocGetRootElement(provider_req);
    if (!adapter_element_is(env, SOAP11_NS, "Envelope")) {
        host->log(ex, PIDE_LOG_WARN, "xslt: the request stylesheet did not produce a SOAP 1.1 "
                  "Envelope");
        return PIDE_ERR_INTERNAL;
    }
    xmlChar *wire = NULL;
    int wire_len = 0;
    xmlDocDumpMemoryEnc(provider_req, &wire, &wire_len, "UTF-8");
    if (!wire || wire_len <= 0) {
        xmlFree(wire);
        return PIDE_ERR_NOMEM;
    }
    pide_http_request hreq = {
        .url = NULL,
        .method = "POST",
        .content_type = "text/xml; charset=utf-8",
        .soap_action = in->soap_action ? in->soap_action : "",
        .body = (const char *)wire,
        .body_len = (size_t)wire_len,
        .timeout_ms = 0,
    };
    pide_http_response resp = {0};
    pide_result rc = host->http_call(ex, &hreq, &resp);
    xmlFree(wire);
    if (rc != PIDE_OK)
        return rc;
    if (resp.status != 200 && resp.status != 500) {
        host->log(ex, PIDE_LOG_WARN, "xslt: provider answered HTTP %d", resp.status);
        return resp.status > 500 ? PIDE_ERR_PROVIDER_UNAVAILABLE : PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    rc = adapter_xml_answer(host, ex, "xslt: provider", &resp, answer);
    if (rc != PIDE_OK && resp.status == 500)
        rc = PIDE_ERR_PROVIDER_UNAVAILABLE;
    return rc;
}

/* ---- providerStyle rest-json ----------------------------------------------------------------
 *
 * JSON is seen by the stylesheets in the W3C's lossless XML form of JSON (XPath 3.1 fn:json-to-xml,
 * namespace http://www.w3.org/2005/xpath-functions): map, array, string, number, boolean, null
 * elements, members of a map carrying their name in `key`. Member order is kept; numbers keep
 * their JSON text for integers and 17 significant digits for the others; strings are Unicode. */

#define FN_NS "http://www.w3.org/2005/xpath-functions"
#define JSON_MAX_DEPTH 64

static bool json_to_xml(json_t *v, xmlNodePtr parent, xmlNsPtr ns, const char *key, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return false;
    const char *name;
    char num[64] = "";
    switch (json_typeof(v)) {
    case JSON_OBJECT: name = "map"; break;
    case JSON_ARRAY: name = "array"; break;
    case JSON_STRING: name = "string"; break;
    case JSON_INTEGER:
        name = "number";
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        name = "number";
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        break;
    case JSON_TRUE: name = "boolean"; snprintf(num, sizeof num, "true"); break;
    case JSON_FALSE: name = "boolean"; snprintf(num, sizeof num, "false"); break;
    default: name = "null"; break;
    }
    xmlNodePtr n = xmlNewChild(parent, ns, BAD_CAST name, NULL);
    if (!n || (key && !xmlNewProp(n, BAD_CAST "key", BAD_CAST key)))
        return false;
    if (json_is_string(v))
        return xmlAddChild(n, xmlNewText(BAD_CAST json_string_value(v))) != NULL;
    if (num[0])
        return xmlAddChild(n, xmlNewText(BAD_CAST num)) != NULL;
    const char *k;
    json_t *child;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, child)
            if (!json_to_xml(child, n, ns, k, depth + 1))
                return false;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child)
            if (!json_to_xml(child, n, ns, NULL, depth + 1))
                return false;
    }
    return true;
}

static xmlNodePtr next_element(xmlNodePtr n)
{
    while (n && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

/* The JSON value of fn element n; NULL with *why set when n is not the W3C form. */
static json_t *xml_to_json(xmlNodePtr n, const char **why, int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        *why = "nested too deeply";
        return NULL;
    }
    if (!n->ns || strcmp((const char *)n->ns->href, FN_NS) != 0) {
        *why = "an element outside the JSON namespace " FN_NS;
        return NULL;
    }
    const char *name = (const char *)n->name;
    json_t *v = NULL;
    if (strcmp(name, "map") == 0 || strcmp(name, "array") == 0) {
        bool map = name[1] == 'a';
        v = map ? json_object() : json_array();
        for (xmlNodePtr c = next_element(n->children); v && c; c = next_element(c->next)) {
            json_t *cv = xml_to_json(c, why, depth + 1);
            if (!cv) {
                json_decref(v);
                return NULL;
            }
            if (map) {
                xmlChar *key = xmlGetProp(c, BAD_CAST "key");
                /* json_object_set_new takes cv even when it fails; a refused key must free it. */
                int bad = !key || json_object_get(v, (const char *)key) != NULL;
                if (bad)
                    json_decref(cv);
                else
                    bad = json_object_set_new(v, (const char *)key, cv) != 0;
                xmlFree(key);
                if (bad) {
                    *why = "a map member without a key, or a key given twice";
                    json_decref(v);
                    return NULL;
                }
            } else if (json_array_append_new(v, cv) != 0) {
                json_decref(v);
                return NULL;
            }
        }
        return v;
    }
    xmlChar *text = xmlNodeGetContent(n);
    const char *t = text ? (const char *)text : "";
    if (strcmp(name, "string") == 0) {
        v = json_string(t);
    } else if (strcmp(name, "boolean") == 0) {
        v = strcmp(t, "true") == 0 ? json_true() : strcmp(t, "false") == 0 ? json_false() : NULL;
        if (!v)
            *why = "a boolean that is neither true nor false";
    } else if (strcmp(name, "null") == 0) {
        v = json_null();
    } else if (strcmp(name, "number") == 0) {
        /* JSON's own number syntax, parsed by the JSON parser itself */
        v = *t && strspn(t, "-+.0123456789eE") == strlen(t)
                ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
        if (v && !json_is_number(v)) {
            json_decref(v);
            v = NULL;
        }
        if (!v)
            *why = "a number that is not a JSON number";
    } else {
        *why = "an unknown element in the JSON namespace";
    }
    xmlFree(text);
    return v;
}

/* A path the request stylesheet may append to the endpoint: '/' or '?' first, then only
 * characters RFC 3986 allows in a path and query (percent-encode the rest). */
static bool is_safe_path(const char *p)
{
    if (*p != '/' && *p != '?')
        return false;
    for (; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("-._~!$&'()*+,;=:@/?%", *p)))
            return false;
    return true;
}

/* The request stylesheet's <pgx:http method= path=> (and an optional JSON body in the W3C form)
 * -> an HTTP call; *answer becomes <pgx:response status=> holding the JSON answer in the W3C form
 * (any status: the stylesheet decides). A body that is not JSON: unavailable for 5xx, else a bad
 * response. */
static pide_result rest_json_call(const xslt_instance *in, pide_exchange *ex,
                                  xmlDocPtr provider_req, xmlDocPtr *answer)
{
    const pide_host_api *host = in->base.host;
    xmlNodePtr http = xmlDocGetRootElement(provider_req);
    if (!adapter_element_is(http, PGX_NS, "http")) {
        host->log(ex, PIDE_LOG_WARN, "xslt: the request stylesheet did not produce a pgx:http "
                  "element (providerStyle rest-json)");
        return PIDE_ERR_INTERNAL;
    }
    const char *method = adapter_attr_of(host, ex, http, "method");
    const char *path = adapter_attr_of(host, ex, http, "path");
    if (!method || (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) || !path ||
        !is_safe_path(path)) {
        host->log(ex, PIDE_LOG_WARN, "xslt: pgx:http needs method GET or POST and a path "
                  "starting with / or ? in RFC 3986 characters (got '%.80s')", path ? path : "");
        return PIDE_ERR_INTERNAL;
    }
    char *url = host->alloc(ex, strlen(in->base.endpoint_url) + strlen(path) + 1);
    if (!url)
        return PIDE_ERR_NOMEM;
    strcpy(url, in->base.endpoint_url);
    strcat(url, path);

    /* <pgx:header name="N">value</pgx:header> children first (the host checks names and
     * values: pide_host_api.http_call_headers), then the optional JSON body. */
    const char *hnames[16], *hvalues[16];
    size_t hcount = 0;
    xmlNodePtr body_el = next_element(http->children);
    for (; body_el && adapter_element_is(body_el, PGX_NS, "header");
         body_el = next_element(body_el->next)) {
        if (hcount == sizeof hnames / sizeof hnames[0]) {
            host->log(ex, PIDE_LOG_WARN, "xslt: more than %zu pgx:header elements", hcount);
            return PIDE_ERR_INTERNAL;
        }
        xmlChar *v = xmlNodeGetContent(body_el);
        hnames[hcount] = adapter_attr_of(host, ex, body_el, "name");
        hvalues[hcount] = host->strdup(ex, v ? (const char *)v : "");
        xmlFree(v);
        if (!hnames[hcount] || !hvalues[hcount]) {
            host->log(ex, PIDE_LOG_WARN, "xslt: pgx:header needs a name attribute");
            return PIDE_ERR_INTERNAL;
        }
        hcount++;
    }
    if (hcount && !PIDE_HOST_HAS(host, http_call_headers)) {
        host->log(ex, PIDE_LOG_WARN,
                  "xslt: this gateway cannot send provider headers "
                  "(pgx:header)");
        return PIDE_ERR_INTERNAL;
    }
    char *body = NULL;
    if (body_el) {
        const char *why = "out of memory";
        json_t *j = xml_to_json(body_el, &why, 0);
        if (!j) {
            host->log(ex, PIDE_LOG_WARN, "xslt: the request body is not JSON in the W3C XML "
                      "form: %s", why);
            return PIDE_ERR_INTERNAL;
        }
        char *dumped = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        json_decref(j);
        body = dumped ? host->strdup(ex, dumped) : NULL;
        free(dumped);
        if (!body)
            return PIDE_ERR_NOMEM;
    }
    bool post = strcmp(method, "POST") == 0;
    pide_http_request hreq = {
        .url = url,
        .method = method,
        .content_type = post ? "application/json; charset=utf-8" : NULL,
        .soap_action = NULL,
        .body = post ? (body ? body : "{}") : NULL,
        .body_len = post ? strlen(body ? body : "{}") : 0,
        .timeout_ms = 0,
    };
    pide_http_response resp = {0};
    pide_result rc = hcount ? host->http_call_headers(ex, &hreq, hnames, hvalues, hcount, &resp)
                            : host->http_call(ex, &hreq, &resp);
    if (rc != PIDE_OK)
        return rc;
    json_error_t err;
    json_t *j = resp.body_len ? json_loadb(resp.body, resp.body_len,
                                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err)
                              : NULL;
    if (resp.body_len && !j) {
        host->log(ex, PIDE_LOG_WARN, "xslt: provider answered HTTP %d with a body that is not "
                  "JSON: %.120s", resp.status, err.text);
        return resp.status >= 500 ? PIDE_ERR_PROVIDER_UNAVAILABLE
                                  : PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    rc = PIDE_ERR_NOMEM;
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "response", NULL) : NULL;
    xmlNsPtr pgx = root ? xmlNewNs(root, BAD_CAST PGX_NS, BAD_CAST "pgx") : NULL;
    xmlNsPtr fn = root ? xmlNewNs(root, BAD_CAST FN_NS, BAD_CAST "fn") : NULL;
    char status[16];
    snprintf(status, sizeof status, "%d", resp.status);
    if (!root || !pgx || !fn)
        goto fail;
    xmlSetNs(root, pgx);
    xmlDocSetRootElement(doc, root);
    if (!xmlNewProp(root, BAD_CAST "status", BAD_CAST status))
        goto fail;
    if (j && !json_to_xml(j, root, fn, NULL, 0)) {
        host->log(ex, PIDE_LOG_WARN, "xslt: provider's JSON nested deeper than %d",
                  JSON_MAX_DEPTH);
        rc = PIDE_ERR_PROVIDER_BAD_RESPONSE;
        goto fail;
    }
    json_decref(j);
    *answer = doc;
    return PIDE_OK;
fail:
    json_decref(j);
    xmlFreeDoc(doc);
    return rc;
}

/* A stylesheet's <pgx:fault code=>why</pgx:fault> as the pide_result its code names (an unknown
 * or missing code: bad response from the response stylesheet, internal from the request one). */
static pide_result fault_result(const pide_host_api *host, pide_exchange *ex, xmlNodePtr fault,
                                const char *which)
{
    const char *code = adapter_attr_of(host, ex, fault, "code");
    const char *why = adapter_text_of(host, ex, fault);
    pide_result rc =
        strcmp(which, "request") == 0 ? PIDE_ERR_INTERNAL : PIDE_ERR_PROVIDER_BAD_RESPONSE;
    for (size_t i = 0; i < sizeof FAULT_CODES / sizeof FAULT_CODES[0]; i++)
        if (code && strcmp(code, FAULT_CODES[i].code) == 0)
            rc = FAULT_CODES[i].rc;
    host->log(ex, PIDE_LOG_WARN, "xslt: the %s stylesheet says %.40s: %.200s", which,
              code ? code : "(no code)", why ? why : "");
    return rc;
}

/* The translated answer (out's root) must be valid by responseSchema, the contract's XSD: a
 * provider answer whose data do not fit the contract never reaches the consumer. */
static pide_result valid_by_contract(const xslt_instance *in, pide_exchange *ex, xmlDocPtr out)
{
    return adapter_validate(in->base.host, ex, in->response_schema, out, "xslt",
                            "the translated answer");
}

static pide_result exchange(const xslt_instance *in, pide_exchange *ex, const pide_call *call)
{
    const pide_host_api *host = in->base.host;
    pide_result rc = PIDE_ERR_NOMEM;
    xmlDocPtr req_doc = NULL, provider_req = NULL, answer = NULL, out = NULL;

    /* The operation element as its own document: what the request stylesheet sees as "/". */
    if (!(req_doc = xmlNewDoc(BAD_CAST "1.0")))
        goto done;
    xmlNodePtr copy = xmlDocCopyNode(call->request, req_doc, 1);
    if (!copy)
        goto done;
    xmlDocSetRootElement(req_doc, copy);

    if (in->subject_xpath) {
        const char *subject = xpath_string(host, ex, req_doc, in->subject_xpath);
        if (subject)
            host->set_subject(ex, in->subject_type, subject);
    }
    if (in->purpose_xpath) {
        const char *purpose = xpath_string(host, ex, req_doc, in->purpose_xpath);
        if (purpose)
            host->set_purpose(ex, purpose, NULL);
    }

    rc = PIDE_ERR_INTERNAL;
    if (!(provider_req = transform(in, ex, in->request_style, req_doc, "request", call)))
        goto done;
    /* The request stylesheet may refuse the request itself (e.g. a value the provider does not
     * serve) with a pgx:fault: the provider then hears nothing. */
    xmlNodePtr refused = xmlDocGetRootElement(provider_req);
    if (adapter_element_is(refused, PGX_NS, "fault")) {
        rc = fault_result(host, ex, refused, "request");
        goto done;
    }
    rc = in->rest_json ? rest_json_call(in, ex, provider_req, &answer)
                       : soap11_call(in, ex, provider_req, &answer);
    if (rc != PIDE_OK)
        goto done;
    if (!(out = transform(in, ex, in->response_style, answer, "response", call))) {
        rc = PIDE_ERR_PROVIDER_BAD_RESPONSE;
        goto done;
    }
    xmlNodePtr result = xmlDocGetRootElement(out);
    if (!result) {
        host->log(ex, PIDE_LOG_WARN, "xslt: the response stylesheet produced no element");
        rc = PIDE_ERR_PROVIDER_BAD_RESPONSE;
        goto done;
    }
    if (adapter_element_is(result, PGX_NS, "fault")) {
        rc = fault_result(host, ex, result, "response");
        goto done;
    }
    if (in->response_schema && (rc = valid_by_contract(in, ex, out)) != PIDE_OK)
        goto done;
    /* An HTTP 500 carries SOAP 1.1 Faults: the stylesheet has read the Fault and decided (a
     * business answer, e.g. SUNAT's RucInvalidoException, or a pgx:fault). */
    const char *code = in->result_code_xpath
                           ? xpath_string(host, ex, out, in->result_code_xpath) : NULL;
    rc = adapter_deliver(host, ex, call, result, code);
done:
    xmlFreeDoc(out);
    xmlFreeDoc(answer);
    xmlFreeDoc(provider_req);
    xmlFreeDoc(req_doc);
    return rc;
}

static pide_result xslt_handle(void *instance, pide_exchange *ex, const pide_call *call)
{
    const xslt_instance *in = instance;
    /* The service's schema validated the element; only the configured operations are served
     * (a schema's other global elements, e.g. the response element, are not operations). */
    if (!adapter_operation_listed(in->base.host, ex, in->operations, "xslt", call))
        return PIDE_ERR_BAD_REQUEST;
    pide_result rc = exchange(in, ex, call);
    if (in->unavailable_code && adapter_is_provider_failure(rc))
        in->base.host->set_result_code(ex, in->unavailable_code);
    return rc;
}

/* Any operation: the service's XSD and the stylesheets decide what is served. */
static const char *const OPERATIONS[] = {"*", NULL};

static const pide_param_decl PARAMS[] = {
    {"operations", PIDE_PARAM_STRING, 1, NULL,
     "the operation element names this service serves, space-separated"},
    {"requestStylesheet", PIDE_PARAM_STRING, 1, NULL,
     "XSLT 1.0 file: operation element -> the provider's request document"},
    {"responseStylesheet", PIDE_PARAM_STRING, 1, NULL,
     "XSLT 1.0 file: the provider's answer -> the contract's response (or pgx:fault)"},
    {"providerStyle", PIDE_PARAM_STRING, 0, "soap11",
     "how the provider is spoken to: soap11 or rest-json"},
    {"soapAction", PIDE_PARAM_STRING, 0, "", "SOAPAction sent to the provider"},
    {"subjectXPath", PIDE_PARAM_STRING, 0, NULL,
     "XPath on the operation element: whom the exchange is about (logged)"},
    {"subjectType", PIDE_PARAM_STRING, 0, NULL, "the subject's identifier type, e.g. RUC"},
    {"purposeXPath", PIDE_PARAM_STRING, 0, NULL,
     "XPath on the operation element: the declared purpose (logged)"},
    {"resultCodeXPath", PIDE_PARAM_STRING, 0, NULL,
     "XPath on the translated response: the contract's result code (logged)"},
    {"unavailableResultCode", PIDE_PARAM_STRING, 0, NULL,
     "result code logged when the provider gives no usable answer"},
    {"responseSchema", PIDE_PARAM_STRING, 0, NULL,
     "XSD (the contract's): the translated answer must be valid by it, else BadResponse"},
    {NULL, PIDE_PARAM_STRING, 0, NULL, NULL},
};

static const pide_adapter XSLT_ADAPTER = {
    PIDE_ADAPTER_HEADER,
    .name = "xslt",
    .version = "1.0.0",
    .operations = OPERATIONS,
    .init = xslt_init,
    .handle = xslt_handle,
    .fini = xslt_fini,
    .params = PARAMS,
};

PIDE_ADAPTER_EXPORT(XSLT_ADAPTER)
