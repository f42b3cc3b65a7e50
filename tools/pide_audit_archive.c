/*
 * pide_audit_archive.c — monthly archives of the exchange log (docs/auditor-guide.md, "Archives
 * and retention"): the C half of `pide-audit archive` and `pide-audit verify-archive`;
 * tools/pide-audit-archive.sh stages, signs (openssl cms), packs and unpacks the tar.gz and
 * checks the CMS signatures and RFC 3161 tokens with stock openssl.
 *
 *   pide-audit-archive export --conninfo CONNINFO --month YYYY-MM --dir DIR [--batch N]
 *                             [--previous-name NAME --previous-sha256 HEX]
 *   pide-audit-archive verify --dir DIR [--prev-manifest FILE --prev-digest HEX]
 *
 * A month's archive holds the seq range (L(m-1), L(m)] where L(m) is the highest seq whose
 * t_request_in (the partition key) is before the end of month m: every row belongs to exactly
 * one archive and consecutive archives are contiguous in seq. export reads that range through a
 * binary cursor, N rows per FETCH (default 1000), in one REPEATABLE READ snapshot, and writes
 * DIR/rows.jsonl (one row per line: the bundle row.json fields plus request_base64 /
 * response_base64), DIR/checkpoints/ID.{txt,cms,signer.der,tsr} for every checkpoint whose head
 * lies in the range, and DIR/MANIFEST.json (range, counts, chain head before the first row,
 * last row_hash, previous archive's digest, SHA-256 of every other file). verify needs no
 * database and constant memory: it recomputes every row hash with the writer's own
 * gw_log_row_hash, checks the links, the manifest's claims, the checkpoint statements' heads
 * against the rows and, given the previous archive's manifest and digest, the link between the
 * two. Exit: 0 all checks passed, 1 a check failed (named), 2 bad arguments or unreadable
 * archive, 3 database error (export).
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive_chain.h"
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
#define MAX_NAMED 20

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

static bool month_ok(const char *m)
{
    if (!m || strlen(m) != 7 || m[4] != '-') return false;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (m[i] < '0' || m[i] > '9')) return false;
    int mon = (m[5] - '0') * 10 + (m[6] - '0');
    return mon >= 1 && mon <= 12 && strncmp(m, "1970", 4) >= 0;
}

static int64_t be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | (unsigned char)p[i];
    return (int64_t)v;
}

/* A file written whole, its SHA-256 recorded in files[name]. */
static bool put_file(const char *dir, const char *name, const void *data, size_t len, json_t *files)
{
    char path[4096], hex[2 * HASH_LEN + 1];
    unsigned char d[HASH_LEN];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wbx");
    if (!f) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", path, strerror(errno));
        return false;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    if (fclose(f) != 0) ok = false;
    if (!ok) fprintf(stderr, PROG ": cannot write %s\n", path);
    EVP_Digest(data, len, d, NULL, EVP_sha256(), NULL);
    bundle_hex(d, HASH_LEN, hex);
    return ok && json_object_set_new(files, name, json_string(hex)) == 0;
}

static json_t *base64_of(const char *data, int len)
{
    size_t n = 4 * (((size_t)len + 2) / 3) + 1;
    unsigned char *out = malloc(n);
    if (!out) return NULL;
    EVP_EncodeBlock(out, (const unsigned char *)data, len);
    json_t *v = json_string((const char *)out);
    free(out);
    return v;
}

static bool params_query(PGconn *conn, const char *what, const char *sql, int n,
                         const char *const *params, int format, PGresult **out)
{
    *out = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, format);
    ExecStatusType st = PQresultStatus(*out);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return true;
    audit_db_error(PROG, what, PQerrorMessage(conn));
    PQclear(*out);
    *out = NULL;
    return false;
}

