// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's net.c on the host, as root, in a network namespace of the
 * test's own (the host's network is never touched): a veth stands for the
 * virtio-net device, with the device MAC as its address. net_setup must
 * build the container's namespace as asked, or fail naming what failed,
 * leave the veth where it was and the caller in its own namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "../../agent/agent.h"
#include "net/netcheck.h"

/* What net.c takes from the rest of the agent. */
void log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "agent error: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void log_dbg(const char *fmt, ...)
{
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *skip_reason;
static int test_ns = -1;	/* the test's own network namespace */
static ino_t test_ns_ino;

/* The veth: VETH (the "device", moved by net_setup) and its peer PEER, which stays. */
#define VETH "kxtv0"
#define PEER "kxtv1"
#define MAC "02:00:5e:10:00:2a"

struct net_fix {
	Katasbx__Agent__V1__Network n;
	Katasbx__Agent__V1__Interface ifs[2], *ifp[2];
	uint8_t dev_mac[2][6], mac[6];
	Katasbx__Agent__V1__IpAddress addrs[3], *addrp[3];
	Katasbx__Agent__V1__Route routes[3], *rtp[3];
	int netns;
	char msg[512];
};

static void bin(ProtobufCBinaryData *b, const void *data, size_t len)
{
	b->data = (uint8_t *)data;
	b->len = len;
}

static const uint8_t v4_addr[4] = { 10, 213, 0, 2 }, v4_gw[4] = { 10, 213, 0, 1 };
static const uint8_t v6_addr[16] = { 0xfd, 0, 0x02, 0x13, [15] = 2 };
static const uint8_t v6_gw[16] = { 0xfd, 0, 0x02, 0x13, [15] = 1 };
static const uint8_t zero[16];

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void must_run(const char *cmd)
{
	if (run(cmd))
		fail_msg("command failed: %s", cmd);
}

static bool in_test_ns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 && st.st_ino == test_ns_ino;
}

/*
 * One interface eth0 on the veth: MAC, MTU 1400, 10.213.0.2/24 and
 * fd00:213::2/64; default routes via 10.213.0.1 and fd00:213::1.
 */
static int setup(void **state)
{
	struct net_fix *f;

	if (skip_reason)
		return 0;
	f = test_calloc(1, sizeof(*f));
	f->netns = -1;
	katasbx__agent__v1__network__init(&f->n);
	for (size_t i = 0; i < 2; i++) {
		katasbx__agent__v1__interface__init(&f->ifs[i]);
		f->ifp[i] = &f->ifs[i];
		kx_net_device_mac(i ? 7 : 0, f->dev_mac[i]);	/* nothing has device MAC 7 */
		bin(&f->ifs[i].device_mac, f->dev_mac[i], 6);
		bin(&f->ifs[i].mac, f->mac, 6);
		f->ifs[i].mtu = 1400;
		f->ifs[i].addresses = f->addrp;
	}
	memcpy(f->mac, "\x02\x00\x5e\x10\x00\x2a", 6);
	f->ifs[0].name = "eth0";
	f->ifs[1].name = "eth1";
	for (size_t i = 0; i < 3; i++) {
		katasbx__agent__v1__ip_address__init(&f->addrs[i]);
		f->addrp[i] = &f->addrs[i];
		katasbx__agent__v1__route__init(&f->routes[i]);
		f->rtp[i] = &f->routes[i];
		f->routes[i].device = "eth0";
	}
	bin(&f->addrs[0].address, v4_addr, 4);
	f->addrs[0].prefix_len = 24;
	bin(&f->addrs[1].address, v6_addr, 16);
	f->addrs[1].prefix_len = 64;
	f->addrs[2] = f->addrs[0];	/* for a duplicate */
	f->ifs[0].n_addresses = f->ifs[1].n_addresses = 2;
	bin(&f->routes[0].destination, zero, 4);
	bin(&f->routes[0].gateway, v4_gw, 4);
	bin(&f->routes[1].destination, zero, 16);
	bin(&f->routes[1].gateway, v6_gw, 16);
	f->n.interfaces = f->ifp;
	f->n.n_interfaces = 1;
	f->n.routes = f->rtp;
	f->n.n_routes = 2;
	*state = f;
	must_run("ip link add " VETH " type veth peer name " PEER " && "
		 "ip link set " VETH " address 02:6b:78:00:00:00 && ip link set " PEER " up");
	return 0;
}

