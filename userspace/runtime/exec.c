// SPDX-License-Identifier: GPL-2.0
/*
 * exec: a further process in a running container, run by its monitor (Exec)
 * with the caller's own stdin, stdout and stderr (the monitor opens them as
 * /proc/PID/fd/N); in the foreground the exit status is the process's
 * (WaitExec), signals to us go to it (Kill), and with --tty our terminal is
 * its, raw here, its size followed (ResizePty).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "fsutil.h"
#include "log.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "oci.h"
#include "runtime.h"
#include "state.h"

#define MAX_ENV 256
#define PROCESS_MAX (1u << 20)	/* a process.json larger than this is a mistake */

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

/* WaitExec runs in a thread; the main one forwards signals meanwhile. */
struct waiting {
	const struct kx_config *cfg;
	const char *id;
	const char *exec_id;
	int status;		/* the exec's, or -1 with msg */
	char msg[1024];
	int done[2];		/* a pipe written when WaitExec returned */
};

static void *wait_exec(void *arg)
{
	struct waiting *w = arg;
	Katasbx__Monitor__V1__WaitExecRequest req = KATASBX__MONITOR__V1__WAIT_EXEC_REQUEST__INIT;
	Katasbx__Monitor__V1__WaitExecResponse *resp = NULL;
	struct kx_err err;

	req.exec_id = (char *)w->exec_id;
	if (kx_monitor_call_resp(w->cfg->root, w->id, "WaitExec", &req.base,
				 &katasbx__monitor__v1__wait_exec_response__descriptor,
				 (ProtobufCMessage **)&resp, -1, &err)) {
		w->status = -1;
		snprintf(w->msg, sizeof(w->msg), "%s", err.msg);
	} else {
		w->status = resp->status;
		katasbx__monitor__v1__wait_exec_response__free_unpacked(resp, NULL);
	}
	while (write(w->done[1], "x", 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* The size of the terminal tty_fd to the exec's pty in the guest. */
static void resize(const struct kx_config *cfg, const char *id, const char *exec_id, int tty_fd)
{
	Katasbx__Monitor__V1__ResizePtyRequest r = KATASBX__MONITOR__V1__RESIZE_PTY_REQUEST__INIT;
	struct winsize ws;
	struct kx_err err;

	if (ioctl(tty_fd, TIOCGWINSZ, &ws) || (!ws.ws_row && !ws.ws_col))
		return;
	r.exec_id = (char *)exec_id;
	r.width = ws.ws_col;
	r.height = ws.ws_row;
	if (kx_monitor_call(cfg->root, id, "ResizePty", &r.base, &err))
		kx_debug("exec: resize: %s", err.msg);
}

/*
 * The signals a foreground exec forwards (and SIGWINCH), blocked from before
 * the Exec call, so that none is lost between it and the forwarding.
 */
static void block_forwarded(sigset_t *mask, sigset_t *old)
{
	static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

	sigemptyset(mask);
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		sigaddset(mask, fwd[i]);
	sigprocmask(SIG_BLOCK, mask, old);
}

/*
 * Until the exec has exited: signals to us go to it, a resize of the terminal
 * tty_fd (-1: none) too. mask is blocked (block_forwarded); old is restored
 * at the end.
 */
static int wait_forwarding(const struct kx_config *cfg, const char *id, const char *exec_id,
			   int tty_fd, const sigset_t *mask, const sigset_t *old)
{
	struct waiting w = { .cfg = cfg, .id = id, .exec_id = exec_id };
	pthread_t th;
	int sfd;

	if (pipe2(w.done, O_CLOEXEC)) {
		sigprocmask(SIG_SETMASK, old, NULL);
		return fail("exec: pipe: %s", strerror(errno));
	}
	sfd = signalfd(-1, mask, SFD_CLOEXEC);	/* the thread inherits the mask */
	if (sfd < 0 || (errno = pthread_create(&th, NULL, wait_exec, &w))) {
		int e = errno;

		if (sfd >= 0)
			close(sfd);
		close(w.done[0]);
		close(w.done[1]);
		sigprocmask(SIG_SETMASK, old, NULL);
		return fail("exec: wait: %s", strerror(e));
	}
	if (tty_fd >= 0)
		resize(cfg, id, exec_id, tty_fd);
	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
				       { .fd = w.done[0], .events = POLLIN } };
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!p[0].revents || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGWINCH) {
			if (tty_fd >= 0)
				resize(cfg, id, exec_id, tty_fd);
		} else {
			Katasbx__Monitor__V1__KillRequest k = KATASBX__MONITOR__V1__KILL_REQUEST__INIT;
			struct kx_err err;

			k.signal = si.ssi_signo;
			k.exec_id = (char *)exec_id;
			if (kx_monitor_call(cfg->root, id, "Kill", &k.base, &err))
				kx_debug("exec: forward signal %u: %s", si.ssi_signo, err.msg);
		}
	}
	pthread_join(th, NULL);
	close(sfd);
	close(w.done[0]);
	close(w.done[1]);
	sigprocmask(SIG_SETMASK, old, NULL);
	if (w.status < 0)
		return fail("wait for exec in %s: %s", id, w.msg);
	return w.status;
}

