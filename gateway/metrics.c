/* metrics.c — lock-free counters and histograms, and their Prometheus text exposition
 * (see metrics.h; what each metric means: docs/operations.md). */
#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter_loader.h"
#include "circuit_breaker.h"
#include "clock.h"
#include "config.h"
#include "exchange.h"
#include "service_catalog.h"

/* ---- writer ---- */

static int buf_reserve(gw_prom_buf *b, size_t more)
{
    if (b->failed)
        return 0;
    if (b->len + more + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

void gw_prom_buf_free(gw_prom_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void gw_prom_printf(gw_prom_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void buf_putc(gw_prom_buf *b, char c)
{
    if (!buf_reserve(b, 1))
        return;
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

/* HELP text escapes \ and newline; label values also ". */
static void put_escaped(gw_prom_buf *b, const char *s, int quote)
{
    for (; s && *s; s++) {
        if (*s == '\\')
            gw_prom_printf(b, "\\\\");
        else if (*s == '\n')
            gw_prom_printf(b, "\\n");
        else if (quote && *s == '"')
            gw_prom_printf(b, "\\\"");
        else
            buf_putc(b, *s);
    }
}

void gw_prom_family(gw_prom_buf *b, const char *name, const char *type, const char *help)
{
    gw_prom_printf(b, "# HELP %s ", name);
    put_escaped(b, help, 0);
    gw_prom_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* Go's ParseFloat reads every form printed here: integers exactly, others with 17 digits. */
static void put_value(gw_prom_buf *b, double v)
{
    if (isnan(v))
        gw_prom_printf(b, "NaN");
    else if (isinf(v))
        gw_prom_printf(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9.007199254740992e15)
        gw_prom_printf(b, "%.0f", v);
    else {
        /* the shortest form that reads back as the same double */
        char text[40];
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(text, sizeof text, "%.*g", digits, v);
            if (strtod(text, NULL) == v)
                break;
        }
        gw_prom_printf(b, "%s", text);
    }
}

static void put_labels(gw_prom_buf *b, const char *const *names, const char *const *values,
                       size_t n, const char *le)
{
    if (n == 0 && !le)
        return;
    buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        gw_prom_printf(b, "%s%s=\"", i ? "," : "", names[i]);
        put_escaped(b, values[i] ? values[i] : "", 1);
        buf_putc(b, '"');
    }
    if (le)
        gw_prom_printf(b, "%sle=\"%s\"", n ? "," : "", le);
    buf_putc(b, '}');
}

void gw_prom_sample(gw_prom_buf *b, const char *name, const char *const *label_names,
                    const char *const *label_values, size_t nlabels, double value)
{
    gw_prom_printf(b, "%s", name);
    put_labels(b, label_names, label_values, nlabels, NULL);
    buf_putc(b, ' ');
    put_value(b, value);
    buf_putc(b, '\n');
}

void gw_prom_histogram(gw_prom_buf *b, const char *name, const char *const *label_names,
                       const char *const *label_values, size_t nlabels, const gw_histogram *h)
{
    uint64_t cumulative = 0;
    for (int i = 0; i <= h->nbounds; i++) {
        cumulative += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        char le[40];
        if (i < h->nbounds)
            snprintf(le, sizeof le, "%.15g", h->bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        gw_prom_printf(b, "%s_bucket", name);
        put_labels(b, label_names, label_values, nlabels, le);
        gw_prom_printf(b, " %llu\n", (unsigned long long)cumulative);
    }
    gw_prom_printf(b, "%s_sum", name);
    put_labels(b, label_names, label_values, nlabels, NULL);
    buf_putc(b, ' ');
    put_value(b, (double)atomic_load_explicit(&h->sum_micro, memory_order_relaxed) / 1e6);
    buf_putc(b, '\n');
    /* the +Inf bucket, so _count always equals it even while observations arrive */
    gw_prom_printf(b, "%s_count", name);
    put_labels(b, label_names, label_values, nlabels, NULL);
    gw_prom_printf(b, " %llu\n", (unsigned long long)cumulative);
}

void gw_histogram_init(gw_histogram *h, const double *bounds, int nbounds)
{
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->nbounds = nbounds > GW_HIST_MAX_BOUNDS ? GW_HIST_MAX_BOUNDS : nbounds;
}

void gw_histogram_observe(gw_histogram *h, double value)
{
    int i = 0;
    while (i < h->nbounds && value > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    if (value > 0)
        atomic_fetch_add_explicit(&h->sum_micro, (uint_least64_t)llround(value * 1e6),
                                  memory_order_relaxed);
}

/* ---- labelled series: a fixed open-addressing table, slots claimed by CAS ---- */

#define LABELS_MAX 4
#define LABEL_LEN 96

enum { SLOT_EMPTY, SLOT_WRITING, SLOT_READY };

typedef struct series {
    atomic_int state;
    uint64_t hash;
    char values[LABELS_MAX][LABEL_LEN];
    atomic_uint_least64_t counter;
    gw_histogram hist;
} series;

typedef struct family {
    const char *name, *help;
    int histogram;
    const char *label_names[LABELS_MAX];
    size_t nlabels;
    const double *bounds;
    int nbounds;
    size_t capacity;               /* a power of two */
    series *slots;
} family;

static uint64_t hash_values(const char *const *values, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        for (const char *p = values[i] ? values[i] : ""; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* separator: ("a","b") is not ("ab","") */
    }
    return h;
}

static int same_values(const series *s, const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = values[i] ? values[i] : "";
        if (strncmp(s->values[i], v, LABEL_LEN - 1) != 0)
            return 0;
    }
    return 1;
}

static atomic_uint_least64_t series_dropped;

/* The series of these label values, created on first use; NULL when the table is full (or not
 * allocated). Never takes a lock: an empty slot is claimed by CAS, filled, then published. */
static series *family_get(family *f, const char *const *values)
{
    if (!f->slots)
        return NULL;
    uint64_t h = hash_values(values, f->nlabels);
    size_t mask = f->capacity - 1;
    for (size_t probe = 0; probe < f->capacity; probe++) {
        series *s = &f->slots[(h + probe) & mask];
        int st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st == SLOT_EMPTY) {
            int expected = SLOT_EMPTY;
            if (atomic_compare_exchange_strong(&s->state, &expected, SLOT_WRITING)) {
                s->hash = h;
                for (size_t i = 0; i < f->nlabels; i++)
                    snprintf(s->values[i], LABEL_LEN, "%s", values[i] ? values[i] : "");
                if (f->histogram)
                    gw_histogram_init(&s->hist, f->bounds, f->nbounds);
                atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
                return s;
            }
            st = expected;
        }
        while (st == SLOT_WRITING) /* another thread is filling it: a few stores away */
            st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (s->hash == h && same_values(s, values, f->nlabels))
            return s;
    }
    atomic_fetch_add_explicit(&series_dropped, 1, memory_order_relaxed);
    return NULL;
}

static void family_count(family *f, const char *const *values)
{
    series *s = family_get(f, values);
    if (s)
        atomic_fetch_add_explicit(&s->counter, 1, memory_order_relaxed);
}

static void family_observe(family *f, const char *const *values, double v)
{
    series *s = family_get(f, values);
    if (s)
        gw_histogram_observe(&s->hist, v);
}

static void family_render(gw_prom_buf *b, const family *f)
{
    gw_prom_family(b, f->name, f->histogram ? "histogram" : "counter", f->help);
    for (size_t i = 0; f->slots && i < f->capacity; i++) {
        const series *s = &f->slots[i];
        if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_READY)
            continue;
        const char *values[LABELS_MAX];
        for (size_t k = 0; k < f->nlabels; k++)
            values[k] = s->values[k];
        if (f->histogram)
            gw_prom_histogram(b, f->name, f->label_names, values, f->nlabels, &s->hist);
        else
            gw_prom_sample(b, f->name, f->label_names, values, f->nlabels,
                           (double)atomic_load_explicit(&s->counter, memory_order_relaxed));
    }
}

/* ---- the gateway's metrics ---- */

static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,    1,     2.5,  5,     10,   30};
static const double commit_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05,   0.1,   0.25,   0.5,   1,    5};
static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static family exchanges = {
    .name = "pide_exchanges_total",
    .help = "Exchanges answered, by service, operation, authenticated member and outcome "
            "(ok or the SOAP Fault code).",
    .label_names = {"service", "operation", "member", "outcome"}, .nlabels = 4,
    .capacity = 2048};
static family durations = {
    .name = "pide_exchange_duration_seconds",
    .help = "Request received to answer written (after its log row committed), per service.",
    .histogram = 1, .label_names = {"service"}, .nlabels = 1,
    .bounds = latency_bounds, .nbounds = COUNT(latency_bounds), .capacity = 256};
static family phases = {
    .name = "pide_exchange_phase_seconds",
    .help = "Time per phase of an exchange: gateway_in (request in to provider call), provider "
            "(provider call to its answer), gateway_out (provider answer to signed response), "
            "log_commit (signed response to answer written: the group commit).",
    .histogram = 1, .label_names = {"service", "phase"}, .nlabels = 2,
    .bounds = latency_bounds, .nbounds = COUNT(latency_bounds), .capacity = 1024};
static family provider_errors = {
    .name = "pide_provider_errors_total",
    .help = "Provider calls that failed, by service and fault code (timeout, unavailable, "
            "bad response, adapter).",
    .label_names = {"service", "fault"}, .nlabels = 2, .capacity = 512};

static atomic_uint_least64_t tls_handshakes[4];
static atomic_uint_least64_t rate_limited, replays, http_refusals;
static atomic_int workers_busy;
static atomic_uint_least64_t log_failures;
static atomic_int log_failing;
static gw_histogram log_batch_size, log_commit_seconds;
static atomic_int metrics_ready;
static atomic_uint_least64_t config_reloads[2]; /* ok, failed */
static atomic_int_least64_t config_loaded_us;   /* wall clock of the last successful load */

gw_status gw_metrics_init(void)
{
    family *all[] = {&exchanges, &durations, &phases, &provider_errors};
    if (atomic_load(&metrics_ready))
        return GW_OK;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (!all[i]->slots && !(all[i]->slots = calloc(all[i]->capacity, sizeof(series)))) {
            gw_metrics_shutdown();
            return GW_ERR_NOMEM;
        }
    }
    gw_histogram_init(&log_batch_size, batch_bounds, COUNT(batch_bounds));
    gw_histogram_init(&log_commit_seconds, commit_bounds, COUNT(commit_bounds));
    atomic_store_explicit(&metrics_ready, 1, memory_order_release);
    return GW_OK;
}

