#!/usr/bin/env bash
# test_admin.sh — the admin listener (docs/operations.md): /metrics counts known traffic exactly
# (N served, M rate-limited, a replay, an unknown service whose made-up name never becomes a
# label; histogram counts and group-commit rows agree; TLS handshakes ok and failed); /readyz
# follows PostgreSQL going away and coming back, and the maintenance switch; /healthz; malformed, oversized, slow and unknown
# requests get 4xx and disturb nothing; a non-loopback admin address is refused unless
# allowNonLoopback; with the worker pool saturated by slow provider calls /healthz and /metrics
# still answer at once; SIGTERM turns /readyz to 503 while the exchanges in flight drain; the
# JSON-lines operational log parses and holds no password.
# ctest-fixtures: pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
SIGN="$PIDE_BUILD_DIR/tools/pide-wss-sign"
PW='Adm1n-S3cr3t-QQQ-481'   # a wrong password sent once: must appear in no log line

# A cluster of this test's own, so stopping it disturbs no other test (as test_log_unavailable).
PIDE_TEST_PG_DIR="$T/pg"
bash "$PIDE_SOURCE_DIR/scripts/pg-local" start --dir "$PIDE_TEST_PG_DIR" --port 0 --fresh >"$T/pg-start.log" 2>&1
trap 'rc=$?; set +e; bash "$PIDE_SOURCE_DIR/scripts/pg-local" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; (exit $rc); on_exit' EXIT

start_reniec_sim
# Migraciones' endpoint: a port just found free and closed again (provider unavailable).
MIGRACIONES_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
write_config
# A burst of 5 for the demo member, then (almost) no refill: the 6th request is refused.
sed -i 's|<member id="20000000001" |<member id="20000000001" ratePerSecond="1" rateBurst="5" |' "$CONFIG"
sed -i 's|<admin address="127.0.0.1" port="0" certificateMinDays="14"/>|<admin address="127.0.0.1" port="0" certificateMinDays="14" probeIntervalMs="200"/>|' "$CONFIG"
sed -i 's|<limits |<operationalLog format="json"/>\n  <limits |' "$CONFIG"
# Two workers: two slow exchanges saturate the pool (the admin listener must not care).
sed -i 's|workers="64"|workers="2"|' "$CONFIG"
assert_contains "$CONFIG" '<admin ' "the demo configuration has an admin listener"
start_gateway
[ -n "$ADMIN_PORT" ] || { fail "no admin port"; finish; }

metrics() { curl -s "$ADMIN_URL/metrics" > "$T/metrics.txt"; }
# metric 'NAME{LABELS}': the value of that exact sample line (0 when absent).
metric() { awk -v k="$1" '$1 == k {print $2; f=1} END {if (!f) print 0}' "$T/metrics.txt"; }
http() { curl -s -o "$T/http.out" -w '%{http_code}' "$@"; }

assert_eq 200 "$(http "$ADMIN_URL/healthz")" "/healthz: 200"
ok=0
for i in $(seq 1 50); do [ "$(http "$ADMIN_URL/readyz")" = 200 ] && { ok=1; break; }; sleep 0.1; done
assert_eq 1 "$ok" "/readyz: 200 once the database probe succeeded"
assert_eq "ready" "$(cat "$T/http.out")" "/readyz says ready"

# ---- known traffic ----
# A provider that is down: Server.Provider.Unavailable (takes one of the member's 5 tokens).
soap_post MigraCarnetdeExtrajeria "$EX/migraciones-consultar.xml" "$T/mig.xml" >/dev/null
assert_eq soap:Server.Provider.Unavailable "$(xml_value "$T/mig.xml" faultcode)" "provider down: Server.Provider.Unavailable"
served=0; limited=0
for i in $(seq 1 12); do
  status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/r$i.xml")
  case "$status" in
    200) served=$((served + 1)) ;;
    429) limited=$((limited + 1)) ;;
    *) fail "request $i: unexpected HTTP $status" ;;
  esac
done
[ "$served" -ge 4 ] && [ "$limited" -ge 3 ] && pass "traffic: $served served, $limited rate-limited" \
  || fail "traffic: $served served, $limited rate-limited (expected >= 4 and >= 3)"
# A signed request twice: the second is a replay (the member's bucket may be empty: wait).
sleep 2.2
sed 's|<soapenv:Header/>|<soapenv:Header><pgw:client xmlns:pgw="urn:pide-gateway:header:1"><pgw:memberCode>20000000001</pgw:memberCode></pgw:client></soapenv:Header>|' \
  "$EX/reniec-consultar.xml" > "$T/plain.req"
