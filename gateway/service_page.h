/*
 * service_page.h — the GET /services page: an HTML list of the published services with their
 * description (gw_service.description), operations, adapter version and WSDL link, for a person
 * in a browser. Made once when the server starts (the catalogue is read-only afterwards) and
 * served as it is; everything taken from the WSDLs and the configuration is HTML-escaped.
 */
#ifndef PIDE_GW_SERVICE_PAGE_H
#define PIDE_GW_SERVICE_PAGE_H

#include <stddef.h>

#include "status.h"

struct gw_service_catalog;

/* The GET /services page for `cat` into a new buffer (*page, *len). GW_ERR_NOMEM. */
gw_status gw_service_page_build(const struct gw_service_catalog *cat, char **page, size_t *len);

#endif
