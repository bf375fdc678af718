// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of /dev/katasbx (kmod/): the ioctl ABI, clone copy-on-write,
 * object lifetimes, concurrency and a bounded random-ioctl loop.
 * Runs inside the test VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <linux/katasbx.h>

#include "ktap.h"

#define PAGE		4096UL
#define MIB		(1024UL * 1024)
#define DEV		KATASBX_DEVICE
#define CG_ROOT		"/sys/fs/cgroup"
#define CG_TEST		CG_ROOT "/katasbx-selftest"

static int kopen(void)
{
	return open(DEV, O_RDWR | O_CLOEXEC);
}

static uint64_t pattern(uint64_t page, uint64_t seed)
{
	return (page * 0x9e3779b97f4a7c15ULL) ^ seed ^ 0x5555aaaa5555aaaaULL;
}

/* A memfd of @size bytes; every page starts with pattern(page), page 3 is zero. */
static int make_source(size_t size, uint64_t seed)
{
	int fd = memfd_create("katasbx-src", MFD_CLOEXEC);
	char *p;
	size_t i;

	if (fd < 0 || ftruncate(fd, size) < 0)
		return -1;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	for (i = 0; i < size / PAGE; i++) {
		if (i == 3)
			continue;
		*(uint64_t *)(p + i * PAGE) = pattern(i, seed);
		p[i * PAGE + PAGE - 1] = (char)i;
	}
	munmap(p, size);
	return fd;
}

static bool page_ok(const char *p, size_t i, uint64_t seed)
{
	if (i == 3)
		return *(const uint64_t *)p == 0 && p[PAGE - 1] == 0;
	return *(const uint64_t *)p == pattern(i, seed) && p[PAGE - 1] == (char)i;
}

static int tpl_create(int kfd, size_t size, uint64_t seed, struct katasbx_template_create *req)
{
	int src = make_source(size, seed), r;

	if (src < 0)
		return -1;
	memset(req, 0, sizeof(*req));
	req->src_fd = src;
	req->size = size;
	r = ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, req);
	close(src);
	return r;
}

/* Opens a clone by path: devtmpfs's node, else one made in /tmp. */
static int clone_open(const struct katasbx_template_create *t, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/katasbx-t%u", t->id);
	fd = open(path, flags | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	snprintf(path, sizeof(path), "/tmp/katasbx-t%u", t->id);
	unlink(path);
	if (mknod(path, S_IFCHR | 0600, makedev(t->dev_major, t->dev_minor)) < 0)
		return -1;
	return open(path, flags | O_CLOEXEC);
}

static int counters(struct katasbx_counters *c)
{
	int kfd = kopen(), r;

	if (kfd < 0)
		return -1;
	r = ioctl(kfd, KATASBX_IOC_COUNTERS, c);
	close(kfd);
	return r;
}


static void tag_of(uint8_t tag[KATASBX_TAG_LEN], const char *s)
{
	size_t n = strlen(s);

	memset(tag, 0, KATASBX_TAG_LEN);
	memcpy(tag, s, n < KATASBX_TAG_LEN ? n : KATASBX_TAG_LEN);
}

/* tpl_create() with flags and a tag (NULL: untagged). */
static int tpl_create_tagged(int kfd, size_t size, uint64_t seed, uint32_t flags,
			     const char *tag, struct katasbx_template_create *req)
{
	int src = make_source(size, seed), r;

	if (src < 0)
		return -1;
	memset(req, 0, sizeof(*req));
	req->src_fd = src;
	req->size = size;
	req->flags = flags;
	if (tag)
		tag_of(req->tag, tag);
	r = ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, req);
	close(src);
	return r;
}

static int lookup_tag(int kfd, const char *tag, struct katasbx_template_lookup *l)
{
	memset(l, 0, sizeof(*l));
	tag_of(l->tag, tag);
	return ioctl(kfd, KATASBX_IOC_TEMPLATE_LOOKUP, l);
}

static int destroy_tag(int kfd, const char *tag)
{
	struct katasbx_template_destroy d = { .flags = KATASBX_DESTROY_F_BY_TAG };

	tag_of(d.tag, tag);
	return ioctl(kfd, KATASBX_IOC_TEMPLATE_DESTROY, &d);
}

static int destroy_id(int kfd, uint32_t id)
{
	struct katasbx_template_destroy d = { .id = id };

	return ioctl(kfd, KATASBX_IOC_TEMPLATE_DESTROY, &d);
}

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

/* Drops every capability of this process (it stays uid 0). */
static int drop_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	return syscall(SYS_capset, &h, d);
}

/* ---- ABI ---- */

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

static int t_tpl_bad_flags_reserved(void)
{
	struct katasbx_template_create t = {};
	int kfd = kopen(), src = make_source(4 * PAGE, 0);

	CHECK(kfd >= 0 && src >= 0);
	t.src_fd = src;
	t.size = 4 * PAGE;
	t.flags = 4;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EINVAL);
	t.flags = 0x80000000;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EINVAL);
	t.flags = 0;
	t.reserved[3] = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EINVAL);
	t.reserved[3] = 0;
	t.src_offset = 100;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EINVAL);
	t.src_offset = 0;
	CHECK(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t) == 0);
	return KT_PASS;
}

static int t_tpl_bad_fd(void)
{
	struct katasbx_template_create t = {};
	int kfd = kopen(), wo;

	CHECK(kfd >= 0);
	t.size = 4 * PAGE;
	t.src_fd = -1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EBADF);
	t.src_fd = 1000;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EBADF);
	CHECK((wo = open("/dev/null", O_WRONLY)) >= 0);
	t.src_fd = wo;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EBADF);
	t.src_fd = open("/", O_PATH);
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EBADF);
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, (void *)16), EFAULT);
	return KT_PASS;
}

static int t_tpl_bad_size(void)
{
	struct katasbx_template_create t = {};
	int kfd = kopen(), src = make_source(4 * PAGE, 0);

	CHECK(kfd >= 0 && src >= 0);
	t.src_fd = src;
	t.size = 0;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EINVAL);
	t.size = PAGE + 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EINVAL);
	t.size = 100;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EINVAL);
	t.size = ~0ULL & ~(PAGE - 1);
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), E2BIG);
	/* Longer than the source: refused, nothing left behind. */
	t.size = 8 * PAGE;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EINVAL);
	t.size = 4 * PAGE;
	t.src_offset = PAGE;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), EINVAL);
	return KT_PASS;
}

