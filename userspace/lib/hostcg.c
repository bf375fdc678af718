// SPDX-License-Identifier: GPL-2.0
/* A sandbox's cgroup on the host (hostcg.h). */
#include "hostcg.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsutil.h"
#include "kx_time.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

#define FIELD "linux.cgroupsPath"
#define TEXT_MAX (256 * 1024)

/* A hierarchy this process is in, and where it is mounted. */
struct hier {
	char name[64];		/* "" for cgroup v2 */
	char own[1024];		/* this process's cgroup, from the mount's root */
	char mnt[1024];
};

/* The cgroup mounts: v1 ones by their super options, the first cgroup2. */
struct mnt {
	char root[1024], point[1024], opts[512];
	bool v2;
};

/* item is one of list's sep-separated words ("cpu,cpuacct", "cpu memory pids") */
static bool list_has(const char *list, char sep, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; (p = strstr(p, item)); p += n)
		if ((p == list || p[-1] == sep) && (p[n] == sep || p[n] == '\0' || p[n] == '\n'))
			return true;
	return false;
}

static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* One mountinfo line's cgroup mount, false for any other. */
static bool parse_mount(char *line, struct mnt *m)
{
	char *sep = strstr(line, " - "), *f[6], *save = NULL, *fs, *src, *opts;
	int i;

	if (!sep)
		return false;
	*sep = '\0';
	for (i = 0; i < 6; i++)
		if (!(f[i] = strtok_r(i ? NULL : line, " ", &save)))
			return false;
	save = NULL;
	fs = strtok_r(sep + 3, " ", &save);
	src = strtok_r(NULL, " ", &save);
	opts = strtok_r(NULL, " \n", &save);
	if (!fs || !src || (strcmp(fs, "cgroup") && strcmp(fs, "cgroup2")))
		return false;
	m->v2 = !strcmp(fs, "cgroup2");
	unescape(f[3]);
	unescape(f[4]);
	if (snprintf(m->root, sizeof(m->root), "%s", f[3]) >= (int)sizeof(m->root) ||
	    snprintf(m->point, sizeof(m->point), "%s", f[4]) >= (int)sizeof(m->point) ||
	    snprintf(m->opts, sizeof(m->opts), "%s", opts ? opts : "") >= (int)sizeof(m->opts))
		return false;
	return true;
}

/* Every controller of the comma-separated list is among the mount's options. */
static bool mount_has(const struct mnt *m, const char *ctrls)
{
	char list[64], *c, *save = NULL;

	snprintf(list, sizeof(list), "%s", ctrls);
	for (c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save))
		if (!list_has(m->opts, ',', c))
			return false;
	return true;
}

/* The hierarchies of self_cgroup that mountinfo mounts; their count, -1 on error. */
static int hierarchies(const char *self_cgroup, const char *mountinfo, struct hier *h,
		       struct kx_err *err)
{
	struct mnt *mnts = calloc(64, sizeof(*mnts));
	char *text = strdup(mountinfo), *line, *save = NULL;
	int n_mnts = 0, n = 0;

	if (!mnts || !text) {
		free(mnts);
		free(text);
		return kx_error(err, ENOMEM, "cgroup mounts");
	}
	for (line = strtok_r(text, "\n", &save); line && n_mnts < 64;
	     line = strtok_r(NULL, "\n", &save))
		if (parse_mount(line, &mnts[n_mnts]))
			n_mnts++;
	free(text);
	text = strdup(self_cgroup);
	save = NULL;
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line && n < KX_HOSTCG_MAX;
	     line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		const char *ctrls, *own;
		bool v2;

