#!/usr/bin/env bash
# test_two_nodes.sh — two gateway nodes behind nginx on one PostgreSQL (issue 11,
# docs/scaling.md), real programs only: nginx (its own prefix, configuration, pid and logs in
# this test's folder, run as the current user), two pide-gateway processes with distinct
# checkpoint nodeIds and <cluster nodes="2"/>, the RENIEC and Migraciones simulators, a private
# PostgreSQL cluster (verify must see only this test's chain).
# - replay across nodes: an id answered by node 1 is refused by node 2 (Client.Replay, logged);
#   the same id from another member passes; an id of the maximal length (128) likewise; the
#   id is accepted again once the window (5 s here) has passed; 8 identical ids sent at once to
#   both nodes: exactly one answered;
# - rate limits split by node count: a member's burst of 4 is 2 per node;
# - one mutual-TLS call straight to each node;
# - 400 requests, 8 in parallel, through nginx; node 2 is SIGKILLed mid-run: nginx sends the
#   rest to node 1; every HTTP 200 (signed) answer's exchange id is in the log, only requests in
#   flight on the killed node failed (502), both nodes served and checkpointed (nodeId node1,
#   node2), `pide-audit verify --trust-signer` passes and no writer reported the chain head
#   going backwards;
# - mutual TLS through nginx's stream block (TCP passthrough, each node terminates TLS): 120
#   calls with the demo client certificate, 4 in parallel, one connection each, run alongside
#   the 400 above (so node 2's SIGKILL hits them too); nginx's stream log and the client's own
#   source ports tie every answer to the node that gave it: both nodes answered, every answered
#   exchange is logged as the certificate's member (20000000001, auth mtls, the certificate's
#   fingerprint), only connections in flight on node 2 failed (dropped, never a fault);
# - node 2 restarted on its port: it joins the chain (its rows follow node 1's), nginx uses it
#   again, and verify still passes.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
AUDIT="$PIDE_BUILD_DIR/tools/pide-audit"
[ -x "$AUDIT" ] || { echo "FAIL: $AUDIT not built" >&2; exit 1; }
NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
[ -x "$NGINX" ] || { echo "FAIL: nginx missing (scripts/install-deps installs nginx-light)" >&2; exit 1; }

PIDE_TEST_PG_DIR="$T/pg"
PG_LOCAL="$PIDE_SOURCE_DIR/scripts/pg-local"
bash "$PG_LOCAL" start --dir "$PIDE_TEST_PG_DIR" --port 0 --fresh >"$T/pg-start.log" 2>&1 \
  || { cat "$T/pg-start.log" >&2; echo "FAIL: private cluster did not start" >&2; exit 1; }
