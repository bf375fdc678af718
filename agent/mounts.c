// SPDX-License-Identifier: GPL-2.0
/*
 * The container's filesystem, built by its init process in its own mount
 * namespace: the spec's mounts under the rootfs (targets resolved inside
 * the rootfs with openat2(RESOLVE_IN_ROOT), so that a symlink in the image
 * cannot point a mount outside it; a tmpfs with tmpcopyup gets what the
 * directory under it held), /dev nodes, pivot_root, masked and read-only
 * paths, read-only root, hostname.
 */
#include "agent.h"
#include "mountopt.h"
#include "rootpath.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define N_OPTS(a) (sizeof(a) / sizeof((a)[0]))

#define COPYUP_DEPTH 64	/* directories deep, an fd each on the way down */

/*
 * Options to mount flags, propagation flags, and a data string for the rest;
 * *copyup for runc's tmpcopyup.
 */
static int parse_options(const pb_mount *m, unsigned long *flags, unsigned long *prop,
			 bool *copyup, char *data, size_t len, struct kx_err *err)
{
	size_t used = 0;

	*flags = *prop = 0;
	*copyup = false;
	data[0] = '\0';
	for (size_t i = 0; i < m->n_options; i++) {
		const char *o = m->options[i];
		const struct kx_mount_opt *mo = kx_mount_opt(o);

		if (mo && mo->propagation)
			*prop = mo->flag;
		else if (mo && mo->clear)
			*flags &= ~mo->flag;
		else if (mo)
			*flags |= mo->flag;
		if (mo || !*o)
			continue;
		if (!strcmp(o, "tmpcopyup")) {
			*copyup = true;
			continue;
		}
		/* Tokens only for the host's own helpers. */
		if (!strncmp(o, "x-", 2))
			continue;
		if (used + strlen(o) + 2 > len)
			return kx_error(err, EINVAL, "mount %s: options too long", m->destination);
		used += snprintf(data + used, len - used, "%s%s", used ? "," : "", o);
	}
	return 0;
}

/* Mount targets go through /proc/self/fd: the path was resolved in the root. */
static int target_path(int rootfd, const char *dest, char *out, size_t len, int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = kx_root_open(rootfd, dest, O_PATH);
	if (*fd < 0)
		return -1;
	snprintf(out, len, "/proc/self/fd/%d", *fd);
	return 0;
}

static unsigned long vfs_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	return f;
}

static int copy_file(int src, int dst, const char *name, const struct stat *st)
{
	int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out;
	char buf[65536];
	ssize_t n = 0;

	if (in < 0)
		return -1;
	out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     st->st_mode & 07777);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			n = -1;
			break;
		}
	close(in);
	if (close(out) < 0 || n < 0)
		return -1;
	return 0;
}

/*
 * runc's tmpcopyup: what the directory src held before the tmpfs went over
 * it, copied into the tmpfs dst: directories, files, symlinks, device nodes
 * and fifos with their modes, owners and times. *failed names what did not
 * copy. Hard links come apart, as under runc.
 */
static int copy_tree(int src, int dst, int depth, char *failed, size_t len)
{
	int sfd = dup(src), ret = 0;
	DIR *d = sfd >= 0 ? fdopendir(sfd) : NULL;
	struct dirent *de;

	if (!d) {
		if (sfd >= 0)
			close(sfd);
		snprintf(failed, len, "a directory");
		return -1;
	}
	while (!ret && (errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		struct timespec times[2];
		char link[4096];
		struct stat st;
		ssize_t n;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		snprintf(failed, len, "%s", name);
		if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			ret = -1;
		else if (S_ISDIR(st.st_mode)) {
			int s2, d2;

			if (depth >= COPYUP_DEPTH) {
				errno = ELOOP;
				ret = -1;
			} else if (mkdirat(dst, name, st.st_mode & 07777) < 0) {
				ret = -1;
			} else if ((s2 = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						O_CLOEXEC)) < 0) {
				ret = -1;
			} else {
				d2 = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (d2 < 0 || copy_tree(s2, d2, depth + 1, failed, len) < 0)
					ret = -1;
				if (d2 >= 0)
					close(d2);
				close(s2);
			}
		} else if (S_ISREG(st.st_mode)) {
			ret = copy_file(src, dst, name, &st);
		} else if (S_ISLNK(st.st_mode)) {
			n = readlinkat(src, name, link, sizeof(link) - 1);
			if (n < 0)
				ret = -1;
			else {
				link[n] = '\0';
				ret = symlinkat(link, dst, name);
			}
		} else {
			ret = mknodat(dst, name, st.st_mode, st.st_rdev);
		}
		if (ret)
			break;
		if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (!S_ISLNK(st.st_mode) && fchmodat(dst, name, st.st_mode & 07777, 0) < 0)) {
			ret = -1;
			break;
		}
		times[0] = st.st_atim;
		times[1] = st.st_mtim;
		utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW);
	}
	if (!ret && errno) {
		snprintf(failed, len, "a directory's entries");
		ret = -1;
	}
	closedir(d);
	return ret;
}

