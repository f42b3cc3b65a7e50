/* adapter_loader.c — opens adapter plugins, checks them against the ABI and binds services to
 * adapter instances (see adapter_loader.h and docs/adapter-abi.md). */
#include "adapter_loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"

/* The libxml2 major version this gateway is built against: an adapter's must be the same. */
#define HOST_LIBXML2_MAJOR ((uint32_t)(LIBXML_VERSION / 10000))
/* More declared parameters than this means a list without its terminating entry. */
#define MAX_DECLARED_PARAMS 256

struct gw_adapter_module {
    void *dl;
    char *path;
    const pide_adapter *adapter;
};

/* One configured service. `binding` is what callers see; the rest is the registry's own. */
typedef struct registry_entry {
    gw_service_binding binding;
    pide_service_config service_config;
    const gw_service_config *source;   /* for error messages while opening */
    int initialized;                   /* init() succeeded: fini() is owed */
} registry_entry;

/* A loaded plugin and the configured adapter name it was loaded for. */
typedef struct registry_module {
    const char *config_name;
    gw_adapter_module *module;
} registry_module;

struct gw_adapter_registry {
    gw_arena memory;           /* entries, service configs and their strings */
    registry_entry *entries;   /* configuration order */
    size_t entry_count;
    registry_entry **by_name;  /* sorted by service name, for gw_adapter_registry_find() */
    registry_module *modules;
    size_t module_count;
};

/* ---- one plugin ---------------------------------------------------------------------------- */

const char *gw_pide_param_type_name(pide_param_type type)
{
    switch (type) {
    case PIDE_PARAM_STRING: return "string";
    case PIDE_PARAM_INT: return "int";
    case PIDE_PARAM_BOOL: return "bool";
    case PIDE_PARAM_URL: return "url";
    }
    return "unknown";
}

static int type_is_known(pide_param_type type)
{
    return type == PIDE_PARAM_STRING || type == PIDE_PARAM_INT || type == PIDE_PARAM_BOOL ||
           type == PIDE_PARAM_URL;
}

int gw_pide_param_value_is(pide_param_type type, const char *value)
{
    if (!value)
        return 0;
    switch (type) {
    case PIDE_PARAM_STRING:
        return 1;
    case PIDE_PARAM_INT: {
        const char *p = value[0] == '-' ? value + 1 : value;
        if (!*p || strspn(p, "0123456789") != strlen(p))
            return 0;
        errno = 0;
        long v = strtol(value, NULL, 10);
        return errno == 0 && v >= INT_MIN && v <= INT_MAX;
    }
    case PIDE_PARAM_BOOL:
        return strcmp(value, "true") == 0 || strcmp(value, "false") == 0 ||
               strcmp(value, "1") == 0 || strcmp(value, "0") == 0;
    case PIDE_PARAM_URL: {
        const char *host;
        if (strncmp(value, "http://", 7) == 0)
            host = value + 7;
        else if (strncmp(value, "https://", 8) == 0)
            host = value + 8;
        else
            return 0;
        if (!*host || *host == '/')
            return 0;
        for (const unsigned char *c = (const unsigned char *)value; *c; c++)
            if (*c <= 0x20 || *c == 0x7f)
                return 0;
        return 1;
    }
    }
    return 0;
}

/* The adapter's parameter list: named, unique, of a known type, and a default only where it
 * means something (not beside "required") and of the declared type. */
