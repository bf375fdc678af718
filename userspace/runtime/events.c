// SPDX-License-Identifier: GPL-2.0
/*
 * events: runc's command. With --stats, the container's stats once, as runc
 * prints them on a cgroup v2 host ({"type":"stats","id":..,"data":{..}});
 * without, a stats event every --interval (Go's duration syntax, 5s by
 * default) and an {"type":"oom"} event when the OOM killer has ended one of
 * its processes, until the container stops. The numbers are the container's
 * cgroup in the guest (the agent's StatsContainer).
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "placement.h"
#include "runtime.h"
#include "state.h"

/* how often the loop looks for an OOM kill between two stats events */
#define OOM_POLL_NS 1000000000ull

/* Go's time.ParseDuration: [-+]?(N[.N]UNIT)+ or "0"; -1 when it is not one. */
static int parse_duration(const char *s, long double *ns)
{
	static const struct { const char *u; long double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3L }, { "\xc2\xb5s", 1e3L }, { "\xce\xbcs", 1e3L },
		{ "ms", 1e6L }, { "s", 1e9L }, { "m", 60e9L }, { "h", 3600e9L },
	};
	int sign = 1;

	*ns = 0;
	if (*s == '-' || *s == '+')
		sign = *s++ == '-' ? -1 : 1;
	if (!strcmp(s, "0"))
		return 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		long double v;
		size_t i, best = 0, blen = 0;

		if (!((*s >= '0' && *s <= '9') || (*s == '.' && s[1] >= '0' && s[1] <= '9')))
			return -1;
		v = strtold(s, &end);
		s = end;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);

			if (!strncmp(s, units[i].u, l) && l > blen)
				best = i, blen = l;
		}
		if (!blen)
			return -1;
		*ns += v * units[best].ns;
		s += blen;
	}
	*ns *= sign;
	return 0;
}

static json_object *entry(uint64_t lim, uint64_t usage, uint64_t max, uint64_t failcnt)
{
	json_object *o = json_object_new_object();

	/* runc's MemoryEntry: usage and max are omitted when 0 */
	json_object_object_add(o, "limit", json_object_new_uint64(lim));
	if (usage)
		json_object_object_add(o, "usage", json_object_new_uint64(usage));
	if (max)
		json_object_object_add(o, "max", json_object_new_uint64(max));
	json_object_object_add(o, "failcnt", json_object_new_uint64(failcnt));
	return o;
}

static void add_nonzero(json_object *o, const char *key, uint64_t v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_uint64(v));
}

/*
 * runc's types.Stats of a cgroup v2 container: CPU times in nanoseconds, the
 * swap entry memory and swap together (runc's v1-compatible sum), limits of
 * "max" as MaxUint64 but the pids limit, which runc gives as 0.
 */
static json_object *stats_json(const Katasbx__Agent__V1__StatsContainerResponse *r)
{
	json_object *d = json_object_new_object(), *cpu = json_object_new_object();
	json_object *usage = json_object_new_object(), *thr = json_object_new_object();
	json_object *mem = json_object_new_object(), *raw = json_object_new_object();
	json_object *pids = json_object_new_object();
	uint64_t file = 0;

	add_nonzero(usage, "total", r->cpu_usage_usec * 1000);
	json_object_object_add(usage, "kernel", json_object_new_uint64(r->cpu_system_usec * 1000));
	json_object_object_add(usage, "user", json_object_new_uint64(r->cpu_user_usec * 1000));
	add_nonzero(thr, "periods", r->cpu_nr_periods);
	add_nonzero(thr, "throttledPeriods", r->cpu_nr_throttled);
	add_nonzero(thr, "throttledTime", r->cpu_throttled_usec * 1000);
	json_object_object_add(cpu, "usage", usage);
	json_object_object_add(cpu, "throttling", thr);
	json_object_object_add(d, "cpu", cpu);
	json_object_object_add(d, "cpuset", json_object_new_object());

	for (size_t i = 0; i < r->n_memory_stat; i++) {
		json_object_object_add(raw, r->memory_stat[i]->key,
				       json_object_new_uint64(r->memory_stat[i]->value));
		if (!strcmp(r->memory_stat[i]->key, "file"))
			file = r->memory_stat[i]->value;
	}
	add_nonzero(mem, "cache", file);
	json_object_object_add(mem, "usage", entry(kx_stats_limit(r->memory_max), r->memory_current,
						   r->memory_peak, r->memory_events_max));
	json_object_object_add(mem, "swap",
			       entry(r->memory_max && r->swap_max ? r->memory_max + r->swap_max :
				     UINT64_MAX, r->memory_current + r->swap_current, 0, 0));
	json_object_object_add(mem, "raw", raw);
	json_object_object_add(d, "memory", mem);

	add_nonzero(pids, "current", r->pids_current);
	add_nonzero(pids, "limit", r->pids_max);
	json_object_object_add(d, "pids", pids);
	json_object_object_add(d, "blkio", json_object_new_object());
	json_object_object_add(d, "hugetlb", json_object_new_object());
	json_object_object_add(d, "intel_rdt", json_object_new_object());
	json_object_object_add(d, "network_interfaces", NULL);
	return d;
}

static void add_known(json_object *o, const char *key, int64_t v)
{
	if (v >= 0)
		json_object_object_add(o, key, json_object_new_int64(v));
}

/*
 * Beside runc's fields, the sandbox's host cgroup (placement.h): what the
 * VM costs on the host, QEMU and the monitor, not only the guest's view.
 */
