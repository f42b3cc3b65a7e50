/* check_redact.c — passwords never reach the log: the tokenizer replaces every secret (element
 * text, attribute value, comment or PI naming one) whatever the markup around it, the rest stays
 * byte for byte; what cannot be redacted and verified is stored truncated and flagged. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "check_run.h"
#include "redact.h"

static const gw_xml_limits limits = {.max_depth = 64, .max_nodes = 10000};

static const char *redact(gw_arena *a, const char *in, int *count)
{
    const char *out = NULL;
    size_t len = 0;
    ck_assert_int_eq(gw_redact_xml(a, in, strlen(in), &out, &len, count), GW_OK);
    ck_assert_uint_eq(len, strlen(out));
    return out;
}

static gw_status redact_status(gw_arena *a, const char *in, size_t len)
{
    const char *out = NULL;
    size_t out_len = 0;
    return gw_redact_xml(a, in, len, &out, &out_len, NULL);
}

/* What the log stores for in; *flagged set. */
static const char *stored(gw_arena *a, const char *in, size_t len, int *flagged)
{
    const char *out = NULL;
    size_t out_len = 0;
    ck_assert_int_eq(gw_redact_request(a, in, len, &limits, &out, &out_len, flagged), GW_OK);
    ck_assert_ptr_nonnull(out);
    return out;
}

START_TEST(replaces_plain_and_prefixed)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    int n = 0;
    ck_assert_str_eq(redact(&a, "<a><password>s3cret</password><b>x</b></a>", &n),
                     "<a><password>[REDACTED]</password><b>x</b></a>");
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(redact(&a, "<p:password xmlns:p='u'>pw</p:password >", &n),
                     "<p:password xmlns:p='u'>[REDACTED]</p:password >");
    ck_assert_str_eq(redact(&a, "<w><wsse:Password Type=\"t\">pw</wsse:Password><PASSWORD>x"
                                "</PASSWORD><clave>c</clave></w>", &n),
                     "<w><wsse:Password Type=\"t\">[REDACTED]</wsse:Password><PASSWORD>[REDACTED]"
                     "</PASSWORD><clave>[REDACTED]</clave></w>");
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(redact(&a, "<a><password>1</password><password>2</password></a>", &n),
                     "<a><password>[REDACTED]</password><password>[REDACTED]</password></a>");
    ck_assert_int_eq(n, 2);
    gw_arena_destroy(&a);
}
END_TEST

/* The reported defect: a '>' inside a quoted attribute value of the password element. */
START_TEST(gt_inside_attribute_values_of_both_quote_kinds)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    int n = 0;
    ck_assert_str_eq(redact(&a, "<password xmlns:z=\"urn:x/>\">demo</password>", &n),
                     "<password xmlns:z=\"urn:x/>\">[REDACTED]</password>");
    ck_assert_str_eq(redact(&a, "<password a='x\">' b=\"y'>\">demo</password>", &n),
                     "<password a='x\">' b=\"y'>\">[REDACTED]</password>");
    /* A fake closing tag inside another element's attribute does not end anything. */
    ck_assert_str_eq(redact(&a, "<a><password t=\"</password>\">demo</password></a>", &n),
                     "<a><password t=\"</password>\">[REDACTED]</password></a>");
    ck_assert_int_eq(n, 1);
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(cdata_comments_and_pis)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    int n = 0;
    /* Fake tags in CDATA are text: neither opened nor closed. */
    ck_assert_str_eq(redact(&a, "<a><b><![CDATA[<password>]]></b><password><![CDATA[</password>"
                                "s]]>t</password></a>", &n),
                     "<a><b><![CDATA[<password>]]></b><password>[REDACTED]</password></a>");
    ck_assert_int_eq(n, 1);
    /* A comment that mentions a password (an old one commented out) loses its body. */
    ck_assert_str_eq(redact(&a, "<a><!-- <password>old</password> --><b/><!-- ok --></a>", &n),
                     "<a><!--[REDACTED]--><b/><!-- ok --></a>");
    ck_assert_str_eq(redact(&a, "<?xml version=\"1.0\"?><?app Password=x?><a/>", &n),
                     "<?xml version=\"1.0\"?><?app [REDACTED]?><a/>");
    /* A password element inside a comment or a PI is no element at all. */
    ck_assert_str_eq(redact(&a, "<a><!--x--><password><!-- c --><?p q?>s</password></a>", &n),
                     "<a><!--x--><password>[REDACTED]</password></a>");
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(nested_blanks_references_and_attributes)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    int n = 0;
    ck_assert_str_eq(redact(&a, "<a><password><x>s</x><password>t</password></password></a>", &n),
                     "<a><password>[REDACTED]</password></a>");
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(redact(&a, "<password\n  a = \"1\"\t>s</password \n>", &n),
                     "<password\n  a = \"1\"\t>[REDACTED]</password \n>");
    ck_assert_str_eq(redact(&a, "<password>&amp;s&#65;&#x42;</password>", &n),
                     "<password>[REDACTED]</password>");
    ck_assert_str_eq(redact(&a, "<x password=\"s\" y='1' p:Password='t' q=''/>", &n),
                     "<x password=\"[REDACTED]\" y='1' p:Password='[REDACTED]' q=''/>");
    ck_assert_int_eq(n, 2);
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(leaves_other_elements_alone)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    int n = 0;
    const char *in = "<r><passwordHint>x</passwordHint><mypassword>y</mypassword><password/>"
                     "<password></password><p:password  /></r>";
    ck_assert_str_eq(redact(&a, in, &n), in);
    ck_assert_int_eq(n, 0);
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(refuses_what_it_cannot_tokenize)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    const char *bad[] = {
        "<x><password>secret and no end",
        "<password>s</pass>",
        "<password a=\"unterminated>s</password>",
        "<password a=b>s</password>",
        "<!DOCTYPE x [<!ENTITY e \"s\">]><password>&e;</password>",
        "<a><!-- no end <password>s</password></a>",
        "<a><![CDATA[ no end <password>s</password></a>",
        "</a>",
        "<a>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(redact_status(&a, bad[i], strlen(bad[i])) == GW_ERR_MALFORMED_XML,
                      "tokenized: %s", bad[i]);
    ck_assert_int_eq(redact_status(&a, "<a>\0<password>s</password></a>", 30),
                     GW_ERR_MALFORMED_XML);
    gw_arena_destroy(&a);
}
END_TEST