static int teardown(void **state)
{
	struct net_fix *f = *state;

	if (skip_reason)
		return 0;
	if (setns(test_ns, CLONE_NEWNET) < 0)
		fail_msg("back to the test's network namespace: %s", strerror(errno));
	/* the peer takes the device with it, wherever it is */
	run("ip link del " PEER " 2>/dev/null");
	if (f->netns >= 0)
		close(f->netns);
	test_free(f);
	return 0;
}

#define SKIP_UNLESS_ABLE()                                                 \
	do {                                                               \
		if (skip_reason) {                                         \
			print_message("skipped: %s\n", skip_reason);       \
			skip();                                            \
		}                                                          \
	} while (0)

/* `ip -j ARGS` in the current namespace, parsed; NULL if ip failed. */
static json_object *ip_json(const char *args)
{
	char cmd[256], buf[65536];
	size_t n = 0, r;
	json_object *j;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ip -j %s 2>/dev/null", args);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (n < sizeof(buf) - 1 && (r = fread(buf + n, 1, sizeof(buf) - 1 - n, p)) > 0)
		n += r;
	buf[n] = '\0';
	if (pclose(p) != 0)
		return NULL;
	j = json_tokener_parse(buf);
	assert_non_null(j);
	return j;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static bool has_flag(json_object *link, const char *flag)
{
	json_object *flags;

	if (!json_object_object_get_ex(link, "flags", &flags))
		return false;
	for (size_t i = 0; i < json_object_array_length(flags); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(flags, i)), flag))
			return true;
	return false;
}

/* addr_info entry of address a, or NULL */
static json_object *find_addr(json_object *link, const char *a, int prefix)
{
	json_object *ai, *e, *pl;

	if (!json_object_object_get_ex(link, "addr_info", &ai))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(ai); i++) {
		e = json_object_array_get_idx(ai, i);
		if (!strcmp(str(e, "local"), a) && json_object_object_get_ex(e, "prefixlen", &pl) &&
		    json_object_get_int(pl) == prefix)
			return e;
	}
	return NULL;
}

static void check_route(const char *args, const char *gw)
{
	json_object *j = ip_json(args), *r;

	assert_non_null(j);
	if (json_object_array_length(j) != 1)
		fail_msg("ip %s: %s", args, json_object_to_json_string(j));
	r = json_object_array_get_idx(j, 0);
	assert_string_equal(str(r, "gateway"), gw);
	assert_string_equal(str(r, "dev"), "eth0");
	assert_string_equal(str(r, "protocol"), "boot");
	json_object_put(j);
}

/* The veth is in the test's namespace, under its own name. */
static void check_veth_home(void)
{
	json_object *j = ip_json("link show dev " VETH);

	if (!j)
		fail_msg("%s is not back in the test's network namespace", VETH);
	json_object_put(j);
}

static void test_lo_up(void **state)
{
	json_object *j;

	SKIP_UNLESS_ABLE();
	j = ip_json("link show dev lo");
	assert_non_null(j);
	assert_true(has_flag(json_object_array_get_idx(j, 0), "UP"));
	json_object_put(j);
}

/* f->netns holds eth0 as the fixture asks (MAC, MTU, up, addresses, routes) and lo up. */
static void check_configured(struct net_fix *f)
{
	json_object *j, *link, *a6 = NULL, *tentative;

	assert_int_equal(setns(f->netns, CLONE_NEWNET), 0);
	j = ip_json("link show dev lo");
	assert_non_null(j);
	assert_true(has_flag(json_object_array_get_idx(j, 0), "UP"));
	json_object_put(j);

	/* DAD is off, but the flag is cleared by a work item: give it a moment */
	for (int i = 0;; i++) {
		j = ip_json("addr show dev eth0");
		assert_non_null(j);
		link = json_object_array_get_idx(j, 0);
		a6 = find_addr(link, "fd00:213::2", 64);
		if (i == 50 || !a6 || !json_object_object_get_ex(a6, "tentative", &tentative))
			break;
		json_object_put(j);
		usleep(10000);
	}
	assert_string_equal(str(link, "address"), MAC);
	assert_int_equal(json_object_get_int(json_object_object_get(link, "mtu")), 1400);
	assert_true(has_flag(link, "UP"));
	assert_non_null(find_addr(link, "10.213.0.2", 24));
	assert_non_null(a6);
	assert_false(json_object_object_get_ex(a6, "tentative", &tentative));
	json_object_put(j);
	check_route("-d -4 route show default", "10.213.0.1");
	check_route("-d -6 route show default", "fd00:213::1");
	assert_int_equal(setns(test_ns, CLONE_NEWNET), 0);
}

