#!/usr/bin/env bash
# test_reniec_sim.sh — starts reniec-sim on a free port (--port 0 --port-file) and checks its
# protocol over real HTTP with curl: answers for found / not found / deceased / restricted DNIs,
# keep-alive, malformed requests, injected failures, latency, option errors, clean SIGTERM.
set -euo pipefail

SIM=${RENIEC_SIM:-${PIDE_BUILD_DIR:?PIDE_BUILD_DIR not set}/simulators/reniec/reniec-sim}
source "$(dirname "${BASH_SOURCE[0]}")/sim_lib.sh"

ACTION='SOAPAction: "urn:reniec:padron:interno:v2#ConsultarCiudadano"'
request() { # DNI [ENTITY]
    printf '%s' "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:rp=\"urn:reniec:padron:interno:v2\"><soapenv:Body><rp:ConsultarCiudadanoRequest><rp:numeroDocumento>$1</rp:numeroDocumento><rp:codigoEntidad>${2:-PIDE-GW}</rp:codigoEntidad></rp:ConsultarCiudadanoRequest></soapenv:Body></soapenv:Envelope>"
}
# post PORT BODY OUTFILE -> prints the HTTP status
post() {
    curl -s -o "$3" -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' -H "$ACTION" \
        --data-binary "$2" "http://127.0.0.1:$1/padron/v2/ciudadano"
}
xp() { xmllint --xpath "$1" "$2" 2>/dev/null || true; }

start_sim main --verbose
P=$PORT_main

# Found: every field of the internal layout, and the same DNI gives the same citizen.
check_eq "found status" "$(post "$P" "$(request 45678912)" "$WORK/found.xml")" 200
check_eq "found estado" "$(xp 'string(//*[local-name()="estado"]/@codigo)' "$WORK/found.xml")" 00
for f in nombres apellidoPaterno apellidoMaterno direccion ubigeo fotografia; do
    v=$(xp "string(//*[local-name()='ciudadano']//*[local-name()='$f'])" "$WORK/found.xml")
    [[ -n $v ]] || fail "found: <$f> empty or missing"
done
[[ $(xp 'string(//*[local-name()="ubigeo"])' "$WORK/found.xml") =~ ^[0-9]{6}$ ]] || fail "ubigeo not 6 digits"
[[ $(xp 'string(//*[local-name()="estadoCivil"]/@codigo)' "$WORK/found.xml") =~ ^[SCVD]$ ]] || fail "estadoCivil@codigo"
xp 'string(//*[local-name()="fotografia"])' "$WORK/found.xml" | base64 -d > "$WORK/photo.jpg"
[[ $(head -c 2 "$WORK/photo.jpg" | od -An -tx1 | tr -d ' ') == ffd8 ]] || fail "fotografia is not a JPEG"
post "$P" "$(request 45678912)" "$WORK/found2.xml" >/dev/null
cmp -s "$WORK/found.xml" "$WORK/found2.xml" || fail "same DNI, different answers"

check_eq "not found status" "$(post "$P" "$(request 01234567)" "$WORK/nf.xml")" 200
check_eq "not found estado" "$(xp 'string(//*[local-name()="estado"]/@codigo)' "$WORK/nf.xml")" 01
check_eq "not found has no ciudadano" "$(xp 'count(//*[local-name()="ciudadano"])' "$WORK/nf.xml")" 0