static gw_status check_param_declarations(const char *path, const pide_param_decl *params,
                                          char *err, size_t errlen)
{
    for (size_t i = 0; params && params[i].name; i++) {
        const pide_param_decl *p = &params[i];
        if (i >= MAX_DECLARED_PARAMS) {
            gw_set_error(err, errlen, "%s: more than %d parameters declared (is the list "
                         "ended by an entry whose name is NULL?)", path, MAX_DECLARED_PARAMS);
            return GW_ERR_ABI;
        }
        if (!p->name[0]) {
            gw_set_error(err, errlen, "%s: parameter %zu is declared with an empty name", path,
                         i + 1);
            return GW_ERR_ABI;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(params[j].name, p->name) == 0) {
                gw_set_error(err, errlen, "%s: parameter '%s' is declared twice", path, p->name);
                return GW_ERR_ABI;
            }
        }
        if (!type_is_known(p->type)) {
            gw_set_error(err, errlen, "%s: parameter '%s' is declared with unknown type %d",
                         path, p->name, (int)p->type);
            return GW_ERR_ABI;
        }
        if (p->required && p->default_value) {
            gw_set_error(err, errlen, "%s: parameter '%s' is declared required and with a "
                         "default", path, p->name);
            return GW_ERR_ABI;
        }
        if (p->default_value && !gw_pide_param_value_is(p->type, p->default_value)) {
            gw_set_error(err, errlen, "%s: parameter '%s' has default '%.64s', not of type %s",
                         path, p->name, p->default_value, gw_pide_param_type_name(p->type));
            return GW_ERR_ABI;
        }
    }
    return GW_OK;
}

