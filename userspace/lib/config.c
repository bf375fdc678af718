// SPDX-License-Identifier: GPL-2.0
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "log.h"
#include "state.h"

void kx_config_defaults(struct kx_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->root, sizeof(c->root), "%s", KX_DEFAULT_ROOT);
	c->accel = KX_ACCEL_AUTO;
	c->channel = KX_CHANNEL_AUTO;
	c->mem_mib = 256;
	c->vcpus = 1;
	c->max_memory_mib = 8192;
	c->tb_size_mib = 32;
	/*
	 * Measured here: a clone's PSS falls by 8 MiB from 32 to 16 MiB at the
	 * same latency; at 8 MiB the cache flushes and a run takes 1.7x longer.
	 */
	c->clone_tb_size_mib = 16;
	c->boot_timeout_ms = 60000;
	c->template = true;
	c->warm = true;
	c->host_cgroups = true;
	/* Documentation/operations.md: what a sandbox costs beyond its container's limit */
	c->sandbox_overhead_mib = KX_SANDBOX_OVERHEAD_MIB;
	c->sandbox_overhead_millicpus = 250;
}

static int parse_bool(const char *key, const char *v, bool *out, struct kx_err *err)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
		*out = false;
	else
		return kx_error(err, 0, "%s: \"%s\" is not on or off", key, v);
	return 0;
}

static int parse_uint(const char *key, const char *v, unsigned int min, unsigned int max,
		      unsigned int *out, struct kx_err *err)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return kx_error(err, 0, "%s: \"%s\" is not a number from %u to %u", key, v, min,
				max);
	*out = n;
	return 0;
}

static int set_str(char *dst, size_t len, const char *key, const char *v, struct kx_err *err)
{
	if (snprintf(dst, len, "%s", v) >= (int)len)
		return kx_error(err, 0, "%s: value too long", key);
	return 0;
}

int kx_config_set(struct kx_config *c, const char *key, const char *v, struct kx_err *err)
{
	if (!strcmp(key, "root"))
		return set_str(c->root, sizeof(c->root), key, v, err);
	if (!strcmp(key, "kernel"))
		return set_str(c->kernel, sizeof(c->kernel), key, v, err);
	if (!strcmp(key, "initrd"))
		return set_str(c->initrd, sizeof(c->initrd), key, v, err);
	if (!strcmp(key, "kernel_params"))
		return set_str(c->kernel_params, sizeof(c->kernel_params), key, v, err);
	if (!strcmp(key, "accel")) {
		if (kx_accel_parse(v, &c->accel))
			return kx_error(err, 0, "accel: \"%s\" is not auto, kvm or tcg", v);
		return 0;
	}
	if (!strcmp(key, "channel")) {
		if (kx_channel_parse(v, &c->channel))
			return kx_error(err, 0, "channel: \"%s\" is not auto, serial or vsock", v);
		return 0;
	}
	if (!strcmp(key, "memory_mib"))
		return parse_uint(key, v, 64, 1 << 20, &c->mem_mib, err);
	if (!strcmp(key, "vcpus"))
		return parse_uint(key, v, 1, 64, &c->vcpus, err);
	if (!strcmp(key, "max_memory_mib"))
		return parse_uint(key, v, 64, 1 << 20, &c->max_memory_mib, err);
	if (!strcmp(key, "max_vcpus"))
		return parse_uint(key, v, 0, 64, &c->max_vcpus, err);
	if (!strcmp(key, "tb_size_mib"))
		return parse_uint(key, v, 1, 4096, &c->tb_size_mib, err);
	if (!strcmp(key, "clone_tb_size_mib"))
		return parse_uint(key, v, 1, 4096, &c->clone_tb_size_mib, err);
	if (!strcmp(key, "boot_timeout_ms"))
		return parse_uint(key, v, 100, 3600000, &c->boot_timeout_ms, err);
	if (!strcmp(key, "debug"))
		return parse_bool(key, v, &c->debug, err);
	if (!strcmp(key, "template"))
		return parse_bool(key, v, &c->template, err);
	if (!strcmp(key, "warm"))
		return parse_bool(key, v, &c->warm, err);
	if (!strcmp(key, "host_cgroups"))
		return parse_bool(key, v, &c->host_cgroups, err);
	if (!strcmp(key, "sandbox_overhead_mib"))
		return parse_uint(key, v, 0, 1 << 20, &c->sandbox_overhead_mib, err);
	if (!strcmp(key, "sandbox_overhead_millicpus"))
		return parse_uint(key, v, 0, 64000, &c->sandbox_overhead_millicpus, err);
	if (!strcmp(key, "template_dir"))
		return set_str(c->template_dir, sizeof(c->template_dir), key, v, err);
	return kx_error(err, 0, "unknown setting \"%s\"", key);
}

/*
 * A value as a user means it: an unquoted one ends before a " #" comment
 * (inih takes only ';' inline comments) and is trimmed; "..." or '...'
 * around it are taken off, and then a '#' inside is the value's.
 */
