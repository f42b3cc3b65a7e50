#!/usr/bin/env bash
# test_jne_sim.sh — starts jne-sim on a free port and checks its protocol over real HTTP with curl:
# SOAP 1.2 answers for the special DNIs, SOAP 1.1 only with --soap11, and with --require-wss only
# calls carrying a WS-Security signature made by pide-wss-sign (the gateway's signing code) with a
# certificate of that CA: unsigned, foreign-CA-signed, tampered and expired calls get a Sender
# Fault wsse:InvalidSecurity; injected failures and option errors.
# ctest-fixtures: pki
set -euo pipefail

SIM=${JNE_SIM:-${PIDE_BUILD_DIR:?PIDE_BUILD_DIR not set}/simulators/jne/jne-sim}
SIGN=$PIDE_BUILD_DIR/tools/pide-wss-sign
PKI=${PIDE_TEST_PKI_DIR:?PIDE_TEST_PKI_DIR not set (ctest fixture pki)}
source "$(dirname "${BASH_SOURCE[0]}")/sim_lib.sh"

S12=http://www.w3.org/2003/05/soap-envelope
S11=http://schemas.xmlsoap.org/soap/envelope/
request() { # DNI [ENVELOPE-NS]
    printf '%s' "<e:Envelope xmlns:e=\"${2:-$S12}\" xmlns:jne=\"urn:jne:padron:v1\"><e:Body><jne:ConsultaElector><numeroDni>$1</numeroDni><rucEntidad>20000000001</rucEntidad></jne:ConsultaElector></e:Body></e:Envelope>"
}
post() { # PORT FILE OUT [CONTENT-TYPE] -> HTTP status
    curl -s -o "$3" -w '%{http_code}' -H "Content-Type: ${4:-application/soap+xml; charset=utf-8}" \
        --data-binary @"$2" "http://127.0.0.1:$1/jne/padron/v1"
}
value() { xmllint --xpath "string(//*[local-name()='$2'][1])" "$1" 2>/dev/null || true; }

# --- options -------------------------------------------------------------------------------------
"$SIM" --help > "$WORK/help" || fail "--help exited non-zero"
check_contains "$WORK/help" "--require-wss" "--help names --require-wss"
expect_exit 2 "--require-wss without a file" "$WORK/e1" --require-wss
expect_exit 2 "--require-wss with a missing CA file" "$WORK/e2" --require-wss /nonexistent.pem --port 0
check_contains "$WORK/e2" "--require-wss" "the CA error names the option"

# --- SOAP 1.2, and 1.1 only with --soap11 --------------------------------------------------------
start_sim plain
request 45678912 > "$WORK/found.xml"
check_eq "found: HTTP 200" "$(post "$PORT_plain" "$WORK/found.xml" "$WORK/found.out")" 200
check_eq "found: codigo 0000" "$(value "$WORK/found.out" codigo)" 0000
check_eq "found: the same DNI" "$(value "$WORK/found.out" numeroDni)" 45678912
check_eq "found: rucEntidad heard" "$(value "$WORK/found.out" rucEntidad)" 20000000001
request 10000001 > "$WORK/nf.xml"
post "$PORT_plain" "$WORK/nf.xml" "$WORK/nf.out" >/dev/null
check_eq "not on the register: codigo 0001" "$(value "$WORK/nf.out" codigo)" 0001
request 45678912 "$S11" > "$WORK/v11.xml"
check_eq "SOAP 1.1 without --soap11: 415" "$(post "$PORT_plain" "$WORK/v11.xml" "$WORK/v11.out" 'text/xml; charset=utf-8')" 415
check_contains "$WORK/plain.err" "SOAP 1.2 rucEntidad=20000000001 signed=not-required" "one line per call, no DNI"
grep -q 45678912 "$WORK/plain.err" && fail "the log line carries a DNI" || ok "the log carries no DNI"
start_sim both --soap11
check_eq "SOAP 1.1 with --soap11: 200" "$(post "$PORT_both" "$WORK/v11.xml" "$WORK/v11b.out" 'text/xml; charset=utf-8')" 200
grep -qF "$S11" "$WORK/v11b.out" && ok "SOAP 1.1 answered in 1.1" || fail "not a 1.1 answer: $(cat "$WORK/v11b.out")"
request 99999990 "$S11" > "$WORK/f11.xml"
post "$PORT_both" "$WORK/f11.xml" "$WORK/f11.out" 'text/xml; charset=utf-8' >/dev/null
check_eq "SOAP 1.1 Fault: faultcode" "$(value "$WORK/f11.out" faultcode)" soapenv:Server

