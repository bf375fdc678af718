// SPDX-License-Identifier: GPL-2.0
/*
 * The rest of config.json's "linux" object and process's kernel settings:
 * sysctl (namespaced ones only, runc's rules and words), devices (nodes made
 * in the container), oomScoreAdj; and what the runtime does not apply, each
 * refused (user namespaces: running without one would give the container
 * more than it asked for) or warned about (security labels the guest has no
 * module for, propagation to a host a VM does not share mounts with).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "oci.h"
#include "oci_json.h"

/* runc's rule: a sysctl must be of a namespace the container has of its own */
static const char *sysctl_refused(const char *key, unsigned int ns, char *why, size_t len)
{
	static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
					   "kernel.sem", "kernel.shmall", "kernel.shmmax",
					   "kernel.shmmni", "kernel.shm_rmid_forced" };
	bool is_ipc = !strncmp(key, "fs.mqueue.", 10);

	for (size_t i = 0; i < sizeof(ipc) / sizeof(ipc[0]); i++)
		is_ipc = is_ipc || !strcmp(key, ipc[i]);
	if (strchr(key, '/') || strstr(key, "..") || key[0] == '.' || !key[0])
		snprintf(why, len, "sysctl \"%s\": not a sysctl name", key);
	else if (is_ipc)
		return ns & KX_NS_IPC ? NULL :
		       (snprintf(why, len, "sysctl \"%s\" is not allowed in the hosts ipc namespace",
				 key), why);
	else if (!strncmp(key, "net.", 4))
		return ns & KX_NS_NET ? NULL :
		       (snprintf(why, len, "sysctl \"%s\" is not allowed in the hosts network "
				 "namespace", key), why);
	else if ((ns & KX_NS_UTS) && !strcmp(key, "kernel.domainname"))
		return NULL;
	else if ((ns & KX_NS_UTS) && !strcmp(key, "kernel.hostname"))
		snprintf(why, len, "sysctl \"%s\" is not allowed as it conflicts with the OCI "
			 "\"hostname\" field", key);
	else
		snprintf(why, len, "sysctl \"%s\" is not in a separate kernel namespace", key);
	return why;
}

static int parse_sysctl(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	static const char *const p = "linux.sysctl";
	size_t n, i = 0;

	if (oj_want(v, json_type_object, p, err))
		return -1;
	n = json_object_object_length(v);
	spec->sysctls = calloc(n ? n : 1, sizeof(*spec->sysctls));
	if (!spec->sysctls)
		return kx_error(err, ENOMEM, "config.json: %s", p);
	json_object_object_foreach(v, key, val) {
		Katasbx__Agent__V1__Sysctl *s;
		char path[PATH_BUF], why[300];

		oj_join(path, p, key);
		if (sysctl_refused(key, spec->ns_types, why, sizeof(why)))
			return oj_field_error(err, path, "%s", why);
		s = malloc(sizeof(*s));
		if (!s)
			return kx_error(err, ENOMEM, "config.json: %s", path);
		katasbx__agent__v1__sysctl__init(s);
		spec->sysctls[i++] = s;
		spec->n_sysctls = i;
		if (!(s->key = strdup(key)))
			return kx_error(err, ENOMEM, "config.json: %s", path);
		if (!val)
			return oj_field_error(err, path, "must be a string");
		if (oj_dup_string(val, path, &s->value, err))
			return -1;
	}
	return 0;
}

static int parse_device(json_object *e, const char *elem, Katasbx__Agent__V1__Device *d,
			struct kx_err *err)
{
	static const char *const nums[] = { "major", "minor" };
	char path[PATH_BUF];
	json_object *f;
	uint64_t u;

	if (oj_want(e, json_type_object, elem, err) || oj_req_string(e, elem, "path", &d->path, err) ||
	    oj_req_string(e, elem, "type", &d->type, err))
		return -1;
	if (d->path[0] != '/' || !strcmp(d->path, "/"))
		return oj_field_error(err, oj_join(path, elem, "path"), "\"%s\" is not an absolute path "
				      "of a file", d->path);
	if (strcmp(d->type, "c") && strcmp(d->type, "b") && strcmp(d->type, "u") &&
	    strcmp(d->type, "p"))
		return oj_field_error(err, oj_join(path, elem, "type"), "\"%s\" is not one of c, b, "
				      "u, p", d->type);
	for (int i = 0; i < 2; i++) {
		oj_join(path, elem, nums[i]);
		if (!(f = oj_member(e, nums[i]))) {
			if (strcmp(d->type, "p"))
				return oj_field_error(err, path, "is required for type \"%s\"", d->type);
			continue;
		}
		if (oj_get_u64(f, path, 0xfffff, &u, err))
			return -1;
		*(i ? &d->minor : &d->major) = (int64_t)u;
	}
	d->file_mode = 0666;
	oj_join(path, elem, "fileMode");
	if ((f = oj_member(e, "fileMode")) && oj_get_u32(f, path, &d->file_mode, err))
		return -1;
	if (d->file_mode > 07777)
		return oj_field_error(err, path, "must be permission bits (at most 07777)");
	if (((f = oj_member(e, "uid")) && oj_get_u32(f, oj_join(path, elem, "uid"), &d->uid, err)) ||
	    ((f = oj_member(e, "gid")) && oj_get_u32(f, oj_join(path, elem, "gid"), &d->gid, err)))
		return -1;
	return 0;
}

