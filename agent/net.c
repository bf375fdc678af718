// SPDX-License-Identifier: GPL-2.0
/*
 * Container networks, over rtnetlink (libmnl). A container with a Network
 * gets a network namespace of its own: the virtio-net devices the host gave
 * the VM for it are found by their permanent MAC, moved in under the names
 * the message gives and configured as the host interfaces they stand for.
 *
 * The agent makes the namespace with unshare() and goes straight back to its
 * own: it is single-threaded, and a netlink socket stays in the namespace it
 * was opened in, so one socket serves each side.
 */
#include "agent.h"
#include "net/netcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#define LINK_POLL_MS 20

int net_link_wait_ms = 2000;

/* The guest's own network namespace: where the agent always is between calls. */
static int root_netns = -1;
/*
 * Made at boot when the VM has network devices, which wait in it (lo up):
 * the first container with interfaces takes it, so that a clone of a
 * template neither makes a namespace nor moves a device (under TCG each is
 * code a clone would translate and run anew). -1: none (left).
 */
static int spare_netns = -1;

/* Answers, dumps included: the kernel sizes a dump's messages to the reader's buffer. */
static char rx_buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
/* The kernel's extended ack message of the last failed request, "" if none. */
static char nl_extack[160];

struct nl {
	struct mnl_socket *sk;
	unsigned int portid;
	unsigned int seq;
};

/* A request: header, family header, a few attributes. */
union nl_req {
	struct nlmsghdr h;
	char b[1024];
};

/* One interface of the message, as found and moved. */
struct link {
	int root_index;			/* in the agent's namespace, 0: not found */
	char root_name[IFNAMSIZ];
	bool moved;
	int index;			/* in the new namespace */
};

static int __attribute__((format(printf, 4, 5)))
fail(char *msg, size_t len, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < len)
		snprintf(msg + n, len - n, ": %s%s%s%s", strerror(err), *nl_extack ? " (" : "",
			 nl_extack, *nl_extack ? ")" : "");
	nl_extack[0] = '\0';
	return -1;
}

static int nl_open(struct nl *nl)
{
	int one = 1;

	nl->seq = (unsigned int)time(NULL);
	nl->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sk)
		return -1;
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		errno = e;
		return -1;
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	/* The kernel's reason with each error; not the request echoed back. Best effort. */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;
}

static void nl_close(struct nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	nl->sk = NULL;
}

static int extack_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
		snprintf(nl_extack, sizeof(nl_extack), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* libmnl's NLMSG_ERROR handling, keeping the extended ack's message. */
static int on_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!e->error)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= sizeof(e->msg))
			off += e->msg.nlmsg_len - sizeof(e->msg);
		if (mnl_nlmsg_size(off) <= nlh->nlmsg_len)
			mnl_attr_parse(nlh, off, extack_attr, NULL);
	}
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

static struct nlmsghdr *nl_msg(union nl_req *req, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(req->b);

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	return h;
}

/*
 * Send h and run what comes back through cb (NULL: none expected) until
 * the ack, the end of a dump or an error. 0, or -1 and errno.
 */
