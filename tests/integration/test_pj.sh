#!/usr/bin/env bash
# test_pj.sh — the Poder Judicial criminal-record check end to end: consumer request (gateway
# header identity, no password) through the real gateway, the pj adapter plugin, a pj-sim that
# accepts only calls signed by the gateway's CA, and PostgreSQL. Checks the answers (no record,
# records, not found), the response signature (xmlsec1 CLI), the searchable audit columns of the
# log row (subject, purpose, procedure, caller host/ip/user/mac), and each provider failure:
# garbage, slow, down, and a registry that does not trust the gateway's signing certificate.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
SERVICE=AntecedentesPenales

start_reniec_sim              # write_config's default endpoint is the RENIEC simulator's
start_sim pj --trusted-ca "$PKI/ca.pem"
PJ_FIXED_PORT=$PJ_PORT        # the simulator is restarted on this port for the failure cases
write_config
if ! grep -q "name=\"$SERVICE\"" "$CONFIG"; then
  fail "conf/demo.xml has no <service name=\"$SERVICE\">: the lead's demo.xml change is missing"
  finish
fi
assert_contains "$CONFIG" "http://127.0.0.1:$PJ_PORT/pj/antecedentes/v1" "config: pj endpoint points at this run's pj-sim"
# A short provider timeout keeps the slow case fast; the rest is demo.xml as shipped.
sed -i "/\/pj\/antecedentes\/v1/s/timeoutMs=\"[0-9]*\"/timeoutMs=\"1000\"/" "$CONFIG"
start_gateway

# row ID COLUMNS...: the log row's columns, '|'-separated.
row() { local id=$1; shift; log_sql "select $* from exchange_log where exchange_id = '$id'"; }
verifies() { xmlsec1 --verify --trusted-pem "$PKI/ca.pem" "$1" >/dev/null 2>&1; }

