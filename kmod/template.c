// SPDX-License-Identifier: GPL-2.0
/*
 * Templates and clones.
 *
 * A template is an immutable copy of a guest RAM image in a kernel-internal
 * shmem file, sealed against writes. It is published as a char device minor
 * (/dev/katasbx-t<id>) while its handle fd is open; every open of that node
 * is a clone. A clone file's f_mapping is the template's page cache, so
 * core mm does the rest: a MAP_PRIVATE read maps the template's page, the
 * first write copies it into the clone's anonymous memory, rmap and reclaim
 * see the mappings. The VMA keeps the clone file, which pins the template
 * and the module.
 *
 * Persistent templates (KATASBX_TEMPLATE_F_PERSIST) are held by the module
 * itself: one template reference and one module reference, both dropped by
 * KATASBX_IOC_TEMPLATE_DESTROY, so no process has to stay around to keep
 * the node published, and the module cannot be unloaded under them.
 *
 * Fault-ahead: ->map_pages records the pages each fault-around window
 * covered; later clones map every recorded page of the faulting page table
 * at once, so a restored guest takes one fault per 2 MiB instead of one per
 * fault_around_bytes.
 */
#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/bitmap.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/version.h>

#include "katasbx.h"

#define KATASBX_COPY_CHUNK	(256 * 1024)

struct katasbx_template {
	struct kref ref;
	u32 id;
	u32 flags;
	u64 size;
	bool published;		/* in tpl_idr with a node; under tpl_lock */
	bool held;		/* persistent, the module's reference; under tpl_lock */
	u8 tag[KATASBX_TAG_LEN];
	struct file *shmem;
	unsigned long *seen;	/* pages a clone faulted in; NULL: no fault-ahead */
	atomic64_t clones_open;
	atomic64_t clones_total;
	atomic64_t faults;
	atomic64_t ahead_pages;
};

static DEFINE_MUTEX(tpl_lock);		/* tpl_idr, the device nodes, ->published, ->held */
static DEFINE_IDR(tpl_idr);
static dev_t tpl_base;
static struct cdev tpl_cdev;
static struct class *tpl_class;

static void tpl_free(struct kref *ref)
{
	struct katasbx_template *tpl = container_of(ref, struct katasbx_template, ref);

	/* Mappings of clones hold the shmem file on their own. */
	fput(tpl->shmem);
	kvfree(tpl->seen);
	atomic64_sub(tpl->size, &katasbx_stats.template_bytes);
	atomic64_dec(&katasbx_stats.templates);
	kfree(tpl);
}

static void tpl_put(struct katasbx_template *tpl)
{
	kref_put(&tpl->ref, tpl_free);
}

/* Takes a reference on the published template @id, or returns NULL. */
static struct katasbx_template *tpl_lookup(u32 id)
{
	struct katasbx_template *tpl;

	mutex_lock(&tpl_lock);
	tpl = idr_find(&tpl_idr, id);
	if (tpl && !kref_get_unless_zero(&tpl->ref))
		tpl = NULL;
	mutex_unlock(&tpl_lock);
	return tpl;
}

static bool tag_set(const u8 *tag)
{
	return memchr_inv(tag, 0, KATASBX_TAG_LEN) != NULL;
}

/* The published template tagged @tag, or NULL. Under tpl_lock. */
static struct katasbx_template *tpl_find_tag(const u8 *tag)
{
	struct katasbx_template *tpl;
	int id;

	lockdep_assert_held(&tpl_lock);
	idr_for_each_entry(&tpl_idr, tpl, id)
		if (!memcmp(tpl->tag, tag, KATASBX_TAG_LEN))
			return tpl;
	return NULL;
}

/* No new clones from now on. Under tpl_lock; the caller still holds a reference. */
static void tpl_unpublish(struct katasbx_template *tpl)
{
	lockdep_assert_held(&tpl_lock);
	if (!tpl->published)
		return;
	device_destroy(tpl_class, tpl_base + tpl->id);
	idr_remove(&tpl_idr, tpl->id);
	tpl->published = false;
}

