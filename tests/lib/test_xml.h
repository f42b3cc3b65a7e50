/*
 * test_xml.h — XML helpers the signing suites share: a document as a receiver sees it, and the
 * first node an XPath selects.
 */
#ifndef PIDE_TEST_XML_H
#define PIDE_TEST_XML_H

#include <libxml/tree.h>

/* A copy of doc made by serialising and parsing it again, as a receiver would see it; fails the
 * running Check test when either step fails. doc is left alone. */
xmlDocPtr test_xml_reparse(xmlDocPtr doc);

/* The first node `xpath` selects in doc, or NULL. namespaces: prefix, URI pairs ending in NULL. */
xmlNodePtr test_xml_first(xmlDocPtr doc, const char *xpath, const char *const namespaces[]);

#endif
