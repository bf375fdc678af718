// SPDX-License-Identifier: GPL-2.0
/*
 * exec: a further process in a running container, run by its monitor (Exec)
 * with the caller's own stdin, stdout and stderr (the monitor opens them as
 * /proc/PID/fd/N); in the foreground the exit status is the process's
 * (WaitExec).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "oci.h"
#include "runtime.h"
#include "state.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ENV 256

static char *read_file(const char *path, struct kx_err *err)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, n;

	if (!f) {
		kx_error(err, 0, "--process %s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		char *nb = realloc(buf, len + 65536 + 1);

		if (!nb) {
			free(buf);
			fclose(f);
			kx_error(err, 0, "--process %s: out of memory", path);
			return NULL;
		}
		buf = nb;
		n = fread(buf + len, 1, 65536, f);
		len += n;
		if (n < 65536)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		kx_error(err, 0, "--process %s: read error", path);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* UID[:GID], decimal. */
static int parse_user(const char *s, uint32_t *uid, uint32_t *gid)
{
	unsigned long u, g = 0;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	u = strtoul(s, &end, 10);
	if (*end == ':') {
		s = end + 1;
		if (*s < '0' || *s > '9')
			return -1;
		g = strtoul(s, &end, 10);
	}
	if (*end || errno || u > UINT32_MAX - 1 || g > UINT32_MAX - 1)
		return -1;
	*uid = u;
	*gid = g;
	return 0;
}

/* The caller's stdio as a path the monitor can open; sockets cannot be opened so. */
static int stdio_path(int fd, char *buf, size_t len)
{
	struct stat sb;

	if (fstat(fd, &sb))
		return fail("exec: descriptor %d: %s", fd, strerror(errno));
	if (S_ISSOCK(sb.st_mode))
		return fail("exec: %s is a socket, which the monitor cannot open; use a pipe, file or tty",
			    fd == 0 ? "stdin" : fd == 1 ? "stdout" : "stderr");
	snprintf(buf, len, "/proc/%d/fd/%d", (int)getpid(), fd);
	return 0;
}

