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
 *   pide-audit-verify --conninfo CONNINFO [--expect-head SEQ:HEX] [--trust-signer PEM]
 *                     [--trust-tsa PEM] [--from CHECKPOINT_ID]
 *
 * With migration 0006 it also checks the signed checkpoints (table exchange_checkpoint,
 * gateway/checkpoint.c): their ids are gapless and each names the digest of the one before;
 * each statement equals its columns; each CMS signature verifies against --trust-signer and each
 * RFC 3161 token against --trust-tsa, its messageImprint being SHA-256 of the signed document;
 * and the row at each checkpoint's head seq still has the signed row_hash — which catches a
 * changed row even when every later hash was recomputed, rows deleted from the tail, and rows
 * swapped. It says how many newest rows no checkpoint covers yet. --from starts at a checkpoint
 * (verified like the others) instead of seq 1.
 *
 * Called by tools/pide-audit (which reads the password file into PGPASSWORD); its output and
 * exit status are those of `pide-audit verify` (docs/auditor-guide.md): 0 intact, 1 broken,
 * 2 bad arguments, 3 database error.
 */
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_db.h"
#include "checkpoint.h"
#include "clock.h"
#include "exchange_log.h"

#define PROG "pide-audit"
#define EXIT_INTACT 0
#define EXIT_BROKEN 1
#define EXIT_USAGE 2
#define EXIT_DATABASE 3
#define HASH_LEN GW_LOG_HASH_LEN
/* Columns sent per row: the 39 hashed fields, then prev_hash and row_hash. */
#define COLUMN_COUNT (GW_LOG_FIELD_COUNT + 2)
#define COL_PREV_HASH GW_LOG_FIELD_COUNT
#define COL_ROW_HASH (GW_LOG_FIELD_COUNT + 1)
#define FIELD_HASH_VERSION 31 /* GW_LOG_FIELD_NAMES[31] */
#define FIRST_CALLER_FIELD 27 /* caller_host .. caller_mac */
#define FIELD_RESPONSE 14
#define FIELD_RESPONSE_SHA256 16
/* Seconds from 1970-01-01 to 2000-01-01, PostgreSQL's binary timestamp epoch. */
#define PG_EPOCH_OFFSET_US (INT64_C(946684800) * 1000000)

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

/* One checkpoint as read (the bytea values point into the query result). */
typedef struct checkpoint_row {
    int64_t id, head_seq, row_count, created_us;
    const char *node_id;
    const unsigned char *head_row_hash, *prev_sha256;
    const unsigned char *statement, *signed_document, *signer_certificate, *tst;
    int statement_len, signed_len, signer_len, tst_len;
    bool has_stamp;
    int64_t stamped_us;
    bool found; /* its head row was seen in the walk */
} checkpoint_row;

typedef struct verifier {
    EVP_MD_CTX *md;
    int64_t rows, problems, versions[GW_LOG_HASH_VERSION_CURRENT + 1];
    int64_t prev_seq;
    unsigned char prev_hash[HASH_LEN];
    bool expect_head, head_found;
    int64_t head_seq;
    unsigned char head_hash[HASH_LEN];
    /* The checkpoints, in id order (= head_seq order), and the next one the walk reaches. */
    checkpoint_row *cps;
    int cp_count, cp_next;
    bool cp_mismatch_seen; /* a signed head already differed: later ones follow from it */
    /* Progress on a terminal. */
    bool progress;
    int64_t started_us, last_progress_us;
} verifier;

static void problem(verifier *v, int64_t seq, const char *text)
{
    printf("BROKEN seq %lld: %s\n", (long long)seq, text);
    v->problems++;
}

/* One row in canonical column order. The checks and their wording are those of
 * exchange_log_verify_chain(); the first that applies is reported. */