static int t_tpl_over_limit(void)
{
	struct katasbx_template_create t = {};
	struct katasbx_counters c0, c1;
	int kfd = kopen(), src = memfd_create("big", 0);

	CHECK(kfd >= 0 && src >= 0);
	CHECK(counters(&c0) == 0);
	t.src_fd = src;
	t.size = c0.template_bytes_limit + PAGE;
	CHECK(ftruncate(src, t.size) == 0);	/* sparse: costs nothing */
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t), E2BIG);
	CHECK(counters(&c1) == 0);
	CHECK(c1.templates == c0.templates && c1.template_bytes == c0.template_bytes);
	return KT_PASS;
}

/* ---- clones ---- */

static int t_clone_contents(void)
{
	const size_t size = 16 * MIB;
	struct katasbx_template_create t;
	struct katasbx_template_info info;
	int kfd = kopen(), cl;
	char buf[PAGE];
	size_t i;
	char *p;

	CHECK(kfd >= 0);
	CHECK(tpl_create(kfd, size, 7, &t) == 0);
	CHECK(t.fd >= 0 && t.id < 256);
	CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, cl, 0);
	CHECK(p != MAP_FAILED);
	for (i = 0; i < size / PAGE; i++)
		CHECK(page_ok(p + i * PAGE, i, 7));
	for (i = 0; i < size / PAGE; i += 97) {
		CHECK(pread(cl, buf, PAGE, i * PAGE) == PAGE);
		CHECK(page_ok(buf, i, 7));
	}
	CHECK(pread(cl, buf, PAGE, size) == 0);
	/* An offset mapping sees the right pages. */
	CHECK(munmap(p, size) == 0);
	p = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE, cl, 10 * PAGE);
	CHECK(p != MAP_FAILED);
	CHECK(page_ok(p, 10, 7) && page_ok(p + 3 * PAGE, 13, 7));
	CHECK(ioctl(t.fd, KATASBX_IOC_TEMPLATE_INFO, &info) == 0);
	CHECK(info.id == t.id && info.size == size && info.clones_open == 1);
	CHECK(info.dev_major == t.dev_major && info.dev_minor == t.dev_minor);
	return KT_PASS;
}

static int t_cow_isolation(void)
{
	const size_t size = 16 * MIB;
	struct katasbx_template_create t;
	int kfd = kopen(), a, b, c;
	char *pa, *pb, *pc;
	size_t i;

	CHECK(kfd >= 0);
	CHECK(tpl_create(kfd, size, 11, &t) == 0);
	CHECK((a = clone_open(&t, O_RDWR)) >= 0);
	CHECK((b = clone_open(&t, O_RDWR)) >= 0);
	pa = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, a, 0);
	pb = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, b, 0);
	CHECK(pa != MAP_FAILED && pb != MAP_FAILED);
	madvise(pa, size, MADV_HUGEPAGE);
	/* B reads first so it has the template pages mapped when A writes. */
	for (i = 0; i < size / PAGE; i++)
		CHECK(page_ok(pb + i * PAGE, i, 11));
	/* Every page, plus bytes straddling each 2 MiB boundary. */
	for (i = 0; i < size / PAGE; i++)
		*(uint64_t *)(pa + i * PAGE) = ~pattern(i, 11);
	for (i = 2 * MIB; i < size; i += 2 * MIB)
		memset(pa + i - 8, 0xa5, 16);
	for (i = 0; i < size / PAGE; i++) {
		if (i % (2 * MIB / PAGE))
			CHECK(*(uint64_t *)(pa + i * PAGE) == ~pattern(i, 11));
		else if (i)
			CHECK(*(uint64_t *)(pa + i * PAGE) == 0xa5a5a5a5a5a5a5a5ULL &&
			      (unsigned char)pa[i * PAGE - 1] == 0xa5);
		CHECK(page_ok(pb + i * PAGE, i, 11));
	}
	CHECK((c = clone_open(&t, O_RDONLY)) >= 0);
	pc = mmap(NULL, size, PROT_READ, MAP_PRIVATE, c, 0);
	CHECK(pc != MAP_FAILED);
	for (i = 0; i < size / PAGE; i++)
		CHECK(page_ok(pc + i * PAGE, i, 11));
	/* B writes too; A keeps its own data. */
	memset(pb, 0x11, size);
	for (i = 1; i < size / PAGE; i += 13)
		if (i % (2 * MIB / PAGE))
			CHECK(*(uint64_t *)(pa + i * PAGE) == ~pattern(i, 11));
	return KT_PASS;
}

/* Sums a field (kB) over the smaps entries of the mapping at @addr. */
static long smaps_kb(void *addr, const char *field)
{
	char line[256], want[64];
	unsigned long start, end;
	bool in = false;
	long kb = -1, v;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%s: %%ld kB", field);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (unsigned long)addr >= start && (unsigned long)addr < end;
			continue;
		}
		if (in && sscanf(line, want, &v) == 1)
			kb = (kb < 0 ? 0 : kb) + v;
	}
	fclose(f);
	return kb;
}

static int t_pages_shared(void)
{
	const size_t size = 16 * MIB;
	struct katasbx_template_create t;
	int kfd = kopen(), a, b;
	volatile char *pa, *pb;
	long rss, shared, anon;
	size_t i;
	char s = 0;

	CHECK(kfd >= 0);
	CHECK(tpl_create(kfd, size, 13, &t) == 0);
	CHECK((a = clone_open(&t, O_RDWR)) >= 0);
	CHECK((b = clone_open(&t, O_RDWR)) >= 0);
	pa = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, a, 0);
	pb = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, b, 0);
	CHECK(pa != MAP_FAILED && pb != MAP_FAILED);
	for (i = 0; i < size; i += PAGE)
		s += pa[i] + pb[i];
	/* Template pages are shmem page cache: counted Shared_(Clean|Dirty). */
	rss = smaps_kb((void *)pa, "Rss");
	shared = smaps_kb((void *)pa, "Shared_Clean") + smaps_kb((void *)pa, "Shared_Dirty");
	anon = smaps_kb((void *)pa, "Anonymous");
	printf("# after reads: Rss %ld kB, Shared %ld kB, Anonymous %ld kB, Private_Dirty %ld kB (%d)\n",
	       rss, shared, anon, smaps_kb((void *)pa, "Private_Dirty"), s);
	CHECK(rss >= (long)(size / 1024) * 9 / 10);
	CHECK(shared >= (long)(size / 1024) * 9 / 10);
	CHECK(anon <= 64 && smaps_kb((void *)pa, "Private_Dirty") <= 64);
	for (i = 0; i < size; i += PAGE)
		pa[i] = 1;
	anon = smaps_kb((void *)pa, "Anonymous");
	printf("# after writes: Anonymous %ld kB, Private_Dirty %ld kB\n", anon,
	       smaps_kb((void *)pa, "Private_Dirty"));
	CHECK(anon >= (long)(size / 1024) * 9 / 10);
	CHECK(smaps_kb((void *)pb, "Anonymous") <= 64);
	return KT_PASS;
}