void gw_metrics_shutdown(void)
{
    family *all[] = {&exchanges, &durations, &phases, &provider_errors};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        free(all[i]->slots);
        all[i]->slots = NULL;
    }
    atomic_store(&metrics_ready, 0);
}

static double seconds_between(int64_t from_us, int64_t to_us)
{
    return (double)(to_us - from_us) / 1e6;
}

/* Label values from bounded sets only: a name the caller made up never becomes a series. */
void gw_metrics_exchange_done(const gw_exchange *ex, const gw_config *cfg)
{
    if (!atomic_load_explicit(&metrics_ready, memory_order_acquire))
        return; /* no admin listener: nobody reads them */
    const gw_service *svc = ex->service;
    const char *service = svc ? svc->config->name : "";
    const char *operation = "";
    if (svc && ex->operation && svc->binding && gw_binding_has_operation(svc->binding, ex->operation))
        operation = ex->operation;
    const char *member = "";
    const gw_member *m = ex->client_member && ex->status != GW_ERR_AUTHENTICATION &&
                                 ex->status != GW_ERR_IDENTITY_MISMATCH &&
                                 ex->status != GW_ERR_BAD_SIGNATURE
                             ? gw_config_find_member(cfg, ex->client_member)
                             : NULL;
    if (m)
        member = ex->client_member;
    const char *outcome = ex->status == GW_OK ? "ok" : gw_status_fault_code(ex->status);
    const char *ev[] = {service, operation, member, outcome};
    family_count(&exchanges, ev);

    switch (ex->status) {
    case GW_ERR_RATE_LIMITED:
        atomic_fetch_add_explicit(&rate_limited, 1, memory_order_relaxed);
        break;
    case GW_ERR_REPLAY:
        atomic_fetch_add_explicit(&replays, 1, memory_order_relaxed);
        break;
    case GW_ERR_PROVIDER_TIMEOUT:
    case GW_ERR_PROVIDER_UNAVAILABLE:
    case GW_ERR_PROVIDER_BAD_RESPONSE:
    case GW_ERR_ADAPTER: {
        const char *pv[] = {service, outcome};
        family_count(&provider_errors, pv);
        break;
    }
    default:
        break;
    }

    int64_t now = gw_now_us();
    if (!ex->t_request_in)
        return;
    const char *sv[] = {service};
    family_observe(&durations, sv, seconds_between(ex->t_request_in, now));
    struct {
        const char *phase;
        int64_t from, to;
    } p[] = {
        {"gateway_in", ex->t_request_in, ex->t_provider_out},
        {"provider", ex->t_provider_out, ex->t_provider_in},
        {"gateway_out", ex->t_provider_in, ex->t_response_out},
        {"log_commit", ex->t_response_out, now},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        if (!p[i].from || !p[i].to || p[i].to < p[i].from)
            continue;
        const char *lv[] = {service, p[i].phase};
        family_observe(&phases, lv, seconds_between(p[i].from, p[i].to));
    }
}

