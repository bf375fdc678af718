// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's modules on demand (agent/modules.c): what the kernel asks
 * /sbin/modprobe for (a module's name, one of its aliases, a pattern of the
 * kernel's modules.alias) resolved to the files that load it, in order, from
 * an "aliases" and a "deps" file as mkguest.sh writes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/agent.h"

/* What modules.c takes from the rest of the agent. */
void log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void log_dbg(const char *fmt, ...)
{
}

size_t cmdline_module_params(const char *mod, char *out, size_t outlen)
{
	(void)mod;
	if (outlen)
		out[0] = '\0';
	return 0;
}

static char dir[] = "/tmp/katasbx-unit-modules.XXXXXX";

static void put(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	put("aliases", "fs-overlay overlay\n"
		       "rtnl-link-bridge bridge\n"
		       "net-pf-16-proto-12 nfnetlink\n"
		       "ipt_MASQUERADE xt_MASQUERADE\n"
		       "nft-chain-*-nat nft_chain_nat\n");
	put("deps", "bridge llc.ko stp.ko bridge.ko\n"
		    "br_netfilter llc.ko stp.ko bridge.ko br_netfilter.ko\n"
		    "overlay overlay.ko\n"
		    "nfnetlink nfnetlink.ko\n"
		    "xt_MASQUERADE nf_conntrack.ko nf_nat.ko xt_MASQUERADE.ko\n"
		    "nft_chain_nat nfnetlink.ko nf_tables.ko nft_chain_nat.ko\n"
		    "veth veth.ko\n");
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/aliases", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/deps", dir);
	unlink(path);
	return rmdir(dir);
}

static void expect(const char *want, int ret, const char *mod, const char *files)
{
	char m[128], f[512] = "";
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0);
	assert_int_equal(ondemand_files(fd, want, m, sizeof(m), f, sizeof(f)), ret);
	assert_string_equal(m, mod);
	if (!ret)
		assert_string_equal(f, files);
	close(fd);
}

static void test_names_and_aliases(void **state)
{
	(void)state;
	/* an alias, dependencies first */
	expect("rtnl-link-bridge", 0, "bridge", "llc.ko stp.ko bridge.ko");
	expect("fs-overlay", 0, "overlay", "overlay.ko");
	/* a dependency asked for by its own alias has a line of its own */
	expect("net-pf-16-proto-12", 0, "nfnetlink", "nfnetlink.ko");
	/* a module by its name, dashes as underscores as modprobe takes them */
	expect("veth", 0, "veth", "veth.ko");
	expect("br-netfilter", 0, "br_netfilter", "llc.ko stp.ko bridge.ko br_netfilter.ko");
	/* an old name of a module, and a pattern of modules.alias */
	expect("ipt_MASQUERADE", 0, "xt_MASQUERADE", "nf_conntrack.ko nf_nat.ko xt_MASQUERADE.ko");
	expect("nft-chain-2-nat", 0, "nft_chain_nat", "nfnetlink.ko nf_tables.ko nft_chain_nat.ko");
	/* not there */
	expect("rtnl-link-wireguard", ENOENT, "rtnl_link_wireguard", NULL);
	expect("", ENOENT, "", NULL);
}

static void test_files_too_long(void **state)
{
	char m[128], f[8];
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ondemand_files(fd, "bridge", m, sizeof(m), f, sizeof(f)), ENAMETOOLONG);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_aliases),
		cmocka_unit_test(test_files_too_long),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
