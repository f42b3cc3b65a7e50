/* circuit_breaker.c — per-endpoint circuit breakers (see circuit_breaker.h). */
#include "circuit_breaker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "service_catalog.h"

#define ORIGIN_MAX 320

typedef struct gw_breaker {
    char origin[ORIGIN_MAX];
    pthread_mutex_t lock;
    gw_breaker_state state;
    int failures;            /* consecutive, while closed */
    int64_t opened_at_us;
    int probe_out;           /* half-open: the probe was handed out and has not come back */
    uint64_t opened_total;
    uint64_t refused_total;
} gw_breaker;

struct gw_breakers {
    gw_breaker_policy policy;
    gw_breaker *circuits;
    size_t count;
    gw_breaker **by_service; /* catalog index -> circuit, NULL for a service without one */
    size_t service_count;
};

int gw_url_origin(const char *url, char *out, size_t outlen)
{
    if (!url || !out || outlen == 0)
        return 0;
    const char *rest;
    if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return 0;
    size_t host_len = strcspn(rest, "/?#");
    if (host_len == 0)
        return 0;
    size_t n = (size_t)(rest - url) + host_len;
    if (n >= outlen)
        return 0;
    memcpy(out, url, n);
    out[n] = '\0';
    /* The scheme in lower case, so "HTTP://a" and "http://a" are one endpoint. */
    for (size_t i = 0; i < (size_t)(rest - url); i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] - 'A' + 'a');
    return 1;
}

gw_status gw_breakers_new(const gw_service_catalog *services, const gw_breaker_policy *policy,
                          gw_breakers **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!policy || policy->failures <= 0 || !services)
        return GW_OK;
    gw_breakers *b = calloc(1, sizeof *b);
    if (!b)
        goto nomem;
    b->policy = *policy;
    b->service_count = services->count;
    if (services->count) {
        b->circuits = calloc(services->count, sizeof *b->circuits);
        b->by_service = calloc(services->count, sizeof *b->by_service);
        if (!b->circuits || !b->by_service)
            goto nomem;
    }
    for (size_t i = 0; i < services->count; i++) {
        const gw_service_config *sc = services->services[i].config;
        char origin[ORIGIN_MAX];
        if (!sc || !gw_url_origin(sc->endpoint_url, origin, sizeof origin))
            continue;
        gw_breaker *c = NULL;
        for (size_t k = 0; k < b->count && !c; k++)
            if (strcmp(b->circuits[k].origin, origin) == 0)
                c = &b->circuits[k];
        if (!c) {
            c = &b->circuits[b->count++];
            memcpy(c->origin, origin, strlen(origin) + 1);
            pthread_mutex_init(&c->lock, NULL);
        }
        b->by_service[services->services[i].index] = c;
    }
    *out = b;
    return GW_OK;
nomem:
    gw_breakers_free(b);
    gw_set_error(err, errlen, "out of memory while creating the circuit breakers");
    return GW_ERR_NOMEM;
}

void gw_breakers_free(gw_breakers *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->count; i++)
        pthread_mutex_destroy(&b->circuits[i].lock);
    free(b->circuits);
    free(b->by_service);
    free(b);
}

int gw_breaker_admit(gw_breakers *b, size_t service_index, int64_t now_us,
                     gw_breaker_ticket *ticket, const char **origin)
{
    ticket->circuit = NULL;
    ticket->probe = 0;
    if (origin)
        *origin = NULL;
    if (!b || service_index >= b->service_count || !b->by_service[service_index])
        return 1;
    gw_breaker *c = b->by_service[service_index];
    if (origin)
        *origin = c->origin;
    int admit = 1;
    pthread_mutex_lock(&c->lock);
    if (c->state == GW_BREAKER_OPEN && now_us - c->opened_at_us >= b->policy.open_us) {
        c->state = GW_BREAKER_HALF_OPEN;
        c->probe_out = 0;
    }
    if (c->state == GW_BREAKER_OPEN || (c->state == GW_BREAKER_HALF_OPEN && c->probe_out)) {
        admit = 0;
        c->refused_total++;
    } else if (c->state == GW_BREAKER_HALF_OPEN) {
        c->probe_out = 1;
        ticket->probe = 1;
    }
    pthread_mutex_unlock(&c->lock);
    if (admit)
        ticket->circuit = c;
    if (ticket->probe)
        gw_log(PIDE_LOG_INFO, "provider %s: circuit half-open, one probe call let through",
               c->origin);
    return admit;
}

void gw_breaker_record(gw_breakers *b, const gw_breaker_ticket *ticket, int failed,
                       int64_t now_us)
{
    gw_breaker *c = ticket ? ticket->circuit : NULL;
    if (!b || !c)
        return;
    int opened = 0, closed = 0, count = 0;
    pthread_mutex_lock(&c->lock);
    if (ticket->probe) {
        c->probe_out = 0;
        if (failed) {
            c->state = GW_BREAKER_OPEN;
            c->opened_at_us = now_us;
            c->opened_total++;
            opened = 1;
        } else {
            c->state = GW_BREAKER_CLOSED;
            c->failures = 0;
            closed = 1;
        }
    } else if (c->state == GW_BREAKER_CLOSED) {
        /* Calls admitted before the circuit opened may still come back: only while closed do
         * they count (a late success does not close an open circuit: the probe decides). */
        if (!failed) {
            c->failures = 0;
        } else if (++c->failures >= b->policy.failures) {
            c->state = GW_BREAKER_OPEN;
            c->opened_at_us = now_us;
            c->opened_total++;
            count = c->failures;
            opened = 1;
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (opened && ticket->probe)
        gw_log(PIDE_LOG_WARN, "provider %s: probe failed, circuit open again for %lld ms",
               c->origin, (long long)(b->policy.open_us / 1000));
    else if (opened)
        gw_log(PIDE_LOG_WARN,
               "provider %s: circuit open after %d consecutive failures; its services answer "
               "Server.Provider.Unavailable at once for %lld ms",
               c->origin, count, (long long)(b->policy.open_us / 1000));
    if (closed)
        gw_log(PIDE_LOG_INFO, "provider %s: probe succeeded, circuit closed", c->origin);
}

size_t gw_breakers_count(const gw_breakers *b)
{
    return b ? b->count : 0;
}

void gw_breakers_view(gw_breakers *b, size_t i, gw_breaker_view *out)
{
    memset(out, 0, sizeof *out);
    if (!b || i >= b->count)
        return;
    gw_breaker *c = &b->circuits[i];
    pthread_mutex_lock(&c->lock);
    out->origin = c->origin;
    out->state = c->state;
    out->opened_total = c->opened_total;
    out->refused_total = c->refused_total;
    pthread_mutex_unlock(&c->lock);
}

const char *gw_breaker_state_name(gw_breaker_state s)
{
    switch (s) {
    case GW_BREAKER_CLOSED: return "closed";
    case GW_BREAKER_OPEN: return "open";
    case GW_BREAKER_HALF_OPEN: return "half-open";
    }
    return "unknown";
}
