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
} gw_service;

typedef struct gw_service_catalog {
    gw_service *services;
    size_t count;
    /* the built-in "meta" service, when configured: its catalog-owned configuration */
    gw_service_config meta_config;
    gw_service_binding meta_binding;
    pide_service_config meta_pide_config;
} gw_service_catalog;

/* Loads WSDL and XSD of every service in cfg and binds each to its adapter; adds the built-in
 * metaservices (granted to every member) when cfg configures them. */
gw_status gw_service_catalog_open(const gw_config *cfg, const gw_adapter_registry *adapters,
                                  gw_service_catalog *out, char *err, size_t errlen);
void gw_service_catalog_close(gw_service_catalog *cat);
const gw_service *gw_service_catalog_find(const gw_service_catalog *cat, const char *name);
/* The service whose XSD file is called `file_name` (the WSDLs import ../schemas/<file>), or
 * NULL. */
const gw_service *gw_service_catalog_find_schema(const gw_service_catalog *cat,
                                                 const char *file_name);

#endif