		if (!c2)
			continue;
		*c2 = '\0';
		ctrls = c1 + 1;
		own = c2 + 1;
		v2 = !strncmp(line, "0:", 2) && !*ctrls;
		if (!v2 && !*ctrls)
			continue;
		for (int i = 0; i < n_mnts; i++) {
			const struct mnt *m = &mnts[i];
			size_t rl = strlen(m->root);

			if (m->v2 != v2 || (!v2 && !mount_has(m, ctrls)))
				continue;
			/* a mount of a subtree (a container's view) shows what is below its root */
			if (strcmp(m->root, "/")) {
				if (strncmp(own, m->root, rl) || (own[rl] && own[rl] != '/'))
					continue;
				own += rl;
			}
			snprintf(h[n].name, sizeof(h[n].name), "%s", v2 ? "" : ctrls);
			snprintf(h[n].own, sizeof(h[n].own), "%s", *own ? own : "/");
			snprintf(h[n].mnt, sizeof(h[n].mnt), "%s", m->point);
			n++;
			break;
		}
	}
	free(text);
	free(mnts);
	if (!n)
		return kx_error(err, ENOENT, "no cgroup hierarchy of this process is mounted "
				"(/proc/self/cgroup, /proc/self/mountinfo)");
	return n;
}

/*
 * cgroups_path with empty and "." components dropped into out ("/a/b" or
 * "a/b"); ".." refused.
 */
static int clean_path(const char *path, char *out, size_t len, struct kx_err *err)
{
	char copy[1024], q[400], *c, *save = NULL;
	size_t used = 0;

	if (strlen(path) >= sizeof(copy) - 1)
		return kx_error(err, ENAMETOOLONG, FIELD " \"%s\": too long",
				kx_quoted(path, q, sizeof(q)));
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return kx_error_as(err, EINVAL, FIELD " \"%s\": control characters are not "
					   "allowed", kx_quoted(path, q, sizeof(q)));
	snprintf(copy, sizeof(copy), "%s", path);
	out[0] = '\0';
	if (path[0] == '/')
		used = snprintf(out, len, "/");
	for (c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, ".."))
			return kx_error_as(err, EINVAL, FIELD " \"%s\": \"..\" would leave the cgroup "
					   "root", kx_quoted(path, q, sizeof(q)));
		used += snprintf(out + used, used < len ? len - used : 0, "%s%s",
				 used && out[used - 1] != '/' ? "/" : "", c);
	}
	if (used >= len)
		return kx_error(err, ENAMETOOLONG, FIELD " \"%s\": too long",
				kx_quoted(path, q, sizeof(q)));
	if (!out[0] || !strcmp(out, "/"))
		return kx_error_as(err, EINVAL, FIELD " \"%s\": names no cgroup below the root",
				   kx_quoted(path, q, sizeof(q)));
	return 0;
}

static void parent_of(char *path)
{
	char *s = strrchr(path, '/');

	if (s && s != path)
		*s = '\0';
	else
		snprintf(path, 2, "/");
}

int kx_hostcg_resolve_in(const char *self_cgroup, const char *mountinfo,
			 const char *cgroups_path, const char *id, struct kx_hostcg *cg,
			 struct kx_err *err)
{
	struct hier h[KX_HOSTCG_MAX];
	char inner[512];
	int n;

	memset(cg, 0, sizeof(*cg));
	if (clean_path(cgroups_path && *cgroups_path ? cgroups_path : id, inner, sizeof(inner),
		       err))
		return -1;
	n = hierarchies(self_cgroup, mountinfo, h, err);
	if (n < 0)
		return -1;
	cg->unified = n == 1 && !h[0].name[0];
	snprintf(cg->inner, sizeof(cg->inner), "%s", inner);
	for (int i = 0; i < n; i++) {
		struct kx_hostcg_dir *d = &cg->d[cg->n];
		char base[1024] = "";
		int len;

		if (inner[0] != '/') {
			snprintf(base, sizeof(base), "%s", h[i].own);
			/* runc's fs2: the parent of its own cgroup, which holds processes */
			if (cg->unified)
				parent_of(base);
			if (!strcmp(base, "/"))
				base[0] = '\0';
		}
		len = snprintf(d->path, sizeof(d->path), "%s%s%s%s", h[i].mnt, base,
			       inner[0] == '/' ? "" : "/", inner);
		if (len >= (int)sizeof(d->path))
			return kx_error(err, ENAMETOOLONG, FIELD " %s: too long under %s", inner,
					h[i].mnt);
		snprintf(d->name, sizeof(d->name), "%s", h[i].name);
		d->base = strlen(h[i].mnt);
		cg->n++;
	}
	return 0;
}

