/*
 * check_config.c — tests of gateway/config.c: the shipped configurations load, every broken
 * configuration in tests/fixtures/config/ is refused with the right file:line and reason,
 * defaults apply, and relative paths are resolved against the configuration's folder.
 * ctest-fixtures: pki
 */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "config.h"

static char source_dir[PATH_MAX];
static char schema_dir[PATH_MAX + 64];
static char fixture_dir[PATH_MAX + 64]; /* realpath of tests/fixtures/config */

static void setup_paths(void)
{
    const char *src = getenv("PIDE_SOURCE_DIR");
    ck_assert_msg(src != NULL, "PIDE_SOURCE_DIR must name the repository root");
    ck_assert_ptr_nonnull(realpath(src, source_dir));
    snprintf(schema_dir, sizeof schema_dir, "%s/schemas", source_dir);
    snprintf(fixture_dir, sizeof fixture_dir, "%s/tests/fixtures/config", source_dir);
}

static char *in_dir(char *buf, size_t len, const char *dir, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    ck_assert(n > 0 && (size_t)n < len);
    return buf;
}

START_TEST(test_example_configurations_load)
{
    static const char *examples[] = {"conf/pide-gateway.xml", "conf/demo.xml"};
    for (size_t i = 0; i < sizeof examples / sizeof *examples; i++) {
        char path[PATH_MAX + 64], err[1024] = "", want[PATH_MAX + 64];
        gw_config *cfg = NULL;
        in_dir(path, sizeof path, source_dir, examples[i]);
        gw_status st = gw_config_load(path, schema_dir, &cfg, err, sizeof err);
        ck_assert_msg(st == GW_OK, "%s: %s", examples[i], err);

        ck_assert_str_eq(cfg->path, path);
        ck_assert_str_eq(cfg->listen_address, "127.0.0.1");
        ck_assert_int_eq(cfg->listen_port, 8080);
        const gw_service_config *svc = gw_config_find_service(cfg, "ReniecConsultaDni");
        ck_assert_ptr_nonnull(svc);
        ck_assert_str_eq(svc->adapter, "reniec");
        ck_assert_int_eq(svc->legacy_credentials, 1);
        ck_assert_str_eq(svc->wsdl_path,
                         in_dir(want, sizeof want, source_dir, "wsdl/ReniecConsultaDni.wsdl"));
        ck_assert_str_eq(svc->schema_path,
                         in_dir(want, sizeof want, source_dir, "schemas/reniec-consulta.xsd"));
        ck_assert_str_eq(cfg->adapter_dir, in_dir(want, sizeof want, source_dir, "build/adapters"));
        ck_assert_str_eq(cfg->db_password_file,
                         in_dir(want, sizeof want, source_dir, "var/pg/gateway.password"));
        ck_assert_str_eq(gw_service_param(svc, "entityCode"), "PIDE-GW");
        const gw_member *m = gw_config_find_member(cfg, "20000000001");
        ck_assert_ptr_nonnull(m);
        ck_assert_uint_eq(m->credential_count, 1);
        ck_assert_str_eq(m->credentials[0].user_dni, "11111111");
        ck_assert_str_eq(svc->grants[0].member_id, "20000000001");
        ck_assert_str_eq(svc->grants[0].operations[0], "consultar");
        ck_assert_ptr_null(svc->grants[0].operations[1]);
        gw_config_free(cfg);
    }
}
END_TEST

/* Each broken fixture, the line its error must name and a piece of the reason. */
static const struct bad_case {
    const char *file;
    int line;
    const char *reason;
} bad_cases[] = {
    {"bad-unknown-element.xml", 4, "Element 'listner': This element is not expected"},
    {"bad-missing-attribute.xml", 5, "attribute 'certificate' is required"},
    {"bad-duplicate-service.xml", 17, "duplicate service 'Svc' (first declared at line 13)"},
    {"bad-unknown-member.xml", 15, "grant to unknown member '20999999999'"},
    {"bad-missing-wsdl.xml", 13, "no-such-file.wsdl: No such file or directory"},
    {"bad-url.xml", 14,
     "endpoint url 'ftp://127.0.0.1/padron' must start with http:// or https://"},
    {"bad-port.xml", 4, "listen port 70000 is out of range 0..65535"},
    {"bad-plain-public.xml", 4,
     "the plain HTTP listener must be on a loopback address, not '0.0.0.0'"},
    {"bad-not-well-formed.xml", 5, "not well-formed XML: "},
    {"bad-hash.xml", 9, "malformed passwordHash: password hash must start with"},
    {"bad-ruc.xml", 8, "member id '2000000001' is not a RUC (11 digits)"},
    {"bad-duplicate-member.xml", 11,
     "duplicate member id '20000000001' (first declared at line 8)"},
    {"bad-doctype.xml", 1, "DOCTYPE declarations are not allowed"},
};

