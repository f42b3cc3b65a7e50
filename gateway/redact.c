/* redact.c — what the exchange log stores for a request: an XML tokenizer that replaces
 * secrets, a check of the result on the parsed tree, a flagged truncation otherwise (redact.h). */
#include "redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Local names whose element text or attribute value is a secret (compared case-insensitively). */
static const char *const secret_names[] = {"password", "passwd", "clave"};
#define SECRET_NAME_COUNT (sizeof secret_names / sizeof secret_names[0])
#define MARKER_LEN (sizeof GW_REDACTED_MARKER - 1)

int gw_redact_is_secret_name(const char *name, size_t len)
{
    for (size_t i = 0; i < SECRET_NAME_COUNT; i++)
        if (strlen(secret_names[i]) == len && strncasecmp(name, secret_names[i], len) == 0)
            return 1;
    return 0;
}

/* Offset of the first case-insensitive occurrence of any secret name in buf, or len. */
static size_t find_secret_name(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        for (size_t k = 0; k < SECRET_NAME_COUNT; k++) {
            size_t n = strlen(secret_names[k]);
            if (n <= len - i && strncasecmp(buf + i, secret_names[k], n) == 0)
                return i;
        }
    return len;
}

static int local_is_secret(const char *qname, size_t qlen)
{
    const char *colon = memchr(qname, ':', qlen);
    const char *local = colon ? colon + 1 : qname;
    return gw_redact_is_secret_name(local, (size_t)(qname + qlen - local));
}

/* ---- a growable output buffer ---- */

typedef struct outbuf {
    char *p;
    size_t len, cap;
    int failed;
} outbuf;

static void put(outbuf *o, const char *s, size_t n)
{
    if (o->failed || n == 0)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->failed = 1;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* ---- the tokenizer ---- */

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || c == ':' || (unsigned char)c >= 0x80;
}

static int starts(const char *buf, size_t len, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    return n <= len - i && memcmp(buf + i, lit, n) == 0;
}

/* Offset of lit at or after from, or len. */
static size_t find(const char *buf, size_t len, size_t from, const char *lit)
{
    size_t n = strlen(lit);
    for (size_t i = from; i + n <= len; i++)
        if (memcmp(buf + i, lit, n) == 0)
            return i;
    return len;
}

static size_t name_end(const char *buf, size_t len, size_t i)
{
    while (i < len && is_name_char(buf[i]))
        i++;
    return i;
}

static size_t skip_blanks(const char *buf, size_t len, size_t i)
{
    while (i < len && is_blank(buf[i]))
        i++;
    return i;
}

typedef struct open_tag {
    size_t at, len;   /* qualified name in buf */
} open_tag;

typedef struct tokenizer {
    const char *buf;
    size_t len;
    outbuf out;
    open_tag *stack;
    size_t depth, stack_cap;
    size_t secret_depth;  /* depth outside the secret element being skipped; SIZE_MAX: none */
    size_t secret_from;   /* where its content starts */
    int count;
} tokenizer;

#define NOT_IN_SECRET ((size_t)-1)

static int push(tokenizer *t, size_t at, size_t len)
{
    if (t->depth == t->stack_cap) {
        size_t cap = t->stack_cap ? t->stack_cap * 2 : 32;
        open_tag *s = realloc(t->stack, cap * sizeof *s);
        if (!s)
            return -1;
        t->stack = s;
        t->stack_cap = cap;
    }
    t->stack[t->depth++] = (open_tag){at, len};
    return 0;
}

static int emitting(const tokenizer *t) { return t->secret_depth == NOT_IN_SECRET; }

