#!/usr/bin/env bash
# test_mtls.sh — the member listener: mutual TLS with real certificates from scripts/pki. A
# member is identified by its certificate; no certificate, a foreign CA, a revoked certificate
# or TLS below 1.2 never get past the handshake; a known member without a grant is refused and
# logged; what the request claims must agree with the certificate.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR

start_reniec_sim
write_config
start_gateway

# tls_post CLIENT FILE OUT [curl options]: over mutual TLS as CLIENT (a scripts/pki name, or
# "none"); prints the HTTP status, or "refused" when the TLS handshake failed.
tls_post() {
  local client=$1 file=$2 out=$3; shift 3
  local certopts=()
  [ "$client" != none ] && certopts=(--cert "$PKI/$client.pem" --key "$PKI/$client.key")
  local code
  if code=$(curl -s -o "$out" -D "$out.headers" -w '%{http_code}' --cacert "$PKI/ca.pem" \
              "${certopts[@]}" "$@" -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
              --data-binary @"$file" "$GW_TLS_URL/services/ReniecConsultaDni"); then
    echo "$code"
  else
    echo refused
  fi
}

status=$(tls_post demo-client "$EX/reniec-consultar.xml" "$T/ok.xml")
assert_eq 200 "$status" "member certificate: HTTP 200"
assert_eq 0000 "$(xml_value "$T/ok.xml" coResultado)" "member certificate: data answered"
id=$(exchange_id_of "$T/ok.xml")
assert_eq "20000000001|mtls|ok" \
  "$(log_sql "select client_member, auth_method, outcome from exchange_log where exchange_id = '$id'")" \
  "member certificate: logged as the certificate's member, auth mtls"
xmlsec1 --verify --trusted-pem "$PKI/ca.pem" "$T/ok.xml" >/dev/null 2>&1 \
  && pass "member certificate: response signature verifies" || fail "response signature"
fingerprint=$(openssl x509 -in "$PKI/demo-client.pem" -outform DER | sha256sum | cut -d' ' -f1)
assert_eq "$fingerprint" \
  "$(log_sql "select client_cert_sha256 from exchange_log where exchange_id = '$id'")" \
  "member certificate: its fingerprint is logged"

assert_eq refused "$(tls_post none "$EX/reniec-consultar.xml" "$T/nocert.xml")" "no client certificate: refused at TLS"
assert_eq refused "$(tls_post rogue-client "$EX/reniec-consultar.xml" "$T/rogue.xml")" "certificate from another CA: refused at TLS"
assert_eq refused "$(tls_post revoked-member "$EX/reniec-consultar.xml" "$T/revoked.xml")" "revoked certificate (CRL): refused at TLS"
assert_eq refused "$(tls_post demo-client "$EX/reniec-consultar.xml" "$T/tls11.xml" --tlsv1.0 --tls-max 1.1)" "TLS 1.1: refused"
grep -q "client certificate refused" "$T/gateway.log" && pass "the gateway logs why a handshake failed" \
  || fail "no handshake failure in the gateway log"

# A known member with no grant for the service.
sed 's|<nuRucUsuario>20000000001</nuRucUsuario>|<nuRucUsuario>20000000002</nuRucUsuario>|' \
  "$EX/reniec-consultar.xml" > "$T/other.req"
status=$(tls_post other-member "$T/other.req" "$T/denied.xml")
assert_eq 500 "$status" "member without a grant: HTTP 500"
assert_eq soap:Client.AccessDenied "$(xml_value "$T/denied.xml" faultcode)" "member without a grant: Client.AccessDenied"
id=$(exchange_id_of "$T/denied.xml")
assert_eq "20000000002|fault|Client.AccessDenied" \
  "$(log_sql "select client_member, outcome, fault_code from exchange_log where exchange_id = '$id'")" \
  "member without a grant: the refusal is logged"

# The body may not speak for another member than the certificate.
status=$(tls_post demo-client "$T/other.req" "$T/mismatch.xml")
assert_eq soap:Client.AuthenticationFailed "$(xml_value "$T/mismatch.xml" faultcode)" \
  "body RUC differing from the certificate: Client.AuthenticationFailed"

# Neither may the pide-gateway header.
sed 's|<soapenv:Header/>|<soapenv:Header><pgw:client xmlns:pgw="urn:pide-gateway:header:1"><pgw:memberCode>20000000002</pgw:memberCode></pgw:client></soapenv:Header>|' \
  "$EX/reniec-consultar.xml" > "$T/hdr.req"
tls_post demo-client "$T/hdr.req" "$T/hdr.xml" >/dev/null
assert_eq soap:Client.AuthenticationFailed "$(xml_value "$T/hdr.xml" faultcode)" \
  "header client differing from the certificate: Client.AuthenticationFailed"

# Keep-alive over TLS: many requests on one connection.
urls=()
for i in $(seq 1 10); do urls+=(-o "$T/ka-$i.xml" "$GW_TLS_URL/services/ReniecConsultaDni"); done
curl -s --cacert "$PKI/ca.pem" --cert "$PKI/demo-client.pem" --key "$PKI/demo-client.key" \
  -H 'Content-Type: text/xml' --data-binary @"$EX/reniec-consultar.xml" "${urls[@]}"
assert_eq 10 "$(grep -l '<coResultado>0000</coResultado>' "$T"/ka-*.xml | wc -l)" "keep-alive over TLS: 10 answers"

finish
