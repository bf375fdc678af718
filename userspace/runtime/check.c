// SPDX-License-Identifier: GPL-2.0
/*
 * check: what this host offers and what the runtime will use; with --boot
 * (the default when the accelerator is KVM, which a host can offer and still
 * not run), that a guest really boots with it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "boot.h"
#include "fsutil.h"
#include "hostcg.h"
#include "kx_time.h"
#include "kxdev.h"
#include "log.h"
#include "runtime.h"
#include "vmm/qemu.h"

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

/*
 * Boot a guest as a sandbox's is booted (no template, no network, an empty
 * share) in a directory of its own under the root, up to the agent's Check;
 * then stop it and remove the directory. 0 when it booted.
 */
static int boot_guest(const struct kx_config *cfg, enum kx_accel accel)
{
	struct kx_config c = *cfg;
	char dir[PATH_MAX], share[PATH_MAX + 8];
	struct kx_boot b;
	struct kx_err err;
	int64_t t0;
	int ret;

	c.template = false;
	c.warm = false;
	if (snprintf(dir, sizeof(dir), "%s/.check.XXXXXX", cfg->root) >= (int)sizeof(dir) ||
	    kx_mkdir_p(cfg->root, 0700) || !mkdtemp(dir)) {
		printf("boot:          cannot make a directory under %s: %s\n", cfg->root,
		       strerror(errno));
		return -1;
	}
	snprintf(share, sizeof(share), "%s/share", dir);
	if (mkdir(share, 0700)) {
		printf("boot:          mkdir %s: %s\n", share, strerror(errno));
		rmdir(dir);
		return -1;
	}
	fflush(stdout);
	t0 = kx_now_ms();
	ret = kx_boot_vm(&c, "check", dir, share, true, NULL, &b, NULL, NULL, &err);
	if (!ret) {
		printf("boot:          a guest booted with %s in %.1f s\n", kx_accel_name(accel),
		       (kx_now_ms() - t0) / 1e3);
		kx_boot_stop(&b);
	} else {
		printf("boot:          failed with %s: %s\n", kx_accel_name(accel), err.msg);
		if (accel == KX_ACCEL_KVM)
			printf("               (a /dev/kvm that opens can still not run this guest, "
			       "e.g. a paravirtual one: try --accel tcg)\n");
	}
	kx_vm_dir_remove(dir);
	return ret;
}

/* Where sandboxes' host processes go, as a create here would place them. */
static void host_cgroups(const struct kx_config *cfg)
{
	struct kx_hostcg cg;
	struct kx_err err;
	struct utsname u;
	int major = 0, minor = 0;

	if (!cfg->host_cgroups) {
		printf("host cgroups:  off (host_cgroups = false: sandboxes stay in the caller's)\n");
		return;
	}
	if (kx_hostcg_resolve(NULL, "ID", &cg, &err)) {
		printf("host cgroups:  none: %s\n", err.msg);
		return;
	}
	uname(&u);
	sscanf(u.release, "%d.%d", &major, &minor);
	printf("host cgroups:  %s; a sandbox without linux.cgroupsPath goes to %s%s\n",
	       cg.unified ? "cgroup v2" : "each v1 hierarchy and the unified one, as runc's",
	       cg.d[0].path, cg.n > 1 ? ", ..." : "");
	printf("               plus %u MiB and %u millicpus of overhead on its limits; QEMU "
	       "spawned %s; from cgroupfs (not the module's pool)\n",
	       cfg->sandbox_overhead_mib, cfg->sandbox_overhead_millicpus,
	       major > 5 || (major == 5 && minor >= 7) ? "with clone3(CLONE_INTO_CGROUP)" :
	       "and then moved (the kernel predates clone3's CLONE_INTO_CGROUP)");
}

int cmd_check(struct kx_config *cfg, int argc, char **argv)
{
	enum { O_BOOT = 256, O_NO_BOOT };
	static const struct option opts[] = {
		{ "boot", no_argument, NULL, O_BOOT },
		{ "no-boot", no_argument, NULL, O_NO_BOOT },
		{ 0 }
	};
	struct kx_hostcaps caps;
	struct kx_err err;
	const char *why;
	enum kx_accel accel;
	enum kx_channel chan;
	bool guest_ok;
	int boot = -1, c;

	while ((c = getopt_cmd(argc, argv, "+", opts)) != -1) {
		if (c == O_BOOT || c == O_NO_BOOT)
			boot = c == O_BOOT;
		else
			return 1;
	}
	if (optind != argc)
		return fail("usage: check [--boot|--no-boot]");
	kx_hostcaps_probe(&caps);
	accel = kx_accel_choose(&caps, cfg->accel, &why);
	chan = kx_channel_choose(&caps, cfg->channel);
	guest_ok = kx_config_find_guest(cfg, &err) == 0;

	printf("settings:      %s\n", cfg->loaded_from[0] ? cfg->loaded_from :
	       "none (" KX_CONFIG_FILE " absent: the defaults)");
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
	printf("vsock CIDs:    %s\n", chan != KX_CHANNEL_VSOCK ? "none needed (virtio-serial)" :
	       kx_dev_has_cids() ? "leased from /dev/katasbx (freed when a monitor dies)" :
	       "1000 + the monitor's pid (/dev/katasbx absent)");
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
	host_cgroups(cfg);
	if (!caps.qemu[0] || !guest_ok)
		return 1;
	if (boot < 0)
		boot = accel == KX_ACCEL_KVM;
	return boot && boot_guest(cfg, accel) ? 1 : 0;
}
