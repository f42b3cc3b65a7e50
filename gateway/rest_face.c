/* rest_face.c — the REST/JSON face: query → SOAP request, answer → signed JSON (rest_face.h). */
#include "rest_face.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlsave.h>
#include <openssl/sha.h>
#include <xmlsec/openssl/evp.h>

#include "clock.h"
#include "config.h"
#include "exchange_env.h"
#include "log.h"
#include "namespaces.h"
#include "response.h"
#include "rest_sign.h"
#include "runtime.h"
#include "service_catalog.h"
#include "transport.h"
#include "xml_parse.h"
#include "xml_sign.h"

/* ---- the query ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF) without control characters. */
static int utf8_text_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t len;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* Decodes one query component (form encoding: %XX and '+' for a space) into out (NUL-ended,
 * room for n + 1). -1 on a malformed escape or invalid text. */
static long decode_component(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval(in[i + 1]), l = hexval(in[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            out[o++] = (char)(h << 4 | l);
            i += 2;
        } else if (c == '+') {
            out[o++] = ' ';
        } else if ((unsigned char)c <= 0x20 || (unsigned char)c >= 0x7f || c == '#') {
            return -1; /* the request line never carries these raw */
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    if (!utf8_text_ok((const unsigned char *)out, o) || memchr(out, '\0', o))
        return -1;
    return (long)o;
}

typedef struct param {
    char *name;
    char *value;
} param;

static const gw_rest_field *leaf_named(const gw_rest_element *el, const char *name)
{
    for (size_t i = 0; i < el->count; i++)
        if (!el->fields[i].wrapper && strcmp(el->fields[i].name, name) == 0)
            return &el->fields[i];
    return NULL;
}

gw_status gw_rest_query_to_element(const gw_rest_element *el, const char *q, size_t qlen,
                                   const gw_rest_default *defaults, size_t ndefaults, xmlNodePtr op,
                                   xmlNsPtr tns, char *err, size_t errlen)
{
    gw_status st = GW_ERR_BAD_REQUEST;
    param params[GW_REST_MAX_PARAMS];
    size_t np = 0;
    char *buf = malloc(2 * qlen + 2);
    if (!buf)
        return GW_ERR_NOMEM;
    char *w = buf;
    size_t i = 0;
    while (qlen && i <= qlen) {
        size_t end = i;
        while (end < qlen && q[end] != '&')
            end++;
        if (end == i) {
            if (end == qlen)
                break;
            gw_set_error(err, errlen, "an empty query parameter (&&)");
            goto fail;
        }
        if (np == GW_REST_MAX_PARAMS) {
            gw_set_error(err, errlen, "more than %d query parameters", GW_REST_MAX_PARAMS);
            goto fail;
        }
        const char *eq = memchr(q + i, '=', end - i);
        size_t nlen = eq ? (size_t)(eq - (q + i)) : end - i;
        long dn = decode_component(q + i, nlen, w);
        if (dn <= 0) {
            gw_set_error(err, errlen,
                         "query parameter %zu: malformed name (percent-encoding, "
                         "UTF-8 or control character)",
                         np + 1);
            goto fail;
        }
        params[np].name = w;
        w += dn + 1;
        /* Checked on the name alone, before its value is even decoded: a secret never reaches a
         * log or a request. */
        if (gw_rest_is_secret_param(params[np].name, (size_t)dn)) {
            gw_set_error(err, errlen,
                         "query parameter '%.64s' looks like a credential: "
                         "credentials never go in a URL (REST identifies the "
                         "caller by its client certificate)",
                         params[np].name);
            goto fail;
        }
        long dv = eq ? decode_component(eq + 1, (size_t)(q + end - eq - 1), w) : 0;
        if (!eq)
            *w = '\0';
        if (dv < 0) {
            gw_set_error(err, errlen,
                         "query parameter '%.64s': malformed value "
                         "(percent-encoding, UTF-8 or control character)",
                         params[np].name);
            goto fail;
        }
        params[np].value = w;
        w += dv + 1;
        np++;
        i = end + 1;
    }
    /* Every parameter names a field; a field not repeatable in the XSD is given once. */
    for (size_t k = 0; k < np; k++) {
        const gw_rest_field *f = leaf_named(el, params[k].name);
        if (!f || f->secret) {
            gw_set_error(err, errlen, "unknown query parameter '%.64s' for %s", params[k].name,
                         el->name);
            goto fail;
        }
        for (size_t j = 0; j < k; j++)
            if (strcmp(params[j].name, params[k].name) == 0 && f->max_occurs == 1) {
                gw_set_error(err, errlen, "query parameter '%.64s' given more than once",
                             params[k].name);
                goto fail;
            }
    }
    /* Build in XSD order: wrappers always, leaves from the query, else a default. */
    xmlNodePtr parents[GW_REST_MAX_DEPTH + 2];
    parents[0] = op;
    for (size_t fi = 0; fi < el->count; fi++) {
        const gw_rest_field *f = &el->fields[fi];
        xmlNodePtr parent = parents[f->depth - 1];
        xmlNsPtr ns = f->qualified ? tns : NULL;
        if (f->wrapper) {
            parents[f->depth] = xmlNewChild(parent, ns, BAD_CAST f->name, NULL);
            if (!parents[f->depth]) {
                st = GW_ERR_NOMEM;
                goto fail;
            }
            if (!ns)
                xmlSetNs(parents[f->depth], NULL);
            continue;
        }
        int given = 0;
        for (size_t k = 0; k < np; k++) {
            if (strcmp(params[k].name, f->name) != 0)
                continue;
            xmlNodePtr c = xmlNewTextChild(parent, ns, BAD_CAST f->name, BAD_CAST params[k].value);
            if (c && !ns)
                xmlSetNs(c, NULL);
            given++;
        }
        if (given)
            continue;
        const char *dflt = NULL;
        if (f->secret && f->min_occurs > 0)
            dflt = GW_REST_SECRET_PLACEHOLDER;
        for (size_t d = 0; d < ndefaults && !dflt; d++)
            if (defaults[d].value && strcmp(defaults[d].name, f->name) == 0)
                dflt = defaults[d].value;
        if (dflt) {
            xmlNodePtr c = xmlNewTextChild(parent, ns, BAD_CAST f->name, BAD_CAST dflt);
            if (c && !ns)
                xmlSetNs(c, NULL);
        }
    }
    st = GW_OK;
fail:
    free(buf);
    return st;
}

/* ---- XML → JSON ---- */

/* The field of a child named `name` below the field at index `parent` (SIZE_MAX: top level). */
static size_t child_field(const gw_rest_element *el, size_t parent, const char *name)
{
    if (!el)
        return SIZE_MAX;
    int depth = parent == SIZE_MAX ? 1 : el->fields[parent].depth + 1;
    for (size_t i = parent == SIZE_MAX ? 0 : parent + 1; i < el->count; i++) {
        if (el->fields[i].depth < depth)
            break;
        if (el->fields[i].depth == depth && strcmp(el->fields[i].name, name) == 0)
            return i;
    }
    return SIZE_MAX;
}

static json_t *leaf_json(const char *text, const gw_rest_field *f)
{
    const char *type = f ? gw_rest_json_type(f->base) : "string";
    if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0) {
        char *end = NULL;
        double d = strtod(text, &end);
        if (end && end != text && !*end) {
            if (strcmp(type, "integer") == 0) {
                long long v = strtoll(text, &end, 10);
                if (!*end)
                    return json_integer(v);
            } else {
                return json_real(d);
            }
        }
    } else if (strcmp(type, "boolean") == 0) {
        if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
            return json_true();
        if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
            return json_false();
    }
    return json_string(text); /* whatever the schema says, the text as it came */
}

static json_t *node_json(xmlNodePtr e, const gw_rest_element *el, size_t fi)
{
    int has_elements = 0;
    for (xmlNodePtr c = e->children; c && !has_elements; c = c->next)
        has_elements = c->type == XML_ELEMENT_NODE;
    const gw_rest_field *f = fi == SIZE_MAX ? NULL : &el->fields[fi];
    if (!has_elements && !(f && f->wrapper)) {
        xmlChar *t = xmlNodeGetContent(e);
        json_t *v = leaf_json(t ? (const char *)t : "", f);
        xmlFree(t);
        return v;
    }
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    for (xmlNodePtr c = e->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)c->name;
        size_t ci = child_field(el, fi, name);
        json_t *v = node_json(c, el, ci);
        if (!v)
            goto nomem;
        json_t *prev = json_object_get(obj, name);
        int repeated = ci != SIZE_MAX && el->fields[ci].max_occurs != 1;
        if (prev && json_is_array(prev) &&
            (repeated || json_array_size(prev) > 1 || ci == SIZE_MAX)) {
            json_array_append_new(prev, v);
        } else if (prev) {
            json_t *arr = json_array();
            json_array_append(arr, prev);
            json_array_append_new(arr, v);
            json_object_set_new(obj, name, arr);
        } else if (repeated) {
            json_t *arr = json_array();
            json_array_append_new(arr, v);
            json_object_set_new(obj, name, arr);
        } else {
            json_object_set_new(obj, name, v);
        }
    }
    return obj;
nomem:
    json_decref(obj);
    return NULL;
}

