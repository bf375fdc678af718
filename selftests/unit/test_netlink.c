// SPDX-License-Identifier: GPL-2.0
/*
 * userspace/lib/net/netlink.c and tap.c: the parsers against kernel replies
 * recorded once (data/netlink/recorded.h, made by this binary's --record
 * mode), the redirect request against what tc sends, and, as root, the whole
 * API live in a network namespace of the test's own (unshare at start: the
 * host's network is never touched).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>

#include "net/netlink.h"
#include "net/tap.h"

#include "data/netlink/recorded.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000	/* <linux/if.h>'s, which clashes with <net/if.h> */
#endif

/* ---- the recorder: build/tests/test_netlink --record > data/netlink/recorded.h ---- */

/* Short enough to be quoted in the header's comment within 100 columns. */
static const char *const rec_setup[] = {
	"ip link set lo up",
	"ip link add kxva type veth peer name kxvb",
	"ip link set kxva address 02:00:5e:10:00:01 mtu 1400 addrgenmode none",
	"ip link set kxvb address 02:00:5e:10:00:02 addrgenmode none",
	"ip tuntap add kxtap0 mode tap",
	"ip link set kxtap0 address 02:00:5e:10:00:03 mtu 1450 up",
	"ip link set kxva up",
	"ip link set kxvb up",
	"ip addr add 10.1.0.1/24 dev kxva",
	"ip -6 addr add 2001:db8:1::1/64 dev kxva nodad",
	"ip addr add 10.5.0.1 peer 10.5.0.2/32 dev kxvb",
	"ip -6 addr add 2001:db8:5::1 peer 2001:db8:5::2/128 dev kxvb nodad",
	"ip route add default via 10.1.0.254 dev kxva metric 100",
	"ip route add 10.2.0.0/16 via 10.1.0.253 dev kxva src 10.1.0.1 proto static",
	"ip route add 10.9.0.0/16 nexthop via 10.1.0.2 nexthop via 10.1.0.3",
	"ip route add 10.3.0.0/16 via 10.1.0.254 table 1000",
	"ip -6 route add default via 2001:db8:1::fe dev kxva",
	"ip -6 route add 2001:db8:9::/48 nexthop via 2001:db8:1::2 nexthop via 2001:db8:1::3",
	"tc qdisc add dev kxva ingress",
	"tc filter add dev kxva parent ffff: protocol all u32 match u32 0 0 "
		"action mirred egress redirect dev kxtap0",
};

/* Every datagram of one dump, as read, up to and with NLMSG_DONE. */
static int rec_dump(struct mnl_socket *s, struct nlmsghdr *req, uint8_t **out, size_t *outlen)
{
	static char buf[32768] __attribute__((aligned(8)));
	unsigned int seq = req->nlmsg_seq, portid = mnl_socket_get_portid(s);
	uint8_t *all = NULL, *p;
	size_t len = 0;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(s, req, req->nlmsg_len) < 0)
		return -1;
	do {
		n = mnl_socket_recvfrom(s, buf, sizeof(buf));
		if (n < 0 || !(p = realloc(all, len + n)))
			return -1;
		all = p;
		memcpy(all + len, buf, n);
		len += n;
		ret = mnl_cb_run(buf, n, seq, portid, NULL, NULL);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		return -1;
	*out = all;
	*outlen = len;
	return 0;
}

static void rec_print(const char *name, const uint8_t *p, size_t len)
{
	printf("\nstatic const uint8_t %s[%zu] __attribute__((aligned(8))) = {", name, len);
	for (size_t i = 0; i < len; i++)
		printf("%s0x%02x,", i % 12 ? " " : "\n\t", p[i]);
	printf("\n};\n");
}

static int record(void)
{
	static const char *const names[] = { "rec_links", "rec_addrs", "rec_routes",
					     "rec_filters" };
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	struct mnl_socket *s;
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	struct utsname u;
	uint8_t *data;
	size_t len;

	if (unshare(CLONE_NEWNET)) {
		perror("record: unshare(CLONE_NEWNET) (run as root)");
		return 1;
	}
	for (size_t i = 0; i < sizeof(rec_setup) / sizeof(rec_setup[0]); i++)
		if (system(rec_setup[i])) {
			fprintf(stderr, "record: %s: failed\n", rec_setup[i]);
			return 1;
		}
	sleep(1);	/* the veths' carrier comes up through linkwatch */
	s = mnl_socket_open(NETLINK_ROUTE);
	if (!s || mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID))
		return 1;
	uname(&u);
	printf("/* SPDX-License-Identifier: GPL-2.0 */\n"
	       "/*\n"
	       " * Kernel replies recorded for test_netlink.c (Linux %s), by\n"
	       " *     build/tests/test_netlink --record > selftests/unit/data/netlink/recorded.h\n"
	       " * run as root: in a scratch network namespace (unshare(CLONE_NEWNET)) set\n"
	       " * up with\n", u.release);
	for (size_t i = 0; i < sizeof(rec_setup) / sizeof(rec_setup[0]); i++) {
		const char *c = rec_setup[i], *cut = c;

		/* within 100 columns: long ones go on with a backslash */
		while (strlen(c) > 88) {
			for (cut = c + 80; *cut != ' '; cut--)
				;
			printf(" *     %s%.*s \\\n", c == rec_setup[i] ? "" : "    ",
			       (int)(cut - c), c);
			c = cut + 1;
		}
		printf(" *     %s%s\n", c == rec_setup[i] ? "" : "    ", c);
	}
	printf(" * one dump each, asked as libkatasbx asks: RTM_GETLINK (IFLA_EXT_MASK\n"
	       " * RTEXT_FILTER_SKIP_STATS), RTM_GETADDR and RTM_GETROUTE (AF_UNSPEC),\n"
	       " * RTM_GETTFILTER (kxva, parent ffff:). An array is every datagram of a\n"
	       " * dump as read from the socket, NLMSG_DONE included. Do not edit.\n"
	       " */\n\n");
	printf("#define REC_LO %u\n#define REC_KXVA %u\n#define REC_KXVB %u\n"
	       "#define REC_KXTAP0 %u\n", if_nametoindex("lo"), if_nametoindex("kxva"),
	       if_nametoindex("kxvb"), if_nametoindex("kxtap0"));
	for (int i = 0; i < 4; i++) {
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		nlh->nlmsg_seq = (unsigned int)i + 1;
		if (i == 0) {
			nlh->nlmsg_type = RTM_GETLINK;
			mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
			mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
		} else if (i == 1) {
			nlh->nlmsg_type = RTM_GETADDR;
			mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifaddrmsg));
		} else if (i == 2) {
			nlh->nlmsg_type = RTM_GETROUTE;
			mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg));
		} else {
			nlh->nlmsg_type = RTM_GETTFILTER;
			tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
			tcm->tcm_ifindex = (int)if_nametoindex("kxva");
			tcm->tcm_parent = 0xffff0000;
		}
		if (rec_dump(s, nlh, &data, &len)) {
			perror(names[i]);
			return 1;
		}
		rec_print(names[i], data, len);
		free(data);
	}
	mnl_socket_close(s);
	return 0;
}

