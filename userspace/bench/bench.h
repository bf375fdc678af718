/* SPDX-License-Identifier: GPL-2.0 */
/*
 * katasbx-bench: start latency, density and start rate of katasbx-runtime
 * against runc. It drives the runtime binary; nothing of the runtime is linked.
 */
#ifndef KB_BENCH_H
#define KB_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <sys/types.h>
#include <json-c/json.h>

#define KB_MAX_PHASES 16
#define KB_MAX_MODES 10
#define KB_POOL_SIZE 2		/* warm VMs a keeper holds for a warm mode */
#define KB_POOL_READY_S 180	/* the keeper's first readiness, template build included */
#define KB_NET_ADDR "10.216.0.2/24"	/* the -net modes' eth0, in the near namespace */
#define KB_NET_PEER "10.216.0.1/24"	/* its veth peer in the far one, the default route */
#define KB_NET_GW "10.216.0.1"

enum kb_kind { KB_VM, KB_RUNC };

struct kb_phase {
	char name[48];
	double *v;		/* one value per run that logged it */
	size_t n;
};

struct kb_mode {
	const char *name;
	enum kb_kind kind;
	const char *template_arg; /* "on", "off" or NULL: no --template flag */
	bool warm;		/* runs take a VM from the pool (--warm on) */
	bool net;		/* the net bundle (eth0 in the near namespace), in the net root */
	const char *plain;	/* for a -net mode: the mode it is beside ("clone" for clone-net) */
	bool available;
	char why[256];		/* why unavailable */
	double *ms;		/* successful runs */
	size_t n;
	size_t runs;		/* attempted */
	size_t failures;
	char first_error[512];
	double warmup_ms;	/* the untimed first run (makes the template) */
	bool warmup_ok;
	char warmup_error[512];
	struct kb_phase phases[KB_MAX_PHASES];
	size_t nphases;
};

struct kb_stats {
	double min, p25, median, p75, p90, p99, mean, max;
};

/* a warm mode's `katasbx-runtime --root ROOT pool --size 2 --interfaces NICS` */
struct kb_pool {
	const char *root;
	int nics;
	pid_t pid;		/* the keeper while it runs, else 0 */
	int out;		/* its stdout, where it says "ready:" */
	double ready_ms;	/* from its start to "ready:" */
	char log[320];		/* its stderr */
};

struct kb_ctx {
	char runtime[4096];
	char tmp[256];		/* everything the bench makes lives here */
	char root[320];		/* katasbx --root */
	char net_root[320];	/* katasbx --root of the -net modes: a keeper per root */
	char runc_root[320];
	char bundle[320];	/* echo hello */
	char net_bundle[320];	/* echo hello in the near namespace */
	char idle_bundle[320];	/* sleep 100000 */
	char logs[320];
	bool keep;
	int timeout_s;		/* per run */
	bool template_flag;	/* the runtime knows --template */
	bool warm_flag;		/* the runtime knows --warm (and so its pool command) */
	struct kb_pool pool;	/* warm's, in root */
	struct kb_pool net_pool; /* warm-net's, in net_root, one network device per VM */
	char ip[64];		/* iproute2's ip, for the -net modes' namespaces */
	char net_near[32];	/* kb<pid>-near: the sandboxes' network namespace */
	char net_far[32];	/* kb<pid>-far: its veth peer's */
	bool near_made, far_made; /* ours to remove */
	char accel[64];
	char accel_detail[512];
	char template_backend[256];
};

struct kb_density {
	bool done;
	const char *mode;
	int requested, started, running;
	double start_s;
	double *pss_mib;	/* per sandbox: monitor + its descendants */
	double *monitor_mib, *qemu_mib;
	size_t n;
	double total_mib;
	double memavail_drop_mib;
	bool template_known;
	char template_note[512];
	double template_file_mib, template_mapped_pss_mib, template_share_mib;
};

struct kb_rate {
	bool done;
	const char *mode;
	int concurrency, runs, completed, failures;
	double elapsed_s, per_s, median_ms;
	char first_error[512];
};

/* --throughput: iperf3, one TCP stream, container <-> far side, VM and runc */
enum { KB_TP_UP, KB_TP_DOWN };	/* the container sends (-c), receives (-c -R) */
enum { KB_TP_VM, KB_TP_RUNC };

struct kb_tp_one {
	bool tried, ok;
	double bps;		/* iperf3's end.sum_received.bits_per_second */
	double sent_bps;	/* end.sum_sent.bits_per_second */
	char error[512];
	char command[1024];	/* the runtime's or runc's command line */
	char args[160];		/* the container's process.args */
};

struct kb_tp_side {
	const char *name;	/* "vm", "runc" */
	const char *start;	/* the VM's: "clone", or "cold" without --template */
	bool available;
	char why[256];
	struct kb_tp_one dir[2];
};

struct kb_tput {
	int secs;		/* 0: not asked for */
	bool available;
	char why[256];
	char iperf3[256];	/* on the host, and at the same path in the bundle's rootfs */
	char version[64];
	char bundle[320];
	char server[512];	/* the server's command line */
	struct kb_tp_side side[2];
};

extern volatile sig_atomic_t kb_stop;

/* one sandbox run of a bundle (main.c) */
struct kb_run {
	const char *root;	/* the VM's --root (runc's is always c->runc_root) */
	const char *bundle, *tmpl, *id;
	const char *log;	/* --debug --log LOG, NULL: none (VM only) */
	bool warm;
	const char *expect;	/* on stdout, for success; NULL: the exit status alone */
	const char *out;	/* stdout, kept; NULL: logs/ID.out, removed unless --keep */
	int timeout_s;		/* 0: c->timeout_s */
	char *cmdline;		/* if set, the command line run, space-separated */
	size_t cmdlen;
};