START_TEST(test_bad_configuration_is_refused_with_file_line_and_reason)
{
    const struct bad_case *c = &bad_cases[_i];
    char path[PATH_MAX + 64], err[1024] = "", prefix[PATH_MAX + 128];
    gw_config *cfg = (gw_config *)&cfg; /* must be reset to NULL on failure */
    in_dir(path, sizeof path, fixture_dir, c->file);
    gw_status st = gw_config_load(path, schema_dir, &cfg, err, sizeof err);
    ck_assert_msg(st == GW_ERR_CONFIG, "%s loaded (%s)", c->file, gw_status_name(st));
    ck_assert_ptr_null(cfg);
    snprintf(prefix, sizeof prefix, "%s:%d: ", path, c->line);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "%s: want prefix '%s', got '%s'",
                  c->file, prefix, err);
    ck_assert_msg(strstr(err, c->reason) != NULL, "%s: want '%s' in '%s'", c->file, c->reason,
                  err);
}
END_TEST

START_TEST(test_defaults_and_relative_paths)
{
    char path[PATH_MAX + 64], err[1024] = "", want[PATH_MAX + 64];
    gw_config *cfg = NULL;
    in_dir(path, sizeof path, fixture_dir, "good-minimal.xml");
    ck_assert_msg(gw_config_load(path, schema_dir, &cfg, err, sizeof err) == GW_OK, "%s", err);

    ck_assert_str_eq(cfg->listen_address, "127.0.0.1");
    ck_assert_int_eq(cfg->listen_port, 8080);
    ck_assert_int_eq(cfg->workers, 64);
    ck_assert_int_eq(cfg->max_in_flight, 128);
    ck_assert_int_eq(cfg->backlog, 256);
    ck_assert_uint_eq(cfg->max_body_bytes, 1048576);
    ck_assert_int_eq(cfg->max_xml_depth, 64);
    ck_assert_uint_eq(cfg->max_xml_nodes, 10000);
    ck_assert_int_eq(cfg->recv_timeout_s, 10);
    ck_assert_int_eq(cfg->send_timeout_s, 10);
    ck_assert_int_eq(cfg->keepalive_idle_s, 30);
    ck_assert_uint_eq(cfg->max_header_bytes, 32768);
    ck_assert_int_eq(cfg->handshake_timeout_s, 5);
    ck_assert_int_eq(cfg->max_handshakes_per_ip, 16);
    ck_assert_int_eq(cfg->log_batch_max, 256);
    ck_assert_int_eq(cfg->log_commit_timeout_ms, 5000);
    ck_assert_ptr_null(cfg->db_password_file);

    ck_assert_str_eq(cfg->adapter_dir, in_dir(want, sizeof want, fixture_dir, "adapters"));
    ck_assert_str_eq(cfg->signing_key_path,
                     in_dir(want, sizeof want, fixture_dir, "keys/sign.key"));
    ck_assert_str_eq(cfg->signing_cert_path,
                     in_dir(want, sizeof want, fixture_dir, "keys/sign.pem"));

    ck_assert_uint_eq(cfg->service_count, 1);
    const gw_service_config *svc = &cfg->services[0];
    ck_assert_str_eq(svc->wsdl_path, in_dir(want, sizeof want, fixture_dir, "placeholder.wsdl"));
    ck_assert_uint_eq(svc->timeout_ms, 5000);
    ck_assert_int_eq(svc->legacy_credentials, 0);
    ck_assert_int_eq(svc->line, 13);
    ck_assert_uint_eq(svc->param_count, 0);
    ck_assert_ptr_null(gw_service_param(svc, "entityCode"));
    ck_assert_str_eq(svc->grants[0].operations[0], "op1");
    ck_assert_str_eq(svc->grants[0].operations[1], "op2");
    ck_assert_ptr_null(svc->grants[0].operations[2]);
    ck_assert_str_eq(cfg->members[0].name, "Uno");
    ck_assert_ptr_null(gw_config_find_service(cfg, "Nope"));
    ck_assert_ptr_null(gw_config_find_member(cfg, "20000000009"));
    gw_config_free(cfg);
}
END_TEST

/* Paths follow the file, not the working directory the gateway was started from. */
START_TEST(test_relative_config_path_from_another_directory)
{
    char cwd[PATH_MAX], parent[PATH_MAX + 64], err[1024] = "", want[PATH_MAX + 64];
    gw_config *cfg = NULL;
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    in_dir(parent, sizeof parent, source_dir, "tests/fixtures");
    ck_assert_int_eq(chdir(parent), 0);
    gw_status st = gw_config_load("config/good-minimal.xml", schema_dir, &cfg, err, sizeof err);
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_msg(st == GW_OK, "%s", err);
    ck_assert_str_eq(cfg->path, "config/good-minimal.xml");
    ck_assert_str_eq(cfg->adapter_dir, in_dir(want, sizeof want, fixture_dir, "adapters"));
    gw_config_free(cfg);

    ck_assert_int_eq(chdir(parent), 0);
    st = gw_config_load("config/bad-port.xml", schema_dir, &cfg, err, sizeof err);
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_int_eq(st, GW_ERR_CONFIG);
    ck_assert_msg(strncmp(err, "config/bad-port.xml:4: ", 23) == 0, "%s", err);
}
END_TEST

__attribute__((format(printf, 1, 2)))
static char *config_text(const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&text, fmt, ap), 0);
    va_end(ap);
    return text;
}