static int nl_talk(struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
	static mnl_cb_t ctl[NLMSG_ERROR + 1] = { [NLMSG_ERROR] = on_error };
	ssize_t n;
	int ret;

	nl_extack[0] = '\0';
	h->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sk, h, h->nlmsg_len) < 0)
		return -1;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sk, rx_buf, sizeof(rx_buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		ret = mnl_cb_run2(rx_buf, n, h->nlmsg_seq, nl->portid, cb, data, ctl,
				  NLMSG_ERROR + 1);
		if (ret < 0)
			return -1;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

/* ---- links ---- */

/* ifi_change/ifi_flags, and the attributes put by the caller. */
static struct nlmsghdr *link_msg(union nl_req *req, int index, bool up)
{
	struct nlmsghdr *h = nl_msg(req, RTM_NEWLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return h;
}

static int link_up(struct nl *nl, int index, const char *name)
{
	union nl_req req;
	struct nlmsghdr *h = link_msg(&req, index, true);

	if (!index)
		mnl_attr_put_strz(h, IFLA_IFNAME, name);
	return nl_talk(nl, h, NULL, NULL);
}

static int link_attrs(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	unsigned int type = mnl_attr_get_type(a);

	if (type <= IFLA_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

struct find {
	const Katasbx__Agent__V1__Network *n;
	struct link *links;
};

/* A link of the dump: is it the device of one of the interfaces? */
static int on_link(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL };
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct find *f = data;
	const struct nlattr *mac;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_attr_parse(nlh, sizeof(*ifi), link_attrs, tb) != MNL_CB_OK)
		return MNL_CB_OK;
	/* A device's own MAC; a veth has none, its address stands in (the unit test's) */
	mac = tb[IFLA_PERM_ADDRESS] ? tb[IFLA_PERM_ADDRESS] : tb[IFLA_ADDRESS];
	if (!mac || mnl_attr_get_payload_len(mac) != 6 || !tb[IFLA_IFNAME] ||
	    mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING))
		return MNL_CB_OK;
	for (size_t i = 0; i < f->n->n_interfaces; i++) {
		struct link *l = &f->links[i];

		if (l->root_index ||
		    memcmp(mnl_attr_get_payload(mac), f->n->interfaces[i]->device_mac.data, 6))
			continue;
		l->root_index = ifi->ifi_index;
		snprintf(l->root_name, sizeof(l->root_name), "%s",
			 mnl_attr_get_str(tb[IFLA_IFNAME]));
		break;
	}
	return MNL_CB_OK;
}

/* The devices the host gave the VM: their MACs are kx_net_device_mac(0..). */
struct devices {
	int index[KX_NET_MAX_IFACES];
	size_t n;
};

static int on_device(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL };
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct devices *d = data;
	const struct nlattr *mac;
	uint8_t want[6];

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_attr_parse(nlh, sizeof(*ifi), link_attrs, tb) != MNL_CB_OK)
		return MNL_CB_OK;
	mac = tb[IFLA_PERM_ADDRESS] ? tb[IFLA_PERM_ADDRESS] : tb[IFLA_ADDRESS];
	if (!mac || mnl_attr_get_payload_len(mac) != 6)
		return MNL_CB_OK;
	for (unsigned int i = 0; i < KX_NET_MAX_IFACES && d->n < KX_NET_MAX_IFACES; i++) {
		kx_net_device_mac(i, want);
		if (!memcmp(mnl_attr_get_payload(mac), want, 6)) {
			d->index[d->n++] = ifi->ifi_index;
			break;
		}
	}
	return MNL_CB_OK;
}

static void mac_str(const uint8_t *m, char *out, size_t len)
{
	snprintf(out, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Each interface's device in the agent's namespace, waiting for late ones. */
static int find_links(struct nl *nl, const Katasbx__Agent__V1__Network *n, struct link *links,
		      char *msg, size_t len)
{
	struct find f = { .n = n, .links = links };
	int64_t deadline = now_ms() + net_link_wait_ms;
	char mac[18];

	for (;;) {
		union nl_req req;
		struct nlmsghdr *h = nl_msg(&req, RTM_GETLINK, NLM_F_DUMP);
		struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
		size_t missing = 0;

		ifi->ifi_family = AF_UNSPEC;
		if (nl_talk(nl, h, on_link, &f) < 0) {
			if (errno != EINTR)
				return fail(msg, len, errno, "list the network devices");
			/* links changed during the dump: on a new socket, the rest of it unread */
			nl_close(nl);
			if (nl_open(nl) < 0)
				return fail(msg, len, errno, "netlink socket");
		}
		while (missing < n->n_interfaces && links[missing].root_index)
			missing++;
		if (missing == n->n_interfaces)
			return 0;
		if (now_ms() >= deadline)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = LINK_POLL_MS * 1000000L }, NULL);
	}
	for (size_t i = 0; i < n->n_interfaces; i++) {
		if (links[i].root_index)
			continue;
		mac_str(n->interfaces[i]->device_mac.data, mac, sizeof(mac));
		return fail(msg, len, ENODEV, "interface %s: no network device with MAC %s "
			    "(waited %d ms)", n->interfaces[i]->name, mac, net_link_wait_ms);
	}
	return 0;
}

/* Down, then into netns_fd as name: one message, the kernel renames it on the way. */
static int link_move(struct nl *nl, int index, int netns_fd, const char *name)
{
	union nl_req req;
	struct nlmsghdr *h = link_msg(&req, index, false);

	if (nl_talk(nl, h, NULL, NULL) < 0)
		return -1;
	h = link_msg(&req, index, false);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, netns_fd);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	return nl_talk(nl, h, NULL, NULL);
}

