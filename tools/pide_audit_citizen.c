/*
 * pide_audit_citizen.c — `pide-audit citizen`: the citizen's report. Every consultation of one
 * person's data in the exchange log (when, in Lima time; which agency, by RUC and by the name the
 * gateway's configuration gives it; which service in plain words; which official; why; and what
 * came of it), as text for a terminal, JSON (schema "pide-citizen-report" version 1,
 * docs/auditor-guide.md) or a printable HTML page in Spanish for the person concerned.
 *
 *   pide-audit-citizen --conninfo CONNINFO --subject TYPE ID [--since T] [--until T]
 *                      [--format text|json|html|pdf] [--out FILE] [--members GATEWAY_CONFIG.xml]
 *                      [--timing]
 *
 * The query goes through PQexecParams (no user input in SQL text), after the session pinned
 * search_path = pg_catalog, pg_temp and the time zone America/Lima; the table is named
 * public.exchange_log. Exit status: 0 report written (also when there is no consultation),
 * 2 bad arguments (a malformed subject among them), 3 database or output error. --timing prints
 * to stderr how long the connection, the query and the rendering took (bench/citizen_report).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit_db.h"
#include "citizen_report.h"
#include "clock.h"
#include "exchange_log.h"
#include "namespaces.h"

#define PROG "pide-audit"
#define EXIT_OK 0
#define EXIT_USAGE 2
#define EXIT_DATABASE 3

/* Column order of the query below. */
enum { C_SEQ, C_ID, C_LIMA, C_UTC, C_MEMBER, C_USER, C_SERVICE, C_OPERATION, C_PURPOSE,
       C_PROCEDURE, C_OUTCOME, C_FAULT, C_RESULT, C_HTTP, C_AUTH, C_SUBSYSTEM, C_COUNT };

static const char QUERY[] =
    "SELECT seq::pg_catalog.text, exchange_id::pg_catalog.text, "
    "pg_catalog.to_char(t_request_in, 'YYYY-MM-DD HH24:MI:SS'), "
    "pg_catalog.to_char(t_request_in AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "client_member, client_user, service, operation, purpose, procedure, outcome, fault_code, "
    "result_code, http_status::pg_catalog.text, auth_method, client_subsystem "
    "FROM public.exchange_log "
    "WHERE subject_type OPERATOR(pg_catalog.=) $1 AND subject_id OPERATOR(pg_catalog.=) $2 "
    "AND ($3::pg_catalog.timestamptz IS NULL OR t_request_in OPERATOR(pg_catalog.>=) $3::pg_catalog.timestamptz) "
    "AND ($4::pg_catalog.timestamptz IS NULL OR t_request_in OPERATOR(pg_catalog.<) $4::pg_catalog.timestamptz) "
    "ORDER BY t_request_in, seq";

/* The log only has 0002/0003's client_subsystem from 0003 on: older logs read it as NULL. */
static const char QUERY_BEFORE_0003[] =
    "SELECT seq::pg_catalog.text, exchange_id::pg_catalog.text, "
    "pg_catalog.to_char(t_request_in, 'YYYY-MM-DD HH24:MI:SS'), "
    "pg_catalog.to_char(t_request_in AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "client_member, client_user, service, operation, purpose, procedure, outcome, fault_code, "
    "result_code, http_status::pg_catalog.text, auth_method, NULL::pg_catalog.text "
    "FROM public.exchange_log "
    "WHERE subject_type OPERATOR(pg_catalog.=) $1 AND subject_id OPERATOR(pg_catalog.=) $2 "
    "AND ($3::pg_catalog.timestamptz IS NULL OR t_request_in OPERATOR(pg_catalog.>=) $3::pg_catalog.timestamptz) "
    "AND ($4::pg_catalog.timestamptz IS NULL OR t_request_in OPERATOR(pg_catalog.<) $4::pg_catalog.timestamptz) "
    "ORDER BY t_request_in, seq";

/* ---- member names from the gateway's configuration ---------------------------------------- */

