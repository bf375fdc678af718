// SPDX-License-Identifier: GPL-2.0
/*
 * Execs: Exec records a process in a running task, Start (exec_start) has the
 * task's monitor run it in the guest, and a thread waits for it through the
 * monitor.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "log.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "service.h"
#include "shim.h"

struct exec *find_exec(struct task *t, const char *id)
{
	struct exec *e;

	for (e = t->execs; e; e = e->next)
		if (!strcmp(e->id, id))
			return e;
	return NULL;
}

void exec_free(struct exec *e)
{
	int i;

	for (i = 0; i < 3; i++)
		free(e->io[i]);
	if (e->proc)
		katasbx__agent__v1__process__free_unpacked(e->proc, NULL);
	free(e);
}

struct exec_watch {
	char tid[KX_ID_MAX + 1];
	char eid[KX_ID_MAX + 1];
	char mid[KX_ID_MAX + 1];	/* the monitor: the task's, or its sandbox's */
	char cid[KX_ID_MAX + 1];	/* the container there: "" for the monitor's own */
};

/* Waits for an exec through its monitor; then TaskExit with the exec's id. */
static void *watch_exec(void *arg)
{
	struct exec_watch *w = arg;
	Katasbx__Monitor__V1__WaitExecRequest req = KATASBX__MONITOR__V1__WAIT_EXEC_REQUEST__INIT;
	Katasbx__Monitor__V1__WaitExecResponse *resp = NULL;
	Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct kx_err err;
	struct task *t;
	struct exec *e;
	uint32_t status;

	req.exec_id = w->eid;
	req.container_id = w->cid;
	if (kx_monitor_call_resp(cfg.root, w->mid, "WaitExec", &req.base,
				 &katasbx__monitor__v1__wait_exec_response__descriptor,
				 (ProtobufCMessage **)&resp, -1, &err)) {
		/* the monitor is gone: the container's pid namespace took the exec with it */
		kx_debug("wait for exec %s of %s: %s", w->eid, w->tid, err.msg);
		status = 128 + SIGKILL;
	} else {
		status = resp->status;
		katasbx__monitor__v1__wait_exec_response__free_unpacked(resp, NULL);
	}
	pthread_mutex_lock(&lock);
	if ((t = find(w->tid)) && (e = find_exec(t, w->eid))) {
		e->exit_status = status;
		clock_gettime(CLOCK_REALTIME, &e->exited_at);
		e->status = T_STOPPED;
		e->watching = false;
		stamp(&ts, &e->exited_at);
		ev.container_id = t->id;
		ev.id = e->id;
		ev.pid = t->pid;
		ev.exit_status = status;
		ev.exited_at = &ts;
		shim_publish("/tasks/exit", "containerd.events.TaskExit", &ev.base);
		kx_debug("exec %s of %s exited with status %u", e->id, t->id, status);
	}
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	free(w);
	return NULL;
}

/* Exec: an OCI Process (JSON in spec) recorded; the monitor runs it at Start. */
void m_exec(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__ExecProcessRequest *r =
		UNPACK(Containerd__Task__V2__ExecProcessRequest,
		       containerd__task__v2__exec_process_request, rq, rp);
	Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	Katasbx__Agent__V1__Process *proc = NULL;
	char unknown_caps[256] = "";
	char q[400];
	struct exec *e = NULL;
	struct kx_err err;
	struct task *t;
	char *json;

	if (!r)
		return;
	if (!kx_id_valid(r->exec_id)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "invalid exec id \"%s\"",
				  kx_quoted(r->exec_id, q, sizeof(q)));
		goto out;
	}
	if (!r->spec || !r->spec->value.len) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "exec %s: no process spec", r->exec_id);
		goto out;
	}
	json = strndup((const char *)r->spec->value.data, r->spec->value.len);
	if (!json || kx_process_parse(json, &proc, unknown_caps, &err)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "exec %s: %s", r->exec_id,
				  json ? err.msg : "out of memory");
		free(json);
		goto out;
	}
	free(json);
	if (unknown_caps[0])
		kx_warn(KX_UNKNOWN_CAPS_WARNING, unknown_caps);
	if (r->terminal)
		proc->terminal = true;
	if (!(t = get_task(r->id, NULL, rp)))
		goto out;
	if (find_exec(t, r->exec_id)) {
		ttrpc_reply_error(rp, TTRPC_ALREADY_EXISTS, "exec %s of task %s already exists",
				  r->exec_id, t->id);
	} else if (t->status != T_RUNNING) {
		ttrpc_reply_error(rp, TTRPC_FAILED_PRECONDITION, "task %s is not running", t->id);
	} else if (!(e = calloc(1, sizeof(*e)))) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "out of memory");
	} else {
		snprintf(e->id, sizeof(e->id), "%s", r->exec_id);
		e->io[0] = strdup(r->stdin ? r->stdin : "");
		e->io[1] = strdup(r->stdout ? r->stdout : "");
		e->io[2] = strdup(r->stderr ? r->stderr : "");
		e->proc = proc;
		proc = NULL;
		e->status = T_CREATED;
		e->next = t->execs;
		t->execs = e;
		ev.container_id = t->id;
		ev.exec_id = e->id;
		shim_publish("/tasks/exec-added", "containerd.events.TaskExecAdded", &ev.base);
		ttrpc_reply_set(rp, &empty.base);
	}
	pthread_mutex_unlock(&lock);
