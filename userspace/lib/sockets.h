/* SPDX-License-Identifier: GPL-2.0 */
/* Unix sockets by path, including paths longer than sun_path allows. */
#ifndef KX_SOCKETS_H
#define KX_SOCKETS_H

#include "kx_error.h"

/* Bind and listen (non-blocking, CLOEXEC); a stale socket file is replaced. */
int kx_unix_listen(const char *path, struct kx_err *err);
/* Connect (blocking, CLOEXEC). */
int kx_unix_connect(const char *path, struct kx_err *err);

#endif
