/* redact.c — byte-level redaction of element text in a serialised request (see redact.h). */
#include "redact.h"

#include <string.h>

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || (unsigned char)c >= 0x80;
}

/* If buf[i] starts an opening tag whose local name is `name`, returns the length of its
 * qualified name and sets *qname; otherwise 0. */
static size_t opening_tag_qname(const char *buf, size_t len, size_t i, const char *name,
                                const char **qname)
{
    if (buf[i] != '<' || i + 1 >= len || !is_name_char(buf[i + 1]))
        return 0;
    size_t s = i + 1, e = s;
    while (e < len && (is_name_char(buf[e]) || buf[e] == ':'))
        e++;
    const char *colon = memchr(buf + s, ':', e - s);
    const char *local = colon ? colon + 1 : buf + s;
    size_t local_len = (size_t)(buf + e - local);
    if (local_len != strlen(name) || memcmp(local, name, local_len) != 0)
        return 0;
    if (e < len && buf[e] != '>' && buf[e] != '/' && buf[e] != ' ' && buf[e] != '\t' &&
        buf[e] != '\r' && buf[e] != '\n')
        return 0;
    *qname = buf + s;
    return e - s;
}

/* Position of "</qname" + optional blanks + ">" at or after `from`, or len. */
static size_t closing_tag_at(const char *buf, size_t len, size_t from, const char *qname,
                             size_t qlen)
{
    for (size_t i = from; i + 2 + qlen < len; i++) {
        if (buf[i] != '<' || buf[i + 1] != '/' || memcmp(buf + i + 2, qname, qlen) != 0)
            continue;
        size_t j = i + 2 + qlen;
        while (j < len && (buf[j] == ' ' || buf[j] == '\t' || buf[j] == '\r' || buf[j] == '\n'))
            j++;
        if (j < len && buf[j] == '>')
            return i;
    }
    return len;
}

gw_status gw_redact_element_text(gw_arena *arena, const char *buf, size_t len,
                                 const char *local_name, const char **out, size_t *out_len,
                                 int *count)
{
    size_t marker_len = strlen(GW_REDACTED_MARKER);
    /* Redaction never makes the text longer than the input plus one marker per element, and
     * an element is at least 7 bytes, so this bound holds. */
    char *dst = gw_arena_alloc(arena, len + (len / 7 + 1) * marker_len + 1);
    if (!dst)
        return GW_ERR_NOMEM;
    size_t o = 0, i = 0;
    int n = 0;
    while (i < len) {
        const char *qname = NULL;
        size_t qlen = opening_tag_qname(buf, len, i, local_name, &qname);
        if (!qlen) {
            dst[o++] = buf[i++];
            continue;
        }
        const char *gt = memchr(buf + i, '>', len - i);
        if (!gt)
            break;
        size_t content = (size_t)(gt - buf) + 1;
        memcpy(dst + o, buf + i, content - i);
        o += content - i;
        i = content;
        if (gt > buf && gt[-1] == '/')
            continue; /* <password/>: nothing to hide */
        size_t close = closing_tag_at(buf, len, content, qname, qlen);
        memcpy(dst + o, GW_REDACTED_MARKER, marker_len);
        o += marker_len;
        n++;
        i = close;
    }
    while (i < len)
        dst[o++] = buf[i++];
    dst[o] = '\0';
    *out = dst;
    *out_len = o;
    if (count)
        *count = n;
    return GW_OK;
}
