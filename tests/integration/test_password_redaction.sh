#!/usr/bin/env bash
# test_password_redaction.sh — no password reaches the exchange log or the gateway's own log,
# whatever stage ends the exchange (issue 8 item 2). A distinctive password is sent to every
# service (RENIEC in the body, the others in a WS-Security UsernameToken or a stray <password>)
# and through every refusal: malformed XML, not SOAP, unknown service, wrong-case path, unknown
# operation, schema-invalid, XML limits, two Headers, bad and tampered WS-Security, wrong
# password, access denied, replay, too large, an encoding the tokenizer does not read, provider
# down; and the request whose <password> has a '>' inside an attribute value, which
# authenticates. Each exchange must have its row; no column of any row may hold the password.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
SIGN="$PIDE_BUILD_DIR/tools/pide-wss-sign"
PW='S3cr3t-XYZ-987'        # the demo member's password in this run
WRONG='Wr0ng-S3cr3t-XYZ-000'

start_reniec_sim
start_sim migraciones
start_sim pj --trusted-ca "$PKI/ca.pem"
write_config
# The demo official's password becomes $PW, so that the requests that authenticate carry it.
hash=$(echo "$PW" | "$GATEWAY_BIN" --hash-password)
sed -i "s|passwordHash=\"[^\"]*\"|passwordHash=\"$hash\"|" "$CONFIG"
# A small burst, so that the run reaches Client.RateLimited at its end.
sed -i 's|<member id="20000000001" |<member id="20000000001" ratePerSecond="1" rateBurst="20" |' "$CONFIG"
start_gateway

# reniec [password-element] [file]: the RENIEC example with the given password element.
reniec() {
  local el=${1:-<password>$PW</password>}
  sed "s|<password>demo</password>|$el|" "${2:-$EX/reniec-consultar.xml}"
}
# username_token: a wsse:Security header holding a UsernameToken with the password, unsigned.
username_token() {
  printf '%s' "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"><wsse:UsernameToken><wsse:Username>20000000001</wsse:Username><wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText\">$PW</wsse:Password></wsse:UsernameToken></wsse:Security>"
}