/* Writes `body` (then frees it) as gw.xml in a fresh folder. */
static void write_config(char *dir, size_t dirlen, char *path, size_t pathlen, char *body)
{
    snprintf(dir, dirlen, "/tmp/check_config.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    in_dir(path, pathlen, dir, "gw.xml");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(body, f);
    fclose(f);
    free(body);
}

static void remove_config(const char *dir, const char *path)
{
    unlink(path);
    rmdir(dir);
}

#define CONFIG_TEMPLATE(listen, database, service_attrs, endpoint)                                 \
    "<gateway xmlns=\"urn:pide-gateway:config:1\">\n" listen                                     \
    "<paths adapterDir=\"/opt/adapters\"/>\n"                                                    \
    "<signing key=\"/k\" certificate=\"/c\"/>\n" database "<services>\n"                          \
    "<service name=\"S\" adapter=\"a\" " service_attrs ">\n" endpoint "</service>\n"              \
    "</services>\n</gateway>\n"

START_TEST(test_database_conninfo_must_not_hold_a_password)
{
    char dir[64], path[128], err[1024] = "", fixture[PATH_MAX + 64];
    in_dir(fixture, sizeof fixture, fixture_dir, "placeholder");
    char *body = config_text(
             CONFIG_TEMPLATE("", "<database conninfo=\"dbname=pide password=hunter2\"/>\n",
                             "wsdl=\"%s.wsdl\" schema=\"%s.xsd\"",
                             "<endpoint url=\"https://[::1]:8443/x\"/>\n"),
             fixture, fixture);
    write_config(dir, sizeof dir, path, sizeof path, body);
    gw_config *cfg = NULL;
    gw_status st = gw_config_load(path, schema_dir, &cfg, err, sizeof err);
    remove_config(dir, path);
    ck_assert_int_eq(st, GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, ":4: database conninfo must not contain a password"), "%s", err);
    ck_assert_msg(strstr(err, "hunter2") == NULL, "the error repeats the password: %s", err);
}
END_TEST

/* <auditService>: the demo grants it to the demo agency over the auditor role; a grant to an
 * unknown member and a password in its conninfo are refused. */
