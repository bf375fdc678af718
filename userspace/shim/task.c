// SPDX-License-Identifier: GPL-2.0
/*
 * A task's lifecycle: Create forks its monitor (or, for a pod's container,
 * asks its sandbox's), Start, State, Kill, Delete and Wait; a watcher thread
 * per task turns the monitor's exit into TaskExit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "log.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "placement.h"
#include "service.h"
#include "share.h"
#include "shim.h"

static void task_free(struct task *t)
{
	int i;

	while (t->execs) {
		struct exec *e = t->execs;

		t->execs = e->next;
		exec_free(e);
	}

	for (i = 0; i < 3; i++)
		free(t->io[i]);
	pod_free(t);
	free(t);
}

/* Under lock. */
static void publish_exit(struct task *t)
{
	Containerd__Events__TaskExit e = CONTAINERD__EVENTS__TASK_EXIT__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	stamp(&ts, &t->exited_at);
	e.container_id = t->id;
	e.id = t->id;
	e.pid = t->pid;
	e.exit_status = t->exit_status;
	e.exited_at = &ts;
	shim_publish("/tasks/exit", "containerd.events.TaskExit", &e.base);
}

/* t's process has exited with exit_status (a wait status when wstatus). */
void task_exited(struct task *t, int status, bool wstatus)
{
	pthread_mutex_lock(&lock);
	if (t->kill_signal)
		t->exit_status = 128 + t->kill_signal;
	else if (!wstatus)
		t->exit_status = status;
	else if (WIFEXITED(status))
		t->exit_status = WEXITSTATUS(status);
	else
		t->exit_status = 128 + WTERMSIG(status);
	clock_gettime(CLOCK_REALTIME, &t->exited_at);
	t->status = T_STOPPED;
	if (t->starting)
		t->exit_held = true;
	else
		publish_exit(t);
	kx_debug("task %s exited with status %u", t->id, t->exit_status);
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
}

static void *watch_task(void *arg)
{
	struct task *t = arg;

	task_exited(t, shim_child_wait(t->pid), true);
	return NULL;
}

/* Monitor-side stdio: containerd's FIFOs (or /dev/null), onto 0, 1, 2. */
static int open_stdio(struct task *t)
{
	int fds[3], i;

	for (i = 0; i < 3; i++) {
		const char *p = t->io[i] && *t->io[i] ? t->io[i] : "/dev/null";

		if (i == 0) {
			/*
			 * Non-blocking: the open does not wait for a writer, and the
			 * monitor polls, so EOF is seen only once a writer has come and gone.
			 */
			fds[i] = open(p, O_RDONLY | O_NONBLOCK);
		} else {
			fds[i] = open(p, O_WRONLY | O_NONBLOCK);
			if (fds[i] < 0 && errno == ENXIO)	/* no reader yet: wait for one */
				fds[i] = open(p, O_WRONLY);
			if (fds[i] >= 0)
				fcntl(fds[i], F_SETFL, O_WRONLY);
		}
		if (fds[i] < 0)
			return -1;
	}
	for (i = 0; i < 3; i++) {
		if (fds[i] == i) {
			fcntl(i, F_SETFD, 0);
			continue;
		}
		dup2(fds[i], i);
	}
	for (i = 0; i < 3; i++)
		if (fds[i] > 2 && fds[i] != fds[(i + 1) % 3] && fds[i] != fds[(i + 2) % 3])
			close(fds[i]);
	return 0;
}

/* In the forked child: "WHAT: the error's description" for Create, with write(2) alone. */
static void child_say(int fd, const char *what, int e)
{
	const char *desc = strerrordesc_np(e);	/* a constant table, no locale, no lock */
	struct iovec v[] = { { (void *)what, strlen(what) }, { ": ", 2 },
			     { (void *)(desc ? desc : "unknown error"), 0 }, { "\n", 1 } };

	v[2].iov_len = strlen(v[2].iov_base);
	if (writev(fd, v, 4) < 0)
		_exit(255);
}

