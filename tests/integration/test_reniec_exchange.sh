#!/usr/bin/env bash
# test_reniec_exchange.sh — one RENIEC consultation end to end through the real gateway, the
# real adapter plugin, the RENIEC simulator and PostgreSQL: the answer's fields, its signature
# (checked with the stock xmlsec1 CLI), the requestHash, and the log row; then every refusal
# the foundation documents answers its Fault and is logged too.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"

start_reniec_sim
write_config
start_gateway

# --- a found DNI -----------------------------------------------------------------------------
status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/found.xml")
assert_eq 200 "$status" "found: HTTP 200"
assert_eq 0000 "$(xml_value "$T/found.xml" coResultado)" "found: coResultado 0000"
[ -n "$(xml_value "$T/found.xml" prenombres)" ] && pass "found: prenombres present" \
  || fail "found: prenombres empty"
[ -n "$(xml_value "$T/found.xml" apPrimer)" ] && pass "found: apPrimer present" \
  || fail "found: apPrimer empty"
[ -n "$(xml_value "$T/found.xml" foto)" ] && pass "found: foto present" || fail "found: no foto"
id=$(exchange_id_of "$T/found.xml")
assert_eq "$id" "$(xml_value "$T/found.xml" id)" "found: exchange id in header and SOAP Header agree"

# The signature verifies with nothing but the demo CA, and fails once the Body is altered.
if xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/found.xml" >"$T/verify.log" 2>&1; then
  pass "found: xmlsec1 --verify accepts the response signature"
else
  fail "found: xmlsec1 --verify rejected the response"
fi
sed 's/<coResultado>0000</<coResultado>0001</' "$T/found.xml" > "$T/tampered.xml"
if xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/tampered.xml" >/dev/null 2>&1; then
  fail "tampered response still verifies"
else
  pass "tampered response fails verification"
fi
# requestHash is the SHA-256 of the request bytes as sent.
expected_hash=$(openssl dgst -sha256 -binary "$EX/reniec-consultar.xml" | base64)
assert_eq "$expected_hash" "$(xml_value "$T/found.xml" requestHash)" "found: requestHash matches the request"

