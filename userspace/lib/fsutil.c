// SPDX-License-Identifier: GPL-2.0
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "share.h"

int kx_mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **kx_dir_names(const char *dir, bool (*keep)(const char *name), size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = calloc(1, sizeof(char *));
	size_t cap = 1;

	*n = 0;
	if (!d || !v) {
		if (d)
			closedir(d);
		return v;
	}
	while ((de = readdir(d))) {
		if (!keep(de->d_name))
			continue;
		if (*n + 2 > cap) {
			char **nv = realloc(v, (cap * 2 + 2) * sizeof(char *));

			if (!nv)
				break;
			v = nv;
			cap = cap * 2 + 2;
		}
		v[(*n)++] = strdup(de->d_name);
		v[*n] = NULL;
	}
	closedir(d);
	qsort(v, *n, sizeof(char *), cmp_str);
	return v;
}

void kx_strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int kx_lock_file(const char *path, bool wait, struct kx_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return kx_error(err, errno, "open %s", path);
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))) {
		if (errno != EINTR || !wait) {
			kx_error(err, errno, "lock %s", path);
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Unmount and remove a mount point of the share; false if it is still there. */
static bool unbind(const char *path)
{
	struct stat st;

	if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
		kx_warn("unmount %s: %s", path, strerror(errno));
	if (lstat(path, &st))
		return errno == ENOENT;
	if (!(S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path)) || errno == ENOENT)
		return true;
	kx_warn("remove %s: %s; left in place", path, strerror(errno));
	return false;
}

bool kx_unbind_dir(const char *dir)
{
	struct dirent *de;
	bool clean = true;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT;
	while ((de = readdir(d))) {
		char mp[4700];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(mp, sizeof(mp), "%s/%s", dir, de->d_name);
		clean = unbind(mp) && clean;
	}
	closedir(d);
	return clean && unbind(dir);
}

void kx_vm_dir_remove(const char *dir)
{
	char path[4400];
	struct dirent *de;
	bool clean;
	DIR *d;

	snprintf(path, sizeof(path), "%s/share/%s", dir, KX_SHARE_MOUNTS);
	clean = kx_unbind_dir(path);
	snprintf(path, sizeof(path), "%s/share/%s", dir, KX_SHARE_ROOTFS);
	if (!unbind(path) || !clean)
		return;
	snprintf(path, sizeof(path), "%s/share", dir);
	if (rmdir(path) && errno != ENOENT) {
		kx_warn("remove %s: %s; left in place", path, strerror(errno));
		return;
	}
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_type != DT_DIR) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		kx_warn("remove %s: %s", dir, strerror(errno));
}

char *kx_read_text(int fd, const char *path, size_t max, struct kx_err *err)
{
	size_t len = 0, cap = 8192;
	char *buf = malloc(cap + 1), *nb;

	if (!buf) {
		kx_error(err, ENOMEM, "read %s", path);
		return NULL;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			kx_error(err, errno, "read %s", path);
			goto fail;
		}
		if (n == 0)
			break;
		len += n;
		if (len > max) {
			kx_error(err, EFBIG, "%s: larger than %zu bytes", path, max);
			goto fail;
		}
		if (len == cap) {
			cap = cap * 2 > max ? max + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				kx_error(err, ENOMEM, "read %s", path);
				goto fail;
			}
			buf = nb;
		}
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		kx_error(err, 0, "%s: contains a NUL byte", path);
		goto fail;
	}
	return buf;
fail:
	free(buf);
	return NULL;
}

char *kx_read_text_file(const char *path, size_t max, struct kx_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text;

	if (fd < 0) {
		kx_error(err, errno, "open %s", path);
		return NULL;
	}
	text = kx_read_text(fd, path, max, err);
	close(fd);
	return text;
}