"$SIGN" --key "$PKI/demo-client.key" --cert "$PKI/demo-client.pem" "$T/plain.req" > "$T/signed.req"
signed_status=$(soap_post ReniecConsultaDni "$T/signed.req" "$T/s1.xml")
soap_post ReniecConsultaDni "$T/signed.req" "$T/s2.xml" >/dev/null
assert_eq soap:Client.Replay "$(xml_value "$T/s2.xml" faultcode)" "the same signed request again: Client.Replay"
[ "$signed_status" = 200 ] && served=$((served + 1))
[ "$signed_status" = 429 ] && limited=$((limited + 1))
# A made-up service name: counted, but never a label value.
soap_post no-such-service-x7 "$EX/reniec-consultar.xml" "$T/u.xml" >/dev/null
# A wrong password (its own member is unknown, so no rate limit): Client.AuthenticationFailed.
sed "s|<password>demo</password>|<password>$PW</password>|; s|20000000001|20999999999|" \
  "$EX/reniec-consultar.xml" > "$T/wrong.req"
soap_post ReniecConsultaDni "$T/wrong.req" "$T/w.xml" >/dev/null
assert_eq soap:Client.AuthenticationFailed "$(xml_value "$T/w.xml" faultcode)" "wrong password refused"

# Member listener: one handshake with the demo member's certificate, one without any.
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.pem" --cert "$PKI/demo-client.pem" \
  --key "$PKI/demo-client.key" "$GW_TLS_URL/services/ReniecConsultaDni?wsdl")" "mTLS: WSDL over the member listener"
curl -s -o /dev/null --cacert "$PKI/ca.pem" "$GW_TLS_URL/services/ReniecConsultaDni?wsdl" || true
sleep 0.2

metrics
cp "$T/metrics.txt" "$T/metrics-traffic.txt"
assert_eq 1 "$(metric 'pide_tls_handshakes_total{result="ok"}')" "pide_tls_handshakes_total ok = 1"
assert_eq 1 "$(metric 'pide_tls_handshakes_total{result="failed"}')" "pide_tls_handshakes_total failed = 1 (no client certificate)"
S='service="ReniecConsultaDni",operation="consultar",member="20000000001"'
assert_eq "$served" "$(metric "pide_exchanges_total{$S,outcome=\"ok\"}")" "pide_exchanges_total ok = $served"
assert_eq "$limited" "$(metric "pide_exchanges_total{$S,outcome=\"Client.RateLimited\"}")" \
  "pide_exchanges_total Client.RateLimited = $limited"
assert_eq 1 "$(metric "pide_exchanges_total{$S,outcome=\"Client.Replay\"}")" "pide_exchanges_total Client.Replay = 1"
assert_eq 1 "$(metric 'pide_exchanges_total{service="",operation="",member="",outcome="Client.UnknownService"}')" \
  "an unknown service is counted without its name"
assert_eq 1 "$(metric 'pide_exchanges_total{service="ReniecConsultaDni",operation="consultar",member="",outcome="Client.AuthenticationFailed"}')" \
  "a failed authentication is counted without the member it claimed"
assert_not_contains "$T/metrics.txt" "no-such-service-x7" "a made-up service name is no label"
assert_not_contains "$T/metrics.txt" "20999999999" "an unauthenticated member id is no label"
assert_eq 1 "$(metric 'pide_provider_errors_total{service="MigraCarnetdeExtrajeria",fault="Server.Provider.Unavailable"}')" \
  "pide_provider_errors_total counts the provider that is down"
assert_eq 1 "$(metric 'pide_exchanges_total{service="MigraCarnetdeExtrajeria",operation="consultarDocumento",member="20000000001",outcome="Server.Provider.Unavailable"}')" \
  "pide_exchanges_total counts it with its fault"
assert_eq "$limited" "$(metric pide_rate_limit_refusals_total)" "pide_rate_limit_refusals_total = $limited"
assert_eq 1 "$(metric pide_replay_refusals_total)" "pide_replay_refusals_total = 1"
total=$((served + limited + 2))   # + the replay + the wrong password (routed, timed)
assert_eq "$total" "$(metric 'pide_exchange_duration_seconds_count{service="ReniecConsultaDni"}')" \
  "duration histogram count = $total"
assert_eq "$total" "$(metric 'pide_exchange_duration_seconds_bucket{service="ReniecConsultaDni",le="+Inf"}')" \
  "duration histogram +Inf bucket = count"
assert_eq "$served" "$(metric 'pide_exchange_phase_seconds_count{service="ReniecConsultaDni",phase="provider"}')" \
  "provider phase observed once per served exchange"
