/*
 * check_response.c — gateway/response.c: the response envelope (SOAP 1.1 or 1.2, pide-gateway
 * header; SOAP 1.2 Faults with Code/Subcode/Reason/Detail and VersionMismatch's Upgrade),
 * the SOAP Fault built for a failed exchange (faultcode, faultstring, detail/pgw:faultInfo, HTTP
 * status from the status table) and the serialised bytes with their hash.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/sha.h>

#include "check_run.h"
#include "exchange.h"
#include "response.h"
#include "xml_parse.h"

static gw_exchange ex;
static const char exchange_id[] = "01890a5d-ac96-774b-bcce-b302099a8057";

static void setup(void)
{
    memset(&ex, 0, sizeof ex);
    gw_arena_init(&ex.arena, 4096);
    snprintf(ex.exchange_id, sizeof ex.exchange_id, "%s", exchange_id);
    ex.http_status = 200;
}

static void teardown(void)
{
    gw_exchange_end(&ex);
    gw_arena_destroy(&ex.arena);
}

/* The single element child of `parent` with that namespace (NULL: none) and local name. */
static xmlNodePtr only_child(xmlNodePtr parent, const char *ns, const char *name)
{
    xmlNodePtr found = NULL;
    for (xmlNodePtr c = parent->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        int ns_ok = ns ? (c->ns && strcmp((const char *)c->ns->href, ns) == 0) : c->ns == NULL;
        if (ns_ok && strcmp((const char *)c->name, name) == 0) {
            ck_assert_msg(found == NULL, "two %s under %s", name, parent->name);
            found = c;
        }
    }
    ck_assert_msg(found != NULL, "no %s (ns %s) under %s", name, ns ? ns : "none", parent->name);
    return found;
}

static const char *text(xmlNodePtr n)
{
    static char buf[4][1024];
    static int next;
    char *out = buf[next++ % 4];
    xmlChar *t = xmlNodeGetContent(n);
    snprintf(out, 1024, "%s", (const char *)t);
    xmlFree(t);
    return out;
}

static size_t element_count(xmlNodePtr parent)
{
    size_t n = 0;
    for (xmlNodePtr c = parent->children; c; c = c->next)
        n += c->type == XML_ELEMENT_NODE;
    return n;
}

/* ---- envelope ------------------------------------------------------------------------------- */

START_TEST(envelope_has_header_and_empty_body)
{
    static const char request[] = "<soap:Envelope/>";
    ex.request = (char *)request;
    ex.request_len = sizeof request - 1;
    SHA256((const unsigned char *)request, ex.request_len, ex.request_sha256);
    ck_assert_int_eq(gw_response_envelope_create(&ex), GW_OK);

    xmlNodePtr env = xmlDocGetRootElement(ex.response_doc);
    ck_assert_str_eq((const char *)env->name, "Envelope");
    ck_assert_str_eq((const char *)env->ns->href, GW_SOAP11_NS);
    ck_assert_ptr_eq(only_child(env, GW_SOAP11_NS, "Header"), ex.response_header);
    ck_assert_ptr_eq(only_child(env, GW_SOAP11_NS, "Body"), ex.response_body);
    ck_assert_uint_eq(element_count(ex.response_body), 0);
    ck_assert_str_eq(text(only_child(ex.response_header, GW_HEADER_NS, "exchangeId")),
                     exchange_id);
    ck_assert_uint_eq(strlen(text(only_child(ex.response_header, GW_HEADER_NS, "requestHash"))),
                      44);

    /* A second call keeps what is there (an adapter may already have written). */
    xmlDocPtr before = ex.response_doc;
    ck_assert_int_eq(gw_response_envelope_create(&ex), GW_OK);
    ck_assert_ptr_eq(ex.response_doc, before);
}
END_TEST

/* ---- faults --------------------------------------------------------------------------------- */

static xmlNodePtr fault_of(void)
{
    ck_assert_uint_eq(element_count(ex.response_body), 1);
    return only_child(ex.response_body, GW_SOAP11_NS, "Fault");
}