static void test_setup(void **state)
{
	struct net_fix *f = *state;

	SKIP_UNLESS_ABLE();
	if (net_setup(&f->n, &f->netns, f->msg, sizeof(f->msg)))
		fail_msg("net_setup: %s", f->msg);
	assert_true(f->netns >= 0);
	assert_true(in_test_ns());
	assert_null(ip_json("link show dev " VETH));	/* moved */

	check_configured(f);
}

static void test_device_missing(void **state)
{
	struct net_fix *f = *state;
	int64_t t0;

	SKIP_UNLESS_ABLE();
	f->n.n_interfaces = 2;
	net_link_wait_ms = 100;
	t0 = now_ms();
	assert_int_equal(net_setup(&f->n, &f->netns, f->msg, sizeof(f->msg)), -1);
	assert_true(now_ms() - t0 < 1000);
	net_link_wait_ms = 2000;
	print_message("net_setup: %s\n", f->msg);
	assert_non_null(strstr(f->msg, "interface eth1: no network device with MAC "
				       "02:6b:78:00:00:07"));
	assert_int_equal(f->netns, -1);
	assert_true(in_test_ns());
	check_veth_home();
}

/* A failure once the device is in: it comes back, named as it was. */
static void test_failure_after_move(void **state)
{
	struct net_fix *f = *state;
	const char *want = "interface eth0: add address 10.213.0.2/24: File exists";

	SKIP_UNLESS_ABLE();
	f->ifs[0].n_addresses = 3;	/* 10.213.0.2/24 twice */
	assert_int_equal(net_setup(&f->n, &f->netns, f->msg, sizeof(f->msg)), -1);
	print_message("net_setup: %s\n", f->msg);
	if (strncmp(f->msg, want, strlen(want)))
		fail_msg("expected \"%s\", got \"%s\"", want, f->msg);
	assert_int_equal(f->netns, -1);
	assert_true(in_test_ns());
	check_veth_home();
}

static void test_route_failure(void **state)
{
	static const uint8_t dst[4] = { 10, 99, 0, 0 }, gw[4] = { 10, 98, 0, 1 };
	struct net_fix *f = *state;
	const char *want = "route 10.99.0.0/16 via 10.98.0.1 dev eth0 metric 7: add: ";

	SKIP_UNLESS_ABLE();
	bin(&f->routes[2].destination, dst, 4);
	f->routes[2].prefix_len = 16;
	bin(&f->routes[2].gateway, gw, 4);	/* not on any link */
	f->routes[2].metric = 7;
	f->n.n_routes = 3;
	assert_int_equal(net_setup(&f->n, &f->netns, f->msg, sizeof(f->msg)), -1);
	print_message("net_setup: %s\n", f->msg);
	if (strncmp(f->msg, want, strlen(want)))
		fail_msg("expected \"%s...\", got \"%s\"", want, f->msg);
	assert_true(in_test_ns());
	check_veth_home();
}

/* kx_net_check comes first: nothing is touched. */
static void test_check_first(void **state)
{
	struct net_fix *f = *state;

	SKIP_UNLESS_ABLE();
	f->ifs[0].mtu = 0;
	assert_int_equal(net_setup(&f->n, &f->netns, f->msg, sizeof(f->msg)), -1);
	assert_non_null(strstr(f->msg, "interfaces[0].mtu"));
	assert_int_equal(f->netns, -1);
	check_veth_home();
}

/* Twice in a row from one agent: the first namespace does not get in the way. */
static void test_two_namespaces(void **state)
{
	struct net_fix *f = *state;
	int first;

	SKIP_UNLESS_ABLE();
	if (net_setup(&f->n, &f->netns, f->msg, sizeof(f->msg)))
		fail_msg("net_setup: %s", f->msg);
	first = f->netns;
	f->netns = -1;
	must_run("ip link add kxtv2 type veth peer name kxtv3 && "
		 "ip link set kxtv2 address 02:6b:78:00:00:01");
	kx_net_device_mac(1, f->dev_mac[0]);
	if (net_setup(&f->n, &f->netns, f->msg, sizeof(f->msg)))
		fail_msg("net_setup: %s", f->msg);
	assert_true(in_test_ns());
	close(first);
	run("ip link del kxtv3 2>/dev/null");
}

