// SPDX-License-Identifier: GPL-2.0
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "boot.h"
#include "log.h"
#include "monitor.pb-c.h"
#include "sockets.h"
#include "state.h"
#include "ttrpc.h"
#include "vmm/qemu.h"

#define MAX_CLIENTS 16
#define MAX_PENDING 64
#define MAX_PROCS 32		/* the init (index 0), further containers' inits, execs */
#define MAX_WAITERS 4		/* WaitExec calls parked per exec */
#define READ_CHUNK (64 * 1024)

enum pending_kind {
	P_NONE = 0,
	P_START,
	P_KILL,
	P_READ_OUT,
	P_READ_ERR,
	P_WAIT,
	P_WRITE_IN,
	P_CLOSE_IN,
	P_FORWARD,	/* a forwarded signal: nobody waits for the answer */
	P_STATS,
	P_EXEC,
	P_CREATE,	/* a further container */
	P_REMOVE,
	P_REPLY,	/* answered to the client as the agent answered */
};

struct pending {
	enum pending_kind kind;
	int proc;		/* index into procs, -1: none (or gone) */
	uint32_t stream;
	int client;		/* index into clients, -1: the monitor itself */
	uint32_t client_stream;
};

/*
 * A process whose stdio the monitor relays: of its own container (cid is
 * the monitor's id) or of a further one made by CreateContainer.
 */
struct proc {
	bool used;
	char cid[KX_ID_MAX + 1];	/* the container's id in the guest */
	char exec_id[KX_ID_MAX + 1];	/* "": the container's init */
	int fd[3];			/* stdin, stdout, stderr on the host; -1: none */
	bool started, starting;		/* starting: a further container's StartContainer */
	bool removing;			/* a further container's RemoveContainer is out */
	bool out_eof, err_eof, waited;
	bool stdin_open, stdin_busy;
	int exit_status;
	struct { int client; uint32_t stream; } waiter[MAX_WAITERS];	/* client -1: free */
};

struct client {
	bool used;
	struct ttrpc_conn conn;
};

struct mon {
	const struct kx_monitor_args *a;
	struct kx_state st;
	struct kx_boot b;		/* the VM and the agent connection */
	int listen_fd;
	int sig_fd;
	struct client clients[MAX_CLIENTS];
	struct pending pend[MAX_PENDING];
	bool started, start_pending;
	struct proc procs[MAX_PROCS];	/* [0]: the init, on fds 0, 1, 2 */
	bool vm_gone;
	bool paused;		/* the VM's vCPUs are stopped (QMP stop) */
	char sock_path[4096];
};

#define INIT(m) (&(m)->procs[0])

static void reply_client(struct mon *m, int client, uint32_t stream, int code, const char *msg);

static int add_pending(struct mon *m, enum pending_kind kind, int proc, uint32_t stream,
		       int client, uint32_t client_stream)
{
	int i;

	for (i = 0; i < MAX_PENDING; i++) {
		if (m->pend[i].kind == P_NONE) {
			m->pend[i] = (struct pending){ kind, proc, stream, client, client_stream };
			return 0;
		}
	}
	return -1;
}

static int agent_send_proc(struct mon *m, const char *method, const ProtobufCMessage *msg,
			   enum pending_kind kind, int proc, int client, uint32_t client_stream)
{
	struct kx_err err;
	uint32_t stream = m->b.agent.next_stream;

	m->b.agent.next_stream += 2;
	if (add_pending(m, kind, proc, stream, client, client_stream)) {
		kx_log(KX_LOG_ERROR, "too many outstanding agent requests");
		return -1;
	}
	if (ttrpc_send_request(&m->b.agent, stream, KX_AGENT_SERVICE, method, msg, 0, &err)) {
		kx_log(KX_LOG_ERROR, "%s: %s", method, err.msg);
		return -1;
	}
	return 0;
}

static int agent_send(struct mon *m, const char *method, const ProtobufCMessage *msg,
		      enum pending_kind kind, int client, uint32_t client_stream)
{
	return agent_send_proc(m, method, msg, kind, 0, client, client_stream);
}

