/*
 * trace_context.h — W3C Trace Context Level 1 (https://www.w3.org/TR/trace-context/) for one
 * exchange: the caller's `traceparent` (and `tracestate`) header read strictly, a new trace when
 * it is absent or invalid, the gateway's own span id, and the `traceparent` the gateway sends on
 * to providers and back to the caller. Pure functions plus OpenSSL's RAND_bytes; no I/O, so the
 * unit suite (tests/unit/check_trace_context.c) drives it byte by byte. docs/operations.md,
 * "Tracing".
 */
#ifndef PIDE_GW_TRACE_CONTEXT_H
#define PIDE_GW_TRACE_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define GW_TRACE_ID_HEX 32
#define GW_SPAN_ID_HEX 16
/* "00-" trace-id "-" span-id "-" flags */
#define GW_TRACEPARENT_LEN 55
/* A traceparent of a future version may carry more fields; longer than this is not parsed. */
#define GW_TRACEPARENT_MAX 512
/* tracestate: the spec allows 32 list members and asks for at least 512 characters to be
 * propagated; a longer one is not passed on. */
#define GW_TRACESTATE_MAX 512
#define GW_TRACESTATE_MEMBERS_MAX 32

typedef struct gw_trace_context {
    char trace_id[GW_TRACE_ID_HEX + 1];    /* 32 lowercase hex, never all zero */
    char parent_id[GW_SPAN_ID_HEX + 1];    /* the caller's parent-id; "" for a new trace */
    char span_id[GW_SPAN_ID_HEX + 1];      /* the gateway's span for this exchange */
    unsigned char flags;                   /* trace-flags passed on (sampled bit only) */
    bool inherited;                        /* trace_id came from the caller's traceparent */
    const char *why_new;                   /* why a new trace was started (static), or NULL */
    char tracestate[GW_TRACESTATE_MAX + 1];/* passed on unchanged; "" when none */
    char traceparent[GW_TRACEPARENT_LEN + 1]; /* what the gateway sends: 00-trace-span-flags */
} gw_trace_context;

/* Parses a traceparent value v[0..len) (no surrounding whitespace). true when valid; fills
 * trace_id, parent_id (NUL-terminated) and flags. Version 00 must be exactly 55 characters;
 * a higher version (not ff) is parsed by its first 55 and may continue only after a '-'. Only
 * lowercase hex is accepted; all-zero trace-id or parent-id is invalid. *why (static text) says
 * what was wrong. */
bool gw_traceparent_parse(const char *v, size_t len, char trace_id[GW_TRACE_ID_HEX + 1],
                          char parent_id[GW_SPAN_ID_HEX + 1], unsigned char *flags,
                          const char **why);

/* true when v[0..len) is a well-formed tracestate list (at most GW_TRACESTATE_MAX characters,
 * at most 32 members, each key=value per the spec's grammar, no duplicate keys). */
bool gw_tracestate_valid(const char *v, size_t len);

/* nbytes random bytes as 2*nbytes lowercase hex + NUL into out, never all zero. */
gw_status gw_trace_random_hex(char *out, size_t nbytes);

/* The exchange's trace: from the caller's headers (values not NUL-terminated, count how many
 * fields of each name arrived; count 0: absent), else a new one. More than one traceparent is
 * invalid (a new trace); tracestate is kept only with a valid traceparent, exactly one field
 * and when well-formed. GW_OK, or GW_ERR_INTERNAL when no random bytes could be had. */
gw_status gw_trace_begin(gw_trace_context *tc, const char *traceparent, size_t traceparent_len,
                         int traceparent_count, const char *tracestate, size_t tracestate_len,
                         int tracestate_count);

#endif
