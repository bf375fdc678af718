// SPDX-License-Identifier: GPL-2.0
/* config.json parsing: the default `runc spec`, and each bad input naming its field. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "oci.h"
#include "vmsize.h"

/* `runc spec` (runc 1.1), verbatim. */
static const char runc_spec[] =
	"{\n"
	"\t\"ociVersion\": \"1.0.2-dev\",\n"
	"\t\"process\": {\n"
	"\t\t\"terminal\": true,\n"
	"\t\t\"user\": {\n"
	"\t\t\t\"uid\": 0,\n"
	"\t\t\t\"gid\": 0\n"
	"\t\t},\n"
	"\t\t\"args\": [\n"
	"\t\t\t\"sh\"\n"
	"\t\t],\n"
	"\t\t\"env\": [\n"
	"\t\t\t\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\n"
	"\t\t\t\"TERM=xterm\"\n"
	"\t\t],\n"
	"\t\t\"cwd\": \"/\",\n"
	"\t\t\"capabilities\": {\n"
	"\t\t\t\"bounding\": [\n"
	"\t\t\t\t\"CAP_AUDIT_WRITE\",\n"
	"\t\t\t\t\"CAP_KILL\",\n"
	"\t\t\t\t\"CAP_NET_BIND_SERVICE\"\n"
	"\t\t\t],\n"
	"\t\t\t\"effective\": [\n"
	"\t\t\t\t\"CAP_AUDIT_WRITE\",\n"
	"\t\t\t\t\"CAP_KILL\",\n"
	"\t\t\t\t\"CAP_NET_BIND_SERVICE\"\n"
	"\t\t\t],\n"
	"\t\t\t\"permitted\": [\n"
	"\t\t\t\t\"CAP_AUDIT_WRITE\",\n"
	"\t\t\t\t\"CAP_KILL\",\n"
	"\t\t\t\t\"CAP_NET_BIND_SERVICE\"\n"
	"\t\t\t],\n"
	"\t\t\t\"ambient\": [\n"
	"\t\t\t\t\"CAP_AUDIT_WRITE\",\n"
	"\t\t\t\t\"CAP_KILL\",\n"
	"\t\t\t\t\"CAP_NET_BIND_SERVICE\"\n"
	"\t\t\t]\n"
	"\t\t},\n"
	"\t\t\"rlimits\": [\n"
	"\t\t\t{\n"
	"\t\t\t\t\"type\": \"RLIMIT_NOFILE\",\n"
	"\t\t\t\t\"hard\": 1024,\n"
	"\t\t\t\t\"soft\": 1024\n"
	"\t\t\t}\n"
	"\t\t],\n"
	"\t\t\"noNewPrivileges\": true\n"
	"\t},\n"
	"\t\"root\": {\n"
	"\t\t\"path\": \"rootfs\",\n"
	"\t\t\"readonly\": true\n"
	"\t},\n"
	"\t\"hostname\": \"runc\",\n"
	"\t\"mounts\": [\n"
	"\t\t{\n"
	"\t\t\t\"destination\": \"/proc\",\n"
	"\t\t\t\"type\": \"proc\",\n"
	"\t\t\t\"source\": \"proc\"\n"
	"\t\t},\n"
	"\t\t{\n"
	"\t\t\t\"destination\": \"/dev\",\n"
	"\t\t\t\"type\": \"tmpfs\",\n"
	"\t\t\t\"source\": \"tmpfs\",\n"
	"\t\t\t\"options\": [\n"
	"\t\t\t\t\"nosuid\",\n"
	"\t\t\t\t\"strictatime\",\n"
	"\t\t\t\t\"mode=755\",\n"
	"\t\t\t\t\"size=65536k\"\n"
	"\t\t\t]\n"
	"\t\t},\n"
	"\t\t{\n"
	"\t\t\t\"destination\": \"/dev/pts\",\n"
	"\t\t\t\"type\": \"devpts\",\n"
	"\t\t\t\"source\": \"devpts\",\n"
	"\t\t\t\"options\": [\n"
	"\t\t\t\t\"nosuid\",\n"
	"\t\t\t\t\"noexec\",\n"
	"\t\t\t\t\"newinstance\",\n"
	"\t\t\t\t\"ptmxmode=0666\",\n"
	"\t\t\t\t\"mode=0620\",\n"
	"\t\t\t\t\"gid=5\"\n"
	"\t\t\t]\n"
	"\t\t},\n"
	"\t\t{\n"
	"\t\t\t\"destination\": \"/dev/shm\",\n"
	"\t\t\t\"type\": \"tmpfs\",\n"
	"\t\t\t\"source\": \"shm\",\n"
	"\t\t\t\"options\": [\n"
	"\t\t\t\t\"nosuid\",\n"
	"\t\t\t\t\"noexec\",\n"
	"\t\t\t\t\"nodev\",\n"
	"\t\t\t\t\"mode=1777\",\n"
	"\t\t\t\t\"size=65536k\"\n"
	"\t\t\t]\n"
	"\t\t},\n"
	"\t\t{\n"
	"\t\t\t\"destination\": \"/dev/mqueue\",\n"
	"\t\t\t\"type\": \"mqueue\",\n"
	"\t\t\t\"source\": \"mqueue\",\n"
	"\t\t\t\"options\": [\n"
	"\t\t\t\t\"nosuid\",\n"
	"\t\t\t\t\"noexec\",\n"
	"\t\t\t\t\"nodev\"\n"
	"\t\t\t]\n"
	"\t\t},\n"
	"\t\t{\n"
	"\t\t\t\"destination\": \"/sys\",\n"
	"\t\t\t\"type\": \"sysfs\",\n"
	"\t\t\t\"source\": \"sysfs\",\n"
	"\t\t\t\"options\": [\n"
	"\t\t\t\t\"nosuid\",\n"
	"\t\t\t\t\"noexec\",\n"
	"\t\t\t\t\"nodev\",\n"
	"\t\t\t\t\"ro\"\n"
	"\t\t\t]\n"
	"\t\t},\n"
	"\t\t{\n"
	"\t\t\t\"destination\": \"/sys/fs/cgroup\",\n"
	"\t\t\t\"type\": \"cgroup\",\n"
	"\t\t\t\"source\": \"cgroup\",\n"
	"\t\t\t\"options\": [\n"
	"\t\t\t\t\"nosuid\",\n"
	"\t\t\t\t\"noexec\",\n"
	"\t\t\t\t\"nodev\",\n"
	"\t\t\t\t\"relatime\",\n"
	"\t\t\t\t\"ro\"\n"
	"\t\t\t]\n"
	"\t\t}\n"
	"\t],\n"
	"\t\"linux\": {\n"
	"\t\t\"resources\": {\n"
	"\t\t\t\"devices\": [\n"
	"\t\t\t\t{\n"
	"\t\t\t\t\t\"allow\": false,\n"
	"\t\t\t\t\t\"access\": \"rwm\"\n"
	"\t\t\t\t}\n"
	"\t\t\t]\n"
	"\t\t},\n"
	"\t\t\"namespaces\": [\n"
	"\t\t\t{\n"
	"\t\t\t\t\"type\": \"pid\"\n"
	"\t\t\t},\n"
	"\t\t\t{\n"
	"\t\t\t\t\"type\": \"network\"\n"
	"\t\t\t},\n"
	"\t\t\t{\n"
	"\t\t\t\t\"type\": \"ipc\"\n"
	"\t\t\t},\n"
	"\t\t\t{\n"
	"\t\t\t\t\"type\": \"uts\"\n"
	"\t\t\t},\n"
	"\t\t\t{\n"
	"\t\t\t\t\"type\": \"mount\"\n"
	"\t\t\t},\n"
	"\t\t\t{\n"
	"\t\t\t\t\"type\": \"cgroup\"\n"
	"\t\t\t}\n"
	"\t\t],\n"
	"\t\t\"maskedPaths\": [\n"
	"\t\t\t\"/proc/acpi\",\n"
	"\t\t\t\"/proc/asound\",\n"
	"\t\t\t\"/proc/kcore\",\n"
	"\t\t\t\"/proc/keys\",\n"
	"\t\t\t\"/proc/latency_stats\",\n"
	"\t\t\t\"/proc/timer_list\",\n"
	"\t\t\t\"/proc/timer_stats\",\n"
	"\t\t\t\"/proc/sched_debug\",\n"
	"\t\t\t\"/sys/firmware\",\n"
	"\t\t\t\"/proc/scsi\"\n"
	"\t\t],\n"
	"\t\t\"readonlyPaths\": [\n"
	"\t\t\t\"/proc/bus\",\n"
	"\t\t\t\"/proc/fs\",\n"
	"\t\t\t\"/proc/irq\",\n"
	"\t\t\t\"/proc/sys\",\n"
	"\t\t\t\"/proc/sysrq-trigger\"\n"
	"\t\t]\n"
	"\t}\n"
	"}\n";