START_TEST(fault_shape)
{
    ex.status = GW_ERR_SCHEMA_INVALID;
    ex.fault_detail = "Element 'nuDniConsulta': [facet 'pattern'] bad";
    ck_assert_int_eq(gw_response_set_fault(&ex), GW_OK);

    xmlNodePtr fault = fault_of();
    ck_assert_str_eq(text(only_child(fault, NULL, "faultcode")), "soap:Client.SchemaInvalid");
    char expected[512];
    snprintf(expected, sizeof expected, "%s: %s", gw_status_message(GW_ERR_SCHEMA_INVALID),
             ex.fault_detail);
    ck_assert_str_eq(text(only_child(fault, NULL, "faultstring")), expected);
    xmlNodePtr info = only_child(only_child(fault, NULL, "detail"), GW_HEADER_NS, "faultInfo");
    ck_assert_str_eq(text(only_child(info, GW_HEADER_NS, "code")), "Client.SchemaInvalid");
    ck_assert_str_eq(text(only_child(info, GW_HEADER_NS, "exchangeId")), exchange_id);
    ck_assert_uint_eq(element_count(info), 2); /* no resultCode when none was set */
    ck_assert_int_eq(ex.http_status, 500);
}
END_TEST

START_TEST(soap12_fault_shape)
{
    ex.soap_version = GW_SOAP_12;
    ex.status = GW_ERR_ACCESS_DENIED;
    ck_assert_int_eq(gw_response_set_fault(&ex), GW_OK);
    xmlNodePtr env = xmlDocGetRootElement(ex.response_doc);
    ck_assert_str_eq((const char *)env->ns->href, GW_SOAP12_NS);
    xmlNodePtr fault = only_child(ex.response_body, GW_SOAP12_NS, "Fault");
    xmlNodePtr code = only_child(fault, GW_SOAP12_NS, "Code");
    ck_assert_str_eq(text(only_child(code, GW_SOAP12_NS, "Value")), "env:Sender");
    xmlNodePtr sub = only_child(only_child(code, GW_SOAP12_NS, "Subcode"), GW_SOAP12_NS, "Value");
    ck_assert_str_eq(text(sub), "pgw:Client.AccessDenied");
    xmlNsPtr pgw = xmlSearchNs(ex.response_doc, sub, BAD_CAST "pgw");
    ck_assert_ptr_nonnull(pgw);
    ck_assert_str_eq((const char *)pgw->href, GW_HEADER_NS);
    xmlNodePtr t = only_child(only_child(fault, GW_SOAP12_NS, "Reason"), GW_SOAP12_NS, "Text");
    xmlChar *lang = xmlNodeGetLang(t);
    ck_assert_str_eq((const char *)lang, "en");
    xmlFree(lang);
    xmlNodePtr info = only_child(only_child(fault, GW_SOAP12_NS, "Detail"), GW_HEADER_NS,
                                 "faultInfo");
    ck_assert_str_eq(text(only_child(info, GW_HEADER_NS, "code")), "Client.AccessDenied");
    ck_assert_int_eq(ex.http_status, 400);
}
END_TEST

START_TEST(soap12_receiver_and_version_mismatch)
{
    ex.soap_version = GW_SOAP_12;
    ck_assert_int_eq(gw_response_replace_with_fault(&ex, GW_ERR_PROVIDER_TIMEOUT), GW_OK);
    xmlNodePtr fault = only_child(ex.response_body, GW_SOAP12_NS, "Fault");
    xmlNodePtr code = only_child(fault, GW_SOAP12_NS, "Code");
    ck_assert_str_eq(text(only_child(code, GW_SOAP12_NS, "Value")), "env:Receiver");
    ck_assert_int_eq(ex.http_status, 500);

    ck_assert_int_eq(gw_response_replace_with_fault(&ex, GW_ERR_VERSION_MISMATCH), GW_OK);
    fault = only_child(ex.response_body, GW_SOAP12_NS, "Fault");
    code = only_child(fault, GW_SOAP12_NS, "Code");
    ck_assert_str_eq(text(only_child(code, GW_SOAP12_NS, "Value")), "env:VersionMismatch");
    ck_assert_uint_eq(element_count(code), 1); /* no Subcode */
    xmlNodePtr up = only_child(ex.response_header, GW_SOAP12_NS, "Upgrade");
    ck_assert_uint_eq(element_count(up), 2);
    ck_assert_int_eq(ex.http_status, 500);

    /* SOAP 1.1: soap:VersionMismatch, the Upgrade header in the 1.2 namespace all the same */
    ex.soap_version = GW_SOAP_11;
    ck_assert_int_eq(gw_response_replace_with_fault(&ex, GW_ERR_VERSION_MISMATCH), GW_OK);
    fault = only_child(ex.response_body, GW_SOAP11_NS, "Fault");
    ck_assert_str_eq(text(only_child(fault, NULL, "faultcode")), "soap:VersionMismatch");
    only_child(ex.response_header, GW_SOAP12_NS, "Upgrade");
}
END_TEST

