// SPDX-License-Identifier: GPL-2.0
#include "boot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "fsutil.h"
#include "kx_time.h"
#include "log.h"
#include "net/sandbox.h"
#include "pool.h"
#include "share.h"
#include "template.h"

#define AGENT_SERVICE "katasbx.agent.v1.AgentService"
/* more TCG translation cache for a clone with network devices (clone_boot) */
#define KX_NET_CLONE_TB_EXTRA_MIB 8

struct booting {
	const struct kx_config *cfg;
	const char *id;
	struct kx_boot *b;
	kx_boot_started_fn started;
	void *ctx;
	struct kx_net *net;	/* the sandbox's network, NULL or n 0: none */
	bool pool;		/* a warm pool's VM: its identity comes when claimed */
	char warning[1200];	/* why a clone was not possible, said if booting works */
	bool guest_silent;	/* the template's guest did not answer: a boot's would not */
};

/*
 * A restored guest's vsock transport resets the connections that reached it
 * before it took in the reset event of its restore (seen nested: a clone's
 * first Check over vsock was "connection reset by peer"): connect again.
 */
static bool vsock_reset(const struct kx_vm *vm, const struct kx_err *err)
{
	return vm->channel == KX_CHANNEL_VSOCK &&
	       (err->errnum == ECONNRESET || err->errnum == EPIPE || err->errnum == ECONNABORTED);
}

/* Connect to the agent and wait for its Check. */
static int agent_up(struct booting *bt, int timeout_ms, struct kx_err *err)
{
	Katasbx__Agent__V1__Empty empty = KATASBX__AGENT__V1__EMPTY__INIT;
	Katasbx__Agent__V1__CheckResponse *check = NULL;
	int64_t deadline = kx_now_ms() + timeout_ms;
	int fd, left, failed;

	for (;;) {
		left = (int)(deadline - kx_now_ms());
		fd = kx_vm_connect_agent(&bt->b->vm, left > 0 ? left : 1, err);
		if (fd < 0)
			return -1;
		ttrpc_conn_init(&bt->b->agent, fd);
		failed = ttrpc_call(&bt->b->agent, AGENT_SERVICE, "Check", &empty.base,
				    &katasbx__agent__v1__check_response__descriptor,
				    (ProtobufCMessage **)&check, left > 0 ? left : 1, err);
		if (!failed || !vsock_reset(&bt->b->vm, err) || kx_now_ms() >= deadline)
			break;
		kx_debug("agent over vsock: %s; connecting again", err->msg);
		ttrpc_conn_close(&bt->b->agent);
	}
	if (failed) {
		char tail[300], qemu[300];

		/*
		 * The console and QEMU's log go with the state directory: their last
		 * words go in the error
		 */
		kx_file_last_line(bt->b->vm.console_path, tail, sizeof(tail));
		kx_file_last_line(bt->b->vm.log_path, qemu, sizeof(qemu));
		return kx_error_wrap(err, "the guest agent did not answer (the guest console's "
				     "last line: %s; QEMU's: %s)", tail, qemu);
	}
	kx_debug("phase agent-ready %.1f ms, guest kernel %s", kx_log_elapsed_ms(),
		 check->kernel_release);
	katasbx__agent__v1__check_response__free_unpacked(check, NULL);
	return 0;
}

static int cold_boot(struct booting *bt, const struct kx_vm_config *vc, struct kx_err *err)
{
	if (kx_vm_start(vc, &bt->b->vm, err))
		return -1;
	kx_debug("phase qemu-ready %.1f ms", kx_log_elapsed_ms());
	snprintf(bt->b->how, sizeof(bt->b->how), "cold");
	if (bt->started)
		bt->started(bt->ctx, bt->b);
	return agent_up(bt, bt->cfg->boot_timeout_ms, err);
}

/* A clone must not share the template's RNG state, clock or name. */
static int set_identity(struct booting *bt, uint32_t cid, struct kx_err *err)
{
	Katasbx__Agent__V1__SetIdentityRequest r = KATASBX__AGENT__V1__SET_IDENTITY_REQUEST__INIT;
	uint8_t entropy[64];
	char host[65];
	struct timespec now;

	if (getrandom(entropy, sizeof(entropy), 0) != sizeof(entropy))
		return kx_error(err, errno, "getrandom");
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(host, sizeof(host), "%s", bt->id);
	r.entropy.data = entropy;
	r.entropy.len = sizeof(entropy);
	r.realtime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	r.hostname = host;
	r.vsock_cid = cid;
	return ttrpc_call(&bt->b->agent, AGENT_SERVICE, "SetIdentity", &r.base,
			  &katasbx__agent__v1__empty__descriptor, NULL, 10000, err);
}

