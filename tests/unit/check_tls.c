/*
 * check_tls.c — gateway/tls.c with the test PKI (scripts/pki): the member id a certificate
 * carries, the server context's refusals (key readable by others, key of another certificate,
 * no usable cipher) and real handshakes over a socketpair between gw_tls_accept and an OpenSSL
 * client presenting each kind of certificate.
 * ctest-fixtures: pki
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "check_run.h"
#include "test_pki.h"
#include "tls.h"

static const char *pki_dir;
static char err[1024];

/* Path of a PKI file; one of a few rotating static buffers. */
static const char *pki(const char *file)
{
    static char paths[4][4096];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 4096, "%s/%s", pki_dir, file);
    return p;
}

static void assert_contains(const char *haystack, const char *needle)
{
    ck_assert_msg(strstr(haystack, needle) != NULL, "expected \"%s\" in \"%s\"", needle,
                  haystack);
}

/* The <tls> section of the demo configuration. */
static void demo_config(gw_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->tls_enabled = 1;
    cfg->tls_cert_path = strdup(pki("gateway-tls.pem"));
    cfg->tls_key_path = strdup(pki("gateway-tls.key"));
    cfg->tls_client_ca_path = strdup(pki("ca.pem"));
    cfg->tls_crl_path = strdup(pki("ca.crl"));
    cfg->tls_ciphers = strdup("ECDHE+AESGCM:ECDHE+CHACHA20");
    cfg->tls_require_client_cert = 1;
}

static void config_free(gw_config *cfg)
{
    free(cfg->tls_cert_path);
    free(cfg->tls_key_path);
    free(cfg->tls_client_ca_path);
    free(cfg->tls_crl_path);
    free(cfg->tls_ciphers);
}

/* ---- gw_tls_member_of ----------------------------------------------------------------------- */

static void assert_member_of(const char *cert_file, const char *expected)
{
    FILE *f = fopen(pki(cert_file), "r");
    ck_assert_msg(f != NULL, "cannot open %s", pki(cert_file));
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(cert);
    char member[32];
    memset(member, 'x', sizeof member);
    gw_tls_member_of(cert, member, sizeof member);
    ck_assert_str_eq(member, expected);
    X509_free(cert);
}

START_TEST(member_of_certificates)
{
    assert_member_of("demo-client.pem", "20000000001");
    assert_member_of("other-member.pem", "20000000002");
    assert_member_of("gateway-tls.pem", ""); /* CN=localhost: no RUC */
}
END_TEST

/* ---- gw_tls_open refusals ------------------------------------------------------------------- */

START_TEST(open_with_demo_pki)
{
    gw_config cfg;
    demo_config(&cfg);
    gw_tls *t = NULL;
    ck_assert_msg(gw_tls_open(&cfg, NULL, &t, err, sizeof err) == GW_OK, "%s", err);
    ck_assert_ptr_nonnull(t);
    gw_tls_close(t);
    config_free(&cfg);
}
END_TEST

