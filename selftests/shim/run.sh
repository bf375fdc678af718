#!/bin/bash
# The shim under a private containerd (Debian's 1.6): its own root, state,
# socket and FIFO directories under a temp dir, no CRI, no network listener;
# build/bin first on PATH so that containerd finds containerd-shim-katasbx-v2.
# TAP lines, then "shim: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
SHIM=$here/build/bin/containerd-shim-katasbx-v2
RUNTIME=io.containerd.katasbx.v2
GUEST_RELEASE=$(cat "$here/build/guest/kernel-release" 2>/dev/null)
WORK=$(mktemp -d /tmp/katasbx-shim.XXXXXX)
SOCK=$WORK/containerd.sock
cpid=

. "$here/selftests/lib/tap.sh"
summary() { echo "shim: $pass passed, $fail failed$([ "$skip" -gt 0 ] && echo ", $skip skipped")"; }

# processes of this run: shims and QEMUs name $WORK in their command lines
leftovers() { pgrep -f "(containerd-shim-katasbx-v2|qemu-system).*$WORK" 2>/dev/null; }

cleanup() {
	local p
	for p in $(leftovers); do kill -KILL "$p" 2>/dev/null; done
	if [ -n "$cpid" ]; then
		kill "$cpid" 2>/dev/null
		wait "$cpid" 2>/dev/null
	fi
	grep -o "$WORK[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

for tool in containerd ctr; do
	if ! command -v $tool >/dev/null; then
		not_ok "$tool is installed" "run: sh scripts/install-deps.sh test"
		summary
		exit 1
	fi
done
if [ ! -x "$SHIM" ] || [ -z "$GUEST_RELEASE" ]; then
	not_ok "the shim and the guest are built" "run: make"
	summary
	exit 1
fi

export PATH=$here/build/bin:$PATH
# the shim's sockets and state go under $WORK too (containerd passes its environment on)
export KATASBX_SHIM_SOCKET_DIR=$WORK/s KATASBX_SHIM_ROOT=$WORK/shim
cat >"$WORK/config.toml" <<TOML
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = ""
[debug]
  address = ""
  level = "debug"
[metrics]
  address = ""
TOML
containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
cpid=$!
c() { timeout 180 ctr --address "$SOCK" "$@"; }
for _ in $(seq 50); do c version >/dev/null 2>&1 && break; sleep 0.2; done
if ! c version >/dev/null 2>&1; then
	not_ok "private containerd starts" "$(tail -n 3 "$WORK/containerd.log")"
	summary
	exit 1
fi

sh "$here/selftests/lib/mkbundle.sh" "$WORK/bb" '"true"' >/dev/null
ROOTFS=$WORK/bb/rootfs
# kill_and_remove ID: SIGKILL the task, wait (10 s at most) until it is STOPPED, delete it
kill_and_remove() {
	c task kill -s SIGKILL "$1" >/dev/null 2>&1
	for _ in $(seq 100); do
		[ "$(c task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }')" = STOPPED ] && break
		sleep 0.1
	done
	c task delete "$1" >/dev/null 2>&1
	c container delete "$1" >/dev/null 2>&1
}
# run [FLAGS] ID CMD...: flags go before the rootfs, the first positional argument
run() {
	local flags=()
	while [[ $1 == -* ]]; do flags+=("$1"); shift; done
	c run --fifo-dir "$WORK/fifo" --runtime "$RUNTIME" "${flags[@]}" --rootfs "$ROOTFS" "$@"
}

out=$(run --rm uname1 uname -r 2>"$WORK/err")
rc=$?
if [ $rc -eq 0 ] && [ "$out" = "$GUEST_RELEASE" ]; then
	ok "ctr run --rm uname -r prints the guest kernel release ($out)"
else
	not_ok "ctr run --rm uname -r prints the guest kernel release" "rc=$rc out=$out" \
		"$(tail -n 3 "$WORK/err")"
fi

run --rm exit7 sh -c 'echo out; echo err >&2; exit 7' >"$WORK/out" 2>"$WORK/err"
rc=$?
if [ $rc -eq 7 ] && [ "$(cat "$WORK/out")" = out ] && grep -qx err "$WORK/err"; then
	ok "exit status 7 propagates; stdout and stderr stay apart"
else
	not_ok "exit status 7 propagates" "rc=$rc out=$(cat "$WORK/out")" "$(tail -n 3 "$WORK/err")"
fi

out=$(printf 'line one\nline two\n' | run --rm stdin1 sh -c 'cat; echo done' 2>"$WORK/err")
if [ "$out" = "$(printf 'line one\nline two\ndone')" ]; then
	ok "stdin piped in reaches the container, and its EOF"
else
	not_ok "stdin piped in reaches the container" "out=$out" "$(tail -n 3 "$WORK/err")"
fi

# A bind mount of a host directory (ctr --mount): read in the guest, written back.
mkdir -p "$WORK/vol" && echo "host side" >"$WORK/vol/in"
out=$(run --rm --mount="type=bind,src=$WORK/vol,dst=/data,options=rbind:rw" bind1 \
	sh -c 'cat /data/in; echo guest side > /data/out' 2>"$WORK/err")
if [ "$out" = "host side" ] && [ "$(cat "$WORK/vol/out" 2>&1)" = "guest side" ] &&
   ! grep -q "$WORK/state\|$WORK/shim" /proc/mounts; then
	ok "ctr run --mount type=bind: the host directory is read and written in the VM, unmounted after"
else
	not_ok "ctr run --mount type=bind" "out=$out" "$(tail -n 3 "$WORK/err")" \
		"host: $(cat "$WORK/vol/out" 2>&1)"
fi

# containerd's default seccomp profile (ctr run --seccomp): an allowlist with argument
# conditions, loaded in the guest; the container works, and what it leaves out is refused.
SCCMD='echo works; grep Seccomp: /proc/self/status; unshare -r true 2>&1 && echo unshare-ok || echo unshare-refused'
plain=$(run --rm seccomp0 sh -c "$SCCMD" 2>&1)
out=$(run --rm --seccomp seccomp1 sh -c "$SCCMD" 2>"$WORK/err")
if echo "$out" | grep -qx works && echo "$out" | grep -q "Seccomp:.*2" &&
   echo "$out" | grep -qx unshare-refused && echo "$plain" | grep -qx unshare-ok &&
   echo "$plain" | grep -q "Seccomp:.*0"; then
	ok "ctr run --seccomp: containerd's default profile is in force in the guest ($(echo "$out" | grep Seccomp: | tr -s '\t ' ' '))"
else
	not_ok "ctr run --seccomp" "out=$out" "without: $plain" "$(tail -n 3 "$WORK/err")"
fi

# Terminals: ctr -t needs a tty of its own: script(1) gives it one, 33 rows by 77
# columns; ctr sends that size (ResizePty) once the process is started.
# ttyrun SECS CMD: CMD, bounded to SECS, in a fresh pty of that size; its output, with CRs dropped
# and the guest pty's echo "^@" of the NUL script writes at its stdin's EOF.
# script runs CMD with $SHELL, which CI may leave unset (then /bin/sh, which forks
# rather than execs the last command): always /bin/sh here, and CMD's timeout
# stays in the pty's foreground process group, or ctr's raw-mode tcsetattr stops
# it with SIGTTOU.
ttyrun() {
	SHELL=/bin/sh script -qec "stty rows 33 cols 77; timeout --foreground $*" /dev/null \
		</dev/null | tr -d '\r' | sed 's/\^@//g'
	return "${PIPESTATUS[0]}"
}
# the guest side waits for the resize: a pty starts at 0 by 0
TTYCMD='n=0; while [ "$(stty size)" = "0 0" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done; tty; stty size; echo to-stderr >&2'
out=$(ttyrun 180 ctr --address "$SOCK" run -t --rm --fifo-dir "$WORK/fifo" \
	--runtime "$RUNTIME" --rootfs "$ROOTFS" tty1 sh -c "'$TTYCMD; exit 4'" 2>&1)
rc=$?
if [ $rc -eq 4 ] && echo "$out" | grep -qx '/dev/pts/[0-9]*' && echo "$out" | grep -qx '33 77' &&
	echo "$out" | grep -qx to-stderr; then
	ok "ctr run -t: a pty in the guest ($(echo "$out" | grep pts)), resized to 33x77, stderr on it, exit 4"
else
	not_ok "ctr run -t: a pty, resized, exit status" "rc=$rc" "$out"
fi

# A running task: ps, kill with SIGKILL (137), task events in containerd's order.
# (the listener runs until killed below, past the 180 s bound of c)
timeout 900 ctr --address "$SOCK" events >"$WORK/events" 2>&1 &
epid=$!
sleep 0.5
# a cgroup mount (CRI adds one; ctr does not): the Update test reads its limits there
run -d --mount=type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev sleeper sleep 300 >"$WORK/out" 2>&1
st=$(c task ls 2>/dev/null | awk '$1 == "sleeper" { print $3 }')
pid=$(c task ls 2>/dev/null | awk '$1 == "sleeper" { print $2 }')
if [ "$st" = RUNNING ] && c task ps sleeper 2>/dev/null | grep -qw "$pid"; then
	ok "ctr task ls shows the task RUNNING; ctr task ps lists its pid"
else
	not_ok "ctr task ls shows the task RUNNING" "status=$st pid=$pid" "$(cat "$WORK/out")"
fi
# pause and resume: the VM stops (QMP stop) and continues
c task pause sleeper 2>"$WORK/err"
st=$(c task ls 2>/dev/null | awk '$1 == "sleeper" { print $3 }')
if [ "$st" = PAUSED ] && grep -q '"status":"paused"' "$WORK/shim/default/sleeper/state.json"; then
	ok "ctr task pause: ctr task ls shows PAUSED, the monitor's state paused"
else
	not_ok "ctr task pause" "status=$st" "$(cat "$WORK/err")" \
		"$(cat "$WORK/shim/default/sleeper/state.json" 2>&1)"
fi
c task resume sleeper 2>"$WORK/err"
st=$(c task ls 2>/dev/null | awk '$1 == "sleeper" { print $3 }')
if [ "$st" = RUNNING ] && grep -q '"status":"running"' "$WORK/shim/default/sleeper/state.json"; then
	ok "ctr task resume: RUNNING again"
else
	not_ok "ctr task resume" "status=$st" "$(cat "$WORK/err")"
fi
# metrics: the guest cgroup's counters as containerd's cgroups v2 Metrics
c task metrics sleeper >"$WORK/metrics" 2>&1
mem=$(awk '$1 == "memory.usage" { print $2 }' "$WORK/metrics")
npids=$(awk '$1 == "pids.current" { print $2 }' "$WORK/metrics")
cpu=$(awk '$1 == "cpu.usage_usec" { print $2 }' "$WORK/metrics")
if [ "${mem:-0}" -gt 0 ] && [ "${npids:-0}" -ge 1 ] && [ -n "$cpu" ]; then
	ok "ctr task metrics: memory.usage $mem, pids.current $npids, cpu.usage_usec $cpu"
else
	not_ok "ctr task metrics" "$(head -n 12 "$WORK/metrics")"
fi
# exec: a second process in the same VM, its output and exit status
out=$(c task exec --fifo-dir "$WORK/fifo" --exec-id x1 sleeper \
	sh -c 'echo hi; echo oops >&2; cat /proc/1/cmdline | tr "\0" " "; exit 3' \
	</dev/null 2>"$WORK/err")
rc=$?
if [ $rc -eq 3 ] && [ "$out" = "$(printf 'hi\nsleep 300 ')" ] && grep -qx oops "$WORK/err"; then
	ok "ctr task exec: output and stderr apart, exit status 3, in the task's pid namespace"
else
	not_ok "ctr task exec" "rc=$rc out=$out" "$(tail -n 3 "$WORK/err")"
fi
out=$(printf 'to the exec\n' | c task exec --fifo-dir "$WORK/fifo" --exec-id x2 sleeper \
	sh -c 'cat; echo done' 2>"$WORK/err")
if [ "$out" = "$(printf 'to the exec\ndone')" ]; then
	ok "ctr task exec: stdin reaches the exec, and its EOF"
else
	not_ok "ctr task exec stdin" "out=$out" "$(tail -n 3 "$WORK/err")"
fi
out=$(ttyrun 180 ctr --address "$SOCK" task exec -t --fifo-dir "$WORK/fifo" \
	--exec-id t1 sleeper sh -c "'$TTYCMD; exit 6'" 2>&1)
rc=$?
if [ $rc -eq 6 ] && echo "$out" | grep -qx '/dev/pts/[0-9]*' && echo "$out" | grep -qx '33 77' &&
	echo "$out" | grep -qx to-stderr; then
	ok "ctr task exec -t: a pty ($(echo "$out" | grep pts)), resized to 33x77, stderr on it, exit 6"
else
	not_ok "ctr task exec -t: a pty, resized, exit status" "rc=$rc" "$out"
fi
# Update: containerd's UpdateTaskRequest straight to the shim (ctr 1.6 has no
# "task update"); the container reads its limits in its own /sys/fs/cgroup.
update() {
	python3 "$here/selftests/shim/ttrpc_update.py" \
		"$(cat "$WORK/state/io.containerd.runtime.v2.task/default/$1/address")" "$@"
}
limits() {
	c task exec --fifo-dir "$WORK/fifo" --exec-id "$1" sleeper \
		cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max \
		</dev/null 2>&1 | tr '\n' ' '
}
u=$(update sleeper '{"memory":{"limit":67108864},"cpu":{"quota":50000,"period":100000},"pids":{"limit":64}}' 2>&1)
out=$(limits u1)
if [ "$out" = "67108864 50000 100000 64 " ]; then
	ok "Update: memory.max, cpu.max, pids.max in the container's cgroup: $out"
else
	not_ok "Update sets memory.max, cpu.max, pids.max" "update: $u" "limits: $out"
fi
# Stats after it: the limits as containerd's Metrics (CRI's availableBytes is
# usage_limit less the working set), the counters of memory.stat by name
lim=$(c task metrics --format json sleeper 2>&1 |
	jq -c '[.memory.usage_limit, .pids.limit, (.memory.anon > 0), (.memory.file >= 0), (.cpu.user_usec >= 0)]' 2>&1)
if [ "$lim" = "[67108864,64,true,true,true]" ]; then
	ok "ctr task metrics after Update: memory.usage_limit, pids.limit, memory.stat's anon: $lim"
else
	not_ok "ctr task metrics shows the limits" "$lim"
fi
u=$(update sleeper '{"memory":{"limit":-1},"cpu":{"period":200000},"pids":{"limit":-1}}' 2>&1)
out=$(limits u2)
lim=$(c task metrics --format json sleeper 2>&1 | jq -c '[.memory.usage_limit > 1e19, .pids.limit > 1e19]' 2>&1)
if [ "$out" = "max 50000 200000 max " ] && [ "$lim" = "[true,true]" ]; then
	ok "Update: -1 is max, a cpu period alone keeps the quota: $out; Metrics' limits MaxUint64"
else
	not_ok "Update with -1 and a period alone" "update: $u" "limits: $out" "metrics: $lim"
fi
u=$(update sleeper '{"memory":{"limit":"lots"}}' 2>&1)
rc=$?
if [ $rc -ne 0 ] && [ "${u%% *}" = 3 ] && [ "$(limits u3)" = "$out" ]; then
	ok "Update with a malformed limit is InvalidArgument; nothing changes ($u)"
else
	not_ok "Update with a malformed limit is refused" "rc=$rc $u"
fi
c task exec --fifo-dir "$WORK/fifo" -d --exec-id x3 sleeper sleep 300 </dev/null >/dev/null 2>&1
c task exec --fifo-dir "$WORK/fifo" --exec-id x3 sleeper true </dev/null >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc -ne 0 ] && grep -qi "already exists" "$WORK/err"; then
	ok "ctr task exec with a duplicate exec id fails: $(tail -n 1 "$WORK/err")"
