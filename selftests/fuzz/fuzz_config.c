// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the settings file (/etc/katasbx/katasbx.conf, libinih),
 * loaded from a memfd as the runtime, the shim and the monitors load it, and
 * the VM configuration derived from whatever it accepted.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "vmm/qemu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct kx_vm_config vc;
	struct kx_config c;
	struct kx_err err;
	char path[64];

	if (fd < 0)
		fd = memfd_create("katasbx.conf", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	kx_config_defaults(&c);
	if (!kx_config_load(&c, path, true, &err))
		kx_vm_config_from(&c, &vc, &err);
	return 0;
}
