#!/usr/bin/env bash
# test_xslt_rest.sh — MigraCarneRest, a REST/JSON provider published by configuration only (the
# xslt adapter, providerStyle rest-json, conf/migraciones-rest/*.xsl, wsdl/MigraCarneRest.wsdl),
# end to end through the real gateway, migraciones-sim and PostgreSQL: found / not found /
# expired / refused institution as contract answers valid by the XSD; the log row with subject,
# purpose and result code; what the register heard is the authenticated member's institution
# code, whatever the body claims; provider errors (503, 500, 404 of a wrong path), truncated JSON,
# JSON that does not fit the contract, a slow register and a register that is down as the
# stable Faults the other adapters give (logged with 0002); python3-zeep through the WSDL;
# pide-adapter-check with conf/migraciones-rest/samples.xml; and the gateway started from
# another working directory.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
SERVICE=MigraCarneRest
XSD="$PIDE_SOURCE_DIR/schemas/migraciones-carne-rest.xsd"
REQ="$EX/migraciones-rest-consultar.xml"

start_sim migraciones --verbose
write_config
grep -q "name=\"$SERVICE\"" "$CONFIG" || { fail "conf/demo.xml has no $SERVICE"; finish; }
# The gateway runs from a directory that is neither the source tree nor the configuration's.
mkdir -p "$T/elsewhere"
cd "$T/elsewhere"
start_gateway

log_row() { log_sql "select $2 from exchange_log where exchange_id = '$1'"; }
# request NUMBER OUT [member] [institution-in-body]
request() {
  sed -e "s|<strNumDocumento>001234567<|<strNumDocumento>$1<|" \
      -e "s|<pgw:memberCode>20000000001<|<pgw:memberCode>${3:-20000000001}<|" \
      -e "s|<strCodInstitucion>20000000001<|<strCodInstitucion>${4:-20000000001}<|" "$REQ" > "$2"
}
valid_by_contract() {
  python3 - "$1" "$T/payload.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
body = ET.parse(sys.argv[1]).getroot().find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
ET.ElementTree(next(iter(body))).write(sys.argv[2], xml_declaration=True, encoding="UTF-8")
PY
  xmllint --noout --schema "$XSD" "$T/payload.xml" >/dev/null 2>&1
}
heard_count() { grep -c 'GET /api/v1/carnes/' "$T/migraciones.log" || true; }
# heard NUMBER: the entidad the register heard on its last request for NUMBER (it logs after
# answering: wait for the line).
heard() {
  local i
  for i in $(seq 1 40); do
    grep -q "GET /api/v1/carnes/$1?" "$T/migraciones.log" && break; sleep 0.05
  done
  grep "GET /api/v1/carnes/$1?" "$T/migraciones.log" | tail -n 1 | sed -n 's/^.*?entidad=\([^ ]*\) .*$/\1/p'
}

