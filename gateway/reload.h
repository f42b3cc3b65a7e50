/*
 * reload.h — reloading the configuration without downtime (SIGHUP, POST /reload on the admin
 * listener).
 *
 * The runtime derived from the configuration file is an immutable, reference-counted snapshot
 * (gw_runtime, runtime.h). gw_live holds the current one: each exchange takes a reference when it
 * starts and drops it when its answer is written, each mutual-TLS connection holds the snapshot
 * whose SSL_CTX it was accepted with, and the dispatcher holds the one whose limits it applies.
 * A reload builds a complete new snapshot off to the side (the file parsed and validated as by
 * --check-config, certificates, keys, CRLs, trust store, adapter instances) and only if all of it
 * succeeded swaps the pointer; the old snapshot is freed when its last reference goes. A bad
 * file changes nothing and the reason (file:line) is reported.
 *
 * Settings that only a restart can change (listen addresses and ports, workers, database,
 * checkpoints, signing key, operational log format, adapter directory...) keep their running
 * value in the new snapshot; each one that differs is reported ("needs a restart").
 */
#ifndef PIDE_GW_RELOAD_H
#define PIDE_GW_RELOAD_H

#include <stddef.h>

#include "runtime.h"
#include "status.h"

struct gw_config;

/* ---- the current snapshot ---- */

typedef struct gw_live gw_live;

/* Holds `first` as the current snapshot. owns_first: when it is replaced (or the live freed) and
 * its last reference goes, its configuration-derived parts are released
 * (gw_runtime_release_parts); the process-wide ones stay for gw_runtime_close. */
gw_status gw_live_new(gw_runtime *first, int owns_first, gw_live **out);
/* Releases the current snapshot; every other reference must have been dropped. */
void gw_live_free(gw_live *live);
/* A reference to the current snapshot (never NULL); drop it with gw_live_release. */
const gw_runtime *gw_live_acquire(gw_live *live);
void gw_live_release(gw_live *live, const gw_runtime *rt);
/* The current snapshot's generation: a cheap check whether a held snapshot is still current. */
unsigned long gw_live_generation(gw_live *live);
/* Makes next (gw_runtime_derive) the current snapshot, numbered one past the current one; the
 * previous one goes with its last reference. */
void gw_live_swap(gw_live *live, gw_runtime *next);

/* ---- settings only a restart changes ---- */

/* Compares next with the running configuration: each restart-only setting that differs gets the
 * running value back in next and is named in report (a ", "-separated list, truncated to
 * reportlen). Returns how many, or -1 out of memory. */
int gw_config_keep_restart_only(struct gw_config *next, const struct gw_config *running,
                                char *report, size_t reportlen);

/* ---- the reload ---- */

typedef struct gw_reloader gw_reloader;

typedef struct gw_reload_result {
    int ok;                           /* 1: the new configuration is in force */
    int http_status;                  /* 200; 409 another reload under way; 422 refused */
    unsigned long generation;         /* the snapshot in force afterwards */
    size_t members, services, grants; /* in force afterwards */
    size_t old_members, old_services, old_grants;
    int restart_needed; /* settings that kept their running value */
    char restart_settings[512];
    char message[1024]; /* the reason of a refusal: "file:line: ..." */
} gw_reload_result;

/* notify: told "RELOADING=1" before and "READY=1" after each reload (sd_notify), may be NULL. */
gw_status gw_reloader_new(gw_live *live, const gw_runtime *base, const char *config_path,
                          const char *schema_dir, void (*notify)(const char *state),
                          gw_reloader **out);
void gw_reloader_free(gw_reloader *r);
/* Reloads: the file is read again and a new snapshot built; installed only when all of it
 * succeeded. One at a time: with wait, after the one under way (SIGHUP); without, a second one
 * while one runs is refused (409, POST /reload). Logs one line, counts it in the metrics
 * (pide_config_reloads_total). */
void gw_reload(gw_reloader *r, int wait, gw_reload_result *res);
/* The result as a JSON object (POST /reload's answer) into out. */
void gw_reload_result_json(const gw_reload_result *res, char *out, size_t outlen);

#endif
