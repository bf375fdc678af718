// SPDX-License-Identifier: GPL-2.0
/* kx_net_check: a good Network passes; each bad field is refused, by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/netcheck.h"

typedef Katasbx__Agent__V1__Network pb_net;
typedef Katasbx__Agent__V1__Interface pb_iface;
typedef Katasbx__Agent__V1__IpAddress pb_addr;
typedef Katasbx__Agent__V1__Route pb_route;

#define NIF (KX_NET_MAX_IFACES + 1)
#define NRT (KX_NET_MAX_ROUTES + 1)

/* Everything a Network points to, writable, in one block. */
struct fix {
	pb_net n;
	pb_iface ifs[NIF];
	pb_iface *ifp[NIF];
	char names[NIF][32];
	uint8_t dev_mac[NIF][6], mac[NIF][6];
	pb_addr addrs[NIF][2];
	pb_addr *addrp[NIF][2];
	uint8_t abytes[NIF][2][16];
	pb_route routes[NRT];
	pb_route *rtp[NRT];
	uint8_t rbytes[NRT][3][16];	/* destination, gateway, source */
	char msg[256];
};

static void set_bytes(ProtobufCBinaryData *b, uint8_t *store, const void *src, size_t len)
{
	memcpy(store, src, len);
	b->data = store;
	b->len = len;
}

static void set_iface(struct fix *f, size_t i)
{
	pb_iface *p = &f->ifs[i];
	uint8_t m[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, (uint8_t)i };

	katasbx__agent__v1__interface__init(p);
	f->ifp[i] = p;
	snprintf(f->names[i], sizeof(f->names[i]), "eth%zu", i);
	p->name = f->names[i];
	kx_net_device_mac(i, f->dev_mac[i]);
	p->device_mac = (ProtobufCBinaryData){ 6, f->dev_mac[i] };
	set_bytes(&p->mac, f->mac[i], m, 6);
	p->mtu = 1500;
	for (size_t j = 0; j < 2; j++) {
		katasbx__agent__v1__ip_address__init(&f->addrs[i][j]);
		f->addrp[i][j] = &f->addrs[i][j];
	}
	p->addresses = f->addrp[i];
}

static void set_addr(struct fix *f, size_t i, size_t j, const char *bytes, size_t len,
		     uint32_t prefix)
{
	set_bytes(&f->addrs[i][j].address, f->abytes[i][j], bytes, len);
	f->addrs[i][j].prefix_len = prefix;
}

static const char v6_zero[16];
static const char v6_gw[16] = "\xfd\x00\x02\x13\0\0\0\0\0\0\0\0\0\0\0\x01";

/* A route with destination dst/prefix (len 4 or 16), gateway gw (NULL: on-link). */
static void set_route(struct fix *f, size_t i, const char *dev, const void *dst, size_t len,
		      uint32_t prefix, const void *gw)
{
	pb_route *r = &f->routes[i];

	katasbx__agent__v1__route__init(r);
	f->rtp[i] = r;
	set_bytes(&r->destination, f->rbytes[i][0], dst, len);
	r->prefix_len = prefix;
	if (gw)
		set_bytes(&r->gateway, f->rbytes[i][1], gw, len);
	r->device = (char *)dev;
}

/*
 * eth0: 10.213.0.2/24 and fd00:213::2/64, eth1: 10.214.0.2/16; default
 * routes via 10.213.0.1 and fd00:213::1, 10.215.0.0/16 on eth1.
 */
static int setup(void **state)
{
	struct fix *f = test_calloc(1, sizeof(*f));

	katasbx__agent__v1__network__init(&f->n);
	for (size_t i = 0; i < NIF; i++)
		set_iface(f, i);
	set_addr(f, 0, 0, "\x0a\xd5\x00\x02", 4, 24);
	set_addr(f, 0, 1, "\xfd\x00\x02\x13\0\0\0\0\0\0\0\0\0\0\0\x02", 16, 64);
	f->ifs[0].n_addresses = 2;
	set_addr(f, 1, 0, "\x0a\xd6\x00\x02", 4, 16);
	f->ifs[1].n_addresses = 1;
	f->n.interfaces = f->ifp;
	f->n.n_interfaces = 2;
	for (size_t i = 0; i < NRT; i++)
		set_route(f, i, "eth1", "\x0a\xd7\x00\x00", 4, 16, NULL);
	set_route(f, 0, "eth0", "\0\0\0\0", 4, 0, "\x0a\xd5\x00\x01");
	set_route(f, 1, "eth0", v6_zero, 16, 0, v6_gw);
	f->routes[2].scope = 253;	/* RT_SCOPE_LINK */
	f->n.routes = f->rtp;
	f->n.n_routes = 3;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	test_free(*state);
	return 0;
}

/* Refused, with a message that starts with field. */
static void refused(struct fix *f, const char *field)
{
	f->msg[0] = '\0';
	assert_int_equal(kx_net_check(&f->n, f->msg, sizeof(f->msg)), -1);
	if (strncmp(f->msg, field, strlen(field)))
		fail_msg("expected a message about %s, got \"%s\"", field, f->msg);
}

static void accepted(struct fix *f)
{
	f->msg[0] = '\0';
	if (kx_net_check(&f->n, f->msg, sizeof(f->msg)))
		fail_msg("refused: %s", f->msg);
}

static void test_good(void **state)
{
	struct fix *f = *state;

	accepted(f);
	/* the limits themselves are fine */
	f->n.n_interfaces = KX_NET_MAX_IFACES;
	f->n.n_routes = KX_NET_MAX_ROUTES;
	accepted(f);
	/* no network at all, too */
	f->n.n_interfaces = f->n.n_routes = 0;
	accepted(f);
}

