// SPDX-License-Identifier: GPL-2.0
#include "net/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <net/if_arp.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net/netlink.h"
#include "net/tap.h"

void kx_net_init(struct kx_net *net)
{
	memset(net, 0, sizeof(*net));
	net->netns_fd = -1;
}

/* What the namespace holds, read once. */
struct scan {
	struct kx_link *links;
	size_t n_links;
	struct kx_addr *addrs;
	size_t n_addrs;
	struct kx_route *routes;
	size_t n_routes;
};

static void scan_free(struct scan *s)
{
	free(s->links);
	free(s->addrs);
	free(s->routes);
	memset(s, 0, sizeof(*s));
}

static int scan_read(int netns_fd, struct scan *s, struct kx_err *err)
{
	struct kx_nl *nl;
	int ret;

	memset(s, 0, sizeof(*s));
	if (kx_nl_open(&nl, netns_fd, err))
		return -1;
	ret = kx_nl_links(nl, &s->links, &s->n_links, err) ||
	      kx_nl_addrs(nl, &s->addrs, &s->n_addrs, err) ||
	      kx_nl_routes(nl, &s->routes, &s->n_routes, err) ? -1 : 0;
	kx_nl_close(nl);
	if (ret)
		scan_free(s);
	return ret;
}

static const struct kx_link *link_by_index(const struct scan *s, int ifindex)
{
	for (size_t i = 0; i < s->n_links; i++)
		if (s->links[i].ifindex == ifindex)
			return &s->links[i];
	return NULL;
}

static const struct kx_link *link_by_name(const struct kx_link *links, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(links[i].name, name))
			return &links[i];
	return NULL;
}

static bool has_addrs(const struct scan *s, int ifindex)
{
	for (size_t i = 0; i < s->n_addrs; i++)
		if (s->addrs[i].ifindex == ifindex)
			return true;
	return false;
}

static int wired_index(const struct kx_net *net, int ifindex)
{
	for (size_t i = 0; i < net->n; i++)
		if (net->links[i].ifindex == ifindex)
			return (int)i;
	return -1;
}

static void describe_kind(const struct kx_link *l, char *buf, size_t len)
{
	snprintf(buf, len, "%s%stype %u", l->kind, l->kind[0] ? ", " : "", l->type);
}

/*
 * The interfaces to wire: every Ethernet-like one but lo. A link of another
 * kind that is down and has no address (the fallback tunnels a namespace
 * gets from sit or ipip) is left alone; one that is in use is an error, as
 * is a tap of ours (another sandbox is wired to this namespace), but for
 * own_tap (the late network's spare). At most max of them.
 */
static int pick_links(struct kx_net *net, const struct scan *s, int own_tap, size_t max,
		      struct kx_err *err)
{
	char names[256] = "";
	size_t ether = 0;

	for (size_t i = 0; i < s->n_links; i++) {
		const struct kx_link *l = &s->links[i];
		char kind[48];

		if (l->flags & IFF_LOOPBACK || (own_tap && l->ifindex == own_tap))
			continue;
		if (!strncmp(l->name, KX_NET_TAP_PREFIX, strlen(KX_NET_TAP_PREFIX)))
			return kx_error_as(err, EBUSY,
					 "network namespace %s: interface %s is a katasbx tap: "
					 "another sandbox is wired to this namespace",
					 net->netns_path, l->name);
		if (l->type != ARPHRD_ETHER || !l->has_mac) {
			if (!(l->flags & IFF_UP) && !has_addrs(s, l->ifindex))
				continue;
			describe_kind(l, kind, sizeof(kind));
			return kx_error_as(err, EINVAL,
					 "network namespace %s: interface %s (%s) cannot be wired "
					 "to the VM: only Ethernet-like interfaces can",
					 net->netns_path, l->name, kind);
		}
		if (ether < KX_NET_MAX_IFACES) {
			struct kx_net_link *w = &net->links[ether];

			snprintf(w->name, sizeof(w->name), "%s", l->name);
			w->ifindex = l->ifindex;
			snprintf(w->tap, sizeof(w->tap), "%s%zu", KX_NET_TAP_PREFIX, ether);
		}
		if (ether < 2 * KX_NET_MAX_IFACES)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 ether ? ", " : "", l->name);
		else if (ether == 2 * KX_NET_MAX_IFACES)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), ", ...");
		ether++;
	}
	if (ether > max && max < KX_NET_MAX_IFACES)
		return kx_error_as(err, E2BIG,
				 "network namespace %s: %zu interfaces (%s) added after create: a "
				 "sandbox whose spec names no namespace path takes %zu (name one in "
				 "linux.namespaces for up to %d)",
				 net->netns_path, ether, names, max, KX_NET_MAX_IFACES);
	if (ether > max)
		return kx_error_as(err, E2BIG,
				 "network namespace %s: %zu interfaces (%s): a VM takes at most %d",
				 net->netns_path, ether, names, KX_NET_MAX_IFACES);
	net->n = ether;
	return 0;
}