else
	not_ok "duplicate exec id" "rc=$rc" "$(tail -n 3 "$WORK/err")"
fi
# The sandbox on the host: QEMU and the monitor in containerd's cgroupsPath
# (/NAMESPACE/ID) in every hierarchy, removed with the task
q=$(jq -r .qemu_pid "$WORK/shim/default/sleeper/state.json")
m=$(jq -r .pid "$WORK/shim/default/sleeper/state.json")
if [ "${q:-0}" -gt 0 ] && [ "$(grep -c ':/default/sleeper$' "/proc/$q/cgroup")" = "$(wc -l <"/proc/$q/cgroup")" ] &&
	[ "$(grep -c ':/default/sleeper$' "/proc/$m/cgroup")" = "$(wc -l <"/proc/$m/cgroup")" ]; then
	ok "the task's QEMU and monitor in containerd's cgroup /default/sleeper ($(wc -l <"/proc/$q/cgroup") hierarchies)"
else
	not_ok "QEMU and monitor in /default/sleeper" "QEMU $q: $(cat "/proc/$q/cgroup" 2>&1 | tr '\n' ' ')" \
		"monitor $m: $(cat "/proc/$m/cgroup" 2>&1 | tr '\n' ' ')"
fi
# the monitor is exec'd (a forked copy of the threaded shim could inherit a held lock)
mcmd=$(tr '\0' ' ' <"/proc/$m/cmdline" 2>&1)
mppid=$(awk '{ print $4 }' "/proc/$m/stat" 2>&1)
if echo "$mcmd" | grep -Eq '^containerd-shim-katasbx-v2 -namespace default (-debug )?monitor sleeper ' &&
	[ "$(stat -Lc %i "/proc/$m/exe")" = "$(stat -Lc %i "$SHIM")" ] &&
	tr '\0' ' ' <"/proc/$mppid/cmdline" | grep -q "containerd-shim-katasbx-v2 .*-id sleeper "; then
	ok "the task's monitor: the shim's child, exec'd as its monitor command ($mcmd)"
