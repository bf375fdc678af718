// SPDX-License-Identifier: GPL-2.0
/*
 * The AgentService: a request frame is unpacked, dispatched by method name
 * and answered on its stream id. WaitProcess and Read{Stdout,Stderr} may
 * have to wait: they are parked and answered from pending_service() once
 * the process exited or output arrived, while other requests go on.
 */
#include "agent.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define SERVICE "katasbx.agent.v1.AgentService"

enum pend_kind { PEND_WAIT, PEND_STDOUT, PEND_STDERR };

struct pending {
	struct pending *next;
	enum pend_kind kind;
	struct call call;
	struct process *p;
	uint32_t len;
};

static struct pending *pending_head;
static struct pending **pending_tail = &pending_head;
static size_t npending;

#define MAX_PENDING 4096

static struct process *lookup(const struct call *call, const char *cid, const char *eid)
{
	struct container *c;
	struct process *p;

	if (!kx_id_valid(cid) || (*eid && !kx_id_valid(eid))) {
		reply_err(call, TTRPC_INVALID_ARGUMENT, "container or exec id invalid");
		return NULL;
	}
	c = container_find(cid);
	if (!c) {
		reply_err(call, TTRPC_NOT_FOUND, "container %s not found", cid);
		return NULL;
	}
	p = process_find(c, eid);
	if (!p)
		reply_err(call, TTRPC_NOT_FOUND, "process %s not found in container %s", eid, cid);
	return p;
}

/* True once answered. */
static bool try_answer(const struct pending *pd)
{
	struct process *p = pd->p;

	if (pd->kind == PEND_WAIT) {
		Katasbx__Agent__V1__WaitProcessResponse r =
			KATASBX__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;

		if (p->state != PROC_EXITED)
			return false;
		r.status = p->status;
		reply(&pd->call, TTRPC_OK, NULL, &r.base);
		p->waited = true;
		return true;
	} else {
		Katasbx__Agent__V1__ReadStreamResponse r =
			KATASBX__AGENT__V1__READ_STREAM_RESPONSE__INIT;
		struct out_stream *s = pd->kind == PEND_STDOUT ? &p->out : &p->err;
		size_t n = s->buf.len < pd->len ? s->buf.len : pd->len;

		if (!n && !s->eof)
			return false;
		r.data.len = n;
		r.data.data = n ? buf_head(&s->buf) : NULL;
		r.eof = !n;
		reply(&pd->call, TTRPC_OK, NULL, &r.base);
		buf_consume(&s->buf, n);
		return true;
	}
}