static int t_shared_writable_refused(void)
{
	struct katasbx_template_create t;
	int kfd = kopen(), cl, ro;
	char *p;

	CHECK(kfd >= 0);
	CHECK(tpl_create(kfd, 16 * PAGE, 17, &t) == 0);
	CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
	CHECK_ERR(mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, cl, 0) == MAP_FAILED
		  ? -1 : 0, EACCES);
	/* Read-only but could be mprotect()ed writable: refused as well. */
	CHECK_ERR(mmap(NULL, 16 * PAGE, PROT_READ, MAP_SHARED, cl, 0) == MAP_FAILED ? -1 : 0,
		  EACCES);
	CHECK((ro = clone_open(&t, O_RDONLY)) >= 0);
	p = mmap(NULL, 16 * PAGE, PROT_READ, MAP_SHARED, ro, 0);
	CHECK(p != MAP_FAILED);
	CHECK(page_ok(p, 0, 17) && page_ok(p + 15 * PAGE, 15, 17));
	CHECK_ERR(mprotect(p, 16 * PAGE, PROT_READ | PROT_WRITE), EACCES);
	return KT_PASS;
}

static int t_write_refused(void)
{
	struct katasbx_template_create t;
	int kfd = kopen(), cl;
	char buf[PAGE] = {1};

	CHECK(kfd >= 0);
	CHECK(tpl_create(kfd, 4 * PAGE, 19, &t) == 0);
	CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
	CHECK_ERR(write(cl, buf, sizeof(buf)), EPERM);
	CHECK_ERR(pwrite(cl, buf, sizeof(buf), 0), EPERM);
	CHECK_ERR(ftruncate(cl, 0), EINVAL);
	CHECK(pread(cl, buf, PAGE, 0) == PAGE && page_ok(buf, 0, 19));
	return KT_PASS;
}

static int t_lseek_end(void)
{
	struct katasbx_template_create t;
	int kfd = kopen(), cl;

	CHECK(kfd >= 0);
	CHECK(tpl_create(kfd, 24 * PAGE, 23, &t) == 0);
	CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
	CHECK(lseek(cl, 0, SEEK_END) == (off_t)(24 * PAGE));
	CHECK(lseek(cl, -PAGE, SEEK_END) == (off_t)(23 * PAGE));
	CHECK(lseek(cl, PAGE, SEEK_SET) == (off_t)PAGE);
	CHECK(lseek(cl, PAGE, SEEK_CUR) == (off_t)(2 * PAGE));
	CHECK_ERR(lseek(cl, -1, SEEK_SET), EINVAL);
	return KT_PASS;
}

static int t_mmap_past_end(void)
{
	struct katasbx_template_create t;
	int kfd = kopen(), cl;
	void *p;

	CHECK(kfd >= 0);
	CHECK(tpl_create(kfd, 8 * PAGE, 29, &t) == 0);
	CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
	CHECK_ERR(mmap(NULL, 9 * PAGE, PROT_READ, MAP_PRIVATE, cl, 0) == MAP_FAILED ? -1 : 0,
		  EINVAL);
	CHECK_ERR(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, cl, 8 * PAGE) == MAP_FAILED ? -1 : 0,
		  EINVAL);
	CHECK_ERR(mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, cl, 7 * PAGE) == MAP_FAILED ? -1 : 0,
		  EINVAL);
	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, cl, 7 * PAGE);
	CHECK(p != MAP_FAILED && page_ok(p, 7, 29));
	return KT_PASS;
}

static int t_template_lifetime(void)
{
	struct katasbx_counters c0, c1;
	struct katasbx_template_create t;
	int kfd = kopen(), cl, cl2;
	char *p;
	size_t i;

	CHECK(kfd >= 0);
	CHECK(counters(&c0) == 0);
	CHECK(tpl_create(kfd, 64 * PAGE, 31, &t) == 0);
	CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
	CHECK(close(t.fd) == 0);
	/* Unpublished: no new clones, the old one still works. */
	errno = 0;
	cl2 = clone_open(&t, O_RDWR);
	CHECK(cl2 < 0 && (errno == ENXIO || errno == ENOENT));
	CHECK(counters(&c1) == 0);
	CHECK(c1.templates == c0.templates + 1);
	/* A mapping holds its clone file, so the template stays until munmap. */
	p = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, cl, 0);
	CHECK(p != MAP_FAILED);
	CHECK(close(cl) == 0);
	for (i = 0; i < 64; i++)
		CHECK(page_ok(p + i * PAGE, i, 31));
	p[0] = 9;
	CHECK(counters(&c1) == 0);
	CHECK(c1.templates == c0.templates + 1 && c1.clones_open == c0.clones_open + 1);
	CHECK(munmap(p, 64 * PAGE) == 0);
	CHECK(counters(&c1) == 0);
	CHECK(c1.templates == c0.templates && c1.template_bytes == c0.template_bytes);
	CHECK(c1.clones_open == c0.clones_open);
	return KT_PASS;
}

/* Reads one byte a page; returns the minor faults it took. */
static long read_touch(int fd, size_t size, uint64_t seed, bool *ok)
{
	struct rusage r0, r1;
	size_t i;
	char *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	getrusage(RUSAGE_SELF, &r0);
	for (i = 0; i < size / PAGE; i++)
		if (!page_ok(p + i * PAGE, i, seed))
			*ok = false;
	getrusage(RUSAGE_SELF, &r1);
	munmap(p, size);
	return r1.ru_minflt - r0.ru_minflt;
}

