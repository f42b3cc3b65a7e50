#!/usr/bin/env bash
# test_sunat.sh — SunatConsultaRuc, a service published by configuration only (the xslt adapter
# with conf/sunat/*.xsl, wsdl/SunatConsultaRuc.wsdl), end to end through the real gateway,
# sunat-sim (Axis 1 RPC/encoded) and PostgreSQL: found / not found / invalid RUC / BAJA /
# NO HABIDO answers valid by the contract's XSD and signed; the log row with subject RUC, purpose
# and result code; SUNAT down, a Fault, garbage, a dangling multiRef and a slow SUNAT as their
# Faults; python3-zeep calling through the WSDL the gateway serves; pide-adapter-check on the
# xslt adapter with conf/sunat/samples.xml; and hostile stylesheets refused at start, naming the
# service, the file and the line.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
SERVICE=SunatConsultaRuc
XSD="$PIDE_SOURCE_DIR/schemas/sunat-consulta-ruc.xsd"

start_sim sunat
write_config
grep -q "name=\"$SERVICE\"" "$CONFIG" || { fail "conf/demo.xml has no $SERVICE"; finish; }
start_gateway

log_row() { log_sql "select $2 from exchange_log where exchange_id = '$1'"; }
# request RUC OUT: the documented example with another RUC
request() { sed "s|<numRuc>20100070970</numRuc>|<numRuc>$1</numRuc>|" "$EX/sunat-getDatosPrincipales.xml" > "$2"; }
# valid_by_contract ANSWER: the getDatosPrincipalesResponse validates against the XSD
valid_by_contract() {
  python3 - "$1" "$T/payload.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
body = ET.parse(sys.argv[1]).getroot().find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
ET.ElementTree(next(iter(body))).write(sys.argv[2], xml_declaration=True, encoding="UTF-8")
PY
  xmllint --noout --schema "$XSD" "$T/payload.xml" >/dev/null 2>&1
}

# --- found ------------------------------------------------------------------------------------
status=$(soap_post $SERVICE "$EX/sunat-getDatosPrincipales.xml" "$T/found.xml")
assert_eq 200 "$status" "found: HTTP 200"
assert_eq 0000 "$(xml_value "$T/found.xml" coResultado)" "found: coResultado 0000"
assert_eq 20100070970 "$(xml_value "$T/found.xml" ddp_numruc)" "found: ddp_numruc"
assert_eq ACTIVO "$(xml_value "$T/found.xml" desc_estado)" "found: desc_estado ACTIVO"
assert_eq HABIDO "$(xml_value "$T/found.xml" desc_flag22)" "found: desc_flag22 HABIDO"
assert_eq true "$(xml_value "$T/found.xml" esActivo)" "found: esActivo"
for f in ddp_nombre ddp_ubigeo desc_dep desc_prov desc_dist ddp_ciiu desc_ciiu ddp_fecalt; do
  [ -n "$(xml_value "$T/found.xml" $f)" ] && pass "found: $f present" || fail "found: $f empty"
done
valid_by_contract "$T/found.xml" && pass "found: the answer is valid by sunat-consulta-ruc.xsd" \
  || fail "found: the answer is not valid by the XSD"