static bool check_row(verifier *v, const gw_log_field *col)
{
    char text[400];
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
    const char *uncovered;

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
    } else if ((uncovered = gw_log_uncovered_fields(version, col, text, sizeof text))) {
        problem(v, seq, uncovered);
    } else {
        if (!gw_log_row_hash(v->md, prev->data, col, count, computed)) return false;
        if (memcmp(computed, stored->data, HASH_LEN) != 0) {
            snprintf(text, sizeof text, "row_hash does not match the row's content (v%d)",
                     version);
            problem(v, seq, text);
        } else if (col[FIELD_RESPONSE].len >= 0 && col[FIELD_RESPONSE_SHA256].len == HASH_LEN &&
                   col[GW_LOG_FIELD_BODY_ENCRYPTION].len < 0) {
            /* The response is stored as sent, next to its digest: a response changed with its
             * hashes recomputed still differs from the digest (unless that was forged too). An
             * encrypted response (body_encryption) is checked against it only after decryption
             * (pide-audit exchange --decrypt-key). */
            unsigned char digest[HASH_LEN];
            unsigned int dl = 0;
            if (!EVP_Digest(col[FIELD_RESPONSE].data, (size_t)col[FIELD_RESPONSE].len, digest,
                            &dl, EVP_sha256(), NULL))
                return false;
            if (memcmp(digest, col[FIELD_RESPONSE_SHA256].data, HASH_LEN) != 0)
                problem(v, seq, "response differs from its response_sha256 (the response was "
                                "changed and the row's hash recomputed)");
        }
    }
    /* A signed checkpoint names this seq: the row must still carry the signed row_hash. */
    while (v->cp_next < v->cp_count && v->cps[v->cp_next].head_seq < seq) v->cp_next++;
    while (v->cp_next < v->cp_count && v->cps[v->cp_next].head_seq == seq) {
        checkpoint_row *c = &v->cps[v->cp_next++];
        c->found = true;
        if (stored->len != HASH_LEN || memcmp(stored->data, c->head_row_hash, HASH_LEN) != 0) {
            int64_t from = v->cp_next >= 2 ? v->cps[v->cp_next - 2].head_seq + 1 : 1;
            if (!v->cp_mismatch_seen)
                snprintf(text, sizeof text,
                         "row_hash differs from the one checkpoint %lld signed: a row in seq "
                         "%lld..%lld was changed, removed or reordered (and later hashes "
                         "recomputed)",
                         (long long)c->id, (long long)from, (long long)seq);
            else
                snprintf(text, sizeof text,
                         "row_hash differs from the one checkpoint %lld signed too (the hashes "
                         "after the earlier change were recomputed; rows in seq %lld..%lld may "
                         "be changed as well)",
                         (long long)c->id, (long long)from, (long long)seq);
            v->cp_mismatch_seen = true;
            problem(v, seq, text);
        }
    }
    if (v->progress && (v->rows & 4095) == 0) {
        int64_t now = gw_monotonic_us();
        if (now - v->last_progress_us >= 500000) {
            double secs = (double)(now - v->started_us) / 1e6;
            fprintf(stderr, "\rverifying: %lld rows, %.0f rows/s ", (long long)v->rows,
                    secs > 0 ? (double)v->rows / secs : 0.0);
            v->last_progress_us = now;
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
static char *build_select(PGconn *conn, int64_t after_seq)
{
    PGresult *res = PQexec(conn,
                           "SELECT a.attname::pg_catalog.text, a.atttypid::pg_catalog.int8 "
                           "FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
                           "'public.exchange_log'::pg_catalog.regclass AND a.attnum "
                           "OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped");
    char *sql = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        audit_db_error(PROG, "reading the table's columns", PQerrorMessage(conn));
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
             " FROM public.exchange_log WHERE seq OPERATOR(pg_catalog.>) %lld::pg_catalog.int8 "
             "ORDER BY seq) TO STDOUT (FORMAT binary)",
             (long long)after_seq);
    PQclear(res);
    return sql;
fail:
    free(sql);
    PQclear(res);
    return NULL;
}


/* ---- the signed checkpoints --------------------------------------------------------------- */

static void cp_problem(verifier *v, int64_t id, const char *text)
{
    printf("BROKEN checkpoint %lld: %s\n", (long long)id, text);
    v->problems++;
}

static int64_t be64_at(const PGresult *res, int r, int c)
{
    return PQgetlength(res, r, c) == 8 ? be64((const unsigned char *)PQgetvalue(res, r, c)) : -1;
}

/* Reads the checkpoints (from --from on) into v->cps. -1 database error, 0 no table, 1 read. */
static int load_checkpoints(PGconn *conn, verifier *v, int64_t from_id, PGresult **keep)
{
    PGresult *res = PQexec(conn, "SELECT pg_catalog.to_regclass('public.exchange_checkpoint') IS "
                                 "NOT NULL");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        audit_db_error(PROG, "looking for exchange_checkpoint", PQerrorMessage(conn));
        PQclear(res);
        return -1;
    }
    bool present = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!present) return 0;
    char sql[640];
    snprintf(sql, sizeof sql,
             "SELECT id, node_id, head_seq, head_row_hash, row_count, created, prev_sha256, "
             "statement, signed_document, signer_certificate, tst, stamped_at FROM "
             "public.exchange_checkpoint WHERE id OPERATOR(pg_catalog.>=) %lld::pg_catalog.int8 "
             "ORDER BY id",
             (long long)from_id);
    res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        audit_db_error(PROG, "reading the checkpoints", PQerrorMessage(conn));
        PQclear(res);
        return -1;
    }
    int n = PQntuples(res);
    v->cps = calloc((size_t)(n ? n : 1), sizeof *v->cps);
    if (!v->cps) {
        PQclear(res);
        return -1;
    }
    for (int r = 0; r < n; r++) {
        checkpoint_row *c = &v->cps[r];
        c->id = be64_at(res, r, 0);
        c->node_id = PQgetvalue(res, r, 1);
        c->head_seq = be64_at(res, r, 2);
        c->head_row_hash = (const unsigned char *)PQgetvalue(res, r, 3);
        c->row_count = be64_at(res, r, 4);
        c->created_us = be64_at(res, r, 5) + PG_EPOCH_OFFSET_US;
        c->prev_sha256 = (const unsigned char *)PQgetvalue(res, r, 6);
        c->statement = (const unsigned char *)PQgetvalue(res, r, 7);
        c->statement_len = PQgetlength(res, r, 7);
        c->signed_document = (const unsigned char *)PQgetvalue(res, r, 8);
        c->signed_len = PQgetlength(res, r, 8);
        c->signer_certificate = (const unsigned char *)PQgetvalue(res, r, 9);
        c->signer_len = PQgetlength(res, r, 9);
        c->has_stamp = !PQgetisnull(res, r, 10);
        c->tst = (const unsigned char *)PQgetvalue(res, r, 10);
        c->tst_len = PQgetlength(res, r, 10);
        c->stamped_us = PQgetisnull(res, r, 11) ? 0 : be64_at(res, r, 11) + PG_EPOCH_OFFSET_US;
    }
    v->cp_count = n;
    *keep = res;
    return 1;
}