/* This process's /proc/self/cgroup and mountinfo; free both. */
static int read_self(char **self, char **mi, struct kx_err *err)
{
	*mi = NULL;
	*self = kx_read_text_file("/proc/self/cgroup", TEXT_MAX, err);
	if (!*self)
		return -1;
	*mi = kx_read_text_file("/proc/self/mountinfo", TEXT_MAX, err);
	return *mi ? 0 : -1;
}

int kx_hostcg_resolve(const char *cgroups_path, const char *id, struct kx_hostcg *cg,
		      struct kx_err *err)
{
	cleanup_free char *self = NULL, *mi = NULL;

	if (read_self(&self, &mi, err))
		return -1;
	return kx_hostcg_resolve_in(self, mi, cgroups_path, id, cg, err);
}

int kx_hostcg_systemd_check(const char *cgroups_path, struct kx_err *err)
{
	const char *p = cgroups_path ? cgroups_path : "";
	const char *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char q[400];

	/* runc's: a path, if any, is "slice:prefix:name" */
	if (*p && (!c2 || strchr(c2 + 1, ':')))
		return kx_error_as(err, EINVAL, "expected cgroupsPath to be of format "
				   "\"slice:prefix:name\" for systemd cgroups, got \"%s\" instead",
				   kx_quoted(p, q, sizeof(q)));
	if (access("/run/systemd/system", F_OK))
		return kx_error_as(err, ENOTSUP, "--systemd-cgroup: systemd does not run on this host "
				   "(no /run/systemd/system); leave the flag out for a cgroupfs path");
	return kx_error_as(err, ENOTSUP, "--systemd-cgroup: placing sandboxes through systemd is "
			   "not supported yet; leave the flag out for a cgroupfs path");
}

bool kx_hostcg_is_systemd_path(const char *cgroups_path)
{
	const char *p = cgroups_path ? cgroups_path : "";
	const char *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

	return c2 && !strchr(c2 + 1, ':') && !strchr(p, '/') && c1 - p > 6 &&
	       !strncmp(c1 - 6, ".slice", 6) && c2[1];
}

static bool is_v1(const struct kx_hostcg_dir *d, const char *ctrl)
{
	return d->name[0] && list_has(d->name, ',', ctrl);
}

static int write_file(const char *dir, const char *file, const char *value)
{
	char path[1200];
	int fd, ret = 0;
	size_t len = strlen(value);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, value, len) != (ssize_t)len)
		ret = -1;
	close(fd);
	return ret;
}

