// SPDX-License-Identifier: GPL-2.0
#include "sockets.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * sun_path holds 108 bytes; a state root plus a 128-byte id does not fit.
 * Reach a long path through /proc/self/fd/N of its directory instead.
 */
static int fill_addr(struct sockaddr_un *sa, const char *path, int *dirfd)
{
	char dir[4096], base[4096];

	*dirfd = -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) < sizeof(sa->sun_path)) {
		strcpy(sa->sun_path, path);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	*dirfd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -1;
	if (snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dirfd,
		     basename(base)) >= (int)sizeof(sa->sun_path)) {
		close(*dirfd);
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int kx_unix_listen(const char *path, struct kx_err *err)
{
	struct sockaddr_un sa;
	int fd, dirfd;

	if (fill_addr(&sa, path, &dirfd))
		return kx_error(err, errno, "socket %s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		kx_error(err, errno, "socket %s", path);
		goto out;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		kx_error(err, errno, "listen on %s", path);
		close(fd);
		fd = -1;
	}
out:
	if (dirfd >= 0)
		close(dirfd);
	return fd;
}

int kx_unix_connect(const char *path, struct kx_err *err)
{
	struct sockaddr_un sa;
	int fd, dirfd;

	if (fill_addr(&sa, path, &dirfd))
		return kx_error(err, errno, "connect to %s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		kx_error(err, errno, "socket");
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		kx_error(err, errno, "connect to %s", path);
		close(fd);
		fd = -1;
	}
out:
	if (dirfd >= 0)
		close(dirfd);
	return fd;
}

int kx_send_fds(int sock, const void *buf, size_t len, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * KX_MAX_FDS)] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (n < 0 || n > KX_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	if (n) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

ssize_t kx_recv_fds(int sock, void *buf, size_t len, int *fds, int max, int *n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * KX_MAX_FDS)];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t r;

	*n = 0;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int got, i, fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		got = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < got; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*n < max)
				fds[(*n)++] = fd;
			else
				close(fd);
		}
	}
	return r;
}
