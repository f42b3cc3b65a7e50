/* adapter_samples.c — loads a pide-adapter-check samples file (see adapter_samples.h). */
#include "adapter_samples.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "xml_parse.h"

#define SAMPLES_NS "urn:pide-gateway:adapter-samples:1"
#define SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"

/* schemas/adapter-samples.xsd, embedded at build time (tools/CMakeLists.txt) so the installed
 * runner needs no data files. */
extern const unsigned char pide_adapter_samples_xsd[];
extern const size_t pide_adapter_samples_xsd_len;

static void set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static xmlDocPtr read_xml(const char *path, gw_xml_first_error *fe)
{
    xmlParserCtxtPtr pc = xmlNewParserCtxt();
    if (!pc)
        return NULL;
    xmlSetStructuredErrorFunc(fe, gw_xml_keep_first_error);
    xmlDocPtr doc = xmlCtxtReadFile(pc, path, NULL, XML_PARSE_NONET | XML_PARSE_NOWARNING);
    xmlSetStructuredErrorFunc(NULL, NULL);
    xmlFreeParserCtxt(pc);
    if (doc && doc->intSubset) {
        snprintf(fe->text, sizeof fe->text, "%s: a DTD is not accepted", path);
        fe->seen = 1;
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

static gw_status validate_samples(xmlDocPtr doc, char *err, size_t errlen)
{
    gw_status st = GW_ERR_CONFIG;
    gw_xml_first_error fe = {.default_file = "(samples)"};
    xmlSchemaValidCtxtPtr vc = NULL;
    xmlSchemaPtr schema = NULL;
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewMemParserCtxt(
        (const char *)pide_adapter_samples_xsd, (int)pide_adapter_samples_xsd_len);
    if (!pc || !(schema = xmlSchemaParse(pc)) || !(vc = xmlSchemaNewValidCtxt(schema))) {
        set_error(err, errlen, "the embedded adapter-samples.xsd does not load");
        st = GW_ERR_INTERNAL;
        goto done;
    }
    xmlSchemaSetValidStructuredErrors(vc, gw_xml_keep_first_error, &fe);
    if (xmlSchemaValidateDoc(vc, doc) != 0) {
        set_error(err, errlen, "%s (schema adapter-samples.xsd)",
                  fe.seen ? fe.text : "not a valid samples file");
        goto done;
    }
    st = GW_OK;
done:
    if (vc)
        xmlSchemaFreeValidCtxt(vc);
    if (schema)
        xmlSchemaFree(schema);
    if (pc)
        xmlSchemaFreeParserCtxt(pc);
    return st;
}

static int is_samples_element(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           strcmp((const char *)n->ns->href, SAMPLES_NS) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr first_element(xmlNodePtr n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

/* An attribute's value copied into the samples' memory; NULL when absent. */
static const char *attr(adapter_samples *s, xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    if (!v)
        return NULL;
    char *copy = gw_arena_strdup(&s->memory, (const char *)v);
    xmlFree(v);
    return copy;
}

static unsigned attr_unsigned(adapter_samples *s, xmlNodePtr n, const char *name)
{
    const char *v = attr(s, n, name);
    return v ? (unsigned)strtoul(v, NULL, 10) : 0; /* the schema has checked the range */
}

/* `p` as written in the samples file: relative to its folder. */
static const char *resolve_path(adapter_samples *s, const char *p)
{
    if (!p || p[0] == '/')
        return p;
    const char *slash = strrchr(s->path, '/');
    if (!slash)
        return p;
    return gw_arena_printf(&s->memory, "%.*s/%s", (int)(slash - s->path), s->path, p);
}

/* params := base, then each <param> child of `parent` replacing the one of the same name. */
static gw_status merge_params(adapter_samples *s, xmlNodePtr parent, const gw_param *base,
                              size_t base_count, gw_param **out, size_t *out_count)
{
    size_t extra = 0;
    for (xmlNodePtr c = parent->children; c; c = c->next)
        extra += is_samples_element(c, "param");
    size_t cap = base_count + extra;
    gw_param *params = cap ? gw_arena_calloc(&s->memory, cap, sizeof *params) : NULL;
    if (cap && !params)
        return GW_ERR_NOMEM;
    size_t n = base_count;
    if (base_count)
        memcpy(params, base, base_count * sizeof *params);
    for (xmlNodePtr c = parent->children; c; c = c->next) {
        if (!is_samples_element(c, "param"))
            continue;
        const char *name = attr(s, c, "name"), *value = attr(s, c, "value");
        if (!name || !value)
            return GW_ERR_NOMEM;
        size_t i = 0;
        while (i < n && strcmp(params[i].name, name) != 0)
            i++;
        params[i].name = (char *)name;
        params[i].value = (char *)value;
        if (i == n)
            n++;
    }
    *out = params;
    *out_count = n;
    return GW_OK;
}

/* An element in the samples namespace inside a request: almost certainly an unqualified
 * element that inherited the file's default namespace. */
static xmlNodePtr stray_samples_element(xmlNodePtr n)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->ns && strcmp((const char *)n->ns->href, SAMPLES_NS) == 0)
            return n;
        xmlNodePtr inner = stray_samples_element(n->children);
        if (inner)
            return inner;
    }
    return NULL;
}

static gw_status load_request(adapter_samples *s, adapter_sample *sample, xmlNodePtr request,
                              char *err, size_t errlen)
{
    const char *file = attr(s, request, "file");
    xmlNodePtr inline_op = first_element(request->children);
    int line = (int)xmlGetLineNo(request);
    if (file && inline_op) {
        set_error(err, errlen, "%s:%d: sample '%s': request has both a file and an element",
                  s->path, line, sample->name);
        return GW_ERR_CONFIG;
    }
    if (!file) {
        if (!inline_op) {
            set_error(err, errlen, "%s:%d: sample '%s': request holds no operation element "
                      "and names no file", s->path, line, sample->name);
            return GW_ERR_CONFIG;
        }
        xmlNodePtr stray = inline_op->ns && strcmp((const char *)inline_op->ns->href,
                                                   SAMPLES_NS) == 0
                               ? inline_op
                               : stray_samples_element(inline_op->children);
        if (stray) {
            set_error(err, errlen, "%s:%ld: sample '%s': element <%s> of the request is in the "
                      "samples namespace; write xmlns=\"\" on the operation element so its "
                      "unqualified children stay unqualified", s->path, xmlGetLineNo(stray),
                      sample->name, (const char *)stray->name);
            return GW_ERR_CONFIG;
        }
        sample->operation = inline_op;
        return GW_OK;
    }

    const char *path = resolve_path(s, file);
    gw_xml_first_error fe = {.default_file = "(samples)"};
    xmlDocPtr doc = path ? read_xml(path, &fe) : NULL;
    if (!doc) {
        set_error(err, errlen, "%s:%d: sample '%s': request file %s: %s", s->path, line,
                  sample->name, path ? path : file, fe.seen ? fe.text : "cannot be read");
        return GW_ERR_CONFIG;
    }
    s->request_docs[s->request_doc_count++] = doc;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr op = root;
    if (root && root->ns && strcmp((const char *)root->ns->href, SOAP11_NS) == 0 &&
        strcmp((const char *)root->name, "Envelope") == 0) {
        op = NULL;
        for (xmlNodePtr c = root->children; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "Body") == 0)
                op = first_element(c->children);
    }
    if (!op) {
        set_error(err, errlen, "%s:%d: sample '%s': %s has no operation element in its "
                  "soap:Body", s->path, line, sample->name, path);
        return GW_ERR_CONFIG;
    }
    sample->operation = op;
    return GW_OK;
}

