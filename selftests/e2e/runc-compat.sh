#!/bin/bash
# The same bundles through Debian's runc and katasbx-runtime, side by side:
# `runc spec`'s config.json, changed by one jq filter per case, over a bare
# busybox rootfs (no /proc, /dev, /sys, /tmp: runc makes the mount points it
# needs, and so must katasbx). For each case both must give the same exit
# status and the same stdout; a case that fails at create must fail in both
# with exit 1, and katasbx's message must hold the case's words and leave no
# state. Prints TAP and a last line "runc-compat: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=runc-compat
. "$here/selftests/lib/e2e.sh"
. "$here/selftests/lib/compat.sh"

echo "TAP version 13"
compat_base || { finish runc-compat; exit 1; }

A=.process.args
# status_within SECS WANT CMD...: CMD (a state command) says status WANT within SECS
status_within() {
	local t=$1 want=$2
	shift 2
	for _ in $(seq $((t * 20))); do
		[ "$("$@" 2>/dev/null | jq -r .status 2>/dev/null)" = "$want" ] && return 0
		sleep 0.05
	done
	return 1
}
mkdir -p "$WORK/hostdir" && echo "from the host" >"$WORK/hostdir/f"

same spec-as-is "$A = [\"sh\", \"-c\", \"echo hi; id; grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status\"]"
same exit-status "$A = [\"sh\", \"-c\", \"echo before; exit 3\"]"
same readonly-root "$A = [\"sh\", \"-c\", \"touch /x 2>&1; echo rc=\$?\"]"
same writable-root ".root.readonly = false | $A = [\"sh\", \"-c\", \"touch /x && ls /x\"]"
same env-home "$A = [\"env\"]"
same env ".process.env += [\"FOO=bar baz\"] | $A = [\"sh\", \"-c\", \"echo \$FOO; echo \$PATH\"]"
same cwd ".process.cwd = \"/proc/self\" | $A = [\"pwd\"]"
same user ".process.user = {\"uid\": 1000, \"gid\": 1000} | $A = [\"id\"]"
same groups ".process.user.additionalGids = [10, 20] | $A = [\"id\"]"
same hostname ".hostname = \"compat\" | $A = [\"hostname\"]"
same rlimit-nofile "$A = [\"sh\", \"-c\", \"ulimit -n; ulimit -Hn\"]"
same rlimit-set ".process.rlimits = [{\"type\": \"RLIMIT_NPROC\", \"hard\": 300, \"soft\": 200}] | $A = [\"sh\", \"-c\", \"ulimit -u; ulimit -Hu\"]"
same no-new-privs "$A = [\"grep\", \"NoNewPrivs\", \"/proc/self/status\"]"
same new-privs-allowed ".process.noNewPrivileges = false | $A = [\"grep\", \"NoNewPrivs\", \"/proc/self/status\"]"
same masked-paths "$A = [\"sh\", \"-c\", \"wc -c < /proc/keys; ls /sys/firmware | wc -l\"]"
same readonly-paths "$A = [\"sh\", \"-c\", \"echo 1 2>&1 > /proc/sys/vm/drop_caches; echo rc=\$?\"]"
same caps-narrowed ".process.capabilities |= with_entries(.value = [\"CAP_KILL\"]) | $A = [\"grep\", \"^CapEff\", \"/proc/self/status\"]"
same caps-unknown ".process.capabilities.bounding += [\"CAP_FOO\"] | $A = [\"grep\", \"^CapBnd\", \"/proc/self/status\"]" \
	"warning: ignoring unknown or unavailable capabilities: [CAP_FOO]"
same tmpfs-mount ".mounts += [{\"destination\": \"/data/t\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"size=1m\", \"mode=700\"]}] | $A = [\"sh\", \"-c\", \"grep ' /data/t ' /proc/mounts | cut -d' ' -f1-3; stat -c %a /data/t\"]"
same tmpfs-copyup ".mounts += [{\"destination\": \"/bin\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"tmpcopyup\", \"mode=755\"]}] | $A = [\"sh\", \"-c\", \"grep ' /bin ' /proc/mounts | cut -d' ' -f1-3; ls /bin | wc -l; stat -c '%a %u %g %s %N' /bin/busybox /bin/sh\"]"
same mount-relative ".mounts += [{\"destination\": \"data\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}] | $A = [\"sh\", \"-c\", \"grep ' /data ' /proc/mounts | cut -d' ' -f1-3\"]" \
	'config.json: mounts[7].destination: "data" is not absolute: taken as "/data"'
same bind-mount ".mounts += [{\"destination\": \"/host\", \"type\": \"bind\", \"source\": \"$WORK/hostdir\", \"options\": [\"rbind\", \"ro\"]}] | $A = [\"sh\", \"-c\", \"cat /host/f; touch /host/g 2>&1\"]"
same no-network-namespace ".linux.namespaces |= map(select(.type != \"network\")) | $A = [\"sh\", \"-c\", \"ip -o link show lo | cut -d' ' -f2\"]" \
	"a container in a VM cannot share the host's network"
same pid1-ignores-term "$A = [\"sh\", \"-c\", \"kill -TERM \$\$; echo survived\"]"
same no-pid-namespace ".linux.namespaces |= map(select(.type != \"pid\")) | $A = [\"sh\", \"-c\", \"kill -TERM \$\$; echo survived\"]"
# without a pid namespace, a process the init leaves behind keeps stdout open: runc's
# run ends with the init (it kills the rest at delete); the VM's does too
d=$(mkcase orphan-holds-stdout ".linux.namespaces |= map(select(.type != \"pid\")) | $A = [\"sh\", \"-c\", \"sleep 1000 & echo init exits; exit 3\"]")
(cd "$d" && timeout 120 runc --root "$WORK/runc" run r-orphan >"$WORK/r.out" 2>"$WORK/runc.err" </dev/null)
rrc=$?
runc --root "$WORK/runc" delete -f r-orphan >/dev/null 2>&1
timeout 120 "$RT" --root "$ROOT" run --bundle "$d" k-orphan >"$WORK/k.out" 2>"$WORK/kx.err" </dev/null
krc=$?
rt delete -f k-orphan >/dev/null 2>&1
if [ "$rrc" = 3 ] && [ "$krc" = 3 ] && [ "$(cat "$WORK/k.out")" = "$(cat "$WORK/r.out")" ]; then
	ok "an orphan holding stdout: run ends with the init, exit 3 and its output, as runc"
