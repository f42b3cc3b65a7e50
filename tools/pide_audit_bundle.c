/*
 * pide_audit_bundle.c — evidence bundles (docs/auditor-guide.md, "Evidence bundles"): the C half
 * of `pide-audit export` and `pide-audit verify-bundle`; tools/pide-audit-bundle.sh packs and
 * unpacks the tar.gz and runs xmlsec1 on the responses.
 *
 *   pide-audit-bundle export --conninfo CONNINFO --dir DIR [--full-path] EXCHANGE_ID...
 *   pide-audit-bundle verify --dir DIR [--trust CA.pem]   (checkpoint signature and token)
 *
 * export writes DIR/MANIFEST.json, DIR/exchanges/<id>/{row.json,request.bin,response.xml} and
 * DIR/chain.json — the (seq, prev_hash, row_hash) of every row from the lowest exported seq to
 * the chain head, or to the covering signed checkpoint when the log has one (table
 * public.exchange_checkpoint, migration 0006: its row goes to DIR/checkpoint.json and the path
 * stops at its seq). Rows are read in binary form in one REPEATABLE READ snapshot; the session
 * pins search_path. verify needs no database: it recomputes each row_hash from row.json and the
 * two files with the writer's own gw_log_row_hash, checks that each row sits in the chain path
 * and that every link of the path holds, and prints each check. Exit: 0 all checks passed,
 * 1 a check failed (named), 2 bad arguments or unreadable bundle, 3 database error (export).
 */
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "audit_db.h"
#include "bundle_row.h"
#include "checkpoint.h"
#include "exchange_log.h"

#define PROG "pide-audit"
#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_DATABASE 3
#define HASH_LEN GW_LOG_HASH_LEN
#define MAX_FILE_BYTES ((size_t)1 << 30)

static bool is_uuid(const char *s)
{
    if (!s || strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex) return false;
    }
    return true;
}

static bool write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wbx");
    if (!f) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", path, strerror(errno));
        return false;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    if (fclose(f) != 0) ok = false;
    if (!ok) fprintf(stderr, PROG ": cannot write %s\n", path);
    return ok;
}

static bool write_json(const char *path, json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    bool ok = text && write_file(path, text, strlen(text)) && true;
    free(text);
    return ok;
}

/* Whole file; NULL with *len 0 when it does not exist (errno ENOENT), NULL on other errors. */
static unsigned char *read_file(const char *path, size_t *len, bool *missing)
{
    *len = 0;
    *missing = false;
    struct stat st;
    if (lstat(path, &st) != 0) {
        *missing = errno == ENOENT;
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_FILE_BYTES) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc((size_t)st.st_size + 1);
    if (buf && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        *len = (size_t)st.st_size;
        buf[*len] = '\0';
    }
    return buf;
}

/* ---- export ------------------------------------------------------------------------------- */

#define ROW_SQL \
    "SELECT seq, exchange_id, client_member, client_user, auth_method, client_address, service, " \
    "operation, adapter, subject_type, subject_id, purpose, procedure, request, response, " \
    "request_sha256, response_sha256, signature_value, t_request_in, t_provider_out, " \
    "t_provider_in, t_response_out, outcome, fault_code, fault_message, result_code, " \
    "http_status, caller_host, caller_ip, caller_user, caller_mac, hash_version, " \
    "client_subsystem, client_cert_sha256, message_id, request_signature_value, trace_id, " \
    "trace_parent_id, body_encryption, prev_hash, row_hash, " \
    "pg_catalog.to_char(t_logged AT TIME ZONE 'UTC', " \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM public.exchange_log "
#define ROW_BY_ID "WHERE exchange_id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid ORDER BY seq"
#define ROWS_BY_SEQ                                                                            \
    "WHERE seq OPERATOR(pg_catalog.>=) $1::pg_catalog.int8 AND seq OPERATOR(pg_catalog.<=) "   \
    "$2::pg_catalog.int8 ORDER BY seq"