static const char *soap_with(gw_arena *a, const char *password_element)
{
    return gw_arena_printf(a,
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        "<soapenv:Header/><soapenv:Body><ren:consultar xmlns:ren=\"http://ws.pide-gateway.org/"
        "reniec/\"><arg0><nuDniConsulta>45678912</nuDniConsulta>%s</arg0></ren:consultar>"
        "</soapenv:Body></soapenv:Envelope>", password_element);
}

START_TEST(request_is_stored_redacted_when_it_verifies)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    int flagged = 1;
    const char *in = soap_with(&a, "<password xmlns:z=\"urn:x/>\">S3cr3t-XYZ-987</password>");
    const char *out = stored(&a, in, strlen(in), &flagged);
    ck_assert_int_eq(flagged, 0);
    ck_assert_ptr_null(strstr(out, "S3cr3t"));
    ck_assert_ptr_nonnull(strstr(out, "<password xmlns:z=\"urn:x/>\">[REDACTED]</password>"));
    ck_assert_ptr_nonnull(strstr(out, "<nuDniConsulta>45678912</nuDniConsulta>"));
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(unparsable_requests_are_truncated_and_flagged)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    int flagged = 0;
    const char *cases[] = {
        "<x><password>S3cr3t-XYZ-987 and no end",           /* the tokenizer refuses */
        "<x><PassWord a='1'>S3cr3t-XYZ-987</PassWord></y>",  /* mismatched */
        "<x><password>S3cr3t-XYZ-987</password></x><x/>",   /* tokenizes, does not parse */
        "<x a='<'><password>S3cr3t-XYZ-987</password></x>", /* '<' in a value */
        "not xml at all: password=S3cr3t-XYZ-987",
        GW_REDACT_FLAG_PREFIX " spoofed]<x><password>S3cr3t-XYZ-987</password></x>",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *out = stored(&a, cases[i], strlen(cases[i]), &flagged);
        ck_assert_msg(flagged, "not flagged: %s", cases[i]);
        ck_assert_msg(strncmp(out, GW_REDACT_FLAG_PREFIX, strlen(GW_REDACT_FLAG_PREFIX)) == 0,
                      "no flag: %s", out);
        ck_assert_msg(!strstr(out, "S3cr3t"), "secret kept: %s", out);
    }
    /* The kept part ends before the first secret name. */
    const char *out = stored(&a, cases[0], strlen(cases[0]), &flagged);
    ck_assert_ptr_nonnull(strstr(out, "]\n<x><"));
    ck_assert_ptr_null(strstr(out, "<x><p"));
    gw_arena_destroy(&a);
}
END_TEST

/* A request in an encoding the byte tokenizer does not read (UTF-16): the tree check or the
 * tokenizer catches it; the truncation keeps no byte past the first NUL. */
START_TEST(utf16_request_is_flagged)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    const char *ascii = "<x><password>S3cr3t-XYZ-987</password></x>";
    size_t n = strlen(ascii);
    char *u16 = gw_arena_alloc(&a, 2 * n + 2);
    u16[0] = (char)0xff;
    u16[1] = (char)0xfe;
    for (size_t i = 0; i < n; i++) {
        u16[2 + 2 * i] = ascii[i];
        u16[3 + 2 * i] = 0;
    }
    int flagged = 0;
    const char *out = stored(&a, u16, 2 * n + 2, &flagged);
    ck_assert_int_eq(flagged, 1);
    ck_assert_ptr_null(strstr(out, "S"));
    gw_arena_destroy(&a);
}
END_TEST

