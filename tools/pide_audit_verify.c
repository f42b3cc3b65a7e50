/*
 * pide_audit_verify.c — `pide-audit verify` outside the database: streams every row of the
 * exchange log (COPY ... TO STDOUT in binary form, one row in memory at a time) and recomputes
 * each row_hash here, with the writer's own definition (gw_log_row_hash in
 * gateway/exchange_log.c) and OpenSSL, checking seq, prev_hash links and the fields each hash
 * version covers. Nothing the database owner controls is executed: no stored function, no
 * operator, no sha256() — the server only sends the stored bytes, and the session pins
 * search_path and names every object by schema (docs/security.md, "The database owner makes
 * the verifier lie").
 *
 *   pide-audit-verify --conninfo CONNINFO [--expect-head SEQ:HEX]
 *
 * Called by tools/pide-audit (which reads the password file into PGPASSWORD); its output and
 * exit status are those of `pide-audit verify` (docs/auditor-guide.md): 0 intact, 1 broken,
 * 2 bad arguments, 3 database error.
 */
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange_log.h"

#define PROG "pide-audit"
#define EXIT_INTACT 0
#define EXIT_BROKEN 1
#define EXIT_USAGE 2
#define EXIT_DATABASE 3
#define HASH_LEN GW_LOG_HASH_LEN
/* Columns sent per row: the 36 hashed fields, then prev_hash and row_hash. */
#define COLUMN_COUNT (GW_LOG_FIELD_COUNT + 2)
#define COL_PREV_HASH GW_LOG_FIELD_COUNT
#define COL_ROW_HASH (GW_LOG_FIELD_COUNT + 1)
#define FIELD_HASH_VERSION 31 /* GW_LOG_FIELD_NAMES[31] */
#define FIRST_CALLER_FIELD 27 /* caller_host .. caller_mac */
#define FIRST_IDENTITY_FIELD 32 /* client_subsystem .. request_signature_value */

/* PostgreSQL type oids of the built-in types the hash is defined over. */
enum { OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_TEXT = 25,
       OID_TIMESTAMPTZ = 1184, OID_UUID = 2950 };

static unsigned expected_type(int column)
{
    if (column == 0) return OID_INT8;
    if (column == 1) return OID_UUID;
    if (column >= 13 && column <= 16) return OID_BYTEA;
    if (column >= 18 && column <= 21) return OID_TIMESTAMPTZ;
    if (column == 26) return OID_INT4;
    if (column == FIELD_HASH_VERSION) return OID_INT2;
    if (column >= COL_PREV_HASH) return OID_BYTEA;
    return OID_TEXT;
}

static const char *column_name(int column)
{
    if (column == COL_PREV_HASH) return "prev_hash";
    if (column == COL_ROW_HASH) return "row_hash";
    return GW_LOG_FIELD_NAMES[column];
}

/* libpq messages span lines; ours are one line each. */
static void database_error(const char *what, const char *detail)
{
    char line[1024];
    size_t at = 0;
    bool space = true;
    for (const char *p = detail ? detail : ""; *p && at + 1 < sizeof line; p++) {
        bool blank = *p == '\n' || *p == '\t' || *p == ' ' || *p == '\r';
        if (blank && space) continue;
        line[at++] = blank ? ' ' : *p;
        space = blank;
    }
    while (at > 0 && line[at - 1] == ' ') at--;
    line[at] = '\0';
    fprintf(stderr, PROG ": cannot query the exchange log: %s%s%s\n", what, at ? ": " : "", line);
}

static bool exec_command(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) database_error(sql, PQerrorMessage(conn));
    PQclear(res);
    return ok;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* SEQ:HEX, 64 hex digits. */
static bool parse_head(const char *text, int64_t *seq, unsigned char hash[HASH_LEN])
{
    char *end = NULL;
    if (!text || text[0] < '0' || text[0] > '9') return false;
    long long v = strtoll(text, &end, 10);
    if (!end || *end != ':' || v < 0 || strlen(end + 1) != 2 * HASH_LEN) return false;
    for (int i = 0; i < HASH_LEN; i++) {
        int hi = hex_digit(end[1 + 2 * i]), lo = hex_digit(end[2 + 2 * i]);
        if (hi < 0 || lo < 0) return false;
        hash[i] = (unsigned char)(hi << 4 | lo);
    }
    *seq = v;
    return true;
}

