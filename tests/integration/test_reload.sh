#!/usr/bin/env bash
# test_reload.sh — reloading the configuration without downtime (docs/operator-guide.md,
# "Reloading the configuration"): SIGHUP after adding a grant lets the next call on the SAME
# keep-alive connection through; broken files (XML syntax, a grant to an unknown member, a
# missing certificate, a bad CRL) keep the old configuration, the log names file:line and the
# metrics count a failed reload; removing a grant or a member by reload refuses afterwards; 300
# requests 8 in parallel while 20 SIGHUPs alternate two configurations: no failed request, every
# answer logged; a replaced TLS certificate is what new handshakes see while an established TLS
# connection goes on; POST /reload on the admin port; /readyz follows a certificate replaced by
# one expiring tomorrow; restart-only settings keep their running value and are reported.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR

start_sim migraciones
write_config
# The TLS certificate and CRL are this run's copies, so they can be replaced.
cp "$PKI/gateway-tls.pem" "$T/tls.pem"
cp "$PKI/gateway-tls.key" "$T/tls.key"
chmod 600 "$T/tls.key"
cp "$PKI/ca.crl" "$T/ca.crl"
sed -i -e "s|certificate=\"$PKI/gateway-tls.pem\"|certificate=\"$T/tls.pem\"|" \
       -e "s|key=\"$PKI/gateway-tls.key\"|key=\"$T/tls.key\"|" \
       -e "s|crl=\"$PKI/ca.crl\"/>|crl=\"$T/ca.crl\"/>|" \
       -e 's|workers="64"|workers="8"|' \
       -e 's|<admin address="127.0.0.1" port="0" certificateMinDays="14"/>|<admin address="127.0.0.1" port="0" certificateMinDays="14" probeIntervalMs="200"/>|' \
       "$CONFIG"
assert_contains "$CONFIG" "certificate=\"$T/tls.pem\"" "the TLS certificate is this run's copy"
cp "$CONFIG" "$T/base.xml"
# The grant the first reload adds: member 20000000002 (known, granted nothing) may consult
# Migraciones.
GRANT2='<grant member="20000000002" operations="consultarDocumento"/>'
sed "s|      <grant member=\"20000000004\" operations=\"consultarDocumento\"/>|&\n      $GRANT2|" \
  "$T/base.xml" > "$T/granted.xml"
assert_contains "$T/granted.xml" "$GRANT2" "the granted configuration has the new grant"

start_gateway
[ -n "$ADMIN_PORT" ] || { fail "no admin port"; finish; }

sed 's|<pgw:memberCode>20000000001</pgw:memberCode>|<pgw:memberCode>20000000002</pgw:memberCode>|' \
  "$EX/migraciones-consultar.xml" > "$T/mig2.req"
cp "$EX/migraciones-consultar.xml" "$T/mig1.req"

metrics() { curl -s "$ADMIN_URL/metrics" > "$T/metrics.txt"; }
metric() { awk -v k="$1" '$1 == k {print $2; f=1} END {if (!f) print 0}' "$T/metrics.txt"; }
reloads() { grep -c "$1" "$T/gateway.log" || true; }
# hup_and_wait ok|failed: SIGHUP, then wait for the reload's log line.
hup_and_wait() {
  local pat='configuration reloaded from'
  [ "$1" = failed ] && pat='configuration reload failed'
  local before i
  before=$(reloads "$pat")
  kill -HUP "$GW_PID"
  for i in $(seq 1 200); do
    [ "$(reloads "$pat")" -gt "$before" ] && return 0
    sleep 0.05
  done
  fail "no '$pat' line after SIGHUP"
  return 1
}
call() { # MEMBER-REQUEST OUT: HTTP status; the fault code via xml_value
  soap_post MigraCarnetdeExtrajeria "$1" "$2"
}

# ---- (1) a grant added by SIGHUP, seen on the same keep-alive connection ----
cat > "$T/keepalive.py" <<'EOF'
import http.client, os, signal, sys, time, re
port, req, pid, cfg, new_cfg, log = sys.argv[1:7]
body = open(req, 'rb').read()
c = http.client.HTTPConnection('127.0.0.1', int(port), timeout=30)
c.auto_open = 0  # a closed connection must fail, never be silently re-opened
c.connect()
local = c.sock.getsockname()
def post():
    c.request('POST', '/services/MigraCarnetdeExtrajeria', body,
              {'Content-Type': 'text/xml; charset=utf-8', 'SOAPAction': '""'})
    r = c.getresponse()
    text = r.read().decode()
    m = re.search(r'<faultcode>([^<]*)</faultcode>', text)
    return r.status, (m.group(1) if m else '-')
