/*
 * builtin_services.c — the table of services compiled into the daemon (gw_builtin_services, see
 * service_catalog.h), like nginx's ngx_modules.c or SQLite's built-in extension list: the one
 * place that names them, so that the catalogue does not know any of them. A new built-in service
 * adds one line here.
 */
#include "service_catalog.h"

#include "audit_service.h"
#include "metaservices.h"

const gw_builtin_service *const gw_builtin_services[] = {
    &gw_metaservices_builtin,
    &gw_audit_service_builtin,
    NULL,
};
