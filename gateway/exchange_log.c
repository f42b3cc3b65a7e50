/*
 * exchange_log.c — the exchange log writer: a queue that worker threads block on, and one
 * writer thread that commits everything waiting in one transaction (group commit), assigning
 * each row its gapless seq and its link in the SHA-256 chain. The canonical row encoding and
 * the chain are specified in docs/exchange-log.md; the C definition (gw_log_row_hash) is shared
 * with the out-of-database verifier tools/pide_audit_verify.c, the SQL twin is
 * exchange_log_row_hash() in sql/migrations/0008_body_encryption.sql. Keep them in step. The
 * writer always writes hash version 4; version 1, 2 and 3 rows (written before migrations 0002,
 * 0003 and 0008) are only ever read by verifiers. The writer remembers the newest row it knows
 * to be in the chain and stops for good (every exchange refused) if the database's head is ever
 * behind it; every session pins search_path and names objects by schema (docs/security.md). With
 * the spool on, commit_batch_spooled and the replayer thread ("the spool" below) take over the
 * writer's batches; with it off the writer's path is the one above, unchanged.
 */
#include "exchange_log.h"

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "spool.h"

#include <errno.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_BATCH_MAX 256
#define DEFAULT_COMMIT_TIMEOUT_MS 5000
#define DEFAULT_SWITCH_AFTER_MS 1000
#define REPLAY_STATEMENT_TIMEOUT_MS 30000
#define HASH_LEN 32
#define UUID_LEN 16
/* Seconds from 1970-01-01 to 2000-01-01, PostgreSQL's binary timestamp epoch. */
#define PG_EPOCH_OFFSET_US (INT64_C(946684800) * 1000000)
/* bytea and text values are limited to 1 GB by PostgreSQL. */
#define MAX_VALUE_LEN ((size_t)1 << 30)
#define RETRY_PAUSE_MIN_MS 50
#define RETRY_PAUSE_MAX_MS 1000
/* The row encoding this writer produces (column hash_version, docs/exchange-log.md). */
#define HASH_VERSION 4

/* Every writer — other gateway processes on the same database included — extends the chain
 * under this transaction-scoped advisory lock ("pide_log" as a big-endian int8), so seq stays
 * gapless and in commit order (docs/exchange-log.md). */
#define CHAIN_LOCK_SQL "SELECT pg_catalog.pg_advisory_xact_lock(8100115791357964135)"
#define CHAIN_HEAD_SQL "SELECT seq, row_hash FROM public.exchange_log ORDER BY seq DESC LIMIT 1"
/* Every statement names its objects by schema, and every session (and every batch, in case a
 * reconnect lost the session setting) pins search_path first: the database owner may have set
 * another one on the database or role, with look-alike objects in it (docs/security.md). */
#define BATCH_BEGIN_SQL                                                                        \
    "BEGIN; SET LOCAL search_path = pg_catalog, pg_temp; " CHAIN_LOCK_SQL
/* COPY data goes out in pieces of at most this size: one CopyData message must stay far below
 * the server's 1 GB message limit and PQputCopyData takes an int. */
#define COPY_CHUNK_BYTES ((size_t)1 << 20)

/* The hashed fields of hash version 4, in canonical order (table order); COPY also sends
 * prev_hash and row_hash after them. */
enum row_field {
    F_SEQ, F_EXCHANGE_ID, F_CLIENT_MEMBER, F_CLIENT_USER, F_AUTH_METHOD, F_CLIENT_ADDRESS,
    F_SERVICE, F_OPERATION, F_ADAPTER, F_SUBJECT_TYPE, F_SUBJECT_ID, F_PURPOSE, F_PROCEDURE,
    F_REQUEST, F_RESPONSE, F_REQUEST_SHA256, F_RESPONSE_SHA256, F_SIGNATURE_VALUE,
    F_T_REQUEST_IN, F_T_PROVIDER_OUT, F_T_PROVIDER_IN, F_T_RESPONSE_OUT, F_OUTCOME,
    F_FAULT_CODE, F_FAULT_MESSAGE, F_RESULT_CODE, F_HTTP_STATUS,
    F_CALLER_HOST, F_CALLER_IP, F_CALLER_USER, F_CALLER_MAC, F_HASH_VERSION,
    F_CLIENT_SUBSYSTEM, F_CLIENT_CERT_SHA256, F_MESSAGE_ID, F_REQUEST_SIGNATURE_VALUE,
    F_TRACE_ID, F_TRACE_PARENT_ID, F_BODY_ENCRYPTION, /* version 4 (0007, 0008) */
    ROW_FIELD_COUNT
};
/* COPY sends the hashed fields, then prev_hash and row_hash. */
#define COPY_COLUMN_COUNT (ROW_FIELD_COUNT + 2)
_Static_assert(ROW_FIELD_COUNT == GW_LOG_FIELD_COUNT, "the canonical field list");
_Static_assert(HASH_LEN == GW_LOG_HASH_LEN && HASH_VERSION == GW_LOG_HASH_VERSION_CURRENT,
               "exchange_log.h");

const char *const GW_LOG_FIELD_NAMES[GW_LOG_FIELD_COUNT] = {
    "seq", "exchange_id", "client_member", "client_user", "auth_method", "client_address",
    "service", "operation", "adapter", "subject_type", "subject_id", "purpose", "procedure",
    "request", "response", "request_sha256", "response_sha256", "signature_value",
    "t_request_in", "t_provider_out", "t_provider_in", "t_response_out", "outcome",
    "fault_code", "fault_message", "result_code", "http_status",
    "caller_host", "caller_ip", "caller_user", "caller_mac", "hash_version",
    "client_subsystem", "client_cert_sha256", "message_id", "request_signature_value",
    "trace_id", "trace_parent_id", "body_encryption"};

static const char COPY_SQL[] =
    "COPY public.exchange_log (seq, exchange_id, client_member, client_user, auth_method, "
    "client_address, service, operation, adapter, subject_type, subject_id, purpose, procedure, "
    "request, response, request_sha256, response_sha256, signature_value, t_request_in, "
    "t_provider_out, t_provider_in, t_response_out, outcome, fault_code, fault_message, "
    "result_code, http_status, caller_host, caller_ip, caller_user, caller_mac, hash_version, "
    "client_subsystem, client_cert_sha256, message_id, request_signature_value, "
    "trace_id, trace_parent_id, body_encryption, prev_hash, row_hash) FROM STDIN (FORMAT binary)";

static const unsigned char COPY_SIGNATURE[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r',
                                                 '\n', '\0'};

/* ENTRY_REFUSED: the writer will not write it (the chain head went backwards). */
enum entry_state { ENTRY_QUEUED, ENTRY_IN_FLIGHT, ENTRY_COMMITTED, ENTRY_REFUSED };

/* One record waiting for its commit. The record's strings and blobs live in the same
 * allocation, right after the struct. */
typedef struct log_entry {
    struct log_entry *next;
    pthread_cond_t done;
    enum entry_state state;
    bool abandoned; /* the waiter timed out; the writer frees the entry when done with it */
    /* Submitted without a waiting caller (gw_exchange_log_submit): the notifier thread waits for
     * it instead, until `deadline`, and reports the outcome to notify(notify_arg, status). */
    exchange_log_notify_fn notify;
    void *notify_arg;
    struct timespec deadline;
    struct log_entry *async_next;
    unsigned char exchange_uuid[UUID_LEN];
    gw_log_record rec;
} log_entry;

/* A column value in PostgreSQL binary form; len -1 is SQL NULL. */
typedef gw_log_field field_value;

typedef struct row_values {
    field_value field[ROW_FIELD_COUNT];
    unsigned char numbers[8 * 5 + 4 + 2]; /* seq, 4 timestamps, http_status, hash_version */
} row_values;

typedef struct byte_buffer {
    unsigned char *data;
    size_t len, cap;
    bool failed;
} byte_buffer;

struct exchange_log {
    PGconn *conn;
    int batch_max;
    int commit_timeout_ms;

    pthread_mutex_t lock;
    pthread_cond_t work;           /* the writer waits here for entries or stop */
    pthread_condattr_t mono_attr;  /* entry conditions time out on CLOCK_MONOTONIC */
    log_entry *queue_head, *queue_tail;
    bool stopping;
    pthread_t writer;
    /* Submitted entries whose outcome the notifier thread still has to report. */
    pthread_cond_t settled;        /* the writer settled entries, or one was submitted */
    log_entry *async_head;
    bool notifier_stopping;
    bool notifier_started;
    pthread_t notifier;

    /* Writer-thread only. */
    log_entry **batch;
    byte_buffer copy_data;
    EVP_MD_CTX *md;
    bool failing; /* last attempt failed: report the recovery */
    /* The newest (seq, row_hash) this writer knows to be in the chain: what it committed last,
     * or a later head it saw (another gateway's rows) whose row at known_seq still held
     * known_hash. The database's head must never be behind it. */
    int64_t known_seq;
    unsigned char known_hash[HASH_LEN];
    /* Started with the spool on while PostgreSQL was unreachable (docs/reliability.md,
     * "Start-up during an outage"): no head known yet (the first one read, under the chain
     * lock, becomes known_*), and the schema and INSERT checks of gw_exchange_log_open are
     * still to be made before the database takes a row. Owned like conn and known_* (the
     * replayer while `spooling`, the writer otherwise). */
    bool head_unknown;
    bool db_unchecked;

    /* Under lock: set once the chain was found to go backwards; from then on every append is
     * refused (Server.LogUnavailable) and nothing more is written until a restart. */
    bool chain_broken;
    /* Under lock: new rows refused while set (gw_exchange_log_hold). */
    bool held;
    /* The commit hook (exchange_log_options.on_commit). */
    void (*on_commit)(void *arg, int64_t seq, const unsigned char row_hash[32]);
    void *on_commit_arg;
    /* BEGIN of every batch: BATCH_BEGIN_SQL, or with the spool on, SPOOL_BEGIN_SQL bounded by
     * switch_after_ms. */
    const char *begin_sql;
    char spool_begin_sql[320];
    /* The replayer's BEGIN: no caller waits for it, so it may wait REPLAY_STATEMENT_TIMEOUT_MS
     * (a large batch, a lock held long); it must not stop a slow database from ever draining
     * the spool. */
    char replay_begin_sql[320];