static int bytes_dup(ProtobufCBinaryData *b, const void *p, size_t len)
{
	b->data = malloc(len ? len : 1);
	if (!b->data)
		return -1;
	memcpy(b->data, p, len);
	b->len = len;
	return 0;
}

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static int add_iface(Katasbx__Agent__V1__Network *m, const struct kx_net_link *w, size_t index,
		     const struct kx_link *l, const struct scan *s)
{
	Katasbx__Agent__V1__Interface *f = malloc(sizeof(*f));
	uint8_t dev_mac[6];
	size_t n = 0;

	if (!f)
		return -1;
	katasbx__agent__v1__interface__init(f);
	m->interfaces[m->n_interfaces++] = f;
	kx_net_device_mac((unsigned int)index, dev_mac);
	f->name = strdup(w->name);
	f->mtu = l->mtu;
	if (!f->name || bytes_dup(&f->device_mac, dev_mac, 6) || bytes_dup(&f->mac, l->mac, 6))
		return -1;
	for (size_t i = 0; i < s->n_addrs; i++)
		n += s->addrs[i].ifindex == w->ifindex;
	f->addresses = calloc(n ? n : 1, sizeof(*f->addresses));
	if (!f->addresses)
		return -1;
	for (size_t i = 0; i < s->n_addrs; i++) {
		const struct kx_addr *a = &s->addrs[i];
		Katasbx__Agent__V1__IpAddress *ip;

		/* the guest makes its link-local address itself, from the same MAC */
		if (a->ifindex != w->ifindex || (a->family != AF_INET && a->family != AF_INET6) ||
		    (a->family == AF_INET6 && a->scope == RT_SCOPE_LINK))
			continue;
		if (f->n_addresses == KX_NET_MAX_ADDRS)
			break;
		ip = malloc(sizeof(*ip));
		if (!ip)
			return -1;
		katasbx__agent__v1__ip_address__init(ip);
		f->addresses[f->n_addresses++] = ip;
		ip->prefix_len = a->prefix_len;
		if (bytes_dup(&ip->address, a->addr, addr_len(a->family)))
			return -1;
	}
	return 0;
}

/* A route the guest needs: unicast, of the main table, through a wired link, not one the kernel
 * makes for an address by itself. */
static bool route_wanted(const struct kx_net *net, const struct kx_route *r)
{
	return (r->family == AF_INET || r->family == AF_INET6) && r->type == RTN_UNICAST &&
	       r->protocol != RTPROT_KERNEL && !r->has_multipath &&
	       (r->table == RT_TABLE_MAIN || r->table == 0) && wired_index(net, r->oif) >= 0;
}

static int add_route(Katasbx__Agent__V1__Network *m, const struct kx_net *net,
		     const struct kx_route *r)
{
	Katasbx__Agent__V1__Route *o = malloc(sizeof(*o));
	size_t len = addr_len(r->family);

	if (!o)
		return -1;
	katasbx__agent__v1__route__init(o);
	m->routes[m->n_routes++] = o;
	o->device = strdup(net->links[wired_index(net, r->oif)].name);
	o->prefix_len = r->dst_len;
	o->metric = r->priority;
	o->scope = r->scope;
	if (!o->device || bytes_dup(&o->destination, r->dst, len) ||
	    (r->has_gateway && bytes_dup(&o->gateway, r->gateway, len)) ||
	    (r->has_prefsrc && bytes_dup(&o->source, r->prefsrc, len)))
		return -1;
	return 0;
}

