#!/usr/bin/env bash
# test_pj_sim.sh — starts pj-sim on a free port and checks its protocol over real HTTP with curl:
# only calls signed (xmlsec1 CLI, test PKI) by a certificate of --trusted-ca are served; unsigned,
# foreign-CA-signed, tampered and fragment-signed calls get a 403 SOAP 1.2 Fault; then the
# answers for the special DNIs, protocol errors, injected failures and option errors.
# ctest-fixtures: pki
set -euo pipefail

SIM=${PJ_SIM:-${PIDE_BUILD_DIR:?PIDE_BUILD_DIR not set}/simulators/pj/pj-sim}
PKI=${PIDE_TEST_PKI_DIR:?PIDE_TEST_PKI_DIR not set (ctest fixture pki)}
source "$(dirname "${BASH_SOURCE[0]}")/sim_lib.sh"

NS='urn:pj:antecedentes:interno:v1'
CT='application/soap+xml; charset=utf-8; action="urn:pj:antecedentes:interno:v1#ConsultaAntecedentes"'
# signature_template SIGNATURE-METHOD-URI [REFERENCE-URI]: an empty ds:Signature for xmlsec1.
signature_template() {
    printf '%s' "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod Algorithm=\"$1\"/><ds:Reference URI=\"${2:-}\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"
}
RSA_SHA256='http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
ECDSA_SHA256='http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256'
# request DNI [SIGNATURE-TEMPLATE]: the PJ request, with the template last in env:Header.
request() {
    printf '%s' "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:ap=\"$NS\"><env:Header><ap:Consultante><ap:rucEntidad>20000000001</ap:rucEntidad><ap:dniOperador>11111111</ap:dniOperador><ap:motivo>PROCESO DE SELECCION</ap:motivo><ap:procedimiento>CAS-012-2024</ap:procedimiento></ap:Consultante>${2:-}</env:Header><env:Body><ap:ConsultaAntecedentesRequest><ap:documento tipo=\"DNI\">$1</ap:documento></ap:ConsultaAntecedentesRequest></env:Body></env:Envelope>"
}
# signed DNI KEY CERT METHOD OUT: the request signed by the xmlsec1 CLI.
signed() {
    request "$1" "$(signature_template "$4")" > "$WORK/template.xml"
    xmlsec1 --sign --privkey-pem "$2,$3" --output "$5" "$WORK/template.xml" 2>"$WORK/xmlsec.err" \
        || fail "xmlsec1 could not sign: $(cat "$WORK/xmlsec.err")"
}
sign_gw() { signed "$1" "$PKI/gateway-sign.key" "$PKI/gateway-sign.pem" "$RSA_SHA256" "$2"; }
post() { # PORT FILE OUT [CONTENT-TYPE] -> HTTP status
    curl -s -o "$3" -w '%{http_code}' -H "Content-Type: ${4:-$CT}" --data-binary @"$2" \
        "http://127.0.0.1:$1/pj/antecedentes/v1"
}
value() { xmllint --xpath "string(//*[local-name()='$2'][1])" "$1" 2>/dev/null || true; }
attr() { xmllint --xpath "string(//*[local-name()='$2'][1]/@$3)" "$1" 2>/dev/null || true; }

# --- options -----------------------------------------------------------------------------------
"$SIM" --help > "$WORK/help" || fail "--help exited non-zero"
check_contains "$WORK/help" "--trusted-ca" "--help documents --trusted-ca"
expect_exit 2 "no --trusted-ca: exit 2" "$WORK/noca.err" --port 0
check_contains "$WORK/noca.err" "--trusted-ca FILE is required" "no --trusted-ca: says why"
expect_exit 2 "missing CA file: exit 2" "$WORK/badca.err" --trusted-ca "$WORK/missing.pem"
check_contains "$WORK/badca.err" "missing.pem" "missing CA file: names it"
echo "not a certificate" > "$WORK/notcert.pem"
expect_exit 2 "CA file without certificates: exit 2" "$WORK/notcert.err" \
    --trusted-ca "$WORK/notcert.pem"
check_contains "$WORK/notcert.err" "no PEM certificate" "CA file without certificates: says why"

