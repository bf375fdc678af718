#!/bin/bash
# Each sandbox in its cgroup on the host, side by side with Debian's runc on
# this host's cgroup layout (hybrid here: v1 controllers and a controller-less
# unified hierarchy; pure cgroup v2 is tested in the test VM by hosttest):
# the same `runc spec` bundle with each kind of linux.cgroupsPath must put
# katasbx's QEMU and monitor in every hierarchy where runc puts its container,
# with runc's limits plus the sandbox overhead, and remove the cgroup on
# delete as runc does. Bad paths are refused leaving nothing behind; QEMU is
# spawned with clone3(CLONE_INTO_CGROUP) and, where the kernel refuses it,
# joins before exec. Prints TAP and "hostcg: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=hostcg
. "$here/selftests/lib/e2e.sh"
. "$here/selftests/lib/compat.sh"

echo "TAP version 13"
if [ ! -d /sys/fs/cgroup/memory ] || [ ! -d /sys/fs/cgroup/cpu ]; then
	# a pure cgroup v2 host: this suite reads the v1 controllers' files beside runc's
	echo "ok 1 # skip not a v1 or hybrid cgroup host (no /sys/fs/cgroup/memory and cpu)"
	echo "1..1"
	echo "hostcg: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
compat_base || { finish hostcg; exit 1; }
command -v strace >/dev/null || { not_ok "strace is installed" "run: sh scripts/install-deps.sh test"; finish hostcg; exit 1; }

TAG=kxcg$$
OVERHEAD_MIB=$(sed -n 's/^#define KX_SANDBOX_OVERHEAD_MIB \([0-9]*\).*/\1/p' "$here/userspace/lib/config.h")
A=.process.args
SLEEP="$A = [\"sleep\", \"60\"] | .linux.resources = {\"memory\": {\"limit\": 268435456}, \"cpu\": {\"quota\": 50000, \"period\": 100000}}"

# cgroups_of PID NAME: PID's /proc/PID/cgroup, sorted, with NAME written as ID
cgroups_of() { sed "s|$2|ID|g" "/proc/$1/cgroup" | sort; }
qemu_of() { jq -r .qemu_pid "$ROOT/$1/state.json"; }
monitor_of() { rt state "$1" | jq -r .pid; }
# dirs_named NAME: the cgroup directories called NAME under /sys/fs/cgroup, at any depth
dirs_named() { find /sys/fs/cgroup -maxdepth 6 -type d -name "$1" 2>/dev/null | sort; }
# cgfile HIER NAME FILE: FILE of the cgroup called NAME in hierarchy HIER
cgfile() { cat "$(find "/sys/fs/cgroup/$1" -maxdepth 6 -type d -name "$2" | head -n 1)/$3"; }

# placed CASE PATH: runc's container and katasbx's QEMU and monitor in the same cgroups
placed() {
	local name=$1 path=$2 d filter rpid want q m kq km rlim klim rq kq2 rname kname
	filter="$SLEEP"
	[ -n "$path" ] && filter="$filter | .linux.cgroupsPath = \"$path\""
	rname=${path:+$(basename "$path")}; rname=${rname:-r-$name}
	kname=${path:+$(basename "$path")}; kname=${kname:-k-$name}
	d=$(mkcase "$name" "$filter") || { not_ok "$name: jq"; return; }
	(cd "$d" && runc --root "$WORK/runc" run -d "r-$name" >/dev/null 2>"$WORK/runc.err" </dev/null)
	rpid=$(runc --root "$WORK/runc" state "r-$name" | jq -r .pid)
	want=$(cgroups_of "$rpid" "r-$name")
	rlim=$(cgfile memory "$rname" memory.limit_in_bytes)
	rq=$(cgfile cpu "$rname" cpu.cfs_quota_us)
	runc --root "$WORK/runc" delete -f "r-$name" >/dev/null 2>&1
	rm -rf "$d/rootfs" && cp -a "$BASE/rootfs" "$d/rootfs"
	if ! rt run -d --bundle "$d" "k-$name" >/dev/null 2>"$WORK/kx.err" </dev/null; then
		not_ok "$name: run" "$(cat "$WORK/kx.err")"
		return
	fi
	q=$(qemu_of "k-$name")
	m=$(monitor_of "k-$name")
	kq=$(cgroups_of "$q" "k-$name")
	km=$(cgroups_of "$m" "k-$name")
	klim=$(cgfile memory "$kname" memory.limit_in_bytes)
	kq2=$(cgfile cpu "$kname" cpu.cfs_quota_us)
	if [ -n "$want" ] && [ "$kq" = "$want" ] && [ "$km" = "$want" ]; then
		ok "$name: QEMU and the monitor in runc's cgroups ($(echo "$want" | grep memory))"
	else
		not_ok "$name: in runc's cgroups" "runc: $(echo $want)" "QEMU: $(echo $kq)" "monitor: $(echo $km)"
	fi
	if [ -n "$rlim" ] && [ "$klim" = $((rlim + OVERHEAD_MIB * 1048576)) ] && [ "$kq2" = $((rq + 25000)) ]; then
		ok "$name: runc's limits plus the overhead (memory $rlim + $OVERHEAD_MIB MiB, quota $rq + 25000)"
	else
		not_ok "$name: limits" "runc: memory $rlim, quota $rq" "katasbx: memory $klim, quota $kq2"
	fi
	rt delete --force "k-$name" >/dev/null 2>&1
	if [ -z "$(dirs_named "$kname")" ] && nothing_left "k-$name" >/dev/null; then
		ok "$name: its cgroup gone after delete -f, as runc's"
	else
		not_ok "$name: cgroup gone after delete" "$(dirs_named "$kname")"
	fi
}

