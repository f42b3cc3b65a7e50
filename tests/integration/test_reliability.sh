#!/usr/bin/env bash
# test_reliability.sh — the audit trail stays complete whatever fails. Under a steady load of
# concurrent clients (tests/helpers/reliability_load.py: every request a different DNI, every
# answer's status, exchange id, faultcode and body digest recorded), four failures are injected
# one after another, each followed by its recovery:
#   1. provider    the RENIEC simulator killed (answers: Server.Provider.Unavailable), restarted
#   2. postgres    the exchange log's PostgreSQL stopped (Server.LogUnavailable, 503), restarted
#   3. sigterm     the gateway stopped gracefully mid-load (in-flight exchanges answered and
#                  logged, then connections refused), started again
#   4. sigkill     the gateway killed outright mid-load, started again
# After each phase every answer is held against the log, as the auditor (docs/reliability.md):
# each 200 and each logged Fault has its row (same exchange id, DNI, outcome, fault code, HTTP
# status and response digest); no 503 carries data or a signature, and none has a row written
# after the caller got it; at most one row per request; no row for a request never sent; a row
# without an answer only where a process was killed; the hash chain verifies, seq gapless.
# Counts of racy things (how many answers, how many 503s...) are printed, never asserted.
# ctest-fixtures: pki
. "$(dirname "$0")/lib.sh"
LOAD="$PIDE_SOURCE_DIR/tests/helpers/reliability_load.py"
CLIENTS=6
STEADY_S=1 # seconds of undisturbed load before each failure and after each recovery

# A cluster of this test's own: it is stopped and restarted below.
PIDE_TEST_PG_DIR="$T/pg"
PG_LOCAL=(bash "$PIDE_SOURCE_DIR/scripts/pg-local")
"${PG_LOCAL[@]}" start --dir "$PIDE_TEST_PG_DIR" --port 0 --fresh >"$T/pg-start.log" 2>&1
stop_pg() { "${PG_LOCAL[@]}" stop --dir "$PIDE_TEST_PG_DIR" >>"$T/pg-stop.log" 2>&1 || true; }
# After a pass the cluster goes entirely (pg-local --purge: under root it lives in /var/tmp);
# after a failure it stays for inspection, with the logs.
# on_exit (lib.sh) reads the script's exit status from $?: hand it over unchanged.
trap 'rc=$?; set +e; if [ "$rc" -eq 0 ]; then "${PG_LOCAL[@]}" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; else stop_pg; fi; (exit "$rc"); on_exit' EXIT

# auditor_sql: runs SQL from stdin as the auditor (read-only on the log), unaligned output.
auditor_sql() {
  PGPASSWORD=$(cat "$PIDE_TEST_PG_DIR/auditor.password") \
    psql "$(sed 's/user=pide_gateway/user=pide_auditor/' "$PIDE_TEST_PG_DIR/conninfo")" \
    -X -At -F ' ' -q -v ON_ERROR_STOP=1 -f -
}

# forget_pid PID: a process that is gone (waited for) no longer needs stopping on exit.
forget_pid() {
  local keep=() p
  for p in "${started_pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  started_pids=("${keep[@]}")
}

