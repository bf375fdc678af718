// SPDX-License-Identifier: GPL-2.0
/* The terminal table, the JSON file and the gnuplot chart. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static const struct kb_mode *runc_mode(const struct kb_mode *modes, size_t nm)
{
	for (size_t i = 0; i < nm; i++)
		if (!strcmp(modes[i].name, "runc") && modes[i].n)
			return &modes[i];
	return NULL;
}

static double ratio(const struct kb_mode *m, const struct kb_mode *modes, size_t nm)
{
	const struct kb_mode *r = runc_mode(modes, nm);
	struct kb_stats a, b;

	if (!r || !m->n)
		return 0;
	kb_stats(m->ms, m->n, &a);
	kb_stats(r->ms, r->n, &b);
	return b.median > 0 ? a.median / b.median : 0;
}

/* a -net mode's median less its plain mode's; false unless both have runs */
static bool net_extra(const struct kb_mode *m, const struct kb_mode *modes, size_t nm,
		      double *extra)
{
	struct kb_stats a, b;

	if (!m->plain || !m->available || !m->n)
		return false;
	for (size_t i = 0; i < nm; i++)
		if (modes[i].name == m->plain && modes[i].available && modes[i].n) {
			kb_stats(m->ms, m->n, &a);
			kb_stats(modes[i].ms, modes[i].n, &b);
			*extra = a.median - b.median;
			return true;
		}
	return false;
}

static bool any_net(const struct kb_mode *modes, size_t nm)
{
	for (size_t m = 0; m < nm; m++)
		if (modes[m].net && modes[m].available)
			return true;
	return false;
}

static double phase_median(const struct kb_mode *m, const char *name)
{
	for (size_t p = 0; p < m->nphases; p++)
		if (!strcmp(m->phases[p].name, name)) {
			struct kb_stats st;

			kb_stats(m->phases[p].v, m->phases[p].n, &st);
			return st.median;
		}
	return -1;
}

/* the earliest median of a phase over the modes */
static double phase_key(const struct kb_mode *modes, size_t nm, const char *name)
{
	double best = 1e300;

	for (size_t m = 0; m < nm; m++) {
		double v = phase_median(&modes[m], name);

		if (v >= 0 && v < best)
			best = v;
	}
	return best;
}

/*
 * Which of two phases comes first: by a mode that logs both (modes differ in
 * their phases: a warm run's agent answers before a clone's QEMU does), else
 * by the earliest medians.
 */
static bool phase_after(const struct kb_mode *modes, size_t nm, const char *a, const char *b)
{
	for (size_t m = 0; m < nm; m++) {
		double va = phase_median(&modes[m], a), vb = phase_median(&modes[m], b);

		if (va >= 0 && vb >= 0)
			return va > vb;
	}
	return phase_key(modes, nm, a) > phase_key(modes, nm, b);
}