/* ---- clones ---- */

static void clone_attach(struct file *file, struct katasbx_template *tpl)
{
	file->private_data = tpl;
	file->f_mapping = tpl->shmem->f_mapping;
	atomic64_inc(&tpl->clones_open);
	atomic64_inc(&tpl->clones_total);
	atomic64_inc(&katasbx_stats.clones_open);
	atomic64_inc(&katasbx_stats.clones_total);
}

static int clone_open(struct inode *inode, struct file *file)
{
	struct katasbx_template *tpl = tpl_lookup(iminor(inode));

	if (!tpl)
		return -ENXIO;
	clone_attach(file, tpl);
	return 0;
}

static int clone_release(struct inode *inode, struct file *file)
{
	struct katasbx_template *tpl = file->private_data;

	atomic64_dec(&tpl->clones_open);
	atomic64_dec(&katasbx_stats.clones_open);
	tpl_put(tpl);
	return 0;
}

static vm_fault_t clone_fault(struct vm_fault *vmf)
{
	struct katasbx_template *tpl = vmf->vma->vm_file->private_data;
	struct address_space *mapping = tpl->shmem->f_mapping;
	struct page *page;

	if (vmf->pgoff >= tpl->size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	page = shmem_read_mapping_page_gfp(mapping, vmf->pgoff, mapping_gfp_mask(mapping));
	if (IS_ERR(page))
		return vmf_error(PTR_ERR(page));
	atomic64_inc(&tpl->faults);
	atomic64_inc(&katasbx_stats.faults);
	if (tpl->seen && !test_bit(vmf->pgoff, tpl->seen))
		set_bit(vmf->pgoff, tpl->seen);
	vmf->page = page;
	return 0;
}

static void record_range(unsigned long *seen, pgoff_t start, pgoff_t end)
{
	for (; start <= end; start++)
		if (!test_bit(start, seen))
			set_bit(start, seen);
}

/*
 * Called for read faults with [start, end] the fault-around window, which
 * never leaves the faulting page table or the VMA. Fault-ahead widens it to
 * the whole page table, mapping only pages an earlier clone faulted in.
 */
static vm_fault_t clone_map_pages(struct vm_fault *vmf, pgoff_t start, pgoff_t end)
{
	struct vm_area_struct *vma = vmf->vma;
	struct katasbx_template *tpl = vma->vm_file->private_data;
	pgoff_t vma_off = vmf->pgoff - vma->vm_pgoff, pte_idx, from, to, rs, re;
	/* Map ahead once per page table: on its first fault in this VMA. */
	bool first = pmd_none(*vmf->pmd);
	vm_fault_t ret;

	ret = filemap_map_pages(vmf, start, end);
	if (!tpl->seen || !READ_ONCE(katasbx_fault_ahead))
		return ret;
	record_range(tpl->seen, start, min_t(pgoff_t, end, (tpl->size >> PAGE_SHIFT) - 1));
	if (!first)
		return ret;

	pte_idx = ((vma->vm_start >> PAGE_SHIFT) + vma_off) & (PTRS_PER_PTE - 1);
	from = vmf->pgoff - min(pte_idx, vma_off);
	to = vmf->pgoff + min(PTRS_PER_PTE - 1 - pte_idx, vma_pages(vma) - 1 - vma_off);
	to = min_t(pgoff_t, to, (tpl->size >> PAGE_SHIFT) - 1);

	for (rs = find_next_bit(tpl->seen, to + 1, from); rs <= to;
	     rs = find_next_bit(tpl->seen, to + 1, re + 1)) {
		re = find_next_zero_bit(tpl->seen, to + 1, rs) - 1;
		/* the fault-around window is mapped already */
		if (rs >= start && re <= end)
			continue;
		ret |= filemap_map_pages(vmf, rs, re);
		atomic64_add(re - rs + 1, &tpl->ahead_pages);
		atomic64_add(re - rs + 1, &katasbx_stats.ahead_pages);
	}
	return ret;
}

static const struct vm_operations_struct clone_vm_ops = {
	.fault		= clone_fault,
	.map_pages	= clone_map_pages,
};

static int clone_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct katasbx_template *tpl = file->private_data;
	unsigned long npages = tpl->size >> PAGE_SHIFT;

	/*
	 * A shared mapping that is or may become writable would write into
	 * the template: only clones opened read-only may map it shared.
	 */
	if ((vma->vm_flags & VM_SHARED) && (vma->vm_flags & (VM_WRITE | VM_MAYWRITE)))
		return -EACCES;
	if (vma->vm_pgoff > npages || vma_pages(vma) > npages - vma->vm_pgoff)
		return -EINVAL;
	file_accessed(file);
	vma->vm_ops = &clone_vm_ops;
	return 0;
}

