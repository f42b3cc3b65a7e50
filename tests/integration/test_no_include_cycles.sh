#!/usr/bin/env bash
# test_no_include_cycles.sh — the modules of gateway/ form no circle: module x is x.c and x.h
# together, an edge x -> y is a `#include "y.h"` in x.c or x.h, and the graph must sort
# topologically (coreutils tsort names the modules of any loop it meets). Also proves the check
# itself works: a two-module circle made on purpose is caught and printed.
# No fixtures: it reads sources only.
. "$(dirname "$0")/lib.sh"

# include_edges DIR: "x y" lines, one per include between two different modules of DIR.
include_edges() {
  local dir=$1 f n d
  for f in "$dir"/*.c "$dir"/*.h; do
    [ -e "$f" ] || continue
    n=$(basename "$f"); n=${n%.*}
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"/]*\)\.h".*/\1/p' "$f" |
      while read -r d; do
        if [ "$d" != "$n" ] && [ -e "$dir/$d.h" ]; then echo "$n $d"; fi
      done
  done | sort -u
}

# check_no_cycles DIR: 0 when DIR's include graph has no cycle; otherwise prints the loops
# (tsort's "input contains a loop" lines) and returns 1.
check_no_cycles() {
  include_edges "$1" > "$T/edges"
  [ -s "$T/edges" ] || { echo "no includes found in $1" >&2; return 1; }
  if tsort "$T/edges" > /dev/null 2> "$T/loops"; then return 0; fi
  sed 's|^tsort: [^:]*: input contains a loop:|loop:|; s|^tsort: |  |' "$T/loops"
  return 1
}

# The detector catches a circle made on purpose (a.c -> b.h, b.c -> a.h) and names both modules.
mkdir -p "$T/circle"
printf '#include "a.h"\n#include "b.h"\n' > "$T/circle/a.c"
printf '#include "b.h"\n#include "a.h"\n' > "$T/circle/b.c"
: > "$T/circle/a.h"; : > "$T/circle/b.h"
if check_no_cycles "$T/circle" > "$T/circle.out"; then
  fail "a circle a <-> b was not detected"
else
  grep -qx '  a' "$T/circle.out" && grep -qx '  b' "$T/circle.out" \
    && pass "a circle made on purpose is detected and printed" \
    || fail "the circle was detected but not printed: $(cat "$T/circle.out")"
fi

# The real tree: no circle among gateway/ modules.
if check_no_cycles "$PIDE_SOURCE_DIR/gateway" > "$T/gateway.out"; then
  pass "gateway/: $(wc -l < "$T/edges") include edges, no circle"
else
  fail "gateway/ has include circles:"; cat "$T/gateway.out" >&2
fi
finish
