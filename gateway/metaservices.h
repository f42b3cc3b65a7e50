/*
 * metaservices.h — the gateway's own service "meta" (listServices, listMethods, allowedMethods,
 * getWsdl), after X-Road's metaservices. It is a built-in adapter: a pide_adapter compiled into
 * the daemon, so metaservice calls go through the same pipeline as any other (validated,
 * identified, signed and logged); it answers from the loaded service catalog.
 */
#ifndef PIDE_GW_METASERVICES_H
#define PIDE_GW_METASERVICES_H

#include "namespaces.h"
#include "pide_adapter.h"
#include "service_catalog.h"

#define GW_META_SERVICE_NAME "meta"

/* The built-in adapter's descriptor. Its instance is the gw_service_catalog it describes. */
const pide_adapter *gw_metaservices_adapter(void);

/* Its entry in gw_builtin_services: exposed when <metaservices> names a WSDL, granted to every
 * member. */
extern const gw_builtin_service gw_metaservices_builtin;

#endif
