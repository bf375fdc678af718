// SPDX-License-Identifier: GPL-2.0
/*
 * A container's init in the child the agent forked, up to its exec: its
 * signals, its namespaces (a pod's joined), its sysctls, its rootfs and the
 * createContainer hooks, then "ready" on the sync socket, the start byte,
 * the startContainer hooks and the exec (spawn.c).
 */
#include "agent.h"
#include "hookexec.h"

#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* In the child, first thing: undo what PID 1 set up for itself. */
void child_reset_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	signal(SIGPIPE, SIG_DFL);
}

bool child_wait_byte(int fd)
{
	char b;
	ssize_t n;

	do
		n = read(fd, &b, 1);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

static void die_of(int sig)
{
	_exit(128 + sig);
}

/*
 * A created container is killed by what would kill a process, as runc's is:
 * its init is PID 1 of its pid namespace and still our code, so a signal
 * without a handler would be ignored; these handlers end it as the signal
 * would have (exit status 128+N). exec resets them.
 */
static void die_of_signals(void)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
				    SIGTERM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR };
	struct sigaction sa = { .sa_handler = die_of };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaction(sig, &sa, NULL);
}

/* linux.sysctl: each key's /proc/sys file, written in the container's namespaces */
static int set_sysctls(const pb_create_req *r, struct kx_err *err)
{
	for (size_t i = 0; i < r->n_sysctls; i++) {
		char path[300];
		char *c;

		snprintf(path, sizeof(path), "/proc/sys/%s", r->sysctls[i]->key);
		for (c = path + 10; *c; c++)
			if (*c == '.')
				*c = '/';
		if (write_file(path, r->sysctls[i]->value) < 0)
			return kx_error(err, errno, "linux.sysctl.%s: write \"%s\" to %s",
					r->sysctls[i]->key, r->sysctls[i]->value, path);
	}
	return 0;
}

/* join: ipc, uts (-1: its own); netns: its network namespace (-1: the guest's) */
void child_init(const pb_create_req *r, const char *rootfs,
						  const char *share_root, void *c_seccomp,
						  const int join[N_JOIN], int netns, int sync_fd,
						  const struct child_stdio *cs)
{
	struct sync_msg ready = { .kind = SYNC_READY };
	struct kx_err err = { 0 };
	int keep[4] = { sync_fd, join[JOIN_IPC], join[JOIN_UTS], netns };
	int flags = CLONE_NEWNS | CLONE_NEWCGROUP;

	child_reset_signals();
	child_set_stdio(cs, r->process->terminal);
	child_close_fds(keep, 4);
	if (!child_wait_byte(sync_fd))
		_exit(1);
	/*
	 * In a user namespace (its maps written now): its root, as which files
	 * can be made (an unmapped id gets EOVERFLOW); the spec's ids come at exec.
	 */
	if (r->user_ns && (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 ||
			   setresuid(0, 0, 0) < 0)) {
		sync_report(sync_fd, errno, "become root in the user namespace (do its maps "
			    "map uid and gid 0?)");
		_exit(1);
	}
	/* before the mounts: its sysfs shows the devices of this namespace */
	if (netns >= 0 && setns(netns, CLONE_NEWNET) < 0) {
		sync_report(sync_fd, errno, "join the network namespace%s%s",
			    r->join_net ? " of " : "", r->join_net ? r->ns_container : "");
		_exit(1);
	}
	/* a pod's container: the sandbox's ipc and uts namespaces, else its own */
	if (join[JOIN_IPC] >= 0 ? setns(join[JOIN_IPC], CLONE_NEWIPC)
				: (flags |= r->guest_ipc ? 0 : CLONE_NEWIPC, 0)) {
		sync_report(sync_fd, errno, "join the ipc namespace of %s", r->ns_container);
		_exit(1);
	}
	if (join[JOIN_UTS] >= 0 ? setns(join[JOIN_UTS], CLONE_NEWUTS)
				: (flags |= r->guest_uts ? 0 : CLONE_NEWUTS, 0)) {
		sync_report(sync_fd, errno, "join the uts namespace of %s", r->ns_container);
		_exit(1);
	}
	/* After the agent moved us into our cgroup: the cgroup ns is rooted there. */
	if (unshare(flags) < 0) {
		sync_report(sync_fd, errno, "unshare");
		_exit(1);
	}
	/* in its namespaces now: /proc/sys shows their sysctls */
	if (set_sysctls(r, &err) < 0) {
		sync_report_err(sync_fd, &err);
		_exit(1);
	}
	/* the spec's createContainer hooks: in the container, its root in place */
	if (setup_rootfs(r, rootfs, share_root, &err) < 0 || find_program(r->process, &err) < 0 ||
	    kx_hooks_run(r->create_container_hooks, r->n_create_container_hooks,
			 "createContainer", "/", r->hook_state_creating, &err) < 0 ||
	    (r->process->terminal && child_open_tty(sync_fd, true, &err) < 0)) {
		sync_report_err(sync_fd, &err);
		_exit(1);
	}
	die_of_signals();
	if (send(sync_fd, &ready, sizeof(ready), MSG_NOSIGNAL) != sizeof(ready))
		_exit(1);
	if (!child_wait_byte(sync_fd))
		_exit(1);
	/* a failing one fails the start, and the container stops (exit 1) */
	if (kx_hooks_run(r->start_container_hooks, r->n_start_container_hooks, "startContainer",
			 "/", r->hook_state_created, &err) < 0) {
		sync_report_err(sync_fd, &err);
		_exit(1);
	}
	exec_process(r->process, c_seccomp, sync_fd);
}
