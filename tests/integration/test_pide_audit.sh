#!/usr/bin/env bash
# test_pide_audit.sh — the auditor's CLI (tools/pide-audit) against real exchange-log rows
# written by the real writer (tests/helpers/pide-log-append → gw_exchange_log_append):
# who-consulted finds a person's consultations with the caller audit fields, exchange shows one
# row (identity fields included) and its request bytes, by-certificate lists what one certificate
# authenticated, message answers "did member X send message id Y?", verify accepts the chain and
# names the seq a superuser tampered with, bad arguments and an unreachable database fail clearly.
# On a private cluster: migrations 0002 and 0003 applied one at a time by `pg-local migrate` over
# rows hashed by the older rules keep the chain valid (v1, v2 and v3 rows mixed), the writer
# names the missing migration, and tampering with caller or identity fields is reported at its
# seq. Tampering happens only on that private cluster: the fixture one is shared.
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

# field_of NAME: one value of `pide-audit exchange`'s expanded output in $T/out.
field_of() { sed -n "s/^$1 *| //p" "$T/out"; }

PG=$PIDE_TEST_PG_DIR
TAB=$'\t'

# --- who-consulted, exchange and verify on the shared cluster -----------------------------------
# A DNI of this run only: the cluster is shared with tests running at the same time.
sid=9$(printf '%07d' $(( (RANDOM << 15 | RANDOM) % 10000000 )))
# Certificate fingerprints and a message id of this run only.
cert_a=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
cert_b=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
mid=msg-$sid-$RANDOM
ids=$(append "$PG" <<EOF
client_member=20000000001${TAB}client_user=11111111${TAB}auth_method=mtls${TAB}client_subsystem=SISTEMA-FISCAL${TAB}client_cert_sha256=$cert_a${TAB}message_id=$mid${TAB}request_signature_value=c2lnLW9yaWdpbmFs${TAB}service=ReniecConsultaDni${TAB}operation=consultar${TAB}subject_type=DNI${TAB}subject_id=$sid${TAB}purpose=Verificación de identidad${TAB}procedure=EXP-1${TAB}caller_host=PC-MPFN-01${TAB}caller_ip=10.1.2.3${TAB}caller_user=jperez${TAB}caller_mac=00:1A:2B:3C:4D:5E${TAB}request=<consulta dni="$sid"/>${TAB}response=<ok/>${TAB}result_code=0000
client_member=20131370998${TAB}client_user=22222222${TAB}client_cert_sha256=$cert_b${TAB}message_id=$mid${TAB}service=PjAntecedentes${TAB}operation=verificar${TAB}subject_type=DNI${TAB}subject_id=$sid${TAB}purpose=Proceso penal${TAB}caller_ip=172.16.0.9${TAB}outcome=fault${TAB}fault_code=Server.Provider.Timeout${TAB}http_status=500
client_member=20000000001${TAB}client_user=33333333${TAB}service=ReniecConsultaDni${TAB}subject_type=DNI${TAB}subject_id=1${sid}
client_member=20000000001${TAB}client_user=11111111${TAB}auth_method=mtls${TAB}client_cert_sha256=$cert_a${TAB}message_id=$mid${TAB}service=ReniecConsultaDni${TAB}outcome=fault${TAB}fault_code=Client.Replay${TAB}http_status=500
EOF
) || fail "pide-log-append failed"
mapfile -t id <<<"$ids"
assert_eq 4 "${#id[@]}" "four rows appended through the real writer"

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
assert_eq "00:1A:2B:3C:4D:5E" "$(field_of caller_mac)" "exchange: shows the caller audit fields"
assert_eq "SISTEMA-FISCAL" "$(field_of client_subsystem)" "exchange: shows the declared subsystem"
assert_eq "$cert_a" "$(field_of client_cert_sha256)" "exchange: shows the certificate fingerprint"
assert_eq "$mid" "$(field_of message_id)" "exchange: shows the caller's message id"
assert_eq "c2lnLW9yaWdpbmFs" "$(field_of request_signature_value)" "exchange: shows the request's SignatureValue"
assert_eq 4 "$(field_of hash_version)" "exchange: written as hash version 4"
assert_contains "$T/out" "<consulta dni=\"$sid\"/>" "exchange: shows the request bytes as logged"
expect_status 1 "exchange of an unknown id" audit "$PG" exchange 1b4e28ba-2fa1-41d2-883f-0016d3cca427
assert_contains "$T/err" "no exchange with id" "exchange of an unknown id: says so"

