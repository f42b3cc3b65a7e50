#!/usr/bin/env bash
# test_reniec_provider_faults.sh — RENIEC through the gateway when the provider misbehaves: too
# slow (Server.Provider.Timeout), answering something that is not its protocol
# (Server.Provider.BadResponse), failing now and then (Server.Provider.Unavailable); each is a
# signed, logged Fault carrying the contract's result code, and the gateway keeps serving.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"

expect_provider_fault() { # what fault-code
  local status id
  status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/$1.xml")
  assert_eq 500 "$status" "$1: HTTP 500"
  assert_eq "soap:$2" "$(xml_value "$T/$1.xml" faultcode)" "$1: $2"
  id=$(exchange_id_of "$T/$1.xml")
  assert_eq "fault|$2|45678912" \
    "$(log_sql "select outcome, fault_code, subject_id from exchange_log where exchange_id = '$id'")" \
    "$1: logged with the subject"
  xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/$1.xml" >/dev/null 2>&1 \
    && pass "$1: the Fault is signed" || fail "$1: the Fault does not verify"
}

# Too slow: the simulator takes 1.5 s, the service allows 300 ms.
start_sim reniec --latency-ms 1500
write_config
sed -i 's|<endpoint url="\(http://127.0.0.1:[0-9]*/padron/v2/ciudadano\)" timeoutMs="5000"/>|<endpoint url="\1" timeoutMs="300"/>|' "$CONFIG"
start_gateway
start=$(date +%s%N)
expect_provider_fault slow Server.Provider.Timeout
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed_ms" -lt 1400 ] && pass "slow: answered before the provider would have ($elapsed_ms ms)" \
  || fail "slow: took $elapsed_ms ms, the timeout did not cut the call"
stop_all

# Not its protocol: the endpoint is a REST/JSON server (the Migraciones simulator).
start_sim migraciones
write_config "http://127.0.0.1:$MIGRACIONES_PORT/api/v1/carnes"
start_gateway
expect_provider_fault garbage Server.Provider.BadResponse
stop_all

# Failing half the time: every answer is either the data or a clean Fault, never a hang.
start_sim reniec --error-rate 0.5 --seed 7
write_config
start_gateway
ok=0; faults=0; other=0
for i in $(seq 1 20); do
  status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/flaky-$i.xml")
  code=$(xml_value "$T/flaky-$i.xml" faultcode)
  if [ "$status" = 200 ]; then ok=$((ok + 1))
  elif [ "$code" = soap:Server.Provider.Unavailable ]; then faults=$((faults + 1)); fault_file=$T/flaky-$i.xml
  else other=$((other + 1)); fi
done
[ "$ok" -gt 0 ] && [ "$faults" -gt 0 ] && [ "$other" -eq 0 ] \
  && pass "flaky provider: $ok answers and $faults Server.Provider.Unavailable, nothing else" \
  || fail "flaky provider: ok=$ok unavailable=$faults other=$other"
# Clients that only know the contract's codes learn it too: RENIEC's 0999 (service unavailable).
assert_eq 0999 "$(xml_value "${fault_file:-/dev/null}" resultCode)" "the Fault detail carries coResultado 0999"

finish