ids=()
# send NAME FILE PATH EXPECTED-FAULT|ok [curl options]: posts FILE to $GW_URL/PATH; checks the
# outcome and that the exchange has a row.
send() {
  local name=$1 file=$2 path=$3 want=$4; shift 4
  local status id
  status=$(curl -s -o "$T/$name.xml" -D "$T/$name.xml.headers" -w '%{http_code}' \
    -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' "$@" \
    --data-binary @"$file" "$GW_URL/$path")
  if [ "$want" = ok ]; then
    assert_eq 200 "$status" "$name: HTTP 200"
  else
    assert_eq "soap:$want" "$(xml_value "$T/$name.xml" faultcode)" "$name: $want"
  fi
  id=$(exchange_id_of "$T/$name.xml")
  assert_eq 1 "$(log_sql "select count(*) from exchange_log where exchange_id = '$id'")" "$name: logged"
  ids+=("$id")
  LAST_ID=$id
}
# stored ID: the request as the log stores it.
stored() { log_sql "select convert_from(request, 'UTF8') from exchange_log where exchange_id = '$1'"; }

# --- the request that authenticates although '>' sits in an attribute of <password> -----------
reniec "<password xmlns:z=\"urn:x/>\">$PW</password>" > "$T/gt-attr.req"
send gt-attr "$T/gt-attr.req" services/ReniecConsultaDni ok
stored "$LAST_ID" > "$T/gt-attr.stored"
assert_contains "$T/gt-attr.stored" "<password xmlns:z=\"urn:x/>\">[REDACTED]</password>" \
  "gt-attr: the password is replaced in place"
assert_contains "$T/gt-attr.stored" "<nuDniConsulta>45678912</nuDniConsulta>" "gt-attr: the rest is kept"
reniec > "$T/plain.req"
send plain "$T/plain.req" services/ReniecConsultaDni ok
reniec "<password><![CDATA[$PW]]></password>" > "$T/cdata.req"
send cdata "$T/cdata.req" services/ReniecConsultaDni ok
reniec "<!-- old: <password>$PW</password> --><password>$PW</password>" > "$T/comment.req"
send comment "$T/comment.req" services/ReniecConsultaDni ok

# --- refusals before the identify stage ---------------------------------------------------------
printf '%s' "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><ren:consultar xmlns:ren=\"http://ws.pide-gateway.org/reniec/\"><arg0><password>$PW</password><broken>" > "$T/malformed.req"
send malformed "$T/malformed.req" services/ReniecConsultaDni Client.MalformedXml
grep -q '^\[PIDE-GW TRUNCATED:' <(stored "$LAST_ID") && pass "malformed: stored truncated and flagged" \
  || fail "malformed: not flagged"
printf '%s' "<x><password a='1'>$PW</password></y>" > "$T/mismatch.req"
send mismatch "$T/mismatch.req" services/ReniecConsultaDni Client.MalformedXml
printf '%s' "password=$PW" > "$T/not-xml.req"
send not-xml "$T/not-xml.req" services/ReniecConsultaDni Client.MalformedXml
printf '%s' "<foo><password>$PW</password></foo>" > "$T/not-soap.req"
send not-soap "$T/not-soap.req" services/ReniecConsultaDni Client.NotSoap
send unknown-service "$T/plain.req" services/NoSuchService Client.UnknownService
send wrong-case-path "$T/plain.req" services/reniecconsultadni Client.UnknownService
sed 's|ren:consultar>|ren:noExiste>|g' "$T/plain.req" > "$T/unknown-op.req"
send unknown-operation "$T/unknown-op.req" services/ReniecConsultaDni Client.UnknownOperation
reniec "<password>$PW</password>" "$EX/reniec-consultar-invalido.xml" > "$T/invalid.req"
send schema-invalid "$T/invalid.req" services/ReniecConsultaDni Client.SchemaInvalid
reniec "<password>$PW$(printf 'x%.0s' $(seq 1 200))</password>" > "$T/too-long.req"
send password-too-long "$T/too-long.req" services/ReniecConsultaDni Client.SchemaInvalid
{ printf '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
  for i in $(seq 1 100); do printf '<a>'; done; printf '<password>%s</password>' "$PW"
  for i in $(seq 1 100); do printf '</a>'; done; printf '</soapenv:Body></soapenv:Envelope>'; } > "$T/deep.req"
send xml-limit "$T/deep.req" services/ReniecConsultaDni Client.XmlLimitExceeded
sed "s|<soapenv:Header/>|<soapenv:Header/><soapenv:Header>$(username_token)</soapenv:Header>|" "$T/plain.req" > "$T/two-headers.req"
send two-headers "$T/two-headers.req" services/ReniecConsultaDni Client.MalformedEnvelope
sed "s|<soapenv:Header/>|<soapenv:Header>$(username_token)</soapenv:Header>|" "$T/plain.req" > "$T/username-token.req"
send bad-wss "$T/username-token.req" services/ReniecConsultaDni Client.BadSignature
"$SIGN" --key "$PKI/demo-client.key" --cert "$PKI/demo-client.pem" "$T/plain.req" > "$T/signed.req"
sed -i 's|<nuDniConsulta>45678912</nuDniConsulta>|<nuDniConsulta>45678913</nuDniConsulta>|' "$T/signed.req"
send tampered-signature "$T/signed.req" services/ReniecConsultaDni Client.BadSignature
# Other services: the password in a UsernameToken, or inside the operation (schema-invalid).
stray_anchor() { case $1 in
  MigraCarnetdeExtrajeria) echo 's|<solicitud>|<solicitud><password>'"$PW"'</password>|' ;;
  AntecedentesPenales) echo 's|<xDni>|<password>'"$PW"'</password><xDni>|' ;;
  meta) echo 's|<m:listServices/>|<m:listServices><password>'"$PW"'</password></m:listServices>|' ;;
