// SPDX-License-Identifier: GPL-2.0
#include "kx_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int kx_error(struct kx_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!e)
		return -1;
	e->errnum = errnum;
	e->code = 0;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (errnum && n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
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
