// SPDX-License-Identifier: GPL-2.0
/*
 * The monitor's processes (the init, further containers' inits, execs) and
 * their stdio relay: the requests the monitor makes of the agent for them,
 * the dispatch of the agent's answers, the FIFOs and the terminal size.
 */
#include "monitor_int.h"

#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "kx_time.h"
#include "log.h"
#include "monitor.pb-c.h"

#define READ_CHUNK (64 * 1024)

/* A slot for a request's answer; its index, -1 when all are taken. */
static int add_pending(struct mon *m, enum pending_kind kind, int proc, uint32_t stream,
		       int client, uint32_t client_stream)
{
	int i;

	for (i = 0; i < MAX_PENDING; i++) {
		if (m->pend[i].kind == P_NONE) {
			m->pend[i] = (struct pending){ kind, proc, stream, client, client_stream };
			return i;
		}
	}
	return -1;
}

int agent_send_proc(struct mon *m, const char *method, const ProtobufCMessage *msg,
		    enum pending_kind kind, int proc, int client, uint32_t client_stream)
{
	struct kx_err err;
	uint32_t stream = m->b.agent.next_stream;
	int slot;

	m->b.agent.next_stream += 2;
	slot = add_pending(m, kind, proc, stream, client, client_stream);
	if (slot < 0) {
		kx_log(KX_LOG_ERROR, "too many outstanding agent requests");
		return -1;
	}
	if (ttrpc_send_request(&m->b.agent, stream, KX_AGENT_SERVICE, method, msg, 0, &err)) {
		kx_log(KX_LOG_ERROR, "%s: %s", method, err.msg);
		/* no answer comes to a request that was not sent: its slot is free again */
		m->pend[slot].kind = P_NONE;
		return -1;
	}
	return 0;
}

int agent_send(struct mon *m, const char *method, const ProtobufCMessage *msg,
	       enum pending_kind kind, int client, uint32_t client_stream)
{
	return agent_send_proc(m, method, msg, kind, 0, client, client_stream);
}

void request_read(struct mon *m, int pi, bool err_stream)
{
	Katasbx__Agent__V1__ReadStreamRequest r = KATASBX__AGENT__V1__READ_STREAM_REQUEST__INIT;

	r.container_id = m->procs[pi].cid;
	r.exec_id = m->procs[pi].exec_id;
	r.len = READ_CHUNK;
	agent_send_proc(m, err_stream ? "ReadStderr" : "ReadStdout", &r.base,
			err_stream ? P_READ_ERR : P_READ_OUT, pi, -1, 0);
}

void request_wait(struct mon *m, int pi)
{
	Katasbx__Agent__V1__ProcessRequest r = KATASBX__AGENT__V1__PROCESS_REQUEST__INIT;

	r.container_id = m->procs[pi].cid;
	r.exec_id = m->procs[pi].exec_id;
	agent_send_proc(m, "WaitProcess", &r.base, P_WAIT, pi, -1, 0);
}

void request_close_stdin(struct mon *m, int pi)
{
	Katasbx__Agent__V1__ProcessRequest c = KATASBX__AGENT__V1__PROCESS_REQUEST__INIT;

	c.container_id = m->procs[pi].cid;
	c.exec_id = m->procs[pi].exec_id;
	m->procs[pi].stdin_open = false;
	agent_send_proc(m, "CloseStdin", &c.base, P_CLOSE_IN, pi, -1, 0);
}

/*
 * Before the init starts: what CNI put in a late network's namespace since
 * create goes to the container (AddNetwork; its answer starts the init).
 * True when the start waits for that, or failed and was answered.
 */
