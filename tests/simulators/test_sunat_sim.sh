#!/usr/bin/env bash
# test_sunat_sim.sh — starts sunat-sim on a free port (--port 0 --port-file) and checks its Axis 1
# RPC/encoded protocol over real HTTP with curl: the multiRef answer, xsi:nil for an unknown RUC,
# BAJA / NO HABIDO, Axis-style Faults for an invalid RUC and malformed requests, garbage, the
# dangling href, injected failures, latency, option errors, clean SIGTERM.
set -euo pipefail

SIM=${SUNAT_SIM:-${PIDE_BUILD_DIR:?PIDE_BUILD_DIR not set}/simulators/sunat/sunat-sim}
source "$(dirname "${BASH_SOURCE[0]}")/sim_lib.sh"

request() { # RUC
    printf '%s' "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:ser=\"http://ws.registro.servicio.sunat.gob.pe\"><soapenv:Body><ser:getDatosPrincipales soapenv:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><numRuc xsi:type=\"xsd:string\">$1</numRuc></ser:getDatosPrincipales></soapenv:Body></soapenv:Envelope>"
}
post() { # PORT BODY OUT -> status
    curl -s -o "$3" -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
        --data-binary "$2" "http://127.0.0.1:$1/axis/services/ConsultaRuc"
}
xp() { xmllint --xpath "$1" "$2" 2>/dev/null || true; }

start_sim main --verbose
P=$PORT_main

check_eq "found status" "$(post "$P" "$(request 20100070970)" "$WORK/found.xml")" 200
check_eq "found href" "$(xp 'string(//getDatosPrincipalesReturn/@href)' "$WORK/found.xml")" "#id0"
check_eq "multiRef id" "$(xp 'string(//multiRef/@id)' "$WORK/found.xml")" id0
check_eq "multiRef type" "$(xp 'string(//multiRef/@*[local-name()="type"])' "$WORK/found.xml")" ns2:BeanDdp
check_eq "multiRef root=0" "$(xp 'string(//multiRef/@*[local-name()="root"])' "$WORK/found.xml")" 0
check_eq "ddp_numruc" "$(xp 'string(//multiRef/ddp_numruc)' "$WORK/found.xml")" 20100070970
check_eq "ddp_* typed xsd:string" "$(xp 'count(//multiRef/*[starts-with(local-name(),"ddp_") and not(@*[local-name()="type"]="xsd:string")])' "$WORK/found.xml")" 0
check_eq "desc_estado" "$(xp 'string(//multiRef/desc_estado)' "$WORK/found.xml")" ACTIVO
check_eq "esActivo" "$(xp 'string(//multiRef/esActivo)' "$WORK/found.xml")" true
post "$P" "$(request 20100070970)" "$WORK/found2.xml" >/dev/null
cmp -s "$WORK/found.xml" "$WORK/found2.xml" || fail "same RUC, different answers"

check_eq "not found status" "$(post "$P" "$(request 20999999990)" "$WORK/nf.xml")" 200
check_eq "not found nil" "$(xp 'string(//getDatosPrincipalesReturn/@*[local-name()="nil"])' "$WORK/nf.xml")" true
post "$P" "$(request 20888888889)" "$WORK/baja.xml" >/dev/null
check_eq "BAJA" "$(xp 'string(//multiRef/desc_estado)' "$WORK/baja.xml")" "BAJA DEFINITIVA"
post "$P" "$(request 20777777778)" "$WORK/nh.xml" >/dev/null
check_eq "NO HABIDO" "$(xp 'string(//multiRef/desc_flag22)' "$WORK/nh.xml")" "NO HABIDO"
check_eq "NO HABIDO esHabido" "$(xp 'string(//multiRef/esHabido)' "$WORK/nh.xml")" false

check_eq "invalid RUC status" "$(post "$P" "$(request 20100070971)" "$WORK/inv.xml")" 500
check_eq "invalid RUC faultcode" "$(xp 'string(//faultcode)' "$WORK/inv.xml")" soapenv:Server.userException
check_contains "$WORK/inv.xml" "RucInvalidoException" "invalid RUC: Axis exception name"
check_eq "db down" "$(post "$P" "$(request 20666666667)" "$WORK/db.xml")" 500
check_eq "db down faultcode" "$(xp 'string(//faultcode)' "$WORK/db.xml")" soapenv:Server.generalException
check_eq "garbage status" "$(post "$P" "$(request 20555555556)" "$WORK/garbage.xml")" 200
check_contains "$WORK/garbage.xml" "<html>" "garbage: an HTML page"
post "$P" "$(request 20444444445)" "$WORK/dangling.xml" >/dev/null
check_eq "dangling href" "$(xp 'count(//multiRef[@id="id0"])' "$WORK/dangling.xml")" 0

# Malformed requests: Faults as Axis writes them.
check_eq "not XML" "$(post "$P" "<x" "$WORK/bad.xml")" 500
check_eq "not XML faultcode" "$(xp 'string(//faultcode)' "$WORK/bad.xml")" soapenv:Server.userException
post "$P" '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><foo/></soapenv:Body></soapenv:Envelope>' "$WORK/op.xml" >/dev/null
check_eq "unknown operation" "$(xp 'string(//faultstring)' "$WORK/op.xml")" "No such operation 'foo'"
post "$P" "$(request 20100070970 | sed 's|</numRuc>|</numRuc><numRuc>1</numRuc>|')" "$WORK/two.xml" >/dev/null
check_eq "two numRuc" "$(xp 'string(//faultcode)' "$WORK/two.xml")" soapenv:Client
check_eq "no SOAPAction" "$(curl -s -o "$WORK/noact.xml" -w '%{http_code}' -H 'Content-Type: text/xml' --data-binary "$(request 20100070970)" "http://127.0.0.1:$P/axis/services/ConsultaRuc")" 500
check_eq "no SOAPAction faultstring" "$(xp 'string(//faultstring)' "$WORK/noact.xml")" "no SOAPAction header!"
check_eq "DTD refused" "$(post "$P" "<!DOCTYPE x [<!ENTITY e \"e\">]>$(request 20100070970)" "$WORK/dtd.xml")" 500
check_eq "wrong path" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/xml' -H 'SOAPAction: ""' --data-binary "$(request 20100070970)" "http://127.0.0.1:$P/other")" 404
grep -q 'POST /axis/services/ConsultaRuc -> 200' "$WORK/main.err" || fail "--verbose logs no request line"

start_sim failing --error-rate 1 --seed 7
check_eq "injected failure" "$(post "$PORT_failing" "$(request 20100070970)" "$WORK/inj.xml")" 500
check_eq "injected faultcode" "$(xp 'string(//faultcode)' "$WORK/inj.xml")" soapenv:Server.generalException

start_sim slow --latency-ms 300
t=$(curl -s -o /dev/null -w '%{time_total}' -H 'Content-Type: text/xml' -H 'SOAPAction: ""' \
    --data-binary "$(request 20100070970)" "http://127.0.0.1:$PORT_slow/axis/services/ConsultaRuc")
awk -v t="$t" 'BEGIN { exit !(t >= 0.29) }' || fail "--latency-ms 300 answered in ${t}s"

expect_exit 2 "bad option exit" "$WORK/opt.err" --latency-ms x
"$SIM" --help | grep -q -- '--port-file' || fail "--help lacks --port-file"
expect_clean_sigterm main

echo "test_sunat_sim: all checks passed"
