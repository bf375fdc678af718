#!/bin/bash
# Run libFuzzer targets: run.sh NAME... (built in build/fuzz by `make fuzz-build`).
# Each runs for $FUZZ_SECS seconds (default 60; $FUZZ_SEED fixes libFuzzer's seed) from its seed corpus
# selftests/fuzz/corpus/NAME (read, never written: what it finds goes to a
# temporary directory). TAP: a target passes when it found no crash, leak or
# undefined behaviour; the line gives its runs and coverage. A failure keeps
# the input that did it (crash-*) and shows where to find it. Last line
# "fuzz: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)

. "$here/selftests/lib/tap.sh"
secs=${FUZZ_SECS:-60}
# a fixed seed (make check's) makes a run repeatable on the same machine; unset, libFuzzer picks one
seed=${FUZZ_SEED:+-seed=$FUZZ_SEED}
work=$(mktemp -d /tmp/katasbx-fuzz.XXXXXX)

echo "TAP version 13"
for t in "$@"; do
	bin=$here/build/fuzz/fuzz_$t
	seeds=$here/selftests/fuzz/corpus/$t
	mkdir -p "$work/$t"
	if [ ! -x "$bin" ]; then
		not_ok "fuzz_$t" "$bin is missing: make fuzz-build"
		continue
	fi
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $seed \
		-artifact_prefix="$work/$t/" "$work/$t" "$seeds" >"$work/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$work/$t.log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$work/$t.log" | tail -n 1 | cut -d' ' -f2)
	nseeds=$(find "$seeds" -type f 2>/dev/null | wc -l)
	if [ $rc -eq 0 ] && [ -n "$runs" ]; then
		ok "fuzz_$t: ${runs} runs in ${secs} s, coverage ${cov:-?} edges, ${ft:-?} features, from $nseeds seeds"
	else
		not_ok "fuzz_$t (exit $rc)" "$(grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$work/$t.log" | head -n 6)" \
			"log and input kept in $work/$t"
		keep=1
	fi
done
echo "1..$n"
[ -n "${keep:-}" ] || rm -rf "$work"
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