NGINX_PID=
stop_nginx() { [ -n "$NGINX_PID" ] && { kill "$NGINX_PID" 2>/dev/null; wait "$NGINX_PID" 2>/dev/null; } || true; }
trap 'rc=$?; set +e; stop_nginx; bash "$PG_LOCAL" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; (exit $rc); on_exit' EXIT
AUDITOR_CI=$(sed 's/user=pide_gateway/user=pide_auditor/' "$PIDE_TEST_PG_DIR/conninfo")
audit() { "$AUDIT" --conninfo "$AUDITOR_CI" --password-file "$PIDE_TEST_PG_DIR/auditor.password" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_reniec_sim
start_sim migraciones
write_config
# Both nodes: a 5 s replay window (so its end can be seen; WS-Security timestamps shortened to
# allow it), checkpoints every 50 rows or second, two nodes sharing each member's rate. Member
# 20000000001 is not rate limited in effect (the load phase); 20000000004 may burst 4 requests.
sed -i -e 's|replayWindowSeconds="600"|replayWindowSeconds="5" timestampMaxAgeSeconds="2" timestampMaxSkewSeconds="1"|' \
       -e 's|ratePerSecond="200" rateBurst="400"|ratePerSecond="100000" rateBurst="100000"|' \
       -e 's|<member id="20000000004" |<member id="20000000004" ratePerSecond="1" rateBurst="4" |' \
       -e 's|everyRows="[0-9]*"|everyRows="50"|' -e 's|everySeconds="[0-9]*"|everySeconds="1"|' \
       -e 's|</limits>|</limits>|' -e 's|<paths |<cluster nodes="2"/>\n  <paths |' "$CONFIG"
grep -q '<cluster nodes="2"/>' "$CONFIG" && grep -q 'replayWindowSeconds="5"' "$CONFIG" \
  || { fail "conf/demo.xml changed shape: cannot adjust it"; exit 1; }

# start_node N [PORT]: node N (config nodeN.xml, checkpoint nodeId nodeN), plain listener on PORT
# (0: any); sets NODEn_PID, NODEn_PORT, NODEn_URL, NODEn_TLS_URL.
start_node() {
  local n=$1 port=${2:-0} pid
  sed -e "s|nodeId=\"[^\"]*\"|nodeId=\"node$n\"|" \
      -e "s|<listen address=\"127.0.0.1\" port=\"0\"|<listen address=\"127.0.0.1\" port=\"$port\"|" \
      "$CONFIG" > "$T/node$n.xml"
  rm -f "$T/node$n.port" "$T/node$n-tls.port" "$T/node$n-admin.port"
  "$GATEWAY_BIN" --config "$T/node$n.xml" --port-file "$T/node$n.port" \
    --tls-port-file "$T/node$n-tls.port" --admin-port-file "$T/node$n-admin.port" \
    2>>"$T/node$n.log" &
  pid=$!
  started_pids+=("$pid")
  printf -v "NODE${n}_PID" '%s' "$pid"
  printf -v "NODE${n}_PORT" '%s' "$(wait_port_file "$T/node$n.port" "$pid")"
  printf -v "NODE${n}_TLS_PORT" '%s' "$(wait_port_file "$T/node$n-tls.port" "$pid")"
  local p=NODE${n}_PORT tp=NODE${n}_TLS_PORT
  printf -v "NODE${n}_URL" 'http://127.0.0.1:%s' "${!p}"
  printf -v "NODE${n}_TLS_URL" 'https://127.0.0.1:%s' "${!tp}"
}
start_node 1
start_node 2

# post URL SERVICE FILE OUT: prints the HTTP status (000 when no answer).
post() {
  curl -s -o "$4" -D "$4.headers" -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' \
       -H 'SOAPAction: ""' --data-binary @"$3" "$1/services/$2" || true
}
# reniec_with_id ID: the RENIEC example (member 20000000001) with a pgw:id.
reniec_with_id() {
  local f="$T/reniec-$(printf '%s' "$1" | sha1sum | cut -c1-12).xml"
  sed "s|<soapenv:Header/>|<soapenv:Header><pgw:id xmlns:pgw=\"urn:pide-gateway:header:1\">$1</pgw:id></soapenv:Header>|" \
    "$EX/reniec-consultar.xml" > "$f"
  echo "$f"
}
# migra_as MEMBER [ID]: the Migraciones example declared by MEMBER, with a pgw:id if given.
migra_as() {
  local f="$T/migra-$1-${2:-noid}.xml" idel=""
  [ -n "${2:-}" ] && idel="<pgw:id>$2</pgw:id>"
  sed -e "s|<pgw:memberCode>20000000001</pgw:memberCode>|<pgw:memberCode>$1</pgw:memberCode>|" \
      -e "s|<pgw:userId>|$idel<pgw:userId>|" "$EX/migraciones-consultar.xml" > "$f"
  echo "$f"
}
faultcode() { xml_value "$1" faultcode; }

# --- replay across nodes ------------------------------------------------------------------------
assert_eq 200 "$(post "$NODE1_URL" ReniecConsultaDni "$(reniec_with_id cross-1)" "$T/c1.xml")" \
  "id cross-1 via node 1: answered"
post "$NODE2_URL" ReniecConsultaDni "$(reniec_with_id cross-1)" "$T/c2.xml" >/dev/null
assert_eq soap:Client.Replay "$(faultcode "$T/c2.xml")" "the same id via node 2: Client.Replay"
id=$(exchange_id_of "$T/c2.xml")
assert_eq "fault|Client.Replay" \
  "$(log_sql "select outcome, fault_code from exchange_log where exchange_id = '$id'")" \
  "node 2's refusal is logged"
post "$NODE1_URL" ReniecConsultaDni "$(reniec_with_id cross-1)" "$T/c3.xml" >/dev/null
assert_eq soap:Client.Replay "$(faultcode "$T/c3.xml")" "and via node 1 again: Client.Replay"
# Another member may use the same id (replay is per member): member 20000000004 on node 2.
post "$NODE2_URL" MigraCarnetdeExtrajeria "$(migra_as 20000000004 cross-1)" "$T/c4.xml" >/dev/null
[ "$(faultcode "$T/c4.xml")" != soap:Client.Replay ] && pass "the same id from another member: not a replay" \
  || fail "the same id from another member was refused as a replay"
max=$(printf 'm%.0s' $(seq 1 128))
assert_eq 200 "$(post "$NODE2_URL" ReniecConsultaDni "$(reniec_with_id "$max")" "$T/c5.xml")" \
  "an id of 128 characters via node 2: answered"
post "$NODE1_URL" ReniecConsultaDni "$(reniec_with_id "$max")" "$T/c6.xml" >/dev/null
assert_eq soap:Client.Replay "$(faultcode "$T/c6.xml")" "the 128-character id via node 1: Client.Replay"
post "$NODE1_URL" ReniecConsultaDni "$(reniec_with_id "${max}m")" "$T/c7.xml" >/dev/null
assert_eq soap:Client.BadHeader "$(faultcode "$T/c7.xml")" "129 characters: Client.BadHeader"

# Identical ids at once on both nodes: exactly one answered, the others Client.Replay.
f=$(reniec_with_id race-1)
racers=()
for i in $(seq 1 8); do
  url=$NODE1_URL; [ $((i % 2)) -eq 0 ] && url=$NODE2_URL
  post "$url" ReniecConsultaDni "$f" "$T/race-$i.xml" > "$T/race-$i.status" &
  racers+=($!)
done
for j in "${racers[@]}"; do wait "$j" 2>/dev/null || true; done
ok=$(for i in $(seq 1 8); do cat "$T/race-$i.status"; echo; done | grep -c '^200$' || true)
replays=$(for i in $(seq 1 8); do faultcode "$T/race-$i.xml"; echo; done | grep -c '^soap:Client.Replay$' || true)
assert_eq "1 7" "$ok $replays" "8 identical ids at once on both nodes: 1 answered, 7 Client.Replay"

# The window ends (5 s): the id is accepted again, on the other node.
sleep 5.5
assert_eq 200 "$(post "$NODE2_URL" ReniecConsultaDni "$(reniec_with_id cross-1)" "$T/c8.xml")" \
  "cross-1 after the window, via node 2: answered again"
post "$NODE1_URL" ReniecConsultaDni "$(reniec_with_id cross-1)" "$T/c9.xml" >/dev/null
assert_eq soap:Client.Replay "$(faultcode "$T/c9.xml")" "and a new window began: via node 1 Client.Replay"

# --- the shared check cannot be made: fail closed ---------------------------------------------------
superuser() { bash "$PG_LOCAL" psql --dir "$PIDE_TEST_PG_DIR" -X -q -v ON_ERROR_STOP=1 -At -c "$1"; }
superuser "REVOKE INSERT ON public.replay_seen FROM pide_gateway"
s=$(post "$NODE1_URL" ReniecConsultaDni "$(reniec_with_id closed-1)" "$T/f1.xml")
assert_eq "503 soap:Server.LogUnavailable" "$s $(faultcode "$T/f1.xml")" \
  "replay table unusable: Server.LogUnavailable (503), not an unchecked answer"
id=$(exchange_id_of "$T/f1.xml")
assert_eq "fault|Server.LogUnavailable" \
  "$(log_sql "select outcome, fault_code from exchange_log where exchange_id = '$id'")" \
  "the refusal is logged (the log itself still works)"
assert_contains "$T/node1.log" "the shared replay window cannot be checked" "node 1 says why in its log"
superuser "GRANT INSERT ON public.replay_seen TO pide_gateway"
assert_eq 200 "$(post "$NODE1_URL" ReniecConsultaDni "$(reniec_with_id closed-1)" "$T/f2.xml")" \
  "table usable again: the same id is accepted (node 1 forgot the unchecked id)"
post "$NODE2_URL" ReniecConsultaDni "$(reniec_with_id closed-1)" "$T/f3.xml" >/dev/null
assert_eq soap:Client.Replay "$(faultcode "$T/f3.xml")" "and is then a replay on node 2"

# --- rate limits split by node count --------------------------------------------------------------
# 20000000004: ratePerSecond 1, burst 4 for the cluster: 2 (refilling at 0.5/s) on each node.
count_ok() { # URL: 4 quick requests; prints how many were not rate limited
  local n=0 i s
  for i in 1 2 3 4; do
    s=$(post "$1" MigraCarnetdeExtrajeria "$(migra_as 20000000004)" "$T/rate.xml")
    [ "$s" != 429 ] && n=$((n + 1))
  done
  echo "$n"
}
sleep 4 # earlier calls of 20000000004 refilled
r1=$(count_ok "$NODE1_URL")
r2=$(count_ok "$NODE2_URL")
[ "$r1" -ge 2 ] && [ "$r1" -le 3 ] && [ "$r2" -ge 2 ] && [ "$r2" -le 3 ] \
  && pass "burst 4 split over 2 nodes: $r1 then $r2 of 4 quick requests passed on each" \
  || fail "burst 4 split over 2 nodes: $r1 and $r2 of 4 passed (expected 2 each, 3 on a slow box)"

# --- one mutual-TLS call straight to each node ------------------------------------------------------
for n in 1 2; do
  url=NODE${n}_TLS_URL
  s=$(curl -s -o "$T/tls$n.xml" -w '%{http_code}' --cacert "$PKI/ca.pem" --cert "$PKI/demo-client.pem" \
        --key "$PKI/demo-client.key" -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
        --data-binary @"$(reniec_with_id "tls-$n")" "${!url}/services/ReniecConsultaDni" || true)
  assert_eq 200 "$s" "mutual TLS straight to node $n: answered"
done

# --- nginx in front -----------------------------------------------------------------------------
NGINX_PORT=$(free_port)
NGINX_MTLS_PORT=$(free_port)
mkdir -p "$T/nginx-tmp"
# conf/nginx-pide.conf on loopback: its addresses replaced, logs and temporary files in $T, run
# as the current user in the foreground, http (plain listener) and stream (mutual-TLS
# passthrough) both. The stream module is a dynamic module on Debian (libnginx-mod-stream,
# scripts/install-deps), loaded by the file's own load_module line.
STREAM_SO=$(sed -n 's|^load_module \(.*ngx_stream_module.so\);|\1|p' "$PIDE_SOURCE_DIR/conf/nginx-pide.conf")
[ -f "$STREAM_SO" ] || { fail "nginx stream module $STREAM_SO missing (libnginx-mod-stream)"; exit 1; }
sed -e "s|10.0.0.10:8080|127.0.0.1:$NGINX_PORT|" -e "s|10.0.0.11:8080|127.0.0.1:$NODE1_PORT|" \
    -e "s|10.0.0.12:8080|127.0.0.1:$NODE2_PORT|" -e "s|10.0.0.10:8443|127.0.0.1:$NGINX_MTLS_PORT|" \
    -e "s|10.0.0.11:8443|127.0.0.1:$NODE1_TLS_PORT|" -e "s|10.0.0.12:8443|127.0.0.1:$NODE2_TLS_PORT|" \
    -e "s|/var/log/nginx/pide-access.log|$T/nginx-access.log|" \
    -e "s|/var/log/nginx/pide-mtls.log|$T/nginx-mtls.log|" \
    -e "s|^http {|user $(id -un) $(id -gn);\nhttp {\n    client_body_temp_path $T/nginx-tmp/body;\n    proxy_temp_path $T/nginx-tmp/proxy;\n    fastcgi_temp_path $T/nginx-tmp/fastcgi;\n    uwsgi_temp_path $T/nginx-tmp/uwsgi;\n    scgi_temp_path $T/nginx-tmp/scgi;|" \
    "$PIDE_SOURCE_DIR/conf/nginx-pide.conf" > "$T/nginx.conf"
NGINX_ARGS=(-p "$T/" -c "$T/nginx.conf" -e "$T/nginx-error.log" -g "daemon off; pid $T/nginx.pid;")
"$NGINX" "${NGINX_ARGS[@]}" -t >"$T/nginx-test.log" 2>&1 \
  && pass "nginx -t accepts conf/nginx-pide.conf (http and stream)" \
  || { cat "$T/nginx-test.log" >&2; fail "nginx -t refused conf/nginx-pide.conf"; exit 1; }
"$NGINX" "${NGINX_ARGS[@]}" 2>>"$T/nginx-error.log" &
NGINX_PID=$!
for i in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" 2>/dev/null \
    && python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
         "$NGINX_MTLS_PORT" 2>/dev/null && break
  sleep 0.05
done
LB_URL="http://127.0.0.1:$NGINX_PORT"
LB_TLS_URL="https://127.0.0.1:$NGINX_MTLS_PORT"
# One mutual-TLS call through the stream proxy before the load: the certificate's member.
s=$(curl -s -o "$T/lbtls.xml" -D "$T/lbtls.xml.headers" -w '%{http_code}' --cacert "$PKI/ca.pem" --cert "$PKI/demo-client.pem" \
      --key "$PKI/demo-client.key" -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
      --data-binary @"$(reniec_with_id lbtls-1)" "$LB_TLS_URL/services/ReniecConsultaDni" || true)
assert_eq 200 "$s" "mutual TLS through nginx's stream proxy: answered"
id=$(exchange_id_of "$T/lbtls.xml")
fingerprint=$(openssl x509 -in "$PKI/demo-client.pem" -outform DER | sha256sum | cut -d' ' -f1)
assert_eq "20000000001|mtls|$fingerprint|ok" \
  "$(log_sql "select client_member, auth_method, client_cert_sha256, outcome from exchange_log where exchange_id = '$id'")" \
  "through nginx: logged as the certificate's member, auth mtls, the certificate's fingerprint"

cat > "$T/load.py" <<'EOF'
# load.py URL TOTAL PARALLEL TEMPLATE OUT PROGRESS: TOTAL RENIEC calls with fresh pgw:ids,
# PARALLEL at a time; one JSON line per call: status, exchange id, signed or not.
import concurrent.futures, json, os, sys, threading, urllib.request, urllib.error
url, total, parallel, template, out, progress = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
body = open(template, encoding="utf-8").read()
lock = threading.Lock()
done = 0
def call(i):
    global done
    data = body.replace("<soapenv:Header/>", '<soapenv:Header><pgw:id xmlns:pgw="urn:pide-gateway:header:1">load-%d</pgw:id></soapenv:Header>' % i).encode()
    req = urllib.request.Request(url + "/services/ReniecConsultaDni", data=data,
                                 headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text, xid = r.status, r.read().decode("utf-8", "replace"), r.headers.get("X-Pide-Exchange-Id")
    except urllib.error.HTTPError as e:
        status, text, xid = e.code, e.read().decode("utf-8", "replace"), e.headers.get("X-Pide-Exchange-Id")
    except Exception as e:
        status, text, xid = 0, str(e), None
    rec = {"i": i, "status": status, "exchange_id": xid, "signed": "SignatureValue" in text,
           "fault": text.split("<faultcode>")[1].split("<")[0] if "<faultcode>" in text else None}
    with lock:
        done += 1
        with open(progress + ".new", "w") as p:
            p.write(str(done))
        os.replace(progress + ".new", progress)
    return rec
with concurrent.futures.ThreadPoolExecutor(parallel) as pool, open(out, "w") as f:
    for rec in pool.map(call, range(total)):
        f.write(json.dumps(rec) + "\n")
EOF
cat > "$T/mtls_load.py" <<'EOF'
# mtls_load.py HOST PORT TOTAL PARALLEL TEMPLATE CA CERT KEY OUT PROGRESS: TOTAL RENIEC calls
# over mutual TLS, one connection each (nginx's stream proxy picks a node per connection), with
# fresh pgw:ids; one JSON line per call: status, exchange id, signed or not, the client's source
# port (nginx's stream log gives the node that had that connection).
import concurrent.futures, http.client, json, os, ssl, sys, threading
host, port, total, parallel, template, ca, cert, key, out, progress = sys.argv[1:11]
port, total, parallel = int(port), int(total), int(parallel)
body = open(template, encoding="utf-8").read()
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
lock = threading.Lock()
done = 0
def call(i):
    global done
    data = body.replace("<soapenv:Header/>", '<soapenv:Header><pgw:id xmlns:pgw="urn:pide-gateway:header:1">mtls-load-%d</pgw:id></soapenv:Header>' % i).encode()
    status, text, xid, sport = 0, "", None, None
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=30)
    try:
        conn.connect()
        sport = conn.sock.getsockname()[1]
        conn.request("POST", "/services/ReniecConsultaDni", body=data,
                     headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""',
                              "Connection": "close"})
        r = conn.getresponse()
        status, text, xid = r.status, r.read().decode("utf-8", "replace"), r.getheader("X-Pide-Exchange-Id")
    except Exception as e:
        text = "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()
    rec = {"i": i, "status": status, "exchange_id": xid, "port": sport, "signed": "SignatureValue" in text,
           "fault": text.split("<faultcode>")[1].split("<")[0] if "<faultcode>" in text else None,
           "error": text if status == 0 else None}
    with lock:
        done += 1
        with open(progress + ".new", "w") as p:
            p.write(str(done))
        os.replace(progress + ".new", progress)
    return rec