static const pide_param_decl *find_declaration(const pide_adapter *adapter, const char *name)
{
    for (const pide_param_decl *p = adapter->params; p && p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

/* "prefix, fini_log" or "none": what an adapter accepts, for an error message. */
static void list_declarations(const pide_adapter *adapter, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const pide_param_decl *p = adapter->params; p && p->name && used < len; p++) {
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", p->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (!buf[0])
        snprintf(buf, len, "none");
}

gw_status gw_adapter_resolve_params(const pide_adapter *adapter, const gw_param *given,
                                    size_t given_count, gw_arena *memory, gw_param **out,
                                    size_t *out_count, char *err, size_t errlen)
{
    *out = NULL;
    *out_count = 0;
    size_t declared = 0;
    for (const pide_param_decl *p = adapter->params; p && p->name; p++)
        declared++;
    for (size_t i = 0; i < given_count; i++) {
        const char *name = given[i].name ? given[i].name : "";
        const char *value = given[i].value ? given[i].value : "";
        const pide_param_decl *d = find_declaration(adapter, name);
        if (!d) {
            char accepted[512];
            list_declarations(adapter, accepted, sizeof accepted);
            gw_set_error(err, errlen, "parameter '%.64s' is not declared by adapter '%s' "
                         "(it accepts: %s)", name, adapter->name, accepted);
            return GW_ERR_CONFIG;
        }
        for (size_t j = 0; j < i; j++) {
            if (given[j].name && strcmp(given[j].name, name) == 0) {
                gw_set_error(err, errlen, "parameter '%s' of adapter '%s' is given twice", name,
                             adapter->name);
                return GW_ERR_CONFIG;
            }
        }
        if (!gw_pide_param_value_is(d->type, value)) {
            gw_set_error(err, errlen, "parameter '%s' of adapter '%s' must be of type %s, "
                         "not '%.64s'", name, adapter->name, gw_pide_param_type_name(d->type),
                         value);
            return GW_ERR_CONFIG;
        }
    }
    gw_param *list = gw_arena_calloc(memory, given_count + declared + 1, sizeof(*list));
    if (!list)
        goto nomem;
    size_t n = 0;
    for (size_t i = 0; i < given_count; i++, n++) {
        list[n].name = gw_arena_strdup(memory, given[i].name ? given[i].name : "");
        list[n].value = gw_arena_strdup(memory, given[i].value ? given[i].value : "");
        if (!list[n].name || !list[n].value)
            goto nomem;
    }
    for (const pide_param_decl *d = adapter->params; d && d->name; d++) {
        int is_given = 0;
        for (size_t i = 0; i < given_count && !is_given; i++)
            is_given = given[i].name && strcmp(given[i].name, d->name) == 0;
        if (is_given)
            continue;
        if (d->required) {
            gw_set_error(err, errlen, "required parameter '%s' (%s) of adapter '%s' is missing",
                         d->name, gw_pide_param_type_name(d->type), adapter->name);
            return GW_ERR_CONFIG;
        }
        if (!d->default_value)
            continue;
        list[n].name = gw_arena_strdup(memory, d->name);
        list[n].value = gw_arena_strdup(memory, d->default_value);
        if (!list[n].name || !list[n].value)
            goto nomem;
        n++;
    }
    *out = list;
    *out_count = n;
    return GW_OK;
nomem:
    gw_set_error(err, errlen, "out of memory while checking parameters");
    return GW_ERR_NOMEM;
}

/* Each check in the order the loader applies them; the first failure is the one reported, so
 * that a plugin built against another ABI is refused before any other member is read. */
static gw_status check_descriptor(const char *path, const pide_adapter *d, char *err,
                                  size_t errlen)
{
    if (!d) {
        gw_set_error(err, errlen, "%s: entry point returned NULL", path);
        return GW_ERR_ABI;
    }
    if (d->abi_version != PIDE_ADAPTER_ABI_VERSION) {
        gw_set_error(err, errlen, "%s: ABI version %u, this gateway speaks %u", path,
                  (unsigned)d->abi_version, (unsigned)PIDE_ADAPTER_ABI_VERSION);
        return GW_ERR_ABI;
    }
    /* Larger is fine: a later minor revision appended members we do not read. */
    if (d->struct_size < sizeof(pide_adapter)) {
        gw_set_error(err, errlen, "%s: descriptor size %u smaller than the %zu bytes of ABI %u",
                  path, (unsigned)d->struct_size, sizeof(pide_adapter),
                  (unsigned)PIDE_ADAPTER_ABI_VERSION);
        return GW_ERR_ABI;
    }
    /* The ABI hands libxml2 trees both ways: both sides must lay them out alike. */
    if (d->libxml2_major != HOST_LIBXML2_MAJOR) {
        gw_set_error(err, errlen, "%s: built against libxml2 major version %u, this gateway "
                     "uses libxml2 major version %u", path, (unsigned)d->libxml2_major,
                     (unsigned)HOST_LIBXML2_MAJOR);
        return GW_ERR_ABI;
    }
    if (!d->name || !d->name[0]) {
        gw_set_error(err, errlen, "%s: no name", path);
        return GW_ERR_ABI;
    }
    if (!d->operations || !d->operations[0]) {
        gw_set_error(err, errlen, "%s: no operations", path);
        return GW_ERR_ABI;
    }
    if (!d->handle) {
        gw_set_error(err, errlen, "%s: handle() is NULL", path);
        return GW_ERR_ABI;
    }
    if (!d->init) {
        gw_set_error(err, errlen, "%s: init() is NULL", path);
        return GW_ERR_ABI;
    }
    return check_param_declarations(path, d->params, err, errlen);
}

gw_status gw_adapter_load(const char *path, gw_adapter_module **out, char *err, size_t errlen)
{
    gw_status st = GW_OK;
    gw_adapter_module *m = NULL;

    if (!path || !out) {
        gw_set_error(err, errlen, "gw_adapter_load: path and out are required");
        return GW_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (!strchr(path, '/')) {
        gw_set_error(err, errlen,
                  "%s: not a path (a bare name would be searched for in the system's library "
                  "path; write ./%s)", path, path);
        return GW_ERR_INVALID_ARG;
    }

    m = calloc(1, sizeof(*m));
    if (!m || !(m->path = strdup(path))) {
        gw_set_error(err, errlen, "%s: out of memory", path);
        st = GW_ERR_NOMEM;
        goto fail;
    }

    /* RTLD_NOW: an unresolved symbol is found now, not in the middle of an exchange.
     * RTLD_LOCAL: two adapters may use the same internal symbol names. */
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        const char *why = dlerror();
        gw_set_error(err, errlen, "%s: dlopen failed: %s", path, why ? why : "unknown error");
        st = GW_ERR_ABI;
        goto fail;
    }

    dlerror();
    void *sym = dlsym(m->dl, PIDE_ADAPTER_ENTRY_SYMBOL);
    if (!sym) {
        gw_set_error(err, errlen, "%s: missing symbol %s", path, PIDE_ADAPTER_ENTRY_SYMBOL);
        st = GW_ERR_ABI;
        goto fail;
    }
    pide_adapter_entry_fn entry = (pide_adapter_entry_fn)sym;
    m->adapter = entry();

    st = check_descriptor(path, m->adapter, err, errlen);
    if (st != GW_OK)
        goto fail;

    *out = m;
    return GW_OK;

fail:
    gw_adapter_unload(m);
    return st;
}

void gw_adapter_unload(gw_adapter_module *module)
{
    if (!module)
        return;
    if (module->dl)
        dlclose(module->dl);
    free(module->path);
    free(module);
}

const pide_adapter *gw_adapter_module_descriptor(const gw_adapter_module *module)
{
    return module->adapter;
}

const char *gw_adapter_module_path(const gw_adapter_module *module)
{
    return module->path;
}

/* ---- the registry -------------------------------------------------------------------------- */

/* The adapter name becomes part of a file name: refuse anything that could leave adapter_dir. */
static int adapter_name_is_safe(const char *name)
{
    if (!name || !name[0])
        return 0;
    for (const char *p = name; *p; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                 (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* "conf/gateway.xml:12: service 'X'" — where an error message starts. */
static void locate_service(char *buf, size_t len, const gw_config *cfg,
                           const gw_service_config *svc)
{
    const char *name = svc->name ? svc->name : "(unnamed)";
    if (cfg->path)
        snprintf(buf, len, "%s:%d: service '%s'", cfg->path, svc->line, name);
    else
        snprintf(buf, len, "service '%s'", name);
}

/* Everything but the parameters, which wait for the adapter's declaration (set_params). */
static gw_status copy_service_config(gw_arena *memory, const gw_service_config *src,
                                     pide_service_config *dst)
{
    memset(dst, 0, sizeof(*dst));
    dst->service_name = gw_arena_strdup(memory, src->name);
    if (!dst->service_name)
        return GW_ERR_NOMEM;
    if (src->endpoint_url && !(dst->endpoint_url = gw_arena_strdup(memory, src->endpoint_url)))
        return GW_ERR_NOMEM;
    dst->timeout_ms = src->timeout_ms;
    return GW_OK;
}

/* The service's <param> elements checked against the adapter's declaration, defaults added,
 * as init() and config_param() see them. */
static gw_status set_params(gw_arena *memory, const pide_adapter *adapter,
                            const gw_service_config *src, pide_service_config *dst, char *err,
                            size_t errlen)
{
    gw_param *list = NULL;
    size_t n = 0;
    gw_status st = gw_adapter_resolve_params(adapter, src->params, src->param_count, memory,
                                             &list, &n, err, errlen);
    if (st != GW_OK)
        return st;
    dst->param_count = n;
    if (n == 0)
        return GW_OK;
    const char **names = gw_arena_calloc(memory, n, sizeof(*names));
    const char **values = gw_arena_calloc(memory, n, sizeof(*values));
    if (!names || !values) {
        gw_set_error(err, errlen, "out of memory while checking parameters");
        return GW_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        names[i] = list[i].name;
        values[i] = list[i].value;
    }
    dst->param_names = names;
    dst->param_values = values;
    return GW_OK;
}

gw_status gw_adapter_service_config(gw_arena *memory, const pide_adapter *adapter,
                                    const gw_service_config *src, pide_service_config *dst,
                                    char *err, size_t errlen)
{
    if (copy_service_config(memory, src, dst) != GW_OK) {
        gw_set_error(err, errlen, "out of memory while copying the service configuration");
        return GW_ERR_NOMEM;
    }
    return set_params(memory, adapter, src, dst, err, errlen);
}

static int compare_entry_names(const void *a, const void *b)
{
    const registry_entry *ea = *(registry_entry *const *)a;
    const registry_entry *eb = *(registry_entry *const *)b;
    return strcmp(ea->service_config.service_name, eb->service_config.service_name);
}

/* Sorts the name index and refuses a name given twice: gw_config_load refuses it too, but a
 * duplicate here would silently hide one service behind the other. */
static gw_status index_services(gw_adapter_registry *reg, const gw_config *cfg, char *err,
                                size_t errlen)
{
    for (size_t i = 0; i < reg->entry_count; i++)
        reg->by_name[i] = &reg->entries[i];
    qsort(reg->by_name, reg->entry_count, sizeof(*reg->by_name), compare_entry_names);
    for (size_t i = 1; i < reg->entry_count; i++) {
        if (compare_entry_names(&reg->by_name[i - 1], &reg->by_name[i]) != 0)
            continue;
        const gw_service_config *a = reg->by_name[i - 1]->source;
        const gw_service_config *b = reg->by_name[i]->source;
        const gw_service_config *later = a->line > b->line ? a : b;
        const gw_service_config *earlier = later == a ? b : a;
        char where[512];
        locate_service(where, sizeof(where), cfg, later);
        gw_set_error(err, errlen, "%s: duplicate service name (first declared at line %d)", where,
                  earlier->line);
        return GW_ERR_CONFIG;
    }
    return GW_OK;
}

/* The plugin for `svc`, loading it on first use. */
static gw_status module_for_service(gw_adapter_registry *reg, const gw_config *cfg,
                                    const gw_service_config *svc, gw_adapter_module **out,
                                    char *err, size_t errlen)
{
    gw_status st = GW_OK;
    char where[512];
    char why[1024];
    char *path = NULL;
    gw_adapter_module *module = NULL;

    for (size_t i = 0; i < reg->module_count; i++) {
        if (strcmp(reg->modules[i].config_name, svc->adapter) == 0) {
            *out = reg->modules[i].module;
            return GW_OK;
        }
    }

    locate_service(where, sizeof(where), cfg, svc);
    if (asprintf(&path, "%s/pide_adapter_%s.so", cfg->adapter_dir, svc->adapter) < 0) {
        path = NULL;
        gw_set_error(err, errlen, "%s: out of memory", where);
        st = GW_ERR_NOMEM;
        goto fail;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
        gw_set_error(err, errlen, "%s: adapter '%s' has no file %s (%s)", where, svc->adapter, path,
                  strerror(errno));
        st = GW_ERR_CONFIG;
        goto fail;
    }
    st = gw_adapter_load(path, &module, why, sizeof(why));
    if (st != GW_OK) {
        gw_set_error(err, errlen, "%s: %s", where, why);
        goto fail;
    }
    const char *declared = module->adapter->name;
    for (size_t i = 0; i < reg->module_count; i++) {
        const gw_adapter_module *other = reg->modules[i].module;
        if (strcmp(other->adapter->name, declared) == 0) {
            gw_set_error(err, errlen, "%s: %s: duplicate adapter name '%s', already declared by %s",
                      where, path, declared, other->path);
            st = GW_ERR_CONFIG;
            goto fail;
        }
    }
    registry_module *slot = &reg->modules[reg->module_count];
    slot->config_name = gw_arena_strdup(&reg->memory, svc->adapter);
    if (!slot->config_name) {
        gw_set_error(err, errlen, "%s: out of memory", where);
        st = GW_ERR_NOMEM;
        goto fail;
    }
    slot->module = module;
    reg->module_count++;
    free(path);
    *out = module;
    return GW_OK;

fail:
    gw_adapter_unload(module);
    free(path);
    return st;
}

/* Loads the service's plugin and resolves its parameters; then calls init() unless `host` is
 * NULL (a configuration check: nothing is started). */
static gw_status bind_service(gw_adapter_registry *reg, const gw_config *cfg,
                              const pide_host_api *host, registry_entry *entry, char *err,
                              size_t errlen)
{
    gw_adapter_module *module = NULL;
    gw_status st = module_for_service(reg, cfg, entry->source, &module, err, errlen);
    if (st != GW_OK)
        return st;

    entry->binding.adapter = module->adapter;
    entry->binding.adapter_path = module->path;
    entry->binding.service_config = &entry->service_config;

    char why[1024];
    st = set_params(&reg->memory, module->adapter, entry->source, &entry->service_config, why,
                    sizeof(why));
    if (st != GW_OK) {
        char where[512];
        locate_service(where, sizeof(where), cfg, entry->source);
        gw_set_error(err, errlen, "%s: %s", where, why);
        return st;
    }
    if (!host)
        return GW_OK;

    void *instance = NULL;
    pide_result r = module->adapter->init(host, &entry->service_config, &instance);
    if (r != PIDE_OK) {
        char where[512];
        locate_service(where, sizeof(where), cfg, entry->source);
        gw_set_error(err, errlen, "%s: %s: init() failed: %s", where, module->path,
                  gw_pide_result_name(r));
        return r == PIDE_ERR_NOMEM ? GW_ERR_NOMEM : GW_ERR_CONFIG;
    }
    entry->binding.instance = instance;
    entry->initialized = 1;
    return GW_OK;
}

/* gw_adapter_registry_open, and with host NULL gw_adapter_registry_check. */
static gw_status registry_open(const gw_config *cfg, const pide_host_api *host,
                               gw_adapter_registry **out, char *err, size_t errlen)
{
    gw_status st = GW_OK;
    gw_adapter_registry *reg = NULL;

    *out = NULL;
    if (cfg->service_count > 0 && (!cfg->adapter_dir || !cfg->adapter_dir[0])) {
        gw_set_error(err, errlen, "%s: no adapter directory configured",
                  cfg->path ? cfg->path : "configuration");
        return GW_ERR_CONFIG;
    }

    reg = calloc(1, sizeof(*reg));
    if (!reg)
        goto nomem;
    gw_arena_init(&reg->memory, 0);
    reg->entry_count = cfg->service_count;
    if (cfg->service_count > 0) {
        reg->entries = gw_arena_calloc(&reg->memory, cfg->service_count, sizeof(*reg->entries));
        reg->by_name = gw_arena_calloc(&reg->memory, cfg->service_count, sizeof(*reg->by_name));
        reg->modules = gw_arena_calloc(&reg->memory, cfg->service_count, sizeof(*reg->modules));
        if (!reg->entries || !reg->by_name || !reg->modules)
            goto nomem;
    }

    for (size_t i = 0; i < cfg->service_count; i++) {
        const gw_service_config *svc = &cfg->services[i];
        registry_entry *entry = &reg->entries[i];
        char where[512];
        entry->source = svc;
        if (!svc->name || !svc->name[0]) {
            locate_service(where, sizeof(where), cfg, svc);
            gw_set_error(err, errlen, "%s: a service has no name", where);
            st = GW_ERR_CONFIG;
            goto fail;
        }
        if (!adapter_name_is_safe(svc->adapter)) {
            locate_service(where, sizeof(where), cfg, svc);
            gw_set_error(err, errlen,
                      "%s: adapter name '%s' must be letters, digits, '_' or '-'", where,
                      svc->adapter ? svc->adapter : "");
            st = GW_ERR_CONFIG;
            goto fail;
        }
        if (copy_service_config(&reg->memory, svc, &entry->service_config) != GW_OK)
            goto nomem;
    }

    st = index_services(reg, cfg, err, errlen);
    if (st != GW_OK)
        goto fail;

    for (size_t i = 0; i < reg->entry_count; i++) {
        st = bind_service(reg, cfg, host, &reg->entries[i], err, errlen);
        if (st != GW_OK)
            goto fail;
    }

    *out = reg;
    return GW_OK;

nomem:
    gw_set_error(err, errlen, "%s: out of memory while loading adapters",
              cfg->path ? cfg->path : "configuration");
    st = GW_ERR_NOMEM;
fail:
    gw_adapter_registry_close(reg);
    return st;
}

gw_status gw_adapter_registry_open(const gw_config *cfg, const pide_host_api *host,
                                   gw_adapter_registry **out, char *err, size_t errlen)
{
    if (!cfg || !host || !out) {
        gw_set_error(err, errlen, "gw_adapter_registry_open: cfg, host and out are required");
        return GW_ERR_INVALID_ARG;
    }
    return registry_open(cfg, host, out, err, errlen);
}

gw_status gw_adapter_registry_check(const gw_config *cfg, size_t *module_count, char *err,
                                    size_t errlen)
{
    gw_adapter_registry *reg = NULL;
    if (!cfg) {
        gw_set_error(err, errlen, "gw_adapter_registry_check: cfg is required");
        return GW_ERR_INVALID_ARG;
    }
    gw_status st = registry_open(cfg, NULL, &reg, err, errlen);
    if (st == GW_OK && module_count)
        *module_count = reg->module_count;
    gw_adapter_registry_close(reg);
    return st;
}

void gw_adapter_registry_close(gw_adapter_registry *reg)
{
    if (!reg)
        return;
    /* Reverse order of init(): a later service may depend on what an earlier one set up. */
    for (size_t i = reg->entry_count; i-- > 0;) {
        registry_entry *entry = &reg->entries[i];
        if (entry->initialized && entry->binding.adapter->fini)
            entry->binding.adapter->fini(entry->binding.instance);
        entry->initialized = 0;
    }
    for (size_t i = reg->module_count; i-- > 0;)
        gw_adapter_unload(reg->modules[i].module);
    gw_arena_destroy(&reg->memory);
    free(reg);
}

static int compare_name_to_entry(const void *key, const void *member)
{
    const registry_entry *entry = *(registry_entry *const *)member;
    return strcmp((const char *)key, entry->service_config.service_name);
}

const gw_service_binding *gw_adapter_registry_find(const gw_adapter_registry *reg,
                                                   const char *service)
{
    if (!reg || !service || reg->entry_count == 0)
        return NULL;
    registry_entry **found = bsearch(service, reg->by_name, reg->entry_count,
                                     sizeof(*reg->by_name), compare_name_to_entry);
    return found ? &(*found)->binding : NULL;
}

size_t gw_adapter_registry_service_count(const gw_adapter_registry *reg)
{
    return reg ? reg->entry_count : 0;
}

size_t gw_adapter_registry_module_count(const gw_adapter_registry *reg)
{
    return reg ? reg->module_count : 0;
}

int gw_binding_has_operation(const gw_service_binding *binding, const char *operation)
{
    if (!binding || !operation)
        return 0;
    for (const char *const *op = binding->adapter->operations; *op; op++) {
        /* "*": the adapter's services choose their operations by configuration (the xslt
         * adapter); the service's schema has validated the element, the adapter refuses the
         * operations it is not configured for. */
        if (strcmp(*op, operation) == 0 || strcmp(*op, "*") == 0)
            return 1;
    }
    return 0;
}

const char *gw_pide_config_param(const pide_service_config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->param_count; i++) {
        if (strcmp(cfg->param_names[i], name) == 0)
            return cfg->param_values[i];
    }
    return NULL;
}

/* ---- results ------------------------------------------------------------------------------- */

const char *gw_pide_result_name(pide_result result)
{
    switch (result) {
    case PIDE_OK: return "PIDE_OK";
    case PIDE_ERR_BAD_REQUEST: return "PIDE_ERR_BAD_REQUEST";
    case PIDE_ERR_PROVIDER_TIMEOUT: return "PIDE_ERR_PROVIDER_TIMEOUT";
    case PIDE_ERR_PROVIDER_UNAVAILABLE: return "PIDE_ERR_PROVIDER_UNAVAILABLE";
    case PIDE_ERR_PROVIDER_BAD_RESPONSE: return "PIDE_ERR_PROVIDER_BAD_RESPONSE";
    case PIDE_ERR_CONFIG: return "PIDE_ERR_CONFIG";
    case PIDE_ERR_NOMEM: return "PIDE_ERR_NOMEM";
    case PIDE_ERR_INTERNAL: return "PIDE_ERR_INTERNAL";
    }
    return "PIDE_ERR_UNKNOWN";
}

gw_status gw_status_from_pide_result(pide_result result)
{
    switch (result) {
    case PIDE_OK: return GW_OK;
    case PIDE_ERR_BAD_REQUEST: return GW_ERR_BAD_REQUEST;
    case PIDE_ERR_PROVIDER_TIMEOUT: return GW_ERR_PROVIDER_TIMEOUT;
    case PIDE_ERR_PROVIDER_UNAVAILABLE: return GW_ERR_PROVIDER_UNAVAILABLE;
    case PIDE_ERR_PROVIDER_BAD_RESPONSE: return GW_ERR_PROVIDER_BAD_RESPONSE;
    case PIDE_ERR_NOMEM: return GW_ERR_NOMEM;
    case PIDE_ERR_CONFIG:   /* a configuration the adapter only notices mid-exchange */
    case PIDE_ERR_INTERNAL:
        return GW_ERR_ADAPTER;
    }
    return GW_ERR_ADAPTER;
}
