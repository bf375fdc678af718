#!/bin/bash
# Run every test suite and print one summary line: "N passed, N failed".
# Called by `make check` after the build.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
total_pass=0
total_fail=0
total_skip=0
status=0

suite() { # NAME CMD...: run it, take its "NAME: N passed, N failed" line
	local name=$1 log line p f s
	shift
	log=$(mktemp)
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "$name: no summary line: counted as 1 failure"
		total_fail=$((total_fail + 1))
		status=1
	else
		p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed.*/\1/')
		s=$(echo "$line" | sed -nE 's/.*failed, ([0-9]+) skipped.*/\1/p')
		total_pass=$((total_pass + p))
		total_fail=$((total_fail + f))
		total_skip=$((total_skip + ${s:-0}))
		[ "$f" -eq 0 ] || status=1
	fi
	rm -f "$log"
}

suite unit make --no-print-directory WERROR=1 unit
suite fuzz make --no-print-directory fuzz FUZZ_SECS=10 FUZZ_SEED=1
suite e2e bash selftests/e2e/run.sh
suite template bash selftests/e2e/template.sh
suite pool bash selftests/e2e/pool.sh
suite network bash selftests/e2e/network.sh
suite runc-compat bash selftests/e2e/runc-compat.sh
suite hostcg bash selftests/e2e/hostcg.sh
suite hooks bash selftests/e2e/hooks.sh
suite bench bash selftests/e2e/bench.sh
suite killstorm bash selftests/stress/killstorm.sh 20
suite hostile make --no-print-directory hostile
suite shim bash selftests/shim/run.sh
suite cri bash selftests/cri/run.sh
suite kselftest make --no-print-directory kselftest
suite hosttest make --no-print-directory hosttest

if [ "$total_skip" -gt 0 ]; then
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "$total_pass passed, $total_fail failed"
fi
exit $status
