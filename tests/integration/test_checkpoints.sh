#!/usr/bin/env bash
# test_checkpoints.sh — signed, time-stamped checkpoints of the exchange log (migration 0006,
# gateway/checkpoint.c, docs/exchange-log.md "Signed checkpoints"), against a real PostgreSQL
# cluster of this test's own (a superuser tampers with it), the PKI's real keys and tsa-sim, a
# real RFC 3161 TSA:
# - the gateway checkpoints every few rows and seconds and at shutdown, each stamped by the
#   TSA; `pide-audit verify --trust-signer --trust-tsa` accepts them and says what no
#   checkpoint covers; `openssl cms -verify` and `openssl ts -verify` accept an exported one;
# - a superuser changes a row's response and recomputes every later hash with the documented
#   function: verify names the row (its response digest) and the checkpoint whose signed head
#   no longer matches; the same with response_sha256 forged too still breaks the checkpoint;
# - the newest 10 rows deleted, two rows swapped: the covering checkpoint reports them;
# - a checkpoint forged with the foreign CA's key, one replaced, reordered or missing, a token
#   moved to another checkpoint: refused; exchange_checkpoint refuses UPDATE/DELETE/TRUNCATE
#   except adding a missing time-stamp;
# - the TSA down with onStampFailure="refuse": Server.LogUnavailable once the grace period is
#   over, service again once the TSA is back; with "continue": answers continue and an ALERT is
#   logged; a TSA answering garbage or a token over another digest: refused, nothing stored;
# - the signing key rotated (RSA to ECDSA): old and new checkpoints verify.
# ctest-fixtures: pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
AUDIT="$PIDE_BUILD_DIR/tools/pide-audit"
PKI=$PIDE_TEST_PKI_DIR
[ -x "$AUDIT" ] || { echo "FAIL: $AUDIT not built" >&2; exit 1; }
[ -s "$PKI/tsa.pem" ] || { echo "FAIL: $PKI/tsa.pem missing (scripts/pki makes it)" >&2; exit 1; }

PIDE_TEST_PG_DIR="$T/pg"
PG_LOCAL="$PIDE_SOURCE_DIR/scripts/pg-local"
bash "$PG_LOCAL" start --dir "$PIDE_TEST_PG_DIR" --port 0 --fresh >"$T/pg-start.log" 2>&1 \
  || { cat "$T/pg-start.log" >&2; echo "FAIL: private cluster did not start" >&2; exit 1; }
# set +e: under errexit the (exit $rc) of a failed run would end the trap before on_exit stops
# the simulators and the gateway.
trap 'rc=$?; set +e; bash "$PG_LOCAL" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; (exit $rc); on_exit' EXIT