static bool add_network(struct mon *m, int client, uint32_t client_stream)
{
	Katasbx__Agent__V1__AddNetworkRequest r = KATASBX__AGENT__V1__ADD_NETWORK_REQUEST__INIT;
	struct kx_err err;
	int found;

	if (!m->net.late || m->net_added)
		return false;
	found = kx_net_late_scan(&m->net, &err);
	if (found < 0) {
		kx_log(KX_LOG_ERROR, "start container %s: %s", m->a->id, err.msg);
		reply_client(m, client, client_stream, TTRPC_FAILED_PRECONDITION, err.msg);
		return true;
	}
	m->net_added = true;
	if (!found)
		return false;
	r.container_id = m->procs[0].cid;
	r.network = m->net.msg;
	m->start_pending = true;
	if (agent_send(m, "AddNetwork", &r.base, P_ADD_NET, client, client_stream)) {
		m->start_pending = false;
		reply_client(m, client, client_stream, TTRPC_UNAVAILABLE, "cannot ask the agent");
	}
	return true;
}

/* pi: the container's init, 0 for the monitor's own */
void request_start(struct mon *m, int pi, int client, uint32_t client_stream)
{
	Katasbx__Agent__V1__ContainerRequest r = KATASBX__AGENT__V1__CONTAINER_REQUEST__INIT;

	r.container_id = m->procs[pi].cid;
	if (pi == 0 && add_network(m, client, client_stream))
		return;
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

void request_signal(struct mon *m, const char *cid, const char *exec_id, uint32_t sig,
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

void close_proc_fds(struct proc *pr)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (pr->fd[i] >= 0)
			close(pr->fd[i]);
		pr->fd[i] = -1;
	}
}

/* An exec that exited with its output drained: answer its WaitExec calls. */
void check_exec_done(struct mon *m, int pi)
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

/* Milliseconds until the next drain ends (end_drains); -1: none runs. */
int drain_timeout(const struct mon *m)
{
	int64_t next = -1, now = kx_now_ms();
	int i;

	for (i = 0; i < MAX_PROCS; i++) {
		const struct proc *pr = &m->procs[i];

		if (pr->used && pr->waited && !(pr->out_eof && pr->err_eof) &&
		    (next < 0 || pr->drain_deadline < next))
			next = pr->drain_deadline;
	}
	return next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
}

/*
 * Processes that exited KX_EXIT_DRAIN_MS ago with their stdout or stderr
 * still open (held by what they left behind): done without that EOF.
 */
void end_drains(struct mon *m)
{
	int64_t now = kx_now_ms();
	int i;

	for (i = 0; i < MAX_PROCS; i++) {
		struct proc *pr = &m->procs[i];

		if (!pr->used || !pr->waited || (pr->out_eof && pr->err_eof) ||
		    pr->drain_deadline > now)
			continue;
		kx_debug("%s%s of container %s exited; processes it left hold its output open: "
			 "no longer relayed", *pr->exec_id ? "exec " : "the init", pr->exec_id,
			 pr->cid);
		pr->out_eof = pr->err_eof = true;
		check_exec_done(m, i);
	}
}

int kill_timeout(const struct mon *m)
{
	int64_t now = kx_now_ms();

	if (!m->kill_deadline || INIT(m)->waited)
		return -1;
	return m->kill_deadline <= now ? 0 : (int)(m->kill_deadline - now);
}

void end_kill(struct mon *m)
{
	struct proc *init = INIT(m);

	if (kill_timeout(m) != 0)
		return;
	m->kill_deadline = 0;
	kx_warn("container %s: SIGKILL not carried out by the guest within %d ms: "
	       "the VM is stopped instead", m->a->id, KX_KILL_GRACE_MS);
	if (m->b.vm.pid > 0 && !m->vm_gone)
		kill(m->b.vm.pid, SIGKILL);
	init->waited = true;
	init->exit_status = 128 + SIGKILL;
	init->out_eof = init->err_eof = true;
}

void answer_pending(struct mon *m, const char *why)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &m->pend[i];

		if (p->kind == P_NONE || p->client < 0)
			continue;
		if (p->kind == P_KILL)
			reply_client(m, p->client, p->client_stream, TTRPC_OK, NULL);
		else
			reply_client(m, p->client, p->client_stream, TTRPC_UNAVAILABLE, why);
		p->kind = P_NONE;
	}
}

