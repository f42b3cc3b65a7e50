/*
 * check_gateway_header.c — gateway/gateway_header.c: the request header read from real SOAP
 * envelopes (every field, absence, each malformed case refused with a reason) and the response
 * header written from it (echo, id, exchange id, requestHash).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "arena.h"
#include "check_run.h"
#include "gateway_header.h"
#include "xml_parse.h"

#define SOAP_NS "http://schemas.xmlsoap.org/soap/envelope/"

static gw_arena arena;
static xmlDocPtr doc;
static char err[512];

static void setup(void)
{
    gw_arena_init(&arena, 4096);
    doc = NULL;
    memset(err, 'x', sizeof err); /* the reader must write a message, not leave garbage */
    err[sizeof err - 1] = '\0';
}

static void teardown(void)
{
    xmlFreeDoc(doc);
    gw_arena_destroy(&arena);
}

/* The soap:Header of an envelope whose header holds `elements` (pgw: is our namespace). */
static xmlNodePtr header_with(const char *elements)
{
    char xml[4096];
    snprintf(xml, sizeof xml,
             "<soap:Envelope xmlns:soap=\"" SOAP_NS "\" xmlns:pgw=\"" GW_HEADER_NS "\">"
             "<soap:Header>%s</soap:Header><soap:Body><op/></soap:Body></soap:Envelope>",
             elements);
    doc = xmlReadMemory(xml, (int)strlen(xml), "test.xml", NULL, XML_PARSE_NONET);
    ck_assert_msg(doc != NULL, "test envelope does not parse: %s", xml);
    return gw_xml_first_element(xmlDocGetRootElement(doc));
}

static gw_status read_header(const char *elements, gw_request_header *h)
{
    return gw_request_header_read(header_with(elements), &arena, h, err, sizeof err);
}

static void assert_contains(const char *haystack, const char *needle)
{
    ck_assert_msg(strstr(haystack, needle) != NULL, "expected \"%s\" in \"%s\"", needle,
                  haystack);
}

#define FULL_HEADER                                                                            \
    "<pgw:client><pgw:memberCode> 20000000001 </pgw:memberCode>"                               \
    "<pgw:subsystemCode>SIAF</pgw:subsystemCode></pgw:client>"                                 \
    "<pgw:service><pgw:memberCode>20100000001</pgw:memberCode>"                                \
    "<pgw:serviceCode>ReniecConsultaDni</pgw:serviceCode>"                                     \
    "<pgw:serviceVersion>v1</pgw:serviceVersion></pgw:service>"                                \
    "<pgw:id>msg-0001</pgw:id><pgw:userId>45678912</pgw:userId>"                               \
    "<pgw:purpose>Tramite 123</pgw:purpose><pgw:protocolVersion>1.0</pgw:protocolVersion>"

/* ---- reading -------------------------------------------------------------------------------- */

START_TEST(reads_full_header)
{
    gw_request_header h;
    /* a foreign header next to ours is left to other stages */
    ck_assert_msg(read_header("<w:Security xmlns:w=\"urn:wsse\"/>" FULL_HEADER, &h) == GW_OK,
                  "%s", err);
    ck_assert_int_eq(h.present, 1);
    ck_assert_str_eq(h.client_member, "20000000001"); /* layout white space trimmed */
    ck_assert_str_eq(h.client_subsystem, "SIAF");
    ck_assert_str_eq(h.service_member, "20100000001");
    ck_assert_str_eq(h.service_code, "ReniecConsultaDni");
    ck_assert_str_eq(h.service_version, "v1");
    ck_assert_str_eq(h.id, "msg-0001");
    ck_assert_str_eq(h.user_id, "45678912");
    ck_assert_str_eq(h.purpose, "Tramite 123");
    ck_assert_str_eq(h.protocol_version, "1.0");
}
END_TEST

START_TEST(missing_header_is_absent_not_an_error)
{
    gw_request_header h;
    ck_assert_int_eq(gw_request_header_read(NULL, &arena, &h, err, sizeof err), GW_OK);
    ck_assert_int_eq(h.present, 0);
    ck_assert_ptr_null(h.client_member);
    ck_assert_ptr_null(h.id);

    /* a header with only others' elements */
    ck_assert_int_eq(read_header("<w:Security xmlns:w=\"urn:wsse\"/>", &h), GW_OK);
    ck_assert_int_eq(h.present, 0);
}
END_TEST

