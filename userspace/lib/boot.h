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
#include "net/sandbox.h"
#include "oci.h"
#include "ttrpc.h"
#include "vmm/qemu.h"

struct kx_boot {
	struct kx_vm vm;
	struct ttrpc_conn agent;	/* fd -1 until connected */
	char how[40];			/* "cold", "clone:KEY" or "warm:KEY" */
	char rootfs_subdir[16];		/* the rootfs's directory in the share; "" for a pod's */
	char vm_dir[4200];		/* the VM's directory with its share (share.h), unmounted
					 * and removed at stop; "" for a pod's */
	char accel[8];
	char channel[8];
};

/* Called as soon as QEMU runs, so that its pid can be recorded. */
typedef void (*kx_boot_started_fn)(void *ctx, const struct kx_boot *b);

/*
 * Boot the VM for sandbox ID with its sockets in rundir and share (the
 * rootfs) on 9p, and with net's interfaces (kx_net_open; NULL or none: no
 * network device) wired to its taps. A failed clone is said as a warning
 * once the fresh boot worked; if that fails too, only its error is
 * returned. On failure nothing is left running, nothing wired.
 */
int kx_boot_vm(const struct kx_config *cfg, const char *id, const char *rundir,
	       const char *share, bool share_readonly, struct kx_net *net, struct kx_boot *b,
	       kx_boot_started_fn started, void *ctx, struct kx_err *err);
/*
 * The VM of a sandbox that is not a pod's: its share is rundir/vm/share,
 * holding spec's rootfs and bind mounts (share.h). Taken from the warm pool
 * of cfg->root (pool.h) when cfg->warm and one fits: its directory moves to
 * rundir/vm, it runs again and takes the sandbox's identity, and QEMU stays
 * the child of the pool's holder, which kills it if this process dies first.
 * Else cloned or booted as kx_boot_vm does. On failure nothing is left.
 */
int kx_boot_sandbox(const struct kx_config *cfg, const char *id, const char *rundir,
		    const struct kx_spec *spec, struct kx_net *net, struct kx_boot *b,
		    kx_boot_started_fn started, void *ctx, struct kx_err *err);
/*
 * A VM for the warm pool as vc (kx_vm_config_from, the caller's probe of the
 * host, whose template key it computed) says: cloned (or booted) with its
 * sockets in rundir and share on 9p, its agent answered, no identity yet
 * (kx_boot_warm gives it one). With vc->n_nics network devices, their taps
 * in a namespace of their own, *netns_fd (else -1), where a claimer takes
 * them from (kx_net_adopt_taps).
 */
int kx_boot_pool_vm(const struct kx_config *cfg, struct kx_vm_config *vc, const char *rundir,
		    const char *share, struct kx_boot *b, int *netns_fd, struct kx_err *err);
/* Close the agent connection and stop QEMU (and unmount and remove a warm VM's
 * directory); safe to call twice. */
void kx_boot_stop(struct kx_boot *b);

#endif
