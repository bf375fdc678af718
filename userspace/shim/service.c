// SPDX-License-Identifier: GPL-2.0
/*
 * containerd.task.v2.Task: each task is a monitor process forked by the shim
 * (kx_monitor_run, as katasbx-runtime create runs it), with stdin, stdout and
 * stderr on containerd's FIFOs. Start and Kill go to the monitor's socket;
 * the monitor's exit status is the task's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent.pb-c.h"
#include "containerd/cgroups/v2/metrics.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "log.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "oci.h"
#include "shim.h"
#include "state.h"
#include "ttrpc_server.h"

enum tstatus { T_CREATED, T_RUNNING, T_STOPPED, T_PAUSED };

/* A process exec'd in a task: added by Exec, started by Start. */
struct exec {
	char id[KX_ID_MAX + 1];
	char *io[3];
	Katasbx__Agent__V1__Process *proc;
	enum tstatus status;
	bool starting, watching;
	uint32_t exit_status;
	struct timespec exited_at;
	struct exec *next;
};

struct task {
	char id[KX_ID_MAX + 1];
	char bundle[PATH_MAX];
	char rootfs[PATH_MAX + 8];
	bool mounted;
	char *io[3];		/* stdin, stdout, stderr FIFO paths */
	pid_t pid;		/* the monitor */
	enum tstatus status;
	enum tstatus resume_status;	/* what a paused task was: created or running */
	bool starting;		/* a Start is in flight: TaskExit waits for TaskStart */
	bool exit_held;
	int kill_signal;	/* a created task torn down by Kill exits 128+signal */
	uint32_t exit_status;
	struct timespec exited_at;
	struct exec *execs;
	/*
	 * Pods. A sandbox (container-type "sandbox") has its own monitor, whose
	 * VM shares share_dir; a pod's container runs in its sandbox's VM: its
	 * monitor is sandbox's, and pid the sandbox's monitor. Both have their
	 * rootfs bound on share_bind (share_dir/ID), undone on Delete.
	 */
	bool is_sandbox;
	char sandbox[KX_ID_MAX + 1];	/* a pod's container: its sandbox's task id */
	char share_dir[PATH_MAX];
	char share_bind[PATH_MAX + KX_ID_MAX + 2];
	bool deleting;
	struct task *next;
};

/* The task whose monitor runs t: t's sandbox, or t itself. */
#define MON_ID(t) (*(t)->sandbox ? (t)->sandbox : (t)->id)
/* t's container id as its monitor knows it: "" for the monitor's own. */
#define MON_CID(t) (*(t)->sandbox ? (t)->id : "")

static const struct shim_opts *opts;
static struct kx_config cfg;
static struct task *tasks;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static struct task *find(const char *id)
{
	struct task *t;

	for (t = tasks; t; t = t->next)
		if (!strcmp(t->id, id))
			return t;
	return NULL;
}

static struct exec *find_exec(struct task *t, const char *id)
{
	struct exec *e;

	for (e = t->execs; e; e = e->next)
		if (!strcmp(e->id, id))
			return e;
	return NULL;
}

static void exec_free(struct exec *e)
{
	int i;

	for (i = 0; i < 3; i++)
		free(e->io[i]);
	if (e->proc)
		katasbx__agent__v1__process__free_unpacked(e->proc, NULL);
	free(e);
}

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
	free(t);
}

