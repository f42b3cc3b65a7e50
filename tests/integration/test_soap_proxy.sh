#!/usr/bin/env bash
# test_soap_proxy.sh — JnePadronElectoral, a SOAP 1.2 register published by configuration only
# (the soap-proxy adapter, conf/demo.xml, wsdl/JnePadronElectoral.wsdl), end to end through the
# real gateway, jne-sim and PostgreSQL: the answer renamed back into the contract and valid by its
# XSD; the log row's subject and purpose from the configured XPath; the register hears the
# authenticated member (also where the configuration forgot the identityField); the register in
# SOAP 1.1 mode; a register demanding WS-Security accepts the signed call and refuses unsigned and
# foreign-signed ones (Server.Adapter); an answer outside the register's XSD, a Fault, garbage, a
# slow and a stopped register as their stable Faults, logged; python3-zeep through the WSDL;
# pide-adapter-check with adapters/soap-proxy/samples.xml; hostile configurations refused at
# start naming file and line.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
SERVICE=JnePadronElectoral
XSD="$PIDE_SOURCE_DIR/schemas/jne-padron-electoral.xsd"
JNE_TNS="http://ws.pide-gateway.org/jne/"

start_sim jne
write_config
grep -q "name=\"$SERVICE\"" "$CONFIG" || { fail "conf/demo.xml has no $SERVICE"; finish; }
BASE_CONFIG="$T/base.xml"
cp "$CONFIG" "$BASE_CONFIG"
start_gateway

log_row() { log_sql "select $2 from exchange_log where exchange_id = '$1'"; }
# request DNI OUT [RUC]: the documented example with another DNI (and consulting RUC)
request() {
  sed -e "s|<numeroDni>45678912</numeroDni>|<numeroDni>$1</numeroDni>|" \
      -e "s|<rucEntidad>20000000001</rucEntidad>|<rucEntidad>${3:-20000000001}</rucEntidad>|" \
      "$EX/jne-consultarPadron.xml" > "$2"
}
# payload_valid ANSWER: the consultarPadronResponse validates against the contract's XSD
payload_valid() {
  python3 - "$1" "$T/payload.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
body = ET.parse(sys.argv[1]).getroot().find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
ET.ElementTree(next(iter(body))).write(sys.argv[2], xml_declaration=True, encoding="UTF-8")
PY
  xmllint --noout --schema "$XSD" "$T/payload.xml" >/dev/null 2>&1
}
# restart_gateway CONFIG: the gateway again, with another configuration
restart_gateway() {
  kill "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null || true
  CONFIG=$1
  start_gateway
}
# with_params OUT sed-expressions...: the base configuration with the JNE service edited
with_params() {
  local out=$1; shift
  sed "$@" "$BASE_CONFIG" > "$out"
}
jne_param() { # NAME VALUE: a <param> line added to the JNE service
  printf '%s' "/<param name=\"operations\" value=\"consultarPadron\"\\/>/a\\      <param name=\"$1\" value=\"$2\"\\/>"
}

# --- found: renamed there and back, valid, logged with subject and purpose --------------------
status=$(soap_post $SERVICE "$EX/jne-consultarPadron.xml" "$T/found.xml")
assert_eq 200 "$status" "found: HTTP 200"
assert_eq 0000 "$(xml_value "$T/found.xml" codigo)" "found: codigo 0000"
assert_eq 45678912 "$(xml_value "$T/found.xml" numeroDni)" "found: elector numeroDni"
[ -n "$(xml_value "$T/found.xml" mesa)" ] && pass "found: mesa present" || fail "found: mesa empty"
assert_eq "$JNE_TNS consultarPadronResponse" \
  "$(xmllint --xpath 'concat(namespace-uri(//*[local-name()="Body"]/*), " ", local-name(//*[local-name()="Body"]/*))' "$T/found.xml")" \
  "renaming: the register's ConsultaElectorRespuesta comes back as the contract's consultarPadronResponse"
assert_not_contains "$T/found.xml" "urn:jne:padron:v1" "renaming: no trace of the register's namespace in the answer"
payload_valid "$T/found.xml" && pass "found: the answer is valid by jne-padron-electoral.xsd" \
  || fail "found: the answer is not valid by the XSD"
if xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/found.xml" >/dev/null 2>&1; then
  pass "found: xmlsec1 --verify accepts the response signature"
else
  fail "found: the response signature does not verify"
