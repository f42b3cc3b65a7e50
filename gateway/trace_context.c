/*
 * trace_context.c — W3C Trace Context Level 1: the traceparent/tracestate grammar, new trace and
 * span ids from OpenSSL's CSPRNG, and the traceparent the gateway passes on (trace_context.h).
 */
#include "trace_context.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static bool is_lchex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static int lchex_value(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

/* n lowercase hex characters, not all '0'. */
static bool hex_field(const char *p, size_t n, bool nonzero, const char **why, const char *what)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!is_lchex(p[i])) {
            *why = what;
            return false;
        }
        any = any || p[i] != '0';
    }
    if (nonzero && !any) {
        *why = "all-zero id";
        return false;
    }
    return true;
}

bool gw_traceparent_parse(const char *v, size_t len, char trace_id[GW_TRACE_ID_HEX + 1],
                          char parent_id[GW_SPAN_ID_HEX + 1], unsigned char *flags,
                          const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!v || len < 2) {
        *why = "too short";
        return false;
    }
    if (len > GW_TRACEPARENT_MAX) {
        *why = "too long";
        return false;
    }
    if (!hex_field(v, 2, false, why, "version is not two lowercase hex digits"))
        return false;
    if (v[0] == 'f' && v[1] == 'f') {
        *why = "version ff is invalid";
        return false;
    }
    bool v00 = v[0] == '0' && v[1] == '0';
    if (v00 ? len != GW_TRACEPARENT_LEN : len < GW_TRACEPARENT_LEN) {
        *why = "wrong length for its version";
        return false;
    }
    /* A future version may append fields, each after a '-'. */
    if (!v00 && len > GW_TRACEPARENT_LEN && v[GW_TRACEPARENT_LEN] != '-') {
        *why = "a later version's extra data not after '-'";
        return false;
    }
    if (v[2] != '-' || v[35] != '-' || v[52] != '-') {
        *why = "fields not separated by '-'";
        return false;
    }
    if (!hex_field(v + 3, GW_TRACE_ID_HEX, true, why, "trace-id is not 32 lowercase hex digits") ||
        !hex_field(v + 36, GW_SPAN_ID_HEX, true, why, "parent-id is not 16 lowercase hex digits") ||
        !hex_field(v + 53, 2, false, why, "trace-flags is not two lowercase hex digits"))
        return false;
    if (trace_id) {
        memcpy(trace_id, v + 3, GW_TRACE_ID_HEX);
        trace_id[GW_TRACE_ID_HEX] = '\0';
    }
    if (parent_id) {
        memcpy(parent_id, v + 36, GW_SPAN_ID_HEX);
        parent_id[GW_SPAN_ID_HEX] = '\0';
    }
    if (flags)
        *flags = (unsigned char)(lchex_value(v[53]) << 4 | lchex_value(v[54]));
    return true;
}

static bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_key_char(char c)
{
    return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

/* key = simple-key / tenant-id "@" system-id (the spec's ABNF). */
static bool tracestate_key_valid(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    if (!at) {
        if (n < 1 || n > 256 || !is_lcalpha(k[0]))
            return false;
        for (size_t i = 1; i < n; i++)
            if (!is_key_char(k[i]))
                return false;
        return true;
    }
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    if (tn < 1 || tn > 241 || !(is_lcalpha(k[0]) || is_digit(k[0])))
        return false;
    for (size_t i = 1; i < tn; i++)
        if (!is_key_char(k[i]))
            return false;
    if (sn < 1 || sn > 14 || !is_lcalpha(at[1]))
        return false;
    for (size_t i = 1; i < sn; i++)
        if (!is_key_char(at[1 + i]))
            return false;
    return true;
}

/* value = 0*255(chr) nblk-chr; chr = SP / nblk-chr; nblk-chr = printable except ',' and '='. */
static bool tracestate_value_valid(const char *v, size_t n)
{
    if (n < 1 || n > 256 || v[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x20 || v[i] > 0x7e || v[i] == ',' || v[i] == '=')
            return false;
    return true;
}

bool gw_tracestate_valid(const char *v, size_t len)
{
    if (!v || len > GW_TRACESTATE_MAX)
        return false;
    struct {
        const char *p;
        size_t n;
    } keys[GW_TRACESTATE_MEMBERS_MAX];
    int members = 0;
    size_t i = 0;
    for (;;) {
        size_t s = i;
        while (i < len && v[i] != ',')
            i++;
        size_t b = s, e = i;
        while (b < e && (v[b] == ' ' || v[b] == '\t'))
            b++;
        while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > b) { /* an empty member (OWS only) is allowed and ignored */
            const char *eq = memchr(v + b, '=', e - b);
            if (!eq)
                return false;
            size_t kn = (size_t)(eq - (v + b));
            if (!tracestate_key_valid(v + b, kn) ||
                !tracestate_value_valid(eq + 1, e - b - kn - 1))
                return false;
            if (members == GW_TRACESTATE_MEMBERS_MAX)
                return false;
            for (int m = 0; m < members; m++)
                if (keys[m].n == kn && memcmp(keys[m].p, v + b, kn) == 0)
                    return false;
            keys[members].p = v + b;
            keys[members].n = kn;
            members++;
        }
        if (i >= len)
            break;
        i++; /* the ',' */
    }
    return true;
}

gw_status gw_trace_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[GW_TRACE_ID_HEX / 2];
    if (!out || nbytes == 0 || nbytes > sizeof b)
        return GW_ERR_INVALID_ARG;
    for (int attempt = 0; attempt < 4; attempt++) {
        if (RAND_bytes(b, (int)nbytes) != 1)
            return GW_ERR_INTERNAL;
        bool any = false;
        for (size_t i = 0; i < nbytes; i++) {
            out[2 * i] = hex[b[i] >> 4];
            out[2 * i + 1] = hex[b[i] & 15];
            any = any || b[i];
        }
        out[2 * nbytes] = '\0';
        if (any)
            return GW_OK;
    }
    return GW_ERR_INTERNAL;
}

gw_status gw_trace_begin(gw_trace_context *tc, const char *traceparent, size_t traceparent_len,
                         int traceparent_count, const char *tracestate, size_t tracestate_len,
                         int tracestate_count)
{
    gw_status st = GW_ERR_INVALID_ARG;
    if (!tc)
        return st;
    memset(tc, 0, sizeof *tc);
    const char *why = NULL;
    if (traceparent_count == 0) {
        why = "no traceparent";
    } else if (traceparent_count > 1) {
        why = "more than one traceparent";
    } else if (gw_traceparent_parse(traceparent, traceparent_len, tc->trace_id, tc->parent_id,
                                    &tc->flags, &why)) {
        tc->inherited = true;
        /* Level 1 defines only the sampled bit; the others are not passed on. */
        tc->flags &= 0x01;
        if (tracestate_count == 1 && tracestate &&
            gw_tracestate_valid(tracestate, tracestate_len)) {
            memcpy(tc->tracestate, tracestate, tracestate_len);
            tc->tracestate[tracestate_len] = '\0';
        }
    }
    if (!tc->inherited) {
        tc->why_new = why ? why : "invalid traceparent";
        tc->parent_id[0] = '\0';
        /* Every exchange is recorded in the exchange log: the gateway samples all it starts. */
        tc->flags = 0x01;
        st = gw_trace_random_hex(tc->trace_id, GW_TRACE_ID_HEX / 2);
        if (st != GW_OK)
            goto fail;
    }
    st = gw_trace_random_hex(tc->span_id, GW_SPAN_ID_HEX / 2);
    if (st != GW_OK)
        goto fail;
    snprintf(tc->traceparent, sizeof tc->traceparent, "00-%s-%s-%02x", tc->trace_id,
             tc->span_id, tc->flags);
    return GW_OK;
fail:
    tc->traceparent[0] = '\0';
    return st;
}
