/* audit_service.c — the built-in audit service "AuditService" (see audit_service.h). */
#include "audit_service.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exchange.h"
#include "log.h"
#include "namespaces.h"
#include "peru_id.h"
#include "runtime.h"
#include "secret_file.h"
#include "xml_parse.h"

static const char *const audit_operations[] = {"buscarIntercambios", "obtenerIntercambio",
                                               "verificarCadena", "consultasPorCiudadano", NULL};

/* ---- pure helpers -------------------------------------------------------------------------- */

int gw_audit_document_ok(const char *type, const char *number)
{
    if (!type || !number)
        return 0;
    if (strcmp(type, "DNI") == 0)
        return gw_is_dni(number);
    if (strcmp(type, "RUC") == 0)
        return gw_is_ruc(number);
    if (strcmp(type, "CE") == 0) {
        size_t n = strlen(number);
        if (n < 9 || n > 12)
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char)number[i]))
                return 0;
        return 1;
    }
    return 0;
}

int gw_audit_page_size(const char *text)
{
    if (!text)
        return GW_AUDIT_PAGE_DEFAULT;
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    if (*text == '+')
        text++;
    long v = 0;
    int digits = 0;
    for (; *text >= '0' && *text <= '9'; text++) {
        if (++digits > 6)
            return -1;
        v = v * 10 + (*text - '0');
    }
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    if (!digits || *text || v < 1 || v > GW_AUDIT_PAGE_MAX)
        return -1;
    return (int)v;
}

static int take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int gw_audit_parse_datetime(const char *text, int64_t *out_us)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!text || !out_us)
        return -1;
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    int y, mo, d, h, mi, s;
    if (take_digits(&p, 4, &y) || *p++ != '-' || take_digits(&p, 2, &mo) || *p++ != '-' ||
        take_digits(&p, 2, &d) || *p++ != 'T' || take_digits(&p, 2, &h) || *p++ != ':' ||
        take_digits(&p, 2, &mi) || *p++ != ':' || take_digits(&p, 2, &s))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 59)
        return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        int64_t scale = 100000;
        for (; *p >= '0' && *p <= '9'; p++, n++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
        if (!n)
            return -1;
    }
    int offset_min = -5 * 60; /* no zone: Lima */
    if (*p == 'Z') {
        offset_min = 0;
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (take_digits(&p, 2, &oh) || *p++ != ':' || take_digits(&p, 2, &om) || oh > 14 ||
            om > 59)
            return -1;
        offset_min = sign * (oh * 60 + om);
    }
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
                   (int64_t)offset_min * 60;
    *out_us = secs * 1000000 + frac;
    return 0;
}

static int64_t be64(const void *p)
{
    const unsigned char *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return (int64_t)v;
}

enum { F_SEQ = 0, F_RESPONSE = 14, F_RESPONSE_SHA256 = 16, F_HASH_VERSION = 31 };

const char *gw_audit_check_row(void *md, const gw_log_field *col, const gw_log_field *prev_hash,
                               const gw_log_field *row_hash, int64_t *prev_seq,
                               unsigned char prev[GW_LOG_HASH_LEN], char *buf, size_t buflen)
{
    const char *problem = NULL;
    if (col[F_SEQ].len != 8)
        return "seq is not a bigint";
    int64_t seq = be64(col[F_SEQ].data);
    int version = -1;
    if (col[F_HASH_VERSION].len == 2) {
        const unsigned char *v = col[F_HASH_VERSION].data;
        version = (int16_t)((unsigned)v[0] << 8 | v[1]);
    }
    int count = gw_log_hash_field_count(version);
    int hashes_ok = prev_hash->len == GW_LOG_HASH_LEN && row_hash->len == GW_LOG_HASH_LEN;
    unsigned char computed[GW_LOG_HASH_LEN];
    if (seq != *prev_seq + 1) {
        snprintf(buf, buflen, "seq gap: previous row is %lld", (long long)*prev_seq);
        problem = buf;
    } else if (!hashes_ok) {
        problem = "prev_hash or row_hash is not 32 bytes";
    } else if (memcmp(prev_hash->data, prev, GW_LOG_HASH_LEN) != 0) {
        problem = "prev_hash differs from the previous row's row_hash";
    } else if (!count) {
        snprintf(buf, buflen, "unknown hash_version %d", version);
        problem = buf;
    } else if ((problem = gw_log_uncovered_fields(version, col, buf, buflen))) {
        /* named */
    } else if (!gw_log_row_hash(md, prev_hash->data, col, count, computed)) {
        problem = "row hash could not be computed";
    } else if (memcmp(computed, row_hash->data, GW_LOG_HASH_LEN) != 0) {
        snprintf(buf, buflen, "row_hash does not match the row's content (v%d)", version);
        problem = buf;
    } else if (col[F_RESPONSE].len >= 0 && col[F_RESPONSE_SHA256].len == GW_LOG_HASH_LEN &&
               col[GW_LOG_FIELD_BODY_ENCRYPTION].len < 0) {
        unsigned char digest[GW_LOG_HASH_LEN];
        unsigned int dl = 0;
        if (!EVP_Digest(col[F_RESPONSE].data, (size_t)col[F_RESPONSE].len, digest, &dl,
                        EVP_sha256(), NULL))
            problem = "response digest could not be computed";
        else if (memcmp(digest, col[F_RESPONSE_SHA256].data, GW_LOG_HASH_LEN) != 0)
            problem = "response differs from its response_sha256 (the response was changed and "
                      "the row's hash recomputed)";
    }
    *prev_seq = seq;
    if (row_hash->len == GW_LOG_HASH_LEN)
        memcpy(prev, row_hash->data, GW_LOG_HASH_LEN);
    else
        memset(prev, 0xff, GW_LOG_HASH_LEN); /* matches no real row's prev_hash */
    return problem;
}

