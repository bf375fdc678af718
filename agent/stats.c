// SPDX-License-Identifier: GPL-2.0
/*
 * What a container uses and runs: StatsContainer (its cgroup's counters and
 * limits) and ListProcesses (the processes in its cgroup, read from /proc).
 */
#include "agent.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootpath.h"

#define MAX_STAT_KEYS 64
#define MAX_PROCS 4096
#define PASSWD_MAX (64 * 1024)

int container_stats(const struct call *call, const char *id)
{
	Katasbx__Agent__V1__StatsContainerResponse r =
		KATASBX__AGENT__V1__STATS_CONTAINER_RESPONSE__INIT;
	Katasbx__Agent__V1__StatsContainerResponse__MemoryStatEntry ent[MAX_STAT_KEYS];
	Katasbx__Agent__V1__StatsContainerResponse__MemoryStatEntry *entp[MAX_STAT_KEYS];
	char path[256], buf[8192], *s, *save = NULL;
	struct container *c;
	int ret;

	c = container_get(call, id, &ret);
	if (!c)
		return ret;
	r.memory_current = cgroup_value(c->cgroup, "memory.current", NULL);
	r.memory_max = cgroup_value(c->cgroup, "memory.max", NULL);
	r.memory_peak = cgroup_value(c->cgroup, "memory.peak", NULL);
	r.swap_current = cgroup_value(c->cgroup, "memory.swap.current", NULL);
	r.swap_max = cgroup_value(c->cgroup, "memory.swap.max", NULL);
	r.oom_kill = cgroup_value(c->cgroup, "memory.events", "oom_kill");
	r.memory_events_oom = cgroup_value(c->cgroup, "memory.events", "oom");
	r.memory_events_max = cgroup_value(c->cgroup, "memory.events", "max");
	r.memory_events_high = cgroup_value(c->cgroup, "memory.events", "high");
	r.memory_events_low = cgroup_value(c->cgroup, "memory.events", "low");
	r.cpu_usage_usec = cgroup_value(c->cgroup, "cpu.stat", "usage_usec");
	r.cpu_user_usec = cgroup_value(c->cgroup, "cpu.stat", "user_usec");
	r.cpu_system_usec = cgroup_value(c->cgroup, "cpu.stat", "system_usec");
	r.cpu_nr_periods = cgroup_value(c->cgroup, "cpu.stat", "nr_periods");
	r.cpu_nr_throttled = cgroup_value(c->cgroup, "cpu.stat", "nr_throttled");
	r.cpu_throttled_usec = cgroup_value(c->cgroup, "cpu.stat", "throttled_usec");
	r.pids_current = cgroup_value(c->cgroup, "pids.current", NULL);
	r.pids_max = cgroup_value(c->cgroup, "pids.max", NULL);
	snprintf(path, sizeof(path), "%s/memory.stat", c->cgroup);
	if (read_file(path, buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	r.memory_stat = entp;
	for (s = strtok_r(buf, "\n", &save); s && r.n_memory_stat < MAX_STAT_KEYS;
	     s = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(s, ' ');

		if (!sp)
			continue;
		*sp = '\0';
		katasbx__agent__v1__stats_container_response__memory_stat_entry__init(
			&ent[r.n_memory_stat]);
		ent[r.n_memory_stat].key = s;
		ent[r.n_memory_stat].value = strtoull(sp + 1, NULL, 10);
		entp[r.n_memory_stat] = &ent[r.n_memory_stat];
		r.n_memory_stat++;
	}
	reply(call, TTRPC_OK, NULL, &r.base);
	return 0;
}

/* The tty of /proc/PID/stat's tty_nr, as ps names it; "" for none. */
static void tty_name(unsigned int nr, char *buf, size_t len)
{
	unsigned int major = (nr >> 8) & 0xfff, minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);

	if (!nr)
		snprintf(buf, len, "%s", "");
	else if (major >= 136 && major <= 143)
		snprintf(buf, len, "pts/%u", (major - 136) * 256 + minor);
	else if (major == 4 && minor < 64)
		snprintf(buf, len, "tty%u", minor);
	else if (major == 4)
		snprintf(buf, len, "ttyS%u", minor - 64);
	else if (major == 5 && minor == 1)
		snprintf(buf, len, "console");
	else
		snprintf(buf, len, "%u:%u", major, minor);
}

/* One process's line; false when it is gone (or not readable). */
static bool read_proc(pid_t pid, Katasbx__Agent__V1__ProcessInfo *p, time_t boot, long hz,
		      double uptime, char *cmd, size_t cmdlen)
{
	char path[64], buf[1024], comm[64], *e;
	unsigned long long ut, st, start;
	unsigned int ppid, tty;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	/* comm is in parentheses and may hold anything: the fields follow the last ')' */
	e = strrchr(buf, ')');
	if (!e || !strchr(buf, '(') ||
	    sscanf(e + 2, "%*c %u %*d %*d %u %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
		   "%*d %*d %llu", &ppid, &tty, &ut, &st, &start) != 5)
		return false;
	snprintf(comm, sizeof(comm), "%.*s", (int)(e - strchr(buf, '(') - 1), strchr(buf, '(') + 1);
	p->pid = pid;
	p->ppid = ppid;
	p->start_time = boot + (time_t)(start / hz);
	p->cpu_ms = (ut + st) * 1000 / hz;
	if (uptime > (double)start / hz) {
		double pct = (double)(ut + st) / hz * 100 / (uptime - (double)start / hz);

		p->cpu_percent = pct > 999 ? 999 : (uint32_t)pct;
	}
	tty_name(tty, p->tty, 16);

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, buf, sizeof(buf)) > 0 && (e = strstr(buf, "\nUid:")))
		p->uid = strtoul(e + 5, NULL, 10);

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = read_file(path, cmd, cmdlen);
	for (ssize_t i = 0; i < n - 1; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	while (n > 0 && (cmd[n - 1] == '\0' || cmd[n - 1] == ' '))
		cmd[--n] = '\0';
	if (n <= 0)
		snprintf(cmd, cmdlen, "[%s]", comm);
	for (char *q = cmd; *q; q++)
		if (!isprint((unsigned char)*q))
			*q = '?';
	p->cmdline = cmd;
	return true;
}

