#!/usr/bin/env bash
# test_build_graph.sh — the build graph stays honest (docs/architecture.md, "Build graph"):
#   - nothing under simulators/ includes a gateway/ header;
#   - no adapter (adapters/) includes a simulators/ or gateway/ header;
#   - lib/ (pide_common) includes no gateway/, simulators/, tools/ or tests/ header;
#   - providers/ (wire names shared by an adapter and its simulator) includes nothing of ours
#     outside providers/;
#   - no simulator target, no adapter plugin and not pide_common depends on pidegw_core, and no
#     adapter plugin on pide_common, directly or through another target (cmake --graphviz of a
#     fresh configure).
# An include is judged by name resolution, as the compiler would find it: a quoted include that
# resolves relative to the including file into a forbidden folder, or that exists under a
# forbidden folder (whose subfolders are include directories), is a violation. The checks are
# first run on a copy of the tree with one violation of each kind planted, so a checker that
# has gone blind fails too. No fixtures: it reads sources and configures, never builds.
. "$(dirname "$0")/lib.sh"

# include_violations ROOT: prints "file: #include "x" -> forbidden/..." for every bad include.
include_violations() {
  local root=$1 rule dir forbidden f inc resolved hit
  # rule: the folder whose files are checked, then the folders they must not include from.
  for rule in "simulators gateway" \
              "adapters simulators gateway" \
              "lib gateway simulators tools tests" \
              "providers gateway simulators lib adapters tools tests"; do
    set -- $rule
    dir=$1; shift
    [ -d "$root/$dir" ] || continue
    while IFS= read -r -d '' f; do
      while IFS= read -r inc; do
        resolved=$(realpath -m "$(dirname "$f")/$inc")
        for forbidden in "$@"; do
          hit=""
          case "$resolved" in "$root/$forbidden"/*) hit=$resolved ;; esac
          if [ -z "$hit" ] && [ -d "$root/$forbidden" ]; then
            hit=$(find "$root/$forbidden" -path "*/${inc#./}" -type f -print -quit)
          fi
          [ -n "$hit" ] && echo "${f#"$root"/}: #include \"$inc\" -> ${hit#"$root"/}"
        done
      done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
    done < <(find "$root/$dir" -type f \( -name '*.c' -o -name '*.h' \) -print0)
  done
  return 0
}

# link_violations ROOT OUTDIR: configures ROOT into OUTDIR with --graphviz and prints
# "target -> pidegw_core" for every simulator target, adapter plugin or pide_common that
# depends on the daemon's library.
link_violations() {
  local root=$1 out=$2 targets t
  cmake -S "$root" -B "$out" --graphviz="$out/deps.dot" >"$out.configure.txt" 2>&1 \
    || { echo "configure failed (see $out.configure.txt)"; return 0; }
  # Targets the simulators' CMake files define, the adapter plugins, and the shared library.
  targets=$(find "$root/simulators" -name CMakeLists.txt -print0 \
              | xargs -0 sed -n 's/^[[:space:]]*add_\(executable\|library\)(\([A-Za-z0-9_.+-]*\).*/\2/p')
  targets="$targets pide_common $(cd "$out" && ls deps.dot.pide_adapter_* 2>/dev/null \
             | grep -v '\.dependers$' | grep -v 'pide_adapter_\(common\|test_host\)$' \
             | sed 's/^deps\.dot\.//')"
  for t in $targets; do
    grep -qF "label = \"$t\"" "$out/deps.dot" || { echo "$t: not in the graph"; continue; }
    # deps.dot.<target> holds the target's whole dependency tree; CMake writes none for a target
    # that depends on nothing.
    [ -f "$out/deps.dot.$t" ] || continue
    grep -q '"pidegw_core"' "$out/deps.dot.$t" && echo "$t -> pidegw_core"
    # Plugins get everything from the host's function table: not even pide_common.
    case "$t" in pide_adapter_*)
      grep -q '"pide_common"' "$out/deps.dot.$t" && echo "$t -> pide_common" ;;
    esac
  done
  return 0
}

