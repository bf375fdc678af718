#!/bin/bash
# Networking end to end: a container in a VM gets the network of the network
# namespace its spec names. The test makes pairs of namespaces joined by a
# veth, with private addresses that exist only inside them (nothing leaves
# the machine): the "near" one is the sandbox's, a busybox httpd serves on
# the "far" one. Checked through a cold boot, a clone and a warm pool VM, and
# against Debian's runc with the same bundle. Prints TAP and a last line
# "network: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=network
. "$here/selftests/lib/e2e.sh"

NS=kxn$$		# every namespace of this run starts so
nets=
kp=

# mknet K: namespaces $NS-K-near (eth0: 10.200.K.2/24, fd00:200:K::2/64, MTU 1400, default
# routes via .1 and ::1) and $NS-K-far (10.200.K.1, fd00:200:K::1), an httpd on the far side
mknet() {
	local k=$1 near=$NS-$1-near far=$NS-$1-far
	ip netns add "$near" && ip netns add "$far" || return 1
	nets="$nets $near $far"
	ip -n "$near" link add eth0 type veth peer name peer0 netns "$far"
	ip -n "$near" link set eth0 mtu 1400
	ip -n "$far" link set peer0 mtu 1400
	ip -n "$near" addr add "10.200.$k.2/24" dev eth0
	ip -n "$near" addr add "fd00:200:$k::2/64" dev eth0 nodad
	ip -n "$far" addr add "10.200.$k.1/24" dev peer0
	ip -n "$far" addr add "fd00:200:$k::1/64" dev peer0 nodad
	for ns in "$near" "$far"; do ip -n "$ns" link set lo up; done
	ip -n "$near" link set eth0 up
	ip -n "$far" link set peer0 up
	ip -n "$near" route add default via "10.200.$k.1"
	ip -n "$near" -6 route add default via "fd00:200:$k::1"
	mkdir -p "$WORK/www-$k"
	echo "hello from far side $k" >"$WORK/www-$k/hello.txt"
	ip netns exec "$far" busybox httpd -p 8080 -h "$WORK/www-$k"
}
nspath() { echo "/run/netns/$NS-$1-near"; }

# netbundle NAME K ARGS: a busybox bundle whose network namespace is $NS-K-near's
netbundle() {
	local b
	b=$(bundle "$1" "$3")
	jq --arg p "$(nspath "$2")" \
		'.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		"$b/config.json" >"$b/c.new" && mv "$b/c.new" "$b/config.json"
	echo "$b"
}

# wired K: what of ours is in $NS-K-near: taps, ingress qdiscs, filters (empty: nothing)
wired() {
	local ns=$NS-$1-near
	ip -n "$ns" -o link show | grep -o 'kxtap[0-9]*'
	ip netns exec "$ns" tc qdisc show dev eth0 | grep ingress
	ip netns exec "$ns" tc filter show dev eth0 ingress | grep mirred
}

net_cleanup() {
	[ -n "$kp" ] && kill -TERM "$kp" 2>/dev/null && wait_for 20 gone "$kp"
	for id in $(rt list -q 2>/dev/null); do rt delete --force "$id" >/dev/null 2>&1; done
	pkill -KILL -f "$WORK/" 2>/dev/null
	for ns in $nets; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	for m in $(mounts_under "$WORK" | sort -r); do umount -l "$m" 2>/dev/null; done
	rm -rf "$WORK"
}
trap net_cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "TAP version 13"

for k in 1 2 3 4; do
	mknet $k || { not_ok "make the test's network namespaces" "ip netns add failed"; finish network; exit; }
done

# show K: a script for the container: what it sees of its network, one fact a line,
# then the far side's file over IPv4 and IPv6
show() {
	cat <<SH
ip -o link show eth0 | sed -n 's/.*mtu \([0-9]*\).*link\/ether \([0-9a-f:]*\).*/mtu=\1 mac=\2/p'
ip -o -4 addr show dev eth0 | awk '{print "inet=" \$4}'
ip -o -6 addr show dev eth0 scope global | awk '{print "inet6=" \$4}'
ip route | grep ^default | awk '{print "route=" \$1 " via " \$3}'
ip -6 route | grep ^default | awk '{print "route6=" \$1 " via " \$3}'
timeout 10 wget -q -O - http://10.200.$1.1:8080/hello.txt
timeout 10 wget -q -O - "http://[fd00:200:$1::1]:8080/hello.txt"
SH
}