    /* The spool (NULL: off; nothing below is used). mode_lock orders the writer's choice
     * "database or spool" and its append against the replayer's switch back: the writer holds
     * it for a whole batch, the replayer to find the spool empty and clear `spooling`. While
     * `spooling`, only the replayer uses conn, md, copy_data and known_*; otherwise only the
     * writer. */
    gw_spool *spool;
    int switch_after_ms;
    pthread_mutex_t mode_lock;
    pthread_cond_t replay_wake; /* with mode_lock: spooling began, or stop */
    atomic_bool spooling;       /* written under mode_lock; /readyz reads it without */
    bool replay_stopping;       /* under mode_lock */
    atomic_bool replay_stopped; /* a corrupt record (or a failed offset write) stopped it */
    bool replayer_started;
    pthread_t replayer;
    byte_buffer spool_payload; /* writer: the serialized batch, its records' places */
    size_t *spool_off, *spool_len;
    const unsigned char **spool_data;
    log_entry **replay_batch; /* replayer: decoded records, and those left after dedupe */
    log_entry **replay_keep;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void put_be16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v; }

static void put_be32(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

static void buffer_append(byte_buffer *b, const void *data, size_t len)
{
    if (b->failed) return;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + len) cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void buffer_append_be16(byte_buffer *b, uint16_t v)
{
    unsigned char p[2];
    put_be16(p, v);
    buffer_append(b, p, sizeof p);
}

static void buffer_append_be32(byte_buffer *b, uint32_t v)
{
    unsigned char p[4];
    put_be32(p, v);
    buffer_append(b, p, sizeof p);
}

/* libpq messages span lines (with tabs); an operational log line must not. */
static void copy_error(char *err, size_t errlen, const char *prefix, const char *detail)
{
    if (!err || errlen == 0) return;
    int n = snprintf(err, errlen, "%s: ", prefix);
    size_t at = n < 0 ? 0 : (size_t)n;
    bool space = true;
    for (const char *p = detail; *p && at + 1 < errlen; p++) {
        bool blank = *p == '\n' || *p == '\t' || *p == ' ';
        if (blank && space) continue;
        err[at++] = blank ? ' ' : *p;
        space = blank;
    }
    while (at > 0 && err[at - 1] == ' ') at--;
    if (at < errlen) err[at] = '\0';
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* ---- validation and the deep copy ------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p, 0 when it is not one. */
static int utf8_sequence_len(const unsigned char *p)
{
    if (*p < 0x80) return 1;
    int extra;
    uint32_t cp;
    if ((*p & 0xe0) == 0xc0) { extra = 1; cp = *p & 0x1f; }
    else if ((*p & 0xf0) == 0xe0) { extra = 2; cp = *p & 0x0f; }
    else if ((*p & 0xf8) == 0xf0) { extra = 3; cp = *p & 0x07; }
    else return 0;
    for (int i = 1; i <= extra; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    static const uint32_t smallest[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < smallest[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return extra + 1;
}

static const char REPLACEMENT_CHAR[3] = {(char)0xef, (char)0xbf, (char)0xbd}; /* U+FFFD */

/* PostgreSQL refuses text that is not UTF-8, and one such row would fail its whole batch; but
 * such bytes come from callers (headers, quoted input in fault messages), and refusing the row
 * would turn a client's bad bytes into Server.LogUnavailable. Each invalid byte is therefore
 * stored as U+FFFD. With dst NULL, only measures. Returns the length written (no NUL). */
static size_t utf8_sanitize(const char *s, char *dst)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        int len = utf8_sequence_len(p);
        const char *src = len ? (const char *)p : REPLACEMENT_CHAR;
        size_t out = len ? (size_t)len : sizeof REPLACEMENT_CHAR;
        if (dst) memcpy(dst + n, src, out);
        n += out;
        p += len ? len : 1;
    }
    return n;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Accepts the canonical 8-4-4-4-12 form only, in either case. */
static bool parse_uuid(const char *text, unsigned char out[UUID_LEN])
{
    if (!text || strlen(text) != 36) return false;
    int n = 0;
    for (int i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i++] != '-') return false;
            continue;
        }
        int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[n++] = (unsigned char)(hi << 4 | lo);
        i += 2;
    }
    return true;
}

#define RECORD_STRINGS(X)                                                                      \
    X(exchange_id) X(client_member) X(client_user) X(auth_method) X(client_address) X(service) \
    X(operation) X(adapter) X(subject_type) X(subject_id) X(purpose) X(procedure)              \
    X(signature_value) X(outcome) X(fault_code) X(fault_message) X(result_code)                \
    X(caller_host) X(caller_ip) X(caller_user) X(caller_mac) X(client_subsystem)                \
    X(client_cert_sha256) X(message_id) X(request_signature_value) X(trace_id)                 \
    X(trace_parent_id) X(body_encryption)

gw_status gw_log_record_size_check(const gw_log_record *rec)
{
    if (!rec) return GW_ERR_INVALID_ARG;
    /* Each operand is bounded first, so the sum cannot wrap. */
    if (rec->request_len >= MAX_VALUE_LEN || rec->response_len >= MAX_VALUE_LEN)
        return GW_ERR_INVALID_ARG;
    size_t total = rec->request_len + rec->response_len;
    /* Text may grow threefold when invalid UTF-8 bytes become U+FFFD (utf8_sanitize); each
     * value also costs its 4-byte length in the COPY row. */
#define ADD_TEXT(name)                                                            \
    if (rec->name) {                                                              \
        size_t n = strlen(rec->name);                                             \
        if (n >= MAX_VALUE_LEN / 3) return GW_ERR_INVALID_ARG;                    \
        total += 3 * n + 4;                                                       \
        if (total > GW_LOG_MAX_ROW_BYTES) return GW_ERR_INVALID_ARG;              \
    }
    RECORD_STRINGS(ADD_TEXT)
#undef ADD_TEXT
    return total <= GW_LOG_MAX_ROW_BYTES ? GW_OK : GW_ERR_INVALID_ARG;
}

static gw_status validate_record(const gw_log_record *rec, unsigned char uuid[UUID_LEN])
{
    if (!parse_uuid(rec->exchange_id, uuid)) return GW_ERR_INVALID_ARG;
    if (!rec->outcome || (strcmp(rec->outcome, "ok") != 0 && strcmp(rec->outcome, "fault") != 0))
        return GW_ERR_INVALID_ARG;
    /* t_request_in is the partition key: every logged exchange was received at some time. */
    if (rec->t_request_in == 0) return GW_ERR_INVALID_ARG;
    if (gw_log_record_size_check(rec) != GW_OK) return GW_ERR_INVALID_ARG;
    if ((rec->request_len && !rec->request) || (rec->response_len && !rec->response) ||
        rec->request_len >= MAX_VALUE_LEN || rec->response_len >= MAX_VALUE_LEN)
        return GW_ERR_INVALID_ARG;
#define CHECK_TEXT(name) \
    if (rec->name && strlen(rec->name) >= MAX_VALUE_LEN / 3) return GW_ERR_INVALID_ARG;
    RECORD_STRINGS(CHECK_TEXT)
#undef CHECK_TEXT
    return GW_OK;
}

static size_t copied_size(const char *s) { return s ? utf8_sanitize(s, NULL) + 1 : 0; }

static const char *copy_string(const char *s, unsigned char **cursor)
{
    if (!s) return NULL;
    char *dst = (char *)*cursor;
    size_t n = utf8_sanitize(s, dst);
    dst[n] = '\0';
    *cursor += n + 1;
    return dst;
}

static const unsigned char *copy_bytes(const unsigned char *b, size_t len, unsigned char **cursor)
{
    if (!b) return NULL;
    unsigned char *dst = *cursor;
    if (len) memcpy(dst, b, len);
    *cursor += len;
    return dst;
}

static log_entry *entry_new(const gw_log_record *rec, const unsigned char uuid[UUID_LEN],
                            const pthread_condattr_t *attr)
{
    size_t size = sizeof(log_entry) + rec->request_len + rec->response_len;
#define ADD_SIZE(name) size += copied_size(rec->name);
    RECORD_STRINGS(ADD_SIZE)
#undef ADD_SIZE
    log_entry *e = malloc(size);
    if (!e) return NULL;
    memset(e, 0, sizeof *e);
    if (pthread_cond_init(&e->done, attr) != 0) {
        free(e);
        return NULL;
    }
    e->rec = *rec;
    memcpy(e->exchange_uuid, uuid, UUID_LEN);
    unsigned char *cursor = (unsigned char *)(e + 1);
#define COPY_STRING(name) e->rec.name = copy_string(rec->name, &cursor);
    RECORD_STRINGS(COPY_STRING)
#undef COPY_STRING
    e->rec.request = copy_bytes(rec->request, rec->request_len, &cursor);
    e->rec.response = copy_bytes(rec->response, rec->response_len, &cursor);
    e->state = ENTRY_QUEUED;
    return e;
}

static void entry_free(log_entry *e)
{
    pthread_cond_destroy(&e->done);
    free(e);
}

/* ---- the canonical row: COPY values and the chain hash ----------------------------------- */

static field_value text_value(const char *s)
{
    return s ? (field_value){s, (int32_t)strlen(s)} : (field_value){NULL, -1};
}

static field_value bytes_value(const unsigned char *b, size_t len)
{
    static const unsigned char empty[1];
    return b ? (field_value){len ? b : empty, (int32_t)len} : (field_value){NULL, -1};
}

static field_value int64_value(int64_t v, unsigned char *slot)
{
    put_be64(slot, (uint64_t)v);
    return (field_value){slot, 8};
}

/* Unix microseconds to PostgreSQL's binary timestamptz; 0 means "did not happen". */
static field_value time_value(int64_t unix_us, unsigned char *slot)
{
    return unix_us ? int64_value(unix_us - PG_EPOCH_OFFSET_US, slot) : (field_value){NULL, -1};
}

static void row_values_of(const log_entry *e, int64_t seq, row_values *rv)
{
    const gw_log_record *r = &e->rec;
    field_value *f = rv->field;
    unsigned char *num = rv->numbers;
    f[F_SEQ] = int64_value(seq, num);
    f[F_EXCHANGE_ID] = (field_value){e->exchange_uuid, UUID_LEN};
    f[F_CLIENT_MEMBER] = text_value(r->client_member);
    f[F_CLIENT_USER] = text_value(r->client_user);
    f[F_AUTH_METHOD] = text_value(r->auth_method);
    f[F_CLIENT_ADDRESS] = text_value(r->client_address);
    f[F_SERVICE] = text_value(r->service);
    f[F_OPERATION] = text_value(r->operation);
    f[F_ADAPTER] = text_value(r->adapter);
    f[F_SUBJECT_TYPE] = text_value(r->subject_type);
    f[F_SUBJECT_ID] = text_value(r->subject_id);
    f[F_PURPOSE] = text_value(r->purpose);
    f[F_PROCEDURE] = text_value(r->procedure);
    f[F_REQUEST] = bytes_value(r->request, r->request_len);
    f[F_RESPONSE] = bytes_value(r->response, r->response_len);
    f[F_REQUEST_SHA256] = (field_value){r->request_sha256, HASH_LEN};
    f[F_RESPONSE_SHA256] = (field_value){r->response_sha256, HASH_LEN};
    f[F_SIGNATURE_VALUE] = text_value(r->signature_value);
    f[F_T_REQUEST_IN] = time_value(r->t_request_in, num + 8);
    f[F_T_PROVIDER_OUT] = time_value(r->t_provider_out, num + 16);
    f[F_T_PROVIDER_IN] = time_value(r->t_provider_in, num + 24);
    f[F_T_RESPONSE_OUT] = time_value(r->t_response_out, num + 32);
    f[F_OUTCOME] = text_value(r->outcome);
    f[F_FAULT_CODE] = text_value(r->fault_code);
    f[F_FAULT_MESSAGE] = text_value(r->fault_message);
    f[F_RESULT_CODE] = text_value(r->result_code);
    put_be32(num + 40, (uint32_t)r->http_status);
    f[F_HTTP_STATUS] = (field_value){num + 40, 4};
    f[F_CALLER_HOST] = text_value(r->caller_host);
    f[F_CALLER_IP] = text_value(r->caller_ip);
    f[F_CALLER_USER] = text_value(r->caller_user);
    f[F_CALLER_MAC] = text_value(r->caller_mac);
    put_be16(num + 44, HASH_VERSION);
    f[F_HASH_VERSION] = (field_value){num + 44, 2};
    f[F_CLIENT_SUBSYSTEM] = text_value(r->client_subsystem);
    f[F_CLIENT_CERT_SHA256] = text_value(r->client_cert_sha256);
    f[F_MESSAGE_ID] = text_value(r->message_id);
    f[F_REQUEST_SIGNATURE_VALUE] = text_value(r->request_signature_value);
    f[F_TRACE_ID] = text_value(r->trace_id);
    f[F_TRACE_PARENT_ID] = text_value(r->trace_parent_id);
    f[F_BODY_ENCRYPTION] = text_value(r->body_encryption);
}

int gw_log_hash_field_count(int version)
{
    switch (version) {
    case 1: return F_HTTP_STATUS + 1;  /* 27 */
    case 2: return F_HASH_VERSION + 1; /* 32 */
    case 3: return F_REQUEST_SIGNATURE_VALUE + 1; /* 36 */
    case 4: return ROW_FIELD_COUNT;               /* 39 */
    default: return 0;
    }
}

static bool any_present(const gw_log_field *f, int from, int to)
{
    for (int i = from; i < to; i++)
        if (f[i].len >= 0)
            return true;
    return false;
}

/* A row carries only fields its version covers (its writer knew no others): the verifiers'
 * shared wording, that of exchange_log_verify_chain() (0008). */
const char *gw_log_uncovered_fields(int version, const gw_log_field *f, char *buf, size_t buflen)
{
    if (version == 1 && any_present(f, F_CALLER_HOST, F_HASH_VERSION))
        return "hash_version 1 row carries caller audit fields, which v1 does not cover";
    if (version <= 2 && any_present(f, F_CLIENT_SUBSYSTEM, F_TRACE_ID)) {
        snprintf(buf, buflen,
                 "hash_version %d row carries identity fields, which v%d does not cover", version,
                 version);
        return buf;
    }
    /* v1..v3 rows written after 0007 do carry trace ids (unhashed then): only the encryption
     * marker is out of place. */
    if (version <= 3 && f[F_BODY_ENCRYPTION].len >= 0) {
        snprintf(buf, buflen,
                 "hash_version %d row carries body_encryption, which v%d does not cover", version,
                 version);
        return buf;
    }
    return NULL;
}

/* row_hash = SHA-256(prev_hash || for each field: 0x00 if NULL, else 0x01 || be32 length ||
 * binary value). The one definition: the writer below and tools/pide_audit_verify.c use it. */
bool gw_log_row_hash(void *md_ctx, const unsigned char prev[GW_LOG_HASH_LEN],
                     const gw_log_field *fields, int count, unsigned char out[GW_LOG_HASH_LEN])
{
    static const unsigned char is_null = 0, is_present = 1;
    EVP_MD_CTX *md = md_ctx;
    if (!md || !prev || !fields || !out) return false;
    if (count != gw_log_hash_field_count(1) && count != gw_log_hash_field_count(2) &&
        count != gw_log_hash_field_count(3) && count != gw_log_hash_field_count(4))
        return false;
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) return false;
    EVP_DigestUpdate(md, prev, HASH_LEN);
    for (int i = 0; i < count; i++) {
        const field_value *f = &fields[i];
        if (f->len < 0) {
            EVP_DigestUpdate(md, &is_null, 1);
            continue;
        }
        unsigned char len[4];
        put_be32(len, (uint32_t)f->len);
        EVP_DigestUpdate(md, &is_present, 1);
        EVP_DigestUpdate(md, len, sizeof len);
        EVP_DigestUpdate(md, f->data, (size_t)f->len);
    }
    unsigned int n = 0;
    return EVP_DigestFinal_ex(md, out, &n) == 1 && n == HASH_LEN;
}

