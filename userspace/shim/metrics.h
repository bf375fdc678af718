/* SPDX-License-Identifier: GPL-2.0 */
/*
 * metrics: a cgroup's counters as containerd's cgroups v2 Metrics, what a
 * shim's Stats answers with. From the guest's cgroup (the agent's
 * StatsContainerResponse: what the container itself uses), or from the
 * sandbox's cgroup on the host (hostcg.h: everything the VM costs, QEMU and
 * the monitor included), read as containerd's own cgroups library reads a
 * runc container's.
 */
#ifndef KX_METRICS_H
#define KX_METRICS_H
#include "agent.pb-c.h"
#include "containerd/cgroups/v2/metrics.pb-c.h"
#include "hostcg.h"

/* The message and the parts it points to, in one place. */
struct kx_metrics {
	Io__Containerd__Cgroups__V2__Metrics mt;
	Io__Containerd__Cgroups__V2__PidsStat pids;
	Io__Containerd__Cgroups__V2__CPUStat cpu;
	Io__Containerd__Cgroups__V2__MemoryStat mem;
	Io__Containerd__Cgroups__V2__MemoryEvents ev;
};

void kx_metrics_from_guest(struct kx_metrics *m,
			   const Katasbx__Agent__V1__StatsContainerResponse *sr);
/*
 * On a cgroup v2 host every counter the files have (memory.stat, cpu.stat and
 * memory.events by their keys); on a v1 or hybrid one what each controller's
 * hierarchy has (usage, limit and peak of memory, CPU time, pids).
 */
void kx_metrics_from_host(struct kx_metrics *m, const struct kx_hostcg *cg);

#endif
