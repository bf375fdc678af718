#!/bin/bash
# The spec's hooks: each kind, in order, with its state on stdin, where each
# runs (prestart, createRuntime, poststart, poststop on the host in the
# bundle; createContainer, startContainer in the guest, in the container's
# root), failing hooks of each kind, bad hooks refused at create; beside
# Debian's runc where runc and the spec agree. A createRuntime hook sets up
# the container's network the way nerdctl's does (on /proc/PID/ns/net of the
# state's pid). Prints TAP and "hooks: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=hooks
. "$here/selftests/lib/e2e.sh"
. "$here/selftests/lib/compat.sh"

echo "TAP version 13"
compat_base || { finish hooks; exit 1; }

# The hook: appends "KIND STATUS id=ID pid=PID bundle=BUNDLE cwd=CWD var=$HOOKVAR" to
# hooklog in the container's root: on the host it runs in the bundle, in the guest in
# the container's root. $2, when given, is its exit status.
cat >"$BASE/rootfs/hook.sh" <<'EOF'
#!/bin/sh
st=$(cat)
f() { echo "$st" | sed -n "s/.*\"$1\":\"*\([^,\"}]*\).*/\1/p"; }
log=/hooklog
[ -d rootfs ] && log=rootfs/hooklog
echo "$1 $(f status) id=$(f id) pid=$(f pid) bundle=$(f bundle) cwd=$(pwd) var=${HOOKVAR:-}" >>"$log"
exit "${2:-0}"
EOF
chmod +x "$BASE/rootfs/hook.sh"
A=.process.args
W=".root.readonly = false"
# hook KIND [ARGS...]: the jq for one hook of KIND running hook.sh: on the host the
# bundle's copy, in the guest the container's
hook() {
	local kind=$1 path
	shift
	case $kind in
	createContainer | startContainer) path=/hook.sh ;;
	*) path=__BUNDLE__/rootfs/hook.sh ;;
	esac
	printf '.hooks.%s += [{"path": "%s", "args": ["hook.sh", "%s"%s]}]' "$kind" "$path" "$kind" \
		"$(for a in "$@"; do printf ', "%s"' "$a"; done)"
}
# fix NAME: hook paths of $WORK/NAME/config.json made absolute in that bundle
fix() { sed -i "s#__BUNDLE__#$WORK/$1#g" "$WORK/$1/config.json"; }

# Every kind, through create, start, delete: order, status, state, cwd, env
f="$W | $A = [\"true\"] | $(hook prestart) | $(hook createRuntime) | $(hook createContainer)"
f="$f | $(hook startContainer) | $(hook poststart) | $(hook poststop)"
f="$f | .hooks.prestart[0].env = [\"HOOKVAR=only-this\"]"
d=$(mkcase order "$f") && fix order
rt create --bundle "$d" k-order >/dev/null 2>"$WORK/err" </dev/null
pid=$(rt state k-order | jq -r .pid)
rt start k-order 2>>"$WORK/err"
wait_status k-order stopped 30
rt delete k-order 2>>"$WORK/err"
got=$(cut -d' ' -f1,2 "$d/rootfs/hooklog" 2>/dev/null | tr '\n' ' ')
want="prestart creating createRuntime creating createContainer creating startContainer created poststart running poststop stopped "
if [ "$got" = "$want" ] && [ ! -s "$WORK/err" ]; then
	ok "the six kinds run in the spec's order, each with its status: $got"
else
	not_ok "the six kinds in order" "got:  $got" "want: $want" "$(cat "$WORK/err")"
fi
host_ok=1 guest_ok=1
while read -r kind _ id p b cwd var; do
	case $kind in
	createContainer | startContainer)
		[ "$cwd" = cwd=/ ] && [ "$id $b" = "id=k-order bundle=$d" ] || guest_ok= ;;
	poststop)
		[ "$p" = pid= ] && [ "$cwd" = "cwd=$d" ] || host_ok= ;;
	*)
		[ "$p $cwd" = "pid=$pid cwd=$d" ] && [ "$id $b" = "id=k-order bundle=$d" ] || host_ok= ;;
	esac
	case $kind in
	prestart) [ "$var" = var=only-this ] || host_ok= ;;
	*) [ "$var" = var= ] || host_ok= ;;
	esac