static int on_index(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWLINK && mnl_nlmsg_get_payload_len(nlh) >= sizeof(*ifi))
		*(int *)data = ifi->ifi_index;
	return MNL_CB_OK;
}

static int link_index(struct nl *nl, const char *name)
{
	union nl_req req;
	struct nlmsghdr *h = nl_msg(&req, RTM_GETLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	int index = 0;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	if (nl_talk(nl, h, on_index, &index) < 0)
		return -1;
	if (index <= 0) {
		errno = ENODEV;
		return -1;
	}
	return index;
}

/* ---- addresses and routes ---- */

static void addr_str(const ProtobufCBinaryData *a, char *out, size_t len)
{
	if (!inet_ntop(a->len == 4 ? AF_INET : AF_INET6, a->data, out, len))
		snprintf(out, len, "?");
}

static int addr_add(struct nl *nl, int index, const Katasbx__Agent__V1__IpAddress *a)
{
	union nl_req req;
	struct nlmsghdr *h = nl_msg(&req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	bool v4 = a->address.len == 4;

	ifa->ifa_family = v4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = a->prefix_len;
	/* usable at once: no duplicate address detection to wait for */
	ifa->ifa_flags = v4 ? 0 : IFA_F_NODAD;
	/* as ip(8) does: host scope for 127/8; IPv6 derives the scope itself */
	ifa->ifa_scope = v4 && a->address.data[0] == 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
	ifa->ifa_index = index;
	mnl_attr_put(h, IFA_LOCAL, a->address.len, a->address.data);
	mnl_attr_put(h, IFA_ADDRESS, a->address.len, a->address.data);
	return nl_talk(nl, h, NULL, NULL);
}

/* "default via 10.0.0.1 dev eth0", "10.1.0.0/16 dev eth0 metric 5" */
static void route_str(const Katasbx__Agent__V1__Route *r, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	size_t n;

	if (r->prefix_len) {
		addr_str(&r->destination, a, sizeof(a));
		n = snprintf(out, len, "%s/%u", a, r->prefix_len);
	} else {
		n = snprintf(out, len, "default%s", r->destination.len == 16 ? " (IPv6)" : "");
	}
	if (n < len && r->gateway.len) {
		addr_str(&r->gateway, a, sizeof(a));
		n += snprintf(out + n, len - n, " via %s", a);
	}
	if (n < len)
		n += snprintf(out + n, len - n, " dev %s", r->device);
	if (n < len && r->metric)
		snprintf(out + n, len - n, " metric %u", r->metric);
}

static int route_add(struct nl *nl, int index, const Katasbx__Agent__V1__Route *r)
{
	union nl_req req;
	struct nlmsghdr *h = nl_msg(&req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));

	rtm->rtm_family = r->destination.len == 4 ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = r->prefix_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;	/* what "ip route add" gives */
	rtm->rtm_scope = r->scope;
	rtm->rtm_type = RTN_UNICAST;
	if (r->prefix_len)
		mnl_attr_put(h, RTA_DST, r->destination.len, r->destination.data);
	if (r->gateway.len)
		mnl_attr_put(h, RTA_GATEWAY, r->gateway.len, r->gateway.data);
	mnl_attr_put_u32(h, RTA_OIF, index);
	if (r->metric)
		mnl_attr_put_u32(h, RTA_PRIORITY, r->metric);
	if (r->source.len)
		mnl_attr_put(h, RTA_PREFSRC, r->source.len, r->source.data);
	return nl_talk(nl, h, NULL, NULL);
}

/* ---- namespaces ---- */

static int open_root_netns(void)
{
	if (root_netns < 0)
		root_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return root_netns;
}

int net_init(void)
{
	struct nl nl = { 0 };
	char msg[256];

	if (open_root_netns() < 0)
		return log_err("open /proc/self/ns/net: %s", strerror(errno)), -1;
	if (nl_open(&nl) < 0)
		return log_err("netlink socket: %s", strerror(errno)), -1;
	if (link_up(&nl, 0, "lo") < 0) {
		fail(msg, sizeof(msg), errno, "interface lo: bring up");
		nl_close(&nl);
		return log_err("%s", msg), -1;
	}
	nl_close(&nl);
	return 0;
}

/*
 * A new network namespace: *fd of it and ns, a netlink socket in it. The
 * agent is back in its own namespace whatever happens.
 */
static int netns_new(int *fd, struct nl *ns, char *msg, size_t len)
{
	const char *what = NULL;
	int err = 0;

	if (unshare(CLONE_NEWNET) < 0)
		return fail(msg, len, errno, "new network namespace");
	*fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		err = errno;
		what = "new network namespace: open /proc/self/ns/net";
	} else if (nl_open(ns) < 0) {
		err = errno;
		what = "new network namespace: netlink socket";
	}
	if (setns(root_netns, CLONE_NEWNET) < 0) {
		/* Not expected; later containers would share this one. */
		log_err("back to the agent's network namespace: %s", strerror(errno));
		err = errno;
		what = "back to the agent's network namespace";
	}
	if (!what)
		return 0;
	nl_close(ns);
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return fail(msg, len, err, "%s", what);
}

