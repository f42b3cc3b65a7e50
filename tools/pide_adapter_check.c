/*
 * pide_adapter_check.c — pide-adapter-check, the conformance runner for adapter plugins.
 *
 * Loads an adapter with the gateway's own loader and reports every ABI check, lists the
 * configuration parameters the adapter declares, then binds it to the service a samples file
 * describes (its parameters checked against that declaration and completed with the declared
 * defaults, exactly as the daemon's loader does) (schemas/adapter-samples.xsd) and runs each sample
 * request through the gateway's real host services (gateway/standalone_exchange.h: the real
 * provider HTTP client, exchange memory, validate and invoke stages) against a real provider or
 * simulator, reporting one line per check and per sample. Then it runs the samples again on
 * several threads at once, as the daemon calls handle(). Exit 0 only when everything passed.
 * See docs/integrator-guide.md.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "adapter_loader.h"
#include "adapter_samples.h"
#include "elf_exports.h"
#include "log.h"
#include "standalone_exchange.h"
#include "xml_parse.h"
#include "xml_sign.h"

#define EXIT_CHECKS_FAILED 1
#define EXIT_USAGE 2
#define DEFAULT_CONCURRENCY 4
#define CONCURRENT_ROUNDS 5

typedef struct options {
    const char *adapter_path;
    const char *samples_path;
    const char *endpoint;       /* replaces the samples file's service endpoint */
    const char *sign_key;
    const char *sign_cert;
    int concurrency;
    int verbose;
    int list_only;              /* --list: the descriptor and its parameters, nothing run */
} options;

typedef struct report {
    int checks;
    int failed;
} report;

