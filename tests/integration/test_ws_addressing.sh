#!/usr/bin/env bash
# test_ws_addressing.sh — WS-Addressing 1.0 through the real gateway (docs/soap-versions.md,
# docs/security.md): wsa:MessageID is the message id for replay protection when there is no
# pgw:id (a replayed one is Client.Replay) and is logged; wsa:Action, SOAPAction and SOAP 1.2's
# action parameter follow one policy (must name the operation, else Client.ActionMismatch); the
# answer carries wsa:MessageID, wsa:RelatesTo and wsa:Action, covered by the enveloped signature
# (xmlsec1 --verify) and by a WS-Security answer's references; duplicated, oversized, structured
# or non-anonymous-reply WS-A headers are refused with Client.BadAddressing.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
S11=http://schemas.xmlsoap.org/soap/envelope/
S12=http://www.w3.org/2003/05/soap-envelope
WSA=http://www.w3.org/2005/08/addressing
ACT=http://ws.pide-gateway.org/reniec/consultar

start_reniec_sim
write_config
start_gateway

# req HEADER-XML OUT: the RENIEC example with these header elements (wsa: and pgw: declared).
req() {
  sed "s|<soapenv:Header/>|<soapenv:Header xmlns:wsa=\"$WSA\" xmlns:pgw=\"urn:pide-gateway:header:1\">$1</soapenv:Header>|" \
    "$EX/reniec-consultar.xml" > "$2"
}
xp() { xmllint --xpath "$2" "$1" 2>/dev/null || true; }
hdr() { xp "$1" "string(/*/*[local-name()='Header']/*[namespace-uri()='$WSA' and local-name()='$2'])"; }
row() { log_sql "select outcome, coalesce(fault_code,''), coalesce(message_id,'') from exchange_log where exchange_id = '$(exchange_id_of "$1")'"; }
expect_fault() { # NAME FILE CODE WHAT
  soap_post ReniecConsultaDni "$2" "$T/$1.xml" >/dev/null
  assert_eq "soap:$3" "$(xml_value "$T/$1.xml" faultcode)" "$4: $3"
  assert_eq "fault|$3" "$(row "$T/$1.xml" | cut -d'|' -f1-2)" "$4: logged"
}
mid="urn:uuid:$(cat /proc/sys/kernel/random/uuid)"

# --- a WS-A request: served, related, signed, logged -------------------------------------------
req "<wsa:MessageID>$mid</wsa:MessageID><wsa:Action>$ACT</wsa:Action><wsa:To>$GW_URL/services/ReniecConsultaDni</wsa:To><wsa:ReplyTo><wsa:Address>$WSA/anonymous</wsa:Address></wsa:ReplyTo>" "$T/ok.req"
assert_eq 200 "$(soap_post ReniecConsultaDni "$T/ok.req" "$T/ok.xml")" "WS-A request: 200"
xid=$(exchange_id_of "$T/ok.xml")
assert_eq "$mid" "$(hdr "$T/ok.xml" RelatesTo)" "answer: wsa:RelatesTo is the request's MessageID"
assert_eq "urn:uuid:$xid" "$(hdr "$T/ok.xml" MessageID)" "answer: wsa:MessageID of its own (the exchange id)"
assert_eq "${ACT}Response" "$(hdr "$T/ok.xml" Action)" "answer: wsa:Action of the response"
if xmlsec1 --verify --trusted-pem "$PKI/ca.pem" "$T/ok.xml" > "$T/ok.verify" 2>&1; then pass "answer: enveloped signature verifies"
else fail "answer: signature does not verify"; fi
# The enveloped signature covers the whole Envelope: a RelatesTo changed afterwards fails it.
sed "s|<wsa:RelatesTo>[^<]*</wsa:RelatesTo>|<wsa:RelatesTo>urn:uuid:forged</wsa:RelatesTo>|" "$T/ok.xml" > "$T/forged.xml"
if xmlsec1 --verify --trusted-pem "$PKI/ca.pem" "$T/forged.xml" >/dev/null 2>&1; then fail "a forged RelatesTo still verifies"
else pass "a forged RelatesTo breaks the signature"; fi
assert_eq "ok||$mid" "$(row "$T/ok.xml")" "WS-A request: logged with wsa:MessageID as the message id"

# --- replay ----------------------------------------------------------------------------------
expect_fault replay "$T/ok.req" Client.Replay "the same wsa:MessageID again"
assert_eq "$mid" "$(hdr "$T/replay.xml" RelatesTo)" "the replay's Fault relates to the request"
assert_eq "$WSA/soap/fault" "$(hdr "$T/replay.xml" Action)" "the Fault's wsa:Action is the WS-A fault action"
# The same MessageID in a SOAP 1.2 request: still a replay (one id space per member).
sed "s|$S11|$S12|" "$T/ok.req" > "$T/replay12.req"
curl -s -o "$T/replay12.xml" -H 'Content-Type: application/soap+xml; charset=utf-8' --data-binary @"$T/replay12.req" \
  "$GW_URL/services/ReniecConsultaDni" >/dev/null