static void hex_of(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return (int64_t)v;
}

/* ---- the chain ---------------------------------------------------------------------------- */

typedef struct verifier {
    EVP_MD_CTX *md;
    int64_t rows, problems, versions[4];
    int64_t prev_seq;
    unsigned char prev_hash[HASH_LEN];
    bool expect_head, head_found;
    int64_t head_seq;
    unsigned char head_hash[HASH_LEN];
} verifier;

static void problem(verifier *v, int64_t seq, const char *text)
{
    printf("BROKEN seq %lld: %s\n", (long long)seq, text);
    v->problems++;
}

static bool any_present(const gw_log_field *f, int from, int to)
{
    for (int i = from; i < to; i++)
        if (f[i].len >= 0) return true;
    return false;
}

/* One row in canonical column order. The checks and their wording are those of
 * exchange_log_verify_chain(); the first that applies is reported. */
static bool check_row(verifier *v, const gw_log_field *col)
{
    char text[160];
    if (col[0].len != 8) return false;
    int64_t seq = be64(col[0].data);
    const gw_log_field *prev = &col[COL_PREV_HASH], *stored = &col[COL_ROW_HASH];
    bool hashes_ok = prev->len == HASH_LEN && stored->len == HASH_LEN;
    int version = col[FIELD_HASH_VERSION].len == 2
                      ? (int16_t)((unsigned)((const unsigned char *)col[FIELD_HASH_VERSION].data)[0] << 8 |
                                  ((const unsigned char *)col[FIELD_HASH_VERSION].data)[1])
                      : -1;
    int count = gw_log_hash_field_count(version);
    unsigned char computed[HASH_LEN];

    v->rows++;
    if (count) v->versions[version]++;
    if (seq != v->prev_seq + 1) {
        snprintf(text, sizeof text, "seq gap: previous row is %lld", (long long)v->prev_seq);
        problem(v, seq, text);
    } else if (!hashes_ok) {
        problem(v, seq, "prev_hash or row_hash is not 32 bytes");
    } else if (memcmp(prev->data, v->prev_hash, HASH_LEN) != 0) {
        problem(v, seq, "prev_hash differs from the previous row's row_hash");
    } else if (!count) {
        snprintf(text, sizeof text, "unknown hash_version %d", version);
        problem(v, seq, text);
    } else if (version == 1 && any_present(col, FIRST_CALLER_FIELD, FIELD_HASH_VERSION)) {
        problem(v, seq, "hash_version 1 row carries caller audit fields, which v1 does not cover");
    } else if (version <= 2 && any_present(col, FIRST_IDENTITY_FIELD, GW_LOG_FIELD_COUNT)) {
        snprintf(text, sizeof text,
                 "hash_version %d row carries identity fields, which v%d does not cover",
                 version, version);
        problem(v, seq, text);
    } else {
        if (!gw_log_row_hash(v->md, prev->data, col, count, computed)) return false;
        if (memcmp(computed, stored->data, HASH_LEN) != 0) {
            snprintf(text, sizeof text, "row_hash does not match the row's content (v%d)",
                     version);
            problem(v, seq, text);
        }
    }
    if (v->expect_head && seq == v->head_seq && stored->len == HASH_LEN &&
        memcmp(stored->data, v->head_hash, HASH_LEN) == 0)
        v->head_found = true;
    v->prev_seq = seq;
    if (stored->len == HASH_LEN)
        memcpy(v->prev_hash, stored->data, HASH_LEN);
    else
        memset(v->prev_hash, 0xff, HASH_LEN); /* matches no 32-byte prev_hash of a real row */
    return true;
}

/* ---- the binary COPY stream --------------------------------------------------------------- */

static const unsigned char COPY_SIGNATURE[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r',
                                                 '\n', '\0'};

typedef struct stream {
    unsigned char *data;
    size_t len, cap, pos;
    bool header_done, trailer_seen;
} stream;

static bool stream_add(stream *s, const char *bytes, size_t n)
{
    if (s->pos > 0) { /* drop what was consumed */
        memmove(s->data, s->data + s->pos, s->len - s->pos);
        s->len -= s->pos;
        s->pos = 0;
    }
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->len + n) cap *= 2;
        unsigned char *grown = realloc(s->data, cap);
        if (!grown) return false;
        s->data = grown;
        s->cap = cap;
    }
    memcpy(s->data + s->len, bytes, n);
    s->len += n;
    return true;
}

