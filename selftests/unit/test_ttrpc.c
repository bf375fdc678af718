// SPDX-License-Identifier: GPL-2.0
/* ttrpc framing, connections over a socketpair, and agent.proto round trips. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.pb-c.h"
#include "ttrpc.h"

#define SERVICE "katasbx.agent.v1.AgentService"

/* A whole frame (header + payload) in buf; returns its length. */
static size_t make_frame(uint8_t *buf, uint32_t stream, uint8_t type, const char *payload)
{
	size_t len = strlen(payload);

	ttrpc_encode_header(buf, len, stream, type, 0);
	memcpy(buf + TTRPC_HEADER_LEN, payload, len);
	return TTRPC_HEADER_LEN + len;
}

static void expect_frame(struct ttrpc_decoder *d, uint32_t stream, const char *payload)
{
	struct ttrpc_frame f;

	assert_int_equal(ttrpc_decoder_next(d, &f), 1);
	assert_int_equal(f.stream_id, stream);
	assert_int_equal(f.type, TTRPC_TYPE_REQUEST);
	assert_int_equal(f.len, strlen(payload));
	assert_memory_equal(f.data, payload, f.len);
	free(f.data);
}

static void test_header_encode(void **state)
{
	static const uint8_t want[TTRPC_HEADER_LEN] = {
		0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d, 0x02, 0x81,
	};
	uint8_t hdr[TTRPC_HEADER_LEN];

	ttrpc_encode_header(hdr, 0x01020304, 0x0a0b0c0d, TTRPC_TYPE_RESPONSE, 0x81);
	assert_memory_equal(hdr, want, sizeof(want));
}

static void test_header_decode(void **state)
{
	struct ttrpc_decoder d;
	struct ttrpc_frame f;
	uint8_t buf[64];

	ttrpc_decoder_init(&d);
	ttrpc_encode_header(buf, 3, 0xfffffffe, TTRPC_TYPE_DATA, 0x05);
	memcpy(buf + TTRPC_HEADER_LEN, "abc", 3);
	assert_int_equal(ttrpc_decoder_feed(&d, buf, TTRPC_HEADER_LEN + 3), 0);
	assert_int_equal(ttrpc_decoder_next(&d, &f), 1);
	assert_int_equal(f.len, 3);
	assert_int_equal(f.stream_id, 0xfffffffe);
	assert_int_equal(f.type, TTRPC_TYPE_DATA);
	assert_int_equal(f.flags, 0x05);
	assert_memory_equal(f.data, "abc", 3);
	free(f.data);
	assert_int_equal(ttrpc_decoder_next(&d, &f), 0);
	assert_int_equal(d.len, 0);
	ttrpc_decoder_free(&d);
}

static void test_empty_payload(void **state)
{
	struct ttrpc_decoder d;
	uint8_t buf[TTRPC_HEADER_LEN];

	ttrpc_decoder_init(&d);
	assert_int_equal(ttrpc_decoder_feed(&d, buf, 0), 0);
	assert_int_equal(ttrpc_decoder_next(&d, &(struct ttrpc_frame){ 0 }), 0);
	make_frame(buf, 7, TTRPC_TYPE_REQUEST, "");
	assert_int_equal(ttrpc_decoder_feed(&d, buf, sizeof(buf)), 0);
	expect_frame(&d, 7, "");
	ttrpc_decoder_free(&d);
}

static void test_byte_at_a_time(void **state)
{
	struct ttrpc_decoder d;
	struct ttrpc_frame f;
	uint8_t buf[64];
	size_t n = make_frame(buf, 1, TTRPC_TYPE_REQUEST, "hello, agent");

	ttrpc_decoder_init(&d);
	for (size_t i = 0; i < n - 1; i++) {
		assert_int_equal(ttrpc_decoder_feed(&d, buf + i, 1), 0);
		assert_int_equal(ttrpc_decoder_next(&d, &f), 0);
	}
	assert_int_equal(ttrpc_decoder_feed(&d, buf + n - 1, 1), 0);
	expect_frame(&d, 1, "hello, agent");
	assert_int_equal(ttrpc_decoder_next(&d, &f), 0);
	ttrpc_decoder_free(&d);
}