else
	not_ok "an orphan holding stdout: run ends with the init" "runc: exit $rrc, $(cat "$WORK/r.out")" \
		"katasbx: exit $krc (124: still running after 120 s), $(cat "$WORK/k.out") $(tail -n 2 "$WORK/kx.err")"
fi
# runc's id characters, + among them, on both sides of the channel (the agent took fewer)
same "id+plus.dot_under" "$A = [\"echo\", \"an id with + . _\"]"
same no-ipc-namespace ".linux.namespaces |= map(select(.type != \"ipc\")) | $A = [\"echo\", \"ipc shared\"]"
refused args-not-found "$A = [\"nope\"]" 'exec: "nope": executable file not found in $PATH'
refused args-absent "$A = [\"/nope\"]" 'exec: "/nope": stat /nope: No such file or directory'
refused args-directory "$A = [\"/bin\"]" 'exec: "/bin": Is a directory'
refused args-not-executable "$A = [\"/proc/version\"]" 'exec: "/proc/version": Permission denied'
refused hostname-without-uts ".hostname = \"x\" | .linux.namespaces |= map(select(.type != \"uts\"))" \
	'hostname: unable to set hostname without a private UTS namespace'

same sysctl-devices-oom ".linux.sysctl = {\"net.ipv4.ip_forward\": \"1\", \"kernel.shmmni\": \"1234\"} | .process.oomScoreAdj = 500 | .linux.devices = [{\"path\": \"/dev/mynull\", \"type\": \"c\", \"major\": 1, \"minor\": 3, \"fileMode\": 438, \"uid\": 5, \"gid\": 6}, {\"path\": \"/dev/sub/fifo\", \"type\": \"p\", \"fileMode\": 384}] | $A = [\"sh\", \"-c\", \"cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/self/oom_score_adj; ls -ln /dev/mynull /dev/sub/fifo | cut -c1-30; echo x > /dev/mynull && echo wrote\"]"
refused sysctl-not-namespaced ".linux.sysctl = {\"vm.swappiness\": \"1\"}" 'sysctl "vm.swappiness" is not in a separate kernel namespace'

# Propagation: the root's (rootfsPropagation) and a mount's own option; /prop.sh prints
# each mount's kind from mountinfo's optional fields
cat >"$BASE/rootfs/prop.sh" <<'EOF'
awk '{ p = "private"; for (i = 7; $i != "-"; i++) { if ($i ~ /^shared:/) p = "shared"; if ($i ~ /^master:/) p = "slave" }
       if ($5 == "/" || $5 == "/data") print $5, p }' /proc/self/mountinfo
EOF
same rootfs-propagation-rprivate ".linux.rootfsPropagation = \"rprivate\" | $A = [\"sh\", \"/prop.sh\"]"
same mount-rshared ".mounts += [{\"destination\": \"/data\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"rshared\"]}] | $A = [\"sh\", \"/prop.sh\"]"
d=$(mkcase prop-shared ".linux.rootfsPropagation = \"rshared\" | $A = [\"sh\", \"/prop.sh\"]")
out=$(rt run --bundle "$d" k-propsh 2>"$WORK/err" </dev/null); krc=$?
if [ "$krc" = 0 ] && [ "$out" = "/ private" ] &&
   grep -q 'config.json: linux.rootfsPropagation: "rshared" not applied (a VM shares no mounts with the host): private' "$WORK/err"; then
	ok "rootfsPropagation rshared: warned of, the root private (a VM shares no mounts with the host)"
else
	not_ok "rootfsPropagation rshared" "exit $krc: $out" "$(cat "$WORK/err")"
fi
rm -f "$BASE/rootfs/prop.sh"
# user namespaces: runc's mappings; the guest clones the init into one with its own pid
# and network namespaces, as runc does (its root is 100000 outside, files of root nobody's)
chmod 711 "$WORK"	# runc's: the mapped root walks to the rootfs (mktemp made it 0700)
U='.linux.namespaces += [{"type": "user"}] | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
# the rootfs belongs to the mapped root, as runc needs (it makes mount points as that root)
ucase() { # NAME FILTER: a case whose rootfs is 100000's
	local d
	d=$(mkcase "$1" "$U | $2") && chown -R 100000:100000 "$d/rootfs" && echo "$d"
}
d=$(ucase userns "$A = [\"sh\", \"-c\", \"id; cat /proc/self/uid_map /proc/self/gid_map; stat -c '%u %g' /bin/busybox; hostname; grep -E '^Cap(Eff|Bnd)' /proc/self/status; { echo x > /y; } 2>&1 || echo refused; ls -ld /proc/1 | cut -c1-10\"]")
rout=$(cd "$d" && runc --root "$WORK/runc" run r-userns 2>"$WORK/runc.err" </dev/null); rrc=$?
runc --root "$WORK/runc" delete -f r-userns >/dev/null 2>&1
rm -rf "$d/rootfs" && cp -a "$BASE/rootfs" "$d/rootfs" && chown -R 100000:100000 "$d/rootfs"
kout=$(rt run --bundle "$d" k-userns 2>"$WORK/err" </dev/null); krc=$?
if [ "$rrc$krc" = 00 ] && [ "$kout" = "$rout" ] && [ ! -s "$WORK/err" ]; then
	ok "a user namespace (runc's maps): the same output as runc ($(echo "$kout" | head -n 2 | tr -s ' \n' ' '))"
else
	not_ok "a user namespace, as runc" "runc: exit $rrc '$rout' $(tail -n 1 "$WORK/runc.err")" \
		"katasbx: exit $krc '$kout' $(tail -n 2 "$WORK/err")"
fi
refused userns-no-gid-map '.linux.namespaces += [{"type": "user"}] | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
	'linux.gidMappings: user namespaces enabled, but no gid mappings found'
same mappings-without-userns ".linux.uidMappings = [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}] | $A = [\"cat\", \"/proc/self/uid_map\"]" \
	'config.json: linux.uidMappings: not applied: linux.namespaces has no "user" namespace'
# exec joins it too; ps shows its root as the VM sees it (100000), as runc's host ps
d=$(ucase userns-exec "$A = [\"sleep\", \"100\"]")
(cd "$d" && runc --root "$WORK/runc" run -d r-uexec >/dev/null 2>&1 </dev/null)
rt run -d --bundle "$d" k-uexec >/dev/null 2>&1 </dev/null
rout=$(runc --root "$WORK/runc" exec r-uexec sh -c 'id; cat /proc/self/uid_map' 2>&1)
kout=$(rt exec k-uexec sh -c 'id; cat /proc/self/uid_map' 2>&1)
rps=$(runc --root "$WORK/runc" ps r-uexec | awk 'NR > 1 { print $1, $8 }')
kps=$(rt ps k-uexec | awk 'NR > 1 { print $1, $8 }')
if [ -n "$kout" ] && [ "$kout" = "$rout" ] && [ "$kps" = "$rps" ]; then
	ok "exec in a user namespace's container, and ps, as runc's: $(echo $kout) / $kps"
