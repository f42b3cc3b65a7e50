/* check_service_page.c — the GET /services page (gateway/service_page.c) and the service
 * descriptions it shows (gw_wsdl_description, gateway/service_catalog.c): what a person reads,
 * escaped whatever the WSDLs and the configuration hold. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "service_catalog.h"
#include "service_page.h"

START_TEST(description_is_the_first_documentation)
{
    static const char wsdl[] =
        "<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\">"
        "<wsdl:portType name=\"P\"><wsdl:operation name=\"op\">"
        "<wsdl:documentation>\n   Datos   de un\tciudadano  \n</wsdl:documentation>"
        "</wsdl:operation></wsdl:portType>"
        "<wsdl:documentation>second</wsdl:documentation></wsdl:definitions>";
    char *d = gw_wsdl_description(wsdl, sizeof wsdl - 1);
    ck_assert_str_eq(d, "Datos de un ciudadano");
    free(d);
    /* none, not WSDL's namespace, not XML, empty */
    static const char none[] = "<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\"/>";
    ck_assert_ptr_null(gw_wsdl_description(none, sizeof none - 1));
    static const char other[] = "<d xmlns=\"urn:x\"><documentation>x</documentation></d>";
    ck_assert_ptr_null(gw_wsdl_description(other, sizeof other - 1));
    ck_assert_ptr_null(gw_wsdl_description("<not xml", 8));
    ck_assert_ptr_null(gw_wsdl_description(NULL, 0));
}
END_TEST

START_TEST(description_is_bounded_at_a_character)
{
    /* 300 two-byte characters (600 bytes) are cut at 400 bytes without splitting one. */
    char wsdl[2048];
    size_t n = (size_t)snprintf(wsdl, sizeof wsdl, "%s",
                                "<w:definitions xmlns:w=\"http://schemas.xmlsoap.org/wsdl/\">"
                                "<w:documentation>");
    for (int i = 0; i < 300; i++) {
        wsdl[n++] = (char)0xC3;
        wsdl[n++] = (char)0xB1; /* ñ */
    }
    n += (size_t)snprintf(wsdl + n, sizeof wsdl - n, "</w:documentation></w:definitions>");
    char *d = gw_wsdl_description(wsdl, n);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_le(strlen(d), 400);
    ck_assert_uint_eq(strlen(d) % 2, 0);
    free(d);
}
END_TEST

static const char *const ops[] = {"consultar", "<b>", NULL};
static const char *const star[] = {"*", NULL};

START_TEST(page_lists_and_escapes)
{
    pide_adapter a1 = {.name = "reniec", .version = "1.0.0", .operations = ops};
    pide_adapter a2 = {.name = "xslt", .version = "0.1\"", .operations = star};
    const char *names[] = {"operations"}, *values[] = {"getDatos <i>"};
    pide_service_config pc2 = {.service_name = "S2", .param_count = 1, .param_names = names,
                               .param_values = values};
    gw_service_binding b1 = {.adapter = &a1}, b2 = {.adapter = &a2, .service_config = &pc2};
    gw_service_config c1 = {.name = "Reniec<script>alert(1)</script>"}, c2 = {.name = "S2 x/y"};
    gw_service svcs[2] = {
        {.index = 0, .config = &c1, .binding = &b1, .description = "A & B <i>"},
        {.index = 1, .config = &c2, .binding = &b2},
    };
    gw_service_catalog cat = {.services = svcs, .count = 2};
    char *page = NULL;
    size_t len = 0;
    ck_assert_int_eq(gw_service_page_build(&cat, &page, &len), GW_OK);
    ck_assert_uint_eq(len, strlen(page));
    ck_assert_ptr_nonnull(strstr(page, "<h2>Reniec&lt;script&gt;alert(1)&lt;/script&gt;</h2>"));
    ck_assert_ptr_null(strstr(page, "<script>"));
    ck_assert_ptr_nonnull(strstr(page, "<p>A &amp; B &lt;i&gt;</p>"));
    ck_assert_ptr_nonnull(strstr(page, "<code>consultar</code>, <code>&lt;b&gt;</code>"));
    ck_assert_ptr_nonnull(strstr(page, "versión <code>1.0.0</code>"));
    ck_assert_ptr_nonnull(strstr(page, "href=\"/services/Reniec%3Cscript%3Ealert%281%29%3C%2Fscript%3E?wsdl\""));
    /* "*": the operations the service's configuration names */
    ck_assert_ptr_nonnull(strstr(page, "<code>getDatos &lt;i&gt;</code>"));
    ck_assert_ptr_nonnull(strstr(page, "<code>0.1&quot;</code>"));
    ck_assert_ptr_nonnull(strstr(page, "href=\"/services/S2%20x%2Fy?wsdl\""));
    free(page);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_page");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, description_is_the_first_documentation);
    tcase_add_test(tc, description_is_bounded_at_a_character);
    tcase_add_test(tc, page_lists_and_escapes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
