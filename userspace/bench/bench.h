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
#define KB_MAX_MODES 8
#define KB_POOL_SIZE 2		/* warm VMs the keeper holds for the warm mode */
#define KB_POOL_READY_S 180	/* the keeper's first readiness, template build included */

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

struct kb_ctx {
	char runtime[4096];
	char tmp[256];		/* everything the bench makes lives here */
	char root[320];		/* katasbx --root */
	char runc_root[320];
	char bundle[320];	/* echo hello */
	char idle_bundle[320];	/* sleep 100000 */
	char logs[320];
	bool keep;
	int timeout_s;		/* per run */
	bool template_flag;	/* the runtime knows --template */
	bool warm_flag;		/* the runtime knows --warm (and so its pool command) */
	pid_t pool_pid;		/* the warm pool's keeper while it runs, else 0 */
	int pool_out;		/* its stdout, where it says "ready:" */
	double pool_ready_ms;	/* from its start to "ready:" */
	char pool_log[320];	/* its stderr */
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

extern volatile sig_atomic_t kb_stop;

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

/* pool.c: the warm mode's `katasbx-runtime pool` */
/* Start the keeper and wait for its "ready:" line; -1 with why if it does not come. */
int kb_pool_start(struct kb_ctx *c, char *why, size_t whylen);
/* Wait until want VMs are on offer (or timeout_ms, or the keeper is gone); how many are. */
int kb_pool_wait(struct kb_ctx *c, int want, int timeout_ms);
/* SIGTERM, up to 30 s, then SIGKILL of its group; nothing if it does not run. */
void kb_pool_stop(struct kb_ctx *c);

/* stats.c */
void kb_stats(const double *v, size_t n, struct kb_stats *s);
void kb_phase_add(struct kb_mode *m, const char *name, double ms);
void kb_parse_phases(struct kb_mode *m, const char *log);
void kb_add(double **v, size_t *n, double x);

/* sysinfo.c */
json_object *kb_host_json(void);
void kb_host_line(char *buf, size_t len);
void kb_probe_runtime(struct kb_ctx *c);
int kb_make_bundle(const char *dir, const char *args_json);

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
/* one VM run of the echo bundle; the result, stdout checked for "hello" */
bool kb_vm_run(struct kb_ctx *c, const char *tmpl, bool warm, const char *id, const char *log,
	       struct kb_result *r, char *err, size_t errlen);
void kb_vm_delete(struct kb_ctx *c, const char *id, bool force);

/* report.c */
void kb_table(struct kb_ctx *c, struct kb_mode *modes, size_t nm, struct kb_density *d,
	      struct kb_rate *r);
int kb_json(struct kb_ctx *c, struct kb_mode *modes, size_t nm, struct kb_density *d,
	    struct kb_rate *r, const char *path);
int kb_plot(struct kb_ctx *c, struct kb_mode *modes, size_t nm, const char *path);

#endif