void gw_metrics_tls_handshake(enum gw_tls_result result)
{
    if ((unsigned)result < 4)
        atomic_fetch_add_explicit(&tls_handshakes[result], 1, memory_order_relaxed);
}

void gw_metrics_worker_busy(int delta)
{
    atomic_fetch_add_explicit(&workers_busy, delta, memory_order_relaxed);
}

void gw_metrics_log_batch(int rows, double seconds)
{
    gw_histogram_observe(&log_batch_size, rows);
    gw_histogram_observe(&log_commit_seconds, seconds);
}

void gw_metrics_log_failure(void)
{
    atomic_fetch_add_explicit(&log_failures, 1, memory_order_relaxed);
}

void gw_metrics_log_failing(int failing) { atomic_store(&log_failing, failing ? 1 : 0); }

int gw_metrics_log_is_failing(void) { return atomic_load(&log_failing); }

void gw_metrics_config_reload(int ok)
{
    atomic_fetch_add_explicit(&config_reloads[ok ? 0 : 1], 1, memory_order_relaxed);
    if (ok)
        gw_metrics_config_loaded();
}

void gw_metrics_config_loaded(void) { atomic_store(&config_loaded_us, gw_now_us()); }

void gw_metrics_http_refusal(void)
{
    atomic_fetch_add_explicit(&http_refusals, 1, memory_order_relaxed);
}

