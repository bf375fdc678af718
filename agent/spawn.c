// SPDX-License-Identifier: GPL-2.0
/*
 * The child side of a container process, from its stdio to execve: rlimits,
 * groups and ids (capabilities kept across the uid change as runc does),
 * capability sets, umask, no_new_privs, cwd, HOME when the environment has
 * none (as runc sets it), and the program looked up in the PATH of the
 * process environment. Everything here runs after fork in
 * the child, reports failures on the sync socket and never returns.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/close_range.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void sync_report(int fd, int errnum, const char *fmt, ...)
{
	struct sync_msg m = { .kind = SYNC_ERROR, .errnum = errnum };
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(m.msg, sizeof(m.msg), fmt, ap);
	va_end(ap);
	if (errnum && n >= 0 && (size_t)n < sizeof(m.msg))
		snprintf(m.msg + n, sizeof(m.msg) - n, ": %s", strerror(errnum));
	if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) < 0)
		return;
}

void sync_report_err(int fd, const struct kx_err *e)
{
	struct sync_msg m = { .kind = SYNC_ERROR, .errnum = e->errnum };

	snprintf(m.msg, sizeof(m.msg), "%s", e->msg);
	if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) < 0)
		return;
}

void child_set_stdio(const struct child_stdio *cs, bool terminal)
{
	setsid();
	if (terminal)
		return;		/* child_open_tty(), once inside the container */
	for (int i = 0; i < 3; i++) {
		if (cs->fd[i] == i)
			fcntl(i, F_SETFD, 0);
		else
			dup2(cs->fd[i], i);
	}
}

/*
 * A pty from the container's own devpts (so that ttyname() works in it),
 * made our controlling terminal and stdio; the master goes to the agent.
 */
