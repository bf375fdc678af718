// SPDX-License-Identifier: GPL-2.0
#include "kx_error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int verror(struct kx_err *e, int errnum, bool with_strerror, const char *fmt,
		  va_list ap)
{
	size_t n;

	if (!e)
		return -1;
	e->errnum = errnum;
	e->code = 0;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	n = strlen(e->msg);
	if (with_strerror && errnum && n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
	return -1;
}

int kx_error(struct kx_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(e, errnum, true, fmt, ap);
	va_end(ap);
	return -1;
}

int kx_error_as(struct kx_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(e, errnum, false, fmt, ap);
	va_end(ap);
	return -1;
}

int kx_error_wrap(struct kx_err *e, const char *fmt, ...)
{
	char prefix[512], old[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
	return -1;
}

const char *kx_quoted(const char *s, char *buf, size_t len)
{
	size_t o = 0, in = 0;

	if (!len)
		return buf;
	for (; s[in] && o + 5 < len; in++) {
		unsigned char c = (unsigned char)s[in];

		if (in == 80) {
			o += snprintf(buf + o, len - o, "...");
			break;
		}
		if (c == '"' || c == '\\')
			o += snprintf(buf + o, len - o, "\\%c", c);
		else if (c == '\n')
			o += snprintf(buf + o, len - o, "\\n");
		else if (c == '\t')
			o += snprintf(buf + o, len - o, "\\t");
		else if (c < 0x20 || c == 0x7f)
			o += snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o < len ? o : len - 1] = '\0';
	return buf;
}
