/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What netlink.c, nlparse.c and tc.c share and nothing else may use: the
 * socket's state, one request/ack exchange, dumps and attribute helpers.
 */
#ifndef KX_NET_NL_INT_H
#define KX_NET_NL_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>

#include "net/netlink.h"

#define TX_SIZE 8192	/* >= MNL_SOCKET_BUFFER_SIZE: what kx_nl_build_redirect may assume */
#define RX_SIZE 32768	/* libmnl's later MNL_SOCKET_DUMP_SIZE: the kernel sizes dumps to it */
#define INGRESS_HANDLE TC_H_MAKE(TC_H_INGRESS, 0)	/* ffff:0 */

struct kx_nl {
	struct mnl_socket *sock;
	unsigned int portid;
	uint32_t seq;
	bool ended;		/* this exchange's NLMSG_DONE or NLMSG_ERROR was read */
	char detail[256];	/* the kernel's extended ack text, or what failed locally */
	char tx[TX_SIZE] __attribute__((aligned(8)));
	char rx[RX_SIZE] __attribute__((aligned(8)));
};

struct dump {
	struct kx_nl *nl;
	int (*parse)(const struct nlmsghdr *nlh, void *item);
	bool (*keep)(const void *item);	/* NULL: all */
	const char *what;		/* the message type, for errors */
	size_t size;
	char *items;
	size_t n, cap;
};

/* Collect attributes up to max into tb; -1 if bytes are left that are no attribute. */
static inline int nl_attrs(const struct nlmsghdr *nlh, size_t offset, const struct nlattr **tb, int max)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, offset)
		if (mnl_attr_get_type(a) <= max)
			tb[mnl_attr_get_type(a)] = a;
	return (const char *)mnl_nlmsg_get_payload_tail(nlh) - (const char *)a > 0 ? -1 : 0;
}

static inline int nl_nested(const struct nlattr *nest, const struct nlattr **tb, int max)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) <= max)
			tb[mnl_attr_get_type(a)] = a;
	return (const char *)mnl_attr_get_payload(nest) + mnl_attr_get_payload_len(nest) -
	       (const char *)a > 0 ? -1 : 0;
}

/* A NUL-terminated string that fits in size bytes. */
static inline bool nl_str_ok(const struct nlattr *a, size_t size)
{
	return !mnl_attr_validate(a, MNL_TYPE_NUL_STRING) && strlen(mnl_attr_get_str(a)) < size;
}

static inline bool nl_u32_ok(const struct nlattr *a)
{
	return !mnl_attr_validate(a, MNL_TYPE_U32);
}

static inline bool nl_hdr_ok(const struct nlmsghdr *nlh, size_t hdrlen)
{
	return nlh->nlmsg_len >= mnl_nlmsg_size(hdrlen);
}

uint32_t kx_nl_next_seq(struct kx_nl *nl);
/* A request of type with NLM_F_REQUEST | flags in nl->tx. */
struct nlmsghdr *kx_nl_request(struct kx_nl *nl, uint16_t type, uint16_t flags);
/* 0, or -1 with errno (the kernel's for an error ack) and nl->detail. */
int kx_nl_talk(struct kx_nl *nl, const struct nlmsghdr *req, mnl_cb_t cb, void *data);
/* Runs the dump request in nl->tx; d->items (never NULL on success) goes to the caller. */
int kx_nl_dump(struct kx_nl *nl, struct dump *d, const char *what, struct kx_err *err);
/* "interface 7 (eth0)", or "interface 7" when its name cannot be had. */
void kx_nl_ifdesc(struct kx_nl *nl, int ifindex, char *buf, size_t len);
/* "interface 7 (eth0): OP: kernel's text: strerror" */
int __attribute__((format(printf, 5, 6)))
kx_nl_if_error(struct kx_nl *nl, int ifindex, struct kx_err *err, int errnum, const char *fmt, ...);

#endif
