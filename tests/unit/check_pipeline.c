/* check_pipeline.c — gateway/pipeline.c driven with in-memory request values (transport.h), no
 * listener and no client socket: a real runtime (configuration file, PKI keys, the "echo" fixture
 * adapter, the exchange log on the throwaway PostgreSQL) runs the whole stage table and hands back
 * a response value, whose row is then read back from the log. Covers served and refused requests,
 * the transport's refusals, oversized/empty/unreadable bodies, the mutual-TLS identity as the
 * request value carries it (and a plain-listener request that claims one), Retry-After, and
 * requests that do not share memory with the caller's buffers.
 * ctest-fixtures: postgres pki */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <libxml/parser.h>

#include "check_run.h"
#include "config.h"
#include "exchange_env.h"
#include "pipeline.h"
#include "runtime.h"
#include "transport.h"
#include "xml_sign.h"

#define MEMBER "20000000001"
#define LIMITED "20000000002"
#define MAX_BODY 4096

static char tmp_dir[PATH_MAX];

/* One runtime and one thread's resources, as a daemon worker holds them. */
typedef struct fixture {
    gw_config *cfg;
    gw_runtime rt;
    gw_exchange_env env;
    gw_exchange ex;
    char *conninfo;
    char *password;
} fixture;

static char *read_trimmed(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    char line[4096] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    return strdup(line);
}

static void fixture_open(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    const char *src = getenv("PIDE_SOURCE_DIR"), *build = getenv("PIDE_BUILD_DIR");
    const char *pki = getenv("PIDE_TEST_PKI_DIR"), *ci_file = getenv("PIDE_TEST_PG_CONNINFO_FILE");
    ck_assert_msg(src && build && pki && ci_file, "run through ctest");
    fx->conninfo = read_trimmed(ci_file);
    char pw_file[PATH_MAX];
    snprintf(pw_file, sizeof pw_file, "%s", ci_file);
    char *slash = strrchr(pw_file, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash + 1, sizeof pw_file - (size_t)(slash + 1 - pw_file), "gateway.password");
    fx->password = read_trimmed(pw_file);

    char xsd[PATH_MAX + 32], path[PATH_MAX + 32];
    snprintf(xsd, sizeof xsd, "%s/echo-%d.xsd", tmp_dir, (int)getpid());
    FILE *f = fopen(xsd, "w");
    ck_assert_ptr_nonnull(f);
    fputs("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>"
          "<xs:element name='echo'><xs:simpleType><xs:restriction base='xs:string'>"
          "<xs:maxLength value='64'/></xs:restriction></xs:simpleType></xs:element>"
          "</xs:schema>", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/gateway-%d.xml", tmp_dir, (int)getpid());
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "<gateway xmlns='urn:pide-gateway:config:1'>\n"
            "  <listen address='127.0.0.1' port='0' workers='1' trustClientHeader='true'/>\n"
            "  <limits maxBodyBytes='%d'/>\n"
            "  <paths adapterDir='%s/tests/fixtures/adapters'/>\n"
            "  <signing key='%s/gateway-sign.key' certificate='%s/gateway-sign.pem'/>\n"
            "  <database conninfo='%s' passwordFile='%s'/>\n"
            "  <members>\n"
            "    <member id='" MEMBER "' name='Uno'/>\n"
            "    <member id='" LIMITED "' name='Dos' ratePerSecond='1' rateBurst='1'/>\n"
            "  </members>\n"
            "  <services>\n"
            "    <service name='Eco' adapter='echo'\n"
            "             wsdl='%s/tests/fixtures/config/placeholder.wsdl' schema='%s'>\n"
            "      <endpoint url='http://127.0.0.1:9/'/>\n"
            "      <grant member='" MEMBER "' operations='*'/>\n"
            "      <grant member='" LIMITED "' operations='*'/>\n"
            "    </service>\n"
            "  </services>\n"
            "</gateway>\n",
            MAX_BODY, build, pki, pki, fx->conninfo, pw_file, src, xsd);
    fclose(f);

    char schema_dir[PATH_MAX + 16], err[1024] = "";
    snprintf(schema_dir, sizeof schema_dir, "%s/schemas", src);
    ck_assert_msg(gw_config_load(path, schema_dir, &fx->cfg, err, sizeof err) == GW_OK, "%s", err);
    ck_assert_int_eq(gw_xmlsec_global_init(), GW_OK);
    ck_assert_msg(gw_runtime_open(fx->cfg, &fx->rt, err, sizeof err) == GW_OK, "%s", err);
    ck_assert_int_eq(gw_exchange_env_init(&fx->env, fx->rt.signer, fx->rt.catalog.count, 0),
                     GW_OK);
    gw_arena_init(&fx->ex.arena, 32768);
    unlink(path);
    unlink(xsd);
}

