/*
 * exchange_log.h — the durable, append-only log of every exchange, in PostgreSQL.
 *
 * Workers hand a finished exchange to exchange_log_append(), which blocks until the row is
 * committed. One writer thread drains the queue and writes everything waiting in one
 * transaction (group commit), so many workers share one fsync. The gateway answers a caller
 * only after its row is committed; when the database cannot take the row in time the call
 * returns GW_ERR_LOG_UNAVAILABLE and the caller gets Server.LogUnavailable instead of data.
 *
 * Rows are chained: each carries the SHA-256 of the previous row's hash and its own content,
 * so a deleted or altered row breaks the chain (see docs/exchange-log.md).
 */
#ifndef PIDE_GW_EXCHANGE_LOG_H
#define PIDE_GW_EXCHANGE_LOG_H

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
} gw_log_record;

typedef struct exchange_log exchange_log;

typedef struct exchange_log_options {
    const char *conninfo;        /* libpq conninfo */
    const char *password;        /* NULL: none / from conninfo / .pgpass */
    int batch_max;               /* most rows per transaction; default 256 */
    int commit_timeout_ms;       /* longest an append waits; default 5000 */
} exchange_log_options;

/* Connects (failing start-up when the database is unreachable or the schema is missing) and
 * starts the writer thread. err gets the reason on failure. */
gw_status exchange_log_open(const exchange_log_options *opt, exchange_log **out, char *err,
                            size_t errlen);
/* Blocks until the row is committed (GW_OK) or cannot be (GW_ERR_LOG_UNAVAILABLE). Safe from
 * many threads. */
gw_status exchange_log_append(exchange_log *log, const gw_log_record *rec);
/* Drains the queue, stops the writer, disconnects. */
void exchange_log_close(exchange_log *log);

#endif
