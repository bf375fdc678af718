// SPDX-License-Identifier: GPL-2.0
/*
 * The monitor's side of ROOT/ID/monitor.sock: its clients and the ttrpc
 * methods of katasbx.monitor.v1.Monitor (Start, Kill, Exec, WaitExec, Stats,
 * ListProcesses, CreateContainer, StartContainer, DeleteContainer, Update,
 * ResizePty, Pause, Resume).
 */
#include "monitor_int.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "kx_time.h"
#include "log.h"
#include "monitor.pb-c.h"
#include "vmm/qemu.h"

void reply_client(struct mon *m, int client, uint32_t stream, int code, const char *msg)
{
	struct kx_err err;

	if (client < 0 || !m->clients[client].used)
		return;
	if (ttrpc_send_response(&m->clients[client].conn, stream, code, msg, NULL, &err))
		kx_debug("reply to runtime client: %s", err.msg);
}

/* The init of container cid ("": the monitor's own), or a reply and -1. */
static int container_init(struct mon *m, const char *cid, int ci, uint32_t stream)
{
	int pi = find_proc(m, cid, "");

	if (pi < 0 || m->procs[pi].removing)
		reply_client(m, ci, stream, TTRPC_NOT_FOUND, "no such container");
	return pi < 0 || m->procs[pi].removing ? -1 : pi;
}

static void exec_process(struct mon *m, const Katasbx__Monitor__V1__ExecRequest *x, int ci,
			 uint32_t stream)
{
	Katasbx__Agent__V1__ExecProcessRequest r = KATASBX__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
	const char *paths[3] = { x->stdin, x->stdout, x->stderr };
	struct proc *pr, *init;
	char msg[200], why[160], cid[KX_ID_MAX + 1];
	int pi, i;

	if ((pi = container_init(m, x->container_id, ci, stream)) < 0)
		return;
	init = &m->procs[pi];
	memcpy(cid, init->cid, sizeof(cid));
	/* a created container takes execs too, as runc's: its init waits in its namespaces */
	if (init->waited || m->paused) {
		reply_client(m, ci, stream, TTRPC_FAILED_PRECONDITION,
			     init->waited ? "container has stopped" : "container is paused");
		return;
	}
	if (!kx_id_valid(x->exec_id) || !x->process) {
		reply_client(m, ci, stream, TTRPC_INVALID_ARGUMENT,
			     "an exec needs a valid exec id and a process");
		return;
	}
	pi = find_proc(m, cid, x->exec_id);
	if (pi > 0) {
		pr = &m->procs[pi];
		if (!(pr->waited && pr->out_eof && pr->err_eof)) {
			snprintf(msg, sizeof(msg), "exec %s already exists", x->exec_id);
			reply_client(m, ci, stream, TTRPC_ALREADY_EXISTS, msg);
			return;
		}
		free_proc(m, pi);	/* a finished exec's id may be used again */
	}
	pi = alloc_proc(m);
	if (pi < 0) {
		reply_client(m, ci, stream, TTRPC_RESOURCE_EXHAUSTED, "too many execs");
		return;
	}
	pr = &m->procs[pi];
	memset(pr, 0, sizeof(*pr));
	memcpy(pr->cid, cid, sizeof(cid));
	snprintf(pr->exec_id, sizeof(pr->exec_id), "%s", x->exec_id);
	for (i = 0; i < MAX_WAITERS; i++)
		pr->waiter[i].client = -1;
	if (open_proc_fds(pr, paths, why, sizeof(why))) {
		snprintf(msg, sizeof(msg), "exec %s: %s", x->exec_id, why);
		reply_client(m, ci, stream, TTRPC_FAILED_PRECONDITION, msg);
		return;
	}
	pr->used = true;
	r.container_id = pr->cid;
	r.exec_id = pr->exec_id;
	r.process = x->process;
	if (x->terminal)
		x->process->terminal = true;	/* a pty; stderr is empty */
	if (agent_send_proc(m, "ExecProcess", &r.base, P_EXEC, pi, ci, stream)) {
		free_proc(m, pi);
		reply_client(m, ci, stream, TTRPC_UNAVAILABLE, "cannot ask the agent");
	}
}