else
	not_ok "the monitor is exec'd by the shim" "monitor $m: $mcmd" \
		"parent $mppid: $(tr '\0' ' ' <"/proc/$mppid/cmdline" 2>&1)"
fi
c task kill -s SIGKILL sleeper
for _ in $(seq 100); do
	st=$(c task ls 2>/dev/null | awk '$1 == "sleeper" { print $3 }')
	[ "$st" = STOPPED ] && break
	sleep 0.1
done
c task delete sleeper >/dev/null 2>"$WORK/err"
c container delete sleeper >/dev/null 2>&1
if [ -z "$(find /sys/fs/cgroup -maxdepth 6 -type d -path '*/default/sleeper')" ]; then
	ok "the task's host cgroup gone with it"
else
	not_ok "host cgroup removed" "$(find /sys/fs/cgroup -maxdepth 6 -type d -path '*/default/sleeper')"
fi
# ctr run --memory-limit: the host cgroup has the limit plus the sandbox overhead
overhead=$(sed -n 's/^#define KX_SANDBOX_OVERHEAD_MIB \([0-9]*\).*/\1/p' "$here/userspace/lib/config.h")
run -d --memory-limit=268435456 memcg sleep 300 >"$WORK/out" 2>&1
lim=$(cat "$(find /sys/fs/cgroup -maxdepth 6 -type d -path '*memory*/default/memcg' | head -n 1)/memory.limit_in_bytes" 2>/dev/null ||
	cat /sys/fs/cgroup/default/memcg/memory.max 2>/dev/null)