START_TEST(fault_carries_result_code_and_plain_message)
{
    ex.status = GW_ERR_PROVIDER_UNAVAILABLE;
    ex.result_code = "9999";
    ck_assert_int_eq(gw_response_set_fault(&ex), GW_OK);
    xmlNodePtr fault = fault_of();
    ck_assert_str_eq(text(only_child(fault, NULL, "faultcode")),
                     "soap:Server.Provider.Unavailable");
    ck_assert_str_eq(text(only_child(fault, NULL, "faultstring")),
                     gw_status_message(GW_ERR_PROVIDER_UNAVAILABLE));
    xmlNodePtr info = only_child(only_child(fault, NULL, "detail"), GW_HEADER_NS, "faultInfo");
    ck_assert_str_eq(text(only_child(info, GW_HEADER_NS, "resultCode")), "9999");
}
END_TEST

START_TEST(fault_never_quotes_a_secret_of_the_request)
{
    static const char req[] = "<e><p:password xmlns:p=\"urn:x\">S3cr3t-XYZ-987</p:password></e>";
    ex.request_doc = xmlReadMemory(req, (int)strlen(req), NULL, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(ex.request_doc);
    ex.status = GW_ERR_SCHEMA_INVALID;
    ex.fault_detail = "Element 'password': the value 'S3cr3t-XYZ-987' is too long";
    ck_assert_int_eq(gw_response_set_fault(&ex), GW_OK);
    const char *faultstring = text(only_child(fault_of(), NULL, "faultstring"));
    ck_assert_ptr_null(strstr(faultstring, "S3cr3t"));
    ck_assert_ptr_nonnull(strstr(faultstring, "[REDACTED]"));
    ck_assert_ptr_null(strstr(ex.fault_detail, "S3cr3t")); /* what the log row stores */
}
END_TEST

static const struct {
    gw_status status;
    int http;
} http_cases[] = {
    {GW_ERR_UNKNOWN_SERVICE, 404},  {GW_ERR_RATE_LIMITED, 429},
    {GW_ERR_REQUEST_TOO_LARGE, 413}, {GW_ERR_BAD_HTTP, 405},
    {GW_ERR_LOG_UNAVAILABLE, 503},  {GW_ERR_ACCESS_DENIED, 500},
    {GW_ERR_PROVIDER_TIMEOUT, 500},
};

START_TEST(fault_http_status_from_status_table)
{
    ex.status = http_cases[_i].status;
    ck_assert_int_eq(gw_response_set_fault(&ex), GW_OK);
    ck_assert_int_eq(ex.http_status, gw_status_http_code(ex.status));
    ck_assert_int_eq(ex.http_status, http_cases[_i].http);
    char code[96];
    snprintf(code, sizeof code, "soap:%s", gw_status_fault_code(ex.status));
    ck_assert_str_eq(text(only_child(fault_of(), NULL, "faultcode")), code);
}
END_TEST

START_TEST(fault_replaces_half_written_body)
{
    ck_assert_int_eq(gw_response_envelope_create(&ex), GW_OK);
    xmlNodePtr partial = xmlNewChild(ex.response_body, NULL, BAD_CAST "consultarResponse", NULL);
    xmlNewTextChild(partial, NULL, BAD_CAST "nombres", BAD_CAST "JUAN");
    ex.status = GW_ERR_PROVIDER_BAD_RESPONSE;
    ck_assert_int_eq(gw_response_set_fault(&ex), GW_OK);
    fault_of(); /* the only element left */
    ck_assert_int_eq(gw_response_serialise(&ex), GW_OK);
    ck_assert_ptr_null(strstr(ex.response, "JUAN"));
}
END_TEST

/* A stage that must not send what it holds (signing failed, the log refused the row) starts
 * over: no data, no signature in the Header, no earlier detail, and the new status. */
START_TEST(replace_with_fault_starts_a_fresh_envelope)
{
    ck_assert_int_eq(gw_response_envelope_create(&ex), GW_OK);
    xmlNodePtr data = xmlNewChild(ex.response_body, NULL, BAD_CAST "consultarResponse", NULL);
    xmlNewTextChild(data, NULL, BAD_CAST "nombres", BAD_CAST "JUAN");
    xmlNewChild(ex.response_header, NULL, BAD_CAST "Signature", BAD_CAST "c2ln");
    ex.fault_detail = "an earlier detail";
    ex.signature_value = "c2ln";
    ck_assert_int_eq(gw_response_replace_with_fault(&ex, GW_ERR_LOG_UNAVAILABLE), GW_OK);
    ck_assert_int_eq(ex.status, GW_ERR_LOG_UNAVAILABLE);
    ck_assert_ptr_null(ex.signature_value);
    xmlNodePtr fault = fault_of();
    char code[96];
    snprintf(code, sizeof code, "soap:%s", gw_status_fault_code(GW_ERR_LOG_UNAVAILABLE));
    ck_assert_str_eq(text(only_child(fault, NULL, "faultcode")), code);
    ck_assert_str_eq(text(only_child(fault, NULL, "faultstring")),
                     gw_status_message(GW_ERR_LOG_UNAVAILABLE));
    ck_assert_int_eq(ex.http_status, gw_status_http_code(GW_ERR_LOG_UNAVAILABLE));
    ck_assert_int_eq(gw_response_serialise(&ex), GW_OK);
    ck_assert_ptr_null(strstr(ex.response, "JUAN"));
    ck_assert_ptr_null(strstr(ex.response, "Signature"));
    ck_assert_ptr_null(strstr(ex.response, "earlier detail"));

    /* With no envelope yet it builds one. */
    gw_exchange_end(&ex);
    ck_assert_int_eq(gw_response_replace_with_fault(&ex, GW_ERR_SIGNATURE), GW_OK);
    fault_of();
}
END_TEST

/* ---- serialisation -------------------------------------------------------------------------- */

START_TEST(serialise_gives_parseable_bytes_and_their_hash)
{
    ex.status = GW_ERR_ACCESS_DENIED;
    ck_assert_int_eq(gw_response_set_fault(&ex), GW_OK);
    ck_assert_int_eq(gw_response_serialise(&ex), GW_OK);
    ck_assert_uint_eq(strlen(ex.response), ex.response_len);
    unsigned char md[32];
    SHA256((const unsigned char *)ex.response, ex.response_len, md);
    ck_assert_mem_eq(md, ex.response_sha256, 32);
    xmlDocPtr back = xmlReadMemory(ex.response, (int)ex.response_len, "r.xml", NULL,
                                   XML_PARSE_NONET);
    ck_assert_ptr_nonnull(back);
    xmlNodePtr code = gw_xml_descendant(xmlDocGetRootElement(back), "faultcode");
    ck_assert_ptr_nonnull(code);
    ck_assert_str_eq(text(code), "soap:Client.AccessDenied");
    xmlFreeDoc(back);
}
END_TEST

static Suite *response_suite(void)
{
    Suite *s = suite_create("response");
    TCase *tc = tcase_create("response");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, envelope_has_header_and_empty_body);
    tcase_add_test(tc, fault_shape);
    tcase_add_test(tc, soap12_fault_shape);
    tcase_add_test(tc, soap12_receiver_and_version_mismatch);
    tcase_add_test(tc, fault_carries_result_code_and_plain_message);
    tcase_add_test(tc, fault_never_quotes_a_secret_of_the_request);
    tcase_add_loop_test(tc, fault_http_status_from_status_table, 0,
                        (int)(sizeof http_cases / sizeof http_cases[0]));
    tcase_add_test(tc, fault_replaces_half_written_body);
    tcase_add_test(tc, replace_with_fault_starts_a_fresh_envelope);
    tcase_add_test(tc, serialise_gives_parseable_bytes_and_their_hash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(response_suite());
}