# --- lo, without a namespace path ----------------------------------------------------
b=$(bundle lo '"sh", "-c", "ip -o link | grep -c ^; ip -o addr show lo | awk \"{print \\$4}\"; mkdir /www; echo lo-ok >/www/x; httpd -p 8000 -h /www; timeout 5 wget -q -O - http://127.0.0.1:8000/x; timeout 5 wget -q -O - http://[::1]:8000/x"')
out=$(rt run --keep --bundle "$b" lo 2>"$WORK/err" </dev/null | tr '\n' ' '); rc=$?
if [ "$out" = "1 127.0.0.1/8 ::1/128 lo-ok lo-ok " ] && [ ! -s "$WORK/err" ]; then
	ok "a new network namespace without a path: lo only, up, 127.0.0.1 and ::1 answer ($out)"
else
	not_ok "lo in a container without a namespace path" "rc=$rc out='$out'" "$(cat "$WORK/err")"
fi
rt delete lo >/dev/null 2>&1
b=$(bundle hostnet '"sh", "-c", "ip -o addr show lo | awk \"{print \\$4}\""')
jq '.linux.namespaces |= map(select(.type != "network"))' "$b/config.json" >"$b/c.new" &&
	mv "$b/c.new" "$b/config.json"
out=$(rt run --keep --bundle "$b" hostnet 2>"$WORK/err" </dev/null | tr '\n' ' ')
if echo "$out" | grep -q "127.0.0.1/8 ::1/128" && grep -q "no network namespace" "$WORK/err" &&
   [ "$(wc -l <"$WORK/err")" -eq 1 ]; then
	ok "no network namespace in the spec: one warning, lo up ($(cat "$WORK/err"))"
else
	not_ok "no network namespace" "out='$out'" "$(cat "$WORK/err")"
fi
rt delete hostnet >/dev/null 2>&1

# --- the namespace's network, as runc gives it -------------------------------------------
near_mac=$(ip -n "$NS-1-near" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
want="mtu=1400 mac=$near_mac inet=10.200.1.2/24 inet6=fd00:200:1::2/64 route=default via 10.200.1.1 route6=default via fd00:200:1::1 hello from far side 1 hello from far side 1 "
b=$(netbundle show 1 '"sh", "/show.sh"')
show 1 >"$b/rootfs/show.sh"
runc_out=$(runc --root "$WORK/runc" run --bundle "$b" runc-show 2>"$WORK/runc.err" </dev/null | tr '\n' ' ')
runc --root "$WORK/runc" delete -f runc-show >/dev/null 2>&1
[ "$runc_out" = "$want" ] && ok "runc, the same bundle: $runc_out" ||
	not_ok "runc sees the namespace as expected" "got  '$runc_out'" "want '$want'" \
		"$(cat "$WORK/runc.err")"
for mode in cold clone; do
	case $mode in
	cold) opt="--template off" wantboot=cold ;;
	clone) opt= wantboot=clone: ;;
	esac
	# shellcheck disable=SC2086
	out=$(rt $opt run --keep --bundle "$b" "show-$mode" 2>"$WORK/err" </dev/null | tr '\n' ' '); rc=$?
	got=$(boot_of "show-$mode")
	if [ $rc -eq 0 ] && [ "$out" = "$runc_out" ] && [ "${got#"$wantboot"}" != "$got" ]; then
		ok "$mode ($got): eth0 with the veth's MAC, MTU, addresses and routes; the far side's server over IPv4 and IPv6; as under runc"
	else
		not_ok "$mode: the namespace's network" "rc=$rc boot=$got" "got  '$out'" \
			"runc '$runc_out'" "$(cat "$WORK/err")"
	fi
	rt delete "show-$mode" >/dev/null 2>&1
	w=$(wired 1)
	if [ -z "$w" ] && why=$(nothing_left "show-$mode"); then
		ok "$mode: after delete no tap, qdisc or filter is left in the namespace, no QEMU"
	else
		not_ok "$mode: left behind" "$w" "$why"
	fi
done

