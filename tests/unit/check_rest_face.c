/* check_rest_face.c — the REST face's query → XML mapping (XSD order, wrappers, repetition,
 * defaults, the secret placeholder) and its refusals (unknown, duplicated, secret-named
 * parameters, malformed percent-encoding, invalid UTF-8, control characters); the XSD walk
 * (facets through named simple types); the JSON writer (types and arrays from the XSD); the
 * REST statuses. */
#include <check.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "check_run.h"
#include "rest_face.h"
#include "rest_schema.h"

static const char XSD[] =
    "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema' xmlns:t='urn:t' "
    "targetNamespace='urn:t' elementFormDefault='unqualified'>"
    " <xs:simpleType name='dni'><xs:restriction base='xs:string'>"
    "  <xs:pattern value='[0-9]{8}'/></xs:restriction></xs:simpleType>"
    " <xs:simpleType name='dni2'><xs:restriction base='t:dni'>"
    "  <xs:maxLength value='8'/></xs:restriction></xs:simpleType>"
    " <xs:element name='op' type='t:op'/>"
    " <xs:complexType name='op'><xs:sequence>"
    "  <xs:element name='arg0'><xs:complexType><xs:sequence>"
    "   <xs:element name='dni' type='t:dni2'/>"
    "   <xs:element name='tipo'><xs:simpleType><xs:restriction base='xs:string'>"
    "    <xs:enumeration value='CE'/><xs:enumeration value='PAS'/></xs:restriction>"
    "   </xs:simpleType></xs:element>"
    "   <xs:element name='password' type='xs:string'/>"
    "  </xs:sequence></xs:complexType></xs:element>"
    "  <xs:element name='ruc' type='xs:string' minOccurs='0'/>"
    "  <xs:element name='tag' type='xs:string' minOccurs='0' maxOccurs='unbounded'/>"
    " </xs:sequence></xs:complexType>"
    " <xs:element name='opResponse'><xs:complexType><xs:sequence>"
    "  <xs:element name='n' type='xs:int'/><xs:element name='ok' type='xs:boolean'/>"
    "  <xs:element name='item' maxOccurs='unbounded'><xs:complexType><xs:sequence>"
    "   <xs:element name='v' type='xs:string'/></xs:sequence></xs:complexType></xs:element>"
    " </xs:sequence></xs:complexType></xs:element>"
    "</xs:schema>";

static gw_arena arena;
static gw_rest_element el;

static void setup(void)
{
    gw_arena_init(&arena, 65536);
    char err[256] = "";
    ck_assert_int_eq(gw_rest_element_read(XSD, sizeof XSD - 1, "op", &arena, &el, err, sizeof err),
                     GW_OK);
}

static void teardown(void) { gw_arena_destroy(&arena); }

/* The query mapped onto <t:op>, serialised; the status in *st. */
static char out[4096];
static const char *map(const char *q, gw_status *st, char *err, size_t errlen)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr op = xmlNewDocNode(doc, NULL, BAD_CAST "op", NULL);
    xmlDocSetRootElement(doc, op);
    xmlNsPtr tns = xmlNewNs(op, BAD_CAST "urn:t", BAD_CAST "t");
    xmlSetNs(op, tns);
    gw_rest_default defs[] = {{"ruc", "20000000001"}};
    *st = gw_rest_query_to_element(&el, q, strlen(q), defs, 1, op, tns, err, errlen);
    xmlBufferPtr b = xmlBufferCreate();
    xmlNodeDump(b, doc, op, 0, 0);
    snprintf(out, sizeof out, "%s", (const char *)xmlBufferContent(b));
    xmlBufferFree(b);
    xmlFreeDoc(doc);
    return out;
}

START_TEST(schema_walk_flattens_in_xsd_order_with_facets)
{
    ck_assert_uint_eq(el.count, 6);
    ck_assert_str_eq(el.fields[0].name, "arg0");
    ck_assert(el.fields[0].wrapper);
    ck_assert_str_eq(el.fields[1].name, "dni");
    ck_assert_int_eq(el.fields[1].depth, 2);
    ck_assert_str_eq(el.fields[1].pattern, "[0-9]{8}"); /* through the named base type */
    ck_assert_int_eq(el.fields[1].max_length, 8);
    ck_assert_uint_eq(el.fields[2].enum_count, 2);
    ck_assert_str_eq(el.fields[2].enums[1], "PAS");
    ck_assert(el.fields[3].secret);
    ck_assert_int_eq(el.fields[4].min_occurs, 0);
    ck_assert_int_eq(el.fields[5].max_occurs, -1);
    ck_assert_str_eq(el.target_namespace, "urn:t");
    gw_rest_element none;
    char err[128];
    ck_assert_int_eq(
        gw_rest_element_read(XSD, sizeof XSD - 1, "nope", &arena, &none, err, sizeof err),
        GW_ERR_UNKNOWN_OPERATION);
}
END_TEST

