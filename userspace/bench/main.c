// SPDX-License-Identifier: GPL-2.0
/*
 * katasbx-bench: how long a busybox `echo` takes from `run` to exit in each
 * start mode of katasbx-runtime (cold boot, template clone, ...) and in runc,
 * interleaved; optionally the memory of idle sandboxes (--density) and the
 * start rate with concurrent starters (--rate). See Documentation/benchmark.md.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

volatile sig_atomic_t kb_stop;

/*
 * The -net modes are in the default: without ip (iproute2) or root they are
 * reported unavailable, with the reason, like clone-kmod without its device.
 */
static const char *all_modes = "cold,clone,clone-net,clone-kmod,warm,warm-net,runc,runc-net";
static const char *known_modes[] = { "cold", "clone", "clone-net", "clone-kmod", "warm",
				     "warm-net", "runc", "runc-net" };
#define N_KNOWN (sizeof(known_modes) / sizeof(known_modes[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"usage: katasbx-bench [options]\n"
		"  --modes LIST     comma-separated, of cold,clone,clone-net,clone-kmod,warm,warm-net,\n"
		"                   runc,runc-net (default: all); X-net: X with a veth in the sandbox's\n"
		"                   network namespace\n"
		"  -n N             iterations per mode, interleaved across modes (default 10)\n"
		"  --json FILE      write the results as JSON\n"
		"  --plot FILE.png  draw the latency distributions with gnuplot\n"
		"  --runtime PATH   katasbx-runtime to drive (default: next to this binary, else PATH)\n"
		"  --density N      also start N idle sandboxes and measure their memory (PSS)\n"
		"  --rate C         also measure sandboxes started per second with C concurrent starters\n"
		"  --rate-runs M    runs in total for --rate (default 4*C)\n"
		"  --throughput S   also measure iperf3 throughput, S seconds each way, from a VM\n"
		"                   and a runc container to the far side of a veth (0: off, default)\n"
		"  --timeout S      give up on one run after S seconds (default 120)\n"
		"  --keep           keep the temporary directory (bundles, logs, state)\n");
}

static void on_signal(int sig)
{
	(void)sig;
	kb_stop = 1;
}

static bool in_path(const char *name)
{
	const char *env = getenv("PATH");
	char *dirs, *d, *save = NULL, path[4096];
	bool found = false;

	dirs = strdup(env ? env : "/usr/bin:/bin");
	for (d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", d, name);
		found = access(path, X_OK) == 0;
	}
	free(dirs);
	return found;
}

static void default_runtime(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		char *slash;

		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, len, "%s/katasbx-runtime", self);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "katasbx-runtime");
}

int kb_runtime_argv(struct kb_ctx *c, const char *tmpl, bool warm, char **argv)
{
	return kb_runtime_argv_at(c, c->root, tmpl, warm, argv);
}

int kb_runtime_argv_at(struct kb_ctx *c, const char *root, const char *tmpl, bool warm,
		       char **argv)
{
	int a = 0;

	argv[a++] = c->runtime;
	if (tmpl) {
		argv[a++] = "--template";
		argv[a++] = (char *)tmpl;
	}
	if (c->warm_flag || warm) {
		argv[a++] = "--warm";
		argv[a++] = warm ? "on" : "off";
	}
	argv[a++] = "--root";
	argv[a++] = (char *)root;
	return a;
}

bool kb_vm_run(struct kb_ctx *c, const char *tmpl, bool warm, const char *id, const char *log,
	       struct kb_result *r, char *err, size_t errlen)
{
	return kb_vm_run_at(c, c->root, c->bundle, tmpl, warm, id, log, r, err, errlen);
}

bool kb_vm_run_at(struct kb_ctx *c, const char *root, const char *bundle, const char *tmpl,
		  bool warm, const char *id, const char *log, struct kb_result *r, char *err,
		  size_t errlen)
{
	struct kb_run s = { .root = root, .bundle = bundle, .tmpl = tmpl, .warm = warm, .id = id,
			    .log = log, .expect = "hello" };

	return kb_vm_run_spec(c, &s, r, err, errlen);
}