# --- the other way: a server in a detached container, a client on the far side ----------
b=$(netbundle srv 2 '"sh", "-c", "mkdir -p /www; echo served-from-the-vm >/www/x; exec httpd -f -p 8080 -h /www"')
rt run --keep -d --bundle "$b" srv </dev/null >/dev/null 2>"$WORK/err"; rc=$?
got4= got6=
for _ in $(seq 1 50); do
	got4=$(ip netns exec "$NS-2-far" timeout 5 busybox wget -q -O - http://10.200.2.2:8080/x 2>/dev/null) &&
		break
	sleep 0.2
done
got6=$(ip netns exec "$NS-2-far" timeout 5 busybox wget -q -O - "http://[fd00:200:2::2]:8080/x" 2>&1)
if [ $rc -eq 0 ] && [ "$got4" = served-from-the-vm ] && [ "$got6" = served-from-the-vm ]; then
	ok "a client on the far side reaches a server in the container over IPv4 and IPv6 ($(boot_of srv))"
else
	not_ok "server in the container" "rc=$rc v4='$got4' v6='$got6'" "$(cat "$WORK/err")"
fi
rt kill srv KILL >/dev/null 2>&1
wait_status srv stopped 20
rt delete srv >/dev/null 2>&1
w=$(wired 2)
[ -z "$w" ] && ok "killed and deleted: nothing left in the namespace" || not_ok "left after kill" "$w"

# --- two clones at once, each with its own veth's MAC ------------------------------------
for k in 3 4; do
	b=$(netbundle mac$k $k '"sh", "-c", "cat /sys/class/net/eth0/address; timeout 10 wget -q -O - http://10.200.'$k'.1:8080/hello.txt"')
done
rt run --keep --bundle "$WORK/mac3" mac3 >"$WORK/mac3.out" 2>&1 </dev/null &
p3=$!
rt run --keep --bundle "$WORK/mac4" mac4 >"$WORK/mac4.out" 2>&1 </dev/null
wait $p3
m3=$(ip -n "$NS-3-near" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
m4=$(ip -n "$NS-4-near" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
if [ "$(tr '\n' ' ' <"$WORK/mac3.out")" = "$m3 hello from far side 3 " ] &&
   [ "$(tr '\n' ' ' <"$WORK/mac4.out")" = "$m4 hello from far side 4 " ] && [ "$m3" != "$m4" ]; then
	ok "two clones of one template at once: each has its own veth's MAC ($m3, $m4), not the template's, and its own network"
else
	not_ok "two clones" "mac3: $(tr '\n' ' ' <"$WORK/mac3.out") (want $m3)" \
		"mac4: $(tr '\n' ' ' <"$WORK/mac4.out") (want $m4)"
fi
rt delete mac3 >/dev/null 2>&1; rt delete mac4 >/dev/null 2>&1

# --- a crashed monitor: delete --force undoes the wiring ---------------------------------
b=$(netbundle crash 3 '"sleep", "1000"')
rt run --keep -d --bundle "$b" crash </dev/null >/dev/null 2>"$WORK/err"
before=$(wired 3 | wc -l)
mon=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$ROOT/crash/state.json")
kill -KILL "$mon"
wait_for 10 gone "$mon"
rt delete --force crash 2>"$WORK/err"; rc=$?
w=$(wired 3)
if [ "$before" -ge 3 ] && [ $rc -eq 0 ] && [ -z "$w" ] && why=$(nothing_left crash); then
	ok "monitor killed: delete --force removes the tap, qdisc and filter it left"
else
	not_ok "delete after a crash" "wired before: $before lines; rc=$rc" "left: $w" "${why:-}" \
		"$(cat "$WORK/err")"
fi

# --- a warm pool VM: its tap waits in a namespace of its own, then moves -----------------
"$RT" --root "$ROOT" --debug --log "$WORK/keeper.log" pool --size 1 --interfaces 1 \
	>"$WORK/keeper.out" 2>"$WORK/keeper.err" </dev/null &
kp=$!
wait_for 180 sh -c "grep -q '^ready: ' '$WORK/keeper.out' || ! kill -0 $kp 2>/dev/null"
if grep -q '^ready: ' "$WORK/keeper.out"; then
	b=$(netbundle warm 2 '"sh", "/show.sh"')
	show 2 >"$b/rootfs/show.sh"
	runc_out=$(runc --root "$WORK/runc" run --bundle "$b" runc-warm 2>&1 </dev/null | tr '\n' ' ')
	runc --root "$WORK/runc" delete -f runc-warm >/dev/null 2>&1
	out=$(rt run --keep --bundle "$b" warm 2>"$WORK/err" </dev/null | tr '\n' ' '); rc=$?
	got=$(boot_of warm)
	if [ $rc -eq 0 ] && [ "$out" = "$runc_out" ] && [ "${got#warm:}" != "$got" ]; then
		ok "warm ($got): the pool VM's tap moves into the namespace; the network as under runc"
	else
		not_ok "warm: the namespace's network" "rc=$rc boot=$got" "got  '$out'" \
			"runc '$runc_out'" "$(cat "$WORK/err")"
	fi
	rt delete warm >/dev/null 2>&1
	w=$(wired 2)
	[ -z "$w" ] && ok "warm: nothing left in the namespace after delete" || not_ok "warm: left" "$w"
	b=$(bundle warm-nonet '"true"')
	rt run --keep --bundle "$b" warm-nonet >/dev/null 2>&1 </dev/null
	got=$(boot_of warm-nonet)
	[ "${got#clone:}" != "$got" ] && ok "a sandbox without interfaces does not take a VM with one: it clones ($got)" ||
		not_ok "a sandbox without network took $got"
	rt delete warm-nonet >/dev/null 2>&1
else
	not_ok "pool --interfaces 1 ready within 180 s" "$(cat "$WORK/keeper.out" "$WORK/keeper.err")" \
		"$(tail -n 5 "$WORK/keeper.log" 2>/dev/null)"
fi
kill -TERM "$kp" 2>/dev/null
wait_for 60 gone "$kp"
kp=

# --- bad input: one line naming what is wrong, nothing left -------------------------------
b=$(netbundle bad 1 '"true"')
setpath() { jq --arg p "$1" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
	"$b/config.json" >"$b/c.new" && mv "$b/c.new" "$b/config.json"; }
idx=$(jq '[.linux.namespaces[].type] | index("network")' "$b/config.json")
setpath /run/netns/$NS-none
expect_fail "a namespace path that does not exist" \
	"linux.namespaces\[$idx\].path: /run/netns/$NS-none: No such file or directory" bad \
	rt run --keep --bundle "$b" bad
setpath "$b/config.json"
expect_fail "a path that is not a network namespace" \
	"linux.namespaces\[$idx\].path: $b/config.json is not a network namespace" bad \
	rt run --keep --bundle "$b" bad
setpath /proc/self/ns/uts
expect_fail "a namespace of another kind" "is not a network namespace" bad rt run --keep --bundle "$b" bad
ip -n "$NS-1-near" tuntap add dev tun9 mode tun
ip -n "$NS-1-near" link set tun9 up
setpath "$(nspath 1)"
expect_fail "an interface that cannot be wired" \
	"interface tun9 (tun, type 65534) cannot be wired to the VM: only Ethernet-like" bad \
	rt run --keep --bundle "$b" bad
w=$(wired 1)
[ -z "$w" ] || not_ok "nothing wired after the failure" "$w"
ip -n "$NS-1-near" link del tun9
# (veths: this host's kernel has no dummy driver); their peers go to the far side
for i in 1 2 3 4; do ip -n "$NS-1-near" link add "x$i" type veth peer name "y$i" netns "$NS-1-far"; done
expect_fail "more interfaces than a VM takes" "5 interfaces (eth0, x1, x2, x3, x4): a VM takes at most 4" bad \
	rt run --keep --bundle "$b" bad
w=$(wired 1)
[ -z "$w" ] && ok "after the failures the namespace holds what it held" || not_ok "left in the namespace" "$w"
for i in 1 2 3 4; do ip -n "$NS-1-near" link del "x$i"; done

# --- what a node's kernel loads on demand: a privileged container (no capabilities
# named: all of them, as under runc) makes a bridge and a veth (rtnl-link-* aliases) and
# mounts overlay (fs-overlay) in its guest; this host's own kernel cannot load modules,
# so there is no runc to compare with here
b=$(bundle modules '"sh", "-c", "ip link add kxbr0 type bridge && ip link add kxv0 type veth peer name kxv1 && ip link set kxv0 master kxbr0 && ip -o link show kxv0 | grep -o \"master kxbr0\" && cd /dev/shm && mkdir l u w m && echo in-lower >l/f && mount -t overlay ov -o lowerdir=l,upperdir=u,workdir=w m && cat m/f && cut -d\" \" -f1 /proc/modules | grep -x -e bridge -e veth -e overlay | sort | tr \"\\n\" \" \""')
out=$(rt run --bundle "$b" modules 2>"$WORK/err" </dev/null); rc=$?
if [ $rc -eq 0 ] && [ "$(echo $out)" = "master kxbr0 in-lower bridge overlay veth" ]; then
	ok "modules on demand: a bridge with a veth on it, an overlay mount in the guest ($(echo $out))"
else
	not_ok "modules on demand (bridge, veth, overlay)" "rc=$rc out='$(echo $out)'" "$(tail -n 3 "$WORK/err")"
fi

# --- Documentation/networking.md's example, as written but for its root, paths and names --
doc=$WORK/doc-example.sh
sed -n '/^## Trying it by hand/,/^## containerd/p' "$here/Documentation/networking.md" |
	sed -n '/^```sh$/,/^```$/p' | sed '1d;$d' |
	sed -e "s#build/bin/katasbx-runtime#build/bin/katasbx-runtime --root $ROOT#" \
	    -e "s#/tmp/netdemo#$WORK/netdemo#g" -e "s#demo-near#$NS-demo-near#g" \
	    -e "s#demo-far#$NS-demo-far#g" >"$doc"
nets="$nets $NS-demo-near $NS-demo-far"
out=$(cd "$here" && bash -e "$doc" 2>"$WORK/err" </dev/null); rc=$?
if [ $rc -eq 0 ] && [ "$out" = hello ] && [ "$(wc -l <"$doc")" -ge 10 ] &&
   ! ip netns list | grep -q "$NS-demo"; then
	ok "the example of Documentation/networking.md prints hello and cleans up"
else
	not_ok "the example of Documentation/networking.md" "rc=$rc out='$out'" "$(tail -n 3 "$WORK/err")"
fi

finish network
