/* runtime.c — start-up and shut-down of the shared runtime, and the configuration snapshots
 * derived from it (runtime.h). */
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "adapter_loader.h"
#include "checkpoint.h"
#include "circuit_breaker.h"
#include "config.h"
#include "credential.h"
#include "crl.h"
#include "exchange_log.h"
#include "key_store.h"
#include "log.h"
#include "rate_limit.h"
#include "replay_guard.h"
#include "replay_store.h"
#include "secret_file.h"
#include "service_page.h"
#include "tls.h"
#include "xml_sign.h"

/* This node's share of a configured rate or burst: 1/<cluster nodes> of it (docs/scaling.md),
 * a burst never below one request. */
static double node_share(const gw_config *cfg, double value, double floor)
{
    int nodes = cfg->cluster_nodes > 1 ? cfg->cluster_nodes : 1;
    double share = value / nodes;
    return share < floor ? floor : share;
}

/* Per-member token buckets, when <limits ratePerSecond> or a member's own rate asks for them;
 * with <cluster nodes="N">, each node enforces 1/N of every configured rate and burst. */
static gw_status rate_limiter_open(const gw_config *cfg, gw_rate_limiter **out, char *err,
                                   size_t errlen)
{
    int any = cfg->rate_per_s > 0;
    for (size_t i = 0; i < cfg->member_count; i++)
        any |= cfg->members[i].rate_per_s > 0;
    *out = NULL;
    if (!any)
        return GW_OK;
    /* Members without a rate of their own when there is no default: unlimited in effect. */
    double rate = cfg->rate_per_s > 0 ? node_share(cfg, cfg->rate_per_s, 0) : GW_RATE_MAX_PER_S;
    double burst = cfg->rate_per_s > 0 ? node_share(cfg, cfg->rate_burst, 1) : GW_RATE_MAX_BURST;
    gw_rate_limiter *l = gw_rate_limiter_new(rate, burst, cfg->rate_max_clients);
    if (!l) {
        gw_set_error(err, errlen, "cannot create the rate limiter");
        return GW_ERR_NOMEM;
    }
    for (size_t i = 0; i < cfg->member_count; i++) {
        const gw_member *m = &cfg->members[i];
        if (m->rate_per_s <= 0)
            continue;
        double mburst = m->rate_burst > 0 ? m->rate_burst : 2.0 * m->rate_per_s;
        if (gw_rate_limiter_set_client(l, m->id, node_share(cfg, m->rate_per_s, 0),
                                       node_share(cfg, mburst, 1)) != GW_OK) {
            gw_set_error(err, errlen, "member %s: cannot set its rate limit", m->id);
            gw_rate_limiter_free(l);
            return GW_ERR_CONFIG;
        }
    }
    *out = l;
    return GW_OK;
}

/* The parts the TLS context and the trust stores need, checked before the database is reached
 * (a bad certificate is reported before a database error). */
static gw_status parts_open_early(const gw_config *cfg, gw_runtime *rt, char *err, size_t errlen)
{
    gw_status st;
    rt->xml_limits.max_depth = cfg->max_xml_depth;
    rt->xml_limits.max_nodes = cfg->max_xml_nodes;
    gw_host_api_init(&rt->host);
    gw_host_api_set_config_dir(&rt->host);

    /* One set of revocation lists judges members on both paths: the TLS handshake and the
     * WS-Security signer check. */
    const char *crl_paths[2];
    size_t crl_count = 0;
    if (cfg->tls_enabled && cfg->tls_crl_path)
        crl_paths[crl_count++] = cfg->tls_crl_path;
    if (cfg->wss_crl_path && !(crl_count && strcmp(crl_paths[0], cfg->wss_crl_path) == 0))
        crl_paths[crl_count++] = cfg->wss_crl_path;
    if (crl_count && (st = gw_crl_set_open(crl_paths, crl_count, &rt->crls, err, errlen)) != GW_OK)
        return st;

    if (cfg->tls_enabled && (st = gw_tls_open(cfg, rt->crls, &rt->tls, err, errlen)) != GW_OK)
        return st;
    if ((st = rate_limiter_open(cfg, &rt->rate, err, errlen)) != GW_OK)
        return st;
    if (cfg->wss_trusted_ca_path &&
        (st = gw_trust_store_load(cfg->wss_trusted_ca_path, &rt->wss_trust, err, errlen)) != GW_OK)
        return st;
    if (rt->wss_trust && rt->crls && gw_trust_store_use_crls(rt->wss_trust, rt->crls) != GW_OK) {
        gw_set_error(err, errlen, "cannot attach the CRLs to the WS-Security trust store");
        return GW_ERR_INTERNAL;
    }
    rt->tls_not_after = cfg->tls_enabled ? gw_cert_not_after(cfg->tls_cert_path) : 0;
    return GW_OK;
}

