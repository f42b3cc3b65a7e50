/*
 * citizen_report.c — renders the citizen's report (citizen_report.h): text for a terminal, JSON
 * built with jansson (so every string is escaped by the library), and an HTML page in Spanish in
 * which every value from the log passes through html_escape() — purpose, procedure, names and
 * codes are whatever callers and configurations said, and a purpose of
 * "<script>...</script>" must print as text.
 */
#include "citizen_report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peru_id.h"

#define CE_DIGITS 9 /* carné de extranjería, as Migraciones numbers it (adapters/common) */

typedef struct member_name {
    char *ruc, *name;
} member_name;

typedef struct entry {
    char *f[16];
} entry;
/* f[] indexes, in citizen_entry's field order. */
enum { E_SEQ, E_ID, E_LIMA, E_UTC, E_MEMBER, E_OFFICIAL, E_SERVICE, E_OPERATION, E_PURPOSE,
       E_PROCEDURE, E_OUTCOME, E_FAULT, E_RESULT, E_HTTP, E_AUTH, E_SUBSYSTEM, E_COUNT };

struct citizen_report {
    char *type, *id, *since, *until, *member_source;
    char *archived_before; /* YYYY-MM-DD: consultations before it were archived and detached */
    member_name *members;
    size_t n_members, cap_members;
    entry *entries;
    size_t n_entries, cap_entries;
};

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

bool citizen_parse_format(const char *name, citizen_format *out)
{
    if (!name) return false;
    if (strcmp(name, "text") == 0) *out = CITIZEN_TEXT;
    else if (strcmp(name, "json") == 0) *out = CITIZEN_JSON;
    else if (strcmp(name, "html") == 0) *out = CITIZEN_HTML;
    else if (strcmp(name, "pdf") == 0)
        *out = CITIZEN_PDF;
    else return false;
    return true;
}

bool citizen_subject_valid(const char *type, const char *id, char *why, size_t whylen)
{
    if (!type || !id) {
        snprintf(why, whylen, "--subject needs a TYPE and an ID");
        return false;
    }
    if (strcmp(type, "DNI") == 0) {
        if (gw_is_dni(id)) return true;
        snprintf(why, whylen, "'%.40s' is not a DNI (exactly %d digits, e.g. 45678912)", id,
                 GW_DNI_DIGITS);
        return false;
    }
    if (strcmp(type, "CE") == 0) {
        if (gw_is_digits(id, CE_DIGITS)) return true;
        snprintf(why, whylen,
                 "'%.40s' is not a carné de extranjería number (exactly %d digits, e.g. 001234567)",
                 id, CE_DIGITS);
        return false;
    }
    if (strcmp(type, "RUC") == 0) {
        if (gw_is_ruc(id)) return true;
        snprintf(why, whylen, "'%.40s' is not a RUC (exactly %d digits)", id, GW_RUC_DIGITS);
        return false;
    }
    snprintf(why, whylen, "unknown subject type '%.40s' (DNI, CE or RUC)", type);
    return false;
}

/* The services this gateway ships adapters for (conf/demo.xml, adapters/). */
static const struct {
    const char *service, *operation, *words;
} SERVICES[] = {
    {"ReniecConsultaDni", "consultar",
     "Consulta de sus datos de identidad (DNI) en el Registro Nacional de Identificación y "
     "Estado Civil (RENIEC)"},
    {"MigraCarnetdeExtrajeria", "consultarDocumento",
     "Consulta de su carné de extranjería en la Superintendencia Nacional de Migraciones"},
    {"AntecedentesPenales", "verificarAntecedentesPenales",
     "Verificación de sus antecedentes penales en el Poder Judicial"},
};

const char *citizen_service_description(const char *service, const char *operation)
{
    for (size_t i = 0; service && operation && i < sizeof SERVICES / sizeof SERVICES[0]; i++)
        if (strcmp(SERVICES[i].service, service) == 0 &&
            strcmp(SERVICES[i].operation, operation) == 0)
            return SERVICES[i].words;
    return NULL;
}

