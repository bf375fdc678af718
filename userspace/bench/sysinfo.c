// SPDX-License-Identifier: GPL-2.0
/* The host, the runtime's accelerator and options, the busybox bundles. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static void cpu_model(char *buf, size_t len)
{
	char *info = kb_read_file("/proc/cpuinfo", 1 << 20), *p, *e;

	snprintf(buf, len, "unknown");
	if (!info)
		return;
	p = strstr(info, "model name");
	if (p && (p = strchr(p, ':'))) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		e = strchr(p, '\n');
		if (e)
			*e = 0;
		snprintf(buf, len, "%s", p);
	}
	free(info);
}

static void date_utc(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_object *kb_host_json(void)
{
	json_object *h = json_object_new_object();
	struct utsname u;
	char cpu[256], date[64];

	uname(&u);
	cpu_model(cpu, sizeof(cpu));
	date_utc(date, sizeof(date));
	json_object_object_add(h, "kernel", json_object_new_string(u.release));
	json_object_object_add(h, "nproc", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(h, "cpu", json_object_new_string(cpu));
	json_object_object_add(h, "date", json_object_new_string(date));
	return h;
}

void kb_host_line(char *buf, size_t len)
{
	struct utsname u;
	char cpu[256];

	uname(&u);
	cpu_model(cpu, sizeof(cpu));
	snprintf(buf, len, "%s, %ld cores, Linux %s", cpu, sysconf(_SC_NPROCESSORS_ONLN),
		 u.release);
}

/* the value of "KEY:   value" in `katasbx-runtime check` */
static bool check_field(const char *out, const char *key, char *buf, size_t len)
{
	const char *p = out;
	size_t kl = strlen(key);

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			const char *v = p + kl + 1, *e;

			while (*v == ' ')
				v++;
			e = strchr(v, '\n');
			snprintf(buf, len, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

/*
 * Does the runtime know this global flag? Older ones said "unrecognized
 * option" (getopt's words), newer ones "is not one of its flags".
 */
static bool knows(struct kb_ctx *c, char *const argv[])
{
	char errf[400];
	struct kb_result r;
	bool yes = false;

	snprintf(errf, sizeof(errf), "%s/probe.err", c->tmp);
	if (kb_spawn(argv, NULL, errf, 60, &r) == 0) {
		char *e = kb_read_file(errf, 65536);

		yes = r.status == 0 || !(e && (strstr(e, "unrecognized option") ||
					       strstr(e, "unknown option") ||
					       strstr(e, "is not one of its flags")));
		free(e);
	}
	unlink(errf);
	return yes;
}

/*
 * `check` for the accelerator; `--template off check` and `--warm off check`
 * tell whether this runtime knows those flags (the warm pool came with --warm).
 */
void kb_probe_runtime(struct kb_ctx *c)
{
	char *argv[] = { c->runtime, "--root", c->root, "check", NULL };
	char *argt[] = { c->runtime, "--template", "off", "--root", c->root, "check", NULL };
	char *argw[] = { c->runtime, "--warm", "off", "--root", c->root, "check", NULL };
	char *out;
	int st = -1;

	snprintf(c->accel, sizeof(c->accel), "unknown");
	out = kb_capture(argv, &st);
	if (out && check_field(out, "accelerator", c->accel_detail, sizeof(c->accel_detail))) {
		snprintf(c->accel, sizeof(c->accel), "%.*s",
			 (int)strcspn(c->accel_detail, " ("), c->accel_detail);
	}
	if (out && !check_field(out, "template", c->template_backend, sizeof(c->template_backend)))
		check_field(out, "/dev/katasbx", c->template_backend, sizeof(c->template_backend));
	free(out);

	c->template_flag = knows(c, argt);
	c->warm_flag = c->template_flag && knows(c, argw);
}

int kb_copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			n = -1;
			break;
		}
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

static const char *find_busybox(void)
{
	static char path[4096];
	const char *env = getenv("PATH");
	char *dirs, *d, *save = NULL;

	if (!env)
		env = "/usr/bin:/bin";
	dirs = strdup(env);
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/busybox", d);
		if (access(path, X_OK) == 0) {
			free(dirs);
			return path;
		}
	}
	free(dirs);
	return access("/bin/busybox", X_OK) == 0 ? "/bin/busybox" : NULL;
}

