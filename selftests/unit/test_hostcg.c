// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: a sandbox's host cgroup resolved as runc's cgroupfs driver
 * resolves linux.cgroupsPath, on pure v2, hybrid and v1 hosts and in a
 * container's view of a subtree; bad paths refused; the record read back;
 * the overhead added to limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "hostcg.h"
#include "placement.h"

static const char v2_cgroup[] = "0::/user.slice/user-0.slice/session-3.scope\n";
static const char v2_mounts[] =
	"25 30 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
	"rw,nsdelegate,memory_recursiveprot\n"
	"26 30 0:5 / /proc rw,relatime - proc proc rw\n";

/* this build host's layout: v1 controllers, one nested, a controller-less v2 */
static const char hybrid_cgroup[] =
	"9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n0::/\n";
static const char hybrid_mounts[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char *dir_of(const struct kx_hostcg *cg, const char *name)
{
	for (unsigned int i = 0; i < cg->n; i++)
		if (!strcmp(cg->d[i].name, name))
			return cg->d[i].path;
	return "(none)";
}

static void test_v2(void **state)
{
	struct kx_hostcg cg;
	struct kx_err err;

	/* absolute: under the root; containerd's "/default/ID" */
	assert_int_equal(kx_hostcg_resolve_in(v2_cgroup, v2_mounts, "/default/c1", "c1", &cg,
					      &err), 0);
	assert_true(cg.unified);
	assert_int_equal(cg.n, 1);
	assert_string_equal(cg.d[0].path, "/sys/fs/cgroup/default/c1");
	assert_int_equal(cg.d[0].base, strlen("/sys/fs/cgroup"));
	/* relative, and none (the id): under the parent of our own cgroup, as runc's fs2 */
	assert_int_equal(kx_hostcg_resolve_in(v2_cgroup, v2_mounts, "kx/c1", "c1", &cg, &err), 0);
	assert_string_equal(cg.d[0].path, "/sys/fs/cgroup/user.slice/user-0.slice/kx/c1");
	assert_int_equal(kx_hostcg_resolve_in(v2_cgroup, v2_mounts, NULL, "c2", &cg, &err), 0);
	assert_string_equal(cg.d[0].path, "/sys/fs/cgroup/user.slice/user-0.slice/c2");
	/* at the root, the parent is the root */
	assert_int_equal(kx_hostcg_resolve_in("0::/\n", v2_mounts, "", "c3", &cg, &err), 0);
	assert_string_equal(cg.d[0].path, "/sys/fs/cgroup/c3");
	/* empty and "." components drop out */
	assert_int_equal(kx_hostcg_resolve_in(v2_cgroup, v2_mounts, "//a/./b//", "x", &cg,
					      &err), 0);
	assert_string_equal(cg.d[0].path, "/sys/fs/cgroup/a/b");
}

static void test_hybrid(void **state)
{
	struct kx_hostcg cg;
	struct kx_err err;

	assert_int_equal(kx_hostcg_resolve_in(hybrid_cgroup, hybrid_mounts, NULL, "c1", &cg,
					      &err), 0);
	assert_false(cg.unified);
	assert_int_equal(cg.n, 5);
	/* relative: under our own cgroup in each hierarchy, the unified one too */
	assert_string_equal(dir_of(&cg, "memory"), "/sys/fs/cgroup/memory/process_api/abc/c1");
	assert_string_equal(dir_of(&cg, "cpu,cpuacct"), "/sys/fs/cgroup/cpu,cpuacct/c1");
	assert_string_equal(dir_of(&cg, "name=systemd"), "/sys/fs/cgroup/systemd/c1");
	assert_string_equal(dir_of(&cg, ""), "/sys/fs/cgroup/unified/c1");
	assert_int_equal(kx_hostcg_resolve_in(hybrid_cgroup, hybrid_mounts, "/default/c1", "c1",
					      &cg, &err), 0);
	assert_string_equal(dir_of(&cg, "memory"), "/sys/fs/cgroup/memory/default/c1");
	assert_string_equal(dir_of(&cg, "pids"), "/sys/fs/cgroup/pids/default/c1");
}

static void test_subtree_mount(void **state)
{
	/* a container's view: the hierarchy mounted from its own cgroup */
	static const char self[] = "0::/kubepods/pod1/ctr\n";
	static const char mounts[] =
		"25 30 0:23 /kubepods/pod1/ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	struct kx_hostcg cg;
	struct kx_err err;

	assert_int_equal(kx_hostcg_resolve_in(self, mounts, "sb", "x", &cg, &err), 0);
	assert_string_equal(cg.d[0].path, "/sys/fs/cgroup/sb");
	/* no hierarchy of ours is mounted: said */
	assert_int_equal(kx_hostcg_resolve_in("0::/elsewhere\n", mounts, "sb", "x", &cg, &err),
			 -1);
	assert_non_null(strstr(err.msg, "no cgroup hierarchy"));
}

static void test_bad_paths(void **state)
{
	static const char *const bad[] = { "../x", "/a/../../b", "a/..", "/", ".", "a\nb",
					   "a\tb" };
	struct kx_hostcg cg;
	struct kx_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(kx_hostcg_resolve_in(v2_cgroup, v2_mounts, bad[i], "c", &cg,
						      &err), -1);
		assert_non_null(strstr(err.msg, "linux.cgroupsPath"));
	}
	assert_int_equal(kx_hostcg_resolve_in(v2_cgroup, v2_mounts, "../x", "c", &cg, &err), -1);
	assert_non_null(strstr(err.msg, "\"..\" would leave the cgroup root"));
	/* runc's --systemd-cgroup format */
	assert_int_equal(kx_hostcg_systemd_check("a/b", &err), -1);
	assert_non_null(strstr(err.msg, "\"slice:prefix:name\""));
	assert_int_equal(kx_hostcg_systemd_check("system.slice:kx:c1", &err), -1);
	assert_non_null(strstr(err.msg, "--systemd-cgroup"));
	/* containerd's CRI under a kubelet with the systemd driver: what the shim refuses */
	assert_true(kx_hostcg_is_systemd_path("kubepods-burstable-pod1.slice:cri-containerd:c1"));
	assert_false(kx_hostcg_is_systemd_path("/kubepods/pod1/c1"));
	assert_false(kx_hostcg_is_systemd_path("a:b:c"));
	assert_false(kx_hostcg_is_systemd_path("x.slice:a:b:c"));
	assert_false(kx_hostcg_is_systemd_path("k/x.slice:a:b"));
	assert_false(kx_hostcg_is_systemd_path("x.slice:a:"));
	assert_false(kx_hostcg_is_systemd_path(".slice:a:b"));
	assert_false(kx_hostcg_is_systemd_path(NULL));
}