static bool export_checkpoints(PGconn *conn, const char *dir, const char *lo, const char *hi,
                               json_t *files, json_t *list)
{
    PGresult *res;
    const char *p1[1] = {"public.exchange_checkpoint"};
    if (!params_query(conn, "looking for the checkpoints",
                      "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, p1, 0, &res))
        return false;
    bool exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!exists) return true;
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoints", dir);
    if (mkdir(path, 0755) != 0) return false;
    const char *p2[2] = {lo, hi};
    if (!params_query(conn, "reading the checkpoints",
                      "SELECT id, head_seq, statement, signed_document, signer_certificate, tst "
                      "FROM public.exchange_checkpoint WHERE head_seq OPERATOR(pg_catalog.>) "
                      "$1::pg_catalog.int8 AND head_seq OPERATOR(pg_catalog.<=) "
                      "$2::pg_catalog.int8 ORDER BY id",
                      2, p2, 1, &res))
        return false;
    bool ok = true;
    static const char *ext[] = {"txt", "cms", "signer.der", "tsr"};
    for (int r = 0; ok && r < PQntuples(res); r++) {
        long long id = (long long)be64(PQgetvalue(res, r, 0));
        for (int k = 0; ok && k < 4; k++) {
            if (PQgetisnull(res, r, 2 + k)) continue; /* tst NULL: not yet stamped */
            char name[128];
            snprintf(name, sizeof name, "checkpoints/%lld.%s", id, ext[k]);
            ok = put_file(dir, name, PQgetvalue(res, r, 2 + k),
                          (size_t)PQgetlength(res, r, 2 + k), files);
        }
        ok = ok && json_array_append_new(list, json_pack("{s:I, s:I, s:b}", "id", (json_int_t)id,
                                                         "head_seq",
                                                         (json_int_t)be64(PQgetvalue(res, r, 1)),
                                                         "stamped", !PQgetisnull(res, r, 5))) == 0;
    }
    PQclear(res);
    return ok;
}

static unsigned char *unbase64(const json_t *v, size_t *len);

/* ---- resuming an interrupted export ---------------------------------------------------- */

/* The progress record, DIR/../progress: written (tmp, fsync, rename) after every batch whose
 * rows are on disk (fsync), so it never names more than rows.jsonl holds. */
typedef struct progress_t {
    char lo[32];
    int64_t rows, last_seq, offset;
    unsigned char last_hash[HASH_LEN];
} progress_t;

static bool progress_write(const char *path, const progress_t *p)
{
    char tmp[4200], hex[2 * HASH_LEN + 1];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    bundle_hex(p->last_hash, HASH_LEN, hex);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return false;
    bool ok =
        fprintf(f,
                "pide-log-archive-progress v1\nafter_seq %s\nrows %lld\nlast_seq %lld\n"
                "last_row_hash %s\noffset %lld\n",
                p->lo, (long long)p->rows, (long long)p->last_seq, hex, (long long)p->offset) > 0;
    ok = fflush(f) == 0 && ok && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = false;
    return ok && rename(tmp, path) == 0;
}

static bool progress_read(const char *path, progress_t *p)
{
    FILE *f = fopen(path, "rb");
    char hex[2 * HASH_LEN + 2] = "";
    long long rows = -1, last = -1, off = -1;
    if (!f)
        return false;
    int n = fscanf(f,
                   "pide-log-archive-progress v1\nafter_seq %31s\nrows %lld\nlast_seq %lld\n"
                   "last_row_hash %65s\noffset %lld\n",
                   p->lo, &rows, &last, hex, &off);
    fclose(f);
    p->rows = rows;
    p->last_seq = last;
    p->offset = off;
    return n == 5 && rows > 0 && last > 0 && off > 0 && strlen(hex) == 2 * HASH_LEN &&
           bundle_unhex(hex, p->last_hash, HASH_LEN);
}

/* One line of rows.jsonl into the chain check: false when it is not a row whose hash can be
 * recomputed or it breaks the chain. */
static bool row_line_ok(const char *line, size_t len, EVP_MD_CTX *md, archive_chain *chain)
{
    json_error_t err;
    char why[256];
    json_t *row = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    json_t *rq = json_object_get(row, "request_base64"),
           *rs = json_object_get(row, "response_base64");
    size_t req_len = 0, resp_len = 0;
    unsigned char *req = json_is_string(rq) ? unbase64(rq, &req_len) : NULL;
    unsigned char *resp = json_is_string(rs) ? unbase64(rs, &resp_len) : NULL;
    bundle_row br;
    unsigned char computed[HASH_LEN];
    bool ok = row && json_is_string(rq) == !!req && json_is_string(rs) == !!resp &&
              bundle_row_from_json(row, req, req_len, resp, resp_len, &br, why, sizeof why);
    int count = ok ? gw_log_hash_field_count(br.version) : 0;
    ok = ok && count && gw_log_row_hash(md, br.prev_hash, br.f, count, computed) &&
         archive_chain_add(chain, br.seq, br.prev_hash, br.row_hash, computed) == NULL;
    json_decref(row);
    free(req);
    free(resp);
    return ok;
}

/* Checks the partial rows.jsonl against its progress record and the database: its first
 * `offset` bytes must be exactly `rows` rows that chain from the head before the month
 * (`start_hash`, after seq `lo`) to the recorded last row, whose row_hash must still be the one
 * the database holds for that seq. Feeds those bytes to file_md. NULL when it can be resumed,
 * else why not. */
static const char *resume_check(PGconn *conn, FILE *rows, const progress_t *p, const char *lo,
                                const unsigned char start_hash[HASH_LEN], EVP_MD_CTX *file_md)
{
    static char why[200];
    if (strcmp(p->lo, lo) != 0)
        return "the month's range in the database changed";
    if (fseeko(rows, 0, SEEK_END) != 0 || ftello(rows) < p->offset)
        return "rows.jsonl is shorter than its progress record says";
    if (ftruncate(fileno(rows), (off_t)p->offset) != 0 || fseeko(rows, 0, SEEK_SET) != 0)
        return "rows.jsonl cannot be truncated to its last complete batch";
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    archive_chain chain;
    archive_chain_init(&chain);
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int64_t at = 0;
    bool ok = md != NULL;
    while (ok && at < p->offset && (got = getline(&line, &cap, rows)) > 0) {
        at += got;
        ok = line[got - 1] == '\n' && row_line_ok(line, (size_t)got - 1, md, &chain) &&
             EVP_DigestUpdate(file_md, line, (size_t)got) == 1;
    }
    free(line);
    EVP_MD_CTX_free(md);
    if (!ok || at != p->offset)
        return "a row of the partial file does not verify: it was damaged";
    if (chain.rows != p->rows || chain.last_seq != p->last_seq ||
        memcmp(chain.last_row, p->last_hash, HASH_LEN) != 0)
        return "the partial file does not end where its progress record says";
    if (chain.first_seq != strtoll(lo, NULL, 10) + 1 ||
        memcmp(chain.first_prev, start_hash, HASH_LEN) != 0)
        return "the partial file does not start at the month's first row";
    char seq[32];
    snprintf(seq, sizeof seq, "%lld", (long long)p->last_seq);
    const char *params[1] = {seq};
    PGresult *res = PQexecParams(conn,
                                 "SELECT row_hash FROM public.exchange_log WHERE seq "
                                 "OPERATOR(pg_catalog.=) $1::pg_catalog.int8",
                                 1, NULL, params, NULL, NULL, 1);
    bool same = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                PQgetlength(res, 0, 0) == HASH_LEN &&
                memcmp(PQgetvalue(res, 0, 0), p->last_hash, HASH_LEN) == 0;
    PQclear(res);
    if (!same) {
        snprintf(why, sizeof why, "the database's row_hash of seq %lld is not the partial file's",
                 (long long)p->last_seq);
        return why;
    }
    return NULL;
}

static int cmd_export(const char *conninfo, const char *month, const char *dir, long batch,
                      const char *prev_name, const char *prev_sha, const char *progress_path,
                      bool resume)
{
    PGconn *conn = NULL;
    PGresult *res = NULL;
    FILE *rows = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new(), *file_md = EVP_MD_CTX_new();
    json_t *manifest = json_object(), *files = json_object(), *cps = json_array();
    int rc = EXIT_DATABASE;
    char path[4096], lo[32], hi[32], start[32], hex[2 * HASH_LEN + 1];
    unsigned char prev_hash[HASH_LEN] = {0}, last_hash[HASH_LEN] = {0}, d[HASH_LEN];
    int64_t n_rows = 0, first = -1, last = -1, fetched = 0;
    progress_t prog = {0};
    long delay_ms = 0;
    const char *delay = getenv("PIDE_AUDIT_ARCHIVE_TEST_DELAY_MS"); /* tests: kill -9 mid-way */
    if (delay) delay_ms = strtol(delay, NULL, 10);

    if (!md || !file_md || !manifest || !files || !cps) goto done;
    snprintf(start, sizeof start, "%s-01 00:00:00+00", month);
    /* search_path pinned, then one snapshot for the range, the rows and the checkpoints. */
    conn = audit_db_connect(PROG, conninfo, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (!conn) goto done;
    const char *p1[1] = {start};
    if (!params_query(conn, "finding the month's seq range",
                      "SELECT (SELECT COALESCE(pg_catalog.max(seq), 0) FROM "
                      "public.exchange_log WHERE t_request_in OPERATOR(pg_catalog.<) "
                      "$1::pg_catalog.timestamptz)::pg_catalog.text, (SELECT "
                      "COALESCE(pg_catalog.max(seq), 0) FROM public.exchange_log "
                      "WHERE t_request_in OPERATOR(pg_catalog.<) ($1::pg_catalog.timestamptz "
                      "OPERATOR(pg_catalog.+) '1 month'::pg_catalog.interval))::pg_catalog.text, "
                      "(SELECT e.row_hash FROM public.exchange_log e WHERE e.seq "
                      "OPERATOR(pg_catalog.=) (SELECT pg_catalog.max(seq) FROM "
                      "public.exchange_log WHERE t_request_in OPERATOR(pg_catalog.<) "
                      "$1::pg_catalog.timestamptz))",
                      1, p1, 0, &res))
        goto done;
    snprintf(lo, sizeof lo, "%s", PQgetvalue(res, 0, 0));
    snprintf(hi, sizeof hi, "%s", PQgetvalue(res, 0, 1));
    if (!PQgetisnull(res, 0, 2)) { /* "\x<hex>": the head before the month */
        const char *t = PQgetvalue(res, 0, 2);
        if (strlen(t) == 2 + 2 * HASH_LEN) bundle_unhex(t + 2, prev_hash, HASH_LEN);
    }
    PQclear(res);
    res = NULL;

    snprintf(path, sizeof path, "%s/rows.jsonl", dir);
    if (EVP_DigestInit_ex(file_md, EVP_sha256(), NULL) != 1)
        goto done;
    if (resume) {
        const char *why = "its progress record is missing or unreadable";
        rows = fopen(path, "r+b");
        if (rows && progress_read(progress_path, &prog))
            why = resume_check(conn, rows, &prog, lo, prev_hash, file_md);
        else if (!rows)
            why = "its rows.jsonl is missing";
        if (why) {
            fprintf(stderr,
                    PROG ": the interrupted archive of %s cannot be resumed (%s); it is "
                         "discarded and the month restarted\n",
                    month, why);
            if (rows)
                fclose(rows);
            rows = NULL;
            resume = false;
            if (EVP_DigestInit_ex(file_md, EVP_sha256(), NULL) != 1)
                goto done;
        } else {
            fprintf(stderr,
                    PROG ": resuming the interrupted archive of %s after seq %lld (%lld "
                         "row(s) already exported, checked again from the partial file)\n",
                    month, (long long)prog.last_seq, (long long)prog.rows);
            n_rows = prog.rows;
            first = strtoll(lo, NULL, 10) + 1;
            last = prog.last_seq;
            memcpy(last_hash, prog.last_hash, HASH_LEN);
            if (fseeko(rows, 0, SEEK_END) != 0)
                goto done;
        }
    }
    if (!resume)
        rows = fopen(path, "wb");
    if (!rows) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", path, strerror(errno));
        goto done;
    }
    snprintf(prog.lo, sizeof prog.lo, "%s", lo);
    char from[32];
    snprintf(from, sizeof from, "%lld", (long long)(n_rows > 0 ? last : strtoll(lo, NULL, 10)));
    const char *p2[2] = {from, hi};
    if (!params_query(conn, "opening the cursor",
                      "DECLARE pide_archive NO SCROLL CURSOR FOR " ROW_SQL
                      "WHERE seq OPERATOR(pg_catalog.>) $1::pg_catalog.int8 AND seq "
                      "OPERATOR(pg_catalog.<=) $2::pg_catalog.int8 ORDER BY seq",
                      2, p2, 0, &res))
        goto done;
    PQclear(res);
    char fetch[64];
    snprintf(fetch, sizeof fetch, "FETCH %ld FROM pide_archive", batch);
    for (;;) {
        if (!params_query(conn, "reading the rows", fetch, 0, NULL, 1, &res)) goto done;
        int n = PQntuples(res);
        if (n == 0) break;
        for (int r = 0; r < n; r++) {
            gw_log_field f[GW_LOG_FIELD_COUNT];
            for (int c = 0; c < GW_LOG_FIELD_COUNT; c++) {
                f[c].len = PQgetisnull(res, r, c) ? -1 : PQgetlength(res, r, c);
                f[c].data = f[c].len >= 0 ? PQgetvalue(res, r, c) : NULL;
            }
            int64_t seq = be64(PQgetvalue(res, r, 0));
            if (PQgetlength(res, r, GW_LOG_FIELD_COUNT) != HASH_LEN ||
                PQgetlength(res, r, GW_LOG_FIELD_COUNT + 1) != HASH_LEN) {
                fprintf(stderr, PROG ": row %lld has malformed hashes\n", (long long)seq);
                goto done;
            }
            const unsigned char *prev =
                (const unsigned char *)PQgetvalue(res, r, GW_LOG_FIELD_COUNT);
            const unsigned char *stored =
                (const unsigned char *)PQgetvalue(res, r, GW_LOG_FIELD_COUNT + 1);
            char t_logged[64];
            snprintf(t_logged, sizeof t_logged, "%.*s", PQgetlength(res, r, GW_LOG_FIELD_COUNT + 2),
                     PQgetvalue(res, r, GW_LOG_FIELD_COUNT + 2));
            json_t *row = bundle_row_to_json(f, prev, stored, t_logged);
            if (!row) {
                fprintf(stderr, PROG ": row %lld cannot be written as JSON\n", (long long)seq);
                goto done;
            }
            json_object_set_new(row, "request_base64",
                                f[BUNDLE_FIELD_REQUEST].len >= 0
                                    ? base64_of(f[BUNDLE_FIELD_REQUEST].data, f[BUNDLE_FIELD_REQUEST].len)
                                    : json_null());
            json_object_set_new(row, "response_base64",
                                f[BUNDLE_FIELD_RESPONSE].len >= 0
                                    ? base64_of(f[BUNDLE_FIELD_RESPONSE].data, f[BUNDLE_FIELD_RESPONSE].len)
                                    : json_null());
            char *line = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
            json_decref(row);
            size_t len = line ? strlen(line) : 0;
            bool ok = line && fwrite(line, 1, len, rows) == len && fputc('\n', rows) != EOF &&
                      EVP_DigestUpdate(file_md, line, len) == 1 &&
                      EVP_DigestUpdate(file_md, "\n", 1) == 1;
            free(line);
            if (!ok) {
                fprintf(stderr, PROG ": cannot write rows.jsonl\n");
                goto done;
            }
            if (n_rows == 0) {
                first = seq;
                memcpy(prev_hash, prev, HASH_LEN);
            }
            last = seq;
            memcpy(last_hash, stored, HASH_LEN);
            n_rows++;
            fetched++;
        }
        PQclear(res);
        res = NULL;
        if (fflush(rows) != 0 || fsync(fileno(rows)) != 0)
            goto done;
        prog.rows = n_rows;
        prog.last_seq = last;
        memcpy(prog.last_hash, last_hash, HASH_LEN);
        prog.offset = (int64_t)ftello(rows);
        if (!progress_write(progress_path, &prog)) {
            fprintf(stderr, PROG ": cannot write the progress record %s\n", progress_path);
            goto done;
        }
        if (delay_ms > 0) usleep((useconds_t)delay_ms * 1000);
    }
    PQclear(res);
    res = NULL;
    bool closed = fclose(rows) == 0;
    rows = NULL;
    unsigned int dlen = 0;
    if (!closed || EVP_DigestFinal_ex(file_md, d, &dlen) != 1) goto done;
    bundle_hex(d, HASH_LEN, hex);
    json_object_set_new(files, "rows.jsonl", json_string(hex));
    if (!export_checkpoints(conn, dir, lo, hi, files, cps)) goto done;

    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    json_object_set_new(manifest, "archive", json_string("pide-log-archive"));
    json_object_set_new(manifest, "version", json_integer(1));
    json_object_set_new(manifest, "month", json_string(month));
    json_object_set_new(manifest, "created_at", json_string(created));
    json_object_set_new(manifest, "after_seq", json_integer(strtoll(lo, NULL, 10)));
    json_object_set_new(manifest, "to_seq", json_integer(strtoll(hi, NULL, 10)));
    json_object_set_new(manifest, "first_seq", first >= 0 ? json_integer(first) : json_null());
    json_object_set_new(manifest, "last_seq", last >= 0 ? json_integer(last) : json_null());
    json_object_set_new(manifest, "row_count", json_integer(n_rows));
    bundle_hex(prev_hash, HASH_LEN, hex);
    json_object_set_new(manifest, "prev_hash", json_string(hex));
    if (n_rows > 0) bundle_hex(last_hash, HASH_LEN, hex); /* empty month: the head is unchanged */
    json_object_set_new(manifest, "last_row_hash", json_string(hex));
    json_object_set_new(manifest, "previous_archive",
                        prev_name ? json_pack("{s:s, s:s}", "file", prev_name, "sha256", prev_sha)
                                  : json_null());
    json_object_set_new(manifest, "checkpoints", cps);
    cps = NULL;
    json_object_set_new(manifest, "files", files);
    files = NULL;
    char *text = json_dumps(manifest, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    snprintf(path, sizeof path, "%s/MANIFEST.json", dir);
    FILE *mf = text ? fopen(path, "wbx") : NULL;
    bool ok = mf && fputs(text, mf) >= 0 && fputc('\n', mf) != EOF;
    if (mf && fclose(mf) != 0) ok = false;
    free(text);
    if (!ok) {
        fprintf(stderr, PROG ": cannot write %s\n", path);
        goto done;
    }
    printf("%lld %lld %lld %lld\n", (long long)n_rows, (long long)first, (long long)last,
           (long long)fetched);
    rc = EXIT_OK;
done:
    if (rows) fclose(rows);
    PQclear(res);
    json_decref(manifest);
    json_decref(files);
    json_decref(cps);
    EVP_MD_CTX_free(md);
    EVP_MD_CTX_free(file_md);
    if (conn) PQfinish(conn);
    return rc;
}

/* ---- verify ------------------------------------------------------------------------------- */

static bool file_sha256(const char *path, char hex[2 * HASH_LEN + 1])
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) return false;
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[65536], d[HASH_LEN];
    bool ok = f && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0) ok = EVP_DigestUpdate(md, buf, n) == 1;
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(md, d, NULL) == 1;
    if (ok) bundle_hex(d, HASH_LEN, hex);
    if (f) fclose(f);
    EVP_MD_CTX_free(md);
    return ok;
}

