// SPDX-License-Identifier: GPL-2.0
/*
 * containerd-shim-katasbx-v2 [-namespace NS] [-address A] [-publish-binary B]
 *                            [-id ID] [-bundle DIR] [-debug] start|delete
 * containerd-shim-katasbx-v2 [-namespace NS] [-debug] monitor ...: a task's
 * monitor, which the shim execs (task.c).
 * Flags take one or two dashes, as Go's flag package does.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "shim.h"

static const char *flag_value(const char *arg, const char *name)
{
	if (arg[0] != '-')
		return NULL;
	arg += arg[1] == '-' ? 2 : 1;
	return strcmp(arg, name) ? NULL : arg;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "namespace", "address", "publish-binary", "id",
					     "bundle", "socket" };
	struct shim_opts o = { .namespace = "default", .address = "", .publish_binary = "",
			       .id = "", .bundle = "" };
	const char **slots[] = { &o.namespace, &o.address, &o.publish_binary, &o.id,
				 &o.bundle, NULL };
	const char *cmd = NULL, *socket_unused = NULL;
	int i, j;

	slots[5] = &socket_unused;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		bool known = false;

		if (a[0] != '-') {
			cmd = a;
			break;
		}
		if (flag_value(a, "debug") || flag_value(a, "debug=true")) {
			o.debug = true;
			continue;
		}
		if (flag_value(a, "v") || flag_value(a, "version")) {
			printf("containerd-shim-katasbx-v2\n");
			return 0;
		}
		eq = strchr(a, '=');
		for (j = 0; j < (int)(sizeof(names) / sizeof(names[0])); j++) {
			size_t len = strlen(names[j]);
			const char *n = a + (a[1] == '-' ? 2 : 1);

			if (strncmp(n, names[j], len))
				continue;
			if (eq && n + len == eq) {
				*slots[j] = eq + 1;
				known = true;
			} else if (!n[len] && i + 1 < argc) {
				*slots[j] = argv[++i];
				known = true;
			}
			break;
		}
		if (!known) {
			fprintf(stderr, "containerd-shim-katasbx-v2: unknown flag %s\n", a);
			return 2;
		}
	}
	kx_log_open(NULL, false, o.debug);
	kx_log_set_name("containerd-shim-katasbx-v2");
	if (cmd && !strcmp(cmd, "start"))
		return shim_cmd_start(&o);
	if (cmd && !strcmp(cmd, "delete"))
		return shim_cmd_delete(&o);
	if (cmd && !strcmp(cmd, "monitor"))
		return shim_cmd_monitor(&o, argc - i - 1, argv + i + 1);
	fprintf(stderr, "usage: containerd-shim-katasbx-v2 -namespace NS -address A "
			"-publish-binary B -id ID [-debug] start|delete\n");
	return 2;
}
