// SPDX-License-Identifier: GPL-2.0
/* Unit tests for userspace/lib/vmm: argv, host capability choices, QMP, start failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/qemu.h"

struct fixture {
	char dir[64];
	char kernel[128];
	char initrd[128];
	char share[128];
	struct kx_vm_config cfg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/kx-test-vmm-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinux", f->dir);
	snprintf(f->initrd, sizeof(f->initrd), "%s/initrd.img", f->dir);
	snprintf(f->share, sizeof(f->share), "%s/share", f->dir);
	fd = open(f->kernel, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	fd = open(f->initrd, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mkdir(f->share, 0755), 0);
	f->cfg = (struct kx_vm_config){
		.qemu = "/usr/bin/qemu-system-x86_64",
		.kernel = f->kernel,
		.initrd = f->initrd,
		.mem_mib = 256,
		.vcpus = 1,
		.accel = KX_ACCEL_TCG,
		.tb_size_mib = 32,
		.channel = KX_CHANNEL_SERIAL,
		.rundir = f->dir,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

static int argv_index(char **argv, const char *s)
{
	for (int i = 0; argv[i]; i++)
		if (!strcmp(argv[i], s))
			return i;
	return -1;
}

/* argv has `opt` immediately followed by `val`. */
static void assert_pair(char **argv, const char *opt, const char *val)
{
	for (int i = 0; argv[i] && argv[i + 1]; i++)
		if (!strcmp(argv[i], opt) && !strcmp(argv[i + 1], val))
			return;
	fail_msg("missing '%s %s'", opt, val);
}

static void test_argv_tcg_serial_share(void **state)
{
	struct fixture *f = *state;
	struct kx_err err = { 0 };
	char **argv, buf[512];

	f->cfg.share_path = f->share;
	f->cfg.cmdline_extra = "katasbx.debug=1";
	f->cfg.tsc_khz = 2596128;
	assert_int_equal(kx_vm_build_argv(&f->cfg, &argv, &err), 0);
	assert_string_equal(argv[0], "/usr/bin/qemu-system-x86_64");
	assert_pair(argv, "-M", "microvm,x-option-roms=off");
	assert_pair(argv, "-accel", "tcg,tb-size=32");
	assert_pair(argv, "-cpu", "max");
	assert_pair(argv, "-m", "256");
	assert_pair(argv, "-smp", "1");
	assert_true(argv_index(argv, "-nodefaults") > 0);
	assert_true(argv_index(argv, "-no-user-config") > 0);
	assert_true(argv_index(argv, "-no-reboot") > 0);
	assert_pair(argv, "-display", "none");
	snprintf(buf, sizeof(buf), "file:%s/console.log", f->dir);
	assert_pair(argv, "-serial", buf);
	snprintf(buf, sizeof(buf), "unix:%s/qmp.sock,server=on,wait=off", f->dir);
	assert_pair(argv, "-qmp", buf);
	assert_pair(argv, "-kernel", f->kernel);
	assert_pair(argv, "-initrd", f->initrd);
	assert_pair(argv, "-append",
		    "console=ttyS0 quiet panic=-1 no_timer_check cryptomgr.notests "
		    "tsc_early_khz=2596128 tsc=reliable katasbx.channel=serial katasbx.debug=1");
	assert_pair(argv, "-device", "virtio-serial-device");
	snprintf(buf, sizeof(buf), "socket,id=agent,path=%s/agent.sock,server=on,wait=off", f->dir);
	assert_pair(argv, "-chardev", buf);
	assert_pair(argv, "-device", "virtserialport,chardev=agent,name=katasbx.agent");
	snprintf(buf, sizeof(buf), "local,id=fs0,path=%s,security_model=none,multidevs=remap",
		 f->share);
	assert_pair(argv, "-fsdev", buf);
	assert_pair(argv, "-device", "virtio-9p-device,fsdev=fs0,mount_tag=rootfs");
	assert_pair(argv, "-object", "rng-random,id=rng0,filename=/dev/urandom");
	assert_pair(argv, "-device", "virtio-rng-device,rng=rng0");
	assert_int_equal(argv_index(argv, "-cpu") + 1, argv_index(argv, "max"));
	assert_true(argv_index(argv, "kvm") < 0);
	kx_argv_free(argv);
}