if [ "$lim" = $((268435456 + overhead * 1048576)) ]; then
	ok "ctr run --memory-limit 256 MiB: the sandbox's host cgroup limited to $lim (plus $overhead MiB)"
else
	not_ok "ctr run --memory-limit on the host" "limit: $lim" "$(cat "$WORK/out")"
fi
kill_and_remove memcg
# a systemd driver's cgroupsPath (containerd's CRI forms it under a .slice parent): refused,
# naming it, with nothing made
run --cgroup=kubepods-pod1.slice:cri-containerd:sd sd true >"$WORK/out" 2>&1; rc=$?
c container rm sd >/dev/null 2>&1
if [ $rc -ne 0 ] && grep -q "systemd's slice:prefix:name" "$WORK/out" &&
	[ -z "$(find /sys/fs/cgroup -maxdepth 6 -name '*slice:cri-containerd:sd')" ] &&
	[ ! -e "$WORK/shim/default/sd" ] && [ -z "$(pgrep -f "qemu-system.*$WORK/shim/default/sd/")" ]; then
	ok "a systemd cgroupsPath is refused with a clear error, nothing made ($(grep -o "is systemd's slice:prefix:name ([^)]*)" "$WORK/out"))"
else
	not_ok "a systemd cgroupsPath refused" "rc=$rc $(tail -n 2 "$WORK/out")"
fi
sleep 1
kill "$epid" 2>/dev/null
wait "$epid" 2>/dev/null
if grep -q '"container_id":"sleeper".*"exit_status":137' "$WORK/events"; then
	ok "ctr task kill -s SIGKILL: the task exits 137"
else
	not_ok "ctr task kill -s SIGKILL: the task exits 137" "status=$st" \
		"$(grep sleeper "$WORK/events" | tail -n 2)"
fi
order=$(grep '"container_id":"sleeper"' "$WORK/events" | awk '{ print $6 }' | tr '\n' ' ')
xorder=$(grep -E '"(exec_)?id":"x1"' "$WORK/events" | awk '{ print $6 }' | tr '\n' ' ')
if [ "$xorder" = "/tasks/exec-added /tasks/exec-started /tasks/exit " ]; then
	ok "ctr events for an exec: $xorder"
else
	not_ok "ctr events for an exec: exec-added, exec-started, exit" "got: $xorder"
fi
order=$(echo "$order" | sed 's#\(/tasks/exec-added /tasks/exec-started /tasks/exit \)*##g')
if [ "$order" = "/tasks/create /tasks/start /tasks/paused /tasks/resumed /tasks/exit /tasks/delete " ]; then
	ok "ctr events: $order"
else
	not_ok "ctr events shows create, start, paused, resumed, exit, delete in order" "got: $order"
fi

# Pods: a container naming a sandbox (CRI annotations) runs in the sandbox's VM.
T=io.kubernetes.cri.container-type
S=io.kubernetes.cri.sandbox-id
BOOT_ID=/proc/sys/kernel/random/boot_id
run -d --annotation=$T=sandbox --annotation=$S=pod1 pod1 sleep 300 >"$WORK/out" 2>&1
sb_boot=$(c task exec --fifo-dir "$WORK/fifo" --exec-id b1 pod1 cat $BOOT_ID </dev/null 2>&1)
solo_boot=$(run --rm solo cat $BOOT_ID 2>&1)
out=$(run --rm --annotation=$T=container --annotation=$S=pod1 pc1 \
	sh -c "cat $BOOT_ID; echo to-stderr >&2; exit 5" 2>"$WORK/err")