/* Consumes every complete row in the buffer. -1 malformed / failed, else 0. */
static int stream_rows(stream *s, verifier *v)
{
    gw_log_field col[COLUMN_COUNT];
    for (;;) {
        size_t avail = s->len - s->pos;
        const unsigned char *p = s->data + s->pos;
        if (!s->header_done) {
            if (avail < sizeof COPY_SIGNATURE + 8) return 0;
            if (memcmp(p, COPY_SIGNATURE, sizeof COPY_SIGNATURE) != 0) return -1;
            uint32_t ext = be32(p + sizeof COPY_SIGNATURE + 4);
            if (avail < sizeof COPY_SIGNATURE + 8 + (size_t)ext) return 0;
            s->pos += sizeof COPY_SIGNATURE + 8 + ext;
            s->header_done = true;
            continue;
        }
        if (s->trailer_seen) return avail == 0 ? 0 : -1;
        if (avail < 2) return 0;
        int16_t fields = (int16_t)((unsigned)p[0] << 8 | p[1]);
        if (fields == -1) {
            s->trailer_seen = true;
            s->pos += 2;
            continue;
        }
        if (fields != COLUMN_COUNT) return -1;
        size_t at = 2;
        for (int i = 0; i < COLUMN_COUNT; i++) {
            if (avail < at + 4) return 0;
            int32_t len = (int32_t)be32(p + at);
            at += 4;
            if (len < -1) return -1;
            if (len > 0 && avail - at < (size_t)len) return 0;
            col[i].len = len;
            col[i].data = len >= 0 ? p + at : NULL;
            if (len > 0) at += (size_t)len;
        }
        if (!check_row(v, col)) return -1;
        s->pos += at;
    }
}

/* ---- the query ---------------------------------------------------------------------------- */

/* The SELECT list in canonical order, by the columns the table has: a log predating 0002 lacks
 * the caller columns and hash_version (its rows are version 1), one predating 0003 the identity
 * columns. Every present column must have the built-in type the hash is defined over. */
static char *build_select(PGconn *conn)
{
    PGresult *res = PQexec(conn,
                           "SELECT a.attname::pg_catalog.text, a.atttypid::pg_catalog.int8 "
                           "FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
                           "'public.exchange_log'::pg_catalog.regclass AND a.attnum "
                           "OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped");
    char *sql = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        database_error("reading the table's columns", PQerrorMessage(conn));
        goto fail;
    }
    size_t cap = 4096;
    sql = malloc(cap);
    if (!sql) goto fail;
    size_t len = (size_t)snprintf(sql, cap, "COPY (SELECT ");
    for (int c = 0; c < COLUMN_COUNT; c++) {
        const char *name = column_name(c);
        long long type = -1;
        for (int r = 0; r < PQntuples(res); r++)
            if (strcmp(PQgetvalue(res, r, 0), name) == 0) type = atoll(PQgetvalue(res, r, 1));
        const char *expr = name;
        if (type < 0) {
            bool optional = c >= FIRST_CALLER_FIELD && c < GW_LOG_FIELD_COUNT;
            if (!optional) {
                fprintf(stderr, PROG ": cannot query the exchange log: public.exchange_log has no "
                                "column %s\n", name);
                goto fail;
            }
            expr = c == FIELD_HASH_VERSION ? "1::pg_catalog.int2" : "NULL::pg_catalog.text";
        } else if ((unsigned)type != expected_type(c)) {
            fprintf(stderr,
                    PROG ": cannot query the exchange log: column %s of public.exchange_log has "
                         "type oid %lld, not the built-in type %u the hash is defined over\n",
                    name, type, expected_type(c));
            goto fail;
        }
        len += (size_t)snprintf(sql + len, cap - len, "%s%s", c ? ", " : "", expr);
    }
    snprintf(sql + len, cap - len,
             " FROM public.exchange_log ORDER BY seq) TO STDOUT (FORMAT binary)");
    PQclear(res);
    return sql;