static void check_result(report *r, int ok, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One line per check: "ok: what" or "FAIL: what: reason". */
static void check_result(report *r, int ok, const char *what, const char *fmt, ...)
{
    r->checks++;
    if (!ok)
        r->failed++;
    printf("%s: %s", ok ? "ok" : "FAIL", what);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs(ok ? " (" : ": ", stdout);
        vprintf(fmt, ap);
        if (ok)
            fputs(")", stdout);
        va_end(ap);
    }
    putchar('\n');
    fflush(stdout);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pide-adapter-check [options] <adapter.so> <samples.xml>\n"
            "       pide-adapter-check --list <adapter.so>\n"
            "\n"
            "Loads an adapter plugin with the gateway's loader, reports each ABI check, then\n"
            "runs the sample requests of <samples.xml> (format: schemas/adapter-samples.xsd)\n"
            "through the gateway's real host services against the configured provider, one\n"
            "line per check and per sample. Exit status: 0 all passed, 1 a check failed,\n"
            "2 bad usage or an invalid samples file.\n"
            "\n"
            "options:\n"
            "  --endpoint URL      use URL as the service endpoint instead of the samples\n"
            "                      file's (samples with their own endpoint keep it)\n"
            "  --sign-key FILE     PEM private key for host->sign_document() (with --sign-cert;\n"
            "                      without them sign_document() fails as with no key)\n"
            "  --sign-cert FILE    PEM certificate of that key\n"
            "  --concurrency N     threads running the samples at once afterwards (default %d;\n"
            "                      0 skips the concurrency check)\n"
            "  --list              only load the adapter and list its operations and the\n"
            "                      configuration parameters it declares\n"
            "  --verbose           the gateway's debug log (and the adapter's) on stderr\n"
            "  --help              this text\n",
            DEFAULT_CONCURRENCY);
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"sign-key", required_argument, NULL, 'k'},
        {"sign-cert", required_argument, NULL, 'c'},
        {"concurrency", required_argument, NULL, 'n'},
        {"verbose", no_argument, NULL, 'v'},
        {"list", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->concurrency = DEFAULT_CONCURRENCY;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'e': o->endpoint = optarg; break;
        case 'k': o->sign_key = optarg; break;
        case 'c': o->sign_cert = optarg; break;
        case 'n':
            o->concurrency = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || o->concurrency < 0 || o->concurrency > 256) {
                fprintf(stderr, "pide-adapter-check: --concurrency: '%s' is not 0..256\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'v': o->verbose = 1; break;
        case 'l': o->list_only = 1; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (o->list_only) {
        if (argc - optind != 1) {
            fprintf(stderr, "pide-adapter-check: --list expects <adapter.so> only\n");
            return EXIT_USAGE;
        }
        o->adapter_path = argv[optind];
        return 0;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "pide-adapter-check: expected <adapter.so> <samples.xml>\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!o->sign_key != !o->sign_cert) {
        fprintf(stderr, "pide-adapter-check: --sign-key and --sign-cert go together\n");
        return EXIT_USAGE;
    }
    o->adapter_path = argv[optind];
    o->samples_path = argv[optind + 1];
    return 0;
}

/* ---- ABI checks ---------------------------------------------------------------------------- */

struct export_list {
    char text[512];
    int others;
};

static void note_export(const char *name, void *ctx)
{
    struct export_list *l = ctx;
    if (strcmp(name, PIDE_ADAPTER_ENTRY_SYMBOL) == 0)
        return;
    size_t used = strlen(l->text);
    if (l->others < 8)
        snprintf(l->text + used, sizeof l->text - used, "%s%s", l->others ? ", " : "", name);
    l->others++;
}

static void check_exports(report *r, const char *path)
{
    struct export_list l = {.others = 0};
    char err[512];
    gw_status st = elf_exports_list(path, note_export, &l, err, sizeof err);
    const char *what = "exports only " PIDE_ADAPTER_ENTRY_SYMBOL;
    if (st != GW_OK)
        check_result(r, 0, what, "%s", err);
    else if (l.others)
        check_result(r, 0, what,
                     "%d other symbol(s) exported: %s%s (build with -fvisibility=hidden)",
                     l.others, l.text, l.others > 8 ? ", ..." : "");
    else
        check_result(r, 1, what, NULL);
}

static void check_operations(report *r, const pide_adapter *a)
{
    const char *what = "operations are distinct XML names";
    for (const char *const *op = a->operations; *op; op++) {
        if (strcmp(*op, "*") == 0 && op == a->operations && !op[1])
            break; /* any operation, chosen by each service's configuration */
        if (xmlValidateNCName(BAD_CAST *op, 0) != 0) {
            check_result(r, 0, what, "'%s' is not an XML element name", *op);
            return;
        }
        for (const char *const *prev = a->operations; prev != op; prev++)
            if (strcmp(*prev, *op) == 0) {
                check_result(r, 0, what, "'%s' is listed twice", *op);
                return;
            }
    }
    check_result(r, 1, what, NULL);
}

/* One line per declared parameter, as docs/integrator-guide.md shows them. */
static void list_params(const pide_adapter *a)
{
    for (const pide_param_decl *p = a->params; p && p->name; p++) {
        printf("  param %s: %s, ", p->name, gw_pide_param_type_name(p->type));
        if (p->required)
            printf("required");
        else if (p->default_value)
            printf("optional, default '%s'", p->default_value);
        else
            printf("optional, no default");
        printf("%s%s\n", p->description ? " - " : "", p->description ? p->description : "");
    }
}

static void check_params(report *r, const pide_adapter *a)
{
    size_t n = 0;
    for (const pide_param_decl *p = a->params; p && p->name; p++)
        n++;
    /* The loader has already refused a malformed declaration: listing is the check's part. */
    if (n)
        check_result(r, 1, "configuration parameters declared", "%zu", n);
    else
        check_result(r, 1, "configuration parameters declared", "none: every <param> is refused");
    list_params(a);
}

/* The service's params as the daemon's loader hands them to init(): checked against the
 * adapter's declaration, declared defaults added (gw_adapter_resolve_params). */
static gw_status resolve_params(gw_arena *memory, const pide_adapter *a,
                                gw_standalone_service *svc, char *why, size_t len)
{
    gw_param *list = NULL;
    size_t n = 0;
    char err[600];
    gw_status st = gw_adapter_resolve_params(a, svc->params, svc->param_count, memory, &list, &n,
                                             err, sizeof err);
    if (st != GW_OK) {
        snprintf(why, len, "service '%s': %s", svc->name ? svc->name : "(unnamed)", err);
        return st;
    }
    svc->params = list;
    svc->param_count = n;
    return GW_OK;
}

/* An adapter given no endpoint and no parameters must refuse with PIDE_ERR_CONFIG (after
 * saying why) or cope: anything else would stop a gateway with a misleading message. */
static void check_empty_configuration(report *r, const pide_adapter *a, const char *service)
{
    gw_standalone *s = NULL;
    pide_result init = PIDE_OK;
    char err[700];
    gw_arena memory;
    gw_arena_init(&memory, 0);
    gw_standalone_service svc = {.name = service, .workers = 1};
    const char *what = "init() of an empty configuration returns PIDE_OK or PIDE_ERR_CONFIG";
    gw_status st = resolve_params(&memory, a, &svc, err, sizeof err);
    if (st != GW_OK) {
        /* A required parameter: the gateway refuses the service before init() would run. */
        check_result(r, st == GW_ERR_CONFIG, what, "the loader refuses it: %s", err);
        gw_arena_destroy(&memory);
        return;
    }
    st = gw_standalone_open(a, &svc, &s, &init, err, sizeof err);
    if (st == GW_OK)
        check_result(r, 1, what, "accepted it");
    else if (init == PIDE_ERR_CONFIG)
        check_result(r, 1, what, "refused it with PIDE_ERR_CONFIG");
    else
        check_result(r, 0, what, "%s", err);
    gw_standalone_close(s);
    gw_arena_destroy(&memory);
}

/* ---- samples ------------------------------------------------------------------------------- */

typedef struct run_context {
    const adapter_samples *samples;
    const options *opts;
    gw_signer *signer;
    xmlSchemaPtr contract;      /* the samples' schema, to check responses; NULL: none */
    gw_arena *memory;           /* resolved parameter lists; main thread only */
} run_context;

static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds "; reason" to a list of reasons. */
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used && used + 2 < len) {
        memcpy(buf + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static int str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The first message of a failed validation. */
static void keep_first_message(void *ctx, xmlErrorPtr e)
{
    char *first = ctx;
    if (first[0] || !e || !e->message)
        return;
    snprintf(first, 300, "%s", e->message);
    size_t n = strlen(first);
    while (n && (first[n - 1] == '\n' || first[n - 1] == ' '))
        first[--n] = '\0';
}

static void check_response_schema(const run_context *rc, xmlNodePtr response, char *why,
                                  size_t len)
{
    char first[300] = "";
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(rc->contract);
    if (!vc) {
        append(why, len, "out of memory validating the response");
        return;
    }
    xmlSchemaSetValidStructuredErrors(vc, keep_first_message, first);
    if (xmlSchemaValidateOneElement(vc, response) != 0)
        append(why, len, "the response <%s> does not match %s: %s",
               (const char *)response->name, rc->samples->schema_path,
               first[0] ? first : "invalid");
    xmlSchemaFreeValidCtxt(vc);
}

/* What one exchange came to, against what the sample expects; reasons go into why. */
static int sample_passed(const run_context *rc, const adapter_sample *sm,
                         const gw_standalone_outcome *o, char *why, size_t len)
{
    const gw_exchange *ex = o->exchange;
    const char *got_error = o->handle_called ? gw_pide_result_name(o->handle_result) : NULL;
    const char *fault = o->status == GW_OK ? NULL : gw_status_fault_code(o->status);
    why[0] = '\0';

    if (sm->expect_error || sm->expect_fault) {
        if (sm->expect_error && !str_eq(got_error, sm->expect_error))
            append(why, len, "expected handle() to return %s, got %s", sm->expect_error,
                   got_error ? got_error : "no call (refused before the adapter)");
        if (sm->expect_fault && !str_eq(fault, sm->expect_fault))
            append(why, len, "expected Fault %s, got %s", sm->expect_fault,
                   fault ? fault : "a response");
    } else if (o->status != GW_OK) {
        append(why, len, "%s%s (Fault %s): %s", got_error ? "handle() returned " : "",
               got_error ? got_error : "refused before the adapter", fault,
               ex->fault_detail ? ex->fault_detail : gw_status_message(o->status));
    }
    if (sm->expect_result && !str_eq(ex->result_code, sm->expect_result))
        append(why, len, "expected result code %s, set_result_code() got %s", sm->expect_result,
               ex->result_code ? ex->result_code : "no call");
    if (sm->expect_subject && !str_eq(ex->subject_id, sm->expect_subject))
        append(why, len, "expected subject %s, set_subject() got %s", sm->expect_subject,
               ex->subject_id ? ex->subject_id : "no call");
    if (sm->expect_subject_type && !str_eq(ex->subject_type, sm->expect_subject_type))
        append(why, len, "expected subject type %s, got %s", sm->expect_subject_type,
               ex->subject_type ? ex->subject_type : "no call");
    if (o->response) {
        for (size_t i = 0; i < sm->value_count; i++) {
            char *v = adapter_samples_value_at(o->response, sm->values[i].path);
            if (!str_eq(v, sm->values[i].equals))
                append(why, len, "%s: expected '%s', got %s%s%s", sm->values[i].path,
                       sm->values[i].equals, v ? "'" : "no such element", v ? v : "",
                       v ? "'" : "");
            xmlFree(v);
        }
        if (rc->contract)
            check_response_schema(rc, o->response, why, len);
    } else if (sm->value_count) {
        append(why, len, "no response element to look for %s in", sm->values[0].path);
    }
    return why[0] == '\0';
}

static gw_standalone_service service_for(const run_context *rc, const adapter_sample *sm,
                                         int workers)
{
    const adapter_samples *s = rc->samples;
    gw_standalone_service svc = {
        .name = s->service,
        .endpoint_url = rc->opts->endpoint ? rc->opts->endpoint : s->endpoint,
        .timeout_ms = s->timeout_ms,
        .params = s->params,
        .param_count = s->param_count,
        .schema_path = s->schema_path,
        .signer = rc->signer,
        .workers = workers,
    };
    if (sm) {
        if (sm->endpoint)
            svc.endpoint_url = sm->endpoint;
        if (sm->timeout_ms)
            svc.timeout_ms = sm->timeout_ms;
        svc.params = sm->params;
        svc.param_count = sm->param_count;
    }
    return svc;
}

static void report_sample(report *r, const adapter_sample *sm, int ok, const char *why,
                          const gw_standalone_outcome *o)
{
    char what[200];
    snprintf(what, sizeof what, "sample '%s'", sm->name);
    if (!ok) {
        check_result(r, 0, what, "%s", why);
        return;
    }
    const gw_exchange *ex = o->exchange;
    double provider_ms = ex->t_provider_out && ex->t_provider_in
                             ? (double)(ex->t_provider_in - ex->t_provider_out) / 1000.0
                             : 0.0;
    if (o->status == GW_OK)
        check_result(r, 1, what, "result %s, subject %s %s, provider %.1f ms",
                     ex->result_code ? ex->result_code : "-",
                     ex->subject_type ? ex->subject_type : "-",
                     ex->subject_id ? ex->subject_id : "-", provider_ms);
    else
        check_result(r, 1, what, "%s, Fault %s, as expected",
                     o->handle_called ? gw_pide_result_name(o->handle_result) : "refused",
                     gw_status_fault_code(o->status));
}

/* A sample with its own endpoint, timeout or params: its own init(), exchange, fini(). */
static void run_own_sample(report *r, const run_context *rc, const adapter_sample *sm,
                           const pide_adapter *a)
{
    gw_standalone *s = NULL;
    pide_result init = PIDE_OK;
    char err[600], why[1200];
    gw_standalone_service svc = service_for(rc, sm, 1);
    char what[200];
    snprintf(what, sizeof what, "sample '%s'", sm->name);
    if (resolve_params(rc->memory, a, &svc, err, sizeof err) != GW_OK) {
        if (str_eq(sm->expect_error, "PIDE_ERR_CONFIG"))
            check_result(r, 1, what, "the loader refused the configuration (%s), as expected",
                         err);
        else
            check_result(r, 0, what, "%s", err);
        return;
    }
    gw_status st = gw_standalone_open(a, &svc, &s, &init, err, sizeof err);
    if (st != GW_OK) {
        if (sm->expect_error && init != PIDE_OK && str_eq(sm->expect_error,
                                                          gw_pide_result_name(init)))
            check_result(r, 1, what, "init() refused the configuration with %s, as expected",
                         sm->expect_error);
        else
            check_result(r, 0, what, "%s", err);
        return;
    }
    gw_standalone_outcome o;
    gw_standalone_run(s, 0, sm->operation, &o);
    int ok = sample_passed(rc, sm, &o, why, sizeof why);
    report_sample(r, sm, ok, why, &o);
    gw_standalone_close(s);
}

/* ---- concurrency --------------------------------------------------------------------------- */

typedef struct thread_job {
    const run_context *rc;
    gw_standalone *standalone;
    const adapter_sample *const *samples;  /* those that passed on their own */
    size_t sample_count;
    int worker;
    int exchanges;
    int failures;
    char first_failure[1400];
} thread_job;

static void *run_thread(void *arg)
{
    thread_job *job = arg;
    char why[1200];
    for (int round = 0; round < CONCURRENT_ROUNDS; round++) {
        for (size_t i = 0; i < job->sample_count; i++) {
            const adapter_sample *sm = job->samples[(i + (size_t)job->worker) %
                                                    job->sample_count];
            gw_standalone_outcome o;
            gw_standalone_run(job->standalone, job->worker, sm->operation, &o);
            job->exchanges++;
            if (!sample_passed(job->rc, sm, &o, why, sizeof why) && job->failures++ == 0)
                snprintf(job->first_failure, sizeof job->first_failure, "sample '%s': %s",
                         sm->name, why);
        }
    }
    return NULL;
}

static void check_concurrency(report *r, const run_context *rc, gw_standalone *s, int threads,
                              const adapter_sample *const *passed, size_t passed_count)
{
    char what[120];
    snprintf(what, sizeof what, "handle() on %d threads at once", threads);
    if (passed_count == 0) {
        check_result(r, 0, what, "no sample of the shared configuration passed to repeat");
        return;
    }
    thread_job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    if (!jobs || !ids) {
        check_result(r, 0, what, "out of memory");
        goto done;
    }
    int started = 0;
    for (int t = 0; t < threads; t++) {
        jobs[t] = (thread_job){.rc = rc, .standalone = s, .samples = passed,
                               .sample_count = passed_count, .worker = t};
        if (pthread_create(&ids[t], NULL, run_thread, &jobs[t]) != 0)
            break;
        started++;
    }
    int exchanges = 0, failures = 0;
    const char *first = NULL;
    for (int t = 0; t < started; t++) {
        pthread_join(ids[t], NULL);
        exchanges += jobs[t].exchanges;
        failures += jobs[t].failures;
        if (!first && jobs[t].failures)
            first = jobs[t].first_failure;
    }
    if (started < threads)
        check_result(r, 0, what, "could only start %d threads", started);
    else if (failures)
        check_result(r, 0, what, "%d of %d exchanges differ from their sample; first: %s",
                     failures, exchanges, first);
    else
        check_result(r, 1, what, "%d exchanges, all as expected", exchanges);
done:
    free(jobs);
    free(ids);
}

/* ---- main ---------------------------------------------------------------------------------- */

static xmlSchemaPtr load_contract(const char *path, char *err, size_t errlen)
{
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
    xmlSchemaPtr schema = pc ? xmlSchemaParse(pc) : NULL;
    if (pc)
        xmlSchemaFreeParserCtxt(pc);
    if (!schema)
        snprintf(err, errlen, "%s: not a usable XML Schema", path);
    return schema;
}

/* --list: what an integrator writes a <service> from. */
static int list_adapter(const char *path)
{
    char err[1024];
    gw_adapter_module *module = NULL;
    if (gw_adapter_load(path, &module, err, sizeof err) != GW_OK) {
        fprintf(stderr, "pide-adapter-check: %s\n", err);
        xmlCleanupParser();
        return EXIT_CHECKS_FAILED;
    }
    const pide_adapter *a = gw_adapter_module_descriptor(module);
    printf("adapter %s version %s (ABI %u, libxml2 %u)\n", a->name,
           a->version ? a->version : "(none)", a->abi_version, a->libxml2_major);
    for (const char *const *op = a->operations; *op; op++)
        printf("  operation %s\n", *op);
    if (!a->params || !a->params[0].name)
        printf("  no parameters\n");
    list_params(a);
    gw_adapter_unload(module);
    xmlCleanupParser();
    return 0;
}

/* Everything after a successful load: init with the samples' configuration, each sample, the
 * concurrency run, fini. */
static void run_samples(report *r, const run_context *rc, const pide_adapter *a)
{
    const adapter_samples *smp = rc->samples;
    int threads = rc->opts->concurrency;
    gw_standalone *shared = NULL;
    pide_result init = PIDE_OK;
    char err[600], why[1200];
    const adapter_sample **passed = calloc(smp->sample_count, sizeof *passed);
    size_t passed_count = 0, shared_count = 0;
    if (!passed) {
        check_result(r, 0, "run the samples", "out of memory");
        return;
    }

    for (size_t i = 0; i < smp->sample_count; i++)
        shared_count += !smp->samples[i].own_configuration;
    if (shared_count) {
        gw_standalone_service svc = service_for(rc, NULL, threads > 0 ? threads : 1);
        gw_status st = resolve_params(rc->memory, a, &svc, err, sizeof err);
        if (st == GW_OK)
            st = gw_standalone_open(a, &svc, &shared, &init, err, sizeof err);
        check_result(r, st == GW_OK, "init() accepts the samples' configuration",
                     st == GW_OK ? "service %s, endpoint %s" : "%s",
                     st == GW_OK ? smp->service : err,
                     svc.endpoint_url ? svc.endpoint_url : "(none)");
    }

    for (size_t i = 0; i < smp->sample_count; i++) {
        const adapter_sample *sm = &smp->samples[i];
        if (sm->own_configuration) {
            run_own_sample(r, rc, sm, a);
            continue;
        }
        if (!shared) {
            char what[200];
            snprintf(what, sizeof what, "sample '%s'", sm->name);
            check_result(r, 0, what, "not run: init() failed");
            continue;
        }
        gw_standalone_outcome o;
        gw_standalone_run(shared, 0, sm->operation, &o);
        int ok = sample_passed(rc, sm, &o, why, sizeof why);
        report_sample(r, sm, ok, why, &o);
        if (ok)
            passed[passed_count++] = sm;
    }

    if (shared && threads > 0)
        check_concurrency(r, rc, shared, threads, passed, passed_count);
    if (shared) {
        gw_standalone_close(shared);
        check_result(r, 1, a->fini ? "fini() returned" : "fini() is NULL (allowed)", NULL);
    }
    free(passed);
}

int main(int argc, char **argv)
{
    options opts;
    int rc = parse_options(argc, argv, &opts);
    if (rc != 0)
        return rc < 0 ? 0 : rc;

    xmlInitParser();
    gw_xml_forbid_network(); /* schemas and stylesheets never load from the network */
    gw_log_set_level(opts.verbose ? PIDE_LOG_DEBUG : PIDE_LOG_WARN);
    if (opts.list_only)
        return list_adapter(opts.adapter_path);
    report r = {0, 0};
    char err[1024];
    adapter_samples samples;
    gw_signer *signer = NULL;
    gw_adapter_module *module = NULL;
    xmlSchemaPtr contract = NULL;
    int xmlsec_up = 0;

    if (adapter_samples_load(opts.samples_path, &samples, err, sizeof err) != GW_OK) {
        fprintf(stderr, "pide-adapter-check: %s\n", err);
        xmlCleanupParser();
        return EXIT_USAGE;
    }
    rc = EXIT_USAGE;
    if (samples.schema_path && !(contract = load_contract(samples.schema_path, err, sizeof err))) {
        fprintf(stderr, "pide-adapter-check: %s: schema: %s\n", opts.samples_path, err);
        goto done;
    }
    if (opts.sign_key) {
        if (gw_xmlsec_global_init() != GW_OK) {
            fprintf(stderr, "pide-adapter-check: cannot initialise xmlsec\n");
            goto done;
        }
        xmlsec_up = 1;
        if (gw_signer_open(opts.sign_key, opts.sign_cert, &signer, err, sizeof err) != GW_OK) {
            fprintf(stderr, "pide-adapter-check: %s\n", err);
            goto done;
        }
    }

    gw_arena memory;
    gw_arena_init(&memory, 0);
    gw_status st = gw_adapter_load(opts.adapter_path, &module, err, sizeof err);
    if (st != GW_OK) {
        check_result(&r, 0, "loads with the gateway's loader", "%s", err);
    } else {
        const pide_adapter *a = gw_adapter_module_descriptor(module);
        check_result(&r, 1, "loads with the gateway's loader",
                     "ABI %u, descriptor %u bytes, libxml2 %u, adapter '%s' version %s",
                     a->abi_version, a->struct_size, a->libxml2_major, a->name,
                     a->version ? a->version : "(none)");
        check_exports(&r, opts.adapter_path);
        check_operations(&r, a);
        check_params(&r, a);
        check_empty_configuration(&r, a, samples.service);
        run_context ctx = {.samples = &samples, .opts = &opts, .signer = signer,
                           .contract = contract, .memory = &memory};
        run_samples(&r, &ctx, a);
    }
    printf("%s: %d checks, %d failed\n", r.failed ? "FAILED" : "PASSED", r.checks, r.failed);
    rc = r.failed ? EXIT_CHECKS_FAILED : 0;

    gw_arena_destroy(&memory);
done:
    gw_adapter_unload(module);
    if (signer)
        gw_signer_close(signer);
    if (xmlsec_up)
        gw_xmlsec_global_shutdown();
    if (contract)
        xmlSchemaFree(contract);
    adapter_samples_free(&samples);
    xmlCleanupParser();
    return rc;
}