with concurrent.futures.ThreadPoolExecutor(parallel) as pool, open(out, "w") as f:
    for rec in pool.map(call, range(total)):
        f.write(json.dumps(rec) + "\n")
EOF
echo 0 > "$T/progress"
echo 0 > "$T/mtls-progress"
python3 "$T/load.py" "$LB_URL" 400 8 "$EX/reniec-consultar.xml" "$T/load.jsonl" "$T/progress" &
LOAD_PID=$!
python3 "$T/mtls_load.py" 127.0.0.1 "$NGINX_MTLS_PORT" 120 4 "$EX/reniec-consultar.xml" "$PKI/ca.pem" \
  "$PKI/demo-client.pem" "$PKI/demo-client.key" "$T/mtls.jsonl" "$T/mtls-progress" &
MTLS_PID=$!
for i in $(seq 1 600); do
  [ "$(cat "$T/progress" 2>/dev/null || echo 0)" -ge 120 ] \
    && [ "$(cat "$T/mtls-progress" 2>/dev/null || echo 0)" -ge 30 ] && break
  sleep 0.05
done
kill -KILL "$NODE2_PID"
wait "$NODE2_PID" 2>/dev/null || true
echo "node 2 SIGKILLed after $(cat "$T/progress") plain and $(cat "$T/mtls-progress") mutual-TLS answers"
wait "$LOAD_PID" || fail "the load client failed"
wait "$MTLS_PID" || fail "the mutual-TLS load client failed"

