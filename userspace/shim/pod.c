// SPDX-License-Identifier: GPL-2.0
/*
 * Pods on the host: a sandbox's share with each rootfs bound on it, and a
 * pod's container created and waited for through its sandbox's monitor, its
 * host hooks run here (the sandbox's monitor runs the sandbox's).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "hookexec.h"
#include "hooks.h"
#include "log.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "service.h"
#include "share.h"
#include "shim.h"

/* A pod's container: its init's exit through the sandbox's monitor. */
void *watch_pod_container(void *arg)
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

/* Undo the host side of a pod's task: its bind on the share, the sandbox's share. */
void pod_undo(struct task *t)
{
	char share[PATH_MAX];

	if (*t->share_bind)
		shim_unbind(t->share_bind);
	t->share_bind[0] = '\0';
	if (t->is_sandbox)
		shim_pod_unbind_mounts(t->share_dir, t->id);
	else if (*t->sandbox && !shim_pod_share(share, sizeof(share), cfg.root, t->sandbox))
		shim_pod_unbind_mounts(share, t->id);
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

/* Its bind mounts of host paths on the pod's share (a reply and -1 on failure). */
static int bind_mounts(struct task *t, const char *share, const struct kx_spec *spec,
		       struct ttrpc_reply *rp)
{
	char sub[KX_ID_MAX + 16];
	struct kx_err err;

	if (shim_pod_mounts(sub, sizeof(sub), NULL, t->id) ||
	    kx_share_bind_mounts(share, sub, spec, &err)) {
		ttrpc_reply_error(rp, TTRPC_INVALID_ARGUMENT, "task %s: %s", t->id, err.msg);
		return -1;
	}
	return 0;
}

/*
 * The CRI annotations: a sandbox gets a share and its rootfs bound there; a
 * container of a sandbox this shim runs gets t->sandbox and *sb_pid. A
 * container whose sandbox is not here runs in a VM of its own. A reply and
 * -1 on failure.
 */
int pod_setup(struct task *t, const struct kx_spec *spec, pid_t *sb_pid,
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
		    kx_mkdir_p(pods, 0700) ||
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
		} else if (bind_mounts(t, t->share_dir, spec, rp)) {
			ret = -1;
		}
	}
out:
	free(type);
	free(sid);
	return ret;
}

/*
 * The state a pod's container's hooks read: its id, bundle, annotations, and
 * the sandbox's monitor as its pid (the pod's network namespace is there).
 */
static void hook_state_of(const struct task *t, const struct kx_spec *spec, struct kx_state *st)
{
	memset(st, 0, sizeof(*st));
	st->pid = t->pid;
	snprintf(st->id, sizeof(st->id), "%s", t->id);
	snprintf(st->bundle, sizeof(st->bundle), "%s", spec->bundle);
	st->annotations_json = spec->annotations_json;
}

/* A pod's container: its rootfs bound on the sandbox's share, created by its monitor. */
int pod_create(struct task *t, struct kx_spec *spec, struct ttrpc_reply *rp)
{
	Katasbx__Monitor__V1__CreateContainerRequest x =
		KATASBX__MONITOR__V1__CREATE_CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__CreateContainerRequest cr =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	cleanup_free char *creating = NULL, *created = NULL;
	int code = TTRPC_INTERNAL;
	char share[PATH_MAX];
	struct kx_state st;
	struct kx_err err;
	bool state_dir = false;

	if (shim_pod_share(share, sizeof(share), cfg.root, t->sandbox)) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "task %s: pod share", t->id);
		return -1;
	}
	hook_state_of(t, spec, &st);
	creating = kx_hook_state(spec->oci_version, &st, "creating");
	created = kx_hook_state(spec->oci_version, &st, "created");
	t->poststart_state = kx_hook_state(spec->oci_version, &st, "running");
	if (!creating || !created || !t->poststart_state) {
		ttrpc_reply_error(rp, TTRPC_INTERNAL, "task %s: out of memory", t->id);
		return -1;
	}
	/* poststop hooks: kept in ROOT/ID, run when it is removed (at delete, or now) */
	if (spec->poststop_json) {
		if (kx_state_mkdir(cfg.root, t->id, &err) ||
		    (state_dir = true, kx_poststop_record(cfg.root, t->id, spec, &err)))
			goto fail;
	}
	if (kx_spec_run_hooks(spec, KX_HOOK_PRESTART, &st, "creating", &err) ||
	    kx_spec_run_hooks(spec, KX_HOOK_CREATE_RUNTIME, &st, "creating", &err)) {
		code = TTRPC_FAILED_PRECONDITION;
		goto fail;
	}
	snprintf(t->share_bind, sizeof(t->share_bind), "%s/%s", share, t->id);
	if (shim_bind(spec->root_path, t->share_bind, &err)) {
		t->share_bind[0] = '\0';
		goto fail;
	}
	if (bind_mounts(t, share, spec, rp))
		goto undo;
	kx_spec_create_request(spec, &cr);
	cr.container_id = t->id;
	cr.rootfs_subdir = t->id;
	cr.hook_state_creating = creating;
	cr.hook_state_created = created;
	/*
	 * CRI names the sandbox's network, ipc and uts (and pid, when shared)
	 * namespaces by path; the sandbox's VM has the network's interfaces.
	 */
	cr.ns_container = t->sandbox;
	cr.join_net = (spec->ns_paths & KX_NS_NET) != 0;
	cr.join_ipc = (spec->ns_paths & KX_NS_IPC) != 0;
	cr.join_uts = (spec->ns_paths & KX_NS_UTS) != 0;
	cr.join_pid = (spec->ns_paths & KX_NS_PID) != 0;
	x.container = &cr;
	x.stdin = t->io[0];
	x.stdout = t->io[1];
	x.stderr = t->io[2];
	if (kx_monitor_call(cfg.root, t->sandbox, "CreateContainer", &x.base, &err)) {
		ttrpc_reply_error(rp, err.code ? err.code : TTRPC_UNKNOWN, "task %s in sandbox %s: %s",
				  t->id, t->sandbox, err.msg);
		goto undo;
	}
	/* the poststart hooks go with the task; the spec is freed after this */
	t->poststart = spec->hooks[KX_HOOK_POSTSTART];
	t->n_poststart = spec->n_hooks[KX_HOOK_POSTSTART];
	spec->hooks[KX_HOOK_POSTSTART] = NULL;
	spec->n_hooks[KX_HOOK_POSTSTART] = 0;
	return 0;
