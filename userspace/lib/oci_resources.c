// SPDX-License-Identifier: GPL-2.0
/*
 * linux.resources to cgroup v2 writes for the container's cgroup in the
 * guest, converted as runc converts them on a cgroup v2 host (memory.max,
 * memory.low, memory.swap.max as swap minus limit, cpu.weight from shares,
 * cpu.max, cpuset.*, pids.max, unified as is). What a VM cannot apply (the
 * host's block devices, v1-only knobs) is a warning; a wrong value an error
 * naming the field. The same conversion serves updates (runc update,
 * containerd's Update), where a cpu period alone keeps the quota.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cgfile.h"
#include "oci.h"
#include "oci_json.h"

struct writes {
	Katasbx__Agent__V1__CgroupWrite ***w;
	size_t *n;
	char *warnings;		/* oj_warn_in's buffer */
	size_t warnings_size;
	const char *root;	/* "linux.resources", or "" for an update's own document */
	bool update;
	struct kx_hostcg_limits *host;	/* what the host cgroup takes of them, or NULL */
};

static int add(struct writes *ws, const char *file, const char *value, const char *field,
	       struct kx_err *err)
{
	Katasbx__Agent__V1__CgroupWrite *w, **nw;

	nw = realloc(*ws->w, (*ws->n + 1) * sizeof(*nw));
	if (!nw)
		return kx_error(err, ENOMEM, "%s", field);
	*ws->w = nw;
	w = malloc(sizeof(*w));
	if (!w)
		return kx_error(err, ENOMEM, "%s", field);
	katasbx__agent__v1__cgroup_write__init(w);
	nw[(*ws->n)++] = w;
	w->file = strdup(file);
	w->value = strdup(value);
	w->field = strdup(field);
	if (!w->file || !w->value || !w->field)
		return kx_error(err, ENOMEM, "%s", field);
	return 0;
}

/* An integer member: *set false when absent. Doubles and strings are errors. */
static int get_int(json_object *o, const char *parent, const char *key, int64_t *out,
		   bool *set, char *path, struct kx_err *err)
{
	json_object *v = oj_member(o, key);

	oj_join(path, parent, key);
	*set = false;
	if (!v)
		return 0;
	if (json_object_is_type(v, json_type_double))
		return oj_field_error(err, path, "must be an integer");
	if (oj_want(v, json_type_int, path, err))
		return -1;
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno || (*out == INT64_MAX && json_object_get_uint64(v) > INT64_MAX))
		return oj_field_error(err, path, "out of range");
	*set = true;
	return 0;
}

/* A limit: -1 is none ("max"), 0 is not set, else positive. */
static int get_limit(json_object *o, const char *parent, const char *key, int64_t *out,
		     char *path, struct kx_err *err)
{
	bool set;

	*out = 0;
	if (get_int(o, parent, key, out, &set, path, err))
		return -1;
	if (set && *out < -1)
		return oj_field_error(err, path, "must be -1 (no limit) or above");
	return 0;
}

static void limit_str(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%" PRId64, v);
}

/* Members that cannot be applied in a VM: each one set is a warning. */
static void not_applied(json_object *o, const char *parent, const char *const *keys,
			const char *why, struct writes *ws)
{
	char path[PATH_BUF];

	for (; *keys; keys++)
		if (oj_member(o, *keys))
			oj_warn_in(ws->warnings, ws->warnings_size, oj_join(path, parent, *keys),
				   "not applied (%s)", why);
}

static int memory(json_object *v, struct writes *ws, struct kx_err *err)
{
	static const char *const v1_only[] = { "kernel", "kernelTCP", "swappiness",
					       "disableOOMKiller", NULL };
	char p[PATH_BUF], path[PATH_BUF], val[32];
	int64_t limit, low, swap;

	oj_join(p, ws->root, "memory");
	if (oj_want(v, json_type_object, p, err) ||
	    get_limit(v, p, "limit", &limit, path, err) ||
	    (limit && (limit_str(val, sizeof(val), limit), add(ws, "memory.max", val, path, err))) ||
	    get_limit(v, p, "reservation", &low, path, err) ||
	    (low && (limit_str(val, sizeof(val), low), add(ws, "memory.low", val, path, err))) ||
	    get_limit(v, p, "swap", &swap, path, err))
		return -1;
	if (ws->host)
		ws->host->memory = limit;
	/* runc: swap is memory+swap; cgroup v2 limits swap alone; no memory limit, no swap's */
	if (swap == -1 || (limit == -1 && !swap)) {
		if (add(ws, "memory.swap.max", "max", path, err))
			return -1;
	} else if (swap) {
		if (limit <= 0)
			return oj_field_error(err, path, "unable to set swap limit without memory limit");
		if (swap < limit)
			return oj_field_error(err, path, "memory+swap limit (%" PRId64 ") should be "
					      ">= memory limit (%" PRId64 ")", swap, limit);
		limit_str(val, sizeof(val), swap - limit);
		if (add(ws, "memory.swap.max", val, path, err))
			return -1;
	}
	not_applied(v, p, v1_only, "cgroup v1 only", ws);
	return 0;
}