static void fixture_close(fixture *fx)
{
    gw_exchange_end(&fx->ex);
    gw_arena_destroy(&fx->ex.arena);
    gw_exchange_env_fini(&fx->env);
    gw_runtime_close(&fx->rt);
    gw_config_free(fx->cfg);
    gw_xmlsec_global_shutdown();
    free(fx->conninfo);
    free(fx->password);
}

/* A POST as the transport would hand it over: plain listener, loopback peer. */
static gw_http_request post(const char *path, const char *body)
{
    return (gw_http_request){
        .method = "POST",
        .path = path,
        .content_type = "text/xml; charset=utf-8",
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .peer_address = "127.0.0.1",
        .listener = GW_LISTENER_PLAIN,
        .refusal = GW_OK,
    };
}

/* An echo request; client: the declared header member, or NULL for none. */
static char *envelope(const char *client, const char *text)
{
    char header[512] = "";
    if (client)
        snprintf(header, sizeof header,
                 "<soap:Header><pgw:client xmlns:pgw='urn:pide-gateway:header:1'>"
                 "<pgw:memberCode>%s</pgw:memberCode></pgw:client></soap:Header>", client);
    char *out = NULL;
    ck_assert_int_ge(asprintf(&out,
                              "<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'>"
                              "%s<soap:Body><echo>%s</echo></soap:Body></soap:Envelope>",
                              header, text), 0);
    return out;
}

/* The whole stage table on one request value; the response value comes back in *resp. */
static void run(fixture *fx, const gw_http_request *req, gw_http_response *resp)
{
    gw_exchange_end(&fx->ex);
    gw_exchange_begin(&fx->ex, &fx->rt, &fx->env, req, NULL);
    gw_pipeline_run(&fx->ex, resp);
}

/* The response body as a C string (the arena copy is NUL-terminated). */
static const char *body_of(const gw_http_response *resp)
{
    ck_assert_ptr_nonnull(resp->body);
    ck_assert_uint_gt(resp->body_len, 0);
    ck_assert_uint_eq(strlen(resp->body), resp->body_len);
    return resp->body;
}