static void request_read(struct mon *m, int pi, bool err_stream)
{
	Katasbx__Agent__V1__ReadStreamRequest r = KATASBX__AGENT__V1__READ_STREAM_REQUEST__INIT;

	r.container_id = m->procs[pi].cid;
	r.exec_id = m->procs[pi].exec_id;
	r.len = READ_CHUNK;
	agent_send_proc(m, err_stream ? "ReadStderr" : "ReadStdout", &r.base,
			err_stream ? P_READ_ERR : P_READ_OUT, pi, -1, 0);
}

static void request_wait(struct mon *m, int pi)
{
	Katasbx__Agent__V1__ProcessRequest r = KATASBX__AGENT__V1__PROCESS_REQUEST__INIT;

	r.container_id = m->procs[pi].cid;
	r.exec_id = m->procs[pi].exec_id;
	agent_send_proc(m, "WaitProcess", &r.base, P_WAIT, pi, -1, 0);
}

static void request_close_stdin(struct mon *m, int pi)
{
	Katasbx__Agent__V1__ProcessRequest c = KATASBX__AGENT__V1__PROCESS_REQUEST__INIT;

	c.container_id = m->procs[pi].cid;
	c.exec_id = m->procs[pi].exec_id;
	m->procs[pi].stdin_open = false;
	agent_send_proc(m, "CloseStdin", &c.base, P_CLOSE_IN, pi, -1, 0);
}

/* pi: the container's init, 0 for the monitor's own */
static void request_start(struct mon *m, int pi, int client, uint32_t client_stream)
{
	Katasbx__Agent__V1__ContainerRequest r = KATASBX__AGENT__V1__CONTAINER_REQUEST__INIT;

	r.container_id = m->procs[pi].cid;
	if (pi == 0)
		m->start_pending = true;
	m->procs[pi].starting = true;
	if (agent_send_proc(m, "StartContainer", &r.base, P_START, pi, client, client_stream)) {
		m->procs[pi].starting = false;
		if (pi)
			reply_client(m, client, client_stream, TTRPC_UNAVAILABLE,
				     "cannot ask the agent");
	}
}

static void request_signal(struct mon *m, const char *cid, const char *exec_id, uint32_t sig,
			   bool all, enum pending_kind kind, int client, uint32_t client_stream)
{
	Katasbx__Agent__V1__SignalProcessRequest r =
		KATASBX__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;

	r.container_id = (char *)cid;
	r.exec_id = (char *)exec_id;
	r.signal = sig;
	r.all = all;
	agent_send(m, "SignalProcess", &r.base, kind, client, client_stream);
}

static void save_state(struct mon *m)
{
	struct kx_err err;

	if (kx_state_write(m->a->cfg->root, &m->st, &err))
		kx_log(KX_LOG_ERROR, "%s", err.msg);
}

static void reply_client(struct mon *m, int client, uint32_t stream, int code, const char *msg)
{
	struct kx_err err;

	if (client < 0 || !m->clients[client].used)
		return;
	if (ttrpc_send_response(&m->clients[client].conn, stream, code, msg, NULL, &err))
		kx_debug("reply to runtime client: %s", err.msg);
}

static void write_out(int fd, const uint8_t *p, size_t n)
{
	/* A reader that went away must not stop the container: drop its output. */
	while (fd >= 0 && n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				poll(&pfd, 1, 1000);
				continue;
			}
			return;
		}
		p += w;
		n -= w;
	}
}

static void close_proc_fds(struct proc *pr)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (pr->fd[i] >= 0)
			close(pr->fd[i]);
		pr->fd[i] = -1;
	}
}

/* An exec that exited with its output drained: answer its WaitExec calls. */
static void check_exec_done(struct mon *m, int pi)
{
	Katasbx__Monitor__V1__WaitExecResponse w = KATASBX__MONITOR__V1__WAIT_EXEC_RESPONSE__INIT;
	struct proc *pr = &m->procs[pi];
	struct kx_err err;
	int i;

	if (pi <= 0 || !pr->used || !(pr->waited && pr->out_eof && pr->err_eof))
		return;
	close_proc_fds(pr);
	pr->stdin_open = false;
	w.status = pr->exit_status;
	for (i = 0; i < MAX_WAITERS; i++) {
		int c = pr->waiter[i].client;

		if (c < 0)
			continue;
		pr->waiter[i].client = -1;
		if (m->clients[c].used &&
		    ttrpc_send_response(&m->clients[c].conn, pr->waiter[i].stream, TTRPC_OK, NULL,
					&w.base, &err))
			kx_debug("reply to WaitExec: %s", err.msg);
	}
}