static void stamp(Google__Protobuf__Timestamp *ts, const struct timespec *t)
{
	ts->seconds = t->tv_sec;
	ts->nanos = t->tv_nsec;
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
static void task_exited(struct task *t, int status, bool wstatus)
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

/* A pod's container: its init's exit through the sandbox's monitor. */
static void *watch_pod_container(void *arg)
{
	Katasbx__Monitor__V1__WaitExecRequest req = KATASBX__MONITOR__V1__WAIT_EXEC_REQUEST__INIT;
	Katasbx__Monitor__V1__WaitExecResponse *resp = NULL;
	struct task *t = arg;
	struct kx_err err;
	int status;

	/* t stays: Delete waits until it has stopped */
	req.container_id = t->id;
	req.exec_id = "";
	if (kx_monitor_call_resp(cfg.root, t->sandbox, "WaitExec", &req.base,
				 &katasbx__monitor__v1__wait_exec_response__descriptor,
				 (ProtobufCMessage **)&resp, -1, &err)) {
		/* the sandbox's VM is gone, and the container with it */
		kx_debug("wait for %s in sandbox %s: %s", t->id, t->sandbox, err.msg);
		status = 128 + SIGKILL;
	} else {
		status = resp->status;
		katasbx__monitor__v1__wait_exec_response__free_unpacked(resp, NULL);
	}
	task_exited(t, status, false);
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

static void monitor_child(struct task *t, struct kx_spec *spec, int ready_fd)
{
	struct kx_monitor_args a = { .cfg = &cfg, .id = t->id, .spec = spec,
				     .ready_fd = ready_fd };

	if (t->is_sandbox) {
		a.share_dir = t->share_dir;
		a.rootfs_subdir = t->id;
	}
	struct kx_err err;
	int ret;

	setsid();
	/* the shim's sockets (containerd's connections, the listener) are not the monitor's */
	if (ready_fd > 3)
		close_range(3, ready_fd - 1, 0);
	close_range(ready_fd + 1, ~0U, 0);
	if (open_stdio(t)) {
		dprintf(ready_fd, "open the task's stdio: %s\n", strerror(errno));
		_exit(255);
	}
	kx_log_quiet_stderr();
	ret = kx_monitor_run(&a, &err);
	_exit(ret < 0 ? 255 : ret);
}

/* The monitor's first line: "ok" or why the sandbox could not be made. */
static void read_ready(int fd, char *msg, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n < len - 1 && (r = read(fd, msg + n, len - 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n += r;
		if (memchr(msg, '\n', n))
			break;
	}
	msg[n] = '\0';
	if (n && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
}

/* Undo the host side of a pod's task: its bind on the share, the sandbox's share. */
static void pod_undo(struct task *t)
{
	char share[PATH_MAX];

	if (*t->share_bind)
		shim_unbind(t->share_bind);
	t->share_bind[0] = '\0';
	if (t->is_sandbox) {
		rmdir(t->share_dir);	/* fails while a pod's container is bound there */
	} else if (*t->sandbox && !shim_pod_share(share, sizeof(share), cfg.root, t->sandbox)) {
		rmdir(share);		/* the sandbox went first */
	}
	if (t->is_sandbox || *t->sandbox) {
		snprintf(share, sizeof(share), "%s/.pods", cfg.root);
		rmdir(share);		/* once no pod is left */
	}
}

/*
 * The CRI annotations: a sandbox gets a share and its rootfs bound there; a
 * container of a sandbox this shim runs gets t->sandbox and *sb_pid. A
 * container whose sandbox is not here runs in a VM of its own. A reply and
 * -1 on failure.
 */
static int pod_setup(struct task *t, const struct kx_spec *spec, pid_t *sb_pid,
		     struct ttrpc_reply *rp)
{
	char *type = shim_annotation(spec->annotations_json, SHIM_ANN_TYPE);
	char *sid = shim_annotation(spec->annotations_json, SHIM_ANN_SANDBOX);
	char pods[PATH_MAX];
	struct kx_err err;
	struct task *sb;
	int ret = 0;

	if (type && !strcmp(type, "container") && sid && strcmp(sid, t->id)) {
		pthread_mutex_lock(&lock);
		sb = find(sid);
		if (sb && sb->is_sandbox && sb->status != T_STOPPED && !sb->deleting) {
			snprintf(t->sandbox, sizeof(t->sandbox), "%s", sb->id);
			*sb_pid = sb->pid;
		}
		pthread_mutex_unlock(&lock);
		if (!*t->sandbox)
			kx_warn("task %s: sandbox %s is not running in this shim: a VM of its own",
				t->id, sid);
	} else if (type && !strcmp(type, "sandbox")) {
		snprintf(pods, sizeof(pods), "%s/.pods", cfg.root);
		if (shim_pod_share(t->share_dir, sizeof(t->share_dir), cfg.root, t->id) ||
		    (mkdir(pods, 0700) && errno != EEXIST) ||
		    (mkdir(t->share_dir, 0700) && errno != EEXIST)) {
			ttrpc_reply_error(rp, TTRPC_INTERNAL, "task %s: pod share: %s", t->id,
					  strerror(errno ? errno : ENAMETOOLONG));
			ret = -1;
			goto out;
		}
		t->is_sandbox = true;
		snprintf(t->share_bind, sizeof(t->share_bind), "%s/%s", t->share_dir, t->id);
		if (shim_bind(spec->root_path, t->share_bind, &err)) {
			t->share_bind[0] = '\0';
			ttrpc_reply_error(rp, TTRPC_INTERNAL, "task %s: %s", t->id, err.msg);
			ret = -1;
		}
	}
out:
	free(type);
	free(sid);
	return ret;
}

/* A pod's container: its rootfs bound on the sandbox's share, created by its monitor. */
static int pod_create(struct task *t, const struct kx_spec *spec, struct ttrpc_reply *rp)
{
	Katasbx__Monitor__V1__CreateContainerRequest x =
		KATASBX__MONITOR__V1__CREATE_CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__CreateContainerRequest cr =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	char share[PATH_MAX];
	struct kx_err err;

	if (shim_pod_share(share, sizeof(share), cfg.root, t->sandbox)) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "task %s: pod share", t->id);
		return -1;
	}
	snprintf(t->share_bind, sizeof(t->share_bind), "%s/%s", share, t->id);
	if (shim_bind(spec->root_path, t->share_bind, &err)) {
		t->share_bind[0] = '\0';
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "task %s: %s", t->id, err.msg);
		return -1;
	}
	cr.container_id = t->id;
	cr.process = spec->process;
	cr.hostname = spec->hostname ? spec->hostname : "";
	cr.rootfs_subdir = t->id;
	cr.rootfs_readonly = spec->root_readonly;
	cr.n_mounts = spec->n_mounts;
	cr.mounts = spec->mounts;
	cr.n_masked_paths = spec->n_masked_paths;
	cr.masked_paths = spec->masked_paths;
	cr.n_readonly_paths = spec->n_readonly_paths;
	cr.readonly_paths = spec->readonly_paths;
	x.container = &cr;
	x.stdin = t->io[0];
	x.stdout = t->io[1];
	x.stderr = t->io[2];
	if (kx_monitor_call(cfg.root, t->sandbox, "CreateContainer", &x.base, &err)) {
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "task %s in sandbox %s: %s",
				  t->id, t->sandbox, err.msg);
		return -1;
	}
	return 0;
}

