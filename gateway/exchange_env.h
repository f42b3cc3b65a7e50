/*
 * exchange_env.h — what one thread lends the exchanges it runs: the things that cannot be shared
 * between threads (an outbound HTTP client with kept-alive provider connections, a signing
 * context with its duplicate of the key, one XSD validation context per service). Stages and
 * host functions reach them only through this interface; how a thread is fed requests (server.c's
 * workers, standalone_exchange.c's runners) is none of their business.
 */
#ifndef PIDE_GW_EXCHANGE_ENV_H
#define PIDE_GW_EXCHANGE_ENV_H

#include <stddef.h>

#include <libxml/xmlschemas.h>

#include "status.h"

struct gw_http_client;
struct gw_sign_ctx;
struct gw_signer;
struct gw_service;

typedef struct gw_exchange_env {
    int id;                              /* which runner: 0 .. n-1 */
    struct gw_http_client *http;         /* outbound provider calls */
    struct gw_sign_ctx *sign;            /* NULL when opened without a signer */
    xmlSchemaValidCtxtPtr *validators;   /* one per service, created on first use */
    size_t validator_count;
    unsigned long generation; /* the configuration snapshot they were made for */
} gw_exchange_env;

/* signer may be NULL (no signing context: signing then fails, as with no key). */
gw_status gw_exchange_env_init(gw_exchange_env *env, struct gw_signer *signer,
                               size_t service_count, int id);
void gw_exchange_env_fini(gw_exchange_env *env);
/* The next exchanges run on configuration snapshot `generation` (reload.h) with service_count
 * services: validators made for another snapshot are dropped. GW_ERR_NOMEM: none are kept. */
gw_status gw_exchange_env_use(gw_exchange_env *env, unsigned long generation, size_t service_count);
/* This thread's validator for a service (created on first use); NULL on out of memory or when
 * the service has no schema. */
xmlSchemaValidCtxtPtr gw_exchange_env_validator(gw_exchange_env *env,
                                                const struct gw_service *svc);

#endif
