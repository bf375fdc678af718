/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KX_ROOTPATH_H
#define KX_ROOTPATH_H

#include <stdbool.h>

/* openat2 of path in the root rootfd (RESOLVE_IN_ROOT, no magic links), O_CLOEXEC added. */
int kx_root_open(int rootfd, const char *path, int flags);
/*
 * mkdir -p of path inside the root rootfd, its last component an empty
 * file when want_file (never following a symlink there). 0 or -1 and errno.
 */
int kx_root_mkpath(int rootfd, const char *path, bool want_file);

#endif