static PGresult *query_binary(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        audit_db_error(PROG, "reading the rows", PQerrorMessage(conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

static bool table_exists(PGconn *conn, const char *name, bool *out)
{
    const char *params[1] = {name};
    PGresult *res = PQexecParams(conn, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, NULL,
                                 params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (ok)
        *out = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    else
        audit_db_error(PROG, "looking for table", PQerrorMessage(conn));
    PQclear(res);
    return ok;
}

static int64_t be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | (unsigned char)p[i];
    return (int64_t)v;
}

/* The covering checkpoint, when migration 0006's table exists: the first checkpoint whose seq
 * column (named seq or head_seq) is at or after `seq`; its row goes to checkpoint.json as
 * row_to_json gives it. *cp_seq -1 when there is none. */
static bool export_checkpoint(PGconn *conn, const char *dir, int64_t seq, int64_t *cp_seq,
                              json_t *manifest)
{
    bool exists = false;
    *cp_seq = -1;
    if (!table_exists(conn, "public.exchange_checkpoint", &exists)) return false;
    if (!exists) {
        json_object_set_new(manifest, "checkpoint", json_null());
        return true;
    }
    PGresult *res = PQexec(conn,
                           "SELECT attname::pg_catalog.text FROM pg_catalog.pg_attribute WHERE "
                           "attrelid OPERATOR(pg_catalog.=) "
                           "'public.exchange_checkpoint'::pg_catalog.regclass AND attname "
                           "OPERATOR(pg_catalog.=) ANY ('{head_seq,seq}'::pg_catalog.name[]) "
                           "AND NOT attisdropped ORDER BY attname");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
        PQclear(res);
        json_object_set_new(manifest, "checkpoint", json_string("table present, no seq column"));
        return true;
    }
    char sql[400], seqtext[32];
    const char *col = PQgetvalue(res, 0, 0); /* head_seq before seq */
    snprintf(sql, sizeof sql,
             "SELECT c.%s::pg_catalog.text, pg_catalog.row_to_json(c)::pg_catalog.text FROM "
             "public.exchange_checkpoint c WHERE c.%s OPERATOR(pg_catalog.>=) $1::pg_catalog.int8 "
             "ORDER BY c.%s LIMIT 1",
             strcmp(col, "head_seq") == 0 ? "head_seq" : "seq",
             strcmp(col, "head_seq") == 0 ? "head_seq" : "seq",
             strcmp(col, "head_seq") == 0 ? "head_seq" : "seq");
    PQclear(res);
    snprintf(seqtext, sizeof seqtext, "%lld", (long long)seq);
    const char *params[1] = {seqtext};
    res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        audit_db_error(PROG, "reading the checkpoint", PQerrorMessage(conn));
        PQclear(res);
        return false;
    }
    bool ok = true;
    if (PQntuples(res) == 0) {
        json_object_set_new(manifest, "checkpoint", json_null());
    } else {
        char path[4096];
        *cp_seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(path, sizeof path, "%s/checkpoint.json", dir);
        const char *text = PQgetvalue(res, 0, 1);
        ok = write_file(path, text, strlen(text));
        json_object_set_new(manifest, "checkpoint", json_string("checkpoint.json"));
    }
    PQclear(res);
    return ok;
}

/* Row r of a ROW_SQL result into directory sub (created): row.json, request.bin, response.xml. */
static bool write_row(EVP_MD_CTX *md, PGresult *res, int r, const char *sub, int64_t *seq_out)
{
    gw_log_field f[GW_LOG_FIELD_COUNT];
    for (int c = 0; c < GW_LOG_FIELD_COUNT; c++) {
        f[c].len = PQgetisnull(res, r, c) ? -1 : PQgetlength(res, r, c);
        f[c].data = f[c].len >= 0 ? PQgetvalue(res, r, c) : NULL;
    }
    const unsigned char *prev = (const unsigned char *)PQgetvalue(res, r, GW_LOG_FIELD_COUNT);
    const unsigned char *stored = (const unsigned char *)PQgetvalue(res, r, GW_LOG_FIELD_COUNT + 1);
    int64_t seq = be64(PQgetvalue(res, r, 0));
    *seq_out = seq;
    if (PQgetlength(res, r, GW_LOG_FIELD_COUNT) != HASH_LEN ||
        PQgetlength(res, r, GW_LOG_FIELD_COUNT + 1) != HASH_LEN) {
        fprintf(stderr, PROG ": row %lld has malformed hashes\n", (long long)seq);
        return false;
    }
    char t_logged[64];
    snprintf(t_logged, sizeof t_logged, "%.*s", PQgetlength(res, r, GW_LOG_FIELD_COUNT + 2),
             PQgetvalue(res, r, GW_LOG_FIELD_COUNT + 2));
    json_t *row = bundle_row_to_json(f, prev, stored, t_logged);
    unsigned char computed[HASH_LEN];
    int version = f[31].len == 2 ? ((unsigned char)((const char *)f[31].data)[0] << 8 |
                                    (unsigned char)((const char *)f[31].data)[1])
                                 : 1;
    int count = gw_log_hash_field_count(version);
    if (!count || !gw_log_row_hash(md, prev, f, count, computed) ||
        memcmp(computed, stored, HASH_LEN) != 0)
        fprintf(stderr, PROG ": warning: the stored row_hash of seq %lld does not match its "
                        "content (exported as stored; verify-bundle will report it)\n",
                (long long)seq);
    bool ok = row && mkdir(sub, 0755) == 0;
    if (ok) {
        char file[4400];
        snprintf(file, sizeof file, "%s/row.json", sub);
        ok = write_json(file, row);
        if (ok && f[BUNDLE_FIELD_REQUEST].len >= 0) {
            snprintf(file, sizeof file, "%s/" BUNDLE_REQUEST_FILE, sub);
            ok = write_file(file, f[BUNDLE_FIELD_REQUEST].data, (size_t)f[BUNDLE_FIELD_REQUEST].len);
        }
        if (ok && f[BUNDLE_FIELD_RESPONSE].len >= 0) {
            snprintf(file, sizeof file, "%s/" BUNDLE_RESPONSE_FILE, sub);
            ok = write_file(file, f[BUNDLE_FIELD_RESPONSE].data, (size_t)f[BUNDLE_FIELD_RESPONSE].len);
        }
    }
    json_decref(row);
    return ok;
}

static int cmd_export(const char *conninfo, const char *dir, char **ids, int n_ids, bool full_path)
{
    PGconn *conn = NULL;
    json_t *manifest = json_object(), *exported = json_array(), *links = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = EXIT_DATABASE;
    int64_t min_seq = INT64_MAX, max_seq = 0;
    char path[4096];

    for (int i = 0; i < n_ids; i++)
        if (!is_uuid(ids[i])) {
            fprintf(stderr, PROG ": '%s' is not an exchange id (a UUID like "
                            "1b4e28ba-2fa1-41d2-883f-0016d3cca427)\n", ids[i]);
            rc = EXIT_USAGE;
            goto done;
        }
    if (!manifest || !exported || !md) goto done;
    conn = audit_db_connect(PROG, conninfo, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (!conn) goto done;
    snprintf(path, sizeof path, "%s/exchanges", dir);
    if (mkdir(path, 0755) != 0) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", path, strerror(errno));
        goto done;
    }
    for (int i = 0; i < n_ids; i++) {
        bool repeated = false; /* the same id twice: one copy in the bundle */
        for (int k = 0; k < i; k++) repeated = repeated || strcasecmp(ids[k], ids[i]) == 0;
        if (repeated) continue;
        const char *params[1] = {ids[i]};
        PGresult *res = query_binary(conn, ROW_SQL ROW_BY_ID, 1, params);
        if (!res) goto done;
        if (PQntuples(res) != 1) {
            fprintf(stderr, PROG ": no exchange with id %s\n", ids[i]);
            PQclear(res);
            rc = EXIT_FAILED;
            goto done;
        }
        char id_lower[37];
        for (int k = 0; k < 37; k++)
            id_lower[k] = (char)(ids[i][k] >= 'A' && ids[i][k] <= 'F' ? ids[i][k] + 32 : ids[i][k]);
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/%s", path, id_lower);
        int64_t seq = 0;
        bool ok = write_row(md, res, 0, sub, &seq);
        PQclear(res);
        if (!ok) goto done;
        json_array_append_new(exported, json_pack("{s:s, s:I}", "exchange_id", id_lower, "seq",
                                                  (json_int_t)seq));
        if (seq < min_seq) min_seq = seq;
        if (seq > max_seq) max_seq = seq;
    }

    /* The checkpoint that covers every exported row: the first at or after the newest one. */
    int64_t cp_seq = -1;
    if (!export_checkpoint(conn, dir, max_seq, &cp_seq, manifest)) goto done;
    char from[32], to[32];
    snprintf(from, sizeof from, "%lld", (long long)min_seq);
    snprintf(to, sizeof to, "%lld", (long long)(cp_seq >= 0 ? cp_seq : INT64_MAX));
    const char *params[2] = {from, to};
    PGresult *res = query_binary(
        conn,
        "SELECT seq, prev_hash, row_hash FROM public.exchange_log WHERE seq OPERATOR(pg_catalog.>=) "
        "$1::pg_catalog.int8 AND seq OPERATOR(pg_catalog.<=) $2::pg_catalog.int8 ORDER BY seq",
        2, params);
    if (!res) goto done;
    links = json_array();
    char prev_hex[2 * HASH_LEN + 1], row_hex[2 * HASH_LEN + 1];
    for (int r = 0; links && r < PQntuples(res); r++) {
        if (PQgetlength(res, r, 0) != 8 || PQgetlength(res, r, 1) != HASH_LEN ||
            PQgetlength(res, r, 2) != HASH_LEN)
            continue;
        bundle_hex((const unsigned char *)PQgetvalue(res, r, 1), HASH_LEN, prev_hex);
        bundle_hex((const unsigned char *)PQgetvalue(res, r, 2), HASH_LEN, row_hex);
        json_array_append_new(links, json_pack("[I, s, s]", (json_int_t)be64(PQgetvalue(res, r, 0)),
                                               prev_hex, row_hex));
    }
    PQclear(res);
    if (!links) goto done;
    if (full_path) {
        /* Every row of the path with its content, so verify-bundle recomputes each link. */
        snprintf(path, sizeof path, "%s/path", dir);
        if (mkdir(path, 0755) != 0) goto done;
        res = query_binary(conn, ROW_SQL ROWS_BY_SEQ, 2, params);
        if (!res) goto done;
        bool ok = true;
        for (int r = 0; ok && r < PQntuples(res); r++) {
            char sub[4200];
            int64_t seq;
            snprintf(sub, sizeof sub, "%s/%lld", path, (long long)be64(PQgetvalue(res, r, 0)));
            ok = write_row(md, res, r, sub, &seq);
        }
        PQclear(res);
        if (!ok) goto done;
        json_object_set_new(manifest, "full_path", json_true());
    }
    json_t *chain = json_pack("{s:s, s:s, s:o}", "format", "[seq, prev_hash, row_hash] per row",
                              "ends_at", cp_seq >= 0 ? "checkpoint" : "head", "links", links);
    links = NULL;
    snprintf(path, sizeof path, "%s/chain.json", dir);
    bool ok = chain && write_json(path, chain);
    json_decref(chain);
    if (!ok) goto done;

    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    json_object_set_new(manifest, "bundle", json_string("pide-evidence-bundle"));
    json_object_set_new(manifest, "version", json_integer(1));
    json_object_set_new(manifest, "created_at", json_string(created));
    json_object_set_new(manifest, "exchanges", exported);
    exported = NULL;
    snprintf(path, sizeof path, "%s/MANIFEST.json", dir);
    if (!write_json(path, manifest)) goto done;
    rc = EXIT_OK;
done:
    json_decref(links);
    json_decref(exported);
    json_decref(manifest);
    EVP_MD_CTX_free(md);
    if (conn) PQfinish(conn);
    return rc;
}

/* ---- verify ------------------------------------------------------------------------------- */

typedef struct link_t {
    int64_t seq;
    unsigned char prev[HASH_LEN], row[HASH_LEN];
} link_t;

static const char *str_or_empty(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

static int unreadable(const char *what)
{
    fprintf(stderr, PROG ": not a readable evidence bundle: %s\n", what);
    return EXIT_USAGE;
}

/* The row in directory sub recomputed: 1 its hash in *computed and the row in *br (whose
 * pointers into the JSON and files are no longer valid), 0 unreadable or malformed (why), -1 no
 * such directory. */
static int recompute_dir(EVP_MD_CTX *md, const char *sub, bundle_row *br,
                         unsigned char computed[HASH_LEN], char *why, size_t whylen)
{
    char file[4400];
    json_error_t err;
    struct stat st;
    if (lstat(sub, &st) != 0) return -1;
    snprintf(file, sizeof file, "%s/row.json", sub);
    json_t *row = json_load_file(file, JSON_REJECT_DUPLICATES, &err);
    size_t req_len, resp_len;
    bool req_missing, resp_missing;
    snprintf(file, sizeof file, "%s/" BUNDLE_REQUEST_FILE, sub);
    unsigned char *req = read_file(file, &req_len, &req_missing);
    snprintf(file, sizeof file, "%s/" BUNDLE_RESPONSE_FILE, sub);
    unsigned char *resp = read_file(file, &resp_len, &resp_missing);
    int rc = 0;
    if (!row)
        snprintf(why, whylen, "row.json missing or not JSON");
    else if ((!req && !req_missing) || (!resp && !resp_missing))
        snprintf(why, whylen, "request.bin or response.xml is not a readable regular file");
    else if (bundle_row_from_json(row, req, req_len, resp, resp_len, br, why, whylen)) {
        int count = gw_log_hash_field_count(br->version);
        if (count && gw_log_row_hash(md, br->prev_hash, br->f, count, computed))
            rc = 1;
        else
            snprintf(why, whylen, "hash version %d cannot be recomputed", br->version);
    }
    json_decref(row);
    free(req);
    free(resp);
    return rc;
}

/* A bytea value as row_to_json writes it ("\\x<hex>") into a new buffer; false when it is not one. */
static bool bytea_of(json_t *v, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (!s || strncmp(s, "\\x", 2) != 0) return false;
    size_t hex = strlen(s + 2);
    if (hex % 2 || hex == 0 || hex > 2 * 1024 * 1024) return false;
    *out = malloc(hex / 2);
    if (!*out || !bundle_unhex(s + 2, *out, hex / 2)) {
        free(*out);
        *out = NULL;
        return false;
    }
    *len = hex / 2;
    return true;
}

/* The checkpoint in checkpoint.json, offline: its statement says what its columns say, its CMS
 * signature verifies against `trust` (and the certificate in it is the recorded signer), and its
 * RFC 3161 token, when stamped, verifies against `trust` over its signed document
 * (gateway/checkpoint.c: the functions `pide-audit verify` uses). */
static void verify_checkpoint_doc(bundle_checker *c, json_t *doc, const char *trust)
{
    unsigned char *statement = NULL, *signed_der = NULL, *signer = NULL, *tst = NULL, *head = NULL;
    size_t statement_len = 0, signed_len = 0, signer_len = 0, tst_len = 0, head_len = 0;
    void *store = NULL;
    char err[512] = "";
    json_t *id = json_object_get(doc, "id");
    bool have = bytea_of(json_object_get(doc, "statement"), &statement, &statement_len) &&
                bytea_of(json_object_get(doc, "signed_document"), &signed_der, &signed_len) &&
                bytea_of(json_object_get(doc, "signer_certificate"), &signer, &signer_len) &&
                bytea_of(json_object_get(doc, "head_row_hash"), &head, &head_len);
    bundle_check(
        c, have,
        "checkpoint.json: statement, signed document, signer certificate and head present");
    if (!have) goto done;
    gw_checkpoint_statement st;
    bool parsed = gw_checkpoint_statement_parse(statement, statement_len, &st);
    bundle_check(
        c,
        parsed && json_is_integer(id) && st.id == json_integer_value(id) &&
            st.head_seq == json_integer_value(json_object_get(doc, "head_seq")) &&
            head_len == GW_CHECKPOINT_HASH_LEN &&
            memcmp(st.head_row_hash, head, GW_CHECKPOINT_HASH_LEN) == 0,
        "checkpoint %lld: the signed statement names the same id, seq and row_hash as its columns",
        (long long)(json_is_integer(id) ? json_integer_value(id) : -1));
    if (!trust) {
        bundle_check(c, false,
                     "checkpoint: signature not checked: no CA (give --trusted-pem CA.pem)");
        goto done;
    }
    if (gw_checkpoint_load_store(trust, &store, err, sizeof err) != GW_OK) {
        bundle_check(c, false, "checkpoint: cannot load the trust anchors: %s", err);
        goto done;
    }
    err[0] = '\0';
    bundle_check(c,
                 gw_checkpoint_verify_signature(store, signed_der, signed_len, statement,
                                                statement_len, signer, signer_len, err,
                                                sizeof err) == GW_OK,
                 "checkpoint: CMS signature over the statement verified against the CA%s%s",
                 err[0] ? ": " : "", err);
    json_t *t = json_object_get(doc, "tst");
    if (json_is_null(t) || !t) {
        printf("note: checkpoint not time-stamped yet (no RFC 3161 token)\n");
    } else {
        int64_t gen_us = 0;
        err[0] = '\0';
        bundle_check(c,
                     bytea_of(t, &tst, &tst_len) &&
                         gw_checkpoint_verify_token(store, tst, tst_len, signed_der, signed_len,
                                                    &gen_us, err, sizeof err) == GW_OK,
                     "checkpoint: RFC 3161 time-stamp over the signed document verified%s%s",
                     err[0] ? ": " : "", err);
    }
done:
    gw_checkpoint_free_store(store);
    free(statement);
    free(signed_der);
    free(signer);
    free(tst);
    free(head);
}

static int cmd_verify(const char *dir, const char *trust)
{
    char path[4096], why[256], hex[2 * HASH_LEN + 1];
    json_error_t err;
    bundle_checker c = {0, 0};
    link_t *chain = NULL;
    size_t n_links = 0;
    int rc = EXIT_USAGE;
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    snprintf(path, sizeof path, "%s/MANIFEST.json", dir);
    json_t *manifest = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    snprintf(path, sizeof path, "%s/chain.json", dir);
    json_t *chain_doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    json_t *exchanges = json_object_get(manifest, "exchanges");
    json_t *links = json_object_get(chain_doc, "links");
    if (!md) goto done;
    if (!manifest || strcmp(str_or_empty(json_object_get(manifest, "bundle")),
                            "pide-evidence-bundle") != 0 ||
        json_integer_value(json_object_get(manifest, "version")) != 1 ||
        !json_is_array(exchanges) || json_array_size(exchanges) == 0) {
        rc = unreadable("MANIFEST.json missing or not a version 1 pide-evidence-bundle manifest");
        goto done;
    }
    if (!json_is_array(links)) {
        rc = unreadable("chain.json missing or without links");
        goto done;
    }

    /* The chain path: consecutive seq, each prev_hash the previous row_hash. */
    n_links = json_array_size(links);
    chain = calloc(n_links ? n_links : 1, sizeof *chain);
    if (!chain) goto done;
    bool links_ok = n_links > 0;
    for (size_t i = 0; i < n_links; i++) {
        json_t *l = json_array_get(links, i);
        if (!json_is_array(l) || json_array_size(l) != 3 ||
            !json_is_integer(json_array_get(l, 0)) ||
            !bundle_unhex(json_string_value(json_array_get(l, 1)), chain[i].prev, HASH_LEN) ||
            !bundle_unhex(json_string_value(json_array_get(l, 2)), chain[i].row, HASH_LEN)) {
            rc = unreadable("chain.json: a link is not [seq, prev_hash hex, row_hash hex]");
            goto done;
        }
        chain[i].seq = json_integer_value(json_array_get(l, 0));
        if (i > 0 && chain[i].seq != chain[i - 1].seq + 1) {
            bundle_check(&c, false, "chain path: seq %lld follows seq %lld (a link is missing)",
                         (long long)chain[i].seq, (long long)chain[i - 1].seq);
            links_ok = false;
        } else if (i > 0 && memcmp(chain[i].prev, chain[i - 1].row, HASH_LEN) != 0) {
            bundle_check(&c, false,
                         "chain path: prev_hash of seq %lld is not the row_hash of seq %lld",
                         (long long)chain[i].seq, (long long)chain[i - 1].seq);
            links_ok = false;
        }
    }
    if (links_ok) {
        bundle_hex(chain[n_links - 1].row, HASH_LEN, hex);
        bundle_check(&c, true,
                     "chain path: %zu links from seq %lld to seq %lld, each prev_hash the row_hash "
                     "before it; ends at %s %lld:%s",
                     n_links, (long long)chain[0].seq, (long long)chain[n_links - 1].seq,
                     strcmp(str_or_empty(json_object_get(chain_doc, "ends_at")), "checkpoint") == 0
                         ? "checkpoint"
                         : "head",
                     (long long)chain[n_links - 1].seq, hex);
    }

    /* With export --full-path, every link's row is in path/<seq>/: recompute each. */
    size_t recomputed = 0, absent = 0, wrong = 0;
    (void)absent;
    for (size_t i = 0; links_ok && i < n_links; i++) {
        char sub[4200];
        bundle_row br;
        unsigned char computed[HASH_LEN];
        snprintf(sub, sizeof sub, "%s/path/%lld", dir, (long long)chain[i].seq);
        int got = recompute_dir(md, sub, &br, computed, why, sizeof why);
        if (got < 0) { absent++; continue; }
        if (got == 0) {
            bundle_check(&c, false, "chain path: row of seq %lld: %s", (long long)chain[i].seq,
                         why);
            wrong++;
        } else if (br.seq != chain[i].seq || memcmp(computed, chain[i].row, HASH_LEN) != 0 ||
                   memcmp(br.prev_hash, chain[i].prev, HASH_LEN) != 0) {
            bundle_check(&c, false,
                         "chain path: seq %lld: row_hash recomputed from its content is not "
                         "the link's",
                         (long long)chain[i].seq);
            wrong++;
        } else {
            recomputed++;
        }
    }
    if (links_ok && recomputed > 0 && wrong == 0 && absent == 0)
        bundle_check(&c, true,
                     "chain path: every one of the %zu links recomputed from its row's content "
                     "(export --full-path)",
                     recomputed);
    else if (links_ok && wrong == 0)
        printf("note: the chain path's links are taken from the bundle as (seq, prev_hash, "
               "row_hash); only the exported rows below are recomputed (export --full-path "
               "includes every row of the path)\n");

    for (size_t i = 0; i < json_array_size(exchanges); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(exchanges, i), "exchange_id"));
        bool safe = id && strlen(id) == 36 && strspn(id, "0123456789abcdef-") == 36;
        if (!safe) {
            rc = unreadable("MANIFEST.json: an exchange id is not a lower-case uuid");
            goto done;
        }
        char sub[4200], file[4400];
        snprintf(sub, sizeof sub, "%s/exchanges/%s", dir, id);
        snprintf(file, sizeof file, "%s/row.json", sub);
        json_t *row = json_load_file(file, JSON_REJECT_DUPLICATES, &err);
        size_t req_len, resp_len;
        bool req_missing, resp_missing;
        snprintf(file, sizeof file, "%s/" BUNDLE_REQUEST_FILE, sub);
        unsigned char *req = read_file(file, &req_len, &req_missing);
        snprintf(file, sizeof file, "%s/" BUNDLE_RESPONSE_FILE, sub);
        unsigned char *resp = read_file(file, &resp_len, &resp_missing);
        bundle_row br;
        if (!row) {
            bundle_check(&c, false, "exchange %s: row.json missing or not JSON (%s)", id, err.text);
        } else if ((!req && !req_missing) || (!resp && !resp_missing)) {
            bundle_check(&c, false,
                         "exchange %s: request.bin or response.xml is not a readable regular file",
                         id);
        } else if (!bundle_row_from_json(row, req, req_len, resp, resp_len, &br, why, sizeof why)) {
            bundle_check(&c, false, "exchange %s: %s", id, why);
        } else {
            int count = gw_log_hash_field_count(br.version);
            unsigned char computed[HASH_LEN];
            const char *row_id = json_string_value(json_object_get(row, "exchange_id"));
            bundle_check(&c, row_id && strcmp(row_id, id) == 0,
                         "exchange %s: row.json is that exchange's row (seq %lld)", id,
                         (long long)br.seq);
            char uncovered_buf[200];
            const char *uncovered =
                gw_log_uncovered_fields(br.version, br.f, uncovered_buf, sizeof uncovered_buf);
            if (uncovered)
                bundle_check(&c, false, "exchange %s: %s", id, uncovered);
            if (resp && !uncovered && br.f[GW_LOG_FIELD_BODY_ENCRYPTION].len >= 0) {
                /* Encrypted at rest: response.xml is the stored CMS, covered by row_hash; its
                 * plaintext digest is checked after decryption (verify-bundle --decrypt-key). */
                printf("note: exchange %s: request.bin and response.xml are encrypted at rest "
                       "(CMS); row_hash covers them as stored\n",
                       id);
            } else if (resp) {
                unsigned char digest[SHA256_DIGEST_LENGTH];
                SHA256(resp, resp_len, digest);
                const gw_log_field *d = &br.f[16];
                bundle_check(&c, d->len == HASH_LEN && memcmp(d->data, digest, HASH_LEN) == 0,
                             "exchange %s: response.xml (%zu bytes) has the logged response_sha256",
                             id, resp_len);
            }
            bool hashed = count && gw_log_row_hash(md, br.prev_hash, br.f, count, computed);
            bundle_hex(computed, HASH_LEN, hex);
            bundle_check(&c, hashed && memcmp(computed, br.row_hash, HASH_LEN) == 0,
                         "exchange %s: row_hash recomputed from the %d fields of hash version %d "
                         "(row.json, request.bin, response.xml)%s%s",
                         id, count, br.version, hashed ? ": " : " failed", hashed ? hex : "");
            const link_t *at = NULL;
            for (size_t k = 0; k < n_links; k++)
                if (chain[k].seq == br.seq) at = &chain[k];
            bundle_check(
                &c,
                at && memcmp(at->row, br.row_hash, HASH_LEN) == 0 &&
                    memcmp(at->prev, br.prev_hash, HASH_LEN) == 0,
                "exchange %s: seq %lld with its prev_hash and row_hash is in the chain path", id,
                (long long)br.seq);
        }
        json_decref(row);
        free(req);
        free(resp);
    }
    json_t *cp = json_object_get(manifest, "checkpoint");
    if (json_is_string(cp)) {
        /* The path must end at the checkpoint's head: its seq column (head_seq or seq) and a
         * bytea column equal to the last link's row_hash (row_to_json writes "\\x<hex>"). */
        snprintf(path, sizeof path, "%s/checkpoint.json", dir);
        json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
        json_t *cseq = json_object_get(doc, "head_seq");
        if (!cseq) cseq = json_object_get(doc, "seq");
        bool hash_found = false;
        char want[2 * HASH_LEN + 3] = "\\x";
        if (n_links > 0) bundle_hex(chain[n_links - 1].row, HASH_LEN, want + 2);
        const char *key;
        json_t *value;
        json_object_foreach(doc, key, value) {
            (void)key;
            if (json_is_string(value) && strcmp(json_string_value(value), want) == 0)
                hash_found = true;
        }
        bundle_check(
            &c,
            doc && n_links > 0 && json_is_integer(cseq) &&
                json_integer_value(cseq) == chain[n_links - 1].seq && hash_found,
            "checkpoint.json: the chain path ends at the checkpoint's head (seq and hash)");
        if (doc) verify_checkpoint_doc(&c, doc, trust);
        json_decref(doc);
    }
    printf("rows and chain path: %d bundle_check(s) passed, %d failed\n", c.passed, c.failed);
    rc = c.failed ? EXIT_FAILED : EXIT_OK;
done:
    free(chain);
    json_decref(manifest);
    json_decref(chain_doc);
    EVP_MD_CTX_free(md);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: pide-audit-bundle export --conninfo CONNINFO --dir DIR [--full-path] EXCHANGE_ID...\n"
                    "       pide-audit-bundle verify --dir DIR [--trust CA.pem]\n"
                    "(normally run as 'pide-audit export' / 'pide-audit verify-bundle')\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    const char *conninfo = NULL, *dir = NULL, *trust = NULL;
    bool full_path = false;
    char **ids = calloc((size_t)argc, sizeof *ids);
    int n_ids = 0, rc;
    if (argc < 2 || !ids) { free(ids); return usage(); }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--conninfo") == 0 && i + 1 < argc) conninfo = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir = argv[++i];
        else if (strcmp(argv[i], "--trust") == 0 && i + 1 < argc) trust = argv[++i];
        else if (strcmp(argv[i], "--full-path") == 0) full_path = true;
        else if (argv[i][0] == '-') { free(ids); return usage(); }
        else ids[n_ids++] = argv[i];
    }
    if (strcmp(argv[1], "export") == 0 && conninfo && dir && n_ids > 0)
        rc = cmd_export(conninfo, dir, ids, n_ids, full_path);
    else if (strcmp(argv[1], "verify") == 0 && dir && n_ids == 0)
        rc = cmd_verify(dir, trust);
    else
        rc = usage();
    free(ids);
    return rc;
}