static json_object *with_host(struct kx_config *cfg, const char *id, json_object *d)
{
	json_object *h, *mem, *cpu, *pids;
	struct kx_hostcg_usage u;
	struct kx_hostcg cg;
	struct kx_err err;

	if (kx_placement_cgroup(cfg->root, id, &cg, &err))
		return d;
	kx_hostcg_usage(&cg, &u);
	h = json_object_new_object();
	mem = json_object_new_object();
	cpu = json_object_new_object();
	pids = json_object_new_object();
	json_object_object_add(h, "cgroup", json_object_new_string(cg.inner));
	add_known(mem, "usage", u.memory);
	add_known(mem, "max", u.memory_max);
	add_known(mem, "limit", u.memory_limit);
	add_known(cpu, "usage", u.cpu_ns);
	add_known(pids, "current", u.pids);
	json_object_object_add(h, "memory", mem);
	json_object_object_add(h, "cpu", cpu);
	json_object_object_add(h, "pids", pids);
	json_object_object_add(d, "sandbox_host", h);
	return d;
}

/* One event line on stdout; -1 when stdout is gone (a closed pipe ends the loop). */
static int emit(const char *type, const char *id, json_object *data)
{
	json_object *e = json_object_new_object();
	int ret;

	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_object_add(e, "id", json_object_new_string(id));
	if (data)
		json_object_object_add(e, "data", data);
	ret = printf("%s\n", json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(e);
	return ret < 0 || fflush(stdout) ? -1 : 0;
}

static Katasbx__Agent__V1__StatsContainerResponse *get_stats(struct kx_config *cfg,
							      const char *id, struct kx_err *err)
{
	/* no container_id: the monitor's own container */
	Katasbx__Monitor__V1__ContainerRequest req = KATASBX__MONITOR__V1__CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__StatsContainerResponse *r = NULL;

	if (kx_monitor_call_resp(cfg->root, id, "Stats", &req.base,
				 &katasbx__agent__v1__stats_container_response__descriptor,
				 (ProtobufCMessage **)&r, 30000, err))
		return NULL;
	return r;
}

/* The container's status now; KX_STATUS_STOPPED once it is gone too. */
static enum kx_status status_of(struct kx_config *cfg, const char *id, struct kx_err *err)
{
	struct kx_state st;
	enum kx_status s;

	if (kx_state_read(cfg->root, id, &st, err))
		return KX_STATUS_STOPPED;
	s = kx_state_effective(&st);
	kx_state_clear(&st);
	return s;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int cmd_events(struct kx_config *cfg, int argc, char **argv)
{
	enum { O_INTERVAL = 256, O_STATS };
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "stats", no_argument, NULL, O_STATS },
		{ 0 }
	};
	Katasbx__Agent__V1__StatsContainerResponse *r;
	const char *interval = "5s", *id;
	uint64_t every, oom_kills = 0;
	bool once = false, first = true;
	struct kx_state st;
	struct kx_err err;
	enum kx_status s;
	long double ns;
	int c;

	while ((c = getopt_cmd(argc, argv, "+", opts)) != -1) {
		if (c == O_INTERVAL)
			interval = optarg;
		else if (c == O_STATS)
			once = true;
		else
			return 1;
	}
	if (optind != argc - 1)
		return fail("\"events\" requires exactly 1 argument(s)");
	id = argv[optind];
	if (parse_duration(interval, &ns))
		return fail("events: invalid value \"%s\" for flag --interval: a duration such as "
			    "5s, 500ms or 1m30s", interval);
	if (ns <= 0)
		return fail("events: duration interval must be greater than 0");
	every = ns < 1e6L ? 1000000 : ns > 1e18L ? 1000000000000000000ull : (uint64_t)ns;
	if (kx_state_read(cfg->root, id, &st, &err))
		return fail("%s", err.msg);
	s = kx_state_effective(&st);
	kx_state_clear(&st);
	if (!kx_status_live(s))
		return fail("container with id %s is not running", id);
	if (once) {
		if (!(r = get_stats(cfg, id, &err)))
			return fail("events %s: %s", id, err.msg);
		c = emit("stats", id, with_host(cfg, id, stats_json(r)));
		katasbx__agent__v1__stats_container_response__free_unpacked(r, NULL);
		return c ? fail("events: stdout: %m") : 0;
	}
	/*
	 * The loop: stats at every interval, the OOM-kill count looked at more
	 * often; a paused VM answers nothing and is waited out; a stopped or
	 * deleted container ends it.
	 */
	for (uint64_t next = now_ns();;) {
		uint64_t t;

		s = status_of(cfg, id, &err);
		if (!kx_status_live(s))
			return 0;
		t = now_ns();
		if (s != KX_STATUS_PAUSED && (r = get_stats(cfg, id, &err))) {
			if (!first && r->oom_kill > oom_kills && emit("oom", id, NULL))
				break;
			oom_kills = r->oom_kill;
			first = false;
			if (t >= next) {
				if (emit("stats", id, with_host(cfg, id, stats_json(r))))
					break;
				while (next <= t)
					next += every;
			}
			katasbx__agent__v1__stats_container_response__free_unpacked(r, NULL);
			r = NULL;
		} else if (s != KX_STATUS_PAUSED) {
			kx_debug("events %s: %s", id, err.msg);
		}
		t = now_ns();
		sleep_ns(next > t && next - t < OOM_POLL_NS ? next - t : OOM_POLL_NS);
	}
	if (r)
		katasbx__agent__v1__stats_container_response__free_unpacked(r, NULL);
	return fail("events: stdout: %m");
}
