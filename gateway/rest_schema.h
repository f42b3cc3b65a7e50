/*
 * rest_schema.h — what the REST face (rest_face.h) and its OpenAPI documents (rest_openapi.h)
 * know of an operation: the elements of a global element of a service's XSD, flattened in
 * document (XSD) order.
 *
 * The walk follows xsd:sequence / xsd:all / xsd:choice of named or inline complex types (any
 * depth up to GW_REST_MAX_DEPTH); an element of complex type is a "wrapper" (built whenever its
 * parent is), one of simple type a "leaf" with the facets of its xsd:restriction (followed through
 * named simple types): pattern, length, minLength, maxLength, enumeration, minInclusive,
 * maxInclusive. Attributes, xsd:any, substitution groups and imports are not REST-mapped (an
 * operation needing them is answered over SOAP only).
 */
#ifndef PIDE_GW_REST_SCHEMA_H
#define PIDE_GW_REST_SCHEMA_H

#include <stddef.h>

#include "arena.h"
#include "status.h"

#define GW_REST_MAX_DEPTH 8
#define GW_REST_MAX_FIELDS 256
#define GW_REST_MAX_ENUMS 64

typedef struct gw_rest_field {
    const char *name; /* local name */
    int depth;        /* 1: a child of the global element */
    int wrapper;      /* complex content: other fields follow at depth + 1 */
    int min_occurs;
    int max_occurs;      /* -1: unbounded */
    int qualified;       /* in the target namespace (elementFormDefault / form) */
    const char *base;    /* leaf: the built-in XSD type's local name ("string", "date"...) */
    const char *pattern; /* the first xsd:pattern, or NULL */
    long length, min_length, max_length; /* -1: none */
    const char *min_inclusive, *max_inclusive;
    const char **enums; /* enum_count values (arena), or NULL */
    size_t enum_count;
    int secret; /* a secret name (redact.h): never a query parameter */
} gw_rest_field;

typedef struct gw_rest_element {
    const char *name; /* the global element */
    const char *target_namespace;
    gw_rest_field *fields; /* pre-order */
    size_t count;
    size_t cap; /* room in fields (grown in the arena while reading) */
} gw_rest_element;

/* Reads the global element `name` of the XSD text xsd[0..len) into *out (everything in arena a).
 * GW_ERR_UNKNOWN_OPERATION when the schema has no such element; GW_ERR_CONFIG with the reason
 * in err when the XSD cannot be read or uses what the walk does not map. */
gw_status gw_rest_element_read(const char *xsd, size_t len, const char *name, gw_arena *a,
                               gw_rest_element *out, char *err, size_t errlen);

/* gw_rest_element_read through a process-wide cache (the REST face reads two elements per
 * exchange; parsing the XSD each time cost more than the rest of the face). Entries are keyed by
 * the schema's content (a copy is kept and compared, so a catalogue reopened with other schemas
 * never sees a stale entry) and the element name, live until the process ends and are never
 * changed, so *out stays valid; at most GW_REST_CACHE_MAX entries (beyond: read each time into
 * `a`). Failures are not cached. Thread-safe. */
#define GW_REST_CACHE_MAX 128
gw_status gw_rest_element_cached(const char *xsd, size_t len, const char *name, gw_arena *a,
                                 const gw_rest_element **out, char *err, size_t errlen);

/* The request elements of a wrapped document/literal schema: every global element E for which a
 * global element "E" "Response" exists, in schema order (arena copies in *names, at most max).
 * What the REST face offers for an adapter that serves "whatever the configuration says" ("*"). */
size_t gw_rest_schema_operations(const char *xsd, size_t len, gw_arena *a, const char **names,
                                 size_t max);

/* 1 when a query parameter called name[0..len) looks like it carries a secret: a secret name of
 * the log's redaction list (redact.h) or a name containing password, passwd, clave, contrase,
 * token, secret, apikey or api_key (case-insensitive). */
int gw_rest_is_secret_param(const char *name, size_t len);

/* The JSON Schema "type" of a built-in XSD type: "integer", "number", "boolean" or "string". */
const char *gw_rest_json_type(const char *xsd_base);

#endif
