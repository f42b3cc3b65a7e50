/*
 * admin.h — the admin listener: GET /metrics (Prometheus text format), GET /healthz, GET
 * /readyz, GET|POST /admin/maintenance, POST /reload (reload.h), on its own port (<admin>, loopback unless
 * allowNonLoopback). One thread with its own epoll serves it, and one more probes the database,
 * so a saturated worker pool or a hung database never delays an answer. Requests are read whole
 * with strict limits (head 8 KiB, body 1 KiB, 5 s, 32 connections) and every connection is
 * closed after its answer. See docs/operations.md.
 */
#ifndef PIDE_GW_ADMIN_H
#define PIDE_GW_ADMIN_H

#include "runtime.h"
#include "status.h"

typedef struct gw_admin gw_admin;
struct gw_live;
struct gw_reloader;

/* Binds <admin address port> (port 0: any free port) and starts the threads. rt: the runtime
 * opened at start (its restart-only settings, the exchange log); live: the current configuration
 * snapshot, whose services, certificates and breakers /readyz and /metrics report (NULL: rt's);
 * reloader: what POST /reload runs (NULL: no /reload). */
gw_status gw_admin_start(const gw_runtime *rt, struct gw_live *live, struct gw_reloader *reloader,
                         gw_admin **out, char *err, size_t errlen);
int gw_admin_port(const gw_admin *a);
/* Maintenance: /readyz answers 503 "maintenance" while on. */
void gw_admin_set_maintenance(gw_admin *a, int on);
/* The process is stopping (SIGTERM): /readyz answers 503 "stopping" from now on. */
void gw_admin_set_stopping(gw_admin *a);
/* 1 when ready; otherwise 0 and the reason in why. */
int gw_admin_readiness(gw_admin *a, char *why, size_t whylen);
void gw_admin_stop(gw_admin *a);

#endif