static int build_msg(struct kx_net *net, const struct scan *s, struct kx_err *err)
{
	Katasbx__Agent__V1__Network *m = malloc(sizeof(*m));
	size_t nr = 0;
	char msg[512];

	if (!m)
		return kx_error(err, ENOMEM, "network of %s", net->netns_path);
	katasbx__agent__v1__network__init(m);
	net->msg = m;
	for (size_t i = 0; i < s->n_routes; i++)
		nr += route_wanted(net, &s->routes[i]);
	m->interfaces = calloc(net->n, sizeof(*m->interfaces));
	m->routes = calloc(nr ? nr : 1, sizeof(*m->routes));
	if (!m->interfaces || !m->routes)
		return kx_error(err, ENOMEM, "network of %s", net->netns_path);
	for (size_t i = 0; i < net->n; i++)
		if (add_iface(m, &net->links[i], i, link_by_index(s, net->links[i].ifindex), s))
			return kx_error(err, ENOMEM, "network of %s", net->netns_path);
	/* on-link routes first: a gateway must be reachable when its route is added */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->n_routes; i++) {
			const struct kx_route *r = &s->routes[i];

			if (!route_wanted(net, r) || r->has_gateway != (pass == 1))
				continue;
			if (m->n_routes == KX_NET_MAX_ROUTES)
				return kx_error_as(err, E2BIG, "network namespace %s: more than %d routes",
						 net->netns_path, KX_NET_MAX_ROUTES);
			if (add_route(m, net, r))
				return kx_error(err, ENOMEM, "network of %s", net->netns_path);
		}
	if (kx_net_check(m, msg, sizeof(msg)))
		return kx_error_as(err, EINVAL, "network namespace %s: %s", net->netns_path, msg);
	return 0;
}

static void msg_free(struct kx_net *net)
{
	if (net->msg)
		katasbx__agent__v1__network__free_unpacked(net->msg, NULL);
	net->msg = NULL;
}

int kx_net_open(struct kx_net *net, const struct kx_spec *spec, struct kx_err *err)
{
	char field[80];

	kx_net_init(net);
	if (spec->net_ns_index < 0) {
		kx_warn("config.json has no network namespace in linux.namespaces: a container in a "
			"VM cannot share the host's network; it gets the VM's own, with lo only");
		return 0;
	}
	if (!spec->net_ns_path)
		return 0;
	snprintf(field, sizeof(field), "config.json: linux.namespaces[%d].path",
		 spec->net_ns_index);
	return kx_net_open_ns(net, spec->net_ns_path, field, err);
}

int kx_net_open_ns(struct kx_net *net, const char *path, const char *what, struct kx_err *err)
{
	struct scan s;
	int type;

	kx_net_init(net);
	snprintf(net->netns_path, sizeof(net->netns_path), "%s", path);
	net->netns_fd = open(net->netns_path, O_RDONLY | O_CLOEXEC);
	if (net->netns_fd < 0)
		return kx_error(err, errno, "%s: %s", what, net->netns_path);
	type = ioctl(net->netns_fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		kx_net_close(net);
		return kx_error(err, 0, "%s: %s is not a network namespace", what, path);
	}
	if (scan_read(net->netns_fd, &s, err)) {
		kx_error_wrap(err, "network namespace %s", net->netns_path);
		kx_net_close(net);
		return -1;
	}
	if (pick_links(net, &s, 0, KX_NET_MAX_IFACES, err) || (net->n && build_msg(net, &s, err))) {
		scan_free(&s);
		net->n = 0;
		kx_net_close(net);
		return -1;
	}
	scan_free(&s);
	if (!net->n) {
		/* nothing to wire: the VM needs no device, the namespace no fd */
		close(net->netns_fd);
		net->netns_fd = -1;
	}
	return 0;
}

