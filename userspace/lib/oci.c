// SPDX-License-Identifier: GPL-2.0
/*
 * config.json to struct kx_spec. Every field the runtime uses is checked here,
 * on the host, so that the agent only ever sees well-formed messages. Errors
 * name the field by its dotted path ("process.rlimits[1].type").
 */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "fsutil.h"
#include "oci_json.h"


static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

const char *kx_cap_name(int cap)
{
	return cap >= 0 && cap < (int)(sizeof(cap_names) / sizeof(cap_names[0])) ? cap_names[cap] :
									      NULL;
}

int kx_cap_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (!strcmp(name, cap_names[i]))
			return (int)i;
	return -1;
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_CPU", RLIMIT_CPU },		{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_DATA", RLIMIT_DATA },		{ "RLIMIT_STACK", RLIMIT_STACK },
	{ "RLIMIT_CORE", RLIMIT_CORE },		{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

int kx_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (!strcmp(name, rlimit_names[i].name))
			return rlimit_names[i].resource;
	return -1;
}

static int parse_user(json_object *v, Katasbx__Agent__V1__User *u, struct kx_err *err)
{
	static const char *const p = "process.user";
	char path[PATH_BUF];
	json_object *f;

	if (oj_want(v, json_type_object, p, err))
		return -1;
	if (!(f = oj_member(v, "uid")))
		return oj_field_error(err, "process.user.uid", "is required");
	if (oj_get_u32(f, "process.user.uid", &u->uid, err))
		return -1;
	if (!(f = oj_member(v, "gid")))
		return oj_field_error(err, "process.user.gid", "is required");
	if (oj_get_u32(f, "process.user.gid", &u->gid, err))
		return -1;
	if ((f = oj_member(v, "umask"))) {
		if (oj_get_u32(f, "process.user.umask", &u->umask, err))
			return -1;
		u->has_umask = true;
	}
	if ((f = oj_member(v, "additionalGids"))) {
		size_t n;

		oj_join(path, p, "additionalGids");
		if (oj_want(f, json_type_array, path, err))
			return -1;
		n = json_object_array_length(f);
		u->additional_gids = calloc(n ? n : 1, sizeof(uint32_t));
		if (!u->additional_gids)
			return kx_error(err, ENOMEM, "config.json: %s", path);
		for (size_t i = 0; i < n; i++) {
			char elem[PATH_BUF];

			if (oj_get_u32(json_object_array_get_idx(f, i), oj_indexed(elem, path, i),
				    &u->additional_gids[i], err))
				return -1;
			u->n_additional_gids = i + 1;
		}
	}
	return 0;
}

static int parse_rlimits(json_object *v, Katasbx__Agent__V1__Process *p, struct kx_err *err)
{
	static const char *const path = "process.rlimits";
	size_t n;

	if (oj_want(v, json_type_array, path, err))
		return -1;
	n = json_object_array_length(v);
	p->rlimits = calloc(n ? n : 1, sizeof(*p->rlimits));
	if (!p->rlimits)
		return kx_error(err, ENOMEM, "config.json: %s", path);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i), *f;
		Katasbx__Agent__V1__Rlimit *r;
		char elem[PATH_BUF], fp[PATH_BUF];
		cleanup_free char *type = NULL;
		int res;

		oj_indexed(elem, path, i);
		if (oj_want(e, json_type_object, elem, err))
			return -1;
		r = malloc(sizeof(*r));
		if (!r)
			return kx_error(err, ENOMEM, "config.json: %s", elem);
		katasbx__agent__v1__rlimit__init(r);
		p->rlimits[p->n_rlimits++] = r;
		if (oj_req_string(e, elem, "type", &type, err))
			return -1;
		res = kx_rlimit_from_name(type);
		if (res < 0)
			return oj_field_error(err, oj_join(fp, elem, "type"), "unknown rlimit \"%s\"",
					   type);
		r->resource = res;
		oj_join(fp, elem, "soft");
		if (!(f = oj_member(e, "soft")))
			return oj_field_error(err, fp, "is required");
		if (oj_get_u64(f, fp, UINT64_MAX, &r->soft, err))
			return -1;
		oj_join(fp, elem, "hard");
		if (!(f = oj_member(e, "hard")))
			return oj_field_error(err, fp, "is required");
		if (oj_get_u64(f, fp, UINT64_MAX, &r->hard, err))
			return -1;
		if (r->soft > r->hard)
			return oj_field_error(err, oj_join(fp, elem, "soft"),
					   "must not exceed hard (%llu)",
					   (unsigned long long)r->hard);
	}
	return 0;
}