# by-certificate: what one certificate authenticated, in time order; openssl's colon form works.
expect_status 0 "by-certificate" audit "$PG" --csv by-certificate "$cert_a"
assert_eq 3 "$(wc -l <"$T/out")" "by-certificate: a header and the two exchanges of that certificate"
assert_eq "${id[0]}" "$(sed -n 2p "$T/out" | awk -F, '{print $NF}')" "by-certificate: the first exchange first"
assert_contains "$T/out" "20000000001,11111111,SISTEMA-FISCAL,mtls,,ReniecConsultaDni,consultar,DNI,$sid,ok,0000,$mid,${id[0]}" \
  "by-certificate: member, official, subsystem, what was consulted, the message id"
assert_contains "$T/out" ",fault,Client.Replay,$mid,${id[3]}" "by-certificate: the refused replay is listed too"
assert_not_contains "$T/out" "${id[1]}" "by-certificate: another certificate's exchange is not listed"
colon_form=$(echo "${cert_a^^}" | sed 's/../&:/g; s/:$//')
expect_status 0 "by-certificate (AB:CD:... form)" audit "$PG" --csv by-certificate "$colon_form"
assert_eq 3 "$(wc -l <"$T/out")" "by-certificate: the colon-separated upper-case form finds the same"
expect_status 0 "by-certificate --since tomorrow" audit "$PG" --csv by-certificate "$cert_a" --since "$(date -u -d tomorrow +%F)"
assert_eq 1 "$(wc -l <"$T/out")" "by-certificate --since: nothing after the range start"
expect_status 2 "by-certificate with a bad fingerprint" audit "$PG" by-certificate abc123
assert_contains "$T/err" "is not a SHA-256 fingerprint" "by-certificate with a bad fingerprint: says why"
expect_status 2 "by-certificate without a fingerprint" audit "$PG" by-certificate
assert_contains "$T/err" "by-certificate needs exactly one" "by-certificate without a fingerprint: says so"

# message: "did member X send message id Y?" — the original and its refused replay.
expect_status 0 "message --member --message-id" audit "$PG" --csv message --member 20000000001 --message-id "$mid"
assert_eq 3 "$(wc -l <"$T/out")" "message: a header, the original and the replay"
assert_contains "$T/out" "20000000001,11111111,SISTEMA-FISCAL,mtls,$cert_a,ReniecConsultaDni,consultar,ok,0000,${id[0]}" \
  "message: the original, with the certificate that authenticated it"
assert_contains "$T/out" ",fault,Client.Replay,${id[3]}" "message: the replay, refused"
assert_not_contains "$T/out" "${id[1]}" "message: another member's same message id is not listed"
expect_status 0 "message --message-id (any member)" audit "$PG" --csv message --message-id "$mid"
assert_eq 4 "$(wc -l <"$T/out")" "message without --member: every member's use of that id"
expect_status 1 "message of another member" audit "$PG" message --member 20100000000 --message-id "$mid"
assert_contains "$T/err" "no exchange with message id '$mid' from member 20100000000" "message not found: says so"
expect_status 2 "message without --message-id" audit "$PG" message --member 20000000001
assert_contains "$T/err" "message needs --message-id" "message without --message-id: shows the form"

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

# --- a private cluster: migrations over older rows, then tampering -----------------------------
# The cluster starts with 0001 only (a copy of pg-local that sees only the migrations copied so
# far), gets rows written by each older rule set, then the next migration through
# `pg-local migrate`: v1 rows, 0002, v2 rows, 0003, v3 rows from the real writer.
REPO=$T/repo
mkdir -p "$REPO/scripts" "$REPO/sql/migrations"
cp "$PIDE_SOURCE_DIR/scripts/pg-local" "$REPO/scripts/"
cp "$PIDE_SOURCE_DIR/sql/migrations/0001_exchange_log.sql" "$REPO/sql/migrations/"
PRIV=$T/pg
pg_local() { bash "$REPO/scripts/pg-local" "$@"; }
stop_private() { pg_local stop --purge --dir "$PRIV" >/dev/null 2>&1 || true; }
trap 'rc=$?; set +e; stop_private; (exit $rc); on_exit' EXIT
pg_local start --dir "$PRIV" --port 0 --fresh >/dev/null 2>"$T/pg-start.log" \
  || { cat "$T/pg-start.log" >&2; fail "private cluster did not start"; finish; }
# migrate_to MIGRATION: makes MIGRATION visible to the private pg-local and applies it.
migrate_to() {
  cp "$PIDE_SOURCE_DIR/sql/migrations/$1.sql" "$REPO/sql/migrations/"
  pg_local migrate --dir "$PRIV" >/dev/null 2>"$T/migrate.log" || fail "pg-local migrate ($1) failed"
  assert_contains "$T/migrate.log" "applied $1" "migrate on an existing cluster applies $1"
}