else
	not_ok "exec in a user namespace" "runc: $rout / $rps" "katasbx: $kout / $kps"
fi
runc --root "$WORK/runc" delete -f r-uexec >/dev/null 2>&1; rt delete -f k-uexec >/dev/null 2>&1

# linux.resources hold from the start, in the container's cgroup in the guest, as runc
# writes them on a cgroup v2 host (this host's runc uses v1: no side by side here)
R=.linux.resources
d=$(mkcase resources "$R.memory = {\"limit\": 67108864, \"reservation\": 33554432, \"swap\": 100663296} | $R.cpu = {\"shares\": 1024, \"quota\": 50000, \"period\": 100000, \"cpus\": \"0\"} | $R.pids = {\"limit\": 90} | $A = [\"sh\", \"-c\", \"cd /sys/fs/cgroup && cat memory.max memory.low memory.swap.max cpu.weight cpu.max cpuset.cpus pids.max\"]")
out=$(rt run --bundle "$d" k-res 2>"$WORK/err" </dev/null | tr '\n' ' '); krc=$?
want="67108864 33554432 33554432 39 50000 100000 0 90 "
if [ "$krc" = 0 ] && [ "$out" = "$want" ] && [ ! -s "$WORK/err" ]; then
	ok "linux.resources in the guest cgroup from the start: $out"
else
	not_ok "linux.resources in the guest cgroup" "exit $krc, got '$out'" "want '$want'" "$(cat "$WORK/err")"
fi
# a subshell forks sleeps until pids.max stops it; the builtin read needs no fork
d=$(mkcase pids-bomb "$R.pids = {\"limit\": 4} | $A = [\"sh\", \"-c\", \"(for i in 1 2 3 4 5 6; do sleep 3 & done) 2>/dev/null; while read -r l; do echo \$l; done </sys/fs/cgroup/pids.events\"]")
out=$(rt run --bundle "$d" k-bomb 2>"$WORK/err" </dev/null)
if echo "$out" | grep -Eq '^max [1-9]'; then
	ok "pids.limit holds: $(echo $out)"
else
	not_ok "pids.limit holds" "$out" "$(cat "$WORK/err")"
fi
# the VM is sized for the limits: memory doubled from memory_mib until the limit fits beside
# the guest's own use (a template each size), a vCPU for each CPU of the quota
vm="$A = [\"sh\", \"-c\", \"grep MemTotal /proc/meminfo; nproc\"]"
d=$(mkcase resources-vm "$R.memory = {\"limit\": 314572800} | $R.cpu = {\"quota\": 150000, \"period\": 100000} | $vm")
out=$(rt run --bundle "$d" k-resvm 2>"$WORK/err" </dev/null | tr -s ' \n' ' '); krc=$?
kib=$(echo "$out" | cut -d' ' -f2)
if [ "$krc" = 0 ] && [ ! -s "$WORK/err" ] && [ "${kib:-0}" -gt 409600 ] && [ "$kib" -le 524288 ] &&
   [ "$(echo "$out" | cut -d' ' -f4)" = 2 ]; then
	ok "a 300 MiB limit and a quota of 1.5 CPUs get a VM of 512 MiB and 2 vCPUs: $out"
else
	not_ok "the VM sized for the limits" "exit $krc: '$out'" "$(cat "$WORK/err")"
fi
# at most max_memory_mib and max_vcpus (here 512 and 1), with a warning
printf 'max_memory_mib = 512\nmax_vcpus = 1\n' >"$WORK/small.conf"
d=$(mkcase resources-warned "$R.blockIO = {\"weight\": 100} | $R.memory = {\"swappiness\": 10, \"limit\": 1099511627776} | $R.cpu = {\"quota\": 300000, \"period\": 100000} | $vm")
out=$("$RT" --config "$WORK/small.conf" --root "$ROOT" run --bundle "$d" k-resw 2>"$WORK/err" </dev/null |
	tr -s ' \n' ' '); krc=$?
kib=$(echo "$out" | cut -d' ' -f2)
if [ "$krc" = 0 ] && grep -q 'linux.resources.blockIO: not applied' "$WORK/err" &&
   grep -q 'linux.resources.memory.swappiness: not applied (cgroup v1 only)' "$WORK/err" &&
   grep -q "linux.resources.memory.limit: 1099511627776 bytes is above what a VM of max_memory_mib (512 MiB) leaves a container" "$WORK/err" &&
   grep -q "linux.resources.cpu.quota: a quota of 300000 100000 us is above max_vcpus (1)" "$WORK/err" &&
   [ "${kib:-0}" -gt 409600 ] && [ "$kib" -le 524288 ] && [ "$(echo "$out" | cut -d' ' -f4)" = 1 ]; then
	ok "what a VM cannot apply is a warning naming the field, the VM at its maxima: $(wc -l <"$WORK/err") lines, $out"
else
	not_ok "resources a VM cannot apply are warned of" "exit $krc: '$out'" "$(cat "$WORK/err")"
fi
refused memory-limit-string "$R.memory = {\"limit\": \"64m\"}" 'linux.resources.memory.limit: must be a number'
refused memory-swap-below "$R.memory = {\"limit\": 67108864, \"swap\": 1048576}" \
	'linux.resources.memory.swap: memory+swap limit (1048576) should be >= memory limit (67108864)'
# the host's cpuset refuses it first, as runc's does (the guest's would, for its vCPUs)
refused cpus-not-there "$R.cpu = {\"cpus\": \"0-63\"}" "linux.resources.cpu.cpus: the host's cgroup"

# update: runc's flags, or -r FILE; the limits in the guest cgroup at once, a lone
# period keeping the quota; wrong input refused with runc's words, and nothing changed
d=$(mkcase upd "$A = [\"sleep\", \"300\"]")
mkdir -p "$d/rootfs/etc" && echo "root:x:0:0:root:/root:/bin/sh" >"$d/rootfs/etc/passwd"
(cd "$d" && runc --root "$WORK/runc" run -d r-upd >/dev/null 2>&1 </dev/null)
rt run --detach --bundle "$d" k-upd >/dev/null 2>&1 </dev/null
lim() {
	rt exec k-upd sh -c 'cd /sys/fs/cgroup && cat memory.max memory.swap.max cpu.max cpu.weight pids.max' \
		2>&1 | tr '\n' ' '
}
rt update --memory 64m --memory-swap 96M --cpu-quota 50000 --cpu-share 512 --pids-limit 40 k-upd \
	2>"$WORK/err"; krc=$?
