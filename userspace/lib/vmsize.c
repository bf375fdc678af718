// SPDX-License-Identifier: GPL-2.0
/* A VM sized for a container's limits (vmsize.h). */
#include "vmsize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_VCPUS 64	/* the settings' own bound on vcpus */

/*
 * Measured with this build's guest (Debian's 6.1 kernel, the initrd in
 * build/guest), MemAvailable in an idle container: 167 MiB of a 256 MiB VM,
 * 414 of 512, a kernel's page structures growing with the memory; 162 of 256
 * since the initramfs stays for its modules on demand (5 MiB). 96 MiB and
 * 1/64 of the VM is a little more than that at both sizes.
 */
unsigned int kx_guest_overhead_mib(unsigned int mem_mib)
{
	return 96 + mem_mib / 64;
}

static bool fits(uint64_t limit_mib, unsigned int mem_mib)
{
	return limit_mib + kx_guest_overhead_mib(mem_mib) <= mem_mib;
}

/* what a VM of mem_mib leaves a container */
static unsigned int room(unsigned int mem_mib)
{
	unsigned int ov = kx_guest_overhead_mib(mem_mib);

	return mem_mib > ov ? mem_mib - ov : 0;
}

/* memory.max in MiB, rounded up; 0 for "max" and for other files */
static uint64_t memory_mib(const Katasbx__Agent__V1__CgroupWrite *w)
{
	if (strcmp(w->file, "memory.max") || !strcmp(w->value, "max"))
		return 0;
	return (strtoull(w->value, NULL, 10) + (1 << 20) - 1) >> 20;
}

/*
 * cpu.max's quota in CPUs, rounded up; 0 for "max PERIOD", for a quota alone
 * (of a period the cgroup has, not known here) and for other files
 */
static unsigned long long cpus(const Katasbx__Agent__V1__CgroupWrite *w)
{
	unsigned long long q, p;

	if (strcmp(w->file, "cpu.max") || sscanf(w->value, "%llu %llu", &q, &p) != 2 || !p)
		return 0;
	return (q + p - 1) / p;
}

static void add_line(char *warn, size_t len, const char *line)
{
	size_t used = strlen(warn);

	if (used < len)
		snprintf(warn + used, len - used, "%s%s", used ? "\n" : "", line);
}

void kx_vm_size(const struct kx_config *cfg, Katasbx__Agent__V1__CgroupWrite *const *w,
		size_t n, unsigned int *mem_mib, unsigned int *vcpus, char *warn, size_t len)
{
	unsigned int max_mem = cfg->max_memory_mib > cfg->mem_mib ? cfg->max_memory_mib :
								  cfg->mem_mib;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int max_cpus = cfg->max_vcpus ? cfg->max_vcpus :
				online > 0 && online < MAX_VCPUS ? (unsigned int)online : MAX_VCPUS;
	char line[400];

	if (max_cpus < cfg->vcpus)
		max_cpus = cfg->vcpus;
	*mem_mib = cfg->mem_mib;
	*vcpus = cfg->vcpus;
	if (len)
		warn[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		uint64_t need = memory_mib(w[i]);
		unsigned long long c = cpus(w[i]);

		if (need && !fits(need, *mem_mib)) {
			unsigned int m = *mem_mib;

			while (m < max_mem && !fits(need, m))
				m = m > max_mem / 2 ? max_mem : m * 2;
			*mem_mib = m;
			if (!fits(need, m)) {
				snprintf(line, sizeof(line), "config.json: %s: %s bytes is above what "
					 "a VM of max_memory_mib (%u MiB) leaves a container "
					 "(%u MiB): the most it gets", w[i]->field, w[i]->value,
					 m, room(m));
				add_line(warn, len, line);
			}
		}
		if (c > *vcpus) {
			*vcpus = c < max_cpus ? (unsigned int)c : max_cpus;
			if (c > max_cpus) {
				snprintf(line, sizeof(line), "config.json: %s: a quota of %s us is "
					 "above max_vcpus (%u): the most it gets", w[i]->field,
					 w[i]->value, max_cpus);
				add_line(warn, len, line);
			}
		}
	}
}

void kx_vm_size_check(unsigned int mem_mib, unsigned int vcpus, const char *doc,
		      Katasbx__Agent__V1__CgroupWrite *const *w, size_t n, char *warn,
		      size_t len)
{
	char line[400];

	if (len)
		warn[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		uint64_t need = memory_mib(w[i]);
		unsigned long long c = cpus(w[i]);

		if (mem_mib && need && !fits(need, mem_mib)) {
			snprintf(line, sizeof(line), "%s: %s: %s bytes is above what the container's "
				 "VM (%u MiB, sized at create) leaves it (%u MiB): the most it gets",
				 doc, w[i]->field, w[i]->value, mem_mib,
				 room(mem_mib));
			add_line(warn, len, line);
		}
		if (vcpus && c > vcpus) {
			snprintf(line, sizeof(line), "%s: %s: a quota of %s us is above the VM's "
				 "%u CPU(s), sized at create: the most it gets", doc, w[i]->field,
				 w[i]->value, vcpus);
			add_line(warn, len, line);
		}
	}
}
