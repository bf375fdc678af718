/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent API's Network message: its limits and its check, one copy that
 * the host (before it sends) and the agent (before it applies) both compile.
 */
#ifndef KX_NET_NETCHECK_H
#define KX_NET_NETCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "agent.pb-c.h"

/*
 * microvm has eight virtio-mmio slots; the agent channel, the 9p share and
 * the RNG take three, and one stays free.
 */
#define KX_NET_MAX_IFACES 4
#define KX_NET_MAX_ADDRS 16	/* per interface */
#define KX_NET_MAX_ROUTES 64
#define KX_NET_IFNAME_MAX 15	/* IFNAMSIZ - 1 */

/*
 * The MAC address the host gives virtio-net device i on QEMU's command line
 * (locally administered, the same in every VM: a template's devices and its
 * clones' are one). The agent finds the device by it, then sets the MAC of
 * the host interface the device stands for.
 */
void kx_net_device_mac(unsigned int i, uint8_t mac[6]);

/* An interface name the kernel takes (1..15 bytes, no '/', ':' or space, not "." or ".."). */
int kx_net_ifname_valid(const char *name);

/*
 * 0 if n is well-formed: at most the limits above, 6-byte unicast MACs,
 * distinct names and devices, MTUs the kernel takes (1280 and up with IPv6),
 * addresses of 4 or 16 bytes with prefixes that fit, routes whose device is
 * one of the interfaces and whose gateway and source have the destination's
 * family. Else -1 and msg naming the field ("interfaces[1].mtu: ...").
 */
int kx_net_check(const Katasbx__Agent__V1__Network *n, char *msg, size_t len);

#endif