total=$(wc -l < "$T/load.jsonl")
ok=$(grep -c '"status": 200' "$T/load.jsonl" || true)
ok_signed=$(grep '"status": 200' "$T/load.jsonl" | grep -c '"signed": true' || true)
failed=$((total - ok))
echo "load: $total calls, $ok answered (200), $failed not; statuses: $(python3 -c 'import json,sys,collections; print(dict(collections.Counter(json.loads(l)["status"] for l in open(sys.argv[1]))))' "$T/load.jsonl")"
assert_eq 400 "$total" "400 calls made through nginx"
assert_eq "$ok" "$ok_signed" "every 200 answer is signed"
[ "$failed" -le 8 ] && pass "only calls in flight on the killed node failed ($failed of 400, at most 8 in parallel)" \
  || fail "$failed calls failed, more than the 8 that can be in flight"
grep -v '"status": 200' "$T/load.jsonl" | grep -v '"status": 502' | grep -q . \
  && fail "a failed call did not end in 502 Bad Gateway: $(grep -v '"status": 200' "$T/load.jsonl" | grep -v '"status": 502' | head -2)" \
  || pass "the failed calls got 502 from nginx (never a replay or a 5xx from a gateway)"
grep '"status": 200' "$T/load.jsonl" | sed -n 's/.*"exchange_id": "\([0-9a-f-]*\)".*/\1/p' > "$T/answered.ids"
assert_eq "$ok" "$(wc -l < "$T/answered.ids")" "every 200 answer carries its exchange id"
in_log=$(log_sql "select count(*) from exchange_log where outcome = 'ok' and exchange_id in ($(sed "s/.*/'&'/" "$T/answered.ids" | paste -sd,))")
assert_eq "$ok" "$in_log" "every answered exchange is in the log ($ok)"
# Both nodes served through nginx, node 1 alone after the kill.
awk '{print $2}' "$T/nginx-access.log" | sort | uniq -c > "$T/upstreams"
cat "$T/upstreams"
grep -q "127.0.0.1:$NODE1_PORT\$" "$T/upstreams" && grep -q "127.0.0.1:$NODE2_PORT\$" "$T/upstreams" \
  && pass "nginx sent calls to both nodes" || fail "nginx did not use both nodes"

