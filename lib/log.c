/* log.c — operational log lines on stderr: "2026-11-24T06:40:00Z pide-gateway WARN message". */
#include "log.h"

#include <stdio.h>
#include <time.h>

static pide_log_level log_max_level = PIDE_LOG_INFO;

void gw_log_set_level(pide_log_level max_level) { log_max_level = max_level; }

void gw_vlog(pide_log_level level, const char *prefix, const char *fmt, va_list ap)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    if (level > log_max_level)
        return;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char line[2048];
    int n = snprintf(line, sizeof line, "%s pide-gateway %s %s%s", ts,
                     names[level <= PIDE_LOG_DEBUG ? level : PIDE_LOG_DEBUG],
                     prefix ? prefix : "", prefix ? " " : "");
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    /* one fputs per line so lines from different threads do not interleave */
    fprintf(stderr, "%s\n", line);
}

void gw_log(pide_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_vlog(level, NULL, fmt, ap);
    va_end(ap);
}
