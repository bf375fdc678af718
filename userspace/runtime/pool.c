// SPDX-License-Identifier: GPL-2.0
/* pool: keep warm VMs ready for this root's sandboxes */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pool.h"
#include "runtime.h"

int cmd_pool(struct kx_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ 0 }
	};
	unsigned long size = 2;
	struct kx_err err;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "+s:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			size = strtoul(optarg, &end, 10);
			if (*end || !*optarg || size < 1 || size > KX_POOL_SIZE_MAX)
				return fail("pool --size \"%s\": use 1 to %d", optarg,
					    KX_POOL_SIZE_MAX);
			break;
		default:
			return 1;
		}
	}
	if (optind != argc)
		return fail("usage: pool [--size N]");
	if (kx_config_find_guest(cfg, &err))
		return fail("%s", err.msg);
	if (kx_pool_keep(cfg, (unsigned int)size, &err))
		return fail("pool: %s", err.msg);
	return 0;
}
