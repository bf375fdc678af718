/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The spec's hooks on the host: prestart and createRuntime at create (the
 * monitor, before the guest makes the container), poststart once the
 * process runs, poststop once the container is deleted (kept in
 * ROOT/ID/poststop.json from create, as the bundle may be gone by then).
 * They run in the bundle directory, in the runtime's namespaces; the state
 * on their stdin names the monitor's pid, the container's on the host. The
 * guest runs createContainer and startContainer (CreateContainerRequest).
 */
#ifndef KX_HOOKS_H
#define KX_HOOKS_H

#include <sys/types.h>

#include "kx_error.h"
#include "oci.h"
#include "state.h"

#define KX_POSTSTOP_RECORD "poststop.json"

/*
 * The OCI state JSON a hook reads, as runc writes it: ociVersion (the
 * spec's), id, status, pid (left out when 0), bundle, annotations (when
 * any). malloc'd; NULL when out of memory.
 */
char *kx_hook_state(const char *oci_version, const struct kx_state *st, const char *status);
/* Run spec's hooks of kind k with that state; the first failure is the error. */
int kx_spec_run_hooks(const struct kx_spec *spec, enum kx_hook_kind k, const struct kx_state *st,
		      const char *status, struct kx_err *err);
/* Keep spec's poststop hooks (if any) in ROOT/ID/poststop.json. */
int kx_poststop_record(const char *root, const char *id, const struct kx_spec *spec,
		       struct kx_err *err);
/*
 * Run the poststop hooks kept in record (a path) for the container st
 * describes; a failure is a warning (the delete goes on, as the spec says).
 */
void kx_poststop_run(const char *record, const struct kx_state *st);

#endif