done <"$d/rootfs/hooklog"
env_only=$(grep -c '^prestart' "$d/rootfs/hooklog")
if [ -n "$host_ok" ] && [ -n "$guest_ok" ] && [ "$env_only" = 1 ]; then
	ok "host hooks run in the bundle with the state's id, bundle and pid ($pid, the monitor's; none when stopped); guest ones in the container's root; env as given"
else
	not_ok "each hook's state, cwd and env" "host ok: ${host_ok:-no}, guest ok: ${guest_ok:-no}, state pid $pid" \
		"$(cat "$d/rootfs/hooklog")"
fi
left=$(nothing_left k-order) && [ ! -e "$ROOT/k-order" ] && ok "nothing left after delete" ||
	not_ok "nothing left after delete" "$left"

# The host's kinds beside runc: the same hooks run, in the same order, same cwd and env
f="$W | $A = [\"echo\", \"hi\"] | $(hook prestart) | $(hook createRuntime) | $(hook poststop)"
f="$f | .hooks.createRuntime[0].env = [\"HOOKVAR=cr\"]"
d=$(mkcase beside "$f") && fix beside
(cd "$d" && runc --root "$WORK/runc" run r-beside >"$WORK/rout" 2>"$WORK/runc.err" </dev/null)
rrc=$?
sed 's/ pid=[0-9]*//; s/id=r-/id=/' "$d/rootfs/hooklog" >"$WORK/rlog" 2>/dev/null
rm -f "$d/rootfs/hooklog"
rt run --bundle "$d" k-beside >"$WORK/kout" 2>"$WORK/kx.err" </dev/null
krc=$?
sed 's/ pid=[0-9]*//; s/id=k-/id=/' "$d/rootfs/hooklog" >"$WORK/klog" 2>/dev/null
if [ "$rrc$krc" = 00 ] && cmp -s "$WORK/rout" "$WORK/kout" && [ -s "$WORK/klog" ] &&
   diff <(cut -d' ' -f1,3- "$WORK/rlog") <(cut -d' ' -f1,3- "$WORK/klog") >"$WORK/diff"; then
	ok "prestart, createRuntime, poststop as under runc: $(cut -d' ' -f1 "$WORK/klog" | tr '\n' ' ')"
else
	not_ok "host hooks as under runc" "runc: exit $rrc $(tail -n 1 "$WORK/runc.err")" \
		"katasbx: exit $krc $(tail -n 1 "$WORK/kx.err")" "$(head -n 6 "$WORK/diff")"
fi

# Failing hooks. /bin/false is there on the host and in the rootfs (busybox).
F='"path": "/bin/false"'
refused prestart-fails ".hooks.prestart = [{$F}]" 'error running prestart hook #0: exit status 1'
refused createRuntime-fails ".hooks.createRuntime = [{$F}]" 'error running createRuntime hook #0: exit status 1'
refused createContainer-fails ".hooks.createContainer = [{$F}]" 'error running createContainer hook #0: exit status 1'
same startContainer-fails "$A = [\"echo\", \"not run\"] | .hooks.startContainer = [{$F}]" \
	'error running startContainer hook #0: exit status 1'
same poststop-fails "$A = [\"echo\", \"hi\"] | .hooks.poststop = [{$F}]" \
	'error running poststop hook #0: exit status 1'
refused hook-timeout '.hooks.prestart = [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]' \
	'error running prestart hook #0: hook ran past specified timeout of 1.0s'
refused hook-not-there '.hooks.createRuntime = [{"path": "/nonexistent"}]' \
	'error running createRuntime hook #0: exec /nonexistent: No such file or directory'
refused hook-relative '.hooks.prestart = [{"path": "false"}]' \
	'hooks.prestart[0].path: "false" is not an absolute path'
refused hook-timeout-zero '.hooks.prestart = [{"path": "/bin/true", "timeout": 0}]' \
	'hooks.prestart[0].timeout: must be greater than zero'
refused hook-no-path '.hooks.prestart = [{"args": ["x"]}]' 'hooks.prestart[0].path: is required'
same hook-unknown-kind "$A = [\"echo\", \"hi\"] | .hooks.bogus = [{\"path\": \"/bin/true\"}]" \
	'hooks.bogus: not a kind of hook, ignored'

