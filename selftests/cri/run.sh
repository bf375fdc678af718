#!/bin/bash
# The shim under containerd's CRI plugin, driven over CRI's gRPC API as kubelet
# drives it (selftests/cri/test_cri.py, runtime handler katasbx). A private
# containerd (Debian's 1.6) with its root, state, sockets, the shim's state,
# the CNI config and host-local's data under a temp dir; containerd itself
# runs in a network namespace of this run, so the bridge CNI makes, its
# addresses and the streaming server (127.0.0.1) exist only there. Images: a
# pause and a busybox image built here (mkimage.py) and imported with ctr;
# nothing is pulled. TAP lines, then "cri: N passed, N failed, N skipped".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
SHIM=$here/build/bin/containerd-shim-katasbx-v2
GUEST_RELEASE=$(cat "$here/build/guest/kernel-release" 2>/dev/null)
# Debian's python3 has python3-grpcio; a python3 first on PATH (pyenv) may not
PY=/usr/bin/python3
# short: the shim's run directory ROOT/k8s.io/<64-hex id>/agent.sock must fit a unix socket path
WORK=$(mktemp -d /tmp/kxcri.XXXXXX)
SOCK=$WORK/containerd.sock
NETNS=kxcri$$
SUBNET=10.88.77
PAUSE_IMAGE=localhost/katasbx-selftest/pause:1
BUSYBOX_IMAGE=localhost/katasbx-selftest/busybox:1
# the pods' cgroup_parent is /kubepods/pod$CG_TAG-NAME (kubelet makes /kubepods/podUID)
CG_TAG=kxcri$$
cpid=
netns_made=

. "$here/selftests/lib/tap.sh"
summary() { echo "cri: $pass passed, $fail failed, $skip skipped"; }

# processes of this run: shims and QEMUs name $WORK in their command lines
leftovers() { pgrep -f "(containerd-shim-katasbx-v2|qemu-system).*$WORK" 2>/dev/null; }
# cgroups of this run's pods, deepest first, in every hierarchy
pod_cgroups() { find /sys/fs/cgroup -mindepth 2 -maxdepth 5 -depth -type d -path "*/kubepods/pod$CG_TAG-*" 2>/dev/null; }
kubepods_before=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name kubepods 2>/dev/null)

stop_containerd() {
	[ -n "$cpid" ] || return 0
	kill "$cpid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	cpid=
}
cleanup() {
	local p d
	for p in $(leftovers); do kill -KILL "$p" 2>/dev/null; done
	stop_containerd
	grep -o "${WORK}[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	for d in $(pod_cgroups); do rmdir "$d" 2>/dev/null; done
	# /kubepods itself, where this run made it and it is empty
	for d in $(find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name kubepods 2>/dev/null); do
		echo "$kubepods_before" | grep -qx "$d" || rmdir "$d" 2>/dev/null
	done
	for ns in $netns_made; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

bail() { not_ok "$@"; summary; exit 1; }
for tool in containerd ctr gcc ip jq nsenter; do
	command -v $tool >/dev/null || bail "$tool is installed" "run: sh scripts/install-deps.sh test"
done
$PY -c 'import grpc, grpc_tools.protoc' 2>/dev/null ||
	bail "$PY has grpc and grpc_tools" "run: sh scripts/install-deps.sh test (python3-grpcio python3-grpc-tools)"
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] ||
	bail "Debian's CNI plugins are installed" "run: sh scripts/install-deps.sh test (containernetworking-plugins)"
[ -x "$SHIM" ] && [ -n "$GUEST_RELEASE" ] || bail "the shim and the guest are built" "run: make"

# The client's code, generated from cri.proto for this run only
mkdir -p "$WORK/py"
$PY -m grpc_tools.protoc -I"$here/selftests/cri" --python_out="$WORK/py" --grpc_python_out="$WORK/py" \
	"$here/selftests/cri/cri.proto" 2>"$WORK/err" ||
	bail "cri.proto compiles with grpc_tools.protoc" "$(tail -n 3 "$WORK/err")"

