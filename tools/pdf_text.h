/*
 * pdf_text.h — a small PDF 1.4 writer for text documents (the citizen's report, `pide-audit
 * citizen --format pdf`): A4 pages, the standard Helvetica and Helvetica-Bold fonts with
 * WinAnsiEncoding (UTF-8 converted to Windows-1252; what it lacks prints as '?'), word-wrapped
 * paragraphs and "label: value" fields, page breaks with "Página N de M" at the foot of every
 * page, an exact xref table. No library: every string is escaped here ('(', ')', '\' and bytes
 * above 0x7E as octal), so the output is plain ASCII after the header's binary comment and
 * contains no NUL byte.
 */
#ifndef PIDE_PDF_TEXT_H
#define PIDE_PDF_TEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pdf_text pdf_text;

/* title goes into the document information dictionary (what pdfinfo shows as Title). */
pdf_text *pdf_text_new(const char *title);
void pdf_text_free(pdf_text *p);
/* A heading in 16 pt bold, wrapped to the page width. */
bool pdf_text_title(pdf_text *p, const char *utf8);
/* A paragraph in 10 pt, starting indent points right of the left margin, wrapped. */
bool pdf_text_para(pdf_text *p, bool bold, double indent, const char *utf8);
/* "label value": label in bold at indent, value from indent + tab (or just after a longer
 * label), its continuation lines aligned under its first. */
bool pdf_text_field(pdf_text *p, double indent, double tab, const char *label, const char *value);
/* Vertical space in points (dropped at the top of a page). */
void pdf_text_gap(pdf_text *p, double points);
/* The whole file, malloc'd and NUL-terminated (the PDF holds no NUL); *len its length without
 * the NUL. NULL when out of memory (or an earlier call failed). p stays to be freed. */
char *pdf_text_finish(pdf_text *p, size_t *len);
size_t pdf_text_pages(const pdf_text *p);

/* UTF-8 to Windows-1252, NUL-terminated in out (at most outlen - 1 bytes). Code points missing
 * from Windows-1252, control characters and malformed UTF-8 become '?'. Returns the length. */
size_t pdf_utf8_to_winansi(const char *utf8, char *out, size_t outlen);

#endif