static const struct {
    const char *elements;
    const char *reason;
} malformed[] = {
    {"<pgw:client><pgw:memberCode>2000000000</pgw:memberCode></pgw:client>", "11-digit RUC"},
    {"<pgw:client><pgw:memberCode>2000000000A</pgw:memberCode></pgw:client>", "11-digit RUC"},
    {"<pgw:client><pgw:memberCode>200000000012</pgw:memberCode></pgw:client>", "11-digit RUC"},
    {"<pgw:client><pgw:subsystemCode>X</pgw:subsystemCode></pgw:client>", "needs a memberCode"},
    {"<pgw:userId>4567891</pgw:userId>", "8-digit DNI"},
    {"<pgw:userId>456789123</pgw:userId>", "8-digit DNI"},
    {"<pgw:userId>4567891a</pgw:userId>", "8-digit DNI"},
    {"<pgw:id>"
     "0123456789012345678901234567890123456789012345678901234567890123"
     "01234567890123456789012345678901234567890123456789012345678901234"
     "</pgw:id>",
     "1 to 128 printable"},
    {"<pgw:id>a&#x7F;b</pgw:id>", "1 to 128 printable"},
    {"<pgw:id>a&#x9;b</pgw:id>", "1 to 128 printable"},
    {"<pgw:id>a&#xA;b</pgw:id>", "1 to 128 printable"},
    {"<pgw:id></pgw:id>", "1 to 128 printable"},
    {"<pgw:id>a</pgw:id><pgw:id>b</pgw:id>", "'id' appears twice"},
    {"<pgw:client><pgw:memberCode>20000000001</pgw:memberCode></pgw:client>"
     "<pgw:client><pgw:memberCode>20000000001</pgw:memberCode></pgw:client>",
     "'client' appears twice"},
    {"<pgw:service><pgw:serviceCode>A</pgw:serviceCode></pgw:service>"
     "<pgw:service><pgw:serviceCode>B</pgw:serviceCode></pgw:service>",
     "'service' appears twice"},
    {"<pgw:client><pgw:memberCode>20000000001</pgw:memberCode>"
     "<pgw:memberCode>20000000002</pgw:memberCode></pgw:client>",
     "client/memberCode appears twice"},
    {"<pgw:colour>red</pgw:colour>", "unknown header element 'colour'"},
    {"<pgw:client><pgw:memberCode>20000000001</pgw:memberCode><pgw:role>x</pgw:role>"
     "</pgw:client>",
     "client: unexpected element 'role'"},
    {"<pgw:service><pgw:serviceCode>A</pgw:serviceCode><x:serviceCode xmlns:x=\"urn:other\">B"
     "</x:serviceCode></pgw:service>",
     "service: unexpected element 'serviceCode'"},
    {"<pgw:protocolVersion>2.0</pgw:protocolVersion>", "protocolVersion '2.0' is not supported"},
};

START_TEST(malformed_header_is_refused_with_reason)
{
    gw_request_header h;
    gw_status st = read_header(malformed[_i].elements, &h);
    ck_assert_msg(st == GW_ERR_BAD_HEADER, "case %d: got %s for %s", _i, gw_status_name(st),
                  malformed[_i].elements);
    assert_contains(err, malformed[_i].reason);
}
END_TEST

/* ---- writing -------------------------------------------------------------------------------- */

static const unsigned char digest[32] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff};
/* base64 of `digest`, computed independently (printf ... | xxd -r -p | base64) */
static const char digest_b64[] = "AAECAwQFBgcICQoLDA0OD/Dx8vP09fb3+Pn6+/z9/v8=";
static const char exchange_id[] = "01890a5d-ac96-774b-bcce-b302099a8057";

/* Text of the single child of `parent` named `name` in our namespace; NULL when absent. */
static char *text_of(xmlNodePtr parent, const char *name)
{
    xmlNodePtr found = NULL;
    for (xmlNodePtr c = gw_xml_first_element(parent); c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !gw_xml_is(c, GW_HEADER_NS, name))
            continue;
        ck_assert_msg(found == NULL, "%s written twice", name);
        found = c;
    }
    if (!found)
        return NULL;
    static char buf[8][256];
    static int next;
    char *out = buf[next++ % 8];
    xmlChar *t = xmlNodeGetContent(found);
    snprintf(out, 256, "%s", (const char *)t);
    xmlFree(t);
    return out;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr c = gw_xml_first_element(parent); c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && gw_xml_is(c, GW_HEADER_NS, name))
            return c;
    return NULL;
}

