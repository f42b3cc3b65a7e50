/*
 * runtime.h — what the whole process shares (gw_runtime, read-only once built). What each
 * thread owns (provider client, signing context, schema validators) is exchange_env.h's; how
 * requests reach a thread is the transport's (server.c, transport.h). The shared objects are
 * declared, not defined, here: a stage includes the header of each one it actually uses.
 *
 * A gw_runtime is also a snapshot of the configuration (reload.h): the parts derived from the
 * configuration file (config, catalogue and adapter instances, TLS context, trust store, CRLs,
 * rate limits, circuit breakers) belong to it, while the parts that live as long as the process
 * (signer, exchange log, checkpointer, credential cache, replay guard) are the first runtime's,
 * borrowed by every snapshot derived from it (gw_runtime_derive).
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

    /* The snapshot (reload.h) */
    unsigned long generation; /* 0: the configuration read at start; +1 per reload */
    int refs;                 /* holders, counted under the gw_live's lock */
    int derived;              /* 1: made by gw_runtime_derive (owns its config) */
    char *services_page;      /* GET /services (service_page.h) */
    size_t services_page_len;
    double signing_not_after, tls_not_after; /* certificates' notAfter, Unix seconds; 0 unknown */
} gw_runtime;

/* Brings up everything the workers share: keys, exchange log, adapters, services. */
gw_status gw_runtime_open(const struct gw_config *cfg, gw_runtime *rt, char *err, size_t errlen);
void gw_runtime_close(gw_runtime *rt);

/* A snapshot for a newly loaded configuration: the parts derived from cfg are opened afresh, the
 * process-wide ones borrowed from base (which must outlive it). On GW_OK *out owns cfg; on
 * failure nothing was changed, cfg is still the caller's, and err says why. */
gw_status gw_runtime_derive(const gw_runtime *base, struct gw_config *cfg, gw_runtime **out,
                            char *err, size_t errlen);
/* Frees what a snapshot owns: a derived one entirely; the first one only its configuration-derived
 * parts (gw_runtime_close still closes the process-wide ones, and its config stays the caller's). */
void gw_runtime_release_parts(gw_runtime *rt);
/* The notAfter of the first certificate in a PEM file, Unix seconds; 0 when unreadable. */
double gw_cert_not_after(const char *path);

/* Fills the host function table adapters receive (host_api.c). */
void gw_host_api_init(pide_host_api *api);
/* Adds config_dir to a table gw_host_api_init filled: only for the `host` member of a
 * gw_runtime, whose config's folder it answers. */
void gw_host_api_set_config_dir(pide_host_api *api);

#endif
