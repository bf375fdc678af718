/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KX_MOUNTOPT_H
#define KX_MOUNTOPT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The mount options the guest knows as flags (config.json's mounts[].options),
 * the one table for the agent (which mounts with them) and the host (which
 * lists them in `features`). Any other option goes to the filesystem as data
 * ("size=1m", "mode=755").
 */
struct kx_mount_opt {
	const char *name;
	bool clear;		/* the option clears flag ("rw" clears MS_RDONLY) */
	bool propagation;	/* flag is a propagation type, set after the mount */
	unsigned long flag;	/* MS_* */
};

extern const struct kx_mount_opt kx_mount_opts[];
extern const size_t kx_n_mount_opts;

/* The option of that name, or NULL. */
const struct kx_mount_opt *kx_mount_opt(const char *name);

#endif
