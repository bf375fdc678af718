// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of /dev/katasbx clones: contents by mmap and pread, copy-on-write
 * isolation, page sharing seen in smaps, what a clone refuses (shared
 * writable mappings, write(), mappings past the end), lseek, concurrent
 * clones, fault-ahead, and a printed 64 MiB touch measurement.
 * Runs inside the test VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>

#include "katasbx_util.h"
#include "ktap.h"

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

static const struct kt_case cases[] = {
	{ "clone_contents", t_clone_contents, 0 },
	{ "cow_isolation", t_cow_isolation, 0 },
	{ "pages_shared_smaps", t_pages_shared, 0 },
	{ "shared_writable_refused", t_shared_writable_refused, 0 },
	{ "write_refused", t_write_refused, 0 },
	{ "lseek_end_size", t_lseek_end, 0 },
	{ "mmap_past_end_refused", t_mmap_past_end, 0 },
	{ "parallel_clones", t_parallel_clones, 0 },
	{ "fault_ahead_on_off", t_fault_ahead, 0 },
	{ "measure_64mib_touch", t_measure, 600 },
};

KT_MAIN(cases, kx_skip_reason())