static void m_create(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__CreateTaskRequest *r;
	Containerd__Task__V2__CreateTaskResponse resp =
		CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
	struct task *t = NULL;
	struct kx_spec spec;
	bool have_spec = false;
	struct kx_err err;
	char msg[1200];
	void *(*watcher)(void *) = watch_task;
	int ready[2];
	pthread_t th;
	pid_t pid, sb_pid = 0;

	r = containerd__task__v2__create_task_request__unpack(NULL, rq->req->payload.len,
							      rq->req->payload.data);
	if (!r) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "malformed CreateTaskRequest");
		return;
	}
	if (!kx_id_valid(r->id)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "invalid task id \"%s\"", r->id);
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
	/* a terminal: a pty in the guest, its output on stdout; stderr stays empty */
	if (r->terminal)
		spec.process->terminal = true;
	if (spec.n_skipped_mounts)
		kx_warn("task %s: %zu bind mount(s) of host paths skipped: not supported in the VM yet",
			r->id, spec.n_skipped_mounts);
	if (pod_setup(t, &spec, &sb_pid, rp))
		goto fail;
	if (*t->sandbox) {
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
	if (pipe2(ready, O_CLOEXEC)) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "pipe: %s", strerror(errno));
		kx_state_remove(cfg.root, r->id, &err);
		goto fail;
	}
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		monitor_child(t, &spec, ready[1]);
	}
	close(ready[1]);
	if (pid < 0) {
		close(ready[0]);
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "fork: %s", strerror(errno));
		kx_state_remove(cfg.root, r->id, &err);
		goto fail;
	}
	shim_child_track(pid);
	read_ready(ready[0], msg, sizeof(msg));
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

/* Look up id (and refuse exec ids: there are no execs yet); under lock on success. */
static struct task *get_task(const char *id, const char *exec_id, struct ttrpc_reply *rp)
{
	struct task *t;

	pthread_mutex_lock(&lock);
	t = find(id ? id : "");
	if (t && (!exec_id || !*exec_id))
		return t;
	pthread_mutex_unlock(&lock);
	if (t)
		ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "exec %s of task %s: not found", exec_id, id);
	else
		ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "task %s: not found", id ? id : "");
	return NULL;
}

/* A task and, for a non-empty exec_id, its exec in *e; under lock on success. */
static struct task *get_proc(const char *id, const char *exec_id, struct exec **e,
			     struct ttrpc_reply *rp)
{
	struct task *t = get_task(id, NULL, rp);

	*e = NULL;
	if (!t || !exec_id || !*exec_id)
		return t;
	*e = find_exec(t, exec_id);
	if (*e)
		return t;
	pthread_mutex_unlock(&lock);
	ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "exec %s of task %s: not found", exec_id, id);
	return NULL;
}

#define UNPACK(type, lower, rq, rp)                                                     \
	({                                                                              \
		type *_m = lower##__unpack(NULL, (rq)->req->payload.len,                \
					   (rq)->req->payload.data);                     \
		if (!_m)                                                                \
			ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "malformed " #type); \
		_m;                                                                     \
	})