rows=$(log_sql "select count(*) from exchange_log")
assert_eq "$rows" "$(metric pide_log_batch_size_sum)" "rows in group commits = rows in the log ($rows)"
batches=$(metric pide_log_batch_size_count)
assert_eq "$batches" "$(metric pide_log_commit_seconds_count)" "one commit latency per batch ($batches)"
assert_eq 0 "$(metric pide_log_queue_depth)" "log queue empty at rest"
assert_eq 1 "$(metric pide_log_writer_up)" "log writer up"
assert_eq 1 "$(metric pide_ready)" "pide_ready 1"
assert_eq 0 "$(metric pide_workers_busy)" "no worker busy at rest"
grep -q '^pide_build_info{version="[0-9][^"]*"} 1$' "$T/metrics.txt" && pass "pide_build_info" || fail "pide_build_info missing"
if command -v promtool >/dev/null; then
  promtool check metrics < "$T/metrics.txt" > "$T/promtool.log" 2>&1 && pass "promtool check metrics" \
    || fail "promtool: $(head -5 "$T/promtool.log")"
fi

# ---- maintenance ----
assert_eq 200 "$(http -X POST --data on "$ADMIN_URL/admin/maintenance")" "maintenance on: 200"
assert_eq 503 "$(http "$ADMIN_URL/readyz")" "maintenance on: /readyz 503"
assert_eq "not ready: maintenance" "$(cat "$T/http.out")" "maintenance on: the reason"
assert_eq on "$(curl -s "$ADMIN_URL/admin/maintenance")" "GET /admin/maintenance: on"
assert_eq 200 "$(http "$ADMIN_URL/healthz")" "maintenance on: /healthz still 200"
assert_eq 200 "$(http -X POST --data off "$ADMIN_URL/admin/maintenance")" "maintenance off: 200"
assert_eq 200 "$(http "$ADMIN_URL/readyz")" "maintenance off: /readyz 200"
assert_eq 400 "$(http -X POST --data maybe "$ADMIN_URL/admin/maintenance")" "maintenance 'maybe': 400"
assert_eq 200 "$(http "$ADMIN_URL/readyz")" "a bad maintenance body changes nothing"

# ---- malformed, oversized, unknown ----
assert_eq 404 "$(http "$ADMIN_URL/nope")" "unknown path: 404"
assert_eq 404 "$(http "$ADMIN_URL/services/ReniecConsultaDni")" "SOAP paths are not served here: 404"
assert_eq 405 "$(http -X DELETE "$ADMIN_URL/metrics")" "DELETE /metrics: 405"
assert_eq 405 "$(http -X POST --data x "$ADMIN_URL/readyz")" "POST /readyz: 405"
assert_eq 405 "$(http -X PUT --data on "$ADMIN_URL/admin/maintenance")" "PUT /admin/maintenance: 405"
assert_eq 413 "$(http -X POST --data-binary @<(head -c 5000 /dev/zero | tr '\0' o) "$ADMIN_URL/admin/maintenance")" \
  "a 5000-byte body: 413"
assert_eq 431 "$(http -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "$ADMIN_URL/metrics")" "a 9 KB head: 431"
assert_eq 501 "$(http -X POST -H 'Transfer-Encoding: chunked' --data on "$ADMIN_URL/admin/maintenance")" \
  "chunked body: 501"
raw() { # raw BYTES: the status line of the answer to exactly these bytes
  printf '%b' "$1" > "$T/raw.req"
  python3 "$PIDE_SOURCE_DIR/tests/integration/raw_http.py" 127.0.0.1 "$ADMIN_PORT" "$T/raw.out" "$T/raw.req" | head -1 | cut -d' ' -f1
}
assert_eq 400 "$(raw 'hello\r\n\r\n')" "garbage request line: 400"
assert_eq 400 "$(raw 'GET metrics HTTP/1.1\r\n\r\n')" "a target without /: 400"
assert_eq 400 "$(raw 'GET /metrics HTTP/2.0\r\n\r\n')" "HTTP/2.0 request line: 400"
assert_eq 400 "$(raw 'GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n')" "a header without a colon: 400"
assert_eq 400 "$(raw 'POST /admin/maintenance HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\non')" \
  "two different Content-Lengths: 400"