START_TEST(open_refuses_group_readable_key)
{
    char path[] = "/tmp/check_tls_key_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *in = fopen(pki("gateway-tls.key"), "r");
    ck_assert_ptr_nonnull(in);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
    close(fd);
    chmod(path, 0640);

    gw_config cfg;
    demo_config(&cfg);
    free(cfg.tls_key_path);
    cfg.tls_key_path = strdup(path);
    gw_tls *t = NULL;
    ck_assert_int_eq(gw_tls_open(&cfg, NULL, &t, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_null(t);
    assert_contains(err, path);
    assert_contains(err, "group or others");

    /* The same key with mode 0600 is accepted: it was the mode that was refused. */
    chmod(path, 0600);
    ck_assert_msg(gw_tls_open(&cfg, NULL, &t, err, sizeof err) == GW_OK, "%s", err);
    gw_tls_close(t);
    unlink(path);
    config_free(&cfg);
}
END_TEST

START_TEST(open_refuses_key_of_another_certificate)
{
    gw_config cfg;
    demo_config(&cfg);
    free(cfg.tls_key_path);
    cfg.tls_key_path = strdup(pki("demo-client.key"));
    gw_tls *t = NULL;
    ck_assert_int_eq(gw_tls_open(&cfg, NULL, &t, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_null(t);
    assert_contains(err, pki("demo-client.key"));
    assert_contains(err, "not the private key of the TLS certificate");
    config_free(&cfg);
}
END_TEST

START_TEST(open_refuses_unusable_cipher_list)
{
    gw_config cfg;
    demo_config(&cfg);
    free(cfg.tls_ciphers);
    cfg.tls_ciphers = strdup("NO-SUCH-CIPHER");
    gw_tls *t = NULL;
    ck_assert_int_eq(gw_tls_open(&cfg, NULL, &t, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_null(t);
    assert_contains(err, "NO-SUCH-CIPHER");
    assert_contains(err, "no usable cipher");
    config_free(&cfg);
}
END_TEST

/* ---- handshakes ----------------------------------------------------------------------------- */

typedef struct server_side {
    gw_tls *tls;
    int fd;
    gw_status status;
    gw_tls_peer peer;
    char err[512];
} server_side;

static void *serve_handshake(void *arg)
{
    server_side *srv = arg;
    SSL *ssl = NULL;
    srv->status = gw_tls_accept(srv->tls, srv->fd, 5, &ssl, &srv->peer, srv->err,
                                sizeof srv->err);
    if (ssl) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    /* The client learns of a refusal by the connection closing. */
    shutdown(srv->fd, SHUT_RDWR);
    return NULL;
}

/* Handshakes an OpenSSL client presenting `client` ("none" for no certificate) with
 * gw_tls_accept; returns the server's verdict, with its peer and message. */
static gw_status handshake(const char *client, server_side *srv)
{
    gw_config cfg;
    demo_config(&cfg);
    memset(srv, 0, sizeof *srv);
    /* The handshake consults the demo CA's CRL as the gateway's does (crl.h). */
    gw_crl_set *crls = NULL;
    const char *crl_path = cfg.tls_crl_path;
    ck_assert_msg(gw_crl_set_open(&crl_path, 1, &crls, err, sizeof err) == GW_OK, "%s", err);
    ck_assert_msg(gw_tls_open(&cfg, crls, &srv->tls, err, sizeof err) == GW_OK, "%s", err);

    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    srv->fd = sv[0];
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, serve_handshake, srv), 0);

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(SSL_CTX_load_verify_locations(ctx, pki("ca.pem"), NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (strcmp(client, "none") != 0) {
        char cert[64], key[64];
        snprintf(cert, sizeof cert, "%s.pem", client);
        snprintf(key, sizeof key, "%s.key", client);
        ck_assert_int_eq(SSL_CTX_use_certificate_chain_file(ctx, pki(cert)), 1);
        ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(ctx, pki(key), SSL_FILETYPE_PEM), 1);
    }
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, sv[1]);
    SSL_set_tlsext_host_name(ssl, "localhost");
    /* With TLS 1.3 the client may finish before the server has judged its certificate, so the
     * client's own result says nothing: the server's verdict is what is tested. */
    if (SSL_connect(ssl) == 1) {
        char byte;
        SSL_read(ssl, &byte, 1); /* returns when the server closes */
    }
    pthread_join(thread, NULL);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    close(sv[0]);
    close(sv[1]);
    gw_tls_close(srv->tls);
    gw_crl_set_free(crls);
    config_free(&cfg);
    return srv->status;
}

START_TEST(member_certificate_is_accepted)
{
    server_side srv;
    gw_status st = handshake("demo-client", &srv);
    ck_assert_msg(st == GW_OK, "%s: %s", gw_status_name(st), srv.err);
    ck_assert_str_eq(srv.peer.member_id, "20000000001");
    assert_contains(srv.peer.subject, "20000000001");
    ck_assert_uint_eq(strlen(srv.peer.fingerprint), 64);
}
END_TEST

START_TEST(no_client_certificate_is_refused)
{
    server_side srv;
    ck_assert_int_eq(handshake("none", &srv), GW_ERR_AUTHENTICATION);
    assert_contains(srv.err, "TLS handshake failed");
    ck_assert_str_eq(srv.peer.member_id, "");
}
END_TEST

START_TEST(certificate_of_other_ca_is_refused)
{
    server_side srv;
    ck_assert_int_eq(handshake("rogue-client", &srv), GW_ERR_AUTHENTICATION);
    assert_contains(srv.err, "client certificate refused");
}
END_TEST

START_TEST(revoked_certificate_is_refused)
{
    server_side srv;
    ck_assert_int_eq(handshake("revoked-member", &srv), GW_ERR_AUTHENTICATION);
    assert_contains(srv.err, "client certificate refused");
    assert_contains(srv.err, "revoked");
}
END_TEST

static Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *member = tcase_create("member_of");
    tcase_add_test(member, member_of_certificates);
    suite_add_tcase(s, member);
    TCase *open = tcase_create("open");
    tcase_add_test(open, open_with_demo_pki);
    tcase_add_test(open, open_refuses_group_readable_key);
    tcase_add_test(open, open_refuses_key_of_another_certificate);
    tcase_add_test(open, open_refuses_unusable_cipher_list);
    suite_add_tcase(s, open);
    TCase *hs = tcase_create("handshake");
    tcase_add_test(hs, member_certificate_is_accepted);
    tcase_add_test(hs, no_client_certificate_is_refused);
    tcase_add_test(hs, certificate_of_other_ca_is_refused);
    tcase_add_test(hs, revoked_certificate_is_refused);
    suite_add_tcase(s, hs);
    return s;
}

int main(void)
{
    pki_dir = test_pki_dir();
    return check_run_suite(tls_suite());
}
