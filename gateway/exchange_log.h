/*
 * exchange_log.h — the durable, append-only log of every exchange, in PostgreSQL.
 *
 * Workers hand a finished exchange to gw_exchange_log_append(), which blocks until the row is
 * committed. One writer thread drains the queue and writes everything waiting in one
 * transaction (group commit), so many workers share one fsync. The gateway answers a caller
 * only after its row is committed; when the database cannot take the row in time the call
 * returns GW_ERR_LOG_UNAVAILABLE and the caller gets Server.LogUnavailable instead of data.
 *
 * With a spool configured (exchange_log_options.spool_dir, spool.h), a batch the database does
 * not commit within switch_after_ms is made durable in the local spool instead, and a replayer
 * thread writes it to the database later, in order and exactly once (docs/reliability.md).
 *
 * Rows are chained: each carries the SHA-256 of the previous row's hash and its own content,
 * so a deleted or altered row breaks the chain (see docs/exchange-log.md).
 */
#ifndef PIDE_GW_EXCHANGE_LOG_H
#define PIDE_GW_EXCHANGE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* One exchange as it is logged. Strings may be NULL (stored as SQL NULL); the log copies what
 * it needs, so the record may live in the caller's arena. Times are microseconds since the Unix
 * epoch; 0 means "did not happen" (e.g. no provider call for a request refused early). */
typedef struct gw_log_record {
    const char *exchange_id;     /* UUID text, the CUO returned to the caller */
    const char *client_member;   /* RUC of the calling agency, NULL when unidentified */
    const char *client_user;     /* DNI of the official */
    const char *auth_method;     /* "legacy-password", "mtls", "wss-signature", "declared-header", "none" */
    const char *client_subsystem;/* pgw:client/subsystemCode, as declared */
    const char *client_cert_sha256; /* hex fingerprint of the certificate that authenticated the
                                       caller (TLS client or WS-Security signer), NULL if none */
    const char *message_id;      /* the caller's pgw:id (replay detection), NULL if none */
    const char *request_signature_value; /* base64 SignatureValue of a WS-Security signed request */
    const char *client_address;  /* peer IP */
    const char *service;
    const char *operation;
    const char *adapter;
    const char *subject_type;    /* "DNI", "CE"... */
    const char *subject_id;
    const char *purpose;
    const char *procedure;
    const char *caller_host;     /* what the request declares about the calling machine/user */
    const char *caller_ip;
    const char *caller_user;
    const char *caller_mac;
    const unsigned char *request; size_t request_len;   /* as received (secrets redacted) */
    const unsigned char *response; size_t response_len; /* as sent */
    unsigned char request_sha256[32];   /* over the bytes as received, before redaction */
    unsigned char response_sha256[32];
    const char *signature_value; /* base64 SignatureValue of the response */
    int64_t t_request_in;
    int64_t t_provider_out;
    int64_t t_provider_in;
    int64_t t_response_out;
    const char *outcome;         /* "ok" or "fault" */
    const char *fault_code;      /* "Client.MalformedXml"..., NULL when ok */
    const char *fault_message;
    const char *result_code;     /* contract result code (coResultado...) */
    int http_status;
    /* W3C Trace Context (migration 0007), covered by the row hash since version 4 (0008).
     * 32 / 16 lowercase hex, or NULL. */
    const char *trace_id;        /* the exchange's trace: the caller's or one the gateway began */
    const char *trace_parent_id; /* the caller's parent-id, NULL when the gateway began the trace */
    /* NULL: request, response and fault_message are stored as they are. "cms": the service
     * encrypts at rest (body_crypt.h) and they already hold CMS EnvelopedData (request/response
     * DER, fault_message base64); the digests stay those of the plaintext. Migration 0008. */
    const char *body_encryption;
} gw_log_record;

typedef struct exchange_log exchange_log;

typedef struct exchange_log_options {
    const char *conninfo;        /* libpq conninfo */
    const char *password;        /* NULL: none / from conninfo / .pgpass */
    int batch_max;               /* most rows per transaction; default 256 */
    int commit_timeout_ms;       /* longest an append waits; default 5000 */
    /* Called by the writer thread after each committed batch with the (seq, row_hash) of its
     * last row, as this writer computed it (the checkpointer's gw_checkpointer_note_commit);
     * must be quick. NULL: none. */
    void (*on_commit)(void *arg, int64_t seq, const unsigned char row_hash[32]);
    void *on_commit_arg;
    /* The durable local spool (docs/reliability.md, "The spool"). NULL: off, the log fails
     * closed as before. Else a batch the database does not commit within switch_after_ms (or
     * cannot: connection lost) is appended to the spool and fdatasync'd instead; every later
     * batch follows it there until a replayer thread has written the spool to the database in
     * order. spool_max_bytes bounds it: when full, rows are refused (Server.LogUnavailable). */
    const char *spool_dir;
    uint64_t spool_max_bytes;
    int switch_after_ms; /* default 1000; must be below commit_timeout_ms */
} exchange_log_options;

/* Connects (failing start-up when the database is unreachable or the schema is missing) and
 * starts the writer thread. err gets the reason on failure. */
gw_status gw_exchange_log_open(const exchange_log_options *opt, exchange_log **out, char *err,
                               size_t errlen);
/* Blocks until the row is committed (GW_OK) or cannot be (GW_ERR_LOG_UNAVAILABLE). Safe from
 * many threads. */
