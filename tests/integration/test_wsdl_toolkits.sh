#!/usr/bin/env bash
# test_wsdl_toolkits.sh — every consumer-facing WSDL (wsdl/*.wsdl) imports cleanly into
# independent toolkits: well-formed (xmllint); the XSDs it imports compile and accept the
# documented examples of docs/examples (and refuse the "-invalido" ones); gSOAP's wsdl2h -c and
# soapcpp2 -c turn it into C client stubs that compile; and python3-zeep loads it from the running
# gateway (GET ?wsdl) and, for RENIEC, calls consultar through the real gateway and parses the
# answer (tests/integration/zeep_client.py); every WSDL has a SOAP 1.2 binding too and declares
# the pide-gateway header as soap:header parts, which zeep sets (purpose, userId, id) through
# both bindings, and the log rows show them.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
WSDL_DIR="$PIDE_SOURCE_DIR/wsdl"
SCHEMA_DIR="$PIDE_SOURCE_DIR/schemas"
EXAMPLES="$PIDE_SOURCE_DIR/docs/examples"
read -r -a GSOAP_CFLAGS <<< "$(pkg-config --cflags gsoapssl)"

# payload_of EXAMPLE OUT: the first element of the example's soap:Body, as its own document;
# prints its namespace URI.
payload_of() {
  python3 - "$1" "$2" <<'PY'
import sys, xml.etree.ElementTree as ET
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
root = ET.parse(sys.argv[1]).getroot()
body = root.find(SOAP + "Body")
payload = next(iter(body)) if body is not None and len(body) else None
if payload is None:
    sys.exit(f"{sys.argv[1]}: no payload in soap:Body")
ET.ElementTree(payload).write(sys.argv[2], xml_declaration=True, encoding="UTF-8")
print(payload.tag[1:].split("}")[0] if payload.tag.startswith("{") else "")
PY
}

# target_namespace XSD
target_namespace() { xmllint --xpath 'string(/*/@targetNamespace)' "$1"; }