static int do_mount(int rootfd, const pb_mount *m, const char *share_root,
		    struct kx_err *err)
{
	unsigned long flags, prop;
	char data[1024], target[64], shared[4200];
	const char *type = m->type, *source = m->source;
	struct stat st;
	bool bind, copyup;
	int fd = -1, below = -1, ret = -1;

	if (parse_options(m, &flags, &prop, &copyup, data, sizeof(data), err))
		return -1;
	if (!strcmp(type, "cgroup"))
		type = "cgroup2";	/* the guest is pure cgroup v2 */
	bind = (flags & MS_BIND) || !strcmp(type, "bind") || m->share_source[0];
	if (m->share_source[0]) {
		/* a host path, bound by the host into the rootfs share */
		snprintf(shared, sizeof(shared), "%s/%s", share_root, m->share_source);
		source = shared;
	}
	if (bind) {
		flags |= MS_BIND;
		if (source[0] != '/')
			return kx_error(err, EINVAL, "bind mount %s: source %s is not absolute",
					m->destination, source);
		if (stat(source, &st) < 0)
			return kx_error(err, errno, "bind mount %s: source %s", m->destination,
					m->source);
	}
	if (kx_root_mkpath(rootfd, m->destination, bind && !S_ISDIR(st.st_mode)) < 0) {
		kx_error(err, errno, "mount point %s", m->destination);
		goto out;
	}
	if (target_path(rootfd, m->destination, target, sizeof(target), &fd) < 0) {
		kx_error(err, errno, "mount point %s", m->destination);
		goto out;
	}
	if (bind) {
		unsigned long extra = flags & ~(MS_BIND | MS_REC | MS_REMOUNT);

		if (mount(source, target, NULL, flags & (MS_BIND | MS_REC), NULL) < 0) {
			kx_error(err, errno, "bind %s on %s", m->source, m->destination);
			goto out;
		}
		if (extra) {
			/* Flags of a bind mount take a remount of the new mount. */
			if (target_path(rootfd, m->destination, target, sizeof(target), &fd) < 0 ||
			    mount(NULL, target, NULL,
				  MS_BIND | MS_REMOUNT | extra | vfs_flags(target), NULL) < 0) {
				kx_error(err, errno, "remount %s", m->destination);
				goto out;
			}
		}
	} else {
		/* tmpcopyup: the directory under the tmpfs stays reachable through this fd */
		if (copyup && !strcmp(type, "tmpfs") &&
		    (below = kx_root_open(rootfd, m->destination, O_RDONLY | O_DIRECTORY)) < 0) {
			kx_error(err, errno, "mount %s: tmpcopyup", m->destination);
			goto out;
		}
		if (mount(m->source[0] ? m->source : type, target, type, flags,
			  data[0] ? data : NULL) < 0) {
			kx_error(err, errno, "mount %s on %s", type, m->destination);
			goto out;
		}
		if (below >= 0) {
			char failed[256];
			int top = kx_root_open(rootfd, m->destination, O_RDONLY | O_DIRECTORY);

			if (top < 0 || copy_tree(below, top, 0, failed, sizeof(failed)) < 0) {
				kx_error(err, errno, "mount %s: tmpcopyup of %s", m->destination,
					 top < 0 ? "the tmpfs" : failed);
				if (top >= 0)
					close(top);
				goto out;
			}
			close(top);
		}
	}
	if (prop) {
		if (target_path(rootfd, m->destination, target, sizeof(target), &fd) < 0 ||
		    mount(NULL, target, NULL, prop, NULL) < 0) {
			kx_error(err, errno, "propagation of %s", m->destination);
			goto out;
		}
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (below >= 0)
		close(below);
	return ret;
}

static bool is_dev_tmpfs(const pb_mount *m)
{
	const char *d = m->destination;

	while (d[0] == '/' && d[1] == '/')
		d++;
	return (!strcmp(d, "/dev") || !strcmp(d, "/dev/")) && !strcmp(m->type, "tmpfs");
}

/* A tmpfs /dev gets the nodes every program expects. */
static int populate_dev(int rootfd, struct kx_err *err)
{
	static const struct {
		const char *name;
		unsigned int major, minor;
	} nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const struct {
		const char *name, *target;
	} links[] = {
		{ "ptmx", "pts/ptmx" }, { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
		{ "core", "/proc/kcore" },
	};
	int dev = kx_root_open(rootfd, "/dev", O_PATH | O_DIRECTORY);

	if (dev < 0)
		return kx_error(err, errno, "open /dev in the rootfs");
	for (size_t i = 0; i < N_OPTS(nodes); i++) {
		char src[64], target[64];
		int fd;

		if (!mknodat(dev, nodes[i].name, S_IFCHR | 0666,
			     makedev(nodes[i].major, nodes[i].minor)) || errno == EEXIST) {
			fchmodat(dev, nodes[i].name, 0666, 0);
			continue;
		}
		if (errno != EPERM) {
			kx_error(err, errno, "mknod /dev/%s", nodes[i].name);
			close(dev);
			return -1;
		}
		/* a user namespace's root makes no nodes: the guest's are bound, as runc's are */
		fd = openat(dev, nodes[i].name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
		snprintf(src, sizeof(src), "/dev/%s", nodes[i].name);
		snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
		if (fd < 0 || mount(src, target, NULL, MS_BIND, NULL) < 0) {
			kx_error(err, errno, "bind %s on the container's", src);
			if (fd >= 0)
				close(fd);
			close(dev);
			return -1;
		}
		close(fd);
	}
	for (size_t i = 0; i < N_OPTS(links); i++)
		symlinkat(links[i].target, dev, links[i].name);
	close(dev);
	return 0;
}

static int mask_paths(const pb_create_req *r, struct kx_err *err)
{
	for (size_t i = 0; i < r->n_readonly_paths; i++) {
		const char *p = r->readonly_paths[i];

		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return kx_error(err, errno, "readonly path %s", p);
		}
		if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | vfs_flags(p), NULL) < 0)
			return kx_error(err, errno, "readonly path %s", p);
	}
	for (size_t i = 0; i < r->n_masked_paths; i++) {
		const char *p = r->masked_paths[i];
		struct stat st;
		int ret;

		if (stat(p, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return kx_error(err, errno, "masked path %s", p);
		}
		if (S_ISDIR(st.st_mode))
			ret = mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL);
		else
			ret = mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (ret < 0)
			return kx_error(err, errno, "masked path %s", p);
	}
	return 0;
}