fi
id=$(exchange_id_of "$T/found.xml")
assert_eq "20000000001|$SERVICE|consultarPadron|soap_proxy|DNI|45678912|ok|-|0000|200" \
  "$(log_row "$id" "client_member, service, operation, adapter, subject_type, subject_id,
                   outcome, coalesce(fault_code,'-'), result_code, http_status")" \
  "found: log row (subject DNI from subjectXPath, result code from resultCodeXPath)"
assert_eq "Verificación de domicilio electoral, expediente 2026-0412" "$(log_row "$id" purpose)" \
  "found: purpose from purposeXPath logged"
# The register heard the authenticated member, in SOAP 1.2, unsigned (not required here).
assert_contains "$T/jne.log" "SOAP 1.2 rucEntidad=20000000001 signed=not-required" \
  "found: the register heard SOAP 1.2 and the authenticated member"
assert_eq 20000000001 "$(xml_value "$T/found.xml" rucEntidad)" "found: the answer names the member the register heard"

status=$(soap_post $SERVICE "$EX/jne-consultarPadron-no-figura.xml" "$T/nf.xml")
assert_eq "200 0001" "$status $(xml_value "$T/nf.xml" codigo)" "not on the register: codigo 0001"
payload_valid "$T/nf.xml" && pass "not on the register: valid by the XSD" || fail "not on the register: invalid"

# --- refusals and provider failures: stable Faults, logged ----------------------------------------
expect_fault() { # name file http fault
  local status id
  status=$(soap_post $SERVICE "$2" "$T/$1.xml")
  assert_eq "$3" "$status" "$1: HTTP $3"
  assert_eq "soap:$4" "$(xml_value "$T/$1.xml" faultcode)" "$1: faultcode $4"
  id=$(exchange_id_of "$T/$1.xml")
  assert_eq "fault|$4" "$(log_row "$id" "outcome, fault_code")" "$1: logged as a fault"
}
expect_fault schema-invalid "$EX/jne-consultarPadron-invalido.xml" 500 Client.SchemaInvalid
request 45678912 "$T/other-ruc.req" 20999999999
expect_fault identity-mismatch "$T/other-ruc.req" 403 Client.IdentityMismatch
request 99999990 "$T/fault.req"
expect_fault register-fault "$T/fault.req" 500 Server.Provider.Unavailable
assert_contains "$T/gateway.log" "provider answered a SOAP Fault (HTTP 500): ORA-12541" \
  "register-fault: the register's reason is in the gateway log"
request 99999992 "$T/badshape.req"
expect_fault outside-xsd "$T/badshape.req" 500 Server.Provider.BadResponse
assert_contains "$T/gateway.log" "not valid by responseSchema" "outside-xsd: the reason is in the gateway log"
id=$(exchange_id_of "$T/outside-xsd.xml")
assert_eq "DNI|99999992" "$(log_row "$id" "subject_type, subject_id")" "outside-xsd: logged with its subject"
request 99999991 "$T/garbage.req"
expect_fault garbage "$T/garbage.req" 500 Server.Provider.BadResponse
# Hostile answers: an external entity, two answers in one Body, the other SOAP version.
for case in 99999994:xxe 99999995:two-answers 99999996:other-version; do
  request "${case%%:*}" "$T/${case#*:}.req"
  expect_fault "${case#*:}" "$T/${case#*:}.req" 500 Server.Provider.BadResponse
  assert_not_contains "$T/${case#*:}.xml" "root:" "${case#*:}: nothing of /etc/passwd in the Fault"
done
request 99999993 "$T/slow.req"
start=$(date +%s%N)
expect_fault slow "$T/slow.req" 500 Server.Provider.Timeout
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
# The register answers after 5 s: an answer well before that is the 2 s timeout's (the margin
# absorbs a loaded test machine).
[ "$elapsed_ms" -lt 4500 ] && pass "slow: answered at the 2 s timeout, before the register (${elapsed_ms} ms)" \
  || fail "slow: took ${elapsed_ms} ms"

# --- who asked is one fact: without the identityField, memberElement still tells the truth ------
with_params "$T/no-binding.xml" -e '/<identityField element="rucEntidad"/d'
restart_gateway "$T/no-binding.xml"
lines_before=$(wc -l < "$T/jne.log")
status=$(soap_post $SERVICE "$T/other-ruc.req" "$T/spoof.xml")
assert_eq 200 "$status" "spoofed rucEntidad without identityField: answered"
assert_eq 20000000001 "$(xml_value "$T/spoof.xml" rucEntidad)" \
  "spoofed rucEntidad without identityField: the register heard the authenticated member"
