#!/bin/bash
# katasbx-bench end to end: a short real run of every available mode (cold,
# clone where the runtime has --template, runc), then warm against clone (the
# runtime's warm pool), their JSON checked with jq, nothing left running or
# mounted. Prints TAP and a last line "bench: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${BENCH:-$here/build/bin/katasbx-bench}
RT=${RT:-$here/build/bin/katasbx-runtime}
WORK=$(mktemp -d /tmp/katasbx-bench-test.XXXXXX)
pass=0
fail=0
n=0
trap 'rm -rf "$WORK"' EXIT

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "#   $l"; done
}
# bench processes (QEMU, monitors) still running: they name its temp dir
leftovers() { pgrep -af '/katasbx-bench\.[A-Za-z0-9]{6}/' || true; }

echo "TAP version 13"

modes=cold,runc
if "$RT" --template off --root "$WORK/probe" check >/dev/null 2>&1; then
	modes=cold,clone,runc
fi
before=$(leftovers)

RUNS=3
"$BENCH" --modes "$modes" -n $RUNS --json "$WORK/out.json" >"$WORK/stdout" 2>"$WORK/stderr"
rc=$?
if [ $rc -eq 0 ]; then
	ok "katasbx-bench --modes $modes -n $RUNS exits 0"
else
	not_ok "katasbx-bench --modes $modes -n $RUNS exits 0 (rc=$rc)" "$(tail -n 5 "$WORK/stderr")"
fi

if jq -e . "$WORK/out.json" >/dev/null 2>&1; then
	ok "--json writes valid JSON"
else
	not_ok "--json writes valid JSON" "$(head -c 300 "$WORK/out.json" 2>&1)"
fi

for m in ${modes//,/ }; do
	if jq -e --arg m "$m" --argjson n $RUNS '.modes[$m] | (.n == $n) and (.failures == 0) and (.median_ms > 0)
		and (.min_ms <= .median_ms) and (.median_ms <= .p99_ms)' "$WORK/out.json" >/dev/null 2>&1; then
		ok "mode $m: n=$RUNS, no failures, median $(jq -r --arg m "$m" '.modes[$m].median_ms' "$WORK/out.json") ms"
	else
		not_ok "mode $m: n=$RUNS, no failures, median_ms > 0" \
			"$(jq -c --arg m "$m" '.modes[$m]' "$WORK/out.json" 2>&1 | head -c 400)"
	fi
done

if jq -e '(.accel | type == "string") and (.host.nproc > 0) and (.modes.runc.ratio_to_runc == 1)
	and (.modes.cold.ratio_to_runc > 1) and (.modes.cold.phases_ms["agent-ready"] > 0)
	and (.unavailable == {}) and (.density == null) and (.rate == null)' \
	"$WORK/out.json" >/dev/null 2>&1; then
	ok "accel, host, ratio to runc, cold phases ($(jq -r .accel "$WORK/out.json"))"
else
	not_ok "accel, host, ratio to runc, cold phases" \
		"$(jq -c '{accel, host, unavailable}' "$WORK/out.json" 2>&1 | head -c 400)"
fi

if grep -q '^mode ' "$WORK/stdout" && grep -q '^runc ' "$WORK/stdout"; then
	ok "the table is printed"
else
	not_ok "the table is printed" "$(head -n 20 "$WORK/stdout")"
fi

after=$(leftovers)
if [ "$after" = "$before" ] && ! ls -d /tmp/katasbx-bench.?????? >/dev/null 2>&1; then
	ok "no QEMU, monitor or temporary directory left"
else
	not_ok "no QEMU, monitor or temporary directory left" "$after" \
		"$(ls -d /tmp/katasbx-bench.?????? 2>&1)"
fi

# warm: the bench runs `katasbx-runtime pool` beside its runs and each warm run
# claims one of its VMs. TMPDIR puts the bench's temporary directory under
# $WORK, so that what it might leave is told apart from any other bench's.
if [ "$modes" = cold,clone,runc ] && "$RT" --warm off --root "$WORK/probe" check >/dev/null 2>&1; then
	TMPDIR=$WORK "$BENCH" --modes warm,clone -n 2 --json "$WORK/warm.json" \
		>"$WORK/wstdout" 2>"$WORK/wstderr"
	rc=$?
	if [ $rc -eq 0 ] && jq -e '(.modes.warm | (.n == 2) and (.failures == 0) and (.median_ms > 0)
		and (.phases_ms.claimed > 0) and (.pool_ready_ms > 0))
		and (.modes.clone.n == 2) and (.unavailable | has("warm") | not)' \
		"$WORK/warm.json" >/dev/null 2>&1; then
		ok "warm,clone -n 2: every warm run claimed a pool VM; median warm $(jq -r .modes.warm.median_ms "$WORK/warm.json") ms, clone $(jq -r .modes.clone.median_ms "$WORK/warm.json") ms"
	else
		not_ok "warm,clone -n 2: warm runs claim pool VMs, no failures (rc=$rc)" \
			"$(tail -n 8 "$WORK/wstderr")" \
			"$(jq -c '{warm: .modes.warm, unavailable}' "$WORK/warm.json" 2>&1 | head -c 600)"
	fi
	if grep -q '^warm ' "$WORK/wstdout" && grep -q '^claimed ' "$WORK/wstdout"; then
		ok "the table has warm and its claimed phase"
	else
		not_ok "the table has warm and its claimed phase" "$(head -n 30 "$WORK/wstdout")"
	fi
	wleft=$(pgrep -af "$WORK/katasbx-bench\\." || true)
	wmounts=$(grep -F "$WORK/" /proc/mounts || true)
	if [ -z "$wleft" ] && [ -z "$wmounts" ] &&
		! ls -d "$WORK"/katasbx-bench.?????? >/dev/null 2>&1; then
		ok "after warm: no keeper, holder, QEMU, mount or temporary directory left"
	else
		not_ok "after warm: no keeper, holder, QEMU, mount or temporary directory left" \
			"$wleft" "$wmounts" "$(ls -d "$WORK"/katasbx-bench.?????? 2>&1)"
	fi
else
	n=$((n + 1)); pass=$((pass + 1))
	echo "ok $n - warm mode # SKIP the runtime has no --warm or no templates"
fi

# a runtime without --warm (it says "unrecognized option", as getopt does):
# warm is unavailable, with the reason, and the other modes still run
cat >"$WORK/old-runtime" <<EOF
#!/bin/sh
for a; do
	case \$a in --warm|--warm=*) echo "katasbx-runtime: unrecognized option '--warm'" >&2; exit 1;; esac
done
exec "$RT" "\$@"
EOF
chmod +x "$WORK/old-runtime"
"$BENCH" --runtime "$WORK/old-runtime" --modes warm,runc -n 1 --json "$WORK/u.json" >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc -eq 0 ] && jq -e '(.unavailable.warm | test("unrecognized option")) and (.modes.runc.n == 1)
	and (.modes | has("warm") | not)' "$WORK/u.json" >/dev/null 2>&1; then
	ok "an unavailable mode is reported as such, the others still run"
else
	not_ok "an unavailable mode is reported as such (rc=$rc)" "$(cat "$WORK/err")" \
		"$(jq -c . "$WORK/u.json" 2>&1 | head -c 400)"
fi

"$BENCH" --modes nosuch >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown mode 'nosuch'" "$WORK/err"; then
	ok "an unknown mode is a usage error"
else
	not_ok "an unknown mode is a usage error (rc=$rc)" "$(cat "$WORK/err")"
fi

echo "1..$n"
echo "bench: $pass passed, $fail failed"
[ $fail -eq 0 ]
