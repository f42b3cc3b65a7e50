#!/usr/bin/env bash
# test_circuit_breaker.sh — a provider that keeps failing opens its endpoint's circuit: after
# <circuitBreaker failures> consecutive failures its services answer Server.Provider.Unavailable
# at once, signed and logged, without calling it; after openSeconds one probe goes through, and
# when the provider is back the circuit closes (docs/reliability.md).
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"

# The RENIEC simulator failing every call (HTTP 500: Server.Provider.Unavailable).
start_sim reniec --error-rate 1 --verbose
port=$RENIEC_PORT
write_config
sed -i 's|</services>|</services>\n  <circuitBreaker failures="3" openSeconds="2"/>|' "$CONFIG"
start_gateway

calls_seen() { grep -c ' -> ' "$T/reniec.log" || true; }

for i in 1 2 3; do
  status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/fail$i.xml")
  assert_eq 500 "$status" "failure $i: HTTP 500"
  assert_eq "soap:Server.Provider.Unavailable" "$(xml_value "$T/fail$i.xml" faultcode)" "failure $i: Server.Provider.Unavailable"
done
assert_eq 3 "$(calls_seen)" "the provider was called three times"
grep -q "circuit open after 3 consecutive failures" "$T/gateway.log" \
  && pass "the gateway says the circuit opened" || fail "no 'circuit open' line in the gateway log"

# Open: answered at once, the provider not called, and still a signed, logged Fault.
status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/open.xml")
assert_eq 500 "$status" "open: HTTP 500"
assert_eq "soap:Server.Provider.Unavailable" "$(xml_value "$T/open.xml" faultcode)" "open: Server.Provider.Unavailable"
assert_contains "$T/open.xml" "circuit open" "open: the Fault says the circuit is open"
assert_eq 3 "$(calls_seen)" "open: the provider was not called"
xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/open.xml" >/dev/null 2>&1 \
  && pass "open: the Fault is signed" || fail "open: the Fault does not verify"
id=$(exchange_id_of "$T/open.xml")
assert_eq "fault|Server.Provider.Unavailable|45678912" \
  "$(log_sql "select outcome, fault_code, subject_id from exchange_log where exchange_id = '$id'")" \
  "open: logged with the subject"

# The admin listener's metrics show the circuit (docs/operations.md).
ep="http://127.0.0.1:$port"
if [ -n "${ADMIN_PORT:-}" ]; then
  curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" > "$T/metrics.txt"
  assert_contains "$T/metrics.txt" "pide_provider_circuit_state{endpoint=\"$ep\"} 1" "metrics: the circuit is open (1)"
  assert_contains "$T/metrics.txt" "pide_provider_circuit_opened_total{endpoint=\"$ep\"} 1" "metrics: opened once"
  assert_contains "$T/metrics.txt" "pide_provider_circuit_refusals_total{endpoint=\"$ep\"} 1" "metrics: one call refused"
else
  fail "the demo configuration has no <admin>: no metrics to check"
fi

# The provider comes back on the same port; after openSeconds a probe closes the circuit.
kill "$RENIEC_PID"; wait "$RENIEC_PID" 2>/dev/null || true
"$PIDE_BUILD_DIR/simulators/reniec/reniec-sim" --port "$port" --verbose 2>>"$T/reniec.log" &
started_pids+=($!)
sleep 0.3
status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/still.xml")
assert_contains "$T/still.xml" "circuit open" "back, but within openSeconds: still refused at once"
sleep 2.2
status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/probe.xml")
assert_eq 200 "$status" "after openSeconds: the probe goes through and succeeds"
grep -q "probe succeeded, circuit closed" "$T/gateway.log" \
  && pass "the gateway says the circuit closed" || fail "no 'circuit closed' line"
for i in 1 2 3; do
  status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/ok$i.xml")
  assert_eq 200 "$status" "closed: call $i answered"
done
curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" > "$T/metrics2.txt"
assert_contains "$T/metrics2.txt" "pide_provider_circuit_state{endpoint=\"$ep\"} 0" "metrics: closed again (0)"

# failures="0" turns the breakers off: every call reaches the failing provider.
stop_all
start_sim reniec --error-rate 1 --verbose
write_config
sed -i 's|</services>|</services>\n  <circuitBreaker failures="0"/>|' "$CONFIG"
start_gateway
: > "$T/reniec.log"
for i in 1 2 3 4 5 6 7; do soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/off$i.xml" >/dev/null; done
assert_eq 7 "$(calls_seen)" "breakers off: every call reaches the provider"
assert_not_contains "$T/off7.xml" "circuit open" "breakers off: never 'circuit open'"
finish
