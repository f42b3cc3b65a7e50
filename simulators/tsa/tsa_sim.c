/*
 * tsa_sim.c — tsa-sim: a small RFC 3161 time-stamping authority for the demo and the tests.
 * POST /tsa with Content-Type application/timestamp-query (a DER TimeStampReq) is answered with
 * application/timestamp-reply (a DER TimeStampResp) built by OpenSSL's TS_RESP_CTX functions,
 * signed with the key and certificate given (scripts/pki makes tsa.key/tsa.pem, critical
 * extendedKeyUsage timeStamping). Runs on pide_simcommon's HTTP server, so --port, --port-file,
 * --latency-ms, --error-rate (HTTP 500) and --help behave as in every simulator. For negative
 * tests --bad-reply MODE answers every query wrongly: garbage (random bytes as a reply),
 * rejection (a well-formed reply with status rejection), other-digest (a valid token over a
 * digest other than the one asked for).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "sim_buf.h"
#include "sim_server.h"

#define TSA_PATH "/tsa"
#define QUERY_TYPE "application/timestamp-query"
#define REPLY_TYPE "application/timestamp-reply"
/* The demo TSA's policy (an arbitrary arc; a real TSA publishes its own). */
#define TSA_POLICY_OID "1.3.6.1.4.1.99999.3161.1"

enum bad_reply { BAD_NONE, BAD_GARBAGE, BAD_REJECTION, BAD_OTHER_DIGEST };

typedef struct tsa_sim {
    EVP_PKEY *key;
    X509 *cert;
    ASN1_OBJECT *policy;
    enum bad_reply bad;
    pthread_mutex_t lock; /* serial numbers */
    uint64_t next_serial;
} tsa_sim;

static ASN1_INTEGER *serial_cb(TS_RESP_CTX *ctx, void *data)
{
    (void)ctx;
    tsa_sim *sim = data;
    pthread_mutex_lock(&sim->lock);
    uint64_t serial = sim->next_serial++;
    pthread_mutex_unlock(&sim->lock);
    ASN1_INTEGER *n = ASN1_INTEGER_new();
    if (n && !ASN1_INTEGER_set_uint64(n, serial)) {
        ASN1_INTEGER_free(n);
        n = NULL;
    }
    return n;
}

static void reply_text(sim_response *resp, int status, const char *text)
{
    resp->status = status;
    sim_response_set_content_type(resp, "text/plain; charset=utf-8");
    sim_buf_append_str(&resp->body, text);
}

/* The query with its imprint replaced by the SHA-256 of other bytes (BAD_OTHER_DIGEST). */
static unsigned char *other_digest_query(const char *body, size_t len, long *out_len)
{
    const unsigned char *p = (const unsigned char *)body;
    TS_REQ *req = d2i_TS_REQ(NULL, &p, (long)len);
    unsigned char *der = NULL;
    if (!req) return NULL;
    TS_MSG_IMPRINT *mi = TS_REQ_get_msg_imprint(req);
    ASN1_OCTET_STRING *digest = TS_MSG_IMPRINT_get_msg(mi);
    unsigned char fake[64];
    int n = ASN1_STRING_length(digest);
    if (n > 0 && n <= (int)sizeof fake) {
        memcpy(fake, ASN1_STRING_get0_data(digest), (size_t)n);
        fake[0] ^= 0xff;
        ASN1_OCTET_STRING_set(digest, fake, n);
        int dl = i2d_TS_REQ(req, &der);
        *out_len = dl;
        if (dl <= 0) der = NULL;
    }
    TS_REQ_free(req);
    return der;
}

