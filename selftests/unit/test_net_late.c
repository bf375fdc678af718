// SPDX-License-Identifier: GPL-2.0
/*
 * The late network (net/sandbox.c): a sandbox whose spec names a network
 * namespace without a path, in the monitor's own namespace, with a spare
 * tap, and what CNI adds there between create and start. Live, as root, in
 * private network namespaces only (the host's interfaces are never seen);
 * skipped otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/netlink.h"
#include "net/sandbox.h"

static char skip_reason[128];
/* the peers' namespaces: held open, since a veth goes with its peer's namespace */
static int peers[4] = { -1, -1, -1, -1 };

/* a fresh namespace for each test, lo up; the peer ends go to another */
static int setup(void **state)
{
	(void)state;
	if (geteuid()) {
		snprintf(skip_reason, sizeof(skip_reason), "not root");
		return 0;
	}
	if (unshare(CLONE_NEWNET)) {
		snprintf(skip_reason, sizeof(skip_reason), "unshare: %s", strerror(errno));
		return 0;
	}
	if (system("ip link set lo up"))
		snprintf(skip_reason, sizeof(skip_reason), "ip link set lo up failed (iproute2?)");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < 4; i++) {
		if (peers[i] >= 0)
			close(peers[i]);
		peers[i] = -1;
	}
	return 0;
}

static bool live(void)
{
	if (skip_reason[0]) {
		printf("# skip: %s\n", skip_reason);
		return false;
	}
	return true;
}

static int ifindex(const char *name)
{
	return (int)if_nametoindex(name);
}

/* A veth NAME here, its peer in a namespace of its own (so it is not one of ours to wire). */
static void veth(const char *name, const char *addr)
{
	char cmd[256];
	int self = open("/proc/self/ns/net", O_RDONLY), other;
	struct kx_link_change c = { .netns_fd = -1, .up = -1 };
	struct kx_nl *nl;
	struct kx_err err;

	assert_true(self >= 0);
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	other = open("/proc/self/ns/net", O_RDONLY);
	assert_int_equal(setns(self, CLONE_NEWNET), 0);
	for (size_t i = 0; i < 4; i++)
		if (peers[i] < 0) {
			peers[i] = other;
			break;
		}
	snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name p-%s", name, name);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(kx_nl_open(&nl, -1, &err), 0);
	c.netns_fd = other;
	snprintf(cmd, sizeof(cmd), "p-%s", name);
	assert_int_equal(kx_nl_link_change(nl, ifindex(cmd), &c, &err), 0);
	kx_nl_close(nl);
	close(self);
	snprintf(cmd, sizeof(cmd), "ip addr add %s dev %s && ip link set %s up", addr, name, name);
	assert_int_equal(system(cmd), 0);
}

static size_t redirects(int from)
{
	struct kx_nl *nl;
	struct kx_err err;
	size_t n = 0;
	int *to = NULL;

	assert_int_equal(kx_nl_open(&nl, -1, &err), 0);
	if (kx_nl_redirects(nl, from, &to, &n, &err))
		n = 0;	/* no ingress qdisc: none */
	free(to);
	kx_nl_close(nl);
	return n;
}

static void open_with_spare(struct kx_net *net, int *tap)
{
	struct kx_err err;

	assert_int_equal(kx_net_open_late(net, &err), 0);
	assert_true(net->late);
	assert_int_equal(net->n, 1);
	assert_null(net->msg);	/* the container stays in the guest's namespace */
	assert_int_equal(kx_net_make_taps(net, tap, &err), 0);
	assert_true(ifindex("kxtap0") > 0);
	assert_int_equal(net->links[0].tap_ifindex, ifindex("kxtap0"));
}

static void test_nothing_added(void **state)
{
	struct kx_net net;
	struct kx_err err;
	int tap;

	(void)state;
	if (!live())
		return;
	open_with_spare(&net, &tap);
	assert_int_equal(kx_net_late_scan(&net, &err), 0);
	assert_int_equal(net.links[0].ifindex, 0);
	assert_null(net.msg);
	kx_net_close(&net);
	close(tap);
	assert_int_equal(ifindex("kxtap0"), 0);
}

static void test_one_added(void **state)
{
	struct kx_net net;
	struct kx_err err;
	int tap, eth;

	(void)state;
	if (!live())
		return;
	open_with_spare(&net, &tap);
	veth("eth0", "10.9.0.2/24");
	assert_int_equal(system("ip route add default via 10.9.0.1"), 0);
	eth = ifindex("eth0");
	assert_int_equal(kx_net_late_scan(&net, &err), 1);
	assert_string_equal(net.links[0].name, "eth0");
	assert_int_equal(net.links[0].ifindex, eth);
	assert_true(net.links[0].wired);
	assert_int_equal(net.msg->n_interfaces, 1);
	assert_string_equal(net.msg->interfaces[0]->name, "eth0");
	assert_int_equal(net.msg->interfaces[0]->n_addresses, 1);
	assert_true(net.msg->n_routes >= 1);
	assert_int_equal(redirects(eth), 1);
	assert_int_equal(redirects(ifindex("kxtap0")), 1);
	/* once is enough: a second start does not scan again */
	assert_int_equal(kx_net_late_scan(&net, &err), 0);
	kx_net_close(&net);
	close(tap);
	assert_int_equal(redirects(eth), 0);
	assert_int_equal(ifindex("kxtap0"), 0);
	assert_int_equal(ifindex("eth0"), eth);	/* what CNI made stays */
}

static void test_two_added(void **state)
{
	struct kx_net net;
	struct kx_err err;
	int tap;

	(void)state;
	if (!live())
		return;
	open_with_spare(&net, &tap);
	veth("eth0", "10.9.1.2/24");
	veth("eth1", "10.9.2.2/24");
	assert_int_equal(kx_net_late_scan(&net, &err), -1);
	assert_int_equal(err.errnum, E2BIG);
	assert_non_null(strstr(err.msg, "2 interfaces (eth0, eth1) added after create"));
	assert_int_equal(redirects(ifindex("eth0")), 0);
	assert_int_equal(redirects(ifindex("eth1")), 0);
	/* the spare is kept: with one left, a later start wires it */
	assert_int_equal(net.links[0].ifindex, 0);
	assert_int_equal(net.links[0].tap_ifindex, ifindex("kxtap0"));
	assert_int_equal(system("ip link del eth1"), 0);
	assert_int_equal(kx_net_late_scan(&net, &err), 1);
	assert_string_equal(net.links[0].name, "eth0");
	kx_net_close(&net);
	close(tap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nothing_added, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_added, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_added, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
