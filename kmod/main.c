// SPDX-License-Identifier: GPL-2.0
/*
 * katasbx: /dev/katasbx keeps what a new VM sandbox needs ready in the
 * kernel (template memory, vsock CIDs, cgroup v2 directories), every object
 * owned by a file descriptor so that a crashed runtime leaks nothing.
 */
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "katasbx.h"

unsigned int katasbx_template_mem_mb = 1024;
module_param_named(template_mem_mb, katasbx_template_mem_mb, uint, 0644);
MODULE_PARM_DESC(template_mem_mb, "Cap on the memory held by all templates, in MiB (default 1024)");

unsigned int katasbx_cid_min = 1000;
module_param_named(cid_min, katasbx_cid_min, uint, 0444);
MODULE_PARM_DESC(cid_min, "Lowest vsock CID handed out, >= 3 (default 1000)");

unsigned int katasbx_cid_max = 65535;
module_param_named(cid_max, katasbx_cid_max, uint, 0444);
MODULE_PARM_DESC(cid_max, "Highest vsock CID handed out, <= INT_MAX (default 65535)");

unsigned int katasbx_cgroup_pool_max = 4096;
module_param_named(cgroup_pool_max, katasbx_cgroup_pool_max, uint, 0644);
MODULE_PARM_DESC(cgroup_pool_max, "Cap on cgroup pool entries (default 4096)");

bool katasbx_fault_ahead = true;
module_param_named(fault_ahead, katasbx_fault_ahead, bool, 0644);
MODULE_PARM_DESC(fault_ahead, "Map recorded template pages ahead of clone faults (default on)");

struct katasbx_stats katasbx_stats;
static struct dentry *katasbx_debugfs;

#define KATASBX_FEATURES (KATASBX_FEAT_TEMPLATE | KATASBX_FEAT_CID | KATASBX_FEAT_CGROUP | \
			  KATASBX_FEAT_SLOT | KATASBX_FEAT_COUNTERS | KATASBX_FEAT_FAULT_AHEAD | \
			  KATASBX_FEAT_PERSIST)

static void katasbx_counters_fill(struct katasbx_counters *c)
{
	memset(c, 0, sizeof(*c));
	c->templates = atomic64_read(&katasbx_stats.templates);
	c->template_bytes = atomic64_read(&katasbx_stats.template_bytes);
	c->template_bytes_limit = (u64)katasbx_template_mem_mb << 20;
	c->clones_open = atomic64_read(&katasbx_stats.clones_open);
	c->clones_total = atomic64_read(&katasbx_stats.clones_total);
	c->cids_in_use = atomic64_read(&katasbx_stats.cids_in_use);
	c->cid_min = katasbx_cid_min;
	c->cid_max = katasbx_cid_max;
	c->cgroups_pooled = atomic64_read(&katasbx_stats.cgroups_pooled);
	c->cgroups_taken = atomic64_read(&katasbx_stats.cgroups_taken);
	c->faults = atomic64_read(&katasbx_stats.faults);
	c->ahead_pages = atomic64_read(&katasbx_stats.ahead_pages);
}

static long katasbx_slot(void __user *arg)
{
	struct file *clone, *cid, *lease = NULL, *dir = NULL;
	struct katasbx_slot req;
	int fds[4], i, n, ret;
	u32 cg_id;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if ((req.flags & ~KATASBX_SLOT_FLAGS) || req.pad || !KATASBX_RESERVED_ZERO(&req))
		return -EINVAL;

	n = (req.flags & KATASBX_SLOT_F_NO_CGROUP) ? 2 : 4;
	for (i = 0; i < n; i++) {
		fds[i] = get_unused_fd_flags(O_CLOEXEC);
		if (fds[i] < 0) {
			ret = fds[i];
			goto out_fds;
		}
	}
	clone = katasbx_clone_file(req.template_id, &req.dev_major, &req.dev_minor);
	if (IS_ERR(clone)) {
		ret = PTR_ERR(clone);
		goto out_fds;
	}
	cid = katasbx_cid_file(0, &req.cid);
	if (IS_ERR(cid)) {
		ret = PTR_ERR(cid);
		goto out_clone;
	}
	if (n == 4) {
		ret = katasbx_cgroup_take(&lease, &dir, &cg_id);
		if (ret)
			goto out_cid;
	}
	req.clone_fd = fds[0];
	req.cid_fd = fds[1];
	req.cgroup_lease_fd = n == 4 ? fds[2] : -1;
	req.cgroup_dir_fd = n == 4 ? fds[3] : -1;
	if (copy_to_user(arg, &req, sizeof(req))) {
		ret = -EFAULT;
		goto out_cgroup;
	}
	fd_install(fds[0], clone);
	fd_install(fds[1], cid);
	if (n == 4) {
		fd_install(fds[2], lease);
		fd_install(fds[3], dir);
	}
	return 0;

out_cgroup:
	if (dir)
		fput(dir);
	if (lease)
		fput(lease);
out_cid:
	fput(cid);
out_clone:
	fput(clone);
out_fds:
	while (i-- > 0)
		put_unused_fd(fds[i]);
	return ret;
}