struct exec_watch {
	char tid[KX_ID_MAX + 1];
	char eid[KX_ID_MAX + 1];
	char mid[KX_ID_MAX + 1];	/* the monitor: the task's, or its sandbox's */
	char cid[KX_ID_MAX + 1];	/* the container there: "" for the monitor's own */
};

/* Waits for an exec through its monitor; then TaskExit with the exec's id. */
static void *watch_exec(void *arg)
{
	struct exec_watch *w = arg;
	Katasbx__Monitor__V1__WaitExecRequest req = KATASBX__MONITOR__V1__WAIT_EXEC_REQUEST__INIT;
	Katasbx__Monitor__V1__WaitExecResponse *resp = NULL;
	Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct kx_err err;
	struct task *t;
	struct exec *e;
	uint32_t status;

	req.exec_id = w->eid;
	req.container_id = w->cid;
	if (kx_monitor_call_resp(cfg.root, w->mid, "WaitExec", &req.base,
				 &katasbx__monitor__v1__wait_exec_response__descriptor,
				 (ProtobufCMessage **)&resp, -1, &err)) {
		/* the monitor is gone: the container's pid namespace took the exec with it */
		kx_debug("wait for exec %s of %s: %s", w->eid, w->tid, err.msg);
		status = 128 + SIGKILL;
	} else {
		status = resp->status;
		katasbx__monitor__v1__wait_exec_response__free_unpacked(resp, NULL);
	}
	pthread_mutex_lock(&lock);
	if ((t = find(w->tid)) && (e = find_exec(t, w->eid))) {
		e->exit_status = status;
		clock_gettime(CLOCK_REALTIME, &e->exited_at);
		e->status = T_STOPPED;
		e->watching = false;
		stamp(&ts, &e->exited_at);
		ev.container_id = t->id;
		ev.id = e->id;
		ev.pid = t->pid;
		ev.exit_status = status;
		ev.exited_at = &ts;
		shim_publish("/tasks/exit", "containerd.events.TaskExit", &ev.base);
		kx_debug("exec %s of %s exited with status %u", e->id, t->id, status);
	}
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	free(w);
	return NULL;
}

/* Exec: an OCI Process (JSON in spec) recorded; the monitor runs it at Start. */
static void m_exec(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__ExecProcessRequest *r =
		UNPACK(Containerd__Task__V2__ExecProcessRequest,
		       containerd__task__v2__exec_process_request, rq, rp);
	Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	Katasbx__Agent__V1__Process *proc = NULL;
	struct exec *e = NULL;
	struct kx_err err;
	struct task *t;
	char *json;

	if (!r)
		return;
	if (!kx_id_valid(r->exec_id)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "invalid exec id \"%s\"", r->exec_id);
		goto out;
	}
	if (!r->spec || !r->spec->value.len) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "exec %s: no process spec", r->exec_id);
		goto out;
	}
	json = strndup((const char *)r->spec->value.data, r->spec->value.len);
	if (!json || kx_process_parse(json, &proc, &err)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "exec %s: %s", r->exec_id,
				  json ? err.msg : "out of memory");
		free(json);
		goto out;
	}
	free(json);
	if (r->terminal)
		proc->terminal = true;
	if (!(t = get_task(r->id, NULL, rp)))
		goto out;
	if (find_exec(t, r->exec_id)) {
		ttrpc_reply_error(rp, TTRPC_ALREADY_EXISTS, "exec %s of task %s already exists",
				  r->exec_id, t->id);
	} else if (t->status != T_RUNNING) {
		ttrpc_reply_error(rp, TTRPC_FAILED_PRECONDITION, "task %s is not running", t->id);
	} else if (!(e = calloc(1, sizeof(*e)))) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "out of memory");
	} else {
		snprintf(e->id, sizeof(e->id), "%s", r->exec_id);
		e->io[0] = strdup(r->stdin ? r->stdin : "");
		e->io[1] = strdup(r->stdout ? r->stdout : "");
		e->io[2] = strdup(r->stderr ? r->stderr : "");
		e->proc = proc;
		proc = NULL;
		e->status = T_CREATED;
		e->next = t->execs;
		t->execs = e;
		ev.container_id = t->id;
		ev.exec_id = e->id;
		shim_publish("/tasks/exec-added", "containerd.events.TaskExecAdded", &ev.base);
		ttrpc_reply_set(rp, &empty.base);
	}
	pthread_mutex_unlock(&lock);
out:
	if (proc)
		katasbx__agent__v1__process__free_unpacked(proc, NULL);
	containerd__task__v2__exec_process_request__free_unpacked(r, NULL);
}

