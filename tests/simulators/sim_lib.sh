# sim_lib.sh — sourced by tests/simulators/test_*_sim.sh after they set SIM (the simulator
# binary): a scratch directory removed on exit with every simulator it started, simulators
# started on a free port, and the assertions the scripts share. Any failed check exits 1.

[[ -x ${SIM:?set SIM before sourcing sim_lib.sh} ]] || { echo "simulator not built: $SIM" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
check_eq() { [[ $2 == "$3" ]] || fail "$1: expected '$3', got '$2'"; ok "$1"; }
check_contains() { grep -qF -- "$2" "$1" || fail "$3: '$2' not in $(cat "$1")"; ok "$3"; }

# start_sim NAME [options...]: starts the simulator with --port 0, waits for its port file and
# sets PORT_<NAME> and PID_<NAME>; its stderr goes to $WORK/NAME.err.
start_sim() {
    local name=$1; shift
    "$SIM" --port 0 --port-file "$WORK/$name.port" "$@" 2>"$WORK/$name.err" &
    PIDS+=($!)
    eval "PID_$name=$!"
    for _ in $(seq 100); do
        [[ -s $WORK/$name.port ]] && break
        sleep 0.05
    done
    [[ -s $WORK/$name.port ]] || fail "$name did not write its port file: $(cat "$WORK/$name.err")"
    eval "PORT_$name=$(cat "$WORK/$name.port")"
}

# expect_exit STATUS LABEL ERRFILE [args...]: runs the simulator in the foreground with its
# stderr in ERRFILE and checks its exit status.
expect_exit() {
    local status=$1 label=$2 err=$3 rc=0
    shift 3
    "$SIM" "$@" 2>"$err" || rc=$?
    check_eq "$label" "$rc" "$status"
}

# expect_clean_sigterm NAME: SIGTERM stops simulator NAME with exit status 0, even with a
# keep-alive connection open.
expect_clean_sigterm() {
    local pid_var=PID_$1 port_var=PORT_$1 rc=0
    exec 4<>"/dev/tcp/127.0.0.1/${!port_var}"
    kill -TERM "${!pid_var}"
    wait "${!pid_var}" || rc=$?
    exec 4<&-
    check_eq "exit status after SIGTERM" "$rc" 0
}