static int cpu(json_object *v, struct writes *ws, struct kx_err *err)
{
	static const char *const v1_only[] = { "realtimeRuntime", "realtimePeriod", NULL };
	static const struct { const char *key, *file; } sets[] = {
		{ "cpus", "cpuset.cpus" }, { "mems", "cpuset.mems" },
	};
	char p[PATH_BUF], path[PATH_BUF], val[64];
	int64_t shares, quota, period;
	bool has_shares, has_period;
	json_object *f;

	oj_join(p, ws->root, "cpu");
	if (oj_want(v, json_type_object, p, err) ||
	    get_int(v, p, "shares", &shares, &has_shares, path, err))
		return -1;
	if (has_shares && shares) {
		if (shares < 2 || shares > 262144)
			return oj_field_error(err, path, "must be 2 to 262144");
		/* runc's conversion: [2, 262144] onto cgroup v2's [1, 10000] */
		snprintf(val, sizeof(val), "%" PRIu64, 1 + ((uint64_t)shares - 2) * 9999 / 262142);
		if (add(ws, "cpu.weight", val, path, err))
			return -1;
		if (ws->host)
			ws->host->cpu_shares = (uint64_t)shares;
	}
	if (get_limit(v, p, "quota", &quota, path, err) ||
	    get_int(v, p, "period", &period, &has_period, path, err))
		return -1;
	if (has_period && (period < 0 || (period && (period < 1000 || period > 1000000))))
		return oj_field_error(err, path, "must be 1000 to 1000000 (microseconds)");
	if (!has_period)
		period = 0;
	if (ws->host) {
		ws->host->cpu_quota = quota;
		ws->host->cpu_period = (uint64_t)period;
	}
	if (quota || period) {
		int n = quota > 0 ? snprintf(val, sizeof(val), "%" PRId64, quota) :
				    snprintf(val, sizeof(val), "max");

		if (period)
			snprintf(val + n, sizeof(val) - n, " %" PRId64, period);
		if (add(ws, "cpu.max", val, oj_join(path, p, quota ? "quota" : "period"), err))
			return -1;
		/* runc update: a period alone leaves the quota as it was */
		(*ws->w)[*ws->n - 1]->keep_quota = ws->update && !quota;
	}
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		cleanup_free char *s = NULL;

		if (!(f = oj_member(v, sets[i].key)))
			continue;
		if (oj_dup_string(f, oj_join(path, p, sets[i].key), &s, err))
			return -1;
		if (*s && (strspn(s, "0123456789,-") != strlen(s)))
			return oj_field_error(err, path, "\"%s\" is not a list of numbers and ranges", s);
		if (*s && add(ws, sets[i].file, s, path, err))
			return -1;
		if (ws->host)
			snprintf(i ? ws->host->mems : ws->host->cpus, sizeof(ws->host->cpus), "%s",
				 s);
	}
	not_applied(v, p, v1_only, "cgroup v1 only", ws);
	return 0;
}

static int pids(json_object *v, struct writes *ws, struct kx_err *err)
{
	char p[PATH_BUF], path[PATH_BUF], val[32];
	int64_t limit;
	bool set;

	oj_join(p, ws->root, "pids");
	if (oj_want(v, json_type_object, p, err) || get_int(v, p, "limit", &limit, &set, path, err))
		return -1;
	/* runc: 0 leaves it, negative is no limit */
	if (!set || !limit)
		return 0;
	limit_str(val, sizeof(val), limit);
	return add(ws, "pids.max", val, path, err);
}

static int unified(json_object *v, struct writes *ws, struct kx_err *err)
{
	char p[PATH_BUF];

	oj_join(p, ws->root, "unified");
	if (oj_want(v, json_type_object, p, err))
		return -1;
	json_object_object_foreach(v, key, val) {
		char path[PATH_BUF];
		cleanup_free char *s = NULL;

		oj_join(path, p, key);
		if (!kx_cgroup_file_ok(key))
			return oj_field_error(err, path, "not a file of the memory, cpu, cpuset or "
					      "pids controller");
		if (!val || oj_dup_string(val, path, &s, err))
			return val ? -1 : oj_field_error(err, path, "must be a string");
		if (add(ws, key, s, path, err))
			return -1;
	}
	return 0;
}

/*
 * The devices the guest gives every container (runc allows the same ones by
 * default): a rule for them, or denying all, holds already.
 */
