/* rest_schema.c — an operation's elements from its service's XSD, for the REST face and its
 * OpenAPI documents (see rest_schema.h). */
#include "rest_schema.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "namespaces.h"
#include "redact.h"

typedef struct walk {
    xmlDocPtr doc;
    xmlNodePtr schema;
    gw_arena *a;
    gw_rest_element *out;
    int qualified_default;
    char *err;
    size_t errlen;
} walk;

static int is_xsd(xmlNodePtr n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, GW_XSD_NS) == 0 &&
           (!local || strcmp((const char *)n->name, local) == 0);
}

static const char *attr(walk *w, xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    if (!v)
        return NULL;
    char *copy = gw_arena_strdup(w->a, (const char *)v);
    xmlFree(v);
    return copy;
}

/* A QName attribute value: its local part, and whether its prefix names the XSD namespace. */
static const char *qname_local(walk *w, xmlNodePtr n, const char *value, int *is_builtin)
{
    const char *colon = strchr(value, ':');
    char prefix[64] = "";
    if (colon && (size_t)(colon - value) < sizeof prefix) {
        memcpy(prefix, value, (size_t)(colon - value));
        prefix[colon - value] = '\0';
    }
    xmlNsPtr ns = xmlSearchNs(w->doc, n, colon ? BAD_CAST prefix : NULL);
    *is_builtin = ns && ns->href && strcmp((const char *)ns->href, GW_XSD_NS) == 0;
    return colon ? colon + 1 : value;
}

static xmlNodePtr global(walk *w, const char *kind, const char *name)
{
    for (xmlNodePtr c = w->schema->children; c; c = c->next) {
        if (!is_xsd(c, kind))
            continue;
        xmlChar *n = xmlGetProp(c, BAD_CAST "name");
        int same = n && strcmp((const char *)n, name) == 0;
        xmlFree(n);
        if (same)
            return c;
    }
    return NULL;
}

static gw_status fail(walk *w, const char *what, const char *name)
{
    gw_set_error(w->err, w->errlen, "%s (at '%s')", what, name ? name : "?");
    return GW_ERR_CONFIG;
}

/* The facets of a simpleType (its restriction, after those of a named base type). */
static gw_status simple_facets(walk *w, xmlNodePtr st, gw_rest_field *f, int depth)
{
    if (depth > GW_REST_MAX_DEPTH)
        return fail(w, "simple types nested too deep", f->name);
    xmlNodePtr r = NULL;
    for (xmlNodePtr c = st->children; c; c = c->next)
        if (is_xsd(c, "restriction"))
            r = c;
        else if (is_xsd(c, "list") || is_xsd(c, "union"))
            return fail(w, "xsd:list and xsd:union are not REST-mapped", f->name);
    if (!r)
        return fail(w, "a simpleType without a restriction", f->name);
    const char *base = attr(w, r, "base");
    if (base) {
        int builtin = 0;
        const char *local = qname_local(w, r, base, &builtin);
        if (builtin) {
            f->base = local;
        } else {
            xmlNodePtr named = global(w, "simpleType", local);
            if (!named)
                return fail(w, "unknown simple type", local);
            gw_status st2 = simple_facets(w, named, f, depth + 1);
            if (st2 != GW_OK)
                return st2;
        }
    }
    for (xmlNodePtr c = r->children; c; c = c->next) {
        if (!is_xsd(c, NULL))
            continue;
        const char *v = attr(w, c, "value");
        if (!v)
            continue;
        const char *k = (const char *)c->name;
        if (strcmp(k, "pattern") == 0)
            f->pattern = v;
        else if (strcmp(k, "length") == 0)
            f->length = strtol(v, NULL, 10);
        else if (strcmp(k, "minLength") == 0)
            f->min_length = strtol(v, NULL, 10);
        else if (strcmp(k, "maxLength") == 0)
            f->max_length = strtol(v, NULL, 10);
        else if (strcmp(k, "minInclusive") == 0)
            f->min_inclusive = v;
        else if (strcmp(k, "maxInclusive") == 0)
            f->max_inclusive = v;
        else if (strcmp(k, "enumeration") == 0 && f->enum_count < GW_REST_MAX_ENUMS) {
            if (!f->enums &&
                !(f->enums = gw_arena_alloc(w->a, GW_REST_MAX_ENUMS * sizeof *f->enums)))
                return GW_ERR_NOMEM;
            f->enums[f->enum_count++] = v;
        }
    }
    if (!f->base)
        f->base = "string";
    return GW_OK;
}

static gw_status complex_content(walk *w, xmlNodePtr ct, int depth);