citizen_report *citizen_report_new(const char *type, const char *id, const char *since,
                                   const char *until)
{
    citizen_report *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->type = strdup(type);
    r->id = strdup(id);
    r->since = dup_or_null(since);
    r->until = dup_or_null(until);
    if (!r->type || !r->id || (since && !r->since) || (until && !r->until)) {
        citizen_report_free(r);
        return NULL;
    }
    return r;
}

void citizen_report_free(citizen_report *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_members; i++) {
        free(r->members[i].ruc);
        free(r->members[i].name);
    }
    for (size_t i = 0; i < r->n_entries; i++)
        for (int f = 0; f < E_COUNT; f++) free(r->entries[i].f[f]);
    free(r->members);
    free(r->entries);
    free(r->type);
    free(r->id);
    free(r->since);
    free(r->until);
    free(r->member_source);
    free(r->archived_before);
    free(r);
}

bool citizen_report_add_member(citizen_report *r, const char *ruc, const char *name)
{
    if (r->n_members == r->cap_members) {
        size_t cap = r->cap_members ? 2 * r->cap_members : 16;
        member_name *grown = realloc(r->members, cap * sizeof *grown);
        if (!grown) return false;
        r->members = grown;
        r->cap_members = cap;
    }
    member_name *m = &r->members[r->n_members];
    m->ruc = strdup(ruc);
    m->name = strdup(name);
    if (!m->ruc || !m->name) {
        free(m->ruc);
        free(m->name);
        return false;
    }
    r->n_members++;
    return true;
}

void citizen_report_set_member_source(citizen_report *r, const char *source)
{
    free(r->member_source);
    r->member_source = dup_or_null(source);
}

void citizen_report_set_archived_before(citizen_report *r, const char *date)
{
    free(r->archived_before);
    r->archived_before = dup_or_null(date);
}

static const char *member_name_of(const citizen_report *r, const char *ruc)
{
    for (size_t i = 0; ruc && i < r->n_members; i++)
        if (strcmp(r->members[i].ruc, ruc) == 0) return r->members[i].name;
    return NULL;
}

bool citizen_report_add(citizen_report *r, const citizen_entry *e)
{
    if (r->n_entries == r->cap_entries) {
        size_t cap = r->cap_entries ? 2 * r->cap_entries : 16;
        entry *grown = realloc(r->entries, cap * sizeof *grown);
        if (!grown) return false;
        r->entries = grown;
        r->cap_entries = cap;
    }
    const char *src[E_COUNT] = {e->seq, e->exchange_id, e->time_lima, e->time_utc, e->member,
                                e->official, e->service, e->operation, e->purpose, e->procedure,
                                e->outcome, e->fault_code, e->result_code, e->http_status,
                                e->auth_method, e->subsystem};
    entry *n = &r->entries[r->n_entries];
    for (int f = 0; f < E_COUNT; f++) {
        n->f[f] = dup_or_null(src[f]);
        if (src[f] && !n->f[f]) {
            for (int g = 0; g < f; g++) free(n->f[g]);
            return false;
        }
    }
    r->n_entries++;
    return true;
}

size_t citizen_report_count(const citizen_report *r) { return r->n_entries; }

/* ---- shared wording ------------------------------------------------------------------------ */

static const char *const MONTHS[12] = {"enero", "febrero", "marzo", "abril", "mayo", "junio",
                                       "julio", "agosto", "septiembre", "octubre", "noviembre",
                                       "diciembre"};