/* "<!--" ... "-->" or "<?" ... "?>" at i: kept, or its body replaced when it names a secret. */
static gw_status markup_with_body(tokenizer *t, size_t *i, const char *open, const char *close)
{
    size_t body = *i + strlen(open);
    size_t end = find(t->buf, t->len, body, close);
    if (end == t->len)
        return GW_ERR_MALFORMED_XML;
    size_t next = end + strlen(close);
    if (emitting(t)) {
        if (find_secret_name(t->buf + body, end - body) == end - body) {
            put(&t->out, t->buf + *i, next - *i);
        } else {
            /* A PI keeps its target so that the result stays well-formed. */
            size_t keep = strcmp(open, "<?") == 0 ? name_end(t->buf, end, body) : body;
            put(&t->out, t->buf + *i, keep - *i);
            put(&t->out, strcmp(open, "<?") == 0 ? " " : "", strcmp(open, "<?") == 0);
            put(&t->out, GW_REDACTED_MARKER, MARKER_LEN);
            put(&t->out, close, strlen(close));
            t->count++;
        }
    }
    *i = next;
    return GW_OK;
}

static gw_status start_tag(tokenizer *t, size_t *pi)
{
    const char *b = t->buf;
    size_t len = t->len, i = *pi, name = i + 1, ne = name_end(b, len, name);
    if (ne == name || b[name] == ':')
        return GW_ERR_MALFORMED_XML;
    size_t copied = i; /* bytes before this offset are already out (when emitting) */
    i = ne;
    int self_closing = 0;
    for (;;) {
        size_t j = skip_blanks(b, len, i);
        if (j >= len)
            return GW_ERR_MALFORMED_XML;
        if (b[j] == '>') {
            i = j + 1;
            break;
        }
        if (b[j] == '/') {
            if (j + 1 >= len || b[j + 1] != '>')
                return GW_ERR_MALFORMED_XML;
            self_closing = 1;
            i = j + 2;
            break;
        }
        if (j == i) /* an attribute must follow a blank */
            return GW_ERR_MALFORMED_XML;
        size_t an = j, ae = name_end(b, len, an);
        if (ae == an)
            return GW_ERR_MALFORMED_XML;
        j = skip_blanks(b, len, ae);
        if (j >= len || b[j] != '=')
            return GW_ERR_MALFORMED_XML;
        j = skip_blanks(b, len, j + 1);
        if (j >= len || (b[j] != '"' && b[j] != '\''))
            return GW_ERR_MALFORMED_XML;
        const char *q = memchr(b + j + 1, b[j], len - j - 1);
        if (!q)
            return GW_ERR_MALFORMED_XML;
        size_t vs = j + 1, ve = (size_t)(q - b);
        if (emitting(t) && local_is_secret(b + an, ae - an) && ve > vs) {
            put(&t->out, b + copied, vs - copied);
            put(&t->out, GW_REDACTED_MARKER, MARKER_LEN);
            copied = ve;
            t->count++;
        }
        i = ve + 1;
    }
    if (emitting(t))
        put(&t->out, b + copied, i - copied);
    if (!self_closing) {
        if (emitting(t) && local_is_secret(b + name, ne - name)) {
            t->secret_depth = t->depth;
            t->secret_from = i;
        }
        if (push(t, name, ne - name) != 0)
            return GW_ERR_NOMEM;
    }
    *pi = i;
    return GW_OK;
}

static gw_status end_tag(tokenizer *t, size_t *pi)
{
    const char *b = t->buf;
    size_t i = *pi, name = i + 2, ne = name_end(b, t->len, name);
    size_t j = skip_blanks(b, t->len, ne);
    if (ne == name || j >= t->len || b[j] != '>' || t->depth == 0)
        return GW_ERR_MALFORMED_XML;
    open_tag *top = &t->stack[t->depth - 1];
    if (top->len != ne - name || memcmp(b + top->at, b + name, top->len) != 0)
        return GW_ERR_MALFORMED_XML;
    t->depth--;
    if (t->secret_depth == t->depth) {
        if (i > t->secret_from) { /* <password></password> had nothing to hide */
            put(&t->out, GW_REDACTED_MARKER, MARKER_LEN);
            t->count++;
        }
        t->secret_depth = NOT_IN_SECRET;
    }
    if (emitting(t))
        put(&t->out, b + i, j + 1 - i);
    *pi = j + 1;
    return GW_OK;
}

