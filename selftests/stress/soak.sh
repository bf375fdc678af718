#!/bin/bash
# The soak: LOOPS concurrent loops of container lifecycles (create, start,
# exec, delete --force of a sleep) through katasbx-runtime for SECS seconds;
# reports lifecycles, failures (the first one's error), the median and p99
# of a lifecycle's time, and what is left after. Not in make check (long);
# `make soak` runs it after the kill storm.
#   soak.sh [LOOPS [SECS]]   default $SOAK_LOOPS or 50, $SOAK_SECS or 600
# Prints TAP and "soak: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=soak
. "$here/selftests/lib/e2e.sh"
loops=${1:-${SOAK_LOOPS:-50}}
secs=${2:-${SOAK_SECS:-600}}

echo "TAP version 13"
echo "# $loops loops for $secs s"
b=$(bundle soak '"sleep", "1000"')
out=$(rt template create 2>&1) || not_ok "template create" "$out"

loop() { # I: lifecycles until the end time; "ms" or "fail ERROR" lines in $WORK/loop.I
	local i=$1 k=0 id t0 err
	while [ "$(date +%s)" -lt "$end" ]; do
		id=soak-$i-$k
		k=$((k + 1))
		t0=$(date +%s%N)
		if err=$( { timeout -k 5 300 "$RT" --root "$ROOT" create --bundle "$b" "$id" &&
			timeout -k 5 120 "$RT" --root "$ROOT" start "$id" &&
			timeout -k 5 120 "$RT" --root "$ROOT" exec "$id" true &&
			timeout -k 5 120 "$RT" --root "$ROOT" delete --force "$id"; } </dev/null 2>&1 >/dev/null); then
			echo $(( ($(date +%s%N) - t0) / 1000000 ))
		else
			echo "fail $id: $(echo "$err" | tail -n 1)"
			timeout -k 5 120 "$RT" --root "$ROOT" delete --force "$id" </dev/null >/dev/null 2>&1
		fi
	done >"$WORK/loop.$i"
}

end=$(( $(date +%s) + secs ))
for i in $(seq 1 "$loops"); do loop "$i" & done
wait
cat "$WORK"/loop.* >"$WORK/all"
ms=$(grep -v '^fail' "$WORK/all" | sort -n)
done_n=$(echo "$ms" | grep -c .)
fails=$(grep -c '^fail' "$WORK/all")
pct() { echo "$ms" | awk -v p="$1" '{ a[NR] = $1 } END { if (NR) { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; print a[i] } }'; }
if [ "$fails" -eq 0 ] && [ "$done_n" -gt 0 ]; then
	ok "$done_n lifecycles in $secs s from $loops loops, no failure; a lifecycle's median $(pct 50) ms, p99 $(pct 99) ms, max $(pct 100) ms"
else
	not_ok "$fails of $((done_n + fails)) lifecycles failed" "$(grep '^fail' "$WORK/all" | head -n 3)"
fi
left=$( { pgrep -af -- "$ROOT"; ls "$ROOT" | grep '^soak-'; grep " $ROOT/" /proc/self/mountinfo; } | head -n 3)
[ -z "$left" ] && ok "nothing left: no process of this root, no state directory, no mount" ||
	not_ok "left after the soak" "$left"
finish soak
