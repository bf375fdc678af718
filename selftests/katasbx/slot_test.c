// SPDX-License-Identifier: GPL-2.0
/*
 * Selftest of KATASBX_IOC_SLOT: a clone, a CID and (with cgroup2) a pooled
 * cgroup in one call, all or nothing.
 * Runs inside the test VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "katasbx_util.h"
#include "ktap.h"

static int t_slot(void)
{
	struct katasbx_template_create t;
	struct katasbx_slot s = {};
	struct katasbx_cid_reserve r;
	struct katasbx_counters c0, c1;
	int kfd = kopen(), d;
	bool have_cg;
	char *p;

	CHECK(kfd >= 0);
	CHECK(tpl_create(kfd, 64 * PAGE, 41, &t) == 0);
	s.template_id = t.id;
	s.flags = 8;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_SLOT, &s), EINVAL);
	s.flags = KATASBX_SLOT_F_NO_CGROUP;
	s.reserved[0] = 1;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_SLOT, &s), EINVAL);
	s.reserved[0] = 0;
	s.template_id = (t.id + 1) % 256;
	CHECK_ERR(ioctl(kfd, KATASBX_IOC_SLOT, &s), ENOENT);
	s.template_id = t.id;
	CHECK(counters(&c0) == 0);
	CHECK(ioctl(kfd, KATASBX_IOC_SLOT, &s) == 0);
	CHECK(s.cgroup_lease_fd == -1 && s.cgroup_dir_fd == -1);
	CHECK(s.dev_major == t.dev_major && s.dev_minor == t.dev_minor);
	CHECK(lseek(s.clone_fd, 0, SEEK_END) == (off_t)(64 * PAGE));
	p = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, s.clone_fd, 0);
	CHECK(p != MAP_FAILED && page_ok(p + 40 * PAGE, 40, 41));
	CHECK_ERR(cid_reserve(kfd, KATASBX_CID_F_EXACT, s.cid, &r), EADDRINUSE);
	CHECK(counters(&c1) == 0);
	CHECK(c1.clones_open == c0.clones_open + 1 && c1.cids_in_use == c0.cids_in_use + 1);

	have_cg = cg_setup() == 0;
	if (have_cg) {
		cg_drain(kfd);
		/* Nothing in the pool: all or nothing, no CID or clone leaks. */
		memset(&s, 0, sizeof(s));
		s.template_id = t.id;
		CHECK_ERR(ioctl(kfd, KATASBX_IOC_SLOT, &s), EAGAIN);
		CHECK(counters(&c0) == 0);
		CHECK(c0.clones_open == c1.clones_open && c0.cids_in_use == c1.cids_in_use);
		CHECK((d = cg_dir("slot")) >= 0);
		CHECK(cg_add(kfd, d, KATASBX_CGROUP_F_ONESHOT) == 0);
		CHECK(ioctl(kfd, KATASBX_IOC_SLOT, &s) == 0);
		CHECK(s.cgroup_lease_fd >= 0 && s.cgroup_dir_fd >= 0 && s.clone_fd >= 0);
		CHECK(counters(&c1) == 0 && c1.cgroups_taken == c0.cgroups_taken + 1);
	} else {
		printf("# no cgroup2: slot checked without a cgroup\n");
	}
	return KT_PASS;
}

static const struct kt_case cases[] = {
	{ "slot", t_slot, 0 },
};

KT_MAIN(cases, kx_skip_reason())