static void free_proc(struct mon *m, int pi)
{
	int i;

	close_proc_fds(&m->procs[pi]);
	m->procs[pi].used = false;
	for (i = 0; i < MAX_PENDING; i++)
		if (m->pend[i].proc == pi)
			m->pend[i].proc = -1;
}

/*
 * A further container was removed from the guest: forget it and its execs,
 * answering whoever still waits for them (killed: 137).
 */
static void remove_done(struct mon *m, int ci)
{
	char cid[KX_ID_MAX + 1];
	int i;

	snprintf(cid, sizeof(cid), "%s", m->procs[ci].cid);
	for (i = 1; i < MAX_PROCS; i++) {
		struct proc *pr = &m->procs[i];

		if (!pr->used || strcmp(pr->cid, cid))
			continue;
		if (!pr->waited) {
			pr->waited = true;
			pr->exit_status = 128 + SIGKILL;
		}
		pr->out_eof = pr->err_eof = true;
		check_exec_done(m, i);
		free_proc(m, i);
	}
}

static void on_exec_started(struct mon *m, int pi)
{
	struct proc *pr = &m->procs[pi];

	pr->started = true;
	request_read(m, pi, false);
	request_read(m, pi, true);
	request_wait(m, pi);
	if (pr->fd[0] < 0)
		request_close_stdin(m, pi);
	else
		pr->stdin_open = true;
}

