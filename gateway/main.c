/* main.c — pide-gateway: options, start-up in dependency order, run until SIGINT/SIGTERM;
 * SIGHUP reloads the configuration (reload.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#ifdef PIDE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "adapter_loader.h"
#include "clock.h"
#include "admin.h"
#include "config.h"
#include "key_store.h"
#include "password_hash.h"
#include "log.h"
#include "metrics.h"
#include "reload.h"
#include "runtime.h"
#include "server.h"
#include "xml_parse.h"
#include "xml_sign.h"

#ifndef PIDE_DEFAULT_SCHEMA_DIR
#define PIDE_DEFAULT_SCHEMA_DIR "/usr/local/share/pide-gateway/schemas"
#endif
#ifndef PIDE_BINDIR_TO_DATADIR
#define PIDE_BINDIR_TO_DATADIR "../share/pide-gateway"
#endif

/* Tells systemd (Type=notify) READY=1 / STOPPING=1 / RELOADING=1; a no-op outside systemd or
 * without it. */
static void notify_systemd(const char *state)
{
#ifdef PIDE_HAVE_SYSTEMD
    if (strcmp(state, "RELOADING=1") == 0) {
        /* systemd >= 253 wants the monotonic time with RELOADING=1; older ones ignore it */
        sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%lld", (long long)gw_monotonic_us());
        return;
    }
    sd_notify(0, state);
#else
    (void)state;
#endif
}

/* The installed schemas, found from the executable's own place (<bindir>/../share/pide-gateway/
 * schemas for any prefix), when they hold gateway-config.xsd; else the compile-time default (the
 * source tree, for the build tree's binary). */
static const char *default_schema_dir(char *buf, size_t len)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char dir[4096 + 64], probe[PATH_MAX + 32], *real = NULL;
            snprintf(dir, sizeof dir, "%s/%s/schemas", exe, PIDE_BINDIR_TO_DATADIR);
            if ((real = realpath(dir, NULL))) {
                snprintf(probe, sizeof probe, "%s/gateway-config.xsd", real);
                int w = snprintf(buf, len, "%s", real);
                free(real);
                if (w > 0 && (size_t)w < len && access(probe, R_OK) == 0)
                    return buf;
            }
        }
    }
    return PIDE_DEFAULT_SCHEMA_DIR;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: pide-gateway --config FILE [options]\n"
            "\n"
            "The pide-gateway interoperability gateway: exposes SOAP services, validates,\n"
            "authenticates and routes each request through an adapter to its provider, signs\n"
            "the response and logs every exchange in PostgreSQL.\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop (after draining), SIGHUP reloads the configuration.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE      configuration file (XML, see docs/configuration.md)\n"
            "      --check-config     load and check the configuration, then exit\n"
            "      --schema-dir DIR   where gateway-config.xsd lives (default: the installed\n"
            "                         <bindir>/%s/schemas, else %s;\n"
            "                         or $PIDE_SCHEMA_DIR)\n"
            "      --port-file FILE   write the port actually bound (useful with port 0)\n"
            "      --tls-port-file FILE  the same for the member (TLS) listener\n"
            "      --admin-port-file FILE  the same for the admin listener (<admin>)\n"
            "      --log-format text|json  operational log format (default: <operationalLog>,\n"
            "                         else text)\n"
            "      --hash-password    read a password on stdin, print its hash for\n"
            "                         <legacyCredential passwordHash=...>, exit\n"
            "  -v, --verbose          debug logging\n"
            "  -V, --version          print the version and exit\n"
            "  -h, --help             this help\n",
            PIDE_BINDIR_TO_DATADIR, PIDE_DEFAULT_SCHEMA_DIR);
}

static int hash_password(void)
{
    char line[GW_PASSWORD_MAX_LENGTH + 2];
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "pide-gateway: no password on standard input\n");
        return 1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    char *hash = NULL;
    gw_status st = gw_password_hash_new(line, 0, &hash);
    memset(line, 0, sizeof line);
    if (st != GW_OK) {
        fprintf(stderr, "pide-gateway: cannot hash: %s\n", gw_status_message(st));
        return 1;
    }
    printf("%s\n", hash);
    free(hash);
    return 0;
}

