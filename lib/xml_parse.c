/* xml_parse.c — hardened libxml2 parsing (see xml_parse.h) and small tree helpers. */
#include "xml_parse.h"

#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlIO.h>

/* SAX hooks that stop the parser the moment a DTD appears: refusing DTDs outright is simpler
 * and safer than trying to make entity expansion harmless. */
static void refuse_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                                   const xmlChar *sys_id)
{
    (void)name; (void)ext_id; (void)sys_id;
    xmlParserCtxtPtr ctxt = ctx;
    ctxt->_private = (void *)"DTD";
    xmlStopParser(ctxt);
}

static gw_status check_limits(xmlNodePtr root, const gw_xml_limits *limits, char *err,
                              size_t errlen)
{
    size_t nodes = 0;
    int depth = 1;
    xmlNodePtr n = root;
    while (n) {
        if (n->type == XML_ELEMENT_NODE) {
            nodes++;
            for (xmlAttrPtr a = n->properties; a; a = a->next)
                nodes++;
            if (depth > limits->max_depth) {
                gw_set_error(err, errlen, "line %d: element nesting deeper than %d levels",
                             xmlGetLineNo(n) > 0 ? (int)xmlGetLineNo(n) : 0, limits->max_depth);
                return GW_ERR_XML_LIMIT;
            }
            if (nodes > limits->max_nodes) {
                gw_set_error(err, errlen, "line %d: more than %zu elements and attributes",
                             xmlGetLineNo(n) > 0 ? (int)xmlGetLineNo(n) : 0, limits->max_nodes);
                return GW_ERR_XML_LIMIT;
            }
            if (n->children) {
                n = n->children;
                depth++;
                continue;
            }
        }
        while (n && !n->next && n != root) {
            n = n->parent;
            depth--;
        }
        if (!n || n == root)
            break;
        n = n->next;
    }
    return GW_OK;
}

gw_status gw_xml_parse(const char *buf, size_t len, const gw_xml_limits *limits, xmlDocPtr *out,
                       char *err, size_t errlen)
{
    gw_status st = GW_ERR_MALFORMED_XML;
    xmlDocPtr doc = NULL;
    *out = NULL;
    if (len > (size_t)0x7fffffff) {
        gw_set_error(err, errlen, "document too large");
        return GW_ERR_XML_LIMIT;
    }
    xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(buf, (int)len);
    if (!ctxt) {
        gw_set_error(err, errlen, "empty or unreadable document");
        return GW_ERR_MALFORMED_XML;
    }
    ctxt->sax->internalSubset = refuse_internal_subset;
    ctxt->sax->externalSubset = refuse_internal_subset;
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                XML_PARSE_NOCDATA);
    xmlParseDocument(ctxt);
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    if (ctxt->_private) {
        gw_set_error(err, errlen, "line %d: DTDs are not accepted",
                     ctxt->input ? ctxt->input->line : 0);
        goto fail;
    }
    if (!ctxt->wellFormed || !doc) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        if (e && e->message) {
            size_t n = strlen(e->message);
            while (n && (e->message[n - 1] == '\n' || e->message[n - 1] == ' '))
                n--;
            gw_set_error(err, errlen, "line %d: %.*s", e->line, (int)n, e->message);
        } else {
            gw_set_error(err, errlen, "not well-formed XML");
        }
        goto fail;
    }
    st = check_limits(xmlDocGetRootElement(doc), limits, err, errlen);
    if (st != GW_OK)
        goto fail;
    xmlFreeParserCtxt(ctxt);
    *out = doc;
    return GW_OK;
fail:
    if (doc)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return st;
}

void gw_xml_keep_first_error(void *ctx, xmlErrorPtr e)
{
    gw_xml_first_error *fe = ctx;
    if (fe->seen++ || !e || !e->message)
        return;
    size_t n = strlen(e->message);
    while (n && (e->message[n - 1] == '\n' || e->message[n - 1] == ' '))
        n--;
    const char *file = e->file ? e->file : fe->default_file;
    if (file)
        snprintf(fe->text, sizeof fe->text, "%s:%d: %.*s", file, e->line, (int)n, e->message);
    else
        snprintf(fe->text, sizeof fe->text, "line %d: %.*s", e->line, (int)n, e->message);
}

static int is_blank_text(const xmlChar *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return 0;
    return 1;
}

gw_status gw_xml_soap_envelope_parts(xmlNodePtr env, const char *ns_uri, xmlNodePtr *header,
                                     xmlNodePtr *body, char *err, size_t errlen)
{
    *header = NULL;
    *body = NULL;
    for (xmlNodePtr c = env ? env->children : NULL; c; c = c->next) {
        int line = xmlGetLineNo(c) > 0 ? (int)xmlGetLineNo(c) : 0;
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (!is_blank_text(c->content)) {
                gw_set_error(err, errlen, "line %d: text directly inside the Envelope", line);
                return GW_ERR_MALFORMED_ENVELOPE;
            }
            continue;
        }
        if (c->type != XML_ELEMENT_NODE)
            continue; /* comments, processing instructions */
        if (*body) {
            gw_set_error(err, errlen, "line %d: <%s> after the Body: nothing may follow the Body",
                         line, (const char *)c->name);
            return GW_ERR_MALFORMED_ENVELOPE;
        }
        if (gw_xml_is(c, ns_uri, "Header")) {
            if (*header) {
                gw_set_error(err, errlen, "line %d: a second Header: the Envelope may hold one",
                             line);
                return GW_ERR_MALFORMED_ENVELOPE;
            }
            *header = c;
        } else if (gw_xml_is(c, ns_uri, "Body")) {
            *body = c;
        } else {
            gw_set_error(err, errlen,
                         "line %d: <%s> in the Envelope: only a Header and then a Body are allowed",
                         line, (const char *)c->name);
            return GW_ERR_MALFORMED_ENVELOPE;
        }
    }
    if (!*body) {
        gw_set_error(err, errlen, "the Envelope has no Body");
        return GW_ERR_NOT_SOAP;
    }
    return GW_OK;
}

xmlNodePtr gw_xml_first_element(xmlNodePtr node)
{
    for (xmlNodePtr c = node ? node->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

xmlNodePtr gw_xml_child(xmlNodePtr node, const char *local_name)
{
    for (xmlNodePtr c = node ? node->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, local_name) == 0)
            return c;
    return NULL;
}

xmlNodePtr gw_xml_descendant(xmlNodePtr node, const char *local_name)
{
    for (xmlNodePtr c = node ? node->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp((const char *)c->name, local_name) == 0)
            return c;
        xmlNodePtr d = gw_xml_descendant(c, local_name);
        if (d)
            return d;
    }
    return NULL;
}

int gw_xml_is(xmlNodePtr node, const char *ns_uri, const char *local_name)
{
    return node && node->type == XML_ELEMENT_NODE &&
           strcmp((const char *)node->name, local_name) == 0 && node->ns && node->ns->href &&
           strcmp((const char *)node->ns->href, ns_uri) == 0;
}

void gw_xml_forbid_network(void)
{
    xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
}
