#!/usr/bin/env bash
# test_log_unavailable.sh — "never an answer without its log row": with its own PostgreSQL
# cluster, the gateway answers normally, then, once the database is gone, answers
# Server.LogUnavailable (HTTP 503) with no citizen data, and recovers when the database returns.
# ctest-fixtures: pki
. "$(dirname "$0")/lib.sh"
EX="$PIDE_SOURCE_DIR/docs/examples"

# A cluster of this test's own, so stopping it disturbs no other test.
PIDE_TEST_PG_DIR="$T/pg"
bash "$PIDE_SOURCE_DIR/scripts/pg-local" start --dir "$PIDE_TEST_PG_DIR" --port 0 --fresh >"$T/pg-start.log" 2>&1
stop_pg() { bash "$PIDE_SOURCE_DIR/scripts/pg-local" stop --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1 || true; }
# The cluster goes entirely at the end; the script's own status is kept for on_exit.
trap 'rc=$?; set +e; bash "$PIDE_SOURCE_DIR/scripts/pg-local" stop --purge --dir "$PIDE_TEST_PG_DIR" >/dev/null 2>&1; (exit $rc); on_exit' EXIT

start_reniec_sim
write_config
sed -i 's/commitTimeoutMs="5000"/commitTimeoutMs="1500"/' "$CONFIG"
start_gateway

status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/before.xml")
assert_eq 200 "$status" "database up: HTTP 200"
assert_eq 0000 "$(xml_value "$T/before.xml" coResultado)" "database up: data answered"

stop_pg
status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/down.xml")
assert_eq 503 "$status" "database down: HTTP 503"
assert_eq soap:Server.LogUnavailable "$(xml_value "$T/down.xml" faultcode)" "database down: Server.LogUnavailable"
assert_not_contains "$T/down.xml" "prenombres" "database down: no citizen data in the answer"
assert_not_contains "$T/down.xml" "SignatureValue" "database down: the refusal is not signed"
down_id=$(exchange_id_of "$T/down.xml")

bash "$PIDE_SOURCE_DIR/scripts/pg-local" start --dir "$PIDE_TEST_PG_DIR" >"$T/pg-restart.log" 2>&1
ok=0
for i in $(seq 1 40); do
  status=$(soap_post ReniecConsultaDni "$EX/reniec-consultar.xml" "$T/after.xml")
  [ "$status" = 200 ] && { ok=1; break; }
  sleep 0.25
done
assert_eq 1 "$ok" "database back: the gateway answers again"
after_id=$(exchange_id_of "$T/after.xml")
assert_eq 1 "$(log_sql "select count(*) from exchange_log where exchange_id = '$after_id'")" \
  "database back: the new exchange is logged"
assert_eq 0 "$(log_sql "select count(*) from exchange_log where exchange_id = '$down_id'")" \
  "the unanswered exchange was not logged later as if answered"
assert_eq 0 "$(log_sql "select count(*) from exchange_log_verify_chain()")" \
  "the log's hash chain is intact"

finish
