/*
 * log.h — the operational log (start-up, errors, warnings) on stderr, one line per event.
 * Not the exchange log: exchanges go to PostgreSQL through exchange_log.h. Never pass a secret,
 * a message body or personal data.
 *
 * Two formats: text lines ("2026-11-24T06:40:00Z pide-gateway WARN message"), or JSON lines
 * (gw_log_set_json): one object per event, {"time","level","event","message"} plus
 * "exchange_id" when the event concerns one exchange (a message or prefix beginning with
 * "[<uuid>]", or gw_log_event's argument), and "trace_id" when this thread bound that exchange to
 * a trace (gw_log_bind_trace). libxml2's and OpenSSL's own error reports come
 * here too (gw_log_route_library_errors, gw_log_openssl_errors), never raw to stderr.
 */
#ifndef PIDE_GW_LOG_H
#define PIDE_GW_LOG_H

#include <stdarg.h>

#include "pide_adapter.h"

void gw_log_set_level(pide_log_level max_level);
void gw_log_set_json(int json);
void gw_log(pide_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gw_vlog(pide_log_level level, const char *prefix, const char *fmt, va_list ap);
/* An event with a name ("startup", "tls", ...) and, when known, its exchange id. */
void gw_log_event(pide_log_level level, const char *event, const char *exchange_id,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Binds this thread's current exchange to its W3C trace id (trace_context.h): JSON lines of
 * that exchange id written by this thread carry "trace_id" too. A line of another exchange
 * never gets it, so a binding left from an earlier exchange is harmless. NULL clears. */
void gw_log_bind_trace(const char *exchange_id, const char *trace_id);
/* libxml2's generic error handler (this thread and every thread created after) reports through
 * this log, event "xml": each report's header line with quoted values removed, never the
 * document text it quotes (it may be personal data). Call before starting threads. */
void gw_log_route_library_errors(void);
/* Drains this thread's OpenSSL error queue into the log, event "openssl", one line per entry,
 * each prefixed with `context`. */
void gw_log_openssl_errors(pide_log_level level, const char *context);
/* The text of a JSON-lines record, for tests: writes the line (without newline) into out. */
void gw_log_format_json(char *out, size_t outlen, pide_log_level level, const char *event,
                        const char *exchange_id, const char *message);
/* Replaces quoted values ('...') in a library message with '…', keeping the quoted names that
 * follow "Element ", "element ", "attribute " or "facet " (schema names, not data). */
void gw_log_scrub_quoted(char *message);

#endif
