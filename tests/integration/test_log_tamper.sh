#!/usr/bin/env bash
# test_log_tamper.sh — the database owner acting maliciously against the exchange log, on a
# PostgreSQL cluster of this test's own (issue 8, items 3 and 4):
# - pide_owner shadows sha256() and the bytea <> operator in public, puts a look-alike view in
#   front of the table and sets the database's search_path to reach them first: the gateway
#   still logs and answers (it pins search_path and names public.exchange_log);
# - pide_owner alters a logged response behind a disabled trigger: `pide-audit verify
#   --expect-head` (which recomputes the chain outside the database) and
#   exchange_log_verify_chain() (search_path pinned since 0004) both name the tampered seq;
# - TRUNCATE of the current month's partition, of the DEFAULT partition, of a partition created
#   after migration 0004 and of an attached one is refused for pide_owner;
# - rows deleted as superuser behind the triggers: the running gateway notices its chain head
#   went backwards, refuses every exchange with Server.LogUnavailable (HTTP 503), logs an ERROR
#   and never reissues the deleted seq; restarted, it continues, and stops again when its newest
#   row is replaced (same seq, another row_hash).
# ctest-fixtures: pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
AUDIT="$PIDE_BUILD_DIR/tools/pide-audit"
[ -x "$AUDIT" ] || { echo "FAIL: $AUDIT not built (tools/audit.cmake)" >&2; exit 1; }

PIDE_TEST_PG_DIR="$T/pg"
PG_LOCAL="$PIDE_SOURCE_DIR/scripts/pg-local"
bash "$PG_LOCAL" start --dir "$PIDE_TEST_PG_DIR" --port 0 --fresh >"$T/pg-start.log" 2>&1 \
  || { cat "$T/pg-start.log" >&2; echo "FAIL: private cluster did not start" >&2; exit 1; }
trap 'rc=$?; set +e; bash "$PG_LOCAL" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; (exit $rc); on_exit' EXIT

# superuser < SQL / owner < SQL: sessions over the cluster's socket, as the superuser or (SET
# ROLE) as pide_owner; they get the database's search_path like everyone else.
superuser() { bash "$PG_LOCAL" psql --dir "$PIDE_TEST_PG_DIR" -X -q -v ON_ERROR_STOP=1 "$@"; }
owner() { { echo "SET ROLE pide_owner;"; cat; } | superuser "$@"; }
AUDITOR_CI=$(sed 's/user=pide_gateway/user=pide_auditor/' "$PIDE_TEST_PG_DIR/conninfo")
audit() { "$AUDIT" --conninfo "$AUDITOR_CI" --password-file "$PIDE_TEST_PG_DIR/auditor.password" "$@"; }
auditor_sql() {
  PGPASSWORD=$(cat "$PIDE_TEST_PG_DIR/auditor.password") psql "$AUDITOR_CI" -X -At -v ON_ERROR_STOP=1 -c "$1"
}
expect_status() { # CODE WHAT COMMAND...: output in $T/out, $T/err
  local want=$1 what=$2 got=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || got=$?
  assert_eq "$want" "$got" "$what: exit $want"
}
count_rows() { superuser -At -c "SELECT count(*) FROM public.exchange_log $1"; }

# --- the owner prepares its lies before anyone connects -----------------------------------------
owner <<'SQL' || fail "the owner's preparation failed"
-- sha256(prev_hash || fields) answers the stored row_hash of the row chained on that prev_hash.
CREATE FUNCTION public.sha256(bytea) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT e.row_hash FROM public.exchange_log e
                     WHERE e.prev_hash OPERATOR(pg_catalog.=) pg_catalog.substring($1, 1, 32)
                     ORDER BY e.seq LIMIT 1), pg_catalog.sha256($1)) $$;
-- And no two byte strings ever differ.
CREATE FUNCTION public.bytea_never_differ(bytea, bytea) RETURNS boolean LANGUAGE sql
    IMMUTABLE AS 'SELECT false';
CREATE OPERATOR public.<> (LEFTARG = bytea, RIGHTARG = bytea, FUNCTION = public.bytea_never_differ);
-- A look-alike of the table, found first by unqualified names.
CREATE SCHEMA shadow;
GRANT USAGE ON SCHEMA shadow TO PUBLIC;
CREATE VIEW shadow.exchange_log AS SELECT * FROM public.exchange_log;
GRANT SELECT ON shadow.exchange_log TO PUBLIC;
ALTER DATABASE pide SET search_path = shadow, public, pg_catalog;
SQL
assert_eq "shadow, public, pg_catalog" "$(auditor_sql 'SHOW search_path')" \
  "the malicious search_path applies to new sessions"

# --- the gateway works regardless --------------------------------------------------------------
start_reniec_sim
write_config
sed -i 's/commitTimeoutMs="5000"/commitTimeoutMs="2000"/' "$CONFIG"
start_gateway
for i in 1 2 3; do
  status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/answer$i.xml")
  assert_eq 200 "$status" "malicious search_path: request $i answered (HTTP 200)"
  assert_eq 0000 "$(xml_value "$T/answer$i.xml" coResultado)" "malicious search_path: request $i has its data"
done
assert_eq 3 "$(count_rows "")" "malicious search_path: the three exchanges are logged"

expect_status 0 "verify before tampering" audit verify
assert_contains "$T/out" "chain intact: 3 rows (v1=0 v2=0 v3=0 v4=3)" "verify: the gateway's rows are intact"
head=$(sed -n 's/^head: //p' "$T/out")
assert_eq "3:" "${head%%:*}:" "verify prints the head to note"
# The listings pin search_path too: the owner's shadow view and operators are not what they read.
expect_status 0 "who-consulted with the malicious search_path" audit --csv who-consulted --subject DNI 45678912
assert_eq 4 "$(wc -l <"$T/out")" "who-consulted: a header and the three exchanges"