/* Reads <members><member id=".." name=".."/> of a gateway configuration into r's member table. */
static bool load_members(citizen_report *r, const char *path)
{
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    bool ok = false;
    if (!doc) {
        fprintf(stderr, PROG ": cannot read the gateway configuration '%s' (--members)\n", path);
        return false;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || !root->ns || strcmp((const char *)root->ns->href, GW_CONFIG_NS) != 0 ||
        strcmp((const char *)root->name, "gateway") != 0) {
        fprintf(stderr, PROG ": '%s' is not a gateway configuration (<gateway xmlns=\"%s\">)\n",
                path, GW_CONFIG_NS);
        goto fail;
    }
    for (xmlNodePtr s = root->children; s; s = s->next) {
        if (s->type != XML_ELEMENT_NODE || strcmp((const char *)s->name, "members") != 0) continue;
        for (xmlNodePtr m = s->children; m; m = m->next) {
            if (m->type != XML_ELEMENT_NODE || strcmp((const char *)m->name, "member") != 0)
                continue;
            xmlChar *id = xmlGetProp(m, BAD_CAST "id"), *name = xmlGetProp(m, BAD_CAST "name");
            bool added = !id || !name || citizen_report_add_member(r, (const char *)id,
                                                                   (const char *)name);
            xmlFree(id);
            xmlFree(name);
            if (!added) goto fail;
        }
    }
    ok = true;
fail:
    xmlFreeDoc(doc);
    return ok;
}

