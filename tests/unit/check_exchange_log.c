/*
 * check_exchange_log.c — the exchange log against a real PostgreSQL: round trip of every field
 * (caller audit and identity fields included), concurrent group commit with a gapless,
 * verifiable chain, a chain mixing hash versions 1, 2 and 3, older rows carrying fields their
 * version does not cover, tampering with a caller audit or identity field detected, the gateway
 * role's missing rights, start-up errors, reconnection after losing the backend and the commit
 * timeout; the shared row hash (gw_log_row_hash) against an independent one, records too large
 * for one row refused unread, rows larger than a COPY chunk. (The writer's stop when the chain
 * head goes backwards needs a cluster of its own: tests/integration/test_log_tamper.sh.)
 * ctest-fixtures: postgres
 *
 * The cluster is shared with other test binaries running at the same time: rows are found by
 * per-test exchange ids / client_member tags, never by assuming an empty table, and every change
 * that breaks the chain happens in a transaction that is rolled back.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "exchange_log.h"

#define PG_EPOCH_OFFSET_US (INT64_C(946684800) * 1000000)

/* ---- fixture access ---------------------------------------------------------------------- */

static char *read_trimmed(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s (is the postgres fixture running?)", path);
    static char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) n--;
    buf[n] = '\0';
    return strdup(buf);
}

static char *conninfo;
static char *password;

static void load_fixture(void)
{
    const char *file = getenv("PIDE_TEST_PG_CONNINFO_FILE");
    ck_assert_msg(file != NULL, "PIDE_TEST_PG_CONNINFO_FILE is not set (run through ctest)");
    conninfo = read_trimmed(file);
    char pw_path[4096];
    snprintf(pw_path, sizeof pw_path, "%s", file);
    char *slash = strrchr(pw_path, '/');
    snprintf(slash ? slash + 1 : pw_path, sizeof pw_path - (size_t)(slash ? slash + 1 - pw_path : 0),
             "gateway.password");
    password = read_trimmed(pw_path);
}

static void unload_fixture(void)
{
    free(conninfo);
    free(password);
}