/* pivot_root(".", ".") stacks the old root on the new one; detach it. */
static int enter_root(const char *rootfs, struct kx_err *err)
{
	if (chdir(rootfs) < 0)
		return kx_error(err, errno, "chdir %s", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return kx_error(err, errno, "detach the old root");
	} else {
		/* The agent could not leave the initramfs: fall back to a moved chroot. */
		if (errno != EINVAL || mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
		    chroot(".") < 0)
			return kx_error(err, errno, "pivot_root to %s", rootfs);
	}
	if (chdir("/") < 0)
		return kx_error(err, errno, "chdir /");
	return 0;
}

/* linux.devices: each node made at its path in the root, parents too, as runc */
static int make_devices(int rootfd, const pb_create_req *r, struct kx_err *err)
{
	for (size_t i = 0; i < r->n_devices; i++) {
		const Katasbx__Agent__V1__Device *d = r->devices[i];
		char dir[4096], *slash;
		const char *base;
		mode_t type = d->type[0] == 'b' ? S_IFBLK : d->type[0] == 'p' ? S_IFIFO : S_IFCHR;
		int dfd;

		snprintf(dir, sizeof(dir), "%s", d->path);
		slash = strrchr(dir, '/');
		base = d->path + (slash - dir) + 1;
		*slash = '\0';
		if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
			return kx_error(err, 0, "linux.devices: %s: not a file path", d->path);
		if ((*dir && kx_root_mkpath(rootfd, dir, false) < 0) ||
		    (dfd = kx_root_open(rootfd, *dir ? dir : "/", O_PATH | O_DIRECTORY)) < 0)
			return kx_error(err, errno, "linux.devices: %s", d->path);
		/* one the rootfs has already is replaced, as runc replaces it */
		unlinkat(dfd, base, 0);
		if (mknodat(dfd, base, type | (d->file_mode & 07777),
			    makedev((unsigned int)d->major, (unsigned int)d->minor)) < 0 ||
		    fchownat(dfd, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(dfd, base, d->file_mode & 07777, 0) < 0) {
			kx_error(err, errno, "linux.devices: mknod %s", d->path);
			close(dfd);
			return -1;
		}
		close(dfd);
	}
	return 0;
}

int setup_rootfs(const pb_create_req *r, const char *rootfs, const char *share_root,
		 struct kx_err *err)
{
	bool dev_tmpfs = false;
	int rootfd, ret = -1;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return kx_error(err, errno, "make / private");
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return kx_error(err, errno, "bind %s", rootfs);
	rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return kx_error(err, errno, "open %s", rootfs);
	for (size_t i = 0; i < r->n_mounts; i++) {
		if (do_mount(rootfd, r->mounts[i], share_root, err) < 0)
			goto out;
		if (is_dev_tmpfs(r->mounts[i]))
			dev_tmpfs = true;
	}
	if ((dev_tmpfs && populate_dev(rootfd, err) < 0) || make_devices(rootfd, r, err) < 0)
		goto out;
	if (enter_root(rootfs, err) < 0)
		goto out;
	if (mask_paths(r, err) < 0)
		goto out;
	if (r->rootfs_readonly &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | vfs_flags("/"), NULL) < 0) {
		kx_error(err, errno, "remount the rootfs read-only");
		goto out;
	}
	if (r->hostname[0] && sethostname(r->hostname, strlen(r->hostname)) < 0) {
		kx_error(err, errno, "sethostname %s", r->hostname);
		goto out;
	}
	ret = 0;
out:
	close(rootfd);
	return ret;
}
