/*
 * citizen_pdf.c — the citizen's report as a PDF (citizen_report.h, `--format pdf`): the text
 * report's lines (citizen_report_lines) laid out by the small PDF writer tools/pdf_text.c, so the
 * PDF says exactly what the text says, with the same data and wording, on A4 pages numbered
 * "Página N de M". No renderer program and no library beyond libc.
 */
#include <stdlib.h>
#include <string.h>

#include "citizen_report.h"
#include "pdf_text.h"

#define FIELD_INDENT 12.0 /* points: fields under their consultation's heading */
#define FIELD_TAB 118.0   /* where values start, past "Procedimiento" in bold */

static void pdf_line(void *ctx, citizen_line_kind kind, const char *label, const char *text)
{
    pdf_text *p = ctx;
    switch (kind) {
    case CITIZEN_LINE_TITLE:
        pdf_text_title(p, text);
        pdf_text_gap(p, 6);
        break;
    case CITIZEN_LINE_PARA:
        pdf_text_para(p, false, 0, text);
        break;
    case CITIZEN_LINE_NOTE:
        pdf_text_gap(p, 10);
        pdf_text_para(p, false, 0, text);
        break;
    case CITIZEN_LINE_HEADING:
        pdf_text_gap(p, 10);
        pdf_text_para(p, true, 0, text);
        break;
    case CITIZEN_LINE_FIELD: {
        size_t n = strlen(label);
        char *with_colon = malloc(n + 2);
        if (!with_colon)
            break;
        memcpy(with_colon, label, n);
        memcpy(with_colon + n, ":", 2);
        pdf_text_field(p, FIELD_INDENT, FIELD_TAB, with_colon, text);
        free(with_colon);
        break;
    }
    }
}

char *citizen_report_render_pdf(const citizen_report *r, const char *generated_at)
{
    pdf_text *p = pdf_text_new("Informe de consultas a sus datos (PIDE)");
    if (!p)
        return NULL;
    citizen_report_lines(r, generated_at, pdf_line, p);
    size_t len;
    char *pdf = pdf_text_finish(p, &len);
    pdf_text_free(p);
    return pdf;
}
