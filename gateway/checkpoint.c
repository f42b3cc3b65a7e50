/*
 * checkpoint.c — signed, time-stamped checkpoints of the exchange log (checkpoint.h): the
 * statement's canonical text, its CMS signature, the RFC 3161 request to the time-stamping
 * authority (a small HTTP/1.1 client: plain http:// only, one request per connection), and the
 * checkpointer thread with its own PostgreSQL connection. Every statement names its objects by
 * schema and the session pins search_path (docs/security.md). docs/exchange-log.md, "Signed
 * checkpoints", describes the format and the behaviour; migration 0006 the table.
 */
#include "checkpoint.h"

#include "clock.h"
#include "key_store.h"
#include "log.h"
#include "secret_file.h"

#include <errno.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HASH_LEN GW_CHECKPOINT_HASH_LEN
#define STATEMENT_HEADER "pide-gateway exchange-log checkpoint v1\n"
/* "pide_ckp" as a big-endian int8: checkpoints get their gapless ids under it. */
#define CHECKPOINT_LOCK_SQL "SELECT pg_catalog.pg_advisory_xact_lock(8100115791357373296)"
#define MAX_TSA_REPLY (256 * 1024)
#define STAMP_RETRY_MS 2000
#define MAKE_RETRY_MS 1000

/* ---- the statement ------------------------------------------------------------------------ */

static void hex_of(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool unhex_lower(const char *s, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int v[2];
        for (int k = 0; k < 2; k++) {
            char c = s[2 * i + (size_t)k];
            if (c >= '0' && c <= '9') v[k] = c - '0';
            else if (c >= 'a' && c <= 'f') v[k] = c - 'a' + 10;
            else return false;
        }
        out[i] = (unsigned char)(v[0] << 4 | v[1]);
    }
    return true;
}

static bool node_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > GW_CHECKPOINT_NODE_ID_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f) return false;
    return true;
}

static void format_time(int64_t us, char out[48])
{
    time_t secs = (time_t)(us / 1000000);
    long frac = (long)(us % 1000000);
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

size_t gw_checkpoint_statement_format(const gw_checkpoint_statement *s, char *out, size_t outlen)
{
    char head[2 * HASH_LEN + 1], prev[2 * HASH_LEN + 1], created[48];
    if (!s || !out || !node_id_ok(s->node_id) || s->id <= 0 || s->head_seq < 0 ||
        s->row_count < 0)
        return 0;
    hex_of(s->head_row_hash, HASH_LEN, head);
    hex_of(s->prev_sha256, HASH_LEN, prev);
    format_time(s->created_us, created);
    int n = snprintf(out, outlen,
                     STATEMENT_HEADER "id: %lld\nnode: %s\nseq: %lld\nrow_hash: %s\nrows: %lld\n"
                                      "created: %s\nprevious: %s\n",
                     (long long)s->id, s->node_id, (long long)s->head_seq, head,
                     (long long)s->row_count, created, prev);
    return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

/* Reads "NAME: " then the rest of the line from *p; false when the line is not that. */
static bool take_line(const char **p, const char *end, const char *name, char *value,
                      size_t valuelen)
{
    size_t nl = strlen(name);
    if ((size_t)(end - *p) < nl + 2 || memcmp(*p, name, nl) != 0 || (*p)[nl] != ':' ||
        (*p)[nl + 1] != ' ')
        return false;
    const char *v = *p + nl + 2;
    const char *eol = memchr(v, '\n', (size_t)(end - v));
    if (!eol || (size_t)(eol - v) >= valuelen || eol == v) return false;
    memcpy(value, v, (size_t)(eol - v));
    value[eol - v] = '\0';
    *p = eol + 1;
    return true;
}

static bool parse_int64(const char *s, int64_t *out)
{
    if (!*s || (s[0] == '0' && s[1]) ) return false; /* no sign, no leading zeros */
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10) return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return true;
}

/* "2026-12-03T04:10:11.123456Z" back to microseconds. */
static bool parse_time(const char *s, int64_t *us)
{
    int y, mo, d, h, mi, sec;
    long frac;
    char z;
    if (strlen(s) != 27 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%6ld%c", &y, &mo, &d, &h, &mi, &sec,
                                  &frac, &z) != 8 || z != 'Z')
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    *us = (int64_t)t * 1000000 + frac;
    char again[48];
    format_time(*us, again);
    return strcmp(again, s) == 0;
}

bool gw_checkpoint_statement_parse(const unsigned char *text, size_t len,
                                   gw_checkpoint_statement *out)
{
    const char *p = (const char *)text, *end = p + len;
    char v[GW_CHECKPOINT_NODE_ID_MAX + 2];
    size_t hl = strlen(STATEMENT_HEADER);
    memset(out, 0, sizeof *out);
    if (!text || len < hl || memcmp(p, STATEMENT_HEADER, hl) != 0) return false;
    p += hl;
    if (!take_line(&p, end, "id", v, sizeof v) || !parse_int64(v, &out->id) || out->id <= 0 ||
        !take_line(&p, end, "node", out->node_id, sizeof out->node_id) ||
        !node_id_ok(out->node_id) ||
        !take_line(&p, end, "seq", v, sizeof v) || !parse_int64(v, &out->head_seq) ||
        !take_line(&p, end, "row_hash", v, sizeof v) || strlen(v) != 2 * HASH_LEN ||
        !unhex_lower(v, HASH_LEN, out->head_row_hash) ||
        !take_line(&p, end, "rows", v, sizeof v) || !parse_int64(v, &out->row_count) ||
        !take_line(&p, end, "created", v, sizeof v) || !parse_time(v, &out->created_us) ||
        !take_line(&p, end, "previous", v, sizeof v) || strlen(v) != 2 * HASH_LEN ||
        !unhex_lower(v, HASH_LEN, out->prev_sha256))
        return false;
    /* Only the canonical text: formatting what was parsed gives the same bytes. */
    char again[GW_CHECKPOINT_STATEMENT_MAX];
    size_t n = gw_checkpoint_statement_format(out, again, sizeof again);
    return p == end && n == len && memcmp(again, text, len) == 0;
}