/* The first line of DIR/FILE, "" when it cannot be read. */
static void read_line(const char *dir, const char *file, char *buf, size_t len)
{
	char path[1200];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static int64_t read_int(const char *dir, const char *file)
{
	char buf[64], *end;
	long long v;

	read_line(dir, file, buf, sizeof(buf));
	if (!buf[0])
		return -1;
	if (!strcmp(buf, "max"))
		return INT64_MAX;
	v = strtoll(buf, &end, 10);
	return end == buf ? -1 : v;
}

static bool holds_processes(const char *dir)
{
	char line[64];

	read_line(dir, "cgroup.procs", line, sizeof(line));
	return line[0] != '\0';
}

/*
 * The v2 controllers a sandbox's cgroup gets, each needed (it must be
 * delegated) when the limits use it; the others serve its stats.
 */
enum { C_MEMORY, C_CPU, C_PIDS, C_CPUSET, N_CTRLS };
static const char *const ctrls[N_CTRLS] = { "memory", "cpu", "pids", "cpuset" };

static void needed_for(const struct kx_hostcg_limits *lim, bool needed[N_CTRLS])
{
	needed[C_MEMORY] = lim->memory > 0;
	needed[C_CPU] = lim->cpu_quota > 0 || lim->cpu_shares;
	needed[C_PIDS] = false;
	needed[C_CPUSET] = lim->cpus[0] || lim->mems[0];
}

/* v2: +ctrl for each wanted one the cgroup at dir offers; a needed one must take. */
static int delegate(const char *dir, const bool needed[N_CTRLS], const char *leaf,
		    struct kx_err *err)
{
	char have[512], want[80];

	read_line(dir, "cgroup.controllers", have, sizeof(have));
	for (int i = 0; i < N_CTRLS; i++) {
		/* cpuset only for its limits: enabling it constrains every child */
		if (!needed[i] && i == C_CPUSET)
			continue;
		if (!list_has(have, ' ', ctrls[i])) {
			if (needed[i])
				return kx_error_as(err, ENOTSUP, FIELD " %s: the host offers no %s "
						   "controller in %s for its limits", leaf, ctrls[i],
						   dir);
			continue;
		}
		snprintf(want, sizeof(want), "+%s", ctrls[i]);
		if (write_file(dir, "cgroup.subtree_control", want) && needed[i])
			return kx_error(err, errno, FIELD " %s: enable the %s controller in %s "
					"(a cgroup holding processes cannot delegate it)", leaf,
					ctrls[i], dir);
	}
	return 0;
}

/* A new v1 cpuset has no CPUs or nodes: its parent's, as runc gives them. */
static int cpuset_inherit(const char *dir, struct kx_err *err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char parent[1024], val[1024];

	snprintf(parent, sizeof(parent), "%s", dir);
	parent_of(parent);
	for (int i = 0; i < 2; i++) {
		read_line(dir, files[i], val, sizeof(val));
		if (val[0])
			continue;
		read_line(parent, files[i], val, sizeof(val));
		if (write_file(dir, files[i], val))
			return kx_error(err, errno, "cgroup %s: copy %s from its parent", dir,
					files[i]);
	}
	return 0;
}

/* Remove leaf and the directories above it down to the one of length made (the first made). */
static void unmake(const char *leaf, size_t made)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s", leaf);
	while (made && strlen(path) >= made) {
		if (rmdir(path) && errno != ENOENT)
			break;
		parent_of(path);
	}
}

/* Make d's directory and the missing ones above; *made: length of the first made, 0 none. */
static int make_dir(const struct kx_hostcg_dir *d, bool v2, const bool needed[N_CTRLS],
		    const char *inner, size_t *made, struct kx_err *err)
{
	char path[1024];
	size_t len = strlen(d->path);

	*made = 0;
	snprintf(path, sizeof(path), "%s", d->path);
	for (size_t at = d->base + 1; at <= len; at++) {
		if (path[at] != '/' && path[at] != '\0')
			continue;
		path[at] = '\0';
		if (v2) {
			char parent[1024];

			snprintf(parent, sizeof(parent), "%s", path);
			parent_of(parent);
			if (delegate(parent, needed, inner, err))
				goto fail;
		}
		if (mkdir(path, 0755) == 0) {
			if (!*made)
				*made = at;
			if (is_v1(d, "cpuset") && cpuset_inherit(path, err))
				goto fail;
		} else if (errno != EEXIST) {
			kx_error(err, errno, FIELD " %s: make cgroup %s", inner, path);
			goto fail;
		}
		if (at < len)
			path[at] = '/';
	}
	return 0;
fail:
	unmake(d->path, *made);
	*made = 0;
	return -1;
}

static int set_one(const struct kx_hostcg_dir *d, const char *file, const char *value,
		   const char *field, struct kx_err *err)
{
	if (write_file(d->path, file, value))
		return kx_error(err, errno, "linux.resources.%s: the host's cgroup %s refused "
				"%s = %s", field, d->path, file, value);
	return 0;
}

int kx_hostcg_set_limits(const struct kx_hostcg *cg, const struct kx_hostcg_limits *lim,
			 struct kx_err *err)
{
	char v[300];