/*
 * Start the sandbox as a clone of its template: map the template's RAM
 * copy-on-write and restore its saved state instead of booting. False (with
 * a warning, nothing left running) when that cannot be done: the caller
 * boots instead.
 */
static bool clone_boot(struct booting *bt, const struct kx_vm_config *base)
{
	const struct kx_config *cfg = bt->cfg;
	struct kx_vm_config vc = *base;
	int timeout = cfg->boot_timeout_ms < 10000 ? cfg->boot_timeout_ms : 10000;
	struct kx_template t;
	char dir[4096];
	struct kx_err err;

	if (cfg->template_dir[0])
		snprintf(dir, sizeof(dir), "%s", cfg->template_dir);
	else
		kx_template_dir(dir, sizeof(dir), cfg->root);
	if (kx_template_get(dir, base, cfg->boot_timeout_ms, &t, &err)) {
		snprintf(bt->warning, sizeof(bt->warning), "%s", err.msg);
		bt->guest_silent = t.guest_silent;
		return false;
	}
	kx_debug("phase template-ready %.1f ms, template %s (%s, memory in %s)",
		 kx_log_elapsed_ms(), t.key, t.made ? "made now" : "found", t.mem_path);
	vc.mem_path = t.mem_path;
	vc.mem_share = false;
	vc.incoming = true;
	/*
	 * A pool VM has also run its warm-up: with a clone's smaller cache the
	 * sandbox's own code then overflows it and TCG flushes everything
	 * (measured here: a warm run's exec to exit took 100 ms instead of 35).
	 */
	vc.tb_size_mib = bt->pool ? cfg->tb_size_mib : cfg->clone_tb_size_mib;
	/*
	 * A clone with network devices runs the guest's code for them too
	 * (rename, MAC, MTU, up, addresses, routes): in 16 MiB the exit that
	 * follows was retranslated after a flush (measured: exit 150-220 ms
	 * instead of 60-110). The cache is mapped as it fills, so the extra
	 * costs memory only where it is used.
	 */
	if (!bt->pool && vc.n_nics)
		vc.tb_size_mib += KX_NET_CLONE_TB_EXTRA_MIB;
	if (kx_vm_start(&vc, &bt->b->vm, &err))
		goto fail;
	kx_debug("phase qemu-ready %.1f ms", kx_log_elapsed_ms());
	if (bt->started)
		bt->started(bt->ctx, bt->b);
	if (kx_vm_restore(&bt->b->vm, t.state_path, timeout, &err))
		goto fail;
	kx_debug("phase restored %.1f ms", kx_log_elapsed_ms());
	if (agent_up(bt, timeout, &err) || (!bt->pool && set_identity(bt, bt->b->vm.vsock_cid, &err)))
		goto fail;
	snprintf(bt->b->how, sizeof(bt->b->how), "clone:%s", t.key);
	return true;
fail:
	snprintf(bt->warning, sizeof(bt->warning), "clone of template %s: %s", t.key,
		 err.msg);
	if (bt->b->agent.fd >= 0)
		ttrpc_conn_close(&bt->b->agent);
	kx_vm_stop(&bt->b->vm, 1000);
	return false;
}

/*
 * Clone or boot the VM vc (kx_vm_config_from) describes, rundir and share
 * filled in, its network devices backed by taps[0..ntaps).
 */
static int boot_vm(struct booting *bt, struct kx_vm_config *vc, const char *rundir,
		   const char *share, bool share_readonly, const int *taps, unsigned int ntaps,
		   struct kx_err *err)
{
	const struct kx_config *cfg = bt->cfg;
	struct kx_boot *b = bt->b;

	memset(b, 0, sizeof(*b));
	b->agent.fd = -1;
	b->vm.qmp_fd = -1;
	vc->rundir = rundir;
	vc->share_path = share;
	vc->share_readonly = share_readonly;
	vc->n_nics = ntaps;
	vc->tap_fds = taps;
	snprintf(b->accel, sizeof(b->accel), "%s", kx_accel_name(vc->accel));
	snprintf(b->channel, sizeof(b->channel), "%s", kx_channel_name(vc->channel));
	if (cfg->template && clone_boot(bt, vc))
		return 0;
	/* the same kernel, initrd and accelerator: waiting a second boot timeout is no use */
	if (bt->guest_silent) {
		kx_error(err, 0, "%s", bt->warning);
		err->errnum = ETIMEDOUT;
		return -1;
	}
	/* a failure that stops the boot too is reported once, as the boot's */
	if (cold_boot(bt, vc, err)) {
		kx_boot_stop(b);
		return -1;
	}
	if (bt->warning[0])
		kx_warn("%s; booted a fresh VM instead", bt->warning);
	return 0;
}