/*
 * The container's /etc/passwd, resolved in its rootfs (a symlink there cannot
 * lead out of it): NULL when out of memory.
 */
static char *read_passwd(const char *rootfs)
{
	int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *buf = malloc(PASSWD_MAX + 1);

	if (buf)
		passwd_read(rootfd < 0 ? -1 : kx_root_open(rootfd, "/etc/passwd",
							   O_RDONLY | O_NONBLOCK),
			    buf, PASSWD_MAX + 1);
	if (rootfd >= 0)
		close(rootfd);
	return buf;
}

static int by_pid(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int container_processes(const struct call *call, const char *id)
{
	Katasbx__Agent__V1__ListProcessesResponse r =
		KATASBX__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
	Katasbx__Agent__V1__ProcessInfo *info = NULL, **infop = NULL;
	char path[256], *buf = NULL, *s, *save = NULL, (*cmd)[256] = NULL, (*tty)[16] = NULL;
	char (*user)[33] = NULL, *passwd = NULL;
	int *pids = NULL, n = 0, ret;
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec now, up;
	struct container *c;
	double uptime;
	time_t boot;

	c = container_get(call, id, &ret);
	if (!c)
		return ret;
	clock_gettime(CLOCK_REALTIME, &now);
	clock_gettime(CLOCK_BOOTTIME, &up);
	uptime = up.tv_sec + up.tv_nsec / 1e9;
	boot = now.tv_sec - up.tv_sec;
	buf = malloc(MAX_PROCS * 8);
	pids = calloc(MAX_PROCS, sizeof(*pids));
	if (!buf || !pids)
		goto nomem;
	snprintf(path, sizeof(path), "%s/cgroup.procs", c->cgroup);
	if (read_file(path, buf, MAX_PROCS * 8) < 0)
		buf[0] = '\0';
	for (s = strtok_r(buf, "\n", &save); s && n < MAX_PROCS; s = strtok_r(NULL, "\n", &save))
		if (atoi(s) > 0)
			pids[n++] = atoi(s);
	qsort(pids, n, sizeof(*pids), by_pid);
	info = calloc(n + 1, sizeof(*info));
	infop = calloc(n + 1, sizeof(*infop));
	cmd = calloc(n + 1, sizeof(*cmd));
	tty = calloc(n + 1, sizeof(*tty));
	user = calloc(n + 1, sizeof(*user));
	if (!info || !infop || !cmd || !tty || !user)
		goto nomem;
	passwd = read_passwd(c->rootfs);
	for (int i = 0; i < n; i++) {
		Katasbx__Agent__V1__ProcessInfo *p = &info[r.n_processes];

		katasbx__agent__v1__process_info__init(p);
		p->tty = tty[r.n_processes];
		if (!read_proc(pids[i], p, boot, hz, uptime, cmd[r.n_processes], sizeof(cmd[0])))
			continue;
		if (!passwd || !passwd_lookup(passwd, p->uid, user[r.n_processes], sizeof(user[0]),
					      NULL, 0))
			user[r.n_processes][0] = '\0';
		p->user = user[r.n_processes];
		infop[r.n_processes++] = p;
	}
	r.processes = infop;
	reply(call, TTRPC_OK, NULL, &r.base);
	ret = 0;
	goto out;
nomem:
	ret = reply_err(call, TTRPC_RESOURCE_EXHAUSTED, "container %s: out of memory", id);
out:
	free(buf);
	free(pids);
	free(info);
	free(infop);
	free(cmd);
	free(tty);
	free(user);
	free(passwd);
	return ret;
}