static bool chain_hash(EVP_MD_CTX *md, const unsigned char prev[HASH_LEN], const row_values *rv,
                       unsigned char out[HASH_LEN])
{
    return gw_log_row_hash(md, prev, rv->field, ROW_FIELD_COUNT, out);
}

static void copy_append_row(byte_buffer *b, const row_values *rv, const unsigned char prev[HASH_LEN],
                            const unsigned char hash[HASH_LEN])
{
    buffer_append_be16(b, COPY_COLUMN_COUNT);
    for (int i = 0; i < ROW_FIELD_COUNT; i++) {
        const field_value *f = &rv->field[i];
        buffer_append_be32(b, (uint32_t)f->len);
        if (f->len > 0) buffer_append(b, f->data, (size_t)f->len);
    }
    buffer_append_be32(b, HASH_LEN);
    buffer_append(b, prev, HASH_LEN);
    buffer_append_be32(b, HASH_LEN);
    buffer_append(b, hash, HASH_LEN);
}

/* ---- database ---------------------------------------------------------------------------- */

static PGconn *connect_db(const exchange_log_options *opt)
{
    char timeout_s[16], user_timeout_ms[16];
    /* With the spool on, a dead peer must be noticed within switchAfterMs. */
    int bound_ms = opt->spool_dir ? opt->switch_after_ms : opt->commit_timeout_ms;
    snprintf(timeout_s, sizeof timeout_s, "%d", bound_ms / 1000 + 1);
    snprintf(user_timeout_ms, sizeof user_timeout_ms, "%d", bound_ms);
    /* Our defaults come before the caller's conninfo (expanded from dbname), which may override
     * them; the password comes after so it wins over one in the conninfo. A dead peer must be
     * noticed within the commit timeout, not after the kernel's default of minutes. */
    const char *keys[] = {"application_name", "connect_timeout", "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                          "dbname", "client_encoding", "password", NULL};
    const char *values[] = {"pide-gateway", timeout_s, "5", "2", "3", user_timeout_ms,
                            opt->conninfo, "UTF8", opt->password, NULL};
    return PQconnectdbParams(keys, values, 1);
}

/* Is the server down, starting or stopping (an outage), rather than up and refusing us (a wrong
 * password, role or database name: a configuration error)? PQpingParams does not log in. */
static bool server_is_down(const exchange_log_options *opt)
{
    char timeout_s[16];
    snprintf(timeout_s, sizeof timeout_s, "%d", opt->switch_after_ms / 1000 + 1);
    const char *keys[] = {"connect_timeout", "dbname", NULL};
    const char *values[] = {timeout_s, opt->conninfo, NULL};
    PGPing p = PQpingParams(keys, values, 1);
    return p == PQPING_REJECT || p == PQPING_NO_RESPONSE;
}

/* Reads the last (seq, row_hash) of the chain; an empty log starts after seq 0 and 32 zero
 * bytes. */
static bool read_chain_head(PGconn *conn, int64_t *seq, unsigned char hash[HASH_LEN],
                            const char **why)
{
    PGresult *res = PQexecParams(conn, CHAIN_HEAD_SQL, 0, NULL, NULL, NULL, NULL, 1);
    bool ok = false;
    *why = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) goto fail;
    if (PQntuples(res) == 0) {
        *seq = 0;
        memset(hash, 0, HASH_LEN);
    } else {
        if (PQgetlength(res, 0, 0) != 8 || PQgetlength(res, 0, 1) != HASH_LEN) {
            *why = "unexpected shape of the chain head row";
            goto fail;
        }
        *seq = (int64_t)get_be64((const unsigned char *)PQgetvalue(res, 0, 0));
        memcpy(hash, PQgetvalue(res, 0, 1), HASH_LEN);
    }
    ok = true;
fail:
    PQclear(res);
    return ok;
}

