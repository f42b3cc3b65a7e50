/* check_pdf_text.c — the PDF writer (tools/pdf_text.c) without a viewer: every xref offset points
 * at its "N 0 obj", the trailer and startxref agree, stream lengths are exact, UTF-8 becomes
 * Windows-1252 ('?' for what it lacks and for malformed bytes), PDF syntax characters in text are
 * escaped, long words and long paragraphs wrap inside the margins and a long document spans
 * pages numbered "Página N de M". */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "pdf_text.h"

/* Every xref entry's offset starts "N 0 obj"; startxref points at "xref"; each stream's
 * /Length is the byte count up to "\nendstream". Returns the number of objects. */
static size_t check_structure(const char *pdf, size_t len)
{
    ck_assert(strncmp(pdf, "%PDF-1.4\n", 9) == 0);
    ck_assert_uint_eq(strlen(pdf), len); /* no NUL inside */
    const char *sx = strstr(pdf, "startxref\n");
    ck_assert_ptr_nonnull(sx);
    size_t xref = strtoul(sx + 10, NULL, 10);
    ck_assert(strncmp(pdf + xref, "xref\n0 ", 7) == 0);
    size_t count = strtoul(pdf + xref + 7, NULL, 10);
    const char *entry = strchr(pdf + xref + 7, '\n') + 1;
    ck_assert(strncmp(entry, "0000000000 65535 f \n", 20) == 0);
    for (size_t i = 1; i < count; i++) {
        const char *e = entry + 20 * i;
        ck_assert(e[10] == ' ' && strncmp(e + 11, "00000 n \n", 9) == 0);
        size_t off = strtoul(e, NULL, 10);
        char want[32];
        int n = snprintf(want, sizeof want, "%zu 0 obj\n", i);
        ck_assert_msg(strncmp(pdf + off, want, (size_t)n) == 0, "object %zu not at %zu", i, off);
    }
    const char *trailer = entry + 20 * count;
    char want[64];
    snprintf(want, sizeof want, "trailer\n<< /Size %zu /Root 1 0 R", count);
    ck_assert(strncmp(trailer, want, strlen(want)) == 0);
    ck_assert(strcmp(pdf + len - 6, "%%EOF\n") == 0);
    for (const char *s = strstr(pdf, "/Length "); s; s = strstr(s + 1, "/Length ")) {
        size_t slen = strtoul(s + 8, NULL, 10);
        const char *body = strstr(s, "stream\n") + 7;
        ck_assert(strncmp(body + slen, "\nendstream", 10) == 0);
    }
    return count - 1;
}

/* The text of every "(...) Tj", unescaped, each followed by '\n'; fails on an unbalanced or
 * unterminated string. Also the largest x + estimated width is not checked here (see wraps). */
static char *shown_text(const char *pdf)
{
    size_t cap = strlen(pdf) + 1, n = 0;
    char *out = malloc(cap);
    for (const char *s = strstr(pdf, " Td ("); s; s = strstr(s, " Td (")) {
        s += 5;
        while (*s && *s != ')') {
            if (*s == '\\') {
                s++;
                if (*s >= '0' && *s <= '7') {
                    out[n++] = (char)strtol((char[]){s[0], s[1], s[2], 0}, NULL, 8);
                    s += 3;
                    continue;
                }
                ck_assert(*s == '(' || *s == ')' || *s == '\\');
            } else {
                ck_assert_msg(*s != '(' && *s != '\n' && (unsigned char)*s < 0x7F,
                              "raw byte in a string");
            }
            out[n++] = *s++;
        }
        ck_assert(strncmp(s, ") Tj ET\n", 8) == 0);
        out[n++] = '\n';
    }
    out[n] = '\0';
    return out;
}

START_TEST(structure_and_trailer)
{
    pdf_text *p = pdf_text_new("Informe de prueba");
    ck_assert(pdf_text_title(p, "Título"));
    ck_assert(pdf_text_para(p, false, 0, "Una línea."));
    size_t len;
    char *pdf = pdf_text_finish(p, &len);
    ck_assert_ptr_nonnull(pdf);
    ck_assert_uint_eq(check_structure(pdf, len), 7); /* catalog, pages, 2 fonts, info, 1 page */
    ck_assert_uint_eq(pdf_text_pages(p), 1);
    ck_assert_ptr_nonnull(strstr(pdf, "/BaseFont /Helvetica /Encoding /WinAnsiEncoding"));
    ck_assert_ptr_nonnull(strstr(pdf, "/BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding"));
    ck_assert_ptr_nonnull(strstr(pdf, "/MediaBox [0 0 595 842]"));
    ck_assert_ptr_nonnull(strstr(pdf, "/Title (Informe de prueba)"));
    char *text = shown_text(pdf);
    ck_assert_ptr_nonnull(strstr(text, "T\355tulo\n"));
    ck_assert_ptr_nonnull(strstr(text, "Una l\355nea.\n"));
    ck_assert_ptr_nonnull(strstr(text, "P\341gina 1 de 1\n"));
    free(text);
    free(pdf);
    pdf_text_free(p);
}
END_TEST