static loff_t clone_llseek(struct file *file, loff_t offset, int whence)
{
	struct katasbx_template *tpl = file->private_data;

	return fixed_size_llseek(file, offset, whence, tpl->size);
}

static ssize_t clone_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct katasbx_template *tpl = iocb->ki_filp->private_data;
	loff_t pos = iocb->ki_pos;
	ssize_t ret;

	ret = vfs_iter_read(tpl->shmem, to, &pos, 0);
	iocb->ki_pos = pos;
	return ret;
}

static ssize_t clone_write(struct file *file, const char __user *buf, size_t len, loff_t *ppos)
{
	return -EPERM;
}

static const struct file_operations clone_fops = {
	.owner		= THIS_MODULE,
	.open		= clone_open,
	.release	= clone_release,
	.mmap		= clone_mmap,
	.llseek		= clone_llseek,
	.read_iter	= clone_read_iter,
	.write		= clone_write,
};

struct file *katasbx_clone_file(u32 id, u32 *major, u32 *minor)
{
	struct katasbx_template *tpl = tpl_lookup(id);
	struct file *file;

	if (!tpl)
		return ERR_PTR(-ENOENT);
	file = anon_inode_getfile("[katasbx-clone]", &clone_fops, NULL, O_RDWR);
	if (IS_ERR(file)) {
		tpl_put(tpl);
		return file;
	}
	file->f_mode |= FMODE_LSEEK | FMODE_PREAD;
	clone_attach(file, tpl);
	*major = MAJOR(tpl_base);
	*minor = MINOR(tpl_base) + tpl->id;
	return file;
}

/* ---- template handles ---- */

static int handle_release(struct inode *inode, struct file *file)
{
	struct katasbx_template *tpl = file->private_data;

	/*
	 * Unpublish: no new clones; existing ones keep the template alive.
	 * A persistent template stays published until TEMPLATE_DESTROY.
	 */
	if (!(tpl->flags & KATASBX_TEMPLATE_F_PERSIST)) {
		mutex_lock(&tpl_lock);
		tpl_unpublish(tpl);
		mutex_unlock(&tpl_lock);
	}
	tpl_put(tpl);
	return 0;
}

