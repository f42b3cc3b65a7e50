#!/usr/bin/env bash
# test_http_framing.sh — strict HTTP/1.1 framing (RFC 9112) on both listeners, spoken with raw
# bytes: duplicate or conflicting Content-Length / Transfer-Encoding, invalid lengths, bare LF,
# folded or oversized headers, empty, short and oversized bodies, other methods, and pipelining
# after a chunked body. Each case checks the status line, whether the connection was closed,
# and the exchange-log row (a request to a service path is an exchange: signed Fault + row) or
# the operational log line.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"
PKI=$PIDE_TEST_PKI_DIR
RAW="$PIDE_SOURCE_DIR/tests/integration/raw_http.py"

start_reniec_sim
write_config
# A short receive timeout, so the short-body case does not wait 10 s.
sed -i 's|recvTimeoutSeconds="10"|recvTimeoutSeconds="2"|' "$CONFIG"
start_gateway

BODY="$EX/reniec-consultar.xml"
LEN=$(stat -c %s "$BODY")
SVC=/services/ReniecConsultaDni

# head NAME LINES...: writes a request head (CRLF line ends, empty line appended) to $T/NAME.
head_of() {
  local name=$1; shift
  : > "$T/$name"
  local l
  for l in "$@"; do printf '%s\r\n' "$l" >> "$T/$name"; done
  printf '\r\n' >> "$T/$name"
}
# raw NAME PART...: sends the parts to the plain listener; output lines in $T/NAME.res.
raw() {
  local name=$1; shift
  python3 "$RAW" 127.0.0.1 "$GW_PORT" "$T/$name.out" "$@" > "$T/$name.res"
}
status_of() { sed -n 1p "$T/$1.res" | cut -d' ' -f1; }
id_of() { sed -n 1p "$T/$1.res" | cut -d' ' -f2; }
conn_of() { tail -n 1 "$T/$1.res"; }
row_of() { # NAME: "outcome|fault_code|http_status" of its exchange
  local id; id=$(id_of "$1")
  [ "$id" = - ] && { echo "no exchange id"; return; }
  log_sql "select outcome, fault_code, http_status from exchange_log where exchange_id = '$id'"
}
# refused NAME STATUS FAULT WHAT: a refused service request: status, closed, signed Fault, row.
refused() {
  local name=$1 status=$2 fault=$3 what=$4
  assert_eq "$status" "$(status_of "$name")" "$what: HTTP $status"
  assert_eq closed "$(conn_of "$name")" "$what: connection closed"
  assert_eq "soap:$fault" "$(xml_value "$T/$name.out.1" faultcode)" "$what: $fault"
  assert_eq "fault|$fault|$status" "$(row_of "$name")" "$what: logged"
  xmlsec1 --verify --trusted-pem "$PKI/ca.pem" "$T/$name.out.1" >/dev/null 2>&1 \
    && pass "$what: the Fault is signed" || fail "$what: the Fault is not signed"
}

# --- Content-Length: 0 ---
head_of cl0 "POST $SVC HTTP/1.1" "Host: gw" "Content-Type: text/xml" "Content-Length: 0"
raw cl0 "$T/cl0"
refused cl0 400 Client.EmptyBody "Content-Length: 0"

# --- POST without any framing: no body ---
head_of nobody "POST $SVC HTTP/1.1" "Host: gw" "Content-Type: text/xml"
raw nobody "$T/nobody"
refused nobody 400 Client.EmptyBody "POST without a body"

# --- duplicate Content-Length, equal and different ---
head_of dupcl "POST $SVC HTTP/1.1" "Host: gw" "Content-Type: text/xml" "Content-Length: $LEN" \
  "Content-Length: $LEN"
raw dupcl "$T/dupcl" "$BODY"
refused dupcl 400 Client.BadHttpFraming "two equal Content-Length"
head_of dupcl2 "POST $SVC HTTP/1.1" "Host: gw" "Content-Length: 5" "Content-Length: $LEN"
raw dupcl2 "$T/dupcl2" "$BODY"
refused dupcl2 400 Client.BadHttpFraming "two different Content-Length"

# --- invalid Content-Length values ---
for v in "+$LEN" "-1" "${LEN}abc" "$LEN, $LEN" "0x10" ""; do
  head_of badcl "POST $SVC HTTP/1.1" "Host: gw" "Content-Length: $v"
  raw badcl "$T/badcl" "$BODY"
  assert_eq 400 "$(status_of badcl)" "Content-Length '$v': 400"
  assert_eq "fault|Client.BadHttpFraming|400" "$(row_of badcl)" "Content-Length '$v': logged"
done

