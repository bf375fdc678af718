/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Runtime settings: defaults, then the config file (/etc/katasbx/config.conf
 * or $KATASBX_CONFIG), then command-line flags. Also finds the guest image:
 * next to the binary in a build tree, in PREFIX/share/katasbx when installed.
 */
#ifndef KX_CONFIG_H
#define KX_CONFIG_H

#include <stdbool.h>

#include "hostcg.h"
#include "kx_error.h"
#include "vmm/qemu.h"

#define KX_CONFIG_FILE "/etc/katasbx/config.conf"
/* sandbox_overhead_mib's default: measured, see Documentation/operations.md */
#define KX_SANDBOX_OVERHEAD_MIB 192

struct kx_config {
	char root[1024];
	char kernel[1024];		/* "" = find */
	char initrd[1024];		/* "" = find */
	enum kx_accel accel;
	enum kx_channel channel;
	unsigned int mem_mib;
	unsigned int vcpus;
	unsigned int max_memory_mib;	/* the most a VM is sized to for a memory limit */
	unsigned int max_vcpus;		/* ... for a cpu quota; 0 = the host's CPUs */
	unsigned int tb_size_mib;	/* TCG translation cache of a booting VM */
	unsigned int clone_tb_size_mib;	/* ... of a clone, which runs far less code */
	unsigned int boot_timeout_ms;
	char kernel_params[512];	/* extra guest kernel parameters */
	bool template;			/* clone sandboxes from a template VM */
	char template_dir[1024];	/* "" = ROOT/.templates */
	bool warm;			/* take a VM from ROOT's warm pool when one runs */
	bool host_cgroups;		/* put each sandbox in its cgroup on the host (hostcg.h) */
	unsigned int sandbox_overhead_mib;	 /* added to a memory limit on the host */
	unsigned int sandbox_overhead_millicpus; /* ... and to a CPU quota, in CPU/1000 */
	bool systemd_cgroup;		/* --systemd-cgroup: cgroupsPath is systemd's */
	/* per sandbox, set by its monitor: QEMU's cgroup; NULL: the caller's */
	const struct kx_hostcg *hostcg;
	bool debug;
	char loaded_from[1024];		/* the settings file read, "" for none */
};

void kx_config_defaults(struct kx_config *c);
/* Load key = value lines; a missing default file is fine, a named one must exist. */
int kx_config_load(struct kx_config *c, const char *path, bool must_exist, struct kx_err *err);
/* Set one key (file key names: root, kernel, initrd, accel, channel, memory_mib, vcpus,
 * max_memory_mib, max_vcpus, tb_size_mib, clone_tb_size_mib, boot_timeout_ms, kernel_params,
 * template, template_dir, warm, host_cgroups, sandbox_overhead_mib,
 * sandbox_overhead_millicpus, debug). */
int kx_config_set(struct kx_config *c, const char *key, const char *value, struct kx_err *err);
/*
 * The VM these settings describe: QEMU, guest image, size, accelerator and
 * channel resolved for this host. Run directory, share and memory file are
 * left for the caller.
 */
int kx_vm_config_from(const struct kx_config *c, struct kx_vm_config *vc, struct kx_err *err);
/* Fill kernel/initrd when empty; error says where it looked and how to build. */
int kx_config_find_guest(struct kx_config *c, struct kx_err *err);

#endif
