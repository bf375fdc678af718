#!/bin/bash
# Warm pool end to end: a keeper (katasbx-runtime pool) keeps VMs ready,
# run takes one and makes it the container's (its bundle, identity, exit
# status), the pool refills, mismatches and --warm off clone as before, and
# nothing is left behind by a crashed monitor, a stopped keeper or a killed
# holder. Prints TAP and a last line "pool: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=pool
. "$here/selftests/lib/e2e.sh"

POOL=$ROOT/.pool
kp=

qemu_of() { sed -n 's/.*"qemu_pid":\([0-9]*\).*/\1/p' "$ROOT/$1/state.json" 2>/dev/null; }
nready() { find "$POOL" -mindepth 2 -maxdepth 2 -name claim.sock 2>/dev/null | wc -l; }
vms() { (cd "$POOL" 2>/dev/null && ls -d vm-* 2>/dev/null); }

# wait_pool N: until N VMs are ready (60 s at most, less if the keeper is gone)
pool_settled() { [ "$(nready)" -ge "$1" ] || { [ -n "$kp" ] && gone "$kp"; }; }
wait_pool() { wait_for 60 pool_settled "$1"; [ "$(nready)" -ge "$1" ]; }
keeper_settled() { grep -q '^ready: ' "$1" || gone "$kp"; }

# start_keeper NAME SIZE: a keeper in the background, its pid in $kp; 1 if no "ready:" in 180 s
start_keeper() {
	"$RT" --root "$ROOT" --debug --log "$WORK/$1.log" pool --size "$2" \
		>"$WORK/$1.out" 2>"$WORK/$1.err" </dev/null &
	kp=$!
	wait_for 180 keeper_settled "$WORK/$1.out"
	grep -q '^ready: ' "$WORK/$1.out"
}

# stop_keeper: SIGTERM, then its exit status in $krc (255: still running after 60 s)
stop_keeper() {
	krc=255
	[ -n "$kp" ] || return
	kill -TERM "$kp" 2>/dev/null
	if wait_for 60 gone "$kp"; then
		wait "$kp"
		krc=$?
	else
		kill -KILL "$kp" 2>/dev/null
	fi
	kp=
}

# Nothing of the suite may outlive it, failed tests or not: the keeper, its
# holders and their QEMUs, monitors, bind mounts of bundles into warm VMs.
pool_cleanup() {
	local m
	[ -n "$kp" ] && kill -TERM "$kp" 2>/dev/null && wait_for 20 gone "$kp"
	for id in $(rt list -q 2>/dev/null); do rt delete --force "$id" >/dev/null 2>&1; done
	pkill -KILL -f "$WORK/" 2>/dev/null
	for m in $(mounts_under "$WORK" | sort -r); do umount -l "$m" 2>/dev/null; done
	rm -rf "$WORK"
}
trap pool_cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "TAP version 13"

# --- the keeper ---------------------------------------------------------------------
if start_keeper keeper 2; then
	ok "pool --size 2: $(cat "$WORK/keeper.out")"
else
	not_ok "keeper ready within 180 s" "$(cat "$WORK/keeper.out" "$WORK/keeper.err")" \
		"$(tail -n 5 "$WORK/keeper.log" 2>/dev/null)"
	finish pool
	exit
fi
[ "$(nready)" -eq 2 ] && [ "$(vms | wc -l)" -eq 2 ] \
	&& ok "two VMs wait in $POOL, each with its claim.sock" || not_ok "pool dirs" "$(ls -R "$POOL")"
out=$(rt template create 2>&1)
key=${out%% *}
[ "$out" = "$key exists" ] || not_ok "the keeper's template" "$out"

# --- a warm run -----------------------------------------------------------------------
b=$(bundle w1 '"sh", "-c", "uname -r; echo to-stderr >&2; exit 7"')
rt --debug --log "$WORK/w1.log" run --keep --bundle "$b" w1 >"$WORK/o" 2>"$WORK/e" </dev/null; rc=$?
if [ $rc -eq 7 ] && [ "$(cat "$WORK/o")" = "$GUEST_RELEASE" ] && [ "$(cat "$WORK/e")" = to-stderr ] &&
   [ "$(boot_of w1)" = "warm:$key" ] && grep -q "phase claimed" "$WORK/w1.log"; then
	ok "a warm run: stdout, stderr and exit 7 ($(boot_of w1))"
