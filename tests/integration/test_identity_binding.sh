#!/usr/bin/env bash
# test_identity_binding.sh — who asked is one fact (issue 8, item 1): through the real gateway,
# for RENIEC, Migraciones and the PJ and every way of authenticating each offers (mutual TLS,
# WS-Security signature, legacy credentials, the declared header on the loopback listener), a
# request that names another entity or official in its body is refused with
# Client.IdentityMismatch (HTTP 403) and logged as the authenticated member, or has the field
# overwritten with the authenticated value before the adapter runs; what the provider heard (the
# simulators' --verbose logs) and what the exchange log records agree. Duplicated identity
# elements are refused; legitimate requests still work.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
SIGN="$PIDE_BUILD_DIR/tools/pide-wss-sign"
PGW=urn:pide-gateway:header:1

start_reniec_sim --verbose
start_sim migraciones --verbose
start_sim pj --trusted-ca "$PKI/ca.pem" --verbose
write_config
start_gateway

# post AUTH SERVICE FILE OUT: sends FILE as AUTH — declared (plain listener, the pgw:client it
# carries), legacy (plain listener, the body's credentials), mtls (member listener with the demo
# member's certificate), wss (plain listener, signed by the demo member with a fresh pgw:id).
# Prints the HTTP status.
post() {
  local auth=$1 svc=$2 file=$3 out=$4
  case $auth in
    declared|legacy)
      soap_post "$svc" "$file" "$out" ;;
    mtls)
      curl -s -o "$out" -D "$out.headers" -w '%{http_code}' --cacert "$PKI/ca.pem" \
        --cert "$PKI/demo-client.pem" --key "$PKI/demo-client.key" \
        -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
        --data-binary @"$file" "$GW_TLS_URL/services/$svc" ;;
    wss)
      # (post runs in a subshell: the id is made unique without a shared counter)
      local msg="$(date +%s%N)-$RANDOM"
      sed -e "s|<soapenv:Header/>|<soapenv:Header></soapenv:Header>|" \
          -e "s|</soapenv:Header>|<pgw:id xmlns:pgw=\"$PGW\">bind-$msg</pgw:id></soapenv:Header>|" \
          "$file" > "$out.plain"
      "$SIGN" --key "$PKI/demo-client.key" --cert "$PKI/demo-client.pem" "$out.plain" > "$out.req"
      soap_post "$svc" "$out.req" "$out" ;;
  esac
}

# row OUT: client_member|client_user|auth_method|outcome|fault_code of the exchange OUT answers.
row() {
  log_sql "select client_member, coalesce(client_user, ''), auth_method, outcome,
                  coalesce(fault_code, '') from exchange_log
           where exchange_id = '$(exchange_id_of "$1")'"
}

# What the providers heard: the PJ's consultant lines, Migraciones' card requests, RENIEC's
# requests (the last two are logged after the answer: wait_count waits for the line).
reniec_count() { grep -c 'POST /padron/' "$T/reniec.log" || true; }
wait_count() { # COUNT_FUNCTION N: until it exceeds N (2 s at most)
  local i
  for i in $(seq 1 40); do [ "$($1)" -gt "$2" ] && return 0; sleep 0.05; done
}
pj_heard_count() { grep -c 'consultante rucEntidad=' "$T/pj.log" || true; }
pj_heard_last() { grep 'consultante rucEntidad=' "$T/pj.log" | tail -n 1 | sed 's/^.*consultante //'; }
migra_count() { grep -c 'GET /api/v1/carnes/' "$T/migraciones.log" || true; }
# migra_heard_after N: the entidad of the first request after the first N (waits for its line:
# the simulator logs it after answering).
migra_heard_after() {
  wait_count migra_count "$1"
  grep 'GET /api/v1/carnes/' "$T/migraciones.log" | sed -n "$(($1 + 1))p" \
    | sed -n 's/^.*?entidad=\([^ ]*\) .*$/\1/p'
}

# assert_mismatch WHAT OUT STATUS PROVIDER_COUNT_BEFORE PROVIDER_COUNT_AFTER AUTH
assert_mismatch() {
  local what=$1 out=$2 status=$3 before=$4 after=$5 auth=$6
  assert_eq 403 "$status" "$what: HTTP 403"
  assert_eq soap:Client.IdentityMismatch "$(xml_value "$out" faultcode)" "$what: Client.IdentityMismatch"
  assert_eq "20000000001|$auth|fault|Client.IdentityMismatch" \
    "$(row "$out" | cut -d'|' -f1,3-)" "$what: logged as the authenticated member"
  assert_eq "$before" "$after" "$what: the provider heard nothing"
}

# ---- Poder Judicial: xRucEntidadConsultante / xDniPersonaConsultante are checked ----------
PJ_OK="$EX/pj-verificar.xml"
sed 's|<xRucEntidadConsultante>20000000001<|<xRucEntidadConsultante>20000000002<|' "$PJ_OK" > "$T/pj-ruc.req"
sed 's|<xDniPersonaConsultante>11111111<|<xDniPersonaConsultante>22222222<|' "$PJ_OK" > "$T/pj-dni.req"
sed 's|<xDniPersonaConsultante>11111111</xDniPersonaConsultante>|&<xRucEntidadConsultante>20000000002</xRucEntidadConsultante>|' \
  "$PJ_OK" > "$T/pj-dup.req"
