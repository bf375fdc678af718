/* SPDX-License-Identifier: GPL-2.0 */
/*
 * OCI runtime config (config.json) parsing with json-c. The host validates
 * every field it uses and turns it into the agent's structured messages; a
 * bad field gives an error naming it ("config.json: process.args: ...").
 */
#ifndef KX_OCI_H
#define KX_OCI_H

#include <stdbool.h>
#include <stddef.h>

#include "agent.pb-c.h"
#include "hostcg.h"
#include "kx_error.h"

/* The OCI runtime spec version this build follows (state, spec, features). */
#define KX_OCI_VERSION "1.0.2"

#define KX_NS_PID 1u
#define KX_NS_IPC 2u
#define KX_NS_UTS 4u
#define KX_NS_NET 8u
#define KX_NS_USER 16u
#define KX_NS_TIME 32u

/* config.json's hooks, in the order the runtime runs them */
enum kx_hook_kind {
	KX_HOOK_PRESTART,		/* host, at create (deprecated, before createRuntime) */
	KX_HOOK_CREATE_RUNTIME,		/* host, at create, before the container is made */
	KX_HOOK_CREATE_CONTAINER,	/* guest, in the container, before it is created */
	KX_HOOK_START_CONTAINER,	/* guest, in the container, just before its process */
	KX_HOOK_POSTSTART,		/* host, once the process runs */
	KX_HOOK_POSTSTOP,		/* host, once the container is deleted */
	KX_HOOK_KINDS
};

/* The name of the kind in config.json ("createRuntime"). */
const char *kx_hook_kind_name(enum kx_hook_kind k);

struct kx_spec {
	char *oci_version;
	char *bundle;			/* absolute, canonical bundle directory */
	char *root_path;		/* absolute rootfs directory on the host */
	bool root_readonly;
	char *hostname;			/* NULL when not set */
	/* process, with args/env/cwd/user/rlimits/caps/noNewPrivileges/terminal */
	Katasbx__Agent__V1__Process *process;
	size_t n_mounts;
	/*
	 * In order: the guest's own filesystems, and bind mounts of host paths
	 * (source absolute and checked; share_source set by kx_share_setup).
	 */
	Katasbx__Agent__V1__Mount **mounts;
	size_t n_binds;			/* of them bind mounts of host paths */
	size_t n_masked_paths;
	char **masked_paths;
	size_t n_readonly_paths;
	char **readonly_paths;
	Katasbx__Agent__V1__Seccomp *seccomp;	/* linux.seccomp, NULL when none */
	/*
	 * KX_NS_* of the linux.namespaces that name an existing namespace by
	 * path: a pod's container joins its sandbox's (elsewhere: host paths,
	 * which mean nothing in the guest, so ignored).
	 */
	unsigned int ns_paths;
	unsigned int ns_types;		/* KX_NS_* of every linux.namespaces entry */
	/*
	 * linux.namespaces' "network" entry: net_ns_index is its index there,
	 * -1 when the spec has none (the host's network, which a VM cannot
	 * share); net_ns_path its path, NULL for a new, empty one.
	 */
	int net_ns_index;
	char *net_ns_path;
	char *annotations_json;		/* the "annotations" object as JSON text, "{}" if none */
	/*
	 * Capability names process.capabilities lists that this build does
	 * not know, space-separated, each once: left out, with a warning (as
	 * runc: "ignoring unknown or unavailable capabilities: [...]").
	 */
	char unknown_caps[256];
	Katasbx__Agent__V1__Hook **hooks[KX_HOOK_KINDS];
	size_t n_hooks[KX_HOOK_KINDS];
	char *poststop_json;		/* hooks.poststop as JSON text, kept for the delete */
	/* linux.resources as the guest cgroup's writes (oci_resources.c) */
	Katasbx__Agent__V1__CgroupWrite **cgroup;
	size_t n_cgroup;
	/* ... and the host cgroup's limits they make, before the sandbox's overhead */
	struct kx_hostcg_limits host_limits;
	char *cgroups_path;		/* linux.cgroupsPath, NULL when not set */
	/* linux.sysctl and linux.devices, for the guest (oci_linux.c) */
	Katasbx__Agent__V1__Sysctl **sysctls;
	size_t n_sysctls;
	Katasbx__Agent__V1__Device **devices;
	size_t n_devices;
	/* linux.uidMappings, gidMappings, with a user namespace (oci_linux.c) */
	Katasbx__Agent__V1__IdMapping **uid_mappings, **gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	/*
	 * What else the spec says that is taken but not applied as written,
	 * one "config.json: FIELD: ..." line each, for the caller to warn of
	 * (runc warns of such input too).
	 */
	char warnings[1024];
};

