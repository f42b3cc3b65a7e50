/*
 * circuit_breaker.h — one circuit breaker per provider endpoint (docs/reliability.md).
 *
 * A provider that stopped answering costs every caller its whole timeout and a worker for that
 * long; after `failures` consecutive failed calls (timeout or unavailable, as the adapter
 * reported them) the endpoint's circuit opens and its services answer
 * Server.Provider.Unavailable at once. After `open_us` one call is let through as a probe
 * (half-open): its success closes the circuit, its failure opens it for another period. While
 * the probe is out every other call is still refused at once.
 *
 * An endpoint is the origin of a service's configured URL (scheme, host and port): services of
 * one provider share a circuit. Services without an endpoint (built-in ones) have none. The
 * state is shared by all workers (one small mutex per endpoint) and readable for the metrics.
 * Times are passed in (microseconds of the monotonic clock), so the state machine is tested
 * without sleeping.
 */
#ifndef PIDE_GW_CIRCUIT_BREAKER_H
#define PIDE_GW_CIRCUIT_BREAKER_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct gw_service_catalog;

typedef struct gw_breaker_policy {
    int failures;    /* consecutive failures that open a circuit; 0: no breakers at all */
    int64_t open_us; /* how long a circuit stays open before its probe */
} gw_breaker_policy;

typedef enum {
    GW_BREAKER_CLOSED = 0,
    GW_BREAKER_OPEN = 1,
    GW_BREAKER_HALF_OPEN = 2,
} gw_breaker_state;

typedef struct gw_breakers gw_breakers;

/* What gw_breaker_admit hands out and gw_breaker_record takes back: which circuit, and whether
 * this call is its probe. A ticket with no circuit (service without an endpoint, breakers off)
 * records nothing. */
typedef struct gw_breaker_ticket {
    struct gw_breaker *circuit;
    int probe;
} gw_breaker_ticket;

/* One circuit per distinct endpoint origin of `services` (catalog order). *out is NULL when the
 * policy turns breakers off. GW_ERR_NOMEM, with err, when memory runs out. */
gw_status gw_breakers_new(const struct gw_service_catalog *services,
                          const gw_breaker_policy *policy, gw_breakers **out, char *err,
                          size_t errlen);
void gw_breakers_free(gw_breakers *b);

/* 1: call the provider (and then gw_breaker_record the outcome with *ticket); 0: the circuit is
 * open (or its probe is out), answer Server.Provider.Unavailable without calling. With b NULL
 * or a service without an endpoint, always 1. `origin` (may be NULL) gets the endpoint, for the
 * message. */
int gw_breaker_admit(gw_breakers *b, size_t service_index, int64_t now_us,
                     gw_breaker_ticket *ticket, const char **origin);
/* The outcome of an admitted call: failed = the provider timed out or was unavailable. */
void gw_breaker_record(gw_breakers *b, const gw_breaker_ticket *ticket, int failed,
                       int64_t now_us);

/* For the metrics and the logs: the circuits, in the order of first use by the catalog. */
typedef struct gw_breaker_view {
    const char *origin;       /* "http://127.0.0.1:8091" */
    gw_breaker_state state;
    uint64_t opened_total;    /* times it opened (closed → open and half-open → open) */
    uint64_t refused_total;   /* calls answered at once because it was open */
} gw_breaker_view;
size_t gw_breakers_count(const gw_breakers *b);
void gw_breakers_view(gw_breakers *b, size_t i, gw_breaker_view *out);
const char *gw_breaker_state_name(gw_breaker_state s);

/* The origin of an http(s) URL ("scheme://host[:port]") into out; 0 when it is not one. */
int gw_url_origin(const char *url, char *out, size_t outlen);

#endif