static int t_fault_ahead(void)
{
	const size_t size = 16 * MIB;
	struct katasbx_template_create t, off;
	struct katasbx_template_info info;
	long f1, f2, g1, g2;
	int kfd = kopen(), cl;
	bool ok = true;

	CHECK(kfd >= 0);
	CHECK(tpl_create(kfd, size, 53, &t) == 0);
	CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
	f1 = read_touch(cl, size, 53, &ok);
	CHECK(close(cl) == 0 && (cl = clone_open(&t, O_RDWR)) >= 0);
	f2 = read_touch(cl, size, 53, &ok);
	CHECK(ok && f1 > 0 && f2 >= 0);
	CHECK(ioctl(t.fd, KATASBX_IOC_TEMPLATE_INFO, &info) == 0);
	printf("# fault-ahead on: first clone %ld faults, second %ld; recorded %llu pages, "
	       "%llu offered ahead\n", f1, f2, (unsigned long long)info.recorded_pages,
	       (unsigned long long)info.ahead_pages);
	CHECK(info.recorded_pages >= size / PAGE * 9 / 10 && info.ahead_pages > 0);
	CHECK(f2 * 4 < f1);

	memset(&off, 0, sizeof(off));
	off.src_fd = make_source(size, 59);
	off.size = size;
	off.flags = KATASBX_TEMPLATE_F_NO_FAULT_AHEAD;
	CHECK(off.src_fd >= 0 && ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &off) == 0);
	CHECK((cl = clone_open(&off, O_RDWR)) >= 0);
	g1 = read_touch(cl, size, 59, &ok);
	CHECK(close(cl) == 0 && (cl = clone_open(&off, O_RDWR)) >= 0);
	g2 = read_touch(cl, size, 59, &ok);
	CHECK(ok);
	CHECK(ioctl(off.fd, KATASBX_IOC_TEMPLATE_INFO, &info) == 0);
	printf("# fault-ahead off: first clone %ld faults, second %ld\n", g1, g2);
	CHECK(info.flags == KATASBX_TEMPLATE_F_NO_FAULT_AHEAD);
	CHECK(info.recorded_pages == 0 && info.ahead_pages == 0);
	CHECK(g2 * 2 > g1);
	return KT_PASS;
}

struct clone_thread_arg {
	struct katasbx_template_create *t;
	int rounds;
	int fails;
};

static void *clone_thread(void *v)
{
	struct clone_thread_arg *a = v;
	int i, fd;
	char *p;

	for (i = 0; i < a->rounds; i++) {
		fd = clone_open(a->t, O_RDWR);
		if (fd < 0) {
			a->fails++;
			continue;
		}
		p = mmap(NULL, 32 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		close(fd);
		if (p == MAP_FAILED || !page_ok(p + 5 * PAGE, 5, 37)) {
			a->fails++;
			continue;
		}
		p[5 * PAGE] = 0;
		munmap(p, 32 * PAGE);
	}
	return NULL;
}

static int t_parallel_clones(void)
{
	struct clone_thread_arg args[4];
	struct katasbx_template_create t;
	struct katasbx_counters c0, c1;
	pthread_t th[4];
	int kfd = kopen(), i;

	CHECK(kfd >= 0);
	CHECK(tpl_create(kfd, 32 * PAGE, 37, &t) == 0);
	CHECK(counters(&c0) == 0);
	for (i = 0; i < 4; i++) {
		args[i] = (struct clone_thread_arg){ .t = &t, .rounds = 200 };
		CHECK(pthread_create(&th[i], NULL, clone_thread, &args[i]) == 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].fails == 0);
	}
	CHECK(counters(&c1) == 0);
	CHECK(c1.clones_total == c0.clones_total + 800 && c1.clones_open == c0.clones_open);
	return KT_PASS;
}


/* ---- persistent templates, tags, lookup, destroy ---- */

static int t_persist_survives_exit(void)
{
	struct katasbx_template_create t;
	struct katasbx_template_lookup l;
	struct katasbx_counters c0, c1;
	int kfd = kopen(), status, cl;
	char *p;
	pid_t pid;
	size_t i;

	CHECK(kfd >= 0);
	CHECK(counters(&c0) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int k = kopen();

		/* The creator exits with its handle and device fd still open. */
		_exit(k >= 0 && tpl_create_tagged(k, 32 * PAGE, 51, KATASBX_TEMPLATE_F_PERSIST,
						    "ksft-persist", &t) == 0 ? 0 : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(lookup_tag(kfd, "ksft-persist", &l) == 0);
	CHECK(l.size == 32 * PAGE && (l.tpl_flags & KATASBX_TEMPLATE_F_PERSIST));
	CHECK(l.clones_open == 0 && l.pad == 0);
	CHECK(!strcmp((char *)l.tag, "ksft-persist"));
	memset(&t, 0, sizeof(t));
	t.id = l.id;
	t.dev_major = l.dev_major;
	t.dev_minor = l.dev_minor;
	CHECK(counters(&c1) == 0);
	CHECK(c1.templates == c0.templates + 1 && c1.template_bytes == c0.template_bytes + 32 * PAGE);
	CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
	p = mmap(NULL, 32 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, cl, 0);
	CHECK(p != MAP_FAILED);
	for (i = 0; i < 32; i++)
		CHECK(page_ok(p + i * PAGE, i, 51));
	CHECK(munmap(p, 32 * PAGE) == 0 && close(cl) == 0);
	/* Still there with no clone open and no process holding anything. */
	CHECK(lookup_tag(kfd, "ksft-persist", &l) == 0 && l.clones_total == 1);
	CHECK(destroy_tag(kfd, "ksft-persist") == 0);
	CHECK_ERR(lookup_tag(kfd, "ksft-persist", &l), ENOENT);
	errno = 0;
	cl = clone_open(&t, O_RDWR);
	CHECK(cl < 0 && (errno == ENXIO || errno == ENOENT));
	CHECK(counters(&c1) == 0);
	CHECK(c1.templates == c0.templates && c1.template_bytes == c0.template_bytes);
	/* The tag is free again. */
	CHECK(tpl_create_tagged(kfd, 4 * PAGE, 52, KATASBX_TEMPLATE_F_PERSIST, "ksft-persist",
				&t) == 0);
	CHECK(close(t.fd) == 0);
	CHECK(destroy_id(kfd, t.id) == 0);
	return KT_PASS;
}

static int t_persist_destroy_while_mapped(void)
{
	struct katasbx_template_create t;
	struct katasbx_counters c0, c1;
	struct katasbx_template_destroy d = {};
	int kfd = kopen(), cl, cl2;
	char *p, *q;
	size_t i;

	CHECK(kfd >= 0);
	CHECK(counters(&c0) == 0);
	CHECK(tpl_create_tagged(kfd, 64 * PAGE, 53, KATASBX_TEMPLATE_F_PERSIST, "ksft-mapped",
				&t) == 0);
	CHECK(close(t.fd) == 0);
	CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
	CHECK((cl2 = clone_open(&t, O_RDONLY)) >= 0);
	p = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, cl, 0);
	CHECK(p != MAP_FAILED);
	CHECK(close(cl) == 0);
	p[5 * PAGE] = 1;	/* one page copied before the destroy */
	d.id = t.id;
	CHECK(ioctl(kfd, KATASBX_IOC_TEMPLATE_DESTROY, &d) == 0 && d.id == t.id);
	errno = 0;
	cl = clone_open(&t, O_RDWR);
	CHECK(cl < 0 && (errno == ENXIO || errno == ENOENT));
	/* The mapping and the open clone keep working. */
	for (i = 0; i < 64; i++)
		if (i != 5)
			CHECK(page_ok(p + i * PAGE, i, 53));
	CHECK(p[5 * PAGE] == 1);
	p[7 * PAGE] = 2;
	CHECK(p[7 * PAGE] == 2);
	q = mmap(NULL, 64 * PAGE, PROT_READ, MAP_PRIVATE, cl2, 0);
	CHECK(q != MAP_FAILED);
	CHECK(page_ok(q + 7 * PAGE, 7, 53) && page_ok(q + 5 * PAGE, 5, 53));
	CHECK(counters(&c1) == 0);
	CHECK(c1.templates == c0.templates + 1 && c1.clones_open == c0.clones_open + 2);
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_DESTROY, &d), ENOENT);
	CHECK(munmap(p, 64 * PAGE) == 0 && munmap(q, 64 * PAGE) == 0 && close(cl2) == 0);
	CHECK(counters(&c1) == 0);
	CHECK(c1.templates == c0.templates && c1.template_bytes == c0.template_bytes);
	CHECK(c1.clones_open == c0.clones_open);
	return KT_PASS;
}