static void on_agent_response(struct mon *m, struct pending *p, Ttrpc__Response *r)
{
	int code = r->status ? r->status->code : TTRPC_OK;
	const char *emsg = r->status && r->status->message ? r->status->message : "";
	struct proc *pr = p->proc >= 0 ? &m->procs[p->proc] : NULL;

	switch (p->kind) {
	case P_START:
		if (p->proc > 0) {	/* a further container */
			pr->starting = false;
			if (code == TTRPC_OK) {
				pr->started = true;
				if (pr->fd[0] < 0)
					request_close_stdin(m, p->proc);
				else
					pr->stdin_open = true;
			}
			reply_client(m, p->client, p->client_stream, code, emsg);
			break;
		}
		if (p->proc < 0) {	/* removed meanwhile */
			reply_client(m, p->client, p->client_stream, code, emsg);
			break;
		}
		m->start_pending = false;
		INIT(m)->starting = false;
		if (code == TTRPC_OK) {
			m->started = true;
			INIT(m)->started = true;
			if (!m->paused) {
				m->st.status = KX_STATUS_RUNNING;
				save_state(m);
			}
			kx_debug("phase container-started %.1f ms", kx_log_elapsed_ms());
		} else if (p->client < 0) {
			/* run: nobody else to tell; the exit status follows from Wait */
			kx_log(KX_LOG_ERROR, "start container %s: %s", m->a->id, emsg);
		}
		reply_client(m, p->client, p->client_stream, code, emsg);
		break;
	case P_KILL:
	case P_REPLY:
		reply_client(m, p->client, p->client_stream, code, emsg);
		break;
	case P_EXEC:
		if (!pr)
			break;
		if (code == TTRPC_OK) {
			on_exec_started(m, p->proc);
			kx_debug("exec %s started", pr->exec_id);
		} else {
			free_proc(m, p->proc);
		}
		reply_client(m, p->client, p->client_stream, code, emsg);
		break;
	case P_CREATE:
		if (!pr) {
			reply_client(m, p->client, p->client_stream, TTRPC_NOT_FOUND,
				     "container removed while being created");
			break;
		}
		if (code == TTRPC_OK) {
			/* drain its output and watch for its exit from the start */
			request_read(m, p->proc, false);
			request_read(m, p->proc, true);
			request_wait(m, p->proc);
			kx_debug("container %s created", pr->cid);
		} else {
			free_proc(m, p->proc);
		}
		reply_client(m, p->client, p->client_stream, code, emsg);
		break;
	case P_REMOVE:
		if (pr)
			remove_done(m, p->proc);
		reply_client(m, p->client, p->client_stream, code, emsg);
		break;
	case P_STATS: {
		Katasbx__Agent__V1__StatsContainerResponse *sr = NULL;
		struct kx_err err;

		if (code == TTRPC_OK)
			sr = katasbx__agent__v1__stats_container_response__unpack(NULL,
					r->payload.len, r->payload.data);
		if (!sr) {
			reply_client(m, p->client, p->client_stream,
				     code == TTRPC_OK ? TTRPC_INTERNAL : code,
				     code == TTRPC_OK ? "malformed stats from the agent" : emsg);
			break;
		}
		if (p->client >= 0 && m->clients[p->client].used &&
		    ttrpc_send_response(&m->clients[p->client].conn, p->client_stream, TTRPC_OK,
					NULL, &sr->base, &err))
			kx_debug("reply to runtime client: %s", err.msg);
		katasbx__agent__v1__stats_container_response__free_unpacked(sr, NULL);
		break;
	}
	case P_READ_OUT:
	case P_READ_ERR: {
		bool is_err = p->kind == P_READ_ERR;
		Katasbx__Agent__V1__ReadStreamResponse *rr = NULL;

		if (!pr)
			break;
		if (code == TTRPC_OK)
			rr = katasbx__agent__v1__read_stream_response__unpack(NULL,
					r->payload.len, r->payload.data);
		if (!rr || rr->eof) {
			if (!rr && code != TTRPC_OK)
				kx_debug("read %s of \"%s\": %s", is_err ? "stderr" : "stdout",
					 pr->exec_id, emsg);
			if (is_err)
				pr->err_eof = true;
			else
				pr->out_eof = true;
		} else {
			write_out(pr->fd[is_err ? 2 : 1], rr->data.data, rr->data.len);
			request_read(m, p->proc, is_err);
		}
		if (rr)
			katasbx__agent__v1__read_stream_response__free_unpacked(rr, NULL);
		break;
	}
	case P_WAIT: {
		Katasbx__Agent__V1__WaitProcessResponse *wr = NULL;

		if (!pr)
			break;
		if (code == TTRPC_OK)
			wr = katasbx__agent__v1__wait_process_response__unpack(NULL,
					r->payload.len, r->payload.data);
		pr->waited = true;
		pr->exit_status = wr ? wr->status : 255;
		if (!wr)
			kx_log(KX_LOG_ERROR, "wait for %s%s of container %s: %s",
			       *pr->exec_id ? "exec " : "the init", pr->exec_id, pr->cid, emsg);
		if (wr)
			katasbx__agent__v1__wait_process_response__free_unpacked(wr, NULL);
		if (p->proc == 0)
			kx_debug("phase container-exited %.1f ms status %d", kx_log_elapsed_ms(),
				 pr->exit_status);
		break;
	}
	case P_WRITE_IN:
		if (!pr)
			break;
		pr->stdin_busy = false;
		if (code != TTRPC_OK) {
			kx_debug("write stdin: %s", emsg);
			pr->stdin_open = false;
		}
		break;
	default:
		break;
	}
	if (p->proc > 0)
		check_exec_done(m, p->proc);
}

static int handle_agent_frames(struct mon *m)
{
	struct ttrpc_frame f;
	int ret, i;

	while ((ret = ttrpc_decoder_next(&m->b.agent.dec, &f)) == 1) {
		Ttrpc__Response *r;

		if (f.type != TTRPC_TYPE_RESPONSE) {
			free(f.data);
			continue;
		}
		r = ttrpc__response__unpack(NULL, f.len, f.data);
		free(f.data);
		if (!r) {
			kx_log(KX_LOG_ERROR, "malformed response from the agent");
			return -1;
		}
		for (i = 0; i < MAX_PENDING; i++) {
			struct pending p = m->pend[i];

			if (p.kind == P_NONE || p.stream != f.stream_id)
				continue;
			m->pend[i].kind = P_NONE;
			on_agent_response(m, &p, r);
			break;
		}
		ttrpc__response__free_unpacked(r, NULL);
	}
	if (ret < 0) {
		kx_log(KX_LOG_ERROR, "agent sent an oversize frame");
		return -1;
	}
	return 0;
}

