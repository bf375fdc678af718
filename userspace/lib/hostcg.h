/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hostcg: a sandbox's cgroup on the host. QEMU and the monitor run in it, so
 * that everything the sandbox costs is charged there and bounded by the
 * container's limits plus the sandbox's overhead (Kata's sandbox_cgroup_only).
 *
 * linux.cgroupsPath is resolved as runc's cgroupfs driver resolves it: an
 * absolute path under each hierarchy's root; a relative one (or the
 * container's id, when there is none) under the runtime's own cgroup, or,
 * on a pure cgroup v2 host, under that cgroup's parent (runc's fs2: the
 * runtime's own cgroup holds processes and cannot delegate controllers).
 * On a cgroup v2 host that is one directory; on a v1 or hybrid host one in
 * every mounted hierarchy (the named ones and the controller-less unified
 * one too), as runc places its containers there.
 *
 * The directories are recorded in the state directory (KX_HOSTCG_RECORD) and
 * removed with it (kx_state_remove): the leaf, as runc removes it; parents
 * made on the way stay, as runc's do.
 */
#ifndef KX_HOSTCG_H
#define KX_HOSTCG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kx_error.h"

#define KX_HOSTCG_RECORD "hostcg"
#define KX_HOSTCG_MAX 16	/* hierarchies */

struct kx_hostcg_dir {
	char name[64];		/* its controllers as /proc/self/cgroup names them; "" for v2 */
	char path[1024];	/* the cgroup's directory */
	unsigned int base;	/* length of its hierarchy's mount point in path */
};

struct kx_hostcg {
	unsigned int n;
	struct kx_hostcg_dir d[KX_HOSTCG_MAX];
	bool unified;		/* a pure cgroup v2 host: d[0] is the one cgroup */
	char inner[512];	/* the path as resolved, for messages */
};

/* What the host cgroup is limited to: the container's limits plus the overhead. */
struct kx_hostcg_limits {
	int64_t memory;		/* bytes; 0: none */
	int64_t cpu_quota;	/* microseconds per period; 0: none */
	uint64_t cpu_period;	/* 0: the kernel's (100000) */
	uint64_t cpu_shares;	/* runc's [2, 262144]; 0: none */
	char cpus[256];		/* cpuset; "": the parent's */
	char mems[256];
};

/*
 * Resolve @cgroups_path (NULL or "": @id) for the process whose
 * /proc/self/cgroup and /proc/self/mountinfo are @self_cgroup and
 * @mountinfo (text). A ".." component is refused, naming the field.
 */
int kx_hostcg_resolve_in(const char *self_cgroup, const char *mountinfo,
			 const char *cgroups_path, const char *id, struct kx_hostcg *cg,
			 struct kx_err *err);
/* The same, for this process. */
int kx_hostcg_resolve(const char *cgroups_path, const char *id, struct kx_hostcg *cg,
		      struct kx_err *err);
/*
 * --systemd-cgroup's "slice:prefix:name": checked as runc checks it, then
 * refused where systemd does not run (no /run/systemd/system), since
 * placing a sandbox through systemd needs it.
 */
int kx_hostcg_systemd_check(const char *cgroups_path, struct kx_err *err);
/*
 * Whether a cgroupsPath is systemd's "NAME.slice:prefix:name", as
 * containerd's CRI forms it under a kubelet with the systemd driver
 * (cgroup_parent a .slice): the shim, told no driver, refuses it.
 */
bool kx_hostcg_is_systemd_path(const char *cgroups_path);

/*
 * Make the cgroup with @lim: missing parents made, controllers enabled on the
 * way down (v2), a v1 cpuset given its parent's CPUs and nodes. One that
 * exists already must hold no process. On failure what was made is removed.
 */
int kx_hostcg_create(const struct kx_hostcg *cg, const struct kx_hostcg_limits *lim,
		     struct kx_err *err);
/* Set @lim on an existing cgroup (an update). */
int kx_hostcg_set_limits(const struct kx_hostcg *cg, const struct kx_hostcg_limits *lim,
			 struct kx_err *err);
/* Move @pid (all its threads) into the cgroup. */
int kx_hostcg_attach(const struct kx_hostcg *cg, pid_t pid, struct kx_err *err);
/*
 * Move this process in, remembering where it was: kx_hostcg_remove moves it
 * back before it removes the cgroup (a run in the foreground is its own monitor).
 */
int kx_hostcg_join(const struct kx_hostcg *cg, struct kx_err *err);

/*
 * For spawning into the cgroup: *dirfd a cgroup v2 directory for
 * clone3(CLONE_INTO_CGROUP) (-1: none), procs[0..*n) the cgroup.procs files
 * a child writes "0" to before exec (with *v2_procs the index of the v2 one,
 * written only when clone3 could not place it; -1: none). Close with
 * kx_hostcg_spawn_close.
 */
struct kx_hostcg_spawn {
	int dirfd;
	int procs[KX_HOSTCG_MAX];
	unsigned int n;
	int v2_procs;
};
int kx_hostcg_spawn_open(const struct kx_hostcg *cg, struct kx_hostcg_spawn *sp,
			 struct kx_err *err);
void kx_hostcg_spawn_close(struct kx_hostcg_spawn *sp);
/*
 * fork(), or clone3(CLONE_INTO_CGROUP) into sp->dirfd where the kernel has
 * it (5.7); in the child, which must exec, *into says whether it is there
 * already. The child then writes sp's other cgroup.procs (kx_hostcg_spawn_enter).
 */
pid_t kx_hostcg_fork(const struct kx_hostcg_spawn *sp, bool *into);
/* In the child, async-signal-safe: join the hierarchies clone3 did not. 0 or -1. */
int kx_hostcg_spawn_enter(const struct kx_hostcg_spawn *sp, bool into);

/* Record it in @path (a file in the state directory), or read it back. */
int kx_hostcg_record(const struct kx_hostcg *cg, const char *path, struct kx_err *err);
/* 0 read, 1 no record, -1 error. */
int kx_hostcg_load(const char *path, struct kx_hostcg *cg, struct kx_err *err);
/*
 * Remove the leaves, waiting briefly for exiting processes to leave them;
 * this process moves back out first if it joined. 0 or -1 (what stays is said).
 */
int kx_hostcg_remove(const struct kx_hostcg *cg, struct kx_err *err);

/*
 * What the cgroup has used: memory in bytes, CPU in nanoseconds; -1: unknown,
 * INT64_MAX: a limit of "max".
 */
struct kx_hostcg_usage {
	int64_t memory;
	int64_t memory_max;	/* the peak (v1's max_usage_in_bytes, v2's memory.peak) */
	int64_t memory_limit;
	int64_t cpu_ns;
	int64_t pids;
	int64_t pids_limit;
	int64_t swap;		/* v2's memory.swap.current, .max */
	int64_t swap_limit;
};
void kx_hostcg_usage(const struct kx_hostcg *cg, struct kx_hostcg_usage *u);
/*
 * On a cgroup v2 host, @fn for each "KEY VALUE" line of the cgroup's @file
 * (memory.stat, cpu.stat, memory.events): 0, or -1 where there is no such
 * file (a v1 or hybrid host, a controller not enabled).
 */
int kx_hostcg_each(const struct kx_hostcg *cg, const char *file,
		   void (*fn)(void *ctx, const char *key, uint64_t value), void *ctx);

#endif
