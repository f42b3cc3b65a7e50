#!/usr/bin/env bash
# test_pide_audit.sh — the auditor's CLI (tools/pide-audit) against real exchange-log rows
# written by the real writer (tests/helpers/pide-log-append → exchange_log_append):
# who-consulted finds a person's consultations with the caller audit fields, exchange shows one
# row and its request bytes, verify accepts the chain and names the seq a superuser tampered with,
# bad arguments and an unreachable database fail clearly. On a private cluster: migration 0002
# applied by `pg-local migrate` over rows hashed by 0001's rules keeps the chain valid (v1 and
# v2 rows mixed). Tampering happens only on that private cluster: the fixture one is shared.
# ctest-fixtures: postgres
. "$(dirname "$0")/lib.sh"

AUDIT="$PIDE_BUILD_DIR/tools/pide-audit"
[ -x "$AUDIT" ] || AUDIT="$PIDE_SOURCE_DIR/tools/pide-audit"
APPEND="$PIDE_BUILD_DIR/tests/helpers/pide-log-append"
[ -x "$APPEND" ] || { echo "FAIL: $APPEND not built (tools/audit.cmake)" >&2; exit 1; }

# auditor_of PGDIR: the auditor's conninfo for a pg-local cluster.
auditor_of() { sed 's/user=pide_gateway/user=pide_auditor/' "$1/conninfo"; }
# audit PGDIR ARGS...: pide-audit as the auditor of that cluster.
audit() { local d=$1; shift; "$AUDIT" --conninfo "$(auditor_of "$d")" --password-file "$d/auditor.password" "$@"; }
# append PGDIR < records: rows through the real writer; prints their exchange ids.
append() { "$APPEND" --conninfo "$(cat "$1/conninfo")" --password-file "$1/gateway.password"; }
# expect_status CODE WHAT COMMAND...: runs it (output in $T/out, $T/err) and checks its status.
expect_status() {
  local want=$1 what=$2 got=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || got=$?
  assert_eq "$want" "$got" "$what: exit $want"
}

PG=$PIDE_TEST_PG_DIR
TAB=$'\t'

# --- who-consulted, exchange and verify on the shared cluster -----------------------------------
# A DNI of this run only: the cluster is shared with tests running at the same time.
sid=9$(printf '%07d' $(( (RANDOM << 15 | RANDOM) % 10000000 )))
ids=$(append "$PG" <<EOF
client_member=20000000001${TAB}client_user=11111111${TAB}service=ReniecConsultaDni${TAB}operation=consultar${TAB}subject_type=DNI${TAB}subject_id=$sid${TAB}purpose=Verificación de identidad${TAB}procedure=EXP-1${TAB}caller_host=PC-MPFN-01${TAB}caller_ip=10.1.2.3${TAB}caller_user=jperez${TAB}caller_mac=00:1A:2B:3C:4D:5E${TAB}request=<consulta dni="$sid"/>${TAB}response=<ok/>${TAB}result_code=0000
client_member=20131370998${TAB}client_user=22222222${TAB}service=PjAntecedentes${TAB}operation=verificar${TAB}subject_type=DNI${TAB}subject_id=$sid${TAB}purpose=Proceso penal${TAB}caller_ip=172.16.0.9${TAB}outcome=fault${TAB}fault_code=Server.Provider.Timeout${TAB}http_status=500
client_member=20000000001${TAB}client_user=33333333${TAB}service=ReniecConsultaDni${TAB}subject_type=DNI${TAB}subject_id=1${sid}
EOF
) || fail "pide-log-append failed"
mapfile -t id <<<"$ids"
assert_eq 3 "${#id[@]}" "three rows appended through the real writer"

expect_status 0 "who-consulted" audit "$PG" --csv who-consulted --subject DNI "$sid"
assert_eq 3 "$(wc -l <"$T/out")" "who-consulted: a header and the two consultations of this DNI"
assert_contains "$T/out" "20000000001,11111111,ReniecConsultaDni,consultar,Verificación de identidad,EXP-1,ok,0000,jperez,PC-MPFN-01,10.1.2.3,${id[0]}" \
  "who-consulted: member, official, service, purpose, outcome and the caller audit fields"
assert_contains "$T/out" "20131370998,22222222,PjAntecedentes,verificar,Proceso penal,,fault,Server.Provider.Timeout,,,172.16.0.9,${id[1]}" \
  "who-consulted: a refused consultation is listed with its fault"
assert_not_contains "$T/out" "${id[2]}" "who-consulted: another person's consultation is not listed"
expect_status 0 "who-consulted --since tomorrow" audit "$PG" --csv who-consulted --subject DNI "$sid" --since "$(date -u -d tomorrow +%F)"
assert_eq 1 "$(wc -l <"$T/out")" "who-consulted --since: nothing after the range start"

