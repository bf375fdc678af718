// SPDX-License-Identifier: GPL-2.0
/*
 * The warm modes' pools: `katasbx-runtime --root R pool --size N` runs beside
 * the latency runs and keeps N VMs restored and paused under R/.pool, so that
 * a warm run claims one instead of cloning. The bench starts it, reads its
 * "ready:" line, waits for a VM on offer before each run and stops it.
 * warm-net's keeper has --interfaces 1 (a sandbox with one interface takes
 * only a VM with one network device) and, as a root has one keeper, its own
 * root, that of the -net modes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define STOP_WAIT_MS 30000

static void why_exit(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "ended");
}

struct kb_pool *kb_mode_pool(struct kb_ctx *c, const struct kb_mode *m)
{
	return m->net ? &c->net_pool : &c->pool;
}

/* true (and reaped) when the keeper has ended; how in buf */
static bool keeper_gone(struct kb_pool *p, char *buf, size_t len)
{
	int st;

	if (waitpid(p->pid, &st, WNOHANG) != p->pid)
		return false;
	why_exit(st, buf, len);
	close(p->out);
	p->pid = 0;
	return true;
}

int kb_pool_start(struct kb_ctx *c, struct kb_pool *kp, char *why, size_t whylen)
{
	char size[16], nics[16], line[512] = "", how[64] = "", last[400];
	char *argv[] = { c->runtime, "--root", (char *)kp->root, "pool", "--size", size,
			 kp->nics ? "--interfaces" : NULL, nics, NULL };
	double t0, deadline;
	size_t used = 0;
	bool ready = false, eof = false;
	int p[2];
	pid_t pid;

	snprintf(size, sizeof(size), "%d", KB_POOL_SIZE);
	snprintf(nics, sizeof(nics), "%d", kp->nics);
	snprintf(kp->log, sizeof(kp->log), "%s/pool%s.log", c->logs, kp->nics ? "-net" : "");
	if (pipe2(p, O_CLOEXEC)) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	t0 = kb_now_ms();
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY), log;

		setpgid(0, 0);	/* a ^C on the terminal is the bench's to act on */
		/* a bench killed outright still stops its pool (SIGTERM: the keeper's clean stop) */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		log = open(kp->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
		if (null < 0 || log < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(log, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(p[1]);
	kp->pid = pid;
	kp->out = p[0];

	/* "ready: N warm VMs in R/.pool" once all N are ready the first time */
	deadline = t0 + KB_POOL_READY_S * 1e3;
	while (!ready && !eof && !kb_stop && kb_now_ms() < deadline) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, 200) <= 0)
			continue;
		n = read(p[0], line + used, sizeof(line) - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			eof = true;
			break;
		}
		used += n;
		line[used] = 0;
		for (char *nl; (nl = strchr(line, '\n'));) {
			*nl = 0;
			ready = ready || !strncmp(line, "ready:", 6);
			used -= nl + 1 - line;
			memmove(line, nl + 1, used + 1);
		}
		if (used == sizeof(line) - 1)	/* no newline in a full buffer: not ours */
			used = 0;
	}
	if (ready) {
		kp->ready_ms = kb_now_ms() - t0;
		fprintf(stderr, " (%spool: %d warm VMs ready in %.0f ms)", kp->nics ? "net " : "",
			KB_POOL_SIZE, kp->ready_ms);
		return 0;
	}

	/* give the keeper a moment to finish its last words, then say why */
	if (eof)
		for (int k = 0; k < 50 && !keeper_gone(kp, how, sizeof(how)); k++)
			usleep(20000);
	if (kp->pid)
		snprintf(how, sizeof(how), "%s%d s", kb_stop ? "interrupted after " :
			 eof ? "closed its stdout after " : "not ready after ",
			 (int)((kb_now_ms() - t0) / 1e3));
	kb_pool_stop(kp);
	kb_last_line(kp->log, last, sizeof(last));
	snprintf(why, whylen, "katasbx-runtime pool %s%s%s", how, last[0] ? ": " : "", last);
	return -1;
}

/* VMs on offer: R/.pool/vm-* with a claim.sock */
static int on_offer(struct kb_pool *p)
{
	char dir[400], path[800];
	struct dirent *e;
	struct stat st;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/.pool", p->root);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "vm-", 3))
			continue;
		snprintf(path, sizeof(path), "%s/%s/claim.sock", dir, e->d_name);
		n += stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
	}
	closedir(d);
	return n;
}

int kb_pool_wait(struct kb_pool *p, int want, int timeout_ms)
{
	double deadline = kb_now_ms() + timeout_ms;
	char how[64], last[400];
	int n;

	for (;;) {
		if (p->pid && keeper_gone(p, how, sizeof(how))) {
			kb_last_line(p->log, last, sizeof(last));
			fprintf(stderr, "\nkatasbx-bench: the warm %spool's keeper %s%s%s\n",
				p->nics ? "net " : "", how, last[0] ? ": " : "", last);
		}
		n = on_offer(p);
		if (n >= want || !p->pid || kb_stop || kb_now_ms() >= deadline)
			return n;
		usleep(10000);
	}
}

void kb_pool_stop(struct kb_pool *p)
{
	double deadline = kb_now_ms() + STOP_WAIT_MS;
	char how[64];
	pid_t pid = p->pid;

	if (!pid)
		return;
	/* the keeper stops its unclaimed VMs and removes their directories */
	kill(pid, SIGTERM);
	while (kb_now_ms() < deadline) {
		if (keeper_gone(p, how, sizeof(how)))
			return;
		usleep(20000);
	}
	fprintf(stderr, "katasbx-bench: the warm pool's keeper (pid %d) did not stop in %d s; killing it\n",
		(int)pid, STOP_WAIT_MS / 1000);
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(p->out);
	p->pid = 0;
}