s1, f1 = post()
before = open(log).read().count('configuration reloaded from')
os.replace(new_cfg, cfg)
os.kill(int(pid), signal.SIGHUP)
for _ in range(200):
    if open(log).read().count('configuration reloaded from') > before:
        break
    time.sleep(0.05)
s2, f2 = post()
same = c.sock is not None and c.sock.getsockname() == local
print(f'{s1} {f1} {s2} {f2} {"same" if same else "reconnected"}')
EOF
cp "$T/granted.xml" "$T/next.xml"
out=$(python3 "$T/keepalive.py" "$GW_PORT" "$T/mig2.req" "$GW_PID" "$CONFIG" "$T/next.xml" "$T/gateway.log")
set -- $out
assert_eq "500 soap:Client.AccessDenied" "$1 $2" "(1) member without a grant: Client.AccessDenied"
assert_eq "200 -" "$3 $4" "(1) after SIGHUP adding the grant: served"
assert_eq same "$5" "(1) on the same keep-alive connection (not dropped, not re-opened)"
assert_contains "$T/gateway.log" "configuration reloaded from $CONFIG (generation 1)" "(1) one log line for the reload"
grep 'generation 1)' "$T/gateway.log" | grep -q 'services (were' && pass "(1) the line sums up members, services, grants" \
  || fail "(1) reload line without a summary"

# ---- (2) broken files keep the old configuration ----
metrics
failed0=$(metric 'pide_config_reloads_total{result="failed"}')
broken() { # NAME EXPECTED-IN-LOG: $T/broken.xml is installed, reloaded, refused
  cp "$T/broken.xml" "$CONFIG"
  hup_and_wait failed || return 0
  local line
  line=$(grep 'configuration reload failed' "$T/gateway.log" | tail -n 1)
  case "$line" in
    *"$2"*) pass "(2) $1: refused, the log says '$2'" ;;
    *) fail "(2) $1: log line '$line' lacks '$2'" ;;
  esac
  assert_eq 200 "$(call "$T/mig2.req" "$T/b.xml")" "(2) $1: the old grant still works"
  cp "$T/granted.xml" "$CONFIG"
}
# XML syntax: an element left open just before <members>.
mline=$(grep -n '<members>' "$T/granted.xml" | cut -d: -f1)
awk -v n="$mline" 'NR == n {print "  <members"} {print}' "$T/granted.xml" > "$T/broken.xml"
broken "XML syntax error" "$CONFIG:$((mline + 1)):"
# A grant to a member nobody declared: the error names the file and line.
gline=$(grep -n "$GRANT2" "$T/granted.xml" | cut -d: -f1)
sed "s|$GRANT2|<grant member=\"20999999999\" operations=\"consultarDocumento\"/>|" "$T/granted.xml" > "$T/broken.xml"
broken "grant to an unknown member" "$CONFIG:$gline: service 'MigraCarnetdeExtrajeria': grant to unknown member '20999999999'"
# A certificate file that does not exist.
sed "s|certificate=\"$T/tls.pem\"|certificate=\"$T/no-such.pem\"|" "$T/granted.xml" > "$T/broken.xml"
broken "missing certificate" "$T/no-such.pem"
# A CRL that is not one.
echo "-----BEGIN X509 CRL-----
bm90IGEgQ1JM
-----END X509 CRL-----" > "$T/bad.crl"
sed "s|crl=\"$T/ca.crl\"/>|crl=\"$T/bad.crl\"/>|" "$T/granted.xml" > "$T/broken.xml"
broken "bad CRL" "$T/bad.crl"
metrics
failed1=$(metric 'pide_config_reloads_total{result="failed"}')
assert_eq "$((failed0 + 4))" "$failed1" "(2) pide_config_reloads_total{result=\"failed\"} counts the 4 refusals"
grep -q 'generation 1 stays in force' "$T/gateway.log" && pass "(2) the log says which configuration stays" \
  || fail "(2) no 'stays in force' in the log"

# ---- (3) removing a grant, then a member, by reload ----
cp "$T/base.xml" "$CONFIG"
hup_and_wait ok
assert_eq "500 soap:Client.AccessDenied" \
  "$(call "$T/mig2.req" "$T/r3.xml") $(xml_value "$T/r3.xml" faultcode)" "(3) grant removed by reload: refused"
