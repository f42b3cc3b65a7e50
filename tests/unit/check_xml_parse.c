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

#define SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define ENV(children) "<s:Envelope xmlns:s='" SOAP "'>" children "</s:Envelope>"

static gw_status envelope(const char *xml, xmlNodePtr *header, xmlNodePtr *body, char *err,
                          size_t errlen)
{
    xmlDocPtr doc = NULL;
    ck_assert_int_eq(parse(xml, err, errlen, &doc), GW_OK);
    gw_status st = gw_xml_soap_envelope_parts(xmlDocGetRootElement(doc), SOAP, header, body, err,
                                              errlen);
    xmlFreeDoc(doc);
    return st;
}

/* Issue 8 item 7: two Headers let the header stage read the last and WS-Security the first. */
START_TEST(envelope_shape_is_strict)
{
    char err[256];
    xmlNodePtr h, b;
    ck_assert_int_eq(envelope(ENV("<s:Header/> <!--c--> <s:Body><op/></s:Body>\n"), &h, &b, err,
                              sizeof err), GW_OK);
    ck_assert_int_eq(envelope(ENV("<s:Body><op/></s:Body>"), &h, &b, err, sizeof err), GW_OK);
    const char *bad[] = {
        ENV("<s:Header/><s:Header/><s:Body/>"),
        ENV("<s:Header><a/></s:Header><s:Body/><s:Header/>"),
        ENV("<s:Body/><s:Header/>"),
        ENV("<s:Header/><s:Body/><s:Body/>"),
        ENV("<s:Body/><x/>"),
        ENV("<x/><s:Body/>"),
        ENV("<s:Header xmlns:s2='" SOAP "'/><s2:Header xmlns:s2='" SOAP "'/><s:Body/>"),
        ENV("<Header/><s:Body/>"),
        ENV("text<s:Body/>"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(envelope(bad[i], &h, &b, err, sizeof err) == GW_ERR_MALFORMED_ENVELOPE,
                      "accepted: %s", bad[i]);
    ck_assert_int_eq(envelope(ENV("<s:Header/><s:Header/><s:Body/>"), &h, &b, err, sizeof err),
                     GW_ERR_MALFORMED_ENVELOPE);
    ck_assert_ptr_nonnull(strstr(err, "second Header"));
    ck_assert_int_eq(envelope(ENV("<s:Header/>"), &h, &b, err, sizeof err), GW_ERR_NOT_SOAP);
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
    tcase_add_test(tc, envelope_shape_is_strict);
    suite_add_tcase(s, tc);
    int exit_status = check_run_suite(s);
    xmlCleanupParser();
    return exit_status;
}
