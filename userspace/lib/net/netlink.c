// SPDX-License-Identifier: GPL-2.0
/*
 * rtnetlink through libmnl. Every request but a dump carries NLM_F_ACK and
 * its ack is read; a dump ends with NLMSG_DONE (the kernel acks no dump).
 * mnl_cb_run2 checks each reply's sequence number and port id. The kernel's
 * extended ack text (NETLINK_EXT_ACK) goes into the error message.
 */
#include "net/netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
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

#include "net/netcheck.h"
#include "net/nl_int.h"

#define DUMP_TRIES 3	/* a dump interrupted by changes (NLM_F_DUMP_INTR) is redone */

int kx_netns_enter(int netns_fd, int *saved, struct kx_err *err)
{
	int self, e;

	*saved = -1;
	if (netns_fd < 0)
		return 0;
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return kx_error(err, errno, "open /proc/thread-self/ns/net");
	if (setns(netns_fd, CLONE_NEWNET) < 0) {
		e = errno;
		close(self);
		return kx_error(err, e, "enter network namespace fd %d", netns_fd);
	}
	*saved = self;
	return 0;
}

int kx_netns_leave(int saved, struct kx_err *err)
{
	int ret = 0;

	if (saved < 0)
		return 0;
	if (setns(saved, CLONE_NEWNET) < 0)
		ret = kx_error(err, errno, "return to the thread's own network namespace "
			       "(the thread stays in the other one)");
	close(saved);
	return ret;
}

int kx_nl_open(struct kx_nl **out, int netns_fd, struct kx_err *err)
{
	struct kx_nl *nl = calloc(1, sizeof(*nl));
	int saved, e, one = 1;

	if (!nl)
		return kx_error(err, ENOMEM, "rtnetlink socket");
	if (kx_netns_enter(netns_fd, &saved, err)) {
		free(nl);
		return kx_error_wrap(err, "rtnetlink socket");
	}
	/* a netlink socket belongs to the namespace it was made in */
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	e = errno;
	if (kx_netns_leave(saved, err)) {
		if (nl->sock)
			mnl_socket_close(nl->sock);
		free(nl);
		return kx_error_wrap(err, "rtnetlink socket in network namespace fd %d", netns_fd);
	}
	if (!nl->sock) {
		free(nl);
		return kx_error(err, e, "open an rtnetlink socket");
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = errno;
		kx_nl_close(nl);
		return kx_error(err, e, "bind an rtnetlink socket");
	}
	/* both are optional: older kernels give no ack text, or echo the request */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	*out = nl;
	return 0;
}

void kx_nl_close(struct kx_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

/* 0 means "no sequence checking" to libmnl: never use it. */
uint32_t kx_nl_next_seq(struct kx_nl *nl)
{
	if (++nl->seq == 0)
		nl->seq = 1;
	return nl->seq;
}

struct nlmsghdr *kx_nl_request(struct kx_nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->tx);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = kx_nl_next_seq(nl);
	return nlh;
}

/* ---- one exchange: send, read replies up to the ack or NLMSG_DONE ---- */

struct talk {
	struct kx_nl *nl;
	mnl_cb_t cb;
	void *data;
};

static int talk_data(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

static int extack_attr(const struct nlattr *a, void *data)
{
	struct kx_nl *nl = data;
	size_t n;

	if (mnl_attr_get_type(a) != NLMSGERR_ATTR_MSG || mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
		return MNL_CB_OK;
	snprintf(nl->detail, sizeof(nl->detail), "%s", mnl_attr_get_str(a));
	n = strlen(nl->detail);
	while (n && (nl->detail[n - 1] == '.' || nl->detail[n - 1] == '\n'))
		nl->detail[--n] = '\0';
	return MNL_CB_OK;
}

static void read_extack(struct kx_nl *nl, const struct nlmsghdr *nlh, size_t offset)
{
	offset = MNL_ALIGN(offset);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && offset <= mnl_nlmsg_get_payload_len(nlh))
		mnl_attr_parse(nlh, offset, extack_attr, nl);
}

static int talk_error(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t offset = sizeof(*e);

	t->nl->ended = true;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		snprintf(t->nl->detail, sizeof(t->nl->detail), "truncated netlink error message");
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!e->error)
		return MNL_CB_STOP;	/* the ack */
	/* the request comes back after the error unless NETLINK_CAP_ACK capped it */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= sizeof(e->msg))
		offset += e->msg.nlmsg_len - sizeof(e->msg);
	read_extack(t->nl, nlh, offset);
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

/* The end of a dump; a failed dump says why in an int after the header. */
static int talk_done(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	int e;

	t->nl->ended = true;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(e)))
		return MNL_CB_STOP;
	memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
	if (e >= 0)
		return MNL_CB_STOP;
	read_extack(t->nl, nlh, sizeof(e));
	errno = -e;
	return MNL_CB_ERROR;
}

