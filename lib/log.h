/*
 * log.h — the operational log (start-up, errors, warnings) on stderr, one line per event.
 * Not the exchange log: exchanges go to PostgreSQL through exchange_log.h. Never pass a secret.
 */
#ifndef PIDE_GW_LOG_H
#define PIDE_GW_LOG_H

#include <stdarg.h>

#include "pide_adapter.h"

void gw_log_set_level(pide_log_level max_level);
void gw_log(pide_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gw_vlog(pide_log_level level, const char *prefix, const char *fmt, va_list ap);

#endif