/*
 * The bundle selftests/lib/mkbundle.sh makes: busybox rootfs, args_json as
 * process.args. With netns, linux.namespaces also has the network namespace
 * of that path (what a CNI-made pod's bundle has); without, no network entry,
 * as the bench's bundles always had, so that the plain modes measure what
 * they measured before the -net modes came.
 */
int kb_make_bundle(const char *dir, const char *args_json, const char *netns)
{
	static const char *subdirs[] = { "", "/rootfs", "/rootfs/bin", "/rootfs/proc",
					 "/rootfs/sys", "/rootfs/dev", "/rootfs/tmp",
					 "/rootfs/etc", "/rootfs/root" };
	const char *bb = find_busybox();
	char path[4096], *list, *name, *save = NULL;
	char *argv[] = { (char *)bb, "--list", NULL };
	FILE *f;

	if (!bb) {
		fprintf(stderr, "katasbx-bench: busybox not found (Debian package busybox-static)\n");
		return -1;
	}
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, subdirs[i]);
		if (mkdir(path, 0755) && errno != EEXIST)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/rootfs/bin/busybox", dir);
	if (kb_copy_file(bb, path, 0755))
		return -1;
	list = kb_capture(argv, NULL);
	for (name = list ? strtok_r(list, "\n", &save) : NULL; name;
	     name = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(name, "busybox") || strchr(name, '/'))
			continue;
		snprintf(path, sizeof(path), "%s/rootfs/bin/%s", dir, name);
		if (symlink("busybox", path) && errno != EEXIST)
			break;
	}
	free(list);
	snprintf(path, sizeof(path), "%s/rootfs/etc/passwd", dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fputs("root:x:0:0:root:/root:/bin/sh\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/rootfs/etc/group", dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fputs("root:x:0:\n", f);
	fclose(f);
	return kb_bundle_config(dir, args_json, netns);
}

int kb_bundle_config(const char *dir, const char *args_json, const char *netns)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fprintf(f,
		"{\n"
		"\t\"ociVersion\": \"1.0.2\",\n"
		"\t\"process\": {\n"
		"\t\t\"terminal\": false,\n"
		"\t\t\"user\": { \"uid\": 0, \"gid\": 0 },\n"
		"\t\t\"args\": [ %s ],\n"
		"\t\t\"env\": [ \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\" ],\n"
		"\t\t\"cwd\": \"/\"\n"
		"\t},\n"
		"\t\"root\": { \"path\": \"rootfs\", \"readonly\": false },\n"
		"\t\"hostname\": \"katasbx\",\n"
		"\t\"mounts\": [\n"
		"\t\t{ \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\" },\n"
		"\t\t{ \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
		"\t\t  \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] },\n"
		"\t\t{ \"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
		"\t\t  \"options\": [ \"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\" ] },\n"
		"\t\t{ \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\",\n"
		"\t\t  \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\" ] },\n"
		"\t\t{ \"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\",\n"
		"\t\t  \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"ro\" ] }\n"
		"\t],\n"
		"\t\"linux\": { \"namespaces\": [ { \"type\": \"pid\" }, %s%s%s{ \"type\": \"ipc\" },\n"
		"\t\t{ \"type\": \"uts\" }, { \"type\": \"mount\" } ] }\n"
		"}\n", args_json, netns ? "{ \"type\": \"network\", \"path\": \"" : "",
		netns ? netns : "", netns ? "\" }, " : "");
	return fclose(f) ? -1 : 0;
}
