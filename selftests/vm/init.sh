#!/bin/busybox sh
# /init of the kselftest VM (copied into the initramfs by run-kselftest.sh).
# Mounts the host's root read-only at /host over 9p, loads katasbx.ko, runs
# each selftest with a timeout, tests unload and reload, checks the kernel log,
# and powers off. Everything the host reads is on the serial console between
#   @@KSFT-BEGIN NAME@@ ... @@KSFT-END NAME rc=N|timeout secs=N@@
# and the run ends with @@KSFT-DONE@@.
/bin/busybox mkdir -p /bin /proc /sys /dev /tmp /host
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t debugfs debugfs /sys/kernel/debug
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=1777 tmp /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
# shellcheck disable=SC1091
. /etc/ksft.conf

die() {
	echo "@@KSFT-FATAL $*@@"
	echo "@@KSFT-DONE@@"
	poweroff -f
	sleep 60
}

# Debian's guest kernel has these as modules; built-in ones are not listed.
for m in $(cat /kmods/load-order); do
	insmod "/kmods/$m" || die "insmod $m failed"
done
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144 hostroot /host ||
	die "cannot mount the host root over 9p"
# Dynamically linked test programs run against the host's libraries.
for d in lib lib64 usr; do
	[ -e "/host/$d" ] && ln -s "/host/$d" "/$d"
done

export HOME=/tmp KATASBX_KO="$KSFT_KO"

section_begin() { echo "@@KSFT-BEGIN $1@@"; t0=$(date +%s); }
section_end() { echo "@@KSFT-END $1 rc=$2 secs=$(($(date +%s) - t0))@@"; }

# What a test that ran out of time left running, and the blocked tasks' stacks
# (sysrq w), on the console before it is killed
stalled() {
	echo "# $1: no end after ${KSFT_TEST_TIMEOUT}s; running:"
	ps -eo pid,ppid,stat,wchan:20,args 2>/dev/null | cut -c1-160 | sed 's/^/#   /'
	grep -E '^(MemFree|MemAvailable|Shmem):' /proc/meminfo | sed 's/^/#   /'
	echo w >/proc/sysrq-trigger
}

run_test() { # NAME PATH
	section_begin "$1"
	rm -f /tmp/.ksft-timeout
	cd /tmp || return
	setsid "$2" </dev/null 2>&1 &
	pid=$!
	(
		sleep "$KSFT_TEST_TIMEOUT"
		touch /tmp/.ksft-timeout
		stalled "$1" >&3 2>&1
		kill -KILL -"$pid" "$pid"
	) 3>&1 >/dev/null 2>&1 &
	wd=$!
	wait "$pid"
	rc=$?
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	[ -e /tmp/.ksft-timeout ] && rc=timeout
	cd /
	section_end "$1" "$rc"
}

section_begin kmod-load
if insmod "$KSFT_KO"; then
	echo "ok - insmod katasbx.ko"
else
	echo "not ok - insmod katasbx.ko"
fi
section_end kmod-load 0

for t in $KSFT_TESTS; do
	run_test "$t" "$KSFT_DIR/$t"
done

# The selftests check that unload is refused while in use; here nothing is open.
section_begin kmod-reload
if timeout 60 rmmod katasbx; then
	echo "ok - rmmod when idle"
else
	echo "not ok - rmmod when idle"
fi
if timeout 60 insmod "$KSFT_KO"; then
	echo "ok - reload"
else
	echo "not ok - reload"
fi
section_end kmod-reload 0

pat='Oops|BUG:|WARNING:|Call Trace'
section_begin dmesg
if dmesg | grep -qE "$pat"; then
	echo "not ok - kernel log has no Oops, BUG, WARNING or Call Trace"
	dmesg | grep -E -B 3 -A 30 "$pat" | head -n 300 | sed 's/^/# /'
else
	echo "ok - kernel log has no Oops, BUG, WARNING or Call Trace"
fi
section_end dmesg 0

echo "@@KSFT-DMESG-BEGIN@@"
dmesg
echo "@@KSFT-DMESG-END@@"
echo "@@KSFT-DONE@@"
sync
poweroff -f
sleep 60