/* ---- a late network: interfaces CNI adds between create and start ---- */

static void unwire(struct kx_nl *nl, const struct kx_net_link *links, size_t n, bool all,
		   bool keep_taps);

int kx_net_open_late(struct kx_net *net, struct kx_err *err)
{
	kx_net_init(net);
	net->netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (net->netns_fd < 0)
		return kx_error(err, errno, "open /proc/self/ns/net");
	snprintf(net->netns_path, sizeof(net->netns_path), "/proc/%d/ns/net", (int)getpid());
	/* no msg: the container stays in the guest's namespace, lo only, until AddNetwork */
	net->late = true;
	net->n = 1;
	snprintf(net->links[0].tap, sizeof(net->links[0].tap), "%s0", KX_NET_TAP_PREFIX);
	return 0;
}

int kx_net_late_scan(struct kx_net *net, struct kx_err *err)
{
	const struct kx_net_link spare = net->links[0];
	struct kx_nl *nl;
	struct scan s;
	int ret;

	if (!net->late || spare.ifindex)
		return 0;	/* not late, or scanned already */
	if (scan_read(net->netns_fd, &s, err))
		return kx_error_wrap(err, "network namespace %s", net->netns_path);
	ret = pick_links(net, &s, spare.tap_ifindex, 1, err);
	if (ret || !net->n) {
		scan_free(&s);
		net->links[0] = spare;
		net->n = 1;
		return ret;
	}
	net->links[0].tap_ifindex = spare.tap_ifindex;
	ret = build_msg(net, &s, err);
	scan_free(&s);
	if (!ret && !kx_net_wire(net, err)) {
		kx_debug("network: %s wired to %s after create", net->links[0].name, spare.tap);
		return 1;
	}
	/* back to the spare tap, unwired, for a start that may try again */
	if (!kx_nl_open(&nl, net->netns_fd, NULL)) {
		unwire(nl, net->links, 1, false, true);
		kx_nl_close(nl);
	}
	msg_free(net);
	net->links[0] = spare;
	return -1;
}

/* ---- the record ---- */

int kx_net_record(struct kx_net *net, const char *path, struct kx_err *err)
{
	json_object *o, *arr;
	char tmp[4300];
	int ret = 0;

	/* a late network's namespace is the monitor's: it goes with the monitor and QEMU */
	if (!net->n || net->late)
		return 0;
	o = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(o, "netns", json_object_new_string(net->netns_path));
	for (size_t i = 0; i < net->n; i++) {
		json_object *l = json_object_new_object();

		json_object_object_add(l, "name", json_object_new_string(net->links[i].name));
		json_object_object_add(l, "ifindex", json_object_new_int(net->links[i].ifindex));
		json_object_object_add(l, "tap", json_object_new_string(net->links[i].tap));
		json_object_array_add(arr, l);
	}
	json_object_object_add(o, "links", arr);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PRETTY) || rename(tmp, path)) {
		ret = kx_error(err, errno, "write %s", path);
		unlink(tmp);
	} else {
		snprintf(net->record, sizeof(net->record), "%s", path);
	}
	json_object_put(o);
	return ret;
}

/* ---- taps and wiring ---- */

/* Fill each link's tap_ifindex from the namespace. */
static int find_taps(struct kx_net *net, struct kx_err *err)
{
	struct kx_link *links;
	struct kx_nl *nl;
	size_t n;
	int ret = 0;

	if (kx_nl_open(&nl, net->netns_fd, err))
		return -1;
	if (kx_nl_links(nl, &links, &n, err)) {
		kx_nl_close(nl);
		return -1;
	}
	kx_nl_close(nl);
	for (size_t i = 0; i < net->n; i++) {
		const struct kx_link *t = link_by_name(links, n, net->links[i].tap);

		if (!t) {
			ret = kx_error_as(err, ENODEV, "network namespace %s: tap %s is gone",
					net->netns_path, net->links[i].tap);
			break;
		}
		net->links[i].tap_ifindex = t->ifindex;
	}
	free(links);
	return ret;
}