# Images: pause (pause.c, static) and busybox (Debian's busybox-static with its applets)
mkdir -p "$here/build/cri" "$WORK/img/pause"
gcc -static -O2 -Wall -Wextra -o "$here/build/cri/pause" "$here/selftests/cri/pause.c" 2>"$WORK/err" ||
	bail "pause.c builds (gcc -static)" "$(tail -n 3 "$WORK/err")"
cp "$here/build/cri/pause" "$WORK/img/pause/pause"
sh "$here/selftests/lib/mkbundle.sh" "$WORK/img/bb" '"sh"' >/dev/null
mkdir -p "$WORK/img/bb/rootfs/var/www" "$WORK/img/bb/rootfs/usr/bin"
$PY "$here/selftests/cri/mkimage.py" "$WORK/pause.tar" "$PAUSE_IMAGE" "$WORK/img/pause" \
	--entrypoint '["/pause"]' >"$WORK/pause.id" 2>"$WORK/err" &&
	$PY "$here/selftests/cri/mkimage.py" "$WORK/busybox.tar" "$BUSYBOX_IMAGE" "$WORK/img/bb/rootfs" \
		--cmd '["sh"]' >"$WORK/busybox.id" 2>>"$WORK/err" ||
	bail "the OCI image archives are written" "$(tail -n 3 "$WORK/err")"

