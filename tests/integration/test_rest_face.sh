#!/usr/bin/env bash
# test_rest_face.sh — the REST/JSON face (gateway/rest_face.h, docs/integrator-guide.md "REST"):
# GET /rest/<service>/<operation>?field=... over mutual TLS answers signed JSON for RENIEC,
# Migraciones, PJ and SUNAT through the SOAP path's stages; the signature verifies with
# `pide-audit verify-rest` and a tampered body, header or signature does not; every bad input
# (plain listener, no certificate, unknown service/operation/parameter, duplicated, oversized,
# malformed, secret-named parameters, POST/PUT, replay, no grant) gets its JSON refusal; the
# log row has member, subject, purpose and the JSON as sent; the OpenAPI document of each
# service validates with an npm OpenAPI validator (installed into the build tree; the test
# FAILS when it cannot be installed).
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
PKI=$PIDE_TEST_PKI_DIR
AUDIT="$PIDE_BUILD_DIR/tools/pide-audit"

start_reniec_sim
start_sim migraciones
start_sim pj --trusted-ca "$PKI/ca.pem"
start_sim sunat
write_config
start_gateway

# rest CLIENT PATH OUT [curl options]: GET over mutual TLS as CLIENT (a scripts/pki name, or
# "none"); OUT gets what curl -i shows (head + body), OUT.body the body; prints the status, or
# "refused" when the TLS handshake failed.
rest() {
  local client=$1 path=$2 out=$3; shift 3
  local certopts=()
  [ "$client" != none ] && certopts=(--cert "$PKI/$client.pem" --key "$PKI/$client.key")
  if curl -s -i -o "$out" --cacert "$PKI/ca.pem" "${certopts[@]}" "$@" "$GW_TLS_URL$path"; then
    sed '1,/^\r$/d' "$out" > "$out.body"
    sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$out"
  else
    echo refused
  fi
}
jq_() { jq -r "$1" "$2" 2>/dev/null || echo "(not json)"; }
header_of() { tr -d '\r' < "$1" | sed -n "s/^$2: //Ip" | head -n 1; }
verify() { "$AUDIT" verify-rest --cert "$PKI/gateway-sign.pem" --response "$1" --trusted-pem "$PKI/ca.pem"; }