START_TEST(query_maps_in_xsd_order_with_defaults_and_placeholder)
{
    gw_status st;
    char err[256] = "";
    const char *x = map("tipo=CE&tag=a&dni=45678912&tag=b%20c+d", &st, err, sizeof err);
    ck_assert_msg(st == GW_OK, "%s", err);
    ck_assert_str_eq(x, "<t:op xmlns:t=\"urn:t\"><arg0><dni>45678912</dni><tipo>CE</tipo>"
                        "<password>" GW_REST_SECRET_PLACEHOLDER "</password></arg0>"
                        "<ruc>20000000001</ruc><tag>a</tag><tag>b c d</tag></t:op>");
    /* A given value beats the default; XML special characters are escaped. */
    x = map("ruc=%3C%26x", &st, err, sizeof err);
    ck_assert_int_eq(st, GW_OK);
    ck_assert_ptr_nonnull(strstr(x, "<ruc>&lt;&amp;x</ruc>"));
    /* UTF-8 decoded from percent escapes. */
    x = map("tipo=Pe%C3%B1a", &st, err, sizeof err);
    ck_assert_int_eq(st, GW_OK);
    ck_assert_ptr_nonnull(strstr(x, "<tipo>Peña</tipo>"));
    /* An empty query builds the wrappers and the defaults only. */
    x = map("", &st, err, sizeof err);
    ck_assert_int_eq(st, GW_OK);
}
END_TEST

START_TEST(bad_queries_are_refused_without_quoting_values)
{
    static const char *const bad[] = {
        "nope=1",               /* unknown */
        "dni=1&dni=2",          /* duplicated, not repeatable */
        "password=hunter2",     /* secret, even though the XSD has it */
        "PassWord=hunter2",     /* case-insensitive */
        "userPassword=hunter2", /* containing a secret name */
        "access_token=hunter2",
        "clave=hunter2",
        "contrase%C3%B1a=hunter2",
        "apiKey=hunter2",
        "dni=4567%G912",  /* bad escape */
        "dni=4567%4",     /* truncated escape */
        "dni=%C3%28",     /* invalid UTF-8 */
        "dni=%C0%AF",     /* overlong */
        "dni=%ED%A0%80",  /* surrogate */
        "dni=%00",        /* NUL */
        "dni=a%0Ab",      /* control character */
        "dni=a b",        /* raw space */
        "dni=1&&tipo=CE", /* empty parameter */
        "=1",             /* no name */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_status st;
        char err[256] = "";
        map(bad[i], &st, err, sizeof err);
        ck_assert_msg(st == GW_ERR_BAD_REQUEST, "'%s' gave %d", bad[i], st);
        ck_assert_msg(err[0], "'%s' explains itself", bad[i]);
        ck_assert_msg(!strstr(err, "hunter2"), "'%s': the value is not quoted: %s", bad[i], err);
    }
}
END_TEST

START_TEST(too_many_parameters_are_refused)
{
    char q[GW_REST_MAX_PARAMS * 8 + 16] = "";
    for (int i = 0; i <= GW_REST_MAX_PARAMS; i++)
        strcat(q, i ? "&tag=x" : "tag=x");
    gw_status st;
    char err[256];
    map(q, &st, err, sizeof err);
    ck_assert_int_eq(st, GW_ERR_BAD_REQUEST);
}
END_TEST

START_TEST(secret_param_names)
{
    ck_assert(gw_rest_is_secret_param("password", 8));
    ck_assert(gw_rest_is_secret_param("CLAVE", 5));
    ck_assert(gw_rest_is_secret_param("x_token", 7));
    ck_assert(!gw_rest_is_secret_param("nuDniConsulta", 13));
}
END_TEST