/* A second, plain libpq session as the gateway role; extra overrides conninfo keywords. */
static PGconn *gateway_session(void)
{
    const char *keys[] = {"dbname", "password", NULL};
    const char *values[] = {conninfo, password, NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

static exchange_log *open_log(const char *extra_conninfo, int timeout_ms)
{
    char ci[1024];
    snprintf(ci, sizeof ci, "%s %s", conninfo, extra_conninfo ? extra_conninfo : "");
    exchange_log_options opt = {.conninfo = ci, .password = password, .batch_max = 0,
                                .commit_timeout_ms = timeout_ms};
    exchange_log *log = NULL;
    char err[512];
    gw_status st = gw_exchange_log_open(&opt, &log, err, sizeof err);
    ck_assert_msg(st == GW_OK, "open: %s", err);
    return log;
}

/* ---- records ----------------------------------------------------------------------------- */

static void new_uuid(char out[37])
{
    unsigned char b[16];
    ck_assert_int_eq(RAND_bytes(b, sizeof b), 1);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

static int64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static double monotonic_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A plain successful exchange with the given id and client tag. */
static gw_log_record simple_record(const char *uuid, const char *member)
{
    static const unsigned char body[] = "<soap:Envelope/>";
    gw_log_record r = {0};
    r.exchange_id = uuid;
    r.client_member = member;
    r.service = "reniec.consultarDni";
    r.request = body;
    r.request_len = sizeof body - 1;
    r.t_request_in = now_us();
    r.outcome = "ok";
    r.http_status = 200;
    return r;
}

static int64_t rows_with_member(PGconn *c, const char *member)
{
    const char *v[1] = {member};
    PGresult *res = PQexecParams(c, "SELECT count(*) FROM exchange_log WHERE client_member = $1",
                                 1, NULL, v, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    int64_t n = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

static uint64_t be_uint(const char *p, int len)
{
    uint64_t v = 0;
    for (int i = 0; i < len; i++) v = (v << 8) | (unsigned char)p[i];
    return v;
}

/* ---- tests ------------------------------------------------------------------------------- */

START_TEST(test_append_round_trips_every_field)
{
    char uuid[37], member[64];
    new_uuid(uuid);
    snprintf(member, sizeof member, "roundtrip-%d", (int)getpid());
    static const unsigned char request[] = {'<', 'a', '>', 0x00, 0xff, 0xfe, 0x80, 0x00, 'z', 0xc3};
    static const unsigned char response[] = {0x00, 0x00, 0x01, '\n', 0x7f};
    gw_log_record r = {
        .exchange_id = uuid, .client_member = member, .client_user = "40404040",
        .auth_method = "mtls", .client_address = "192.0.2.7", .service = "sunat.consultarRuc",
        .operation = "getDatosPrincipales", .adapter = "rest-json", .subject_type = "DNI",
        .subject_id = "12345678", .purpose = "Verificación de identidad — ñandú",
        .procedure = "EXP-2024-001", .caller_host = "PC-JUZGADO-07", .caller_ip = "10.20.30.40",
        .caller_user = "jperez", .caller_mac = "00:1A:2B:3C:4D:5E",
        .client_subsystem = "SISTEMA-PENAL",
        .client_cert_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        .message_id = "msg-2024-0001-ñ", .request_signature_value = "cmVxdWVzdC1zaWc=",
        .request = request, .request_len = sizeof request,
        .response = response, .response_len = sizeof response, .signature_value = "c2lnbmF0dXJl",
        .t_request_in = 1718000000123456, .t_provider_out = 1718000000223456,
        .t_provider_in = 1718000000323456, .t_response_out = 1718000000423457,
        .outcome = "fault", .fault_code = "Server.Provider.Timeout",
        .fault_message = "the provider did not answer in time", .result_code = "0001",
        .http_status = 500};
    for (int i = 0; i < 32; i++) r.request_sha256[i] = (unsigned char)i;
    /* The response's digest is a real one: pide-audit verify checks it against the response. */
    EVP_Digest(response, sizeof response, r.response_sha256, NULL, EVP_sha256(), NULL);
    /* The log must copy: scribble over the caller's copy of the id after the append. */
    exchange_log *log = open_log(NULL, 5000);
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_OK);
    char expected_uuid[37];
    memcpy(expected_uuid, uuid, sizeof uuid);
    memset(uuid, 'x', 36);

    PGconn *c = gateway_session();
    const char *params[1] = {expected_uuid};
    PGresult *res = PQexecParams(c,
        "SELECT exchange_id::text, client_member, client_user, auth_method, client_address, "
        "service, operation, adapter, subject_type, subject_id, purpose, procedure, request, "
        "response, request_sha256, response_sha256, signature_value, "
        "(extract(epoch from t_request_in) * 1000000)::int8, "
        "(extract(epoch from t_provider_out) * 1000000)::int8, "
        "(extract(epoch from t_provider_in) * 1000000)::int8, "
        "(extract(epoch from t_response_out) * 1000000)::int8, outcome, fault_code, "
        "fault_message, result_code, http_status, seq, octet_length(prev_hash), "
        "octet_length(row_hash), t_logged IS NOT NULL, caller_host, caller_ip, caller_user, "
        "caller_mac, hash_version, client_subsystem, client_cert_sha256, message_id, "
        "request_signature_value "
        "FROM exchange_log WHERE exchange_id = $1::uuid",
        1, NULL, params, NULL, NULL, 1);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    ck_assert_int_eq(PQntuples(res), 1);

    const char *texts[] = {expected_uuid, member, r.client_user, r.auth_method, r.client_address,
                           r.service, r.operation, r.adapter, r.subject_type, r.subject_id,
                           r.purpose, r.procedure};
    for (int i = 0; i < 12; i++) {
        ck_assert_int_eq(PQgetlength(res, 0, i), (int)strlen(texts[i]));
        ck_assert_msg(memcmp(PQgetvalue(res, 0, i), texts[i], strlen(texts[i])) == 0,
                      "column %d differs", i);
    }
    ck_assert_int_eq(PQgetlength(res, 0, 12), sizeof request);
    ck_assert(memcmp(PQgetvalue(res, 0, 12), request, sizeof request) == 0);
    ck_assert_int_eq(PQgetlength(res, 0, 13), sizeof response);
    ck_assert(memcmp(PQgetvalue(res, 0, 13), response, sizeof response) == 0);
    ck_assert(memcmp(PQgetvalue(res, 0, 14), r.request_sha256, 32) == 0);
    ck_assert(memcmp(PQgetvalue(res, 0, 15), r.response_sha256, 32) == 0);
    ck_assert_str_eq(PQgetvalue(res, 0, 16), r.signature_value);
    const int64_t times[] = {r.t_request_in, r.t_provider_out, r.t_provider_in, r.t_response_out};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq((int64_t)be_uint(PQgetvalue(res, 0, 17 + i), 8), times[i]);
    ck_assert_str_eq(PQgetvalue(res, 0, 21), "fault");
    ck_assert_str_eq(PQgetvalue(res, 0, 22), r.fault_code);
    ck_assert_str_eq(PQgetvalue(res, 0, 23), r.fault_message);
    ck_assert_str_eq(PQgetvalue(res, 0, 24), r.result_code);
    ck_assert_int_eq((int32_t)be_uint(PQgetvalue(res, 0, 25), 4), 500);
    ck_assert_int_gt((int64_t)be_uint(PQgetvalue(res, 0, 26), 8), 0);
    ck_assert_int_eq((int32_t)be_uint(PQgetvalue(res, 0, 27), 4), 32);
    ck_assert_int_eq((int32_t)be_uint(PQgetvalue(res, 0, 28), 4), 32);
    ck_assert_int_eq(PQgetvalue(res, 0, 29)[0], 1);
    const char *caller[] = {r.caller_host, r.caller_ip, r.caller_user, r.caller_mac};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(PQgetlength(res, 0, 30 + i), (int)strlen(caller[i]));
        ck_assert(memcmp(PQgetvalue(res, 0, 30 + i), caller[i], strlen(caller[i])) == 0);
    }
    ck_assert_int_eq((int)be_uint(PQgetvalue(res, 0, 34), 2), 4); /* written as hash version 4 */
    const char *identity[] = {r.client_subsystem, r.client_cert_sha256, r.message_id,
                              r.request_signature_value};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(PQgetlength(res, 0, 35 + i), (int)strlen(identity[i]));
        ck_assert_msg(memcmp(PQgetvalue(res, 0, 35 + i), identity[i], strlen(identity[i])) == 0,
                      "identity column %d differs", i);
    }
    PQclear(res);

    /* NULL strings and zero times are stored as SQL NULL. */
    char uuid2[37];
    new_uuid(uuid2);
    gw_log_record sparse = {.exchange_id = uuid2, .t_request_in = now_us(), .outcome = "ok"};
    ck_assert_int_eq(gw_exchange_log_append(log, &sparse), GW_OK);
    params[0] = uuid2;
    res = PQexecParams(
        c,
        "SELECT client_member IS NULL AND request IS NULL AND t_provider_out IS NULL AND "
        "t_response_out IS NULL AND signature_value IS NULL AND fault_code IS NULL AND "
        "num_nulls(caller_host, caller_ip, caller_user, caller_mac) = 4 AND "
        "num_nulls(client_subsystem, client_cert_sha256, message_id, "
        "request_signature_value) = 4 AND hash_version = 4 AND body_encryption IS NULL "
        "FROM exchange_log WHERE exchange_id = $1::uuid",
        1, NULL, params, NULL, NULL, 0);
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    PQfinish(c);
    gw_exchange_log_close(log);
}
END_TEST

START_TEST(test_append_rejects_records_postgres_would_refuse)
{
    exchange_log *log = open_log(NULL, 5000);
    char uuid[37];
    new_uuid(uuid);
    gw_log_record r = simple_record("not-a-uuid", "reject");
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_ERR_INVALID_ARG);
    r = simple_record(uuid, "reject");
    r.outcome = "maybe";
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_ERR_INVALID_ARG);
    r = simple_record(uuid, "reject");
    r.t_request_in = 0;
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_ERR_INVALID_ARG);
    gw_exchange_log_close(log);
}
END_TEST

/* Issue 8 item 10: lengths near PostgreSQL's 1 GB limit. A record that cannot fit one row is
 * refused by its lengths alone, before anything is copied: the bodies here are 16 bytes long
 * whatever their length fields claim, so a copy would read far out of bounds. */
