// SPDX-License-Identifier: GPL-2.0
/* runc's console socket, for create/run and exec */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "runtime.h"
#include "sockets.h"

int console_raw(int fd, struct termios *saved)
{
	struct termios raw;

	if (tcgetattr(fd, saved))
		return -1;
	raw = *saved;
	cfmakeraw(&raw);
	return tcsetattr(fd, TCSANOW, &raw);
}

int console_send(const char *socket_path, char *slave, size_t len)
{
	struct kx_err err;
	int master, sock, ret;

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) || unlockpt(master) ||
	    ptsname_r(master, slave, len)) {
		if (master >= 0)
			close(master);
		return fail("a pty for the console: %m");
	}
	sock = kx_unix_connect(socket_path, &err);
	if (sock < 0) {
		close(master);
		return fail("--console-socket %s: %s", socket_path, err.msg);
	}
	ret = kx_send_fds(sock, slave, strlen(slave), &master, 1) ?
	      fail("--console-socket %s: send: %m", socket_path) : 0;
	close(sock);
	close(master);
	return ret;
}