static long handle_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct katasbx_template *tpl = file->private_data;
	struct katasbx_template_info info = {};

	if (cmd != KATASBX_IOC_TEMPLATE_INFO)
		return -ENOTTY;
	info.id = tpl->id;
	info.size = tpl->size;
	info.clones_open = atomic64_read(&tpl->clones_open);
	info.clones_total = atomic64_read(&tpl->clones_total);
	info.dev_major = MAJOR(tpl_base);
	info.dev_minor = MINOR(tpl_base) + tpl->id;
	info.flags = tpl->flags;
	info.faults = atomic64_read(&tpl->faults);
	info.ahead_pages = atomic64_read(&tpl->ahead_pages);
	if (tpl->seen)
		info.recorded_pages = bitmap_weight(tpl->seen, tpl->size >> PAGE_SHIFT);
	if (copy_to_user((void __user *)arg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static const struct file_operations handle_fops = {
	.owner		= THIS_MODULE,
	.release	= handle_release,
	.unlocked_ioctl	= handle_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/* Copies the source into @dst page by page, leaving all-zero pages as holes. */
static int tpl_copy(struct file *dst, struct file *src, loff_t spos, u64 size)
{
	loff_t dpos = 0;
	char *buf;
	int ret = 0;

	buf = kvmalloc(KATASBX_COPY_CHUNK, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	while (dpos < size) {
		size_t want = min_t(u64, KATASBX_COPY_CHUNK, size - dpos);
		size_t got = 0, off;
		ssize_t n;

		while (got < want) {
			n = kernel_read(src, buf + got, want - got, &spos);
			if (n < 0) {
				ret = n;
				goto out;
			}
			if (n == 0) {	/* source shorter than size */
				ret = -EINVAL;
				goto out;
			}
			got += n;
		}
		for (off = 0; off < want; off += PAGE_SIZE) {
			loff_t pos = dpos + off;

			if (!memchr_inv(buf + off, 0, PAGE_SIZE))
				continue;
			n = kernel_write(dst, buf + off, PAGE_SIZE, &pos);
			if (n != PAGE_SIZE) {
				ret = n < 0 ? n : -EIO;
				goto out;
			}
		}
		dpos += want;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto out;
		}
		cond_resched();
	}
out:
	kvfree(buf);
	return ret;
}

static int tpl_publish(struct katasbx_template *tpl)
{
	struct device *dev;
	int id;

	mutex_lock(&tpl_lock);
	if (tag_set(tpl->tag) && tpl_find_tag(tpl->tag)) {
		mutex_unlock(&tpl_lock);
		return -EEXIST;
	}
	id = idr_alloc_cyclic(&tpl_idr, NULL, 0, KATASBX_MAX_TEMPLATES, GFP_KERNEL);
	if (id < 0) {
		mutex_unlock(&tpl_lock);
		return id == -ENOSPC ? -EMFILE : id;
	}
	tpl->id = id;
	dev = device_create(tpl_class, NULL, tpl_base + id, NULL, "katasbx-t%d", id);
	if (IS_ERR(dev)) {
		idr_remove(&tpl_idr, id);
		mutex_unlock(&tpl_lock);
		return PTR_ERR(dev);
	}
	idr_replace(&tpl_idr, tpl, id);
	tpl->published = true;
	/* The module's own reference on a persistent template. */
	if (tpl->flags & KATASBX_TEMPLATE_F_PERSIST) {
		kref_get(&tpl->ref);
		__module_get(THIS_MODULE);
		tpl->held = true;
	}
	mutex_unlock(&tpl_lock);
	return 0;
}

/* Unpublishes @tpl and drops the module's reference if it holds one. Under tpl_lock. */
static bool tpl_release_held(struct katasbx_template *tpl)
{
	bool held = tpl->held;

	lockdep_assert_held(&tpl_lock);
	tpl_unpublish(tpl);
	tpl->held = false;
	return held;
}

/* Undoes tpl_publish() for a template nobody saw yet; drops the caller's reference. */
static void tpl_unpublish_put(struct katasbx_template *tpl)
{
	bool held;

	mutex_lock(&tpl_lock);
	held = tpl_release_held(tpl);
	mutex_unlock(&tpl_lock);
	if (held) {
		tpl_put(tpl);
		module_put(THIS_MODULE);
	}
	tpl_put(tpl);
}

/* @usize: the caller's struct size (version 1's has no tag). */
long katasbx_template_create(void __user *arg, size_t usize)
{
	u64 limit = (u64)katasbx_template_mem_mb << 20;
	struct katasbx_template_create req;
	struct katasbx_template *tpl;
	struct file *src, *handle;
	int fd, ret;

	memset(&req, 0, sizeof(req));
	if (copy_from_user(&req, arg, usize))
		return -EFAULT;
	if ((req.flags & ~KATASBX_TEMPLATE_FLAGS) || !KATASBX_RESERVED_ZERO(&req))
		return -EINVAL;
	if ((req.flags & KATASBX_TEMPLATE_F_PERSIST) && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!req.size || !PAGE_ALIGNED(req.size) || !PAGE_ALIGNED(req.src_offset) ||
	    req.src_offset > LLONG_MAX - req.size)
		return -EINVAL;
	if (req.size > limit)
		return -E2BIG;

	src = fget(req.src_fd);
	if (!src)
		return -EBADF;
	if (!(src->f_mode & FMODE_READ)) {
		ret = -EBADF;
		goto out_src;
	}

	if (atomic64_add_return(req.size, &katasbx_stats.template_bytes) > limit) {
		atomic64_sub(req.size, &katasbx_stats.template_bytes);
		ret = -ENOSPC;
		goto out_src;
	}
	tpl = kzalloc(sizeof(*tpl), GFP_KERNEL);
	if (!tpl) {
		atomic64_sub(req.size, &katasbx_stats.template_bytes);
		ret = -ENOMEM;
		goto out_src;
	}
	kref_init(&tpl->ref);
	tpl->size = req.size;
	tpl->flags = req.flags;
	memcpy(tpl->tag, req.tag, KATASBX_TAG_LEN);
	atomic64_inc(&katasbx_stats.templates);

	tpl->shmem = shmem_file_setup("katasbx-template", req.size, 0);
	if (IS_ERR(tpl->shmem)) {
		ret = PTR_ERR(tpl->shmem);
		tpl->shmem = NULL;
		atomic64_sub(req.size, &katasbx_stats.template_bytes);
		atomic64_dec(&katasbx_stats.templates);
		kfree(tpl);
		goto out_src;
	}
	if (!(req.flags & KATASBX_TEMPLATE_F_NO_FAULT_AHEAD)) {
		tpl->seen = kvcalloc(BITS_TO_LONGS(req.size >> PAGE_SHIFT), sizeof(long),
				     GFP_KERNEL);
		if (!tpl->seen) {
			ret = -ENOMEM;
			goto out_tpl;
		}
	}
	ret = tpl_copy(tpl->shmem, src, req.src_offset, req.size);
	if (ret)
		goto out_tpl;
	/* Immutable from now on: no write(), no shared writable mmap, no resize. */
	SHMEM_I(file_inode(tpl->shmem))->seals |= F_SEAL_SEAL | F_SEAL_SHRINK |
						  F_SEAL_GROW | F_SEAL_FUTURE_WRITE;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto out_tpl;
	}
	ret = tpl_publish(tpl);
	if (ret) {
		put_unused_fd(fd);
		goto out_tpl;
	}
	handle = anon_inode_getfile("[katasbx-template]", &handle_fops, tpl, O_RDWR);
	if (IS_ERR(handle)) {
		ret = PTR_ERR(handle);
		put_unused_fd(fd);
		tpl_unpublish_put(tpl);
		goto out_src;
	}
	req.id = tpl->id;
	req.fd = fd;
	req.dev_major = MAJOR(tpl_base);
	req.dev_minor = MINOR(tpl_base) + tpl->id;
	if (copy_to_user(arg, &req, usize)) {
		put_unused_fd(fd);
		if (req.flags & KATASBX_TEMPLATE_F_PERSIST) {
			/* The handle's reference stays for fput() below. */
			mutex_lock(&tpl_lock);
			if (tpl_release_held(tpl)) {
				tpl_put(tpl);
				module_put(THIS_MODULE);
			}
			mutex_unlock(&tpl_lock);
		}
		fput(handle);	/* unpublishes and drops the template */
		ret = -EFAULT;
		goto out_src;
	}
	fd_install(fd, handle);
	fput(src);
	return 0;

out_tpl:
	tpl_put(tpl);
out_src:
	fput(src);
	return ret;
}

static void lookup_fill(struct katasbx_template_lookup *req, struct katasbx_template *tpl)
{
	req->id = tpl->id;
	memcpy(req->tag, tpl->tag, KATASBX_TAG_LEN);
	req->size = tpl->size;
	req->tpl_flags = tpl->flags;
	req->dev_major = MAJOR(tpl_base);
	req->dev_minor = MINOR(tpl_base) + tpl->id;
	req->pad = 0;
	req->clones_open = atomic64_read(&tpl->clones_open);
	req->clones_total = atomic64_read(&tpl->clones_total);
}

long katasbx_template_lookup(void __user *arg)
{
	struct katasbx_template_lookup req;
	struct katasbx_template *tpl = NULL;
	int id;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if ((req.flags & ~KATASBX_LOOKUP_FLAGS) || !KATASBX_RESERVED_ZERO(&req))
		return -EINVAL;
	if (!(req.flags & KATASBX_LOOKUP_F_NEXT) && !tag_set(req.tag))
		return -EINVAL;

	mutex_lock(&tpl_lock);
	if (req.flags & KATASBX_LOOKUP_F_NEXT) {
		if (req.id < KATASBX_MAX_TEMPLATES) {
			id = req.id;
			tpl = idr_get_next(&tpl_idr, &id);
		}
	} else {
		tpl = tpl_find_tag(req.tag);
	}
	if (tpl)
		lookup_fill(&req, tpl);
	mutex_unlock(&tpl_lock);
	if (!tpl)
		return -ENOENT;
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

long katasbx_template_destroy(void __user *arg)
{
	struct katasbx_template_destroy req;
	struct katasbx_template *tpl;
	bool by_tag;
	int ret = 0;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if ((req.flags & ~KATASBX_DESTROY_FLAGS) || !KATASBX_RESERVED_ZERO(&req))
		return -EINVAL;
	by_tag = req.flags & KATASBX_DESTROY_F_BY_TAG;
	if (by_tag && !tag_set(req.tag))
		return -EINVAL;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	mutex_lock(&tpl_lock);
	if (by_tag)
		tpl = tpl_find_tag(req.tag);
	else
		tpl = req.id < KATASBX_MAX_TEMPLATES ? idr_find(&tpl_idr, req.id) : NULL;
	if (!tpl)
		ret = -ENOENT;
	else if (!tpl->held)
		ret = -EINVAL;	/* owned by its handle fd, not by the module */
	else
		tpl_release_held(tpl);
	mutex_unlock(&tpl_lock);
	if (ret)
		return ret;
	req.id = tpl->id;
	/* Clones that are open or mapped hold references of their own. */
	tpl_put(tpl);
	module_put(THIS_MODULE);	/* the device fd of this call still holds one */
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

int katasbx_template_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&tpl_base, 0, KATASBX_MAX_TEMPLATES, "katasbx-template");
	if (ret)
		return ret;
	cdev_init(&tpl_cdev, &clone_fops);
	tpl_cdev.owner = THIS_MODULE;
	ret = cdev_add(&tpl_cdev, tpl_base, KATASBX_MAX_TEMPLATES);
	if (ret)
		goto out_region;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	tpl_class = class_create("katasbx");
#else
	tpl_class = class_create(THIS_MODULE, "katasbx");
#endif
	if (IS_ERR(tpl_class)) {
		ret = PTR_ERR(tpl_class);
		goto out_cdev;
	}
	return 0;

out_cdev:
	cdev_del(&tpl_cdev);
out_region:
	unregister_chrdev_region(tpl_base, KATASBX_MAX_TEMPLATES);
	return ret;
}

/*
 * Every handle and clone file holds a module reference, and so does every
 * persistent template: nothing is left here.
 */
void katasbx_template_exit(void)
{
	class_destroy(tpl_class);
	cdev_del(&tpl_cdev);
	unregister_chrdev_region(tpl_base, KATASBX_MAX_TEMPLATES);
	idr_destroy(&tpl_idr);
}
