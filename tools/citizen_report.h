/*
 * citizen_report.h — the citizen's report of `pide-audit citizen` (tools/pide_audit_citizen.c):
 * the subject's validation, the table of member names, the plain-words names of the services and
 * the three renderings (text, JSON schema "pide-citizen-report" v1, printable Spanish HTML with
 * every value escaped). No database here: the program feeds it rows, the unit test
 * (tests/unit/check_citizen_report.c) feeds it hostile ones.
 */
#ifndef PIDE_CITIZEN_REPORT_H
#define PIDE_CITIZEN_REPORT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { CITIZEN_TEXT, CITIZEN_JSON, CITIZEN_HTML, CITIZEN_PDF } citizen_format;

/* One consultation, as the log has it; NULL means the column is NULL. Strings are copied. */
typedef struct citizen_entry {
    const char *seq, *exchange_id, *time_lima, *time_utc, *member, *official, *service,
        *operation, *purpose, *procedure, *outcome, *fault_code, *result_code, *http_status,
        *auth_method, *subsystem;
} citizen_entry;

typedef struct citizen_report citizen_report;

bool citizen_parse_format(const char *name, citizen_format *out);
/* DNI: 8 digits; CE (carné de extranjería): 9 digits; RUC: 11 digits. Anything else false, with
 * the reason in why. */
bool citizen_subject_valid(const char *type, const char *id, char *why, size_t whylen);
/* The service and operation in plain Spanish words, or NULL when the pair is not known. */
const char *citizen_service_description(const char *service, const char *operation);

citizen_report *citizen_report_new(const char *type, const char *id, const char *since,
                                   const char *until);
void citizen_report_free(citizen_report *r);
bool citizen_report_add_member(citizen_report *r, const char *ruc, const char *name);
void citizen_report_set_member_source(citizen_report *r, const char *source);
/* Months detached after their archive (pide-audit detach): consultations before `date`
 * (YYYY-MM-DD, UTC) are not in the database; the report says so. */
void citizen_report_set_archived_before(citizen_report *r, const char *date);
bool citizen_report_add(citizen_report *r, const citizen_entry *e);
size_t citizen_report_count(const citizen_report *r);
/* The whole report, NUL-terminated, malloc'd; NULL when out of memory. generated_at is an ISO
 * UTC time ("2026-12-03T04:05:17Z"). */
char *citizen_report_render(const citizen_report *r, citizen_format fmt, const char *generated_at);

/* The text report's lines, in order, for renderers that lay them out themselves (the PDF,
 * tools/citizen_pdf.c): a TITLE, PARAgraphs, and per consultation a HEADING then FIELDs (label
 * without its colon, value). A blank line goes before each HEADING and NOTE. */
typedef enum {
    CITIZEN_LINE_TITLE,
    CITIZEN_LINE_PARA,
    CITIZEN_LINE_NOTE,
    CITIZEN_LINE_HEADING,
    CITIZEN_LINE_FIELD
} citizen_line_kind;
typedef void (*citizen_line_fn)(void *ctx, citizen_line_kind kind, const char *label,
                                const char *text);
void citizen_report_lines(const citizen_report *r, const char *generated_at, citizen_line_fn fn,
                          void *ctx);
/* The PDF (tools/citizen_pdf.c): NUL-terminated (a PDF with no NUL byte), malloc'd. */
char *citizen_report_render_pdf(const citizen_report *r, const char *generated_at);

#endif