static void test_argv_kvm_vsock(void **state)
{
	struct fixture *f = *state;
	struct kx_err err = { 0 };
	char **argv;

	f->cfg.accel = KX_ACCEL_KVM;
	f->cfg.channel = KX_CHANNEL_VSOCK;
	f->cfg.vsock_cid = 42;
	f->cfg.tsc_khz = 2596128;	/* KVM guests have kvmclock: not passed */
	f->cfg.mem_mib = 512;
	f->cfg.vcpus = 2;
	assert_int_equal(kx_vm_build_argv(&f->cfg, &argv, &err), 0);
	assert_pair(argv, "-accel", "kvm");
	assert_pair(argv, "-cpu", "host");
	assert_pair(argv, "-m", "512");
	assert_pair(argv, "-smp", "2");
	assert_pair(argv, "-device", "vhost-vsock-device,guest-cid=42");
	assert_pair(argv, "-append",
		    "console=ttyS0 quiet panic=-1 no_timer_check cryptomgr.notests "
		    "katasbx.channel=vsock katasbx.port=1024");
	assert_true(argv_index(argv, "-chardev") < 0);
	assert_true(argv_index(argv, "virtio-serial-device") < 0);
	assert_true(argv_index(argv, "-fsdev") < 0);
	assert_pair(argv, "-device", "virtio-rng-device,rng=rng0");
	kx_argv_free(argv);
}

static void test_argv_readonly_share(void **state)
{
	struct fixture *f = *state;
	struct kx_err err = { 0 };
	char **argv, buf[512];

	f->cfg.share_path = f->share;
	f->cfg.share_readonly = true;
	assert_int_equal(kx_vm_build_argv(&f->cfg, &argv, &err), 0);
	snprintf(buf, sizeof(buf), "local,id=fs0,path=%s,security_model=none,multidevs=remap,readonly=on",
		 f->share);
	assert_pair(argv, "-fsdev", buf);
	kx_argv_free(argv);
}

static void test_argv_defaults(void **state)
{
	struct fixture *f = *state;
	struct kx_err err = { 0 };
	char **argv;

	f->cfg.mem_mib = 0;
	f->cfg.vcpus = 0;
	f->cfg.tb_size_mib = 0;
	assert_int_equal(kx_vm_build_argv(&f->cfg, &argv, &err), 0);
	assert_pair(argv, "-m", "256");
	assert_pair(argv, "-smp", "1");
	assert_pair(argv, "-accel", "tcg,tb-size=32");
	kx_argv_free(argv);
}

/* Expect kx_vm_build_argv to fail with a message containing `needle`. */
static void expect_bad(struct kx_vm_config *cfg, const char *needle)
{
	struct kx_err err = { 0 };
	char **argv = (char **)1;

	assert_int_equal(kx_vm_build_argv(cfg, &argv, &err), -1);
	assert_null(argv);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' lacks '%s'", err.msg, needle);
}

static void test_argv_nics(void **state)
{
	struct fixture *f = *state;
	struct kx_err err = { 0 };
	int taps[2] = { 10, 11 };
	char **argv;
	int rng, net0, net1;

	f->cfg.n_nics = 2;
	f->cfg.tap_fds = taps;
	assert_int_equal(kx_vm_build_argv(&f->cfg, &argv, &err), 0);
	/* the child moves the fds to 3 and 4 whatever they are here */
	assert_pair(argv, "-netdev", "tap,id=net0,fd=3");
	assert_pair(argv, "-netdev", "tap,id=net1,fd=4");
	assert_pair(argv, "-device", "virtio-net-device,netdev=net0,mac=02:6b:78:00:00:00");
	assert_pair(argv, "-device", "virtio-net-device,netdev=net1,mac=02:6b:78:00:00:01");
	/* after every other device: a template's other devices keep their slots */
	rng = argv_index(argv, "virtio-rng-device,rng=rng0");
	net0 = argv_index(argv, "tap,id=net0,fd=3");
	net1 = argv_index(argv, "tap,id=net1,fd=4");
	assert_true(rng > 0 && net0 > rng && net1 > net0);
	kx_argv_free(argv);

	f->cfg.vhost_net = true;
	assert_int_equal(kx_vm_build_argv(&f->cfg, &argv, &err), 0);
	assert_pair(argv, "-netdev", "tap,id=net0,fd=3,vhost=on");
	assert_pair(argv, "-netdev", "tap,id=net1,fd=4,vhost=on");
	kx_argv_free(argv);

	f->cfg.n_nics = 0;
	assert_int_equal(kx_vm_build_argv(&f->cfg, &argv, &err), 0);
	assert_int_equal(argv_index(argv, "-netdev"), -1);
	kx_argv_free(argv);
}