static bool exec_ok(PGconn *conn, const char *sql, ExecStatusType expected)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == expected;
    PQclear(res);
    return ok;
}

/* Did an attempt whose COMMIT outcome we never heard commit? Its last row is unique by
 * (seq, row_hash). Returns 1 yes, 0 no, -1 cannot tell (still no database). */
static int batch_was_committed(PGconn *conn, int64_t last_seq, const unsigned char hash[HASH_LEN])
{
    unsigned char seq_be[8];
    put_be64(seq_be, (uint64_t)last_seq);
    const char *values[2] = {(const char *)seq_be, (const char *)hash};
    const int lengths[2] = {8, HASH_LEN};
    const int formats[2] = {1, 1};
    PGresult *res = PQexecParams(conn,
                                 "SELECT 1 FROM public.exchange_log WHERE seq "
                                 "OPERATOR(pg_catalog.=) $1::pg_catalog.int8 AND row_hash "
                                 "OPERATOR(pg_catalog.=) $2::pg_catalog.bytea",
                                 2, NULL, values, lengths, formats, 0);
    int answer = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) > 0 : -1;
    PQclear(res);
    return answer;
}

/* Pins search_path for the session (GW_LOG_PIN_SEARCH_PATH_SQL); after every (re)connect. */
static bool pin_search_path(PGconn *conn)
{
    return exec_ok(conn, GW_LOG_PIN_SEARCH_PATH_SQL, PGRES_COMMAND_OK);
}

static void reset_connection(PGconn *conn)
{
    PQreset(conn);
    if (PQstatus(conn) == CONNECTION_OK) pin_search_path(conn);
}

/* The row_hash stored at seq, into hash. 1 found, 0 no such row, -1 query failed. */
static int row_hash_at(PGconn *conn, int64_t seq, unsigned char hash[HASH_LEN])
{
    unsigned char seq_be[8];
    put_be64(seq_be, (uint64_t)seq);
    const char *values[1] = {(const char *)seq_be};
    const int lengths[1] = {8};
    const int formats[1] = {1};
    PGresult *res = PQexecParams(conn,
                                 "SELECT row_hash FROM public.exchange_log WHERE seq "
                                 "OPERATOR(pg_catalog.=) $1::pg_catalog.int8",
                                 1, NULL, values, lengths, formats, 1);
    int found = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        found = PQntuples(res) == 1 && PQgetlength(res, 0, 0) == HASH_LEN;
        if (found) memcpy(hash, PQgetvalue(res, 0, 0), HASH_LEN);
    }
    PQclear(res);
    return found;
}

/* Is the database's chain head (seq, hash) at or after the newest row this writer knows to be
 * in the chain? A log that only grows can never be behind it; when it is, rows were removed
 * (TRUNCATE of a partition, a DELETE behind a disabled trigger...) and writing on would
 * reissue their seq numbers. 1 consistent, 0 went backwards, -1 cannot tell. */