rc=$?
if [ $rc -eq 5 ] && [ -n "$sb_boot" ] && [ "$out" = "$sb_boot" ] && [ "$out" != "$solo_boot" ] &&
	grep -qx to-stderr "$WORK/err"; then
	ok "a pod's container runs in its sandbox's VM (boot_id $out, a standalone task's differs); stdout, stderr, exit status 5"
else
	not_ok "a pod's container runs in its sandbox's VM" "rc=$rc out=$out sandbox=$sb_boot" \
		"solo=$solo_boot" "$(tail -n 3 "$WORK/err")" "$(cat "$WORK/out")"
fi
run -d --annotation=$T=container --annotation=$S=pod1 pc2 sleep 300 >"$WORK/out" 2>&1
# grouped by the sandbox id: pc2's start hands over the address of pod1's shim
shims=$(pgrep -fc "containerd-shim-katasbx-v2.*-id pc2 ")
pc2_boot=$(c task exec --fifo-dir "$WORK/fifo" --exec-id b2 pc2 cat $BOOT_ID </dev/null 2>&1)
pc2_init=$(c task exec --fifo-dir "$WORK/fifo" --exec-id b3 pc2 cat /proc/1/cmdline </dev/null 2>&1 |
	tr '\0' ' ')
binds=$(grep -c "$WORK/shim/default/.pods/pod1/" /proc/self/mountinfo)
st=$(c task ls 2>/dev/null | awk '$1 == "pc2" { print $3 }')
if [ "$st" = RUNNING ] && [ "$pc2_boot" = "$sb_boot" ] && [ "$pc2_init" = "sleep 300 " ] &&
	[ "$binds" -ge 2 ] && [ "$shims" = 0 ]; then
	ok "a detached pod container: RUNNING, exec in its own pid namespace, same VM, the sandbox's shim, rootfs bound on the pod's share"
else
	not_ok "a detached pod container" "status=$st boot=$pc2_boot init=$pc2_init" \
		"binds=$binds shims=$shims" "$(cat "$WORK/out")"
fi
# Stats: the sandbox's task answers with its cgroup on the host (the whole VM:
# its CPU time read before and after brackets the one reported), a pod's
# container with its cgroup in the guest (a sleep's memory, not the VM's)
host_cpu_usec() {
	local f
	if grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		awk '$1 == "usage_usec" { print $2 }' "/sys/fs/cgroup$1/cpu.stat"
	else
		f=$(find /sys/fs/cgroup -maxdepth 4 -path "*$1/cpuacct.usage" | head -n 1)
		echo $(($(cat "$f") / 1000))
	fi
}
before=$(host_cpu_usec /default/pod1 2>/dev/null)
sb=$(c task metrics --format json pod1 2>&1 | jq -c '[.cpu.usage_usec, .memory.usage]' 2>&1)
after=$(host_cpu_usec /default/pod1 2>/dev/null)
pc=$(c task metrics --format json pc2 2>&1 | jq -c '[.cpu.usage_usec, .memory.usage]' 2>&1)
sb_cpu=$(echo "$sb" | jq '.[0]' 2>/dev/null)
sb_mem=$(echo "$sb" | jq '.[1]' 2>/dev/null)
pc_mem=$(echo "$pc" | jq '.[1]' 2>/dev/null)
if [ -n "$before" ] && [ -n "$after" ] && [ "${sb_cpu:-0}" -ge "$before" ] &&
	[ "${sb_cpu:-0}" -le "$after" ] && [ "${sb_mem:-0}" -gt $((16 << 20)) ] &&
	[ "${pc_mem:-0}" -gt 0 ] && [ "${pc_mem:-0}" -lt $((16 << 20)) ]; then
	ok "Stats: the sandbox's from its host cgroup (cpu $before <= $sb_cpu <= $after usec, memory $sb_mem), its container's from the guest (memory $pc_mem)"
else
	not_ok "Stats: the sandbox's host cgroup, the container's guest cgroup" \
		"host cpu before=$before after=$after" "sandbox: $sb" "container: $pc"
fi
# A pod's container with a bind mount of a host directory (CRI's volumes, /etc/hosts ...):
# bound on the pod's share under .mounts-ID, read-only here, gone with the task.
out=$(run --rm --annotation=$T=container --annotation=$S=pod1 \
	--mount="type=bind,src=$WORK/vol,dst=/data,options=rbind:ro" pc5 \
	sh -c 'cat /data/in; echo x > /data/w 2>/dev/null || echo ro-refused' 2>"$WORK/err")
if [ "$out" = "$(printf 'host side\nro-refused')" ] && [ ! -e "$WORK/vol/w" ] &&
   ! grep -q "$WORK/shim/default/.pods/pod1/.mounts-pc5" /proc/self/mountinfo &&
   [ ! -e "$WORK/shim/default/.pods/pod1/.mounts-pc5" ]; then
	ok "a pod's container binds a host directory (read-only) through the pod's share; unbound after"
else
	not_ok "a pod's container's bind mount" "out=$out" "$(tail -n 3 "$WORK/err")" \
		"$(ls -a "$WORK/shim/default/.pods/pod1" 2>&1)"
fi

# A pod's container's hooks (a full spec through ctr run --config): prestart, createRuntime,
# poststart, poststop on the host with the state on stdin, in order (the shim runs them:
# the sandbox's monitor runs the sandbox's); createContainer, startContainer in the guest
cat >"$WORK/hook.sh" <<EOF
#!/bin/sh
jq -r --arg k "\$1" '"\\(\$k) \\(.status) \\(.id) \\(.pid != null)"' >>"$WORK/podhooks"
EOF
chmod +x "$WORK/hook.sh"
hook() { printf '{"path": "%s/hook.sh", "args": ["hook.sh", "%s"]}' "$WORK" "$1"; }
ghook() { printf '{"path": "/bin/sh", "args": ["sh", "-c", "echo %s >> /tmp/guest-hooks"]}' "$1"; }
rm -f "$WORK/podhooks"
c oci spec | jq --arg r "$ROOTFS" --arg t "$T" --arg s "$S" \
	--argjson pre "$(hook prestart)" --argjson cr "$(hook createRuntime)" \
	--argjson ps "$(hook poststart)" --argjson po "$(hook poststop)" \
	--argjson cc "$(ghook createContainer)" --argjson sc "$(ghook startContainer)" \
	'.root = {"path": $r, "readonly": true} | .process.terminal = false |
	 .process.args = ["sh", "-c", "cat /tmp/guest-hooks; echo ran"] |
	 .mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}] |
	 .annotations = {($t): "container", ($s): "pod1"} |
	 .hooks = {"prestart": [$pre], "createRuntime": [$cr], "poststart": [$ps], "poststop": [$po],
		   "createContainer": [$cc], "startContainer": [$sc]}' >"$WORK/pc6.json"
