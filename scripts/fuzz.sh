#!/usr/bin/env bash
# Runs every Fuzz target in the module for the given time each (default 5s).
# Seed corpora live in each package's testdata/fuzz/; new crashers found
# here are written there too, so a failure leaves a reproducer behind.
#
# Go before 1.27 has a race in its fuzzing coordinator (golang/go#75804):
# when a duration -fuzztime expires while a worker is mid-call, the target
# fails with "context deadline exceeded" and writes no failing input. Such a
# run is repeated once with an execution-count budget (the executions it had
# reached), which has no deadline to race; a target that really hangs then
# hits -timeout and fails, so only the coordinator's false alarm is absorbed.
set -euo pipefail
t=${1:-5s}
cd "$(dirname "$0")/.."
fail=0
passed=0
failed=0
log=$(mktemp /tmp/apitap-fuzz.XXXXXX)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  ls "$dir"/*_test.go >/dev/null 2>&1 || continue
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $f ($t)"
    if go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg" >"$log" 2>&1; then
      passed=$((passed + 1))
      continue
    fi
    if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
      n=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
      n=${n:-10000}
      [ "$n" -gt 0 ] || n=10000
      echo "fuzz $pkg $f: coordinator deadline race (go#75804), no failing input; again with ${n}x"
      if go test -run '^$' -fuzz "^$f\$" -fuzztime "${n}x" -timeout 5m "$pkg" >"$log" 2>&1; then
        passed=$((passed + 1))
        continue
      fi
    fi
    cat "$log"; fail=1; failed=$((failed + 1))
  done
done
echo "fuzz: $passed passed, $failed failed"
exit $fail
