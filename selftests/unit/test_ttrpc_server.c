// SPDX-License-Identifier: GPL-2.0
/* The ttrpc server: streams, blocking calls, bad clients, over real sockets. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "sockets.h"
#include "ttrpc.h"
#include "ttrpc_server.h"

#define SVC "test.v1.Test"

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int waiting;

/* Echo: answers a KeyValue with the same key and value "echo:" + value. */
static void m_echo(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Ttrpc__KeyValue *in = ttrpc__key_value__unpack(NULL, rq->req->payload.len,
						       rq->req->payload.data);
	Ttrpc__KeyValue out = TTRPC__KEY_VALUE__INIT;
	char val[256];

	if (!in) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "bad payload");
		return;
	}
	snprintf(val, sizeof(val), "echo:%s", in->value);
	out.key = in->key;
	out.value = val;
	ttrpc_reply_set(rp, &out.base);
	ttrpc__key_value__free_unpacked(in, NULL);
}

/* Wait: blocks until the test opens the gate. */
static void m_wait(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	pthread_mutex_lock(&gate_lock);
	waiting++;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	waiting--;
	pthread_mutex_unlock(&gate_lock);
	m_echo(ctx, rq, rp);
}

static const struct ttrpc_method methods[] = {
	{ SVC, "Echo", m_echo, false },
	{ SVC, "Wait", m_wait, true },
};

static void gate_set(bool open)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = open;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

static void wait_for_waiters(int n)
{
	pthread_mutex_lock(&gate_lock);
	while (waiting < n)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

/* A request frame (header + Ttrpc.Request with a KeyValue payload) into buf. */
static size_t make_request(uint8_t *buf, size_t cap, uint32_t stream, const char *method,
			   const char *key, const char *value)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	Ttrpc__Request r = TTRPC__REQUEST__INIT;
	uint8_t payload[512];
	size_t n;

	kv.key = (char *)key;
	kv.value = (char *)value;
	r.service = SVC;
	r.method = (char *)method;
	r.payload.data = payload;
	r.payload.len = ttrpc__key_value__pack(&kv, payload);
	n = ttrpc__request__get_packed_size(&r);
	assert_true(TTRPC_HEADER_LEN + n <= cap);
	ttrpc_encode_header(buf, n, stream, TTRPC_TYPE_REQUEST, 0);
	ttrpc__request__pack(&r, buf + TTRPC_HEADER_LEN);
	return TTRPC_HEADER_LEN + n;
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		assert_true(w > 0);
		p += w;
		n -= w;
	}
}

/* Read one response; check its stream, status code and (for OK) the echoed value. */
static void expect_response(struct ttrpc_conn *c, uint32_t stream, int code, const char *value)
{
	struct ttrpc_frame f;
	struct kx_err err;
	Ttrpc__Response *r;

	assert_int_equal(ttrpc_conn_read_frame(c, &f, 5000, &err), 1);
	assert_int_equal(f.type, TTRPC_TYPE_RESPONSE);
	assert_int_equal(f.stream_id, stream);
	r = ttrpc__response__unpack(NULL, f.len, f.data);
	free(f.data);
	assert_non_null(r);
	assert_int_equal(r->status ? r->status->code : 0, code);
	if (value) {
		Ttrpc__KeyValue *kv = ttrpc__key_value__unpack(NULL, r->payload.len,
							       r->payload.data);

		assert_non_null(kv);
		assert_string_equal(kv->value, value);
		ttrpc__key_value__free_unpacked(kv, NULL);
	}
	ttrpc__response__free_unpacked(r, NULL);
}

static int connect_pair(struct ttrpc_server *s, struct ttrpc_conn *c)
{
	struct kx_err err;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(ttrpc_server_add_conn(s, sv[1], &err), 0);
	ttrpc_conn_init(c, sv[0]);
	return 0;
}

/* Three requests in one buffer, written in odd-sized pieces. */
static void test_interleaved_streams(void **state)
{
	struct ttrpc_server *s = ttrpc_server_new(methods, 2, NULL);
	struct ttrpc_conn c;
	uint8_t buf[2048];
	size_t n = 0, off;

	connect_pair(s, &c);
	n += make_request(buf + n, sizeof(buf) - n, 1, "Echo", "k", "one");
	n += make_request(buf + n, sizeof(buf) - n, 3, "Echo", "k", "two");
	n += make_request(buf + n, sizeof(buf) - n, 5, "Nope", "k", "three");
	n += make_request(buf + n, sizeof(buf) - n, 7, "Echo", "k", "four");
	for (off = 0; off < n; off += 7)
		send_all(c.fd, buf + off, n - off < 7 ? n - off : 7);
	expect_response(&c, 1, TTRPC_OK, "echo:one");
	expect_response(&c, 3, TTRPC_OK, "echo:two");
	expect_response(&c, 5, TTRPC_UNIMPLEMENTED, NULL);
	expect_response(&c, 7, TTRPC_OK, "echo:four");
	ttrpc_conn_close(&c);
	ttrpc_server_free(s);
}

