/*
 * server.h — the listener: a fixed pool of worker threads fed by one epoll dispatcher.
 *
 * The dispatcher accepts connections, performs the member listener's TLS handshakes itself
 * (non-blocking, within handshakeTimeoutSeconds, at most maxHandshakesPerIp per address), and
 * reads each request whole — head and body — without blocking, checking its framing strictly
 * (http_head.h). Only then does it hand the connection to a free worker for ONE request (or for
 * the refusal it decided on: 400, 405, 413, 431, or Client.IncompleteBody when the body has not
 * arrived within recvTimeoutSeconds), after which the worker parks it back in epoll. So a
 * worker is never tied to a connection for its life (with gSOAP's own serve loop, 16 workers
 * and 128 keep-alive clients starve 112 of them), never waits on a slow or stalled client, and
 * per-request memory is released after every request. Refused connections linger briefly in the
 * dispatcher (input read and discarded) so the client reads the answer. Idle connections are
 * closed after keepAliveIdleSeconds; a stalled write ends the connection after
 * sendTimeoutSeconds.
 */
#ifndef PIDE_GW_SERVER_H
#define PIDE_GW_SERVER_H

#include "runtime.h"
#include "status.h"

typedef struct gw_server gw_server;

struct gw_live;

/* Binds the configured address (port 0: any free port), starts the workers and dispatcher, for
 * a configuration that never changes (rt stays the caller's). */
gw_status gw_server_start(const gw_runtime *rt, gw_server **out, char *err, size_t errlen);
/* The same serving the current snapshot of live (reload.h): each request runs on the snapshot
 * current when it starts, each TLS connection keeps the one it was accepted with. Addresses,
 * ports, workers and slots are the current snapshot's at start. live must outlive the server. */
gw_status gw_server_start_live(struct gw_live *live, gw_server **out, char *err, size_t errlen);
/* The ports actually bound: the plain listener's, and the member (TLS) listener's or 0. */
int gw_server_port(const gw_server *srv);
int gw_server_tls_port(const gw_server *srv);
/* A non-blocking TCP listening socket on address:port (IPv4 or IPv6 literal; port 0: any free
 * one), for the gateway's listeners and the admin listener. *fd_out and *port_out (the port
 * actually bound) on GW_OK; GW_ERR_CONFIG for an address that is not an IP literal, GW_ERR_IO
 * when the socket cannot be bound; err names `what` ("listen", "tls", "admin"). */
gw_status gw_tcp_listen(const char *what, const char *address, int port, int backlog, int *fd_out,
                        int *port_out, char *err, size_t errlen);

/* Stops accepting, lets in-flight exchanges finish (and be logged), joins every thread, frees. */
void gw_server_stop(gw_server *srv);

#endif
