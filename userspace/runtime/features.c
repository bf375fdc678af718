// SPDX-License-Identifier: GPL-2.0
/*
 * features: runc 1.1's JSON of what the runtime takes (the OCI runtime
 * features document), made from the tables the parser and the agent use, so
 * that it says what this build does.
 */
#include <json-c/json.h>
#include <seccomp.h>
#include <stdio.h>

#include "commit.h"
#include "mountopt.h"
#include "oci.h"
#include "runtime.h"

static json_object *strings(const char *const *v)
{
	json_object *a = json_object_new_array();

	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static json_object *enabled(bool on)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "enabled", json_object_new_boolean(on));
	return o;
}

int cmd_features(struct kx_config *cfg, int argc, char **argv)
{
	json_object *top, *a, *lx, *o;
	char version[32];

	(void)cfg;
	(void)argv;
	if (argc != 1)
		return fail("usage: features");
	top = json_object_new_object();
	json_object_object_add(top, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(top, "ociVersionMax", json_object_new_string(KX_OCI_VERSION));
	a = json_object_new_array();
	for (int k = 0; k < KX_HOOK_KINDS; k++)
		json_object_array_add(a, json_object_new_string(kx_hook_kind_name(k)));
	json_object_object_add(top, "hooks", a);
	a = json_object_new_array();
	for (size_t i = 0; i < kx_n_mount_opts; i++)
		json_object_array_add(a, json_object_new_string(kx_mount_opts[i].name));
	json_object_object_add(top, "mountOptions", a);

	lx = json_object_new_object();
	a = json_object_new_array();
	for (const struct kx_ns_type *t = kx_ns_types; t->type; t++)
		if (t->applied)
			json_object_array_add(a, json_object_new_string(t->type));
	json_object_object_add(lx, "namespaces", a);
	a = json_object_new_array();
	for (int c = 0; kx_cap_name(c); c++)
		json_object_array_add(a, json_object_new_string(kx_cap_name(c)));
	json_object_object_add(lx, "capabilities", a);
	/*
	 * the sandbox's host cgroup on v1, hybrid and v2 hosts (hostcg.h); the
	 * container's own is in the guest, which has cgroup v2 alone
	 */
	o = json_object_new_object();
	json_object_object_add(o, "v1", json_object_new_boolean(true));
	json_object_object_add(o, "v2", json_object_new_boolean(true));
	json_object_object_add(o, "systemd", json_object_new_boolean(false));
	json_object_object_add(o, "systemdUser", json_object_new_boolean(false));
	json_object_object_add(lx, "cgroup", o);
	o = enabled(true);
	json_object_object_add(o, "actions", strings(kx_seccomp_actions));
	json_object_object_add(o, "operators", strings(kx_seccomp_operators));
	json_object_object_add(o, "archs", strings(kx_seccomp_archs));
	json_object_object_add(lx, "seccomp", o);
	/* the guest kernel has no security module for profiles or labels */
	json_object_object_add(lx, "apparmor", enabled(false));
	json_object_object_add(lx, "selinux", enabled(false));
	json_object_object_add(top, "linux", lx);

	o = json_object_new_object();
	/* the agent is built against the same libseccomp headers */
	snprintf(version, sizeof(version), "%d.%d.%d", SCMP_VER_MAJOR, SCMP_VER_MINOR,
		 SCMP_VER_MICRO);
	json_object_object_add(o, "io.github.seccomp.libseccomp.version",
			       json_object_new_string(version));
	json_object_object_add(o, "io.katasbx.runtime.version",
			       json_object_new_string(KX_VERSION));
	json_object_object_add(o, "io.katasbx.runtime.commit", json_object_new_string(KX_COMMIT));
	json_object_object_add(top, "annotations", o);

	printf("%s\n", json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_SPACED |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(top);
	return 0;
}