/* A further container in the VM, on the share's rootfs_subdir; created, not started. */
static void create_container(struct mon *m, const Katasbx__Monitor__V1__CreateContainerRequest *x,
			     int ci, uint32_t stream)
{
	Katasbx__Agent__V1__CreateContainerRequest *cr = x->container;
	const char *paths[3] = { x->stdin, x->stdout, x->stderr };
	struct proc *pr;
	char msg[300], why[200], *tag;
	int pi, i;

	if (!cr || !kx_id_valid(cr->container_id) || !cr->process) {
		reply_client(m, ci, stream, TTRPC_INVALID_ARGUMENT,
			     "a container needs a valid id and a process");
		return;
	}
	if (INIT(m)->waited || m->paused || !m->a->share_dir) {
		reply_client(m, ci, stream, TTRPC_FAILED_PRECONDITION,
			     INIT(m)->waited ? "the sandbox has stopped" :
			     m->paused ? "the sandbox is paused" : "the VM has no pod share");
		return;
	}
	if (find_proc(m, cr->container_id, "") >= 0) {
		snprintf(msg, sizeof(msg), "container %s already exists", cr->container_id);
		reply_client(m, ci, stream, TTRPC_ALREADY_EXISTS, msg);
		return;
	}
	pi = alloc_proc(m);
	if (pi < 0) {
		reply_client(m, ci, stream, TTRPC_RESOURCE_EXHAUSTED, "too many processes");
		return;
	}
	pr = &m->procs[pi];
	memset(pr, 0, sizeof(*pr));
	snprintf(pr->cid, sizeof(pr->cid), "%s", cr->container_id);
	for (i = 0; i < MAX_WAITERS; i++)
		pr->waiter[i].client = -1;
	if (open_proc_fds(pr, paths, why, sizeof(why))) {
		snprintf(msg, sizeof(msg), "container %s: %s", cr->container_id, why);
		reply_client(m, ci, stream, TTRPC_FAILED_PRECONDITION, msg);
		return;
	}
	pr->used = true;
	tag = cr->rootfs_tag;
	cr->rootfs_tag = KX_ROOTFS_TAG;	/* the VM's one share */
	if (agent_send_proc(m, "CreateContainer", &cr->base, P_CREATE, pi, ci, stream)) {
		free_proc(m, pi);
		reply_client(m, ci, stream, TTRPC_UNAVAILABLE, "cannot ask the agent");
	}
	cr->rootfs_tag = tag;	/* x is freed with its own strings */
}

/* StartContainer or DeleteContainer of a further container. */
static void container_call(struct mon *m, const char *cid, bool start, int ci, uint32_t stream)
{
	Katasbx__Agent__V1__ContainerRequest r = KATASBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	int pi;

	if (!cid || !*cid || !strcmp(cid, m->a->id)) {
		reply_client(m, ci, stream, TTRPC_INVALID_ARGUMENT,
			     "name a container made by CreateContainer");
		return;
	}
	if ((pi = container_init(m, cid, ci, stream)) < 0)
		return;
	if (start) {
		if (m->procs[pi].started || m->procs[pi].starting || m->procs[pi].waited)
			reply_client(m, ci, stream, TTRPC_FAILED_PRECONDITION,
				     m->procs[pi].waited ? "container has stopped" :
				     "container already started");
		else
			request_start(m, pi, ci, stream);
		return;
	}
	m->procs[pi].removing = true;
	r.container_id = m->procs[pi].cid;
	if (agent_send_proc(m, "RemoveContainer", &r.base, P_REMOVE, pi, ci, stream)) {
		m->procs[pi].removing = false;
		reply_client(m, ci, stream, TTRPC_UNAVAILABLE, "cannot ask the agent");
	}
}