/* name, once, onto the space-separated list (what fits of it) */
static void add_unknown(char list[256], const char *name)
{
	size_t n = strlen(list), k = strlen(name);

	if (!k)
		return;	/* "": nothing to name (and strstr would find it everywhere) */
	for (const char *p = list; (p = strstr(p, name)); p += k)
		if ((p == list || p[-1] == ' ') && (p[k] == ' ' || !p[k]))
			return;
	if (n + k + 2 <= 256)
		snprintf(list + n, 256 - n, "%s%s", n ? " " : "", name);
}

static int cap_set(json_object *caps, const char *key, uint64_t *mask, char unknown[256],
		   struct kx_err *err)
{
	json_object *v = oj_member(caps, key);
	char path[PATH_BUF], elem[PATH_BUF];

	*mask = 0;
	if (!v)
		return 0;
	oj_join(path, "process.capabilities", key);
	if (oj_want(v, json_type_array, path, err))
		return -1;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *e = json_object_array_get_idx(v, i);
		int cap;

		oj_indexed(elem, path, i);
		if (oj_want(e, json_type_string, elem, err))
			return -1;
		cap = kx_cap_from_name(json_object_get_string(e));
		if (cap < 0) {
			/* as runc: left out with a warning (a newer kernel's, a typo) */
			add_unknown(unknown, json_object_get_string(e));
			continue;
		}
		*mask |= 1ull << cap;
	}
	return 0;
}

static int parse_caps(json_object *v, Katasbx__Agent__V1__Process *p, char unknown[256],
		      struct kx_err *err)
{
	Katasbx__Agent__V1__Capabilities *c;

	if (oj_want(v, json_type_object, "process.capabilities", err))
		return -1;
	c = malloc(sizeof(*c));
	if (!c)
		return kx_error(err, ENOMEM, "config.json: process.capabilities");
	katasbx__agent__v1__capabilities__init(c);
	p->capabilities = c;
	if (cap_set(v, "bounding", &c->bounding, unknown, err) ||
	    cap_set(v, "effective", &c->effective, unknown, err) ||
	    cap_set(v, "inheritable", &c->inheritable, unknown, err) ||
	    cap_set(v, "permitted", &c->permitted, unknown, err) ||
	    cap_set(v, "ambient", &c->ambient, unknown, err))
		return -1;
	return 0;
}

