/* SPDX-License-Identifier: GPL-2.0 */
/* Internal interfaces between the files of katasbx.ko. */
#ifndef KATASBX_INTERNAL_H
#define KATASBX_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/types.h>
#include <uapi/linux/katasbx.h>

#define KATASBX_MAX_TEMPLATES	256

/* Version 1's TEMPLATE_CREATE: the same number, the struct without its tag. */
#define KATASBX_IOC_TEMPLATE_CREATE_V1 \
	_IOC(_IOC_READ | _IOC_WRITE, KATASBX_IOC_MAGIC, 0x01, KATASBX_TEMPLATE_CREATE_SIZE_V1)

struct katasbx_stats {
	atomic64_t templates;
	atomic64_t template_bytes;
	atomic64_t clones_open;
	atomic64_t clones_total;
	atomic64_t cids_in_use;
	atomic64_t cgroups_pooled;
	atomic64_t cgroups_taken;
	atomic64_t faults;
	atomic64_t ahead_pages;
};

extern struct katasbx_stats katasbx_stats;
extern unsigned int katasbx_template_mem_mb;
extern unsigned int katasbx_cid_min;
extern unsigned int katasbx_cid_max;
extern unsigned int katasbx_cgroup_pool_max;
extern bool katasbx_fault_ahead;

/* template.c */
int katasbx_template_init(void);
void katasbx_template_exit(void);
long katasbx_template_create(void __user *arg, size_t usize);
long katasbx_template_lookup(void __user *arg);
long katasbx_template_destroy(void __user *arg);
struct file *katasbx_clone_file(u32 id, u32 *major, u32 *minor);

/* cid.c */
void katasbx_cid_exit(void);
long katasbx_cid_reserve_ioctl(void __user *arg);
struct file *katasbx_cid_file(u32 flags, u32 *cid);

/* cgroup.c */
void katasbx_cgroup_exit(void);
long katasbx_cgroup_add(void __user *arg);
long katasbx_cgroup_take_ioctl(void __user *arg);
int katasbx_cgroup_take(struct file **lease, struct file **dir, u32 *id);

static inline bool katasbx_zero(const __u64 *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (r[i])
			return false;
	return true;
}

#define KATASBX_RESERVED_ZERO(s) katasbx_zero((s)->reserved, ARRAY_SIZE((s)->reserved))

#endif /* KATASBX_INTERNAL_H */
