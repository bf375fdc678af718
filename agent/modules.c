// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel modules of the initramfs: /lib/modules/load-order names them,
 * dependencies first. Parameters come from "modname.param=value" on the
 * kernel command line, as modprobe would pass them.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
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

/* finit_module of dirfd/file: 0 when loaded (or loaded already), else an errno. */
static int insmod_at(int dirfd, const char *file, char *name, size_t name_len)
{
	char params[1024];
	bool compressed;
	int fd, flags = 0, ret = 0;

	if (strchr(file, '/') || file[0] == '.')
		return EINVAL;
	compressed = module_name(file, name, name_len);
	if (compressed)
		flags |= MODULE_INIT_COMPRESSED_FILE;
	cmdline_module_params(name, params, sizeof(params));
	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (syscall(SYS_finit_module, fd, params, flags) < 0 && errno != EEXIST)
		ret = errno;
	close(fd);
	return ret;
}

static void load_one(int dirfd, const char *file)
{
	char name[128];
	int err = insmod_at(dirfd, file, name, sizeof(name));

	if (err)
		log_err("load module %s: %s", file, strerror(err));
	else
		log_dbg("module %s loaded", name);
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

/*
 * What request_module() asks for (a module's name or one of its aliases:
 * "rtnl-link-bridge", "fs-overlay"): the name, with underscores, of the
 * module on demand it names, else want itself with underscores, in mod.
 */
static void ondemand_module(int odfd, const char *want, char *mod, size_t len)
{
	char line[512], norm[128], pat[400], name[128];
	bool found = false;
	size_t i;
	FILE *f;
	int fd;

	for (i = 0; want[i] && i < sizeof(norm) - 1; i++)
		norm[i] = want[i] == '-' ? '_' : want[i];
	norm[i] = '\0';
	fd = openat(odfd, "aliases", O_RDONLY | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	while (f && !found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%399s %127s", pat, name) == 2 &&
		    (!strcmp(name, norm) || !fnmatch(pat, want, 0))) {
			snprintf(mod, len, "%s", name);
			found = true;
		}
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	if (!found)
		snprintf(mod, len, "%s", norm);
}

int ondemand_files(int odfd, const char *want, char *mod, size_t mod_len, char *files,
		   size_t files_len)
{
	char line[4096], *tok, *save;
	int ret = ENOENT;
	FILE *f;
	int fd;

	ondemand_module(odfd, want, mod, mod_len);
	fd = openat(odfd, "deps", O_RDONLY | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f && fd >= 0)
		close(fd);
	while (f && ret && fgets(line, sizeof(line), f)) {
		tok = strtok_r(line, " \n", &save);
		if (!tok || strcmp(tok, mod))
			continue;
		ret = 0;
		files[0] = '\0';
		while ((tok = strtok_r(NULL, " \n", &save))) {
			size_t used = strlen(files);

			if (snprintf(files + used, files_len - used, "%s%s", used ? " " : "", tok) >=
			    (int)(files_len - used))
				ret = ENAMETOOLONG;
		}
	}
	if (f)
		fclose(f);
	return ret;
}

/*
 * The agent as /sbin/modprobe, run by the kernel (request_module: "modprobe
 * -q -- NAME") in PID 1's root, where the agent keeps the initramfs when it
 * has modules on demand: NAME's files (ondemand_files), loaded in order.
 * Exit 0 once loaded, 1 when it is not there or fails.
 */
int modprobe_main(int argc, char **argv)
{
	char mod[128], name[128], files[4096], *tok, *save;
	const char *want = NULL;
	bool quiet = false;
	int odfd, err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			want = i + 1 < argc ? argv[i + 1] : NULL;
			break;
		}
		if (argv[i][0] != '-') {
			want = argv[i];
			break;
		}
		if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			quiet = true;
	}
	if (!want) {
		fprintf(stderr, "modprobe (katasbx-agent): usage: modprobe [-q] [--] MODULE\n");
		return 1;
	}
	odfd = open("/lib/modules/ondemand", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (odfd < 0) {
		if (!quiet)
			fprintf(stderr, "modprobe: %s: the guest has no modules on demand\n", want);
		return 1;
	}
	err = ondemand_files(odfd, want, mod, sizeof(mod), files, sizeof(files));
	if (err == ENOENT) {
		if (!quiet)
			fprintf(stderr, "modprobe: %s (%s): not among the guest's modules\n", want, mod);
		close(odfd);
		return 1;
	}
	for (tok = err ? NULL : strtok_r(files, " ", &save); tok && !err;
	     tok = strtok_r(NULL, " ", &save))
		err = insmod_at(odfd, tok, name, sizeof(name));
	close(odfd);
	if (err) {
		fprintf(stderr, "modprobe: %s (%s): %s\n", want, mod, strerror(err));
		return 1;
	}
	return 0;
}