/*
 * The task's monitor is a program of its own, this binary's "monitor"
 * command: the shim's other threads may hold a lock (malloc's, json-c's, the
 * logger's) when it forks, and such a lock stays taken in the child for ever.
 * So the child makes only async-signal-safe calls (its session, its signal
 * mask, its stdio and descriptors) and execs; argv was made before the fork.
 */
static void monitor_child(struct task *t, char *const *argv, int ready_fd)
{
	sigset_t none;

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);	/* the shim's threads' mask is not the monitor's */
	/* the shim's sockets (containerd's connections, the listener) are not the monitor's */
	if (ready_fd > 3)
		close_range(3, ready_fd - 1, 0);
	close_range(ready_fd + 1, ~0U, 0);
	if (open_stdio(t)) {
		child_say(ready_fd, "open the task's stdio", errno);
		_exit(255);
	}
	fcntl(ready_fd, F_SETFD, 0);
	execv("/proc/self/exe", argv);
	child_say(ready_fd, "exec the monitor (/proc/self/exe)", errno);
	_exit(255);
}

/*
 * containerd-shim-katasbx-v2 [-namespace NS] [-debug] monitor ID BUNDLE
 * READY-FD TERMINAL SHARE-DIR: a task's monitor, exec'd by Create with the
 * task's stdio as its own. The settings and the spec are read again as the
 * shim read them; TERMINAL is containerd's (1: a pty in the guest), SHARE-DIR
 * a pod sandbox's share ("" for a standalone task).
 */
int shim_cmd_monitor(const struct shim_opts *o, int argc, char **argv)
{
	/* late_net: ctr run --cni configures the task pid's namespace after Create */
	struct kx_monitor_args a = { .cfg = &cfg, .late_net = true };
	struct shim_pod_size size;
	struct kx_spec spec;
	struct kx_err err;
	char *end;
	long fd;
	int ret;

	if (argc != 5 || (fd = strtol(argv[2], &end, 10)) < 3 || *end || fd > INT_MAX) {
		fprintf(stderr, "usage: containerd-shim-katasbx-v2 [-namespace NS] monitor ID BUNDLE "
				"READY-FD TERMINAL SHARE-DIR (run by the shim itself)\n");
		return 2;
	}
	a.id = argv[0];
	a.ready_fd = (int)fd;
	fcntl(a.ready_fd, F_SETFD, FD_CLOEXEC);
	kx_log_quiet_stderr();
	if (shim_load_config(&cfg, o->namespace, &err) || kx_config_find_guest(&cfg, &err) ||
	    kx_spec_load(argv[1], &spec, &err)) {
		dprintf(a.ready_fd, "%s\n", err.msg);
		return 255;
	}
	if (!strcmp(argv[3], "1"))
		spec.process->terminal = true;
	a.spec = &spec;
	if (*argv[4]) {
		char sub[KX_ID_MAX + 16];

		a.share_dir = argv[4];
		a.rootfs_subdir = a.id;
		a.n_size_for = shim_pod_size(spec.annotations_json, &size);
		a.size_for = size.p;
		/* the shim bound the sandbox's host paths on the share (pod_setup) */
		if ((shim_pod_mounts(sub, sizeof(sub), NULL, a.id) &&
		     kx_error(&err, ENAMETOOLONG, "task %s: its mounts' directory", a.id)) ||
		    kx_share_name_mounts(sub, &spec, &err)) {
			dprintf(a.ready_fd, "%s\n", err.msg);
			kx_spec_free(&spec);
			return 255;
		}
	}
	ret = kx_monitor_run(&a, &err);
	kx_spec_free(&spec);
	return ret < 0 ? 255 : ret;
}

