#!/usr/bin/env bash
# test_encrypt_at_rest.sh — payload encryption at rest (issue 10) and row hash version 4, on a
# PostgreSQL cluster of this test's own (a superuser tampers with it) with the PKI's real keys:
# - ReniecConsultaDni with <encryptAtRest recipient="auditor.pem"/>: a distinctive value in the
#   request and the provider's answer is in no column of the row (every text and bytea column
#   searched), the row is hash version 4 with body_encryption 'cms', the metadata stays
#   plaintext; `pide-audit exchange --decrypt-key auditor.key` shows both and checks the
#   response digest; another key is refused (exit 4), a non-key file too (exit 2); the stock
#   `openssl cms -decrypt` reads the stored request; a fault's message is encrypted too;
# - MigraCarnetdeExtrajeria, not encrypting, is unchanged (plaintext bodies, v4 row);
# - `pide-audit verify` passes without the key; an evidence bundle verifies without the key and,
#   with --decrypt-key, checks the decrypted response's digest and XML signature; the
#   AuditService's obtenerIntercambio returns the ciphertext and says so (cifrado);
# - the ciphertext changed as superuser with every later hash recomputed: verify names the
#   checkpoint whose signed head no longer matches; a response re-encrypted to the public
#   certificate: named by verify, and its digest fails after decryption; a v4 row's trace_id
#   changed: named;
# - a configuration with an unusable recipient certificate: the gateway refuses to start,
#   naming file:line.
# ctest-fixtures: pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
AUDIT="$PIDE_BUILD_DIR/tools/pide-audit"
PKI=$PIDE_TEST_PKI_DIR
[ -x "$AUDIT" ] || { echo "FAIL: $AUDIT not built" >&2; exit 1; }
[ -s "$PKI/auditor.pem" ] || { echo "FAIL: $PKI/auditor.pem missing (scripts/pki makes it)" >&2; exit 1; }

PIDE_TEST_PG_DIR="$T/pg"
PG_LOCAL="$PIDE_SOURCE_DIR/scripts/pg-local"
bash "$PG_LOCAL" start --dir "$PIDE_TEST_PG_DIR" --port 0 --fresh >"$T/pg-start.log" 2>&1 \
  || { cat "$T/pg-start.log" >&2; echo "FAIL: private cluster did not start" >&2; exit 1; }
trap 'rc=$?; set +e; stop_all; bash "$PG_LOCAL" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; (exit $rc); on_exit' EXIT

superuser() { bash "$PG_LOCAL" psql --dir "$PIDE_TEST_PG_DIR" -X -q -v ON_ERROR_STOP=1 "$@"; }
sql1() { superuser -At -c "$1"; }
AUDITOR_CI=$(sed 's/user=pide_gateway/user=pide_auditor/' "$PIDE_TEST_PG_DIR/conninfo")
audit() { "$AUDIT" --conninfo "$AUDITOR_CI" --password-file "$PIDE_TEST_PG_DIR/auditor.password" "$@"; }
verify() { audit verify --trust-signer "$PKI/ca.pem" "$@"; }
expect_status() { # CODE WHAT COMMAND...: output in $T/out, $T/err
  local want=$1 what=$2 got=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || got=$?
  assert_eq "$want" "$got" "$what: exit $want"
}
# found_in_row ID VALUE: the columns of that exchange's row holding VALUE — every text column
# (and every other one cast to text) by substring, every bytea column by its bytes.
found_in_row() {
  local cond
  cond=$(sql1 "SELECT string_agg(CASE WHEN atttypid = 'bytea'::regtype
      THEN format('CASE WHEN position(convert_to(%L, ''UTF8'') in coalesce(%I, ''''::bytea)) > 0 THEN %L END', '$2', attname, attname)
      ELSE format('CASE WHEN strpos(coalesce(%I::text, ''''), %L) > 0 THEN %L END', attname, '$2', attname) END, ', ')
    FROM pg_attribute WHERE attrelid = 'public.exchange_log'::regclass AND attnum > 0 AND NOT attisdropped")
  sql1 "SELECT concat_ws(' ', $cond) FROM public.exchange_log WHERE exchange_id = '$1'"
}

