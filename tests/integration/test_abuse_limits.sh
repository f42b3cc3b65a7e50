#!/usr/bin/env bash
# test_abuse_limits.sh — per-member rate limiting (Client.RateLimited, HTTP 429 with
# Retry-After) and replay protection (Client.Replay for a repeated message id), through the real
# gateway; both refusals are logged.
# ctest-fixtures: postgres pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"

start_reniec_sim
write_config
# Member 20000000001 gets 3 requests of burst and then one every 100 s: the 4th is refused.
sed -i 's|<member id="20000000001" |<member id="20000000001" ratePerSecond="1" rateBurst="3" |' "$CONFIG"
sed -i 's|replayWindowSeconds="600"|replayWindowSeconds="900"|' "$CONFIG"
start_gateway

# with_id ID: the RENIEC example carrying a pide-gateway message id.
with_id() {
  sed "s|<soapenv:Header/>|<soapenv:Header><pgw:id xmlns:pgw=\"urn:pide-gateway:header:1\">$1</pgw:id></soapenv:Header>|" \
    "$EX/reniec-consultar.xml" > "$T/req-$1.xml"
  echo "$T/req-$1.xml"
}

assert_eq 200 "$(soap_post ReniecConsultaDni "$(with_id msg-1)" "$T/r1.xml")" "first message: 200"
assert_eq msg-1 "$(xml_value "$T/r1.xml" id)" "the response echoes the caller's message id"
[ "$(xml_value "$T/r1.xml" exchangeId)" != msg-1 ] && pass "the exchange id is the gateway's own" || fail "exchangeId"

status=$(soap_post ReniecConsultaDni "$(with_id msg-1)" "$T/r2.xml")
assert_eq soap:Client.Replay "$(xml_value "$T/r2.xml" faultcode)" "same message id again: Client.Replay"
id=$(exchange_id_of "$T/r2.xml")
assert_eq "fault|Client.Replay" "$(log_sql "select outcome, fault_code from exchange_log where exchange_id = '$id'")" \
  "the replay is logged"

assert_eq 200 "$(soap_post ReniecConsultaDni "$(with_id msg-2)" "$T/r3.xml")" "a new message id: 200"

# The bucket (3) is now about empty: msg-1, the replay and msg-2 each took a token. At 1/s a
# slow machine may have earned a token back meanwhile, so keep asking (new ids) until refused.
refused_id=""
for n in $(seq 3 12); do
  status=$(soap_post ReniecConsultaDni "$(with_id "msg-$n")" "$T/r4.xml")
  [ "$status" = 429 ] && { refused_id="msg-$n"; break; }
done
[ -n "$refused_id" ] && pass "over the rate: HTTP 429 (at $refused_id)" || fail "never rate-limited in 10 requests"
assert_eq soap:Client.RateLimited "$(xml_value "$T/r4.xml" faultcode)" "over the rate: Client.RateLimited"
retry=$(tr -d '\r' < "$T/r4.xml.headers" | sed -n 's/^Retry-After: //Ip')
[ -n "$retry" ] && [ "$retry" -ge 1 ] && pass "Retry-After: $retry" || fail "no Retry-After header"
id=$(exchange_id_of "$T/r4.xml")
assert_eq "fault|Client.RateLimited|429" \
  "$(log_sql "select outcome, fault_code, http_status from exchange_log where exchange_id = '$id'")" \
  "the refusal is logged"
# The refused id was stopped by the rate limit before the replay guard saw it: once the bucket
# refills it must be accepted, not taken for a replay.
sleep "${retry:-1}"
assert_eq 200 "$(soap_post ReniecConsultaDni "$(with_id "${refused_id:-msg-3}")" "$T/r5.xml")" \
  "the rate-limited id is accepted on retry"

finish