/* ---- the parsers, on the recorded replies ---- */

static const uint8_t mac_va[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };
static const uint8_t mac_vb[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02 };
static const uint8_t mac_tap[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x03 };

/* Every message of a recorded dump through parse; taken ones into items (size each). */
static size_t parse_all(const uint8_t *data, size_t len, int (*parse)(const struct nlmsghdr *,
		       void *), void *items, size_t size, size_t max)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)data;
	int left = (int)len, ret;
	size_t n = 0, skipped = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		assert_true(n < max);
		ret = parse(nlh, (char *)items + n * size);
		assert_true(ret == 0 || ret == 1);
		if (ret == 0)
			n++;
		else
			skipped++;
	}
	assert_int_equal(left, 0);
	assert_true(skipped >= 1);	/* NLMSG_DONE at least */
	return n;
}

static int parse_link(const struct nlmsghdr *nlh, void *p)
{
	return kx_nl_parse_link(nlh, p);
}

static int parse_addr(const struct nlmsghdr *nlh, void *p)
{
	return kx_nl_parse_addr(nlh, p);
}

static int parse_route(const struct nlmsghdr *nlh, void *p)
{
	return kx_nl_parse_route(nlh, p);
}

static const struct kx_link *find_link(const struct kx_link *l, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].name, name))
			return &l[i];
	return NULL;
}

static void assert_link(const struct kx_link *l, int ifindex, const char *kind,
			unsigned short type, unsigned int flags, const uint8_t *mac,
			unsigned int mtu)
{
	assert_non_null(l);
	assert_int_equal(l->ifindex, ifindex);
	assert_string_equal(l->kind, kind);
	assert_int_equal(l->type, type);
	assert_int_equal(l->flags, flags);
	assert_true(l->has_mac);
	assert_memory_equal(l->mac, mac, 6);
	assert_int_equal(l->mtu, mtu);
}

static void test_parse_links(void **state)
{
	static const uint8_t zero[6];
	struct kx_link l[16];
	size_t n;

	(void)state;
	n = parse_all(rec_links, sizeof(rec_links), parse_link, l, sizeof(l[0]), 16);
	assert_int_equal(n, 4);
	assert_link(find_link(l, n, "lo"), REC_LO, "", ARPHRD_LOOPBACK,
		    IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP, zero, 65536);
	assert_link(find_link(l, n, "kxva"), REC_KXVA, "veth", ARPHRD_ETHER,
		    IFF_UP | IFF_BROADCAST | IFF_MULTICAST | IFF_RUNNING | IFF_LOWER_UP, mac_va,
		    1400);
	assert_link(find_link(l, n, "kxvb"), REC_KXVB, "veth", ARPHRD_ETHER,
		    IFF_UP | IFF_BROADCAST | IFF_MULTICAST | IFF_RUNNING | IFF_LOWER_UP, mac_vb,
		    1500);
	/* up, but no carrier: nothing has the tap open */
	assert_link(find_link(l, n, "kxtap0"), REC_KXTAP0, "tun", ARPHRD_ETHER,
		    IFF_UP | IFF_BROADCAST | IFF_MULTICAST, mac_tap, 1450);
}

static const struct kx_addr *find_addr(const struct kx_addr *a, size_t n, int family,
				       const char *text)
{
	uint8_t want[16] = { 0 };

	assert_int_equal(inet_pton(family, text, want), 1);
	for (size_t i = 0; i < n; i++)
		if (a[i].family == family && !memcmp(a[i].addr, want, 16))
			return &a[i];
	return NULL;
}

static void assert_addr(const struct kx_addr *a, int ifindex, unsigned int prefix,
			unsigned char scope, unsigned int flags)
{
	assert_non_null(a);
	assert_int_equal(a->ifindex, ifindex);
	assert_int_equal(a->prefix_len, prefix);
	assert_int_equal(a->scope, scope);
	assert_int_equal(a->flags, flags);
}

static void test_parse_addrs(void **state)
{
	struct kx_addr a[16];
	size_t n;

	(void)state;
	n = parse_all(rec_addrs, sizeof(rec_addrs), parse_addr, a, sizeof(a[0]), 16);
	assert_int_equal(n, 6);
	assert_addr(find_addr(a, n, AF_INET, "127.0.0.1"), REC_LO, 8, RT_SCOPE_HOST,
		    IFA_F_PERMANENT);
	assert_addr(find_addr(a, n, AF_INET, "10.1.0.1"), REC_KXVA, 24, RT_SCOPE_UNIVERSE,
		    IFA_F_PERMANENT);
	/* with a peer: IFA_LOCAL is ours, IFA_ADDRESS the peer's */
	assert_addr(find_addr(a, n, AF_INET, "10.5.0.1"), REC_KXVB, 32, RT_SCOPE_UNIVERSE,
		    IFA_F_PERMANENT);
	assert_null(find_addr(a, n, AF_INET, "10.5.0.2"));
	assert_addr(find_addr(a, n, AF_INET6, "::1"), REC_LO, 128, RT_SCOPE_HOST,
		    IFA_F_PERMANENT);
	assert_addr(find_addr(a, n, AF_INET6, "2001:db8:1::1"), REC_KXVA, 64,
		    RT_SCOPE_UNIVERSE, IFA_F_PERMANENT | IFA_F_NODAD);
	assert_addr(find_addr(a, n, AF_INET6, "2001:db8:5::1"), REC_KXVB, 128,
		    RT_SCOPE_UNIVERSE, IFA_F_PERMANENT | IFA_F_NODAD);
	assert_null(find_addr(a, n, AF_INET6, "2001:db8:5::2"));
}

