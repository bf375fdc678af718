// SPDX-License-Identifier: GPL-2.0
#include "ttrpc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct sconn {
	struct ttrpc_server *s;
	struct ttrpc_conn c;
	pthread_mutex_t wlock;	/* one frame at a time on the socket */
	int refs;		/* the reader thread and each call in flight; under s->lock */
	struct sconn *next;
};

struct ttrpc_server {
	const struct ttrpc_method *methods;
	size_t n_methods;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t idle;	/* signalled when a thread ends */
	struct sconn *conns;
	int n_conns;
	int readers;		/* reader threads alive */
	int calls;		/* call threads alive */
	int wake[2];		/* wakes ttrpc_server_serve */
	bool stopping;
};

struct call {
	struct sconn *conn;
	const struct ttrpc_method *m;
	Ttrpc__Request *req;
	uint32_t stream;
};

int ttrpc_reply_set(struct ttrpc_reply *rp, const ProtobufCMessage *msg)
{
	size_t n;

	rp->code = TTRPC_OK;
	free(rp->payload);
	rp->payload = NULL;
	rp->len = 0;
	if (!msg)
		return 0;
	n = protobuf_c_message_get_packed_size(msg);
	rp->payload = malloc(n ? n : 1);
	if (!rp->payload) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "out of memory");
		return -1;
	}
	rp->len = protobuf_c_message_pack(msg, rp->payload);
	return 0;
}

void ttrpc_reply_error(struct ttrpc_reply *rp, int code, const char *fmt, ...)
{
	va_list ap;

	rp->code = code;
	va_start(ap, fmt);
	vsnprintf(rp->msg, sizeof(rp->msg), fmt, ap);
	va_end(ap);
	free(rp->payload);
	rp->payload = NULL;
	rp->len = 0;
}

const char *ttrpc_request_metadata(const Ttrpc__Request *req, const char *key)
{
	size_t i;

	for (i = 0; i < req->n_metadata; i++)
		if (req->metadata[i]->key && !strcmp(req->metadata[i]->key, key))
			return req->metadata[i]->value;
	return NULL;
}

struct ttrpc_server *ttrpc_server_new(const struct ttrpc_method *methods, size_t n, void *ctx)
{
	struct ttrpc_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK)) {
		free(s);
		return NULL;
	}
	s->methods = methods;
	s->n_methods = n;
	s->ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	return s;
}

static void conn_put(struct sconn *c)
{
	struct ttrpc_server *s = c->s;
	struct sconn **pp;
	bool last;

	pthread_mutex_lock(&s->lock);
	last = --c->refs == 0;
	if (last) {
		for (pp = &s->conns; *pp; pp = &(*pp)->next) {
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		}
		s->n_conns--;
	}
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	ttrpc_conn_close(&c->c);
	pthread_mutex_destroy(&c->wlock);
	free(c);
}

/* Whole frames with send(MSG_NOSIGNAL): a vanished client must not kill the server. */
static int send_frame(struct sconn *c, uint32_t stream, const uint8_t *data, size_t len)
{
	uint8_t *buf = malloc(TTRPC_HEADER_LEN + len);
	size_t off = 0, total = TTRPC_HEADER_LEN + len;
	int ret = 0;

	if (!buf)
		return -1;
	ttrpc_encode_header(buf, len, stream, TTRPC_TYPE_RESPONSE, 0);
	if (len)
		memcpy(buf + TTRPC_HEADER_LEN, data, len);
	pthread_mutex_lock(&c->wlock);
	while (off < total) {
		ssize_t w = send(c->c.fd, buf + off, total - off, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -1;
			break;
		}
		off += w;
	}
	pthread_mutex_unlock(&c->wlock);
	free(buf);
	return ret;
}

static void send_reply(struct sconn *c, uint32_t stream, const struct ttrpc_reply *rp)
{
	Ttrpc__Response r = TTRPC__RESPONSE__INIT;
	Ttrpc__Status st = TTRPC__STATUS__INIT;
	uint8_t *buf;
	size_t n;

	if (rp->code != TTRPC_OK) {
		st.code = rp->code;
		st.message = (char *)rp->msg;
		r.status = &st;
	} else {
		r.payload.data = rp->payload;
		r.payload.len = rp->len;
	}
	n = ttrpc__response__get_packed_size(&r);
	if (n > TTRPC_MAX_DATA) {
		struct ttrpc_reply big = { .code = TTRPC_RESOURCE_EXHAUSTED };

		snprintf(big.msg, sizeof(big.msg), "response of %zu bytes is over the limit", n);
		send_reply(c, stream, &big);
		return;
	}
	buf = malloc(n ? n : 1);
	if (!buf)
		return;
	ttrpc__response__pack(&r, buf);
	send_frame(c, stream, buf, n);
	free(buf);
}

static void run_call(struct call *k)
{
	struct ttrpc_reply rp = { .code = TTRPC_OK };
	struct ttrpc_request_info rq = { .req = k->req, .stream_id = k->stream };

	k->m->fn(k->conn->s->ctx, &rq, &rp);
	send_reply(k->conn, k->stream, &rp);
	free(rp.payload);
	if (rp.stop_server)
		ttrpc_server_stop(k->conn->s);
}

