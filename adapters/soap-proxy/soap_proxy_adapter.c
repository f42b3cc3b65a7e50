/*
 * soap_proxy_adapter.c — pide_adapter_soap_proxy.so (adapter="soap_proxy"): publishes a provider that already speaks
 * SOAP (1.1 or 1.2) by configuration, with no C and no stylesheet. The operation element of the
 * consumer's request (document/literal, already validated against the service's XSD) is
 * forwarded as the provider's Body, and the element of the provider's Body comes back as the
 * contract's answer, with optionally:
 *
 *   renameNamespace / renameElement   "from=to" pairs applied to the request and reversed on the
 *                                     answer (the contract's names <-> the provider's);
 *   memberElement / officialElement   elements whose text is set to the authenticated member's
 *                                     RUC / official's DNI (host->identity): who asked is one
 *                                     fact, whatever the body said;
 *   wssSigningKey + wssSigningCertificate
 *                                     a WS-Security signature (Timestamp + Body) on the request,
 *                                     made by the host with the gateway's own WSS code;
 *   responseSchema                    the provider's XSD: an answer it does not validate is
 *                                     Server.Provider.BadResponse;
 *   subjectXPath + subjectType|subjectTypeXPath, purposeXPath, resultCodeXPath, xpathNamespaces
 *                                     what the exchange log records as columns (the kit's XPath
 *                                     helpers, shared with the xslt adapter).
 *
 * Outcomes (the hand-written adapters' mapping, adapters/pj):
 *   the provider's answer element, valid            -> the response
 *   no connection, HTTP 5xx without an Envelope,
 *   a SOAP Fault (Client/Sender or Server/Receiver)  -> Server.Provider.Unavailable
 *   no answer in time                                -> Server.Provider.Timeout
 *   not XML, a DTD, another SOAP version, no Body
 *   element, 4xx without a Fault, invalid by
 *   responseSchema                                   -> Server.Provider.BadResponse
 *   HTTP 401/403, or a Fault whose code is a
 *   WS-Security one (wsse:InvalidSecurity...)        -> Server.Adapter (PIDE_ERR_CONFIG): the
 *       provider refuses the gateway's credentials, which only its operator can fix.
 *
 * Threads: the instance (schema, parameters, signer) is read-only after init; every handle()
 * builds its own documents and validation context.
 */
#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "adapter_kit.h"
#include "adapter_xml.h"
#include "pide_adapter.h"

#define SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP12_NS "http://www.w3.org/2003/05/soap-envelope"
#define WSSE_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define ADAPTER "soap_proxy"
#define MAX_RENAMES 32

typedef struct rename_pair {
    char *from, *to;
} rename_pair;

typedef struct proxy_instance {
    adapter_instance base;
    char *operations; /* " op1 op2 " */
    bool soap12;
    char *soap_action;  /* "" : none */
    char *content_type; /* the request's Content-Type (1.2 carries the action) */
    rename_pair ns_renames[MAX_RENAMES];
    size_t ns_count;
    rename_pair el_renames[MAX_RENAMES];
    size_t el_count;
    char *member_element, *official_element;
    xmlSchemaPtr response_schema;
    pide_wss_signer *signer;
    int wss_ttl;
    char *namespaces, *subject_xpath, *subject_type, *subject_type_xpath, *purpose_xpath,
        *result_code_xpath;
} proxy_instance;

/* ---- configuration ---------------------------------------------------------------------------- */

static void free_pairs(rename_pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].from);
        free(p[i].to);
    }
}

static void proxy_fini(void *instance)
{
    proxy_instance *in = instance;
    if (!in)
        return;
    free(in->operations);
    free(in->soap_action);
    free(in->content_type);
    free_pairs(in->ns_renames, in->ns_count);
    free_pairs(in->el_renames, in->el_count);
    free(in->member_element);
    free(in->official_element);
    if (in->response_schema)
        xmlSchemaFree(in->response_schema);
    if (in->signer && PIDE_HOST_HAS(in->base.host, wss_signer_close))
        in->base.host->wss_signer_close(in->signer);
    free(in->namespaces);
    free(in->subject_xpath);
    free(in->subject_type);
    free(in->subject_type_xpath);
    free(in->purpose_xpath);
    free(in->result_code_xpath);
    adapter_instance_free(in);
}

