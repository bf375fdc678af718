// SPDX-License-Identifier: GPL-2.0
/* Percentiles and the runtime's phase lines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

void kb_add(double **v, size_t *n, double x)
{
	double *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return;
	nv[(*n)++] = x;
	*v = nv;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* nearest rank: the smallest value with at least p% of the values <= it */
static double rank(const double *s, size_t n, double p)
{
	size_t k = (size_t)ceil(p / 100.0 * n);

	if (k < 1)
		k = 1;
	return s[k - 1];
}

/* median: the middle value, or the mean of the two middle ones */
void kb_stats(const double *v, size_t n, struct kb_stats *st)
{
	double *s, sum = 0;

	memset(st, 0, sizeof(*st));
	if (!n)
		return;
	s = malloc(n * sizeof(*s));
	if (!s)
		return;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp);
	for (size_t i = 0; i < n; i++)
		sum += s[i];
	st->min = s[0];
	st->max = s[n - 1];
	st->mean = sum / n;
	st->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	st->p25 = rank(s, n, 25);
	st->p75 = rank(s, n, 75);
	st->p90 = rank(s, n, 90);
	st->p99 = rank(s, n, 99);
	free(s);
}

void kb_phase_add(struct kb_mode *m, const char *name, double ms)
{
	size_t i;

	for (i = 0; i < m->nphases; i++)
		if (!strcmp(m->phases[i].name, name))
			break;
	if (i == m->nphases) {
		if (m->nphases == KB_MAX_PHASES)
			return;
		snprintf(m->phases[i].name, sizeof(m->phases[i].name), "%s", name);
		m->nphases++;
	}
	kb_add(&m->phases[i].v, &m->phases[i].n, ms);
}

/*
 * The runtime's --debug log, text format:
 *   2026-11-28T00:35:26.503993Z [1234] debug: phase qemu-ready 212.7 ms
 * i.e. "phase NAME T ms" anywhere in a line; T is ms since the runtime began.
 */
void kb_parse_phases(struct kb_mode *m, const char *log)
{
	const char *p = log;

	while (p && (p = strstr(p, "phase "))) {
		char name[48];
		double ms;
		int used = 0;

		if ((p == log || p[-1] == ' ') &&
		    sscanf(p, "phase %47s %lf ms%n", name, &ms, &used) == 2 && used > 0)
			kb_phase_add(m, name, ms);
		p += 6;
	}
}