fail:
    free(sql);
    PQclear(res);
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: pide-audit-verify --conninfo CONNINFO [--expect-head SEQ:HEX]\n"
                    "(normally run as 'pide-audit verify')\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    const char *conninfo = NULL, *expect = NULL;
    verifier v = {.head_seq = -1};
    stream s = {0};
    PGconn *conn = NULL;
    char *sql = NULL;
    int rc = EXIT_DATABASE;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--conninfo") == 0 && i + 1 < argc)
            conninfo = argv[++i];
        else if (strcmp(argv[i], "--expect-head") == 0 && i + 1 < argc)
            expect = argv[++i];
        else
            return usage();
    }
    if (!conninfo) return usage();
    if (expect) {
        if (!parse_head(expect, &v.head_seq, v.head_hash)) {
            fprintf(stderr, PROG ": --expect-head wants SEQ:HEX (the seq and 64 hex digits of its "
                            "row_hash)\n");
            return EXIT_USAGE;
        }
        v.expect_head = true;
    }
    v.md = EVP_MD_CTX_new();
    if (!v.md) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_DATABASE;
    }

    /* text goes out of the server in the client encoding: UTF-8, as the hash wants it. */
    const char *keys[] = {"application_name", "dbname", "client_encoding", NULL};
    const char *values[] = {"pide-audit", conninfo, "UTF8", NULL};
    conn = PQconnectdbParams(keys, values, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        database_error("connecting", conn ? PQerrorMessage(conn) : "out of memory");
        goto done;
    }
    /* An explicit SET beats ALTER DATABASE / ALTER ROLE ... SET search_path and options=; one
     * snapshot for the column probe and the rows. */
    if (!exec_command(conn, GW_LOG_PIN_SEARCH_PATH_SQL) ||
        !exec_command(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") ||
        !(sql = build_select(conn)))
        goto done;

    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        database_error("reading the rows", PQerrorMessage(conn));
        PQclear(res);
        goto done;
    }
    PQclear(res);
    char *buf = NULL;
    int n;
    bool bad_stream = false;
    while ((n = PQgetCopyData(conn, &buf, 0)) > 0) {
        bool added = stream_add(&s, buf, (size_t)n);
        PQfreemem(buf);
        if (!added) {
            fprintf(stderr, PROG ": out of memory\n");
            bad_stream = true;
            break;
        }
        if (stream_rows(&s, &v) != 0) {
            fprintf(stderr, PROG ": cannot query the exchange log: malformed COPY data (or a row "
                            "without a valid seq)\n");
            bad_stream = true;
            break;
        }
    }
    if (bad_stream) goto done; /* the connection closes with the COPY unfinished */
    if (n == -2) {
        database_error("reading the rows", PQerrorMessage(conn));
        goto done;
    }
    res = PQgetResult(conn);
    bool copied = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!copied) database_error("reading the rows", PQerrorMessage(conn));
    PQclear(res);
    while ((res = PQgetResult(conn)) != NULL) PQclear(res);
    if (!copied) goto done;
    if (!s.header_done || !s.trailer_seen || s.pos != s.len) {
        fprintf(stderr, PROG ": cannot query the exchange log: malformed COPY data\n");
        goto done;
    }

    char hex[2 * HASH_LEN + 1];
    if (v.expect_head && !v.head_found) {
        char text[200];
        hex_of(v.head_hash, HASH_LEN, hex);
        snprintf(text, sizeof text, "the noted head %lld:%s is not in the chain",
                 (long long)v.head_seq, hex);
        problem(&v, v.head_seq, text);
    }
    if (v.problems > 0) {
        printf("chain verification FAILED: %lld problem(s) in %lld rows\n", (long long)v.problems,
               (long long)v.rows);
        rc = EXIT_BROKEN;
        goto done;
    }
    printf("chain intact: %lld rows (v1=%lld v2=%lld v3=%lld)\n", (long long)v.rows,
           (long long)v.versions[1], (long long)v.versions[2], (long long)v.versions[3]);
    if (v.rows > 0) {
        hex_of(v.prev_hash, HASH_LEN, hex);
        printf("head: %lld:%s\n", (long long)v.prev_seq, hex);
    } else {
        printf("head: 0:\n");
    }
    rc = EXIT_INTACT;
done:
    free(sql);
    free(s.data);
    if (conn) PQfinish(conn);
    EVP_MD_CTX_free(v.md);
    return rc;
}