assert_eq 200 "$(call "$T/mig1.req" "$T/r3b.xml")" "(3) the other member is still served"
grep -v '20000000002' "$T/base.xml" > "$CONFIG"
hup_and_wait ok
st=$(call "$T/mig2.req" "$T/r3c.xml")
fc=$(xml_value "$T/r3c.xml" faultcode)
[ "$st" != 200 ] && [ -n "$fc" ] && pass "(3) member removed by reload: refused ($st $fc)" \
  || fail "(3) member removed by reload: got $st '$fc'"
cp "$T/granted.xml" "$CONFIG"
hup_and_wait ok

# ---- (4) reload under load ----
rows0=$(log_sql "select count(*) from exchange_log")
cat > "$T/load.py" <<'EOF'
import http.client, sys, threading
port, req, total, par = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
body = open(req, 'rb').read()
lock = threading.Lock()
left = [total]
statuses, ids = [], []
def worker():
    c = http.client.HTTPConnection('127.0.0.1', int(port), timeout=60)
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        try:
            c.request('POST', '/services/MigraCarnetdeExtrajeria', body,
                      {'Content-Type': 'text/xml; charset=utf-8', 'SOAPAction': '""'})
            r = c.getresponse()
            r.read()
            st, xid = r.status, r.getheader('X-Pide-Exchange-Id')
        except Exception as e:
            st, xid = 'error:' + type(e).__name__, None
            c.close()
            c = http.client.HTTPConnection('127.0.0.1', int(port), timeout=60)
        with lock:
            statuses.append(st)
            if xid:
                ids.append(xid)
ts = [threading.Thread(target=worker) for _ in range(par)]
for t in ts: t.start()
for t in ts: t.join()
bad = [s for s in statuses if s != 200]
print(len(statuses), len(bad), ' '.join(sorted(set(map(str, bad)))) or '-')
open(sys.argv[5], 'w').write('\n'.join(ids) + '\n')
EOF
# The second configuration: another rate limit and one member fewer (not the caller).
grep -v 'BLOQUEADA\|20000000004' "$T/granted.xml" | sed 's|ratePerSecond="200"|ratePerSecond="300"|' > "$T/alt.xml"
ok_before=$(reloads 'configuration reloaded from')
python3 "$T/load.py" "$GW_PORT" "$T/mig1.req" 300 8 "$T/load.ids" > "$T/load.out" &
load_pid=$!
for i in $(seq 1 20); do
  if [ $((i % 2)) -eq 1 ]; then cp "$T/alt.xml" "$CONFIG"; else cp "$T/granted.xml" "$CONFIG"; fi
  kill -HUP "$GW_PID"
  sleep 0.15
done
wait "$load_pid" || fail "(4) the load client failed"
read -r n nbad badlist < "$T/load.out"
assert_eq "300 0" "$n $nbad" "(4) 300 requests under 20 SIGHUPs: none failed ($badlist)"
kill -0 "$GW_PID" 2>/dev/null && pass "(4) the gateway is still running" || fail "(4) the gateway died"
sleep 0.5
did=$(( $(reloads 'configuration reloaded from') - ok_before ))
[ "$did" -ge 5 ] && pass "(4) $did reloads happened during the load" || fail "(4) only $did reloads during the load"
assert_eq 300 "$(sort -u "$T/load.ids" | grep -c .)" "(4) every answer has its exchange id"
idlist=$(sed "s/.*/'&'/" "$T/load.ids" | paste -sd,)
assert_eq 300 "$(log_sql "select count(*) from exchange_log where exchange_id in ($idlist)")" \
  "(4) every answer is in the exchange log"
rows1=$(log_sql "select count(*) from exchange_log")
[ "$((rows1 - rows0))" -ge 300 ] && pass "(4) the log grew by $((rows1 - rows0)) rows" || fail "(4) log grew by $((rows1 - rows0))"
cp "$T/granted.xml" "$CONFIG"
hup_and_wait ok