START_TEST(winansi)
{
    char out[64];
    ck_assert_uint_eq(pdf_utf8_to_winansi("demostración ñÑ ¿¡ü", out, sizeof out), 19);
    ck_assert_str_eq(out, "demostraci\363n \361\321 \277\241\374");
    pdf_utf8_to_winansi("€ “x” – …", out, sizeof out);
    ck_assert_str_eq(out, "\200 \223x\224 \226 \205");
    pdf_utf8_to_winansi("漢 😀 \x01\t", out, sizeof out); /* outside 1252; controls */
    ck_assert_str_eq(out, "? ? ??");
    pdf_utf8_to_winansi("a\xC3(\xFF\xC0\xAF\xED\xA0\x80z", out, sizeof out); /* malformed */
    ck_assert(out[0] == 'a' && out[strlen(out) - 1] == 'z');
    for (const char *c = out + 1; *(c + 1); c++)
        ck_assert(*c == '?' || *c == '(');
    ck_assert_uint_eq(pdf_utf8_to_winansi("abcdef", out, 4), 3); /* truncated, terminated */
    ck_assert_str_eq(out, "abc");
}
END_TEST

START_TEST(syntax_characters_escaped)
{
    const char *hostile = "a) Tj ET (b\\) /F9 99 Tf ((( \\\\ endstream endobj";
    pdf_text *p = pdf_text_new(hostile);
    ck_assert(pdf_text_field(p, 12, 118, "Entidad (x):", hostile));
    ck_assert(pdf_text_para(p, true, 0, hostile));
    size_t len;
    char *pdf = pdf_text_finish(p, &len);
    check_structure(pdf, len);    /* "endstream" inside text did not cut the stream */
    char *text = shown_text(pdf); /* every string balanced and terminated */
    ck_assert_ptr_nonnull(strstr(text, "Entidad (x):\n"));
    ck_assert_ptr_nonnull(strstr(text, "a) Tj ET (b\\) /F9 99 Tf ((( \\\\ endstream endobj\n"));
    ck_assert_ptr_nonnull(strstr(pdf, "/Title (a\\) Tj ET \\(b\\\\\\) /F9"));
    free(text);
    free(pdf);
    pdf_text_free(p);
}
END_TEST

/* Each shown line's x and its width by the narrowest possible estimate must stay on the page. */
START_TEST(long_words_wrap)
{
    char word[3001];
    memset(word, 'W', 3000); /* the widest letter, no space to break at */
    word[3000] = '\0';
    pdf_text *p = pdf_text_new("x");
    ck_assert(pdf_text_field(p, 12, 118, "Finalidad:", word));
    size_t len;
    char *pdf = pdf_text_finish(p, &len);
    check_structure(pdf, len);
    char *text = shown_text(pdf);
    size_t lines = 0, ws = 0;
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
        lines++;
        size_t n = strlen(l);
        if (l[0] == 'W') {
            /* W is 944/1000 em at 10 pt: from x >= 187 the line must end before 538 */
            ck_assert_msg(n * 9.44 <= 595 - 57 - (57 + 12 + 118) + 0.01, "line of %zu W", n);
            ws += n;
        }
    }
    ck_assert_uint_eq(ws, 3000); /* nothing lost */
    ck_assert_uint_gt(lines, 3000 / 40);
    ck_assert_uint_gt(pdf_text_pages(p), 1);
    free(text);
    free(pdf);
    pdf_text_free(p);
}
END_TEST

START_TEST(long_document_spans_pages)
{
    pdf_text *p = pdf_text_new("largo");
    ck_assert(pdf_text_title(p, "Informe largo"));
    char line[64];
    for (int i = 1; i <= 300; i++) {
        snprintf(line, sizeof line, "Línea número %d", i);
        ck_assert(pdf_text_para(p, false, 0, line));
    }
    size_t len;
    char *pdf = pdf_text_finish(p, &len);
    size_t pages = pdf_text_pages(p);
    ck_assert_uint_ge(pages, 5); /* ~54 lines a page */
    ck_assert_uint_eq(check_structure(pdf, len), 5 + 2 * pages);
    char want[64];
    snprintf(want, sizeof want, "/Count %zu", pages);
    ck_assert_ptr_nonnull(strstr(pdf, want));
    char *text = shown_text(pdf);
    for (size_t i = 1; i <= pages; i++) {
        snprintf(want, sizeof want, "P\341gina %zu de %zu\n", i, pages);
        ck_assert_msg(strstr(text, want) != NULL, "no %s", want);
    }
    ck_assert_ptr_nonnull(strstr(text, "L\355nea n\372mero 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "L\355nea n\372mero 300\n"));
    /* Baselines never below the bottom margin (72) nor above the top (785). */
    for (const char *s = strstr(pdf, " Tf "); s; s = strstr(s + 1, " Tf ")) {
        double x, y;
        ck_assert(sscanf(s + 4, "%lf %lf Td", &x, &y) == 2);
        ck_assert(x >= 57 && x < 538);
        ck_assert((y >= 72 && y <= 785) || y == 36);
    }
    free(text);
    free(pdf);
    pdf_text_free(p);
}
END_TEST

START_TEST(empty_document)
{
    pdf_text *p = pdf_text_new(NULL);
    size_t len;
    char *pdf = pdf_text_finish(p, &len);
    ck_assert_uint_eq(check_structure(pdf, len), 7);
    free(pdf);
    pdf_text_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pdf_text");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, structure_and_trailer);
    tcase_add_test(tc, winansi);
    tcase_add_test(tc, syntax_characters_escaped);
    tcase_add_test(tc, long_words_wrap);
    tcase_add_test(tc, long_document_spans_pages);
    tcase_add_test(tc, empty_document);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