assert_eq "pgw:Client.Replay" "$(xp "$T/replay12.xml" "string(//*[local-name()='Subcode']/*[local-name()='Value'])")" "the same wsa:MessageID over SOAP 1.2: Client.Replay"
# pgw:id wins over wsa:MessageID when both are given.
req "<pgw:id>pgw-$mid</pgw:id><wsa:MessageID>$mid</wsa:MessageID><wsa:Action>$ACT</wsa:Action>" "$T/both.req"
assert_eq 200 "$(soap_post ReniecConsultaDni "$T/both.req" "$T/both.xml")" "pgw:id and a used wsa:MessageID: pgw:id is the message id, served"
assert_eq "ok||pgw-$mid" "$(row "$T/both.xml")" "pgw:id and wsa:MessageID: pgw:id logged"

# --- action policy ---------------------------------------------------------------------------
req "<wsa:MessageID>urn:uuid:a-$RANDOM$RANDOM</wsa:MessageID><wsa:Action>http://ws.pide-gateway.org/reniec/borrar</wsa:Action>" "$T/act.req"
expect_fault act "$T/act.req" Client.ActionMismatch "wsa:Action naming another operation"
assert_contains "$T/act.xml" "does not name the operation" "the ActionMismatch Fault says why"
assert_eq "$WSA/soap/fault" "$(hdr "$T/act.xml" Action)" "the ActionMismatch Fault carries WS-A headers"
curl -s -o "$T/sa.xml" -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: "urn:x:borrar"' \
  --data-binary @"$EX/reniec-consultar.xml" "$GW_URL/services/ReniecConsultaDni" >/dev/null
assert_eq soap:Client.ActionMismatch "$(xml_value "$T/sa.xml" faultcode)" "SOAPAction naming another operation: the same policy"
assert_eq 200 "$(curl -s -o "$T/sa-ok.xml" -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' -H "SOAPAction: \"$ACT\"" \
  --data-binary @"$EX/reniec-consultar.xml" "$GW_URL/services/ReniecConsultaDni")" "SOAPAction naming the operation: served"

# --- malformed WS-A headers: Client.BadAddressing ----------------------------------------------
long=$(head -c 300 /dev/zero | tr '\0' 'a')
req "<wsa:MessageID>urn:1</wsa:MessageID><wsa:MessageID>urn:2</wsa:MessageID><wsa:Action>$ACT</wsa:Action>" "$T/dup.req"
expect_fault dup "$T/dup.req" Client.BadAddressing "duplicated wsa:MessageID"
req "<wsa:MessageID>urn:1</wsa:MessageID><wsa:Action>$ACT</wsa:Action><wsa:Action>$ACT</wsa:Action>" "$T/dupact.req"
expect_fault dupact "$T/dupact.req" Client.BadAddressing "duplicated wsa:Action"
req "<wsa:MessageID>urn:$long</wsa:MessageID><wsa:Action>$ACT</wsa:Action>" "$T/big.req"
expect_fault big "$T/big.req" Client.BadAddressing "oversized wsa:MessageID"
req "<wsa:MessageID><x>urn:1</x></wsa:MessageID><wsa:Action>$ACT</wsa:Action>" "$T/struct.req"
expect_fault struct "$T/struct.req" Client.BadAddressing "wsa:MessageID holding an element"
req "<wsa:MessageID>urn:uuid:noaction-$RANDOM</wsa:MessageID>" "$T/noact.req"
expect_fault noact "$T/noact.req" Client.BadAddressing "WS-A without wsa:Action"
req "<wsa:MessageID>urn:uuid:r-$RANDOM</wsa:MessageID><wsa:Action>$ACT</wsa:Action><wsa:ReplyTo><wsa:Address>http://attacker.example/</wsa:Address></wsa:ReplyTo>" "$T/reply.req"
expect_fault reply "$T/reply.req" Client.BadAddressing "wsa:ReplyTo elsewhere (the gateway never sends to it)"
req "<wsa:Bogus>1</wsa:Bogus><wsa:Action>$ACT</wsa:Action>" "$T/bogus.req"
expect_fault bogus "$T/bogus.req" Client.BadAddressing "unknown wsa: header"
req "<wsa:MessageID>urn:1</wsa:MessageID><wsa:Action>$ACT" "$T/broken.req"
expect_fault broken "$T/broken.req" Client.MalformedXml "unclosed wsa:Action"

# --- WS-Security answer signs the WS-A headers ------------------------------------------------------
req "<pgw:client><pgw:memberCode>20000000001</pgw:memberCode></pgw:client><wsa:MessageID>urn:uuid:w-$RANDOM$RANDOM</wsa:MessageID><wsa:Action>$ACT</wsa:Action>" "$T/wss-plain.req"
"$PIDE_BUILD_DIR/tools/pide-wss-sign" --key "$PKI/demo-client.key" --cert "$PKI/demo-client.pem" "$T/wss-plain.req" > "$T/wss.req"
assert_eq 200 "$(soap_post ReniecConsultaDni "$T/wss.req" "$T/wss.xml")" "WS-Security signed WS-A request: 200"
for h in MessageID RelatesTo Action; do
  id=$(xp "$T/wss.xml" "string(/*/*[local-name()='Header']/*[namespace-uri()='$WSA' and local-name()='$h']/@*[local-name()='Id'])")
  if [ -n "$id" ] && [ "$(xp "$T/wss.xml" "count(//*[local-name()='Reference'][@URI='#$id'])")" = 1 ]; then
    pass "WS-Security answer: wsa:$h is covered by a signature reference"
  else fail "WS-Security answer: wsa:$h is not signed"; fi
done

finish