gw_status gw_exchange_log_append(exchange_log *log, const gw_log_record *rec);
/* How gw_exchange_log_submit reports: status GW_OK once the row is committed, or
 * GW_ERR_LOG_UNAVAILABLE when it cannot be within commit_timeout_ms (then it never will be). */
typedef void (*exchange_log_notify_fn)(void *arg, gw_status status);
/* Queues the row without waiting for it: the same outcome gw_exchange_log_append would return is
 * reported later, exactly once, by notify(arg, status) from the log's notifier thread (possibly
 * before this returns; with the log's lock held, so notify must be short and must not call the
 * log). Returns GW_OK when notify will be called; any other status means it will not be (the
 * record is invalid, or the log is stopping or its chain broken: GW_ERR_LOG_UNAVAILABLE). */
gw_status gw_exchange_log_submit(exchange_log *log, const gw_log_record *rec,
                                 exchange_log_notify_fn notify, void *arg);
/* While held, every new append or submission is refused with GW_ERR_LOG_UNAVAILABLE (rows
 * already queued are still written): the checkpointer holds the log while time-stamps fail
 * for too long (docs/exchange-log.md, "Signed checkpoints"). */
void gw_exchange_log_hold(exchange_log *log, bool held);
/* For the admin listener (admin.h): rows queued for the writer, and whether the chain was found
 * to go backwards (every append refused until a restart). */
void gw_exchange_log_state(exchange_log *log, long *queue_depth, int *chain_broken);
/* The spool's state for /readyz and /metrics. False (and *out zeroed) when the spool is off. */
typedef struct gw_log_spool_state {
    bool spooling;       /* rows are going to the spool (the database is down, or not drained) */
    bool writable;       /* the spool takes rows: not failed and below its bound */
    bool replay_stopped; /* a corrupt record stopped the replay: operator needed */
    uint64_t bytes, max_bytes, records, replayed_total, full_total;
} gw_log_spool_state;
bool gw_exchange_log_spool_state(exchange_log *log, gw_log_spool_state *out);
/* Drains the queue, stops the writer, reports every submission, disconnects. */
void gw_exchange_log_close(exchange_log *log);

/* ---- the canonical row hash, shared by the writer and the verifier (tools/) ---------------
 * One definition of docs/exchange-log.md "The chain": row_hash = SHA-256(prev_hash || F(f1) ||
 * ... || F(fn)), F(NULL) = 0x00, F(v) = 0x01 || be32 length || v, where v is the value's
 * PostgreSQL binary send form. The fields are the table's columns in canonical (table) order,
 * as GW_LOG_FIELD_NAMES lists them; hash version 1 covers the first 27, version 2 the first 32,
 * version 3 the first 36, version 4 all 39 (+ trace_id, trace_parent_id, body_encryption). */
#define GW_LOG_HASH_LEN 32
#define GW_LOG_HASH_VERSION_CURRENT 4
#define GW_LOG_FIELD_COUNT 39
/* Indexes into the canonical list of the fields verifiers treat specially. */
#define GW_LOG_FIELD_REQUEST 13
#define GW_LOG_FIELD_RESPONSE 14
#define GW_LOG_FIELD_FAULT_MESSAGE 24
#define GW_LOG_FIELD_HASH_VERSION 31
#define GW_LOG_FIELD_FIRST_V4 36 /* trace_id, trace_parent_id, body_encryption */
#define GW_LOG_FIELD_BODY_ENCRYPTION 38
/* A value in binary send form; len -1 is SQL NULL. */
typedef struct gw_log_field {
    const void *data;
    int32_t len;
} gw_log_field;
/* The column names of the 39 hashed fields, in canonical order (seq first). */
extern const char *const GW_LOG_FIELD_NAMES[GW_LOG_FIELD_COUNT];
/* How many leading fields hash version v covers: 27, 32, 36, 39; 0 for an unknown version. */
int gw_log_hash_field_count(int version);
/* row_hash of fields[0..count) chained on prev; false when count is not a version's count or
 * SHA-256 failed. md is a reusable digest context. */
bool gw_log_row_hash(void *md /* EVP_MD_CTX * */, const unsigned char prev[GW_LOG_HASH_LEN],
                     const gw_log_field *fields, int count, unsigned char out[GW_LOG_HASH_LEN]);

/* NULL when the row (all GW_LOG_FIELD_COUNT fields) carries only fields its hash version covers;
 * else the problem, in the words of exchange_log_verify_chain() (buf may hold it). */
const char *gw_log_uncovered_fields(int version, const gw_log_field *fields, char *buf,
                                    size_t buflen);

/* Every database session of the gateway and its tools starts with this statement, so that no
 * object the database owner controls (a public.sha256, an operator, a view shadowing a table,
 * ALTER DATABASE ... SET search_path) is ever resolved by an unqualified name. */
#define GW_LOG_PIN_SEARCH_PATH_SQL "SET search_path = pg_catalog, pg_temp"

/* Largest record the log accepts: the sum of its value sizes (bodies, and text at its worst
 * UTF-8 repair) must stay under PostgreSQL's 1 GB limit for one row; a larger one is refused
 * with GW_ERR_INVALID_ARG before anything is copied. Exposed for tests. */
#define GW_LOG_MAX_ROW_BYTES (((size_t)1 << 30) - ((size_t)1 << 20))
/* GW_OK when rec fits in one row (by lengths alone; no value is read), else
 * GW_ERR_INVALID_ARG. */
gw_status gw_log_record_size_check(const gw_log_record *rec);

#endif
