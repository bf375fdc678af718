#!/bin/sh
# Make an OCI bundle with a busybox rootfs.
# usage: mkbundle.sh DIR 'ARGS-JSON-ELEMENTS' [EXTRA-PROCESS-JSON]
#   e.g. mkbundle.sh /tmp/b '"uname", "-r"' '"cwd": "/tmp", "env": ["A=1"]'
#   (extra keys come last and override the defaults)
set -eu
dir=$1
args=$2
extra=${3:-}
bb=$(command -v busybox || echo /bin/busybox)
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" \
	"$dir/rootfs/tmp" "$dir/rootfs/etc" "$dir/rootfs/root"
cp "$bb" "$dir/rootfs/bin/busybox"
for a in $("$bb" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$a"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/rootfs/etc/passwd"
echo 'root:x:0:' > "$dir/rootfs/etc/group"
[ -n "$extra" ] && extra=", $extra"
cat > "$dir/config.json" <<JSON
{
	"ociVersion": "1.0.2",
	"process": {
		"terminal": false,
		"user": { "uid": 0, "gid": 0 },
		"args": [ $args ],
		"env": [ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ],
		"cwd": "/"$extra
	},
	"root": { "path": "rootfs", "readonly": false },
	"hostname": "katasbx",
	"mounts": [
		{ "destination": "/proc", "type": "proc", "source": "proc" },
		{ "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
		  "options": [ "nosuid", "strictatime", "mode=755", "size=65536k" ] },
		{ "destination": "/dev/pts", "type": "devpts", "source": "devpts",
		  "options": [ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620" ] },
		{ "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
		  "options": [ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" ] },
		{ "destination": "/sys", "type": "sysfs", "source": "sysfs",
		  "options": [ "nosuid", "noexec", "nodev", "ro" ] }
	],
	"linux": { "namespaces": [ { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
				   { "type": "uts" }, { "type": "mount" } ] }
}
JSON