# No pgw:userId: the body's official is the one the member declares, and the log says so.
sed -e 's|<pgw:userId>11111111</pgw:userId>||' \
    -e 's|<xDniPersonaConsultante>11111111<|<xDniPersonaConsultante>22222222<|' "$PJ_OK" > "$T/pj-nouser.req"

for auth in declared mtls wss; do
  n=$(pj_heard_count)
  status=$(post $auth AntecedentesPenales "$PJ_OK" "$T/pj-ok-$auth.xml")
  assert_eq 200 "$status" "PJ/$auth legitimate: HTTP 200"
  assert_eq 0000 "$(xml_value "$T/pj-ok-$auth.xml" coResultado)" "PJ/$auth legitimate: answered"
  assert_eq "20000000001|11111111|$auth|ok|" "$(row "$T/pj-ok-$auth.xml" | sed 's/declared-header/declared/;s/wss-signature/wss/')" \
    "PJ/$auth legitimate: logged"
  assert_eq "rucEntidad=20000000001 dniOperador=11111111" "$(pj_heard_last)" "PJ/$auth legitimate: the registry heard the same"

  for spoof in ruc dni dup; do
    n=$(pj_heard_count)
    status=$(post $auth AntecedentesPenales "$T/pj-$spoof.req" "$T/pj-$spoof-$auth.xml")
    [ "$auth" = declared ] && a=declared-header || { [ "$auth" = wss ] && a=wss-signature || a=mtls; }
    if [ "$spoof" = dup ]; then
      # A second identity element: the contract's schema or the binding refuses it.
      code=$(xml_value "$T/pj-$spoof-$auth.xml" faultcode)
      case $code in
        soap:Client.IdentityMismatch|soap:Client.SchemaInvalid) pass "PJ/$auth duplicated xRucEntidadConsultante: refused ($code)" ;;
        *) fail "PJ/$auth duplicated xRucEntidadConsultante: got '$code' (HTTP $status)" ;;
      esac
      assert_eq "$n" "$(pj_heard_count)" "PJ/$auth duplicated element: the registry heard nothing"
    else
      assert_mismatch "PJ/$auth spoofed $spoof" "$T/pj-$spoof-$auth.xml" "$status" "$n" "$(pj_heard_count)" "$a"
    fi
  done

  status=$(post $auth AntecedentesPenales "$T/pj-nouser.req" "$T/pj-nouser-$auth.xml")
  assert_eq 0000 "$(xml_value "$T/pj-nouser-$auth.xml" coResultado)" "PJ/$auth official from the body: answered"
  assert_eq "20000000001|22222222" "$(row "$T/pj-nouser-$auth.xml" | cut -d'|' -f1,2)" \
    "PJ/$auth official from the body: the log records it"
  assert_eq "rucEntidad=20000000001 dniOperador=22222222" "$(pj_heard_last)" \
    "PJ/$auth official from the body: the registry heard the same"
done

# ---- Migraciones: strCodInstitucion is overwritten with the member's institution code -------
MIGRA_OK="$EX/migraciones-consultar.xml"
sed 's|<strCodInstitucion>20000000001<|<strCodInstitucion>BLOQUEADA<|' "$MIGRA_OK" > "$T/migra-blocked.req"
sed 's|<strCodInstitucion>20000000001<|<strCodInstitucion>20000000002<|' "$MIGRA_OK" > "$T/migra-other.req"
sed 's|<strCodInstitucion>20000000001</strCodInstitucion>|&<strCodInstitucion>BLOQUEADA</strCodInstitucion>|' \
  "$MIGRA_OK" > "$T/migra-dup.req"
for auth in declared mtls wss; do
  for req in ok blocked other; do
    file=$T/migra-$req.req; [ $req = ok ] && file=$MIGRA_OK
    n=$(migra_count)
    status=$(post $auth MigraCarnetdeExtrajeria "$file" "$T/migra-$req-$auth.xml")
    assert_eq 200 "$status" "Migraciones/$auth strCodInstitucion $req: HTTP 200"
    assert_eq 0000 "$(xml_value "$T/migra-$req-$auth.xml" strNumRespuesta)" \
      "Migraciones/$auth strCodInstitucion $req: answered as the member"
    assert_eq 20000000001 "$(migra_heard_after "$n")" \
      "Migraciones/$auth strCodInstitucion $req: the register heard the member's code"
    assert_eq 20000000001 "$(row "$T/migra-$req-$auth.xml" | cut -d'|' -f1)" \
      "Migraciones/$auth strCodInstitucion $req: the log records the member"
  done
  n=$(migra_count)
  post $auth MigraCarnetdeExtrajeria "$T/migra-dup.req" "$T/migra-dup-$auth.xml" >/dev/null
  code=$(xml_value "$T/migra-dup-$auth.xml" faultcode)
  if [ "$code" = soap:Client.SchemaInvalid ]; then
    pass "Migraciones/$auth duplicated strCodInstitucion: refused by schema"
    assert_eq "$n" "$(migra_count)" "Migraciones/$auth duplicated element: the register heard nothing"
  else
    assert_eq 20000000001 "$(migra_heard_after "$n")" "Migraciones/$auth duplicated element: overwritten too"
  fi
