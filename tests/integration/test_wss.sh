#!/usr/bin/env bash
# test_wss.sh — WS-Security on both legs through the real gateway: a request signed by a member's
# certificate (tools/pide-wss-sign) identifies that member; the response is signed the same way
# and verifies with the stock tools; tampering, a stale timestamp, a foreign signer, a signer
# other than the TLS client and a replayed message id are each refused with their Fault.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
SIGN="$PIDE_BUILD_DIR/tools/pide-wss-sign"

start_reniec_sim
write_config
start_gateway

# request ID [pide-wss-sign options...]: the RENIEC example with a pide-gateway header carrying
# message id ID, signed as member 20000000001 unless --key/--cert say otherwise.
request() {
  local id=$1; shift
  sed "s|<soapenv:Header/>|<soapenv:Header><pgw:client xmlns:pgw=\"urn:pide-gateway:header:1\"><pgw:memberCode>20000000001</pgw:memberCode></pgw:client><pgw:id xmlns:pgw=\"urn:pide-gateway:header:1\">$id</pgw:id><pgw:purpose xmlns:pgw=\"urn:pide-gateway:header:1\">Trámite de prueba</pgw:purpose></soapenv:Header>|" \
    "$EX/reniec-consultar.xml" > "$T/$id.plain"
  "$SIGN" --key "$PKI/demo-client.key" --cert "$PKI/demo-client.pem" "$@" "$T/$id.plain" > "$T/$id.req"
  echo "$T/$id.req"
}

# stock_verify FILE: the recipe of docs/wss.md — certificate from the token, chain checked by
# openssl, signature by xmlsec1 with the signed elements' ids declared.
stock_verify() {
  local WSU=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd
  local PGW=urn:pide-gateway:header:1 ids=()
  for e in client service id userId purpose protocolVersion exchangeId requestHash; do ids+=(--id-attr:Id "$PGW:$e"); done
  xmllint --xpath 'string(//*[local-name()="BinarySecurityToken"])' "$1" | base64 -d \
    | openssl x509 -inform DER -out "$T/signer.pem" 2>/dev/null &&
  openssl verify -no-CApath -no-CAstore -CAfile "$PKI/ca.pem" "$T/signer.pem" >/dev/null 2>&1 &&
  xmlsec1 --verify --enabled-reference-uris same-doc --pubkey-cert-pem "$T/signer.pem" \
    --id-attr:Id "$WSU:Timestamp" --id-attr:Id http://schemas.xmlsoap.org/soap/envelope/:Body \
    "${ids[@]}" "$1" >/dev/null 2>&1
}

req=$(request m-1)
status=$(soap_post ReniecConsultaDni "$req" "$T/ok.xml")
assert_eq 200 "$status" "signed request: HTTP 200"
assert_eq 0000 "$(xml_value "$T/ok.xml" coResultado)" "signed request: data answered"
id=$(exchange_id_of "$T/ok.xml")
assert_eq "20000000001|wss-signature|ok|Trámite de prueba" \
  "$(log_sql "select client_member, auth_method, outcome, purpose from exchange_log where exchange_id = '$id'")" \
  "signed request: the signer is the logged caller"
assert_eq "m-1|$(openssl x509 -in "$PKI/demo-client.pem" -outform DER | sha256sum | cut -d' ' -f1)" \
  "$(log_sql "select message_id, client_cert_sha256 from exchange_log where exchange_id = '$id'")" \
  "signed request: message id and signer fingerprint logged"
assert_eq "$(xml_value "$req" SignatureValue | tr -d ' \n')" \
  "$(log_sql "select request_signature_value from exchange_log where exchange_id = '$id'")" \
  "signed request: the consumer's SignatureValue is logged (non-repudiation)"
assert_contains "$T/ok.xml" "BinarySecurityToken" "the response is WS-Security signed"
assert_contains "$T/ok.xml" "<pgw:id" "the response echoes the message id"
stock_verify "$T/ok.xml" && pass "the response verifies with openssl + xmlsec1 (docs/wss.md)" \
  || fail "stock verification of the WS-Security response"
sed 's/<coResultado>0000</<coResultado>0001</' "$T/ok.xml" > "$T/ok-tampered.xml"
stock_verify "$T/ok-tampered.xml" && fail "a tampered response still verifies" \
  || pass "a tampered response fails the stock verification"
assert_eq "$(openssl dgst -sha256 -binary "$req" | base64)" "$(xml_value "$T/ok.xml" requestHash)" \
  "requestHash is the SHA-256 of the signed request as sent"

# Replay of the very same signed bytes.
soap_post ReniecConsultaDni "$req" "$T/replay.xml" >/dev/null
assert_eq soap:Client.Replay "$(xml_value "$T/replay.xml" faultcode)" "the same signed message again: Client.Replay"

# Tampering after signing.
req=$(request m-2)
sed -i 's|<nuDniConsulta>45678912</nuDniConsulta>|<nuDniConsulta>45678913</nuDniConsulta>|' "$req"
soap_post ReniecConsultaDni "$req" "$T/tampered.xml" >/dev/null
assert_eq soap:Client.BadSignature "$(xml_value "$T/tampered.xml" faultcode)" "tampered body: Client.BadSignature"

req=$(request m-3 --created-offset -3600 --ttl 7200)
soap_post ReniecConsultaDni "$req" "$T/stale.xml" >/dev/null
assert_eq soap:Client.TimestampRejected "$(xml_value "$T/stale.xml" faultcode)" "stale timestamp: refused"

req=$(request m-4 --key "$PKI/rogue-client.key" --cert "$PKI/rogue-client.pem")
soap_post ReniecConsultaDni "$req" "$T/rogue.xml" >/dev/null
assert_eq soap:Client.BadSignature "$(xml_value "$T/rogue.xml" faultcode)" "signer from another CA: Client.BadSignature"

# Over mutual TLS the signer must be the TLS client.
req=$(request m-5)
curl -s -o "$T/mtls.xml" --cacert "$PKI/ca.pem" --cert "$PKI/demo-client.pem" --key "$PKI/demo-client.key" \
  -H 'Content-Type: text/xml; charset=utf-8' --data-binary @"$req" "$GW_TLS_URL/services/ReniecConsultaDni"
assert_eq 0000 "$(xml_value "$T/mtls.xml" coResultado)" "signed request over mTLS by the same member: answered"
req=$(request m-6)
curl -s -o "$T/mtls-other.xml" --cacert "$PKI/ca.pem" --cert "$PKI/other-member.pem" --key "$PKI/other-member.key" \
  -H 'Content-Type: text/xml; charset=utf-8' --data-binary @"$req" "$GW_TLS_URL/services/ReniecConsultaDni"
assert_eq soap:Client.BadSignature "$(xml_value "$T/mtls-other.xml" faultcode)" "signer is not the TLS client: refused"

# A service that requires signatures refuses an unsigned call.
stop_all
sed -i 's|<service name="ReniecConsultaDni" |<service name="ReniecConsultaDni" requireSignature="true" |' "$CONFIG"
start_reniec_sim
sed -i "s|http://127.0.0.1:[0-9]*/padron/v2/ciudadano|http://127.0.0.1:$RENIEC_PORT/padron/v2/ciudadano|" "$CONFIG"
start_gateway
soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/unsigned.xml" >/dev/null
assert_eq soap:Client.BadSignature "$(xml_value "$T/unsigned.xml" faultcode)" "requireSignature: an unsigned call is refused"
assert_eq 200 "$(soap_post ReniecConsultaDni "$(request m-7)" "$T/signed2.xml")" "requireSignature: a signed call is served"

finish