static gw_status load_sample(adapter_samples *s, xmlNodePtr node, adapter_sample *sample,
                             char *err, size_t errlen)
{
    gw_status st;
    sample->name = attr(s, node, "name");
    sample->line = (int)xmlGetLineNo(node);
    sample->endpoint = attr(s, node, "endpoint");
    sample->timeout_ms = attr_unsigned(s, node, "timeoutMs");
    sample->expect_result = attr(s, node, "expectResult");
    sample->expect_subject = attr(s, node, "expectSubject");
    sample->expect_subject_type = attr(s, node, "expectSubjectType");
    sample->expect_error = attr(s, node, "expectError");
    sample->expect_fault = attr(s, node, "expectFault");
    if (!sample->name)
        return GW_ERR_NOMEM;
    st = merge_params(s, node, s->params, s->param_count, &sample->params,
                      &sample->param_count);
    if (st != GW_OK)
        return st;
    int own_params = sample->param_count != s->param_count;
    for (size_t i = 0; !own_params && i < s->param_count; i++)
        own_params = sample->params[i].value != s->params[i].value;
    sample->own_configuration = sample->endpoint || sample->timeout_ms || own_params;

    size_t values = 0;
    for (xmlNodePtr c = node->children; c; c = c->next)
        values += is_samples_element(c, "expectValue");
    if (values && !(sample->values = gw_arena_calloc(&s->memory, values,
                                                     sizeof *sample->values)))
        return GW_ERR_NOMEM;
    for (xmlNodePtr c = node->children; c; c = c->next) {
        if (is_samples_element(c, "request")) {
            st = load_request(s, sample, c, err, errlen);
            if (st != GW_OK)
                return st;
        } else if (is_samples_element(c, "expectValue")) {
            sample_expect_value *v = &sample->values[sample->value_count++];
            v->path = attr(s, c, "path");
            v->equals = attr(s, c, "equals");
        }
    }
    return GW_OK;
}