/* ---- signing and verifying ---------------------------------------------------------------- */

static void openssl_reason(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    gw_set_error(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
}

gw_status gw_checkpoint_sign(void *key, void *cert, const unsigned char *statement, size_t len,
                             unsigned char **der, size_t *der_len, char *err, size_t errlen)
{
    gw_status st = GW_ERR_SIGNATURE;
    BIO *in = BIO_new_mem_buf(statement, (int)len);
    CMS_ContentInfo *cms = NULL;
    *der = NULL;
    if (!in) goto fail;
    cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_DETACHED | CMS_BINARY | CMS_PARTIAL);
    if (!cms || !CMS_add1_signer(cms, cert, key, EVP_sha256(), CMS_BINARY) ||
        !CMS_final(cms, in, NULL, CMS_DETACHED | CMS_BINARY))
        goto fail;
    int n = i2d_CMS_ContentInfo(cms, der);
    if (n <= 0) goto fail;
    *der_len = (size_t)n;
    st = GW_OK;
fail:
    if (st != GW_OK) openssl_reason(err, errlen, "cannot sign the checkpoint (CMS)");
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    return st;
}

gw_status gw_checkpoint_verify_signature(void *signer_store, const unsigned char *signed_der,
                                         size_t signed_len, const unsigned char *statement,
                                         size_t statement_len, const unsigned char *signer_der,
                                         size_t signer_len, char *err, size_t errlen)
{
    gw_status st = GW_ERR_BAD_SIGNATURE;
    const unsigned char *p = signed_der;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)signed_len);
    BIO *content = BIO_new_mem_buf(statement, (int)statement_len);
    STACK_OF(X509) *signers = NULL;
    X509 *stored = NULL;
    if (!cms || p != signed_der + signed_len) {
        gw_set_error(err, errlen, "the signed document is not a DER CMS structure");
        goto done;
    }
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed || !CMS_is_detached(cms)) {
        gw_set_error(err, errlen, "the signed document is not a detached CMS SignedData");
        goto done;
    }
    if (!content ||
        CMS_verify(cms, NULL, signer_store, content, NULL, CMS_BINARY | CMS_DETACHED) != 1) {
        openssl_reason(err, errlen, "signature does not verify against the trusted signers");
        goto done;
    }
    signers = CMS_get0_signers(cms);
    if (!signers || sk_X509_num(signers) != 1) {
        gw_set_error(err, errlen, "the signed document must have exactly one signer");
        goto done;
    }
    if (signer_der) {
        const unsigned char *q = signer_der;
        stored = d2i_X509(NULL, &q, (long)signer_len);
        if (!stored || X509_cmp(stored, sk_X509_value(signers, 0)) != 0) {
            gw_set_error(err, errlen, "the signer certificate stored with it is not the one that signed");
            goto done;
        }
    }
    st = GW_OK;
done:
    X509_free(stored);
    sk_X509_free(signers);
    BIO_free(content);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return st;
}

static int64_t generalized_time_us(const ASN1_GENERALIZEDTIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return (int64_t)timegm(&tm) * 1000000;
}

gw_status gw_checkpoint_verify_token(void *tsa_store, const unsigned char *token_der,
                                     size_t token_len, const unsigned char *data, size_t data_len,
                                     int64_t *gen_time_us, char *err, size_t errlen)
{
    gw_status st = GW_ERR_BAD_SIGNATURE;
    const unsigned char *p = token_der;
    PKCS7 *token = d2i_PKCS7(NULL, &p, (long)token_len);
    TS_TST_INFO *info = NULL;
    TS_VERIFY_CTX *ctx = NULL;
    BIO *bio = NULL;
    if (!token || p != token_der + token_len || !(info = PKCS7_to_TS_TST_INFO(token))) {
        gw_set_error(err, errlen, "the time-stamp token is not a DER RFC 3161 TimeStampToken");
        goto done;
    }
    const TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(info);
    const X509_ALGOR *alg = TS_MSG_IMPRINT_get_algo((TS_MSG_IMPRINT *)mi);
    if (OBJ_obj2nid(alg->algorithm) != NID_sha256) {
        gw_set_error(err, errlen, "the time-stamp token's imprint is not SHA-256");
        goto done;
    }
    ctx = TS_VERIFY_CTX_new();
    bio = BIO_new_mem_buf(data, (int)data_len);
    if (!ctx || !bio) goto done;
    /* The context frees the store and the data BIO it is given: lend it references. */
    TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
    TS_VERIFY_CTX_set_data(ctx, bio);
    bio = NULL;
    X509_STORE_up_ref(tsa_store);
    TS_VERIFY_CTX_set_store(ctx, tsa_store);
    if (TS_RESP_verify_token(ctx, token) != 1) {
        openssl_reason(err, errlen, "time-stamp token does not verify (TSA signature, TSA "
                                    "certificate or messageImprint)");
        goto done;
    }
    if (gen_time_us) *gen_time_us = generalized_time_us(TS_TST_INFO_get_time(info));
    st = GW_OK;
done:
    BIO_free(bio);
    TS_VERIFY_CTX_free(ctx);
    TS_TST_INFO_free(info);
    PKCS7_free(token);
    ERR_clear_error();
    return st;
}

