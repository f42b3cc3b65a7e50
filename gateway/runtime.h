/*
 * runtime.h — what the whole process shares (gw_runtime, read-only once started) and what each
 * worker thread owns (gw_worker: its engine context, provider client, signing context and
 * schema validators, which are not safe to share between threads).
 */
#ifndef PIDE_GW_RUNTIME_H
#define PIDE_GW_RUNTIME_H

#include <stdatomic.h>

#include <libxml/xmlschemas.h>

#include "adapter_loader.h"
#include "config.h"
#include "credential.h"
#include "exchange.h"
#include "exchange_log.h"
#include "http_client.h"
#include "service_catalog.h"
#include "rate_limit.h"
#include "replay_guard.h"
#include "status.h"
#include "tls.h"
#include "wss.h"
#include "xml_parse.h"
#include "xml_sign.h"

typedef struct gw_runtime {
    const gw_config *config;
    gw_xml_limits xml_limits;
    pide_host_api host;
    gw_adapter_registry *adapters;
    gw_service_catalog catalog;
    gw_signer *signer;
    exchange_log *log;
    gw_credential_cache *credentials;
    gw_tls *tls;                         /* the member listener's context, or NULL */
    gw_replay_guard *replay;             /* message ids seen per member */
    gw_rate_limiter *rate;               /* per-member token buckets; NULL: no limit */
    gw_trust_store *wss_trust;           /* signers' CA for WS-Security; NULL: not accepted */
    gw_crl_set *crls;                    /* every configured CRL, for TLS and WS-Security; NULL: none */
} gw_runtime;

typedef struct gw_worker {
    int id;
    const gw_runtime *rt;
    struct soap *soap;                   /* inbound engine context, one connection at a time */
    gw_http_client *http;
    gw_sign_ctx *sign;
    xmlSchemaValidCtxtPtr *validators;   /* one per service, created on first use */
    const atomic_int *draining;          /* the server is stopping: answer, then close */
    /* What the engine reads for one request (server.c): exactly the bytes of the request the
     * dispatcher read and checked, and the refusal it decided on, if any (stage_receive turns
     * it into the exchange's Fault). */
    struct {
        const char *data;
        size_t len, off;
        gw_status refusal;               /* GW_OK: none */
        const char *refusal_why;
    } input;
    gw_exchange exchange;
} gw_worker;

/* Brings up everything the workers share: keys, exchange log, adapters, services. */
gw_status gw_runtime_open(const gw_config *cfg, gw_runtime *rt, char *err, size_t errlen);
void gw_runtime_close(gw_runtime *rt);

gw_status gw_worker_init(gw_worker *w, const gw_runtime *rt, int id);
void gw_worker_fini(gw_worker *w);
/* This worker's validator for a service (created on first use). */
xmlSchemaValidCtxtPtr gw_worker_validator(gw_worker *w, const gw_service *svc);

/* While the server drains (it is stopping), the answer about to be sent closes its connection,
 * so the client sends no further request nobody would read (server.c). */
void gw_worker_close_if_draining(gw_worker *w, struct soap *s);

/* Fills the host function table adapters receive (host_api.c). */
void gw_host_api_init(pide_host_api *api);

#endif
