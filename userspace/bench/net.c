// SPDX-License-Identifier: GPL-2.0
/*
 * The -net modes' network, made once per bench run before the timed runs:
 * two namespaces named from the bench's pid, kb<pid>-near (the sandboxes':
 * eth0 10.216.0.2/24, default route via 10.216.0.1) and kb<pid>-far (the
 * veth peer, 10.216.0.1/24), as CNI's bridge or ptp plugin would leave a
 * pod's. The addresses exist only inside these namespaces: nothing leaves
 * the machine. The runtime wires eth0 to a tap at create and unwires it at
 * delete, so the runs, one after the other, share the namespace.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define IP_TIMEOUT_S 30

/* ip of iproute2: PATH first, then where Debian puts it (a user's PATH may lack sbin) */
bool kb_net_available(struct kb_ctx *c, char *why, size_t whylen)
{
	static const char *fallback[] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };
	const char *env = getenv("PATH");
	char *dirs, *d, *save = NULL;

	if (c->ip[0])
		return true;
	dirs = strdup(env ? env : "");
	for (d = dirs ? strtok_r(dirs, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
		snprintf(c->ip, sizeof(c->ip), "%s/ip", d);
		if (access(c->ip, X_OK) == 0)
			break;
		c->ip[0] = 0;
	}
	free(dirs);
	for (size_t i = 0; !c->ip[0] && i < sizeof(fallback) / sizeof(fallback[0]); i++)
		if (access(fallback[i], X_OK) == 0)
			snprintf(c->ip, sizeof(c->ip), "%s", fallback[i]);
	if (!c->ip[0])
		snprintf(why, whylen, "ip (iproute2) not found (Debian package iproute2)");
	return c->ip[0] != 0;
}

/*
 * ip ARGS..., no shell (the names come from the pid, but a command line
 * should not be parsed twice); its last stderr line in why if it fails.
 */
static int ip(struct kb_ctx *c, char *why, size_t whylen, ...)
{
	char *argv[16], errf[400], line[300], cmd[300], how[32];
	struct kb_result r;
	va_list ap;
	size_t a = 0, k = 0;
	int rc, e;

	argv[a++] = c->ip;
	va_start(ap, whylen);
	while (a < sizeof(argv) / sizeof(argv[0]) - 1 && (argv[a] = va_arg(ap, char *)))
		a++;
	va_end(ap);
	argv[a] = NULL;
	snprintf(errf, sizeof(errf), "%s/ip.err", c->logs);
	rc = kb_spawn(argv, NULL, errf, IP_TIMEOUT_S, &r);
	e = errno;
	if (rc == 0 && r.status == 0) {
		unlink(errf);
		return 0;
	}
	kb_last_line(errf, line, sizeof(line));
	unlink(errf);
	cmd[0] = 0;
	for (size_t i = 1; i < a && k < sizeof(cmd); i++)
		k += snprintf(cmd + k, sizeof(cmd) - k, "%s%s", i > 1 ? " " : "", argv[i]);
	if (r.timed_out)
		snprintf(how, sizeof(how), "timed out after %d s", IP_TIMEOUT_S);
	else if (rc)
		snprintf(how, sizeof(how), "fork: %s", strerror(e));
	else
		snprintf(how, sizeof(how), "exit status %d", r.status);
	snprintf(why, whylen, "ip %s: %s%s%s", cmd, how, line[0] ? ": " : "", line);
	return -1;
}