static const struct kx_route *find_route(const struct kx_route *r, size_t n, int family,
					 const char *dst, unsigned int len, unsigned int table)
{
	uint8_t want[16] = { 0 };

	assert_int_equal(inet_pton(family, dst, want), 1);
	for (size_t i = 0; i < n; i++)
		if (r[i].family == family && r[i].dst_len == len && r[i].table == table &&
		    !memcmp(r[i].dst, want, 16))
			return &r[i];
	return NULL;
}

/* gw, src: NULL if none. */
static void assert_route(const struct kx_route *r, const char *gw, const char *src, int oif,
			 unsigned int priority, unsigned char scope, unsigned char protocol)
{
	uint8_t want[16] = { 0 };

	assert_non_null(r);
	assert_int_equal(r->has_gateway, gw != NULL);
	if (gw) {
		assert_int_equal(inet_pton(r->family, gw, want), 1);
		assert_memory_equal(r->gateway, want, 16);
	}
	assert_int_equal(r->has_prefsrc, src != NULL);
	if (src) {
		memset(want, 0, sizeof(want));
		assert_int_equal(inet_pton(r->family, src, want), 1);
		assert_memory_equal(r->prefsrc, want, 16);
	}
	assert_int_equal(r->oif, oif);
	assert_int_equal(r->priority, priority);
	assert_int_equal(r->scope, scope);
	assert_int_equal(r->protocol, protocol);
	assert_int_equal(r->type, RTN_UNICAST);
	assert_false(r->has_multipath);
}

static void test_parse_routes(void **state)
{
	struct kx_route r[64];
	const struct kx_route *m;
	size_t n, local = 0;

	(void)state;
	n = parse_all(rec_routes, sizeof(rec_routes), parse_route, r, sizeof(r[0]), 64);
	assert_route(find_route(r, n, AF_INET, "0.0.0.0", 0, RT_TABLE_MAIN), "10.1.0.254", NULL,
		     REC_KXVA, 100, RT_SCOPE_UNIVERSE, RTPROT_BOOT);
	assert_route(find_route(r, n, AF_INET, "10.1.0.0", 24, RT_TABLE_MAIN), NULL, "10.1.0.1",
		     REC_KXVA, 0, RT_SCOPE_LINK, RTPROT_KERNEL);
	assert_route(find_route(r, n, AF_INET, "10.2.0.0", 16, RT_TABLE_MAIN), "10.1.0.253",
		     "10.1.0.1", REC_KXVA, 0, RT_SCOPE_UNIVERSE, RTPROT_STATIC);
	assert_route(find_route(r, n, AF_INET, "10.5.0.2", 32, RT_TABLE_MAIN), NULL, "10.5.0.1",
		     REC_KXVB, 0, RT_SCOPE_LINK, RTPROT_KERNEL);
	/* table 1000: RTA_TABLE, rtm_table says RT_TABLE_COMPAT */
	assert_route(find_route(r, n, AF_INET, "10.3.0.0", 16, 1000), "10.1.0.254", NULL,
		     REC_KXVA, 0, RT_SCOPE_UNIVERSE, RTPROT_BOOT);
	m = find_route(r, n, AF_INET, "10.9.0.0", 16, RT_TABLE_MAIN);
	assert_non_null(m);
	assert_true(m->has_multipath);
	assert_false(m->has_gateway);
	assert_int_equal(m->oif, 0);

	assert_route(find_route(r, n, AF_INET6, "::", 0, RT_TABLE_MAIN), "2001:db8:1::fe", NULL,
		     REC_KXVA, 1024, RT_SCOPE_UNIVERSE, RTPROT_BOOT);
	assert_route(find_route(r, n, AF_INET6, "2001:db8:1::", 64, RT_TABLE_MAIN), NULL, NULL,
		     REC_KXVA, 256, RT_SCOPE_UNIVERSE, RTPROT_KERNEL);
	assert_route(find_route(r, n, AF_INET6, "2001:db8:5::2", 128, RT_TABLE_MAIN), NULL,
		     NULL, REC_KXVB, 256, RT_SCOPE_UNIVERSE, RTPROT_KERNEL);
	m = find_route(r, n, AF_INET6, "2001:db8:9::", 48, RT_TABLE_MAIN);
	assert_non_null(m);
	assert_true(m->has_multipath);
	assert_int_equal(m->oif, 0);

	/* the local table is in the dump too: local, broadcast, multicast routes */
	for (size_t i = 0; i < n; i++)
		local += r[i].table == RT_TABLE_LOCAL;
	assert_true(local > 0);
	m = find_route(r, n, AF_INET, "10.1.0.1", 32, RT_TABLE_LOCAL);
	assert_non_null(m);
	assert_int_equal(m->type, RTN_LOCAL);
	assert_int_equal(m->scope, RT_SCOPE_HOST);
}

static void test_parse_filters(void **state)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)rec_filters;
	int left = sizeof(rec_filters), to[KX_NL_MAX_ACTIONS], filters = 0, redirects = 0;
	size_t n;

	(void)state;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type == NLMSG_DONE) {
			assert_int_equal(kx_nl_parse_filter(nlh, to, &n), 1);
			continue;
		}
		/* the u32 classifier, its hash table, then the key with the action */
		assert_int_equal(kx_nl_parse_filter(nlh, to, &n), 0);
		filters++;
		for (size_t i = 0; i < n; i++, redirects++)
			assert_int_equal(to[i], REC_KXTAP0);
	}
	assert_int_equal(filters, 3);
	assert_int_equal(redirects, 1);
}

/* Messages built here, for what the kernel does not send. */
static struct nlmsghdr *msg(void *buf, uint16_t type, size_t hdrlen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	memset(mnl_nlmsg_put_extra_header(nlh, hdrlen), 0, hdrlen);
	return nlh;
}

/* The recorded RTM_NEWLINK of ifindex, copied into buf. */
static struct nlmsghdr *recorded_link(void *buf, int ifindex)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)rec_links;
	int left = sizeof(rec_links);

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_type == RTM_NEWLINK && ifm->ifi_index == ifindex) {
			memcpy(buf, nlh, nlh->nlmsg_len);
			return buf;
		}
	}
	fail_msg("no RTM_NEWLINK of %d recorded", ifindex);
	return NULL;
}

