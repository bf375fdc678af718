// SPDX-License-Identifier: GPL-2.0
/*
 * config.json's "linux.seccomp", checked on the host (actions, operators and
 * architectures by name, each syscall rule's args) into the message the
 * agent builds its filter from; SCMP_ACT_NOTIFY and listenerPath refused.
 * The names taken are the tables features reports.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"
#include "oci_json.h"

static const char *one_of(const char *s, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(s, *names))
			return NULL;
	return "unknown";
}

const char *const kx_seccomp_actions[] = {
	"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
	"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP", NULL,
};
/* the guest's: x86-64 and what runs on it */
const char *const kx_seccomp_archs[] = {
	"SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", NULL,
};
const char *const kx_seccomp_operators[] = {
	"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
	"SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL,
};

static const char *seccomp_action(const char *s)
{
	if (!strcmp(s, "SCMP_ACT_NOTIFY"))
		return "not supported (no seccomp agent)";
	return one_of(s, kx_seccomp_actions) ? "unknown action" : NULL;
}

static const char *seccomp_arch(const char *s)
{
	static const char *const foreign[] = {
		"SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
		"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
		"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE",
		"SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
		"SCMP_ARCH_RISCV64", NULL,
	};

	/* profiles list every architecture; the guest is x86-64, the others do not apply */
	return one_of(s, kx_seccomp_archs) && one_of(s, foreign) ? "unknown architecture" : NULL;
}

static const char *seccomp_op(const char *s)
{
	return one_of(s, kx_seccomp_operators) ? "unknown operator" : NULL;
}

/* A required string member checked by check (which says what is wrong, or NULL). */
static int checked_string(json_object *o, const char *parent, const char *key,
			  const char *(*check)(const char *), char **out, struct kx_err *err)
{
	char path[PATH_BUF];
	const char *why;

	if (oj_req_string(o, parent, key, out, err))
		return -1;
	if ((why = check(*out)))
		return oj_field_error(err, oj_join(path, parent, key), "%s: %s", *out, why);
	return 0;
}

static int opt_errno_ret(json_object *o, const char *parent, const char *key,
			 protobuf_c_boolean *has, uint32_t *out, struct kx_err *err)
{
	json_object *v = oj_member(o, key);
	char path[PATH_BUF];

	if (!v)
		return 0;
	*has = true;
	return oj_get_u32(v, oj_join(path, parent, key), out, err);
}

static int parse_seccomp_arg(json_object *v, const char *elem, Katasbx__Agent__V1__SeccompArg *a,
			     struct kx_err *err)
{
	char path[PATH_BUF];
	json_object *f;

	if (oj_want(v, json_type_object, elem, err))
		return -1;
	oj_join(path, elem, "index");
	if (!(f = oj_member(v, "index")))
		return oj_field_error(err, path, "is required");
	if (oj_get_u32(f, path, &a->index, err))
		return -1;
	if (a->index > 5)
		return oj_field_error(err, path, "must be 0 to 5 (a system call's arguments)");
	oj_join(path, elem, "value");
	if (!(f = oj_member(v, "value")))
		return oj_field_error(err, path, "is required");
	if (oj_get_u64(f, path, UINT64_MAX, &a->value, err))
		return -1;
	if ((f = oj_member(v, "valueTwo")) &&
	    oj_get_u64(f, oj_join(path, elem, "valueTwo"), UINT64_MAX, &a->value_two, err))
		return -1;
	return checked_string(v, elem, "op", seccomp_op, &a->op, err);
}

static int parse_seccomp_rule(json_object *v, const char *elem,
			      Katasbx__Agent__V1__SeccompRule *r, struct kx_err *err)
{
	char path[PATH_BUF];
	json_object *f;
	size_t n;

	if (oj_want(v, json_type_object, elem, err))
		return -1;
	oj_join(path, elem, "names");
	if (!(f = oj_member(v, "names")))
		return oj_field_error(err, path, "is required");
	if (oj_string_array(f, path, &r->names, &r->n_names, NULL, err))
		return -1;
	if (checked_string(v, elem, "action", seccomp_action, &r->action, err) ||
	    opt_errno_ret(v, elem, "errnoRet", &r->has_errno_ret, &r->errno_ret, err))
		return -1;
	if (!(f = oj_member(v, "args")))
		return 0;
	if (oj_want(f, json_type_array, oj_join(path, elem, "args"), err))
		return -1;
	n = json_object_array_length(f);
	r->args = calloc(n ? n : 1, sizeof(*r->args));
	if (!r->args)
		return kx_error(err, ENOMEM, "config.json: %s", path);
	for (size_t i = 0; i < n; i++) {
		char ep[PATH_BUF], base[PATH_BUF];

		r->args[i] = malloc(sizeof(*r->args[i]));
		if (!r->args[i])
			return kx_error(err, ENOMEM, "config.json: %s", path);
		katasbx__agent__v1__seccomp_arg__init(r->args[i]);
		r->n_args++;
		snprintf(base, sizeof(base), "%s", path);
		if (parse_seccomp_arg(json_object_array_get_idx(f, i), oj_indexed(ep, base, i),
				      r->args[i], err))
			return -1;
	}
	return 0;
}

int oj_parse_seccomp(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	static const char *const p = "linux.seccomp";
	Katasbx__Agent__V1__Seccomp *s;
	char path[PATH_BUF];
	json_object *f;
	size_t n;

	if (oj_want(v, json_type_object, p, err))
		return -1;
	if (oj_member(v, "listenerPath"))
		return oj_field_error(err, oj_join(path, p, "listenerPath"),
				   "not supported (no seccomp agent)");
	s = spec->seccomp = malloc(sizeof(*s));
	if (!s)
		return kx_error(err, ENOMEM, "config.json: %s", p);
	katasbx__agent__v1__seccomp__init(s);
	if (checked_string(v, p, "defaultAction", seccomp_action, &s->default_action, err) ||
	    opt_errno_ret(v, p, "defaultErrnoRet", &s->has_default_errno_ret,
			  &s->default_errno_ret, err))
		return -1;
	if ((f = oj_member(v, "architectures")) &&
	    oj_string_array(f, oj_join(path, p, "architectures"), &s->architectures,
			 &s->n_architectures, NULL, err))
		return -1;
	for (size_t i = 0; i < s->n_architectures; i++)
		if (seccomp_arch(s->architectures[i]))
			return oj_field_error(err, oj_indexed(path, "linux.seccomp.architectures", i),
					   "%s: unknown architecture", s->architectures[i]);
	/* flags (SECCOMP_FILTER_FLAG_*) are accepted and not applied */
	if (!(f = oj_member(v, "syscalls")))
		return 0;
	if (oj_want(f, json_type_array, oj_join(path, p, "syscalls"), err))
		return -1;
	n = json_object_array_length(f);
	s->syscalls = calloc(n ? n : 1, sizeof(*s->syscalls));
	if (!s->syscalls)
		return kx_error(err, ENOMEM, "config.json: %s", path);
	for (size_t i = 0; i < n; i++) {
		char elem[PATH_BUF];

		s->syscalls[i] = malloc(sizeof(*s->syscalls[i]));
		if (!s->syscalls[i])
			return kx_error(err, ENOMEM, "config.json: %s", path);
		katasbx__agent__v1__seccomp_rule__init(s->syscalls[i]);
		s->n_syscalls++;
		if (parse_seccomp_rule(json_object_array_get_idx(f, i),
				       oj_indexed(elem, "linux.seccomp.syscalls", i), s->syscalls[i],
				       err))
			return -1;
	}
	return 0;
}
