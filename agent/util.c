// SPDX-License-Identifier: GPL-2.0
/* Logging, the kernel command line, small file and buffer helpers. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct agent_config agent_cfg = { .port = 1024 };

static int kmsg_fd = -1;

void log_open(void)
{
	if (kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
}

static void vlog(int level, const char *fmt, va_list ap)
{
	char line[1024];
	int n, m;

	n = snprintf(line, sizeof(line), "<%d>katasbx-agent: ", level);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* kmsg shows errors on the console even with "quiet"; debug goes to stderr. */
	if (level <= 3 && kmsg_fd >= 0 && write(kmsg_fd, line, n) == n)
		return;
	if (write(STDERR_FILENO, line + 3, n - 3) < 0)
		return;
}

void log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(3, fmt, ap);
	va_end(ap);
}

void log_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!agent_cfg.debug)
		return;
	va_start(ap, fmt);
	vlog(7, fmt, ap);
	va_end(ap);
}

/* ---- kernel command line ---- */

#define CMDLINE_MAX 4096
#define CMDLINE_ARGS 256

static char cmdline[CMDLINE_MAX];
static char *cmd_key[CMDLINE_ARGS];
static char *cmd_val[CMDLINE_ARGS];
static size_t cmd_n;

/* Splits in place: words by spaces, "quoted" values keep their spaces. */
int cmdline_load(void)
{
	char *p, *w;
	ssize_t n = read_file("/proc/cmdline", cmdline, sizeof(cmdline));

	if (n < 0)
		return -1;
	cmd_n = 0;
	p = cmdline;
	while (*p && cmd_n < CMDLINE_ARGS) {
		bool quoted = false;
		char *eq, *o;

		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		if (!*p)
			break;
		w = o = p;
		for (; *p; p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (!quoted && (*p == ' ' || *p == '\n' || *p == '\t'))
				break;
			*o++ = *p;
		}
		if (*p)
			p++;
		*o = '\0';
		eq = strchr(w, '=');
		if (eq)
			*eq = '\0';
		cmd_key[cmd_n] = w;
		cmd_val[cmd_n] = eq ? eq + 1 : NULL;
		cmd_n++;
	}
	return 0;
}

/* The last occurrence wins, as for kernel parameters. "" for a bare key. */
const char *cmdline_get(const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; i < cmd_n; i++)
		if (!strcmp(cmd_key[i], key))
			v = cmd_val[i] ? cmd_val[i] : "";
	return v;
}

static bool modname_eq(const char *a, const char *b, size_t blen)
{
	size_t i;

	for (i = 0; i < blen && a[i]; i++) {
		char x = a[i] == '-' ? '_' : a[i];
		char y = b[i] == '-' ? '_' : b[i];

		if (x != y)
			return false;
	}
	return i == blen && !a[i];
}

/*
 * "mod.param=value" words become "param=value param2=value2" in out, what
 * modprobe passes to finit_module. Returns the length written.
 */
size_t cmdline_module_params(const char *mod, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < cmd_n; i++) {
		const char *dot = strchr(cmd_key[i], '.');
		const char *v = cmd_val[i];
		int n;

		if (!dot || !modname_eq(mod, cmd_key[i], dot - cmd_key[i]) || !dot[1])
			continue;
		if (v && strchr(v, ' '))
			n = snprintf(out + used, outlen - used, "%s%s=\"%s\"", used ? " " : "",
				     dot + 1, v);
		else
			n = snprintf(out + used, outlen - used, "%s%s%s%s", used ? " " : "",
				     dot + 1, v ? "=" : "", v ? v : "");
		if (n < 0 || (size_t)n >= outlen - used) {
			out[used] = '\0';
			break;
		}
		used += n;
	}
	return used;
}

/* ---- misc ---- */

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int write_file(const char *path, const char *data)
{
	size_t len = strlen(data);
	ssize_t n;
	int fd, saved;

	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	do
		n = write(fd, data, len);
	while (n < 0 && errno == EINTR);
	saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)len ? 0 : -1;
}

ssize_t read_file(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	while (got < len - 1) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

int mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp))
		return errno = EINVAL, -1;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* ---- byte queue ---- */

int buf_reserve(struct buf *b, size_t n)
{
	size_t cap;
	uint8_t *nd;

	if (b->head + b->len + n <= b->cap)
		return 0;
	if (b->len + n <= b->cap) {
		memmove(b->data, b->data + b->head, b->len);
		b->head = 0;
		return 0;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	nd = malloc(cap);
	if (!nd)
		return -1;
	if (b->len)
		memcpy(nd, b->data + b->head, b->len);
	free(b->data);
	b->data = nd;
	b->cap = cap;
	b->head = 0;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n))
		return -1;
	memcpy(buf_tail(b), p, n);
	b->len += n;
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->head = b->len = 0;
		/* Give memory back once a large burst has drained. */
		if (b->cap > 65536) {
			free(b->data);
			b->data = NULL;
			b->cap = 0;
		}
		return;
	}
	b->head += n;
	b->len -= n;
}

void buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void passwd_read(int fd, char *buf, size_t len)
{
	struct stat st;
	ssize_t n = 0;

	buf[0] = '\0';
	if (fd < 0)
		return;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
}

bool passwd_lookup(const char *passwd, uint32_t uid, char *name, size_t nlen, char *home,
		   size_t hlen)
{
	for (const char *l = passwd; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *f[8] = { l }, *end = strchr(l, '\n');
		size_t k = 1;
		char *e;

		if (!end)
			end = l + strlen(l);
		for (const char *c = l; c < end && k < 7; c++)
			if (*c == ':')
				f[k++] = c + 1;
		f[k] = end + 1;		/* each field ends one before the next begins */
		if (k < 3 || f[1] - f[0] < 2 || strtoul(f[2], &e, 10) != uid || e == f[2] ||
		    *e != ':' || (home && (k < 7 || f[6] - f[5] < 2)))
			continue;
		if (name)
			snprintf(name, nlen, "%.*s", (int)(f[1] - f[0] - 1), f[0]);
		if (home)
			snprintf(home, hlen, "%.*s", (int)(f[6] - f[5] - 1), f[5]);
		return true;
	}
	return false;
}