/*
 * After a failure before the exchange's end (a malformed reply, an
 * interrupted dump), read on to its NLMSG_DONE or NLMSG_ERROR, so that the
 * next request does not read this one's leftovers. len: what rx holds.
 */
static void drain(struct kx_nl *nl, uint32_t seq, ssize_t len)
{
	for (;;) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)nl->rx;
		int left = len > 0 ? (int)len : 0;

		for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
			if (h->nlmsg_seq == seq &&
			    (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR))
				return;
		len = mnl_socket_recvfrom(nl->sock, nl->rx, sizeof(nl->rx));
		if (len < 0 && errno != EINTR)
			return;
	}
}

/* 0, or -1 with errno (the kernel's for an error ack) and nl->detail. */
int kx_nl_talk(struct kx_nl *nl, const struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = talk_error, [NLMSG_DONE] = talk_done };
	struct talk t = { .nl = nl, .cb = cb, .data = data };
	uint32_t seq = req->nlmsg_seq;
	ssize_t len = 0;
	int ret, e;

	nl->detail[0] = '\0';
	nl->ended = false;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0) {
		e = errno;
		snprintf(nl->detail, sizeof(nl->detail), "netlink send");
		errno = e;
		return -1;
	}
	/* req may live in tx only: rx takes the replies */
	for (;;) {
		len = mnl_socket_recvfrom(nl->sock, nl->rx, sizeof(nl->rx));
		if (len < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			snprintf(nl->detail, sizeof(nl->detail), "netlink receive");
			errno = e;
			ret = MNL_CB_ERROR;
			len = 0;
			break;
		}
		ret = mnl_cb_run2(nl->rx, len, seq, nl->portid, talk_data, &t, ctl, NLMSG_MIN_TYPE);
		if (ret <= MNL_CB_STOP)
			break;
	}
	if (ret == MNL_CB_STOP)
		return 0;
	e = errno;
	if (!nl->ended)
		drain(nl, seq, len);
	errno = e;
	return -1;
}

/* ---- error messages that name the interface ---- */

static int name_cb(const struct nlmsghdr *nlh, void *data)
{
	struct kx_link l;

	if (!kx_nl_parse_link(nlh, &l))
		memcpy(data, l.name, sizeof(l.name));
	return MNL_CB_OK;
}

/* "interface 7 (eth0)", or "interface 7" when its name cannot be had. */
void kx_nl_ifdesc(struct kx_nl *nl, int ifindex, char *buf, size_t len)
{
	char name[IFNAMSIZ] = "", detail[sizeof(nl->detail)];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (ifindex > 0) {
		memcpy(detail, nl->detail, sizeof(detail));
		nlh = kx_nl_request(nl, RTM_GETLINK, NLM_F_ACK);
		ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
		ifm->ifi_index = ifindex;
		mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
		if (kx_nl_talk(nl, nlh, name_cb, name))
			name[0] = '\0';
		memcpy(nl->detail, detail, sizeof(detail));
	}
	if (name[0])
		snprintf(buf, len, "interface %d (%s)", ifindex, name);
	else
		snprintf(buf, len, "interface %d", ifindex);
}

/* "interface 7 (eth0): OP: kernel's text: strerror" */
int __attribute__((format(printf, 5, 6)))
kx_nl_if_error(struct kx_nl *nl, int ifindex, struct kx_err *err, int errnum, const char *fmt, ...)
{
	char op[256], who[48], detail[sizeof(nl->detail)];
	va_list ap;

	memcpy(detail, nl->detail, sizeof(detail));
	va_start(ap, fmt);
	vsnprintf(op, sizeof(op), fmt, ap);
	va_end(ap);
	kx_nl_ifdesc(nl, ifindex, who, sizeof(who));
	if (detail[0])
		return kx_error(err, errnum, "%s: %s: %s", who, op, detail);
	return kx_error(err, errnum, "%s: %s", who, op);
}

/* ---- dumps ---- */