# --- --require-wss --------------------------------------------------------------------------------
start_sim wss --require-wss "$PKI/ca.pem" --soap11
post_expect_refused() { # label file reason
    check_eq "$1: HTTP 400" "$(post "$PORT_wss" "$2" "$WORK/r.out")" 400
    check_eq "$1: subcode wsse:InvalidSecurity" \
        "$(xmllint --xpath 'string(//*[local-name()="Subcode"]/*[local-name()="Value"])' "$WORK/r.out")" \
        wsse:InvalidSecurity
    check_contains "$WORK/r.out" "$3" "$1: the reason"
}
post_expect_refused unsigned "$WORK/found.xml" "se requiere una firma WS-Security"
"$SIGN" --key "$PKI/gateway-sign.key" --cert "$PKI/gateway-sign.pem" "$WORK/found.xml" > "$WORK/signed.xml"
check_eq "signed: HTTP 200" "$(post "$PORT_wss" "$WORK/signed.xml" "$WORK/signed.out")" 200
check_eq "signed: codigo 0000" "$(value "$WORK/signed.out" codigo)" 0000
check_contains "$WORK/wss.err" "signed=yes" "signed: the register logs the verified signature"
sed 's|<numeroDni>45678912</numeroDni>|<numeroDni>10000001</numeroDni>|' "$WORK/signed.xml" > "$WORK/tampered.xml"
post_expect_refused "tampered Body" "$WORK/tampered.xml" "firma invalida"
"$SIGN" --key "$PKI/rogue-client.key" --cert "$PKI/rogue-client.pem" "$WORK/found.xml" > "$WORK/rogue.xml"
post_expect_refused "foreign CA" "$WORK/rogue.xml" "certificado no confiable"
"$SIGN" --key "$PKI/gateway-sign.key" --cert "$PKI/gateway-sign.pem" --created-offset -1000 --ttl 300 \
    "$WORK/found.xml" > "$WORK/expired.xml"
post_expect_refused expired "$WORK/expired.xml" "vencido"
request 45678912 "$S11" > "$WORK/u11.xml"
"$SIGN" --key "$PKI/gateway-sign.key" --cert "$PKI/gateway-sign.pem" "$WORK/u11.xml" > "$WORK/s11.xml"
check_eq "signed SOAP 1.1: HTTP 200" "$(post "$PORT_wss" "$WORK/s11.xml" "$WORK/s11.out" 'text/xml; charset=utf-8')" 200
check_eq "unsigned SOAP 1.1: faultcode wsse:InvalidSecurity, HTTP 500" \
    "$(post "$PORT_wss" "$WORK/u11.xml" "$WORK/u11.out" 'text/xml; charset=utf-8') $(value "$WORK/u11.out" faultcode)" \
    "500 wsse:InvalidSecurity"

# --- injected failures, clean stop ----------------------------------------------------------------
start_sim failing --error-rate 1 --seed 7
check_eq "--error-rate 1: HTTP 500" "$(post "$PORT_failing" "$WORK/found.xml" "$WORK/inj.out")" 500
check_contains "$WORK/inj.out" "falla simulada" "--error-rate 1: a Receiver Fault"
expect_clean_sigterm plain
echo "all jne-sim checks passed"
