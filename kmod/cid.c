// SPDX-License-Identifier: GPL-2.0
/*
 * vsock CID reservation from [cid_min, cid_max]. Each reserved CID is owned
 * by an anonymous-inode file; closing it (or the owner dying) frees the CID.
 *
 * The host's vsock core is not consulted: vhost_vsock_get() is not exported,
 * so the admin range must not overlap CIDs handed out by other means.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "katasbx.h"

static DEFINE_IDA(cid_ida);

static int cid_release(struct inode *inode, struct file *file)
{
	ida_free(&cid_ida, (unsigned long)file->private_data);
	atomic64_dec(&katasbx_stats.cids_in_use);
	return 0;
}

static const struct file_operations cid_fops = {
	.owner		= THIS_MODULE,
	.release	= cid_release,
	.llseek		= noop_llseek,
};

struct file *katasbx_cid_file(u32 flags, u32 *cid)
{
	struct file *file;
	int id;

	if (flags & KATASBX_CID_F_EXACT) {
		if (*cid < katasbx_cid_min || *cid > katasbx_cid_max)
			return ERR_PTR(-EINVAL);
		id = ida_alloc_range(&cid_ida, *cid, *cid, GFP_KERNEL);
		if (id == -ENOSPC)
			id = -EADDRINUSE;
	} else {
		id = ida_alloc_range(&cid_ida, katasbx_cid_min, katasbx_cid_max, GFP_KERNEL);
	}
	if (id < 0)
		return ERR_PTR(id);

	file = anon_inode_getfile("[katasbx-cid]", &cid_fops, (void *)(unsigned long)id, O_RDWR);
	if (IS_ERR(file)) {
		ida_free(&cid_ida, id);
		return file;
	}
	atomic64_inc(&katasbx_stats.cids_in_use);
	*cid = id;
	return file;
}

long katasbx_cid_reserve_ioctl(void __user *arg)
{
	struct katasbx_cid_reserve req;
	struct file *file;
	int fd;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if ((req.flags & ~KATASBX_CID_FLAGS) || req.pad || !KATASBX_RESERVED_ZERO(&req))
		return -EINVAL;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	file = katasbx_cid_file(req.flags, &req.cid);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	req.fd = fd;
	if (copy_to_user(arg, &req, sizeof(req))) {
		put_unused_fd(fd);
		fput(file);
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;
}

void katasbx_cid_exit(void)
{
	ida_destroy(&cid_ida);
}