static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	void *item;
	int ret;

	if (d->n == d->cap) {
		item = realloc(d->items, d->cap * 2 * d->size);
		if (!item) {
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
		d->items = item;
		d->cap *= 2;
	}
	item = d->items + d->n * d->size;
	ret = d->parse(nlh, item);
	if (ret < 0) {
		snprintf(d->nl->detail, sizeof(d->nl->detail), "malformed %s from the kernel",
			 d->what);
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (ret == 0 && (!d->keep || d->keep(item)))
		d->n++;
	return MNL_CB_OK;
}

/* Runs the dump request in nl->tx; d->items (never NULL on success) goes to the caller. */
int kx_nl_dump(struct kx_nl *nl, struct dump *d, const char *what, struct kx_err *err)
{
	struct nlmsghdr *req = (struct nlmsghdr *)nl->tx;
	int e;

	d->nl = nl;
	d->cap = 8;
	d->items = malloc(d->cap * d->size);
	if (!d->items)
		return kx_error(err, ENOMEM, "dump %s", what);
	for (int tries = 1;; tries++) {
		d->n = 0;
		if (!kx_nl_talk(nl, req, dump_cb, d))
			return 0;
		e = errno;
		if (e != EINTR || tries == DUMP_TRIES)
			break;
		req->nlmsg_seq = kx_nl_next_seq(nl);
	}
	free(d->items);
	d->items = NULL;
	if (e == EINTR)
		snprintf(nl->detail, sizeof(nl->detail), "interrupted by changes %d times",
			 DUMP_TRIES);
	if (nl->detail[0])
		return kx_error(err, e, "dump %s: %s", what, nl->detail);
	return kx_error(err, e, "dump %s", what);
}

static int parse_link_item(const struct nlmsghdr *nlh, void *item)
{
	return kx_nl_parse_link(nlh, item);
}

int kx_nl_links(struct kx_nl *nl, struct kx_link **links, size_t *n, struct kx_err *err)
{
	struct dump d = { .parse = parse_link_item, .what = "RTM_NEWLINK",
			  .size = sizeof(**links) };
	struct nlmsghdr *nlh = kx_nl_request(nl, RTM_GETLINK, NLM_F_DUMP);

	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (kx_nl_dump(nl, &d, "links", err))
		return -1;
	*links = (struct kx_link *)d.items;
	*n = d.n;
	return 0;
}

static int parse_addr_item(const struct nlmsghdr *nlh, void *item)
{
	return kx_nl_parse_addr(nlh, item);
}

int kx_nl_addrs(struct kx_nl *nl, struct kx_addr **addrs, size_t *n, struct kx_err *err)
{
	struct dump d = { .parse = parse_addr_item, .what = "RTM_NEWADDR",
			  .size = sizeof(**addrs) };
	struct nlmsghdr *nlh = kx_nl_request(nl, RTM_GETADDR, NLM_F_DUMP);

	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifaddrmsg));	/* AF_UNSPEC: v4 and v6 */
	if (kx_nl_dump(nl, &d, "addresses", err))
		return -1;
	*addrs = (struct kx_addr *)d.items;
	*n = d.n;
	return 0;
}

static int parse_route_item(const struct nlmsghdr *nlh, void *item)
{
	return kx_nl_parse_route(nlh, item);
}

static bool main_table_route(const void *item)
{
	const struct kx_route *r = item;

	return r->table == RT_TABLE_MAIN && !r->has_multipath;
}

int kx_nl_routes(struct kx_nl *nl, struct kx_route **routes, size_t *n, struct kx_err *err)
{
	struct dump d = { .parse = parse_route_item, .keep = main_table_route,
			  .what = "RTM_NEWROUTE", .size = sizeof(**routes) };
	struct nlmsghdr *nlh = kx_nl_request(nl, RTM_GETROUTE, NLM_F_DUMP);

	/* Without strict checking the kernel dumps every table: filtered here. */
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg));
	if (kx_nl_dump(nl, &d, "routes", err))
		return -1;
	*routes = (struct kx_route *)d.items;
	*n = d.n;
	return 0;
}

/* ---- links ---- */

int kx_nl_link_change(struct kx_nl *nl, int ifindex, const struct kx_link_change *c,
		      struct kx_err *err)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	char what[128] = "";
	size_t w = 0;	/* what: ", move ..., set MTU 1400": what + 2 is the list */

	if (c->name && !kx_net_ifname_valid(c->name))
		return kx_nl_if_error(nl, ifindex, err, EINVAL, "rename to \"%.32s\": not a name an "
				"interface can take", c->name);
	nlh = kx_nl_request(nl, RTM_NEWLINK, NLM_F_ACK);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	if (c->netns_fd >= 0) {
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)c->netns_fd);
		w += snprintf(what + w, sizeof(what) - w, ", move to network namespace fd %d",
			      c->netns_fd);
	}
	if (c->name) {
		mnl_attr_put_strz(nlh, IFLA_IFNAME, c->name);
		w += snprintf(what + w, sizeof(what) - w, ", rename to %s", c->name);
	}
	if (c->mtu) {
		mnl_attr_put_u32(nlh, IFLA_MTU, c->mtu);
		w += snprintf(what + w, sizeof(what) - w, ", set MTU %u", c->mtu);
	}
	if (c->up >= 0) {
		ifm->ifi_change = IFF_UP;
		ifm->ifi_flags = c->up ? IFF_UP : 0;
		w += snprintf(what + w, sizeof(what) - w, ", set %s", c->up ? "up" : "down");
	}
	if (!w)
		return 0;
	if (kx_nl_talk(nl, nlh, NULL, NULL))
		return kx_nl_if_error(nl, ifindex, err, errno, "%s", what + 2);
	return 0;
}

int kx_nl_link_del(struct kx_nl *nl, int ifindex, struct kx_err *err)
{
	struct nlmsghdr *nlh = kx_nl_request(nl, RTM_DELLINK, NLM_F_ACK);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	if (!kx_nl_talk(nl, nlh, NULL, NULL) || errno == ENODEV)
		return 0;
	return kx_nl_if_error(nl, ifindex, err, errno, "delete");
}