int child_open_tty(int sync_fd, bool console, struct kx_err *err)
{
	struct sync_msg m = { .kind = SYNC_TTY };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int master, slave, unlock = 0, ptn = -1;
	char name[64];

	master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (master < 0)
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (master < 0)
		return kx_error(err, errno, "terminal: open /dev/pts/ptmx in the container");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
	    (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		kx_error(err, errno, "terminal: open the pty peer");
		close(master);
		return -1;
	}
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	if (sendmsg(sync_fd, &mh, MSG_NOSIGNAL) < 0) {
		kx_error(err, errno, "terminal: pass the pty to the agent");
		close(master);
		close(slave);
		return -1;
	}
	if (ioctl(master, TIOCGPTN, &ptn) < 0)
		ptn = -1;
	close(master);
	if (ioctl(slave, TIOCSCTTY, 0) < 0) {
		kx_error(err, errno, "terminal: TIOCSCTTY");
		close(slave);
		return -1;
	}
	for (int i = 0; i < 3; i++)
		dup2(slave, i);
	/* Like runc: the terminal is also the container's /dev/console. */
	if (console && ptn >= 0) {
		int fd = open("/dev/console", O_WRONLY | O_CREAT | O_NOCTTY | O_CLOEXEC, 0600);

		snprintf(name, sizeof(name), "/dev/pts/%d", ptn);

		if (fd >= 0) {
			close(fd);
			mount(name, "/dev/console", NULL, MS_BIND, NULL);
		}
	}
	if (slave > 2)
		close(slave);
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void child_close_fds(const int *keep, size_t n)
{
	int sorted[16];
	unsigned int from = 3;

	if (n > 16)
		n = 16;
	memcpy(sorted, keep, n * sizeof(int));
	qsort(sorted, n, sizeof(int), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (sorted[i] < (int)from)
			continue;
		if ((unsigned int)sorted[i] > from)
			syscall(SYS_close_range, from, sorted[i] - 1, 0);
		from = sorted[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

static int last_cap(void)
{
	char buf[16];

	if (read_file("/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) > 0)
		return atoi(buf);
	return 40;
}

static int drop_bounding(uint64_t keep)
{
	int last = last_cap();

	for (int cap = 0; cap <= last && cap < 64; cap++) {
		if (keep & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	}
	return 0;
}

static int set_caps(const Katasbx__Agent__V1__Capabilities *c)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	int last = last_cap();

	data[0].effective = (uint32_t)c->effective;
	data[0].permitted = (uint32_t)c->permitted;
	data[0].inheritable = (uint32_t)c->inheritable;
	data[1].effective = (uint32_t)(c->effective >> 32);
	data[1].permitted = (uint32_t)(c->permitted >> 32);
	data[1].inheritable = (uint32_t)(c->inheritable >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -1;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int cap = 0; cap <= last && cap < 64; cap++) {
		if (!(c->ambient & (1ULL << cap)))
			continue;
		/*
		 * As runc: an ambient capability needs to be permitted and
		 * inheritable; one that is not (runc spec lists ambient ones
		 * without inheritable) is left out, not an error.
		 */
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
	}
	return 0;
}

static const char *env_path(const pb_process *p)
{
	for (size_t i = 0; i < p->n_env; i++)
		if (!strncmp(p->env[i], "PATH=", 5))
			return p->env[i] + 5;
	return DEFAULT_PATH;
}

/* execvpe() without the caller's PATH: the container's environment decides. */
static void exec_path(const char *file, const char *path, char **argv, char **envp)
{
	bool eacces = false;
	char full[4096];

	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return;
	}
	while (path) {
		const char *end = strchr(path, ':');
		size_t dlen = end ? (size_t)(end - path) : strlen(path);
		int n;

		if (dlen == 0)
			n = snprintf(full, sizeof(full), "%s", file);
		else
			n = snprintf(full, sizeof(full), "%.*s/%s", (int)dlen, path, file);
		path = end ? end + 1 : NULL;
		if (n < 0 || (size_t)n >= sizeof(full))
			continue;
		execve(full, argv, envp);
		if (errno == EACCES)
			eacces = true;
		else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE &&
			 errno != ENODEV && errno != ETIMEDOUT)
			return;
	}
	errno = eacces ? EACCES : ENOENT;
}

/*
 * What exec_process will run, looked up now as runc looks it up at create:
 * in the container's root and PATH, a file with an execute bit. -1 with
 * runc's kind of message otherwise.
 */
int find_program(const pb_process *p, struct kx_err *err)
{
	const char *file = p->args[0], *path = env_path(p);
	char full[4096];
	struct stat st;

	if (strchr(file, '/')) {
		if (stat(file, &st) < 0)
			return kx_error(err, errno, "exec: \"%s\": stat %s", file, file);
		if (S_ISDIR(st.st_mode))
			return kx_error(err, EISDIR, "exec: \"%s\"", file);
		if (!(st.st_mode & 0111))
			return kx_error(err, EACCES, "exec: \"%s\"", file);
		return 0;
	}
	while (path) {
		const char *end = strchr(path, ':');
		size_t dlen = end ? (size_t)(end - path) : strlen(path);
		int n = dlen ? snprintf(full, sizeof(full), "%.*s/%s", (int)dlen, path, file) :
			       snprintf(full, sizeof(full), "%s", file);

		path = end ? end + 1 : NULL;
		if (n > 0 && (size_t)n < sizeof(full) && !stat(full, &st) && !S_ISDIR(st.st_mode) &&
		    (st.st_mode & 0111))
			return 0;
	}
	return kx_error_as(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", file);
}

/*
 * "HOME=" and uid's home in the container's /etc/passwd (at most 64 KiB of
 * it read), else "/", as runc sets it when the process's environment has none.
 */
static void home_env(uid_t uid, char *out, size_t len)
{
	char buf[65537], home[4096];

	passwd_read(open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_CLOEXEC), buf, sizeof(buf));
	snprintf(out, len, "HOME=%s", passwd_lookup(buf, uid, NULL, 0, home, sizeof(home)) ?
		 home : "/");
}

void exec_process(const pb_process *p, void *seccomp, int sync_fd)
{
	const Katasbx__Agent__V1__User *u = p->user;
	const Katasbx__Agent__V1__Capabilities *caps = p->capabilities;
	uid_t uid = u ? u->uid : 0;
	gid_t gid = u ? u->gid : 0;
	char **argv, **envp, home[4200] = "";
	bool has_home = false;

	for (size_t i = 0; i < p->n_env; i++)
		has_home = has_home || !strncmp(p->env[i], "HOME=", 5);
	if (!has_home)
		home_env(uid, home, sizeof(home));

	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = { .rlim_cur = p->rlimits[i]->soft,
				     .rlim_max = p->rlimits[i]->hard };

		if (setrlimit(p->rlimits[i]->resource, &rl) < 0) {
			sync_report(sync_fd, errno, "setrlimit %u", p->rlimits[i]->resource);
			_exit(127);
		}
	}
	if (p->has_oom_score_adj) {
		char v[16];

		snprintf(v, sizeof(v), "%d", (int)p->oom_score_adj);
		if (write_file("/proc/self/oom_score_adj", v) < 0) {
			sync_report(sync_fd, errno, "set process.oomScoreAdj %s", v);
			_exit(127);
		}
	}
	if (caps && drop_bounding(caps->bounding) < 0) {
		sync_report(sync_fd, errno, "drop capabilities from the bounding set");
		_exit(127);
	}
	/*
	 * As runc: without no_new_privs the filter needs CAP_SYS_ADMIN to load,
	 * so it goes in before the capabilities are dropped (the profile then
	 * has to allow setgroups, setuid, capset, chdir and exec); with it, as
	 * late as can be.
	 */
	if (!p->no_new_privileges && seccomp_apply(seccomp) < 0) {
		sync_report(sync_fd, errno, "load the seccomp filter");
		_exit(127);
	}
	if (setgroups(u ? u->n_additional_gids : 0, u ? (gid_t *)u->additional_gids : NULL) < 0) {
		sync_report(sync_fd, errno, "setgroups");
		_exit(127);
	}
	if (setresgid(gid, gid, gid) < 0) {
		sync_report(sync_fd, errno, "setgid %u", gid);
		_exit(127);
	}
	if (caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
		sync_report(sync_fd, errno, "PR_SET_KEEPCAPS");
		_exit(127);
	}
	if (setresuid(uid, uid, uid) < 0) {
		sync_report(sync_fd, errno, "setuid %u", uid);
		_exit(127);
	}
	if (caps) {
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
		if (set_caps(caps) < 0) {
			sync_report(sync_fd, errno, "set capabilities");
			_exit(127);
		}
	}
	if (u && u->has_umask)
		umask(u->umask);
	if (chdir(p->cwd[0] ? p->cwd : "/") < 0) {
		sync_report(sync_fd, errno, "chdir %s", p->cwd);
		_exit(127);
	}
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		sync_report(sync_fd, errno, "PR_SET_NO_NEW_PRIVS");
		_exit(127);
	}
	argv = calloc(p->n_args + 1, sizeof(*argv));
	envp = calloc(p->n_env + 2, sizeof(*envp));
	if (!argv || !envp) {
		sync_report(sync_fd, ENOMEM, "exec \"%s\"", p->args[0]);
		_exit(127);
	}
	if (p->no_new_privileges && seccomp_apply(seccomp) < 0) {
		sync_report(sync_fd, errno, "load the seccomp filter");
		_exit(127);
	}
	memcpy(argv, p->args, p->n_args * sizeof(*argv));
	memcpy(envp, p->env, p->n_env * sizeof(*envp));
	if (home[0])
		envp[p->n_env] = home;
	exec_path(p->args[0], env_path(p), argv, envp);
	sync_report(sync_fd, errno, "exec \"%s\"", p->args[0]);
	_exit(127);
}
