/* check_xml_parse.c — the hardened parser: well-formedness errors with lines, DTDs and entity
 * tricks refused, depth and node-count limits, tree helpers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "check_run.h"
#include "xml_parse.h"

static const gw_xml_limits limits = {.max_depth = 8, .max_nodes = 50};

static gw_status parse(const char *xml, char *err, size_t errlen, xmlDocPtr *doc)
{
    return gw_xml_parse(xml, strlen(xml), &limits, doc, err, errlen);
}

START_TEST(parses_a_soap_envelope)
{
    char err[256] = "";
    xmlDocPtr doc = NULL;
    const char *xml = "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'>"
                      "<s:Body><op xmlns='urn:x'><a>1</a><b>2</b></op></s:Body></s:Envelope>";
    ck_assert_int_eq(parse(xml, err, sizeof err, &doc), GW_OK);
    xmlNodePtr env = xmlDocGetRootElement(doc);
    ck_assert(gw_xml_is(env, "http://schemas.xmlsoap.org/soap/envelope/", "Envelope"));
    xmlNodePtr op = gw_xml_first_element(gw_xml_first_element(env));
    ck_assert_str_eq((const char *)op->name, "op");
    ck_assert_ptr_nonnull(gw_xml_child(op, "b"));
    ck_assert_ptr_null(gw_xml_child(op, "c"));
    ck_assert_ptr_eq(gw_xml_descendant(env, "a"), gw_xml_child(op, "a"));
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(malformed_reports_line)
{
    char err[256] = "";
    xmlDocPtr doc = NULL;
    ck_assert_int_eq(parse("<a>\n<b>\n</a>", err, sizeof err, &doc), GW_ERR_MALFORMED_XML);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strncmp(err, "line 3:", 7) == 0, "got '%s'", err);
    ck_assert_int_eq(parse("", err, sizeof err, &doc), GW_ERR_MALFORMED_XML);
    ck_assert_int_eq(parse("not xml", err, sizeof err, &doc), GW_ERR_MALFORMED_XML);
}
END_TEST

START_TEST(refuses_dtd_and_entities)
{
    char err[256] = "";
    xmlDocPtr doc = NULL;
    const char *laughs = "<?xml version='1.0'?><!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'>"
                         "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]><l>&b;</l>";
    ck_assert_int_eq(parse(laughs, err, sizeof err, &doc), GW_ERR_MALFORMED_XML);
    ck_assert_ptr_nonnull(strstr(err, "DTD"));
    const char *xxe = "<!DOCTYPE x SYSTEM 'file:///etc/passwd'><x/>";
    ck_assert_int_eq(parse(xxe, err, sizeof err, &doc), GW_ERR_MALFORMED_XML);
    ck_assert_ptr_nonnull(strstr(err, "DTD"));
    ck_assert_ptr_null(doc);
}
END_TEST

START_TEST(depth_limit)
{
    char err[256] = "";
    xmlDocPtr doc = NULL;
    /* 8 levels pass, 9 fail */
    ck_assert_int_eq(parse("<a><a><a><a><a><a><a><a/></a></a></a></a></a></a></a>", err,
                           sizeof err, &doc),
                     GW_OK);
    xmlFreeDoc(doc);
    ck_assert_int_eq(parse("<a><a><a><a><a><a><a><a><a/></a></a></a></a></a></a></a></a>", err,
                           sizeof err, &doc),
                     GW_ERR_XML_LIMIT);
    ck_assert_ptr_nonnull(strstr(err, "deeper than 8"));
}
END_TEST

START_TEST(node_limit_counts_attributes)
{
    char err[256] = "";
    xmlDocPtr doc = NULL;
    char xml[4096] = "<r>";
    for (int i = 0; i < 49; i++)
        strcat(xml, "<e/>");
    strcat(xml, "</r>");
    ck_assert_int_eq(parse(xml, err, sizeof err, &doc), GW_OK); /* 50 elements */
    xmlFreeDoc(doc);
    strcpy(xml, "<r x='1'>");
    for (int i = 0; i < 49; i++)
        strcat(xml, "<e/>");
    strcat(xml, "</r>");
    ck_assert_int_eq(parse(xml, err, sizeof err, &doc), GW_ERR_XML_LIMIT); /* 50 + 1 attribute */
    ck_assert_ptr_nonnull(strstr(err, "more than 50"));
}
END_TEST

int main(void)
{
    xmlInitParser();
    Suite *s = suite_create("xml_parse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, parses_a_soap_envelope);
    tcase_add_test(tc, malformed_reports_line);
    tcase_add_test(tc, refuses_dtd_and_entities);
    tcase_add_test(tc, depth_limit);
    tcase_add_test(tc, node_limit_counts_attributes);
    suite_add_tcase(s, tc);
    int exit_status = check_run_suite(s);
    xmlCleanupParser();
    return exit_status;
}
