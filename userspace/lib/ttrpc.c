// SPDX-License-Identifier: GPL-2.0
#include "ttrpc.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "kx_time.h"

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void ttrpc_encode_header(uint8_t hdr[TTRPC_HEADER_LEN], uint32_t len, uint32_t stream_id,
			 uint8_t type, uint8_t flags)
{
	put_be32(hdr, len);
	put_be32(hdr + 4, stream_id);
	hdr[8] = type;
	hdr[9] = flags;
}

void ttrpc_decoder_init(struct ttrpc_decoder *d)
{
	memset(d, 0, sizeof(*d));
	d->max = TTRPC_MAX_DATA;
}

void ttrpc_decoder_free(struct ttrpc_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->len = d->cap = 0;
}

int ttrpc_decoder_feed(struct ttrpc_decoder *d, const void *data, size_t n)
{
	if (!n)		/* d->buf may still be NULL: memcpy(NULL, ..., 0) is undefined */
		return 0;
	if (d->len + n > d->cap) {
		size_t cap = d->cap ? d->cap : 4096;
		uint8_t *nb;

		while (cap < d->len + n)
			cap *= 2;
		nb = realloc(d->buf, cap);
		if (!nb)
			return -ENOMEM;
		d->buf = nb;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, data, n);
	d->len += n;
	return 0;
}

int ttrpc_decoder_next(struct ttrpc_decoder *d, struct ttrpc_frame *f)
{
	uint32_t len;

	if (d->len < TTRPC_HEADER_LEN)
		return 0;
	len = get_be32(d->buf);
	/* Refuse before buffering: a peer must not make us hold 4 GiB. */
	if (len > d->max)
		return -EMSGSIZE;
	if (d->len < TTRPC_HEADER_LEN + (size_t)len)
		return 0;
	f->len = len;
	f->stream_id = get_be32(d->buf + 4);
	f->type = d->buf[8];
	f->flags = d->buf[9];
	f->data = malloc(len ? len : 1);
	if (!f->data)
		return -ENOMEM;
	memcpy(f->data, d->buf + TTRPC_HEADER_LEN, len);
	d->len -= TTRPC_HEADER_LEN + len;
	memmove(d->buf, d->buf + TTRPC_HEADER_LEN + len, d->len);
	return 1;
}

void ttrpc_conn_init(struct ttrpc_conn *c, int fd)
{
	c->fd = fd;
	ttrpc_decoder_init(&c->dec);
	c->next_stream = 1;
	c->eof = false;
}

void ttrpc_conn_close(struct ttrpc_conn *c)
{
	ttrpc_decoder_free(&c->dec);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int write_all(int fd, const uint8_t *p, size_t n, struct kx_err *err)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return kx_error(err, errno, "ttrpc write");
			poll(&pfd, 1, -1);
			continue;
		}
		p += w;
		n -= w;
	}
	return 0;
}

int ttrpc_conn_write_frame(struct ttrpc_conn *c, uint32_t stream_id, uint8_t type,
			   uint8_t flags, const void *data, size_t len, struct kx_err *err)
{
	uint8_t *buf;
	int ret;

	if (len > TTRPC_MAX_DATA)
		return kx_error(err, EMSGSIZE, "ttrpc frame of %zu bytes", len);
	/* One write per frame so that a frame is never interleaved with another. */
	buf = malloc(TTRPC_HEADER_LEN + len);
	if (!buf)
		return kx_error(err, ENOMEM, "ttrpc frame");
	ttrpc_encode_header(buf, len, stream_id, type, flags);
	if (len)
		memcpy(buf + TTRPC_HEADER_LEN, data, len);
	ret = write_all(c->fd, buf, TTRPC_HEADER_LEN + len, err);
	free(buf);
	return ret;
}

ssize_t ttrpc_conn_fill(struct ttrpc_conn *c, struct kx_err *err)
{
	uint8_t buf[65536];
	ssize_t n;

	do
		n = read(c->fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return kx_error(err, errno, "ttrpc read");
	if (n == 0) {
		c->eof = true;
		return 0;
	}
	if (ttrpc_decoder_feed(&c->dec, buf, n))
		return kx_error(err, ENOMEM, "ttrpc read");
	return n;
}

int ttrpc_conn_read_frame(struct ttrpc_conn *c, struct ttrpc_frame *f, int timeout_ms,
			  struct kx_err *err)
{
	int64_t deadline = timeout_ms < 0 ? -1 : kx_now_ms() + timeout_ms;
	struct kx_err local;

	if (!err)	/* err->errnum is read below */
		err = &local;
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int ret = ttrpc_decoder_next(&c->dec, f);
		int wait;

		if (ret == 1)
			return 1;
		if (ret < 0)
			return kx_error(err, -ret, "ttrpc frame");
		if (c->eof)
			return 0;
		wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - kx_now_ms();

			if (left <= 0)
				return kx_error(err, ETIMEDOUT, "ttrpc: no answer within %d ms",
						timeout_ms);
			wait = (int)left;
		}
		ret = poll(&pfd, 1, wait);
		if (ret < 0 && errno != EINTR)
			return kx_error(err, errno, "ttrpc poll");
		if (ret <= 0)
			continue;
		if (ttrpc_conn_fill(c, err) < 0 && err->errnum != EAGAIN)
			return -1;
	}
}

