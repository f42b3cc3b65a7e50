/*
 * audit_db.h — the auditor tools' one way to open and use their database session
 * (pide-audit-verify, pide-audit-bundle, pide-audit-citizen).
 *
 * One policy: a libpq connection as "pide-audit" in UTF-8 (the row hash is over UTF-8 text),
 * search_path pinned to pg_catalog, pg_temp by an explicit SET (it beats ALTER DATABASE/ROLE ...
 * SET and options=; docs/security.md), and libpq's multi-line messages written as one line on
 * stderr: "<prog>: cannot query the exchange log: <what>: <detail>".
 */
#ifndef PIDE_TOOLS_AUDIT_DB_H
#define PIDE_TOOLS_AUDIT_DB_H

#include <stdbool.h>

#include <libpq-fe.h>

/* Writes "<prog>: cannot query the exchange log: <what>[: <detail on one line>]" to stderr. */
void audit_db_error(const char *prog, const char *what, const char *detail);
/* Runs a command that returns no rows; false (and the error written) when it failed. */
bool audit_db_exec(const char *prog, PGconn *conn, const char *sql);
/* Connects to `conninfo` and pins search_path (then runs `extra_sql` when not NULL, in the same
 * round trip). NULL, with the error written, when either fails. */
PGconn *audit_db_connect(const char *prog, const char *conninfo, const char *extra_sql);

#endif
