/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rtnetlink through libmnl, in one network namespace: the links, addresses
 * and routes CNI made there, and the tc plumbing that joins a sandbox's veth
 * to its tap (an ingress qdisc on each, a u32 match-all filter with a mirred
 * egress redirect each way).
 */
#ifndef KX_NET_NETLINK_H
#define KX_NET_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "kx_error.h"

struct kx_nl;	/* opaque: the mnl socket, its port id, a sequence counter, buffers */

/*
 * Enter network namespace netns_fd on the calling thread (setns), saving the
 * thread's own in *saved; netns_fd -1 does nothing (*saved = -1).
 * kx_netns_leave(*saved) goes back. For code that must make something inside
 * a namespace (a netlink socket, a tun fd).
 */
int kx_netns_enter(int netns_fd, int *saved, struct kx_err *err);
int kx_netns_leave(int saved, struct kx_err *err);

/*
 * A socket in network namespace netns_fd (-1: the caller's own). Entering it
 * is setns on the calling thread, undone before return on every path. One
 * thread at a time uses a struct kx_nl.
 */
int kx_nl_open(struct kx_nl **nl, int netns_fd, struct kx_err *err);
void kx_nl_close(struct kx_nl *nl);

struct kx_link {
	int ifindex;
	char name[16];
	char kind[16];		/* IFLA_INFO_KIND: "veth", "tun", "bridge"; "" if none */
	unsigned short type;	/* ARPHRD_* (ifi_type) */
	unsigned int flags;	/* IFF_* (ifi_flags) */
	uint8_t mac[6];		/* IFLA_ADDRESS when it is 6 bytes */
	bool has_mac;
	unsigned int mtu;
};

struct kx_addr {
	int ifindex;
	int family;		/* AF_INET, AF_INET6 */
	uint8_t addr[16];	/* IFA_LOCAL if present (ours, with a peer), else IFA_ADDRESS */
	unsigned int prefix_len;
	unsigned char scope;	/* RT_SCOPE_* */
	unsigned int flags;	/* IFA_FLAGS if present, else ifa_flags */
};

struct kx_route {
	int family;
	uint8_t dst[16];
	unsigned int dst_len;
	uint8_t gateway[16];
	bool has_gateway;
	uint8_t prefsrc[16];
	bool has_prefsrc;
	int oif;		/* 0 if none */
	bool has_multipath;	/* RTA_MULTIPATH: not supported, kx_nl_routes skips these */
	unsigned int priority;
	unsigned char scope, protocol, type;
	unsigned int table;	/* RTA_TABLE when present (ids above 255), else rtm_table */
};

/* Dumps; arrays malloc'd (free()), *n set. */
int kx_nl_links(struct kx_nl *nl, struct kx_link **links, size_t *n, struct kx_err *err);
int kx_nl_addrs(struct kx_nl *nl, struct kx_addr **addrs, size_t *n, struct kx_err *err);
/* Routes of the main table (RT_TABLE_MAIN), IPv4 and IPv6, all protocols. */
int kx_nl_routes(struct kx_nl *nl, struct kx_route **routes, size_t *n, struct kx_err *err);

struct kx_link_change {
	const char *name;	/* new name, NULL: keep */
	int netns_fd;		/* move there (IFLA_NET_NS_FD), -1: stay */
	unsigned int mtu;	/* 0: keep */
	int up;			/* 1 up, 0 down, -1 keep */
};

/*
 * One RTM_NEWLINK: the kernel moves the link first (taking the new name in
 * the target namespace), then sets the MTU and the state there. Moving may
 * change the link's ifindex; older kernels refuse to rename a link that is
 * up (EBUSY).
 */
int kx_nl_link_change(struct kx_nl *nl, int ifindex, const struct kx_link_change *c,
		      struct kx_err *err);
int kx_nl_link_del(struct kx_nl *nl, int ifindex, struct kx_err *err);	/* ENODEV: 0 */

/*
 * The ingress qdisc (handle ffff:). add: EEXIST is an error saying the
 * interface already has one. del: none there is 0 (a clsact qdisc there is
 * left alone, an error).
 */
int kx_nl_ingress_add(struct kx_nl *nl, int ifindex, struct kx_err *err);
int kx_nl_ingress_del(struct kx_nl *nl, int ifindex, struct kx_err *err);

/*
 * On from's ingress qdisc: u32 match-all (protocol ETH_P_ALL), action mirred
 * egress redirect to `to` (TC_ACT_STOLEN); the kernel picks the priority.
 */
int kx_nl_redirect_add(struct kx_nl *nl, int from_ifindex, int to_ifindex, struct kx_err *err);

/*
 * The ifindexes that from's ingress filters (u32 and matchall) redirect to,
 * in dump order; for tests and teardown checks. No ingress qdisc, or no such
 * interface: 0 of them.
 */
int kx_nl_redirects(struct kx_nl *nl, int from_ifindex, int **to, size_t *n, struct kx_err *err);

/*
 * Pure functions, so that unit tests can feed recorded kernel replies: 0 if
 * the message was taken, 1 if it is not of the kind (skip), -1 malformed.
 * The caller guarantees nlh->nlmsg_len bytes are readable (mnl_nlmsg_ok).
 */
int kx_nl_parse_link(const struct nlmsghdr *nlh, struct kx_link *l);
int kx_nl_parse_addr(const struct nlmsghdr *nlh, struct kx_addr *a);
int kx_nl_parse_route(const struct nlmsghdr *nlh, struct kx_route *r);

#define KX_NL_MAX_ACTIONS 32	/* TCA_ACT_MAX_PRIO: actions a filter can have */
/*
 * An RTM_NEWTFILTER of a u32 or matchall filter: the ifindexes its mirred
 * redirect actions (egress or ingress) send to, *n of them. Other filter
 * kinds are 1 (skip).
 */
int kx_nl_parse_filter(const struct nlmsghdr *nlh, int to[KX_NL_MAX_ACTIONS], size_t *n);

/* The request kx_nl_redirect_add sends, built into buf (at least MNL_SOCKET_BUFFER_SIZE). */
struct nlmsghdr *kx_nl_build_redirect(void *buf, uint32_t seq, int from_ifindex, int to_ifindex);

#endif