START_TEST(test_record_too_large_for_one_row_is_refused_unread)
{
    static const unsigned char small[16];
    exchange_log *log = open_log(NULL, 5000);
    char uuid[37];
    new_uuid(uuid);
    gw_log_record r = simple_record(uuid, "too-large");
    r.request = small;
    r.response = small;

    r.request_len = r.response_len = (size_t)700 << 20; /* each under 1 GB, together over */
    ck_assert_int_eq(gw_log_record_size_check(&r), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_ERR_INVALID_ARG);

    r.response_len = 0;
    r.request_len = (size_t)1 << 30;
    ck_assert_int_eq(gw_log_record_size_check(&r), GW_ERR_INVALID_ARG);
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_ERR_INVALID_ARG);
    r.request_len = SIZE_MAX; /* no wrap-around in the sum */
    r.response_len = SIZE_MAX;
    ck_assert_int_eq(gw_log_record_size_check(&r), GW_ERR_INVALID_ARG);

    /* Right at the limit: the text fields count too, each at its worst UTF-8 repair (3 bytes
     * a byte) plus its 4-byte length: the exchange id (36) and the outcome (2) here. */
    gw_log_record bare = {.exchange_id = uuid, .outcome = "ok", .t_request_in = 1};
    size_t texts = (3 * 36 + 4) + (3 * 2 + 4);
    bare.request = small;
    bare.request_len = GW_LOG_MAX_ROW_BYTES - texts;
    ck_assert_int_eq(gw_log_record_size_check(&bare), GW_OK);
    bare.service = "x";
    ck_assert_int_eq(gw_log_record_size_check(&bare), GW_ERR_INVALID_ARG);
    bare.request_len = GW_LOG_MAX_ROW_BYTES - texts - 7;
    ck_assert_int_eq(gw_log_record_size_check(&bare), GW_OK);
    gw_exchange_log_close(log);
}
END_TEST

static int assert_whole_chain_valid(PGconn *c, const char *member, int versions[5]);

/* A batch bigger than one COPY chunk (1 MiB) goes out in pieces and arrives whole. */
START_TEST(test_rows_larger_than_a_copy_chunk_round_trip)
{
    size_t n = (size_t)3 << 20;
    unsigned char *body = malloc(n);
    ck_assert_ptr_nonnull(body);
    for (size_t i = 0; i < n; i++) body[i] = (unsigned char)(i * 131 + (i >> 11));
    unsigned char digest[32];
    unsigned int dlen = 0;
    EVP_Digest(body, n, digest, &dlen, EVP_sha256(), NULL);

    exchange_log *log = open_log(NULL, 20000);
    char uuid[37], uuid2[37];
    new_uuid(uuid);
    new_uuid(uuid2);
    gw_log_record r = simple_record(uuid, "large-row");
    r.request = body;
    r.request_len = n;
    r.response = body;
    r.response_len = n - 1;
    EVP_Digest(body, n - 1, r.response_sha256, NULL, EVP_sha256(), NULL);
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_OK);
    gw_log_record r2 = simple_record(uuid2, "large-row");
    ck_assert_int_eq(gw_exchange_log_append(log, &r2), GW_OK);
    gw_exchange_log_close(log);

    PGconn *c = gateway_session();
    const char *v[1] = {uuid};
    PGresult *res = PQexecParams(c,
                                 "SELECT octet_length(request), octet_length(response), "
                                 "encode(sha256(request), 'hex') FROM exchange_log "
                                 "WHERE exchange_id = $1::uuid",
                                 1, NULL, v, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert_int_eq(atoll(PQgetvalue(res, 0, 0)), (long long)n);
    ck_assert_int_eq(atoll(PQgetvalue(res, 0, 1)), (long long)n - 1);
    char hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    ck_assert_str_eq(PQgetvalue(res, 0, 2), hex);
    PQclear(res);
    ck_assert_int_eq(assert_whole_chain_valid(c, "large-row", NULL) >= 2, 1);
    PQfinish(c);
    free(body);
}
END_TEST

START_TEST(test_invalid_utf8_is_stored_with_replacement_characters)
{
    exchange_log *log = open_log(NULL, 5000);
    char uuid[37];
    new_uuid(uuid);
    gw_log_record r = simple_record(uuid, "utf8-repair");
    r.fault_message = "bad \xc3\x28 and \xff end \xe2\x82\xac";
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_OK);
    gw_exchange_log_close(log);

    PGconn *c = gateway_session();
    PGresult *res = PQexecParams(c, "SELECT fault_message FROM exchange_log WHERE exchange_id = $1::uuid",
                                 1, NULL, (const char *[]){uuid}, NULL, NULL, 0);
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "bad \xef\xbf\xbd( and \xef\xbf\xbd end \xe2\x82\xac");
    PQclear(res);
    PQfinish(c);
}
END_TEST

#define THREADS 8
#define APPENDS_PER_THREAD 200

struct appender {
    exchange_log *log;
    const char *member;
    int failures;
};

static void *append_many(void *arg)
{
    struct appender *a = arg;
    for (int i = 0; i < APPENDS_PER_THREAD; i++) {
        char uuid[37];
        new_uuid(uuid);
        gw_log_record r = simple_record(uuid, a->member);
        if (gw_exchange_log_append(a->log, &r) != GW_OK) a->failures++;
    }
    return NULL;
}

/* The canonical encoding of docs/exchange-log.md over n field values (len -1: NULL), written
 * here independently of the writer. */
static void hash_fields(const unsigned char *prev, const char *const *value, const int *len, int n,
                        unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, prev, 32);
    for (int i = 0; i < n; i++) {
        unsigned char tag = len[i] < 0 ? 0 : 1;
        EVP_DigestUpdate(md, &tag, 1);
        if (!tag) continue;
        uint32_t l = (uint32_t)len[i];
        unsigned char be[4] = {(unsigned char)(l >> 24), (unsigned char)(l >> 16),
                               (unsigned char)(l >> 8), (unsigned char)l};
        EVP_DigestUpdate(md, be, 4);
        EVP_DigestUpdate(md, value[i], l);
    }
    unsigned int outlen;
    EVP_DigestFinal_ex(md, out, &outlen);
    EVP_MD_CTX_free(md);
}

/* Hash version 1 covers the first 27 columns of CHAIN_SQL, version 2 the first 32, version 3
 * the first 36, version 4 all 39. */
#define V1_FIELDS 27
#define V2_FIELDS 32
#define V3_FIELDS 36
#define V4_FIELDS 39

