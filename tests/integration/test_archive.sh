#!/usr/bin/env bash
# test_archive.sh — monthly archives of the exchange log (`pide-audit archive`,
# `pide-audit verify-archive`; docs/auditor-guide.md "Archives and retention") on a private
# PostgreSQL cluster of this test's own, with the PKI's real keys:
# - rows of two closed months are written through the real log writer (pide-log-append) with a
#   t_request_in in those months — the partition key, so they are what a gateway logging then
#   would have left (they sit in the DEFAULT partition: exchange_log_ensure_partitions creates
#   partitions from the current month on); a checkpoint over a row of the first month is
#   signed by openssl with the gateway's signing key in the documented statement format and
#   stamped by the real tsa-sim;
# - archive → verify-archive round trip; two consecutive months chained; a changed row byte,
#   a removed row, a manifest re-signed with the foreign CA's key, swapped month order, files
#   added to the archive, a token over another document and a path-escaping tar: refused;
# - an archiver killed with -9 mid-way leaves only .partial files; the re-run resumes and the
#   result verifies (resume in detail: test_retention.sh); the current and a future month are refused (exit 2).
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
AUDIT="$PIDE_BUILD_DIR/tools/pide-audit"
APPEND="$PIDE_BUILD_DIR/tests/helpers/pide-log-append"
PKI=$PIDE_TEST_PKI_DIR
[ -x "$AUDIT" ] && [ -x "$APPEND" ] || { echo "FAIL: pide-audit / pide-log-append not built" >&2; exit 1; }

PIDE_TEST_PG_DIR="$T/pg"
PG_LOCAL="$PIDE_SOURCE_DIR/scripts/pg-local"
bash "$PG_LOCAL" start --dir "$PIDE_TEST_PG_DIR" --port 0 --fresh >"$T/pg-start.log" 2>&1 \
  || { cat "$T/pg-start.log" >&2; echo "FAIL: private cluster did not start" >&2; exit 1; }
trap 'rc=$?; set +e; bash "$PG_LOCAL" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; (exit $rc); on_exit' EXIT
PG=$PIDE_TEST_PG_DIR
superuser() { bash "$PG_LOCAL" psql --dir "$PG" -X -q -v ON_ERROR_STOP=1 "$@"; }
sql1() { superuser -At -c "$1"; }
audit() { "$AUDIT" --conninfo "$(sed 's/user=pide_gateway/user=pide_auditor/' "$PG/conninfo")" \
            --password-file "$PG/auditor.password" "$@"; }
append() { "$APPEND" --conninfo "$(cat "$PG/conninfo")" --password-file "$PG/gateway.password" >/dev/null; }
expect_status() {
  local want=$1 what=$2 got=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || got=$?
  assert_eq "$want" "$got" "$what: exit $want"
  [ "$want" = "$got" ] || { cat "$T/out" "$T/err" >&2; }
}
SIGN=(--signing-key "$PKI/gateway-sign.key" --signing-cert "$PKI/gateway-sign.pem")
varchive() { audit verify-archive --trusted-pem "$PKI/ca.pem" --trust-tsa "$PKI/ca.pem" "$@"; }
TAB=$'\t'

M1=$(date -u -d "$(date -u +%Y-%m-01) -3 month" +%Y-%m)
M2=$(date -u -d "$(date -u +%Y-%m-01) -2 month" +%Y-%m)
M3=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)
us_of() { echo $(( $(date -u -d "$1" +%s) * 1000000 + ${2:-0} )); }
# rows MONTH N: N rows through the real writer, spread over the month, with a body of 2 KiB.
body=$(head -c 1536 /dev/urandom | base64 -w0)
rows() {
  local base i
  base=$(us_of "$1-02 08:00:00")
  for i in $(seq 1 "$2"); do
    printf 'client_member=20000000001%sclient_user=1111%04d%sservice=ReniecConsultaDni%ssubject_type=DNI%ssubject_id=4567%04d%st_request_in=%s%srequest=<consulta n="%s">%s</consulta>%sresponse=<ok/>\n' \
      "$TAB" "$i" "$TAB" "$TAB" "$TAB" "$i" "$TAB" $((base + i * 60000000)) "$TAB" "$i" "$body" "$TAB"
  done | append || fail "pide-log-append for $1"
}
rows "$M1" 300
# A boundary straggler: a request received just after midnight of M2 logged before M1's last one
# (seq 301 and 302): the chain's order is seq, the partition's is t_request_in.
printf 'client_member=20000000001%ssubject_id=straggler%st_request_in=%s\nclient_member=20000000001%ssubject_id=last-of-m1%st_request_in=%s\n' \
  "$TAB" "$TAB" "$(us_of "$M2-01 00:00:00" 100)" "$TAB" "$TAB" "$(us_of "$M2-01 00:00:00" -100000)" | append