static bool has_column(PGconn *conn, const char *column, bool *out)
{
    const char *params[1] = {column};
    PGresult *res = PQexecParams(
        conn,
        "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid OPERATOR(pg_catalog.=) "
        "'public.exchange_log'::pg_catalog.regclass AND NOT attisdropped AND attname "
        "OPERATOR(pg_catalog.=) $1::pg_catalog.name",
        1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        audit_db_error(PROG, "reading the table's columns", PQerrorMessage(conn));
    else
        *out = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    return ok;
}

static const char *value_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int usage(void)
{
    fprintf(stderr, "usage: pide-audit citizen --subject TYPE ID [--since TIME] [--until TIME]\n"
                    "                          [--format text|json|html|pdf] [--out FILE]\n"
                    "                          [--members CONFIG]\n"
                    "(run through pide-audit, which supplies --conninfo)\n");
    return EXIT_USAGE;
}

static bool bad(const char *message)
{
    fprintf(stderr, PROG ": %s\n", message);
    return false;
}

int main(int argc, char **argv)
{
    const char *conninfo = NULL, *type = NULL, *id = NULL, *since = NULL, *until = NULL;
    const char *format = "text", *out_path = NULL, *members = NULL;
    citizen_report *r = NULL;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    FILE *out = NULL;
    char *rendered = NULL;
    int rc = EXIT_DATABASE;
    bool timing = false;
    int64_t t_start = gw_monotonic_us(), t_connected = 0, t_queried = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has1 = i + 1 < argc;
        if (strcmp(a, "--conninfo") == 0 && has1) conninfo = argv[++i];
        else if (strcmp(a, "--subject") == 0 && i + 2 < argc) { type = argv[++i]; id = argv[++i]; }
        else if (strcmp(a, "--since") == 0 && has1) since = argv[++i];
        else if (strcmp(a, "--until") == 0 && has1) until = argv[++i];
        else if (strcmp(a, "--format") == 0 && has1) format = argv[++i];
        else if (strcmp(a, "--out") == 0 && has1) out_path = argv[++i];
        else if (strcmp(a, "--members") == 0 && has1) members = argv[++i];
        else if (strcmp(a, "--timing") == 0) timing = true;
        else return usage();
    }
    if (!conninfo) return usage();
    if (!type || !id) {
        fprintf(stderr, PROG ": citizen needs --subject TYPE ID (e.g. --subject DNI 45678912)\n");
        return EXIT_USAGE;
    }
    citizen_format fmt;
    if (!citizen_parse_format(format, &fmt)) {
        fprintf(stderr, PROG ": --format must be text, json, html or pdf (not '%s')\n", format);
        return EXIT_USAGE;
    }
    char why[256];
    if (!citizen_subject_valid(type, id, why, sizeof why)) {
        fprintf(stderr, PROG ": %s\n", why);
        return EXIT_USAGE;
    }
    if ((since && !*since) || (until && !*until)) {
        bad("--since and --until need a time (e.g. 2026-01-01 or '2026-01-01 08:00-05')");
        return EXIT_USAGE;
    }

    r = citizen_report_new(type, id, since, until);
    if (!r) { fprintf(stderr, PROG ": out of memory\n"); goto done; }
    if (members) {
        if (!load_members(r, members)) { rc = EXIT_USAGE; goto done; }
        citizen_report_set_member_source(r, members);
    }

    /* The zone makes --since 2026-03-01 mean midnight in Lima, and the readable times Lima's;
     * set in the same round trip as the search_path. The report is one SELECT: one snapshot. */
    conn = audit_db_connect(PROG, conninfo, "SET TIME ZONE 'America/Lima'");
    if (!conn) goto done;
    t_connected = gw_monotonic_us();
    /* The query as of 0003 first; a log older than 0003 (no client_subsystem column, 42703)
     * gets the older query. One round trip less than asking the catalog first. */
    const char *params[4] = {type, id, since, until};
    res = PQexecParams(conn, QUERY, 4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        bool subsystem_column = true;
        if (state && strcmp(state, "42703") == 0) {
            if (!has_column(conn, "client_subsystem", &subsystem_column))
                goto done;
        }
        if (!subsystem_column) {
            PQclear(res);
            res = PQexecParams(conn, QUERY_BEFORE_0003, 4, NULL, params, NULL, NULL, 0);
        }
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        /* A bad --since is the caller's mistake (22007/22008: invalid datetime). */
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && strncmp(state, "22", 2) == 0) {
            fprintf(stderr, PROG ": --since/--until is not a time PostgreSQL understands: %s",
                    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
            fputc('\n', stderr);
            rc = EXIT_USAGE;
            goto done;
        }
        audit_db_error(PROG, "reading the consultations", PQerrorMessage(conn));
        goto done;
    }
    t_queried = gw_monotonic_us();
    {
        /* Detached months (migration 0009): their consultations are in archives only. */
        PGresult *ar =
            PQexec(conn, "SELECT pg_catalog.to_char(pg_catalog.max(pg_catalog.to_date("
                         "month, 'YYYY-MM')) OPERATOR(pg_catalog.+) '1 month'::pg_catalog."
                         "interval, 'YYYY-MM-DD') FROM public.exchange_retention WHERE "
                         "pg_catalog.to_regclass('public.exchange_retention') IS NOT NULL");
        if (PQresultStatus(ar) == PGRES_TUPLES_OK && PQntuples(ar) == 1 && !PQgetisnull(ar, 0, 0))
            citizen_report_set_archived_before(r, PQgetvalue(ar, 0, 0));
        PQclear(ar);
    }
    if (PQnfields(res) != C_COUNT) goto done;
    for (int row = 0; row < PQntuples(res); row++) {
        citizen_entry e = {
            .seq = value_or_null(res, row, C_SEQ),
            .exchange_id = value_or_null(res, row, C_ID),
            .time_lima = value_or_null(res, row, C_LIMA),
            .time_utc = value_or_null(res, row, C_UTC),
            .member = value_or_null(res, row, C_MEMBER),
            .official = value_or_null(res, row, C_USER),
            .service = value_or_null(res, row, C_SERVICE),
            .operation = value_or_null(res, row, C_OPERATION),
            .purpose = value_or_null(res, row, C_PURPOSE),
            .procedure = value_or_null(res, row, C_PROCEDURE),
            .outcome = value_or_null(res, row, C_OUTCOME),
            .fault_code = value_or_null(res, row, C_FAULT),
            .result_code = value_or_null(res, row, C_RESULT),
            .http_status = value_or_null(res, row, C_HTTP),
            .auth_method = value_or_null(res, row, C_AUTH),
            .subsystem = value_or_null(res, row, C_SUBSYSTEM),
        };
        if (!citizen_report_add(r, &e)) { fprintf(stderr, PROG ": out of memory\n"); goto done; }
    }

    char generated[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(generated, sizeof generated, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    rendered = citizen_report_render(r, fmt, generated);
    if (!rendered) { fprintf(stderr, PROG ": out of memory\n"); goto done; }

    if (out_path) {
        /* Personal data: readable by its owner only. */
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        out = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!out) {
            if (fd >= 0) close(fd);
            fprintf(stderr, PROG ": cannot write '%s': %s\n", out_path, strerror(errno));
            goto done;
        }
    }
    FILE *to = out ? out : stdout;
    if (fputs(rendered, to) == EOF || fflush(to) != 0) {
        fprintf(stderr, PROG ": cannot write the report: %s\n", strerror(errno));
        goto done;
    }
    if (out_path)
        fprintf(stderr, PROG ": report written to %s (%zu consultation(s))\n", out_path,
                citizen_report_count(r));
    if (timing)
        fprintf(stderr, PROG ": timing: connect %.1f ms, query %.1f ms, render %.1f ms\n",
                (double)(t_connected - t_start) / 1000, (double)(t_queried - t_connected) / 1000,
                (double)(gw_monotonic_us() - t_queried) / 1000);
    rc = EXIT_OK;
done:
    if (out && fclose(out) != 0 && rc == EXIT_OK) rc = EXIT_DATABASE;
    free(rendered);
    PQclear(res);
    if (conn) PQfinish(conn);
    citizen_report_free(r);
    return rc;
}