placed no-path ""
placed absolute "/$TAG/abs"
placed relative "$TAG-rel/r"
# parents made on the way stay, as runc leaves them
if [ "$(dirs_named "$TAG" | wc -l)" -ge 2 ] && [ "$(dirs_named "$TAG-rel" | wc -l)" -ge 2 ]; then
	ok "parents of the path stay, as runc's do ($(dirs_named "$TAG" | wc -l) hierarchies)"
else
	not_ok "parents stay" "$(dirs_named "$TAG")"
fi
for dir in $(dirs_named "$TAG") $(dirs_named "$TAG-rel"); do rmdir "$dir"; done

# a run in the foreground is its own monitor: it steps out before removing its cgroup
d=$(mkcase fg "$A = [\"sh\", \"-c\", \"exit 7\"] | .linux.cgroupsPath = \"/$TAG-fg\"")
rt run --bundle "$d" k-fg >/dev/null 2>"$WORK/kx.err" </dev/null
rc=$?
if [ $rc = 7 ] && [ -z "$(dirs_named "$TAG-fg")" ] && [ ! -s "$WORK/kx.err" ]; then
	ok "run in the foreground: exit 7, its cgroup removed, nothing said"
else
	not_ok "run in the foreground" "exit $rc" "$(dirs_named "$TAG-fg")" "$(cat "$WORK/kx.err")"
fi

# update: runc's new limits on the host too, plus the overhead
d=$(mkcase upd "$SLEEP | .linux.cgroupsPath = \"/$TAG-upd\"")
rt run -d --bundle "$d" k-upd >/dev/null 2>&1 </dev/null
rt update --memory 314572800 --cpu-quota 80000 k-upd 2>"$WORK/kx.err"
lim=$(cat /sys/fs/cgroup/memory/$TAG-upd/memory.limit_in_bytes 2>/dev/null)
quo=$(cat /sys/fs/cgroup/cpu/$TAG-upd/cpu.cfs_quota_us 2>/dev/null)
if [ "$lim" = $((314572800 + OVERHEAD_MIB * 1048576)) ] && [ "$quo" = 105000 ]; then
	ok "update: the host cgroup follows (memory $lim, quota $quo)"
else
	not_ok "update: the host cgroup follows" "memory $lim, quota $quo" "$(cat "$WORK/kx.err")"
fi
# events --stats: beside runc's fields, what the sandbox costs on the host
h=$(rt events --stats k-upd 2>"$WORK/kx.err" | jq -c .data.sandbox_host)
if [ "$(echo "$h" | jq -r .cgroup)" = "/$TAG-upd" ] && [ "$(echo "$h" | jq -r .memory.limit)" = "$lim" ] &&
	[ "$(echo "$h" | jq -r .memory.usage)" -gt 0 ] && [ "$(echo "$h" | jq -r .cpu.usage)" -gt 0 ] &&
	[ "$(echo "$h" | jq -r .pids.current)" -gt 0 ]; then
	ok "events --stats: the host cgroup's usage beside the guest's ($h)"
else
	not_ok "events --stats: sandbox_host" "$h" "$(cat "$WORK/kx.err")"
fi
rt delete --force k-upd >/dev/null 2>&1

