// SPDX-License-Identifier: GPL-2.0
/*
 * A pool of pre-created cgroup v2 directories. Taking one gives a lease fd
 * (owns the entry: closing it returns the entry to the pool, or drops it for
 * one-shot entries) and a plain directory fd for clone3(CLONE_INTO_CGROUP).
 * A lease and not the directory fd owns the entry because the directory fd
 * must be a real cgroupfs file, whose close the module cannot observe.
 */
#include <linux/anon_inodes.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/magic.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "katasbx.h"

struct katasbx_cg {
	struct list_head node;	/* on cg_free while not taken */
	struct path path;
	u32 id;
	bool oneshot;
};

static DEFINE_MUTEX(cg_lock);
static LIST_HEAD(cg_free);
static LIST_HEAD(cg_taken);
static u32 cg_next_id;
static unsigned int cg_count;

static void cg_destroy(struct katasbx_cg *cg)
{
	path_put(&cg->path);
	kfree(cg);
	cg_count--;
	atomic64_dec(&katasbx_stats.cgroups_pooled);
}

static int lease_release(struct inode *inode, struct file *file)
{
	struct katasbx_cg *cg = file->private_data;

	mutex_lock(&cg_lock);
	list_del(&cg->node);
	atomic64_dec(&katasbx_stats.cgroups_taken);
	if (cg->oneshot)
		cg_destroy(cg);
	else
		list_add_tail(&cg->node, &cg_free);
	mutex_unlock(&cg_lock);
	return 0;
}

static const struct file_operations lease_fops = {
	.owner		= THIS_MODULE,
	.release	= lease_release,
	.llseek		= noop_llseek,
};

long katasbx_cgroup_add(void __user *arg)
{
	struct katasbx_cgroup_add req;
	struct katasbx_cg *cg, *it;
	struct inode *inode;
	struct file *f;
	int ret = 0;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if ((req.flags & ~KATASBX_CGROUP_FLAGS) || req.pad || !KATASBX_RESERVED_ZERO(&req))
		return -EINVAL;

	f = fget_raw(req.dirfd);	/* O_PATH fds are fine */
	if (!f)
		return -EBADF;
	inode = file_inode(f);
	if (!S_ISDIR(inode->i_mode)) {
		ret = -ENOTDIR;
		goto out;
	}
	if (inode->i_sb->s_magic != CGROUP2_SUPER_MAGIC) {
		ret = -EINVAL;
		goto out;
	}
	cg = kzalloc(sizeof(*cg), GFP_KERNEL);
	if (!cg) {
		ret = -ENOMEM;
		goto out;
	}

	mutex_lock(&cg_lock);
	list_for_each_entry(it, &cg_free, node)
		if (it->path.dentry == f->f_path.dentry)
			ret = -EEXIST;
	list_for_each_entry(it, &cg_taken, node)
		if (it->path.dentry == f->f_path.dentry)
			ret = -EEXIST;
	if (!ret && cg_count >= katasbx_cgroup_pool_max)
		ret = -ENOSPC;
	if (ret) {
		mutex_unlock(&cg_lock);
		kfree(cg);
		goto out;
	}
	cg->path = f->f_path;
	path_get(&cg->path);
	cg->oneshot = req.flags & KATASBX_CGROUP_F_ONESHOT;
	cg->id = cg_next_id++;
	cg_count++;
	list_add_tail(&cg->node, &cg_free);
	atomic64_inc(&katasbx_stats.cgroups_pooled);
	mutex_unlock(&cg_lock);

	req.id = cg->id;
	/* The entry is in the pool already; a failed copy only hides its id. */
	if (copy_to_user(arg, &req, sizeof(req)))
		ret = -EFAULT;
out:
	fput(f);
	return ret;
}

/* Takes the oldest free entry; on success the caller owns both files. */
int katasbx_cgroup_take(struct file **lease, struct file **dir, u32 *id)
{
	struct katasbx_cg *cg;
	struct file *d, *l;

	mutex_lock(&cg_lock);
	cg = list_first_entry_or_null(&cg_free, struct katasbx_cg, node);
	if (!cg) {
		mutex_unlock(&cg_lock);
		return -EAGAIN;
	}
	d = dentry_open(&cg->path, O_RDONLY | O_DIRECTORY, current_cred());
	if (IS_ERR(d)) {
		mutex_unlock(&cg_lock);
		return PTR_ERR(d);
	}
	l = anon_inode_getfile("[katasbx-cgroup]", &lease_fops, cg, O_RDWR);
	if (IS_ERR(l)) {
		mutex_unlock(&cg_lock);
		fput(d);
		return PTR_ERR(l);
	}
	list_move_tail(&cg->node, &cg_taken);
	atomic64_inc(&katasbx_stats.cgroups_taken);
	*id = cg->id;
	mutex_unlock(&cg_lock);
	*lease = l;
	*dir = d;
	return 0;
}

long katasbx_cgroup_take_ioctl(void __user *arg)
{
	struct katasbx_cgroup_take req;
	struct file *lease, *dir;
	int lfd, dfd, ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags || !KATASBX_RESERVED_ZERO(&req))
		return -EINVAL;

	lfd = get_unused_fd_flags(O_CLOEXEC);
	if (lfd < 0)
		return lfd;
	dfd = get_unused_fd_flags(O_CLOEXEC);
	if (dfd < 0) {
		ret = dfd;
		goto out_lfd;
	}
	ret = katasbx_cgroup_take(&lease, &dir, &req.id);
	if (ret)
		goto out_dfd;
	req.lease_fd = lfd;
	req.dir_fd = dfd;
	if (copy_to_user(arg, &req, sizeof(req))) {
		fput(dir);
		fput(lease);
		ret = -EFAULT;
		goto out_dfd;
	}
	fd_install(lfd, lease);
	fd_install(dfd, dir);
	return 0;

out_dfd:
	put_unused_fd(dfd);
out_lfd:
	put_unused_fd(lfd);
	return ret;
}

/* Leases hold module references, so only free entries remain at unload. */
void katasbx_cgroup_exit(void)
{
	struct katasbx_cg *cg, *tmp;

	list_for_each_entry_safe(cg, tmp, &cg_free, node)
		cg_destroy(cg);
}