int kb_net_setup(struct kb_ctx *c, char *why, size_t whylen)
{
	char *near = c->net_near, *far = c->net_far;

	if (!kb_net_available(c, why, whylen))
		return -1;
	snprintf(near, sizeof(c->net_near), "kb%d-near", (int)getpid());
	snprintf(far, sizeof(c->net_far), "kb%d-far", (int)getpid());
	/* each made flag only once its add succeeded: a name ip refused is not ours */
	if (ip(c, why, whylen, "netns", "add", near, NULL))
		return -1;
	c->near_made = true;
	if (ip(c, why, whylen, "netns", "add", far, NULL))
		return -1;
	c->far_made = true;
	if (ip(c, why, whylen, "-n", near, "link", "add", "eth0", "type", "veth", "peer", "name",
	       "peer0", "netns", far, NULL) ||
	    ip(c, why, whylen, "-n", near, "addr", "add", KB_NET_ADDR, "dev", "eth0", NULL) ||
	    ip(c, why, whylen, "-n", far, "addr", "add", KB_NET_PEER, "dev", "peer0", NULL) ||
	    ip(c, why, whylen, "-n", near, "link", "set", "lo", "up", NULL) ||
	    ip(c, why, whylen, "-n", far, "link", "set", "lo", "up", NULL) ||
	    ip(c, why, whylen, "-n", near, "link", "set", "eth0", "up", NULL) ||
	    ip(c, why, whylen, "-n", far, "link", "set", "peer0", "up", NULL) ||
	    ip(c, why, whylen, "-n", near, "route", "add", "default", "via", KB_NET_GW, NULL))
		return -1;
	return 0;
}

/*
 * The -net modes' namespaces and bundle, once, untimed, when one of them is
 * to run; if they cannot be made, those modes are unavailable with the reason.
 */
void kb_net_prepare(struct kb_ctx *c, struct kb_mode *modes, size_t nm)
{
	char why[256] = "", path[64];
	bool want = false;

	for (size_t m = 0; m < nm; m++)
		want = want || (modes[m].net && modes[m].available);
	if (!want)
		return;
	if (kb_net_setup(c, why, sizeof(why)) == 0) {
		snprintf(path, sizeof(path), "/run/netns/%s", c->net_near);
		if (kb_make_bundle(c->net_bundle, "\"echo\", \"hello\"", path) == 0)
			return;
		snprintf(why, sizeof(why), "cannot make the busybox bundle %s", c->net_bundle);
	}
	for (size_t m = 0; m < nm; m++)
		if (modes[m].net && modes[m].available) {
			modes[m].available = false;
			snprintf(modes[m].why, sizeof(modes[m].why), "%s", why);
		}
}

/*
 * What a sandbox takes of the namespace (a tap beside eth0, an ingress qdisc
 * and its filter on eth0) it gives back at delete, so that the next run
 * finds what the first did. The links are what a leak would show first (and
 * a tap left over would fail the next create): lo and eth0, nothing else.
 */
bool kb_net_intact(struct kb_ctx *c, char *why, size_t whylen)
{
	char *argv[] = { c->ip, "-n", c->net_near, "-o", "link", "show", NULL };
	char *out = kb_capture(argv, NULL), *line, *save = NULL, extra[200] = "";
	bool lo = false, eth0 = false;
	size_t k = 0;

	if (!out) {
		snprintf(why, whylen, "ip -n %s link show: %s", c->net_near, strerror(errno));
		return false;
	}
	/* "1: lo: <LOOPBACK,UP,LOWER_UP> mtu ...", "2: eth0@if2: <...> ..." */
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *name = strstr(line, ": ");
		size_t len;

		if (!name)
			continue;
		name += 2;
		len = strcspn(name, ":@");
		if (len == 2 && !strncmp(name, "lo", 2))
			lo = true;
		else if (len == 4 && !strncmp(name, "eth0", 4))
			eth0 = true;
		else if (k < sizeof(extra))
			k += snprintf(extra + k, sizeof(extra) - k, " %.*s", (int)len, name);
	}
	free(out);
	if (lo && eth0 && !extra[0])
		return true;
	snprintf(why, whylen, "after delete, namespace %s holds%s%s%s (it held lo and eth0)",
		 c->net_near, extra[0] ? extra : "", !lo ? ", no lo" : "", !eth0 ? ", no eth0" : "");
	return false;
}

/*
 * At exit, after every sandbox is deleted. Removing the names is enough: the
 * veth pair goes with the namespaces, once no process holds them.
 */
void kb_net_remove(struct kb_ctx *c)
{
	char why[400];

	if (c->near_made && ip(c, why, sizeof(why), "netns", "del", c->net_near, NULL))
		fprintf(stderr, "katasbx-bench: %s\n", why);
	if (c->far_made && ip(c, why, sizeof(why), "netns", "del", c->net_far, NULL))
		fprintf(stderr, "katasbx-bench: %s\n", why);
	c->near_made = c->far_made = false;
}