/* argv, space-separated, for the record of what was run */
static void join_argv(char *const argv[], char *buf, size_t len)
{
	size_t k = 0;

	buf[0] = 0;
	for (size_t i = 0; argv[i] && k < len; i++)
		k += snprintf(buf + k, len - k, "%s%s", i ? " " : "", argv[i]);
}

/*
 * After a run: stdout must hold s->expect (if any) and the exit status be 0;
 * else err says why, with the last line of stderr. The files go unless kept.
 */
static bool run_verdict(struct kb_ctx *c, const struct kb_run *s, const char *out,
			const char *errf, int timeout_s, struct kb_result *r, char *err, size_t errlen)
{
	char *o = kb_read_file(out, 65536), line[400];
	bool ok = r->status == 0 && (!s->expect || (o && strstr(o, s->expect)));

	if (!ok) {
		kb_last_line(errf, line, sizeof(line));
		if (r->timed_out)
			snprintf(err, errlen, "timed out after %d s%s%s", timeout_s,
				 line[0] ? ": " : "", line);
		else if (r->status != 0)
			snprintf(err, errlen, "exit status %d%s%s", r->status,
				 line[0] ? ": " : "", line);
		else
			snprintf(err, errlen, "exit status 0 but no \"%s\" on stdout", s->expect);
	}
	free(o);
	if (!c->keep) {
		if (!s->out)
			unlink(out);
		unlink(errf);
	}
	return ok;
}

bool kb_vm_run_spec(struct kb_ctx *c, const struct kb_run *s, struct kb_result *r, char *err,
		    size_t errlen)
{
	char out[400], errf[400], *argv[20];
	int a = kb_runtime_argv_at(c, s->root, s->tmpl, s->warm, argv);
	int timeout_s = s->timeout_s ? s->timeout_s : c->timeout_s;

	if (s->out)
		snprintf(out, sizeof(out), "%s", s->out);
	else
		snprintf(out, sizeof(out), "%s/%s.out", c->logs, s->id);
	snprintf(errf, sizeof(errf), "%s/%s.err", c->logs, s->id);
	if (s->log) {
		argv[a++] = "--debug";
		argv[a++] = "--log";
		argv[a++] = (char *)s->log;
	}
	argv[a++] = "run";
	argv[a++] = "--keep";	/* state.json says how the sandbox started (boot_of) */
	argv[a++] = "--bundle";
	argv[a++] = (char *)s->bundle;
	argv[a++] = (char *)s->id;
	argv[a] = NULL;
	if (s->cmdline)
		join_argv(argv, s->cmdline, s->cmdlen);
	if (kb_spawn(argv, out, errf, timeout_s, r)) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return false;
	}
	return run_verdict(c, s, out, errf, timeout_s, r, err, errlen);
}

void kb_vm_delete(struct kb_ctx *c, const char *id, bool force)
{
	kb_vm_delete_at(c, c->root, id, force);
}

void kb_vm_delete_at(struct kb_ctx *c, const char *root, const char *id, bool force)
{
	char *argv[] = { c->runtime, "--root", (char *)root, "delete", "--force", (char *)id,
			 NULL };
	struct kb_result r;

	if (!force) {
		argv[4] = (char *)id;
		argv[5] = NULL;
	}
	kb_spawn(argv, NULL, NULL, 60, &r);
	if (!force && r.status != 0) {
		argv[4] = "--force";
		argv[5] = (char *)id;
		kb_spawn(argv, NULL, NULL, 60, &r);
	}
}