/* linux.uidMappings or gidMappings (key): {containerID, hostID, size} each, at most 340 */
static int parse_mappings(json_object *v, const char *key, Katasbx__Agent__V1__IdMapping ***out,
			  size_t *n_out, struct kx_err *err)
{
	static const char *const fields[] = { "containerID", "hostID", "size" };
	char p[PATH_BUF];
	size_t n;

	oj_join(p, "linux", key);
	if (oj_want(v, json_type_array, p, err))
		return -1;
	n = json_object_array_length(v);
	if (n > 340)	/* the kernel's limit of lines in a map */
		return oj_field_error(err, p, "more than 340 mappings");
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return kx_error(err, ENOMEM, "config.json: %s", p);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i), *f;
		Katasbx__Agent__V1__IdMapping *m;
		char elem[PATH_BUF], path[PATH_BUF];
		uint32_t val[3];

		oj_indexed(elem, p, i);
		if (oj_want(e, json_type_object, elem, err))
			return -1;
		for (int k = 0; k < 3; k++) {
			oj_join(path, elem, fields[k]);
			if (!(f = oj_member(e, fields[k])))
				return oj_field_error(err, path, "is required");
			if (oj_get_u32(f, path, &val[k], err))
				return -1;
		}
		if (!val[2] || (uint64_t)val[0] + val[2] > 1ull << 32 ||
		    (uint64_t)val[1] + val[2] > 1ull << 32)
			return oj_field_error(err, oj_join(path, elem, "size"),
					      "%u ids from %u, as %u on, do not fit", val[2],
					      val[0], val[1]);
		if (!(m = malloc(sizeof(*m))))
			return kx_error(err, ENOMEM, "config.json: %s", p);
		katasbx__agent__v1__id_mapping__init(m);
		m->container_id = val[0];
		m->host_id = val[1];
		m->size = val[2];
		(*out)[(*n_out)++] = m;
	}
	return 0;
}

static int parse_devices(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	static const char *const p = "linux.devices";
	size_t n;

	if (oj_want(v, json_type_array, p, err))
		return -1;
	n = json_object_array_length(v);
	if (n > 256)
		return oj_field_error(err, p, "more than 256 devices");
	spec->devices = calloc(n ? n : 1, sizeof(*spec->devices));
	if (!spec->devices)
		return kx_error(err, ENOMEM, "config.json: %s", p);
	for (size_t i = 0; i < n; i++) {
		char elem[PATH_BUF];

		spec->devices[i] = malloc(sizeof(*spec->devices[i]));
		if (!spec->devices[i])
			return kx_error(err, ENOMEM, "config.json: %s", p);
		katasbx__agent__v1__device__init(spec->devices[i]);
		spec->n_devices++;
		if (parse_device(json_object_array_get_idx(v, i), oj_indexed(elem, p, i),
				 spec->devices[i], err))
			return -1;
	}
	return 0;
}

int oj_parse_process_extra(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	static const char *const labels[] = { "apparmorProfile", "selinuxLabel", NULL };
	Katasbx__Agent__V1__Process *p = spec->process;
	json_object *f;

	if ((f = oj_member(v, "oomScoreAdj"))) {
		int64_t adj;

		if (!json_object_is_type(f, json_type_int))
			return oj_field_error(err, "process.oomScoreAdj", "must be an integer");
		adj = json_object_get_int64(f);
		if (adj < -1000 || adj > 1000)
			return oj_field_error(err, "process.oomScoreAdj", "must be -1000 to 1000");
		p->has_oom_score_adj = true;
		p->oom_score_adj = (int32_t)adj;
	}
	for (const char *const *k = labels; *k; k++) {
		char path[PATH_BUF];

		if ((f = oj_member(v, *k)) && json_object_is_type(f, json_type_string) &&
		    json_object_get_string_len(f))
			oj_warn(spec, oj_join(path, "process", *k),
				"not applied (the guest kernel has no security module for it)");
	}
	return 0;
}

