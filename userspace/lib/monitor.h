/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The monitor: one host process per container that holds its VM and the
 * agent connection, relays the container's stdin/stdout/stderr between the
 * caller's descriptors and the agent, serves ROOT/ID/monitor.sock for the
 * runtime's start and kill, and exits with the container's exit status once
 * its output is drained.
 */
#ifndef KX_MONITOR_H
#define KX_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "kx_error.h"
#include "oci.h"

#define KX_MONITOR_SERVICE "katasbx.monitor.v1.Monitor"
#define KX_AGENT_SERVICE "katasbx.agent.v1.AgentService"

struct kx_monitor_args {
	const struct kx_config *cfg;
	const char *id;
	const struct kx_spec *spec;
	int ready_fd;		/* told "ok" or an error line once created; -1 if none */
	const char *pid_file;	/* written with the monitor's pid once created */
	bool start;		/* start the container at once (run) */
	/*
	 * A spec whose network namespace has no path gets the monitor's own,
	 * new one, which CNI may configure between create and start (ctr run
	 * --cni does, on /proc/PID/ns/net of the task's pid): the VM has a
	 * spare network device for it (kx_net_open_late).
	 */
	bool late_net;
	/*
	 * A pod's sandbox: the VM's 9p share is share_dir (not the spec's root),
	 * the container's rootfs its directory rootfs_subdir; CreateContainer
	 * adds the pod's further containers on their directories of it.
	 */
	const char *share_dir;
	const char *rootfs_subdir;
	/*
	 * What the VM is sized for instead of the spec's limits (as its
	 * cgroup's writes): a pod's, the sum of its containers' limits that
	 * containerd's CRI gives the sandbox (shim_pod_size). None: the spec's.
	 */
	Katasbx__Agent__V1__CgroupWrite *const *size_for;
	size_t n_size_for;
};

/*
 * The creator's side of ready_fd: the monitor's first line, "ok" or why the
 * sandbox could not be made, without its newline. Returns the bytes read;
 * 0 means the monitor exited without a word.
 */
size_t kx_monitor_read_ready(int fd, char *msg, size_t len);

/*
 * Boot the sandbox, create the container, report readiness, serve until the
 * container has exited. Returns its exit status, or -1 with *err when the
 * sandbox could not be made; then nothing is left: no QEMU, no state dir.
 */
int kx_monitor_run(const struct kx_monitor_args *a, struct kx_err *err);

/* Runtime side: a call to a container's monitor over its socket. */
int kx_monitor_call(const char *root, const char *id, const char *method,
		    const ProtobufCMessage *req, struct kx_err *err);
/* The same with a response of type resp_desc into *resp (free with
 * protobuf_c_message_free_unpacked); timeout_ms -1 waits for ever. */
int kx_monitor_call_resp(const char *root, const char *id, const char *method,
			 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
			 ProtobufCMessage **resp, int timeout_ms, struct kx_err *err);

/*
 * A limit of the agent's StatsContainerResponse as runc and containerd give
 * one: "max" (0 on the wire) is MaxUint64.
 */
static inline uint64_t kx_stats_limit(uint64_t v)
{
	return v ? v : UINT64_MAX;
}

#endif