static unsigned char *unbase64(const json_t *v, size_t *len)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    *len = 0;
    if (!s || n % 4 != 0) return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (!out) return NULL;
    int got = n ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) : 0;
    if (got < 0) {
        free(out);
        return NULL;
    }
    size_t pad = (n >= 1 && s[n - 1] == '=') + (n >= 2 && s[n - 2] == '=');
    *len = (size_t)got - pad;
    return out;
}

static bool safe_name(const char *name)
{
    if (!name || !*name || name[0] == '/' || strstr(name, "..")) return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '/' ||
              *p == '_' || *p == '-'))
            return false;
    return true;
}

/* Entries of dir/sub the manifest does not name (only MANIFEST.json, its signature and the
 * checkpoints/ directory may be there besides). */
static int unlisted_files(const char *dir, const char *sub, json_t *files)
{
    char path[4096], name[4400];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (!d) return 0;
    int extra = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (!*sub && (strcmp(e->d_name, "MANIFEST.json") == 0 ||
                      strcmp(e->d_name, "MANIFEST.json.cms") == 0 ||
                      strcmp(e->d_name, "checkpoints") == 0))
            continue;
        snprintf(name, sizeof name, "%s%s%s", sub, *sub ? "/" : "", e->d_name);
        if (!json_object_get(files, name)) {
            printf("FAILED: %s is not named by the manifest\n", name);
            extra++;
        }
    }
    closedir(d);
    return extra;
}