void m_create(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__CreateTaskRequest *r;
	Containerd__Task__V2__CreateTaskResponse resp =
		CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
	struct task *t = NULL;
	struct kx_spec spec;
	bool have_spec = false;
	struct kx_err err;
	char msg[1200], ready_s[16], *argv[12];
	char q[400];
	void *(*watcher)(void *) = watch_task;
	int ready[2];
	pthread_t th;
	pid_t pid, sb_pid = 0;
	int n = 0;

	r = containerd__task__v2__create_task_request__unpack(NULL, rq->req->payload.len,
							      rq->req->payload.data);
	if (!r) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "malformed CreateTaskRequest");
		return;
	}
	if (!kx_id_valid(r->id)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "invalid task id \"%s\"",
				  kx_quoted(r->id, q, sizeof(q)));
		goto out;
	}
	if (r->checkpoint && *r->checkpoint) {
		ttrpc_reply_error(rp, TTRPC_UNIMPLEMENTED, "task %s: checkpoints are not supported yet",
				  r->id);
		goto out;
	}
	pthread_mutex_lock(&lock);
	t = find(r->id);
	pthread_mutex_unlock(&lock);
	if (t) {
		t = NULL;
		ttrpc_reply_error(rp, TTRPC_ALREADY_EXISTS, "task %s already exists", r->id);
		goto out;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "out of memory");
		goto out;
	}
	snprintf(t->id, sizeof(t->id), "%s", r->id);
	snprintf(t->bundle, sizeof(t->bundle), "%s", r->bundle);
	snprintf(t->rootfs, sizeof(t->rootfs), "%s/rootfs", r->bundle);
	t->io[0] = strdup(r->stdin ? r->stdin : "");
	t->io[1] = strdup(r->stdout ? r->stdout : "");
	t->io[2] = strdup(r->stderr ? r->stderr : "");

	if (shim_mount_rootfs(t->rootfs, (ProtobufCMessage **)r->rootfs, r->n_rootfs, &err)) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "task %s: %s", r->id, err.msg);
		goto fail;
	}
	t->mounted = r->n_rootfs > 0;
	if (kx_spec_load(r->bundle, &spec, &err)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "task %s: %s", r->id, err.msg);
		goto fail;
	}
	have_spec = true;
	if (cfg.host_cgroups && kx_hostcg_is_systemd_path(spec.cgroups_path)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "task %s: linux.cgroupsPath \"%s\" is "
				  "systemd's slice:prefix:name (a systemd cgroup driver): the shim "
				  "places sandboxes by cgroupfs paths; run kubelet and containerd with "
				  "the cgroupfs driver", r->id, kx_quoted(spec.cgroups_path, q, sizeof(q)));
		goto fail;
	}
	/* a terminal: a pty in the guest, its output on stdout; stderr stays empty */
	if (r->terminal)
		spec.process->terminal = true;
	if (pod_setup(t, &spec, &sb_pid, rp))
		goto fail;
	if (*t->sandbox) {
		t->pid = sb_pid;	/* the pid its hooks' state names */
		if (pod_create(t, &spec, rp))
			goto fail;
		pid = sb_pid;
		watcher = watch_pod_container;
		goto created;
	}
	if (kx_state_mkdir(cfg.root, r->id, &err)) {
		ttrpc_reply_error(rp, TTRPC_ALREADY_EXISTS, "%s", err.msg);
		goto fail;
	}
	if (kx_placement_setup(&cfg, r->id, &spec, &err)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "task %s: %s", r->id, err.msg);
		kx_state_remove(cfg.root, r->id, &err);
		goto fail;
	}
	if (pipe2(ready, O_CLOEXEC)) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "pipe: %s", strerror(errno));
		kx_state_remove(cfg.root, r->id, &err);
		goto fail;
	}
	snprintf(ready_s, sizeof(ready_s), "%d", ready[1]);
	argv[n++] = "containerd-shim-katasbx-v2";
	argv[n++] = "-namespace";
	argv[n++] = (char *)shim_opts->namespace;
	if (kx_log_debug_enabled())
		argv[n++] = "-debug";
	argv[n++] = "monitor";
	argv[n++] = t->id;
	argv[n++] = t->bundle;
	argv[n++] = ready_s;
	argv[n++] = r->terminal ? "1" : "0";
	argv[n++] = t->is_sandbox ? t->share_dir : "";
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		monitor_child(t, argv, ready[1]);
	}
	close(ready[1]);
	if (pid < 0) {
		close(ready[0]);
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "fork: %s", strerror(errno));
		kx_state_remove(cfg.root, r->id, &err);
		goto fail;
	}
	shim_child_track(pid);
	kx_monitor_read_ready(ready[0], msg, sizeof(msg));
	close(ready[0]);
	if (strcmp(msg, "ok")) {
		shim_child_wait(pid);
		/* the monitor removes its state; a monitor that died without a word cannot */
		kx_state_remove(cfg.root, r->id, &err);
		ttrpc_reply_error(rp, TTRPC_UNKNOWN, "task %s: %s", r->id,
				  *msg ? msg : "the monitor exited during creation");
		goto fail;
	}
