#!/usr/bin/env bash
# test_wss_replay.sh — a WS-Security signed request that carries no pgw:id cannot be replayed
# byte for byte (issue 8 item 9): the replay key is fixed by its signature (signer, Timestamp,
# signed digests). A newly signed request with the same content is still served.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
SIGN="$PIDE_BUILD_DIR/tools/pide-wss-sign"

start_reniec_sim
write_config
start_gateway

sed 's|<soapenv:Header/>|<soapenv:Header><pgw:client xmlns:pgw="urn:pide-gateway:header:1"><pgw:memberCode>20000000001</pgw:memberCode></pgw:client></soapenv:Header>|' \
  "$EX/reniec-consultar.xml" > "$T/plain.req"
"$SIGN" --key "$PKI/demo-client.key" --cert "$PKI/demo-client.pem" "$T/plain.req" > "$T/signed.req"
assert_eq 200 "$(soap_post ReniecConsultaDni "$T/signed.req" "$T/first.xml")" "signed, no pgw:id: served"
id=$(exchange_id_of "$T/first.xml")
assert_eq "wss-signature|" "$(log_sql "select auth_method, coalesce(message_id, '') from exchange_log where exchange_id = '$id'")" \
  "signed, no pgw:id: logged as signed, without a message id"

soap_post ReniecConsultaDni "$T/signed.req" "$T/replay.xml" >/dev/null
assert_eq soap:Client.Replay "$(xml_value "$T/replay.xml" faultcode)" "the same signed bytes again: Client.Replay"
id=$(exchange_id_of "$T/replay.xml")
assert_eq "fault|Client.Replay" "$(log_sql "select outcome, fault_code from exchange_log where exchange_id = '$id'")" \
  "the replay is logged"
# Blanks after the Envelope change the bytes, not the message: still a replay.
{ cat "$T/signed.req"; printf '\n\n  \n'; } > "$T/reformatted.req"
soap_post ReniecConsultaDni "$T/reformatted.req" "$T/reformatted.xml" >/dev/null
assert_eq soap:Client.Replay "$(xml_value "$T/reformatted.xml" faultcode)" "the same message with other bytes: Client.Replay"
# Over mutual TLS as the signer: a replay all the same.
curl -s -o "$T/mtls.xml" --cacert "$PKI/ca.pem" --cert "$PKI/demo-client.pem" --key "$PKI/demo-client.key" \
  -H 'Content-Type: text/xml; charset=utf-8' --data-binary @"$T/signed.req" "$GW_TLS_URL/services/ReniecConsultaDni"
assert_eq soap:Client.Replay "$(xml_value "$T/mtls.xml" faultcode)" "the replay over mutual TLS: Client.Replay"

# The client signs the same query again (new Timestamp, new ids): a new message, served.
"$SIGN" --key "$PKI/demo-client.key" --cert "$PKI/demo-client.pem" "$T/plain.req" > "$T/signed2.req"
assert_eq 200 "$(soap_post ReniecConsultaDni "$T/signed2.req" "$T/second.xml")" "the same query signed anew: served"
# An unsigned request without pgw:id is not affected (nothing to key it on; legacy clients).
assert_eq 200 "$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/u1.xml")" "unsigned, no pgw:id: served"
assert_eq 200 "$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/u2.xml")" "unsigned, no pgw:id, again: served"

finish