/* Start of an exec: the monitor opens its FIFOs and runs it in the guest. Under lock. */
static void exec_start(struct task *t, struct exec *e, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	Katasbx__Monitor__V1__ExecRequest x = KATASBX__MONITOR__V1__EXEC_REQUEST__INIT;
	char tid[KX_ID_MAX + 1], eid[KX_ID_MAX + 1], mid[KX_ID_MAX + 1], cid[KX_ID_MAX + 1];
	struct exec_watch *w;
	struct kx_err err;
	pthread_t th;
	int ret;

	if (e->status != T_CREATED || e->starting || t->status != T_RUNNING) {
		ttrpc_reply_error(rp, TTRPC_FAILED_PRECONDITION, "exec %s of %s cannot start: %s",
				  e->id, t->id, t->status != T_RUNNING ? "the task is not running" :
				  "it was started already");
		pthread_mutex_unlock(&lock);
		return;
	}
	e->starting = true;
	snprintf(tid, sizeof(tid), "%s", t->id);
	snprintf(eid, sizeof(eid), "%s", e->id);
	snprintf(mid, sizeof(mid), "%s", MON_ID(t));
	snprintf(cid, sizeof(cid), "%s", MON_CID(t));
	x.container_id = cid;
	x.exec_id = e->id;
	x.process = e->proc;
	x.stdin = e->io[0];
	x.stdout = e->io[1];
	x.stderr = e->io[2];
	pthread_mutex_unlock(&lock);
	/* e stays: Delete refuses an exec that is starting */
	ret = kx_monitor_call(cfg.root, mid, "Exec", &x.base, &err);

	pthread_mutex_lock(&lock);
	e->starting = false;
	w = ret ? NULL : calloc(1, sizeof(*w));
	if (!ret && w) {
		Containerd__Events__TaskExecStarted ev = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;

		snprintf(w->tid, sizeof(w->tid), "%s", tid);
		snprintf(w->eid, sizeof(w->eid), "%s", eid);
		snprintf(w->mid, sizeof(w->mid), "%s", mid);
		snprintf(w->cid, sizeof(w->cid), "%s", cid);
		e->status = T_RUNNING;
		e->watching = true;
		ev.container_id = t->id;
		ev.exec_id = e->id;
		ev.pid = t->pid;
		shim_publish("/tasks/exec-started", "containerd.events.TaskExecStarted", &ev.base);
		if (pthread_create(&th, NULL, watch_exec, w) == 0) {
			pthread_detach(th);
		} else {
			e->watching = false;
			free(w);
		}
		resp.pid = t->pid;
		ttrpc_reply_set(rp, &resp.base);
	} else if (!ret) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "out of memory");
	} else {
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "start exec %s of %s: %s",
				  eid, tid, err.msg);
	}
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
}