# wait_exit PID SECONDS: waits for a child to exit; sets EXIT_RC to its status, or to "hung"
# (and kills it) when it outlives SECONDS. Not in $(...): only this shell can wait for its child.
wait_exit() {
  local i
  EXIT_RC=0
  for i in $(seq 1 $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$1" 2>/dev/null; then
    kill -KILL "$1" 2>/dev/null || true
    EXIT_RC=hung
  fi
  local rc=0
  wait "$1" 2>/dev/null || rc=$?
  [ "$EXIT_RC" = hung ] || EXIT_RC=$rc
  forget_pid "$1"
}

# wait_until WHAT SECONDS COMMAND...: polls COMMAND until it succeeds; a phase that cannot reach
# its next step is pointless to continue, so a timeout ends the test.
wait_until() {
  local what=$1 limit=$2; shift 2
  for _ in $(seq 1 $((limit * 10))); do
    "$@" && return 0
    sleep 0.1
  done
  fail "$what: not seen within ${limit}s"
  exit 1
}
now() { date +%s.%N; }
# seen PHASE AWK-CONDITION: some request of the phase's load matches ($2 t_sent, $3 t_done,
# $4 status, $5 error, $7 faultcode).
seen() { awk -F'\t' "$2 { found = 1 } END { exit !found }" "$T/$1.tsv" 2>/dev/null; }

# ---------------------------------------------------------------- the stack
start_reniec_sim
write_config
sed -i -e 's/commitTimeoutMs="5000"/commitTimeoutMs="1500"/' \
       -e 's/ ratePerSecond="[0-9]*"/ ratePerSecond="0"/' -e 's/workers="[0-9]*"/workers="16"/' "$CONFIG"
grep -q 'commitTimeoutMs="1500"' "$CONFIG" && grep -q 'ratePerSecond="0"' "$CONFIG" \
  || { fail "conf/demo.xml changed: cannot set commitTimeoutMs / ratePerSecond"; exit 1; }
start_gateway

sed 's|<nuDniConsulta>45678912</nuDniConsulta>|<nuDniConsulta>@DNI@</nuDniConsulta>|' \
  "$PIDE_SOURCE_DIR/docs/examples/reniec-consultar.xml" >"$T/consultar.xml"
grep -q @DNI@ "$T/consultar.xml" || { fail "docs/examples/reniec-consultar.xml changed"; exit 1; }

# restart_sim [options]: the provider killed outright and started again on the same port (the
# gateway's configuration points there).
restart_sim() {
  kill -KILL "$RENIEC_PID" 2>/dev/null || true
  wait "$RENIEC_PID" 2>/dev/null || true
  forget_pid "$RENIEC_PID"
  start_sim reniec --port "$RENIEC_PORT" "$@"
}

# start_load PHASE DNI_BASE / stop_load: the clients of one phase; their record is $T/PHASE.tsv.
start_load() {
  PHASE=$1
  rm -f "$T/$PHASE.stop"
  python3 "$LOAD" --port-file "$T/gateway.port" --body "$T/consultar.xml" --out "$T/$PHASE.tsv" \
    --stop-file "$T/$PHASE.stop" --clients "$CLIENTS" --dni-base "$2" --max-seconds 60 \
    2>>"$T/load.log" &
  LOAD_PID=$!
  started_pids+=("$LOAD_PID")
  PHASE_BASE=$2
  wait_until "$PHASE: first answers" 20 seen "$PHASE" '$4 == 200 && ++n >= 3'
  sleep "$STEADY_S" # the failure strikes a running load, not its start
}
# stop_load: after some steady load on the recovered stack, the clients finish what they sent.
stop_load() {
  sleep "$STEADY_S"
  touch "$T/$PHASE.stop"
  wait_exit "$LOAD_PID" 20
  assert_eq 0 "$EXIT_RC" "$PHASE: the load clients finished cleanly"
}
# recovered PHASE SINCE: a request sent after SINCE was answered 200.
recovered() { seen "$1" "\$4 == 200 && \$2 > $2"; }

# ---------------------------------------------------------------- checking a phase against the log
# check_phase PHASE ROWS_WITHOUT_ANSWER_ALLOWED(0|1): the phase's answers against its rows (the
# rows whose subject is one of the phase's DNIs), then the whole chain.
check_phase() {
  local phase=$1 unanswered_allowed=$2 lo hi
  lo=$(printf '%08d' "$PHASE_BASE"); hi=$(printf '%08d' $((PHASE_BASE + 999999)))
  {
    cat <<'SQL'
create temp table a (dni text, t_sent float8, t_done float8, status int, error text, exid text,
                     faultcode text, has_data int, signed int, sha text);
copy a from stdin;
SQL
    cat "$T/$phase.tsv"
    printf '\\.\n'
    cat <<SQL
create temp table r as
  select exchange_id::text as exid, subject_id as dni, outcome, fault_code, http_status,
         encode(response_sha256, 'hex') as sha, t_logged
  from exchange_log where subject_type = 'DNI' and subject_id between '$lo' and '$hi';
select
  (select count(*) from a),
  (select count(*) from a where status = 200),
  (select count(*) from a where status not in (0, 200) and faultcode <> 'Server.LogUnavailable'),
  (select count(*) from a where faultcode = 'Server.LogUnavailable'),
  (select count(*) from a where status = 0),
  (select count(*) from r),
  -- a 200 without its row: same exchange id and DNI, ok, HTTP 200, the very bytes received
  (select count(*) from a where status = 200 and not exists (select 1 from r where r.exid = a.exid
     and r.dni = a.dni and r.outcome = 'ok' and r.http_status = 200 and r.sha = a.sha)),
  -- a logged Fault without its row (same checks, with the fault code)
  (select count(*) from a where status not in (0, 200) and faultcode not in ('', 'Server.LogUnavailable')
     and not exists (select 1 from r where r.exid = a.exid and r.dni = a.dni and r.outcome = 'fault'
       and r.fault_code = a.faultcode and r.http_status = a.status and r.sha = a.sha)),
  -- an answer that is neither data nor a SOAP Fault
  (select count(*) from a where status not in (0, 200) and faultcode = ''),
  -- 503 <=> Server.LogUnavailable, and such an answer carries no data and no signature
  (select count(*) from a where (status = 503) <> (faultcode = 'Server.LogUnavailable')),
  (select count(*) from a where faultcode = 'Server.LogUnavailable' and (has_data = 1 or signed = 1)),
  -- 503 answers whose exchange was committed anyway (docs/exchange-log.md: the COMMIT in flight
  -- when the waiter's commitTimeoutMs ran out) ...
  (select count(*) from a join r using (exid) where a.faultcode = 'Server.LogUnavailable'),
  -- ... which must have begun before the caller was told "not logged": a transaction begun
  -- (t_logged = now()) after that would be a retry writing a row its waiter had abandoned
  (select count(*) from a join r using (exid) where a.faultcode = 'Server.LogUnavailable'
     and r.t_logged > to_timestamp(a.t_done)),
  -- one request, at most one row; every row is a request this phase sent
  (select count(*) from (select dni from r group by dni having count(*) > 1) d),
  (select count(*) from a where exid <> '' and exid in (select exid from a group by exid having count(*) > 1)),
  (select count(*) from r where dni not in (select dni from a)),
  -- no row for a request that never reached the gateway
  (select count(*) from r join a using (dni) where a.error = 'connect'),
  -- rows of requests whose answer never arrived
  (select count(*) from r join a using (dni) where a.status = 0),
  -- the whole chain
  (select count(*) from exchange_log_verify_chain()),
  (select count(*) = coalesce(max(seq), 0) and coalesce(min(seq), 1) = 1 from exchange_log),
  (select count(*) from exchange_log);
SQL
  } >"$T/$phase.sql"
  local out
  out=$(auditor_sql <"$T/$phase.sql") || { fail "$phase: the check query failed"; return; }
  local n n200 nfault n503 nnone nrows bad200 badfault other bad503 data503 win503 late503 \
        dupdni dupid stray connrow unanswered chain gapless total
  read -r n n200 nfault n503 nnone nrows bad200 badfault other bad503 data503 win503 late503 \
          dupdni dupid stray connrow unanswered chain gapless total <<<"$out"
  echo "== $phase: $n requests: $n200 answered 200, $nfault logged Faults," \
       "$n503 Server.LogUnavailable (503), $nnone without an answer; $nrows rows;" \
       "$win503 rows of 503 answers (commit in flight), $unanswered rows without an answer;" \
       "log: $total rows"
  awk -F'\t' '$7 != "" { c[$7]++ } $4 == 0 { e["no answer (" $5 ")"]++ }
              END { for (k in c) printf "   %s: %d\n", k, c[k]; for (k in e) printf "   %s: %d\n", k, e[k] }' \
    "$T/$phase.tsv"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$phase" "$n" "$n200" "$nfault" "$n503" "$nnone" \
    "$nrows" "$win503" "$unanswered" >>"$T/summary.tsv"
  assert_eq 0 "$bad200" "$phase: every 200 answer has its ok row (exchange id, DNI, response digest)"
  assert_eq 0 "$badfault" "$phase: every logged Fault answer has its row with that fault code"
  assert_eq 0 "$other" "$phase: every non-200 answer is a SOAP Fault"
  assert_eq 0 "$bad503" "$phase: HTTP 503 exactly for Server.LogUnavailable"
  assert_eq 0 "$data503" "$phase: no 503 carries citizen data or a signature"
  assert_eq 0 "$late503" "$phase: no row written after its caller was answered Server.LogUnavailable"
  assert_eq 0 "$dupdni" "$phase: at most one row per request"
  assert_eq 0 "$dupid" "$phase: every answer has its own exchange id"
  assert_eq 0 "$stray" "$phase: every row is a request the clients sent"
  assert_eq 0 "$connrow" "$phase: no row for a request that never reached the gateway"
  [ "$unanswered_allowed" = 1 ] \
    || assert_eq 0 "$unanswered" "$phase: no process was killed, so every logged exchange was answered"
  assert_eq 0 "$chain" "$phase: exchange_log_verify_chain() reports nothing"
  assert_eq t "$gapless" "$phase: seq is gapless from 1"
}

# ---------------------------------------------------------------- 1. the provider dies
start_load provider 10000000
restart_at=$(now)
kill -KILL "$RENIEC_PID"; wait "$RENIEC_PID" 2>/dev/null || true; forget_pid "$RENIEC_PID"
wait_until "provider down: Server.Provider.Unavailable answers" 15 \
  seen provider "\$7 == \"Server.Provider.Unavailable\" && \$2 > $restart_at"
start_sim reniec --port "$RENIEC_PORT"
back=$(now)
wait_until "provider back: 200 again" 20 recovered provider "$back"
stop_load
check_phase provider 0

# ---------------------------------------------------------------- 2. PostgreSQL stops
start_load postgres 11000000
down=$(now)
stop_pg
wait_until "database down: Server.LogUnavailable answers" 15 \
  seen postgres "\$7 == \"Server.LogUnavailable\" && \$2 > $down"
"${PG_LOCAL[@]}" start --dir "$PIDE_TEST_PG_DIR" >"$T/pg-restart.log" 2>&1
back=$(now)
wait_until "database back: 200 again" 20 recovered postgres "$back"
stop_load
check_phase postgres 0

# ---------------------------------------------------------------- 3. SIGTERM: graceful stop
# A provider taking 250 ms keeps every client's exchange inside the gateway most of the time, so
# the signal finds exchanges in flight.
restart_sim --latency-ms 250
start_load sigterm 12000000
old_port=$GW_PORT
term_at=$(now)
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
exited=$(now)
assert_eq 0 "$EXIT_RC" "sigterm: the gateway drained and exited 0"
curl_rc=0
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$old_port/health" || curl_rc=$?
assert_eq 7 "$curl_rc" "sigterm: once stopped, new connections are refused"
start_gateway
back=$(now)
wait_until "sigterm: restarted gateway answers" 20 recovered sigterm "$back"
stop_load
in_flight=$(awk -F'\t' -v t="$term_at" -v x="$exited" '$2 < t && $3 > t && $3 <= x && $4 == 200' "$T/sigterm.tsv" | wc -l)
echo "sigterm: $in_flight exchanges in flight at the signal were answered 200 before the exit"
[ "$in_flight" -ge 1 ] && pass "sigterm: exchanges in flight at the signal were finished and answered" \
  || fail "sigterm: no exchange in flight at the signal was answered"
check_phase sigterm 0

# ---------------------------------------------------------------- 4. SIGKILL: no graceful path
restart_sim
start_load sigkill 13000000
wait_until "sigkill: load running" 20 seen sigkill '$4 == 200 && ++n >= 20'
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
forget_pid "$GW_PID"
start_gateway
back=$(now)
wait_until "sigkill: restarted gateway answers" 20 recovered sigkill "$back"
stop_load
check_phase sigkill 1

# ---------------------------------------------------------------- the whole log, independently
audit_rc=0
"$PIDE_BUILD_DIR/tools/pide-audit" --conninfo "$(sed 's/user=pide_gateway/user=pide_auditor/' "$PIDE_TEST_PG_DIR/conninfo")" \
  --password-file "$PIDE_TEST_PG_DIR/auditor.password" verify >"$T/audit.out" 2>&1 || audit_rc=$?
assert_eq 0 "$audit_rc" "pide-audit verify (recomputed outside the database) accepts the whole chain"
echo "== summary (phase, requests, 200, logged Faults, 503, no answer, rows, rows of 503s, rows without answer)"
column -t "$T/summary.tsv" 2>/dev/null || cat "$T/summary.tsv"
finish
