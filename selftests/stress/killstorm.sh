#!/bin/bash
# The kill storm: container lifecycles (create, start, exec, kill, delete)
# through katasbx-runtime, each with one SIGKILL at a random point of a
# random step, to the CLI running it, to the sandbox's monitor or to its
# QEMU; then `delete --force` and a count of what is left: state
# directories, QEMU and monitor processes, mounts, host cgroups, locked
# templates. Zero is the only pass.
#   killstorm.sh [N]   N lifecycles (default $KILLSTORM_N or 20; make soak: 100)
# KILLSTORM_SEED replays a storm (the seed is printed). Prints TAP and
# "killstorm: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=killstorm
. "$here/selftests/lib/e2e.sh"
N=${1:-${KILLSTORM_N:-20}}
seed=${KILLSTORM_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$seed
steps=(create start exec kill delete)
victims=(cli monitor qemu)

# what is left of ID once delete --force has run: one line each, nothing if clean
leftovers() {
	local id=$1
	[ ! -e "$ROOT/$id" ] || echo "state directory $ROOT/$id"
	# QEMU names files of ROOT/ID; a monitor is the CLI that forked it (its command line)
	{ pgrep -af "$ROOT/$id/"; pgrep -af -- "--root $ROOT .* $id\$"; } | head -n 3 |
		sed 's/^/process: /'
	grep " $ROOT/$id/" /proc/self/mountinfo | awk '{ print "mount: " $5 }' | head -n 3
	find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d -name "$id" 2>/dev/null |
		sed 's/^/cgroup: /' | head -n 3
}

cli_of() { # JOB: the CLI that job runs under timeout (bash may have exec'd the subshell)
	local p=$1
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = timeout ] || p=$(pgrep -x -P "$p" timeout | head -n 1)
	[ -n "$p" ] && pgrep -P "$p" | head -n 1
}

pid_of() { # ID FIELD: a pid from its state.json, once there
	jq -r ".$2 // empty" "$ROOT/$1/state.json" 2>/dev/null | grep -v '^0$'
}

echo "TAP version 13"
echo "# $N lifecycles, KILLSTORM_SEED=$seed"
b=$(bundle ks '"sleep", "1000"')
# the template is made first, once: the storm is about sandboxes' lifecycles
out=$(rt template create 2>&1) && ok "template made first ($out)" || not_ok "template create" "$out"

declare -A hit
clean=0
for i in $(seq 1 "$N"); do
	id=ks$i
	step=${steps[RANDOM % ${#steps[@]}]}
	victim=${victims[RANDOM % ${#victims[@]}]}
	# within the step's time here: a create boots (a clone: about a second), the rest are quick
	[ "$step" = create ] && delay=$((RANDOM % 1500)) || delay=$((RANDOM % 80))
	got=none
	for s in "${steps[@]}"; do
		case $s in
		create) cmd=("$RT" --root "$ROOT" create --bundle "$b" "$id") ;;
		start) cmd=("$RT" --root "$ROOT" start "$id") ;;
		exec) cmd=("$RT" --root "$ROOT" exec "$id" true) ;;
		kill) cmd=("$RT" --root "$ROOT" kill "$id" KILL) ;;
		delete) cmd=("$RT" --root "$ROOT" delete "$id") ;;
		esac
		if [ "$s" != "$step" ]; then
			timeout -k 5 120 "${cmd[@]}" </dev/null >/dev/null 2>&1
			continue
		fi
		# in a subshell whose stderr is discarded: bash reports the killed CLI there
		(timeout -k 5 120 "${cmd[@]}" </dev/null >/dev/null 2>&1; exit $?) 2>/dev/null &
		cli=$!
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		case $victim in
		cli) pid=$(cli_of "$cli") ;;
		monitor) pid=$(pid_of "$id" pid) ;;
		qemu) pid=$(pid_of "$id" qemu_pid) ;;
		esac
		if [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; then
			got=$victim
		fi
		wait "$cli"
	done
	timeout -k 5 120 "$RT" --root "$ROOT" delete --force "$id" </dev/null >/dev/null 2>&1
	left=$(leftovers "$id")
	hit[$step/$got]=$((${hit[$step/$got]:-0} + 1))
	if [ -z "$left" ]; then
		clean=$((clean + 1))
	else
		not_ok "lifecycle $i: SIGKILL to the $victim ${delay} ms into $step (hit: $got), then delete --force" \
			"$(echo "$left" | head -n 6)"
	fi
done
summary_hits=$(for k in "${!hit[@]}"; do echo "$k:${hit[$k]}"; done | sort | tr '\n' ' ')
[ "$clean" -eq "$N" ] && ok "$N lifecycles with a SIGKILL each, nothing left after delete --force (step/victim hit: $summary_hits)"

# nothing of the storm anywhere: no process of this root, every template lock free
procs=$(pgrep -af -- "$ROOT" | head -n 3)
locked=
for l in "$ROOT"/.templates/*.lock; do
	[ -e "$l" ] || continue
	flock -n "$l" true || locked="$locked $l"
done
if [ -z "$procs" ] && [ -z "$locked" ] && [ -z "$(rt list -q 2>&1)" ]; then
	ok "after the storm: no QEMU or monitor of this root, no container listed, no template lock held"
else
	not_ok "the storm left something" "processes: $procs" "locked:$locked" "list: $(rt list -q 2>&1)"
fi
# a container still runs as before: the template was not damaged
b2=$(bundle ks2 '"sh", "-c", "echo alive; exit 3"')
out=$(rt run --bundle "$b2" ks-after </dev/null 2>&1)
rc=$?
[ $rc -eq 3 ] && [ "$out" = alive ] && ok "a container runs normally after the storm" ||
	not_ok "run after the storm" "rc=$rc" "$out"
finish killstorm
