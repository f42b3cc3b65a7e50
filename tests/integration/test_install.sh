#!/usr/bin/env bash
# test_install.sh — the gateway as an operator installs it (docs/operator-guide.md): `cmake
# --install` into a fresh prefix lays out programs, adapters, WSDLs, schemas, migrations, the
# example configuration and the systemd unit; the installed pide-gateway-migrate creates and
# migrates a new database; the installed daemon, started with the installed example configuration
# (only ports, conninfo, keys and the legacy password hash changed, the documented way), answers a
# RENIEC consultation through the simulator and logs it; it tells systemd READY=1 and STOPPING=1.
# The unit passes `systemd-analyze verify` when that tool exists.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
unset PIDE_SCHEMA_DIR

PREFIX="$T/prefix"
LIBDIR=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$PIDE_BUILD_DIR/CMakeCache.txt")
cmake --install "$PIDE_BUILD_DIR" --prefix "$PREFIX" > "$T/install.log"

# --- layout ------------------------------------------------------------------------------------
for f in bin/pide-gateway bin/pide-gateway-migrate bin/pide-audit bin/pide-audit-verify \
         bin/pide-adapter-check bin/pide-wss-sign bin/pide-rest-verify; do
  [ -x "$PREFIX/$f" ] && pass "layout: $f" || fail "layout: no executable $f"
done
for f in "$LIBDIR/pide-gateway/adapters/pide_adapter_reniec.so" \
         share/pide-gateway/wsdl/ReniecConsultaDni.wsdl share/pide-gateway/wsdl/PideMetaservices.wsdl \
         share/pide-gateway/schemas/gateway-config.xsd share/pide-gateway/schemas/reniec-consulta.xsd \
         share/pide-gateway/sql/migrations/0001_exchange_log.sql \
         etc/pide-gateway/pide-gateway.xml lib/systemd/system/pide-gateway.service \
         lib/sysusers.d/pide-gateway.conf include/pide_adapter.h "$LIBDIR/pkgconfig/pide-adapter.pc"; do
  [ -f "$PREFIX/$f" ] && pass "layout: $f" || fail "layout: no $f"
done
[ -d "$PREFIX/var/lib/pide-gateway" ] && pass "layout: var/lib/pide-gateway" || fail "layout: no var/lib/pide-gateway"
assert_eq "$(ls "$PIDE_SOURCE_DIR"/sql/migrations/ | grep -c '^[0-9]\{4\}_.*\.sql$')" \
  "$(ls "$PREFIX/share/pide-gateway/sql/migrations/" | grep -c '\.sql$')" "layout: every migration installed"
CONF="$PREFIX/etc/pide-gateway/pide-gateway.xml"
assert_contains "$CONF" "adapterDir=\"$PREFIX/$LIBDIR/pide-gateway/adapters\"" "example config: names the installed adapters"
assert_contains "$CONF" "wsdl=\"$PREFIX/share/pide-gateway/wsdl/ReniecConsultaDni.wsdl\"" "example config: names the installed WSDL"
assert_not_contains "$CONF" "../" "example config: no path into the source tree"
assert_contains "$PREFIX/lib/systemd/system/pide-gateway.service" \
  "ExecStart=$PREFIX/bin/pide-gateway --config $CONF" "unit: runs the installed daemon on the installed config"

# --- the installed example is accepted as installed, with the installed schemas -----------------
set +e
(cd / && "$PREFIX/bin/pide-gateway" --config "$CONF" --check-config) > "$T/check.out" 2>&1
rc=$?
set -e
assert_eq 0 "$rc" "--check-config: the installed example is accepted"
assert_contains "$T/check.out" "configuration OK (1 services, 1 adapters, 2 members)" "--check-config: says what it loaded"
# ...and the schema that judged it is the installed one, found from the binary's own place: a
# copy of the prefix with a broken gateway-config.xsd refuses the same file.
cp -a "$PREFIX" "$T/prefix-copy"
echo '<not-a-schema' > "$T/prefix-copy/share/pide-gateway/schemas/gateway-config.xsd"
if "$T/prefix-copy/bin/pide-gateway" --config "$CONF" --check-config > "$T/check-copy.out" 2>&1; then
  fail "--check-config: a broken installed gateway-config.xsd went unnoticed (schemas not the installed ones)"
else
  assert_contains "$T/check-copy.out" "$T/prefix-copy/share/pide-gateway/schemas/gateway-config.xsd" \
    "--check-config: uses <bindir>/../share/pide-gateway/schemas"
fi
rm -rf "$T/prefix-copy"

