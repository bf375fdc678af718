#!/bin/sh
# Install the Debian packages katasbx needs; quiet and quick when none is missing.
# usage: install-deps.sh build|test
set -eu

build="make gcc libc6-dev pkg-config protobuf-c-compiler libprotobuf-c-dev libjson-c-dev libmnl-dev libinih-dev
libseccomp-dev qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils gzip
linux-headers-amd64"
test="$build libcmocka-dev procps sparse runc gnuplot-nox jq containerd python3 bsdutils
iproute2 containernetworking-plugins iperf3 strace python3-grpcio python3-grpc-tools clang libclang-rt-14-dev"

case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$s" = "install ok installed" ] || missing="$missing $p"
done
apt_install() {
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing Debian packages:$* (run as root, or install them)" >&2
		exit 1
	fi
	echo "install-deps: installing $*"
	export DEBIAN_FRONTEND=noninteractive
	[ -n "${updated:-}" ] || apt-get update -qq
	updated=1
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# shellcheck disable=SC2086
[ -z "$missing" ] || apt_install $missing

# katasbx.ko is built for the kernel the guests boot, the newest one installed:
# its headers must match it even when linux-headers-amd64 points elsewhere.
kver=$(ls -1 /boot/vmlinuz-*-amd64 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V | tail -n 1)
if [ -n "$kver" ] && [ ! -e "/usr/src/linux-headers-$kver/Makefile" ]; then
	apt_install "linux-headers-$kver"
fi
