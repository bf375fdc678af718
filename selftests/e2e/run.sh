#!/bin/bash
# End-to-end tests of katasbx-runtime: real VMs (TCG on hosts without usable
# KVM), real agent, real channel. Prints TAP and a last line "e2e: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/selftests/lib/e2e.sh"

echo "TAP version 13"

# --- run: output, exit codes --------------------------------------------------
# The first run boots a fresh VM (no template); the template suite covers clones.
b=$(bundle uname '"uname", "-r"')
out=$(rt --template off run --keep --bundle "$b" uname 2>"$WORK/err" </dev/null); rc=$?
if [ $rc -eq 0 ] && [ "$out" = "$GUEST_RELEASE" ]; then
	ok "run uname -r prints the guest kernel release ($out; host: $(uname -r))"
else
	not_ok "run uname -r" "rc=$rc out='$out' want '$GUEST_RELEASE'" "$(cat "$WORK/err")"
fi
rt delete uname >/dev/null 2>&1

b=$(bundle streams '"sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7"')
rt run --keep --bundle "$b" streams >"$WORK/o" 2>"$WORK/e" </dev/null; rc=$?
if [ $rc -eq 7 ] && [ "$(cat "$WORK/o")" = to-stdout ] && [ "$(cat "$WORK/e")" = to-stderr ]; then
	ok "run keeps stdout and stderr apart and returns exit 7"
else
	not_ok "stdout/stderr/exit 7" "rc=$rc stdout='$(cat "$WORK/o")' stderr='$(cat "$WORK/e")'"
fi
rt delete streams >/dev/null 2>&1

# The container's process is PID 1 of its pid namespace: only SIGKILL from
# outside (the agent) kills it, as with runc.
b=$(bundle killed '"sh", "-c", "echo up; exec sleep 1000"')
rt run --keep --bundle "$b" killed >"$WORK/killed.out" 2>&1 </dev/null &
kpid=$!
for i in $(seq 1 300); do grep -q up "$WORK/killed.out" 2>/dev/null && break; sleep 0.1; done
rt kill killed KILL
wait $kpid; rc=$?
[ $rc -eq 137 ] && ok "run returns 137 for a container killed by SIGKILL" \
	|| not_ok "SIGKILL gives 137" "rc=$rc $(cat "$WORK/killed.out")"
rt delete killed >/dev/null 2>&1

b=$(bundle procfields '"sh", "-c", "echo $GREETING; pwd; id -u; id -g; id -G; hostname"' \
	'"env": ["PATH=/bin", "GREETING=hello-env"], "cwd": "/tmp", "user": {"uid": 1000, "gid": 1001, "additionalGids": [10, 20]}')
out=$(rt run --keep --bundle "$b" procfields 2>"$WORK/err" </dev/null | tr '\n' ' '); rc=$?
want="hello-env /tmp 1000 1001 1001 10 20 katasbx "
if [ "$out" = "$want" ]; then
	ok "env, cwd, uid, gid, additionalGids and hostname reach the process"
else
	not_ok "process fields" "got '$out'" "want '$want'" "$(cat "$WORK/err")"
fi
rt delete procfields >/dev/null 2>&1