# The mutual-TLS calls through the stream proxy.
mtotal=$(wc -l < "$T/mtls.jsonl")
mok=$(grep -c '"status": 200' "$T/mtls.jsonl" || true)
echo "mutual TLS: $mtotal calls, $mok answered (200); statuses: $(python3 -c 'import json,sys,collections; print(dict(collections.Counter(json.loads(l)["status"] for l in open(sys.argv[1]))))' "$T/mtls.jsonl")"
assert_eq 120 "$mtotal" "120 mutual-TLS calls made through nginx's stream proxy"
assert_eq "$mok" "$(grep '"status": 200' "$T/mtls.jsonl" | grep -c '"signed": true' || true)" \
  "every mutual-TLS 200 answer is signed"
[ $((mtotal - mok)) -le 4 ] && pass "only mutual-TLS connections in flight on the killed node failed ($((mtotal - mok)) of 120, at most 4 in parallel)" \
  || fail "$((mtotal - mok)) mutual-TLS calls failed, more than the 4 that can be in flight"
grep -v '"status": 200' "$T/mtls.jsonl" | grep -v '"status": 0' | grep -q . \
  && fail "a failed mutual-TLS call got an HTTP answer: $(grep -v '"status": 200' "$T/mtls.jsonl" | grep -v '"status": 0' | head -2)" \
  || pass "the failed mutual-TLS calls were dropped connections (never a fault from a gateway)"