static void m_start(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
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

static void m_state(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
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

static void m_kill(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
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

static void m_delete(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
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

static void m_wait(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
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

static void m_pids(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__PidsRequest *r = UNPACK(Containerd__Task__V2__PidsRequest,
						      containerd__task__v2__pids_request, rq, rp);
	Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
	Containerd__V1__Types__ProcessInfo pi = CONTAINERD__V1__TYPES__PROCESS_INFO__INIT;
	Containerd__V1__Types__ProcessInfo *pis[1] = { &pi };
	struct task *t;

	if (!r || !(t = get_task(r->id, NULL, rp)))
		goto out;
	/* the host sees one process per task: the monitor holding its VM */
	pi.pid = t->pid;
	resp.n_processes = 1;
	resp.processes = pis;
	ttrpc_reply_set(rp, &resp.base);
	pthread_mutex_unlock(&lock);
out:
	if (r)
		containerd__task__v2__pids_request__free_unpacked(r, NULL);
}

static void m_close_io(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__CloseIORequest *r = UNPACK(Containerd__Task__V2__CloseIORequest,
							 containerd__task__v2__close_iorequest, rq, rp);
	struct task *t;
	struct exec *e;

	/* stdin's EOF travels through the FIFO: the monitor sees its writer close */
	if (r && (t = get_proc(r->id, r->exec_id, &e, rp)))
		pthread_mutex_unlock(&lock);
	if (r)
		containerd__task__v2__close_iorequest__free_unpacked(r, NULL);
}

static void m_connect(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__ConnectRequest *r = UNPACK(Containerd__Task__V2__ConnectRequest,
							 containerd__task__v2__connect_request, rq, rp);
	Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
	struct task *t;

	if (!r)
		return;
	pthread_mutex_lock(&lock);
	t = find(r->id);
	resp.shim_pid = getpid();
	resp.task_pid = t ? t->pid : 0;
	resp.version = "";
	ttrpc_reply_set(rp, &resp.base);
	pthread_mutex_unlock(&lock);
	containerd__task__v2__connect_request__free_unpacked(r, NULL);
}

/* Pause (QMP stop) or resume (cont) the task's VM, through its monitor. */
static void pause_resume(const char *id, bool pause, struct ttrpc_reply *rp)
{
	Katasbx__Monitor__V1__Empty empty = KATASBX__MONITOR__V1__EMPTY__INIT;
	Google__Protobuf__Empty out = GOOGLE__PROTOBUF__EMPTY__INIT;
	char tid[KX_ID_MAX + 1];
	struct task *t;
	struct kx_err err;

	if (!(t = get_task(id, NULL, rp)))
		return;
	if (*t->sandbox) {
		ttrpc_reply_error(rp, TTRPC_UNIMPLEMENTED,
				  "task %s: pausing one container of a pod is not supported", t->id);
		pthread_mutex_unlock(&lock);
		return;
	}
	if (pause ? (t->status != T_RUNNING && t->status != T_CREATED) : t->status != T_PAUSED) {
		ttrpc_reply_error(rp, TTRPC_FAILED_PRECONDITION, "task %s is %s", t->id,
				  t->status == T_STOPPED ? "stopped" : t->status == T_PAUSED ?
				  "already paused" : "not paused");
		pthread_mutex_unlock(&lock);
		return;
	}
	snprintf(tid, sizeof(tid), "%s", t->id);
	pthread_mutex_unlock(&lock);

	if (kx_monitor_call(cfg.root, tid, pause ? "Pause" : "Resume", &empty.base, &err)) {
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "%s %s: %s",
				  pause ? "pause" : "resume", tid, err.msg);
		return;
	}
	pthread_mutex_lock(&lock);
	if ((t = find(tid)) && t->status != T_STOPPED) {
		if (pause) {
			Containerd__Events__TaskPaused e = CONTAINERD__EVENTS__TASK_PAUSED__INIT;

			t->resume_status = t->status;
			t->status = T_PAUSED;
			e.container_id = t->id;
			shim_publish("/tasks/paused", "containerd.events.TaskPaused", &e.base);
		} else {
			Containerd__Events__TaskResumed e = CONTAINERD__EVENTS__TASK_RESUMED__INIT;

			t->status = t->resume_status;
			e.container_id = t->id;
			shim_publish("/tasks/resumed", "containerd.events.TaskResumed", &e.base);
		}
		pthread_cond_broadcast(&changed);
	}
	pthread_mutex_unlock(&lock);
	ttrpc_reply_set(rp, &out.base);
}

static void m_pause(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__PauseRequest *r = UNPACK(Containerd__Task__V2__PauseRequest,
						       containerd__task__v2__pause_request, rq, rp);

	if (!r)
		return;
	pause_resume(r->id, true, rp);
	containerd__task__v2__pause_request__free_unpacked(r, NULL);
}

static void m_resume(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__ResumeRequest *r = UNPACK(Containerd__Task__V2__ResumeRequest,
							containerd__task__v2__resume_request, rq, rp);

	if (!r)
		return;
	pause_resume(r->id, false, rp);
	containerd__task__v2__resume_request__free_unpacked(r, NULL);
}

/* The guest cgroup's counters, as containerd's cgroups v2 Metrics in an Any. */
static void m_stats(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__StatsRequest *r = UNPACK(Containerd__Task__V2__StatsRequest,
						       containerd__task__v2__stats_request, rq, rp);
	Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
	Io__Containerd__Cgroups__V2__Metrics mt = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
	Io__Containerd__Cgroups__V2__PidsStat pids = IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
	Io__Containerd__Cgroups__V2__CPUStat cpu = IO__CONTAINERD__CGROUPS__V2__CPUSTAT__INIT;
	Io__Containerd__Cgroups__V2__MemoryStat mem = IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT;
	Katasbx__Monitor__V1__ContainerRequest cq = KATASBX__MONITOR__V1__CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__StatsContainerResponse *sr = NULL;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	char tid[KX_ID_MAX + 1], cid[KX_ID_MAX + 1];
	struct task *t;
	struct kx_err err;
	uint8_t *buf = NULL;

	if (!r || !(t = get_task(r->id, NULL, rp)))
		goto out;
	if (t->status == T_STOPPED) {
		ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "task %s: process already finished", t->id);
		pthread_mutex_unlock(&lock);
		goto out;
	}
	snprintf(tid, sizeof(tid), "%s", MON_ID(t));
	snprintf(cid, sizeof(cid), "%s", MON_CID(t));
	cq.container_id = cid;
	pthread_mutex_unlock(&lock);
	if (kx_monitor_call_resp(cfg.root, tid, "Stats", &cq.base,
				 &katasbx__agent__v1__stats_container_response__descriptor,
				 (ProtobufCMessage **)&sr, 30000, &err)) {
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "stats %s: %s", tid,
				  err.msg);
		goto out;
	}
	pids.current = sr->pids_current;
	cpu.usage_usec = sr->cpu_usage_usec;
	mem.usage = sr->memory_current;
	mt.pids = &pids;
	mt.cpu = &cpu;
	mt.memory = &mem;
	any.type_url = "io.containerd.cgroups.v2.Metrics";
	any.value.len = io__containerd__cgroups__v2__metrics__get_packed_size(&mt);
	buf = malloc(any.value.len ? any.value.len : 1);
	if (!buf) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "out of memory");
		goto out;
	}
	io__containerd__cgroups__v2__metrics__pack(&mt, buf);
	any.value.data = buf;
	resp.stats = &any;
	ttrpc_reply_set(rp, &resp.base);
out:
	free(buf);
	if (sr)
		katasbx__agent__v1__stats_container_response__free_unpacked(sr, NULL);
	if (r)
		containerd__task__v2__stats_request__free_unpacked(r, NULL);
}