bool kb_runc_run_spec(struct kb_ctx *c, const struct kb_run *s, struct kb_result *r, char *err,
		      size_t errlen)
{
	char out[400], errf[400];
	char *argv[] = { "runc", "--root", c->runc_root, "run", "--bundle", (char *)s->bundle,
			 (char *)s->id, NULL };
	char *del[] = { "runc", "--root", c->runc_root, "delete", "--force", (char *)s->id, NULL };
	int timeout_s = s->timeout_s ? s->timeout_s : c->timeout_s;
	struct kb_result dr;

	if (s->out)
		snprintf(out, sizeof(out), "%s", s->out);
	else
		snprintf(out, sizeof(out), "%s/%s.out", c->logs, s->id);
	snprintf(errf, sizeof(errf), "%s/%s.err", c->logs, s->id);
	if (s->cmdline)
		join_argv(argv, s->cmdline, s->cmdlen);
	if (kb_spawn(argv, out, errf, timeout_s, r)) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return false;
	}
	/* runc run removes the container itself; this only catches leftovers */
	kb_spawn(del, NULL, NULL, 60, &dr);
	return run_verdict(c, s, out, errf, timeout_s, r, err, errlen);
}

static bool runc_run(struct kb_ctx *c, const char *bundle, const char *id, struct kb_result *r,
		     char *err, size_t errlen)
{
	struct kb_run s = { .bundle = bundle, .id = id, .expect = "hello" };

	return kb_runc_run_spec(c, &s, r, err, errlen);
}

/* the message of the log line holding needle ("" if none): what follows "[pid] level: " */
static void log_message(const char *log, const char *needle, char *buf, size_t len)
{
	const char *p = log ? strstr(log, needle) : NULL, *b, *m;

	buf[0] = 0;
	if (!p)
		return;
	for (b = p; b > log && b[-1] != '\n'; b--)
		;
	m = strstr(b, "] ");
	m = m && m < p ? strstr(m, ": ") : NULL;
	b = m && m < p ? m + 2 : p;
	snprintf(buf, len, "%.*s", (int)strcspn(b, "\n"), b);
}

/*
 * A warm run counts when it took a pool VM: its log says "phase claimed" and
 * not that the VM was then given up. Else it was a clone or a boot like any
 * other run, not what the warm mode measures.
 */
static bool took_pool_vm(const char *log, char *err, size_t errlen)
{
	char why[400];

	if (log && strstr(log, "phase claimed") && !strstr(log, "starting the sandbox otherwise"))
		return true;
	log_message(log, "starting the sandbox otherwise", why, sizeof(why));
	if (!why[0])
		log_message(log, "no warm VM: ", why, sizeof(why));
	snprintf(err, errlen, "not warm (fell back to %s%s%s)",
		 log && strstr(log, "phase restored") ? "a clone" : "a boot", why[0] ? ": " : "",
		 why);
	return false;
}

/*
 * While a pool runs: before each run, untimed, let it refill (a replacement
 * boots after every claim and takes a core under TCG), so that no run shares
 * the machine with a boot it did not cause; and a warm run needs a VM on
 * offer in its own pool, or it would measure the fallback.
 */
static void pool_settle(struct kb_ctx *c, struct kb_mode *m)
{
	struct kb_pool *pools[] = { &c->pool, &c->net_pool };

	for (size_t k = 0; k < 2; k++) {
		struct kb_pool *p = pools[k];
		int n;

		if (!p->pid)
			continue;
		n = kb_pool_wait(p, KB_POOL_SIZE, 15000);
		if (n < 1 && m->warm && p == kb_mode_pool(c, m))
			n = kb_pool_wait(p, 1, 45000);
		if (n < KB_POOL_SIZE && p->pid && !kb_stop)
			fprintf(stderr, " [%spool: %d of %d ready]", p->nics ? "net " : "", n,
				KB_POOL_SIZE);
	}
}

/*
 * The runtime's own word on how the sandbox started: state.json's "boot" is
 * "warm:KEY" for a pool VM ("clone:KEY", "cold" else). Read after the run,
 * before its delete removes the state; "" if there is none.
 */
static void boot_of(const char *root, const char *id, char *buf, size_t len)
{
	char path[512];
	json_object *o, *b;

	buf[0] = 0;
	snprintf(path, sizeof(path), "%s/%s/state.json", root, id);
	o = json_object_from_file(path);
	if (o && json_object_object_get_ex(o, "boot", &b))
		snprintf(buf, len, "%s", json_object_get_string(b));
	json_object_put(o);
}