/* The adapters (init() of each service's instance), the catalogue and what is made from it. */
static gw_status parts_open_late(const gw_config *cfg, gw_runtime *rt, char *err, size_t errlen)
{
    gw_status st = gw_adapter_registry_open(cfg, &rt->host, &rt->adapters, err, errlen);
    if (st != GW_OK)
        return st;
    st = gw_service_catalog_open(cfg, rt->adapters, &rt->catalog, err, errlen);
    if (st != GW_OK)
        return st;
    gw_breaker_policy bp = {.failures = cfg->breaker_failures,
                            .open_us = (int64_t)cfg->breaker_open_s * 1000000};
    st = gw_breakers_new(&rt->catalog, &bp, &rt->breakers, err, errlen);
    if (st != GW_OK)
        return st;
    if (gw_service_page_build(&rt->catalog, &rt->services_page, &rt->services_page_len) != GW_OK) {
        gw_set_error(err, errlen, "out of memory while building the services page");
        return GW_ERR_NOMEM;
    }
    return GW_OK;
}

void gw_runtime_release_parts(gw_runtime *rt)
{
    if (!rt)
        return;
    free(rt->services_page);
    rt->services_page = NULL;
    rt->services_page_len = 0;
    gw_breakers_free(rt->breakers);
    rt->breakers = NULL;
    gw_service_catalog_close(&rt->catalog);
    memset(&rt->catalog, 0, sizeof rt->catalog);
    if (rt->adapters)
        gw_adapter_registry_close(rt->adapters);
    rt->adapters = NULL;
    gw_tls_close(rt->tls);
    rt->tls = NULL;
    if (rt->rate)
        gw_rate_limiter_free(rt->rate);
    rt->rate = NULL;
    if (rt->wss_trust)
        gw_trust_store_free(rt->wss_trust);
    rt->wss_trust = NULL;
    gw_crl_set_free(rt->crls); /* after the stores that consult it */
    rt->crls = NULL;
    if (rt->derived) {
        gw_config_free((gw_config *)rt->config);
        free(rt);
    }
}

gw_status gw_runtime_derive(const gw_runtime *base, gw_config *cfg, gw_runtime **out, char *err,
                            size_t errlen)
{
    gw_status st;
    *out = NULL;
    gw_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        gw_set_error(err, errlen, "out of memory for a new configuration snapshot");
        return GW_ERR_NOMEM;
    }
    rt->config = cfg;
    rt->signer = base->signer;
    rt->log = base->log;
    rt->checkpointer = base->checkpointer;
    rt->credentials = base->credentials;
    rt->replay = base->replay;
    rt->replay_store = base->replay_store; /* opened at start: replayScope needs a restart */
    rt->signing_not_after = base->signing_not_after; /* the key in use is the one read at start */
    if ((st = parts_open_early(cfg, rt, err, errlen)) != GW_OK ||
        (st = parts_open_late(cfg, rt, err, errlen)) != GW_OK)
        goto fail;
    rt->derived = 1;
    *out = rt;
    return GW_OK;
fail:
    gw_runtime_release_parts(rt); /* not derived yet: cfg stays the caller's */
    free(rt);
    return st;
}

