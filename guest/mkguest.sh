#!/bin/sh
# Build the guest image: the kernel (as shipped, plus its uncompressed vmlinux
# for a fast PVH boot) and an initramfs whose /init is katasbx-agent.
#
# usage: mkguest.sh AGENT OUTDIR [KERNEL_VERSION]
#   KERNEL_VERSION defaults to the newest /boot/vmlinuz-* with a module tree.
set -eu

agent=$1
out=$2
kver=${3:-}
here=$(cd "$(dirname "$0")" && pwd)

if [ -z "$kver" ]; then
	for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V); do
		[ -f "/lib/modules/$k/modules.dep" ] && kver=$k
	done
fi
if [ -z "$kver" ] || [ ! -f "/boot/vmlinuz-$kver" ]; then
	echo "mkguest: no guest kernel: install linux-image-amd64" >&2
	exit 1
fi
moddir=/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || { echo "mkguest: $moddir/modules.dep missing" >&2; exit 1; }

mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

cp "/boot/vmlinuz-$kver" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"

# Debian's bzImage carries an XZ payload; decompressing it in the guest costs
# seconds under TCG, so extract it once here. Boots through the PVH entry.
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$out/vmlinuz" | head -n 1 | cut -d: -f1)
if [ -n "$off" ]; then
	tail -c +"$((off + 1))" "$out/vmlinuz" | xz -dc > "$out/vmlinux.tmp" 2>/dev/null || true
	if [ "$(head -c 4 "$out/vmlinux.tmp" | od -An -c | tr -d ' ')" = "177ELF" ]; then
		mv "$out/vmlinux.tmp" "$out/vmlinux"
	else
		rm -f "$out/vmlinux.tmp" "$out/vmlinux"
	fi
fi

# Modules with their dependencies, dependencies first.
mkdir -p "$stage/lib/modules" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/run" \
	"$stage/tmp" "$stage/sbin"
: > "$stage/lib/modules/load-order"
add_module() { # relpath
	local rel name deps d
	rel=$1
	name=$(basename "$rel")
	grep -qx "$name" "$stage/lib/modules/load-order" && return 0
	# modules.dep lists every dependency, transitive ones included
	deps=$(grep "^$rel:" "$moddir/modules.dep" | cut -d: -f2)
	for d in $deps; do add_module "$d"; done
	cp "$moddir/$rel" "$stage/lib/modules/$name"
	echo "$name" >> "$stage/lib/modules/load-order"
}
# module_rel NAME: its path in modules.dep; nothing for one built into the kernel
# (nothing to load); fails when the kernel has neither
module_rel() {
	local rel
	rel=$(grep -E "/$1\.ko(\.xz|\.zst)?:" "$moddir/modules.dep" | head -n 1 | cut -d: -f1)
	if [ -z "$rel" ] && ! grep -qE "/$1\.ko" "$moddir/modules.builtin" 2>/dev/null; then
		echo "mkguest: module $1 not found for $kver" >&2
		return 1
	fi
	echo "$rel"
}
grep -v '^#' "$here/modules.list" | while read -r m; do
	[ -n "$m" ] || continue
	rel=$(module_rel "$m") || exit 1
	[ -z "$rel" ] || add_module "$rel"
done

# Modules on demand: in lib/modules/ondemand with what they need (not loaded at
# boot), "deps" naming each one's files in load order (what the boot loaded left
# out) and "aliases" the kernel's aliases of them (modules.alias: what
# request_module asks for, e.g. rtnl-link-bridge); the agent is /sbin/modprobe.
od=$stage/lib/modules/ondemand
mkdir -p "$od"
: > "$od/deps"
: > "$od/aliases"
od_order() { # relpath: its files, dependencies first, once each, not the boot's
	local rel name d
	rel=$1
	name=$(basename "$rel")
	grep -qx "$name" "$stage/lib/modules/load-order" && return 0
	case " $od_files " in *" $name "*) return 0 ;; esac
	for d in $(grep "^$rel:" "$moddir/modules.dep" | cut -d: -f2); do od_order "$d"; done
	od_files="$od_files $name"
	[ -e "$od/$name" ] || cp "$moddir/$rel" "$od/$name"
}
grep -v '^#' "$here/modules-ondemand.list" | while read -r m; do
	[ -n "$m" ] || continue
	rel=$(module_rel "$m") || exit 1
	[ -n "$rel" ] || continue
	od_files=
	od_order "$rel"
	echo "$(echo "$m" | tr - _)$od_files" >> "$od/deps"
done
# a line for the dependencies too (nfnetlink is asked for by its alias)
for f in "$od"/*.ko*; do
	m=$(basename "$f" | sed 's/\.ko.*//; s/-/_/g')
	grep -q "^$m " "$od/deps" && continue
	od_files=
	od_order "$(grep -E "/$(basename "$f"):" "$moddir/modules.dep" | head -n 1 | cut -d: -f1)"
	echo "$m$od_files" >> "$od/deps"
done
# every module there, by its name with underscores, and the aliases of each
cut -d' ' -f1 "$od/deps" | sort -u > "$od/names"
awk 'NR == FNR { want[$1] = 1; next } $1 == "alias" && ($3 in want) { print $2, $3 }' \
	"$od/names" "$moddir/modules.alias" > "$od/aliases"
rm -f "$od/names"

cp "$agent" "$stage/init"
chmod 0755 "$stage/init"
ln -sf /init "$stage/sbin/modprobe"

# A dynamic agent: its ELF interpreter and libraries where it finds them, at
# the same absolute paths (the loader's own directories: no ld.so.cache).
# The agent maps them before main() and frees the initramfs after: nothing
# may be loaded later (it uses no NSS and no dlopen).
if libs=$(ldd "$agent" 2>/dev/null); then
	if echo "$libs" | grep -q 'not found'; then
		echo "mkguest: $agent needs libraries that are not installed:" >&2
		echo "$libs" | grep 'not found' >&2
		exit 1
	fi
	for lib in $(echo "$libs" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
fi
interp=$(readelf -l "$agent" 2>/dev/null | sed -n 's/.*program interpreter: \(.*\)]$/\1/p')
if [ -n "$interp" ] && [ ! -e "$stage$interp" ]; then
	echo "mkguest: $agent: its ELF interpreter $interp is not in the initramfs" >&2
	exit 1
fi
echo "$kver" > "$stage/kernel-release"

(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 -n \
	> "$out/initrd.img.tmp"
mv "$out/initrd.img.tmp" "$out/initrd.img"
echo "$kver" > "$out/kernel-release"