/* ---- the database ---------------------------------------------------------------------------- */

/* One read-only session as the auditor role for this call: connect_timeout bounds the connect,
 * statement_timeout every query; search_path and the time zone are pinned in the startup
 * packet, before any query runs. A new session per call: no state survives a call, and a slow
 * database holds only the worker that asked. */
static pide_result audit_connect(gw_exchange *ex, PGconn **out)
{
    const gw_config *cfg = ex->rt->config;
    char *password = NULL;
    char err[256];
    *out = NULL;
    if (cfg->audit_password_file &&
        gw_read_secret_file(cfg->audit_password_file, &password, err, sizeof err) != GW_OK) {
        gw_log(PIDE_LOG_ERROR, "[%s] audit service: %s", ex->exchange_id, err);
        ex->fault_detail = "the audit database is unavailable";
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    char options[160];
    snprintf(options, sizeof options,
             "-c statement_timeout=%d -c default_transaction_read_only=on "
             "-c search_path=pg_catalog,pg_temp -c TimeZone=America/Lima",
             cfg->audit_statement_timeout_ms);
    const char *keys[] = {"dbname", "application_name", "connect_timeout", "options",
                          "password", NULL};
    const char *values[] = {cfg->audit_conninfo, "pide-gateway-audit", "3", options, password,
                            NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    gw_secret_free(password);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", conn ? PQerrorMessage(conn) : "out of memory");
        msg[strcspn(msg, "\r\n")] = '\0';
        gw_log(PIDE_LOG_ERROR, "[%s] audit service: cannot connect: %s", ex->exchange_id, msg);
        PQfinish(conn);
        ex->fault_detail = "the audit database is unavailable";
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    *out = conn;
    return PIDE_OK;
}

/* The result of one query, or a fault: a statement timeout is Server.Provider.Timeout. */
static pide_result audit_query(gw_exchange *ex, PGconn *conn, const char *sql, int nparams,
                               const char *const *params, int binary, PGresult **out)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, binary);
    if (res && (PQresultStatus(res) == PGRES_TUPLES_OK ||
                PQresultStatus(res) == PGRES_COMMAND_OK)) {
        *out = res;
        return PIDE_OK;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char msg[300];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
    msg[strcspn(msg, "\r\n")] = '\0';
    gw_log(PIDE_LOG_ERROR, "[%s] audit service: query failed (%s): %s", ex->exchange_id,
           state ? state : "-", msg);
    PQclear(res);
    *out = NULL;
    if (state && strcmp(state, "57014") == 0) {
        ex->fault_detail = "the audit query took longer than statementTimeoutMs; narrow it";
        return PIDE_ERR_PROVIDER_TIMEOUT;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        ex->fault_detail = "the audit database is unavailable";
        return PIDE_ERR_PROVIDER_UNAVAILABLE;
    }
    ex->fault_detail = "the audit query failed";
    return PIDE_ERR_INTERNAL;
}

/* ---- requests and answers -------------------------------------------------------------------- */

/* The text of child `name` of the operation element, trimmed, in exchange memory; NULL when
 * absent or empty. */
static const char *field(gw_exchange *ex, const pide_call *call, const char *name)
{
    xmlNodePtr n = gw_xml_child(call->request, name);
    if (!n)
        return NULL;
    xmlChar *t = xmlNodeGetContent(n);
    const char *s = t ? (const char *)t : "";
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    char *out = len ? gw_arena_alloc(&ex->arena, len + 1) : NULL;
    if (out) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    xmlFree(t);
    return out;
}

static pide_result bad_request(gw_exchange *ex, const char *detail)
{
    ex->fault_detail = detail;
    return PIDE_ERR_BAD_REQUEST;
}

/* A non-negative decimal seq (at most 18 digits), or -1. */
static long long parse_seq(const char *s)
{
    if (!s)
        return -1;
    long long v = 0;
    int n = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (++n > 18)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return n && !*s ? v : -1;
}

static void add_text(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
    xmlNewTextChild(parent, ns, BAD_CAST name, BAD_CAST text);
}

/* The summary columns every listing selects, in this order. */
#define SUMMARY_COLUMNS                                                                          \
    "seq::text, exchange_id::text, "                                                             \
    "to_char(t_request_in AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "           \
    "client_member, client_user, auth_method, service, operation, subject_type, subject_id, "    \
    "purpose, procedure, outcome, fault_code, result_code, http_status::text"
static const char *const SUMMARY_NAMES[] = {
    "seq", "exchangeId", "fecha", "miembro", "funcionario", "metodoAutenticacion", "servicio",
    "operacion", "tipoDocumento", "numeroDocumento", "finalidad", "procedimiento", "resultado",
    "codigoFalla", "codigoResultado", "httpStatus", NULL};

static void add_summary(xmlNodePtr parent, xmlNsPtr ns, const char *element, PGresult *res,
                        int row)
{
    xmlNodePtr e = xmlNewChild(parent, ns, BAD_CAST element, NULL);
    for (int c = 0; SUMMARY_NAMES[c]; c++)
        if (!PQgetisnull(res, row, c))
            add_text(e, ns, SUMMARY_NAMES[c], PQgetvalue(res, row, c));
}

/* Rows of a listing page: at most `page`, and siguienteSeq when one more exists. */
static void add_page(xmlNodePtr resp, xmlNsPtr ns, const char *element, PGresult *res, int page)
{
    int rows = PQntuples(res);
    for (int i = 0; i < rows && i < page; i++)
        add_summary(resp, ns, element, res, i);
    if (rows > page)
        add_text(resp, ns, "siguienteSeq", PQgetvalue(res, page - 1, 0));
}

static const char SEARCH_SQL[] =
    "SELECT " SUMMARY_COLUMNS " FROM public.exchange_log "
    "WHERE t_request_in >= $1::timestamptz AND t_request_in < $2::timestamptz "
    "AND ($3::text IS NULL OR client_member = $3::text) "
    "AND ($4::text IS NULL OR service = $4::text) "
    "AND ($5::text IS NULL OR subject_type = $5::text) "
    "AND ($6::text IS NULL OR subject_id = $6::text) "
    "AND ($7::text IS NULL OR outcome = $7::text) "
    "AND seq > $8::bigint ORDER BY seq LIMIT $9::int";

static pide_result check_range(gw_exchange *ex, const char *desde, const char *hasta, int required)
{
    int64_t a = 0, b = 0;
    if ((required && (!desde || !hasta)))
        return bad_request(ex, "desde and hasta are required");
    if (desde && gw_audit_parse_datetime(desde, &a) != 0)
        return bad_request(ex, "desde is not an xs:dateTime");
    if (hasta && gw_audit_parse_datetime(hasta, &b) != 0)
        return bad_request(ex, "hasta is not an xs:dateTime");
    if (desde && hasta && a >= b)
        return bad_request(ex, "inverted time range: desde must be before hasta");
    return PIDE_OK;
}

static pide_result page_args(gw_exchange *ex, const pide_call *call, int *page, char *after,
                             size_t afterlen)
{
    *page = gw_audit_page_size(field(ex, call, "tamanoPagina"));
    if (*page < 0)
        return bad_request(ex, "tamanoPagina must be between 1 and 100");
    const char *a = field(ex, call, "despuesDeSeq");
    long long after_seq = a ? parse_seq(a) : 0;
    if (after_seq < 0)
        return bad_request(ex, "despuesDeSeq must be a non-negative seq");
    snprintf(after, afterlen, "%lld", after_seq);
    return PIDE_OK;
}

static pide_result op_search(gw_exchange *ex, const pide_call *call, PGconn **conn,
                             xmlNodePtr resp, xmlNsPtr ns)
{
    const char *desde = field(ex, call, "desde"), *hasta = field(ex, call, "hasta");
    const char *member = field(ex, call, "miembro"), *service = field(ex, call, "servicio");
    const char *type = field(ex, call, "tipoDocumento");
    const char *number = field(ex, call, "numeroDocumento");
    const char *outcome = field(ex, call, "resultado");
    pide_result r = check_range(ex, desde, hasta, 1);
    if (r != PIDE_OK)
        return r;
    if (member && !gw_is_ruc(member))
        return bad_request(ex, "miembro must be a RUC of 11 digits");
    if (number && !type)
        return bad_request(ex, "numeroDocumento needs tipoDocumento");
    if (type && number && !gw_audit_document_ok(type, number))
        return bad_request(ex, "numeroDocumento is not a valid document of tipoDocumento");
    int page;
    char after[24], limit[16];
    if ((r = page_args(ex, call, &page, after, sizeof after)) != PIDE_OK)
        return r;
    snprintf(limit, sizeof limit, "%d", page + 1);
    const char *params[] = {desde, hasta, member, service, type, number, outcome, after, limit};
    PGresult *res;
    if ((r = audit_connect(ex, conn)) != PIDE_OK ||
        (r = audit_query(ex, *conn, SEARCH_SQL, 9, params, 0, &res)) != PIDE_OK)
        return r;
    add_page(resp, ns, "intercambio", res, page);
    PQclear(res);
    return PIDE_OK;
}

static const char CITIZEN_SQL[] =
    "SELECT " SUMMARY_COLUMNS " FROM public.exchange_log "
    "WHERE subject_type = $1::text AND subject_id = $2::text "
    "AND ($3::timestamptz IS NULL OR t_request_in >= $3::timestamptz) "
    "AND ($4::timestamptz IS NULL OR t_request_in < $4::timestamptz) "
    "AND seq > $5::bigint ORDER BY seq LIMIT $6::int";

static pide_result op_citizen(gw_exchange *ex, const pide_call *call, PGconn **conn,
                              xmlNodePtr resp, xmlNsPtr ns)
{
    const char *type = field(ex, call, "tipoDocumento");
    const char *number = field(ex, call, "numeroDocumento");
    const char *desde = field(ex, call, "desde"), *hasta = field(ex, call, "hasta");
    if (!type || !number || !gw_audit_document_ok(type, number))
        return bad_request(ex, "numeroDocumento is not a valid document of tipoDocumento (DNI: "
                               "8 digits, CE: 9 to 12 letters or digits, RUC: 11 digits)");
    /* The auditor's question is about this citizen: the row says so. */
    ex->subject_type = type;
    ex->subject_id = number;
    pide_result r = check_range(ex, desde, hasta, 0);
    int page;
    char after[24], limit[16];
    if (r != PIDE_OK || (r = page_args(ex, call, &page, after, sizeof after)) != PIDE_OK)
        return r;
    snprintf(limit, sizeof limit, "%d", page + 1);
    const char *params[] = {type, number, desde, hasta, after, limit};
    PGresult *res;
    if ((r = audit_connect(ex, conn)) != PIDE_OK ||
        (r = audit_query(ex, *conn, CITIZEN_SQL, 6, params, 0, &res)) != PIDE_OK)
        return r;
    add_page(resp, ns, "consulta", res, page);
    PQclear(res);
    return PIDE_OK;
}

static const char GET_SQL[] =
    "SELECT " SUMMARY_COLUMNS ", encode(request, 'base64'), encode(response, 'base64'), "
    "encode(request_sha256, 'hex'), encode(response_sha256, 'hex'), encode(prev_hash, 'hex'), "
    "encode(row_hash, 'hex'), hash_version::text, body_encryption "
    "FROM public.exchange_log WHERE exchange_id = $1::uuid ORDER BY seq LIMIT 1";

static int is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static pide_result op_get(gw_exchange *ex, const pide_call *call, PGconn **conn,
                          xmlNodePtr resp, xmlNsPtr ns)
{
    static const char *const names[] = {"solicitud", "respuesta", "solicitudSha256",
                                        "respuestaSha256", "prevHash", "rowHash", "hashVersion",
                                        "cifrado"};
    const char *id = field(ex, call, "exchangeId");
    if (!is_uuid(id))
        return bad_request(ex, "exchangeId is not an exchange id (a UUID)");
    PGresult *res;
    pide_result r;
    if ((r = audit_connect(ex, conn)) != PIDE_OK ||
        (r = audit_query(ex, *conn, GET_SQL, 1, &id, 0, &res)) != PIDE_OK)
        return r;
    if (PQntuples(res) == 0) {
        PQclear(res);
        ex->fault_detail = gw_arena_printf(&ex->arena, "no exchange %s in the log", id);
        return PIDE_ERR_BAD_REQUEST;
    }
    add_summary(resp, ns, "intercambio", res, 0);
    int first = (int)(sizeof SUMMARY_NAMES / sizeof *SUMMARY_NAMES) - 1;
    /* cifrado: the bodies are the stored CMS ciphertext (body_encryption, 0008). */
    for (int i = 0; i < 8; i++)
        if (!PQgetisnull(res, 0, first + i))
            add_text(resp, ns, names[i], PQgetvalue(res, 0, first + i));
    PQclear(res);
    return PIDE_OK;
}

/* ---- verificarCadena --------------------------------------------------------------------------- */

static const char VERIFY_SQL_HEAD[] = "SELECT ";
static const char VERIFY_SQL_TAIL[] =
    ", prev_hash, row_hash FROM public.exchange_log "
    "WHERE seq >= $1::bigint AND seq <= $2::bigint ORDER BY seq LIMIT $3::int";
static const char CHECKPOINT_SQL[] =
    "SELECT head_seq, head_row_hash, id FROM public.exchange_checkpoint "
    "WHERE head_seq >= $1::bigint AND head_seq <= $2::bigint ORDER BY head_seq, id LIMIT 10000";

/* The retention records (migration 0009), oldest first. The service checks what it can without
 * the archives: numbered 1, 2, 3..., each continuing the one before from seq 0 and the zero
 * hash, as many rows as its range. The manifest's signature is checked by `pide-audit verify
 * --trust-signer` (docs/auditor-guide.md, "Verifying after a detach"), not here. */
static const char RETENTION_PRESENT_SQL[] =
    "SELECT pg_catalog.to_regclass('public.exchange_retention') IS NOT NULL";
static const char RETENTION_SQL[] =
    "SELECT id, after_seq, last_seq, row_count, prev_hash, last_row_hash, month, archive_file, "
    "archive_sha256 FROM public.exchange_retention ORDER BY id LIMIT 10000";

/* A text column anyone who can write the database may have filled, for an answer: at most
 * outlen - 4 bytes ("..." after a cut, never inside a character), control characters (not XML
 * 1.0 text) as '?'. */
static const char *printable(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *in && n + 4 < outlen; in++, n++)
        out[n] = (unsigned char)*in < 0x20 || *in == 0x7f ? '?' : *in;
    /* Not inside a UTF-8 sequence (the database's text is UTF-8). */
    while (*in && n > 0 && ((unsigned char)*in & 0xc0) == 0x80)
        in--, n--;
    if (*in)
        memcpy(out + n, "...", 3), n += 3;
    out[n] = '\0';
    return out;
}

