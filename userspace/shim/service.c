// SPDX-License-Identifier: GPL-2.0
/*
 * containerd.task.v2.Task: each task is a monitor process forked by the shim
 * (kx_monitor_run, as katasbx-runtime create runs it), with stdin, stdout and
 * stderr on containerd's FIFOs. Start and Kill go to the monitor's socket;
 * the monitor's exit status is the task's.
 */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "log.h"
#include "service.h"
#include "shim.h"

const struct shim_opts *shim_opts;
struct kx_config cfg;
struct task *tasks;
pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

struct task *find(const char *id)
{
	struct task *t;

	for (t = tasks; t; t = t->next)
		if (!strcmp(t->id, id))
			return t;
	return NULL;
}

void stamp(Google__Protobuf__Timestamp *ts, const struct timespec *t)
{
	ts->seconds = t->tv_sec;
	ts->nanos = t->tv_nsec;
}

/* Look up id (and refuse exec ids: there are no execs yet); under lock on success. */
struct task *get_task(const char *id, const char *exec_id, struct ttrpc_reply *rp)
{
	struct task *t;

	pthread_mutex_lock(&lock);
	t = find(id ? id : "");
	if (t && (!exec_id || !*exec_id))
		return t;
	pthread_mutex_unlock(&lock);
	if (t)
		ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "exec %s of task %s: not found", exec_id, id);
	else
		ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "task %s: not found", id ? id : "");
	return NULL;
}

/* A task and, for a non-empty exec_id, its exec in *e; under lock on success. */
struct task *get_proc(const char *id, const char *exec_id, struct exec **e,
		      struct ttrpc_reply *rp)
{
	struct task *t = get_task(id, NULL, rp);

	*e = NULL;
	if (!t || !exec_id || !*exec_id)
		return t;
	*e = find_exec(t, exec_id);
	if (*e)
		return t;
	pthread_mutex_unlock(&lock);
	ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "exec %s of task %s: not found", exec_id, id);
	return NULL;
}

static void m_connect(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__ConnectRequest *r = UNPACK(Containerd__Task__V2__ConnectRequest,
							 containerd__task__v2__connect_request, rq, rp);
	Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
	struct task *t;

	if (!r)
		return;
	pthread_mutex_lock(&lock);
	t = find(r->id);
	resp.shim_pid = getpid();
	resp.task_pid = t ? t->pid : 0;
	resp.version = "";
	ttrpc_reply_set(rp, &resp.base);
	pthread_mutex_unlock(&lock);
	containerd__task__v2__connect_request__free_unpacked(r, NULL);
}

static void m_shutdown(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;

	pthread_mutex_lock(&lock);
	/* the shim stays while it holds a task */
	rp->stop_server = tasks == NULL;
	pthread_mutex_unlock(&lock);
	ttrpc_reply_set(rp, &empty.base);
}

static const struct ttrpc_method methods[] = {
	{ SHIM_TASK_SERVICE, "Create", m_create, true },
	{ SHIM_TASK_SERVICE, "Start", m_start, true },
	{ SHIM_TASK_SERVICE, "State", m_state, false },
	{ SHIM_TASK_SERVICE, "Kill", m_kill, true },
	{ SHIM_TASK_SERVICE, "Delete", m_delete, true },
	{ SHIM_TASK_SERVICE, "Wait", m_wait, true },
	{ SHIM_TASK_SERVICE, "Pids", m_pids, false },
	{ SHIM_TASK_SERVICE, "CloseIO", m_close_io, false },
	{ SHIM_TASK_SERVICE, "Exec", m_exec, false },
	{ SHIM_TASK_SERVICE, "Stats", m_stats, true },
	{ SHIM_TASK_SERVICE, "Pause", m_pause, true },
	{ SHIM_TASK_SERVICE, "Resume", m_resume, true },
	{ SHIM_TASK_SERVICE, "ResizePty", m_resize_pty, true },
	{ SHIM_TASK_SERVICE, "Update", m_update, true },
	{ SHIM_TASK_SERVICE, "Connect", m_connect, false },
	{ SHIM_TASK_SERVICE, "Shutdown", m_shutdown, false },
};

int shim_serve(const struct shim_opts *o, int listen_fd)
{
	struct sockaddr_un sa;
	socklen_t salen = sizeof(sa);
	struct ttrpc_server *s;
	struct kx_err err;

	shim_opts = o;
	signal(SIGPIPE, SIG_IGN);
	if (shim_load_config(&cfg, o->namespace, &err) || kx_config_find_guest(&cfg, &err)) {
		kx_log(KX_LOG_ERROR, "%s", err.msg);
		return 1;
	}
	if (shim_children_init() || shim_events_init(o)) {
		kx_log(KX_LOG_ERROR, "shim: cannot start its threads");
		return 1;
	}
	s = ttrpc_server_new(methods, sizeof(methods) / sizeof(methods[0]), NULL);
	if (!s)
		return 1;
	if (ttrpc_server_serve(s, listen_fd, &err))
		kx_log(KX_LOG_ERROR, "%s", err.msg);
	shim_events_flush(5000);
	if (!getsockname(listen_fd, (struct sockaddr *)&sa, &salen) && sa.sun_path[0])
		unlink(sa.sun_path);
	return 0;
}
