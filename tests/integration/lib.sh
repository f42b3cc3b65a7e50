# lib.sh — sourced by integration tests: starts the real stack (provider simulators and the
# gateway, on free loopback ports) against the PostgreSQL cluster and PKI that ctest's fixtures
# made, and offers small assertions. Everything started here is stopped on exit.
set -euo pipefail

: "${PIDE_SOURCE_DIR:?run through ctest}" "${PIDE_BUILD_DIR:?run through ctest}"
: "${PIDE_TEST_PG_DIR:?}" "${PIDE_TEST_PKI_DIR:?}"

mkdir -p "$PIDE_BUILD_DIR/test-run"
T=$(mktemp -d "$PIDE_BUILD_DIR/test-run/$(basename "$0" .sh).XXXXXX")
GATEWAY_BIN="$PIDE_BUILD_DIR/gateway/pide-gateway"
failures=0
started_pids=()

stop_all() {
  local p
  for p in "${started_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${started_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  started_pids=()
}
on_exit() {
  local rc=$?
  stop_all
  # Under ENABLE_SANITIZERS a report from the gateway only lands in its log: make it a failure.
  if [ -f "$T/gateway.log" ] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/gateway.log"; then
    echo "FAIL: the gateway reported a sanitizer error (see $T/gateway.log)" >&2
    failures=$((failures + 1))
    rc=99
  fi
  if [ "$rc" -ne 0 ] || [ "$failures" -ne 0 ]; then
    echo "--- logs kept in $T"
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f (tail)"; tail -n 30 "$f"; }; done
  fi
  # Otherwise the script's own exit status stands (a trap that does not exit keeps it).
  [ "$rc" -eq 99 ] && exit 99
  return 0
}
trap on_exit EXIT

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
assert_eq() { # expected actual what
  if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: expected '$1', got '$2'"; fi
}
assert_contains() { # haystack-file needle what
  if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3: '$2' not in $1"; fi
}
assert_not_contains() {
  if grep -qF -- "$2" "$1"; then fail "$3: '$2' found in $1"; else pass "$3"; fi
}
finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures assertion(s) failed"; exit 1; fi
  echo "all assertions passed"
}

# wait_port_file FILE PID: the port a server wrote once listening.
wait_port_file() {
  local i
  for i in $(seq 1 200); do
    [ -s "$1" ] && { cat "$1"; return 0; }
    kill -0 "$2" 2>/dev/null || { echo "server exited before listening" >&2; return 1; }
    sleep 0.05
  done
  echo "timed out waiting for $1" >&2
  return 1
}

# start_sim NAME [options]: starts simulators/NAME/NAME-sim on a free port; sets
# ${NAME^^}_PORT and ${NAME^^}_PID (e.g. RENIEC_PORT).
start_sim() {
  local name=$1; shift
  local upper=${name^^} pid port
  rm -f "$T/$name.port"
  "$PIDE_BUILD_DIR/simulators/$name/$name-sim" --port 0 --port-file "$T/$name.port" "$@" \
    2>>"$T/$name.log" &
  pid=$!
  started_pids+=("$pid")
  port=$(wait_port_file "$T/$name.port" "$pid")
  printf -v "${upper}_PORT" '%s' "$port"
  printf -v "${upper}_PID" '%s' "$pid"
}
start_reniec_sim() { start_sim reniec "$@"; }

