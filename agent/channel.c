// SPDX-License-Identifier: GPL-2.0
/*
 * The host channel: one virtio-serial port (katasbx.channel=serial, the
 * default) or a vsock listener with any number of connections. Responses
 * are queued per connection and written without blocking, so that a host
 * that stops reading never stalls PID 1.
 */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define SERIAL_NAME "katasbx.agent"
#define MAX_CONNS 64
#define OUTQ_MAX (32u << 20)
#define OPEN_RETRY_MS 10
#define HANGUP_RETRY_MS 20

struct conn {
	struct conn *next;
	struct ttrpc_conn tc;
	uint64_t sid;		/* changes whenever the peer may have changed */
	bool serial;
	bool dead;
	struct buf out;
	int64_t retry_at;	/* serial: host hung up, look again at */
};

static struct conn *conns;
static size_t nconns;
static int listen_fd = -1;
static int64_t listen_pause_until;
static bool have_serial;
static uint64_t next_sid = 1;
static int64_t open_retry_at;
static int64_t open_since;
static bool open_warned;

static struct conn *conn_new(int fd, bool serial)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	ttrpc_conn_init(&c->tc, fd);
	c->sid = next_sid++;
	c->serial = serial;
	c->next = conns;
	conns = c;
	nconns++;
	return c;
}

static void conn_free(void *p)
{
	struct conn *c = p;

	buf_free(&c->out);
	free(c);
}

static void conn_drop(struct conn *c, bool hangup, const char *why)
{
	if (why)
		log_err("host connection: %s", why);
	if (c->serial) {
		/* The port stays ours: forget the session, keep serving. */
		ttrpc_decoder_free(&c->tc.dec);
		ttrpc_decoder_init(&c->tc.dec);
		c->tc.eof = false;
		buf_free(&c->out);
		c->sid = next_sid++;
		if (hangup)
			c->retry_at = now_ms() + HANGUP_RETRY_MS;
		return;
	}
	for (struct conn **pp = &conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	nconns--;
	ttrpc_conn_close(&c->tc);
	c->dead = true;
	defer_free(conn_free, c);
}

static struct conn *conn_by_sid(uint64_t sid)
{
	for (struct conn *c = conns; c; c = c->next)
		if (c->sid == sid && !c->dead)
			return c;
	return NULL;
}

bool session_alive(uint64_t sid)
{
	return conn_by_sid(sid) != NULL;
}

static void conn_flush(struct conn *c)
{
	while (c->out.len) {
		ssize_t n = write(c->tc.fd, buf_head(&c->out), c->out.len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* Serial: the host hung up; the read side notices it too. */
			if (c->serial && (errno == EPIPE || errno == ECONNRESET))
				conn_drop(c, true, NULL);
			else
				conn_drop(c, true, strerror(errno));
			return;
		}
		buf_consume(&c->out, n);
	}
}

#ifdef KX_AGENT_FAULTS
/*
 * A hostile guest, for the test image only: from the reply to the first
 * katasbx.fault_on=METHOD request on (all of them when it is not set), what
 * katasbx.fault names instead:
 *   garbage    4 KiB of pseudo-random bytes
 *   oversize   a header announcing a payload over the 4 MiB cap
 *   stall      a valid header, then never its payload
 *   badstream  the reply, on a stream the host never opened
 *   silent     nothing at all
 * Returns the stream to reply on, or 0 when the reply was replaced.
 */
static uint32_t fault_reply(struct conn *c, const struct call *call)
{
	static uint32_t x = 2463534242u;
	static bool armed;
	const char *f = agent_cfg.fault, *on = agent_cfg.fault_on;
	uint32_t stream = call->stream;
	uint8_t *p;
	size_t n = 0;

	if (!f)
		return stream;
	if (!on || (call->method && !strcmp(call->method, on)))
		armed = true;
	if (!armed)
		return stream;
	if (!strcmp(f, "badstream"))
		return stream + 1000;
	if (!strcmp(f, "silent") || buf_reserve(&c->out, 4096))
		return 0;
	p = buf_tail(&c->out);
	if (!strcmp(f, "garbage")) {
		for (n = 0; n < 4096; n++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			p[n] = (uint8_t)x;
		}
	} else if (!strcmp(f, "oversize") || !strcmp(f, "stall")) {
		ttrpc_encode_header(p, !strcmp(f, "stall") ? 64 : TTRPC_MAX_DATA + 1, stream,
				    TTRPC_TYPE_RESPONSE, 0);
		n = TTRPC_HEADER_LEN;
	}
	c->out.len += n;
	conn_flush(c);
	return 0;
}
#endif

int reply(const struct call *call, int code, const char *msg, const ProtobufCMessage *m)
{
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	Ttrpc__Status st = TTRPC__STATUS__INIT;
	struct conn *c = conn_by_sid(call->sid);
	uint32_t stream = call->stream;
	uint8_t *payload = NULL;
	size_t len;

	if (!c)
		return 0;
#ifdef KX_AGENT_FAULTS
	stream = fault_reply(c, call);
	if (!stream)
		return 0;
#endif
	st.code = code;
	st.message = (char *)(msg ? msg : "");
	resp.status = &st;
	if (code == TTRPC_OK && m) {
		resp.payload.len = protobuf_c_message_get_packed_size(m);
		payload = malloc(resp.payload.len ? resp.payload.len : 1);
		if (!payload) {
			st.code = TTRPC_RESOURCE_EXHAUSTED;
			st.message = "agent out of memory";
			resp.payload.len = 0;
		} else {
			protobuf_c_message_pack(m, payload);
			resp.payload.data = payload;
		}
	}
	len = ttrpc__response__get_packed_size(&resp);
	if (len > TTRPC_MAX_DATA || c->out.len + len > OUTQ_MAX ||
	    buf_reserve(&c->out, TTRPC_HEADER_LEN + len)) {
		free(payload);
		conn_drop(c, false, "response queue full");
		return 0;
	}
	ttrpc_encode_header(buf_tail(&c->out), len, stream, TTRPC_TYPE_RESPONSE, 0);
	ttrpc__response__pack(&resp, buf_tail(&c->out) + TTRPC_HEADER_LEN);
	c->out.len += TTRPC_HEADER_LEN + len;
	free(payload);
	conn_flush(c);
	return 0;
}

int reply_err(const struct call *call, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_dbg("stream %u: %s: %s", call->stream, ttrpc_code_name(code), msg);
	return reply(call, code, msg, NULL);
}

static void on_conn(void *ptr, short revents)
{
	struct conn *c = ptr;
	struct kx_err err;
	uint64_t sid = c->sid;
	ssize_t n;

	if (c->dead)
		return;
	if (revents & POLLOUT)
		conn_flush(c);
	if (c->dead || c->sid != sid || !(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = ttrpc_conn_fill(&c->tc, &err);
	if (n < 0) {
		if (err.errnum == EAGAIN && !(revents & POLLERR))
			return;
		conn_drop(c, true, err.msg);
		return;
	}
	if (n == 0) {
		log_dbg("host hung up");
		conn_drop(c, true, NULL);
		return;
	}
	for (;;) {
		struct ttrpc_frame f;
		int ret = ttrpc_decoder_next(&c->tc.dec, &f);

		if (ret == 0)
			break;
		if (ret < 0) {
			conn_drop(c, false, ret == -EMSGSIZE ? "oversize frame" : "out of memory");
			return;
		}
		if (f.type == TTRPC_TYPE_REQUEST && server_dispatch(c->sid, &f) < 0) {
			free(f.data);
			conn_drop(c, false, "malformed request");
			return;
		}
		free(f.data);
		if (c->dead || c->sid != sid)
			return;
	}
}

static void on_listen(void *ptr, short revents)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN)
				return;
			/* Out of fds or memory: the listener would stay readable. */
			log_err("vsock accept: %s", strerror(errno));
			listen_pause_until = now_ms() + 100;
			return;
		}
		if (nconns >= MAX_CONNS || !conn_new(fd, false)) {
			log_err("vsock: too many connections, refusing one");
			close(fd);
			continue;
		}
		log_dbg("vsock: host connected");
	}
}

