#!/usr/bin/env bash
# test_spool.sh — the durable local spool (docs/reliability.md, "The spool"), on a PostgreSQL
# cluster of its own that it stops and starts:
#  1. spool on, 8 clients of load, PostgreSQL stopped mid-run: answers keep coming (no 503),
#     /readyz stays 200, /metrics shows the spool growing; PostgreSQL back: the spool drains and
#     every exchange answered 200 is in the table exactly once, in a chain pide-audit verifies;
#  2. SIGKILL of the gateway while spooling, restart with PostgreSQL up: the spool is replayed at
#     start and every answered exchange is there exactly once;
#     2a. the spool as it was at the kill put back (replay position lost after the COMMIT):
#     every row skipped by exchange id, none written twice;
#     2c. a bit flipped mid-spool: replay stops there, /readyz 503, pide_spool_corrupt 1;
#     2b. the chain lock held by another session: answered from the spool within switchAfterMs;
#  3. a tiny spool (maxBytes) fills: Server.LogUnavailable (503, no data), /readyz 503,
#     pide_spool_full_total counts; PostgreSQL back: answers again, the spooled ones replayed;
#  4. spool off, PostgreSQL down: fail closed as before (Server.LogUnavailable);
#  5. a world-writable spool folder, and switchAfterMs >= commitTimeoutMs, are refused at start;
#  6. start during an outage: PostgreSQL stopped, the gateway (spool on, replayScope="node")
#     starts, /readyz 200, answers flow from the spool; PostgreSQL started: every answered row
#     replayed exactly once, the chain continues, pide-audit verify passes. With
#     replayScope="cluster" the shared replay check cannot be made: calls carrying a message id
#     are refused with Server.LogUnavailable (503, no data, never an unchecked answer), the
#     refusal spooled and replayed; once PostgreSQL is back the same id is answered. A server
#     that is up but refuses the gateway (wrong password) still refuses the start (section 5).
# ctest-fixtures: pki
. "$(dirname "$0")/lib.sh"

LOAD="$PIDE_SOURCE_DIR/tests/helpers/reliability_load.py"
AUDIT="$PIDE_BUILD_DIR/tools/pide-audit"

PIDE_TEST_PG_DIR="$T/pg"
PG_LOCAL=(bash "$PIDE_SOURCE_DIR/scripts/pg-local")
"${PG_LOCAL[@]}" start --dir "$PIDE_TEST_PG_DIR" --port 0 --fresh >"$T/pg-start.log" 2>&1
stop_pg() { "${PG_LOCAL[@]}" stop --dir "$PIDE_TEST_PG_DIR" >>"$T/pg-stop.log" 2>&1 || true; }
start_pg() { "${PG_LOCAL[@]}" start --dir "$PIDE_TEST_PG_DIR" >>"$T/pg-start.log" 2>&1; }
trap 'rc=$?; set +e; if [ "$rc" -eq 0 ]; then "${PG_LOCAL[@]}" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; else stop_pg; fi; (exit "$rc"); on_exit' EXIT