static void test_argv_bad_inputs(void **state)
{
	struct fixture *f = *state;
	struct kx_vm_config c;
	char path[256], longdir[200];

	c = f->cfg;
	c.kernel = "/nonexistent/vmlinux";
	expect_bad(&c, "guest kernel /nonexistent/vmlinux");
	expect_bad(&c, "make");

	c = f->cfg;
	c.initrd = "/nonexistent/initrd.img";
	expect_bad(&c, "guest initrd /nonexistent/initrd.img");

	c = f->cfg;
	c.kernel = f->dir; /* a directory */
	expect_bad(&c, "not a regular file");

	c = f->cfg;
	c.mem_mib = 32;
	expect_bad(&c, "32 MiB is too small");

	c = f->cfg;
	c.vcpus = 65;
	expect_bad(&c, "1..64");

	{
		int taps[5] = { 10, 11, 12, 13, 14 }, none[1] = { -1 };

		c = f->cfg;
		c.n_nics = 5;
		c.tap_fds = taps;
		expect_bad(&c, "5 network interfaces: a VM takes at most 4");
		c.n_nics = 1;
		c.tap_fds = none;
		expect_bad(&c, "network interface 0: no tap device");
		c.tap_fds = NULL;
		expect_bad(&c, "network interface 0: no tap device");
	}

	c = f->cfg;
	c.accel = KX_ACCEL_AUTO;
	expect_bad(&c, "not resolved");

	c = f->cfg;
	c.channel = KX_CHANNEL_AUTO;
	expect_bad(&c, "not resolved");

	c = f->cfg;
	c.channel = KX_CHANNEL_VSOCK;
	c.vsock_cid = 2;
	expect_bad(&c, "CID 2");

	c = f->cfg;
	c.qemu = NULL;
	expect_bad(&c, "qemu-system-x86_64 not found: install qemu-system-x86");

	/* Commas: QEMU would split the option there. */
	snprintf(path, sizeof(path), "%s/a,b", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	c = f->cfg;
	c.share_path = path;
	expect_bad(&c, "contains a comma");
	c = f->cfg;
	c.rundir = path;
	expect_bad(&c, "contains a comma");
	snprintf(path, sizeof(path), "%s/vm,linux", f->dir);
	assert_int_equal(link(f->kernel, path), 0);
	c = f->cfg;
	c.kernel = path;
	expect_bad(&c, "contains a comma");

	c = f->cfg;
	c.share_path = f->kernel;
	expect_bad(&c, "shared directory");

	memset(longdir, 'x', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	c = f->cfg;
	c.rundir = longdir;
	expect_bad(&c, "too long for a unix socket path");
}

static void test_accel_choose(void **state)
{
	static const struct {
		bool dev, cpu;
		enum kx_accel want, got;
		const char *why;
	} t[] = {
		{ true, true, KX_ACCEL_AUTO, KX_ACCEL_KVM, "using KVM" },
		{ true, false, KX_ACCEL_AUTO, KX_ACCEL_TCG, "no vmx/svm in /proc/cpuinfo" },
		{ false, true, KX_ACCEL_AUTO, KX_ACCEL_TCG, "/dev/kvm not available" },
		{ false, false, KX_ACCEL_AUTO, KX_ACCEL_TCG, "/dev/kvm not available" },
		{ false, false, KX_ACCEL_KVM, KX_ACCEL_KVM, "requested" },
		{ true, false, KX_ACCEL_KVM, KX_ACCEL_KVM, "requested" },
		{ true, true, KX_ACCEL_TCG, KX_ACCEL_TCG, "requested" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct kx_hostcaps caps = { .kvm_dev = t[i].dev, .kvm_cpu = t[i].cpu };
		const char *why = NULL;

		assert_int_equal(kx_accel_choose(&caps, t[i].want, &why), t[i].got);
		assert_non_null(why);
		if (!strstr(why, t[i].why))
			fail_msg("case %zu: why '%s' lacks '%s'", i, why, t[i].why);
	}
	/* why may be NULL */
	struct kx_hostcaps caps = { 0 };
	assert_int_equal(kx_accel_choose(&caps, KX_ACCEL_AUTO, NULL), KX_ACCEL_TCG);
	(void)state;
}

static void test_channel_choose(void **state)
{
	struct kx_hostcaps with = { .vhost_vsock = true }, without = { 0 };

	assert_int_equal(kx_channel_choose(&with, KX_CHANNEL_AUTO), KX_CHANNEL_VSOCK);
	assert_int_equal(kx_channel_choose(&without, KX_CHANNEL_AUTO), KX_CHANNEL_SERIAL);
	assert_int_equal(kx_channel_choose(&without, KX_CHANNEL_VSOCK), KX_CHANNEL_VSOCK);
	assert_int_equal(kx_channel_choose(&with, KX_CHANNEL_SERIAL), KX_CHANNEL_SERIAL);
	(void)state;
}

static void test_parse_and_names(void **state)
{
	enum kx_accel a;
	enum kx_channel c;
	const char *an[] = { "auto", "kvm", "tcg" }, *cn[] = { "auto", "serial", "vsock" };

	for (int i = 0; i < 3; i++) {
		assert_int_equal(kx_accel_parse(an[i], &a), 0);
		assert_int_equal(a, (enum kx_accel)i);
		assert_string_equal(kx_accel_name(a), an[i]);
		assert_int_equal(kx_channel_parse(cn[i], &c), 0);
		assert_int_equal(c, (enum kx_channel)i);
		assert_string_equal(kx_channel_name(c), cn[i]);
	}
	a = KX_ACCEL_KVM;
	assert_int_equal(kx_accel_parse("KVM", &a), -1);
	assert_int_equal(kx_accel_parse("", &a), -1);
	assert_int_equal(kx_accel_parse(NULL, &a), -1);
	assert_int_equal(a, KX_ACCEL_KVM);
	assert_int_equal(kx_channel_parse("virtio", &c), -1);
	assert_int_equal(kx_channel_parse(NULL, &c), -1);
	(void)state;
}

static void test_host_tsc_khz(void **state)
{
	unsigned int khz = kx_host_tsc_khz();
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	bool constant = false;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5) && strstr(line, " constant_tsc"))
			constant = true;
	if (f)
		fclose(f);
	if (!constant) {
		assert_int_equal(khz, 0);
		return;
	}
	/* 100 MHz .. 10 GHz, and measured once */
	assert_in_range(khz, 100000, 10000000);
	assert_int_equal(kx_host_tsc_khz(), khz);
}

static void test_cpuinfo_line(void **state)
{
	assert_true(kx_cpuinfo_line_has_virt("flags\t\t: fpu vme de pse vmx ept\n"));
	assert_true(kx_cpuinfo_line_has_virt("flags\t\t: fpu svm\n"));
	assert_true(kx_cpuinfo_line_has_virt("flags: svm"));
	assert_false(kx_cpuinfo_line_has_virt("flags\t\t: fpu vme hypervisor vmxx svmx\n"));
	assert_false(kx_cpuinfo_line_has_virt("flags\t\t: fpu xvmx\n"));
	assert_false(kx_cpuinfo_line_has_virt("vmx flags\t: vnmi preemption_timer\n"));
	assert_false(kx_cpuinfo_line_has_virt("model name\t: vmx svm\n"));
	assert_false(kx_cpuinfo_line_has_virt("flags\t\t:\n"));
	(void)state;
}

static void test_hostcaps_qemu_env(void **state)
{
	struct kx_hostcaps caps;

	setenv("KATASBX_QEMU", "/opt/q/qemu-system-x86_64", 1);
	kx_hostcaps_probe(&caps);
	assert_string_equal(caps.qemu, "/opt/q/qemu-system-x86_64");
	unsetenv("KATASBX_QEMU");
	if (caps.cgroup2)
		assert_true(caps.cgroup2_path[0] == '/');
	else
		assert_string_equal(caps.cgroup2_path, "");
	(void)state;
}

/* ---- QMP against a fake server on a socketpair ---- */

static void srv_write(int fd, const char *s)
{
	size_t len = strlen(s);

	assert_int_equal(write(fd, s, len), (ssize_t)len);
}

/* Read one request line from the client; returns malloc'd text. */
static char *srv_read_line(int fd)
{
	char buf[4096];
	size_t n = 0;

	while (n < sizeof(buf) - 1) {
		if (read(fd, buf + n, 1) != 1)
			return NULL;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return strdup(buf);
}

static int srv_failures;

static void srv_expect(int fd, const char *needle)
{
	char *line = srv_read_line(fd);

	if (!line || !strstr(line, needle)) {
		fprintf(stderr, "fake QMP: expected '%s', got '%s'\n", needle, line ? line : "EOF");
		srv_failures++;
	}
	free(line);
}

static void *fake_qmp(void *arg)
{
	int fd = *(int *)arg;

	srv_write(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
		      "\"major\": 7}}, \"capabilities\": [\"oob\"]}}\r\n");
	srv_expect(fd, "\"execute\":\"qmp_capabilities\"");
	srv_write(fd, "{\"return\": {}}\r\n");

	/* An event before the reply, both in one write. */
	srv_expect(fd, "\"execute\":\"stop\"");
	srv_write(fd, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
		      "\"STOP\"}\r\n{\"return\": {}}\r\n");

	/* Arguments are passed through; the reply arrives in pieces. */
	srv_expect(fd, "\"arguments\":{\"val\":1}");
	srv_write(fd, "{\"return\": {\"status\": \"ru");
	usleep(20000);
	srv_write(fd, "nning\", \"running\": true}}\r\n{\"event\": \"RESUME\"}\r\n");

	/* The trailing event above must be skipped by the next call. */
	srv_expect(fd, "\"execute\":\"nope\"");
	srv_write(fd, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope "
		      "has not been found\"}}\r\n");

	/* Never answer: the client times out. */
	srv_expect(fd, "\"execute\":\"query-status\"");
	srv_expect(fd, "\"execute\":\"quit\"");
	srv_write(fd, "not json\r\n");
	srv_expect(fd, "\"execute\":\"after\"");
	close(fd);
	return NULL;
}

static void test_qmp_exchange(void **state)
{
	struct kx_err err = { 0 };
	pthread_t th;
	char *ret = NULL;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	srv_failures = 0;
	assert_int_equal(pthread_create(&th, NULL, fake_qmp, &sv[1]), 0);

	assert_int_equal(kx_qmp_handshake(sv[0], 2000, &err), 0);
	assert_int_equal(kx_qmp_execute(sv[0], "stop", NULL, &ret, 2000, &err), 0);
	assert_string_equal(ret, "{}");
	free(ret);
	assert_int_equal(kx_qmp_execute(sv[0], "cont", "{\"val\": 1}", &ret, 2000, &err), 0);
	assert_string_equal(ret, "{\"status\":\"running\",\"running\":true}");
	free(ret);
	ret = (char *)1;
	assert_int_equal(kx_qmp_execute(sv[0], "nope", NULL, &ret, 2000, &err), -1);
	assert_null(ret);
	assert_string_equal(err.msg,
			    "QMP nope failed: The command nope has not been found (CommandNotFound)");
	assert_int_equal(kx_qmp_execute(sv[0], "query-status", NULL, NULL, 100, &err), -1);
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_non_null(strstr(err.msg, "waiting for query-status"));
	assert_int_equal(kx_qmp_execute(sv[0], "quit", NULL, NULL, 2000, &err), -1);
	assert_non_null(strstr(err.msg, "malformed reply"));
	assert_int_equal(kx_qmp_execute(sv[0], "after", NULL, NULL, 2000, &err), -1);
	assert_non_null(strstr(err.msg, "closed the connection"));
	/* Bad arguments never reach the wire. */
	assert_int_equal(kx_qmp_execute(sv[0], "x", "[1]", NULL, 100, &err), -1);
	assert_non_null(strstr(err.msg, "not a JSON object"));

	pthread_join(th, NULL);
	close(sv[0]);
	assert_int_equal(srv_failures, 0);
	(void)state;
}

static void *fake_not_qmp(void *arg)
{
	int fd = *(int *)arg;

	srv_write(fd, "{\"hello\": 1}\n");
	close(fd);
	return NULL;
}

static void test_qmp_bad_greeting(void **state)
{
	struct kx_err err = { 0 };
	pthread_t th;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pthread_create(&th, NULL, fake_not_qmp, &sv[1]), 0);
	assert_int_equal(kx_qmp_handshake(sv[0], 2000, &err), -1);
	assert_non_null(strstr(err.msg, "not a QMP greeting"));
	pthread_join(th, NULL);
	close(sv[0]);
	(void)state;
}

/* ---- kx_vm_start failure paths, with a fake QEMU ---- */

static void write_script(const char *path, const char *body)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fprintf(fp, "#!/bin/sh\n%s", body);
	fclose(fp);
	assert_int_equal(chmod(path, 0755), 0);
}