/* The whole log in the canonical v4 field order (v1..v3 are its prefixes), as binary
 * values. */
static const char CHAIN_SQL[] =
    "SELECT seq, exchange_id, client_member, client_user, auth_method, client_address, "
    "service, operation, adapter, subject_type, subject_id, purpose, procedure, request, "
    "response, request_sha256, response_sha256, signature_value, t_request_in, "
    "t_provider_out, t_provider_in, t_response_out, outcome, fault_code, fault_message, "
    "result_code, http_status, caller_host, caller_ip, caller_user, caller_mac, hash_version, "
    "client_subsystem, client_cert_sha256, message_id, request_signature_value, "
    "trace_id, trace_parent_id, body_encryption, "
    "prev_hash, row_hash, client_member = $1 "
    "FROM exchange_log ORDER BY seq";
enum { HASH_VERSION_COL = 31, PREV_COL = 39, HASH_COL = 40, MINE_COL = 41 };
static const int FIELDS_OF_VERSION[] = {0, V1_FIELDS, V2_FIELDS, V3_FIELDS, V4_FIELDS};

static void recompute_row_hash(const PGresult *res, int row, const unsigned char *prev,
                               unsigned char out[32])
{
    int version = (int)be_uint(PQgetvalue(res, row, HASH_VERSION_COL), 2);
    ck_assert_msg(version >= 1 && version <= 4, "unknown hash_version %d", version);
    const char *value[V4_FIELDS];
    int len[V4_FIELDS];
    for (int col = 0; col < V4_FIELDS; col++) {
        value[col] = PQgetvalue(res, row, col);
        len[col] = PQgetisnull(res, row, col) ? -1 : PQgetlength(res, row, col);
    }
    hash_fields(prev, value, len, FIELDS_OF_VERSION[version], out);

    /* The shared definition (writer and pide-audit-verify) agrees with this independent one. */
    gw_log_field f[V4_FIELDS];
    for (int col = 0; col < V4_FIELDS; col++)
        f[col] = (gw_log_field){value[col], len[col]};
    unsigned char shared[32];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ck_assert(gw_log_row_hash(md, prev, f, gw_log_hash_field_count(version), shared));
    EVP_MD_CTX_free(md);
    ck_assert_msg(memcmp(shared, out, 32) == 0, "gw_log_row_hash disagrees (v%d)", version);
}

/* Recomputes every link of the chain in C, then asks exchange_log_verify_chain() too. Returns
 * how many rows have client_member = member, and counts rows of each hash version. */
static int assert_whole_chain_valid(PGconn *c, const char *member, int versions[5])
{
    PGresult *res = PQexecParams(c, CHAIN_SQL, 1, NULL, (const char *[]){member}, NULL, NULL, 1);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    unsigned char prev[32] = {0}, hash[32];
    int mine = 0;
    for (int row = 0; row < PQntuples(res); row++) {
        int64_t seq = (int64_t)be_uint(PQgetvalue(res, row, 0), 8);
        ck_assert_int_eq(seq, row + 1); /* gapless from 1, hence unique */
        ck_assert_msg(memcmp(PQgetvalue(res, row, PREV_COL), prev, 32) == 0,
                      "seq %ld: prev_hash is not the previous row's row_hash", (long)seq);
        recompute_row_hash(res, row, prev, hash);
        ck_assert_msg(memcmp(PQgetvalue(res, row, HASH_COL), hash, 32) == 0,
                      "seq %ld: row_hash does not match its content", (long)seq);
        memcpy(prev, hash, 32);
        mine += PQgetvalue(res, row, MINE_COL)[0] == 1;
        if (versions) versions[be_uint(PQgetvalue(res, row, HASH_VERSION_COL), 2)]++;
    }
    PQclear(res);

    res = PQexec(c, "SELECT count(*) FROM exchange_log_verify_chain()");
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
    PQclear(res);
    return mine;
}

START_TEST(test_concurrent_appends_form_a_gapless_valid_chain)
{
    char member[64];
    snprintf(member, sizeof member, "concurrent-%d-%ld", (int)getpid(), (long)now_us());
    exchange_log *log = open_log(NULL, 10000);
    struct appender a[THREADS];
    pthread_t t[THREADS];
    double start = monotonic_s();
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct appender){log, member, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, append_many, &a[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(a[i].failures, 0);
    }
    double elapsed = monotonic_s() - start;
    fprintf(stderr, "check_exchange_log: %d appends from %d threads in %.3f s (%.0f rows/s)\n",
            THREADS * APPENDS_PER_THREAD, THREADS, elapsed,
            THREADS * APPENDS_PER_THREAD / elapsed);
    gw_exchange_log_close(log);

    PGconn *c = gateway_session();
    ck_assert_int_eq(rows_with_member(c, member), THREADS * APPENDS_PER_THREAD);
    ck_assert_int_eq(assert_whole_chain_valid(c, member, NULL), THREADS * APPENDS_PER_THREAD);
    PQfinish(c);
}
END_TEST

static void exec_or_fail(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQerrorMessage(c));
    PQclear(res);
}

/* Appends one row the way a writer predating migration 0002 (version 1) or 0003 (version 2)
 * did: under the chain lock, hashed by that version's rules (here, independently of the SQL
 * and the C writer). Runs inside the caller's open transaction. caller_ip and message_id, when
 * given, are stored whether or not the version covers them (v1 covers neither, v2 only
 * caller_ip), to forge rows that carry fields their version does not cover. Returns the seq. */
/* Stored in the next legacy row without being hashed (a row carrying a field its version does
 * not cover), when set. */
static const char *legacy_body_encryption;

