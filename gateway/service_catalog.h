/*
 * service_catalog.h — the services the gateway exposes, ready to serve: for each configured
 * service its WSDL bytes (served on ?wsdl), its compiled XSD (shared read-only by all workers),
 * the XSD's target namespace (the operation element must be in it) and its adapter binding.
 */
#ifndef PIDE_GW_SERVICE_CATALOG_H
#define PIDE_GW_SERVICE_CATALOG_H

#include <stddef.h>

#include <libxml/xmlschemas.h>

#include "adapter_loader.h"
#include "config.h"
#include "status.h"

#define GW_HEADER_SCHEMA_FILE "pide-gateway-header.xsd"

typedef struct gw_service {
    size_t index;                        /* position in the catalog, for per-worker caches */
    const gw_service_config *config;
    char *wsdl;                          /* file contents */
    size_t wsdl_len;
    xmlSchemaPtr schema;
    char *schema_text;                   /* the XSD file, served at /schemas/<its file name> */
    size_t schema_len;
    const char *schema_file_name;        /* its last path component, inside config->schema_path */
    char *target_namespace;
    const gw_service_binding *binding;
    char *description;                   /* the WSDL's first documentation, or NULL */
    struct gw_body_crypt *body_crypt;    /* <encryptAtRest> recipients (body_crypt.h), or NULL */
} gw_service;

/* A service compiled into the daemon, registered from a table as nginx and SQLite register their
 * static modules: the catalogue knows the table (gw_builtin_services, builtin_services.c), never
 * the services in it. Each entry names its reserved service name, its adapter, and how the
 * configuration exposes it. */
typedef struct gw_builtin_service {
    const char *name;              /* the service name; a configured <service> may not take it */
    const char *what;              /* for messages: "the metaservices" */
    const pide_adapter *(*adapter)(void);
    /* The WSDL and XSD files from `cfg`; *wsdl_path NULL means not configured (not exposed). */
    void (*paths)(const gw_config *cfg, const char **wsdl_path, const char **schema_path);
    int granted_to_all;            /* 1: every member may call every operation */
    /* Otherwise the grants cfg gives it (NULL: none, every call is Client.AccessDenied). */
    void (*grants)(const gw_config *cfg, const gw_grant **grants, size_t *count);
} gw_builtin_service;

/* NULL-terminated; defined in builtin_services.c. */
extern const gw_builtin_service *const gw_builtin_services[];

/* The catalog-owned configuration of one exposed built-in service. The adapter's instance is the
 * catalogue itself (a built-in answers from what is loaded). */
typedef struct gw_builtin_slot {
    gw_service_config config;
    gw_service_binding binding;
    pide_service_config pide_config;
} gw_builtin_slot;

typedef struct gw_service_catalog {
    gw_service *services;
    size_t count;
    gw_builtin_slot *builtins;           /* one per exposed built-in service */
    size_t builtin_count;
    /* pide-gateway-header.xsd, found next to the services' schemas: every WSDL imports it for
     * its declared soap:header parts (docs/soap-versions.md). NULL when not there. */
    char *header_schema;
    size_t header_schema_len;
} gw_service_catalog;

/* Loads WSDL and XSD of every service in cfg and binds each to its adapter; adds each built-in
 * service of gw_builtin_services that cfg configures. */
gw_status gw_service_catalog_open(const gw_config *cfg, const gw_adapter_registry *adapters,
                                  gw_service_catalog *out, char *err, size_t errlen);
/* The text of the first <wsdl:documentation> element of `wsdl` (an operation's or the
 * definitions'), white space folded, at most 400 bytes (cut at a character boundary); NULL when
 * there is none or the WSDL does not parse. The caller frees it. Filled in for every service as
 * gw_service.description when the catalogue opens. */
char *gw_wsdl_description(const char *wsdl, size_t len);

void gw_service_catalog_close(gw_service_catalog *cat);
const gw_service *gw_service_catalog_find(const gw_service_catalog *cat, const char *name);
/* The text of the XSD served as /schemas/<file_name>: a service's schema or the header schema;
 * NULL when it is neither. */
const char *gw_service_catalog_schema_text(const gw_service_catalog *cat, const char *file_name,
                                           size_t *len);
/* The service whose XSD file is called `file_name` (the WSDLs import ../schemas/<file>), or
 * NULL. */
const gw_service *gw_service_catalog_find_schema(const gw_service_catalog *cat,
                                                 const char *file_name);

#endif
