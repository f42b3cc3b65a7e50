#!/usr/bin/env bash
# test_crl.sh — revocation through the real gateway (lib/crl.c): a member whose certificate
# is on the CA's CRL is refused on both paths, at the TLS handshake and as a WS-Security signer;
# and a CRL the CA publishes while the gateway runs is in force within seconds, with no restart.
# The CA database is a copy of the test PKI's, so revoking here touches no other test.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
SIGN="$PIDE_BUILD_DIR/tools/pide-wss-sign"

# The CA of this run: the fixture's keys and database, its CRL published where the gateway reads.
PKI=$T/pki
cp -a "$PIDE_TEST_PKI_DIR" "$PKI"
sed -i "s|$PIDE_TEST_PKI_DIR|$PKI|g" "$PKI/ca.cnf"

start_reniec_sim
write_config
sed -i "s|crl=\"$PIDE_TEST_PKI_DIR/ca.crl\"|crl=\"$PKI/ca.crl\"|g" "$CONFIG"
grep -q "crl=\"$PKI/ca.crl\"" "$CONFIG" || { echo "the demo configuration names no CRL" >&2; exit 1; }
start_gateway

# signed ID CLIENT: the RENIEC example with message id ID, signed by the scripts/pki pair CLIENT.
signed() {
  local id=$1 client=$2
  sed "s|<soapenv:Header/>|<soapenv:Header><pgw:id xmlns:pgw=\"urn:pide-gateway:header:1\">$id</pgw:id></soapenv:Header>|" \
    "$EX/reniec-consultar.xml" > "$T/$id.plain"
  "$SIGN" --key "$PKI/$client.key" --cert "$PKI/$client.pem" "$T/$id.plain" > "$T/$id.req"
  echo "$T/$id.req"
}
# tls_status CLIENT OUT: HTTP status of the RENIEC example over mutual TLS, or "refused".
tls_status() {
  local code
  if code=$(curl -s -o "$2" -w '%{http_code}' --cacert "$PKI/ca.pem" --cert "$PKI/$1.pem" \
              --key "$PKI/$1.key" -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
              --data-binary @"$EX/reniec-consultar.xml" "$GW_TLS_URL/services/ReniecConsultaDni"); then
    echo "$code"
  else
    echo refused
  fi
}
# outcome OUT: fault_code or ok, as the log row of the exchange in OUT says.
logged() {
  log_sql "select coalesce(fault_code, outcome) || '|' || coalesce(client_member, '') from exchange_log where exchange_id = '$(exchange_id_of "$1")'"
}

# A revoked member's signature: refused as a bad signature, before anything else judges it.
status=$(soap_post ReniecConsultaDni "$(signed r-1 revoked-member)" "$T/revoked.xml")
assert_eq 500 "$status" "signature of a revoked member: refused"
assert_eq soap:Client.BadSignature "$(xml_value "$T/revoked.xml" faultcode)" \
  "signature of a revoked member: Client.BadSignature"
assert_contains "$T/revoked.xml" "revoked" "the Fault says the certificate is revoked"
assert_eq "Client.BadSignature|" "$(logged "$T/revoked.xml")" "the refusal is logged"

# The demo member is in good standing on both paths.
assert_eq 200 "$(soap_post ReniecConsultaDni "$(signed ok-1 demo-client)" "$T/ok-wss.xml")" \
  "member in good standing: signed request answered"
assert_eq 200 "$(tls_status demo-client "$T/ok-tls.xml")" "member in good standing: mTLS answered"

# The CA revokes it and publishes a new CRL (written aside, then renamed into place).
openssl ca -config "$PKI/ca.cnf" -revoke "$PKI/demo-client.pem" -crl_reason keyCompromise 2>"$T/ca.log" >/dev/null
openssl ca -config "$PKI/ca.cnf" -gencrl -out "$PKI/ca.crl.new" 2>>"$T/ca.log"
mv -f "$PKI/ca.crl.new" "$PKI/ca.crl"

# In force within seconds, without a restart, on both paths.
for i in $(seq 1 40); do
  [ "$(tls_status demo-client "$T/after-tls.xml")" = refused ] && break
  sleep 0.1
done
assert_eq refused "$(tls_status demo-client "$T/after-tls.xml")" "after the new CRL: mTLS handshake refused"
status=$(soap_post ReniecConsultaDni "$(signed after-1 demo-client)" "$T/after-wss.xml")
assert_eq soap:Client.BadSignature "$(xml_value "$T/after-wss.xml" faultcode)" \
  "after the new CRL: the member's signature is refused"
assert_contains "$T/after-wss.xml" "revoked" "after the new CRL: the Fault says revoked"
grep -q "CRL $PKI/ca.crl re-read" "$T/gateway.log" && pass "the gateway logs that it re-read the CRL" \
  || fail "no CRL re-read in the gateway log"
kill -0 "$GW_PID" && pass "no restart was needed" || fail "the gateway is gone"

# A broken CRL published by mistake: the revocation stays in force, and the log says why.
echo "not a CRL" > "$PKI/ca.crl.bad" && mv -f "$PKI/ca.crl.bad" "$PKI/ca.crl"
sleep 1.2
assert_eq refused "$(tls_status demo-client "$T/broken-tls.xml")" "a broken CRL does not lift the revocation"
grep -q "cannot be used; the previous list stays in force" "$T/gateway.log" \
  && pass "the broken CRL is reported" || fail "the broken CRL is not reported"

finish