start_reniec_sim
start_sim migraciones
write_config
# ReniecConsultaDni encrypts at rest (after its grants, as the schema orders it); checkpoints
# every 2 rows and second, signed (no TSA here).
sed -i -e '/<service name="ReniecConsultaDni"/,/<\/service>/ s|</service>|  <encryptAtRest recipient="'"$PKI"'/auditor.pem"/>\n    </service>|' \
       -e 's/everyRows="[0-9]*"/everyRows="2"/' -e 's/everySeconds="[0-9]*"/everySeconds="1"/' "$CONFIG"
grep -q "<encryptAtRest recipient=\"$PKI/auditor.pem\"/>" "$CONFIG" || { fail "could not add <encryptAtRest>"; finish; }
start_gateway

# --- an encrypted exchange ---------------------------------------------------------------------
secret_req="SOLICITUD-SECRETA-$RANDOM$RANDOM"
sed "s|<ren:consultar>|<!-- $secret_req --><ren:consultar>|" "$EX/reniec-consultar.xml" >"$T/req.xml"
assert_eq 200 "$(soap_post ReniecConsultaDni "$T/req.xml" "$T/answer.xml")" "encrypted service: answered (HTTP 200)"
assert_eq 0000 "$(xml_value "$T/answer.xml" coResultado)" "encrypted service: the caller gets the data in clear"
id=$(exchange_id_of "$T/answer.xml")
# The provider's answer: the citizen's address and first names, as the caller received them.
secret_resp=$(xml_value "$T/answer.xml" direccion)
[ -n "$secret_resp" ] || secret_resp=$(xml_value "$T/answer.xml" prenombres)
[ ${#secret_resp} -ge 6 ] && pass "a distinctive value of the provider's answer: '$secret_resp'" \
  || fail "no distinctive value in the answer: $(cat "$T/answer.xml")"
assert_eq "4|cms|45678912|20000000001|11111111|ok" \
  "$(sql1 "SELECT hash_version, body_encryption, subject_id, client_member, client_user, outcome FROM exchange_log WHERE exchange_id = '$id'")" \
  "encrypted row: hash version 4, body_encryption cms, metadata in plaintext"
assert_eq "" "$(found_in_row "$id" "$secret_req")" "the request's distinctive value is in no column of the row"
assert_eq "" "$(found_in_row "$id" "$secret_resp")" "the answer's distinctive value is in no column of the row"
assert_eq "" "$(found_in_row "$id" "Envelope")" "no column holds any plaintext SOAP of the exchange"
assert_eq "$(sha256sum <"$T/answer.xml" | cut -d' ' -f1)" \
  "$(sql1 "SELECT encode(response_sha256, 'hex') FROM exchange_log WHERE exchange_id = '$id'")" \
  "response_sha256 is the digest of the answer sent (the plaintext)"

# The stock tool decrypts the stored request with the auditors' key.
sql1 "SELECT encode(request, 'base64') FROM exchange_log WHERE exchange_id = '$id'" | base64 -d >"$T/request.der"
if openssl cms -decrypt -binary -inform DER -in "$T/request.der" -inkey "$PKI/auditor.key" -out "$T/request.plain" 2>"$T/openssl.err" \
   && grep -q "$secret_req" "$T/request.plain" && grep -q '<password>\[REDACTED\]</password>' "$T/request.plain"; then
  pass "openssl cms -decrypt reads the stored request (secrets redacted before encryption)"
else
  fail "openssl cms -decrypt: $(cat "$T/openssl.err")"
fi

# --- pide-audit exchange ------------------------------------------------------------------------
expect_status 0 "exchange without the key" audit exchange "$id"
assert_contains "$T/out" "encrypted at rest" "exchange without the key: says the bodies are encrypted"
assert_not_contains "$T/out" "$secret_req" "exchange without the key: no plaintext"
assert_contains "$T/out" "body_encryption         | cms" "exchange: the body_encryption column is shown"
expect_status 0 "exchange --decrypt-key auditor.key" audit exchange "$id" --decrypt-key "$PKI/auditor.key"
assert_contains "$T/out" "$secret_req" "exchange --decrypt-key: the request in clear"
assert_contains "$T/out" "$secret_resp" "exchange --decrypt-key: the answer in clear"
assert_contains "$T/out" "ok: the decrypted response has the logged response_sha256" "exchange --decrypt-key: the response digest checked"
expect_status 4 "exchange --decrypt-key with another key" audit exchange "$id" --decrypt-key "$PKI/other-auditor.key"
assert_contains "$T/err" "cannot decrypt the request of exchange $id with '$PKI/other-auditor.key': it is not the private key of one of the recipients" "another key: a clear message"
assert_not_contains "$T/out" "$secret_req" "another key: nothing decrypted is shown"
expect_status 2 "exchange --decrypt-key with a certificate instead of a key" audit exchange "$id" --decrypt-key "$PKI/auditor.pem"
assert_contains "$T/err" "is not an unencrypted PEM private key" "a certificate as key: says so"
expect_status 2 "exchange --decrypt-key with a missing file" audit exchange "$id" --decrypt-key "$T/nope.key"

# --- a fault of the encrypted service: its message is encrypted too -----------------------------
sed -e "s|<nuDniConsulta>45678912</nuDniConsulta>|<nuDniConsulta>45678912</nuDniConsulta><extra>FALLA-SECRETA-$RANDOM</extra>|" \
  "$EX/reniec-consultar.xml" >"$T/bad.xml"
status=$(soap_post ReniecConsultaDni "$T/bad.xml" "$T/bad-answer.xml")
[ "$status" -ge 400 ] && pass "a schema-invalid request: refused (HTTP $status)" || fail "schema-invalid request got HTTP $status"
fid=$(exchange_id_of "$T/bad-answer.xml")
assert_eq "fault|cms" "$(sql1 "SELECT outcome, body_encryption FROM exchange_log WHERE exchange_id = '$fid'")" \
  "the fault's row is encrypted"
assert_eq "" "$(found_in_row "$fid" "extra")" "the fault message's plaintext (it names the element) is in no column"
expect_status 0 "exchange --decrypt-key of the fault" audit exchange "$fid" --decrypt-key "$PKI/auditor.key"
assert_contains "$T/out" "--- fault_message (decrypted with" "the fault message decrypts"
assert_contains "$T/out" "extra" "the decrypted fault message names the unexpected element"

# Refused before routing (not well-formed XML): the URL names the encrypting service, so what
# the row keeps of it (a flagged prefix) is encrypted too.
junk="MAL-FORMADO-$RANDOM$RANDOM"
printf '<soapenv:Envelope><soapenv:Body><x>%s</y></soapenv:Body>' "$junk" >"$T/junk.xml"
status=$(soap_post ReniecConsultaDni "$T/junk.xml" "$T/junk-answer.xml")
[ "$status" -ge 400 ] && pass "not well-formed XML: refused (HTTP $status)" || fail "junk got HTTP $status"
jid=$(exchange_id_of "$T/junk-answer.xml")
assert_eq "fault|cms" "$(sql1 "SELECT outcome, body_encryption FROM exchange_log WHERE exchange_id = '$jid'")" \
  "a request refused before routing is encrypted too (its URL names the service)"
assert_eq "" "$(found_in_row "$jid" "$junk")" "the malformed request's content is in no column"
expect_status 0 "exchange --decrypt-key of the malformed request" audit exchange "$jid" --decrypt-key "$PKI/auditor.key"
assert_contains "$T/out" "$junk" "the malformed request's flagged prefix decrypts"

# --- an unencrypted service is unchanged ---------------------------------------------------------
secret_plain="SIN-CIFRAR-$RANDOM$RANDOM"
sed "s|<soapenv:Body>|<soapenv:Body><!-- $secret_plain -->|" "$EX/migraciones-consultar.xml" >"$T/mig.xml"
assert_eq 200 "$(soap_post MigraCarnetdeExtrajeria "$T/mig.xml" "$T/mig-answer.xml")" "unencrypted service: answered"
mid=$(exchange_id_of "$T/mig-answer.xml")
assert_eq "4|" "$(sql1 "SELECT hash_version, coalesce(body_encryption, '') FROM exchange_log WHERE exchange_id = '$mid'")" \
  "unencrypted service: a v4 row without body_encryption"
assert_eq "request" "$(found_in_row "$mid" "$secret_plain")" "unencrypted service: the request is stored as before (the search works)"
assert_eq "$(sha256sum <"$T/mig-answer.xml" | cut -d' ' -f1)" \
  "$(sql1 "SELECT encode(sha256(response), 'hex') FROM exchange_log WHERE exchange_id = '$mid'")" \
  "unencrypted service: the response stored as sent"
expect_status 0 "exchange of the unencrypted service" audit exchange "$mid"
assert_contains "$T/out" "$secret_plain" "exchange: the unencrypted request shown as before"

# --- the AuditService returns the ciphertext and says so ------------------------------------------
cat >"$T/audit.req" <<EOF
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
                  xmlns:pgw="urn:pide-gateway:header:1" xmlns:a="urn:pide-gateway:audit:1">
  <soapenv:Header><pgw:client><pgw:memberCode>20000000001</pgw:memberCode></pgw:client>
    <pgw:purpose>Auditoria de prueba</pgw:purpose></soapenv:Header>
  <soapenv:Body><a:obtenerIntercambio><a:exchangeId>$id</a:exchangeId></a:obtenerIntercambio></soapenv:Body>
</soapenv:Envelope>
EOF
status=$(curl -s -o "$T/o.xml" -w '%{http_code}' --cacert "$PKI/ca.pem" --cert "$PKI/demo-client.pem" \
  --key "$PKI/demo-client.key" -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
  --data-binary @"$T/audit.req" "$GW_TLS_URL/services/AuditService")
assert_eq 200 "$status" "obtenerIntercambio of the encrypted exchange: HTTP 200"
assert_eq cms "$(xml_value "$T/o.xml" cifrado)" "obtenerIntercambio says the bodies are encrypted (cifrado)"
xml_value "$T/o.xml" respuesta | base64 -d >"$T/o.resp.der"
if openssl cms -decrypt -binary -inform DER -in "$T/o.resp.der" -inkey "$PKI/auditor.key" 2>/dev/null | grep -q "$secret_resp"; then
  pass "obtenerIntercambio: respuesta is the CMS ciphertext, readable with the auditors' key"
else
  fail "obtenerIntercambio: respuesta does not decrypt"
fi
assert_not_contains "$T/o.xml" "$secret_resp" "obtenerIntercambio: no plaintext in the answer"

# --- evidence bundle: verifiable without the key --------------------------------------------------
expect_status 0 "export of the encrypted exchange" audit export "$id" --out "$T/bundle.tar.gz" --ca "$PKI/ca.pem"
expect_status 0 "verify-bundle without the key" "$AUDIT" verify-bundle "$T/bundle.tar.gz" --trusted-pem "$PKI/ca.pem"
assert_contains "$T/out" "is in the chain path" "verify-bundle: the row is in the chain path"
assert_contains "$T/out" "response encrypted at rest" "verify-bundle without the key: says the response is encrypted"
expect_status 0 "verify-bundle --decrypt-key" "$AUDIT" verify-bundle "$T/bundle.tar.gz" --trusted-pem "$PKI/ca.pem" --decrypt-key "$PKI/auditor.key"
assert_contains "$T/out" "the decrypted response has the logged response_sha256" "verify-bundle --decrypt-key: digest checked"
assert_contains "$T/out" "response signature verified by xmlsec1" "verify-bundle --decrypt-key: the XML signature checked"
expect_status 4 "verify-bundle with another key" "$AUDIT" verify-bundle "$T/bundle.tar.gz" --trusted-pem "$PKI/ca.pem" --decrypt-key "$PKI/other-auditor.key"

# --- verify without the key; tampering ------------------------------------------------------------
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true   # a clean stop checkpoints the last row
n=$(sql1 "SELECT count(*) FROM exchange_log")
expect_status 0 "verify without the key" verify
assert_contains "$T/out" "chain intact: $n rows (v1=0 v2=0 v3=0 v4=$n)" "verify: every row is v4 and intact"
assert_contains "$T/out" "not yet covered by a checkpoint: none" "verify: a checkpoint covers every row"
seq=$(sql1 "SELECT seq FROM exchange_log WHERE exchange_id = '$id'")
superuser <<'SQL' || fail "cannot keep a copy of the log"
CREATE TABLE public.keep_log AS SELECT * FROM public.exchange_log;
SQL
restore() {
  superuser -c "SET session_replication_role = replica; DELETE FROM public.exchange_log; INSERT INTO public.exchange_log SELECT * FROM public.keep_log;" \
    || fail "cannot restore the log"
}
# rechain FROM: every hash from seq FROM on recomputed with the documented function.
rechain() {
  superuser <<SQL || fail "rechaining failed"
SET session_replication_role = replica;
DO \$\$ DECLARE r record; prev bytea; BEGIN
  SELECT row_hash INTO prev FROM public.exchange_log WHERE seq = $1 - 1;
  FOR r IN SELECT seq FROM public.exchange_log WHERE seq >= $1 ORDER BY seq LOOP
    IF prev IS NOT NULL THEN UPDATE public.exchange_log SET prev_hash = prev WHERE seq = r.seq; END IF;
    UPDATE public.exchange_log e SET row_hash = public.exchange_log_row_hash(e) WHERE seq = r.seq
      RETURNING row_hash INTO prev;
  END LOOP; END \$\$;
SQL
}
# One byte of the stored ciphertext flipped, every later hash recomputed.
superuser -c "SET session_replication_role = replica; UPDATE public.exchange_log SET request = set_byte(request, length(request) - 5, get_byte(request, length(request) - 5) # 1) WHERE seq = $seq;" \
  || fail "tampering failed"
rechain "$seq"
assert_eq 0 "$(sql1 "SELECT count(*) FROM exchange_log_verify_chain()")" \
  "the recomputed hashes fool the database's own chain check"
expect_status 1 "verify after the ciphertext was changed and the hashes recomputed" verify
cp=$(sql1 "SELECT min(id) FROM exchange_checkpoint WHERE head_seq >= $seq")
assert_contains "$T/out" "row_hash differs from the one checkpoint $cp signed" \
  "verify names the checkpoint whose signed head the changed ciphertext broke"
restore
expect_status 0 "verify after restoring" verify
# The response replaced by another one encrypted to the same (public) certificate, as anyone
# with the database could: verify names the row, and once decrypted the forged response does not
# have the logged response_sha256.
printf '<forged>DATOS FALSOS</forged>' >"$T/forged.xml"
openssl cms -encrypt -binary -aes256 -outform DER -in "$T/forged.xml" -out "$T/forged.der" "$PKI/auditor.pem" \
  || fail "openssl cms -encrypt failed"
superuser -c "SET session_replication_role = replica; UPDATE public.exchange_log SET response = decode('$(od -An -v -tx1 "$T/forged.der" | tr -d ' \n')', 'hex') WHERE seq = $seq;" \
  || fail "tampering failed"
expect_status 1 "verify after the response was re-encrypted" verify
assert_contains "$T/out" "BROKEN seq $seq: row_hash does not match the row's content (v4)" "verify names the re-encrypted row"
expect_status 1 "exchange --decrypt-key of the re-encrypted row" audit exchange "$id" --decrypt-key "$PKI/auditor.key"
assert_contains "$T/out" "FAILED: the decrypted response's SHA-256" "exchange --decrypt-key: the forged response is not the logged one"
restore
# A v4 row's trace_id changed (no rechaining): the row is named.
superuser -c "SET session_replication_role = replica; UPDATE public.exchange_log SET trace_id = repeat('cd', 16) WHERE seq = $seq;" \
  || fail "tampering failed"
expect_status 1 "verify after a trace_id was changed" verify
assert_contains "$T/out" "BROKEN seq $seq: row_hash does not match the row's content (v4)" "verify names the row whose trace_id changed"
assert_contains <(sql1 "SELECT seq || ': ' || problem FROM exchange_log_verify_chain()") \
  "$seq: row_hash does not match the row's content" "exchange_log_verify_chain() names it too"
restore
expect_status 0 "verify after restoring again" verify

# --- a bad recipient certificate: the gateway does not start ----------------------------------------
sed -i "s|<encryptAtRest recipient=\"$PKI/auditor.pem\"/>|<encryptAtRest recipient=\"$PKI/ca.pem\"/>|" "$CONFIG"
line=$(grep -n "<encryptAtRest" "$CONFIG" | cut -d: -f1)
expect_status 1 "the gateway with a CA certificate as recipient" "$GATEWAY_BIN" --config "$CONFIG" --check-config
assert_contains "$T/err" "$CONFIG:$line: service 'ReniecConsultaDni': encryptAtRest: the recipient certificate '$PKI/ca.pem' does not allow keyEncipherment" \
  "a bad recipient: file:line and the reason"
finish