# What a gateway predating the next migration wrote: row_hash by the database's current
# exchange_log_row_hash() (the rules of the migrations applied so far), as the gateway role,
# under the chain lock. insert_old_row SUBJECT_ID EXTRA_JSON (more columns, e.g. hash_version).
insert_old_row() {
  PGPASSWORD=$(cat "$PRIV/gateway.password") psql "$(cat "$PRIV/conninfo")" -X -q \
    -v ON_ERROR_STOP=1 -v sid="$1" -v extra="$2" <<'SQL'
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
        'subject_id', :'sid', 'purpose', 'before the latest migration', 't_request_in', now(),
        'outcome', 'ok', 'http_status', 200, 't_logged', now(), 'prev_hash', head.hash,
        'row_hash', head.hash) || :'extra'::jsonb) AS r
    FROM head)
INSERT INTO exchange_log
SELECT (jsonb_populate_record(r, jsonb_build_object('row_hash', exchange_log_row_hash(r)))).*
FROM new_row;
COMMIT;
SQL
}
insert_old_row 45678912 '{}' && insert_old_row 45678912 '{}' || fail "v1 rows could not be written"
expect_status 0 "verify before 0002" audit "$PRIV" verify
assert_contains "$T/out" "chain intact: 2 rows (v1=2 v2=0 v3=0 v4=0)" "verify: a log of v1 rows only"

expect_status 0 "who-consulted before 0002" audit "$PRIV" --csv who-consulted --subject DNI 45678912
assert_eq 3 "$(wc -l <"$T/out")" "who-consulted reads a log that predates 0002"
# The current writer refuses a database without 0002 at start-up, naming the migration.
expect_status 1 "the writer on a database without 0002" append "$PRIV" </dev/null
assert_contains "$T/err" "0002_caller_audit" "the writer's error names the missing migration 0002"

migrate_to 0002_caller_audit
insert_old_row 45678912 '{"hash_version": 2, "caller_ip": "10.0.0.1", "caller_host": "PC-1"}' &&
  insert_old_row 45678912 '{"hash_version": 2, "caller_ip": "10.0.0.2", "caller_host": "PC-2"}' \
  || fail "v2 rows could not be written"
expect_status 0 "verify before 0003 (v1 and v2 rows)" audit "$PRIV" verify
assert_contains "$T/out" "chain intact: 4 rows (v1=2 v2=2 v3=0 v4=0)" "verify: v1 rows and v2 rows chain together"
# The identity lookups read a log that predates 0003 (no identity columns: nothing found).
expect_status 0 "by-certificate before 0003" audit "$PRIV" --csv by-certificate "$cert_a"
assert_eq 1 "$(wc -l <"$T/out")" "by-certificate on a log that predates 0003: only the header"
expect_status 1 "message before 0003" audit "$PRIV" message --message-id "$mid"
expect_status 0 "exchange before 0003" audit "$PRIV" exchange \
  "$(PGPASSWORD=$(cat "$PRIV/auditor.password") psql "$(auditor_of "$PRIV")" -X -At -c 'SELECT exchange_id FROM exchange_log WHERE seq = 3')"
assert_eq "10.0.0.1" "$(field_of caller_ip)" "exchange on a log that predates 0003"
expect_status 1 "the writer on a database without 0003" append "$PRIV" </dev/null
assert_contains "$T/err" "0003_identity" "the writer's error names the missing migration 0003"

migrate_to 0003_identity
# 0008 builds on the schema-qualified helpers of 0004 and 0005: every migration in order.
migrate_to 0004_trusted_chain
migrate_to 0005_inlined_chain_helpers
migrate_to 0006_checkpoints
migrate_to 0007_trace_context
# A gateway predating 0008 wrote v3 rows, with the trace columns of 0007 unhashed.
insert_old_row 45678912 "{\"hash_version\": 3, \"caller_ip\": \"10.0.0.3\", \"client_cert_sha256\": \"$cert_a\", \"message_id\": \"m-5\", \"trace_id\": \"4bf92f3577b34da6a3ce929d0e0e4736\"}" &&
  insert_old_row 45678912 "{\"hash_version\": 3, \"caller_ip\": \"10.0.0.4\", \"client_cert_sha256\": \"$cert_a\", \"message_id\": \"m-6\"}" \
  || fail "v3 rows could not be written"