static int parse_process(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	static const char *const path = "process";
	Katasbx__Agent__V1__Process *p;
	json_object *f;
	bool b;

	if (oj_want(v, json_type_object, path, err))
		return -1;
	p = malloc(sizeof(*p));
	if (!p)
		return kx_error(err, ENOMEM, "config.json: process");
	katasbx__agent__v1__process__init(p);
	spec->process = p;

	f = oj_member(v, "args");
	if (!f || !json_object_is_type(f, json_type_array) || !json_object_array_length(f))
		return oj_field_error(err, "process.args", "must be a non-empty array of strings");
	if (oj_string_array(f, "process.args", &p->args, &p->n_args, NULL, err))
		return -1;
	if ((f = oj_member(v, "env")) &&
	    oj_string_array(f, "process.env", &p->env, &p->n_env, oj_check_env, err))
		return -1;
	if (oj_req_string(v, path, "cwd", &p->cwd, err))
		return -1;
	if (p->cwd[0] != '/')
		return oj_field_error(err, "process.cwd", "must be an absolute path, not \"%s\"",
				   p->cwd);
	b = false;
	if (oj_opt_bool(v, path, "terminal", &b, err))
		return -1;
	p->terminal = b;
	b = false;
	if (oj_opt_bool(v, path, "noNewPrivileges", &b, err))
		return -1;
	p->no_new_privileges = b;

	p->user = malloc(sizeof(*p->user));
	if (!p->user)
		return kx_error(err, ENOMEM, "config.json: process.user");
	katasbx__agent__v1__user__init(p->user);	/* absent: uid 0, gid 0 */
	if ((f = oj_member(v, "user")) && parse_user(f, p->user, err))
		return -1;
	if ((f = oj_member(v, "rlimits")) && parse_rlimits(f, p, err))
		return -1;
	if ((f = oj_member(v, "capabilities")) && parse_caps(f, p, spec->unknown_caps, err))
		return -1;
	return oj_parse_process_extra(v, spec, err);
}

static bool has_option(char **opts, size_t n, const char *a, const char *b)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(opts[i], a) || !strcmp(opts[i], b))
			return true;
	return false;
}