static bool default_device(const char *type, int64_t major, int64_t minor)
{
	static const struct { int major, minor; } devs[] = {
		{ 1, 3 }, { 1, 5 }, { 1, 7 }, { 1, 8 }, { 1, 9 }, { 5, 0 }, { 5, 1 }, { 5, 2 },
		{ 136, -1 }, { 10, 200 },
	};

	if (strcmp(type, "c"))
		return false;
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		if (major == devs[i].major && (devs[i].minor < 0 || minor == devs[i].minor))
			return true;
	return false;
}

static int devices(json_object *v, struct writes *ws, struct kx_err *err)
{
	char p[PATH_BUF];
	size_t n;

	oj_join(p, ws->root, "devices");
	if (oj_want(v, json_type_array, p, err))
		return -1;
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		char elem[PATH_BUF], path[PATH_BUF];
		cleanup_free char *type = NULL, *access = NULL;
		int64_t major = -1, minor = -1;
		bool allow = false, set;	/* get_int leaves an absent one -1 */

		oj_indexed(elem, p, i);
		if (oj_want(e, json_type_object, elem, err) ||
		    oj_opt_bool(e, elem, "allow", &allow, err) ||
		    oj_opt_string(e, elem, "type", &type, err) ||
		    oj_opt_string(e, elem, "access", &access, err) ||
		    get_int(e, elem, "major", &major, &set, path, err) ||
		    get_int(e, elem, "minor", &minor, &set, path, err))
			return -1;
		if (!oj_member(e, "allow"))
			return oj_field_error(err, oj_join(path, elem, "allow"), "is required");
		if (!allow && (!type || !strcmp(type, "a")) && !oj_member(e, "major"))
			continue;	/* deny all: the guest's devices are all there is */
		/* containerd's defaults: the default devices, and mknod ("m") of any */
		if (allow && type && (default_device(type, major, minor) ||
				      (access && !strcmp(access, "m"))))
			continue;
		oj_warn_in(ws->warnings, ws->warnings_size, elem,
			   "not applied (the container has the guest's default devices only)");
	}
	return 0;
}

static int parse(json_object *v, struct writes *ws, struct kx_err *err)
{
	static const char *const vm_not[] = { "blockIO", "hugepageLimits", "network", "rdma",
					      NULL };
	json_object *f;

	if (oj_want(v, json_type_object, *ws->root ? ws->root : "resources", err))
		return -1;
	if (((f = oj_member(v, "memory")) && memory(f, ws, err)) ||
	    ((f = oj_member(v, "cpu")) && cpu(f, ws, err)) ||
	    ((f = oj_member(v, "pids")) && pids(f, ws, err)) ||
	    ((f = oj_member(v, "unified")) && unified(f, ws, err)) ||
	    ((f = oj_member(v, "devices")) && devices(f, ws, err)))
		return -1;
	not_applied(v, ws->root, vm_not, "the guest's devices and network are not the host's", ws);
	return 0;
}

int oj_parse_resources(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	struct writes ws = { &spec->cgroup, &spec->n_cgroup, spec->warnings,
			     sizeof(spec->warnings), "linux.resources", false,
			     &spec->host_limits };

	return v ? parse(v, &ws, err) : 0;
}

void kx_cgroup_writes_free(Katasbx__Agent__V1__CgroupWrite **w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		katasbx__agent__v1__cgroup_write__free_unpacked(w[i], NULL);
	free(w);
}

int kx_resources_update(const char *json_text, const char *doc,
			Katasbx__Agent__V1__CgroupWrite ***w, size_t *n, char *warnings,
			size_t warnings_size, struct kx_err *err)
{
	return kx_resources_update_host(json_text, doc, w, n, NULL, warnings, warnings_size,
					err);
}

int kx_resources_update_host(const char *json_text, const char *doc,
			     Katasbx__Agent__V1__CgroupWrite ***w, size_t *n,
			     struct kx_hostcg_limits *host, char *warnings, size_t warnings_size,
			     struct kx_err *err)
{
	struct writes ws = { w, n, warnings, warnings_size, "", true, host };
	enum json_tokener_error jerr;
	json_object *v;
	const char *was;
	int ret;

	*w = NULL;
	*n = 0;
	if (host)
		memset(host, 0, sizeof(*host));
	if (warnings_size)
		warnings[0] = 0;
	v = json_tokener_parse_verbose(json_text, &jerr);
	if (!v)
		return kx_error(err, 0, "%s: %s", doc, jerr == json_tokener_success ?
				"must be an object" : json_tokener_error_desc(jerr));
	was = oj_doc(doc);
	ret = parse(v, &ws, err);
	oj_doc(was);
	json_object_put(v);
	if (ret) {
		kx_cgroup_writes_free(*w, *n);
		*w = NULL;
		*n = 0;
	}
	return ret;
}
