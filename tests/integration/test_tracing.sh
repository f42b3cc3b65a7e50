#!/usr/bin/env bash
# test_tracing.sh — W3C Trace Context end to end through the real gateway, the RENIEC adapter,
# the RENIEC simulator (which logs the traceparent it receives with --verbose) and PostgreSQL:
# a caller's traceparent is continued (same trace id, the gateway's own span as the provider's
# parent, tracestate passed on), returned in the response and stored with the exchange; absent,
# malformed, oversized and duplicated ones start a new trace and are not an error.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"

start_reniec_sim --verbose
write_config
start_gateway --log-format json --verbose

TID=4bf92f3577b34da6a3ce929d0e0e4736
PID=00f067aa0ba902b7
hex32='^[0-9a-f]{32}$'

# post OUT [curl header args...]: a RENIEC consultation; prints the HTTP status.
post() {
  local out=$1; shift
  curl -s -o "$out" -D "$out.headers" -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' \
       -H 'SOAPAction: ""' "$@" --data-binary @"$EX/reniec-consultar.xml" "$GW_URL/services/ReniecConsultaDni"
}
header_of() { tr -d '\r' < "$1.headers" | sed -n "s/^$2: //Ip"; }
# The traceparent (and tracestate) the simulator logged for its latest request.
sim_traceparent() { grep -o 'traceparent=[^ ]*' "$T/reniec.log" | tail -1 | cut -d= -f2; }
sim_tracestate() { tail -1 "$T/reniec.log" | grep -o 'tracestate=.*' | cut -d= -f2-; }
sim_requests() { grep -c ' -> ' "$T/reniec.log" || true; }
row_trace() { log_sql "select coalesce(trace_id,'-') || '|' || coalesce(trace_parent_id,'-')
                       from exchange_log where exchange_id = '$(exchange_id_of "$1")'"; }

# --- a caller's trace is continued ------------------------------------------------------------
status=$(post "$T/with.xml" -H "traceparent: 00-$TID-$PID-01" -H 'tracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')
assert_eq 200 "$status" "with traceparent: HTTP 200"
assert_eq 0000 "$(xml_value "$T/with.xml" coResultado)" "with traceparent: the consultation answers"
resp_tp=$(header_of "$T/with.xml" traceparent)
sim_tp=$(sim_traceparent)
[[ "$resp_tp" =~ ^00-$TID-[0-9a-f]{16}-01$ ]] && pass "response traceparent continues the trace: $resp_tp" \
  || fail "response traceparent: '$resp_tp'"
[[ "$sim_tp" =~ ^00-$TID-[0-9a-f]{16}-01$ ]] && pass "provider received the same trace id: $sim_tp" \
  || fail "provider traceparent: '$sim_tp'"
span=$(cut -d- -f3 <<<"$sim_tp")
[ "$span" != "$PID" ] && [ "$span" != 0000000000000000 ] && pass "provider's parent id is the gateway's span, not the caller's" \
  || fail "provider parent id '$span'"
assert_eq "$resp_tp" "$sim_tp" "the response names the same gateway span the provider saw"
assert_eq "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE" "$(sim_tracestate)" "tracestate passed on unchanged"
assert_eq "$TID|$PID" "$(row_trace "$T/with.xml")" "log row: trace id and the caller's parent id"

# --- no traceparent: a new trace ------------------------------------------------------------
status=$(post "$T/without.xml")
assert_eq 200 "$status" "without traceparent: HTTP 200"
resp_tp=$(header_of "$T/without.xml" traceparent)
sim_tp=$(sim_traceparent)
new_tid=$(cut -d- -f2 <<<"$resp_tp")
[[ "$new_tid" =~ $hex32 ]] && [ "$new_tid" != "$TID" ] && [ "$new_tid" != 00000000000000000000000000000000 ] \
  && pass "a new trace id: $new_tid" || fail "new trace id '$new_tid'"
assert_eq "$resp_tp" "$sim_tp" "without: provider got the gateway's traceparent"
[ -z "$(sim_tracestate)" ] && pass "no tracestate invented" || fail "tracestate sent: $(sim_tracestate)"
assert_eq "$new_tid|-" "$(row_trace "$T/without.xml")" "without: log row has the new trace, no parent"

# --- malformed ones: a new trace, never an error -------------------------------------------
check_new_trace() { # what curl-header-args...
  local what=$1; shift
  local out="$T/bad-$RANDOM.xml" before after
  before=$(sim_requests)
  status=$(post "$out" "$@")
  assert_eq 200 "$status" "$what: HTTP 200 (not an error)"
  resp_tp=$(header_of "$out" traceparent)
  local tid; tid=$(cut -d- -f2 <<<"$resp_tp")
  [[ "$tid" =~ $hex32 ]] && [ "$tid" != "$TID" ] && [ "$tid" != 4BF92F3577B34DA6A3CE929D0E0E4736 ] \
    && pass "$what: new trace $tid" || fail "$what: response traceparent '$resp_tp'"
  after=$(sim_requests)
  assert_eq $((before + 1)) "$after" "$what: the provider was called once"
  assert_eq "$resp_tp" "$(sim_traceparent)" "$what: provider got the new trace"
  assert_eq "$tid|-" "$(row_trace "$out")" "$what: logged with the new trace, no parent"
}
check_new_trace "uppercase hex" -H "traceparent: 00-${TID^^}-$PID-01"
check_new_trace "all-zero trace id" -H "traceparent: 00-00000000000000000000000000000000-$PID-01"
check_new_trace "all-zero parent id" -H "traceparent: 00-$TID-0000000000000000-01"
check_new_trace "version ff" -H "traceparent: ff-$TID-$PID-01"
check_new_trace "extra field in version 00" -H "traceparent: 00-$TID-$PID-01-extra"
check_new_trace "garbage" -H "traceparent: hello" -H 'tracestate: rojo=1'
check_new_trace "oversized (2000 characters)" -H "traceparent: 00-$TID-$PID-01$(head -c 1945 /dev/zero | tr '\0' a)"
check_new_trace "duplicated" -H "traceparent: 00-$TID-$PID-01" -H "traceparent: 00-$TID-$PID-01"
# The operational log (JSON, debug) says why: a line of that exchange with the new trace id,
# and nothing of the header's text.
dup_line=$(grep 'not continued (more than one traceparent)' "$T/gateway.log" | tail -1 || true)
dup_ex=$(sed -n 's/.*"exchange_id":"\([^"]*\)".*/\1/p' <<<"$dup_line")
dup_tid=$(sed -n 's/.*"trace_id":"\([^"]*\)".*/\1/p' <<<"$dup_line")
[ -n "$dup_ex" ] && assert_eq "$dup_tid|-" "$(log_sql "select trace_id || '|' || coalesce(trace_parent_id,'-')
  from exchange_log where exchange_id = '$dup_ex'")" "JSON log line: exchange_id and trace_id of the duplicated call" \
  || fail "no JSON log line for the duplicated traceparent: $(tail -3 "$T/gateway.log")"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]' "$T/gateway.log" \
  && pass "every operational log line is JSON" || fail "a log line is not JSON"