static void test_too_many_interfaces(void **state)
{
	struct fix *f = *state;

	f->n.n_interfaces = KX_NET_MAX_IFACES + 1;
	refused(f, "interfaces: 5");
}

static void test_bad_macs(void **state)
{
	struct fix *f = *state;

	f->ifs[0].device_mac.len = 5;
	refused(f, "interfaces[0].device_mac");
	f->ifs[0].device_mac.len = 6;
	f->mac[1][0] = 0x03;	/* multicast */
	refused(f, "interfaces[1].mac");
	memset(f->mac[1], 0, 6);
	refused(f, "interfaces[1].mac");
	memset(f->dev_mac[1], 0, 6);
	refused(f, "interfaces[1].device_mac");
	f->dev_mac[1][0] = 0x01;
	refused(f, "interfaces[1].device_mac");
	f->ifs[1].device_mac.len = 0;
	refused(f, "interfaces[1].device_mac");
}

static void test_duplicates(void **state)
{
	struct fix *f = *state;

	f->ifs[1].name = "eth0";
	refused(f, "interfaces[1].name");
	f->ifs[1].name = f->names[1];
	memcpy(f->dev_mac[1], f->dev_mac[0], 6);
	refused(f, "interfaces[1].device_mac");
}

static void test_bad_names(void **state)
{
	static const char *const names[] = { "lo", "", "eth0123456789012", "a/b", "a:b", "a b",
					     ".", ".." };
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		f->ifs[0].name = (char *)names[i];
		refused(f, "interfaces[0].name");
	}
	f->ifs[0].name = "eth012345678901";	/* 15 bytes: the longest */
	f->routes[0].device = f->routes[1].device = f->ifs[0].name;
	accepted(f);
}

static void test_bad_mtu(void **state)
{
	struct fix *f = *state;

	f->ifs[0].mtu = 0;
	refused(f, "interfaces[0].mtu");
	f->ifs[0].mtu = 70000;
	refused(f, "interfaces[0].mtu");
	f->ifs[0].mtu = 1200;	/* eth0 has an IPv6 address */
	refused(f, "interfaces[0].mtu");
	f->ifs[0].mtu = 1280;
	accepted(f);
	f->ifs[1].mtu = 1200;	/* eth1 has none */
	accepted(f);
	f->ifs[1].mtu = 67;
	refused(f, "interfaces[1].mtu");
}

static void test_bad_addresses(void **state)
{
	struct fix *f = *state;

	f->addrs[0][1].address.len = 5;
	refused(f, "interfaces[0].addresses[1]");
	f->addrs[0][1].address.len = 16;
	f->addrs[0][1].prefix_len = 129;
	refused(f, "interfaces[0].addresses[1]");
	f->addrs[0][1].prefix_len = 128;
	accepted(f);
	f->addrs[1][0].prefix_len = 33;
	refused(f, "interfaces[1].addresses[0]");
	f->addrs[1][0].prefix_len = 32;
	accepted(f);
	f->ifs[1].n_addresses = KX_NET_MAX_ADDRS + 1;
	refused(f, "interfaces[1].addresses");
}

static void test_bad_routes(void **state)
{
	struct fix *f = *state;

	f->routes[2].device = "eth7";
	refused(f, "routes[2].device");
	f->routes[2].device = "";
	refused(f, "routes[2].device");
	f->routes[2].device = "eth1";
	f->routes[1].gateway.len = 4;	/* an IPv6 route via an IPv4 gateway */
	refused(f, "routes[1].gateway");
	f->routes[1].gateway.len = 16;
	set_bytes(&f->routes[0].source, f->rbytes[0][2], v6_gw, 16);
	refused(f, "routes[0].source");
	f->routes[0].source.len = 4;
	accepted(f);
	f->routes[2].destination.len = 5;
	refused(f, "routes[2].destination");
	f->routes[2].destination.len = 4;
	f->routes[2].prefix_len = 33;
	refused(f, "routes[2].destination");
	f->routes[2].prefix_len = 8;	/* 10.215.0.0/8: host bits set */
	refused(f, "routes[2].destination");
	f->routes[2].prefix_len = 16;
	f->routes[2].scope = 256;
	refused(f, "routes[2].scope");
}

static void test_too_many_routes(void **state)
{
	struct fix *f = *state;

	f->n.n_routes = KX_NET_MAX_ROUTES + 1;
	refused(f, "routes: 65");
}

static void test_missing_entries(void **state)
{
	struct fix *f = *state;

	f->ifp[1] = NULL;
	refused(f, "interfaces[1]: missing");
	f->ifp[1] = &f->ifs[1];
	f->addrp[0][0] = NULL;
	refused(f, "interfaces[0].addresses[0]: missing");
	f->addrp[0][0] = &f->addrs[0][0];
	f->rtp[2] = NULL;
	refused(f, "routes[2]: missing");
}

static void test_device_mac(void **state)
{
	uint8_t m[6];

	kx_net_device_mac(3, m);
	assert_memory_equal(m, "\x02\x6b\x78\x00\x00\x03", 6);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_good),
		T(test_too_many_interfaces),
		T(test_bad_macs),
		T(test_duplicates),
		T(test_bad_names),
		T(test_bad_mtu),
		T(test_bad_addresses),
		T(test_bad_routes),
		T(test_too_many_routes),
		T(test_missing_entries),
		cmocka_unit_test(test_device_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
