/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The QEMU driver: builds the qemu-system-x86_64 -M microvm command line,
 * starts QEMU, speaks QMP (json-c) on a unix socket, connects to the agent
 * channel and stops the VM.
 */
#ifndef KX_VMM_QEMU_H
#define KX_VMM_QEMU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hostcg.h"
#include "kx_error.h"

enum kx_accel { KX_ACCEL_AUTO = 0, KX_ACCEL_KVM, KX_ACCEL_TCG };
enum kx_channel { KX_CHANNEL_AUTO = 0, KX_CHANNEL_SERIAL, KX_CHANNEL_VSOCK };

#define KX_AGENT_VSOCK_PORT 1024
#define KX_AGENT_SERIAL_NAME "katasbx.agent"
#define KX_ROOTFS_TAG "rootfs"

struct kx_hostcaps {
	bool kvm_dev;		/* /dev/kvm opens read-write */
	bool kvm_cpu;		/* vmx or svm in /proc/cpuinfo */
	bool vhost_vsock;	/* /dev/vhost-vsock opens */
	bool vhost_net;		/* /dev/vhost-net opens: the kernel moves a tap's frames */
	bool katasbx_dev;	/* /dev/katasbx exists */
	bool cgroup2;		/* a cgroup2 hierarchy is mounted */
	char cgroup2_path[256];	/* where, "" if none */
	bool cgroup2_pure;	/* /sys/fs/cgroup itself is cgroup2 */
	char qemu[256];		/* qemu-system-x86_64 found in PATH, "" if none */
};

void kx_hostcaps_probe(struct kx_hostcaps *caps);
/* The host TSC rate in kHz, measured once per process; 0 where there is no TSC. */
unsigned int kx_host_tsc_khz(void);
/* The accelerator to use; *why says why (for check and --debug). */
enum kx_accel kx_accel_choose(const struct kx_hostcaps *caps, enum kx_accel want,
			      const char **why);
enum kx_channel kx_channel_choose(const struct kx_hostcaps *caps, enum kx_channel want);
const char *kx_accel_name(enum kx_accel a);
const char *kx_channel_name(enum kx_channel c);
int kx_accel_parse(const char *s, enum kx_accel *a);		/* auto|kvm|tcg */
int kx_channel_parse(const char *s, enum kx_channel *c);	/* auto|serial|vsock */
/* True if a /proc/cpuinfo line is a "flags" line naming vmx or svm. */
bool kx_cpuinfo_line_has_virt(const char *line);

struct kx_vm_config {
	const char *qemu;		/* qemu binary */
	const char *kernel;		/* vmlinux (PVH) or vmlinuz */
	const char *initrd;
	const char *cmdline_extra;	/* appended to the kernel command line, may be NULL */
	unsigned int mem_mib;		/* default 256 */
	unsigned int vcpus;		/* default 1 */
	enum kx_accel accel;		/* resolved: KVM or TCG */
	unsigned int tb_size_mib;	/* TCG translation cache, default 32 */
	/*
	 * TCG: the host TSC rate told to a booting guest; 0: kx_vm_start measures
	 * it (10 ms; none without a constant TSC: the guest calibrates). Not
	 * needed, so not measured, for a restore (incoming).
	 */
	unsigned int tsc_khz;
	enum kx_channel channel;	/* resolved: SERIAL or VSOCK */
	uint32_t vsock_cid;		/* for VSOCK */
	const char *rundir;		/* holds qmp.sock, agent.sock, console.log */
	const char *share_path;		/* host directory shared over 9p as KX_ROOTFS_TAG */
	bool share_readonly;
	/* Guest RAM in a file: a template writes it (share), a clone maps it copy-on-write. */
	const char *mem_path;		/* NULL: anonymous RAM */
	bool mem_share;
	bool incoming;			/* start paused, waiting for kx_vm_restore */
	/*
	 * virtio-net devices, each backed by a tap whose fd (tap_fds[i]) QEMU
	 * inherits as fd KX_TAP_FD_BASE + i; device i has the MAC
	 * kx_net_device_mac(i). vhost_net: the kernel moves the frames
	 * (/dev/vhost-net opens), else QEMU does.
	 */
	unsigned int n_nics;
	const int *tap_fds;
	bool vhost_net;
	/*
	 * The cgroup QEMU starts in: clone3(CLONE_INTO_CGROUP) into its v2
	 * directory where the kernel has it, the rest (v1 hierarchies, or
	 * all as the fallback) joined by the child before exec. NULL: ours.
	 */
	const struct kx_hostcg *cgroup;
};