static void *call_thread(void *arg)
{
	struct call *k = arg;
	struct ttrpc_server *s = k->conn->s;

	run_call(k);
	ttrpc__request__free_unpacked(k->req, NULL);
	conn_put(k->conn);
	free(k);
	pthread_mutex_lock(&s->lock);
	s->calls--;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static const struct ttrpc_method *find_method(struct ttrpc_server *s, const Ttrpc__Request *r)
{
	size_t i;

	for (i = 0; i < s->n_methods; i++)
		if (!strcmp(s->methods[i].service, r->service) &&
		    !strcmp(s->methods[i].method, r->method))
			return &s->methods[i];
	return NULL;
}

/* -1: the frame is not a request we can read; the connection is closed. */
static int on_frame(struct sconn *c, struct ttrpc_frame *f)
{
	struct ttrpc_server *s = c->s;
	struct call *k;
	pthread_t t;
	pthread_attr_t attr;
	Ttrpc__Request *req;
	const struct ttrpc_method *m;

	if (f->type != TTRPC_TYPE_REQUEST)
		return 0;	/* data frames of streaming calls: none served here */
	if (!(f->stream_id & 1))
		return -1;	/* clients use odd stream ids */
	req = ttrpc__request__unpack(NULL, f->len, f->data);
	if (!req)
		return -1;
	m = find_method(s, req);
	if (!m) {
		struct ttrpc_reply rp = { .code = TTRPC_UNIMPLEMENTED };

		snprintf(rp.msg, sizeof(rp.msg), "%s/%s is not implemented", req->service,
			 req->method);
		send_reply(c, f->stream_id, &rp);
		ttrpc__request__free_unpacked(req, NULL);
		return 0;
	}
	k = malloc(sizeof(*k));
	if (!k) {
		ttrpc__request__free_unpacked(req, NULL);
		return -1;
	}
	*k = (struct call){ .conn = c, .m = m, .req = req, .stream = f->stream_id };
	if (!m->blocking) {
		run_call(k);
		ttrpc__request__free_unpacked(req, NULL);
		free(k);
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	c->refs++;
	s->calls++;
	pthread_mutex_unlock(&s->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, call_thread, k)) {
		struct ttrpc_reply rp = { .code = TTRPC_RESOURCE_EXHAUSTED };

		snprintf(rp.msg, sizeof(rp.msg), "no thread for %s", req->method);
		send_reply(c, f->stream_id, &rp);
		ttrpc__request__free_unpacked(req, NULL);
		free(k);
		pthread_mutex_lock(&s->lock);
		c->refs--;
		s->calls--;
		pthread_mutex_unlock(&s->lock);
	}
	pthread_attr_destroy(&attr);
	return 0;
}

static void *reader_thread(void *arg)
{
	struct sconn *c = arg;
	struct ttrpc_server *s = c->s;
	struct ttrpc_frame f;
	struct kx_err err;
	bool done = false;

	while (!done) {
		int ret;

		if (ttrpc_conn_fill(&c->c, &err) <= 0)
			break;
		while ((ret = ttrpc_decoder_next(&c->c.dec, &f)) == 1) {
			ret = on_frame(c, &f);
			free(f.data);
			if (ret < 0)
				break;
		}
		done = ret < 0;
	}
	/* The client sees the close now, even while calls of its still run. */
	shutdown(c->c.fd, SHUT_RDWR);
	conn_put(c);
	pthread_mutex_lock(&s->lock);
	s->readers--;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int ttrpc_server_add_conn(struct ttrpc_server *s, int fd, struct kx_err *err)
{
	struct sconn *c = calloc(1, sizeof(*c));
	pthread_attr_t attr;
	pthread_t t;
	int flags = fcntl(fd, F_GETFL);

	if (!c) {
		close(fd);
		return kx_error(err, ENOMEM, "ttrpc connection");
	}
	/* The reader blocks in read(); accepted sockets may come non-blocking. */
	if (flags >= 0 && (flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	c->s = s;
	ttrpc_conn_init(&c->c, fd);
	pthread_mutex_init(&c->wlock, NULL);
	c->refs = 1;
	pthread_mutex_lock(&s->lock);
	c->next = s->conns;
	s->conns = c;
	s->n_conns++;
	s->readers++;
	pthread_mutex_unlock(&s->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, reader_thread, c)) {
		pthread_attr_destroy(&attr);
		pthread_mutex_lock(&s->lock);
		s->readers--;
		pthread_mutex_unlock(&s->lock);
		conn_put(c);
		return kx_error(err, EAGAIN, "ttrpc connection thread");
	}
	pthread_attr_destroy(&attr);
	return 0;
}

int ttrpc_server_serve(struct ttrpc_server *s, int listen_fd, struct kx_err *err)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = listen_fd, .events = POLLIN },
			{ .fd = s->wake[0], .events = POLLIN },
		};
		bool stop;
		int fd;

		pthread_mutex_lock(&s->lock);
		stop = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			return 0;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return kx_error(err, errno, "ttrpc server: poll");
		}
		if (pfd[1].revents) {
			char b[64];

			while (read(s->wake[0], b, sizeof(b)) > 0)
				;
		}
		if (!pfd[0].revents)
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (ttrpc_server_add_conn(s, fd, err))
			continue;	/* that client is turned away; others go on */
	}
}

void ttrpc_server_stop(struct ttrpc_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_mutex_unlock(&s->lock);
	if (write(s->wake[1], "x", 1) < 0) {
		/* full pipe: serve is woken already */
	}
}

int ttrpc_server_conn_count(struct ttrpc_server *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->n_conns;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void ttrpc_server_free(struct ttrpc_server *s)
{
	struct sconn *c;

	if (!s)
		return;
	ttrpc_server_stop(s);
	pthread_mutex_lock(&s->lock);
	while (s->calls)
		pthread_cond_wait(&s->idle, &s->lock);
	for (c = s->conns; c; c = c->next)
		shutdown(c->c.fd, SHUT_RDWR);
	while (s->readers)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->idle);
	free(s);
}
