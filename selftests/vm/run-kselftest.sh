#!/bin/bash
# Run the katasbx selftests inside a QEMU VM booting Debian's kernel (the one
# katasbx.ko was built for), with the host's root shared read-only over 9p.
# Prints each test's TAP and ends with one line:
#   kselftest: N passed, N failed, N skipped
# Exit status 0 only when nothing failed. See Documentation/kselftest.md.
#
# Environment (defaults in brackets):
#   KSFT_KO            the module [build/kmod/katasbx.ko]
#   KSFT_DIR           directory of the test programs [build/kselftest]
#   KSFT_TESTS         test names to run, in order [$KSFT_DIR/tests.list]
#   KSFT_CONFIG        kernel options the tests need, checked against the guest
#                      kernel's config [selftests/katasbx/config]
#   KSFT_KERNEL        guest kernel image [vmlinux matching the module's vermagic]
#   KSFT_WORK          initramfs, console and dmesg logs [$KSFT_DIR/vm]
#   KSFT_TIMEOUT       seconds for the whole VM run [1200]
#   KSFT_TEST_TIMEOUT  seconds for one test program [600]
#   KSFT_ACCEL         auto, kvm or tcg [auto]
#   KSFT_MEM, KSFT_SMP guest memory in MiB and CPUs [2048, 2]
#   KSFT_APPEND        extra kernel command line (e.g. loglevel=7 to see boot)
#   KSFT_ENV           NAME=VALUE words exported to the test programs
#                      (e.g. CLONE_QEMU_MEM=both)
#   KSFT_NAME          the name on the summary lines [kselftest]
#   KSFT_MODULES       more of the guest kernel's modules to load before the
#                      tests, dependencies first (e.g. vhost_vsock's) []
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 1

KO=${KSFT_KO:-build/kmod/katasbx.ko}
TDIR=${KSFT_DIR:-build/kselftest}
CONFIG=${KSFT_CONFIG:-selftests/katasbx/config}
WORK=${KSFT_WORK:-$TDIR/vm}
TIMEOUT=${KSFT_TIMEOUT:-1200}
TEST_TIMEOUT=${KSFT_TEST_TIMEOUT:-600}
ACCEL=${KSFT_ACCEL:-auto}
MEM=${KSFT_MEM:-2048}
SMP=${KSFT_SMP:-2}
# Loaded in this order (modules.dep order for 9p over virtio-mmio).
GUEST_MODULES="virtio_ring virtio virtio_mmio netfs fscache 9pnet 9pnet_virtio 9p"
GUEST_MODULES="$GUEST_MODULES ${KSFT_MODULES:-}"
NAME=${KSFT_NAME:-kselftest}

fail_early() {
	echo "$NAME: $*"
	echo "$NAME: 0 passed, 1 failed, 0 skipped"
	exit 1
}

# --- what to run -----------------------------------------------------------
[ -f "$KO" ] || fail_early "module $KO does not exist: build it with 'make kmod' (kmod/ sources missing?)"
[ -d "$TDIR" ] || fail_early "no selftest directory $TDIR: build it with 'make kselftest-progs'"
if [ -n "${KSFT_TESTS:-}" ]; then
	tests=$KSFT_TESTS
elif [ -f "$TDIR/tests.list" ]; then
	tests=$(grep -v '^[[:space:]]*$' "$TDIR/tests.list" | tr '\n' ' ')
else
	fail_early "no $TDIR/tests.list and no KSFT_TESTS: which tests to run is unknown"
