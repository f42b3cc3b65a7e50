#!/usr/bin/env bash
# test_cli.sh — the daemon's command line: --version, --help, --check-config on the shipped
# configurations, and clear errors with a non-zero exit for bad options and bad configurations.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"

out=$("$GATEWAY_BIN" --version)
[[ "$out" =~ ^pide-gateway\ [0-9]+\.[0-9]+\.[0-9]+\ \(adapter\ ABI\ 2\)$ ]] && pass "--version" || fail "--version printed '$out'"
"$GATEWAY_BIN" --help | grep -q -- "--check-config" && pass "--help lists the options" || fail "--help"

# The demo configuration checks out as shipped (with this build's adapters and the test PKI:
# --check-config loads every adapter and checks every service's parameters).
write_config
"$GATEWAY_BIN" --config "$CONFIG" --check-config >"$T/check.out" 2>&1 \
  && pass "conf/demo.xml passes --check-config" || fail "conf/demo.xml: $(cat "$T/check.out")"
n=$(grep -c '<service name=' "$PIDE_SOURCE_DIR/conf/demo.xml")
assert_contains "$T/check.out" "configuration OK ($n services, $(grep -o 'adapter="[a-z_-]*"' "$CONFIG" | sort -u | wc -l) adapters" \
  "--check-config reports what it loaded, adapters included"

expect_exit() { # code what cmd...
  local want=$1 what=$2; shift 2
  set +e; "$@" >"$T/out.txt" 2>&1; local got=$?; set -e
  assert_eq "$want" "$got" "$what: exit $want"
}
expect_exit 2 "no --config" "$GATEWAY_BIN"
assert_contains "$T/out.txt" "--config FILE is required" "no --config: says what is missing"
expect_exit 2 "unknown option" "$GATEWAY_BIN" --frobnicate
expect_exit 1 "missing file" "$GATEWAY_BIN" --config "$T/nope.xml" --check-config
assert_contains "$T/out.txt" "nope.xml" "missing file: names the file"

# A configuration error names file and line.
sed 's|adapter="reniec"|adapter="reniec" bogus="1"|' "$PIDE_SOURCE_DIR/conf/demo.xml" > "$PIDE_SOURCE_DIR/conf/.test-bad.xml.$$"
expect_exit 1 "bad configuration" "$GATEWAY_BIN" --config "$PIDE_SOURCE_DIR/conf/.test-bad.xml.$$" --check-config
rm -f "$PIDE_SOURCE_DIR/conf/.test-bad.xml.$$"
grep -qE "\.test-bad\.xml\.[0-9]+:[0-9]+: .*bogus" "$T/out.txt" && pass "bad configuration: file:line: reason" \
  || fail "bad configuration message: $(cat "$T/out.txt")"

# --check-config finds what only the adapters know, without starting anything: a parameter the
# adapter does not declare, and an adapter with no file. Each names file, line and service.
sed 's|<param name="entityCode" value="PIDE-GW"/>|&<param name="colour" value="blue"/>|' "$CONFIG" > "$T/badparam.xml"
expect_exit 1 "undeclared adapter parameter" "$GATEWAY_BIN" --config "$T/badparam.xml" --check-config
grep -qE "badparam\.xml:[0-9]+: service 'ReniecConsultaDni': .*colour" "$T/out.txt" \
  && pass "undeclared parameter: file:line, service and parameter named" \
  || fail "undeclared parameter message: $(cat "$T/out.txt")"
sed 's|adapter="reniec"|adapter="reniecx"|' "$CONFIG" > "$T/noadapter.xml"
expect_exit 1 "adapter without a file" "$GATEWAY_BIN" --config "$T/noadapter.xml" --check-config
grep -qE "noadapter\.xml:[0-9]+: service 'ReniecConsultaDni': adapter 'reniecx' has no file" "$T/out.txt" \
  && pass "missing adapter: file:line, service and file named" \
  || fail "missing adapter message: $(cat "$T/out.txt")"

# A signing key others can read is refused at start-up, naming the file.
cp "$PIDE_TEST_PKI_DIR/gateway-sign.key" "$T/open.key"; chmod 644 "$T/open.key"
cp "$PIDE_TEST_PKI_DIR/gateway-sign.pem" "$T/open.pem"
start_reniec_sim
write_config
sed -i "s|key=\"[^\"]*\"|key=\"$T/open.key\"|; s|certificate=\"[^\"]*\"|certificate=\"$T/open.pem\"|" "$CONFIG"
expect_exit 1 "world-readable signing key" "$GATEWAY_BIN" --config "$CONFIG"
assert_contains "$T/out.txt" "open.key" "world-readable signing key: names the file"

# The password hash tool makes hashes the configuration accepts.
hash=$(echo 'a secret' | "$GATEWAY_BIN" --hash-password)
[[ "$hash" == pbkdf2-sha256\$* ]] && pass "--hash-password prints a pbkdf2-sha256 hash" || fail "hash: $hash"

# No schema the gateway loads may pull anything from the network: a service XSD that imports
# one over http:// is refused at start-up, and the server it names never hears a request.
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$T" >"$T/http.log" 2>&1 &
http_pid=$!
for _ in $(seq 50); do grep -q "port" "$T/http.log" && break; sleep 0.1; done
http_port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/http.log" | head -1)
echo '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:evil"/>' >"$T/evil.xsd"
reniec_xsd=$PIDE_SOURCE_DIR/schemas/reniec-consulta.xsd
python3 - "$reniec_xsd" "$T/netimport.xsd" "http://127.0.0.1:$http_port/evil.xsd" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
m = re.search(r'<(\w+):schema\b[^>]*>', s)
imp = '<%s:import namespace="urn:evil" schemaLocation="%s"/>' % (m.group(1), sys.argv[3])
open(sys.argv[2], 'w').write(s[:m.end()] + imp + s[m.end():])
PY
grep -q "127.0.0.1:$http_port/evil.xsd" "$T/netimport.xsd" || fail "the test could not plant the import"
write_config
sed -i "s|schema=\"[^\"]*reniec[^\"]*\"|schema=\"$T/netimport.xsd\"|" "$CONFIG"
expect_exit 1 "a service schema importing over http://" timeout 30 "$GATEWAY_BIN" --config "$CONFIG"
kill "$http_pid" 2>/dev/null; wait "$http_pid" 2>/dev/null || true
assert_contains "$T/out.txt" "netimport.xsd" "a service schema importing over http://: names the schema"
assert_not_contains "$T/http.log" "evil.xsd" "the network import was never fetched"

finish
