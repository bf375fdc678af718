#!/bin/sh
# Install the Debian packages katasbx needs; quiet and quick when none is missing.
# usage: install-deps.sh build|test
set -eu

build="make gcc libc6-dev pkg-config protobuf-c-compiler libprotobuf-c-dev libjson-c-dev
libseccomp-dev qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils gzip
linux-headers-amd64"
test="$build libcmocka-dev procps sparse runc gnuplot-nox jq containerd"

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
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing Debian packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
