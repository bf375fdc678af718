/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running an OCI hook, as runc does: path with args (argv[0] from args, the
 * path when there are none), env (the caller's own environment when the hook
 * names none), the container's state JSON on stdin, stdout and stderr kept
 * for the error, killed after its timeout. Shared by the host (createRuntime,
 * prestart, poststart, poststop) and the agent (createContainer,
 * startContainer): one runner, one set of words.
 */
#ifndef KX_HOOKEXEC_H
#define KX_HOOKEXEC_H

#include <stddef.h>

#include "agent.pb-c.h"
#include "kx_error.h"

/*
 * Run the hooks in order in directory cwd; the first that fails (exits
 * non-zero, is killed, cannot be run, runs past its timeout) stops the rest:
 * -1 with "error running KIND hook #I: ..." (runc's words), else 0.
 */
int kx_hooks_run(Katasbx__Agent__V1__Hook *const *hooks, size_t n, const char *kind,
		 const char *cwd, const char *state_json, struct kx_err *err);

#endif