static int t_lookup_tags(void)
{
	struct katasbx_template_create a, b, u, dup, t1 = {};
	struct katasbx_template_lookup l;
	int kfd = kopen(), src, seen = 0;

	CHECK(kfd >= 0);
	CHECK(tpl_create_tagged(kfd, 4 * PAGE, 54, 0, "ksft-tag-a", &a) == 0);
	CHECK(tpl_create_tagged(kfd, 8 * PAGE, 55, KATASBX_TEMPLATE_F_NO_FAULT_AHEAD,
				"ksft-tag-b", &b) == 0);
	CHECK(tpl_create_tagged(kfd, 4 * PAGE, 56, 0, NULL, &u) == 0);
	/* One published template per tag. */
	CHECK_ERR(tpl_create_tagged(kfd, 4 * PAGE, 57, 0, "ksft-tag-a", &dup), EEXIST);
	CHECK_ERR(tpl_create_tagged(kfd, 4 * PAGE, 57, KATASBX_TEMPLATE_F_PERSIST, "ksft-tag-b",
				    &dup), EEXIST);
	CHECK(lookup_tag(kfd, "ksft-tag-b", &l) == 0);
	CHECK(l.id == b.id && l.size == 8 * PAGE && l.dev_major == b.dev_major);
	CHECK(l.dev_minor == b.dev_minor && l.tpl_flags == KATASBX_TEMPLATE_F_NO_FAULT_AHEAD);
	CHECK(lookup_tag(kfd, "ksft-tag-a", &l) == 0 && l.id == a.id && l.size == 4 * PAGE);
	CHECK_ERR(lookup_tag(kfd, "ksft-tag-c", &l), ENOENT);
	/* A tag is 64 bytes compared as bytes: a prefix does not match. */
	CHECK_ERR(lookup_tag(kfd, "ksft-tag-", &l), ENOENT);
	/* Listing: every published template once, in id order. */
	memset(&l, 0, sizeof(l));
	l.flags = KATASBX_LOOKUP_F_NEXT;
	while (ioctl(kfd, KATASBX_IOC_TEMPLATE_LOOKUP, &l) == 0) {
		seen |= (l.id == a.id) | (l.id == b.id) << 1 | (l.id == u.id) << 2;
		if (l.id == u.id)
			CHECK(l.tag[0] == 0 && l.size == 4 * PAGE);
		l.id++;
	}
	CHECK(errno == ENOENT && seen == 7);
	memset(&l, 0, sizeof(l));
	l.flags = KATASBX_LOOKUP_F_NEXT;
	l.id = 1000;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_LOOKUP, &l), ENOENT);
	/* Bad arguments. */
	memset(&l, 0, sizeof(l));
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_LOOKUP, &l), EINVAL);	/* no tag */
	l.flags = 2;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_LOOKUP, &l), EINVAL);
	l.flags = KATASBX_LOOKUP_F_NEXT;
	l.reserved[1] = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_LOOKUP, &l), EINVAL);
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_LOOKUP, (void *)8), EFAULT);
	/* A handle-owned template's tag goes with its handle. */
	CHECK(close(a.fd) == 0);
	CHECK_ERR(lookup_tag(kfd, "ksft-tag-a", &l), ENOENT);
	CHECK(tpl_create_tagged(kfd, 4 * PAGE, 58, 0, "ksft-tag-a", &a) == 0);
	/* Version 1's ioctl number (struct without the tag) still works. */
	CHECK((src = make_source(4 * PAGE, 59)) >= 0);
	t1.src_fd = src;
	t1.size = 4 * PAGE;
	memset(t1.tag, 0xee, sizeof(t1.tag));	/* beyond version 1's struct: not read */
	CHECK(ioctl(kfd, _IOC(_IOC_READ | _IOC_WRITE, KATASBX_IOC_MAGIC, 0x01,
			      KATASBX_TEMPLATE_CREATE_SIZE_V1), &t1) == 0);
	CHECK(t1.fd >= 0 && t1.tag[0] == 0xee);
	memset(&l, 0, sizeof(l));
	l.flags = KATASBX_LOOKUP_F_NEXT;
	l.id = t1.id;
	CHECK(ioctl(kfd, KATASBX_IOC_TEMPLATE_LOOKUP, &l) == 0 && l.id == t1.id && l.tag[0] == 0);
	return KT_PASS;
}