gw_status gw_checkpoint_load_store(const char *pem_path, void **out, char *err, size_t errlen)
{
    X509_STORE *store = X509_STORE_new();
    *out = NULL;
    if (!store) return GW_ERR_NOMEM;
    FILE *f = fopen(pem_path, "r");
    if (!f) {
        gw_set_error(err, errlen, "cannot open '%s': %s", pem_path, strerror(errno));
        X509_STORE_free(store);
        return GW_ERR_IO;
    }
    int certs = 0;
    X509 *c;
    while ((c = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, c) == 1) certs++;
        X509_free(c);
    }
    fclose(f);
    ERR_clear_error();
    if (certs == 0) {
        gw_set_error(err, errlen, "'%s' holds no PEM certificate", pem_path);
        X509_STORE_free(store);
        return GW_ERR_CONFIG;
    }
    *out = store;
    return GW_OK;
}

void gw_checkpoint_free_store(void *store) { X509_STORE_free(store); }

/* ---- the time-stamping authority over HTTP ------------------------------------------------ */

typedef struct tsa_url {
    char host[256];
    char port[8];
    char path[512];
} tsa_url;

static bool parse_http_url(const char *url, tsa_url *u)
{
    if (!url || strncmp(url, "http://", 7) != 0) return false;
    const char *h = url + 7;
    size_t hl = strcspn(h, ":/");
    if (hl == 0 || hl >= sizeof u->host) return false;
    memcpy(u->host, h, hl);
    u->host[hl] = '\0';
    const char *rest = h + hl;
    snprintf(u->port, sizeof u->port, "80");
    if (*rest == ':') {
        size_t pl = strspn(rest + 1, "0123456789");
        if (pl == 0 || pl > 5) return false;
        memcpy(u->port, rest + 1, pl);
        u->port[pl] = '\0';
        rest += 1 + pl;
    }
    if (*rest && *rest != '/') return false;
    if (strlen(*rest ? rest : "/") >= sizeof u->path) return false;
    snprintf(u->path, sizeof u->path, "%s", *rest ? rest : "/");
    for (const char *c = u->path; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f) return false;
    return true;
}

/* Waits for fd to be ready for `events` until the deadline; false on timeout or error. */
static bool wait_fd(int fd, short events, const struct timespec *deadline)
{
    for (;;) {
        if (gw_monotonic_reached(deadline)) return false;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, 100);
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return false;
    }
}

/* POSTs the query; on a 200 application/timestamp-reply, *reply gets the body (malloc'd). */
static gw_status http_post_tsa(const tsa_url *u, const unsigned char *query, size_t qlen,
                               int timeout_ms, unsigned char **reply, size_t *reply_len,
                               char *err, size_t errlen)
{
    struct timespec deadline = gw_monotonic_deadline_ms(timeout_ms);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int fd = -1;
    unsigned char *buf = NULL;
    size_t len = 0;
    gw_status st = GW_ERR_PROVIDER_UNAVAILABLE;
    *reply = NULL;
    if (getaddrinfo(u->host, u->port, &hints, &ai) != 0 || !ai) {
        gw_set_error(err, errlen, "cannot resolve %s", u->host);
        goto done;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) goto io_error;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) goto io_error;
    if (!wait_fd(fd, POLLOUT, &deadline)) goto timeout;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr) {
        errno = soerr;
        goto io_error;
    }
    char head[1024];
    int hn = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: pide-gateway\r\n"
                      "Content-Type: application/timestamp-query\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      u->path, u->host, u->port, qlen);
    const unsigned char *parts[2] = {(const unsigned char *)head, query};
    size_t sizes[2] = {(size_t)hn, qlen};
    for (int i = 0; i < 2; i++) {
        size_t off = 0;
        while (off < sizes[i]) {
            ssize_t w = send(fd, parts[i] + off, sizes[i] - off, MSG_NOSIGNAL);
            if (w > 0) {
                off += (size_t)w;
                continue;
            }
            if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                if (!wait_fd(fd, POLLOUT, &deadline)) goto timeout;
                continue;
            }
            goto io_error;
        }
    }
    buf = malloc(MAX_TSA_REPLY + 1);
    if (!buf) {
        st = GW_ERR_NOMEM;
        goto done;
    }
    for (;;) {
        if (len >= MAX_TSA_REPLY) {
            gw_set_error(err, errlen, "the TSA's reply exceeds %d bytes", MAX_TSA_REPLY);
            goto done;
        }
        ssize_t r = recv(fd, buf + len, MAX_TSA_REPLY - len, 0);
        if (r > 0) {
            len += (size_t)r;
            continue;
        }
        if (r == 0) break;
        if (errno == EAGAIN || errno == EINTR) {
            if (!wait_fd(fd, POLLIN, &deadline)) goto timeout;
            continue;
        }
        goto io_error;
    }
    buf[len] = '\0';
    int status = 0;
    if (len < 12 || sscanf((char *)buf, "HTTP/1.%*d %d", &status) != 1) {
        gw_set_error(err, errlen, "the TSA's answer is not HTTP");
        goto done;
    }
    unsigned char *body = (unsigned char *)strstr((char *)buf, "\r\n\r\n");
    if (!body) {
        gw_set_error(err, errlen, "the TSA's answer has no end of headers");
        goto done;
    }
    body += 4;
    if (status != 200) {
        gw_set_error(err, errlen, "the TSA answered HTTP %d", status);
        goto done;
    }
    /* Content-Type, case-insensitively, within the headers only. */
    bool typed = false;
    for (char *line = strstr((char *)buf, "\r\n"); line && (unsigned char *)line < body - 2;
         line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "content-type:", 13) == 0) {
            const char *v = line + 15;
            while (*v == ' ') v++;
            typed = strncasecmp(v, "application/timestamp-reply", 27) == 0;
        }
    }
    if (!typed) {
        gw_set_error(err, errlen, "the TSA's answer is not application/timestamp-reply");
        goto done;
    }
    *reply_len = len - (size_t)(body - buf);
    *reply = malloc(*reply_len ? *reply_len : 1);
    if (!*reply) {
        st = GW_ERR_NOMEM;
        goto done;
    }
    memcpy(*reply, body, *reply_len);
    st = GW_OK;
    goto done;