/* net_prepare moves the device into a namespace made ahead; net_setup takes it as it is. */
static void test_prepared(void **state)
{
	struct net_fix *f = *state;
	json_object *j;

	SKIP_UNLESS_ABLE();
	assert_int_equal(net_prepare(), 0);
	assert_null(ip_json("link show dev " VETH));	/* waiting elsewhere */
	j = ip_json("link show dev " PEER);	/* not a device of the host's: stays */
	assert_non_null(j);
	json_object_put(j);
	if (net_setup(&f->n, &f->netns, f->msg, sizeof(f->msg)))
		fail_msg("net_setup: %s", f->msg);
	assert_true(in_test_ns());
	check_configured(f);
	/* taken: the next net_setup makes its own namespace (nothing to move here now) */
	assert_int_equal(net_prepare(), 0);
}

/* A failure in the prepared namespace: the device comes back, named as it was. */
static void test_prepared_failure(void **state)
{
	struct net_fix *f = *state;

	SKIP_UNLESS_ABLE();
	assert_int_equal(net_prepare(), 0);
	f->ifs[0].n_addresses = 3;	/* 10.213.0.2/24 twice */
	assert_int_equal(net_setup(&f->n, &f->netns, f->msg, sizeof(f->msg)), -1);
	assert_non_null(strstr(f->msg, "interface eth0: add address 10.213.0.2/24: File exists"));
	assert_int_equal(f->netns, -1);
	assert_true(in_test_ns());
	check_veth_home();
	/*
	 * and the usual way works after it; a veth has no permanent MAC, so
	 * it is found by the one the failed setup gave it (a VM's device keeps
	 * its own)
	 */
	must_run("ip link set " VETH " address 02:6b:78:00:00:00");
	f->ifs[0].n_addresses = 2;
	if (net_setup(&f->n, &f->netns, f->msg, sizeof(f->msg)))
		fail_msg("net_setup: %s", f->msg);
	check_configured(f);
}

/* An empty network (ctr run --cni at create), then AddNetwork takes the waiting device. */
static void test_prepared_add(void **state)
{
	struct net_fix *f = *state;
	Katasbx__Agent__V1__Network empty = KATASBX__AGENT__V1__NETWORK__INIT;
	json_object *j;

	SKIP_UNLESS_ABLE();
	assert_int_equal(net_prepare(), 0);
	if (net_setup(&empty, &f->netns, f->msg, sizeof(f->msg)))
		fail_msg("net_setup (empty): %s", f->msg);
	assert_int_equal(setns(f->netns, CLONE_NEWNET), 0);
	j = ip_json("link show");
	assert_non_null(j);
	assert_int_equal(json_object_array_length(j), 1);	/* lo only */
	json_object_put(j);
	assert_int_equal(setns(test_ns, CLONE_NEWNET), 0);
	if (net_add(&f->n, f->netns, f->msg, sizeof(f->msg)))
		fail_msg("net_add: %s", f->msg);
	assert_true(in_test_ns());
	check_configured(f);
	assert_null(ip_json("link show dev " VETH));
}

/* AddNetwork for a container without a network: into the agent's own namespace. */
static void test_prepared_add_here(void **state)
{
	struct net_fix *f = *state;

	SKIP_UNLESS_ABLE();
	assert_int_equal(net_prepare(), 0);
	assert_null(ip_json("link show dev " VETH));
	if (net_add(&f->n, -1, f->msg, sizeof(f->msg)))
		fail_msg("net_add: %s", f->msg);
	assert_true(in_test_ns());
	f->netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	check_configured(f);
}

static int group_setup(void **state)
{
	if (!skip_reason && net_init() < 0)
		skip_reason = "net_init failed";
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lo_up),
		cmocka_unit_test_setup_teardown(test_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_after_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_namespaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepared_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepared_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepared_add_here, setup, teardown),
	};
	struct stat st;

	if (geteuid() != 0)
		skip_reason = "needs root: a network namespace and veth devices of its own";
	else if (unshare(CLONE_NEWNET) < 0)
		skip_reason = "unshare(CLONE_NEWNET) failed";
	else if (run("ip -V >/dev/null 2>&1"))
		skip_reason = "no ip(8) to make and inspect the veth";
	if (!skip_reason) {
		test_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (test_ns < 0 || fstat(test_ns, &st) < 0)
			skip_reason = "open /proc/self/ns/net failed";
		else
			test_ns_ino = st.st_ino;
	}
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
