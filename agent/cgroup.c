// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's cgroup v2 tree: AGENT_CGROUP_DIR/<id> per container, for its
 * stats, for signalling all of it, and as the root of its cgroup namespace.
 */
#include "agent.h"
#include "cgfile.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CGROUP_GC_MAX 256

static char *cgroup_gc_list[CGROUP_GC_MAX];

void cgroup_setup(void)
{
	static const char *const ctrl[] = { "+cpu", "+cpuset", "+memory", "+pids" };
	static const char *const files[] = { "/sys/fs/cgroup/cgroup.subtree_control",
					     AGENT_CGROUP_DIR "/cgroup.subtree_control" };

	if (mkdir(AGENT_CGROUP_DIR, 0755) < 0 && errno != EEXIST)
		log_err("mkdir %s: %s", AGENT_CGROUP_DIR, strerror(errno));
	/* One by one: a controller the kernel lacks must not keep the others off. */
	for (size_t f = 0; f < 2; f++)
		for (size_t i = 0; i < sizeof(ctrl) / sizeof(ctrl[0]); i++)
			if (write_file(files[f], ctrl[i]) < 0)
				log_dbg("%s %s: %s", files[f], ctrl[i], strerror(errno));
}

void cgroup_gc(void)
{
	for (size_t i = 0; i < CGROUP_GC_MAX; i++) {
		if (cgroup_gc_list[i] && (rmdir(cgroup_gc_list[i]) == 0 || errno == ENOENT)) {
			free(cgroup_gc_list[i]);
			cgroup_gc_list[i] = NULL;
		}
	}
}

void cgroup_remove(const char *path)
{
	if (rmdir(path) == 0 || errno == ENOENT)
		return;
	/* Killed processes leave the cgroup a moment later. */
	for (size_t i = 0; i < CGROUP_GC_MAX; i++) {
		if (!cgroup_gc_list[i]) {
			cgroup_gc_list[i] = strdup(path);
			return;
		}
	}
}

void cgroup_kill(const char *cg)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/cgroup.kill", cg);
	if (write_file(path, "1") < 0 && errno != ENOENT)
		log_err("%s: %s", path, strerror(errno));
}

void cgroup_join(const char *cg, pid_t pid)
{
	char path[200], val[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(val, sizeof(val), "%d", (int)pid);
	if (write_file(path, val) < 0)
		log_err("%s: %s", path, strerror(errno));
}

int cgroup_signal(const char *cg, int sig)
{
	char path[200], buf[65536], *s, *save = NULL;
	int ret = 0;

	if (sig == SIGKILL) {
		snprintf(path, sizeof(path), "%s/cgroup.kill", cg);
		if (write_file(path, "1") == 0)
			return 0;
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (s = strtok_r(buf, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
		int pid = atoi(s);

		if (pid > 1 && kill(pid, sig) < 0 && errno != ESRCH)
			ret = -1;
	}
	return ret;
}

uint64_t cgroup_value(const char *cg, const char *file, const char *key)
{
	char path[256], buf[4096], *s;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	if (!key)
		return strtoull(buf, NULL, 10);
	for (s = buf; s && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL) {
		size_t k = strlen(key);

		if (!strncmp(s, key, k) && s[k] == ' ')
			return strtoull(s + k + 1, NULL, 10);
	}
	return 0;
}

static int write_limit(const char *cg, const char *file, const char *val, char *msg, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	if (write_file(path, val) == 0)
		return 0;
	snprintf(msg, len, "%s \"%s\": %s", file, val, strerror(errno));
	return -1;
}

int cgroup_check_writes(Katasbx__Agent__V1__CgroupWrite *const *w, size_t n, char *msg, size_t len)
{
	if (n > 64)
		return snprintf(msg, len, "too many cgroup writes"), -1;
	for (size_t i = 0; i < n; i++)
		if (!kx_cgroup_file_ok(w[i]->file) || strlen(w[i]->value) > 4096)
			return snprintf(msg, len, "cgroup file \"%.80s\" invalid", w[i]->file), -1;
	return 0;
}

int cgroup_write_all(const char *cg, Katasbx__Agent__V1__CgroupWrite *const *w, size_t n,
		     char *msg, size_t len)
{
	char m[200];

	for (size_t i = 0; i < n; i++) {
		const char *val = w[i]->value;
		char path[256], cur[64], quota[24], merged[64];

		/* "max PERIOD" keeping the quota: cpu.max is "QUOTA PERIOD" */
		if (w[i]->keep_quota && !strcmp(w[i]->file, "cpu.max") &&
		    !strncmp(val, "max ", 4)) {
			snprintf(path, sizeof(path), "%s/cpu.max", cg);
			if (read_file(path, cur, sizeof(cur)) < 0 || sscanf(cur, "%23s", quota) != 1)
				snprintf(quota, sizeof(quota), "max");
			snprintf(merged, sizeof(merged), "%s %s", quota, val + 4);
			val = merged;
		}
		if (write_limit(cg, w[i]->file, val, m, sizeof(m)))
			return snprintf(msg, len, "%s: %s", w[i]->field, m), -1;
	}
	return 0;
}
