#!/usr/bin/env bash
# test_valgrind.sh — the real gateway under valgrind memcheck: start-up, a few exchanges of every
# kind (RENIEC found / not found / Faults, metaservices, Migraciones with a provider error, PJ,
# mutual TLS, a provider that is down) and a SIGTERM shutdown, with no memory error and no
# definitely lost block. Not mixable with ASan: run it from a build without ENABLE_SANITIZERS
# (under ASan it says so and skips).
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR

if ! command -v valgrind >/dev/null; then
  echo "valgrind not installed: skipped"
  exit 0
fi
# (no pipe into grep -q here: with pipefail, its early exit would fail the producer)
libs=$(ldd "$GATEWAY_BIN" 2>/dev/null || true)
if [[ $libs == *libasan* ]]; then
  echo "this build uses AddressSanitizer, which valgrind cannot run: skipped"
  exit 0
fi

start_reniec_sim
start_sim migraciones
start_sim pj --trusted-ca "$PKI/ca.pem"
write_config
# Fewer workers keep valgrind's start-up short; the code paths are the same.
sed -i 's/workers="[0-9]*"/workers="2"/' "$CONFIG"

# wait_port_file with a longer patience: valgrind starts the gateway 20-50 times slower.
wait_port_slow() {
  local i
  for i in $(seq 1 1200); do
    [ -s "$1" ] && { cat "$1"; return 0; }
    kill -0 "$2" 2>/dev/null || { echo "gateway exited before listening" >&2; return 1; }
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  return 1
}

VG_LOG="$T/valgrind.log"
start_gateway_under_valgrind() {
  rm -f "$T/gateway.port" "$T/gateway-tls.port"
  valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --num-callers=30 --log-file="$VG_LOG" \
    "$GATEWAY_BIN" --config "$CONFIG" --port-file "$T/gateway.port" \
    --tls-port-file "$T/gateway-tls.port" 2>>"$T/gateway.log" &
  GW_PID=$!
  started_pids+=("$GW_PID")
  GW_PORT=$(wait_port_slow "$T/gateway.port" "$GW_PID")
  GW_URL="http://127.0.0.1:$GW_PORT"
  GW_TLS_PORT=$(wait_port_slow "$T/gateway-tls.port" "$GW_PID")
  GW_TLS_URL="https://127.0.0.1:$GW_TLS_PORT"
}
start_gateway_under_valgrind
pass "the gateway started under valgrind"

# expect NAME SERVICE FILE HTTP-STATUS ELEMENT VALUE: one exchange and what its answer says.
expect() {
  local status
  status=$(soap_post "$2" "$3" "$T/$1.xml")
  assert_eq "$4" "$status" "$1: HTTP $4"
  assert_eq "$6" "$(xml_value "$T/$1.xml" "$5")" "$1: $5 $6"
}

expect reniec-found ReniecConsultaDni "$EX/reniec-consultar.xml" 200 coResultado 0000
expect reniec-not-found ReniecConsultaDni "$EX/reniec-consultar-no-existe.xml" 200 coResultado 0001
expect reniec-invalid ReniecConsultaDni "$EX/reniec-consultar-invalido.xml" 500 faultcode soap:Client.SchemaInvalid
printf '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><broken>' > "$T/malformed.req"
expect malformed ReniecConsultaDni "$T/malformed.req" 500 faultcode soap:Client.MalformedXml
sed 's|<password>demo</password>|<password>wrong</password>|' "$EX/reniec-consultar.xml" > "$T/badpw.req"
expect bad-password ReniecConsultaDni "$T/badpw.req" 500 faultcode soap:Client.AuthenticationFailed
expect unknown-service NoSuchService "$EX/reniec-consultar.xml" 404 faultcode soap:Client.UnknownService

expect meta-list meta "$EX/meta-listServices.xml" 200 serviceCode ReniecConsultaDni
expect meta-wsdl meta "$EX/meta-getWsdl.xml" 200 serviceCode ReniecConsultaDni
assert_eq 200 "$(curl -s -o "$T/reniec.wsdl" -w '%{http_code}' "$GW_URL/services/ReniecConsultaDni?wsdl")" "?wsdl served"

expect migraciones-found MigraCarnetdeExtrajeria "$EX/migraciones-consultar.xml" 200 strNumRespuesta 0000
expect migraciones-unknown MigraCarnetdeExtrajeria "$EX/migraciones-consultar-no-existe.xml" 200 strNumRespuesta 0001
sed "s|<strNumDocumento>001234567<|<strNumDocumento>999999999<|" "$EX/migraciones-consultar.xml" > "$T/maint.req"
expect migraciones-maintenance MigraCarnetdeExtrajeria "$T/maint.req" 500 faultcode soap:Server.Provider.Unavailable

expect pj-none AntecedentesPenales "$EX/pj-verificar.xml" 200 coResultado 0000
expect pj-records AntecedentesPenales "$EX/pj-verificar-con-antecedentes.xml" 200 coResultado 0001

tls_status=$(curl -s -o "$T/tls.xml" -w '%{http_code}' --cacert "$PKI/ca.pem" \
  --cert "$PKI/demo-client.pem" --key "$PKI/demo-client.key" \
  -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
  --data-binary @"$EX/reniec-consultar.xml" "$GW_TLS_URL/services/ReniecConsultaDni" || echo refused)
assert_eq 200 "$tls_status" "mutual TLS: HTTP 200"
assert_eq 0000 "$(xml_value "$T/tls.xml" coResultado)" "mutual TLS: data answered"
assert_eq refused "$(curl -s -o /dev/null --cacert "$PKI/ca.pem" --data-binary @"$EX/reniec-consultar.xml" \
  "$GW_TLS_URL/services/ReniecConsultaDni" 2>/dev/null || echo refused)" "TLS without a client certificate: refused"

kill "$RENIEC_PID"; wait "$RENIEC_PID" 2>/dev/null || true
expect reniec-down ReniecConsultaDni "$EX/reniec-consultar.xml" 500 faultcode soap:Server.Provider.Unavailable

# --- shutdown: valgrind's verdict ------------------------------------------------------------------
kill -TERM "$GW_PID"
rc=0
wait "$GW_PID" || rc=$?
assert_eq 0 "$rc" "the gateway exited 0 under valgrind (99 = valgrind found errors)"
if grep -q "ERROR SUMMARY: 0 errors" "$VG_LOG"; then
  pass "valgrind: no memory errors"
else
  fail "valgrind: $(grep 'ERROR SUMMARY' "$VG_LOG" || echo 'no summary')"
fi
if grep -q "definitely lost: [1-9]" "$VG_LOG"; then
  fail "valgrind: definite leaks: $(grep 'definitely lost' "$VG_LOG")"
else
  pass "valgrind: no definite leaks"
fi
if [ "$failures" -ne 0 ]; then
  echo "--- $VG_LOG"
  head -n 200 "$VG_LOG"
fi

finish
