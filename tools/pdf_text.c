/*
 * pdf_text.c — the PDF 1.4 writer of pdf_text.h. Pages are kept as content streams in memory
 * until pdf_text_finish(), which knows the page count for "Página N de M", then writes the
 * objects in order while recording each one's byte offset for the xref table. Widths for
 * wrapping come from the Helvetica and Helvetica-Bold font metrics (Adobe's AFM files); accented
 * letters are as wide as their base letters there, other upper-half characters count as 1000
 * (too wide rather than past the margin).
 */
#include "pdf_text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_W 595.0 /* A4 in points */
#define PAGE_H 842.0
#define MARGIN 57.0 /* 2 cm */
#define TOP (PAGE_H - MARGIN)
#define BOTTOM 72.0 /* lowest baseline of the text; the page number sits below */
#define BODY_SIZE 10.0
#define BODY_LEAD 13.0
#define TITLE_SIZE 16.0
#define TITLE_LEAD 20.0
#define FOOT_SIZE 9.0
#define MAX_LINE 4096

/* Helvetica, Helvetica-Bold: widths of 32..126 in 1/1000 em. */
static const short W_REG[95] = {
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333,  278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,  611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278,  556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500,  500, 334, 260, 334, 584};
static const short W_BOLD[95] = {
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584};
/* 0xC0..0xFF: the letter whose width each one has; '#' = count as 1000. */
static const char LATIN_BASE[65] =
    "AAAAAA#CEEEEIIIIDNOOOOO+OUUUUYP#aaaaaa#ceeeeiiiionooooo+ouuuuypy";

static double char_width(unsigned char c, bool bold)
{
    const short *w = bold ? W_BOLD : W_REG;
    if (c >= 32 && c <= 126)
        return w[c - 32];
    if (c == 0xA1)
        return 333; /* ¡ */
    if (c == 0xBF)
        return 611; /* ¿ */
    if (c == 0xB0)
        return 400; /* ° */
    if (c == 0xAA || c == 0xBA)
        return 370; /* ª º */
    if (c >= 0xC0) {
        char base = LATIN_BASE[c - 0xC0];
        if (base != '#')
            return w[(unsigned char)base - 32];
    }
    return 1000;
}

static double text_width(const char *s, size_t n, bool bold, double size)
{
    double w = 0;
    for (size_t i = 0; i < n; i++)
        w += char_width((unsigned char)s[i], bold);
    return w * size / 1000.0;
}

/* ---- UTF-8 to Windows-1252 ------------------------------------------------------------------ */

static const struct {
    uint32_t cp;
    unsigned char b;
} CP1252_HIGH[] = {{0x20AC, 0x80}, {0x201A, 0x82}, {0x0192, 0x83}, {0x201E, 0x84}, {0x2026, 0x85},
                   {0x2020, 0x86}, {0x2021, 0x87}, {0x02C6, 0x88}, {0x2030, 0x89}, {0x0160, 0x8A},
                   {0x2039, 0x8B}, {0x0152, 0x8C}, {0x017D, 0x8E}, {0x2018, 0x91}, {0x2019, 0x92},
                   {0x201C, 0x93}, {0x201D, 0x94}, {0x2022, 0x95}, {0x2013, 0x96}, {0x2014, 0x97},
                   {0x02DC, 0x98}, {0x2122, 0x99}, {0x0161, 0x9A}, {0x203A, 0x9B}, {0x0153, 0x9C},
                   {0x017E, 0x9E}, {0x0178, 0x9F}};

static unsigned char winansi_of(uint32_t cp)
{
    if (cp >= 0x20 && cp <= 0x7E)
        return (unsigned char)cp;
    if (cp >= 0xA0 && cp <= 0xFF)
        return (unsigned char)cp;
    for (size_t i = 0; i < sizeof CP1252_HIGH / sizeof CP1252_HIGH[0]; i++)
        if (CP1252_HIGH[i].cp == cp)
            return CP1252_HIGH[i].b;
    return '?';
}

size_t pdf_utf8_to_winansi(const char *utf8, char *out, size_t outlen)
{
    const unsigned char *s = (const unsigned char *)(utf8 ? utf8 : "");
    size_t n = 0;
    if (outlen == 0)
        return 0;
    while (*s && n + 1 < outlen) {
        uint32_t cp;
        int more;
        if (s[0] < 0x80) {
            cp = s[0];
            more = 0;
        } else if ((s[0] & 0xE0) == 0xC0 && s[0] >= 0xC2) {
            cp = s[0] & 0x1F;
            more = 1;
        } else if ((s[0] & 0xF0) == 0xE0) {
            cp = s[0] & 0x0F;
            more = 2;
        } else if ((s[0] & 0xF8) == 0xF0 && s[0] <= 0xF4) {
            cp = s[0] & 0x07;
            more = 3;
        } else {
            out[n++] = '?';
            s++;
            continue;
        }
        int k = 1;
        for (; k <= more && (s[k] & 0xC0) == 0x80; k++)
            cp = (cp << 6) | (s[k] & 0x3F);
        if (k <= more || (more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            out[n++] = '?'; /* malformed: one '?' for the lead byte, resynchronise after it */
            s++;
            continue;
        }
        out[n++] = (char)winansi_of(cp);
        s += k;
    }
    out[n] = '\0';
    return n;
}

/* ---- buffers -------------------------------------------------------------------------------- */

typedef struct buf {
    char *d;
    size_t len, cap;
    bool failed;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->d, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->d = grown;
        b->cap = cap;
    }
    memcpy(b->d + b->len, s, n);
    b->len += n;
    b->d[b->len] = '\0';
}