static int t_persist_errors(void)
{
	struct katasbx_template_create t, h;
	struct katasbx_template_destroy d = {};
	struct katasbx_template_lookup l;
	int kfd = kopen(), status;
	pid_t pid;

	CHECK(kfd >= 0);
	CHECK(tpl_create_tagged(kfd, 4 * PAGE, 60, 0, "ksft-handle", &h) == 0);
	d.flags = 2;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_DESTROY, &d), EINVAL);
	d.flags = 0;
	d.reserved[0] = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_DESTROY, &d), EINVAL);
	d.reserved[0] = 0;
	d.flags = KATASBX_DESTROY_F_BY_TAG;	/* with an all-zero tag */
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_DESTROY, &d), EINVAL);
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_TEMPLATE_DESTROY, (void *)8), EFAULT);
	CHECK_ERR(destroy_id(kfd, 100000), ENOENT);
	CHECK_ERR(destroy_tag(kfd, "ksft-nothing"), ENOENT);
	/* A template owned by its handle is not the module's to destroy. */
	CHECK_ERR(destroy_id(kfd, h.id), EINVAL);
	CHECK_ERR(destroy_tag(kfd, "ksft-handle"), EINVAL);
	CHECK(lookup_tag(kfd, "ksft-handle", &l) == 0 && l.id == h.id);
	/* Persist and unknown flags together: EINVAL before the capability check. */
	CHECK_ERR(tpl_create_tagged(kfd, 4 * PAGE, 61, KATASBX_TEMPLATE_F_PERSIST | 4, NULL, &t),
		  EINVAL);
	CHECK(tpl_create_tagged(kfd, 4 * PAGE, 62, KATASBX_TEMPLATE_F_PERSIST, "ksft-caps",
				&t) == 0);

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct katasbx_template_create c;

		/* Without CAP_SYS_ADMIN, on a device fd opened with it. */
		if (drop_caps() < 0)
			_exit(10);
		if (tpl_create_tagged(kfd, 4 * PAGE, 63, KATASBX_TEMPLATE_F_PERSIST, "ksft-nocap",
				      &c) == 0 || errno != EPERM)
			_exit(11);
		if (destroy_tag(kfd, "ksft-caps") == 0 || errno != EPERM)
			_exit(12);
		if (destroy_id(kfd, t.id) == 0 || errno != EPERM)
			_exit(13);
		/* Plain templates and lookups need no capability. */
		if (tpl_create_tagged(kfd, 4 * PAGE, 64, 0, "ksft-nocap", &c) < 0)
			_exit(14);
		if (lookup_tag(kfd, "ksft-caps", &l) < 0 || l.id != t.id)
			_exit(15);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	if (WEXITSTATUS(status))
		printf("# unprivileged child failed at step %d\n", WEXITSTATUS(status));
	CHECK(WEXITSTATUS(status) == 0);
	/* Closing a persistent template's handle changes nothing. */
	CHECK(close(t.fd) == 0);
	CHECK(lookup_tag(kfd, "ksft-caps", &l) == 0);
	CHECK(destroy_tag(kfd, "ksft-caps") == 0);
	CHECK_ERR(destroy_tag(kfd, "ksft-caps"), ENOENT);
	return KT_PASS;
}

/* ---- CIDs ---- */

static int cid_reserve(int kfd, uint32_t flags, uint32_t cid, struct katasbx_cid_reserve *r)
{
	memset(r, 0, sizeof(*r));
	r->flags = flags;
	r->cid = cid;
	return ioctl(kfd, KATASBX_IOC_CID_RESERVE, r);
}

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

/* ---- cgroups ---- */

static int cg_setup(void)
{
	struct statfs sf;

	if (statfs(CG_ROOT, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC) {
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL) < 0)
			return -1;
	}
	if (mkdir(CG_TEST, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int cg_dir(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), CG_TEST "/%s", name);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int cg_add(int kfd, int dirfd, uint32_t flags)
{
	struct katasbx_cgroup_add a = { .dirfd = dirfd, .flags = flags };

	return ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a);
}

static int cg_take(int kfd, struct katasbx_cgroup_take *t)
{
	memset(t, 0, sizeof(*t));
	return ioctl(kfd, KATASBX_IOC_CGROUP_TAKE, t);
}

static int t_cgroup_bad_args(void)
{
	struct katasbx_cgroup_add a = {};
	struct katasbx_cgroup_take t = {};
	int kfd = kopen(), fd;

	CHECK(kfd >= 0);
	a.dirfd = -1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a), EBADF);
	CHECK((fd = open("/", O_RDONLY | O_DIRECTORY)) >= 0);
	a.dirfd = fd;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a), EINVAL);	/* not cgroup2 */
	CHECK((fd = open(DEV, O_RDONLY)) >= 0);
	a.dirfd = fd;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a), ENOTDIR);
	a.flags = 4;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a), EINVAL);
	a.flags = 0;
	a.pad = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a), EINVAL);
	t.flags = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_TAKE, &t), EINVAL);
	t.flags = 0;
	t.reserved[0] = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_CGROUP_TAKE, &t), EINVAL);
	return KT_PASS;
}

/* Drains the pool (from earlier cases) so the case sees only its own entries. */
static void cg_drain(int kfd)
{
	struct katasbx_cgroup_take t;

	while (cg_take(kfd, &t) == 0)
		;
}