static void test_two_frames_one_feed(void **state)
{
	struct ttrpc_decoder d;
	struct ttrpc_frame f;
	uint8_t buf[128];
	size_t n;

	n = make_frame(buf, 1, TTRPC_TYPE_REQUEST, "first");
	n += make_frame(buf + n, 3, TTRPC_TYPE_REQUEST, "second frame");
	ttrpc_decoder_init(&d);
	assert_int_equal(ttrpc_decoder_feed(&d, buf, n), 0);
	expect_frame(&d, 1, "first");
	expect_frame(&d, 3, "second frame");
	assert_int_equal(ttrpc_decoder_next(&d, &f), 0);
	ttrpc_decoder_free(&d);
}

static void test_split_frames(void **state)
{
	struct ttrpc_decoder d;
	struct ttrpc_frame f;
	uint8_t buf[128];
	size_t n1, n;

	n1 = make_frame(buf, 5, TTRPC_TYPE_REQUEST, "split payload");
	n = n1 + make_frame(buf + n1, 9, TTRPC_TYPE_REQUEST, "next");
	ttrpc_decoder_init(&d);
	/* Part of the header, then the rest of it and half the payload. */
	assert_int_equal(ttrpc_decoder_feed(&d, buf, 4), 0);
	assert_int_equal(ttrpc_decoder_next(&d, &f), 0);
	assert_int_equal(ttrpc_decoder_feed(&d, buf + 4, TTRPC_HEADER_LEN), 0);
	assert_int_equal(ttrpc_decoder_next(&d, &f), 0);
	/* The end of frame one and the start of frame two's header. */
	assert_int_equal(ttrpc_decoder_feed(&d, buf + 4 + TTRPC_HEADER_LEN, n1 - 4), 0);
	expect_frame(&d, 5, "split payload");
	assert_int_equal(ttrpc_decoder_next(&d, &f), 0);
	assert_int_equal(ttrpc_decoder_feed(&d, buf + n1 + TTRPC_HEADER_LEN,
					    n - n1 - TTRPC_HEADER_LEN), 0);
	expect_frame(&d, 9, "next");
	ttrpc_decoder_free(&d);
}

static void test_oversize(void **state)
{
	struct ttrpc_decoder d;
	struct ttrpc_frame f;
	uint8_t hdr[TTRPC_HEADER_LEN];

	/* Refused from the header alone, before any of the payload. */
	ttrpc_decoder_init(&d);
	ttrpc_encode_header(hdr, TTRPC_MAX_DATA + 1, 1, TTRPC_TYPE_REQUEST, 0);
	assert_int_equal(ttrpc_decoder_feed(&d, hdr, sizeof(hdr)), 0);
	assert_int_equal(ttrpc_decoder_next(&d, &f), -EMSGSIZE);
	ttrpc_decoder_free(&d);

	ttrpc_decoder_init(&d);
	ttrpc_encode_header(hdr, UINT32_MAX, 1, TTRPC_TYPE_REQUEST, 0);
	assert_int_equal(ttrpc_decoder_feed(&d, hdr, sizeof(hdr)), 0);
	assert_int_equal(ttrpc_decoder_next(&d, &f), -EMSGSIZE);
	ttrpc_decoder_free(&d);

	/* A lower limit is honoured; the limit itself is accepted. */
	ttrpc_decoder_init(&d);
	d.max = 4;
	ttrpc_encode_header(hdr, 4, 1, TTRPC_TYPE_REQUEST, 0);
	assert_int_equal(ttrpc_decoder_feed(&d, hdr, sizeof(hdr)), 0);
	assert_int_equal(ttrpc_decoder_feed(&d, "abcd", 4), 0);
	assert_int_equal(ttrpc_decoder_next(&d, &f), 1);
	free(f.data);
	ttrpc_encode_header(hdr, 5, 1, TTRPC_TYPE_REQUEST, 0);
	assert_int_equal(ttrpc_decoder_feed(&d, hdr, sizeof(hdr)), 0);
	assert_int_equal(ttrpc_decoder_next(&d, &f), -EMSGSIZE);
	ttrpc_decoder_free(&d);
}