fi
tests=$(echo "$tests" | tr -s ' \t\n' '   ' | sed 's/^ //; s/ $//')
[ -n "$tests" ] || fail_early "the selftest list is empty (TEST_GEN_PROGS in selftests/katasbx/Makefile?)"
for t in $tests; do
	case $t in */* | *@* | -*) fail_early "bad test name '$t'" ;; esac
	[ -x "$TDIR/$t" ] || fail_early "selftest $TDIR/$t is missing or not executable"
	if readelf -lW "$TDIR/$t" 2>/dev/null | grep -q 'INTERP'; then
		echo "$NAME: note: $t is dynamically linked; it will use the host's libraries over 9p"
	fi
done

# --- the guest kernel: the one the module was built for --------------------
kver=$(modinfo -F vermagic "$KO" 2>/dev/null | awk '{print $1}')
[ -n "$kver" ] || kver=$(strings "$KO" | sed -n 's/^vermagic=\([^ ]*\).*/\1/p' | head -n 1)
[ -n "$kver" ] || fail_early "cannot read the vermagic of $KO"
moddir=/lib/modules/$kver
[ -f "$moddir/modules.dep" ] ||
	fail_early "module built for $kver but $moddir is not installed (install linux-image-$kver, or set KDIR to an installed kernel's headers)"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

kernel=${KSFT_KERNEL:-}
if [ -z "$kernel" ]; then
	if [ -f build/guest/vmlinux ] && [ "$(cat build/guest/kernel-release 2>/dev/null)" = "$kver" ]; then
		kernel=build/guest/vmlinux
	elif [ -f "$WORK/vmlinux-$kver" ]; then
		kernel=$WORK/vmlinux-$kver
	elif [ -f "/boot/vmlinuz-$kver" ]; then
		# As guest/mkguest.sh does: the bzImage's XZ payload, booted via PVH;
		# decompressing in the guest costs seconds under TCG.
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "/boot/vmlinuz-$kver" | head -n 1 | cut -d: -f1)
		rm -f "$WORK/vmlinux.tmp"
		[ -n "$off" ] && tail -c +"$((off + 1))" "/boot/vmlinuz-$kver" | xz -dc >"$WORK/vmlinux.tmp" 2>/dev/null
		if [ "$(head -c 4 "$WORK/vmlinux.tmp" 2>/dev/null | od -An -c | tr -d ' ')" = "177ELF" ]; then
			mv "$WORK/vmlinux.tmp" "$WORK/vmlinux-$kver"
			kernel=$WORK/vmlinux-$kver
		else
			rm -f "$WORK/vmlinux.tmp"
			kernel=/boot/vmlinuz-$kver
		fi
	else
		fail_early "no kernel image for $kver: install linux-image-$kver"
	fi
fi
[ -f "$kernel" ] || fail_early "guest kernel $kernel does not exist"

if [ -f "$CONFIG" ] && [ -f "/boot/config-$kver" ]; then
	grep -E '^CONFIG_[A-Za-z0-9_]+=[ym]' "$CONFIG" | cut -d= -f1 | while read -r opt; do
		grep -qE "^$opt=[ym]" "/boot/config-$kver" ||
			echo "kselftest: warning: the guest kernel $kver lacks $opt (listed in $CONFIG)"
	done
fi

# --- initramfs: busybox, the 9p modules, /init ----------------------------
if ! /bin/busybox --list 2>/dev/null | grep -qx setsid; then
	fail_early "/bin/busybox is missing: install busybox-static"
fi
stage=$WORK/initramfs.d
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/kmods" "$stage/etc" "$stage/dev"
cp /bin/busybox "$stage/bin/busybox"
cp "$here/init.sh" "$stage/init"
chmod 0755 "$stage/init"
: >"$stage/kmods/load-order"
for m in $GUEST_MODULES; do
	rel=$(grep -E "(^|/)$m\.ko:" "$moddir/modules.dep" | head -n 1 | cut -d: -f1)
	if [ -z "$rel" ]; then
		grep -qE "/$m\.ko\$" "$moddir/modules.builtin" 2>/dev/null && continue
		fail_early "guest module $m not found in $moddir"
	fi
	case $rel in *.ko) ;; *) fail_early "guest module $rel is compressed: busybox insmod cannot load it" ;; esac
	cp "$moddir/$rel" "$stage/kmods/"
	echo "$m.ko" >>"$stage/kmods/load-order"
