/* SPDX-License-Identifier: GPL-2.0 */
/* Unix sockets by path, including paths longer than sun_path allows. */
#ifndef KX_SOCKETS_H
#define KX_SOCKETS_H

#include <stddef.h>
#include <sys/types.h>

#include "kx_error.h"

/* Bind and listen (non-blocking, CLOEXEC); a stale socket file is replaced. */
int kx_unix_listen(const char *path, struct kx_err *err);
/* Connect (blocking, CLOEXEC). */
int kx_unix_connect(const char *path, struct kx_err *err);
/* Send len (> 0) bytes of buf with n (at most KX_MAX_FDS) descriptors: 0, or -1 and errno. */
#define KX_MAX_FDS 8
int kx_send_fds(int sock, const void *buf, size_t len, const int *fds, int n);
/*
 * Receive up to len bytes and up to max descriptors (made CLOEXEC; any beyond
 * max are closed): the bytes read, *n the descriptors; -1 and errno.
 */
ssize_t kx_recv_fds(int sock, void *buf, size_t len, int *fds, int max, int *n);

#endif