/* "a=b c=d" -> pairs; names checked by `valid` (NCNames for elements, non-empty URIs for
 * namespaces). Logs and returns false on a malformed list, a name renamed twice either way. */
static bool parse_pairs(const pide_host_api *host, const char *svc, const char *param,
                        const char *text, bool ncnames, rename_pair *out, size_t *count)
{
    const char *p = text ? text : "";
    const char *why = NULL;
    *count = 0;
    while (*p && !why) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t len = 0;
        while (p[len] && !isspace((unsigned char)p[len]))
            len++;
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p || eq + 1 == p + len) {
            why = "each entry must be from=to, both non-empty";
            break;
        }
        if (*count == MAX_RENAMES) {
            why = "more than 32 pairs";
            break;
        }
        rename_pair *r = &out[*count];
        r->from = strndup(p, (size_t)(eq - p));
        r->to = strndup(eq + 1, (size_t)(p + len - eq - 1));
        if (!r->from || !r->to) {
            free(r->from);
            free(r->to);
            why = "out of memory";
            break;
        }
        (*count)++;
        if (ncnames && (xmlValidateNCName(BAD_CAST r->from, 0) != 0 ||
                        xmlValidateNCName(BAD_CAST r->to, 0) != 0))
            why = "element names must be XML names without a prefix";
        else if (strcmp(r->from, r->to) == 0)
            why = "a name renamed to itself";
        for (size_t i = 0; i + 1 < *count && !why; i++)
            if (strcmp(out[i].from, r->from) == 0 || strcmp(out[i].to, r->to) == 0 ||
                strcmp(out[i].from, r->to) == 0 || strcmp(out[i].to, r->from) == 0)
                why = "a name appears in two pairs (the renaming must be reversible)";
        p += len;
    }
    if (why)
        host->log(NULL, PIDE_LOG_ERROR, ADAPTER " adapter, service %s: parameter %s '%.200s': %s",
                  svc, param, text, why);
    return why == NULL;
}

