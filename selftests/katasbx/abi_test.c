// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of /dev/katasbx: the ABI (version and features, unknown ioctls,
 * counters) and a bounded loop of random ioctls that must leave no kernel
 * warning behind. Runs inside the test VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
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

static int t_random_ioctls(void)
{
	const long calls = 100000;
	struct katasbx_template_create t;
	uint64_t buf[32], seed = 0x12345678;
	int kfd = kopen(), base, fd, i;
	long n;

	CHECK(kfd >= 0);
	CHECK(kmsg_bad() >= 0);
	CHECK(tpl_create(kfd, 16 * PAGE, 43, &t) == 0);
	base = dup(0);
	close(base);
	for (n = 0; n < calls; n++) {
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
		fd = (seed >> 16) & 1 ? t.fd : kfd;
		if ((seed >> 17) % 64 == 0)
			ioctl(fd, cmd, (void *)(uintptr_t)(seed & ~0xfffULL));
		else
			ioctl(fd, cmd, buf);
		if (n % 256 == 255)
			syscall(SYS_close_range, base, ~0U, 0);
	}
	syscall(SYS_close_range, base, ~0U, 0);
	printf("# %ld ioctl calls\n", calls);
	/* A persistent template the calls made would outlive this case. */
	CHECK(destroy_all_persistent(kfd) == 0);
	CHECK(kmsg_bad() == 0);
	return KT_PASS;
}

static const struct kt_case cases[] = {
	{ "version_features", t_version, 0 },
	{ "unknown_ioctl_enotty", t_unknown_ioctl, 0 },
	{ "counters", t_counters, 0 },
	{ "random_ioctls_100k", t_random_ioctls, 600 },
};

KT_MAIN(cases, kx_skip_reason())