done

# A member Migraciones refuses (institutionCode BLOQUEADA) can no longer send another code.
sed 's|<pgw:memberCode>20000000001<|<pgw:memberCode>20000000004<|' "$MIGRA_OK" > "$T/migra-m4.req"
n=$(migra_count)
status=$(post declared MigraCarnetdeExtrajeria "$T/migra-m4.req" "$T/migra-m4.xml")
assert_eq 0003 "$(xml_value "$T/migra-m4.xml" strNumRespuesta)" \
  "Migraciones: a blocked member sending another institution code is still refused (0003)"
assert_eq BLOQUEADA "$(migra_heard_after "$n")" "Migraciones: the register heard the member's own code"
assert_eq "20000000004|declared-header|ok" "$(row "$T/migra-m4.xml" | cut -d'|' -f1,3,4)" \
  "Migraciones: logged as that member"

# ---- RENIEC: nuRucUsuario / nuDniUsuario are checked --------------------------------------
RENIEC_OK="$EX/reniec-consultar.xml"
status=$(post legacy ReniecConsultaDni "$RENIEC_OK" "$T/reniec-legacy.xml")
assert_eq 0000 "$(xml_value "$T/reniec-legacy.xml" coResultado)" "RENIEC/legacy legitimate: answered"
assert_eq "20000000001|11111111|legacy-password|ok|" "$(row "$T/reniec-legacy.xml")" "RENIEC/legacy: logged"
# The header may not name another official than the legacy credentials.
sed "s|<soapenv:Header/>|<soapenv:Header><pgw:userId xmlns:pgw=\"$PGW\">22222222</pgw:userId></soapenv:Header>|" \
  "$RENIEC_OK" > "$T/reniec-hdruser.req"
post legacy ReniecConsultaDni "$T/reniec-hdruser.req" "$T/reniec-hdruser.xml" >/dev/null
assert_eq soap:Client.AuthenticationFailed "$(xml_value "$T/reniec-hdruser.xml" faultcode)" \
  "RENIEC/legacy: a pgw:userId other than the credentials' official is refused"
assert_eq "20000000001|11111111" "$(row "$T/reniec-hdruser.xml" | cut -d'|' -f1,2)" \
  "RENIEC/legacy: that refusal is logged with the credentials' identity"

# Certificate-authenticated callers: the body's official must be the declared pgw:userId.
sed "s|<soapenv:Header/>|<soapenv:Header><pgw:userId xmlns:pgw=\"$PGW\">11111111</pgw:userId></soapenv:Header>|" \
  "$RENIEC_OK" > "$T/reniec-user.req"
sed 's|<nuDniUsuario>11111111<|<nuDniUsuario>22222222<|' "$T/reniec-user.req" > "$T/reniec-dni.req"
sed 's|<nuRucUsuario>20000000001<|<nuRucUsuario>20000000002<|' "$T/reniec-user.req" > "$T/reniec-ruc.req"
for auth in mtls wss; do
  a=$auth; [ $auth = wss ] && a=wss-signature
  n=$(reniec_count)
  status=$(post $auth ReniecConsultaDni "$T/reniec-user.req" "$T/reniec-ok-$auth.xml")
  assert_eq 0000 "$(xml_value "$T/reniec-ok-$auth.xml" coResultado)" "RENIEC/$auth legitimate: answered"
  assert_eq "20000000001|11111111|$a|ok|" "$(row "$T/reniec-ok-$auth.xml")" "RENIEC/$auth legitimate: logged"
  wait_count reniec_count "$n"
  n=$(reniec_count)
  status=$(post $auth ReniecConsultaDni "$T/reniec-dni.req" "$T/reniec-dni-$auth.xml")
  sleep 0.2
  assert_mismatch "RENIEC/$auth spoofed nuDniUsuario" "$T/reniec-dni-$auth.xml" "$status" "$n" \
    "$(reniec_count)" "$a"
  post $auth ReniecConsultaDni "$T/reniec-ruc.req" "$T/reniec-ruc-$auth.xml" >/dev/null
  code=$(xml_value "$T/reniec-ruc-$auth.xml" faultcode)
  case $code in
    soap:Client.IdentityMismatch|soap:Client.AuthenticationFailed) pass "RENIEC/$auth spoofed nuRucUsuario: refused ($code)" ;;
    *) fail "RENIEC/$auth spoofed nuRucUsuario: got '$code'" ;;
  esac
  assert_eq 20000000001 "$(row "$T/reniec-ruc-$auth.xml" | cut -d'|' -f1)" \
    "RENIEC/$auth spoofed nuRucUsuario: logged as the authenticated member"
done

finish
