/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Starting a sandbox's VM: as a copy-on-write clone of its template, or, when
 * templates are off or a clone cannot be had, as a fresh boot. Either way the
 * result is a running QEMU and a connected agent that answered Check.
 */
#ifndef KX_BOOT_H
#define KX_BOOT_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "kx_error.h"
#include "ttrpc.h"
#include "vmm/qemu.h"

struct kx_boot {
	struct kx_vm vm;
	struct ttrpc_conn agent;	/* fd -1 until connected */
	char how[40];			/* "cold" or "clone:KEY" */
	char accel[8];
	char channel[8];
};

/* Called as soon as QEMU runs, so that its pid can be recorded. */
typedef void (*kx_boot_started_fn)(void *ctx, const struct kx_boot *b);

/*
 * Boot the VM for sandbox ID with its sockets in rundir and share (the
 * rootfs) on 9p. A failed clone is said as a warning once the fresh boot
 * worked; if that fails too, only its error is returned. On failure nothing
 * is left running.
 */
int kx_boot_vm(const struct kx_config *cfg, const char *id, const char *rundir,
	       const char *share, bool share_readonly, struct kx_boot *b,
	       kx_boot_started_fn started, void *ctx, struct kx_err *err);
/* Close the agent connection and stop QEMU; safe to call twice. */
void kx_boot_stop(struct kx_boot *b);

#endif