forget_pid() {
  local keep=() p
  for p in "${started_pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  started_pids=("${keep[@]}")
}
wait_until() { # WHAT SECONDS COMMAND...
  local what=$1 limit=$2; shift 2
  for _ in $(seq 1 $((limit * 10))); do
    "$@" && return 0
    sleep 0.1
  done
  fail "$what: not seen within ${limit}s"
  exit 1
}
http() { curl -s -o "$T/http.out" -w '%{http_code}' "$1"; }
metric() { curl -s "$ADMIN_URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# count_200 PHASE [AFTER]: answers 200 of the phase (sent after Unix time AFTER).
count_200() { awk -F'\t' -v t="${2:-0}" '$4 == 200 && $2 > t { n++ } END { print n + 0 }' "$T/$1.tsv" 2>/dev/null || echo 0; }
at_least_200() { [ "$(count_200 "$1" "${3:-0}")" -ge "$2" ]; }
spool_drained() { [ "$(metric pide_spool_records)" = 0 ] && [ "$(metric pide_spool_active)" = 0 ]; }

auditor_conninfo=$(sed 's/user=pide_gateway/user=pide_auditor/' "$PIDE_TEST_PG_DIR/conninfo")

# check_exactly_once PHASE: every exchange id answered 200 in the phase is in the table exactly
# once, no exchange id is in the table twice, and the chain verifies (in SQL and outside it).
check_exactly_once() {
  local phase=$1 ids
  awk -F'\t' '$4 == 200 { print $6 }' "$T/$phase.tsv" >"$T/$phase.ids"
  ids=$(wc -l <"$T/$phase.ids")
  { echo "CREATE TEMP TABLE answered (id uuid);"
    echo "COPY answered FROM STDIN;"
    cat "$T/$phase.ids"
    echo '\.'
    echo "SELECT count(*) FROM answered a WHERE (SELECT count(*) FROM public.exchange_log e WHERE e.exchange_id = a.id) <> 1;"
  } >"$T/$phase.sql"
  local bad
  bad=$(PGPASSWORD=$(cat "$PIDE_TEST_PG_DIR/gateway.password") \
        psql "$(cat "$PIDE_TEST_PG_DIR/conninfo")" -X -At -q -v ON_ERROR_STOP=1 -f "$T/$phase.sql")
  assert_eq 0 "$bad" "$phase: each of the $ids exchanges answered 200 is in the log exactly once"
  assert_eq 0 "$(log_sql "SELECT count(*) - count(DISTINCT exchange_id) FROM exchange_log")" \
    "$phase: no exchange id is in the log twice"
  assert_eq 0 "$(log_sql "SELECT count(*) FROM exchange_log_verify_chain()")" \
    "$phase: the chain verifies in SQL"
  assert_eq "$(log_sql "SELECT count(*) FROM exchange_log")" "$(log_sql "SELECT max(seq) FROM exchange_log")" \
    "$phase: seq is gapless"
  local rc=0
  "$AUDIT" --conninfo "$auditor_conninfo" --password-file "$PIDE_TEST_PG_DIR/auditor.password" \
    verify >"$T/$phase.audit" 2>&1 || rc=$?
  assert_eq 0 "$rc" "$phase: pide-audit verify (outside the database) accepts the chain"
}

start_load() { # PHASE DNI_BASE
  PHASE=$1
  rm -f "$T/$PHASE.stop"
  python3 "$LOAD" --port-file "$T/gateway.port" --body "$T/consultar.xml" --out "$T/$PHASE.tsv" \
    --stop-file "$T/$PHASE.stop" --clients 8 --dni-base "$2" --max-seconds 90 2>>"$T/load.log" &
  LOAD_PID=$!
  started_pids+=("$LOAD_PID")
}
stop_load() {
  touch "$T/$PHASE.stop"
  local rc=0
  wait "$LOAD_PID" || rc=$?
  forget_pid "$LOAD_PID"
  assert_eq 0 "$rc" "$PHASE: the load clients finished cleanly"
}

# ---------------------------------------------------------------- the stack
start_reniec_sim
write_config
mkdir -m 0700 "$T/spool"
sed -i -e 's/commitTimeoutMs="5000"/commitTimeoutMs="5000"/' \
       -e 's/ ratePerSecond="[0-9]*"/ ratePerSecond="0"/' -e 's/workers="[0-9]*"/workers="16"/' \
       -e "s|</database>|  <spool dir=\"$T/spool\" maxBytes=\"268435456\" switchAfterMs=\"500\"/>\n  </database>|" \
       "$CONFIG"
grep -q "<spool dir=" "$CONFIG" || { fail "conf/demo.xml changed: cannot add <spool>"; exit 1; }
cp "$CONFIG" "$T/spool-on.xml"
start_gateway
sed 's|<nuDniConsulta>45678912</nuDniConsulta>|<nuDniConsulta>@DNI@</nuDniConsulta>|' \
  "$PIDE_SOURCE_DIR/docs/examples/reniec-consultar.xml" >"$T/consultar.xml"
grep -q @DNI@ "$T/consultar.xml" || { fail "docs/examples/reniec-consultar.xml changed"; exit 1; }

wait_until "/readyz ready" 10 test "$(http "$ADMIN_URL/readyz")" = 200
assert_eq 0 "$(metric pide_spool_active)" "spool on, database up: rows go to the database"

# ---------------------------------------------------------------- 1. outage under load
start_load outage 10000000
wait_until "outage: first answers" 20 at_least_200 outage 50
stop_pg
t_down=$(date +%s.%N)
wait_until "outage: answers while PostgreSQL is down" 30 at_least_200 outage 300 "$t_down"
assert_eq 1 "$(metric pide_spool_active)" "outage: /metrics says rows go to the spool"
records=$(metric pide_spool_records)
[ "${records:-0}" -gt 0 ] && pass "outage: pide_spool_records = $records" || fail "outage: pide_spool_records is '$records'"
bytes=$(metric pide_spool_bytes)
[ "${bytes:-0}" -gt 0 ] && pass "outage: pide_spool_bytes = $bytes" || fail "outage: pide_spool_bytes is '$bytes'"
# Only meaningful once the admin's own probe has seen the database go.
probe_saw_outage() { grep -q "database probe: unreachable" "$T/gateway.log"; }
wait_until "outage: the admin probe notices the outage" 20 probe_saw_outage
assert_eq 200 "$(http "$ADMIN_URL/readyz")" "outage: /readyz stays 200 while the spool takes rows"
curl -s "$ADMIN_URL/metrics" | grep '^pide_spool\|^# [A-Z]* pide_spool' >"$T/metrics-spooling.txt" || true
start_pg
t_up=$(date +%s.%N)
wait_until "outage: the spool drains once PostgreSQL is back" 60 spool_drained
wait_until "outage: answers after the drain" 20 at_least_200 outage 20 "$(date +%s.%N)"
stop_load
n503=$(awk -F'\t' '$4 == 503 { n++ } END { print n + 0 }' "$T/outage.tsv")
assert_eq 0 "$n503" "outage: no Server.LogUnavailable while the spool took rows"
total=$(awk -F'\t' 'END { print NR }' "$T/outage.tsv")
during=$(awk -F'\t' -v a="$t_down" -v b="$t_up" '$4 == 200 && $2 > a && $3 < b { n++ } END { print n + 0 }' "$T/outage.tsv")
echo "outage: $total requests, $(count_200 outage) answered 200, $during of them sent and answered while PostgreSQL was down; replayed $(metric pide_spool_replayed_total)"
[ "$during" -ge 100 ] && pass "outage: $during answers given while PostgreSQL was down" || fail "outage: only $during answers while down"
check_exactly_once outage

# ---------------------------------------------------------------- 2. SIGKILL while spooling
start_load sigkill 20000000
wait_until "sigkill: first answers" 20 at_least_200 sigkill 20
stop_pg
t_down=$(date +%s.%N)
wait_until "sigkill: answers while PostgreSQL is down" 30 at_least_200 sigkill 100 "$t_down"
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
forget_pid "$GW_PID"
stop_load
spooled_before=$(ls "$T/spool" | wc -l)
cp -a "$T/spool" "$T/spool-at-kill" # for 2a
cp -a "$T/spool" "$T/spool-to-corrupt" # for 2c
start_pg
start_gateway
grep -q "replaying them before new rows" "$T/gateway.log" && pass "sigkill: the restarted gateway found the spooled rows" \
  || fail "sigkill: no 'replaying' line in the gateway log"
wait_until "sigkill: the spool drains after the restart" 60 spool_drained
echo "sigkill: $(count_200 sigkill) answered 200, $(count_200 sigkill "$t_down") after PostgreSQL stopped; $spooled_before file(s) in the spool folder at the kill"
check_exactly_once sigkill
status=$(soap_post ReniecConsultaDni "$PIDE_SOURCE_DIR/docs/examples/reniec-consultar.xml" "$T/after-kill.xml")
assert_eq 200 "$status" "sigkill: answers again after the replay"

# ---------------------------------------------------------------- 2a. replayed, then the position lost
# As if the process had died after the replay's COMMIT and before the replay position moved:
# the spool as it was at the kill comes back. Every row in it is already in the table: the
# replay skips them all (by exchange id) and nothing is written twice.
rows_before=$(log_sql "SELECT count(*) FROM exchange_log")
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; forget_pid "$GW_PID"
rm -rf "$T/spool" && mv "$T/spool-at-kill" "$T/spool"
start_gateway
wait_until "replay again: the spool drains" 60 spool_drained
grep -q "replay skipped [0-9]* spooled row(s) already in the table" "$T/gateway.log" \
  && pass "replay again: the rows already in the table were skipped" || fail "replay again: no 'skipped' line"
assert_eq "$rows_before" "$(log_sql "SELECT count(*) FROM exchange_log")" "replay again: no row added"
check_exactly_once sigkill

# ---------------------------------------------------------------- 2c. a corrupt record
# One bit flipped in the middle of the spool as it was at the kill (acknowledged bytes changed on
# disk): the records before it are replayed (here: skipped, they are in the table already), then
# the replay stops there, loudly, and the gateway is not ready. Nothing after it is skipped over.
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; forget_pid "$GW_PID"
rm -rf "$T/spool" && mv "$T/spool-to-corrupt" "$T/spool"
seg=$(ls -S "$T"/spool/seg-*.spool | head -1)
python3 - "$seg" <<'PY'
import os, sys
path = sys.argv[1]
at = os.path.getsize(path) // 2
with open(path, "r+b") as f:
    f.seek(at)
    b = f.read(1)
    f.seek(at)
    f.write(bytes([b[0] ^ 0x04]))
PY
start_gateway
corrupt_reported() { [ "$(metric pide_spool_corrupt)" = 1 ]; }
wait_until "corrupt: the replay stops at the flipped record" 30 corrupt_reported
grep -q "corrupt record at seg-" "$T/gateway.log" && pass "corrupt: the log names the segment and offset" \
  || fail "corrupt: no 'corrupt record at' line"
assert_eq 503 "$(http "$ADMIN_URL/readyz")" "corrupt: /readyz 503"
assert_contains "$T/http.out" "spool: a corrupt record stopped the replay" "corrupt: /readyz says why"
# The records from the flipped one on cannot be counted (nothing after corruption is trusted);
# their bytes stay on disk, none is skipped over.
left=$(metric pide_spool_bytes)
[ "${left:-0}" -gt 0 ] && pass "corrupt: the $left bytes of the spool are kept, nothing skipped" \
  || fail "corrupt: pide_spool_bytes is '$left'"
assert_eq 1 "$(metric pide_spool_active)" "corrupt: new rows keep going to the spool behind it"
# The operator's way out (operator-guide.md): keep the folder, start with an empty one.
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; forget_pid "$GW_PID"
mv "$T/spool" "$T/spool-corrupt-kept" && mkdir -m 0700 "$T/spool"
start_gateway
wait_until "corrupt: ready again with an empty spool" 20 test "$(http "$ADMIN_URL/readyz")" = 200

# ---------------------------------------------------------------- 2b. a slow database
# Another session holds the chain lock for 4 s: the writer's batch cannot commit within
# switchAfterMs (500 ms, enforced by statement_timeout on the lock wait), so it goes to the spool
# and the caller is answered long before commitTimeoutMs; the row is replayed once the lock is
# free.
log_sql "SELECT pg_advisory_xact_lock(8100115791357964135); SELECT pg_sleep(4)" >/dev/null 2>&1 &
HOLDER=$!
started_pids+=("$HOLDER")
sleep 0.5
t0=$(date +%s%N)
status=$(soap_post ReniecConsultaDni "$PIDE_SOURCE_DIR/docs/examples/reniec-consultar.xml" "$T/slow.xml")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_eq 200 "$status" "slow: answered while the chain lock is held elsewhere"
[ "$ms" -lt 3000 ] && pass "slow: in $ms ms (switchAfterMs 500, the lock held 4 s)" || fail "slow: took $ms ms"
assert_eq 1 "$(metric pide_spool_active)" "slow: the row went to the spool"
slow_id=$(exchange_id_of "$T/slow.xml")
wait "$HOLDER" 2>/dev/null || true
forget_pid "$HOLDER"
wait_until "slow: the spool drains once the lock is free" 30 spool_drained
assert_eq 1 "$(log_sql "SELECT count(*) FROM exchange_log WHERE exchange_id = '$slow_id'")" \
  "slow: the spooled row is in the log once"
assert_eq 0 "$(log_sql "SELECT count(*) FROM exchange_log_verify_chain()")" "slow: the chain verifies"

# ---------------------------------------------------------------- 3. a full spool
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; forget_pid "$GW_PID"
sed -i 's/maxBytes="268435456"/maxBytes="16384"/' "$CONFIG"
start_gateway
wait_until "full: /readyz ready" 10 test "$(http "$ADMIN_URL/readyz")" = 200
stop_pg
got503=0; ok_ids=()
for i in $(seq 1 40); do
  sed "s|@DNI@|$((30000000 + i))|" "$T/consultar.xml" >"$T/full-req.xml"
  status=$(soap_post ReniecConsultaDni "$T/full-req.xml" "$T/full.xml")
  if [ "$status" = 503 ]; then got503=1; break; fi
  [ "$status" = 200 ] && ok_ids+=("$(exchange_id_of "$T/full.xml")")
done
assert_eq 1 "$got503" "full: after ${#ok_ids[@]} spooled answers, a full spool refuses"
assert_eq soap:Server.LogUnavailable "$(xml_value "$T/full.xml" faultcode)" "full: Server.LogUnavailable"
assert_not_contains "$T/full.xml" "prenombres" "full: no citizen data in the refusal"
[ "${#ok_ids[@]}" -ge 1 ] && pass "full: the spool took ${#ok_ids[@]} rows before it filled" || fail "full: nothing was spooled"
full_total=$(metric pide_spool_full_total)
[ "${full_total:-0}" -ge 1 ] && pass "full: pide_spool_full_total = $full_total" || fail "full: pide_spool_full_total is '$full_total'"
# The admin's database probe notices the outage within its period.
readyz_is() { [ "$(http "$ADMIN_URL/readyz")" = "$1" ]; }
wait_until "full: /readyz 503 with the database down and the spool full" 20 readyz_is 503
pass "full: /readyz 503 with the database down and the spool full"
assert_contains "$T/http.out" "spool not writable" "full: /readyz says why"
start_pg
wait_until "full: the spool drains" 60 spool_drained
status=$(soap_post ReniecConsultaDni "$PIDE_SOURCE_DIR/docs/examples/reniec-consultar.xml" "$T/after-full.xml")
assert_eq 200 "$status" "full: answers again once PostgreSQL is back"
missing=0
for id in "${ok_ids[@]}"; do
  [ "$(log_sql "SELECT count(*) FROM exchange_log WHERE exchange_id = '$id'")" = 1 ] || missing=$((missing + 1))
done
assert_eq 0 "$missing" "full: every answer spooled before the spool filled is in the log once"
refused=$(exchange_id_of "$T/full.xml")
assert_eq 0 "$(log_sql "SELECT count(*) FROM exchange_log WHERE exchange_id = '$refused'")" \
  "full: the refused exchange was never logged as answered"

# ---------------------------------------------------------------- 4. spool off: fail closed
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; forget_pid "$GW_PID"
sed -i '/<spool dir=/d' "$CONFIG"
sed -i 's/commitTimeoutMs="5000"/commitTimeoutMs="1500"/' "$CONFIG"
start_gateway
stop_pg
status=$(soap_post ReniecConsultaDni "$PIDE_SOURCE_DIR/docs/examples/reniec-consultar.xml" "$T/off.xml")
assert_eq 503 "$status" "spool off, database down: HTTP 503"
assert_eq soap:Server.LogUnavailable "$(xml_value "$T/off.xml" faultcode)" "spool off: Server.LogUnavailable as before"
assert_eq "" "$(metric pide_spool_records)" "spool off: no spool series in /metrics"
start_pg
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; forget_pid "$GW_PID"

# ---------------------------------------------------------------- 6. start during an outage
# (pid-of-phase-4 gateway already stopped, PostgreSQL up)
with_id() { # ID DNI: the RENIEC example with a pgw:id and a DNI
  sed -e "s|@DNI@|$2|" \
      -e "s|<soapenv:Header/>|<soapenv:Header><pgw:id xmlns:pgw=\"urn:pide-gateway:header:1\">$1</pgw:id></soapenv:Header>|" \
      "$T/consultar.xml" >"$T/cold-$1.xml"
  echo "$T/cold-$1.xml"
}
sed -e 's|replayWindowSeconds="600"|replayWindowSeconds="600" replayScope="node"|' "$T/spool-on.xml" >"$CONFIG"
grep -q 'replayScope="node"' "$CONFIG" || { fail "conf/demo.xml changed: cannot set replayScope"; exit 1; }
head_before=$(log_sql "SELECT max(seq) FROM exchange_log")
stop_pg
: >"$T/gateway.log"
start_gateway
pass "cold: the gateway started with PostgreSQL stopped (spool on)"
assert_contains "$T/gateway.log" "starting with the local spool" "cold: it says it starts with the spool"
wait_until "cold: /readyz 200 with the spool writable" 10 test "$(http "$ADMIN_URL/readyz")" = 200
pass "cold: /readyz 200 with the database down and the spool writable"
: >"$T/cold.tsv"
for i in $(seq 1 10); do
  status=$(soap_post ReniecConsultaDni "$(with_id "cold-$i" $((40000000 + i)))" "$T/cold.xml")
  printf '%s\t1\t-\t%s\t-\t%s\n' "$i" "$status" "$(exchange_id_of "$T/cold.xml")" >>"$T/cold.tsv"
done
assert_eq 10 "$(count_200 cold)" "cold: 10 calls answered 200 while PostgreSQL is down"
[ "$(metric pide_spool_records)" -ge 10 ] && pass "cold: the rows are in the spool ($(metric pide_spool_records))" \
  || fail "cold: pide_spool_records is '$(metric pide_spool_records)'"
start_pg
wait_until "cold: the spool drains once PostgreSQL is back" 60 spool_drained
pass "cold: the spool drained"
check_exactly_once cold
first=$(awk -F'\t' 'NR == 1 { print $6 }' "$T/cold.tsv")
assert_eq "$((head_before + 1))" "$(log_sql "SELECT seq FROM exchange_log WHERE exchange_id = '$first'")" \
  "cold: the chain continues right after the head from before the outage"
status=$(soap_post ReniecConsultaDni "$(with_id cold-after 40000099)" "$T/cold-after.xml")
assert_eq 200 "$status" "cold: answered from the database afterwards"
assert_eq 0 "$(metric pide_spool_active)" "cold: rows go to the database again"
assert_contains "$T/gateway.log" "schema and grants checked" "cold: the start-up checks were made once PostgreSQL answered"
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; forget_pid "$GW_PID"

# replayScope="cluster" (the default) with the database down at start: fail closed.
cp "$T/spool-on.xml" "$CONFIG"
stop_pg
start_gateway
assert_contains "$T/gateway.log" "the shared replay window cannot be checked" "cluster: the start names what cannot be checked"
status=$(soap_post ReniecConsultaDni "$(with_id cold-cluster 40000100)" "$T/cc.xml")
assert_eq "503 soap:Server.LogUnavailable" "$status $(xml_value "$T/cc.xml" faultcode)" \
  "cluster: a call with a message id is refused with Server.LogUnavailable, never answered unchecked"
assert_not_contains "$T/cc.xml" "prenombres" "cluster: no citizen data in the refusal"
refused=$(exchange_id_of "$T/cc.xml")
start_pg
wait_until "cluster: the spool drains" 60 spool_drained
assert_eq "fault|Server.LogUnavailable" \
  "$(log_sql "SELECT outcome, fault_code FROM exchange_log WHERE exchange_id = '$refused'")" \
  "cluster: the refusal was spooled and replayed into the log"
status=$(soap_post ReniecConsultaDni "$(with_id cold-cluster 40000100)" "$T/cc2.xml")
assert_eq 200 "$status" "cluster: PostgreSQL back: the same id is checked and answered"
assert_eq 0 "$(log_sql "SELECT count(*) FROM exchange_log_verify_chain()")" "cluster: the chain verifies"
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; forget_pid "$GW_PID"
cp "$T/spool-on.xml" "$CONFIG"
# PostgreSQL up but refusing the gateway (a wrong password): a configuration error, not an
# outage: the start is refused even with the spool on (expect_refused: section 5).
printf 'not-the-password\n' >"$T/wrong.password" && chmod 0600 "$T/wrong.password"
sed "s|passwordFile=\"[^\"]*\"|passwordFile=\"$T/wrong.password\"|" "$T/spool-on.xml" >"$T/wrongpw.xml"
grep -q "wrong.password" "$T/wrongpw.xml" || { fail "cannot set a wrong passwordFile"; exit 1; }

# ---------------------------------------------------------------- 5. refused configurations
expect_refused() { # CONFIG WHAT NEEDLE
  local rc=0
  timeout 20 "$GATEWAY_BIN" --config "$1" --port-file "$T/refused.port" >"$T/refused.out" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] && pass "$2: the gateway refuses to start" || fail "$2: it started"
  assert_contains "$T/refused.out" "$3" "$2: the reason is named"
}
mkdir -m 0700 "$T/open-spool" && chmod 0777 "$T/open-spool"
sed "s|dir=\"$T/spool\"|dir=\"$T/open-spool\"|" "$T/spool-on.xml" >"$T/open.xml"
expect_refused "$T/open.xml" "world-writable spool folder" "must be mode 0700"
sed 's/switchAfterMs="500"/switchAfterMs="5000"/' "$T/spool-on.xml" >"$T/switch.xml"
expect_refused "$T/switch.xml" "switchAfterMs not below commitTimeoutMs" "must be below"
sed "s|dir=\"$T/spool\"|dir=\"/proc/no/such\"|" "$T/spool-on.xml" >"$T/nodir.xml"
expect_refused "$T/nodir.xml" "an uncreatable spool folder" "cannot create"
expect_refused "$T/wrongpw.xml" "spool on, PostgreSQL up, a wrong password" "password authentication failed"

finish
