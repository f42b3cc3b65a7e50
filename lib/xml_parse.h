/*
 * xml_parse.h — hardened parsing of untrusted XML with libxml2.
 *
 * No network access, no DTD at all (internal or external: a DTD is refused, which rules out
 * entity expansion attacks), and limits on nesting depth and on the number of elements plus
 * attributes, so a small request cannot make the gateway build a huge tree.
 */
#ifndef PIDE_GW_XML_PARSE_H
#define PIDE_GW_XML_PARSE_H

#include <stddef.h>

#include <libxml/tree.h>

#include "status.h"

typedef struct gw_xml_limits {
    int max_depth;
    size_t max_nodes;  /* elements + attributes */
} gw_xml_limits;

/* Process-wide, once at start: nothing libxml2 loads on the process's behalf (an xs:import or
 * xs:include of a schema, a WSDL, a stylesheet's or a provider XSD's external entity) may come
 * from the network; such a load fails and the file that asked for it is refused. */
void gw_xml_forbid_network(void);

/* Parses buf. On failure returns GW_ERR_MALFORMED_XML or GW_ERR_XML_LIMIT and writes a
 * message with the line number into err. */
gw_status gw_xml_parse(const char *buf, size_t len, const gw_xml_limits *limits, xmlDocPtr *out,
                       char *err, size_t errlen);

/* Keeps the first error libxml2 reports through a structured error handler (schema parsing,
 * schema validation), as "<file>:<line>: <message>", or "line <n>: <message>" when neither the
 * error nor default_file names a file. Give it to xmlSchemaSet*StructuredErrors with a
 * zero-initialised gw_xml_first_error as context. */
typedef struct gw_xml_first_error {
    const char *default_file;  /* used when the error names no file; may be NULL */
    char text[512];
    int seen;                  /* errors reported, the first kept */
} gw_xml_first_error;
void gw_xml_keep_first_error(void *ctx, xmlErrorPtr e);

/* Checks the shape of a SOAP Envelope whose namespace is ns_uri, before anything reads it: its
 * element children must be an optional Header, then one Body, and nothing else (no second Header
 * or Body, no Header after the Body, no element before the Header or after the Body, no
 * non-blank text), so that every stage reads the same Header and Body. Sets *header (NULL when
 * absent) and *body. GW_ERR_NOT_SOAP when there is no Body at all, GW_ERR_MALFORMED_ENVELOPE
 * otherwise, with the reason in err. */
gw_status gw_xml_soap_envelope_parts(xmlNodePtr env, const char *ns_uri, xmlNodePtr *header,
                                     xmlNodePtr *body, char *err, size_t errlen);

/* The first element child of node, or NULL. */
xmlNodePtr gw_xml_first_element(xmlNodePtr node);
/* The first element child with this local name (any namespace), or NULL. */
xmlNodePtr gw_xml_child(xmlNodePtr node, const char *local_name);
/* The first descendant element with this local name (depth-first), or NULL. */
xmlNodePtr gw_xml_descendant(xmlNodePtr node, const char *local_name);
/* 1 when node is an element with this local name and namespace URI. */
int gw_xml_is(xmlNodePtr node, const char *ns_uri, const char *local_name);

#endif
