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
#include <json-c/json.h>

#define KB_MAX_PHASES 16
#define KB_MAX_MODES 8

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
/* one VM run of the echo bundle; the result, stdout checked for "hello" */
bool kb_vm_run(struct kb_ctx *c, const char *tmpl, const char *id, const char *log,
	       struct kb_result *r, char *err, size_t errlen);
void kb_vm_delete(struct kb_ctx *c, const char *id, bool force);

/* report.c */
void kb_table(struct kb_ctx *c, struct kb_mode *modes, size_t nm, struct kb_density *d,
	      struct kb_rate *r);
int kb_json(struct kb_ctx *c, struct kb_mode *modes, size_t nm, struct kb_density *d,
	    struct kb_rate *r, const char *path);
int kb_plot(struct kb_ctx *c, struct kb_mode *modes, size_t nm, const char *path);

#endif
