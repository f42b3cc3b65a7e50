#!/usr/bin/env bash
# test_hsm_signing.sh — the signing key in a PKCS#11 token (issue 10, docs/signing.md "Key
# custody"): a private SoftHSM2 token in this test's directory (SOFTHSM2_CONF, its own tokendir)
# holding RSA and ECDSA signing keys, reached through OpenSSL's pkcs11 engine (libp11):
# - the gateway starts with <signing key="pkcs11:..." pinFile=...>; a response's signature
#   verifies with stock `xmlsec1 --verify` against the CA and against the certificate alone;
# - the checkpoints are CMS-signed by the token key: `pide-audit verify --trust-signer` passes;
# - 200 requests, 8 at a time: every answer signed, every signature verifies;
# - wrong PIN, PIN file readable by others, missing token, missing object, bogus module, URI with
#   pin-value, malformed URI: start refused with a one-line message naming the cause, and the PIN
#   never appears in stdout/stderr; --check-config reports the same;
# - rotation from the file key to a new token key (another certificate): old and new checkpoints
#   verify; an EC key in the token is refused (xmlsec 1.2.37 cannot sign XML with it);
# - `pide-audit archive --signing-key pkcs11:...` signs a manifest with the token key.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
# Sanitizer builds: the pkcs11 engine's own allocations on a refused start are not ours
# (tests/lsan-pkcs11.supp); full unwinding so the suppression sees the engine's frames.
export LSAN_OPTIONS="suppressions=$PIDE_SOURCE_DIR/tests/lsan-pkcs11.supp:print_suppressions=0:fast_unwind_on_malloc=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
EX="$PIDE_SOURCE_DIR/docs/examples"
AUDIT="$PIDE_BUILD_DIR/tools/pide-audit"
PKI=$PIDE_TEST_PKI_DIR
MODULE=/usr/lib/softhsm/libsofthsm2.so
for need in softhsm2-util xmlsec1; do
  command -v "$need" >/dev/null || { echo "FAIL: $need missing (bash scripts/install-deps)" >&2; exit 1; }
done
[ -f "$MODULE" ] || { echo "FAIL: $MODULE missing (softhsm2)" >&2; exit 1; }
[ -f /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so ] || { echo "FAIL: libengine-pkcs11-openssl missing" >&2; exit 1; }

# A private cluster: verify reads every checkpoint of the log, and another test's rows or its
# tampering must not count here.
PIDE_TEST_PG_DIR="$T/pg"
PG_LOCAL="$PIDE_SOURCE_DIR/scripts/pg-local"
bash "$PG_LOCAL" start --dir "$PIDE_TEST_PG_DIR" --port 0 --fresh >"$T/pg-start.log" 2>&1 \
  || { cat "$T/pg-start.log" >&2; echo "FAIL: private cluster did not start" >&2; exit 1; }