gw_status gw_runtime_open(const gw_config *cfg, gw_runtime *rt, char *err, size_t errlen)
{
    gw_status st;
    char *db_password = NULL;
    memset(rt, 0, sizeof *rt);
    rt->config = cfg;

    gw_key_source key = {.key = cfg->signing_key_path,
                         .pin_file = cfg->signing_pin_file,
                         .module = cfg->signing_pkcs11_module};
    st = gw_signer_open_source(&key, cfg->signing_cert_path, &rt->signer, err, errlen);
    if (st != GW_OK)
        goto fail;
    rt->signing_not_after = gw_cert_not_after(cfg->signing_cert_path);

    if ((st = parts_open_early(cfg, rt, err, errlen)) != GW_OK)
        goto fail;

    rt->replay = gw_replay_guard_new((unsigned)cfg->replay_window_s, cfg->replay_max_entries);
    if (!rt->replay) {
        st = GW_ERR_NOMEM;
        gw_set_error(err, errlen, "cannot create the replay guard");
        goto fail;
    }

    rt->credentials = gw_credential_cache_new(0);
    if (!rt->credentials) {
        st = GW_ERR_NOMEM;
        gw_set_error(err, errlen, "cannot create the credential cache");
        goto fail;
    }

    if (cfg->db_password_file) {
        st = gw_read_secret_file(cfg->db_password_file, &db_password, err, errlen);
        if (st != GW_OK)
            goto fail;
    }
    if (cfg->checkpoint_enabled) {
        gw_checkpoint_options co = {
            .conninfo = cfg->db_conninfo,
            .password = db_password,
            .node_id = cfg->checkpoint_node_id,
            .key_path = cfg->signing_key_path,
            .cert_path = cfg->signing_cert_path,
            .pin_file = cfg->signing_pin_file,
            .pkcs11_module = cfg->signing_pkcs11_module,
            .every_rows = cfg->checkpoint_every_rows,
            .every_seconds = cfg->checkpoint_every_seconds,
            .timestamp_url = cfg->checkpoint_timestamp_url,
            .timestamp_ca_path = cfg->checkpoint_timestamp_ca,
            .stamp_timeout_ms = cfg->checkpoint_stamp_timeout_ms,
            .stamp_grace_s = cfg->checkpoint_stamp_grace_s,
            .refuse_when_unstamped = cfg->checkpoint_refuse_unstamped != 0,
            .start_without_db = cfg->spool_dir != NULL,
        };
        st = gw_checkpointer_open(&co, &rt->checkpointer, err, errlen);
        if (st != GW_OK)
            goto fail;
        if (!cfg->checkpoint_timestamp_url)
            gw_log(PIDE_LOG_WARN, "checkpoints are signed but not time-stamped (no <checkpoint "
                                  "timestampUrl>)");
    }
    if (cfg->replay_cluster) {
        gw_replay_store_options ro = {
            .conninfo = cfg->db_conninfo,
            .password = db_password,
            .window_s = (unsigned)cfg->replay_window_s,
            .timeout_ms = cfg->log_commit_timeout_ms,
            .max_sessions = cfg->workers > 0 && cfg->workers < 8 ? (size_t)cfg->workers : 8,
            .start_without_db = cfg->spool_dir != NULL,
        };
        if ((st = gw_replay_store_open(&ro, &rt->replay_store, err, errlen)) != GW_OK)
            goto fail;
    }
    exchange_log_options lo = {
        .conninfo = cfg->db_conninfo,
        .password = db_password,
        .batch_max = cfg->log_batch_max,
        .commit_timeout_ms = cfg->log_commit_timeout_ms,
        .on_commit = rt->checkpointer ? gw_checkpointer_note_commit : NULL,
        .on_commit_arg = rt->checkpointer,
        .spool_dir = cfg->spool_dir,
        .spool_max_bytes = (uint64_t)cfg->spool_max_bytes,
        .switch_after_ms = cfg->spool_switch_after_ms,
    };
    st = gw_exchange_log_open(&lo, &rt->log, err, errlen);
    gw_secret_free(db_password);
    db_password = NULL;
    if (st != GW_OK)
        goto fail;
    if (rt->checkpointer &&
        (st = gw_checkpointer_start(rt->checkpointer, rt->log, err, errlen)) != GW_OK)
        goto fail;

    if ((st = parts_open_late(cfg, rt, err, errlen)) != GW_OK)
        goto fail;
    return GW_OK;
fail:
    gw_secret_free(db_password);
    gw_runtime_close(rt);
    return st;
}

void gw_runtime_close(gw_runtime *rt)
{
    gw_runtime_release_parts(rt);
    /* The checkpointer's thread stops before the log it may hold goes away; its final
     * checkpoint comes after the log's last commits. */
    gw_checkpointer_stop(rt->checkpointer);
    if (rt->log)
        gw_exchange_log_close(rt->log);
    gw_checkpointer_close(rt->checkpointer);
    if (rt->credentials)
        gw_credential_cache_free(rt->credentials);
    if (rt->signer)
        gw_signer_close(rt->signer);
    if (rt->replay)
        gw_replay_guard_free(rt->replay);
    gw_replay_store_close(rt->replay_store);
    memset(rt, 0, sizeof *rt);
}

double gw_cert_not_after(const char *path)
{
    if (!path)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x) {
        gw_log_openssl_errors(PIDE_LOG_WARN, path);
        return 0;
    }
    struct tm tm;
    double t = 0;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        t = (double)timegm(&tm);
    X509_free(x);
    return t;
}
