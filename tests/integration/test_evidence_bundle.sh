#!/usr/bin/env bash
# test_evidence_bundle.sh — `pide-audit export` and `pide-audit verify-bundle` over real
# exchanges through the gateway (RENIEC simulator, PostgreSQL): the bundle round trip (rows
# recomputed offline, chain path to the head, response signature by xmlsec1), the bundled
# response verifying with the stock `xmlsec1 --verify --trusted-pem CA.pem`, and the attacks: a
# changed row field, a changed response byte, a removed chain link, a forged link, a link or a
# path outside the bundle, a file that is no bundle, unknown and malformed exchange ids.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
AUDIT="$PIDE_BUILD_DIR/tools/pide-audit"
PG=$PIDE_TEST_PG_DIR
CA=$PIDE_TEST_PKI_DIR/ca.pem
audit() { "$AUDIT" --conninfo "$(sed 's/user=pide_gateway/user=pide_auditor/' "$PG/conninfo")" \
                   --password-file "$PG/auditor.password" "$@"; }
expect_status() { # CODE WHAT COMMAND...: output in $T/out, $T/err
  local want=$1 what=$2 got=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || got=$?
  assert_eq "$want" "$got" "$what: exit $want"
}

start_reniec_sim
write_config
start_gateway

# Two consultations: the first is exported, the second puts a row after it in the chain.
assert_eq 200 "$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/a.xml")" "first consultation answered"
id_a=$(exchange_id_of "$T/a.xml")
assert_eq 200 "$(soap_post ReniecConsultaDni "$EX/reniec-consultar-no-existe.xml" "$T/b.xml")" "second consultation answered"
id_b=$(exchange_id_of "$T/b.xml")
assert_eq 200 "$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/c.xml")" "third consultation answered"

# --- round trip --------------------------------------------------------------------------------
expect_status 0 "export" audit export "$id_a" "$id_b" --ca "$CA" --out "$T/bundle.tar.gz"
assert_contains "$T/err" "bundle of 2 exchange(s) written" "export: says what it wrote"
tar -tzf "$T/bundle.tar.gz" | sort >"$T/listing"
for f in MANIFEST.json chain.json certs/ca.pem "exchanges/$id_a/row.json" "exchanges/$id_a/request.bin" \
         "exchanges/$id_a/response.xml" "exchanges/$id_b/row.json"; do
  assert_contains "$T/listing" "pide-evidence/$f" "bundle holds $f"
done
expect_status 0 "verify-bundle" audit verify-bundle "$T/bundle.tar.gz"
assert_contains "$T/out" "ok: exchange $id_a: row_hash recomputed from the 39 fields of hash version 4" "verify-bundle: row hash recomputed"
assert_contains "$T/out" "ok: exchange $id_a: response.xml" "verify-bundle: response bytes match the logged digest"
assert_contains "$T/out" "is in the chain path" "verify-bundle: the row is in the chain path"
assert_contains "$T/out" "ok: chain path:" "verify-bundle: the chain path links hold"
assert_contains "$T/out" "ok: exchange $id_a: response signature verified by xmlsec1" "verify-bundle: response signature verified"
assert_contains "$T/out" "bundle intact" "verify-bundle: the verdict"
# Offline: no database is needed (no conninfo at all).
expect_status 0 "verify-bundle without any database" env -u PIDE_AUDIT_CONNINFO "$AUDIT" verify-bundle "$T/bundle.tar.gz" --trusted-pem "$CA"
assert_not_contains "$T/out" "trusting the CA certificate inside the bundle" "verify-bundle --trusted-pem: uses the auditor's CA"

# The bundled response verifies with the stock xmlsec1 and is byte for byte what the caller got.
mkdir "$T/x" && tar -xzf "$T/bundle.tar.gz" -C "$T/x"
B=$T/x/pide-evidence
if xmlsec1 --verify --trusted-pem "$CA" "$B/exchanges/$id_a/response.xml" >/dev/null 2>&1; then
  pass "bundled response: stock xmlsec1 --verify --trusted-pem CA.pem accepts it"
else
  fail "bundled response: stock xmlsec1 rejects it"
fi
cmp -s "$T/a.xml" "$B/exchanges/$id_a/response.xml" && pass "bundled response is the bytes the caller received" \
  || fail "bundled response differs from what the caller received"
assert_contains "$B/exchanges/$id_a/request.bin" "<password>[REDACTED]</password>" "bundled request: as logged, password redacted"
assert_eq "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["subject_type"], r["subject_id"], r["client_member"], r["outcome"])' "$B/exchanges/$id_a/row.json")" \
  "DNI 45678912 20000000001 ok" "row.json: readable fields"