# Which node answered each call: the client's source port in nginx's stream log (a line is
# written when its session ends; every session has ended once the client is done).
sleep 0.3
python3 - "$T/mtls.jsonl" "$T/nginx-mtls.log" "$NODE1_TLS_PORT" "$NODE2_TLS_PORT" > "$T/mtls-nodes" <<'EOF'
import json, sys
calls, log, p1, p2 = sys.argv[1:5]
node_of = {}
for line in open(log):
    # "ADDR PORT UPSTREAM[, UPSTREAM...] STATUS ...": a connection nginx could not make to one
    # node (node 2 killed) went on to the next; the last upstream is the one that served it.
    f = line.split()
    if len(f) < 3:
        continue
    k = 2
    while f[k].endswith(",") and k + 1 < len(f):
        k += 1
    node_of[f[1]] = {"127.0.0.1:" + p1: "node1", "127.0.0.1:" + p2: "node2"}.get(f[k], "other:" + f[k])
for line in open(calls):
    r = json.loads(line)
    if r["status"] == 200:
        print(r["exchange_id"], node_of.get(str(r["port"]), "unknown"))
EOF
echo "mutual-TLS answers by node: $(awk '{print $2}' "$T/mtls-nodes" | sort | uniq -c | tr -s ' ' | paste -sd,)"
assert_eq 0 "$(grep -vc ' node[12]$' "$T/mtls-nodes" || true)" "nginx's stream log names the node of every answered mutual-TLS call"
grep -q ' node1$' "$T/mtls-nodes" && grep -q ' node2$' "$T/mtls-nodes" \
  && pass "mutual TLS through nginx: both nodes answered ($(grep -c ' node1$' "$T/mtls-nodes") node 1, $(grep -c ' node2$' "$T/mtls-nodes") node 2)" \
  || fail "mutual TLS through nginx: not both nodes answered"
