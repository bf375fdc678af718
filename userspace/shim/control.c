// SPDX-License-Identifier: GPL-2.0
/*
 * The Task methods on a task once created, besides its lifecycle: Pids,
 * CloseIO, Pause and Resume, Stats, ResizePty and Update, most of them a call
 * to the task's monitor.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "containerd/cgroups/v2/metrics.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "placement.h"
#include "service.h"
#include "shim.h"
#include "vmsize.h"

void m_pids(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__PidsRequest *r = UNPACK(Containerd__Task__V2__PidsRequest,
						      containerd__task__v2__pids_request, rq, rp);
	Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
	Containerd__V1__Types__ProcessInfo pi = CONTAINERD__V1__TYPES__PROCESS_INFO__INIT;
	Containerd__V1__Types__ProcessInfo *pis[1] = { &pi };
	struct task *t;

	if (!r || !(t = get_task(r->id, NULL, rp)))
		goto out;
	/* the host sees one process per task: the monitor holding its VM */
	pi.pid = t->pid;
	resp.n_processes = 1;
	resp.processes = pis;
	ttrpc_reply_set(rp, &resp.base);
	pthread_mutex_unlock(&lock);
out:
	if (r)
		containerd__task__v2__pids_request__free_unpacked(r, NULL);
}

void m_close_io(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__CloseIORequest *r = UNPACK(Containerd__Task__V2__CloseIORequest,
							 containerd__task__v2__close_iorequest, rq, rp);
	struct task *t;
	struct exec *e;

	/* stdin's EOF travels through the FIFO: the monitor sees its writer close */
	if (r && (t = get_proc(r->id, r->exec_id, &e, rp)))
		pthread_mutex_unlock(&lock);
	if (r)
		containerd__task__v2__close_iorequest__free_unpacked(r, NULL);
}

/* Pause (QMP stop) or resume (cont) the task's VM, through its monitor. */
static void pause_resume(const char *id, bool pause, struct ttrpc_reply *rp)
{
	Katasbx__Monitor__V1__Empty empty = KATASBX__MONITOR__V1__EMPTY__INIT;
	Google__Protobuf__Empty out = GOOGLE__PROTOBUF__EMPTY__INIT;
	char tid[KX_ID_MAX + 1];
	struct task *t;
	struct kx_err err;

	if (!(t = get_task(id, NULL, rp)))
		return;
	if (*t->sandbox) {
		ttrpc_reply_error(rp, TTRPC_UNIMPLEMENTED,
				  "task %s: pausing one container of a pod is not supported", t->id);
		pthread_mutex_unlock(&lock);
		return;
	}
	if (pause ? (t->status != T_RUNNING && t->status != T_CREATED) : t->status != T_PAUSED) {
		ttrpc_reply_error(rp, TTRPC_FAILED_PRECONDITION, "task %s is %s", t->id,
				  t->status == T_STOPPED ? "stopped" : t->status == T_PAUSED ?
				  "already paused" : "not paused");
		pthread_mutex_unlock(&lock);
		return;
	}
	snprintf(tid, sizeof(tid), "%s", t->id);
	pthread_mutex_unlock(&lock);

	if (kx_monitor_call(cfg.root, tid, pause ? "Pause" : "Resume", &empty.base, &err)) {
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "%s %s: %s",
				  pause ? "pause" : "resume", tid, err.msg);
		return;
	}
	pthread_mutex_lock(&lock);
	if ((t = find(tid)) && t->status != T_STOPPED) {
		if (pause) {
			Containerd__Events__TaskPaused e = CONTAINERD__EVENTS__TASK_PAUSED__INIT;

			t->resume_status = t->status;
			t->status = T_PAUSED;
			e.container_id = t->id;
			shim_publish("/tasks/paused", "containerd.events.TaskPaused", &e.base);
		} else {
			Containerd__Events__TaskResumed e = CONTAINERD__EVENTS__TASK_RESUMED__INIT;

			t->status = t->resume_status;
			e.container_id = t->id;
			shim_publish("/tasks/resumed", "containerd.events.TaskResumed", &e.base);
		}
		pthread_cond_broadcast(&changed);
	}
	pthread_mutex_unlock(&lock);
	ttrpc_reply_set(rp, &out.base);
}