post "$P" "$(request 44444444)" "$WORK/dead.xml" >/dev/null
check_eq "deceased estado" "$(xp 'string(//*[local-name()="estado"]/@codigo)' "$WORK/dead.xml")" 02
[[ $(xp 'string(//*[local-name()="fechaFallecimiento"])' "$WORK/dead.xml") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || fail "fechaFallecimiento"

post "$P" "$(request 55555555)" "$WORK/restr.xml" >/dev/null
check_eq "restricted estado" "$(xp 'string(//*[local-name()="estado"]/@codigo)' "$WORK/restr.xml")" 03
check_eq "restricted hides domicilio" "$(xp 'count(//*[local-name()="domicilio"])' "$WORK/restr.xml")" 0

post "$P" "$(request 1234567X)" "$WORK/inv.xml" >/dev/null
check_eq "invalid DNI estado" "$(xp 'string(//*[local-name()="estado"]/@codigo)' "$WORK/inv.xml")" 10
post "$P" "$(request 45678912 BLOQUEADA)" "$WORK/ent.xml" >/dev/null
check_eq "blocked entity estado" "$(xp 'string(//*[local-name()="estado"]/@codigo)' "$WORK/ent.xml")" 20
post "$P" "$(request 99999999)" "$WORK/mant.xml" >/dev/null
check_eq "maintenance estado" "$(xp 'string(//*[local-name()="estado"]/@codigo)' "$WORK/mant.xml")" 90

# Malformed requests: SOAP Client faults with HTTP 500, HTTP-level errors with 4xx/5xx.
check_eq "not XML" "$(post "$P" 'this is not xml' "$WORK/bad.xml")" 500
check_eq "not XML faultcode" "$(xp 'string(//faultcode)' "$WORK/bad.xml")" soapenv:Client
check_eq "not an envelope" "$(post "$P" '<a/>' "$WORK/bad2.xml")" 500
check_eq "wrong payload" "$(post "$P" "$(request 45678912 | sed 's/ConsultarCiudadanoRequest/Otra/g')" "$WORK/bad3.xml")" 500
check_eq "DTD refused" "$(post "$P" '<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>' "$WORK/bad4.xml")" 500
check_eq "missing SOAPAction" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/xml' -H 'SOAPAction:' --data-binary "$(request 45678912)" "http://127.0.0.1:$P/padron/v2/ciudadano")" 500
check_eq "GET" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/padron/v2/ciudadano")" 405
check_eq "unknown path" "$(curl -s -o /dev/null -w '%{http_code}' -d x "http://127.0.0.1:$P/otra")" 404
check_eq "wrong media type" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H "$ACTION" -d '{}' "http://127.0.0.1:$P/padron/v2/ciudadano")" 415
raw() { # sends raw bytes, prints the status line's code
    exec 3<>"/dev/tcp/127.0.0.1/$P"
    printf "$1" >&3
    head -n1 <&3 | awk '{print $2}'
    exec 3<&-
}
check_eq "garbage request line" "$(raw 'HELLO\r\n\r\n')" 400
check_eq "chunked body" "$(raw 'POST /padron/v2/ciudadano HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')" 501
check_eq "POST without length" "$(raw 'POST /padron/v2/ciudadano HTTP/1.1\r\nHost: x\r\n\r\n')" 411

# Keep-alive: two requests over one connection.
connects=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' -H 'Content-Type: text/xml' \
    -H "$ACTION" --data-binary "$(request 12345678)" \
    "http://127.0.0.1:$P/padron/v2/ciudadano" "http://127.0.0.1:$P/padron/v2/ciudadano")
check_eq "keep-alive connects" "$connects" "1 0 "

grep -q '#0 POST /padron/v2/ciudadano -> 200' "$WORK/main.err" || fail "--verbose logs no request line"

# Injected failures: --error-rate 1 answers every request with a Server fault.
start_sim failing --error-rate 1 --seed 7
check_eq "injected failure" "$(post "$PORT_failing" "$(request 45678912)" "$WORK/inj.xml")" 500
check_eq "injected faultcode" "$(xp 'string(//faultcode)' "$WORK/inj.xml")" soapenv:Server
[[ ! -s $WORK/failing.err ]] || fail "logged without --verbose: $(cat "$WORK/failing.err")"

# Latency.
start_sim slow --latency-ms 300
t=$(curl -s -o /dev/null -w '%{time_total}' -H 'Content-Type: text/xml' -H "$ACTION" \
    --data-binary "$(request 45678912)" "http://127.0.0.1:$PORT_slow/padron/v2/ciudadano")
awk -v t="$t" 'BEGIN { exit !(t >= 0.29) }' || fail "--latency-ms 300 answered in ${t}s"

# Option errors exit 2 with a message naming the option.
expect_exit 2 "bad option exit" "$WORK/opt.err" --error-rate 2
grep -q -- '--error-rate' "$WORK/opt.err" || fail "bad option message: $(cat "$WORK/opt.err")"
"$SIM" --help | grep -q -- '--port-file' || fail "--help lacks --port-file"

# SIGTERM stops it cleanly (exit 0), even with a keep-alive connection open.
expect_clean_sigterm main

echo "test_reniec_sim: all checks passed"
