/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the shim's containerd.task.v2.Task service: the task table, shared
 * by service.c (lookups, the method table), task.c (the lifecycle), exec.c,
 * pod.c and control.c (the other methods).
 */
#ifndef KX_SHIM_SERVICE_H
#define KX_SHIM_SERVICE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "agent.pb-c.h"
#include "config.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "oci.h"
#include "state.h"
#include "ttrpc_server.h"

enum tstatus { T_CREATED, T_RUNNING, T_STOPPED, T_PAUSED };

/* A process exec'd in a task: added by Exec, started by Start. */
struct exec {
	char id[KX_ID_MAX + 1];
	char *io[3];
	Katasbx__Agent__V1__Process *proc;
	enum tstatus status;
	bool starting, watching;
	uint32_t exit_status;
	struct timespec exited_at;
	struct exec *next;
};

struct task {
	char id[KX_ID_MAX + 1];
	char bundle[PATH_MAX];
	char rootfs[PATH_MAX + 8];
	bool mounted;
	char *io[3];		/* stdin, stdout, stderr FIFO paths */
	pid_t pid;		/* the monitor */
	enum tstatus status;
	enum tstatus resume_status;	/* what a paused task was: created or running */
	bool starting;		/* a Start is in flight: TaskExit waits for TaskStart */
	bool exit_held;
	int kill_signal;	/* a created task torn down by Kill exits 128+signal */
	uint32_t exit_status;
	struct timespec exited_at;
	struct exec *execs;
	/*
	 * Pods. A sandbox (container-type "sandbox") has its own monitor, whose
	 * VM shares share_dir; a pod's container runs in its sandbox's VM: its
	 * monitor is sandbox's, and pid the sandbox's monitor. Both have their
	 * rootfs bound on share_bind (share_dir/ID), undone on Delete.
	 */
	bool is_sandbox;
	char sandbox[KX_ID_MAX + 1];	/* a pod's container: its sandbox's task id */
	char share_dir[PATH_MAX];
	char share_bind[PATH_MAX + KX_ID_MAX + 2];
	/*
	 * A pod's container's poststart hooks, run by the shim once it started,
	 * with their state; its prestart and createRuntime ones ran at create,
	 * its poststop ones run from ROOT/ID/poststop.json at delete.
	 */
	Katasbx__Agent__V1__Hook **poststart;
	size_t n_poststart;
	char *poststart_state;
	bool deleting;
	struct task *next;
};

/* The task whose monitor runs t: t's sandbox, or t itself. */
#define MON_ID(t) (*(t)->sandbox ? (t)->sandbox : (t)->id)
/* t's container id as its monitor knows it: "" for the monitor's own. */
#define MON_CID(t) (*(t)->sandbox ? (t)->id : "")

/* service.c: the table of tasks, under lock; changed is broadcast on each change. */
extern struct kx_config cfg;
extern const struct shim_opts *shim_opts;	/* the flags it serves with */
extern struct task *tasks;
extern pthread_mutex_t lock;
extern pthread_cond_t changed;

#define UNPACK(type, lower, rq, rp)                                                     \
	({                                                                              \
		type *_m = lower##__unpack(NULL, (rq)->req->payload.len,                \
					   (rq)->req->payload.data);                     \
		if (!_m)                                                                \
			ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "malformed " #type); \
		_m;                                                                     \
	})

/* A Task method, as ttrpc_method_fn calls it. */
typedef void shim_method(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp);

struct task *find(const char *id);
void stamp(Google__Protobuf__Timestamp *ts, const struct timespec *t);
struct task *get_task(const char *id, const char *exec_id, struct ttrpc_reply *rp);
struct task *get_proc(const char *id, const char *exec_id, struct exec **e,
		      struct ttrpc_reply *rp);

/* task.c: the lifecycle. */
void task_exited(struct task *t, int status, bool wstatus);
shim_method m_create, m_start, m_state, m_kill, m_delete, m_wait;

/* exec.c */
struct exec *find_exec(struct task *t, const char *id);
void exec_free(struct exec *e);
void exec_start(struct task *t, struct exec *e, struct ttrpc_reply *rp);
shim_method m_exec;

/* pod.c: a sandbox's share, and a pod's containers in their sandbox's VM. */
void *watch_pod_container(void *arg);
void pod_undo(struct task *t);
int pod_setup(struct task *t, const struct kx_spec *spec, pid_t *sb_pid,
	      struct ttrpc_reply *rp);
int pod_create(struct task *t, struct kx_spec *spec, struct ttrpc_reply *rp);
/* A pod's container started: its poststart hooks (a failure is a warning). */
void pod_started(struct task *t);
/* What pod_create kept in t for later. */
void pod_free(struct task *t);

/* control.c: the other methods on a task. */
shim_method m_pids, m_close_io, m_pause, m_resume, m_stats, m_resize_pty, m_update;

#endif
