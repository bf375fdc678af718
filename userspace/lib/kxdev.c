// SPDX-License-Identifier: GPL-2.0
/* kxdev: persistent, tagged templates in /dev/katasbx. See kxdev.h. */
#include "kxdev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/katasbx.h>

#define NODE_DIR "/dev"

/* Opens /dev/katasbx and checks it has persistent templates. */
static int dev_open(struct kx_err *err)
{
	struct katasbx_version v;
	int fd, e;

	fd = open(KATASBX_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT || e == ENXIO || e == ENODEV)
			return kx_error(err, e, "%s absent (katasbx.ko not loaded)", KATASBX_DEVICE);
		return kx_error(err, e, "opening %s", KATASBX_DEVICE);
	}
	memset(&v, 0, sizeof(v));
	if (ioctl(fd, KATASBX_IOC_VERSION, &v) < 0) {
		e = errno;
		close(fd);
		return kx_error(err, e, "%s: version", KATASBX_DEVICE);
	}
	if (!(v.features & KATASBX_FEAT_TEMPLATE) || !(v.features & KATASBX_FEAT_PERSIST)) {
		close(fd);
		return kx_error(err, ENOTSUP,
				"%s: katasbx.ko version %u (features 0x%x) has no persistent templates",
				KATASBX_DEVICE, v.version, v.features);
	}
	return fd;
}