/* A minimal valid config with PROC inside "process" and EXTRA top-level members. */
#define CFG(extra, proc)                                                            \
	"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"}," extra           \
	"\"process\":{" proc "}}"
#define PROC "\"args\":[\"sh\"],\"cwd\":\"/\""

static char bundle[PATH_MAX];

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int group_setup(void **state)
{
	char path[PATH_MAX + 16];

	snprintf(bundle, sizeof(bundle), "/tmp/katasbx-test-oci.XXXXXX");
	if (!mkdtemp(bundle))
		return -1;
	snprintf(path, sizeof(path), "%s/rootfs", bundle);
	if (mkdir(path, 0755))
		return -1;
	snprintf(path, sizeof(path), "%s/empty", bundle);
	if (mkdir(path, 0755))
		return -1;
	if (write_file(bundle, "config.json", runc_spec) || write_file(bundle, "afile", "x"))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", bundle);
	return system(cmd) ? -1 : 0;
}

static void check_runc_spec(const struct kx_spec *s)
{
	const Katasbx__Agent__V1__Process *p = s->process;
	uint64_t caps = 1ull << 29 | 1ull << 5 | 1ull << 10;
	char root[PATH_MAX + 16], *real = realpath(bundle, NULL);

	assert_non_null(real);
	snprintf(root, sizeof(root), "%s/rootfs", real);
	assert_string_equal(s->bundle, real);
	free(real);
	assert_string_equal(s->oci_version, "1.0.2-dev");
	assert_string_equal(s->root_path, root);
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "runc");

	assert_non_null(p);
	assert_int_equal(p->n_args, 1);
	assert_string_equal(p->args[0], "sh");
	assert_int_equal(p->n_env, 2);
	assert_string_equal(p->env[1], "TERM=xterm");
	assert_string_equal(p->cwd, "/");
	assert_true(p->terminal);
	assert_true(p->no_new_privileges);
	assert_non_null(p->user);
	assert_int_equal(p->user->uid, 0);
	assert_int_equal(p->user->gid, 0);
	assert_int_equal(p->user->n_additional_gids, 0);
	assert_false(p->user->has_umask);
	assert_int_equal(p->n_rlimits, 1);
	assert_int_equal(p->rlimits[0]->resource, 7);	/* RLIMIT_NOFILE */
	assert_int_equal(p->rlimits[0]->soft, 1024);
	assert_int_equal(p->rlimits[0]->hard, 1024);
	assert_non_null(p->capabilities);
	assert_int_equal(p->capabilities->bounding, caps);
	assert_int_equal(p->capabilities->effective, caps);
	assert_int_equal(p->capabilities->permitted, caps);
	assert_int_equal(p->capabilities->ambient, caps);
	assert_int_equal(p->capabilities->inheritable, 0);

	assert_int_equal(s->n_mounts, 7);
	assert_int_equal(s->n_binds, 0);
	assert_string_equal(s->mounts[0]->destination, "/proc");
	assert_string_equal(s->mounts[0]->type, "proc");
	assert_int_equal(s->mounts[0]->n_options, 0);
	assert_string_equal(s->mounts[2]->type, "devpts");
	assert_int_equal(s->mounts[2]->n_options, 6);
	assert_string_equal(s->mounts[2]->options[3], "ptmxmode=0666");
	assert_string_equal(s->mounts[3]->source, "shm");
	assert_string_equal(s->mounts[6]->destination, "/sys/fs/cgroup");
	assert_int_equal(s->n_masked_paths, 10);
	assert_string_equal(s->masked_paths[9], "/proc/scsi");
	assert_int_equal(s->n_readonly_paths, 5);
	assert_string_equal(s->readonly_paths[4], "/proc/sysrq-trigger");
	assert_string_equal(s->annotations_json, "{}");
}

static void test_process_parse(void **state)
{
	Katasbx__Agent__V1__Process *p;
	struct kx_err err;

	assert_int_equal(kx_process_parse("{\"args\": [\"sh\", \"-c\", \"exit 3\"], "
					  "\"env\": [\"PATH=/bin\"], \"cwd\": \"/\", "
					  "\"user\": {\"uid\": 5, \"gid\": 6}}", &p, NULL, &err), 0);
	assert_int_equal(p->n_args, 3);
	assert_string_equal(p->args[2], "exit 3");
	assert_int_equal(p->n_env, 1);
	assert_string_equal(p->cwd, "/");
	assert_int_equal(p->user->uid, 5);
	assert_int_equal(p->user->gid, 6);
	assert_false(p->terminal);
	katasbx__agent__v1__process__free_unpacked(p, NULL);

	assert_int_equal(kx_process_parse("{\"args\": [], \"cwd\": \"/\"}", &p, NULL, &err), -1);
	assert_null(p);
	assert_non_null(strstr(err.msg, "process.args"));
	assert_int_equal(kx_process_parse("{\"args\": [\"x\"], \"cwd\": \"rel\"}", &p, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "process.cwd"));
	assert_int_equal(kx_process_parse("{\"args\": [\"x\"]", &p, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "invalid JSON"));
	assert_int_equal(kx_process_parse("[1]", &p, NULL, &err), -1);
}

/* Unknown capability names are left out and listed once each, as runc warns of them. */
static void test_unknown_caps(void **state)
{
	Katasbx__Agent__V1__Process *p;
	struct kx_err err = { 0 };
	char unknown[256] = "x";
	struct kx_spec s;

	assert_int_equal(kx_spec_parse(CFG("", PROC ",\"capabilities\":{"
					   "\"bounding\":[\"CAP_KILL\",\"CAP_FOO\"],"
					   "\"effective\":[\"CAP_FOO\",\"CAP_BAR\",\"CAP_FO\"]}"),
				       bundle, &s, &err), 0);
	assert_string_equal(s.unknown_caps, "CAP_FOO CAP_BAR CAP_FO");
	assert_int_equal(s.process->capabilities->bounding, 1ull << 5);	/* CAP_KILL */
	assert_int_equal(s.process->capabilities->effective, 0);
	kx_spec_free(&s);
	assert_int_equal(kx_spec_parse(CFG("", PROC), bundle, &s, &err), 0);
	assert_string_equal(s.unknown_caps, "");
	kx_spec_free(&s);
	assert_int_equal(kx_process_parse("{\"args\": [\"x\"], \"cwd\": \"/\", \"capabilities\": "
					  "{\"ambient\": [\"CAP_NEW\"]}}", &p, unknown, &err), 0);
	assert_string_equal(unknown, "CAP_NEW");
	katasbx__agent__v1__process__free_unpacked(p, NULL);
	/* an empty name after an unknown one (fuzz_oci found it looping for ever) */
	assert_int_equal(kx_process_parse("{\"args\": [\"x\"], \"cwd\": \"/\", \"capabilities\": "
					  "{\"ambient\": [\"CAP_NEW\", \"\"]}}", &p, unknown, &err), 0);
	assert_string_equal(unknown, "CAP_NEW");
	katasbx__agent__v1__process__free_unpacked(p, NULL);
}