START_TEST(test_audit_service)
{
    char path[PATH_MAX + 64], err[1024] = "";
    gw_config *cfg = NULL;
    in_dir(path, sizeof path, source_dir, "conf/demo.xml");
    ck_assert_msg(gw_config_load(path, schema_dir, &cfg, err, sizeof err) == GW_OK, "%s", err);
    ck_assert_ptr_nonnull(strstr(cfg->audit_conninfo, "user=pide_auditor"));
    ck_assert_int_eq(cfg->audit_statement_timeout_ms, 5000);
    ck_assert_int_eq((int)cfg->audit_grant_count, 1);
    ck_assert_str_eq(cfg->audit_grants[0].member_id, "20000000001");
    ck_assert_str_eq(cfg->audit_grants[0].operations[0], "*");
    gw_config_free(cfg);

    static const char *const cases[][2] = {
        {"conninfo=\"dbname=pide user=pide_auditor\"><grant member=\"20000000009\" operations=\"*\"/>",
         "grant to unknown member '20000000009'"},
        {"conninfo=\"dbname=pide password=hunter2\">", "conninfo must not carry the password"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[64], cpath[128], fixture[PATH_MAX + 64];
        in_dir(fixture, sizeof fixture, fixture_dir, "placeholder");
        char *body = config_text(
            CONFIG_TEMPLATE("<auditService wsdl=\"%s.wsdl\" schema=\"%s.xsd\" %s</auditService>\n",
                            "<database conninfo=\"dbname=pide\"/>\n",
                            "wsdl=\"%s.wsdl\" schema=\"%s.xsd\"",
                            "<endpoint url=\"https://[::1]:8443/x\"/>\n"),
            fixture, fixture, cases[i][0], fixture, fixture);
        write_config(dir, sizeof dir, cpath, sizeof cpath, body);
        cfg = NULL;
        gw_status st = gw_config_load(cpath, schema_dir, &cfg, err, sizeof err);
        remove_config(dir, cpath);
        ck_assert_int_eq(st, GW_ERR_CONFIG);
        ck_assert_msg(strstr(err, cases[i][1]), "%s", err);
        ck_assert_msg(strstr(err, "hunter2") == NULL, "the error repeats the password: %s", err);
    }
}
END_TEST

/* maxInFlight: kept when given, refused below the worker count (idle workers), with the line. */
START_TEST(test_max_in_flight)
{
    static const struct {
        const char *listen;
        int want; /* 0: refused */
    } cases[] = {
        {"<listen workers=\"4\" maxInFlight=\"400\"/>\n", 400},
        {"<listen workers=\"4\" maxInFlight=\"4\"/>\n", 4},
        {"<listen workers=\"4\" maxInFlight=\"3\"/>\n", 0},
        {"<listen maxInFlight=\"100000\"/>\n", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[64], path[128], err[1024] = "", fixture[PATH_MAX + 64];
        in_dir(fixture, sizeof fixture, fixture_dir, "placeholder");
        char *body = config_text(CONFIG_TEMPLATE("%s", "<database conninfo=\"dbname=pide\"/>\n",
                                                 "wsdl=\"%s.wsdl\" schema=\"%s.xsd\"",
                                                 "<endpoint url=\"https://[::1]:8443/x\"/>\n"),
                                 cases[i].listen, fixture, fixture);
        write_config(dir, sizeof dir, path, sizeof path, body);
        gw_config *cfg = NULL;
        gw_status st = gw_config_load(path, schema_dir, &cfg, err, sizeof err);
        remove_config(dir, path);
        if (cases[i].want) {
            ck_assert_msg(st == GW_OK, "%s: %s", cases[i].listen, err);
            ck_assert_int_eq(cfg->max_in_flight, cases[i].want);
            gw_config_free(cfg);
        } else {
            ck_assert_msg(st == GW_ERR_CONFIG, "%s accepted", cases[i].listen);
            ck_assert_msg(strstr(err, ":2: ") && strstr(err, "maxInFlight"), "%s", err);
        }
    }
}
END_TEST

/* <limits replayScope> (cluster by default) and <cluster nodes> (1 by default): docs/scaling.md. */
START_TEST(test_replay_scope_and_cluster_nodes)
{
    static const struct {
        const char *element;
        int want_cluster, want_nodes; /* want_nodes 0: refused, err names `needle` */
        const char *needle;
    } cases[] = {
        {"", 1, 1, NULL},
        {"<limits replayScope=\"cluster\"/>\n", 1, 1, NULL},
        {"<limits replayScope=\"node\"/>\n", 0, 1, NULL},
        {"<cluster nodes=\"3\"/>\n", 1, 3, NULL},
        {"<limits replayScope=\"global\"/>\n", 0, 0, "replayScope"},
        {"<limits replayScope=\"\"/>\n", 0, 0, "replayScope"},
        {"<cluster nodes=\"0\"/>\n", 0, 0, "nodes"},
        {"<cluster nodes=\"1025\"/>\n", 0, 0, "nodes"},
        {"<cluster nodes=\"two\"/>\n", 0, 0, "nodes"},
        {"<cluster/>\n<cluster nodes=\"2\"/>\n", 0, 0, "cluster"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[64], path[128], err[1024] = "", fixture[PATH_MAX + 64];
        in_dir(fixture, sizeof fixture, fixture_dir, "placeholder");
        char *body = config_text(CONFIG_TEMPLATE("%s", "<database conninfo=\"dbname=pide\"/>\n",
                                                 "wsdl=\"%s.wsdl\" schema=\"%s.xsd\"",
                                                 "<endpoint url=\"https://[::1]:8443/x\"/>\n"),
                                 cases[i].element, fixture, fixture);
        write_config(dir, sizeof dir, path, sizeof path, body);
        gw_config *cfg = NULL;
        gw_status st = gw_config_load(path, schema_dir, &cfg, err, sizeof err);
        remove_config(dir, path);
        if (cases[i].want_nodes) {
            ck_assert_msg(st == GW_OK, "%s: %s", cases[i].element, err);
            ck_assert_int_eq(cfg->replay_cluster, cases[i].want_cluster);
            ck_assert_int_eq(cfg->cluster_nodes, cases[i].want_nodes);
            gw_config_free(cfg);
        } else {
            ck_assert_msg(st == GW_ERR_CONFIG, "%s accepted", cases[i].element);
            ck_assert_msg(strstr(err, cases[i].needle), "%s: %s", cases[i].element, err);
        }
    }
}
END_TEST

START_TEST(test_absolute_paths_and_explicit_values_are_kept)
{
    char dir[64], path[128], err[1024] = "", fixture[PATH_MAX + 64];
    in_dir(fixture, sizeof fixture, fixture_dir, "placeholder");
    char *body = config_text(
             CONFIG_TEMPLATE("<listen address=\"127.0.0.2\" port=\"9443\" workers=\"4\"/>\n",
                             "<database conninfo=\"dbname=pide\" passwordFile=\"/run/pw\" "
                             "batchMax=\"32\"/>\n",
                             "wsdl=\"%s.wsdl\" schema=\"%s.xsd\" legacyCredentials=\"1\"",
                             "<endpoint url=\"https://[::1]:8443/x\" timeoutMs=\"250\"/>\n"),
             fixture, fixture);
    write_config(dir, sizeof dir, path, sizeof path, body);
    gw_config *cfg = NULL;
    gw_status st = gw_config_load(path, schema_dir, &cfg, err, sizeof err);
    remove_config(dir, path);
    ck_assert_msg(st == GW_OK, "%s", err);
    ck_assert_str_eq(cfg->listen_address, "127.0.0.2");
    ck_assert_int_eq(cfg->listen_port, 9443);
    ck_assert_int_eq(cfg->workers, 4);
    ck_assert_int_eq(cfg->max_in_flight, 8); /* twice the workers unless said */
    ck_assert_int_eq(cfg->log_batch_max, 32);
    ck_assert_str_eq(cfg->adapter_dir, "/opt/adapters");
    ck_assert_str_eq(cfg->db_password_file, "/run/pw");
    ck_assert_uint_eq(cfg->services[0].timeout_ms, 250);
    ck_assert_int_eq(cfg->services[0].legacy_credentials, 1);
    ck_assert_uint_eq(cfg->member_count, 0);
    gw_config_free(cfg);
}
END_TEST

START_TEST(test_endpoint_url_forms)
{
    static const struct {
        const char *url;
        const char *problem; /* NULL: accepted */
    } urls[] = {
        {"http://127.0.0.1:8091/", NULL},
        {"https://reniec.example.gob.pe/padron/v2?x=1", NULL},
        {"http://[::1]:8091", NULL},
        {"http://:8091/", "has no host"},
        {"http://host:0/", "outside 1..65535"},
        {"http://host:99999/", "outside 1..65535"},
        {"http://user:pw@host/", "must not carry credentials"},
        {"http://host/a b", "whitespace"},
        {"HTTP//host", "must start with http:// or https://"},
    };
    char fixture[PATH_MAX + 64];
    in_dir(fixture, sizeof fixture, fixture_dir, "placeholder");
    for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
        char dir[64], path[128], err[1024] = "", endpoint[256];
        snprintf(endpoint, sizeof endpoint, "<endpoint url=\"%s\"/>\n", urls[i].url);
        char *body = config_text(
                 CONFIG_TEMPLATE("", "<database conninfo=\"dbname=pide\"/>\n",
                                 "wsdl=\"%s.wsdl\" schema=\"%s.xsd\"", "%s"),
                 fixture, fixture, endpoint);
        write_config(dir, sizeof dir, path, sizeof path, body);
        gw_config *cfg = NULL;
        gw_status st = gw_config_load(path, schema_dir, &cfg, err, sizeof err);
        remove_config(dir, path);
        if (!urls[i].problem) {
            ck_assert_msg(st == GW_OK, "%s refused: %s", urls[i].url, err);
            ck_assert_str_eq(cfg->services[0].endpoint_url, urls[i].url);
            gw_config_free(cfg);
        } else {
            ck_assert_msg(st == GW_ERR_CONFIG, "%s accepted", urls[i].url);
            ck_assert_msg(strstr(err, ":7: service 'S': endpoint url") &&
                              strstr(err, urls[i].problem),
                          "%s: %s", urls[i].url, err);
        }
    }
}
END_TEST

/* <database><checkpoint>: defaults, explicit values, and what the loader refuses. */
START_TEST(test_checkpoint_settings)
{
    static const struct {
        const char *element;
        const char *problem; /* NULL: accepted */
    } cases[] = {
        {"<checkpoint/>", NULL},
        {"<checkpoint nodeId=\"gw-1\" everyRows=\"5\" everySeconds=\"2\" "
         "timestampUrl=\"http://127.0.0.1:8094/tsa\" stampGraceSeconds=\"7\" "
         "onStampFailure=\"continue\" stampTimeoutMs=\"900\"/>", NULL},
        {"<checkpoint timestampUrl=\"https://tsa.example/tsa\"/>", "must be an http:// URL"},
        {"<checkpoint onStampFailure=\"ignore\"/>", "onStampFailure"},
        {"<checkpoint everyRows=\"0\"/>", "everyRows"},
        {"<checkpoint bogus=\"1\"/>", "bogus"},
    };
    char fixture[PATH_MAX + 64];
    in_dir(fixture, sizeof fixture, fixture_dir, "placeholder");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dir[64], path[128], err[1024] = "", database[512];
        snprintf(database, sizeof database, "<database conninfo=\"dbname=pide\">%s</database>\n",
                 cases[i].element);
        char *body = config_text(CONFIG_TEMPLATE("", "%s", "wsdl=\"%s.wsdl\" schema=\"%s.xsd\"",
                                                 "<endpoint url=\"http://127.0.0.1:1/\"/>\n"),
                                 database, fixture, fixture);
        write_config(dir, sizeof dir, path, sizeof path, body);
        gw_config *cfg = NULL;
        gw_status st = gw_config_load(path, schema_dir, &cfg, err, sizeof err);
        remove_config(dir, path);
        if (cases[i].problem) {
            ck_assert_msg(st == GW_ERR_CONFIG, "accepted: %s", cases[i].element);
            ck_assert_msg(strstr(err, cases[i].problem), "%s: %s", cases[i].element, err);
            continue;
        }
        ck_assert_msg(st == GW_OK, "%s: %s", cases[i].element, err);
        ck_assert_int_eq(cfg->checkpoint_enabled, 1);
        if (i == 0) {
            ck_assert_int_eq(cfg->checkpoint_every_rows, 1000);
            ck_assert_int_eq(cfg->checkpoint_every_seconds, 10);
            ck_assert_int_eq(cfg->checkpoint_stamp_grace_s, 300);
            ck_assert_int_eq(cfg->checkpoint_refuse_unstamped, 1);
            ck_assert_ptr_null(cfg->checkpoint_timestamp_url);
            ck_assert(cfg->checkpoint_node_id && cfg->checkpoint_node_id[0]);
        } else {
            ck_assert_str_eq(cfg->checkpoint_node_id, "gw-1");
            ck_assert_int_eq(cfg->checkpoint_every_rows, 5);
            ck_assert_int_eq(cfg->checkpoint_every_seconds, 2);
            ck_assert_int_eq(cfg->checkpoint_stamp_grace_s, 7);
            ck_assert_int_eq(cfg->checkpoint_stamp_timeout_ms, 900);
            ck_assert_int_eq(cfg->checkpoint_refuse_unstamped, 0);
            ck_assert_str_eq(cfg->checkpoint_timestamp_url, "http://127.0.0.1:8094/tsa");
        }
        gw_config_free(cfg);
    }
}
END_TEST

/* <signing key="pkcs11:..." pinFile module>: the URI is kept as written and checked at load
 * (file:line), pinFile and module resolved like other paths; they are refused with a file key,
 * and a token key needs a PIN file. A PIN in the URI is refused without being repeated. */
START_TEST(test_signing_key_in_a_token)
{
    static const struct {
        const char *signing;
        const char *problem; /* NULL: accepted */
    } cases[] = {
        {"<signing key=\"pkcs11:token=pide;object=gateway-sign;type=private\" certificate=\"/c\" "
         "pinFile=\"pin\" module=\"/usr/lib/softhsm/libsofthsm2.so\"/>",
         NULL},
        {"<signing key=\"pkcs11:token=pide;object=s?pin-source=file:/etc/pin\" certificate=\"/c\"/>",
         NULL},
        {"<signing key=\"pkcs11:token=pide;object=s\" certificate=\"/c\"/>", "needs its PIN file"},
        {"<signing key=\"pkcs11:token=pide\" certificate=\"/c\" pinFile=\"/p\"/>",
         "object= (the label) or id= is required"},
        {"<signing key=\"pkcs11:object=s?pin-value=24681357\" certificate=\"/c\"/>",
         "pin-value is refused"},
        {"<signing key=\"/k\" certificate=\"/c\" pinFile=\"/p\"/>", "apply only to a PKCS#11 key"},
        {"<signing key=\"/k\" certificate=\"/c\" module=\"/m.so\"/>",
         "apply only to a PKCS#11 key"},
        {"<signing key=\"\" certificate=\"/c\"/>", "minLength"},
    };
    char fixture[PATH_MAX + 64];
    in_dir(fixture, sizeof fixture, fixture_dir, "placeholder");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dir[64], path[128], err[1024] = "", want[256];
        char *body = config_text(
            "<gateway xmlns=\"urn:pide-gateway:config:1\">\n<paths adapterDir=\"/opt/adapters\"/>\n"
            "%s\n<database conninfo=\"dbname=pide\"/>\n<services>\n<service name=\"S\" "
            "adapter=\"a\" wsdl=\"%s.wsdl\" schema=\"%s.xsd\">\n<endpoint "
            "url=\"http://127.0.0.1:1/\"/>\n</service>\n</services>\n</gateway>\n",
            cases[i].signing, fixture, fixture);
        write_config(dir, sizeof dir, path, sizeof path, body);
        gw_config *cfg = NULL;
        gw_status st = gw_config_load(path, schema_dir, &cfg, err, sizeof err);
        remove_config(dir, path);
        if (cases[i].problem) {
            ck_assert_msg(st == GW_ERR_CONFIG, "accepted: %s", cases[i].signing);
            ck_assert_msg(strstr(err, ":3: "), "%s: no line: %s", cases[i].signing, err);
            ck_assert_msg(strstr(err, cases[i].problem), "%s: %s", cases[i].signing, err);
            ck_assert_msg(!strstr(err, "24681357"), "the PIN is repeated: %s", err);
            continue;
        }
        ck_assert_msg(st == GW_OK, "%s: %s", cases[i].signing, err);
        if (i == 0) {
            ck_assert_str_eq(cfg->signing_key_path,
                             "pkcs11:token=pide;object=gateway-sign;type=private");
            ck_assert_str_eq(cfg->signing_pin_file, in_dir(want, sizeof want, dir, "pin"));
            ck_assert_str_eq(cfg->signing_pkcs11_module, "/usr/lib/softhsm/libsofthsm2.so");
        } else {
            ck_assert_ptr_null(cfg->signing_pin_file);
            ck_assert_ptr_null(cfg->signing_pkcs11_module);
        }
        gw_config_free(cfg);
    }
}
END_TEST

