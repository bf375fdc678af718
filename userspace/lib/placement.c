// SPDX-License-Identifier: GPL-2.0
/* Where a sandbox lives on the host (placement.h). */
#include "placement.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "state.h"

void kx_placement_limits(const struct kx_config *cfg, const struct kx_hostcg_limits *c,
			 struct kx_hostcg_limits *h)
{
	*h = *c;
	/* QEMU, the guest's kernel and the agent beside the container's own memory */
	if (c->memory > 0)
		h->memory = c->memory + ((int64_t)cfg->sandbox_overhead_mib << 20);
	if (c->cpu_quota > 0) {
		uint64_t period = c->cpu_period ? c->cpu_period : 100000;

		h->cpu_quota = c->cpu_quota +
			       (int64_t)(cfg->sandbox_overhead_millicpus * period / 1000);
		h->cpu_period = period;
	}
}

/* ROOT/ID's record of the sandbox's host cgroup */
static int record_path(char *path, size_t len, const char *root, const char *id,
		       struct kx_err *err)
{
	if (kx_state_path(path, len, root, id, KX_HOSTCG_RECORD))
		return kx_error(err, ENAMETOOLONG, "state directory of %s", id);
	return 0;
}

int kx_placement_setup(const struct kx_config *cfg, const char *id, const struct kx_spec *spec,
		       struct kx_err *err)
{
	struct kx_hostcg_limits lim;
	struct kx_hostcg cg;
	struct kx_err e2;
	char path[4096];

	if (!cfg->host_cgroups)
		return 0;
	if (cfg->systemd_cgroup)
		return kx_hostcg_systemd_check(spec->cgroups_path, err);
	if (record_path(path, sizeof(path), cfg->root, id, err) ||
	    kx_hostcg_resolve(spec->cgroups_path, id, &cg, err))
		return -1;
	kx_placement_limits(cfg, &spec->host_limits, &lim);
	if (kx_hostcg_create(&cg, &lim, err))
		return -1;
	if (kx_hostcg_record(&cg, path, err)) {
		kx_hostcg_remove(&cg, &e2);
		return -1;
	}
	return 0;
}

int kx_placement_cgroup(const char *root, const char *id, struct kx_hostcg *cg,
			struct kx_err *err)
{
	char path[4096];

	if (record_path(path, sizeof(path), root, id, err))
		return -1;
	return kx_hostcg_load(path, cg, err);
}

int kx_placement_update(const struct kx_config *cfg, const char *id,
			const struct kx_hostcg_limits *c, struct kx_err *err)
{
	struct kx_hostcg_limits lim;
	struct kx_hostcg cg;
	int ret = kx_placement_cgroup(cfg->root, id, &cg, err);

	if (ret)
		return ret < 0 ? -1 : 0;
	kx_placement_limits(cfg, c, &lim);
	return kx_hostcg_set_limits(&cg, &lim, err);
}