/* boot_vm with taps made in the sandbox's network namespace, wired once it runs. */
static int boot_net_vm(struct booting *bt, struct kx_vm_config *vc, const char *rundir,
		       const char *share, bool share_readonly, struct kx_err *err)
{
	unsigned int ntaps = bt->net ? bt->net->n : 0;
	int taps[KX_NET_MAX_IFACES] = { -1, -1, -1, -1 }, ret;

	if (ntaps && kx_net_make_taps(bt->net, taps, err))
		return -1;
	ret = boot_vm(bt, vc, rundir, share, share_readonly, taps, ntaps, err);
	/* QEMU holds the taps now (or is gone, and they go with these) */
	for (unsigned int i = 0; i < ntaps; i++)
		close(taps[i]);
	if (!ret && ntaps && kx_net_wire(bt->net, err)) {
		kx_boot_stop(bt->b);
		ret = -1;
	}
	return ret;
}

int kx_boot_vm(const struct kx_config *cfg, const char *id, const char *rundir,
	       const char *share, bool share_readonly, struct kx_net *net, struct kx_boot *b,
	       kx_boot_started_fn started, void *ctx, struct kx_err *err)
{
	struct booting bt = { .cfg = cfg, .id = id, .b = b, .started = started, .ctx = ctx,
			      .net = net };
	struct kx_vm_config vc;

	if (kx_vm_config_from(cfg, &vc, err))
		return -1;
	return boot_net_vm(&bt, &vc, rundir, share, share_readonly, err);
}

int kx_boot_pool_vm(const struct kx_config *cfg, struct kx_vm_config *vc, const char *rundir,
		    const char *share, struct kx_boot *b, int *netns_fd, struct kx_err *err)
{
	struct booting bt = { .cfg = cfg, .id = "warm", .b = b, .pool = true };
	unsigned int n_nics = vc->n_nics;
	int taps[KX_NET_MAX_IFACES] = { -1, -1, -1, -1 }, ret;

	*netns_fd = -1;
	if (n_nics > KX_NET_MAX_IFACES)
		return kx_error(err, EINVAL, "%u network interfaces: a VM takes at most %d",
				n_nics, KX_NET_MAX_IFACES);
	/* the taps wait in a namespace of their own until a sandbox claims the VM */
	if (n_nics && kx_net_scratch_taps(n_nics, taps, netns_fd, err))
		return -1;
	ret = boot_vm(&bt, vc, rundir, share, false, taps, n_nics, err);
	for (unsigned int i = 0; i < n_nics; i++)
		close(taps[i]);
	if (ret && *netns_fd >= 0) {
		close(*netns_fd);
		*netns_fd = -1;
	}
	return ret;
}

/* The pool VM v is claimed: make it this sandbox's. False: b is stopped. */
static bool adopt_warm(struct booting *bt, struct kx_pool_vm *v, const char *rundir,
		       const struct kx_spec *spec)
{
	struct kx_boot *b = bt->b;
	struct kx_err err;

	if (snprintf(b->vm_dir, sizeof(b->vm_dir), "%s/vm", rundir) >= (int)sizeof(b->vm_dir) ||
	    rename(v->dir, b->vm_dir)) {
		snprintf(bt->warning, sizeof(bt->warning), "move warm VM %s to %s: %s", v->dir,
			 b->vm_dir, strerror(errno));
		snprintf(b->vm_dir, sizeof(b->vm_dir), "%s", v->dir);
		close(v->agent_fd);
		kx_vm_adopt(&b->vm, v->pid, v->pidfd, v->qmp_fd, v->dir, v->channel,
			    v->vsock_cid, &err);
		goto fail;
	}
	ttrpc_conn_init(&b->agent, v->agent_fd);
	if (kx_vm_adopt(&b->vm, v->pid, v->pidfd, v->qmp_fd, b->vm_dir, v->channel,
			v->vsock_cid, &err))
		goto fail_err;
	/* made before the sandbox was known, it moves into the sandbox's cgroup */
	if (bt->cfg->hostcg && kx_hostcg_attach(bt->cfg->hostcg, v->pid, &err))
		goto fail_err;
	if (bt->started)
		bt->started(bt->ctx, b);
	/* its taps, waiting in a namespace of their own, go to the sandbox's */
	if (bt->net && bt->net->n &&
	    (kx_net_adopt_taps(bt->net, v->netns_fd, &err) || kx_net_wire(bt->net, &err)))
		goto fail_err;
	/*
	 * The pool VM's share was made before the sandbox was known: its rootfs
	 * and bind mounts go in now, read-only ones made so on the host.
	 */
	if (kx_share_setup(b->vm_dir, spec, &err) ||
	    kx_qmp_execute(b->vm.qmp_fd, "cont", NULL, NULL, 5000, &err) ||
	    set_identity(bt, v->vsock_cid, &err))
		goto fail_err;
	snprintf(b->rootfs_subdir, sizeof(b->rootfs_subdir), "%s", KX_SHARE_ROOTFS);
	snprintf(b->how, sizeof(b->how), "warm:%s", v->key);
	return true;
fail_err:
	snprintf(bt->warning, sizeof(bt->warning), "warm VM %s: %s", v->dir, err.msg);
fail:
	kx_boot_stop(b);
	/* QEMU is gone and its taps with it; what was wired goes too, for the clone to come */
	if (bt->net)
		kx_net_unwire(bt->net);
	return false;
}