timeout:
    st = GW_ERR_PROVIDER_TIMEOUT;
    gw_set_error(err, errlen, "the TSA did not answer within %d ms", timeout_ms);
    goto done;
io_error:
    gw_set_error(err, errlen, "cannot reach the TSA at %s:%s: %s", u->host, u->port,
                 strerror(errno));
done:
    free(buf);
    if (fd >= 0) close(fd);
    if (ai) freeaddrinfo(ai);
    return st;
}

/* Asks the TSA for a token over SHA-256(data); checks the reply (granted, our imprint and
 * nonce, and — with a CA store — the TSA's signature) and returns the token's DER. */
static gw_status request_stamp(const tsa_url *u, X509_STORE *ca, int timeout_ms,
                               const unsigned char *data, size_t data_len, unsigned char **token,
                               size_t *token_len, int64_t *gen_time_us, char *err, size_t errlen)
{
    gw_status st = GW_ERR_PROVIDER_BAD_RESPONSE;
    unsigned char digest[32], nonce_bytes[8];
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_INTEGER *nonce = NULL;
    BIGNUM *bn = NULL;
    unsigned char *query = NULL, *reply = NULL;
    TS_RESP *resp = NULL;
    TS_VERIFY_CTX *vctx = NULL;
    *token = NULL;
    if (!req || !mi || !alg || !EVP_Digest(data, data_len, digest, NULL, EVP_sha256(), NULL) ||
        RAND_bytes(nonce_bytes, sizeof nonce_bytes) != 1 ||
        !(bn = BN_bin2bn(nonce_bytes, sizeof nonce_bytes, NULL)) ||
        !(nonce = BN_to_ASN1_INTEGER(bn, NULL))) {
        st = GW_ERR_INTERNAL;
        gw_set_error(err, errlen, "cannot build the time-stamp query");
        goto done;
    }
    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
    if (!TS_MSG_IMPRINT_set_algo(mi, alg) || !TS_MSG_IMPRINT_set_msg(mi, digest, sizeof digest) ||
        !TS_REQ_set_version(req, 1) || !TS_REQ_set_msg_imprint(req, mi) ||
        !TS_REQ_set_nonce(req, nonce) || !TS_REQ_set_cert_req(req, 1)) {
        st = GW_ERR_INTERNAL;
        gw_set_error(err, errlen, "cannot build the time-stamp query");
        goto done;
    }
    int qlen = i2d_TS_REQ(req, &query);
    size_t rlen = 0;
    if (qlen <= 0) {
        st = GW_ERR_INTERNAL;
        gw_set_error(err, errlen, "cannot encode the time-stamp query");
        goto done;
    }
    st = http_post_tsa(u, query, (size_t)qlen, timeout_ms, &reply, &rlen, err, errlen);
    if (st != GW_OK) goto done;
    st = GW_ERR_PROVIDER_BAD_RESPONSE;
    const unsigned char *p = reply;
    resp = d2i_TS_RESP(NULL, &p, (long)rlen);
    if (!resp || p != reply + rlen) {
        gw_set_error(err, errlen, "the TSA's reply is not a DER TimeStampResp (%zu bytes)", rlen);
        goto done;
    }
    if (ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp))) >
        TS_STATUS_GRANTED_WITH_MODS) {
        gw_set_error(err, errlen, "the TSA refused to stamp (status %ld)",
                     ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp))));
        goto done;
    }
    vctx = TS_REQ_to_TS_VERIFY_CTX(req, NULL);
    if (!vctx) goto done;
    int flags = TS_VFY_VERSION | TS_VFY_IMPRINT | TS_VFY_NONCE;
    if (ca) {
        flags |= TS_VFY_SIGNATURE;
        X509_STORE_up_ref(ca);
        TS_VERIFY_CTX_set_store(vctx, ca);
    }
    TS_VERIFY_CTX_set_flags(vctx, flags);
    if (TS_RESP_verify_response(vctx, resp) != 1) {
        openssl_reason(err, errlen, "the TSA's token is not over this checkpoint or does not verify");
        goto done;
    }
    PKCS7 *tok = TS_RESP_get_token(resp);
    int tl = tok ? i2d_PKCS7(tok, token) : -1;
    if (tl <= 0) {
        gw_set_error(err, errlen, "the TSA's reply holds no token");
        goto done;
    }
    *token_len = (size_t)tl;
    *gen_time_us = generalized_time_us(TS_TST_INFO_get_time(TS_RESP_get_tst_info(resp)));
    st = GW_OK;
done:
    TS_VERIFY_CTX_free(vctx);
    TS_RESP_free(resp);
    free(reply);
    OPENSSL_free(query);
    BN_free(bn);
    ASN1_INTEGER_free(nonce);
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(req);
    ERR_clear_error();
    return st;
}

/* ---- the checkpointer --------------------------------------------------------------------- */

struct gw_checkpointer {
    gw_checkpoint_options opt;
    char *conninfo, *password, *node_id, *timestamp_url;
    tsa_url url;
    X509_STORE *tsa_ca;
    EVP_PKEY *key;
    X509 *cert;
    unsigned char *cert_der;
    int cert_der_len;
    char cert_sha256[2 * HASH_LEN + 1];
    PGconn *conn;
    exchange_log *log;

    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping, started;
    pthread_t thread;
    /* Under lock: the newest row the log writer committed, and the head of our last checkpoint. */
    int64_t committed_seq;
    unsigned char committed_hash[HASH_LEN];
    int64_t checkpointed_seq;

    /* Thread only. */
    int64_t failing_since_us; /* monotonic time of the first failed stamp of a streak, 0: none */
    bool alerted, holding;
    bool make_failing;        /* the last checkpoint could not be written (logged once) */
};