else
	not_ok "warm run" "rc=$rc boot=$(boot_of w1) key=$key" "$(cat "$WORK/o")" "$(cat "$WORK/e")" \
		"$(grep phase "$WORK/w1.log")"
fi
qpid=$(sed -n 's/.*phase claimed.*(pid \([0-9]*\)).*/\1/p' "$WORK/w1.log")
[ -n "$qpid" ] && wait_for 10 gone "$qpid"
[ -n "$qpid" ] && gone "$qpid" && [ ! -e "$ROOT/w1/vm" ] && [ -z "$(mounts_under "$ROOT")" ] \
	&& ok "when the container exits, its VM stops and the VM's directory and bind mount go" \
	|| not_ok "after run" "QEMU '$qpid': $(ps -o args= -p "${qpid:-1}" | cut -c 1-80)" \
		"$(ls "$ROOT/w1/vm" 2>&1)" "$(mounts_under "$ROOT")"
rt delete w1

# --- each container its own bundle --------------------------------------------------
wait_pool 2
for c in A B; do
	b=$(bundle own$c '"sh", "-c", "cat /who > /seen; sleep 1000"')
	echo "bundle-$c" >"$b/rootfs/who"
done
rt run --keep -d --bundle "$WORK/ownA" ownA </dev/null >/dev/null 2>"$WORK/eA" &
pa=$!
rt run --keep -d --bundle "$WORK/ownB" ownB </dev/null >/dev/null 2>"$WORK/eB"; rb=$?
wait $pa; ra=$?
wait_for 20 test -s "$WORK/ownA/rootfs/seen"
wait_for 20 test -s "$WORK/ownB/rootfs/seen"
sa=$(cat "$WORK/ownA/rootfs/seen" 2>/dev/null); sb=$(cat "$WORK/ownB/rootfs/seen" 2>/dev/null)
if [ $ra -eq 0 ] && [ $rb -eq 0 ] && [ "$sa" = bundle-A ] && [ "$sb" = bundle-B ] &&
   [ "$(boot_of ownA)" = "warm:$key" ] && [ "$(boot_of ownB)" = "warm:$key" ]; then
	ok "two concurrent warm containers each read and write their own bundle"
else
	not_ok "own bundle" "rc $ra $rb, A saw '$sa' (${WORK}/ownA), B saw '$sb'" \
		"boots $(boot_of ownA) $(boot_of ownB)" "$(cat "$WORK/eA" "$WORK/eB")"
fi
m=$(mounts_under "$ROOT" | sort | tr '\n' ' ')
[ "$m" = "$ROOT/ownA/vm/share/rootfs $ROOT/ownB/vm/share/rootfs " ] \
	&& ok "each warm container's bundle is bound in its own VM directory" || not_ok "binds" "$m"

# --- refill ---------------------------------------------------------------------------
if wait_pool 2; then
	ok "after two claims the pool refills: 2 claim.sock again ($(vms | tr '\n' ' '))"
else
	not_ok "refill within 60 s" "$(nready) ready: $(vms | tr '\n' ' ')" "$(tail -n 5 "$WORK/keeper.log")"
fi
rt delete --force ownA
rt delete --force ownB

# --- identity ---------------------------------------------------------------------------
wait_pool 2
b=$(bundle host1 '"hostname"')
sed -i 's/"hostname": "katasbx"/"hostname": "warm-host1"/' "$b/config.json"
b=$(bundle noname '"hostname"')
sed -i '/"hostname": "katasbx",/d' "$b/config.json"
h1=$(rt run --keep --bundle "$WORK/host1" host1 2>&1 </dev/null)
h2=$(rt run --keep --bundle "$WORK/noname" noname 2>&1 </dev/null)
h3=$(rt --warm off run --keep --bundle "$WORK/noname" noname-clone 2>&1 </dev/null)
if [ "$h1" = warm-host1 ] && [ "$h2" = noname ] && [ "$h3" = noname-clone ] &&
   [ "$(boot_of host1)" = "warm:$key" ] && [ "$(boot_of noname)" = "warm:$key" ] &&
   [ "$(boot_of noname-clone)" = "clone:$key" ]; then
	ok "hostname: config.json's, else the container id, as in a clone"