mids=$(awk '{print "'"'"'" $1 "'"'"'"}' "$T/mtls-nodes" | paste -sd,)
assert_eq "$mok|$mok" \
  "$(log_sql "select count(*), count(*) filter (where client_member = '20000000001' and auth_method = 'mtls' and client_cert_sha256 = '$fingerprint' and outcome = 'ok') from exchange_log where exchange_id in ($mids)")" \
  "every answered mutual-TLS exchange ($mok, node 2's included) is logged as the certificate's member, auth mtls"

sleep 1.5 # node 1's next checkpoint
expect_verify() { # WHAT
  local rc=0
  audit verify --trust-signer "$PKI/ca.pem" >"$T/verify.out" 2>&1 || rc=$?
  assert_eq 0 "$rc" "$1"
  [ "$rc" -eq 0 ] || cat "$T/verify.out" >&2
}
expect_verify "pide-audit verify passes with both nodes writing, one killed"
assert_eq "node1 node2" "$(log_sql "select string_agg(distinct node_id, ' ' order by node_id) from exchange_checkpoint")" \
  "checkpoints from both nodes, each its own nodeId"

# --- node 2 back on its port ----------------------------------------------------------------------
old2=$NODE2_PORT
head_before=$(log_sql "select max(seq) from exchange_log")
start_node 2 "$old2"
assert_eq "$old2" "$NODE2_PORT" "node 2 restarted on its port"
for i in 1 2 3; do
  assert_eq 200 "$(post "$NODE2_URL" ReniecConsultaDni "$(reniec_with_id "back-$i")" "$T/b$i.xml")" \
    "node 2 restarted: call $i answered"