static bool exec_ok(PGconn *conn, const char *sql, ExecStatusType want)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == want;
    PQclear(res);
    return ok;
}

static void one_line(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\t' || *p == '\r') *p = ' ';
}

static PGconn *connect_db(const gw_checkpointer *cp)
{
    const char *keys[5] = {"dbname", "application_name", "client_encoding", NULL, NULL};
    const char *values[5] = {cp->conninfo, "pide-gateway-checkpoint", "UTF8", NULL, NULL};
    if (cp->password) {
        keys[3] = "password";
        values[3] = cp->password;
    }
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn && PQstatus(conn) == CONNECTION_OK)
        exec_ok(conn, GW_LOG_PIN_SEARCH_PATH_SQL, PGRES_COMMAND_OK);
    return conn;
}

/* An outage (the server down, starting or stopping), not a server that is up and refuses us
 * (password, role, database: a configuration error)? PQpingParams does not log in. */
static bool server_is_down(const gw_checkpointer *cp)
{
    const char *keys[] = {"connect_timeout", "dbname", NULL};
    const char *values[] = {"2", cp->conninfo, NULL};
    PGPing p = PQpingParams(keys, values, 1);
    return p == PQPING_REJECT || p == PQPING_NO_RESPONSE;
}

static bool ensure_connected(gw_checkpointer *cp)
{
    if (PQstatus(cp->conn) == CONNECTION_OK) return true;
    PQreset(cp->conn);
    if (PQstatus(cp->conn) != CONNECTION_OK) return false;
    return exec_ok(cp->conn, GW_LOG_PIN_SEARCH_PATH_SQL, PGRES_COMMAND_OK);
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

static int64_t get_be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | (unsigned char)p[i];
    return (int64_t)v;
}

/* Writes a checkpoint of (seq, hash), if it is newer than the last one. */
static gw_status make_checkpoint(gw_checkpointer *cp, int64_t seq, const unsigned char hash[HASH_LEN])
{
    PGconn *conn = cp->conn;
    PGresult *res = NULL;
    unsigned char *signed_der = NULL;
    size_t signed_len = 0;
    char err[512] = "";
    gw_status st = GW_ERR_DATABASE;
    gw_checkpoint_statement s = {0};

    if (!ensure_connected(cp)) {
        gw_set_error(err, sizeof err, "%s", PQerrorMessage(conn));
        goto fail;
    }
    if (!exec_ok(conn, "BEGIN; SET LOCAL search_path = pg_catalog, pg_temp; " CHECKPOINT_LOCK_SQL,
                 PGRES_TUPLES_OK))
        goto db_error;
    res = PQexecParams(conn,
                       "SELECT id, head_seq, pg_catalog.sha256(signed_document) FROM "
                       "public.exchange_checkpoint ORDER BY id DESC LIMIT 1",
                       0, NULL, NULL, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) goto db_error;
    int64_t last_id = 0, last_seq = 0;
    if (PQntuples(res) == 1) {
        last_id = get_be64(PQgetvalue(res, 0, 0));
        last_seq = get_be64(PQgetvalue(res, 0, 1));
        if (PQgetlength(res, 0, 2) != HASH_LEN) goto db_error;
        memcpy(s.prev_sha256, PQgetvalue(res, 0, 2), HASH_LEN);
    }
    PQclear(res);
    res = NULL;
    if (seq <= last_seq) { /* nothing new, or another node's checkpoint covers it */
        exec_ok(conn, "ROLLBACK", PGRES_COMMAND_OK);
        pthread_mutex_lock(&cp->lock);
        if (seq > cp->checkpointed_seq) cp->checkpointed_seq = seq;
        pthread_mutex_unlock(&cp->lock);
        return GW_OK;
    }
    /* The row as the database has it now must still carry the hash we committed. */
    unsigned char seq_be[8];
    put_be64(seq_be, (uint64_t)seq);
    const char *pv[1] = {(const char *)seq_be};
    const int pl[1] = {8}, pf[1] = {1};
    res = PQexecParams(conn,
                       "SELECT row_hash FROM public.exchange_log WHERE seq OPERATOR(pg_catalog.=) "
                       "$1::pg_catalog.int8",
                       1, NULL, pv, pl, pf, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) goto db_error;
    if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != HASH_LEN ||
        memcmp(PQgetvalue(res, 0, 0), hash, HASH_LEN) != 0) {
        char hex[2 * HASH_LEN + 1];
        hex_of(hash, HASH_LEN, hex);
        gw_log(PIDE_LOG_ERROR,
               "checkpoint: the database's row seq %lld is missing or no longer holds the "
               "row_hash %s this gateway committed; the checkpoint states what was committed "
               "(run pide-audit verify)",
               (long long)seq, hex);
    }
    PQclear(res);
    res = NULL;

    s.id = last_id + 1;
    snprintf(s.node_id, sizeof s.node_id, "%s", cp->node_id);
    s.head_seq = seq;
    memcpy(s.head_row_hash, hash, HASH_LEN);
    s.row_count = last_seq < seq ? seq - last_seq : 0;
    s.created_us = gw_now_us();
    char text[GW_CHECKPOINT_STATEMENT_MAX];
    size_t tlen = gw_checkpoint_statement_format(&s, text, sizeof text);
    if (tlen == 0) {
        st = GW_ERR_INTERNAL;
        gw_set_error(err, sizeof err, "cannot format the statement");
        goto fail;
    }
    st = gw_checkpoint_sign(cp->key, cp->cert, (const unsigned char *)text, tlen, &signed_der,
                            &signed_len, err, sizeof err);
    if (st != GW_OK) goto fail;
    st = GW_ERR_DATABASE;

    unsigned char id_be[8], seq_be2[8], count_be[8];
    put_be64(id_be, (uint64_t)s.id);
    put_be64(seq_be2, (uint64_t)s.head_seq);
    put_be64(count_be, (uint64_t)s.row_count);
    char created[48];
    format_time(s.created_us, created);
    const char *values[11] = {(const char *)id_be, s.node_id, (const char *)seq_be2,
                              (const char *)s.head_row_hash, (const char *)count_be, created,
                              (const char *)s.prev_sha256, text, (const char *)signed_der,
                              (const char *)cp->cert_der, cp->cert_sha256};
    const int lengths[11] = {8, 0, 8, HASH_LEN, 8, 0, HASH_LEN, (int)tlen, (int)signed_len,
                             cp->cert_der_len, 0};
    const int formats[11] = {1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0};
    res = PQexecParams(conn,
                       "INSERT INTO public.exchange_checkpoint (id, node_id, head_seq, "
                       "head_row_hash, row_count, created, prev_sha256, statement, "
                       "signed_document, signer_certificate, signer_cert_sha256) VALUES "
                       "($1::pg_catalog.int8, $2, $3::pg_catalog.int8, $4, $5::pg_catalog.int8, "
                       "$6::pg_catalog.timestamptz, $7, $8, $9, $10, $11)",
                       11, NULL, values, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) goto db_error;
    PQclear(res);
    res = PQexec(conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(res), "COMMIT") != 0)
        goto db_error;
    PQclear(res);
    OPENSSL_free(signed_der);
    pthread_mutex_lock(&cp->lock);
    if (seq > cp->checkpointed_seq) cp->checkpointed_seq = seq;
    pthread_mutex_unlock(&cp->lock);
    if (cp->make_failing) gw_log(PIDE_LOG_WARN, "checkpoint: writing checkpoints resumed");
    cp->make_failing = false;
    gw_log(PIDE_LOG_INFO, "checkpoint %lld: seq %lld (%lld new rows) signed", (long long)s.id,
           (long long)seq, (long long)s.row_count);
    return GW_OK;