# A failing poststart hook: the spec's words, a warning and the container runs on
# (runc 1.1 kills the container instead)
d=$(mkcase poststart-fails "$A = [\"echo\", \"hi\"] | .hooks.poststart = [{$F}]")
out=$(rt run --bundle "$d" k-psf 2>"$WORK/err" </dev/null); krc=$?
if [ "$krc" = 0 ] && [ "$out" = hi ] && grep -q 'warning: error running poststart hook #0: exit status 1' "$WORK/err"; then
	ok "a failing poststart hook is a warning and the container runs on: $(cat "$WORK/err")"
else
	not_ok "a failing poststart hook is a warning" "exit $krc, out '$out'" "$(cat "$WORK/err")"
fi

# A failed create still runs the poststop hooks (the spec's lifecycle, and runc's)
f="$W | $(hook prestart 1) | $(hook poststop)"
d=$(mkcase poststop-after-fail "$f") && fix poststop-after-fail
(cd "$d" && runc --root "$WORK/runc" create r-paf >/dev/null 2>&1 </dev/null)
runc --root "$WORK/runc" delete -f r-paf >/dev/null 2>&1
rlog=$(cut -d' ' -f1,2 "$d/rootfs/hooklog" 2>/dev/null | tr '\n' ' ')
rm -f "$d/rootfs/hooklog"
rt create --bundle "$d" k-paf >/dev/null 2>"$WORK/err" </dev/null; krc=$?
klog=$(cut -d' ' -f1,2 "$d/rootfs/hooklog" 2>/dev/null | tr '\n' ' ')
if [ "$krc" = 1 ] && [ "$klog" = "$rlog" ] && [ "$klog" = "prestart creating poststop stopped " ] &&
   [ -z "$(nothing_left k-paf)" ]; then
	ok "a failed create runs the poststop hooks, as runc: $klog"
else
	not_ok "poststop after a failed create" "runc: $rlog" "katasbx: exit $krc: $klog $(cat "$WORK/err")"
fi

# A createRuntime hook that wires the container's network, as nerdctl's does: a veth
# into /proc/PID/ns/net of the state's pid, an address on it. Under runc that is the
# container's namespace; under katasbx the monitor's, whose interfaces the VM gets.
cat >"$BASE/netns-hook.sh" <<'EOF'
#!/bin/sh
pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
ns=/proc/$pid/ns/net
ip link add "$1" type veth peer name eth0 netns "$ns" || exit 1
nsenter --net="$ns" ip addr add 10.213.7.2/24 dev eth0 || exit 1
nsenter --net="$ns" ip link set eth0 up
ip link set "$1" up
EOF
chmod +x "$BASE/netns-hook.sh"
n1=kxh$$r n2=kxh$$k
d=$(mkcase netns-hook "$A = [\"sh\", \"-c\", \"ip -o -4 addr show dev eth0 | awk '{print \$4}'\"] | .hooks.createRuntime = [{\"path\": \"$BASE/netns-hook.sh\", \"args\": [\"netns-hook.sh\", \"NAME\"]}]")
sed "s/NAME/$n1/" "$d/config.json" >"$d/r.json" && sed "s/NAME/$n2/" "$d/config.json" >"$d/k.json"
cp "$d/r.json" "$d/config.json"
rout=$(cd "$d" && runc --root "$WORK/runc" run r-net 2>"$WORK/runc.err" </dev/null); rrc=$?
runc --root "$WORK/runc" delete -f r-net >/dev/null 2>&1
cp "$d/k.json" "$d/config.json"
kout=$(rt run --bundle "$d" k-net 2>"$WORK/kx.err" </dev/null); krc=$?
wait_for 10 eval "! ip link show $n2 >/dev/null 2>&1"
if [ "$rrc$krc" = 00 ] && [ "$kout" = 10.213.7.2/24 ] && [ "$kout" = "$rout" ] &&
   ! ip link show "$n2" >/dev/null 2>&1; then
	ok "a createRuntime hook's network (veth in /proc/PID/ns/net) reaches the container, as under runc: $kout; gone after"
else
	not_ok "a createRuntime hook's network" "runc: exit $rrc '$rout' $(tail -n 1 "$WORK/runc.err")" \
		"katasbx: exit $krc '$kout' $(tail -n 2 "$WORK/kx.err")"
fi
ip link del "$n1" 2>/dev/null
ip link del "$n2" 2>/dev/null

finish hooks
