/*
 * runtime.h — what the whole process shares (gw_runtime, read-only once started). What each
 * thread owns (provider client, signing context, schema validators) is exchange_env.h's; how
 * requests reach a thread is the transport's (server.c, transport.h). The shared objects are
 * declared, not defined, here: a stage includes the header of each one it actually uses.
 */
#ifndef PIDE_GW_RUNTIME_H
#define PIDE_GW_RUNTIME_H

#include "pide_adapter.h"
#include "service_catalog.h"
#include "status.h"
#include "xml_parse.h"

struct gw_config;
struct gw_adapter_registry;
struct gw_signer;
struct exchange_log;
struct gw_credential_cache;
struct gw_tls;
struct gw_replay_guard;
struct gw_replay_store;
struct gw_rate_limiter;
struct gw_trust_store;
struct gw_crl_set;
struct gw_breakers;

typedef struct gw_runtime {
    const struct gw_config *config;
    gw_xml_limits xml_limits;
    pide_host_api host;
    struct gw_adapter_registry *adapters;
    gw_service_catalog catalog;
    struct gw_signer *signer;
    struct exchange_log *log;
    struct gw_checkpointer *checkpointer; /* signed checkpoints of the log; NULL: none */
    struct gw_credential_cache *credentials;
    struct gw_tls *tls;                       /* the member listener's context, or NULL */
    struct gw_replay_guard *replay;           /* message ids seen per member */
    struct gw_replay_store *replay_store;     /* the same, shared by every node; NULL: node scope */
    struct gw_rate_limiter *rate;             /* per-member token buckets; NULL: no limit */
    struct gw_trust_store *wss_trust;         /* signers' CA for WS-Security; NULL: not accepted */
    struct gw_breakers *breakers;             /* per provider endpoint; NULL: turned off */
    struct gw_crl_set *crls;                  /* every configured CRL, for TLS and WS-Security; NULL: none */
} gw_runtime;

/* Brings up everything the workers share: keys, exchange log, adapters, services. */
gw_status gw_runtime_open(const struct gw_config *cfg, gw_runtime *rt, char *err, size_t errlen);
void gw_runtime_close(gw_runtime *rt);

/* Fills the host function table adapters receive (host_api.c). */
void gw_host_api_init(pide_host_api *api);

#endif