out:
	if (proc)
		katasbx__agent__v1__process__free_unpacked(proc, NULL);
	containerd__task__v2__exec_process_request__free_unpacked(r, NULL);
}

/* Start of an exec: the monitor opens its FIFOs and runs it in the guest. Under lock. */
void exec_start(struct task *t, struct exec *e, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	Katasbx__Monitor__V1__ExecRequest x = KATASBX__MONITOR__V1__EXEC_REQUEST__INIT;
	char tid[KX_ID_MAX + 1], eid[KX_ID_MAX + 1], mid[KX_ID_MAX + 1], cid[KX_ID_MAX + 1];
	struct exec_watch *w;
	struct kx_err err;
	pthread_t th;
	int ret;

	if (e->status != T_CREATED || e->starting || t->status != T_RUNNING) {
		ttrpc_reply_error(rp, TTRPC_FAILED_PRECONDITION, "exec %s of %s cannot start: %s",
				  e->id, t->id, t->status != T_RUNNING ? "the task is not running" :
				  "it was started already");
		pthread_mutex_unlock(&lock);
		return;
	}
	e->starting = true;
	snprintf(tid, sizeof(tid), "%s", t->id);
	snprintf(eid, sizeof(eid), "%s", e->id);
	snprintf(mid, sizeof(mid), "%s", MON_ID(t));
	snprintf(cid, sizeof(cid), "%s", MON_CID(t));
	x.container_id = cid;
	x.exec_id = e->id;
	x.process = e->proc;
	x.stdin = e->io[0];
	x.stdout = e->io[1];
	x.stderr = e->io[2];
	pthread_mutex_unlock(&lock);
	/* e stays: Delete refuses an exec that is starting */
	ret = kx_monitor_call(cfg.root, mid, "Exec", &x.base, &err);

	pthread_mutex_lock(&lock);
	e->starting = false;
	w = ret ? NULL : calloc(1, sizeof(*w));
	if (!ret && w) {
		Containerd__Events__TaskExecStarted ev = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;

		snprintf(w->tid, sizeof(w->tid), "%s", tid);
		snprintf(w->eid, sizeof(w->eid), "%s", eid);
		snprintf(w->mid, sizeof(w->mid), "%s", mid);
		snprintf(w->cid, sizeof(w->cid), "%s", cid);
		e->status = T_RUNNING;
		e->watching = true;
		ev.container_id = t->id;
		ev.exec_id = e->id;
		ev.pid = t->pid;
		shim_publish("/tasks/exec-started", "containerd.events.TaskExecStarted", &ev.base);
		if (pthread_create(&th, NULL, watch_exec, w) == 0) {
			pthread_detach(th);
		} else {
			e->watching = false;
			free(w);
		}
		resp.pid = t->pid;
		ttrpc_reply_set(rp, &resp.base);
	} else if (!ret) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "out of memory");
	} else {
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "start exec %s of %s: %s",
				  eid, tid, err.msg);
	}
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
}