static int t_cgroup_pool(void)
{
	struct katasbx_cgroup_take t1, t2, t3;
	struct katasbx_counters c0, c1;
	int kfd = kopen(), d1, d2;
	struct statfs sf;
	struct stat s1, s2;

	CHECK(kfd >= 0);
	KT_SKIP_IF(cg_setup() < 0, "no cgroup2 at " CG_ROOT ": %s", strerror(errno));
	cg_drain(kfd);
	CHECK(counters(&c0) == 0);
	CHECK((d1 = cg_dir("pool1")) >= 0 && (d2 = cg_dir("pool2")) >= 0);
	if (cg_add(kfd, d1, 0) < 0)
		CHECK(errno == EEXIST);		/* a rerun: still pooled */
	else
		CHECK(cg_add(kfd, d1, 0) < 0 && errno == EEXIST);
	CHECK(cg_add(kfd, d2, KATASBX_CGROUP_F_ONESHOT) == 0 || errno == EEXIST);
	CHECK(close(d2) == 0);			/* the pool keeps its own reference */
	CHECK(cg_take(kfd, &t1) == 0 && cg_take(kfd, &t2) == 0);
	CHECK_ERR(cg_take(kfd, &t3), EAGAIN);
	CHECK(fstatfs(t1.dir_fd, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC);
	CHECK(fcntl(t1.dir_fd, F_GETFD) == FD_CLOEXEC && fcntl(t1.lease_fd, F_GETFD) == FD_CLOEXEC);
	CHECK(fstat(t1.dir_fd, &s1) == 0 && S_ISDIR(s1.st_mode));
	CHECK((fcntl(t1.dir_fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
	CHECK(counters(&c1) == 0 && c1.cgroups_taken == c0.cgroups_taken + 2);
	/* Closing the directory fd does not return it; closing the lease does. */
	CHECK(close(t1.dir_fd) == 0 && close(t2.dir_fd) == 0);
	CHECK_ERR(cg_take(kfd, &t3), EAGAIN);
	CHECK(close(t1.lease_fd) == 0 && close(t2.lease_fd) == 0);
	CHECK(counters(&c1) == 0 && c1.cgroups_taken == c0.cgroups_taken);
	CHECK(cg_take(kfd, &t3) == 0);
	CHECK(fstat(t3.dir_fd, &s2) == 0);
	/* Only the non-oneshot entry came back. */
	CHECK_ERR(cg_take(kfd, &t1), EAGAIN);
	CHECK(fstat(d1, &s1) == 0 && s1.st_ino == s2.st_ino);
	return KT_PASS;
}

static int t_cgroup_clone_into(void)
{
	struct clone_args ca = {};
	struct katasbx_cgroup_take t;
	int kfd = kopen(), d, st;
	char line[256];
	pid_t pid;
	FILE *f;

	CHECK(kfd >= 0);
	KT_SKIP_IF(cg_setup() < 0, "no cgroup2 at " CG_ROOT ": %s", strerror(errno));
	cg_drain(kfd);
	CHECK((d = cg_dir("into")) >= 0);
	CHECK(cg_add(kfd, d, KATASBX_CGROUP_F_ONESHOT) == 0);
	CHECK(cg_take(kfd, &t) == 0);
	ca.flags = CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = t.dir_fd;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	CHECK(pid >= 0);
	if (pid == 0) {
		f = fopen("/proc/self/cgroup", "r");
		if (!f || !fgets(line, sizeof(line), f))
			_exit(2);
		_exit(strstr(line, "/katasbx-selftest/into") ? 0 : 3);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return KT_PASS;
}

static int t_cgroup_release_on_sigkill(void)
{
	struct katasbx_cgroup_take t;
	struct katasbx_counters c0, c1;
	int kfd = kopen(), d, p[2], st;
	pid_t pid;
	char ok;

	CHECK(kfd >= 0);
	KT_SKIP_IF(cg_setup() < 0, "no cgroup2 at " CG_ROOT ": %s", strerror(errno));
	cg_drain(kfd);
	CHECK((d = cg_dir("killed")) >= 0);
	CHECK(cg_add(kfd, d, 0) == 0);
	CHECK(counters(&c0) == 0);
	CHECK(pipe(p) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (cg_take(kfd, &t) < 0 || write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	CHECK(read(p[0], &ok, 1) == 1);
	CHECK_ERR(cg_take(kfd, &t), EAGAIN);
	CHECK(kill(pid, SIGKILL) == 0 && waitpid(pid, &st, 0) == pid);
	CHECK(counters(&c1) == 0 && c1.cgroups_taken == c0.cgroups_taken);
	CHECK(cg_take(kfd, &t) == 0);
	return KT_PASS;
}

/* ---- slots ---- */

static int t_slot(void)
{
	struct katasbx_template_create t;
	struct katasbx_slot s = {};
	struct katasbx_cid_reserve r;
	struct katasbx_counters c0, c1;
	int kfd = kopen(), d;
	bool have_cg;
	char *p;

	CHECK(kfd >= 0);
	CHECK(tpl_create(kfd, 64 * PAGE, 41, &t) == 0);
	s.template_id = t.id;
	s.flags = 8;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_SLOT, &s), EINVAL);
	s.flags = KATASBX_SLOT_F_NO_CGROUP;
	s.reserved[0] = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_SLOT, &s), EINVAL);
	s.reserved[0] = 0;
	s.template_id = (t.id + 1) % 256;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_SLOT, &s), ENOENT);
	s.template_id = t.id;
	CHECK(counters(&c0) == 0);
	CHECK(ioctl(kfd, KATASBX_IOC_SLOT, &s) == 0);
	CHECK(s.cgroup_lease_fd == -1 && s.cgroup_dir_fd == -1);
	CHECK(s.dev_major == t.dev_major && s.dev_minor == t.dev_minor);
	CHECK(lseek(s.clone_fd, 0, SEEK_END) == (off_t)(64 * PAGE));
	p = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, s.clone_fd, 0);
	CHECK(p != MAP_FAILED && page_ok(p + 40 * PAGE, 40, 41));
	CHECK_ERR(cid_reserve(kfd, KATASBX_CID_F_EXACT, s.cid, &r), EADDRINUSE);
	CHECK(counters(&c1) == 0);
	CHECK(c1.clones_open == c0.clones_open + 1 && c1.cids_in_use == c0.cids_in_use + 1);

	have_cg = cg_setup() == 0;
	if (have_cg) {
		cg_drain(kfd);
		/* Nothing in the pool: all or nothing, no CID or clone leaks. */
		memset(&s, 0, sizeof(s));
		s.template_id = t.id;
		CHECK_ERR(ioctl(kfd, KATASBX_IOC_SLOT, &s), EAGAIN);
		CHECK(counters(&c0) == 0);
		CHECK(c0.clones_open == c1.clones_open && c0.cids_in_use == c1.cids_in_use);
		CHECK((d = cg_dir("slot")) >= 0);
		CHECK(cg_add(kfd, d, KATASBX_CGROUP_F_ONESHOT) == 0);
		CHECK(ioctl(kfd, KATASBX_IOC_SLOT, &s) == 0);
		CHECK(s.cgroup_lease_fd >= 0 && s.cgroup_dir_fd >= 0 && s.clone_fd >= 0);
		CHECK(counters(&c1) == 0 && c1.cgroups_taken == c0.cgroups_taken + 1);
	} else {
		printf("# no cgroup2: slot checked without a cgroup\n");
	}
	return KT_PASS;
}

/* ---- robustness ---- */

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

/* ---- measurement (printed, not asserted) ---- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void touch(const char *label, int fd, size_t size)
{
	struct rusage r0, r1;
	volatile char s = 0;
	double t0, t1;
	size_t i;
	char *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		printf("# measure %s: mmap: %s\n", label, strerror(errno));
		return;
	}
	getrusage(RUSAGE_SELF, &r0);
	t0 = now_ms();
	for (i = 0; i < size; i += PAGE)
		s += p[i];
	for (i = 0; i < size; i += 16 * PAGE)	/* the guest writes some pages too */
		p[i] = s;
	t1 = now_ms();
	getrusage(RUSAGE_SELF, &r1);
	printf("# measure %-28s %zu MiB: %8.1f ms, %6ld minor faults\n", label, size / MIB,
	       t1 - t0, r1.ru_minflt - r0.ru_minflt);
	munmap(p, size);
}

