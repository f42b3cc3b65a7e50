/*
 * bundle_row.c — row.json of an evidence bundle (bundle_row.h): binary send forms to readable
 * JSON (seq and codes as numbers, the uuid and times as text, digests as hex) and back, byte
 * for byte, so that the row hash recomputed from the JSON is the one the writer computed. A
 * value that does not read back to a canonical form (a time with 5 fractional digits, a uuid
 * in upper case) is refused rather than normalised: the bundle must say exactly what was hashed.
 */
#include "bundle_row.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds from 1970-01-01 to 2000-01-01, PostgreSQL's binary timestamp epoch. */
#define PG_EPOCH_OFFSET_US (INT64_C(946684800) * 1000000)

char bundle_field_type(int i)
{
    if (i == 0) return 'i';
    if (i == 1) return 'u';
    if (i >= 13 && i <= 16) return 'b';
    if (i >= 18 && i <= 21) return 't';
    if (i == 26) return '4';
    if (i == 31) return '2';
    return 's';
}

void bundle_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1; /* lower case only: one spelling per value */
}

bool bundle_unhex(const char *hex, unsigned char *out, size_t n)
{
    if (!hex || strlen(hex) != 2 * n) return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

static int64_t be_int(const unsigned char *p, int n)
{
    uint64_t v = (p[0] & 0x80) ? UINT64_MAX : 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return (int64_t)v;
}

static void put_be(unsigned char *p, int n, int64_t v)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v = (int64_t)((uint64_t)v >> 8);
    }
}

static void uuid_text(const unsigned char *u, char out[37])
{
    char hex[33];
    bundle_hex(u, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static bool uuid_parse(const char *s, unsigned char out[16])
{
    char hex[33];
    size_t at = 0;
    if (!s || strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash != (s[i] == '-')) return false;
        if (!dash) hex[at++] = s[i];
    }
    hex[at] = '\0';
    return bundle_unhex(hex, out, 16);
}

/* PostgreSQL microseconds since 2000 <-> "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, always 6 digits). */
static bool time_text(int64_t pg_us, char out[80])
{
    int64_t unix_us = pg_us + PG_EPOCH_OFFSET_US;
    int64_t secs = unix_us / 1000000, frac = unix_us % 1000000;
    if (frac < 0) { frac += 1000000; secs--; }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return false;
    if (tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) return false;
    snprintf(out, 80, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    return true;
}

static bool time_parse(const char *s, int64_t *pg_us)
{
    struct tm tm = {0};
    int frac = 0, n = 0;
    if (!s || strlen(s) != 27) return false;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac, &n) != 7 || n != 27)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t secs = timegm(&tm);
    *pg_us = (int64_t)secs * 1000000 + frac - PG_EPOCH_OFFSET_US;
    char again[80];
    return time_text(*pg_us, again) && strcmp(again, s) == 0; /* canonical spelling only */
}

json_t *bundle_row_to_json(const gw_log_field *fields, const unsigned char *prev_hash,
                           const unsigned char *row_hash, const char *t_logged)
{
    json_t *row = json_object();
    char text[80], hex[2 * GW_LOG_HASH_LEN + 1];
    if (!row) return NULL;
    for (int i = 0; i < GW_LOG_FIELD_COUNT; i++) {
        const gw_log_field *f = &fields[i];
        const unsigned char *p = f->data;
        json_t *v = NULL;
        if (f->len < 0) {
            v = json_null();
        } else {
            switch (bundle_field_type(i)) {
            case 'i': if (f->len == 8) v = json_integer(be_int(p, 8)); break;
            case '4': if (f->len == 4) v = json_integer(be_int(p, 4)); break;
            case '2': if (f->len == 2) v = json_integer(be_int(p, 2)); break;
            case 'u':
                if (f->len == 16) { uuid_text(p, text); v = json_string(text); }
                break;
            case 't':
                if (f->len == 8 && time_text(be_int(p, 8), text)) v = json_string(text);
                break;
            case 'b':
                if (i == BUNDLE_FIELD_REQUEST || i == BUNDLE_FIELD_RESPONSE) {
                    v = json_pack("{s:s, s:I}", "file",
                                  i == BUNDLE_FIELD_REQUEST ? BUNDLE_REQUEST_FILE
                                                            : BUNDLE_RESPONSE_FILE,
                                  "bytes", (json_int_t)f->len);
                } else {
                    char *any = malloc(2 * (size_t)f->len + 1);
                    if (any) {
                        bundle_hex(p, (size_t)f->len, any);
                        v = json_string(any);
                        free(any);
                    }
                }
                break;
            default: v = json_stringn((const char *)p, (size_t)f->len); break;
            }
        }
        if (!v || json_object_set_new(row, GW_LOG_FIELD_NAMES[i], v) != 0) {
            json_decref(row);
            return NULL;
        }
    }
    bundle_hex(prev_hash, GW_LOG_HASH_LEN, hex);
    json_object_set_new(row, "prev_hash", json_string(hex));
    bundle_hex(row_hash, GW_LOG_HASH_LEN, hex);
    json_object_set_new(row, "row_hash", json_string(hex));
    json_object_set_new(row, "t_logged", t_logged ? json_string(t_logged) : json_null());
    return row;
}

