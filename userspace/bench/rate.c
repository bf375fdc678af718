// SPDX-License-Identifier: GPL-2.0
/* --rate C: C starters, each running `echo` sandboxes one after the other. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct rate_run {
	struct kb_ctx *c;
	const char *tmpl;
	struct kb_rate *r;
	pthread_mutex_t lock;
	int next;
	double *ms;
	size_t n;
};

static void *starter(void *arg)
{
	struct rate_run *rr = arg;

	for (;;) {
		char id[64], err[512] = "";
		struct kb_result res;
		bool ok;
		int k;

		pthread_mutex_lock(&rr->lock);
		k = rr->next < rr->r->runs && !kb_stop ? ++rr->next : 0;
		pthread_mutex_unlock(&rr->lock);
		if (!k)
			break;
		snprintf(id, sizeof(id), "bench-rate-%d", k);
		ok = kb_vm_run(rr->c, rr->tmpl, false, id, NULL, &res, err, sizeof(err));
		kb_vm_delete(rr->c, id, !ok);
		pthread_mutex_lock(&rr->lock);
		if (ok) {
			rr->r->completed++;
			kb_add(&rr->ms, &rr->n, res.ms);
		} else if (!res.interrupted) {
			rr->r->failures++;
			if (!rr->r->first_error[0])
				snprintf(rr->r->first_error, sizeof(rr->r->first_error), "%s", err);
		}
		pthread_mutex_unlock(&rr->lock);
	}
	return NULL;
}

int kb_rate(struct kb_ctx *c, int conc, int runs, const char *tmpl, const char *mode,
	    struct kb_rate *r)
{
	struct rate_run rr = { .c = c, .tmpl = tmpl, .r = r };
	pthread_t th[256];
	struct kb_stats st;
	double t0;
	int i, started = 0;

	memset(r, 0, sizeof(*r));
	r->done = true;
	r->mode = mode;
	r->concurrency = conc > 256 ? 256 : conc;
	r->runs = runs;
	pthread_mutex_init(&rr.lock, NULL);
	fprintf(stderr, "rate: %d %s runs, %d at a time\n", runs, mode, r->concurrency);
	t0 = kb_now_ms();
	for (i = 0; i < r->concurrency; i++)
		if (pthread_create(&th[i], NULL, starter, &rr) == 0)
			started++;
		else
			break;
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	r->elapsed_s = (kb_now_ms() - t0) / 1e3;
	r->per_s = r->elapsed_s > 0 ? r->completed / r->elapsed_s : 0;
	kb_stats(rr.ms, rr.n, &st);
	r->median_ms = st.median;
	free(rr.ms);
	return r->completed ? 0 : -1;
}