static int park(const struct call *call, enum pend_kind kind, struct process *p, uint32_t len)
{
	struct pending pd = { .kind = kind, .call = *call, .p = p, .len = len }, *np;

	/* Answer now when possible, unless an earlier read of this stream waits. */
	if (kind == PEND_WAIT || !npending) {
		if (try_answer(&pd))
			return 0;
	} else {
		bool queued = false;

		for (struct pending *q = pending_head; q && !queued; q = q->next)
			queued = q->p == p && q->kind == kind;
		if (!queued && try_answer(&pd))
			return 0;
	}
	if (npending >= MAX_PENDING)
		return reply_err(call, TTRPC_RESOURCE_EXHAUSTED, "too many waiting calls");
	np = malloc(sizeof(*np));
	if (!np)
		return reply_err(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
	*np = pd;
	np->next = NULL;
	*pending_tail = np;
	pending_tail = &np->next;
	npending++;
	return 0;
}

void pending_service(void)
{
	struct pending **pp = &pending_head;

	while (*pp) {
		struct pending *pd = *pp;
		bool done;

		if (!session_alive(pd->call.sid)) {
			done = true;
		} else if (pd->p->dead) {
			reply_err(&pd->call, TTRPC_NOT_FOUND, "process removed");
			done = true;
		} else {
			done = try_answer(pd);
		}
		if (!done) {
			pp = &pd->next;
			continue;
		}
		*pp = pd->next;
		if (!*pp)
			pending_tail = pp;
		npending--;
		free(pd);
	}
}

/* ---- handlers ---- */

typedef int (*handler_fn)(const struct call *call, const ProtobufCMessage *req,
			  const ProtobufCBinaryData *raw);

static int h_check(const struct call *call, const ProtobufCMessage *req,
		   const ProtobufCBinaryData *raw)
{
	Katasbx__Agent__V1__CheckResponse r = KATASBX__AGENT__V1__CHECK_RESPONSE__INIT;
	struct utsname u;
	struct timespec ts;

	uname(&u);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	r.version = AGENT_VERSION;
	r.kernel_release = u.release;
	r.uptime_ms = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return reply(call, TTRPC_OK, NULL, &r.base);
}

static int h_set_identity(const struct call *call, const ProtobufCMessage *req,
			  const ProtobufCBinaryData *raw)
{
	return identity_set(call, (const Katasbx__Agent__V1__SetIdentityRequest *)req,
			    raw->data, raw->len);
}

static int h_create(const struct call *call, const ProtobufCMessage *req,
		    const ProtobufCBinaryData *raw)
{
	return container_create(call, (const pb_create_req *)req);
}

static int h_start(const struct call *call, const ProtobufCMessage *req,
		   const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__ContainerRequest *r = (const void *)req;

	return container_start(call, r->container_id);
}

static int h_exec(const struct call *call, const ProtobufCMessage *req,
		  const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__ExecProcessRequest *r = (const void *)req;

	return container_exec(call, r->container_id, r->exec_id, r->process);
}

static int h_wait(const struct call *call, const ProtobufCMessage *req,
		  const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__ProcessRequest *r = (const void *)req;
	struct process *p = lookup(call, r->container_id, r->exec_id);

	return p ? park(call, PEND_WAIT, p, 0) : 0;
}

static int h_signal(const struct call *call, const ProtobufCMessage *req,
		    const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__SignalProcessRequest *r = (const void *)req;

	return container_signal(call, r->container_id, r->exec_id, r->signal, r->all);
}

static int h_write_stdin(const struct call *call, const ProtobufCMessage *req,
			 const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__WriteStreamRequest *r = (const void *)req;
	Katasbx__Agent__V1__WriteStreamResponse resp =
		KATASBX__AGENT__V1__WRITE_STREAM_RESPONSE__INIT;
	struct process *p = lookup(call, r->container_id, r->exec_id);
	struct kx_err err;
	ssize_t n;

	if (!p)
		return 0;
	n = stdio_write_stdin(p, r->data.data, r->data.len, &err);
	if (n < 0)
		return reply_err(call, TTRPC_FAILED_PRECONDITION, "%s", err.msg);
	resp.len = n;
	return reply(call, TTRPC_OK, NULL, &resp.base);
}

static int h_close_stdin(const struct call *call, const ProtobufCMessage *req,
			 const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__ProcessRequest *r = (const void *)req;
	struct process *p = lookup(call, r->container_id, r->exec_id);
	struct kx_err err;

	if (!p)
		return 0;
	if (stdio_close_stdin(p, &err) < 0)
		return reply_err(call, TTRPC_FAILED_PRECONDITION, "%s", err.msg);
	return reply(call, TTRPC_OK, NULL, NULL);
}

static int read_stream(const struct call *call, const ProtobufCMessage *req,
		       enum pend_kind kind)
{
	const Katasbx__Agent__V1__ReadStreamRequest *r = (const void *)req;
	struct process *p = lookup(call, r->container_id, r->exec_id);
	uint32_t len = r->len;

	if (!p)
		return 0;
	if (!len || len > READ_MAX)
		len = READ_MAX;
	return park(call, kind, p, len);
}

static int h_read_stdout(const struct call *call, const ProtobufCMessage *req,
			 const ProtobufCBinaryData *raw)
{
	return read_stream(call, req, PEND_STDOUT);
}

static int h_read_stderr(const struct call *call, const ProtobufCMessage *req,
			 const ProtobufCBinaryData *raw)
{
	return read_stream(call, req, PEND_STDERR);
}

static int h_winsize(const struct call *call, const ProtobufCMessage *req,
		     const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__TtyWinResizeRequest *r = (const void *)req;
	struct process *p = lookup(call, r->container_id, r->exec_id);
	struct kx_err err;

	if (!p)
		return 0;
	if (stdio_winsize(p, r->row, r->column, &err) < 0)
		return reply_err(call, err.errnum == EINVAL ? TTRPC_INVALID_ARGUMENT :
				 TTRPC_FAILED_PRECONDITION, "%s", err.msg);
	return reply(call, TTRPC_OK, NULL, NULL);
}

static int h_stats(const struct call *call, const ProtobufCMessage *req,
		   const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__ContainerRequest *r = (const void *)req;

	return container_stats(call, r->container_id);
}

static int h_processes(const struct call *call, const ProtobufCMessage *req,
		       const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__ContainerRequest *r = (const void *)req;

	return container_processes(call, r->container_id);
}

static int h_update(const struct call *call, const ProtobufCMessage *req,
		    const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__UpdateContainerRequest *r = (const void *)req;
	struct container *c;
	char msg[300];
	int ret;

	c = container_get(call, r->container_id, &ret);
	if (!c)
		return ret;
	if (cgroup_check_writes(r->writes, r->n_writes, msg, sizeof(msg)) ||
	    cgroup_write_all(c->cgroup, r->writes, r->n_writes, msg, sizeof(msg)) < 0)
		return reply_err(call, TTRPC_INVALID_ARGUMENT, "container %s: %s",
				 r->container_id, msg);
	return reply(call, TTRPC_OK, NULL, NULL);
}

static int h_add_network(const struct call *call, const ProtobufCMessage *req,
			 const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__AddNetworkRequest *r = (const void *)req;
	struct container *c;
	char msg[300];
	int ret;

	c = container_get(call, r->container_id, &ret);
	if (!c)
		return ret;
	if (!r->network)
		return reply_err(call, TTRPC_INVALID_ARGUMENT, "no network");
	if (c->init->state != PROC_CREATED)
		return reply_err(call, TTRPC_FAILED_PRECONDITION, "container %s is not created "
				 "and waiting to start", r->container_id);
	if (net_add(r->network, c->netns_fd, msg, sizeof(msg)) < 0)
		return reply_err(call, TTRPC_INVALID_ARGUMENT, "container %s: %s",
				 r->container_id, msg);
	return reply(call, TTRPC_OK, NULL, NULL);
}

static int h_remove(const struct call *call, const ProtobufCMessage *req,
		    const ProtobufCBinaryData *raw)
{
	const Katasbx__Agent__V1__ContainerRequest *r = (const void *)req;

	return container_remove(call, r->container_id);
}

static int h_destroy(const struct call *call, const ProtobufCMessage *req,
		     const ProtobufCBinaryData *raw)
{
	reply(call, TTRPC_OK, NULL, NULL);
	channel_flush(1000);
	containers_kill_all();
	kill(-1, SIGKILL);
	sync();
	reboot(RB_POWER_OFF);
	/* Still here: power off is not wired up; a reset ends QEMU (-no-reboot). */
	log_err("power off: %s", strerror(errno));
	reboot(RB_AUTOBOOT);
	return 0;
}

struct method {
	const char *name;
	const ProtobufCMessageDescriptor *req;
	handler_fn fn;
};

static const struct method methods[] = {
	{ "Check", &katasbx__agent__v1__empty__descriptor, h_check },
	{ "SetIdentity", &katasbx__agent__v1__set_identity_request__descriptor, h_set_identity },
	{ "CreateContainer", &katasbx__agent__v1__create_container_request__descriptor, h_create },
	{ "StartContainer", &katasbx__agent__v1__container_request__descriptor, h_start },
	{ "AddNetwork", &katasbx__agent__v1__add_network_request__descriptor, h_add_network },
	{ "ExecProcess", &katasbx__agent__v1__exec_process_request__descriptor, h_exec },
	{ "WaitProcess", &katasbx__agent__v1__process_request__descriptor, h_wait },
	{ "SignalProcess", &katasbx__agent__v1__signal_process_request__descriptor, h_signal },
	{ "WriteStdin", &katasbx__agent__v1__write_stream_request__descriptor, h_write_stdin },
	{ "CloseStdin", &katasbx__agent__v1__process_request__descriptor, h_close_stdin },
	{ "ReadStdout", &katasbx__agent__v1__read_stream_request__descriptor, h_read_stdout },
	{ "ReadStderr", &katasbx__agent__v1__read_stream_request__descriptor, h_read_stderr },
	{ "TtyWinResize", &katasbx__agent__v1__tty_win_resize_request__descriptor, h_winsize },
	{ "StatsContainer", &katasbx__agent__v1__container_request__descriptor, h_stats },
	{ "ListProcesses", &katasbx__agent__v1__container_request__descriptor, h_processes },
	{ "UpdateContainer", &katasbx__agent__v1__update_container_request__descriptor,
	  h_update },
	{ "RemoveContainer", &katasbx__agent__v1__container_request__descriptor, h_remove },
	{ "DestroySandbox", &katasbx__agent__v1__empty__descriptor, h_destroy },
};

int server_dispatch(uint64_t sid, const struct ttrpc_frame *f)
{
	struct call call = { .sid = sid, .stream = f->stream_id };
	const struct method *m = NULL;
	ProtobufCMessage *msg;
	Ttrpc__Request *r;

	r = ttrpc__request__unpack(NULL, f->len, f->data);
	if (!r)
		return -1;
	if (strcmp(r->service, SERVICE) != 0) {
		reply_err(&call, TTRPC_UNIMPLEMENTED, "unknown service %.100s", r->service);
		goto out;
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcmp(r->method, methods[i].name))
			m = &methods[i];
	if (!m) {
		reply_err(&call, TTRPC_UNIMPLEMENTED, "unknown method %.100s", r->method);
		goto out;
	}
	msg = protobuf_c_message_unpack(m->req, NULL, r->payload.len, r->payload.data);
	if (!msg) {
		reply_err(&call, TTRPC_INVALID_ARGUMENT, "malformed %s request", m->name);
		goto out;
	}
	call.method = m->name;
	log_dbg("stream %u: %s", call.stream, m->name);
	m->fn(&call, msg, &r->payload);
	protobuf_c_message_free_unpacked(msg, NULL);
out:
	ttrpc__request__free_unpacked(r, NULL);
	return 0;
}
