#!/usr/bin/env bash
# test_metaservices.sh — the built-in metaservices answer from the loaded configuration and go
# through the whole pipeline: validated, identified, signed and logged like any exchange.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"

start_reniec_sim
write_config
start_gateway

status=$(soap_post meta "$EX/meta-listServices.xml" "$T/list.xml")
assert_eq 200 "$status" "listServices: HTTP 200"
services=$(xmllint --xpath "//*[local-name()='service']/*[local-name()='serviceCode']/text()" "$T/list.xml" 2>/dev/null | tr '\n' ' ')
expected=$(sed -n 's/.*<service name="\([^"]*\)".*/\1/p' "$CONFIG" | tr '\n' ' ')
for s in $expected meta; do
  [[ " $services " == *" $s "* ]] && pass "listServices lists $s" || fail "listServices misses $s (got: $services)"
done
assert_contains "$T/list.xml" "<m:wsdlPath>/services/ReniecConsultaDni?wsdl</m:wsdlPath>" "listServices gives the WSDL path"
xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/list.xml" >/dev/null 2>&1 \
  && pass "listServices answer is signed" || fail "listServices signature"
id=$(exchange_id_of "$T/list.xml")
assert_eq "meta|listServices|20000000001|declared-header|ok" \
  "$(log_sql "select service, operation, client_member, auth_method, outcome from exchange_log where exchange_id = '$id'")" \
  "listServices is logged"

soap_post meta "$EX/meta-listMethods.xml" "$T/methods.xml" >/dev/null
assert_eq consultar "$(xml_value "$T/methods.xml" method)" "listMethods(ReniecConsultaDni) = consultar"

soap_post meta "$EX/meta-allowedMethods.xml" "$T/allowed.xml" >/dev/null
assert_eq consultar "$(xml_value "$T/allowed.xml" method)" "allowedMethods for the granted member"
sed 's|<pgw:memberCode>20000000001</pgw:memberCode>|<pgw:memberCode>20000000002</pgw:memberCode>|' \
  "$EX/meta-allowedMethods.xml" > "$T/allowed-other.req"
soap_post meta "$T/allowed-other.req" "$T/allowed-other.xml" >/dev/null
assert_eq 0 "$(grep -c '<m:method>' "$T/allowed-other.xml")" "allowedMethods for a member without grants: none"

soap_post meta "$EX/meta-getWsdl.xml" "$T/wsdl.xml" >/dev/null
got=$(xmllint --xpath "string(//*[local-name()='wsdl'])" "$T/wsdl.xml")
if [ "$got" = "$(cat "$PIDE_SOURCE_DIR/wsdl/ReniecConsultaDni.wsdl")" ]; then
  pass "getWsdl returns the service's WSDL"
else
  fail "getWsdl content differs from wsdl/ReniecConsultaDni.wsdl"
fi

sed 's|ReniecConsultaDni|NoSuchService|' "$EX/meta-listMethods.xml" > "$T/unknown.req"
soap_post meta "$T/unknown.req" "$T/unknown.xml" >/dev/null
assert_eq soap:Client.BadRequest "$(xml_value "$T/unknown.xml" faultcode)" "listMethods of an unknown service: a Fault"
assert_contains "$T/unknown.xml" "no service 'NoSuchService'" "the Fault names the unknown service"

# Metaservices need an identified caller like everything else.
sed '/pgw:client/d' "$EX/meta-listServices.xml" > "$T/anon.req"
soap_post meta "$T/anon.req" "$T/anon.xml" >/dev/null
assert_eq soap:Client.AuthenticationFailed "$(xml_value "$T/anon.xml" faultcode)" "anonymous caller refused"

assert_eq 200 "$(curl -s -o "$T/meta.wsdl" -w '%{http_code}' "$GW_URL/services/meta?wsdl")" "meta?wsdl served"
assert_contains "$T/meta.wsdl" "PideMetaservices" "meta?wsdl is the metaservices WSDL"

# GET /services: the published services for a person in a browser, with their description
# (the WSDL's documentation), operations, version and WSDL link; anything else under it is 404.
assert_eq 200 "$(curl -s -o "$T/services.html" -w '%{http_code}' "$GW_URL/services")" "GET /services answered"
assert_contains "$T/services.html" "<h2>ReniecConsultaDni</h2>" "the page lists RENIEC"
assert_contains "$T/services.html" "Datos de identidad de un ciudadano por su DNI." "the page shows the WSDL's description"
assert_contains "$T/services.html" 'href="/services/ReniecConsultaDni?wsdl"' "the page links the WSDL"
assert_contains "$T/services.html" "<code>consultar</code>" "the page lists the operations"
xmllint --html --noout "$T/services.html" 2>"$T/html.err" && pass "the page is well-formed HTML" \
  || fail "the page: $(cat "$T/html.err")"
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/services/NoSuch")" "GET of an unknown service path: 404"
soap_post meta "$PIDE_SOURCE_DIR/docs/examples/meta-listServices.xml" "$T/list2.xml" >/dev/null
assert_contains "$T/list2.xml" "Datos de identidad de un ciudadano por su DNI.</m:description>" "listServices gives the description"
assert_contains "$T/list2.xml" "<m:version>1.0.0</m:version>" "listServices gives the adapter version"
finish