static long katasbx_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KATASBX_IOC_VERSION: {
		struct katasbx_version v = {
			.version = KATASBX_VERSION,
			.features = KATASBX_FEATURES,
		};

		return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
	}
	case KATASBX_IOC_TEMPLATE_CREATE:
		return katasbx_template_create(uarg, sizeof(struct katasbx_template_create));
	case KATASBX_IOC_TEMPLATE_CREATE_V1:
		return katasbx_template_create(uarg, KATASBX_TEMPLATE_CREATE_SIZE_V1);
	case KATASBX_IOC_TEMPLATE_LOOKUP:
		return katasbx_template_lookup(uarg);
	case KATASBX_IOC_TEMPLATE_DESTROY:
		return katasbx_template_destroy(uarg);
	case KATASBX_IOC_CID_RESERVE:
		return katasbx_cid_reserve_ioctl(uarg);
	case KATASBX_IOC_CGROUP_ADD:
		return katasbx_cgroup_add(uarg);
	case KATASBX_IOC_CGROUP_TAKE:
		return katasbx_cgroup_take_ioctl(uarg);
	case KATASBX_IOC_SLOT:
		return katasbx_slot(uarg);
	case KATASBX_IOC_COUNTERS: {
		struct katasbx_counters c;

		katasbx_counters_fill(&c);
		return copy_to_user(uarg, &c, sizeof(c)) ? -EFAULT : 0;
	}
	}
	return -ENOTTY;
}

static const struct file_operations katasbx_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= katasbx_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};

static struct miscdevice katasbx_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "katasbx",
	.fops	= &katasbx_fops,
	.mode	= 0600,
};

static int counters_show(struct seq_file *m, void *unused)
{
	struct katasbx_counters c;

	katasbx_counters_fill(&c);
	seq_printf(m, "templates %llu\ntemplate_bytes %llu\ntemplate_bytes_limit %llu\n",
		   c.templates, c.template_bytes, c.template_bytes_limit);
	seq_printf(m, "clones_open %llu\nclones_total %llu\n", c.clones_open, c.clones_total);
	seq_printf(m, "cids_in_use %llu\ncid_min %llu\ncid_max %llu\n",
		   c.cids_in_use, c.cid_min, c.cid_max);
	seq_printf(m, "cgroups_pooled %llu\ncgroups_taken %llu\n",
		   c.cgroups_pooled, c.cgroups_taken);
	seq_printf(m, "faults %llu\nahead_pages %llu\n", c.faults, c.ahead_pages);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(counters);

static int __init katasbx_init(void)
{
	int ret;

	BUILD_BUG_ON(offsetof(struct katasbx_template_create, tag) !=
		     KATASBX_TEMPLATE_CREATE_SIZE_V1);
	if (katasbx_cid_min < 3 || katasbx_cid_max > INT_MAX || katasbx_cid_min > katasbx_cid_max) {
		pr_err("katasbx: bad CID range [%u, %u]: need 3 <= cid_min <= cid_max <= %d\n",
		       katasbx_cid_min, katasbx_cid_max, INT_MAX);
		return -EINVAL;
	}
	ret = katasbx_template_init();
	if (ret)
		return ret;
	ret = misc_register(&katasbx_misc);
	if (ret) {
		katasbx_template_exit();
		return ret;
	}
	katasbx_debugfs = debugfs_create_dir("katasbx", NULL);
	debugfs_create_file("counters", 0444, katasbx_debugfs, NULL, &counters_fops);
	return 0;
}

static void __exit katasbx_exit(void)
{
	debugfs_remove_recursive(katasbx_debugfs);
	misc_deregister(&katasbx_misc);
	katasbx_cgroup_exit();
	katasbx_cid_exit();
	katasbx_template_exit();
}

module_init(katasbx_init);
module_exit(katasbx_exit);

MODULE_DESCRIPTION("katasbx: templates, vsock CIDs and cgroups for VM sandboxes");
MODULE_AUTHOR("katasbx developers");
MODULE_LICENSE("GPL");