/* Column `col` of the exchange's log row; "" for NULL; the row must exist. */
static char *logged(fixture *fx, const char *exchange_id, const char *col)
{
    const char *keys[] = {"dbname", "password", NULL};
    const char *values[] = {fx->conninfo, fx->password, NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s::text FROM exchange_log WHERE exchange_id = $1", col);
    const char *params[] = {exchange_id};
    PGresult *r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    ck_assert_msg(PQntuples(r) == 1, "exchange %s has %d log rows", exchange_id, PQntuples(r));
    char *v = strdup(PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

static void assert_logged(fixture *fx, const gw_http_response *resp, const char *col,
                          const char *want)
{
    char *v = logged(fx, resp->exchange_id, col);
    ck_assert_msg(strcmp(v, want) == 0, "log %s: '%s', expected '%s'", col, v, want);
    free(v);
}

/* A refused exchange: its Fault code in the body and in the log row, the status of its code. */
static void assert_fault(fixture *fx, const gw_http_response *resp, gw_status st, int closes)
{
    const char *code = gw_status_fault_code(st);
    ck_assert_int_eq(resp->status, gw_status_http_code(st));
    ck_assert_str_eq(resp->content_type, "text/xml; charset=utf-8");
    ck_assert_msg(strstr(body_of(resp), code) != NULL, "no %s in %s", code, resp->body);
    ck_assert_int_eq(resp->close, closes);
    assert_logged(fx, resp, "outcome", "fault");
    assert_logged(fx, resp, "fault_code", code);
}

START_TEST(serves_an_in_memory_request_and_logs_it)
{
    fixture fx;
    fixture_open(&fx);
    char *req_body = envelope(MEMBER, "hola");
    gw_http_request req = post("/services/Eco", req_body);
    gw_http_response resp;
    run(&fx, &req, &resp);
    const char *body = body_of(&resp);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.content_type, "text/xml; charset=utf-8");
    ck_assert_int_eq(resp.close, 0);
    ck_assert_int_eq(resp.retry_after_s, 0);
    ck_assert_ptr_nonnull(resp.exchange_id);
    ck_assert_uint_eq(strlen(resp.exchange_id), 36);
    ck_assert_ptr_nonnull(strstr(body, "echoResponse"));
    ck_assert_ptr_nonnull(strstr(body, "SignatureValue"));
    ck_assert_ptr_nonnull(strstr(body, resp.exchange_id));
    /* The bytes answered are the bytes logged, and the row is there when the value is. */
    assert_logged(&fx, &resp, "outcome", "ok");
    assert_logged(&fx, &resp, "auth_method", "declared-header");
    assert_logged(&fx, &resp, "client_address", "127.0.0.1");
    char *logged_response = logged(&fx, resp.exchange_id, "encode(response, 'escape')");
    ck_assert_str_eq(logged_response, body);
    free(logged_response);
    /* The request value is the caller's: the exchange kept its own copy. */
    memset(req_body, 'x', strlen(req_body));
    ck_assert_ptr_nonnull(strstr(fx.ex.request, "<echo>hola</echo>"));
    free(req_body);
    fixture_close(&fx);
}
END_TEST

START_TEST(request_stages_refuse_with_faults_that_are_logged)
{
    fixture fx;
    fixture_open(&fx);
    gw_http_response resp;
    char *anonymous = envelope(NULL, "hola");
    gw_http_request req = post("/services/Eco", anonymous);
    run(&fx, &req, &resp);
    assert_fault(&fx, &resp, GW_ERR_AUTHENTICATION, 0);

    char *ok = envelope(MEMBER, "hola");
    req = post("/services/Nada", ok);
    run(&fx, &req, &resp);
    assert_fault(&fx, &resp, GW_ERR_UNKNOWN_SERVICE, 0);

    req = post("/services/Eco", "<soap:Envelope");
    run(&fx, &req, &resp);
    assert_fault(&fx, &resp, GW_ERR_MALFORMED_XML, 0);
    free(anonymous);
    free(ok);
    fixture_close(&fx);
}
END_TEST

START_TEST(the_transports_refusal_becomes_the_fault_and_closes)
{
    fixture fx;
    fixture_open(&fx);
    gw_http_response resp;
    const gw_status refusals[] = {GW_ERR_BAD_FRAMING, GW_ERR_HEADER_TOO_LARGE,
                                  GW_ERR_METHOD_NOT_ALLOWED, GW_ERR_INCOMPLETE_BODY,
                                  GW_ERR_EMPTY_BODY};
    char *ok = envelope(MEMBER, "hola");
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        /* Even with a perfectly good body attached, the refusal wins. */
        gw_http_request req = post("/services/Eco", ok);
        req.refusal = refusals[i];
        req.refusal_why = "told by the transport";
        run(&fx, &req, &resp);
        assert_fault(&fx, &resp, refusals[i], 1);
        ck_assert_ptr_nonnull(strstr(resp.body, "told by the transport"));
        ck_assert_ptr_null(strstr(resp.body, "echoResponse"));
    }
    free(ok);
    fixture_close(&fx);
}
END_TEST

START_TEST(oversized_empty_and_unreadable_bodies_are_refused)
{
    fixture fx;
    fixture_open(&fx);
    gw_http_response resp;
    /* Over maxBodyBytes by one byte, whoever let it through. */
    char *big = malloc(MAX_BODY + 2);
    memset(big, ' ', MAX_BODY + 1);
    big[MAX_BODY + 1] = '\0';
    gw_http_request req = post("/services/Eco", big);
    run(&fx, &req, &resp);
    assert_fault(&fx, &resp, GW_ERR_REQUEST_TOO_LARGE, 1);
    free(big);
    /* A transport refusal for size says the limit, not the transport's words. */
    req = post("/services/Eco", NULL);
    req.refusal = GW_ERR_REQUEST_TOO_LARGE;
    run(&fx, &req, &resp);
    assert_fault(&fx, &resp, GW_ERR_REQUEST_TOO_LARGE, 1);
    ck_assert_ptr_nonnull(strstr(resp.body, "4096"));

    req = post("/services/Eco", "");
    run(&fx, &req, &resp);
    assert_fault(&fx, &resp, GW_ERR_EMPTY_BODY, 1);

    req = post("/services/Eco", NULL);
    run(&fx, &req, &resp);
    assert_fault(&fx, &resp, GW_ERR_BAD_HTTP, 1);

    /* An exchange begun with no request value at all is refused too, not crashed on. */
    gw_exchange_end(&fx.ex);
    gw_exchange_begin(&fx.ex, &fx.rt, &fx.env, NULL, "127.0.0.1");
    gw_pipeline_run(&fx.ex, &resp);
    assert_fault(&fx, &resp, GW_ERR_BAD_HTTP, 1);
    fixture_close(&fx);
}
END_TEST

START_TEST(the_tls_identity_comes_from_the_member_listener_only)
{
    fixture fx;
    fixture_open(&fx);
    gw_http_response resp;
    char *anonymous = envelope(NULL, "hola");

    gw_http_request req = post("/services/Eco", anonymous);
    req.listener = GW_LISTENER_MEMBER;
    req.tls_member = MEMBER;
    req.tls_subject = "CN=uno";
    req.tls_cert_sha256 = "ab12";
    run(&fx, &req, &resp);
    ck_assert_int_eq(resp.status, 200);
    assert_logged(&fx, &resp, "auth_method", "mtls");
    assert_logged(&fx, &resp, "client_member", MEMBER);

    /* A certificate without a member RUC proves nobody. */
    req.tls_member = "";
    run(&fx, &req, &resp);
    assert_fault(&fx, &resp, GW_ERR_AUTHENTICATION, 0);

    /* A request that reached the plain listener cannot bring a certificate identity along. */
    req = post("/services/Eco", anonymous);
    req.tls_member = MEMBER;
    req.tls_subject = "CN=uno";
    req.tls_cert_sha256 = "ab12";
    run(&fx, &req, &resp);
    assert_fault(&fx, &resp, GW_ERR_AUTHENTICATION, 0);
    assert_logged(&fx, &resp, "auth_method", "none");

    /* The header may not claim another member than the certificate. */
    char *other = envelope(LIMITED, "hola");
    req = post("/services/Eco", other);
    req.listener = GW_LISTENER_MEMBER;
    req.tls_member = MEMBER;
    run(&fx, &req, &resp);
    assert_fault(&fx, &resp, GW_ERR_AUTHENTICATION, 0);
    free(other);
    free(anonymous);
    fixture_close(&fx);
}
END_TEST

START_TEST(rate_limited_answers_carry_retry_after)
{
    fixture fx;
    fixture_open(&fx);
    gw_http_response resp;
    char *limited = envelope(LIMITED, "hola");
    gw_http_request req = post("/services/Eco", limited);
    run(&fx, &req, &resp);
    ck_assert_int_eq(resp.status, 200);
    run(&fx, &req, &resp);
    assert_fault(&fx, &resp, GW_ERR_RATE_LIMITED, 0);
    ck_assert_int_gt(resp.retry_after_s, 0);
    free(limited);
    fixture_close(&fx);
}
END_TEST

START_TEST(the_named_stages_run_in_table_order_and_stop_at_a_failure)
{
    fixture fx;
    fixture_open(&fx);
    char *ok = envelope(MEMBER, "hola");
    gw_http_request req = post("/services/Eco", ok);
    gw_exchange_begin(&fx.ex, &fx.rt, &fx.env, &req, NULL);
    /* Given out of order: they run as the table lists them. */
    static const char *const stages[] = {"route", "parse", "receive"};
    ck_assert_int_eq(gw_pipeline_run_stages(&fx.ex, stages, 3), GW_OK);
    ck_assert_ptr_nonnull(fx.ex.service);
    ck_assert_str_eq(fx.ex.operation, "echo");
    ck_assert_ptr_null(fx.ex.response); /* nothing answered, nothing logged */

    gw_exchange_end(&fx.ex);
    req = post("/services/Eco", "<x/>");
    gw_exchange_begin(&fx.ex, &fx.rt, &fx.env, &req, NULL);
    ck_assert_int_eq(gw_pipeline_run_stages(&fx.ex, stages, 3), GW_ERR_NOT_SOAP);
    ck_assert_int_eq(fx.ex.status, GW_ERR_NOT_SOAP);
    ck_assert_ptr_null(fx.ex.service); /* route did not run */
    free(ok);
    fixture_close(&fx);
}
END_TEST

/* What the log reports to an exchange that does not wait for it. */
typedef struct log_report {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls;
    gw_status status;
} log_report;

static void on_logged(void *arg, gw_status st)
{
    log_report *r = arg;
    pthread_mutex_lock(&r->lock);
    r->calls++;
    r->status = st;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* Runs the pipeline without waiting for the commit: the row is handed over, the answer held. */
static void run_handing_over(fixture *fx, const gw_http_request *req, gw_http_response *resp,
                             log_report *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    gw_exchange_end(&fx->ex);
    gw_exchange_begin(&fx->ex, &fx->rt, &fx->env, req, NULL);
    fx->ex.log_notify = on_logged;
    fx->ex.log_notify_arg = r;
    gw_pipeline_run(&fx->ex, resp);
    ck_assert_int_eq(fx->ex.log_pending, 1);
    pthread_mutex_lock(&r->lock);
    while (!r->calls)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
    ck_assert_int_eq(r->calls, 1);
}

START_TEST(the_row_can_be_handed_over_and_its_commit_reported)
{
    fixture fx;
    fixture_open(&fx);
    char *ok = envelope(MEMBER, "hola");
    gw_http_request req = post("/services/Eco", ok);
    gw_http_response resp;
    log_report r;
    run_handing_over(&fx, &req, &resp, &r);
    ck_assert_int_eq(r.status, GW_OK);
    /* Reported committed: the row is there, and the answer stays the one signed and logged. */
    gw_pipeline_log_settled(&fx.ex, r.status, &resp);
    ck_assert_int_eq(fx.ex.log_pending, 0);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_ptr_nonnull(strstr(body_of(&resp), "echoResponse"));
    assert_logged(&fx, &resp, "outcome", "ok");
    char *logged_response = logged(&fx, resp.exchange_id, "encode(response, 'escape')");
    ck_assert_str_eq(logged_response, resp.body);
    free(logged_response);
    free(ok);
    fixture_close(&fx);
}
END_TEST

START_TEST(a_row_reported_unavailable_turns_the_answer_into_a_fault)
{
    fixture fx;
    fixture_open(&fx);
    char *ok = envelope(MEMBER, "hola");
    gw_http_request req = post("/services/Eco", ok);
    gw_http_response resp;
    log_report r;
    run_handing_over(&fx, &req, &resp, &r);
    ck_assert_ptr_nonnull(strstr(body_of(&resp), "echoResponse"));
    /* Whatever the log says, the transport must not send this answer unless it is GW_OK: the
     * same replacement the waiting log stage makes, with no data and no signature. */
    gw_pipeline_log_settled(&fx.ex, GW_ERR_LOG_UNAVAILABLE, &resp);
    ck_assert_int_eq(resp.status, gw_status_http_code(GW_ERR_LOG_UNAVAILABLE));
    const char *body = body_of(&resp);
    ck_assert_ptr_nonnull(strstr(body, gw_status_fault_code(GW_ERR_LOG_UNAVAILABLE)));
    ck_assert_ptr_null(strstr(body, "echoResponse"));
    ck_assert_ptr_null(strstr(body, "SignatureValue"));
    ck_assert_str_eq(resp.exchange_id, fx.ex.exchange_id);
    free(ok);
    fixture_close(&fx);
}
END_TEST

int main(void)
{
    const char *build = getenv("PIDE_BUILD_DIR");
    if (!build) {
        fprintf(stderr, "check_pipeline: run through ctest (PIDE_BUILD_DIR)\n");
        return 1;
    }
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/test-run", build);
    mkdir(parent, 0700);
    snprintf(tmp_dir, sizeof tmp_dir, "%s/test-run/pipeline-XXXXXX", build);
    if (!mkdtemp(tmp_dir)) {
        perror(tmp_dir);
        return 1;
    }
    xmlInitParser();
    Suite *suite = suite_create("pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, serves_an_in_memory_request_and_logs_it);
    tcase_add_test(tc, request_stages_refuse_with_faults_that_are_logged);
    tcase_add_test(tc, the_transports_refusal_becomes_the_fault_and_closes);
    tcase_add_test(tc, oversized_empty_and_unreadable_bodies_are_refused);
    tcase_add_test(tc, the_tls_identity_comes_from_the_member_listener_only);
    tcase_add_test(tc, rate_limited_answers_carry_retry_after);
    tcase_add_test(tc, the_named_stages_run_in_table_order_and_stop_at_a_failure);
    tcase_add_test(tc, the_row_can_be_handed_over_and_its_commit_reported);
    tcase_add_test(tc, a_row_reported_unavailable_turns_the_answer_into_a_fault);
    suite_add_tcase(suite, tc);
    int exit_status = check_run_suite(suite);
    rmdir(tmp_dir);
    return exit_status;
}