/* The request both fronts send: what the spec says, and the namespaces it lacks. */
static void test_create_request(void **state)
{
	Katasbx__Agent__V1__CreateContainerRequest cr =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	struct kx_err err = { 0 };
	struct kx_spec s;

	assert_int_equal(kx_spec_parse(CFG("\"hostname\":\"h\",\"linux\":{\"namespaces\":"
					   "[{\"type\":\"uts\"},{\"type\":\"mount\"}]},", PROC),
				       bundle, &s, &err), 0);
	kx_spec_create_request(&s, &cr);
	assert_ptr_equal(cr.process, s.process);
	assert_string_equal(cr.hostname, "h");
	assert_true(cr.guest_pid);
	assert_true(cr.guest_ipc);
	assert_false(cr.guest_uts);
	kx_spec_free(&s);
	assert_int_equal(kx_spec_parse(runc_spec, bundle, &s, &err), 0);
	kx_spec_create_request(&s, &cr);
	assert_false(cr.guest_pid || cr.guest_ipc || cr.guest_uts);
	assert_int_equal(cr.n_mounts, s.n_mounts);
	kx_spec_free(&s);
}

static void test_runc_spec_parse(void **state)
{
	struct kx_err err = { 0 };
	struct kx_spec s;

	assert_int_equal(kx_spec_parse(runc_spec, bundle, &s, &err), 0);
	check_runc_spec(&s);
	kx_spec_free(&s);
	assert_null(s.process);
}

static void test_runc_spec_load(void **state)
{
	struct kx_err err = { 0 };
	char rel[PATH_MAX + 16];
	struct kx_spec s;

	/* A bundle path with a trailing slash and "." is canonicalised. */
	snprintf(rel, sizeof(rel), "%s/./", bundle);
	assert_int_equal(kx_spec_load(rel, &s, &err), 0);
	check_runc_spec(&s);
	kx_spec_free(&s);
}

static void test_load_errors(void **state)
{
	struct kx_err err = { 0 };
	char path[PATH_MAX + 16];
	struct kx_spec s;

	assert_int_equal(kx_spec_load("/nonexistent/katasbx", &s, &err), -1);
	assert_string_equal(err.msg, "bundle /nonexistent/katasbx does not exist");

	snprintf(path, sizeof(path), "%s/afile", bundle);
	assert_int_equal(kx_spec_load(path, &s, &err), -1);
	assert_non_null(strstr(err.msg, "not a directory"));

	snprintf(path, sizeof(path), "%s/empty", bundle);
	assert_int_equal(kx_spec_load(path, &s, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "no config.json"));

	/* config.json that cannot be read: a directory in its place. */
	snprintf(path, sizeof(path), "%s/empty/config.json", bundle);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/empty", bundle);
	assert_int_equal(kx_spec_load(path, &s, &err), -1);
	assert_non_null(strstr(err.msg, "empty/config.json"));
	snprintf(path, sizeof(path), "%s/empty/config.json", bundle);
	rmdir(path);
}

static void test_optional_fields(void **state)
{
	static const char cfg[] = CFG(
		"\"hostname\":null,\"unknownField\":[1,2],"
		"\"annotations\":{\"io.katasbx.x\":\"1\",\"b\":\"two\"},"
		"\"mounts\":[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/etc\"},"
		"{\"destination\":\"/etc/hosts\",\"source\":\"/etc/hosts\",\"options\":[\"rbind\",\"ro\"]},"
		"{\"destination\":\"/run\",\"type\":\"tmpfs\"},"
		"{\"destination\":\"/x\",\"type\":\"none\",\"source\":\"afile\",\"options\":[\"bind\"]}],",
		PROC ",\"user\":{\"uid\":1000,\"gid\":100,\"additionalGids\":[10,4294967295],"
		"\"umask\":18},\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":0,"
		"\"hard\":18446744073709551615}],\"capabilities\":{\"inheritable\":[]},"
		"\"env\":[\"A==b\",\"EMPTY=\"]");
	struct kx_err err = { 0 };
	struct kx_spec s;

	assert_int_equal(kx_spec_parse(cfg, bundle, &s, &err), 0);
	assert_null(s.hostname);
	assert_false(s.root_readonly);
	assert_false(s.process->terminal);
	assert_int_equal(s.process->user->uid, 1000);
	assert_int_equal(s.process->user->gid, 100);
	assert_int_equal(s.process->user->n_additional_gids, 2);
	assert_int_equal(s.process->user->additional_gids[1], UINT32_MAX);
	assert_true(s.process->user->has_umask);
	assert_int_equal(s.process->user->umask, 022);
	assert_int_equal(s.process->rlimits[0]->resource, 4);	/* RLIMIT_CORE */
	assert_true(s.process->rlimits[0]->hard == UINT64_MAX);
	assert_non_null(s.process->capabilities);
	assert_int_equal(s.process->capabilities->bounding, 0);
	/* bind mounts of host paths stay, in order, their sources absolute */
	assert_int_equal(s.n_mounts, 4);
	assert_int_equal(s.n_binds, 3);
	assert_string_equal(s.mounts[0]->destination, "/data");
	assert_string_equal(s.mounts[0]->type, "bind");
	assert_string_equal(s.mounts[0]->source, "/etc");
	assert_string_equal(s.mounts[0]->share_source, "");
	assert_string_equal(s.mounts[1]->type, "bind");	/* no type: a bind by its options */
	assert_true(kx_mount_is_bind(s.mounts[1]));
	assert_string_equal(s.mounts[2]->destination, "/run");
	assert_string_equal(s.mounts[2]->source, "tmpfs");
	assert_false(kx_mount_is_bind(s.mounts[2]));
	assert_string_equal(s.mounts[3]->type, "none");
	assert_true(kx_mount_is_bind(s.mounts[3]));
	{
		char abs[PATH_MAX + 16], *real = realpath(bundle, NULL);

		snprintf(abs, sizeof(abs), "%s/afile", real);	/* relative: the bundle's */
		assert_string_equal(s.mounts[3]->source, abs);
		free(real);
	}
	assert_int_equal(s.n_masked_paths, 0);
	assert_string_equal(s.annotations_json, "{\"io.katasbx.x\":\"1\",\"b\":\"two\"}");
	kx_spec_free(&s);

	/* No user: uid 0, gid 0; no capabilities: left as they are. */
	assert_int_equal(kx_spec_parse(CFG("", PROC), bundle, &s, &err), 0);
	assert_int_equal(s.process->user->uid, 0);
	assert_null(s.process->capabilities);
	assert_int_equal(s.n_mounts, 0);
	kx_spec_free(&s);
}

