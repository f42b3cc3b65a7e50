/* audit_db.c — the auditor tools' database session (see audit_db.h). */
#include "audit_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange_log.h"

void audit_db_error(const char *prog, const char *what, const char *detail)
{
    char line[1024];
    size_t at = 0;
    bool space = true;
    for (const char *p = detail ? detail : ""; *p && at + 1 < sizeof line; p++) {
        bool blank = *p == '\n' || *p == '\t' || *p == ' ' || *p == '\r';
        if (blank && space) continue;
        line[at++] = blank ? ' ' : *p;
        space = blank;
    }
    while (at > 0 && line[at - 1] == ' ') at--;
    line[at] = '\0';
    fprintf(stderr, "%s: cannot query the exchange log: %s%s%s\n", prog, what, at ? ": " : "",
            line);
}

bool audit_db_exec(const char *prog, PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) audit_db_error(prog, sql, PQerrorMessage(conn));
    PQclear(res);
    return ok;
}

PGconn *audit_db_connect(const char *prog, const char *conninfo, const char *extra_sql)
{
    const char *keys[] = {"application_name", "dbname", "client_encoding", NULL};
    const char *values[] = {"pide-audit", conninfo, "UTF8", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        audit_db_error(prog, "connecting", conn ? PQerrorMessage(conn) : "out of memory");
        PQfinish(conn);
        return NULL;
    }
    char sql[512];
    snprintf(sql, sizeof sql, "%s%s%s", GW_LOG_PIN_SEARCH_PATH_SQL, extra_sql ? "; " : "",
             extra_sql ? extra_sql : "");
    if (!audit_db_exec(prog, conn, sql)) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}
