/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM a container's limits need: memory for its memory.max and the
 * guest's own use, vCPUs for its cpu.max quota (the limits as the guest
 * cgroup's writes, oci_resources.c), between the settings' memory_mib and
 * vcpus and their max_memory_mib and max_vcpus.
 */
#ifndef KX_VMSIZE_H
#define KX_VMSIZE_H

#include <stddef.h>

#include "agent.pb-c.h"
#include "config.h"

/*
 * What the guest keeps for itself (kernel, its page structures, the initrd's
 * files, the agent), in MiB, of a VM of mem_mib: what a container's memory
 * limit is short of before it is reached.
 */
unsigned int kx_guest_overhead_mib(unsigned int mem_mib);
/*
 * The memory and vCPUs of a VM for these writes: cfg's memory_mib doubled
 * until a memory.max fits beside the guest's overhead (size classes, so that
 * few templates serve every limit), cfg's vcpus or a cpu.max quota's CPUs if
 * more; at most max_memory_mib and max_vcpus, and then a warning line
 * ("config.json: FIELD: ...") in warn (else "").
 */
void kx_vm_size(const struct kx_config *cfg, Katasbx__Agent__V1__CgroupWrite *const *w,
		size_t n, unsigned int *mem_mib, unsigned int *vcpus, char *warn, size_t len);
/*
 * For limits changed on a running VM of mem_mib and vcpus (which do not
 * grow): a warning line, "DOC: FIELD: ...", for each limit above what the VM
 * has; "" when none is.
 */
void kx_vm_size_check(unsigned int mem_mib, unsigned int vcpus, const char *doc,
		      Katasbx__Agent__V1__CgroupWrite *const *w, size_t n, char *warn,
		      size_t len);

#endif
