/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kxdev: template memory in /dev/katasbx (katasbx.ko), without a daemon.
 *
 * A template registered here is persistent (KATASBX_TEMPLATE_F_PERSIST): the
 * module holds its memory and keeps its node /dev/katasbx-t<id> published
 * after the registering process exits, until kx_dev_template_destroy(). A
 * tag (the runtime's template key) names it, so another runtime process
 * finds it with kx_dev_template_find(). A clone is QEMU with
 * memory-backend-file,mem-path=<node>,share=off. Needs root (CAP_SYS_ADMIN
 * for register and destroy; the device is mode 0600).
 * See Documentation/kmod.md.
 */
#ifndef KX_DEV_H
#define KX_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kx_error.h"

/* Longest tag, in bytes, without its NUL (the module's tags are 64 bytes). */
#define KX_DEV_TAG_MAX 63

/* /dev/katasbx opens and its module has persistent templates (ABI >= 2). */
bool kx_dev_present(void);

/*
 * Copies the first @size bytes (page-aligned, non-zero) of @mem_file into a
 * new persistent template tagged @tag (1..KX_DEV_TAG_MAX bytes), makes sure
 * its node exists (devtmpfs makes it; otherwise it is created in /dev from
 * the device number) and writes the node's path to @node_path. If a
 * template with @tag is registered already (another runtime won the race),
 * nothing is copied and that template's node is returned. 0 or -1.
 */
int kx_dev_template_register(const char *mem_file, uint64_t size, const char *tag,
			     char *node_path, size_t len, struct kx_err *err);

/*
 * The node of the template tagged @tag, made if missing as above:
 * 0 found (@node_path set), 1 not registered, -1 error.
 */
int kx_dev_template_find(const char *tag, char *node_path, size_t len, struct kx_err *err);

/*
 * Drops the template tagged @tag: its node goes at once, running clones keep
 * their memory until they exit. 0 destroyed, 1 not registered, -1 error.
 */
int kx_dev_template_destroy(const char *tag, struct kx_err *err);

/*
 * A vsock CID from the module's pool (KATASBX_IOC_CID_RESERVE): *cid set and
 * *fd the lease that owns it (close-on-exec; closing it, or its process's
 * death, frees the CID). 0 leased, 1 when there is no such pool (no
 * /dev/katasbx, or a module without it), -1 on error (every CID taken).
 */
int kx_dev_cid_lease(uint32_t *cid, int *fd, struct kx_err *err);
/* /dev/katasbx opens and has the CID pool kx_dev_cid_lease takes from. */
bool kx_dev_has_cids(void);

#endif
