// SPDX-License-Identifier: GPL-2.0
/* create, run, start */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "oci.h"
#include "placement.h"
#include "runtime.h"
#include "state.h"

struct create_opts {
	const char *bundle;
	const char *pid_file;
	bool detach;
	bool keep;		/* run: keep the stopped container (runc's --keep) */
	const char *console_socket;
	const char *id;
	char pty_slave[64];	/* the pty whose master went to the console socket */
};

static int parse_create(int argc, char **argv, struct create_opts *o, bool run)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "detach", no_argument, NULL, 'd' },
		{ "console-socket", required_argument, NULL, 'c' },
		{ "no-pivot", no_argument, NULL, 'P' },
		{ "no-new-keyring", no_argument, NULL, 'K' },
		{ "keep", no_argument, NULL, 'k' },
		{ "preserve-fds", required_argument, NULL, 'F' },
		{ "no-subreaper", no_argument, NULL, 'S' },
		{ 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->bundle = ".";
	while ((c = getopt_cmd(argc, argv, "+b:p:d", opts)) != -1) {
		switch (c) {
		case 'b': o->bundle = optarg; break;
		case 'p': o->pid_file = optarg; break;
		case 'd':
			if (!run)
				return fail("%s: --detach is only for run", argv[0]);
			o->detach = true;
			break;
		case 'c': o->console_socket = optarg; break;
		case 'P': case 'K': break;	/* the guest decides; accepted for runc callers */
		case 'S':
			/* runc's: its run reaps no orphans; nothing here reaps the guest's */
			if (!run)
				return fail("%s: --no-subreaper is only for run", argv[0]);
			break;
		case 'F':
			if (preserve_fds(argv[0], optarg))
				return 1;
			break;
		case 'k':
			if (!run)
				return fail("%s: --keep is only for run", argv[0]);
			o->keep = true;
			break;
		default:
			return 1;
		}
	}
	if (optind != argc - 1)
		return fail("usage: %s [--bundle DIR] [--pid-file FILE]%s ID", argv[0],
			    run ? " [--detach]" : "");
	o->id = argv[optind];
	return 0;
}

/* Validate everything we can before any state exists. */
static int prepare(struct kx_config *cfg, const struct create_opts *o, struct kx_spec *spec,
		   bool run)
{
	struct kx_err err;
	char q[400];

	if (!kx_id_valid(o->id))
		return fail("invalid container id \"%s\": " KX_ID_RULE, kx_quoted(o->id, q, sizeof(q)));
	if (kx_spec_load(o->bundle, spec, &err))
		return fail("%s", err.msg);
	/* as runc: a terminal of a detached container goes to the console socket */
	if (spec->process->terminal && !o->console_socket && !(run && !o->detach)) {
		kx_spec_free(spec);
		return fail("config.json: process.terminal needs --console-socket");
	}
	if (!spec->process->terminal && o->console_socket) {
		kx_spec_free(spec);
		return fail("--console-socket without process.terminal in config.json");
	}
	if (kx_config_find_guest(cfg, &err)) {
		kx_spec_free(spec);
		return fail("%s", err.msg);
	}
	if (kx_state_mkdir(cfg->root, o->id, &err)) {
		kx_spec_free(spec);
		return fail("%s", err.msg);
	}
	/* the sandbox's host cgroup, before anything runs that it must be charged for */
	if (kx_placement_setup(cfg, o->id, spec, &err)) {
		struct kx_err e2;

		kx_state_remove(cfg->root, o->id, &e2);
		kx_spec_free(spec);
		return fail("%s", err.msg);
	}
	return 0;
}

static int send_console(struct create_opts *o)
{
	return console_send(o->console_socket, o->pty_slave, sizeof(o->pty_slave));
}

/*
 * In the monitor: the console pty's slave as stdin, stdout and stderr, raw
 * (the guest's pty does the line discipline), and the controlling terminal
 * of a session leader, so that a resize by the master's holder comes as SIGWINCH.
 */
static int attach_console(const struct create_opts *o)
{
	struct termios t;
	int fd = open(o->pty_slave, O_RDWR | O_CLOEXEC | (getsid(0) == getpid() ? 0 : O_NOCTTY));

	if (fd < 0)
		return -1;
	if (getsid(0) == getpid())
		ioctl(fd, TIOCSCTTY, 0);
	console_raw(fd, &t);
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			return -1;
	if (fd > 2)
		close(fd);
	return 0;
}

/* Fork a monitor that outlives us; return once the container is created. */
static int spawn_monitor(struct kx_config *cfg, struct create_opts *o,
			 struct kx_spec *spec)
{
	struct kx_monitor_args a = { .cfg = cfg, .id = o->id, .spec = spec,
				     .pid_file = o->pid_file };
	char msg[1200] = "";
	struct kx_err err;
	int ready[2], status;
	size_t n;
	pid_t pid;

