/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * katasbx: /dev/katasbx, the ioctl ABI of the katasbx kernel module.
 *
 * Every struct is made of fixed-width fields with explicit padding. Input
 * flag words with unknown bits and non-zero reserved or padding fields are
 * refused with -EINVAL; unknown ioctl numbers give -ENOTTY. Fields marked
 * "out" are written by the kernel; their input value is ignored.
 * Every fd the module returns is created with O_CLOEXEC.
 *
 * See Documentation/kmod.md for errors and lifetime rules.
 */
#ifndef _UAPI_LINUX_KATASBX_H
#define _UAPI_LINUX_KATASBX_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KATASBX_DEVICE		"/dev/katasbx"
#define KATASBX_VERSION		2
#define KATASBX_IOC_MAGIC	0xCB

/* Feature bits reported by KATASBX_IOC_VERSION. */
#define KATASBX_FEAT_TEMPLATE	(1U << 0)	/* templates and clone nodes */
#define KATASBX_FEAT_CID	(1U << 1)	/* vsock CID reservation */
#define KATASBX_FEAT_CGROUP	(1U << 2)	/* cgroup v2 pool */
#define KATASBX_FEAT_SLOT	(1U << 3)	/* one-call sandbox slot */
#define KATASBX_FEAT_COUNTERS	(1U << 4)	/* counters ioctl and debugfs */
#define KATASBX_FEAT_FAULT_AHEAD (1U << 5)	/* fault-ahead over recorded pages */
#define KATASBX_FEAT_PERSIST	(1U << 6)	/* persistent templates, tags, lookup, destroy */

struct katasbx_version {
	__u32 version;		/* out: KATASBX_VERSION */
	__u32 features;		/* out: KATASBX_FEAT_* */
	__u64 reserved[3];	/* out: zero */
};

/*
 * Register a template: the module copies [src_offset, src_offset + size)
 * of src_fd (any readable file: a memfd, a tmpfs or disk file) into memory
 * of its own. size is page-aligned and non-zero. The returned fd is the
 * template handle; while it is open, every open() of the clone node
 * (char device dev_major:dev_minor, /dev/katasbx-t<id> under devtmpfs)
 * creates a new clone. The template itself lives until its handle and
 * every clone file are closed.
 */
/*
 * Fault-ahead: a read fault in a clone maps, besides the kernel's usual
 * fault-around window, every page in the same page table (2 MiB) that an
 * earlier clone of this template faulted in. Per-template opt-out below;
 * the fault_ahead module parameter turns it off for all.
 */
#define KATASBX_TEMPLATE_F_NO_FAULT_AHEAD	(1U << 0)
/*
 * Persistent template (needs CAP_SYS_ADMIN): the module itself holds the
 * template and keeps its node published until KATASBX_IOC_TEMPLATE_DESTROY,
 * whatever happens to the returned handle and to the creating process.
 * While a persistent template exists the module cannot be unloaded.
 */
#define KATASBX_TEMPLATE_F_PERSIST		(1U << 1)
#define KATASBX_TEMPLATE_FLAGS			(KATASBX_TEMPLATE_F_NO_FAULT_AHEAD | \
						 KATASBX_TEMPLATE_F_PERSIST)

/*
 * A template's tag: 64 bytes chosen by its creator (e.g. a NUL-padded
 * string naming its configuration), compared as bytes. All zero: untagged.
 * Two published templates never have the same non-zero tag.
 */
#define KATASBX_TAG_LEN		64

struct katasbx_template_create {
	__s32 src_fd;
	__u32 flags;		/* KATASBX_TEMPLATE_F_* */
	__u64 size;
	__u64 src_offset;	/* page-aligned */
	__u32 id;		/* out: template id, also the node's minor */
	__s32 fd;		/* out: template handle fd */
	__u32 dev_major;	/* out */
	__u32 dev_minor;	/* out */
	__u64 reserved[4];
	__u8 tag[KATASBX_TAG_LEN];	/* in; all zero: untagged (version 2) */
};