/* A process by container ("": the monitor's own) and exec id ("": the init); -1: none. */
static int find_proc(struct mon *m, const char *cid, const char *exec_id)
{
	int i;

	if (!cid || !*cid)
		cid = m->a->id;
	for (i = 0; i < MAX_PROCS; i++)
		if (m->procs[i].used && !strcmp(m->procs[i].cid, cid) &&
		    !strcmp(m->procs[i].exec_id, exec_id ? exec_id : ""))
			return i;
	return -1;
}

/* An exec's FIFO for writing: its reader (containerd) is there already; wait briefly if not. */
static int open_writer(const char *path)
{
	int fd, i;

	if (!*path)
		return -1;
	for (i = 0; i < 200; i++) {
		fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 || errno != ENXIO)
			break;
		usleep(10000);
	}
	if (fd >= 0)
		fcntl(fd, F_SETFL, O_WRONLY);
	return fd;
}

/* A free slot, or the oldest finished exec nobody waits for; -1: none. */
static int alloc_proc(struct mon *m)
{
	int pi;

	for (pi = 1; pi < MAX_PROCS; pi++)
		if (!m->procs[pi].used)
			return pi;
	for (pi = 1; pi < MAX_PROCS; pi++) {
		struct proc *pr = &m->procs[pi];

		if (*pr->exec_id && pr->waited && pr->out_eof && pr->err_eof) {
			free_proc(m, pi);
			return pi;
		}
	}
	return -1;
}