/* Everything about the checkpoints that needs no row: order, statements, signatures, tokens. */
static void check_checkpoints(verifier *v, void *signer_store, void *tsa_store, int64_t from_id,
                              int64_t *unstamped)
{
    char text[600], err[400];
    unsigned char digest[HASH_LEN];
    for (int i = 0; i < v->cp_count; i++) {
        checkpoint_row *c = &v->cps[i];
        const checkpoint_row *prev = i > 0 ? &v->cps[i - 1] : NULL;
        int64_t want_id = prev ? prev->id + 1 : (from_id > 1 ? from_id : 1);
        if (c->id != want_id) {
            snprintf(text, sizeof text, "checkpoint(s) %lld..%lld are missing (ids must be gapless)",
                     (long long)want_id, (long long)c->id - 1);
            cp_problem(v, c->id, text);
        }
        gw_checkpoint_statement st;
        if (!gw_checkpoint_statement_parse(c->statement, (size_t)c->statement_len, &st)) {
            cp_problem(v, c->id, "its statement is not a canonical checkpoint statement");
            continue;
        }
        const char *differs = NULL;
        if (st.id != c->id) differs = "id";
        else if (strcmp(st.node_id, c->node_id) != 0) differs = "node_id";
        else if (st.head_seq != c->head_seq) differs = "head_seq";
        else if (memcmp(st.head_row_hash, c->head_row_hash, HASH_LEN) != 0) differs = "head_row_hash";
        else if (st.row_count != c->row_count) differs = "row_count";
        else if (st.created_us != c->created_us) differs = "created";
        else if (memcmp(st.prev_sha256, c->prev_sha256, HASH_LEN) != 0) differs = "prev_sha256";
        if (differs) {
            snprintf(text, sizeof text, "column %s differs from the signed statement", differs);
            cp_problem(v, c->id, text);
        }
        /* The chain of checkpoints: each names the digest of the one before it. */
        if (prev && prev->id + 1 == c->id) {
            EVP_Digest(prev->signed_document, (size_t)prev->signed_len, digest, NULL, EVP_sha256(),
                       NULL);
            if (memcmp(digest, st.prev_sha256, HASH_LEN) != 0)
                cp_problem(v, c->id, "its statement does not name the previous checkpoint's "
                                     "digest (a checkpoint was replaced or reordered)");
        } else if (!prev && c->id == 1) {
            static const unsigned char zeros[HASH_LEN];
            if (memcmp(st.prev_sha256, zeros, HASH_LEN) != 0)
                cp_problem(v, c->id, "the first checkpoint names a previous one");
        }
        if (prev && st.head_seq <= prev->head_seq) {
            snprintf(text, sizeof text, "its head seq %lld is not after checkpoint %lld's %lld "
                                        "(reordered)",
                     (long long)st.head_seq, (long long)prev->id, (long long)prev->head_seq);
            cp_problem(v, c->id, text);
        }
        if (signer_store &&
            gw_checkpoint_verify_signature(signer_store, c->signed_document, (size_t)c->signed_len,
                                           c->statement, (size_t)c->statement_len,
                                           c->signer_certificate, (size_t)c->signer_len, err,
                                           sizeof err) != GW_OK) {
            snprintf(text, sizeof text, "signature refused: %s", err);
            cp_problem(v, c->id, text);
        }
        if (!c->has_stamp) {
            (*unstamped)++;
        } else if (tsa_store) {
            int64_t gen_us = 0;
            if (gw_checkpoint_verify_token(tsa_store, c->tst, (size_t)c->tst_len,
                                           c->signed_document, (size_t)c->signed_len, &gen_us,
                                           err, sizeof err) != GW_OK) {
                snprintf(text, sizeof text, "time-stamp refused: %s", err);
                cp_problem(v, c->id, text);
            } else if (gen_us / 1000000 != c->stamped_us / 1000000) {
                cp_problem(v, c->id, "stamped_at differs from the token's genTime");
            } else if (gen_us + 60 * 1000000 < c->created_us) {
                cp_problem(v, c->id, "the token is older than the checkpoint it stamps");
            }
        }
    }
}

