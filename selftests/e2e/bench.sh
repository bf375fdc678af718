#!/bin/bash
# katasbx-bench end to end: a short real run of every available mode (cold,
# clone where the runtime has --template, runc), then the same with a network
# (clone-net, runc-net: a veth in the bench's namespace kb<pid>-near) and
# iperf3 through it (--throughput), then warm and warm-net against clone (the
# runtime's warm pools), their JSON checked with jq, nothing left running,
# mounted or in `ip netns list`.
# Prints TAP and a last line "bench: N passed, N failed" (", N skipped" if any).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${BENCH:-$here/build/bin/katasbx-bench}
RT=${RT:-$here/build/bin/katasbx-runtime}
WORK=$(mktemp -d /tmp/katasbx-bench-test.XXXXXX)
pass=0
fail=0
skip=
n=0
trap 'rm -rf "$WORK"' EXIT

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "#   $l"; done
}
# bench processes (QEMU, monitors) still running: they name its temp dir
leftovers() { pgrep -af '/katasbx-bench\.[A-Za-z0-9]{6}/' || true; }
# the -net modes' namespaces, kb<pid>-near and kb<pid>-far, of any bench
benchns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^kb[0-9]+-(near|far)$' || true; }
# nsleft FILE.json: the namespaces its bench made that are still there
nsleft() {
	local near
	near=$(jq -r '.network.netns // empty' "$1" 2>/dev/null)
	[ -n "$near" ] || return 0
	ip netns list 2>/dev/null | awk '{print $1}' | grep -Fx -e "$near" -e "${near%-near}-far"
}

echo "TAP version 13"

modes=cold,runc
if "$RT" --template off --root "$WORK/probe" check >/dev/null 2>&1; then
	modes=cold,clone,runc
fi
before=$(leftovers)

RUNS=3
"$BENCH" --modes "$modes" -n $RUNS --json "$WORK/out.json" >"$WORK/stdout" 2>"$WORK/stderr"
rc=$?
if [ $rc -eq 0 ]; then
	ok "katasbx-bench --modes $modes -n $RUNS exits 0"
else
	not_ok "katasbx-bench --modes $modes -n $RUNS exits 0 (rc=$rc)" "$(tail -n 5 "$WORK/stderr")"
fi

if jq -e . "$WORK/out.json" >/dev/null 2>&1; then
	ok "--json writes valid JSON"
else
	not_ok "--json writes valid JSON" "$(head -c 300 "$WORK/out.json" 2>&1)"
fi