/* phase names of all VM modes, in time order */
static size_t phase_names(const struct kb_mode *modes, size_t nm, const char **names, size_t max)
{
	size_t n = 0;

	for (size_t m = 0; m < nm; m++)
		for (size_t p = 0; p < modes[m].nphases; p++) {
			size_t i;

			for (i = 0; i < n; i++)
				if (!strcmp(names[i], modes[m].phases[p].name))
					break;
			if (i == n && n < max)
				names[n++] = modes[m].phases[p].name;
		}
	for (size_t i = 1; i < n; i++)	/* insertion sort, stable */
		for (size_t j = i; j > 0 && phase_after(modes, nm, names[j - 1], names[j]); j--) {
			const char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	return n;
}

static const struct kb_phase *phase(const struct kb_mode *m, const char *name)
{
	for (size_t p = 0; p < m->nphases; p++)
		if (!strcmp(m->phases[p].name, name))
			return &m->phases[p];
	return NULL;
}

static void date_utc(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

void kb_table(struct kb_ctx *c, struct kb_mode *modes, size_t nm, struct kb_density *d,
	      struct kb_rate *r)
{
	const char *names[KB_MAX_PHASES * KB_MAX_MODES];
	char host[512], date[64];
	size_t np;
	bool any_unavail = false;

	kb_host_line(host, sizeof(host));
	date_utc(date, sizeof(date));
	printf("\nkatasbx-bench, %s: busybox `echo hello`, run to exit, wall clock\n", date);
	printf("host:  %s\n", host);
	printf("accel: %s\n", c->accel_detail[0] ? c->accel_detail : c->accel);
	printf("\n%-12s %4s %5s %9s %9s %9s %9s %8s\n", "mode", "n", "fail", "min ms",
	       "median ms", "p90 ms", "p99 ms", "x runc");
	for (size_t m = 0; m < nm; m++) {
		struct kb_stats st;
		double x;

		if (!modes[m].available)
			continue;
		kb_stats(modes[m].ms, modes[m].n, &st);
		x = ratio(&modes[m], modes, nm);
		if (!modes[m].n) {
			printf("%-12s %4zu %5zu %9s %9s %9s %9s %8s\n", modes[m].name, modes[m].n,
			       modes[m].failures, "-", "-", "-", "-", "-");
			continue;
		}
		printf("%-12s %4zu %5zu %9.1f %9.1f %9.1f %9.1f ", modes[m].name, modes[m].n,
		       modes[m].failures, st.min, st.median, st.p90, st.p99);
		if (x > 0)
			printf("%8.1f\n", x);
		else
			printf("%8s\n", "-");
	}
	for (size_t m = 0; m < nm; m++)
		if (modes[m].available && modes[m].failures)
			printf("  %s: %zu of %zu runs failed; first: %s\n", modes[m].name,
			       modes[m].failures, modes[m].runs, modes[m].first_error);
	for (size_t m = 0; m < nm; m++)
		if (!strcmp(modes[m].name, "cold") && phase(&modes[m], "restored"))
			printf("  warning: cold runs logged \"phase restored\": they were not cold boots\n");
	printf("warm-up run (not counted; the first clone or warm mode makes the template):");
	for (size_t m = 0; m < nm; m++)
		if (modes[m].available)
			printf(" %s %.0f ms%s", modes[m].name, modes[m].warmup_ms,
			       modes[m].warmup_ok ? "" : " (failed)");
	printf("\n");
	for (size_t m = 0; m < nm; m++) {
		const struct kb_pool *p = kb_mode_pool(c, &modes[m]);
		char nics[32] = "";

		if (p->nics)
			snprintf(nics, sizeof(nics), " --interfaces %d", p->nics);
		if (modes[m].available && modes[m].warm && p->ready_ms > 0)
			printf("%s pool: `katasbx-runtime pool --size %d%s` ready in %.0f ms; before each run the bench waited (untimed) until it was full\n",
			       modes[m].name, KB_POOL_SIZE, nics, p->ready_ms);
	}
	if (any_net(modes, nm)) {
		bool first = true;

		printf("network of the -net modes: eth0 %s in netns %s, veth peer %s in %s, default via %s\n",
		       KB_NET_ADDR, c->net_near, KB_NET_PEER, c->net_far, KB_NET_GW);
		for (size_t m = 0; m < nm; m++) {
			double x;

			if (!net_extra(&modes[m], modes, nm, &x))
				continue;
			printf("%s %s %+.1f ms", first ? "  median with the network, against without:" : ",",
			       modes[m].name, x);
			first = false;
		}
		if (!first)
			printf("\n");
	}
	for (size_t m = 0; m < nm; m++)
		if (!modes[m].available) {
			if (!any_unavail)
				printf("unavailable:\n");
			any_unavail = true;
			printf("  %-10s %s\n", modes[m].name, modes[m].why);
		}

	np = phase_names(modes, nm, names, sizeof(names) / sizeof(names[0]));
	if (np) {
		printf("\nphases, median ms since the runtime started:\n%-22s", "phase");
		for (size_t m = 0; m < nm; m++)
			if (modes[m].available && modes[m].kind == KB_VM)
				printf(" %10s", modes[m].name);
		printf("\n");
		for (size_t i = 0; i < np; i++) {
			printf("%-22s", names[i]);
			for (size_t m = 0; m < nm; m++) {
				const struct kb_phase *p;
				struct kb_stats st;

				if (!modes[m].available || modes[m].kind != KB_VM)
					continue;
				p = phase(&modes[m], names[i]);
				if (!p || !p->n) {
					printf(" %10s", "-");
					continue;
				}
				kb_stats(p->v, p->n, &st);
				printf(" %10.1f", st.median);
			}
			printf("\n");
		}
	}

	if (d && d->done) {
		struct kb_stats st, sm, sq;

		kb_stats(d->pss_mib, d->n, &st);
		kb_stats(d->monitor_mib, d->n, &sm);
		kb_stats(d->qemu_mib, d->n, &sq);
		printf("\ndensity: %d idle %s sandboxes requested, %d started, %d running, measured %zu (started in %.1f s)\n",
		       d->requested, d->mode, d->started, d->running, d->n, d->start_s);
		if (d->n) {
			printf("  PSS per sandbox (monitor + QEMU): mean %.1f MiB, median %.1f, max %.1f; total %.1f MiB\n",
			       st.mean, st.median, st.max, d->total_mib);
			printf("  of which monitor mean %.1f MiB, QEMU mean %.1f MiB; host MemAvailable fell by %.1f MiB\n",
			       sm.mean, sq.mean, d->memavail_drop_mib);
			if (d->template_known)
				printf("  + template share %.1f MiB per sandbox = %.1f MiB per sandbox\n",
				       d->template_share_mib, st.mean + d->template_share_mib);
		}
		printf("  %s\n", d->template_note);
	}
	if (r && r->done) {
		printf("\nrate: %d %s runs with %d concurrent starters: %d completed, %d failed in %.1f s = %.2f sandboxes/s (median run %.0f ms)\n",
		       r->runs, r->mode, r->concurrency, r->completed, r->failures, r->elapsed_s,
		       r->per_s, r->median_ms);
		if (r->failures)
			printf("  first failure: %s\n", r->first_error);
	}
	fflush(stdout);
}

static json_object *num(double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.1f", v);
	return json_object_new_double_s(v, buf);
}

static json_object *num2(double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.2f", v);
	return json_object_new_double_s(v, buf);
}

int kb_json(struct kb_ctx *c, struct kb_mode *modes, size_t nm, struct kb_density *d,
	    struct kb_rate *r, const struct kb_tput *t, const char *path)
{
	json_object *root = json_object_new_object(), *jm = json_object_new_object();
	json_object *un = json_object_new_object();
	int rc;

	json_object_object_add(root, "accel", json_object_new_string(c->accel));
	json_object_object_add(root, "accel_detail", json_object_new_string(c->accel_detail));
	json_object_object_add(root, "host", kb_host_json());
	json_object_object_add(root, "runtime", json_object_new_string(c->runtime));
	json_object_object_add(root, "workload", json_object_new_string("busybox echo hello, run to exit"));
	for (size_t m = 0; m < nm; m++) {
		json_object *o, *ph, *samples;
		struct kb_stats st;
		double x;

		if (!modes[m].available) {
			json_object_object_add(un, modes[m].name, json_object_new_string(modes[m].why));
			continue;
		}
		o = json_object_new_object();
		kb_stats(modes[m].ms, modes[m].n, &st);
		json_object_object_add(o, "n", json_object_new_int((int)modes[m].n));
		json_object_object_add(o, "runs", json_object_new_int((int)modes[m].runs));
		json_object_object_add(o, "failures", json_object_new_int((int)modes[m].failures));
		json_object_object_add(o, "min_ms", modes[m].n ? num(st.min) : NULL);
		json_object_object_add(o, "median_ms", modes[m].n ? num(st.median) : NULL);
		json_object_object_add(o, "p90_ms", modes[m].n ? num(st.p90) : NULL);
		json_object_object_add(o, "p99_ms", modes[m].n ? num(st.p99) : NULL);
		x = ratio(&modes[m], modes, nm);
		json_object_object_add(o, "ratio_to_runc", x > 0 ? num2(x) : NULL);
		json_object_object_add(o, "warmup_ms", num(modes[m].warmup_ms));
		if (!modes[m].warmup_ok)
			json_object_object_add(o, "warmup_error",
					       json_object_new_string(modes[m].warmup_error));
		if (modes[m].warm) {
			const struct kb_pool *p = kb_mode_pool(c, &modes[m]);

			json_object_object_add(o, "pool_size", json_object_new_int(KB_POOL_SIZE));
			json_object_object_add(o, "pool_interfaces", json_object_new_int(p->nics));
			json_object_object_add(o, "pool_ready_ms", num(p->ready_ms));
		}
		if (modes[m].net) {
			double extra;

			json_object_object_add(o, "without_network",
					       json_object_new_string(modes[m].plain));
			json_object_object_add(o, "network_extra_ms",
					       net_extra(&modes[m], modes, nm, &extra) ? num(extra) : NULL);
		}
		if (modes[m].kind == KB_VM) {
			ph = json_object_new_object();
			for (size_t p = 0; p < modes[m].nphases; p++) {
				struct kb_stats ps;

				kb_stats(modes[m].phases[p].v, modes[m].phases[p].n, &ps);
				json_object_object_add(ph, modes[m].phases[p].name, num(ps.median));
			}
			json_object_object_add(o, "phases_ms", ph);
		}
		samples = json_object_new_array();
		for (size_t i = 0; i < modes[m].n; i++)
			json_object_array_add(samples, num(modes[m].ms[i]));
		json_object_object_add(o, "samples_ms", samples);
		if (modes[m].first_error[0])
			json_object_object_add(o, "first_error",
					       json_object_new_string(modes[m].first_error));
		json_object_object_add(jm, modes[m].name, o);
	}
	json_object_object_add(root, "modes", jm);
	json_object_object_add(root, "unavailable", un);
	if (any_net(modes, nm)) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "netns", json_object_new_string(c->net_near));
		json_object_object_add(o, "peer_netns", json_object_new_string(c->net_far));
		json_object_object_add(o, "address", json_object_new_string(KB_NET_ADDR));
		json_object_object_add(o, "peer_address", json_object_new_string(KB_NET_PEER));
		json_object_object_add(o, "gateway", json_object_new_string(KB_NET_GW));
		json_object_object_add(root, "network", o);
	} else {
		json_object_object_add(root, "network", NULL);
	}

	if (d && d->done) {
		json_object *o = json_object_new_object();
		struct kb_stats st, sm, sq;

		kb_stats(d->pss_mib, d->n, &st);
		kb_stats(d->monitor_mib, d->n, &sm);
		kb_stats(d->qemu_mib, d->n, &sq);
		json_object_object_add(o, "mode", json_object_new_string(d->mode));
		json_object_object_add(o, "requested", json_object_new_int(d->requested));
		json_object_object_add(o, "started", json_object_new_int(d->started));
		json_object_object_add(o, "running", json_object_new_int(d->running));
		json_object_object_add(o, "measured", json_object_new_int((int)d->n));
		json_object_object_add(o, "start_s", num(d->start_s));
		json_object_object_add(o, "pss_mean_mib", num(st.mean));
		json_object_object_add(o, "pss_median_mib", num(st.median));
		json_object_object_add(o, "pss_max_mib", num(st.max));
		json_object_object_add(o, "pss_total_mib", num(d->total_mib));
		json_object_object_add(o, "monitor_pss_mean_mib", num(sm.mean));
		json_object_object_add(o, "qemu_pss_mean_mib", num(sq.mean));
		json_object_object_add(o, "memavailable_drop_mib", num(d->memavail_drop_mib));
		json_object_object_add(o, "template_share_mib",
				       d->template_known ? num(d->template_share_mib) : NULL);
		json_object_object_add(o, "per_sandbox_with_template_mib",
				       d->template_known ? num(st.mean + d->template_share_mib) : NULL);
		json_object_object_add(o, "template_note", json_object_new_string(d->template_note));
		json_object_object_add(root, "density", o);
	} else {
		json_object_object_add(root, "density", NULL);
	}
	if (r && r->done) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "mode", json_object_new_string(r->mode));
		json_object_object_add(o, "concurrency", json_object_new_int(r->concurrency));
		json_object_object_add(o, "runs", json_object_new_int(r->runs));
		json_object_object_add(o, "completed", json_object_new_int(r->completed));
		json_object_object_add(o, "failures", json_object_new_int(r->failures));
		json_object_object_add(o, "elapsed_s", num(r->elapsed_s));
		json_object_object_add(o, "sandboxes_per_s", num2(r->per_s));
		json_object_object_add(o, "median_ms", num(r->median_ms));
		json_object_object_add(root, "rate", o);
	} else {
		json_object_object_add(root, "rate", NULL);
	}
	json_object_object_add(root, "throughput", t && t->secs ? kb_tput_json(c, t) : NULL);
	rc = json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
	if (rc)
		fprintf(stderr, "katasbx-bench: %s: %s\n", path, json_util_get_last_err());
	json_object_put(root);
	return rc ? -1 : 0;
}