static gw_status tokenize(tokenizer *t)
{
    const char *b = t->buf;
    size_t len = t->len, i = 0;
    if (memchr(b, '\0', len))
        return GW_ERR_MALFORMED_XML;
    while (i < len) {
        gw_status st = GW_OK;
        if (b[i] != '<') {
            const char *lt = memchr(b + i, '<', len - i);
            size_t e = lt ? (size_t)(lt - b) : len;
            if (emitting(t))
                put(&t->out, b + i, e - i);
            i = e;
        } else if (starts(b, len, i, "<!--")) {
            st = markup_with_body(t, &i, "<!--", "-->");
        } else if (starts(b, len, i, "<![CDATA[")) {
            size_t end = find(b, len, i + 9, "]]>");
            if (end == len)
                return GW_ERR_MALFORMED_XML;
            if (emitting(t))
                put(&t->out, b + i, end + 3 - i);
            i = end + 3;
        } else if (starts(b, len, i, "<?")) {
            st = markup_with_body(t, &i, "<?", "?>");
        } else if (starts(b, len, i, "<!")) {
            return GW_ERR_MALFORMED_XML; /* a DTD: the gateway refuses those anyway */
        } else if (starts(b, len, i, "</")) {
            st = end_tag(t, &i);
        } else {
            st = start_tag(t, &i);
        }
        if (st != GW_OK)
            return st;
    }
    if (t->depth != 0 || !emitting(t))
        return GW_ERR_MALFORMED_XML;
    return t->out.failed ? GW_ERR_NOMEM : GW_OK;
}

gw_status gw_redact_xml(gw_arena *arena, const char *buf, size_t len, const char **out,
                        size_t *out_len, int *count)
{
    tokenizer t = {.buf = buf, .len = len, .secret_depth = NOT_IN_SECRET};
    gw_status st = tokenize(&t);
    if (st != GW_OK)
        goto fail;
    char *dst = gw_arena_alloc(arena, t.out.len + 1);
    if (!dst) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    if (t.out.len)
        memcpy(dst, t.out.p, t.out.len);
    dst[t.out.len] = '\0';
    *out = dst;
    *out_len = t.out.len;
    if (count)
        *count = t.count;
fail:
    free(t.out.p);
    free(t.stack);
    return st;
}

/* ---- the check on the tree ---- */

static int text_is_marker_or_empty(const xmlChar *s)
{
    return !s || !*s || strcmp((const char *)s, GW_REDACTED_MARKER) == 0;
}

static int names_secret(const xmlChar *s)
{
    return s && find_secret_name((const char *)s, strlen((const char *)s)) !=
                    strlen((const char *)s);
}

static int node_is_clean(xmlNodePtr n)
{
    for (; n; n = n->next) {
        switch (n->type) {
        case XML_ELEMENT_NODE: {
            for (xmlAttrPtr a = n->properties; a; a = a->next) {
                if (!gw_redact_is_secret_name((const char *)a->name, strlen((const char *)a->name)))
                    continue;
                xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
                int ok = text_is_marker_or_empty(v);
                xmlFree(v);
                if (!ok)
                    return 0;
            }
            if (gw_redact_is_secret_name((const char *)n->name, strlen((const char *)n->name))) {
                xmlChar *v = xmlNodeGetContent(n);
                int ok = text_is_marker_or_empty(v);
                xmlFree(v);
                if (!ok)
                    return 0;
            }
            if (!node_is_clean(n->children))
                return 0;
            break;
        }
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
            if (names_secret(n->content))
                return 0;
            break;
        default:
            break;
        }
    }
    return 1;
}

int gw_redact_doc_is_clean(xmlDocPtr doc)
{
    return doc && node_is_clean(doc->children);
}

/* ---- the one function the log uses ---- */

