// SPDX-License-Identifier: GPL-2.0
/*
 * katasbx-agent as PID 1: leave the initramfs root, mount the basic
 * filesystems, load modules, then run the single-threaded poll loop.
 */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the poll loop ---- */

struct loop_ent {
	poll_cb cb;
	void *ptr;
};

struct deferred {
	void (*fn)(void *);
	void *p;
};

static struct pollfd *pfds;
static struct loop_ent *ents;
static size_t nfds, capfds;
static int loop_wait;
static struct deferred *defers;
static size_t ndefers, capdefers;

void loop_add(int fd, short events, poll_cb cb, void *ptr)
{
	if (fd < 0)
		return;
	if (nfds == capfds) {
		size_t cap = capfds ? capfds * 2 : 64;
		struct pollfd *np = realloc(pfds, cap * sizeof(*np));
		struct loop_ent *ne;

		if (!np)
			return;
		pfds = np;
		ne = realloc(ents, cap * sizeof(*ne));
		if (!ne)
			return;
		ents = ne;
		capfds = cap;
	}
	pfds[nfds] = (struct pollfd){ .fd = fd, .events = events };
	ents[nfds] = (struct loop_ent){ .cb = cb, .ptr = ptr };
	nfds++;
}

void loop_timeout(int ms)
{
	if (ms < 0)
		ms = 0;
	if (loop_wait < 0 || ms < loop_wait)
		loop_wait = ms;
}

void defer_free(void (*fn)(void *), void *p)
{
	if (ndefers == capdefers) {
		size_t cap = capdefers ? capdefers * 2 : 16;
		struct deferred *nd = realloc(defers, cap * sizeof(*nd));

		if (!nd) {
			/* Leak rather than risk a use after free. */
			log_err("out of memory: leaking an object");
			return;
		}
		defers = nd;
		capdefers = cap;
	}
	defers[ndefers++] = (struct deferred){ .fn = fn, .p = p };
}

static int sig_fd = -1;

static void on_signal(void *ptr, short revents)
{
	struct signalfd_siginfo si[8];

	while (read(sig_fd, si, sizeof(si)) > 0)
		;
	container_reap();
}

static void __attribute__((noreturn)) loop_run(void)
{
	for (;;) {
		int ret;

		nfds = 0;
		loop_wait = -1;
		if (sig_fd >= 0) {
			loop_add(sig_fd, POLLIN, on_signal, NULL);
		} else {
			/* No signalfd: reap on a timer rather than never. */
			container_reap();
			loop_timeout(100);
		}
		channel_poll();
		containers_poll();
		ret = poll(pfds, nfds, loop_wait);
		if (ret < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			usleep(10000);
		}
		for (size_t i = 0; ret > 0 && i < nfds; i++)
			if (pfds[i].revents)
				ents[i].cb(ents[i].ptr, pfds[i].revents);
		pending_service();
		containers_gc();
		for (size_t i = 0; i < ndefers; i++)
			defers[i].fn(defers[i].p);
		ndefers = 0;
	}
}

/* ---- boot ---- */

struct boot_mount {
	const char *src, *dst, *type;
	unsigned long flags;
	const char *data;
};

static const struct boot_mount boot_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	  "newinstance,ptmxmode=0666,mode=0620,gid=5" },
	{ "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	  NULL },
};

/*
 * pivot_root(2) refuses to move away from the initramfs (rootfs has no
 * parent mount), and every container needs it. So PID 1 moves itself once
 * onto a tmpfs mounted over "/", like switch_root, and containers pivot
 * from there. Returns an fd on the old rootfs, or -1.
 */
static int leave_rootfs(void)
{
	static const char *const dirs[] = { "proc", "sys", "dev", "run", "tmp" };
	int old = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (old < 0)
		return -1;
	if ((mkdir("/newroot", 0755) < 0 && errno != EEXIST) ||
	    mount("agentroot", "/newroot", "tmpfs", 0, "mode=0755") < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[64];

		snprintf(path, sizeof(path), "/newroot/%s", dirs[i]);
		mkdir(path, !strcmp(dirs[i], "tmp") ? 01777 : 0755);
	}
	if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
	    chroot(".") < 0 || chdir("/") < 0)
		goto fail;
	return old;
fail:
	log_err("leaving the initramfs root: %s", strerror(errno));
	if (chdir("/") < 0)
		log_err("chdir /: %s", strerror(errno));
	return old;
}

/* Free the initramfs copy in rootfs: the agent runs from memory already. */
static void rm_tree(int dirfd, dev_t dev, int depth)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(dirfd);

	if (fd < 0 || depth > 16 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				rm_tree(sub, dev, depth + 1);
				close(sub);
			}
			unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd, de->d_name, 0);
		}
	}
	closedir(d);
}

static void free_initramfs(int old)
{
	struct stat st, cur;

	/* Only when the move worked: never delete the root we run in. */
	if (fstat(old, &st) < 0 || stat("/", &cur) < 0 || st.st_dev == cur.st_dev)
		return;
	rm_tree(old, st.st_dev, 0);
}

