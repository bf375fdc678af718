// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: containerd's cgroups v2 Metrics from a sandbox's host cgroup
 * (files laid out as a pure v2 host and a hybrid one have them, in a
 * temporary directory) and from the agent's StatsContainerResponse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../userspace/shim/metrics.h"

static char top[64];

static void put(const char *dir, const char *file, const char *text)
{
	char path[1200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void add_dir(struct kx_hostcg *cg, const char *name, const char *sub)
{
	struct kx_hostcg_dir *d = &cg->d[cg->n++];

	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->path, sizeof(d->path), "%s/%s", top, sub);
	assert_int_equal(mkdir(d->path, 0755), 0);
}

static int setup(void **state)
{
	snprintf(top, sizeof(top), "/tmp/kx-metrics.XXXXXX");
	return mkdtemp(top) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	return system(cmd);
}

static void test_host_v2(void **state)
{
	struct kx_hostcg cg = { .unified = true };
	struct kx_metrics m;
	const char *d;

	add_dir(&cg, "", "v2");
	d = cg.d[0].path;
	put(d, "memory.current", "335544320\n");
	put(d, "memory.max", "max\n");
	put(d, "memory.peak", "402653184\n");
	put(d, "memory.swap.current", "0\n");
	put(d, "memory.swap.max", "max\n");
	put(d, "pids.current", "9\n");
	put(d, "pids.max", "128\n");
	put(d, "cpu.stat", "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\n"
	    "nr_periods 10\nnr_throttled 2\nthrottled_usec 99\nnr_bursts 0\n");
	/* "usage" is not memory.stat's, and a key the message lacks is skipped */
	put(d, "memory.stat", "anon 4096\nfile 8192\nkernel_stack 16384\nzswap 7\n"
	    "pgfault 11\nusage 1\n");
	put(d, "memory.events", "low 0\nhigh 1\nmax 2\noom 3\noom_kill 4\noom_group_kill 5\n");
	kx_metrics_from_host(&m, &cg);
	assert_int_equal(m.mem.usage, 335544320);
	assert_true(m.mem.usage_limit == UINT64_MAX);
	assert_int_equal(m.mem.max_usage, 402653184);
	assert_int_equal(m.mem.swap_usage, 0);
	assert_true(m.mem.swap_limit == UINT64_MAX);
	assert_int_equal(m.mem.anon, 4096);
	assert_int_equal(m.mem.file, 8192);
	assert_int_equal(m.mem.kernel_stack, 16384);
	assert_int_equal(m.mem.pgfault, 11);
	assert_int_equal(m.pids.current, 9);
	assert_int_equal(m.pids.limit, 128);
	assert_int_equal(m.cpu.usage_usec, 5000);
	assert_int_equal(m.cpu.user_usec, 3000);
	assert_int_equal(m.cpu.system_usec, 2000);
	assert_int_equal(m.cpu.nr_periods, 10);
	assert_int_equal(m.cpu.nr_throttled, 2);
	assert_int_equal(m.cpu.throttled_usec, 99);
	assert_int_equal(m.ev.high, 1);
	assert_int_equal(m.ev.max, 2);
	assert_int_equal(m.ev.oom, 3);
	assert_int_equal(m.ev.oom_kill, 4);
	assert_ptr_equal(m.mt.memory, &m.mem);
	assert_ptr_equal(m.mt.cpu, &m.cpu);
	assert_ptr_equal(m.mt.pids, &m.pids);
	assert_ptr_equal(m.mt.memory_events, &m.ev);
	/* it packs, and reads back the same */
	{
		size_t len = io__containerd__cgroups__v2__metrics__get_packed_size(&m.mt);
		uint8_t *buf = malloc(len);
		Io__Containerd__Cgroups__V2__Metrics *back;

		io__containerd__cgroups__v2__metrics__pack(&m.mt, buf);
		back = io__containerd__cgroups__v2__metrics__unpack(NULL, len, buf);
		assert_non_null(back);
		assert_int_equal(back->memory->usage, 335544320);
		assert_int_equal(back->cpu->throttled_usec, 99);
		io__containerd__cgroups__v2__metrics__free_unpacked(back, NULL);
		free(buf);
	}
}

/* this build host's layout: v1 controllers and a controller-less v2 */
static void test_host_hybrid(void **state)
{
	struct kx_hostcg cg = { .unified = false };
	struct kx_metrics m;

	add_dir(&cg, "memory", "memory");
	add_dir(&cg, "cpu,cpuacct", "cpu");
	add_dir(&cg, "pids", "pids");
	add_dir(&cg, "", "unified");
	put(cg.d[0].path, "memory.usage_in_bytes", "300000000\n");
	put(cg.d[0].path, "memory.limit_in_bytes", "9223372036854771712\n");
	put(cg.d[0].path, "memory.max_usage_in_bytes", "310000000\n");
	put(cg.d[0].path, "memory.stat", "anon 4096\ncache 5\n");	/* v1's keys: not read */
	put(cg.d[1].path, "cpuacct.usage", "7000000\n");
	put(cg.d[1].path, "cpu.stat", "nr_periods 3\n");
	put(cg.d[2].path, "pids.current", "3\n");
	put(cg.d[2].path, "pids.max", "max\n");
	kx_metrics_from_host(&m, &cg);
	assert_int_equal(m.mem.usage, 300000000);
	assert_true(m.mem.usage_limit == UINT64_MAX);	/* v1's "no limit" */
	assert_int_equal(m.mem.max_usage, 310000000);
	assert_int_equal(m.mem.anon, 0);
	assert_int_equal(m.cpu.usage_usec, 7000);
	assert_int_equal(m.cpu.nr_periods, 0);
	assert_int_equal(m.pids.current, 3);
	assert_true(m.pids.limit == UINT64_MAX);
	assert_int_equal(m.mem.swap_usage, 0);

	/* a v1 limit is kept as it is */
	put(cg.d[0].path, "memory.limit_in_bytes", "402653184\n");
	kx_metrics_from_host(&m, &cg);
	assert_int_equal(m.mem.usage_limit, 402653184);
}

static void test_guest(void **state)
{
	Katasbx__Agent__V1__StatsContainerResponse sr =
		KATASBX__AGENT__V1__STATS_CONTAINER_RESPONSE__INIT;
	Katasbx__Agent__V1__StatsContainerResponse__MemoryStatEntry anon = KATASBX__AGENT__V1__STATS_CONTAINER_RESPONSE__MEMORY_STAT_ENTRY__INIT;
	Katasbx__Agent__V1__StatsContainerResponse__MemoryStatEntry usage = KATASBX__AGENT__V1__STATS_CONTAINER_RESPONSE__MEMORY_STAT_ENTRY__INIT;
	Katasbx__Agent__V1__StatsContainerResponse__MemoryStatEntry *entries[] = { &anon, &usage };
	struct kx_metrics m;

	anon.key = "anon";
	anon.value = 8192;
	usage.key = "usage";	/* not memory.stat's: must not overwrite memory.current */
	usage.value = 1;
	sr.n_memory_stat = 2;
	sr.memory_stat = entries;
	sr.memory_current = 1048576;
	sr.memory_max = 0;	/* "max" */
	sr.pids_current = 2;
	sr.pids_max = 64;
	sr.cpu_usage_usec = 1234;
	sr.oom_kill = 1;
	kx_metrics_from_guest(&m, &sr);
	assert_int_equal(m.mem.anon, 8192);
	assert_int_equal(m.mem.usage, 1048576);
	assert_true(m.mem.usage_limit == UINT64_MAX);
	assert_int_equal(m.pids.current, 2);
	assert_int_equal(m.pids.limit, 64);
	assert_int_equal(m.cpu.usage_usec, 1234);
	assert_int_equal(m.ev.oom_kill, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_hybrid, setup, teardown),
		cmocka_unit_test(test_guest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