db_error:
    gw_set_error(err, sizeof err, "%s", PQerrorMessage(conn));
fail:
    PQclear(res);
    OPENSSL_free(signed_der);
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        exec_ok(conn, "ROLLBACK", PGRES_COMMAND_OK);
    one_line(err);
    if (!cp->make_failing)
        gw_log(PIDE_LOG_ERROR, "checkpoint of seq %lld failed: %s (retrying every %d ms)",
               (long long)seq, err, MAKE_RETRY_MS);
    cp->make_failing = true;
    return st;
}

/* Stamps every checkpoint still without a token (oldest first). GW_OK when none is left. */
static gw_status stamp_pending(gw_checkpointer *cp, char *err, size_t errlen)
{
    if (!cp->timestamp_url) return GW_OK;
    if (!ensure_connected(cp)) {
        gw_set_error(err, errlen, "database: %s", PQerrorMessage(cp->conn));
        return GW_ERR_DATABASE;
    }
    PGresult *res = PQexecParams(cp->conn,
                                 "SELECT id, signed_document FROM public.exchange_checkpoint "
                                 "WHERE tst IS NULL ORDER BY id LIMIT 32",
                                 0, NULL, NULL, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        gw_set_error(err, errlen, "database: %s", PQerrorMessage(cp->conn));
        PQclear(res);
        return GW_ERR_DATABASE;
    }
    gw_status st = GW_OK;
    for (int r = 0; r < PQntuples(res) && st == GW_OK; r++) {
        unsigned char *token = NULL;
        size_t token_len = 0;
        int64_t gen_us = 0;
        st = request_stamp(&cp->url, cp->tsa_ca, cp->opt.stamp_timeout_ms,
                           (const unsigned char *)PQgetvalue(res, r, 1),
                           (size_t)PQgetlength(res, r, 1), &token, &token_len, &gen_us, err,
                           errlen);
        if (st != GW_OK) break;
        char stamped[48];
        format_time(gen_us, stamped);
        const char *values[3] = {PQgetvalue(res, r, 0), (const char *)token, stamped};
        const int lengths[3] = {8, (int)token_len, 0};
        const int formats[3] = {1, 1, 0};
        PGresult *u = PQexecParams(cp->conn,
                                   "UPDATE public.exchange_checkpoint SET tst = $2, stamped_at = "
                                   "$3::pg_catalog.timestamptz WHERE id OPERATOR(pg_catalog.=) "
                                   "$1::pg_catalog.int8 AND tst IS NULL",
                                   3, NULL, values, lengths, formats, 0);
        if (PQresultStatus(u) != PGRES_COMMAND_OK) {
            gw_set_error(err, errlen, "database: %s", PQerrorMessage(cp->conn));
            st = GW_ERR_DATABASE;
        }
        PQclear(u);
        OPENSSL_free(token);
    }
    PQclear(res);
    return st;
}