START_TEST(json_writer_types_and_arrays_from_the_xsd)
{
    static const char xml[] = "<r:opResponse xmlns:r='urn:t'><n>42</n><ok>true</ok>"
                              "<item><v>a</v></item></r:opResponse>";
    xmlDocPtr doc = xmlReadMemory(xml, sizeof xml - 1, "r.xml", NULL, 0);
    gw_rest_element resp;
    char err[128];
    ck_assert_int_eq(
        gw_rest_element_read(XSD, sizeof XSD - 1, "opResponse", &arena, &resp, err, sizeof err),
        GW_OK);
    json_t *j = gw_rest_json_of(xmlDocGetRootElement(doc), &resp);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ck_assert_str_eq(s, "{\"n\":42,\"ok\":true,\"item\":[{\"v\":\"a\"}]}");
    free(s);
    json_decref(j);
    /* Without a schema: strings, and repeated names become arrays. */
    static const char xml2[] = "<x><a>1</a><a>2</a><b><c>é</c></b><d/></x>";
    xmlDocPtr doc2 = xmlReadMemory(xml2, sizeof xml2 - 1, "x.xml", "UTF-8", 0);
    j = gw_rest_json_of(xmlDocGetRootElement(doc2), NULL);
    s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ck_assert_str_eq(s, "{\"a\":[\"1\",\"2\"],\"b\":{\"c\":\"é\"},\"d\":\"\"}");
    free(s);
    json_decref(j);
    /* A value the schema types as a number but is not one stays the text it was. */
    static const char xml3[] = "<opResponse><n>4x</n></opResponse>";
    xmlDocPtr doc3 = xmlReadMemory(xml3, sizeof xml3 - 1, "y.xml", NULL, 0);
    j = gw_rest_json_of(xmlDocGetRootElement(doc3), &resp);
    ck_assert_str_eq(json_string_value(json_object_get(j, "n")), "4x");
    json_decref(j);
    xmlFreeDoc(doc);
    xmlFreeDoc(doc2);
    xmlFreeDoc(doc3);
}
END_TEST

START_TEST(cache_is_keyed_by_schema_content)
{
    const gw_rest_element *a = NULL, *b = NULL, *c = NULL;
    char err[256];
    ck_assert_int_eq(gw_rest_element_cached(XSD, sizeof XSD - 1, "op", &arena, &a, err, sizeof err),
                     GW_OK);
    ck_assert_int_eq(gw_rest_element_cached(XSD, sizeof XSD - 1, "op", &arena, &b, err, sizeof err),
                     GW_OK);
    ck_assert_ptr_eq(a, b);
    ck_assert_uint_eq(a->count, 6);
    /* Same length, other content (another catalogue's schema at the same address): re-read. */
    char other[sizeof XSD];
    memcpy(other, XSD, sizeof XSD);
    char *dni = strstr(other, "element name='dni'");
    memcpy(dni, "element name='dnx'", 18);
    ck_assert_int_eq(
        gw_rest_element_cached(other, sizeof XSD - 1, "op", &arena, &c, err, sizeof err), GW_OK);
    ck_assert_ptr_ne(a, c);
    ck_assert_str_eq(c->fields[1].name, "dnx");
    ck_assert_int_eq(
        gw_rest_element_cached(XSD, sizeof XSD - 1, "nope", &arena, &c, err, sizeof err),
        GW_ERR_UNKNOWN_OPERATION);
}
END_TEST

START_TEST(rest_statuses)
{
    ck_assert_int_eq(gw_rest_http_status(GW_ERR_SCHEMA_INVALID), 400);
    ck_assert_int_eq(gw_rest_http_status(GW_ERR_AUTHENTICATION), 401);
    ck_assert_int_eq(gw_rest_http_status(GW_ERR_ACCESS_DENIED), 403);
    ck_assert_int_eq(gw_rest_http_status(GW_ERR_UNKNOWN_OPERATION), 404);
    ck_assert_int_eq(gw_rest_http_status(GW_ERR_METHOD_NOT_ALLOWED), 405);
    ck_assert_int_eq(gw_rest_http_status(GW_ERR_REPLAY), 409);
    ck_assert_int_eq(gw_rest_http_status(GW_ERR_RATE_LIMITED), 429);
    ck_assert_int_eq(gw_rest_http_status(GW_ERR_PROVIDER_TIMEOUT), 504);
    ck_assert_int_eq(gw_rest_http_status(GW_ERR_INTERNAL), 500);
    ck_assert(gw_rest_path("/rest/X/y"));
    ck_assert(!gw_rest_path("/services/X"));
}
END_TEST

static Suite *rest_face_suite(void)
{
    Suite *suite = suite_create("rest_face");
    TCase *tc = tcase_create("rest_face");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, schema_walk_flattens_in_xsd_order_with_facets);
    tcase_add_test(tc, query_maps_in_xsd_order_with_defaults_and_placeholder);
    tcase_add_test(tc, bad_queries_are_refused_without_quoting_values);
    tcase_add_test(tc, too_many_parameters_are_refused);
    tcase_add_test(tc, secret_param_names);
    tcase_add_test(tc, json_writer_types_and_arrays_from_the_xsd);
    tcase_add_test(tc, cache_is_keyed_by_schema_content);
    tcase_add_test(tc, rest_statuses);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return check_run_suite(rest_face_suite()); }