created:
	t->pid = pid;
	t->status = T_CREATED;
	pthread_mutex_lock(&lock);
	t->next = tasks;
	tasks = t;
	if (pthread_create(&th, NULL, watcher, t) == 0) {
		pthread_detach(th);
	} else {
		/* cannot happen in practice; without a watcher Wait would hang */
		kx_log(KX_LOG_ERROR, "task %s: no watcher thread", t->id);
	}
	{
		Containerd__Events__TaskCreate e = CONTAINERD__EVENTS__TASK_CREATE__INIT;
		Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;

		io.stdin = t->io[0];
		io.stdout = t->io[1];
		io.stderr = t->io[2];
		e.container_id = t->id;
		e.bundle = t->bundle;
		e.n_rootfs = r->n_rootfs;
		e.rootfs = r->rootfs;
		e.io = &io;
		e.pid = pid;
		shim_publish("/tasks/create", "containerd.events.TaskCreate", &e.base);
	}
	pthread_mutex_unlock(&lock);
	resp.pid = pid;
	ttrpc_reply_set(rp, &resp.base);
	kx_spec_free(&spec);
	containerd__task__v2__create_task_request__free_unpacked(r, NULL);
	return;
fail:
	if (have_spec)
		kx_spec_free(&spec);
	pod_undo(t);
	if (t->mounted)
		shim_unmount_rootfs(t->rootfs);
	task_free(t);
out:
	containerd__task__v2__create_task_request__free_unpacked(r, NULL);
}

void m_start(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__StartRequest *r = UNPACK(Containerd__Task__V2__StartRequest,
						       containerd__task__v2__start_request, rq, rp);
	Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	Katasbx__Monitor__V1__Empty empty = KATASBX__MONITOR__V1__EMPTY__INIT;
	struct task *t;
	struct exec *e;
	struct kx_err err;
	int ret;

	if (!r || !(t = get_proc(r->id, r->exec_id, &e, rp)))
		goto out;
	if (e) {
		exec_start(t, e, rp);
		goto out;
	}
	if (t->status != T_CREATED || t->starting) {
		ttrpc_reply_error(rp, TTRPC_FAILED_PRECONDITION, "task %s is %s, not created",
				  t->id, t->status == T_STOPPED ? "stopped" : "running");
		pthread_mutex_unlock(&lock);
		goto out;
	}
	t->starting = true;
	pthread_mutex_unlock(&lock);

	if (*t->sandbox) {	/* t stays: Delete refuses a task that is starting */
		Katasbx__Monitor__V1__ContainerRequest cq =
			KATASBX__MONITOR__V1__CONTAINER_REQUEST__INIT;

		cq.container_id = t->id;
		ret = kx_monitor_call(cfg.root, t->sandbox, "StartContainer", &cq.base, &err);
		/* its poststart hooks, before Start answers (the sandbox's monitor runs its own) */
		if (!ret)
			pod_started(t);
	} else {
		ret = kx_monitor_call(cfg.root, t->id, "Start", &empty.base, &err);
	}

	pthread_mutex_lock(&lock);
	t->starting = false;
	if (!ret) {
		Containerd__Events__TaskStart e = CONTAINERD__EVENTS__TASK_START__INIT;

		if (t->status == T_CREATED)
			t->status = T_RUNNING;
		else if (t->status == T_PAUSED)	/* paused while starting */
			t->resume_status = T_RUNNING;
		e.container_id = t->id;
		e.pid = t->pid;
		shim_publish("/tasks/start", "containerd.events.TaskStart", &e.base);
		resp.pid = t->pid;
		ttrpc_reply_set(rp, &resp.base);
	} else {
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "start %s: %s", t->id,
				  err.msg);
	}
	if (t->exit_held) {
		t->exit_held = false;
		publish_exit(t);
	}
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
out:
	if (r)
		containerd__task__v2__start_request__free_unpacked(r, NULL);
}

