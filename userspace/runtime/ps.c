// SPDX-License-Identifier: GPL-2.0
/*
 * ps: runc's command. The processes of a container, from its cgroup in the
 * guest (the agent's ListProcesses): a table as `ps -ef` prints it, or with
 * --format json their pids. The pids are the guest's, the processes being in
 * the VM; runc's ps options, which it hands to the host's ps, have no host
 * processes to show here and are refused unless they are ps's -ef.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "runtime.h"
#include "state.h"

/* ps -ef's STIME: the time of day for a process started today, else month and day */
static void stime(int64_t start, time_t now, char *buf, size_t len)
{
	time_t t = (time_t)start;
	struct tm tm, today;

	localtime_r(&t, &tm);
	localtime_r(&now, &today);
	strftime(buf, len, tm.tm_yday == today.tm_yday && tm.tm_year == today.tm_year &&
			   now - t < 24 * 3600 ? "%H:%M" : "%b%d", &tm);
}

static void print_table(const Katasbx__Agent__V1__ListProcessesResponse *r)
{
	time_t now = time(NULL);

	printf("%-8s %5s %5s %2s %5s %-8s %8s %s\n", "UID", "PID", "PPID", "C", "STIME", "TTY",
	       "TIME", "CMD");
	for (size_t i = 0; i < r->n_processes; i++) {
		const Katasbx__Agent__V1__ProcessInfo *p = r->processes[i];
		uint64_t s = p->cpu_ms / 1000;
		char uid[16], st[16];

		snprintf(uid, sizeof(uid), "%u", p->uid);
		stime(p->start_time, now, st, sizeof(st));
		printf("%-8s %5u %5u %2u %5s %-8s %02llu:%02llu:%02llu %s\n",
		       p->user && *p->user ? p->user : uid, p->pid, p->ppid, p->cpu_percent, st,
		       p->tty && *p->tty ? p->tty : "?", (unsigned long long)(s / 3600),
		       (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60), p->cmdline);
	}
}

int cmd_ps(struct kx_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ 0 }
	};
	/* no container_id: the monitor's own container */
	Katasbx__Monitor__V1__ContainerRequest req = KATASBX__MONITOR__V1__CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__ListProcessesResponse *r = NULL;
	const char *format = "table", *id;
	struct kx_state st;
	struct kx_err err;
	enum kx_status s;
	bool json;
	int c;

	while ((c = getopt_cmd(argc, argv, "+f:", opts)) != -1) {
		if (c == 'f')
			format = optarg;
		else
			return 1;
	}
	if (optind >= argc)
		return fail("\"ps\" requires a minimum of 1 argument(s)");
	id = argv[optind];
	json = !strcmp(format, "json");
	if (!json && strcmp(format, "table"))
		return fail("ps: invalid format option \"%s\": table or json", format);
	if (!json && optind + 1 < argc && !(optind + 2 == argc && !strcmp(argv[optind + 1], "-ef"))) {
		char given[256] = "";
		size_t used = 0;

		for (int i = optind + 1; i < argc && used < sizeof(given); i++)
			used += snprintf(given + used, sizeof(given) - used, "%s%s",
					 used ? " " : "", argv[i]);
		return fail("ps: ps options \"%s\" cannot be applied: the container's processes "
			    "are in its VM, not on the host; run ps there: exec %s ps ARGS",
			    given, id);
	}
	if (kx_state_read(cfg->root, id, &st, &err))
		return fail("%s", err.msg);
	s = kx_state_effective(&st);
	kx_state_clear(&st);
	/* runc: a stopped container has no processes, and that is not an error */
	if (s == KX_STATUS_STOPPED) {
		if (json)
			printf("null\n");
		else
			print_table(&(Katasbx__Agent__V1__ListProcessesResponse)
				    KATASBX__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT);
		return 0;
	}
	if (kx_monitor_call_resp(cfg->root, id, "ListProcesses", &req.base,
				 &katasbx__agent__v1__list_processes_response__descriptor,
				 (ProtobufCMessage **)&r, 30000, &err))
		return fail("ps %s: %s", id, err.msg);
	if (json) {
		printf("[");
		for (size_t i = 0; i < r->n_processes; i++)
			printf("%s%u", i ? "," : "", r->processes[i]->pid);
		printf("]\n");
	} else {
		print_table(r);
	}
	katasbx__agent__v1__list_processes_response__free_unpacked(r, NULL);
	return fflush(stdout) ? fail("ps: stdout: %m") : 0;
}
