/* check_stage07b_bind.c — gateway/stage07b_bind.c (identity fields bound to the authenticated
 * caller) on in-memory exchanges built from a real configuration loaded by gateway/config.c,
 * plus the <identityField>/<member institutionCode> loader checks and the host's identity()
 * (gateway/host_api.c) on the same exchanges. Attacker's inputs: a spoofed value, a duplicated
 * element, one nested deeper, one in a foreign namespace, one with element content. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "check_run.h"
#include "config.h"
#include "pipeline.h"
#include "runtime.h"

static char schema_dir[PATH_MAX];
static char fixture_dir[PATH_MAX];
static char work_dir[PATH_MAX];

#define NS "http://ws.pide-gateway.org/pj/"

/* A configuration with one service whose identity fields are `fields` and extra members. */
static gw_status load(const char *fields, const char *members, gw_config **cfg, char *err,
                      size_t errlen)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/bind.xml", work_dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "<gateway xmlns=\"urn:pide-gateway:config:1\">\n"
            "<paths adapterDir=\"adapters\"/>\n"
            "<signing key=\"k\" certificate=\"c\"/>\n"
            "<database conninfo=\"host=127.0.0.1 dbname=pide user=pide_gateway\"/>\n"
            "<members><member id=\"20000000001\" name=\"Uno\"/>%s</members>\n"
            "<services><service name=\"Svc\" adapter=\"demo\" wsdl=\"%s/placeholder.wsdl\" "
            "schema=\"%s/placeholder.xsd\"><endpoint url=\"http://127.0.0.1:8091/\"/>\n"
            "%s\n<grant member=\"20000000001\" operations=\"*\"/></service></services>\n"
            "</gateway>\n",
            members, fixture_dir, fixture_dir, fields);
    fclose(f);
    return gw_config_load(path, schema_dir, cfg, err, errlen);
}

static const char PJ_FIELDS[] =
    "<identityField element=\"xRucEntidadConsultante\" is=\"member\" action=\"check\"/>"
    "<identityField element=\"xDniPersonaConsultante\" is=\"official\"/>"
    "<identityField element=\"strCodInstitucion\" is=\"institutionCode\" action=\"overwrite\"/>"
    "<identityField element=\"nuRucUsuario\" is=\"member\" action=\"overwrite\"/>";

/* One exchange: the configuration, the request's operation element, the caller. */
typedef struct fixture {
    gw_config *cfg;
    gw_runtime rt;
    gw_service service;
    xmlDocPtr doc;
    gw_exchange ex;
} fixture;

static void open_fixture(fixture *fx, const char *members, const char *member, const char *user,
                         const char *operation_xml)
{
    char err[512] = "";
    memset(fx, 0, sizeof *fx);
    ck_assert_msg(load(PJ_FIELDS, members, &fx->cfg, err, sizeof err) == GW_OK, "%s", err);
    fx->rt.config = fx->cfg;
    fx->service.config = &fx->cfg->services[0];
    fx->doc = xmlReadMemory(operation_xml, (int)strlen(operation_xml), NULL, NULL,
                            XML_PARSE_NONET);
    ck_assert_ptr_nonnull(fx->doc);
    gw_arena_init(&fx->ex.arena, 4096);
    fx->ex.rt = &fx->rt;
    fx->ex.service = &fx->service;
    fx->ex.request_operation = xmlDocGetRootElement(fx->doc);
    fx->ex.client_member = member;
    fx->ex.client_user = user;
    fx->ex.auth_method = "mtls";
}

static void close_fixture(fixture *fx)
{
    gw_arena_destroy(&fx->ex.arena);
    xmlFreeDoc(fx->doc);
    gw_config_free(fx->cfg);
}

/* Texts of every element named `name` in the request, joined by '|'. */
static const char *texts(fixture *fx, const char *name)
{
    static char out[512];
    out[0] = '\0';
    for (xmlNodePtr n = fx->ex.request_operation; n;) {
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0) {
            xmlChar *t = xmlNodeGetContent(n);
            snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", out[0] ? "|" : "",
                     (const char *)t);
            xmlFree(t);
        }
        if (n->children && n->type == XML_ELEMENT_NODE)
            n = n->children;
        else {
            while (n && !n->next && n != fx->ex.request_operation)
                n = n->parent;
            n = (n && n != fx->ex.request_operation) ? n->next : NULL;
        }
    }
    return out;
}