static double load64(atomic_uint_least64_t *a)
{
    return (double)atomic_load_explicit(a, memory_order_relaxed);
}

void gw_metrics_render_circuits(gw_prom_buf *b, struct gw_breakers *breakers)
{
    static const char *const endpoint_label[] = {"endpoint"};
    size_t n = gw_breakers_count(breakers);
    if (n == 0)
        return;
    static const struct {
        const char *name, *type, *help;
    } families[] = {
        {"pide_provider_circuit_state", "gauge",
         "A provider endpoint's circuit: 0 closed, 1 open (calls refused at once), 2 half-open "
         "(one probe out)."},
        {"pide_provider_circuit_opened_total", "counter",
         "Times a provider endpoint's circuit opened."},
        {"pide_provider_circuit_refusals_total", "counter",
         "Provider calls refused at once because the endpoint's circuit was open."},
    };
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        gw_prom_family(b, families[f].name, families[f].type, families[f].help);
        for (size_t i = 0; i < n; i++) {
            gw_breaker_view v;
            gw_breakers_view(breakers, i, &v);
            const char *value[] = {v.origin};
            double x = f == 0 ? (double)v.state
                       : f == 1 ? (double)v.opened_total
                                : (double)v.refused_total;
            gw_prom_sample(b, families[f].name, endpoint_label, value, 1, x);
        }
    }
}

