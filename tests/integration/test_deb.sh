#!/usr/bin/env bash
# test_deb.sh — `cpack` in the build folder makes the Debian package (cmake/PidePackage.cmake):
# its control fields, conffiles and maintainer scripts, the FHS paths it holds (and none under
# /usr/local or the build tree), and the packaged daemon, unpacked with dpkg-deb -x, accepts the
# packaged example configuration with the packaged schemas and WSDLs. Skipped when dpkg-deb or
# dpkg-shlibdeps (dpkg-dev) is missing.
. "$(dirname "$0")/lib.sh"

for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" > /dev/null || { echo "skip: $tool not installed (scripts/install-deps)"; exit 0; }
done
ARCH=$(dpkg --print-architecture)
MULTIARCH=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=lib\///p' "$PIDE_BUILD_DIR/CMakeCache.txt")
VERSION=$(sed -n 's/^project(pide-gateway VERSION \([0-9.]*\).*/\1/p' "$PIDE_SOURCE_DIR/CMakeLists.txt")

(cd "$PIDE_BUILD_DIR" && cpack -B "$T/deb") > "$T/cpack.log" 2>&1 || { fail "cpack failed"; cat "$T/cpack.log"; finish; }
DEB="$T/deb/pide-gateway_${VERSION}_${ARCH}.deb"
[ -f "$DEB" ] && pass "cpack: made $(basename "$DEB")" || { fail "cpack: no $DEB"; ls "$T/deb"; finish; }

# --- control fields ------------------------------------------------------------------------------
dpkg-deb -I "$DEB" > "$T/info.txt"
cat "$T/info.txt"
field() { dpkg-deb -f "$DEB" "$1"; }
assert_eq pide-gateway "$(field Package)" "control: Package"
assert_eq "$VERSION" "$(field Version)" "control: Version is the project's"
assert_eq "$ARCH" "$(field Architecture)" "control: Architecture"
assert_eq net "$(field Section)" "control: Section"
[ -n "$(field Maintainer)" ] && pass "control: Maintainer set" || fail "control: no Maintainer"
[ -n "$(field Description)" ] && pass "control: Description set" || fail "control: no Description"
depends=$(field Depends)
for dep in libc6 libpq5 libssl3 libxml2 libxmlsec1-openssl libgsoap postgresql-client xmlsec1; do
  case ", $depends" in *", $dep"*) pass "control: Depends on $dep";;
    *) fail "control: Depends '$depends' lacks $dep";; esac
done
[ "$(field Installed-Size)" -gt 0 ] && pass "control: Installed-Size" || fail "control: no Installed-Size"
mkdir -p "$T/control"
dpkg-deb -e "$DEB" "$T/control"
assert_eq "/etc/pide-gateway/pide-gateway.xml" "$(cat "$T/control/conffiles")" "control: the configuration is a conffile"
for s in postinst prerm postrm; do
  [ -x "$T/control/$s" ] && sh -n "$T/control/$s" && pass "control: $s present, executable, valid sh" \
    || fail "control: $s missing or not valid sh"
done
assert_contains "$T/control/postinst" "systemd-sysusers pide-gateway.conf" "postinst: creates the user from sysusers.d"
assert_contains "$T/control/postinst" "adduser --system" "postinst: adduser fallback without systemd"

# --- contents --------------------------------------------------------------------------------------
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' > "$T/contents.txt"
for p in /usr/bin/pide-gateway /usr/bin/pide-gateway-migrate /usr/bin/pide-audit /usr/bin/pide-audit-verify \
         /usr/bin/pide-adapter-check /usr/bin/pide-wss-sign \
         "/usr/lib/$MULTIARCH/pide-gateway/adapters/pide_adapter_reniec.so" \
         "/usr/lib/$MULTIARCH/pide-gateway/adapters/pide_adapter_migraciones.so" \
         "/usr/lib/$MULTIARCH/pide-gateway/adapters/pide_adapter_pj.so" \
         "/usr/lib/$MULTIARCH/pkgconfig/pide-adapter.pc" /usr/include/pide_adapter.h \
         /usr/share/pide-gateway/wsdl/ReniecConsultaDni.wsdl /usr/share/pide-gateway/schemas/gateway-config.xsd \
         /usr/share/pide-gateway/sql/migrations/0001_exchange_log.sql /usr/share/pide-gateway/adapter-template/CMakeLists.txt \
         /usr/share/doc/pide-gateway/operator-guide.md \
         /etc/pide-gateway/pide-gateway.xml /etc/pide-gateway/keys /var/lib/pide-gateway \
         /usr/lib/systemd/system/pide-gateway.service /usr/lib/sysusers.d/pide-gateway.conf; do
  grep -qxF "$p" "$T/contents.txt" && pass "contents: $p" || fail "contents: no $p"
done
assert_not_contains "$T/contents.txt" "/usr/local" "contents: nothing under /usr/local"
grep -v -E '^/(usr|etc|var)(/|$)|^/$' "$T/contents.txt" > "$T/stray.txt" || true
[ -s "$T/stray.txt" ] && fail "contents: paths outside /usr /etc /var: $(head -3 "$T/stray.txt")" \
  || pass "contents: only /usr, /etc and /var"

# --- unpacked: the packaged files name packaged paths, and the daemon accepts its example --------
dpkg-deb -x "$DEB" "$T/root"
grep -rlF -- "$PIDE_BUILD_DIR" "$T/root/etc" "$T/root/usr/lib/systemd" "$T/root/usr/bin/pide-gateway-migrate" \
  > "$T/leaks.txt" 2>/dev/null || true
[ -s "$T/leaks.txt" ] && fail "unpacked: build paths in $(cat "$T/leaks.txt")" || pass "unpacked: no build-tree path in config, unit or scripts"
assert_contains "$T/root/etc/pide-gateway/pide-gateway.xml" "adapterDir=\"/usr/lib/$MULTIARCH/pide-gateway/adapters\"" \
  "unpacked config: the packaged adapters"
assert_contains "$T/root/etc/pide-gateway/pide-gateway.xml" 'wsdl="/usr/share/pide-gateway/wsdl/ReniecConsultaDni.wsdl"' \
  "unpacked config: the packaged WSDL"
assert_contains "$T/root/usr/lib/systemd/system/pide-gateway.service" \
  "ExecStart=/usr/bin/pide-gateway --config /etc/pide-gateway/pide-gateway.xml" "unpacked unit: /usr/bin, /etc/pide-gateway"
"$T/root/usr/bin/pide-gateway" --version > "$T/version.txt"
assert_contains "$T/version.txt" "pide-gateway $VERSION" "unpacked daemon: runs, reports $VERSION"
# Run it where it was unpacked: /usr and /etc in the example point into $T/root instead.
sed -e "s|\"/usr/|\"$T/root/usr/|g" "$T/root/etc/pide-gateway/pide-gateway.xml" > "$T/root/etc/pide-gateway/unpacked.xml"
(unset PIDE_SCHEMA_DIR; cd / && "$T/root/usr/bin/pide-gateway" --config "$T/root/etc/pide-gateway/unpacked.xml" --check-config) \
  > "$T/check.out" 2>&1 && pass "unpacked daemon: --check-config accepts the packaged example" \
  || fail "unpacked daemon: --check-config: $(cat "$T/check.out")"
"$T/root/usr/bin/pide-gateway-migrate" --status --database "bad name" > "$T/mig.out" 2>&1 || true
assert_contains "$T/mig.out" "must be a plain lower-case identifier" "unpacked migrate: runs and checks its arguments"

finish