static bool fail_field(char *why, size_t whylen, const char *name, const char *what)
{
    snprintf(why, whylen, "row.json: field %s %s", name, what);
    return false;
}

bool bundle_row_from_json(json_t *row, const unsigned char *request, size_t request_len,
                          const unsigned char *response, size_t response_len, bundle_row *out,
                          char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(row)) return fail_field(why, whylen, "(all)", "is not a JSON object");
    for (int i = 0; i < GW_LOG_FIELD_COUNT; i++) {
        const char *name = GW_LOG_FIELD_NAMES[i];
        json_t *v = json_object_get(row, name);
        gw_log_field *f = &out->f[i];
        unsigned char *st = out->store[i];
        /* Bundles written before hash version 4 have no trace or encryption fields. */
        if (!v && i >= GW_LOG_FIELD_FIRST_V4)
            v = json_null();
        if (!v) return fail_field(why, whylen, name, "is missing");
        if (json_is_null(v)) {
            f->len = -1;
            f->data = NULL;
            if ((i == BUNDLE_FIELD_REQUEST && request) || (i == BUNDLE_FIELD_RESPONSE && response))
                return fail_field(why, whylen, name, "is NULL but the bundle has its file");
            continue;
        }
        char type = bundle_field_type(i);
        if (type == 'i' || type == '4' || type == '2') {
            int n = type == 'i' ? 8 : type == '4' ? 4 : 2;
            if (!json_is_integer(v)) return fail_field(why, whylen, name, "is not an integer");
            json_int_t x = json_integer_value(v);
            if ((n == 4 && (x < INT32_MIN || x > INT32_MAX)) ||
                (n == 2 && (x < INT16_MIN || x > INT16_MAX)))
                return fail_field(why, whylen, name, "is out of range");
            put_be(st, n, x);
            f->data = st;
            f->len = n;
        } else if (type == 'u') {
            if (!uuid_parse(json_string_value(v), st))
                return fail_field(why, whylen, name, "is not a lower-case uuid");
            f->data = st;
            f->len = 16;
        } else if (type == 't') {
            int64_t us;
            if (!time_parse(json_string_value(v), &us))
                return fail_field(why, whylen, name,
                                  "is not a UTC time like 2026-12-03T04:05:17.123456Z");
            put_be(st, 8, us);
            f->data = st;
            f->len = 8;
        } else if (type == 'b' && (i == BUNDLE_FIELD_REQUEST || i == BUNDLE_FIELD_RESPONSE)) {
            const unsigned char *bytes = i == BUNDLE_FIELD_REQUEST ? request : response;
            size_t len = i == BUNDLE_FIELD_REQUEST ? request_len : response_len;
            json_t *bytes_v = json_object_get(v, "bytes");
            if (!bytes)
                return fail_field(why, whylen, name, "names a file the bundle does not have");
            if (!json_is_integer(bytes_v) || (size_t)json_integer_value(bytes_v) != len)
                return fail_field(why, whylen, name, "has another length than its file");
            if (len > INT32_MAX) return fail_field(why, whylen, name, "is too large");
            f->data = bytes;
            f->len = (int32_t)len;
        } else if (type == 'b') {
            /* The gateway writes 32-byte digests; anything else cannot be recomputed here. */
            if (!bundle_unhex(json_string_value(v), st, GW_LOG_HASH_LEN))
                return fail_field(why, whylen, name, "is not 64 lower-case hex digits");
            f->data = st;
            f->len = GW_LOG_HASH_LEN;
        } else {
            if (!json_is_string(v)) return fail_field(why, whylen, name, "is not a string");
            f->data = json_string_value(v);
            f->len = (int32_t)json_string_length(v);
        }
    }
    if ((request && out->f[BUNDLE_FIELD_REQUEST].len < 0) ||
        (response && out->f[BUNDLE_FIELD_RESPONSE].len < 0))
        return fail_field(why, whylen, "request/response", "is NULL but the bundle has its file");
    if (!bundle_unhex(json_string_value(json_object_get(row, "prev_hash")), out->prev_hash,
                      GW_LOG_HASH_LEN))
        return fail_field(why, whylen, "prev_hash", "is not 64 lower-case hex digits");
    if (!bundle_unhex(json_string_value(json_object_get(row, "row_hash")), out->row_hash,
                      GW_LOG_HASH_LEN))
        return fail_field(why, whylen, "row_hash", "is not 64 lower-case hex digits");
    if (out->f[0].len != 8 || out->f[1].len != 16)
        return fail_field(why, whylen, "seq/exchange_id", "is NULL");
    out->seq = be_int(out->f[0].data, 8);
    out->version = out->f[31].len == 2 ? (int)be_int(out->f[31].data, 2) : 1;
    return true;
}

void bundle_check(bundle_checker *c, bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(ok ? "ok: " : "FAILED: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    if (ok)
        c->passed++;
    else
        c->failed++;
}