wsdls=("$WSDL_DIR"/*.wsdl)
[ -e "${wsdls[0]}" ] || { fail "no WSDL in $WSDL_DIR"; finish; }
for wsdl in "${wsdls[@]}"; do
  name=$(basename "$wsdl" .wsdl)
  # --- well-formed, and the schemas it imports ------------------------------------------------
  if xmllint --noout "$wsdl" 2>"$T/$name.xmllint.log"; then pass "$name: well-formed"
  else fail "$name: not well-formed: $(head -1 "$T/$name.xmllint.log")"; continue; fi
  imports=$(xmllint --xpath '//*[local-name()="import"]/@schemaLocation' "$wsdl" 2>/dev/null \
            | sed -n 's/.*schemaLocation="\([^"]*\)".*/\1/p')
  [ -n "$imports" ] || fail "$name: imports no XSD (schemaLocation)"
  for loc in $imports; do
    xsd=$(cd "$(dirname "$wsdl")" && realpath -e "$loc" 2>/dev/null) \
      || { fail "$name: imported schema $loc does not exist"; continue; }
    tns=$(target_namespace "$xsd")
    # The schema compiles; every documented example of its namespace validates, the
    # "-invalido" ones are refused.
    examples=0
    for ex in "$EXAMPLES"/*.xml; do
      payload="$T/$name.$(basename "$ex")"
      ns=$(payload_of "$ex" "$payload" 2>/dev/null) || continue
      [ "$ns" = "$tns" ] || continue
      examples=$((examples + 1))
      if xmllint --noout --schema "$xsd" "$payload" >"$T/$name.validate.log" 2>&1; then
        valid=yes
      else
        valid=no
      fi
      case "$(basename "$ex")" in
        *-invalido.xml) assert_eq no "$valid" "$name: $(basename "$xsd") refuses $(basename "$ex")";;
        *) assert_eq yes "$valid" "$name: $(basename "$xsd") accepts $(basename "$ex")";;
      esac
    done
    if [ "$examples" -eq 0 ]; then
      # No example to validate: at least the schema must compile (validating an empty element
      # fails for content, not for a broken schema).
      echo '<x/>' > "$T/empty.xml"
      if xmllint --noout --schema "$xsd" "$T/empty.xml" 2>&1 | grep -q "failed to compile\|Schemas parser error"; then
        fail "$name: $(basename "$xsd") does not compile"
      else
        pass "$name: $(basename "$xsd") compiles (no example in docs/examples)"
      fi
    fi
  done

  # --- gSOAP: wsdl2h -c, soapcpp2 -c, and the client stubs compile ----------------------------
  out="$T/gsoap-$name"
  mkdir -p "$out"
  if (cd "$(dirname "$wsdl")" && wsdl2h -c -o "$out/$name.h" "$wsdl") >"$out/wsdl2h.log" 2>&1; then
    pass "$name: wsdl2h -c accepts it"
  else
    fail "$name: wsdl2h -c failed: $(grep -m1 -i 'error' "$out/wsdl2h.log")"; continue
  fi
  for op in $(xmllint --xpath '//*[local-name()="portType"]/*[local-name()="operation"]/@name' "$wsdl" \
              | sed -n 's/.*name="\([^"]*\)".*/\1/p' 2>/dev/null); do
    grep -qE "^int __[a-z0-9]+__${op}\(" "$out/$name.h" \
      && pass "$name: wsdl2h declares operation $op" || fail "$name: wsdl2h declared no operation $op"
  done
  if soapcpp2 -c -C -L -x -d "$out" -I/usr/share/gsoap/import "$out/$name.h" >"$out/soapcpp2.log" 2>&1; then
    pass "$name: soapcpp2 -c accepts wsdl2h's output"
  else
    fail "$name: soapcpp2 -c failed: $(tail -3 "$out/soapcpp2.log")"; continue
  fi
  if cc -c -w "${GSOAP_CFLAGS[@]}" -I"$out" -o "$out/soapC.o" "$out/soapC.c" 2>"$out/cc.log" &&
     cc -c -w "${GSOAP_CFLAGS[@]}" -I"$out" -o "$out/soapClient.o" "$out/soapClient.c" 2>>"$out/cc.log"; then
    pass "$name: the generated C client stubs compile"
  else
    fail "$name: the generated C client stubs do not compile: $(head -3 "$out/cc.log")"
  fi
done

# --- python3-zeep against the real gateway ----------------------------------------------------
# Debian's python3-zeep lives in the system interpreter, which a pyenv/venv python3 on PATH hides.
ZEEP_PY=""
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import zeep' 2>/dev/null; then ZEEP_PY=$py; break; fi
done
[ -n "$ZEEP_PY" ] || { fail "zeep: no python3 with zeep (Debian package python3-zeep; scripts/install-deps)"; finish; }
start_sim reniec
write_config
start_gateway
if "$ZEEP_PY" "$PIDE_SOURCE_DIR/tests/integration/zeep_client.py" --gateway "$GW_URL" \
     --wsdl-dir "$WSDL_DIR" --schemas-dir "$SCHEMA_DIR" --call-reniec \
     --purpose "Fiscalizacion 2026-117" > "$T/zeep.out" 2>&1; then
  pass "zeep: every WSDL loads and the RENIEC call succeeds"
else
  fail "zeep: see below"
fi
cat "$T/zeep.out"
for wsdl in "${wsdls[@]}"; do
  assert_contains "$T/zeep.out" "ok: $(basename "$wsdl"): zeep loads it" "zeep: $(basename "$wsdl") loaded"
done
assert_contains "$T/zeep.out" "ok: ReniecConsultaDni.consultar: coResultado = '0000'" "zeep: coResultado 0000"
assert_contains "$T/zeep.out" "ok: ReniecConsultaDni.consultar: prenombres = 'SUSANA DIANA'" "zeep: names parsed"
# Declared headers (pgw:purpose, userId, id set through zeep's _soapheaders, no hand-written
# XML), through the SOAP 1.1 and the SOAP 1.2 binding: the log rows show them.
for v in 1.1 1.2; do
  xid=$(sed -n "s/^exchange $v \([0-9a-f-]*\) .*/\1/p" "$T/zeep.out")
  if [ -z "$xid" ]; then fail "zeep SOAP $v: no exchange id printed"; continue; fi
  assert_eq "ok|Fiscalizacion 2026-117 (SOAP $v)|zeep-$v" \
    "$(log_sql "select outcome, purpose, regexp_replace(message_id, '-[0-9]+$', '') from exchange_log where exchange_id = '$xid'")" \
    "zeep SOAP $v with declared headers: the log row shows the purpose and the message id"
done
xid=$(sed -n "s/^exchange 1.2 \([0-9a-f-]*\) .*/\1/p" "$T/zeep.out")
[ -n "$xid" ] && log_sql "select convert_from(request, 'UTF8') from exchange_log where exchange_id = '$xid'" 2>/dev/null \
  | grep -q 'http://www.w3.org/2003/05/soap-envelope' && pass "zeep SOAP 1.2: the stored request is a SOAP 1.2 Envelope" \
  || fail "zeep SOAP 1.2: the stored request is not SOAP 1.2"

finish