# A source install does not overwrite an operator's configuration.
echo "<!-- operator's -->" >> "$CONF"
cmake --install "$PIDE_BUILD_DIR" --prefix "$PREFIX" > "$T/install2.log"
assert_contains "$CONF" "<!-- operator's -->" "reinstall: keeps the existing configuration"
[ -f "$CONF.dist" ] && pass "reinstall: the new example is pide-gateway.xml.dist" || fail "reinstall: no .dist"
rm -f "$CONF.dist"
sed -i '$d' "$CONF"

# --- pide-gateway-migrate: a new database, by conninfo, as an administrator role ---------------
PG_PORT=$(cat "$PIDE_TEST_PG_DIR/port")
SUFFIX=$(basename "$T" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z')
DB=pide_inst_$SUFFIX
ADMIN=pide_inst_admin_$SUFFIX
ADMIN_PW=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
pg_super() { bash "$PIDE_SOURCE_DIR/scripts/pg-local" psql --dir "$PIDE_TEST_PG_DIR" -- -q -At -v ON_ERROR_STOP=1 "$@"; }
cleanup_db() {
  pg_super -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  pg_super -c "DROP ROLE IF EXISTS $ADMIN" >/dev/null 2>&1 || true
}
trap 'rc=$?; set +e; cleanup_db; (exit $rc); on_exit' EXIT
pg_super <<SQL >/dev/null
CREATE ROLE $ADMIN LOGIN SUPERUSER PASSWORD '$ADMIN_PW';
SQL
export PGPASSWORD=$ADMIN_PW
MIG="$PREFIX/bin/pide-gateway-migrate"
ADMIN_CONNINFO="host=127.0.0.1 port=$PG_PORT user=$ADMIN"

set +e
"$MIG" --database "$DB" "$ADMIN_CONNINFO" > "$T/mig0.out" 2> "$T/mig0.log"; rc=$?
set -e
assert_eq 3 "$rc" "migrate: a database never initialised is refused (exit 3)"
assert_contains "$T/mig0.log" "(first install: --init)" "migrate: says to run --init"

"$MIG" --init --database "$DB" "$ADMIN_CONNINFO" > "$T/mig1.out" 2> "$T/mig1.log"
cat "$T/mig1.log"
assert_contains "$T/mig1.log" "applied 0001_exchange_log" "migrate --init: applies 0001 first"
assert_eq "$(ls "$PREFIX/share/pide-gateway/sql/migrations/" | wc -l)" "$(grep -c '^pide-gateway-migrate: applied ' "$T/mig1.log")" \
  "migrate --init: applies every installed migration"
assert_eq "$(ls "$PREFIX/share/pide-gateway/sql/migrations/" | sed 's/\.sql$//' | tr '\n' ' ')" \
  "$(PGPASSWORD=$ADMIN_PW psql "$ADMIN_CONNINFO dbname=$DB" -XAtc 'SELECT version FROM schema_migrations ORDER BY applied_at, version' | tr '\n' ' ')" \
  "migrate: schema_migrations records them in order"
assert_eq pide_owner "$(psql "$ADMIN_CONNINFO dbname=$DB" -XAtc "SELECT tableowner FROM pg_tables WHERE tablename = 'exchange_log'")" \
  "migrate: tables belong to pide_owner"
[ "$(psql "$ADMIN_CONNINFO dbname=$DB" -XAtc "SELECT count(*) FROM pg_inherits WHERE inhparent = 'exchange_log'::regclass")" -ge 12 ] \
  && pass "migrate: partitions made ahead" || fail "migrate: no partitions ahead"
"$MIG" --init --database "$DB" "$ADMIN_CONNINFO" > /dev/null 2> "$T/mig2.log"
assert_contains "$T/mig2.log" "no pending migrations" "migrate: a second run (upgrade with nothing new) changes nothing"
"$MIG" --status --database "$DB" "$ADMIN_CONNINFO" > "$T/status.out" 2>&1 && pass "migrate --status: exit 0 when current" \
  || fail "migrate --status: non-zero when current"
assert_contains "$T/status.out" "applied 0001_exchange_log" "migrate --status: lists applied"

# An upgrade: a newer migration appears; --status reports it pending, a run applies it.
mkdir -p "$T/newer"
cp "$PREFIX"/share/pide-gateway/sql/migrations/*.sql "$T/newer/"
echo "CREATE TABLE install_test_marker (id int);" > "$T/newer/9990_install_test.sql"
set +e
"$MIG" --status --dir "$T/newer" --database "$DB" "$ADMIN_CONNINFO" > "$T/status2.out" 2>&1; rc=$?
set -e
assert_eq 1 "$rc" "migrate --status: exit 1 with a pending migration"
assert_contains "$T/status2.out" "pending 9990_install_test" "migrate --status: names the pending one"
"$MIG" --dir "$T/newer" --database "$DB" "$ADMIN_CONNINFO" 2> "$T/mig3.log" >/dev/null
assert_contains "$T/mig3.log" "applied 9990_install_test" "migrate: applies the newer migration"
assert_eq pide_owner "$(psql "$ADMIN_CONNINFO dbname=$DB" -XAtc "SELECT tableowner FROM pg_tables WHERE tablename = 'install_test_marker'")" \
  "migrate: as pide_owner"
# A failing migration: nothing of it applied, not recorded, later ones not tried, exit 1.
printf 'CREATE TABLE install_test_half (id int);\nSELECT no_such_function();\n' > "$T/newer/9991_broken.sql"
echo "CREATE TABLE install_test_after (id int);" > "$T/newer/9992_after.sql"
set +e
"$MIG" --dir "$T/newer" --database "$DB" "$ADMIN_CONNINFO" > /dev/null 2> "$T/mig4.log"; rc=$?
set -e
assert_eq 1 "$rc" "migrate: a failing migration exits 1"
assert_contains "$T/mig4.log" "migration 9991_broken failed (nothing of it was applied" "migrate: names the failing one"
assert_eq "0|0|0" "$(psql "$ADMIN_CONNINFO dbname=$DB" -XAtc "SELECT (SELECT count(*) FROM pg_tables WHERE tablename IN ('install_test_half','install_test_after')) || '|' || (SELECT count(*) FROM schema_migrations WHERE version >= '9991') || '|0'")" \
  "migrate: the failed one left nothing, the later one was not run"
# Hostile arguments and files.
expect_exit2() { # what args...
  local what=$1 rc; shift
  set +e; "$MIG" "$@" > "$T/bad.out" 2>&1; rc=$?; set -e
  assert_eq 2 "$rc" "migrate refuses $what (exit 2: $(head -n1 "$T/bad.out"))"
}
expect_exit2 "an SQL-injecting database name" --database "pide; DROP TABLE x" "$ADMIN_CONNINFO"
expect_exit2 "a conninfo with dbname" --database "$DB" "$ADMIN_CONNINFO dbname=postgres"
expect_exit2 "a conninfo with a password" --database "$DB" "$ADMIN_CONNINFO password=x"
expect_exit2 "a bad --months" --months "12; x" --database "$DB" "$ADMIN_CONNINFO"
expect_exit2 "an unknown option" --drop-everything
cp "$T/newer/0001_exchange_log.sql" "$T/newer/0002_evil'name.sql"
expect_exit2 "a migration file not named NNNN_name.sql" --dir "$T/newer" --database "$DB" "$ADMIN_CONNINFO"
unset PGPASSWORD

# --- the installed daemon on the installed example configuration -------------------------------
# What an operator does (docs/operator-guide.md, "First start"): keys into keys/, the password of
# pide_gateway into db.password, conninfo and ports set, the legacy password hash replaced.
CONFDIR="$PREFIX/etc/pide-gateway"
install -m 600 "$PIDE_TEST_PKI_DIR/gateway-sign.key" "$CONFDIR/keys/gateway-sign.key"
install -m 644 "$PIDE_TEST_PKI_DIR/gateway-sign.pem" "$CONFDIR/keys/gateway-sign.pem"
install -m 600 "$PIDE_TEST_PG_DIR/gateway.password" "$CONFDIR/db.password"
start_reniec_sim
HASH=$(printf 'demo\n' | "$PREFIX/bin/pide-gateway" --hash-password)
sed -i -e 's|port="8080"|port="0"|' \
       -e "s|host=localhost port=5432 dbname=pide |host=127.0.0.1 port=$PG_PORT dbname=$DB |" \
       -e "s|http://127.0.0.1:8091/|http://127.0.0.1:$RENIEC_PORT/|" \
       -e "s|passwordHash=\"[^\"]*\"|passwordHash=\"$HASH\"|" "$CONF"
"$PREFIX/bin/pide-gateway" --config "$CONF" --check-config > "$T/check2.out" 2>&1 \
  && pass "--check-config: the adjusted example is accepted" || fail "--check-config: $(cat "$T/check2.out")"

# systemd's notification socket, played by a real unix datagram socket.
NOTIFY_SOCK="$T/notify.sock"
python3 -u - "$NOTIFY_SOCK" > "$T/notify.out" 2>"$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    msg = s.recv(4096).decode()
    print(msg.replace("\n", " ").strip(), flush=True)
    if "STOPPING=1" in msg:
        break
PY
NOTIFY_PID=$!
started_pids+=("$NOTIFY_PID")
for _ in $(seq 1 100); do grep -q bound "$T/notify.out" 2>/dev/null && break; sleep 0.05; done

rm -f "$T/gateway.port"
(cd / && NOTIFY_SOCKET="$NOTIFY_SOCK" exec "$PREFIX/bin/pide-gateway" --config "$CONF" \
   --port-file "$T/gateway.port") 2>>"$T/gateway.log" &
GW_PID=$!
started_pids+=("$GW_PID")
GW_PORT=$(wait_port_file "$T/gateway.port" "$GW_PID")
GW_URL="http://127.0.0.1:$GW_PORT"

status=$(soap_post ReniecConsultaDni "$PIDE_SOURCE_DIR/docs/examples/reniec-consultar.xml" "$T/found.xml")
assert_eq 200 "$status" "installed gateway: RENIEC consultation HTTP 200"
assert_eq 0000 "$(xml_value "$T/found.xml" coResultado)" "installed gateway: coResultado 0000"
[ -n "$(xml_value "$T/found.xml" prenombres)" ] && pass "installed gateway: prenombres from the simulator" \
  || fail "installed gateway: no prenombres"
if xmlsec1 --verify --trusted-pem "$PIDE_TEST_PKI_DIR/ca.pem" "$T/found.xml" > "$T/verify.log" 2>&1; then
  pass "installed gateway: response signed with the key in keys/"
else
  fail "installed gateway: response signature does not verify"
fi
id=$(exchange_id_of "$T/found.xml")
row=$(PGPASSWORD=$(cat "$CONFDIR/db.password") psql "host=127.0.0.1 port=$PG_PORT dbname=$DB user=pide_gateway" \
      -XAtc "SELECT service, outcome, result_code FROM exchange_log WHERE exchange_id = '$id'")
assert_eq "ReniecConsultaDni|ok|0000" "$row" "installed gateway: the exchange is logged in the migrated database"
status=$(curl -s -o "$T/wsdl.xml" -w '%{http_code}' "$GW_URL/services/ReniecConsultaDni?wsdl")
assert_eq 200 "$status" "installed gateway: serves the installed WSDL"
cmp -s "$T/wsdl.xml" "$PREFIX/share/pide-gateway/wsdl/ReniecConsultaDni.wsdl" \
  && pass "installed gateway: ?wsdl is the installed file" || fail "installed gateway: ?wsdl differs from the installed file"

if ldd "$PREFIX/bin/pide-gateway" > "$T/ldd.txt" && grep -q libsystemd "$T/ldd.txt"; then
  assert_contains "$PREFIX/lib/systemd/system/pide-gateway.service" "Type=notify" "unit: Type=notify (built with libsystemd)"
  assert_contains "$T/notify.out" "READY=1" "sd_notify: READY=1 once listening"
  kill -TERM "$GW_PID"
  wait "$GW_PID" && pass "installed gateway: SIGTERM exits 0" || fail "installed gateway: SIGTERM exit non-zero"
  for _ in $(seq 1 100); do grep -q STOPPING=1 "$T/notify.out" && break; sleep 0.05; done
  assert_contains "$T/notify.out" "STOPPING=1" "sd_notify: STOPPING=1 on SIGTERM"
else
  echo "skip: built without libsystemd (no sd_notify)"
  assert_contains "$PREFIX/lib/systemd/system/pide-gateway.service" "Type=simple" "unit: Type=simple (built without libsystemd)"
  assert_not_contains "$PREFIX/lib/systemd/system/pide-gateway.service" "Type=notify" "unit: no Type=notify without libsystemd"
fi

# --- the unit, as systemd reads it --------------------------------------------------------------
UNIT="$PREFIX/lib/systemd/system/pide-gateway.service"
if command -v systemd-analyze > /dev/null; then
  # verify loads the unit offline: syntax, directives, the executables it names.
  if SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$UNIT" > "$T/verify-unit.log" 2>&1; then
    pass "systemd-analyze verify: the installed unit is clean"
  else
    # Messages about the host's other units (not ours) are not failures.
    if grep -q "pide-gateway" "$T/verify-unit.log"; then
      fail "systemd-analyze verify: $(cat "$T/verify-unit.log")"
    else
      pass "systemd-analyze verify: nothing about pide-gateway.service"
    fi
  fi
  if systemd-analyze security --offline=true "$UNIT" > "$T/security.log" 2>&1 ||
     grep -q "Overall exposure level" "$T/security.log"; then
    score=$(sed -n 's/.*Overall exposure level for pide-gateway.service: \([0-9.]*\).*/\1/p' "$T/security.log")
    echo "systemd-analyze security: exposure $score"
    awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }' \
      && pass "systemd-analyze security: exposure $score <= 2.0" \
      || fail "systemd-analyze security: exposure '$score' (see $T/security.log)"
  else
    echo "skip: systemd-analyze security --offline not supported here"
  fi
else
  echo "skip: systemd-analyze not installed"
fi

finish
