/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a sandbox lives on the host: its cgroup (hostcg.h), made at create
 * from linux.cgroupsPath and linux.resources plus the settings' sandbox
 * overhead, recorded in the state directory, where its monitor finds it
 * and kx_state_remove removes it. Both fronts (the runtime and the shim)
 * call these.
 */
#ifndef KX_PLACEMENT_H
#define KX_PLACEMENT_H

#include "config.h"
#include "hostcg.h"
#include "kx_error.h"
#include "oci.h"

/*
 * Make sandbox @id's host cgroup (ROOT/ID must exist): nothing when the
 * settings turn host cgroups off. On failure nothing is left of it.
 */
int kx_placement_setup(const struct kx_config *cfg, const char *id, const struct kx_spec *spec,
		       struct kx_err *err);
/* Sandbox @id's host cgroup, from its record: 0, 1 when it has none, -1 on error. */
int kx_placement_cgroup(const char *root, const char *id, struct kx_hostcg *cg,
			struct kx_err *err);
/*
 * The host cgroup's limits for a container's @c: a memory limit and a CPU
 * quota grow by the sandbox's overhead; the rest is as given.
 */
void kx_placement_limits(const struct kx_config *cfg, const struct kx_hostcg_limits *c,
			 struct kx_hostcg_limits *h);
/* An update's host limits (kx_resources_update_host) onto sandbox @id's cgroup, if any. */
int kx_placement_update(const struct kx_config *cfg, const char *id,
			const struct kx_hostcg_limits *c, struct kx_err *err);

#endif