rows "$M2" 40
assert_eq 342 "$(sql1 "SELECT count(*) FROM exchange_log")" "342 rows in two past months"

# A checkpoint over seq 150 (in M1), signed with the gateway's key in the documented format.
head_hex=$(sql1 "SELECT encode(row_hash, 'hex') FROM exchange_log WHERE seq = 150")
created_us=$(us_of "$M1-20 00:00:00" 123456)
printf 'pide-gateway exchange-log checkpoint v1\nid: 1\nnode: demo\nseq: 150\nrow_hash: %s\nrows: 150\ncreated: %s\nprevious: %s\n' \
  "$head_hex" "$(date -u -d "@$((created_us / 1000000))" +%Y-%m-%dT%H:%M:%S).123456Z" "$(printf '0%.0s' $(seq 1 64))" >"$T/cp1.txt"
openssl cms -sign -binary -md sha256 -outform DER -in "$T/cp1.txt" -signer "$PKI/gateway-sign.pem" \
  -inkey "$PKI/gateway-sign.key" -out "$T/cp1.cms" || fail "openssl cms -sign"
openssl x509 -in "$PKI/gateway-sign.pem" -outform DER -out "$T/signer.der"
superuser -v st="$(base64 -w0 "$T/cp1.txt")" -v sd="$(base64 -w0 "$T/cp1.cms")" \
  -v sc="$(base64 -w0 "$T/signer.der")" -v fp="$(sha256sum "$T/signer.der" | cut -c1-64)" \
  -v hh="$head_hex" -v cr="$(date -u -d "@$((created_us / 1000000))" '+%Y-%m-%d %H:%M:%S').123456+00" <<'SQL' \
  || fail "checkpoint inserted"
INSERT INTO exchange_checkpoint (id, node_id, head_seq, head_row_hash, row_count, created,
  prev_sha256, statement, signed_document, signer_certificate, signer_cert_sha256)
VALUES (1, 'demo', 150, decode(:'hh', 'hex'), 150, :'cr'::timestamptz, decode(repeat('00', 32), 'hex'),
  decode(:'st', 'base64'), decode(:'sd', 'base64'), decode(:'sc', 'base64'), :'fp');
SQL

# Its RFC 3161 token, from the real tsa-sim over SHA-256 of the signed document, as the gateway
# asks for it.
start_sim tsa --key "$PKI/tsa.key" --cert "$PKI/tsa.pem"
openssl ts -query -data "$T/cp1.cms" -sha256 -cert -out "$T/cp1.tsq" 2>/dev/null
curl -sf -H 'Content-Type: application/timestamp-query' --data-binary @"$T/cp1.tsq" \
  "http://127.0.0.1:$TSA_PORT/tsa" -o "$T/cp1.reply" || fail "tsa-sim answered"
openssl ts -reply -in "$T/cp1.reply" -token_out -out "$T/cp1.tst" 2>/dev/null || fail "token extracted"
superuser -v tst="$(base64 -w0 "$T/cp1.tst")" <<<"UPDATE exchange_checkpoint SET tst = decode(:'tst', 'base64'), stamped_at = now() WHERE id = 1;" \
  || fail "token stored"

