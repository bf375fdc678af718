/* SPDX-License-Identifier: GPL-2.0 */
/*
 * containerd-shim-katasbx-v2: containerd's shim v2 over libkatasbx. One
 * long-running shim per task serves containerd.task.v2.Task over ttrpc; each
 * task is a monitor process (kx_monitor_run) forked by the shim, holding the
 * VM, with the container's stdio on containerd's FIFOs.
 */
#ifndef KX_SHIM_H
#define KX_SHIM_H

#include <stdbool.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "agent.pb-c.h"
#include "config.h"
#include "kx_error.h"

#define SHIM_TASK_SERVICE "containerd.task.v2.Task"
#define SHIM_STATE_DIR "/run/katasbx-shim"

struct shim_opts {
	const char *namespace;
	const char *address;		/* containerd's grpc socket */
	const char *publish_binary;
	const char *id;
	const char *bundle;		/* "" = the working directory */
	bool debug;
};

/* start.c */
int shim_cmd_start(const struct shim_opts *o);
int shim_cmd_delete(const struct shim_opts *o);
/* ROOT for a namespace: $KATASBX_SHIM_ROOT or /run/katasbx-shim, then /NS. */
int shim_state_root(char *buf, size_t len, const char *ns);
int shim_load_config(struct kx_config *cfg, const char *ns, struct kx_err *err);
/* task.c: the "monitor" command, which Create execs for each task (ARGS: see there). */
int shim_cmd_monitor(const struct shim_opts *o, int argc, char **argv);

/* service.c: serve listen_fd until Shutdown with no task left; the exit status. */
int shim_serve(const struct shim_opts *o, int listen_fd);

/* events.c: publish in order, from a thread of their own. */
int shim_events_init(const struct shim_opts *o);
/* topic "/tasks/create", type "containerd.events.TaskCreate"; msg is packed at once. */
void shim_publish(const char *topic, const char *type, const ProtobufCMessage *msg);
/* Wait up to ms for queued events to be sent. */
void shim_events_flush(int ms);

/* children.c: the shim reaps every child (it is a subreaper); waits go through here. */
int shim_children_init(void);
/* Call right after fork in the parent, before waiting. */
void shim_child_track(pid_t pid);
/* Wait for a tracked child; its wait status. */
int shim_child_wait(pid_t pid);

/* mount.c: containerd's rootfs mounts onto DIR; undone on failure. */
int shim_mount_rootfs(const char *dir, ProtobufCMessage **mounts, size_t n, struct kx_err *err);
/* Unmount everything mounted on DIR (lazily); quiet if nothing is. */
void shim_unmount_rootfs(const char *dir);
/* A recursive bind of src on dst (made); undone by shim_unbind (dst removed). */
int shim_bind(const char *src, const char *dst, struct kx_err *err);
void shim_unbind(const char *dst);
/*
 * A pod's task's bind mounts of host paths on the pod's share: SHARE/.mounts-ID
 * into path (share.h; a task id never starts with a dot, so it meets no rootfs).
 * shim_pod_unbind_mounts undoes them. -1 if it does not fit.
 */
int shim_pod_mounts(char *buf, size_t len, const char *share, const char *id);
void shim_pod_unbind_mounts(const char *share, const char *id);

/*
 * Pods: a sandbox's VM shares ROOT/.pods/SANDBOX-ID, where the sandbox's and
 * each of its containers' rootfs are bound on a directory named by their id.
 */
#define SHIM_ANN_TYPE "io.kubernetes.cri.container-type"
#define SHIM_ANN_SANDBOX "io.kubernetes.cri.sandbox-id"
#define SHIM_ANN_POD_MEMORY "io.kubernetes.cri.sandbox-memory"
#define SHIM_ANN_POD_CPU_QUOTA "io.kubernetes.cri.sandbox-cpu-quota"
#define SHIM_ANN_POD_CPU_PERIOD "io.kubernetes.cri.sandbox-cpu-period"
int shim_pod_share(char *buf, size_t len, const char *root, const char *sandbox_id);
/* The value of annotation key in the annotations' JSON text; NULL if none. Free it. */
char *shim_annotation(const char *json, const char *key);
/*
 * A pod's size: containerd's CRI (1.6.7 and later) gives the sandbox the sum
 * of its containers' limits as annotations (kubelet's
 * PodSandboxConfig.linux.resources), which size its VM. Fills w[0..1]
 * (memory.max, cpu.max) with their values in bufs; returns how many.
 */
struct shim_pod_size {
	Katasbx__Agent__V1__CgroupWrite w[2];
	Katasbx__Agent__V1__CgroupWrite *p[2];
	char mem[32], cpu[64];
};
size_t shim_pod_size(const char *annotations_json, struct shim_pod_size *s);

#endif