# repack DIR OUT: a bundle from an edited copy.
repack() { tar -czf "$2" -C "$1" pide-evidence; }
edit_copy() { rm -rf "$T/e"; mkdir "$T/e"; tar -xzf "$T/bundle.tar.gz" -C "$T/e"; }

# --- tampering ---------------------------------------------------------------------------------
edit_copy
python3 - "$T/e/pide-evidence/exchanges/$id_a/row.json" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p)); r["client_user"] = "99999999"; json.dump(r, open(p, "w"), indent=2)
PY
repack "$T/e" "$T/t-field.tar.gz"
expect_status 1 "verify-bundle, a row field changed" audit verify-bundle "$T/t-field.tar.gz"
assert_contains "$T/out" "FAILED: exchange $id_a: row_hash recomputed" "changed row field: the row hash check fails, naming the exchange"
assert_contains "$T/out" "bundle verification FAILED" "changed row field: the verdict"

edit_copy
sed -i 's/<coResultado>0000</<coResultado>0001</' "$T/e/pide-evidence/exchanges/$id_a/response.xml"
repack "$T/e" "$T/t-resp.tar.gz"
expect_status 1 "verify-bundle, a response byte changed" audit verify-bundle "$T/t-resp.tar.gz"
assert_contains "$T/out" "FAILED: exchange $id_a: response.xml" "changed response: its digest check fails"
assert_contains "$T/out" "FAILED: exchange $id_a: row_hash recomputed" "changed response: the row hash check fails"
assert_contains "$T/out" "FAILED: exchange $id_a: response signature does not verify" "changed response: xmlsec1 rejects the signature"

edit_copy
# The link of the second exported row (other tests' rows may stand between the two in the
# shared chain, so it is found by its seq, not by its place).
python3 - "$T/e/pide-evidence/chain.json" "$T/e/pide-evidence/exchanges/$id_b/row.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); seq_b = json.load(open(sys.argv[2]))["seq"]
i = [k for k, l in enumerate(c["links"]) if int(l[0]) == int(seq_b)][0]
assert i >= 1; del c["links"][i]; json.dump(c, open(p, "w"))
PY
repack "$T/e" "$T/t-link.tar.gz"
expect_status 1 "verify-bundle, a chain link removed" audit verify-bundle "$T/t-link.tar.gz"
assert_contains "$T/out" "(a link is missing)" "removed link: the gap is named"
assert_contains "$T/out" "FAILED: exchange $id_b: seq" "removed link: the exchange whose link is gone is named"

edit_copy
python3 - "$T/e/pide-evidence/chain.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); c["links"][-1][1] = "00" * 32; json.dump(c, open(p, "w"))
PY
repack "$T/e" "$T/t-forged.tar.gz"
expect_status 1 "verify-bundle, a link's prev_hash forged" audit verify-bundle "$T/t-forged.tar.gz"
assert_contains "$T/out" "is not the row_hash of seq" "forged link: the broken link is named"

edit_copy
rm "$T/e/pide-evidence/exchanges/$id_a/response.xml"
ln -s /etc/passwd "$T/e/pide-evidence/exchanges/$id_a/response.xml"
repack "$T/e" "$T/t-symlink.tar.gz"
expect_status 2 "verify-bundle, a symbolic link inside" audit verify-bundle "$T/t-symlink.tar.gz"
assert_contains "$T/err" "not a readable evidence bundle" "symbolic link: refused before unpacking"

mkdir -p "$T/evil/pide-evidence" && echo x >"$T/evil/outside.txt"
tar -czf "$T/t-outside.tar.gz" -C "$T/evil" pide-evidence outside.txt
expect_status 2 "verify-bundle, an entry outside pide-evidence/" audit verify-bundle "$T/t-outside.tar.gz"

head -c 1000 /dev/urandom >"$T/noise.tar.gz"
expect_status 2 "verify-bundle, not a tar.gz" audit verify-bundle "$T/noise.tar.gz"
assert_contains "$T/err" "is not a tar.gz" "not a bundle: says so"
expect_status 2 "verify-bundle, no file" audit verify-bundle "$T/does-not-exist.tar.gz"