# write_config [reniec-endpoint]: the demo configuration (conf/demo.xml) with this run's ports,
# keys, database and absolute paths, so the configuration `make demo` uses is the one tested.
# Providers point at the simulators started with start_sim (RENIEC_PORT, MIGRACIONES_PORT,
# PJ_PORT, SUNAT_PORT, JNE_PORT); one not started keeps its demo port, where nothing listens.
write_config() {
  local endpoint=${1:-http://127.0.0.1:${RENIEC_PORT:-8091}/padron/v2/ciudadano}
  local conninfo
  conninfo=$(cat "$PIDE_TEST_PG_DIR/conninfo")
  sed -e "s|port=\"8080\"|port=\"0\"|" -e "s|port=\"8443\"|port=\"0\"|" -e "s|port=\"9090\"|port=\"0\"|" \
      -e "s|host=127.0.0.1 port=54329 dbname=pide user=pide_gateway|$conninfo|" \
      -e "s|host=127.0.0.1 port=54329 dbname=pide user=pide_auditor|${conninfo/user=pide_gateway/user=pide_auditor}|" \
      -e "s|\.\./var/pg/|$PIDE_TEST_PG_DIR/|g" \
      -e "s|\.\./var/pki/|$PIDE_TEST_PKI_DIR/|g" \
      -e "s|\.\./build/adapters|$PIDE_BUILD_DIR/adapters|g" \
      -e "s|\.\./wsdl/|$PIDE_SOURCE_DIR/wsdl/|g" \
      -e "s|\.\./schemas/|$PIDE_SOURCE_DIR/schemas/|g" \
      -e "s|http://127.0.0.1:8091/padron/v2/ciudadano|$endpoint|" \
      -e "s|http://127.0.0.1:8092/|http://127.0.0.1:${MIGRACIONES_PORT:-8092}/|" \
      -e "s|http://127.0.0.1:8093/|http://127.0.0.1:${PJ_PORT:-8093}/|" \
      -e "s|http://127.0.0.1:8094/|http://127.0.0.1:${TSA_PORT:-8094}/|" \
      -e "s|http://127.0.0.1:8095/|http://127.0.0.1:${SUNAT_PORT:-8095}/|" \
      -e "s|value=\"sunat/|value=\"$PIDE_SOURCE_DIR/conf/sunat/|g" \
      -e "s|value=\"migraciones-rest/|value=\"$PIDE_SOURCE_DIR/conf/migraciones-rest/|g" \
      -e "s|http://127.0.0.1:8096/|http://127.0.0.1:${JNE_PORT:-8096}/|" \
      -e "s|value=\"schemas/|value=\"$PIDE_SOURCE_DIR/schemas/|g" \
      "$PIDE_SOURCE_DIR/conf/demo.xml" > "$T/gateway.xml"
  # Without a TSA started (start_sim tsa), checkpoints are signed but not stamped, so a test
  # that does not care about stamps is never refused for their lack.
  [ -n "${TSA_PORT:-}" ] || sed -i -e 's| timestampUrl="[^"]*"||' "$T/gateway.xml"
  CONFIG="$T/gateway.xml"
}

# start_gateway [options]: sets GW_PORT and GW_URL (plain listener), GW_TLS_PORT and GW_TLS_URL
# (member listener, mutual TLS), ADMIN_PORT and ADMIN_URL (admin listener, when configured).
start_gateway() {
  rm -f "$T/gateway.port" "$T/gateway-tls.port" "$T/gateway-admin.port"
  "$GATEWAY_BIN" --config "$CONFIG" --port-file "$T/gateway.port" \
    --tls-port-file "$T/gateway-tls.port" --admin-port-file "$T/gateway-admin.port" "$@" \
    2>>"$T/gateway.log" &
  started_pids+=($!)
  GW_PID=$!
  GW_PORT=$(wait_port_file "$T/gateway.port" "$GW_PID")
  GW_URL="http://127.0.0.1:$GW_PORT"
  GW_TLS_PORT=$(wait_port_file "$T/gateway-tls.port" "$GW_PID")
  GW_TLS_URL="https://127.0.0.1:$GW_TLS_PORT"
  ADMIN_PORT=
  if grep -q '<admin ' "$CONFIG"; then ADMIN_PORT=$(wait_port_file "$T/gateway-admin.port" "$GW_PID"); fi
  ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"
}

# soap_post SERVICE FILE OUT: POSTs FILE, body to OUT, headers to OUT.headers; prints the status.
soap_post() {
  curl -s -o "$3" -D "$3.headers" -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' \
       -H 'SOAPAction: ""' --data-binary @"$2" "$GW_URL/services/$1"
}

# exchange_id_of OUT: the X-Pide-Exchange-Id of a response saved by soap_post.
exchange_id_of() { tr -d '\r' < "$1.headers" | sed -n 's/^X-Pide-Exchange-Id: //Ip'; }

# xml_value FILE LOCALNAME: text of the first element with that local name.
xml_value() { xmllint --xpath "string(//*[local-name()='$2'][1])" "$1" 2>/dev/null || true; }

# log_sql SQL: runs a query on the exchange log as the gateway's role, unaligned output.
log_sql() {
  PGPASSWORD=$(cat "$PIDE_TEST_PG_DIR/gateway.password") \
    psql "$(cat "$PIDE_TEST_PG_DIR/conninfo")" -X -At -v ON_ERROR_STOP=1 -c "$1"
}