/* <database><spool>: off by default, defaults, values, either order with <checkpoint>, and what
 * the loader refuses (the folder itself is checked by the log at start-up: check_spool.c). */
START_TEST(test_spool_settings)
{
    static const struct {
        const char *attrs; /* of <database> */
        const char *children;
        const char *problem; /* NULL: accepted */
    } cases[] = {
        {"", "", NULL},
        {"", "<spool dir=\"/var/lib/pide-gateway/spool\"/>", NULL},
        {"commitTimeoutMs=\"3000\"",
         "<spool dir=\"spool\" maxBytes=\"8589934592\" switchAfterMs=\"250\"/><checkpoint/>", NULL},
        {"", "<spool/>", "dir"},
        {"", "<spool dir=\"s\" maxBytes=\"100\"/>", "maxBytes"},
        {"", "<spool dir=\"s\" maxBytes=\"many\"/>", "maxBytes"},
        {"", "<spool dir=\"s\" switchAfterMs=\"0\"/>", "switchAfterMs"},
        {"commitTimeoutMs=\"1000\"", "<spool dir=\"s\"/>", "must be below"},
        {"", "<spool dir=\"s\" switchAfterMs=\"5000\"/>", "must be below"},
        {"", "<spool dir=\"s\"/><spool dir=\"t\"/>", "spool"},
        {"", "<spool dir=\"s\" bogus=\"1\"/>", "bogus"},
    };
    char fixture[PATH_MAX + 64];
    in_dir(fixture, sizeof fixture, fixture_dir, "placeholder");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dir[64], path[128], err[1024] = "", database[512];
        snprintf(database, sizeof database, "<database conninfo=\"dbname=pide\" %s>%s</database>\n",
                 cases[i].attrs, cases[i].children);
        char *body = config_text(CONFIG_TEMPLATE("", "%s", "wsdl=\"%s.wsdl\" schema=\"%s.xsd\"",
                                                 "<endpoint url=\"http://127.0.0.1:1/\"/>\n"),
                                 database, fixture, fixture);
        write_config(dir, sizeof dir, path, sizeof path, body);
        gw_config *cfg = NULL;
        gw_status st = gw_config_load(path, schema_dir, &cfg, err, sizeof err);
        remove_config(dir, path);
        if (cases[i].problem) {
            ck_assert_msg(st == GW_ERR_CONFIG, "accepted: %s", cases[i].children);
            ck_assert_msg(strstr(err, cases[i].problem), "%s: %s", cases[i].children, err);
            continue;
        }
        ck_assert_msg(st == GW_OK, "%s: %s", cases[i].children, err);
        if (i == 0) {
            ck_assert_ptr_null(cfg->spool_dir);
        } else if (i == 1) {
            ck_assert_str_eq(cfg->spool_dir, "/var/lib/pide-gateway/spool");
            ck_assert_int_eq(cfg->spool_max_bytes, 268435456L);
            ck_assert_int_eq(cfg->spool_switch_after_ms, 1000);
        } else {
            /* relative to the configuration's folder */
            ck_assert_msg(cfg->spool_dir[0] == '/' && strstr(cfg->spool_dir, "/spool"), "%s",
                          cfg->spool_dir);
            ck_assert_int_eq(cfg->spool_max_bytes, 8589934592L);
            ck_assert_int_eq(cfg->spool_switch_after_ms, 250);
            ck_assert_int_eq(cfg->checkpoint_enabled, 1);
        }
        gw_config_free(cfg);
    }
}
END_TEST