static void handle_request(void *ctx, const sim_request *req, sim_response *resp)
{
    tsa_sim *sim = ctx;
    if (strcmp(req->method, "POST") != 0) {
        reply_text(resp, 405, "only POST " TSA_PATH "\n");
        return;
    }
    if (strcmp(req->target, TSA_PATH) != 0) {
        reply_text(resp, 404, "the time-stamping service is at POST " TSA_PATH "\n");
        return;
    }
    if (!req->content_type || strncasecmp(req->content_type, QUERY_TYPE, strlen(QUERY_TYPE)) != 0) {
        reply_text(resp, 415, "Content-Type must be " QUERY_TYPE "\n");
        return;
    }
    if (sim->bad == BAD_GARBAGE) {
        unsigned char junk[200];
        RAND_bytes(junk, sizeof junk);
        junk[0] = 0x30; /* looks like the start of a SEQUENCE */
        sim_response_set_content_type(resp, REPLY_TYPE);
        sim_buf_append(&resp->body, junk, sizeof junk);
        return;
    }

    const char *query = req->body;
    long query_len = (long)req->body_len;
    unsigned char *altered = NULL;
    if (sim->bad == BAD_OTHER_DIGEST && (altered = other_digest_query(req->body, req->body_len,
                                                                      &query_len)) != NULL)
        query = (const char *)altered;

    TS_RESP_CTX *rctx = TS_RESP_CTX_new();
    BIO *in = BIO_new_mem_buf(query, (int)query_len);
    TS_RESP *tsr = NULL;
    unsigned char *der = NULL;
    int der_len = -1;
    if (!rctx || !in || !TS_RESP_CTX_set_signer_cert(rctx, sim->cert) ||
        !TS_RESP_CTX_set_signer_key(rctx, sim->key) ||
        !TS_RESP_CTX_set_def_policy(rctx, sim->policy) ||
        !TS_RESP_CTX_add_md(rctx, EVP_sha256()) || !TS_RESP_CTX_add_md(rctx, EVP_sha384()) ||
        !TS_RESP_CTX_add_md(rctx, EVP_sha512()) ||
        !TS_RESP_CTX_set_signer_digest(rctx, EVP_sha256()) ||
        !TS_RESP_CTX_set_ess_cert_id_digest(rctx, EVP_sha256()) ||
        !TS_RESP_CTX_set_accuracy(rctx, 1, 0, 0)) {
        reply_text(resp, 500, "cannot set up the time-stamp context\n");
        goto done;
    }
    TS_RESP_CTX_set_serial_cb(rctx, serial_cb, sim);
    /* A malformed query still gets a TimeStampResp, with status rejection/badDataFormat. */
    tsr = TS_RESP_create_response(rctx, in);
    if (tsr && sim->bad == BAD_REJECTION) {
        TS_RESP_free(tsr);
        tsr = TS_RESP_new();
        TS_STATUS_INFO *si = TS_STATUS_INFO_new();
        if (tsr && si) {
            TS_STATUS_INFO_set_status(si, TS_STATUS_REJECTION);
            TS_RESP_set_status_info(tsr, si);
        }
        TS_STATUS_INFO_free(si);
    }
    if (!tsr || (der_len = i2d_TS_RESP(tsr, &der)) <= 0) {
        reply_text(resp, 500, "cannot build the time-stamp reply\n");
        goto done;
    }
    sim_response_set_content_type(resp, REPLY_TYPE);
    sim_buf_append(&resp->body, der, (size_t)der_len);
done:
    OPENSSL_free(der);
    OPENSSL_free(altered);
    TS_RESP_free(tsr);
    BIO_free(in);
    TS_RESP_CTX_free(rctx);
}

static void handle_injected_failure(void *ctx, const sim_request *req, sim_response *resp)
{
    (void)ctx;
    (void)req;
    reply_text(resp, 500, "injected failure (--error-rate)\n");
}

/* Takes "--NAME VALUE" / "--NAME=VALUE" out of argv (the shared parser knows only its own). */
static const char *take_option(int *argc, char **argv, const char *opt, bool *bad)
{
    size_t n = strlen(opt);
    const char *value = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], opt) == 0) {
            if (i + 1 >= *argc) {
                *bad = true;
                continue;
            }
            value = argv[++i];
        } else if (strncmp(argv[i], opt, n) == 0 && argv[i][n] == '=') {
            value = argv[i] + n + 1;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    return value;
}