bool kx_dev_present(void)
{
	int fd = dev_open(NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int tag_bytes(const char *tag, __u8 out[KATASBX_TAG_LEN], struct kx_err *err)
{
	size_t n = tag ? strlen(tag) : 0;

	if (n == 0 || n > KX_DEV_TAG_MAX)
		return kx_error(err, EINVAL, "template tag must be 1 to %d bytes, not %zu",
				KX_DEV_TAG_MAX, n);
	memset(out, 0, KATASBX_TAG_LEN);
	memcpy(out, tag, n);
	return 0;
}

/*
 * Writes /dev/katasbx-t<id> to @path and makes sure it is the char device
 * @major:@minor: devtmpfs makes it; on a /dev that is not devtmpfs (or a
 * stale node left from before) it is made here.
 */
static int node_ensure(uint32_t id, uint32_t major, uint32_t minor, char *path, size_t len,
		       struct kx_err *err)
{
	dev_t want = makedev(major, minor);
	struct stat st;
	int n;

	n = snprintf(path, len, "%s/katasbx-t%u", NODE_DIR, id);
	if (n < 0 || (size_t)n >= len)
		return kx_error(err, ENAMETOOLONG, "template node path: buffer of %zu bytes", len);
	if (stat(path, &st) == 0) {
		if (S_ISCHR(st.st_mode) && st.st_rdev == want)
			return 0;
		if (unlink(path) < 0)
			return kx_error(err, errno, "removing stale %s", path);
	} else if (errno != ENOENT) {
		return kx_error(err, errno, "%s", path);
	}
	if (mknod(path, S_IFCHR | 0600, want) < 0 && errno != EEXIST)
		return kx_error(err, errno, "creating %s (char %u:%u)", path, major, minor);
	if (stat(path, &st) < 0)
		return kx_error(err, errno, "%s", path);
	if (!S_ISCHR(st.st_mode) || st.st_rdev != want)
		return kx_error(err, EEXIST, "%s is not char device %u:%u", path, major, minor);
	return 0;
}

/* LOOKUP by tag: 0 found (@l filled), 1 not found, -1 error. */
static int lookup(int kfd, const __u8 tag[KATASBX_TAG_LEN], struct katasbx_template_lookup *l,
		  struct kx_err *err)
{
	memset(l, 0, sizeof(*l));
	memcpy(l->tag, tag, KATASBX_TAG_LEN);
	if (ioctl(kfd, KATASBX_IOC_TEMPLATE_LOOKUP, l) == 0)
		return 0;
	if (errno == ENOENT)
		return 1;
	return kx_error(err, errno, "%s: template lookup", KATASBX_DEVICE);
}

int kx_dev_template_find(const char *tag, char *node_path, size_t len, struct kx_err *err)
{
	struct katasbx_template_lookup l;
	__u8 t[KATASBX_TAG_LEN];
	int kfd, r;

	if (tag_bytes(tag, t, err) < 0)
		return -1;
	kfd = dev_open(err);
	if (kfd < 0)
		return -1;
	r = lookup(kfd, t, &l, err);
	close(kfd);
	if (r != 0)
		return r;
	if (node_ensure(l.id, l.dev_major, l.dev_minor, node_path, len, err) < 0)
		return kx_error_wrap(err, "template '%s'", tag);
	return 0;
}

int kx_dev_template_register(const char *mem_file, uint64_t size, const char *tag,
			     char *node_path, size_t len, struct kx_err *err)
{
	struct katasbx_template_create req;
	struct katasbx_template_lookup l;
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	int kfd, src, e, r;

	memset(&req, 0, sizeof(req));
	if (tag_bytes(tag, req.tag, err) < 0)
		return -1;
	if (size == 0 || (page > 0 && size % (uint64_t)page))
		return kx_error(err, EINVAL, "template size %llu is not a non-zero multiple of the page size",
				(unsigned long long)size);
	kfd = dev_open(err);
	if (kfd < 0)
		return -1;
	src = open(mem_file, O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		e = errno;
		close(kfd);
		return kx_error(err, e, "opening template memory %s", mem_file);
	}
	if (fstat(src, &st) < 0 || (uint64_t)st.st_size < size) {
		e = errno;
		close(src);
		close(kfd);
		if (e)
			return kx_error(err, e, "%s", mem_file);
		return kx_error(err, EINVAL, "%s holds %lld bytes, fewer than the template's %llu",
				mem_file, (long long)st.st_size, (unsigned long long)size);
	}
	req.src_fd = src;
	req.size = size;
	req.flags = KATASBX_TEMPLATE_F_PERSIST;
	errno = 0;
	r = ioctl(kfd, KATASBX_IOC_TEMPLATE_CREATE, &req);
	e = errno;
	close(src);
	if (r < 0 && e == EEXIST) {
		/* Another process registered this tag first: use its template. */
		r = lookup(kfd, req.tag, &l, err);
		close(kfd);
		if (r < 0)
			return -1;
		if (r == 1)
			return kx_error(err, EAGAIN, "template '%s' registered and destroyed meanwhile",
					tag);
		if (node_ensure(l.id, l.dev_major, l.dev_minor, node_path, len, err) < 0)
			return kx_error_wrap(err, "template '%s'", tag);
		return 0;
	}
	close(kfd);
	if (r < 0) {
		switch (e) {
		case EPERM:
			return kx_error(err, e, "registering template '%s' needs CAP_SYS_ADMIN", tag);
		case E2BIG:
		case ENOSPC:
			return kx_error(err, e,
					"registering template '%s' (%llu MiB): over katasbx.ko's template_mem_mb",
					tag, (unsigned long long)(size >> 20));
		default:
			return kx_error(err, e, "registering template '%s' from %s", tag, mem_file);
		}
	}
	/* The module holds the template; the handle is not needed. */
	close(req.fd);
	if (node_ensure(req.id, req.dev_major, req.dev_minor, node_path, len, err) < 0) {
		kx_dev_template_destroy(tag, NULL);	/* unusable without its node */
		return kx_error_wrap(err, "template '%s'", tag);
	}
	return 0;
}

int kx_dev_template_destroy(const char *tag, struct kx_err *err)
{
	struct katasbx_template_destroy d;
	int kfd, e;

	memset(&d, 0, sizeof(d));
	if (tag_bytes(tag, d.tag, err) < 0)
		return -1;
	kfd = dev_open(err);
	if (kfd < 0)
		return -1;
	d.flags = KATASBX_DESTROY_F_BY_TAG;
	if (ioctl(kfd, KATASBX_IOC_TEMPLATE_DESTROY, &d) == 0) {
		close(kfd);
		return 0;
	}
	e = errno;
	close(kfd);
	if (e == ENOENT)
		return 1;
	if (e == EINVAL)
		return kx_error(err, e, "template '%s' is not persistent: its owner's handle holds it",
				tag);
	return kx_error(err, e, "destroying template '%s'", tag);
}

/* /dev/katasbx, open, when its module has the CID pool; else -1. */
static int cid_dev_open(void)
{
	struct katasbx_version v;
	int dev = open(KATASBX_DEVICE, O_RDWR | O_CLOEXEC);

	if (dev < 0)
		return -1;
	memset(&v, 0, sizeof(v));
	if (ioctl(dev, KATASBX_IOC_VERSION, &v) < 0 || !(v.features & KATASBX_FEAT_CID)) {
		close(dev);
		return -1;
	}
	return dev;
}

bool kx_dev_has_cids(void)
{
	int dev = cid_dev_open();

	if (dev < 0)
		return false;
	close(dev);
	return true;
}

int kx_dev_cid_lease(uint32_t *cid, int *fd, struct kx_err *err)
{
	struct katasbx_cid_reserve r;
	int dev, e;

	*fd = -1;
	dev = cid_dev_open();
	if (dev < 0)
		return 1;
	memset(&r, 0, sizeof(r));
	if (ioctl(dev, KATASBX_IOC_CID_RESERVE, &r) < 0) {
		e = errno;
		close(dev);
		return kx_error(err, e, "%s: reserve a vsock CID%s", KATASBX_DEVICE,
				e == ENOSPC ? " (every CID of cid_min..cid_max is taken)" : "");
	}
	close(dev);
	*cid = r.cid;
	*fd = r.fd;
	return 0;
}