static Containerd__V1__Types__Status status_of(const struct task *t)
{
	switch (t->status) {
	case T_CREATED: return CONTAINERD__V1__TYPES__STATUS__CREATED;
	case T_RUNNING: return CONTAINERD__V1__TYPES__STATUS__RUNNING;
	case T_PAUSED: return CONTAINERD__V1__TYPES__STATUS__PAUSED;
	default: return CONTAINERD__V1__TYPES__STATUS__STOPPED;
	}
}

void m_state(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__StateRequest *r = UNPACK(Containerd__Task__V2__StateRequest,
						       containerd__task__v2__state_request, rq, rp);
	Containerd__Task__V2__StateResponse s = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct task *t;
	struct exec *e;

	if (!r || !(t = get_proc(r->id, r->exec_id, &e, rp)))
		goto out;
	if (e) {
		s.id = t->id;
		s.bundle = t->bundle;
		s.pid = e->status == T_CREATED ? 0 : t->pid;
		s.status = e->status == T_CREATED ? CONTAINERD__V1__TYPES__STATUS__CREATED :
			   e->status == T_RUNNING ? CONTAINERD__V1__TYPES__STATUS__RUNNING :
			   CONTAINERD__V1__TYPES__STATUS__STOPPED;
		s.stdin = e->io[0];
		s.stdout = e->io[1];
		s.stderr = e->io[2];
		if (e->status == T_STOPPED) {
			s.exit_status = e->exit_status;
			stamp(&ts, &e->exited_at);
			s.exited_at = &ts;
		}
		s.exec_id = e->id;
		ttrpc_reply_set(rp, &s.base);
		pthread_mutex_unlock(&lock);
		goto out;
	}
	s.id = t->id;
	s.bundle = t->bundle;
	s.pid = t->pid;
	s.status = status_of(t);
	s.stdin = t->io[0];
	s.stdout = t->io[1];
	s.stderr = t->io[2];
	if (t->status == T_STOPPED) {
		s.exit_status = t->exit_status;
		stamp(&ts, &t->exited_at);
		s.exited_at = &ts;
	}
	s.exec_id = r->exec_id;
	ttrpc_reply_set(rp, &s.base);
	pthread_mutex_unlock(&lock);
out:
	if (r)
		containerd__task__v2__state_request__free_unpacked(r, NULL);
}

