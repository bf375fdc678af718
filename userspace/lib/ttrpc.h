/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ttrpc: the framing containerd uses for its shims, and katasbx uses between
 * host and agent. A frame is a 10-byte header (big-endian u32 payload length,
 * big-endian u32 stream id, u8 type, u8 flags) and the payload, a protobuf
 * ttrpc.Request or ttrpc.Response. Clients use odd stream ids.
 */
#ifndef KX_TTRPC_H
#define KX_TTRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "kx_error.h"
#include "ttrpc.pb-c.h"

#define TTRPC_HEADER_LEN 10
#define TTRPC_MAX_DATA (4u << 20)

enum {
	TTRPC_TYPE_REQUEST = 1,
	TTRPC_TYPE_RESPONSE = 2,
	TTRPC_TYPE_DATA = 3,
};

/* gRPC status codes (google.rpc.Code). */
enum {
	TTRPC_OK = 0,
	TTRPC_CANCELLED = 1,
	TTRPC_UNKNOWN = 2,
	TTRPC_INVALID_ARGUMENT = 3,
	TTRPC_DEADLINE_EXCEEDED = 4,
	TTRPC_NOT_FOUND = 5,
	TTRPC_ALREADY_EXISTS = 6,
	TTRPC_PERMISSION_DENIED = 7,
	TTRPC_RESOURCE_EXHAUSTED = 8,
	TTRPC_FAILED_PRECONDITION = 9,
	TTRPC_ABORTED = 10,
	TTRPC_OUT_OF_RANGE = 11,
	TTRPC_UNIMPLEMENTED = 12,
	TTRPC_INTERNAL = 13,
	TTRPC_UNAVAILABLE = 14,
};

struct ttrpc_frame {
	uint32_t stream_id;
	uint8_t type;
	uint8_t flags;
	uint32_t len;
	uint8_t *data;		/* malloc'd, owned by the receiver of the frame */
};

/* Incremental frame decoder: feed it bytes as they arrive, in any split. */
struct ttrpc_decoder {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint32_t max;		/* largest payload accepted */
};

void ttrpc_encode_header(uint8_t hdr[TTRPC_HEADER_LEN], uint32_t len,
			 uint32_t stream_id, uint8_t type, uint8_t flags);
void ttrpc_decoder_init(struct ttrpc_decoder *d);
void ttrpc_decoder_free(struct ttrpc_decoder *d);
/* 0, or -ENOMEM. */
int ttrpc_decoder_feed(struct ttrpc_decoder *d, const void *data, size_t n);
/* 1 and a frame, 0 when more bytes are needed, -EMSGSIZE for an oversize frame. */
int ttrpc_decoder_next(struct ttrpc_decoder *d, struct ttrpc_frame *f);

/* A connection: an fd plus its decoder. Writes are whole frames. */
struct ttrpc_conn {
	int fd;
	struct ttrpc_decoder dec;
	uint32_t next_stream;	/* next client stream id (odd) */
	bool eof;
};

void ttrpc_conn_init(struct ttrpc_conn *c, int fd);
/* Frees the decoder and closes the fd. */
void ttrpc_conn_close(struct ttrpc_conn *c);
int ttrpc_conn_write_frame(struct ttrpc_conn *c, uint32_t stream_id, uint8_t type,
			   uint8_t flags, const void *data, size_t len, struct kx_err *err);
/* One read() into the decoder: bytes read, 0 at EOF, -1 on error (EAGAIN too). */
ssize_t ttrpc_conn_fill(struct ttrpc_conn *c, struct kx_err *err);
/*
 * Wait up to timeout_ms (-1: forever) for the next whole frame.
 * 1: frame; 0: peer closed; -1: error, errnum ETIMEDOUT on timeout,
 * EMSGSIZE for an oversize frame.
 */
int ttrpc_conn_read_frame(struct ttrpc_conn *c, struct ttrpc_frame *f, int timeout_ms,
			  struct kx_err *err);

int ttrpc_send_request(struct ttrpc_conn *c, uint32_t stream_id, const char *service,
		       const char *method, const ProtobufCMessage *msg, int64_t timeout_ns,
		       struct kx_err *err);
/* code TTRPC_OK with msg (may be NULL: empty payload), or an error code and text. */
int ttrpc_send_response(struct ttrpc_conn *c, uint32_t stream_id, int code,
			const char *status_msg, const ProtobufCMessage *msg, struct kx_err *err);

/*
 * Blocking unary call: sends the request on a fresh odd stream and waits for
 * its response; frames of other streams are dropped. On a non-OK status
 * returns -1 with err->code set and the peer's message. *resp is unpacked with
 * resp_desc and must be freed with protobuf_c_message_free_unpacked.
 */
int ttrpc_call(struct ttrpc_conn *c, const char *service, const char *method,
	       const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
	       ProtobufCMessage **resp, int timeout_ms, struct kx_err *err);

/* Name of a gRPC status code, for messages. */
const char *ttrpc_code_name(int code);

#endif