assert_eq 400 "$(raw 'POST /admin/maintenance HTTP/1.1\r\nContent-Length: -2\r\n\r\non')" "a negative Content-Length: 400"
assert_eq 405 "$(raw 'BREW /metrics HTTP/1.1\r\n\r\n')" "an unknown method: 405"
# 300 random requests (fixed seed): random bytes, random mutations of a valid one; each is
# answered 4xx/501 or closed, never 200/5xx-crash, and the listener goes on.
python3 - "$ADMIN_PORT" > "$T/fuzz.out" 2>&1 <<'PY' && pass "300 random admin requests: each refused, none served" || fail "fuzz: $(tail -3 "$T/fuzz.out")"
import random, socket, sys
port = int(sys.argv[1])
rng = random.Random(20261203)
valid = b"POST /admin/maintenance HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\non"
bad = []
for i in range(300):
    if i % 2:
        req = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12000))) + b"\r\n\r\n"
    else:
        b = bytearray(valid)
        for _ in range(rng.randrange(1, 6)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        req = bytes(b)
    s = socket.create_connection(("127.0.0.1", port), timeout=8)
    try:
        s.sendall(req)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError:  # the listener answered and closed before reading everything
        data = b""
    finally:
        s.close()
    status = data.split(b" ")[1] if data.startswith(b"HTTP/1.1 ") else b"closed"
    # a mutation may still be a valid maintenance request (its body "on"/"off" intact or not)
    ok = status == b"closed" or status[:1] == b"4" or status == b"501" or \
        (status == b"200" and i % 2 == 0)
    if not ok:
        bad.append((i, status, req[:80]))
print(len(bad), "unexpected", bad[:3])
sys.exit(1 if bad else 0)
PY
curl -s -X POST --data off "$ADMIN_URL/admin/maintenance" >/dev/null
assert_eq 200 "$(http "$ADMIN_URL/healthz")" "after the random requests: /healthz 200"
assert_eq off "$(curl -s "$ADMIN_URL/admin/maintenance")" "none of it switched maintenance on"
# A client that sends half a head and stalls holds nothing up; it is answered 408 after 5 s.
python3 - "$ADMIN_PORT" > "$T/stall.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /metr")
s.settimeout(10)
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
except Exception:
    pass
print(data.split(b"\r\n")[0].decode())
PY
stall_pid=$!
sleep 0.3
assert_eq 200 "$(http "$ADMIN_URL/healthz")" "a stalled admin client does not block /healthz"
wait "$stall_pid"
assert_eq "HTTP/1.1 408 Request Timeout" "$(cat "$T/stall.out")" "the stalled client gets 408"
assert_eq 200 "$(soap_post ReniecConsultaDni "$T/signed.req" "$T/after.xml" >/dev/null; http "$ADMIN_URL/readyz")" \
  "after all that: /readyz 200"
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/services/ReniecConsultaDni?wsdl")" \
  "after all that: the SOAP listener serves"

# ---- /readyz follows the database ----
bash "$PIDE_SOURCE_DIR/scripts/pg-local" stop --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1
ok=0
for i in $(seq 1 50); do [ "$(http "$ADMIN_URL/readyz")" = 503 ] && { ok=1; break; }; sleep 0.1; done
assert_eq 1 "$ok" "database stopped: /readyz 503"
assert_contains "$T/http.out" "not ready: database" "database stopped: the reason names the database"
assert_eq 200 "$(http "$ADMIN_URL/healthz")" "database stopped: /healthz still 200"
metrics
assert_eq 0 "$(metric pide_ready)" "database stopped: pide_ready 0"
bash "$PIDE_SOURCE_DIR/scripts/pg-local" start --dir "$PIDE_TEST_PG_DIR" >"$T/pg-restart.log" 2>&1
ok=0
for i in $(seq 1 100); do [ "$(http "$ADMIN_URL/readyz")" = 200 ] && { ok=1; break; }; sleep 0.1; done
assert_eq 1 "$ok" "database back: /readyz 200"

# ---- the admin listener is loopback unless allowed in so many words ----
for addr in 0.0.0.0 10.1.2.3 ::; do
  sed "s|<admin address=\"127.0.0.1\"|<admin address=\"$addr\"|" "$CONFIG" > "$T/nonloop.xml"
  if "$GATEWAY_BIN" --config "$T/nonloop.xml" --check-config > "$T/nonloop.out" 2>&1; then
    fail "admin on $addr accepted"
  else
    assert_contains "$T/nonloop.out" "admin listener must be on a loopback address" "admin on $addr refused"
  fi
done
sed "s|<admin address=\"127.0.0.1\"|<admin allowNonLoopback=\"true\" address=\"0.0.0.0\"|" "$CONFIG" > "$T/allowed.xml"
"$GATEWAY_BIN" --config "$T/allowed.xml" --check-config > "$T/allowed.out" 2>&1 \
  && pass "admin on 0.0.0.0 with allowNonLoopback: accepted" || fail "allowNonLoopback: $(cat "$T/allowed.out")"
