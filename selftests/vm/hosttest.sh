#!/usr/bin/bash
# The real-host profile, inside the test VM (make hosttest boots it with
# run-kselftest.sh): Debian's kernel, pure cgroup v2, vhost_vsock and
# katasbx.ko loaded, the build and the host's tools over the 9p host root.
# The runtime runs here as on our users' hosts: the vsock channel, template
# memory in /dev/katasbx, each sandbox in its cgroup v2, beside Debian's runc.
# QEMU runs nested under TCG here: few sandboxes, long timeouts. TAP.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# the build tree this script was copied from (make hosttest writes it)
. "$(dirname "$0")/hosttest.conf"
RT=$KX_BUILD/bin/katasbx-runtime
WORK=/tmp/hosttest
ROOT=$WORK/state
mkdir -p "$WORK"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "#   $l"; done
}
# TCG: this VM's CPU shows vmx where its host's QEMU emulates one, and a nested
# KVM there does not run a guest
# Each command bounded: one that hangs is a failure with what was running, not
# a test VM killed with nothing said (KSFT_TEST_TIMEOUT)
rt() { timeout -k 10 400 "$RT" --root "$ROOT" --boot-timeout 300000 --accel tcg "$@"; }
runc_() { timeout -k 10 120 runc --root "$WORK/runc" "$@"; }
note() { echo "# $(date +%T) $*"; }
# what the guest runs and holds, for a failure's lines
diag() {
	ps -eo pid,ppid,stat,etimes,rss,args | grep -E 'katasbx|qemu|runc|sleep' | grep -v grep | cut -c1-150
	grep -E 'MemFree|MemAvailable' /proc/meminfo | tr -s ' '
	for f in "$ROOT"/*/console.log; do [ -f "$f" ] && echo "$f: $(tail -n 1 "$f")"; done
}
counter() { sed -n "s/^$1 //p" /sys/kernel/debug/katasbx/counters; }

# a runc spec bundle over a bare busybox rootfs
BASE=$WORK/base
mkdir -p "$BASE/rootfs/bin"
cp /bin/busybox "$BASE/rootfs/bin/busybox"
for a in $("$BASE/rootfs/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$BASE/rootfs/bin/$a"
done
(cd "$BASE" && runc spec) || not_ok "runc spec"
mkcase() { # NAME FILTER
	mkdir -p "$WORK/$1"
	cp -a "$BASE/rootfs" "$WORK/$1/rootfs"
	jq ".process.terminal = false | $2" "$BASE/config.json" >"$WORK/$1/config.json"
	echo "$WORK/$1"
}
A=.process.args
# 64 MiB and 1 CPU: the default VM (256 MiB, 1 vCPU) holds it, so the first run's
# template serves it too; a nested TCG guest held to less than its vCPU answers too
# slowly for the monitor's deadlines
LIMITS='.linux.resources = {"memory": {"limit": 67108864}, "cpu": {"quota": 100000, "period": 100000}}'
OVERHEAD_MIB=$(sed -n 's/^#define KX_SANDBOX_OVERHEAD_MIB \([0-9]*\).*/\1/p' "$KX_SRC/userspace/lib/config.h")

out=$(rt check --no-boot 2>&1)
if echo "$out" | grep -q '^/dev/katasbx: *present' && echo "$out" | grep -q '^host cgroups: *cgroup v2' &&
	echo "$out" | grep -q '^channel: *vsock' &&
	echo "$out" | grep -q '^vsock CIDs: *leased from /dev/katasbx' &&
	echo "$out" | grep -q '^templates: *on, memory in /dev/katasbx'; then
	ok "check: vsock, CIDs and template memory from /dev/katasbx, cgroup v2 ($(echo "$out" | grep -E '^(channel|vsock CIDs|templates|host cgroups):' | tr -s ' ' | tr '\n' ';'))"
else
	not_ok "check: vsock, CIDs and template memory from /dev/katasbx, cgroup v2" "$out"
fi

# the first sandbox makes the template (a nested boot: minutes), in the module
note "first run: the template boots"
d=$(mkcase first "$A = [\"echo\", \"hello over vsock\"]")
out=$(rt run --keep --bundle "$d" first 2>"$WORK/err" </dev/null)
rc=$?
st=$(cat "$ROOT/first/state.json" 2>/dev/null)
if [ $rc = 0 ] && [ "$out" = "hello over vsock" ] && [ "$(echo "$st" | jq -r .channel)" = vsock ] &&
	[ "$(echo "$st" | jq -r .boot)" != cold ] && [ "$(counter templates)" -ge 1 ]; then
	ok "run over vsock, cloned from a template in /dev/katasbx ($(echo "$st" | jq -r .boot), $(counter templates) template(s))"
else
	not_ok "run from a module template" "exit $rc, out '$out'" "$(tail -n 3 "$WORK/err")" "$st" \
		"$(tail -n 5 "$ROOT"/.templates/*/console.log 2>&1)"
fi
rt delete first
note "first run done"

# cgroup v2 placement: where runc puts the same bundle's container, with the limits plus the overhead
d=$(mkcase placed "$A = [\"sleep\", \"600\"] | $LIMITS | .linux.cgroupsPath = \"/kx/placed\"")
# --no-pivot: this VM's root is its initramfs, where pivot_root cannot be
note "runc runs the same bundle in /kx/placed"
(cd "$d" && runc_ run --no-pivot -d r-placed >/dev/null 2>"$WORK/runc.err" </dev/null)
rpid=$(runc_ state r-placed | jq -r .pid)
want=$(cat "/proc/$rpid/cgroup" 2>/dev/null)
rmax=$(cat /sys/fs/cgroup/kx/placed/memory.max 2>/dev/null)
rcpu=$(cat /sys/fs/cgroup/kx/placed/cpu.max 2>/dev/null)
runc_ delete -f r-placed
note "katasbx runs it"
rt --debug --log "$WORK/placed.log" run -d --bundle "$d" placed </dev/null >/dev/null 2>"$WORK/err"
note "katasbx runs it: exit $?, $(jq -r .boot "$ROOT/placed/state.json" 2>&1)"
q=$(jq -r .qemu_pid "$ROOT/placed/state.json" 2>/dev/null)
m=$(rt state placed 2>/dev/null | jq -r .pid)
if [ "$want" = "0::/kx/placed" ] && [ "$(cat "/proc/$q/cgroup" 2>&1)" = "$want" ] &&
	[ "$(cat "/proc/$m/cgroup" 2>&1)" = "$want" ]; then
	ok "QEMU and the monitor in runc's cgroup v2 ($want)"
else
	not_ok "QEMU and the monitor in runc's cgroup" "runc: $want" "QEMU: $(cat "/proc/$q/cgroup" 2>&1)" \
		"monitor: $(cat "/proc/$m/cgroup" 2>&1)" "$(tail -n 2 "$WORK/err")" "runc: $(tail -n 1 "$WORK/runc.err")" \
		"$(cat /sys/fs/cgroup/kx/placed/memory.events 2>&1 | tr '\n' ' ')" "$(diag)" \
		"$(tail -n 15 "$WORK/placed.log" | cut -c1-200)"
fi
kmax=$(cat /sys/fs/cgroup/kx/placed/memory.max 2>/dev/null)
kcpu=$(cat /sys/fs/cgroup/kx/placed/cpu.max 2>/dev/null)
if [ "$rmax" = 67108864 ] && [ "$kmax" = $((rmax + OVERHEAD_MIB * 1048576)) ] &&
	[ "$rcpu" = "100000 100000" ] && [ "$kcpu" = "125000 100000" ]; then
	ok "memory.max and cpu.max: runc's plus the overhead ($kmax, $kcpu)"
else
	not_ok "limits on the host" "runc: $rmax, $rcpu" "katasbx: $kmax, $kcpu"
fi
out=$(rt exec placed sh -c 'cat /sys/fs/cgroup/memory.max' 2>&1)
if [ "$out" = 67108864 ]; then
	ok "exec: the container's own limit in the guest ($out)"
else
	not_ok "exec" "$out" "$(diag)"
fi
h=$(rt events --stats placed 2>&1 | jq -c .data.sandbox_host 2>&1)
if [ "$(echo "$h" | jq -r .memory.usage)" -gt 0 ] && [ "$(echo "$h" | jq -r .memory.limit)" = "$kmax" ]; then
	ok "events --stats: the host cgroup ($h)"
else
	not_ok "events --stats: the host cgroup" "$h"
fi

# a second sandbox at once; kill -9 of its monitor frees what it held
note "a second sandbox"
d2=$(mkcase second "$A = [\"sleep\", \"600\"]")
rt run -d --bundle "$d2" second </dev/null >/dev/null 2>"$WORK/err"
q2=$(jq -r .qemu_pid "$ROOT/second/state.json" 2>/dev/null)
c1=$(tr '\0' ' ' <"/proc/$q/cmdline" | grep -o 'guest-cid=[0-9]*')
c2=$(tr '\0' ' ' <"/proc/$q2/cmdline" 2>/dev/null | grep -o 'guest-cid=[0-9]*')
if [ -n "$c1" ] && [ -n "$c2" ] && [ "$c1" != "$c2" ] && [ "$(counter cids_in_use)" = 2 ]; then
	ok "two sandboxes at once, distinct CIDs leased from the module ($c1, $c2)"
else
	not_ok "two sandboxes, distinct CIDs" "$c1 / $c2, leased $(counter cids_in_use)" "$(tail -n 2 "$WORK/err")" \
		"$(diag)"
fi
if [ "$(rt state second | jq -r .status)" = running ] && [ "$(cat "/proc/$q2/cgroup" 2>&1)" = "0::/second" ]; then
	ok "a second sandbox at once, in its own cgroup (0::/second)"
else
	not_ok "a second sandbox" "$(cat "/proc/$q2/cgroup" 2>&1)" "$(tail -n 2 "$WORK/err")"
fi
m2=$(rt state second | jq -r .pid)
kill -9 "$m2"
for _ in $(seq 100); do kill -0 "$q2" 2>/dev/null || break; sleep 0.1; done
rt delete second 2>"$WORK/err"
if ! kill -0 "$q2" 2>/dev/null && [ ! -d /sys/fs/cgroup/second ] && [ "$(counter cids_in_use)" = 1 ]; then
	ok "kill -9 of a monitor: QEMU gone and its CID freed (1 leased, the other sandbox's), delete removes its cgroup"
else
	not_ok "kill -9 of a monitor frees what it held" "cgroup: $(ls -d /sys/fs/cgroup/second 2>&1)" \
		"CIDs leased: $(counter cids_in_use)" "$(cat "$WORK/err")"
fi
rt delete -f placed
if [ ! -d /sys/fs/cgroup/kx/placed ] && [ -z "$(pgrep -f "$ROOT/")" ]; then
	ok "delete -f: the cgroup gone, no QEMU or monitor left"
else
	not_ok "delete -f leaves nothing" "$(ls -d /sys/fs/cgroup/kx/placed 2>&1)" "$(pgrep -af "$ROOT/")"
fi
rmdir /sys/fs/cgroup/kx 2>/dev/null

# with the module's first free CID held by another user of vsock (a bare QEMU),
# vhost-vsock refuses it (EADDRINUSE) and the runtime takes the next lease
lo=$(counter cid_min)
qemu-system-x86_64 -M microvm -accel tcg -nodefaults -no-user-config -display none -S \
	-device "vhost-vsock-device,guest-cid=$lo" >"$WORK/foreign.log" 2>&1 &
foreign=$!
sleep 5
note "a CID held by another QEMU"
d3=$(mkcase cids "$A = [\"echo\", \"next CID\"]")
out=$(rt --debug run --bundle "$d3" cids </dev/null 2>"$WORK/cids.err")
rc=$?
if [ $rc = 0 ] && [ "$out" = "next CID" ] &&
	grep -q "vsock CID $lo is in use on the host (vhost-vsock refused it): the next lease" "$WORK/cids.err" &&
	grep -q "vsock CID $((lo + 1)) leased from /dev/katasbx" "$WORK/cids.err" && [ "$(counter cids_in_use)" = 0 ]; then
	ok "a CID in use elsewhere on the host (EADDRINUSE): the next lease, the sandbox runs; none left after"
else
	not_ok "EADDRINUSE: the next lease" "exit $rc, out '$out', leased: $(counter cids_in_use)" \
		"$(tail -n 12 "$WORK/cids.err")" "foreign QEMU: $(tail -n 3 "$WORK/foreign.log")"
fi
kill "$foreign"; wait "$foreign" 2>/dev/null

# the shim under a private containerd: a task with a cgroups path runs over vsock with a
# CID leased from the module, from the runtime's template, in its cgroup v2; delete
# frees both
note "the shim under containerd"
SH=$WORK/shim
mkdir -p "$SH"
cat >"$SH/config.toml" <<TOML
version = 2
root = "$SH/root"
state = "$SH/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SH/c.sock"
[ttrpc]
  address = ""
TOML
printf 'accel = tcg\nboot_timeout_ms = 300000\ntemplate_dir = %s\n' "$ROOT/.templates" >"$SH/katasbx.conf"
PATH=$KX_BUILD/bin:$PATH KATASBX_CONFIG=$SH/katasbx.conf KATASBX_SHIM_SOCKET_DIR=$SH/s \
	KATASBX_SHIM_ROOT=$SH/k containerd --config "$SH/config.toml" >"$SH/containerd.log" 2>&1 &
cpid=$!
c() { timeout -k 10 400 ctr --address "$SH/c.sock" "$@"; }
for _ in $(seq 100); do c version >/dev/null 2>&1 && break; sleep 0.2; done
d5=$(mkcase shimtask "$A = [\"sleep\", \"600\"]")
# a pod's sandbox (CRI's annotations), whose Stats are its host cgroup's
c run -d --runtime io.containerd.katasbx.v2 --cgroup /kx/shimtask \
	--annotation io.kubernetes.cri.container-type=sandbox \
	--annotation io.kubernetes.cri.sandbox-id=shimtask \
	--rootfs "$d5/rootfs" shimtask sleep 600 >"$SH/run.out" 2>&1
qs=$(jq -r .qemu_pid "$SH/k/default/shimtask/state.json" 2>/dev/null)
out=$(c task exec --exec-id e1 shimtask sh -c 'echo exec over vsock' 2>&1)
if [ "$out" = "exec over vsock" ] && [ "$(cat "/proc/$qs/cgroup" 2>&1)" = "0::/kx/shimtask" ] &&
	[ "$(counter cids_in_use)" = 1 ] && [ "$(jq -r .channel "$SH/k/default/shimtask/state.json")" = vsock ]; then
	ok "the shim: a task over vsock, its CID leased, QEMU in its cgroup v2 (0::/kx/shimtask), exec"
else
	not_ok "the shim's task on this host" "run: $(tail -n 2 "$SH/run.out")" "exec: $out" \
		"QEMU $qs: $(cat "/proc/$qs/cgroup" 2>&1)" "CIDs leased: $(counter cids_in_use)" \
		"$(grep -i katasbx "$SH/containerd.log" | tail -n 4 | cut -c1-200)" "$(diag)"
fi
cpu_usec() { awk '$1 == "usage_usec" { print $2 }' /sys/fs/cgroup/kx/shimtask/cpu.stat; }
before=$(cpu_usec)
m=$(c task metrics --format json shimtask 2>&1)
after=$(cpu_usec)
got=$(echo "$m" | jq -c '[.cpu.usage_usec, .memory.usage, .memory.anon, .pids.current]' 2>&1)
if [ -n "$before" ] && [ "$(echo "$m" | jq --argjson b "$before" --argjson a "$after" \
	'.cpu.usage_usec >= $b and .cpu.usage_usec <= $a and .memory.anon > 1048576 and
	 .memory.usage >= .memory.anon and .pids.current > 1' 2>&1)" = true ]; then
	ok "the sandbox task's Stats: its host cgroup v2 (cpu $before <= usec <= $after; usage, anon, pids: $got)"
else
	not_ok "the sandbox task's Stats from its host cgroup" "host cpu $before .. $after" "$got" \
		"$(echo "$m" | head -c 400)"
fi
c task kill -s SIGKILL shimtask >/dev/null 2>&1
for _ in $(seq 100); do kill -0 "$qs" 2>/dev/null || break; sleep 0.2; done
c task delete shimtask >/dev/null 2>&1
c container rm shimtask >/dev/null 2>&1
if ! kill -0 "$qs" 2>/dev/null && [ ! -d /sys/fs/cgroup/kx/shimtask ] && [ "$(counter cids_in_use)" = 0 ]; then
	ok "the shim's task deleted: QEMU gone, its cgroup removed, its CID freed"
else
	not_ok "the shim's task deleted leaves nothing" "QEMU: $(kill -0 "$qs" 2>&1 && echo running)" \
		"$(ls -d /sys/fs/cgroup/kx/shimtask 2>&1)" "CIDs leased: $(counter cids_in_use)"
fi
kill "$cpid"; wait "$cpid" 2>/dev/null
rmdir /sys/fs/cgroup/kx 2>/dev/null

# the module's templates go, so that it can be unloaded after the tests
rt template destroy --all >/dev/null 2>&1
[ "$(counter templates)" = 0 ] && ok "template destroy --all: none left in the module" ||
	not_ok "templates destroyed" "$(counter templates) left"
echo "1..$n"