void free_proc(struct mon *m, int pi)
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

/* The spec: a failing poststart hook is a warning; the container runs on. */
static void run_poststart(struct mon *m)
{
	struct kx_err err;

	if (kx_spec_run_hooks(m->a->spec, KX_HOOK_POSTSTART, &m->st, "running", &err))
		kx_warn("%s", err.msg);
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
			run_poststart(m);
		} else if (p->client < 0) {
			/* run: nobody else to tell; the exit status follows from Wait */
			kx_log(KX_LOG_ERROR, "start container %s: %s", m->a->id, emsg);
		}
		reply_client(m, p->client, p->client_stream, code, emsg);
		break;
	case P_ADD_NET:
		m->start_pending = false;
		if (code == TTRPC_OK) {
			request_start(m, 0, p->client, p->client_stream);
			break;
		}
		kx_log(KX_LOG_ERROR, "start container %s: add its network: %s", m->a->id, emsg);
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
	case P_STATS:
	case P_PROCESSES: {
		const ProtobufCMessageDescriptor *d = p->kind == P_STATS ?
			&katasbx__agent__v1__stats_container_response__descriptor :
			&katasbx__agent__v1__list_processes_response__descriptor;
		ProtobufCMessage *sr = NULL;
		struct kx_err err;

		if (code == TTRPC_OK)
			sr = protobuf_c_message_unpack(d, NULL, r->payload.len, r->payload.data);
		if (!sr) {
			reply_client(m, p->client, p->client_stream,
				     code == TTRPC_OK ? TTRPC_INTERNAL : code,
				     code == TTRPC_OK ? "malformed answer from the agent" : emsg);
			break;
		}
		if (p->client >= 0 && m->clients[p->client].used &&
		    ttrpc_send_response(&m->clients[p->client].conn, p->client_stream, TTRPC_OK,
					NULL, sr, &err))
			kx_debug("reply to runtime client: %s", err.msg);
		protobuf_c_message_free_unpacked(sr, NULL);
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
		if (is_err ? pr->err_eof : pr->out_eof) {
			/* its drain ended (end_drains): what is left is not relayed */
		} else if (!rr || rr->eof) {
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
		pr->drain_deadline = kx_now_ms() + KX_EXIT_DRAIN_MS;
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

int handle_agent_frames(struct mon *m)
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
int find_proc(struct mon *m, const char *cid, const char *exec_id)
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

/*
 * An exec's FIFO for writing: its reader (containerd) is there already; wait
 * briefly if not. Also a pipe, tty or file given as /proc/PID/fd/N (the
 * runtime's exec): a file is opened anew at offset 0, so it is appended to.
 */
static int open_writer(const char *path)
{
	struct stat sb;
	int fd, i;

	if (!*path)
		return -1;
	for (i = 0; i < 200; i++) {
		fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0 || errno != ENXIO)
			break;
		usleep(10000);
	}
	if (fd >= 0)
		fcntl(fd, F_SETFL, fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? O_APPEND : 0);
	return fd;
}

/* A free slot, or the oldest finished exec nobody waits for; -1: none. */
int alloc_proc(struct mon *m)
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
int open_proc_fds(struct proc *pr, const char *const paths[3], char *msg, size_t len)
{
	int i;

	for (i = 0; i < 3; i++) {
		pr->fd[i] = -1;
		if (!paths[i] || !*paths[i])
			continue;
		pr->fd[i] = i == 0 ? open(paths[i], O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) :
				     open_writer(paths[i]);
		if (pr->fd[i] < 0) {
			snprintf(msg, len, "open %s: %s", paths[i], strerror(errno));
			close_proc_fds(pr);
			return -1;
		}
	}
	return 0;
}

void on_stdin(struct mon *m, int pi)
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
void follow_winsize(struct mon *m)
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