/* A VM from the pool: true, or false with nothing changed (then b is zeroed). */
static bool boot_warm(struct booting *bt, const struct kx_vm_config *vc, const char *rundir,
		      const struct kx_spec *spec)
{
	struct kx_boot *b = bt->b;
	struct kx_pool_vm v;
	char key[KX_TEMPLATE_KEY_LEN + 1];
	struct kx_err err;
	bool ok;

	if (kx_template_key(vc, key, &err) || kx_pool_claim(bt->cfg->root, key, &v, &err)) {
		kx_debug("no warm VM: %s", err.msg);
		return false;
	}
	kx_debug("phase claimed %.1f ms, warm VM %s (pid %d)", kx_log_elapsed_ms(), v.dir,
		 (int)v.pid);
	snprintf(b->accel, sizeof(b->accel), "%s", kx_accel_name(vc->accel));
	snprintf(b->channel, sizeof(b->channel), "%s", kx_channel_name(v.channel));
	ok = adopt_warm(bt, &v, rundir, spec);
	if (v.netns_fd >= 0)
		close(v.netns_fd);
	if (!ok) {
		kx_warn("%s; starting the sandbox otherwise", bt->warning);
		memset(b, 0, sizeof(*b));
		b->agent.fd = -1;
		return false;
	}
	kx_debug("phase agent-ready %.1f ms, warm VM resumed", kx_log_elapsed_ms());
	return true;
}

int kx_boot_sandbox(const struct kx_config *cfg, const char *id, const char *rundir,
		    const struct kx_spec *spec, struct kx_net *net, struct kx_boot *b,
		    kx_boot_started_fn started, void *ctx, struct kx_err *err)
{
	struct booting bt = { .cfg = cfg, .id = id, .b = b, .started = started, .ctx = ctx,
			      .net = net };
	char vmdir[4200], share[4300];
	struct kx_vm_config vc;

	memset(b, 0, sizeof(*b));
	b->agent.fd = -1;
	b->vm.qmp_fd = -1;
	/* the host probed once, for a warm VM's key and for a clone or boot alike */
	if (kx_vm_config_from(cfg, &vc, err))
		return -1;
	/* the warm VM's key counts its network devices */
	vc.n_nics = net ? net->n : 0;
	if (cfg->warm && boot_warm(&bt, &vc, rundir, spec))
		return 0;
	if (snprintf(vmdir, sizeof(vmdir), "%s/vm", rundir) >= (int)sizeof(vmdir))
		return kx_error(err, ENAMETOOLONG, "VM directory in %s", rundir);
	snprintf(share, sizeof(share), "%s/share", vmdir);
	if (kx_share_setup(vmdir, spec, err) ||
	    boot_net_vm(&bt, &vc, rundir, share, false, err)) {
		kx_vm_dir_remove(vmdir);
		return -1;
	}
	snprintf(b->vm_dir, sizeof(b->vm_dir), "%s", vmdir);
	snprintf(b->rootfs_subdir, sizeof(b->rootfs_subdir), "%s", KX_SHARE_ROOTFS);
	return 0;
}

void kx_boot_stop(struct kx_boot *b)
{
	if (b->agent.fd >= 0)
		ttrpc_conn_close(&b->agent);
	kx_vm_stop(&b->vm, 1000);
	if (b->vm_dir[0]) {
		kx_vm_dir_remove(b->vm_dir);
		b->vm_dir[0] = '\0';
	}
}