# clone3(CLONE_INTO_CGROUP) where the kernel has it; where it does not, QEMU joins before exec
d=$(mkcase spawn "$A = [\"true\"] | .linux.cgroupsPath = \"/$TAG-spawn\"")
strace -f -qq -e trace=clone3 -o "$WORK/strace" "$RT" --root "$ROOT" run --bundle "$d" k-spawn >/dev/null 2>&1 </dev/null
if grep -q "CLONE_INTO_CGROUP" "$WORK/strace" && [ -z "$(dirs_named "$TAG-spawn")" ]; then
	ok "QEMU spawned with clone3(CLONE_INTO_CGROUP): $(grep -o 'clone3({flags=CLONE_INTO_CGROUP[^}]*}' "$WORK/strace" | head -n 1)"
else
	not_ok "QEMU spawned with clone3(CLONE_INTO_CGROUP)" "$(head -n 5 "$WORK/strace")"
fi
d=$(mkcase nosys "$A = [\"sleep\", \"60\"] | .linux.cgroupsPath = \"/$TAG-nosys\"")
# strace follows the monitor, which outlives run -d: in the background until the delete
strace -f -qq -o /dev/null -e trace=clone3 -e inject=clone3:error=ENOSYS \
	"$RT" --root "$ROOT" run -d --bundle "$d" k-nosys >/dev/null 2>"$WORK/kx.err" </dev/null &
tracer=$!
wait_status k-nosys running 60
q=$(qemu_of k-nosys 2>/dev/null)
if [ "${q:-0}" -gt 0 ] && [ -r "/proc/$q/cgroup" ] &&
	[ "$(grep -c ":/$TAG-nosys\$" "/proc/$q/cgroup")" = "$(wc -l <"/proc/$q/cgroup")" ]; then
	ok "without clone3 (ENOSYS injected) QEMU joins every hierarchy before exec"
else
	not_ok "without clone3 QEMU joins its cgroup" "qemu $q: $(cat "/proc/$q/cgroup" 2>&1)" "$(cat "$WORK/kx.err")"
fi
rt delete --force k-nosys >/dev/null 2>&1
wait "$tracer" 2>/dev/null

# a killed monitor: its QEMU dies with it, delete removes the cgroup
d=$(mkcase killed "$SLEEP | .linux.cgroupsPath = \"/$TAG-killed\"")
rt run -d --bundle "$d" k-killed >/dev/null 2>&1 </dev/null
q=$(qemu_of k-killed)
kill -9 "$(monitor_of k-killed)"
wait_for 5 gone "$q"
rt delete k-killed >/dev/null 2>"$WORK/kx.err"
if gone "$q" && [ -z "$(dirs_named "$TAG-killed")" ] && nothing_left k-killed >/dev/null; then
	ok "monitor killed: QEMU gone with it, delete removes the cgroup"
else
	not_ok "monitor killed" "$(dirs_named "$TAG-killed")" "$(cat "$WORK/kx.err")"
fi