else
	not_ok "hostname" "'$h1' ($(boot_of host1)) '$h2' ($(boot_of noname))" \
		"clone: '$h3' ($(boot_of noname-clone))"
fi
rt delete host1; rt delete noname; rt delete noname-clone

wait_pool 2
# The pool's VMs restore the template's clock: let the template be at least 5 s old so
# that a guest clock nobody set would be behind by more than the margin below.
age=$(($(date +%s) - $(stat -c %Y "$ROOT/.templates/$key" 2>/dev/null || date +%s)))
[ "$age" -ge 5 ] || sleep $((5 - age))
identity_runs id1 id2
if distinct_random "$r1" "$r2" &&
   [ "$(boot_of id1)" = "warm:$key" ] && [ "$(boot_of id2)" = "warm:$key" ]; then
	ok "two warm containers read different bytes from /dev/urandom"
else
	not_ok "urandom" "'$r1' ($(boot_of id1)) '$r2' ($(boot_of id2))"
fi
# the VMs were restored and paused before $before: a clock not set at claim time lags
if clock_near 2 "$before" "$after" "$t1" "$t2"; then
	ok "a warm container's clock is within two seconds of the host's"
else
	not_ok "clock" "guest $t1 $t2, host $before..$after"
fi
rt delete id1; rt delete id2

# --- read-only rootfs -------------------------------------------------------------------
wait_pool 2
b=$(bundle ro '"sh", "-c", "echo x > /written; touch /bin/written; mount -o remount,rw / 2>/dev/null; echo x > /remounted; exit 0"')
sed -i 's/"readonly": false/"readonly": true/' "$b/config.json"
rt run --keep --bundle "$b" ro </dev/null >"$WORK/o" 2>&1; rc=$?
if [ $rc -eq 0 ] && [ "$(boot_of ro)" = "warm:$key" ] && grep -q "Read-only file system" "$WORK/o" &&
   [ ! -e "$b/rootfs/written" ] && [ ! -e "$b/rootfs/bin/written" ]; then
	ok "a read-only rootfs cannot be written by a warm container"
else
	not_ok "read-only rootfs" "rc=$rc boot=$(boot_of ro)" "$(cat "$WORK/o")" "$(ls "$b/rootfs")"
fi
# A clone's 9p export is read-only in QEMU; a pool VM's share is writable (made before the
# claim), so the claimer makes the rootfs's bind mount read-only on the host.
if [ ! -e "$b/rootfs/remounted" ]; then
	ok "a read-only rootfs stays unwritten on the host when the guest remounts it"
else
	not_ok "a read-only rootfs stays unwritten on the host when the guest remounts it" \
		"the container ran 'mount -o remount,rw /' and wrote $b/rootfs/remounted"
fi
rt delete ro

# --- a bind mount of a host path into a warm VM -----------------------------------------
wait_pool 2
mkdir -p "$WORK/wvol" && echo "host data" >"$WORK/wvol/in"
b=$(bundle wbind '"sh", "-c", "cat /data/in; echo from-warm > /data/out"')
add_mounts "$b" "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"$WORK/wvol\",\"options\":[\"rbind\"]}"
out=$(rt run --keep --bundle "$b" wbind 2>"$WORK/e" </dev/null); rc=$?
if [ $rc -eq 0 ] && [ "$out" = "host data" ] && [ "$(cat "$WORK/wvol/out" 2>&1)" = from-warm ] &&
   [ "$(boot_of wbind)" = "warm:$key" ] && [ -z "$(mounts_under "$ROOT")" ]; then
	ok "a warm container binds a host directory; nothing is mounted after it exits"
