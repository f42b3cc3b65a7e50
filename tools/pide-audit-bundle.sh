# pide-audit-bundle.sh — `pide-audit export` and `pide-audit verify-bundle` (docs/auditor-guide.md,
# "Evidence bundles"); sourced by tools/pide-audit, whose options (ARGS, OUT, CA, TRUSTED_PEM,
# CONNINFO) and helpers (bad_args) it uses. The bundle is a tar.gz of one directory,
# pide-evidence/, written and checked by pide-audit-bundle (tools/pide_audit_bundle.c); this file
# packs and unpacks it and checks each response's XML signature with the stock xmlsec1.

BUNDLE_HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
bundle_helper() {
  local h=$BUNDLE_HERE/pide-audit-bundle
  [ -x "$h" ] || h=$(command -v pide-audit-bundle || true)
  [ -n "$h" ] || h=$BUNDLE_HERE/../build/tools/pide-audit-bundle
  [ -x "$h" ] || { echo "$PROG: pide-audit-bundle not found (it is installed next to pide-audit)" >&2; exit 3; }
  echo "$h"
}

cmd_export() {
  [ ${#ARGS[@]} -ge 1 ] || bad_args "export needs one or more EXCHANGE_IDs and --out FILE"
  [ -n "$OUT" ] || bad_args "export needs --out FILE (the bundle, a .tar.gz)"
  [ -z "$CA" ] || [ -r "$CA" ] || bad_args "cannot read the CA certificate '$CA' (--ca)"
  local h tmp rc=0
  h=$(bundle_helper) || exit 3
  tmp=$(mktemp -d)
  mkdir "$tmp/pide-evidence"
  local full=()
  [ "$FULL_PATH" = 1 ] && full=(--full-path)
  "$h" export --conninfo "$CONNINFO" --dir "$tmp/pide-evidence" "${full[@]}" "${ARGS[@]}" || rc=$?
  if [ "$rc" -eq 0 ] && [ -n "$CA" ]; then
    mkdir "$tmp/pide-evidence/certs" && cp "$CA" "$tmp/pide-evidence/certs/ca.pem" || rc=3
  fi
  if [ "$rc" -eq 0 ]; then
    tar -czf "$OUT" -C "$tmp" --owner=0 --group=0 --numeric-owner --sort=name pide-evidence || rc=3
  fi
  rm -rf "$tmp"
  [ "$rc" -eq 0 ] && echo "$PROG: bundle of ${#ARGS[@]} exchange(s) written to $OUT${CA:+ (with the CA certificate)}" >&2
  exit "$rc"
}

cmd_verify_bundle() {
  [ ${#ARGS[@]} -eq 1 ] || bad_args "verify-bundle needs exactly one bundle FILE"
  local file=${ARGS[0]} h tmp listing rc=0 ca resp id n_sig=0
  [ -f "$file" ] && [ -r "$file" ] || bad_args "cannot read the bundle '$file'"
  [ -z "$TRUSTED_PEM" ] || [ -r "$TRUSTED_PEM" ] || bad_args "cannot read '$TRUSTED_PEM' (--trusted-pem)"
  h=$(bundle_helper) || exit 3
  # Only plain files and directories under pide-evidence/, no "..": nothing is written elsewhere
  # and no link makes the checker read another file.
  if ! listing=$(LC_ALL=C tar -tvzf "$file" 2>/dev/null); then
    echo "$PROG: not a readable evidence bundle: '$file' is not a tar.gz" >&2; exit 2
  fi
  if echo "$listing" | awk '{ t = substr($1, 1, 1); if (t != "-" && t != "d") bad = 1 } END { exit bad }' &&
     LC_ALL=C tar -tzf "$file" | awk '!/^pide-evidence(\/|$)/ || /(^|\/)\.\.(\/|$)/ { bad = 1 } END { exit bad }'; then
    :
  else
    echo "$PROG: not a readable evidence bundle: entries outside pide-evidence/, links or '..' in '$file'" >&2
    exit 2
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  tar -xzf "$file" -C "$tmp" --no-same-owner --no-same-permissions || { echo "$PROG: cannot unpack '$file'" >&2; exit 2; }
  echo "Evidence bundle $file"
  # The gateway's signatures (each response, by the stock xmlsec1; the covering checkpoint and its
  # time-stamp, by pide-audit-bundle) against the auditor's own CA copy when given (else the one
  # in the bundle, which proves less: it came with the bundle).
  if [ -n "$TRUSTED_PEM" ]; then ca=$TRUSTED_PEM
  elif [ -f "$tmp/pide-evidence/certs/ca.pem" ]; then
    ca=$tmp/pide-evidence/certs/ca.pem
    echo "note: trusting the CA certificate inside the bundle; give --trusted-pem CA.pem to use your own copy"
  else ca=""; fi
  local trust=()
  [ -z "$ca" ] || trust=(--trust "$ca")
  "$h" verify --dir "$tmp/pide-evidence" "${trust[@]}" || rc=$?
  [ "$rc" -le 1 ] || exit "$rc"
  for resp in "$tmp"/pide-evidence/exchanges/*/; do
    resp=${resp%/}/response.xml
    if [ ! -f "$resp" ]; then
      echo "note: exchange $(basename "$(dirname "$resp")"): no response logged (refused before an answer was made), no signature to check"
      continue
    fi
    id=$(basename "$(dirname "$resp")")
    # Encrypted at rest (row.json body_encryption "cms"): response.xml is CMS ciphertext. With
    # --decrypt-key it is decrypted, compared with response_sha256 and its signature checked.
    if grep -q '"body_encryption": "cms"' "$(dirname "$resp")/row.json"; then
      if [ -z "$DECRYPT_KEY" ]; then
        echo "note: exchange $id: response encrypted at rest; its XML signature is checked with --decrypt-key KEY"
        continue
      fi
      if ! decrypt_cms "$resp" "$resp.plain"; then
        echo "$PROG: cannot decrypt the response of exchange $id with '$DECRYPT_KEY': it is not the private key of one of the recipients the gateway encrypted to (or response.xml is damaged)" >&2
        exit 4
      fi
      local want
      want=$(sed -n 's/^ *"response_sha256": "\([0-9a-f]*\)".*/\1/p' "$(dirname "$resp")/row.json")
      if [ "$(sha256sum "$resp.plain" | cut -d' ' -f1)" = "$want" ]; then
        echo "ok: exchange $id: the decrypted response has the logged response_sha256"
      else
        echo "FAILED: exchange $id: the decrypted response differs from the logged response_sha256"; rc=1; continue
      fi
      resp=$resp.plain
    fi
    if ! grep -q 'SignatureValue' "$resp"; then
      echo "FAILED: exchange $id: response.xml carries no XML signature"; rc=1; continue
    fi
    if [ -z "$ca" ]; then
      echo "FAILED: exchange $id: response signature not checked: no CA (give --trusted-pem CA.pem)"; rc=1; continue
    fi
    if xmlsec1 --verify --trusted-pem "$ca" "$resp" >/dev/null 2>&1; then
      echo "ok: exchange $id: response signature verified by xmlsec1 --verify --trusted-pem $( [ -n "$TRUSTED_PEM" ] && echo "$TRUSTED_PEM" || echo "certs/ca.pem")"
      n_sig=$((n_sig + 1))
    else
      echo "FAILED: exchange $id: response signature does not verify (xmlsec1 --verify)"; rc=1
    fi
  done
  if [ "$rc" -eq 0 ]; then echo "bundle intact: rows, chain path and $n_sig response signature(s) verified"
  else echo "bundle verification FAILED"; fi
  exit "$rc"
}
