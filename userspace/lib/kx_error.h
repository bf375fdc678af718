/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One error type travels down every call: a function returns a negative int
 * and fills a struct kx_err with errno and a message naming what failed.
 */
#ifndef KX_ERROR_H
#define KX_ERROR_H

#include <stdlib.h>
#include <unistd.h>

struct kx_err {
	int errnum;		/* errno value, 0 when not an OS error */
	int code;		/* gRPC status code from a remote peer, 0 if none */
	char msg[1024];
};

/* Fill *e (may be NULL) and return -1. Appends strerror(errnum) if non-zero. */
int kx_error(struct kx_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The same with the message as written, no strerror appended: for words of
 * our own (runc's, callers match them) that still tell callers errnum.
 */
int kx_error_as(struct kx_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the message already in *e with more context. Returns -1. */
int kx_error_wrap(struct kx_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void kx_freep(void *p)
{
	free(*(void **)p);
}

static inline void kx_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define cleanup_free __attribute__((cleanup(kx_freep)))
#define cleanup_close __attribute__((cleanup(kx_closep)))

/*
 * s for an error message, on one line: '"', '\\' and control bytes escaped
 * (\n, \t, \xHH), cut with "..." past about 80 bytes. Returns buf.
 */
const char *kx_quoted(const char *s, char *buf, size_t len);

#endif
