#!/usr/bin/env bash
# test_adapter_check.sh — pide-adapter-check (tools/) on the real RENIEC adapter against a real
# reniec-sim: every ABI check and sample of adapters/reniec/samples.xml passes; then it must
# fail, exit non-zero and name the failure for broken plugins (the loader's fixture adapters),
# for a sample whose expectation is wrong, and for an invalid samples file.
. "$(dirname "$0")/lib.sh"
CHECK="$PIDE_BUILD_DIR/tools/pide-adapter-check"
RENIEC_SO="$PIDE_BUILD_DIR/adapters/pide_adapter_reniec.so"
SAMPLES="$PIDE_SOURCE_DIR/adapters/reniec/samples.xml"
FIXTURES="$PIDE_BUILD_DIR/tests/fixtures/adapters"

start_sim reniec
ENDPOINT="http://127.0.0.1:$RENIEC_PORT/padron/v2/ciudadano"

# run_check OUT args...: runs the checker, output to OUT, prints its exit status.
run_check() {
  local out=$1; shift
  set +e
  "$CHECK" "$@" >"$out" 2>"$out.stderr"
  echo $?
  set -e
}

# --- the real adapter passes everything -------------------------------------------------------
rc=$(run_check "$T/reniec.out" --endpoint "$ENDPOINT" "$RENIEC_SO" "$SAMPLES")
cat "$T/reniec.out"
assert_eq 0 "$rc" "reniec: exit 0"
assert_contains "$T/reniec.out" "ok: loads with the gateway's loader (ABI 2" "reniec: ABI check reported"
assert_contains "$T/reniec.out" "ok: exports only pide_adapter_entry" "reniec: exports check reported"
assert_contains "$T/reniec.out" "ok: sample 'found' (result 0000, subject DNI 45678912" "reniec: found sample"
assert_contains "$T/reniec.out" "ok: sample 'provider down' (PIDE_ERR_PROVIDER_UNAVAILABLE" "reniec: provider-down sample"
assert_contains "$T/reniec.out" "ok: handle() on 4 threads at once" "reniec: concurrency check"
assert_not_contains "$T/reniec.out" "FAIL" "reniec: no failure"
n=$(grep -c "^ok: sample '" "$T/reniec.out" || true)
assert_eq "$(grep -c '<sample ' "$SAMPLES")" "$n" "reniec: one ok line per sample"

# --- broken plugins: exit 1, the failed loader check named ------------------------------------
expect_broken() { # fixture-name message
  local rc
  rc=$(run_check "$T/$1.out" "$FIXTURES/pide_adapter_$1.so" "$SAMPLES")
  assert_eq 1 "$rc" "$1: exit 1"
  assert_contains "$T/$1.out" "FAIL: loads with the gateway's loader: $FIXTURES/pide_adapter_$1.so: $2" \
    "$1: names '$2'"
  assert_contains "$T/$1.out" "FAILED: " "$1: summary says FAILED"
}
expect_broken abi_999 "ABI version 999, this gateway speaks 2"
expect_broken no_entry "missing symbol pide_adapter_entry"
expect_broken entry_null "entry point returned NULL"
expect_broken struct_small "descriptor size 24 smaller than"
expect_broken no_handle "handle() is NULL"
expect_broken unresolved "dlopen failed"
expect_broken libxml2_99 "built against libxml2 major version 99, this gateway uses libxml2 major version"
expect_broken bad_default "parameter 'repeat' has default 'ten', not of type int"

# --list: the descriptor and the parameters it declares, nothing run.
rc=$(run_check "$T/list.out" --list "$RENIEC_SO")
assert_eq 0 "$rc" "--list: exit 0"
assert_contains "$T/list.out" "adapter reniec version" "--list: adapter named"
assert_contains "$T/list.out" "  operation consultar" "--list: operation listed"
assert_contains "$T/list.out" "  param entityCode: string, optional, default 'PIDE-GW' - " "--list: param listed"
assert_contains "$T/reniec.out" "  param entityCode: string, optional, default 'PIDE-GW'" "reniec: params listed in the run"

# The samples' parameters are checked against the declaration as the daemon's loader does.
rc=$(run_check "$T/undeclared.out" --concurrency 0 "$FIXTURES/pide_adapter_echo.so" "$SAMPLES")
assert_eq 1 "$rc" "undeclared param: exit 1"
assert_contains "$T/undeclared.out" "FAIL: init() accepts the samples' configuration: service 'ReniecConsultaDni': parameter 'entityCode' is not declared by adapter 'echo'" \
  "undeclared param: service, parameter and adapter named"