/*
 * The kernel runs /sbin/modprobe (request_module) in the root it has, which
 * is PID 1's after the move: when the initramfs has modules on demand, it
 * stays, bound read-only on /initramfs, with its /sbin (modprobe: this
 * agent), the agent and the libraries at their paths through symlinks.
 */
static bool keep_for_modprobe(int old)
{
	static const char *const names[] = { "init", "sbin", "lib", "lib64", "usr" };
	char src[64], dst[64];

	if (faccessat(old, "lib/modules/ondemand/deps", F_OK, 0))
		return false;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", old);
	if ((mkdir("/initramfs", 0755) < 0 && errno != EEXIST) ||
	    mount(src, "/initramfs", NULL, MS_BIND, NULL) < 0) {
		log_err("modules on demand: bind the initramfs: %s", strerror(errno));
		return false;
	}
	if (mount(NULL, "/initramfs", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		log_err("modules on demand: the initramfs read-only: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (faccessat(old, names[i], F_OK, AT_SYMLINK_NOFOLLOW))
			continue;
		snprintf(src, sizeof(src), "initramfs/%s", names[i]);
		snprintf(dst, sizeof(dst), "/%s", names[i]);
		if (symlink(src, dst) < 0)
			log_err("modules on demand: symlink %s: %s", dst, strerror(errno));
	}
	log_dbg("modules on demand: the initramfs kept on /initramfs for /sbin/modprobe");
	return true;
}

static void mount_basics(void)
{
	for (size_t i = 0; i < sizeof(boot_mounts) / sizeof(boot_mounts[0]); i++) {
		const struct boot_mount *m = &boot_mounts[i];

		mkdir(m->dst, 0755);
		if (mount(m->src, m->dst, m->type, m->flags, m->data) < 0 && errno != EBUSY)
			log_err("mount %s on %s: %s", m->type, m->dst, strerror(errno));
	}
}

/* fds 0-2 are closed when the initramfs has no /dev/console: hold them. */
static void hold_stdio(void)
{
	int fd;

	while ((fd = open("/", O_RDONLY)) >= 0 && fd < 3)
		;
	if (fd >= 3)
		close(fd);
}

static void open_stdio(void)
{
	int null = open("/dev/null", O_RDWR);
	int cons = open("/dev/console", O_WRONLY | O_NOCTTY);

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(cons >= 0 ? cons : null, 2);
	}
	if (null > 2)
		close(null);
	if (cons > 2)
		close(cons);
}

static void read_config(void)
{
	const char *v;

	if (cmdline_load() < 0)
		log_err("/proc/cmdline: %s", strerror(errno));
	v = cmdline_get("katasbx.debug");
	agent_cfg.debug = v && strcmp(v, "0") != 0;
	v = cmdline_get("katasbx.channel");
	if (v && !strcmp(v, "vsock"))
		agent_cfg.vsock = true;
	else if (v && strcmp(v, "serial") != 0)
		log_err("katasbx.channel=%s unknown, using serial", v);
	v = cmdline_get("katasbx.port");
	if (v) {
		char *end;
		unsigned long port = strtoul(v, &end, 10);

		if (*v && !*end && port > 0 && port < 0xffffffffUL)
			agent_cfg.port = port;
		else
			log_err("katasbx.port=%s invalid, using %u", v, agent_cfg.port);
	}
#ifdef KX_AGENT_FAULTS
	agent_cfg.fault = cmdline_get("katasbx.fault");
	agent_cfg.fault_on = cmdline_get("katasbx.fault_on");
	if (agent_cfg.fault)
		log_err("test image: katasbx.fault=%s from %s on", agent_cfg.fault,
			agent_cfg.fault_on ? agent_cfg.fault_on : "the first reply");
#endif
}

static int setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int main(int argc, char **argv)
{
	int old;

	const char *self = strrchr(argv[0], '/');

	if (!strcmp(self ? self + 1 : argv[0], "modprobe"))
		return modprobe_main(argc, argv);
	if (getpid() != 1) {
		fprintf(stderr, "katasbx-agent: must run as PID 1 of a guest\n");
		return 1;
	}
	umask(022);
	hold_stdio();
	old = leave_rootfs();
	mount_basics();
	open_stdio();
	log_open();
	read_config();
	log_dbg("starting, version %s", AGENT_VERSION);
	if (old >= 0) {
		modules_load(old);
		if (!keep_for_modprobe(old))
			free_initramfs(old);
		close(old);
	}
	net_init();
	net_prepare();
	cgroup_setup();
	/* traversable: a user namespace's root sets its container up from here */
	if (mkdir_p(AGENT_RUN_DIR, 0711) < 0)
		log_err("mkdir %s: %s", AGENT_RUN_DIR, strerror(errno));
	sig_fd = setup_signals();
	if (sig_fd < 0)
		log_err("signalfd: %s", strerror(errno));
	channel_init();
	loop_run();
}
