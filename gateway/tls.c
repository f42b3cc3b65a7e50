/* tls.c — OpenSSL server context and handshake for the member listener (see tls.h). */
#include "tls.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "secret_file.h"
#include "peru_id.h"

struct gw_tls {
    SSL_CTX *ctx;
};

static void openssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "unknown error");
    ERR_clear_error();
}

/* The key is read through gw_read_secret_file, which refuses group/other access. */
static gw_status load_private_key(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
    char *pem = NULL;
    gw_status st = gw_read_secret_file(path, &pem, err, errlen);
    if (st != GW_OK)
        return st;
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    gw_secret_free(pem);
    if (!key || SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        char why[256];
        openssl_reason(why, sizeof why);
        gw_set_error(err, errlen, "%s: not the private key of the TLS certificate: %s", path, why);
        EVP_PKEY_free(key);
        return GW_ERR_CONFIG;
    }
    EVP_PKEY_free(key);
    return GW_OK;
}

gw_status gw_tls_open(const gw_config *cfg, gw_crl_set *crls, gw_tls **out, char *err,
                      size_t errlen)
{
    gw_status st = GW_ERR_CONFIG;
    char why[256];
    gw_tls *t = calloc(1, sizeof *t);
    if (!t)
        return GW_ERR_NOMEM;
    t->ctx = SSL_CTX_new(TLS_server_method());
    if (!t->ctx) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_cipher_list(t->ctx, cfg->tls_ciphers) != 1) {
        gw_set_error(err, errlen, "tls ciphers '%s': no usable cipher", cfg->tls_ciphers);
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(t->ctx, cfg->tls_cert_path) != 1) {
        openssl_reason(why, sizeof why);
        gw_set_error(err, errlen, "%s: cannot load the TLS certificate: %s", cfg->tls_cert_path,
                     why);
        goto fail;
    }
    if ((st = load_private_key(t->ctx, cfg->tls_key_path, err, errlen)) != GW_OK)
        goto fail;
    st = GW_ERR_CONFIG;
    if (SSL_CTX_load_verify_locations(t->ctx, cfg->tls_client_ca_path, NULL) != 1) {
        openssl_reason(why, sizeof why);
        gw_set_error(err, errlen, "%s: cannot load the members' CA: %s", cfg->tls_client_ca_path,
                     why);
        goto fail;
    }
    /* Only this CA is offered and trusted: never the system's public CAs. */
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_client_ca_path);
    if (names)
        SSL_CTX_set_client_CA_list(t->ctx, names);
    /* Revocation: the same lists, re-read on change, as the WS-Security signer check. */
    if (crls && gw_crl_set_attach(crls, SSL_CTX_get_cert_store(t->ctx)) != GW_OK) {
        st = GW_ERR_NOMEM;
        gw_set_error(err, errlen, "cannot attach the CRLs to the TLS context");
        goto fail;
    }
    SSL_CTX_set_verify(t->ctx,
                       SSL_VERIFY_PEER |
                           (cfg->tls_require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       NULL);
    SSL_CTX_set_verify_depth(t->ctx, 4);
    /* Without a session id context OpenSSL refuses to resume a session whose client was
     * verified (the handshake fails instead): name this listener's sessions. A resumed session
     * keeps the client certificate it was verified with (gw_tls_peer_of reads it again); the
     * lifetime bounds how long a certificate revoked meanwhile can ride on a resumed session. */
    static const unsigned char sid_ctx[] = "pide-gateway member listener";
    SSL_CTX_set_session_id_context(t->ctx, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(t->ctx, GW_TLS_SESSION_LIFETIME_S);
    *out = t;
    return GW_OK;
fail:
    gw_tls_close(t);
    return st;
}

void gw_tls_close(gw_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

void gw_tls_member_of(X509 *cert, char *out, size_t outlen)
{
    static const int nids[] = {NID_serialNumber, NID_commonName};
    X509_NAME *name = X509_get_subject_name(cert);
    out[0] = '\0';
    for (size_t i = 0; i < sizeof nids / sizeof nids[0]; i++) {
        char value[64];
        if (X509_NAME_get_text_by_NID(name, nids[i], value, sizeof value) > 0 &&
            gw_is_ruc(value)) {
            snprintf(out, outlen, "%s", value);
            return;
        }
    }
}

SSL *gw_tls_conn_new(gw_tls *t, int fd)
{
    SSL *s = SSL_new(t->ctx);
    if (!s)
        return NULL;
    if (SSL_set_fd(s, fd) != 1) {
        SSL_free(s);
        return NULL;
    }
    SSL_set_accept_state(s);
    return s;
}

void gw_tls_peer_of(SSL *s, gw_tls_peer *peer)
{
    memset(peer, 0, sizeof *peer);
    X509 *cert = SSL_get1_peer_certificate(s);
    if (!cert)
        return;
    gw_tls_member_of(cert, peer->member_id, sizeof peer->member_id);
    X509_NAME_oneline(X509_get_subject_name(cert), peer->subject, sizeof peer->subject);
    unsigned char md[32];
    unsigned int n = 0;
    X509_digest(cert, EVP_sha256(), md, &n);
    for (unsigned i = 0; i < n && i < 32; i++)
        snprintf(peer->fingerprint + 2 * i, 3, "%02x", md[i]);
    X509_free(cert);
}

gw_tls_step gw_tls_handshake_step(SSL *s, gw_tls_peer *peer, char *err, size_t errlen)
{
    ERR_clear_error();
    int rc = SSL_accept(s);
    if (rc == 1) {
        gw_tls_peer_of(s, peer);
        return GW_TLS_DONE;
    }
    int e = SSL_get_error(s, rc);
    if (e == SSL_ERROR_WANT_READ)
        return GW_TLS_WANT_READ;
    if (e == SSL_ERROR_WANT_WRITE)
        return GW_TLS_WANT_WRITE;
    char why[256];
    long vr = SSL_get_verify_result(s);
    if (vr != X509_V_OK)
        snprintf(why, sizeof why, "client certificate refused: %s",
                 X509_verify_cert_error_string(vr));
    else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)
        snprintf(why, sizeof why, "the client closed the connection");
    else
        openssl_reason(why, sizeof why);
    gw_set_error(err, errlen, "TLS handshake failed: %s", why);
    ERR_clear_error();
    return GW_TLS_FAILED;
}

gw_status gw_tls_accept(gw_tls *t, int fd, int timeout_s, SSL **ssl, gw_tls_peer *peer,
                        char *err, size_t errlen)
{
    struct timeval tv = {.tv_sec = timeout_s > 0 ? timeout_s : 10, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    memset(peer, 0, sizeof *peer);
    SSL *s = gw_tls_conn_new(t, fd);
    if (!s)
        return GW_ERR_NOMEM;
    /* A blocking socket: the step either finishes or fails (a timeout reads as WANT_READ). */
    gw_tls_step r = gw_tls_handshake_step(s, peer, err, errlen);
    if (r != GW_TLS_DONE) {
        if (r != GW_TLS_FAILED)
            gw_set_error(err, errlen, "TLS handshake failed: timed out");
        SSL_free(s);
        return GW_ERR_AUTHENTICATION;
    }
    *ssl = s;
    return GW_OK;
}