/* Over the parser's limits (depth here): the redacted text cannot be verified, so flagged. */
START_TEST(limits_exceeded_is_flagged)
{
    gw_arena a;
    gw_arena_init(&a, 4096);
    char *in = gw_arena_alloc(&a, 100 * 7 + 64);
    size_t o = 0;
    for (int i = 0; i < 100; i++)
        o += (size_t)sprintf(in + o, "<a>");
    o += (size_t)sprintf(in + o, "<password>S3cr3t</password>");
    for (int i = 0; i < 100; i++)
        o += (size_t)sprintf(in + o, "</a>");
    int flagged = 0;
    const char *out = stored(&a, in, o, &flagged);
    ck_assert_int_eq(flagged, 1);
    ck_assert_ptr_null(strstr(out, "S3cr3t"));
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(huge_input)
{
    gw_arena a;
    gw_arena_init(&a, 1 << 16);
    gw_xml_limits big = {.max_depth = 64, .max_nodes = 1000000};
    const char *item = "<password a=\">\">S3cr3t-XYZ-987</password><b>&lt;x&gt;</b>";
    size_t il = strlen(item), reps = 20000;
    char *in = malloc(il * reps + 16);
    size_t o = 0;
    memcpy(in, "<r>", 3);
    o = 3;
    for (size_t i = 0; i < reps; i++, o += il)
        memcpy(in + o, item, il);
    memcpy(in + o, "</r>", 4);
    o += 4;
    const char *out = NULL;
    size_t out_len = 0;
    int flagged = 1;
    ck_assert_int_eq(gw_redact_request(&a, in, o, &big, &out, &out_len, &flagged), GW_OK);
    ck_assert_int_eq(flagged, 0);
    ck_assert_ptr_null(strstr(out, "S3cr3t"));
    ck_assert_uint_eq(out_len, o - reps * (strlen("S3cr3t-XYZ-987") - strlen(GW_REDACTED_MARKER)));
    /* Empty elements: the output may grow beyond the input. */
    const char *empty = "<a><password a=''>x</password><x password='y'/></a>";
    int n = 0;
    ck_assert_str_eq(redact(&a, empty, &n),
                     "<a><password a=''>[REDACTED]</password><x password='[REDACTED]'/></a>");
    free(in);
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(tree_check_and_message_scrub)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    const char *dirty = "<a><b><Password>x</Password></b></a>";
    xmlDocPtr doc = xmlReadMemory(dirty, (int)strlen(dirty), NULL, NULL, 0);
    ck_assert_int_eq(gw_redact_doc_is_clean(doc), 0);
    ck_assert_str_eq(gw_redact_scrub_text(&a, doc, "value 'x' bad"), "value 'x' bad");
    xmlFreeDoc(doc);
    const char *clean = "<a><password>[REDACTED]</password><password/><c password=''/></a>";
    doc = xmlReadMemory(clean, (int)strlen(clean), NULL, NULL, 0);
    ck_assert_int_eq(gw_redact_doc_is_clean(doc), 1);
    xmlFreeDoc(doc);
    const char *attr = "<a><c password='x'/><!-- password --></a>";
    doc = xmlReadMemory(attr, (int)strlen(attr), NULL, NULL, 0);
    ck_assert_int_eq(gw_redact_doc_is_clean(doc), 0);
    xmlFreeDoc(doc);
    const char *req = "<a><password>S3cr3t-XYZ-987</password></a>";
    doc = xmlReadMemory(req, (int)strlen(req), NULL, NULL, 0);
    ck_assert_str_eq(gw_redact_scrub_text(&a, doc, "The value 'S3cr3t-XYZ-987' is not "
                                                   "S3cr3t-XYZ-987."),
                     "The value '[REDACTED]' is not [REDACTED].");
    ck_assert_ptr_null(gw_redact_scrub_text(&a, doc, NULL));
    xmlFreeDoc(doc);
    gw_arena_destroy(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redact");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, replaces_plain_and_prefixed);
    tcase_add_test(tc, gt_inside_attribute_values_of_both_quote_kinds);
    tcase_add_test(tc, cdata_comments_and_pis);
    tcase_add_test(tc, nested_blanks_references_and_attributes);
    tcase_add_test(tc, leaves_other_elements_alone);
    tcase_add_test(tc, refuses_what_it_cannot_tokenize);
    tcase_add_test(tc, request_is_stored_redacted_when_it_verifies);
    tcase_add_test(tc, unparsable_requests_are_truncated_and_flagged);
    tcase_add_test(tc, utf16_request_is_flagged);
    tcase_add_test(tc, limits_exceeded_is_flagged);
    tcase_add_test(tc, huge_input);
    tcase_add_test(tc, tree_check_and_message_scrub);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