static gw_status element(walk *w, xmlNodePtr e, int depth)
{
    if (depth > GW_REST_MAX_DEPTH)
        return fail(w, "elements nested too deep", (const char *)e->name);
    if (w->out->count >= GW_REST_MAX_FIELDS)
        return fail(w, "too many elements", w->out->name);
    if (w->out->count == w->out->cap) {
        size_t ncap = w->out->cap ? 2 * w->out->cap : 16;
        gw_rest_field *nf = gw_arena_alloc(w->a, ncap * sizeof *nf);
        if (!nf)
            return GW_ERR_NOMEM;
        if (w->out->count)
            memcpy(nf, w->out->fields, w->out->count * sizeof *nf);
        w->out->fields = nf;
        w->out->cap = ncap;
    }
    const char *name = attr(w, e, "name");
    if (!name)
        return fail(w, "xsd:element ref= is not REST-mapped", w->out->name);
    gw_rest_field *f = &w->out->fields[w->out->count++];
    memset(f, 0, sizeof *f);
    f->name = name;
    f->depth = depth;
    f->length = f->min_length = f->max_length = -1;
    const char *mn = attr(w, e, "minOccurs"), *mx = attr(w, e, "maxOccurs");
    f->min_occurs = mn ? atoi(mn) : 1;
    f->max_occurs = mx ? (strcmp(mx, "unbounded") == 0 ? -1 : atoi(mx)) : 1;
    const char *form = attr(w, e, "form");
    f->qualified = form ? strcmp(form, "qualified") == 0 : w->qualified_default;
    f->secret = gw_redact_is_secret_name(name, strlen(name));
    const char *type = attr(w, e, "type");
    if (type) {
        int builtin = 0;
        const char *local = qname_local(w, e, type, &builtin);
        if (builtin) {
            f->base = local;
            return GW_OK;
        }
        xmlNodePtr st = global(w, "simpleType", local);
        if (st)
            return simple_facets(w, st, f, 0);
        xmlNodePtr ct = global(w, "complexType", local);
        if (!ct)
            return fail(w, "unknown type", local);
        f->wrapper = 1;
        return complex_content(w, ct, depth + 1);
    }
    for (xmlNodePtr c = e->children; c; c = c->next) {
        if (is_xsd(c, "simpleType"))
            return simple_facets(w, c, f, 0);
        if (is_xsd(c, "complexType")) {
            f->wrapper = 1;
            return complex_content(w, c, depth + 1);
        }
    }
    f->base = "string"; /* xsd:anyType: text is what a query can give */
    return GW_OK;
}

static gw_status particle(walk *w, xmlNodePtr group, int depth)
{
    for (xmlNodePtr c = group->children; c; c = c->next) {
        gw_status st = GW_OK;
        if (is_xsd(c, "element"))
            st = element(w, c, depth);
        else if (is_xsd(c, "sequence") || is_xsd(c, "all") || is_xsd(c, "choice"))
            st = particle(w, c, depth);
        else if (is_xsd(c, "any"))
            st = fail(w, "xsd:any is not REST-mapped", w->out->name);
        if (st != GW_OK)
            return st;
    }
    return GW_OK;
}

static gw_status complex_content(walk *w, xmlNodePtr ct, int depth)
{
    for (xmlNodePtr c = ct->children; c; c = c->next) {
        if (is_xsd(c, "sequence") || is_xsd(c, "all") || is_xsd(c, "choice"))
            return particle(w, c, depth);
        if (is_xsd(c, "complexContent") || is_xsd(c, "simpleContent"))
            return fail(w, "complexContent/simpleContent is not REST-mapped", w->out->name);
    }
    return GW_OK; /* empty content */
}