expect_status 0 "exchange" audit "$PG" exchange "${id[0]}"
assert_contains "$T/out" "caller_mac      | 00:1A:2B:3C:4D:5E" "exchange: shows the caller audit fields"
assert_contains "$T/out" "hash_version    | 2" "exchange: written as hash version 2"
assert_contains "$T/out" "<consulta dni=\"$sid\"/>" "exchange: shows the request bytes as logged"
expect_status 1 "exchange of an unknown id" audit "$PG" exchange 1b4e28ba-2fa1-41d2-883f-0016d3cca427
assert_contains "$T/err" "no exchange with id" "exchange of an unknown id: says so"

expect_status 0 "verify (shared cluster)" audit "$PG" verify
assert_contains "$T/out" "chain intact" "verify: the chain written by the real writer is intact"
head=$(sed -n 's/^head: //p' "$T/out")
expect_status 0 "verify --expect-head (the head just noted)" audit "$PG" verify --expect-head "$head"
expect_status 1 "verify --expect-head (a head never in the chain)" audit "$PG" verify --expect-head "${head%%:*}:$(printf '%064d' 0)"
assert_contains "$T/out" "is not in the chain" "verify --expect-head: a forged head is reported"

# --- bad arguments, unreachable database: clear message, non-zero exit --------------------------
expect_status 2 "no command" audit "$PG"
assert_contains "$T/err" "no command given" "no command: says so"
expect_status 2 "unknown command" audit "$PG" frobnicate
assert_contains "$T/err" "unknown command 'frobnicate'" "unknown command: names it"
expect_status 2 "who-consulted without --subject" audit "$PG" who-consulted
assert_contains "$T/err" "--subject TYPE ID" "who-consulted without --subject: shows the form"
expect_status 2 "exchange with a bad id" audit "$PG" exchange 12345
assert_contains "$T/err" "is not an exchange id" "exchange with a bad id: says why"
expect_status 2 "no conninfo" env -u PIDE_AUDIT_CONNINFO "$AUDIT" verify
assert_contains "$T/err" "--conninfo is required" "no conninfo: says so"
closed_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect_status 3 "unreachable database" "$AUDIT" --conninfo "host=127.0.0.1 port=$closed_port dbname=pide user=pide_auditor" verify
assert_contains "$T/err" "cannot query the exchange log" "unreachable database: says so"
echo wrong-password >"$T/wrong.password"
expect_status 3 "wrong password" "$AUDIT" --conninfo "$(auditor_of "$PG")" --password-file "$T/wrong.password" verify
assert_contains "$T/err" "password authentication failed" "wrong password: the server's reason is shown"

# --- a private cluster: migration over v1 rows, then tampering ----------------------------------
# The cluster starts with 0001 only (a copy of pg-local that sees only 0001), gets two rows
# written by 0001's rules, then the remaining migrations through `pg-local migrate`.
REPO=$T/repo
mkdir -p "$REPO/scripts" "$REPO/sql/migrations"
cp "$PIDE_SOURCE_DIR/scripts/pg-local" "$REPO/scripts/"
cp "$PIDE_SOURCE_DIR/sql/migrations/0001_exchange_log.sql" "$REPO/sql/migrations/"
PRIV=$T/pg
pg_local() { bash "$REPO/scripts/pg-local" "$@"; }
stop_private() { pg_local stop --dir "$PRIV" >/dev/null 2>&1 || true; }
trap 'rc=$?; stop_private; (exit $rc); on_exit' EXIT
pg_local start --dir "$PRIV" --port 0 --fresh >/dev/null 2>"$T/pg-start.log" \
  || { cat "$T/pg-start.log" >&2; fail "private cluster did not start"; finish; }