fail:
	ttrpc_reply_error(rp, code, "task %s: %s", t->id, err.msg);
undo:
	/* as runc after a failed create: the poststop hooks run */
	if (state_dir)
		kx_state_remove(cfg.root, t->id, &err);
	return -1;
}

/* A pod's container started: its poststart hooks; a failure is a warning (the spec's rule). */
void pod_started(struct task *t)
{
	struct kx_err err;

	if (t->n_poststart && kx_hooks_run(t->poststart, t->n_poststart, "poststart", t->bundle,
					   t->poststart_state, &err))
		kx_warn("task %s: %s", t->id, err.msg);
}

void pod_free(struct task *t)
{
	for (size_t i = 0; i < t->n_poststart; i++)
		katasbx__agent__v1__hook__free_unpacked(t->poststart[i], NULL);
	free(t->poststart);
	free(t->poststart_state);
	t->poststart = NULL;
	t->n_poststart = 0;
	t->poststart_state = NULL;
}

/* A decimal annotation of the pod's size; 0 when absent, empty or not a number. */
static unsigned long long size_annotation(const char *json, const char *key)
{
	char *v = shim_annotation(json, key), *end = NULL;
	unsigned long long n = 0;

	if (v && *v >= '0' && *v <= '9') {
		errno = 0;
		n = strtoull(v, &end, 10);
		if (errno || *end)
			n = 0;
	}
	if (v && !n && strcmp(v, "0"))
		kx_warn("annotation %s: \"%s\" is not a number of the pod's size: ignored", key, v);
	free(v);
	return n;
}

size_t shim_pod_size(const char *annotations_json, struct shim_pod_size *s)
{
	unsigned long long mem = size_annotation(annotations_json, SHIM_ANN_POD_MEMORY);
	unsigned long long quota = size_annotation(annotations_json, SHIM_ANN_POD_CPU_QUOTA);
	unsigned long long period = size_annotation(annotations_json, SHIM_ANN_POD_CPU_PERIOD);
	size_t n = 0;

	if (mem) {
		snprintf(s->mem, sizeof(s->mem), "%llu", mem);
		s->w[n] = (Katasbx__Agent__V1__CgroupWrite)KATASBX__AGENT__V1__CGROUP_WRITE__INIT;
		s->w[n].file = "memory.max";
		s->w[n].value = s->mem;
		s->w[n].field = "annotation " SHIM_ANN_POD_MEMORY;
		n++;
	}
	if (quota) {
		snprintf(s->cpu, sizeof(s->cpu), "%llu %llu", quota, period ? period : 100000);
		s->w[n] = (Katasbx__Agent__V1__CgroupWrite)KATASBX__AGENT__V1__CGROUP_WRITE__INIT;
		s->w[n].file = "cpu.max";
		s->w[n].value = s->cpu;
		s->w[n].field = "annotation " SHIM_ANN_POD_CPU_QUOTA;
		n++;
	}
	for (size_t i = 0; i < n; i++)
		s->p[i] = &s->w[i];
	return n;
}
