/*
 * config.c — loads the gateway configuration: a safe libxml2 parse (no network, no DTD, no
 * entity expansion), validation against schemas/gateway-config.xsd, then the checks a schema
 * cannot express (duplicates, cross references, files, URLs, ranges, hash format), each reported
 * as "file:line: reason". Relative paths are resolved against the configuration file's folder.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "body_crypt.h"
#include "key_store.h"
#include "namespaces.h"
#include "password_hash.h"
#include "peru_id.h"

#define CONFIG_SCHEMA_FILE "gateway-config.xsd"

/* Defaults of optional attributes; docs/configuration.md lists the same values. */
#define DEFAULT_LISTEN_ADDRESS "127.0.0.1"
#define DEFAULT_LISTEN_PORT 8080
#define DEFAULT_WORKERS 64
#define DEFAULT_BACKLOG 256
#define DEFAULT_MAX_BODY_BYTES 1048576
#define DEFAULT_MAX_XML_DEPTH 64
#define DEFAULT_MAX_XML_NODES 10000
#define DEFAULT_RECV_TIMEOUT_S 10
#define DEFAULT_SEND_TIMEOUT_S 10
#define DEFAULT_KEEPALIVE_IDLE_S 30
#define DEFAULT_LOG_BATCH_MAX 256
#define DEFAULT_LOG_COMMIT_TIMEOUT_MS 5000
#define DEFAULT_SPOOL_MAX_BYTES 268435456L
#define DEFAULT_SPOOL_SWITCH_AFTER_MS 1000
#define DEFAULT_CHECKPOINT_EVERY_ROWS 1000
#define DEFAULT_CHECKPOINT_EVERY_SECONDS 10
#define DEFAULT_CHECKPOINT_STAMP_TIMEOUT_MS 5000
#define DEFAULT_CHECKPOINT_STAMP_GRACE_S 300
#define DEFAULT_ENDPOINT_TIMEOUT_MS 5000
#define DEFAULT_BREAKER_FAILURES 5
#define DEFAULT_BREAKER_OPEN_S 5

typedef struct loader {
    const char *path;  /* as given: what error messages show */
    char *base_dir;    /* absolute folder of the file: what relative paths are resolved against */
    char *err;
    size_t errlen;
    gw_config *cfg;
} loader;