void m_kill(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__KillRequest *r = UNPACK(Containerd__Task__V2__KillRequest,
						      containerd__task__v2__kill_request, rq, rp);
	Katasbx__Monitor__V1__KillRequest k = KATASBX__MONITOR__V1__KILL_REQUEST__INIT;
	char id[KX_ID_MAX + 1], cid[KX_ID_MAX + 1];
	struct task *t;
	struct exec *e;
	struct kx_err err;

	if (!r || !(t = get_proc(r->id, r->exec_id, &e, rp)))
		goto out;
	snprintf(cid, sizeof(cid), "%s", MON_CID(t));
	k.container_id = cid;
	if (e && e->status != T_RUNNING) {
		ttrpc_reply_error(rp, e->status == T_STOPPED ? TTRPC_NOT_FOUND :
				  TTRPC_FAILED_PRECONDITION, "exec %s of %s: %s", e->id, t->id,
				  e->status == T_STOPPED ? "process already finished" : "not started");
		pthread_mutex_unlock(&lock);
		goto out;
	}
	if (e) {
		snprintf(id, sizeof(id), "%s", MON_ID(t));
		pthread_mutex_unlock(&lock);
		k.exec_id = r->exec_id;
		k.signal = r->signal;
		k.all = r->all;
		if (kx_monitor_call(cfg.root, id, "Kill", &k.base, &err))
			ttrpc_reply_error(rp, err.code == TTRPC_FAILED_PRECONDITION ?
					  TTRPC_NOT_FOUND : err.code ? err.code : TTRPC_UNKNOWN,
					  "kill exec %s of %s: %s", r->exec_id, id, err.msg);
		goto out;
	}
	if (t->status == T_STOPPED) {
		ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "task %s: process already finished", t->id);
		pthread_mutex_unlock(&lock);
		goto out;
	}
	if (t->status == T_CREATED && !t->starting && !*t->sandbox) {
		/* nothing runs in the guest yet: the monitor tears the sandbox down */
		t->kill_signal = r->signal;
		kill(t->pid, SIGTERM);
		pthread_mutex_unlock(&lock);
		goto out;
	}
	if (t->status == T_CREATED && !t->starting) {
		/* a pod's container not started: its init waits before exec, killed */
		t->kill_signal = r->signal;
		r->signal = SIGKILL;
	}
	snprintf(id, sizeof(id), "%s", MON_ID(t));
	pthread_mutex_unlock(&lock);
	k.signal = r->signal;
	k.all = r->all;
	if (kx_monitor_call(cfg.root, id, "Kill", &k.base, &err))
		ttrpc_reply_error(rp, err.code == TTRPC_FAILED_PRECONDITION ? TTRPC_NOT_FOUND :
				  err.code ? err.code : TTRPC_UNKNOWN, "kill %s: %s", id, err.msg);
out:
	if (r)
		containerd__task__v2__kill_request__free_unpacked(r, NULL);
}

