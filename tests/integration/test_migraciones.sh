#!/usr/bin/env bash
# test_migraciones.sh — MigraCarnetdeExtrajeria end to end through the real gateway, the
# migraciones adapter plugin, migraciones-sim (REST/JSON) and PostgreSQL: a valid card (fields,
# signature checked with the stock xmlsec1 CLI, log row with subject CE, result code, caller
# audit and the header identity), unknown and expired cards (0001), a schema-invalid request,
# and every register failure as its Fault carrying resultCode 0002: garbage, maintenance (503),
# a slow register (timeout) and a register that is down.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
SERVICE=MigraCarnetdeExtrajeria

start_sim migraciones
write_config
grep -q "name=\"$SERVICE\"" "$CONFIG" \
  || { echo "conf/demo.xml has no $SERVICE service yet: cannot test through the gateway" >&2; exit 1; }
start_gateway

# log_row ID COLUMNS: the columns of one exchange's log row, '|'-separated.
log_row() { log_sql "select $2 from exchange_log where exchange_id = '$1'"; }

# --- a valid card -----------------------------------------------------------------------------
status=$(soap_post $SERVICE "$EX/migraciones-consultar.xml" "$T/found.xml")
assert_eq 200 "$status" "found: HTTP 200"
assert_eq 0000 "$(xml_value "$T/found.xml" strNumRespuesta)" "found: strNumRespuesta 0000"
for f in strNombres strPrimerApellido strCalidadMigratoria strNacionalidad strFechaVencimiento; do
  [ -n "$(xml_value "$T/found.xml" $f)" ] && pass "found: $f present" || fail "found: $f empty"
done
assert_eq VIGENTE "$(xml_value "$T/found.xml" strEstadoCarne)" "found: strEstadoCarne VIGENTE"
# The names are the register's for this card (migraciones-sim is deterministic).
sim_json=$(curl -s "http://127.0.0.1:$MIGRACIONES_PORT/api/v1/carnes/001234567?entidad=20000000001")
expected_names=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["titular"]["nombres"])' "$sim_json")
assert_eq "$expected_names" "$(xml_value "$T/found.xml" strNombres)" "found: strNombres are the register's"
if xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/found.xml" >"$T/verify.log" 2>&1; then
  pass "found: xmlsec1 --verify accepts the response signature"
else
  fail "found: xmlsec1 --verify rejected the response"
fi
sed 's/<strNumRespuesta>0000</<strNumRespuesta>0001</' "$T/found.xml" > "$T/tampered.xml"
if xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/tampered.xml" >/dev/null 2>&1; then
  fail "found: tampered response still verifies"
else
  pass "found: tampered response fails verification"
fi
id=$(exchange_id_of "$T/found.xml")
assert_eq "20000000001|11111111|$SERVICE|consultarDocumento|migraciones|CE|001234567|ok|-|0000|200" \
  "$(log_row "$id" "client_member, client_user, service, operation, adapter, subject_type, subject_id,
                   outcome, coalesce(fault_code,'-'), result_code, http_status")" \
  "found: log row (identity from the SOAP header, subject CE, result code)"
assert_eq "Verificación de identidad en trámite" "$(log_row "$id" purpose)" "found: purpose from the header logged"
assert_eq "192.168.10.25|00:1A:2B:3C:4D:5E" "$(log_row "$id" "caller_ip, caller_mac")" \
  "found: caller audit (strNroIp, strMac) logged"

# --- not found and expired: normal answers with 0001 -------------------------------------------
status=$(soap_post $SERVICE "$EX/migraciones-consultar-no-existe.xml" "$T/notfound.xml")
assert_eq 200 "$status" "not found: HTTP 200"
assert_eq 0001 "$(xml_value "$T/notfound.xml" strNumRespuesta)" "not found: strNumRespuesta 0001"
assert_eq "" "$(xml_value "$T/notfound.xml" strNombres)" "not found: no holder data"
assert_eq "ok|CE|000012345|0001" \
  "$(log_row "$(exchange_id_of "$T/notfound.xml")" "outcome, subject_type, subject_id, result_code")" \
  "not found: logged with result code 0001"