# --- terminal: --console-socket, as runc ------------------------------------
# The runtime sends a pty master to the socket; the monitor relays its slave
# and the container's terminal in the guest; the receiver's resize follows.
b=$(bundle ttyc '"/bin/sh", "/tty.sh"' '"terminal": true')
cat >"$b/rootfs/tty.sh" <<'SH'
n=0
while [ "$(stty size)" = "0 0" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
tty; stty size; read -r line; echo "got $line"; echo to-stderr >&2
SH
rm -f "$WORK/console.sock"
python3 "$here/selftests/e2e/console_socket.py" "$WORK/console.sock" "$WORK/console.out" 40 100 \
	"$(printf 'typed\r')" &
cspid=$!
for i in $(seq 1 50); do [ -S "$WORK/console.sock" ] && break; sleep 0.1; done
rt run --keep -d --console-socket "$WORK/console.sock" --bundle "$b" ttyc >"$WORK/o" 2>"$WORK/err" </dev/null
rc=$?
for i in $(seq 1 600); do kill -0 $cspid 2>/dev/null || break; sleep 0.1; done
kill $cspid 2>/dev/null
wait $cspid
out=$(tr -d '\r' <"$WORK/console.out" 2>/dev/null)
if [ $rc -eq 0 ] && echo "$out" | grep -qx 'name /dev/pts/[0-9]*' &&
	echo "$out" | grep -qx '/dev/pts/[0-9]*' && echo "$out" | grep -qx '40 100' &&
	echo "$out" | grep -qx 'got typed' && echo "$out" | grep -qx to-stderr; then
	ok "run -d --console-socket: the master goes to the socket; a pty in the guest, resized to 40x100, input and output relayed"
else
	not_ok "--console-socket" "rc=$rc $(cat "$WORK/err")" "$out"
fi
rt delete ttyc >/dev/null 2>&1
b=$(bundle ttyno '"true"' '"terminal": true')
rt create --bundle "$b" ttyno >/dev/null 2>"$WORK/err" </dev/null; rc=$?
if [ $rc -ne 0 ] && grep -q "console-socket" "$WORK/err" && ! rt state ttyno >/dev/null 2>&1; then
	ok "create of a terminal without --console-socket fails: $(cat "$WORK/err")"
else
	not_ok "terminal without --console-socket is refused" "rc=$rc $(cat "$WORK/err")"
fi
rt delete ttyno >/dev/null 2>&1

b=$(bundle limits '"sh", "-c", "ulimit -n; grep -E \"^(NoNewPrivs|CapBnd)\" /proc/self/status | tr -s \"\\t \" \" \""' \
	'"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1000}], "noNewPrivileges": true, "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"]}')
out=$(rt run --keep --bundle "$b" limits 2>"$WORK/err" </dev/null | tr '\n' ' ')
want="1000 CapBnd: 0000000000000021 NoNewPrivs: 1 "
[ "$out" = "$want" ] && ok "rlimits, noNewPrivileges and the capability bounding set apply" \
	|| not_ok "rlimits/caps/nnp" "got '$out'" "want '$want'" "$(cat "$WORK/err")"
rt delete limits >/dev/null 2>&1

b=$(bundle stdin '"sh", "-c", "read line; echo got:$line"')
out=$(echo "piped-in" | rt run --keep --bundle "$b" stdin 2>"$WORK/err")
[ "$out" = "got:piped-in" ] && ok "stdin reaches the container" \
	|| not_ok "stdin" "got '$out'" "$(cat "$WORK/err")"
rt delete stdin >/dev/null 2>&1

# --- lifecycle -----------------------------------------------------------------
b=$(bundle life '"sh", "-c", "trap \"exit 0\" TERM; echo started; while :; do sleep 0.1; done"')
if rt create --bundle "$b" --pid-file "$WORK/life.pid" life >"$WORK/life.out" 2>"$WORK/err" </dev/null; then
	ok "create"
else
	not_ok "create" "$(cat "$WORK/err")"
fi
rt state life | grep -q '"status": "created"' && ok "state: created" \
	|| not_ok "state created" "$(rt state life 2>&1)"
pid=$(rt state life | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
[ -n "$pid" ] && [ "$pid" = "$(cat "$WORK/life.pid" 2>/dev/null)" ] && kill -0 "$pid" \
	&& ok "state pid is the live monitor and matches --pid-file" \
	|| not_ok "pid" "state pid '$pid', pid file '$(cat "$WORK/life.pid" 2>/dev/null)'"
rt start life 2>"$WORK/err" && ok "start" || not_ok "start" "$(cat "$WORK/err")"
wait_status life running 5 && ok "state: running" || not_ok "state running" "$(rt state life 2>&1)"
expect_fail "start of a started container fails" "running" "" rt start life
expect_fail "delete of a running container without --force fails" "force" "" rt delete life
for i in $(seq 1 300); do grep -q started "$WORK/life.out" && break; sleep 0.1; done
grep -q started "$WORK/life.out" && ok "a started container writes to create's stdout" \
	|| not_ok "create stdout" "$(cat "$WORK/life.out")"
rt kill life TERM 2>"$WORK/err" && ok "kill TERM" || not_ok "kill TERM" "$(cat "$WORK/err")"
wait_status life stopped 30 && ok "state: stopped after TERM" \
	|| not_ok "state stopped" "$(rt state life 2>&1)"
expect_fail "kill of a stopped container fails" "stopped" "" rt kill life KILL
rt delete life 2>"$WORK/err" && ok "delete" || not_ok "delete" "$(cat "$WORK/err")"
expect_fail "state after delete fails" "does not exist" life rt state life

# --- two at once -------------------------------------------------------------
b1=$(bundle two1 '"sh", "-c", "sleep 1; echo one"')
b2=$(bundle two2 '"sh", "-c", "sleep 1; echo two"')
rt run --keep --bundle "$b1" two1 >"$WORK/two1.out" 2>&1 </dev/null &
p1=$!
rt run --keep --bundle "$b2" two2 >"$WORK/two2.out" 2>&1 </dev/null &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ "$(cat "$WORK/two1.out")" = one ] && [ "$(cat "$WORK/two2.out")" = two ]; then
	ok "two containers run at once"
else
	not_ok "two at once" "rc $r1 $r2: '$(cat "$WORK/two1.out")' '$(cat "$WORK/two2.out")'"
fi
rt delete two1 >/dev/null 2>&1
rt delete two2 >/dev/null 2>&1

# --- pause, resume ------------------------------------------------------------
# A ticking container: while its VM is paused, its output stops growing.
b=$(bundle ticker '"sh", "-c", "while :; do echo tick; sleep 0.05; done"')
rt run --keep -d --bundle "$b" ticker </dev/null >"$WORK/ticker.out" 2>&1
wait_status ticker running 5
for i in $(seq 1 100); do [ -s "$WORK/ticker.out" ] && break; sleep 0.1; done
sleep 0.5
if rt pause ticker 2>"$WORK/err" && rt state ticker | grep -q '"status": "paused"'; then
	ok "pause: state says paused"
else
	not_ok "pause" "$(cat "$WORK/err")" "$(rt state ticker 2>&1)"
fi
s1=$(wc -l <"$WORK/ticker.out"); sleep 1; s2=$(wc -l <"$WORK/ticker.out")
[ "$s1" -eq "$s2" ] && [ "$s1" -gt 0 ] && ok "a paused container runs no more ($s1 lines, then $s2)" \
	|| not_ok "paused container stops" "$s1 lines, 1 s later $s2"
expect_fail "pause of a paused container fails" "paused" "" rt pause ticker
expect_fail "delete of a paused container without --force fails" "force" "" rt delete ticker
if rt resume ticker 2>"$WORK/err" && rt state ticker | grep -q '"status": "running"'; then
	ok "resume: state says running"
else
	not_ok "resume" "$(cat "$WORK/err")" "$(rt state ticker 2>&1)"
fi
sleep 1; s3=$(wc -l <"$WORK/ticker.out")
[ "$s3" -gt "$s2" ] && ok "a resumed container runs again ($s2 lines, then $s3)" \
	|| not_ok "resumed container runs" "$s2 lines, 1 s later $s3"
expect_fail "resume of a running container fails" "not paused" "" rt resume ticker
rt delete --force ticker >/dev/null 2>&1
expect_fail "pause of an unknown id" "does not exist" "" rt pause nosuch

# --- exec ----------------------------------------------------------------------
# A further process in a running container, with exec's own stdio.
b=$(bundle execd '"sleep", "1000"')
rt run --keep -d --bundle "$b" execd </dev/null >/dev/null 2>&1
wait_status execd running 5
rt exec execd sh -c 'echo out; echo err >&2; exit 5' >"$WORK/o" 2>"$WORK/e" </dev/null; rc=$?
if [ $rc -eq 5 ] && [ "$(cat "$WORK/o")" = out ] && [ "$(cat "$WORK/e")" = err ]; then
	ok "exec keeps stdout and stderr apart and returns exit 5"
else
	not_ok "exec stdout/stderr/exit 5" "rc=$rc stdout='$(cat "$WORK/o")' stderr='$(cat "$WORK/e")'"
fi
out=$(rt exec execd sh -c 'hostname; tr "\0" " " </proc/1/cmdline' 2>"$WORK/err" </dev/null | tr '\n' ' ')
want="katasbx sleep 1000 "
[ "$out" = "$want" ] && ok "exec runs in the container: its hostname, its init as PID 1" \
	|| not_ok "exec in the container" "got '$out'" "want '$want'" "$(cat "$WORK/err")"
out=$(rt exec --env GREETING=hi --cwd /tmp --user 12:34 execd sh -c 'echo $GREETING $(pwd) $(id -u) $(id -g) $PATH' \
	2>"$WORK/err" </dev/null)
want="hi /tmp 12 34 /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
[ "$out" = "$want" ] && ok "exec --env, --cwd, --user; PATH by default" \
	|| not_ok "exec --env/--cwd/--user" "got '$out'" "want '$want'" "$(cat "$WORK/err")"
out=$(echo "piped-in" | rt exec execd sh -c 'read line; echo got:$line' 2>"$WORK/err")
[ "$out" = "got:piped-in" ] && ok "stdin reaches exec" \
	|| not_ok "exec stdin" "got '$out'" "$(cat "$WORK/err")"
{ echo before; rt exec execd echo inside; echo after; } >"$WORK/f" 2>&1 </dev/null
[ "$(cat "$WORK/f" | tr '\n' ' ')" = "before inside after " ] \
	&& ok "exec's output to a file lands where the caller's is" \
	|| not_ok "exec output to a file" "$(cat "$WORK/f")"
echo '{"args": ["sh", "-c", "echo $X; exit 3"], "env": ["X=from-process"], "cwd": "/"}' >"$WORK/p.json"
out=$(rt exec --process "$WORK/p.json" execd 2>"$WORK/err" </dev/null); rc=$?
[ $rc -eq 3 ] && [ "$out" = from-process ] && ok "exec --process FILE" \
	|| not_ok "exec --process" "rc=$rc '$out'" "$(cat "$WORK/err")"
rt exec execd sh -c 'kill -9 $$' </dev/null >/dev/null 2>&1; rc=$?
[ $rc -eq 137 ] && ok "exec of a process killed by SIGKILL returns 137" || not_ok "exec 137" "rc=$rc"
echo '{"args": [' >"$WORK/bad.json"
expect_fail "exec --process with bad JSON fails" "invalid JSON" "" rt exec --process "$WORK/bad.json" execd
expect_fail "exec without a command fails" "no command" "" rt exec execd
expect_fail "exec --tty without a terminal on stdin fails" "needs --console-socket, or a terminal" "" \
	rt exec -t execd true
expect_fail "exec --tty --detach without --console-socket fails" "needs --console-socket" "" \
	rt exec -t -d execd true
expect_fail "exec --console-socket without --tty fails" "console-socket needs --tty" "" \
	rt exec --console-socket "$WORK/none.sock" execd true
# wait_for_gone PID: it exited within 10 s (a zombie counts: nobody here reaps it)
wait_for_gone() {
	for _ in $(seq 100); do
		if ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# exec -t -d --console-socket, as a runc-style shim runs it: the master goes to the socket,
# --pid-file names a host process that lives as long as the exec
cat >"$WORK/etty.sh" <<'SH'
n=0
while [ "$(stty size)" = "0 0" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
tty; stty size; read -r line; echo "got $line"; exit 4
SH
rm -f "$WORK/xc.sock"
python3 "$here/selftests/e2e/console_socket.py" "$WORK/xc.sock" "$WORK/xc.out" 40 100 \
	"$(printf 'typed\r')" &
cspid=$!
for i in $(seq 1 50); do [ -S "$WORK/xc.sock" ] && break; sleep 0.1; done
rt exec -t -d --console-socket "$WORK/xc.sock" --pid-file "$WORK/xc.pid" execd \
	sh -c "$(cat "$WORK/etty.sh")" >"$WORK/o" 2>"$WORK/err" </dev/null
rc=$?
for i in $(seq 1 600); do kill -0 $cspid 2>/dev/null || break; sleep 0.1; done
kill $cspid 2>/dev/null
wait $cspid
xpid=$(cat "$WORK/xc.pid" 2>/dev/null)
out=$(tr -d '\r' <"$WORK/xc.out" 2>/dev/null)
if [ $rc -eq 0 ] && echo "$out" | grep -qx '/dev/pts/[0-9]*' && echo "$out" | grep -qx '40 100' &&
   echo "$out" | grep -qx 'got typed' && [ -n "$xpid" ] && wait_for_gone "$xpid"; then
	ok "exec -t -d --console-socket: a pty in the guest, 40x100, input relayed; its --pid-file process ends with it"
else
	not_ok "exec --console-socket" "rc=$rc pid=$xpid $(cat "$WORK/err")" "$out"
fi
# a detached exec's --pid-file process forwards the signals it gets
rt exec -d --pid-file "$WORK/xd.pid" execd \
	sh -c 'trap "kill \$!; echo got-term; exit 3" TERM; echo ready; sleep 100 & wait' \
	>"$WORK/xd.out" 2>&1 </dev/null
for _ in $(seq 100); do grep -q ready "$WORK/xd.out" && break; sleep 0.1; done
xpid=$(cat "$WORK/xd.pid" 2>/dev/null)
[ -n "$xpid" ] && kill -TERM "$xpid"
for _ in $(seq 100); do grep -q got-term "$WORK/xd.out" && break; sleep 0.1; done
grep -qx got-term "$WORK/xd.out" && wait_for_gone "$xpid" \
	&& ok "SIGTERM to a detached exec's --pid-file process reaches the exec, which then ends it" \
	|| not_ok "detached exec signals" "pid=$xpid" "$(cat "$WORK/xd.out")"
# exec --tty from a terminal: script(1) gives us one, 33 rows by 77 columns (run with /bin/sh
# and timeout in the pty's foreground group: see selftests/shim/run.sh)
TTYCMD='n=0; while [ "$(stty size)" = "0 0" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done; tty; stty size; exit 6'
out=$(SHELL=/bin/sh script -qec "stty rows 33 cols 77; timeout --foreground 120 $RT --root $ROOT exec -t execd sh -c '$TTYCMD'" \
	/dev/null </dev/null | tr -d '\r'; exit "${PIPESTATUS[0]}")
rc=$?
if [ $rc -eq 6 ] && echo "$out" | grep -q '/dev/pts/[0-9]*$' && echo "$out" | grep -qx '33 77'; then
	ok "exec --tty: a pty in the guest ($(echo "$out" | grep -o '/dev/pts/[0-9]*')), our terminal's size 33x77, exit 6"
else
	not_ok "exec --tty" "rc=$rc" "$out"
fi
# signals to a foreground exec go to its process
"$RT" --root "$ROOT" exec execd sh -c 'trap "kill \$!; echo got-term; exit 3" TERM; echo ready; sleep 100 & wait' \
	>"$WORK/sig.out" 2>&1 </dev/null &
xp=$!
for _ in $(seq 100); do grep -q ready "$WORK/sig.out" && break; sleep 0.1; done
kill -TERM $xp
wait $xp
rc=$?
[ $rc -eq 3 ] && grep -qx got-term "$WORK/sig.out" \
	&& ok "SIGTERM to a foreground exec reaches its process (exit 3 from its trap)" \
	|| not_ok "exec signal forwarding" "rc=$rc" "$(cat "$WORK/sig.out")"
expect_fail "exec into an unknown id fails" "does not exist" "" rt exec nosuch true
rt pause execd
expect_fail "exec into a paused container fails" "paused" "" rt exec execd true
rt resume execd
rt kill execd KILL
wait_status execd stopped 10
expect_fail "exec into a stopped container fails" "stopped" "" rt exec execd true
rt delete --force execd >/dev/null 2>&1
b=$(bundle execc '"true"')
rt create --bundle "$b" execc </dev/null >/dev/null 2>&1
# as runc: a created container's init waits in its namespaces, and an exec runs there
out=$(rt exec execc sh -c 'echo from-created' 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$out" = from-created ] && rt state execc | grep -q '"status": "created"'; then
	ok "exec into a created container runs, the container stays created"
else
	not_ok "exec into a created container" "rc=$rc out=$out" "$(rt state execc 2>&1)"
fi
rt delete --force execc >/dev/null 2>&1

# --- run -d, crash, delete --force ----------------------------------------------
b=$(bundle crash '"sleep", "1000"')
if rt run --keep -d --bundle "$b" crash </dev/null >/dev/null 2>"$WORK/err" && wait_status crash running 5; then
	ok "run --detach leaves a running container"
else
	not_ok "run -d" "$(cat "$WORK/err")"
fi
mpid=$(rt state crash | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
kill -KILL "$mpid" 2>/dev/null
wait_status crash stopped 5 && ok "a crashed monitor reads as stopped" \
	|| not_ok "crashed monitor state" "$(rt state crash 2>&1)"
rt delete --force crash 2>"$WORK/err"; rc=$?
why=$(nothing_left crash)
[ $rc -eq 0 ] && [ -z "$why" ] && ok "delete --force cleans up after a crashed monitor" \
	|| not_ok "delete --force" "rc=$rc $why $(cat "$WORK/err")"

b=$(bundle forced '"sleep", "1000"')
rt run --keep -d --bundle "$b" forced </dev/null >/dev/null 2>&1
rt delete --force forced 2>"$WORK/err"; rc=$?
why=$(nothing_left forced)
[ $rc -eq 0 ] && [ -z "$why" ] && ok "delete --force of a running container leaves nothing" \
	|| not_ok "delete --force running" "rc=$rc $why $(cat "$WORK/err")"

# --- bind mounts of host paths ----------------------------------------------------
# The host binds each into the VM's share (ROOT/ID/vm/share/mounts/N), the guest from there.
mkdir -p "$WORK/vol" && echo "from the host" >"$WORK/vol/in"
echo "a host file" >"$WORK/hostfile"
b=$(bundle binds '"sh", "-c", "cat /vol/in /etc/hostfile /rel/marker; echo from-guest > /vol/out; echo x 2>/dev/null > /etc/hostfile || echo ro-refused"')
mkdir -p "$b/reldir" && echo relative >"$b/reldir/marker"
add_mounts "$b" "{\"destination\":\"/vol\",\"type\":\"bind\",\"source\":\"$WORK/vol\",\"options\":[\"rbind\",\"rw\"]}" \
	"{\"destination\":\"/etc/hostfile\",\"type\":\"bind\",\"source\":\"$WORK/hostfile\",\"options\":[\"bind\",\"ro\"]}" \
	'{"destination":"/rel","source":"reldir","options":["rbind"]}'
out=$(rt run --keep --bundle "$b" binds 2>"$WORK/err" </dev/null)
rc=$?
if [ $rc -eq 0 ] && [ "$out" = "$(printf 'from the host\na host file\nrelative\nro-refused')" ] &&
   [ "$(cat "$WORK/vol/out" 2>&1)" = from-guest ] && [ "$(cat "$WORK/hostfile")" = "a host file" ]; then
	ok "bind mounts of a host directory (read-write), a host file (ro) and a bundle-relative path"
else
	not_ok "bind mounts" "rc=$rc" "$out" "$(cat "$WORK/err")" "host: $(cat "$WORK/vol/out" "$WORK/hostfile" 2>&1)"
fi
rt delete binds
[ -z "$(mounts_under "$ROOT")" ] && nothing_left binds >/dev/null \
	&& ok "after delete no bind mount or VM directory is left" \
	|| not_ok "binds left" "$(mounts_under "$ROOT")" "$(nothing_left binds)"
b=$(bundle badbind '"true"')
add_mounts "$b" '{"destination":"/vol","type":"bind","source":"/nonexistent/katasbx-vol"}'
expect_fail "a bind mount of a missing host path names the field" "mounts\[[0-9]*\]\.source" e10 \
	rt run --keep --bundle "$b" e10

# --- seccomp -------------------------------------------------------------------------
# linux.seccomp, built by the agent with libseccomp and loaded by each process before exec.
PROFILE='{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_AARCH64"],"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"},{"names":["chmod","fchmodat","fchmodat2","no_such_syscall"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}'
set_seccomp() { jq ".linux.seccomp = $2" "$1/config.json" >"$1/c.new" && mv "$1/c.new" "$1/config.json"; }
b=$(bundle sc '"sh", "-c", "mkdir /tmp/d 2>&1; chmod 600 /etc/passwd 2>&1; grep Seccomp: /proc/self/status; echo still-running"')
set_seccomp "$b" "$PROFILE"
out=$(rt run --keep --bundle "$b" sc 2>"$WORK/err" </dev/null)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "mkdir.*Operation not permitted" &&
   echo "$out" | grep -q "chmod.*Function not implemented" && echo "$out" | grep -q "Seccomp:.*2" &&
   echo "$out" | grep -qx still-running; then
	ok "linux.seccomp: ERRNO rules (EPERM, errnoRet 38) refuse their calls, the rest runs"
else
	not_ok "linux.seccomp" "rc=$rc" "$out" "$(cat "$WORK/err")"
fi
rt delete sc
b=$(bundle scx '"sleep", "1000"')
set_seccomp "$b" "$PROFILE"
rt run --keep -d --bundle "$b" scx </dev/null >/dev/null 2>"$WORK/err"
out=$(rt exec scx sh -c 'mkdir /tmp/e 2>&1; echo exec-ran' 2>&1 </dev/null)
if echo "$out" | grep -q "mkdir.*Operation not permitted" && echo "$out" | grep -qx exec-ran; then
	ok "an exec'd process runs under the container's seccomp filter too"
else
	not_ok "seccomp in exec" "$out" "$(cat "$WORK/err")"
fi
rt delete --force scx
b=$(bundle scbad '"true"')
set_seccomp "$b" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOPE"}]}'
expect_fail "an unknown seccomp action names the field" "linux.seccomp.syscalls\[0\].action" e11 \
	rt run --keep --bundle "$b" e11

# --- errors ------------------------------------------------------------------
expect_fail "missing bundle" "no-such-bundle" e1 rt run --keep --bundle "$WORK/no-such-bundle" e1
mkdir -p "$WORK/badjson" && echo '{ "ociVersion": ' > "$WORK/badjson/config.json"
expect_fail "invalid JSON in config.json" "config.json" e2 rt run --keep --bundle "$WORK/badjson" e2
b=$(bundle noargs '"x"')
sed -i 's/"args": \[ "x" \]/"args": []/' "$b/config.json"
expect_fail "config.json with empty process.args names the field" "process.args" e3 \
	rt create --bundle "$b" e3
b=$(bundle nocwd '"true"' '"cwd": 5')
expect_fail "config.json with a bad process.cwd names the field" "process.cwd" e4 \
	rt create --bundle "$b" e4
expect_fail "invalid id" "invalid container id" "" rt create --bundle "$b" "../escape"
for cmd in state start kill delete; do
	expect_fail "$cmd of an unknown id" "does not exist" nosuch rt $cmd nosuch
done
b=$(bundle dup '"sleep", "1000"')
rt create --bundle "$b" dup </dev/null >/dev/null 2>&1
expect_fail "duplicate id" "already exists" "" rt create --bundle "$b" dup
rt delete --force dup >/dev/null 2>&1
nothing_left dup >/dev/null && ok "delete of a created container" || not_ok "delete created" "$(nothing_left dup)"
expect_fail "QEMU missing" "qemu" e5 env KATASBX_QEMU=/nonexistent/qemu-system-x86_64 \
	"$RT" --root "$ROOT" run --keep --bundle "$b" e5
expect_fail "guest not answering within the boot timeout" "did not answer" e6 \
	rt --template off --boot-timeout 300 run --keep --bundle "$b" e6
# a template whose guest does not answer: the same guest booted afresh would not either,
# so the error comes after one boot timeout, not two (a new key: another memory size)
expect_fail "a template's guest not answering fails the create, with QEMU's and the console's last lines" \
	"make template .*: the template's agent did not answer (the guest console's last line: .*; QEMU's: " e6b \
	rt --debug --log "$WORK/e6b.log" --memory 200 --boot-timeout 300 run --keep --bundle "$b" e6b
if grep -q "making template" "$WORK/e6b.log" && ! grep -q "qemu-ready" "$WORK/e6b.log"; then
	ok "... and no fresh boot was tried after it"
else
	not_ok "a silent template guest, then no second boot" "$(grep -E "making template|qemu-ready" "$WORK/e6b.log")"
fi
expect_fail "QEMU failing to start" "qemu" e8 rt --kernel /etc/hostname run --keep --bundle "$b" e8
rt --log "$WORK/log.json" --log-format json run --keep --bundle "$WORK/no-such-bundle" e9 2>/dev/null
grep -q '"level":"error"' "$WORK/log.json" && grep -q '"msg":"bundle' "$WORK/log.json" \
	&& ok "--log-format json writes errors as JSON lines" \
	|| not_ok "json log" "$(cat "$WORK/log.json" 2>&1)"
b=$(bundle noexec '"/no/such/program"')
"$RT" --root "$ROOT" run --keep --bundle "$b" e7 >/dev/null 2>"$WORK/err" </dev/null; rc=$?
[ $rc -ne 0 ] && grep -q "no/such/program" "$WORK/err" && ok "a missing program fails with its name (rc=$rc)" \
	|| not_ok "missing program" "rc=$rc $(cat "$WORK/err")"
rt delete e7 >/dev/null 2>&1

# --- installed layout ----------------------------------------------------------
make -s -C "$here" install PREFIX="$WORK/prefix" >/dev/null 2>"$WORK/err"
b=$(bundle installed '"echo", "installed"')
out=$("$WORK/prefix/bin/katasbx-runtime" --root "$ROOT" run --keep --bundle "$b" installed 2>>"$WORK/err" </dev/null)
if [ "$out" = installed ] && "$WORK/prefix/bin/katasbx-runtime" check | grep -q "$WORK/prefix/share/katasbx/initrd.img"; then
	ok "make install: the installed runtime finds its guest image in PREFIX/share/katasbx"
else
	not_ok "installed layout" "out='$out'" "$(cat "$WORK/err")"
fi
rt delete installed >/dev/null 2>&1

# --- nothing left ---------------------------------------------------------------
if pgrep -f "$WORK/" >/dev/null; then
	not_ok "no QEMU or monitor left after the tests" "$(pgrep -af "$WORK/")"
else
	ok "no QEMU or monitor left after the tests"
fi

finish e2e
