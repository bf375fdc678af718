// SPDX-License-Identifier: GPL-2.0
/*
 * linux.seccomp: the filter is built with libseccomp in the agent when the
 * container is created (a bad profile fails CreateContainer) and loaded by
 * each of its processes, forked from the agent, just before exec.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"

static int action(const char *name, bool has_errno, uint32_t errno_ret, uint32_t *out)
{
	static const struct { const char *name; uint32_t act; } acts[] = {
		{ "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
		{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
		{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
		{ "SCMP_ACT_LOG", SCMP_ACT_LOG },
	};

	/* as runc: ERRNO without errnoRet is EPERM, TRACE without it 1 */
	if (!strcmp(name, "SCMP_ACT_ERRNO")) {
		*out = SCMP_ACT_ERRNO(has_errno ? errno_ret : EPERM);
		return 0;
	}
	if (!strcmp(name, "SCMP_ACT_TRACE")) {
		*out = SCMP_ACT_TRACE(has_errno ? errno_ret : 1);
		return 0;
	}
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		if (!strcmp(name, acts[i].name)) {
			*out = acts[i].act;
			return 0;
		}
	}
	return -1;
}

static int compare_op(const char *name, enum scmp_compare *out)
{
	static const struct { const char *name; enum scmp_compare op; } ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!strcmp(name, ops[i].name)) {
			*out = ops[i].op;
			return 0;
		}
	}
	return -1;
}

/* The x86 ABIs a profile may name; others (arm, ...) do not apply to this guest. */
static uint32_t arch(const char *name)
{
	if (!strcmp(name, "SCMP_ARCH_X86_64"))
		return SCMP_ARCH_X86_64;
	if (!strcmp(name, "SCMP_ARCH_X86"))
		return SCMP_ARCH_X86;
	if (!strcmp(name, "SCMP_ARCH_X32"))
		return SCMP_ARCH_X32;
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const Katasbx__Agent__V1__SeccompRule *r,
		    uint32_t dflt, char *msg, size_t len)
{
	struct scmp_arg_cmp cmp[6];
	uint32_t act;
	int ret;

	if (action(r->action, r->has_errno_ret, r->errno_ret, &act))
		return snprintf(msg, len, "seccomp: action %.60s unknown", r->action), -1;
	if (r->n_args > 6)
		return snprintf(msg, len, "seccomp: more than 6 argument conditions"), -1;
	for (size_t i = 0; i < r->n_args; i++) {
		const Katasbx__Agent__V1__SeccompArg *a = r->args[i];

		if (a->index > 5 || compare_op(a->op, &cmp[i].op))
			return snprintf(msg, len, "seccomp: argument %u, operator %.40s invalid",
					a->index, a->op), -1;
		cmp[i].arg = a->index;
		cmp[i].datum_a = a->value;
		cmp[i].datum_b = a->value_two;
	}
	if (act == dflt)
		return 0;	/* libseccomp refuses a rule that does what the default does */
	for (size_t i = 0; i < r->n_names; i++) {
		int nr = seccomp_syscall_resolve_name(r->names[i]);

		if (nr == __NR_SCMP_ERROR) {
			log_dbg("seccomp: system call %s unknown here, left out", r->names[i]);
			continue;
		}
		ret = seccomp_rule_add_array(ctx, act, nr, (unsigned int)r->n_args, cmp);
		if (ret < 0)
			return snprintf(msg, len, "seccomp: rule for %.60s: %s", r->names[i],
					strerror(-ret)), -1;
	}
	return 0;
}

void *seccomp_build(const Katasbx__Agent__V1__Seccomp *s, char *msg, size_t len)
{
	scmp_filter_ctx ctx;
	uint32_t dflt;
	int ret;

	if (action(s->default_action, s->has_default_errno_ret, s->default_errno_ret, &dflt)) {
		snprintf(msg, len, "seccomp: default action %.60s unknown", s->default_action);
		return NULL;
	}
	ctx = seccomp_init(dflt);
	if (!ctx) {
		snprintf(msg, len, "seccomp: init failed");
		return NULL;
	}
	/* with no_new_privs off the filter is loaded while the process has CAP_SYS_ADMIN */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (size_t i = 0; i < s->n_architectures; i++) {
		uint32_t a = arch(s->architectures[i]);

		if (a && (ret = seccomp_arch_add(ctx, a)) < 0 && ret != -EEXIST) {
			snprintf(msg, len, "seccomp: architecture %.40s: %s", s->architectures[i],
				 strerror(-ret));
			goto fail;
		}
	}
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (add_rule(ctx, s->syscalls[i], dflt, msg, len))
			goto fail;
	return ctx;
fail:
	seccomp_release(ctx);
	return NULL;
}

int seccomp_apply(void *ctx)
{
	int ret = ctx ? seccomp_load(ctx) : 0;

	if (ret < 0)
		errno = -ret;
	return ret < 0 ? -1 : 0;
}

void seccomp_free(void *ctx)
{
	if (ctx)
		seccomp_release(ctx);
}
