#!/bin/bash
# A hostile guest: the test image's agent (build/guest-faults, built with
# KX_AGENT_FAULTS) answers, from a given request on, with garbage, a frame
# over the 4 MiB cap, a header and then silence, a reply on a stream never
# opened, or nothing. The runtime and its monitors run with ASan and UBSan
# (build/san/bin/katasbx-runtime). Each must give one clear error in bounded
# time, leave nothing behind, keep kill -9 working, and stay responsive to
# state and to another sandbox running beside it.
# Prints TAP and "hostile: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=hostile
RT=$here/build/san/bin/katasbx-runtime
. "$here/selftests/lib/e2e.sh"
G=$here/build/guest
F=$here/build/guest-faults
export ASAN_OPTIONS=log_path=$WORK/asan:detect_leaks=0:abort_on_error=0
export UBSAN_OPTIONS=log_path=$WORK/ubsan:print_stacktrace=1
modes="garbage oversize stall badstream silent"

echo "TAP version 13"
for f in "$RT" "$F/initrd.img"; do
	[ -e "$f" ] || { not_ok "$f is missing: make hostile builds it"; finish hostile; exit; }
done

# settings for MODE from the first ON request on
conf() {
	printf 'kernel_params = katasbx.fault=%s%s\nboot_timeout_ms = 5000\ntemplate = off\nwarm = off\n' \
		"$1" "${2:+ katasbx.fault_on=$2}" >"$WORK/$1-$2.conf"
	echo "$WORK/$1-$2.conf"
}
# h CONF ARGS...: the runtime on the hostile image, bounded
h() {
	local c=$1
	shift
	KATASBX_CONFIG=$c timeout -k 5 120 "$RT" --root "$ROOT" --kernel "$G/vmlinux" \
		--initrd "$F/initrd.img" "$@" </dev/null
}
# n ARGS...: the runtime on the good image
n() { timeout -k 5 120 "$RT" --root "$ROOT" --kernel "$G/vmlinux" --initrd "$G/initrd.img" "$@" </dev/null; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

b=$(bundle sleeper '"sleep", "1000"')
n run -d --bundle "$b" bystander >/dev/null 2>"$WORK/err"
wait_status bystander running 30 && ok "a good sandbox runs beside the hostile ones" ||
	not_ok "bystander" "$(cat "$WORK/err")"

# At boot: the first answer (Check's) is hostile
for mode in $modes; do
	c=$(conf "$mode" "")
	t0=$(date +%s%N)
	h "$c" create --bundle "$b" "boot-$mode" >/dev/null 2>"$WORK/err"
	rc=$? ms=$(ms_since "$t0")
	lines=$(wc -l <"$WORK/err")
	if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] && grep -q "guest agent" "$WORK/err" &&
		[ "$ms" -lt 30000 ] && why=$(nothing_left "boot-$mode"); then
		ok "boot, $mode: create fails in $ms ms with one line, nothing left ($(cut -c1-160 "$WORK/err"))"
	else
		not_ok "boot, $mode: one error, bounded, nothing left" "rc=$rc ${ms} ms, $lines lines" \
			"$(head -n 3 "$WORK/err")" "${why:-}"
	fi
done

# Running: the agent turns hostile at the SIGKILL's request; kill -9 still ends it
for mode in $modes; do
	c=$(conf "$mode" SignalProcess)
	id=kill-$mode
	h "$c" create --bundle "$b" "$id" >/dev/null 2>"$WORK/err" && h "$c" start "$id" 2>>"$WORK/err"
	out=$(h "$c" exec "$id" echo before 2>&1)
	t0=$(date +%s%N)
	h "$c" kill "$id" KILL 2>>"$WORK/err"
	rc=$? ms=$(ms_since "$t0")
	st=$(h "$c" state "$id" 2>&1 | jq -r .status 2>&1)
	h "$c" delete "$id" 2>>"$WORK/err"
	if [ "$out" = before ] && [ $rc -eq 0 ] && [ "$st" = stopped ] && [ "$ms" -lt 10000 ] &&
		why=$(nothing_left "$id"); then
		ok "running, $mode from SignalProcess on: kill -9 returns in $ms ms, stopped, deleted, nothing left"
	else
		not_ok "running, $mode: kill -9 ends it" "exec: $out" "kill rc=$rc ${ms} ms, state $st" \
			"$(head -n 4 "$WORK/err")" "${why:-}"
	fi
done

# Running: an exec's answer is hostile; the monitor answers state meanwhile
for mode in stall garbage; do
	c=$(conf "$mode" ExecProcess)
	id=exec-$mode
	h "$c" run -d --bundle "$b" "$id" >/dev/null 2>"$WORK/err"
	t0=$(date +%s%N)
	h "$c" exec "$id" true >/dev/null 2>"$WORK/exec.err" &
	ex=$!
	sleep 1
	t1=$(date +%s%N)
	st=$(h "$c" state "$id" 2>&1 | jq -r .status 2>&1)
	sms=$(ms_since "$t1")
	wait $ex
	rc=$? ms=$(ms_since "$t0")
	lines=$(wc -l <"$WORK/exec.err")
	h "$c" delete --force "$id" 2>>"$WORK/err"
	if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && [ "$ms" -lt 45000 ] && [ -n "$st" ] &&
		[ "$sms" -lt 2000 ] && why=$(nothing_left "$id"); then
		ok "exec, $mode: fails in $ms ms with one line ($(cut -c1-120 "$WORK/exec.err")); state answered in $sms ms ($st); delete --force leaves nothing"
	else
		not_ok "exec, $mode: one error, state meanwhile, nothing left" "exec rc=$rc ${ms} ms, $lines lines" \
			"$(head -n 3 "$WORK/exec.err")" "state: $st in ${sms} ms" "$(head -n 3 "$WORK/err")" "${why:-}"
	fi
done

out=$(n exec bystander echo still-here 2>&1)
st=$(n state bystander 2>&1 | jq -r .status 2>&1)
[ "$out" = still-here ] && [ "$st" = running ] &&
	ok "the good sandbox ran on untouched: exec works, running" ||
	not_ok "the bystander after the hostile guests" "exec: $out" "state: $st"
n delete --force bystander
reports=$(cat "$WORK"/asan.* "$WORK"/ubsan.* 2>/dev/null | head -n 20)
[ -z "$reports" ] && ok "no ASan or UBSan report from the runtime or its monitors" ||
	not_ok "sanitizer reports" "$reports"
left=$(pgrep -af -- "$ROOT" | head -n 3)
[ -z "$left" ] && ok "no QEMU or monitor left" || not_ok "processes left" "$left"
finish hostile
