# Shared by the end-to-end suites: TAP counters, busybox bundles, a private
# state root under $WORK, and checks that nothing is left behind.
# The sourcing script sets $here (the repository) and may set $SUITE.
# shellcheck shell=bash
RT=${RT:-$here/build/bin/katasbx-runtime}
GUEST_RELEASE=$(cat "$here/build/guest/kernel-release")
WORK=$(mktemp -d "/tmp/katasbx-${SUITE:-e2e}.XXXXXX")
ROOT=$WORK/state
. "$here/selftests/lib/tap.sh"

rt() { "$RT" --root "$ROOT" "$@"; }

cleanup() {
	for id in $(rt list -q 2>/dev/null); do rt delete --force "$id" >/dev/null 2>&1; done
	pkill -KILL -f "$WORK/" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# boot_of ID: how ID's sandbox started, from its state.json ("clone:KEY", "warm:KEY", "cold")
boot_of() { sed -n 's/.*"boot":"\([^"]*\)".*/\1/p' "$ROOT/$1/state.json" 2>/dev/null; }
# wait_for SECONDS CMD...: until CMD succeeds; 1 when the time is up
wait_for() {
	local t=$1
	shift
	for _ in $(seq 1 $((t * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
gone() { ! kill -0 "$1" 2>/dev/null; }

# bundle NAME ARGS [EXTRA]: a busybox bundle under $WORK
bundle() { sh "$here/selftests/lib/mkbundle.sh" "$WORK/$1" "$2" "${3:-}"; echo "$WORK/$1"; }

# No QEMU, monitor or state directory left for ID.
nothing_left() {
	local id=$1
	[ ! -e "$ROOT/$id" ] || { echo "state directory $ROOT/$id left"; return 1; }
	if pgrep -f "$ROOT/$id/" >/dev/null; then
		echo "process left: $(pgrep -af "$ROOT/$id/" | head -n 1)"
		return 1
	fi
	return 0
}

# expect_fail NAME PATTERN ID CMD...: non-zero exit, one stderr line matching PATTERN,
# nothing left behind for ID.
expect_fail() {
	local name=$1 pat=$2 id=$3 rc lines why
	shift 3
	"$@" >"$WORK/out" 2>"$WORK/err" </dev/null
	rc=$?
	lines=$(wc -l <"$WORK/err")
	if [ $rc -eq 0 ]; then
		not_ok "$name" "exit status 0, expected failure"
	elif [ "$lines" -ne 1 ] || ! grep -q -- "$pat" "$WORK/err"; then
		not_ok "$name" "stderr ($lines lines) does not match '$pat':" "$(cat "$WORK/err")"
	elif [ -n "$id" ] && ! why=$(nothing_left "$id"); then
		not_ok "$name" "$why"
	else
		ok "$name ($(cat "$WORK/err"))"
	fi
}

wait_status() { # ID STATUS SECONDS
	local i
	for i in $(seq 1 $(($3 * 10))); do
		rt state "$1" 2>/dev/null | grep -q "\"status\": \"$2\"" && return 0
		sleep 0.1
	done
	return 1
}


# finish NAME: the TAP plan and the summary line run-all.sh reads; exit status.
finish() {
	echo "1..$n"
	echo "$1: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

# Identity of clones and warm VMs.
# distinct_random R1 R2: two reads of 16 bytes of /dev/urandom (32 hex digits), different
distinct_random() { [ ${#1} -eq 32 ] && [ ${#2} -eq 32 ] && [ "$1" != "$2" ]; }
# clock_near SLACK LO HI T...: every guest time T (epoch seconds) within [LO - SLACK, HI + SLACK]
clock_near() {
	local s=$1 lo=$2 hi=$3 t
	shift 3
	for t in "$@"; do
		[ -n "$t" ] && [ "$t" -ge $((lo - s)) ] && [ "$t" -le $((hi + s)) ] || return 1
	done
}
# identity_runs ID1 ID2: two containers, one after the other, that print 16 bytes of
# /dev/urandom in hex and the time; sets before, after (host times), r1, r2, t1, t2
identity_runs() {
	local b
	b=$(bundle ident '"sh", "-c", "head -c 16 /dev/urandom | od -An -tx1 | tr -d \" \\n\"; echo; date +%s"')
	before=$(date +%s)
	rt run --keep --bundle "$b" "$1" </dev/null >"$WORK/$1" 2>&1
	rt run --keep --bundle "$b" "$2" </dev/null >"$WORK/$2" 2>&1
	after=$(date +%s)
	r1=$(head -n 1 "$WORK/$1"); r2=$(head -n 1 "$WORK/$2")
	t1=$(sed -n 2p "$WORK/$1"); t2=$(sed -n 2p "$WORK/$2")
}

# mounts_under DIR: the mount points below DIR
mounts_under() { awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts; }
# add_mounts BUNDLE JSON...: append these mount objects to BUNDLE/config.json
add_mounts() {
	local b=$1 m
	shift
	m=$(printf '%s,' "$@")
	jq ".mounts += [${m%,}]" "$b/config.json" >"$b/config.json.new" &&
		mv "$b/config.json.new" "$b/config.json"
}