static void test_seccomp(void **state)
{
	static const char cfg[] = CFG(
		"\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
		"\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_AARCH64\"],"
		"\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
		"\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		"{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"},"
		"{\"index\":1,\"value\":18446744073709551615,\"valueTwo\":4,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
		"{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}},",
		PROC);
	struct kx_err err = { 0 };
	struct kx_spec s;
	Katasbx__Agent__V1__Seccomp *sc;

	(void)state;
	assert_int_equal(kx_spec_parse(cfg, bundle, &s, &err), 0);
	sc = s.seccomp;
	assert_non_null(sc);
	assert_string_equal(sc->default_action, "SCMP_ACT_ERRNO");
	assert_true(sc->has_default_errno_ret);
	assert_int_equal(sc->default_errno_ret, 1);
	assert_int_equal(sc->n_architectures, 2);
	assert_int_equal(sc->n_syscalls, 3);
	assert_int_equal(sc->syscalls[0]->n_names, 2);
	assert_string_equal(sc->syscalls[0]->names[1], "write");
	assert_false(sc->syscalls[0]->has_errno_ret);
	assert_int_equal(sc->syscalls[1]->n_args, 2);
	assert_int_equal(sc->syscalls[1]->args[0]->value, 8);
	assert_true(sc->syscalls[1]->args[1]->value == UINT64_MAX);
	assert_int_equal(sc->syscalls[1]->args[1]->value_two, 4);
	assert_string_equal(sc->syscalls[1]->args[1]->op, "SCMP_CMP_MASKED_EQ");
	assert_true(sc->syscalls[2]->has_errno_ret);
	assert_int_equal(sc->syscalls[2]->errno_ret, 38);
	kx_spec_free(&s);

	/* none: no filter */
	assert_int_equal(kx_spec_parse(CFG("", PROC), bundle, &s, &err), 0);
	assert_null(s.seccomp);
	kx_spec_free(&s);
}

/* linux.namespaces: which name an existing namespace by path (a pod's sandbox's) */
static void test_namespace_paths(void **state)
{
	static const char cfg[] = CFG(
		"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/proc/9/ns/net\"},"
		"{\"type\":\"ipc\",\"path\":\"/proc/9/ns/ipc\"},{\"type\":\"uts\",\"path\":\"/proc/9/ns/uts\"},"
		"{\"type\":\"mount\"},{\"type\":\"cgroup\",\"path\":\"\"}]},", PROC);
	struct kx_err err = { 0 };
	struct kx_spec s;

	(void)state;
	assert_int_equal(kx_spec_parse(cfg, bundle, &s, &err), 0);
	assert_int_equal(s.ns_paths, KX_NS_NET | KX_NS_IPC | KX_NS_UTS);
	assert_int_equal(s.net_ns_index, 1);
	assert_string_equal(s.net_ns_path, "/proc/9/ns/net");
	kx_spec_free(&s);
}

/* linux.namespaces' network entry: none (the host's), a new one, or one named by path */
static void test_network_namespace(void **state)
{
	static const char none[] = CFG("\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]},", PROC);
	static const char fresh[] = CFG(
		"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"}]},", PROC);
	static const char twice[] = CFG(
		"\"linux\":{\"namespaces\":[{\"type\":\"network\"},{\"type\":\"network\"}]},",
		PROC);
	static const char relative[] = CFG(
		"\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"run/netns/x\"}]},",
		PROC);
	struct kx_err err = { 0 };
	struct kx_spec s;

	(void)state;
	assert_int_equal(kx_spec_parse(none, bundle, &s, &err), 0);
	assert_int_equal(s.net_ns_index, -1);
	assert_null(s.net_ns_path);
	kx_spec_free(&s);
	assert_int_equal(kx_spec_parse(CFG("", PROC), bundle, &s, &err), 0);
	assert_int_equal(s.net_ns_index, -1);
	kx_spec_free(&s);
	assert_int_equal(kx_spec_parse(fresh, bundle, &s, &err), 0);
	assert_int_equal(s.net_ns_index, 1);
	assert_null(s.net_ns_path);
	assert_int_equal(s.ns_paths & KX_NS_NET, 0);
	kx_spec_free(&s);
	assert_int_equal(kx_spec_parse(twice, bundle, &s, &err), -1);
	assert_non_null(strstr(err.msg, "linux.namespaces[1].type: a second \"network\""));
	assert_int_equal(kx_spec_parse(relative, bundle, &s, &err), -1);
	assert_non_null(strstr(err.msg, "linux.namespaces[0].path: \"run/netns/x\" is not an absolute"));
}