# The razón social is SUNAT's for this RUC, read from SUNAT's own multiRef.
sim_name=$(curl -s -H 'Content-Type: text/xml' -H 'SOAPAction: ""' --data-binary \
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ser="http://ws.registro.servicio.sunat.gob.pe"><soapenv:Body><ser:getDatosPrincipales><numRuc>20100070970</numRuc></ser:getDatosPrincipales></soapenv:Body></soapenv:Envelope>' \
  "http://127.0.0.1:$SUNAT_PORT/axis/services/ConsultaRuc" | xmllint --xpath 'string(//multiRef/ddp_nombre)' -)
assert_eq "$sim_name" "$(xml_value "$T/found.xml" ddp_nombre)" "found: ddp_nombre is SUNAT's (from the multiRef)"
if xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/found.xml" >/dev/null 2>&1; then
  pass "found: xmlsec1 --verify accepts the response signature"
else
  fail "found: the response signature does not verify"
fi
id=$(exchange_id_of "$T/found.xml")
assert_eq "20000000001|11111111|$SERVICE|getDatosPrincipales|xslt|RUC|20100070970|ok|-|0000|200" \
  "$(log_row "$id" "client_member, client_user, service, operation, adapter, subject_type, subject_id,
                   outcome, coalesce(fault_code,'-'), result_code, http_status")" \
  "found: log row (subject RUC, result code from the translated answer)"
assert_eq "Verificación de proveedor en proceso de contratación" "$(log_row "$id" purpose)" \
  "found: purpose logged"

# --- business answers -------------------------------------------------------------------------
answer() { # name file code [field value]
  local status id
  status=$(soap_post $SERVICE "$2" "$T/$1.xml")
  assert_eq 200 "$status" "$1: HTTP 200"
  assert_eq "$3" "$(xml_value "$T/$1.xml" coResultado)" "$1: coResultado $3"
  valid_by_contract "$T/$1.xml" && pass "$1: valid by the XSD" || fail "$1: not valid by the XSD"
  [ -z "${4:-}" ] || assert_eq "$5" "$(xml_value "$T/$1.xml" "$4")" "$1: $4 = $5"
  id=$(exchange_id_of "$T/$1.xml")
  assert_eq "ok|RUC|$(xmllint --xpath 'string(//numRuc)' "$2")|$3" \
    "$(log_row "$id" "outcome, subject_type, subject_id, result_code")" "$1: logged with subject and result"
}
answer not-found "$EX/sunat-getDatosPrincipales-no-existe.xml" 0001 ddp_numruc ""
answer baja "$EX/sunat-getDatosPrincipales-baja.xml" 0003 desc_estado "BAJA DEFINITIVA"
assert_eq 2021-06-30 "$(xml_value "$T/baja.xml" ddp_fecbaj)" "baja: ddp_fecbaj"
assert_eq false "$(xml_value "$T/baja.xml" esActivo)" "baja: esActivo false"
answer no-habido "$EX/sunat-getDatosPrincipales-no-habido.xml" 0004 desc_flag22 "NO HABIDO"
request 20100070971 "$T/badcheck.req"
answer bad-check-digit "$T/badcheck.req" 0002
request 10456789124 "$T/persona.req"
answer persona-natural "$T/persona.req" 0000 desc_identi "PERSONA NATURAL"

# --- refusals and provider failures: Faults with stable codes, logged with 0999 ----------------
expect_fault() { # name file http fault [result-code]
  local status id
  status=$(soap_post $SERVICE "$2" "$T/$1.xml")
  assert_eq "$3" "$status" "$1: HTTP $3"
  assert_eq "soap:$4" "$(xml_value "$T/$1.xml" faultcode)" "$1: faultcode $4"
  id=$(exchange_id_of "$T/$1.xml")
  assert_eq "fault|$4|${5:--}" \
    "$(log_row "$id" "outcome, fault_code, coalesce(result_code,'-')")" "$1: logged as a fault"
}
expect_fault schema-invalid "$EX/sunat-getDatosPrincipales-invalido.xml" 500 Client.SchemaInvalid
request 20666666667 "$T/dbdown.req"
expect_fault sunat-fault "$T/dbdown.req" 500 Server.Provider.Unavailable 0999
request 20555555556 "$T/garbage.req"
expect_fault sunat-garbage "$T/garbage.req" 500 Server.Provider.BadResponse 0999
request 20444444445 "$T/brokenref.req"
expect_fault dangling-multiref "$T/brokenref.req" 500 Server.Provider.BadResponse 0999
assert_contains "$T/gateway.log" "does not lead to one BeanDdp" "dangling-multiref: the stylesheet's reason is in the gateway log"
request 20333333334 "$T/slow.req"
start=$(date +%s%N)
expect_fault slow "$T/slow.req" 500 Server.Provider.Timeout 0999
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed_ms" -lt 2900 ] && pass "slow: answered at the 2 s timeout (${elapsed_ms} ms)" \
  || fail "slow: took ${elapsed_ms} ms"
# A member without a grant, and an operation the service does not serve.
sed 's|<pgw:memberCode>20000000001<|<pgw:memberCode>20000000002<|' "$EX/sunat-getDatosPrincipales.xml" > "$T/nogrant.req"
status=$(soap_post $SERVICE "$T/nogrant.req" "$T/nogrant.xml")
assert_eq soap:Client.AccessDenied "$(xml_value "$T/nogrant.xml" faultcode)" "no grant: Client.AccessDenied"

# The schema's response element, sent as if it were an operation: valid by the XSD, but granted to
# nobody (the grant names getDatosPrincipales) — refused before SUNAT hears anything. With a "*"
# grant the adapter refuses it (Client.BadRequest: check_xslt_adapter).
python3 - "$EX/sunat-getDatosPrincipales.xml" "$T/as-response.req" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
s = s.replace("<sun:getDatosPrincipales>\n      <numRuc>20100070970</numRuc>\n    </sun:getDatosPrincipales>",
              "<sun:getDatosPrincipalesResponse><return><coResultado>0000</coResultado>"
              "<deResultado>x</deResultado></return></sun:getDatosPrincipalesResponse>")
open(sys.argv[2], "w", encoding="utf-8").write(s)
PY
grep -q getDatosPrincipalesResponse "$T/as-response.req" || fail "could not build the as-response request"
expect_fault response-as-operation "$T/as-response.req" 500 Client.AccessDenied

# The metaservices list the operations the service's configuration names (the adapter says "*").
for m in listMethods allowedMethods; do
  sed 's|>ReniecConsultaDni<|>SunatConsultaRuc<|' "$EX/meta-$m.xml" > "$T/meta-$m.req"
  soap_post meta "$T/meta-$m.req" "$T/meta-$m.xml" >/dev/null
  assert_eq getDatosPrincipales "$(xmllint --xpath '//*[local-name()="method"]/text()' "$T/meta-$m.xml")" \
    "meta $m: getDatosPrincipales"
done

kill "$SUNAT_PID" 2>/dev/null; wait "$SUNAT_PID" 2>/dev/null || true
expect_fault sunat-down "$EX/sunat-getDatosPrincipales.xml" 500 Server.Provider.Unavailable 0999

# --- python3-zeep, through the WSDL the gateway serves -----------------------------------------
start_sim sunat
write_config
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
start_gateway
ZEEP_PY=""
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import zeep' 2>/dev/null; then ZEEP_PY=$py; break; fi
done
if [ -z "$ZEEP_PY" ]; then
  fail "zeep: no python3 with zeep (python3-zeep)"
elif "$ZEEP_PY" "$PIDE_SOURCE_DIR/tests/integration/zeep_sunat.py" --gateway "$GW_URL" \
       --wsdl-dir "$PIDE_SOURCE_DIR/wsdl" --schemas-dir "$PIDE_SOURCE_DIR/schemas" > "$T/zeep.out" 2>&1; then
  pass "zeep: getDatosPrincipales through the WSDL"
else
  fail "zeep: $(cat "$T/zeep.out")"
fi
cat "$T/zeep.out"

# --- pide-adapter-check with the samples --------------------------------------------------------
if (cd "$PIDE_SOURCE_DIR" && "$PIDE_BUILD_DIR/tools/pide-adapter-check" --endpoint "http://127.0.0.1:$SUNAT_PORT/axis/services/ConsultaRuc" \
     "$PIDE_BUILD_DIR/adapters/pide_adapter_xslt.so" conf/sunat/samples.xml) > "$T/check.out" 2>&1; then
  pass "pide-adapter-check: the xslt adapter passes conf/sunat/samples.xml"
else
  fail "pide-adapter-check: $(cat "$T/check.out")"
fi

# --- hostile stylesheets: the gateway refuses to start, naming service, file and line ---------
hostile() { # fixture expected-text
  local cfg="$T/hostile-$1.xml"
  sed "s|$PIDE_SOURCE_DIR/conf/sunat/sunat-response.xsl|$PIDE_SOURCE_DIR/tests/fixtures/xslt/$1|" "$CONFIG" > "$cfg"
  set +e
  timeout 20 "$GATEWAY_BIN" --config "$cfg" --port-file "$T/hostile.port" > "$T/hostile.out" 2>&1
  local rc=$?
  set -e
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && pass "hostile $1: the gateway refuses to start (exit $rc)" \
    || fail "hostile $1: exit $rc"
  assert_contains "$T/hostile.out" "service SunatConsultaRuc: responseStylesheet $PIDE_SOURCE_DIR/tests/fixtures/xslt/$1: $2" \
    "hostile $1: the message names service, file and reason"
}
hostile document-passwd.xsl "line 5: document() is not allowed"
hostile include-url.xsl "line 4: xsl:include of 'http://attacker.example/evil.xsl' is not allowed"
hostile import-file.xsl "line 4: xsl:import of '/etc/passwd' is not allowed"
hostile extension-element.xsl "line 4: extension elements (extension-element-prefixes) are not allowed"
hostile extension-function.xsl "line 6: php:function() is not allowed"
hostile dtd-entity.xsl "DTDs and entities are not allowed"

finish