static int clean_value(const char *in, char *out, size_t len)
{
	const char *s = in, *e;
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	if ((*s == '"' || *s == '\'') && (e = strchr(s + 1, *s))) {
		const char *rest = e + 1;

		while (isspace((unsigned char)*rest))
			rest++;
		if (*rest && *rest != '#')
			return -1;	/* something after the closing quote */
		n = (size_t)(e - s - 1);
		s++;
	} else {
		for (e = s; *e && !(*e == '#' && (e == s || isspace((unsigned char)e[-1]))); e++)
			;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		n = (size_t)(e - s);
	}
	if (n >= len)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

struct load {
	struct kx_config *c;
	struct kx_err *err;
	bool failed;		/* err holds the first error; its line is inih's answer */
};

static int on_setting(void *user, const char *section, const char *name, const char *value)
{
	struct load *l = user;
	char v[2048];

	if (l->failed)
		return 0;
	if (*section)
		kx_error(l->err, 0, "[%s]: settings have no sections", section);
	else if (clean_value(value, v, sizeof(v)))
		kx_error(l->err, 0, "%s: a quoted value with something after it, or too long",
			 name);
	else if (!kx_config_set(l->c, name, v, l->err))
		return 1;
	l->failed = true;
	return 0;
}

/*
 * fgets for inih, lines without their leading blanks: inih would take an
 * indented line for the continuation of the value before it.
 */
static char *read_line(char *buf, int len, void *stream)
{
	char *s;

	if (!fgets(buf, len, stream))
		return NULL;
	for (s = buf; *s == ' ' || *s == '\t'; s++)
		;
	memmove(buf, s, strlen(s) + 1);
	return buf;
}

int kx_config_load(struct kx_config *c, const char *path, bool must_exist, struct kx_err *err)
{
	struct load l = { .c = c, .err = err };
	FILE *f = fopen(path, "re");
	int line;

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return kx_error(err, errno, "open config %s", path);
	}
	line = ini_parse_stream(read_line, f, on_setting, &l);
	fclose(f);
	if (line == -2)
		return kx_error(err, ENOMEM, "read config %s", path);
	if (!line) {
		snprintf(c->loaded_from, sizeof(c->loaded_from), "%s", path);
		return 0;
	}
	if (l.failed)
		return kx_error_wrap(err, "%s:%d", path, line);
	return kx_error(err, 0, "%s:%d: expected key = value (at most %d characters a line)",
			path, line, INI_MAX_LINE - 2);
}

static bool readable(const char *p)
{
	return access(p, R_OK) == 0;
}

/* DIR holding initrd.img: BINDIR/../guest (build tree) or BINDIR/../share/katasbx. */
static int guest_dir(char *out, size_t len)
{
	static const char *const rel[] = { "../guest", "../share/katasbx" };
	char exe[PATH_MAX], cand[PATH_MAX + 64], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t i;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char real[PATH_MAX];

		snprintf(cand, sizeof(cand), "%s/%s/initrd.img", exe, rel[i]);
		if (readable(cand)) {
			snprintf(cand, sizeof(cand), "%s/%s", exe, rel[i]);
			snprintf(out, len, "%s", realpath(cand, real) ? real : cand);
			return 0;
		}
	}
	return -1;
}

int kx_config_find_guest(struct kx_config *c, struct kx_err *err)
{
	char dir[PATH_MAX];

	if (c->kernel[0] && c->initrd[0])
		return 0;
	if (guest_dir(dir, sizeof(dir)))
		return kx_error(err, 0,
				"guest image not found next to the runtime (../guest or ../share/katasbx): run make, or set kernel and initrd in %s or with --kernel/--initrd",
				KX_CONFIG_FILE);
	if (!c->initrd[0])
		snprintf(c->initrd, sizeof(c->initrd), "%s/initrd.img", dir);
	if (!c->kernel[0]) {
		/* the uncompressed kernel boots seconds faster under TCG */
		snprintf(c->kernel, sizeof(c->kernel), "%s/vmlinux", dir);
		if (!readable(c->kernel))
			snprintf(c->kernel, sizeof(c->kernel), "%s/vmlinuz", dir);
	}
	return 0;
}

int kx_vm_config_from(const struct kx_config *c, struct kx_vm_config *vc, struct kx_err *err)
{
	static struct kx_hostcaps caps;
	static bool probed;
	const char *why;

	if (!probed) {
		kx_hostcaps_probe(&caps);
		probed = true;
	}
	memset(vc, 0, sizeof(*vc));
	vc->qemu = caps.qemu[0] ? caps.qemu : "qemu-system-x86_64";
	vc->kernel = c->kernel;
	vc->initrd = c->initrd;
	vc->cmdline_extra = c->kernel_params[0] ? c->kernel_params : NULL;
	vc->mem_mib = c->mem_mib;
	vc->vcpus = c->vcpus;
	vc->accel = kx_accel_choose(&caps, c->accel, &why);
	vc->tb_size_mib = c->tb_size_mib;
	vc->channel = kx_channel_choose(&caps, c->channel);
	vc->vhost_net = caps.vhost_net;	/* used when the VM gets network interfaces */
	vc->cgroup = c->hostcg;	/* a sandbox's, set by its monitor; a template clears it */
	if (vc->channel == KX_CHANNEL_VSOCK) {
		/* Without the module's CID pool, derive one from the pid: unique while we live. */
		vc->vsock_cid = 1000 + (uint32_t)getpid();
	}
	kx_debug("accel %s (%s), channel %s", kx_accel_name(vc->accel), why,
		 kx_channel_name(vc->channel));
	if (!c->kernel[0] || !c->initrd[0])
		return kx_error(err, EINVAL, "no guest kernel or initrd");
	return 0;
}