	if (o->console_socket && send_console(o)) {
		kx_state_remove(cfg->root, o->id, &err);
		return 1;
	}
	if (pipe2(ready, O_CLOEXEC))
		return fail("pipe: %m");
	pid = fork();
	if (pid < 0) {
		kx_state_remove(cfg->root, o->id, &err);
		return fail("fork: %m");
	}
	if (pid == 0) {
		int ret;

		close(ready[0]);
		setsid();
		if (o->console_socket && attach_console(o)) {
			dprintf(ready[1], "open the console %s: %m\n", o->pty_slave);
			_exit(1);
		}
		kx_log_quiet_stderr();
		a.ready_fd = ready[1];
		ret = kx_monitor_run(&a, &err);
		kx_spec_free(spec);
		_exit(ret < 0 ? 1 : ret);
	}
	close(ready[1]);
	n = kx_monitor_read_ready(ready[0], msg, sizeof(msg));
	close(ready[0]);
	if (!strcmp(msg, "ok"))
		return 0;
	waitpid(pid, &status, 0);
	if (!n) {
		/* the monitor died without a word: clean up after it */
		kx_state_remove(cfg->root, o->id, &err);
		return fail("container %s: the monitor exited during creation", o->id);
	}
	return fail("%s", msg);
}

static int start_container(struct kx_config *cfg, const char *id)
{
	Katasbx__Monitor__V1__Empty req = KATASBX__MONITOR__V1__EMPTY__INIT;
	struct kx_err err;

	if (kx_monitor_call(cfg->root, id, "Start", &req.base, &err))
		return fail("start %s: %s", id, err.msg);
	return 0;
}

int cmd_create(struct kx_config *cfg, int argc, char **argv)
{
	struct create_opts o;
	struct kx_spec spec;
	int ret;

	if (parse_create(argc, argv, &o, false) || prepare(cfg, &o, &spec, false))
		return 1;
	ret = spawn_monitor(cfg, &o, &spec);
	kx_spec_free(&spec);
	return ret;
}

int cmd_run(struct kx_config *cfg, int argc, char **argv)
{
	struct create_opts o;
	struct kx_spec spec;
	struct kx_err err;
	int ret;

	if (parse_create(argc, argv, &o, true) || prepare(cfg, &o, &spec, true))
		return 1;
	if (o.detach) {
		ret = spawn_monitor(cfg, &o, &spec);
		kx_spec_free(&spec);
		return ret ? ret : start_container(cfg, o.id);
	}
	/* In the foreground this process is the monitor; its exit status is the container's. */
	if (o.console_socket && (send_console(&o) || attach_console(&o))) {
		kx_state_remove(cfg->root, o.id, &err);
		kx_spec_free(&spec);
		return *o.pty_slave ? fail("open the console %s: %m", o.pty_slave) : 1;
	}
	{
		struct kx_monitor_args a = { .cfg = cfg, .id = o.id, .spec = &spec,
					     .ready_fd = -1, .pid_file = o.pid_file,
					     .start = true };

		ret = kx_monitor_run(&a, &err);
	}
	kx_spec_free(&spec);
	if (ret < 0)
		return fail("%s", err.msg);
	/* as runc: a container run in the foreground is deleted once it exited */
	if (!o.keep && kx_state_remove(cfg->root, o.id, &err))
		kx_warn("delete %s after its run: %s", o.id, err.msg);
	return ret;
}

int cmd_start(struct kx_config *cfg, int argc, char **argv)
{
	struct kx_state st;
	struct kx_err err;
	enum kx_status s;
	int lock, ret;
	char q[400];

	if (argc != 2)
		return fail("usage: start ID");
	if (!kx_id_valid(argv[1]))
		return fail("invalid container id \"%s\"", kx_quoted(argv[1], q, sizeof(q)));
	if (kx_state_read(cfg->root, argv[1], &st, &err))
		return fail("%s", err.msg);
	lock = kx_state_lock(cfg->root, argv[1], &err);
	kx_state_clear(&st);
	if (lock < 0)
		return fail("%s", err.msg);
	/* read again under the lock: a start or delete before it got it changed it */
	if (kx_state_read(cfg->root, argv[1], &st, &err)) {
		close(lock);
		return fail("%s", err.msg);
	}
	s = kx_state_effective(&st);
	kx_state_clear(&st);
	if (s != KX_STATUS_CREATED) {
		close(lock);
		/* runc's words ("cannot start an already running container") in ours */
		return fail("cannot start %s container %s: it is not created",
			    s == KX_STATUS_RUNNING ? "an already running" : kx_status_name(s),
			    argv[1]);
	}
	ret = start_container(cfg, argv[1]);
	close(lock);
	return ret;
}
