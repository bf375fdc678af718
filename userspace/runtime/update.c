// SPDX-License-Identifier: GPL-2.0
/*
 * update: runc's command. New limits for a created or running container,
 * from runc's flags or a LinuxResources JSON (-r FILE, "-" for stdin, then
 * the flags are ignored, as runc does), converted as linux.resources is at
 * create and written into the container's cgroup in the guest.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "oci.h"
#include "placement.h"
#include "runtime.h"
#include "state.h"
#include "vmsize.h"

#define RESOURCES_MAX (1u << 20)

/*
 * A size as runc's flags take it (docker's RAMInBytes): a number, maybe with
 * a fraction, then k, m, g, t or p (powers of 1024), an optional "i" and "b",
 * any case; or -1 for no limit.
 */
static int ram_in_bytes(const char *s, int64_t *out)
{
	static const char units[] = "kmgtp";
	const char *p = s, *u;
	long double v;
	int shift = 0;

	if (!strcmp(s, "-1")) {
		*out = -1;
		return 0;
	}
	if (*p < '0' || *p > '9')
		return -1;
	while ((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9' && p > s))
		p++;
	v = strtold(s, NULL);
	if (*p == ' ')
		p++;
	if (*p && (u = strchr(units, *p | 0x20))) {
		shift = 10 * (int)(u - units + 1);
		p++;
	}
	if ((*p | 0x20) == 'i')
		p++;
	if ((*p | 0x20) == 'b')
		p++;
	if (*p)
		return -1;
	v = ldexpl(v, shift);
	if (v >= 9223372036854775807.0L)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* A whole number for a flag ("cpu-quota" may be negative, the others not). */
static int number(const char *s, bool sign, int64_t *out)
{
	char *end;

	errno = 0;
	if (!*s || (!sign && *s == '-'))
		return -1;
	*out = strtoll(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/* obj.key = v, making obj in top when it is not there yet */
static void put(json_object *top, const char *obj, const char *key, json_object *v)
{
	json_object *o;

	if (!json_object_object_get_ex(top, obj, &o)) {
		o = json_object_new_object();
		json_object_object_add(top, obj, o);
	}
	json_object_object_add(o, key, v);
}

/* The flags as a LinuxResources object; 1 after saying which flag is wrong. */
static int from_flags(const char *const *val, json_object *top)
{
	static const struct { const char *flag, *obj, *key; char kind; } f[] = {
		{ "memory", "memory", "limit", 'r' },
		{ "memory-reservation", "memory", "reservation", 'r' },
		{ "memory-swap", "memory", "swap", 'r' },
		{ "kernel-memory", "memory", "kernel", 'r' },
		{ "kernel-memory-tcp", "memory", "kernelTCP", 'r' },
		{ "cpu-share", "cpu", "shares", 'u' },
		{ "cpu-period", "cpu", "period", 'u' },
		{ "cpu-quota", "cpu", "quota", 'i' },
		{ "cpu-rt-period", "cpu", "realtimePeriod", 'u' },
		{ "cpu-rt-runtime", "cpu", "realtimeRuntime", 'i' },
		{ "cpuset-cpus", "cpu", "cpus", 's' },
		{ "cpuset-mems", "cpu", "mems", 's' },
		{ "blkio-weight", "blockIO", "weight", 'u' },
		{ "pids-limit", "pids", "limit", 'i' },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		const char *s = val[i];
		int64_t v;

		if (!s || !*s)
			continue;
		if (f[i].kind == 's') {
			put(top, f[i].obj, f[i].key, json_object_new_string(s));
			continue;
		}
		if (f[i].kind == 'r' ? ram_in_bytes(s, &v) : number(s, f[i].kind == 'i', &v))
			return fail("invalid value for %s: %s '%s'", f[i].flag,
				    f[i].kind == 'r' ? "invalid size:" : "not a whole number:", s);
		/* runc: 0 for these is "not given" */
		if (v || f[i].kind == 'r')
			put(top, f[i].obj, f[i].key, json_object_new_int64(v));
	}
	return 0;
}

int cmd_update(struct kx_config *cfg, int argc, char **argv)
{
	/* the long options' index in from_flags' table, then -r and the RDT ones */
	enum { N_VAL = 14, O_RES = 'r', O_L3 = 300, O_MBA };
	static const struct option opts[] = {
		{ "memory", required_argument, NULL, 256 + 0 },
		{ "memory-reservation", required_argument, NULL, 256 + 1 },
		{ "memory-swap", required_argument, NULL, 256 + 2 },
		{ "kernel-memory", required_argument, NULL, 256 + 3 },
		{ "kernel-memory-tcp", required_argument, NULL, 256 + 4 },
		{ "cpu-share", required_argument, NULL, 256 + 5 },
		{ "cpu-period", required_argument, NULL, 256 + 6 },
		{ "cpu-quota", required_argument, NULL, 256 + 7 },
		{ "cpu-rt-period", required_argument, NULL, 256 + 8 },
		{ "cpu-rt-runtime", required_argument, NULL, 256 + 9 },
		{ "cpuset-cpus", required_argument, NULL, 256 + 10 },
		{ "cpuset-mems", required_argument, NULL, 256 + 11 },
		{ "blkio-weight", required_argument, NULL, 256 + 12 },
		{ "pids-limit", required_argument, NULL, 256 + 13 },
		{ "resources", required_argument, NULL, O_RES },
		{ "l3-cache-schema", required_argument, NULL, O_L3 },
		{ "mem-bw-schema", required_argument, NULL, O_MBA },
		{ 0 }
	};
	Katasbx__Agent__V1__UpdateContainerRequest req =
		KATASBX__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
	const char *val[N_VAL] = { 0 }, *resources = NULL, *rdt = NULL, *doc;
	unsigned int mem_mib, vcpus;
	cleanup_free char *text = NULL;
	char warnings[1024];
	struct kx_hostcg_limits host;
	struct kx_state st;
	struct kx_err err;
	enum kx_status s;
	const char *id;
	int c, ret;

	while ((c = getopt_cmd(argc, argv, "r:", opts)) != -1) {
		if (c >= 256 && c < 256 + N_VAL)
			val[c - 256] = optarg;
		else if (c == O_RES)
			resources = optarg;
		else if (c == O_L3 || c == O_MBA)
			rdt = c == O_L3 ? "l3-cache-schema" : "mem-bw-schema";
		else
			return 1;
	}
	if (optind != argc - 1)
		return fail("\"update\" requires exactly 1 argument(s)");
	id = argv[optind];
	if (resources) {
		text = strcmp(resources, "-") ? kx_read_text_file(resources, RESOURCES_MAX, &err) :
						kx_read_text(0, "stdin", RESOURCES_MAX, &err);
		if (!text)
			return fail("update: %s", err.msg);
	} else {
		json_object *top = json_object_new_object();

		if (!top || from_flags(val, top)) {
			json_object_put(top);
			return top ? 1 : fail("update: out of memory");
		}
		text = strdup(json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN));
		json_object_put(top);
		if (!text)
			return fail("update: out of memory");
	}
	doc = !resources ? "update" : strcmp(resources, "-") ? resources : "stdin";
	if (kx_resources_update_host(text, doc, &req.writes, &req.n_writes, &host, warnings,
				     sizeof(warnings), &err))
		return fail("%s", err.msg);
	ret = 1;
	if (kx_state_read(cfg->root, id, &st, &err)) {
		fail("%s", err.msg);
		goto out;
	}
	s = kx_state_effective(&st);
	mem_mib = st.mem_mib;
	vcpus = st.vcpus;
	kx_state_clear(&st);
	if (!kx_status_live(s)) {
		/* runc's words */
		fail("cannot update container %s: container not running (it is %s)", id,
		     kx_status_name(s));
		goto out;
	}
	kx_warn_lines(warnings);
	/* the VM does not grow: a limit above it holds only as far as it goes */
	kx_vm_size_check(mem_mib, vcpus, doc, req.writes, req.n_writes, warnings, sizeof(warnings));
	kx_warn_lines(warnings);
	if (rdt)
		kx_warn("update: --%s: not applied (a VM has no Intel RDT of the host's)", rdt);
	if (kx_monitor_call(cfg->root, id, "Update", &req.base, &err)) {
		fail("update %s: %s", id, err.msg);
		goto out;
	}
	/* the sandbox's host cgroup follows: the container's limits plus the overhead */
	if (kx_placement_update(cfg, id, &host, &err)) {
		fail("update %s: %s", id, err.msg);
		goto out;
	}
	ret = 0;
out:
	kx_cgroup_writes_free(req.writes, req.n_writes);
	return ret;
}