static void wait_exec(struct mon *m, const char *cid, const char *exec_id, int ci,
		      uint32_t stream)
{
	int pi = find_proc(m, cid, exec_id), i;
	struct proc *pr;

	/* the monitor's own init is waited for through the monitor's exit */
	if (pi <= 0) {
		reply_client(m, ci, stream, TTRPC_NOT_FOUND, "no such exec");
		return;
	}
	pr = &m->procs[pi];
	for (i = 0; i < MAX_WAITERS; i++) {
		if (pr->waiter[i].client < 0) {
			pr->waiter[i].client = ci;
			pr->waiter[i].stream = stream;
			check_exec_done(m, pi);
			return;
		}
	}
	reply_client(m, ci, stream, TTRPC_RESOURCE_EXHAUSTED, "too many waiters");
}

/* The agent's TtyWinResize for a terminal process of a container. */
static void resize_pty(struct mon *m, const Katasbx__Monitor__V1__ResizePtyRequest *z, int ci,
		       uint32_t stream)
{
	Katasbx__Agent__V1__TtyWinResizeRequest r =
		KATASBX__AGENT__V1__TTY_WIN_RESIZE_REQUEST__INIT;
	int pi = find_proc(m, z->container_id, z->exec_id);

	if (pi < 0 || m->procs[pi].removing) {
		reply_client(m, ci, stream, TTRPC_NOT_FOUND, "no such process");
		return;
	}
	if (m->paused) {
		reply_client(m, ci, stream, TTRPC_FAILED_PRECONDITION, "container is paused");
		return;
	}
	r.container_id = m->procs[pi].cid;
	r.exec_id = m->procs[pi].exec_id;
	r.row = z->height;
	r.column = z->width;
	if (agent_send_proc(m, "TtyWinResize", &r.base, P_REPLY, pi, ci, stream))
		reply_client(m, ci, stream, TTRPC_UNAVAILABLE, "cannot ask the agent");
}

/* QMP stop or cont on the VM; the state says paused in between. */
static void pause_resume(struct mon *m, bool pause, int ci, uint32_t stream)
{
	struct kx_err err;

	if (INIT(m)->waited) {
		reply_client(m, ci, stream, TTRPC_FAILED_PRECONDITION, "container has stopped");
		return;
	}
	if (pause == m->paused) {
		reply_client(m, ci, stream, TTRPC_FAILED_PRECONDITION,
			     pause ? "container is already paused" : "container is not paused");
		return;
	}
	if (kx_qmp_execute(m->b.vm.qmp_fd, pause ? "stop" : "cont", NULL, NULL, 10000, &err)) {
		kx_log(KX_LOG_ERROR, "%s container %s: %s", pause ? "pause" : "resume", m->a->id,
		       err.msg);
		reply_client(m, ci, stream, TTRPC_INTERNAL, err.msg);
		return;
	}
	m->paused = pause;
	m->st.status = pause ? KX_STATUS_PAUSED :
		       m->started ? KX_STATUS_RUNNING : KX_STATUS_CREATED;
	save_state(m);
	kx_debug("container %s %s", m->a->id, pause ? "paused" : "resumed");
	reply_client(m, ci, stream, TTRPC_OK, NULL);
}