# a clone filling its memory limit on a tmpfs state root (Debian's /run): charged
# for its own pages only, so its QEMU survives the host limit (limit + overhead)
mkdir -p "$WORK/tmpfs" && mount -t tmpfs tmpfs "$WORK/tmpfs"
d=$(mkcase fill "$A = [\"sh\", \"-c\", \"dd if=/dev/zero of=/dev/shm/fill bs=1M count=240 2>/dev/null && echo filled\"] |
	.linux.resources.memory.limit = 268435456 | .linux.cgroupsPath = \"/$TAG-fill\" |
	(.mounts[] | select(.destination == \"/dev/shm\") | .options) |= map(if startswith(\"size=\") then \"size=300m\" else . end)")
out=$("$RT" --root "$WORK/tmpfs" run --keep --bundle "$d" k-fill 2>"$WORK/kx.err" </dev/null)
rc=$?
peak=$(cat "/sys/fs/cgroup/memory/$TAG-fill/memory.max_usage_in_bytes" 2>/dev/null)
mem=$(ls "$WORK"/tmpfs/.templates/*/memory 2>/dev/null | head -n 1)
"$RT" --root "$WORK/tmpfs" delete --force k-fill >/dev/null 2>&1
if [ $rc = 0 ] && [ "$out" = filled ] && [ -n "$mem" ] && [ "$(du -k "$mem" | cut -f1)" -ge $(($(stat -c %s "$mem") / 1024)) ]; then
	ok "a clone fills 240 MiB of its 256 MiB on a tmpfs root: it lives, host peak $((peak >> 20)) MiB; the template's memory allocated whole ($(du -h "$mem" | cut -f1))"
else
	not_ok "a clone filling its limit on tmpfs" "exit $rc, out '$out', peak $peak" "$(tail -n 2 "$WORK/kx.err")" \
		"template memory: $(du -k "$mem" 2>&1) of $(stat -c %s "$mem" 2>&1) bytes"
fi
umount "$WORK/tmpfs"

# bad input: one line naming the field, nothing left (no cgroup, no state)
expect_fail "cgroupsPath with .. refused" 'linux.cgroupsPath "../../x": ".." would leave the cgroup root' k-dots \
	rt run --bundle "$(mkcase dots "$A = [\"true\"] | .linux.cgroupsPath = \"../../x\"")" k-dots
[ -z "$(dirs_named x)" ] || not_ok "nothing made for ..: $(dirs_named x)"
mkdir "/sys/fs/cgroup/pids/$TAG-busy"
sleep 60 &
busy=$!
echo "$busy" >"/sys/fs/cgroup/pids/$TAG-busy/cgroup.procs"
expect_fail "a cgroup holding processes refused" "linux.cgroupsPath /$TAG-busy: cgroup /sys/fs/cgroup/pids/$TAG-busy exists and holds processes" k-busy \
	rt run --bundle "$(mkcase busy "$A = [\"true\"] | .linux.cgroupsPath = \"/$TAG-busy\"")" k-busy
if [ "$(dirs_named "$TAG-busy")" = "/sys/fs/cgroup/pids/$TAG-busy" ] && grep -qx "$busy" "/sys/fs/cgroup/pids/$TAG-busy/cgroup.procs"; then
	ok "the busy cgroup left as it was, nothing made in the other hierarchies"
else
	not_ok "busy cgroup left as it was" "$(dirs_named "$TAG-busy")"
fi
kill "$busy"; wait "$busy" 2>/dev/null
rmdir "/sys/fs/cgroup/pids/$TAG-busy"
expect_fail "a cpuset the host refuses" "linux.resources.cpu.cpus: the host's cgroup" k-lim \
	rt run --bundle "$(mkcase lim "$A = [\"true\"] | .linux.resources.cpu.cpus = \"999\" | .linux.cgroupsPath = \"/$TAG-lim\"")" k-lim
[ -z "$(dirs_named "$TAG-lim")" ] || not_ok "nothing left of a refused limit: $(dirs_named "$TAG-lim")"

# --systemd-cgroup: runc's format check, then refused where systemd does not run
d=$(mkcase sd "$A = [\"true\"] | .linux.cgroupsPath = \"not-a-slice\"")
(cd "$d" && runc --root "$WORK/runc" --systemd-cgroup run r-sd >/dev/null 2>"$WORK/runc.err" </dev/null)
rrc=$?
runc --root "$WORK/runc" delete -f r-sd >/dev/null 2>&1
"$RT" --root "$ROOT" --systemd-cgroup run --bundle "$d" k-sd >/dev/null 2>"$WORK/kx.err" </dev/null
krc=$?
if [ $rrc -ne 0 ] && [ $krc = 1 ] && grep -qF 'expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups' "$WORK/kx.err" &&
	grep -qF 'slice:prefix:name' "$WORK/runc.err" && nothing_left k-sd >/dev/null; then
	ok "--systemd-cgroup with a cgroupfs path: refused in runc's words"
else
	not_ok "--systemd-cgroup format" "runc: $rrc $(cat "$WORK/runc.err")" "katasbx: $krc $(cat "$WORK/kx.err")"
fi
if [ ! -d /run/systemd/system ]; then
	d=$(mkcase sd2 "$A = [\"true\"] | .linux.cgroupsPath = \"system.slice:kx:$TAG\"")
	expect_fail "--systemd-cgroup without systemd refused" "systemd does not run on this host" k-sd2 \
		"$RT" --root "$ROOT" --systemd-cgroup run --bundle "$d" k-sd2
fi

# host_cgroups = false: the sandbox stays where its caller is, nothing made
echo "host_cgroups = false" >"$WORK/nocg.conf"
d=$(mkcase nocg "$A = [\"sleep\", \"60\"] | .linux.cgroupsPath = \"/$TAG-nocg\"")
"$RT" --root "$ROOT" --config "$WORK/nocg.conf" run -d --bundle "$d" k-nocg >/dev/null 2>&1 </dev/null
q=$(qemu_of k-nocg 2>/dev/null)
if [ -n "$q" ] && [ -z "$(dirs_named "$TAG-nocg")" ] && [ "$(cgroups_of "$q" x)" = "$(cgroups_of $$ x)" ]; then
	ok "host_cgroups = false: QEMU in its caller's cgroups, none made"
else
	not_ok "host_cgroups = false" "$(dirs_named "$TAG-nocg")"
fi
"$RT" --root "$ROOT" --config "$WORK/nocg.conf" delete --force k-nocg >/dev/null 2>&1

finish hostcg