static gw_status flagged_truncation(gw_arena *arena, const char *buf, size_t len,
                                    const char *reason, const char **out, size_t *out_len)
{
    size_t keep = find_secret_name(buf, len);
    if (keep > GW_REDACT_KEEP_MAX)
        keep = GW_REDACT_KEEP_MAX;
    for (size_t i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (!(c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c < 0x7f))) {
            keep = i;
            break;
        }
    }
    char *s = gw_arena_printf(arena, "%s %s; first %zu of %zu bytes kept]\n%.*s",
                              GW_REDACT_FLAG_PREFIX, reason, keep, len, (int)keep, buf);
    if (!s)
        return GW_ERR_NOMEM;
    *out = s;
    *out_len = strlen(s);
    return GW_OK;
}

gw_status gw_redact_request(gw_arena *arena, const char *buf, size_t len,
                            const gw_xml_limits *limits, const char **out, size_t *out_len,
                            int *flagged)
{
    if (flagged)
        *flagged = 0;
    if (!buf)
        buf = "";
    const char *red = NULL;
    size_t red_len = 0;
    const char *reason = NULL;
    gw_status st = gw_redact_xml(arena, buf, len, &red, &red_len, NULL);
    if (st == GW_ERR_NOMEM)
        return st;
    if (st != GW_OK) {
        reason = "not well-formed XML";
    } else if (strncmp(red, GW_REDACT_FLAG_PREFIX, strlen(GW_REDACT_FLAG_PREFIX)) == 0) {
        reason = "the request starts with the truncation flag";
    } else {
        xmlDocPtr doc = NULL;
        char err[256];
        if (gw_xml_parse(red, red_len, limits, &doc, err, sizeof err) != GW_OK)
            reason = "the redacted request does not parse";
        else if (!gw_redact_doc_is_clean(doc))
            reason = "a secret could not be removed";
        xmlFreeDoc(doc);
    }
    if (!reason) {
        *out = red;
        *out_len = red_len;
        return GW_OK;
    }
    if (flagged)
        *flagged = 1;
    return flagged_truncation(arena, buf, len, reason, out, out_len);
}

/* ---- scrubbing messages ---- */

typedef struct secret_list {
    xmlChar *v[16];
    size_t n;
} secret_list;

static void collect_secrets(xmlNodePtr n, secret_list *l)
{
    for (; n && l->n < 16; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (gw_redact_is_secret_name((const char *)n->name, strlen((const char *)n->name)))
            l->v[l->n++] = xmlNodeGetContent(n);
        for (xmlAttrPtr a = n->properties; a && l->n < 16; a = a->next)
            if (gw_redact_is_secret_name((const char *)a->name, strlen((const char *)a->name)))
                l->v[l->n++] = xmlNodeGetContent((xmlNodePtr)a);
        collect_secrets(n->children, l);
    }
}

const char *gw_redact_scrub_text(gw_arena *arena, xmlDocPtr doc, const char *text)
{
    if (!text || !doc)
        return text;
    secret_list l = {.n = 0};
    collect_secrets(doc->children, &l);
    const char *cur = text;
    for (size_t k = 0; k < l.n; k++) {
        const char *s = (const char *)l.v[k];
        size_t sl = s ? strlen(s) : 0;
        if (sl < 3 || !strstr(cur, s))
            continue;
        outbuf o = {0};
        for (const char *p = cur, *hit; *p; p = hit + sl) {
            hit = strstr(p, s);
            if (!hit) {
                put(&o, p, strlen(p));
                break;
            }
            put(&o, p, (size_t)(hit - p));
            put(&o, GW_REDACTED_MARKER, MARKER_LEN);
        }
        put(&o, "", 0);
        const char *next = o.failed ? "[message withheld]" : gw_arena_strndup(arena, o.p ? o.p : "", o.len);
        free(o.p);
        cur = next ? next : "[message withheld]";
    }
    for (size_t k = 0; k < l.n; k++)
        xmlFree(l.v[k]);
    return cur;
}