gw_status adapter_samples_load(const char *path, adapter_samples *out, char *err,
                               size_t errlen)
{
    gw_status st = GW_ERR_NOMEM;
    memset(out, 0, sizeof *out);
    gw_arena_init(&out->memory, 0);
    out->path = gw_arena_strdup(&out->memory, path);
    if (!out->path)
        goto nomem;

    gw_xml_first_error fe = {.default_file = "(samples)"};
    out->doc = read_xml(path, &fe);
    if (!out->doc) {
        set_error(err, errlen, "%s", fe.seen ? fe.text : "cannot read the samples file");
        if (!fe.seen)
            set_error(err, errlen, "%s: cannot be read", path);
        st = GW_ERR_CONFIG;
        goto fail;
    }
    st = validate_samples(out->doc, err, errlen);
    if (st != GW_OK)
        goto fail;

    xmlNodePtr root = xmlDocGetRootElement(out->doc);
    out->service = attr(out, root, "service");
    out->endpoint = attr(out, root, "endpoint");
    out->timeout_ms = attr_unsigned(out, root, "timeoutMs");
    out->schema_path = resolve_path(out, attr(out, root, "schema"));
    if (merge_params(out, root, NULL, 0, &out->params, &out->param_count) != GW_OK)
        goto nomem;

    for (xmlNodePtr c = root->children; c; c = c->next)
        out->sample_count += is_samples_element(c, "sample");
    out->samples = gw_arena_calloc(&out->memory, out->sample_count, sizeof *out->samples);
    out->request_docs = calloc(out->sample_count, sizeof *out->request_docs);
    if (!out->samples || !out->request_docs)
        goto nomem;
    size_t i = 0;
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (!is_samples_element(c, "sample"))
            continue;
        st = load_sample(out, c, &out->samples[i++], err, errlen);
        if (st == GW_ERR_NOMEM)
            goto nomem;
        if (st != GW_OK)
            goto fail;
    }
    return GW_OK;

nomem:
    set_error(err, errlen, "%s: out of memory", path);
    st = GW_ERR_NOMEM;
fail:
    adapter_samples_free(out);
    return st;
}

void adapter_samples_free(adapter_samples *s)
{
    for (size_t i = 0; i < s->request_doc_count; i++)
        xmlFreeDoc(s->request_docs[i]);
    free(s->request_docs);
    if (s->doc)
        xmlFreeDoc(s->doc);
    gw_arena_destroy(&s->memory);
    memset(s, 0, sizeof *s);
}

char *adapter_samples_value_at(xmlNodePtr node, const char *path)
{
    const char *p = path;
    while (node && *p) {
        size_t len = strcspn(p, "/");
        xmlNodePtr found = NULL;
        for (xmlNodePtr c = node->children; c && !found; c = c->next)
            if (c->type == XML_ELEMENT_NODE && strlen((const char *)c->name) == len &&
                strncmp((const char *)c->name, p, len) == 0)
                found = c;
        node = found;
        p += len;
        if (*p == '/')
            p++;
    }
    return node ? (char *)xmlNodeGetContent(node) : NULL;
}