/* After the walk: checkpoints whose head row was never seen (deleted rows). */
static void check_checkpoint_heads(verifier *v)
{
    char text[300];
    for (int i = 0; i < v->cp_count; i++) {
        const checkpoint_row *c = &v->cps[i];
        if (c->found) continue;
        if (c->head_seq > v->prev_seq)
            snprintf(text, sizeof text, "it covers up to seq %lld but the log ends at seq %lld: "
                                        "rows %lld..%lld were removed",
                     (long long)c->head_seq, (long long)v->prev_seq, (long long)v->prev_seq + 1,
                     (long long)c->head_seq);
        else
            snprintf(text, sizeof text, "its head seq %lld is not in the log", (long long)c->head_seq);
        cp_problem(v, c->id, text);
    }
}

/* ---- retention: months detached after their archive (migration 0009) --------------------- */

static bool unhex32(const char *hex, unsigned char out[HASH_LEN])
{
    if (!hex || strlen(hex) != 2 * HASH_LEN)
        return false;
    for (int i = 0; i < HASH_LEN; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

/* A signed archive manifest's end: its to_seq and last_row_hash (and more, for the records). */
typedef struct manifest_claims {
    char month[16], previous_sha[80];
    int64_t after_seq, to_seq, row_count;
    unsigned char prev_hash[HASH_LEN], last_hash[HASH_LEN];
} manifest_claims;

static bool manifest_parse(const unsigned char *text, size_t len, manifest_claims *m)
{
    json_error_t err;
    json_t *j = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &err);
    const char *month = json_string_value(json_object_get(j, "month"));
    const char *kind = json_string_value(json_object_get(j, "archive"));
    const char *prev_sha =
        json_string_value(json_object_get(json_object_get(j, "previous_archive"), "sha256"));
    bool ok = j && kind && strcmp(kind, "pide-log-archive") == 0 && month && strlen(month) == 7 &&
              json_is_integer(json_object_get(j, "after_seq")) &&
              json_is_integer(json_object_get(j, "to_seq")) &&
              json_is_integer(json_object_get(j, "row_count")) &&
              unhex32(json_string_value(json_object_get(j, "prev_hash")), m->prev_hash) &&
              unhex32(json_string_value(json_object_get(j, "last_row_hash")), m->last_hash);
    if (ok) {
        snprintf(m->month, sizeof m->month, "%s", month);
        snprintf(m->previous_sha, sizeof m->previous_sha, "%s", prev_sha ? prev_sha : "");
        m->after_seq = json_integer_value(json_object_get(j, "after_seq"));
        m->to_seq = json_integer_value(json_object_get(j, "to_seq"));
        m->row_count = json_integer_value(json_object_get(j, "row_count"));
    }
    json_decref(j);
    return ok;
}

static void rt_problem(verifier *v, int64_t id, const char *text)
{
    printf("BROKEN retention record %lld: %s\n", (long long)id, text);
    v->problems++;
}

/* The retention records: gapless, each continuing the one before from seq 0, each stating
 * exactly what its archive's manifest says, whose signature (with --trust-signer) must verify —
 * so a record written by whoever can write the database, over rows deleted, does not pass.
 * *anchor_seq / anchor_hash: where the last one ends (0 / zeros without records). -1 database
 * error, 0 no table or no record, 1 records read. */
static int check_retention(PGconn *conn, verifier *v, void *signer_store, int64_t *anchor_seq,
                           unsigned char anchor_hash[HASH_LEN])
{
    PGresult *res = PQexec(conn, "SELECT pg_catalog.to_regclass('public.exchange_retention') IS "
                                 "NOT NULL");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        audit_db_error(PROG, "looking for exchange_retention", PQerrorMessage(conn));
        PQclear(res);
        return -1;
    }
    bool present = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    *anchor_seq = 0;
    memset(anchor_hash, 0, HASH_LEN);
    if (!present)
        return 0;
    res = PQexecParams(conn,
                       "SELECT id, month, after_seq, last_seq, row_count, prev_hash, "
                       "last_row_hash, archive_file, archive_sha256, "
                       "pg_catalog.to_char(detached_at AT TIME ZONE 'UTC', "
                       "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), manifest, manifest_signature, "
                       "archive_signer FROM public.exchange_retention ORDER BY id",
                       0, NULL, NULL, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        audit_db_error(PROG, "reading the retention records", PQerrorMessage(conn));
        PQclear(res);
        return -1;
    }
    int n = PQntuples(res);
    char text[600], err[400];
    char prev_sha[80] = "";
    for (int r = 0; r < n; r++) {
        int64_t id = be64_at(res, r, 0), after = be64_at(res, r, 2), last = be64_at(res, r, 3);
        int64_t count = be64_at(res, r, 4);
        const char *month = PQgetvalue(res, r, 1), *file = PQgetvalue(res, r, 7);
        const char *sha = PQgetvalue(res, r, 8), *when = PQgetvalue(res, r, 9);
        const unsigned char *prev = (const unsigned char *)PQgetvalue(res, r, 5);
        const unsigned char *lasth = (const unsigned char *)PQgetvalue(res, r, 6);
        const unsigned char *man = (const unsigned char *)PQgetvalue(res, r, 10);
        const unsigned char *cms = (const unsigned char *)PQgetvalue(res, r, 11);
        int man_len = PQgetlength(res, r, 10), cms_len = PQgetlength(res, r, 11);
        bool hashes = PQgetlength(res, r, 5) == HASH_LEN && PQgetlength(res, r, 6) == HASH_LEN;
        manifest_claims m;
        if (id != r + 1)
            rt_problem(v, id, "retention records must be numbered 1, 2, 3... without gaps");
        if (!hashes || !manifest_parse(man, (size_t)man_len, &m)) {
            rt_problem(v, id, "its manifest is not an archive manifest");
            continue;
        }
        const char *differs = NULL;
        if (strcmp(m.month, month) != 0)
            differs = "month";
        else if (m.after_seq != after)
            differs = "after_seq";
        else if (m.to_seq != last)
            differs = "last_seq";
        else if (m.row_count != count)
            differs = "row_count";
        else if (memcmp(m.prev_hash, prev, HASH_LEN) != 0)
            differs = "prev_hash";
        else if (memcmp(m.last_hash, lasth, HASH_LEN) != 0)
            differs = "last_row_hash";
        if (differs) {
            snprintf(text, sizeof text, "column %s differs from the archive's signed manifest",
                     differs);
            rt_problem(v, id, text);
        }
        /* The records chain: from seq 0 (the zero hash), each where the one before ended. */
        if (after != *anchor_seq || memcmp(prev, anchor_hash, HASH_LEN) != 0) {
            snprintf(text, sizeof text,
                     "its archive starts after seq %lld, but the chain %s at seq %lld: rows were "
                     "removed without an archive, or a record is forged",
                     (long long)after, r ? "of archives ends" : "starts", (long long)*anchor_seq);
            rt_problem(v, id, text);
        }
        if (r > 0 && strcmp(m.previous_sha, prev_sha) != 0)
            rt_problem(v, id, "its archive does not name the previous detached archive's digest");
        if (signer_store &&
            gw_checkpoint_verify_signature(signer_store, cms, (size_t)cms_len, man, (size_t)man_len,
                                           NULL, 0, err, sizeof err) != GW_OK) {
            snprintf(text, sizeof text, "its archive's manifest signature refused: %s", err);
            rt_problem(v, id, text);
        }
        if (count > 0)
            printf(
                "rows %lld..%lld are in archive %s (month %s, sha256 %.16s..., detached on %s)\n",
                (long long)after + 1, (long long)last, file, month, sha, when);
        else
            printf("month %s had no rows; archive %s (sha256 %.16s..., detached on %s)\n", month,
                   file, sha, when);
        *anchor_seq = last;
        memcpy(anchor_hash, lasth, HASH_LEN);
        snprintf(prev_sha, sizeof prev_sha, "%s", sha);
    }
    if (n > 0 && !signer_store)
        printf("WARNING: without --trust-signer the retention records prove nothing: whoever can "
               "write the database can delete rows and write a record\n");
    PQclear(res);
    return n > 0;
}

