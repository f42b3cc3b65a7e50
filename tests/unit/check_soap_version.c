/* check_soap_version.c — the one decision of an exchange's SOAP version: Envelope namespace
 * against Content-Type, VersionMismatch and NotSoap cases, the action parameter, and the SOAP
 * 1.2 HTTP binding's statuses (400 Sender, 500 Receiver, specific statuses kept). */
#include <check.h>
#include <string.h>

#include <libxml/parser.h>

#include "check_run.h"
#include "namespaces.h"
#include "soap_version.h"

static gw_status decide(const char *ct, const char *xml, gw_soap_version *v)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    char err[256] = "";
    gw_status st = gw_soap_version_decide(ct, xmlDocGetRootElement(doc), v, err, sizeof err);
    if (st != GW_OK)
        ck_assert_msg(err[0], "a refusal explains itself");
    xmlFreeDoc(doc);
    return st;
}

#define ENV11 "<e:Envelope xmlns:e='" GW_SOAP11_NS "'/>"
#define ENV12 "<e:Envelope xmlns:e='" GW_SOAP12_NS "'/>"

START_TEST(envelope_decides_when_content_type_agrees_or_is_silent)
{
    gw_soap_version v = GW_SOAP_12;
    ck_assert_int_eq(decide("text/xml; charset=utf-8", ENV11, &v), GW_OK);
    ck_assert_int_eq(v, GW_SOAP_11);
    ck_assert_int_eq(decide("application/soap+xml;action=\"x\"", ENV12, &v), GW_OK);
    ck_assert_int_eq(v, GW_SOAP_12);
    ck_assert_int_eq(decide("Application/SOAP+XML", ENV12, &v), GW_OK);
    ck_assert_int_eq(decide(NULL, ENV12, &v), GW_OK);
    ck_assert_int_eq(v, GW_SOAP_12);
    ck_assert_int_eq(decide("application/xml", ENV11, &v), GW_OK);
    ck_assert_int_eq(v, GW_SOAP_11);
}
END_TEST

START_TEST(mismatches)
{
    gw_soap_version v;
    ck_assert_int_eq(decide("text/xml", ENV12, &v), GW_ERR_VERSION_MISMATCH);
    ck_assert_int_eq(v, GW_SOAP_11); /* answered in what the Content-Type names */
    ck_assert_int_eq(decide("application/soap+xml", ENV11, &v), GW_ERR_VERSION_MISMATCH);
    ck_assert_int_eq(v, GW_SOAP_12);
    ck_assert_int_eq(decide("application/soap+xml", "<e:Envelope xmlns:e='urn:x'/>", &v),
                     GW_ERR_VERSION_MISMATCH);
    ck_assert_int_eq(v, GW_SOAP_11); /* unknown namespace: SOAP 1.1, Appendix A */
    ck_assert_int_eq(decide("text/xml", "<Envelope/>", &v), GW_ERR_NOT_SOAP);
    /* a media type that only starts like ours names neither */
    ck_assert_int_eq(decide("text/xmlx", ENV12, &v), GW_OK);
}
END_TEST

START_TEST(action_parameter)
{
    char a[64];
    ck_assert(gw_soap_version_action_param("application/soap+xml; charset=utf-8; action=\"urn:a:b\"",
                                           a, sizeof a));
    ck_assert_str_eq(a, "urn:a:b");
    ck_assert(gw_soap_version_action_param("application/soap+xml;action=urn:c;charset=x", a,
                                           sizeof a));
    ck_assert_str_eq(a, "urn:c");
    ck_assert(!gw_soap_version_action_param("application/soap+xml; charset=utf-8", a, sizeof a));
    ck_assert(!gw_soap_version_action_param("application/soap+xml; action=\"unterminated", a,
                                            sizeof a));
    ck_assert(!gw_soap_version_action_param("application/soap+xml; action=\"\"", a, sizeof a));
    char small[4];
    ck_assert(!gw_soap_version_action_param("application/soap+xml; action=toolong", small,
                                            sizeof small));
    ck_assert(!gw_soap_version_action_param(NULL, a, sizeof a));
}
END_TEST

START_TEST(http_statuses)
{
    ck_assert_int_eq(gw_soap_version_fault_http(GW_SOAP_12, GW_ERR_SCHEMA_INVALID), 400);
    ck_assert_int_eq(gw_soap_version_fault_http(GW_SOAP_12, GW_ERR_PROVIDER_UNAVAILABLE), 500);
    ck_assert_int_eq(gw_soap_version_fault_http(GW_SOAP_12, GW_ERR_RATE_LIMITED), 429);
    ck_assert_int_eq(gw_soap_version_fault_http(GW_SOAP_12, GW_ERR_LOG_UNAVAILABLE), 503);
    ck_assert_int_eq(gw_soap_version_fault_http(GW_SOAP_12, GW_ERR_VERSION_MISMATCH), 500);
    ck_assert_int_eq(gw_soap_version_fault_http(GW_SOAP_11, GW_ERR_SCHEMA_INVALID), 500);
    ck_assert_str_eq(gw_soap12_fault_class(GW_ERR_ACCESS_DENIED), "Sender");
    ck_assert_str_eq(gw_soap12_fault_class(GW_ERR_SIGNATURE), "Receiver");
    ck_assert_str_eq(gw_soap12_fault_class(GW_ERR_VERSION_MISMATCH), "VersionMismatch");
    ck_assert_str_eq(gw_soap_version_content_type(GW_SOAP_12),
                     "application/soap+xml; charset=utf-8");
    ck_assert_str_eq(gw_soap_version_ns(GW_SOAP_12), GW_SOAP12_NS);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("soap_version");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, envelope_decides_when_content_type_agrees_or_is_silent);
    tcase_add_test(tc, mismatches);
    tcase_add_test(tc, action_parameter);
    tcase_add_test(tc, http_statuses);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