/* proc.c */
struct kb_result {
	int status;		/* exit status, 128+N for signal N, -1 failed to start */
	double ms;		/* wall clock, fork to exit */
	bool timed_out, interrupted;
};
int kb_spawn(char *const argv[], const char *out, const char *err, int timeout_s,
	     struct kb_result *r);
/* Run argv, stdout into a malloc'd string (NULL on failure to start). */
char *kb_capture(char *const argv[], int *status);
char *kb_read_file(const char *path, size_t max);
double kb_now_ms(void);
void kb_kill_leftovers(const char *needle);
/* the last non-empty line of a file, for a one-line failure reason ("" if none) */
void kb_last_line(const char *path, char *buf, size_t len);

/* pool.c: the warm modes' `katasbx-runtime pool` */
/* Start the keeper and wait for its "ready:" line; -1 with why if it does not come. */
int kb_pool_start(struct kb_ctx *c, struct kb_pool *p, char *why, size_t whylen);
/* Wait until want VMs are on offer (or timeout_ms, or the keeper is gone); how many are. */
int kb_pool_wait(struct kb_pool *p, int want, int timeout_ms);
/* SIGTERM, up to 30 s, then SIGKILL of its group; nothing if it does not run. */
void kb_pool_stop(struct kb_pool *p);
/* the pool a warm mode takes its VMs from */
struct kb_pool *kb_mode_pool(struct kb_ctx *c, const struct kb_mode *m);

/* net.c: the -net modes' two namespaces and their veth pair */
/* find ip (iproute2); false, and why, if it is not there */
bool kb_net_available(struct kb_ctx *c, char *why, size_t whylen);
/* make kb<pid>-near and kb<pid>-far; -1 with why (what is made is removed by kb_net_remove) */
int kb_net_setup(struct kb_ctx *c, char *why, size_t whylen);
/* kb_net_setup and the net bundle if an available -net mode is asked for; else they are not */
void kb_net_prepare(struct kb_ctx *c, struct kb_mode *modes, size_t nm);
/* after a run: the near namespace holds lo and eth0 only, as before it; else false, why */
bool kb_net_intact(struct kb_ctx *c, char *why, size_t whylen);
/* remove the namespaces this bench made */
void kb_net_remove(struct kb_ctx *c);

/* stats.c */
void kb_stats(const double *v, size_t n, struct kb_stats *s);
void kb_phase_add(struct kb_mode *m, const char *name, double ms);
void kb_parse_phases(struct kb_mode *m, const char *log);
void kb_add(double **v, size_t *n, double x);

/* sysinfo.c */
json_object *kb_host_json(void);
void kb_host_line(char *buf, size_t len);
void kb_probe_runtime(struct kb_ctx *c);
/* netns: NULL for no network namespace in the spec, else the one to join */
int kb_make_bundle(const char *dir, const char *args_json, const char *netns);
/* only the bundle's config.json, as kb_make_bundle writes it */
int kb_bundle_config(const char *dir, const char *args_json, const char *netns);
int kb_copy_file(const char *from, const char *to, mode_t mode);

/* density.c, rate.c */
int kb_density(struct kb_ctx *c, int n, const char *mode_tmpl, const char *mode,
	       struct kb_density *d);
int kb_rate(struct kb_ctx *c, int conc, int runs, const char *mode_tmpl, const char *mode,
	    struct kb_rate *r);
/*
 * argv's head for a sandbox start: RUNTIME [--template T] [--warm on|off] --root R.
 * --warm off unless warm, so that only the warm mode takes pool VMs (no --warm
 * for a runtime without it). Returns the number of entries filled (at most 7).
 */
int kb_runtime_argv(struct kb_ctx *c, const char *tmpl, bool warm, char **argv);
int kb_runtime_argv_at(struct kb_ctx *c, const char *root, const char *tmpl, bool warm,
		       char **argv);
/* one VM run of the echo bundle; the result, stdout checked for "hello" */
bool kb_vm_run(struct kb_ctx *c, const char *tmpl, bool warm, const char *id, const char *log,
	       struct kb_result *r, char *err, size_t errlen);
/* the same of bundle under root */
bool kb_vm_run_at(struct kb_ctx *c, const char *root, const char *bundle, const char *tmpl,
		  bool warm, const char *id, const char *log, struct kb_result *r, char *err,
		  size_t errlen);
bool kb_vm_run_spec(struct kb_ctx *c, const struct kb_run *s, struct kb_result *r, char *err,
		    size_t errlen);
/* runc run of s->bundle under c->runc_root, then a delete --force of what is left */
bool kb_runc_run_spec(struct kb_ctx *c, const struct kb_run *s, struct kb_result *r, char *err,
		      size_t errlen);
void kb_vm_delete(struct kb_ctx *c, const char *id, bool force);
void kb_vm_delete_at(struct kb_ctx *c, const char *root, const char *id, bool force);

/* throughput.c */
/* t->secs set: measure VM and runc both ways; every failure is reported in t, none returned */
void kb_throughput(struct kb_ctx *c, struct kb_tput *t);
void kb_tput_table(const struct kb_ctx *c, const struct kb_tput *t);
json_object *kb_tput_json(const struct kb_ctx *c, const struct kb_tput *t);

/* report.c */
void kb_table(struct kb_ctx *c, struct kb_mode *modes, size_t nm, struct kb_density *d,
	      struct kb_rate *r);
/* t: NULL, or --throughput's */
int kb_json(struct kb_ctx *c, struct kb_mode *modes, size_t nm, struct kb_density *d,
	    struct kb_rate *r, const struct kb_tput *t, const char *path);
int kb_plot(struct kb_ctx *c, struct kb_mode *modes, size_t nm, const char *path);

#endif
