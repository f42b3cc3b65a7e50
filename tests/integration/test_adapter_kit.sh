#!/usr/bin/env bash
# test_adapter_kit.sh — the adapter kit as an integrator uses it: install pide-gateway into a
# fresh prefix, copy adapters/template out of the tree, build it with nothing but the installed
# header and pkg-config file, and run the installed pide-adapter-check on the result against a
# real HTTP provider (python3's http.server serving the template protocol's records).
. "$(dirname "$0")/lib.sh"

PREFIX="$T/prefix"
# Debian multiarch libdir (lib/<triplet>), as the build configured it (CMakeLists.txt).
LIBDIR=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$PIDE_BUILD_DIR/CMakeCache.txt")
[ -n "$LIBDIR" ] || LIBDIR=lib
UP=$(echo "$LIBDIR/pkgconfig" | sed 's|[^/][^/]*|..|g')   # lib/<triplet>/pkgconfig -> ../../..
cmake --install "$PIDE_BUILD_DIR" --prefix "$PREFIX" > "$T/install.log"
[ -f "$PREFIX/include/pide_adapter.h" ] && pass "install: include/pide_adapter.h" \
  || fail "install: no include/pide_adapter.h"
[ -f "$PREFIX/$LIBDIR/pkgconfig/pide-adapter.pc" ] && pass "install: $LIBDIR/pkgconfig/pide-adapter.pc" \
  || fail "install: no $LIBDIR/pkgconfig/pide-adapter.pc"
[ -x "$PREFIX/bin/pide-adapter-check" ] && pass "install: bin/pide-adapter-check" \
  || fail "install: no bin/pide-adapter-check"

# The prefix is relocatable: the .pc file finds it from its own place.
mv "$PREFIX" "$T/moved-prefix"
PREFIX="$T/moved-prefix"
export PKG_CONFIG_PATH="$PREFIX/$LIBDIR/pkgconfig"
cflags=$(pkg-config --cflags pide-adapter)
case "$cflags" in *"$PREFIX/$LIBDIR/pkgconfig/$UP/include"*) pass "pkg-config: Cflags name the (moved) prefix's include";;
  *) fail "pkg-config: Cflags '$cflags' do not name $PREFIX/include";; esac
case "$cflags" in *"$(pkg-config --cflags-only-I libxml-2.0 | sed 's/ *$//')"*) pass "pkg-config: Cflags include libxml2's";;
  *) fail "pkg-config: Cflags '$cflags' lack libxml2's";; esac
assert_eq "$(sed -n 's/^project(pide-gateway VERSION \([0-9.]*\).*/\1/p' "$PIDE_SOURCE_DIR/CMakeLists.txt")" \
  "$(pkg-config --modversion pide-adapter)" "pkg-config: version is the project's"
assert_eq "$(sed -n 's/^#define PIDE_ADAPTER_ABI_VERSION \([0-9]*\)u.*/\1/p' "$PIDE_SOURCE_DIR/adapters/include/pide_adapter.h")" \
  "$(pkg-config --variable=abi_version pide-adapter)" "pkg-config: abi_version is the header's"

# --- the template, copied out of the tree, built against the installed kit only ---------------
cp -r "$PIDE_SOURCE_DIR/adapters/template" "$T/my-adapter"
if cmake -S "$T/my-adapter" -B "$T/my-adapter/build" > "$T/template-configure.log" 2>&1 &&
   cmake --build "$T/my-adapter/build" > "$T/template-build.log" 2>&1; then
  pass "template: configures and builds out of tree"
else
  fail "template: build failed (see $T/template-*.log)"
  cat "$T"/template-*.log
  finish
fi
SO="$T/my-adapter/build/pide_adapter_template.so"
grep -qF -- "$PREFIX/$LIBDIR/pkgconfig/$UP/include" "$T/my-adapter/build/CMakeFiles/pide_adapter_template.dir/flags.make" \
  && pass "template: compiled against the installed header" \
  || fail "template: not compiled against $PREFIX/include"

# --- a real provider for the template's protocol: GET <endpoint>/<codigo> ---------------------
mkdir -p "$T/provider/registros"
printf '<registro><titular>ANA TORRES</titular><estado>VIGENTE</estado></registro>' \
  > "$T/provider/registros/ABC123"
(cd "$T/provider" && exec python3 -u -m http.server 0 --bind 127.0.0.1) > "$T/provider.log" 2>&1 &
started_pids+=($!)
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^Serving HTTP on .* port \([0-9]*\) .*/\1/p' "$T/provider.log")
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { fail "provider: http.server did not start"; finish; }

set +e
"$PREFIX/bin/pide-adapter-check" --endpoint "http://127.0.0.1:$port/registros" \
  "$SO" "$T/my-adapter/samples.xml" > "$T/check.out" 2> "$T/check.log"
rc=$?
set -e
cat "$T/check.out"
assert_eq 0 "$rc" "pide-adapter-check: the built template passes"
assert_contains "$T/check.out" "ok: loads with the gateway's loader (ABI 2" "pide-adapter-check: ABI checks pass"
assert_contains "$T/check.out" "ok: exports only pide_adapter_entry" "pide-adapter-check: only the entry point exported"
assert_contains "$T/check.out" "ok: sample 'found' (result 0000, subject CODIGO ABC123" "pide-adapter-check: a record found through the provider"
assert_contains "$T/check.out" "ok: sample 'not found' (result 0001" "pide-adapter-check: a 404 is a normal answer"
assert_contains "$T/provider.log" '"GET /registros/ABC123?entidad=PIDE-GW HTTP/1.1" 200' \
  "provider: received the template's request"

# The adapter goes where the installed gateway looks for adapters.
cmake --install "$T/my-adapter/build" > "$T/template-install.log"
[ -f "$PREFIX/$LIBDIR/pide-gateway/adapters/pide_adapter_template.so" ] \
  && pass "template: installs into the kit's adapterdir" \
  || fail "template: not installed into $PREFIX/$LIBDIR/pide-gateway/adapters"

finish
