#!/usr/bin/env bash
# test_migraciones_sim.sh — starts migraciones-sim on a free port (--port 0 --port-file) and
# checks its REST/JSON protocol over real HTTP with curl and jq-free JSON checks (python3):
# valid / expired / cancelled / unknown cards, the test numbers (maintenance, invalid JSON,
# wrong shape), the entity parameter, HTTP errors, keep-alive, injected failures, latency,
# option errors and a clean SIGTERM.
set -euo pipefail

SIM=${MIGRACIONES_SIM:-${PIDE_BUILD_DIR:?PIDE_BUILD_DIR not set}/simulators/migraciones/migraciones-sim}
source "$(dirname "${BASH_SOURCE[0]}")/sim_lib.sh"

# get PORT NUMBER OUTFILE [ENTITY] -> prints the HTTP status
get() {
    curl -s -o "$3" -w '%{http_code}' "http://127.0.0.1:$1/api/v1/carnes/$2?entidad=${4:-20000000001}"
}
# js FILE EXPR: evaluates a Python expression over the parsed JSON `d`; prints the result.
js() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

start_sim main --verbose
P=$PORT_main

# A valid card: every field, well formed, and the same number gives the same card.
check_eq "valid status" "$(get "$P" 001234567 "$WORK/ok.json")" 200
check_eq "valid estado" "$(js "$WORK/ok.json" 'd["estado"]')" VIGENTE
check_eq "valid numero" "$(js "$WORK/ok.json" 'd["numero"]')" 001234567
for f in nombres apellidoPaterno nacionalidad sexo fechaNacimiento; do
    [[ -n $(js "$WORK/ok.json" "d['titular']['$f']") ]] || fail "valid: titular.$f empty"
done
[[ $(js "$WORK/ok.json" 'd["fechaVencimiento"]') =~ ^20(3[0-3])-[0-9]{2}-[0-9]{2}$ ]] || fail "fechaVencimiento"
[[ -n $(js "$WORK/ok.json" 'd["calidadMigratoria"]') ]] || fail "calidadMigratoria empty"
check_eq "content type" "$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$P/api/v1/carnes/001234567?entidad=X")" "application/json; charset=utf-8"
get "$P" 001234567 "$WORK/ok2.json" >/dev/null
cmp -s "$WORK/ok.json" "$WORK/ok2.json" || fail "same number, different answers"

check_eq "expired status" "$(get "$P" 444412345 "$WORK/venc.json")" 200
check_eq "expired estado" "$(js "$WORK/venc.json" 'd["estado"]')" VENCIDO
[[ $(js "$WORK/venc.json" 'd["fechaVencimiento"]') < 2024-01-01 ]] || fail "expired card expires in the future"

check_eq "cancelled status" "$(get "$P" 555500001 "$WORK/anul.json")" 200
check_eq "cancelled estado" "$(js "$WORK/anul.json" 'd["estado"]')" ANULADO
[[ -n $(js "$WORK/anul.json" 'd["motivoAnulacion"]') ]] || fail "cancelled card without motivoAnulacion"

check_eq "unknown status" "$(get "$P" 000012345 "$WORK/nf.json")" 404
check_eq "unknown codigo" "$(js "$WORK/nf.json" 'd["error"]["codigo"]')" CARNE_NO_ENCONTRADO

check_eq "invalid number" "$(get "$P" 12345678X "$WORK/inv.json")" 400
check_eq "invalid codigo" "$(js "$WORK/inv.json" 'd["error"]["codigo"]')" NUMERO_INVALIDO
check_eq "maintenance" "$(get "$P" 999999999 "$WORK/mant.json")" 503
check_eq "maintenance codigo" "$(js "$WORK/mant.json" 'd["error"]["codigo"]')" SERVICIO_NO_DISPONIBLE
check_eq "garbage status" "$(get "$P" 888888888 "$WORK/garbage.json")" 200
if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/garbage.json" 2>/dev/null; then
    fail "888888888 answered valid JSON"
fi
check_eq "wrong shape status" "$(get "$P" 777777777 "$WORK/shape.json")" 200
check_eq "wrong shape titular" "$(js "$WORK/shape.json" 'type(d["titular"]).__name__')" list

# The calling institution.
check_eq "blocked entity" "$(get "$P" 001234567 "$WORK/ent.json" BLOQUEADA)" 403
check_eq "blocked codigo" "$(js "$WORK/ent.json" 'd["error"]["codigo"]')" ENTIDAD_NO_AUTORIZADA
check_eq "no entity" "$(curl -s -o "$WORK/noent.json" -w '%{http_code}' "http://127.0.0.1:$P/api/v1/carnes/001234567")" 400
check_eq "no entity codigo" "$(js "$WORK/noent.json" 'd["error"]["codigo"]')" ENTIDAD_REQUERIDA

# Other resources and methods.
check_eq "health" "$(curl -s -o "$WORK/h.json" -w '%{http_code}' "http://127.0.0.1:$P/api/v1/salud")" 200
check_eq "health estado" "$(js "$WORK/h.json" 'd["estado"]')" OK
check_eq "unknown path" "$(curl -s -o "$WORK/p.json" -w '%{http_code}' "http://127.0.0.1:$P/api/v2/carnes/001234567")" 404
check_eq "unknown path codigo" "$(js "$WORK/p.json" 'd["error"]["codigo"]')" RECURSO_NO_ENCONTRADO
check_eq "nested path" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/api/v1/carnes/001234567/x?entidad=A")" 404
check_eq "POST" "$(curl -s -o /dev/null -w '%{http_code}' -d x "http://127.0.0.1:$P/api/v1/carnes/001234567?entidad=A")" 405

# Keep-alive: two requests over one connection.
connects=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' \
    "http://127.0.0.1:$P/api/v1/carnes/123456789?entidad=A" "http://127.0.0.1:$P/api/v1/carnes/123456780?entidad=A")
check_eq "keep-alive connects" "$connects" "1 0 "
grep -q 'GET /api/v1/carnes/001234567?entidad=20000000001 -> 200' "$WORK/main.err" || fail "--verbose logs no request line"

# Injected failures: --error-rate 1 answers every request with a JSON 500.
start_sim failing --error-rate 1 --seed 7
check_eq "injected failure" "$(get "$PORT_failing" 001234567 "$WORK/inj.json")" 500
check_eq "injected codigo" "$(js "$WORK/inj.json" 'd["error"]["codigo"]')" ERROR_INTERNO
[[ ! -s $WORK/failing.err ]] || fail "logged without --verbose: $(cat "$WORK/failing.err")"

# Latency.
start_sim slow --latency-ms 300
t=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT_slow/api/v1/carnes/001234567?entidad=A")
awk -v t="$t" 'BEGIN { exit !(t >= 0.29) }' || fail "--latency-ms 300 answered in ${t}s"

# Option errors exit 2 with a message naming the option.
expect_exit 2 "bad option exit" "$WORK/opt.err" --latency-ms x
grep -q -- '--latency-ms' "$WORK/opt.err" || fail "bad option message: $(cat "$WORK/opt.err")"
"$SIM" --help | grep -q -- '/api/v1/carnes' || fail "--help does not describe the protocol"

# SIGTERM stops it cleanly (exit 0), even with a keep-alive connection open.
expect_clean_sigterm main

echo "test_migraciones_sim: all checks passed"