# ---- (5) TLS: a replaced server certificate ----
tls_subject() {
  openssl s_client -connect "127.0.0.1:$GW_TLS_PORT" -CAfile "$PKI/ca.pem" \
    -cert "$PKI/demo-client.pem" -key "$PKI/demo-client.key" </dev/null 2>/dev/null |
    openssl x509 -noout -subject 2>/dev/null | sed 's/^subject=//'
}
new_cert() { # DAYS CN OUT
  openssl req -new -x509 -config "$PKI/ca.cnf" -extensions ext_tls_server -key "$T/tls.key" \
    -subj "/C=PE/O=pide-gateway demo/CN=$2" -days "$1" -sha256 -CA "$PKI/ca.pem" \
    -CAkey "$PKI/ca.key" -out "$3" 2>"$T/openssl.err"
}
case "$(tls_subject)" in *"CN = localhost"*) pass "(5) the TLS listener starts with CN=localhost" ;;
  *) fail "(5) TLS subject at start: '$(tls_subject)'" ;; esac
# A TLS connection established before the reload, and used after it.
cat > "$T/tls_keep.py" <<'EOF'
import http.client, ssl, sys, os, signal, time
port, req, pki, pid, log = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=pki + '/ca.pem')
ctx.load_cert_chain(pki + '/demo-client.pem', pki + '/demo-client.key')
ctx.check_hostname = False
body = open(req, 'rb').read()
c = http.client.HTTPSConnection('127.0.0.1', int(port), context=ctx, timeout=30)
c.auto_open = 0
c.connect()
def post():
    c.request('POST', '/services/MigraCarnetdeExtrajeria', body,
              {'Content-Type': 'text/xml; charset=utf-8', 'SOAPAction': '""'})
    r = c.getresponse(); r.read(); return r.status
s1 = post()
cn1 = dict(x[0] for x in c.sock.getpeercert()['subject'])['commonName']
before = open(log).read().count('configuration reloaded from')
os.kill(int(pid), signal.SIGHUP)
for _ in range(200):
    if open(log).read().count('configuration reloaded from') > before:
        break
    time.sleep(0.05)
s2 = post()
print(s1, s2, cn1)
EOF
new_cert 365 reload-test "$T/tls-new.pem" || fail "(5) openssl: $(cat "$T/openssl.err")"
cp "$T/tls-new.pem" "$T/tls.pem"
out=$(python3 "$T/tls_keep.py" "$GW_TLS_PORT" "$T/mig1.req" "$PKI" "$GW_PID" "$T/gateway.log" 2>&1) || true
assert_eq "200 200 localhost" "$out" "(5) a TLS connection made before the reload goes on after it"
case "$(tls_subject)" in *"CN = reload-test"*) pass "(5) new handshakes see the new certificate" ;;
  *) fail "(5) TLS subject after reload: '$(tls_subject)'" ;; esac
assert_eq 200 "$(curl -s -o "$T/tls5.xml" -w '%{http_code}' --cacert "$PKI/ca.pem" \
  --cert "$PKI/demo-client.pem" --key "$PKI/demo-client.key" -H 'Content-Type: text/xml; charset=utf-8' \
  -H 'SOAPAction: ""' --data-binary @"$T/mig1.req" "https://localhost:$GW_TLS_PORT/services/MigraCarnetdeExtrajeria")" \
  "(5) a member is served over the new certificate"

# ---- (7) /readyz follows the certificate in force ----
ready() { curl -s -o "$T/ready.out" -w '%{http_code}' "$ADMIN_URL/readyz"; }
ok=0
for i in $(seq 1 50); do [ "$(ready)" = 200 ] && { ok=1; break; }; sleep 0.1; done
assert_eq 1 "$ok" "(7) /readyz 200 with a certificate valid for a year"
new_cert 1 reload-short "$T/tls-short.pem" || fail "(7) openssl: $(cat "$T/openssl.err")"
cp "$T/tls-short.pem" "$T/tls.pem"
hup_and_wait ok
assert_eq 503 "$(ready)" "(7) /readyz 503 once the certificate in force expires tomorrow"
assert_contains "$T/ready.out" "TLS certificate expires in" "(7) /readyz says which certificate"
metrics
na=$(metric 'pide_certificate_not_after_seconds{certificate="tls"}')
now=$(date +%s)
[ "${na%.*}" -gt "$now" ] && [ "${na%.*}" -lt "$((now + 2 * 86400))" ] && pass "(7) the TLS notAfter metric is tomorrow" \
  || fail "(7) pide_certificate_not_after_seconds{certificate=\"tls\"} = $na"
cp "$T/tls-new.pem" "$T/tls.pem"
hup_and_wait ok
assert_eq 200 "$(ready)" "(7) /readyz 200 again with a certificate valid for a year"