/* After each stamping round: tracks how long stamps have failed, holds or releases the log. */
static void judge_stamping(gw_checkpointer *cp, gw_status st, const char *err)
{
    int64_t now = gw_monotonic_us();
    if (st == GW_OK) {
        if (cp->failing_since_us) gw_log(PIDE_LOG_WARN, "checkpoint: time-stamps resumed");
        if (cp->holding) {
            gw_exchange_log_hold(cp->log, false);
            gw_log(PIDE_LOG_WARN, "checkpoint: every checkpoint is stamped again; exchanges "
                                  "are accepted again");
        }
        cp->failing_since_us = 0;
        cp->alerted = cp->holding = false;
        return;
    }
    char line[600];
    snprintf(line, sizeof line, "%s", err);
    one_line(line);
    if (!cp->failing_since_us) {
        cp->failing_since_us = now;
        gw_log(PIDE_LOG_ERROR, "checkpoint: time-stamp failed: %s (retrying; after %d s %s)",
               line, cp->opt.stamp_grace_s,
               cp->opt.refuse_when_unstamped ? "every exchange is refused" : "an alert is logged");
    }
    if (now - cp->failing_since_us < (int64_t)cp->opt.stamp_grace_s * 1000000) return;
    if (cp->opt.refuse_when_unstamped && !cp->holding) {
        cp->holding = true;
        gw_exchange_log_hold(cp->log, true);
        gw_log(PIDE_LOG_ERROR,
               "checkpoint: time-stamps have failed for %d s (%s): every exchange is refused "
               "with Server.LogUnavailable until the TSA stamps again (onStampFailure=\"refuse\")",
               cp->opt.stamp_grace_s, line);
    } else if (!cp->opt.refuse_when_unstamped && !cp->alerted) {
        cp->alerted = true;
        gw_log(PIDE_LOG_ERROR,
               "ALERT checkpoint: time-stamps have failed for %d s (%s); exchanges continue "
               "(onStampFailure=\"continue\"), checkpoints stay unstamped until the TSA answers",
               cp->opt.stamp_grace_s, line);
    }
}

static void *checkpointer_main(void *arg)
{
    gw_checkpointer *cp = arg;
    int64_t last_checkpoint_us = gw_monotonic_us();
    int64_t next_stamp_us = 0, next_make_us = 0;
    char err[600];
    pthread_mutex_lock(&cp->lock);
    while (!cp->stopping) {
        int64_t now = gw_monotonic_us();
        bool may_make = now >= next_make_us; /* after a failure: not before the retry pause */
        bool rows_due = may_make && cp->committed_seq - cp->checkpointed_seq >= cp->opt.every_rows;
        bool time_due = may_make && cp->committed_seq > cp->checkpointed_seq &&
                        now - last_checkpoint_us >= (int64_t)cp->opt.every_seconds * 1000000;
        bool stamp_due = cp->timestamp_url && now >= next_stamp_us;
        if (!rows_due && !time_due && !stamp_due) {
            int64_t wait_us = (int64_t)cp->opt.every_seconds * 1000000 - (now - last_checkpoint_us);
            if (cp->timestamp_url && next_stamp_us - now < wait_us) wait_us = next_stamp_us - now;
            if (!may_make && next_make_us - now < wait_us) wait_us = next_make_us - now;
            if (wait_us < 1000) wait_us = 1000;
            if (wait_us > 1000000) wait_us = 1000000;
            struct timespec deadline = gw_monotonic_deadline_ms((long)(wait_us / 1000));
            pthread_cond_timedwait(&cp->wake, &cp->lock, &deadline);
            continue;
        }
        int64_t seq = cp->committed_seq;
        unsigned char hash[HASH_LEN];
        memcpy(hash, cp->committed_hash, HASH_LEN);
        bool make = rows_due || time_due;
        pthread_mutex_unlock(&cp->lock);
        if (make) {
            if (make_checkpoint(cp, seq, hash) == GW_OK)
                last_checkpoint_us = gw_monotonic_us();
            else
                next_make_us = gw_monotonic_us() + MAKE_RETRY_MS * 1000;
        }
        if (cp->timestamp_url) {
            gw_status st = stamp_pending(cp, err, sizeof err);
            judge_stamping(cp, st, err);
            next_stamp_us = gw_monotonic_us() + (st == GW_OK ? (int64_t)cp->opt.every_seconds * 1000000
                                                             : STAMP_RETRY_MS * 1000);
        }
        pthread_mutex_lock(&cp->lock);
    }
    pthread_mutex_unlock(&cp->lock);
    return NULL;
}

void gw_checkpointer_note_commit(void *arg, int64_t seq, const unsigned char row_hash[32])
{
    gw_checkpointer *cp = arg;
    pthread_mutex_lock(&cp->lock);
    if (seq > cp->committed_seq) {
        cp->committed_seq = seq;
        memcpy(cp->committed_hash, row_hash, HASH_LEN);
        if (seq - cp->checkpointed_seq >= cp->opt.every_rows) pthread_cond_signal(&cp->wake);
    }
    pthread_mutex_unlock(&cp->lock);
}