esac; }
for svc in MigraCarnetdeExtrajeria:migraciones-consultar AntecedentesPenales:pj-verificar meta:meta-listServices; do
  name=${svc%%:*} file=$EX/${svc#*:}.xml
  sed "s|<soapenv:Header>|<soapenv:Header>$(username_token)|" "$file" > "$T/$name-wss.req"
  send "$name-username-token" "$T/$name-wss.req" "services/$name" Client.BadSignature
  sed "$(stray_anchor "$name")" "$file" > "$T/$name-stray.req"
  send "$name-stray-password" "$T/$name-stray.req" "services/$name" Client.SchemaInvalid
done

# --- refusals at or after the identify stage -----------------------------------------------------
reniec "<password>$WRONG</password>" > "$T/wrong.req"
send wrong-password "$T/wrong.req" services/ReniecConsultaDni Client.AuthenticationFailed
sed 's|<nuRucUsuario>20000000001</nuRucUsuario>|<nuRucUsuario>20000000002</nuRucUsuario>|' "$T/plain.req" > "$T/other.req"
status=$(curl -s -o "$T/denied.xml" -D "$T/denied.xml.headers" -w '%{http_code}' --cacert "$PKI/ca.pem" \
  --cert "$PKI/other-member.pem" --key "$PKI/other-member.key" -H 'Content-Type: text/xml; charset=utf-8' \
  -H 'SOAPAction: ""' --data-binary @"$T/other.req" "$GW_TLS_URL/services/ReniecConsultaDni")
assert_eq soap:Client.AccessDenied "$(xml_value "$T/denied.xml" faultcode)" "access-denied: Client.AccessDenied"
ids+=("$(exchange_id_of "$T/denied.xml")")
sed "s|<soapenv:Header/>|<soapenv:Header><pgw:id xmlns:pgw=\"urn:pide-gateway:header:1\">pw-replay-1</pgw:id></soapenv:Header>|" \
  "$T/plain.req" > "$T/with-id.req"
send first-with-id "$T/with-id.req" services/ReniecConsultaDni ok
send replay "$T/with-id.req" services/ReniecConsultaDni Client.Replay
# A UTF-16 request: parsed and authenticated, but the byte tokenizer cannot read it, so it is
# stored flagged and truncated (no byte of it past the BOM).
iconv -f UTF-8 -t UTF-16 "$T/plain.req" > "$T/utf16.req"
send utf16 "$T/utf16.req" services/ReniecConsultaDni ok -H 'Content-Type: text/xml; charset=utf-16'
grep -q '^\[PIDE-GW TRUNCATED:' <(stored "$LAST_ID") && pass "utf16: stored flagged" || fail "utf16: not flagged"
# Too large: refused unread, the row has no request at all.
{ printf '<soapenv:Envelope><password>%s</password>' "$PW"; head -c 1100000 /dev/zero | tr '\0' 'a'; } > "$T/huge.req"
send too-large "$T/huge.req" services/ReniecConsultaDni Client.RequestTooLarge
# Provider down.
kill "$RENIEC_PID"; wait "$RENIEC_PID" 2>/dev/null || true
send provider-down "$T/plain.req" services/ReniecConsultaDni Server.Provider.Unavailable
# Rate limited: ask until the member's bucket is empty.
limited=""
for n in $(seq 1 60); do
  status=$(soap_post ReniecConsultaDni "$T/plain.req" "$T/rate.xml")
  [ "$status" = 429 ] && { limited=yes; break; }
done
[ -n "$limited" ] && pass "rate-limited: HTTP 429" || fail "never rate-limited"
ids+=("$(exchange_id_of "$T/rate.xml")")

# --- nothing anywhere holds a password -----------------------------------------------------------
pw16=$(printf '%s' "$PW" | iconv -f UTF-8 -t UTF-16LE | od -An -tx1 | tr -d ' \n')
for secret in "$PW" "$WRONG"; do
  leaks=$(log_sql "select count(*) from exchange_log e
                   where position('$secret' in e::text) > 0
                      or position(convert_to('$secret', 'UTF8') in coalesce(e.request, ''::bytea)) > 0
                      or position(convert_to('$secret', 'UTF8') in coalesce(e.response, ''::bytea)) > 0
                      or position(decode('$pw16', 'hex') in coalesce(e.request, ''::bytea)) > 0")
  assert_eq 0 "$leaks" "no log row holds '$secret' in any column"
  assert_not_contains "$T/gateway.log" "$secret" "the gateway's own log does not hold '$secret'"
done
assert_eq "${#ids[@]}" "$(log_sql "select count(*) from exchange_log where exchange_id in ($(printf "'%s'," "${ids[@]}" | sed 's/,$//'))")" \
  "every exchange of this test has its row"
log_sql "select count(*) from exchange_log where position(convert_to('[REDACTED]', 'UTF8') in request) > 0" > "$T/redacted.count"
[ "$(cat "$T/redacted.count")" -ge 10 ] && pass "rows keep the request with the marker" || fail "few redacted rows"

finish
