/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A ttrpc server over ttrpc.c's framing: many connections, many streams on
 * each, and handlers that may block (a Wait) while the same connection keeps
 * being served. Each connection has a reader thread and a write lock; a
 * method marked blocking runs on a thread of its own. A malformed or
 * oversize frame closes its connection only; an unknown method is answered
 * Unimplemented.
 */
#ifndef KX_TTRPC_SERVER_H
#define KX_TTRPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttrpc.h"

struct ttrpc_server;

struct ttrpc_request_info {
	const Ttrpc__Request *req;	/* service, method, payload, metadata */
	uint32_t stream_id;
};

struct ttrpc_reply {
	int code;		/* TTRPC_OK, or a gRPC status code with msg */
	char msg[1024];
	uint8_t *payload;	/* malloc'd, freed by the server; NULL: empty */
	size_t len;
	bool stop_server;	/* stop serving once this reply is written */
};

typedef void (*ttrpc_method_fn)(void *ctx, const struct ttrpc_request_info *rq,
				struct ttrpc_reply *rp);

struct ttrpc_method {
	const char *service;
	const char *method;
	ttrpc_method_fn fn;
	bool blocking;		/* run on its own thread */
};

/* Pack msg (NULL: empty) as the reply's payload; -1 and an Internal reply on ENOMEM. */
int ttrpc_reply_set(struct ttrpc_reply *rp, const ProtobufCMessage *msg);
void ttrpc_reply_error(struct ttrpc_reply *rp, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The value of a request metadata key, or NULL. */
const char *ttrpc_request_metadata(const Ttrpc__Request *req, const char *key);

/* methods must outlive the server. */
struct ttrpc_server *ttrpc_server_new(const struct ttrpc_method *methods, size_t n, void *ctx);
/* Serve an accepted or socketpair fd on a thread of its own; the server owns fd. */
int ttrpc_server_add_conn(struct ttrpc_server *s, int fd, struct kx_err *err);
/* Accept on listen_fd and serve until ttrpc_server_stop; 0, or -1 if poll fails. */
int ttrpc_server_serve(struct ttrpc_server *s, int listen_fd, struct kx_err *err);
/* Make ttrpc_server_serve return; safe from any thread. */
void ttrpc_server_stop(struct ttrpc_server *s);
/* Number of connections being served, for tests and logs. */
int ttrpc_server_conn_count(struct ttrpc_server *s);
/* Wait for running calls to return, close every connection, free the server. */
void ttrpc_server_free(struct ttrpc_server *s);

#endif