# What a gateway predating 0002 wrote: row_hash by 0001's exchange_log_row_hash(), as the
# gateway role, under the chain lock.
insert_v1_row() {
  PGPASSWORD=$(cat "$PRIV/gateway.password") psql "$(cat "$PRIV/conninfo")" -X -q \
    -v ON_ERROR_STOP=1 -v sid="$1" <<'SQL'
BEGIN;
SELECT pg_advisory_xact_lock(8100115791357964135) \g /dev/null
WITH head AS (
    SELECT coalesce((SELECT seq FROM exchange_log ORDER BY seq DESC LIMIT 1), 0) AS seq,
           coalesce((SELECT row_hash FROM exchange_log ORDER BY seq DESC LIMIT 1),
                    decode(repeat('00', 32), 'hex')) AS hash),
new_row AS (
    SELECT jsonb_populate_record(NULL::exchange_log, jsonb_build_object(
        'seq', head.seq + 1, 'exchange_id', gen_random_uuid(), 'client_member', '20000000001',
        'client_user', '11111111', 'service', 'ReniecConsultaDni', 'subject_type', 'DNI',
        'subject_id', :'sid', 'purpose', 'before 0002', 't_request_in', now(), 'outcome', 'ok',
        'http_status', 200, 't_logged', now(), 'prev_hash', head.hash, 'row_hash', head.hash)) AS r
    FROM head)
INSERT INTO exchange_log
SELECT (jsonb_populate_record(r, jsonb_build_object('row_hash', exchange_log_row_hash(r)))).*
FROM new_row;
COMMIT;
SQL
}
insert_v1_row 45678912 && insert_v1_row 45678912 || fail "v1 rows could not be written"
expect_status 0 "verify before 0002" audit "$PRIV" verify

expect_status 0 "who-consulted before 0002" audit "$PRIV" --csv who-consulted --subject DNI 45678912
assert_eq 3 "$(wc -l <"$T/out")" "who-consulted reads a log that predates 0002"
# The current writer refuses a database without 0002 at start-up, naming the migration.
expect_status 1 "the writer on a database without 0002" append "$PRIV" </dev/null
assert_contains "$T/err" "0002_caller_audit" "the writer's error names the missing migration"

cp "$PIDE_SOURCE_DIR"/sql/migrations/[0-9][0-9][0-9][0-9]_*.sql "$REPO/sql/migrations/"
pg_local migrate --dir "$PRIV" >/dev/null 2>"$T/migrate.log" || fail "pg-local migrate failed"
assert_contains "$T/migrate.log" "applied 0002_caller_audit" "migrate on an existing cluster applies 0002"

append "$PRIV" >/dev/null <<EOF || fail "pide-log-append on the private cluster failed"
client_member=20000000001${TAB}subject_type=DNI${TAB}subject_id=45678912${TAB}caller_ip=10.0.0.3${TAB}caller_host=PC-3
client_member=20000000001${TAB}subject_type=DNI${TAB}subject_id=45678912${TAB}caller_ip=10.0.0.4${TAB}caller_host=PC-4
EOF
expect_status 0 "verify after 0002 (v1 and v2 rows)" audit "$PRIV" verify
assert_contains "$T/out" "chain intact: 4 rows (v1=2 v2=2)" "verify: v1 rows and v2 rows chain together"
expect_status 0 "who-consulted on the migrated cluster" audit "$PRIV" --csv who-consulted --subject DNI 45678912
assert_eq 5 "$(wc -l <"$T/out")" "who-consulted lists v1 and v2 rows alike"

# A superuser rewrites the declared IP of seq 4 behind a disabled trigger.
superuser() { pg_local psql --dir "$PRIV" -X -q -v ON_ERROR_STOP=1 "$@"; }
superuser >/dev/null <<'SQL' || fail "tampering as superuser failed"
ALTER TABLE exchange_log DISABLE TRIGGER exchange_log_append_only;
UPDATE exchange_log SET caller_ip = '10.6.6.6' WHERE seq = 4;
ALTER TABLE exchange_log ENABLE TRIGGER exchange_log_append_only;
SQL
expect_status 1 "verify after caller_ip of seq 4 was altered" audit "$PRIV" verify
assert_contains "$T/out" "BROKEN seq 4: row_hash does not match the row's content (v2)" \
  "verify names the tampered seq"
assert_eq "4|row_hash does not match the row's content" \
  "$(PGPASSWORD=$(cat "$PRIV/auditor.password") psql "$(auditor_of "$PRIV")" -X -At -c 'SELECT * FROM exchange_log_verify_chain()')" \
  "exchange_log_verify_chain() agrees"

# Caller fields slipped into a v1 row, which v1 does not cover, are reported too.
superuser >/dev/null <<'SQL' || fail "tampering as superuser failed"
ALTER TABLE exchange_log DISABLE TRIGGER exchange_log_append_only;
UPDATE exchange_log SET caller_user = 'someone' WHERE seq = 1;
ALTER TABLE exchange_log ENABLE TRIGGER exchange_log_append_only;
SQL
expect_status 1 "verify after caller fields were added to v1 seq 1" audit "$PRIV" verify
assert_contains "$T/out" "BROKEN seq 1: hash_version 1 row carries caller audit fields" "verify names the v1 row"
assert_contains "$T/out" "BROKEN seq 4" "verify still names seq 4"

stop_private
finish