typedef struct head_t {
    int64_t id, seq;
    unsigned char hash[HASH_LEN];
    int state; /* 0 not seen, 1 matched, 2 mismatched */
} head_t;

static int cmd_verify(const char *dir, const char *prev_manifest_path, const char *prev_digest)
{
    char path[4096], hex[2 * HASH_LEN + 1], hex2[2 * HASH_LEN + 1], why[256];
    json_error_t err;
    bundle_checker c = {0, 0};
    int rc = EXIT_USAGE;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    json_t *prev_manifest = NULL;
    head_t *heads = NULL;
    size_t n_heads = 0;
    FILE *rows = NULL;
    char *line = NULL;
    size_t cap = 0;

    snprintf(path, sizeof path, "%s/MANIFEST.json", dir);
    json_t *m = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!md || !m || strcmp(json_string_value(json_object_get(m, "archive")) ?: "",
                            "pide-log-archive") != 0) {
        fprintf(stderr, PROG ": not a readable archive: MANIFEST.json missing or not an archive "
                        "manifest\n");
        goto done;
    }
    const char *month = json_string_value(json_object_get(m, "month"));
    json_t *files = json_object_get(m, "files");
    json_t *cps = json_object_get(m, "checkpoints");
    if (!month_ok(month) || !json_is_object(files) || !json_is_array(cps) ||
        !json_is_integer(json_object_get(m, "row_count")) ||
        !json_is_integer(json_object_get(m, "after_seq"))) {
        fprintf(stderr, PROG ": not a readable archive: MANIFEST.json lacks month, files, "
                        "checkpoints, row_count or after_seq\n");
        goto done;
    }
    printf("Archive of %s\n", month);

    /* Every file the manifest names, by its digest (the manifest itself is signed). */
    const char *name;
    json_t *v;
    int n_files = 0, bad_files = 0;
    json_object_foreach(files, name, v) {
        snprintf(path, sizeof path, "%s/%s", dir, name);
        bool ok = safe_name(name) && file_sha256(path, hex) &&
                  strcmp(hex, json_string_value(v) ?: "") == 0;
        if (!ok) {
            bundle_check(&c, false,
                         "file %s does not match its digest in the manifest (or is missing)", name);
            bad_files++;
        }
        n_files++;
    }
    if (!bad_files)
        bundle_check(&c, true, "%d file(s) match their SHA-256 in the manifest", n_files);
    int extra = unlisted_files(dir, "", files) + unlisted_files(dir, "checkpoints", files);
    if (extra)
        bundle_check(&c, false, "%d file(s) in the archive are not named by the manifest", extra);

    /* The checkpoint statements (their signatures and tokens: openssl, in the script). */
    heads = calloc(json_array_size(cps) + 1, sizeof *heads);
    if (!heads) goto done;
    size_t i;
    json_array_foreach(cps, i, v) {
        json_int_t id = json_integer_value(json_object_get(v, "id"));
        snprintf(path, sizeof path, "%s/checkpoints/%lld.txt", dir, (long long)id);
        FILE *f = fopen(path, "rb");
        unsigned char text[4096];
        size_t n = f ? fread(text, 1, sizeof text, f) : 0;
        if (f) fclose(f);
        gw_checkpoint_statement s;
        if (!f || !gw_checkpoint_statement_parse(text, n, &s) || s.id != id) {
            bundle_check(&c, false, "checkpoint %lld: statement missing or not canonical",
                         (long long)id);
            continue;
        }
        heads[n_heads].id = s.id;
        heads[n_heads].seq = s.head_seq;
        memcpy(heads[n_heads].hash, s.head_row_hash, HASH_LEN);
        n_heads++;
    }

    /* Every checkpoint statement the archive carries is one the manifest lists (and so one
     * whose head is checked against the rows below). */
    json_object_foreach(files, name, v) {
        long long fid;
        int used = 0;
        if (sscanf(name, "checkpoints/%lld.txt%n", &fid, &used) != 1 || name[used] != '\0')
            continue;
        bool listed = false;
        for (size_t k = 0; k < n_heads; k++) listed = listed || heads[k].id == fid;
        if (!listed)
            bundle_check(&c, false,
                         "checkpoint %lld is in the archive but not in the manifest's list", fid);
    }

    /* The month's bounds, in the canonical time spelling (so they compare as text). */
    char m_start[64], m_end[64];
    int yy = 0, mm = 0; /* month_ok: 4 digits, 1..12 */
    sscanf(month, "%d-%d", &yy, &mm);
    snprintf(m_start, sizeof m_start, "%04d-%02d-01T00:00:00.000000Z", yy, mm);
    snprintf(m_end, sizeof m_end, "%04d-%02d-01T00:00:00.000000Z", mm == 12 ? yy + 1 : yy,
             mm == 12 ? 1 : mm + 1);
    int64_t early = 0;
    char last_time[64] = "";

    /* The rows, streamed. */
    snprintf(path, sizeof path, "%s/rows.jsonl", dir);
    rows = fopen(path, "rb");
    if (!rows) {
        fprintf(stderr, PROG ": not a readable archive: no rows.jsonl\n");
        goto done;
    }
    archive_chain chain;
    archive_chain_init(&chain);
    int64_t named = 0, bad_rows = 0;
    ssize_t got;
    int64_t lineno = 0;
    while ((got = getline(&line, &cap, rows)) > 0) {
        lineno++;
        json_t *row = json_loadb(line, (size_t)got, JSON_REJECT_DUPLICATES, &err);
        size_t req_len = 0, resp_len = 0;
        json_t *rq = json_object_get(row, "request_base64"), *rs = json_object_get(row, "response_base64");
        unsigned char *req = json_is_string(rq) ? unbase64(rq, &req_len) : NULL;
        unsigned char *resp = json_is_string(rs) ? unbase64(rs, &resp_len) : NULL;
        bundle_row br;
        unsigned char computed[HASH_LEN];
        const char *problem = NULL;
        snprintf(why, sizeof why, "line %lld is not JSON", (long long)lineno);
        if (row && (json_is_string(rq) == !req || json_is_string(rs) == !resp))
            snprintf(why, sizeof why, "line %lld: request/response base64 malformed",
                     (long long)lineno);
        else if (row && bundle_row_from_json(row, req, req_len, resp, resp_len, &br, why,
                                             sizeof why)) {
            int count = gw_log_hash_field_count(br.version);
            if (count && gw_log_row_hash(md, br.prev_hash, br.f, count, computed)) {
                problem = archive_chain_add(&chain, br.seq, br.prev_hash, br.row_hash, computed);
                const char *t_in = json_string_value(json_object_get(row, "t_request_in")) ?: "";
                if (strcmp(t_in, m_start) < 0) early++;
                snprintf(last_time, sizeof last_time, "%s", t_in);
                for (size_t k = 0; k < n_heads; k++)
                    if (heads[k].seq == br.seq)
                        heads[k].state =
                            !problem && memcmp(heads[k].hash, br.row_hash, HASH_LEN) == 0 ? 1 : 2;
                if (problem && named++ < MAX_NAMED)
                    bundle_check(&c, false, "seq %lld: %s", (long long)br.seq, problem);
                if (problem) bad_rows++;
                why[0] = '\0';
            } else {
                snprintf(why, sizeof why, "hash version %d cannot be recomputed", br.version);
            }
        }
        if (why[0]) {
            bad_rows++;
            chain.failures++;
            if (named++ < MAX_NAMED)
                bundle_check(&c, false, "rows.jsonl %s", why);
        }
        json_decref(row);
        free(req);
        free(resp);
    }
    if (bad_rows == 0)
        bundle_check(&c, true, "%lld row hashes recomputed, every link holds (seq %lld..%lld)",
                     (long long)chain.rows, (long long)chain.first_seq, (long long)chain.last_seq);
    else
        bundle_check(&c, false, "%lld of %lld rows fail (first %d named)", (long long)bad_rows,
                     (long long)chain.rows, MAX_NAMED);

    if (chain.rows > 0)
        bundle_check(
            &c, early == 0 && strcmp(last_time, m_start) >= 0 && strcmp(last_time, m_end) < 0,
            "the rows belong to %s: none received before it (%lld found), the last received in "
            "it (%s)",
            month, (long long)early, last_time);

    /* The manifest's claims against the rows. */
    json_int_t after = json_integer_value(json_object_get(m, "after_seq"));
    json_int_t to = json_integer_value(json_object_get(m, "to_seq"));
    json_int_t count = json_integer_value(json_object_get(m, "row_count"));
    const char *m_prev = json_string_value(json_object_get(m, "prev_hash")) ?: "";
    const char *m_last = json_string_value(json_object_get(m, "last_row_hash")) ?: "";
    bundle_check(&c,
                 count == chain.rows && to - after == chain.rows &&
                     (chain.rows == 0 || (chain.first_seq == after + 1 && chain.last_seq == to)),
                 "manifest: %lld rows, seq %lld..%lld (the archive holds %lld, seq %lld..%lld)",
                 (long long)count, (long long)after + 1, (long long)to, (long long)chain.rows,
                 (long long)chain.first_seq, (long long)chain.last_seq);
    if (chain.rows > 0) {
        bundle_hex(chain.first_prev, HASH_LEN, hex);
        bundle_check(
            &c, strcmp(hex, m_prev) == 0,
            "manifest prev_hash (the chain head before the month) is the first row's prev_hash");
        bundle_hex(chain.last_row, HASH_LEN, hex);
        bundle_check(&c, strcmp(hex, m_last) == 0,
                     "manifest last_row_hash is the last row's row_hash");
    } else {
        bundle_check(&c, strcmp(m_prev, m_last) == 0, "empty month: the head is unchanged");
    }

    for (size_t k = 0; k < n_heads; k++) {
        bundle_hex(heads[k].hash, HASH_LEN, hex);
        bundle_check(&c, heads[k].state == 1,
                     "checkpoint %lld: its signed head (seq %lld, %.16s...) %s",
                     (long long)heads[k].id, (long long)heads[k].seq, hex,
                     heads[k].state == 1   ? "is a row of the archive"
                     : heads[k].state == 2 ? "does NOT match the archived row"
                                           : "is not in the archive");
    }
    if (n_heads == 0) printf("note: no checkpoint's head lies in this month\n");

    /* The link to the previous month's archive. */
    json_t *pa = json_object_get(m, "previous_archive");
    if (prev_manifest_path) {
        prev_manifest = json_load_file(prev_manifest_path, JSON_REJECT_DUPLICATES, &err);
        if (!prev_manifest) {
            fprintf(stderr, PROG ": cannot read the previous archive's manifest\n");
            rc = EXIT_USAGE;
            goto done;
        }
        const char *pd = json_string_value(json_object_get(pa, "sha256")) ?: "";
        bundle_check(&c, strcmp(pd, prev_digest ?: "") == 0,
                     "manifest names the previous archive's digest (%.16s...)", prev_digest ?: "");
        const char *p_last = json_string_value(json_object_get(prev_manifest, "last_row_hash")) ?: "";
        json_int_t p_to = json_integer_value(json_object_get(prev_manifest, "to_seq"));
        bundle_check(
            &c, strcmp(p_last, m_prev) == 0 && p_to == after,
            "the chain connects: the previous archive ends at seq %lld with the head this one "
            "starts from",
            (long long)p_to);
        const char *p_month = json_string_value(json_object_get(prev_manifest, "month")) ?: "";
        int py = 0, pm = 0, y = 0, mo = 0;
        sscanf(p_month, "%d-%d", &py, &pm);
        sscanf(month, "%d-%d", &y, &mo);
        bundle_check(&c, y * 12 + mo == py * 12 + pm + 1, "month %s follows %s", month, p_month);
    } else if (json_is_object(pa)) {
        printf("note: this archive names a previous one (%s, sha256 %.16s...); give both files, "
               "in order, to check the link\n",
               json_string_value(json_object_get(pa, "file")) ?: "?",
               json_string_value(json_object_get(pa, "sha256")) ?: "?");
    }
    (void)hex2;
    rc = c.failed ? EXIT_FAILED : EXIT_OK;
