# pide-audit-archive.sh — `pide-audit archive` and `pide-audit verify-archive` (docs/auditor-guide.md,
# "Archives and retention"); sourced by tools/pide-audit, whose options (ARGS, OUT, MONTH,
# SIGNING_KEY, SIGNING_CERT, PREVIOUS, TRUSTED_PEM, TRUST_TSA, CONNINFO) and helpers (bad_args)
# it uses. The archive is DIR/pide-log-YYYY-MM.tar.gz, one directory pide-log-YYYY-MM/ with
# MANIFEST.json, MANIFEST.json.cms (CMS detached signature over the manifest), rows.jsonl and
# checkpoints/; the rows and the manifest are written and checked by pide-audit-archive
# (tools/pide_audit_archive.c), the CMS signatures and RFC 3161 tokens by stock openssl.
#
# Interrupted runs: everything is staged in DIR/.pide-log-YYYY-MM.partial/ and packed to
# DIR/.pide-log-YYYY-MM.tar.gz.partial, renamed to its final name only once complete (after
# fsync). The rows are written batch by batch, each batch fsync'ed and then named by
# DIR/.pide-log-YYYY-MM.partial/progress (rows, last seq, its row_hash, byte offset). A re-run
# after an interruption (kill -9, power loss) resumes: rows.jsonl is cut back to the recorded
# offset, its rows are recomputed and checked (chain from the month's start, last row_hash equal
# to the database's), and the export continues after the last recorded seq; a partial file that
# does not verify is discarded and the month restarted. A file named pide-log-YYYY-MM.tar.gz is
# always complete.

ARCHIVE_HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
archive_helper() {
  local h=$ARCHIVE_HERE/pide-audit-archive
  [ -x "$h" ] || h=$(command -v pide-audit-archive || true)
  [ -n "$h" ] || h=$ARCHIVE_HERE/../build/tools/pide-audit-archive
  [ -x "$h" ] || { echo "$PROG: pide-audit-archive not found (it is installed next to pide-audit)" >&2; exit 3; }
  echo "$h"
}