# --- no record ----------------------------------------------------------------------------------
status=$(soap_post $SERVICE "$EX/pj-verificar.xml" "$T/none.xml")
assert_eq 200 "$status" "no record: HTTP 200"
assert_eq 0000 "$(xml_value "$T/none.xml" coResultado)" "no record: coResultado 0000"
assert_eq 45678912 "$(xml_value "$T/none.xml" xDni)" "no record: xDni"
assert_eq 0 "$(xmllint --xpath "count(//*[local-name()='antecedente'])" "$T/none.xml")" "no record: no antecedente"
if verifies "$T/none.xml"; then pass "no record: response signature verifies with xmlsec1"
else fail "no record: xmlsec1 --verify rejected the response"; fi
sed 's/<coResultado>0000</<coResultado>0001</' "$T/none.xml" > "$T/tampered.xml"
if verifies "$T/tampered.xml"; then fail "tampered response still verifies"
else pass "tampered response fails verification"; fi
id=$(exchange_id_of "$T/none.xml")
assert_eq "20000000001|11111111|AntecedentesPenales|verificarAntecedentesPenales|pj|DNI|45678912|ok|0000|200" \
  "$(row "$id" client_member, client_user, service, operation, adapter, subject_type, subject_id, outcome, result_code, http_status)" \
  "no record: log row identity, subject and outcome"
assert_eq "PROCESO DE SELECCION DE PERSONAL CAS|CAS-012-2024-DEMO" "$(row "$id" purpose, procedure)" \
  "no record: purpose and procedure logged as columns"
assert_eq "PC-RRHH-07|192.168.10.27|jperez|00:1A:2B:3C:4D:5E" \
  "$(row "$id" caller_host, caller_ip, caller_user, caller_mac)" "no record: caller audit columns"
found=$(log_sql "select exchange_id from exchange_log where purpose = 'PROCESO DE SELECCION DE PERSONAL CAS'
                 and procedure = 'CAS-012-2024-DEMO' and subject_id = '45678912' and caller_ip = '192.168.10.27'")
grep -qx "$id" <<<"$found" && pass "no record: the row is found by purpose, procedure, subject and caller IP" \
  || fail "no record: searching by purpose, procedure, subject and caller IP does not find $id"

# --- records --------------------------------------------------------------------------------------
status=$(soap_post $SERVICE "$EX/pj-verificar-con-antecedentes.xml" "$T/one.xml")
assert_eq 200 "$status" "one record: HTTP 200"
assert_eq 0001 "$(xml_value "$T/one.xml" coResultado)" "one record: coResultado 0001"
assert_eq 1 "$(xmllint --xpath "count(//*[local-name()='antecedente'])" "$T/one.xml")" "one record: one antecedente"
for f in xOrganoJurisdiccional xNumeroExpediente xDelito fSentencia xSituacion; do
  [ -n "$(xml_value "$T/one.xml" $f)" ] && pass "one record: $f present" || fail "one record: $f empty"
done
verifies "$T/one.xml" && pass "one record: signature verifies" || fail "one record: signature"
assert_eq "DNI|66666666|0001" "$(row "$(exchange_id_of "$T/one.xml")" subject_type, subject_id, result_code)" \
  "one record: logged"

sed 's|<xDni>66666666</xDni>|<xDni>77777777</xDni>|' "$EX/pj-verificar-con-antecedentes.xml" > "$T/several.req"
soap_post $SERVICE "$T/several.req" "$T/several.xml" >/dev/null
n=$(xmllint --xpath "count(//*[local-name()='antecedente'])" "$T/several.xml")
[ "$n" -ge 2 ] && [ "$n" -le 4 ] && pass "several records: $n antecedentes" || fail "several records: $n antecedentes"

# --- not found, invalid --------------------------------------------------------------------------
status=$(soap_post $SERVICE "$EX/pj-verificar-no-existe.xml" "$T/ne.xml")
assert_eq 200 "$status" "not found: HTTP 200"
assert_eq 0002 "$(xml_value "$T/ne.xml" coResultado)" "not found: coResultado 0002"
assert_eq "ok|0002" "$(row "$(exchange_id_of "$T/ne.xml")" outcome, result_code)" "not found: logged"

status=$(soap_post $SERVICE "$EX/pj-verificar-invalido.xml" "$T/invalid.xml")
assert_eq 500 "$status" "invalid DNI: HTTP 500"
assert_eq "soap:Client.SchemaInvalid" "$(xml_value "$T/invalid.xml" faultcode)" "invalid DNI: Client.SchemaInvalid"

# --- provider failures ----------------------------------------------------------------------------
expect_provider_fault() { # name request fault-code
  local status id
  status=$(soap_post $SERVICE "$2" "$T/$1.xml")
  assert_eq 500 "$status" "$1: HTTP 500"
  assert_eq "soap:$3" "$(xml_value "$T/$1.xml" faultcode)" "$1: faultcode $3"
  id=$(exchange_id_of "$T/$1.xml")
  assert_eq "fault|$3|0999|45678912" "$(row "$id" outcome, fault_code, result_code, subject_id)" \
    "$1: logged as a fault with result code 0999"
  verifies "$T/$1.xml" && pass "$1: the Fault is signed" || fail "$1: the Fault does not verify"
}
restart_pj() { # pj-sim options...: a new pj-sim on the port the gateway is configured with
  kill "$PJ_PID" 2>/dev/null || true   # may be stopped already
  wait "$PJ_PID" 2>/dev/null || true
  start_sim pj --port "$PJ_FIXED_PORT" "$@"
}

sed 's|<xDni>45678912</xDni>|<xDni>88888888</xDni>|' "$EX/pj-verificar.xml" > "$T/garbage.req"
status=$(soap_post $SERVICE "$T/garbage.req" "$T/garbage.xml")
assert_eq "soap:Server.Provider.BadResponse" "$(xml_value "$T/garbage.xml" faultcode)" "garbage: Server.Provider.BadResponse"
assert_eq "fault|0999|88888888" "$(row "$(exchange_id_of "$T/garbage.xml")" outcome, result_code, subject_id)" \
  "garbage: logged as a fault with result code 0999"

restart_pj --trusted-ca "$PKI/ca.pem" --latency-ms 2500
expect_provider_fault slow "$EX/pj-verificar.xml" Server.Provider.Timeout

kill "$PJ_PID"; wait "$PJ_PID" 2>/dev/null || true
expect_provider_fault down "$EX/pj-verificar.xml" Server.Provider.Unavailable

# A registry that does not trust the gateway's CA: the gateway's configuration is at fault.
restart_pj --trusted-ca "$PKI/other-ca.pem"
expect_provider_fault untrusted "$EX/pj-verificar.xml" Server.Adapter
assert_contains "$T/gateway.log" "refused the gateway's signature" "untrusted: the operator log says why"

# --- the WSDL is served and wsdl2h accepts it -----------------------------------------------------
curl -s -o "$T/served.wsdl" "$GW_URL/services/$SERVICE?wsdl"
cmp -s "$T/served.wsdl" "$PIDE_SOURCE_DIR/wsdl/$SERVICE.wsdl" && pass "?wsdl returns wsdl/$SERVICE.wsdl" \
  || fail "?wsdl did not return wsdl/$SERVICE.wsdl"
if command -v wsdl2h >/dev/null; then
  (cd "$T" && wsdl2h -c -o pj-wsdl.h "$PIDE_SOURCE_DIR/wsdl/$SERVICE.wsdl" >/dev/null 2>&1) \
    && grep -q xDniPersonaConsultante "$T/pj-wsdl.h" && pass "wsdl2h -c accepts the WSDL" \
    || fail "wsdl2h -c failed on the WSDL"
fi

finish