expect_status 1 "the writer on a database without 0008" append "$PRIV" </dev/null
assert_contains "$T/err" "0008_body_encryption" "the writer's error names the missing migration 0008"
# The current writer writes v4 rows (trace columns and body_encryption hashed).
migrate_to 0008_body_encryption
append "$PRIV" >/dev/null <<EOF || fail "pide-log-append on the private cluster failed"
client_member=20000000001${TAB}subject_type=DNI${TAB}subject_id=45678912${TAB}caller_ip=10.0.0.7${TAB}client_cert_sha256=$cert_a${TAB}message_id=m-7
client_member=20000000001${TAB}subject_type=DNI${TAB}subject_id=45678912${TAB}caller_ip=10.0.0.8${TAB}client_cert_sha256=$cert_a${TAB}message_id=m-8
EOF
expect_status 0 "verify after 0008 (v1, v2, v3 and v4 rows)" audit "$PRIV" verify
assert_contains "$T/out" "chain intact: 8 rows (v1=2 v2=2 v3=2 v4=2)" "verify: v1, v2, v3 and v4 rows chain together"
assert_eq "" "$(PGPASSWORD=$(cat "$PRIV/auditor.password") psql "$(auditor_of "$PRIV")" -X -At -c 'SELECT * FROM exchange_log_verify_chain()')" \
  "exchange_log_verify_chain() agrees: intact"
expect_status 0 "who-consulted on the migrated cluster" audit "$PRIV" --csv who-consulted --subject DNI 45678912
assert_eq 9 "$(wc -l <"$T/out")" "who-consulted lists v1, v2, v3 and v4 rows alike"
expect_status 0 "by-certificate on the migrated cluster" audit "$PRIV" --csv by-certificate "$cert_a"
assert_eq 5 "$(wc -l <"$T/out")" "by-certificate finds the v3 and v4 rows"

# A superuser rewrites fields behind a disabled trigger: the declared IP of seq 4 (v2), the
# message id of seq 5 and the certificate of seq 6 (v3).
superuser() { pg_local psql --dir "$PRIV" -X -q -v ON_ERROR_STOP=1 "$@"; }
superuser >/dev/null <<'SQL' || fail "tampering as superuser failed"
ALTER TABLE exchange_log DISABLE TRIGGER exchange_log_append_only;
UPDATE exchange_log SET caller_ip = '10.6.6.6' WHERE seq = 4;
UPDATE exchange_log SET message_id = 'm-forged' WHERE seq = 5;
UPDATE exchange_log SET client_cert_sha256 = repeat('0', 64) WHERE seq = 6;
UPDATE exchange_log SET trace_id = repeat('ab', 16) WHERE seq = 7;
ALTER TABLE exchange_log ENABLE TRIGGER exchange_log_append_only;
SQL
expect_status 1 "verify after seq 4, 5, 6 and 7 were altered" audit "$PRIV" verify
assert_contains "$T/out" "BROKEN seq 4: row_hash does not match the row's content (v2)" \
  "verify names the seq whose caller_ip was altered"
assert_contains "$T/out" "BROKEN seq 5: row_hash does not match the row's content (v3)" \
  "verify names the seq whose message_id was altered"
assert_contains "$T/out" "BROKEN seq 6: row_hash does not match the row's content (v3)" \
  "verify names the seq whose client_cert_sha256 was altered"
assert_contains "$T/out" "BROKEN seq 7: row_hash does not match the row's content (v4)" \
  "verify names the v4 seq whose trace_id was altered"
assert_eq "4|row_hash does not match the row's content
5|row_hash does not match the row's content
6|row_hash does not match the row's content
7|row_hash does not match the row's content" \
  "$(PGPASSWORD=$(cat "$PRIV/auditor.password") psql "$(auditor_of "$PRIV")" -X -At -c 'SELECT * FROM exchange_log_verify_chain()')" \
  "exchange_log_verify_chain() agrees"

# Fields slipped into rows whose version does not cover them are reported too: caller fields in
# v1 seq 1, a message id in v2 seq 3.
superuser >/dev/null <<'SQL' || fail "tampering as superuser failed"
ALTER TABLE exchange_log DISABLE TRIGGER exchange_log_append_only;
UPDATE exchange_log SET caller_user = 'someone' WHERE seq = 1;
UPDATE exchange_log SET message_id = 'm-slipped-in' WHERE seq = 3;
ALTER TABLE exchange_log ENABLE TRIGGER exchange_log_append_only;
SQL
expect_status 1 "verify after fields were added to v1 seq 1 and v2 seq 3" audit "$PRIV" verify
assert_contains "$T/out" "BROKEN seq 1: hash_version 1 row carries caller audit fields" "verify names the v1 row"
assert_contains "$T/out" "BROKEN seq 3: hash_version 2 row carries identity fields, which v2 does not cover" \
  "verify names the v2 row"
assert_contains "$T/out" "BROKEN seq 6" "verify still names seq 6"
assert_contains <(PGPASSWORD=$(cat "$PRIV/auditor.password") psql "$(auditor_of "$PRIV")" -X -At -c 'SELECT * FROM exchange_log_verify_chain()') \
  "3|hash_version 2 row carries identity fields, which v2 does not cover" "exchange_log_verify_chain() names the v2 row"

stop_private
finish