row=$(log_sql "select client_member, client_user, auth_method, service, operation, adapter,
                      subject_type, subject_id, outcome, coalesce(fault_code,'-'), result_code,
                      http_status, client_address
               from exchange_log where exchange_id = '$id'")
assert_eq "20000000001|11111111|legacy-password|ReniecConsultaDni|consultar|reniec|DNI|45678912|ok|-|0000|200|127.0.0.1" \
  "$row" "found: log row fields"
ordered=$(log_sql "select t_request_in <= t_provider_out and t_provider_out <= t_provider_in
                          and t_provider_in <= t_response_out and t_response_out <= t_logged
                   from exchange_log where exchange_id = '$id'")
assert_eq t "$ordered" "found: the four timestamps are set and ordered"
resp_hash=$(log_sql "select encode(sha256(response), 'hex') = encode(response_sha256, 'hex')
                     from exchange_log where exchange_id = '$id'")
assert_eq t "$resp_hash" "found: logged response matches its digest"
assert_eq "$(sha256sum < "$T/found.xml" | cut -d' ' -f1)" \
  "$(log_sql "select encode(response_sha256,'hex') from exchange_log where exchange_id = '$id'")" \
  "found: the logged response is exactly what was sent"
assert_eq "$(openssl dgst -sha256 -hex "$EX/reniec-consultar.xml" | sed 's/.*= //')" \
  "$(log_sql "select encode(request_sha256,'hex') from exchange_log where exchange_id = '$id'")" \
  "found: request digest over the bytes as received"
log_sql "select convert_from(request, 'UTF8') from exchange_log where exchange_id = '$id'" > "$T/logged-request.xml"
assert_contains "$T/logged-request.xml" "<password>[REDACTED]</password>" "found: password redacted in the log"
assert_contains "$T/logged-request.xml" "<nuDniConsulta>45678912</nuDniConsulta>" "found: the rest of the request is logged as sent"
sig=$(log_sql "select signature_value from exchange_log where exchange_id = '$id'")
assert_eq "$(xml_value "$T/found.xml" SignatureValue | tr -d '\n')" "$(echo "$sig" | tr -d '\n')" "found: signature value logged"

# --- a DNI that is not found: a normal answer with its own result code ------------------------
status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar-no-existe.xml" "$T/notfound.xml")
assert_eq 200 "$status" "not found: HTTP 200"
assert_eq 0001 "$(xml_value "$T/notfound.xml" coResultado)" "not found: coResultado 0001"
id=$(exchange_id_of "$T/notfound.xml")
assert_eq "ok|0001" "$(log_sql "select outcome, result_code from exchange_log where exchange_id = '$id'")" \
  "not found: logged with result code"

# --- refusals: each a Fault with its stable code, each logged ---------------------------------
expect_fault() { # name file service http-status fault-code
  local status id
  status=$(soap_post "$3" "$2" "$T/$1.xml")
  assert_eq "$4" "$status" "$1: HTTP $4"
  assert_eq "soap:$5" "$(xml_value "$T/$1.xml" faultcode)" "$1: faultcode $5"
  id=$(exchange_id_of "$T/$1.xml")
  assert_eq "fault|$5|$4" \
    "$(log_sql "select outcome, fault_code, http_status from exchange_log where exchange_id = '$id'")" \
    "$1: logged as a fault"
  if xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/$1.xml" >/dev/null 2>&1; then
    pass "$1: the Fault is signed too"
  else
    fail "$1: the Fault does not verify"
  fi
}
printf '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><broken>' > "$T/malformed.req"
expect_fault malformed "$T/malformed.req" ReniecConsultaDni 500 Client.MalformedXml
expect_fault unknown-service "$EX/reniec-consultar.xml" NoSuchService 404 Client.UnknownService
expect_fault schema-invalid "$EX/reniec-consultar-invalido.xml" ReniecConsultaDni 500 Client.SchemaInvalid
assert_contains "$T/schema-invalid.xml" "nuDniConsulta" "schema-invalid: the fault names the offending element"
sed 's|<password>demo</password>|<password>wrong</password>|' "$EX/reniec-consultar.xml" > "$T/badpw.req"
expect_fault bad-password "$T/badpw.req" ReniecConsultaDni 500 Client.AuthenticationFailed
id=$(exchange_id_of "$T/bad-password.xml")
log_sql "select convert_from(request, 'UTF8') from exchange_log where exchange_id = '$id'" > "$T/logged-badpw.xml"
assert_not_contains "$T/logged-badpw.xml" "wrong" "bad-password: the wrong password is not logged either"
printf '<!DOCTYPE x [<!ENTITY a "aaaa">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x>&a;</x></soap:Body></soap:Envelope>' > "$T/dtd.req"
expect_fault dtd "$T/dtd.req" ReniecConsultaDni 500 Client.MalformedXml
assert_contains "$T/dtd.xml" "DTD" "dtd: the fault says DTDs are refused"
# Bodies over maxBodyBytes (1 MiB in the demo configuration) are refused unread.
head -c 2000000 /dev/zero | tr '\0' 'a' > "$T/huge.req"
status=$(soap_post ReniecConsultaDni "$T/huge.req" "$T/huge.xml")
assert_eq 413 "$status" "oversized body: HTTP 413"
assert_eq soap:Client.RequestTooLarge "$(xml_value "$T/huge.xml" faultcode)" "oversized body: Client.RequestTooLarge"
id=$(exchange_id_of "$T/huge.xml")
assert_eq "fault|Client.RequestTooLarge" \
  "$(log_sql "select outcome, fault_code from exchange_log where exchange_id = '$id'")" \
  "oversized body: logged"
# The same without an announced length: a chunked body is cut off at the limit.
status=$(curl -s -o "$T/huge-chunked.xml" -w '%{http_code}' -H 'Content-Type: text/xml' \
  -H 'Transfer-Encoding: chunked' --data-binary @"$T/huge.req" "$GW_URL/services/ReniecConsultaDni")
assert_eq 413 "$status" "oversized chunked body: HTTP 413"
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/xml' -H 'Transfer-Encoding: chunked' \
  --data-binary @"$EX/reniec-consultar.xml" "$GW_URL/services/ReniecConsultaDni")" "a normal chunked request: 200"
# A deeply nested body is refused by the parser's limits.
{ printf '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
  for i in $(seq 1 100); do printf '<a>'; done; for i in $(seq 1 100); do printf '</a>'; done
  printf '</soap:Body></soap:Envelope>'; } > "$T/deep.req"
expect_fault deep "$T/deep.req" ReniecConsultaDni 500 Client.XmlLimitExceeded
printf '<Envelope/>' > "$T/notsoap.req"
expect_fault not-soap "$T/notsoap.req" ReniecConsultaDni 500 Client.NotSoap

# --- WSDL and HTTP-level errors (not exchanges) -----------------------------------------------
curl -s -o "$T/served.wsdl" "$GW_URL/services/ReniecConsultaDni?wsdl"
if cmp -s "$T/served.wsdl" "$PIDE_SOURCE_DIR/wsdl/ReniecConsultaDni.wsdl"; then
  pass "?wsdl returns the WSDL from wsdl/"
else
  fail "?wsdl did not return wsdl/ReniecConsultaDni.wsdl"
fi
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/services/Nope?wsdl")" "?wsdl of an unknown service: 404"
# The XSD the WSDL imports (../schemas/reniec-consulta.xsd) resolves against the gateway too.
curl -s -o "$T/served.xsd" "$GW_URL/schemas/reniec-consulta.xsd"
cmp -s "$T/served.xsd" "$PIDE_SOURCE_DIR/schemas/reniec-consulta.xsd" \
  && pass "the imported XSD is served under /schemas/" || fail "/schemas/reniec-consulta.xsd"
assert_eq 404 "$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$GW_URL/schemas/../conf/demo.xml")" \
  "nothing but the services' schemas is served"
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/schemas/gateway-config.xsd")" \
  "the configuration schema is not served"
assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d x "$GW_URL/services/ReniecConsultaDni")" "PUT: 405"

# --- keep-alive: many requests on one connection, all answered --------------------------------
urls=()
for i in $(seq 1 20); do urls+=(-o "$T/ka-$i.xml" "$GW_URL/services/ReniecConsultaDni"); done
curl -s -H 'Content-Type: text/xml' --data-binary @"$EX/reniec-consultar.xml" "${urls[@]}"
n=$(grep -l '<coResultado>0000</coResultado>' "$T"/ka-*.xml | wc -l)
assert_eq 20 "$n" "keep-alive: 20 requests on one connection answered"

# --- pipelining: requests sent back to back in one write are all answered, in order ------------
python3 "$(dirname "$0")/pipeline_client.py" 127.0.0.1 "$GW_PORT" "$EX/reniec-consultar.xml" \
  "GET /services/ReniecConsultaDni?wsdl" "$EX/reniec-consultar-no-existe.xml" > "$T/pipelined.txt"
assert_eq 3 "$(grep -c '^HTTP/1.1 200' "$T/pipelined.txt")" "pipelining: three requests in one write, three answers"

# --- the provider goes away -------------------------------------------------------------------
kill "$RENIEC_PID"; wait "$RENIEC_PID" 2>/dev/null || true
expect_fault provider-down "$EX/reniec-consultar.xml" ReniecConsultaDni 500 Server.Provider.Unavailable

finish