void m_pause(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__PauseRequest *r = UNPACK(Containerd__Task__V2__PauseRequest,
						       containerd__task__v2__pause_request, rq, rp);

	if (!r)
		return;
	pause_resume(r->id, true, rp);
	containerd__task__v2__pause_request__free_unpacked(r, NULL);
}

void m_resume(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__ResumeRequest *r = UNPACK(Containerd__Task__V2__ResumeRequest,
							containerd__task__v2__resume_request, rq, rp);

	if (!r)
		return;
	pause_resume(r->id, false, rp);
	containerd__task__v2__resume_request__free_unpacked(r, NULL);
}

/*
 * Containerd's cgroups v2 Metrics in an Any. A pod's sandbox task answers
 * with its sandbox's cgroup on the host, what the whole VM costs (the pause
 * process in the guest costs nothing); any other task with its container's
 * cgroup in the guest, what the container uses against its own limits (CRI's
 * ContainerStats, Update's limits). CRI reads the pod's cgroup on the host
 * itself (PodSandboxStats), which holds the VM's.
 */
void m_stats(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__StatsRequest *r = UNPACK(Containerd__Task__V2__StatsRequest,
						       containerd__task__v2__stats_request, rq, rp);
	Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
	Katasbx__Monitor__V1__ContainerRequest cq = KATASBX__MONITOR__V1__CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__StatsContainerResponse *sr = NULL;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	char tid[KX_ID_MAX + 1], cid[KX_ID_MAX + 1];
	struct kx_metrics m;
	struct kx_hostcg cg;
	struct task *t;
	struct kx_err err;
	uint8_t *buf = NULL;
	bool sandbox;

	if (!r || !(t = get_task(r->id, NULL, rp)))
		goto out;
	if (t->status == T_STOPPED) {
		ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "task %s: process already finished", t->id);
		pthread_mutex_unlock(&lock);
		goto out;
	}
	snprintf(tid, sizeof(tid), "%s", MON_ID(t));
	snprintf(cid, sizeof(cid), "%s", MON_CID(t));
	sandbox = t->is_sandbox;
	cq.container_id = cid;
	pthread_mutex_unlock(&lock);
	if (sandbox && !kx_placement_cgroup(cfg.root, tid, &cg, &err)) {
		kx_metrics_from_host(&m, &cg);
	} else if (kx_monitor_call_resp(cfg.root, tid, "Stats", &cq.base,
					&katasbx__agent__v1__stats_container_response__descriptor,
					(ProtobufCMessage **)&sr, 30000, &err)) {
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "stats %s: %s", tid,
				  err.msg);
		goto out;
	} else {
		kx_metrics_from_guest(&m, sr);
	}
	any.type_url = "io.containerd.cgroups.v2.Metrics";
	any.value.len = io__containerd__cgroups__v2__metrics__get_packed_size(&m.mt);
	buf = malloc(any.value.len ? any.value.len : 1);
	if (!buf) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "out of memory");
		goto out;
	}
	io__containerd__cgroups__v2__metrics__pack(&m.mt, buf);
	any.value.data = buf;
	resp.stats = &any;
	ttrpc_reply_set(rp, &resp.base);
out:
	free(buf);
	if (sr)
		katasbx__agent__v1__stats_container_response__free_unpacked(sr, NULL);
	if (r)
		containerd__task__v2__stats_request__free_unpacked(r, NULL);
}