/* Two Waits block; Echo on the same connection and on another is answered meanwhile. */
static void test_blocking_call(void **state)
{
	struct ttrpc_server *s = ttrpc_server_new(methods, 2, NULL);
	struct ttrpc_conn a, b;
	uint8_t buf[512];

	gate_set(false);
	connect_pair(s, &a);
	connect_pair(s, &b);
	send_all(a.fd, buf, make_request(buf, sizeof(buf), 1, "Wait", "k", "w1"));
	send_all(b.fd, buf, make_request(buf, sizeof(buf), 1, "Wait", "k", "w2"));
	wait_for_waiters(2);
	send_all(a.fd, buf, make_request(buf, sizeof(buf), 3, "Echo", "k", "a"));
	expect_response(&a, 3, TTRPC_OK, "echo:a");
	send_all(b.fd, buf, make_request(buf, sizeof(buf), 3, "Echo", "k", "b"));
	expect_response(&b, 3, TTRPC_OK, "echo:b");
	gate_set(true);
	expect_response(&a, 1, TTRPC_OK, "echo:w1");
	expect_response(&b, 1, TTRPC_OK, "echo:w2");
	ttrpc_conn_close(&a);
	ttrpc_conn_close(&b);
	ttrpc_server_free(s);
}

struct serve_arg {
	struct ttrpc_server *s;
	int fd;
};

static void *serve_thread(void *p)
{
	struct serve_arg *a = p;
	struct kx_err e;

	ttrpc_server_serve(a->s, a->fd, &e);
	return NULL;
}

static void expect_closed(struct ttrpc_conn *c)
{
	struct ttrpc_frame f;
	struct kx_err err;

	assert_int_equal(ttrpc_conn_read_frame(c, &f, 5000, &err), 0);
}

/* An oversize frame, a malformed request and an even stream id each close their
 * own connection; a client served over the listening socket carries on. */
static void test_bad_client_closes_only_its_connection(void **state)
{
	struct ttrpc_server *s = ttrpc_server_new(methods, 2, NULL);
	struct ttrpc_conn good, big, junk, even;
	char dir[] = "/tmp/kx-ttrpc-srv-XXXXXX", path[256];
	uint8_t buf[512];
	struct kx_err err;
	struct serve_arg sa;
	int lfd, fd;
	pthread_t t;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	lfd = kx_unix_listen(path, &err);
	assert_true(lfd >= 0);
	sa = (struct serve_arg){ s, lfd };
	assert_int_equal(pthread_create(&t, NULL, serve_thread, &sa), 0);

	fd = kx_unix_connect(path, &err);
	assert_true(fd >= 0);
	ttrpc_conn_init(&good, fd);
	send_all(good.fd, buf, make_request(buf, sizeof(buf), 1, "Echo", "k", "before"));
	expect_response(&good, 1, TTRPC_OK, "echo:before");

	fd = kx_unix_connect(path, &err);
	assert_true(fd >= 0);
	ttrpc_conn_init(&big, fd);
	ttrpc_encode_header(buf, TTRPC_MAX_DATA + 1, 1, TTRPC_TYPE_REQUEST, 0);
	send_all(big.fd, buf, TTRPC_HEADER_LEN);
	expect_closed(&big);

	fd = kx_unix_connect(path, &err);
	assert_true(fd >= 0);
	ttrpc_conn_init(&junk, fd);
	ttrpc_encode_header(buf, 4, 1, TTRPC_TYPE_REQUEST, 0);
	memcpy(buf + TTRPC_HEADER_LEN, "\xff\xff\xff\xff", 4);
	send_all(junk.fd, buf, TTRPC_HEADER_LEN + 4);
	expect_closed(&junk);

	fd = kx_unix_connect(path, &err);
	assert_true(fd >= 0);
	ttrpc_conn_init(&even, fd);
	send_all(even.fd, buf, make_request(buf, sizeof(buf), 2, "Echo", "k", "even"));
	expect_closed(&even);

	send_all(good.fd, buf, make_request(buf, sizeof(buf), 3, "Echo", "k", "after"));
	expect_response(&good, 3, TTRPC_OK, "echo:after");

	ttrpc_conn_close(&big);
	ttrpc_conn_close(&junk);
	ttrpc_conn_close(&even);
	ttrpc_conn_close(&good);
	ttrpc_server_stop(s);
	pthread_join(t, NULL);
	ttrpc_server_free(s);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

static void m_stop(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	rp->stop_server = true;
}

/* A reply asking the server to stop is written before serve returns. */
static void test_stop_after_reply(void **state)
{
	static const struct ttrpc_method m[] = { { SVC, "Stop", m_stop, false } };
	struct ttrpc_server *s = ttrpc_server_new(m, 1, NULL);
	struct ttrpc_conn c;
	uint8_t buf[512];
	struct kx_err err;
	int sv[2];

	connect_pair(s, &c);
	send_all(c.fd, buf, make_request(buf, sizeof(buf), 1, "Stop", "k", "v"));
	expect_response(&c, 1, TTRPC_OK, NULL);
	/* stopped: serve returns at once */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(ttrpc_server_serve(s, sv[0], &err), 0);
	close(sv[0]);
	close(sv[1]);
	ttrpc_conn_close(&c);
	ttrpc_server_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interleaved_streams),
		cmocka_unit_test(test_blocking_call),
		cmocka_unit_test(test_bad_client_closes_only_its_connection),
		cmocka_unit_test(test_stop_after_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