start_sim main --trusted-ca "$PKI/ca.pem"
P=$PORT_main

# --- signatures ----------------------------------------------------------------------------------
request 45678912 > "$WORK/unsigned.xml"
check_eq "unsigned: HTTP 403" "$(post "$P" "$WORK/unsigned.xml" "$WORK/r.xml")" 403
check_eq "unsigned: env:Sender Fault" "$(value "$WORK/r.xml" Value)" "soapenv:Sender"
check_contains "$WORK/r.xml" "no esta firmada" "unsigned: the reason says it is not signed"

sign_gw 45678912 "$WORK/signed.xml"
check_eq "signed by the gateway key: HTTP 200" "$(post "$P" "$WORK/signed.xml" "$WORK/r.xml")" 200
check_eq "signed: resultado SR" "$(attr "$WORK/r.xml" resultado codigo)" SR
check_eq "signed: documento echoed" "$(value "$WORK/r.xml" documento)" 45678912
check_eq "signed: no condenas" "$(xmllint --xpath "count(//*[local-name()='condena'])" "$WORK/r.xml")" 0

signed 45678912 "$PKI/rogue-client.key" "$PKI/rogue-client.pem" "$ECDSA_SHA256" "$WORK/rogue.xml"
xmlsec1 --verify --trusted-pem "$PKI/other-ca.pem" "$WORK/rogue.xml" >/dev/null 2>&1 \
    || fail "the rogue request is not even validly signed for its own CA"
check_eq "signed by another CA: HTTP 403" "$(post "$P" "$WORK/rogue.xml" "$WORK/r.xml")" 403
check_contains "$WORK/r.xml" "firma XML-DSig rechazada" "other CA: the reason says the signature was refused"

sed 's|>45678912<|>66666666<|' "$WORK/signed.xml" > "$WORK/tampered.xml"
check_eq "tampered after signing: HTTP 403" "$(post "$P" "$WORK/tampered.xml" "$WORK/r.xml")" 403
check_contains "$WORK/r.xml" "firma XML-DSig rechazada" "tampered: refused"

# A signature over one element only would leave the rest open to changes.
request 45678912 "$(signature_template "$RSA_SHA256" "#body")" \
    | sed 's|<env:Body>|<env:Body xmlns:wsu="urn:x" Id="body">|' > "$WORK/fragment-template.xml"
xmlsec1 --sign --id-attr:Id Body --privkey-pem "$PKI/gateway-sign.key,$PKI/gateway-sign.pem" \
    --output "$WORK/fragment.xml" "$WORK/fragment-template.xml" 2>"$WORK/xmlsec.err" \
    || fail "xmlsec1 could not sign the fragment: $(cat "$WORK/xmlsec.err")"
check_eq "fragment signature: HTTP 403" "$(post "$P" "$WORK/fragment.xml" "$WORK/r.xml")" 403
check_contains "$WORK/r.xml" 'una sola Reference con URI' "fragment signature: the reason names the rule"

# --- answers -----------------------------------------------------------------------------------
sign_gw 66666666 "$WORK/one.xml"
check_eq "66666666: HTTP 200" "$(post "$P" "$WORK/one.xml" "$WORK/r.xml")" 200
check_eq "66666666: resultado CR" "$(attr "$WORK/r.xml" resultado codigo)" CR
check_eq "66666666: one condena" "$(xmllint --xpath "count(//*[local-name()='condena'])" "$WORK/r.xml")" 1
check_eq "66666666: total attribute" "$(attr "$WORK/r.xml" condenas total)" 1
[[ $(value "$WORK/r.xml" expediente) =~ ^[0-9]{5}-[0-9]{4}-0-[0-9]{4}-JR-PE-[0-9]{2}$ ]] \
    && ok "66666666: expediente well formed" || fail "66666666: expediente '$(value "$WORK/r.xml" expediente)'"
[[ $(value "$WORK/r.xml" fechaSentencia) =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] \
    && ok "66666666: fechaSentencia is a date" || fail "66666666: bad fechaSentencia"
[[ -n $(value "$WORK/r.xml" organo) && -n $(value "$WORK/r.xml" delito) ]] \
    && ok "66666666: organo and delito present" || fail "66666666: organo/delito missing"

sign_gw 77777777 "$WORK/several.xml"
check_eq "77777777: HTTP 200" "$(post "$P" "$WORK/several.xml" "$WORK/r.xml")" 200
n=$(xmllint --xpath "count(//*[local-name()='condena'])" "$WORK/r.xml")
[[ $n -ge 2 && $n -le 4 ]] && ok "77777777: $n condenas" || fail "77777777: $n condenas"
check_eq "77777777: total attribute matches" "$(attr "$WORK/r.xml" condenas total)" "$n"

sign_gw 01234567 "$WORK/ne.xml"
check_eq "01234567: HTTP 200" "$(post "$P" "$WORK/ne.xml" "$WORK/r.xml")" 200
check_eq "01234567: resultado NE" "$(attr "$WORK/r.xml" resultado codigo)" NE

sign_gw 99999999 "$WORK/mt.xml"
check_eq "99999999: HTTP 200" "$(post "$P" "$WORK/mt.xml" "$WORK/r.xml")" 200
check_eq "99999999: resultado MT" "$(attr "$WORK/r.xml" resultado codigo)" MT

sign_gw 88888888 "$WORK/garbage.xml"
check_eq "88888888: HTTP 200" "$(post "$P" "$WORK/garbage.xml" "$WORK/r.xml")" 200
xmllint --noout "$WORK/r.xml" 2>/dev/null && fail "88888888: the answer is well-formed XML" \
    || ok "88888888: the answer is garbage"

sign_gw 4567891X "$WORK/invalid.xml"
check_eq "invalid DNI: HTTP 400" "$(post "$P" "$WORK/invalid.xml" "$WORK/r.xml")" 400
check_contains "$WORK/r.xml" "8 digitos" "invalid DNI: says why"

# --- protocol errors ---------------------------------------------------------------------------
check_eq "SOAP 1.1 Content-Type: 415" \
    "$(post "$P" "$WORK/signed.xml" "$WORK/r.xml" 'text/xml; charset=utf-8')" 415
check_eq "wrong action: 400" \
    "$(post "$P" "$WORK/signed.xml" "$WORK/r.xml" 'application/soap+xml; action="urn:x#Otra"')" 400
check_contains "$WORK/r.xml" "accion desconocida" "wrong action: says why"
check_eq "unquoted action accepted" \
    "$(post "$P" "$WORK/signed.xml" "$WORK/r.xml" 'application/soap+xml;charset=utf-8;action=urn:pj:antecedentes:interno:v1#ConsultaAntecedentes')" 200
check_eq "other path: 404" "$(curl -s -o /dev/null -w '%{http_code}' -H "Content-Type: $CT" \
    --data-binary @"$WORK/signed.xml" "http://127.0.0.1:$P/otra")" 404
printf '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body/></env:Envelope>' > "$WORK/soap11.xml"
check_eq "SOAP 1.1 envelope: 400" "$(post "$P" "$WORK/soap11.xml" "$WORK/r.xml")" 400

# Keep-alive: several signed requests on one connection.
curl -s -H "Content-Type: $CT" --data-binary @"$WORK/signed.xml" \
    -o "$WORK/ka1.xml" "http://127.0.0.1:$P/pj/antecedentes/v1" \
    -o "$WORK/ka2.xml" "http://127.0.0.1:$P/pj/antecedentes/v1"
check_eq "keep-alive: both answered" "$(attr "$WORK/ka1.xml" resultado codigo)$(attr "$WORK/ka2.xml" resultado codigo)" SRSR

# --- injected failures -------------------------------------------------------------------------
start_sim failing --trusted-ca "$PKI/ca.pem" --error-rate 1
check_eq "--error-rate 1: HTTP 500" "$(post "$PORT_failing" "$WORK/signed.xml" "$WORK/r.xml")" 500
check_eq "--error-rate 1: env:Receiver" "$(value "$WORK/r.xml" Value)" "soapenv:Receiver"

echo "all pj-sim checks passed"