# --- the owner alters a logged answer -----------------------------------------------------------
owner <<'SQL' || fail "tampering as the owner failed"
ALTER TABLE public.exchange_log DISABLE TRIGGER exchange_log_append_only;
UPDATE public.exchange_log SET response = pg_catalog.convert_to('<forged/>', 'UTF8') WHERE seq = 2;
ALTER TABLE public.exchange_log ENABLE TRIGGER exchange_log_append_only;
SQL
expect_status 1 "verify --expect-head after the owner altered seq 2" audit verify --expect-head "$head"
assert_contains "$T/out" "BROKEN seq 2: row_hash does not match the row's content (v4)" \
  "verify names the altered seq despite public.sha256, public.<> and the search_path"
assert_contains "$T/out" "chain verification FAILED: 1 problem(s) in 3 rows" "verify: one problem"
expect_status 1 "verify (no noted head) after the owner altered seq 2" audit verify
assert_contains "$T/out" "BROKEN seq 2" "verify without --expect-head names it too"
assert_eq "2|row_hash does not match the row's content" \
  "$(auditor_sql 'SELECT * FROM public.exchange_log_verify_chain()')" \
  "exchange_log_verify_chain() is not fooled by the shadowed sha256 and <>"
assert_eq "2|row_hash does not match the row's content" \
  "$(auditor_sql 'SELECT * FROM exchange_log_verify_chain()')" \
  "exchange_log_verify_chain() called by an unqualified name is not fooled either"

# --- TRUNCATE of any partition is refused ---------------------------------------------------------
current=exchange_log_y$(date -u +%Y)m$(date -u +%m)
truncate_as_owner() { # TABLE WHAT
  if owner <<<"TRUNCATE public.$1;" >"$T/truncate.out" 2>&1; then
    fail "$2: TRUNCATE public.$1 succeeded for pide_owner"
  else
    assert_contains "$T/truncate.out" "append-only: TRUNCATE refused" "$2: TRUNCATE refused for pide_owner"
  fi
}
truncate_as_owner "$current" "the current month's partition"
assert_eq 3 "$(count_rows "")" "the current month's rows are still there"
truncate_as_owner exchange_log_default "the DEFAULT partition"
truncate_as_owner exchange_log "the parent"
owner <<'SQL' >/dev/null || fail "creating partitions as the owner failed"
CREATE TABLE public.exchange_log_y2099m01 PARTITION OF public.exchange_log
    FOR VALUES FROM ('2099-01-01 00:00:00+00') TO ('2099-02-01 00:00:00+00');
CREATE TABLE public.exchange_log_attached (LIKE public.exchange_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE public.exchange_log ATTACH PARTITION public.exchange_log_attached
    FOR VALUES FROM ('2099-02-01 00:00:00+00') TO ('2099-03-01 00:00:00+00');
SELECT public.exchange_log_ensure_partitions(14);
SQL
truncate_as_owner exchange_log_y2099m01 "a partition created by hand after 0004"
truncate_as_owner exchange_log_attached "a table attached as a partition after 0004"
far=exchange_log_y$(date -u -d "$(date -u +%Y-%m-15) +14 months" +%Y)m$(date -u -d "$(date -u +%Y-%m-15) +14 months" +%m)
truncate_as_owner "$far" "a partition made by exchange_log_ensure_partitions after 0004"

# --- rows vanish under the running gateway: it stops, loudly ---------------------------------------
superuser <<'SQL' || fail "deleting the newest row as superuser failed"
SET session_replication_role = replica;
DELETE FROM public.exchange_log WHERE seq = 3;
SQL
assert_eq 2 "$(count_rows "")" "the newest row (seq 3) is gone"
status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/after-delete.xml")
assert_eq 503 "$status" "after the head went backwards: HTTP 503"
assert_eq soap:Server.LogUnavailable "$(xml_value "$T/after-delete.xml" faultcode)" \
  "after the head went backwards: Server.LogUnavailable"
assert_not_contains "$T/after-delete.xml" "prenombres" "after the head went backwards: no citizen data"
status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/after-delete2.xml")
assert_eq 503 "$status" "the gateway stays closed: the next request gets 503 too"
assert_eq 0 "$(count_rows "WHERE seq = 3")" "seq 3 was not reissued"
assert_eq 2 "$(count_rows "")" "nothing was written after the head went backwards"
assert_contains "$T/gateway.log" "the chain went backwards" "an ERROR line says why the log stopped"
assert_contains "$T/gateway.log" "the database's head is seq 2" "the ERROR line names the database's head"

# After the investigation, a restarted gateway continues from the database's head; then the row
# it just wrote is replaced behind the triggers (same seq, another row_hash): it stops again.
kill -TERM "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
start_gateway
status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/restarted.xml")
assert_eq 200 "$status" "restarted gateway: answers again"
assert_eq 3 "$(count_rows "")" "restarted gateway: its row is seq 3"
superuser <<'SQL' || fail "replacing the newest row's hash as superuser failed"
SET session_replication_role = replica;
UPDATE public.exchange_log SET row_hash = pg_catalog.sha256(row_hash) WHERE seq = 3;
SQL
status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/replaced.xml")
assert_eq 503 "$status" "the newest row replaced (same seq, other hash): HTTP 503"
assert_eq soap:Server.LogUnavailable "$(xml_value "$T/replaced.xml" faultcode)" \
  "the newest row replaced: Server.LogUnavailable"
assert_eq 3 "$(count_rows "")" "the newest row replaced: nothing more was written"
assert_contains "$T/gateway.log" "the database's head is seq 3" "the newest row replaced: the ERROR line"

finish