# --- found ------------------------------------------------------------------------------------
status=$(soap_post $SERVICE "$REQ" "$T/found.xml")
assert_eq 200 "$status" "found: HTTP 200"
assert_eq 0000 "$(xml_value "$T/found.xml" strNumRespuesta)" "found: strNumRespuesta 0000"
assert_eq VIGENTE "$(xml_value "$T/found.xml" strEstadoCarne)" "found: strEstadoCarne VIGENTE"
assert_eq 20000000001 "$(heard 001234567)" "found: the register heard the member's institution code"
# The holder's data are the register's own for this number.
sim_json=$(curl -s "http://127.0.0.1:$MIGRACIONES_PORT/api/v1/carnes/001234567?entidad=X")
for pair in strNombres:titular.nombres strPrimerApellido:titular.apellidoPaterno \
            strNacionalidad:titular.nacionalidad strCalidadMigratoria:calidadMigratoria \
            strFechaVencimiento:fechaVencimiento; do
  want=$(python3 -c 'import json,sys; v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$sim_json" "${pair#*:}")
  assert_eq "$want" "$(xml_value "$T/found.xml" "${pair%%:*}")" "found: ${pair%%:*} is the register's ${pair#*:}"
done
valid_by_contract "$T/found.xml" && pass "found: the answer is valid by migraciones-carne-rest.xsd" \
  || fail "found: the answer is not valid by the XSD"
if xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/found.xml" >/dev/null 2>&1; then
  pass "found: xmlsec1 --verify accepts the response signature"
else
  fail "found: the response signature does not verify"
fi
id=$(exchange_id_of "$T/found.xml")
assert_eq "20000000001|$SERVICE|consultarDocumento|xslt|CE|001234567|ok|-|0000|200" \
  "$(log_row "$id" "client_member, service, operation, adapter, subject_type, subject_id,
                   outcome, coalesce(fault_code,'-'), result_code, http_status")" \
  "found: log row (subject CE, result code from the translated answer)"
assert_eq "$(xmllint --xpath 'string(//*[local-name()="purpose"])' "$REQ")" "$(log_row "$id" purpose)" \
  "found: purpose logged"

# --- business answers from 200, 404 and 403 ---------------------------------------------------
answer() { # name number code [member] [body-institution] [field value]
  local status id
  request "$2" "$T/$1.req" "${4:-}" "${5:-}"
  status=$(soap_post $SERVICE "$T/$1.req" "$T/$1.xml")
  assert_eq 200 "$status" "$1: HTTP 200"
  assert_eq "$3" "$(xml_value "$T/$1.xml" strNumRespuesta)" "$1: strNumRespuesta $3"
  valid_by_contract "$T/$1.xml" && pass "$1: valid by the XSD" || fail "$1: not valid by the XSD"
  [ -z "${6:-}" ] || assert_eq "$7" "$(xml_value "$T/$1.xml" "$6")" "$1: $6 = $7"
  id=$(exchange_id_of "$T/$1.xml")
  assert_eq "ok|CE|$2|$3" "$(log_row "$id" "outcome, subject_type, subject_id, result_code")" \
    "$1: logged with subject and result"
}
answer not-found 000012345 0001
answer expired 444412345 0001 "" "" strEstadoCarne VENCIDO
answer cancelled 555512345 0001 "" "" strEstadoCarne ANULADO
# 403 ENTIDAD_NO_AUTORIZADA: the member whose institution code the register refuses.
answer refused-institution 001234568 0003 20000000004 20000000004

# --- who asked is one fact: the body's institution is overwritten ------------------------------
answer spoof-blocked 001234569 0000 20000000001 BLOQUEADA
assert_eq 20000000001 "$(heard 001234569)" "spoof: a member claiming BLOQUEADA is heard as itself"
answer spoof-other 001234570 0003 20000000004 20000000001
assert_eq BLOQUEADA "$(heard 001234570)" "spoof: the refused member claiming another's code is heard as itself"
assert_eq 20000000004 "$(log_row "$(exchange_id_of "$T/spoof-other.xml")" client_member)" \
  "spoof: the log names the authenticated member"
# Two strCodInstitucion elements: refused before the register hears anything.
sed 's|<strCodInstitucion>20000000001</strCodInstitucion>|&<strCodInstitucion>BLOQUEADA</strCodInstitucion>|' \
  "$REQ" > "$T/dup.req"
n=$(heard_count)
soap_post $SERVICE "$T/dup.req" "$T/dup.xml" >/dev/null
case "$(xml_value "$T/dup.xml" faultcode)" in
  soap:Client.*) pass "duplicated strCodInstitucion: a Client Fault ($(xml_value "$T/dup.xml" faultcode))" ;;
  *) fail "duplicated strCodInstitucion: $(cat "$T/dup.xml")" ;;
esac
sleep 0.2
assert_eq "$n" "$(heard_count)" "duplicated strCodInstitucion: the register heard nothing"