static int iface_setup(struct nl *ns, const Katasbx__Agent__V1__Interface *f, struct link *l,
		       char *msg, size_t len)
{
	union nl_req req;
	struct nlmsghdr *h;
	char s[INET6_ADDRSTRLEN];

	l->index = link_index(ns, f->name);
	if (l->index < 0)
		return fail(msg, len, errno, "interface %s: find it in the new namespace", f->name);
	h = link_msg(&req, l->index, false);
	mnl_attr_put(h, IFLA_ADDRESS, 6, f->mac.data);
	if (nl_talk(ns, h, NULL, NULL) < 0) {
		mac_str(f->mac.data, s, sizeof(s));
		return fail(msg, len, errno, "interface %s: set MAC %s", f->name, s);
	}
	h = link_msg(&req, l->index, false);
	mnl_attr_put_u32(h, IFLA_MTU, f->mtu);
	if (nl_talk(ns, h, NULL, NULL) < 0)
		return fail(msg, len, errno, "interface %s: set MTU %u", f->name, f->mtu);
	if (link_up(ns, l->index, NULL) < 0)
		return fail(msg, len, errno, "interface %s: bring up", f->name);
	for (size_t j = 0; j < f->n_addresses; j++) {
		if (addr_add(ns, l->index, f->addresses[j]) < 0) {
			addr_str(&f->addresses[j]->address, s, sizeof(s));
			return fail(msg, len, errno, "interface %s: add address %s/%u", f->name, s,
				    f->addresses[j]->prefix_len);
		}
	}
	return 0;
}

/* After a failure: devices moved in go back as they were named (best effort). */
static void links_return(struct nl *ns, struct link *links, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		union nl_req req;
		struct nlmsghdr *h;

		if (!links[i].moved || links[i].index <= 0)
			continue;
		h = link_msg(&req, links[i].index, false);
		mnl_attr_put_u32(h, IFLA_NET_NS_FD, root_netns);
		mnl_attr_put_strz(h, IFLA_IFNAME, links[i].root_name);
		if (nl_talk(ns, h, NULL, NULL) < 0)
			log_err("give network device %s back: %s", links[i].root_name,
				strerror(errno));
	}
}

/* A netlink socket in the existing namespace fd; the agent is back in its own after. */
static int netns_open(int fd, struct nl *ns, char *msg, size_t len)
{
	int err = 0;

	if (setns(fd, CLONE_NEWNET) < 0)
		return fail(msg, len, errno, "enter the container's network namespace");
	if (nl_open(ns) < 0)
		err = errno;
	if (setns(root_netns, CLONE_NEWNET) < 0) {
		log_err("back to the agent's network namespace: %s", strerror(errno));
		err = errno;
	}
	if (!err)
		return 0;
	nl_close(ns);
	return fail(msg, len, err, "netlink socket in the container's network namespace");
}