/*
 * A detached exec's host process, as runc's is the exec'd process itself:
 * --pid-file names it, it lives as long as the exec, forwards the signals it
 * gets and exits with the exec's status. A session leader, its terminal the
 * console's pty when there is one, so that a resize of it comes as SIGWINCH.
 */
static pid_t spawn_waiter(const struct kx_config *cfg, const char *id, const char *exec_id,
			  const char *console, const sigset_t *mask, const sigset_t *old)
{
	pid_t pid = fork();
	int fd, tty_fd = -1;

	if (pid)
		return pid;
	setsid();
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && fd >= 0; i++)
		dup2(fd, i);
	if (console)
		tty_fd = open(console, O_RDWR | O_CLOEXEC);	/* our controlling terminal */
	_exit(wait_forwarding(cfg, id, exec_id, tty_fd, mask, old) & 0xff);
}

/* The flags of exec that change the bundle's process, as runc takes them. */
struct exec_flags {
	char **args;
	size_t n_args;
	const char *const *env;		/* --env, appended */
	size_t n_env;
	const char *cwd, *user;
	const char *caps[64];		/* --cap, added to bounding, effective, permitted */
	size_t n_caps;
	uint32_t gids[64];		/* --additional-gids, appended */
	size_t n_gids;
	bool no_new_privs;
};

