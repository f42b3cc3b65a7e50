#!/usr/bin/env bash
# test_citizen_report.sh — `pide-audit citizen` over real exchanges through the gateway (RENIEC
# and Migraciones simulators, PostgreSQL): a person's consultations in text, JSON (schema v1) and
# HTML with the agency's name from the gateway configuration, the service in plain words, the
# official, the purpose and the outcome; a purpose carrying HTML/script that must come out as
# text; --since/--until; --out; a person never consulted ("no consultation", exit 0); malformed
# and unknown subjects (exit 2); a carné de extranjería (CE) subject.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
AUDIT="$PIDE_BUILD_DIR/tools/pide-audit"
PG=$PIDE_TEST_PG_DIR
audit() { "$AUDIT" --conninfo "$(sed 's/user=pide_gateway/user=pide_auditor/' "$PG/conninfo")" \
                   --password-file "$PG/auditor.password" "$@"; }
expect_status() { # CODE WHAT COMMAND...: output in $T/out, $T/err
  local want=$1 what=$2 got=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || got=$?
  assert_eq "$want" "$got" "$what: exit $want"
}
json() { python3 -c "import json,sys; d=json.load(open('$T/out')); c=(d['consultations'] or [None])[0]; print($1)"; }

start_reniec_sim
start_sim migraciones
write_config
start_gateway

# A DNI of this run only (the cluster is shared): the simulator answers it "not found" (0001),
# which is still a consultation of that person.
dni=7$(printf '%07d' $(( (RANDOM << 15 | RANDOM) % 10000000 )))
ATTACK='<script>alert("x")</script><img src=x onerror=alert(1)> & '"'"'q'"'"
# request_with PURPOSE OUT: the RENIEC example for this run's DNI, with a pgw:purpose header
# (the purpose XML-escaped, as a caller's SOAP stack would send it).
request_with() {
  python3 - "$EX/reniec-consultar.xml" "$dni" "$1" >"$2" <<'PY'
import sys
from xml.sax.saxutils import escape
src, dni, purpose = sys.argv[1:4]
doc = open(src, encoding="utf-8").read()
doc = doc.replace("<nuDniConsulta>45678912</nuDniConsulta>", "<nuDniConsulta>%s</nuDniConsulta>" % dni)
doc = doc.replace("<soapenv:Header/>", '<soapenv:Header><pgw:purpose xmlns:pgw="urn:pide-gateway:header:1">%s</pgw:purpose></soapenv:Header>' % escape(purpose))
sys.stdout.write(doc)
PY
}
request_with "$ATTACK" "$T/attack.xml"
request_with "Verificación de identidad en trámite" "$T/plain.xml"
assert_eq 200 "$(soap_post ReniecConsultaDni "$T/attack.xml" "$T/r1.xml")" "consultation with a hostile purpose answered"
id1=$(exchange_id_of "$T/r1.xml")
assert_eq 200 "$(soap_post ReniecConsultaDni "$T/plain.xml" "$T/r2.xml")" "second consultation answered"
id2=$(exchange_id_of "$T/r2.xml")
assert_eq "$ATTACK" "$(log_sql "select purpose from exchange_log where exchange_id = '$id1'")" "the hostile purpose is logged as sent"
code=$(xml_value "$T/r1.xml" coResultado)

# --- text ----------------------------------------------------------------------------------
expect_status 0 "citizen (text)" audit citizen --subject DNI "$dni" --members "$CONFIG"
assert_contains "$T/out" "Informe de consultas a los datos de DNI $dni" "text: names the person's document"
assert_contains "$T/out" "2 consulta(s):" "text: both consultations"
assert_contains "$T/out" "Entidad:         Agencia de demostración (RUC 20000000001)" "text: agency by name (gateway configuration) and RUC"
assert_contains "$T/out" "Consulta de sus datos de identidad (DNI) en el Registro Nacional" "text: the service in plain words"
assert_contains "$T/out" "Funcionario:     DNI 11111111" "text: the official"
assert_contains "$T/out" "Finalidad:       Verificación de identidad en trámite" "text: the purpose"
assert_contains "$T/out" "Resultado:       Respondida (código de resultado del servicio: $code)" "text: the outcome"
assert_contains "$T/out" "Código de la consulta: $id1" "text: the exchange id"
lima_day=$(TZ=America/Lima date +%-d)
assert_contains "$T/out" "1. $lima_day de " "text: the day in Lima time, in words"
[ "$(grep -n "$id1" "$T/out" | cut -d: -f1)" -lt "$(grep -n "$id2" "$T/out" | cut -d: -f1)" ] \
  && pass "text: oldest first" || fail "text: not in time order"