done
ko_abs=$(realpath "$KO")
tdir_abs=$(realpath "$TDIR")
cat >"$stage/etc/ksft.conf" <<EOF
KSFT_KO='/host$ko_abs'
KSFT_DIR='/host$tdir_abs'
KSFT_TESTS='$tests'
KSFT_TEST_TIMEOUT='$TEST_TIMEOUT'
EOF
for kv in ${KSFT_ENV:-}; do
	case $kv in
	[A-Za-z_]*=*) ;;
	*) fail_early "KSFT_ENV: '$kv' is not NAME=VALUE" ;;
	esac
	case $kv in *\'*) fail_early "KSFT_ENV: no quotes in '$kv'" ;; esac
	echo "export ${kv%%=*}='${kv#*=}'" >>"$stage/etc/ksft.conf"
done
initrd=$WORK/initramfs.cpio
if ! (cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$initrd.tmp"; then
	fail_early "cannot write $initrd"
fi
mv "$initrd.tmp" "$initrd"

# --- accelerator -----------------------------------------------------------
kvm_ok() { (exec 3<>/dev/kvm) 2>/dev/null && grep -qwE 'vmx|svm' /proc/cpuinfo; }
case $ACCEL in
auto) if kvm_ok; then ACCEL=kvm; else ACCEL=tcg; fi ;;
kvm | tcg) ;;
*) fail_early "KSFT_ACCEL must be auto, kvm or tcg" ;;
esac
append="console=ttyS0 panic=-1 loglevel=4 no_timer_check cryptomgr.notests"
if [ "$ACCEL" = kvm ]; then
	accel=(-accel kvm -cpu host)
	why="KVM"
else
	# shellcheck disable=SC2054
	accel=(-accel tcg,tb-size=64 -cpu max)
	why="TCG (no usable KVM: /dev/kvm must open and /proc/cpuinfo show vmx or svm); slow"
	# Without the host TSC rate the TCG guest's clock calibration randomly hangs.
	khz=$(awk -F: '/^cpu MHz/{printf "%d", $2*1000; exit}' /proc/cpuinfo)
	[ -n "$khz" ] && [ "$khz" -gt 0 ] && append="$append tsc_early_khz=$khz tsc=reliable"
fi
append="$append ${KSFT_APPEND:-}"

# --- boot ------------------------------------------------------------------
log=$WORK/console.log
qlog=$WORK/qemu.log
dmesg_log=$WORK/dmesg.log
rm -f "$dmesg_log"
: >"$log"
qpid=
ppid_=
cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null
		for _ in 1 2 3 4 5; do kill -0 "$qpid" 2>/dev/null || break; sleep 1; done
		kill -KILL "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	fi
	[ -n "$ppid_" ] && kill "$ppid_" 2>/dev/null
	rm -rf "$stage"
}
trap cleanup EXIT
trap 'echo "kselftest: interrupted"; exit 130' INT TERM

echo "$NAME: kernel $kver ($kernel), $why"
echo "$NAME: module $KO, tests in $TDIR: $tests"
t_start=$(date +%s)
qemu-system-x86_64 -M microvm,x-option-roms=off "${accel[@]}" -m "$MEM" -smp "$SMP" \
	-nodefaults -no-user-config -display none -no-reboot \
	-serial "file:$log" \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	-fsdev local,id=fs0,path=/,security_model=none,readonly=on \
	-device virtio-9p-device,fsdev=fs0,mount_tag=hostroot \
	</dev/null >"$qlog" 2>&1 &
qpid=$!

# Live: each test's TAP as it comes (kernel and marker lines left out).
tail -n +1 -f --pid="$qpid" "$log" 2>/dev/null | awk '
	{ gsub(/\r/, "") }
	/^@@KSFT-DMESG-BEGIN@@/ { skip = 1; next }
	/^@@KSFT-DMESG-END@@/ { skip = 0; next }
	skip { next }
	/^@@KSFT-BEGIN / { n = $2; sub(/@@$/, "", n); print "# ---- " n; ins = 1; fflush(); next }
	/^@@KSFT-END / { r = $3 " " $4; sub(/@@$/, "", r); print "# ---- " n ": " r; ins = 0; fflush(); next }
	/^@@KSFT-FATAL / { print "# guest: " $0; fflush(); next }
	ins { print; fflush() }' &
ppid_=$!