/*
 * Version 1's struct (no tag): its ioctl number, which differs in the size
 * field, is still accepted and creates an untagged template.
 */
#define KATASBX_TEMPLATE_CREATE_SIZE_V1	72

/*
 * Find a published template: by tag (flags 0), or the published template
 * with the lowest id >= .id (KATASBX_LOOKUP_F_NEXT; list them all by
 * starting at 0 and passing the previous id + 1). ENOENT when none.
 */
#define KATASBX_LOOKUP_F_NEXT	(1U << 0)
#define KATASBX_LOOKUP_FLAGS	(KATASBX_LOOKUP_F_NEXT)

struct katasbx_template_lookup {
	__u32 flags;		/* KATASBX_LOOKUP_F_* */
	__u32 id;		/* in with F_NEXT: first id to consider; out */
	__u8 tag[KATASBX_TAG_LEN];	/* in without F_NEXT; out */
	__u64 size;		/* out */
	__u32 tpl_flags;	/* out: the template's KATASBX_TEMPLATE_F_* */
	__u32 dev_major;	/* out: the clone node */
	__u32 dev_minor;	/* out */
	__u32 pad;		/* out: zero */
	__u64 clones_open;	/* out */
	__u64 clones_total;	/* out */
	__u64 reserved[2];
};

/*
 * Drop the module's reference on a persistent template (CAP_SYS_ADMIN):
 * by id, or by tag with KATASBX_DESTROY_F_BY_TAG. The node goes at once;
 * open and mapped clones keep working, the memory lives until the last
 * of them is closed.
 */
#define KATASBX_DESTROY_F_BY_TAG	(1U << 0)
#define KATASBX_DESTROY_FLAGS		(KATASBX_DESTROY_F_BY_TAG)

struct katasbx_template_destroy {
	__u32 id;		/* in without F_BY_TAG; out */
	__u32 flags;		/* KATASBX_DESTROY_F_* */
	__u8 tag[KATASBX_TAG_LEN];	/* in with F_BY_TAG */
	__u64 reserved[2];
};

/* On a template handle fd. */
struct katasbx_template_info {
	__u32 id;		/* out */
	__u32 flags;		/* out */
	__u64 size;		/* out */
	__u64 clones_open;	/* out */
	__u64 clones_total;	/* out */
	__u32 dev_major;	/* out */
	__u32 dev_minor;	/* out */
	__u64 faults;		/* out: page faults served by ->fault */
	__u64 ahead_pages;	/* out: pages offered to fault-ahead */
	__u64 recorded_pages;	/* out: pages in the recorded working set */
	__u64 reserved;		/* out: zero */
};

/* Reserve a vsock CID; it is released when the returned fd is closed. */
#define KATASBX_CID_F_EXACT	(1U << 0)	/* reserve exactly .cid */
#define KATASBX_CID_FLAGS	(KATASBX_CID_F_EXACT)

struct katasbx_cid_reserve {
	__u32 flags;
	__u32 cid;		/* in with KATASBX_CID_F_EXACT; out */
	__s32 fd;		/* out: owner fd */
	__u32 pad;
	__u64 reserved[2];
};

/*
 * Add a cgroup v2 directory to the pool. The module keeps a reference to
 * it; the caller may close dirfd. With KATASBX_CGROUP_F_ONESHOT the entry
 * leaves the pool for good when its taker closes the lease, otherwise it
 * goes back to the pool.
 */
#define KATASBX_CGROUP_F_ONESHOT	(1U << 0)
#define KATASBX_CGROUP_FLAGS		(KATASBX_CGROUP_F_ONESHOT)

struct katasbx_cgroup_add {
	__s32 dirfd;
	__u32 flags;
	__u32 id;		/* out: pool entry id */
	__u32 pad;
	__u64 reserved[2];
};