static void one_run(struct kb_ctx *c, struct kb_mode *m, int i)
{
	/* the -net modes' sandboxes have their root: warm-net's keeper is not warm's */
	const char *root = m->net ? c->net_root : c->root;
	const char *bundle = m->net ? c->net_bundle : c->bundle;
	char id[128], log[400], err[512] = "", boot[128];
	struct kb_result r;
	bool ok;

	if (m->warm && !i && !kb_mode_pool(c, m)->pid) {
		/* the pool starts at the warm mode's warm-up, like a template at a clone's */
		if (kb_pool_start(c, kb_mode_pool(c, m), m->why, sizeof(m->why))) {
			m->available = false;
			fprintf(stderr, " %s unavailable (%s)", m->name, m->why);
			return;
		}
	}
	if (i)
		snprintf(id, sizeof(id), "bench-%s-%d", m->name, i);
	else
		snprintf(id, sizeof(id), "bench-%s-warmup", m->name);
	pool_settle(c, m);
	m->runs++;
	if (m->kind == KB_RUNC) {
		ok = runc_run(c, bundle, id, &r, err, sizeof(err));
	} else {
		char *s;

		snprintf(log, sizeof(log), "%s/%s.log", c->logs, id);
		unlink(log);
		ok = kb_vm_run_at(c, root, bundle, m->template_arg, m->warm, id, log, &r, err,
				  sizeof(err));
		if (!ok && strstr(err, "option") && (strstr(err, "--template") || strstr(err, "--warm"))) {
			/* the runtime does not know the flag: not this mode's failure */
			kb_vm_delete_at(c, root, id, true);
			m->available = false;
			snprintf(m->why, sizeof(m->why), "katasbx-runtime: %s", err);
			m->runs--;
			return;
		}
		s = kb_read_file(log, 1 << 20);
		if (ok && m->warm && !r.interrupted)
			ok = took_pool_vm(s, err, sizeof(err));
		boot_of(root, id, boot, sizeof(boot));
		if (ok && m->warm && !r.interrupted && strncmp(boot, "warm:", 5)) {
			ok = false;
			snprintf(err, sizeof(err), "not warm: state.json says boot \"%s\"", boot);
		}
		kb_vm_delete_at(c, root, id, !ok);
		if (ok && i)
			kb_parse_phases(m, s);
		free(s);
		if (!c->keep)
			unlink(log);
	}
	if (m->net && !r.interrupted) {
		char why[400];

		/* the next run takes the same namespace: it must be as this one found it */
		if (!kb_net_intact(c, why, sizeof(why)) && ok) {
			ok = false;
			snprintf(err, sizeof(err), "%s", why);
		}
	}
	if (r.interrupted) {
		m->runs--;
		return;
	}
	if (!i) {	/* warm-up: reported apart, not counted */
		m->runs--;
		m->warmup_ms = r.ms;
		m->warmup_ok = ok;
		snprintf(m->warmup_error, sizeof(m->warmup_error), "%s", err);
		fprintf(stderr, " %s %.0f ms%s", m->name, r.ms, ok ? "" : " FAILED");
		return;
	}
	if (ok) {
		kb_add(&m->ms, &m->n, r.ms);
		fprintf(stderr, " %s %.0f ms", m->name, r.ms);
	} else {
		m->failures++;
		if (!m->first_error[0])
			snprintf(m->first_error, sizeof(m->first_error), "%s", err);
		fprintf(stderr, " %s FAILED (%s)", m->name, err);
	}
}

static void list_and_delete(char *const list[], const char *cmd0, const char *root,
			    bool runc, struct kb_ctx *c)
{
	char *out = kb_capture(list, NULL), *id, *save = NULL;

	for (id = out ? strtok_r(out, "\n", &save) : NULL; id; id = strtok_r(NULL, "\n", &save)) {
		struct kb_result r;

		if (runc) {
			char *argv[] = { (char *)cmd0, "--root", (char *)root, "delete", "--force",
					 id, NULL };
			kb_spawn(argv, NULL, NULL, 60, &r);
		} else {
			kb_vm_delete_at(c, root, id, true);
		}
	}
	free(out);
}