static bool load_pem(const char *key_path, const char *cert_path, tsa_sim *sim, char *why,
                     size_t whylen)
{
    FILE *f = fopen(cert_path, "r");
    if (!f) {
        snprintf(why, whylen, "--cert: '%s': cannot open: %s", cert_path, strerror(errno));
        return false;
    }
    sim->cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!sim->cert) {
        snprintf(why, whylen, "--cert: '%s' holds no PEM certificate", cert_path);
        return false;
    }
    f = fopen(key_path, "r");
    if (!f) {
        snprintf(why, whylen, "--key: '%s': cannot open: %s", key_path, strerror(errno));
        return false;
    }
    sim->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!sim->key) {
        snprintf(why, whylen, "--key: '%s' holds no PEM private key", key_path);
        return false;
    }
    if (X509_check_private_key(sim->cert, sim->key) != 1) {
        snprintf(why, whylen, "--key does not match --cert");
        return false;
    }
    /* RFC 3161 2.3: the TSA's certificate must carry the timeStamping EKU, critical. */
    int crit = -1;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(sim->cert, NID_ext_key_usage, &crit, NULL);
    bool ok = eku && crit == 1 && sk_ASN1_OBJECT_num(eku) == 1 &&
              OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_time_stamp;
    EXTENDED_KEY_USAGE_free(eku);
    if (!ok) {
        snprintf(why, whylen, "--cert: '%s' lacks the critical extendedKeyUsage timeStamping "
                              "(alone) a TSA certificate needs (RFC 3161 2.3)", cert_path);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    sim_server_config cfg = {
        .name = "tsa-sim",
        .handler = handle_request,
        .failure_handler = handle_injected_failure,
    };
    bool bad = false;
    tsa_sim sim = {.bad = BAD_NONE};
    const char *key = take_option(&argc, argv, "--key", &bad);
    const char *cert = take_option(&argc, argv, "--cert", &bad);
    const char *bad_reply = take_option(&argc, argv, "--bad-reply", &bad);
    if (bad) {
        fprintf(stderr, "tsa-sim: --key, --cert and --bad-reply need a value\n");
        return 2;
    }
    switch (sim_options_parse(&cfg.options, argc, argv, cfg.name,
                              "An RFC 3161 time-stamping authority: POST " TSA_PATH " with\n"
                              "Content-Type " QUERY_TYPE " (DER TimeStampReq),\n"
                              "answered with " REPLY_TYPE " (DER TimeStampResp).\n"
                              "  --key FILE         required: the TSA's PEM private key\n"
                              "  --cert FILE        required: its certificate (critical EKU\n"
                              "                     timeStamping; scripts/pki makes tsa.pem)\n"
                              "  --bad-reply MODE   answer every query wrongly, for tests:\n"
                              "                     garbage | rejection | other-digest")) {
    case SIM_OPTIONS_RUN: break;
    case SIM_OPTIONS_EXIT_OK: return 0;
    case SIM_OPTIONS_EXIT_USAGE: return 2;
    }
    if (!key || !cert) {
        fprintf(stderr, "tsa-sim: --key FILE and --cert FILE are required (see --help)\n");
        return 2;
    }
    if (bad_reply) {
        if (strcmp(bad_reply, "garbage") == 0) sim.bad = BAD_GARBAGE;
        else if (strcmp(bad_reply, "rejection") == 0) sim.bad = BAD_REJECTION;
        else if (strcmp(bad_reply, "other-digest") == 0) sim.bad = BAD_OTHER_DIGEST;
        else {
            fprintf(stderr, "tsa-sim: --bad-reply: '%s' is not garbage, rejection or "
                            "other-digest\n", bad_reply);
            return 2;
        }
    }
    char why[300];
    if (!load_pem(key, cert, &sim, why, sizeof why)) {
        fprintf(stderr, "tsa-sim: %s\n", why);
        EVP_PKEY_free(sim.key); /* what load_pem read before it refused */
        X509_free(sim.cert);
        return 2;
    }
    sim.policy = OBJ_txt2obj(TSA_POLICY_OID, 1);
    pthread_mutex_init(&sim.lock, NULL);
    /* Serial numbers stay unique across restarts: seconds since the epoch, then a counter. */
    sim.next_serial = (uint64_t)time(NULL) << 20;
    cfg.ctx = &sim;
    int rc = sim_server_run_until_signal(&cfg);
    ASN1_OBJECT_free(sim.policy);
    EVP_PKEY_free(sim.key);
    X509_free(sim.cert);
    pthread_mutex_destroy(&sim.lock);
    return rc;
}