assert_not_contains "$T/gateway.log" "$PID" "the caller's header text is not in the operational log"
grep -q 'more than one traceparent' "$T/reniec.log" \
  && fail "the provider got a duplicated traceparent" || pass "the provider got one traceparent"

# A future version is continued (parsed by its first 55 characters), passed on as version 00.
status=$(post "$T/future.xml" -H "traceparent: cc-$TID-$PID-01-future-data")
resp_tp=$(header_of "$T/future.xml" traceparent)
[[ "$resp_tp" =~ ^00-$TID-[0-9a-f]{16}-01$ ]] && pass "future version continued: $resp_tp" \
  || fail "future version: '$resp_tp'"

# A request refused before any provider call still carries and logs its trace.
printf 'not xml' > "$T/junk.xml"
status=$(curl -s -o "$T/refused.xml" -D "$T/refused.xml.headers" -w '%{http_code}' \
  -H 'Content-Type: text/xml; charset=utf-8' -H "traceparent: 00-$TID-$PID-00" \
  --data-binary @"$T/junk.xml" "$GW_URL/services/ReniecConsultaDni")
[ "$status" != 200 ] && pass "junk refused: HTTP $status" || fail "junk answered 200"
resp_tp=$(header_of "$T/refused.xml" traceparent)
[[ "$resp_tp" =~ ^00-$TID-[0-9a-f]{16}-00$ ]] && pass "a Fault carries the trace (flags kept): $resp_tp" \
  || fail "fault traceparent '$resp_tp'"
assert_eq "$TID|$PID" "$(row_trace "$T/refused.xml")" "the Fault's log row has the trace"

# The rows verify with the trace columns in them (hash version 4 covers them, migration 0008).
assert_eq "t|4" "$(log_sql "select case when bool_and(public.exchange_log_row_hash(e) = e.row_hash) then 't' else 'f' end || '|' ||
                                   string_agg(distinct hash_version::text, ',')
                            from exchange_log e where trace_id = '$TID'")" \
  "rows with a trace id verify by their row hash (v4, which covers the trace columns)"
finish