# --- Content-Length and chunked together; other codings ---
printf '%x\r\n' "$LEN" > "$T/chunk.body"; cat "$BODY" >> "$T/chunk.body"; printf '\r\n0\r\n\r\n' >> "$T/chunk.body"
head_of clte "POST $SVC HTTP/1.1" "Host: gw" "Content-Length: $LEN" "Transfer-Encoding: chunked"
raw clte "$T/clte" "$T/chunk.body"
refused clte 400 Client.BadHttpFraming "Content-Length with Transfer-Encoding"
for te in gzip "gzip, chunked" "chunked, chunked" identity; do
  head_of te "POST $SVC HTTP/1.1" "Host: gw" "Transfer-Encoding: $te"
  raw te "$T/te" "$T/chunk.body"
  assert_eq "400|closed" "$(status_of te)|$(conn_of te)" "Transfer-Encoding '$te': 400, closed"
  assert_eq "fault|Client.BadHttpFraming|400" "$(row_of te)" "Transfer-Encoding '$te': logged"
done
head_of te2 "POST $SVC HTTP/1.1" "Host: gw" "Transfer-Encoding: chunked" "Transfer-Encoding: chunked"
raw te2 "$T/te2" "$T/chunk.body"
assert_eq 400 "$(status_of te2)" "two Transfer-Encoding fields: 400"

# --- malformed heads: bare LF, folding, space before colon, no Host ---
printf 'POST %s HTTP/1.1\nHost: gw\nContent-Length: %s\n\n' "$SVC" "$LEN" > "$T/barelf"
raw barelf "$T/barelf" "$BODY"
assert_eq "400|closed" "$(status_of barelf)|$(conn_of barelf)" "bare LF line ends: 400, closed"
head_of fold "POST $SVC HTTP/1.1" "Host: gw" "Content-Length: $LEN" "X-A: 1" " folded"
raw fold "$T/fold" "$BODY"
assert_eq "fault|Client.BadHttpFraming|400" "$(row_of fold)" "obsolete line folding: 400, logged"
head_of spc "POST $SVC HTTP/1.1" "Host: gw" "Content-Length : $LEN"
raw spc "$T/spc" "$BODY"
assert_eq 400 "$(status_of spc)" "space before a field's colon: 400"
head_of nohost "POST $SVC HTTP/1.1" "Content-Length: $LEN"
raw nohost "$T/nohost" "$BODY"
assert_eq 400 "$(status_of nohost)" "HTTP/1.1 without Host: 400"
head_of badpath "GET /health HTTP/1.1" "Host: gw" "Content-Length: 1" "Content-Length: 1"
raw badpath "$T/badpath"
assert_eq "400|closed" "$(status_of badpath)|$(conn_of badpath)" "not a service path: plain 400, closed"
grep -q "GET /health refused with 400 Client.BadHttpFraming: more than one Content-Length" \
  "$T/gateway.log" && pass "not a service path: the refusal is in the operational log" \
  || fail "no operational log line for a refused GET"

# --- oversized heads: a line over 8 KiB, a head over maxHeaderBytes ---
big=$(head -c 9000 /dev/zero | tr '\0' a)
head_of bigline "POST $SVC HTTP/1.1" "Host: gw" "X-Big: $big" "Content-Length: $LEN"
raw bigline "$T/bigline" "$BODY"
refused bigline 431 Client.HeaderTooLarge "header line over 8 KiB"
lines=(); for i in $(seq 1 10); do lines+=("X-H$i: $(head -c 4000 /dev/zero | tr '\0' b)"); done
head_of bighead "POST $SVC HTTP/1.1" "Host: gw" "${lines[@]}" "Content-Length: $LEN"
raw bighead "$T/bighead" "$BODY"
refused bighead 431 Client.HeaderTooLarge "head over maxHeaderBytes"
grep -q "refused with 431" "$T/gateway.log" && pass "431 in the operational log" || fail "no 431 log line"

# --- body over maxBodyBytes, sent whole before reading: the client still reads the 413 ---
head -c 1300000 /dev/zero | tr '\0' x > "$T/huge.body"
head_of huge "POST $SVC HTTP/1.1" "Host: gw" "Content-Length: 1300000"
raw huge "$T/huge" "$T/huge.body"
refused huge 413 Client.RequestTooLarge "Content-Length over maxBodyBytes"
head -c 1100000 /dev/zero | tr '\0' x > "$T/hugec"
{ printf '%x\r\n' 1100000; cat "$T/hugec"; printf '\r\n0\r\n\r\n'; } > "$T/hugechunk.body"
head_of hugech "POST $SVC HTTP/1.1" "Host: gw" "Transfer-Encoding: chunked"
raw hugech "$T/hugech" "$T/hugechunk.body"
refused hugech 413 Client.RequestTooLarge "chunked body over maxBodyBytes"

