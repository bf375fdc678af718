// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of the /dev/katasbx cgroup pool: bad arguments, take and return
 * by lease, CLONE_INTO_CGROUP with a taken directory, release on SIGKILL.
 * Runs inside the test VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "katasbx_util.h"
#include "ktap.h"

static int t_cgroup_bad_args(void)
{
	struct katasbx_cgroup_add a = {};
	struct katasbx_cgroup_take t = {};
	int kfd = kopen(), fd;

	CHECK(kfd >= 0);
	a.dirfd = -1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a), EBADF);
	CHECK((fd = open("/", O_RDONLY | O_DIRECTORY)) >= 0);
	a.dirfd = fd;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a), EINVAL);	/* not cgroup2 */
	CHECK((fd = open(DEV, O_RDONLY)) >= 0);
	a.dirfd = fd;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a), ENOTDIR);
	a.flags = 4;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a), EINVAL);
	a.flags = 0;
	a.pad = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a), EINVAL);
	t.flags = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_TAKE, &t), EINVAL);
	t.flags = 0;
	t.reserved[0] = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_TAKE, &t), EINVAL);
	return KT_PASS;
}

/* Drains the pool (from earlier cases) so the case sees only its own entries. */
static int t_cgroup_pool(void)
{
	struct katasbx_cgroup_take t1, t2, t3;
	struct katasbx_counters c0, c1;
	int kfd = kopen(), d1, d2;
	struct statfs sf;
	struct stat s1, s2;

	CHECK(kfd >= 0);
	KT_SKIP_IF(cg_setup() < 0, "no cgroup2 at " CG_ROOT ": %s", strerror(errno));
	cg_drain(kfd);
	CHECK(counters(&c0) == 0);
	CHECK((d1 = cg_dir("pool1")) >= 0 && (d2 = cg_dir("pool2")) >= 0);
	if (cg_add(kfd, d1, 0) < 0)
		CHECK(errno == EEXIST);		/* a rerun: still pooled */
	else
		CHECK(cg_add(kfd, d1, 0) < 0 && errno == EEXIST);
	CHECK(cg_add(kfd, d2, KATASBX_CGROUP_F_ONESHOT) == 0 || errno == EEXIST);
	CHECK(close(d2) == 0);			/* the pool keeps its own reference */
	CHECK(cg_take(kfd, &t1) == 0 && cg_take(kfd, &t2) == 0);
	CHECK_ERR(cg_take(kfd, &t3), EAGAIN);
	CHECK(fstatfs(t1.dir_fd, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC);
	CHECK(fcntl(t1.dir_fd, F_GETFD) == FD_CLOEXEC && fcntl(t1.lease_fd, F_GETFD) == FD_CLOEXEC);
	CHECK(fstat(t1.dir_fd, &s1) == 0 && S_ISDIR(s1.st_mode));
	CHECK((fcntl(t1.dir_fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
	CHECK(counters(&c1) == 0 && c1.cgroups_taken == c0.cgroups_taken + 2);
	/* Closing the directory fd does not return it; closing the lease does. */
	CHECK(close(t1.dir_fd) == 0 && close(t2.dir_fd) == 0);
	CHECK_ERR(cg_take(kfd, &t3), EAGAIN);
	CHECK(close(t1.lease_fd) == 0 && close(t2.lease_fd) == 0);
	CHECK(counters(&c1) == 0 && c1.cgroups_taken == c0.cgroups_taken);
	CHECK(cg_take(kfd, &t3) == 0);
	CHECK(fstat(t3.dir_fd, &s2) == 0);
	/* Only the non-oneshot entry came back. */
	CHECK_ERR(cg_take(kfd, &t1), EAGAIN);
	CHECK(fstat(d1, &s1) == 0 && s1.st_ino == s2.st_ino);
	return KT_PASS;
}

static int t_cgroup_clone_into(void)
{
	struct clone_args ca = {};
	struct katasbx_cgroup_take t;
	int kfd = kopen(), d, st;
	char line[256];
	pid_t pid;
	FILE *f;

	CHECK(kfd >= 0);
	KT_SKIP_IF(cg_setup() < 0, "no cgroup2 at " CG_ROOT ": %s", strerror(errno));
	cg_drain(kfd);
	CHECK((d = cg_dir("into")) >= 0);
	CHECK(cg_add(kfd, d, KATASBX_CGROUP_F_ONESHOT) == 0);
	CHECK(cg_take(kfd, &t) == 0);
	ca.flags = CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = t.dir_fd;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	CHECK(pid >= 0);
	if (pid == 0) {
		f = fopen("/proc/self/cgroup", "r");
		if (!f || !fgets(line, sizeof(line), f))
			_exit(2);
		_exit(strstr(line, "/katasbx-selftest/into") ? 0 : 3);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return KT_PASS;
}

static int t_cgroup_release_on_sigkill(void)
{
	struct katasbx_cgroup_take t;
	struct katasbx_counters c0, c1;
	int kfd = kopen(), d, p[2], st;
	pid_t pid;
	char ok;

	CHECK(kfd >= 0);
	KT_SKIP_IF(cg_setup() < 0, "no cgroup2 at " CG_ROOT ": %s", strerror(errno));
	cg_drain(kfd);
	CHECK((d = cg_dir("killed")) >= 0);
	CHECK(cg_add(kfd, d, 0) == 0);
	CHECK(counters(&c0) == 0);
	CHECK(pipe(p) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (cg_take(kfd, &t) < 0 || write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	CHECK(read(p[0], &ok, 1) == 1);
	CHECK_ERR(cg_take(kfd, &t), EAGAIN);
	CHECK(kill(pid, SIGKILL) == 0 && waitpid(pid, &st, 0) == pid);
	CHECK(counters(&c1) == 0 && c1.cgroups_taken == c0.cgroups_taken);
	CHECK(cg_take(kfd, &t) == 0);
	return KT_PASS;
}

static const struct kt_case cases[] = {
	{ "cgroup_bad_args", t_cgroup_bad_args, 0 },
	{ "cgroup_pool_take_return", t_cgroup_pool, 0 },
	{ "cgroup_clone_into_cgroup", t_cgroup_clone_into, 0 },
	{ "cgroup_release_on_sigkill", t_cgroup_release_on_sigkill, 0 },
};

KT_MAIN(cases, kx_skip_reason())
