#!/usr/bin/env bash
# test_house_style.sh — the one-way-to-do-it rules of gateway/ and lib/ hold:
#  * error messages are written with gw_set_error, not snprintf(err, errlen, ...);
#  * time is read through clock.[ch] only (one wall clock, one monotonic clock);
#  * SOAP, WS-Security and the gateway's own namespace URIs are spelt in namespaces.h only;
#  * a response is thrown away and replaced by a Fault in response.c only
#    (gw_response_replace_with_fault), never by a stage freeing response_doc itself;
#  * the top-level .clang-format is a style clang-format accepts.
# No fixtures: it reads sources only.
. "$(dirname "$0")/lib.sh"

cd "$PIDE_SOURCE_DIR"

# only_in WHAT PATTERN ALLOWED...: the extended regex PATTERN matches in no gateway/ or lib/
# source except the ALLOWED files (named from the top, e.g. lib/clock.c).
only_in() {
  local what=$1 pattern=$2; shift 2
  local hits f ok
  hits=$(grep -lE -- "$pattern" gateway/*.c gateway/*.h lib/*.c lib/*.h || true)
  for f in $hits; do
    ok=0
    for a in "$@"; do [ "$f" = "$a" ] && ok=1; done
    if [ "$ok" = 0 ]; then
      fail "$what: '$pattern' in $f: $(grep -nE -- "$pattern" "$f" | head -3 | tr '\n' ' ')"
      return
    fi
  done
  pass "$what"
}

# exchange_log.c keeps its own error writer (copy_error) for libpq's messages.
only_in "error messages go through gw_set_error" "(^|[^v])snprintf\(err, errlen" \
  gateway/exchange_log.c
only_in "time is read in clock.c only" "clock_gettime" lib/clock.c
for ns in '"http://schemas.xmlsoap.org/soap/envelope/"' '"http://www.w3.org/2003/05/soap-envelope"' \
          '"http://docs.oasis-open.org/wss/' '"urn:pide-gateway:header' '"urn:pide-gateway:meta' \
          '"urn:pide-gateway:config' '"http://www.w3.org/2001/04/xmlenc#sha256"'; do
  only_in "namespace $ns is spelt in namespaces.h only" "$ns" lib/namespaces.h
done
only_in "a response is replaced by a Fault in response.c only" "xmlFreeDoc\(ex->response_doc\)" \
  gateway/response.c gateway/exchange.c

# One prefix on every external symbol of the daemon and of lib/ (gSOAP's generated glue, the
# adapter ABI's pide_ names and AddressSanitizer's __odr_asan. twins aside).
unprefixed=$(for a in "$PIDE_BUILD_DIR/gateway/libpidegw_core.a" "$PIDE_BUILD_DIR/lib/libpide_common.a"; do
               nm -g --defined-only "$a" 2>/dev/null; done |
             awk '$2 ~ /^[TDBR]$/ {print $3}' | grep -vE '^(__odr_asan[.])?(gw_|GW_|soap|gwsoap|namespaces$|pide_)' |
             sort -u | tr '\n' ' ' || true)
[ -s "$PIDE_BUILD_DIR/gateway/libpidegw_core.a" ] || fail "no $PIDE_BUILD_DIR/gateway/libpidegw_core.a to read"
[ -z "$unprefixed" ] && pass "every external symbol carries the gw_ prefix" \
  || fail "external symbols without the gw_ prefix: $unprefixed"

if command -v clang-format >/dev/null; then
  cd "$PIDE_SOURCE_DIR"
  if clang-format --style=file --dump-config > "$T/style.txt" 2> "$T/style.err" &&
     grep -qx 'ColumnLimit: *100' "$T/style.txt" && grep -qx 'IndentWidth: *4' "$T/style.txt"; then
    pass ".clang-format is accepted: 4 spaces, 100 columns"
  else
    fail ".clang-format: $(cat "$T/style.err")"
  fi
else
  [ -f "$PIDE_SOURCE_DIR/.clang-format" ] && pass ".clang-format exists (clang-format not installed)" \
    || fail "no .clang-format at the top level"
fi
finish