superuser() { bash "$PG_LOCAL" psql --dir "$PIDE_TEST_PG_DIR" -X -q -v ON_ERROR_STOP=1 "$@"; }
sql1() { superuser -At -c "$1"; }
AUDITOR_CI=$(sed 's/user=pide_gateway/user=pide_auditor/' "$PIDE_TEST_PG_DIR/conninfo")
audit() { "$AUDIT" --conninfo "$AUDITOR_CI" --password-file "$PIDE_TEST_PG_DIR/auditor.password" "$@"; }
verify() { audit verify --trust-signer "$PKI/ca.pem" --trust-tsa "$PKI/ca.pem" "$@"; }
expect_status() { # CODE WHAT COMMAND...: output in $T/out, $T/err
  local want=$1 what=$2 got=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || got=$?
  assert_eq "$want" "$got" "$what: exit $want"
}
# wait_for WHAT SQL EXPECTED [SECONDS]: polls a superuser query until it prints EXPECTED.
wait_for() {
  local got="" i
  for i in $(seq 1 $((${4:-20} * 5))); do
    got=$(sql1 "$2" 2>/dev/null || true)
    [ "$got" = "$3" ] && { pass "$1"; return 0; }
    sleep 0.2
  done
  fail "$1: expected '$3', got '$got'"
}
post() { soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/answer.xml"; }
stop_gateway() { kill "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null || true; }
# checkpoint_config EVERY_ROWS FAILURE_MODE: write_config with fast checkpoints.
checkpoint_config() {
  write_config
  sed -i -e "s/everyRows=\"[0-9]*\"/everyRows=\"$1\"/" -e 's/everySeconds="[0-9]*"/everySeconds="1"/' \
         -e 's/stampGraceSeconds="[0-9]*"/stampGraceSeconds="2"/' -e 's/stampTimeoutMs="[0-9]*"//' \
         -e "s/onStampFailure=\"[a-z]*\"/onStampFailure=\"$2\" stampTimeoutMs=\"1000\"/" "$CONFIG"
  grep -q "everyRows=\"$1\"" "$CONFIG" && grep -q "onStampFailure=\"$2\"" "$CONFIG" \
    || { fail "conf/demo.xml has no <checkpoint> to adjust"; exit 1; }
}

# --- checkpoints written, signed and stamped ---------------------------------------------------
start_reniec_sim
start_sim tsa --key "$PKI/tsa.key" --cert "$PKI/tsa.pem"
checkpoint_config 5 refuse
grep -q "timestampUrl=\"http://127.0.0.1:$TSA_PORT/tsa\"" "$CONFIG" || fail "the config points at tsa-sim"
start_gateway
for i in $(seq 1 12); do
  [ "$(post)" = 200 ] || fail "request $i not answered"
done
wait_for "a checkpoint covers seq 12 within seconds (everySeconds=1)" \
  "SELECT max(head_seq) FROM exchange_checkpoint" 12
wait_for "every checkpoint gets its time-stamp from the TSA" \
  "SELECT count(*) FROM exchange_checkpoint WHERE tst IS NULL" 0
assert_eq "1" "$(sql1 "SELECT min(id) FROM exchange_checkpoint")" "checkpoint ids start at 1"
assert_eq "t" "$(sql1 "SELECT count(*) = max(id) FROM exchange_checkpoint")" "checkpoint ids are gapless"
assert_eq "demo" "$(sql1 "SELECT DISTINCT node_id FROM exchange_checkpoint")" "the node id is the configured one"
for i in 13 14 15; do [ "$(post)" = 200 ] || fail "request $i not answered"; done
stop_gateway
assert_eq 15 "$(sql1 "SELECT max(head_seq) FROM exchange_checkpoint")" \
  "a clean shutdown leaves a checkpoint of the last row"
assert_eq 0 "$(sql1 "SELECT count(*) FROM exchange_checkpoint WHERE tst IS NULL")" \
  "the shutdown checkpoint is stamped too"
n_cp=$(sql1 "SELECT count(*) FROM exchange_checkpoint")

expect_status 0 "verify with trust anchors" verify
assert_contains "$T/out" "checkpoints: $n_cp verified from id 1 to $n_cp (signatures checked, time-stamps checked); 0 not yet time-stamped" \
  "verify checks every checkpoint's signature and token"
assert_contains "$T/out" "not yet covered by a checkpoint: none" "verify: nothing uncovered after a clean stop"
assert_contains "$T/out" "chain intact: 15 rows" "verify: the chain is intact"
assert_contains "$T/out" "rows/s)" "verify reports its speed"
expect_status 0 "verify --from 2" verify --from 2
assert_contains "$T/out" "after the checkpoint given with --from" "verify --from starts at a later checkpoint"
expect_status 2 "verify --from a checkpoint that does not exist" verify --from 999
assert_contains "$T/err" "there is no checkpoint 999" "verify --from: unknown id named"
expect_status 2 "verify --from garbage" verify --from 1x
expect_status 2 "verify --trust-signer missing file" audit verify --trust-signer "$T/nope.pem"

# --- stock tools on an exported checkpoint -----------------------------------------------------
mkdir -p "$T/export"
expect_status 0 "export-checkpoint 2" audit export-checkpoint 2 "$T/export"
if openssl cms -verify -binary -inform DER -in "$T/export/checkpoint-2.cms" \
     -content "$T/export/checkpoint-2.txt" -CAfile "$PKI/ca.pem" -out /dev/null \
     >"$T/cms.out" 2>&1; then
  pass "openssl cms -verify accepts the exported checkpoint"
else
  fail "openssl cms -verify: $(cat "$T/cms.out")"
fi
if openssl cms -verify -binary -inform DER -in "$T/export/checkpoint-2.cms" \
     -content "$T/export/checkpoint-2.txt" -CAfile "$PKI/other-ca.pem" -out /dev/null \
     >"$T/cms.out" 2>&1; then
  fail "openssl cms -verify accepted the checkpoint against the foreign CA"
else
  pass "openssl cms -verify refuses it against another CA"
fi
if openssl ts -verify -token_in -in "$T/export/checkpoint-2.tsr" -data "$T/export/checkpoint-2.cms" \
     -CAfile "$PKI/ca.pem" >"$T/ts.out" 2>&1 && grep -q "Verification: OK" "$T/ts.out"; then
  pass "openssl ts -verify accepts its time-stamp token over the signed document"
else
  fail "openssl ts -verify: $(cat "$T/ts.out")"
fi
assert_contains "$T/export/checkpoint-2.txt" "pide-gateway exchange-log checkpoint v1" "the statement is readable text"

# --- the table is append-only, except for adding a missing time-stamp ---------------------------
owner_try() { { echo "SET ROLE pide_owner;"; echo "$1"; } | superuser >"$T/owner.out" 2>&1; }
owner_try "UPDATE public.exchange_checkpoint SET head_seq = head_seq WHERE id = 1;" \
  && fail "UPDATE of a checkpoint succeeded" || assert_contains "$T/owner.out" "append-only" "UPDATE of a checkpoint refused"
owner_try "UPDATE public.exchange_checkpoint SET tst = NULL, stamped_at = NULL WHERE id = 1;" \
  && fail "removing a time-stamp succeeded" || assert_contains "$T/owner.out" "append-only" "removing a time-stamp refused"
owner_try "DELETE FROM public.exchange_checkpoint WHERE id = 1;" \
  && fail "DELETE of a checkpoint succeeded" || assert_contains "$T/owner.out" "append-only" "DELETE of a checkpoint refused"
owner_try "TRUNCATE public.exchange_checkpoint;" \
  && fail "TRUNCATE of the checkpoints succeeded" || assert_contains "$T/owner.out" "append-only" "TRUNCATE of the checkpoints refused"

# --- tampering as a superuser, each on a copy restored afterwards --------------------------------
superuser <<'SQL' || fail "cannot keep a copy of the log"
CREATE TABLE public.keep_log AS SELECT * FROM public.exchange_log;
CREATE TABLE public.keep_cp AS SELECT * FROM public.exchange_checkpoint;
SQL
restore() {
  superuser <<'SQL' || fail "cannot restore the log"
SET session_replication_role = replica;
DELETE FROM public.exchange_log; INSERT INTO public.exchange_log SELECT * FROM public.keep_log;
DELETE FROM public.exchange_checkpoint; INSERT INTO public.exchange_checkpoint SELECT * FROM public.keep_cp;
SQL
}
# rechain FROM: recomputes prev_hash and row_hash of every row from seq FROM on with the
# documented function, as an attacker who wants the chain to look intact would.
rechain() {
  superuser <<SQL || fail "rechaining failed"
SET session_replication_role = replica;
DO \$\$ DECLARE r record; prev bytea; BEGIN
  SELECT row_hash INTO prev FROM public.exchange_log WHERE seq = $1 - 1;
  FOR r IN SELECT seq FROM public.exchange_log WHERE seq >= $1 ORDER BY seq LOOP
    IF prev IS NOT NULL THEN UPDATE public.exchange_log SET prev_hash = prev WHERE seq = r.seq; END IF;
    UPDATE public.exchange_log e SET row_hash = public.exchange_log_row_hash(e) WHERE seq = r.seq
      RETURNING row_hash INTO prev;
  END LOOP; END \$\$;
SQL
}
cp_of() { sql1 "SELECT min(id) FROM exchange_checkpoint WHERE head_seq >= $1"; }

# A changed response, every later hash recomputed.
superuser -c "SET session_replication_role = replica; UPDATE public.exchange_log SET response = convert_to('<forged/>', 'UTF8') WHERE seq = 3;" \
  || fail "tampering failed"
rechain 3
expect_status 0 "the database's own chain check is fooled by the recomputed hashes" \
  sql1 "SELECT count(*) FROM exchange_log_verify_chain()"
expect_status 1 "verify after a changed response with recomputed hashes" verify
assert_contains "$T/out" "BROKEN seq 3: response differs from its response_sha256" "verify names the changed row"
assert_contains "$T/out" "row_hash differs from the one checkpoint $(cp_of 3) signed" \
  "verify: the checkpoint covering it no longer matches"
restore
# The same with the response digest forged too: the checkpoint still catches it.
superuser -c "SET session_replication_role = replica; UPDATE public.exchange_log SET response = convert_to('<forged/>', 'UTF8'), response_sha256 = sha256(convert_to('<forged/>', 'UTF8')) WHERE seq = 3;" \
  || fail "tampering failed"
rechain 3
expect_status 1 "verify after a changed response and digest, hashes recomputed" verify
c=$(cp_of 3)
from=$(sql1 "SELECT coalesce(max(head_seq), 0) + 1 FROM exchange_checkpoint WHERE id < $c")
assert_contains "$T/out" "a row in seq $from..$(sql1 "SELECT head_seq FROM exchange_checkpoint WHERE id = $c") was changed" \
  "verify names the range the changed row is in"
restore
expect_status 0 "verify after restoring" verify

# The newest 10 rows deleted (a checkpoint covers them).
superuser -c "SET session_replication_role = replica; DELETE FROM public.exchange_log WHERE seq > 5;" || fail "delete failed"
expect_status 1 "verify after the newest 10 rows were deleted" verify
assert_contains "$T/out" "but the log ends at seq 5: rows 6..15 were removed" "verify: tail deletion detected"
restore

# Two rows swapped (their contents exchanged), hashes recomputed.
superuser <<'SQL' || fail "swap failed"
SET session_replication_role = replica;
CREATE TEMP TABLE a AS SELECT * FROM public.exchange_log WHERE seq IN (7, 8);
UPDATE public.exchange_log e SET exchange_id = a.exchange_id, request = a.request, response = a.response,
       request_sha256 = a.request_sha256, response_sha256 = a.response_sha256,
       t_request_in = a.t_request_in, signature_value = a.signature_value
FROM a WHERE a.seq = 15 - e.seq AND e.seq IN (7, 8);
SQL
rechain 7
expect_status 1 "verify after two rows were swapped" verify
assert_contains "$T/out" "row_hash differs from the one checkpoint $(cp_of 7) signed" "verify: swapped rows detected"
restore

# A checkpoint forged with the foreign CA's key, chained correctly onto the last one.
last=$(sql1 "SELECT max(id) FROM exchange_checkpoint")
prev=$(sql1 "SELECT encode(sha256(signed_document), 'hex') FROM exchange_checkpoint WHERE id = $last")
head=$(sql1 "SELECT encode(row_hash, 'hex') FROM exchange_log WHERE seq = 15")
printf 'pide-gateway exchange-log checkpoint v1\nid: %s\nnode: demo\nseq: 15\nrow_hash: %s\nrows: 0\ncreated: 2030-01-01T00:00:00.000000Z\nprevious: %s\n' \
  $((last + 1)) "$head" "$prev" >"$T/forged.txt"
openssl cms -sign -binary -md sha256 -signer "$PKI/rogue-client.pem" -inkey "$PKI/rogue-client.key" \
  -in "$T/forged.txt" -outform DER -out "$T/forged.cms" 2>"$T/openssl.err" || fail "openssl cms -sign: $(cat "$T/openssl.err")"
openssl x509 -in "$PKI/rogue-client.pem" -outform DER -out "$T/rogue.der"
superuser -v st="$(xxd -p "$T/forged.txt" | tr -d '\n')" -v sd="$(xxd -p "$T/forged.cms" | tr -d '\n')" \
  -v sc="$(xxd -p "$T/rogue.der" | tr -d '\n')" -v id=$((last + 1)) -v prev="$prev" -v head="$head" <<'SQL' || fail "inserting the forged checkpoint failed"
INSERT INTO public.exchange_checkpoint (id, node_id, head_seq, head_row_hash, row_count, created,
    prev_sha256, statement, signed_document, signer_certificate, signer_cert_sha256)
VALUES (:id, 'demo', 15, decode(:'head', 'hex'), 0, '2030-01-01T00:00:00Z', decode(:'prev', 'hex'),
        decode(:'st', 'hex'), decode(:'sd', 'hex'), decode(:'sc', 'hex'), 'rogue');
SQL
expect_status 1 "verify with a checkpoint signed by another key" verify
assert_contains "$T/out" "BROKEN checkpoint $((last + 1)): signature refused" "verify refuses the forged checkpoint"
expect_status 1 "the forged checkpoint is refused with the trust anchor the foreign CA's too" \
  audit verify --trust-signer "$PKI/ca.pem"
restore

# A checkpoint missing from the middle.
superuser -c "SET session_replication_role = replica; DELETE FROM public.exchange_checkpoint WHERE id = 2;" || fail "delete failed"
expect_status 1 "verify with checkpoint 2 missing" verify
assert_contains "$T/out" "BROKEN checkpoint 3: checkpoint(s) 2..2 are missing" "verify: missing checkpoint detected"
restore
# Two checkpoints reordered (their ids exchanged).
superuser -c "SET session_replication_role = replica; UPDATE public.exchange_checkpoint SET id = 1000 WHERE id = 1; UPDATE public.exchange_checkpoint SET id = 1 WHERE id = 2; UPDATE public.exchange_checkpoint SET id = 2 WHERE id = 1000;" \
  || fail "reorder failed"
expect_status 1 "verify with checkpoints 1 and 2 reordered" verify
assert_contains "$T/out" "BROKEN checkpoint 1: column id differs from the signed statement" "verify: reordered checkpoints detected"
restore
# A token moved from one checkpoint to another.
superuser -c "SET session_replication_role = replica; UPDATE public.exchange_checkpoint SET tst = (SELECT tst FROM public.exchange_checkpoint WHERE id = 1) WHERE id = 2;" \
  || fail "token move failed"
expect_status 1 "verify with checkpoint 1's token on checkpoint 2" verify
assert_contains "$T/out" "BROKEN checkpoint 2: time-stamp refused" "verify: a token over another checkpoint is refused"
restore
expect_status 0 "verify after restoring everything" verify

# Rows appended without a checkpointer (the test helper uses the writer alone): uncovered.
printf 'subject_id=1\nsubject_id=2\n' | "$PIDE_BUILD_DIR/tests/helpers/pide-log-append" \
  --conninfo "$(cat "$PIDE_TEST_PG_DIR/conninfo")" --password-file "$PIDE_TEST_PG_DIR/gateway.password" \
  >"$T/append.out" 2>&1 || true
if [ "$(sql1 "SELECT max(seq) FROM exchange_log")" = 17 ]; then
  expect_status 0 "verify with 2 rows after the last checkpoint" verify
  assert_contains "$T/out" "not yet covered by a checkpoint: the newest 2 row(s), seq 16..17" \
    "verify says plainly how many newest rows no checkpoint covers"
else
  echo "note: pide-log-append did not add rows ($(head -c 300 "$T/append.out")); uncovered check skipped"
fi

# --- the TSA fails --------------------------------------------------------------------------------
kill "$TSA_PID"; wait "$TSA_PID" 2>/dev/null || true
checkpoint_config 1 refuse
start_gateway
assert_eq 200 "$(post)" "TSA down, refuse mode: answered while within the grace period"
sleep 4
status=$(post)
assert_eq 503 "$status" "TSA down for longer than stampGraceSeconds, refuse mode: HTTP 503"
assert_eq soap:Server.LogUnavailable "$(xml_value "$T/answer.xml" faultcode)" \
  "TSA down, refuse mode: Server.LogUnavailable"
assert_contains "$T/gateway.log" "every exchange is refused with Server.LogUnavailable" "the refusal is logged"
start_sim tsa --key "$PKI/tsa.key" --cert "$PKI/tsa.pem" --port "$TSA_PORT"
ok=0
for i in $(seq 1 30); do [ "$(post)" = 200 ] && { ok=1; break; }; sleep 0.5; done
assert_eq 1 "$ok" "the TSA back: exchanges are answered again"
wait_for "the TSA back: the waiting checkpoints are stamped" \
  "SELECT count(*) FROM exchange_checkpoint WHERE tst IS NULL" 0
stop_gateway

kill "$TSA_PID"; wait "$TSA_PID" 2>/dev/null || true
checkpoint_config 1 continue
: >"$T/gateway.log"
start_gateway
assert_eq 200 "$(post)" "TSA down, continue mode: answered"
sleep 4
assert_eq 200 "$(post)" "TSA down for longer than stampGraceSeconds, continue mode: still answered"
assert_contains "$T/gateway.log" "ALERT checkpoint: time-stamps have failed" "continue mode: an alert is logged"
stop_gateway

for bad in "garbage:the TSA's reply is not a DER TimeStampResp" \
           "other-digest:the TSA's token is not over this checkpoint" \
           "rejection:the TSA refused to stamp"; do
  mode=${bad%%:*}
  start_sim tsa --key "$PKI/tsa.key" --cert "$PKI/tsa.pem" --bad-reply "$mode"
  checkpoint_config 1 continue
  : >"$T/gateway.log"
  start_gateway
  assert_eq 200 "$(post)" "TSA answering $mode: the exchange is answered"
  sleep 2
  stop_gateway
  kill "$TSA_PID"; wait "$TSA_PID" 2>/dev/null || true
  assert_contains "$T/gateway.log" "time-stamp failed: ${bad#*:}" "TSA answering $mode: the reply is refused"
done
expect_status 0 "verify: the unstamped checkpoints are signed and intact" verify
assert_not_contains "$T/out" " 0 not yet time-stamped" "verify counts the checkpoints without a time-stamp"

# A TSA slower than stampTimeoutMs (1000 ms here) counts as failing too.
start_sim tsa --key "$PKI/tsa.key" --cert "$PKI/tsa.pem" --latency-ms 3000
checkpoint_config 1 continue
: >"$T/gateway.log"
start_gateway
assert_eq 200 "$(post)" "a slow TSA: the exchange is answered at once"
sleep 2.5
stop_gateway
kill "$TSA_PID"; wait "$TSA_PID" 2>/dev/null || true
assert_contains "$T/gateway.log" "time-stamp failed: the TSA did not answer within 1000 ms" "a slow TSA: timed out"

# --- key rotation: old checkpoints stay verifiable ------------------------------------------------
# The gateway restarted with its ECDSA key: the new checkpoints carry the new certificate, the
# old ones keep theirs, and the TSA back stamps what the bad replies left unstamped.
start_sim tsa --key "$PKI/tsa.key" --cert "$PKI/tsa.pem"
checkpoint_config 1 refuse
sed -i -e 's|gateway-sign\.key|gateway-sign-ec.key|' -e 's|gateway-sign\.pem|gateway-sign-ec.pem|' "$CONFIG"
start_gateway
assert_eq 200 "$(post)" "after the key rotation: answered"
wait_for "after the key rotation: every checkpoint is stamped, the old unstamped ones too" \
  "SELECT count(*) FROM exchange_checkpoint WHERE tst IS NULL" 0
stop_gateway
assert_eq 2 "$(sql1 "SELECT count(DISTINCT signer_cert_sha256) FROM exchange_checkpoint")" \
  "checkpoints signed by both certificates are kept"
assert_eq "$(openssl x509 -in "$PKI/gateway-sign-ec.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')" \
  "$(sql1 "SELECT signer_cert_sha256 FROM exchange_checkpoint ORDER BY id DESC LIMIT 1")" \
  "the newest checkpoint names the ECDSA certificate"
expect_status 0 "verify across the key rotation" verify
assert_contains "$T/out" "(signatures checked, time-stamps checked); 0 not yet time-stamped" \
  "verify: old and new checkpoints verify against the CA"

# Without the rights of migration 0006 the gateway refuses to start, naming the migration.
superuser -c "REVOKE INSERT ON public.exchange_checkpoint FROM pide_gateway;" || fail "revoke failed"
rm -f "$T/gateway.port"
"$GATEWAY_BIN" --config "$CONFIG" --port-file "$T/gateway.port" >"$T/refused.log" 2>&1 &
refused_pid=$!
started_pids+=("$refused_pid")
wait "$refused_pid" && fail "the gateway started without the right to write checkpoints" \
  || assert_contains "$T/refused.log" "0006_checkpoints" "without INSERT on exchange_checkpoint the gateway refuses to start, naming 0006"
superuser -c "GRANT INSERT ON public.exchange_checkpoint TO pide_gateway;" || fail "grant failed"

# tsa-sim's own checks of what it is given.
expect_status 2 "tsa-sim refuses a certificate without the timeStamping EKU" \
  "$PIDE_BUILD_DIR/simulators/tsa/tsa-sim" --key "$PKI/gateway-sign.key" --cert "$PKI/gateway-sign.pem" --port 0
assert_contains "$T/err" "timeStamping" "tsa-sim names the missing EKU"
assert_eq 415 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary x "http://127.0.0.1:$TSA_PORT/tsa")" \
  "tsa-sim: a query of another content type gets 415"
head -c 100 /dev/urandom >"$T/junk.tsq"
curl -s -o "$T/junk.tsr" -H 'Content-Type: application/timestamp-query' --data-binary @"$T/junk.tsq" "http://127.0.0.1:$TSA_PORT/tsa"
openssl ts -reply -in "$T/junk.tsr" -text 2>/dev/null | grep -q "Status: Rejected" \
  && pass "tsa-sim answers a malformed query with status rejection" || fail "tsa-sim: malformed query not rejected"
finish