else
	not_ok "warm bind mount" "rc=$rc boot=$(boot_of wbind) out=$out" "$(cat "$WORK/e")" \
		"mounts: $(mounts_under "$ROOT")"
fi
rt delete wbind

# --- VMs that do not fit, or are not wanted ------------------------------------------------
wait_pool 2
before=$(vms | tr '\n' ' ')
b=$(bundle cold '"echo", "not-warm"')
out=$(rt --warm off run --keep --bundle "$b" off 2>&1 </dev/null); rc=$?
[ $rc -eq 0 ] && [ "$out" = not-warm ] && [ "$(boot_of off)" = "clone:$key" ] && [ "$(vms | tr '\n' ' ')" = "$before" ] \
	&& ok "--warm off clones and leaves the pool alone ($(boot_of off))" \
	|| not_ok "--warm off" "rc=$rc out=$out boot=$(boot_of off)" "pool before: $before, after: $(vms | tr '\n' ' ')"
echo "warm = off" >"$WORK/nowarm.conf"
out=$(KATASBX_CONFIG=$WORK/nowarm.conf rt run --keep --bundle "$b" offconf 2>&1 </dev/null); rc=$?
[ $rc -eq 0 ] && [ "$out" = not-warm ] && [ "$(boot_of offconf)" = "clone:$key" ] &&
   [ "$(vms | tr '\n' ' ')" = "$before" ] \
	&& ok "warm = off in the config file does the same" \
	|| not_ok "warm = off" "rc=$rc out=$out boot=$(boot_of offconf)" "pool after: $(vms | tr '\n' ' ')"
out=$(rt --memory 320 run --keep --bundle "$b" mem 2>&1 </dev/null); rc=$?
k2=$(boot_of mem)
[ $rc -eq 0 ] && [ "$out" = not-warm ] && [ "${k2#clone:}" != "$k2" ] && [ "$k2" != "clone:$key" ] &&
   [ "$(vms | tr '\n' ' ')" = "$before" ] \
	&& ok "--memory 320 (another template key) does not take a VM and runs ($k2)" \
	|| not_ok "--memory 320" "rc=$rc out=$out boot=$k2" "pool before: $before, after: $(vms | tr '\n' ' ')"
rt delete off; rt delete offconf; rt delete mem

# --- a crashed monitor --------------------------------------------------------------------
b=$(bundle crash '"sleep", "1000"')
rt run --keep -d --bundle "$b" crash </dev/null >/dev/null 2>"$WORK/err"
wait_status crash running 10
mpid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$ROOT/crash/state.json")
qpid=$(qemu_of crash)
# made before the sandbox was known, a claimed VM's QEMU moves into the sandbox's host cgroup
if [ "${qpid:-0}" -gt 0 ] && [ "$(grep -c '/crash$' "/proc/$qpid/cgroup")" = "$(wc -l <"/proc/$qpid/cgroup")" ]; then
	ok "a claimed warm VM's QEMU in the sandbox's host cgroup ($(grep memory "/proc/$qpid/cgroup"))"
else
	not_ok "a claimed warm VM's QEMU in the sandbox's host cgroup" "$(cat "/proc/$qpid/cgroup" 2>&1 | tr '\n' ' ')"
fi
if [ "$(boot_of crash)" = "warm:$key" ] && [ -n "$mpid" ] && [ -n "$qpid" ] && [ "$qpid" -gt 0 ] &&
   [ -n "$(mounts_under "$ROOT/crash")" ]; then
	kill -KILL "$mpid"
	wait_for 10 gone "$mpid"
	rt delete --force crash 2>"$WORK/err"; rc=$?
	wait_for 10 gone "$qpid"
	if [ $rc -eq 0 ] && [ ! -e "$ROOT/crash" ] && [ -z "$(mounts_under "$ROOT")" ] && gone "$qpid" &&
		[ -z "$(find /sys/fs/cgroup -maxdepth 6 -type d -name crash)" ]; then
		ok "kill -9 of a warm container's monitor, delete --force: no mount, directory, cgroup or QEMU left"
	else
		not_ok "delete --force after a crash" "rc=$rc $(cat "$WORK/err")" \
			"dir: $(ls "$ROOT/crash" 2>&1)" "mounts: $(mounts_under "$ROOT")" \
			"QEMU $qpid: $(ps -o pid=,args= -p "$qpid" | cut -c 1-80)"
	fi