out=$(c run --fifo-dir "$WORK/fifo" --runtime "$RUNTIME" --rm --config "$WORK/pc6.json" pc6 \
	2>"$WORK/err" </dev/null)
want=$(printf 'prestart creating pc6 true\ncreateRuntime creating pc6 true\npoststart running pc6 true\npoststop stopped pc6 false')
if [ "$out" = "$(printf 'createContainer\nstartContainer\nran')" ] && [ "$(cat "$WORK/podhooks" 2>&1)" = "$want" ] &&
   [ ! -e "$WORK/shim/default/pc6" ]; then
	ok "a pod's container's six hooks: the host's in order with the state, the guest's in the container"
else
	not_ok "a pod's container's hooks" "out=$out" "hooks: $(cat "$WORK/podhooks" 2>&1)" "$(tail -n 3 "$WORK/err")"
fi

# Namespaces named by path (as CRI names the sandbox's): a pod's container joins the
# sandbox's ipc, uts and pid namespaces in the guest; pc2, naming none, has its own.
NSCMD='readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; tr "\0" " " </proc/1/cmdline; echo'
sb_ns=$(c task exec --fifo-dir "$WORK/fifo" --exec-id n1 pod1 sh -c "$NSCMD" </dev/null 2>&1)
pc2_ns=$(c task exec --fifo-dir "$WORK/fifo" --exec-id n2 pc2 sh -c "$NSCMD" </dev/null 2>&1)
pc4_ns=$(run --rm --annotation=$T=container --annotation=$S=pod1 --with-ns=ipc:/proc/1/ns/ipc \
	--with-ns=uts:/proc/1/ns/uts --with-ns=pid:/proc/1/ns/pid pc4 sh -c "$NSCMD" 2>&1)
if [ -n "$sb_ns" ] && [ "$pc4_ns" = "$sb_ns" ] && [ "$(echo "$sb_ns" | tail -n 1)" = "sleep 300 " ] &&
   [ "$(echo "$pc2_ns" | head -n 1)" != "$(echo "$sb_ns" | head -n 1)" ]; then
	ok "a pod's container naming the sandbox's namespaces joins its ipc, uts and pid namespaces"
else
	not_ok "pod namespaces" "sandbox: $(echo $sb_ns)" "pc4: $(echo $pc4_ns)" "pc2: $(echo $pc2_ns)"
fi
c task kill -s SIGKILL pc2
for _ in $(seq 100); do
	st=$(c task ls 2>/dev/null | awk '$1 == "pc2" { print $3 }')
	[ "$st" = STOPPED ] && break
	sleep 0.1
done
sb_st=$(c task ls 2>/dev/null | awk '$1 == "pod1" { print $3 }')
c task delete pc2 >/dev/null 2>"$WORK/err"
c container delete pc2 >/dev/null 2>&1
binds=$(grep -c "$WORK/shim/default/.pods/pod1/pc2" /proc/self/mountinfo)
if [ "$st" = STOPPED ] && [ "$sb_st" = RUNNING ] && [ "$binds" -eq 0 ]; then
	ok "killing a pod's container leaves its sandbox running; its delete unbinds its rootfs"
else
	not_ok "kill and delete a pod's container" "status=$st sandbox=$sb_st binds=$binds" \
		"$(cat "$WORK/err")"
fi
c task kill -s SIGKILL pod1
for _ in $(seq 100); do
	st=$(c task ls 2>/dev/null | awk '$1 == "pod1" { print $3 }')
	[ "$st" = STOPPED ] && break
	sleep 0.1
done
c task delete pod1 >/dev/null 2>"$WORK/err"
c container delete pod1 >/dev/null 2>&1
sleep 0.5
binds=$(grep -c "$WORK/shim/default/.pods" /proc/self/mountinfo)
if [ "$binds" -eq 0 ] && [ ! -e "$WORK/shim/default/.pods" ] && ! leftovers | grep -q .; then
	ok "after the pod's delete: no mount, share, shim or QEMU left"
else
	not_ok "pod cleanup" "binds=$binds" "$(ls -a "$WORK/shim/default" 2>&1)" \
		"$(leftovers | tr '\n' ' ')" "$(cat "$WORK/err")"
fi

# A pod's container dies with its sandbox's VM: 137, and nothing is left after the deletes.
run -d --annotation=$T=sandbox --annotation=$S=pod2 pod2 sleep 300 >/dev/null 2>&1
run -d --annotation=$T=container --annotation=$S=pod2 pc3 sleep 300 >/dev/null 2>&1
c task kill -s SIGKILL pod2
for _ in $(seq 100); do
	st=$(c task ls 2>/dev/null | awk '$1 == "pc3" { print $3 }')
	[ "$st" = STOPPED ] && break
	sleep 0.1
done
c task delete pc3 >"$WORK/out" 2>"$WORK/err"
c task delete pod2 >>"$WORK/out" 2>>"$WORK/err"
c container delete pc3 pod2 >/dev/null 2>&1
binds=$(grep -c "$WORK/shim/default/.pods" /proc/self/mountinfo)
if [ "$st" = STOPPED ] && grep -q "task pc3 exit with non-zero exit code 137" "$WORK/err" &&
	[ "$binds" -eq 0 ] && [ ! -e "$WORK/shim/default/.pods" ]; then
	ok "a pod's container exits 137 when its sandbox is killed; deletes leave no mount or share"
