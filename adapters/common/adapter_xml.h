/*
 * adapter_xml.h — libxml2 helpers every in-tree adapter plugin uses on both sides of its
 * translation: finding elements by namespace and name, copying their text into exchange memory,
 * building the contract's unqualified answer elements, and parsing a provider's answer without
 * letting it reach the network or expand entities.
 *
 * Built as a static, position-independent library with hidden visibility: each adapter module
 * links its own copy and still exports nothing but pide_adapter_entry. Adapters built out of
 * tree (adapters/template) cannot use it: they have only the installed pide_adapter.h.
 */
#ifndef PIDE_ADAPTER_XML_H
#define PIDE_ADAPTER_XML_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "pide_adapter.h"

/* n is an element called `name` in namespace `ns` (NULL: in no namespace). */
bool adapter_element_is(xmlNodePtr n, const char *ns, const char *name);
/* The first element among n and its following siblings, or NULL. */
xmlNodePtr adapter_first_element(xmlNodePtr n);
/* The first child element of parent (which may be NULL) matching ns and name, or NULL. */
xmlNodePtr adapter_child(xmlNodePtr parent, const char *ns, const char *name);

/* Text content of n copied into exchange memory; NULL when n is NULL or memory runs out. */
const char *adapter_text_of(const pide_host_api *host, pide_exchange *ex, xmlNodePtr n);
/* adapter_text_of(adapter_child(parent, ns, name)). */
const char *adapter_child_text(const pide_host_api *host, pide_exchange *ex, xmlNodePtr parent,
                               const char *ns, const char *name);
/* The unqualified attribute `name` of n (which may be NULL), in exchange memory, or NULL. */
const char *adapter_attr_of(const pide_host_api *host, pide_exchange *ex, xmlNodePtr n,
                            const char *name);

/* Appends <name>text</name> to parent, unqualified (the contracts' elementFormDefault;
 * xmlNewChild would inherit the parent's namespace). text is taken literally and escaped when
 * serialised; NULL gives an empty element. Returns the new element, NULL when out of memory. */
xmlNodePtr adapter_add_element(xmlNodePtr parent, const char *name, const char *text);
/* A detached <ns2:name xmlns:ns2="contract_ns"/> in doc: the root of an adapter's answer.
 * NULL when out of memory. */
xmlNodePtr adapter_new_response(xmlDocPtr doc, const char *contract_ns, const char *name);

/* Parses a provider's answer: no network, no DTD loading, no entity substitution, and a
 * document carrying a DTD is refused outright. NULL for an empty or oversized body, a body
 * that is not well-formed XML, or a DTD; the caller frees the result with xmlFreeDoc. */
xmlDocPtr adapter_parse_answer(const char *body, size_t len);

#endif