static int serial_open(void)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *de;
	int fd = -1;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[300], name[64];
		ssize_t n;

		if (strncmp(de->d_name, "vport", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
		n = read_file(path, name, sizeof(name));
		if (n <= 0)
			continue;
		if (name[n - 1] == '\n')
			name[n - 1] = '\0';
		if (strcmp(name, SERIAL_NAME) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0)
			log_dbg("channel: %s", path);
		break;
	}
	closedir(d);
	return fd;
}

static int vsock_listen(void)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_ANY,
		.svm_port = agent_cfg.port,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	log_dbg("channel: vsock port %u", agent_cfg.port);
	return fd;
}

/* The port or the vsock transport may show up a little after the modules load. */
static void channel_try_open(void)
{
	int64_t now = now_ms();

	if (now < open_retry_at) {
		loop_timeout(open_retry_at - now);
		return;
	}
	if (agent_cfg.vsock) {
		listen_fd = vsock_listen();
	} else {
		int fd = serial_open();

		if (fd >= 0 && conn_new(fd, true))
			have_serial = true;
		else if (fd >= 0)
			close(fd);
	}
	if (listen_fd >= 0 || have_serial)
		return;
	if (!open_warned && now - open_since > 5000) {
		log_err("no host channel yet (%s), still looking",
			agent_cfg.vsock ? "vsock" : "virtio-serial port " SERIAL_NAME);
		open_warned = true;
	}
	open_retry_at = now + (now - open_since > 1000 ? 100 : OPEN_RETRY_MS);
	loop_timeout(open_retry_at - now);
}

void channel_init(void)
{
	open_since = now_ms();
	channel_try_open();
}

void channel_poll(void)
{
	int64_t now = 0;

	if (listen_fd < 0 && !have_serial)
		channel_try_open();
	if (listen_fd >= 0) {
		now = now_ms();
		if (now >= listen_pause_until)
			loop_add(listen_fd, POLLIN, on_listen, NULL);
		else
			loop_timeout(listen_pause_until - now);
	}
	for (struct conn *c = conns; c; c = c->next) {
		if (c->retry_at) {
			if (!now)
				now = now_ms();
			if (now < c->retry_at) {
				loop_timeout(c->retry_at - now);
				continue;
			}
			c->retry_at = 0;
		}
		loop_add(c->tc.fd, POLLIN | (c->out.len ? POLLOUT : 0), on_conn, c);
	}
}

void channel_flush(int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd[MAX_CONNS + 1];
		struct conn *who[MAX_CONNS + 1];
		size_t n = 0;
		int64_t left = deadline - now_ms();

		for (struct conn *c = conns; c && n < MAX_CONNS + 1; c = c->next) {
			if (!c->out.len)
				continue;
			pfd[n] = (struct pollfd){ .fd = c->tc.fd, .events = POLLOUT };
			who[n++] = c;
		}
		if (!n || left <= 0)
			return;
		if (poll(pfd, n, left) <= 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (pfd[i].revents & POLLOUT)
				conn_flush(who[i]);
			else if (pfd[i].revents)
				buf_free(&who[i]->out);
		}
	}
}