static void test_parse_malformed(void **state)
{
	char buf[8192] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	struct nlattr *a;
	struct ifaddrmsg *ifa;
	struct rtmsg *rtm;
	struct kx_link l;
	struct kx_addr ad;
	struct kx_route r;
	int to[KX_NL_MAX_ACTIONS];
	size_t n;

	(void)state;
	/* not of the kind: 1 */
	nlh = msg(buf, NLMSG_DONE, sizeof(int));
	assert_int_equal(kx_nl_parse_link(nlh, &l), 1);
	assert_int_equal(kx_nl_parse_addr(nlh, &ad), 1);
	assert_int_equal(kx_nl_parse_route(nlh, &r), 1);
	assert_int_equal(kx_nl_parse_filter(nlh, to, &n), 1);
	nlh = recorded_link(buf, REC_KXVA);
	assert_int_equal(kx_nl_parse_addr(nlh, &ad), 1);
	assert_int_equal(kx_nl_parse_route(nlh, &r), 1);
	nlh = msg(buf, RTM_NEWROUTE, sizeof(*rtm));
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_family = RTNL_FAMILY_IPMR;
	assert_int_equal(kx_nl_parse_route(nlh, &r), 1);
	nlh = msg(buf, RTM_NEWADDR, sizeof(*ifa));
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_family = AF_PACKET;
	assert_int_equal(kx_nl_parse_addr(nlh, &ad), 1);
	nlh = msg(buf, RTM_NEWTFILTER, sizeof(struct tcmsg));
	mnl_attr_put_strz(nlh, TCA_KIND, "flower");
	assert_int_equal(kx_nl_parse_filter(nlh, to, &n), 1);

	/* a recorded veth, cut short or spoiled: -1 */
	nlh = recorded_link(buf, REC_KXVA);
	assert_int_equal(kx_nl_parse_link(nlh, &l), 0);
	nlh->nlmsg_len = mnl_nlmsg_size(sizeof(struct ifinfomsg) - 4);
	assert_int_equal(kx_nl_parse_link(nlh, &l), -1);
	nlh = recorded_link(buf, REC_KXVA);
	a = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct ifinfomsg));
	nlh->nlmsg_len = (uint32_t)((char *)a - (char *)nlh) + 6;	/* inside the first */
	assert_int_equal(kx_nl_parse_link(nlh, &l), -1);
	nlh = recorded_link(buf, REC_KXVA);
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
		if (mnl_attr_get_type(a) == IFLA_IFNAME)
			((char *)mnl_attr_get_payload(a))[mnl_attr_get_payload_len(a) - 1] = 'x';
	assert_int_equal(kx_nl_parse_link(nlh, &l), -1);	/* no NUL */
	nlh = msg(buf, RTM_NEWLINK, sizeof(struct ifinfomsg));
	assert_int_equal(kx_nl_parse_link(nlh, &l), -1);	/* no name */
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "x");
	assert_int_equal(kx_nl_parse_link(nlh, &l), 0);
	mnl_attr_put_u16(nlh, IFLA_MTU, 1500);
	assert_int_equal(kx_nl_parse_link(nlh, &l), -1);
	nlh = msg(buf, RTM_NEWLINK, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "a-name-of-16-chr");
	assert_int_equal(kx_nl_parse_link(nlh, &l), -1);

	nlh = msg(buf, RTM_NEWADDR, sizeof(*ifa));
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_family = AF_INET;
	assert_int_equal(kx_nl_parse_addr(nlh, &ad), -1);	/* no address */
	mnl_attr_put(nlh, IFA_ADDRESS, 16, "0123456789abcdef");
	assert_int_equal(kx_nl_parse_addr(nlh, &ad), -1);	/* IPv6-sized */
	ifa->ifa_family = AF_INET6;
	assert_int_equal(kx_nl_parse_addr(nlh, &ad), 0);
	ifa->ifa_prefixlen = 129;
	assert_int_equal(kx_nl_parse_addr(nlh, &ad), -1);
	ifa->ifa_prefixlen = 64;
	mnl_attr_put_u8(nlh, IFA_FLAGS, 1);
	assert_int_equal(kx_nl_parse_addr(nlh, &ad), -1);

	nlh = msg(buf, RTM_NEWROUTE, sizeof(*rtm));
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_family = AF_INET;
	assert_int_equal(kx_nl_parse_route(nlh, &r), 0);
	rtm->rtm_dst_len = 33;
	assert_int_equal(kx_nl_parse_route(nlh, &r), -1);
	rtm->rtm_dst_len = 0;
	mnl_attr_put(nlh, RTA_GATEWAY, 16, "0123456789abcdef");
	assert_int_equal(kx_nl_parse_route(nlh, &r), -1);
	nlh = msg(buf, RTM_NEWROUTE, sizeof(*rtm));
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_family = AF_INET6;
	mnl_attr_put_u8(nlh, RTA_OIF, 2);
	assert_int_equal(kx_nl_parse_route(nlh, &r), -1);

	/* mirred with its parameters cut */
	nlh = msg(buf, RTM_NEWTFILTER, sizeof(struct tcmsg));
	mnl_attr_put_strz(nlh, TCA_KIND, "matchall");
	a = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	{
		struct nlattr *acts = mnl_attr_nest_start(nlh, TCA_MATCHALL_ACT);
		struct nlattr *act = mnl_attr_nest_start(nlh, 1);
		struct nlattr *o;

		mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
		o = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
		mnl_attr_put(nlh, TCA_MIRRED_PARMS, 8, "01234567");
		mnl_attr_nest_end(nlh, o);
		mnl_attr_nest_end(nlh, act);
		mnl_attr_nest_end(nlh, acts);
	}
	mnl_attr_nest_end(nlh, a);
	assert_int_equal(kx_nl_parse_filter(nlh, to, &n), -1);
}

/* ---- the redirect request ---- */

/*
 * What iproute2 6.1.0's tc sends for
 *     tc filter add dev va parent ffff: protocol all u32 match u32 0 0 \
 *         action mirred egress redirect dev tp0
 * with va ifindex 3 and tp0 ifindex 4, seen with
 *     strace -e trace=sendmsg -e write=3 tc filter add ...
 * (sequence number 0x6b0f5c73).
 */
