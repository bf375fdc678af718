// SPDX-License-Identifier: GPL-2.0
#include "share.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsutil.h"
#include "rootpath.h"

/* Make the bind mount at target read-only, with everything mounted below it. */
static int bind_readonly(const char *target, struct kx_err *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (!syscall(SYS_mount_setattr, AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof(attr)))
		return 0;
	if (errno == ENOSYS &&
	    !mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL))
		return 0;
	return kx_error(err, errno, "make %s read-only", target);
}

static int bind_at(const char *src, const char *target, bool readonly, struct kx_err *err)
{
	if (mount(src, target, NULL, MS_BIND | MS_REC, NULL))
		return kx_error(err, errno, "bind %s on %s", src, target);
	return readonly ? bind_readonly(target, err) : 0;
}

/* An empty directory or file to bind src on, like src. */
static int mount_point(const char *src, const char *path, struct kx_err *err)
{
	struct stat st;
	int fd;

	if (stat(src, &st) < 0)
		return kx_error(err, errno, "bind mount source %s", src);
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(path, 0755) && errno != EEXIST)
			return kx_error(err, errno, "mkdir %s", path);
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return kx_error(err, errno, "create %s", path);
	close(fd);
	return 0;
}

/* share_source "SUBDIR/N" of bind mount N, where kx_share_bind_mounts binds it */
static int name_mount(const char *subdir, Katasbx__Agent__V1__Mount *m, size_t i,
		      struct kx_err *err)
{
	char rel[300];

	snprintf(rel, sizeof(rel), "%s/%zu", subdir, i);
	if (*m->share_source)
		free(m->share_source);
	m->share_source = strdup(rel);
	if (!m->share_source)
		return kx_error(err, ENOMEM, "mount %s", m->destination);
	return 0;
}

int kx_share_bind_mounts(const char *share, const char *subdir, const struct kx_spec *spec,
			 struct kx_err *err)
{
	char path[4400];

	if (!spec->n_binds)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", share, subdir);
	if (mkdir(path, 0755) && errno != EEXIST)
		return kx_error(err, errno, "mkdir %s", path);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		Katasbx__Agent__V1__Mount *m = spec->mounts[i];

		if (!kx_mount_is_bind(m))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%zu", share, subdir, i);
		if (mount_point(m->source, path, err) ||
		    bind_at(m->source, path, kx_mount_has_option(m, "ro"), err))
			return kx_error_wrap(err, "mount %s", m->destination);
		if (name_mount(subdir, m, i, err))
			return -1;
	}
	return 0;
}

int kx_share_name_mounts(const char *subdir, const struct kx_spec *spec, struct kx_err *err)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (kx_mount_is_bind(spec->mounts[i]) && name_mount(subdir, spec->mounts[i], i, err))
			return -1;
	return 0;
}

/*
 * A read-only rootfs gets its mount points made first, in the bundle's
 * rootfs itself, as runc makes them: the guest could not once it is shared
 * read-only. A directory, or a file for a bind mount of a file.
 */
static int make_mount_points(const struct kx_spec *spec, struct kx_err *err)
{
	int rootfd, ret = 0;
	struct stat st;

	rootfd = open(spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return kx_error(err, errno, "rootfs %s", spec->root_path);
	for (size_t i = 0; i < spec->n_mounts && !ret; i++) {
		const Katasbx__Agent__V1__Mount *m = spec->mounts[i];
		bool file = kx_mount_is_bind(m) && !stat(m->source, &st) && !S_ISDIR(st.st_mode);

		if (kx_root_mkpath(rootfd, m->destination, file))
			ret = kx_error(err, errno, "mount point %s in the rootfs %s", m->destination,
				       spec->root_path);
	}
	close(rootfd);
	return ret;
}

int kx_share_setup(const char *vmdir, const struct kx_spec *spec, struct kx_err *err)
{
	char path[4400];

	if (spec->root_readonly && make_mount_points(spec, err))
		return -1;

	snprintf(path, sizeof(path), "%s/share/%s", vmdir, KX_SHARE_ROOTFS);
	if (kx_mkdir_p(path, 0755))
		return kx_error(err, errno, "mkdir %s", path);
	if (bind_at(spec->root_path, path, spec->root_readonly, err))
		return -1;
	snprintf(path, sizeof(path), "%s/share", vmdir);
	return kx_share_bind_mounts(path, KX_SHARE_MOUNTS, spec, err);
}