static int head_is_consistent(exchange_log *log, int64_t seq, const unsigned char hash[HASH_LEN])
{
    if (log->head_unknown) { /* first look since a start during an outage: the baseline */
        log->head_unknown = false;
        return 1;
    }
    if (seq < log->known_seq) return 0;
    if (seq == log->known_seq) return memcmp(hash, log->known_hash, HASH_LEN) == 0;
    if (log->known_seq == 0) return 1; /* the log was empty when we first looked */
    /* Another gateway extended the chain meanwhile: the row we know must still be there. */
    unsigned char stored[HASH_LEN];
    int found = row_hash_at(log->conn, log->known_seq, stored);
    if (found < 0) return -1;
    return found == 1 && memcmp(stored, log->known_hash, HASH_LEN) == 0;
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

/* Stops the log for good (until a restart): loudly, once. */
static void mark_chain_broken(exchange_log *log, int64_t db_seq, const unsigned char db_hash[HASH_LEN])
{
    char known[2 * HASH_LEN + 1], found[2 * HASH_LEN + 1];
    hex_of(log->known_hash, HASH_LEN, known);
    hex_of(db_hash, HASH_LEN, found);
    gw_log(PIDE_LOG_ERROR,
           "exchange log: the chain went backwards: the database's head is seq %lld (%s) but this "
           "gateway knows seq %lld (%s) to be in the chain; rows were removed or replaced. No "
           "more rows are written and every exchange is refused (Server.LogUnavailable) until an "
           "operator has investigated (pide-audit verify --expect-head %lld:%s) and restarted "
           "the gateway",
           (long long)db_seq, found, (long long)log->known_seq, known, (long long)log->known_seq,
           known);
    pthread_mutex_lock(&log->lock);
    log->chain_broken = true;
    pthread_mutex_unlock(&log->lock);
}

static bool chain_is_broken(exchange_log *log)
{
    pthread_mutex_lock(&log->lock);
    bool broken = log->chain_broken;
    pthread_mutex_unlock(&log->lock);
    return broken;
}

/* Hands large COPY data to libpq in pieces (an int length each, far below 1 GB). */
static bool put_copy_data(PGconn *conn, const unsigned char *data, size_t len)
{
    while (len > 0) {
        size_t piece = len < COPY_CHUNK_BYTES ? len : COPY_CHUNK_BYTES;
        if (PQputCopyData(conn, (const char *)data, (int)piece) != 1) return false;
        data += piece;
        len -= piece;
    }
    return true;
}

typedef struct commit_attempt {
    bool outcome_unknown; /* COMMIT was sent and the answer lost */
    int64_t last_seq;
    unsigned char last_hash[HASH_LEN];
} commit_attempt;

/* One transaction for the whole batch: lock the chain, read its head, COPY, COMMIT. */
static int drop_logged(PGconn *conn, log_entry **batch, int n);

/* dedupe (replay only): rows whose exchange id is already in the table are left out, under the
 * chain lock; *written gets how many rows the batch wrote. */
static gw_status write_batch(exchange_log *log, log_entry **batch, int n, commit_attempt *attempt,
                             char *err, size_t errlen, bool dedupe, int *written)
{
    PGconn *conn = log->conn;
    PGresult *res = NULL;
    const char *why = NULL;
    unsigned char prev[HASH_LEN], hash[HASH_LEN];
    int64_t seq;
    gw_status st = GW_ERR_DATABASE;

    /* BEGIN and the lock in one round trip; the head must be read after the lock is held. */
    if (!exec_ok(conn, dedupe ? log->replay_begin_sql : log->begin_sql, PGRES_TUPLES_OK) ||
        !read_chain_head(conn, &seq, prev, &why))
        goto fail;
    int consistent = head_is_consistent(log, seq, prev);
    if (consistent < 0) goto fail;
    if (consistent == 0) {
        mark_chain_broken(log, seq, prev);
        why = "the chain head went backwards";
        st = GW_ERR_LOG_UNAVAILABLE;
        goto fail;
    }
    log->known_seq = seq;
    memcpy(log->known_hash, prev, HASH_LEN);
    if (dedupe) {
        n = drop_logged(conn, batch, n);
        if (n < 0)
            goto fail;
        *written = n;
        if (n == 0) { /* all of them were committed before (a crash before the offset moved) */
            exec_ok(conn, "ROLLBACK", PGRES_COMMAND_OK);
            return GW_OK;
        }
    }

    byte_buffer *b = &log->copy_data;
    b->len = 0;
    b->failed = false;
    buffer_append(b, COPY_SIGNATURE, sizeof COPY_SIGNATURE);
    buffer_append_be32(b, 0); /* flags */
    buffer_append_be32(b, 0); /* header extension length */
    for (int i = 0; i < n; i++) {
        row_values rv;
        row_values_of(batch[i], ++seq, &rv);
        if (!chain_hash(log->md, prev, &rv, hash)) {
            why = "SHA-256 failed";
            st = GW_ERR_INTERNAL;
            goto fail;
        }
        copy_append_row(b, &rv, prev, hash);
        memcpy(prev, hash, HASH_LEN);
    }
    buffer_append_be16(b, 0xffff); /* trailer */
    if (b->failed) {
        why = "out of memory building the COPY data";
        st = GW_ERR_NOMEM;
        goto fail;
    }

    if (!exec_ok(conn, COPY_SQL, PGRES_COPY_IN)) goto fail;
    if (!put_copy_data(conn, b->data, b->len) || PQputCopyEnd(conn, NULL) != 1) goto fail;
    res = PQgetResult(conn);
    bool copied = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    while ((res = PQgetResult(conn)) != NULL) PQclear(res);
    if (!copied) goto fail;

    attempt->outcome_unknown = true;
    attempt->last_seq = seq;
    memcpy(attempt->last_hash, hash, HASH_LEN);
    res = PQexec(conn, "COMMIT");
    /* A COMMIT of a failed transaction "succeeds" with the tag ROLLBACK. */
    bool committed = PQresultStatus(res) == PGRES_COMMAND_OK &&
                     strcmp(PQcmdStatus(res), "COMMIT") == 0;
    bool answered = PQresultStatus(res) == PGRES_COMMAND_OK || PQstatus(conn) == CONNECTION_OK;
    PQclear(res);
    res = NULL;
    if (answered) attempt->outcome_unknown = false;
    if (!committed) goto fail;
    log->known_seq = seq;
    memcpy(log->known_hash, hash, HASH_LEN);
    return GW_OK;

fail:
    copy_error(err, errlen, "exchange log write failed", why ? why : PQerrorMessage(conn));
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        exec_ok(conn, "ROLLBACK", PGRES_COMMAND_OK);
    return st;
}

/* ---- the writer thread ------------------------------------------------------------------- */

/* Hands the batch's outcome (ENTRY_COMMITTED, or ENTRY_REFUSED when the chain went backwards)
 * to each waiter; entries whose waiter left are freed here. */
static void settle_batch(exchange_log *log, log_entry **batch, int n, enum entry_state outcome)
{
    pthread_mutex_lock(&log->lock);
    for (int i = 0; i < n; i++) {
        if (batch[i]->abandoned) {
            entry_free(batch[i]);
            continue;
        }
        batch[i]->state = outcome;
        pthread_cond_signal(&batch[i]->done);
    }
    pthread_cond_broadcast(&log->settled);
    pthread_mutex_unlock(&log->lock);
}

/* Drops the entries whose waiter already gave up (it got GW_ERR_LOG_UNAVAILABLE). */
static int drop_abandoned(exchange_log *log, log_entry **batch, int n)
{
    int kept = 0;
    pthread_mutex_lock(&log->lock);
    for (int i = 0; i < n; i++) {
        if (batch[i]->abandoned)
            entry_free(batch[i]);
        else
            batch[kept++] = batch[i];
    }
    pthread_mutex_unlock(&log->lock);
    return kept;
}

static void commit_batch_spooled(exchange_log *log, log_entry **batch, int n);

/* Writes one batch, retrying through reconnects until it commits or every waiter gave up. */
static void commit_batch(exchange_log *log, log_entry **batch, int n)
{
    if (log->spool) {
        commit_batch_spooled(log, batch, n);
        return;
    }
    commit_attempt attempt = {0};
    char err[512];
    int pause_ms = RETRY_PAUSE_MIN_MS;
    for (;;) {
        /* Before every attempt: a row whose caller was already told "unavailable" must not be
         * written afterwards. */
        n = drop_abandoned(log, batch, n);
        if (n == 0) return;
        if (chain_is_broken(log)) {
            settle_batch(log, batch, n, ENTRY_REFUSED);
            return;
        }
        if (PQstatus(log->conn) == CONNECTION_OK) {
            int known = attempt.outcome_unknown
                            ? batch_was_committed(log->conn, attempt.last_seq, attempt.last_hash)
                            : 0;
            if (known == 1) {
                log->known_seq = attempt.last_seq;
                memcpy(log->known_hash, attempt.last_hash, HASH_LEN);
                break;
            }
            if (known == 0) {
                attempt.outcome_unknown = false;
                int64_t t0 = gw_monotonic_us();
                if (write_batch(log, batch, n, &attempt, err, sizeof err, false, NULL) == GW_OK) {
                    gw_metrics_log_batch(n, (double)(gw_monotonic_us() - t0) / 1e6);
                    break;
                }
                gw_metrics_log_failure();
                if (chain_is_broken(log)) continue; /* refused at the top, without a pause */
                if (!log->failing) gw_log(PIDE_LOG_ERROR, "%s (retrying)", err);
                log->failing = true;
                gw_metrics_log_failing(1);
            }
        }
        sleep_ms(pause_ms);
        pause_ms = pause_ms * 2 > RETRY_PAUSE_MAX_MS ? RETRY_PAUSE_MAX_MS : pause_ms * 2;
        if (PQstatus(log->conn) != CONNECTION_OK) reset_connection(log->conn);
    }
    if (log->failing) gw_log(PIDE_LOG_WARN, "exchange log writes resumed");
    log->failing = false;
    gw_metrics_log_failing(0);
    settle_batch(log, batch, n, ENTRY_COMMITTED);
    if (log->on_commit) log->on_commit(log->on_commit_arg, log->known_seq, log->known_hash);
}

/* ---- the spool: rows on local disk while the database is down or slow -------------------- *
 * docs/reliability.md, "The spool". A spooled record is the row without seq, prev_hash and
 * row_hash: those are given when the replayer writes it, under the chain lock, like any row. */

#define SPOOL_FORMAT 1
#define SPOOL_ABSENT UINT32_MAX

static void spool_put(byte_buffer *b, const void *data, size_t len)
{
    if (!data) {
        buffer_append_be32(b, SPOOL_ABSENT);
        return;
    }
    buffer_append_be32(b, (uint32_t)len);
    buffer_append(b, data, len);
}

static void spool_put_be64(byte_buffer *b, int64_t v)
{
    unsigned char p[8];
    put_be64(p, (uint64_t)v);
    buffer_append(b, p, sizeof p);
}

/* format byte | each RECORD_STRINGS value | request | response (be32 length or absent, bytes)
 * | request_sha256 | response_sha256 | 4 × be64 times | be32 http_status */
static void spool_serialize(byte_buffer *b, const log_entry *e)
{
    const gw_log_record *r = &e->rec;
    const unsigned char format = SPOOL_FORMAT;
    buffer_append(b, &format, 1);
#define PUT_STRING(name) spool_put(b, r->name, r->name ? strlen(r->name) : 0);
    RECORD_STRINGS(PUT_STRING)
#undef PUT_STRING
    spool_put(b, r->request, r->request_len);
    spool_put(b, r->response, r->response_len);
    buffer_append(b, r->request_sha256, HASH_LEN);
    buffer_append(b, r->response_sha256, HASH_LEN);
    spool_put_be64(b, r->t_request_in);
    spool_put_be64(b, r->t_provider_out);
    spool_put_be64(b, r->t_provider_in);
    spool_put_be64(b, r->t_response_out);
    buffer_append_be32(b, (uint32_t)r->http_status);
}

typedef struct spool_reader {
    const unsigned char *p;
    size_t left;
    bool bad;
} spool_reader;

static const unsigned char *spool_take(spool_reader *rd, size_t n)
{
    if (rd->bad || rd->left < n) {
        rd->bad = true;
        return NULL;
    }
    const unsigned char *at = rd->p;
    rd->p += n;
    rd->left -= n;
    return at;
}

static uint64_t spool_take_be(spool_reader *rd, int bytes)
{
    const unsigned char *p = spool_take(rd, (size_t)bytes);
    uint64_t v = 0;
    for (int i = 0; p && i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* A value: its bytes (NULL when absent) and length. */
static const unsigned char *spool_take_value(spool_reader *rd, size_t *len)
{
    uint32_t n = (uint32_t)spool_take_be(rd, 4);
    *len = 0;
    if (rd->bad || n == SPOOL_ABSENT)
        return NULL;
    const unsigned char *p = spool_take(rd, n);
    if (p)
        *len = n;
    return p;
}

/* The entry a spooled record holds, or NULL when the record does not decode to a valid row
 * (treated as corruption: the replay stops there). */
static log_entry *spool_decode(exchange_log *log, const unsigned char *data, size_t len)
{
    spool_reader rd = {data, len, false};
    gw_log_record r;
    memset(&r, 0, sizeof r);
    log_entry *e = NULL;
    /* Strings need their NUL: copies in one scratch block. */
    char *scratch = malloc(len + 64), *cur = scratch;
    if (!scratch)
        return NULL;
    const unsigned char *format = spool_take(&rd, 1);
    if (!format || *format != SPOOL_FORMAT)
        goto done;
#define GET_STRING(name) \
    { \
        size_t n; \
        const unsigned char *v = spool_take_value(&rd, &n); \
        if (v) { \
            if (memchr(v, '\0', n)) \
                goto done; \
            memcpy(cur, v, n); \
            cur[n] = '\0'; \
            r.name = cur; \
            cur += n + 1; \
        } \
    }
    RECORD_STRINGS(GET_STRING)
#undef GET_STRING
    r.request = spool_take_value(&rd, &r.request_len);
    r.response = spool_take_value(&rd, &r.response_len);
    const unsigned char *h1 = spool_take(&rd, HASH_LEN), *h2 = spool_take(&rd, HASH_LEN);
    if (h1)
        memcpy(r.request_sha256, h1, HASH_LEN);
    if (h2)
        memcpy(r.response_sha256, h2, HASH_LEN);
    r.t_request_in = (int64_t)spool_take_be(&rd, 8);
    r.t_provider_out = (int64_t)spool_take_be(&rd, 8);
    r.t_provider_in = (int64_t)spool_take_be(&rd, 8);
    r.t_response_out = (int64_t)spool_take_be(&rd, 8);
    r.http_status = (int)(int32_t)spool_take_be(&rd, 4);
    unsigned char uuid[UUID_LEN];
    if (rd.bad || rd.left != 0 || validate_record(&r, uuid) != GW_OK)
        goto done;
    e = entry_new(&r, uuid, &log->mono_attr);
done:
    free(scratch);
    return e;
}

/* Leaves out of batch the rows whose exchange id the table already holds (an earlier replay of
 * them committed, then the process died before the replay position moved; or a COMMIT whose
 * outcome was lost before the batch went to the spool). Exchange ids are UUIDs the gateway
 * makes, one per exchange; the table has an index on them, not a constraint (the partitioned
 * table's unique keys must hold the partition key). Returns how many rows are left, -1 on a
 * query failure. */
static int drop_logged(PGconn *conn, log_entry **batch, int n)
{
    size_t cap = (size_t)n * 37 + 3;
    char *arr = malloc(cap);
    if (!arr)
        return -1;
    size_t at = 0;
    arr[at++] = '{';
    for (int i = 0; i < n; i++) {
        if (i)
            arr[at++] = ',';
        memcpy(arr + at, batch[i]->rec.exchange_id, 36);
        at += 36;
    }
    arr[at++] = '}';
    arr[at] = '\0';
    const char *values[1] = {arr};
    PGresult *res = PQexecParams(conn,
                                 "SELECT exchange_id FROM public.exchange_log WHERE exchange_id "
                                 "OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.uuid[])",
                                 1, NULL, values, NULL, NULL, 0);
    free(arr);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return -1;
    }
    int kept = 0, found = PQntuples(res);
    for (int i = 0; i < n; i++) {
        bool logged = false;
        for (int k = 0; k < found && !logged; k++) {
            unsigned char id[UUID_LEN];
            logged = parse_uuid(PQgetvalue(res, k, 0), id) &&
                     memcmp(id, batch[i]->exchange_uuid, UUID_LEN) == 0;
        }
        if (!logged)
            batch[kept++] = batch[i];
    }
    PQclear(res);
    if (kept < n)
        gw_log(PIDE_LOG_WARN,
               "exchange log: replay skipped %d spooled row(s) already in the table (written "
               "before a crash or a lost COMMIT answer)",
               n - kept);
    return kept;
}

/* Appends the batch to the spool with one fdatasync. Only after gw_spool_append returned GW_OK
 * are the waiters told ENTRY_COMMITTED (settle_batch): no answer leaves before its record is
 * durable. Full or failed: ENTRY_REFUSED, the callers get Server.LogUnavailable. */
static void spool_append_batch(exchange_log *log, log_entry **batch, int n)
{
    char err[256];
    byte_buffer *b = &log->spool_payload;
    b->len = 0;
    b->failed = false;
    size_t *offsets = log->spool_off;
    const unsigned char **data = log->spool_data;
    size_t *len = log->spool_len;
    for (int i = 0; i < n; i++) {
        offsets[i] = b->len;
        spool_serialize(b, batch[i]);
    }
    offsets[n] = b->len;
    gw_status st = GW_ERR_NOMEM;
    if (!b->failed) {
        for (int i = 0; i < n; i++) {
            data[i] = b->data + offsets[i];
            len[i] = offsets[i + 1] - offsets[i];
        }
        st = gw_spool_append(log->spool, data, len, (size_t)n, err, sizeof err);
    } else {
        gw_set_error(err, sizeof err, "out of memory serializing a spool batch");
    }
    if (st == GW_OK) {
        settle_batch(log, batch, n, ENTRY_COMMITTED);
        return;
    }
    gw_log(PIDE_LOG_ERROR, "exchange log: %s: %d exchange(s) refused (Server.LogUnavailable)", err,
           n);
    settle_batch(log, batch, n, ENTRY_REFUSED);
}

static bool start_checks(exchange_log *log, char *err, size_t errlen);

/* The writer's batch with the spool on: to the database while it answers within
 * switch_after_ms and nothing waits in the spool; else to the spool. */
static void commit_batch_spooled(exchange_log *log, log_entry **batch, int n)
{
    char err[512];
    pthread_mutex_lock(&log->mode_lock);
    n = drop_abandoned(log, batch, n);
    if (n == 0)
        goto done;
    if (chain_is_broken(log)) {
        settle_batch(log, batch, n, ENTRY_REFUSED);
        goto done;
    }
    if (!atomic_load(&log->spooling)) {
        if (PQstatus(log->conn) != CONNECTION_OK)
            reset_connection(log->conn);
        if (PQstatus(log->conn) == CONNECTION_OK && log->db_unchecked &&
            !start_checks(log, err, sizeof err)) {
            /* started during an outage and the database is not fit yet: spool, say why */
        } else if (PQstatus(log->conn) == CONNECTION_OK) {
            commit_attempt attempt = {0};
            int64_t t0 = gw_monotonic_us();
            if (write_batch(log, batch, n, &attempt, err, sizeof err, false, NULL) == GW_OK) {
                gw_metrics_log_batch(n, (double)(gw_monotonic_us() - t0) / 1e6);
                settle_batch(log, batch, n, ENTRY_COMMITTED);
                if (log->on_commit)
                    log->on_commit(log->on_commit_arg, log->known_seq, log->known_hash);
                goto done;
            }
            gw_metrics_log_failure();
            if (chain_is_broken(log)) {
                settle_batch(log, batch, n, ENTRY_REFUSED);
                goto done;
            }
        } else {
            copy_error(err, sizeof err, "exchange log: cannot connect to PostgreSQL",
                       PQerrorMessage(log->conn));
        }
        /* A batch whose COMMIT outcome was lost may be in the table too: the replay skips rows
         * whose exchange id is there (drop_logged). */
        gw_log(PIDE_LOG_WARN,
               "%s; switching to the local spool: rows go there until it is replayed", err);
        atomic_store(&log->spooling, true);
        pthread_cond_signal(&log->replay_wake);
        n = drop_abandoned(log, batch, n);
        if (n == 0)
            goto done;
    }
    spool_append_batch(log, batch, n);
done:
    pthread_mutex_unlock(&log->mode_lock);
}

static bool schema_is_current(PGconn *conn, char *err, size_t errlen);
static bool may_insert_rows(PGconn *conn);

/* The checks gw_exchange_log_open could not make (started during an outage): the session's
 * search_path, the schema (migrations) and the INSERT grant. By whoever owns conn (the
 * replayer while `spooling`, the writer otherwise), before the database takes a row. */
static bool start_checks(exchange_log *log, char *err, size_t errlen)
{
    if (!pin_search_path(log->conn)) {
        copy_error(err, errlen, "exchange log: cannot set up the session",
                   PQerrorMessage(log->conn));
        return false;
    }
    if (!schema_is_current(log->conn, err, errlen))
        return false;
    if (!may_insert_rows(log->conn)) {
        copy_error(err, errlen, "exchange log", "this role may not INSERT into exchange_log");
        return false;
    }
    log->db_unchecked = false;
    gw_log(PIDE_LOG_WARN, "exchange log: PostgreSQL reachable; schema and grants checked (the "
                          "gateway started during an outage)");
    return true;
}

/* One replay step: the next spooled records, written in one transaction (rows already in the
 * table left out), then the replay position moved past them. 1 progressed, 0 nothing waiting,
 * -1 the database failed (retry later), -2 stop (corrupt record, position not writable, chain
 * broken). */
static int replay_once(exchange_log *log)
{
    char err[512];
    gw_spool_batch sb;
    int rc = -1, n = 0;
    if (gw_spool_peek(log->spool, (size_t)log->batch_max, &sb, err, sizeof err) != GW_OK) {
        gw_log(PIDE_LOG_ERROR,
               "exchange log: %s; the spool is not replayed past it, rows keep going to the "
               "spool and /readyz answers not ready (docs/operator-guide.md, \"Spool\")",
               err);
        return -2;
    }
    if (sb.n == 0 && !log->db_unchecked) {
        gw_spool_batch_free(&sb);
        return 0;
    }
    for (size_t i = 0; i < sb.n; i++) {
        log_entry *e = spool_decode(log, sb.data[i], sb.len[i]);
        if (!e) {
            gw_log(PIDE_LOG_ERROR,
                   "exchange log: a spooled record passed its checksum but is not a valid row; "
                   "the replay stops there (docs/operator-guide.md, \"Spool\")");
            rc = -2;
            goto done;
        }
        log->replay_batch[n++] = e;
    }
    if (PQstatus(log->conn) != CONNECTION_OK)
        reset_connection(log->conn);
    if (PQstatus(log->conn) != CONNECTION_OK) {
        copy_error(err, sizeof err, "cannot connect to PostgreSQL", PQerrorMessage(log->conn));
        goto done;
    }
    if (log->db_unchecked && !start_checks(log, err, sizeof err))
        goto done; /* not ready for these rows: keep them spooled, say why, retry */
    if (n == 0) {  /* a start during an outage, nothing spooled: the database is usable now */
        log->failing = false;
        rc = 0;
        goto done;
    }
    memcpy(log->replay_keep, log->replay_batch, (size_t)n * sizeof *log->replay_keep);
    commit_attempt attempt = {0};
    int written = 0;
    if (write_batch(log, log->replay_keep, n, &attempt, err, sizeof err, true, &written) != GW_OK) {
        if (chain_is_broken(log))
            rc = -2;
        goto done;
    }
    if (gw_spool_consume(log->spool, &sb, err, sizeof err) != GW_OK) {
        gw_log(PIDE_LOG_ERROR,
               "exchange log: %s; replay stopped (the rows are in the table: a restart skips "
               "them)",
               err);
        rc = -2;
        goto done;
    }
    if (written > 0 && log->on_commit)
        log->on_commit(log->on_commit_arg, log->known_seq, log->known_hash);
    rc = 1;
done:
    if (rc == -1) {
        if (!log->failing)
            gw_log(PIDE_LOG_WARN, "exchange log: spool replay waits: %s", err);
        log->failing = true;
    } else if (rc == 1 && log->failing) {
        gw_log(PIDE_LOG_WARN, "exchange log: PostgreSQL is back, replaying the spool");
        log->failing = false;
    }
    for (int i = 0; i < n; i++)
        entry_free(log->replay_batch[i]);
    gw_spool_batch_free(&sb);
    return rc;
}

/* The replayer thread: while `spooling`, writes the spool to the database in order; once the
 * spool is empty, under mode_lock (so no append can slip in), compacts it and sends the writer
 * back to the database. */
static void *replayer_main(void *arg)
{
    exchange_log *log = arg;
    int pause_ms = RETRY_PAUSE_MIN_MS;
    pthread_mutex_lock(&log->mode_lock);
    for (;;) {
        while (!log->replay_stopping &&
               (!atomic_load(&log->spooling) || atomic_load(&log->replay_stopped)))
            pthread_cond_wait(&log->replay_wake, &log->mode_lock);
        if (log->replay_stopping)
            break;
        gw_spool_stats ss;
        gw_spool_stats_of(log->spool, &ss);
        /* After a start during an outage the writer stays on the spool until the database has
         * answered and passed the start-up checks (replay_once makes them). */
        if (ss.records == 0 && !ss.corrupt && !log->db_unchecked) {
            char err[256];
            if (gw_spool_compact(log->spool, err, sizeof err) != GW_OK)
                gw_log(PIDE_LOG_WARN, "exchange log: %s", err);
            atomic_store(&log->spooling, false);
            gw_log(PIDE_LOG_WARN,
                   "exchange log: spool drained (%llu row(s) replayed since start); writing to "
                   "PostgreSQL again",
                   (unsigned long long)ss.replayed_total);
            continue;
        }
        pthread_mutex_unlock(&log->mode_lock);
        int r = replay_once(log);
        pthread_mutex_lock(&log->mode_lock);
        if (r >= 0) {
            pause_ms = RETRY_PAUSE_MIN_MS;
        } else if (r == -2) {
            atomic_store(&log->replay_stopped, true);
        } else {
            struct timespec until = gw_monotonic_deadline_ms(pause_ms);
            if (!log->replay_stopping)
                pthread_cond_timedwait(&log->replay_wake, &log->mode_lock, &until);
            pause_ms = pause_ms * 2 > RETRY_PAUSE_MAX_MS ? RETRY_PAUSE_MAX_MS : pause_ms * 2;
        }
    }
    pthread_mutex_unlock(&log->mode_lock);
    return NULL;
}

bool gw_exchange_log_spool_state(exchange_log *log, gw_log_spool_state *out)
{
    memset(out, 0, sizeof *out);
    if (!log || !log->spool)
        return false;
    gw_spool_stats ss;
    gw_spool_stats_of(log->spool, &ss);
    out->spooling = atomic_load(&log->spooling);
    out->writable = !ss.failed && !ss.full_now && ss.bytes < ss.max_bytes;
    out->replay_stopped = atomic_load(&log->replay_stopped) || ss.corrupt;
    out->bytes = ss.bytes;
    out->max_bytes = ss.max_bytes;
    out->records = ss.records;
    out->replayed_total = ss.replayed_total;
    out->full_total = ss.full_total;
    return true;
}

static void *writer_main(void *arg)
{
    exchange_log *log = arg;
    pthread_mutex_lock(&log->lock);
    for (;;) {
        while (!log->queue_head && !log->stopping) pthread_cond_wait(&log->work, &log->lock);
        if (!log->queue_head) break; /* stopping and drained */
        int n = 0;
        while (log->queue_head && n < log->batch_max) {
            log_entry *e = log->queue_head;
            log->queue_head = e->next;
            e->next = NULL;
            e->state = ENTRY_IN_FLIGHT;
            log->batch[n++] = e;
        }
        if (!log->queue_head) log->queue_tail = NULL;
        pthread_mutex_unlock(&log->lock);
        commit_batch(log, log->batch, n);
        pthread_mutex_lock(&log->lock);
    }
    pthread_mutex_unlock(&log->lock);
    return NULL;
}

/* ---- the notifier thread: outcomes of submitted entries ---------------------------------- */

static void unlink_queued(exchange_log *log, log_entry *e);

/* What gw_exchange_log_append's waiter does once woken, for every submitted entry that is settled
 * or past its deadline: reports GW_OK for a committed row, GW_ERR_LOG_UNAVAILABLE otherwise (a
 * row still queued is taken back; one the writer holds is abandoned, so it is never written
 * after its caller was told it is not). Callbacks run with log->lock held: they must be short
 * and must not call back into the log. */
static void *notifier_main(void *arg)
{
    exchange_log *log = arg;
    pthread_mutex_lock(&log->lock);
    for (;;) {
        struct timespec earliest = {0};
        bool waiting = false;
        log_entry **pp = &log->async_head;
        while (*pp) {
            log_entry *e = *pp;
            gw_status st = GW_ERR_LOG_UNAVAILABLE;
            log_entry *ours = e;
            if (e->state == ENTRY_COMMITTED) {
                st = GW_OK;
            } else if (e->state == ENTRY_REFUSED) {
                /* the writer let go of it: ours to free */
            } else if (gw_monotonic_reached(&e->deadline)) {
                if (e->state == ENTRY_QUEUED) {
                    unlink_queued(log, e);
                } else {
                    e->abandoned = true; /* the writer holds it and frees it */
                    ours = NULL;
                }
            } else {
                if (!waiting || e->deadline.tv_sec < earliest.tv_sec ||
                    (e->deadline.tv_sec == earliest.tv_sec &&
                     e->deadline.tv_nsec < earliest.tv_nsec))
                    earliest = e->deadline;
                waiting = true;
                pp = &e->async_next;
                continue;
            }
            *pp = e->async_next;
            e->notify(e->notify_arg, st);
            if (ours) entry_free(ours);
        }
        if (log->notifier_stopping && !log->async_head) break;
        if (waiting)
            pthread_cond_timedwait(&log->settled, &log->lock, &earliest);
        else
            pthread_cond_wait(&log->settled, &log->lock);
    }
    pthread_mutex_unlock(&log->lock);
    return NULL;
}

/* Reports every outstanding submission (after the writer stopped: each is settled, or is by
 * its deadline), then ends the notifier. */
static void stop_notifier(exchange_log *log)
{
    pthread_mutex_lock(&log->lock);
    log->notifier_stopping = true;
    pthread_cond_broadcast(&log->settled);
    pthread_mutex_unlock(&log->lock);
    pthread_join(log->notifier, NULL);
    log->notifier_started = false;
}

/* ---- public interface -------------------------------------------------------------------- */

/* Ends the replayer after its current step; what it did not replay stays in the spool for the
 * next start. */
static void stop_replayer(exchange_log *log)
{
    pthread_mutex_lock(&log->mode_lock);
    log->replay_stopping = true;
    pthread_cond_broadcast(&log->replay_wake);
    pthread_mutex_unlock(&log->mode_lock);
    pthread_join(log->replayer, NULL);
    log->replayer_started = false;
}

/* The migrations that added columns this writer fills, oldest first, with a query that fails
 * without them. */
static const struct {
    const char *migration;
    const char *what;
    const char *probe;
} REQUIRED_MIGRATIONS[] = {
    {"0002_caller_audit", "the caller audit columns",
     "SELECT caller_host, caller_ip, caller_user, caller_mac, hash_version FROM "
     "public.exchange_log LIMIT 0"},
    {"0003_identity", "the identity columns",
     "SELECT client_subsystem, client_cert_sha256, message_id, request_signature_value FROM "
     "public.exchange_log LIMIT 0"},
    {"0007_trace_context", "the trace columns",
     "SELECT trace_id, trace_parent_id FROM public.exchange_log LIMIT 0"},
    {"0008_body_encryption", "the body_encryption column (hash version 4)",
     "SELECT body_encryption FROM public.exchange_log LIMIT 0"},
};

/* Names the oldest migration missing from the database, if any. */
static bool schema_is_current(PGconn *conn, char *err, size_t errlen)
{
    size_t count = sizeof REQUIRED_MIGRATIONS / sizeof REQUIRED_MIGRATIONS[0];
    for (size_t i = 0; i < count; i++) {
        PGresult *res = PQexec(conn, REQUIRED_MIGRATIONS[i].probe);
        bool present = PQresultStatus(res) == PGRES_TUPLES_OK;
        PQclear(res);
        if (present) continue;
        char prefix[256];
        snprintf(prefix, sizeof prefix,
                 "exchange log: table exchange_log lacks %s (apply sql/migrations/%s.sql and any "
                 "later ones: scripts/pg-local migrate)",
                 REQUIRED_MIGRATIONS[i].what, REQUIRED_MIGRATIONS[i].migration);
        copy_error(err, errlen, prefix, PQerrorMessage(conn));
        return false;
    }
    return true;
}

static void free_log(exchange_log *log)
{
    if (!log) return;
    if (log->conn) PQfinish(log->conn);
    gw_spool_close(log->spool);
    free(log->spool_payload.data);
    free(log->spool_off);
    free(log->spool_len);
    free(log->spool_data);
    free(log->replay_batch);
    free(log->replay_keep);
    pthread_cond_destroy(&log->replay_wake);
    pthread_mutex_destroy(&log->mode_lock);
    EVP_MD_CTX_free(log->md);
    free(log->copy_data.data);
    free(log->batch);
    pthread_cond_destroy(&log->work);
    pthread_cond_destroy(&log->settled);
    pthread_condattr_destroy(&log->mono_attr);
    pthread_mutex_destroy(&log->lock);
    free(log);
}

static bool may_insert_rows(PGconn *conn)
{
    PGresult *res =
        PQexec(conn, "SELECT pg_catalog.has_table_privilege('public.exchange_log', 'INSERT')");
    bool may_insert = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                      strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return may_insert;
}

gw_status gw_exchange_log_open(const exchange_log_options *opt, exchange_log **out, char *err,
                               size_t errlen)
{
    exchange_log_options o;
    exchange_log *log = NULL;
    gw_status st = GW_ERR_INVALID_ARG;
    int64_t seq;
    unsigned char hash[HASH_LEN];
    const char *why = NULL;

    if (err && errlen) err[0] = '\0';
    if (!opt || !out || !opt->conninfo) {
        copy_error(err, errlen, "exchange log", "no conninfo given");
        return GW_ERR_INVALID_ARG;
    }
    *out = NULL;
    o = *opt;
    if (o.batch_max <= 0) o.batch_max = DEFAULT_BATCH_MAX;
    if (o.commit_timeout_ms <= 0) o.commit_timeout_ms = DEFAULT_COMMIT_TIMEOUT_MS;
    if (o.switch_after_ms <= 0)
        o.switch_after_ms = DEFAULT_SWITCH_AFTER_MS;
    if (o.spool_dir && o.switch_after_ms >= o.commit_timeout_ms) {
        copy_error(err, errlen, "exchange log",
                   "the spool's switchAfterMs must be below commitTimeoutMs");
        return GW_ERR_INVALID_ARG;
    }

    st = GW_ERR_NOMEM;
    log = calloc(1, sizeof *log);
    if (!log) goto fail;
    pthread_mutex_init(&log->lock, NULL);
    pthread_condattr_init(&log->mono_attr);
    pthread_condattr_setclock(&log->mono_attr, CLOCK_MONOTONIC);
    pthread_cond_init(&log->work, NULL);
    pthread_cond_init(&log->settled, &log->mono_attr);
    pthread_mutex_init(&log->mode_lock, NULL);
    pthread_cond_init(&log->replay_wake, &log->mono_attr);
    log->begin_sql = BATCH_BEGIN_SQL;
    log->batch_max = o.batch_max;
    log->commit_timeout_ms = o.commit_timeout_ms;
    log->on_commit = o.on_commit;
    log->on_commit_arg = o.on_commit_arg;
    log->batch = calloc((size_t)o.batch_max, sizeof *log->batch);
    log->md = EVP_MD_CTX_new();
    if (!log->batch || !log->md) goto fail;

    st = GW_ERR_DATABASE;
    log->conn = connect_db(&o);
    if (!log->conn) goto fail;
    if (PQstatus(log->conn) != CONNECTION_OK && o.spool_dir && server_is_down(&o)) {
        /* With the spool on, an unreachable database does not stop the start: rows go to the
         * spool; the head is read (under the chain lock) and the schema and grants checked by
         * the replayer once PostgreSQL answers. A server that is up but refuses us (password,
         * role, database) or a database that is wrong (no table, old schema, no grant) still
         * refuses the start below. */
        char why_db[256];
        copy_error(why_db, sizeof why_db, "cannot connect to PostgreSQL",
                   PQerrorMessage(log->conn));
        gw_log(PIDE_LOG_WARN,
               "exchange log: %s; starting with the local spool: rows go there until "
               "PostgreSQL answers and the spool is replayed",
               why_db);
        log->head_unknown = true;
        log->db_unchecked = true;
        goto spool;
    }
    if (PQstatus(log->conn) != CONNECTION_OK) {
        copy_error(err, errlen, "exchange log: cannot connect to PostgreSQL",
                   PQerrorMessage(log->conn));
        goto fail;
    }
    if (!pin_search_path(log->conn) || !read_chain_head(log->conn, &seq, hash, &why)) {
        copy_error(err, errlen,
                   "exchange log: cannot read table exchange_log (are sql/migrations applied and "
                   "SELECT, INSERT granted?)",
                   why ? why : PQerrorMessage(log->conn));
        goto fail;
    }
    /* Without the columns of the latest migration every COPY would fail: refuse to start
     * rather than answer every exchange with Server.LogUnavailable. */
    if (!schema_is_current(log->conn, err, errlen)) goto fail;
    log->known_seq = seq;
    memcpy(log->known_hash, hash, HASH_LEN);
    if (!may_insert_rows(log->conn)) {
        copy_error(err, errlen, "exchange log", "this role may not INSERT into exchange_log");
        goto fail;
    }

spool:
    if (o.spool_dir) {
        /* Every statement of a batch, the lock wait included, is bounded by switchAfterMs
         * (server side); a dead peer by tcp_user_timeout (connect_db). */
        snprintf(log->spool_begin_sql, sizeof log->spool_begin_sql,
                 "BEGIN; SET LOCAL search_path = pg_catalog, pg_temp; SET LOCAL statement_timeout "
                 "= %d; %s",
                 o.switch_after_ms, CHAIN_LOCK_SQL);
        log->begin_sql = log->spool_begin_sql;
        snprintf(log->replay_begin_sql, sizeof log->replay_begin_sql,
                 "BEGIN; SET LOCAL search_path = pg_catalog, pg_temp; SET LOCAL statement_timeout "
                 "= %d; %s",
                 REPLAY_STATEMENT_TIMEOUT_MS, CHAIN_LOCK_SQL);
        log->switch_after_ms = o.switch_after_ms;
        size_t m = (size_t)o.batch_max;
        st = GW_ERR_NOMEM;
        log->spool_off = calloc(m + 1, sizeof *log->spool_off);
        log->spool_len = calloc(m, sizeof *log->spool_len);
        log->spool_data = calloc(m, sizeof *log->spool_data);
        log->replay_batch = calloc(m, sizeof *log->replay_batch);
        log->replay_keep = calloc(m, sizeof *log->replay_keep);
        if (!log->spool_off || !log->spool_len || !log->spool_data || !log->replay_batch ||
            !log->replay_keep)
            goto fail;
        if ((st = gw_spool_open(o.spool_dir, o.spool_max_bytes, &log->spool, err, errlen)) != GW_OK)
            goto fail;
        gw_spool_stats ss;
        gw_spool_stats_of(log->spool, &ss);
        /* Rows from before a stop or crash: replayed first, new rows queue behind them. So
         * are the rows of a start during an outage. */
        atomic_store(&log->spooling, ss.records > 0 || ss.corrupt || log->head_unknown);
        if (ss.records > 0)
            gw_log(PIDE_LOG_WARN,
                   "exchange log: the spool holds %llu row(s) from before; replaying them "
                   "before new rows",
                   (unsigned long long)ss.records);
        if (pthread_create(&log->replayer, NULL, replayer_main, log) != 0) {
            copy_error(err, errlen, "exchange log", "cannot start the spool replayer thread");
            st = GW_ERR_INTERNAL;
            goto fail;
        }
        log->replayer_started = true;
    }
    if (pthread_create(&log->notifier, NULL, notifier_main, log) != 0) {
        copy_error(err, errlen, "exchange log", "cannot start the notifier thread");
        st = GW_ERR_INTERNAL;
        goto fail;
    }
    log->notifier_started = true;
    if (pthread_create(&log->writer, NULL, writer_main, log) != 0) {
        copy_error(err, errlen, "exchange log", "cannot start the writer thread");
        st = GW_ERR_INTERNAL;
        goto fail;
    }
    *out = log;
    return GW_OK;

fail:
    if (st == GW_ERR_NOMEM) copy_error(err, errlen, "exchange log", "out of memory");
    if (log && log->notifier_started) stop_notifier(log);
    if (log && log->replayer_started)
        stop_replayer(log);
    free_log(log);
    return st;
}

/* Puts e at the end of the writer's queue and wakes the writer; log->lock is held. */
static void enqueue_locked(exchange_log *log, log_entry *e)
{
    if (log->queue_tail)
        log->queue_tail->next = e;
    else
        log->queue_head = e;
    log->queue_tail = e;
    pthread_cond_signal(&log->work);
}

/* Removes a still-queued entry from the queue (its waiter timed out). */
static void unlink_queued(exchange_log *log, log_entry *e)
{
    log_entry *prev = NULL;
    for (log_entry *it = log->queue_head; it; prev = it, it = it->next) {
        if (it != e) continue;
        if (prev)
            prev->next = e->next;
        else
            log->queue_head = e->next;
        if (log->queue_tail == e) log->queue_tail = prev;
        return;
    }
}

gw_status gw_exchange_log_append(exchange_log *log, const gw_log_record *rec)
{
    unsigned char uuid[UUID_LEN];
    if (!log || !rec) return GW_ERR_INVALID_ARG;
    gw_status st = validate_record(rec, uuid);
    if (st != GW_OK) return st;

    struct timespec deadline = gw_monotonic_deadline_ms(log->commit_timeout_ms);
    log_entry *e = entry_new(rec, uuid, &log->mono_attr);
    if (!e) return GW_ERR_NOMEM;

    pthread_mutex_lock(&log->lock);
    if (log->stopping || log->chain_broken || log->held) {
        pthread_mutex_unlock(&log->lock);
        entry_free(e);
        return GW_ERR_LOG_UNAVAILABLE;
    }
    enqueue_locked(log, e);

    int rc = 0;
    while (e->state != ENTRY_COMMITTED && e->state != ENTRY_REFUSED && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&e->done, &log->lock, &deadline);

    if (e->state == ENTRY_COMMITTED) {
        st = GW_OK;
    } else if (e->state == ENTRY_REFUSED) {
        st = GW_ERR_LOG_UNAVAILABLE; /* the writer let go of it: ours to free */
    } else {
        st = GW_ERR_LOG_UNAVAILABLE;
        if (e->state == ENTRY_QUEUED) {
            unlink_queued(log, e);
        } else {
            e->abandoned = true; /* the writer holds it and frees it */
            e = NULL;
        }
    }
    pthread_mutex_unlock(&log->lock);
    if (e) entry_free(e);
    return st;
}

gw_status gw_exchange_log_submit(exchange_log *log, const gw_log_record *rec,
                                 exchange_log_notify_fn notify, void *arg)
{
    unsigned char uuid[UUID_LEN];
    if (!log || !rec || !notify) return GW_ERR_INVALID_ARG;
    gw_status st = validate_record(rec, uuid);
    if (st != GW_OK) return st;

    log_entry *e = entry_new(rec, uuid, &log->mono_attr);
    if (!e) return GW_ERR_NOMEM;
    e->notify = notify;
    e->notify_arg = arg;
    e->deadline = gw_monotonic_deadline_ms(log->commit_timeout_ms);

    pthread_mutex_lock(&log->lock);
    if (log->stopping || log->chain_broken || log->held || log->notifier_stopping) {
        pthread_mutex_unlock(&log->lock);
        entry_free(e);
        return GW_ERR_LOG_UNAVAILABLE;
    }
    enqueue_locked(log, e);
    /* The notifier sleeps until the earliest deadline it holds, and every deadline is the same
     * commit timeout after its submission: a new entry never comes due before the ones already
     * held, so the notifier is woken only when it held none (it then sleeps without a timeout).
     * Waking it on every submission made it rescan the whole list once per exchange. */
    bool was_idle = log->async_head == NULL;
    e->async_next = log->async_head;
    log->async_head = e;
    if (was_idle) pthread_cond_signal(&log->settled);
    pthread_mutex_unlock(&log->lock);
    return GW_OK;
}

void gw_exchange_log_hold(exchange_log *log, bool held)
{
    if (!log) return;
    pthread_mutex_lock(&log->lock);
    log->held = held;
    pthread_mutex_unlock(&log->lock);
}

void gw_exchange_log_close(exchange_log *log)
{
    if (!log) return;
    pthread_mutex_lock(&log->lock);
    log->stopping = true;
    pthread_cond_signal(&log->work);
    pthread_mutex_unlock(&log->lock);
    pthread_join(log->writer, NULL);
    if (log->replayer_started)
        stop_replayer(log);
    stop_notifier(log);
    free_log(log);
}

void gw_exchange_log_state(exchange_log *log, long *queue_depth, int *chain_broken)
{
    long n = 0;
    pthread_mutex_lock(&log->lock);
    for (const log_entry *e = log->queue_head; e; e = e->next) n++;
    *chain_broken = log->chain_broken;
    pthread_mutex_unlock(&log->lock);
    *queue_depth = n;
}
