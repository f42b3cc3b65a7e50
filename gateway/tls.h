/*
 * tls.h — the member listener's TLS: TLS 1.2 or later, configurable TLS 1.2 ciphers, client
 * certificates required and checked against the members' CA (and its CRL). The member's
 * identity comes from the certificate: its subject serialNumber (or CN) carries the RUC.
 */
#ifndef PIDE_GW_TLS_H
#define PIDE_GW_TLS_H

#include <openssl/ssl.h>

#include "config.h"
#include "crl.h"
#include "status.h"

typedef struct gw_tls gw_tls;

/* Who is at the other end of an established connection. */
typedef struct gw_tls_peer {
    char member_id[32];      /* the RUC from the certificate; "" when it carries none */
    char subject[256];       /* one-line subject, for logs and errors */
    char fingerprint[65];    /* SHA-256 of the certificate, hex */
} gw_tls_peer;

/* Builds the server context from cfg's <tls> section. Refuses a key file readable by group or
 * others. Client certificates are checked against crls (crl.h) when it is not NULL. err names
 * the file and the problem. */
gw_status gw_tls_open(const gw_config *cfg, gw_crl_set *crls, gw_tls **out, char *err,
                      size_t errlen);
void gw_tls_close(gw_tls *t);

/* How long a TLS session may be resumed after its full handshake. */
#define GW_TLS_SESSION_LIFETIME_S 300

/* A server-side connection on fd, to be driven by gw_tls_handshake_step (NULL: no memory). */
SSL *gw_tls_conn_new(gw_tls *t, int fd);

typedef enum gw_tls_step {
    GW_TLS_DONE,             /* established: *peer filled */
    GW_TLS_WANT_READ,        /* call again once fd is readable */
    GW_TLS_WANT_WRITE,       /* ... writable */
    GW_TLS_FAILED,           /* err says why (certificate refused, client gone...) */
} gw_tls_step;

/* One step of the server handshake on a non-blocking socket: the dispatcher (server.c) drives
 * it from epoll, so an unauthenticated client holds no worker while it handshakes. */
gw_tls_step gw_tls_handshake_step(SSL *s, gw_tls_peer *peer, char *err, size_t errlen);

/* Who the client certificate of an established (or resumed) connection names. */
void gw_tls_peer_of(SSL *s, gw_tls_peer *peer);

/* Performs the server handshake on a connected socket within timeout_s seconds. On success
 * *ssl is the connection (SSL_free it when done) and *peer who it is. */
gw_status gw_tls_accept(gw_tls *t, int fd, int timeout_s, SSL **ssl, gw_tls_peer *peer,
                        char *err, size_t errlen);

/* The member id a certificate carries: subject serialNumber, else CN, when it is 11 digits. */
void gw_tls_member_of(X509 *cert, char *out, size_t outlen);

#endif