#define OP(body) "<pj:op xmlns:pj=\"" NS "\">" body "</pj:op>"
#define RUC_OK "<xRucEntidadConsultante>20000000001</xRucEntidadConsultante>"
#define DNI_OK "<xDniPersonaConsultante>11111111</xDniPersonaConsultante>"

static gw_status bind(fixture *fx)
{
    return gw_stage_bind(&fx->ex);
}

START_TEST(matching_fields_pass)
{
    fixture fx;
    open_fixture(&fx, "", "20000000001", "11111111", OP(RUC_OK DNI_OK));
    ck_assert_int_eq(bind(&fx), GW_OK);
    ck_assert_str_eq(fx.ex.client_user, "11111111");
    close_fixture(&fx);
}
END_TEST

START_TEST(spoofed_member_is_a_mismatch)
{
    fixture fx;
    open_fixture(&fx, "", "20000000001", "11111111",
                 OP("<xRucEntidadConsultante>20000000002</xRucEntidadConsultante>" DNI_OK));
    ck_assert_int_eq(bind(&fx), GW_ERR_IDENTITY_MISMATCH);
    ck_assert_int_eq(fx.ex.status, GW_ERR_IDENTITY_MISMATCH);
    ck_assert_ptr_nonnull(strstr(fx.ex.fault_detail, "xRucEntidadConsultante"));
    ck_assert_ptr_nonnull(strstr(fx.ex.fault_detail, "20000000001"));
    ck_assert_str_eq(fx.ex.client_member, "20000000001");
    ck_assert_str_eq(gw_status_fault_code(GW_ERR_IDENTITY_MISMATCH), "Client.IdentityMismatch");
    ck_assert_int_eq(gw_status_http_code(GW_ERR_IDENTITY_MISMATCH), 403);
    close_fixture(&fx);
}
END_TEST

START_TEST(spoofed_official_is_a_mismatch)
{
    fixture fx;
    open_fixture(&fx, "", "20000000001", "11111111",
                 OP(RUC_OK "<xDniPersonaConsultante>22222222</xDniPersonaConsultante>"));
    ck_assert_int_eq(bind(&fx), GW_ERR_IDENTITY_MISMATCH);
    ck_assert_ptr_nonnull(strstr(fx.ex.fault_detail, "official"));
    ck_assert_str_eq(fx.ex.client_user, "11111111");
    close_fixture(&fx);
}
END_TEST

START_TEST(every_occurrence_is_checked)
{
    static const char *const attacks[] = {
        /* a second element after a matching one */
        OP(RUC_OK "<xRucEntidadConsultante>20000000002</xRucEntidadConsultante>" DNI_OK),
        /* nested deeper */
        OP(RUC_OK DNI_OK "<x><y><xRucEntidadConsultante>20000000002</xRucEntidadConsultante>"
                         "</y></x>"),
        /* in a foreign namespace, even with the right value */
        OP(RUC_OK DNI_OK "<e:xRucEntidadConsultante xmlns:e=\"urn:evil\">20000000001"
                         "</e:xRucEntidadConsultante>"),
        /* element content that would read as the right text */
        OP("<xRucEntidadConsultante><a>2000000</a>0001</xRucEntidadConsultante>" DNI_OK),
        /* the official: duplicates must agree */
        OP(RUC_OK DNI_OK "<xDniPersonaConsultante>22222222</xDniPersonaConsultante>"),
    };
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        fixture fx;
        open_fixture(&fx, "", "20000000001", "11111111", attacks[i]);
        ck_assert_msg(bind(&fx) == GW_ERR_IDENTITY_MISMATCH, "attack %zu passed", i);
        close_fixture(&fx);
    }
}
END_TEST

START_TEST(same_value_with_white_space_passes)
{
    fixture fx;
    open_fixture(&fx, "", "20000000001", "11111111",
                 OP("<xRucEntidadConsultante> 20000000001\n</xRucEntidadConsultante>" DNI_OK));
    ck_assert_int_eq(bind(&fx), GW_OK);
    close_fixture(&fx);
}
END_TEST