static int64_t insert_legacy_row(PGconn *c, const char *member, int version,
                                 const char *caller_ip, const char *message_id)
{
    ck_assert(version >= 1 && version <= 3);
    exec_or_fail(c, "SELECT pg_advisory_xact_lock(8100115791357964135)");
    PGresult *res = PQexecParams(c, "SELECT seq, row_hash FROM exchange_log ORDER BY seq DESC LIMIT 1",
                                 0, NULL, NULL, NULL, NULL, 1);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    unsigned char prev[32] = {0};
    int64_t seq = 1;
    if (PQntuples(res) == 1) {
        seq = (int64_t)be_uint(PQgetvalue(res, 0, 0), 8) + 1;
        memcpy(prev, PQgetvalue(res, 0, 1), 32);
    }
    PQclear(res);

    char uuid[37];
    new_uuid(uuid);
    unsigned char seq_be[8], uuid_bin[16], t_be[8], status_be[4], version_be[2];
    for (int i = 0; i < 8; i++) seq_be[i] = (unsigned char)((uint64_t)seq >> (56 - 8 * i));
    for (int i = 0, j = 0; i < 16; i++, j += 2) {
        if (uuid[j] == '-') j++;
        sscanf(uuid + j, "%2hhx", &uuid_bin[i]);
    }
    uint64_t t = (uint64_t)(now_us() - PG_EPOCH_OFFSET_US);
    for (int i = 0; i < 8; i++) t_be[i] = (unsigned char)(t >> (56 - 8 * i));
    memcpy(status_be, (unsigned char[]){0, 0, 0, 200}, 4);
    memcpy(version_be, (unsigned char[]){0, (unsigned char)version}, 2);

    /* The fields of the version; unset ones are NULL. */
    const char *value[V3_FIELDS] = {0};
    int len[V3_FIELDS];
    for (int i = 0; i < V3_FIELDS; i++)
        len[i] = -1;
#define SET(i, v, l) (value[i] = (const char *)(v), len[i] = (int)(l))
    SET(0, seq_be, 8);
    SET(1, uuid_bin, 16);
    SET(2, member, strlen(member));
    SET(6, "reniec.consultarDni", strlen("reniec.consultarDni"));
    SET(9, "DNI", 3);
    SET(10, "45678912", 8);
    SET(18, t_be, 8);
    SET(22, "ok", 2);
    SET(26, status_be, 4);
    if (caller_ip) SET(28, caller_ip, strlen(caller_ip));
    SET(31, version_be, 2);
    if (version == 3 && message_id)
        SET(34, message_id, strlen(message_id));
#undef SET
    unsigned char hash[32];
    hash_fields(prev, value, len, FIELDS_OF_VERSION[version], hash);

    const char *params[] = {value[0], value[1], value[2], value[6], value[9], value[10],
                            value[18], value[22], value[26], caller_ip, message_id,
                            (const char *)version_be, (const char *)prev, (const char *)hash,
                            legacy_body_encryption};
    const int lengths[] = {8, 16, len[2], len[6], 3, 8, 8, 2, 4,
                           caller_ip ? (int)strlen(caller_ip) : 0,
                           message_id ? (int)strlen(message_id) : 0, 2, 32, 32,
                           legacy_body_encryption ? (int)strlen(legacy_body_encryption) : 0};
    const int formats[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    res = PQexecParams(
        c,
        "INSERT INTO exchange_log (seq, exchange_id, client_member, service, subject_type, "
        "subject_id, t_request_in, outcome, http_status, caller_ip, message_id, hash_version, "
        "prev_hash, row_hash, body_encryption) VALUES ($1::int8, $2::uuid, $3::text, $4::text, "
        "$5::text, $6::text, $7::timestamptz, $8::text, $9::int4, $10::text, $11::text, "
        "$12::int2, $13::bytea, $14::bytea, $15::text)",
        15, NULL, params, lengths, formats, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(res);
    return seq;
}

START_TEST(test_chain_holds_across_hash_versions_1_to_4)
{
    char member[64], uuid[37];
    snprintf(member, sizeof member, "mixed-%d-%ld", (int)getpid(), (long)now_us());
    PGconn *c = gateway_session();
    exec_or_fail(c, "BEGIN");
    insert_legacy_row(c, member, 1, NULL, NULL);
    insert_legacy_row(c, member, 1, NULL, NULL);
    insert_legacy_row(c, member, 2, "10.2.2.2", NULL);
    insert_legacy_row(c, member, 2, NULL, NULL);
    insert_legacy_row(c, member, 3, "10.3.3.3", "legacy-v3-message");
    exec_or_fail(c, "COMMIT");

    /* The writer continues the chain after v1, v2 and v3 rows with v4 rows (trace ids and the
     * encryption marker hashed). */
    exchange_log *log = open_log(NULL, 5000);
    new_uuid(uuid);
    gw_log_record r = simple_record(uuid, member);
    r.caller_ip = "192.0.2.55";
    r.caller_host = "PC-MIXED";
    r.client_cert_sha256 = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
    r.message_id = "mixed-message-1";
    r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    r.trace_parent_id = "00f067aa0ba902b7";
    r.body_encryption = "cms";
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_OK);
    gw_exchange_log_close(log);

    int versions[5] = {0};
    ck_assert_int_eq(assert_whole_chain_valid(c, member, versions), 6);
    ck_assert_int_ge(versions[1], 2);
    ck_assert_int_ge(versions[2], 2);
    ck_assert_int_ge(versions[3], 1);
    ck_assert_int_ge(versions[4], 1);
    PQfinish(c);
}
END_TEST

/* The query's single text value, or "" for no rows. */
static char *query_text(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    char *v = strdup(PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return v;
}

/* The only problem exchange_log_verify_chain() reports, as "seq: problem". */
static void assert_single_problem(PGconn *c, int64_t seq, const char *problem)
{
    char *count = query_text(c, "SELECT count(*) FROM exchange_log_verify_chain()");
    ck_assert_str_eq(count, "1");
    char *found = query_text(c, "SELECT seq || ': ' || problem FROM exchange_log_verify_chain()");
    char expected[256];
    snprintf(expected, sizeof expected, "%ld: %s", (long)seq, problem);
    ck_assert_str_eq(found, expected);
    free(found);
    free(count);
}

START_TEST(test_verify_rejects_rows_carrying_fields_their_version_does_not_cover)
{
    char member[64];
    snprintf(member, sizeof member, "uncovered-%d", (int)getpid());
    PGconn *c = gateway_session();
    /* Each case rolled back: the shared chain must stay intact for everyone else. */
    exec_or_fail(c, "BEGIN");
    int64_t seq = insert_legacy_row(c, member, 1, "10.9.9.9", NULL);
    assert_single_problem(c, seq,
                          "hash_version 1 row carries caller audit fields, which v1 does not cover");
    exec_or_fail(c, "ROLLBACK");

    exec_or_fail(c, "BEGIN");
    seq = insert_legacy_row(c, member, 1, NULL, "forged-message-id");
    assert_single_problem(c, seq, "hash_version 1 row carries identity fields, which v1 does not cover");
    exec_or_fail(c, "ROLLBACK");

    exec_or_fail(c, "BEGIN");
    seq = insert_legacy_row(c, member, 2, "10.9.9.9", "forged-message-id");
    assert_single_problem(c, seq, "hash_version 2 row carries identity fields, which v2 does not cover");
    exec_or_fail(c, "ROLLBACK");

    exec_or_fail(c, "BEGIN");
    legacy_body_encryption = "cms";
    seq = insert_legacy_row(c, member, 3, NULL, "m-3");
    legacy_body_encryption = NULL;
    assert_single_problem(c, seq,
                          "hash_version 3 row carries body_encryption, which v3 does not cover");
    exec_or_fail(c, "ROLLBACK");
    PQfinish(c);
}
END_TEST

START_TEST(test_verify_reports_an_unknown_hash_version)
{
    PGconn *c = gateway_session();
    exec_or_fail(c, "BEGIN");
    exec_or_fail(c, "SELECT pg_advisory_xact_lock(8100115791357964135)");
    /* Correctly linked to the head, but of a version nobody defined (rolled back). */
    char *seq = query_text(c, "INSERT INTO exchange_log (seq, exchange_id, t_request_in, outcome, "
                              "hash_version, prev_hash, row_hash) "
                              "SELECT seq + 1, gen_random_uuid(), now(), 'ok', 5, row_hash, "
                              "row_hash FROM exchange_log ORDER BY seq DESC LIMIT 1 RETURNING seq");
    ck_assert_str_ne(seq, "");
    assert_single_problem(c, atoll(seq), "unknown hash_version 5");
    exec_or_fail(c, "ROLLBACK");
    free(seq);
    PQfinish(c);
}
END_TEST

/* Runs SQL as the cluster's superuser (scripts/pg-local psql); returns its output. */
static char *superuser_sql(const char *sql)
{
    const char *src = getenv("PIDE_SOURCE_DIR"), *dir = getenv("PIDE_TEST_PG_DIR");
    ck_assert_msg(src && dir, "PIDE_SOURCE_DIR / PIDE_TEST_PG_DIR not set (run through ctest)");
    char in[] = "/tmp/check_exchange_log_sql.XXXXXX", out[] = "/tmp/check_exchange_log_out.XXXXXX";
    int in_fd = mkstemp(in), out_fd = mkstemp(out);
    ck_assert(in_fd >= 0 && out_fd >= 0);
    ck_assert_int_eq(write(in_fd, sql, strlen(sql)), (ssize_t)strlen(sql));
    close(in_fd);
    close(out_fd);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "bash '%s/scripts/pg-local' psql --dir '%s' -- -X -q -At -v ON_ERROR_STOP=1 "
             "<'%s' >'%s' 2>&1",
             src, dir, in, out);
    int rc = system(cmd);
    FILE *f = fopen(out, "r");
    static char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    unlink(in);
    unlink(out);
    ck_assert_msg(rc == 0, "superuser psql failed: %s", buf);
    return strdup(buf);
}

/* As superuser, in a transaction that is rolled back, sets column of the row with that
 * exchange id to forged, and asserts that verification names exactly that row; then that the
 * row reads back as original and the chain is intact again. */
static void assert_tampering_detected(PGconn *c, const char *uuid, const char *seq,
                                      const char *column, const char *original, const char *forged)
{
    /* A superuser bypasses the append-only trigger for the session (no table lock, unlike
     * DISABLE TRIGGER); the transaction is rolled back so the shared chain stays intact. */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "BEGIN;\n"
             "SET LOCAL session_replication_role = replica;\n"
             "UPDATE exchange_log SET %s = '%s' WHERE exchange_id = '%s';\n"
             "SELECT seq || ': ' || problem FROM exchange_log_verify_chain();\n"
             "ROLLBACK;\n",
             column, forged, uuid);
    char *report = superuser_sql(sql);
    char expected[128];
    snprintf(expected, sizeof expected, "%s: row_hash does not match the row's content\n", seq);
    ck_assert_msg(strcmp(report, expected) == 0, "%s altered: verification said '%s'", column,
                  report);

    snprintf(sql, sizeof sql, "SELECT %s FROM exchange_log WHERE exchange_id = '%s'", column, uuid);
    char *stored = query_text(c, sql);
    ck_assert_str_eq(stored, original);
    char *problems = query_text(c, "SELECT count(*) FROM exchange_log_verify_chain()");
    ck_assert_str_eq(problems, "0");
    free(problems);
    free(stored);
    free(report);
}