/* The window size of a terminal process: the monitor asks the agent (TtyWinResize). */
static void m_resize_pty(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__ResizePtyRequest *r =
		UNPACK(Containerd__Task__V2__ResizePtyRequest,
		       containerd__task__v2__resize_pty_request, rq, rp);
	Katasbx__Monitor__V1__ResizePtyRequest z = KATASBX__MONITOR__V1__RESIZE_PTY_REQUEST__INIT;
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	char mid[KX_ID_MAX + 1], cid[KX_ID_MAX + 1];
	struct task *t;
	struct exec *e;
	struct kx_err err;

	if (!r || !(t = get_proc(r->id, r->exec_id, &e, rp)))
		goto out;
	if (e ? e->status != T_RUNNING : t->status == T_STOPPED) {
		ttrpc_reply_error(rp, TTRPC_FAILED_PRECONDITION, "%s %s of %s is not running",
				  e ? "exec" : "task", e ? e->id : t->id, t->id);
		pthread_mutex_unlock(&lock);
		goto out;
	}
	snprintf(mid, sizeof(mid), "%s", MON_ID(t));
	snprintf(cid, sizeof(cid), "%s", MON_CID(t));
	pthread_mutex_unlock(&lock);
	z.container_id = cid;
	z.exec_id = r->exec_id;
	z.width = r->width;
	z.height = r->height;
	if (kx_monitor_call(cfg.root, mid, "ResizePty", &z.base, &err))
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "resize pty of %s: %s",
				  r->id, err.msg);
	else
		ttrpc_reply_set(rp, &empty.base);
out:
	if (r)
		containerd__task__v2__resize_pty_request__free_unpacked(r, NULL);
}

/* An integer member of obj.key ("memory.limit"), or 0 when absent or null. */
static int64_t json_limit(json_object *o, const char *obj, const char *key, bool *bad)
{
	json_object *sub, *v;

	if (!json_object_object_get_ex(o, obj, &sub) || !sub)
		return 0;
	if (!json_object_is_type(sub, json_type_object)) {
		*bad = true;
		return 0;
	}
	if (!json_object_object_get_ex(sub, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int)) {
		*bad = true;
		return 0;
	}
	return json_object_get_int64(v);
}

/*
 * Update: the OCI LinuxResources JSON containerd sends (an Any of type
 * types.containerd.io/opencontainers/runtime-spec/1/LinuxResources) becomes
 * the agent's UpdateContainer for the container's guest cgroup: memory.limit
 * (memory.max), cpu.quota and cpu.period (cpu.max), pids.limit (pids.max).
 * A negative limit is "max"; 0 or absent leaves the file as it is; other
 * fields are ignored.
 */