# --- bad arguments and the current month ---------------------------------------------------------
A=$T/archives; mkdir -p "$A"
expect_status 2 "archive of the current month" audit archive --month "$(date -u +%Y-%m)" --out "$A" "${SIGN[@]}"
assert_contains "$T/err" "is not closed" "the current month is refused with a clear message"
expect_status 2 "archive of a future month" audit archive --month "$(date -u -d '+2 month' +%Y-%m)" --out "$A" "${SIGN[@]}"
expect_status 2 "archive --month garbage" audit archive --month 2026-13 --out "$A" "${SIGN[@]}"
expect_status 2 "archive without a signing key" audit archive --month "$M1" --out "$A"
expect_status 2 "archive to a missing directory" audit archive --month "$M1" --out "$T/nope" "${SIGN[@]}"
expect_status 2 "verify-archive without --trusted-pem" audit verify-archive "$T/nope.tar.gz"

# --- interrupted, then resumed -------------------------------------------------------------------
# In a session of its own (setsid), so that kill -9 reaches the script and its C helper at once.
PIDE_AUDIT_ARCHIVE_BATCH=10 PIDE_AUDIT_ARCHIVE_TEST_DELAY_MS=100 \
  setsid "$AUDIT" --conninfo "$(sed 's/user=pide_gateway/user=pide_auditor/' "$PG/conninfo")" \
  --password-file "$PG/auditor.password" archive --month "$M1" --out "$A" "${SIGN[@]}" >"$T/kill.out" 2>&1 &
apid=$!
for i in $(seq 1 50); do
  [ -s "$A/.pide-log-$M1.partial/pide-log-$M1/rows.jsonl" ] && break; sleep 0.1
done
sleep 0.5
# kill -9 the whole archiver (the script and its C helper), as a crash would.
kill -9 -- -"$apid" 2>/dev/null || true; wait "$apid" 2>/dev/null || true
assert_eq "" "$(ls "$A"/*.tar.gz 2>/dev/null)" "an interrupted archive leaves no file that looks complete"
[ -d "$A/.pide-log-$M1.partial" ] && pass "the interrupted run left its .partial staging directory" \
  || fail "no .partial directory after kill -9 (was it killed mid-way?)"
expect_status 0 "archive $M1 after the interruption" audit archive --month "$M1" --out "$A" "${SIGN[@]}"
assert_contains "$T/err" "resuming the interrupted archive of $M1 after seq" "the re-run resumes the month (tests/integration/test_retention.sh checks how)"
assert_contains "$T/out" "archived $M1: 302 row(s), seq 1..302" "the month's rows archived"
cp "$T/err" "$T/archive1.out"; cat "$T/out" >>"$T/archive1.out"
assert_eq "" "$(ls -A "$A" | grep partial || true)" "no partial file left after the re-run"
expect_status 2 "archive of an already archived month" audit archive --month "$M1" --out "$A" "${SIGN[@]}"

# --- round trip ----------------------------------------------------------------------------------
F1=$A/pide-log-$M1.tar.gz
expect_status 0 "verify-archive $M1" varchive "$F1"
cp "$T/out" "$T/verify1.out"
assert_contains "$T/out" "ok: manifest signature verified" "manifest signature checked by openssl cms"
assert_contains "$T/out" "ok: 302 row hashes recomputed, every link holds (seq 1..302)" "every row hash recomputed"
assert_contains "$T/out" "ok: checkpoint 1: its signed head (seq 150" "the checkpoint's head is a row of the archive"
assert_contains "$T/out" "ok: checkpoint 1: signature verified" "the checkpoint's signature checked"
assert_contains "$T/out" "ok: checkpoint 1: time-stamp token verified" "the checkpoint's token checked"
assert_contains "$T/out" "archive(s) intact" "verdict"
expect_status 1 "verify-archive against the foreign CA" audit verify-archive --trusted-pem "$PKI/other-ca.pem" "$F1"
assert_contains "$T/out" "FAILED: manifest signature does not verify" "foreign CA: manifest refused"