/* The window size of a terminal process: the monitor asks the agent (TtyWinResize). */
void m_resize_pty(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__ResizePtyRequest *r =
		UNPACK(Containerd__Task__V2__ResizePtyRequest,
		       containerd__task__v2__resize_pty_request, rq, rp);
	Katasbx__Monitor__V1__ResizePtyRequest z = KATASBX__MONITOR__V1__RESIZE_PTY_REQUEST__INIT;
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	char mid[KX_ID_MAX + 1], cid[KX_ID_MAX + 1];
	struct task *t;
	struct exec *e;
	struct kx_err err;

	if (!r || !(t = get_proc(r->id, r->exec_id, &e, rp)))
		goto out;
	if (e ? e->status != T_RUNNING : t->status == T_STOPPED) {
		ttrpc_reply_error(rp, TTRPC_FAILED_PRECONDITION, "%s %s of %s is not running",
				  e ? "exec" : "task", e ? e->id : t->id, t->id);
		pthread_mutex_unlock(&lock);
		goto out;
	}
	snprintf(mid, sizeof(mid), "%s", MON_ID(t));
	snprintf(cid, sizeof(cid), "%s", MON_CID(t));
	pthread_mutex_unlock(&lock);
	z.container_id = cid;
	z.exec_id = r->exec_id;
	z.width = r->width;
	z.height = r->height;
	if (kx_monitor_call(cfg.root, mid, "ResizePty", &z.base, &err))
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "resize pty of %s: %s",
				  r->id, err.msg);
	else
		ttrpc_reply_set(rp, &empty.base);
out:
	if (r)
		containerd__task__v2__resize_pty_request__free_unpacked(r, NULL);
}

/*
 * Update: the OCI LinuxResources JSON containerd sends (an Any of type
 * types.containerd.io/opencontainers/runtime-spec/1/LinuxResources) becomes
 * the agent's UpdateContainer for the container's guest cgroup, converted as
 * linux.resources is at create and as `katasbx-runtime update` converts its
 * own; what a VM cannot apply is logged as a warning.
 */
void m_update(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__UpdateTaskRequest *r =
		UNPACK(Containerd__Task__V2__UpdateTaskRequest,
		       containerd__task__v2__update_task_request, rq, rp);
	Katasbx__Agent__V1__UpdateContainerRequest u =
		KATASBX__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	char mid[KX_ID_MAX + 1], cid[KX_ID_MAX + 1], *json = NULL;
	char doc[KX_ID_MAX + 32], warnings[1024];
	struct kx_hostcg_limits host;
	struct kx_state st;
	struct task *t;
	struct kx_err err;

	if (!r)
		return;
	if (!r->resources || !r->resources->type_url ||
	    !strstr(r->resources->type_url, "LinuxResources")) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT,
				  "update %s: resources must be an OCI LinuxResources, not \"%s\"",
				  r->id, r->resources && r->resources->type_url ?
				  r->resources->type_url : "");
		goto out;
	}
	json = strndup((const char *)r->resources->value.data, r->resources->value.len);
	snprintf(doc, sizeof(doc), "update %s: resources", r->id);
	if (!json || kx_resources_update_host(json, doc, &u.writes, &u.n_writes, &host, warnings,
					      sizeof(warnings), &err)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "%s", json ? err.msg : "out of memory");
		goto out;
	}
	kx_warn_lines(warnings);
	if (!(t = get_task(r->id, NULL, rp)))
		goto out;
	if (t->status == T_STOPPED) {
		ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "task %s: process already finished", t->id);
		pthread_mutex_unlock(&lock);
		goto out;
	}
	snprintf(mid, sizeof(mid), "%s", MON_ID(t));
	snprintf(cid, sizeof(cid), "%s", MON_CID(t));
	pthread_mutex_unlock(&lock);
	u.container_id = cid;
	/* the VM does not grow: a limit above it holds only as far as it goes */
	if (!kx_state_read(cfg.root, mid, &st, &err)) {
		kx_vm_size_check(st.mem_mib, st.vcpus, doc, u.writes, u.n_writes, warnings,
				 sizeof(warnings));
		kx_state_clear(&st);
		kx_warn_lines(warnings);
	}
	/* a sandbox's own task: its host cgroup follows (a pod's container has none) */
	if (kx_monitor_call(cfg.root, mid, "Update", &u.base, &err) ||
	    (!strcmp(mid, r->id) && kx_placement_update(&cfg, mid, &host, &err)))
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "update %s: %s", r->id,
				  err.msg);
	else
		ttrpc_reply_set(rp, &empty.base);
out:
	kx_cgroup_writes_free(u.writes, u.n_writes);
	free(json);
	containerd__task__v2__update_task_request__free_unpacked(r, NULL);
}
