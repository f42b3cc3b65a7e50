/* check_ws_addressing.c — WS-Addressing request headers: accepted values, and every malformed
 * shape refused with GW_ERR_BAD_ADDRESSING (duplicated, oversized, structured, control
 * characters, unknown element, no Action, a non-anonymous ReplyTo); the action policy; the
 * answer's headers. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>

#include "check_run.h"
#include "namespaces.h"
#include "ws_addressing.h"
#include "xml_parse.h"

static gw_arena arena;
static gw_wsa_request req;

static gw_status read_header(const char *inner)
{
    char xml[4096];
    snprintf(xml, sizeof xml, "<H xmlns:wsa='" GW_WSA_NS "'>%s</H>", inner);
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    gw_arena_init(&arena, 4096);
    char err[256] = "";
    gw_status st = gw_wsa_read(xmlDocGetRootElement(doc), &arena, &req, err, sizeof err);
    if (st != GW_OK)
        ck_assert_msg(err[0], "a refusal explains itself");
    xmlFreeDoc(doc);
    return st;
}

START_TEST(accepted)
{
    ck_assert_int_eq(read_header(""), GW_OK);
    ck_assert(!req.present);
    ck_assert_int_eq(read_header("<wsa:MessageID> urn:uuid:1 </wsa:MessageID>"
                                 "<wsa:Action>urn:x/consultar</wsa:Action>"
                                 "<wsa:To>http://gw/services/X</wsa:To>"
                                 "<wsa:ReplyTo><wsa:Address>" GW_WSA_ANONYMOUS
                                 "</wsa:Address></wsa:ReplyTo>"),
                     GW_OK);
    ck_assert(req.present);
    ck_assert_str_eq(req.message_id, "urn:uuid:1");
    ck_assert_str_eq(req.action, "urn:x/consultar");
    gw_arena_destroy(&arena);
}
END_TEST

START_TEST(refused)
{
    const char *bad[] = {
        "<wsa:MessageID>a</wsa:MessageID><wsa:MessageID>b</wsa:MessageID><wsa:Action>x</wsa:Action>",
        "<wsa:Action>x</wsa:Action><wsa:Action>x</wsa:Action>",
        "<wsa:MessageID>a</wsa:MessageID>", /* no Action */
        "<wsa:MessageID><b>a</b></wsa:MessageID><wsa:Action>x</wsa:Action>",
        "<wsa:MessageID>   </wsa:MessageID><wsa:Action>x</wsa:Action>",
        "<wsa:MessageID>a&#9;b</wsa:MessageID><wsa:Action>x</wsa:Action>", /* a tab inside */
        "<wsa:Bogus>a</wsa:Bogus><wsa:Action>x</wsa:Action>",
        "<wsa:Action>x</wsa:Action><wsa:ReplyTo><wsa:Address>http://evil/</wsa:Address></wsa:ReplyTo>",
        "<wsa:Action>x</wsa:Action><wsa:FaultTo></wsa:FaultTo>",
        "<wsa:Action>x</wsa:Action><wsa:ReplyTo><wsa:Address>" GW_WSA_NONE
        "</wsa:Address></wsa:ReplyTo><wsa:ReplyTo><wsa:Address>" GW_WSA_NONE
        "</wsa:Address></wsa:ReplyTo>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_status st = read_header(bad[i]);
        gw_arena_destroy(&arena);
        ck_assert_msg(st == GW_ERR_BAD_ADDRESSING, "case %zu: %d", i, st);
    }
    char big[GW_WSA_MAX_VALUE + 128];
    int n = snprintf(big, sizeof big, "<wsa:Action>x</wsa:Action><wsa:MessageID>");
    memset(big + n, 'a', GW_WSA_MAX_VALUE + 1);
    strcpy(big + n + GW_WSA_MAX_VALUE + 1, "</wsa:MessageID>");
    ck_assert_int_eq(read_header(big), GW_ERR_BAD_ADDRESSING);
    gw_arena_destroy(&arena);
}
END_TEST

START_TEST(action_policy)
{
    ck_assert(gw_action_names_operation("http://ws.pide-gateway.org/reniec/consultar", "consultar"));
    ck_assert(gw_action_names_operation("urn:reniec:consultarRequest", "consultar"));
    ck_assert(gw_action_names_operation("urn:a#consultar", "consultar"));
    ck_assert(gw_action_names_operation("consultar", "consultar"));
    ck_assert(!gw_action_names_operation("urn:reniec:borrar", "consultar"));
    ck_assert(!gw_action_names_operation("urn:reniec:consultarX", "consultar"));
    ck_assert(!gw_action_names_operation("urn:reniec:xconsultar", "consultar"));
    ck_assert(!gw_action_names_operation("", "consultar"));
    ck_assert(!gw_action_names_operation(NULL, "consultar"));
}
END_TEST

START_TEST(response_headers)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr h = xmlNewDocNode(doc, NULL, BAD_CAST "Header", NULL);
    xmlDocSetRootElement(doc, h);
    gw_wsa_response_write(h, "urn:uuid:req", "urn:x/consultarResponse", "0000-id");
    xmlNodePtr c = gw_xml_first_element(h);
    ck_assert(gw_xml_is(c, GW_WSA_NS, "MessageID"));
    xmlChar *t = xmlNodeGetContent(c);
    ck_assert_str_eq((char *)t, "urn:uuid:0000-id");
    xmlFree(t);
    c = c->next;
    ck_assert(gw_xml_is(c, GW_WSA_NS, "RelatesTo"));
    c = c->next;
    ck_assert(gw_xml_is(c, GW_WSA_NS, "Action"));
    xmlFreeDoc(doc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ws_addressing");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, accepted);
    tcase_add_test(tc, refused);
    tcase_add_test(tc, action_policy);
    tcase_add_test(tc, response_headers);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
