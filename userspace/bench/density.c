// SPDX-License-Identifier: GPL-2.0
/*
 * --density N: N idle sandboxes (`run --detach` of `sleep 100000`), then the
 * PSS of each sandbox's processes (its monitor and the monitor's descendants,
 * QEMU among them) from /proc/PID/smaps_rollup.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* a "Key:   N kB" line of a /proc file, in MiB; -1 if absent */
static double kb_field_mib(const char *path, const char *key)
{
	char *s = kb_read_file(path, 1 << 16), *p;
	double v = -1;

	if (!s)
		return -1;
	p = strstr(s, key);
	if (p && (p == s || p[-1] == '\n'))
		v = strtod(p + strlen(key), NULL) / 1024.0;
	free(s);
	return v;
}

static double pss_mib(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	return kb_field_mib(path, "Pss:");
}

/* children of pid, from every thread's children file */
static size_t children(pid_t pid, pid_t *out, size_t max)
{
	char path[64];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char cp[128], *s, *t, *save = NULL;

		if (e->d_name[0] == '.')
			continue;
		snprintf(cp, sizeof(cp), "/proc/%d/task/%s/children", pid, e->d_name);
		s = kb_read_file(cp, 4096);
		for (t = s ? strtok_r(s, " \n", &save) : NULL; t && n < max;
		     t = strtok_r(NULL, " \n", &save))
			out[n++] = atoi(t);
		free(s);
	}
	closedir(d);
	return n;
}

/* every descendant of pid (not pid itself) */
static size_t descendants(pid_t pid, pid_t *out, size_t max)
{
	size_t n = children(pid, out, max);

	for (size_t i = 0; i < n && n < max; i++)
		n += children(out[i], out + n, max - n);
	return n;
}

/* mem-path=FILE in a QEMU command line */
static bool mem_path(pid_t pid, char *buf, size_t len)
{
	char path[64], *s, *p, *e;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	s = calloc(1, 65537);
	n = s ? fread(s, 1, 65536, f) : 0;
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (!s[i])
			s[i] = ' ';
	p = s ? strstr(s, "mem-path=") : NULL;
	if (p) {
		p += 9;
		e = p + strcspn(p, ", ");
		snprintf(buf, len, "%.*s", (int)(e - p), p);
	}
	free(s);
	return p != NULL;
}

/* the PSS of pid's mappings of file, MiB */
static double mapping_pss_mib(pid_t pid, const char *file)
{
	char path[64], line[4608];
	bool in = false;
	double kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');

		if (sp && strchr(line, '-') && strchr(line, '-') < sp) { /* a mapping header */
			char *name = strchr(line, '/');

			in = name && !strncmp(name, file, strlen(file));
		} else if (in && !strncmp(line, "Pss:", 4)) {
			kb += strtod(line + 4, NULL);
		}
	}
	fclose(f);
	return kb / 1024.0;
}

/* how much of a file is in memory (page cache or tmpfs), by mincore */
static double resident_mib(const char *file)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = open(file, O_RDONLY);
	unsigned char *vec;
	struct stat st;
	size_t pages, in = 0;
	void *map;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !st.st_size) {
		close(fd);
		return -1;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -1;
	pages = (st.st_size + page - 1) / page;
	vec = malloc(pages);
	if (vec && mincore(map, st.st_size, vec) == 0)
		for (size_t i = 0; i < pages; i++)
			in += vec[i] & 1;
	free(vec);
	munmap(map, st.st_size);
	return (double)in * page / (1 << 20);
}

static pid_t state_pid(struct kb_ctx *c, const char *id, char *status, size_t slen)
{
	char *argv[] = { c->runtime, "--root", c->root, "state", (char *)id, NULL };
	char *out = kb_capture(argv, NULL);
	json_object *o = out ? json_tokener_parse(out) : NULL, *v;
	pid_t pid = 0;

	status[0] = 0;
	if (o && json_object_object_get_ex(o, "pid", &v))
		pid = json_object_get_int(v);
	if (o && json_object_object_get_ex(o, "status", &v))
		snprintf(status, slen, "%s", json_object_get_string(v));
	json_object_put(o);
	free(out);
	return pid;
}

int kb_density(struct kb_ctx *c, int n, const char *tmpl, const char *mode,
	       struct kb_density *d)
{
	double avail0 = kb_field_mib("/proc/meminfo", "MemAvailable:"), t0, avail1;
	double mapped = 0;
	size_t nmon = 0, nq = 0;
	char tfile[4096] = "";
	pid_t *mon = calloc(n, sizeof(*mon));
	int k;

