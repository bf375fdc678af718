// SPDX-License-Identifier: GPL-2.0
/*
 * Paths inside a container's root, resolved there (symlinks stay in it):
 * the agent makes mount points in the guest, the host in a rootfs it is
 * about to share read-only.
 */
#include "rootpath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

int kx_root_open(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

int kx_root_mkpath(int rootfd, const char *path, bool want_file)
{
	char buf[4096];
	char *p;
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return errno = ENAMETOOLONG, -1;
	memcpy(buf, path, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	for (p = buf + 1;; p++) {
		bool last = !*p;
		char saved;
		int fd, parent;
		char *slash;

		if (*p && *p != '/')
			continue;
		saved = *p;
		*p = '\0';
		fd = kx_root_open(rootfd, buf, O_PATH);
		if (fd >= 0) {
			close(fd);
		} else if (errno == ENOENT) {
			slash = strrchr(buf, '/');
			*slash = '\0';
			parent = kx_root_open(rootfd, slash == buf ? "/" : buf,
					      O_PATH | O_DIRECTORY);
			*slash = '/';
			if (parent < 0)
				return -1;
			if (last && want_file) {
				fd = openat(parent, slash + 1,
					    O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
				if (fd >= 0)
					close(fd);
			} else {
				fd = mkdirat(parent, slash + 1, 0755);
			}
			close(parent);
			if (fd < 0 && errno != EEXIST)
				return -1;
		} else {
			return -1;
		}
		*p = saved;
		if (last)
			return 0;
	}
}