__attribute__((format(printf, 3, 4)))
static gw_status fail_at_line(loader *ld, long line, const char *fmt, ...)
{
    if (!ld->err || !ld->errlen)
        return GW_ERR_CONFIG;
    int n = snprintf(ld->err, ld->errlen, "%s:%ld: ", ld->path, line);
    if (n >= 0 && (size_t)n < ld->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return GW_ERR_CONFIG;
}

#define fail_at(ld, node, ...) fail_at_line((ld), xmlGetLineNo(node), __VA_ARGS__)

/* ---- libxml2 errors: keep the first, count the rest ---- */

typedef struct error_collector {
    char message[512];
    long line;
    int count;
} error_collector;

/* "Element '{urn:pide-gateway:config:1}listen'" reads better as "Element 'listen'". */
static void drop_namespace_marks(char *s)
{
    static const char mark[] = "{" GW_CONFIG_NS "}";
    char *p;
    while ((p = strstr(s, mark)) != NULL)
        memmove(p, p + sizeof mark - 1, strlen(p + sizeof mark - 1) + 1);
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

static void collect_error(void *data, xmlErrorPtr error)
{
    error_collector *c = data;
    if (!error || error->level == XML_ERR_WARNING)
        return;
    if (c->count++ == 0) {
        snprintf(c->message, sizeof c->message, "%s",
                 error->message ? error->message : "unknown XML error");
        drop_namespace_marks(c->message);
        c->line = error->line;
    }
}

static void collect_parser_error(void *data, xmlErrorPtr error)
{
    collect_error(((xmlParserCtxtPtr)data)->_private, error);
}

static gw_status fail_collected(loader *ld, const error_collector *c, const char *what)
{
    if (c->count > 1)
        return fail_at_line(ld, c->line, "%s%s (and %d more error%s)", what, c->message,
                            c->count - 1, c->count > 2 ? "s" : "");
    return fail_at_line(ld, c->line, "%s%s", what, c->count ? c->message : "unknown error");
}

/* ---- paths ---- */

/* Lexically removes "." and ".." so that stored paths are plain absolute paths. */
static void normalize_path(char *path)
{
    char *out = path;
    const char *in = path;
    while (*in) {
        while (*in == '/')
            in++;
        const char *end = strchr(in, '/');
        size_t len = end ? (size_t)(end - in) : strlen(in);
        if (len == 0)
            break;
        if (len == 1 && in[0] == '.') {
            /* skip */
        } else if (len == 2 && in[0] == '.' && in[1] == '.') {
            while (out > path && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, in, len);
            out += len;
        }
        in += len;
    }
    if (out == path)
        *out++ = '/';
    *out = '\0';
}

static char *resolve_path(const char *base_dir, const char *value)
{
    size_t need = strlen(base_dir) + 1 + strlen(value) + 1;
    char *p = malloc(need);
    if (!p)
        return NULL;
    if (value[0] == '/')
        snprintf(p, need, "%s", value);
    else
        snprintf(p, need, "%s/%s", base_dir, value);
    normalize_path(p);
    return p;
}

static char *config_directory(const char *path)
{
    char *real = realpath(path, NULL);
    if (!real)
        return NULL;
    char *slash = strrchr(real, '/');
    if (slash == real)
        slash[1] = '\0';
    else
        *slash = '\0';
    return real;
}

/* ---- attributes (the schema has checked presence and lexical form already; these still
 * refuse what they cannot convert, so a schema change cannot make them read garbage) ---- */

static int is_named(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static const xmlNode *child_named(const xmlNode *parent, const char *name)
{
    for (const xmlNode *c = parent->children; c; c = c->next)
        if (is_named(c, name))
            return c;
    return NULL;
}

static const xmlNode *nth_child_named(const xmlNode *parent, const char *name, size_t index)
{
    for (const xmlNode *c = parent->children; c; c = c->next)
        if (is_named(c, name) && index-- == 0)
            return c;
    return NULL;
}

static size_t count_children(const xmlNode *parent, const char *name)
{
    size_t n = 0;
    for (const xmlNode *c = parent->children; c; c = c->next)
        n += is_named(c, name);
    return n;
}

static char *trimmed_copy(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

/* The attribute's value (malloc'd, trimmed), `def` copied when absent, NULL in *out when absent
 * without a default. */
static gw_status attr_string(loader *ld, const xmlNode *node, const char *name, const char *def,
                             int required, char **out)
{
    *out = NULL;
    xmlChar *value = xmlGetNoNsProp(node, BAD_CAST name);
    if (!value) {
        if (required)
            return fail_at(ld, node, "element '%s' needs attribute '%s'", node->name, name);
        if (def && !(*out = strdup(def)))
            return GW_ERR_NOMEM;
        return GW_OK;
    }
    *out = trimmed_copy((const char *)value);
    xmlFree(value);
    return *out ? GW_OK : GW_ERR_NOMEM;
}

static gw_status attr_long(loader *ld, const xmlNode *node, const char *name, long def,
                           long min, long max, long *out)
{
    char *text;
    gw_status st = attr_string(ld, node, name, NULL, 0, &text);
    if (st != GW_OK)
        return st;
    if (!text) {
        *out = def;
        return GW_OK;
    }
    errno = 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0')
        st = fail_at(ld, node, "attribute '%s' of '%s': '%s' is not a whole number", name,
                     node->name, text);
    else if (v < min || v > max)
        st = fail_at(ld, node, "attribute '%s' of '%s': %ld is out of range %ld..%ld", name,
                     node->name, v, min, max);
    else
        *out = v;
    free(text);
    return st;
}

static gw_status attr_int(loader *ld, const xmlNode *node, const char *name, int def, int min,
                          int max, int *out)
{
    long v;
    gw_status st = attr_long(ld, node, name, def, min, max, &v);
    if (st == GW_OK)
        *out = (int)v;
    return st;
}

static gw_status attr_bool(loader *ld, const xmlNode *node, const char *name, int def, int *out)
{
    char *text;
    gw_status st = attr_string(ld, node, name, NULL, 0, &text);
    if (st != GW_OK)
        return st;
    if (!text)
        *out = def;
    else if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
        *out = 1;
    else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
        *out = 0;
    else
        st = fail_at(ld, node, "attribute '%s' of '%s': '%s' is not true or false", name,
                     node->name, text);
    free(text);
    return st;
}

static gw_status attr_path(loader *ld, const xmlNode *node, const char *name, int required,
                           char **out)
{
    char *text;
    gw_status st = attr_string(ld, node, name, NULL, required, &text);
    *out = NULL;
    if (st != GW_OK || !text)
        return st;
    if (text[0] == '\0')
        st = fail_at(ld, node, "attribute '%s' of '%s' is empty", name, node->name);
    else if (!(*out = resolve_path(ld->base_dir, text)))
        st = GW_ERR_NOMEM;
    free(text);
    return st;
}

/* ---- value checks ---- */

static gw_status check_readable_file(loader *ld, const xmlNode *node, const char *service,
                                     const char *what, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return fail_at(ld, node, "service '%s': %s file %s: %s", service, what, path,
                       strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return fail_at(ld, node, "service '%s': %s file %s is not a regular file", service, what,
                       path);
    if (access(path, R_OK) != 0)
        return fail_at(ld, node, "service '%s': %s file %s is not readable: %s", service, what,
                       path, strerror(errno));
    return GW_OK;
}

/* http://host[:port][/path] or https://…, host a name or an [IPv6] literal. Returns NULL when
 * good, else the reason. */
static const char *endpoint_url_problem(const char *url)
{
    const char *rest;
    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return "must start with http:// or https://";
    for (const char *p = url; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return "contains whitespace or control characters";
    const char *at = memchr(rest, '@', strcspn(rest, "/?#"));
    if (at)
        return "must not carry credentials";
    const char *host_end;
    if (*rest == '[') {
        host_end = strchr(rest, ']');
        if (!host_end || host_end == rest + 1)
            return "has an unterminated or empty [IPv6] host";
        host_end++;
    } else {
        host_end = rest + strcspn(rest, ":/?#");
        if (host_end == rest)
            return "has no host";
        for (const char *p = rest; p < host_end; p++)
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
                return "has an invalid character in its host";
    }
    if (*host_end == ':') {
        const char *port = host_end + 1;
        size_t len = strcspn(port, "/?#");
        long v = 0;
        if (len == 0 || len > 5)
            return "has an invalid port";
        for (size_t i = 0; i < len; i++) {
            if (!isdigit((unsigned char)port[i]))
                return "has an invalid port";
            v = v * 10 + (port[i] - '0');
        }
        if (v < 1 || v > 65535)
            return "has a port outside 1..65535";
        host_end = port + len;
    }
    if (*host_end != '\0' && *host_end != '/' && *host_end != '?')
        return "is not a valid URL";
    return NULL;
}

/* "a b  c" → {"a","b","c",NULL}. */
static char **split_words(const char *text)
{
    size_t words = 0;
    for (const char *p = text; *p;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        words++;
        while (*p && !isspace((unsigned char)*p))
            p++;
    }
    char **list = calloc(words + 1, sizeof *list);
    if (!list)
        return NULL;
    size_t i = 0;
    for (const char *p = text; *p;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (!(list[i++] = strndup(start, (size_t)(p - start)))) {
            for (size_t j = 0; j < i; j++)
                free(list[j]);
            free(list);
            return NULL;
        }
    }
    return list;
}

/* ---- sections ---- */

static int is_loopback_address(const char *address)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, address, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, address, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static gw_status load_listen(loader *ld, const xmlNode *node)
{
    gw_config *cfg = ld->cfg;
    gw_status st;
    if (!node) {
        cfg->listen_port = DEFAULT_LISTEN_PORT;
        cfg->workers = DEFAULT_WORKERS;
        cfg->max_in_flight = 2 * DEFAULT_WORKERS;
        cfg->backlog = DEFAULT_BACKLOG;
        return (cfg->listen_address = strdup(DEFAULT_LISTEN_ADDRESS)) ? GW_OK : GW_ERR_NOMEM;
    }
    if ((st = attr_string(ld, node, "address", DEFAULT_LISTEN_ADDRESS, 0,
                          &cfg->listen_address)) != GW_OK)
        return st;
    if (cfg->listen_address[0] == '\0')
        return fail_at(ld, node, "listen address is empty");
    long port;
    if ((st = attr_long(ld, node, "port", DEFAULT_LISTEN_PORT, LONG_MIN, LONG_MAX, &port)) !=
        GW_OK)
        return st;
    /* 0 asks the system for a free port (tests and tools read it back with --port-file). */
    if (port < 0 || port > 65535)
        return fail_at(ld, node, "listen port %ld is out of range 0..65535", port);
    cfg->listen_port = (int)port;
    if ((st = attr_int(ld, node, "workers", DEFAULT_WORKERS, 1, 4096, &cfg->workers)) != GW_OK ||
        (st = attr_int(ld, node, "maxInFlight", 2 * cfg->workers, 1, 65536,
                       &cfg->max_in_flight)) != GW_OK ||
        (st = attr_int(ld, node, "backlog", DEFAULT_BACKLOG, 1, 65535, &cfg->backlog)) != GW_OK ||
        (st = attr_bool(ld, node, "trustClientHeader", 0, &cfg->trust_client_header)) != GW_OK)
        return st;
    if (cfg->max_in_flight < cfg->workers)
        return fail_at(ld, node, "maxInFlight %d is less than workers %d: workers would sit idle",
                       cfg->max_in_flight, cfg->workers);
    /* Plain HTTP carries credentials and personal data in clear: members connect to the <tls>
     * listener; the plain one serves this machine only (the demo, a local proxy, tests). */
    if (!is_loopback_address(cfg->listen_address))
        return fail_at(ld, node,
                       "the plain HTTP listener must be on a loopback address, not '%s': "
                       "serve members through <tls>",
                       cfg->listen_address);
    (void)cfg->trust_client_header; /* loopback by the rule above */
    return GW_OK;
}

/* The admin listener (admin.h): unauthenticated, so loopback unless the operator says
 * otherwise in so many words. */
static gw_status load_admin(loader *ld, const xmlNode *node)
{
    gw_config *cfg = ld->cfg;
    gw_status st;
    long port;
    cfg->admin_cert_min_days = 14;
    cfg->admin_probe_interval_ms = 1000;
    if (!node)
        return GW_OK;
    cfg->admin_enabled = 1;
    if ((st = attr_string(ld, node, "address", DEFAULT_LISTEN_ADDRESS, 0, &cfg->admin_address)) ||
        (st = attr_long(ld, node, "port", 9090, 0, 65535, &port)) ||
        (st = attr_bool(ld, node, "allowNonLoopback", 0, &cfg->admin_allow_non_loopback)) ||
        (st = attr_int(ld, node, "certificateMinDays", 14, 0, 3650, &cfg->admin_cert_min_days)) ||
        (st = attr_int(ld, node, "probeIntervalMs", 1000, 100, 60000,
                       &cfg->admin_probe_interval_ms)) ||
        (st = attr_int(ld, node, "drainDelayMs", 0, 0, 600000, &cfg->admin_drain_delay_ms)))
        return st;
    cfg->admin_port = (int)port;
    if (!is_loopback_address(cfg->admin_address) && !cfg->admin_allow_non_loopback)
        return fail_at(ld, node,
                       "the admin listener must be on a loopback address, not '%s' "
                       "(it has no authentication; allowNonLoopback=\"true\" overrides)",
                       cfg->admin_address);
    return GW_OK;
}

static gw_status load_operational_log(loader *ld, const xmlNode *node)
{
    char *format = NULL;
    gw_status st;
    if (!node)
        return GW_OK;
    if ((st = attr_string(ld, node, "format", "text", 0, &format)) != GW_OK)
        return st;
    if (strcmp(format, "json") == 0)
        ld->cfg->log_json = 1;
    else if (strcmp(format, "text") != 0)
        st = fail_at(ld, node, "operationalLog format must be text or json, not '%s'", format);
    free(format);
    return st;
}

#define DEFAULT_TLS_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20"

/* The member listener: TLS 1.2+ with client certificates (mutual TLS). Optional. */
static gw_status load_tls(loader *ld, const xmlNode *node)
{
    gw_config *cfg = ld->cfg;
    gw_status st;
    long port;
    if (!node)
        return GW_OK;
    cfg->tls_enabled = 1;
    if ((st = attr_string(ld, node, "address", DEFAULT_LISTEN_ADDRESS, 0, &cfg->tls_address)) ||
        (st = attr_long(ld, node, "port", 8443, 0, 65535, &port)) ||
        (st = attr_path(ld, node, "certificate", 1, &cfg->tls_cert_path)) ||
        (st = attr_path(ld, node, "key", 1, &cfg->tls_key_path)) ||
        (st = attr_path(ld, node, "clientCa", 1, &cfg->tls_client_ca_path)) ||
        (st = attr_path(ld, node, "crl", 0, &cfg->tls_crl_path)) ||
        (st = attr_string(ld, node, "ciphers", DEFAULT_TLS_CIPHERS, 0, &cfg->tls_ciphers)) ||
        (st = attr_bool(ld, node, "requireClientCertificate", 1,
                        &cfg->tls_require_client_cert)))
        return st;
    cfg->tls_port = (int)port;
    return GW_OK;
}

/* WS-Security signed requests: accepted when the section names the signers' CA. */
static gw_status load_ws_security(loader *ld, const xmlNode *node)
{
    gw_status st;
    ld->cfg->wss_response_ttl_s = 300;
    if (!node)
        return GW_OK;
    /* Like the keys, the CA file is read at start-up, not here: --check-config works before
     * the PKI exists. */
    if ((st = attr_path(ld, node, "trustedCa", 1, &ld->cfg->wss_trusted_ca_path)) != GW_OK ||
        (st = attr_path(ld, node, "crl", 0, &ld->cfg->wss_crl_path)) != GW_OK)
        return st;
    return attr_int(ld, node, "responseTtlSeconds", 300, 1, 86400,
                    &ld->cfg->wss_response_ttl_s);
}

/* The built-in metaservices: exposed when the section is present. */
static gw_status load_metaservices(loader *ld, const xmlNode *node)
{
    gw_status st;
    if (!node)
        return GW_OK;
    if ((st = attr_path(ld, node, "wsdl", 1, &ld->cfg->meta_wsdl_path)) != GW_OK ||
        (st = attr_path(ld, node, "schema", 1, &ld->cfg->meta_schema_path)) != GW_OK)
        return st;
    if ((st = check_readable_file(ld, node, "meta", "wsdl", ld->cfg->meta_wsdl_path)) != GW_OK)
        return st;
    return check_readable_file(ld, node, "meta", "schema", ld->cfg->meta_schema_path);
}

static gw_status load_grants(loader *ld, const xmlNode *node, gw_service_config *svc);
static int conninfo_has_password(const char *conninfo);

/* The built-in audit service: exposed when the section is present; after <members> (its grants
 * name members). */
static gw_status load_audit_service(loader *ld, const xmlNode *node)
{
    gw_status st;
    gw_config *cfg = ld->cfg;
    if (!node)
        return GW_OK;
    if ((st = attr_path(ld, node, "wsdl", 1, &cfg->audit_wsdl_path)) != GW_OK ||
        (st = attr_path(ld, node, "schema", 1, &cfg->audit_schema_path)) != GW_OK ||
        (st = attr_string(ld, node, "conninfo", NULL, 1, &cfg->audit_conninfo)) != GW_OK ||
        (st = attr_path(ld, node, "passwordFile", 0, &cfg->audit_password_file)) != GW_OK ||
        (st = attr_int(ld, node, "statementTimeoutMs", 5000, 1, 600000,
                       &cfg->audit_statement_timeout_ms)) != GW_OK)
        return st;
    if (conninfo_has_password(cfg->audit_conninfo))
        return fail_at(ld, node, "auditService: conninfo must not carry the password; use "
                                 "passwordFile");
    if ((st = check_readable_file(ld, node, "AuditService", "wsdl", cfg->audit_wsdl_path)) !=
            GW_OK ||
        (st = check_readable_file(ld, node, "AuditService", "schema", cfg->audit_schema_path)) !=
            GW_OK)
        return st;
    gw_service_config holder = {.name = "AuditService"};
    st = load_grants(ld, node, &holder);
    cfg->audit_grants = holder.grants;
    cfg->audit_grant_count = holder.grant_count;
    return st;
}

static gw_status load_circuit_breaker(loader *ld, const xmlNode *node)
{
    gw_config *cfg = ld->cfg;
    cfg->breaker_failures = DEFAULT_BREAKER_FAILURES;
    cfg->breaker_open_s = DEFAULT_BREAKER_OPEN_S;
    if (!node)
        return GW_OK;
    gw_status st;
    if ((st = attr_int(ld, node, "failures", DEFAULT_BREAKER_FAILURES, 0, 1000000,
                       &cfg->breaker_failures)) != GW_OK ||
        (st = attr_int(ld, node, "openSeconds", DEFAULT_BREAKER_OPEN_S, 1, 86400,
                       &cfg->breaker_open_s)) != GW_OK)
        return st;
    return GW_OK;
}

/* <limits replayScope="cluster|node">: whether a message id is checked against every node's
 * (replay_seen, docs/scaling.md) or only this process's. Cluster unless told otherwise: the
 * safe default whatever the number of nodes. */
static gw_status load_replay_scope(loader *ld, const xmlNode *node)
{
    char *scope = NULL;
    gw_status st = attr_string(ld, node, "replayScope", "cluster", 0, &scope);
    if (st != GW_OK)
        return st;
    if (strcmp(scope, "cluster") == 0)
        ld->cfg->replay_cluster = 1;
    else if (strcmp(scope, "node") == 0)
        ld->cfg->replay_cluster = 0;
    else
        st = fail_at(ld, node, "limits replayScope must be cluster or node, not '%s'", scope);
    free(scope);
    return st;
}

/* <cluster nodes="N">: how many gateway nodes share the load; each enforces 1/N of every rate
 * limit (docs/scaling.md). Absent: 1. */
static gw_status load_cluster(loader *ld, const xmlNode *node)
{
    ld->cfg->cluster_nodes = 1;
    if (!node)
        return GW_OK;
    return attr_int(ld, node, "nodes", 1, 1, 1024, &ld->cfg->cluster_nodes);
}

static gw_status load_limits(loader *ld, const xmlNode *node)
{
    gw_config *cfg = ld->cfg;
    cfg->max_body_bytes = DEFAULT_MAX_BODY_BYTES;
    cfg->max_xml_depth = DEFAULT_MAX_XML_DEPTH;
    cfg->max_xml_nodes = DEFAULT_MAX_XML_NODES;
    cfg->recv_timeout_s = DEFAULT_RECV_TIMEOUT_S;
    cfg->send_timeout_s = DEFAULT_SEND_TIMEOUT_S;
    cfg->keepalive_idle_s = DEFAULT_KEEPALIVE_IDLE_S;
    cfg->replay_window_s = 600;
    cfg->replay_max_entries = 1000000;
    cfg->replay_cluster = 1;
    cfg->rate_per_s = 0;
    cfg->rate_burst = 100;
    cfg->rate_max_clients = 10000;
    cfg->timestamp_max_skew_s = 120;
    cfg->timestamp_max_age_s = 300;
    cfg->max_header_bytes = 32768;
    cfg->handshake_timeout_s = 5;
    cfg->max_handshakes_per_ip = 16;
    if (!node)
        return GW_OK;
    gw_status st;
    long body, nodes, replay_entries, rate_clients, header_bytes;
    if ((st = attr_long(ld, node, "maxBodyBytes", DEFAULT_MAX_BODY_BYTES, 1024, 1L << 30,
                        &body)) != GW_OK ||
        (st = attr_int(ld, node, "maxXmlDepth", DEFAULT_MAX_XML_DEPTH, 4, 10000,
                       &cfg->max_xml_depth)) != GW_OK ||
        (st = attr_long(ld, node, "maxXmlNodes", DEFAULT_MAX_XML_NODES, 16, 100000000,
                        &nodes)) != GW_OK ||
        (st = attr_int(ld, node, "recvTimeoutSeconds", DEFAULT_RECV_TIMEOUT_S, 1, 3600,
                       &cfg->recv_timeout_s)) != GW_OK ||
        (st = attr_int(ld, node, "sendTimeoutSeconds", DEFAULT_SEND_TIMEOUT_S, 1, 3600,
                       &cfg->send_timeout_s)) != GW_OK ||
        (st = attr_int(ld, node, "keepAliveIdleSeconds", DEFAULT_KEEPALIVE_IDLE_S, 1, 3600,
                       &cfg->keepalive_idle_s)) != GW_OK ||
        (st = attr_int(ld, node, "replayWindowSeconds", 600, 1, 86400,
                       &cfg->replay_window_s)) != GW_OK ||
        (st = attr_long(ld, node, "replayMaxEntries", 1000000, 1000, 100000000,
                        &replay_entries)) != GW_OK ||
        (st = attr_int(ld, node, "ratePerSecond", 0, 0, 1000000, &cfg->rate_per_s)) != GW_OK ||
        (st = attr_int(ld, node, "rateBurst", 100, 1, 10000000, &cfg->rate_burst)) != GW_OK ||
        (st = attr_long(ld, node, "rateMaxClients", 10000, 16, 10000000, &rate_clients)) !=
            GW_OK ||
        (st = attr_int(ld, node, "timestampMaxSkewSeconds", 120, 0, 3600,
                       &cfg->timestamp_max_skew_s)) != GW_OK ||
        (st = attr_int(ld, node, "timestampMaxAgeSeconds", 300, 1, 86400,
                       &cfg->timestamp_max_age_s)) != GW_OK ||
        (st = attr_long(ld, node, "maxHeaderBytes", 32768, 1024, 1048576, &header_bytes)) !=
            GW_OK ||
        (st = attr_int(ld, node, "handshakeTimeoutSeconds", 5, 1, 300,
                       &cfg->handshake_timeout_s)) != GW_OK ||
        (st = attr_int(ld, node, "maxHandshakesPerIp", 16, 1, 65535,
                       &cfg->max_handshakes_per_ip)) != GW_OK)
        return st;
    cfg->max_header_bytes = (size_t)header_bytes;
    cfg->max_body_bytes = (size_t)body;
    cfg->max_xml_nodes = (size_t)nodes;
    cfg->replay_max_entries = (size_t)replay_entries;
    cfg->rate_max_clients = (size_t)rate_clients;
    if ((st = load_replay_scope(ld, node)) != GW_OK)
        return st;
    /* A message whose timestamp is still acceptable must still be remembered as seen. */
    if (cfg->replay_window_s < cfg->timestamp_max_age_s + 2 * cfg->timestamp_max_skew_s)
        return fail_at(ld, node,
                       "replayWindowSeconds %d is shorter than timestampMaxAgeSeconds + 2 x "
                       "timestampMaxSkewSeconds (%d): a replay could outlive the window",
                       cfg->replay_window_s,
                       cfg->timestamp_max_age_s + 2 * cfg->timestamp_max_skew_s);
    return GW_OK;
}

/* "password=…" as a keyword, or "postgresql://user:secret@host" as a URI. */
static int conninfo_has_password(const char *conninfo)
{
    for (const char *p = conninfo; (p = strstr(p, "password")) != NULL; p++) {
        int starts_keyword = p == conninfo || isspace((unsigned char)p[-1]) || p[-1] == '?' ||
                             p[-1] == '&';
        if (!starts_keyword)
            continue;
        const char *q = p + strlen("password");
        while (isspace((unsigned char)*q))
            q++;
        if (*q == '=')
            return 1;
    }
    const char *scheme = strstr(conninfo, "://");
    if (scheme) {
        const char *authority = scheme + 3;
        size_t len = strcspn(authority, "/?");
        const char *at = memchr(authority, '@', len);
        if (at && memchr(authority, ':', (size_t)(at - authority)))
            return 1;
    }
    return 0;
}

/* <checkpoint> inside <database>: signed, time-stamped checkpoints of the log. */
static gw_status load_checkpoint(loader *ld, const xmlNode *node)
{
    gw_config *cfg = ld->cfg;
    gw_status st;
    char host[256] = "";
    char *failure = NULL;
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "pide-gateway");
    cfg->checkpoint_enabled = 1;
    if ((st = attr_string(ld, node, "nodeId", host, 0, &cfg->checkpoint_node_id)) != GW_OK ||
        (st = attr_int(ld, node, "everyRows", DEFAULT_CHECKPOINT_EVERY_ROWS, 1, 100000000,
                       &cfg->checkpoint_every_rows)) != GW_OK ||
        (st = attr_int(ld, node, "everySeconds", DEFAULT_CHECKPOINT_EVERY_SECONDS, 1, 86400,
                       &cfg->checkpoint_every_seconds)) != GW_OK ||
        (st = attr_string(ld, node, "timestampUrl", NULL, 0, &cfg->checkpoint_timestamp_url)) !=
            GW_OK ||
        (st = attr_path(ld, node, "timestampCa", 0, &cfg->checkpoint_timestamp_ca)) != GW_OK ||
        (st = attr_int(ld, node, "stampTimeoutMs", DEFAULT_CHECKPOINT_STAMP_TIMEOUT_MS, 1, 600000,
                       &cfg->checkpoint_stamp_timeout_ms)) != GW_OK ||
        (st = attr_int(ld, node, "stampGraceSeconds", DEFAULT_CHECKPOINT_STAMP_GRACE_S, 1, 604800,
                       &cfg->checkpoint_stamp_grace_s)) != GW_OK ||
        (st = attr_string(ld, node, "onStampFailure", "refuse", 0, &failure)) != GW_OK)
        goto done;
    if (strlen(cfg->checkpoint_node_id) > 128) {
        st = fail_at(ld, node, "checkpoint nodeId is longer than 128 characters");
        goto done;
    }
    if (cfg->checkpoint_timestamp_url && strncmp(cfg->checkpoint_timestamp_url, "http://", 7) != 0) {
        st = fail_at(ld, node, "checkpoint timestampUrl '%s' must be an http:// URL",
                     cfg->checkpoint_timestamp_url);
        goto done;
    }
    if (strcmp(failure, "refuse") == 0)
        cfg->checkpoint_refuse_unstamped = 1;
    else if (strcmp(failure, "continue") == 0)
        cfg->checkpoint_refuse_unstamped = 0;
    else
        st = fail_at(ld, node, "checkpoint onStampFailure must be 'refuse' or 'continue'");
done:
    free(failure);
    return st;
}

/* <database><spool dir maxBytes switchAfterMs>: the durable local spool (docs/reliability.md,
 * "The spool"); absent: off (fail closed). The folder itself is checked when the log opens it. */
static gw_status load_spool(loader *ld, const xmlNode *node)
{
    gw_config *cfg = ld->cfg;
    gw_status st;
    long max_bytes;
    if ((st = attr_path(ld, node, "dir", 1, &cfg->spool_dir)) != GW_OK ||
        (st = attr_long(ld, node, "maxBytes", DEFAULT_SPOOL_MAX_BYTES, 4096, LONG_MAX,
                        &max_bytes)) != GW_OK ||
        (st = attr_int(ld, node, "switchAfterMs", DEFAULT_SPOOL_SWITCH_AFTER_MS, 1, 600000,
                       &cfg->spool_switch_after_ms)) != GW_OK)
        return st;
    cfg->spool_max_bytes = max_bytes;
    if (cfg->spool_switch_after_ms >= cfg->log_commit_timeout_ms)
        return fail_at(ld, node,
                       "spool switchAfterMs (%d) must be below the database's commitTimeoutMs "
                       "(%d): callers wait at most that long",
                       cfg->spool_switch_after_ms, cfg->log_commit_timeout_ms);
    return GW_OK;
}

/* <signing key certificate [pinFile] [module]>: key is a PEM file, or a "pkcs11:" URI naming
 * the key object in a token (key_store.h, docs/signing.md "Key custody"); pinFile and module
 * apply to a token key only. The URI is checked here (file:line), the token at start-up. */
static gw_status load_signing(loader *ld, const xmlNode *node)
{
    gw_config *cfg = ld->cfg;
    gw_status st;
    char *key = NULL;
    if ((st = attr_string(ld, node, "key", NULL, 1, &key)) != GW_OK)
        return st;
    if (key[0] == '\0')
        st = fail_at(ld, node, "attribute 'key' of 'signing' is empty");
    else if (gw_key_is_pkcs11(key)) {
        gw_pkcs11_uri *u = calloc(1, sizeof *u);
        char why[512];
        if (!u)
            st = GW_ERR_NOMEM;
        else if (gw_pkcs11_uri_parse(key, u, why, sizeof why) != GW_OK)
            st = fail_at(ld, node, "signing key: %s", why);
        else if (!xmlHasProp(node, BAD_CAST "pinFile") && u->pin_source[0] == '\0')
            st = fail_at(ld, node,
                         "signing key in a PKCS#11 token needs its PIN file: pinFile= "
                         "(mode 0600) or the URI's pin-source=file:PATH");
        free(u);
        if (st == GW_OK) {
            cfg->signing_key_path = key;
            key = NULL;
        }
    } else {
        if (xmlHasProp(node, BAD_CAST "pinFile") || xmlHasProp(node, BAD_CAST "module"))
            st = fail_at(ld, node,
                         "pinFile and module apply only to a PKCS#11 key "
                         "(key=\"pkcs11:...\")");
        else if (!(cfg->signing_key_path = resolve_path(ld->base_dir, key)))
            st = GW_ERR_NOMEM;
    }
    free(key);
    if (st == GW_OK)
        st = attr_path(ld, node, "pinFile", 0, &cfg->signing_pin_file);
    if (st == GW_OK)
        st = attr_path(ld, node, "module", 0, &cfg->signing_pkcs11_module);
    return st;
}

static gw_status load_database(loader *ld, const xmlNode *node)
{
    gw_config *cfg = ld->cfg;
    gw_status st;
    if ((st = attr_string(ld, node, "conninfo", NULL, 1, &cfg->db_conninfo)) != GW_OK ||
        (st = attr_path(ld, node, "passwordFile", 0, &cfg->db_password_file)) != GW_OK ||
        (st = attr_int(ld, node, "batchMax", DEFAULT_LOG_BATCH_MAX, 1, 100000,
                       &cfg->log_batch_max)) != GW_OK ||
        (st = attr_int(ld, node, "commitTimeoutMs", DEFAULT_LOG_COMMIT_TIMEOUT_MS, 1, 600000,
                       &cfg->log_commit_timeout_ms)) != GW_OK)
        return st;
    /* The password has its own file so that this one can be world-readable. */
    if (conninfo_has_password(cfg->db_conninfo))
        return fail_at(ld, node,
                       "database conninfo must not contain a password; use passwordFile");
    const xmlNode *cp = child_named(node, "checkpoint");
    if (cp && (st = load_checkpoint(ld, cp)) != GW_OK)
        return st;
    const xmlNode *sp = child_named(node, "spool");
    return sp ? load_spool(ld, sp) : GW_OK;
}

static gw_status load_member(loader *ld, const xmlNode *node, gw_member *m)
{
    gw_status st;
    if ((st = attr_string(ld, node, "id", NULL, 1, &m->id)) != GW_OK)
        return st;
    if (!gw_is_ruc(m->id))
        return fail_at(ld, node, "member id '%s' is not a RUC (11 digits)", m->id);
    if ((st = attr_string(ld, node, "name", m->id, 0, &m->name)) != GW_OK ||
        (st = attr_int(ld, node, "ratePerSecond", 0, 0, 1000000, &m->rate_per_s)) != GW_OK ||
        (st = attr_int(ld, node, "rateBurst", 0, 0, 10000000, &m->rate_burst)) != GW_OK ||
        (st = attr_string(ld, node, "institutionCode", NULL, 0, &m->institution_code)) != GW_OK)
        return st;
    if (m->institution_code &&
        (!m->institution_code[0] || strlen(m->institution_code) > 32 ||
         strspn(m->institution_code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789._-") != strlen(m->institution_code)))
        return fail_at(ld, node, "member '%s': institutionCode '%s' is not 1-32 characters "
                       "of [A-Za-z0-9._-]", m->id, m->institution_code);

    size_t n = count_children(node, "legacyCredential");
    if (n && !(m->credentials = calloc(n, sizeof *m->credentials)))
        return GW_ERR_NOMEM;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (!is_named(c, "legacyCredential"))
            continue;
        gw_legacy_credential *cred = &m->credentials[m->credential_count++];
        if ((st = attr_string(ld, c, "userDni", NULL, 1, &cred->user_dni)) != GW_OK ||
            (st = attr_string(ld, c, "passwordHash", NULL, 1, &cred->password_hash)) != GW_OK)
            return st;
        if (!gw_is_dni(cred->user_dni))
            return fail_at(ld, c, "member '%s': userDni '%s' is not a DNI (8 digits)", m->id,
                           cred->user_dni);
        for (size_t i = 0; i + 1 < m->credential_count; i++)
            if (strcmp(m->credentials[i].user_dni, cred->user_dni) == 0)
                return fail_at(ld, c, "member '%s': duplicate legacyCredential for userDni '%s'",
                               m->id, cred->user_dni);
        char why[160];
        if (gw_password_hash_check_format(cred->password_hash, why, sizeof why) != GW_OK)
            return fail_at(ld, c, "member '%s', userDni '%s': malformed passwordHash: %s", m->id,
                           cred->user_dni, why);
    }
    return GW_OK;
}

static gw_status load_members(loader *ld, const xmlNode *node)
{
    gw_config *cfg = ld->cfg;
    if (!node)
        return GW_OK;
    size_t n = count_children(node, "member");
    if (n && !(cfg->members = calloc(n, sizeof *cfg->members)))
        return GW_ERR_NOMEM;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (!is_named(c, "member"))
            continue;
        gw_member *m = &cfg->members[cfg->member_count++];
        gw_status st = load_member(ld, c, m);
        if (st != GW_OK)
            return st;
        for (size_t i = 0; i + 1 < cfg->member_count; i++)
            if (strcmp(cfg->members[i].id, m->id) == 0)
                return fail_at(ld, c, "duplicate member id '%s' (first declared at line %ld)",
                               m->id, xmlGetLineNo(nth_child_named(node, "member", i)));
    }
    return GW_OK;
}

static gw_status load_params(loader *ld, const xmlNode *node, gw_service_config *svc)
{
    size_t n = count_children(node, "param");
    if (n && !(svc->params = calloc(n, sizeof *svc->params)))
        return GW_ERR_NOMEM;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (!is_named(c, "param"))
            continue;
        gw_param *p = &svc->params[svc->param_count++];
        gw_status st;
        if ((st = attr_string(ld, c, "name", NULL, 1, &p->name)) != GW_OK ||
            (st = attr_string(ld, c, "value", NULL, 1, &p->value)) != GW_OK)
            return st;
        for (size_t i = 0; i + 1 < svc->param_count; i++)
            if (strcmp(svc->params[i].name, p->name) == 0)
                return fail_at(ld, c, "service '%s': duplicate param '%s'", svc->name, p->name);
    }
    return GW_OK;
}

static gw_status load_grants(loader *ld, const xmlNode *node, gw_service_config *svc)
{
    size_t n = count_children(node, "grant");
    if (n && !(svc->grants = calloc(n, sizeof *svc->grants)))
        return GW_ERR_NOMEM;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (!is_named(c, "grant"))
            continue;
        gw_grant *g = &svc->grants[svc->grant_count++];
        char *operations = NULL;
        gw_status st;
        if ((st = attr_string(ld, c, "member", NULL, 1, &g->member_id)) != GW_OK ||
            (st = attr_string(ld, c, "operations", NULL, 1, &operations)) != GW_OK)
            return st;
        g->operations = split_words(operations);
        free(operations);
        if (!g->operations)
            return GW_ERR_NOMEM;
        if (!g->operations[0])
            return fail_at(ld, c, "service '%s': grant to '%s' names no operation", svc->name,
                           g->member_id);
        for (size_t i = 0; g->operations[i]; i++)
            if (strcmp(g->operations[i], "*") == 0 && (i > 0 || g->operations[1]))
                return fail_at(ld, c, "service '%s': grant to '%s': \"*\" must stand alone",
                               svc->name, g->member_id);
        if (!gw_config_find_member(ld->cfg, g->member_id))
            return fail_at(ld, c, "service '%s': grant to unknown member '%s'", svc->name,
                           g->member_id);
        for (size_t i = 0; i + 1 < svc->grant_count; i++)
            if (strcmp(svc->grants[i].member_id, g->member_id) == 0)
                return fail_at(ld, c, "service '%s': member '%s' has two grants; merge them",
                               svc->name, g->member_id);
    }
    return GW_OK;
}

/* <identityField element= is= action=>: which request fields name the caller. */
static gw_status load_identity_fields(loader *ld, const xmlNode *node, gw_service_config *svc)
{
    static const char *const sources[] = {[GW_IDENTITY_MEMBER] = "member",
                                          [GW_IDENTITY_OFFICIAL] = "official",
                                          [GW_IDENTITY_INSTITUTION_CODE] = "institutionCode"};
    size_t n = count_children(node, "identityField");
    if (n && !(svc->identity_fields = calloc(n, sizeof *svc->identity_fields)))
        return GW_ERR_NOMEM;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (!is_named(c, "identityField"))
            continue;
        gw_identity_field *f = &svc->identity_fields[svc->identity_field_count++];
        char *is = NULL, *action = NULL;
        gw_status st;
        if ((st = attr_string(ld, c, "element", NULL, 1, &f->element)) != GW_OK ||
            (st = attr_string(ld, c, "is", NULL, 1, &is)) != GW_OK ||
            (st = attr_string(ld, c, "action", "check", 0, &action)) != GW_OK)
            goto done;
        size_t k = 0;
        while (k < sizeof sources / sizeof sources[0] && strcmp(sources[k], is) != 0)
            k++;
        if (k == sizeof sources / sizeof sources[0]) {
            st = fail_at(ld, c, "service '%s': identityField '%s': is='%s' is not member, "
                         "official or institutionCode", svc->name, f->element, is);
            goto done;
        }
        f->source = (gw_identity_source)k;
        if (strcmp(action, "check") == 0)
            f->action = GW_IDENTITY_CHECK;
        else if (strcmp(action, "overwrite") == 0)
            f->action = GW_IDENTITY_OVERWRITE;
        else {
            st = fail_at(ld, c, "service '%s': identityField '%s': action='%s' is not check or "
                         "overwrite", svc->name, f->element, action);
            goto done;
        }
        for (size_t i = 0; i + 1 < svc->identity_field_count; i++)
            if (strcmp(svc->identity_fields[i].element, f->element) == 0) {
                st = fail_at(ld, c, "service '%s': identityField '%s' declared twice",
                             svc->name, f->element);
                goto done;
            }
    done:
        free(is);
        free(action);
        if (st != GW_OK)
            return st;
    }
    return GW_OK;
}

/* <encryptAtRest recipient=>: one element per auditors' certificate the service's logged bodies
 * are encrypted to (body_crypt.h); each certificate is read and checked here. */
static gw_status load_encrypt_at_rest(loader *ld, const xmlNode *node, gw_service_config *svc)
{
    size_t n = count_children(node, "encryptAtRest");
    if (n && !(svc->encrypt_recipients = calloc(n, sizeof *svc->encrypt_recipients)))
        return GW_ERR_NOMEM;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (!is_named(c, "encryptAtRest"))
            continue;
        char **path = &svc->encrypt_recipients[svc->encrypt_recipient_count++];
        char why[512];
        gw_status st = attr_path(ld, c, "recipient", 1, path);
        if (st != GW_OK)
            return st;
        if (gw_body_crypt_check_recipient(*path, why, sizeof why) != GW_OK)
            return fail_at(ld, c, "service '%s': %s", svc->name, why);
        for (size_t i = 0; i + 1 < svc->encrypt_recipient_count; i++)
            if (strcmp(svc->encrypt_recipients[i], *path) == 0)
                return fail_at(ld, c, "service '%s': encryptAtRest recipient '%s' given twice",
                               svc->name, *path);
    }
    return GW_OK;
}

static gw_status load_service(loader *ld, const xmlNode *node, gw_service_config *svc)
{
    gw_status st;
    svc->line = (int)xmlGetLineNo(node);
    if ((st = attr_string(ld, node, "name", NULL, 1, &svc->name)) != GW_OK ||
        (st = attr_string(ld, node, "adapter", NULL, 1, &svc->adapter)) != GW_OK ||
        (st = attr_path(ld, node, "wsdl", 1, &svc->wsdl_path)) != GW_OK ||
        (st = attr_path(ld, node, "schema", 1, &svc->schema_path)) != GW_OK ||
        (st = attr_bool(ld, node, "legacyCredentials", 0, &svc->legacy_credentials)) != GW_OK ||
        (st = attr_bool(ld, node, "requireSignature", 0, &svc->require_signature)) != GW_OK)
        return st;
    if ((st = check_readable_file(ld, node, svc->name, "wsdl", svc->wsdl_path)) != GW_OK ||
        (st = check_readable_file(ld, node, svc->name, "schema", svc->schema_path)) != GW_OK)
        return st;

    const xmlNode *endpoint = child_named(node, "endpoint");
    if (!endpoint)
        return fail_at(ld, node, "service '%s' has no endpoint", svc->name);
    long timeout;
    if ((st = attr_string(ld, endpoint, "url", NULL, 1, &svc->endpoint_url)) != GW_OK ||
        (st = attr_long(ld, endpoint, "timeoutMs", DEFAULT_ENDPOINT_TIMEOUT_MS, 1, 600000,
                        &timeout)) != GW_OK)
        return st;
    svc->timeout_ms = (unsigned)timeout;
    const char *problem = endpoint_url_problem(svc->endpoint_url);
    if (problem)
        return fail_at(ld, endpoint, "service '%s': endpoint url '%s' %s", svc->name,
                       svc->endpoint_url, problem);
    if ((st = load_params(ld, node, svc)) != GW_OK ||
        (st = load_identity_fields(ld, node, svc)) != GW_OK ||
        (st = load_encrypt_at_rest(ld, node, svc)) != GW_OK)
        return st;
    return load_grants(ld, node, svc);
}

static gw_status load_services(loader *ld, const xmlNode *node)
{
    gw_config *cfg = ld->cfg;
    size_t n = count_children(node, "service");
    if (n && !(cfg->services = calloc(n, sizeof *cfg->services)))
        return GW_ERR_NOMEM;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (!is_named(c, "service"))
            continue;
        gw_service_config *svc = &cfg->services[cfg->service_count++];
        gw_status st = load_service(ld, c, svc);
        if (st != GW_OK)
            return st;
        for (size_t i = 0; i + 1 < cfg->service_count; i++)
            if (strcmp(cfg->services[i].name, svc->name) == 0)
                return fail_at(ld, c, "duplicate service '%s' (first declared at line %d)",
                               svc->name, cfg->services[i].line);
    }
    return GW_OK;
}

/* ---- parsing and validation ---- */

static gw_status parse_document(loader *ld, xmlDocPtr *out)
{
    *out = NULL;
    error_collector errors = {0};
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return GW_ERR_NOMEM;
    /* libxml2 hands serror the context's userData, which is the context itself. */
    ctxt->_private = &errors;
    ctxt->sax->serror = collect_parser_error;
    /* No network, no DTD loading, entities left unexpanded (XML_PARSE_NOENT absent), line
     * numbers past 65535 kept. */
    xmlDocPtr doc = xmlCtxtReadFile(ctxt, ld->path, NULL,
                                    XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOERROR |
                                        XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    gw_status st = GW_OK;
    if (!doc || !ctxt->wellFormed || errors.count) {
        st = fail_collected(ld, &errors, "not well-formed XML: ");
        goto fail;
    }
    if (doc->intSubset || doc->extSubset) {
        st = fail_at_line(ld, 1, "DOCTYPE declarations are not allowed in the configuration");
        goto fail;
    }
    *out = doc;
    doc = NULL;
fail:
    if (doc)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return st;
}

static gw_status validate_document(loader *ld, xmlDocPtr doc, const char *schema_dir)
{
    gw_status st = GW_ERR_CONFIG;
    xmlSchemaParserCtxtPtr pctxt = NULL;
    xmlSchemaPtr schema = NULL;
    xmlSchemaValidCtxtPtr vctxt = NULL;
    error_collector errors = {0};
    size_t need = strlen(schema_dir) + sizeof CONFIG_SCHEMA_FILE + 2;
    char *xsd = malloc(need);
    if (!xsd) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    snprintf(xsd, need, "%s/%s", schema_dir, CONFIG_SCHEMA_FILE);
    if (access(xsd, R_OK) != 0) {
        snprintf(ld->err, ld->errlen, "%s: cannot read the configuration schema: %s", xsd,
                 strerror(errno));
        goto fail;
    }
    if (!(pctxt = xmlSchemaNewParserCtxt(xsd))) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    xmlSchemaSetParserStructuredErrors(pctxt, collect_error, &errors);
    if (!(schema = xmlSchemaParse(pctxt))) {
        snprintf(ld->err, ld->errlen, "%s:%ld: the configuration schema is invalid: %s", xsd,
                 errors.line, errors.message);
        goto fail;
    }
    if (!(vctxt = xmlSchemaNewValidCtxt(schema))) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    xmlSchemaSetValidStructuredErrors(vctxt, collect_error, &errors);
    if (xmlSchemaValidateDoc(vctxt, doc) != 0 || errors.count) {
        st = fail_collected(ld, &errors, "");
        goto fail;
    }
    st = GW_OK;
fail:
    xmlSchemaFreeValidCtxt(vctxt);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pctxt);
    free(xsd);
    return st;
}

static gw_status load_tree(loader *ld, const xmlNode *root)
{
    gw_status st;
    const xmlNode *paths = child_named(root, "paths");
    const xmlNode *signing = child_named(root, "signing");
    const xmlNode *database = child_named(root, "database");
    const xmlNode *services = child_named(root, "services");
    if (!paths || !signing || !database || !services)
        return fail_at(ld, root, "gateway needs <paths>, <signing>, <database> and <services>");
    if ((st = load_listen(ld, child_named(root, "listen"))) != GW_OK ||
        (st = load_tls(ld, child_named(root, "tls"))) != GW_OK ||
        (st = load_admin(ld, child_named(root, "admin"))) != GW_OK ||
        (st = load_operational_log(ld, child_named(root, "operationalLog"))) != GW_OK ||
        (st = load_metaservices(ld, child_named(root, "metaservices"))) != GW_OK ||
        (st = load_ws_security(ld, child_named(root, "wsSecurity"))) != GW_OK ||
        (st = load_limits(ld, child_named(root, "limits"))) != GW_OK ||
        (st = load_circuit_breaker(ld, child_named(root, "circuitBreaker"))) != GW_OK ||
        (st = load_cluster(ld, child_named(root, "cluster"))) != GW_OK ||
        (st = attr_path(ld, paths, "adapterDir", 1, &ld->cfg->adapter_dir)) != GW_OK ||
        (st = load_signing(ld, signing)) != GW_OK ||
        (st = attr_path(ld, signing, "certificate", 1, &ld->cfg->signing_cert_path)) != GW_OK ||
        (st = load_database(ld, database)) != GW_OK ||
        (st = load_members(ld, child_named(root, "members"))) != GW_OK ||
        (st = load_audit_service(ld, child_named(root, "auditService"))) != GW_OK)
        return st;
    return load_services(ld, services);
}

gw_status gw_config_load(const char *path, const char *schema_dir, gw_config **out, char *err,
                         size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!path || !schema_dir || !out || !err || !errlen)
        return GW_ERR_INVALID_ARG;
    *out = NULL;
    loader ld = {.path = path, .err = err, .errlen = errlen};
    xmlDocPtr doc = NULL;
    gw_status st;
    if (!(ld.base_dir = config_directory(path))) {
        gw_set_error(err, errlen, "%s: cannot open configuration: %s", path, strerror(errno));
        st = GW_ERR_CONFIG;
        goto fail;
    }
    if (!(ld.cfg = calloc(1, sizeof *ld.cfg)) || !(ld.cfg->path = strdup(path)) ||
        !(ld.cfg->base_dir = strdup(ld.base_dir))) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    if ((st = parse_document(&ld, &doc)) != GW_OK ||
        (st = validate_document(&ld, doc, schema_dir)) != GW_OK ||
        (st = load_tree(&ld, xmlDocGetRootElement(doc))) != GW_OK)
        goto fail;
    *out = ld.cfg;
    ld.cfg = NULL;
fail:
    if (st == GW_ERR_NOMEM)
        gw_set_error(err, errlen, "%s: out of memory while loading the configuration", path);
    else if (st != GW_OK && err[0] == '\0')
        gw_set_error(err, errlen, "%s: %s", path, gw_status_message(st));
    if (st != GW_OK)
        st = (st == GW_ERR_NOMEM) ? st : GW_ERR_CONFIG;
    xmlFreeDoc(doc);
    gw_config_free(ld.cfg);
    free(ld.base_dir);
    return st;
}