static void test_record(void **state)
{
	char dir[] = "/tmp/katasbx-unit-hostcg.XXXXXX", path[64];
	struct kx_hostcg cg, back;
	struct kx_err err;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/hostcg", dir);
	assert_int_equal(kx_hostcg_load(path, &back, &err), 1);
	assert_int_equal(kx_hostcg_resolve_in(hybrid_cgroup, hybrid_mounts, "/k x/c1", "c1", &cg,
					      &err), 0);
	assert_int_equal(kx_hostcg_record(&cg, path, &err), 0);
	assert_int_equal(kx_hostcg_load(path, &back, &err), 0);
	assert_int_equal(back.n, cg.n);
	assert_false(back.unified);
	assert_string_equal(back.inner, "/k x/c1");
	for (unsigned int i = 0; i < cg.n; i++) {
		assert_string_equal(back.d[i].name, cg.d[i].name);
		assert_string_equal(back.d[i].path, cg.d[i].path);
	}
	unlink(path);
	rmdir(dir);
}

static void test_overhead(void **state)
{
	struct kx_hostcg_limits c = { .memory = 256 << 20, .cpu_quota = 50000,
				      .cpu_shares = 512 }, h;
	struct kx_config cfg;

	kx_config_defaults(&cfg);
	cfg.sandbox_overhead_mib = 100;
	cfg.sandbox_overhead_millicpus = 500;
	kx_placement_limits(&cfg, &c, &h);
	assert_int_equal(h.memory, (256 + 100) << 20);
	assert_int_equal(h.cpu_quota, 50000 + 50000);
	assert_int_equal(h.cpu_period, 100000);
	assert_int_equal(h.cpu_shares, 512);
	/* no limit stays none, "max" stays max */
	c.memory = 0;
	c.cpu_quota = -1;
	kx_placement_limits(&cfg, &c, &h);
	assert_int_equal(h.memory, 0);
	assert_int_equal(h.cpu_quota, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_subtree_mount),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_overhead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
