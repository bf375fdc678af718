// SPDX-License-Identifier: GPL-2.0
/*
 * One thread reaps every child of the shim (its monitors, a publish binary,
 * and orphans reparented to it as a subreaper) and records the statuses of
 * the ones somebody waits for. A child that ends before it is tracked is
 * remembered, so no exit is lost between fork and track.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "shim.h"

#define MAX_CHILDREN 128

struct child {
	pid_t pid;
	bool tracked;
	bool exited;
	int status;
};

static struct child children[MAX_CHILDREN];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static unsigned int next_slot;

static struct child *find(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (children[i].pid == pid)
			return &children[i];
	return NULL;
}

/* A free slot, else the oldest exited child nobody tracks. */
static struct child *slot(void)
{
	int i;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (!children[i].pid)
			return &children[i];
	for (i = 0; i < MAX_CHILDREN; i++) {
		struct child *c = &children[next_slot++ % MAX_CHILDREN];

		if (!c->tracked)
			return c;
	}
	return NULL;
}

static void *reaper(void *arg)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		struct child *c;

		if (pid < 0) {
			/* no child yet: wait for one to be tracked */
			pthread_mutex_lock(&lock);
			pthread_cond_wait(&changed, &lock);
			pthread_mutex_unlock(&lock);
			continue;
		}
		pthread_mutex_lock(&lock);
		c = find(pid);
		if (!c)
			c = slot();
		if (c) {
			if (c->pid != pid)
				*c = (struct child){ .pid = pid };
			c->exited = true;
			c->status = status;
		}
		pthread_cond_broadcast(&changed);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int shim_children_init(void)
{
	pthread_t t;

	return pthread_create(&t, NULL, reaper, NULL) ? -1 : 0;
}

void shim_child_track(pid_t pid)
{
	struct child *c;

	pthread_mutex_lock(&lock);
	c = find(pid);
	if (!c) {
		c = slot();
		if (c)
			*c = (struct child){ .pid = pid };
	}
	if (c)
		c->tracked = true;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
}

int shim_child_wait(pid_t pid)
{
	struct child *c;
	int status;

	pthread_mutex_lock(&lock);
	while (!(c = find(pid)) || !c->exited)
		pthread_cond_wait(&changed, &lock);
	status = c->status;
	*c = (struct child){ 0 };
	pthread_mutex_unlock(&lock);
	return status;
}
