/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A sandbox's network on the host: the network namespace its spec names
 * (made by CNI, containerd's CRI plugin, ctr --cni, netavark), each of whose
 * Ethernet-like interfaces is wired to a tap of the VM: an ingress qdisc on
 * both and a mirred egress redirect each way (the tcfilter model: no
 * bridge, no NAT, no host-side address). The guest interface takes the
 * host one's MAC, MTU, addresses and routes (the agent's Network message).
 *
 * What is wired is written to a record file first, so that the runtime's
 * delete can undo it after a crash; unwiring leaves the namespace holding
 * exactly what was there before (the CNI DEL that follows finds it so).
 */
#ifndef KX_NET_SANDBOX_H
#define KX_NET_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "agent.pb-c.h"
#include "kx_error.h"
#include "net/netcheck.h"
#include "oci.h"

#define KX_NET_TAP_PREFIX "kxtap"	/* kxtap0, kxtap1, ...: the VM's taps */
#define KX_NET_RECORD "network.json"	/* the record's name in a sandbox's state directory */

struct kx_net_link {
	char name[16];		/* the host interface (a veth) */
	int ifindex;
	char tap[16];		/* its tap, KX_NET_TAP_PREFIX + index */
	int tap_ifindex;	/* 0 until the tap is there */
	bool wired;		/* ingress qdiscs and redirects in place */
};

struct kx_net {
	int netns_fd;		/* -1: the VM has no network interface */
	char netns_path[4096];
	size_t n;
	struct kx_net_link links[KX_NET_MAX_IFACES];
	Katasbx__Agent__V1__Network *msg;	/* for the agent; NULL when n is 0 */
	/*
	 * The namespace is the caller's own, made for a spec without a path:
	 * links[0] is a spare tap (ifindex 0) and msg NULL until
	 * kx_net_late_scan finds what CNI put there after create.
	 */
	bool late;
	char record[4200];	/* the record file, "" until written */
};

void kx_net_init(struct kx_net *net);
/*
 * Read the network namespace spec names: its interfaces, their addresses
 * and routes, into net->msg. A spec without a network namespace (the host's
 * network, which a VM cannot share) gives a warning and no interface, as
 * does one without a path (a new, empty network). Errors name the spec's
 * field (linux.namespaces[N].path) or the interface; nothing is changed.
 */
int kx_net_open(struct kx_net *net, const struct kx_spec *spec, struct kx_err *err);
/* The same for the namespace at path; errors start with what. */
int kx_net_open_ns(struct kx_net *net, const char *path, const char *what, struct kx_err *err);
/*
 * A network for a spec whose namespace has no path, in a create that others
 * may configure before start (ctr run --cni runs CNI on /proc/PID/ns/net of
 * the task's pid, the monitor's): the caller has just unshared its network
 * namespace. The VM gets one network device on a spare tap there; the
 * container no Network (net->msg NULL): it stays in the guest's own
 * namespace, lo only, where AddNetwork puts what comes.
 */
int kx_net_open_late(struct kx_net *net, struct kx_err *err);
/*
 * At start: what the late namespace holds now. 0: nothing new (lo only), or
 * not a late network; 1: the interface found is wired to the spare tap and
 * net->msg is its Network for the agent (AddNetwork); -1: more than one, or
 * one that cannot be wired (the spare tap is kept, unwired).
 */
int kx_net_late_scan(struct kx_net *net, struct kx_err *err);
/* Write the record (path) of what will be wired, before anything is. */
int kx_net_record(struct kx_net *net, const char *path, struct kx_err *err);
/*
 * The taps, made in the namespace: fds[i] for interface i (QEMU's; close
 * them once QEMU holds them: a tap goes with its last fd).
 */
int kx_net_make_taps(struct kx_net *net, int *fds, struct kx_err *err);
/*
 * Taps made elsewhere by kx_net_scratch_taps (a warm pool VM's), moved from
 * their namespace from_fd into this one.
 */
int kx_net_adopt_taps(struct kx_net *net, int from_fd, struct kx_err *err);
/* Each tap up with its interface's MTU; the qdiscs and redirects. */
int kx_net_wire(struct kx_net *net, struct kx_err *err);
/* Undo the wiring and remove the taps, keeping what was read: wire again later. */
void kx_net_unwire(struct kx_net *net);
/* Undo everything, remove the record, close and free; safe to call twice. */
void kx_net_close(struct kx_net *net);
/*
 * After a crash: undo what the record at path names (redirects and qdiscs
 * on its interfaces, taps left), then remove it. A missing record or
 * namespace: nothing to do.
 */
int kx_net_cleanup_record(const char *path, struct kx_err *err);
/*
 * n taps in a namespace of their own that goes with them (a template's, a
 * pool VM's before it is claimed), named as kx_net_make_taps names them;
 * fds[i] and, if netns_fd is not NULL, an fd of that namespace.
 */
int kx_net_scratch_taps(unsigned int n, int *fds, int *netns_fd, struct kx_err *err);

#endif
