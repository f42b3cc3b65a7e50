#!/usr/bin/env bash
# test_slow_clients.sh — clients that stall hold no worker. With only 2 workers: TLS
# connections that send nothing or half a ClientHello, and plain and TLS requests whose body
# stops short, must not delay a real mutual-TLS request or a plain one; stalled handshakes are
# closed after handshakeTimeoutSeconds; one address may only have maxHandshakesPerIp
# handshakes under way; the short bodies are answered with Client.IncompleteBody and logged.
# TLS sessions resume (session id context) and the resumed session keeps the member identity.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
STALL="$PIDE_SOURCE_DIR/tests/integration/stall_clients.py"

start_reniec_sim
write_config
sed -i -e 's|workers="64"|workers="2"|' \
  -e 's|recvTimeoutSeconds="10"|recvTimeoutSeconds="6" handshakeTimeoutSeconds="3" maxHandshakesPerIp="8"|' \
  "$CONFIG"
start_gateway

BODY="$EX/reniec-consultar.xml"
tls_curl() { # OUT: a real mTLS request as demo-client; prints status and seconds
  curl -s -o "$1" -D "$1.headers" -w '%{http_code} %{time_total}' --max-time 5 \
    --cacert "$PKI/ca.pem" --cert "$PKI/demo-client.pem" --key "$PKI/demo-client.key" \
    -H 'Content-Type: text/xml; charset=utf-8' --data-binary @"$BODY" \
    "$GW_TLS_URL/services/ReniecConsultaDni" || echo "failed"
}
plain_curl() {
  curl -s -o "$1" -D "$1.headers" -w '%{http_code} %{time_total}' --max-time 5 \
    -H 'Content-Type: text/xml; charset=utf-8' --data-binary @"$BODY" \
    "$GW_URL/services/ReniecConsultaDni" || echo "failed"
}
wait_file() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }
prompt() { # "STATUS SECONDS" WHAT: 200 within 2 s
  local st=${1%% *} t=${1##* }
  assert_eq 200 "$st" "$2: HTTP 200"
  awk -v t="$t" 'BEGIN { exit !(t < 2.0) }' && pass "$2: within 2 s ($t s)" || fail "$2: took $t s"
}

# --- 3 silent and 3 half-ClientHello connections on the TLS port (more than the workers) ---
python3 "$STALL" 127.0.0.1 "$GW_TLS_PORT" silent 3 "$T/silent.ready" 8 > "$T/silent.res" &
P1=$!
python3 "$STALL" 127.0.0.1 "$GW_TLS_PORT" hello 3 "$T/hello.ready" 8 > "$T/hello.res" &
P2=$!
wait_file "$T/silent.ready"; wait_file "$T/hello.ready"
prompt "$(tls_curl "$T/tls1.xml")" "mTLS request beside 6 stalled handshakes"
assert_eq 0000 "$(xml_value "$T/tls1.xml" coResultado)" "mTLS request: answered with data"
prompt "$(plain_curl "$T/plain1.xml")" "plain request beside 6 stalled handshakes"

# --- the per-address cap: 6 under way + 2 more = 8; a 9th is refused at once ---
python3 "$STALL" 127.0.0.1 "$GW_TLS_PORT" hello 3 "$T/cap.ready" 6 > "$T/cap.res" &
P3=$!
wait_file "$T/cap.ready"
assert_eq "open open refused" "$(tr '\n' ' ' < "$T/cap.ready" | sed 's/ $//')" \
  "maxHandshakesPerIp=8: the 9th handshake from one address is refused"
grep -q "handshakes already under way from this address" "$T/gateway.log" \
  && pass "the refused handshake is in the operational log" || fail "no log line for the cap"

wait "$P1" "$P2" "$P3" || true
# Every stalled handshake was closed by the server, after ~handshakeTimeoutSeconds (3 s).
for f in silent hello; do
  assert_eq 3 "$(awk '$1 != "open" && $1 >= 2 && $1 <= 5' "$T/$f.res" | wc -l)" \
    "$f handshakes: closed by the server after the handshake deadline"
done
grep -q "TLS handshake not done within 3 s" "$T/gateway.log" \
  && pass "expired handshakes are in the operational log" || fail "no log line for expired handshakes"
prompt "$(tls_curl "$T/tls2.xml")" "mTLS after the stalled handshakes expired"

# --- slow bodies: 4 requests (more than the workers) that stop short hold no worker ---
LEN=$(stat -c %s "$BODY")
printf 'POST /services/ReniecConsultaDni HTTP/1.1\r\nHost: gw\r\nContent-Type: text/xml\r\nContent-Length: %s\r\n\r\n' \
  "$LEN" > "$T/slowhead"
since=$(log_sql "select now()")
python3 "$STALL" 127.0.0.1 "$GW_PORT" body 4 "$T/body.ready" 10 "$T/slowhead" > "$T/body.res" &
P4=$!
wait_file "$T/body.ready"
prompt "$(plain_curl "$T/plain2.xml")" "plain request beside 4 stalled bodies"
prompt "$(tls_curl "$T/tls3.xml")" "mTLS request beside 4 stalled bodies"
wait "$P4" || true
assert_eq 4 "$(awk '$1 != "open" && $1 >= 4 && $1 <= 8' "$T/body.res" | wc -l)" \
  "stalled bodies: closed at recvTimeoutSeconds"
# Rows of exactly these 4 exchanges (by the ids they were answered with): other tests share the log.
ids=$(awk '$2 != "-" {printf "%s\x27%s\x27", (n++ ? "," : ""), $2}' "$T/body.res")
assert_eq 4 "$(log_sql "select count(*) from exchange_log where exchange_id in (${ids:-NULL}) and fault_code = 'Client.IncompleteBody' and t_provider_out is null and t_request_in >= '$since'")" \
  "stalled bodies: each answered Client.IncompleteBody, logged, not executed"

# --- TLS session resumption keeps the member ---
# The second connection resumes the first one's session and POSTs a request: the exchange is
# logged as the certificate's member, read again from the resumed session.
LEN=$(stat -c %s "$BODY")
{ printf 'POST /services/ReniecConsultaDni HTTP/1.1\r\nHost: gw\r\nContent-Type: text/xml\r\n'
  printf 'Connection: close\r\nContent-Length: %s\r\n\r\n' "$LEN"; cat "$BODY"; } > "$T/resume.req"
for v in -tls1_2 -tls1_3; do
  rm -f "$T/sess"
  printf 'GET /health HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n' | \
    openssl s_client -connect "127.0.0.1:$GW_TLS_PORT" $v -CAfile "$PKI/ca.pem" \
    -cert "$PKI/demo-client.pem" -key "$PKI/demo-client.key" -sess_out "$T/sess" \
    -ign_eof >"$T/s1$v.out" 2>&1 || true
  openssl s_client -connect "127.0.0.1:$GW_TLS_PORT" $v -CAfile "$PKI/ca.pem" \
    -sess_in "$T/sess" -ign_eof <"$T/resume.req" >"$T/s2$v.out" 2>&1 || true
  grep -q "^Reused, " "$T/s2$v.out" && pass "TLS session resumption ($v): Reused" \
    || fail "TLS session resumption ($v): not reused (see $T/s2$v.out)"
  id=$(tr -d '\r' < "$T/s2$v.out" | sed -n 's/^X-Pide-Exchange-Id: //Ip')
  assert_eq "20000000001|mtls|ok" \
    "$(log_sql "select client_member, auth_method, outcome from exchange_log where exchange_id = '$id'")" \
    "resumed session ($v), no certificate sent again: logged as the certificate's member"
done
finish