else
	not_ok "a pod's container dies with its sandbox" "status=$st binds=$binds" \
		"$(cat "$WORK/out" "$WORK/err")"
fi

# A warm pool on the shim's root (its namespace's state directory): a task with a VM of
# its own takes a ready VM instead of cloning one. ctr's specs have a network namespace
# without a path: such a task's VM has one network device for what CNI adds after
# create (--interfaces 1).
"$here/build/bin/katasbx-runtime" --root "$WORK/shim/default" pool --size 1 --interfaces 1 \
	>"$WORK/pool.out" 2>"$WORK/pool.err" </dev/null &
kpid=$!
for _ in $(seq 1800); do
	grep -q '^ready:' "$WORK/pool.out" && break
	kill -0 "$kpid" 2>/dev/null || break
	sleep 0.1
done
run -d warm1 sleep 300 >"$WORK/out" 2>&1
boot=$(sed -n 's/.*"boot":"\([^"]*\)".*/\1/p' "$WORK/shim/default/warm1/state.json" 2>/dev/null)
kill_and_remove warm1
kill -TERM "$kpid"
wait "$kpid"
krc=$?
vms=$(ls "$WORK/shim/default/.pool" 2>/dev/null | grep '^vm-')
if [ "${boot%%:*}" = warm ] && [ $krc -eq 0 ] && [ -z "$vms" ]; then
	ok "with katasbx-runtime pool on the shim's root, ctr run takes a warm VM ($boot)"
	rm -rf "$WORK/shim/default/.pool"
else
	not_ok "a warm VM for the shim" "boot=$boot keeper rc=$krc left: $vms" \
		"$(cat "$WORK/pool.out" "$WORK/out")" "$(tail -n 3 "$WORK/pool.err")"
fi

# Networking. Everything network-side lives in namespaces of this run: ctr itself
# runs in $NETNS-host (so the bridge CNI makes is there, not on the machine), with
# addresses in 10.214.0.0/24 and 10.215.0.0/24 that exist only in them.
NETNS=kxs$$
netns_made=
HTTPD_PORT=8080
mkdir -p "$WORK/www" && echo "served on the bridge side" >"$WORK/www/hello.txt"
net_cleanup() {
	for ns in $netns_made; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${cni_made_conf:-}" ] && rm -rf /etc/cni/net.d
	[ -n "${cni_made_etc:-}" ] && rmdir /etc/cni 2>/dev/null
	[ -n "${cni_made_bin:-}" ] && rm -f /opt/cni/bin
	[ -n "${cni_made_opt:-}" ] && rmdir /opt/cni 2>/dev/null
}
trap 'net_cleanup; cleanup' EXIT
ip netns add "$NETNS-host" && netns_made="$NETNS-host"
ip -n "$NETNS-host" link set lo up
ip netns exec "$NETNS-host" busybox httpd -p "$HTTPD_PORT" -h "$WORK/www"
inhost() { nsenter --net="/run/netns/$NETNS-host" "$@"; }

# ctr run --cni: gocni reads /etc/cni/net.d and runs plugins from /opt/cni/bin, on
# /proc/PID/ns/net of the task's pid after create: the VM's monitor. Debian's plugins
# (bridge, host-local, loopback) through a conflist of ours, made only where the
# machine has no CNI setup of its own (which this test leaves alone).
if [ -e /etc/cni/net.d ] || { [ -e /opt/cni/bin ] && [ ! -x /opt/cni/bin/bridge ]; }; then
	echo "ok $((n + 1)) - ctr run --cni # SKIP this machine has a CNI setup of its own (/etc/cni/net.d or /opt/cni/bin)"
	n=$((n + 1)); skip=$((skip + 1))
elif [ ! -x /usr/lib/cni/bridge ]; then
	not_ok "ctr run --cni" "Debian's containernetworking-plugins are missing: sh scripts/install-deps.sh test"
else
	[ -e /etc/cni ] || cni_made_etc=1
	mkdir -p /etc/cni/net.d && cni_made_conf=1
	if [ ! -e /opt/cni/bin ]; then
		[ -e /opt/cni ] || cni_made_opt=1
		mkdir -p /opt/cni && ln -s /usr/lib/cni /opt/cni/bin && cni_made_bin=1
	fi
	cat >/etc/cni/net.d/10-katasbx-test.conflist <<JSON
{ "cniVersion": "1.0.0", "name": "kxtest",
  "plugins": [ { "type": "bridge", "bridge": "kxbr0", "isGateway": true, "ipMasq": false,
		 "ipam": { "type": "host-local", "dataDir": "$WORK/ipam",
			   "ranges": [ [ { "subnet": "10.214.0.0/24" } ] ],
			   "routes": [ { "dst": "0.0.0.0/0" } ] } } ] }
JSON
	out=$(inhost timeout 180 ctr --address "$SOCK" run --cni --rm --fifo-dir "$WORK/fifo" \
		--runtime "$RUNTIME" --rootfs "$ROOTFS" cni1 sh -c \
		'ip -4 -o addr show dev eth0; ip route; timeout 20 wget -q -O- http://10.214.0.1:'$HTTPD_PORT'/hello.txt' \
		2>"$WORK/err")
	rc=$?
	left=$(ls "$WORK/ipam/kxtest" 2>/dev/null | grep '^10\.' | tr '\n' ' ')
	veths=$(ip -n "$NETNS-host" -o link show master kxbr0 2>/dev/null | wc -l)
	if [ $rc -eq 0 ] && echo "$out" | grep -q 'eth0 *inet 10\.214\.0\.[0-9]*/24' &&
	   echo "$out" | grep -q '^default via 10\.214\.0\.1 dev eth0' &&
	   echo "$out" | grep -qx 'served on the bridge side' && [ -z "$left" ] && [ "$veths" = 0 ]; then
		ok "ctr run --cni: CNI's bridge interface in the VM ($(echo "$out" | grep -o 'inet [0-9./]*')), fetches from the bridge side; after delete no IP held, no veth on the bridge"
	else
		not_ok "ctr run --cni" "rc=$rc" "$out" "ips held: $left veths on the bridge: $veths" \
			"$(tail -n 3 "$WORK/err")"
	fi
