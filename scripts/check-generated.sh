#!/usr/bin/env bash
# Fails when the committed generated code of the wire schema differs from
# what scripts/generate.sh produces from schema/flow/v1/flow.proto now
# (someone edited the .proto without `make generate`, or edited flow.pb.go by
# hand). The "// protoc vX" header line is not compared: it only names the
# protoc that ran.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scripts/generate.sh "$tmp" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; echo "check-generated: generation failed" >&2; exit 1; }

fail=0
for f in schema/flow/v1/flow.pb.go; do
  if [ ! -f "$f" ]; then
    echo "check-generated: $f is missing; run 'make generate' and commit it" >&2
    fail=1; continue
  fi
  if ! diff -u --label "$f (committed)" --label "$f (from flow.proto)" \
      <(grep -v '^//[[:space:]]*protoc[[:space:]]' "$f") \
      <(grep -v '^//[[:space:]]*protoc[[:space:]]' "$tmp/$f") >"$tmp/diff"; then
    head -40 "$tmp/diff" >&2
    echo "check-generated: $f is stale or hand-edited; run 'make generate' and commit the result" >&2
    fail=1
  fi
done
[ $fail = 0 ] && echo "check-generated: ok"
exit $fail
