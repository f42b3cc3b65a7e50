/* http_head.c — strict HTTP/1.1 request framing (RFC 9112): request line, header fields,
 * Content-Length / chunked (see http_head.h). */
#include "http_head.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-value characters: VCHAR, obs-text, SP, HTAB */
static int is_field_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

static int name_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

static gw_head_result bad(gw_http_head *h, const char *why)
{
    h->why = why;
    return GW_HEAD_BAD;
}

static gw_head_result too_large(gw_http_head *h, const char *why)
{
    h->why = why;
    return GW_HEAD_TOO_LARGE;
}

static gw_head_result request_line(const char *p, size_t n, size_t base, gw_http_head *h)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ' ')
        return bad(h, "malformed request line (method)");
    h->method_off = base;
    h->method_len = i;
    size_t t = ++i;
    while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f)
        i++;
    if (i == t || i >= n || p[i] != ' ')
        return bad(h, "malformed request line (target)");
    h->target_off = base + t;
    h->target_len = i - t;
    i++;
    if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 || (p[i + 7] != '0' && p[i + 7] != '1'))
        return bad(h, "malformed request line (version: HTTP/1.1 or HTTP/1.0 expected)");
    h->minor = p[i + 7] - '0';
    return GW_HEAD_OK;
}

gw_head_result gw_http_head_parse(const char *buf, size_t len, size_t max_line, size_t max_head,
                                  gw_http_head *h)
{
    memset(h, 0, sizeof *h);
    h->content_length = -1;
    size_t i = 0;
    /* A server SHOULD ignore empty lines received before the request line. */
    while (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
        i += 2;
    if (i >= max_head)
        return too_large(h, "request head over the size limit");
    int line_no = 0, hosts = 0, keep_alive = 0;
    for (;;) {
        size_t start = i;
        const char *lf = memchr(buf + start, '\n', len - start);
        size_t end = lf ? (size_t)(lf - buf) : len; /* index of LF, or of the end */
        /* Bare CR or LF anywhere in the line: refused rather than guessed at. */
        const char *cr = memchr(buf + start, '\r', end - start);
        if (cr && (size_t)(cr - buf) + 1 < end)
            return bad(h, "bare CR in the request head");
        if (!lf) {
            if (end - start > max_line)
                return too_large(h, "request line or header field over the line limit");
            if (end > max_head)
                return too_large(h, "request head over the size limit");
            return GW_HEAD_INCOMPLETE;
        }
        if (end == start || buf[end - 1] != '\r')
            return bad(h, "bare LF in the request head");
        size_t n = end - 1 - start; /* line without CRLF */
        if (n > max_line)
            return too_large(h, "request line or header field over the line limit");
        i = end + 1;
        if (i > max_head)
            return too_large(h, "request head over the size limit");
        const char *p = buf + start;
        if (line_no++ == 0) {
            gw_head_result r = request_line(p, n, start, h);
            if (r != GW_HEAD_OK)
                return r;
            continue;
        }
        if (n == 0)
            break;
        if (p[0] == ' ' || p[0] == '\t')
            return bad(h, "obsolete line folding in a header field");
        size_t k = 0;
        while (k < n && is_tchar((unsigned char)p[k]))
            k++;
        if (k == 0 || k >= n || p[k] != ':')
            return bad(h, "malformed header field name");
        size_t v = k + 1, ve = n;
        for (size_t j = v; j < n; j++)
            if (!is_field_char((unsigned char)p[j]))
                return bad(h, "control character in a header field");
        while (v < ve && (p[v] == ' ' || p[v] == '\t'))
            v++;
        while (ve > v && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
            ve--;
        const char *val = p + v;
        size_t vlen = ve - v;
        if (name_is(p, k, "Content-Length")) {
            if (h->content_length >= 0)
                return bad(h, "more than one Content-Length");
            if (vlen == 0)
                return bad(h, "invalid Content-Length");
            int64_t cl = 0;
            for (size_t j = 0; j < vlen; j++) {
                if (val[j] < '0' || val[j] > '9')
                    return bad(h, "invalid Content-Length");
                if (cl <= (INT64_MAX - 9) / 10)
                    cl = cl * 10 + (val[j] - '0');
                else
                    cl = INT64_MAX;
            }
            h->content_length = cl;
        } else if (name_is(p, k, "Transfer-Encoding")) {
            if (h->chunked)
                return bad(h, "more than one Transfer-Encoding");
            if (!name_is(val, vlen, "chunked"))
                return bad(h, "Transfer-Encoding other than chunked");
            h->chunked = 1;
        } else if (name_is(p, k, "Host")) {
            if (++hosts > 1)
                return bad(h, "more than one Host");
        } else if (name_is(p, k, "traceparent")) {
            h->traceparent_count++;
            h->traceparent_off = start + (size_t)(val - p);
            h->traceparent_len = vlen;
        } else if (name_is(p, k, "tracestate")) {
            h->tracestate_count++;
            h->tracestate_off = start + (size_t)(val - p);
            h->tracestate_len = vlen;
        } else if (name_is(p, k, "Expect")) {
            if (name_is(val, vlen, "100-continue"))
                h->expect_continue = 1;
        } else if (name_is(p, k, "Connection")) {
            for (size_t j = 0; j < vlen;) {
                while (j < vlen && (val[j] == ',' || val[j] == ' ' || val[j] == '\t'))
                    j++;
                size_t s = j;
                while (j < vlen && val[j] != ',' && val[j] != ' ' && val[j] != '\t')
                    j++;
                if (name_is(val + s, j - s, "close"))
                    h->close = 1;
                else if (name_is(val + s, j - s, "keep-alive"))
                    keep_alive = 1;
            }
        }
    }
    if (h->chunked && h->content_length >= 0)
        return bad(h, "both Content-Length and Transfer-Encoding");
    if (h->chunked && h->minor == 0)
        return bad(h, "Transfer-Encoding in an HTTP/1.0 request");
    if (h->minor == 1 && hosts == 0)
        return bad(h, "HTTP/1.1 request without Host");
    if (h->minor == 0 && !keep_alive)
        h->close = 1;
    h->head_len = i;
    return GW_HEAD_OK;
}

/* ---- chunked ---- */

enum {
    CH_SIZE = 0, /* chunk-size hex digits */
    CH_EXT,      /* chunk extensions, up to CR */
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER_START,
    CH_TRAILER,
    CH_TRAILER_LF,
    CH_FINAL_LF,
    CH_DONE,
};

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

gw_chunked_result gw_chunked_scan_feed(gw_chunked_scan *sc, const char *body, size_t len,
                                       uint64_t max_decoded, size_t max_line)
{
    while (sc->pos < len) {
        unsigned char c = (unsigned char)body[sc->pos];
        switch (sc->state) {
        case CH_SIZE: {
            int d = hexval(c);
            if (d >= 0) {
                if (++sc->digits > 15)
                    return GW_CHUNKED_TOO_LARGE;
                sc->remaining = sc->remaining * 16 + (uint64_t)d;
            } else if (sc->digits > 0 && (c == ';' || c == ' ' || c == '\t')) {
                sc->state = CH_EXT;
            } else if (sc->digits > 0 && c == '\r') {
                sc->state = CH_SIZE_LF;
            } else {
                return GW_CHUNKED_BAD;
            }
            break;
        }
        case CH_EXT:
            if (c == '\r')
                sc->state = CH_SIZE_LF;
            else if (!is_field_char(c))
                return GW_CHUNKED_BAD;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return GW_CHUNKED_BAD;
            if (sc->remaining > max_decoded - sc->decoded)
                return GW_CHUNKED_TOO_LARGE;
            sc->decoded += sc->remaining;
            sc->digits = 0;
            sc->line_len = 0;
            sc->state = sc->remaining ? CH_DATA : CH_TRAILER_START;
            sc->pos++;
            continue;
        case CH_DATA: {
            size_t avail = len - sc->pos;
            size_t take = sc->remaining < avail ? (size_t)sc->remaining : avail;
            sc->pos += take;
            sc->remaining -= take;
            if (sc->remaining == 0)
                sc->state = CH_DATA_CR;
            continue;
        }
        case CH_DATA_CR:
            if (c != '\r')
                return GW_CHUNKED_BAD;
            sc->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                return GW_CHUNKED_BAD;
            sc->state = CH_SIZE;
            sc->pos++;
            sc->line_len = 0;
            continue;
        case CH_TRAILER_START:
            if (c == '\r') {
                sc->state = CH_FINAL_LF;
                break;
            }
            if (!is_tchar(c))
                return GW_CHUNKED_BAD;
            sc->state = CH_TRAILER;
            break;
        case CH_TRAILER:
            if (c == '\r')
                sc->state = CH_TRAILER_LF;
            else if (!is_field_char(c))
                return GW_CHUNKED_BAD;
            break;
        case CH_TRAILER_LF:
            if (c != '\n')
                return GW_CHUNKED_BAD;
            sc->state = CH_TRAILER_START;
            sc->pos++;
            sc->line_len = 0;
            continue;
        case CH_FINAL_LF:
            if (c != '\n')
                return GW_CHUNKED_BAD;
            sc->pos++;
            sc->state = CH_DONE;
            return GW_CHUNKED_DONE;
        default:
            return GW_CHUNKED_DONE;
        }
        sc->pos++;
        if (++sc->line_len > max_line)
            return GW_CHUNKED_BAD;
    }
    return sc->state == CH_DONE ? GW_CHUNKED_DONE : GW_CHUNKED_INCOMPLETE;
}
