// SPDX-License-Identifier: GPL-2.0
/*
 * Parsers of rtnetlink replies (links, addresses, routes, tc filters): pure
 * functions of one message, so the unit tests feed them recorded replies.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <net/if.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>

#include "net/nl_int.h"


int kx_nl_parse_link(const struct nlmsghdr *nlh, struct kx_link *l)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 }, *info[IFLA_INFO_MAX + 1] = { 0 };
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 1;
	if (!nl_hdr_ok(nlh, sizeof(*ifm)) || nl_attrs(nlh, sizeof(*ifm), tb, IFLA_MAX))
		return -1;
	memset(l, 0, sizeof(*l));
	l->ifindex = ifm->ifi_index;
	l->type = ifm->ifi_type;
	l->flags = ifm->ifi_flags;
	if (!tb[IFLA_IFNAME] || !nl_str_ok(tb[IFLA_IFNAME], sizeof(l->name)))
		return -1;
	strcpy(l->name, mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_MTU]) {
		if (!nl_u32_ok(tb[IFLA_MTU]))
			return -1;
		l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	}
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == sizeof(l->mac)) {
		memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), sizeof(l->mac));
		l->has_mac = true;
	}
	if (tb[IFLA_LINKINFO]) {
		if (nl_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX))
			return -1;
		if (info[IFLA_INFO_KIND]) {
			if (mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_NUL_STRING))
				return -1;
			/* a kind longer than the field is cut, not refused */
			snprintf(l->kind, sizeof(l->kind), "%s",
				 mnl_attr_get_str(info[IFLA_INFO_KIND]));
		}
	}
	return 0;
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* An address attribute of the family's size into out (16 bytes); absent is fine. */
static int get_addr(const struct nlattr *a, size_t len, uint8_t *out, bool *has)
{
	if (!a)
		return 0;
	if (mnl_attr_get_payload_len(a) != len)
		return -1;
	memcpy(out, mnl_attr_get_payload(a), len);
	if (has)
		*has = true;
	return 0;
}

int kx_nl_parse_addr(const struct nlmsghdr *nlh, struct kx_addr *a)
{
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 1;
	if (!nl_hdr_ok(nlh, sizeof(*ifa)))
		return -1;
	len = addr_len(ifa->ifa_family);
	if (!len)
		return 1;
	if (nl_attrs(nlh, sizeof(*ifa), tb, IFA_MAX))
		return -1;
	memset(a, 0, sizeof(*a));
	a->ifindex = (int)ifa->ifa_index;
	a->family = ifa->ifa_family;
	a->prefix_len = ifa->ifa_prefixlen;
	a->scope = ifa->ifa_scope;
	a->flags = ifa->ifa_flags;
	/* with a peer, IFA_ADDRESS is the peer's and IFA_LOCAL ours */
	if (!tb[IFA_LOCAL] && !tb[IFA_ADDRESS])
		return -1;
	if (get_addr(tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS], len, a->addr, NULL) ||
	    a->prefix_len > len * 8)
		return -1;
	if (tb[IFA_FLAGS]) {
		if (!nl_u32_ok(tb[IFA_FLAGS]))
			return -1;
		a->flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
	}
	return 0;
}

/* A u32 attribute into *out if present; -1 if it is not a u32. */
static int get_u32(const struct nlattr *a, unsigned int *out)
{
	if (!a)
		return 0;
	if (!nl_u32_ok(a))
		return -1;
	*out = mnl_attr_get_u32(a);
	return 0;
}