static int t_measure(void)
{
	const size_t size = 64 * MIB;
	struct katasbx_template_create t;
	int kfd = kopen(), src, cl, i;

	CHECK(kfd >= 0);
	CHECK((src = make_source(size, 47)) >= 0);
	touch("memfd MAP_PRIVATE", src, size);
	for (i = 0; i < 2; i++) {
		memset(&t, 0, sizeof(t));
		t.src_fd = src;
		t.size = size;
		t.flags = i ? KATASBX_TEMPLATE_F_NO_FAULT_AHEAD : 0;
		CHECK(ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &t) == 0);
		CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
		touch(i ? "clone, fault-ahead off, 1st" : "clone, fault-ahead on, 1st", cl, size);
		close(cl);
		CHECK((cl = clone_open(&t, O_RDWR)) >= 0);
		touch(i ? "clone, fault-ahead off, 2nd" : "clone, fault-ahead on, 2nd", cl, size);
		close(cl);
		close(t.fd);
	}
	return KT_PASS;
}

/* ---- module unload and reload: last, needs KATASBX_KO ---- */

static int read_param(const char *name, char *out, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/katasbx/parameters/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static int t_unload_reload(void)
{
	static const char *const names[] = { "template_mem_mb", "cid_min", "cid_max",
					     "cgroup_pool_max" };
	const char *ko = getenv("KATASBX_KO");
	char params[512] = "", v[64];
	struct katasbx_template_create t;
	struct katasbx_cid_reserve r;
	int kfd, cfd, ko_fd, i;

	KT_SKIP_IF(!ko, "set KATASBX_KO to the module path to test unload and reload");
	CHECK((ko_fd = open(ko, O_RDONLY | O_CLOEXEC)) >= 0);
	for (i = 0; i < 4; i++) {
		CHECK(read_param(names[i], v, sizeof(v)) == 0);
		snprintf(params + strlen(params), sizeof(params) - strlen(params), "%s%s=%s",
			 i ? " " : "", names[i], v);
	}
	CHECK((kfd = kopen()) >= 0);
	CHECK_ERR(syscall(SYS_delete_module, "katasbx", O_NONBLOCK), EWOULDBLOCK);
	CHECK(close(kfd) == 0);
	/* An object outliving the device fd pins the module too. */
	CHECK((kfd = kopen()) >= 0 && cid_reserve(kfd, 0, 0, &r) == 0);
	CHECK(close(kfd) == 0);
	CHECK_ERR(syscall(SYS_delete_module, "katasbx", O_NONBLOCK), EWOULDBLOCK);
	cfd = r.fd;
	CHECK(close(cfd) == 0);
	/* So does a persistent template, with no fd open at all. */
	CHECK((kfd = kopen()) >= 0);
	CHECK(tpl_create_tagged(kfd, 4 * PAGE, 65, KATASBX_TEMPLATE_F_PERSIST, "ksft-unload",
				&t) == 0);
	CHECK(close(t.fd) == 0 && close(kfd) == 0);
	CHECK_ERR(syscall(SYS_delete_module, "katasbx", O_NONBLOCK), EWOULDBLOCK);
	CHECK((kfd = kopen()) >= 0 && destroy_tag(kfd, "ksft-unload") == 0 && close(kfd) == 0);
	CHECK(syscall(SYS_delete_module, "katasbx", O_NONBLOCK) == 0);
	CHECK(access(DEV, F_OK) < 0);
	CHECK(syscall(SYS_finit_module, ko_fd, params, 0) == 0);
	printf("# reloaded with %s\n", params);
	CHECK((kfd = kopen()) >= 0);
	CHECK(cid_reserve(kfd, 0, 0, &r) == 0);
	return KT_PASS;
}

static const struct kt_case cases[] = {
	{ "version_features", t_version, 0 },
	{ "unknown_ioctl_enotty", t_unknown_ioctl, 0 },
	{ "counters", t_counters, 0 },
	{ "template_bad_flags_reserved_offset", t_tpl_bad_flags_reserved, 0 },
	{ "template_bad_fd", t_tpl_bad_fd, 0 },
	{ "template_bad_size", t_tpl_bad_size, 0 },
	{ "template_over_limit", t_tpl_over_limit, 0 },
	{ "clone_contents", t_clone_contents, 0 },
	{ "cow_isolation", t_cow_isolation, 0 },
	{ "pages_shared_smaps", t_pages_shared, 0 },
	{ "shared_writable_refused", t_shared_writable_refused, 0 },
	{ "write_refused", t_write_refused, 0 },
	{ "lseek_end_size", t_lseek_end, 0 },
	{ "mmap_past_end_refused", t_mmap_past_end, 0 },
	{ "template_lifetime", t_template_lifetime, 0 },
	{ "parallel_clones", t_parallel_clones, 0 },
	{ "fault_ahead_on_off", t_fault_ahead, 0 },
	{ "cid_unique_in_range", t_cid_basic, 0 },
	{ "cid_bad_args", t_cid_bad_args, 0 },
	{ "cid_exact_in_use", t_cid_exact_in_use, 0 },
	{ "cid_release_on_close", t_cid_release_on_close, 0 },
	{ "cid_release_on_sigkill", t_cid_release_on_sigkill, 0 },
	{ "cid_threads_no_duplicates", t_cid_threads_unique, 0 },
	{ "cid_exhaustion_enospc", t_cid_exhaustion, 0 },
	{ "cgroup_bad_args", t_cgroup_bad_args, 0 },
	{ "cgroup_pool_take_return", t_cgroup_pool, 0 },
	{ "cgroup_clone_into_cgroup", t_cgroup_clone_into, 0 },
	{ "cgroup_release_on_sigkill", t_cgroup_release_on_sigkill, 0 },
	{ "slot", t_slot, 0 },
	{ "persist_survives_creator_exit", t_persist_survives_exit, 0 },
	{ "persist_destroy_while_mapped", t_persist_destroy_while_mapped, 0 },
	{ "lookup_tags_list_v1", t_lookup_tags, 0 },
	{ "persist_errors_caps", t_persist_errors, 0 },
	{ "random_ioctls_100k", t_random_ioctls, 600 },
	{ "measure_64mib_touch", t_measure, 600 },
	{ "unload_refused_reload", t_unload_reload, 0 },
};

int main(void)
{
	const int n = sizeof(cases) / sizeof(cases[0]);
	const char *skip = NULL;
	int fd = kopen();

	if (fd < 0)
		skip = errno == ENOENT ? DEV " is absent (module not loaded)" : "cannot open " DEV;
	else
		close(fd);
	return kt_main(cases, n, skip);
}