# --- refusals and provider failures: Faults with stable codes, logged with 0002 ----------------
expect_fault() { # name file http fault [result-code]
  local status id
  status=$(soap_post $SERVICE "$2" "$T/$1.xml")
  assert_eq "$3" "$status" "$1: HTTP $3"
  assert_eq "soap:$4" "$(xml_value "$T/$1.xml" faultcode)" "$1: faultcode $4"
  id=$(exchange_id_of "$T/$1.xml")
  assert_eq "fault|$4|${5:--}" \
    "$(log_row "$id" "outcome, fault_code, coalesce(result_code,'-')")" "$1: logged as a fault"
}
request 12345678X "$T/invalid.req"
expect_fault schema-invalid "$T/invalid.req" 500 Client.SchemaInvalid
sed 's|<strTipoDocumento>CE<|<strTipoDocumento>DNI<|' "$REQ" > "$T/dni.req"
n=$(heard_count)
expect_fault not-ce "$T/dni.req" 500 Client.BadRequest
assert_eq "$n" "$(heard_count)" "not CE: the request stylesheet refused it before the register heard it"
request 999999999 "$T/maint.req"
expect_fault maintenance-503 "$T/maint.req" 500 Server.Provider.Unavailable 0002
request 888888888 "$T/truncated.req"
expect_fault truncated-json "$T/truncated.req" 500 Server.Provider.BadResponse 0002
request 777777777 "$T/shape.req"
expect_fault json-not-the-contract "$T/shape.req" 500 Server.Provider.BadResponse 0002
assert_contains "$T/gateway.log" "not valid by responseSchema" \
  "json-not-the-contract: the gateway log says the answer failed the contract's XSD"
sed 's|<pgw:memberCode>20000000001<|<pgw:memberCode>20000000002<|' "$REQ" > "$T/nogrant.req"
expect_fault no-grant "$T/nogrant.req" 500 Client.AccessDenied

# --- the register answers HTTP 500 to everything ------------------------------------------------
restart() { # sim options...
  kill "$MIGRACIONES_PID" 2>/dev/null || true; wait "$MIGRACIONES_PID" 2>/dev/null || true
  start_sim migraciones --verbose "$@"
  write_config
  kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
  start_gateway
}
restart --error-rate 1
expect_fault internal-500 "$REQ" 500 Server.Provider.Unavailable 0002

# --- slow register: 3 s against the service's 2 s timeout ------------------------------------------
restart --latency-ms 3000
start=$(date +%s%N)
expect_fault slow "$REQ" 500 Server.Provider.Timeout 0002
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed_ms" -lt 2900 ] && pass "slow: answered at the 2 s timeout (${elapsed_ms} ms)" \
  || fail "slow: took ${elapsed_ms} ms"

# --- a wrong path: the register's 404 RECURSO_NO_ENCONTRADO is no contract answer -----------------
restart
sed -i "s|http://127.0.0.1:$MIGRACIONES_PORT/api/v1/carnes\"|http://127.0.0.1:$MIGRACIONES_PORT/api/v1/carnets\"|" "$CONFIG"
grep -q "/api/v1/carnets\"" "$CONFIG" || fail "could not point the services at a wrong path"
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
start_gateway
expect_fault wrong-path-404 "$REQ" 500 Server.Provider.BadResponse 0002
assert_contains "$T/gateway.log" "RECURSO_NO_ENCONTRADO" "wrong-path-404: the stylesheet's reason is in the gateway log"

# --- register down ------------------------------------------------------------------------------
restart
kill "$MIGRACIONES_PID" 2>/dev/null || true; wait "$MIGRACIONES_PID" 2>/dev/null || true
expect_fault register-down "$REQ" 500 Server.Provider.Unavailable 0002

# --- python3-zeep, through the WSDL the gateway serves -----------------------------------------
restart
ZEEP_PY=""
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import zeep' 2>/dev/null; then ZEEP_PY=$py; break; fi
done
if [ -z "$ZEEP_PY" ]; then
  fail "zeep: no python3 with zeep (python3-zeep)"