json_t *gw_rest_json_of(xmlNodePtr e, const gw_rest_element *el)
{
    json_t *v = node_json(e, el, SIZE_MAX);
    /* The element itself is never a leaf: an empty response element is {}. */
    if (v && !json_is_object(v)) {
        json_decref(v);
        v = json_object();
    }
    return v;
}

/* ---- statuses ---- */

int gw_rest_http_status(gw_status st)
{
    switch (st) {
    case GW_OK:
        return 200;
    case GW_ERR_AUTHENTICATION:
        return 401;
    case GW_ERR_ACCESS_DENIED:
    case GW_ERR_IDENTITY_MISMATCH:
        return 403;
    case GW_ERR_UNKNOWN_SERVICE:
    case GW_ERR_UNKNOWN_OPERATION:
        return 404;
    case GW_ERR_METHOD_NOT_ALLOWED:
    case GW_ERR_BAD_HTTP:
        return 405;
    case GW_ERR_REPLAY:
        return 409;
    case GW_ERR_REQUEST_TOO_LARGE:
        return 413;
    case GW_ERR_HEADER_TOO_LARGE:
        return 431;
    case GW_ERR_RATE_LIMITED:
        return 429;
    case GW_ERR_PROVIDER_TIMEOUT:
        return 504;
    case GW_ERR_PROVIDER_UNAVAILABLE:
    case GW_ERR_LOG_UNAVAILABLE:
        return 503;
    case GW_ERR_PROVIDER_BAD_RESPONSE:
        return 502;
    case GW_ERR_MALFORMED_XML:
    case GW_ERR_XML_LIMIT:
    case GW_ERR_NOT_SOAP:
    case GW_ERR_MALFORMED_ENVELOPE:
    case GW_ERR_SCHEMA_INVALID:
    case GW_ERR_BAD_HEADER:
    case GW_ERR_BAD_SIGNATURE:
    case GW_ERR_TIMESTAMP:
    case GW_ERR_BAD_REQUEST:
    case GW_ERR_BAD_FRAMING:
    case GW_ERR_EMPTY_BODY:
    case GW_ERR_INCOMPLETE_BODY:
    case GW_ERR_VERSION_MISMATCH:
    case GW_ERR_ACTION_MISMATCH:
    case GW_ERR_BAD_ADDRESSING:
        return 400;
    default:
        return 500;
    }
}