cmd_archive() {
  [ ${#ARGS[@]} -eq 0 ] || bad_args "archive takes no positional arguments (use --month YYYY-MM --out DIR)"
  [[ "$MONTH" =~ ^[0-9]{4}-(0[1-9]|1[0-2])$ ]] || bad_args "archive needs --month YYYY-MM (e.g. --month 2026-10)"
  local current
  current=$(date -u +%Y-%m)
  if [[ ! "$MONTH" < "$current" ]]; then
    echo "$PROG: month $MONTH is not closed (the current UTC month is $current): only a past month can be archived" >&2
    exit 2
  fi
  [ -n "$OUT" ] && [ -d "$OUT" ] && [ -w "$OUT" ] || bad_args "archive needs --out DIR (an existing writable directory)"
  # --config GATEWAY.xml: the key and certificate of its <signing key= certificate=> element
  # (relative paths are relative to the configuration file, as the gateway reads them).
  if [ -n "$CONFIG" ] && { [ -z "$SIGNING_KEY" ] || [ -z "$SIGNING_CERT" ]; }; then
    [ -r "$CONFIG" ] || bad_args "cannot read the gateway configuration '$CONFIG' (--config)"
    local cfg_dir ck cc
    cfg_dir=$(dirname "$(readlink -f "$CONFIG")")
    ck=$(xmllint --nonet --xpath 'string(/*/*[local-name()="signing"]/@key)' "$CONFIG" 2>/dev/null || true)
    cc=$(xmllint --nonet --xpath 'string(/*/*[local-name()="signing"]/@certificate)' "$CONFIG" 2>/dev/null || true)
    [ -n "$ck" ] && [ -n "$cc" ] || bad_args "'$CONFIG' has no <signing key=... certificate=...> element"
    [[ "$ck" = /* || "${ck,,}" = pkcs11:* ]] || ck=$cfg_dir/$ck
    [[ "$cc" = /* ]] || cc=$cfg_dir/$cc
    SIGNING_KEY=${SIGNING_KEY:-$ck} SIGNING_CERT=${SIGNING_CERT:-$cc}
    # A token key: its PIN file and module from the same element (docs/signing.md, "Key custody").
    local cp cm
    cp=$(xmllint --nonet --xpath 'string(/*/*[local-name()="signing"]/@pinFile)' "$CONFIG" 2>/dev/null || true)
    cm=$(xmllint --nonet --xpath 'string(/*/*[local-name()="signing"]/@module)' "$CONFIG" 2>/dev/null || true)
    [ -z "$cp" ] || [[ "$cp" = /* ]] || cp=$cfg_dir/$cp
    SIGNING_PIN_FILE=${SIGNING_PIN_FILE:-$cp} SIGNING_MODULE=${SIGNING_MODULE:-$cm}
  fi
  [ -n "$SIGNING_KEY" ] && [ -n "$SIGNING_CERT" ] || bad_args "archive needs --signing-key KEY and --signing-cert CERT, or --config GATEWAY.xml (the manifest is signed)"
  # The key in a PKCS#11 token (docs/signing.md "Key custody"): openssl's pkcs11 engine, the
  # module from --signing-module (default Debian's SoftHSM2), the PIN from a mode 0600 file.
  local key_args=(-inkey "$SIGNING_KEY") engine_conf=""
  if [[ "${SIGNING_KEY,,}" == pkcs11:* ]]; then
    [[ "$SIGNING_KEY" != *pin-value=* ]] || bad_args "a PIN in the URI (pin-value) is refused: use --signing-pin-file FILE"
    [ -n "$SIGNING_PIN_FILE" ] || bad_args "a pkcs11: signing key needs --signing-pin-file FILE (the token PIN, mode 0600)"
    [ -f "$SIGNING_PIN_FILE" ] && [ -r "$SIGNING_PIN_FILE" ] || bad_args "cannot read the PIN file '$SIGNING_PIN_FILE'"
    [ $(( 8#$(stat -c %a "$SIGNING_PIN_FILE") & 8#077 )) -eq 0 ] || bad_args "the PIN file '$SIGNING_PIN_FILE' is readable by group or others (chmod 600 it)"
    local module=${SIGNING_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
    [ -f "$module" ] || bad_args "PKCS#11 module '$module' not found (--signing-module)"
    [ -f /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so ] || bad_args "the OpenSSL pkcs11 engine is not installed (Debian package libengine-pkcs11-openssl)"
    engine_conf=$(mktemp)
    printf 'openssl_conf = c\n[c]\nengines = e\n[e]\npkcs11 = p\n[p]\nengine_id = pkcs11\nMODULE_PATH = %s\n' "$module" >"$engine_conf"
    key_args=(-engine pkcs11 -keyform engine -inkey "$SIGNING_KEY" -passin "file:$SIGNING_PIN_FILE")
  else
    [ -z "$SIGNING_PIN_FILE$SIGNING_MODULE" ] || bad_args "--signing-pin-file and --signing-module apply to a pkcs11: key only"
    [ -r "$SIGNING_KEY" ] || bad_args "cannot read the signing key '$SIGNING_KEY'"
  fi
  [ -r "$SIGNING_CERT" ] || bad_args "cannot read the signing certificate '$SIGNING_CERT'"
  local name=pide-log-$MONTH final="$OUT/pide-log-$MONTH.tar.gz"
  local work="$OUT/.pide-log-$MONTH.partial" part="$OUT/.pide-log-$MONTH.tar.gz.partial"
  [ ! -e "$final" ] || { echo "$PROG: $final exists: month $MONTH is already archived" >&2; exit 2; }
  # The previous month's archive: --previous FILE, else DIR/pide-log-<previous month>.tar.gz.
  local prev=$PREVIOUS prev_args=()
  [ -n "$prev" ] || prev="$OUT/pide-log-$(date -u -d "$MONTH-01 -1 month" +%Y-%m).tar.gz"
  if [ -f "$prev" ]; then
    prev_args=(--previous-name "$(basename "$prev")" --previous-sha256 "$(sha256sum "$prev" | cut -c1-64)")
  elif [ -n "$PREVIOUS" ]; then
    bad_args "cannot read the previous archive '$PREVIOUS' (--previous)"
  fi
  # One archiver per month and directory: a second one would discard the first one's work.
  exec 9>"$OUT/.pide-log-$MONTH.lock" || bad_args "cannot create a lock file in '$OUT'"
  flock -n 9 || { echo "$PROG: another archive of $MONTH into $OUT is running" >&2; exit 2; }
  # An interrupted run (kill -9, power loss) left its staging directory: resume it when its
  # rows file and progress record are there (the helper checks them, and restarts the month
  # when they do not verify); the half-packed tar and whatever followed the rows are redone.
  local resume=()
  rm -f "$part"
  if [ -f "$work/progress" ] && [ -f "$work/$name/rows.jsonl" ]; then
    resume=(--resume)
    rm -rf "$work/$name/checkpoints" "$work/$name/MANIFEST.json" "$work/$name/MANIFEST.json.cms"
  elif [ -e "$work" ]; then
    echo "$PROG: an interrupted archive of $MONTH was found with no progress record; it is discarded and the month restarted" >&2
    rm -rf "$work"
  fi
  local h rc=0 counts
  h=$(archive_helper) || exit 3
  mkdir -p "$work/$name" || exit 3
  counts=$("$h" export --conninfo "$CONNINFO" --month "$MONTH" --dir "$work/$name" \
           --progress "$work/progress" "${resume[@]}" \
           ${PIDE_AUDIT_ARCHIVE_BATCH:+--batch "$PIDE_AUDIT_ARCHIVE_BATCH"} "${prev_args[@]}") || rc=$?
  [ "$rc" -eq 0 ] || { [ "$rc" -eq 3 ] || rm -rf "$work"; exit "$rc"; }
  local env_args=()
  [ -z "$engine_conf" ] || env_args=("OPENSSL_CONF=$engine_conf")
  if ! env "${env_args[@]}" openssl cms -sign -binary -md sha256 -outform DER \
         -in "$work/$name/MANIFEST.json" -signer "$SIGNING_CERT" "${key_args[@]}" \
         -out "$work/$name/MANIFEST.json.cms" >/dev/null 2>"$ERR" </dev/null; then
    echo "$PROG: cannot sign the manifest: $(grep -v '^Engine "pkcs11" set' "$ERR" | head -n 3 | tr '\n' ' ')" >&2
    rm -rf "$work" ${engine_conf:+"$engine_conf"}; exit 3
  fi
  [ -z "$engine_conf" ] || rm -f "$engine_conf"
  # The archiver checks its own staging directory (rows, links, manifest) before packing it.
  if ! "$h" verify --dir "$work/$name" >"$ERR" 2>&1; then
    echo "$PROG: the archive of $MONTH does not verify; nothing written:" >&2
    grep FAILED "$ERR" | head -n 5 >&2; rm -rf "$work"; exit 1
  fi
  tar -czf "$part" -C "$work" --owner=0 --group=0 --numeric-owner --sort=name "$name" \
    && sync "$part" && mv "$part" "$final" && sync "$OUT" || { rm -rf "$work" "$part"; exit 3; }
  rm -rf "$work"
  set -- $counts
  echo "$PROG: archived $MONTH: $1 row(s)$( [ "$1" -gt 0 ] && echo ", seq $2..$3"), to $final"
  [ ${#resume[@]} -eq 0 ] || echo "$PROG: resumed: $4 row(s) read from the database in this run"
  echo "sha256 $(sha256sum "$final" | cut -c1-64)  $(basename "$final")"
  [ ${#prev_args[@]} -gt 0 ] && echo "chained to ${prev_args[1]} (sha256 ${prev_args[3]})" \
    || echo "note: no previous archive found ($prev): this archive starts a chain of archives"
  exit 0
}

# unpack_archive FILE DIR: the archive's single directory pide-log-YYYY-MM/ into DIR; prints it.
unpack_archive() {
  local file=$1 dir=$2 listing top
  [ -f "$file" ] && [ -r "$file" ] || { echo "$PROG: cannot read the archive '$file'" >&2; return 2; }
  if ! listing=$(LC_ALL=C tar -tvzf "$file" 2>/dev/null); then
    echo "$PROG: not a readable archive: '$file' is not a tar.gz" >&2; return 2
  fi
  top=$(LC_ALL=C tar -tzf "$file" | head -n 1); top=${top%%/*}
  if [[ "$top" =~ ^pide-log-[0-9]{4}-[0-9]{2}$ ]] &&
     echo "$listing" | awk '{ t = substr($1, 1, 1); if (t != "-" && t != "d") bad = 1 } END { exit bad }' &&
     LC_ALL=C tar -tzf "$file" | awk -v top="$top" 'index($0, top) != 1 || /(^|\/)\.\.(\/|$)/ { bad = 1 } END { exit bad }'; then
    :
  else
    echo "$PROG: not a readable archive: entries outside one pide-log-YYYY-MM/, links or '..' in '$file'" >&2
    return 2
  fi
  tar -xzf "$file" -C "$dir" --no-same-owner --no-same-permissions || { echo "$PROG: cannot unpack '$file'" >&2; return 2; }
  echo "$dir/$top"
}

cmd_verify_archive() {
  [ ${#ARGS[@]} -ge 1 ] || bad_args "verify-archive needs one or more archive FILEs (oldest first)"
  [ -n "$TRUSTED_PEM" ] || bad_args "verify-archive needs --trusted-pem CA.pem (the CA of the gateway's signing certificate)"
  [ -r "$TRUSTED_PEM" ] || bad_args "cannot read '$TRUSTED_PEM' (--trusted-pem)"
  [ -z "$TRUST_TSA" ] || [ -r "$TRUST_TSA" ] || bad_args "cannot read '$TRUST_TSA' (--trust-tsa)"
  local h tmp rc=0 file dir prev_dir="" prev_digest="" k=0 cp id tsr prev_args
  h=$(archive_helper) || exit 3
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for file in "${ARGS[@]}"; do
    k=$((k + 1)); mkdir "$tmp/$k"
    dir=$(unpack_archive "$file" "$tmp/$k") || exit 2
    echo "== $file"
    # Only the files the manifest lists (checked by digest below), the manifest and its signature.
    if [ ! -f "$dir/MANIFEST.json.cms" ]; then
      echo "FAILED: manifest signature: MANIFEST.json.cms missing"; rc=1
    elif openssl cms -verify -binary -inform DER -in "$dir/MANIFEST.json.cms" -content "$dir/MANIFEST.json" \
           -CAfile "$TRUSTED_PEM" -out /dev/null >/dev/null 2>&1; then
      echo "ok: manifest signature verified (openssl cms -verify, CA $TRUSTED_PEM)"
    else
      echo "FAILED: manifest signature does not verify against $TRUSTED_PEM"; rc=1
    fi
    prev_args=()
    [ -z "$prev_dir" ] || prev_args=(--prev-manifest "$prev_dir/MANIFEST.json" --prev-digest "$prev_digest")
    local vrc=0
    "$h" verify --dir "$dir" "${prev_args[@]}" || vrc=$?
    [ "$vrc" -le 1 ] || exit "$vrc"
    [ "$vrc" -eq 0 ] || rc=1
    for cp in "$dir"/checkpoints/*.cms; do
      [ -f "$cp" ] || continue
      id=$(basename "$cp" .cms); tsr=${cp%.cms}.tsr
      if openssl cms -verify -binary -inform DER -in "$cp" -content "${cp%.cms}.txt" \
           -CAfile "$TRUSTED_PEM" -out /dev/null >/dev/null 2>&1; then
        echo "ok: checkpoint $id: signature verified (openssl cms -verify)"
      else
        echo "FAILED: checkpoint $id: signature does not verify against $TRUSTED_PEM"; rc=1
      fi
      if [ ! -f "$tsr" ]; then
        echo "note: checkpoint $id: not time-stamped when archived"
      elif [ -z "$TRUST_TSA" ]; then
        echo "note: checkpoint $id: time-stamp token not checked (give --trust-tsa CA.pem)"
      elif openssl ts -verify -token_in -in "$tsr" -data "$cp" -CAfile "$TRUST_TSA" >/dev/null 2>&1; then
        echo "ok: checkpoint $id: time-stamp token verified (openssl ts -verify)"
      else
        echo "FAILED: checkpoint $id: time-stamp token does not verify"; rc=1
      fi
    done
    prev_dir=$dir
    prev_digest=$(sha256sum "$file" | cut -c1-64)
  done
  if [ "$rc" -eq 0 ]; then echo "archive(s) intact: ${#ARGS[@]} file(s) verified"
  else echo "archive verification FAILED"; fi
  exit "$rc"
}

# ---- detach: the retention procedure ------------------------------------------------------------
# pide-audit detach --month YYYY-MM --archive FILE --trusted-pem CA.pem [--drop] [--os-user NAME]
# The archive is checked offline first (verify-archive: signature, every row, the manifest),
# then public.exchange_log_retain() (sql/migrations/0009_retention.sql), in one transaction,
# checks it against the database (the month closed and with a partition of its own, the same
# rows — count, first prev_hash, last row_hash —, the chain of retention records continued,
# a checkpoint over its last row), records the retention event and detaches (and with --drop
# drops) the partition. Run with a role that owns exchange_log (a login member of pide_owner).
# Exit: 0 detached, 1 refused (why), 2 bad arguments, 3 database error.
cmd_detach() {
  [ ${#ARGS[@]} -eq 0 ] || bad_args "detach takes no positional arguments (use --month YYYY-MM --archive FILE)"
  [[ "$MONTH" =~ ^[0-9]{4}-(0[1-9]|1[0-2])$ ]] || bad_args "detach needs --month YYYY-MM (e.g. --month 2026-10)"
  if [[ ! "$MONTH" < "$(date -u +%Y-%m)" ]]; then
    echo "$PROG: detach refused: month $MONTH is not closed (the current UTC month is $(date -u +%Y-%m))" >&2
    exit 1
  fi
  [ -n "$ARCHIVE" ] || bad_args "detach needs --archive FILE (the month's archive made by 'pide-audit archive')"
  [ -f "$ARCHIVE" ] && [ -r "$ARCHIVE" ] || bad_args "cannot read the archive '$ARCHIVE'"
  [ -n "$TRUSTED_PEM" ] || bad_args "detach needs --trusted-pem CA.pem (the archive's signature is checked first)"
  [ -r "$TRUSTED_PEM" ] || bad_args "cannot read '$TRUSTED_PEM' (--trusted-pem)"
  [ -z "$OS_USER" ] || [[ "$OS_USER" =~ ^[A-Za-z0-9._@-]{1,64}$ ]] \
    || bad_args "--os-user wants a user name (letters, digits, . _ @ -; at most 64)"
  local tmp vrc=0 dir signer sha os_user=${OS_USER:-$(id -un 2>/dev/null || echo unknown)} out
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"; rm -f "$ERR"' EXIT
  # 1. Offline: the archive verifies on its own (a subshell: verify-archive exits).
  ( ARGS=("$ARCHIVE"); cmd_verify_archive ) >"$tmp/verify.out" 2>&1 || vrc=$?
  if [ "$vrc" -eq 2 ]; then
    echo "$PROG: detach refused: $(grep -m1 'not a readable\|cannot' "$tmp/verify.out" | sed "s/^$PROG: //")" >&2
    exit 2
  elif [ "$vrc" -ne 0 ]; then
    echo "$PROG: detach refused: the archive does not verify (pide-audit verify-archive):" >&2
    grep -E 'FAILED|not a readable|cannot' "$tmp/verify.out" | head -n 8 >&2
    exit 1
  fi
  dir=$(unpack_archive "$ARCHIVE" "$tmp") || exit 2
  [ "$(basename "$dir")" = "pide-log-$MONTH" ] || {
    echo "$PROG: detach refused: '$ARCHIVE' is the archive of ${dir##*pide-log-}, not of $MONTH" >&2; exit 1; }
  openssl cms -verify -binary -inform DER -in "$dir/MANIFEST.json.cms" -content "$dir/MANIFEST.json" \
    -CAfile "$TRUSTED_PEM" -signer "$tmp/signer.pem" -out /dev/null >/dev/null 2>&1 \
    && signer=$(openssl x509 -in "$tmp/signer.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//') \
    || { echo "$PROG: detach refused: cannot read the archive's signer" >&2; exit 1; }
  sha=$(sha256sum "$ARCHIVE" | cut -c1-64)
  # 2. In the database, one transaction: checks, the record, DETACH (and DROP).
  # The manifest and its signature go inline on stdin as base64 literals (only A-Z a-z 0-9 + / =):
  # a month with many checkpoints has a manifest larger than one command-line argument may be.
  if ! out=$({ echo "SET search_path = pg_catalog, pg_temp;"; cat <<SQL; } \
      | psql "$CONNINFO" -X -q -At -v ON_ERROR_STOP=1 -v month="$MONTH" -v file="$(basename "$ARCHIVE")" \
          -v sha="$sha" -v signer="$signer" -v os_user="$os_user" \
          -v drop="$([ "$DROP" = 1 ] && echo true || echo false)" 2>"$ERR"
SELECT public.exchange_log_retain(:'month', :'file', :'sha',
       pg_catalog.decode('$(base64 -w0 "$dir/MANIFEST.json")', 'base64'),
       pg_catalog.decode('$(base64 -w0 "$dir/MANIFEST.json.cms")', 'base64'),
       :'signer', :'os_user', :'drop'::pg_catalog.bool);
SQL
  ); then
    local msg
    msg=$(sed -n 's/^.*ERROR: *//p' "$ERR" | head -n 1)
    if [[ "$msg" == "retention refused:"* ]]; then
      echo "$PROG: detach refused: ${msg#retention refused: }" >&2; exit 1
    fi
    echo "$PROG: cannot query the exchange log: $(tr '\n\t' '  ' <"$ERR" | tr -s ' ' | sed 's/ *$//')" >&2
    exit 3
  fi
  local after to rows
  after=$(jq_field "$dir/MANIFEST.json" after_seq); to=$(jq_field "$dir/MANIFEST.json" to_seq)
  rows=$(jq_field "$dir/MANIFEST.json" row_count)
  echo "$PROG: retention record $out: month $MONTH, rows $((after + 1))..$to ($rows row(s)) are in $(basename "$ARCHIVE") (sha256 $sha, signed by $signer)"
  if [ "$DROP" = 1 ]; then
    echo "$PROG: partition exchange_log_y${MONTH%-*}m${MONTH#*-} detached and dropped"
  else
    echo "$PROG: partition exchange_log_y${MONTH%-*}m${MONTH#*-} detached (kept as a table; DROP TABLE it when no longer needed, or run with --drop)"
  fi
  exit 0
}
# jq_field FILE KEY: an integer field of a JSON object (the manifest, which we wrote).
jq_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