for m in ${modes//,/ }; do
	if jq -e --arg m "$m" --argjson n $RUNS '.modes[$m] | (.n == $n) and (.failures == 0) and (.median_ms > 0)
		and (.min_ms <= .median_ms) and (.median_ms <= .p99_ms)' "$WORK/out.json" >/dev/null 2>&1; then
		ok "mode $m: n=$RUNS, no failures, median $(jq -r --arg m "$m" '.modes[$m].median_ms' "$WORK/out.json") ms"
	else
		not_ok "mode $m: n=$RUNS, no failures, median_ms > 0" \
			"$(jq -c --arg m "$m" '.modes[$m]' "$WORK/out.json" 2>&1 | head -c 400)"
	fi
done

if jq -e '(.accel | type == "string") and (.host.nproc > 0) and (.modes.runc.ratio_to_runc == 1)
	and (.modes.cold.ratio_to_runc > 1) and (.modes.cold.phases_ms["agent-ready"] > 0)
	and (.unavailable == {}) and (.density == null) and (.rate == null)' \
	"$WORK/out.json" >/dev/null 2>&1; then
	ok "accel, host, ratio to runc, cold phases ($(jq -r .accel "$WORK/out.json"))"
else
	not_ok "accel, host, ratio to runc, cold phases" \
		"$(jq -c '{accel, host, unavailable}' "$WORK/out.json" 2>&1 | head -c 400)"
fi

if grep -q '^mode ' "$WORK/stdout" && grep -q '^runc ' "$WORK/stdout"; then
	ok "the table is printed"
else
	not_ok "the table is printed" "$(head -n 20 "$WORK/stdout")"
fi

after=$(leftovers)
if [ "$after" = "$before" ] && ! ls -d /tmp/katasbx-bench.?????? >/dev/null 2>&1; then
	ok "no QEMU, monitor or temporary directory left"
else
	not_ok "no QEMU, monitor or temporary directory left" "$after" \
		"$(ls -d /tmp/katasbx-bench.?????? 2>&1)"
fi

# the -net modes: the same echo in a bundle whose network namespace is the
# bench's kb<pid>-near (a veth to kb<pid>-far); one namespace for all runs, so
# that two runs of each also check that a delete gives it back as it was.
# The same run measures iperf3 for 2 s each way (~12 s more): a VM, a clone
# where there are templates, and runc; only that a figure came is checked.
netmodes=runc-net
[ "$modes" = cold,clone,runc ] && netmodes=clone-net,runc-net
if command -v ip >/dev/null 2>&1; then
	nsbefore=$(benchns)
	iperfbefore=$(pgrep -a iperf3 || true)
	TMPDIR=$WORK "$BENCH" --modes "$netmodes" -n 2 --throughput 2 --json "$WORK/net.json" \
		>"$WORK/nstdout" 2>"$WORK/nstderr"
	rc=$?
	if [ $rc -eq 0 ] && jq -e --arg ms "$netmodes" '. as $o | ($ms | split(",")) | all(. as $m |
		$o.modes[$m] | (.n == 2) and (.failures == 0) and (.median_ms > 0)
		and (.without_network == ($m | rtrimstr("-net"))))' "$WORK/net.json" >/dev/null 2>&1 &&
		jq -e '(.unavailable == {}) and (.network.netns | test("^kb[0-9]+-near$"))
		and (.network.address == "10.216.0.2/24")' "$WORK/net.json" >/dev/null 2>&1; then
		ok "$netmodes -n 2: every run with a network succeeded; median$(for m in ${netmodes//,/ }; do
			echo -n " $m $(jq -r --arg m "$m" '.modes[$m].median_ms' "$WORK/net.json") ms"; done)"
	else
		not_ok "$netmodes -n 2: every run with a network succeeds (rc=$rc)" \
			"$(tail -n 8 "$WORK/nstderr")" \
			"$(jq -c '{modes, unavailable, network}' "$WORK/net.json" 2>&1 | head -c 600)"
	fi
	if grep -q '^runc-net ' "$WORK/nstdout" && grep -q '^network of the -net modes' "$WORK/nstdout"; then
		ok "the table has the -net modes and their network"
	else
		not_ok "the table has the -net modes and their network" "$(head -n 30 "$WORK/nstdout")"
	fi
	# up: the container sends, down: it receives (-R); the VM's only where clone is
	tsides=runc
	[ "$modes" = cold,clone,runc ] && tsides="vm runc"
	if ! command -v iperf3 >/dev/null 2>&1; then
		n=$((n + 1)); skip=$((skip + 1))
		echo "ok $n - --throughput 2 # SKIP no iperf3 (Debian package iperf3)"
	elif jq -e --arg s "$tsides" '.throughput as $t | ($t.seconds == 2) and
		($t.server | test("netns exec kb[0-9]+-far .*iperf3 -s -1 -p [0-9]+$")) and
		($s | split(" ") | all(. as $r | ["up", "down"] | all(. as $d |
			$t[$r][$d] | (.bits_per_second > 0) and (.error == null)
			and (.args | test("iperf3 -c 10.216.0.1 .*-t 2 -J")))))' \
		"$WORK/net.json" >/dev/null 2>&1 && grep -q '^throughput (iperf3' "$WORK/nstdout"; then
		ok "--throughput 2: $(jq -r --arg s "$tsides" '.throughput as $t | [$s | split(" ")[] |
			"\(.) up \($t[.].up.bits_per_second / 1e6 | floor) down \($t[.].down.bits_per_second / 1e6 | floor)"]
			| join(", ")' "$WORK/net.json") Mbit/s$([ "$tsides" = runc ] && echo " (VM: no templates, not checked)")"
	else
		not_ok "--throughput 2: $tsides, up and down, bits_per_second > 0" \
			"$(grep -A6 '^throughput' "$WORK/nstdout")" \
			"$(jq -c .throughput "$WORK/net.json" 2>&1 | head -c 800)"
	fi
	nleft=$(pgrep -af "$WORK/katasbx-bench\\." || true)
	nsl=$(nsleft "$WORK/net.json")
	iperfafter=$(pgrep -a iperf3 || true)
	if [ -z "$nleft" ] && [ -z "$nsl" ] && [ "$(benchns)" = "$nsbefore" ] &&
		[ "$iperfafter" = "$iperfbefore" ] &&
		! ls -d "$WORK"/katasbx-bench.?????? >/dev/null 2>&1; then
		ok "after the -net modes: no kb<pid>-* namespace, iperf3, QEMU or temporary directory left"
	else
		not_ok "after the -net modes: no kb<pid>-* namespace, iperf3, QEMU or temporary directory left" \
			"$nleft" "namespaces: $nsl $(benchns)" "iperf3: $iperfafter" \
			"$(ls -d "$WORK"/katasbx-bench.?????? 2>&1)"
	fi
else
	n=$((n + 1)); skip=$((skip + 1))
	echo "ok $n - the -net modes # SKIP no ip (iproute2)"