#define KX_UNKNOWN_CAPS_WARNING "ignoring unknown or unavailable capabilities: [%s]"

/* Read BUNDLE/config.json and parse it. */
int kx_spec_load(const char *bundle, struct kx_spec *spec, struct kx_err *err);
/* Parse config text; bundle resolves a relative root.path. */
int kx_spec_parse(const char *json_text, const char *bundle, struct kx_spec *spec,
		  struct kx_err *err);
void kx_spec_free(struct kx_spec *spec);
/*
 * What the spec says of the container in a CreateContainer request: process,
 * hostname, read-only root, mounts, masked and read-only paths, seccomp, the
 * guest namespaces it shares. The caller adds its id, rootfs, network and
 * what a pod's container joins. Fields point into spec.
 */
void kx_spec_create_request(const struct kx_spec *spec,
			    Katasbx__Agent__V1__CreateContainerRequest *cr);
/* The mount has the option opt ("ro", ...). */
bool kx_mount_has_option(const Katasbx__Agent__V1__Mount *m, const char *opt);
/* A bind mount (type "bind", or option bind or rbind): of a host path. */
bool kx_mount_is_bind(const Katasbx__Agent__V1__Mount *m);
#define KX_CONFIG_MAX (16u << 20)	/* a config.json larger than this is a mistake */

/*
 * An OCI Process object alone (an exec's, as containerd sends it), checked as
 * config.json's "process" is; errors name the field ("process.args").
 * Free *out with katasbx__agent__v1__process__free_unpacked. unknown_caps (may
 * be NULL) gets what kx_spec.unknown_caps would.
 */
int kx_process_parse(const char *json_text, Katasbx__Agent__V1__Process **out,
		     char unknown_caps[256], struct kx_err *err);

/*
 * An OCI LinuxResources (runc update's -r file or flags, containerd's Update)
 * as the writes of an update of the container's guest cgroup, converted as
 * linux.resources is at create; errors and warnings (lines into warnings)
 * name doc and the field ("update: memory.swap: ..."). A cpu period without
 * a quota keeps the quota the cgroup has (runc update's merge). Free *w with
 * kx_cgroup_writes_free.
 */
int kx_resources_update(const char *json_text, const char *doc,
			Katasbx__Agent__V1__CgroupWrite ***w, size_t *n, char *warnings,
			size_t warnings_size, struct kx_err *err);
/* The same update as the host cgroup's limits (0 and "": unchanged), or NULL. */
int kx_resources_update_host(const char *json_text, const char *doc,
			     Katasbx__Agent__V1__CgroupWrite ***w, size_t *n,
			     struct kx_hostcg_limits *host, char *warnings, size_t warnings_size,
			     struct kx_err *err);
void kx_cgroup_writes_free(Katasbx__Agent__V1__CgroupWrite **w, size_t n);

/*
 * What the parser takes, for `features`: linux.namespaces types (applied:
 * the guest makes one; else refused or warned of), NULL-terminated; the
 * seccomp actions, architectures and operators a profile may name (a foreign
 * architecture is taken too, and does not apply), NULL-terminated.
 */
struct kx_ns_type {
	const char *type;
	unsigned int bit;	/* KX_NS_*, 0 for those always made */
	bool applied;
};
extern const struct kx_ns_type kx_ns_types[];
extern const char *const kx_seccomp_actions[];
extern const char *const kx_seccomp_archs[];
extern const char *const kx_seccomp_operators[];

/* Capability number to name, NULL if unknown. */
const char *kx_cap_name(int cap);
/* Capability name ("CAP_NET_ADMIN") to number, -1 if unknown. */
int kx_cap_from_name(const char *name);
/* Rlimit name ("RLIMIT_NOFILE") to number, -1 if unknown. */
int kx_rlimit_from_name(const char *name);

#endif
