// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the /dev/katasbx selftests; see katasbx_util.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "katasbx_util.h"

int kopen(void)
{
	return open(DEV, O_RDWR | O_CLOEXEC);
}

const char *kx_skip_reason(void)
{
	int fd = kopen();

	if (fd < 0)
		return errno == ENOENT ? DEV " is absent (module not loaded)" : "cannot open " DEV;
	close(fd);
	return NULL;
}

int counters(struct katasbx_counters *c)
{
	int kfd = kopen(), r;

	if (kfd < 0)
		return -1;
	r = ioctl(kfd, KATASBX_IOC_COUNTERS, c);
	close(kfd);
	return r;
}

uint64_t pattern(uint64_t page, uint64_t seed)
{
	return (page * 0x9e3779b97f4a7c15ULL) ^ seed ^ 0x5555aaaa5555aaaaULL;
}

/* A memfd of @size bytes; every page starts with pattern(page), page 3 is zero. */
int make_source(size_t size, uint64_t seed)
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

bool page_ok(const char *p, size_t i, uint64_t seed)
{
	if (i == 3)
		return *(const uint64_t *)p == 0 && p[PAGE - 1] == 0;
	return *(const uint64_t *)p == pattern(i, seed) && p[PAGE - 1] == (char)i;
}

void tag_of(uint8_t tag[KATASBX_TAG_LEN], const char *s)
{
	size_t n = strlen(s);

	memset(tag, 0, KATASBX_TAG_LEN);
	memcpy(tag, s, n < KATASBX_TAG_LEN ? n : KATASBX_TAG_LEN);
}

/* A template of a make_source() memfd, with @flags and @tag (NULL: untagged). */
int tpl_create_tagged(int kfd, size_t size, uint64_t seed, uint32_t flags, const char *tag,
		      struct katasbx_template_create *req)
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

int tpl_create(int kfd, size_t size, uint64_t seed, struct katasbx_template_create *req)
{
	return tpl_create_tagged(kfd, size, seed, 0, NULL, req);
}

/* Opens a clone by path: devtmpfs's node, else one made in /tmp. */
int clone_open(const struct katasbx_template_create *t, int flags)
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


int lookup_tag(int kfd, const char *tag, struct katasbx_template_lookup *l)
{
	memset(l, 0, sizeof(*l));
	tag_of(l->tag, tag);
	return ioctl(kfd, KATASBX_IOC_TEMPLATE_LOOKUP, l);
}

int destroy_tag(int kfd, const char *tag)
{
	struct katasbx_template_destroy d = { .flags = KATASBX_DESTROY_F_BY_TAG };

	tag_of(d.tag, tag);
	return ioctl(kfd, KATASBX_IOC_TEMPLATE_DESTROY, &d);
}

int destroy_id(int kfd, uint32_t id)
{
	struct katasbx_template_destroy d = { .id = id };

	return ioctl(kfd, KATASBX_IOC_TEMPLATE_DESTROY, &d);
}

int cid_reserve(int kfd, uint32_t flags, uint32_t cid, struct katasbx_cid_reserve *r)
{
	memset(r, 0, sizeof(*r));
	r->flags = flags;
	r->cid = cid;
	return ioctl(kfd, KATASBX_IOC_CID_RESERVE, r);
}

int cg_setup(void)
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

int cg_dir(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), CG_TEST "/%s", name);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int cg_add(int kfd, int dirfd, uint32_t flags)
{
	struct katasbx_cgroup_add a = { .dirfd = dirfd, .flags = flags };

	return ioctl(kfd, KATASBX_IOC_CGROUP_ADD, &a);
}

int cg_take(int kfd, struct katasbx_cgroup_take *t)
{
	memset(t, 0, sizeof(*t));
	return ioctl(kfd, KATASBX_IOC_CGROUP_TAKE, t);
}

void cg_drain(int kfd)
{
	struct katasbx_cgroup_take t;

	while (cg_take(kfd, &t) == 0)
		;
}