static void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->failed = true;
        return;
    }
    buf_add(b, tmp, (size_t)n);
}

/* A PDF literal string of WinAnsi bytes: ( ) \ escaped, bytes outside printable ASCII octal. */
static void buf_pdf_string(buf *b, const char *s, size_t n)
{
    buf_add(b, "(", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '(' || c == ')' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            buf_add(b, esc, 2);
        } else if (c < 0x20 || c > 0x7E) {
            buf_printf(b, "\\%03o", c);
        } else {
            buf_add(b, (const char *)&c, 1);
        }
    }
    buf_add(b, ")", 1);
}

/* ---- the document --------------------------------------------------------------------------- */

struct pdf_text {
    char *title; /* WinAnsi */
    buf *pages;
    size_t n_pages, cap_pages;
    double y; /* baseline of the last line on the current page */
    bool failed;
};

pdf_text *pdf_text_new(const char *title)
{
    pdf_text *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    size_t n = strlen(title ? title : "");
    p->title = malloc(n + 1);
    if (!p->title) {
        free(p);
        return NULL;
    }
    pdf_utf8_to_winansi(title, p->title, n + 1);
    return p;
}

void pdf_text_free(pdf_text *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_pages; i++)
        free(p->pages[i].d);
    free(p->pages);
    free(p->title);
    free(p);
}

size_t pdf_text_pages(const pdf_text *p) { return p->n_pages; }

static bool new_page(pdf_text *p)
{
    if (p->n_pages == p->cap_pages) {
        size_t cap = p->cap_pages ? 2 * p->cap_pages : 8;
        buf *grown = realloc(p->pages, cap * sizeof *grown);
        if (!grown)
            return p->failed = true, false;
        p->pages = grown;
        p->cap_pages = cap;
    }
    memset(&p->pages[p->n_pages++], 0, sizeof(buf));
    p->y = TOP;
    return true;
}

/* Room for one more line of this leading: a new page when it would pass the bottom. */
static buf *line_room(pdf_text *p, double lead)
{
    if (p->failed)
        return NULL;
    if (p->n_pages == 0 || p->y - lead < BOTTOM)
        if (!new_page(p))
            return NULL;
    p->y -= lead;
    return &p->pages[p->n_pages - 1];
}

static void show(buf *b, bool bold, double size, double x, double y, const char *s, size_t n)
{
    buf_printf(b, "BT /%s %.1f Tf %.2f %.2f Td ", bold ? "F2" : "F1", size, x, y);
    buf_pdf_string(b, s, n);
    buf_str(b, " Tj ET\n");
}

/* How many bytes of s (length n) go on a line max_w wide: up to the last space that fits, or
 * as many characters as fit when one word is wider than the line (at least one). */
static size_t fit(const char *s, size_t n, bool bold, double size, double max_w)
{
    double w = 0;
    size_t last_space = 0;
    for (size_t i = 0; i < n; i++) {
        w += char_width((unsigned char)s[i], bold) * size / 1000.0;
        if (w > max_w) {
            if (last_space)
                return last_space;
            return i ? i : 1;
        }
        if (s[i] == ' ')
            last_space = i;
    }
    return n;
}

/* Write utf8 wrapped from x (first line from first_x, which may follow a label). */
static bool wrapped(pdf_text *p, bool bold, double size, double lead, double first_x, double x,
                    const char *utf8, const char *label, double label_x)
{
    char *t = malloc(strlen(utf8 ? utf8 : "") + 1);
    if (!t)
        return p->failed = true, false;
    size_t n = pdf_utf8_to_winansi(utf8, t, strlen(utf8 ? utf8 : "") + 1);
    size_t pos = 0;
    bool first = true;
    do {
        double lx = first ? first_x : x;
        size_t take = fit(t + pos, n - pos, bold, size, PAGE_W - MARGIN - lx);
        buf *b = line_room(p, lead);
        if (!b)
            break;
        if (first && label) {
            char lt[MAX_LINE];
            size_t ln = pdf_utf8_to_winansi(label, lt, sizeof lt);
            show(b, true, size, label_x, p->y, lt, ln);
        }
        show(b, bold, size, lx, p->y, t + pos, take);
        pos += take;
        while (pos < n && t[pos] == ' ')
            pos++; /* the break's space is not carried over */
        first = false;
    } while (pos < n);
    free(t);
    return !p->failed;
}