int oj_parse_linux_extra(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	static const char *const warned[] = { "mountLabel", "intelRdt", "personality",
					      "timeOffsets", NULL };
	static const char *const propagations[] = { "private", "rprivate", "slave", "rslave",
						    "shared", "rshared", "unbindable",
						    "runbindable", NULL };
	cleanup_free char *prop = NULL;
	json_object *f;

	/* after namespaces: a sysctl needs its namespace */
	if (((f = oj_member(v, "sysctl")) && parse_sysctl(f, spec, err)) ||
	    ((f = oj_member(v, "devices")) && parse_devices(f, spec, err)))
		return -1;
	/* runc's rules and words for a user namespace and its maps */
	if (((f = oj_member(v, "uidMappings")) &&
	     parse_mappings(f, "uidMappings", &spec->uid_mappings, &spec->n_uid_mappings, err)) ||
	    ((f = oj_member(v, "gidMappings")) &&
	     parse_mappings(f, "gidMappings", &spec->gid_mappings, &spec->n_gid_mappings, err)))
		return -1;
	if (spec->ns_types & KX_NS_USER) {
		if (spec->ns_paths & KX_NS_USER)
			return oj_field_error(err, "linux.namespaces", "a \"user\" namespace by "
					      "path: joining one is not supported");
		if (!spec->n_uid_mappings)
			return oj_field_error(err, "linux.uidMappings", "user namespaces enabled, "
					      "but no uid mappings found");
		if (!spec->n_gid_mappings)
			return oj_field_error(err, "linux.gidMappings", "user namespaces enabled, "
					      "but no gid mappings found");
		if (spec->n_devices)
			return oj_field_error(err, "linux.devices", "not supported with a user "
					      "namespace (its root cannot make device nodes)");
		if (!(spec->ns_types & KX_NS_NET) || !(spec->ns_types & KX_NS_PID))
			return oj_field_error(err, "linux.namespaces", "a user namespace needs the "
					      "container's own pid and network namespaces here");
	} else if (spec->n_uid_mappings || spec->n_gid_mappings) {
		/* runc takes them and makes no user namespace: so here, said */
		oj_warn(spec, spec->n_uid_mappings ? "linux.uidMappings" : "linux.gidMappings",
			"not applied: linux.namespaces has no \"user\" namespace");
	}
	if (spec->ns_types & KX_NS_TIME)
		oj_warn(spec, "linux.namespaces", "a \"time\" namespace is not made (the container "
			"has the guest's clocks)");
	if (oj_opt_string(v, "linux", "rootfsPropagation", &prop, err))
		return -1;
	if (prop) {
		size_t i;

		for (i = 0; propagations[i]; i++)
			if (!strcmp(prop, propagations[i]))
				break;
		if (!propagations[i])
			return oj_field_error(err, "linux.rootfsPropagation", "\"%s\" is not one of "
					      "private, slave, shared, unbindable or their r forms",
					      prop);
		/* the guest's mounts are the guest's: only the private kinds hold as written */
		if (strstr(prop, "shared") || strstr(prop, "slave"))
			oj_warn(spec, "linux.rootfsPropagation", "\"%s\" not applied (a VM shares "
				"no mounts with the host): private", prop);
	}
	for (const char *const *k = warned; *k; k++) {
		char path[PATH_BUF];

		if (oj_member(v, *k))
			oj_warn(spec, oj_join(path, "linux", *k), "not applied");
	}
	return 0;
}

void oj_free_linux_extra(struct kx_spec *spec)
{
	for (size_t i = 0; i < spec->n_sysctls; i++)
		katasbx__agent__v1__sysctl__free_unpacked(spec->sysctls[i], NULL);
	free(spec->sysctls);
	for (size_t i = 0; i < spec->n_devices; i++)
		katasbx__agent__v1__device__free_unpacked(spec->devices[i], NULL);
	free(spec->devices);
	for (size_t i = 0; i < spec->n_uid_mappings; i++)
		katasbx__agent__v1__id_mapping__free_unpacked(spec->uid_mappings[i], NULL);
	for (size_t i = 0; i < spec->n_gid_mappings; i++)
		katasbx__agent__v1__id_mapping__free_unpacked(spec->gid_mappings[i], NULL);
	free(spec->uid_mappings);
	free(spec->gid_mappings);
	spec->uid_mappings = spec->gid_mappings = NULL;
	spec->n_uid_mappings = spec->n_gid_mappings = 0;
	spec->sysctls = NULL;
	spec->devices = NULL;
	spec->n_sysctls = spec->n_devices = 0;
}
