#!/bin/sh
# Print the kernel build tree katasbx.ko is built against (make kmod's KDIR):
# the running kernel's, else the newest Debian linux-headers-*-amd64 tree whose
# kernel is installed too (/lib/modules/<ver>/ and /boot/vmlinuz-<ver>), so the
# module can be tested in a VM booting that kernel. Prints nothing if none.
d=/lib/modules/$(uname -r)/build
if [ -d "$d" ]; then
	echo "$d"
	exit 0
fi
best=
for h in $(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V); do
	v=${h#/usr/src/linux-headers-}
	[ -f "/lib/modules/$v/modules.dep" ] && [ -f "/boot/vmlinuz-$v" ] && best=$h
done
[ -n "$best" ] && echo "$best"
exit 0
