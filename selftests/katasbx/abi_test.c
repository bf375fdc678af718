// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of /dev/katasbx: the ABI (version and features, unknown ioctls,
 * counters) and random ioctls from several threads at once, with clones
 * mapped and unmapped meanwhile, that must leave no kernel warning behind. Runs inside the test VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "katasbx_util.h"
#include "ktap.h"

static int t_version(void)
{
	struct katasbx_version v;
	int kfd = kopen();

	CHECK(kfd >= 0);
	memset(&v, 0xff, sizeof(v));
	CHECK(ioctl(kfd, KATASBX_IOC_VERSION, &v) == 0);
	printf("# version %u features 0x%x\n", v.version, v.features);
	CHECK(v.version == KATASBX_VERSION);
	CHECK(v.features & KATASBX_FEAT_TEMPLATE);
	CHECK(v.features & KATASBX_FEAT_CID);
	CHECK(v.features & KATASBX_FEAT_CGROUP);
	CHECK(v.features & KATASBX_FEAT_SLOT);
	CHECK(v.features & KATASBX_FEAT_PERSIST);
	CHECK(v.reserved[0] == 0 && v.reserved[1] == 0 && v.reserved[2] == 0);
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_VERSION, (void *)8), EFAULT);
	return KT_PASS;
}

static int t_unknown_ioctl(void)
{
	struct katasbx_template_create t;
	char buf[256] = {};
	int kfd = kopen();

	CHECK(kfd >= 0);
	CHECK_ERR(ioctl(kfd, _IOR(KATASBX_IOC_MAGIC, 0x7f, buf), buf), ENOTTY);
	CHECK_ERR(ioctl(kfd, _IO('T', 1), 0), ENOTTY);
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_INFO, buf), ENOTTY);
	CHECK(tpl_create(kfd, 4 * PAGE, 1, &t) == 0);
	CHECK_ERR(ioctl(t.fd, KATASBX_IOC_VERSION, buf), ENOTTY);
	return KT_PASS;
}

static int t_counters(void)
{
	struct katasbx_counters c0, c1;
	struct katasbx_template_create t;
	int kfd = kopen(), cl;

	CHECK(kfd >= 0);
	CHECK(counters(&c0) == 0);
	CHECK(c0.cid_min >= 3 && c0.cid_min <= c0.cid_max && c0.template_bytes_limit > 0);
	CHECK(tpl_create(kfd, 8 * PAGE, 2, &t) == 0);
	CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
	CHECK(counters(&c1) == 0);
	CHECK(c1.templates == c0.templates + 1);
	CHECK(c1.template_bytes == c0.template_bytes + 8 * PAGE);
	CHECK(c1.clones_open == c0.clones_open + 1);
	CHECK(c1.clones_total == c0.clones_total + 1);
	return KT_PASS;
}

/* ---- robustness ---- */

/* Destroys every persistent template; 0 on success. */
static int destroy_all_persistent(int kfd)
{
	struct katasbx_template_lookup l = { .flags = KATASBX_LOOKUP_F_NEXT };

	while (ioctl(kfd, KATASBX_IOC_TEMPLATE_LOOKUP, &l) == 0) {
		if ((l.tpl_flags & KATASBX_TEMPLATE_F_PERSIST) && destroy_id(kfd, l.id) < 0)
			return -1;
		l.id++;
		l.flags = KATASBX_LOOKUP_F_NEXT;
		memset(l.tag, 0, sizeof(l.tag));
	}
	return errno == ENOENT ? 0 : -1;
}

static const unsigned long fuzz_cmds[] = {
	KATASBX_IOC_VERSION, KATASBX_IOC_TEMPLATE_CREATE, KATASBX_IOC_CID_RESERVE,
	KATASBX_IOC_CGROUP_ADD, KATASBX_IOC_CGROUP_TAKE, KATASBX_IOC_SLOT,
	KATASBX_IOC_COUNTERS, KATASBX_IOC_TEMPLATE_INFO, KATASBX_IOC_TEMPLATE_LOOKUP,
	KATASBX_IOC_TEMPLATE_DESTROY,
};

static int kmsg_bad(void)
{
	static const char *const bad[] = { "BUG", "WARNING:", "Oops", "general protection",
					   "Call Trace" };
	char rec[2048];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK), hits = 0;
	ssize_t n;
	size_t i;

	if (fd < 0)
		return -1;
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = '\0';
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(rec, bad[i])) {
				printf("# kmsg: %s", rec);
				hits++;
			}
	}
	close(fd);
	return hits;
}

#define FUZZ_THREADS 4
#define FUZZ_CALLS 25000	/* each: 10^5 in all */
#define FUZZ_PAGES 16

struct fuzz_arg {
	int kfd, tfd, base;
	uint64_t seed;
	long maps;		/* the mapper's: clones mapped, written and unmapped */
	int open_err, tpl_err, map_err;	/* its last failures' errno, said at the end */
	int slots[3];		/* its fds: the template's, a clone's, the template's source */
};

static volatile int fuzz_done;

