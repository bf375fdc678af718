// SPDX-License-Identifier: GPL-2.0
/*
 * metrics: a cgroup's counters as containerd's cgroups v2 Metrics (metrics.h).
 */
#include <stdint.h>
#include <string.h>

#include "metrics.h"
#include "monitor.h"

static void init(struct kx_metrics *m)
{
	static const Io__Containerd__Cgroups__V2__Metrics mt =
		IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
	static const Io__Containerd__Cgroups__V2__PidsStat pids =
		IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
	static const Io__Containerd__Cgroups__V2__CPUStat cpu =
		IO__CONTAINERD__CGROUPS__V2__CPUSTAT__INIT;
	static const Io__Containerd__Cgroups__V2__MemoryStat mem =
		IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT;
	static const Io__Containerd__Cgroups__V2__MemoryEvents ev =
		IO__CONTAINERD__CGROUPS__V2__MEMORY_EVENTS__INIT;

	m->mt = mt;
	m->pids = pids;
	m->cpu = cpu;
	m->mem = mem;
	m->ev = ev;
	m->mt.pids = &m->pids;
	m->mt.cpu = &m->cpu;
	m->mt.memory = &m->mem;
	m->mt.memory_events = &m->ev;
}

/*
 * A counter into @msg's uint64 field of the same name, among fields 1 to
 * @max_id. MemoryStat's 1 to 31 are memory.stat's keys (the rest, usage and
 * limits, are not); CPUStat's and MemoryEvents' are cpu.stat's and
 * memory.events' keys.
 */
static void set_by_name(ProtobufCMessage *msg, unsigned int max_id, const char *key,
			uint64_t value)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, key);

	if (f && f->id <= max_id && f->type == PROTOBUF_C_TYPE_UINT64 &&
	    f->label != PROTOBUF_C_LABEL_REPEATED)
		*(uint64_t *)((char *)msg + f->offset) = value;
}

void kx_metrics_from_guest(struct kx_metrics *m,
			   const Katasbx__Agent__V1__StatsContainerResponse *sr)
{
	init(m);
	m->pids.current = sr->pids_current;
	m->pids.limit = kx_stats_limit(sr->pids_max);
	m->cpu.usage_usec = sr->cpu_usage_usec;
	m->cpu.user_usec = sr->cpu_user_usec;
	m->cpu.system_usec = sr->cpu_system_usec;
	m->cpu.nr_periods = sr->cpu_nr_periods;
	m->cpu.nr_throttled = sr->cpu_nr_throttled;
	m->cpu.throttled_usec = sr->cpu_throttled_usec;
	for (size_t i = 0; i < sr->n_memory_stat; i++)
		set_by_name(&m->mem.base, 31, sr->memory_stat[i]->key, sr->memory_stat[i]->value);
	m->mem.usage = sr->memory_current;
	m->mem.usage_limit = kx_stats_limit(sr->memory_max);
	m->mem.swap_usage = sr->swap_current;
	m->mem.swap_limit = kx_stats_limit(sr->swap_max);
	m->mem.max_usage = sr->memory_peak;
	m->ev.low = sr->memory_events_low;
	m->ev.high = sr->memory_events_high;
	m->ev.max = sr->memory_events_max;
	m->ev.oom = sr->memory_events_oom;
	m->ev.oom_kill = sr->oom_kill;
}

struct keyed {
	ProtobufCMessage *msg;
	unsigned int max_id;
};

static void keyed_line(void *ctx, const char *key, uint64_t value)
{
	const struct keyed *k = ctx;

	set_by_name(k->msg, k->max_id, key, value);
}

/*
 * A reading (-1 unknown, INT64_MAX "max") as Metrics has it: 0, or MaxUint64
 * for no limit, v1's too (memory.limit_in_bytes: INT64_MAX rounded down to a page).
 */
static uint64_t counter(int64_t v)
{
	return v < 0 ? 0 : v > INT64_MAX - (1 << 20) ? UINT64_MAX : (uint64_t)v;
}

void kx_metrics_from_host(struct kx_metrics *m, const struct kx_hostcg *cg)
{
	struct keyed mem = { &m->mem.base, 31 }, cpu = { &m->cpu.base, UINT32_MAX },
		     ev = { &m->ev.base, UINT32_MAX };
	struct kx_hostcg_usage u;

	init(m);
	kx_hostcg_usage(cg, &u);
	m->mem.usage = counter(u.memory);
	m->mem.usage_limit = counter(u.memory_limit);
	m->mem.max_usage = counter(u.memory_max);
	m->cpu.usage_usec = counter(u.cpu_ns) / 1000;
	m->pids.current = counter(u.pids);
	m->pids.limit = counter(u.pids_limit);
	m->mem.swap_usage = counter(u.swap);
	m->mem.swap_limit = counter(u.swap_limit);
	if (!cg->unified)
		return;
	kx_hostcg_each(cg, "memory.stat", keyed_line, &mem);
	kx_hostcg_each(cg, "cpu.stat", keyed_line, &cpu);	/* usage_usec again, and the rest */
	kx_hostcg_each(cg, "memory.events", keyed_line, &ev);
}