START_TEST(test_tampered_caller_or_identity_field_breaks_the_chain)
{
    char uuid[37], member[64];
    new_uuid(uuid);
    snprintf(member, sizeof member, "tamper-%d", (int)getpid());
    exchange_log *log = open_log(NULL, 5000);
    gw_log_record r = simple_record(uuid, member);
    r.caller_ip = "10.1.1.1";
    r.message_id = "msg-original";
    r.client_cert_sha256 = "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9";
    r.trace_id = "0af7651916cd43dd8448eb211c80319c";
    r.trace_parent_id = "b7ad6b7169203331";
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_OK);
    gw_exchange_log_close(log);
    PGconn *c = gateway_session();
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT seq FROM exchange_log WHERE exchange_id = '%s'", uuid);
    char *seq = query_text(c, sql);

    assert_tampering_detected(c, uuid, seq, "caller_ip", r.caller_ip, "10.6.6.6");
    assert_tampering_detected(c, uuid, seq, "message_id", r.message_id, "msg-forged");
    assert_tampering_detected(c, uuid, seq, "client_cert_sha256", r.client_cert_sha256,
                              "0000000000000000000000000000000000000000000000000000000000000000");
    /* Hash version 4 covers the trace columns (0007) and the encryption marker (0008). */
    assert_tampering_detected(c, uuid, seq, "trace_id", r.trace_id,
                              "11111111111111111111111111111111");
    assert_tampering_detected(c, uuid, seq, "trace_parent_id", r.trace_parent_id,
                              "2222222222222222");
    assert_tampering_detected(c, uuid, seq, "body_encryption", "", "cms");
    free(seq);
    PQfinish(c);
}
END_TEST