static xmlNodePtr empty_response_header(void)
{
    xmlDocPtr out = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr env = xmlNewDocNode(out, NULL, BAD_CAST "Envelope", NULL);
    xmlDocSetRootElement(out, env);
    xmlNsPtr soap = xmlNewNs(env, BAD_CAST SOAP_NS, BAD_CAST "soap");
    xmlSetNs(env, soap);
    return xmlNewChild(env, soap, BAD_CAST "Header", NULL);
}

START_TEST(response_echoes_request_header)
{
    gw_request_header h;
    ck_assert_msg(read_header(FULL_HEADER, &h) == GW_OK, "%s", err);
    xmlNodePtr rh = empty_response_header();
    gw_response_header_write(rh, &h, exchange_id, digest);

    xmlNodePtr client = child(rh, "client");
    ck_assert_ptr_nonnull(client);
    ck_assert_str_eq(text_of(client, "memberCode"), "20000000001");
    ck_assert_str_eq(text_of(client, "subsystemCode"), "SIAF");
    xmlNodePtr service = child(rh, "service");
    ck_assert_ptr_nonnull(service);
    ck_assert_str_eq(text_of(service, "memberCode"), "20100000001");
    ck_assert_str_eq(text_of(service, "serviceCode"), "ReniecConsultaDni");
    ck_assert_str_eq(text_of(service, "serviceVersion"), "v1");
    ck_assert_str_eq(text_of(rh, "id"), "msg-0001");
    ck_assert_str_eq(text_of(rh, "userId"), "45678912");
    ck_assert_str_eq(text_of(rh, "purpose"), "Tramite 123");
    ck_assert_str_eq(text_of(rh, "protocolVersion"), "1.0");
    ck_assert_str_eq(text_of(rh, "exchangeId"), exchange_id);
    ck_assert_str_eq(text_of(rh, "requestHash"), digest_b64);
    xmlChar *alg = xmlGetProp(child(rh, "requestHash"), BAD_CAST "algorithm");
    ck_assert_str_eq((const char *)alg, "http://www.w3.org/2001/04/xmlenc#sha256");
    xmlFree(alg);

    xmlFreeDoc(rh->doc);
}
END_TEST

START_TEST(response_id_is_exchange_id_when_caller_sent_none)
{
    gw_request_header h;
    ck_assert_int_eq(read_header("<pgw:userId>45678912</pgw:userId>", &h), GW_OK);
    xmlNodePtr rh = empty_response_header();
    gw_response_header_write(rh, &h, exchange_id, digest);
    ck_assert_str_eq(text_of(rh, "id"), exchange_id);
    ck_assert_str_eq(text_of(rh, "exchangeId"), exchange_id);
    ck_assert_str_eq(text_of(rh, "userId"), "45678912");
    ck_assert_ptr_null(child(rh, "client"));
    ck_assert_ptr_null(child(rh, "service"));
    ck_assert_ptr_null(child(rh, "purpose"));
    xmlFreeDoc(rh->doc);
}
END_TEST

START_TEST(response_without_request_or_digest)
{
    /* A request refused before its header or body could be read still gets ids. */
    xmlNodePtr rh = empty_response_header();
    gw_response_header_write(rh, NULL, exchange_id, NULL);
    ck_assert_str_eq(text_of(rh, "id"), exchange_id);
    ck_assert_str_eq(text_of(rh, "exchangeId"), exchange_id);
    ck_assert_str_eq(text_of(rh, "protocolVersion"), GW_HEADER_PROTOCOL_VERSION);
    ck_assert_ptr_null(child(rh, "requestHash"));
    xmlFreeDoc(rh->doc);
}
END_TEST

static Suite *gateway_header_suite(void)
{
    Suite *s = suite_create("gateway_header");
    TCase *rd = tcase_create("read");
    tcase_add_checked_fixture(rd, setup, teardown);
    tcase_add_test(rd, reads_full_header);
    tcase_add_test(rd, missing_header_is_absent_not_an_error);
    tcase_add_loop_test(rd, malformed_header_is_refused_with_reason, 0,
                        (int)(sizeof malformed / sizeof malformed[0]));
    suite_add_tcase(s, rd);
    TCase *wr = tcase_create("write");
    tcase_add_checked_fixture(wr, setup, teardown);
    tcase_add_test(wr, response_echoes_request_header);
    tcase_add_test(wr, response_id_is_exchange_id_when_caller_sent_none);
    tcase_add_test(wr, response_without_request_or_digest);
    suite_add_tcase(s, wr);
    return s;
}

int main(void)
{
    return check_run_suite(gateway_header_suite());
}