else
	not_ok "a warm detached container" "boot=$(boot_of crash) monitor=$mpid qemu=$qpid" \
		"$(cat "$WORK/err")" "mounts: $(mounts_under "$ROOT")"
fi

# --- a claimer that dies with the VM in its hands ------------------------------------------
# It claims (the holder hands over QEMU's pidfd and connections) and exits before it could
# record or stop the VM: the holder stops it, as a clone's QEMU dies with its monitor.
wait_pool 2
vm=$(vms | head -n 1)
out=$(python3 - "$POOL/$vm/claim.sock" "$key" <<'PY'
import array, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(("claim %s\n" % sys.argv[2]).encode())
msg, anc, _, _ = s.recvmsg(256, socket.CMSG_SPACE(3 * 4))
fds = array.array("i")
for level, kind, data in anc:
    fds.frombytes(data[:len(data) - len(data) % 4])
print(msg.decode().strip(), len(fds))
PY
)
qc=$(echo "$out" | awk '$1 == "ok" { print $2 }')
if [ -n "$qc" ] && [ "$(echo "$out" | awk '{ print $NF }')" = 3 ] && wait_for 10 gone "$qc" &&
   wait_for 10 eval '[ ! -e "$POOL/$vm" ]'; then
	ok "a claimer that dies before taking over: the holder stops the VM and removes its directory"
else
	not_ok "a claimer that dies" "answer: $out" "QEMU $qc: $(ps -o pid=,args= -p "${qc:-1}" | cut -c 1-80)" \
		"$POOL/$vm: $(ls "$POOL/$vm" 2>&1 | tr '\n' ' ')"
fi
wait_pool 2

# --- usage -----------------------------------------------------------------------------------
"$RT" --root "$WORK/badroot" --kernel /nonexistent pool --size 1 >"$WORK/o" 2>"$WORK/e" </dev/null
rc=$?
[ $rc -eq 1 ] && grep -q "the first 3 VMs failed to start" "$WORK/e" && [ -z "$(ls "$WORK/badroot/.pool" | grep vm-)" ] \
	&& ok "a keeper whose VMs cannot start gives up: $(tail -n 1 "$WORK/e")" \
	|| not_ok "a keeper whose VMs cannot start" "rc=$rc" "$(cat "$WORK/e")"
"$RT" --root "$ROOT" pool --size 1 >"$WORK/o" 2>"$WORK/e" </dev/null &
p2=$!
if wait_for 20 gone $p2; then
	wait $p2; rc=$?
	[ $rc -ne 0 ] && grep -q "a pool keeper already runs for $ROOT" "$WORK/e" && [ ! -s "$WORK/o" ] \
		&& ok "a second keeper on the root fails (rc=$rc: $(cat "$WORK/e"))" \
		|| not_ok "second keeper" "rc=$rc" "$(cat "$WORK/o" "$WORK/e")"
else
	kill -KILL $p2
	not_ok "second keeper" "still running after 20 s"
fi
for s in 0 x 65 ''; do
	rt pool --size "$s" >"$WORK/o" 2>"$WORK/e" </dev/null; rc=$?
	[ $rc -ne 0 ] && grep -q "use 1 to 64" "$WORK/e" && [ ! -s "$WORK/o" ] \
		&& ok "pool --size '$s' is a usage error ($(cat "$WORK/e"))" \
		|| not_ok "pool --size '$s'" "rc=$rc" "$(cat "$WORK/o" "$WORK/e")"
done
expect_fail "pool with an extra argument is a usage error" "usage: pool" "" rt pool extra