trap 'rc=$?; set +e; bash "$PG_LOCAL" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; (exit $rc); on_exit' EXIT
sql1() { bash "$PG_LOCAL" psql --dir "$PIDE_TEST_PG_DIR" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
AUDITOR_CI=$(sed 's/user=pide_gateway/user=pide_auditor/' "$PIDE_TEST_PG_DIR/conninfo")
audit() { "$AUDIT" --conninfo "$AUDITOR_CI" --password-file "$PIDE_TEST_PG_DIR/auditor.password" "$@"; }

# --- the token ---------------------------------------------------------------------------------
PIN=71936482 SO_PIN=55501234
export SOFTHSM2_CONF="$T/softhsm2.conf"
mkdir -p "$T/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$T/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label pide --pin "$PIN" --so-pin "$SO_PIN" >"$T/init.out" 2>&1 \
  && pass "SoftHSM2 token 'pide' initialised in the test's own tokendir" || { cat "$T/init.out" >&2; fail "init-token"; exit 1; }
umask 077
# The rotated-to key: a new RSA key with its own certificate from the same CA.
openssl genrsa -out "$T/new.key" 2048 2>/dev/null
openssl req -new -key "$T/new.key" -subj "/C=PE/O=pide-gateway demo/CN=pide-gateway signing 2027" -out "$T/new.csr"
printf 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature,nonRepudiation\n' >"$T/ext.cnf"
openssl x509 -req -in "$T/new.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -CAserial "$T/ca.srl" \
  -days 30 -sha256 -extfile "$T/ext.cnf" -out "$T/new.pem" 2>/dev/null || { fail "issuing the new certificate"; exit 1; }
chmod 644 "$T/new.pem"
openssl pkcs8 -topk8 -nocrypt -in "$PKI/gateway-sign.key" -out "$T/sign.p8"
openssl pkcs8 -topk8 -nocrypt -in "$T/new.key" -out "$T/new.p8"
openssl pkcs8 -topk8 -nocrypt -in "$PKI/gateway-sign-ec.key" -out "$T/sign-ec.p8"
softhsm2-util --import "$T/sign.p8" --token pide --label gateway-sign --id 01 --pin "$PIN" >"$T/import.out" 2>&1 \
  && softhsm2-util --import "$T/new.p8" --token pide --label gateway-sign-2027 --id 02 --pin "$PIN" >>"$T/import.out" 2>&1 \
  && softhsm2-util --import "$T/sign-ec.p8" --token pide --label gateway-sign-ec --id 03 --pin "$PIN" >>"$T/import.out" 2>&1 \
  && pass "three signing keys imported into the token (PKCS#8)" || { cat "$T/import.out" >&2; fail "import"; exit 1; }
rm -f "$T/sign.p8" "$T/new.p8" "$T/sign-ec.p8" "$T/new.key"
printf '%s\n' "$PIN" >"$T/pin"
printf '%s\n' 00000000 >"$T/wrong.pin"
umask 022

URI="pkcs11:token=pide;object=gateway-sign-2027;type=private"
# hsm_config URI [EXTRA-ATTRIBUTES] [CERT]: write_config with the <signing> key in the token and
# fast checkpoints.
hsm_config() {
  write_config
  local cert=${3:-$T/new.pem}
  sed -i -e "s|<signing key=\"[^\"]*\" certificate=\"[^\"]*\"|<signing key=\"$1\" certificate=\"$cert\" ${2-pinFile=\"$T/pin\"}|" \
         -e 's/everyRows="[0-9]*"/everyRows="50"/' -e 's/everySeconds="[0-9]*"/everySeconds="1"/' "$CONFIG"
  grep -q "<signing key=\"$1\"" "$CONFIG" || { fail "conf/demo.xml has no <signing> to adjust"; exit 1; }
}
post() { soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$1"; }
stop_gateway() { kill "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null || true; }
no_pin_in() { # FILE... : the PIN appears in none
  if grep -q -e "$PIN" -e 00000000 "$@"; then fail "the PIN appears in $*"; else pass "the PIN appears in no output"; fi
}
wait_for() { # WHAT SQL EXPECTED
  local got="" i
  for i in $(seq 1 100); do
    got=$(sql1 "$2" 2>/dev/null || true)
    [ "$got" = "$3" ] && { pass "$1"; return 0; }
    sleep 0.2
  done
  fail "$1: expected '$3', got '$got'"
}

start_reniec_sim

# --- rotation, part 1: a file key first ----------------------------------------------------------
write_config
sed -i -e 's/everyRows="[0-9]*"/everyRows="2"/' -e 's/everySeconds="[0-9]*"/everySeconds="1"/' "$CONFIG"
start_gateway
for i in 1 2 3 4; do [ "$(post "$T/file.xml")" = 200 ] || fail "file key: request $i not answered"; done
stop_gateway
file_cps=$(sql1 "SELECT count(*) FROM exchange_checkpoint")
[ "$file_cps" -ge 1 ] && pass "file key: $file_cps checkpoint(s) signed" || fail "file key: no checkpoint"

# --- the gateway with its key in the token ------------------------------------------------------
hsm_config "$URI"
"$GATEWAY_BIN" --config "$CONFIG" --check-config >"$T/check.out" 2>&1 \
  && pass "--check-config with a token key: OK" || fail "--check-config: $(cat "$T/check.out")"
assert_contains "$T/check.out" "signing key in the PKCS#11 token opens and matches" "--check-config opened the token key"
start_gateway
assert_eq 200 "$(post "$T/hsm.xml")" "token key: the service answers"
xmlsec1 --verify --trusted-pem "$PKI/ca.pem" "$T/hsm.xml" >"$T/xv.out" 2>&1 \
  && pass "token key: xmlsec1 --verify --trusted-pem ca.pem accepts the response" || fail "xmlsec1 --verify: $(cat "$T/xv.out")"
openssl x509 -in "$T/new.pem" -pubkey -noout >"$T/sign.pub"
xmlsec1 --verify --pubkey-pem "$T/sign.pub" "$T/hsm.xml" >"$T/xv2.out" 2>&1 \
  && pass "token key: the signature verifies with the certificate's public key alone" || fail "xmlsec1 --pubkey-pem: $(cat "$T/xv2.out")"
sed 's/<ds:SignatureValue>./<ds:SignatureValue>A/' "$T/hsm.xml" >"$T/hsm-bad.xml"
cmp -s "$T/hsm.xml" "$T/hsm-bad.xml" && sed -i 's/<ds:SignatureValue>./<ds:SignatureValue>B/' "$T/hsm-bad.xml"
xmlsec1 --verify --trusted-pem "$PKI/ca.pem" "$T/hsm-bad.xml" >/dev/null 2>&1 \
  && fail "a changed SignatureValue verified" || pass "a changed SignatureValue does not verify"

# 200 requests, 8 at a time, every answer signed by the token and verified.
mkdir -p "$T/par"
export GW_URL EX T
seq 1 200 | xargs -P 8 -I{} bash -c 'curl -s -o "$T/par/{}.xml" -w "%{http_code}\n" -H "Content-Type: text/xml; charset=utf-8" -H "SOAPAction: \"\"" --data-binary @"$EX/reniec-consultar.xml" "$GW_URL/services/ReniecConsultaDni" >"$T/par/{}.code"'
assert_eq 200 "$(cat "$T/par/"*.code | grep -c '^200$')" "200 concurrent requests (8 in parallel): all answered 200"
bad=0
for f in "$T"/par/*.xml; do
  xmlsec1 --verify --pubkey-pem "$T/sign.pub" "$f" >/dev/null 2>&1 || bad=$((bad + 1))
done
assert_eq 0 "$bad" "200 concurrent requests: every response signature verifies"
assert_eq 200 "$(ls "$T"/par/*.xml | xargs -n 50 grep -l '<ds:SignatureValue>' | wc -l)" "200 concurrent requests: every response carries a signature"
wait_for "the checkpointer catches up with the token key" \
  "SELECT max(head_seq) = (SELECT max(seq) FROM exchange_log) FROM exchange_checkpoint" t
stop_gateway
assert_not_contains "$T/gateway.log" "$PIN" "the PIN is not in the gateway's log"
hsm_fp=$(openssl x509 -in "$T/new.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
assert_eq "$hsm_fp" "$(sql1 "SELECT signer_cert_sha256 FROM exchange_checkpoint ORDER BY id DESC LIMIT 1")" \
  "the newest checkpoint names the token key's certificate"
audit verify --trust-signer "$PKI/ca.pem" >"$T/verify1.out" 2>&1 \
  && pass "pide-audit verify: checkpoints signed in the token verify" || fail "verify: $(tail -5 "$T/verify1.out")"

assert_eq 2 "$(sql1 "SELECT count(DISTINCT signer_cert_sha256) FROM exchange_checkpoint")" \
  "rotation file key -> token key: checkpoints of both certificates are kept"

# --- the token's key by id, the module named ------------------------------------------------------
hsm_config "pkcs11:token=pide;id=%01" "pinFile=\"$T/pin\" module=\"$MODULE\"" "$PKI/gateway-sign.pem"
start_gateway
assert_eq 200 "$(post "$T/id.xml")" "token key by id=%01, module= given: answered"
xmlsec1 --verify --trusted-pem "$PKI/ca.pem" "$T/id.xml" >/dev/null 2>&1 \
  && pass "token key by id: xmlsec1 --verify accepts the response" || fail "token key by id: response does not verify"
wait_for "the checkpointer catches up with the token key by id" \
  "SELECT max(head_seq) = (SELECT max(seq) FROM exchange_log) FROM exchange_checkpoint" t
stop_gateway
audit verify --trust-signer "$PKI/ca.pem" >"$T/verify2.out" 2>&1 \
  && pass "pide-audit verify across file key -> token key -> token key" || fail "verify after rotation: $(tail -5 "$T/verify2.out")"

# --- start refused, with the cause named -------------------------------------------------------
# refused WHAT NEEDLE URI [EXTRA]: the gateway must exit non-zero, name the cause in one line, and
# never print the PIN; --check-config must say the same.
refused() { # WHAT NEEDLE URI [EXTRA] [CERT]
  local what=$1 needle=$2
  hsm_config "$3" "${4-pinFile=\"$T/pin\"}" "${5:-}"
  rm -f "$T/gateway.port"
  "$GATEWAY_BIN" --config "$CONFIG" --port-file "$T/gateway.port" >"$T/r.out" 2>"$T/r.err" &
  local pid=$!
  started_pids+=("$pid")
  local rc=0
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ] && [ ! -s "$T/gateway.port" ]; then pass "$what: start refused"; else fail "$what: the gateway started"; fi
  assert_contains "$T/r.err" "$needle" "$what: the message names the cause"
  local lines
  lines=$(grep -c . "$T/r.err" || true)
  assert_eq 1 "$lines" "$what: one line on stderr"
  [ "$lines" = 1 ] || cat "$T/r.err" >&2
  no_pin_in "$T/r.out" "$T/r.err"
  local crc=0
  "$GATEWAY_BIN" --config "$CONFIG" --check-config >"$T/c.out" 2>&1 || crc=$?
  [ "$crc" -ne 0 ] && grep -qF -- "$needle" "$T/c.out" && pass "$what: --check-config reports it" \
    || fail "$what: --check-config exit $crc: $(cat "$T/c.out")"
}
refused "wrong PIN" "login to the token refused: PIN incorrect" "$URI" "pinFile=\"$T/wrong.pin\""
cp "$T/pin" "$T/open.pin" && chmod 644 "$T/open.pin"
refused "PIN file readable by others" "open.pin" "$URI" "pinFile=\"$T/open.pin\""
refused "missing PIN file" "no-such.pin" "$URI" "pinFile=\"$T/no-such.pin\""
refused "missing token" "no initialised token labelled 'nope'" "pkcs11:token=nope;object=gateway-sign"
refused "missing object" "no private key object matching" "pkcs11:token=pide;object=no-such-key"
refused "bogus module" "/nonexistent/libvendor.so" "$URI" "pinFile=\"$T/pin\" module=\"/nonexistent/libvendor.so\""
refused "not a PKCS#11 module" "cannot" "$URI" "pinFile=\"$T/pin\" module=\"/usr/lib/x86_64-linux-gnu/libz.so.1\""
refused "certificate of another key" "does not match the signing key" "$URI" "pinFile=\"$T/pin\"" "$PKI/gateway-sign.pem"
refused "pin-value in the URI" "pin-value is refused" "pkcs11:token=pide;object=gateway-sign?pin-value=$PIN" ""
refused "no PIN at all" "needs its PIN file" "$URI" ""
refused "URI naming no key" "object= (the label) or id= is required" "pkcs11:token=pide"
refused "unknown URI attribute" "attribute 'slot' is not supported" "pkcs11:token=pide;object=gateway-sign;slot=3"
refused "bad percent-encoding" "not well percent-encoded" "pkcs11:token=pide;object=gateway%2"
refused "public key type" "type must be 'private'" "pkcs11:token=pide;object=gateway-sign;type=public"
refused "EC key in the token" "an EC key cannot sign XML here" "pkcs11:token=pide;object=gateway-sign-ec" "pinFile=\"$T/pin\"" "$PKI/gateway-sign-ec.pem"
refused "pinFile with a file key" "apply only to a PKCS#11 key" "$PKI/gateway-sign.key"

# pin-source in the URI instead of pinFile.
hsm_config "pkcs11:token=pide;object=gateway-sign-2027?pin-source=file:$T/pin" ""
start_gateway
assert_eq 200 "$(post "$T/ps.xml")" "pin-source=file:PATH in the URI: answered"
xmlsec1 --verify --trusted-pem "$PKI/ca.pem" "$T/ps.xml" >/dev/null 2>&1 \
  && pass "pin-source: response verifies" || fail "pin-source: response does not verify"
stop_gateway

# --- pide-audit archive signs its manifest with the token key ------------------------------------
month=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)
mkdir -p "$T/arch"
audit archive --month "$month" --out "$T/arch" --signing-key "$URI" --signing-pin-file "$T/pin" \
  --signing-cert "$T/new.pem" >"$T/arch.out" 2>"$T/arch.err" \
  && pass "pide-audit archive --signing-key pkcs11:... : archived" || fail "archive with a token key: $(cat "$T/arch.err")"
no_pin_in "$T/arch.out" "$T/arch.err"
audit verify-archive --trusted-pem "$PKI/ca.pem" "$T/arch/pide-log-$month.tar.gz" >"$T/va.out" 2>&1 \
  && pass "verify-archive accepts the manifest signed in the token" || fail "verify-archive: $(cat "$T/va.out")"
audit archive --month "$month" --out "$T/arch" --signing-key "$URI" --signing-cert "$T/new.pem" >"$T/arch2.out" 2>&1 \
  && fail "archive with a token key and no PIN file ran" || assert_contains "$T/arch2.out" "--signing-pin-file" "archive: a token key needs --signing-pin-file"
finish
