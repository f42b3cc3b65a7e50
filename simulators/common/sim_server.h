/*
 * sim_server.h — the HTTP/1.1 server under every provider simulator.
 *
 * Real loopback sockets, one thread per connection (keep-alive connections stay with their
 * thread; the gateway keeps few, long-lived ones), Content-Length bodies, pipelining-safe.
 * A simulator supplies a handler that turns one request into one response; the server adds the
 * artificial latency, the deterministic failure injection (--error-rate/--seed, answered by the
 * simulator's failure handler), the per-request log line and HTTP-level errors (400, 405, 411,
 * 413, 431, 501) on its own.
 */
#ifndef PIDE_SIM_SERVER_H
#define PIDE_SIM_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_buf.h"
#include "sim_options.h"
#include "status.h"

typedef struct sim_request {
    const char *method;        /* "POST" */
    const char *target;        /* request target as sent, e.g. "/padron/v2/ciudadano" */
    const char *content_type;  /* NULL when absent */
    const char *soap_action;   /* SOAPAction header as sent (quotes kept); NULL when absent */
    const char *body;          /* NUL-terminated */
    size_t body_len;
    uint64_t number;           /* 0, 1, 2...: arrival order over the server's life */
} sim_request;

typedef struct sim_response {
    int status;                /* default 200 */
    char content_type[96];     /* default "text/xml; charset=utf-8" */
    sim_buf body;
} sim_response;

void sim_response_set_content_type(sim_response *resp, const char *content_type);

/* Runs on connection threads, concurrently: must be thread-safe. */
typedef void (*sim_handler_fn)(void *ctx, const sim_request *req, sim_response *resp);

typedef struct sim_server_config {
    const char *name;              /* for the Server header and log lines, e.g. "reniec-sim" */
    sim_options options;
    sim_handler_fn handler;
    sim_handler_fn failure_handler; /* answers requests picked by --error-rate; NULL: plain 500 */
    void *ctx;                     /* passed to both handlers */
} sim_server_config;

typedef struct sim_server sim_server;

/* Binds, listens, writes the port file and starts accepting. */
gw_status sim_server_start(const sim_server_config *cfg, sim_server **out);
uint16_t sim_server_port(const sim_server *s);
/* Stops accepting, closes every connection, waits for their threads, frees the server. */
void sim_server_stop(sim_server *s);

/* For main(): start, serve until SIGTERM or SIGINT, stop. Returns the process exit status. */
int sim_server_run_until_signal(const sim_server_config *cfg);

/* True when request number `n` is one --error-rate picks for failure, given the seed. */
bool sim_should_fail(uint64_t seed, double error_rate, uint64_t n);

#endif