static int conn_pair(struct ttrpc_conn *a, struct ttrpc_conn *b)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	ttrpc_conn_init(a, sv[0]);
	ttrpc_conn_init(b, sv[1]);
	return 0;
}

static void test_conn_frames(void **state)
{
	struct ttrpc_conn a, b;
	struct kx_err err = { 0 };
	struct ttrpc_frame f;
	uint8_t hdr[TTRPC_HEADER_LEN];

	assert_int_equal(conn_pair(&a, &b), 0);
	assert_int_equal(ttrpc_conn_write_frame(&a, 3, TTRPC_TYPE_DATA, 1, "xyz", 3, &err), 0);
	assert_int_equal(ttrpc_conn_read_frame(&b, &f, 1000, &err), 1);
	assert_int_equal(f.stream_id, 3);
	assert_int_equal(f.type, TTRPC_TYPE_DATA);
	assert_int_equal(f.flags, 1);
	assert_memory_equal(f.data, "xyz", 3);
	free(f.data);

	/* Nothing to read: a timeout, reported as ETIMEDOUT. */
	assert_int_equal(ttrpc_conn_read_frame(&b, &f, 20, &err), -1);
	assert_int_equal(err.errnum, ETIMEDOUT);

	/* Writing more than the limit is refused on the sending side. */
	assert_int_equal(ttrpc_conn_write_frame(&a, 3, TTRPC_TYPE_DATA, 0, "", TTRPC_MAX_DATA + 1,
						&err), -1);
	assert_int_equal(err.errnum, EMSGSIZE);

	/* An oversize header arriving on the wire. */
	ttrpc_encode_header(hdr, TTRPC_MAX_DATA + 1, 1, TTRPC_TYPE_REQUEST, 0);
	assert_int_equal(write(a.fd, hdr, sizeof(hdr)), sizeof(hdr));
	assert_int_equal(ttrpc_conn_read_frame(&b, &f, 1000, &err), -1);
	assert_int_equal(err.errnum, EMSGSIZE);

	/* Peer closed: 0. */
	ttrpc_conn_close(&a);
	ttrpc_conn_close(&b);
	assert_int_equal(conn_pair(&a, &b), 0);
	ttrpc_conn_close(&a);
	assert_int_equal(ttrpc_conn_read_frame(&b, &f, 1000, &err), 0);
	assert_true(b.eof);
	ttrpc_conn_close(&b);
}

static void test_read_error_null_err(void **state)
{
	struct ttrpc_conn c;
	struct ttrpc_frame f;
	int fd = open("/", O_RDONLY | O_DIRECTORY);

	/* poll() says a directory is readable, read() says EISDIR. */
	assert_true(fd >= 0);
	ttrpc_conn_init(&c, fd);
	assert_int_equal(ttrpc_conn_read_frame(&c, &f, 1000, NULL), -1);
	ttrpc_conn_close(&c);
}

static void test_request_response(void **state)
{
	Katasbx__Agent__V1__ContainerRequest req = KATASBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__ContainerRequest *inner;
	struct kx_err err = { 0 };
	struct ttrpc_conn a, b;
	struct ttrpc_frame f;
	Ttrpc__Request *r;
	Ttrpc__Response *resp;

	assert_int_equal(conn_pair(&a, &b), 0);
	req.container_id = "c1";
	assert_int_equal(ttrpc_send_request(&a, 1, SERVICE, "StartContainer", &req.base,
					    5000000000ll, &err), 0);
	assert_int_equal(ttrpc_conn_read_frame(&b, &f, 1000, &err), 1);
	assert_int_equal(f.type, TTRPC_TYPE_REQUEST);
	assert_int_equal(f.stream_id, 1);
	r = ttrpc__request__unpack(NULL, f.len, f.data);
	free(f.data);
	assert_non_null(r);
	assert_string_equal(r->service, SERVICE);
	assert_string_equal(r->method, "StartContainer");
	assert_int_equal(r->timeout_nano, 5000000000ll);
	inner = katasbx__agent__v1__container_request__unpack(NULL, r->payload.len,
							       r->payload.data);
	assert_non_null(inner);
	assert_string_equal(inner->container_id, "c1");
	katasbx__agent__v1__container_request__free_unpacked(inner, NULL);
	ttrpc__request__free_unpacked(r, NULL);

	assert_int_equal(ttrpc_send_response(&b, 1, TTRPC_NOT_FOUND, "no container c1", NULL,
					     &err), 0);
	assert_int_equal(ttrpc_conn_read_frame(&a, &f, 1000, &err), 1);
	assert_int_equal(f.type, TTRPC_TYPE_RESPONSE);
	resp = ttrpc__response__unpack(NULL, f.len, f.data);
	free(f.data);
	assert_non_null(resp);
	assert_non_null(resp->status);
	assert_int_equal(resp->status->code, TTRPC_NOT_FOUND);
	assert_string_equal(resp->status->message, "no container c1");
	assert_int_equal(resp->payload.len, 0);
	ttrpc__response__free_unpacked(resp, NULL);
	ttrpc_conn_close(&a);
	ttrpc_conn_close(&b);
}

