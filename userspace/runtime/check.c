// SPDX-License-Identifier: GPL-2.0
/* check: what this host offers and what the runtime will use. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kxdev.h"
#include "runtime.h"
#include "vmm/qemu.h"

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

int cmd_check(struct kx_config *cfg, int argc, char **argv)
{
	struct kx_hostcaps caps;
	struct kx_err err;
	const char *why;
	enum kx_accel accel;
	enum kx_channel chan;
	bool guest_ok;

	if (argc != 1)
		return fail("usage: check");
	kx_hostcaps_probe(&caps);
	accel = kx_accel_choose(&caps, cfg->accel, &why);
	chan = kx_channel_choose(&caps, cfg->channel);
	guest_ok = kx_config_find_guest(cfg, &err) == 0;

	printf("qemu:          %s\n", caps.qemu[0] ? caps.qemu : "not found (install qemu-system-x86)");
	printf("/dev/kvm:      %s\n", caps.kvm_dev ? "opens" : "not usable");
	printf("vmx/svm:       %s\n", yes(caps.kvm_cpu));
	printf("vhost-vsock:   %s\n", yes(caps.vhost_vsock));
	printf("vhost-net:     %s\n", caps.vhost_net ? "yes" :
	       "no (QEMU moves network frames itself)");
	printf("/dev/katasbx:  %s\n", caps.katasbx_dev ? "present" : "absent (template memory falls back to memfd/tmpfs)");
	printf("cgroup v2:     %s%s%s\n", caps.cgroup2 ? caps.cgroup2_path : "no",
	       caps.cgroup2 && !caps.cgroup2_pure ? " (hybrid)" : "",
	       caps.cgroup2 && caps.cgroup2_pure ? " (unified)" : "");
	printf("accelerator:   %s (%s)\n", kx_accel_name(accel), why);
	printf("channel:       %s\n", kx_channel_name(chan));
	if (guest_ok) {
		printf("guest kernel:  %s\n", cfg->kernel);
		printf("guest initrd:  %s\n", cfg->initrd);
	} else {
		printf("guest image:   %s\n", err.msg);
	}
	printf("state root:    %s\n", cfg->root);
	if (cfg->template && kx_dev_present())
		printf("templates:     on, memory in /dev/katasbx (state under %s%s)\n",
		       cfg->template_dir[0] ? cfg->template_dir : cfg->root,
		       cfg->template_dir[0] ? "" : "/.templates");
	else if (cfg->template)
		printf("templates:     on, memory in files under %s%s (/dev/katasbx absent)\n",
		       cfg->template_dir[0] ? cfg->template_dir : cfg->root,
		       cfg->template_dir[0] ? "" : "/.templates");
	else
		printf("templates:     off (every sandbox boots its own kernel)\n");
	return caps.qemu[0] && guest_ok ? 0 : 1;
}
