/*
 * test_xml.c — XML helpers the signing suites share (test_xml.h).
 */
#include "test_xml.h"

#include <check.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

xmlDocPtr test_xml_reparse(xmlDocPtr doc)
{
    xmlChar *bytes = NULL;
    int len = 0;
    xmlDocDumpMemory(doc, &bytes, &len);
    ck_assert_ptr_nonnull(bytes);
    xmlDocPtr copy = xmlReadMemory((const char *)bytes, len, "wire.xml", NULL, XML_PARSE_NONET);
    xmlFree(bytes);
    ck_assert_ptr_nonnull(copy);
    return copy;
}

xmlNodePtr test_xml_first(xmlDocPtr doc, const char *xpath, const char *const namespaces[])
{
    xmlXPathContextPtr xc = xmlXPathNewContext(doc);
    ck_assert_ptr_nonnull(xc);
    for (size_t i = 0; namespaces[i] != NULL; i += 2)
        xmlXPathRegisterNs(xc, BAD_CAST namespaces[i], BAD_CAST namespaces[i + 1]);
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST xpath, xc);
    xmlNodePtr node = NULL;
    if (r != NULL && r->nodesetval != NULL && r->nodesetval->nodeNr > 0)
        node = r->nodesetval->nodeTab[0];
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(xc);
    return node;
}