static void on_client_request(struct mon *m, int ci, struct ttrpc_frame *f)
{
	struct client *c = &m->clients[ci];
	Ttrpc__Request *req = ttrpc__request__unpack(NULL, f->len, f->data);
	struct kx_err err;

	if (!req) {
		ttrpc_send_response(&c->conn, f->stream_id, TTRPC_INVALID_ARGUMENT,
				    "malformed request", NULL, &err);
		return;
	}
	if (strcmp(req->service, KX_MONITOR_SERVICE)) {
		ttrpc_send_response(&c->conn, f->stream_id, TTRPC_UNIMPLEMENTED,
				    "unknown service", NULL, &err);
	} else if (!strcmp(req->method, "Start")) {
		if (m->started || m->start_pending || INIT(m)->waited)
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_FAILED_PRECONDITION,
					    INIT(m)->waited ? "container has stopped" :
					    "container already started", NULL, &err);
		else
			request_start(m, 0, ci, f->stream_id);
	} else if (!strcmp(req->method, "Kill")) {
		Katasbx__Monitor__V1__KillRequest *k =
			katasbx__monitor__v1__kill_request__unpack(NULL, req->payload.len,
								   req->payload.data);
		int pi;

		if (!k)
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_INVALID_ARGUMENT,
					    "malformed kill request", NULL, &err);
		else if ((pi = container_init(m, k->container_id, ci, f->stream_id)) < 0)
			;
		else if (m->procs[pi].waited)
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_FAILED_PRECONDITION,
					    "container is not running", NULL, &err);
		else if (*k->exec_id && find_proc(m, m->procs[pi].cid, k->exec_id) < 0)
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_NOT_FOUND,
					    "no such exec", NULL, &err);
		else {
			/* the init of the VM's own container: a hung guest must not keep it */
			if (pi == 0 && !*k->exec_id && k->signal == SIGKILL && !m->kill_deadline)
				m->kill_deadline = kx_now_ms() + KX_KILL_GRACE_MS;
			request_signal(m, m->procs[pi].cid, k->exec_id, k->signal, k->all, P_KILL,
				       ci, f->stream_id);
		}
		if (k)
			katasbx__monitor__v1__kill_request__free_unpacked(k, NULL);
	} else if (!strcmp(req->method, "Exec")) {
		Katasbx__Monitor__V1__ExecRequest *x =
			katasbx__monitor__v1__exec_request__unpack(NULL, req->payload.len,
								   req->payload.data);

		if (!x)
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_INVALID_ARGUMENT,
					    "malformed exec request", NULL, &err);
		else
			exec_process(m, x, ci, f->stream_id);
		if (x)
			katasbx__monitor__v1__exec_request__free_unpacked(x, NULL);
	} else if (!strcmp(req->method, "WaitExec")) {
		Katasbx__Monitor__V1__WaitExecRequest *w =
			katasbx__monitor__v1__wait_exec_request__unpack(NULL, req->payload.len,
									req->payload.data);

		if (!w)
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_INVALID_ARGUMENT,
					    "malformed wait request", NULL, &err);
		else
			wait_exec(m, w->container_id, w->exec_id, ci, f->stream_id);
		if (w)
			katasbx__monitor__v1__wait_exec_request__free_unpacked(w, NULL);
	} else if (!strcmp(req->method, "Stats") || !strcmp(req->method, "ListProcesses") ||
		   !strcmp(req->method, "StartContainer") ||
		   !strcmp(req->method, "DeleteContainer")) {
		bool stats = !strcmp(req->method, "Stats");
		bool procs = !strcmp(req->method, "ListProcesses");
		Katasbx__Monitor__V1__ContainerRequest *q =
			katasbx__monitor__v1__container_request__unpack(NULL, req->payload.len,
									req->payload.data);
		Katasbx__Agent__V1__ContainerRequest r = KATASBX__AGENT__V1__CONTAINER_REQUEST__INIT;
		int pi;

		if (!q) {
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_INVALID_ARGUMENT,
					    "malformed container request", NULL, &err);
		} else if (!stats && !procs) {
			container_call(m, q->container_id, !strcmp(req->method, "StartContainer"),
				       ci, f->stream_id);
		} else if (m->paused) {
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_FAILED_PRECONDITION,
					    "container is paused (its VM is stopped): resume it first",
					    NULL, &err);
		} else if ((pi = container_init(m, q->container_id, ci, f->stream_id)) >= 0) {
			r.container_id = m->procs[pi].cid;
			if (agent_send(m, stats ? "StatsContainer" : "ListProcesses", &r.base,
				       stats ? P_STATS : P_PROCESSES, ci, f->stream_id))
				ttrpc_send_response(&c->conn, f->stream_id, TTRPC_UNAVAILABLE,
						    "cannot ask the agent", NULL, &err);
		}
		if (q)
			katasbx__monitor__v1__container_request__free_unpacked(q, NULL);
	} else if (!strcmp(req->method, "CreateContainer")) {
		Katasbx__Monitor__V1__CreateContainerRequest *x =
			katasbx__monitor__v1__create_container_request__unpack(NULL,
					req->payload.len, req->payload.data);

		if (!x)
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_INVALID_ARGUMENT,
					    "malformed create request", NULL, &err);
		else
			create_container(m, x, ci, f->stream_id);
		if (x)
			katasbx__monitor__v1__create_container_request__free_unpacked(x, NULL);
	} else if (!strcmp(req->method, "Update")) {
		Katasbx__Agent__V1__UpdateContainerRequest *u =
			katasbx__agent__v1__update_container_request__unpack(NULL, req->payload.len,
									      req->payload.data);
		int pi;

		if (!u) {
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_INVALID_ARGUMENT,
					    "malformed update request", NULL, &err);
		} else if (m->paused) {
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_FAILED_PRECONDITION,
					    "container is paused (its VM is stopped): resume it first",
					    NULL, &err);
		} else if ((pi = container_init(m, u->container_id, ci, f->stream_id)) >= 0) {
			char *cid = u->container_id;

			u->container_id = m->procs[pi].cid;
			if (agent_send(m, "UpdateContainer", &u->base, P_REPLY, ci, f->stream_id))
				ttrpc_send_response(&c->conn, f->stream_id, TTRPC_UNAVAILABLE,
						    "cannot ask the agent", NULL, &err);
			u->container_id = cid;
		}
		if (u)
			katasbx__agent__v1__update_container_request__free_unpacked(u, NULL);
	} else if (!strcmp(req->method, "ResizePty")) {
		Katasbx__Monitor__V1__ResizePtyRequest *z =
			katasbx__monitor__v1__resize_pty_request__unpack(NULL, req->payload.len,
									 req->payload.data);

		if (!z)
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_INVALID_ARGUMENT,
					    "malformed resize request", NULL, &err);
		else
			resize_pty(m, z, ci, f->stream_id);
		if (z)
			katasbx__monitor__v1__resize_pty_request__free_unpacked(z, NULL);
	} else if (!strcmp(req->method, "Pause") || !strcmp(req->method, "Resume")) {
		pause_resume(m, !strcmp(req->method, "Pause"), ci, f->stream_id);
	} else {
		ttrpc_send_response(&c->conn, f->stream_id, TTRPC_UNIMPLEMENTED,
				    "unknown method", NULL, &err);
	}
	ttrpc__request__free_unpacked(req, NULL);
}