# ---- (6) POST /reload ----
cp "$T/base.xml" "$CONFIG"
st=$(curl -s -o "$T/reload.json" -w '%{http_code}' -X POST "$ADMIN_URL/reload")
assert_eq 200 "$st" "(6) POST /reload: 200"
assert_contains "$T/reload.json" '"result":"ok"' "(6) the answer says ok"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); want=int(sys.argv[2]); assert d["members"] == 4 and d["services"] == want, d' \
  "$T/reload.json" "$(grep -c '<service ' "$CONFIG")" && pass "(6) the answer is JSON with the counts" || fail "(6) answer: $(cat "$T/reload.json")"
assert_eq "500 soap:Client.AccessDenied" \
  "$(call "$T/mig2.req" "$T/r6.xml") $(xml_value "$T/r6.xml" faultcode)" "(6) the reloaded configuration is in force"
gline=$(grep -n "$GRANT2" "$T/granted.xml" | cut -d: -f1)
sed "s|$GRANT2|<grant member=\"20999999999\" operations=\"consultarDocumento\"/>|" "$T/granted.xml" > "$CONFIG"
st=$(curl -s -o "$T/reload.json" -w '%{http_code}' -X POST "$ADMIN_URL/reload")
assert_eq 422 "$st" "(6) POST /reload of a bad file: 422"
assert_contains "$T/reload.json" "\"error\":\"$CONFIG:$gline: service" "(6) the answer names file:line"
assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN_URL/reload")" "(6) GET /reload: 405"
# A restart-only setting: reported, its running value kept.
sed 's|workers="8"|workers="3"|' "$T/granted.xml" > "$CONFIG"
st=$(curl -s -o "$T/reload.json" -w '%{http_code}' -X POST "$ADMIN_URL/reload")
assert_eq 200 "$st" "(6) a reload changing <listen workers>: 200"
assert_contains "$T/reload.json" '"restartNeeded":"<listen workers>"' "(6) ... says it needs a restart (and only that)"
assert_contains "$T/gateway.log" "<listen workers> changed but needs a restart: the running value stays" "(6) ... and so does the log, one line per setting"
metrics
assert_eq 8 "$(metric pide_workers)" "(6) the running value (8 workers) stays"
okc=$(metric 'pide_config_reloads_total{result="ok"}')
[ "${okc%.*}" -ge 10 ] && pass "(6) pide_config_reloads_total{result=\"ok\"} = $okc" || fail "(6) ok reloads = $okc"
ts=$(metric pide_config_last_reload_success_timestamp_seconds)
[ "${ts%.*}" -ge "$(($(date +%s) - 60))" ] && pass "(6) last successful reload timestamp is recent" \
  || fail "(6) pide_config_last_reload_success_timestamp_seconds = $ts"
assert_eq 200 "$(call "$T/mig2.req" "$T/r6b.xml")" "(6) served after the restart-only change"

# What an attacker on the loopback could send: a body or a query naming another file is ignored
# (only the file the gateway was started with is ever read), HEAD is refused, an oversized body
# is refused before any reload.
echo "$T/alt.xml" > "$T/evil.body"
before=$(reloads 'configuration reloaded from')
st=$(curl -s -o "$T/reload.json" -w '%{http_code}' -X POST --data-binary @"$T/evil.body" "$ADMIN_URL/reload?config=$T/alt.xml")
assert_eq 200 "$st" "(6) POST /reload with a body and a query: 200"
assert_contains "$T/reload.json" '"members":4' "(6) ... and it read the file it was started with, not the one named"
assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -I "$ADMIN_URL/reload")" "(6) HEAD /reload: 405"
head -c 5000 /dev/zero | tr '\0' a > "$T/big.body"
assert_eq 413 "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$T/big.body" "$ADMIN_URL/reload")" \
  "(6) POST /reload with a 5 KB body: 413"
assert_eq "$((before + 1))" "$(reloads 'configuration reloaded from')" "(6) only the valid request reloaded"

# --check-config still works on its own
"$GATEWAY_BIN" --check-config --config "$CONFIG" > "$T/check.out" 2>&1 && pass "--check-config still works" \
  || fail "--check-config: $(cat "$T/check.out")"

kill -TERM "$GW_PID"
wait "$GW_PID" 2>/dev/null && pass "clean stop after the reloads" || fail "the gateway exited non-zero"
finish
