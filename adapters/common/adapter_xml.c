/*
 * adapter_xml.c — libxml2 helpers shared by the in-tree adapter plugins (adapter_xml.h).
 */
#include "adapter_xml.h"

#include <limits.h>
#include <string.h>

#include <libxml/parser.h>

bool adapter_element_is(xmlNodePtr n, const char *ns, const char *name)
{
    if (!n || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
        return false;
    if (!ns)
        return n->ns == NULL;
    return n->ns && strcmp((const char *)n->ns->href, ns) == 0;
}

xmlNodePtr adapter_first_element(xmlNodePtr n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

xmlNodePtr adapter_child(xmlNodePtr parent, const char *ns, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (adapter_element_is(n, ns, name))
            return n;
    return NULL;
}

/* xmlChar from libxml2 into exchange memory; frees the original either way. */
static const char *to_exchange(const pide_host_api *host, pide_exchange *ex, xmlChar *value)
{
    if (!value)
        return NULL;
    char *copy = host->strdup(ex, (const char *)value);
    xmlFree(value);
    return copy;
}

const char *adapter_text_of(const pide_host_api *host, pide_exchange *ex, xmlNodePtr n)
{
    return n ? to_exchange(host, ex, xmlNodeGetContent(n)) : NULL;
}

const char *adapter_child_text(const pide_host_api *host, pide_exchange *ex, xmlNodePtr parent,
                               const char *ns, const char *name)
{
    return adapter_text_of(host, ex, adapter_child(parent, ns, name));
}

const char *adapter_attr_of(const pide_host_api *host, pide_exchange *ex, xmlNodePtr n,
                            const char *name)
{
    return n ? to_exchange(host, ex, xmlGetNoNsProp(n, (const xmlChar *)name)) : NULL;
}

xmlNodePtr adapter_add_element(xmlNodePtr parent, const char *name, const char *text)
{
    xmlNodePtr n = xmlNewDocNode(parent->doc, NULL, (const xmlChar *)name, NULL);
    if (!n)
        return NULL;
    if (text) {
        xmlNodePtr t = xmlNewDocText(parent->doc, (const xmlChar *)text);
        if (!t || !xmlAddChild(n, t)) {
            xmlFreeNode(t);
            xmlFreeNode(n);
            return NULL;
        }
    }
    if (!xmlAddChild(parent, n)) {
        xmlFreeNode(n);
        return NULL;
    }
    return n;
}

xmlNodePtr adapter_new_response(xmlDocPtr doc, const char *contract_ns, const char *name)
{
    xmlNodePtr response = xmlNewDocNode(doc, NULL, (const xmlChar *)name, NULL);
    if (!response)
        return NULL;
    xmlNsPtr ns = xmlNewNs(response, (const xmlChar *)contract_ns, (const xmlChar *)"ns2");
    if (!ns) {
        xmlFreeNode(response);
        return NULL;
    }
    xmlSetNs(response, ns);
    return response;
}

xmlDocPtr adapter_parse_answer(const char *body, size_t len)
{
    if (!body || len == 0 || len > INT_MAX)
        return NULL;
    xmlDocPtr doc = xmlReadMemory(body, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc && doc->intSubset) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}