expect_status 0 "citizen without --members" audit citizen --subject DNI "$dni"
assert_contains "$T/out" "nombre no disponible (RUC 20000000001)" "text without --members: no invented name"

# --- JSON ----------------------------------------------------------------------------------
expect_status 0 "citizen (json)" audit citizen --subject DNI "$dni" --format json --members "$CONFIG"
assert_eq "pide-citizen-report 1 2" "$(json 'd["report"], d["schema_version"], d["count"]')" "json: schema name, version, count"
assert_eq "DNI $dni" "$(json 'd["subject"]["type"], d["subject"]["id"]')" "json: subject"
assert_eq "$id1 20000000001 Agencia de demostración 11111111 ReniecConsultaDni consultar ok $code" \
  "$(json 'c["exchange_id"], c["agency"]["ruc"], c["agency"]["name"], c["official"]["dni"], c["service"]["name"], c["service"]["operation"], c["outcome"]["status"], c["outcome"]["result_code"]')" \
  "json: the first consultation's fields"
assert_eq "$ATTACK" "$(json 'd["consultations"][0]["purpose"]')" "json: the hostile purpose round-trips as a string"
assert_eq "True" "$(json 'd["consultations"][0]["time_utc"].endswith("Z") and len(d["consultations"][0]["time_lima"]) == 19')" "json: UTC and Lima times"

# --- HTML: a page, with the attack as text ------------------------------------------------------
expect_status 0 "citizen (html) --out" audit citizen --subject DNI "$dni" --format html --members "$CONFIG" --out "$T/report.html"
assert_contains "$T/err" "report written to $T/report.html (2 consultation(s))" "html --out: says where"
assert_eq 600 "$(stat -c %a "$T/report.html")" "html --out: personal data, mode 0600"
assert_contains "$T/report.html" '<html lang="es">' "html: a Spanish page"
assert_contains "$T/report.html" "¿Qué es este informe?" "html: explains what the report is"
assert_contains "$T/report.html" "¿Qué puede hacer si no reconoce una consulta?" "html: how to complain or ask"
assert_contains "$T/report.html" "Autoridad Nacional de Protección de Datos Personales" "html: names the authority"
assert_contains "$T/report.html" "Agencia de demostración (RUC 20000000001)" "html: the agency"
assert_contains "$T/report.html" "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &#39;q&#39;" "html: the hostile purpose escaped"
assert_not_contains "$T/report.html" "<script" "html: no script element"
assert_not_contains "$T/report.html" "<img" "html: no injected element"
if xmllint --html --noout "$T/report.html" 2>"$T/lint"; then pass "html: parses cleanly"; else fail "html: $(head -3 "$T/lint")"; fi
# The parsed page has exactly the elements we wrote: no element came from the data.
assert_eq "0 0" "$(xmllint --html --xpath 'concat(count(//script), " ", count(//img))' "$T/report.html" 2>/dev/null)" "html: the parser sees no script or img element"
assert_eq 2 "$(grep -c '<article>' "$T/report.html")" "html: one section per consultation, not a table dump"

# --- PDF (tools/pdf_text.c; read back with poppler's pdfinfo and pdftotext) --------------------
expect_status 0 "citizen (pdf) --out" audit citizen --subject DNI "$dni" --format pdf --members "$CONFIG" --out "$T/report.pdf"
assert_eq 600 "$(stat -c %a "$T/report.pdf")" "pdf --out: personal data, mode 0600"
if pdfinfo "$T/report.pdf" >"$T/pdfinfo" 2>&1 && ! grep -qi "error\|warning" "$T/pdfinfo"; then
  pass "pdf: pdfinfo accepts it without complaint"; else fail "pdf: pdfinfo: $(head -3 "$T/pdfinfo")"; fi
assert_contains "$T/pdfinfo" "Page size:       595 x 842 pts (A4)" "pdf: A4"
assert_contains "$T/pdfinfo" "PDF version:     1.4" "pdf: PDF 1.4"
assert_contains "$T/pdfinfo" "Title:           Informe de consultas a sus datos (PIDE)" "pdf: a title"
pdftotext -layout "$T/report.pdf" "$T/report.txt" 2>"$T/pdferr" && [ ! -s "$T/pdferr" ] \
  && pass "pdf: pdftotext reads it silently" || fail "pdf: pdftotext: $(head -3 "$T/pdferr")"