out1=$(lim)
rt update --cpu-period 200000 k-upd 2>>"$WORK/err"; krc2=$?
out2=$(lim)
echo '{"memory": {"limit": -1}, "pids": {"limit": -1}, "blockIO": {"weight": 10}}' >"$WORK/res.json"
rt update -r "$WORK/res.json" k-upd 2>"$WORK/err3"; krc3=$?
out3=$(lim)
if [ "$krc$krc2$krc3" = 000 ] && [ ! -s "$WORK/err" ] &&
   [ "$out1" = "67108864 33554432 50000 100000 20 40 " ] &&
   [ "$out2" = "67108864 33554432 50000 200000 20 40 " ] &&
   [ "$out3" = "max max 50000 200000 20 max " ] &&
   grep -q "warning: $WORK/res.json: blockIO: not applied" "$WORK/err3"; then
	ok "update: flags, then a lone --cpu-period keeping the quota, then -r FILE, in the guest cgroup"
else
	not_ok "update of a running container" "exits $krc $krc2 $krc3 $(cat "$WORK/err" "$WORK/err3")" \
		"flags: '$out1'" "period: '$out2'" "-r: '$out3'"
fi
for args in "--memory abc|invalid value for memory: invalid size: 'abc'" \
	    "--cpu-quota x|invalid value for cpu-quota:" "--memory -2|invalid value for memory:" \
	    "-r /nonexist|open /nonexist: no such file" "--bogus|flag --bogus is not one of its flags" \
	    "--memory-swap 1m|unable to set swap limit without memory limit"; do
	words=${args#*|} args=${args%%|*}
	runc --root "$WORK/runc" update $args r-upd >/dev/null 2>&1; rrc=$?
	rt update $args k-upd 2>"$WORK/err"; krc=$?
	if [ "$rrc$krc" = 11 ] && grep -qiF -- "$words" "$WORK/err" && [ "$(lim)" = "$out3" ]; then
		ok "update $args: exit 1 as under runc, nothing changed: $(cat "$WORK/err")"
	else
		not_ok "update $args: refused as under runc" "runc: exit $rrc" "katasbx: exit $krc $(cat "$WORK/err")"
	fi
done
echo '{"memory": {"limit": "64m"}}' | rt update -r - k-upd 2>"$WORK/err"; krc=$?
if [ "$krc" = 1 ] && grep -q "stdin: memory.limit: must be a number" "$WORK/err"; then
	ok "update -r - with a string limit names the field: $(cat "$WORK/err")"
else
	not_ok "update -r - with a string limit" "exit $krc $(cat "$WORK/err")"
fi
rt pause k-upd && rt update --memory 32m k-upd 2>"$WORK/err"; krc=$?
rt resume k-upd
if [ "$krc" = 1 ] && grep -q "container is paused (its VM is stopped): resume it first" "$WORK/err" &&
   [ "$(lim)" = "$out3" ]; then
	ok "update of a paused container is refused (its VM is stopped): $(cat "$WORK/err")"
else
	not_ok "update of a paused container" "exit $krc $(cat "$WORK/err")"
fi
# ps: runc's table (ps -ef's columns, the user named from the container's passwd) and
# json, the pids the guest's; ps options other than -ef refused (they would be the host's)
rps=$(runc --root "$WORK/runc" ps r-upd 2>&1)
kps=$(rt ps k-upd 2>&1); krc=$?
kjs=$(rt ps --format json k-upd 2>&1); kjrc=$?
rjs=$(runc --root "$WORK/runc" ps -f json r-upd 2>&1)
cols() { awk 'NR == 1 { print } NR > 1 { print $1, $6, $8, $9 }'; }
if [ "$krc$kjrc" = 00 ] && [ "$(echo "$kps" | cols)" = "$(echo "$rps" | cols)" ] &&
   [ "$(echo "$kjs" | jq length)" = "$(echo "$rjs" | jq length)" ] &&
   [ "$(echo "$kjs" | jq -r '.[]')" = "$(echo "$kps" | awk 'NR > 1 { print $2 }')" ] &&
   echo "$kps" | awk 'NR > 1 && ($5 !~ /^[0-9][0-9]:[0-9][0-9]$/ || $7 !~ /^00:00:0[0-9]$/) { exit 1 }'; then
	ok "ps: runc's columns and rows, json the same pids: $(echo "$kps" | sed -n 2p | tr -s ' ')"
else
	not_ok "ps as runc" "runc: $rps $rjs" "katasbx: exit $krc $kps" "json: exit $kjrc $kjs"
fi
rt ps k-upd -ef >/dev/null 2>&1; krc=$?
rt ps k-upd -o pid,comm 2>"$WORK/err" >/dev/null; krc2=$?
rt ps --format xml k-upd 2>"$WORK/err2" >/dev/null; krc3=$?
runc --root "$WORK/runc" ps --format xml r-upd >/dev/null 2>&1; rrc3=$?
if [ "$krc$krc2$krc3" = "01$rrc3" ] && grep -q "run ps there: exec k-upd ps ARGS" "$WORK/err" &&
   grep -q "invalid format option" "$WORK/err2"; then
	ok "ps -ef is the table; other ps options refused, naming exec: $(cat "$WORK/err")"
else
	not_ok "ps options" "exits $krc $krc2 $krc3 (runc $rrc3)" "$(cat "$WORK/err" "$WORK/err2")"
fi
# exec without --process: the bundle's process (its capabilities, env, cwd, user,
# noNewPrivileges, HOME from the container's passwd) with runc's flags applied, as runc
xcmd='grep -E "^(Cap|NoNewPrivs)" /proc/self/status; env | sort; pwd; id'
for flags in "" "--cap CAP_SYS_ADMIN --additional-gids 10 --additional-gids 20 --cwd /bin --env A=b --user 1000:1000"; do
	rout=$(runc --root "$WORK/runc" exec $flags r-upd sh -c "$xcmd" 2>&1); rrc=$?
	kout=$(rt exec $flags k-upd sh -c "$xcmd" 2>&1); krc=$?
	if [ "$rrc$krc" = 00 ] && [ "$rout" = "$kout" ]; then
		ok "exec ${flags:-(no flags)}: the same process as runc's: $(echo "$kout" | grep -E '^(CapEff|uid)' | tr '\n' ' ')"
	else
		not_ok "exec $flags as runc" "runc: exit $rrc $(echo $rout)" "katasbx: exit $krc $(echo $kout)"
	fi
done
rt exec --cgroup sub k-upd true 2>"$WORK/err"; krc=$?
rt exec --apparmor x k-upd true 2>"$WORK/err2"; krc2=$?
if [ "$krc$krc2" = 10 ] && grep -q "exec: --cgroup sub: a sub-cgroup of the container's is not supported" "$WORK/err" &&
   grep -q "warning: exec: --apparmor: not applied" "$WORK/err2"; then
	ok "exec --cgroup refused, --apparmor warned of: $(cat "$WORK/err")"
else
	not_ok "exec --cgroup, --apparmor" "exits $krc $krc2 $(cat "$WORK/err" "$WORK/err2")"
fi
# list and state: runc's columns and keys (rootfs, owner; annotations only when any)
krow=$(rt list | awk 'NR == 1 || $1 == "k-upd" { print $3, $4, $6 }')
rrow=$(runc --root "$WORK/runc" list | awk 'NR == 1 || $1 == "r-upd" { print $3, $4, $6 }')
khead=$(rt list | head -n 1 | tr -s ' '); rhead=$(runc --root "$WORK/runc" list | head -n 1 | tr -s ' ')
pick='.[] | select(.id == $i) | [keys, .status, .bundle, .rootfs, .owner]'
kjson=$(rt list -f json | jq -c --arg i k-upd "$pick")
rjson=$(runc --root "$WORK/runc" list -f json | jq -c --arg i r-upd "$pick")
kst=$(rt state k-upd | jq -c 'keys'); rst=$(runc --root "$WORK/runc" state r-upd | jq -c 'keys')
if [ "$khead" = "$rhead" ] && [ "$krow" = "$rrow" ] && [ -n "$kjson" ] && [ "$kjson" = "$rjson" ] &&
   [ "$kst" = "$rst" ]; then
	ok "list (table, json) and state: runc's columns and keys: $kjson"
else
	not_ok "list and state as runc" "table: '$khead' '$krow'" "runc: '$rhead' '$rrow'" \
		"json: $kjson" "runc: $rjson" "state keys: $kst, runc's $rst"
fi
# events --stats: runc's document (its keys; memory and pids as runc gives them on a
# cgroup v2 host) with the guest cgroup's numbers, the limits just set among them, and
# one key more, sandbox_host: the sandbox's host cgroup (what the VM costs on the host)
rt update --memory 48m --pids-limit 30 k-upd
rt events --stats k-upd >"$WORK/ev.json" 2>"$WORK/err"; krc=$?
runc --root "$WORK/runc" events --stats r-upd >"$WORK/rev.json"
if [ "$krc" = 0 ] && [ ! -s "$WORK/err" ] &&
   [ "$(jq -c '[.type, .id, (.data | keys - ["sandbox_host"])]' "$WORK/ev.json")" = "$(jq -c '[.type, "k-upd", (.data | keys)]' "$WORK/rev.json")" ] &&
   jq -e '.data.sandbox_host.memory.usage > .data.memory.usage.usage' "$WORK/ev.json" >/dev/null &&
   jq -e --slurpfile r "$WORK/rev.json" '(.data.memory.usage | keys) - ($r[0].data.memory.usage | keys) == [] and
	.data.memory.usage.limit == 50331648 and .data.memory.usage.usage > 0 and
	.data.pids == {"current": 1, "limit": 30} and .data.cpu.usage.total > 0 and
	(.data.memory.raw | has("anon")) and .data.memory.swap.usage >= .data.memory.usage.usage' \
	"$WORK/ev.json" >/dev/null; then
	ok "events --stats: runc's keys, the guest cgroup's numbers: $(jq -c '[.data.memory.usage, .data.pids]' "$WORK/ev.json")"
else
	not_ok "events --stats" "exit $krc $(cat "$WORK/err")" "$(jq -c 'del(.data.memory.raw)' "$WORK/ev.json")" \
		"runc: $(jq -c '.data | keys' "$WORK/rev.json")"
fi
# events: stats every --interval, and an oom event when the OOM killer ends a process
# (tail of /dev/zero holds one endless line: it grows past the 48m limit)
rt events --interval 300ms k-upd >"$WORK/evs" 2>"$WORK/err" &
evpid=$!
rt exec k-upd tail /dev/zero >/dev/null 2>&1; xrc=$?
for _ in $(seq 60); do grep -q '"type":"oom"' "$WORK/evs" && break; sleep 0.1; done
sleep 1
kill $evpid; wait $evpid 2>/dev/null
nstats=$(grep -c '"type":"stats"' "$WORK/evs")
if [ "$xrc" = 137 ] && [ "$nstats" -ge 3 ] && grep -qx '{"type":"oom","id":"k-upd"}' "$WORK/evs" &&
   ! grep -v '^{"type":"\(stats\|oom\)","id":"k-upd"' "$WORK/evs" | grep -q .; then
	ok "events --interval 300ms: $nstats stats events and the oom of tail /dev/zero (exit $xrc)"
else
	not_ok "events loop" "exec exit $xrc, $nstats stats" "$(grep -v stats "$WORK/evs" | head -n 3)" "$(cat "$WORK/err")"
fi
# a VM does not grow: a limit above what it has is taken, with a warning
rt update --memory 1g --cpu-quota 200000 --cpu-period 100000 k-upd 2>"$WORK/err"; krc=$?
if [ "$krc" = 0 ] && grep -q "update: memory.limit: 1073741824 bytes is above what the container's VM (256 MiB, sized at create) leaves it" "$WORK/err" &&
   grep -q "update: cpu.quota: a quota of 200000 100000 us is above the VM's 1 CPU(s)" "$WORK/err"; then
	ok "update above the VM's size: taken, with a warning: $(head -n 1 "$WORK/err")"
else
	not_ok "update above the VM's size" "exit $krc $(cat "$WORK/err")"
fi
runc --root "$WORK/runc" kill r-upd KILL; rt kill k-upd KILL
status_within 5 stopped runc --root "$WORK/runc" state r-upd
rt events k-upd >"$WORK/evs" 2>"$WORK/err"; krc=$?
rt events --stats k-upd 2>"$WORK/err2"; krc2=$?
runc --root "$WORK/runc" events --stats r-upd 2>"$WORK/runc.err"; rrc2=$?
if [ "$krc$krc2$rrc2" = 111 ] && [ ! -s "$WORK/evs" ] && grep -q "container with id k-upd is not running" "$WORK/err2" &&
   grep -q "is not running" "$WORK/runc.err" &&
   [ "$(rt ps k-upd)" = "$(runc --root "$WORK/runc" ps r-upd)" ] &&
   [ "$(rt ps -f json k-upd)" = "$(runc --root "$WORK/runc" ps -f json r-upd)" ]; then
	ok "a stopped container: events says runc's words, ps shows no process, as runc"
else
	not_ok "events and ps of a stopped container" "events: exit $krc $krc2 (runc $rrc2) $(cat "$WORK/err" "$WORK/err2")" \
		"ps: $(rt ps k-upd 2>&1) $(rt ps -f json k-upd 2>&1)"
fi
for id in upd nosuch; do
	runc --root "$WORK/runc" update --memory 32m "r-$id" 2>"$WORK/runc.err"; rrc=$?
	rt update --memory 32m "k-$id" 2>"$WORK/err"; krc=$?
	words="container not running"; [ $id = nosuch ] && words="does not exist"
	if [ "$rrc$krc" = 11 ] && grep -q "$words" "$WORK/err" && grep -q "$words" "$WORK/runc.err"; then
		ok "update of a $([ $id = upd ] && echo stopped || echo missing) container: exit 1, runc's words: $(cat "$WORK/err")"
	else
		not_ok "update of k-$id" "runc: exit $rrc $(cat "$WORK/runc.err")" "katasbx: exit $krc $(cat "$WORK/err")"
	fi
done
runc --root "$WORK/runc" delete -f r-upd >/dev/null 2>&1; rt delete --force k-upd >/dev/null 2>&1

# run in the foreground deletes the container once it exited, as runc's; --keep keeps it
d=$(mkcase gone "$A = [\"true\"]")
(cd "$d" && runc --root "$WORK/runc" run r-gone >/dev/null 2>&1 </dev/null)
runc --root "$WORK/runc" state r-gone >/dev/null 2>&1; rstate=$?
rt run --bundle "$d" k-gone >/dev/null 2>&1 </dev/null; krc=$?
rt state k-gone >/dev/null 2>"$WORK/err"; kstate=$?
rt run --keep --bundle "$d" k-kept >/dev/null 2>&1 </dev/null
kept=$(rt state k-kept 2>&1 | jq -r .status 2>/dev/null)
if [ "$krc" = 0 ] && [ "$rstate" = 1 ] && [ "$kstate" = 1 ] && grep -q "does not exist" "$WORK/err" &&
   [ ! -e "$ROOT/k-gone" ] && [ "$kept" = stopped ]; then
	ok "run deletes the container once it exited, as runc; run --keep keeps it, stopped"
else
	not_ok "run deletes, --keep keeps" "run: exit $krc, state after: exit $kstate (runc $rstate) $(cat "$WORK/err")" \
		"--keep: status '$kept'"
fi
rt delete k-kept >/dev/null 2>&1

# kill: a created container dies of TERM, as runc's; a delete right after kill -9
# works; kill of a stopped one says runc's words
d=$(mkcase killme "$A = [\"sleep\", \"100\"]")
(cd "$d" && runc --root "$WORK/runc" create r-kc >/dev/null 2>&1 </dev/null)
# exec into a created container works under runc: its init waits in its namespaces
rout=$(runc --root "$WORK/runc" exec r-kc sh -c 'echo in; hostname' 2>&1); rrc=$?
runc --root "$WORK/runc" kill r-kc TERM
status_within 5 stopped runc --root "$WORK/runc" state r-kc && rst=stopped || rst=not-stopped
runc --root "$WORK/runc" delete -f r-kc >/dev/null 2>&1
rt create --bundle "$d" k-kc >/dev/null 2>&1 </dev/null
kout=$(rt exec k-kc sh -c 'echo in; hostname' 2>&1); krc=$?
kst=$(rt state k-kc | jq -r .status)
if [ "$rrc$krc" = 00 ] && [ "$kout" = "$rout" ] && [ "$kst" = created ]; then
	ok "exec into a created container, as runc: $(echo $kout); still created"
else
	not_ok "exec into a created container" "runc: exit $rrc $rout" "katasbx: exit $krc $kout, $kst"
fi
rt kill k-kc TERM
status_within 5 stopped rt state k-kc && kst=stopped || kst="$(rt state k-kc 2>&1 | jq -r .status)"
if [ "$rst" = stopped ] && [ "$kst" = stopped ]; then
	ok "kill TERM of a created container stops it, as under runc"
else
	not_ok "kill TERM of a created container" "runc: $rst" "katasbx: $kst"
fi
rt kill k-kc TERM 2>"$WORK/err"; krc=$?
if [ "$krc" = 1 ] && grep -q "container not running" "$WORK/err"; then
	ok "kill of a stopped container: exit 1, runc's words ($(cat "$WORK/err"))"
else
	not_ok "kill of a stopped container" "exit $krc $(cat "$WORK/err")"
fi
rt delete k-kc >/dev/null 2>&1
(cd "$d" && runc --root "$WORK/runc" run -d r-k9 >/dev/null 2>&1 </dev/null)
runc --root "$WORK/runc" kill r-k9 KILL && runc --root "$WORK/runc" delete r-k9; rrc=$?
rt run --detach --bundle "$d" k-k9 >/dev/null 2>&1 </dev/null
rt kill k-k9 KILL && rt delete k-k9 2>"$WORK/err"; krc=$?
if [ "$rrc" = 0 ] && [ "$krc" = 0 ] && [ -z "$(nothing_left k-k9)" ]; then
	ok "delete right after kill -9 works, as under runc"
else
	not_ok "delete right after kill -9" "runc: $rrc" "katasbx: $krc $(cat "$WORK/err")"
fi
rt delete --force k-k9 >/dev/null 2>&1

# The command line: --help for every command, one line for a flag a command lacks,
# runc's exit codes.
bad=
for c in create start run state kill delete exec update pause resume ps events list check template pool spec features; do
	out=$(rt "$c" --help 2>&1) && echo "$out" | grep -q "^usage: katasbx-runtime .*$c" || bad="$bad $c"
done
[ -z "$bad" ] && ok "--help of every command exits 0 with its usage" || not_ok "--help of:$bad"
for args in "run --bogus x" "delete -z x" "--bogus list" "run --bundle"; do
	rt $args >/dev/null 2>"$WORK/err"; krc=$?
	runc --root "$WORK/runc" $args >/dev/null 2>&1; rrc=$?
	if [ "$krc" = "$rrc" ] && [ "$(wc -l <"$WORK/err")" = 1 ] &&
	   grep -Eq '^katasbx-runtime: .*flag (--bogus|-z|--bundle) (is not one of its flags|needs a value)' "$WORK/err"; then
		ok "katasbx-runtime $args: exit $krc as runc, one line: $(cat "$WORK/err")"
	else
		not_ok "katasbx-runtime $args: one line, runc's exit code" "exit $krc (runc $rrc)" "$(cat "$WORK/err")"
	fi
done
# --preserve-fds: 0 as runc; more refused before anything is made (runc hands the host's
# descriptors 3.. to the process; a VM's process cannot have them)
d=$(mkcase pfds "$A = [\"true\"]")
(cd "$d" && runc --root "$WORK/runc" run --preserve-fds 0 --no-subreaper r-pfds >/dev/null 2>&1 </dev/null); rrc=$?
rt run --preserve-fds 0 --no-subreaper --bundle "$d" k-pfds >/dev/null 2>"$WORK/err" </dev/null; krc=$?
rt run --preserve-fds 2 --bundle "$d" k-pfds2 >/dev/null 2>"$WORK/err2" </dev/null 3</dev/null 4</dev/null; krc2=$?
rt exec --preserve-fds x k-pfds true 2>"$WORK/err3"; krc3=$?
if [ "$rrc$krc$krc2$krc3" = 0011 ] && [ ! -s "$WORK/err" ] &&
   grep -q "run: --preserve-fds 2: the container's processes run in a VM" "$WORK/err2" &&
   grep -q 'invalid value "x" for flag --preserve-fds' "$WORK/err3" && left=$(nothing_left k-pfds2); then
	ok "--preserve-fds 0 (and --no-subreaper) runs as under runc; 2 is refused, nothing left: $(cat "$WORK/err2")"
else
	not_ok "--preserve-fds" "runc: exit $rrc" "katasbx: exits $krc $krc2 $krc3 $(cat "$WORK/err" "$WORK/err2" "$WORK/err3")" "${left:-}"
fi
rt delete --force k-pfds >/dev/null 2>&1
# what is refused of a running container: runc's exit status, and its words in ours
d=$(mkcase words "$A = [\"sleep\", \"100\"]")
(cd "$d" && runc --root "$WORK/runc" run -d r-words >/dev/null 2>&1 </dev/null)
rt run -d --bundle "$d" k-words >/dev/null 2>&1 </dev/null
for c in "delete|is not stopped: running" "start|cannot start an already running container" \
	 "resume|container not paused" "create|already exists"; do
	words=${c#*|} c=${c%|*}
	(cd "$d" && runc --root "$WORK/runc" $c r-words >/dev/null 2>"$WORK/runc.err" </dev/null); rrc=$?
	if [ "$c" = create ]; then
		rt create --bundle "$d" k-words >/dev/null 2>"$WORK/err" </dev/null; krc=$?
	else
		rt $c k-words 2>"$WORK/err"; krc=$?
	fi
	if [ "$rrc$krc" = 11 ] && grep -q "$words" "$WORK/err" && grep -q "$words" "$WORK/runc.err" &&
	   [ "$(rt state k-words | jq -r .status)" = running ]; then
		ok "$c of a running container: exit 1, runc's words: $(cat "$WORK/err")"
	else
		not_ok "$c of a running container" "runc: exit $rrc $(cat "$WORK/runc.err")" "katasbx: exit $krc $(cat "$WORK/err")"
	fi
done
runc --root "$WORK/runc" delete -f r-words >/dev/null 2>&1; rt delete -f k-words >/dev/null 2>&1
# runc's global flags that change nothing here are taken; checkpoint says why it cannot
rt --rootless false --criu /usr/sbin/criu --systemd-cgroup list >/dev/null 2>"$WORK/err"; krc=$?
runc --root "$WORK/runc" --rootless false --criu /usr/sbin/criu list >/dev/null 2>&1; rrc=$?
rt checkpoint k-x 2>"$WORK/err2"; krc2=$?
if [ "$krc$rrc$krc2" = 001 ] && [ ! -s "$WORK/err" ] &&
   grep -q "checkpoint: not supported: a container's state is its VM's" "$WORK/err2"; then
	ok "--rootless, --criu, --systemd-cgroup taken as runc takes them; checkpoint: $(cat "$WORK/err2")"
else
	not_ok "runc's global flags, checkpoint" "exit $krc (runc $rrc) $(cat "$WORK/err")" "checkpoint: exit $krc2 $(cat "$WORK/err2")"
fi
rt delete --force nosuch 2>"$WORK/err"; krc=$?
runc --root "$WORK/runc" delete --force nosuch 2>/dev/null; rrc=$?
rt delete nosuch 2>"$WORK/err2"; krc2=$?
runc --root "$WORK/runc" delete nosuch 2>/dev/null; rrc2=$?
if [ "$krc$rrc" = 00 ] && [ ! -s "$WORK/err" ] && [ "$krc2" = "$rrc2" ] && grep -q "does not exist" "$WORK/err2"; then
	ok "delete --force of a container that does not exist exits 0, delete of one exits $krc2, as runc"
else
	not_ok "delete of a container that does not exist" "--force: exit $krc (runc $rrc) $(cat "$WORK/err")" \
		"plain: exit $krc2 (runc $rrc2) $(cat "$WORK/err2")"
fi
rt state $'two\nlines' 2>"$WORK/err"
if [ "$(wc -l <"$WORK/err")" = 1 ] && grep -qF 'invalid container id "two\nlines"' "$WORK/err"; then
	ok "an id with a newline is quoted on one line: $(cat "$WORK/err")"
else
	not_ok "an id with a newline, quoted" "$(cat "$WORK/err")"
fi
v=$("$RT" --version)
if echo "$v" | grep -q '^katasbx-runtime version ' && echo "$v" | grep -Eq '^commit: [0-9a-f]{12}|^commit: unknown' &&
   echo "$v" | grep -q '^spec: 1\.'; then
	ok "--version: $(echo $v)"
else
	not_ok "--version names the version, the commit and the spec" "$v"
fi

# features: runc 1.1's document, of what this build takes: its keys are runc's, its
# lists within runc's (the same capabilities), cgroup v1 and v2 (the host's), no systemd driver
rt features >"$WORK/kf.json" 2>"$WORK/err"; krc=$?
runc features >"$WORK/rf.json"
keys='[paths | select(.[-1] | type == "string") | join(".")] | map(select(startswith("annotations.") | not)) | sort'
sub() { jq -e --slurpfile r "$WORK/rf.json" "$1" "$WORK/kf.json" >/dev/null; }
if [ "$krc" = 0 ] && [ ! -s "$WORK/err" ] &&
   [ "$(jq -c "$keys" "$WORK/kf.json")" = "$(jq -c "$keys" "$WORK/rf.json")" ] &&
   sub '(.hooks - $r[0].hooks) == [] and (.mountOptions - $r[0].mountOptions) == []' &&
   sub '.linux.capabilities == $r[0].linux.capabilities' &&
   sub '(.linux.namespaces | index("user")) != null and (.linux.namespaces - $r[0].linux.namespaces) == []' &&
   sub '(.linux.seccomp.actions - $r[0].linux.seccomp.actions) == [] and (.linux.seccomp.archs | index("SCMP_ARCH_X86_64"))' &&
   sub '.linux.cgroup == {"v1": true, "v2": true, "systemd": false, "systemdUser": false}' &&
   sub '.hooks | length == 6' &&
   sub ".ociVersionMax == \"$("$RT" --version | sed -n 's/^spec: //p')\""; then
	ok "features: runc's document, within runc's lists: $(jq -c '.linux.namespaces' "$WORK/kf.json")"
else
	not_ok "features" "exit $krc $(cat "$WORK/err")" "$(diff <(jq -c "$keys" "$WORK/kf.json") <(jq -c "$keys" "$WORK/rf.json") | head -n 5)"
fi

# spec: runc spec's config.json but for the hostname and the version; it runs as it
# is, an interactive sh on a terminal
mkdir -p "$WORK/spec" && cp -a "$BASE/rootfs" "$WORK/spec/rootfs"
rt spec --bundle "$WORK/spec" && rt spec --bundle "$WORK/spec" 2>"$WORK/err"; krc=$?
if [ "$krc" = 1 ] && grep -q "config.json exists. Remove it first" "$WORK/err" &&
   diff <(jq -S 'del(.hostname, .ociVersion)' "$BASE/config.json") \
	<(jq -S 'del(.hostname, .ociVersion)' "$WORK/spec/config.json") >"$WORK/diff"; then
	ok "spec writes runc spec's config.json (but hostname, version) and refuses to overwrite one"
else
	not_ok "spec" "second spec: exit $krc $(cat "$WORK/err")" "$(head -n 8 "$WORK/diff")"
fi
mkdir -p "$WORK/spec-rl"
rt spec --rootless --bundle "$WORK/spec-rl" 2>"$WORK/err"; krc=$?
if [ "$krc" = 1 ] && [ ! -e "$WORK/spec-rl/config.json" ] && grep -q "spec --rootless: a rootless spec shares the host's network namespace" "$WORK/err"; then
	ok "spec --rootless refused, no file written: $(cat "$WORK/err")"
else
	not_ok "spec --rootless" "exit $krc $(cat "$WORK/err")" "$(ls "$WORK/spec-rl")"
fi
# script(1) gives it a terminal; timeout stays in the terminal's foreground process group
# (else the runtime's raw-mode tcsetattr stops it); the input comes once sh can be up
out=$(cd "$WORK/spec" && { sleep 5; printf 'echo from-$((1+2)); exit 3\n'; sleep 3; } |
	SHELL=/bin/sh script -qec "timeout --foreground 120 $RT --root $ROOT run spec1" /dev/null |
	tr -d '\r')
rc=$?
if echo "$out" | grep -qx "from-3"; then
	ok "spec's config.json runs as it is: an interactive sh on a terminal"
else
	not_ok "spec's config.json runs as it is" "rc=$rc" "$out"
fi

# The settings file: Documentation/runtime.md's sample, as written, is taken
sed -n '/^## Settings/,/^Without/p' "$here/Documentation/runtime.md" | sed -n '/^```$/,/^```$/p' |
	sed '1d;$d' >"$WORK/sample.conf"
if [ "$(wc -l <"$WORK/sample.conf")" -ge 10 ] && grep -q '#' "$WORK/sample.conf" &&
   "$RT" --config "$WORK/sample.conf" --root "$ROOT" list >/dev/null 2>"$WORK/err"; then
	ok "runtime.md's sample settings file, comments and all, is taken as written"
else
	not_ok "runtime.md's sample settings file" "$(cat "$WORK/err")" "$(head -n 3 "$WORK/sample.conf")"
fi

# check: the settings file it read; --boot boots a guest as a sandbox's, leaving nothing;
# one that does not answer (a boot timeout too short) says so, with QEMU's last line
out=$("$RT" --config "$WORK/sample.conf" --root "$ROOT" --kernel "$here/build/guest/vmlinux" \
	--initrd "$here/build/guest/initrd.img" --accel tcg check --boot 2>&1); rc=$?
"$RT" --root "$ROOT" --boot-timeout 200 --accel tcg check --boot >"$WORK/chk" 2>&1; rc2=$?
if [ "$rc$rc2" = 01 ] && echo "$out" | grep -q "^settings: *$WORK/sample.conf$" &&
   echo "$out" | grep -Eq '^boot: *a guest booted with tcg in [0-9.]+ s$' &&
   grep -q "^settings: *none" "$WORK/chk" &&
   grep -q "^boot: *failed with tcg: the guest agent did not answer (.*QEMU's: " "$WORK/chk" &&
   [ -z "$(ls -A "$ROOT" | grep '^\.check')" ] && ! pgrep -f "$ROOT/\.check" >/dev/null; then
	ok "check --boot: $(echo "$out" | grep '^boot:' | tr -s ' '); too short a timeout: exit 1, said"
else
	not_ok "check --boot" "exit $rc: $(echo "$out" | grep -E '^(settings|boot):')" \
		"short timeout: exit $rc2 $(grep -E '^(settings|boot):' "$WORK/chk")" "$(ls -A "$ROOT")"
fi

# The README's use example, as written but for its directory and --root.
ex=$WORK/readme-example.sh
{
	echo "cd '$WORK/readme' && export PATH='$here/build/bin':\$PATH"
	sed -n '/^## Use/,/^For the fastest/p' "$here/README.md" | sed -n '/^```sh$/,/^```$/p' |
		sed '1d;$d' | sed "s#^katasbx-runtime #katasbx-runtime --root '$ROOT' #"
} >"$ex"
mkdir -p "$WORK/readme"
out=$(bash -e "$ex" 2>"$WORK/err" </dev/null); rc=$?
if [ $rc -eq 0 ] && [ "$out" = "hello from a VM" ] && grep -q "runc spec" "$ex"; then
	ok "the README's use example (runc spec) prints: $out"
else
	not_ok "the README's use example" "rc=$rc out='$out'" "$(tail -n 3 "$WORK/err")"
fi

finish runc-compat