done
id=$(exchange_id_of "$T/b3.xml")
[ "$(log_sql "select seq from exchange_log where exchange_id = '$id'")" -gt "$head_before" ] \
  && pass "node 2's new rows follow the chain's head (seq > $head_before)" || fail "node 2's row is not after the head"
sleep 2 # nginx's fail_timeout for node 2 has passed
: > "$T/nginx-access.log"
for i in $(seq 1 20); do post "$LB_URL" ReniecConsultaDni "$(reniec_with_id "lb-$i")" "$T/lb.xml" >/dev/null; done
kill -USR1 "$NGINX_PID" 2>/dev/null || true
grep -q "127.0.0.1:$NODE2_PORT" "$T/nginx-access.log" && pass "nginx uses node 2 again" \
  || fail "nginx did not send anything to the restarted node 2"
# node 1 alternates with node 2 again: its writer must accept the rows node 2 added.
assert_eq 200 "$(post "$NODE1_URL" ReniecConsultaDni "$(reniec_with_id after-1)" "$T/a1.xml")" \
  "node 1 answers after node 2's rows"
sleep 1.5
expect_verify "pide-audit verify passes after node 2 rejoined"
for n in 1 2; do
  assert_not_contains "$T/node$n.log" "went backwards" "node $n's writer never saw the head go backwards"
done
[ "$(log_sql "select count(*) from exchange_checkpoint where node_id = 'node2'")" -ge 2 ] \
  && pass "the restarted node 2 checkpoints again" || fail "no new checkpoint from node 2"
finish
