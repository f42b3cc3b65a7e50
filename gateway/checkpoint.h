/*
 * checkpoint.h — signed, time-stamped checkpoints of the exchange log (docs/exchange-log.md,
 * "Signed checkpoints"; table exchange_checkpoint, migration 0006).
 *
 * The checkpointer runs in its own thread with its own database connection, so no worker and
 * not the log writer ever waits for a signature or for the time-stamping authority. The log
 * writer tells it (gw_checkpointer_note_commit, a mutex and a signal) the (seq, row_hash) of the
 * last row it committed itself; every `every_rows` rows or `every_seconds` seconds, and once at
 * a clean shutdown, the checkpointer signs a statement naming that head — the writer's own
 * hash, not one read back from the database — as a CMS SignedData (detached content) with the
 * gateway's signing key, inserts it, then asks the RFC 3161 time-stamping authority at
 * `timestamp_url` for a token over SHA-256 of the signed document and stores it. While stamps
 * fail for longer than `stamp_grace_s`, it either holds the log (every new exchange gets
 * Server.LogUnavailable until a stamp succeeds again) or, with refuse_when_unstamped false,
 * logs an ERROR alert and lets exchanges continue.
 *
 * The statement format and its checks are shared with the verifier (tools/pide_audit_verify.c).
 */
#ifndef PIDE_GW_CHECKPOINT_H
#define PIDE_GW_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exchange_log.h"
#include "status.h"

#define GW_CHECKPOINT_HASH_LEN 32
/* Room for any statement gw_checkpoint_statement_format writes (node ids are at most 128). */
#define GW_CHECKPOINT_STATEMENT_MAX 640
#define GW_CHECKPOINT_NODE_ID_MAX 128

/* What a checkpoint states; the text form is what is signed. */
typedef struct gw_checkpoint_statement {
    int64_t id;
    char node_id[GW_CHECKPOINT_NODE_ID_MAX + 1];
    int64_t head_seq;
    unsigned char head_row_hash[GW_CHECKPOINT_HASH_LEN];
    int64_t row_count;
    int64_t created_us; /* microseconds since the Unix epoch, UTC */
    unsigned char prev_sha256[GW_CHECKPOINT_HASH_LEN];
} gw_checkpoint_statement;

/* The canonical text (UTF-8, LF line ends, no trailing NUL counted):
 *   pide-gateway exchange-log checkpoint v1\n
 *   id: 7\n
 *   node: gw-lima-1\n
 *   seq: 12345\n
 *   row_hash: <64 lowercase hex>\n
 *   rows: 1000\n
 *   created: 2026-12-03T04:10:11.123456Z\n
 *   previous: <64 lowercase hex: SHA-256 of checkpoint id-1's signed document, zeros for id 1>\n
 * Returns its length, or 0 when out does not fit or the node id is empty, too long or holds a
 * control character. */
size_t gw_checkpoint_statement_format(const gw_checkpoint_statement *s, char *out, size_t outlen);
/* Parses exactly the canonical text (anything else, e.g. another spacing, is refused). */
bool gw_checkpoint_statement_parse(const unsigned char *text, size_t len,
                                   gw_checkpoint_statement *out);

/* CMS SignedData (DER) over statement, content detached, signed with key/cert (void *: EVP_PKEY,
 * X509) and SHA-256, the certificate included. *der is OPENSSL_malloc'd. */
gw_status gw_checkpoint_sign(void *key, void *cert, const unsigned char *statement, size_t len,
                             unsigned char **der, size_t *der_len, char *err, size_t errlen);

/* Verifies a checkpoint's signed document against the trust anchors in `signer_store`
 * (X509_STORE *): the CMS signature over the statement and the signer certificate's chain,
 * for the S/MIME signing purpose as `openssl cms -verify` checks it (key usage must allow
 * signatures). With signer_der given, the certificate inside the SignedData must be that one.
 * GW_OK or GW_ERR_BAD_SIGNATURE with the reason. */
gw_status gw_checkpoint_verify_signature(void *signer_store, const unsigned char *signed_der,
                                         size_t signed_len, const unsigned char *statement,
                                         size_t statement_len, const unsigned char *signer_der,
                                         size_t signer_len, char *err, size_t errlen);

/* Verifies an RFC 3161 TimeStampToken (DER) against the TSA trust anchors in `tsa_store`
 * (X509_STORE *): its signature, the TSA certificate (critical timeStamping EKU, chain) and that
 * its messageImprint is SHA-256 of `data`. *gen_time_us gets its genTime. GW_OK or
 * GW_ERR_BAD_SIGNATURE. */
gw_status gw_checkpoint_verify_token(void *tsa_store, const unsigned char *token_der,
                                     size_t token_len, const unsigned char *data, size_t data_len,
                                     int64_t *gen_time_us, char *err, size_t errlen);

/* Loads a PEM file of one or more certificates into a new X509_STORE (void *). */
gw_status gw_checkpoint_load_store(const char *pem_path, void **store, char *err, size_t errlen);
void gw_checkpoint_free_store(void *store);

typedef struct gw_checkpoint_options {
    const char *conninfo;       /* the log's database */
    const char *password;       /* NULL: none / from conninfo / .pgpass */
    const char *node_id;        /* this gateway's name in the statements */
    const char *key_path;       /* the gateway's signing key and certificate (<signing>) */
    const char *cert_path;
    const char *pin_file;       /* a PKCS#11 key_path: its PIN file and module (key_store.h) */
    const char *pkcs11_module;
    int every_rows;             /* a checkpoint once this many rows were committed... */
    int every_seconds;          /* ...or this long after the last one, if rows were added */
    const char *timestamp_url;  /* http://host:port/path of an RFC 3161 TSA; NULL: no stamps */
    const char *timestamp_ca_path; /* PEM CA(s) the TSA's tokens must chain to; NULL: unchecked */
    int stamp_timeout_ms;       /* one TSA request */
    int stamp_grace_s;          /* how long stamps may fail before holding/alerting */
    bool refuse_when_unstamped; /* true: hold the log (Server.LogUnavailable); false: alert */
    /* true (the log's spool is on): an unreachable database at open is not an error; the
     * checkpointer connects (and retries) when it has a checkpoint to write. */
    bool start_without_db;
} gw_checkpoint_options;

typedef struct gw_checkpointer gw_checkpointer;

/* Loads the key, connects, checks migration 0006 is applied. Does not start the thread. */
gw_status gw_checkpointer_open(const gw_checkpoint_options *opt, gw_checkpointer **out,
                               char *err, size_t errlen);
/* Starts the thread; `log` is held while stamps fail too long (fail-closed). */
gw_status gw_checkpointer_start(gw_checkpointer *cp, exchange_log *log, char *err, size_t errlen);
/* The log writer's commit hook (exchange_log_options.on_commit): cheap, never blocks long. */
void gw_checkpointer_note_commit(void *cp, int64_t seq, const unsigned char row_hash[32]);
/* Stops the thread (call before closing the log: the thread may hold or release it). Idempotent;
 * NULL is allowed. */
void gw_checkpointer_stop(gw_checkpointer *cp);
/* Stops the thread if running, writes a final checkpoint of the last committed head (call after
 * the log was closed, so its last commits are in), tries once to stamp what is unstamped, and
 * frees everything. NULL is allowed. */
void gw_checkpointer_close(gw_checkpointer *cp);

#endif
