/* adapter_loader.c — opens adapter plugins, checks them against the ABI and binds services to
 * adapter instances (see adapter_loader.h and docs/adapter-abi.md). */
#include "adapter_loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"

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
    return GW_OK;
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
    dst->param_count = src->param_count;
    if (src->param_count == 0)
        return GW_OK;
    const char **names = gw_arena_calloc(memory, src->param_count, sizeof(*names));
    const char **values = gw_arena_calloc(memory, src->param_count, sizeof(*values));
    if (!names || !values)
        return GW_ERR_NOMEM;
    for (size_t i = 0; i < src->param_count; i++) {
        names[i] = gw_arena_strdup(memory, src->params[i].name ? src->params[i].name : "");
        values[i] = gw_arena_strdup(memory, src->params[i].value ? src->params[i].value : "");
        if (!names[i] || !values[i])
            return GW_ERR_NOMEM;
    }
    dst->param_names = names;
    dst->param_values = values;
    return GW_OK;
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

gw_status gw_adapter_registry_open(const gw_config *cfg, const pide_host_api *host,
                                   gw_adapter_registry **out, char *err, size_t errlen)
{
    gw_status st = GW_OK;
    gw_adapter_registry *reg = NULL;

    if (!cfg || !host || !out) {
        gw_set_error(err, errlen, "gw_adapter_registry_open: cfg, host and out are required");
        return GW_ERR_INVALID_ARG;
    }
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
        if (strcmp(*op, operation) == 0)
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