void m_delete(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__DeleteRequest *r = UNPACK(Containerd__Task__V2__DeleteRequest,
							containerd__task__v2__delete_request, rq, rp);
	Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	Containerd__Events__TaskDelete e = CONTAINERD__EVENTS__TASK_DELETE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct task *t, **pp;
	struct exec *x, **ep;
	struct kx_err err;

	if (!r || !(t = get_proc(r->id, r->exec_id, &x, rp)))
		goto out;
	if (x) {
		/* an exec's delete publishes nothing, as containerd's own shims do */
		if (x->status == T_RUNNING || x->starting || x->watching) {
			ttrpc_reply_error(rp, TTRPC_FAILED_PRECONDITION,
					  "exec %s of %s is running", x->id, t->id);
			pthread_mutex_unlock(&lock);
			goto out;
		}
		for (ep = &t->execs; *ep; ep = &(*ep)->next) {
			if (*ep == x) {
				*ep = x->next;
				break;
			}
		}
		stamp(&ts, &x->exited_at);
		resp.pid = t->pid;
		resp.exit_status = x->exit_status;
		resp.exited_at = &ts;
		ttrpc_reply_set(rp, &resp.base);
		pthread_cond_broadcast(&changed);
		pthread_mutex_unlock(&lock);
		exec_free(x);
		goto out;
	}
	if (t->status == T_RUNNING || t->status == T_PAUSED || t->starting || t->deleting) {
		ttrpc_reply_error(rp, TTRPC_FAILED_PRECONDITION, "task %s is %s", t->id,
				  t->deleting ? "being deleted" : t->status == T_PAUSED ?
				  "paused: kill it first" : "running: kill it first");
		pthread_mutex_unlock(&lock);
		goto out;
	}
	t->deleting = true;
	if (*t->sandbox) {
		Katasbx__Monitor__V1__ContainerRequest cq =
			KATASBX__MONITOR__V1__CONTAINER_REQUEST__INIT;
		char sid[KX_ID_MAX + 1];

		/* the guest forgets it (killed if created); its watcher answers then */
		if (t->status == T_CREATED)
			t->kill_signal = SIGKILL;
		snprintf(sid, sizeof(sid), "%s", t->sandbox);
		cq.container_id = t->id;
		pthread_mutex_unlock(&lock);
		if (kx_monitor_call(cfg.root, sid, "DeleteContainer", &cq.base, &err))
			kx_debug("delete %s in sandbox %s: %s", cq.container_id, sid, err.msg);
		pthread_mutex_lock(&lock);
		while (t->status != T_STOPPED)
			pthread_cond_wait(&changed, &lock);
	} else if (t->status == T_CREATED) {
		t->kill_signal = SIGKILL;
		kill(t->pid, SIGTERM);
		while (t->status != T_STOPPED)
			pthread_cond_wait(&changed, &lock);
	}
	/* the monitor is gone: its execs' watchers and starters finish at once */
	for (;;) {
		for (x = t->execs; x && !x->watching && !x->starting; x = x->next)
			;
		if (!x)
			break;
		pthread_cond_wait(&changed, &lock);
	}
	for (pp = &tasks; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	kx_state_remove(cfg.root, t->id, &err);
	pod_undo(t);
	if (t->mounted)
		shim_unmount_rootfs(t->rootfs);
	stamp(&ts, &t->exited_at);
	e.container_id = t->id;
	e.pid = t->pid;
	e.exit_status = t->exit_status;
	e.exited_at = &ts;
	e.id = t->id;
	shim_publish("/tasks/delete", "containerd.events.TaskDelete", &e.base);
	resp.pid = t->pid;
	resp.exit_status = t->exit_status;
	resp.exited_at = &ts;
	ttrpc_reply_set(rp, &resp.base);
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	task_free(t);
out:
	if (r)
		containerd__task__v2__delete_request__free_unpacked(r, NULL);
}

void m_wait(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__WaitRequest *r = UNPACK(Containerd__Task__V2__WaitRequest,
						      containerd__task__v2__wait_request, rq, rp);
	Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct task *t;
	struct exec *e;

	if (!r || !(t = get_proc(r->id, r->exec_id, &e, rp)))
		goto out;
	if (e) {
		/* an exec not started yet may be deleted meanwhile: look it up each time */
		while ((t = find(r->id)) && (e = find_exec(t, r->exec_id)) &&
		       e->status != T_STOPPED)
			pthread_cond_wait(&changed, &lock);
		if (!t || !e) {
			ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "exec %s of %s: deleted", r->exec_id,
					  r->id);
		} else {
			resp.exit_status = e->exit_status;
			stamp(&ts, &e->exited_at);
			resp.exited_at = &ts;
			ttrpc_reply_set(rp, &resp.base);
		}
		pthread_mutex_unlock(&lock);
		goto out;
	}
	/* a task is only freed by Delete, which refuses one that has not stopped */
	while (t->status != T_STOPPED)
		pthread_cond_wait(&changed, &lock);
	resp.exit_status = t->exit_status;
	stamp(&ts, &t->exited_at);
	resp.exited_at = &ts;
	ttrpc_reply_set(rp, &resp.base);
	pthread_mutex_unlock(&lock);
out:
	if (r)
		containerd__task__v2__wait_request__free_unpacked(r, NULL);
}