/* A tiny agent: answers requests on its conn until the peer closes. */
static void *server(void *arg)
{
	struct ttrpc_conn *c = arg;
	struct kx_err err;
	struct ttrpc_frame f;

	while (ttrpc_conn_read_frame(c, &f, 5000, &err) == 1) {
		Ttrpc__Request *r = ttrpc__request__unpack(NULL, f.len, f.data);
		uint32_t stream = f.stream_id;

		free(f.data);
		if (!r)
			break;
		if (!strcmp(r->method, "Check")) {
			Katasbx__Agent__V1__CheckResponse cr =
				KATASBX__AGENT__V1__CHECK_RESPONSE__INIT;

			cr.version = "0.1";
			cr.kernel_release = "6.1.0";
			cr.uptime_ms = 42;
			/* A stray frame on another stream first: the client drops it. */
			ttrpc_send_response(c, stream + 2, TTRPC_OK, NULL, NULL, &err);
			ttrpc_send_response(c, stream, TTRPC_OK, NULL, &cr.base, &err);
		} else if (!strcmp(r->method, "CreateContainer")) {
			Katasbx__Agent__V1__CreateContainerRequest *cc;
			Katasbx__Agent__V1__Empty empty = KATASBX__AGENT__V1__EMPTY__INIT;

			cc = katasbx__agent__v1__create_container_request__unpack(
				NULL, r->payload.len, r->payload.data);
			if (cc && cc->process && cc->process->n_args == 2 &&
			    !strcmp(cc->process->args[1], "-c"))
				ttrpc_send_response(c, stream, TTRPC_OK, NULL, &empty.base, &err);
			else
				ttrpc_send_response(c, stream, TTRPC_INVALID_ARGUMENT,
						    "bad request", NULL, &err);
			if (cc)
				katasbx__agent__v1__create_container_request__free_unpacked(cc,
											     NULL);
		} else if (!strcmp(r->method, "Hang")) {
			/* no answer */
		} else if (!strcmp(r->method, "Bye")) {
			ttrpc__request__free_unpacked(r, NULL);
			break;
		} else {
			ttrpc_send_response(c, stream, TTRPC_NOT_FOUND, "no such container",
					    NULL, &err);
		}
		ttrpc__request__free_unpacked(r, NULL);
	}
	ttrpc_conn_close(c);
	return NULL;
}