status=$(soap_post $SERVICE "$EX/migraciones-consultar-vencido.xml" "$T/expired.xml")
assert_eq 200 "$status" "expired: HTTP 200"
assert_eq 0001 "$(xml_value "$T/expired.xml" strNumRespuesta)" "expired: strNumRespuesta 0001"
assert_eq VENCIDO "$(xml_value "$T/expired.xml" strEstadoCarne)" "expired: strEstadoCarne VENCIDO"

# --- Faults -----------------------------------------------------------------------------------
# expect_fault NAME FILE FAULT-CODE [RESULT-CODE]: HTTP 500, the Fault, its detail, the log row.
expect_fault() {
  local status id
  status=$(soap_post $SERVICE "$2" "$T/$1.xml")
  assert_eq 500 "$status" "$1: HTTP 500"
  assert_eq "soap:$3" "$(xml_value "$T/$1.xml" faultcode)" "$1: faultcode $3"
  id=$(exchange_id_of "$T/$1.xml")
  if [ -n "${4:-}" ]; then
    assert_eq "$4" "$(xml_value "$T/$1.xml" resultCode)" "$1: resultCode $4 in the Fault detail"
    assert_eq "fault|$3|$4|CE" "$(log_row "$id" "outcome, fault_code, result_code, subject_type")" \
      "$1: logged as a fault with result code $4"
  else
    assert_eq "fault|$3" "$(log_row "$id" "outcome, fault_code")" "$1: logged as a fault"
  fi
  if xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/$1.xml" >/dev/null 2>&1; then
    pass "$1: the Fault is signed"
  else
    fail "$1: the Fault does not verify"
  fi
}
with_number() { # NUMBER OUT: the found example asking for another card
  sed "s|<strNumDocumento>001234567<|<strNumDocumento>$1<|" "$EX/migraciones-consultar.xml" > "$2"
}

expect_fault schema-invalid "$EX/migraciones-consultar-invalido.xml" Client.SchemaInvalid
assert_contains "$T/schema-invalid.xml" "strNumDocumento" "schema-invalid: the fault names the element"
sed 's|<strTipoDocumento>CE<|<strTipoDocumento>PAS<|' "$EX/migraciones-consultar.xml" > "$T/pas.req"
expect_fault other-type "$T/pas.req" Client.BadRequest
with_number 888888888 "$T/garbage.req"
expect_fault garbage "$T/garbage.req" Server.Provider.BadResponse 0002
with_number 777777777 "$T/shape.req"
expect_fault wrong-shape "$T/shape.req" Server.Provider.BadResponse 0002
with_number 999999999 "$T/maint.req"
expect_fault maintenance "$T/maint.req" Server.Provider.Unavailable 0002

# --- a slow register: a second simulator slower than a short timeout ---------------------------
"$PIDE_BUILD_DIR/simulators/migraciones/migraciones-sim" --port 0 --port-file "$T/slow.port" \
  --latency-ms 3000 2>>"$T/migraciones-slow.log" &
slow_pid=$!
started_pids+=("$slow_pid")
slow_port=$(wait_port_file "$T/slow.port" "$slow_pid")
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
fast_port=$MIGRACIONES_PORT
MIGRACIONES_PORT=$slow_port write_config
# Only the Migraciones endpoint's timeout: the line that carries its URL.
sed -i "\|http://127.0.0.1:$slow_port/|s|timeoutMs=\"[0-9]*\"|timeoutMs=\"500\"|" "$CONFIG"
grep -q "127.0.0.1:$slow_port/.*timeoutMs=\"500\"" "$CONFIG" || fail "slow: could not shorten the timeout"
start_gateway
expect_fault slow "$EX/migraciones-consultar.xml" Server.Provider.Timeout 0002

# --- the register goes away -------------------------------------------------------------------
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
kill "$MIGRACIONES_PID"; wait "$MIGRACIONES_PID" 2>/dev/null || true
MIGRACIONES_PORT=$fast_port write_config
start_gateway
expect_fault provider-down "$EX/migraciones-consultar.xml" Server.Provider.Unavailable 0002

finish