static pide_result proxy_init(const pide_host_api *host, const pide_service_config *cfg,
                              void **instance)
{
    proxy_instance *in = NULL;
    pide_result rc = adapter_instance_new(host, cfg, ADAPTER, "the provider's SOAP address",
                                          sizeof *in, (void **)&in);
    if (rc != PIDE_OK)
        return rc;
    const char *svc = in->base.service_name;
    rc = PIDE_ERR_CONFIG;

    const char *version = adapter_param(host, cfg, "soapVersion", "1.1");
    if (strcmp(version, "1.1") != 0 && strcmp(version, "1.2") != 0) {
        host->log(NULL, PIDE_LOG_ERROR,
                  ADAPTER " adapter, service %s: soapVersion '%.40s' is not "
                          "one of 1.1, 1.2",
                  svc, version);
        goto fail;
    }
    in->soap12 = strcmp(version, "1.2") == 0;

    if (!(in->operations = adapter_operations(host, cfg, ADAPTER, svc)))
        goto fail;

    const char *action = adapter_param(host, cfg, "soapAction", "");
    for (const char *p = action; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"' || *p == 0x7f) {
            host->log(NULL, PIDE_LOG_ERROR,
                      ADAPTER " adapter, service %s: soapAction may not "
                              "hold quotes or control characters",
                      svc);
            goto fail;
        }
    size_t ct_len = strlen(action) + 64;
    in->soap_action = strdup(action);
    in->content_type = malloc(ct_len);
    if (!in->soap_action || !in->content_type) {
        rc = PIDE_ERR_NOMEM;
        goto fail;
    }
    if (!in->soap12)
        snprintf(in->content_type, ct_len, "text/xml; charset=utf-8");
    else if (*action)
        snprintf(in->content_type, ct_len, "application/soap+xml; charset=utf-8; action=\"%s\"",
                 action);
    else
        snprintf(in->content_type, ct_len, "application/soap+xml; charset=utf-8");

    if (!parse_pairs(host, svc, "renameNamespace", host->config_param(cfg, "renameNamespace"),
                     false, in->ns_renames, &in->ns_count) ||
        !parse_pairs(host, svc, "renameElement", host->config_param(cfg, "renameElement"), true,
                     in->el_renames, &in->el_count))
        goto fail;

    bool ok = true;
    in->member_element = adapter_param_dup(host, cfg, "memberElement", &ok);
    in->official_element = adapter_param_dup(host, cfg, "officialElement", &ok);
    in->namespaces = adapter_param_dup(host, cfg, "xpathNamespaces", &ok);
    in->subject_xpath = adapter_param_dup(host, cfg, "subjectXPath", &ok);
    in->subject_type = adapter_param_dup(host, cfg, "subjectType", &ok);
    in->subject_type_xpath = adapter_param_dup(host, cfg, "subjectTypeXPath", &ok);
    in->purpose_xpath = adapter_param_dup(host, cfg, "purposeXPath", &ok);
    in->result_code_xpath = adapter_param_dup(host, cfg, "resultCodeXPath", &ok);
    if (!ok) {
        rc = PIDE_ERR_NOMEM;
        goto fail;
    }
    const char *names[] = {in->member_element, in->official_element};
    for (size_t i = 0; i < 2; i++)
        if (names[i] && xmlValidateNCName(BAD_CAST names[i], 0) != 0) {
            host->log(NULL, PIDE_LOG_ERROR,
                      ADAPTER " adapter, service %s: %s '%.80s' is not an "
                              "XML name without a prefix",
                      svc, i ? "officialElement" : "memberElement", names[i]);
            goto fail;
        }
    if (in->subject_xpath && !in->subject_type == !in->subject_type_xpath) {
        host->log(NULL, PIDE_LOG_ERROR,
                  ADAPTER " adapter, service %s: subjectXPath needs exactly "
                          "one of subjectType (fixed) and subjectTypeXPath",
                  svc);
        goto fail;
    }
    if (!in->subject_xpath && (in->subject_type || in->subject_type_xpath)) {
        host->log(NULL, PIDE_LOG_ERROR,
                  ADAPTER " adapter, service %s: subjectType and "
                          "subjectTypeXPath need subjectXPath",
                  svc);
        goto fail;
    }
    if (!adapter_xpath_namespaces_ok(host, ADAPTER, svc, "xpathNamespaces", in->namespaces))
        goto fail;
    const char *xp_names[] = {"subjectXPath", "subjectTypeXPath", "purposeXPath",
                              "resultCodeXPath"};
    const char *xp[] = {in->subject_xpath, in->subject_type_xpath, in->purpose_xpath,
                        in->result_code_xpath};
    for (size_t i = 0; i < 4; i++)
        if (xp[i] && !adapter_xpath_ok(host, ADAPTER, svc, xp_names[i], xp[i], in->namespaces))
            goto fail;

    const char *schema = host->config_param(cfg, "responseSchema");
    if (schema && *schema &&
        !(in->response_schema = adapter_load_schema(host, ADAPTER, svc, "responseSchema", schema)))
        goto fail;

    const char *key = host->config_param(cfg, "wssSigningKey");
    const char *cert = host->config_param(cfg, "wssSigningCertificate");
    bool has_key = key && *key, has_cert = cert && *cert;
    if (has_key != has_cert) {
        host->log(NULL, PIDE_LOG_ERROR,
                  ADAPTER " adapter, service %s: wssSigningKey and "
                          "wssSigningCertificate go together",
                  svc);
        goto fail;
    }
    const char *ttl = adapter_param(host, cfg, "wssTtlSeconds", "300");
    char *end = NULL;
    long ttl_v = strtol(ttl, &end, 10);
    if (*end || ttl_v < 1 || ttl_v > 3600) {
        host->log(NULL, PIDE_LOG_ERROR,
                  ADAPTER " adapter, service %s: wssTtlSeconds '%.20s' is "
                          "not 1..3600",
                  svc, ttl);
        goto fail;
    }
    in->wss_ttl = (int)ttl_v;
    if (has_key) {
        if (!PIDE_HOST_HAS(host, wss_signer_open) || !PIDE_HOST_HAS(host, wss_sign)) {
            host->log(NULL, PIDE_LOG_ERROR,
                      ADAPTER " adapter, service %s: this gateway cannot "
                              "sign provider requests with WS-Security",
                      svc);
            goto fail;
        }
        char key_file[PATH_MAX], cert_file[PATH_MAX];
        if (!adapter_file_path(host, key, key_file, sizeof key_file) ||
            !adapter_file_path(host, cert, cert_file, sizeof cert_file)) {
            host->log(NULL, PIDE_LOG_ERROR,
                      ADAPTER " adapter, service %s: a WS-Security key path is too long", svc);
            goto fail;
        }
        if (!(in->signer = host->wss_signer_open(cfg, key_file, cert_file)))
            goto fail;
    }
    *instance = in;
    return PIDE_OK;
fail:
    proxy_fini(in);
    return rc;
}