static void test_call(void **state)
{
	Katasbx__Agent__V1__Empty empty = KATASBX__AGENT__V1__EMPTY__INIT;
	Katasbx__Agent__V1__CreateContainerRequest cc =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__Process proc = KATASBX__AGENT__V1__PROCESS__INIT;
	Katasbx__Agent__V1__ContainerRequest cr = KATASBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	char *args[] = { "sh", "-c" };
	Katasbx__Agent__V1__CheckResponse *check;
	ProtobufCMessage *resp = NULL;
	struct kx_err err = { 0 };
	struct ttrpc_conn a, b;
	pthread_t t;

	assert_int_equal(conn_pair(&a, &b), 0);
	assert_int_equal(pthread_create(&t, NULL, server, &b), 0);

	assert_int_equal(ttrpc_call(&a, SERVICE, "Check", &empty.base,
				    &katasbx__agent__v1__check_response__descriptor, &resp,
				    2000, &err), 0);
	check = (Katasbx__Agent__V1__CheckResponse *)resp;
	assert_string_equal(check->version, "0.1");
	assert_string_equal(check->kernel_release, "6.1.0");
	assert_int_equal(check->uptime_ms, 42);
	protobuf_c_message_free_unpacked(resp, NULL);
	assert_int_equal(a.next_stream, 3);

	proc.n_args = 2;
	proc.args = args;
	proc.cwd = "/";
	cc.container_id = "c1";
	cc.process = &proc;
	resp = NULL;
	assert_int_equal(ttrpc_call(&a, SERVICE, "CreateContainer", &cc.base,
				    &katasbx__agent__v1__empty__descriptor, &resp, 2000, &err), 0);
	assert_non_null(resp);
	protobuf_c_message_free_unpacked(resp, NULL);

	/* No response wanted. */
	assert_int_equal(ttrpc_call(&a, SERVICE, "CreateContainer", &cc.base, NULL, NULL,
				    -1, &err), 0);

	/* A non-OK status: -1, the code in err->code, the peer's text. */
	cr.container_id = "nope";
	resp = NULL;
	assert_int_equal(ttrpc_call(&a, SERVICE, "StartContainer", &cr.base,
				    &katasbx__agent__v1__empty__descriptor, &resp, 2000, &err), -1);
	assert_int_equal(err.code, TTRPC_NOT_FOUND);
	assert_string_equal(err.msg, "no such container");
	assert_null(resp);

	proc.n_args = 1;
	assert_int_equal(ttrpc_call(&a, SERVICE, "CreateContainer", &cc.base, NULL, NULL, 2000,
				    &err), -1);
	assert_int_equal(err.code, TTRPC_INVALID_ARGUMENT);

	/* No answer in time. */
	assert_int_equal(ttrpc_call(&a, SERVICE, "Hang", &empty.base, NULL, NULL, 50, &err), -1);
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_int_equal(err.code, 0);

	/* The peer goes away mid-call. */
	assert_int_equal(ttrpc_call(&a, SERVICE, "Bye", &empty.base, NULL, NULL, 2000, &err), -1);
	assert_int_equal(err.errnum, ECONNRESET);
	assert_non_null(strstr(err.msg, "Bye"));

	assert_int_equal(pthread_join(t, NULL), 0);
	ttrpc_conn_close(&a);
}

static void test_code_name(void **state)
{
	assert_string_equal(ttrpc_code_name(TTRPC_OK), "OK");
	assert_string_equal(ttrpc_code_name(TTRPC_NOT_FOUND), "NotFound");
	assert_string_equal(ttrpc_code_name(TTRPC_UNAVAILABLE), "Unavailable");
	assert_string_equal(ttrpc_code_name(-1), "Unknown");
	assert_string_equal(ttrpc_code_name(1000), "Unknown");
}

