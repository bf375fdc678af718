// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of /dev/katasbx templates: bad arguments of TEMPLATE_CREATE, the
 * byte limit, a template's lifetime (handle, clones, mappings), persistent
 * templates, tags, lookup and destroy, and the capability checks.
 * Runs inside the test VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "katasbx_util.h"
#include "ktap.h"

/* Drops every capability of this process (it stays uid 0). */
static int drop_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	return syscall(SYS_capset, &h, d);
}

/* ---- creation and lifetime ---- */

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

static const struct kt_case cases[] = {
	{ "template_bad_flags_reserved_offset", t_tpl_bad_flags_reserved, 0 },
	{ "template_bad_fd", t_tpl_bad_fd, 0 },
	{ "template_bad_size", t_tpl_bad_size, 0 },
	{ "template_over_limit", t_tpl_over_limit, 0 },
	{ "template_lifetime", t_template_lifetime, 0 },
	{ "persist_survives_creator_exit", t_persist_survives_exit, 0 },
	{ "persist_destroy_while_mapped", t_persist_destroy_while_mapped, 0 },
	{ "lookup_tags_list_v1", t_lookup_tags, 0 },
	{ "persist_errors_caps", t_persist_errors, 0 },
};

KT_MAIN(cases, kx_skip_reason())
