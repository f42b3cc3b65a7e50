#!/usr/bin/env bash
# test_soap12.sh — SOAP 1.2 through the real gateway (docs/soap-versions.md): a 1.2 request is
# answered in 1.2 (application/soap+xml, env: envelope, enveloped signature that xmlsec1
# verifies), Faults in the 1.2 shape (env:Code/env:Value Sender|Receiver, env:Subcode with the
# gateway's pgw: code, env:Reason/env:Text xml:lang, env:Detail) with the SOAP 1.2 HTTP
# binding's status (400 Sender, 500 Receiver, 429/503... kept); VersionMismatch with env:Upgrade
# for an unknown envelope namespace and for a Content-Type of the other version; the log row
# stores the 1.2 request and answer; WS-Security signed 1.2 requests get a WS-Security answer.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
S11=http://schemas.xmlsoap.org/soap/envelope/
S12=http://www.w3.org/2003/05/soap-envelope
CT12='application/soap+xml; charset=utf-8; action=""'

start_reniec_sim
write_config
start_gateway

to12() { sed "s|$S11|$S12|" "$1"; }
# post12 FILE OUT [curl args]: POSTs as SOAP 1.2; prints the status.
post12() {
  local f=$1 o=$2; shift 2
  curl -s -o "$o" -D "$o.headers" -w '%{http_code}' -H "Content-Type: $CT12" "$@" \
       --data-binary @"$f" "$GW_URL/services/ReniecConsultaDni"
}
ctype_of() { tr -d '\r' < "$1.headers" | sed -n 's/^Content-Type: //Ip'; }
xp() { xmllint --xpath "$2" "$1" 2>/dev/null || true; }
row_of() { log_sql "select outcome, coalesce(fault_code,''), http_status from exchange_log where exchange_id = '$(exchange_id_of "$1")'"; }
verify_sig() {
  if xmlsec1 --verify --trusted-pem "$PKI/ca.pem" "$1" >"$1.verify" 2>&1; then pass "$2: enveloped signature verifies (xmlsec1)"
  else fail "$2: signature does not verify: $(tail -2 "$1.verify")"; fi
}
# fault12 OUT STATUS HTTP CLASS CODE WHAT
fault12() {
  assert_eq "$3" "$2" "$6: HTTP $3"
  assert_eq "application/soap+xml; charset=utf-8" "$(ctype_of "$1")" "$6: application/soap+xml"
  assert_eq "env:$4" "$(xp "$1" "string(/*[local-name()='Envelope' and namespace-uri()='$S12']/*[local-name()='Body']/*[local-name()='Fault']/*[local-name()='Code']/*[local-name()='Value'])")" "$6: Code/Value env:$4"
  assert_eq "pgw:$5" "$(xp "$1" "string(//*[local-name()='Subcode']/*[local-name()='Value'])")" "$6: Subcode pgw:$5"
  assert_eq "urn:pide-gateway:header:1" "$(xp "$1" "string(//*[local-name()='Subcode']/*[local-name()='Value']/namespace::*[name()='pgw'])")" \
    "$6: the Subcode's pgw prefix is in scope"
  assert_eq en "$(xp "$1" "string(//*[local-name()='Reason']/*[local-name()='Text']/@*[local-name()='lang'])")" "$6: Reason/Text xml:lang=en"
  assert_eq "$5" "$(xp "$1" "string(//*[local-name()='Detail']/*[local-name()='faultInfo']/*[local-name()='code'])")" "$6: Detail/faultInfo code"
  assert_eq "fault|$5|$3" "$(row_of "$1")" "$6: logged with code and status"
  verify_sig "$1" "$6"
}

# --- success ---------------------------------------------------------------------------------
to12 "$EX/reniec-consultar.xml" > "$T/ok.req"
assert_eq 200 "$(post12 "$T/ok.req" "$T/ok.xml")" "1.2 consultar: 200"
assert_eq "application/soap+xml; charset=utf-8" "$(ctype_of "$T/ok.xml")" "1.2 answer: application/soap+xml"
assert_eq "$S12" "$(xp "$T/ok.xml" "namespace-uri(/*)")" "1.2 answer: env:Envelope of SOAP 1.2"
assert_eq 0000 "$(xml_value "$T/ok.xml" coResultado)" "1.2 answer: the data (coResultado 0000)"
verify_sig "$T/ok.xml" "1.2 answer"
id=$(exchange_id_of "$T/ok.xml")
assert_eq "ok|200" "$(log_sql "select outcome, http_status from exchange_log where exchange_id = '$id'")" "1.2 exchange logged"
# The SOAP version is in the stored request and answer (no column: docs/soap-versions.md).
log_sql "select convert_from(request, 'UTF8') from exchange_log where exchange_id = '$id'" > "$T/ok.stored" 2>/dev/null \
  || log_sql "select request from exchange_log where exchange_id = '$id'" > "$T/ok.stored"
grep -q "$S12" "$T/ok.stored" && pass "the stored request shows SOAP 1.2" || fail "the stored request does not show SOAP 1.2"
# action parameter naming the operation: accepted; naming another: Client.ActionMismatch.
assert_eq 200 "$(curl -s -o "$T/act.xml" -w '%{http_code}' -H 'Content-Type: application/soap+xml; charset=utf-8; action="http://ws.pide-gateway.org/reniec/consultar"' \
  --data-binary @"$T/ok.req" "$GW_URL/services/ReniecConsultaDni")" "1.2 action=\".../consultar\": served"
curl -s -o "$T/badact.xml" -D "$T/badact.xml.headers" -H 'Content-Type: application/soap+xml; charset=utf-8; action="urn:x:borrar"' \
  --data-binary @"$T/ok.req" "$GW_URL/services/ReniecConsultaDni" >/dev/null
assert_eq "pgw:Client.ActionMismatch" "$(xp "$T/badact.xml" "string(//*[local-name()='Subcode']/*[local-name()='Value'])")" "1.2 action naming another operation: Client.ActionMismatch"

# --- Faults in the 1.2 shape -------------------------------------------------------------------
to12 "$EX/reniec-consultar-invalido.xml" > "$T/inv.req"
fault12 "$T/inv.xml" "$(post12 "$T/inv.req" "$T/inv.xml")" 400 Sender Client.SchemaInvalid "schema-invalid"
sed 's|<nuRucUsuario>20000000001</nuRucUsuario>|<nuRucUsuario>20000000002</nuRucUsuario>|' "$T/ok.req" > "$T/other.req"
st=$(curl -s -o "$T/denied.xml" -D "$T/denied.xml.headers" -w '%{http_code}' --cacert "$PKI/ca.pem" \
  --cert "$PKI/other-member.pem" --key "$PKI/other-member.key" -H "Content-Type: $CT12" \
  --data-binary @"$T/other.req" "$GW_TLS_URL/services/ReniecConsultaDni")
fault12 "$T/denied.xml" "$st" 400 Sender Client.AccessDenied "access denied"
printf '<env:Envelope xmlns:env="%s"><env:Body><x:no xmlns:x="urn:x"/></env:Body></env:Envelope>' "$S12" > "$T/unk.req"
fault12 "$T/unk.xml" "$(post12 "$T/unk.req" "$T/unk.xml")" 400 Sender Client.UnknownOperation "unknown operation"
# A status the gateway already gives specifically is kept (404 for an unknown service).
st=$(curl -s -o "$T/nosvc.xml" -w '%{http_code}' -H "Content-Type: $CT12" --data-binary @"$T/ok.req" "$GW_URL/services/NoSuch")
assert_eq 404 "$st" "1.2 unknown service: 404 kept"
assert_eq "env:Sender" "$(xp "$T/nosvc.xml" "string(//*[local-name()='Code']/*[local-name()='Value'])")" "1.2 unknown service: env:Sender"

# --- version mismatch ------------------------------------------------------------------------
# upgrade_ok OUT WHAT: the env:Upgrade header lists SOAP 1.2 then 1.1, each qname resolvable.
upgrade_ok() {
  local up="//*[local-name()='Upgrade' and namespace-uri()='$S12']/*[local-name()='SupportedEnvelope']"
  assert_eq 2 "$(xp "$1" "count($up)")" "$2: env:Upgrade lists two SupportedEnvelope"
  assert_eq "$S12" "$(xp "$1" "string(($up)[1]/namespace::*[name()=substring-before(($up)[1]/@qname, ':')])")" "$2: first supported: SOAP 1.2"
  assert_eq "$S11" "$(xp "$1" "string(($up)[2]/namespace::*[name()=substring-before(($up)[2]/@qname, ':')])")" "$2: second supported: SOAP 1.1"
}
sed "s|$S11|urn:not-soap:envelope|" "$EX/reniec-consultar.xml" > "$T/vm.req"
assert_eq 500 "$(soap_post ReniecConsultaDni "$T/vm.req" "$T/vm.xml")" "unknown envelope namespace: 500"
assert_eq "text/xml; charset=utf-8" "$(ctype_of "$T/vm.xml")" "unknown envelope namespace: answered in SOAP 1.1 (text/xml)"
assert_eq soap:VersionMismatch "$(xml_value "$T/vm.xml" faultcode)" "unknown envelope namespace: soap:VersionMismatch"
upgrade_ok "$T/vm.xml" "unknown envelope namespace"
assert_eq "fault|VersionMismatch|500" "$(row_of "$T/vm.xml")" "unknown envelope namespace: logged"
verify_sig "$T/vm.xml" "VersionMismatch (1.1)"
# A 1.2 Envelope sent as text/xml: VersionMismatch in SOAP 1.1, the version the client's HTTP
# binding reads.
assert_eq 500 "$(soap_post ReniecConsultaDni "$T/ok.req" "$T/mix1.xml")" "1.2 Envelope as text/xml: 500"
assert_eq soap:VersionMismatch "$(xml_value "$T/mix1.xml" faultcode)" "1.2 Envelope as text/xml: soap:VersionMismatch"
assert_eq "$S11" "$(xp "$T/mix1.xml" "namespace-uri(/*)")" "1.2 Envelope as text/xml: answered in SOAP 1.1"
upgrade_ok "$T/mix1.xml" "1.2 Envelope as text/xml"
# A 1.1 Envelope sent as application/soap+xml: VersionMismatch in SOAP 1.2.
st=$(curl -s -o "$T/mix2.xml" -D "$T/mix2.xml.headers" -w '%{http_code}' -H "Content-Type: $CT12" \
  --data-binary @"$EX/reniec-consultar.xml" "$GW_URL/services/ReniecConsultaDni")
assert_eq 500 "$st" "1.1 Envelope as application/soap+xml: 500"
assert_eq "application/soap+xml; charset=utf-8" "$(ctype_of "$T/mix2.xml")" "1.1 Envelope as application/soap+xml: answered in SOAP 1.2"
assert_eq env:VersionMismatch "$(xp "$T/mix2.xml" "string(//*[local-name()='Code']/*[local-name()='Value'])")" "1.1 Envelope as application/soap+xml: env:VersionMismatch"
upgrade_ok "$T/mix2.xml" "1.1 Envelope as application/soap+xml"
verify_sig "$T/mix2.xml" "VersionMismatch (1.2)"
# Content types that name neither version leave the decision to the Envelope (older clients).
assert_eq 200 "$(curl -s -o "$T/noct.xml" -w '%{http_code}' -H 'Content-Type: application/xml' --data-binary @"$T/ok.req" "$GW_URL/services/ReniecConsultaDni")" \
  "1.2 Envelope as application/xml: served (the Envelope decides)"
# Malformed 1.2: two Bodies.
printf '<env:Envelope xmlns:env="%s"><env:Body/><env:Body/></env:Envelope>' "$S12" > "$T/twobody.req"
fault12 "$T/twobody.xml" "$(post12 "$T/twobody.req" "$T/twobody.xml")" 400 Sender Client.MalformedEnvelope "1.2 with two Bodies"

# --- WS-Security signed 1.2 request: a WS-Security signed 1.2 answer ------------------------------
sed 's|<env:Header/>|<env:Header><pgw:client xmlns:pgw="urn:pide-gateway:header:1"><pgw:memberCode>20000000001</pgw:memberCode></pgw:client></env:Header>|;s|<soapenv:Header/>|<soapenv:Header><pgw:client xmlns:pgw="urn:pide-gateway:header:1"><pgw:memberCode>20000000001</pgw:memberCode></pgw:client></soapenv:Header>|' \
  "$T/ok.req" > "$T/wss-plain.req"
"$PIDE_BUILD_DIR/tools/pide-wss-sign" --key "$PKI/demo-client.key" --cert "$PKI/demo-client.pem" "$T/wss-plain.req" > "$T/wss.req"
assert_eq 200 "$(post12 "$T/wss.req" "$T/wss.xml")" "WS-Security signed 1.2 request: 200"
assert_eq 1 "$(xp "$T/wss.xml" "count(/*[namespace-uri()='$S12']/*[local-name()='Header']/*[local-name()='Security']/*[local-name()='Signature'])")" \
  "WS-Security signed 1.2 request: the 1.2 answer carries a wsse:Security signature"
assert_eq "wss-signature" "$(log_sql "select auth_method from exchange_log where exchange_id = '$(exchange_id_of "$T/wss.xml")'")" "WS-Security 1.2: logged as signed"

# --- provider down: Receiver, 500 ------------------------------------------------------------------
kill "$RENIEC_PID"; wait "$RENIEC_PID" 2>/dev/null || true
fault12 "$T/down.xml" "$(post12 "$T/ok.req" "$T/down.xml")" 500 Receiver Server.Provider.Unavailable "provider down"

finish