fi

# warm: the bench runs `katasbx-runtime pool` beside its runs and each warm run
# claims one of its VMs; warm-net's keeper (--interfaces 1) has its own root.
# TMPDIR puts the bench's temporary directory under $WORK, so that what it
# might leave is told apart from any other bench's.
if [ "$modes" = cold,clone,runc ] && "$RT" --warm off --root "$WORK/probe" check >/dev/null 2>&1; then
	wmodes=warm,clone
	command -v ip >/dev/null 2>&1 && wmodes=warm,warm-net,clone
	TMPDIR=$WORK "$BENCH" --modes $wmodes -n 2 --json "$WORK/warm.json" \
		>"$WORK/wstdout" 2>"$WORK/wstderr"
	rc=$?
	if [ $rc -eq 0 ] && jq -e --arg ms "$wmodes" '. as $o | ($ms | split(",") - ["clone"]) | all(
		$o.modes[.] | (.n == 2) and (.failures == 0) and (.median_ms > 0)
		and (.phases_ms.claimed > 0) and (.pool_ready_ms > 0))' "$WORK/warm.json" >/dev/null 2>&1 &&
		jq -e '(.modes.clone.n == 2) and (.unavailable == {}) and (.modes.warm.pool_interfaces == 0)
		and ((.modes["warm-net"] // {pool_interfaces: 1}).pool_interfaces == 1)' \
		"$WORK/warm.json" >/dev/null 2>&1; then
		ok "$wmodes -n 2: every warm run claimed a pool VM; median$(for m in ${wmodes//,/ }; do
			echo -n " $m $(jq -r --arg m "$m" '.modes[$m].median_ms' "$WORK/warm.json") ms"; done)"
	else
		not_ok "$wmodes -n 2: warm runs claim pool VMs, no failures (rc=$rc)" \
			"$(tail -n 8 "$WORK/wstderr")" \
			"$(jq -c '{warm: .modes.warm, "warm-net": .modes["warm-net"], unavailable}' \
				"$WORK/warm.json" 2>&1 | head -c 800)"
	fi
	if grep -q '^warm ' "$WORK/wstdout" && grep -q '^claimed ' "$WORK/wstdout"; then
		ok "the table has warm and its claimed phase"
	else
		not_ok "the table has warm and its claimed phase" "$(head -n 30 "$WORK/wstdout")"
	fi
	wleft=$(pgrep -af "$WORK/katasbx-bench\\." || true)
	wmounts=$(grep -F "$WORK/" /proc/mounts || true)
	nsl=$(nsleft "$WORK/warm.json")
	if [ -z "$wleft" ] && [ -z "$wmounts" ] && [ -z "$nsl" ] &&
		! ls -d "$WORK"/katasbx-bench.?????? >/dev/null 2>&1; then
		ok "after warm: no keeper, holder, QEMU, mount, namespace or temporary directory left"
	else
		not_ok "after warm: no keeper, holder, QEMU, mount, namespace or temporary directory left" \
			"$wleft" "$wmounts" "namespaces: $nsl" "$(ls -d "$WORK"/katasbx-bench.?????? 2>&1)"
	fi
else
	n=$((n + 1)); pass=$((pass + 1))
	echo "ok $n - warm mode # SKIP the runtime has no --warm or no templates"
fi

# a runtime without --warm (it says "unrecognized option", as getopt does):
# warm is unavailable, with the reason, and the other modes still run
cat >"$WORK/old-runtime" <<EOF
#!/bin/sh
for a; do
	case \$a in --warm|--warm=*) echo "katasbx-runtime: unrecognized option '--warm'" >&2; exit 1;; esac
done
exec "$RT" "\$@"
EOF
chmod +x "$WORK/old-runtime"
"$BENCH" --runtime "$WORK/old-runtime" --modes warm,runc -n 1 --json "$WORK/u.json" >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc -eq 0 ] && jq -e '(.unavailable.warm | test("unrecognized option")) and (.modes.runc.n == 1)
	and (.modes | has("warm") | not)' "$WORK/u.json" >/dev/null 2>&1; then
	ok "an unavailable mode is reported as such, the others still run"
else
	not_ok "an unavailable mode is reported as such (rc=$rc)" "$(cat "$WORK/err")" \
		"$(jq -c . "$WORK/u.json" 2>&1 | head -c 400)"
fi

"$BENCH" --modes nosuch >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown mode 'nosuch'" "$WORK/err"; then
	ok "an unknown mode is a usage error"
else
	not_ok "an unknown mode is a usage error (rc=$rc)" "$(cat "$WORK/err")"
fi

echo "1..$n"
echo "bench: $pass passed, $fail failed${skip:+, $skip skipped}"
[ $fail -eq 0 ]