static const uint8_t tc_request[140] __attribute__((aligned(8))) = {
	0x8c, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x05, 0x06, 0x73, 0x5c, 0x0f, 0x6b,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x03, 0x00, 0x00,
	0x08, 0x00, 0x01, 0x00, 0x75, 0x33, 0x32, 0x00, 0x60, 0x00, 0x02, 0x00,
	0x38, 0x00, 0x07, 0x00, 0x34, 0x00, 0x01, 0x00, 0x0b, 0x00, 0x01, 0x00,
	0x6d, 0x69, 0x72, 0x72, 0x65, 0x64, 0x00, 0x00, 0x24, 0x00, 0x02, 0x80,
	0x20, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x24, 0x00, 0x05, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* Attribute by attribute; NLA_F_NESTED may differ (libmnl sets it on every nest, tc not). */
static void assert_same_attrs(const void *a, size_t alen, const void *b, size_t blen)
{
	const struct nlattr *x = a, *y = b;

	while (mnl_attr_ok(x, (int)((const char *)a + alen - (const char *)x))) {
		assert_true(mnl_attr_ok(y, (int)((const char *)b + blen - (const char *)y)));
		assert_int_equal(mnl_attr_get_type(x), mnl_attr_get_type(y));
		assert_int_equal(x->nla_len, y->nla_len);
		if ((x->nla_type | y->nla_type) & NLA_F_NESTED)
			assert_same_attrs(mnl_attr_get_payload(x), mnl_attr_get_payload_len(x),
					  mnl_attr_get_payload(y), mnl_attr_get_payload_len(y));
		else
			assert_memory_equal(mnl_attr_get_payload(x), mnl_attr_get_payload(y),
					    mnl_attr_get_payload_len(x));
		x = mnl_attr_next(x);
		y = mnl_attr_next(y);
	}
	assert_ptr_equal(x, (const char *)a + alen);
	assert_ptr_equal(y, (const char *)b + blen);
}

static void test_build_redirect_like_tc(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	const struct nlmsghdr *tc = (const struct nlmsghdr *)tc_request;
	struct nlmsghdr *nlh = kx_nl_build_redirect(buf, tc->nlmsg_seq, 3, 4);
	size_t hdr = mnl_nlmsg_size(sizeof(struct tcmsg));

	(void)state;
	assert_int_equal(nlh->nlmsg_len, sizeof(tc_request));
	assert_memory_equal(nlh, tc_request, hdr);	/* nlmsghdr and tcmsg, byte for byte */
	assert_same_attrs((char *)nlh + hdr, nlh->nlmsg_len - hdr, tc_request + hdr,
			  sizeof(tc_request) - hdr);
}

struct tb {
	const struct nlattr *a[32];
};

static int tb_cb(const struct nlattr *attr, void *data)
{
	struct tb *t = data;

	assert_true(mnl_attr_get_type(attr) < 32);
	assert_null(t->a[mnl_attr_get_type(attr)]);	/* each once */
	t->a[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static void test_build_redirect(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = kx_nl_build_redirect(buf, 77, 5, 9);
	struct tb tb = { 0 }, opt = { 0 }, acts = { 0 }, act = { 0 }, mir = { 0 };
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct tc_u32_sel *sel;
	struct tc_mirred m;
	int to[KX_NL_MAX_ACTIONS];
	size_t n;

	(void)state;
	assert_ptr_equal(nlh, buf);
	assert_true(mnl_nlmsg_ok(nlh, (int)nlh->nlmsg_len));
	assert_int_equal(nlh->nlmsg_type, RTM_NEWTFILTER);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE);
	assert_int_equal(nlh->nlmsg_seq, 77);
	assert_int_equal(nlh->nlmsg_pid, 0);
	assert_int_equal(tcm->tcm_family, AF_UNSPEC);
	assert_int_equal(tcm->tcm_ifindex, 5);
	assert_int_equal(tcm->tcm_handle, 0);
	assert_int_equal(tcm->tcm_parent, 0xffff0000);
	assert_int_equal(TC_H_MIN(tcm->tcm_info), htons(ETH_P_ALL));	/* the protocol */
	assert_int_equal(TC_H_MAJ(tcm->tcm_info), 0);			/* the priority */

	assert_int_equal(mnl_attr_parse(nlh, sizeof(*tcm), tb_cb, &tb), MNL_CB_OK);
	assert_non_null(tb.a[TCA_KIND]);
	assert_string_equal(mnl_attr_get_str(tb.a[TCA_KIND]), "u32");
	assert_non_null(tb.a[TCA_OPTIONS]);
	assert_int_equal(mnl_attr_parse_nested(tb.a[TCA_OPTIONS], tb_cb, &opt), MNL_CB_OK);

	assert_non_null(opt.a[TCA_U32_SEL]);
	assert_int_equal(mnl_attr_get_payload_len(opt.a[TCA_U32_SEL]),
			 sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key));
	sel = mnl_attr_get_payload(opt.a[TCA_U32_SEL]);
	assert_int_equal(sel->flags, TC_U32_TERMINAL);
	assert_int_equal(sel->nkeys, 1);
	assert_int_equal(sel->offshift | sel->offmask | sel->off | sel->offoff | sel->hoff, 0);
	assert_int_equal(sel->hmask, 0);
	assert_int_equal(sel->keys[0].mask, 0);
	assert_int_equal(sel->keys[0].val, 0);
	assert_int_equal(sel->keys[0].off, 0);
	assert_int_equal(sel->keys[0].offmask, 0);

	assert_non_null(opt.a[TCA_U32_ACT]);
	assert_int_equal(mnl_attr_parse_nested(opt.a[TCA_U32_ACT], tb_cb, &acts), MNL_CB_OK);
	for (int i = 0; i < 32; i++)
		assert_true(i == 1 ? acts.a[i] != NULL : acts.a[i] == NULL);	/* one action */
	assert_int_equal(mnl_attr_parse_nested(acts.a[1], tb_cb, &act), MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(act.a[TCA_ACT_KIND]), "mirred");
	assert_int_equal(mnl_attr_parse_nested(act.a[TCA_ACT_OPTIONS], tb_cb, &mir), MNL_CB_OK);
	assert_int_equal(mnl_attr_get_payload_len(mir.a[TCA_MIRRED_PARMS]), sizeof(m));
	memcpy(&m, mnl_attr_get_payload(mir.a[TCA_MIRRED_PARMS]), sizeof(m));
	assert_int_equal(m.eaction, TCA_EGRESS_REDIR);
	assert_int_equal(m.action, TC_ACT_STOLEN);
	assert_int_equal(m.ifindex, 9);
	assert_int_equal(m.index | m.capab | (unsigned int)m.refcnt | (unsigned int)m.bindcnt, 0);

	/* and the filter parser reads it back */
	assert_int_equal(kx_nl_parse_filter(nlh, to, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(to[0], 9);
}

/* ---- live, as root, in the test's own network namespaces ---- */

static int ns_main = -1, ns_other = -1;	/* the test runs in ns_main */
static char skip_reason[128];

static void live_setup(void)
{
	if (geteuid()) {
		snprintf(skip_reason, sizeof(skip_reason), "not root");
		return;
	}
	if (unshare(CLONE_NEWNET) ||
	    (ns_main = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 ||
	    unshare(CLONE_NEWNET) ||
	    (ns_other = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 ||
	    setns(ns_main, CLONE_NEWNET)) {
		snprintf(skip_reason, sizeof(skip_reason), "network namespaces: %s",
			 strerror(errno));
		/* never run live tests where the host's interfaces are */
		if (ns_main >= 0 && setns(ns_main, CLONE_NEWNET))
			abort();
		ns_main = -1;
		return;
	}
	if (system("ip link set lo up"))
		snprintf(skip_reason, sizeof(skip_reason), "ip link set lo up failed (iproute2?)");
}

static bool live(void)
{
	if (ns_main < 0 || skip_reason[0]) {
		print_message("skipped: %s\n", skip_reason);
		return false;
	}
	return true;
}

static void __attribute__((format(printf, 1, 2))) sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd))
		fail_msg("%s: failed", cmd);
}

static ino_t netns_ino(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/thread-self/ns/net", &st), 0);
	return st.st_ino;
}

static int ifindex(const char *name)
{
	int i = (int)if_nametoindex(name);

	assert_true(i > 0);
	return i;
}

/* The links of the namespace nl is in, and the one called name (NULL if none). */
static const struct kx_link *link_named(struct kx_nl *nl, const char *name, struct kx_link *out)
{
	struct kx_err err = { 0 };
	struct kx_link *links;
	const struct kx_link *l;
	size_t n;

	assert_int_equal(kx_nl_links(nl, &links, &n, &err), 0);
	l = find_link(links, n, name);
	if (l)
		*out = *l;
	free(links);
	return l ? out : NULL;
}

static void assert_msg(const struct kx_err *err, const char *needle)
{
	if (!strstr(err->msg, needle))
		fail_msg("\"%s\" lacks \"%s\"", err->msg, needle);
}

static void test_live_links_and_taps(void **state)
{
	static const uint8_t va[6] = { 0x02, 0x00, 0x5e, 0x20, 0x00, 0x01 },
			     vb[6] = { 0x02, 0x00, 0x5e, 0x20, 0x00, 0x02 },
			     tp[6] = { 0x02, 0x00, 0x5e, 0x20, 0x00, 0x03 };
	struct kx_err err = { 0 };
	struct kx_nl *nl, *other;
	struct kx_link l;
	struct ifreq ifr = { 0 };
	ino_t ino;
	int tap, tap2;

	(void)state;
	if (!live())
		skip();
	sh("ip link add kxla address 02:00:5e:20:00:01 mtu 1400 type veth peer name kxlb "
	   "address 02:00:5e:20:00:02");
	tap = kx_tap_open(-1, "kxltap", &err);
	assert_true(tap >= 0);
	assert_true(fcntl(tap, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(ioctl(tap, TUNGETIFF, &ifr), 0);
	assert_int_equal(ifr.ifr_flags, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	sh("ip link set kxltap address 02:00:5e:20:00:03");

	assert_int_equal(kx_nl_open(&nl, -1, &err), 0);
	assert_link(link_named(nl, "kxla", &l), ifindex("kxla"), "veth", ARPHRD_ETHER,
		    IFF_BROADCAST | IFF_MULTICAST, va, 1400);
	assert_link(link_named(nl, "kxlb", &l), ifindex("kxlb"), "veth", ARPHRD_ETHER,
		    IFF_BROADCAST | IFF_MULTICAST, vb, 1500);
	assert_link(link_named(nl, "kxltap", &l), ifindex("kxltap"), "tun", ARPHRD_ETHER,
		    IFF_BROADCAST | IFF_MULTICAST, tp, 1500);
	assert_non_null(link_named(nl, "lo", &l));
	assert_string_equal(l.kind, "");
	assert_int_equal(l.type, ARPHRD_LOOPBACK);

	/* the same name again: the tap is in use */
	assert_int_equal(kx_tap_open(-1, "kxltap", &err), -1);
	assert_int_equal(err.errnum, EBUSY);
	assert_msg(&err, "tap device kxltap");
	/* not persistent: gone with its fd */
	close(tap);
	assert_null(link_named(nl, "kxltap", &l));

	/* made in the other namespace, from here; the thread stays here */
	ino = netns_ino();
	tap2 = kx_tap_open(ns_other, "kxltap2", &err);
	assert_true(tap2 >= 0);
	assert_int_equal(netns_ino(), ino);
	assert_null(link_named(nl, "kxltap2", &l));
	assert_int_equal(kx_nl_open(&other, ns_other, &err), 0);
	assert_int_equal(netns_ino(), ino);
	assert_non_null(link_named(other, "kxltap2", &l));
	assert_string_equal(l.kind, "tun");
	assert_null(link_named(other, "kxla", &l));
	close(tap2);
	assert_null(link_named(other, "kxltap2", &l));
	kx_nl_close(other);

	assert_int_equal(kx_nl_link_del(nl, ifindex("kxla"), &err), 0);
	kx_nl_close(nl);
}

static void test_live_tap_refusals(void **state)
{
	struct kx_err err = { 0 };
	int fd;

	(void)state;
	if (!live())
		skip();
	sh("ip tuntap add kxpers mode tap && ip link add kxra type veth peer name kxrb");
	/* attaching to a persistent tap would outlive the sandbox */
	assert_int_equal(kx_tap_open(-1, "kxpers", &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_msg(&err, "tap device kxpers: a persistent tap");
	assert_int_equal(kx_tap_open(-1, "kxra", &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_msg(&err, "tap device kxra: create (TUNSETIFF)");
	assert_int_equal(kx_tap_open(-1, "a/b", &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(kx_tap_open(-1, "", &err), -1);
	/* a netns fd that is not one: refused, and the thread is where it was */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(kx_tap_open(fd, "kxbad", &err), -1);
	assert_msg(&err, "enter network namespace fd");
	sh("ip tuntap del kxpers mode tap && ip link del kxra");
	close(fd);
}

static void assert_redirects(struct kx_nl *nl, int from, int to)
{
	struct kx_err err = { 0 };
	size_t n;
	int *t;

	assert_int_equal(kx_nl_redirects(nl, from, &t, &n, &err), 0);
	assert_int_equal(n, to ? 1 : 0);
	if (to)
		assert_int_equal(t[0], to);
	free(t);
}

/* What tc itself shows for from's ingress filters contains needle. */
static void assert_tc_shows(const char *dev, const char *needle)
{
	char cmd[128], out[4096];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "tc filter show dev %s parent ffff:", dev);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	if (!strstr(out, needle))
		fail_msg("%s: \"%s\" lacks \"%s\"", cmd, out, needle);
}

static void test_live_redirects(void **state)
{
	struct kx_err err = { 0 };
	struct kx_nl *nl;
	int tap, va, vb, tp;
	char want[128];

	(void)state;
	if (!live())
		skip();
	sh("ip link add kxra type veth peer name kxrb");
	tap = kx_tap_open(-1, "kxrtap", &err);
	assert_true(tap >= 0);
	va = ifindex("kxra");
	vb = ifindex("kxrb");
	tp = ifindex("kxrtap");
	assert_int_equal(kx_nl_open(&nl, -1, &err), 0);

	assert_int_equal(kx_nl_ingress_add(nl, va, &err), 0);
	assert_int_equal(kx_nl_ingress_add(nl, tp, &err), 0);
	assert_int_equal(kx_nl_ingress_add(nl, va, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	snprintf(want, sizeof(want), "interface %d (kxra): add ingress qdisc: ", va);
	assert_msg(&err, want);
	assert_msg(&err, "File exists");
	assert_redirects(nl, va, 0);

	assert_int_equal(kx_nl_redirect_add(nl, va, tp, &err), 0);
	assert_int_equal(kx_nl_redirect_add(nl, tp, va, &err), 0);
	assert_redirects(nl, va, tp);
	assert_redirects(nl, tp, va);
	assert_tc_shows("kxra", "mirred (Egress Redirect to device kxrtap) stolen");
	assert_tc_shows("kxra", "match 00000000/00000000 at 0");
	assert_tc_shows("kxrtap", "mirred (Egress Redirect to device kxra) stolen");

	/* no such target, no such interface */
	assert_int_equal(kx_nl_redirect_add(nl, va, 9999, &err), -1);
	snprintf(want, sizeof(want), "interface %d (kxra): add ingress filter redirecting to "
		 "interface 9999: ", va);
	assert_msg(&err, want);
	assert_int_equal(kx_nl_ingress_add(nl, 9999, &err), -1);
	assert_int_equal(err.errnum, ENODEV);
	assert_msg(&err, "interface 9999: add ingress qdisc");
	assert_redirects(nl, 9999, 0);

	/* del takes the filters with it; again, or where there never was one: 0 */
	assert_int_equal(kx_nl_ingress_del(nl, va, &err), 0);
	assert_redirects(nl, va, 0);
	assert_redirects(nl, tp, va);
	assert_int_equal(kx_nl_ingress_del(nl, va, &err), 0);
	assert_int_equal(kx_nl_ingress_del(nl, tp, &err), 0);
	assert_redirects(nl, tp, 0);
	assert_int_equal(kx_nl_ingress_del(nl, vb, &err), 0);
	assert_int_equal(kx_nl_ingress_del(nl, 9999, &err), 0);

	/* a clsact qdisc is not ours to delete */
	sh("tc qdisc add dev kxrb clsact");
	assert_int_equal(kx_nl_ingress_del(nl, vb, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_msg(&err, "clsact");
	assert_int_equal(kx_nl_ingress_add(nl, vb, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	sh("tc qdisc del dev kxrb clsact");
	assert_int_equal(kx_nl_ingress_add(nl, vb, &err), 0);

	close(tap);
	assert_int_equal(kx_nl_link_del(nl, va, &err), 0);
	kx_nl_close(nl);
}

static void test_live_link_change(void **state)
{
	struct kx_err err = { 0 };
	struct kx_nl *nl, *other;
	struct kx_link l;
	struct kx_link_change c;
	char want[96];
	int tap, idx;

	(void)state;
	if (!live())
		skip();
	tap = kx_tap_open(-1, "kxctap", &err);
	assert_true(tap >= 0);
	idx = ifindex("kxctap");
	assert_int_equal(kx_nl_open(&nl, -1, &err), 0);
	assert_int_equal(kx_nl_open(&other, ns_other, &err), 0);

	/* move, rename, MTU and up in one request */
	c = (struct kx_link_change){ .name = "kxmoved", .netns_fd = ns_other, .mtu = 1300,
				     .up = 1 };
	assert_int_equal(kx_nl_link_change(nl, idx, &c, &err), 0);
	assert_int_equal(if_nametoindex("kxctap"), 0);
	assert_null(link_named(nl, "kxmoved", &l));
	assert_non_null(link_named(other, "kxmoved", &l));
	assert_string_equal(l.kind, "tun");
	assert_int_equal(l.mtu, 1300);
	assert_true(l.flags & IFF_UP);
	idx = l.ifindex;

	/* a name taken there; an MTU the device does not take */
	c = (struct kx_link_change){ .name = "lo", .netns_fd = -1, .up = -1 };
	assert_int_equal(kx_nl_link_change(other, idx, &c, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	snprintf(want, sizeof(want), "interface %d (kxmoved): rename to lo", idx);
	assert_msg(&err, want);
	c = (struct kx_link_change){ .netns_fd = -1, .mtu = 100000, .up = -1 };
	assert_int_equal(kx_nl_link_change(other, idx, &c, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_msg(&err, "set MTU 100000");
	c = (struct kx_link_change){ .name = "no/slash", .netns_fd = -1, .up = -1 };
	assert_int_equal(kx_nl_link_change(other, idx, &c, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	c = (struct kx_link_change){ .netns_fd = -1, .up = -1 };
	assert_int_equal(kx_nl_link_change(other, idx, &c, &err), 0);	/* nothing to do */

	/* down, then renamed, then home under its first name */
	c = (struct kx_link_change){ .netns_fd = -1, .up = 0 };
	assert_int_equal(kx_nl_link_change(other, idx, &c, &err), 0);
	assert_false(link_named(other, "kxmoved", &l)->flags & IFF_UP);
	c = (struct kx_link_change){ .name = "kxrenamed", .netns_fd = -1, .up = -1 };
	assert_int_equal(kx_nl_link_change(other, idx, &c, &err), 0);
	assert_non_null(link_named(other, "kxrenamed", &l));
	c = (struct kx_link_change){ .name = "kxctap", .netns_fd = ns_main, .up = -1 };
	assert_int_equal(kx_nl_link_change(other, idx, &c, &err), 0);
	assert_null(link_named(other, "kxrenamed", &l));
	assert_non_null(link_named(nl, "kxctap", &l));
	assert_int_equal(l.mtu, 1300);

	close(tap);
	assert_null(link_named(nl, "kxctap", &l));
	kx_nl_close(other);
	kx_nl_close(nl);
}

static void test_live_link_del(void **state)
{
	struct kx_err err = { 0 };
	struct kx_nl *nl;
	int idx;

	(void)state;
	if (!live())
		skip();
	sh("ip link add kxda type veth peer name kxdb");
	idx = ifindex("kxda");
	assert_int_equal(kx_nl_open(&nl, -1, &err), 0);
	assert_int_equal(kx_nl_link_del(nl, idx, &err), 0);
	assert_int_equal(if_nametoindex("kxda"), 0);
	assert_int_equal(if_nametoindex("kxdb"), 0);	/* the peer went with it */
	assert_int_equal(kx_nl_link_del(nl, idx, &err), 0);
	/* lo cannot go: the error names it */
	assert_int_equal(kx_nl_link_del(nl, 1, &err), -1);
	assert_msg(&err, "interface 1 (lo): delete");
	kx_nl_close(nl);
}

static void test_live_addrs_routes(void **state)
{
	struct kx_err err = { 0 };
	struct kx_nl *nl;
	struct kx_addr *a;
	struct kx_route *r;
	size_t na, nr;
	int idx;

	(void)state;
	if (!live())
		skip();
	sh("ip link add kxaa type veth peer name kxab && ip link set kxaa up && "
	   "ip link set kxab up && ip addr add 10.7.0.1/24 dev kxaa && "
	   "ip -6 addr add 2001:db8:7::1/64 dev kxaa nodad && "
	   "ip route add default via 10.7.0.254 && "
	   "ip route add 10.8.0.0/16 nexthop via 10.7.0.2 nexthop via 10.7.0.3 && "
	   "ip route add 10.6.0.0/16 via 10.7.0.254 table 1000");
	idx = ifindex("kxaa");
	assert_int_equal(kx_nl_open(&nl, -1, &err), 0);
	assert_int_equal(kx_nl_addrs(nl, &a, &na, &err), 0);
	assert_addr(find_addr(a, na, AF_INET, "10.7.0.1"), idx, 24, RT_SCOPE_UNIVERSE,
		    IFA_F_PERMANENT);
	assert_addr(find_addr(a, na, AF_INET6, "2001:db8:7::1"), idx, 64, RT_SCOPE_UNIVERSE,
		    IFA_F_PERMANENT | IFA_F_NODAD);
	assert_addr(find_addr(a, na, AF_INET, "127.0.0.1"), 1, 8, RT_SCOPE_HOST,
		    IFA_F_PERMANENT);
	free(a);

	assert_int_equal(kx_nl_routes(nl, &r, &nr, &err), 0);
	for (size_t i = 0; i < nr; i++) {
		assert_int_equal(r[i].table, RT_TABLE_MAIN);
		assert_false(r[i].has_multipath);
	}
	assert_route(find_route(r, nr, AF_INET, "0.0.0.0", 0, RT_TABLE_MAIN), "10.7.0.254",
		     NULL, idx, 0, RT_SCOPE_UNIVERSE, RTPROT_BOOT);
	assert_route(find_route(r, nr, AF_INET, "10.7.0.0", 24, RT_TABLE_MAIN), NULL,
		     "10.7.0.1", idx, 0, RT_SCOPE_LINK, RTPROT_KERNEL);
	assert_route(find_route(r, nr, AF_INET6, "2001:db8:7::", 64, RT_TABLE_MAIN), NULL, NULL,
		     idx, 256, RT_SCOPE_UNIVERSE, RTPROT_KERNEL);
	assert_null(find_route(r, nr, AF_INET, "10.8.0.0", 16, RT_TABLE_MAIN));	/* multipath */
	free(r);

	assert_int_equal(kx_nl_link_del(nl, idx, &err), 0);
	kx_nl_close(nl);
}

/* Enough links that a dump takes several datagrams of the 32 KiB buffer. */
static void test_live_multipart_dump(void **state)
{
	struct kx_err err = { 0 };
	struct kx_nl *nl;
	struct kx_link *links;
	size_t n, found = 0;
	char name[16];
	FILE *batch;

	(void)state;
	if (!live())
		skip();
	batch = popen("ip -batch -", "w");
	assert_non_null(batch);
	for (int i = 0; i < 40; i++)
		fprintf(batch, "link add kxm%da type veth peer name kxm%db\n", i, i);
	assert_int_equal(pclose(batch), 0);
	assert_int_equal(kx_nl_open(&nl, -1, &err), 0);
	assert_int_equal(kx_nl_links(nl, &links, &n, &err), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "kxm%db", i);
		found += find_link(links, n, name) != NULL;
	}
	assert_int_equal(found, 40);
	free(links);
	/* the socket is fit for the next request */
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "kxm%da", i);
		assert_int_equal(kx_nl_link_del(nl, ifindex(name), &err), 0);
	}
	assert_int_equal(kx_nl_links(nl, &links, &n, &err), 0);
	assert_null(find_link(links, n, "kxm0b"));
	free(links);
	kx_nl_close(nl);
}

static void test_live_open_errors(void **state)
{
	struct kx_err err = { 0 };
	struct kx_nl *nl;
	ino_t ino;
	int fd;

	(void)state;
	if (!live())
		skip();
	ino = netns_ino();
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(kx_nl_open(&nl, fd, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_msg(&err, "rtnetlink socket: enter network namespace fd");
	close(fd);
	assert_int_equal(kx_nl_open(&nl, 1000, &err), -1);
	assert_int_equal(err.errnum, EBADF);
	assert_int_equal(netns_ino(), ino);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_links),
		cmocka_unit_test(test_parse_addrs),
		cmocka_unit_test(test_parse_routes),
		cmocka_unit_test(test_parse_filters),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_build_redirect_like_tc),
		cmocka_unit_test(test_build_redirect),
		cmocka_unit_test(test_live_links_and_taps),
		cmocka_unit_test(test_live_tap_refusals),
		cmocka_unit_test(test_live_redirects),
		cmocka_unit_test(test_live_link_change),
		cmocka_unit_test(test_live_link_del),
		cmocka_unit_test(test_live_addrs_routes),
		cmocka_unit_test(test_live_multipart_dump),
		cmocka_unit_test(test_live_open_errors),
	};

	if (argc == 2 && !strcmp(argv[1], "--record"))
		return record();
	live_setup();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