gw_status gw_rest_element_read(const char *xsd, size_t len, const char *name, gw_arena *a,
                               gw_rest_element *out, char *err, size_t errlen)
{
    gw_status st = GW_ERR_CONFIG;
    memset(out, 0, sizeof *out);
    walk w = {.a = a, .out = out, .err = err, .errlen = errlen};
    if (!xsd || len > INT32_MAX) {
        gw_set_error(err, errlen, "the service has no schema");
        return GW_ERR_CONFIG;
    }
    w.doc = xmlReadMemory(xsd, (int)len, "schema.xsd", NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    w.schema = w.doc ? xmlDocGetRootElement(w.doc) : NULL;
    if (!is_xsd(w.schema, "schema")) {
        gw_set_error(err, errlen, "the service's schema does not parse");
        goto fail;
    }
    out->name = gw_arena_strdup(a, name);
    out->target_namespace = attr(&w, w.schema, "targetNamespace");
    const char *efd = attr(&w, w.schema, "elementFormDefault");
    w.qualified_default = efd && strcmp(efd, "qualified") == 0;
    if (!out->name) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    xmlNodePtr e = global(&w, "element", name);
    if (!e) {
        gw_set_error(err, errlen, "the schema has no element '%s'", name);
        st = GW_ERR_UNKNOWN_OPERATION;
        goto fail;
    }
    /* The global element itself is not a field: its content is. */
    const char *type = attr(&w, e, "type");
    xmlNodePtr ct = NULL;
    if (type) {
        int builtin = 0;
        const char *local = qname_local(&w, e, type, &builtin);
        ct = builtin ? NULL : global(&w, "complexType", local);
    } else {
        for (xmlNodePtr c = e->children; c; c = c->next)
            if (is_xsd(c, "complexType"))
                ct = c;
    }
    if (!ct) {
        gw_set_error(err, errlen, "element '%s' is not of a complex type", name);
        goto fail;
    }
    st = complex_content(&w, ct, 1);
fail:
    if (w.doc)
        xmlFreeDoc(w.doc);
    return st;
}

typedef struct cache_entry {
    char *xsd;
    size_t len;
    char *name;
    gw_arena arena;
    gw_rest_element el;
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache[GW_REST_CACHE_MAX];
static size_t cache_count;

static const gw_rest_element *cache_find(const char *xsd, size_t len, const char *name)
{
    for (size_t i = 0; i < cache_count; i++) {
        const cache_entry *c = cache[i];
        if (c->len == len && strcmp(c->name, name) == 0 && memcmp(c->xsd, xsd, len) == 0)
            return &c->el;
    }
    return NULL;
}

gw_status gw_rest_element_cached(const char *xsd, size_t len, const char *name, gw_arena *a,
                                 const gw_rest_element **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!xsd || !name) {
        gw_set_error(err, errlen, "the service has no schema");
        return GW_ERR_CONFIG;
    }
    pthread_mutex_lock(&cache_lock);
    *out = cache_find(xsd, len, name);
    pthread_mutex_unlock(&cache_lock);
    if (*out)
        return GW_OK;
    cache_entry *c = calloc(1, sizeof *c);
    if (!c)
        return GW_ERR_NOMEM;
    gw_arena_init(&c->arena, 16384);
    gw_status st = gw_rest_element_read(xsd, len, name, &c->arena, &c->el, err, errlen);
    c->xsd = st == GW_OK ? malloc(len) : NULL;
    c->name = st == GW_OK ? strdup(name) : NULL;
    if (st == GW_OK && (!c->xsd || !c->name))
        st = GW_ERR_NOMEM;
    if (st == GW_OK) {
        memcpy(c->xsd, xsd, len);
        c->len = len;
        pthread_mutex_lock(&cache_lock);
        const gw_rest_element *again = cache_find(xsd, len, name); /* another thread's */
        if (!again && cache_count < GW_REST_CACHE_MAX) {
            cache[cache_count++] = c;
            *out = &c->el;
            c = NULL;
        } else {
            *out = again;
        }
        pthread_mutex_unlock(&cache_lock);
        if (!*out) {
            /* The cache is full: this exchange's own copy. */
            gw_rest_element *el = gw_arena_alloc(a, sizeof *el);
            st = el ? gw_rest_element_read(xsd, len, name, a, el, err, errlen) : GW_ERR_NOMEM;
            *out = st == GW_OK ? el : NULL;
        }
    }
    if (c) {
        free(c->xsd);
        free(c->name);
        gw_arena_destroy(&c->arena);
        free(c);
    }
    return st;
}

size_t gw_rest_schema_operations(const char *xsd, size_t len, gw_arena *a, const char **names,
                                 size_t max)
{
    size_t n = 0;
    if (!xsd || len > INT32_MAX)
        return 0;
    walk w = {.a = a};
    w.doc = xmlReadMemory(xsd, (int)len, "schema.xsd", NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    w.schema = w.doc ? xmlDocGetRootElement(w.doc) : NULL;
    if (!is_xsd(w.schema, "schema"))
        goto done;
    for (xmlNodePtr c = w.schema->children; c && n < max; c = c->next) {
        if (!is_xsd(c, "element"))
            continue;
        const char *name = attr(&w, c, "name");
        char *resp = name ? gw_arena_printf(a, "%sResponse", name) : NULL;
        if (resp && global(&w, "element", resp))
            names[n++] = name;
    }
done:
    if (w.doc)
        xmlFreeDoc(w.doc);
    return n;
}

int gw_rest_is_secret_param(const char *name, size_t len)
{
    static const char *const parts[] = {"password", "passwd", "clave",  "contrase",
                                        "token",    "secret", "apikey", "api_key"};
    if (gw_redact_is_secret_name(name, len))
        return 1;
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        size_t n = strlen(parts[k]);
        for (size_t i = 0; i + n <= len; i++)
            if (strncasecmp(name + i, parts[k], n) == 0)
                return 1;
    }
    return 0;
}

const char *gw_rest_json_type(const char *b)
{
    static const char *const integers[] = {"int",
                                           "integer",
                                           "long",
                                           "short",
                                           "byte",
                                           "nonNegativeInteger",
                                           "positiveInteger",
                                           "unsignedInt",
                                           "unsignedLong",
                                           "unsignedShort",
                                           "negativeInteger",
                                           "nonPositiveInteger",
                                           "unsignedByte"};
    if (!b)
        return "string";
    for (size_t i = 0; i < sizeof integers / sizeof integers[0]; i++)
        if (strcmp(b, integers[i]) == 0)
            return "integer";
    if (strcmp(b, "decimal") == 0 || strcmp(b, "double") == 0 || strcmp(b, "float") == 0)
        return "number";
    if (strcmp(b, "boolean") == 0)
        return "boolean";
    return "string";
}
