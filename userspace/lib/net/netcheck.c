// SPDX-License-Identifier: GPL-2.0
#include "net/netcheck.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void kx_net_device_mac(unsigned int i, uint8_t mac[6])
{
	/* 02: locally administered, unicast; then "kx", then the device's index */
	static const uint8_t base[5] = { 0x02, 0x6b, 0x78, 0x00, 0x00 };

	memcpy(mac, base, sizeof(base));
	mac[5] = (uint8_t)i;
}

int kx_net_ifname_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > KX_NET_IFNAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == ':' || c <= ' ' || c >= 0x7f)
			return 0;
	}
	return 1;
}

static int __attribute__((format(printf, 3, 4))) bad(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -1;
}

static bool unicast_mac(const ProtobufCBinaryData *m)
{
	static const uint8_t zero[6];

	return m->len == 6 && !(m->data[0] & 1) && memcmp(m->data, zero, 6);
}

/* what: the field, "interfaces[0].addresses[1]" */
static int check_addr(const ProtobufCBinaryData *a, uint32_t prefix, const char *what, char *msg,
		      size_t len)
{
	if (a->len != 4 && a->len != 16)
		return bad(msg, len, "%s: %zu bytes: an address is 4 (IPv4) or 16 (IPv6)", what,
			   a->len);
	if (prefix > a->len * 8)
		return bad(msg, len, "%s: prefix length %u is longer than the address", what,
			   prefix);
	return 0;
}

/* A route's destination has no bit set past its prefix: the kernel refuses 10.1.0.1/16. */
static bool prefix_clean(const ProtobufCBinaryData *a, uint32_t prefix)
{
	for (size_t b = prefix; b < a->len * 8; b++)
		if (a->data[b / 8] & (0x80 >> (b % 8)))
			return false;
	return true;
}

static int check_iface(const Katasbx__Agent__V1__Network *n, size_t i, char *msg, size_t len)
{
	const Katasbx__Agent__V1__Interface *f = n->interfaces[i];
	bool v6 = false;
	char what[48];

	if (!f)
		return bad(msg, len, "interfaces[%zu]: missing", i);
	if (!kx_net_ifname_valid(f->name) || !strcmp(f->name, "lo"))
		return bad(msg, len, "interfaces[%zu].name: \"%.32s\" is not a name an interface can take",
			   i, f->name);
	if (!unicast_mac(&f->device_mac))
		return bad(msg, len, "interfaces[%zu].device_mac: not a 6-byte unicast MAC", i);
	if (!unicast_mac(&f->mac))
		return bad(msg, len, "interfaces[%zu].mac: not a 6-byte unicast MAC", i);
	for (size_t j = 0; j < i; j++) {
		if (!strcmp(n->interfaces[j]->name, f->name))
			return bad(msg, len, "interfaces[%zu].name: \"%s\" is also interfaces[%zu]'s",
				   i, f->name, j);
		if (!memcmp(n->interfaces[j]->device_mac.data, f->device_mac.data, 6))
			return bad(msg, len, "interfaces[%zu].device_mac: also interfaces[%zu]'s", i,
				   j);
	}
	if (f->n_addresses > KX_NET_MAX_ADDRS)
		return bad(msg, len, "interfaces[%zu].addresses: %zu, at most %d", i,
			   f->n_addresses, KX_NET_MAX_ADDRS);
	for (size_t j = 0; j < f->n_addresses; j++) {
		snprintf(what, sizeof(what), "interfaces[%zu].addresses[%zu]", i, j);
		if (!f->addresses[j])
			return bad(msg, len, "%s: missing", what);
		if (check_addr(&f->addresses[j]->address, f->addresses[j]->prefix_len, what, msg,
			       len))
			return -1;
		v6 |= f->addresses[j]->address.len == 16;
	}
	if (f->mtu < 68 || f->mtu > 65535 || (v6 && f->mtu < 1280))
		return bad(msg, len, "interfaces[%zu].mtu: %u is out of range (68..65535, 1280 and up "
			   "with IPv6)", i, f->mtu);
	return 0;
}

static int check_route(const Katasbx__Agent__V1__Network *n, size_t i, char *msg, size_t len)
{
	const Katasbx__Agent__V1__Route *r = n->routes[i];
	char what[48];
	size_t k;

	if (!r)
		return bad(msg, len, "routes[%zu]: missing", i);
	snprintf(what, sizeof(what), "routes[%zu].destination", i);
	if (check_addr(&r->destination, r->prefix_len, what, msg, len))
		return -1;
	if (!prefix_clean(&r->destination, r->prefix_len))
		return bad(msg, len, "%s: bits set past the prefix length %u", what,
			   r->prefix_len);
	if (r->gateway.len && r->gateway.len != r->destination.len)
		return bad(msg, len, "routes[%zu].gateway: not of the destination's family", i);
	if (r->source.len && r->source.len != r->destination.len)
		return bad(msg, len, "routes[%zu].source: not of the destination's family", i);
	if (r->scope > 255)
		return bad(msg, len, "routes[%zu].scope: %u is not a scope", i, r->scope);
	for (k = 0; k < n->n_interfaces; k++)
		if (!strcmp(n->interfaces[k]->name, r->device))
			break;
	if (k == n->n_interfaces)
		return bad(msg, len, "routes[%zu].device: \"%.32s\" is none of the interfaces", i,
			   r->device);
	return 0;
}

int kx_net_check(const Katasbx__Agent__V1__Network *n, char *msg, size_t len)
{
	if (n->n_interfaces > KX_NET_MAX_IFACES)
		return bad(msg, len, "interfaces: %zu, a VM takes at most %d", n->n_interfaces,
			   KX_NET_MAX_IFACES);
	if (n->n_routes > KX_NET_MAX_ROUTES)
		return bad(msg, len, "routes: %zu, at most %d", n->n_routes, KX_NET_MAX_ROUTES);
	for (size_t i = 0; i < n->n_interfaces; i++)
		if (check_iface(n, i, msg, len))
			return -1;
	for (size_t i = 0; i < n->n_routes; i++)
		if (check_route(n, i, msg, len))
			return -1;
	return 0;
}