int gw_rest_path(const char *path)
{
    return path && strncmp(path, GW_REST_PREFIX, strlen(GW_REST_PREFIX)) == 0;
}

/* ---- the exchange ---- */

static int name_ok(const char *s, size_t n)
{
    if (!n || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
            return 0;
    return 1;
}

/* A PIDE-* header's value (arena copy) or NULL; -1 when duplicated or not plain text. */
static int header_value(gw_exchange *ex, const gw_http_field *f, const char *what, const char **out)
{
    *out = NULL;
    if (!f->count)
        return 0;
    if (f->count > 1) {
        gw_exchange_fail(ex, GW_ERR_BAD_REQUEST, "%s given more than once", what);
        return -1;
    }
    const char *v = f->value;
    size_t n = f->len;
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (!utf8_text_ok((const unsigned char *)v, n)) {
        gw_exchange_fail(ex, GW_ERR_BAD_REQUEST, "%s is not UTF-8 text", what);
        return -1;
    }
    *out = gw_arena_strndup(&ex->arena, v, n);
    return 0;
}

static gw_status refuse(gw_exchange *ex, gw_status st, int http, const char *why)
{
    ex->rest_http_status = http;
    ex->close_connection = 1;
    return gw_exchange_fail(ex, st, "%s", why);
}

gw_status gw_rest_request(gw_exchange *ex)
{
    const gw_http_request *in = ex->http_request;
    gw_status st = GW_OK;
    xmlDocPtr doc = NULL;
    xmlChar *text = NULL;
    char err[384];
    if (in->refusal != GW_OK) {
        ex->close_connection = 1;
        return gw_exchange_fail(ex, in->refusal, "%s",
                                in->refusal_why ? in->refusal_why : gw_status_message(in->refusal));
    }
    if (in->listener != GW_LISTENER_MEMBER)
        return refuse(ex, GW_ERR_AUTHENTICATION, 403,
                      "REST needs mutual TLS: call the member listener with the member's "
                      "client certificate");
    if (in->query_len > GW_REST_MAX_QUERY)
        return refuse(ex, GW_ERR_REQUEST_TOO_LARGE, 414, "the query is over 4096 bytes");
    /* /rest/<service>/<operation> */
    const char *p = in->path + strlen(GW_REST_PREFIX);
    const char *slash = strchr(p, '/');
    if (!slash || !name_ok(p, (size_t)(slash - p)))
        return gw_exchange_fail(ex, GW_ERR_UNKNOWN_SERVICE,
                                "REST paths are /rest/<service>/<operation>");
    const char *svc_name = gw_arena_strndup(&ex->arena, p, (size_t)(slash - p));
    ex->service = gw_service_catalog_find(&ex->rt->catalog, svc_name);
    if (!ex->service)
        return gw_exchange_fail(ex, GW_ERR_UNKNOWN_SERVICE, "'%s'", svc_name);
    const char *op_name = slash + 1;
    if (!name_ok(op_name, strlen(op_name)) ||
        !gw_binding_has_operation(ex->service->binding, op_name))
        return gw_exchange_fail(ex, GW_ERR_UNKNOWN_OPERATION, "%s has no operation '%.64s'",
                                svc_name, name_ok(op_name, strlen(op_name)) ? op_name : "?");
    ex->operation = gw_arena_strdup(&ex->arena, op_name);
    const char *message_id, *purpose, *user_id;
    if (header_value(ex, &in->pide_message_id, "PIDE-Message-Id", &message_id) ||
        header_value(ex, &in->pide_purpose, "PIDE-Purpose", &purpose) ||
        header_value(ex, &in->pide_user_id, "PIDE-User-Id", &user_id)) {
        ex->rest_http_status = 400;
        return ex->status;
    }
    const gw_rest_element *el = NULL;
    st = gw_rest_element_cached(ex->service->schema_text, ex->service->schema_len, op_name,
                                &ex->arena, &el, err, sizeof err);
    if (st == GW_ERR_UNKNOWN_OPERATION)
        return gw_exchange_fail(ex, st, "%s", err);
    if (st != GW_OK)
        return gw_exchange_fail(ex, GW_ERR_UNKNOWN_OPERATION, "%s is not offered over REST: %s",
                                op_name, err);

    /* Identity fields the query leaves out: the authenticated member's own. */
    const gw_service_config *sc = ex->service->config;
    gw_rest_default defaults[16];
    size_t nd = 0;
    const gw_member *m =
        ex->tls_member ? gw_config_find_member(ex->rt->config, ex->tls_member) : NULL;
    for (size_t i = 0; i < sc->identity_field_count && nd < 16; i++) {
        const gw_identity_field *f = &sc->identity_fields[i];
        const char *v = f->source == GW_IDENTITY_MEMBER ? (m ? m->id : NULL)
                        : f->source == GW_IDENTITY_OFFICIAL
                            ? user_id
                            : (m ? gw_member_institution_code(m) : NULL);
        defaults[nd++] = (gw_rest_default){f->element, v};
    }

    doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr env = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "Envelope", NULL) : NULL;
    if (!env) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    xmlDocSetRootElement(doc, env);
    xmlNsPtr soap = xmlNewNs(env, BAD_CAST GW_SOAP11_NS, BAD_CAST "soapenv");
    xmlSetNs(env, soap);
    xmlNodePtr hdr = xmlNewChild(env, soap, BAD_CAST "Header", NULL);
    if (message_id || purpose || user_id) {
        xmlNsPtr pgw = xmlNewNs(env, BAD_CAST GW_HEADER_NS, BAD_CAST "pgw");
        if (message_id)
            xmlNewTextChild(hdr, pgw, BAD_CAST "id", BAD_CAST message_id);
        if (user_id)
            xmlNewTextChild(hdr, pgw, BAD_CAST "userId", BAD_CAST user_id);
        if (purpose)
            xmlNewTextChild(hdr, pgw, BAD_CAST "purpose", BAD_CAST purpose);
    }
    xmlNodePtr body = xmlNewChild(env, soap, BAD_CAST "Body", NULL);
    xmlNsPtr tns =
        xmlNewNs(env, BAD_CAST(el->target_namespace ? el->target_namespace : ""), BAD_CAST "tns");
    xmlNodePtr op = xmlNewChild(body, tns, BAD_CAST op_name, NULL);
    if (!op) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    st = gw_rest_query_to_element(el, in->query ? in->query : "", in->query ? in->query_len : 0,
                                  defaults, nd, op, tns, err, sizeof err);
    if (st != GW_OK) {
        ex->rest_http_status = 400;
        gw_exchange_fail(ex, st, "%s", err);
        goto fail;
    }
    int len = 0;
    xmlDocDumpMemoryEnc(doc, &text, &len, "UTF-8");
    if (!text || len <= 0) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    if ((size_t)len > ex->rt->config->max_body_bytes) {
        st = refuse(ex, GW_ERR_REQUEST_TOO_LARGE, 413,
                    "the request built from the query is "
                    "over maxBodyBytes");
        goto fail;
    }
    ex->request = gw_arena_strndup(&ex->arena, (const char *)text, (size_t)len);
    if (!ex->request) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    ex->request_len = (size_t)len;
    ex->http_path = gw_arena_printf(&ex->arena, "/services/%s", svc_name);
    /* The stages route again from the built request (stage04_route). */
    ex->service = NULL;
    ex->operation = NULL;
    gw_log(PIDE_LOG_INFO, "[%s] face=rest GET /rest/%s/%s member=%s", ex->exchange_id, svc_name,
           op_name, ex->tls_member ? ex->tls_member : "-");
    st = GW_OK;
fail:
    xmlFree(text);
    if (doc)
        xmlFreeDoc(doc);
    return st;
}