rc=$(run_check "$T/required.out" --concurrency 0 "$FIXTURES/pide_adapter_requires_prefix.so" "$SAMPLES")
assert_eq 1 "$rc" "required param: exit 1"
assert_contains "$T/required.out" "ok: init() of an empty configuration returns PIDE_OK or PIDE_ERR_CONFIG (the loader refuses it: service 'ReniecConsultaDni': required parameter 'prefix' (string) of adapter 'requires_prefix' is missing)" \
  "required param: the empty configuration is refused by the loader"
# The samples without their parameters, for the fixtures below.
sed -e "s|\.\./\.\./|$PIDE_SOURCE_DIR/|g" -e '/<param /d' "$SAMPLES" > "$T/noparams.xml"

# A plugin that loads but whose init() refuses the samples' configuration: every sample fails.
rc=$(run_check "$T/needs_prefix.out" --concurrency 0 "$FIXTURES/pide_adapter_needs_prefix.so" "$T/noparams.xml")
assert_eq 1 "$rc" "needs_prefix: exit 1"
assert_contains "$T/needs_prefix.out" "FAIL: init() accepts the samples' configuration: service 'ReniecConsultaDni': init() failed: PIDE_ERR_CONFIG" \
  "needs_prefix: init failure named"
# The echo adapter loads but does not serve consultar: the samples say so.
rc=$(run_check "$T/echo.out" --concurrency 0 "$FIXTURES/pide_adapter_echo.so" "$T/noparams.xml")
assert_eq 1 "$rc" "echo: exit 1"
assert_contains "$T/echo.out" "FAIL: sample 'found': refused before the adapter (Fault Client.UnknownOperation)" \
  "echo: unknown operation named"

# --- a wrong expectation: exit 1, the sample and the difference named -------------------------
sed -e "s|\.\./\.\./|$PIDE_SOURCE_DIR/|g" \
    -e 's|name="found" expectResult="0000"|name="found" expectResult="0001"|' \
    -e 's|equals="SUSANA DIANA"|equals="ROSA"|' "$SAMPLES" > "$T/wrong.xml"
rc=$(run_check "$T/wrong.out" --endpoint "$ENDPOINT" "$RENIEC_SO" "$T/wrong.xml")
assert_eq 1 "$rc" "wrong expectation: exit 1"
assert_contains "$T/wrong.out" "FAIL: sample 'found': expected result code 0001, set_result_code() got 0000" \
  "wrong expectation: result code difference named"
assert_contains "$T/wrong.out" "return/datosPersona/prenombres: expected 'ROSA', got 'SUSANA DIANA'" \
  "wrong expectation: value difference named"
assert_contains "$T/wrong.out" "ok: sample 'not in the padron'" "wrong expectation: the other samples still pass"

# A provider that is not there, for samples expecting answers: named per sample.
rc=$(run_check "$T/down.out" --concurrency 0 --endpoint "http://127.0.0.1:1/padron/v2/ciudadano" "$RENIEC_SO" "$SAMPLES")
assert_eq 1 "$rc" "provider down: exit 1"
assert_contains "$T/down.out" "FAIL: sample 'found': handle() returned PIDE_ERR_PROVIDER_UNAVAILABLE (Fault Server.Provider.Unavailable)" \
  "provider down: the failure named"

# --- usage errors: exit 2 with file:line ------------------------------------------------------
sed 's|<sample name="found"|<sample name="found" expectError="PIDE_ERR_NOPE"|' "$T/wrong.xml" > "$T/invalid.xml"
rc=$(run_check "$T/invalid.out" "$RENIEC_SO" "$T/invalid.xml")
assert_eq 2 "$rc" "invalid samples file: exit 2"
assert_contains "$T/invalid.out.stderr" "$T/invalid.xml:" "invalid samples file: file named"
assert_contains "$T/invalid.out.stderr" "PIDE_ERR_NOPE" "invalid samples file: the bad value named"
sed 's|<ren:consultar xmlns:ren="http://ws.pide-gateway.org/reniec/" xmlns="">|<ren:consultar xmlns:ren="http://ws.pide-gateway.org/reniec/">|' \
  "$T/wrong.xml" > "$T/stray.xml"
rc=$(run_check "$T/stray.out" "$RENIEC_SO" "$T/stray.xml")
assert_eq 2 "$rc" "request in the samples namespace: exit 2"
assert_contains "$T/stray.out.stderr" 'write xmlns="" on the operation element' "request in the samples namespace: explained"
rc=$(run_check "$T/help.out" --help)
assert_eq 0 "$rc" "--help: exit 0"
assert_contains "$T/help.out" "usage: pide-adapter-check" "--help: usage printed"
rc=$(run_check "$T/nothing.out")
assert_eq 2 "$rc" "no arguments: exit 2"

finish
