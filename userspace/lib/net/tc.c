// SPDX-License-Identifier: GPL-2.0
/*
 * tc through rtnetlink: the ingress qdisc, and the u32 match-all filter whose
 * mirred action redirects every frame to another device (the host kernel may
 * lack cls_matchall; u32 with one zero-mask key matches all the same).
 */
#include <stdlib.h>
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

static struct tcmsg *tc_request(struct kx_nl *nl, uint16_t type, uint16_t flags, int ifindex,
				uint32_t handle, uint32_t parent)
{
	struct nlmsghdr *nlh = kx_nl_request(nl, type, flags);
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_handle = handle;
	tcm->tcm_parent = parent;
	return tcm;
}

int kx_nl_ingress_add(struct kx_nl *nl, int ifindex, struct kx_err *err)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)nl->tx;

	/* what `tc qdisc add dev X ingress` sends */
	tc_request(nl, RTM_NEWQDISC, NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, ifindex,
		   INGRESS_HANDLE, TC_H_INGRESS);
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	if (!kx_nl_talk(nl, nlh, NULL, NULL))
		return 0;
	if (errno == EEXIST) {
		nl->detail[0] = '\0';
		return kx_nl_if_error(nl, ifindex, err, EEXIST, "add ingress qdisc: it has an ingress "
				"(or clsact) qdisc already");
	}
	return kx_nl_if_error(nl, ifindex, err, errno, "add ingress qdisc");
}

static int qdisc_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[TCA_MAX + 1] = { 0 };
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	char *kind = data;

	if (nlh->nlmsg_type != RTM_NEWQDISC || !nl_hdr_ok(nlh, sizeof(*tcm)) ||
	    nl_attrs(nlh, sizeof(*tcm), tb, TCA_MAX))
		return MNL_CB_OK;
	if (tcm->tcm_handle && tb[TCA_KIND] && nl_str_ok(tb[TCA_KIND], 16))
		strcpy(kind, mnl_attr_get_str(tb[TCA_KIND]));
	return MNL_CB_OK;
}

int kx_nl_ingress_del(struct kx_nl *nl, int ifindex, struct kx_err *err)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)nl->tx;
	char kind[16] = "";
	int e;

	/* what `tc qdisc del dev X ingress` sends */
	tc_request(nl, RTM_DELQDISC, NLM_F_ACK, ifindex, INGRESS_HANDLE, TC_H_INGRESS);
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	if (!kx_nl_talk(nl, nlh, NULL, NULL))
		return 0;
	e = errno;
	/* ENOENT: the device never had one; ENODEV: no device, so none either */
	if (e == ENOENT || e == ENODEV)
		return 0;
	/*
	 * EINVAL: a handle or kind mismatch, both for the builtin placeholder
	 * the ingress slot holds once its qdisc is gone and for a clsact
	 * there. Ask which: the placeholder is not reported at all (EINVAL).
	 * Without NLM_F_ECHO the answer would go to the RTNLGRP_TC listeners only.
	 */
	if (e != EINVAL)
		return kx_nl_if_error(nl, ifindex, err, e, "delete ingress qdisc");
	tc_request(nl, RTM_GETQDISC, NLM_F_ACK | NLM_F_ECHO, ifindex, 0, TC_H_INGRESS);
	if (kx_nl_talk(nl, nlh, qdisc_cb, kind)) {
		if (errno == EINVAL)
			return 0;
		return kx_nl_if_error(nl, ifindex, err, errno, "delete ingress qdisc: ask what is there");
	}
	if (!kind[0])
		return 0;
	snprintf(nl->detail, sizeof(nl->detail), "it has a %s qdisc there, not ingress: left alone",
		 kind);
	return kx_nl_if_error(nl, ifindex, err, e, "delete ingress qdisc");
}

struct nlmsghdr *kx_nl_build_redirect(void *buf, uint32_t seq, int from_ifindex, int to_ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tc_mirred m = {
		.action = TC_ACT_STOLEN,
		.eaction = TCA_EGRESS_REDIR,
		.ifindex = (uint32_t)to_ifindex,
	};
	/* one key, mask 0: every packet matches; terminal: no further hashing */
	uint8_t sel_buf[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)]
		__attribute__((aligned(4))) = { 0 };
	struct tc_u32_sel *sel = (struct tc_u32_sel *)sel_buf;
	struct nlattr *opts, *acts, *act, *aopts;
	struct tcmsg *tcm;

	nlh->nlmsg_type = RTM_NEWTFILTER;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE;
	nlh->nlmsg_seq = seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = from_ifindex;
	tcm->tcm_parent = INGRESS_HANDLE;
	tcm->tcm_info = TC_H_MAKE(0, htons(ETH_P_ALL));	/* priority 0: the kernel picks */
	sel->flags = TC_U32_TERMINAL;
	sel->nkeys = 1;
	sel->keys[0].mask = 0;
	sel->keys[0].val = 0;

	/* the attribute order of `tc filter add ... u32 match u32 0 0 action mirred ...` */
	mnl_attr_put_strz(nlh, TCA_KIND, "u32");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
	act = mnl_attr_nest_start(nlh, 1);	/* the first action */
	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	aopts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(m), &m);
	mnl_attr_nest_end(nlh, aopts);
	mnl_attr_nest_end(nlh, act);
	mnl_attr_nest_end(nlh, acts);
	mnl_attr_put(nlh, TCA_U32_SEL, sizeof(sel_buf), sel_buf);
	mnl_attr_nest_end(nlh, opts);
	return nlh;
}

int kx_nl_redirect_add(struct kx_nl *nl, int from_ifindex, int to_ifindex, struct kx_err *err)
{
	struct nlmsghdr *nlh = kx_nl_build_redirect(nl->tx, kx_nl_next_seq(nl), from_ifindex,
						    to_ifindex);
	char to[48];
	int e;

	if (!kx_nl_talk(nl, nlh, NULL, NULL))
		return 0;
	e = errno;
	kx_nl_ifdesc(nl, to_ifindex, to, sizeof(to));
	return kx_nl_if_error(nl, from_ifindex, err, e, "add ingress filter redirecting to %s", to);
}

struct filter_item {
	int to[KX_NL_MAX_ACTIONS];
	size_t n;
};

static int parse_filter_item(const struct nlmsghdr *nlh, void *item)
{
	struct filter_item *f = item;

	return kx_nl_parse_filter(nlh, f->to, &f->n);
}

int kx_nl_redirects(struct kx_nl *nl, int from_ifindex, int **to, size_t *n, struct kx_err *err)
{
	struct dump d = { .parse = parse_filter_item, .what = "RTM_NEWTFILTER",
			  .size = sizeof(struct filter_item) };
	struct filter_item *f;
	size_t total = 0;
	int *out;

	tc_request(nl, RTM_GETTFILTER, NLM_F_DUMP, from_ifindex, 0, INGRESS_HANDLE);
	if (kx_nl_dump(nl, &d, "ingress filters", err))
		return kx_error_wrap(err, "interface %d", from_ifindex);
	f = (struct filter_item *)d.items;
	for (size_t i = 0; i < d.n; i++)
		total += f[i].n;
	out = malloc((total ? total : 1) * sizeof(*out));
	if (!out) {
		free(d.items);
		return kx_error(err, ENOMEM, "interface %d: ingress filters", from_ifindex);
	}
	total = 0;
	for (size_t i = 0; i < d.n; i++)
		for (size_t j = 0; j < f[i].n; j++)
			out[total++] = f[i].to[j];
	free(d.items);
	*to = out;
	*n = total;
	return 0;
}