/* The JSON text of v (arena), NULL on out of memory. */
static char *dump(gw_exchange *ex, json_t *v, size_t *len)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    if (!s)
        return NULL;
    *len = strlen(s);
    char *copy = gw_arena_strndup(&ex->arena, s, *len);
    free(s);
    return copy;
}

void gw_rest_unsigned_error(gw_exchange *ex)
{
    json_t *doc = json_pack("{s:s, s:s, s:s}", "code", gw_status_fault_code(ex->status), "message",
                            gw_status_message(ex->status), "exchangeId", ex->exchange_id);
    ex->http_status = gw_rest_http_status(ex->status);
    ex->rest_signature = NULL;
    ex->response = doc ? dump(ex, doc, &ex->response_len) : NULL;
    if (!ex->response)
        ex->response_len = 0;
    json_decref(doc);
}

gw_status gw_rest_answer(gw_exchange *ex)
{
    gw_status st = GW_OK;
    json_t *doc = NULL;
    char err[256], *jws = NULL;
    ex->t_response_out = gw_now_us();
    if (ex->status == GW_OK) {
        xmlNodePtr resp = ex->response_body ? gw_xml_first_element(ex->response_body) : NULL;
        const gw_rest_element *elp = NULL;
        if (resp && ex->service &&
            gw_rest_element_cached(ex->service->schema_text, ex->service->schema_len,
                                   (const char *)resp->name, &ex->arena, &elp, err,
                                   sizeof err) != GW_OK)
            elp = NULL;
        json_t *payload = resp ? gw_rest_json_of(resp, elp) : json_object();
        doc = json_object();
        if (!doc || !payload) {
            json_decref(payload);
            st = GW_ERR_NOMEM;
            goto fail;
        }
        json_object_set_new(doc, "exchangeId", json_string(ex->exchange_id));
        if (ex->message_id)
            json_object_set_new(doc, "messageId", json_string(ex->message_id));
        char hash[64];
        gw_base64url_encode(ex->request_sha256, 32, hash);
        json_object_set_new(doc, "requestHash", json_string(hash));
        json_object_set_new(doc, resp ? (const char *)resp->name : "response", payload);
        ex->http_status = 200;
    } else {
        char msg[1024];
        if (ex->fault_detail)
            snprintf(msg, sizeof msg, "%s: %s", gw_status_message(ex->status), ex->fault_detail);
        else
            snprintf(msg, sizeof msg, "%s", gw_status_message(ex->status));
        doc = json_pack("{s:s, s:s, s:s}", "code", gw_status_fault_code(ex->status), "message", msg,
                        "exchangeId", ex->exchange_id);
        if (doc && ex->result_code)
            json_object_set_new(doc, "resultCode", json_string(ex->result_code));
        ex->http_status =
            ex->rest_http_status > 0 ? ex->rest_http_status : gw_rest_http_status(ex->status);
    }
    if (!doc) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    ex->response = dump(ex, doc, &ex->response_len);
    if (!ex->response) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    SHA256((const unsigned char *)ex->response, ex->response_len, ex->response_sha256);
    /* The gateway's signing key, this thread's duplicate (xml_sign.h). */
    xmlSecKeyPtr key = ex->env && ex->env->sign ? gw_sign_ctx_key(ex->env->sign) : NULL;
    EVP_PKEY *pkey = key ? xmlSecOpenSSLEvpKeyDataGetEvp(xmlSecKeyGetValue(key)) : NULL;
    X509 *cert = ex->env && ex->env->sign ? gw_sign_ctx_certificate(ex->env->sign) : NULL;
    st = gw_rest_jws_sign(pkey, cert, ex->response, ex->response_len, ex->exchange_id,
                          ex->http_status, &jws, err, sizeof err);
    if (st != GW_OK) {
        gw_log(PIDE_LOG_ERROR, "[%s] REST signing failed: %s", ex->exchange_id, err);
        /* No unsigned answer: Server.Signature, unsigned because signing is what failed. */
        json_decref(doc);
        doc =
            json_pack("{s:s, s:s, s:s}", "code", gw_status_fault_code(GW_ERR_SIGNATURE), "message",
                      gw_status_message(GW_ERR_SIGNATURE), "exchangeId", ex->exchange_id);
        ex->status = GW_ERR_SIGNATURE;
        ex->http_status = 500;
        ex->response = doc ? dump(ex, doc, &ex->response_len) : NULL;
        if (!ex->response)
            ex->response_len = 0;
        SHA256((const unsigned char *)(ex->response ? ex->response : ""), ex->response_len,
               ex->response_sha256);
        st = GW_ERR_SIGNATURE;
        goto fail;
    }
    ex->rest_signature = gw_arena_strdup(&ex->arena, jws);
    ex->signature_value = ex->rest_signature;
fail:
    free(jws);
    json_decref(doc);
    return st;
}