/* A new process's FIFOs: stdin for reading, stdout and stderr for writing. */
static int open_proc_fds(struct proc *pr, const char *const paths[3], char *msg, size_t len)
{
	int i;

	for (i = 0; i < 3; i++) {
		pr->fd[i] = -1;
		if (!paths[i] || !*paths[i])
			continue;
		pr->fd[i] = i == 0 ? open(paths[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC) :
				     open_writer(paths[i]);
		if (pr->fd[i] < 0) {
			snprintf(msg, len, "open %s: %s", paths[i], strerror(errno));
			close_proc_fds(pr);
			return -1;
		}
	}
	return 0;
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
	if (init->waited || !init->started || m->paused) {
		reply_client(m, ci, stream, TTRPC_FAILED_PRECONDITION,
			     init->waited ? "container has stopped" :
			     m->paused ? "container is paused" : "container is not running");
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
		else
			request_signal(m, m->procs[pi].cid, k->exec_id, k->signal, k->all, P_KILL,
				       ci, f->stream_id);
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
	} else if (!strcmp(req->method, "Stats") || !strcmp(req->method, "StartContainer") ||
		   !strcmp(req->method, "DeleteContainer")) {
		Katasbx__Monitor__V1__ContainerRequest *q =
			katasbx__monitor__v1__container_request__unpack(NULL, req->payload.len,
									req->payload.data);
		Katasbx__Agent__V1__ContainerRequest r = KATASBX__AGENT__V1__CONTAINER_REQUEST__INIT;
		int pi;

		if (!q) {
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_INVALID_ARGUMENT,
					    "malformed container request", NULL, &err);
		} else if (strcmp(req->method, "Stats")) {
			container_call(m, q->container_id, !strcmp(req->method, "StartContainer"),
				       ci, f->stream_id);
		} else if (m->paused) {
			ttrpc_send_response(&c->conn, f->stream_id, TTRPC_FAILED_PRECONDITION,
					    "container is paused", NULL, &err);
		} else if ((pi = container_init(m, q->container_id, ci, f->stream_id)) >= 0) {
			r.container_id = m->procs[pi].cid;
			if (agent_send(m, "StatsContainer", &r.base, P_STATS, ci, f->stream_id))
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
					    "container is paused", NULL, &err);
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

static void drop_client(struct mon *m, int ci)
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

static void on_client_readable(struct mon *m, int ci)
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

static void on_accept(struct mon *m)
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

static void on_stdin(struct mon *m, int pi)
{
	Katasbx__Agent__V1__WriteStreamRequest w = KATASBX__AGENT__V1__WRITE_STREAM_REQUEST__INIT;
	struct proc *pr = &m->procs[pi];
	uint8_t buf[READ_CHUNK];
	ssize_t n = read(pr->fd[0], buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		request_close_stdin(m, pi);
		return;
	}
	w.container_id = pr->cid;
	w.exec_id = pr->exec_id;
	w.data.data = buf;
	w.data.len = n;
	pr->stdin_busy = true;
	agent_send_proc(m, "WriteStdin", &w.base, P_WRITE_IN, pi, -1, 0);
}

/*
 * The init's terminal follows the size of the monitor's own when that is a
 * tty (runc's console socket): at creation and on each SIGWINCH.
 */
static void follow_winsize(struct mon *m)
{
	Katasbx__Agent__V1__TtyWinResizeRequest r =
		KATASBX__AGENT__V1__TTY_WIN_RESIZE_REQUEST__INIT;
	struct winsize ws;

	if (!m->a->spec->process->terminal || INIT(m)->waited || m->paused ||
	    ioctl(1, TIOCGWINSZ, &ws) || (!ws.ws_row && !ws.ws_col))
		return;
	r.container_id = INIT(m)->cid;
	r.exec_id = "";
	r.row = ws.ws_row;
	r.column = ws.ws_col;
	agent_send(m, "TtyWinResize", &r.base, P_FORWARD, -1, 0);
}

static void on_signal(struct mon *m)
{
	struct signalfd_siginfo si;

	while (read(m->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int status;

			if (!m->vm_gone && waitpid(m->b.vm.pid, &status, WNOHANG) == m->b.vm.pid) {
				m->vm_gone = true;
				m->b.vm.reaped = true;
			}
			continue;
		}
		if (si.ssi_signo == SIGWINCH) {
			follow_winsize(m);
			continue;
		}
		if (m->started && !INIT(m)->waited) {
			request_signal(m, m->a->id, "", si.ssi_signo, false, P_FORWARD, -1, 0);
		} else if (!m->started && (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT ||
					   si.ssi_signo == SIGHUP)) {
			/* a created container is torn down by signalling its monitor */
			INIT(m)->waited = INIT(m)->out_eof = INIT(m)->err_eof = true;
			INIT(m)->exit_status = 128 + si.ssi_signo;
		}
	}
}

static int listen_monitor(struct mon *m, struct kx_err *err)
{
	if (kx_state_path(m->sock_path, sizeof(m->sock_path), m->a->cfg->root, m->a->id,
			  "monitor.sock"))
		return kx_error(err, ENAMETOOLONG, "monitor socket for %s", m->a->id);
	m->listen_fd = kx_unix_listen(m->sock_path, err);
	return m->listen_fd < 0 ? -1 : 0;
}

static void vm_started(void *ctx, const struct kx_boot *b)
{
	struct mon *m = ctx;

	m->st.qemu_pid = b->vm.pid;
	m->st.qemu_start = kx_proc_start_time(b->vm.pid);
	save_state(m);
}

static int boot(struct mon *m, struct kx_err *err)
{
	const struct kx_config *cfg = m->a->cfg;
	char rundir[4096];
	Katasbx__Agent__V1__CreateContainerRequest cr =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;

	if (kx_state_path(rundir, sizeof(rundir), cfg->root, m->a->id, NULL))
		return kx_error(err, ENAMETOOLONG, "state directory of %s", m->a->id);
	/* a pod's share holds every container's rootfs: read-only is each one's own */
	if (kx_boot_vm(cfg, m->a->id, rundir,
		       m->a->share_dir ? m->a->share_dir : m->a->spec->root_path,
		       m->a->share_dir ? false : m->a->spec->root_readonly, &m->b, vm_started, m,
		       err))
		return -1;
	snprintf(m->st.accel, sizeof(m->st.accel), "%s", m->b.accel);
	snprintf(m->st.channel, sizeof(m->st.channel), "%s", m->b.channel);
	snprintf(m->st.boot, sizeof(m->st.boot), "%s", m->b.how);

	cr.container_id = (char *)m->a->id;
	cr.process = m->a->spec->process;
	cr.hostname = m->a->spec->hostname ? m->a->spec->hostname : "";
	cr.rootfs_tag = KX_ROOTFS_TAG;
	cr.rootfs_subdir = m->a->share_dir ? (char *)m->a->rootfs_subdir : "";
	cr.rootfs_readonly = m->a->spec->root_readonly;
	cr.n_mounts = m->a->spec->n_mounts;
	cr.mounts = m->a->spec->mounts;
	cr.n_masked_paths = m->a->spec->n_masked_paths;
	cr.masked_paths = m->a->spec->masked_paths;
	cr.n_readonly_paths = m->a->spec->n_readonly_paths;
	cr.readonly_paths = m->a->spec->readonly_paths;
	if (ttrpc_call(&m->b.agent, KX_AGENT_SERVICE, "CreateContainer", &cr.base,
		       &katasbx__agent__v1__empty__descriptor, NULL, cfg->boot_timeout_ms, err))
		return kx_error_wrap(err, "create container %s in the guest", m->a->id);
	kx_debug("phase container-created %.1f ms", kx_log_elapsed_ms());
	return 0;
}

static int write_pid_file(const char *path, pid_t pid, struct kx_err *err)
{
	char tmp[4200], buf[32];
	int fd, n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return kx_error(err, errno, "write pid file %s", path);
	n = snprintf(buf, sizeof(buf), "%d", pid);
	if (write(fd, buf, n) != n) {
		close(fd);
		unlink(tmp);
		return kx_error(err, errno, "write pid file %s", path);
	}
	close(fd);
	if (rename(tmp, path))
		return kx_error(err, errno, "write pid file %s", path);
	return 0;
}

static void now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

static void teardown(struct mon *m)
{
	int i;

	kx_boot_stop(&m->b);
	for (i = 0; i < MAX_CLIENTS; i++)
		if (m->clients[i].used)
			drop_client(m, i);
	if (m->listen_fd >= 0) {
		close(m->listen_fd);
		m->listen_fd = -1;
		unlink(m->sock_path);
	}
}

static void serve(struct mon *m)
{
	enum { F_AGENT, F_LISTEN, F_SIG, F_STDIN0, F_CLIENT0 = F_STDIN0 + MAX_PROCS };
	struct pollfd pfd[F_CLIENT0 + MAX_CLIENTS];
	struct proc *init = INIT(m);
	struct kx_err err;
	int i;

	while (!(init->waited && init->out_eof && init->err_eof)) {
		if (m->vm_gone || m->b.agent.eof) {
			kx_log(KX_LOG_ERROR, "container %s: the VM exited unexpectedly (see %s)",
			       m->a->id, m->b.vm.console_path);
			if (!init->waited)
				init->exit_status = 255;
			break;
		}
		memset(pfd, 0, sizeof(pfd));
		pfd[F_AGENT] = (struct pollfd){ .fd = m->b.agent.fd, .events = POLLIN };
		pfd[F_LISTEN] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
		pfd[F_SIG] = (struct pollfd){ .fd = m->sig_fd, .events = POLLIN };
		for (i = 0; i < MAX_PROCS; i++) {
			struct proc *pr = &m->procs[i];

			pfd[F_STDIN0 + i].fd = -1;
			if (pr->used && pr->started && pr->stdin_open && !pr->stdin_busy &&
			    pr->fd[0] >= 0)
				pfd[F_STDIN0 + i] = (struct pollfd){ .fd = pr->fd[0], .events = POLLIN };
		}
		for (i = 0; i < MAX_CLIENTS; i++) {
			pfd[F_CLIENT0 + i].fd = m->clients[i].used ? m->clients[i].conn.fd : -1;
			pfd[F_CLIENT0 + i].events = POLLIN;
		}
		if (poll(pfd, F_CLIENT0 + MAX_CLIENTS, -1) < 0) {
			if (errno == EINTR)
				continue;
			kx_log(KX_LOG_ERROR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[F_SIG].revents)
			on_signal(m);
		if (pfd[F_AGENT].revents) {
			if (ttrpc_conn_fill(&m->b.agent, &err) < 0 && err.errnum != EAGAIN)
				m->b.agent.eof = true;
			if (handle_agent_frames(m))
				m->b.agent.eof = true;
		}
		if (pfd[F_LISTEN].revents)
			on_accept(m);
		for (i = 0; i < MAX_PROCS; i++)
			if (pfd[F_STDIN0 + i].revents && m->procs[i].used && m->procs[i].fd[0] >= 0)
				on_stdin(m, i);
		for (i = 0; i < MAX_CLIENTS; i++)
			if (m->clients[i].used && pfd[F_CLIENT0 + i].revents)
				on_client_readable(m, i);
	}
}

static void report_ready(int fd, const char *msg)
{
	char line[1200];
	int n;

	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s\n", msg);
	if (write(fd, line, n) < 0)
		return;
	close(fd);
}

int kx_monitor_run(const struct kx_monitor_args *a, struct kx_err *err)
{
	struct mon m = { .a = a, .listen_fd = -1, .sig_fd = -1 };
	struct kx_err e2;
	sigset_t mask;
	int i, stdin_flags;

	m.b.agent.fd = -1;
	for (i = 0; i < MAX_PENDING; i++)
		m.pend[i].client = -1;
	for (i = 0; i < MAX_PROCS * MAX_WAITERS; i++)
		m.procs[i / MAX_WAITERS].waiter[i % MAX_WAITERS].client = -1;
	m.procs[0].used = true;		/* the init, on the monitor's own stdio */
	snprintf(m.procs[0].cid, sizeof(m.procs[0].cid), "%s", a->id);
	m.procs[0].fd[0] = 0;
	m.procs[0].fd[1] = 1;
	m.procs[0].fd[2] = 2;
	snprintf(m.st.id, sizeof(m.st.id), "%s", a->id);
	snprintf(m.st.bundle, sizeof(m.st.bundle), "%s", a->spec->bundle);
	m.st.status = KX_STATUS_CREATING;
	m.st.pid = getpid();
	m.st.pid_start = kx_proc_start_time(m.st.pid);
	m.st.annotations_json = a->spec->annotations_json;
	now_rfc3339(m.st.created, sizeof(m.st.created));

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	if (a->spec->process->terminal)
		sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	m.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	if (kx_state_write(a->cfg->root, &m.st, err) || listen_monitor(&m, err) ||
	    boot(&m, err))
		goto fail;
	m.st.status = KX_STATUS_CREATED;
	if (kx_state_write(a->cfg->root, &m.st, err))
		goto fail;
	if (a->pid_file && write_pid_file(a->pid_file, getpid(), err))
		goto fail;

	/* Drain output and watch for exit from the start; start comes later or now. */
	request_read(&m, 0, false);
	request_read(&m, 0, true);
	request_wait(&m, 0);
	follow_winsize(&m);
	report_ready(a->ready_fd, "ok");
	if (a->start)
		request_start(&m, 0, -1, 0);
	stdin_flags = fcntl(0, F_GETFL);
	m.procs[0].stdin_open = stdin_flags >= 0 && (stdin_flags & O_ACCMODE) != O_WRONLY;

	serve(&m);

	m.st.status = KX_STATUS_STOPPED;
	m.st.has_exit = true;
	m.st.exit_status = m.procs[0].exit_status;
	teardown(&m);
	m.st.qemu_pid = 0;
	save_state(&m);
	close(m.sig_fd);
	kx_debug("phase monitor-done %.1f ms", kx_log_elapsed_ms());
	for (i = 1; i < MAX_PROCS; i++)
		close_proc_fds(&m.procs[i]);
	return m.procs[0].exit_status;

fail:
	teardown(&m);
	close(m.sig_fd);
	kx_state_remove(a->cfg->root, a->id, &e2);
	if (a->pid_file)
		unlink(a->pid_file);
	report_ready(a->ready_fd, err->msg);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	return -1;
}

int kx_monitor_call(const char *root, const char *id, const char *method,
		    const ProtobufCMessage *req, struct kx_err *err)
{
	return kx_monitor_call_resp(root, id, method, req, &katasbx__monitor__v1__empty__descriptor,
				    NULL, 30000, err);
}

int kx_monitor_call_resp(const char *root, const char *id, const char *method,
			 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
			 ProtobufCMessage **resp, int timeout_ms, struct kx_err *err)
{
	char path[4096];
	struct ttrpc_conn c;
	int fd, ret;

	if (kx_state_path(path, sizeof(path), root, id, "monitor.sock"))
		return kx_error(err, ENAMETOOLONG, "monitor of %s", id);
	fd = kx_unix_connect(path, err);
	if (fd < 0)
		return kx_error_wrap(err, "container %s: its monitor is gone", id);
	ttrpc_conn_init(&c, fd);
	ret = ttrpc_call(&c, KX_MONITOR_SERVICE, method, req, resp_desc, resp, timeout_ms, err);
	ttrpc_conn_close(&c);
	return ret;
}
