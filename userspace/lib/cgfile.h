/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KX_CGFILE_H
#define KX_CGFILE_H

#include <stdbool.h>

/*
 * file may be written in a container's cgroup from the spec: an interface
 * file of a controller the guest enables (memory., cpu., cpuset., pids.),
 * a plain name. The one rule for the host (linux.resources.unified) and the
 * agent (CgroupWrite).
 */
bool kx_cgroup_file_ok(const char *file);

#endif