static void cleanup(struct kb_ctx *c)
{
	char *kl[] = { c->runtime, "--root", c->root, "list", "--quiet", NULL };
	char *knl[] = { c->runtime, "--root", c->net_root, "list", "--quiet", NULL };
	char *rl[] = { "runc", "--root", c->runc_root, "list", "--quiet", NULL };
	char needle[300];
	struct kb_result r;
	struct stat st;

	kb_stop = 0;	/* let the deletes run */
	if (!c->tmp[0])
		return;
	/* first: no replacement VM starts while the rest goes */
	kb_pool_stop(&c->pool);
	kb_pool_stop(&c->net_pool);
	list_and_delete(kl, c->runtime, c->root, false, c);
	if (!stat(c->net_root, &st))
		list_and_delete(knl, c->runtime, c->net_root, false, c);
	if (in_path("runc"))
		list_and_delete(rl, "runc", c->runc_root, true, c);
	snprintf(needle, sizeof(needle), "%s/", c->tmp);
	kb_kill_leftovers(needle);
	/* last of what ran: a sandbox still wired to eth0 is gone by now */
	kb_net_remove(c);
	if (c->keep) {
		fprintf(stderr, "katasbx-bench: kept %s\n", c->tmp);
	} else {
		char *rm[] = { "rm", "-rf", c->tmp, NULL };

		kb_spawn(rm, NULL, NULL, 120, &r);
	}
}

/*
 * The modes in the order given, but each X-net right after its X when both
 * are asked for: the table then shows a mode with and without a network one
 * above the other, and the runs alternate between them.
 */
static void pair_net_modes(struct kb_mode *modes, size_t nm)
{
	struct kb_mode out[KB_MAX_MODES];
	size_t k = 0;

	for (size_t i = 0; i < nm; i++) {
		bool beside = false;

		for (size_t j = 0; j < nm && modes[i].plain; j++)
			beside = beside || modes[j].name == modes[i].plain;
		if (beside)
			continue;	/* placed after its plain mode */
		out[k++] = modes[i];
		for (size_t j = 0; j < nm; j++)
			if (modes[j].plain == modes[i].name)
				out[k++] = modes[j];
	}
	memcpy(modes, out, k * sizeof(*modes));
}

static int parse_modes(const char *list, struct kb_mode *modes, size_t *nm)
{
	char *s = strdup(list), *tok, *save = NULL;

	*nm = 0;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *name = NULL;
		size_t len;

		for (size_t i = 0; i < N_KNOWN; i++)
			if (!strcmp(tok, known_modes[i]))
				name = known_modes[i];
		if (!name) {
			fprintf(stderr, "katasbx-bench: unknown mode '%s' (%s)\n", tok, all_modes);
			free(s);
			return -1;
		}
		for (size_t i = 0; i < *nm; i++)
			if (modes[i].name == name)
				name = NULL;
		if (!name || *nm == KB_MAX_MODES)
			continue;
		memset(&modes[*nm], 0, sizeof(modes[*nm]));
		modes[*nm].name = name;
		modes[*nm].kind = strncmp(name, "runc", 4) ? KB_VM : KB_RUNC;
		len = strlen(name);
		modes[*nm].net = len > 4 && !strcmp(name + len - 4, "-net");
		for (size_t i = 0; i < N_KNOWN && modes[*nm].net; i++)
			if (strlen(known_modes[i]) == len - 4 && !strncmp(known_modes[i], name, len - 4))
				modes[*nm].plain = known_modes[i];
		(*nm)++;
	}
	free(s);
	pair_net_modes(modes, *nm);
	return *nm ? 0 : -1;
}