int kx_net_make_taps(struct kx_net *net, int *fds, struct kx_err *err)
{
	size_t i;

	for (i = 0; i < net->n; i++) {
		fds[i] = kx_tap_open(net->netns_fd, net->links[i].tap, err);
		if (fds[i] < 0)
			goto fail;
	}
	if (!find_taps(net, err))
		return 0;
fail:
	kx_error_wrap(err, "network namespace %s", net->netns_path);
	while (i-- > 0) {
		close(fds[i]);	/* the tap goes with it */
		fds[i] = -1;
	}
	return -1;
}

int kx_net_scratch_taps(unsigned int n, int *fds, int *netns_fd, struct kx_err *err)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), scratch = -1;
	unsigned int i = 0;
	char name[16];

	if (self < 0)
		return kx_error(err, errno, "open /proc/self/ns/net");
	if (unshare(CLONE_NEWNET)) {
		kx_error(err, errno, "a network namespace for the VM's taps");
		close(self);
		return -1;
	}
	scratch = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (setns(self, CLONE_NEWNET)) {
		/* this thread cannot go back: nothing it does later would be where it belongs */
		kx_log(KX_LOG_ERROR, "setns back to the network namespace: %s", strerror(errno));
		abort();
	}
	close(self);
	if (scratch < 0)
		return kx_error(err, errno, "open the taps' network namespace");
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%u", KX_NET_TAP_PREFIX, i);
		fds[i] = kx_tap_open(scratch, name, err);
		if (fds[i] < 0)
			break;
	}
	if (i < n) {
		while (i-- > 0)
			close(fds[i]);
		close(scratch);
		return -1;
	}
	if (netns_fd)
		*netns_fd = scratch;
	else
		close(scratch);
	return 0;
}

int kx_net_adopt_taps(struct kx_net *net, int from_fd, struct kx_err *err)
{
	struct kx_link *links = NULL;
	struct kx_nl *nl;
	size_t n, i;
	int ret = -1;

	if (kx_nl_open(&nl, from_fd, err))
		return kx_error_wrap(err, "the warm VM's taps");
	if (kx_nl_links(nl, &links, &n, err))
		goto out;
	for (i = 0; i < net->n; i++) {
		const struct kx_link *t = link_by_name(links, n, net->links[i].tap);
		struct kx_link_change c = { .netns_fd = net->netns_fd, .up = -1 };

		if (!t) {
			kx_error_as(err, ENODEV, "the warm VM has no tap %s", net->links[i].tap);
			goto out;
		}
		if (kx_nl_link_change(nl, t->ifindex, &c, err)) {
			kx_error_wrap(err, "move tap %s into %s", net->links[i].tap, net->netns_path);
			goto out;
		}
	}
	ret = find_taps(net, err);
out:
	free(links);
	kx_nl_close(nl);
	return ret;
}

int kx_net_wire(struct kx_net *net, struct kx_err *err)
{
	struct kx_nl *nl;
	int ret = 0;

	if (!net->n)
		return 0;
	if (kx_nl_open(&nl, net->netns_fd, err))
		return kx_error_wrap(err, "network namespace %s", net->netns_path);
	for (size_t i = 0; i < net->n; i++) {
		struct kx_net_link *w = &net->links[i];
		struct kx_link_change up = { .netns_fd = -1, .up = 1 };

		if (!w->ifindex || w->wired)
			continue;	/* a spare tap, or wired already */
		up.mtu = net->msg->interfaces[i]->mtu;
		if (kx_nl_link_change(nl, w->tap_ifindex, &up, err) ||
		    kx_nl_ingress_add(nl, w->ifindex, err)) {
			ret = -1;
		} else {
			w->wired = true;	/* from here on, unwiring removes the qdisc */
			ret = kx_nl_ingress_add(nl, w->tap_ifindex, err) ||
			      kx_nl_redirect_add(nl, w->ifindex, w->tap_ifindex, err) ||
			      kx_nl_redirect_add(nl, w->tap_ifindex, w->ifindex, err) ? -1 : 0;
		}
		if (ret) {
			kx_error_wrap(err, "network namespace %s: wire %s to %s", net->netns_path,
				      w->name, w->tap);
			break;
		}
	}
	kx_nl_close(nl);
	return ret;
}

