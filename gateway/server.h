/*
 * server.h — the listener: a fixed pool of worker threads fed by one epoll dispatcher.
 *
 * The dispatcher accepts connections and watches idle keep-alive connections; when one becomes
 * readable it hands it to a free worker for ONE request, after which the worker parks it back
 * in epoll. So a worker is never tied to a connection for its life (with gSOAP's own serve loop,
 * 16 workers and 128 keep-alive clients starve 112 of them), and per-request memory is released
 * after every request rather than at connection close. On the plain listener the dispatcher also
 * reads each request's head itself, without blocking, and hands the connection over only once
 * the head is complete: a client trickling its headers holds no worker, and is closed when its
 * head has not arrived within recvTimeoutSeconds. Idle connections are closed after
 * keepAliveIdleSeconds; a stalled body read or write ends the connection after the configured
 * timeout.
 */
#ifndef PIDE_GW_SERVER_H
#define PIDE_GW_SERVER_H

#include "runtime.h"
#include "status.h"

typedef struct gw_server gw_server;

/* Binds the configured address (port 0: any free port), starts the workers and dispatcher. */
gw_status gw_server_start(const gw_runtime *rt, gw_server **out, char *err, size_t errlen);
/* The ports actually bound: the plain listener's, and the member (TLS) listener's or 0. */
int gw_server_port(const gw_server *srv);
int gw_server_tls_port(const gw_server *srv);
/* Stops accepting, lets in-flight exchanges finish (and be logged), joins every thread, frees. */
void gw_server_stop(gw_server *srv);

#endif