done:
    if (rows) fclose(rows);
    free(line);
    free(heads);
    json_decref(m);
    json_decref(prev_manifest);
    EVP_MD_CTX_free(md);
    return rc;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: pide-audit-archive export --conninfo CONNINFO --month YYYY-MM --dir DIR "
            "--progress FILE [--resume] [--batch N] [--previous-name NAME --previous-sha256 "
            "HEX]\n"
            "       pide-audit-archive verify --dir DIR [--prev-manifest FILE --prev-digest HEX]\n"
            "(normally run as 'pide-audit archive' / 'pide-audit verify-archive')\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    const char *conninfo = NULL, *dir = NULL, *month = NULL, *prev_name = NULL, *prev_sha = NULL;
    const char *prev_manifest = NULL, *prev_digest = NULL, *progress = NULL;
    bool resume = false;
    long batch = 1000;
    if (argc < 2) return usage();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--resume") == 0) {
            resume = true;
            continue;
        }
        if (!next) return usage();
        if (strcmp(a, "--conninfo") == 0) conninfo = next;
        else if (strcmp(a, "--dir") == 0) dir = next;
        else if (strcmp(a, "--month") == 0) month = next;
        else if (strcmp(a, "--batch") == 0) batch = strtol(next, NULL, 10);
        else if (strcmp(a, "--previous-name") == 0) prev_name = next;
        else if (strcmp(a, "--previous-sha256") == 0) prev_sha = next;
        else if (strcmp(a, "--prev-manifest") == 0) prev_manifest = next;
        else if (strcmp(a, "--prev-digest") == 0) prev_digest = next;
        else if (strcmp(a, "--progress") == 0)
            progress = next;
        else return usage();
        i++;
    }
    if (strcmp(argv[1], "export") == 0 && conninfo && dir && month_ok(month) && batch > 0 &&
        batch <= 100000 && !prev_name == !prev_sha && progress)
        return cmd_export(conninfo, month, dir, batch, prev_name, prev_sha, progress, resume);
    if (strcmp(argv[1], "verify") == 0 && dir && !prev_manifest == !prev_digest)
        return cmd_verify(dir, prev_manifest, prev_digest);
    return usage();
}
