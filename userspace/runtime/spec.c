// SPDX-License-Identifier: GPL-2.0
/*
 * spec: a default config.json, as `runc spec` writes one, that katasbx runs
 * as it is: an interactive sh on a terminal, runc's capabilities, rlimits,
 * mounts, namespaces, masked and read-only paths, devices denied but the
 * default ones, over a read-only rootfs/.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"
#include "runtime.h"

static json_object *strings(const char *const *v)
{
	json_object *a = json_object_new_array();

	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static json_object *mount(const char *dest, const char *type, const char *source,
			  const char *const *options)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "destination", json_object_new_string(dest));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(source));
	if (options)
		json_object_object_add(m, "options", strings(options));
	return m;
}

static json_object *default_spec(void)
{
	static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
					    NULL };
	static const char *const cap_sets[] = { "bounding", "effective", "permitted", "ambient",
						NULL };
	static const char *const env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
		NULL
	};
	static const char *const ns[] = { "pid", "network", "ipc", "uts", "mount", NULL };
	static const char *const masked[] = {
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
		"/proc/scsi", NULL
	};
	static const char *const ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
					  "/proc/sysrq-trigger", NULL };
	static const char *const sh[] = { "sh", NULL };
	json_object *s = json_object_new_object(), *p = json_object_new_object();
	json_object *o, *a, *l;

	json_object_object_add(s, "ociVersion", json_object_new_string(KX_OCI_VERSION));
	json_object_object_add(p, "terminal", json_object_new_boolean(1));
	o = json_object_new_object();
	json_object_object_add(o, "uid", json_object_new_int(0));
	json_object_object_add(o, "gid", json_object_new_int(0));
	json_object_object_add(p, "user", o);
	json_object_object_add(p, "args", strings(sh));
	json_object_object_add(p, "env", strings(env));
	json_object_object_add(p, "cwd", json_object_new_string("/"));
	o = json_object_new_object();
	for (const char *const *set = cap_sets; *set; set++)
		json_object_object_add(o, *set, strings(caps));
	json_object_object_add(p, "capabilities", o);
	a = json_object_new_array();
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("RLIMIT_NOFILE"));
	json_object_object_add(o, "hard", json_object_new_int(1024));
	json_object_object_add(o, "soft", json_object_new_int(1024));
	json_object_array_add(a, o);
	json_object_object_add(p, "rlimits", a);
	json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(1));
	json_object_object_add(s, "process", p);
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string("rootfs"));
	json_object_object_add(o, "readonly", json_object_new_boolean(1));
	json_object_object_add(s, "root", o);
	json_object_object_add(s, "hostname", json_object_new_string("katasbx"));
	a = json_object_new_array();
	json_object_array_add(a, mount("/proc", "proc", "proc", NULL));
	json_object_array_add(a, mount("/dev", "tmpfs", "tmpfs", (const char *const[]){
		"nosuid", "strictatime", "mode=755", "size=65536k", NULL }));
	json_object_array_add(a, mount("/dev/pts", "devpts", "devpts", (const char *const[]){
		"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL }));
	json_object_array_add(a, mount("/dev/shm", "tmpfs", "shm", (const char *const[]){
		"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL }));
	json_object_array_add(a, mount("/dev/mqueue", "mqueue", "mqueue", (const char *const[]){
		"nosuid", "noexec", "nodev", NULL }));
	json_object_array_add(a, mount("/sys", "sysfs", "sysfs", (const char *const[]){
		"nosuid", "noexec", "nodev", "ro", NULL }));
	json_object_array_add(a, mount("/sys/fs/cgroup", "cgroup", "cgroup", (const char *const[]){
		"nosuid", "noexec", "nodev", "relatime", "ro", NULL }));
	json_object_object_add(s, "mounts", a);
	l = json_object_new_object();
	o = json_object_new_object();
	json_object_object_add(o, "allow", json_object_new_boolean(0));
	json_object_object_add(o, "access", json_object_new_string("rwm"));
	a = json_object_new_array();
	json_object_array_add(a, o);
	o = json_object_new_object();
	json_object_object_add(o, "devices", a);
	json_object_object_add(l, "resources", o);
	a = json_object_new_array();
	for (const char *const *t = ns; *t; t++) {
		o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string(*t));
		json_object_array_add(a, o);
	}
	json_object_object_add(l, "namespaces", a);
	json_object_object_add(l, "maskedPaths", strings(masked));
	json_object_object_add(l, "readonlyPaths", strings(ro));
	json_object_object_add(s, "linux", l);
	return s;
}

int cmd_spec(struct kx_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "rootless", no_argument, NULL, 'R' },
		{ 0 }
	};
	const char *bundle = ".", *text;
	char path[4200];
	json_object *s;
	int c, fd;
	size_t n;

	(void)cfg;
	while ((c = getopt_cmd(argc, argv, "+b:", opts)) != -1) {
		/* runc's rootless spec has no network namespace: create would refuse it */
		if (c == 'R')
			return fail("spec --rootless: a rootless spec shares the host's network "
				    "namespace, which a container in a VM cannot (write a spec and "
				    "add linux.uidMappings and gidMappings to it)");
		if (c != 'b')
			return 1;
		bundle = optarg;
	}
	if (optind != argc)
		return fail("usage: spec [--bundle DIR]");
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST)
		return fail("File %s exists. Remove it first", path);	/* runc's words */
	if (fd < 0)
		return fail("create %s: %m", path);
	s = default_spec();
	text = json_object_to_json_string_ext(s, JSON_C_TO_STRING_PRETTY |
						 JSON_C_TO_STRING_PRETTY_TAB |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n || write(fd, "\n", 1) != 1 || close(fd)) {
		json_object_put(s);
		unlink(path);
		return fail("write %s: %m", path);
	}
	json_object_put(s);
	return 0;
}