static void test_names(void **state)
{
	assert_int_equal(kx_cap_from_name("CAP_CHOWN"), 0);
	assert_int_equal(kx_cap_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(kx_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	assert_int_equal(kx_cap_from_name("cap_chown"), -1);
	assert_int_equal(kx_cap_from_name("CAP_FOO"), -1);
	assert_int_equal(kx_rlimit_from_name("RLIMIT_NOFILE"), 7);
	assert_int_equal(kx_rlimit_from_name("RLIMIT_RTTIME"), 15);
	assert_int_equal(kx_rlimit_from_name("NOFILE"), -1);
}

/* Bad inputs: each must fail with a message naming the field. */
struct bad {
	const char *name;
	const char *json;
	const char *msg;	/* expected substring, after "config.json: " */
};

static const struct bad bad_cases[] = {
	{ "invalid_json", "{\n\"ociVersion\": \"1\",\n  oops\n}", "invalid JSON at line 3" },
	{ "truncated_json", "{\"ociVersion\": \"1\",\n", "invalid JSON at line 2" },
	{ "trailing_data", "{}\n{}", "invalid JSON at line 2" },
	{ "not_object", "[1]", "must be a JSON object" },
	{ "ociVersion_missing", "{\"root\":{\"path\":\"rootfs\"}}", "ociVersion: is required" },
	{ "ociVersion_type", "{\"ociVersion\":1}", "ociVersion: must be a string" },
	{ "root_missing", "{\"ociVersion\":\"1\",\"process\":{" PROC "}}", "root: is required" },
	{ "root_type", "{\"ociVersion\":\"1\",\"root\":\"rootfs\"}", "root: must be an object" },
	{ "root_path_missing", "{\"ociVersion\":\"1\",\"root\":{}}", "root.path: is required" },
	{ "root_path_type", "{\"ociVersion\":\"1\",\"root\":{\"path\":[]}}",
	  "root.path: must be a string" },
	{ "root_path_absent", "{\"ociVersion\":\"1\",\"root\":{\"path\":\"nope\"}}",
	  "root.path: /tmp/katasbx-test-oci." },
	{ "root_path_file", "{\"ociVersion\":\"1\",\"root\":{\"path\":\"afile\"}}",
	  "afile: not a directory" },
	{ "root_readonly", "{\"ociVersion\":\"1\",\"root\":{\"path\":\"rootfs\",\"readonly\":1}}",
	  "root.readonly: must be a boolean" },
	{ "hostname", CFG("\"hostname\":5,", PROC), "hostname: must be a string" },
	{ "process_missing", "{\"ociVersion\":\"1\",\"root\":{\"path\":\"rootfs\"}}",
	  "process: is required" },
	{ "process_type", "{\"ociVersion\":\"1\",\"root\":{\"path\":\"rootfs\"},\"process\":[]}",
	  "process: must be an object" },
	{ "args_missing", CFG("", "\"cwd\":\"/\""),
	  "process.args: must be a non-empty array of strings" },
	{ "args_empty", CFG("", "\"args\":[],\"cwd\":\"/\""),
	  "process.args: must be a non-empty array of strings" },
	{ "args_string", CFG("", "\"args\":\"sh\",\"cwd\":\"/\""),
	  "process.args: must be a non-empty array of strings" },
	{ "args_elem", CFG("", "\"args\":[\"sh\",7],\"cwd\":\"/\""),
	  "process.args[1]: must be a string" },
	{ "args_nul", CFG("", "\"args\":[\"s\\u0000h\"],\"cwd\":\"/\""),
	  "process.args[0]: must not contain NUL bytes" },
	{ "env_type", CFG("", PROC ",\"env\":{}"), "process.env: must be an array" },
	{ "env_elem", CFG("", PROC ",\"env\":[\"A=1\",\"NOVALUE\"]"),
	  "process.env[1]: must be of the form KEY=VALUE" },
	{ "cwd_missing", CFG("", "\"args\":[\"sh\"]"), "process.cwd: is required" },
	{ "cwd_relative", CFG("", "\"args\":[\"sh\"],\"cwd\":\"tmp\""),
	  "process.cwd: must be an absolute path" },
	{ "terminal", CFG("", PROC ",\"terminal\":\"yes\""), "process.terminal: must be a boolean" },
	{ "noNewPrivileges", CFG("", PROC ",\"noNewPrivileges\":1"),
	  "process.noNewPrivileges: must be a boolean" },
	{ "user_type", CFG("", PROC ",\"user\":0"), "process.user: must be an object" },
	{ "uid_missing", CFG("", PROC ",\"user\":{\"gid\":0}"), "process.user.uid: is required" },
	{ "gid_missing", CFG("", PROC ",\"user\":{\"uid\":0}"), "process.user.gid: is required" },
	{ "uid_string", CFG("", PROC ",\"user\":{\"uid\":\"0\",\"gid\":0}"),
	  "process.user.uid: must be a number" },
	{ "uid_negative", CFG("", PROC ",\"user\":{\"uid\":-1,\"gid\":0}"),
	  "process.user.uid: must not be negative" },
	{ "gid_range", CFG("", PROC ",\"user\":{\"uid\":0,\"gid\":4294967296}"),
	  "process.user.gid: must be at most 4294967295" },
	{ "umask_float", CFG("", PROC ",\"user\":{\"uid\":0,\"gid\":0,\"umask\":1.5}"),
	  "process.user.umask: must be an integer" },
	{ "additionalGids", CFG("", PROC ",\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[1,\"x\"]}"),
	  "process.user.additionalGids[1]: must be a number" },
	{ "rlimits_type", CFG("", PROC ",\"rlimits\":{}"), "process.rlimits: must be an array" },
	{ "rlimit_elem", CFG("", PROC ",\"rlimits\":[1]"), "process.rlimits[0]: must be an object" },
	{ "rlimit_unknown",
	  CFG("", PROC ",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},"
		       "{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]"),
	  "process.rlimits[1].type: unknown rlimit \"RLIMIT_FOO\"" },
	{ "rlimit_type_missing", CFG("", PROC ",\"rlimits\":[{\"soft\":1,\"hard\":1}]"),
	  "process.rlimits[0].type: is required" },
	{ "rlimit_soft_missing", CFG("", PROC ",\"rlimits\":[{\"type\":\"RLIMIT_CPU\",\"hard\":1}]"),
	  "process.rlimits[0].soft: is required" },
	{ "rlimit_hard_type",
	  CFG("", PROC ",\"rlimits\":[{\"type\":\"RLIMIT_CPU\",\"soft\":1,\"hard\":\"1\"}]"),
	  "process.rlimits[0].hard: must be a number" },
	{ "rlimit_soft_above_hard",
	  CFG("", PROC ",\"rlimits\":[{\"type\":\"RLIMIT_CPU\",\"soft\":2,\"hard\":1}]"),
	  "process.rlimits[0].soft: must not exceed hard" },
	{ "caps_type", CFG("", PROC ",\"capabilities\":[]"),
	  "process.capabilities: must be an object" },
	{ "caps_set_type", CFG("", PROC ",\"capabilities\":{\"ambient\":\"CAP_KILL\"}"),
	  "process.capabilities.ambient: must be an array" },
	{ "caps_elem", CFG("", PROC ",\"capabilities\":{\"permitted\":[true]}"),
	  "process.capabilities.permitted[0]: must be a string" },
	{ "hostname_without_uts", CFG("\"hostname\":\"x\",\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]},", PROC),
	  "hostname: unable to set hostname without a private UTS namespace" },
	{ "mounts_type", CFG("\"mounts\":{},", PROC), "mounts: must be an array" },
#define SC(x) CFG("\"linux\":{\"seccomp\":" x "},", PROC)
	{ "seccomp_type", SC("[]"), "linux.seccomp: must be an object" },
	{ "seccomp_default_missing", SC("{}"), "linux.seccomp.defaultAction: is required" },
	{ "seccomp_default_unknown", SC("{\"defaultAction\":\"SCMP_ACT_MAYBE\"}"),
	  "linux.seccomp.defaultAction: SCMP_ACT_MAYBE: unknown action" },
	{ "seccomp_notify", SC("{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}"),
	  "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY: not supported" },
	{ "seccomp_listener", SC("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/x\"}"),
	  "linux.seccomp.listenerPath: not supported" },
	{ "seccomp_errno_ret", SC("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}"),
	  "linux.seccomp.defaultErrnoRet: must not be negative" },
	{ "seccomp_arch", SC("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_Z80\"]}"),
	  "linux.seccomp.architectures[0]: SCMP_ARCH_Z80: unknown architecture" },
	{ "seccomp_names_missing",
	  SC("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_ERRNO\"}]}"),
	  "linux.seccomp.syscalls[0].names: is required" },
	{ "seccomp_action_unknown",
	  SC("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"x\"}]}"),
	  "linux.seccomp.syscalls[0].action: x: unknown action" },
	{ "seccomp_arg_index",
	  SC("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\","
	     "\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}"),
	  "linux.seccomp.syscalls[0].args[0].index: must be 0 to 5" },
	{ "seccomp_arg_op",
	  SC("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\","
	     "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ABOUT\"}]}]}"),
	  "linux.seccomp.syscalls[0].args[0].op: SCMP_CMP_ABOUT: unknown operator" },
#undef SC
	{ "namespaces_type", CFG("\"linux\":{\"namespaces\":{}},", PROC),
	  "linux.namespaces: must be an array" },
	{ "namespace_type_unknown", CFG("\"linux\":{\"namespaces\":[{\"type\":\"pids\"}]},", PROC),
	  "linux.namespaces[0].type: unknown namespace type \"pids\"" },
	{ "namespace_type_missing", CFG("\"linux\":{\"namespaces\":[{\"path\":\"/x\"}]},", PROC),
	  "linux.namespaces[0].type: is required" },
	{ "bind_source_missing", CFG("\"mounts\":[{\"destination\":\"/d\",\"type\":\"bind\"}],", PROC),
	  "mounts[0].source: is required for a bind mount" },
	{ "bind_source_absent",
	  CFG("\"mounts\":[{\"destination\":\"/d\",\"type\":\"bind\",\"source\":\"/nonexistent/x\"}],", PROC),
	  "mounts[0].source: /nonexistent/x: No such file or directory" },
	{ "bind_source_device",
	  CFG("\"mounts\":[{\"destination\":\"/d\",\"source\":\"/dev/null\",\"options\":[\"bind\"]}],", PROC),
	  "mounts[0].source: /dev/null: only a directory or a regular file can be bound" },
	{ "mount_elem", CFG("\"mounts\":[\"/proc\"],", PROC), "mounts[0]: must be an object" },
	{ "mount_destination_missing", CFG("\"mounts\":[{\"type\":\"proc\"}],", PROC),
	  "mounts[0].destination: is required" },
	{ "userns_no_uid_map",
	  CFG("\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"pid\"},{\"type\":\"network\"}]},", PROC),
	  "linux.uidMappings: user namespaces enabled, but no uid mappings found" },
	{ "userns_map_size", CFG("\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":"
				 "[{\"containerID\":0,\"hostID\":4294967295,\"size\":2}]},", PROC),
	  "linux.uidMappings[0].size: 2 ids from 0, as 4294967295 on, do not fit" },
	{ "userns_map_field", CFG("\"linux\":{\"uidMappings\":[{\"containerID\":0,\"size\":2}]},", PROC),
	  "linux.uidMappings[0].hostID: is required" },
	{ "userns_guest_net", CFG("\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"pid\"}],"
				  "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
				  "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]},", PROC),
	  "linux.namespaces: a user namespace needs the container's own pid and network namespaces" },
	{ "mount_destination_empty",
	  CFG("\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\"},"
	      "{\"destination\":\"\",\"type\":\"sysfs\"}],", PROC),
	  "mounts[1].destination: must be an absolute path" },
	{ "mount_type_type", CFG("\"mounts\":[{\"destination\":\"/p\",\"type\":1}],", PROC),
	  "mounts[0].type: must be a string" },
	{ "mount_type_missing", CFG("\"mounts\":[{\"destination\":\"/p\"}],", PROC),
	  "mounts[0].type: is required" },
	{ "mount_type_unsupported",
	  CFG("\"mounts\":[{\"destination\":\"/p\",\"type\":\"nfs\",\"source\":\"h:/x\"}],", PROC),
	  "mounts[0].type: unsupported mount type \"nfs\"" },
	{ "mount_source_type",
	  CFG("\"mounts\":[{\"destination\":\"/p\",\"type\":\"proc\",\"source\":{}}],", PROC),
	  "mounts[0].source: must be a string" },
	{ "mount_options_type",
	  CFG("\"mounts\":[{\"destination\":\"/p\",\"type\":\"proc\",\"options\":\"ro\"}],", PROC),
	  "mounts[0].options: must be an array" },
	{ "mount_options_elem",
	  CFG("\"mounts\":[{\"destination\":\"/p\",\"type\":\"proc\",\"options\":[\"ro\",1]}],",
	      PROC),
	  "mounts[0].options[1]: must be a string" },
	{ "linux_type", CFG("\"linux\":[],", PROC), "linux: must be an object" },
	{ "maskedPaths_type", CFG("\"linux\":{\"maskedPaths\":\"/proc/kcore\"},", PROC),
	  "linux.maskedPaths: must be an array" },
	{ "readonlyPaths_relative", CFG("\"linux\":{\"readonlyPaths\":[\"/proc/sys\",\"proc\"]},", PROC),
	  "linux.readonlyPaths[1]: must be an absolute path" },
	{ "annotations_type", CFG("\"annotations\":[],", PROC), "annotations: must be an object" },
	{ "hooks_type", CFG("\"hooks\":[],", PROC), "hooks: must be an object" },
#define RS(x) CFG("\"linux\":{\"resources\":" x "},", PROC)
	{ "resources_type", RS("[]"), "linux.resources: must be an object" },
	{ "memory_limit_string", RS("{\"memory\":{\"limit\":\"64m\"}}"),
	  "linux.resources.memory.limit: must be a number" },
	{ "memory_limit_negative", RS("{\"memory\":{\"limit\":-2}}"),
	  "linux.resources.memory.limit: must be -1 (no limit) or above" },
	{ "memory_swap_without_limit", RS("{\"memory\":{\"swap\":1048576}}"),
	  "linux.resources.memory.swap: unable to set swap limit without memory limit" },
	{ "memory_swap_below_limit", RS("{\"memory\":{\"limit\":2097152,\"swap\":1048576}}"),
	  "linux.resources.memory.swap: memory+swap limit (1048576) should be >= memory limit" },
	{ "cpu_shares_range", RS("{\"cpu\":{\"shares\":1}}"),
	  "linux.resources.cpu.shares: must be 2 to 262144" },
	{ "cpu_period_range", RS("{\"cpu\":{\"period\":10}}"),
	  "linux.resources.cpu.period: must be 1000 to 1000000" },
	{ "cpu_quota_double", RS("{\"cpu\":{\"quota\":1.5}}"),
	  "linux.resources.cpu.quota: must be an integer" },
	{ "cpu_cpus", RS("{\"cpu\":{\"cpus\":\"0;1\"}}"),
	  "linux.resources.cpu.cpus: \"0;1\" is not a list of numbers and ranges" },
	{ "pids_string", RS("{\"pids\":{\"limit\":\"5\"}}"),
	  "linux.resources.pids.limit: must be a number" },
	{ "unified_file", RS("{\"unified\":{\"cgroup.procs\":\"1\"}}"),
	  "linux.resources.unified.cgroup.procs: not a file of the memory, cpu, cpuset or pids controller" },
	{ "unified_path", RS("{\"unified\":{\"memory.max/../x\":\"1\"}}"),
	  "not a file of the memory, cpu, cpuset or pids controller" },
	{ "unified_value", RS("{\"unified\":{\"memory.high\":5}}"),
	  "linux.resources.unified.memory.high: must be a string" },
	{ "device_allow_missing", RS("{\"devices\":[{\"access\":\"rwm\"}]}"),
	  "linux.resources.devices[0].allow: is required" },
#undef RS
	{ "hooks_kind_type", CFG("\"hooks\":{\"prestart\":{}},", PROC),
	  "hooks.prestart: must be an array" },
	{ "hook_path_missing", CFG("\"hooks\":{\"poststop\":[{\"args\":[\"x\"]}]},", PROC),
	  "hooks.poststop[0].path: is required" },
	{ "hook_path_relative", CFG("\"hooks\":{\"createRuntime\":[{\"path\":\"bin/x\"}]},", PROC),
	  "hooks.createRuntime[0].path: \"bin/x\" is not an absolute path" },
	{ "hook_env", CFG("\"hooks\":{\"poststart\":[{\"path\":\"/x\",\"env\":[\"NOEQ\"]}]},", PROC),
	  "hooks.poststart[0].env[0]: must be of the form KEY=VALUE" },
	{ "hook_timeout_zero", CFG("\"hooks\":{\"prestart\":[{\"path\":\"/x\",\"timeout\":0}]},", PROC),
	  "hooks.prestart[0].timeout: must be greater than zero" },
	{ "hook_timeout_string",
	  CFG("\"hooks\":{\"prestart\":[{\"path\":\"/x\",\"timeout\":\"5\"}]},", PROC),
	  "hooks.prestart[0].timeout: must be a number" },
	{ "annotations_value", CFG("\"annotations\":{\"a\":\"1\",\"b\":2},", PROC),
	  "annotations.b: must be a string" },
};

/* a user namespace: its maps into the request */
static void test_userns(void **state)
{
	Katasbx__Agent__V1__CreateContainerRequest cr =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	struct kx_err err = { 0 };
	struct kx_spec s;

	(void)state;
	assert_int_equal(kx_spec_parse(CFG("\"linux\":{\"namespaces\":[{\"type\":\"user\"},"
					   "{\"type\":\"pid\"},{\"type\":\"network\"}],"
					   "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,"
					   "\"size\":65536}],\"gidMappings\":[{\"containerID\":0,"
					   "\"hostID\":200000,\"size\":10},{\"containerID\":10,"
					   "\"hostID\":5,\"size\":1}]},", PROC), bundle, &s, &err), 0);
	kx_spec_create_request(&s, &cr);
	assert_true(cr.user_ns);
	assert_int_equal(cr.n_uid_mappings, 1);
	assert_int_equal(cr.uid_mappings[0]->host_id, 100000);
	assert_int_equal(cr.uid_mappings[0]->size, 65536);
	assert_int_equal(cr.n_gid_mappings, 2);
	assert_int_equal(cr.gid_mappings[1]->container_id, 10);
	assert_int_equal(cr.gid_mappings[1]->host_id, 5);
	kx_spec_free(&s);
	/* maps without one: taken, as runc takes them, and said */
	assert_int_equal(kx_spec_parse(CFG("\"linux\":{\"gidMappings\":[{\"containerID\":0,"
					   "\"hostID\":1,\"size\":1}]},", PROC), bundle, &s, &err), 0);
	assert_string_equal(s.warnings, "config.json: linux.gidMappings: not applied: "
				       "linux.namespaces has no \"user\" namespace");
	kx_spec_create_request(&s, &cr);
	assert_false(cr.user_ns);
	kx_spec_free(&s);
}

/* runc takes a relative mount destination under /, with a warning */
static void test_mount_relative(void **state)
{
	struct kx_err err = { 0 };
	struct kx_spec s;

	(void)state;
	assert_int_equal(kx_spec_parse(CFG("\"mounts\":[{\"destination\":\"/proc\",\"type\":"
					   "\"proc\"},{\"destination\":\"data/x\",\"type\":"
					   "\"tmpfs\"}],", PROC), bundle, &s, &err), 0);
	assert_string_equal(s.mounts[1]->destination, "/data/x");
	assert_string_equal(s.warnings, "config.json: mounts[1].destination: \"data/x\" is not "
				       "absolute: taken as \"/data/x\" (runc, which does so too, "
				       "will stop taking it)");
	kx_spec_free(&s);
}

static void test_hooks(void **state)
{
	Katasbx__Agent__V1__CreateContainerRequest cr =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	struct kx_err err = { 0 };
	struct kx_spec s;

	(void)state;
	assert_int_equal(kx_spec_parse(CFG("\"hooks\":{"
					   "\"createRuntime\":[{\"path\":\"/a\",\"args\":[\"a\",\"1\"]},"
					   "{\"path\":\"/b\",\"env\":[],\"timeout\":5}],"
					   "\"startContainer\":[{\"path\":\"/c\",\"env\":[\"X=1\"]}],"
					   "\"poststop\":[{\"path\":\"/d\"}],\"later\":[]},", PROC),
				       bundle, &s, &err), 0);
	assert_int_equal(s.n_hooks[KX_HOOK_CREATE_RUNTIME], 2);
	assert_string_equal(s.hooks[KX_HOOK_CREATE_RUNTIME][0]->path, "/a");
	assert_int_equal(s.hooks[KX_HOOK_CREATE_RUNTIME][0]->n_args, 2);
	assert_false(s.hooks[KX_HOOK_CREATE_RUNTIME][0]->env_set);
	/* an empty env is an empty environment, not the runtime's */
	assert_true(s.hooks[KX_HOOK_CREATE_RUNTIME][1]->env_set);
	assert_int_equal(s.hooks[KX_HOOK_CREATE_RUNTIME][1]->timeout, 5);
	assert_int_equal(s.n_hooks[KX_HOOK_PRESTART], 0);
	assert_string_equal(s.poststop_json, "[{\"path\":\"/d\"}]");
	assert_string_equal(s.warnings, "config.json: hooks.later: not a kind of hook, ignored");
	kx_spec_create_request(&s, &cr);
	assert_int_equal(cr.n_start_container_hooks, 1);
	assert_string_equal(cr.start_container_hooks[0]->env[0], "X=1");
	assert_int_equal(cr.n_create_container_hooks, 0);
	kx_spec_free(&s);
	assert_null(s.poststop_json);
}

/* "file=value file=value ..." of s's cgroup writes */
static const char *writes(const struct kx_spec *s, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n_cgroup && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s=%s", i ? " " : "", s->cgroup[i]->file,
			      s->cgroup[i]->value);
	return buf;
}

static void test_resources(void **state)
{
	struct kx_err err = { 0 };
	struct kx_spec s;
	char buf[512];

	(void)state;
	/* as runc converts them for cgroup v2 */
	assert_int_equal(kx_spec_parse(CFG("\"linux\":{\"resources\":{"
					   "\"memory\":{\"limit\":67108864,\"reservation\":-1,"
					   "\"swap\":100663296},"
					   "\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,"
					   "\"cpus\":\"0-1\",\"mems\":\"\"},"
					   "\"pids\":{\"limit\":-1},\"unified\":{\"memory.high\":\"max\"},"
					   "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
					   "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3}]}},",
					   PROC), bundle, &s, &err), 0);
	assert_string_equal(writes(&s, buf, sizeof(buf)),
			    "memory.max=67108864 memory.low=max memory.swap.max=33554432 "
			    "cpu.weight=39 cpu.max=50000 100000 cpuset.cpus=0-1 pids.max=max "
			    "memory.high=max");
	assert_string_equal(s.cgroup[0]->field, "linux.resources.memory.limit");
	assert_string_equal(s.warnings, "");
	kx_spec_free(&s);
	assert_null(s.cgroup);

	/* 0 leaves a file; a period alone is cpu.max "max PERIOD" (runc's) */
	assert_int_equal(kx_spec_parse(CFG("\"linux\":{\"resources\":{"
					   "\"memory\":{\"limit\":0,\"swap\":-1},"
					   "\"cpu\":{\"period\":200000},\"pids\":{\"limit\":0}}},",
					   PROC), bundle, &s, &err), 0);
	assert_string_equal(writes(&s, buf, sizeof(buf)), "memory.swap.max=max cpu.max=max 200000");
	kx_spec_free(&s);

	/* what a VM cannot apply is a warning per field */
	assert_int_equal(kx_spec_parse(CFG("\"linux\":{\"resources\":{"
					   "\"memory\":{\"swappiness\":10},\"blockIO\":{\"weight\":10},"
					   "\"devices\":[{\"allow\":true,\"type\":\"b\",\"major\":8,"
					   "\"minor\":0,\"access\":\"r\"}]}},", PROC),
				       bundle, &s, &err), 0);
	assert_int_equal(s.n_cgroup, 0);
	assert_non_null(strstr(s.warnings, "config.json: linux.resources.memory.swappiness: "
					   "not applied (cgroup v1 only)"));
	assert_non_null(strstr(s.warnings, "config.json: linux.resources.blockIO: not applied"));
	assert_non_null(strstr(s.warnings, "config.json: linux.resources.devices[0]: not applied"));
	kx_spec_free(&s);
}

/* An update's document: the same conversion, named after it, a lone period keeping the quota */
/* sizes for RESOURCES (update's JSON) from a VM of 256 MiB and 1 vCPU, maxima 1024 and 4 */
static void size_for(const char *resources, unsigned int *mem, unsigned int *cpus, char *warn,
		     size_t len)
{
	struct kx_config cfg = { .mem_mib = 256, .vcpus = 1, .max_memory_mib = 1024,
				 .max_vcpus = 4 };
	Katasbx__Agent__V1__CgroupWrite **w;
	struct kx_err err = { 0 };
	char ignored[256];
	size_t n;

	assert_int_equal(kx_resources_update(resources, "update", &w, &n, ignored,
					     sizeof(ignored), &err), 0);
	kx_vm_size(&cfg, w, n, mem, cpus, warn, len);
	kx_cgroup_writes_free(w, n);
}

static void test_vm_size(void **state)
{
	Katasbx__Agent__V1__CgroupWrite **w;
	struct kx_err err = { 0 };
	unsigned int mem, cpus;
	char warn[512];
	size_t n;

	(void)state;
	/* no limits, a small one, none for memory: the settings' size */
	size_for("{}", &mem, &cpus, warn, sizeof(warn));
	assert_int_equal(mem, 256);
	assert_int_equal(cpus, 1);
	assert_string_equal(warn, "");
	size_for("{\"memory\":{\"limit\":67108864},\"cpu\":{\"quota\":50000}}", &mem, &cpus,
		 warn, sizeof(warn));
	assert_int_equal(mem, 256);
	assert_int_equal(cpus, 1);
	size_for("{\"memory\":{\"limit\":-1},\"cpu\":{\"period\":50000}}", &mem, &cpus, warn,
		 sizeof(warn));
	assert_int_equal(mem, 256);
	assert_int_equal(cpus, 1);
	/* 160 MiB and the guest's 100 do not fit in 256: 512; 2.5 CPUs are 3 */
	size_for("{\"memory\":{\"limit\":167772160},\"cpu\":{\"quota\":250000,\"period\":100000}}",
		 &mem, &cpus, warn, sizeof(warn));
	assert_int_equal(mem, 512);
	assert_int_equal(cpus, 3);
	assert_string_equal(warn, "");
	assert_true(160 + kx_guest_overhead_mib(256) > 256);
	/* 156 MiB is what 256 leaves */
	size_for("{\"memory\":{\"limit\":163577856}}", &mem, &cpus, warn, sizeof(warn));
	assert_int_equal(mem, 256);
	/* above the maxima: the maxima, and a warning each */
	size_for("{\"memory\":{\"limit\":1073741824},\"cpu\":{\"quota\":800000,\"period\":100000}}",
		 &mem, &cpus, warn, sizeof(warn));
	assert_int_equal(mem, 1024);
	assert_int_equal(cpus, 4);
	assert_string_equal(warn, "config.json: memory.limit: 1073741824 bytes is above what a VM of "
				  "max_memory_mib (1024 MiB) leaves a container (912 MiB): the most "
				  "it gets\nconfig.json: cpu.quota: a quota of 800000 100000 us is "
				  "above max_vcpus (4): the most it gets");
	/* a running VM does not grow: a limit above it is said, one within it is not */
	assert_int_equal(kx_resources_update("{\"memory\":{\"limit\":314572800},\"cpu\":"
					     "{\"quota\":150000,\"period\":100000}}", "update",
					     &w, &n, warn, sizeof(warn), &err), 0);
	kx_vm_size_check(512, 2, "update", w, n, warn, sizeof(warn));
	assert_string_equal(warn, "");
	kx_vm_size_check(256, 1, "update", w, n, warn, sizeof(warn));
	assert_string_equal(warn, "update: memory.limit: 314572800 bytes is above what the "
				  "container's VM (256 MiB, sized at create) leaves it (156 MiB): the "
				  "most it gets\nupdate: cpu.quota: a quota of 150000 100000 us is "
				  "above the VM's 1 CPU(s), sized at create: the most it gets");
	/* a state without the sizes (an older monitor's): nothing said */
	kx_vm_size_check(0, 0, "update", w, n, warn, sizeof(warn));
	assert_string_equal(warn, "");
	kx_cgroup_writes_free(w, n);
}

static void test_resources_update(void **state)
{
	Katasbx__Agent__V1__CgroupWrite **w;
	struct kx_err err = { 0 };
	char warn[256];
	size_t n;

	(void)state;
	assert_int_equal(kx_resources_update("{\"memory\":{\"limit\":-1},\"cpu\":{\"period\":200000},"
					     "\"blockIO\":{\"weight\":10}}", "res.json", &w, &n,
					     warn, sizeof(warn), &err), 0);
	assert_int_equal(n, 3);
	/* runc: no memory limit, no swap limit either */
	assert_string_equal(w[1]->file, "memory.swap.max");
	assert_string_equal(w[1]->value, "max");
	assert_string_equal(w[2]->value, "max 200000");
	assert_true(w[2]->keep_quota);
	assert_string_equal(w[2]->field, "cpu.period");
	assert_string_equal(warn, "res.json: blockIO: not applied (the guest's devices and network "
				  "are not the host's)");
	kx_cgroup_writes_free(w, n);

	/* with a quota, cpu.max is written as it is */
	assert_int_equal(kx_resources_update("{\"cpu\":{\"quota\":5000,\"period\":10000}}", "update",
					     &w, &n, warn, sizeof(warn), &err), 0);
	assert_int_equal(n, 1);
	assert_false(w[0]->keep_quota);
	kx_cgroup_writes_free(w, n);

	assert_int_equal(kx_resources_update("{\"memory\":{\"swap\":1048576}}", "update", &w, &n,
					     warn, sizeof(warn), &err), -1);
	assert_string_equal(err.msg, "update: memory.swap: unable to set swap limit without memory "
				     "limit");
	assert_null(w);
	assert_int_equal(kx_resources_update("[1]", "stdin", &w, &n, warn, sizeof(warn), &err), -1);
	assert_string_equal(err.msg, "stdin: resources: must be an object");
	assert_int_equal(kx_resources_update("{\"memory\":", "stdin", &w, &n, warn, sizeof(warn),
					     &err), -1);
	assert_non_null(strstr(err.msg, "stdin: "));
	/* the document's name was this call's only: config.json is named again */
	assert_int_equal(kx_spec_parse(CFG("\"linux\":{\"resources\":{\"pids\":{\"limit\":\"5\"}}},",
					   PROC), bundle, &(struct kx_spec){ 0 }, &err), -1);
	assert_string_equal(err.msg, "config.json: linux.resources.pids.limit: must be a number");
}

static void test_bad(void **state)
{
	const struct bad *b = *state;
	struct kx_err err = { 0 };
	struct kx_spec s;

	assert_int_equal(kx_spec_parse(b->json, bundle, &s, &err), -1);
	if (strncmp(err.msg, "config.json: ", 13) || !strstr(err.msg, b->msg))
		fail_msg("got \"%s\", want \"config.json: ...%s...\"", err.msg, b->msg);
	/* Nothing is left allocated after a failure, and freeing again is harmless. */
	assert_null(s.process);
	kx_spec_free(&s);
}

int main(void)
{
	static const struct CMUnitTest good[] = {
		cmocka_unit_test(test_runc_spec_parse),
		cmocka_unit_test(test_runc_spec_load),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_optional_fields),
		cmocka_unit_test(test_seccomp),
		cmocka_unit_test(test_namespace_paths),
		cmocka_unit_test(test_network_namespace),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_process_parse),
		cmocka_unit_test(test_unknown_caps),
		cmocka_unit_test(test_create_request),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_resources_update),
		cmocka_unit_test(test_vm_size),
		cmocka_unit_test(test_mount_relative),
		cmocka_unit_test(test_userns),
	};
	size_t n_good = sizeof(good) / sizeof(good[0]);
	size_t n_bad = sizeof(bad_cases) / sizeof(bad_cases[0]);
	struct CMUnitTest *tests = calloc(n_good + n_bad, sizeof(*tests));
	size_t n = 0;
	int ret;

	if (!tests)
		return 1;
	for (size_t i = 0; i < n_good; i++)
		tests[n++] = good[i];
	for (size_t i = 0; i < n_bad; i++) {
		tests[n].name = bad_cases[i].name;
		tests[n].test_func = test_bad;
		tests[n].initial_state = (void *)&bad_cases[i];
		n++;
	}
	ret = _cmocka_run_group_tests("oci", tests, n, group_setup, group_teardown);
	free(tests);
	return ret;
}
