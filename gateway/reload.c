/* reload.c — configuration snapshots and their reload (see reload.h). */
#include "reload.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "metrics.h"

/* ---- the current snapshot ---- */

struct gw_live {
    pthread_mutex_t lock;
    gw_runtime *current;
    gw_runtime *first; /* the one gw_live_new was given */
    int owns_first;
    atomic_ulong generation;
};

gw_status gw_live_new(gw_runtime *first, int owns_first, gw_live **out)
{
    *out = NULL;
    gw_live *l = calloc(1, sizeof *l);
    if (!l)
        return GW_ERR_NOMEM;
    pthread_mutex_init(&l->lock, NULL);
    first->refs = 1; /* the live's own */
    l->current = l->first = first;
    l->owns_first = owns_first;
    atomic_store(&l->generation, first->generation);
    *out = l;
    return GW_OK;
}

/* A snapshot nobody holds any more. */
static void snapshot_free(gw_live *l, gw_runtime *rt)
{
    if (rt != l->first)
        gw_runtime_release_parts(rt); /* derived: frees it all */
    else if (l->owns_first)
        gw_runtime_release_parts(rt);
}

const gw_runtime *gw_live_acquire(gw_live *l)
{
    pthread_mutex_lock(&l->lock);
    gw_runtime *rt = l->current;
    rt->refs++;
    pthread_mutex_unlock(&l->lock);
    return rt;
}

void gw_live_release(gw_live *l, const gw_runtime *crt)
{
    if (!crt)
        return;
    gw_runtime *rt = (gw_runtime *)crt;
    pthread_mutex_lock(&l->lock);
    int last = --rt->refs == 0;
    pthread_mutex_unlock(&l->lock);
    if (last) {
        gw_log(PIDE_LOG_DEBUG, "configuration generation %lu released", rt->generation);
        snapshot_free(l, rt);
    }
}

unsigned long gw_live_generation(gw_live *l) { return atomic_load(&l->generation); }

void gw_live_swap(gw_live *l, gw_runtime *next)
{
    pthread_mutex_lock(&l->lock);
    gw_runtime *old = l->current;
    next->generation = old->generation + 1;
    next->refs = 1;
    l->current = next;
    atomic_store(&l->generation, next->generation);
    pthread_mutex_unlock(&l->lock);
    gw_live_release(l, old);
}