static void assert_permission_denied(PGconn *c, const char *sql, const char *uuid)
{
    PGresult *res = PQexecParams(c, sql, uuid ? 1 : 0, NULL, (const char *[]){uuid}, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_FATAL_ERROR, "%s was allowed", sql);
    ck_assert_str_eq(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42501");
    ck_assert_msg(strstr(PQresultErrorMessage(res), "permission denied") != NULL, "%s",
                  PQresultErrorMessage(res));
    PQclear(res);
}

START_TEST(test_gateway_role_cannot_change_the_log)
{
    char uuid[37];
    new_uuid(uuid);
    exchange_log *log = open_log(NULL, 5000);
    gw_log_record r = simple_record(uuid, "permissions");
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_OK);
    gw_exchange_log_close(log);

    PGconn *c = gateway_session();
    assert_permission_denied(c, "UPDATE exchange_log SET purpose = 'x' WHERE exchange_id = $1::uuid",
                             uuid);
    assert_permission_denied(c, "DELETE FROM exchange_log WHERE exchange_id = $1::uuid", uuid);
    assert_permission_denied(c, "TRUNCATE exchange_log", NULL);
    PQfinish(c);
}
END_TEST

static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

START_TEST(test_open_fails_clearly_without_database)
{
    char ci[1024], err[512];
    snprintf(ci, sizeof ci, "%s port=%d", conninfo, unused_port());
    exchange_log_options opt = {.conninfo = ci, .password = password, .commit_timeout_ms = 2000};
    exchange_log *log = (exchange_log *)&opt; /* must be reset to NULL */
    ck_assert_int_eq(gw_exchange_log_open(&opt, &log, err, sizeof err), GW_ERR_DATABASE);
    ck_assert_ptr_null(log);
    ck_assert_msg(strstr(err, "cannot connect") != NULL && strstr(err, "refused") != NULL, "%s", err);
    ck_assert_msg(strstr(err, password) == NULL, "the error shows the password");

    /* A database without the schema: the error names the table and the remedy. */
    snprintf(ci, sizeof ci, "%s dbname=postgres", conninfo);
    ck_assert_int_eq(gw_exchange_log_open(&opt, &log, err, sizeof err), GW_ERR_DATABASE);
    ck_assert_msg(strstr(err, "exchange_log") != NULL && strstr(err, "migrations") != NULL, "%s",
                  err);
}
END_TEST

/* With the spool on, an unreachable server is an outage: the log opens in spool mode and a row
 * is durable (spooled) at once. A server that is up but wrong (no schema, wrong password) still
 * refuses the open. */
START_TEST(test_open_with_spool_while_database_is_down)
{
    char ci[1024], err[512], dir[] = "/tmp/check_exchange_log_spool.XXXXXX", uuid[37];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(ci, sizeof ci, "%s port=%d", conninfo, unused_port());
    exchange_log_options opt = {.conninfo = ci,
                                .password = password,
                                .commit_timeout_ms = 2000,
                                .spool_dir = dir,
                                .spool_max_bytes = 1 << 20,
                                .switch_after_ms = 500};
    exchange_log *log = NULL;
    ck_assert_msg(gw_exchange_log_open(&opt, &log, err, sizeof err) == GW_OK, "%s", err);
    gw_log_spool_state ss;
    ck_assert(gw_exchange_log_spool_state(log, &ss));
    ck_assert(ss.spooling);
    new_uuid(uuid);
    gw_log_record r = simple_record(uuid, "cold-start");
    double t0 = monotonic_s();
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_OK);
    ck_assert_msg(monotonic_s() - t0 < 0.5, "the first row waited for the database");
    ck_assert(gw_exchange_log_spool_state(log, &ss));
    ck_assert_uint_eq(ss.records, 1);
    gw_exchange_log_close(log);

    /* Up but wrong: refused, spool or not. */
    snprintf(ci, sizeof ci, "%s dbname=postgres", conninfo);
    log = NULL;
    ck_assert_int_eq(gw_exchange_log_open(&opt, &log, err, sizeof err), GW_ERR_DATABASE);
    ck_assert_msg(strstr(err, "exchange_log") != NULL, "%s", err);
    snprintf(ci, sizeof ci, "%s", conninfo);
    opt.password = "not-the-password";
    ck_assert_int_eq(gw_exchange_log_open(&opt, &log, err, sizeof err), GW_ERR_DATABASE);
    ck_assert_msg(strstr(err, "cannot connect") != NULL, "%s", err);
    ck_assert_ptr_null(log);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static int backend_pid_of(PGconn *c, const char *app)
{
    PGresult *res = PQexecParams(c, "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
                                 1, NULL, (const char *[]){app}, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    int pid = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return pid;
}

START_TEST(test_writer_reconnects_after_backend_is_killed)
{
    char app[64], extra[96], uuid[37];
    snprintf(app, sizeof app, "check-exchange-log-%d", (int)getpid());
    snprintf(extra, sizeof extra, "application_name=%s", app);
    exchange_log *log = open_log(extra, 5000);
    new_uuid(uuid);
    gw_log_record r = simple_record(uuid, app);
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_OK);

    /* A role may terminate its own backends: no superuser needed. */
    PGconn *c = gateway_session();
    int old_pid = backend_pid_of(c, app);
    ck_assert_int_gt(old_pid, 0);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 5000)", old_pid);
    PGresult *res = PQexec(c, sql);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
    PQclear(res);

    new_uuid(uuid);
    r = simple_record(uuid, app);
    ck_assert_int_eq(gw_exchange_log_append(log, &r), GW_OK);
    ck_assert_int_eq(rows_with_member(c, app), 2);
    int new_pid = backend_pid_of(c, app);
    ck_assert_int_gt(new_pid, 0);
    ck_assert_int_ne(new_pid, old_pid);
    PQfinish(c);
    gw_exchange_log_close(log);
}
END_TEST

/* A TCP relay between the log and PostgreSQL that the test can cut and restore, to make the
 * database unreachable for one client only (the cluster is shared). */
typedef struct relay {
    int upstream_port, port, listen_fd;
    int ctl[2];
    int conns[64];
    int nconns;
    pthread_t thread;
} relay;

static int relay_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    return fd;
}

static void relay_drop_all(relay *r)
{
    for (int i = 0; i < r->nconns; i++) close(r->conns[i]);
    r->nconns = 0;
}

/* conns[2k] is the client side, conns[2k+1] its upstream. Control bytes: 'c'ut, 'r'estore,
 * 'q'uit; each is acknowledged with one byte back. */
