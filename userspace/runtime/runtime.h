/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KX_RUNTIME_H
#define KX_RUNTIME_H

#include "config.h"

#define KX_VERSION "0.1.0"

/* exec's synopsis, for --help and its usage errors */
#define EXEC_USAGE "exec [--process FILE] [--env K=V]... [--cwd DIR] [--user UID[:GID]] " \
	"[--additional-gids GID]... [--cap CAP]... [--no-new-privs] " \
	"[--tty] [--console-socket S] [--detach] [--pid-file F] [--preserve-fds 0] ID [COMMAND [ARG...]]"

/* Each command: argument parsing plus calls into libkatasbx. Returns the exit code. */
int cmd_create(struct kx_config *cfg, int argc, char **argv);
int cmd_run(struct kx_config *cfg, int argc, char **argv);
int cmd_start(struct kx_config *cfg, int argc, char **argv);
int cmd_state(struct kx_config *cfg, int argc, char **argv);
int cmd_kill(struct kx_config *cfg, int argc, char **argv);
int cmd_delete(struct kx_config *cfg, int argc, char **argv);
int cmd_list(struct kx_config *cfg, int argc, char **argv);
int cmd_check(struct kx_config *cfg, int argc, char **argv);
int cmd_pause(struct kx_config *cfg, int argc, char **argv);
int cmd_resume(struct kx_config *cfg, int argc, char **argv);
int cmd_template(struct kx_config *cfg, int argc, char **argv);
int cmd_pool(struct kx_config *cfg, int argc, char **argv);
int cmd_spec(struct kx_config *cfg, int argc, char **argv);
int cmd_exec(struct kx_config *cfg, int argc, char **argv);
int cmd_update(struct kx_config *cfg, int argc, char **argv);
int cmd_features(struct kx_config *cfg, int argc, char **argv);
int cmd_ps(struct kx_config *cfg, int argc, char **argv);
int cmd_events(struct kx_config *cfg, int argc, char **argv);

/*
 * runc's console socket: a new pty whose master goes to socket_path
 * (SCM_RIGHTS, the message is the slave's name, also put in slave). 0, or 1
 * after saying why.
 */
int console_send(const char *socket_path, char *slave, size_t len);
/*
 * The host side of a pty passes bytes through (the guest's does the line
 * discipline): fd made raw, its settings before in *saved. 0, or -1.
 */
struct termios;
int console_raw(int fd, struct termios *saved);

/* Print "katasbx-runtime: MSG" on stderr (and to the log); returns 1. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * getopt_long (no long index) that reports a flag a command does not take,
 * or one missing its value, in one line naming it ("katasbx-runtime: run:
 * flag --bogus is not one of its flags (see --help)") and returns '?'.
 */
struct option;
int getopt_cmd(int argc, char **argv, const char *optstring, const struct option *longopts);

/*
 * runc's --preserve-fds N of create, run and exec: 0 is taken; more is
 * refused (1 after saying why), a VM's processes having no host descriptors.
 */
int preserve_fds(const char *cmd, const char *arg);

#endif
