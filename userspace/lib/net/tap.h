/* SPDX-License-Identifier: GPL-2.0 */
/* The tap device a sandbox's virtio-net device stands on. */
#ifndef KX_NET_TAP_H
#define KX_NET_TAP_H

#include "kx_error.h"

/*
 * A tap device `name` in network namespace netns_fd (-1: the caller's),
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (what QEMU's -netdev tap,fd= wants for
 * offloads), not persistent: it goes when the last fd closes. Returns the fd
 * (O_CLOEXEC) or -1. /dev/net/tun is opened inside the namespace (a tun
 * device lives in the namespace it was opened in); setns undone on every
 * path. A persistent tap of that name (which this would attach to, and which
 * would outlive the sandbox) is refused with EEXIST; a device of that name
 * of another kind fails in the kernel (EINVAL), a tap in use EBUSY.
 */
int kx_tap_open(int netns_fd, const char *name, struct kx_err *err);

#endif