void gw_metrics_render(gw_prom_buf *b, const gw_metrics_gauges *g)
{
    static const char *const version_label[] = {"version"};
    static const char *const result_label[] = {"result"};
    static const char *const results[] = {"ok", "failed", "timeout", "refused"};

    gw_prom_family(b, "pide_build_info", "gauge", "The running gateway's version (always 1).");
    const char *vv[] = {g->version ? g->version : ""};
    gw_prom_sample(b, "pide_build_info", version_label, vv, 1, 1);

    family_render(b, &exchanges);
    family_render(b, &durations);
    family_render(b, &phases);
    family_render(b, &provider_errors);

    gw_prom_family(b, "pide_rate_limit_refusals_total", "counter",
                   "Exchanges refused with Client.RateLimited.");
    gw_prom_sample(b, "pide_rate_limit_refusals_total", NULL, NULL, 0, load64(&rate_limited));
    gw_prom_family(b, "pide_replay_refusals_total", "counter",
                   "Exchanges refused as replays of a message already seen.");
    gw_prom_sample(b, "pide_replay_refusals_total", NULL, NULL, 0, load64(&replays));
    gw_prom_family(b, "pide_http_refusals_total", "counter",
                   "Requests the dispatcher refused on their framing (bad framing, method, "
                   "size, incomplete body); one to a service path is also an exchange.");
    gw_prom_sample(b, "pide_http_refusals_total", NULL, NULL, 0, load64(&http_refusals));

    gw_prom_family(b, "pide_tls_handshakes_total", "counter",
                   "Member-listener TLS handshakes by result: ok, failed, timeout, refused "
                   "(too many handshakes from one address).");
    for (int i = 0; i < 4; i++) {
        const char *rv[] = {results[i]};
        gw_prom_sample(b, "pide_tls_handshakes_total", result_label, rv, 1,
                       load64(&tls_handshakes[i]));
    }

    gw_prom_family(b, "pide_workers", "gauge", "Worker threads in the pool.");
    gw_prom_sample(b, "pide_workers", NULL, NULL, 0, (double)g->workers);
    gw_prom_family(b, "pide_workers_busy", "gauge", "Worker threads serving a request now.");
    gw_prom_sample(b, "pide_workers_busy", NULL, NULL, 0,
                   (double)atomic_load_explicit(&workers_busy, memory_order_relaxed));

    gw_prom_family(b, "pide_log_queue_depth", "gauge",
                   "Exchange-log rows queued for the writer and not yet in a batch.");
    gw_prom_sample(b, "pide_log_queue_depth", NULL, NULL, 0,
                   g->log_queue_depth < 0 ? NAN : (double)g->log_queue_depth);
    gw_prom_family(b, "pide_log_batch_size", "histogram", "Rows per committed group commit.");
    gw_prom_histogram(b, "pide_log_batch_size", NULL, NULL, 0, &log_batch_size);
    gw_prom_family(b, "pide_log_commit_seconds", "histogram",
                   "Time to write and commit one batch (successful attempts).");
    gw_prom_histogram(b, "pide_log_commit_seconds", NULL, NULL, 0, &log_commit_seconds);
    gw_prom_family(b, "pide_log_write_failures_total", "counter",
                   "Failed attempts to write a batch (the writer retries until the rows' "
                   "deadline).");
    gw_prom_sample(b, "pide_log_write_failures_total", NULL, NULL, 0, load64(&log_failures));
    gw_prom_family(b, "pide_log_writer_up", "gauge",
                   "1 when the exchange-log writer's last attempt committed, 0 while failing.");
    gw_prom_sample(b, "pide_log_writer_up", NULL, NULL, 0, gw_metrics_log_is_failing() ? 0 : 1);

    gw_prom_family(b, "pide_ready", "gauge", "1 when /readyz answers 200.");
    gw_prom_sample(b, "pide_ready", NULL, NULL, 0, g->ready ? 1 : 0);
    gw_prom_family(b, "pide_maintenance", "gauge", "1 while in maintenance (or stopping).");
    gw_prom_sample(b, "pide_maintenance", NULL, NULL, 0, g->maintenance ? 1 : 0);
    gw_prom_family(b, "pide_certificate_not_after_seconds", "gauge",
                   "Expiry (Unix time) of the response-signing and member-listener "
                   "certificates.");
    static const char *const cert_label[] = {"certificate"};
    const char *sc[] = {"signing"};
    if (g->signing_cert_not_after > 0)
        gw_prom_sample(b, "pide_certificate_not_after_seconds", cert_label, sc, 1,
                       g->signing_cert_not_after);
    const char *tc[] = {"tls"};
    if (g->tls_cert_not_after > 0)
        gw_prom_sample(b, "pide_certificate_not_after_seconds", cert_label, tc, 1,
                       g->tls_cert_not_after);

    gw_prom_family(b, "pide_config_reloads_total", "counter",
                   "Configuration reloads (SIGHUP, POST /reload) by result: ok, failed (the "
                   "previous configuration stayed in force).");
    for (int i = 0; i < 2; i++) {
        const char *rv[] = {results[i]};
        gw_prom_sample(b, "pide_config_reloads_total", result_label, rv, 1,
                       load64(&config_reloads[i]));
    }
    gw_prom_family(b, "pide_config_last_reload_success_timestamp_seconds", "gauge",
                   "When (Unix time) the configuration in force was loaded: at start or by the "
                   "last successful reload.");
    gw_prom_sample(b, "pide_config_last_reload_success_timestamp_seconds", NULL, NULL, 0,
                   (double)atomic_load(&config_loaded_us) / 1e6);

    gw_prom_family(b, "pide_metrics_series_dropped_total", "counter",
                   "Observations not recorded because a labelled table was full.");
    gw_prom_sample(b, "pide_metrics_series_dropped_total", NULL, NULL, 0, load64(&series_dropped));
}