static void test_start_qemu_exits(void **state)
{
	struct fixture *f = *state;
	struct kx_err err = { 0 };
	struct kx_vm vm;
	char qemu[256];

	snprintf(qemu, sizeof(qemu), "%s/qemu-system-x86_64", f->dir);
	write_script(qemu, "echo 'starting' >&2\n"
			   "echo 'qemu-system-x86_64: -accel kvm: failed to initialize kvm' >&2\n"
			   "exit 1\n");
	f->cfg.qemu = qemu;
	assert_int_equal(kx_vm_start(&f->cfg, &vm, &err), -1);
	assert_string_equal(err.msg, "qemu-system-x86_64 exited during startup (exit status 1): "
				     "qemu-system-x86_64: -accel kvm: failed to initialize kvm");
	assert_false(vm.live);
	/* Stop after a failed start is harmless. */
	kx_vm_stop(&vm, 100);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/*
 * Taps reach QEMU as fds 3, 4, ... whatever their numbers here, even when one
 * of them already is 3 or 4 (the child moves them out of the way first), and
 * nothing else leaks: the fake QEMU writes its fd 3 and 4 and lists fd 5.
 */
static void test_start_passes_taps(void **state)
{
	struct fixture *f = *state;
	struct kx_err err = { 0 };
	int a[2], b[2], ar, br, taps[2];
	char qemu[256], buf[16] = "";
	struct kx_vm vm;

	snprintf(qemu, sizeof(qemu), "%s/qemu-system-x86_64", f->dir);
	write_script(qemu, "printf A >&3; printf B >&4; [ -e /proc/$$/fd/5 ] && printf L >&3\n"
			   "echo 'qemu-system-x86_64: done' >&2; exit 1\n");
	/* the worst order: the tap for fd 3 is fd 4 here, and the one for fd 4 is fd 3 */
	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	ar = fcntl(a[0], F_DUPFD_CLOEXEC, 30);
	br = fcntl(b[0], F_DUPFD_CLOEXEC, 30);
	assert_int_equal(dup3(b[1], 40, O_CLOEXEC), 40);
	assert_int_equal(dup3(a[1], 3, O_CLOEXEC), 3);
	assert_int_equal(dup3(40, 4, O_CLOEXEC), 4);
	for (int fd = 5; fd < 30; fd++)
		close(fd);
	close(40);
	taps[0] = 4;		/* b: becomes QEMU's fd 3 */
	taps[1] = 3;		/* a: becomes QEMU's fd 4 */
	f->cfg.qemu = qemu;
	f->cfg.n_nics = 2;
	f->cfg.tap_fds = taps;
	assert_int_equal(kx_vm_start(&f->cfg, &vm, &err), -1);
	close(3);
	close(4);
	assert_int_equal(read(br, buf, sizeof(buf) - 1), 1);
	assert_int_equal(buf[0], 'A');
	assert_int_equal(read(ar, buf, sizeof(buf) - 1), 1);
	assert_int_equal(buf[0], 'B');
	close(ar);
	close(br);
}

static void test_start_qemu_missing(void **state)
{
	struct fixture *f = *state;
	struct kx_err err = { 0 };
	struct kx_vm vm;

	f->cfg.qemu = "/nonexistent/qemu-system-x86_64";
	assert_int_equal(kx_vm_start(&f->cfg, &vm, &err), -1);
	assert_non_null(strstr(err.msg, "qemu-system-x86_64 not found"));
	assert_non_null(strstr(err.msg, "install qemu-system-x86"));
}

static void test_stop_zeroed(void **state)
{
	struct kx_vm vm;

	memset(&vm, 0, sizeof(vm));
	kx_vm_stop(&vm, 0);
	kx_vm_stop(&vm, 0);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_argv_tcg_serial_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_argv_kvm_vsock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_argv_readonly_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_argv_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_argv_nics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_argv_bad_inputs, setup, teardown),
		cmocka_unit_test(test_accel_choose),
		cmocka_unit_test(test_channel_choose),
		cmocka_unit_test(test_parse_and_names),
		cmocka_unit_test(test_cpuinfo_line),
		cmocka_unit_test(test_host_tsc_khz),
		cmocka_unit_test(test_hostcaps_qemu_env),
		cmocka_unit_test(test_qmp_exchange),
		cmocka_unit_test(test_qmp_bad_greeting),
		cmocka_unit_test_setup_teardown(test_start_qemu_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_passes_taps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_qemu_missing, setup, teardown),
		cmocka_unit_test(test_stop_zeroed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
