// SPDX-License-Identifier: GPL-2.0
/* The mount options the guest knows (mountopt.h); also linked into the agent. */
#include "mountopt.h"

#include <string.h>
#include <sys/mount.h>

const struct kx_mount_opt kx_mount_opts[] = {
	{ "ro", false, false, MS_RDONLY },		{ "rw", true, false, MS_RDONLY },
	{ "nosuid", false, false, MS_NOSUID },		{ "suid", true, false, MS_NOSUID },
	{ "nodev", false, false, MS_NODEV },		{ "dev", true, false, MS_NODEV },
	{ "noexec", false, false, MS_NOEXEC },		{ "exec", true, false, MS_NOEXEC },
	{ "sync", false, false, MS_SYNCHRONOUS },	{ "async", true, false, MS_SYNCHRONOUS },
	{ "dirsync", false, false, MS_DIRSYNC },	{ "remount", false, false, MS_REMOUNT },
	{ "mand", false, false, MS_MANDLOCK },		{ "nomand", true, false, MS_MANDLOCK },
	{ "atime", true, false, MS_NOATIME },		{ "noatime", false, false, MS_NOATIME },
	{ "diratime", true, false, MS_NODIRATIME },	{ "nodiratime", false, false, MS_NODIRATIME },
	{ "relatime", false, false, MS_RELATIME },	{ "norelatime", true, false, MS_RELATIME },
	{ "strictatime", false, false, MS_STRICTATIME },
	{ "nostrictatime", true, false, MS_STRICTATIME },
	{ "bind", false, false, MS_BIND },		{ "rbind", false, false, MS_BIND | MS_REC },
	{ "defaults", false, false, 0 },
	{ "private", false, true, MS_PRIVATE },		{ "rprivate", false, true, MS_PRIVATE | MS_REC },
	{ "shared", false, true, MS_SHARED },		{ "rshared", false, true, MS_SHARED | MS_REC },
	{ "slave", false, true, MS_SLAVE },		{ "rslave", false, true, MS_SLAVE | MS_REC },
	{ "unbindable", false, true, MS_UNBINDABLE },
	{ "runbindable", false, true, MS_UNBINDABLE | MS_REC },
};

const size_t kx_n_mount_opts = sizeof(kx_mount_opts) / sizeof(kx_mount_opts[0]);

const struct kx_mount_opt *kx_mount_opt(const char *name)
{
	for (size_t i = 0; i < kx_n_mount_opts; i++)
		if (!strcmp(name, kx_mount_opts[i].name))
			return &kx_mount_opts[i];
	return NULL;
}