assert_eq 1 "$(tar -xzOf "$F1" "pide-log-$M1/rows.jsonl" | grep -c "\"seq\":301,.*\"t_request_in\":\"$M2-01T00:00:00.000100Z\"")" \
  "the straggler of $M2 logged before $M1's last row travels with $M1 (seq ranges stay contiguous)"

# --- two months chained --------------------------------------------------------------------------
flock "$A/.pide-log-$M2.lock" sleep 2 & lpid=$!
sleep 0.3
expect_status 2 "a second archiver of the same month while one runs" audit archive --month "$M2" --out "$A" "${SIGN[@]}"
assert_contains "$T/err" "another archive of $M2" "the second archiver says why"
wait "$lpid" || true
expect_status 0 "archive $M2 (finds $M1's archive in DIR)" audit archive --month "$M2" --out "$A" "${SIGN[@]}"
assert_contains "$T/out" "chained to pide-log-$M1.tar.gz" "the second archive names the first"
F2=$A/pide-log-$M2.tar.gz
expect_status 0 "verify-archive $M1 $M2" varchive "$F1" "$F2"
cp "$T/out" "$T/verify2.out"
assert_contains "$T/out" "ok: manifest names the previous archive's digest" "digest of the previous archive"
assert_contains "$T/out" "ok: the chain connects: the previous archive ends at seq 302" "chains connect across months"
expect_status 1 "verify-archive in swapped order" varchive "$F2" "$F1"
assert_contains "$T/out" "FAILED: the chain connects" "swapped months refused"
# An empty month chains too.
expect_status 0 "archive of an empty month $M3" audit archive --month "$M3" --out "$A" "${SIGN[@]}"
expect_status 0 "verify-archive of three months" varchive "$F1" "$F2" "$A/pide-log-$M3.tar.gz"

# A row rewritten in the database (behind the triggers) is not archived.
sql1 "ALTER TABLE exchange_log DISABLE TRIGGER USER; UPDATE exchange_log SET client_user = 'forged' WHERE seq = 310; ALTER TABLE exchange_log ENABLE TRIGGER USER;" >/dev/null \
  || fail "superuser rewrote seq 310"
rm -f "$A/pide-log-$M2.tar.gz" "$A/pide-log-$M3.tar.gz"
expect_status 1 "archive of a month with a rewritten row" audit archive --month "$M2" --out "$A" "${SIGN[@]}"
assert_contains "$T/err" "FAILED: seq 310: row_hash does not match" "the archiver names the rewritten row"
assert_eq "" "$(ls "$A" | grep "$M2" | grep -v lock || true)" "nothing written for it"

# --- tampering -----------------------------------------------------------------------------------
# repack NAME: $T/u/pide-log-M1 (edited) into $T/NAME.tar.gz.
unpack1() { rm -rf "$T/u"; mkdir "$T/u"; tar -xzf "$F1" -C "$T/u"; }
repack() { tar -czf "$T/$1.tar.gz" -C "$T/u" "pide-log-$M1"; }
D=$T/u/pide-log-$M1
unpack1; sed -i '7s/"client_user":"11110007"/"client_user":"11110008"/' "$D/rows.jsonl"; repack byte
expect_status 1 "a changed row byte" varchive "$T/byte.tar.gz"
assert_contains "$T/out" "FAILED: seq 7: row_hash does not match the row's content" "the changed row named"
assert_contains "$T/out" "FAILED: file rows.jsonl does not match its digest" "the file digest no longer matches"
unpack1; sed -i '20d' "$D/rows.jsonl"; repack removed
expect_status 1 "a removed row" varchive "$T/removed.tar.gz"
assert_contains "$T/out" "FAILED: seq 21: seq does not follow the previous row" "the gap named"
# The manifest rewritten to match the shortened rows and re-signed with the foreign CA's key.
unpack1; sed -i '20d' "$D/rows.jsonl"
python3 - "$D" <<'PY'
import hashlib, json, sys
d = sys.argv[1]; m = json.load(open(d + "/MANIFEST.json"))
m["files"]["rows.jsonl"] = hashlib.sha256(open(d + "/rows.jsonl", "rb").read()).hexdigest()
m["row_count"] -= 1
open(d + "/MANIFEST.json", "w").write(json.dumps(m, indent=2) + "\n")
PY
openssl req -new -x509 -key "$PKI/other-ca.key" -subj "/CN=pide-gateway signing" -days 2 -out "$T/forger.pem" 2>/dev/null
openssl cms -sign -binary -md sha256 -outform DER -in "$D/MANIFEST.json" -signer "$T/forger.pem" \
  -inkey "$PKI/other-ca.key" -out "$D/MANIFEST.json.cms"