void gw_live_free(gw_live *l)
{
    if (!l)
        return;
    gw_live_release(l, l->current);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* ---- settings only a restart changes ---- */

static int str_differs(const char *a, const char *b)
{
    if (!a || !b)
        return a != b;
    return strcmp(a, b) != 0;
}

static void note(char *report, size_t reportlen, int *count, const char *what)
{
    size_t used = strlen(report);
    if (used < reportlen)
        snprintf(report + used, reportlen - used, "%s%s", *count ? ", " : "", what);
    (*count)++;
}

int gw_config_keep_restart_only(gw_config *next, const gw_config *run, char *report,
                                size_t reportlen)
{
    int n = 0;
    int implied_in_flight =
        next->max_in_flight == 2 * next->workers && run->max_in_flight == 2 * run->workers;
    if (reportlen)
        report[0] = '\0';
#define KEEP_VALUE(field, what) \
    do { \
        if (next->field != run->field) { \
            note(report, reportlen, &n, what); \
            next->field = run->field; \
        } \
    } while (0)
#define KEEP_STRING(field, what) \
    do { \
        if (str_differs(next->field, run->field)) { \
            note(report, reportlen, &n, what); \
            free(next->field); \
            next->field = run->field ? strdup(run->field) : NULL; \
            if (run->field && !next->field) \
                return -1; \
        } \
    } while (0)
    KEEP_STRING(listen_address, "<listen address>");
    KEEP_VALUE(listen_port, "<listen port>");
    KEEP_VALUE(workers, "<listen workers>");
    /* maxInFlight left to its default follows workers: not a setting of its own to report */
    if (next->max_in_flight != run->max_in_flight) {
        if (!implied_in_flight)
            note(report, reportlen, &n, "<listen maxInFlight>");
        next->max_in_flight = run->max_in_flight;
    }
    KEEP_VALUE(backlog, "<listen backlog>");
    KEEP_VALUE(tls_enabled, "<tls> (present or not)");
    if (run->tls_enabled) {
        KEEP_STRING(tls_address, "<tls address>");
        KEEP_VALUE(tls_port, "<tls port>");
    }
    KEEP_VALUE(admin_enabled, "<admin> (present or not)");
    KEEP_STRING(admin_address, "<admin address>");
    KEEP_VALUE(admin_port, "<admin port>");
    KEEP_VALUE(admin_allow_non_loopback, "<admin allowNonLoopback>");
    KEEP_VALUE(admin_probe_interval_ms, "<admin probeIntervalMs>");
    KEEP_VALUE(admin_drain_delay_ms, "<admin drainDelayMs>");
    KEEP_VALUE(log_json, "<operationalLog format>");
    KEEP_VALUE(replay_window_s, "<limits replayWindowSeconds>");
    KEEP_VALUE(replay_max_entries, "<limits replayMaxEntries>");
    KEEP_VALUE(replay_cluster, "<limits replayScope>");
    KEEP_STRING(adapter_dir, "<paths adapterDir>");
    KEEP_STRING(signing_key_path, "<signing key>");
    KEEP_STRING(signing_cert_path, "<signing certificate>");
    KEEP_STRING(signing_pin_file, "<signing pinFile>");
    KEEP_STRING(signing_pkcs11_module, "<signing module>");
    KEEP_STRING(db_conninfo, "<database conninfo>");
    KEEP_STRING(db_password_file, "<database passwordFile>");
    KEEP_VALUE(log_batch_max, "<database batchMax>");
    KEEP_VALUE(log_commit_timeout_ms, "<database commitTimeoutMs>");
    KEEP_STRING(spool_dir, "<spool dir>");
    KEEP_VALUE(spool_max_bytes, "<spool maxBytes>");
    KEEP_VALUE(spool_switch_after_ms, "<spool switchAfterMs>");
    KEEP_VALUE(checkpoint_enabled, "<checkpoint> (present or not)");
    KEEP_STRING(checkpoint_node_id, "<checkpoint nodeId>");
    KEEP_VALUE(checkpoint_every_rows, "<checkpoint everyRows>");
    KEEP_VALUE(checkpoint_every_seconds, "<checkpoint everySeconds>");
    KEEP_STRING(checkpoint_timestamp_url, "<checkpoint timestampUrl>");
    KEEP_STRING(checkpoint_timestamp_ca, "<checkpoint timestampCa>");
    KEEP_VALUE(checkpoint_stamp_timeout_ms, "<checkpoint stampTimeoutMs>");
    KEEP_VALUE(checkpoint_stamp_grace_s, "<checkpoint stampGraceSeconds>");
    KEEP_VALUE(checkpoint_refuse_unstamped, "<checkpoint onStampFailure>");
#undef KEEP_VALUE
#undef KEEP_STRING
    return n;
}

/* ---- the reload ---- */

struct gw_reloader {
    gw_live *live;
    const gw_runtime *base;
    char *config_path;
    char *schema_dir;
    void (*notify)(const char *state);
    pthread_mutex_t lock; /* one reload at a time */
};

gw_status gw_reloader_new(gw_live *live, const gw_runtime *base, const char *config_path,
                          const char *schema_dir, void (*notify)(const char *state),
                          gw_reloader **out)
{
    *out = NULL;
    gw_reloader *r = calloc(1, sizeof *r);
    if (!r)
        return GW_ERR_NOMEM;
    r->live = live;
    r->base = base;
    r->notify = notify;
    r->config_path = strdup(config_path);
    r->schema_dir = schema_dir ? strdup(schema_dir) : NULL;
    if (!r->config_path || (schema_dir && !r->schema_dir)) {
        gw_reloader_free(r);
        return GW_ERR_NOMEM;
    }
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return GW_OK;
}

void gw_reloader_free(gw_reloader *r)
{
    if (!r)
        return;
    if (r->config_path)
        pthread_mutex_destroy(&r->lock);
    free(r->config_path);
    free(r->schema_dir);
    free(r);
}

static size_t grant_count(const gw_config *cfg)
{
    size_t n = cfg->audit_grant_count;
    for (size_t i = 0; i < cfg->service_count; i++)
        n += cfg->services[i].grant_count;
    return n;
}

static void counts(const gw_config *cfg, size_t *members, size_t *services, size_t *grants)
{
    *members = cfg->member_count;
    *services = cfg->service_count;
    *grants = grant_count(cfg);
}

void gw_reload(gw_reloader *r, int wait, gw_reload_result *res)
{
    memset(res, 0, sizeof *res);
    if (wait)
        pthread_mutex_lock(&r->lock);
    else if (pthread_mutex_trylock(&r->lock) != 0) {
        res->http_status = 409;
        snprintf(res->message, sizeof res->message, "another reload is under way");
        gw_log_event(PIDE_LOG_WARN, "reload", NULL, "reload refused: %s", res->message);
        return;
    }
    if (r->notify)
        r->notify("RELOADING=1");
    char err[1024] = "";
    gw_config *cfg = NULL;
    gw_runtime *next = NULL;
    const gw_runtime *cur = gw_live_acquire(r->live);
    counts(cur->config, &res->old_members, &res->old_services, &res->old_grants);
    gw_status st = gw_config_load(r->config_path, r->schema_dir, &cfg, err, sizeof err);
    if (st == GW_OK) {
        res->restart_needed = gw_config_keep_restart_only(cfg, cur->config, res->restart_settings,
                                                          sizeof res->restart_settings);
        if (res->restart_needed < 0) {
            st = GW_ERR_NOMEM;
            snprintf(err, sizeof err, "%s: out of memory", r->config_path);
        }
    }
    if (st == GW_OK && res->restart_needed > 0) {
        /* one line per setting: "<listen port>", "<signing key>"... (never ", " inside) */
        const char *p = res->restart_settings;
        while (*p) {
            size_t n = strcspn(p, ",");
            gw_log_event(PIDE_LOG_WARN, "reload", NULL,
                         "%s: %.*s changed but needs a restart: the running value stays",
                         r->config_path, (int)n, p);
            p += n;
            while (*p == ',' || *p == ' ')
                p++;
        }
    }
    if (st == GW_OK)
        st = gw_runtime_derive(r->base, cfg, &next, err, sizeof err);
    if (st == GW_OK) {
        cfg = NULL; /* the snapshot's */
        counts(next->config, &res->members, &res->services, &res->grants);
        gw_live_swap(r->live, next);
        res->ok = 1;
        res->http_status = 200;
        res->generation = gw_live_generation(r->live);
        gw_metrics_config_reload(1);
        gw_log_event(PIDE_LOG_INFO, "reload", NULL,
                     "configuration reloaded from %s (generation %lu): %zu members (were %zu), "
                     "%zu services (were %zu), %zu grants (were %zu)%s%s",
                     r->config_path, res->generation, res->members, res->old_members, res->services,
                     res->old_services, res->grants, res->old_grants,
                     res->restart_needed ? "; needing a restart: " : "",
                     res->restart_needed ? res->restart_settings : "");
    } else {
        res->http_status = 422;
        res->generation = cur->generation;
        res->members = res->old_members;
        res->services = res->old_services;
        res->grants = res->old_grants;
        snprintf(res->message, sizeof res->message, "%s", err[0] ? err : gw_status_message(st));
        gw_metrics_config_reload(0);
        gw_log_event(PIDE_LOG_ERROR, "reload", NULL,
                     "configuration reload failed, generation %lu stays in force: %s",
                     res->generation, res->message);
    }
    gw_config_free(cfg);
    gw_live_release(r->live, cur);
    if (r->notify)
        r->notify("READY=1");
    pthread_mutex_unlock(&r->lock);
}

/* s as the contents of a JSON string. */
static size_t json_escape(char *out, size_t outlen, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < outlen; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    if (outlen)
        out[o < outlen ? o : outlen - 1] = '\0';
    return o;
}

void gw_reload_result_json(const gw_reload_result *res, char *out, size_t outlen)
{
    char msg[2200], restart[1100];
    json_escape(msg, sizeof msg, res->message);
    json_escape(restart, sizeof restart, res->restart_settings);
    if (res->ok)
        snprintf(out, outlen,
                 "{\"result\":\"ok\",\"generation\":%lu,\"members\":%zu,\"services\":%zu,"
                 "\"grants\":%zu,\"previous\":{\"members\":%zu,\"services\":%zu,\"grants\":%zu},"
                 "\"restartNeeded\":\"%s\"}\n",
                 res->generation, res->members, res->services, res->grants, res->old_members,
                 res->old_services, res->old_grants, restart);
    else
        snprintf(out, outlen, "{\"result\":\"failed\",\"generation\":%lu,\"error\":\"%s\"}\n",
                 res->generation, msg);
}