assert_contains "$T/report.txt" "Informe de consultas a los datos de DNI $dni" "pdf: names the person's document"
assert_contains "$T/report.txt" "2 consulta(s):" "pdf: both consultations"
assert_contains "$T/report.txt" "Agencia de demostración (RUC 20000000001)" "pdf: the agency, accents intact"
assert_contains "$T/report.txt" "Verificación de identidad en trámite" "pdf: the purpose, accents intact"
assert_contains "$T/report.txt" "Página 1 de 1" "pdf: page numbers"
squeeze() { tr -s ' \n\f' '   ' <"$1"; } # the words, whatever the columns and the wrapping
squeeze "$T/report.txt" >"$T/report.sq"
assert_contains "$T/report.sq" "Código de la consulta: $id1" "pdf: the first exchange id"
assert_contains "$T/report.sq" "Código de la consulta: $id2" "pdf: the second exchange id"
# The hostile purpose (parentheses, quotes, markup) comes out as text, perhaps wrapped.
case "$(squeeze "$T/report.txt")" in
  *"$(printf '%s' "$ATTACK" | tr -s ' ' ' ')"*) pass "pdf: the hostile purpose printed as text" ;;
  *) fail "pdf: the hostile purpose is not shown as sent" ;;
esac
# The PDF's text is the text report's, word for word (same data, same wording), page number aside.
audit citizen --subject DNI "$dni" --members "$CONFIG" >"$T/same.txt"
text_words=$(squeeze "$T/same.txt" | sed 's/^ //; s/ $//')
pdf_words=$(squeeze "$T/report.txt" | sed 's/^ //; s/ *Página 1 de 1 *$//')
if [ "$text_words" = "$pdf_words" ]; then pass "pdf: the same words as the text report"
else fail "pdf: differs from the text report: $(diff <(tr ' ' '\n' <<<"$text_words") <(tr ' ' '\n' <<<"$pdf_words") | head -5)"; fi

# --- period, empty, malformed ---------------------------------------------------------------
expect_status 0 "citizen --since tomorrow" audit citizen --subject DNI "$dni" --since "$(date -u -d tomorrow +%F)"
assert_contains "$T/out" "No se registra ninguna consulta a los datos de DNI $dni en este periodo." "since tomorrow: a clear 'no consultations' statement"
expect_status 0 "citizen --until yesterday (json)" audit citizen --subject DNI "$dni" --until "$(date -u -d yesterday +%F)" --format json
assert_eq "0 []" "$(json 'd["count"], d["consultations"]')" "until yesterday: empty list in JSON"
never=6$(printf '%07d' $(( (RANDOM << 15 | RANDOM) % 10000000 )))
expect_status 0 "citizen of a person never consulted" audit citizen --subject DNI "$never" --format html
assert_contains "$T/out" "No se registra ninguna consulta a los datos de este documento." "never consulted (html): says so"
for bad in 1234567 123456789 4567891a " 45678912" "45678912'" "" ; do
  expect_status 2 "malformed DNI '$bad'" audit citizen --subject DNI "$bad"
done
assert_contains "$T/err" "citizen needs --subject TYPE ID" "empty DNI: says what is needed"
expect_status 2 "malformed DNI (message)" audit citizen --subject DNI 4567891
assert_contains "$T/err" "'4567891' is not a DNI (exactly 8 digits" "malformed DNI: says why"
expect_status 2 "unknown subject type" audit citizen --subject PASSPORT X123
assert_contains "$T/err" "unknown subject type 'PASSPORT' (DNI, CE or RUC)" "unknown subject type: names the known ones"
expect_status 2 "malformed CE" audit citizen --subject CE 12345
assert_contains "$T/err" "is not a carné de extranjería number" "malformed CE: says why"
expect_status 2 "bad format" audit citizen --subject DNI "$dni" --format docx
assert_contains "$T/err" "--format must be text, json, html or pdf" "bad format: says which exist"
expect_status 2 "bad --since" audit citizen --subject DNI "$dni" --since "yesterday'; DROP TABLE exchange_log; --"
assert_contains "$T/err" "is not a time PostgreSQL understands" "bad --since: the database's parse error, exit 2"
expect_status 2 "citizen without --subject" audit citizen
expect_status 2 "unreadable members file" audit citizen --subject DNI "$dni" --members "$T/none.xml"
assert_contains "$T/err" "cannot read the gateway configuration" "unreadable members file: says so"

# --- a carné de extranjería (Migraciones) --------------------------------------------------
assert_eq 200 "$(soap_post MigraCarnetdeExtrajeria "$EX/migraciones-consultar.xml" "$T/m.xml")" "Migraciones consultation answered"
idm=$(exchange_id_of "$T/m.xml")
expect_status 0 "citizen --subject CE" audit citizen --subject CE 001234567 --members "$CONFIG" --format json
assert_eq "True" "$(json "any(c['exchange_id'] == '$idm' and c['service']['description'].startswith('Consulta de su carné de extranjería') and c['purpose'] == 'Verificación de identidad en trámite' and c['agency']['subsystem'] == 'demo' for c in d['consultations'])")" \
  "CE: the Migraciones consultation, in plain words, with its purpose and subsystem"

finish