sed "s|<admin address=\"127.0.0.1\"|<admin address=\"::1\"|" "$CONFIG" > "$T/v6.xml"
"$GATEWAY_BIN" --config "$T/v6.xml" --check-config > /dev/null 2>&1 && pass "admin on ::1: accepted" || fail "admin on ::1 refused"

# ---- SIGTERM: not ready first, then the drain ----
# The provider now answers after 2 s: an exchange is in flight when SIGTERM comes.
kill "$RENIEC_PID"; wait "$RENIEC_PID" 2>/dev/null || true
"$PIDE_BUILD_DIR/simulators/reniec/reniec-sim" --port "$RENIEC_PORT" --latency-ms 2000 2>>"$T/reniec-slow.log" &
started_pids+=($!)
for i in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$RENIEC_PORT") 2>/dev/null && break; sleep 0.1; done
sleep 2 # two tokens in the member's bucket
soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/inflight.xml" > "$T/inflight.status" &
inflight=$!
soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/inflight2.xml" > "$T/inflight2.status" &
inflight2=$!
sleep 0.7
# Both workers wait on the provider: health and metrics still answer, at once.
t0=$(date +%s%N)
assert_eq 200 "$(http --max-time 1 "$ADMIN_URL/healthz")" "pool saturated: /healthz 200"
metrics
t1=$(date +%s%N)
assert_eq 2 "$(metric pide_workers_busy)" "pool saturated: pide_workers_busy 2 of $(metric pide_workers)"
[ $(( (t1 - t0) / 1000000 )) -lt 1000 ] && pass "pool saturated: health and metrics in $(( (t1 - t0) / 1000000 )) ms" \
  || fail "pool saturated: health and metrics took $(( (t1 - t0) / 1000000 )) ms"
kill -TERM "$GW_PID"
sleep 0.3
assert_eq 503 "$(http "$ADMIN_URL/readyz")" "SIGTERM: /readyz 503 while the exchange in flight drains"
assert_eq "not ready: stopping" "$(cat "$T/http.out")" "SIGTERM: the reason is stopping"
wait "$inflight" || true
wait "$inflight2" || true
assert_eq 200 "$(cat "$T/inflight.status")" "SIGTERM: the exchange in flight is still answered"
assert_eq 200 "$(cat "$T/inflight2.status")" "SIGTERM: the other one too"
wait "$GW_PID" 2>/dev/null || true

# ---- the operational log: JSON lines, no password ----
python3 - "$T/gateway.log" > "$T/json.out" 2>&1 <<'PY' && pass "every operational log line is a JSON object with time, level, event, message" || fail "JSON log: $(head -3 "$T/json.out")"
import json, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    if not line.strip():
        continue
    o = json.loads(line)
    assert isinstance(o, dict), line
    for k in ("time", "level", "event", "message"):
        assert k in o, (k, line)
    assert o["level"] in ("error", "warn", "info", "debug"), line
    if "exchange_id" in o:
        assert len(o["exchange_id"]) == 36, line
    n += 1
assert n >= 3, n
PY
assert_contains "$T/gateway.log" '"event":"maintenance"' "the maintenance switch is logged"
assert_contains "$T/gateway.log" '"event":"readiness"' "the database probe's change is logged"
assert_not_contains "$T/gateway.log" "$PW" "no password in the operational log"
assert_not_contains "$T/gateway.log" "$(cat "$PIDE_TEST_PG_DIR/gateway.password")" "no database password in the operational log"

# ---- SIGTERM with <admin drainDelayMs>: not ready, still serving, then the drain ----
stop_all
start_reniec_sim
write_config
sed -i 's|<admin address="127.0.0.1" port="0" certificateMinDays="14"/>|<admin address="127.0.0.1" port="0" certificateMinDays="14" drainDelayMs="1500"/>|' "$CONFIG"
grep -q 'drainDelayMs="1500"' "$CONFIG" || fail "the test could not set drainDelayMs"
start_gateway
ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"
kill -TERM "$GW_PID"
sleep 0.3
assert_eq 503 "$(http "$ADMIN_URL/readyz")" "drainDelayMs: /readyz 503 at once"
assert_eq 200 "$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/late.xml")" \
  "drainDelayMs: a new exchange during the delay is still answered"
kill -0 "$GW_PID" 2>/dev/null && pass "drainDelayMs: still running during the delay" || fail "drainDelayMs: exited early"
for i in $(seq 1 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$GW_PID" 2>/dev/null && fail "drainDelayMs: still running 5 s after SIGTERM" || pass "drainDelayMs: stopped after the delay"
assert_contains "$T/gateway.log" "not ready; draining in 1500 ms" "drainDelayMs: logged"

finish
