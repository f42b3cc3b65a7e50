#!/usr/bin/env bash
# test_audit_service.sh — the built-in audit service (AuditService): the auditor member (the demo
# agency, granted it in conf/demo.xml's <auditService>) calls each operation over mutual TLS and
# gets the data of exchanges this test made; another member gets Client.AccessDenied, logged;
# malformed inputs get clear Client faults; the service's own calls are logged (subject = the
# citizen asked about); verificarCadena names a row the superuser tampered with. Runs on a
# PostgreSQL cluster of its own, so the tampering cannot disturb the shared one.
# ctest-fixtures: pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI="$PIDE_TEST_PKI_DIR"

PIDE_TEST_PG_DIR="$T/pg"
PG_LOCAL="$PIDE_SOURCE_DIR/scripts/pg-local"
bash "$PG_LOCAL" start --dir "$PIDE_TEST_PG_DIR" --port 0 --fresh >"$T/pg-start.log" 2>&1 \
  || { cat "$T/pg-start.log" >&2; echo "FAIL: private cluster did not start" >&2; exit 1; }
# The gateway stops before its database; set +e: `(exit 1)` must not end the trap early.
trap 'rc=$?; stop_all; bash "$PG_LOCAL" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; set +e; (exit $rc); on_exit' EXIT
superuser() { bash "$PG_LOCAL" psql --dir "$PIDE_TEST_PG_DIR" -X -q -v ON_ERROR_STOP=1 "$@"; }

start_reniec_sim
write_config
grep -q 'user=pide_auditor' "$CONFIG" && pass "the demo configuration exposes the audit service as pide_auditor" \
  || fail "no auditor conninfo in $CONFIG"
start_gateway

# audit CLIENT OPERATION-BODY OUT: an AuditService call over mutual TLS as CLIENT (scripts/pki).
audit() {
  local client=$1 body=$2 out=$3 ruc
  case "$client" in demo-client) ruc=20000000001;; other-member) ruc=20000000002;; esac
  cat > "$out.req" <<EOF
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
                  xmlns:pgw="urn:pide-gateway:header:1" xmlns:a="urn:pide-gateway:audit:1">
  <soapenv:Header>
    <pgw:client><pgw:memberCode>$ruc</pgw:memberCode></pgw:client>
    <pgw:purpose>Auditoria de prueba</pgw:purpose>
  </soapenv:Header>
  <soapenv:Body>$body</soapenv:Body>
</soapenv:Envelope>
EOF
  curl -s -o "$out" -D "$out.headers" -w '%{http_code}' --cacert "$PKI/ca.pem" \
       --cert "$PKI/$client.pem" --key "$PKI/$client.key" \
       -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
       --data-binary @"$out.req" "$GW_TLS_URL/services/AuditService"
}
# child_of FILE CONTAINER CHILD: CHILD of the first CONTAINER (the header has an exchangeId too).
child_of() { xmllint --xpath "string(//*[local-name()='$2'][1]/*[local-name()='$3'])" "$1" 2>/dev/null || true; }
count() { xmllint --xpath "count(//*[local-name()='$2'])" "$1" 2>/dev/null || echo 0; }

# --- exchanges to audit ---------------------------------------------------------------------
soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/r1.xml" >/dev/null
id1=$(exchange_id_of "$T/r1.xml")
soap_post ReniecConsultaDni "$EX/reniec-consultar-no-existe.xml" "$T/r2.xml" >/dev/null
id2=$(exchange_id_of "$T/r2.xml")
[ -n "$id1" ] && [ -n "$id2" ] && pass "two RENIEC exchanges made" || fail "no exchange ids"
dni=$(log_sql "select subject_id from exchange_log where exchange_id = '$id1'")
assert_eq 45678912 "$dni" "the first exchange is about DNI 45678912"

# --- the WSDL is served -----------------------------------------------------------------------
curl -s -o "$T/wsdl.xml" "$GW_URL/services/AuditService?wsdl"
cmp -s "$T/wsdl.xml" "$PIDE_SOURCE_DIR/wsdl/AuditService.wsdl" && pass "GET ?wsdl serves wsdl/AuditService.wsdl" \
  || fail "?wsdl differs from wsdl/AuditService.wsdl"

