/* log.c — operational log lines on stderr, text ("2026-11-24T06:40:00Z pide-gateway WARN
 * message") or JSON lines (see log.h). */
#include "log.h"

#include <stdint.h>

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libxml/globals.h>
#include <libxml/xmlerror.h>
#include <openssl/err.h>

#include "clock.h"

static pide_log_level log_max_level = PIDE_LOG_INFO;
static atomic_int log_json;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const char *const level_json[] = {"error", "warn", "info", "debug"};

void gw_log_set_level(pide_log_level max_level) { log_max_level = max_level; }

void gw_log_set_json(int json) { atomic_store(&log_json, json ? 1 : 0); }

static unsigned level_index(pide_log_level level)
{
    return level <= PIDE_LOG_DEBUG ? (unsigned)level : (unsigned)PIDE_LOG_DEBUG;
}

/* JSON string contents: ", \ and control characters escaped; bytes >= 0x80 copied (messages
 * are UTF-8 or ASCII). Stops short of the buffer's end. */
static size_t json_escape(char *out, size_t outlen, size_t pos, const char *s)
{
    for (; s && *s && pos + 7 < outlen; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)c;
        } else if (c == '\n') {
            out[pos++] = '\\';
            out[pos++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            pos += (size_t)snprintf(out + pos, outlen - pos, "\\u%04x", c);
        } else {
            out[pos++] = (char)c;
        }
    }
    out[pos] = '\0';
    return pos;
}

static size_t json_put(char *out, size_t outlen, size_t pos, const char *raw)
{
    size_t n = strlen(raw);
    if (pos + n + 1 > outlen)
        n = outlen - pos - 1;
    memcpy(out + pos, raw, n);
    pos += n;
    out[pos] = '\0';
    return pos;
}

/* Cuts a UTF-8 sequence the escaper may have split at the end of a full buffer. */
static size_t utf8_trim(const char *s, size_t len)
{
    size_t i = len;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
        i--;
    if (i > 0 && (unsigned char)s[i - 1] >= 0xc0) {
        unsigned char lead = (unsigned char)s[i - 1];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
        if (len - (i - 1) < need)
            return i - 1;
    }
    return len;
}

/* This thread's exchange and its trace id (gw_log_bind_trace); "" when none. */
static _Thread_local char bound_exchange[37];
static _Thread_local char bound_trace[33];

void gw_log_bind_trace(const char *exchange_id, const char *trace_id)
{
    bound_exchange[0] = bound_trace[0] = '\0';
    if (!exchange_id || !trace_id || strlen(exchange_id) >= sizeof bound_exchange ||
        strlen(trace_id) >= sizeof bound_trace)
        return;
    snprintf(bound_exchange, sizeof bound_exchange, "%s", exchange_id);
    snprintf(bound_trace, sizeof bound_trace, "%s", trace_id);
}

void gw_log_format_json(char *out, size_t outlen, pide_log_level level, const char *event,
                        const char *exchange_id, const char *message)
{
    if (outlen < 256) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    char ts[40];
    int64_t now_us = gw_now_us();
    time_t secs = (time_t)(now_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(now_us % 1000000 / 1000));
    /* the tail "\"}" always fits: the message is written into all but its last 8 bytes */
    size_t pos = 0;
    pos = json_put(out, outlen, pos, "{\"time\":\"");
    pos = json_put(out, outlen, pos, ts);
    pos = json_put(out, outlen, pos, "\",\"level\":\"");
    pos = json_put(out, outlen, pos, level_json[level_index(level)]);
    pos = json_put(out, outlen, pos, "\",\"event\":\"");
    pos = json_escape(out, pos + 64, pos, event ? event : "gateway");
    if (exchange_id && *exchange_id) {
        pos = json_put(out, outlen, pos, "\",\"exchange_id\":\"");
        pos = json_escape(out, pos + 48 < outlen ? pos + 48 : outlen, pos, exchange_id);
        if (bound_trace[0] && strcmp(exchange_id, bound_exchange) == 0) {
            pos = json_put(out, outlen, pos, "\",\"trace_id\":\"");
            pos = json_escape(out, pos + 40 < outlen ? pos + 40 : outlen, pos, bound_trace);
        }
    }
    pos = json_put(out, outlen, pos, "\",\"message\":\"");
    pos = json_escape(out, outlen - 8, pos, message ? message : "");
    pos = utf8_trim(out, pos);
    out[pos] = '\0';
    json_put(out, outlen, pos, "\"}");
}

/* "[<36 characters of hex and dashes>]" at the start of s: the exchange id, copied to id. */
static int leading_exchange_id(const char *s, char id[37])
{
    if (!s || s[0] != '[' || strlen(s) < 38 || s[37] != ']')
        return 0;
    for (int i = 1; i <= 36; i++)
        if (!isxdigit((unsigned char)s[i]) && s[i] != '-')
            return 0;
    memcpy(id, s + 1, 36);
    id[36] = '\0';
    return 1;
}