static void *relay_main(void *arg)
{
    relay *r = arg;
    for (;;) {
        struct pollfd p[66];
        int n = 0;
        p[n++] = (struct pollfd){.fd = r->ctl[0], .events = POLLIN};
        p[n++] = (struct pollfd){.fd = r->listen_fd, .events = r->listen_fd >= 0 ? POLLIN : 0};
        for (int i = 0; i < r->nconns; i++) p[n++] = (struct pollfd){.fd = r->conns[i], .events = POLLIN};
        if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR) break;
        if (p[0].revents) {
            char cmd;
            if (read(r->ctl[0], &cmd, 1) != 1 || cmd == 'q') break;
            if (cmd == 'c') {
                relay_drop_all(r);
                close(r->listen_fd);
                r->listen_fd = -1;
            } else if (cmd == 'r') {
                r->listen_fd = relay_listen(r->port);
            }
            ck_assert_int_eq(write(r->ctl[0], &cmd, 1), 1);
            continue;
        }
        if (r->listen_fd >= 0 && (p[1].revents & POLLIN) && r->nconns + 2 <= 64) {
            int client = accept(r->listen_fd, NULL, NULL);
            int up = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->upstream_port),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            if (client >= 0 && connect(up, (struct sockaddr *)&a, sizeof a) == 0) {
                r->conns[r->nconns++] = client;
                r->conns[r->nconns++] = up;
            } else {
                if (client >= 0) close(client);
                close(up);
            }
            continue;
        }
        for (int i = 0; i < r->nconns; i++) {
            if (!p[2 + i].revents) continue;
            char buf[65536];
            ssize_t got = read(r->conns[i], buf, sizeof buf);
            int peer = r->conns[i ^ 1];
            if (got <= 0 || write(peer, buf, (size_t)got) != got) {
                /* one side closed: close the pair, keep the array dense */
                int pair = i & ~1;
                close(r->conns[pair]);
                close(r->conns[pair + 1]);
                r->conns[pair] = r->conns[r->nconns - 2];
                r->conns[pair + 1] = r->conns[r->nconns - 1];
                r->nconns -= 2;
                break; /* the pollfd indexes are stale now */
            }
        }
    }
    relay_drop_all(r);
    if (r->listen_fd >= 0) close(r->listen_fd);
    return NULL;
}

static void relay_command(relay *r, char cmd)
{
    char ack;
    ck_assert_int_eq(write(r->ctl[1], &cmd, 1), 1);
    if (cmd != 'q') ck_assert_int_eq(read(r->ctl[1], &ack, 1), 1);
}

static void relay_start(relay *r)
{
    const char *p = strstr(conninfo, "port=");
    ck_assert_ptr_nonnull(p);
    *r = (relay){.upstream_port = atoi(p + 5), .listen_fd = relay_listen(0)};
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(r->listen_fd, (struct sockaddr *)&a, &len);
    r->port = ntohs(a.sin_port);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, r->ctl), 0);
    ck_assert_int_eq(pthread_create(&r->thread, NULL, relay_main, r), 0);
}

static void relay_stop(relay *r)
{
    relay_command(r, 'q');
    pthread_join(r->thread, NULL);
    close(r->ctl[0]);
    close(r->ctl[1]);
}

START_TEST(test_append_times_out_while_database_unreachable_then_recovers)
{
    relay r;
    relay_start(&r);
    char extra[64], uuid[37], member[64];
    snprintf(extra, sizeof extra, "port=%d", r.port);
    snprintf(member, sizeof member, "unreachable-%d-%ld", (int)getpid(), (long)now_us());
    const int timeout_ms = 1500;
    exchange_log *log = open_log(extra, timeout_ms);
    new_uuid(uuid);
    gw_log_record rec = simple_record(uuid, member);
    ck_assert_int_eq(gw_exchange_log_append(log, &rec), GW_OK);

    relay_command(&r, 'c');
    new_uuid(uuid);
    rec = simple_record(uuid, member);
    double start = monotonic_s();
    ck_assert_int_eq(gw_exchange_log_append(log, &rec), GW_ERR_LOG_UNAVAILABLE);
    double waited = monotonic_s() - start;
    ck_assert_msg(waited >= timeout_ms / 1000.0 - 0.05 && waited < timeout_ms / 1000.0 + 1.0,
                  "append returned after %.3f s, timeout %d ms", waited, timeout_ms);

    relay_command(&r, 'r');
    new_uuid(uuid);
    rec = simple_record(uuid, member);
    ck_assert_int_eq(gw_exchange_log_append(log, &rec), GW_OK);
    gw_exchange_log_close(log);
    relay_stop(&r);

    /* The refused row was not written later behind the caller's back. */
    PGconn *c = gateway_session();
    ck_assert_int_eq(rows_with_member(c, member), 2);
    PQfinish(c);
}
END_TEST

static Suite *exchange_log_suite(void)
{
    Suite *s = suite_create("exchange_log");
    TCase *tc = tcase_create("postgres");
    tcase_add_checked_fixture(tc, load_fixture, unload_fixture);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_append_round_trips_every_field);
    tcase_add_test(tc, test_append_rejects_records_postgres_would_refuse);
    tcase_add_test(tc, test_invalid_utf8_is_stored_with_replacement_characters);
    tcase_add_test(tc, test_record_too_large_for_one_row_is_refused_unread);
    tcase_add_test(tc, test_rows_larger_than_a_copy_chunk_round_trip);
    tcase_add_test(tc, test_concurrent_appends_form_a_gapless_valid_chain);
    tcase_add_test(tc, test_chain_holds_across_hash_versions_1_to_4);
    tcase_add_test(tc, test_verify_rejects_rows_carrying_fields_their_version_does_not_cover);
    tcase_add_test(tc, test_verify_reports_an_unknown_hash_version);
    tcase_add_test(tc, test_tampered_caller_or_identity_field_breaks_the_chain);
    tcase_add_test(tc, test_gateway_role_cannot_change_the_log);
    tcase_add_test(tc, test_open_fails_clearly_without_database);
    tcase_add_test(tc, test_open_with_spool_while_database_is_down);
    tcase_add_test(tc, test_writer_reconnects_after_backend_is_killed);
    tcase_add_test(tc, test_append_times_out_while_database_unreachable_then_recovers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(exchange_log_suite());
}
