#!/usr/bin/env bash
# test_envelope_shape.sh — an Envelope with two Headers or Bodies, a Header after the Body or
# anything after the Body is refused with Client.MalformedEnvelope before any stage reads it,
# and logged (issue 8 item 7: the header stage kept the last Header while WS-Security looked at
# the first, so a second Header could carry what the signature did not cover).
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
SIGN="$PIDE_BUILD_DIR/tools/pide-wss-sign"
PGW='xmlns:pgw="urn:pide-gateway:header:1"'

start_reniec_sim
write_config
start_gateway

expect_malformed_envelope() { # name file
  soap_post ReniecConsultaDni "$2" "$T/$1.xml" >/dev/null
  assert_eq soap:Client.MalformedEnvelope "$(xml_value "$T/$1.xml" faultcode)" "$1: Client.MalformedEnvelope"
  local id
  id=$(exchange_id_of "$T/$1.xml")
  assert_eq "fault|Client.MalformedEnvelope|500" \
    "$(log_sql "select outcome, fault_code, http_status from exchange_log where exchange_id = '$id'")" \
    "$1: logged"
}

# A signed request split in two Headers: the first carries the pide-gateway header (claiming
# another member and message id), the second the WS-Security header that signs the original.
sed "s|<soapenv:Header/>|<soapenv:Header><pgw:client $PGW><pgw:memberCode>20000000001</pgw:memberCode></pgw:client><pgw:id $PGW>env-1</pgw:id></soapenv:Header>|" \
  "$EX/reniec-consultar.xml" > "$T/plain.req"
"$SIGN" --key "$PKI/demo-client.key" --cert "$PKI/demo-client.pem" "$T/plain.req" > "$T/signed.req"
assert_eq 200 "$(soap_post ReniecConsultaDni "$T/signed.req" "$T/signed.xml")" "the signed request as signed: 200"
grep -q '<wsse:Security' "$T/signed.req" || fail "pide-wss-sign output has no <wsse:Security"
grep -q '<soapenv:Header><wsse:Security ' "$T/signed.req" || fail "pide-wss-sign output: unexpected layout"
sed "s|<soapenv:Header><wsse:Security |<soapenv:Header><pgw:client $PGW><pgw:memberCode>20000000002</pgw:memberCode></pgw:client><pgw:id $PGW>env-2</pgw:id></soapenv:Header><soapenv:Header><wsse:Security |" \
  "$T/signed.req" > "$T/two-headers.req"
expect_malformed_envelope two-headers-signed "$T/two-headers.req"
# The plain forms.
body=$(sed -n '/<soapenv:Body>/,/<\/soapenv:Body>/p' "$EX/reniec-consultar.xml" | tr -d '\n')
env() { printf '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ren="http://ws.pide-gateway.org/reniec/">%s</soapenv:Envelope>' "$1"; }
env "<soapenv:Header/><soapenv:Header/>$body" > "$T/two-empty-headers.req"
expect_malformed_envelope two-empty-headers "$T/two-empty-headers.req"
env "$body<soapenv:Header/>" > "$T/header-after-body.req"
expect_malformed_envelope header-after-body "$T/header-after-body.req"
env "<soapenv:Header/>$body$body" > "$T/two-bodies.req"
expect_malformed_envelope two-bodies "$T/two-bodies.req"
env "<soapenv:Header/>$body<x/>" > "$T/after-body.req"
expect_malformed_envelope element-after-body "$T/after-body.req"
env "<x/><soapenv:Header/>$body" > "$T/before-header.req"
expect_malformed_envelope element-before-header "$T/before-header.req"
# Still served: one Header then one Body, with blanks and comments between.
env "<!-- c --> <soapenv:Header/> $body <!-- end -->" > "$T/ok.req"
assert_eq 200 "$(soap_post ReniecConsultaDni "$T/ok.req" "$T/ok.xml")" "one Header, one Body, comments: 200"

finish