static void add_problem(xmlNodePtr list_parent, xmlNsPtr ns, long long *problems, int64_t seq,
                        const char *text)
{
    (*problems)++;
    if (*problems > GW_AUDIT_MAX_PROBLEMS)
        return;
    xmlNodePtr p = xmlNewNode(ns, BAD_CAST "problema");
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)seq);
    xmlNewTextChild(p, ns, BAD_CAST "seq", BAD_CAST s);
    xmlNewTextChild(p, ns, BAD_CAST "descripcion", BAD_CAST text);
    xmlAddChild(list_parent, p);
}

/* One streamed row's row_hash (binary), or NULL. */
static const void *row_hash_of(PGresult *row, int *len)
{
    *len = PQgetisnull(row, 0, GW_LOG_FIELD_COUNT + 1) ? -1
                                                       : PQgetlength(row, 0, GW_LOG_FIELD_COUNT + 1);
    return PQgetvalue(row, 0, GW_LOG_FIELD_COUNT + 1);
}

static pide_result op_verify(gw_exchange *ex, const pide_call *call, PGconn **conn,
                             xmlNodePtr resp, xmlNsPtr ns)
{
    const char *d = field(ex, call, "desdeSeq"), *h = field(ex, call, "hastaSeq");
    long long from = d ? parse_seq(d) : 1, to = h ? parse_seq(h) : 999999999999999999LL;
    if (from < 1)
        return bad_request(ex, "desdeSeq must be a seq of 1 or more");
    if (to < 1)
        return bad_request(ex, "hastaSeq must be a seq of 1 or more");
    if (from > to)
        return bad_request(ex, "inverted seq range: desdeSeq must not be after hastaSeq");

    char sql[1024];
    size_t at = (size_t)snprintf(sql, sizeof sql, "%s", VERIFY_SQL_HEAD);
    for (int i = 0; i < GW_LOG_FIELD_COUNT; i++)
        at += (size_t)snprintf(sql + at, sizeof sql - at, "%s%s", i ? ", " : "",
                               GW_LOG_FIELD_NAMES[i]);
    snprintf(sql + at, sizeof sql - at, "%s", VERIFY_SQL_TAIL);

    /* The row before the range anchors the chain: its row_hash is the first prev_hash. One
     * snapshot for rows and checkpoints; rows are streamed (single-row mode), so memory holds
     * one row whatever the bodies' sizes. */
    char p_from[24], p_to[24], p_limit[16], c_from[24];
    snprintf(p_from, sizeof p_from, "%lld", from > 1 ? from - 1 : 1);
    snprintf(p_to, sizeof p_to, "%lld", to);
    snprintf(p_limit, sizeof p_limit, "%d", GW_AUDIT_VERIFY_MAX_ROWS + 2);
    snprintf(c_from, sizeof c_from, "%lld", from);
    long long from_walk = from;
    const char *params[] = {p_from, p_to, p_limit};
    const char *cp_params[] = {c_from, p_to};
    PGresult *res = NULL, *cps = NULL;
    pide_result r;
    if ((r = audit_connect(ex, conn)) != PIDE_OK ||
        (r = audit_query(ex, *conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, 0,
                         &res)) != PIDE_OK)
        return r;
    PQclear(res);

    /* Detached months (0009): the chain continues from the last retention record's end. */
    xmlNodePtr holder = xmlNewNode(ns, BAD_CAST "holder"),
               archived = xmlNewNode(ns, BAD_CAST "archived");
    long long problems = 0;
    char buf[300];
    int64_t anchor_seq = 0;
    unsigned char anchor_hash[GW_LOG_HASH_LEN] = {0};
    int anchored = 0;
    if (!holder || !archived) {
        xmlFreeNode(holder);
        xmlFreeNode(archived);
        return PIDE_ERR_NOMEM;
    }
    if ((r = audit_query(ex, *conn, RETENTION_PRESENT_SQL, 0, NULL, 0, &res)) != PIDE_OK)
        goto fail;
    int present = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (present) {
        if ((r = audit_query(ex, *conn, RETENTION_SQL, 0, NULL, 1, &res)) != PIDE_OK)
            goto fail;
        for (int i = 0; i < PQntuples(res); i++) {
            int64_t id = be64(PQgetvalue(res, i, 0)), after = be64(PQgetvalue(res, i, 1));
            int64_t rlast = be64(PQgetvalue(res, i, 2)), count = be64(PQgetvalue(res, i, 3));
            const char *bad = NULL;
            if (id != i + 1)
                bad = "retention records must be numbered 1, 2, 3... without gaps";
            else if (PQgetlength(res, i, 4) != GW_LOG_HASH_LEN ||
                     PQgetlength(res, i, 5) != GW_LOG_HASH_LEN)
                bad = "its prev_hash or last_row_hash is not 32 bytes";
            else if (after != anchor_seq ||
                     memcmp(PQgetvalue(res, i, 4), anchor_hash, GW_LOG_HASH_LEN) != 0)
                bad = "it does not start where the records before it end (seq 0 and the zero "
                      "hash for the first): rows were removed without an archive, or a record "
                      "is forged";
            else if (rlast < after || count != rlast - after)
                bad = "its row_count is not the size of its seq range";
            if (bad) {
                /* Trust stops here: the rows after the last sound record are walked as usual. */
                snprintf(buf, sizeof buf, "retention record %lld: %s", (long long)id, bad);
                add_problem(holder, ns, &problems, after + 1, buf);
                break;
            }
            anchor_seq = rlast;
            memcpy(anchor_hash, PQgetvalue(res, i, 5), GW_LOG_HASH_LEN);
            if (count > 0 && after + 1 <= to && rlast >= from) {
                xmlNodePtr a = xmlNewChild(archived, ns, BAD_CAST "archivado", NULL);
                char s1[24], s2[24], file[160], note[400];
                printable(PQgetvalue(res, i, 7), file, sizeof file);
                snprintf(s1, sizeof s1, "%lld", (long long)(after + 1 > from ? after + 1 : from));
                snprintf(s2, sizeof s2, "%lld", (long long)(rlast < to ? rlast : to));
                add_text(a, ns, "desdeSeq", s1);
                add_text(a, ns, "hastaSeq", s2);
                add_text(a, ns, "mes", PQgetvalue(res, i, 6));
                add_text(a, ns, "archivo", file);
                add_text(a, ns, "archivoSha256", PQgetvalue(res, i, 8));
                snprintf(note, sizeof note,
                         "rows %s..%s are no longer in the database: they are in archive %s "
                         "(month %.7s); check them with pide-audit verify-archive",
                         s1, s2, file, PQgetvalue(res, i, 6));
                add_text(a, ns, "nota", note);
            }
        }
        PQclear(res);
        anchored = anchor_seq > 0 && from <= anchor_seq + 1;
    }
    /* Anchored: the walk starts after the archives, their last_row_hash is its first prev_hash
     * (rows at or before the anchor still attached, a month's stragglers, are the archive's). */
    if (anchored) {
        from_walk = anchor_seq + 1;
        snprintf(p_from, sizeof p_from, "%lld", (long long)from_walk);
        snprintf(c_from, sizeof c_from, "%lld", (long long)anchor_seq);
    }
    if ((r = audit_query(ex, *conn, CHECKPOINT_SQL, 2, cp_params, 1, &cps)) != PIDE_OK)
        goto fail;
    if (!PQsendQueryParams(*conn, sql, 3, NULL, params, NULL, NULL, 1) ||
        !PQsetSingleRowMode(*conn)) {
        PQclear(cps);
        ex->fault_detail = "the audit database is unavailable";
        r = PIDE_ERR_PROVIDER_UNAVAILABLE;
        goto fail;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    long long rows = 0, checkpoints = 0;
    int64_t prev_seq = from_walk - 1, last = from_walk - 1;
    unsigned char prev[GW_LOG_HASH_LEN] = {0};
    int first = !anchored, complete = 1, cp = 0, ncp = PQntuples(cps);
    pide_result failed = md ? PIDE_OK : PIDE_ERR_NOMEM;
    if (anchored) {
        memcpy(prev, anchor_hash, GW_LOG_HASH_LEN);
        /* A checkpoint whose head is the anchor must name the anchor's hash. */
        for (; cp < ncp && be64(PQgetvalue(cps, cp, 0)) <= anchor_seq; cp++) {
            checkpoints++;
            if (memcmp(PQgetvalue(cps, cp, 1), anchor_hash, GW_LOG_HASH_LEN) != 0) {
                snprintf(buf, sizeof buf,
                         "checkpoint %lld signed a row_hash for seq %lld other than the last "
                         "retention record's last_row_hash: the record or the archive is not "
                         "the one the log had",
                         (long long)be64(PQgetvalue(cps, cp, 2)), (long long)anchor_seq);
                add_problem(holder, ns, &problems, anchor_seq, buf);
            }
        }
    }
    while ((res = PQgetResult(*conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK) { /* the end of the rows */
            PQclear(res);
            continue;
        }
        if (st != PGRES_SINGLE_TUPLE) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            if (failed == PIDE_OK) {
                failed = state && strcmp(state, "57014") == 0 ? PIDE_ERR_PROVIDER_TIMEOUT
                                                               : PIDE_ERR_PROVIDER_UNAVAILABLE;
                ex->fault_detail = failed == PIDE_ERR_PROVIDER_TIMEOUT
                                       ? "the audit query took longer than statementTimeoutMs; "
                                         "narrow it"
                                       : "the audit query failed";
            }
            PQclear(res);
            continue;
        }
        if (failed != PIDE_OK || PQgetlength(res, 0, 0) != 8) {
            PQclear(res);
            continue;
        }
        int64_t seq = be64(PQgetvalue(res, 0, 0));
        int rh_len;
        const void *rh_data = row_hash_of(res, &rh_len);
        if (first && from_walk > 1) {
            first = 0;
            if (seq == from - 1 && rh_len == GW_LOG_HASH_LEN) {
                memcpy(prev, rh_data, GW_LOG_HASH_LEN);
                PQclear(res);
                continue;
            }
            memset(prev, 0xff, GW_LOG_HASH_LEN);
            snprintf(buf, sizeof buf, "the row before the range (seq %lld) is missing", from - 1);
            add_problem(holder, ns, &problems, from, buf);
            prev_seq = seq - 1;
        }
        first = 0;
        if (rows >= GW_AUDIT_VERIFY_MAX_ROWS) {
            complete = 0; /* one more row exists: the caller goes on from siguienteSeq */
            PQclear(res);
            continue;
        }
        gw_log_field col[GW_LOG_FIELD_COUNT], ph, rh = {rh_data, rh_len};
        for (int c = 0; c < GW_LOG_FIELD_COUNT; c++) {
            col[c].data = PQgetvalue(res, 0, c);
            col[c].len = PQgetisnull(res, 0, c) ? -1 : PQgetlength(res, 0, c);
        }
        ph.data = PQgetvalue(res, 0, GW_LOG_FIELD_COUNT);
        ph.len = PQgetisnull(res, 0, GW_LOG_FIELD_COUNT) ? -1
                                                         : PQgetlength(res, 0, GW_LOG_FIELD_COUNT);
        const char *p = gw_audit_check_row(md, col, &ph, &rh, &prev_seq, prev, buf, sizeof buf);
        if (p)
            add_problem(holder, ns, &problems, seq, p);
        /* A checkpoint naming this seq must still carry the row_hash the row carries. */
        while (cp < ncp && be64(PQgetvalue(cps, cp, 0)) < seq)
            cp++;
        for (; cp < ncp && be64(PQgetvalue(cps, cp, 0)) == seq; cp++) {
            checkpoints++;
            if (rh_len != GW_LOG_HASH_LEN ||
                memcmp(rh_data, PQgetvalue(cps, cp, 1), GW_LOG_HASH_LEN) != 0) {
                snprintf(buf, sizeof buf,
                         "row_hash differs from the one checkpoint %lld signed: a row up to seq "
                         "%lld was changed, removed or reordered (and later hashes recomputed)",
                         (long long)be64(PQgetvalue(cps, cp, 2)), (long long)seq);
                add_problem(holder, ns, &problems, seq, buf);
            }
        }
        rows++;
        last = seq;
        PQclear(res);
    }
    EVP_MD_CTX_free(md);
    PQclear(cps);
    if (failed != PIDE_OK) {
        r = failed;
        goto fail;
    }
    if (anchored && to < from_walk)
        last = to; /* the whole range is archived: nothing attached to walk */

    char s[24];
    snprintf(s, sizeof s, "%lld", from);
    add_text(resp, ns, "desdeSeq", s);
    snprintf(s, sizeof s, "%lld", (long long)last);
    add_text(resp, ns, "ultimoSeq", s);
    snprintf(s, sizeof s, "%lld", rows);
    add_text(resp, ns, "filas", s);
    add_text(resp, ns, "completo", complete ? "true" : "false");
    if (!complete) {
        snprintf(s, sizeof s, "%lld", (long long)last + 1);
        add_text(resp, ns, "siguienteSeq", s);
    }
    snprintf(s, sizeof s, "%lld", checkpoints);
    add_text(resp, ns, "checkpoints", s);
    while (archived->children) {
        xmlNodePtr c = archived->children;
        xmlUnlinkNode(c);
        xmlAddChild(resp, c);
    }
    if (anchored) {
        char hex[2 * GW_LOG_HASH_LEN + 1];
        for (int i = 0; i < GW_LOG_HASH_LEN; i++)
            snprintf(hex + 2 * i, 3, "%02x", anchor_hash[i]);
        snprintf(s, sizeof s, "%lld", (long long)anchor_seq);
        add_text(resp, ns, "anclaSeq", s);
        add_text(resp, ns, "anclaHash", hex);
        add_text(resp, ns, "anclaNota",
                 "the walk starts at the last retention record's last_row_hash; this service "
                 "checks that the records chain, not their archive manifests' signatures: "
                 "pide-audit verify --trust-signer does");
    }
    snprintf(s, sizeof s, "%lld", problems);
    add_text(resp, ns, "problemas", s);
    while (holder->children) {
        xmlNodePtr c = holder->children;
        xmlUnlinkNode(c);
        xmlAddChild(resp, c);
    }
    r = PIDE_OK;
fail:
    xmlFreeNode(holder);
    xmlFreeNode(archived);
    return r;
}

/* ---- the adapter ------------------------------------------------------------------------------- */

static pide_result audit_init(const pide_host_api *host, const pide_service_config *cfg,
                              void **instance)
{
    (void)host; (void)cfg; (void)instance;
    return PIDE_OK;
}

static pide_result audit_handle(void *instance, pide_exchange *ex, const pide_call *call)
{
    (void)instance;
    char name[64];
    snprintf(name, sizeof name, "%sResponse", call->operation);
    xmlNodePtr resp = xmlNewChild(call->response_body, NULL, BAD_CAST name, NULL);
    xmlNsPtr ns = xmlNewNs(resp, BAD_CAST GW_AUDIT_NS, BAD_CAST "a");
    xmlSetNs(resp, ns);
    PGconn *conn = NULL;
    pide_result r;
    if (strcmp(call->operation, "buscarIntercambios") == 0)
        r = op_search(ex, call, &conn, resp, ns);
    else if (strcmp(call->operation, "obtenerIntercambio") == 0)
        r = op_get(ex, call, &conn, resp, ns);
    else if (strcmp(call->operation, "verificarCadena") == 0)
        r = op_verify(ex, call, &conn, resp, ns);
    else if (strcmp(call->operation, "consultasPorCiudadano") == 0)
        r = op_citizen(ex, call, &conn, resp, ns);
    else
        r = bad_request(ex, "unknown operation");
    PQfinish(conn);
    return r;
}

static const pide_adapter audit_adapter = {
    PIDE_ADAPTER_HEADER,
    .name = "builtin-audit",
    .version = PIDE_GATEWAY_VERSION,
    .operations = audit_operations,
    .init = audit_init,
    .handle = audit_handle,
    .fini = NULL,
};

const pide_adapter *gw_audit_service_adapter(void) { return &audit_adapter; }

static void audit_paths(const gw_config *cfg, const char **wsdl_path, const char **schema_path)
{
    *wsdl_path = cfg->audit_wsdl_path;
    *schema_path = cfg->audit_schema_path;
}

static void audit_grants(const gw_config *cfg, const gw_grant **grants, size_t *count)
{
    *grants = cfg->audit_grants;
    *count = cfg->audit_grant_count;
}

const gw_builtin_service gw_audit_service_builtin = {
    .name = GW_AUDIT_SERVICE_NAME,
    .what = "the audit service",
    .adapter = gw_audit_service_adapter,
    .paths = audit_paths,
    .granted_to_all = 0,
    .grants = audit_grants,
};