/* what X-net needs beyond what X needs: ip, to make its namespaces (made later, once) */
static void availability(struct kb_ctx *c, struct kb_mode *m)
{
	const char *base = m->plain ? m->plain : m->name;
	struct stat st;

	m->available = true;
	if (!strcmp(base, "cold")) {
		m->template_arg = c->template_flag ? "off" : NULL;
	} else if (!strcmp(base, "clone") || !strcmp(base, "clone-kmod")) {
		if (!strcmp(base, "clone-kmod") && stat("/dev/katasbx", &st)) {
			m->available = false;
			snprintf(m->why, sizeof(m->why), "/dev/katasbx absent");
		} else if (!c->template_flag) {
			m->available = false;
			snprintf(m->why, sizeof(m->why),
				 "katasbx-runtime has no --template option (unrecognized option)");
		} else {
			m->template_arg = "on";
		}
	} else if (!strcmp(base, "warm")) {
		/* its pool starts at its warm-up run; unavailable then if it does not get ready */
		m->warm = true;
		if (!c->warm_flag) {
			m->available = false;
			snprintf(m->why, sizeof(m->why),
				 "katasbx-runtime has no --warm option (unrecognized option)");
		}
	} else if (!in_path("runc")) {
		m->available = false;
		snprintf(m->why, sizeof(m->why), "runc not found (Debian package runc)");
	}
	if (m->available && m->net && !kb_net_available(c, m->why, sizeof(m->why)))
		m->available = false;
}