# A copy of the sources (no build trees, no .git) to plant violations in.
copy_tree() { # dest
  mkdir -p "$1"
  local e
  for e in "$PIDE_SOURCE_DIR"/* "$PIDE_SOURCE_DIR"/.[!.]*; do
    [ -e "$e" ] || continue
    case "$(basename "$e")" in .git) continue ;; esac
    [ -f "$e/CMakeCache.txt" ] && continue
    cp -a "$e" "$1/"
  done
}

# 1. The checker sees each kind of violation in a doctored copy.
bad="$T/bad"
copy_tree "$bad"
mkdir -p "$bad/gateway/sub"
echo '/* planted */' > "$bad/gateway/sub/planted_only_in_gateway.h"
printf '#include "exchange.h"\n' >> "$bad/simulators/pj/pj_sim.c"
printf '#include "planted_only_in_gateway.h"\n' >> "$bad/simulators/common/sim_buf.h"
printf '#include "../../gateway/config.h"\n' >> "$bad/simulators/reniec/reniec_sim.c"
printf '#include "reniec_data.h"\n' >> "$bad/adapters/reniec/reniec_adapter.c"
printf '  #  include "sim_buf.h"\n' >> "$bad/adapters/common/adapter_xml.h"
printf '#include "config.h"\n' >> "$bad/lib/arena.c"
printf '#include "arena.h"\n' >> "$bad/providers/pj_protocol.h"
include_violations "$bad" > "$T/bad_includes.txt"
cat "$T/bad_includes.txt"
assert_contains "$T/bad_includes.txt" 'simulators/pj/pj_sim.c: #include "exchange.h" -> gateway/exchange.h' \
  "planted: a simulator including a gateway header by name"
assert_contains "$T/bad_includes.txt" 'simulators/common/sim_buf.h: #include "planted_only_in_gateway.h" -> gateway/sub/' \
  "planted: a gateway header in a gateway subfolder"
assert_contains "$T/bad_includes.txt" 'simulators/reniec/reniec_sim.c: #include "../../gateway/config.h" -> ' \
  "planted: a relative path into gateway/"
assert_contains "$T/bad_includes.txt" 'adapters/reniec/reniec_adapter.c: #include "reniec_data.h" -> simulators/reniec/reniec_data.h' \
  "planted: an adapter including a simulator header"
assert_contains "$T/bad_includes.txt" 'adapters/common/adapter_xml.h: #include "sim_buf.h" -> simulators/common/sim_buf.h' \
  "planted: an indented '#  include' in the adapters' common code"
assert_contains "$T/bad_includes.txt" 'lib/arena.c: #include "config.h" -> gateway/config.h' \
  "planted: lib/ including a gateway header (a cycle back into the daemon)"
assert_contains "$T/bad_includes.txt" 'providers/pj_protocol.h: #include "arena.h" -> lib/arena.h' \
  "planted: a provider header including code"
assert_eq 7 "$(wc -l < "$T/bad_includes.txt")" "planted: exactly the seven planted includes are reported"

# A simulator that links the daemon through a helper library, and a plugin that links it directly.
cat >> "$bad/simulators/common/CMakeLists.txt" <<'EOF'
target_link_libraries(pide_simpick PUBLIC pidegw_core)
EOF
cat >> "$bad/adapters/reniec/CMakeLists.txt" <<'EOF'
target_link_libraries(pide_adapter_reniec PRIVATE pidegw_core)
EOF
cat >> "$bad/adapters/pj/CMakeLists.txt" <<'EOF'
target_link_libraries(pide_adapter_pj PRIVATE pide_common)
EOF
link_violations "$bad" "$T/bad-build" > "$T/bad_links.txt"
cat "$T/bad_links.txt"
for t in pide_simpick pj_data pj-sim reniec-sim migraciones-sim pide_adapter_reniec; do
  assert_contains "$T/bad_links.txt" "$t -> pidegw_core" "planted: $t depending on pidegw_core is seen"
done
assert_contains "$T/bad_links.txt" "pide_adapter_pj -> pide_common" "planted: a plugin linking pide_common is seen"
assert_not_contains "$T/bad_links.txt" "pide_adapter_pj -> pidegw_core" "planted: pide_common does not drag in the daemon"
assert_not_contains "$T/bad_links.txt" "pide_common -> pidegw_core" "planted: pide_common itself stays clean"
assert_not_contains "$T/bad_links.txt" "not in the graph" "planted: every checked target is in the graph"

# 2. The real tree keeps the rules.
include_violations "$PIDE_SOURCE_DIR" > "$T/includes.txt"
if [ -s "$T/includes.txt" ]; then
  fail "includes across the build graph's walls:"; cat "$T/includes.txt" >&2
else
  pass "no simulator/lib/provider includes a gateway header; no adapter a simulator header"
fi
link_violations "$PIDE_SOURCE_DIR" "$T/build" > "$T/links.txt"
if [ -s "$T/links.txt" ]; then
  fail "targets that must not depend on the daemon's library:"; cat "$T/links.txt" >&2
else
  pass "no simulator target, adapter plugin or pide_common depends on pidegw_core; no plugin on pide_common"
fi
# The graph really holds the targets checked (a configure that silently lost them would pass).
for t in pj-sim reniec-sim migraciones-sim pide_simcommon pide_adapter_reniec pide_common; do
  grep -qF "label = \"$t\"" "$T/build/deps.dot" && pass "graph has $t" || fail "graph lacks $t"
done
grep -q '"pide_common"' "$T/build/deps.dot.pj-sim" && pass "pj-sim links pide_common" \
  || fail "pj-sim does not link pide_common"

finish
