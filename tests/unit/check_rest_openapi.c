/* check_rest_openapi.c — the OpenAPI 3.1 document of a service's REST face, from its XSD: one
 * path per operation (the adapter's list, or the schema's request elements for "*"), query
 * parameters with the XSD facets (anchored pattern, lengths, enumeration, exploded arrays), no
 * secret-named parameter, identity fields optional, the response schema typed from the XSD,
 * the Error schema, the signature header and security mutualTLS. */
#include <check.h>
#include <string.h>

#include <jansson.h>

#include "check_run.h"
#include "rest_openapi.h"
#include "service_catalog.h"

static const char XSD[] =
    "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema' xmlns:t='urn:t' "
    "targetNamespace='urn:t'>"
    " <xs:element name='op'><xs:complexType><xs:sequence>"
    "  <xs:element name='dni'><xs:simpleType><xs:restriction base='xs:string'>"
    "   <xs:pattern value='[0-9]{8}'/><xs:maxLength value='8'/></xs:restriction>"
    "  </xs:simpleType></xs:element>"
    "  <xs:element name='tipo'><xs:simpleType><xs:restriction base='xs:string'>"
    "   <xs:enumeration value='CE'/><xs:enumeration value='PAS'/></xs:restriction>"
    "  </xs:simpleType></xs:element>"
    "  <xs:element name='ruc' type='xs:string'/>"
    "  <xs:element name='clave' type='xs:string'/>"
    "  <xs:element name='tag' type='xs:string' minOccurs='0' maxOccurs='5'/>"
    " </xs:sequence></xs:complexType></xs:element>"
    " <xs:element name='opResponse'><xs:complexType><xs:sequence>"
    "  <xs:element name='n' type='xs:int'/>"
    "  <xs:element name='item' minOccurs='0' maxOccurs='unbounded'><xs:complexType>"
    "   <xs:sequence><xs:element name='v' type='xs:string'/></xs:sequence></xs:complexType>"
    "  </xs:element></xs:sequence></xs:complexType></xs:element>"
    " <xs:element name='other' type='xs:string'/>"
    "</xs:schema>";

static json_t *document(const char *const *ops)
{
    static gw_identity_field idf[] = {{"ruc", GW_IDENTITY_MEMBER, GW_IDENTITY_CHECK}};
    gw_service_config sc = {.name = "Svc", .identity_fields = idf, .identity_field_count = 1};
    pide_adapter ad = {.name = "t", .operations = ops};
    gw_service_binding b = {.adapter = &ad};
    gw_service svc = {
        .config = &sc, .schema_text = (char *)XSD, .schema_len = sizeof XSD - 1, .binding = &b};
    char *out = NULL, err[256] = "";
    size_t len = 0;
    ck_assert_msg(gw_rest_openapi(&svc, &out, &len, err, sizeof err) == GW_OK, "%s", err);
    json_error_t je;
    json_t *doc = json_loadb(out, len, JSON_REJECT_DUPLICATES, &je);
    ck_assert_msg(doc != NULL, "not JSON: %s", je.text);
    free(out);
    return doc;
}

static json_t *param(json_t *doc, const char *name)
{
    json_t *ps = json_object_get(
        json_object_get(json_object_get(json_object_get(doc, "paths"), "/op"), "get"),
        "parameters");
    for (size_t i = 0; i < json_array_size(ps); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(ps, i), "name")), name) == 0)
            return json_array_get(ps, i);
    return NULL;
}

START_TEST(document_from_the_xsd)
{
    static const char *const ops[] = {"op", NULL};
    json_t *doc = document(ops);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *dni = json_object_get(param(doc, "dni"), "schema");
    ck_assert_str_eq(json_string_value(json_object_get(dni, "pattern")), "^(?:[0-9]{8})$");
    ck_assert_int_eq(json_integer_value(json_object_get(dni, "maxLength")), 8);
    ck_assert(json_is_true(json_object_get(param(doc, "dni"), "required")));
    ck_assert_uint_eq(
        json_array_size(json_object_get(json_object_get(param(doc, "tipo"), "schema"), "enum")), 2);
    ck_assert_ptr_null(param(doc, "clave"));
    ck_assert(json_is_false(json_object_get(param(doc, "ruc"), "required"))); /* identity */
    json_t *tag = param(doc, "tag");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(tag, "schema"), "type")),
                     "array");
    ck_assert(json_is_true(json_object_get(tag, "explode")));
    ck_assert_ptr_nonnull(param(doc, "PIDE-Message-Id"));
    json_t *get = json_object_get(json_object_get(json_object_get(doc, "paths"), "/op"), "get");
    json_t *ok = json_object_get(json_object_get(get, "responses"), "200");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(ok, "headers"), "X-Pide-Signature"));
    json_t *schema = json_object_get(
        json_object_get(json_object_get(ok, "content"), "application/json"), "schema");
    json_t *resp = json_object_get(json_object_get(schema, "properties"), "opResponse");
    json_t *props = json_object_get(resp, "properties");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(props, "n"), "type")),
                     "integer");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(props, "item"), "type")),
                     "array");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(get, "responses"), "403"));
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_object_get(doc, "components"), "securitySchemes"),
                            "mutualTLS"),
            "type")),
        "mutualTLS");
    json_decref(doc);
}
END_TEST

START_TEST(star_adapter_offers_the_schemas_request_elements)
{
    static const char *const ops[] = {"*", NULL};
    json_t *doc = document(ops);
    json_t *paths = json_object_get(doc, "paths");
    ck_assert_uint_eq(json_object_size(paths), 1);
    ck_assert_ptr_nonnull(json_object_get(paths, "/op"));
    json_decref(doc);
}
END_TEST

static Suite *rest_openapi_suite(void)
{
    Suite *suite = suite_create("rest_openapi");
    TCase *tc = tcase_create("openapi");
    tcase_add_test(tc, document_from_the_xsd);
    tcase_add_test(tc, star_adapter_offers_the_schemas_request_elements);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return check_run_suite(rest_openapi_suite()); }