	for (unsigned int i = 0; i < cg->n; i++) {
		const struct kx_hostcg_dir *d = &cg->d[i];
		bool v2 = !d->name[0];

		/* a hybrid host's unified hierarchy has no controllers: the v1 ones limit */
		if (v2 && !cg->unified)
			continue;
		if (lim->memory && (v2 || is_v1(d, "memory"))) {
			if (lim->memory < 0)
				snprintf(v, sizeof(v), v2 ? "max" : "-1");
			else
				snprintf(v, sizeof(v), "%" PRId64, lim->memory);
			if (set_one(d, v2 ? "memory.max" : "memory.limit_in_bytes", v,
				    "memory.limit", err))
				return -1;
		}
		if (v2 && (lim->cpu_quota || lim->cpu_period)) {
			if (lim->cpu_quota > 0)
				snprintf(v, sizeof(v), "%" PRId64 " %" PRIu64, lim->cpu_quota,
					 lim->cpu_period ? lim->cpu_period : 100000);
			else
				snprintf(v, sizeof(v), "max %" PRIu64,
					 lim->cpu_period ? lim->cpu_period : 100000);
			if (set_one(d, "cpu.max", v, "cpu.quota", err))
				return -1;
		} else if (is_v1(d, "cpu") && (lim->cpu_quota || lim->cpu_period)) {
			if (lim->cpu_period) {
				snprintf(v, sizeof(v), "%" PRIu64, lim->cpu_period);
				if (set_one(d, "cpu.cfs_period_us", v, "cpu.period", err))
					return -1;
			}
			if (lim->cpu_quota) {
				snprintf(v, sizeof(v), "%" PRId64, lim->cpu_quota > 0 ?
					 lim->cpu_quota : -1);
				if (set_one(d, "cpu.cfs_quota_us", v, "cpu.quota", err))
					return -1;
			}
		}
		if (lim->cpu_shares && (v2 || is_v1(d, "cpu"))) {
			/* runc's conversion of shares onto cgroup v2's weight */
			if (v2)
				snprintf(v, sizeof(v), "%" PRIu64,
					 1 + (lim->cpu_shares - 2) * 9999 / 262142);
			else
				snprintf(v, sizeof(v), "%" PRIu64, lim->cpu_shares);
			if (set_one(d, v2 ? "cpu.weight" : "cpu.shares", v, "cpu.shares", err))
				return -1;
		}
		if (v2 || is_v1(d, "cpuset")) {
			if (lim->cpus[0] && set_one(d, "cpuset.cpus", lim->cpus, "cpu.cpus", err))
				return -1;
			if (lim->mems[0] && set_one(d, "cpuset.mems", lim->mems, "cpu.mems", err))
				return -1;
		}
	}
	return 0;
}

int kx_hostcg_create(const struct kx_hostcg *cg, const struct kx_hostcg_limits *lim,
		     struct kx_err *err)
{
	size_t made[KX_HOSTCG_MAX] = { 0 };
	bool needed[N_CTRLS];
	unsigned int i;

	needed_for(lim, needed);
	for (i = 0; i < cg->n; i++) {
		const struct kx_hostcg_dir *d = &cg->d[i];

		if (holds_processes(d->path)) {
			kx_error_as(err, EBUSY, FIELD " %s: cgroup %s exists and holds processes "
				    "(a sandbox needs a cgroup of its own)", cg->inner, d->path);
			goto fail;
		}
		if (make_dir(d, !d->name[0] && cg->unified, needed, cg->inner, &made[i], err))
			goto fail;
	}
	if (kx_hostcg_set_limits(cg, lim, err))
		goto fail;
	return 0;
fail:
	/* what this call made goes, a leaf that was there before stays */
	for (i = 0; i < cg->n; i++)
		unmake(cg->d[i].path, made[i]);
	return -1;
}

static int write_pid(const char *dir, pid_t pid, struct kx_err *err)
{
	char v[24];

	snprintf(v, sizeof(v), "%d", (int)pid);
	if (write_file(dir, "cgroup.procs", v))
		return kx_error(err, errno, "move process %d into cgroup %s", (int)pid, dir);
	return 0;
}

int kx_hostcg_attach(const struct kx_hostcg *cg, pid_t pid, struct kx_err *err)
{
	for (unsigned int i = 0; i < cg->n; i++)
		if (write_pid(cg->d[i].path, pid, err))
			return -1;
	return 0;
}

/* Where this process was before kx_hostcg_join, to go back before a removal. */
static struct kx_hostcg joined_from;
static bool joined;