# --- short body: the client stops before Content-Length; answered at the receive timeout ---
head -c 200 "$BODY" > "$T/short.part"
head_of short "POST $SVC HTTP/1.1" "Host: gw" "Content-Length: $LEN"
start=$(date +%s)
raw short "$T/short" "$T/short.part"
refused short 400 Client.IncompleteBody "body shorter than Content-Length"
assert_eq "t" "$(log_sql "select t_provider_out is null from exchange_log where exchange_id = '$(id_of short)'")" \
  "short body: not executed (the provider was not called)"
[ $(( $(date +%s) - start )) -ge 2 ] && pass "short body: answered at recvTimeoutSeconds" \
  || fail "short body answered before the receive timeout"

# --- pipelining: a request after a chunked body is served ---
head_of ch "POST $SVC HTTP/1.1" "Host: gw" "Content-Type: text/xml" "Transfer-Encoding: chunked"
head_of next "GET /health HTTP/1.1" "Host: gw"
cat "$T/ch" "$T/chunk.body" "$T/next" > "$T/pipe"
raw pipe "$T/pipe"
assert_eq "200" "$(sed -n 1p "$T/pipe.res" | cut -d' ' -f1)" "chunked POST: answered"
assert_eq 0000 "$(xml_value "$T/pipe.out.1" coResultado)" "chunked POST: data answered"
assert_eq "200" "$(sed -n 2p "$T/pipe.res" | cut -d' ' -f1)" "request pipelined after a chunked body: answered"
assert_eq "ok" "$(tr -d '\n' < "$T/pipe.out.2")" "request pipelined after a chunked body: its own answer"
# Content-Length framed, three in one write, and one split across writes.
head_of clreq "POST $SVC HTTP/1.1" "Host: gw" "Content-Type: text/xml" "Content-Length: $LEN"
cat "$T/clreq" "$BODY" "$T/clreq" "$BODY" "$T/next" > "$T/pipe3"
raw pipe3 "$T/pipe3"
assert_eq 3 "$(grep -c '^200 ' "$T/pipe3.res")" "three pipelined requests: three answers"

# --- 405: another method on a service path is an exchange (signed Fault, row) ---
head_of put "PUT $SVC HTTP/1.1" "Host: gw" "Content-Length: $LEN"
raw put "$T/put" "$BODY"
refused put 405 Client.MethodNotAllowed "PUT on a service path"
head_of del "DELETE /other HTTP/1.1" "Host: gw"
raw del "$T/del"
assert_eq "405|closed" "$(status_of del)|$(conn_of del)" "DELETE elsewhere: plain 405, closed"

# --- the same framing rules on the member (TLS) listener ---
python3 "$RAW" 127.0.0.1 "$GW_TLS_PORT" "$T/tlsdup.out" \
  --tls "$PKI/demo-client.pem" "$PKI/demo-client.key" "$PKI/ca.pem" "$T/dupcl" "$BODY" > "$T/tlsdup.res"
refused tlsdup 400 Client.BadHttpFraming "TLS: two Content-Length"
fingerprint=$(openssl x509 -in "$PKI/demo-client.pem" -outform DER | sha256sum | cut -d' ' -f1)
assert_eq "$fingerprint" "$(log_sql "select client_cert_sha256 from exchange_log where exchange_id = '$(id_of tlsdup)'")" \
  "TLS: the refusal is logged with the client certificate"
python3 "$RAW" 127.0.0.1 "$GW_TLS_PORT" "$T/tlspipe.out" \
  --tls "$PKI/demo-client.pem" "$PKI/demo-client.key" "$PKI/ca.pem" "$T/pipe" > "$T/tlspipe.res"
assert_eq 2 "$(grep -c '^200 ' "$T/tlspipe.res")" "TLS: request pipelined after a chunked body: answered"

# --- Expect: 100-continue: the client is told to go on without waiting for its own timeout ---
t=$(curl -s -o "$T/expect.xml" -w '%{http_code} %{time_total}' -H 'Expect: 100-continue' \
      -H 'Content-Type: text/xml' --data-binary @"$BODY" "$GW_URL$SVC")
assert_eq 200 "${t%% *}" "Expect: 100-continue: answered"
awk -v t="${t##* }" 'BEGIN { exit !(t < 0.9) }' && pass "Expect: 100-continue: no wait (${t##* } s)" \
  || fail "Expect: 100-continue: the client waited (${t##* } s)"

# Still healthy, and nothing secret in the operational log.
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/health")" "gateway still serving"
assert_not_contains "$T/gateway.log" "<password" "no request body in the operational log"
finish