/* "2026-12-03 04:05:17" -> "3 de diciembre de 2026, 04:05:17"; anything else as it is. */
static void readable_time(const char *lima, char *out, size_t outlen)
{
    int y, mo, d, h, mi, s;
    if (lima && sscanf(lima, "%4d-%2d-%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) == 6 &&
        mo >= 1 && mo <= 12)
        snprintf(out, outlen, "%d de %s de %d, %02d:%02d:%02d", d, MONTHS[mo - 1], y, h, mi, s);
    else
        snprintf(out, outlen, "%s", lima ? lima : "(sin fecha)");
}

/* What came of it, in words: answered (with the service's own result code) or refused. */
static void outcome_words(const entry *e, char *out, size_t outlen)
{
    const char *outcome = e->f[E_OUTCOME];
    if (outcome && strcmp(outcome, "ok") == 0) {
        if (e->f[E_RESULT])
            snprintf(out, outlen, "Respondida (código de resultado del servicio: %s)",
                     e->f[E_RESULT]);
        else
            snprintf(out, outlen, "Respondida");
    } else if (outcome && strcmp(outcome, "fault") == 0) {
        snprintf(out, outlen, "Rechazada o fallida, sin entrega de sus datos (%s)",
                 e->f[E_FAULT] ? e->f[E_FAULT] : "sin código");
    } else {
        snprintf(out, outlen, "%s", outcome ? outcome : "(desconocido)");
    }
}

static void service_words(const entry *e, char *out, size_t outlen)
{
    const char *words = citizen_service_description(e->f[E_SERVICE], e->f[E_OPERATION]);
    if (words)
        snprintf(out, outlen, "%s", words);
    else
        snprintf(out, outlen, "Servicio %s, operación %s",
                 e->f[E_SERVICE] ? e->f[E_SERVICE] : "(sin nombre)",
                 e->f[E_OPERATION] ? e->f[E_OPERATION] : "(sin nombre)");
}

static const char *or_none(const char *s) { return s && *s ? s : "(no declarado)"; }

/* ---- text ----------------------------------------------------------------------------------- */

/* The text report's content once, for the text renderer below and the PDF. */
void citizen_report_lines(const citizen_report *r, const char *generated_at, citizen_line_fn fn,
                          void *ctx)
{
    char line[1024], when[96], what[512], result[256];
    snprintf(line, sizeof line, "Informe de consultas a los datos de %s %s", r->type, r->id);
    fn(ctx, CITIZEN_LINE_TITLE, NULL, line);
    snprintf(line, sizeof line, "Generado: %s (UTC). Horas en hora de Lima (UTC-5).", generated_at);
    fn(ctx, CITIZEN_LINE_PARA, NULL, line);
    if (r->since || r->until) {
        snprintf(line, sizeof line, "Periodo: desde %s hasta %s",
                 r->since ? r->since : "el inicio del registro", r->until ? r->until : "hoy");
        fn(ctx, CITIZEN_LINE_PARA, NULL, line);
    }
    if (r->archived_before) {
        snprintf(line, sizeof line,
                 "Las consultas anteriores al %s (UTC) están archivadas fuera de la base de datos "
                 "y no se muestran en este informe.",
                 r->archived_before);
        fn(ctx, CITIZEN_LINE_PARA, NULL, line);
    }
    if (r->n_entries == 0) {
        snprintf(line, sizeof line, "No se registra ninguna consulta a los datos de %s %s%s.",
                 r->type, r->id, r->since || r->until ? " en este periodo" : "");
        fn(ctx, CITIZEN_LINE_NOTE, NULL, line);
        return;
    }
    snprintf(line, sizeof line, "%zu consulta(s):", r->n_entries);
    fn(ctx, CITIZEN_LINE_PARA, NULL, line);
    for (size_t i = 0; i < r->n_entries; i++) {
        const entry *e = &r->entries[i];
        const char *name = member_name_of(r, e->f[E_MEMBER]);
        readable_time(e->f[E_LIMA], when, sizeof when);
        service_words(e, what, sizeof what);
        outcome_words(e, result, sizeof result);
        snprintf(line, sizeof line, "%zu. %s (hora de Lima)", i + 1, when);
        fn(ctx, CITIZEN_LINE_HEADING, NULL, line);
        /* Names and purposes are the callers' words and may be long: not truncated here. */
        const char *ruc = e->f[E_MEMBER] ? e->f[E_MEMBER] : "no identificado";
        const char *nm = name ? name : "nombre no disponible";
        size_t need = strlen(nm) + strlen(ruc) + 16;
        char *agency = malloc(need);
        if (agency)
            snprintf(agency, need, "%s (RUC %s)", nm, ruc);
        fn(ctx, CITIZEN_LINE_FIELD, "Entidad", agency ? agency : "(sin memoria)");
        free(agency);
        fn(ctx, CITIZEN_LINE_FIELD, "Servicio", what);
        snprintf(line, sizeof line, "DNI %s", or_none(e->f[E_OFFICIAL]));
        fn(ctx, CITIZEN_LINE_FIELD, "Funcionario", line);
        fn(ctx, CITIZEN_LINE_FIELD, "Finalidad", or_none(e->f[E_PURPOSE]));
        fn(ctx, CITIZEN_LINE_FIELD, "Procedimiento", or_none(e->f[E_PROCEDURE]));
        fn(ctx, CITIZEN_LINE_FIELD, "Resultado", result);
        fn(ctx, CITIZEN_LINE_FIELD, "Código de la consulta", e->f[E_ID] ? e->f[E_ID] : "");
    }
}

static void text_line(void *ctx, citizen_line_kind kind, const char *label, const char *text)
{
    FILE *o = ctx;
    if (kind == CITIZEN_LINE_HEADING || kind == CITIZEN_LINE_NOTE)
        fputc('\n', o);
    if (kind == CITIZEN_LINE_FIELD) {
        /* "   Entidad:         value": labels padded to one column, longer ones one space. */
        int used = (int)strlen(label) + 1;
        fprintf(o, "   %s:%*s%s\n", label, used < 17 ? 17 - used : 1, "", text);
    } else {
        fprintf(o, "%s\n", text);
    }
}

static void render_text(FILE *o, const citizen_report *r, const char *generated_at)
{
    citizen_report_lines(r, generated_at, text_line, o);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *build_json(const citizen_report *r, const char *generated_at)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < r->n_entries; i++) {
        const entry *e = &r->entries[i];
        const char *words = citizen_service_description(e->f[E_SERVICE], e->f[E_OPERATION]);
        json_t *item = json_pack(
            "{s:o, s:I, s:o, s:o, s:{s:o, s:o, s:o}, s:{s:o}, s:{s:o, s:o, s:o}, s:o, s:o, "
            "s:{s:o, s:o, s:o, s:o}, s:o}",
            "exchange_id", str_or_null(e->f[E_ID]),
            "seq", (json_int_t)(e->f[E_SEQ] ? strtoll(e->f[E_SEQ], NULL, 10) : 0),
            "time_utc", str_or_null(e->f[E_UTC]),
            "time_lima", str_or_null(e->f[E_LIMA]),
            "agency", "ruc", str_or_null(e->f[E_MEMBER]),
            "name", str_or_null(member_name_of(r, e->f[E_MEMBER])),
            "subsystem", str_or_null(e->f[E_SUBSYSTEM]),
            "official", "dni", str_or_null(e->f[E_OFFICIAL]),
            "service", "name", str_or_null(e->f[E_SERVICE]),
            "operation", str_or_null(e->f[E_OPERATION]),
            "description", str_or_null(words),
            "purpose", str_or_null(e->f[E_PURPOSE]),
            "procedure", str_or_null(e->f[E_PROCEDURE]),
            "outcome", "status", str_or_null(e->f[E_OUTCOME]),
            "result_code", str_or_null(e->f[E_RESULT]),
            "fault_code", str_or_null(e->f[E_FAULT]),
            "http_status", e->f[E_HTTP] ? json_integer(strtoll(e->f[E_HTTP], NULL, 10)) : json_null(),
            "auth_method", str_or_null(e->f[E_AUTH]));
        if (!item || json_array_append_new(list, item) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    if (!list) return NULL;
    json_t *doc = json_pack(
        "{s:s, s:i, s:s, s:{s:s, s:s}, s:{s:o, s:o}, s:s, s:o, s:I, s:o}", "report",
        "pide-citizen-report", "schema_version", 1, "generated_at", generated_at, "subject", "type",
        r->type, "id", r->id, "period", "since", str_or_null(r->since), "until",
        str_or_null(r->until), "time_zone", "America/Lima", "member_names_source",
        str_or_null(r->member_source), "count", (json_int_t)r->n_entries, "consultations", list);
    /* Only when months were detached, so a report of a log without retention is unchanged. */
    if (doc && r->archived_before &&
        json_object_set_new(doc, "archived_before", json_string(r->archived_before)) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* ---- HTML ----------------------------------------------------------------------------------- */

/* Text as HTML character data or a quoted attribute value: & < > " ' escaped; control characters
 * other than tab and newline dropped (they have no place on a page). */
static void html_escape(FILE *o, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        case '\'': fputs("&#39;", o); break;
        default:
            if (*p < 0x20 && *p != '\t' && *p != '\n') break;
            if (*p == 0x7f) break;
            fputc(*p, o);
        }
    }
}

static const char HTML_STYLE[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:48em;margin:2em auto;"
    "padding:0 1em;color:#111;line-height:1.45}"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}"
    ".meta{color:#444;font-size:.95em}"
    "article{border:1px solid #999;border-radius:4px;padding:.6em 1em;margin:1em 0;"
    "page-break-inside:avoid}"
    "article h3{font-size:1em;margin:.2em 0 .5em}"
    "dl{display:grid;grid-template-columns:11em 1fr;gap:.25em .8em;margin:0}"
    "dt{font-weight:bold}dd{margin:0;overflow-wrap:anywhere}"
    ".none{font-size:1.1em;padding:1em;border:1px solid #999}"
    "footer{margin-top:2em;font-size:.85em;color:#444}"
    "@media print{body{margin:0;max-width:none}a{color:#000}}";

static void html_item(FILE *o, const char *label, const char *value)
{
    fputs("<dt>", o);
    html_escape(o, label);
    fputs("</dt><dd>", o);
    html_escape(o, value);
    fputs("</dd>\n", o);
}

static void render_html(FILE *o, const citizen_report *r, const char *generated_at)
{
    char when[96], what[512], result[256], agency[512], official[128];
    fputs("<!DOCTYPE html>\n<html lang=\"es\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\">\n<title>Informe de consultas a sus datos personales — ",
          o);
    html_escape(o, r->type);
    fputc(' ', o);
    html_escape(o, r->id);
    fprintf(o, "</title>\n<style>%s</style>\n</head>\n<body>\n", HTML_STYLE);
    fputs("<header>\n<h1>Informe de consultas a sus datos personales</h1>\n<p class=\"meta\">"
          "Documento consultado: <strong>",
          o);
    html_escape(o, r->type);
    fputc(' ', o);
    html_escape(o, r->id);
    fputs("</strong><br>\nPeriodo: ", o);
    if (r->since || r->until) {
        fputs("desde ", o);
        html_escape(o, r->since ? r->since : "el inicio del registro");
        fputs(" hasta ", o);
        html_escape(o, r->until ? r->until : "la fecha de emisión");
    } else {
        fputs("todo el registro", o);
    }
    fputs("<br>\nEmitido el ", o);
    html_escape(o, generated_at);
    fputs(" (hora universal, UTC)", o);
    if (r->archived_before) {
        fputs("<br>\nLas consultas anteriores al ", o);
        html_escape(o, r->archived_before);
        fputs(" (UTC) están archivadas fuera de la base de datos y no se muestran en este "
              "informe.",
              o);
    }
    fputs("</p>\n</header>\n", o);

    fputs("<section>\n<h2>¿Qué es este informe?</h2>\n"
          "<p>Las entidades del Estado consultan datos de las personas a través de la Plataforma de "
          "Interoperabilidad del Estado (PIDE). Cada consulta que pasa por esta pasarela queda "
          "registrada, antes de que la entidad reciba la respuesta, en un registro protegido "
          "contra modificaciones (cada anotación está encadenada criptográficamente a la "
          "anterior).</p>\n"
          "<p>Este informe enumera todas las consultas registradas sobre el documento indicado: "
          "cuándo se hicieron (hora de Lima), qué entidad consultó, mediante qué servicio, qué "
          "funcionario la realizó, con qué finalidad declarada y cuál fue el resultado. La "
          "finalidad y el procedimiento son los que declaró la entidad consultante.</p>\n"
          "</section>\n",
          o);

    fputs("<section>\n<h2>Consultas registradas</h2>\n", o);
    if (r->n_entries == 0) {
        fputs("<p class=\"none\">No se registra ninguna consulta a los datos de este documento", o);
        if (r->since || r->until) fputs(" en el periodo indicado", o);
        fputs(".</p>\n", o);
    } else {
        fprintf(o, "<p>Se registran <strong>%zu</strong> consulta(s), de la más antigua a la más "
                   "reciente.</p>\n",
                r->n_entries);
    }
    for (size_t i = 0; i < r->n_entries; i++) {
        const entry *e = &r->entries[i];
        const char *name = member_name_of(r, e->f[E_MEMBER]);
        readable_time(e->f[E_LIMA], when, sizeof when);
        service_words(e, what, sizeof what);
        outcome_words(e, result, sizeof result);
        snprintf(agency, sizeof agency, "%s (RUC %s)", name ? name : "Nombre no disponible",
                 e->f[E_MEMBER] ? e->f[E_MEMBER] : "no identificado");
        snprintf(official, sizeof official, "DNI %s", or_none(e->f[E_OFFICIAL]));
        fprintf(o, "<article>\n<h3>Consulta %zu: ", i + 1);
        html_escape(o, when);
        fputs(" (hora de Lima)</h3>\n<dl>\n", o);
        html_item(o, "Entidad", agency);
        html_item(o, "Servicio", what);
        html_item(o, "Funcionario", official);
        html_item(o, "Finalidad", or_none(e->f[E_PURPOSE]));
        html_item(o, "Procedimiento", or_none(e->f[E_PROCEDURE]));
        html_item(o, "Resultado", result);
        html_item(o, "Código de la consulta", e->f[E_ID] ? e->f[E_ID] : "");
        fputs("</dl>\n</article>\n", o);
    }
    fputs("</section>\n", o);

    fputs("<section>\n<h2>¿Qué puede hacer si no reconoce una consulta?</h2>\n"
          "<p>La Ley N.º 29733, Ley de Protección de Datos Personales, le reconoce el derecho de "
          "acceso a la información sobre el tratamiento de sus datos y los derechos de "
          "rectificación, cancelación y oposición.</p>\n<ol>\n"
          "<li>Diríjase primero a la entidad que hizo la consulta (por su mesa de partes o su "
          "oficial de datos personales), indicando el <strong>código de la consulta</strong> que "
          "figura en este informe, y pida que le expliquen la finalidad y el procedimiento.</li>\n"
          "<li>Si no le responde o la respuesta no le satisface, puede presentar una reclamación "
          "ante la Autoridad Nacional de Protección de Datos Personales (Ministerio de Justicia y "
          "Derechos Humanos).</li>\n"
          "<li>Puede pedir a la entidad que opera esta pasarela una copia verificable de la "
          "anotación (un paquete de evidencia), que prueba que la consulta quedó registrada tal "
          "como se muestra.</li>\n</ol>\n</section>\n",
          o);
    fputs("<footer>\n<p>Informe generado a partir del registro de intercambios de la pasarela "
          "PIDE (pide-gateway). Nombre de las entidades: ",
          o);
    if (r->member_source) {
        fputs("según la configuración de la pasarela (", o);
        html_escape(o, r->member_source);
        fputs(").", o);
    } else {
        fputs("no disponible en este informe; se identifican por su RUC.", o);
    }
    fputs("</p>\n</footer>\n</body>\n</html>\n", o);
}

char *citizen_report_render(const citizen_report *r, citizen_format fmt, const char *generated_at)
{
    if (fmt == CITIZEN_PDF)
        return citizen_report_render_pdf(r, generated_at);
    if (fmt == CITIZEN_JSON) {
        json_t *doc = build_json(r, generated_at);
        if (!doc) return NULL;
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(doc);
        if (!text) return NULL;
        size_t n = strlen(text);
        char *with_newline = realloc(text, n + 2);
        if (!with_newline) { free(text); return NULL; }
        with_newline[n] = '\n';
        with_newline[n + 1] = '\0';
        return with_newline;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    if (!o) return NULL;
    if (fmt == CITIZEN_HTML)
        render_html(o, r, generated_at);
    else
        render_text(o, r, generated_at);
    if (fclose(o) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
