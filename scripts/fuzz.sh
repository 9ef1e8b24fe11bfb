#!/usr/bin/env bash
# Runs every Fuzz target in the module for the given time each (default 5s).
# Seed corpora live in each package's testdata/fuzz/; new crashers found
# here are written there too, so a failure leaves a reproducer behind.
set -euo pipefail
t=${1:-5s}
cd "$(dirname "$0")/.."
fail=0
passed=0
failed=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  ls "$dir"/*_test.go >/dev/null 2>&1 || continue
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $f ($t)"
    if go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg" >/tmp/apitap-fuzz.log 2>&1; then
      passed=$((passed + 1))
    else
      cat /tmp/apitap-fuzz.log; fail=1; failed=$((failed + 1))
    fi
  done
done
echo "fuzz: $passed passed, $failed failed"
exit $fail