/* no quotes or backslashes in a gnuplot string */
static void clean(char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || *s == '\'')
			*s = ' ';
}

int kb_plot(struct kb_ctx *c, struct kb_mode *modes, size_t nm, const char *path)
{
	char dat[400], gp[400], host[512], accel[512], date[64];
	char *argv[] = { "gnuplot", gp, NULL };
	struct kb_result r;
	size_t k = 0;
	FILE *f;

	snprintf(dat, sizeof(dat), "%s/plot.dat", c->tmp);
	snprintf(gp, sizeof(gp), "%s/plot.gp", c->tmp);
	f = fopen(dat, "w");
	if (!f)
		return -1;
	/* block 0: one line per mode: x min p25 median p75 max; then the samples */
	for (size_t m = 0; m < nm; m++) {
		struct kb_stats st;

		if (!modes[m].available || !modes[m].n)
			continue;
		kb_stats(modes[m].ms, modes[m].n, &st);
		fprintf(f, "%zu %.3f %.3f %.3f %.3f %.3f # %s\n", ++k, st.min, st.p25, st.median,
			st.p75, st.max, modes[m].name);
	}
	fprintf(f, "\n\n");
	for (size_t m = 0; m < nm; m++) {
		if (!modes[m].available || !modes[m].n)
			continue;
		fprintf(f, "# %s\n", modes[m].name);
		for (size_t i = 0; i < modes[m].n; i++)
			fprintf(f, "%.3f\n", modes[m].ms[i]);
		fprintf(f, "\n\n");
	}
	fclose(f);

	kb_host_line(host, sizeof(host));
	snprintf(accel, sizeof(accel), "%s", c->accel);
	date_utc(date, sizeof(date));
	clean(host);
	clean(accel);
	f = fopen(gp, "w");
	if (!f)
		return -1;
	fprintf(f,
		"if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
		"  set terminal pngcairo size 1000,640 font ',10'\n"
		"} else {\n"
		"  set terminal png size 1000,640\n"
		"}\n"
		"set output '%s'\n"
		"set title \"katasbx-bench: busybox echo, run to exit (accel %s)\\n%s, %s\"\n"
		"set ylabel 'ms (log scale)'\n"
		"set logscale y\n"
		"set grid ytics mytics\n"
		"set key off\n"
		"set style fill transparent solid 0.15 border\n"
		"set bmargin 4\n"
		"set boxwidth 0.4\n"
		"set pointsize 0.8\n",
		path, accel, host, date);
	k = 0;
	fprintf(f, "set xtics (");
	for (size_t m = 0; m < nm; m++) {
		struct kb_stats st;

		if (!modes[m].available || !modes[m].n)
			continue;
		kb_stats(modes[m].ms, modes[m].n, &st);
		fprintf(f, "%s\"%s\\nmedian %.0f ms, n=%zu\" %zu", k ? ", " : "", modes[m].name,
			st.median, modes[m].n, k + 1);
		k++;
	}
	fprintf(f, ")\nset xrange [0.4:%zu.6]\n", k);
	/* box: p25..p75 (nearest rank), whiskers: min..max, bar: median; points: every run */
	fprintf(f, "plot '%s' index 0 using 1:3:2:6:5 with candlesticks whiskerbars 0.5 lc rgb '#555555', \\\n"
		"  '' index 0 using 1:4:4:4:4 with candlesticks lw 2 lc rgb '#000000'", dat);
	k = 0;
	for (size_t m = 0; m < nm; m++) {
		if (!modes[m].available || !modes[m].n)
			continue;
		fprintf(f, ", \\\n  '' index %zu using (%zu + 0.3*(rand(0)-0.5)):1 with points pt 7 lc %zu",
			k + 1, k + 1, k + 1);
		k++;
	}
	fprintf(f, "\n");
	fclose(f);
	if (!k) {
		fprintf(stderr, "katasbx-bench: --plot: no mode has any successful run\n");
		return -1;
	}
	{
		char errf[420], *e;

		snprintf(errf, sizeof(errf), "%s.err", gp);
		if (kb_spawn(argv, NULL, errf, 60, &r) || r.status != 0) {
			e = kb_read_file(errf, 4096);
			fprintf(stderr, "katasbx-bench: gnuplot failed (status %d): %s\n", r.status,
				e ? e : "");
			free(e);
			return -1;
		}
	}
	fprintf(stderr, "katasbx-bench: plot written to %s\n", path);
	return 0;
}