/* Attached rows at or before the anchor: a month's late stragglers, archived with the month
 * they were logged in (their seq), still sitting in the next month's partition. */
static int64_t rows_before(PGconn *conn, int64_t anchor_seq)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT pg_catalog.count(*) FROM public.exchange_log WHERE seq "
             "OPERATOR(pg_catalog.<=) %lld::pg_catalog.int8",
             (long long)anchor_seq);
    PGresult *res = PQexec(conn, sql);
    int64_t n = PQresultStatus(res) == PGRES_TUPLES_OK ? atoll(PQgetvalue(res, 0, 0)) : -1;
    if (n < 0)
        audit_db_error(PROG, "counting the archived rows still attached", PQerrorMessage(conn));
    PQclear(res);
    return n;
}

/* A manifest and its signature given with --from ARCHIVE: the walk starts at its signed end. */
static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0, got = 1;
    *len = 0;
    if (!f)
        return NULL;
    while (got > 0) {
        if (n == cap) {
            unsigned char *more = cap < (256u << 20) ? realloc(buf, cap ? cap * 2 : 65536) : NULL;
            if (!more) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = more;
            cap = cap ? cap * 2 : 65536;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    }
    bool ok = !ferror(f);
    fclose(f);
    if (!ok) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int usage(void)
{
    fprintf(stderr, "usage: pide-audit-verify --conninfo CONNINFO [--expect-head SEQ:HEX]\n"
                    "         [--trust-signer PEM] [--trust-tsa PEM] [--from CHECKPOINT_ID]\n"
                    "         [--from-manifest MANIFEST.json --from-signature MANIFEST.json.cms]\n"
                    "(normally run as 'pide-audit verify')\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    const char *conninfo = NULL, *expect = NULL, *trust_signer = NULL, *trust_tsa = NULL;
    const char *from = NULL, *from_manifest = NULL, *from_signature = NULL;
    unsigned char *fm = NULL, *fs = NULL;
    manifest_claims from_archive;
    int64_t anchor_seq = 0, attached_before = 0;
    unsigned char anchor_hash[HASH_LEN];
    int have_retention = 0;
    verifier v = {.head_seq = -1};
    stream s = {0};
    PGconn *conn = NULL;
    PGresult *cp_res = NULL;
    char *sql = NULL;
    int rc = EXIT_DATABASE;
    void *signer_store = NULL, *tsa_store = NULL;
    int64_t from_id = 0, unstamped = 0;
    int have_checkpoints = 0;
    char why[400];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--conninfo") == 0 && i + 1 < argc)
            conninfo = argv[++i];
        else if (strcmp(argv[i], "--expect-head") == 0 && i + 1 < argc)
            expect = argv[++i];
        else if (strcmp(argv[i], "--trust-signer") == 0 && i + 1 < argc)
            trust_signer = argv[++i];
        else if (strcmp(argv[i], "--trust-tsa") == 0 && i + 1 < argc)
            trust_tsa = argv[++i];
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "--from-manifest") == 0 && i + 1 < argc)
            from_manifest = argv[++i];
        else if (strcmp(argv[i], "--from-signature") == 0 && i + 1 < argc)
            from_signature = argv[++i];
        else
            return usage();
    }
    if (!conninfo || !from_manifest != !from_signature || (from && from_manifest))
        return usage();
    if (from) {
        char *end = NULL;
        long long id = strtoll(from, &end, 10);
        if (from[0] < '1' || from[0] > '9' || !end || *end || id <= 0) {
            fprintf(stderr, PROG ": --from wants a checkpoint id (a positive number)\n");
            return EXIT_USAGE;
        }
        from_id = id;
    }
    if (trust_signer && gw_checkpoint_load_store(trust_signer, &signer_store, why, sizeof why) != GW_OK) {
        fprintf(stderr, PROG ": --trust-signer: %s\n", why);
        return EXIT_USAGE;
    }
    if (trust_tsa && gw_checkpoint_load_store(trust_tsa, &tsa_store, why, sizeof why) != GW_OK) {
        fprintf(stderr, PROG ": --trust-tsa: %s\n", why);
        gw_checkpoint_free_store(signer_store);
        return EXIT_USAGE;
    }
    if (from_manifest) {
        size_t ml = 0, sl = 0;
        fm = read_all(from_manifest, &ml);
        fs = read_all(from_signature, &sl);
        if (!signer_store) {
            fprintf(stderr, PROG ": --from ARCHIVE needs --trust-signer (the archive's signed end "
                                 "is the anchor)\n");
            rc = EXIT_USAGE;
            goto done;
        }
        if (!fm || !fs || !manifest_parse(fm, ml, &from_archive)) {
            fprintf(stderr, PROG ": --from: not a readable archive manifest\n");
            rc = EXIT_USAGE;
            goto done;
        }
        if (gw_checkpoint_verify_signature(signer_store, fs, sl, fm, ml, NULL, 0, why,
                                           sizeof why) != GW_OK) {
            printf("BROKEN --from archive: its manifest signature refused: %s\n", why);
            printf("chain verification FAILED: the archive given with --from is not signed by a "
                   "trusted signer\n");
            rc = EXIT_BROKEN;
            goto done;
        }
    }
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
    /* One snapshot for the column probe, the checkpoints and the rows. */
    conn = audit_db_connect(PROG, conninfo, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (!conn) goto done;
    /* The checkpoints first, in the same snapshot as the rows. */
    have_checkpoints = load_checkpoints(conn, &v, from_id ? from_id : 1, &cp_res);
    if (have_checkpoints < 0) goto done;
    int64_t after_seq = 0;
    /* Months detached after their archive (migration 0009): the walk starts where the last
     * retention record's signed archive ends. */
    have_retention = check_retention(conn, &v, signer_store, &anchor_seq, anchor_hash);
    if (have_retention < 0)
        goto done;
    if (from_manifest) {
        printf("starting from the archive of %s given with --from: its signed end is seq %lld\n",
               from_archive.month, (long long)from_archive.to_seq);
        if (have_retention > 0 && (from_archive.to_seq != anchor_seq ||
                                   memcmp(from_archive.last_hash, anchor_hash, HASH_LEN) != 0))
            printf("note: the retention records end at seq %lld, not at this archive's end\n",
                   (long long)anchor_seq);
        anchor_seq = from_archive.to_seq;
        memcpy(anchor_hash, from_archive.last_hash, HASH_LEN);
    }
    if (from_id) {
        if (v.cp_count == 0 || v.cps[0].id != from_id) {
            fprintf(stderr, PROG ": --from: there is no checkpoint %lld\n", (long long)from_id);
            rc = EXIT_USAGE;
            goto done;
        }
        if (have_retention > 0 && v.cps[0].head_seq < anchor_seq) {
            fprintf(stderr,
                    PROG ": --from: checkpoint %lld's head (seq %lld) is in a detached month "
                         "(rows up to seq %lld are archived): use --from ARCHIVE, or no --from\n",
                    (long long)from_id, (long long)v.cps[0].head_seq, (long long)anchor_seq);
            rc = EXIT_USAGE;
            goto done;
        }
        /* The walk starts on checkpoint K's signed head, so K is verified like every other
         * checkpoint (signature, token) before anything is trusted from it. */
        after_seq = v.cps[0].head_seq;
        v.prev_seq = after_seq;
        memcpy(v.prev_hash, v.cps[0].head_row_hash, HASH_LEN);
        v.cps[0].found = true;
        v.cp_next = 1;
    }
    if (!from_id && (have_retention > 0 || from_manifest)) {
        after_seq = anchor_seq;
        v.prev_seq = anchor_seq;
        memcpy(v.prev_hash, anchor_hash, HASH_LEN);
        /* Checkpoints over archived rows: verify-archive checks their heads against the rows;
         * one whose head is the anchor itself must name the anchor's hash. */
        int archived_cps = 0;
        for (int i = 0; i < v.cp_count && v.cps[i].head_seq <= anchor_seq; i++) {
            v.cps[i].found = true;
            archived_cps++;
            if (v.cps[i].head_seq == anchor_seq &&
                memcmp(v.cps[i].head_row_hash, anchor_hash, HASH_LEN) != 0)
                cp_problem(&v, v.cps[i].id,
                           "its signed head differs from the archive's signed "
                           "last row_hash at the same seq");
            v.cp_next = i + 1;
        }
        if (archived_cps)
            printf("checkpoints over archived rows: %d (their heads are checked by "
                   "verify-archive)\n",
                   archived_cps);
        if ((attached_before = rows_before(conn, anchor_seq)) < 0)
            goto done;
        if (attached_before > 0)
            printf("note: %lld attached row(s) at or before seq %lld (logged late, after their "
                   "month's partition) are in the archives; not checked here\n",
                   (long long)attached_before, (long long)anchor_seq);
    }
    check_checkpoints(&v, signer_store, tsa_store, from_id, &unstamped);
    if (!(sql = build_select(conn, after_seq))) goto done;
    v.progress = isatty(2);
    v.started_us = v.last_progress_us = gw_monotonic_us();

    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        audit_db_error(PROG, "reading the rows", PQerrorMessage(conn));
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
        audit_db_error(PROG, "reading the rows", PQerrorMessage(conn));
        goto done;
    }
    res = PQgetResult(conn);
    bool copied = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!copied) audit_db_error(PROG, "reading the rows", PQerrorMessage(conn));
    PQclear(res);
    while ((res = PQgetResult(conn)) != NULL) PQclear(res);
    if (!copied) goto done;
    if (!s.header_done || !s.trailer_seen || s.pos != s.len) {
        fprintf(stderr, PROG ": cannot query the exchange log: malformed COPY data\n");
        goto done;
    }

    if (v.progress) fprintf(stderr, "\r\033[K");
    check_checkpoint_heads(&v);
    char hex[2 * HASH_LEN + 1];
    if (v.expect_head && !v.head_found) {
        char text[200];
        hex_of(v.head_hash, HASH_LEN, hex);
        snprintf(text, sizeof text, "the noted head %lld:%s is not in the chain",
                 (long long)v.head_seq, hex);
        problem(&v, v.head_seq, text);
    }
    /* What the checkpoints cover, said plainly either way. */
    if (have_checkpoints > 0 && v.cp_count > 0) {
        const checkpoint_row *last = &v.cps[v.cp_count - 1];
        printf("checkpoints: %d %s from id %lld to %lld (signatures %s, time-stamps %s); "
               "%lld not yet time-stamped\n",
               v.cp_count, signer_store && tsa_store ? "verified" : "read", (long long)v.cps[0].id,
               (long long)last->id,
               signer_store ? "checked" : "NOT checked: no --trust-signer",
               tsa_store ? "checked" : "NOT checked: no --trust-tsa", (long long)unstamped);
        if (!signer_store)
            printf("WARNING: without --trust-signer the checkpoints prove nothing against "
                   "whoever can write the database\n");
        int64_t uncovered = v.prev_seq > last->head_seq ? v.prev_seq - last->head_seq : 0;
        if (uncovered > 0)
            printf("not yet covered by a checkpoint: the newest %lld row(s), seq %lld..%lld\n",
                   (long long)uncovered, (long long)last->head_seq + 1, (long long)v.prev_seq);
        else
            printf("not yet covered by a checkpoint: none (checkpoint %lld covers the head)\n",
                   (long long)last->id);
    } else if (have_checkpoints > 0) {
        printf("checkpoints: none yet; not covered by a checkpoint: all %lld row(s)\n",
               (long long)v.rows);
    } else {
        printf("checkpoints: no table exchange_checkpoint (migration 0006 not applied)\n");
    }
    {
        double secs = (double)(gw_monotonic_us() - v.started_us) / 1e6;
        printf("verified %lld rows in %.2f s (%.0f rows/s)\n", (long long)v.rows, secs,
               secs > 0 ? (double)v.rows / secs : 0.0);
    }
    if (v.problems > 0) {
        printf("chain verification FAILED: %lld problem(s) in %lld rows\n", (long long)v.problems,
               (long long)v.rows);
        rc = EXIT_BROKEN;
        goto done;
    }
    printf("chain intact: %lld rows (v1=%lld v2=%lld v3=%lld v4=%lld)%s\n", (long long)v.rows,
           (long long)v.versions[1], (long long)v.versions[2], (long long)v.versions[3],
           (long long)v.versions[4],
           from_id              ? " after the checkpoint given with --from"
           : from_manifest      ? " after the archive given with --from"
           : have_retention > 0 ? " after the detached months' archives"
                                : "");
    if (v.rows > 0 || from_id || anchor_seq > 0) {
        hex_of(v.prev_hash, HASH_LEN, hex);
        printf("head: %lld:%s\n", (long long)v.prev_seq, hex);
    } else {
        printf("head: 0:\n");
    }
    rc = EXIT_INTACT;
done:
    free(fm);
    free(fs);
    PQclear(cp_res);
    free(v.cps);
    gw_checkpoint_free_store(signer_store);
    gw_checkpoint_free_store(tsa_store);
    free(sql);
    free(s.data);
    if (conn) PQfinish(conn);
    EVP_MD_CTX_free(v.md);
    return rc;
}