int net_prepare(void)
{
	struct nl root = { 0 }, ns = { 0 };
	struct devices d = { .n = 0 };
	union nl_req req;
	struct nlmsghdr *h;
	char msg[256];
	int fd = -1;

	if (spare_netns >= 0)
		return 0;
	if (open_root_netns() < 0)
		return log_err("open /proc/self/ns/net: %s", strerror(errno)), -1;
	if (nl_open(&root) < 0)
		return log_err("netlink socket: %s", strerror(errno)), -1;
	h = nl_msg(&req, RTM_GETLINK, NLM_F_DUMP);
	((struct ifinfomsg *)mnl_nlmsg_put_extra_header(h, sizeof(struct ifinfomsg)))->ifi_family =
		AF_UNSPEC;
	if (nl_talk(&root, h, on_device, &d) < 0) {
		fail(msg, sizeof(msg), errno, "list the network devices");
		goto fail;
	}
	if (!d.n) {
		nl_close(&root);
		return 0;	/* no network device: nothing to prepare */
	}
	if (netns_new(&fd, &ns, msg, sizeof(msg)) < 0)
		goto fail;
	if (link_up(&ns, 0, "lo") < 0) {
		fail(msg, sizeof(msg), errno, "interface lo: bring up");
		goto fail;
	}
	for (size_t i = 0; i < d.n; i++) {
		h = link_msg(&req, d.index[i], false);
		mnl_attr_put_u32(h, IFLA_NET_NS_FD, fd);
		if (nl_talk(&root, h, NULL, NULL) < 0) {
			fail(msg, sizeof(msg), errno, "move network device %d", d.index[i]);
			goto fail;
		}
	}
	nl_close(&ns);
	nl_close(&root);
	spare_netns = fd;
	log_dbg("%zu network devices wait in a namespace of their own", d.n);
	return 0;
fail:
	/* what was moved comes back with the namespace's end (a VM's devices do) */
	nl_close(&ns);
	nl_close(&root);
	if (fd >= 0)
		close(fd);
	return log_err("network devices, a namespace ahead: %s", msg), -1;
}

/* n's routes, in order, in ns: links[k] is the interface routes name. */
static int routes_add(struct nl *ns, const Katasbx__Agent__V1__Network *n,
		      const struct link *links, char *msg, size_t len)
{
	char s[160];

	for (size_t i = 0; i < n->n_routes; i++) {
		const Katasbx__Agent__V1__Route *r = n->routes[i];
		size_t k = 0;

		/* kx_net_check made sure the device is one of the interfaces */
		while (strcmp(n->interfaces[k]->name, r->device))
			k++;
		if (route_add(ns, links[k].index, r) < 0) {
			route_str(r, s, sizeof(s));
			return fail(msg, len, errno, "route %s: add", s);
		}
	}
	return 0;
}

/*
 * n in the spare namespace, which becomes the container's: its devices are
 * there already, renamed (through a temporary name, so that two may swap
 * theirs) and configured in place. On failure they go back to the agent's
 * namespace and the spare is no more.
 */
static int net_setup_spare(const Katasbx__Agent__V1__Network *n, int *netns_fd, char *msg,
			   size_t len)
{
	struct link links[KX_NET_MAX_IFACES] = { { 0 } };
	struct nl ns = { 0 };
	union nl_req req;
	struct nlmsghdr *h;
	char tmp[IFNAMSIZ];
	int ret = -1;

	if (netns_open(spare_netns, &ns, msg, len) < 0 || find_links(&ns, n, links, msg, len) < 0)
		goto out;
	for (size_t i = 0; i < n->n_interfaces; i++) {
		links[i].moved = true;	/* to give back on failure */
		links[i].index = links[i].root_index;
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n->n_interfaces; i++) {
			const char *name = n->interfaces[i]->name;

			if (!strcmp(links[i].root_name, name))
				continue;
			snprintf(tmp, sizeof(tmp), "kxnet%zu", i);
			h = link_msg(&req, links[i].index, false);
			mnl_attr_put_strz(h, IFLA_IFNAME, pass ? name : tmp);
			if (nl_talk(&ns, h, NULL, NULL) < 0) {
				fail(msg, len, errno, "interface %s: rename device %s", name,
				     links[i].root_name);
				goto out;
			}
		}
	for (size_t i = 0; i < n->n_interfaces; i++)
		if (iface_setup(&ns, n->interfaces[i], &links[i], msg, len) < 0)
			goto out;
	if (routes_add(&ns, n, links, msg, len) < 0)
		goto out;
	*netns_fd = spare_netns;
	spare_netns = -1;
	ret = 0;
	log_dbg("network namespace (made ahead): %zu interfaces, %zu routes", n->n_interfaces,
		n->n_routes);
out:
	if (ret && links[0].moved) {
		links_return(&ns, links, n->n_interfaces);
		close(spare_netns);
		spare_netns = -1;
	}
	nl_close(&ns);
	return ret;
}

/*
 * Move n's devices (links, found by find_links) from the root namespace
 * (root) into the one of fd (ns, a socket in it) and configure them; on
 * failure they go back.
 */
