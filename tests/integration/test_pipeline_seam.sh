#!/usr/bin/env bash
# test_pipeline_seam.sh — the pipeline never sees the socket (issue 9, item 1):
#  * no stage and not pipeline.c names the transport: the HTTP engine (gSOAP), the server,
#    sockets, keep-alive, draining, read-ahead or the worker that runs them;
#  * a stage includes neither server.h nor stdsoap2.h, and runtime.h defines no worker;
#  * only server.c and standalone_exchange.c begin exchanges with a thread's resources, and
#    only the transport (server.c) sends anything.
# No fixtures: it reads sources only. tests/unit/check_pipeline.c drives the seam itself.
. "$(dirname "$0")/lib.sh"

G="$PIDE_SOURCE_DIR/gateway"
cd "$G"

seam_files=$(ls stage*.c pipeline.c pipeline.h exchange.h exchange_env.h transport.h 2>/dev/null || true)
for pattern in 'stdsoap2\.h' 'server\.h' 'struct soap' '\bsoap_[a-z_]+\(' '->soap\b' \
               'keep_alive' 'draining' 'read_ahead' 'gw_worker' '->worker\b' 'socket' \
               'SSL_' 'send\(' 'recv\('; do
  hits=$(grep -nE -- "$pattern" $seam_files | grep -vE ':[0-9]+:\s*(/\*|\*)' || true)
  if [ -n "$hits" ]; then
    fail "the pipeline names the transport ('$pattern'): $(echo "$hits" | head -3 | tr '\n' ' ')"
  else
    pass "no '$pattern' in the stages, pipeline.[ch], exchange.h, exchange_env.h, transport.h"
  fi
done

if grep -qE 'gw_worker|struct soap|atomic_int' runtime.h; then
  fail "runtime.h exposes worker internals: $(grep -nE 'gw_worker|struct soap|atomic_int' runtime.h | head -3)"
else
  pass "runtime.h holds only what the whole process shares"
fi
n=$(grep -c '^#include' runtime.h)
[ "$n" -le 5 ] && pass "runtime.h includes $n headers" || fail "runtime.h includes $n headers"

hits=$(grep -lE 'soap_response\(' ./*.c | sed 's|^\./||' | grep -vx 'server.c' || true)
[ -z "$hits" ] && pass "only server.c writes HTTP answers" || fail "HTTP written by: $hits"
finish