/* ---- renaming --------------------------------------------------------------------------------- */

/* Every namespace declaration in the subtree whose URI is a `from` gets its `to` (reverse: the
 * other way); elements and attributes follow their declarations. */
static bool rename_namespaces(xmlNodePtr n, const rename_pair *pairs, size_t count, bool reverse)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        for (xmlNsPtr ns = n->nsDef; ns; ns = ns->next)
            for (size_t i = 0; i < count; i++) {
                const char *from = reverse ? pairs[i].to : pairs[i].from;
                const char *to = reverse ? pairs[i].from : pairs[i].to;
                if (ns->href && strcmp((const char *)ns->href, from) == 0) {
                    xmlChar *copy = xmlStrdup(BAD_CAST to);
                    if (!copy)
                        return false;
                    xmlFree((xmlChar *)ns->href);
                    ns->href = copy;
                    break;
                }
            }
        if (!rename_namespaces(n->children, pairs, count, reverse))
            return false;
    }
    return true;
}

static void rename_elements(xmlNodePtr n, const rename_pair *pairs, size_t count, bool reverse)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        for (size_t i = 0; i < count; i++) {
            const char *from = reverse ? pairs[i].to : pairs[i].from;
            const char *to = reverse ? pairs[i].from : pairs[i].to;
            if (strcmp((const char *)n->name, from) == 0) {
                xmlNodeSetName(n, BAD_CAST to);
                break;
            }
        }
        rename_elements(n->children, pairs, count, reverse);
    }
}

/* Sets the text of every element called `name` under (and including) n. */
static bool set_identity_text(xmlNodePtr n, const char *name, const char *value)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp((const char *)n->name, name) == 0) {
            xmlChar *escaped = xmlEncodeSpecialChars(n->doc, BAD_CAST value);
            if (!escaped)
                return false;
            xmlNodeSetContent(n, escaped);
            xmlFree(escaped);
        } else if (!set_identity_text(n->children, name, value)) {
            return false;
        }
    }
    return true;
}

/* ---- the provider's answer ------------------------------------------------------------------ */

/* The namespace URI of a QName written in the text of element n ("wsse:InvalidSecurity"). */
static bool qname_in_ns(xmlNodePtr n, const char *ns_uri)
{
    if (!n)
        return false;
    xmlChar *text = xmlNodeGetContent(n);
    bool hit = false;
    if (text) {
        const char *t = (const char *)text;
        while (isspace((unsigned char)*t))
            t++;
        const char *colon = strchr(t, ':');
        if (colon && colon > t && colon - t < 64) {
            char prefix[64];
            memcpy(prefix, t, (size_t)(colon - t));
            prefix[colon - t] = '\0';
            xmlNsPtr ns = xmlSearchNs(n->doc, n, BAD_CAST prefix);
            hit = ns && ns->href && strcmp((const char *)ns->href, ns_uri) == 0;
        }
    }
    xmlFree(text);
    return hit;
}

/* A WS-Security fault code anywhere in the Fault's code (1.1 faultcode, 1.2 Code/Value and its
 * Subcodes). */
static bool security_fault(xmlNodePtr fault, bool soap12)
{
    if (!soap12)
        return qname_in_ns(adapter_child(fault, NULL, "faultcode"), WSSE_NS);
    for (xmlNodePtr code = adapter_child(fault, SOAP12_NS, "Code"); code;
         code = adapter_child(code, SOAP12_NS, "Subcode"))
        if (qname_in_ns(adapter_child(code, SOAP12_NS, "Value"), WSSE_NS))
            return true;
    return false;
}