int kx_hostcg_join(const struct kx_hostcg *cg, struct kx_err *err)
{
	cleanup_free char *self = NULL, *mi = NULL;
	struct hier h[KX_HOSTCG_MAX];
	int n;

	if (read_self(&self, &mi, err))
		return -1;
	n = hierarchies(self, mi, h, err);
	if (n < 0)
		return -1;
	memset(&joined_from, 0, sizeof(joined_from));
	for (int i = 0; i < n && i < KX_HOSTCG_MAX; i++) {
		struct kx_hostcg_dir *d = &joined_from.d[joined_from.n++];

		snprintf(d->name, sizeof(d->name), "%s", h[i].name);
		snprintf(d->path, sizeof(d->path), "%s%s", h[i].mnt,
			 strcmp(h[i].own, "/") ? h[i].own : "");
	}
	joined = true;
	return kx_hostcg_attach(cg, getpid(), err);
}

int kx_hostcg_spawn_open(const struct kx_hostcg *cg, struct kx_hostcg_spawn *sp,
			 struct kx_err *err)
{
	memset(sp, 0, sizeof(*sp));
	sp->dirfd = -1;
	sp->v2_procs = -1;
	for (unsigned int i = 0; i < cg->n; i++) {
		char path[1200];

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->d[i].path);
		sp->procs[sp->n] = open(path, O_WRONLY | O_CLOEXEC);
		if (sp->procs[sp->n] < 0) {
			kx_error(err, errno, "open %s", path);
			goto fail;
		}
		if (!cg->d[i].name[0]) {
			sp->v2_procs = (int)sp->n;
			sp->dirfd = open(cg->d[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sp->dirfd < 0) {
				sp->n++;
				kx_error(err, errno, "open %s", cg->d[i].path);
				goto fail;
			}
		}
		sp->n++;
	}
	return 0;
fail:
	kx_hostcg_spawn_close(sp);
	return -1;
}

void kx_hostcg_spawn_close(struct kx_hostcg_spawn *sp)
{
	for (unsigned int i = 0; i < sp->n; i++)
		close(sp->procs[i]);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	sp->n = 0;
	sp->dirfd = -1;
	sp->v2_procs = -1;
}

/* The kernel's struct clone_args up to its cgroup member (CLONE_ARGS_SIZE_VER2). */
struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
		set_tid, set_tid_size, cgroup;
};

pid_t kx_hostcg_fork(const struct kx_hostcg_spawn *sp, bool *into)
{
	*into = false;
	if (sp && sp->dirfd >= 0) {
		struct clone_args_v2 a = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
					   .cgroup = (uint64_t)sp->dirfd };
		long pid;

		*into = true;	/* what the child sees, as it runs on a copy of this */
		pid = syscall(SYS_clone3, &a, sizeof(a));
		if (pid >= 0)
			return (pid_t)pid;
		/* before 5.7 (ENOSYS, E2BIG, EINVAL), or a cgroup it refuses: the fallback */
		*into = false;
	}
	return fork();
}

int kx_hostcg_spawn_enter(const struct kx_hostcg_spawn *sp, bool into)
{
	if (!sp)
		return 0;
	for (unsigned int i = 0; i < sp->n; i++)
		if (!(into && (int)i == sp->v2_procs) && write(sp->procs[i], "0", 1) != 1)
			return -1;
	return 0;
}

int kx_hostcg_record(const struct kx_hostcg *cg, const char *path, struct kx_err *err)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return kx_error(err, errno, "write %s", tmp);
	fprintf(f, "katasbx-hostcg 1\nunified %d\ninner %s\n", cg->unified, cg->inner);
	for (unsigned int i = 0; i < cg->n; i++)
		fprintf(f, "cgroup\t%s\t%s\n", cg->d[i].name, cg->d[i].path);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return kx_error(err, errno, "write %s", path);
	}
	return 0;
}