timed_out=0
done_at=
while kill -0 "$qpid" 2>/dev/null; do
	now=$(date +%s)
	if [ $((now - t_start)) -ge "$TIMEOUT" ]; then
		timed_out=1
		break
	fi
	if [ -z "$done_at" ] && grep -q '@@KSFT-DONE@@' "$log"; then
		done_at=$now
	fi
	# poweroff -f should end QEMU at once; do not wait long for it.
	[ -n "$done_at" ] && [ $((now - done_at)) -ge 10 ] && break
	sleep 1
done
if kill -0 "$qpid" 2>/dev/null; then
	kill -TERM "$qpid" 2>/dev/null
	sleep 1
	kill -KILL "$qpid" 2>/dev/null
fi
wait "$qpid" 2>/dev/null
qpid=
wait "$ppid_" 2>/dev/null
ppid_=
elapsed=$(($(date +%s) - t_start))

sed -n '/^@@KSFT-DMESG-BEGIN@@/,/^@@KSFT-DMESG-END@@/p' "$log" | tr -d '\r' |
	sed '1d;$d' >"$dmesg_log"

# --- count -----------------------------------------------------------------
counts=$(mktemp)
tr -d '\r' <"$log" | awk -v expected="kmod-load $tests kmod-reload dmesg" \
	-v tt="$TEST_TIMEOUT" -v counts="$counts" '
	function account(name, rc) {
		if (rc == "timeout") {
			f++; print "not ok - " name " timed out after " tt " s"
		} else if (rc + 0 >= 128) {
			f++; print "not ok - " name " killed by signal " (rc - 128)
		} else if (rc != 0 && rc != 4) {
			if (!sec_fail) { f++; print "not ok - " name " exited with status " rc }
		} else if (!sec_n) {
			if (rc == 4) { s++; print "ok - " name " # SKIP exit status 4, no TAP" }
			else { p++; print "ok - " name " (exit status 0, no TAP)" }
		}
	}
	/^@@KSFT-DMESG-BEGIN@@/ { indm = 1; next }
	/^@@KSFT-DMESG-END@@/ { indm = 0; next }
	indm { next }
	/^@@KSFT-BEGIN / { cur = $2; sub(/@@$/, "", cur); begun[cur] = 1; sec_n = 0; sec_fail = 0; ins = 1; next }
	/^@@KSFT-END / { rc = $3; sub(/^rc=/, "", rc); sub(/@@$/, "", rc); account(cur, rc); ins = 0; next }
	/^@@KSFT-FATAL / { fatal = $0 }
	/^@@KSFT-DONE@@/ { done = 1; next }
	!ins { next }
	/^not ok( |$)/ { sec_n++; if (tolower($0) ~ /#[ \t]*skip/) s++; else { f++; sec_fail++ }; next }
	/^ok( |$)/ { sec_n++; if (tolower($0) ~ /#[ \t]*skip/) s++; else p++; next }
	END {
		if (ins) { f++; print "not ok - " cur " did not finish (guest crashed or hung)" }
		n = split(expected, e, " ")
		for (i = 1; i <= n; i++)
			if (!(e[i] in begun)) { f++; print "not ok - " e[i] " never ran" }
		if (fatal != "") print "# guest: " fatal
		if (!done) { f++; print "not ok - the guest did not finish its run" }
		print p + 0, f + 0, s + 0 > counts
	}'
read -r passed failed skipped <"$counts"
rm -f "$counts"

if ! grep -q '@@KSFT-DONE@@' "$log"; then
	echo "# ---- last lines of the guest console ($log):"
	tr -d '\r' <"$log" | grep -v '^@@' | tail -n 40 | sed 's/^/# /'
	[ -s "$qlog" ] && sed 's/^/# qemu: /' "$qlog"
elif grep -qE 'Kernel panic|Oops|BUG:|WARNING:|Call Trace' "$dmesg_log"; then
	echo "# guest kernel log: $dmesg_log"
fi
[ "$timed_out" = 1 ] && echo "# no result after ${TIMEOUT}s (KSFT_TIMEOUT): QEMU was killed"
echo "$NAME: VM ran ${elapsed}s; console log $log"
echo "$NAME: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
