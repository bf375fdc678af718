// SPDX-License-Identifier: GPL-2.0
/* Starting, timing and reaping the commands the bench measures. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

double kb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int redirect(const char *path, int fd, int flags)
{
	int f = open(path, flags, 0644);

	if (f < 0)
		return -1;
	if (f != fd) {
		dup2(f, fd);
		close(f);
	}
	return 0;
}

/*
 * Fork and exec argv with stdin from /dev/null, stdout and stderr into files
 * (NULL: /dev/null), in its own process group so that a ^C on the terminal
 * reaches the bench only: the bench then stops the child itself (TERM, which
 * the runtime forwards to the container, then KILL). Timed from just before
 * fork to the moment the exit is seen (pidfd, so no polling delay).
 */
int kb_spawn(char *const argv[], const char *out, const char *err, int timeout_s,
	     struct kb_result *r)
{
	double t0, deadline, term_at = 0;
	int pfd, st = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	t0 = kb_now_ms();
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (redirect("/dev/null", 0, O_RDONLY) ||
		    redirect(out ? out : "/dev/null", 1, O_WRONLY | O_CREAT | O_TRUNC) ||
		    redirect(err ? err : "/dev/null", 2, O_WRONLY | O_CREAT | O_TRUNC))
			_exit(126);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	deadline = t0 + timeout_s * 1e3;
	for (;;) {
		double now = kb_now_ms();
		int rc;

		if (kb_stop && !r->interrupted) {
			r->interrupted = true;
			kill(pid, SIGTERM);
			term_at = now;
		}
		if (!r->timed_out && timeout_s > 0 && now > deadline) {
			r->timed_out = true;
			kill(pid, SIGTERM);
			term_at = now;
		}
		if (term_at && now - term_at > 5000)
			kill(-pid, SIGKILL), kill(pid, SIGKILL);
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };

			rc = poll(&p, 1, 200);
			if (rc <= 0)
				continue;
			rc = waitpid(pid, &st, 0);
		} else {
			rc = waitpid(pid, &st, WNOHANG);
			if (rc == 0) {
				usleep(1000);
				continue;
			}
		}
		if (rc == pid)
			break;
		if (rc < 0 && errno != EINTR)
			break;
	}
	r->ms = kb_now_ms() - t0;
	if (pfd >= 0)
		close(pfd);
	if (WIFEXITED(st))
		r->status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		r->status = 128 + WTERMSIG(st);
	return 0;
}

char *kb_read_file(const char *path, size_t max)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

void kb_last_line(const char *path, char *buf, size_t len)
{
	char *s = kb_read_file(path, 1 << 16), *e, *b;

	buf[0] = 0;
	if (!s)
		return;
	e = s + strlen(s);
	while (e > s && (e[-1] == '\n' || e[-1] == ' '))
		*--e = 0;
	b = strrchr(s, '\n');
	snprintf(buf, len, "%s", b ? b + 1 : s);
	free(s);
}

char *kb_capture(char *const argv[], int *status)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int p[2], st = 0;
	pid_t pid;

	if (pipe(p))
		return NULL;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		redirect("/dev/null", 0, O_RDONLY);
		redirect("/dev/null", 2, O_WRONLY);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t k;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb)
				break;
			buf = nb;
			cap += 65536;
		}
		k = read(p[0], buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += k;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (status)
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (buf)
		buf[len] = 0;
	return buf;
}

/*
 * Last resort at exit: SIGKILL, by pid, every process whose command line
 * names the bench's temporary directory (a QEMU or monitor that `delete
 * --force` did not take down). Only processes the bench started match.
 */
void kb_kill_leftovers(const char *needle)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t self = getpid();

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300], buf[8192];
		pid_t pid = atoi(e->d_name);
		ssize_t n;
		int fd;

		if (pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[n] = 0;
		if (strstr(buf, needle)) {
			fprintf(stderr, "katasbx-bench: killing leftover pid %d: %.120s\n", pid, buf);
			kill(pid, SIGKILL);
		}
	}
	closedir(d);
}