/* A copy of n strings, malloc'd as protobuf-c frees them; NULL when out of memory. */
static char **strv_dup(char *const *v, size_t n, size_t extra)
{
	char **out = calloc(n + extra + 1, sizeof(*out));

	for (size_t i = 0; out && i < n; i++)
		if (!(out[i] = strdup(v[i]))) {
			while (i)
				free(out[--i]);
			free(out);
			return NULL;
		}
	return out;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * runc's exec without --process: the bundle's config.json process, its args
 * the COMMAND and the flags applied (cwd, env appended, user, additional
 * gids, capabilities added, no_new_privileges); 1 after saying why not.
 */
static int bundle_process(const char *bundle, const struct exec_flags *f,
			  Katasbx__Agent__V1__Process **out)
{
	char path[4200], unknown[256] = "", **v;
	cleanup_free char *text = NULL;
	Katasbx__Agent__V1__Process *p;
	json_object *root, *proc;
	struct kx_err err;
	int ret;

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	if (!(text = kx_read_text_file(path, KX_CONFIG_MAX, &err)))
		return fail("exec: the container's process: %s", err.msg);
	root = json_tokener_parse(text);
	if (!root || !json_object_object_get_ex(root, "process", &proc)) {
		json_object_put(root);
		return fail("exec: %s: no process to start from", path);
	}
	ret = kx_process_parse(json_object_to_json_string_ext(proc, JSON_C_TO_STRING_PLAIN),
			       &p, unknown, &err);
	json_object_put(root);
	if (ret)
		return fail("exec: %s", err.msg);
	if (!(v = strv_dup(f->args, f->n_args, 0)))
		goto nomem;
	strv_free(p->args, p->n_args);
	p->args = v;
	p->n_args = f->n_args;
	if (f->n_env) {
		if (!(v = strv_dup(p->env, p->n_env, f->n_env)))
			goto nomem;
		for (size_t i = 0; i < f->n_env; i++)
			if (!(v[p->n_env + i] = strdup(f->env[i]))) {
				strv_free(v, p->n_env + i);
				goto nomem;
			}
		strv_free(p->env, p->n_env);
		p->env = v;
		p->n_env += f->n_env;
	}
	if (f->cwd) {
		char *c = strdup(f->cwd);

		if (!c)
			goto nomem;
		if (p->cwd != protobuf_c_empty_string)
			free(p->cwd);
		p->cwd = c;
	}
	if (!p->user) {
		if (!(p->user = malloc(sizeof(*p->user))))
			goto nomem;
		katasbx__agent__v1__user__init(p->user);
	}
	if (f->user && parse_user(f->user, &p->user->uid, &p->user->gid)) {
		katasbx__agent__v1__process__free_unpacked(p, NULL);
		return fail("exec: --user \"%s\" is not UID[:GID]", f->user);
	}
	if (f->n_gids) {
		uint32_t *g = realloc(p->user->additional_gids,
				      (p->user->n_additional_gids + f->n_gids) * sizeof(*g));

		if (!g)
			goto nomem;
		memcpy(g + p->user->n_additional_gids, f->gids, f->n_gids * sizeof(*g));
		p->user->additional_gids = g;
		p->user->n_additional_gids += f->n_gids;
	}
	for (size_t i = 0; i < f->n_caps && p->capabilities; i++) {
		int cap = kx_cap_from_name(f->caps[i]);
		uint64_t bit = cap >= 0 ? 1ull << cap : 0;

		if (cap < 0) {
			size_t u = strlen(unknown);

			snprintf(unknown + u, sizeof(unknown) - u, "%s%s", u ? " " : "", f->caps[i]);
			continue;
		}
		p->capabilities->bounding |= bit;
		p->capabilities->effective |= bit;
		p->capabilities->permitted |= bit;
		/* runc: ambient only where the spec gives inheritable ones, which it needs */
		if (p->capabilities->inheritable)
			p->capabilities->ambient |= bit;
	}
	if (f->no_new_privs)
		p->no_new_privileges = true;
	if (unknown[0])
		kx_warn(KX_UNKNOWN_CAPS_WARNING, unknown);
	*out = p;
	return 0;
nomem:
	katasbx__agent__v1__process__free_unpacked(p, NULL);
	return fail("exec: out of memory");
}

int cmd_exec(struct kx_config *cfg, int argc, char **argv)
{
	enum { O_PIDFILE = 256, O_CONSOLE, O_PRESERVE, O_NNP, O_APPARMOR, O_LABEL, O_CGROUP,
	       O_IGNORE_PAUSED };
	static const struct option opts[] = {
		{ "process", required_argument, NULL, 'p' },
		{ "env", required_argument, NULL, 'e' },
		{ "cwd", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "detach", no_argument, NULL, 'd' },
		{ "tty", no_argument, NULL, 't' },
		{ "pid-file", required_argument, NULL, O_PIDFILE },
		{ "console-socket", required_argument, NULL, O_CONSOLE },
		{ "preserve-fds", required_argument, NULL, O_PRESERVE },
		{ "additional-gids", required_argument, NULL, 'g' },
		{ "cap", required_argument, NULL, 'c' },
		{ "no-new-privs", no_argument, NULL, O_NNP },
		{ "apparmor", required_argument, NULL, O_APPARMOR },
		{ "process-label", required_argument, NULL, O_LABEL },
		{ "cgroup", required_argument, NULL, O_CGROUP },
		{ "ignore-paused", no_argument, NULL, O_IGNORE_PAUSED },
		{ 0 }
	};
	Katasbx__Monitor__V1__ExecRequest x = KATASBX__MONITOR__V1__EXEC_REQUEST__INIT;
	Katasbx__Agent__V1__Process *proc = NULL, *parsed = NULL;
	char unknown_caps[256] = "";
	const char *process_file = NULL, *pid_file = NULL, *id, *console = NULL, *env[MAX_ENV];
	const char *unapplied = NULL;
	char exec_id[64], io[3][64], slave[64] = "";
	struct exec_flags f = { .env = env };
	size_t i;
	bool detach = false, tty = false, raw_set = false, ignore_paused = false;
	unsigned long gid;
	char *end;
	sigset_t fwd_mask, old_mask;
	struct termios saved;
	int tty_fd = -1;
	pid_t waiter;
	struct kx_state st;
	struct kx_err err;
	struct timespec ts;
	enum kx_status s;
	int c, ret;

	while ((c = getopt_cmd(argc, argv, "+p:e:w:u:dtg:c:", opts)) != -1) {
		switch (c) {
		case 'p': process_file = optarg; break;
		case 'e':
			if (!strchr(optarg, '=') || *optarg == '=')
				return fail("exec: --env \"%s\" is not KEY=VALUE", optarg);
			if (f.n_env == MAX_ENV - 1)
				return fail("exec: too many --env");
			env[f.n_env++] = optarg;
			break;
		case 'w': f.cwd = optarg; break;
		case 'u': f.user = optarg; break;
		case 'd': detach = true; break;
		case 't': tty = true; break;
		case 'g':
			errno = 0;
			gid = strtoul(optarg, &end, 10);
			if (errno || *optarg < '0' || *optarg > '9' || *end || gid >= UINT32_MAX)
				return fail("exec: invalid value \"%s\" for flag --additional-gids",
					    optarg);
			if (f.n_gids == sizeof(f.gids) / sizeof(f.gids[0]))
				return fail("exec: too many --additional-gids");
			f.gids[f.n_gids++] = gid;
			break;
		case 'c':
			if (f.n_caps == sizeof(f.caps) / sizeof(f.caps[0]))
				return fail("exec: too many --cap");
			f.caps[f.n_caps++] = optarg;
			break;
		case O_NNP: f.no_new_privs = true; break;
		case O_APPARMOR: unapplied = "--apparmor"; break;
		case O_LABEL: unapplied = "--process-label"; break;
		case O_CGROUP:
			return fail("exec: --cgroup %s: a sub-cgroup of the container's is not "
				    "supported (the process goes into the container's cgroup)", optarg);
		case O_IGNORE_PAUSED: ignore_paused = true; break;
		case O_PIDFILE: pid_file = optarg; break;
		case O_CONSOLE: console = optarg; break;
		case O_PRESERVE:
			if (preserve_fds("exec", optarg))
				return 1;
			break;
		default:
			return 1;	/* getopt_cmd said which flag */
		}
	}
	if (optind >= argc)
		return fail("usage: " EXEC_USAGE);
	id = argv[optind++];
	if (kx_state_read(cfg->root, id, &st, &err))
		return fail("%s", err.msg);
	s = kx_state_effective(&st);
	if (s != KX_STATUS_RUNNING && s != KX_STATUS_CREATED) {
		kx_state_clear(&st);
		if (s == KX_STATUS_PAUSED && ignore_paused)
			return fail("cannot exec in container %s: --ignore-paused: a paused "
				    "container's VM runs nothing: resume it first", id);
		return fail("cannot exec in container %s: it is %s, not running", id,
			    kx_status_name(s));
	}
	if (unapplied)
		kx_warn("exec: %s: not applied (the guest kernel has no security module for it)",
			unapplied);

	if (process_file) {
		char *json;

		if (optind < argc || f.n_env || f.cwd || f.user || f.n_gids || f.n_caps ||
		    f.no_new_privs) {
			kx_state_clear(&st);
			return fail("exec: --process takes no COMMAND, --env, --cwd, --user, "
				    "--additional-gids, --cap or --no-new-privs");
		}
		json = kx_read_text_file(process_file, PROCESS_MAX, &err);
		if (!json) {
			kx_state_clear(&st);
			return fail("exec: --process: %s", err.msg);
		}
		if (kx_process_parse(json, &parsed, unknown_caps, &err)) {
			/* its messages name config.json, where a process usually is */
			const char *msg = err.msg;

			if (!strncmp(msg, "config.json: ", 13))
				msg += 13;
			free(json);
			kx_state_clear(&st);
			return fail("exec: --process %s: %s", process_file, msg);
		}
		free(json);
		if (unknown_caps[0])
			kx_warn(KX_UNKNOWN_CAPS_WARNING, unknown_caps);
		if (!parsed->n_args) {
			katasbx__agent__v1__process__free_unpacked(parsed, NULL);
			kx_state_clear(&st);
			return fail("exec: --process %s: no process.args", process_file);
		}
		tty = tty || parsed->terminal;
		proc = parsed;
	} else {
		if (optind >= argc) {
			kx_state_clear(&st);
			return fail("exec: no command given (COMMAND or --process FILE)");
		}
		f.args = argv + optind;
		f.n_args = argc - optind;
		if (bundle_process(st.bundle, &f, &parsed)) {
			kx_state_clear(&st);
			return 1;
		}
		proc = parsed;
	}
	/*
	 * A terminal in the guest, relayed by the monitor from a host pty: the
	 * console socket's (as runc), else our own terminal, in the foreground.
	 */
	if ((console && !tty) || (tty && !console && (detach || !isatty(0)))) {
		if (parsed)
			katasbx__agent__v1__process__free_unpacked(parsed, NULL);
		kx_state_clear(&st);
		return fail(console ? "exec: --console-socket needs --tty (or process.terminal)" :
			    "exec: --tty needs --console-socket, or a terminal on stdin and the "
			    "foreground");
	}
	proc->terminal = tty;

	if (console) {
		struct termios t;

		if (console_send(console, slave, sizeof(slave))) {
			if (parsed)
				katasbx__agent__v1__process__free_unpacked(parsed, NULL);
			kx_state_clear(&st);
			return 1;
		}
		/*
		 * Held open until the monitor has its own: with no slave open, the
		 * receiver's reads of the master end (EIO).
		 */
		tty_fd = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (tty_fd >= 0)
			console_raw(tty_fd, &t);
		for (i = 0; i < 3; i++)
			snprintf(io[i], sizeof(io[i]), "%s", slave);
	}
	for (i = 0; i < 3 && !console; i++) {
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
	block_forwarded(&fwd_mask, &old_mask);
	ret = kx_monitor_call(cfg->root, id, "Exec", &x.base, &err);
	if (parsed)
		katasbx__agent__v1__process__free_unpacked(parsed, NULL);
	kx_state_clear(&st);
	if (ret) {
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		if (tty_fd >= 0)
			close(tty_fd);
		return fail("exec in %s: %s", id, err.msg);
	}
	/* the exec's host-side process: the waiter when detached, else us */
	waiter = detach ? spawn_waiter(cfg, id, exec_id, console ? slave : NULL, &fwd_mask,
				       &old_mask) : getpid();
	if (waiter < 0)
		kx_warn("exec: fork: %s; nothing waits for the exec on the host", strerror(errno));
	if (detach && tty_fd >= 0) {
		close(tty_fd);
		tty_fd = -1;
	}
	if (pid_file) {
		FILE *f = fopen(pid_file, "we");

		if (waiter < 0 || !f || fprintf(f, "%d", (int)waiter) < 0 || fclose(f)) {
			sigprocmask(SIG_SETMASK, &old_mask, NULL);
			if (tty_fd >= 0)
				close(tty_fd);
			return fail("exec: --pid-file %s: %s", pid_file, strerror(errno));
		}
	}
	if (detach) {
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		return 0;
	}

	if (tty && !console)
		raw_set = !console_raw(0, &saved);
	ret = wait_forwarding(cfg, id, exec_id, console ? tty_fd : tty ? 0 : -1, &fwd_mask,
			      &old_mask);
	if (tty_fd >= 0)
		close(tty_fd);
	if (raw_set)
		tcsetattr(0, TCSANOW, &saved);
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