static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *port_file = NULL, *tls_port_file = NULL;
    const char *admin_port_file = NULL, *log_format = NULL;
    const char *schema_dir = getenv("PIDE_SCHEMA_DIR");
    int check_only = 0;
    enum {
        OPT_CHECK = 256,
        OPT_SCHEMA_DIR,
        OPT_PORT_FILE,
        OPT_TLS_PORT_FILE,
        OPT_ADMIN_PORT_FILE,
        OPT_LOG_FORMAT,
        OPT_HASH
    };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"schema-dir", required_argument, NULL, OPT_SCHEMA_DIR},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"tls-port-file", required_argument, NULL, OPT_TLS_PORT_FILE},
        {"admin-port-file", required_argument, NULL, OPT_ADMIN_PORT_FILE},
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
        {"hash-password", no_argument, NULL, OPT_HASH},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "c:vVh", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config_path = optarg; break;
        case OPT_CHECK: check_only = 1; break;
        case OPT_SCHEMA_DIR: schema_dir = optarg; break;
        case OPT_PORT_FILE: port_file = optarg; break;
        case OPT_TLS_PORT_FILE: tls_port_file = optarg; break;
        case OPT_ADMIN_PORT_FILE: admin_port_file = optarg; break;
        case OPT_LOG_FORMAT:
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0) {
                fprintf(stderr, "pide-gateway: --log-format is text or json, not '%s'\n", optarg);
                return 2;
            }
            log_format = optarg;
            break;
        case OPT_HASH: return hash_password();
        case 'v': gw_log_set_level(PIDE_LOG_DEBUG); break;
        case 'V': printf("pide-gateway %s (adapter ABI %u)\n", PIDE_GATEWAY_VERSION,
                         PIDE_ADAPTER_ABI_VERSION);
            return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pide-gateway: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!config_path) {
        fprintf(stderr, "pide-gateway: --config FILE is required (see --help)\n");
        return 2;
    }
    char schema_buf[4096];
    if (!schema_dir)
        schema_dir = default_schema_dir(schema_buf, sizeof schema_buf);

    /* Signals are taken synchronously by the main thread; every thread inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    char err[1024] = "";
    gw_config *cfg = NULL;
    gw_runtime rt;
    gw_server *srv = NULL;
    gw_admin *admin = NULL;
    gw_live *live = NULL;
    gw_reloader *reloader = NULL;
    int runtime_open = 0;

    xmlInitParser();
    gw_xml_forbid_network(); /* schemas and stylesheets never load from the network */
    /* libxml2's own reports go through the operational log, in every thread started later */
    gw_log_route_library_errors();
    if (gw_config_load(config_path, schema_dir, &cfg, err, sizeof err) != GW_OK) {
        fprintf(stderr, "pide-gateway: %s\n", err);
        goto done;
    }
    gw_log_set_json(log_format ? strcmp(log_format, "json") == 0 : cfg->log_json);
    if (check_only) {
        /* The adapters too: a missing plugin, an ABI mismatch or a parameter its declaration
         * refuses is a configuration error, found before the gateway is started. */
        size_t modules = 0;
        if (gw_adapter_registry_check(cfg, &modules, err, sizeof err) != GW_OK) {
            fprintf(stderr, "pide-gateway: %s\n", err);
            goto done;
        }
        /* A key in a token: whether it opens (module, token, PIN, object) and matches the
         * certificate is only known by trying, so try it here too. A file key is checked at
         * start-up only (the configuration may be checked where the key is not). */
        if (gw_key_is_pkcs11(cfg->signing_key_path)) {
            gw_signer *signer = NULL;
            gw_key_source key = {.key = cfg->signing_key_path,
                                 .pin_file = cfg->signing_pin_file,
                                 .module = cfg->signing_pkcs11_module};
            if (gw_xmlsec_global_init() != GW_OK) {
                fprintf(stderr, "pide-gateway: cannot initialise xmlsec\n");
                goto done;
            }
            gw_status kst =
                gw_signer_open_source(&key, cfg->signing_cert_path, &signer, err, sizeof err);
            gw_signer_close(signer);
            if (kst != GW_OK) {
                fprintf(stderr, "pide-gateway: %s\n", err);
                goto done;
            }
            printf("%s: signing key in the PKCS#11 token opens and matches %s\n", config_path,
                   cfg->signing_cert_path);
        }
        printf("%s: configuration OK (%zu services, %zu adapters, %zu members)\n", config_path,
               cfg->service_count, modules, cfg->member_count);
        rc = 0;
        goto done;
    }
    if (gw_xmlsec_global_init() != GW_OK) {
        gw_log_event(PIDE_LOG_ERROR, "startup", NULL, "cannot initialise xmlsec");
        goto done;
    }
    if (gw_runtime_open(cfg, &rt, err, sizeof err) != GW_OK) {
        gw_log_event(PIDE_LOG_ERROR, "startup", NULL, "%s", err);
        goto done;
    }
    runtime_open = 1;
    if (cfg->admin_enabled && gw_metrics_init() != GW_OK) {
        gw_log_event(PIDE_LOG_ERROR, "startup", NULL, "cannot allocate the metrics");
        goto done;
    }
    gw_metrics_config_loaded();
    /* The configuration just loaded is the first snapshot; SIGHUP and POST /reload replace it
     * (reload.h). */
    if (gw_live_new(&rt, 1, &live) != GW_OK ||
        gw_reloader_new(live, &rt, config_path, schema_dir, notify_systemd, &reloader) != GW_OK) {
        gw_log_event(PIDE_LOG_ERROR, "startup", NULL, "out of memory");
        goto done;
    }
    if (gw_server_start_live(live, &srv, err, sizeof err) != GW_OK) {
        gw_log_event(PIDE_LOG_ERROR, "startup", NULL, "%s", err);
        goto done;
    }
    if (cfg->admin_enabled &&
        gw_admin_start(&rt, live, reloader, &admin, err, sizeof err) != GW_OK) {
        gw_log_event(PIDE_LOG_ERROR, "startup", NULL, "%s", err);
        goto done;
    }
    if ((port_file && write_port_file(port_file, gw_server_port(srv)) != 0) ||
        (tls_port_file && write_port_file(tls_port_file, gw_server_tls_port(srv)) != 0) ||
        (admin_port_file && admin && write_port_file(admin_port_file, gw_admin_port(admin)) != 0))
        goto done;
    gw_log(PIDE_LOG_INFO, "listening on %s:%d with %d workers, %zu services",
           cfg->listen_address, gw_server_port(srv), cfg->workers, cfg->service_count);
    if (cfg->tls_enabled)
        gw_log(PIDE_LOG_INFO, "member listener (mutual TLS) on %s:%d", cfg->tls_address,
               gw_server_tls_port(srv));
    if (admin)
        gw_log(PIDE_LOG_INFO, "admin listener (metrics, health) on %s:%d", cfg->admin_address,
               gw_admin_port(admin));
    notify_systemd("READY=1");

    int sig = 0;
    for (;;) {
        sigwait(&stop_signals, &sig);
        if (sig != SIGHUP)
            break;
        gw_reload_result res;
        gw_reload(reloader, 1, &res); /* logs its own line, and notifies systemd */
    }
    notify_systemd("STOPPING=1");
    /* Not ready from now on (a load balancer stops sending), then the drain. With
     * <admin drainDelayMs>, the gateway keeps serving that long first, so the load balancer's
     * health check sees 503 before a single connection is refused. */
    gw_admin_set_stopping(admin);
    if (admin && cfg->admin_drain_delay_ms > 0) {
        gw_log(PIDE_LOG_INFO, "signal %d: not ready; draining in %d ms", sig,
               cfg->admin_drain_delay_ms);
        struct timespec d = {.tv_sec = cfg->admin_drain_delay_ms / 1000,
                             .tv_nsec = (long)(cfg->admin_drain_delay_ms % 1000) * 1000000L};
        while (nanosleep(&d, &d) != 0 && errno == EINTR) {
        }
    }
    gw_log(PIDE_LOG_INFO, "signal %d: stopping", sig);
    rc = 0;
done:
    gw_server_stop(srv);
    gw_admin_stop(admin);
    gw_metrics_shutdown();
    gw_reloader_free(reloader);
    gw_live_free(live); /* the last snapshot: every exchange and connection is over */
    if (runtime_open)
        gw_runtime_close(&rt);
    gw_key_store_shutdown(); /* after every key from the token was freed */
    gw_config_free(cfg);
    gw_xmlsec_global_shutdown();
    xmlCleanupParser();
    return rc;
}