bool pdf_text_title(pdf_text *p, const char *utf8)
{
    return wrapped(p, true, TITLE_SIZE, TITLE_LEAD, MARGIN, MARGIN, utf8, NULL, 0);
}

bool pdf_text_para(pdf_text *p, bool bold, double indent, const char *utf8)
{
    return wrapped(p, bold, BODY_SIZE, BODY_LEAD, MARGIN + indent, MARGIN + indent, utf8, NULL, 0);
}

bool pdf_text_field(pdf_text *p, double indent, double tab, const char *label, const char *value)
{
    char lt[MAX_LINE];
    size_t ln = pdf_utf8_to_winansi(label, lt, sizeof lt);
    double lw = text_width(lt, ln, true, BODY_SIZE) + char_width(' ', true) * BODY_SIZE / 1000.0;
    double vx = MARGIN + indent + (lw > tab ? lw : tab);
    if (vx > PAGE_W / 2)
        vx = PAGE_W / 2; /* a silly label must still leave room for its value */
    return wrapped(p, false, BODY_SIZE, BODY_LEAD, vx, vx, value, label, MARGIN + indent);
}

void pdf_text_gap(pdf_text *p, double points)
{
    if (p->n_pages == 0 || p->y == TOP)
        return;
    if (p->y - points < BOTTOM)
        p->y = BOTTOM; /* the next line opens a new page */
    else
        p->y -= points;
}

char *pdf_text_finish(pdf_text *p, size_t *len)
{
    if (p->failed)
        return NULL;
    if (p->n_pages == 0 && !new_page(p))
        return NULL;
    for (size_t i = 0; i < p->n_pages; i++)
        if (p->pages[i].failed)
            return NULL;

    size_t n_obj = 5 + 2 * p->n_pages; /* 1 catalog, 2 pages, 3-4 fonts, 5 info, page+content */
    size_t *off = calloc(n_obj + 1, sizeof *off);
    if (!off)
        return NULL;
    buf o = {0};
    buf_str(&o, "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");

    off[1] = o.len;
    buf_str(&o, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    off[2] = o.len;
    buf_printf(&o, "2 0 obj\n<< /Type /Pages /Count %zu /Kids [", p->n_pages);
    for (size_t i = 0; i < p->n_pages; i++)
        buf_printf(&o, " %zu 0 R", 6 + 2 * i);
    buf_str(&o, " ] >>\nendobj\n");
    off[3] = o.len;
    buf_printf(&o, "3 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                   "/Encoding /WinAnsiEncoding >>\nendobj\n");
    off[4] = o.len;
    buf_printf(&o, "4 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold "
                   "/Encoding /WinAnsiEncoding >>\nendobj\n");
    off[5] = o.len;
    buf_printf(&o, "5 0 obj\n<< /Title ");
    buf_pdf_string(&o, p->title, strlen(p->title));
    buf_printf(&o, " /Producer (pide-gateway pdf_text) >>\nendobj\n");

    for (size_t i = 0; i < p->n_pages; i++) {
        buf content = {0};
        char foot[64];
        char foot_w[64];
        snprintf(foot, sizeof foot, "Página %zu de %zu", i + 1, p->n_pages);
        size_t fn = pdf_utf8_to_winansi(foot, foot_w, sizeof foot_w);
        buf_add(&content, p->pages[i].d ? p->pages[i].d : "", p->pages[i].len);
        show(&content, false, FOOT_SIZE, (PAGE_W - text_width(foot_w, fn, false, FOOT_SIZE)) / 2,
             36, foot_w, fn);
        off[6 + 2 * i] = o.len;
        buf_printf(&o,
                   "%zu 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                   "/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %zu 0 R >>\n"
                   "endobj\n",
                   6 + 2 * i, 7 + 2 * i);
        off[7 + 2 * i] = o.len;
        buf_printf(&o, "%zu 0 obj\n<< /Length %zu >>\nstream\n", 7 + 2 * i, content.len);
        if (content.failed)
            o.failed = true;
        else
            buf_add(&o, content.d, content.len);
        buf_str(&o, "\nendstream\nendobj\n");
        free(content.d);
    }

    size_t xref = o.len;
    buf_printf(&o, "xref\n0 %zu\n0000000000 65535 f \n", n_obj + 1);
    for (size_t i = 1; i <= n_obj; i++)
        buf_printf(&o, "%010zu 00000 n \n", off[i]);
    buf_printf(&o, "trailer\n<< /Size %zu /Root 1 0 R /Info 5 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
               n_obj + 1, xref);
    free(off);
    if (o.failed) {
        free(o.d);
        return NULL;
    }
    if (len)
        *len = o.len;
    return o.d;
}