fi

# Without --cni, the same spec (a network namespace without a path): lo only, up, as
# runc gives, though the VM has its spare device for what CNI could have added.
out=$(run --rm lo1 sh -c 'ip -o link | wc -l; ip -o addr show lo | awk "{print \$4}"' 2>"$WORK/err")
if [ "$(echo $out)" = "1 127.0.0.1/8 ::1/128" ]; then
	ok "ctr run without --cni: lo only, with 127.0.0.1 and ::1"
else
	not_ok "ctr run without --cni: lo only" "out=$out" "$(tail -n 3 "$WORK/err")"
fi

# A namespace named by path (ctr --with-ns, as CRI names the pod's), its veth made by
# hand: the task's VM gets it; a pod's sandbox gets it and a container of the pod
# shares it; the reverse way, a client in $NETNS-host reaches a server in the VM.
ip netns add "$NETNS-pod" && netns_made="$netns_made $NETNS-pod"
ip -n "$NETNS-pod" link add eth0 type veth peer name kxpod0 netns "$NETNS-host"
ip -n "$NETNS-pod" addr add 10.215.0.2/24 dev eth0
ip -n "$NETNS-host" addr add 10.215.0.1/24 dev kxpod0
ip -n "$NETNS-pod" link set lo up
ip -n "$NETNS-pod" link set eth0 up
ip -n "$NETNS-host" link set kxpod0 up
ip -n "$NETNS-pod" route add default via 10.215.0.1
mac=$(ip -n "$NETNS-pod" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
WITHNS=--with-ns=network:/run/netns/$NETNS-pod
out=$(run --rm "$WITHNS" nsp1 sh -c "cat /sys/class/net/eth0/address; timeout 20 wget -q -O- http://10.215.0.1:$HTTPD_PORT/hello.txt" 2>"$WORK/err")
rc=$?
wired=$(ip -n "$NETNS-pod" -o link show | grep -c kxtap; tc -n "$NETNS-pod" qdisc show dev eth0 | grep -c ingress)
if [ $rc -eq 0 ] && [ "$out" = "$mac
served on the bridge side" ] && [ "$(echo $wired)" = "0 0" ]; then
	ok "ctr run --with-ns network:PATH: the namespace's veth in the VM (MAC $mac), fetches from the far side; after delete no tap or qdisc there"
else
	not_ok "ctr run --with-ns network:PATH" "rc=$rc" "$out" "wired after: $wired" "$(tail -n 3 "$WORK/err")"
fi
run -d "$WITHNS" --annotation=$T=sandbox --annotation=$S=pod2 pod2 \
	sh -c 'echo served by the pod > /tmp/index.html; httpd -f -p 8081 -h /tmp' >"$WORK/out" 2>&1
got=
for _ in $(seq 100); do
	got=$(inhost timeout 5 busybox wget -q -O- http://10.215.0.2:8081/index.html 2>/dev/null) && break
	sleep 0.2
done
out=$(run --rm "$WITHNS" --annotation=$T=container --annotation=$S=pod2 pc3 \
	sh -c 'timeout 20 wget -q -O- http://127.0.0.1:8081/index.html; ip -4 -o addr show dev eth0' 2>"$WORK/err")
rc=$?
if [ "$got" = "served by the pod" ] && [ $rc -eq 0 ] && echo "$out" | grep -qx "served by the pod" &&
   echo "$out" | grep -q 'inet 10\.215\.0\.2/24'; then
	ok "a pod's sandbox on a named namespace serves to a client on the far side; a container of the pod shares its network"
else
	not_ok "a pod's network" "from the far side: $got" "pod container: rc=$rc $out" \
		"$(tail -n 3 "$WORK/err")" "$(cat "$WORK/out")"
fi
kill_and_remove pod2

# Exit code of a foreground ctr run whose task is killed.
run --rm killed sleep 300 >/dev/null 2>&1 &
rpid=$!
for _ in $(seq 300); do
	[ "$(c task ls 2>/dev/null | awk '$1 == "killed" { print $3 }')" = RUNNING ] && break
	sleep 0.1
done
c task kill -s SIGKILL killed
wait "$rpid"
rc=$?
if [ $rc -eq 137 ]; then
	ok "ctr run returns 137 when its task is killed with SIGKILL"
else
	not_ok "ctr run returns 137 when its task is killed with SIGKILL" "rc=$rc"
fi

# Nothing is left: no shim, QEMU, mount, socket or state.
sleep 1
left=$(leftovers | tr '\n' ' ')
mounts=$(grep -c "$WORK" /proc/self/mountinfo)
# the template cache (.templates) is kept on purpose: later tasks clone from it
files=$(find "$WORK/s" "$WORK/shim" -mindepth 1 -not -name default -not -path '*/.templates*' \
	2>/dev/null | head -n 3)
tasks=$(c task ls -q 2>/dev/null | tr '\n' ' ')
if [ -z "$left" ] && [ "$mounts" -eq 0 ] && [ -z "$files" ] && [ -z "$tasks" ]; then
	ok "after task and container delete: no shim, QEMU, mount, socket or state left"
else
	not_ok "nothing left after delete" "processes: $left" "mounts: $mounts" "files: $files" \
		"tasks: $tasks"
fi

summary
[ "$fail" -eq 0 ]
