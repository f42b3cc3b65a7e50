/*
 * http_head.h — a strict reader of HTTP/1.1 request framing (RFC 9112), used by the dispatcher
 * (server.c) before the engine sees a byte: the request line and header fields, and where the
 * request's body ends (Content-Length, or chunked transfer coding).
 *
 * Strict means: one framing or none. Two Content-Length fields (even equal ones), a
 * Content-Length that is not 1*DIGIT, Content-Length together with Transfer-Encoding, a
 * Transfer-Encoding other than exactly "chunked", obsolete line folding, whitespace before a
 * field's colon, a bare CR or LF, control characters, a missing or repeated Host in HTTP/1.1:
 * all are GW_HEAD_BAD (400). A line over max_line or a head over max_head: GW_HEAD_TOO_LARGE
 * (431). Everything here is pure (no I/O), so the unit suite can try it byte by byte.
 */
#ifndef PIDE_GW_HTTP_HEAD_H
#define PIDE_GW_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

typedef enum gw_head_result {
    GW_HEAD_INCOMPLETE = 0, /* more bytes needed */
    GW_HEAD_OK,
    GW_HEAD_BAD,            /* 400: malformed or ambiguous framing */
    GW_HEAD_TOO_LARGE,      /* 431: a line or the whole head over its limit */
} gw_head_result;

typedef struct gw_http_head {
    size_t head_len;         /* bytes up to and including the empty line (leading CRLFs too) */
    size_t method_off, method_len;
    size_t target_off, target_len; /* offsets into the buffer parsed */
    int minor;               /* HTTP/1.<minor>: 0 or 1 */
    int64_t content_length;  /* -1: none; INT64_MAX: more digits than fit */
    int chunked;             /* Transfer-Encoding: chunked */
    int close;               /* Connection: close, or HTTP/1.0 without keep-alive */
    int expect_continue;     /* Expect: 100-continue */
    /* W3C Trace Context fields (trace_context.h), as received: offsets into the buffer parsed
     * of the last value, and how many fields of that name came (0: absent) */
    size_t traceparent_off, traceparent_len;
    int traceparent_count;
    size_t tracestate_off, tracestate_len;
    int tracestate_count;
    const char *why;         /* for BAD / TOO_LARGE: what was wrong (static text, no input) */
} gw_http_head;

/* Parses the request head at the start of buf[0..len). GW_HEAD_INCOMPLETE while no empty line
 * has arrived yet and the limits still allow one. A request line, once complete, is already
 * reported (method/target set) even when a later field makes the head BAD or TOO_LARGE. */
gw_head_result gw_http_head_parse(const char *buf, size_t len, size_t max_line, size_t max_head,
                                  gw_http_head *out);

/* Where a chunked body ends, found incrementally: feed it the bytes after the head as they
 * arrive (each call continues where the previous stopped). */
typedef struct gw_chunked_scan {
    size_t pos;              /* bytes of the body consumed so far */
    int state;
    uint64_t remaining;      /* data bytes left in the current chunk */
    uint64_t decoded;        /* data bytes so far */
    size_t line_len;         /* length of the current size/trailer line */
    int digits;
} gw_chunked_scan;

typedef enum gw_chunked_result {
    GW_CHUNKED_INCOMPLETE = 0,
    GW_CHUNKED_DONE,         /* sc->pos is the body's length, trailers included */
    GW_CHUNKED_BAD,          /* malformed chunk size, missing CRLF, line too long */
    GW_CHUNKED_TOO_LARGE,    /* decoded data over max_decoded */
} gw_chunked_result;

/* body[0..len) is everything received after the head so far (len never shrinks between calls).
 * max_line bounds a chunk-size or trailer line. */
gw_chunked_result gw_chunked_scan_feed(gw_chunked_scan *sc, const char *body, size_t len,
                                       uint64_t max_decoded, size_t max_line);

#endif