tail -n +"$((lines_before + 1))" "$T/jne.log" > "$T/jne.spoof.log"
assert_not_contains "$T/jne.spoof.log" "20999999999" "spoofed rucEntidad: the register never heard 20999999999"
id=$(exchange_id_of "$T/spoof.xml")
assert_eq 20000000001 "$(log_row "$id" client_member)" "spoofed rucEntidad: the log names the same member"

# --- the register in SOAP 1.1 mode ----------------------------------------------------------------
kill "$JNE_PID" 2>/dev/null; wait "$JNE_PID" 2>/dev/null || true
start_sim jne --soap11
write_config
cp "$CONFIG" "$BASE_CONFIG"
with_params "$T/soap11.xml" -e 's|<param name="soapVersion" value="1.2"/>|<param name="soapVersion" value="1.1"/>|'
restart_gateway "$T/soap11.xml"
status=$(soap_post $SERVICE "$EX/jne-consultarPadron.xml" "$T/found11.xml")
assert_eq "200 0000" "$status $(xml_value "$T/found11.xml" codigo)" "SOAP 1.1 register: codigo 0000"
assert_contains "$T/jne.log" "SOAP 1.1 rucEntidad=20000000001" "SOAP 1.1 register: it heard SOAP 1.1"
payload_valid "$T/found11.xml" && pass "SOAP 1.1 register: valid by the XSD" || fail "SOAP 1.1 register: invalid"
expect_fault register-fault-11 "$T/fault.req" 500 Server.Provider.Unavailable

# --- a register that demands WS-Security ---------------------------------------------------------
kill "$JNE_PID" 2>/dev/null; wait "$JNE_PID" 2>/dev/null || true
start_sim jne --require-wss "$PIDE_TEST_PKI_DIR/ca.pem"
write_config
cp "$CONFIG" "$BASE_CONFIG"
restart_gateway "$BASE_CONFIG"
expect_fault unsigned "$EX/jne-consultarPadron.xml" 500 Server.Adapter
assert_contains "$T/jne.log" "refused: se requiere una firma WS-Security" "unsigned: the register refused it"
assert_contains "$T/gateway.log" "the provider refuses the gateway's credentials" "unsigned: the operator is told why"
with_params "$T/signed.xml" \
  -e "$(jne_param wssSigningKey "$PIDE_TEST_PKI_DIR/gateway-sign.key")" \
  -e "$(jne_param wssSigningCertificate "$PIDE_TEST_PKI_DIR/gateway-sign.pem")"
restart_gateway "$T/signed.xml"
status=$(soap_post $SERVICE "$EX/jne-consultarPadron.xml" "$T/signed.out")
assert_eq "200 0000" "$status $(xml_value "$T/signed.out" codigo)" "signed: the register accepts the WS-Security signed call"
assert_contains "$T/jne.log" "SOAP 1.2 rucEntidad=20000000001 signed=yes" "signed: the register verified the signature"
with_params "$T/rogue.xml" \
  -e "$(jne_param wssSigningKey "$PIDE_TEST_PKI_DIR/rogue-client.key")" \
  -e "$(jne_param wssSigningCertificate "$PIDE_TEST_PKI_DIR/rogue-client.pem")"
restart_gateway "$T/rogue.xml"
expect_fault foreign-signer "$EX/jne-consultarPadron.xml" 500 Server.Adapter
assert_contains "$T/jne.log" "refused: certificado no confiable" "foreign-signer: the register refused the foreign CA's signature"

# --- the register stopped -------------------------------------------------------------------------
restart_gateway "$T/signed.xml"
kill "$JNE_PID" 2>/dev/null; wait "$JNE_PID" 2>/dev/null || true
expect_fault register-down "$EX/jne-consultarPadron.xml" 500 Server.Provider.Unavailable

# --- python3-zeep, through the WSDL the gateway serves ----------------------------------------------
start_sim jne
write_config
cp "$CONFIG" "$BASE_CONFIG"
restart_gateway "$CONFIG"
ZEEP_PY=""
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import zeep' 2>/dev/null; then ZEEP_PY=$py; break; fi
done
if [ -z "$ZEEP_PY" ]; then
  fail "zeep: no python3 with zeep (python3-zeep)"
