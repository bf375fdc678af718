// SPDX-License-Identifier: GPL-2.0
/* pool: keep warm VMs ready for this root's sandboxes */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net/netcheck.h"
#include "pool.h"
#include "runtime.h"

int cmd_pool(struct kx_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "interfaces", required_argument, NULL, 'i' },
		{ 0 }
	};
	unsigned long size = 2, nics = 0;
	struct kx_err err;
	char *end;
	int c;

	while ((c = getopt_cmd(argc, argv, "+s:i:", opts)) != -1) {
		switch (c) {
		case 's':
			size = strtoul(optarg, &end, 10);
			if (*end || !*optarg || size < 1 || size > KX_POOL_SIZE_MAX)
				return fail("pool --size \"%s\": use 1 to %d", optarg,
					    KX_POOL_SIZE_MAX);
			break;
		case 'i':
			nics = strtoul(optarg, &end, 10);
			if (*end || !*optarg || nics > KX_NET_MAX_IFACES)
				return fail("pool --interfaces \"%s\": use 0 to %d", optarg,
					    KX_NET_MAX_IFACES);
			break;
		default:
			return 1;
		}
	}
	if (optind != argc)
		return fail("usage: pool [--size N] [--interfaces N]");
	if (kx_config_find_guest(cfg, &err))
		return fail("%s", err.msg);
	if (kx_pool_keep(cfg, (unsigned int)size, (unsigned int)nics, &err))
		return fail("pool: %s", err.msg);
	return 0;
}