/* Random ioctls on the device and on the template, as t_random_ioctls describes. */
static void *fuzz_calls(void *p)
{
	struct fuzz_arg *a = p;
	uint64_t buf[32], seed = a->seed;
	long n;
	int i, fd;

	for (n = 0; n < FUZZ_CALLS; n++) {
		unsigned long cmd;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		for (i = 0; i < 16; i++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			/* Mostly small values so some calls get past the checks. */
			buf[i] = (seed & 3) ? seed % 5 : seed;
		}
		switch (seed % 8) {
		case 0:
			cmd = (unsigned long)seed >> 32;
			break;
		case 1:
			cmd = _IOC(seed >> 61 & 3, KATASBX_IOC_MAGIC, seed >> 40 & 0x1f,
				   seed >> 20 & 0xff);
			break;
		default:
			cmd = fuzz_cmds[(seed >> 8) % (sizeof(fuzz_cmds) / sizeof(fuzz_cmds[0]))];
		}
		fd = (seed >> 16) & 1 ? a->tfd : a->kfd;
		if ((seed >> 17) % 64 == 0)
			ioctl(fd, cmd, (void *)(uintptr_t)(seed & ~0xfffULL));
		else
			ioctl(fd, cmd, buf);
		/*
		 * The fds the calls made (templates, leases, clones) go now and
		 * then, the other threads' with them: a clone closed while
		 * another thread maps it is part of the test.
		 */
		if (n % 256 == 255)
			syscall(SYS_close_range, a->base, ~0U, 0);
	}
	return NULL;
}

/*
 * A new fd moved to @slot, one of the mapper's below the others' close_range
 * (which may close it before the move: then -1, and the caller tries again).
 */
static int to_slot(int fd, int slot)
{
	if (fd < 0 || dup2(fd, slot) < 0)
		return -1;
	close(fd);
	return slot;
}

/*
 * Clones opened, mapped, written (copy-on-write) and unmapped, until done.
 * Of a template of its own, made again whenever the others' calls take it
 * away (a random TEMPLATE_DESTROY); its fds live in slots of its own.
 */
static void *fuzz_maps(void *p)
{
	struct fuzz_arg *a = p;
	struct katasbx_template_create t;
	bool have = false;

	while (!fuzz_done) {
		int cl = have ? to_slot(clone_open(&t, O_RDWR), a->slots[1]) : -1;
		char *m;

		if (cl < 0) {
			if (have)
				a->open_err = errno;
			memset(&t, 0, sizeof(t));
			t.src_fd = a->slots[2];
			t.size = FUZZ_PAGES * PAGE;
			have = ioctl(a->kfd, KATASBX_IOC_TEMPLATE_CREATE, &t) == 0 &&
			       (t.fd = to_slot(t.fd, a->slots[0])) >= 0;
			if (!have)
				a->tpl_err = errno;
			continue;
		}
		m = mmap(NULL, FUZZ_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, cl, 0);
		if (m == MAP_FAILED) {
			a->map_err = errno;
			continue;
		}
		for (int i = 0; i < FUZZ_PAGES; i++)
			m[i * PAGE] ^= 1;
		munmap(m, FUZZ_PAGES * PAGE);
		a->maps++;
	}
	return NULL;
}

/*
 * Random ioctls that must leave no kernel warning behind: FUZZ_THREADS
 * threads at once on the device and a template, while another thread maps
 * and unmaps clones of it.
 */
static int t_random_ioctls(void)
{
	struct fuzz_arg args[FUZZ_THREADS + 1];
	pthread_t th[FUZZ_THREADS + 1];
	struct katasbx_template_create t;
	int kfd = kopen(), base, slots[3], i;

	CHECK(kfd >= 0);
	CHECK(kmsg_bad() >= 0);
	CHECK(tpl_create(kfd, FUZZ_PAGES * PAGE, 43, &t) == 0);
	slots[0] = dup(0);	/* held for the mapper, below what the calls close */
	slots[1] = dup(0);
	slots[2] = make_source(FUZZ_PAGES * PAGE, 44);
	CHECK(slots[2] >= 0);
	base = dup(0);
	close(base);
	fuzz_done = 0;
	for (i = 0; i <= FUZZ_THREADS; i++) {
		args[i] = (struct fuzz_arg){ .kfd = kfd, .tfd = t.fd, .base = base,
					     .seed = 0x12345678 + 977 * (uint64_t)i,
					     .slots = { slots[0], slots[1], slots[2] } };
		CHECK(pthread_create(&th[i], NULL, i < FUZZ_THREADS ? fuzz_calls : fuzz_maps,
				     &args[i]) == 0);
	}
	for (i = 0; i < FUZZ_THREADS; i++)
		pthread_join(th[i], NULL);
	fuzz_done = 1;
	pthread_join(th[FUZZ_THREADS], NULL);
	syscall(SYS_close_range, slots[0], ~0U, 0);
	printf("# %d ioctl calls from %d threads at once, %ld clones mapped and unmapped meanwhile\n",
	       FUZZ_THREADS * FUZZ_CALLS, FUZZ_THREADS, args[FUZZ_THREADS].maps);
	if (!args[FUZZ_THREADS].maps)
		printf("# the mapper's last errors: clone open %s, template %s, mmap %s\n",
		       strerror(args[FUZZ_THREADS].open_err), strerror(args[FUZZ_THREADS].tpl_err),
		       strerror(args[FUZZ_THREADS].map_err));
	CHECK(args[FUZZ_THREADS].maps > 0);
	/* A persistent template the calls made would outlive this case. */
	CHECK(destroy_all_persistent(kfd) == 0);
	CHECK(kmsg_bad() == 0);
	return KT_PASS;
}

static const struct kt_case cases[] = {
	{ "version_features", t_version, 0 },
	{ "unknown_ioctl_enotty", t_unknown_ioctl, 0 },
	{ "counters", t_counters, 0 },
	{ "random_ioctls_100k_4_threads_clones_mapped", t_random_ioctls, 600 },
};

KT_MAIN(cases, kx_skip_reason())
