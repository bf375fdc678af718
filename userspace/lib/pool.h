/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The warm pool: VMs started ahead of demand, so that a sandbox start only
 * takes one, binds its rootfs into it and lets it run on.
 *
 * A keeper (katasbx-runtime pool) keeps SIZE of them ready under ROOT/.pool.
 * Each is held by a holder process, QEMU's parent: it clones the VM from the
 * template, waits for its agent's Check, pauses it, and listens on
 * ROOT/.pool/vm-*\/claim.sock. A claimer sends "claim KEY" (the template key
 * of its own VM settings); a holder whose VM has that key answers "ok" with
 * a pidfd of QEMU, the QMP and agent connections, stops listening, and from
 * then on only reaps QEMU when it exits. A VM's directory holds its sockets,
 * its logs and share/, the 9p share, whose share/rootfs the claimer binds
 * the sandbox's rootfs on.
 */
#ifndef KX_POOL_H
#define KX_POOL_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "kx_error.h"
#include "share.h"
#include "template.h"
#include "vmm/qemu.h"

#define KX_POOL_SIZE_MAX 64

struct kx_pool_vm {
	char dir[4096];		/* its directory, ROOT/.pool/vm-* */
	char key[KX_TEMPLATE_KEY_LEN + 1];
	pid_t pid;		/* QEMU */
	int pidfd, qmp_fd, agent_fd;
	int netns_fd;		/* where its taps wait (kx_net_adopt_taps), -1: it has none */
	enum kx_channel channel;
	uint32_t vsock_cid;
};

/* ROOT/.pool */
void kx_pool_dir(char *buf, size_t len, const char *root);
/* Claim a ready VM of ROOT's pool whose template key is key. -1 and err when none. */
int kx_pool_claim(const char *root, const char *key, struct kx_pool_vm *v, struct kx_err *err);
/*
 * The keeper, in the foreground until SIGTERM, SIGINT or SIGHUP: keeps size
 * VMs of cfg ready, each with n_nics network devices (sandboxes whose
 * network namespace has that many interfaces take them), then stops the
 * unclaimed ones and returns 0. Claimed ones belong to their sandboxes and
 * are left alone. -1 with err if it cannot start (another keeper runs for
 * the root, no guest image, ...).
 */
int kx_pool_keep(const struct kx_config *cfg, unsigned int size, unsigned int n_nics,
		 struct kx_err *err);

#endif