START_TEST(without_declared_official_the_body_declares_it)
{
    fixture fx;
    open_fixture(&fx, "", "20000000001", NULL,
                 OP(RUC_OK "<xDniPersonaConsultante>22222222</xDniPersonaConsultante>"));
    ck_assert_int_eq(bind(&fx), GW_OK);
    ck_assert_str_eq(fx.ex.client_user, "22222222");
    close_fixture(&fx);

    /* ... and then every other occurrence must agree with it. */
    open_fixture(&fx, "", "20000000001", NULL,
                 OP(RUC_OK "<xDniPersonaConsultante>22222222</xDniPersonaConsultante>"
                           "<xDniPersonaConsultante>33333333</xDniPersonaConsultante>"));
    ck_assert_int_eq(bind(&fx), GW_ERR_IDENTITY_MISMATCH);
    close_fixture(&fx);
}
END_TEST

START_TEST(overwrite_replaces_every_occurrence)
{
    fixture fx;
    open_fixture(&fx, "<member id=\"20000000004\" institutionCode=\"BLOQUEADA\"/>", "20000000004",
                 NULL,
                 OP("<s><strCodInstitucion>20000000001</strCodInstitucion></s>"
                    "<strCodInstitucion>OTRA</strCodInstitucion>"
                    "<nuRucUsuario>20000000001</nuRucUsuario>"));
    ck_assert_int_eq(bind(&fx), GW_OK);
    ck_assert_str_eq(texts(&fx, "strCodInstitucion"), "BLOQUEADA|BLOQUEADA");
    ck_assert_str_eq(texts(&fx, "nuRucUsuario"), "20000000004");
    close_fixture(&fx);
}
END_TEST

START_TEST(institution_code_defaults_to_the_ruc)
{
    fixture fx;
    open_fixture(&fx, "", "20000000001", NULL,
                 OP("<strCodInstitucion>BLOQUEADA</strCodInstitucion>"));
    ck_assert_int_eq(bind(&fx), GW_OK);
    ck_assert_str_eq(texts(&fx, "strCodInstitucion"), "20000000001");
    close_fixture(&fx);
}
END_TEST

START_TEST(overwrite_does_not_insert_absent_fields)
{
    fixture fx;
    open_fixture(&fx, "", "20000000001", NULL, OP("<otro>1</otro>"));
    ck_assert_int_eq(bind(&fx), GW_OK);
    ck_assert_str_eq(texts(&fx, "strCodInstitucion"), "");
    ck_assert_ptr_null(fx.ex.client_user);
    close_fixture(&fx);
}
END_TEST

START_TEST(host_identity_reports_the_authenticated_caller)
{
    fixture fx;
    open_fixture(&fx, "<member id=\"20000000004\" name=\"Cuatro\" institutionCode=\"INST-4\"/>",
                 "20000000004", "44444444", OP("<otro>1</otro>"));
    fx.ex.header.client_subsystem = "sub";
    fx.ex.tls_cert_sha256 = "aa";
    pide_host_api api;
    gw_host_api_init(&api);
    ck_assert(PIDE_HOST_HAS(&api, identity));
    const pide_identity *id = api.identity(&fx.ex);
    ck_assert_ptr_nonnull(id);
    ck_assert_uint_eq(id->struct_size, sizeof *id);
    ck_assert_str_eq(id->member, "20000000004");
    ck_assert_str_eq(id->member_name, "Cuatro");
    ck_assert_str_eq(id->subsystem, "sub");
    ck_assert_str_eq(id->official, "44444444");
    ck_assert_str_eq(id->auth_method, "mtls");
    ck_assert_str_eq(id->cert_sha256, "aa");
    ck_assert_str_eq(id->institution_code, "INST-4");
    fx.ex.signer_cert_sha256 = "bb"; /* the log names the signer's certificate first */
    ck_assert_str_eq(api.identity(&fx.ex)->cert_sha256, "bb");
    fx.ex.client_member = NULL;
    ck_assert_ptr_null(api.identity(&fx.ex));
    close_fixture(&fx);
}
END_TEST