/*
 * Undo links[] in the namespace nl is in: qdiscs (and with them the
 * redirects) where wired (or all), and the taps unless keep_taps.
 */
static void unwire(struct kx_nl *nl, const struct kx_net_link *links, size_t n, bool all,
		   bool keep_taps)
{
	struct kx_link *now = NULL;
	size_t nnow = 0;
	struct kx_err err;

	if (kx_nl_links(nl, &now, &nnow, &err))
		kx_debug("network: list links: %s", err.msg);
	for (size_t i = 0; i < n; i++) {
		const struct kx_link *v = link_by_name(now, nnow, links[i].name);
		const struct kx_link *t = link_by_name(now, nnow, links[i].tap);

		if ((all || links[i].wired) && v && v->ifindex == links[i].ifindex &&
		    kx_nl_ingress_del(nl, v->ifindex, &err))
			kx_warn("network: %s: %s", links[i].name, err.msg);
		if (!keep_taps && t && !strcmp(t->kind, "tun") && kx_nl_link_del(nl, t->ifindex, &err))
			kx_warn("network: %s: %s", links[i].tap, err.msg);
	}
	free(now);
}

void kx_net_unwire(struct kx_net *net)
{
	struct kx_nl *nl;
	struct kx_err err;

	if (net->netns_fd < 0 || !net->n)
		return;
	if (kx_nl_open(&nl, net->netns_fd, &err)) {
		kx_warn("network namespace %s: %s", net->netns_path, err.msg);
		return;
	}
	unwire(nl, net->links, net->n, false, false);
	kx_nl_close(nl);
	for (size_t i = 0; i < net->n; i++) {
		net->links[i].wired = false;
		net->links[i].tap_ifindex = 0;
	}
}

void kx_net_close(struct kx_net *net)
{
	kx_net_unwire(net);
	if (net->record[0])
		unlink(net->record);
	if (net->netns_fd >= 0)
		close(net->netns_fd);
	msg_free(net);
	kx_net_init(net);
}

int kx_net_cleanup_record(const char *path, struct kx_err *err)
{
	struct kx_net_link links[KX_NET_MAX_IFACES] = { 0 };
	json_object *o = json_object_from_file(path), *arr, *v;
	const char *netns;
	struct kx_nl *nl;
	size_t n = 0;
	int fd;

	if (!o)
		return access(path, F_OK) ? 0 : kx_error(err, 0, "%s: not a network record", path);
	if (!json_object_object_get_ex(o, "netns", &v) || !(netns = json_object_get_string(v)) ||
	    !json_object_object_get_ex(o, "links", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(o);
		return kx_error(err, 0, "%s: not a network record", path);
	}
	for (size_t i = 0; i < json_object_array_length(arr) && n < KX_NET_MAX_IFACES; i++) {
		json_object *l = json_object_array_get_idx(arr, i), *f;

		if (json_object_object_get_ex(l, "name", &f))
			snprintf(links[n].name, sizeof(links[n].name), "%s", json_object_get_string(f));
		if (json_object_object_get_ex(l, "tap", &f))
			snprintf(links[n].tap, sizeof(links[n].tap), "%s", json_object_get_string(f));
		if (json_object_object_get_ex(l, "ifindex", &f))
			links[n].ifindex = json_object_get_int(f);
		n++;
	}
	fd = open(netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* the namespace is gone, and what was wired in it with it */
		json_object_put(o);
		unlink(path);
		return 0;
	}
	json_object_put(o);
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET || kx_nl_open(&nl, fd, err)) {
		close(fd);
		unlink(path);
		return 0;
	}
	unwire(nl, links, n, true, false);
	kx_nl_close(nl);
	close(fd);
	unlink(path);
	return 0;
}
