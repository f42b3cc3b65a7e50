/*
 * pipeline.h — an exchange from request to log row and response, as a sequence of small stages.
 *
 * The pipeline never sees the connection: the transport (server.c) hands it a request value and
 * takes back a response value (transport.h), and the thread's own resources come through
 * exchange_env.h.
 *
 * Each stage is one file (stageNN_name.c, in order) with one function taking the exchange and
 * returning a gw_status. Request stages stop at the first failure, which becomes a SOAP Fault;
 * the response stages (sign, log, reply) run for every exchange, so a refused request is
 * answered and logged exactly like a served one. A new stage (signature check, rate limit...)
 * is one file and one line in pipeline.c.
 */
#ifndef PIDE_GW_PIPELINE_H
#define PIDE_GW_PIPELINE_H

#include "exchange.h"
#include "transport.h"

typedef gw_status (*gw_stage_fn)(gw_exchange *ex);

gw_status gw_stage_receive(gw_exchange *ex);   /* take the body, hash it */
gw_status gw_stage_parse(gw_exchange *ex);     /* hardened libxml2 parse, SOAP 1.1 envelope */
gw_status gw_stage_header(gw_exchange *ex);    /* the pide-gateway SOAP header */
gw_status gw_stage_route(gw_exchange *ex);     /* URL → service, Body element → operation */
gw_status gw_stage_validate(gw_exchange *ex);  /* XSD validation of the operation element */
gw_status gw_stage_verify(gw_exchange *ex);    /* WS-Security signature, when present/required */
gw_status gw_stage_identify(gw_exchange *ex);  /* who is calling: certificate, signature, password */
gw_status gw_stage_bind(gw_exchange *ex);      /* identity fields agree with who is calling */
gw_status gw_stage_authorize(gw_exchange *ex); /* access rights: deny by default */
gw_status gw_stage_throttle(gw_exchange *ex);  /* rate limit and replay guard, per member */
gw_status gw_stage_invoke(gw_exchange *ex);    /* the adapter talks to the provider */
gw_status gw_stage_sign(gw_exchange *ex);      /* XML-DSig the response, serialise, hash */
gw_status gw_stage_log(gw_exchange *ex);       /* append to the exchange log (wait for commit) */
gw_status gw_stage_reply(gw_exchange *ex);     /* the HTTP response value */

/* gw_stage_bind's work on explicit configuration (stage07b_bind.c; unit-tested on its own). */
struct gw_config;
struct gw_service_config;
gw_status gw_bind_identity(gw_exchange *ex, const struct gw_config *cfg,
                           const struct gw_service_config *sc);

/* Runs every stage for the request ex was begun with (gw_exchange_begin) and fills *resp with the
 * answer to send: always a complete response (a Fault when the exchange failed). resp's
 * pointers stay valid until gw_exchange_end(ex). */
void gw_pipeline_run(gw_exchange *ex, gw_http_response *resp);

/* With ex->log_notify set before gw_pipeline_run, the log stage only hands the row to the log
 * writer (ex->log_pending) and *resp is the answer to send once that row is committed: the
 * caller must wait for log_notify(arg, status) and then call this, which leaves *resp as it is
 * (GW_OK) or replaces it with the Server.LogUnavailable Fault, built by the same code as when
 * the log stage waits itself. No answer may be sent before. */
void gw_pipeline_log_settled(gw_exchange *ex, gw_status log_status, gw_http_response *resp);
/* The log refused the exchange's row: its answer becomes a Server.LogUnavailable Fault
 * (stage12_log.c). Returns st. */
gw_status gw_log_refused(gw_exchange *ex, gw_status st);

/* Runs the named stages of the table, in the table's order, stopping at the first failure
 * (recorded in ex->status): how a tool exercises the very stages the daemon runs on an exchange
 * it prepared itself (standalone_exchange.c). Returns the first failure, or GW_OK. */
gw_status gw_pipeline_run_stages(gw_exchange *ex, const char *const *names, size_t count);

#endif
