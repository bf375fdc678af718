// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel modules of the initramfs: /lib/modules/load-order names them,
 * dependencies first. Parameters come from "modname.param=value" on the
 * kernel command line, as modprobe would pass them.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

/* "virtio-rng.ko.xz" -> "virtio_rng", and whether it is compressed. */
static bool module_name(const char *file, char *name, size_t len)
{
	const char *ko = strstr(file, ".ko");
	size_t n;

	if (!ko)
		ko = file + strlen(file);
	n = ko - file;
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		name[i] = file[i] == '-' ? '_' : file[i];
	name[n] = '\0';
	return *ko && ko[3] == '.';
}

static void load_one(int dirfd, const char *file)
{
	char name[128], params[1024];
	bool compressed;
	int fd, flags = 0;

	if (strchr(file, '/') || file[0] == '.')
		return;
	compressed = module_name(file, name, sizeof(name));
	if (compressed)
		flags |= MODULE_INIT_COMPRESSED_FILE;
	cmdline_module_params(name, params, sizeof(params));
	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_err("module %s: %s", file, strerror(errno));
		return;
	}
	if (syscall(SYS_finit_module, fd, params, flags) < 0 && errno != EEXIST)
		log_err("load module %s: %s", file, strerror(errno));
	else
		log_dbg("module %s loaded%s%s", name, *params ? " with " : "", params);
	close(fd);
}

void modules_load(int rootfd)
{
	char list[8192];
	char *line, *save = NULL;
	int dirfd, fd;
	ssize_t n = 0;

	dirfd = openat(rootfd, "lib/modules", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return;
	fd = openat(dirfd, "load-order", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		do
			n = read(fd, list, sizeof(list) - 1);
		while (n < 0 && errno == EINTR);
		close(fd);
	}
	if (n <= 0) {
		close(dirfd);
		return;
	}
	list[n] = '\0';
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (*line && *line != '#')
			load_one(dirfd, line);
	}
	close(dirfd);
}
