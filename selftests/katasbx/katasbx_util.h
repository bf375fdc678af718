/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the /dev/katasbx selftests (katasbx_util.c is linked into
 * each test program): the device, template sources, clones, tags, CIDs and
 * the cgroup pool.
 */
#ifndef KATASBX_UTIL_H
#define KATASBX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/katasbx.h>

#define PAGE		4096UL
#define MIB		(1024UL * 1024)
#define DEV		KATASBX_DEVICE
#define CG_ROOT		"/sys/fs/cgroup"
#define CG_TEST		CG_ROOT "/katasbx-selftest"

int kopen(void);
/* NULL when DEV opens; else why every case of a program is skipped. */
const char *kx_skip_reason(void);
int counters(struct katasbx_counters *c);

/* Template sources: the bytes of page i are pattern(i, seed), page 3 is zero. */
uint64_t pattern(uint64_t page, uint64_t seed);
int make_source(size_t size, uint64_t seed);
bool page_ok(const char *p, size_t i, uint64_t seed);

int tpl_create(int kfd, size_t size, uint64_t seed, struct katasbx_template_create *req);
int tpl_create_tagged(int kfd, size_t size, uint64_t seed, uint32_t flags, const char *tag,
		      struct katasbx_template_create *req);
int clone_open(const struct katasbx_template_create *t, int flags);
void tag_of(uint8_t tag[KATASBX_TAG_LEN], const char *s);
int lookup_tag(int kfd, const char *tag, struct katasbx_template_lookup *l);
int destroy_tag(int kfd, const char *tag);
int destroy_id(int kfd, uint32_t id);

int cid_reserve(int kfd, uint32_t flags, uint32_t cid, struct katasbx_cid_reserve *r);

/* cgroup2 at CG_ROOT (mounted if need be) and CG_TEST below it. */
int cg_setup(void);
int cg_dir(const char *name);
int cg_add(int kfd, int dirfd, uint32_t flags);
int cg_take(int kfd, struct katasbx_cgroup_take *t);
void cg_drain(int kfd);

#endif /* KATASBX_UTIL_H */
