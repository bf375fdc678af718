// SPDX-License-Identifier: GPL-2.0
/* template create|list|destroy */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "runtime.h"
#include "state.h"
#include "template.h"

static void template_dir(const struct kx_config *cfg, char *buf, size_t len)
{
	if (cfg->template_dir[0])
		snprintf(buf, len, "%s", cfg->template_dir);
	else
		kx_template_dir(buf, len, cfg->root);
}

static int tpl_create(struct kx_config *cfg, const char *dir)
{
	struct kx_vm_config vc;
	struct kx_template t;
	struct kx_err err;

	if (kx_config_find_guest(cfg, &err) || kx_vm_config_from(cfg, &vc, &err))
		return fail("%s", err.msg);
	if (kx_template_get(dir, &vc, cfg->boot_timeout_ms, &t, &err))
		return fail("%s", err.msg);
	printf("%s %s\n", t.key, t.made ? "made" : "exists");
	return 0;
}

static json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static int tpl_list(const char *dir)
{
	size_t i, n;
	char **keys = kx_template_list(dir, &n);

	printf("%-18s %-8s %-6s %-6s %-22s %s\n", "KEY", "MEMORY", "VCPUS", "ACCEL", "CREATED",
	       "KERNEL");
	for (i = 0; i < n; i++) {
		char *meta = kx_template_meta(dir, keys[i]);
		json_object *o = meta ? json_tokener_parse(meta) : NULL;

		if (!o) {
			printf("%-18s (incomplete)\n", keys[i]);
		} else {
			printf("%-18s %-8s %-6d %-6s %-22s %s\n", keys[i],
			       json_object_get_string(field(o, "memory_mib")),
			       json_object_get_int(field(o, "vcpus")),
			       json_object_get_string(field(o, "accel")),
			       json_object_get_string(field(o, "created")),
			       json_object_get_string(field(o, "kernel")));
		}
		json_object_put(o);
		free(meta);
	}
	kx_strv_free(keys);
	return 0;
}

static int tpl_destroy(const char *dir, int argc, char **argv)
{
	struct kx_err err;
	int i, ret = 0;

	if (argc == 1 && !strcmp(argv[0], "--all")) {
		size_t j, n;
		char **keys = kx_template_list(dir, &n);

		for (j = 0; j < n; j++)
			if (kx_template_destroy(dir, keys[j], &err))
				ret = fail("%s", err.msg);
		kx_strv_free(keys);
		return ret;
	}
	if (argc < 1)
		return fail("usage: template destroy KEY... | --all");
	for (i = 0; i < argc; i++)
		if (kx_template_destroy(dir, argv[i], &err))
			ret = fail("%s", err.msg);
	return ret;
}

int cmd_template(struct kx_config *cfg, int argc, char **argv)
{
	char dir[4096];

	template_dir(cfg, dir, sizeof(dir));
	if (argc >= 2 && !strcmp(argv[1], "create") && argc == 2)
		return tpl_create(cfg, dir);
	if (argc == 2 && !strcmp(argv[1], "list"))
		return tpl_list(dir);
	if (argc >= 2 && !strcmp(argv[1], "destroy"))
		return tpl_destroy(dir, argc - 2, argv + 2);
	return fail("usage: template create | list | destroy KEY... | destroy --all");
}