/*
 * Take a cgroup from the pool. lease_fd owns it: closing the lease returns
 * the cgroup to the pool. dir_fd is an O_RDONLY|O_DIRECTORY fd of the
 * cgroup directory, for clone3(CLONE_INTO_CGROUP); it does not own anything.
 */
struct katasbx_cgroup_take {
	__u32 flags;		/* must be 0 */
	__u32 id;		/* out */
	__s32 lease_fd;		/* out */
	__s32 dir_fd;		/* out */
	__u64 reserved[2];
};

/*
 * A sandbox slot in one call: a clone of template_id (an fd, mappable like
 * an opened clone node; dev_major:dev_minor for VMMs that need a path), a
 * CID and, unless KATASBX_SLOT_F_NO_CGROUP, a cgroup. All or nothing.
 */
#define KATASBX_SLOT_F_NO_CGROUP	(1U << 0)
#define KATASBX_SLOT_FLAGS		(KATASBX_SLOT_F_NO_CGROUP)

struct katasbx_slot {
	__u32 template_id;
	__u32 flags;
	__s32 clone_fd;		/* out */
	__s32 cid_fd;		/* out */
	__u32 cid;		/* out */
	__s32 cgroup_lease_fd;	/* out, -1 with KATASBX_SLOT_F_NO_CGROUP */
	__s32 cgroup_dir_fd;	/* out, -1 with KATASBX_SLOT_F_NO_CGROUP */
	__u32 dev_major;	/* out */
	__u32 dev_minor;	/* out */
	__u32 pad;
	__u64 reserved[2];
};

struct katasbx_counters {
	__u64 templates;		/* live templates */
	__u64 template_bytes;		/* memory held by templates */
	__u64 template_bytes_limit;	/* admin cap (template_mem_mb) */
	__u64 clones_open;
	__u64 clones_total;
	__u64 cids_in_use;
	__u64 cid_min;
	__u64 cid_max;
	__u64 cgroups_pooled;		/* entries in the pool, taken or not */
	__u64 cgroups_taken;
	__u64 faults;			/* page faults served by ->fault */
	__u64 ahead_pages;		/* pages offered to fault-ahead */
	__u64 reserved[4];		/* out: zero */
};

/* On /dev/katasbx */
#define KATASBX_IOC_VERSION	_IOR(KATASBX_IOC_MAGIC, 0x00, struct katasbx_version)
#define KATASBX_IOC_TEMPLATE_CREATE \
	_IOWR(KATASBX_IOC_MAGIC, 0x01, struct katasbx_template_create)
#define KATASBX_IOC_CID_RESERVE	_IOWR(KATASBX_IOC_MAGIC, 0x02, struct katasbx_cid_reserve)
#define KATASBX_IOC_CGROUP_ADD	_IOWR(KATASBX_IOC_MAGIC, 0x03, struct katasbx_cgroup_add)
#define KATASBX_IOC_CGROUP_TAKE	_IOWR(KATASBX_IOC_MAGIC, 0x04, struct katasbx_cgroup_take)
#define KATASBX_IOC_SLOT	_IOWR(KATASBX_IOC_MAGIC, 0x05, struct katasbx_slot)
#define KATASBX_IOC_COUNTERS	_IOR(KATASBX_IOC_MAGIC, 0x06, struct katasbx_counters)
#define KATASBX_IOC_TEMPLATE_LOOKUP \
	_IOWR(KATASBX_IOC_MAGIC, 0x07, struct katasbx_template_lookup)
#define KATASBX_IOC_TEMPLATE_DESTROY \
	_IOWR(KATASBX_IOC_MAGIC, 0x08, struct katasbx_template_destroy)

/* On a template handle fd */
#define KATASBX_IOC_TEMPLATE_INFO \
	_IOR(KATASBX_IOC_MAGIC, 0x10, struct katasbx_template_info)

#endif /* _UAPI_LINUX_KATASBX_H */