# --- stopping the keeper ----------------------------------------------------------------------
wait_pool 2
b=$(bundle survivor '"sleep", "1000"')
rt run --keep -d --bundle "$b" survivor </dev/null >/dev/null 2>&1
sq=$(qemu_of survivor)
stop_keeper
left=$(vms)
if [ "$krc" -eq 0 ] && [ -z "$left" ]; then
	ok "SIGTERM: the keeper exits 0 and removes its unclaimed VMs' directories"
else
	not_ok "keeper stop" "rc=$krc, left in $POOL: $left" "$(cat "$WORK/keeper.err")"
fi
if [ "$(boot_of survivor)" = "warm:$key" ] && [ -n "$sq" ] && [ "$sq" -gt 0 ] && ! gone "$sq" &&
   rt state survivor | grep -q '"status": "running"'; then
	ok "a claimed VM keeps running after its keeper stopped"
else
	not_ok "claimed VM after keeper stop" "boot=$(boot_of survivor) qemu=$sq" "$(rt state survivor 2>&1)"
fi
rt delete --force survivor
[ -n "$sq" ] && [ "$sq" -gt 0 ] && wait_for 10 gone "$sq"
if pgrep -f "$WORK/" >/dev/null || [ -n "$(mounts_under "$ROOT")" ]; then
	not_ok "after the keeper stopped: no QEMU, holder or mount of the suite left" \
		"$(pgrep -af "$WORK/" | cut -c 1-120)" "$(mounts_under "$ROOT")"
else
	ok "after the keeper stopped: no QEMU, holder or mount of the suite left"
fi

# --- killed holders -----------------------------------------------------------------------
# Holder 1 is killed under a running keeper; holder 2 together with its keeper (stopped
# first, so that it cannot clean up on the keeper's death): both leave stale directories.
if start_keeper keeper2 1; then
	d1=$(vms)
	h1=$(pgrep -P "$kp" | head -n 1)
	q1=$(pgrep -P "$h1" | head -n 1)
	kill -KILL "$h1"
	if [ -n "$q1" ] && wait_for 10 gone "$q1"; then
		ok "kill -9 of a holder: its QEMU dies with it"
	else
		not_ok "holder's QEMU" "holder $h1 qemu '$q1'" "$(pgrep -af "$WORK/" | cut -c 1-120)"
	fi
	if wait_for 10 eval '[ ! -e "$POOL/$d1" ]'; then
		ok "the running keeper removes a killed holder's directory"
	else
		not_ok "killed holder's directory" "$POOL/$d1: $(ls "$POOL/$d1" 2>&1 | tr '\n' ' ')"
	fi
	wait_pool 1
	d2=$(vms | grep -vx "$d1")
	h2=$(pgrep -P "$kp" | head -n 1)
	q2=$(pgrep -P "$h2" | head -n 1)
	kill -STOP "$h2"
	kill -KILL "$kp"
	wait "$kp" 2>/dev/null
	kp=
	kill -KILL "$h2"
	[ -n "$q2" ] && wait_for 10 gone "$q2"
	stale=$(vms | tr '\n' ' ')
	if start_keeper keeper3 1 && [ ! -e "$POOL/$d1" ] && [ -n "$d2" ] && [ ! -e "$POOL/$d2" ]; then
		ok "a new keeper removes the directories of killed holders (${stale% })"
	else
		not_ok "stale directories" "before: $stale ($d1, $d2), now: $(vms | tr '\n' ' ')" \
			"$(cat "$WORK/keeper3.err")"
	fi
	stop_keeper
	[ "$krc" -eq 0 ] && [ -z "$(vms)" ] || not_ok "restarted keeper stop" "rc=$krc left: $(vms)"
else
	not_ok "keeper restart" "$(cat "$WORK/keeper2.err")"
fi

if pgrep -f "$WORK/" >/dev/null || [ -n "$(mounts_under "$WORK")" ]; then
	not_ok "no keeper, holder, QEMU, monitor or mount left" "$(pgrep -af "$WORK/" | cut -c 1-120)" \
		"$(mounts_under "$WORK")"
else
	ok "no keeper, holder, QEMU, monitor or mount left"
fi
finish pool