# ---- each service answers JSON, signed ----
status=$(rest demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912" "$T/reniec" \
  -H 'PIDE-User-Id: 11111111' -H 'PIDE-Purpose: Verificación de identidad' -H 'PIDE-Message-Id: rest-1')
assert_eq 200 "$status" "RENIEC: HTTP 200"
assert_eq 0000 "$(jq_ .consultarResponse.return.coResultado "$T/reniec.body")" "RENIEC: coResultado 0000 in JSON"
assert_eq application/json "$(header_of "$T/reniec" Content-Type)" "RENIEC: Content-Type application/json"
id=$(header_of "$T/reniec" X-Pide-Exchange-Id)
assert_eq "$id" "$(jq_ .exchangeId "$T/reniec.body")" "RENIEC: exchangeId in the body and the header"
assert_eq rest-1 "$(jq_ .messageId "$T/reniec.body")" "RENIEC: messageId echoed"
verify "$T/reniec" >/dev/null 2>"$T/v.err" && pass "RENIEC: signature verifies (pide-audit verify-rest)" \
  || fail "RENIEC: signature: $(cat "$T/v.err")"
assert_eq "20000000001|mtls|11111111|DNI|45678912|Verificación de identidad|ok|200|rest-1" \
  "$(log_sql "select client_member, auth_method, client_user, subject_type, subject_id, purpose, outcome, http_status, message_id from exchange_log where exchange_id = '$id'")" \
  "RENIEC: the row has the certificate's member, official, subject and purpose"
assert_eq "$(sha256sum < "$T/reniec.body" | cut -d' ' -f1)" \
  "$(log_sql "select encode(sha256(response), 'hex') from exchange_log where exchange_id = '$id'")" \
  "RENIEC: the row stores the JSON exactly as sent"
assert_eq "$(sha256sum < "$T/reniec.body" | cut -d' ' -f1)" \
  "$(log_sql "select encode(response_sha256, 'hex') from exchange_log where exchange_id = '$id'")" \
  "RENIEC: response_sha256 is the JSON's"
grep -q "\[$id\] face=rest GET /rest/ReniecConsultaDni/consultar member=20000000001" "$T/gateway.log" \
  && pass "RENIEC: the operational log says face=rest" || fail "no face=rest line in the gateway log"
log_sql "select convert_from(request, 'UTF8') from exchange_log where exchange_id = '$id'" > "$T/reniec.logged"
assert_contains "$T/reniec.logged" "<nuDniConsulta>45678912</nuDniConsulta>" "RENIEC: the logged request is the SOAP request built from the query"
assert_not_contains "$T/reniec.logged" "mutual-tls" "RENIEC: the secret placeholder is redacted in the log like any password"

status=$(rest demo-client "/rest/MigraCarnetdeExtrajeria/consultarDocumento?strMac=00:1A:2B:3C:4D:5E&strNroIp=192.168.10.25&strNumDocumento=001234567&strTipoDocumento=CE" "$T/mig" \
  -H 'PIDE-User-Id: 11111111')
assert_eq 200 "$status" "Migraciones: HTTP 200"
assert_eq 0000 "$(jq_ .consultarDocumentoResponse.return.strNumRespuesta "$T/mig.body")" "Migraciones: strNumRespuesta 0000"
verify "$T/mig" >/dev/null 2>&1 && pass "Migraciones: signature verifies" || fail "Migraciones: signature"

status=$(rest demo-client "/rest/AntecedentesPenales/verificarAntecedentesPenales?xApellidoPaterno=MORALES&xApellidoMaterno=ESPINOZA&xNombre1=SUSANA&xDni=45678912&xMotivoConsulta=PROCESO%20DE%20SELECCION%20DE%20PERSONAL%20CAS&xProcesoEntidadConsultante=CAS-012-2024-DEMO&xAudNombrePC=PC-RRHH-07&xAudIP=192.168.10.27&xAudNombreUsuario=jperez&xAudDireccionMAC=00:1A:2B:3C:4D:5E" "$T/pj" \
  -H 'PIDE-User-Id: 11111111')
assert_eq 200 "$status" "PJ: HTTP 200"
jq -e '.verificarAntecedentesPenalesResponse' "$T/pj.body" >/dev/null 2>&1 && pass "PJ: JSON answer" || fail "PJ: $(head -c 300 "$T/pj.body")"
verify "$T/pj" >/dev/null 2>&1 && pass "PJ: signature verifies" || fail "PJ: signature"

status=$(rest demo-client "/rest/SunatConsultaRuc/getDatosPrincipales?numRuc=20100070970" "$T/sunat")
assert_eq 200 "$status" "SUNAT: HTTP 200"
jq -e '.getDatosPrincipalesResponse.return.coResultado' "$T/sunat.body" >/dev/null 2>&1 && pass "SUNAT: JSON answer" || fail "SUNAT: $(head -c 300 "$T/sunat.body")"

# Keep-alive: two REST calls on one connection, then a SOAP one.
curl -s --cacert "$PKI/ca.pem" --cert "$PKI/demo-client.pem" --key "$PKI/demo-client.key" \
  -w '%{http_code} %{num_connects}\n' -o /dev/null -o /dev/null \
  "$GW_TLS_URL/rest/SunatConsultaRuc/getDatosPrincipales?numRuc=20100070970" \
  "$GW_TLS_URL/rest/SunatConsultaRuc/getDatosPrincipales?numRuc=20100070970" > "$T/ka.out"
assert_eq "200 1|200 0" "$(paste -sd'|' "$T/ka.out")" "keep-alive: two REST answers on one connection"

# The algorithm of docs/integrator-guide.md with the OpenSSL command line alone (RS256).
sig=$(header_of "$T/reniec" X-Pide-Signature)
sed '1,/^\r$/d' "$T/reniec" > "$T/body.json"
{ printf '%s.' "${sig%%..*}"; cat "$T/body.json"; } > "$T/input.bin"
s=${sig#*..}; s=$(printf '%s' "$s" | tr '_-' '/+'); while [ $((${#s} % 4)) -ne 0 ]; do s="$s="; done
printf '%s' "$s" | base64 -d > "$T/sig.bin"
openssl x509 -in "$PKI/gateway-sign.pem" -pubkey -noout > "$T/pub.pem"
openssl dgst -sha256 -verify "$T/pub.pem" -signature "$T/sig.bin" "$T/input.bin" > "$T/dgst.out" 2>&1
assert_eq "Verified OK" "$(cat "$T/dgst.out")" "the documented openssl recipe verifies the answer"

# ---- the verifier refuses tampering ----
sed 's/"coResultado":"0000"/"coResultado":"0001"/' "$T/reniec" > "$T/tampered-body"
cmp -s "$T/reniec" "$T/tampered-body" && fail "the body was not tampered with"
verify "$T/tampered-body" >/dev/null 2>&1 && fail "tampered body verified" || pass "tampered body: refused by verify-rest"
sed "s/^X-Pide-Exchange-Id: .*/X-Pide-Exchange-Id: 00000000-0000-7000-8000-000000000000\r/I" "$T/reniec" > "$T/tampered-id"
verify "$T/tampered-id" >/dev/null 2>&1 && fail "tampered exchange id verified" || pass "tampered X-Pide-Exchange-Id: refused"
sed '1s/200 OK/201 Created/' "$T/reniec" > "$T/tampered-status"
verify "$T/tampered-status" >/dev/null 2>&1 && fail "tampered status verified" || pass "tampered status: refused"
sig=$(header_of "$T/reniec" X-Pide-Signature)
last=${sig: -2:1}; [ "$last" = A ] && repl=B || repl=A
bad_sig="${sig:0:${#sig}-2}$repl${sig: -1}"
sed "s|^X-Pide-Signature: .*|X-Pide-Signature: $bad_sig\r|I" "$T/reniec" > "$T/tampered-sig"
verify "$T/tampered-sig" >/dev/null 2>&1 && fail "tampered signature verified" || pass "tampered signature: refused"
"$AUDIT" verify-rest --cert "$PKI/other-member.pem" --response "$T/reniec" >/dev/null 2>&1 \
  && fail "verified with another certificate" || pass "another certificate: refused"

# ---- refusals, each JSON with the stable code ----
# expect NAME STATUS CODE CLIENT PATH [curl options]
expect() {
  local name=$1 want_status=$2 want_code=$3 client=$4 path=$5; shift 5
  local got
  got=$(rest "$client" "$path" "$T/$name" "$@")
  assert_eq "$want_status $want_code" "$got $(jq_ .code "$T/$name.body")" "$name: HTTP $want_status $want_code"
}
expect unknown-service 404 Client.UnknownService demo-client "/rest/NoSuchService/consultar?x=1"
expect unknown-operation 404 Client.UnknownOperation demo-client "/rest/ReniecConsultaDni/borrar?nuDniConsulta=45678912"
expect bad-value 400 Client.SchemaInvalid demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=4567" -H 'PIDE-User-Id: 11111111'
expect unknown-param 400 Client.BadRequest demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912&foo=1" -H 'PIDE-User-Id: 11111111'
expect duplicated 400 Client.BadRequest demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912&nuDniConsulta=45678913" -H 'PIDE-User-Id: 11111111'
expect bad-percent 400 Client.BadRequest demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=4567%G912" -H 'PIDE-User-Id: 11111111'
expect bad-utf8 400 Client.BadRequest demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=%C3%28" -H 'PIDE-User-Id: 11111111'
expect control-char 400 Client.BadRequest demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912%0A" -H 'PIDE-User-Id: 11111111'
expect secret-param 400 Client.BadRequest demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912&password=S3cretRest9" -H 'PIDE-User-Id: 11111111'
expect secret-token 400 Client.BadRequest demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912&access_token=T0kenRest7" -H 'PIDE-User-Id: 11111111'
expect secret-clave 400 Client.BadRequest demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912&Clave=Cl4veRest5" -H 'PIDE-User-Id: 11111111'
long=$(head -c 5000 /dev/zero | tr '\0' 'a')
expect oversized-query 414 Client.RequestTooLarge demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=$long"
huge=$(head -c 9000 /dev/zero | tr '\0' 'a')
got=$(rest demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=$huge" "$T/huge")
assert_eq 431 "$got" "a request line over the head limit: 431"
expect post 405 Client.MethodNotAllowed demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912" -X POST --data-binary x
assert_eq GET "$(header_of "$T/post" Allow)" "POST: Allow: GET"
expect put 405 Client.MethodNotAllowed demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912" -X PUT --data-binary x
assert_eq GET "$(header_of "$T/put" Allow)" "PUT: Allow: GET"
expect no-grant 403 Client.AccessDenied other-member "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912" -H 'PIDE-User-Id: 11111111'
verify "$T/no-grant" >/dev/null 2>&1 && pass "a refusal is signed too" || fail "refusal signature"
nogrant_id=$(jq_ .exchangeId "$T/no-grant.body")
assert_eq "20000000002|fault|Client.AccessDenied|403" \
  "$(log_sql "select client_member, outcome, fault_code, http_status from exchange_log where exchange_id = '$nogrant_id'")" \
  "no grant: the refusal is logged with the certificate's member"

# Replay: the same PIDE-Message-Id again.
expect replay 409 Client.Replay demo-client "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912" \
  -H 'PIDE-User-Id: 11111111' -H 'PIDE-Message-Id: rest-1'

# No secret value reached any log.
for secret in S3cretRest9 T0kenRest7 Cl4veRest5; do
  assert_not_contains "$T/gateway.log" "$secret" "secret $secret: not in the gateway log"
  assert_eq 0 "$(log_sql "select count(*) from exchange_log where position(convert_to('$secret', 'UTF8') in request) > 0 or position(convert_to('$secret', 'UTF8') in response) > 0 or position('$secret' in coalesce(fault_message, '')) > 0")" \
    "secret $secret: not in the exchange log"
done

# No client certificate: refused at the handshake; plain listener: JSON 403.
assert_eq refused "$(rest none "/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912" "$T/nocert")" "no client certificate: refused at TLS"
code=$(curl -s -o "$T/plain.json" -w '%{http_code}' "$GW_URL/rest/ReniecConsultaDni/consultar?nuDniConsulta=45678912")
assert_eq 403 "$code" "plain listener: HTTP 403"
assert_contains "$T/plain.json" "mutual TLS" "plain listener: the error says REST needs mutual TLS"
code=$(curl -s -o "$T/plain-openapi.json" -w '%{http_code}' "$GW_URL/rest/ReniecConsultaDni/openapi.json")
assert_eq 403 "$code" "plain listener: no OpenAPI document either"

# ---- OpenAPI ----
for svc in ReniecConsultaDni MigraCarnetdeExtrajeria AntecedentesPenales SunatConsultaRuc; do
  got=$(rest demo-client "/rest/$svc/openapi.json" "$T/openapi-$svc")
  assert_eq 200 "$got" "$svc: openapi.json served"
done
assert_eq "^(?:[0-9]{8})$" "$(jq_ '.paths["/consultar"].get.parameters[] | select(.name=="nuDniConsulta") | .schema.pattern' "$T/openapi-ReniecConsultaDni.body")" \
  "OpenAPI: nuDniConsulta has the XSD pattern"
assert_eq 0 "$(jq_ '[.paths["/consultar"].get.parameters[] | select(.name=="password")] | length' "$T/openapi-ReniecConsultaDni.body")" \
  "OpenAPI: no password parameter"
assert_eq getDatosPrincipales "$(jq_ '.paths["/getDatosPrincipales"].get.operationId' "$T/openapi-SunatConsultaRuc.body")" \
  "OpenAPI: the xslt adapter's service lists its schema's operation"
assert_eq verificarAntecedentesPenales "$(jq_ '.paths | keys[0] | ltrimstr("/")' "$T/openapi-AntecedentesPenales.body")" \
  "OpenAPI: PJ's operation"
assert_eq mutualTLS "$(jq_ .components.securitySchemes.mutualTLS.type "$T/openapi-ReniecConsultaDni.body")" "OpenAPI: security is mutual TLS"
assert_eq 404 "$(rest demo-client /rest/NoSuch/openapi.json "$T/noapi")" "OpenAPI of an unknown service: 404"

# The validator, installed once per build tree (npm registry); no validator is a failure.
NPM_DIR="$PIDE_BUILD_DIR/npm-tools"
VALIDATOR_PKG=@seriousme/openapi-schema-validator@2.11.0
if [ ! -d "$NPM_DIR/node_modules/@seriousme/openapi-schema-validator" ]; then
  if ! command -v npm >/dev/null || ! npm install --silent --no-audit --no-fund --prefix "$NPM_DIR" "$VALIDATOR_PKG" >"$T/npm.log" 2>&1; then
    fail "the OpenAPI validator $VALIDATOR_PKG could not be installed (see $T/npm.log)"
  fi
fi
cat > "$T/validate.mjs" <<'JS'
const [dir, ...files] = process.argv.slice(2);
const { Validator } = await import(`${dir}/node_modules/@seriousme/openapi-schema-validator/index.js`);
let bad = 0;
for (const f of files) {
  const v = new Validator();
  const r = await v.validate(f);
  if (!r.valid) { bad++; console.log(`${f}: INVALID ${JSON.stringify(r.errors).slice(0, 2000)}`); }
  else console.log(`${f}: valid OpenAPI ${v.version}`);
}
process.exit(bad ? 1 : 0);
JS
if node "$T/validate.mjs" "$NPM_DIR" "$T"/openapi-*.body > "$T/validate.out" 2>&1 \
   && [ "$(grep -c ': valid OpenAPI 3.1' "$T/validate.out")" = 4 ]; then
  pass "OpenAPI documents of the four services validate ($VALIDATOR_PKG)"
else
  fail "OpenAPI validation: $(cat "$T/validate.out")"
fi

# ---- an EC signing key: ES256 ----
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
sed -i -e 's|gateway-sign.key|gateway-sign-ec.key|' -e 's|gateway-sign.pem|gateway-sign-ec.pem|' "$CONFIG"
start_gateway
status=$(rest demo-client "/rest/SunatConsultaRuc/getDatosPrincipales?numRuc=20100070970" "$T/sunat-ec")
assert_eq 200 "$status" "EC key: HTTP 200"
hdr=$(header_of "$T/sunat-ec" X-Pide-Signature | cut -d. -f1)
while [ $((${#hdr} % 4)) -ne 0 ]; do hdr="$hdr="; done
assert_eq ES256 "$(printf '%s' "$hdr" | tr '_-' '/+' | base64 -d | jq -r .alg)" "EC key: alg ES256"
"$AUDIT" verify-rest --cert "$PKI/gateway-sign-ec.pem" --response "$T/sunat-ec" >/dev/null 2>&1 \
  && pass "EC key: ES256 signature verifies" || fail "EC key: signature"
"$AUDIT" verify-rest --cert "$PKI/gateway-sign.pem" --response "$T/sunat-ec" >/dev/null 2>&1 \
  && fail "ES256 answer verified with the RSA certificate" || pass "EC key: the RSA certificate does not verify it"

finish