START_TEST(test_missing_file_and_schema_are_reported)
{
    char path[PATH_MAX + 64], err[1024] = "";
    gw_config *cfg = NULL;
    in_dir(path, sizeof path, fixture_dir, "no-such-config.xml");
    ck_assert_int_eq(gw_config_load(path, schema_dir, &cfg, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, "no-such-config.xml: cannot open configuration"), "%s", err);

    in_dir(path, sizeof path, fixture_dir, "good-minimal.xml");
    ck_assert_int_eq(gw_config_load(path, "/nonexistent", &cfg, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_msg(strstr(err, "/nonexistent/gateway-config.xsd: cannot read"), "%s", err);
    ck_assert_ptr_null(cfg);
}
END_TEST

/* <admin>: defaults, the loopback rule and its explicit override; <operationalLog format>. */
static gw_status load_with(const char *extra, gw_config **cfg, char *err, size_t errlen)
{
    char dir[64], path[128], fixture[PATH_MAX + 64];
    in_dir(fixture, sizeof fixture, fixture_dir, "placeholder");
    char *body = config_text(
        "<gateway xmlns=\"urn:pide-gateway:config:1\">\n%s\n<paths adapterDir=\"/opt/adapters\"/>\n"
        "<signing key=\"/k\" certificate=\"/c\"/>\n<database conninfo=\"dbname=pide\"/>\n"
        "<services>\n<service name=\"S\" adapter=\"a\" wsdl=\"%s.wsdl\" schema=\"%s.xsd\">\n"
        "<endpoint url=\"http://127.0.0.1:1/x\"/>\n</service>\n</services>\n</gateway>\n",
        extra, fixture, fixture);
    write_config(dir, sizeof dir, path, sizeof path, body);
    *cfg = NULL;
    gw_status st = gw_config_load(path, schema_dir, cfg, err, errlen);
    remove_config(dir, path);
    return st;
}

START_TEST(test_admin_listener_and_log_format)
{
    char err[1024] = "";
    gw_config *cfg = NULL;
    ck_assert_int_eq(load_with("", &cfg, err, sizeof err), GW_OK);
    ck_assert_int_eq(cfg->admin_enabled, 0);
    ck_assert_int_eq(cfg->log_json, 0);
    gw_config_free(cfg);

    ck_assert_int_eq(load_with("<admin/><operationalLog format=\"json\"/>", &cfg, err, sizeof err), GW_OK);
    ck_assert_int_eq(cfg->admin_enabled, 1);
    ck_assert_str_eq(cfg->admin_address, "127.0.0.1");
    ck_assert_int_eq(cfg->admin_port, 9090);
    ck_assert_int_eq(cfg->admin_cert_min_days, 14);
    ck_assert_int_eq(cfg->log_json, 1);
    gw_config_free(cfg);

    ck_assert_int_eq(load_with("<admin address=\"::1\" port=\"0\" certificateMinDays=\"30\"/>", &cfg,
                               err, sizeof err), GW_OK);
    ck_assert_int_eq(cfg->admin_port, 0);
    ck_assert_int_eq(cfg->admin_cert_min_days, 30);
    gw_config_free(cfg);

    static const char *const refused[] = {
        "<admin address=\"0.0.0.0\"/>", "<admin address=\"192.0.2.7\"/>", "<admin address=\"::\"/>",
        "<admin address=\"0.0.0.0\" allowNonLoopback=\"false\"/>"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        ck_assert_int_eq(load_with(refused[i], &cfg, err, sizeof err), GW_ERR_CONFIG);
        ck_assert_msg(strstr(err, "admin listener must be on a loopback address"), "%s", err);
        ck_assert_ptr_null(cfg);
    }
    ck_assert_int_eq(load_with("<admin address=\"0.0.0.0\" allowNonLoopback=\"true\"/>", &cfg, err,
                               sizeof err), GW_OK);
    gw_config_free(cfg);
    ck_assert_int_eq(load_with("<admin port=\"70000\"/>", &cfg, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_int_eq(load_with("<operationalLog format=\"xml\"/>", &cfg, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_int_eq(load_with("<admin address=\"\"/>", &cfg, err, sizeof err), GW_ERR_CONFIG);
}
END_TEST

/* <encryptAtRest recipient=>: one element per recipient, each certificate checked at load; a
 * bad one is refused with file:line and the reason (test PKI, scripts/pki). */
START_TEST(test_encrypt_at_rest)
{
    const char *pki = getenv("PIDE_TEST_PKI_DIR");
    ck_assert_msg(pki != NULL, "PIDE_TEST_PKI_DIR not set (run through ctest)");
    static const char *const cases[][3] = {
        {"auditor.pem", "other-auditor.pem", NULL},
        {"auditor.pem", "ca.pem", ":9: service 'S': encryptAtRest: the recipient certificate"},
        {"auditor.key", "auditor.pem", ":8: service 'S': encryptAtRest: '"},
        {"nope.pem", "auditor.pem", ":8: service 'S': encryptAtRest: cannot read the recipient"},
        {"auditor.pem", "auditor.pem", ":9: service 'S': encryptAtRest recipient '"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[64], cpath[128], fixture[PATH_MAX + 64], err[1024] = "";
        in_dir(fixture, sizeof fixture, fixture_dir, "placeholder");
        char *body = config_text(CONFIG_TEMPLATE("", "<database conninfo=\"dbname=pide\"/>\n",
                                                 "wsdl=\"%s.wsdl\" schema=\"%s.xsd\"",
                                                 "<endpoint url=\"https://[::1]:8443/x\"/>\n"
                                                 "<encryptAtRest recipient=\"%s/%s\"/>\n"
                                                 "<encryptAtRest recipient=\"%s/%s\"/>\n"),
                                 fixture, fixture, pki, cases[i][0], pki, cases[i][1]);
        write_config(dir, sizeof dir, cpath, sizeof cpath, body);
        gw_config *cfg = NULL;
        gw_status st = gw_config_load(cpath, schema_dir, &cfg, err, sizeof err);
        remove_config(dir, cpath);
        if (!cases[i][2]) {
            ck_assert_msg(st == GW_OK, "%s", err);
            ck_assert_uint_eq(cfg->services[0].encrypt_recipient_count, 2);
            ck_assert_ptr_nonnull(
                strstr(cfg->services[0].encrypt_recipients[1], "other-auditor.pem"));
            gw_config_free(cfg);
            continue;
        }
        ck_assert_int_eq(st, GW_ERR_CONFIG);
        ck_assert_msg(strstr(err, cases[i][2]), "case %zu: %s", i, err);
    }
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup_paths, NULL);
    tcase_add_test(tc, test_example_configurations_load);
    tcase_add_loop_test(tc, test_bad_configuration_is_refused_with_file_line_and_reason, 0,
                        (int)(sizeof bad_cases / sizeof *bad_cases));
    tcase_add_test(tc, test_defaults_and_relative_paths);
    tcase_add_test(tc, test_relative_config_path_from_another_directory);
    tcase_add_test(tc, test_database_conninfo_must_not_hold_a_password);
    tcase_add_test(tc, test_audit_service);
    tcase_add_test(tc, test_encrypt_at_rest);
    tcase_add_test(tc, test_absolute_paths_and_explicit_values_are_kept);
    tcase_add_test(tc, test_max_in_flight);
    tcase_add_test(tc, test_replay_scope_and_cluster_nodes);
    tcase_add_test(tc, test_endpoint_url_forms);
    tcase_add_test(tc, test_checkpoint_settings);
    tcase_add_test(tc, test_spool_settings);
    tcase_add_test(tc, test_signing_key_in_a_token);
    tcase_add_test(tc, test_missing_file_and_schema_are_reported);
    tcase_add_test(tc, test_admin_listener_and_log_format);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(config_suite());
}