static void m_update(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Containerd__Task__V2__UpdateTaskRequest *r =
		UNPACK(Containerd__Task__V2__UpdateTaskRequest,
		       containerd__task__v2__update_task_request, rq, rp);
	Katasbx__Agent__V1__UpdateContainerRequest u =
		KATASBX__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	char mid[KX_ID_MAX + 1], cid[KX_ID_MAX + 1], *json = NULL;
	json_object *o = NULL;
	bool bad = false;
	int64_t period;
	struct task *t;
	struct kx_err err;

	if (!r)
		return;
	if (!r->resources || !r->resources->type_url ||
	    !strstr(r->resources->type_url, "LinuxResources")) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT,
				  "update %s: resources must be an OCI LinuxResources, not \"%s\"",
				  r->id, r->resources && r->resources->type_url ?
				  r->resources->type_url : "");
		goto out;
	}
	json = strndup((const char *)r->resources->value.data, r->resources->value.len);
	o = json ? json_tokener_parse(json) : NULL;
	if (!o || !json_object_is_type(o, json_type_object)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "update %s: resources: not a JSON object",
				  r->id);
		goto out;
	}
	u.memory_max = json_limit(o, "memory", "limit", &bad);
	u.cpu_max_quota = json_limit(o, "cpu", "quota", &bad);
	period = json_limit(o, "cpu", "period", &bad);
	u.pids_max = json_limit(o, "pids", "limit", &bad);
	if (bad || period < 0) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT,
				  "update %s: memory.limit, cpu.quota, cpu.period, pids.limit "
				  "must be integers", r->id);
		goto out;
	}
	u.cpu_max_period = period;
	if (u.memory_max < 0)
		u.memory_max = -1;
	if (u.cpu_max_quota < 0)
		u.cpu_max_quota = -1;
	if (u.pids_max < 0)
		u.pids_max = -1;
	if (!(t = get_task(r->id, NULL, rp)))
		goto out;
	if (t->status == T_STOPPED) {
		ttrpc_reply_error(rp, TTRPC_NOT_FOUND, "task %s: process already finished", t->id);
		pthread_mutex_unlock(&lock);
		goto out;
	}
	snprintf(mid, sizeof(mid), "%s", MON_ID(t));
	snprintf(cid, sizeof(cid), "%s", MON_CID(t));
	pthread_mutex_unlock(&lock);
	u.container_id = cid;
	if (kx_monitor_call(cfg.root, mid, "Update", &u.base, &err))
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "update %s: %s", r->id,
				  err.msg);
	else
		ttrpc_reply_set(rp, &empty.base);
out:
	json_object_put(o);
	free(json);
	containerd__task__v2__update_task_request__free_unpacked(r, NULL);
}

static void m_shutdown(void *ctx, const struct ttrpc_request_info *rq, struct ttrpc_reply *rp)
{
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;

	pthread_mutex_lock(&lock);
	/* the shim stays while it holds a task */
	rp->stop_server = tasks == NULL;
	pthread_mutex_unlock(&lock);
	ttrpc_reply_set(rp, &empty.base);
}

static const struct ttrpc_method methods[] = {
	{ SHIM_TASK_SERVICE, "Create", m_create, true },
	{ SHIM_TASK_SERVICE, "Start", m_start, true },
	{ SHIM_TASK_SERVICE, "State", m_state, false },
	{ SHIM_TASK_SERVICE, "Kill", m_kill, true },
	{ SHIM_TASK_SERVICE, "Delete", m_delete, true },
	{ SHIM_TASK_SERVICE, "Wait", m_wait, true },
	{ SHIM_TASK_SERVICE, "Pids", m_pids, false },
	{ SHIM_TASK_SERVICE, "CloseIO", m_close_io, false },
	{ SHIM_TASK_SERVICE, "Exec", m_exec, false },
	{ SHIM_TASK_SERVICE, "Stats", m_stats, true },
	{ SHIM_TASK_SERVICE, "Pause", m_pause, true },
	{ SHIM_TASK_SERVICE, "Resume", m_resume, true },
	{ SHIM_TASK_SERVICE, "ResizePty", m_resize_pty, true },
	{ SHIM_TASK_SERVICE, "Update", m_update, true },
	{ SHIM_TASK_SERVICE, "Connect", m_connect, false },
	{ SHIM_TASK_SERVICE, "Shutdown", m_shutdown, false },
};

int shim_serve(const struct shim_opts *o, int listen_fd)
{
	struct sockaddr_un sa;
	socklen_t salen = sizeof(sa);
	struct ttrpc_server *s;
	struct kx_err err;

	opts = o;
	signal(SIGPIPE, SIG_IGN);
	if (shim_load_config(&cfg, o->namespace, &err) || kx_config_find_guest(&cfg, &err)) {
		kx_log(KX_LOG_ERROR, "%s", err.msg);
		return 1;
	}
	if (shim_children_init() || shim_events_init(o)) {
		kx_log(KX_LOG_ERROR, "shim: cannot start its threads");
		return 1;
	}
	s = ttrpc_server_new(methods, sizeof(methods) / sizeof(methods[0]), NULL);
	if (!s)
		return 1;
	if (ttrpc_server_serve(s, listen_fd, &err))
		kx_log(KX_LOG_ERROR, "%s", err.msg);
	shim_events_flush(5000);
	if (!getsockname(listen_fd, (struct sockaddr *)&sa, &salen) && sa.sun_path[0])
		unlink(sa.sun_path);
	return 0;
}