static int send_packed(struct ttrpc_conn *c, uint32_t stream_id, uint8_t type,
		       const ProtobufCMessage *m, struct kx_err *err)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf;
	int ret;

	if (len > TTRPC_MAX_DATA)
		return kx_error(err, EMSGSIZE, "ttrpc message of %zu bytes", len);
	buf = malloc(len ? len : 1);
	if (!buf)
		return kx_error(err, ENOMEM, "ttrpc message");
	protobuf_c_message_pack(m, buf);
	ret = ttrpc_conn_write_frame(c, stream_id, type, 0, buf, len, err);
	free(buf);
	return ret;
}

/* Pack an optional inner message into a ProtobufCBinaryData (caller frees). */
static int pack_inner(const ProtobufCMessage *msg, ProtobufCBinaryData *out,
		      struct kx_err *err)
{
	out->len = 0;
	out->data = NULL;
	if (!msg)
		return 0;
	out->len = protobuf_c_message_get_packed_size(msg);
	out->data = malloc(out->len ? out->len : 1);
	if (!out->data)
		return kx_error(err, ENOMEM, "ttrpc payload");
	protobuf_c_message_pack(msg, out->data);
	return 0;
}

int ttrpc_send_request(struct ttrpc_conn *c, uint32_t stream_id, const char *service,
		       const char *method, const ProtobufCMessage *msg, int64_t timeout_ns,
		       struct kx_err *err)
{
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	int ret;

	req.service = (char *)service;
	req.method = (char *)method;
	req.timeout_nano = timeout_ns;
	if (pack_inner(msg, &req.payload, err))
		return -1;
	ret = send_packed(c, stream_id, TTRPC_TYPE_REQUEST, &req.base, err);
	free(req.payload.data);
	return ret;
}

int ttrpc_send_response(struct ttrpc_conn *c, uint32_t stream_id, int code,
			const char *status_msg, const ProtobufCMessage *msg, struct kx_err *err)
{
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	Ttrpc__Status status = TTRPC__STATUS__INIT;
	int ret;

	status.code = code;
	status.message = (char *)(status_msg ? status_msg : "");
	resp.status = &status;
	if (code == TTRPC_OK && pack_inner(msg, &resp.payload, err))
		return -1;
	ret = send_packed(c, stream_id, TTRPC_TYPE_RESPONSE, &resp.base, err);
	free(resp.payload.data);
	return ret;
}

const char *ttrpc_code_name(int code)
{
	static const char *const names[] = {
		"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
		"NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
		"FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
		"Internal", "Unavailable", "DataLoss", "Unauthenticated",
	};

	if (code < 0 || code >= (int)(sizeof(names) / sizeof(names[0])))
		return "Unknown";
	return names[code];
}

int ttrpc_call(struct ttrpc_conn *c, const char *service, const char *method,
	       const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
	       ProtobufCMessage **resp, int timeout_ms, struct kx_err *err)
{
	uint32_t stream = c->next_stream;
	int64_t deadline = timeout_ms < 0 ? -1 : kx_now_ms() + timeout_ms;

	c->next_stream += 2;
	if (ttrpc_send_request(c, stream, service, method, req,
			       timeout_ms < 0 ? 0 : (int64_t)timeout_ms * 1000000, err))
		return -1;
	for (;;) {
		struct ttrpc_frame f;
		Ttrpc__Response *r;
		int left = -1, ret;

		if (deadline >= 0) {
			left = (int)(deadline - kx_now_ms());
			if (left < 0)
				left = 0;
		}
		ret = ttrpc_conn_read_frame(c, &f, left, err);
		if (ret < 0)
			return kx_error_wrap(err, "%s", method);
		if (ret == 0)
			return kx_error(err, ECONNRESET, "%s: connection closed", method);
		if (f.stream_id != stream || f.type != TTRPC_TYPE_RESPONSE) {
			free(f.data);
			continue;
		}
		r = ttrpc__response__unpack(NULL, f.len, f.data);
		free(f.data);
		if (!r)
			return kx_error(err, EPROTO, "%s: malformed ttrpc response", method);
		if (r->status && r->status->code != TTRPC_OK) {
			int code = r->status->code;

			kx_error(err, 0, "%s", r->status->message && *r->status->message ?
				 r->status->message : ttrpc_code_name(code));
			err->code = code;
			ttrpc__response__free_unpacked(r, NULL);
			return -1;
		}
		if (resp) {
			*resp = protobuf_c_message_unpack(resp_desc, NULL, r->payload.len,
							  r->payload.data);
			if (!*resp) {
				ttrpc__response__free_unpacked(r, NULL);
				return kx_error(err, EPROTO, "%s: malformed response payload",
						method);
			}
		}
		ttrpc__response__free_unpacked(r, NULL);
		return 0;
	}
}
