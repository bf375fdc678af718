// SPDX-License-Identifier: GPL-2.0
/*
 * Process stdio, agent side: three pipes, or a pty whose master carries
 * both directions. Output is drained into a buffer per stream (bounded: the
 * pipe is not polled while the buffer is full, so a slow host throttles the
 * writer); stdin is written without blocking from a queue.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int stdio_create(struct process *p, bool terminal, struct child_stdio *cs, struct kx_err *err)
{
	int fds[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };

	cs->fd[0] = cs->fd[1] = cs->fd[2] = -1;
	if (terminal) {
		/* The child opens the pty in its own devpts and sends us the master. */
		p->terminal = true;
		p->err.eof = true;
		return 0;
	}
	for (int i = 0; i < 3; i++) {
		if (pipe2(fds[i], O_CLOEXEC) < 0) {
			kx_error(err, errno, "pipe");
			for (int j = 0; j < i; j++) {
				close(fds[j][0]);
				close(fds[j][1]);
			}
			return -1;
		}
	}
	/* Our ends do not block; the child's ends are ordinary pipes. */
	p->in.fd = fds[0][1];
	p->out.fd = fds[1][0];
	p->err.fd = fds[2][0];
	fcntl(p->in.fd, F_SETFL, O_NONBLOCK);
	fcntl(p->out.fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err.fd, F_SETFL, O_NONBLOCK);
	cs->fd[0] = fds[0][0];
	cs->fd[1] = fds[1][1];
	cs->fd[2] = fds[2][1];
	return 0;
}

void stdio_close_child(struct child_stdio *cs)
{
	for (int i = 0; i < 3; i++) {
		if (cs->fd[i] < 0)
			continue;
		if ((i < 1 || cs->fd[i] != cs->fd[0]) && (i < 2 || cs->fd[i] != cs->fd[1]))
			close(cs->fd[i]);
		cs->fd[i] = -1;
	}
}

void stdio_attach_tty(struct process *p, int master)
{
	if (!p->terminal || p->tty_fd >= 0) {
		close(master);
		return;
	}
	fcntl(master, F_SETFL, O_NONBLOCK);
	p->tty_fd = p->in.fd = p->out.fd = master;
}

/* The pty master is shared by stdin and stdout: close it once. */
static void close_tty(struct process *p)
{
	if (p->tty_fd >= 0)
		close(p->tty_fd);
	p->tty_fd = p->in.fd = p->out.fd = -1;
	p->out.eof = true;
	buf_free(&p->in.buf);
}

static void out_eof(struct process *p, struct out_stream *s)
{
	if (p->terminal && s == &p->out) {
		close_tty(p);
		return;
	}
	close(s->fd);
	s->fd = -1;
	s->eof = true;
}

static void drain(struct process *p, struct out_stream *s)
{
	while (s->fd >= 0 && s->buf.len < OUT_BUF_CAP) {
		size_t room = OUT_BUF_CAP - s->buf.len;
		ssize_t n;

		if (room > READ_MAX)
			room = READ_MAX;
		if (buf_reserve(&s->buf, room)) {
			/* Retried on the next wakeup; the pipe holds the data meanwhile. */
			log_err("out of memory buffering process output");
			return;
		}
		n = read(s->fd, buf_tail(&s->buf), room);
		if (n > 0) {
			s->buf.len += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		/* EOF; EIO on a pty master once every slave fd is closed. */
		out_eof(p, s);
	}
}

static void on_stdout(void *ptr, short revents)
{
	struct process *p = ptr;

	if (!p->dead)
		drain(p, &p->out);
}

static void on_stderr(void *ptr, short revents)
{
	struct process *p = ptr;

	if (!p->dead)
		drain(p, &p->err);
}

static void stdin_closed(struct process *p)
{
	if (p->terminal) {
		/* A pty has no half close: send the EOF character instead. */
		if (p->tty_fd >= 0 && write(p->tty_fd, "\x04", 1) < 0)
			log_dbg("tty eof: %s", strerror(errno));
		p->in.fd = -1;
	} else if (p->in.fd >= 0) {
		close(p->in.fd);
		p->in.fd = -1;
	}
	p->in.close_pending = false;
	buf_free(&p->in.buf);
}

/* 0, or -1 with errno when the reader is gone. */
static int flush_stdin(struct process *p)
{
	while (p->in.fd >= 0 && p->in.buf.len) {
		ssize_t n = write(p->in.fd, buf_head(&p->in.buf), p->in.buf.len);

		if (n > 0) {
			buf_consume(&p->in.buf, n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		stdin_closed(p);
		return -1;
	}
	if (p->in.close_pending && !p->in.buf.len)
		stdin_closed(p);
	return 0;
}

static void on_stdin(void *ptr, short revents)
{
	struct process *p = ptr;

	if (!p->dead)
		flush_stdin(p);
}

void stdio_poll(struct process *p)
{
	if (p->out.fd >= 0 && p->out.buf.len < OUT_BUF_CAP)
		loop_add(p->out.fd, POLLIN, on_stdout, p);
	if (p->err.fd >= 0 && p->err.buf.len < OUT_BUF_CAP)
		loop_add(p->err.fd, POLLIN, on_stderr, p);
	if (p->in.fd >= 0 && p->in.buf.len)
		loop_add(p->in.fd, POLLOUT, on_stdin, p);
}

void stdio_close(struct process *p)
{
	if (p->terminal) {
		close_tty(p);
	} else {
		if (p->in.fd >= 0)
			close(p->in.fd);
		if (p->out.fd >= 0)
			close(p->out.fd);
		p->in.fd = p->out.fd = -1;
	}
	if (p->err.fd >= 0)
		close(p->err.fd);
	p->err.fd = -1;
}

ssize_t stdio_write_stdin(struct process *p, const void *data, size_t len, struct kx_err *err)
{
	size_t done = 0, room;

	if (p->in.fd < 0 || p->in.close_pending)
		return kx_error(err, EPIPE, "stdin is closed");
	if (!p->in.buf.len) {
		while (done < len) {
			ssize_t n = write(p->in.fd, (const uint8_t *)data + done, len - done);

			if (n > 0) {
				done += n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			stdin_closed(p);
			return kx_error(err, errno ? errno : EPIPE, "write stdin");
		}
	}
	room = IN_BUF_CAP - p->in.buf.len;
	if (len - done < room)
		room = len - done;
	if (room && buf_append(&p->in.buf, (const uint8_t *)data + done, room) == 0)
		done += room;
	return done;
}

int stdio_close_stdin(struct process *p, struct kx_err *err)
{
	if (p->in.fd < 0)
		return 0;
	if (p->in.buf.len) {
		p->in.close_pending = true;
		return 0;
	}
	stdin_closed(p);
	return 0;
}

int stdio_winsize(struct process *p, unsigned int rows, unsigned int cols, struct kx_err *err)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };

	if (!p->terminal)
		return kx_error(err, 0, "process has no terminal");
	if (p->tty_fd < 0)
		return kx_error(err, 0, "terminal is closed");
	if (rows > 0xffff || cols > 0xffff)
		return kx_error(err, EINVAL, "window size %ux%u", cols, rows);
	if (ioctl(p->tty_fd, TIOCSWINSZ, &ws) < 0)
		return kx_error(err, errno, "TIOCSWINSZ");
	return 0;
}