static const char *fault_reason(const proxy_instance *in, pide_exchange *ex, xmlNodePtr fault)
{
    const pide_host_api *host = in->base.host;
    const char *r = in->soap12
                        ? adapter_child_text(host, ex, adapter_child(fault, SOAP12_NS, "Reason"),
                                             SOAP12_NS, "Text")
                        : adapter_child_text(host, ex, fault, NULL, "faultstring");
    return r ? r : "";
}

/* The answer element of the provider's Body, or a result saying why there is none. */
static pide_result read_answer(const proxy_instance *in, pide_exchange *ex,
                               const pide_http_response *resp, xmlDocPtr *answer,
                               xmlNodePtr *payload)
{
    const pide_host_api *host = in->base.host;
    const char *env_ns = in->soap12 ? SOAP12_NS : SOAP11_NS;
    bool refused = resp->status == 401 || resp->status == 403;
    pide_result rc = adapter_xml_answer(host, ex, ADAPTER ": provider", resp, answer);
    if (rc != PIDE_OK)
        return refused ? PIDE_ERR_CONFIG : resp->status >= 500 ? PIDE_ERR_PROVIDER_UNAVAILABLE : rc;
    xmlNodePtr env = xmlDocGetRootElement(*answer);
    if (!adapter_element_is(env, env_ns, "Envelope")) {
        host->log(ex, PIDE_LOG_WARN,
                  ADAPTER ": provider answered HTTP %d without a SOAP %s "
                          "Envelope",
                  resp->status, in->soap12 ? "1.2" : "1.1");
        return refused               ? PIDE_ERR_CONFIG
               : resp->status >= 500 ? PIDE_ERR_PROVIDER_UNAVAILABLE
                                     : PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    xmlNodePtr body = adapter_child(env, env_ns, "Body");
    xmlNodePtr first = body ? adapter_first_element(body->children) : NULL;
    if (!first || adapter_first_element(first->next)) {
        host->log(ex, PIDE_LOG_WARN, ADAPTER ": provider's Body holds %s element",
                  first ? "more than one" : "no");
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    if (adapter_element_is(first, env_ns, "Fault")) {
        const char *reason = fault_reason(in, ex, first);
        if (refused || security_fault(first, in->soap12)) {
            host->log(ex, PIDE_LOG_ERROR,
                      ADAPTER
                      ": the provider refuses the gateway's "
                      "credentials (HTTP %d, WS-Security Fault: %.300s); check the service's "
                      "wssSigningKey/wssSigningCertificate",
                      resp->status, reason);
            return PIDE_ERR_CONFIG;
        }
        host->log(ex, PIDE_LOG_WARN, ADAPTER ": provider answered a SOAP Fault (HTTP %d): %.300s",
                  resp->status, reason);
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    if (resp->status != 200) {
        host->log(ex, PIDE_LOG_WARN, ADAPTER ": provider answered HTTP %d without a Fault",
                  resp->status);
        return refused               ? PIDE_ERR_CONFIG
               : resp->status >= 500 ? PIDE_ERR_PROVIDER_UNAVAILABLE
                                     : PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    *payload = first;
    return PIDE_OK;
}

/* The answer element alone as a document, validated by responseSchema when configured. */
static pide_result validated_payload(const proxy_instance *in, pide_exchange *ex,
                                     xmlNodePtr payload, xmlDocPtr *out)
{
    const pide_host_api *host = in->base.host;
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr copy = doc ? xmlDocCopyNode(payload, doc, 1) : NULL;
    if (!copy) {
        xmlFreeDoc(doc);
        return PIDE_ERR_NOMEM;
    }
    xmlDocSetRootElement(doc, copy);
    if (in->response_schema) {
        pide_result rc =
            adapter_validate(host, ex, in->response_schema, doc, ADAPTER, "the provider's answer");
        if (rc != PIDE_OK) {
            xmlFreeDoc(doc);
            return rc;
        }
    }
    *out = doc;
    return PIDE_OK;
}

/* ---- one exchange ------------------------------------------------------------------------------ */

static void log_columns(const proxy_instance *in, pide_exchange *ex, xmlDocPtr req)
{
    const pide_host_api *host = in->base.host;
    if (in->subject_xpath) {
        const char *subject =
            adapter_xpath_string(host, ex, req, in->subject_xpath, in->namespaces);
        const char *type =
            in->subject_type
                ? in->subject_type
                : adapter_xpath_string(host, ex, req, in->subject_type_xpath, in->namespaces);
        if (subject)
            host->set_subject(ex, type, subject);
    }
    if (in->purpose_xpath) {
        const char *purpose =
            adapter_xpath_string(host, ex, req, in->purpose_xpath, in->namespaces);
        if (purpose)
            host->set_purpose(ex, purpose, NULL);
    }
}

/* The request document: the operation element under a new Envelope/Body, renamed, with the
 * authenticated identity in the configured elements. */
static pide_result build_request(const proxy_instance *in, pide_exchange *ex, const pide_call *call,
                                 xmlDocPtr *out)
{
    const pide_host_api *host = in->base.host;
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr env = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "Envelope", NULL) : NULL;
    xmlNsPtr ns =
        env ? xmlNewNs(env, BAD_CAST(in->soap12 ? SOAP12_NS : SOAP11_NS), BAD_CAST "soapenv")
            : NULL;
    xmlNodePtr body = ns ? xmlNewChild(env, ns, BAD_CAST "Body", NULL) : NULL;
    xmlNodePtr op = body ? xmlDocCopyNode(call->request, doc, 1) : NULL;
    if (!op) {
        xmlFreeNode(env);
        xmlFreeDoc(doc);
        return PIDE_ERR_NOMEM;
    }
    xmlSetNs(env, ns);
    xmlDocSetRootElement(doc, env);
    xmlAddChild(body, op);

    const pide_identity *id = PIDE_HOST_HAS(host, identity) ? host->identity(ex) : NULL;
    bool ok = true;
    if (id && in->member_element && id->member)
        ok = set_identity_text(op, in->member_element, id->member);
    if (ok && id && in->official_element && id->official)
        ok = set_identity_text(op, in->official_element, id->official);
    if (ok)
        ok = rename_namespaces(op, in->ns_renames, in->ns_count, false);
    if (!ok) {
        xmlFreeDoc(doc);
        return PIDE_ERR_NOMEM;
    }
    rename_elements(op, in->el_renames, in->el_count, false);
    if (in->signer && host->wss_sign(ex, in->signer, doc, in->wss_ttl) != PIDE_OK) {
        xmlFreeDoc(doc);
        return PIDE_ERR_INTERNAL;
    }
    *out = doc;
    return PIDE_OK;
}

static pide_result exchange(const proxy_instance *in, pide_exchange *ex, const pide_call *call)
{
    const pide_host_api *host = in->base.host;
    pide_result rc = PIDE_ERR_NOMEM;
    xmlDocPtr req_doc = NULL, provider_req = NULL, answer = NULL, out = NULL;
    xmlChar *wire = NULL;

    /* The operation element as its own document: what the XPath parameters see as "/". */
    if (!(req_doc = xmlNewDoc(BAD_CAST "1.0")))
        goto done;
    xmlNodePtr copy = xmlDocCopyNode(call->request, req_doc, 1);
    if (!copy)
        goto done;
    xmlDocSetRootElement(req_doc, copy);
    log_columns(in, ex, req_doc);

    if ((rc = build_request(in, ex, call, &provider_req)) != PIDE_OK)
        goto done;
    int wire_len = 0;
    xmlDocDumpMemoryEnc(provider_req, &wire, &wire_len, "UTF-8");
    if (!wire || wire_len <= 0) {
        rc = PIDE_ERR_NOMEM;
        goto done;
    }
    pide_http_request hreq = {
        .url = NULL,
        .method = "POST",
        .content_type = in->content_type,
        .soap_action = in->soap12 ? NULL : in->soap_action,
        .body = (const char *)wire,
        .body_len = (size_t)wire_len,
        .timeout_ms = 0,
    };
    pide_http_response resp = {0};
    if ((rc = host->http_call(ex, &hreq, &resp)) != PIDE_OK)
        goto done;
    xmlNodePtr payload = NULL;
    if ((rc = read_answer(in, ex, &resp, &answer, &payload)) != PIDE_OK)
        goto done;
    if ((rc = validated_payload(in, ex, payload, &out)) != PIDE_OK)
        goto done;
    xmlNodePtr result = xmlDocGetRootElement(out);
    rc = PIDE_ERR_NOMEM;
    if (!rename_namespaces(result, in->ns_renames, in->ns_count, true))
        goto done;
    rename_elements(result, in->el_renames, in->el_count, true);
    const char *code =
        in->result_code_xpath
            ? adapter_xpath_string(host, ex, out, in->result_code_xpath, in->namespaces)
            : NULL;
    rc = adapter_deliver(host, ex, call, result, code);
done:
    xmlFree(wire);
    xmlFreeDoc(out);
    xmlFreeDoc(answer);
    xmlFreeDoc(provider_req);
    xmlFreeDoc(req_doc);
    return rc;
}

static pide_result proxy_handle(void *instance, pide_exchange *ex, const pide_call *call)
{
    const proxy_instance *in = instance;
    /* Only the configured operations (a schema's other global elements are not operations). */
    if (!adapter_operation_listed(in->base.host, ex, in->operations, ADAPTER, call))
        return PIDE_ERR_BAD_REQUEST;
    return exchange(in, ex, call);
}

static const char *const OPERATIONS[] = {"*", NULL};

static const pide_param_decl PARAMS[] = {
    {"operations", PIDE_PARAM_STRING, 1, NULL,
     "the operation element names this service serves, space-separated"},
    {"soapVersion", PIDE_PARAM_STRING, 0, "1.1", "the provider's SOAP version: 1.1 or 1.2"},
    {"soapAction", PIDE_PARAM_STRING, 0, "",
     "the action sent to the provider (1.1 SOAPAction header, 1.2 Content-Type action)"},
    {"renameNamespace", PIDE_PARAM_STRING, 0, NULL,
     "contract=provider namespace URI pairs, space-separated; reversed on the answer"},
    {"renameElement", PIDE_PARAM_STRING, 0, NULL,
     "contract=provider element name pairs, space-separated; reversed on the answer"},
    {"memberElement", PIDE_PARAM_STRING, 0, NULL,
     "request element(s) set to the authenticated member's RUC"},
    {"officialElement", PIDE_PARAM_STRING, 0, NULL,
     "request element(s) set to the authenticated official's DNI"},
    {"responseSchema", PIDE_PARAM_STRING, 0, NULL,
     "XSD file of the provider's answer element; an invalid answer is BadResponse"},
    {"wssSigningKey", PIDE_PARAM_STRING, 0, NULL,
     "PEM private key (mode 0600) to sign requests with WS-Security"},
    {"wssSigningCertificate", PIDE_PARAM_STRING, 0, NULL, "the signing key's PEM certificate"},
    {"wssTtlSeconds", PIDE_PARAM_INT, 0, "300", "lifetime of the request's wsu:Timestamp"},
    {"xpathNamespaces", PIDE_PARAM_STRING, 0, NULL,
     "prefix=URI pairs the XPath parameters use, space-separated"},
    {"subjectXPath", PIDE_PARAM_STRING, 0, NULL,
     "XPath on the operation element: whom the exchange is about (logged)"},
    {"subjectType", PIDE_PARAM_STRING, 0, NULL, "the subject's identifier type, e.g. DNI"},
    {"subjectTypeXPath", PIDE_PARAM_STRING, 0, NULL,
     "XPath on the operation element: the subject's identifier type"},
    {"purposeXPath", PIDE_PARAM_STRING, 0, NULL,
     "XPath on the operation element: the declared purpose (logged)"},
    {"resultCodeXPath", PIDE_PARAM_STRING, 0, NULL,
     "XPath on the translated answer: the contract's result code (logged)"},
    {NULL, PIDE_PARAM_STRING, 0, NULL, NULL},
};

static const pide_adapter SOAP_PROXY_ADAPTER = {
    PIDE_ADAPTER_HEADER, .name = "soap_proxy",   .version = "1.0.0", .operations = OPERATIONS,
    .init = proxy_init,  .handle = proxy_handle, .fini = proxy_fini, .params = PARAMS,
};

PIDE_ADAPTER_EXPORT(SOAP_PROXY_ADAPTER)