elif "$ZEEP_PY" "$PIDE_SOURCE_DIR/tests/integration/zeep_jne.py" --gateway "$GW_URL" \
       --wsdl-dir "$PIDE_SOURCE_DIR/wsdl" --schemas-dir "$PIDE_SOURCE_DIR/schemas" > "$T/zeep.out" 2>&1; then
  pass "zeep: consultarPadron through the WSDL, SOAP 1.1 and 1.2 bindings"
else
  fail "zeep: $(cat "$T/zeep.out")"
fi
cat "$T/zeep.out"

# --- pide-adapter-check with the samples ------------------------------------------------------------
if (cd "$PIDE_SOURCE_DIR" && "$PIDE_BUILD_DIR/tools/pide-adapter-check" --endpoint "http://127.0.0.1:$JNE_PORT/jne/padron/v1" \
     "$PIDE_BUILD_DIR/adapters/pide_adapter_soap_proxy.so" adapters/soap-proxy/samples.xml) > "$T/check.out" 2>&1; then
  pass "pide-adapter-check: the soap-proxy adapter passes adapters/soap-proxy/samples.xml"
else
  fail "pide-adapter-check: $(cat "$T/check.out")"
fi

# --- hostile configurations: the gateway refuses to start, naming the file and line ---------------
hostile() { # name expected-text sed-expressions...
  local name=$1 expected=$2; shift 2
  local cfg="$T/hostile-$name.xml" rc
  with_params "$cfg" "$@"
  set +e
  timeout 20 "$GATEWAY_BIN" --config "$cfg" --port-file "$T/hostile.port" > "$T/hostile-$name.out" 2>&1
  rc=$?
  set -e
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && pass "hostile $name: the gateway refuses to start (exit $rc)" \
    || fail "hostile $name: exit $rc"
  assert_contains "$T/hostile-$name.out" "$expected" "hostile $name: the message says why"
  grep -qE "$cfg:[0-9]+: service '$SERVICE'" "$T/hostile-$name.out" \
    && pass "hostile $name: file:line of the service named" || fail "hostile $name: no $cfg:<line>: service '$SERVICE' in $(cat "$T/hostile-$name.out")"
}
hostile bad-xpath "parameter subjectXPath '/jne:consultarPadron/numeroDni[' is not an XPath 1.0 expression" \
  -e 's|value="/jne:consultarPadron/numeroDni"|value="/jne:consultarPadron/numeroDni["|'
hostile unknown-prefix "parameter purposeXPath '/x:consultarPadron/motivo' is not an XPath 1.0 expression (undefined namespace prefix" \
  -e 's|value="/jne:consultarPadron/motivo"|value="/x:consultarPadron/motivo"|'
hostile missing-schema "responseSchema $PIDE_SOURCE_DIR/schemas/no-such.xsd: cannot read it" \
  -e "s|schemas/jne-padron-proveedor.xsd|schemas/no-such.xsd|"
hostile not-a-schema "is not a usable XSD" \
  -e "s|$PIDE_SOURCE_DIR/schemas/jne-padron-proveedor.xsd|$PIDE_SOURCE_DIR/wsdl/JnePadronElectoral.wsdl|"
hostile soap-version "soapVersion '1.3' is not one of 1.1, 1.2" \
  -e 's|<param name="soapVersion" value="1.2"/>|<param name="soapVersion" value="1.3"/>|'
hostile bad-endpoint "endpoint url 'htp://127.0.0.1/jne'" \
  -e "s|url=\"http://127.0.0.1:$JNE_PORT/jne/padron/v1\"|url=\"htp://127.0.0.1/jne\"|"
hostile rename-not-reversible "a name appears in two pairs" \
  -e 's|value="consultarPadron=ConsultaElector consultarPadronResponse=ConsultaElectorRespuesta"|value="consultarPadron=ConsultaElector x=consultarPadron"|'
hostile wss-key-alone "wssSigningKey and wssSigningCertificate go together" \
  -e "$(jne_param wssSigningKey "$PIDE_TEST_PKI_DIR/gateway-sign.key")"
hostile wss-key-missing "the WS-Security signing key for its provider cannot be used" \
  -e "$(jne_param wssSigningKey "$T/no-such.key")" \
  -e "$(jne_param wssSigningCertificate "$PIDE_TEST_PKI_DIR/gateway-sign.pem")"
hostile bad-namespaces "parameter xpathNamespaces 'jne': each entry must be prefix=URI" \
  -e 's|value="jne=http://ws.pide-gateway.org/jne/"|value="jne"|'

finish