void drop_client(struct mon *m, int ci)
{
	int i;

	ttrpc_conn_close(&m->clients[ci].conn);
	m->clients[ci].used = false;
	for (i = 0; i < MAX_PENDING; i++)
		if (m->pend[i].client == ci)
			m->pend[i].client = -1;
	for (i = 0; i < MAX_PROCS * MAX_WAITERS; i++)
		if (m->procs[i / MAX_WAITERS].waiter[i % MAX_WAITERS].client == ci)
			m->procs[i / MAX_WAITERS].waiter[i % MAX_WAITERS].client = -1;
}

void on_client_readable(struct mon *m, int ci)
{
	struct client *c = &m->clients[ci];
	struct ttrpc_frame f;
	struct kx_err err;
	int ret;

	if (ttrpc_conn_fill(&c->conn, &err) <= 0) {
		drop_client(m, ci);
		return;
	}
	while ((ret = ttrpc_decoder_next(&c->conn.dec, &f)) == 1) {
		if (f.type == TTRPC_TYPE_REQUEST)
			on_client_request(m, ci, &f);
		free(f.data);
	}
	if (ret < 0)
		drop_client(m, ci);
}

void on_accept(struct mon *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), i;

	if (fd < 0)
		return;
	for (i = 0; i < MAX_CLIENTS; i++) {
		if (!m->clients[i].used) {
			m->clients[i].used = true;
			ttrpc_conn_init(&m->clients[i].conn, fd);
			return;
		}
	}
	close(fd);
}