static int net_fill(struct nl *root, struct nl *ns, int fd, const Katasbx__Agent__V1__Network *n,
		    struct link *links, char *msg, size_t len)
{
	for (size_t i = 0; i < n->n_interfaces; i++) {
		const Katasbx__Agent__V1__Interface *f = n->interfaces[i];

		if (link_move(root, links[i].root_index, fd, f->name) < 0) {
			fail(msg, len, errno, "interface %s: move device %s into the container's "
			     "network namespace", f->name, links[i].root_name);
			goto fail;
		}
		links[i].moved = true;
		if (iface_setup(ns, f, &links[i], msg, len) < 0)
			goto fail;
	}
	if (routes_add(ns, n, links, msg, len) < 0)
		goto fail;
	log_dbg("network namespace: %zu interfaces, %zu routes", n->n_interfaces, n->n_routes);
	return 0;
fail:
	links_return(ns, links, n->n_interfaces);
	return -1;
}

int net_setup(const Katasbx__Agent__V1__Network *n, int *netns_fd, char *msg, size_t len)
{
	struct link links[KX_NET_MAX_IFACES] = { { 0 } };
	struct nl root = { 0 }, ns = { 0 };
	int fd = -1, ret = -1;

	*netns_fd = -1;
	if (kx_net_check(n, msg, len))
		return -1;
	if (open_root_netns() < 0)
		return fail(msg, len, errno, "open /proc/self/ns/net");
	/* an empty one (ctr run --cni's, filled by AddNetwork) is new: the devices stay apart */
	if (n->n_interfaces && spare_netns >= 0)
		return net_setup_spare(n, netns_fd, msg, len);
	if (nl_open(&root) < 0)
		return fail(msg, len, errno, "netlink socket");
	/* the devices are looked for before anything is made */
	if (find_links(&root, n, links, msg, len) < 0 || netns_new(&fd, &ns, msg, len) < 0)
		goto out;
	if (link_up(&ns, 0, "lo") < 0) {
		fail(msg, len, errno, "interface lo: bring up");
		goto out;
	}
	ret = net_fill(&root, &ns, fd, n, links, msg, len);
out:
	nl_close(&ns);
	nl_close(&root);
	if (!ret)
		*netns_fd = fd;
	else if (fd >= 0)
		close(fd);	/* a device left in it goes back with the namespace */
	return ret;
}

int net_setup_in(const Katasbx__Agent__V1__Network *n, int netns_fd, char *msg, size_t len)
{
	struct nl ns = { 0 };
	int ret;

	if (kx_net_check(n, msg, len))
		return -1;
	if (open_root_netns() < 0)
		return fail(msg, len, errno, "open /proc/self/ns/net");
	if (netns_open(netns_fd, &ns, msg, len) < 0)
		return -1;
	ret = link_up(&ns, 0, "lo");
	nl_close(&ns);
	if (ret < 0)
		return fail(msg, len, errno, "interface lo: bring up");
	/* none yet: ctr run --cni's come with AddNetwork, from the spare namespace */
	return n->n_interfaces ? net_add(n, netns_fd, msg, len) : 0;
}

int net_add(const Katasbx__Agent__V1__Network *n, int netns_fd, char *msg, size_t len)
{
	struct link links[KX_NET_MAX_IFACES] = { { 0 } };
	struct nl root = { 0 }, ns = { 0 };
	int ret = -1;

	if (kx_net_check(n, msg, len))
		return -1;
	if (open_root_netns() < 0)
		return fail(msg, len, errno, "open /proc/self/ns/net");
	if (netns_fd < 0)
		netns_fd = root_netns;	/* a container in the guest's namespace */
	/* the devices wait in the spare namespace if there is one */
	if (spare_netns >= 0 ? netns_open(spare_netns, &root, msg, len) < 0 : nl_open(&root) < 0)
		return spare_netns >= 0 ? -1 : fail(msg, len, errno, "netlink socket");
	if (find_links(&root, n, links, msg, len) == 0 &&
	    netns_open(netns_fd, &ns, msg, len) == 0)
		ret = net_fill(&root, &ns, netns_fd, n, links, msg, len);
	nl_close(&ns);
	nl_close(&root);
	if (spare_netns >= 0) {
		/* a VM's devices serve one sandbox: the spare has done its part */
		close(spare_netns);
		spare_netns = -1;
	}
	return ret;
}
