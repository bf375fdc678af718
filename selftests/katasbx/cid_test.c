// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of /dev/katasbx vsock CIDs: reservations are unique and in range,
 * bad arguments, an exact CID in use, release on close and on SIGKILL,
 * threads, exhaustion. Runs inside the test VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include "katasbx_util.h"
#include "ktap.h"

static int t_cid_basic(void)
{
	struct katasbx_cid_reserve r[32];
	struct katasbx_counters c;
	int kfd = kopen(), i, j;

	CHECK(kfd >= 0 && counters(&c) == 0);
	for (i = 0; i < 32 && i <= (int)(c.cid_max - c.cid_min); i++) {
		CHECK(cid_reserve(kfd, 0, 0, &r[i]) == 0);
		CHECK(r[i].cid >= c.cid_min && r[i].cid <= c.cid_max);
		CHECK(r[i].cid > 2 && r[i].cid != UINT32_MAX && r[i].fd >= 0);
		CHECK(fcntl(r[i].fd, F_GETFD) == FD_CLOEXEC);
		for (j = 0; j < i; j++)
			CHECK(r[j].cid != r[i].cid);
	}
	return KT_PASS;
}

static int t_cid_bad_args(void)
{
	struct katasbx_cid_reserve r = {};
	struct katasbx_counters c;
	int kfd = kopen();

	CHECK(kfd >= 0 && counters(&c) == 0);
	r.flags = 2;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CID_RESERVE, &r), EINVAL);
	r.flags = 0;
	r.pad = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CID_RESERVE, &r), EINVAL);
	r.pad = 0;
	r.reserved[1] = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CID_RESERVE, &r), EINVAL);
	CHECK_ERR(cid_reserve(kfd, KATASBX_CID_F_EXACT, 2, &r), EINVAL);
	CHECK_ERR(cid_reserve(kfd, KATASBX_CID_F_EXACT, UINT32_MAX, &r), EINVAL);
	CHECK_ERR(cid_reserve(kfd, KATASBX_CID_F_EXACT, c.cid_max + 1, &r), EINVAL);
	if (c.cid_min > 3)
		CHECK_ERR(cid_reserve(kfd, KATASBX_CID_F_EXACT, c.cid_min - 1, &r), EINVAL);
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CID_RESERVE, NULL), EFAULT);
	return KT_PASS;
}

static int t_cid_exact_in_use(void)
{
	struct katasbx_cid_reserve a, b;
	struct katasbx_counters c;
	int kfd = kopen();

	CHECK(kfd >= 0 && counters(&c) == 0);
	CHECK(cid_reserve(kfd, KATASBX_CID_F_EXACT, c.cid_max, &a) == 0);
	CHECK(a.cid == c.cid_max);
	CHECK_ERR(cid_reserve(kfd, KATASBX_CID_F_EXACT, c.cid_max, &b), EADDRINUSE);
	CHECK(close(a.fd) == 0);
	CHECK(cid_reserve(kfd, KATASBX_CID_F_EXACT, c.cid_max, &b) == 0);
	return KT_PASS;
}

static int t_cid_release_on_close(void)
{
	struct katasbx_counters c0, c1;
	struct katasbx_cid_reserve a, b;
	int kfd = kopen();

	CHECK(kfd >= 0 && counters(&c0) == 0);
	CHECK(cid_reserve(kfd, 0, 0, &a) == 0);
	CHECK(counters(&c1) == 0 && c1.cids_in_use == c0.cids_in_use + 1);
	CHECK(close(a.fd) == 0);
	CHECK(counters(&c1) == 0 && c1.cids_in_use == c0.cids_in_use);
	CHECK(cid_reserve(kfd, KATASBX_CID_F_EXACT, a.cid, &b) == 0);
	return KT_PASS;
}