int cmd_exec(struct kx_config *cfg, int argc, char **argv)
{
	enum { O_PIDFILE = 256, O_CONSOLE };
	static const struct option opts[] = {
		{ "process", required_argument, NULL, 'p' },
		{ "env", required_argument, NULL, 'e' },
		{ "cwd", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "detach", no_argument, NULL, 'd' },
		{ "tty", no_argument, NULL, 't' },
		{ "pid-file", required_argument, NULL, O_PIDFILE },
		{ "console-socket", required_argument, NULL, O_CONSOLE },
		{ 0 }
	};
	Katasbx__Monitor__V1__ExecRequest x = KATASBX__MONITOR__V1__EXEC_REQUEST__INIT;
	Katasbx__Monitor__V1__WaitExecRequest w = KATASBX__MONITOR__V1__WAIT_EXEC_REQUEST__INIT;
	Katasbx__Monitor__V1__WaitExecResponse *resp = NULL;
	Katasbx__Agent__V1__Process flags_proc = KATASBX__AGENT__V1__PROCESS__INIT;
	Katasbx__Agent__V1__User user = KATASBX__AGENT__V1__USER__INIT;
	Katasbx__Agent__V1__Process *proc = NULL, *parsed = NULL;
	const char *process_file = NULL, *cwd = NULL, *user_arg = NULL, *pid_file = NULL, *id;
	char *env[MAX_ENV + 1], exec_id[64], io[3][64];
	size_t nenv = 0, i;
	bool detach = false, have_path = false;
	struct kx_state st;
	struct kx_err err;
	struct timespec ts;
	enum kx_status s;
	int c, ret;

	while ((c = getopt_long(argc, argv, "+p:e:w:u:dt", opts, NULL)) != -1) {
		switch (c) {
		case 'p': process_file = optarg; break;
		case 'e':
			if (!strchr(optarg, '=') || *optarg == '=')
				return fail("exec: --env \"%s\" is not KEY=VALUE", optarg);
			if (nenv == MAX_ENV - 1)
				return fail("exec: too many --env");
			if (!strncmp(optarg, "PATH=", 5))
				have_path = true;
			env[nenv++] = optarg;
			break;
		case 'w': cwd = optarg; break;
		case 'u': user_arg = optarg; break;
		case 'd': detach = true; break;
		case 't': return fail("exec: --tty is not supported (no --console-socket for exec)");
		case O_PIDFILE: pid_file = optarg; break;
		case O_CONSOLE: return fail("exec: --console-socket is not supported");
		default:
			return fail("usage: exec [--process FILE] [--env K=V]... [--cwd DIR] "
				    "[--user UID[:GID]] [--detach] [--pid-file F] ID [COMMAND [ARG...]]");
		}
	}
	if (optind >= argc)
		return fail("usage: exec [--process FILE] [--env K=V]... [--cwd DIR] "
			    "[--user UID[:GID]] [--detach] [--pid-file F] ID [COMMAND [ARG...]]");
	id = argv[optind++];
	if (kx_state_read(cfg->root, id, &st, &err))
		return fail("%s", err.msg);
	s = kx_state_effective(&st);
	if (s != KX_STATUS_RUNNING) {
		kx_state_clear(&st);
		return fail("cannot exec in container %s: it is %s, not running", id,
			    kx_status_name(s));
	}

	if (process_file) {
		char *json;

		if (optind < argc || nenv || cwd || user_arg) {
			kx_state_clear(&st);
			return fail("exec: --process takes no COMMAND, --env, --cwd or --user");
		}
		json = read_file(process_file, &err);
		if (!json) {
			kx_state_clear(&st);
			return fail("exec: %s", err.msg);
		}
		if (kx_process_parse(json, &parsed, &err)) {
			/* its messages name config.json, where a process usually is */
			const char *msg = err.msg;

			if (!strncmp(msg, "config.json: ", 13))
				msg += 13;
			free(json);
			kx_state_clear(&st);
			return fail("exec: --process %s: %s", process_file, msg);
		}
		free(json);
		if (!parsed->n_args) {
			katasbx__agent__v1__process__free_unpacked(parsed, NULL);
			kx_state_clear(&st);
			return fail("exec: --process %s: no process.args", process_file);
		}
		if (parsed->terminal) {
			katasbx__agent__v1__process__free_unpacked(parsed, NULL);
			kx_state_clear(&st);
			return fail("exec: --process %s: terminal is not supported "
				    "(no --console-socket for exec)", process_file);
		}
		proc = parsed;
	} else {
		if (optind >= argc) {
			kx_state_clear(&st);
			return fail("exec: no command given (COMMAND or --process FILE)");
		}
		if (user_arg && parse_user(user_arg, &user.uid, &user.gid)) {
			kx_state_clear(&st);
			return fail("exec: --user \"%s\" is not UID[:GID]", user_arg);
		}
		if (!have_path) {
			memmove(env + 1, env, nenv * sizeof(env[0]));
			env[0] = DEFAULT_PATH;
			nenv++;
		}
		flags_proc.args = argv + optind;
		flags_proc.n_args = argc - optind;
		flags_proc.env = env;
		flags_proc.n_env = nenv;
		flags_proc.cwd = (char *)(cwd ? cwd : "/");
		flags_proc.user = &user;
		proc = &flags_proc;
	}

	for (i = 0; i < 3; i++) {
		if (stdio_path(i, io[i], sizeof(io[i]))) {
			if (parsed)
				katasbx__agent__v1__process__free_unpacked(parsed, NULL);
			kx_state_clear(&st);
			return 1;
		}
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(exec_id, sizeof(exec_id), "exec-%d-%lld%09ld", (int)getpid(),
		 (long long)ts.tv_sec, ts.tv_nsec);
	x.exec_id = exec_id;
	x.process = proc;
	x.stdin = io[0];
	x.stdout = io[1];
	x.stderr = io[2];
	ret = kx_monitor_call(cfg->root, id, "Exec", &x.base, &err);
	if (parsed)
		katasbx__agent__v1__process__free_unpacked(parsed, NULL);
	if (ret) {
		kx_state_clear(&st);
		return fail("exec in %s: %s", id, err.msg);
	}
	if (pid_file) {
		/* the exec runs in the guest: its host-side process is the monitor */
		FILE *f = fopen(pid_file, "we");

		if (!f || fprintf(f, "%d", (int)st.pid) < 0 || fclose(f)) {
			kx_state_clear(&st);
			return fail("exec: --pid-file %s: %s", pid_file, strerror(errno));
		}
	}
	kx_state_clear(&st);
	if (detach)
		return 0;

	w.exec_id = exec_id;
	if (kx_monitor_call_resp(cfg->root, id, "WaitExec", &w.base,
				 &katasbx__monitor__v1__wait_exec_response__descriptor,
				 (ProtobufCMessage **)&resp, -1, &err))
		return fail("wait for exec in %s: %s", id, err.msg);
	ret = resp->status;
	katasbx__monitor__v1__wait_exec_response__free_unpacked(resp, NULL);
	/*
	 * The monitor appended to a file on its own file description: move
	 * ours (shared with the shell that redirected us) past what it wrote.
	 */
	for (i = 1; i < 3; i++) {
		struct stat sb;

		if (fstat(i, &sb) == 0 && S_ISREG(sb.st_mode))
			lseek(i, 0, SEEK_END);
	}
	return ret;
}