#define KX_TAP_FD_BASE 3

struct kx_vm {
	pid_t pid;
	int qmp_fd;
	enum kx_channel channel;
	uint32_t vsock_cid;
	char qmp_path[256];
	char agent_path[256];
	char console_path[256];
	char log_path[256];	/* QEMU's stderr */
	bool live;		/* set by kx_vm_start, cleared by kx_vm_stop */
	bool reaped;		/* QEMU already waited for; pid must not be waited again */
	int exit_status;	/* waitpid status once reaped */
	bool adopted;		/* started by another process (kx_vm_adopt): not ours to reap */
	int pidfd;		/* of QEMU, -1 if none; waited on by kx_vm_stop */
	int cid_lease_fd;	/* its vsock CID's lease from /dev/katasbx, -1 if none */
};

/* argv for QEMU, NULL-terminated, malloc'd (free with kx_argv_free). */
int kx_vm_build_argv(const struct kx_vm_config *cfg, char ***argv, struct kx_err *err);
void kx_argv_free(char **argv);
/*
 * Start QEMU as a child that dies with its parent (PR_SET_PDEATHSIG), wait
 * for its QMP socket and negotiate capabilities. On failure nothing is left
 * running and the error carries the tail of QEMU's stderr. With the vsock
 * channel and /dev/katasbx loaded, its CID is leased from the module (held
 * until kx_vm_stop, freed by the kernel if this process dies) in place of
 * cfg->vsock_cid; one the host's vhost-vsock refuses as in use by another
 * (EADDRINUSE) is kept aside while the next is leased.
 */
int kx_vm_start(const struct kx_vm_config *cfg, struct kx_vm *vm, struct kx_err *err);
/* Connect to the agent channel (unix socket or vsock), retrying until timeout. */
int kx_vm_connect_agent(struct kx_vm *vm, int timeout_ms, struct kx_err *err);
/*
 * Take over a VM that another process started and stays the parent of (a
 * warm pool's holder): its pid and a pidfd of it, its negotiated QMP
 * connection, its sockets and logs under rundir (where they may have been
 * moved since). Takes the two fds, closing them on failure.
 */
int kx_vm_adopt(struct kx_vm *vm, pid_t pid, int pidfd, int qmp_fd, const char *rundir,
		enum kx_channel channel, uint32_t vsock_cid, struct kx_err *err);
/*
 * QMP "quit", then SIGKILL after timeout_ms; reaps QEMU and removes the
 * sockets. Idempotent; a zeroed struct kx_vm is a no-op.
 */
void kx_vm_stop(struct kx_vm *vm, int timeout_ms);

/*
 * Snapshots (vmm/snapshot.c). Save: pause, then write the device state to
 * state_path with x-ignore-shared (RAM stays in the mem_path file). Restore:
 * a VM started with .incoming loads state_path, then runs.
 */
int kx_vm_save(struct kx_vm *vm, const char *state_path, int timeout_ms, struct kx_err *err);
int kx_vm_restore(struct kx_vm *vm, const char *state_path, int timeout_ms, struct kx_err *err);

/* QMP: send {"execute": cmd, "arguments": args_json} and wait for its return. */
int kx_qmp_execute(int qmp_fd, const char *cmd, const char *args_json, char **return_json,
		   int timeout_ms, struct kx_err *err);
/* QMP: read the greeting and negotiate capabilities (qmp_capabilities). */
int kx_qmp_handshake(int qmp_fd, int timeout_ms, struct kx_err *err);

/* The last non-empty line of a log (QEMU's, the guest console's), or "(no output)". */
void kx_file_last_line(const char *path, char *out, size_t outsz);

#endif