repack forged
expect_status 1 "a manifest re-signed with the foreign key" varchive "$T/forged.tar.gz"
assert_contains "$T/out" "FAILED: manifest signature does not verify" "forged manifest signature refused"
unpack1; echo extra >"$D/notes.txt"; repack extra
expect_status 1 "a file added to the archive" varchive "$T/extra.tar.gz"
assert_contains "$T/out" "FAILED: notes.txt is not named by the manifest" "unlisted file named"
unpack1; rm "$D/checkpoints/1.cms"; repack nocms
expect_status 1 "a checkpoint's signature removed" varchive "$T/nocms.tar.gz"
# A token over another document (the manifest's signature) in place of the checkpoint's.
unpack1; cp "$D/MANIFEST.json.cms" "$T/other.cms"
openssl ts -query -data "$T/other.cms" -sha256 -cert -out "$T/o.tsq" 2>/dev/null
curl -sf -H 'Content-Type: application/timestamp-query' --data-binary @"$T/o.tsq" \
  "http://127.0.0.1:$TSA_PORT/tsa" -o "$T/o.reply" && openssl ts -reply -in "$T/o.reply" -token_out -out "$D/checkpoints/1.tsr" 2>/dev/null
python3 - "$D" <<'PY'
import hashlib, json, sys
d = sys.argv[1]; m = json.load(open(d + "/MANIFEST.json"))
m["files"]["checkpoints/1.tsr"] = hashlib.sha256(open(d + "/checkpoints/1.tsr", "rb").read()).hexdigest()
open(d + "/MANIFEST.json", "w").write(json.dumps(m, indent=2) + "\n")
PY
openssl cms -sign -binary -md sha256 -outform DER -in "$D/MANIFEST.json" -signer "$PKI/gateway-sign.pem" \
  -inkey "$PKI/gateway-sign.key" -out "$D/MANIFEST.json.cms"
repack swaptoken
expect_status 1 "a token over another document" varchive "$T/swaptoken.tar.gz"
assert_contains "$T/out" "FAILED: checkpoint 1: time-stamp token does not verify" "a moved token refused"
# The checkpoint dropped from the manifest's list (so its head would go unchecked), re-signed.
unpack1
python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]; m = json.load(open(d + "/MANIFEST.json")); m["checkpoints"] = []
open(d + "/MANIFEST.json", "w").write(json.dumps(m, indent=2) + "\n")
PY
openssl cms -sign -binary -md sha256 -outform DER -in "$D/MANIFEST.json" -signer "$PKI/gateway-sign.pem" \
  -inkey "$PKI/gateway-sign.key" -out "$D/MANIFEST.json.cms"
repack unlistedcp
expect_status 1 "a checkpoint left out of the manifest's list" varchive "$T/unlistedcp.tar.gz"
assert_contains "$T/out" "FAILED: checkpoint 1 is in the archive but not in the manifest's list" "unlisted checkpoint named"
echo "not an archive" >"$T/garbage.tar.gz"
expect_status 2 "garbage instead of an archive" varchive "$T/garbage.tar.gz"
mkdir -p "$T/esc/pide-log-$M1"; echo x >"$T/esc/evil"
tar -czf "$T/escape.tar.gz" -C "$T/esc" "pide-log-$M1" -C "$T/esc" ../esc/evil 2>/dev/null
expect_status 2 "an archive with a path outside its directory" varchive "$T/escape.tar.gz"

echo "--- real output (docs) ---"; cat "$T/archive1.out" "$T/verify2.out"
finish