static bool guest_fs_type(const char *type)
{
	static const char *const ok[] = {
		"proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(type, ok[i]))
			return true;
	return false;
}

bool kx_mount_has_option(const Katasbx__Agent__V1__Mount *m, const char *opt)
{
	return has_option(m->options, m->n_options, opt, opt);
}

bool kx_mount_is_bind(const Katasbx__Agent__V1__Mount *m)
{
	return !strcmp(m->type, "bind") || has_option(m->options, m->n_options, "bind", "rbind");
}

/*
 * A bind mount of a host path: its source made absolute (a relative one is
 * the bundle's) and checked now, so that a missing one fails before anything
 * is made. The host binds it into the VM's share (share.c).
 */
static int host_bind(Katasbx__Agent__V1__Mount *m, const char *elem, const char *bundle,
		     struct kx_err *err)
{
	char fp[PATH_BUF], *abs;
	struct stat st;

	oj_join(fp, elem, "source");
	if (!*m->source)
		return oj_field_error(err, fp, "is required for a bind mount");
	if (m->source[0] != '/') {
		if (asprintf(&abs, "%s/%s", bundle, m->source) < 0)
			return kx_error(err, ENOMEM, "config.json: %s", fp);
		free(m->source);
		m->source = abs;
	}
	if (stat(m->source, &st) < 0)
		return oj_field_error(err, fp, "%s: %s", m->source, strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return oj_field_error(err, fp, "%s: only a directory or a regular file can be bound",
				   m->source);
	if (!*m->type) {
		if (m->type != protobuf_c_empty_string)
			free(m->type);
		if (!(m->type = strdup("bind")))
			return kx_error(err, ENOMEM, "config.json: %s", fp);
	}
	return 0;
}

static int parse_mount(json_object *v, const char *elem, struct kx_spec *spec,
		       Katasbx__Agent__V1__Mount **out, struct kx_err *err)
{
	const char *bundle = spec->bundle;
	Katasbx__Agent__V1__Mount *m;
	char fp[PATH_BUF];
	json_object *f;

	if (oj_want(v, json_type_object, elem, err))
		return -1;
	m = malloc(sizeof(*m));
	if (!m)
		return kx_error(err, ENOMEM, "config.json: %s", elem);
	katasbx__agent__v1__mount__init(m);
	if (oj_req_string(v, elem, "destination", &m->destination, err))
		goto fail;
	if (!m->destination[0]) {
		oj_field_error(err, oj_join(fp, elem, "destination"), "must be an absolute path");
		goto fail;
	}
	if (m->destination[0] != '/') {
		/* runc takes it, under /, with a warning */
		char *abs = malloc(strlen(m->destination) + 2);

		if (!abs) {
			kx_error(err, ENOMEM, "config.json: %s", elem);
			goto fail;
		}
		sprintf(abs, "/%s", m->destination);
		oj_warn(spec, oj_join(fp, elem, "destination"), "\"%s\" is not absolute: taken "
			"as \"%s\" (runc, which does so too, will stop taking it)", m->destination,
			abs);
		free(m->destination);
		m->destination = abs;
	}
	if (oj_opt_string(v, elem, "type", &m->type, err) ||
	    oj_opt_string(v, elem, "source", &m->source, err))
		goto fail;
	if ((f = oj_member(v, "options")) &&
	    oj_string_array(f, oj_join(fp, elem, "options"), &m->options, &m->n_options, NULL, err))
		goto fail;
	/* Unset strings of a fresh message are "", never NULL. */
	if (kx_mount_is_bind(m)) {
		if (host_bind(m, elem, bundle, err))
			goto fail;
		*out = m;
		return 1;
	}
	if (!*m->type) {
		oj_field_error(err, oj_join(fp, elem, "type"), "is required for a non-bind mount");
		goto fail;
	}
	if (!guest_fs_type(m->type)) {
		oj_field_error(err, oj_join(fp, elem, "type"),
			    "unsupported mount type \"%s\" (the guest makes proc, sysfs, "
			    "tmpfs, devpts, mqueue, cgroup, cgroup2; host paths need bind)",
			    m->type);
		goto fail;
	}
	if (!*m->source && !(m->source = strdup(m->type))) {
		kx_error(err, ENOMEM, "config.json: %s", elem);
		goto fail;
	}
	*out = m;
	return 0;
fail:
	katasbx__agent__v1__mount__free_unpacked(m, NULL);
	return -1;
}

static int parse_mounts(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	size_t n;

	if (oj_want(v, json_type_array, "mounts", err))
		return -1;
	n = json_object_array_length(v);
	spec->mounts = calloc(n ? n : 1, sizeof(*spec->mounts));
	if (!spec->mounts)
		return kx_error(err, ENOMEM, "config.json: mounts");
	for (size_t i = 0; i < n; i++) {
		char elem[PATH_BUF];
		int ret;

		ret = parse_mount(json_object_array_get_idx(v, i), oj_indexed(elem, "mounts", i),
				  spec, &spec->mounts[spec->n_mounts], err);
		if (ret < 0)
			return -1;
		spec->n_binds += ret;
		spec->n_mounts++;
	}
	return 0;
}

static int parse_root(json_object *v, const char *bundle, struct kx_spec *spec,
		      struct kx_err *err)
{
	cleanup_free char *rel = NULL, *joined = NULL;
	struct stat st;

	if (!v)
		return oj_field_error(err, "root", "is required");
	if (oj_want(v, json_type_object, "root", err))
		return -1;
	if (oj_req_string(v, "root", "path", &rel, err))
		return -1;
	if (!*rel)
		return oj_field_error(err, "root.path", "must not be empty");
	if (rel[0] != '/' && asprintf(&joined, "%s/%s", bundle, rel) < 0)
		return kx_error(err, ENOMEM, "config.json: root.path");
	spec->root_path = realpath(joined ? joined : rel, NULL);
	if (!spec->root_path)
		return kx_error(err, errno, "config.json: root.path: %s",
				joined ? joined : rel);
	if (stat(spec->root_path, &st))
		return kx_error(err, errno, "config.json: root.path: %s", spec->root_path);
	if (!S_ISDIR(st.st_mode))
		return oj_field_error(err, "root.path", "%s: not a directory", spec->root_path);
	return oj_opt_bool(v, "root", "readonly", &spec->root_readonly, err);
}

const struct kx_ns_type kx_ns_types[] = {
	{ "cgroup", 0, true }, { "ipc", KX_NS_IPC, true }, { "mount", 0, true },
	{ "network", KX_NS_NET, true }, { "pid", KX_NS_PID, true }, { "uts", KX_NS_UTS, true },
	{ "user", KX_NS_USER, true }, { "time", KX_NS_TIME, false }, { NULL, 0, false },
};

/*
 * linux.namespaces: the guest makes the container's own; which of them name
 * an existing one by path (a pod's container names its sandbox's) is kept.
 */
static int parse_namespaces(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	const struct kx_ns_type *known = kx_ns_types;
	size_t n;

	if (oj_want(v, json_type_array, "linux.namespaces", err))
		return -1;
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		cleanup_free char *type = NULL, *path = NULL;
		char elem[PATH_BUF], fp[PATH_BUF];
		size_t k;

		oj_indexed(elem, "linux.namespaces", i);
		if (oj_want(e, json_type_object, elem, err) || oj_req_string(e, elem, "type", &type, err) ||
		    oj_opt_string(e, elem, "path", &path, err))
			return -1;
		for (k = 0; known[k].type; k++)
			if (!strcmp(type, known[k].type))
				break;
		if (!known[k].type)
			return oj_field_error(err, oj_join(fp, elem, "type"), "unknown namespace type \"%s\"",
					   type);
		if (known[k].bit == KX_NS_NET) {
			if (spec->net_ns_index >= 0)
				return oj_field_error(err, oj_join(fp, elem, "type"),
						   "a second \"network\" namespace (the first is "
						   "linux.namespaces[%d])", spec->net_ns_index);
			spec->net_ns_index = (int)i;
			if (path && *path) {
				if (*path != '/')
					return oj_field_error(err, oj_join(fp, elem, "path"),
							   "\"%s\" is not an absolute path", path);
				spec->net_ns_path = strdup(path);
				if (!spec->net_ns_path)
					return kx_error(err, ENOMEM, "config.json: %s", elem);
			}
		}
		if (path && *path)
			spec->ns_paths |= known[k].bit;
		spec->ns_types |= known[k].bit;
	}
	return 0;
}

static int parse_linux(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	json_object *f;

	if (oj_want(v, json_type_object, "linux", err))
		return -1;
	if ((f = oj_member(v, "maskedPaths")) &&
	    oj_string_array(f, "linux.maskedPaths", &spec->masked_paths, &spec->n_masked_paths,
			 oj_check_absolute, err))
		return -1;
	if ((f = oj_member(v, "readonlyPaths")) &&
	    oj_string_array(f, "linux.readonlyPaths", &spec->readonly_paths,
			 &spec->n_readonly_paths, oj_check_absolute, err))
		return -1;
	if ((f = oj_member(v, "seccomp")) && oj_parse_seccomp(f, spec, err))
		return -1;
	if ((f = oj_member(v, "namespaces")) && parse_namespaces(f, spec, err))
		return -1;
	if (oj_parse_resources(oj_member(v, "resources"), spec, err) ||
	    oj_parse_linux_extra(v, spec, err) ||
	    oj_opt_string(v, "linux", "cgroupsPath", &spec->cgroups_path, err))
		return -1;
	return 0;
}

static int parse_annotations(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	const char *text = "{}";

	if (v) {
		if (oj_want(v, json_type_object, "annotations", err))
			return -1;
		json_object_object_foreach(v, key, val) {
			char path[PATH_BUF];

			if (!json_object_is_type(val, json_type_string))
				return oj_field_error(err, oj_join(path, "annotations", key),
						   "must be a string");
		}
		text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	}
	spec->annotations_json = strdup(text);
	if (!spec->annotations_json)
		return kx_error(err, ENOMEM, "config.json: annotations");
	return 0;
}

/* Parse the whole text as one JSON object; errors give the line. */
static json_object *parse_json(const char *text, struct kx_err *err)
{
	size_t len = strlen(text), end, line = 1;
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	json_object *root;

	tok = json_tokener_new();
	if (!tok) {
		kx_error(err, ENOMEM, "config.json");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	for (size_t i = 0; i < end && i < len; i++)
		line += text[i] == '\n';
	if (!root) {
		kx_error(err, 0, "config.json: invalid JSON at line %zu: %s", line,
			 json_tokener_error_desc(jerr));
		return NULL;
	}
	end += strspn(text + end, " \t\r\n");
	if (end < len) {
		kx_error(err, 0, "config.json: invalid JSON at line %zu: trailing data", line);
		json_object_put(root);
		return NULL;
	}
	if (!json_object_is_type(root, json_type_object)) {
		kx_error(err, 0, "config.json: must be a JSON object");
		json_object_put(root);
		return NULL;
	}
	return root;
}

int kx_spec_parse(const char *json_text, const char *bundle, struct kx_spec *spec,
		  struct kx_err *err)
{
	json_object *root, *v;
	int ret = -1;

	memset(spec, 0, sizeof(*spec));
	spec->net_ns_index = -1;
	if (strlen(json_text) > KX_CONFIG_MAX)
		return kx_error(err, EFBIG, "config.json: larger than %u bytes", KX_CONFIG_MAX);
	root = parse_json(json_text, err);
	if (!root)
		return -1;
	spec->bundle = realpath(bundle ? bundle : ".", NULL);
	if (!spec->bundle) {
		kx_error(err, errno, "bundle %s", bundle ? bundle : ".");
		goto out;
	}
	if (oj_req_string(root, "", "ociVersion", &spec->oci_version, err) ||
	    parse_root(oj_member(root, "root"), spec->bundle, spec, err) ||
	    oj_opt_string(root, "", "hostname", &spec->hostname, err))
		goto out;
	if (!(v = oj_member(root, "process"))) {
		oj_field_error(err, "process", "is required");
		goto out;
	}
	if (parse_process(v, spec, err))
		goto out;
	if ((v = oj_member(root, "mounts")) && parse_mounts(v, spec, err))
		goto out;
	if ((v = oj_member(root, "linux")) && parse_linux(v, spec, err))
		goto out;
	if (parse_annotations(oj_member(root, "annotations"), spec, err) ||
	    oj_parse_hooks(oj_member(root, "hooks"), spec, err))
		goto out;
	/* runc's rule and words: the hostname would be the host's (here, the guest's) */
	if (spec->hostname && *spec->hostname && !(spec->ns_types & KX_NS_UTS)) {
		oj_field_error(err, "hostname", "unable to set hostname without a private UTS namespace");
		goto out;
	}
	ret = 0;
out:
	json_object_put(root);
	if (ret)
		kx_spec_free(spec);
	return ret;
}

int kx_spec_load(const char *bundle, struct kx_spec *spec, struct kx_err *err)
{
	cleanup_free char *dir = NULL, *path = NULL, *text = NULL;
	cleanup_close int fd = -1;
	struct stat st;

	memset(spec, 0, sizeof(*spec));
	if (stat(bundle, &st) < 0) {
		if (errno == ENOENT)
			return kx_error(err, 0, "bundle %s does not exist", bundle);
		if (errno != ENOTDIR)
			return kx_error(err, errno, "bundle %s", bundle);
		st.st_mode = 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		return kx_error_as(err, ENOTDIR, "bundle %s: not a directory", bundle);
	}
	dir = realpath(bundle, NULL);
	if (!dir)
		return kx_error(err, errno, "bundle %s", bundle);
	if (asprintf(&path, "%s/config.json", dir) < 0) {
		path = NULL;
		return kx_error(err, ENOMEM, "bundle %s", bundle);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return kx_error(err, ENOENT, "bundle %s: no config.json", dir);
		return kx_error(err, errno, "open %s", path);
	}
	text = kx_read_text(fd, path, KX_CONFIG_MAX, err);
	if (!text)
		return -1;
	return kx_spec_parse(text, dir, spec, err);
}

void kx_spec_free(struct kx_spec *spec)
{
	free(spec->oci_version);
	free(spec->bundle);
	free(spec->root_path);
	free(spec->hostname);
	if (spec->process)
		katasbx__agent__v1__process__free_unpacked(spec->process, NULL);
	for (size_t i = 0; i < spec->n_mounts; i++)
		katasbx__agent__v1__mount__free_unpacked(spec->mounts[i], NULL);
	free(spec->mounts);
	oj_free_strv(spec->masked_paths, spec->n_masked_paths);
	oj_free_strv(spec->readonly_paths, spec->n_readonly_paths);
	if (spec->seccomp)
		katasbx__agent__v1__seccomp__free_unpacked(spec->seccomp, NULL);
	free(spec->annotations_json);
	free(spec->net_ns_path);
	free(spec->cgroups_path);
	oj_free_hooks(spec);
	kx_cgroup_writes_free(spec->cgroup, spec->n_cgroup);
	oj_free_linux_extra(spec);
	memset(spec, 0, sizeof(*spec));
	spec->net_ns_index = -1;
}

void kx_spec_create_request(const struct kx_spec *spec,
			    Katasbx__Agent__V1__CreateContainerRequest *cr)
{
	cr->process = spec->process;
	cr->hostname = spec->hostname ? spec->hostname : "";
	cr->rootfs_readonly = spec->root_readonly;
	cr->n_mounts = spec->n_mounts;
	cr->mounts = spec->mounts;
	cr->n_masked_paths = spec->n_masked_paths;
	cr->masked_paths = spec->masked_paths;
	cr->n_readonly_paths = spec->n_readonly_paths;
	cr->readonly_paths = spec->readonly_paths;
	cr->seccomp = spec->seccomp;
	cr->guest_pid = !(spec->ns_types & KX_NS_PID);
	cr->guest_ipc = !(spec->ns_types & KX_NS_IPC);
	cr->guest_uts = !(spec->ns_types & KX_NS_UTS);
	cr->n_create_container_hooks = spec->n_hooks[KX_HOOK_CREATE_CONTAINER];
	cr->create_container_hooks = spec->hooks[KX_HOOK_CREATE_CONTAINER];
	cr->n_start_container_hooks = spec->n_hooks[KX_HOOK_START_CONTAINER];
	cr->start_container_hooks = spec->hooks[KX_HOOK_START_CONTAINER];
	cr->n_cgroup = spec->n_cgroup;
	cr->cgroup = spec->cgroup;
	cr->n_sysctls = spec->n_sysctls;
	cr->sysctls = spec->sysctls;
	cr->n_devices = spec->n_devices;
	cr->devices = spec->devices;
	cr->user_ns = (spec->ns_types & KX_NS_USER) != 0;
	cr->n_uid_mappings = spec->n_uid_mappings;
	cr->uid_mappings = spec->uid_mappings;
	cr->n_gid_mappings = spec->n_gid_mappings;
	cr->gid_mappings = spec->gid_mappings;
}

int kx_process_parse(const char *json_text, Katasbx__Agent__V1__Process **out,
		     char unknown_caps[256], struct kx_err *err)
{
	struct kx_spec spec = { 0 };
	json_object *root = parse_json(json_text, err);
	int ret;

	*out = NULL;
	if (!root)
		return -1;
	ret = parse_process(root, &spec, err);
	json_object_put(root);
	if (!ret) {
		*out = spec.process;
		spec.process = NULL;
		if (unknown_caps)
			memcpy(unknown_caps, spec.unknown_caps, sizeof(spec.unknown_caps));
	}
	kx_spec_free(&spec);
	return ret;
}