static void test_proto_round_trip(void **state)
{
	Katasbx__Agent__V1__CreateContainerRequest req =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT, *out;
	Katasbx__Agent__V1__Process proc = KATASBX__AGENT__V1__PROCESS__INIT;
	Katasbx__Agent__V1__User user = KATASBX__AGENT__V1__USER__INIT;
	Katasbx__Agent__V1__Capabilities caps = KATASBX__AGENT__V1__CAPABILITIES__INIT;
	Katasbx__Agent__V1__Rlimit rl = KATASBX__AGENT__V1__RLIMIT__INIT, *rls[] = { &rl };
	Katasbx__Agent__V1__Mount m = KATASBX__AGENT__V1__MOUNT__INIT, *mounts[] = { &m };
	char *args[] = { "sh", "-c", "echo hi" }, *env[] = { "PATH=/bin", "TERM=xterm" };
	char *opts[] = { "nosuid", "ro" }, *masked[] = { "/proc/kcore" };
	uint32_t gids[] = { 10, 4294967295u };
	size_t len;
	uint8_t *buf;

	user.uid = 1000;
	user.gid = 1000;
	user.n_additional_gids = 2;
	user.additional_gids = gids;
	user.has_umask = 1;
	user.umask = 022;
	caps.bounding = 1ull << 40 | 1ull << 5;
	caps.ambient = 1ull << 10;
	rl.resource = 7;
	rl.soft = 1024;
	rl.hard = UINT64_MAX;
	proc.n_args = 3;
	proc.args = args;
	proc.n_env = 2;
	proc.env = env;
	proc.cwd = "/work";
	proc.user = &user;
	proc.terminal = 1;
	proc.n_rlimits = 1;
	proc.rlimits = rls;
	proc.no_new_privileges = 1;
	proc.capabilities = &caps;
	m.destination = "/sys";
	m.type = "sysfs";
	m.source = "sysfs";
	m.n_options = 2;
	m.options = opts;
	req.container_id = "abc";
	req.process = &proc;
	req.hostname = "host";
	req.rootfs_tag = "rootfs0";
	req.rootfs_readonly = 1;
	req.n_mounts = 1;
	req.mounts = mounts;
	req.n_masked_paths = 1;
	req.masked_paths = masked;

	len = katasbx__agent__v1__create_container_request__get_packed_size(&req);
	buf = malloc(len);
	assert_non_null(buf);
	assert_int_equal(katasbx__agent__v1__create_container_request__pack(&req, buf), len);
	out = katasbx__agent__v1__create_container_request__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);

	assert_string_equal(out->container_id, "abc");
	assert_string_equal(out->hostname, "host");
	assert_string_equal(out->rootfs_tag, "rootfs0");
	assert_true(out->rootfs_readonly);
	assert_non_null(out->process);
	assert_int_equal(out->process->n_args, 3);
	assert_string_equal(out->process->args[2], "echo hi");
	assert_int_equal(out->process->n_env, 2);
	assert_string_equal(out->process->env[1], "TERM=xterm");
	assert_string_equal(out->process->cwd, "/work");
	assert_true(out->process->terminal);
	assert_true(out->process->no_new_privileges);
	assert_int_equal(out->process->user->uid, 1000);
	assert_int_equal(out->process->user->n_additional_gids, 2);
	assert_int_equal(out->process->user->additional_gids[1], 4294967295u);
	assert_true(out->process->user->has_umask);
	assert_int_equal(out->process->user->umask, 022);
	assert_int_equal(out->process->n_rlimits, 1);
	assert_int_equal(out->process->rlimits[0]->resource, 7);
	assert_int_equal(out->process->rlimits[0]->soft, 1024);
	assert_true(out->process->rlimits[0]->hard == UINT64_MAX);
	assert_true(out->process->capabilities->bounding == (1ull << 40 | 1ull << 5));
	assert_int_equal(out->process->capabilities->ambient, 1ull << 10);
	assert_int_equal(out->process->capabilities->effective, 0);
	assert_int_equal(out->n_mounts, 1);
	assert_string_equal(out->mounts[0]->destination, "/sys");
	assert_string_equal(out->mounts[0]->type, "sysfs");
	assert_int_equal(out->mounts[0]->n_options, 2);
	assert_string_equal(out->mounts[0]->options[1], "ro");
	assert_int_equal(out->n_masked_paths, 1);
	assert_int_equal(out->n_readonly_paths, 0);
	katasbx__agent__v1__create_container_request__free_unpacked(out, NULL);

	/* A Process without capabilities stays without them. */
	proc.capabilities = NULL;
	len = katasbx__agent__v1__process__get_packed_size(&proc);
	buf = malloc(len);
	assert_non_null(buf);
	katasbx__agent__v1__process__pack(&proc, buf);
	{
		Katasbx__Agent__V1__Process *p = katasbx__agent__v1__process__unpack(NULL, len, buf);

		assert_non_null(p);
		assert_null(p->capabilities);
		katasbx__agent__v1__process__free_unpacked(p, NULL);
	}
	free(buf);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_encode),
		cmocka_unit_test(test_header_decode),
		cmocka_unit_test(test_empty_payload),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_two_frames_one_feed),
		cmocka_unit_test(test_split_frames),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_conn_frames),
		cmocka_unit_test(test_read_error_null_err),
		cmocka_unit_test(test_request_response),
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_code_name),
		cmocka_unit_test(test_proto_round_trip),
	};

	return cmocka_run_group_tests_name("ttrpc", tests, NULL, NULL);
}