# The network side: containerd runs in $NETNS, where the bridge (kxcri0,
# $SUBNET.1) and portmap's rules go; each pod's namespace is CRI's own.
ip netns add "$NETNS" && netns_made=$NETNS || bail "ip netns add $NETNS"
ip -n "$NETNS" link set lo up
innet() { nsenter --net="/run/netns/$NETNS" "$@"; }
STREAM_PORT=$(innet $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/cni" "$WORK/ipam" "$WORK/logs"
# Documentation/kubernetes.md's conflist (after its cri-cni marker), with this run's
# network name, bridge, subnet and host-local data directory
sed -n '/^<!-- cri-cni/,/^```$/p' "$here/Documentation/kubernetes.md" | sed '1,2d;$d' |
	jq --arg s "$SUBNET.0/24" --arg d "$WORK/ipam" '.name = "kxcri" |
		.plugins[0].bridge = "kxcri0" | .plugins[0].ipam.ranges = [[{"subnet": $s}]] |
		.plugins[0].ipam.dataDir = $d' >"$WORK/cni/10-kxcri.conflist" 2>"$WORK/err" &&
	jq -e '.plugins[1].type == "portmap"' "$WORK/cni/10-kxcri.conflist" >/dev/null ||
	bail "Documentation/kubernetes.md has the CNI conflist (after <!-- cri-cni)" "$(cat "$WORK/err")"

# The runtimes as Documentation/kubernetes.md tells an operator to configure them:
# its block after the cri-config marker, as it is (runc stays the default, katasbx
# the handler; without runc, containerd 1.6 skips the CRI plugin)
doc_config=$(sed -n '/^<!-- cri-config/,/^```$/p' "$here/Documentation/kubernetes.md" | sed '1,2d;$d')
echo "$doc_config" | grep -q 'runtimes.katasbx' ||
	bail "Documentation/kubernetes.md has the containerd config block (after <!-- cri-config)"
cat >"$WORK/config.toml" <<TOML
version = 2
root = "$WORK/root"
state = "$WORK/state"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = ""
[debug]
  address = ""
  level = "debug"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "$STREAM_PORT"
  enable_selinux = false
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$WORK/cni"
$doc_config
TOML

export PATH=$here/build/bin:$PATH
# the shim's sockets and state go under $WORK too (containerd passes its environment on);
# the shim's root is not made here: the first RunPodSandbox finds none
export KATASBX_SHIM_SOCKET_DIR=$WORK/s KATASBX_SHIM_ROOT=$WORK/k
innet containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
cpid=$!
c() { timeout 60 ctr --address "$SOCK" --namespace k8s.io "$@"; }
for _ in $(seq 100); do c version >/dev/null 2>&1 && break; sleep 0.1; done
c version >/dev/null 2>&1 || bail "private containerd starts" "$(tail -n 3 "$WORK/containerd.log")"
if grep -q 'Start cri plugin' "$WORK/containerd.log" &&
   ! grep -q 'failed to load plugin io.containerd.grpc.v1.cri' "$WORK/containerd.log"; then
	ok "containerd loads the CRI plugin (runtimes runc and katasbx, stream server 127.0.0.1:$STREAM_PORT)"
else
	bail "containerd loads the CRI plugin" \
		"$(grep 'grpc.v1.cri' "$WORK/containerd.log" | tail -n 2 | cut -c1-400)"
fi

out=$(c images import "$WORK/pause.tar" 2>&1 && c images import "$WORK/busybox.tar" 2>&1)
# CRI adds each image's id (its config's digest) as a name of its own once it sees it
want=$(printf '%s\n' "$PAUSE_IMAGE" "$BUSYBOX_IMAGE" "$(cat "$WORK/pause.id")" "$(cat "$WORK/busybox.id")" |
	sort | tr '\n' ' ')
for _ in $(seq 50); do
	tags=$(c images ls -q 2>/dev/null | sort | tr '\n' ' ')
	[ "$tags" = "$want" ] && break
	sleep 0.1
done
if [ "$tags" = "$want" ]; then
	ok "ctr images import: $PAUSE_IMAGE and $BUSYBOX_IMAGE, named as in their index.json (and by config digest, as CRI does)"
else
	not_ok "ctr images import names the images" "got: $tags" "$out"
fi

# The tests proper, bounded as a whole too; the numbering goes on after them
innet timeout 900 $PY "$here/selftests/cri/test_cri.py" --work "$WORK" --sock "$SOCK" \
	--py "$WORK/py" --subnet "$SUBNET" --pause "$PAUSE_IMAGE" --busybox "$BUSYBOX_IMAGE" \
	--guest-release "$GUEST_RELEASE" --cgroup-tag "$CG_TAG" --first "$((n + 1))" \
	--counts "$WORK/counts"
rc=$?
if read -r tn tp tf ts <"$WORK/counts" 2>/dev/null; then
	n=$((n + tn)); pass=$((pass + tp)); fail=$((fail + tf)); skip=$((skip + ts))
else
	not_ok "test_cri.py ran to its end" "exit status $rc" "$(tail -n 5 "$WORK/containerd.log" | cut -c1-300)"
fi

# containerd stopped: nothing of the run may be left on the machine
stop_containerd
sleep 0.5
left=$(leftovers | tr '\n' ' ')
mounts=$(grep -c "$WORK" /proc/self/mountinfo)
cgs=$(pod_cgroups | grep -E '/[0-9a-f]{64}$' | head -n 3)
netnsf=$(find "$WORK/state/io.containerd.grpc.v1.cri" -path '*netns*' -type f 2>/dev/null | head -n 3)
if [ -z "$left" ] && [ "$mounts" -eq 0 ] && [ -z "$cgs" ] && [ -z "$netnsf" ]; then
	ok "after containerd stops: no shim, QEMU, mount under $WORK, pod netns or container cgroup left"
else
	not_ok "nothing left after containerd stops" "processes: $left" "mounts: $mounts" \
		"cgroups: $(echo "$cgs" | tr "\n" " ")" "netns: $netnsf"
fi
if [ "$fail" -gt 0 ]; then
	echo "# containerd's log: $(grep -c . "$WORK/containerd.log") lines; shim lines:"
	grep -E 'containerd-shim-katasbx-v2|katasbx' "$WORK/containerd.log" | grep -vi 'event .* published' |
		tail -n 30 | cut -c1-300 | sed 's/^/#   /'
fi
summary
[ "$fail" -eq 0 ]
