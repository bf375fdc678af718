// SPDX-License-Identifier: GPL-2.0
#include "hookexec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define HOOK_OUT_KEEP 2048	/* of each of stdout and stderr, for the error */

struct out {
	int fd;
	char buf[HOOK_OUT_KEEP + 1];
	size_t len;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* In the child: only async-signal-safe calls (the shim forks from threads). */
static void __attribute__((noreturn)) child(const Katasbx__Agent__V1__Hook *h, char **argv,
					     char **envp, const char *cwd, const int fds[3],
					     int errfd)
{
	int e;

	setpgid(0, 0);	/* a timeout kills what the hook started too */
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			goto fail;
	if (cwd && chdir(cwd) < 0)
		goto fail;
	execve(h->path, argv, envp);
fail:
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static void drain(struct out *o)
{
	char tmp[4096];
	ssize_t n = read(o->fd, tmp, sizeof(tmp));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_fd(&o->fd);
		return;
	}
	if (o->len < HOOK_OUT_KEEP) {
		size_t k = (size_t)n < HOOK_OUT_KEEP - o->len ? (size_t)n : HOOK_OUT_KEEP - o->len;

		memcpy(o->buf + o->len, tmp, k);
		o->len += k;
	}
}

/*
 * Feed stdin, collect stdout and stderr until both end (as runc, which waits
 * for them) or the deadline passes. true when the deadline passed.
 */
static bool pump(int in, const char *data, struct out out[2], int64_t deadline)
{
	size_t len = strlen(data), off = 0;

	if (!len)
		close_fd(&in);
	else if (in >= 0)
		shutdown(in, SHUT_RD);
	while (out[0].fd >= 0 || out[1].fd >= 0) {
		struct pollfd p[3] = { { .fd = out[0].fd, .events = POLLIN },
				       { .fd = out[1].fd, .events = POLLIN },
				       { .fd = in, .events = POLLOUT } };
		int ms = -1, r;

		if (deadline) {
			int64_t left = deadline - mono_ms();

			if (left <= 0) {
				close_fd(&in);
				return true;
			}
			ms = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		r = poll(p, 3, ms);
		if (r < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++)
			if (r > 0 && p[i].revents)
				drain(&out[i]);
		if (r > 0 && p[2].revents) {
			ssize_t n = send(in, data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n > 0)
				off += n;
			/* a hook that does not read its stdin just does not get all of it */
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || off == len)
				close_fd(&in);
		}
	}
	close_fd(&in);
	return false;
}

/* One hook; -1 with the reason in err. */
static int run_one(const Katasbx__Agent__V1__Hook *h, const char *cwd, const char *state,
		   struct kx_err *err)
{
	char *def_argv[2] = { h->path, NULL }, **argv = h->n_args ? NULL : def_argv;
	char **envp = environ, q0[200], q1[200];
	int in[2] = { -1, -1 }, o[2][2] = { { -1, -1 }, { -1, -1 } }, ep[2] = { -1, -1 };
	struct out out[2] = { { .fd = -1 }, { .fd = -1 } };
	int64_t deadline = h->timeout ? mono_ms() + (int64_t)h->timeout * 1000 : 0;
	int status = 0, child_errno = 0, ret = -1;
	bool late;
	pid_t pid;

	if (!argv) {
		argv = calloc(h->n_args + 1, sizeof(*argv));
		if (!argv)
			return kx_error(err, ENOMEM, "hook %s", h->path);
		memcpy(argv, h->args, h->n_args * sizeof(*argv));
	}
	if (h->env_set) {
		envp = calloc(h->n_env + 1, sizeof(*envp));
		if (!envp) {
			kx_error(err, ENOMEM, "hook %s", h->path);
			goto out;
		}
		memcpy(envp, h->env, h->n_env * sizeof(*envp));
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) || pipe2(o[0], O_CLOEXEC) ||
	    pipe2(o[1], O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
		kx_error(err, errno, "hook %s: pipes", h->path);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		kx_error(err, errno, "hook %s: fork", h->path);
		goto out;
	}
	if (pid == 0)
		child(h, argv, envp, cwd, (int[3]){ in[1], o[0][1], o[1][1] }, ep[1]);
	setpgid(pid, pid);
	close_fd(&in[1]);
	close_fd(&o[0][1]);
	close_fd(&o[1][1]);
	close_fd(&ep[1]);
	out[0].fd = o[0][0];
	out[1].fd = o[1][0];
	o[0][0] = o[1][0] = -1;
	late = pump(in[0], state, out, deadline);
	in[0] = -1;
	if (late)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (read(ep[0], &child_errno, sizeof(child_errno)) != sizeof(child_errno))
		child_errno = 0;
	out[0].buf[out[0].len] = out[1].buf[out[1].len] = '\0';
	if (late)
		kx_error(err, 0, "hook ran past specified timeout of %.1fs", (double)h->timeout);
	else if (child_errno)
		kx_error(err, child_errno, "exec %s", h->path);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		ret = 0;
	else if (WIFEXITED(status))
		kx_error(err, 0, "exit status %d, stdout: %s, stderr: %s", WEXITSTATUS(status),
			 kx_quoted(out[0].buf, q0, sizeof(q0)), kx_quoted(out[1].buf, q1, sizeof(q1)));
	else
		kx_error(err, 0, "killed by signal %d (%s), stdout: %s, stderr: %s",
			 WTERMSIG(status), strsignal(WTERMSIG(status)),
			 kx_quoted(out[0].buf, q0, sizeof(q0)), kx_quoted(out[1].buf, q1, sizeof(q1)));
out:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&o[0][i]);
		close_fd(&o[1][i]);
		close_fd(&ep[i]);
		close_fd(&out[i].fd);
	}
	if (argv != def_argv)
		free(argv);
	if (envp != environ)
		free(envp);
	return ret;
}

int kx_hooks_run(Katasbx__Agent__V1__Hook *const *hooks, size_t n, const char *kind,
		 const char *cwd, const char *state_json, struct kx_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (run_one(hooks[i], cwd, state_json, err))
			return kx_error_wrap(err, "error running %s hook #%zu", kind, i);
	return 0;
}