	memset(d, 0, sizeof(*d));
	d->done = true;
	d->mode = mode;
	d->requested = n;
	fprintf(stderr, "density: starting %d idle %s sandboxes:", n, mode);
	t0 = kb_now_ms();
	for (k = 0; k < n && !kb_stop; k++) {
		char id[64], errf[400], *argv[20];
		struct kb_result r;
		int a = kb_runtime_argv(c, tmpl, false, argv);

		snprintf(id, sizeof(id), "bench-idle-%d", k + 1);
		snprintf(errf, sizeof(errf), "%s/%s.err", c->logs, id);
		argv[a++] = "run";
		argv[a++] = "--detach";
		argv[a++] = "--bundle";
		argv[a++] = c->idle_bundle;
		argv[a++] = id;
		argv[a] = NULL;
		if (kb_spawn(argv, NULL, errf, c->timeout_s, &r) == 0 && r.status == 0) {
			d->started++;
			fprintf(stderr, " %.0f", r.ms);
		} else {
			fprintf(stderr, " FAILED");
		}
	}
	d->start_s = (kb_now_ms() - t0) / 1e3;
	fprintf(stderr, " ms\n");

	/* wait until all are running */
	for (double until = kb_now_ms() + 60e3; kb_now_ms() < until && !kb_stop;) {
		char st[32];

		d->running = 0;
		for (k = 0; k < n; k++) {
			char id[64];

			snprintf(id, sizeof(id), "bench-idle-%d", k + 1);
			mon[k] = state_pid(c, id, st, sizeof(st));
			if (!strcmp(st, "running"))
				d->running++;
			else
				mon[k] = 0;
		}
		if (d->running >= d->started)
			break;
		usleep(200000);
	}
	sleep(1);	/* let the idle guests settle */

	for (k = 0; k < n && !kb_stop; k++) {
		pid_t desc[64];
		size_t nd;
		double m, q = 0;

		if (!mon[k])
			continue;
		m = pss_mib(mon[k]);
		if (m < 0)
			continue;
		nd = descendants(mon[k], desc, 64);
		for (size_t i = 0; i < nd; i++) {
			double p = pss_mib(desc[i]);
			char f[4096];

			if (p > 0)
				q += p;
			if (mem_path(desc[i], f, sizeof(f))) {
				if (!tfile[0])
					snprintf(tfile, sizeof(tfile), "%s", f);
				if (!strcmp(tfile, f))
					mapped += mapping_pss_mib(desc[i], f);
			}
		}
		kb_add(&d->monitor_mib, &nmon, m);
		kb_add(&d->qemu_mib, &nq, q);
		kb_add(&d->pss_mib, &d->n, m + q);
		d->total_mib += m + q;
	}
	avail1 = kb_field_mib("/proc/meminfo", "MemAvailable:");
	d->memavail_drop_mib = avail0 - avail1;

	/*
	 * The template: clones map its memory file privately, so the pages they
	 * map are already in their PSS (split among them); what no clone maps
	 * but the file still holds in memory is spread over the sandboxes.
	 */
	if (tfile[0]) {
		struct stat st;
		double res = stat(tfile, &st) == 0 && S_ISREG(st.st_mode) ? resident_mib(tfile) : -1;

		d->template_mapped_pss_mib = mapped;
		if (res >= 0 && d->n) {
			double rest = res - mapped;

			d->template_known = true;
			d->template_file_mib = res;
			d->template_share_mib = rest > 0 ? rest / d->n : 0;
			snprintf(d->template_note, sizeof(d->template_note),
				 "template memory %s: %.1f MiB in memory, %.1f MiB of it mapped by the clones (in their PSS), the rest (%.1f MiB) spread over %zu sandboxes",
				 tfile, res, mapped, rest > 0 ? rest : 0, d->n);
		} else {
			snprintf(d->template_note, sizeof(d->template_note),
				 "template memory %s is not a regular file (/dev/katasbx?): its share is in the clones' PSS only (%.1f MiB mapped)",
				 tfile, mapped);
		}
	} else {
		snprintf(d->template_note, sizeof(d->template_note),
			 "no template memory file in QEMU's command line (%s sandboxes): template share skipped",
			 mode);
	}

	fprintf(stderr, "density: deleting %d sandboxes\n", d->started);
	{
		sig_atomic_t was = kb_stop;

		kb_stop = 0;
		for (k = 0; k < n; k++) {
			char id[64];

			snprintf(id, sizeof(id), "bench-idle-%d", k + 1);
			kb_vm_delete(c, id, true);
		}
		kb_stop = was;
	}
	free(mon);
	return d->n ? 0 : -1;
}
