// SPDX-License-Identifier: GPL-2.0
/* containerd's rootfs mounts (overlay, bind, ...) onto the bundle's rootfs. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "containerd/types/mount.pb-c.h"
#include "shim.h"
#include "state.h"

struct flag {
	const char *name;
	bool clear;
	unsigned long flag;
};

static const struct flag flags[] = {
	{ "ro", false, MS_RDONLY },	   { "rw", true, MS_RDONLY },
	{ "bind", false, MS_BIND },	   { "rbind", false, MS_BIND | MS_REC },
	{ "nosuid", false, MS_NOSUID },	   { "suid", true, MS_NOSUID },
	{ "nodev", false, MS_NODEV },	   { "dev", true, MS_NODEV },
	{ "noexec", false, MS_NOEXEC },	   { "exec", true, MS_NOEXEC },
	{ "sync", false, MS_SYNCHRONOUS }, { "async", true, MS_SYNCHRONOUS },
	{ "dirsync", false, MS_DIRSYNC },  { "remount", false, MS_REMOUNT },
	{ "noatime", false, MS_NOATIME },  { "atime", true, MS_NOATIME },
	{ "nodiratime", false, MS_NODIRATIME }, { "relatime", false, MS_RELATIME },
	{ "strictatime", false, MS_STRICTATIME }, { "defaults", false, 0 },
};

/* Known options become flags; the rest is the filesystem's data, comma-joined. */
static int parse_options(const Containerd__Types__Mount *m, unsigned long *mflags, char *data,
			 size_t len)
{
	size_t i, j, used = 0;

	*mflags = 0;
	data[0] = '\0';
	for (i = 0; i < m->n_options; i++) {
		const char *o = m->options[i];
		bool known = false;

		for (j = 0; j < sizeof(flags) / sizeof(flags[0]); j++) {
			if (!strcmp(o, flags[j].name)) {
				if (flags[j].clear)
					*mflags &= ~flags[j].flag;
				else
					*mflags |= flags[j].flag;
				known = true;
				break;
			}
		}
		if (known)
			continue;
		if (used + strlen(o) + 2 > len)
			return -1;
		used += snprintf(data + used, len - used, "%s%s", used ? "," : "", o);
	}
	return 0;
}

int shim_mount_rootfs(const char *dir, ProtobufCMessage **mounts, size_t n, struct kx_err *err)
{
	size_t i;

	if (!n)
		return 0;
	if (mkdir(dir, 0711) && errno != EEXIST)
		return kx_error(err, errno, "mkdir %s", dir);
	for (i = 0; i < n; i++) {
		const Containerd__Types__Mount *m = (const Containerd__Types__Mount *)mounts[i];
		unsigned long mf;
		char data[8192];

		if (parse_options(m, &mf, data, sizeof(data))) {
			kx_error(err, E2BIG, "rootfs mount %zu: options too long", i);
			goto undo;
		}
		/* a bind mount ignores MS_RDONLY: it takes the remount below */
		if (mount(m->source, dir, m->type, mf & MS_BIND ? mf & ~MS_RDONLY : mf,
			  data[0] ? data : NULL)) {
			kx_error(err, errno, "mount rootfs (%s %s) on %s", m->type, m->source, dir);
			goto undo;
		}
		/* a read-only bind mount takes a remount */
		if ((mf & MS_BIND) && (mf & MS_RDONLY) &&
		    mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)) {
			kx_error(err, errno, "remount rootfs %s read-only", dir);
			i++;
			goto undo;
		}
	}
	return 0;
undo:
	while (i--)
		umount2(dir, MNT_DETACH);
	return -1;
}

void shim_unmount_rootfs(const char *dir)
{
	int i;

	/* stacked mounts come off one at a time; EINVAL once nothing is mounted */
	for (i = 0; i < 16; i++)
		if (umount2(dir, MNT_DETACH))
			break;
}

int shim_bind(const char *src, const char *dst, struct kx_err *err)
{
	if (mkdir(dst, 0755) && errno != EEXIST)
		return kx_error(err, errno, "mkdir %s", dst);
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL)) {
		kx_error(err, errno, "bind %s on %s", src, dst);
		rmdir(dst);
		return -1;
	}
	return 0;
}

void shim_unbind(const char *dst)
{
	shim_unmount_rootfs(dst);
	rmdir(dst);
}

int shim_pod_mounts(char *buf, size_t len, const char *share, const char *id)
{
	return snprintf(buf, len, "%s%s.mounts-%s", share ? share : "", share ? "/" : "", id) >=
	       (int)len ? -1 : 0;
}

void shim_pod_unbind_mounts(const char *share, const char *id)
{
	char dir[PATH_MAX];

	if (!shim_pod_mounts(dir, sizeof(dir), share, id))
		kx_unbind_dir(dir);
}

int shim_pod_share(char *buf, size_t len, const char *root, const char *sandbox_id)
{
	if (!kx_id_valid(sandbox_id))
		return -1;
	return snprintf(buf, len, "%s/.pods/%s", root, sandbox_id) >= (int)len ? -1 : 0;
}

/* The annotation key in a JSON object's text ("{...}"); NULL if absent. Free it. */
char *shim_annotation(const char *json, const char *key)
{
	json_object *o = json ? json_tokener_parse(json) : NULL, *v;
	char *s = NULL;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		s = strdup(json_object_get_string(v));
	json_object_put(o);
	return s;
}
