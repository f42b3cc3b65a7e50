/*
 * metrics.h — the gateway's operational metrics, and a small Prometheus text-format writer.
 *
 * Counting is lock-free: every counter, gauge and histogram bucket is a relaxed atomic, and a
 * labelled series is found in a fixed open-addressing table whose slots are claimed once with a
 * compare-and-swap (no lock, no allocation on the hot path). Label values come only from
 * bounded sets (configured services, their declared operations, configured members, fault
 * codes), and each table has a fixed capacity; a series that does not fit is counted in
 * pide_metrics_series_dropped_total instead of growing memory.
 *
 * The process has one set of metrics (gw_metrics_init at start-up, gw_metrics_shutdown at
 * exit); recording before init or after shutdown is a no-op for labelled series. The admin
 * listener (admin.h) renders them with gw_metrics_render. What each metric means:
 * docs/operations.md.
 */
#ifndef PIDE_GW_METRICS_H
#define PIDE_GW_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct pide_exchange;
struct gw_config;

/* ---- the text exposition writer (format 0.0.4) ---- */

typedef struct gw_prom_buf {
    char *data;
    size_t len, cap;
    int failed;                   /* out of memory: the text is incomplete, do not serve it */
} gw_prom_buf;

#define GW_HIST_MAX_BOUNDS 16

/* Buckets are counted non-cumulatively and summed when rendered; the sum is kept in millionths
 * of the unit (microseconds for seconds). */
typedef struct gw_histogram {
    const double *bounds;         /* ascending upper bounds, +Inf implied */
    int nbounds;
    atomic_uint_least64_t bucket[GW_HIST_MAX_BOUNDS + 1];
    atomic_uint_least64_t sum_micro;
} gw_histogram;

void gw_prom_buf_free(gw_prom_buf *b);
void gw_prom_printf(gw_prom_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void gw_prom_family(gw_prom_buf *b, const char *name, const char *type, const char *help);
/* name{l1="v1",...} value — values escaped (\\, \", \n); nlabels may be 0. */
void gw_prom_sample(gw_prom_buf *b, const char *name, const char *const *label_names,
                    const char *const *label_values, size_t nlabels, double value);
/* name_bucket{...,le="..."} (cumulative, +Inf last), name_sum, name_count. */
void gw_prom_histogram(gw_prom_buf *b, const char *name, const char *const *label_names,
                       const char *const *label_values, size_t nlabels, const gw_histogram *h);

void gw_histogram_init(gw_histogram *h, const double *bounds, int nbounds);
void gw_histogram_observe(gw_histogram *h, double value);

/* ---- the gateway's metrics ---- */

enum gw_tls_result { GW_TLS_HS_OK, GW_TLS_HS_FAILED, GW_TLS_HS_TIMEOUT, GW_TLS_HS_REFUSED };

/* Allocates the labelled tables; idempotent. Call before the threads that count start (main
 * does, before gw_server_start). GW_ERR_NOMEM when they cannot be allocated. */
gw_status gw_metrics_init(void);
void gw_metrics_shutdown(void);

/* An exchange whose answer is about to be written (its status is final): the exchange counter,
 * phase latencies, provider errors, rate-limit and replay refusals. cfg: the members known. */
void gw_metrics_exchange_done(const struct pide_exchange *ex, const struct gw_config *cfg);
void gw_metrics_tls_handshake(enum gw_tls_result result);
void gw_metrics_worker_busy(int delta);
/* The exchange log: a batch of n rows committed after `seconds` (first attempt to commit),
 * or a failed attempt. */
void gw_metrics_log_batch(int rows, double seconds);
void gw_metrics_log_failure(void);
/* 1 while the log writer cannot write (set by its failed attempts, cleared by a commit). */
void gw_metrics_log_failing(int failing);
int gw_metrics_log_is_failing(void);
/* A configuration reload (reload.h): counted by result; a success also sets the time of the
 * last successful load, which gw_metrics_config_loaded sets at start. */
void gw_metrics_config_reload(int ok);
void gw_metrics_config_loaded(void);
/* A dispatcher refusal answered without an exchange (400/405/413/431...). */
void gw_metrics_http_refusal(void);

/* Values the renderer cannot count itself, read when scraped. */
typedef struct gw_metrics_gauges {
    const char *version;
    long workers;
    long log_queue_depth;          /* -1: unknown */
    int ready;                     /* what /readyz would answer: 1 ready */
    int maintenance;
    double signing_cert_not_after; /* seconds since the epoch; 0 unknown */
    double tls_cert_not_after;
} gw_metrics_gauges;

/* The whole exposition into b (b zeroed or reused after gw_prom_buf_free). */
void gw_metrics_render(gw_prom_buf *b, const gw_metrics_gauges *g);

/* The provider circuits (circuit_breaker.h), appended to b: pide_provider_circuit_state
 * {endpoint} (0 closed, 1 open, 2 half-open), pide_provider_circuit_opened_total{endpoint} and
 * pide_provider_circuit_refusals_total{endpoint}. Nothing when breakers is NULL. */
struct gw_breakers;
void gw_metrics_render_circuits(gw_prom_buf *b, struct gw_breakers *breakers);

#endif