int kx_nl_parse_route(const struct nlmsghdr *nlh, struct kx_route *r)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	unsigned int oif = 0;
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return 1;
	if (!nl_hdr_ok(nlh, sizeof(*rtm)))
		return -1;
	len = addr_len(rtm->rtm_family);
	if (!len)
		return 1;
	if (nl_attrs(nlh, sizeof(*rtm), tb, RTA_MAX))
		return -1;
	memset(r, 0, sizeof(*r));
	r->family = rtm->rtm_family;
	r->dst_len = rtm->rtm_dst_len;
	r->scope = rtm->rtm_scope;
	r->protocol = rtm->rtm_protocol;
	r->type = rtm->rtm_type;
	r->table = rtm->rtm_table;
	r->has_multipath = tb[RTA_MULTIPATH] != NULL;
	if (r->dst_len > len * 8 || get_addr(tb[RTA_DST], len, r->dst, NULL) ||
	    get_addr(tb[RTA_GATEWAY], len, r->gateway, &r->has_gateway) ||
	    get_addr(tb[RTA_PREFSRC], len, r->prefsrc, &r->has_prefsrc) ||
	    get_u32(tb[RTA_OIF], &oif) || get_u32(tb[RTA_PRIORITY], &r->priority) ||
	    get_u32(tb[RTA_TABLE], &r->table))
		return -1;
	r->oif = (int)oif;
	return 0;
}

/* The attribute a classifier keeps its actions in. */
static int filter_act_attr(const char *kind, int *max)
{
	if (!strcmp(kind, "u32")) {
		*max = TCA_U32_MAX;
		return TCA_U32_ACT;
	}
	if (!strcmp(kind, "matchall")) {
		*max = TCA_MATCHALL_MAX;
		return TCA_MATCHALL_ACT;
	}
	return -1;
}

/* One action (TCA_ACT_KIND, TCA_ACT_OPTIONS): a redirect's target into to[*n]. */
static int parse_action(const struct nlattr *act, int *to, size_t *n)
{
	const struct nlattr *tb[TCA_ACT_MAX + 1] = { 0 }, *mtb[TCA_MIRRED_MAX + 1] = { 0 };
	struct tc_mirred m;

	if (nl_nested(act, tb, TCA_ACT_MAX) || !tb[TCA_ACT_KIND] || !nl_str_ok(tb[TCA_ACT_KIND], 32))
		return -1;
	if (strcmp(mnl_attr_get_str(tb[TCA_ACT_KIND]), "mirred"))
		return 0;
	if (!tb[TCA_ACT_OPTIONS] || nl_nested(tb[TCA_ACT_OPTIONS], mtb, TCA_MIRRED_MAX) ||
	    !mtb[TCA_MIRRED_PARMS] || mnl_attr_get_payload_len(mtb[TCA_MIRRED_PARMS]) < sizeof(m))
		return -1;
	memcpy(&m, mnl_attr_get_payload(mtb[TCA_MIRRED_PARMS]), sizeof(m));
	if ((m.eaction == TCA_EGRESS_REDIR || m.eaction == TCA_INGRESS_REDIR) &&
	    *n < KX_NL_MAX_ACTIONS)
		to[(*n)++] = (int)m.ifindex;
	return 0;
}

int kx_nl_parse_filter(const struct nlmsghdr *nlh, int to[KX_NL_MAX_ACTIONS], size_t *n)
{
	const struct nlattr *tb[TCA_MAX + 1] = { 0 }, *opt[32] = { 0 }, *act;
	int type, max;

	*n = 0;
	if (nlh->nlmsg_type != RTM_NEWTFILTER)
		return 1;
	if (!nl_hdr_ok(nlh, sizeof(struct tcmsg)) || nl_attrs(nlh, sizeof(struct tcmsg), tb, TCA_MAX) ||
	    !tb[TCA_KIND] || !nl_str_ok(tb[TCA_KIND], 32))
		return -1;
	type = filter_act_attr(mnl_attr_get_str(tb[TCA_KIND]), &max);
	if (type < 0)
		return 1;
	if (!tb[TCA_OPTIONS])
		return 0;
	_Static_assert(TCA_U32_MAX < 32 && TCA_MATCHALL_MAX < 32, "opt[] holds the options");
	if (nl_nested(tb[TCA_OPTIONS], opt, max))
		return -1;
	if (!opt[type])
		return 0;	/* a u32 hash table, or a filter without actions */
	mnl_attr_for_each_nested(act, opt[type])
		if (parse_action(act, to, n))
			return -1;
	return (const char *)mnl_attr_get_payload(opt[type]) + mnl_attr_get_payload_len(opt[type]) -
	       (const char *)act > 0 ? -1 : 0;
}

