/*
 * adapter_loader.h — loads adapter plugins (.so) and binds the configured services to them.
 *
 * Two levels:
 *  - gw_adapter_load() opens one plugin and checks its descriptor against the ABI this gateway
 *    speaks (adapters/include/pide_adapter.h), naming the first check that failed;
 *  - the registry loads every adapter the configuration names (once per adapter), calls init()
 *    once per service and answers "which adapter instance serves service S" for the exchange
 *    path. It is built at start-up, read-only while workers run, closed at shut-down.
 *
 * The rules and messages are documented in docs/adapter-abi.md.
 */
#ifndef PIDE_GW_ADAPTER_LOADER_H
#define PIDE_GW_ADAPTER_LOADER_H

#include <stddef.h>

#include "arena.h"
#include "config.h"
#include "pide_adapter.h"
#include "status.h"

/* One opened and checked plugin. */
typedef struct gw_adapter_module gw_adapter_module;

/* Opens `path` (which must contain a '/': a bare name would be searched for in the system's
 * library path) with RTLD_NOW | RTLD_LOCAL, calls its entry point and checks the descriptor.
 * On failure returns GW_ERR_ABI (GW_ERR_INVALID_ARG, GW_ERR_NOMEM for those) and writes
 * "<path>: <which check failed>" into err. Checks, in order: ABI version, descriptor size,
 * libxml2 major version, name, operations, handle(), init(), parameter declarations. */
gw_status gw_adapter_load(const char *path, gw_adapter_module **out, char *err, size_t errlen);
/* dlclose()s the plugin; NULL is accepted. The descriptor is gone afterwards. */
void gw_adapter_unload(gw_adapter_module *module);
const pide_adapter *gw_adapter_module_descriptor(const gw_adapter_module *module);
const char *gw_adapter_module_path(const gw_adapter_module *module);

/* The adapter instance serving one configured service. */
typedef struct gw_service_binding {
    const pide_adapter *adapter;               /* the plugin's descriptor */
    void *instance;                            /* what its init() stored for this service */
    const pide_service_config *service_config; /* what init() was given; lives with the registry */
    const char *adapter_path;                  /* the file the adapter came from, for logs */
} gw_service_binding;

typedef struct gw_adapter_registry gw_adapter_registry;

/* Loads <cfg->adapter_dir>/pide_adapter_<adapter>.so for every adapter the services name and
 * calls init(host, service config) for each service, in configuration order. On failure
 * everything already initialised is finished and unloaded, *out stays NULL, and err says
 * "<config>:<line>: service '<name>': <reason>". Plugin check failures give GW_ERR_ABI;
 * missing files, bad names, duplicates, parameters the adapter's declaration refuses
 * (gw_adapter_resolve_params) and failed init() give GW_ERR_CONFIG (GW_ERR_NOMEM
 * when init() ran out of memory). `host` must outlive the registry: adapters keep it. */
gw_status gw_adapter_registry_open(const gw_config *cfg, const pide_host_api *host,
                                   gw_adapter_registry **out, char *err, size_t errlen);
/* What `pide-gateway --check-config` runs: every adapter the services name is loaded and
 * checked, and every service's parameters are resolved against its adapter's declaration,
 * exactly as gw_adapter_registry_open does, but no init() is called and everything is unloaded
 * again. Same errors; *module_count (may be NULL) gets the number of distinct plugins. */
gw_status gw_adapter_registry_check(const gw_config *cfg, size_t *module_count, char *err,
                                    size_t errlen);
/* Calls fini() of every instance (when the adapter has one), in reverse order of init(), then
 * unloads the plugins. NULL is accepted. */
void gw_adapter_registry_close(gw_adapter_registry *reg);

/* NULL when no service has that name. Safe to call concurrently. */
const gw_service_binding *gw_adapter_registry_find(const gw_adapter_registry *reg,
                                                   const char *service);
size_t gw_adapter_registry_service_count(const gw_adapter_registry *reg);
/* Distinct plugins loaded (services sharing an adapter share one). */
size_t gw_adapter_registry_module_count(const gw_adapter_registry *reg);

/* 1 when the binding's adapter lists `operation` among its operations, else 0. */
int gw_binding_has_operation(const gw_service_binding *binding, const char *operation);

/* Checks the <param> elements `given` of one service against `adapter`'s declaration
 * (pide_param_decl) and returns in *out (arena memory, *out_count entries) what init() is to
 * see: the given parameters, then the declared defaults of those not given. GW_ERR_CONFIG with
 * err naming the parameter and the adapter (the caller adds the service) when a parameter is
 * not declared, given twice, of the wrong type, or required and missing. */
gw_status gw_adapter_resolve_params(const pide_adapter *adapter, const gw_param *given,
                                    size_t given_count, gw_arena *memory, gw_param **out,
                                    size_t *out_count, char *err, size_t errlen);
/* What init() and config_param() see of one service, built in `memory`: its name, endpoint and
 * timeout, and its <param>s resolved against `adapter`'s declaration
 * (gw_adapter_resolve_params). The registry binds every service with it, and so does the
 * standalone runner of pide-adapter-check. */
gw_status gw_adapter_service_config(gw_arena *memory, const pide_adapter *adapter,
                                    const gw_service_config *src, pide_service_config *dst,
                                    char *err, size_t errlen);
/* 1 when `value` is a valid `type` value (PIDE_PARAM_INT: -?[0-9]+ within int range...). */
int gw_pide_param_value_is(pide_param_type type, const char *value);
/* "string", "int", "bool", "url"; "unknown" outside the enum. */
const char *gw_pide_param_type_name(pide_param_type type);

/* The value of a service's parameter, or NULL: what a host table's config_param() returns. */
const char *gw_pide_config_param(const pide_service_config *cfg, const char *name);

/* "PIDE_ERR_PROVIDER_TIMEOUT"; "PIDE_ERR_UNKNOWN" for a value outside the enum. */
const char *gw_pide_result_name(pide_result result);
/* The gateway status an adapter's result ends an exchange with (and so its Fault code).
 * INTERNAL, CONFIG and values outside the enum become GW_ERR_ADAPTER. */
gw_status gw_status_from_pide_result(pide_result result);

#endif