static void emit(pide_log_level level, const char *event, const char *exchange_id,
                 const char *text_prefix, const char *message)
{
    char line[4096];
    if (atomic_load(&log_json)) {
        char id[37];
        if (!exchange_id && leading_exchange_id(message, id)) {
            exchange_id = id;
            message += 38;
            while (*message == ' ')
                message++;
        }
        gw_log_format_json(line, sizeof line, level, event, exchange_id, message);
    } else {
        char ts[32];
        time_t now = (time_t)(gw_now_us() / 1000000);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(line, sizeof line, "%s pide-gateway %s %s%s%s%s%s", ts,
                 level_names[level_index(level)], text_prefix ? text_prefix : "",
                 text_prefix ? " " : "", exchange_id ? "[" : "", exchange_id ? exchange_id : "",
                 exchange_id ? "] " : "");
        size_t n = strlen(line);
        snprintf(line + n, sizeof line - n, "%s", message);
    }
    /* one write per line so lines from different threads do not interleave */
    fprintf(stderr, "%s\n", line);
}

void gw_vlog(pide_log_level level, const char *prefix, const char *fmt, va_list ap)
{
    if (level > log_max_level)
        return;
    char message[2048];
    vsnprintf(message, sizeof message, fmt, ap);
    if (!atomic_load(&log_json)) {
        emit(level, NULL, NULL, prefix, message);
        return;
    }
    /* An adapter's line: its prefix is "[<exchange id>]" or "[adapter]". */
    char id[37];
    int has_id = leading_exchange_id(prefix, id);
    emit(level, prefix ? "adapter" : "gateway", has_id ? id : NULL, NULL, message);
}

void gw_log(pide_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_vlog(level, NULL, fmt, ap);
    va_end(ap);
}

void gw_log_event(pide_log_level level, const char *event, const char *exchange_id,
                  const char *fmt, ...)
{
    if (level > log_max_level)
        return;
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    emit(level, event, exchange_id, NULL, message);
}

static int keeps_quoted_name(const char *start, const char *quote)
{
    static const char *const words[] = {"Element ", "element ", "attribute ", "Attribute ",
                                        "facet "};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(quote - start) >= n && strncmp(quote - n, words[i], n) == 0)
            return 1;
    }
    return 0;
}

void gw_log_scrub_quoted(char *message)
{
    char *r = message, *w = message;
    while (*r) {
        if (*r == '\'') {
            char *end = strchr(r + 1, '\'');
            if (end && keeps_quoted_name(message, r)) {
                size_t span = (size_t)(end - r) + 1;
                memmove(w, r, span);
                w += span;
                r = end + 1;
                continue;
            }
            if (end) {
                /* w <= r: "'…'" is 5 bytes, the quoted text at least 2 */
                size_t span = (size_t)(end - r) + 1;
                if (span >= 5) {
                    memcpy(w, "'\xe2\x80\xa6'", 5);
                    w += 5;
                } else {
                    memmove(w, r, span);
                    w += span;
                }
                r = end + 1;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = '\0';
}

/* libxml2's generic handler gets one report in pieces ("file:line: ", "parser ", "error : ",
 * the message, then the document's line around the error and a caret line). Pieces are joined
 * per thread up to each newline; a report's header line is logged (quoted values removed), the
 * document text after it never is (it may be personal data), up to the caret line. */
static _Thread_local char xml_line[1024];
static _Thread_local size_t xml_line_len;
static _Thread_local int xml_in_report;

static void xml_line_done(void)
{
    char *line = xml_line;
    line[xml_line_len] = '\0';
    xml_line_len = 0;
    if (!*line)
        return;
    if (strstr(line, "error : ") || strstr(line, "warning : ")) {
        xml_in_report = 1;
        gw_log_scrub_quoted(line);
        gw_log_event(strstr(line, "warning : ") ? PIDE_LOG_WARN : PIDE_LOG_ERROR, "xml", NULL,
                     "libxml2: %s", line);
        return;
    }
    if (strspn(line, " \t^") == strlen(line)) {
        xml_in_report = 0; /* the caret line ends the report */
        return;
    }
    if (xml_in_report)
        return; /* the document's own text around the error */
    gw_log_scrub_quoted(line);
    gw_log_event(PIDE_LOG_WARN, "xml", NULL, "libxml2: %s", line);
}

static void xml_generic_error(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    char piece[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(piece, sizeof piece, fmt, ap);
    va_end(ap);
    for (const char *p = piece; *p; p++) {
        if (*p == '\n')
            xml_line_done();
        else if (xml_line_len < sizeof xml_line - 1)
            xml_line[xml_line_len++] = *p;
    }
}

/* Only the generic handler: a process-wide structured handler would also receive the errors of
 * parsers run with XML_PARSE_NOERROR (every malformed request would be logged), which the
 * generic one does not. The parsers that want errors set their own context handlers. */
void gw_log_route_library_errors(void)
{
    xmlThrDefSetGenericErrorFunc(NULL, xml_generic_error);
    xmlSetGenericErrorFunc(NULL, xml_generic_error);
}

void gw_log_openssl_errors(pide_log_level level, const char *context)
{
    unsigned long e;
    const char *file = NULL, *data = NULL;
    int line = 0, flags = 0;
    while ((e = ERR_get_error_all(&file, &line, NULL, &data, &flags)) != 0) {
        char text[256];
        ERR_error_string_n(e, text, sizeof text);
        /* ERR_TXT_STRING data can quote what was parsed; only the reason is kept */
        gw_log_event(level, "openssl", NULL, "%s: %s", context ? context : "OpenSSL", text);
    }
}