# --- buscarIntercambios -----------------------------------------------------------------------
status=$(audit demo-client "<a:buscarIntercambios><a:desde>2000-01-01T00:00:00Z</a:desde>
  <a:hasta>2100-01-01T00:00:00Z</a:hasta><a:servicio>ReniecConsultaDni</a:servicio>
  <a:tamanoPagina>1</a:tamanoPagina></a:buscarIntercambios>" "$T/b1.xml")
assert_eq 200 "$status" "buscarIntercambios: HTTP 200"
assert_eq 1 "$(count "$T/b1.xml" intercambio)" "buscarIntercambios: a page of one"
assert_eq "$id1" "$(child_of "$T/b1.xml" intercambio exchangeId)" "buscarIntercambios: the first page is the first exchange"
next=$(xml_value "$T/b1.xml" siguienteSeq)
[ -n "$next" ] && pass "buscarIntercambios: siguienteSeq announces the next page" || fail "no siguienteSeq"
audit demo-client "<a:buscarIntercambios><a:desde>2000-01-01T00:00:00Z</a:desde>
  <a:hasta>2100-01-01T00:00:00Z</a:hasta><a:servicio>ReniecConsultaDni</a:servicio>
  <a:tamanoPagina>1</a:tamanoPagina><a:despuesDeSeq>$next</a:despuesDeSeq></a:buscarIntercambios>" "$T/b2.xml" >/dev/null
assert_eq "$id2" "$(child_of "$T/b2.xml" intercambio exchangeId)" "buscarIntercambios: the second page is the second exchange"
audit demo-client "<a:buscarIntercambios><a:desde>2000-01-01T00:00:00Z</a:desde>
  <a:hasta>2100-01-01T00:00:00Z</a:hasta><a:miembro>20000000001</a:miembro>
  <a:tipoDocumento>DNI</a:tipoDocumento><a:numeroDocumento>45678912</a:numeroDocumento>
  <a:resultado>ok</a:resultado></a:buscarIntercambios>" "$T/b3.xml" >/dev/null
assert_eq "$id1" "$(child_of "$T/b3.xml" intercambio exchangeId)" "buscarIntercambios by member, subject and outcome"
assert_eq 1 "$(count "$T/b3.xml" intercambio)" "buscarIntercambios by subject: only that citizen's"
audit demo-client "<a:buscarIntercambios><a:desde>2000-01-01T00:00:00Z</a:desde>
  <a:hasta>2000-01-02T00:00:00Z</a:hasta></a:buscarIntercambios>" "$T/b4.xml" >/dev/null
assert_eq 0 "$(count "$T/b4.xml" intercambio)" "buscarIntercambios: nothing in a day long past"
xmlsec1 --verify --trusted-pem "$PKI/ca.pem" "$T/b1.xml" >/dev/null 2>&1 \
  && pass "the audit service's answer is signed" || fail "audit answer signature"

# --- obtenerIntercambio -----------------------------------------------------------------------
status=$(audit demo-client "<a:obtenerIntercambio><a:exchangeId>$id1</a:exchangeId></a:obtenerIntercambio>" "$T/o1.xml")
assert_eq 200 "$status" "obtenerIntercambio: HTTP 200"
assert_eq "$id1" "$(child_of "$T/o1.xml" intercambio exchangeId)" "obtenerIntercambio: that exchange"
xml_value "$T/o1.xml" solicitud | base64 -d > "$T/o1.request" 2>/dev/null || true
grep -q '<nuDniConsulta>45678912</nuDniConsulta>' "$T/o1.request" \
  && pass "obtenerIntercambio: the request as logged (base64)" || fail "obtenerIntercambio: request not as logged"
assert_eq "$(log_sql "select encode(row_hash, 'hex') from exchange_log where exchange_id = '$id1'")" \
  "$(xml_value "$T/o1.xml" rowHash)" "obtenerIntercambio: the row's row_hash"
assert_eq "$(log_sql "select encode(response_sha256, 'hex') from exchange_log where exchange_id = '$id1'")" \
  "$(xml_value "$T/o1.xml" respuestaSha256)" "obtenerIntercambio: the response's digest"
assert_eq "$(xml_value "$T/o1.xml" respuestaSha256)" \
  "$(xml_value "$T/o1.xml" respuesta | base64 -d | sha256sum | cut -d' ' -f1)" \
  "obtenerIntercambio: the response as logged matches its digest"

# --- consultasPorCiudadano --------------------------------------------------------------------
status=$(audit demo-client "<a:consultasPorCiudadano><a:tipoDocumento>DNI</a:tipoDocumento>
  <a:numeroDocumento>45678912</a:numeroDocumento></a:consultasPorCiudadano>" "$T/c1.xml")
assert_eq 200 "$status" "consultasPorCiudadano: HTTP 200"
assert_eq 1 "$(count "$T/c1.xml" consulta)" "consultasPorCiudadano: the one consultation of DNI 45678912"
assert_eq "$id1|20000000001|11111111|ReniecConsultaDni|ok" \
  "$(for f in exchangeId miembro funcionario servicio resultado; do child_of "$T/c1.xml" consulta $f; done | paste -sd'|')" \
  "consultasPorCiudadano: when, member, official, service, outcome"
cid=$(exchange_id_of "$T/c1.xml")
assert_eq "AuditService|consultasPorCiudadano|20000000001|mtls|DNI|45678912|Auditoria de prueba|ok" \
  "$(log_sql "select service, operation, client_member, auth_method, subject_type, subject_id, purpose, outcome from exchange_log where exchange_id = '$cid'")" \
  "the auditor's question is logged, about the citizen asked for"

# --- Client.AccessDenied for a member not granted it, logged ----------------------------------
status=$(audit other-member "<a:consultasPorCiudadano><a:tipoDocumento>DNI</a:tipoDocumento>
  <a:numeroDocumento>45678912</a:numeroDocumento></a:consultasPorCiudadano>" "$T/d1.xml")
assert_eq soap:Client.AccessDenied "$(xml_value "$T/d1.xml" faultcode)" "another member: Client.AccessDenied (HTTP $status)"
assert_not_contains "$T/d1.xml" "45678912</a:" "another member sees no data"
did=$(exchange_id_of "$T/d1.xml")
assert_eq "AuditService|20000000002|fault|Client.AccessDenied" \
  "$(log_sql "select service, client_member, outcome, fault_code from exchange_log where exchange_id = '$did'")" \
  "the refusal is logged"

# --- malformed inputs: clear Client faults ----------------------------------------------------
bad() { # WHAT BODY EXPECTED-FAULTCODE MESSAGE-FRAGMENT
  audit demo-client "$2" "$T/bad.xml" >/dev/null
  assert_eq "$3" "$(xml_value "$T/bad.xml" faultcode)" "$1: $3"
  grep -q "$4" "$T/bad.xml" && pass "$1: the fault says '$4'" || fail "$1: fault text: $(xml_value "$T/bad.xml" faultstring)"
  [ "$(log_sql "select outcome from exchange_log where exchange_id = '$(exchange_id_of "$T/bad.xml")'")" = fault ] \
    && pass "$1: logged as a fault" || fail "$1: not logged"
}
bad "a DNI of 4 digits" "<a:consultasPorCiudadano><a:tipoDocumento>DNI</a:tipoDocumento>
  <a:numeroDocumento>1234</a:numeroDocumento></a:consultasPorCiudadano>" soap:Client.BadRequest "not a valid document"
bad "an unknown document type" "<a:consultasPorCiudadano><a:tipoDocumento>PASAPORTE</a:tipoDocumento>
  <a:numeroDocumento>12345678</a:numeroDocumento></a:consultasPorCiudadano>" soap:Client.SchemaInvalid ""
bad "an inverted time range" "<a:buscarIntercambios><a:desde>2100-01-01T00:00:00Z</a:desde>
  <a:hasta>2000-01-01T00:00:00Z</a:hasta></a:buscarIntercambios>" soap:Client.BadRequest "inverted time range"
bad "a page of 101" "<a:buscarIntercambios><a:desde>2000-01-01T00:00:00Z</a:desde>
  <a:hasta>2100-01-01T00:00:00Z</a:hasta><a:tamanoPagina>101</a:tamanoPagina></a:buscarIntercambios>" \
  soap:Client.BadRequest "between 1 and 100"
bad "a page of 0" "<a:buscarIntercambios><a:desde>2000-01-01T00:00:00Z</a:desde>
  <a:hasta>2100-01-01T00:00:00Z</a:hasta><a:tamanoPagina>0</a:tamanoPagina></a:buscarIntercambios>" \
  soap:Client.BadRequest "between 1 and 100"
bad "a member that is no RUC" "<a:buscarIntercambios><a:desde>2000-01-01T00:00:00Z</a:desde>
  <a:hasta>2100-01-01T00:00:00Z</a:hasta><a:miembro>2000' OR '1'='1</a:miembro></a:buscarIntercambios>" \
  soap:Client.BadRequest "RUC of 11 digits"
bad "an unknown exchange id" "<a:obtenerIntercambio><a:exchangeId>00000000-0000-7000-8000-000000000000</a:exchangeId></a:obtenerIntercambio>" \
  soap:Client.BadRequest "no exchange 00000000-0000-7000-8000-000000000000 in the log"
bad "an exchange id that is no UUID" "<a:obtenerIntercambio><a:exchangeId>1' OR '1'='1</a:exchangeId></a:obtenerIntercambio>" \
  soap:Client.BadRequest "not an exchange id"
bad "an inverted seq range" "<a:verificarCadena><a:desdeSeq>5</a:desdeSeq><a:hastaSeq>2</a:hastaSeq></a:verificarCadena>" \
  soap:Client.BadRequest "inverted seq range"

# --- verificarCadena: sound, then a tampered row ----------------------------------------------
status=$(audit demo-client "<a:verificarCadena/>" "$T/v1.xml")
assert_eq 200 "$status" "verificarCadena: HTTP 200"
assert_eq 0 "$(xml_value "$T/v1.xml" problemas)" "verificarCadena: the untouched chain has no problem"
assert_eq true "$(xml_value "$T/v1.xml" completo)" "verificarCadena: the whole log in one call"
rows=$(xml_value "$T/v1.xml" filas)
[ "${rows:-0}" -ge 10 ] && pass "verificarCadena: $rows rows checked" || fail "verificarCadena checked $rows rows"
seq1=$(log_sql "select seq from exchange_log where exchange_id = '$id1'")
superuser >/dev/null <<SQL || fail "tampering failed"
SET session_replication_role = replica;
UPDATE public.exchange_log SET subject_id = '99999999' WHERE seq = $seq1;
SQL
audit demo-client "<a:verificarCadena/>" "$T/v2.xml" >/dev/null
assert_eq 1 "$(xml_value "$T/v2.xml" problemas)" "verificarCadena: one problem after the tampering"
assert_eq "$seq1" "$(xmllint --xpath "string(//*[local-name()='problema']/*[local-name()='seq'])" "$T/v2.xml")" \
  "verificarCadena: names the tampered seq"
assert_contains "$T/v2.xml" "row_hash does not match the row's content" "verificarCadena: says what is wrong"
audit demo-client "<a:verificarCadena><a:desdeSeq>$((seq1 + 1))</a:desdeSeq></a:verificarCadena>" "$T/v3.xml" >/dev/null
assert_eq 0 "$(xml_value "$T/v3.xml" problemas)" "verificarCadena after the tampered row: sound (anchored on its stored row_hash)"
audit demo-client "<a:verificarCadena><a:desdeSeq>$seq1</a:desdeSeq><a:hastaSeq>$seq1</a:hastaSeq></a:verificarCadena>" "$T/v4.xml" >/dev/null
assert_eq "1|1" "$(xml_value "$T/v4.xml" filas)|$(xml_value "$T/v4.xml" problemas)" "verificarCadena over the one row: its problem"

# --- the audit database unreachable: a Server fault at once, logged; other services go on -----
sed -E 's|(dbname=pide user=pide_auditor)|\1 port=1|; s|port=[0-9]+ (dbname=pide user=pide_auditor)|\1|' \
  "$CONFIG" > "$T/gateway-noaudit.xml"
grep -q 'user=pide_auditor port=1"' "$T/gateway-noaudit.xml" || fail "could not point the auditor conninfo at port 1"
CONFIG="$T/gateway-noaudit.xml"
start_gateway
status=$(audit demo-client "<a:verificarCadena/>" "$T/u1.xml")
assert_eq soap:Server.Provider.Unavailable "$(xml_value "$T/u1.xml" faultcode)" "audit database unreachable: Server.Provider.Unavailable (HTTP $status)"
assert_contains "$T/u1.xml" "the audit database is unavailable" "the fault says the audit database is unavailable"
assert_eq fault "$(log_sql "select outcome from exchange_log where exchange_id = '$(exchange_id_of "$T/u1.xml")'")" \
  "the failed audit call is logged"
assert_eq 200 "$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/r3.xml")" "RENIEC is still served meanwhile"

finish