START_TEST(loader_refuses_bad_identity_declarations)
{
    static const struct {
        const char *fields, *members, *why;
    } bad[] = {
        {"<identityField element=\"a\" is=\"boss\"/>", "", "boss"},
        {"<identityField element=\"a\" is=\"member\" action=\"ignore\"/>", "", "ignore"},
        {"<identityField element=\"a b\" is=\"member\"/>", "", "element"},
        {"<identityField element=\"a\" is=\"member\"/><identityField element=\"a\" "
         "is=\"official\"/>", "", "declared twice"},
        {"", "<member id=\"20000000004\" institutionCode=\"a b\"/>", "institutionCode"},
        {"", "<member id=\"20000000004\" institutionCode=\"\"/>", "institutionCode"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_config *cfg = NULL;
        char err[512] = "";
        ck_assert_msg(load(bad[i].fields, bad[i].members, &cfg, err, sizeof err) == GW_ERR_CONFIG,
                      "case %zu loaded", i);
        ck_assert_msg(strstr(err, bad[i].why), "case %zu: %s", i, err);
    }
    gw_config *cfg = NULL;
    char err[512] = "";
    ck_assert_msg(load(PJ_FIELDS, "", &cfg, err, sizeof err) == GW_OK, "%s", err);
    const gw_service_config *sc = &cfg->services[0];
    ck_assert_uint_eq(sc->identity_field_count, 4);
    ck_assert_str_eq(sc->identity_fields[1].element, "xDniPersonaConsultante");
    ck_assert_int_eq(sc->identity_fields[1].source, GW_IDENTITY_OFFICIAL);
    ck_assert_int_eq(sc->identity_fields[1].action, GW_IDENTITY_CHECK); /* the default */
    ck_assert_int_eq(sc->identity_fields[2].source, GW_IDENTITY_INSTITUTION_CODE);
    ck_assert_int_eq(sc->identity_fields[2].action, GW_IDENTITY_OVERWRITE);
    gw_config_free(cfg);
}
END_TEST

int main(void)
{
    const char *src = getenv("PIDE_SOURCE_DIR");
    const char *build = getenv("PIDE_BUILD_DIR");
    if (!src || !build) {
        fprintf(stderr, "check_stage07b_bind: run through ctest (PIDE_SOURCE_DIR)\n");
        return EXIT_FAILURE;
    }
    snprintf(schema_dir, sizeof schema_dir, "%s/schemas", src);
    snprintf(fixture_dir, sizeof fixture_dir, "%s/tests/fixtures/config", src);
    snprintf(work_dir, sizeof work_dir, "%s/test-run/bind.XXXXXX", build);
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/test-run", build);
    if (access(parent, F_OK) != 0 && mkdir(parent, 0700) != 0 && access(parent, F_OK) != 0) {
        perror(parent);
        return EXIT_FAILURE;
    }
    if (!mkdtemp(work_dir)) {
        perror(work_dir);
        return EXIT_FAILURE;
    }
    xmlInitParser();
    Suite *suite = suite_create("stage07b_bind");
    TCase *tc = tcase_create("bind");
    tcase_add_test(tc, matching_fields_pass);
    tcase_add_test(tc, spoofed_member_is_a_mismatch);
    tcase_add_test(tc, spoofed_official_is_a_mismatch);
    tcase_add_test(tc, every_occurrence_is_checked);
    tcase_add_test(tc, same_value_with_white_space_passes);
    tcase_add_test(tc, without_declared_official_the_body_declares_it);
    tcase_add_test(tc, overwrite_replaces_every_occurrence);
    tcase_add_test(tc, institution_code_defaults_to_the_ruc);
    tcase_add_test(tc, overwrite_does_not_insert_absent_fields);
    tcase_add_test(tc, host_identity_reports_the_authenticated_caller);
    tcase_add_test(tc, loader_refuses_bad_identity_declarations);
    suite_add_tcase(suite, tc);
    int rc = check_run_suite(suite);
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "%s/bind.xml", work_dir);
    unlink(cmd);
    rmdir(work_dir);
    return rc;
}