elif "$ZEEP_PY" "$PIDE_SOURCE_DIR/tests/integration/zeep_migra_rest.py" --gateway "$GW_URL" \
       --wsdl-dir "$PIDE_SOURCE_DIR/wsdl" --schemas-dir "$PIDE_SOURCE_DIR/schemas" > "$T/zeep.out" 2>&1; then
  pass "zeep: consultarDocumento through the WSDL"
else
  fail "zeep: $(cat "$T/zeep.out")"
fi
cat "$T/zeep.out"

# --- pide-adapter-check with the samples --------------------------------------------------------
if (cd "$PIDE_SOURCE_DIR" && "$PIDE_BUILD_DIR/tools/pide-adapter-check" --endpoint "http://127.0.0.1:$MIGRACIONES_PORT/api/v1/carnes" \
     "$PIDE_BUILD_DIR/adapters/pide_adapter_xslt.so" conf/migraciones-rest/samples.xml) > "$T/check.out" 2>&1; then
  pass "pide-adapter-check: the xslt adapter passes conf/migraciones-rest/samples.xml"
else
  fail "pide-adapter-check: $(cat "$T/check.out")"
fi

# --- relative stylesheet and schema paths: the configuration file's folder, not the working
# directory (pide_host_api.config_dir). The working directory holds same-named files that would
# be refused, so the gateway starting and answering proves which folder was read.
mkdir -p "$T/cfg/rest" "$T/elsewhere/rest"
cp "$PIDE_SOURCE_DIR"/conf/migraciones-rest/carne-*.xsl "$XSD" "$T/cfg/rest/"
cp "$PIDE_SOURCE_DIR/tests/fixtures/xslt/document-passwd.xsl" "$T/elsewhere/rest/carne-response.xsl"
cp "$PIDE_SOURCE_DIR/tests/fixtures/xslt/document-passwd.xsl" "$T/elsewhere/rest/carne-request.xsl"
echo 'not a schema' > "$T/elsewhere/rest/migraciones-carne-rest.xsd"
sed -e "s|value=\"$PIDE_SOURCE_DIR/conf/migraciones-rest/|value=\"rest/|g" \
    -e "s|value=\"$PIDE_SOURCE_DIR/schemas/migraciones-carne-rest.xsd\"|value=\"rest/migraciones-carne-rest.xsd\"|" \
    "$CONFIG" > "$T/cfg/gateway.xml"
grep -q 'value="rest/carne-request.xsl"' "$T/cfg/gateway.xml" && grep -q 'value="rest/migraciones-carne-rest.xsd"' "$T/cfg/gateway.xml" \
  || fail "could not write the configuration with relative paths"
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
CONFIG="$T/cfg/gateway.xml"
cd "$T/elsewhere"   # (the whole test runs from here)
start_gateway
status=$(soap_post $SERVICE "$REQ" "$T/relative.xml")
assert_eq "200 0000" "$status $(xml_value "$T/relative.xml" strNumRespuesta)" \
  "relative paths: read from the configuration's folder while the gateway runs elsewhere"
CONFIG="$T/gateway.xml"

# --- a responseSchema that is not an XSD: refused at start, naming service and file -------------
sed "s|value=\"$PIDE_SOURCE_DIR/schemas/migraciones-carne-rest.xsd\"|value=\"$PIDE_SOURCE_DIR/conf/migraciones-rest/carne-request.xsl\"|" "$CONFIG" > "$T/badschema.xml"
set +e
timeout 20 "$GATEWAY_BIN" --config "$T/badschema.xml" --port-file "$T/badschema.port" > "$T/badschema.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && pass "bad responseSchema: the gateway refuses to start (exit $rc)" \
  || fail "bad responseSchema: exit $rc"
assert_contains "$T/badschema.out" "service $SERVICE: responseSchema $PIDE_SOURCE_DIR/conf/migraciones-rest/carne-request.xsl is not a usable XSD" \
  "bad responseSchema: the message names service and file"

finish