int kx_hostcg_load(const char *path, struct kx_hostcg *cg, struct kx_err *err)
{
	cleanup_free char *text = kx_read_text_file(path, TEXT_MAX, err);
	char *line, *save = NULL;
	int unified;

	memset(cg, 0, sizeof(*cg));
	if (!text)
		return err->errnum == ENOENT ? 1 : -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *t1, *t2;

		if (sscanf(line, "unified %d", &unified) == 1) {
			cg->unified = unified;
		} else if (!strncmp(line, "inner ", 6)) {
			snprintf(cg->inner, sizeof(cg->inner), "%s", line + 6);
		} else if (!strncmp(line, "cgroup\t", 7) && (t1 = line + 7) &&
			   (t2 = strchr(t1, '\t')) && cg->n < KX_HOSTCG_MAX) {
			*t2 = '\0';
			snprintf(cg->d[cg->n].name, sizeof(cg->d[0].name), "%s", t1);
			snprintf(cg->d[cg->n].path, sizeof(cg->d[0].path), "%s", t2 + 1);
			cg->n++;
		} else if (strncmp(line, "katasbx-hostcg ", 15)) {
			return kx_error(err, EINVAL, "%s: unknown line \"%.80s\"", path, line);
		}
	}
	return 0;
}

/* SIGKILL what is still in dir (what a sandbox left: its QEMU, its monitor). */
static void kill_procs(const char *dir)
{
	char path[1200];
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 1 && pid != getpid())
			kill(pid, SIGKILL);
	fclose(f);
}

int kx_hostcg_remove(const struct kx_hostcg *cg, struct kx_err *err)
{
	int ret = 0;

	/* a monitor removing its own cgroup (a run in the foreground) steps out first */
	if (joined) {
		for (unsigned int i = 0; i < joined_from.n; i++)
			write_pid(joined_from.d[i].path, getpid(), NULL);
		joined = false;
	}
	for (unsigned int i = 0; i < cg->n; i++) {
		const char *dir = cg->d[i].path;
		int64_t deadline = kx_now_ms() + 2000;
		bool killed = false;

		/* exiting processes leave their cgroup a moment after their parent saw them go */
		while (rmdir(dir) && errno == EBUSY && kx_now_ms() < deadline) {
			if (!killed && kx_now_ms() > deadline - 1000) {
				kill_procs(dir);
				killed = true;
			}
			kx_sleep_ms(20);
		}
		if (access(dir, F_OK) == 0) {
			kx_error(err, errno, "remove cgroup %s", dir);
			ret = -1;
		}
	}
	return ret;
}

void kx_hostcg_usage(const struct kx_hostcg *cg, struct kx_hostcg_usage *u)
{
	u->memory = u->memory_max = u->memory_limit = u->cpu_ns = u->pids = u->pids_limit = -1;
	u->swap = u->swap_limit = -1;
	for (unsigned int i = 0; i < cg->n; i++) {
		const struct kx_hostcg_dir *d = &cg->d[i];
		char line[128];

		if (!d->name[0] && cg->unified) {
			u->memory = read_int(d->path, "memory.current");
			u->memory_max = read_int(d->path, "memory.peak");
			u->memory_limit = read_int(d->path, "memory.max");
			u->pids = read_int(d->path, "pids.current");
			u->pids_limit = read_int(d->path, "pids.max");
			u->swap = read_int(d->path, "memory.swap.current");
			u->swap_limit = read_int(d->path, "memory.swap.max");
			read_line(d->path, "cpu.stat", line, sizeof(line));
			if (!strncmp(line, "usage_usec ", 11))
				u->cpu_ns = strtoll(line + 11, NULL, 10) * 1000;
		}
		if (is_v1(d, "memory")) {
			u->memory = read_int(d->path, "memory.usage_in_bytes");
			u->memory_max = read_int(d->path, "memory.max_usage_in_bytes");
			u->memory_limit = read_int(d->path, "memory.limit_in_bytes");
		}
		if (is_v1(d, "cpuacct"))
			u->cpu_ns = read_int(d->path, "cpuacct.usage");
		if (is_v1(d, "pids")) {
			u->pids = read_int(d->path, "pids.current");
			u->pids_limit = read_int(d->path, "pids.max");
		}
	}
}

int kx_hostcg_each(const struct kx_hostcg *cg, const char *file,
		   void (*fn)(void *ctx, const char *key, uint64_t value), void *ctx)
{
	char path[1200], line[256], key[128];
	unsigned long long v;
	FILE *f;

	if (!cg->unified || !cg->n)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", cg->d[0].path, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %llu", key, &v) == 2)
			fn(ctx, key, v);
	fclose(f);
	return 0;
}