static int number(const char *s, const char *opt)
{
	char *e;
	long v = strtol(s, &e, 10);

	if (*e || v < 1 || v > 100000) {
		fprintf(stderr, "katasbx-bench: %s: '%s' is not a positive number\n", opt, s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "modes", required_argument, NULL, 'm' },
		{ "json", required_argument, NULL, 'j' },
		{ "plot", required_argument, NULL, 'p' },
		{ "runtime", required_argument, NULL, 'r' },
		{ "density", required_argument, NULL, 'd' },
		{ "rate", required_argument, NULL, 'R' },
		{ "rate-runs", required_argument, NULL, 'M' },
		{ "throughput", required_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *modes_arg = all_modes, *json = NULL, *plot = NULL;
	struct kb_ctx c = { .timeout_s = 120 };
	struct kb_mode modes[KB_MAX_MODES];
	struct kb_density dens = { 0 };
	struct kb_rate rate = { 0 };
	struct kb_tput tput = { 0 };
	int n = 10, density = 0, conc = 0, rate_runs = 0, o, status = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	size_t nm;

	default_runtime(c.runtime, sizeof(c.runtime));
	while ((o = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'm': modes_arg = optarg; break;
		case 'n': n = number(optarg, "-n"); break;
		case 'j': json = optarg; break;
		case 'p': plot = optarg; break;
		case 'r': snprintf(c.runtime, sizeof(c.runtime), "%s", optarg); break;
		case 'd': density = number(optarg, "--density"); break;
		case 'R': conc = number(optarg, "--rate"); break;
		case 'M': rate_runs = number(optarg, "--rate-runs"); break;
		case 'T': tput.secs = strcmp(optarg, "0") ? number(optarg, "--throughput") : 0; break;
		case 't': c.timeout_s = number(optarg, "--timeout"); break;
		case 'k': c.keep = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (parse_modes(modes_arg, modes, &nm)) {
		usage(stderr);
		return 2;
	}
	if (plot && !in_path("gnuplot")) {
		fprintf(stderr, "katasbx-bench: --plot needs gnuplot (Debian package gnuplot-nox)\n");
		return 2;
	}
	if (strchr(c.runtime, '/') ? access(c.runtime, X_OK) != 0 : !in_path(c.runtime)) {
		fprintf(stderr, "katasbx-bench: %s: not an executable katasbx-runtime (--runtime PATH)\n",
			c.runtime);
		return 2;
	}
	if (strchr(c.runtime, '/') && c.runtime[0] != '/') {
		char *abs = realpath(c.runtime, NULL);

		if (abs) {
			snprintf(c.runtime, sizeof(c.runtime), "%s", abs);
			free(abs);
		}
	}

	snprintf(c.tmp, sizeof(c.tmp), "%s/katasbx-bench.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(c.tmp)) {
		fprintf(stderr, "katasbx-bench: mkdtemp %s: %s\n", c.tmp, strerror(errno));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	snprintf(c.root, sizeof(c.root), "%s/root", c.tmp);
	snprintf(c.net_root, sizeof(c.net_root), "%s/root-net", c.tmp);
	snprintf(c.runc_root, sizeof(c.runc_root), "%s/runc-root", c.tmp);
	snprintf(c.bundle, sizeof(c.bundle), "%s/echo", c.tmp);
	snprintf(c.net_bundle, sizeof(c.net_bundle), "%s/echo-net", c.tmp);
	c.pool = (struct kb_pool){ .root = c.root, .nics = 0 };
	c.net_pool = (struct kb_pool){ .root = c.net_root, .nics = 1 };
	snprintf(c.idle_bundle, sizeof(c.idle_bundle), "%s/idle", c.tmp);
	snprintf(c.logs, sizeof(c.logs), "%s/logs", c.tmp);
	mkdir(c.logs, 0755);
	if (kb_make_bundle(c.bundle, "\"echo\", \"hello\"", NULL) ||
	    (density && kb_make_bundle(c.idle_bundle, "\"sleep\", \"100000\"", NULL))) {
		fprintf(stderr, "katasbx-bench: cannot make the busybox bundle in %s\n", c.tmp);
		cleanup(&c);
		return 1;
	}
	kb_probe_runtime(&c);
	for (size_t m = 0; m < nm; m++)
		availability(&c, &modes[m]);
	kb_net_prepare(&c, modes, nm);

	{
		char host[512];

		kb_host_line(host, sizeof(host));
		fprintf(stderr, "katasbx-bench: %s; accel %s; runtime %s%s%s; %d iterations\n", host,
			c.accel, c.runtime, c.template_flag ? "" : " (no --template flag)",
			c.warm_flag ? "" : " (no --warm flag)", n);
	}
	/* i = 0: one untimed run per mode (page cache, the clone modes' template) */
	for (int i = 0; i <= n && !kb_stop; i++) {
		if (i)
			fprintf(stderr, "iteration %d/%d:", i, n);
		else
			fprintf(stderr, "warm-up (not counted):");
		for (size_t m = 0; m < nm && !kb_stop; m++)
			if (modes[m].available)
				one_run(&c, &modes[m], i);
		fprintf(stderr, "\n");
	}
	/* the pools are the warm modes' only: density and rate measure without them */
	kb_pool_stop(&c.pool);
	kb_pool_stop(&c.net_pool);
	/* no pool beside it either: a replacement boot would take the core a stream needs */
	if (!kb_stop && tput.secs)
		kb_throughput(&c, &tput);

	/* density and rate use clones where the runtime has them and they worked */
	{
		bool clone_ok = c.template_flag;

		for (size_t m = 0; m < nm; m++)
			if (!strcmp(modes[m].name, "clone") && modes[m].runs && !modes[m].n)
				clone_ok = false;
		if (!kb_stop && density)
			kb_density(&c, density, clone_ok ? "on" : (c.template_flag ? "off" : NULL),
				   clone_ok ? "clone" : "cold", &dens);
		if (!kb_stop && conc)
			kb_rate(&c, conc, rate_runs ? rate_runs : 4 * conc,
				clone_ok ? "on" : (c.template_flag ? "off" : NULL),
				clone_ok ? "clone" : "cold", &rate);
	}

	if (kb_stop) {
		fprintf(stderr, "katasbx-bench: interrupted; cleaning up\n");
		cleanup(&c);
		return 130;
	}
	kb_table(&c, modes, nm, density ? &dens : NULL, conc ? &rate : NULL);
	if (tput.secs)
		kb_tput_table(&c, &tput);
	if (json && kb_json(&c, modes, nm, density ? &dens : NULL, conc ? &rate : NULL, &tput,
			    json))
		status = 1;
	if (plot && kb_plot(&c, modes, nm, plot))
		status = 1;
	for (size_t m = 0; m < nm; m++)
		if (modes[m].available && modes[m].runs && !modes[m].n) {
			fprintf(stderr, "katasbx-bench: every %s run failed: %s\n", modes[m].name,
				modes[m].first_error);
			status = 1;
		}
	cleanup(&c);
	return status;
}
