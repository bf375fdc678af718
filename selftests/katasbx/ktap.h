/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal kselftest-style harness: each case runs in its own child
 * process (a crash or a leaked fd stays there) and reports KTAP lines.
 * Exit status: 0 all passed, 1 a case failed, 4 everything skipped.
 */
#ifndef KATASBX_KTAP_H
#define KATASBX_KTAP_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { KT_PASS = 0, KT_FAIL = 1, KT_SKIP = 4 };

struct kt_case {
	const char *name;
	int (*fn)(void);
	unsigned int timeout_s;	/* 0: 120 s */
};

/* Shared with the parent so a skip reason survives the child's exit. */
static char *kt_reason;

#define KT_SKIP_IF(cond, ...) do {						\
	if (cond) {								\
		snprintf(kt_reason, 256, __VA_ARGS__);				\
		return KT_SKIP;							\
	}									\
} while (0)

#define CHECK(cond) do {							\
	if (!(cond)) {								\
		int e_ = errno;							\
		printf("# %s:%d: failed: %s (errno %d: %s)\n",			\
		       __FILE__, __LINE__, #cond, e_, strerror(e_));		\
		fflush(stdout);							\
		return KT_FAIL;							\
	}									\
} while (0)

#define CHECK_ERR(expr, err) do {						\
	errno = 0;								\
	long r_ = (long)(expr);							\
	if (r_ != -1 || errno != (err)) {					\
		printf("# %s:%d: %s: want -1/%s, got %ld/%s\n", __FILE__,	\
		       __LINE__, #expr, strerror(err), r_, strerror(errno));	\
		fflush(stdout);							\
		return KT_FAIL;							\
	}									\
} while (0)

static int kt_run_one(const struct kt_case *c)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return KT_FAIL;
	if (pid == 0) {
		alarm(c->timeout_s ? c->timeout_s : 120);
		_exit(c->fn());
	}
	if (waitpid(pid, &status, 0) < 0)
		return KT_FAIL;
	if (WIFSIGNALED(status)) {
		printf("# %s: killed by signal %d\n", c->name, WTERMSIG(status));
		return KT_FAIL;
	}
	return WEXITSTATUS(status);
}

static int kt_main(const struct kt_case *cases, int n, const char *skip_all)
{
	int i, pass = 0, fail = 0, skip = 0;

	kt_reason = mmap(NULL, 256, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (kt_reason == MAP_FAILED)
		return KT_FAIL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%d\n", n);
	for (i = 0; i < n; i++) {
		int r;

		kt_reason[0] = '\0';
		if (skip_all) {
			snprintf(kt_reason, 256, "%s", skip_all);
			r = KT_SKIP;
		} else {
			r = kt_run_one(&cases[i]);
		}
		if (r == KT_PASS) {
			pass++;
			printf("ok %d - %s\n", i + 1, cases[i].name);
		} else if (r == KT_SKIP) {
			skip++;
			printf("ok %d - %s # SKIP %s\n", i + 1, cases[i].name, kt_reason);
		} else {
			fail++;
			printf("not ok %d - %s\n", i + 1, cases[i].name);
		}
	}
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n", pass, fail, skip);
	if (fail)
		return KT_FAIL;
	return pass ? KT_PASS : KT_SKIP;
}

/* A test program's main(): kt_main() over the array @cases. */
#define KT_MAIN(cases, skip_all)						\
int main(void)									\
{										\
	return kt_main(cases, sizeof(cases) / sizeof((cases)[0]), skip_all);	\
}

#endif /* KATASBX_KTAP_H */