# --- --full-path: every row of the path with its content, every link recomputed -----------------
expect_status 0 "export --full-path" audit export "$id_a" --full-path --ca "$CA" --out "$T/full.tar.gz"
tar -tzf "$T/full.tar.gz" >"$T/listing-full"
assert_contains "$T/listing-full" "pide-evidence/path/" "full path: the path's rows are in the bundle"
expect_status 0 "verify-bundle --full-path" audit verify-bundle "$T/full.tar.gz"
assert_contains "$T/out" "links recomputed from its row's content" "full path: every link recomputed"
assert_not_contains "$T/out" "taken from the bundle" "full path: no link taken on trust"
assert_contains "$T/out" "bundle intact" "full path: the verdict"
rm -rf "$T/e"; mkdir "$T/e"; tar -xzf "$T/full.tar.gz" -C "$T/e"
last=$(ls "$T/e/pide-evidence/path" | sort -n | tail -n 1)
python3 - "$T/e/pide-evidence/path/$last/row.json" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p)); r["subject_id"] = "00000000"; json.dump(r, open(p, "w"))
PY
repack "$T/e" "$T/t-path.tar.gz"
expect_status 1 "verify-bundle, a later row of a full path changed" audit verify-bundle "$T/t-path.tar.gz"
assert_contains "$T/out" "FAILED: chain path: seq $last: row_hash recomputed from its content is not the link's" "full path: the changed later row is named"
expect_status 0 "verify-bundle (without --full-path) says what it takes on trust" audit verify-bundle "$T/bundle.tar.gz"
assert_contains "$T/out" "taken from the bundle" "without --full-path: the later links are said to be unchecked"

# --- export's arguments ---------------------------------------------------------------------
expect_status 1 "export of an unknown id" audit export 1b4e28ba-2fa1-41d2-883f-0016d3cca427 --out "$T/none.tar.gz"
assert_contains "$T/err" "no exchange with id" "export of an unknown id: says so"
[ -e "$T/none.tar.gz" ] && fail "export of an unknown id wrote a bundle" || pass "export of an unknown id writes nothing"
expect_status 2 "export of a malformed id" audit export "1'; DROP TABLE x; --" --out "$T/bad.tar.gz"
assert_contains "$T/err" "is not an exchange id" "export of a malformed id: says why"
expect_status 2 "export without --out" audit export "$id_a"
expect_status 0 "export of the same id twice" audit export "$id_a" "${id_a^^}" --out "$T/twice.tar.gz"
assert_eq 1 "$(tar -tzf "$T/twice.tar.gz" | grep -c '/row.json$')" "export of the same id twice: one copy"

# A checkpoint after every committed row: two exported rows then lie on both sides of one, and
# the bundle's chain path must run to a checkpoint covering the newer of them (not stop at the
# first checkpoint after the older one).
# The checkpoints are time-stamped by tsa-sim here: the bundle's checkpoint carries its token.
stop_all
start_reniec_sim
start_sim tsa --key "$PIDE_TEST_PKI_DIR/tsa.key" --cert "$PIDE_TEST_PKI_DIR/tsa.pem"
write_config
sed -i 's|everyRows="[0-9]*"|everyRows="1"|' "$CONFIG"
start_gateway
assert_eq 200 "$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/k1.xml")" "checkpointed: first consultation"
sleep 0.5
assert_eq 200 "$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/k2.xml")" "checkpointed: second consultation"
sleep 0.5
expect_status 0 "export across a checkpoint" audit export "$(exchange_id_of "$T/k1.xml")" "$(exchange_id_of "$T/k2.xml")" --ca "$CA" --out "$T/across.tar.gz"
expect_status 0 "verify-bundle across a checkpoint" audit verify-bundle "$T/across.tar.gz"
assert_contains "$T/out" "ok: checkpoint.json: the chain path ends at the checkpoint's head" "across a checkpoint: the path ends at one covering both rows"
assert_contains "$T/out" "ok: checkpoint: CMS signature over the statement verified against the CA" "the checkpoint's signature verified offline"
assert_contains "$T/out" "ok: checkpoint: RFC 3161 time-stamp over the signed document verified" "the checkpoint's time-stamp verified offline"

# A checkpoint whose statement was changed (its head moved back a row) or that another key signed
# (the foreign CA) is refused.
rm -rf "$T/e"; mkdir "$T/e"; tar -xzf "$T/across.tar.gz" -C "$T/e"
python3 - "$T/e/pide-evidence/checkpoint.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
st = bytes.fromhex(c["statement"][2:]).decode()
lines = st.split("\n"); lines = [("seq: %d" % (int(l[5:]) - 1)) if l.startswith("seq: ") else l for l in lines]
c["statement"] = "\\x" + "\n".join(lines).encode().hex(); c["head_seq"] -= 1
json.dump(c, open(p, "w"))
PY
repack "$T/e" "$T/t-ckp.tar.gz"
expect_status 1 "verify-bundle, the checkpoint's statement changed" audit verify-bundle "$T/t-ckp.tar.gz" --trusted-pem "$CA"
assert_contains "$T/out" "FAILED: checkpoint: CMS signature" "changed checkpoint: its signature no longer verifies"
expect_status 1 "verify-bundle against another CA" audit verify-bundle "$T/across.tar.gz" --trusted-pem "$PIDE_TEST_PKI_DIR/other-ca.pem"
assert_contains "$T/out" "FAILED: checkpoint: CMS signature" "another CA: the checkpoint's signature is refused"
finish
