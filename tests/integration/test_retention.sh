#!/usr/bin/env bash
# test_retention.sh — resumable archives and the retention procedure (`pide-audit archive`
# resumed after kill -9, `pide-audit detach`, `pide-audit verify` after detach; migration 0009;
# docs/auditor-guide.md "Archives and retention", docs/operator-guide.md "Retention") on a
# private PostgreSQL cluster of this test's own, with the PKI's real keys:
# - two closed months, each in a monthly partition of its own, rows written through the real
#   log writer (pide-log-append), checkpoints signed by openssl with the gateway's key in the
#   documented statement format;
# - an archiver killed with -9 mid-way is resumed by the re-run (it says from which seq, reads
#   only the remaining rows from the database); the archive verifies and holds each row once;
#   a partial file damaged before the re-run is discarded and the month restarted, and the
#   result verifies; the signing key and certificate can come from the gateway's configuration;
# - detach refused (exit 1 or 2, nothing recorded, the partition still attached): no archive,
#   another month's archive, a tampered archive, an archive signed by a foreign key, garbage,
#   the open month, a later month before an earlier one, a month no checkpoint covers yet, a
#   month holding the log's newest row, the read-only role, hostile --month / --os-user;
# - DETACH / DROP / rename of a month partition by hand, DROP of a partition made by hand and of
#   the whole log refused for the owner; the retention table refuses UPDATE, DELETE, TRUNCATE;
# - detach of both months (the second with --drop), verify passes from the retention records
#   (and with --from ARCHIVE), the citizen report says what is archived;
# - rows deleted and a retention record forged by the owner (manifest signed by a foreign key):
#   verify --trust-signer refuses it.
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
trap 'rc=$?; set +e; stop_all; bash "$PG_LOCAL" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; (exit $rc); on_exit' EXIT
PG=$PIDE_TEST_PG_DIR
superuser() { bash "$PG_LOCAL" psql --dir "$PG" -X -q -v ON_ERROR_STOP=1 "$@"; }
owner() { { echo "SET ROLE pide_owner;"; cat; } | superuser "$@"; }
sql1() { superuser -At -c "$1"; }
AUDITOR_CONNINFO=$(sed 's/user=pide_gateway/user=pide_auditor/' "$PG/conninfo")
audit() { "$AUDIT" --conninfo "$AUDITOR_CONNINFO" --password-file "$PG/auditor.password" "$@"; }
# The retention procedure runs as a login role that is a member of pide_owner (DETACH needs the
# table's owner); the auditor's read-only role cannot.
(umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$T/keeper.password")
superuser -v pw="$(cat "$T/keeper.password")" <<<"CREATE ROLE pide_keeper LOGIN PASSWORD :'pw' IN ROLE pide_owner;" \
  || fail "login role for the retention procedure"
keeper() { "$AUDIT" --conninfo "$(sed 's/user=pide_gateway/user=pide_keeper/' "$PG/conninfo")" \
             --password-file "$T/keeper.password" "$@"; }
append() { "$APPEND" --conninfo "$(cat "$PG/conninfo")" --password-file "$PG/gateway.password" >/dev/null; }
expect_status() {
  local want=$1 what=$2 got=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || got=$?
  assert_eq "$want" "$got" "$what: exit $want"
  [ "$want" = "$got" ] || { cat "$T/out" "$T/err" >&2; }
}
SIGN=(--signing-key "$PKI/gateway-sign.key" --signing-cert "$PKI/gateway-sign.pem")
varchive() { audit verify-archive --trusted-pem "$PKI/ca.pem" "$@"; }
TAB=$'\t'

M1=$(date -u -d "$(date -u +%Y-%m-01) -3 month" +%Y-%m)
M2=$(date -u -d "$(date -u +%Y-%m-01) -2 month" +%Y-%m)
part() { echo "exchange_log_y${1%-*}m${1#*-}"; }
attached() { sql1 "SELECT count(*) FROM pg_inherits WHERE inhparent = 'exchange_log'::regclass AND inhrelid = to_regclass('$(part "$1")')"; }
retained() { sql1 "SELECT count(*) FROM exchange_retention"; }
us_of() { echo $(( $(date -u -d "$1" +%s) * 1000000 + ${2:-0} )); }

# Monthly partitions of their own for the two past months (as exchange_log_ensure_partitions
# would have made them then).
for m in "$M1" "$M2"; do
  owner <<SQL || fail "partition for $m"
CREATE TABLE public.$(part "$m") PARTITION OF public.exchange_log
  FOR VALUES FROM ('$m-01 00:00:00+00') TO ('$(date -u -d "$m-01 +1 month" +%Y-%m-%d) 00:00:00+00');
SQL
done

# rows MONTH N: N rows through the real writer, spread over the month (a minute apart).
rows() {
  local base i
  base=$(us_of "$1-02 08:00:00")
  for i in $(seq 1 "$2"); do
    printf 'client_member=20000000001%sclient_user=1111%04d%sservice=ReniecConsultaDni%ssubject_type=DNI%ssubject_id=%s%st_request_in=%s%srequest=<consulta n="%s">%s</consulta>%sresponse=<ok/>\n' \
      "$TAB" "$((i % 10000))" "$TAB" "$TAB" "$TAB" "${3:-4567$(printf %04d $((i % 10000)))}" "$TAB" $((base + i * 60000000)) "$TAB" "$i" "$body" "$TAB"
  done | append || fail "pide-log-append for $1"
}
body=$(head -c 300 /dev/urandom | base64 -w0)
N1=3000
rows "$M1" "$N1"
rows "$M1" 1 45678912      # one consultation of the citizen whose report is checked below
N1=$((N1 + 1))
rows "$M2" 40
rows "$M2" 1 45678912
N2=41
TOTAL=$((N1 + N2))
assert_eq "$TOTAL" "$(sql1 "SELECT count(*) FROM exchange_log")" "$TOTAL rows in two past months"
assert_eq "$N1" "$(sql1 "SELECT count(*) FROM $(part "$M1")")" "$M1's rows are in its own partition"

# checkpoint ID SEQ: a checkpoint over seq SEQ, chained to the one before, signed with the
# gateway's key in the documented format (no time-stamp: the TSA is not what this test is about).
ZERO=$(printf '0%.0s' $(seq 1 64)); PREV_CP_SHA=$ZERO; PREV_CP_SEQ=0
checkpoint() {
  local id=$1 seq=$2 hh created_us cr
  hh=$(sql1 "SELECT encode(row_hash, 'hex') FROM exchange_log WHERE seq = $seq")
  created_us=$(( $(date -u +%s) * 1000000 + 123456 ))
  cr=$(date -u -d "@$((created_us / 1000000))" +%Y-%m-%dT%H:%M:%S).123456Z
  printf 'pide-gateway exchange-log checkpoint v1\nid: %s\nnode: demo\nseq: %s\nrow_hash: %s\nrows: %s\ncreated: %s\nprevious: %s\n' \
    "$id" "$seq" "$hh" $((seq - PREV_CP_SEQ)) "$cr" "$PREV_CP_SHA" >"$T/cp$id.txt"
  openssl cms -sign -binary -md sha256 -outform DER -in "$T/cp$id.txt" -signer "$PKI/gateway-sign.pem" \
    -inkey "$PKI/gateway-sign.key" -out "$T/cp$id.cms" || fail "openssl cms -sign"
  openssl x509 -in "$PKI/gateway-sign.pem" -outform DER -out "$T/signer.der"
  superuser -v id="$id" -v seq="$seq" -v n=$((seq - PREV_CP_SEQ)) -v st="$(base64 -w0 "$T/cp$id.txt")" \
    -v sd="$(base64 -w0 "$T/cp$id.cms")" -v sc="$(base64 -w0 "$T/signer.der")" \
    -v fp="$(sha256sum "$T/signer.der" | cut -c1-64)" -v hh="$hh" -v prev="$PREV_CP_SHA" \
    -v cr="$(date -u -d "@$((created_us / 1000000))" '+%Y-%m-%d %H:%M:%S').123456+00" <<'SQL' \
    || fail "checkpoint $id inserted"
INSERT INTO exchange_checkpoint (id, node_id, head_seq, head_row_hash, row_count, created,
  prev_sha256, statement, signed_document, signer_certificate, signer_cert_sha256)
VALUES (:'id', 'demo', :'seq', decode(:'hh', 'hex'), :'n', :'cr'::timestamptz, decode(:'prev', 'hex'),
  decode(:'st', 'base64'), decode(:'sd', 'base64'), decode(:'sc', 'base64'), :'fp');
SQL
  PREV_CP_SHA=$(sha256sum "$T/cp$id.cms" | cut -c1-64); PREV_CP_SEQ=$seq
}
checkpoint 1 150
checkpoint 2 "$N1"   # the head of M1: M1 is covered, M2 not yet

A=$T/archives; mkdir -p "$A"

# --- resume after kill -9 ------------------------------------------------------------------------
# In a session of its own (setsid), so that kill -9 reaches the script and its C helper at once.
PIDE_AUDIT_ARCHIVE_BATCH=200 PIDE_AUDIT_ARCHIVE_TEST_DELAY_MS=150 \
  setsid "$AUDIT" --conninfo "$AUDITOR_CONNINFO" --password-file "$PG/auditor.password" \
  archive --month "$M1" --out "$A" "${SIGN[@]}" >"$T/kill.out" 2>&1 &
apid=$!
PROGRESS=$A/.pide-log-$M1.partial/progress
for i in $(seq 1 100); do
  [ -f "$PROGRESS" ] && [ "$(sed -n 's/^rows //p' "$PROGRESS")" -ge 800 ] 2>/dev/null && break; sleep 0.1
done
kill -9 -- -"$apid" 2>/dev/null || true; wait "$apid" 2>/dev/null || true
cp "$PROGRESS" "$T/progress.at-kill" 2>/dev/null
DONE_SEQ=$(sed -n 's/^last_seq //p' "$T/progress.at-kill")
DONE_ROWS=$(sed -n 's/^rows //p' "$T/progress.at-kill")
[ -n "$DONE_SEQ" ] && [ "$DONE_SEQ" -ge 800 ] && [ "$DONE_SEQ" -lt "$N1" ] \
  && pass "killed mid-way: the progress record names seq $DONE_SEQ of $N1" \
  || fail "the archiver was not killed mid-way (progress: '$DONE_SEQ')"
assert_eq "" "$(ls "$A"/*.tar.gz 2>/dev/null)" "an interrupted archive leaves no file that looks complete"
# A torn last batch: bytes after the recorded offset (as a crash between write and record leaves).
printf '{"seq":' >>"$A/.pide-log-$M1.partial/pide-log-$M1/rows.jsonl"
expect_status 0 "archive $M1 re-run after kill -9" audit archive --month "$M1" --out "$A" "${SIGN[@]}"
cp "$T/err" "$T/resume.out"; cat "$T/out" >>"$T/resume.out"
assert_contains "$T/err" "resuming the interrupted archive of $M1 after seq $DONE_SEQ ($DONE_ROWS row(s) already exported" \
  "the re-run says it resumes after the recorded seq"
assert_contains "$T/out" "resumed: $((N1 - DONE_ROWS)) row(s) read from the database in this run" \
  "the rows exported before the kill are not read from the database again"
assert_contains "$T/out" "archived $M1: $N1 row(s), seq 1..$N1" "the month's rows archived"
F1=$A/pide-log-$M1.tar.gz
expect_status 0 "verify-archive of the resumed archive" varchive "$F1"
assert_contains "$T/out" "ok: $N1 row hashes recomputed, every link holds (seq 1..$N1)" "every row hash recomputed"
assert_eq "$N1 $N1" "$(tar -xzOf "$F1" "pide-log-$M1/rows.jsonl" | grep -o '"seq":[0-9]*' | sort | uniq | wc -l) $(tar -xzOf "$F1" "pide-log-$M1/rows.jsonl" | wc -l)" \
  "each row exactly once ($N1 lines, $N1 distinct seqs)"
assert_eq "" "$(ls -A "$A" | grep partial || true)" "no partial file left after the re-run"

# A damaged partial file: refused for resuming, the month restarted, the result verifies.
PIDE_AUDIT_ARCHIVE_BATCH=5 PIDE_AUDIT_ARCHIVE_TEST_DELAY_MS=300 \
  setsid "$AUDIT" --conninfo "$AUDITOR_CONNINFO" --password-file "$PG/auditor.password" \
  archive --month "$M2" --out "$A" "${SIGN[@]}" >"$T/kill2.out" 2>&1 &
apid=$!
PROGRESS2=$A/.pide-log-$M2.partial/progress
for i in $(seq 1 100); do
  [ -f "$PROGRESS2" ] && [ "$(sed -n 's/^rows //p' "$PROGRESS2")" -ge 10 ] 2>/dev/null && break; sleep 0.1
done
kill -9 -- -"$apid" 2>/dev/null || true; wait "$apid" 2>/dev/null || true
R2=$A/.pide-log-$M2.partial/pide-log-$M2/rows.jsonl
[ -f "$R2" ] && [ -f "$PROGRESS2" ] && pass "second archiver killed with a partial file" || fail "no partial file for $M2"
sed -i '3s/"client_user":"1111\([0-9]\)/"client_user":"9999\1/' "$R2"
# This re-run takes its signing key and certificate from a gateway configuration (--config):
# the <signing> element, relative paths resolved against the file's folder.
mkdir -p "$T/conf/pki"; cp "$PKI/gateway-sign.key" "$PKI/gateway-sign.pem" "$T/conf/pki/"
cat >"$T/conf/gw.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<gateway xmlns="urn:pide:gateway:config:1">
  <paths adapterDir="."/>
  <signing key="pki/gateway-sign.key" certificate="pki/gateway-sign.pem"/>
</gateway>
XML
printf '<gateway><paths adapterDir="."/></gateway>\n' >"$T/conf/nosign.xml"
expect_status 2 "archive --config without a <signing> element" audit archive --month "$M2" --out "$A" --config "$T/conf/nosign.xml"
assert_contains "$T/err" "has no <signing key=... certificate=...> element" "a configuration without <signing> named"
expect_status 0 "archive $M2 after its partial file was damaged (--config)" audit archive --month "$M2" --out "$A" --config "$T/conf/gw.xml"
assert_contains "$T/err" "the interrupted archive of $M2 cannot be resumed (a row of the partial file does not verify" \
  "a damaged partial file is named and not resumed"
assert_contains "$T/err" "discarded and the month restarted" "the month restarts"
cp "$T/err" "$T/damaged.out"
F2=$A/pide-log-$M2.tar.gz
expect_status 0 "verify-archive $M1 $M2 (chained)" varchive "$F1" "$F2"
assert_contains "$T/out" "ok: the chain connects" "the two archives chain"
assert_eq "$N2" "$(tar -xzOf "$F2" "pide-log-$M2/rows.jsonl" | wc -l)" "$M2's $N2 rows, once each"

# --- detach refused ------------------------------------------------------------------------------
nothing_detached() {
  assert_eq "1 1 0" "$(attached "$M1") $(attached "$M2") $(retained)" "$1: nothing detached, nothing recorded"
}
expect_status 2 "detach without --archive" keeper detach --month "$M1" --trusted-pem "$PKI/ca.pem"
expect_status 2 "detach without --trusted-pem" keeper detach --month "$M1" --archive "$F1"
echo "not an archive" >"$T/garbage.tar.gz"
expect_status 2 "detach with garbage for an archive" keeper detach --month "$M1" --archive "$T/garbage.tar.gz" --trusted-pem "$PKI/ca.pem"
assert_contains "$T/err" "not a readable archive" "garbage named"
expect_status 2 "detach with a hostile --os-user" keeper detach --month "$M1" --archive "$F1" --trusted-pem "$PKI/ca.pem" --os-user "x'); DROP TABLE exchange_log; --"
expect_status 2 "detach --month garbage" keeper detach --month "2026-13" --archive "$F1" --trusted-pem "$PKI/ca.pem"
expect_status 2 "detach with a missing archive" keeper detach --month "$M1" --archive "$T/nope.tar.gz" --trusted-pem "$PKI/ca.pem"
expect_status 1 "detach of $M1 with $M2's archive" keeper detach --month "$M1" --archive "$F2" --trusted-pem "$PKI/ca.pem"
assert_contains "$T/err" "is the archive of $M2, not of $M1" "another month's archive named"
nothing_detached "another month's archive"
cp "$F2" "$T/renamed-pide-log-$M1.tar.gz"
expect_status 1 "detach of $M2 before $M1" keeper detach --month "$M2" --archive "$F2" --trusted-pem "$PKI/ca.pem"
assert_contains "$T/err" "(earlier months) are still attached: detach the oldest month first" "the oldest month first"
nothing_detached "a later month first"
expect_status 1 "detach of the open month" keeper detach --month "$(date -u +%Y-%m)" --archive "$F1" --trusted-pem "$PKI/ca.pem"
assert_contains "$T/err" "is not closed" "the open month refused"
# Tampered: one row byte changed, the archive repacked (its manifest signature still verifies).
rm -rf "$T/u"; mkdir "$T/u"; tar -xzf "$F1" -C "$T/u"
sed -i '7s/"client_user":"11110007"/"client_user":"11110008"/' "$T/u/pide-log-$M1/rows.jsonl"
mkdir -p "$T/tampered"; tar -czf "$T/tampered/pide-log-$M1.tar.gz" -C "$T/u" "pide-log-$M1"
expect_status 1 "detach with a tampered archive" keeper detach --month "$M1" --archive "$T/tampered/pide-log-$M1.tar.gz" --trusted-pem "$PKI/ca.pem"
assert_contains "$T/err" "the archive does not verify" "tampered archive refused"
assert_contains "$T/err" "FAILED: seq 7: row_hash does not match" "the changed row named"
# Signed with a foreign key.
rm -rf "$T/u"; mkdir "$T/u"; tar -xzf "$F1" -C "$T/u"
openssl req -new -x509 -key "$PKI/other-ca.key" -subj "/CN=pide-gateway signing" -days 2 -out "$T/forger.pem" 2>/dev/null
openssl cms -sign -binary -md sha256 -outform DER -in "$T/u/pide-log-$M1/MANIFEST.json" -signer "$T/forger.pem" \
  -inkey "$PKI/other-ca.key" -out "$T/u/pide-log-$M1/MANIFEST.json.cms"
mkdir -p "$T/foreign"; tar -czf "$T/foreign/pide-log-$M1.tar.gz" -C "$T/u" "pide-log-$M1"
expect_status 1 "detach with an archive signed by a foreign key" keeper detach --month "$M1" --archive "$T/foreign/pide-log-$M1.tar.gz" --trusted-pem "$PKI/ca.pem"
assert_contains "$T/err" "FAILED: manifest signature does not verify" "foreign signature refused"
nothing_detached "tampered and foreign-signed archives"
# The auditor's read-only role cannot run the procedure.
expect_status 3 "detach as pide_auditor" audit detach --month "$M1" --archive "$F1" --trusted-pem "$PKI/ca.pem"
nothing_detached "the read-only role"

# --- by hand: refused for the owner; the retention table is append-only ---------------------------
owner <<<"ALTER TABLE exchange_log DETACH PARTITION $(part "$M1");" >"$T/out" 2>&1 \
  && fail "the owner detached a month partition by hand" || pass "DETACH by hand refused"
assert_contains "$T/out" "may leave the log only through the retention procedure" "DETACH refused with the reason"
owner <<<"DROP TABLE $(part "$M1");" >"$T/out" 2>&1 \
  && fail "the owner dropped a month partition by hand" || pass "DROP of a partition by hand refused"
assert_contains "$T/out" "may be dropped only through the retention procedure" "DROP refused with the reason"
owner <<<"TRUNCATE $(part "$M1");" >"$T/out" 2>&1 && fail "TRUNCATE of a partition" || pass "TRUNCATE of a partition still refused"
owner <<<"ALTER TABLE $(part "$M1") RENAME TO hidden;" >"$T/out" 2>&1 \
  && fail "the owner renamed a month partition" || pass "renaming a partition (to detach it under another name) refused"
assert_contains "$T/out" "must keep its name" "rename refused with the reason"
M0=$(date -u -d "$(date -u +%Y-%m-01) -5 month" +%Y-%m)
owner <<SQL >"$T/out" 2>&1 || fail "a partition made by hand: $(cat "$T/out")"
CREATE TABLE public.exchange_log_y${M0%-*}m${M0#*-} PARTITION OF public.exchange_log
  FOR VALUES FROM ('$M0-01 00:00:00+00') TO ('$(date -u -d "$M0-01 +1 month" +%Y-%m-%d) 00:00:00+00');
SQL
owner <<<"DROP TABLE exchange_log_y${M0%-*}m${M0#*-};" >"$T/out" 2>&1 \
  && fail "the owner dropped an (empty) month partition" || pass "DROP of an empty partition refused too"
owner <<<"DROP TABLE exchange_log CASCADE;" >"$T/out" 2>&1 && fail "the owner dropped the whole log" || pass "DROP TABLE exchange_log CASCADE refused"
assert_contains "$T/out" "may be dropped only through the retention procedure" "the whole log's DROP refused with the reason"
nothing_detached "by hand"

# --- detach M1 -----------------------------------------------------------------------------------
expect_status 0 "detach $M1" keeper detach --month "$M1" --archive "$F1" --trusted-pem "$PKI/ca.pem" --os-user auditor-jperez
cp "$T/out" "$T/detach1.out"
assert_contains "$T/out" "retention record 1: month $M1, rows 1..$N1 ($N1 row(s)) are in pide-log-$M1.tar.gz" "detach reports the record"
assert_eq "0 1" "$(attached "$M1") $(sql1 "SELECT count(*) FROM pg_class WHERE relname = '$(part "$M1")'")" \
  "$M1's partition detached (kept as a table)"
assert_eq "1|$M1|0|$N1|$N1|pide_keeper|auditor-jperez|$(sha256sum "$F1" | cut -c1-64)|f" \
  "$(sql1 "SELECT id, month, after_seq, last_seq, row_count, db_user, os_user, archive_sha256, dropped FROM exchange_retention")" \
  "the retention record: who, what, which archive"
assert_contains <(sql1 "SELECT archive_signer FROM exchange_retention") "CN=" "the archive's signer recorded"
for stmt in "UPDATE exchange_retention SET os_user = 'x'" "DELETE FROM exchange_retention" "TRUNCATE exchange_retention"; do
  owner <<<"$stmt;" >"$T/out" 2>&1 && fail "owner: $stmt" || pass "owner: $stmt refused"
  assert_contains "$T/out" "exchange_retention is append-only" "$stmt: the reason"
done
expect_status 1 "detach $M1 again" keeper detach --month "$M1" --archive "$F1" --trusted-pem "$PKI/ca.pem"
assert_contains "$T/err" "has no attached partition" "a detached month cannot be detached twice"

expect_status 0 "verify after detach" audit verify --trust-signer "$PKI/ca.pem"
cp "$T/out" "$T/verify1.out"
assert_contains "$T/out" "rows 1..$N1 are in archive pide-log-$M1.tar.gz (month $M1" "verify says which rows are archived where"
assert_contains "$T/out" "chain intact: $N2 rows" "the attached rows verified from the archive's end"
assert_contains "$T/out" "checkpoints over archived rows: 2" "the archived checkpoints named"
expect_status 0 "verify --from the archive" audit verify --trust-signer "$PKI/ca.pem" --from "$F1"
assert_contains "$T/out" "starting from the archive of $M1 given with --from: its signed end is seq $N1" "verify --from ARCHIVE"
expect_status 1 "verify --from an archive signed by a foreign key" audit verify --trust-signer "$PKI/ca.pem" --from "$T/foreign/pide-log-$M1.tar.gz"
expect_status 2 "verify --from ARCHIVE without --trust-signer" audit verify --from "$F1"
expect_status 2 "verify --from a checkpoint inside the detached month" audit verify --trust-signer "$PKI/ca.pem" --from 1
assert_contains "$T/err" "is in a detached month" "--from an archived checkpoint explained"
expect_status 0 "verify --from the checkpoint at the archive's end" audit verify --trust-signer "$PKI/ca.pem" --from 2
expect_status 0 "verify without --trust-signer" audit verify
assert_contains "$T/out" "WARNING: without --trust-signer the retention records prove nothing" "the warning without a trust anchor"

expect_status 0 "citizen report after detach" audit citizen --subject DNI 45678912
cp "$T/out" "$T/citizen.out"
assert_contains "$T/out" "Las consultas anteriores al $(date -u -d "$M1-01 +1 month" +%Y-%m-%d) (UTC) están archivadas" "the report says what is archived"
assert_contains "$T/out" "1 consulta(s)" "only the attached month's consultation shown"
expect_status 0 "citizen report (json) after detach" audit citizen --subject DNI 45678912 --format json
assert_contains "$T/out" "\"archived_before\": \"$(date -u -d "$M1-01 +1 month" +%Y-%m-%d)\"" "json: archived_before"

# --- M2: no checkpoint yet, then detached and dropped --------------------------------------------
expect_status 1 "detach $M2 before a checkpoint covers it" keeper detach --month "$M2" --archive "$F2" --trusted-pem "$PKI/ca.pem"
assert_contains "$T/err" "no signed checkpoint covers seq $TOTAL yet" "uncovered month refused"
checkpoint 3 "$TOTAL"
expect_status 1 "detach $M2 while it holds the newest row" keeper detach --month "$M2" --archive "$F2" --trusted-pem "$PKI/ca.pem" --drop
assert_contains "$T/err" "would leave the log empty" "the chain's head stays attached (the writer continues from it)"
assert_eq "1" "$(attached "$M2")" "$M2 still attached"
for i in 1 2 3 4 5; do printf 'client_member=20000000001%ssubject_id=now-%s\n' "$TAB" "$i"; done | append
HEAD=$(sql1 "SELECT max(seq) FROM exchange_log")
assert_eq "$((TOTAL + 5))" "$HEAD" "five rows of the current month continue the chain"
checkpoint 4 "$HEAD"
expect_status 0 "detach $M2 --drop" keeper detach --month "$M2" --archive "$F2" --trusted-pem "$PKI/ca.pem" --drop
assert_contains "$T/out" "detached and dropped" "--drop said"
assert_eq "0" "$(sql1 "SELECT count(*) FROM pg_class WHERE relname = '$(part "$M2")'")" "$M2's partition dropped"
expect_status 0 "verify after two months detached" audit verify --trust-signer "$PKI/ca.pem"
assert_contains "$T/out" "rows $((N1 + 1))..$TOTAL are in archive pide-log-$M2.tar.gz" "the second archive named"
assert_contains "$T/out" "chain intact: 5 rows" "the current month's rows verified from the second archive's end"
cp "$T/out" "$T/verify2.out"

# --- the audit service (verificarCadena) after the detach: anchored on the retention records -----
# A gateway on this cluster; its own audit calls are logged after the five rows (the chain goes on).
start_reniec_sim
write_config
start_gateway
vc() {  # vc OUT [DESDE [HASTA]]: verificarCadena as the demo client (granted in conf/demo.xml)
  local body="<a:verificarCadena>${2:+<a:desdeSeq>$2</a:desdeSeq>}${3:+<a:hastaSeq>$3</a:hastaSeq>}</a:verificarCadena>"
  cat >"$1.req" <<EOF
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
                  xmlns:pgw="urn:pide-gateway:header:1" xmlns:a="urn:pide-gateway:audit:1">
  <soapenv:Header>
    <pgw:client><pgw:memberCode>20000000001</pgw:memberCode></pgw:client>
    <pgw:purpose>Auditoria de prueba</pgw:purpose>
  </soapenv:Header>
  <soapenv:Body>$body</soapenv:Body>
</soapenv:Envelope>
EOF
  curl -s -o "$1" -w '%{http_code}' --cacert "$PKI/ca.pem" --cert "$PKI/demo-client.pem" \
       --key "$PKI/demo-client.key" -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
       --data-binary @"$1.req" "$GW_TLS_URL/services/AuditService"
}
nodes() { xmllint --xpath "count(//*[local-name()='$2'])" "$1" 2>/dev/null || echo 0; }
child() { xmllint --xpath "string(//*[local-name()='$2'][${4:-1}]/*[local-name()='$3'])" "$1" 2>/dev/null || true; }
assert_eq 200 "$(vc "$T/vc1.xml")" "verificarCadena over the whole log after the detach: HTTP 200"
assert_eq "0|true|$TOTAL|2" "$(xml_value "$T/vc1.xml" problemas)|$(xml_value "$T/vc1.xml" completo)|$(xml_value "$T/vc1.xml" anclaSeq)|$(nodes "$T/vc1.xml" archivado)" \
  "verificarCadena from seq 1: no gap, anchored on the last record's end, both archives named"
assert_eq "1|$N1|pide-log-$M1.tar.gz|$(sha256sum "$F1" | cut -c1-64)" \
  "$(child "$T/vc1.xml" archivado desdeSeq)|$(child "$T/vc1.xml" archivado hastaSeq)|$(child "$T/vc1.xml" archivado archivo)|$(child "$T/vc1.xml" archivado archivoSha256)" \
  "verificarCadena: the first archive's rows, file and SHA-256"
assert_eq "$((N1 + 1))|$TOTAL|pide-log-$M2.tar.gz" \
  "$(child "$T/vc1.xml" archivado desdeSeq 2)|$(child "$T/vc1.xml" archivado hastaSeq 2)|$(child "$T/vc1.xml" archivado archivo 2)" \
  "verificarCadena: the second archive's rows and file"
assert_eq "$(sql1 "SELECT encode(last_row_hash, 'hex') FROM exchange_retention WHERE id = 2")" "$(xml_value "$T/vc1.xml" anclaHash)" \
  "verificarCadena: the anchor is the last record's last_row_hash"
[ "$(xml_value "$T/vc1.xml" filas)" -ge 5 ] && pass "verificarCadena: the attached rows walked from the anchor" \
  || fail "verificarCadena walked $(xml_value "$T/vc1.xml" filas) rows"
assert_contains "$T/vc1.xml" "pide-audit verify --trust-signer" "verificarCadena says who checks the records' signatures"
vc "$T/vc2.xml" 2 "$N1" >/dev/null
assert_eq "0|0|$N1|2|$N1" "$(xml_value "$T/vc2.xml" problemas)|$(xml_value "$T/vc2.xml" filas)|$(xml_value "$T/vc2.xml" ultimoSeq)|$(child "$T/vc2.xml" archivado desdeSeq)|$(child "$T/vc2.xml" archivado hastaSeq)" \
  "verificarCadena inside a detached range: archived rows named, nothing missing"
assert_contains "$T/vc2.xml" "rows 2..$N1 are no longer in the database: they are in archive pide-log-$M1.tar.gz" "verificarCadena says where the rows are"
vc "$T/vc3.xml" "$((TOTAL + 1))" >/dev/null
assert_eq "0|$TOTAL|0" "$(xml_value "$T/vc3.xml" problemas)|$(xml_value "$T/vc3.xml" anclaSeq)|$(nodes "$T/vc3.xml" archivado)" \
  "verificarCadena just after the detached range: anchored, no 'row before the range is missing'"
vc "$T/vc4.xml" "$((TOTAL + 2))" >/dev/null
assert_eq "0|" "$(xml_value "$T/vc4.xml" problemas)|$(xml_value "$T/vc4.xml" anclaSeq)" \
  "verificarCadena further on: anchored on the row before, as always"
cp "$T/vc1.xml" "$T/vc1.out"

# --- the owner deletes rows and forges a retention record ----------------------------------------
# A well-formed manifest for rows TOTAL+1..TOTAL+2, chained to the real archives, signed with a
# key of the owner's own (a look-alike certificate), then the rows deleted behind disabled
# triggers and the record inserted: the chain from the forged anchor is intact, the signature not.
python3 - "$T/forged.json" "$(sql1 "SELECT encode(last_row_hash, 'hex') FROM exchange_retention WHERE id = 2")" \
  "$(sql1 "SELECT encode(row_hash, 'hex') FROM exchange_log WHERE seq = $((TOTAL + 2))")" \
  "$(sha256sum "$F2" | cut -c1-64)" "$TOTAL" "$(date -u +%Y-%m)" <<'PY'
import json, sys
out, prev, last, prev_sha, total, month = sys.argv[1:]
total = int(total)
m = {"archive": "pide-log-archive", "version": 1, "month": month, "created_at": "2026-01-01T00:00:00Z",
     "after_seq": total, "to_seq": total + 2, "first_seq": total + 1, "last_seq": total + 2,
     "row_count": 2, "prev_hash": prev, "last_row_hash": last,
     "previous_archive": {"file": "x", "sha256": prev_sha}, "checkpoints": [], "files": {}}
open(out, "w").write(json.dumps(m, indent=2) + "\n")
PY
openssl cms -sign -binary -md sha256 -outform DER -in "$T/forged.json" -signer "$T/forger.pem" \
  -inkey "$PKI/other-ca.key" -out "$T/forged.cms"
superuser -v man="$(base64 -w0 "$T/forged.json")" -v cms="$(base64 -w0 "$T/forged.cms")" <<SQL >/dev/null || fail "superuser forged a retention record"
ALTER TABLE exchange_log DISABLE TRIGGER USER;
DELETE FROM exchange_log WHERE seq <= $((TOTAL + 2)) AND seq > $TOTAL;
ALTER TABLE exchange_log ENABLE TRIGGER USER;
INSERT INTO exchange_retention (id, month, partition_name, dropped, after_seq, last_seq, row_count,
  prev_hash, last_row_hash, archive_file, archive_sha256, manifest, manifest_signature, archive_signer)
SELECT 3, to_char(now(), 'YYYY-MM'), 'x', true, $TOTAL, $((TOTAL + 2)), 2,
  (SELECT last_row_hash FROM exchange_retention WHERE id = 2),
  decode(convert_from(decode(:'man', 'base64'), 'UTF8')::jsonb->>'last_row_hash', 'hex'),
  'pide-log-forged.tar.gz', repeat('ab', 32), decode(:'man', 'base64'), decode(:'cms', 'base64'), 'CN=pide-gateway signing';
SQL
sql1 "SELECT count(*) FROM exchange_retention" >"$T/out"
assert_contains "$T/out" "3" "the forged record is in the table"
expect_status 1 "verify after rows deleted under a forged retention record" audit verify --trust-signer "$PKI/ca.pem"
assert_contains "$T/out" "BROKEN retention record 3: its archive's manifest signature refused" "the forged record named: its signature"
assert_not_contains "$T/out" "BROKEN seq" "the chain itself continues from the forged anchor (only the signature catches it)"
cp "$T/out" "$T/forged.out"
# The service cannot check the forged record's signature: it anchors on it (the chain from it is
# intact) and says that the signature is pide-audit verify --trust-signer's to check...
vc "$T/vc5.xml" "$((TOTAL + 1))" >/dev/null
assert_eq "0|$((TOTAL + 2))" "$(xml_value "$T/vc5.xml" problemas)|$(xml_value "$T/vc5.xml" anclaSeq)" \
  "verificarCadena over a record forged in the chain: anchored on it (what it can check holds)"
assert_contains "$T/vc5.xml" "not their archive manifests' signatures: pide-audit verify --trust-signer does" \
  "verificarCadena: the answer says the signature is checked by verify --trust-signer"
# A record in the chain whose archive_file is hostile (control characters, markup, 6000 bytes of
# two-byte characters):
# named printably, cut, the answer still XML. Then a record that does not continue the chain (a
# gap before it) is not trusted.
superuser >/dev/null <<SQL || fail "superuser inserted two more records"
INSERT INTO exchange_retention (id, month, partition_name, dropped, after_seq, last_seq, row_count,
  prev_hash, last_row_hash, archive_file, archive_sha256, manifest, manifest_signature, archive_signer)
SELECT 4, '2000-01', 'x', true, $((TOTAL + 2)), $((TOTAL + 3)), 1, last_row_hash,
  (SELECT row_hash FROM exchange_log WHERE seq = $((TOTAL + 3))),
  E'evil\\x01</a:archivo><x>&' || repeat('ñ', 3000), repeat('cd', 32), manifest, manifest_signature, 'x'
FROM exchange_retention WHERE id = 3;
INSERT INTO exchange_retention (id, month, partition_name, dropped, after_seq, last_seq, row_count,
  prev_hash, last_row_hash, archive_file, archive_sha256, manifest, manifest_signature, archive_signer)
SELECT 5, '2000-02', 'x', true, $((TOTAL + 5)), $((TOTAL + 6)), 1, last_row_hash, last_row_hash,
  'pide-log-gap.tar.gz', repeat('cd', 32), manifest, manifest_signature, 'x'
FROM exchange_retention WHERE id = 4;
SQL
vc "$T/vc6.xml" >/dev/null
xmllint --noout "$T/vc6.xml" 2>/dev/null && pass "verificarCadena: a hostile archive_file leaves the answer XML" \
  || fail "verificarCadena: the answer is not XML"
hostile=$(child "$T/vc6.xml" archivado archivo 4)
assert_eq "evil?</a:archivo><x>&" "$(printf '%s' "$hostile" | head -c 21)" "verificarCadena: the hostile archive_file named printably"
hlen=$(printf '%s' "$hostile" | wc -c)
[ "$hlen" -lt 200 ] && pass "verificarCadena: the long archive_file cut ($hlen bytes, whole UTF-8 characters: the answer parsed)" \
  || fail "archive_file not cut: $hlen bytes"
assert_contains "$T/vc6.xml" "retention record 5: it does not start where the records before it end" \
  "verificarCadena: a record out of the chain is named, not trusted"
assert_eq "$((TOTAL + 3))" "$(xml_value "$T/vc6.xml" anclaSeq)" "verificarCadena: anchored on the last sound record only"

echo "--- real output (docs) ---"; cat "$T/vc1.out" "$T/resume.out" "$T/damaged.out" "$T/detach1.out" "$T/verify1.out" "$T/verify2.out" "$T/forged.out"; head -5 "$T/citizen.out"
finish
