/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VM templates: a VM booted once per configuration, paused once its agent
 * answered, its RAM left in a file and its device state saved. A clone maps
 * that RAM copy-on-write and restores the state instead of booting.
 *
 * Templates live in DIR/KEY/ (DIR is ROOT/.templates by default), KEY a hash
 * of everything that shapes the VM: QEMU, kernel and initrd (path, size,
 * mtime, inode), memory, vCPUs, accelerator, channel, kernel parameters.
 * Making one is serialised by DIR/KEY.lock, so racing runtimes make it once.
 *
 * Where /dev/katasbx is there, the template's memory is registered in it,
 * tagged with KEY, and clones map its node instead of the file.
 */
#ifndef KX_TEMPLATE_H
#define KX_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "kx_error.h"
#include "vmm/qemu.h"

#define KX_TEMPLATE_KEY_LEN 16

struct kx_template {
	char key[KX_TEMPLATE_KEY_LEN + 1];
	char dir[4096];
	char mem_path[4200];	/* what a clone maps: the file, or the /dev/katasbx node */
	char state_path[4200];
	unsigned int mem_mib;
	bool made;		/* made by this call rather than found */
	bool in_kernel;		/* memory held by /dev/katasbx */
	bool guest_silent;	/* making it failed: its guest did not answer in time */
};

/* DIR for a state root. */
void kx_template_dir(char *buf, size_t len, const char *root);
/* The key of the VM described by vc (only the fields that shape the guest). */
int kx_template_key(const struct kx_vm_config *vc, char key[KX_TEMPLATE_KEY_LEN + 1],
		    struct kx_err *err);
/*
 * Find the template for vc, or make it: boot, wait for the agent's Check
 * (up to boot_timeout_ms), pause, save. vc's rundir, share and memory fields
 * are ignored.
 */
int kx_template_get(const char *dir, const struct kx_vm_config *vc, int boot_timeout_ms,
		    struct kx_template *t, struct kx_err *err);
/*
 * Remove DIR/KEY (and its memory in /dev/katasbx). Clones that run keep their
 * mapping of its memory and keep working; new clones make a new template.
 */
int kx_template_destroy(const char *dir, const char *key, struct kx_err *err);
/* Keys of the templates in DIR, sorted; free with kx_strv_free. */
char **kx_template_list(const char *dir, size_t *n);
/* DIR/KEY/meta.json as text (caller frees), NULL if absent. */
char *kx_template_meta(const char *dir, const char *key);

#endif