static bool load_signing(gw_checkpointer *cp, char *err, size_t errlen)
{
    /* The same key as the XML signatures: a PEM file or a PKCS#11 token object (key_store.h). */
    gw_key_source src = {
        .key = cp->opt.key_path, .pin_file = cp->opt.pin_file, .module = cp->opt.pkcs11_module};
    if (gw_private_key_load(&src, &cp->key, err, errlen) != GW_OK)
        return false;
    FILE *f = fopen(cp->opt.cert_path, "r");
    if (f) {
        cp->cert = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    ERR_clear_error();
    if (!cp->cert || X509_check_private_key(cp->cert, cp->key) != 1) {
        gw_set_error(err, errlen,
                     "checkpoint: cannot load the signing certificate '%s' or it does "
                     "not match the signing key",
                     cp->opt.cert_path);
        return false;
    }
    cp->cert_der_len = i2d_X509(cp->cert, &cp->cert_der);
    unsigned char fp[32];
    unsigned int fl = 0;
    if (cp->cert_der_len <= 0 || !X509_digest(cp->cert, EVP_sha256(), fp, &fl) || fl != 32) {
        gw_set_error(err, errlen, "checkpoint: cannot encode the signing certificate");
        return false;
    }
    hex_of(fp, 32, cp->cert_sha256);
    return true;
}

static void free_checkpointer(gw_checkpointer *cp)
{
    if (cp->conn) PQfinish(cp->conn);
    X509_STORE_free(cp->tsa_ca);
    EVP_PKEY_free(cp->key);
    X509_free(cp->cert);
    OPENSSL_free(cp->cert_der);
    free(cp->conninfo);
    if (cp->password) gw_secret_free(cp->password);
    free(cp->node_id);
    free(cp->timestamp_url);
    pthread_cond_destroy(&cp->wake);
    pthread_mutex_destroy(&cp->lock);
    free(cp);
}

gw_status gw_checkpointer_open(const gw_checkpoint_options *opt, gw_checkpointer **out,
                               char *err, size_t errlen)
{
    gw_status st = GW_ERR_CONFIG;
    *out = NULL;
    gw_checkpointer *cp = calloc(1, sizeof *cp);
    if (!cp) return GW_ERR_NOMEM;
    pthread_mutex_init(&cp->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cp->wake, &attr);
    pthread_condattr_destroy(&attr);
    cp->opt = *opt;
    if (cp->opt.every_rows <= 0) cp->opt.every_rows = 1000;
    if (cp->opt.every_seconds <= 0) cp->opt.every_seconds = 10;
    if (cp->opt.stamp_timeout_ms <= 0) cp->opt.stamp_timeout_ms = 5000;
    if (cp->opt.stamp_grace_s <= 0) cp->opt.stamp_grace_s = 300;
    cp->conninfo = opt->conninfo ? strdup(opt->conninfo) : NULL;
    cp->password = opt->password ? strdup(opt->password) : NULL;
    cp->node_id = strdup(opt->node_id ? opt->node_id : "");
    if (!cp->conninfo || !cp->node_id || (opt->password && !cp->password)) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    if (!node_id_ok(cp->node_id)) {
        gw_set_error(err, errlen, "checkpoint: node id '%s' must be 1..%d characters without control "
                                  "characters", cp->node_id, GW_CHECKPOINT_NODE_ID_MAX);
        goto fail;
    }
    if (opt->timestamp_url) {
        if (!parse_http_url(opt->timestamp_url, &cp->url)) {
            gw_set_error(err, errlen, "checkpoint: timestampUrl '%s' is not an http://host[:port]/path URL",
                         opt->timestamp_url);
            goto fail;
        }
        if (!(cp->timestamp_url = strdup(opt->timestamp_url))) {
            st = GW_ERR_NOMEM;
            goto fail;
        }
    }
    if (opt->timestamp_ca_path &&
        (st = gw_checkpoint_load_store(opt->timestamp_ca_path, (void **)&cp->tsa_ca, err,
                                       errlen)) != GW_OK)
        goto fail;
    st = GW_ERR_CONFIG;
    if (!load_signing(cp, err, errlen)) goto fail;
    st = GW_ERR_DATABASE;
    cp->conn = connect_db(cp);
    if (cp->conn && PQstatus(cp->conn) != CONNECTION_OK && opt->start_without_db &&
        server_is_down(cp)) {
        gw_set_error(err, errlen, "%s", PQerrorMessage(cp->conn));
        one_line(err);
        gw_log(PIDE_LOG_WARN,
               "checkpoint: cannot connect to PostgreSQL (%s); starting anyway (the spool is "
               "on): checkpoints resume with the replayed rows",
               err);
        err[0] = '\0';
        *out = cp;
        return GW_OK;
    }
    if (!cp->conn || PQstatus(cp->conn) != CONNECTION_OK) {
        gw_set_error(err, errlen, "checkpoint: cannot connect to PostgreSQL: %s",
                     cp->conn ? PQerrorMessage(cp->conn) : "out of memory");
        one_line(err);
        goto fail;
    }
    PGresult *res = PQexec(cp->conn,
                           "SELECT pg_catalog.has_table_privilege('public.exchange_checkpoint', "
                           "'INSERT'), pg_catalog.has_column_privilege('public.exchange_checkpoint', "
                           "'tst', 'UPDATE')");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
              strcmp(PQgetvalue(res, 0, 0), "t") == 0 && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    if (!ok) {
        gw_set_error(err, errlen,
                     "checkpoint: table exchange_checkpoint is missing or this role may not "
                     "INSERT into it / stamp it (apply sql/migrations/0006_checkpoints.sql: "
                     "scripts/pg-local migrate)%s%s",
                     PQresultStatus(res) == PGRES_TUPLES_OK ? "" : ": ",
                     PQresultStatus(res) == PGRES_TUPLES_OK ? "" : PQerrorMessage(cp->conn));
        one_line(err);
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    *out = cp;
    return GW_OK;
fail:
    free_checkpointer(cp);
    return st;
}

gw_status gw_checkpointer_start(gw_checkpointer *cp, exchange_log *log, char *err, size_t errlen)
{
    cp->log = log;
    if (pthread_create(&cp->thread, NULL, checkpointer_main, cp) != 0) {
        gw_set_error(err, errlen, "checkpoint: cannot start its thread");
        return GW_ERR_INTERNAL;
    }
    cp->started = true;
    return GW_OK;
}

void gw_checkpointer_stop(gw_checkpointer *cp)
{
    if (!cp || !cp->started) return;
    pthread_mutex_lock(&cp->lock);
    cp->stopping = true;
    pthread_cond_signal(&cp->wake);
    pthread_mutex_unlock(&cp->lock);
    pthread_join(cp->thread, NULL);
    cp->started = false;
    cp->log = NULL; /* it may be closed from now on: never held or released again */
}

void gw_checkpointer_close(gw_checkpointer *cp)
{
    if (!cp) return;
    gw_checkpointer_stop(cp);
    /* The final checkpoint: everything this gateway committed is covered at a clean stop. */
    if (cp->committed_seq > cp->checkpointed_seq)
        make_checkpoint(cp, cp->committed_seq, cp->committed_hash);
    if (cp->timestamp_url) {
        char err[600];
        if (stamp_pending(cp, err, sizeof err) != GW_OK) {
            one_line(err);
            gw_log(PIDE_LOG_WARN, "checkpoint: the last checkpoints stay unstamped (%s); the next "
                                  "start stamps them", err);
        }
    }
    free_checkpointer(cp);
}