void gw_config_free(gw_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->member_count; i++) {
        gw_member *m = &cfg->members[i];
        for (size_t j = 0; j < m->credential_count; j++) {
            free(m->credentials[j].user_dni);
            free(m->credentials[j].password_hash);
        }
        free(m->credentials);
        free(m->institution_code);
        free(m->id);
        free(m->name);
    }
    free(cfg->members);
    for (size_t i = 0; i < cfg->service_count; i++) {
        gw_service_config *s = &cfg->services[i];
        for (size_t j = 0; j < s->param_count; j++) {
            free(s->params[j].name);
            free(s->params[j].value);
        }
        free(s->params);
        for (size_t j = 0; j < s->grant_count; j++) {
            for (char **op = s->grants[j].operations; op && *op; op++)
                free(*op);
            free(s->grants[j].operations);
            free(s->grants[j].member_id);
        }
        free(s->grants);
        for (size_t j = 0; j < s->identity_field_count; j++)
            free(s->identity_fields[j].element);
        free(s->identity_fields);
        for (size_t j = 0; j < s->encrypt_recipient_count; j++)
            free(s->encrypt_recipients[j]);
        free(s->encrypt_recipients);
        free(s->name);
        free(s->adapter);
        free(s->wsdl_path);
        free(s->schema_path);
        free(s->endpoint_url);
    }
    free(cfg->services);
    for (size_t j = 0; j < cfg->audit_grant_count; j++) {
        for (char **op = cfg->audit_grants[j].operations; op && *op; op++)
            free(*op);
        free(cfg->audit_grants[j].operations);
        free(cfg->audit_grants[j].member_id);
    }
    free(cfg->audit_grants);
    free(cfg->audit_wsdl_path);
    free(cfg->audit_schema_path);
    free(cfg->audit_conninfo);
    free(cfg->audit_password_file);
    free(cfg->path);
    free(cfg->base_dir);
    free(cfg->listen_address);
    free(cfg->tls_address);
    free(cfg->admin_address);
    free(cfg->meta_wsdl_path);
    free(cfg->wss_trusted_ca_path);
    free(cfg->wss_crl_path);
    free(cfg->meta_schema_path);
    free(cfg->tls_cert_path);
    free(cfg->tls_key_path);
    free(cfg->tls_client_ca_path);
    free(cfg->tls_crl_path);
    free(cfg->tls_ciphers);
    free(cfg->adapter_dir);
    free(cfg->signing_key_path);
    free(cfg->signing_cert_path);
    free(cfg->signing_pin_file);
    free(cfg->signing_pkcs11_module);
    free(cfg->db_conninfo);
    free(cfg->db_password_file);
    free(cfg->spool_dir);
    free(cfg->checkpoint_node_id);
    free(cfg->checkpoint_timestamp_url);
    free(cfg->checkpoint_timestamp_ca);
    free(cfg);
}

const gw_service_config *gw_config_find_service(const gw_config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->service_count; i++)
        if (strcmp(cfg->services[i].name, name) == 0)
            return &cfg->services[i];
    return NULL;
}

const gw_member *gw_config_find_member(const gw_config *cfg, const char *id)
{
    if (!cfg || !id)
        return NULL;
    for (size_t i = 0; i < cfg->member_count; i++)
        if (strcmp(cfg->members[i].id, id) == 0)
            return &cfg->members[i];
    return NULL;
}

const char *gw_member_institution_code(const gw_member *m)
{
    if (!m)
        return NULL;
    return m->institution_code ? m->institution_code : m->id;
}

const char *gw_service_param(const gw_service_config *svc, const char *name)
{
    if (!svc || !name)
        return NULL;
    for (size_t i = 0; i < svc->param_count; i++)
        if (strcmp(svc->params[i].name, name) == 0)
            return svc->params[i].value;
    return NULL;
}
