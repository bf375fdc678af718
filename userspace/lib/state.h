/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Container state under ROOT/ID/: state.json (written to a temp file and
 * renamed into place), a lock file serialising commands on one id, and the
 * monitor's sockets. An id is checked against a strict character set before
 * it becomes a path.
 */
#ifndef KX_STATE_H
#define KX_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fsutil.h"
#include "kx_error.h"
#include "kx_id.h"

#define KX_DEFAULT_ROOT "/run/katasbx"

enum kx_status {
	KX_STATUS_CREATING = 0,
	KX_STATUS_CREATED,
	KX_STATUS_RUNNING,
	KX_STATUS_STOPPED,
	KX_STATUS_PAUSED,		/* the VM is stopped (QMP stop) */
};

struct kx_state {
	char id[KX_ID_MAX + 1];
	char bundle[4096];
	char rootfs[4096];		/* the rootfs on the host, as the spec named it */
	enum kx_status status;
	pid_t pid;			/* the monitor process */
	uint64_t pid_start;		/* its start time, against pid reuse */
	pid_t qemu_pid;
	uint64_t qemu_start;
	int exit_status;		/* valid when status is stopped and has_exit */
	bool has_exit;
	char created[40];		/* RFC 3339, UTC */
	char accel[8];
	char channel[8];
	char boot[40];			/* "cold", or "clone:KEY" of the template */
	unsigned int mem_mib;		/* the VM's memory and vCPUs, as sized at create */
	unsigned int vcpus;
	char *annotations_json;		/* owned; "{}" when none */
};

const char *kx_status_name(enum kx_status s);
/* created, running or paused: its monitor runs, and its VM holds the container */
bool kx_status_live(enum kx_status s);

/* ROOT/ID (or ROOT/ID/NAME) into buf; -1 if it does not fit. */
int kx_state_path(char *buf, size_t len, const char *root, const char *id, const char *name);
/* Make ROOT (0711) and ROOT/ID (0700); EEXIST gives "container ID already exists". */
int kx_state_mkdir(const char *root, const char *id, struct kx_err *err);
/* Take ROOT/ID/lock exclusively; returns the fd holding it. */
int kx_state_lock(const char *root, const char *id, struct kx_err *err);
int kx_state_write(const char *root, const struct kx_state *st, struct kx_err *err);
/* ENOENT gives "container ID does not exist". */
int kx_state_read(const char *root, const char *id, struct kx_state *st, struct kx_err *err);
void kx_state_clear(struct kx_state *st);
/* Remove ROOT/ID and everything in it (files and sockets only). */
int kx_state_remove(const char *root, const char *id, struct kx_err *err);
/* Names of the ids under ROOT, sorted; *n set. Free with kx_strv_free. */
char **kx_state_list(const char *root, size_t *n);

/* Process start time from /proc/PID/stat (field 22), 0 if gone. */
uint64_t kx_proc_start_time(pid_t pid);
/* Alive and the same process (start time matches, when start is non-zero). */
bool kx_proc_alive(pid_t pid, uint64_t start);
/* The status a reader should see: created/running with a dead monitor is stopped. */
enum kx_status kx_state_effective(const struct kx_state *st);
/*
 * OCI state JSON as runc prints it: ociVersion, id, pid, status, bundle,
 * rootfs, created, annotations (when any), owner (NULL: "", as runc's state).
 */
char *kx_state_oci_json(const struct kx_state *st, const char *owner);

#endif
