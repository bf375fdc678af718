// SPDX-License-Identifier: GPL-2.0
/*
 * QMP client: one JSON object per line, both ways. Replies are read with
 * MSG_PEEK up to the newline so that nothing past the current line is
 * consumed: the fd is the only state, and the next call finds the next line.
 */
#include "vmm/qemu.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "kx_time.h"

/* query-qmp-schema is a few hundred KiB; anything past this is not QEMU. */
#define QMP_LINE_MAX (8u << 20)

static int remaining(long long deadline)
{
	long long r = deadline - kx_now_ms();

	return r < 0 ? 0 : (int)r;
}

/* Wait for events on fd until deadline: 1 ready, 0 timed out, -1 error (errno). */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	for (;;) {
		r = poll(&pfd, 1, remaining(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

static int send_all(int fd, const char *buf, size_t len, long long deadline, const char *what,
		    struct kx_err *err)
{
	ssize_t n;
	int r;

	while (len) {
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return kx_error(err, errno, "QMP: poll while sending %s", what);
		if (r == 0)
			return kx_error(err, ETIMEDOUT, "QMP: sending %s", what);
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return kx_error(err, errno, "QMP: sending %s", what);
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One line without its "\r\n", malloc'd into *out. */
static int read_line(int fd, char **out, long long deadline, const char *what,
		     struct kx_err *err)
{
	char peek[4096], *line = NULL, *tmp, *nl;
	size_t len = 0, take;
	ssize_t n;
	int r;

	for (;;) {
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0) {
			kx_error(err, errno, "QMP: poll while waiting for %s", what);
			goto fail;
		}
		if (r == 0) {
			kx_error(err, ETIMEDOUT, "QMP: waiting for %s", what);
			goto fail;
		}
		n = recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			kx_error(err, errno, "QMP: reading %s", what);
			goto fail;
		}
		if (n == 0) {
			kx_error(err, 0, "QMP: QEMU closed the connection while waiting for %s",
				 what);
			goto fail;
		}
		nl = memchr(peek, '\n', (size_t)n);
		take = nl ? (size_t)(nl - peek) + 1 : (size_t)n;
		if (len + take + 1 > QMP_LINE_MAX) {
			kx_error(err, EMSGSIZE, "QMP: reply to %s longer than %u bytes", what,
				 QMP_LINE_MAX);
			goto fail;
		}
		tmp = realloc(line, len + take + 1);
		if (!tmp) {
			kx_error(err, ENOMEM, "QMP: reading %s", what);
			goto fail;
		}
		line = tmp;
		/* Consume exactly what was peeked (a stream socket keeps it queued). */
		n = recv(fd, line + len, take, MSG_DONTWAIT);
		if (n < 0) {
			kx_error(err, errno, "QMP: reading %s", what);
			goto fail;
		}
		len += (size_t)n;
		line[len] = '\0';
		if (nl && (size_t)n == take)
			break;
	}
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	*out = line;
	return 0;
fail:
	free(line);
	return -1;
}

/* Next non-empty line parsed as a JSON object. */
static int read_object(int fd, struct json_object **obj, long long deadline, const char *what,
		       struct kx_err *err)
{
	char *line;

	for (;;) {
		if (read_line(fd, &line, deadline, what, err) < 0)
			return -1;
		if (line[strspn(line, " \t")] != '\0')
			break;
		free(line);
	}
	*obj = json_tokener_parse(line);
	if (!*obj || !json_object_is_type(*obj, json_type_object)) {
		kx_error(err, EPROTO, "QMP: malformed reply while waiting for %s: %.200s", what,
			 line);
		json_object_put(*obj);
		free(line);
		return -1;
	}
	free(line);
	return 0;
}

static int execute(int fd, const char *cmd, const char *args_json, char **return_json,
		   long long deadline, struct kx_err *err)
{
	struct json_object *req, *args = NULL, *reply, *val, *e, *desc, *cls;
	const char *s;
	char *buf;
	int ret;

	if (return_json)
		*return_json = NULL;
	if (args_json && *args_json) {
		args = json_tokener_parse(args_json);
		if (!args || !json_object_is_type(args, json_type_object)) {
			json_object_put(args);
			return kx_error(err, EINVAL, "QMP %s: arguments are not a JSON object: %s",
					cmd, args_json);
		}
	}
	req = json_object_new_object();
	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", args);
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (asprintf(&buf, "%s\n", s) < 0) {
		json_object_put(req);
		return kx_error(err, ENOMEM, "QMP %s", cmd);
	}
	json_object_put(req);
	ret = send_all(fd, buf, strlen(buf), deadline, cmd, err);
	free(buf);
	if (ret < 0)
		return -1;

	for (;;) {
		if (read_object(fd, &reply, deadline, cmd, err) < 0)
			return -1;
		if (json_object_object_get_ex(reply, "return", &val)) {
			ret = 0;
			if (return_json) {
				*return_json = strdup(
					json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN));
				if (!*return_json)
					ret = kx_error(err, ENOMEM, "QMP %s", cmd);
			}
			json_object_put(reply);
			return ret;
		}
		if (json_object_object_get_ex(reply, "error", &e)) {
			if (!json_object_object_get_ex(e, "desc", &desc))
				desc = NULL;
			if (!json_object_object_get_ex(e, "class", &cls))
				cls = NULL;
			kx_error(err, 0, "QMP %s failed: %s (%s)", cmd,
				 desc ? json_object_get_string(desc) : "no description",
				 cls ? json_object_get_string(cls) : "no class");
			json_object_put(reply);
			return -1;
		}
		/* Events (and anything else asynchronous) are not ours. */
		json_object_put(reply);
	}
}

int kx_qmp_execute(int qmp_fd, const char *cmd, const char *args_json, char **return_json,
		   int timeout_ms, struct kx_err *err)
{
	return execute(qmp_fd, cmd, args_json, return_json, kx_now_ms() + timeout_ms, err);
}

int kx_qmp_handshake(int qmp_fd, int timeout_ms, struct kx_err *err)
{
	long long deadline = kx_now_ms() + timeout_ms;
	struct json_object *greeting, *v;
	bool ok;

	if (read_object(qmp_fd, &greeting, deadline, "the QMP greeting", err) < 0)
		return -1;
	ok = json_object_object_get_ex(greeting, "QMP", &v);
	json_object_put(greeting);
	if (!ok)
		return kx_error(err, EPROTO, "QMP: the first message is not a QMP greeting");
	return execute(qmp_fd, "qmp_capabilities", NULL, NULL, deadline, err);
}