static int t_cid_release_on_sigkill(void)
{
	struct katasbx_counters c0, c1;
	struct katasbx_cid_reserve r;
	int p[2], kfd, st;
	uint32_t cid;
	pid_t pid;

	CHECK(counters(&c0) == 0);
	CHECK(pipe(p) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		kfd = kopen();
		if (kfd < 0 || cid_reserve(kfd, 0, 0, &r) < 0)
			_exit(1);
		if (write(p[1], &r.cid, sizeof(r.cid)) != sizeof(r.cid))
			_exit(1);
		for (;;)
			pause();
	}
	CHECK(read(p[0], &cid, sizeof(cid)) == sizeof(cid));
	kfd = kopen();
	CHECK(kfd >= 0);
	CHECK_ERR(cid_reserve(kfd, KATASBX_CID_F_EXACT, cid, &r), EADDRINUSE);
	CHECK(kill(pid, SIGKILL) == 0);
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st));
	CHECK(counters(&c1) == 0 && c1.cids_in_use == c0.cids_in_use);
	CHECK(cid_reserve(kfd, KATASBX_CID_F_EXACT, cid, &r) == 0);
	return KT_PASS;
}

#define CID_THREADS	4
#define CID_PER_THREAD	250

struct cid_thread_arg {
	uint32_t cids[CID_PER_THREAD];
	int n;
};

static void *cid_thread(void *v)
{
	struct cid_thread_arg *a = v;
	struct katasbx_cid_reserve r;
	int kfd = kopen(), i;

	for (i = 0; i < CID_PER_THREAD && kfd >= 0; i++) {
		if (cid_reserve(kfd, 0, 0, &r) < 0)
			break;
		a->cids[a->n++] = r.cid;
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int t_cid_threads_unique(void)
{
	static struct cid_thread_arg args[CID_THREADS];
	static uint32_t all[CID_THREADS * CID_PER_THREAD];
	struct rlimit rl = { 4096, 4096 };
	struct katasbx_counters c;
	pthread_t th[CID_THREADS];
	int i, n = 0;

	CHECK(counters(&c) == 0);
	KT_SKIP_IF(c.cid_max - c.cid_min + 1 < CID_THREADS * CID_PER_THREAD,
		   "CID range smaller than %d", CID_THREADS * CID_PER_THREAD);
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	for (i = 0; i < CID_THREADS; i++)
		CHECK(pthread_create(&th[i], NULL, cid_thread, &args[i]) == 0);
	for (i = 0; i < CID_THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].n == CID_PER_THREAD);
		memcpy(all + n, args[i].cids, sizeof(uint32_t) * args[i].n);
		n += args[i].n;
	}
	qsort(all, n, sizeof(all[0]), cmp_u32);
	for (i = 1; i < n; i++)
		CHECK(all[i] != all[i - 1]);
	return KT_PASS;
}

static int t_cid_exhaustion(void)
{
	struct katasbx_counters c0, c1;
	struct katasbx_cid_reserve r;
	struct rlimit rl;
	int kfd = kopen();
	uint64_t n, i;

	CHECK(kfd >= 0 && counters(&c0) == 0);
	n = c0.cid_max - c0.cid_min + 1 - c0.cids_in_use;
	KT_SKIP_IF(n > 200000, "CID range too large to exhaust (%llu)", (unsigned long long)n);
	rl.rlim_cur = rl.rlim_max = n + 64;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	for (i = 0; i < n; i++)
		CHECK(cid_reserve(kfd, 0, 0, &r) == 0);
	CHECK_ERR(cid_reserve(kfd, 0, 0, &r), ENOSPC);
	CHECK(counters(&c1) == 0 && c1.cids_in_use == c0.cid_max - c0.cid_min + 1);
	CHECK(close(r.fd) == 0 || true);
	return KT_PASS;
}

static const struct kt_case cases[] = {
	{ "cid_unique_in_range", t_cid_basic, 0 },
	{ "cid_bad_args", t_cid_bad_args, 0 },
	{ "cid_exact_in_use", t_cid_exact_in_use, 0 },
	{ "cid_release_on_close", t_cid_release_on_close, 0 },
	{ "cid_release_on_sigkill", t_cid_release_on_sigkill, 0 },
	{ "cid_threads_no_duplicates", t_cid_threads_unique, 0 },
	{ "cid_exhaustion_enospc", t_cid_exhaustion, 0 },
};

KT_MAIN(cases, kx_skip_reason())
