// SPDX-License-Identifier: GPL-2.0
/*
 * Clone-boot through /dev/katasbx, end to end, inside the test VM: a template
 * VM (the project's guest: build/guest/vmlinux + initrd.img) boots with its
 * RAM in a tmpfs file (share=on) until its agent answers a ttrpc Check on
 * the virtio-serial socket; its device state is saved with x-ignore-shared;
 * the RAM file is registered as a persistent template with kxdev, compared
 * page by page with the node (MAP_PRIVATE and pread), and deleted; a clone
 * QEMU maps /dev/katasbx-t<id> with share=off, restores the state (-incoming
 * defer, migrate-incoming, cont once the status is "paused") and its agent
 * must answer Check. The template is then destroyed and the running clone
 * must still answer. QEMU is the host's, over the 9p host root (/usr links to
 * /host/usr); it runs nested under TCG, so this is slow: minutes, not seconds.
 * Environment: CLONE_QEMU (the QEMU binary), CLONE_QEMU_GUEST (directory
 * with vmlinux and initrd.img), CLONE_QEMU_BOOT_TIMEOUT (seconds, 300),
 * CLONE_QEMU_MEM: dev (the default: clone from /dev/katasbx-t<id>), file
 * (clone from the template's RAM file, no module: the control), both (the
 * file clone, then the node clone).
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include <linux/katasbx.h>

#include "ktap.h"
#include "kxdev.h"
#include "vmm/qemu.h"	/* kx_host_tsc_khz: the rate the runtime tells a TCG guest */

#define WORK		"/tmp/clone_qemu"
#define MEM_MIB		256
#define TAG		"ksft-clone-qemu"
#define SERVICE		"katasbx.agent.v1.AgentService"

static char qemu_bin[PATH_MAX] = "/usr/bin/qemu-system-x86_64";
static char guest[PATH_MAX];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define NOTE(...) do { printf("# " __VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

struct vm {
	pid_t pid;
	char dir[128];
	int qmp;
	FILE *qmpf;
};

/* Starts QEMU in @dir: RAM from @mem_path (share on/off), -incoming defer if @incoming. */
static int vm_start(struct vm *vm, const char *dir, const char *mem_path, bool share, bool incoming)
{
	char memobj[PATH_MAX + 128], serial[256], qmp[256], chardev[256], append[512];
	char kernel[PATH_MAX + 16], initrd[PATH_MAX + 16], mem[16];
	const char *argv[64];
	int n = 0, logfd;

	snprintf(vm->dir, sizeof(vm->dir), "%s", dir);
	snprintf(mem, sizeof(mem), "%u", MEM_MIB);
	mkdir(dir, 0700);
	snprintf(memobj, sizeof(memobj), "memory-backend-file,id=mem,size=%uM,mem-path=%s,share=%s",
		 MEM_MIB, mem_path, share ? "on" : "off");
	snprintf(serial, sizeof(serial), "file:%s/console.log", dir);
	snprintf(qmp, sizeof(qmp), "unix:%s/qmp.sock,server=on,wait=off", dir);
	snprintf(chardev, sizeof(chardev), "socket,id=agent,path=%s/agent.sock,server=on,wait=off", dir);
	/* As userspace/lib/vmm/qemu.c: KX_BASE_CMDLINE, KX_TCG_CLOCK, serial channel. */
	snprintf(append, sizeof(append),
		 "console=ttyS0 quiet panic=-1 no_timer_check cryptomgr.notests "
		 "tsc_early_khz=%u tsc=reliable katasbx.channel=serial", kx_host_tsc_khz());
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", guest);
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", guest);

	argv[n++] = qemu_bin;
	argv[n++] = "-M";
	argv[n++] = "microvm,x-option-roms=off,memory-backend=mem";
	argv[n++] = "-object";
	argv[n++] = memobj;
	if (incoming) {
		argv[n++] = "-incoming";
		argv[n++] = "defer";
	}
	argv[n++] = "-accel";
	argv[n++] = "tcg,tb-size=32";
	argv[n++] = "-cpu";
	argv[n++] = "max";
	argv[n++] = "-m";
	argv[n++] = mem;
	argv[n++] = "-smp";
	argv[n++] = "1";
	argv[n++] = "-nodefaults";
	argv[n++] = "-no-user-config";
	argv[n++] = "-display";
	argv[n++] = "none";
	argv[n++] = "-no-reboot";
	argv[n++] = "-serial";
	argv[n++] = serial;
	argv[n++] = "-qmp";
	argv[n++] = qmp;
	argv[n++] = "-kernel";
	argv[n++] = kernel;
	argv[n++] = "-initrd";
	argv[n++] = initrd;
	argv[n++] = "-append";
	argv[n++] = append;
	argv[n++] = "-device";
	argv[n++] = "virtio-serial-device";
	argv[n++] = "-chardev";
	argv[n++] = chardev;
	argv[n++] = "-device";
	argv[n++] = "virtserialport,chardev=agent,name=katasbx.agent";
	argv[n++] = "-object";
	argv[n++] = "rng-random,id=rng0,filename=/dev/urandom";
	argv[n++] = "-device";
	argv[n++] = "virtio-rng-device,rng=rng0";
	argv[n] = NULL;

	vm->qmp = -1;
	vm->qmpf = NULL;
	vm->pid = fork();
	if (vm->pid < 0)
		return -1;
	if (vm->pid == 0) {
		char log[256];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(log, sizeof(log), "%s/qemu.log", dir);
		logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (logfd >= 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		execv(qemu_bin, (char **)argv);
		_exit(127);
	}
	return 0;
}

static void vm_dump_logs(struct vm *vm)
{
	const char *names[] = { "qemu.log", "console.log" };
	char path[256], line[512];
	size_t i;

	for (i = 0; i < 2; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", vm->dir, names[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			printf("# %s: %s", names[i], line);
		fclose(f);
	}
}

static void vm_kill(struct vm *vm)
{
	if (vm->qmpf)
		fclose(vm->qmpf);
	vm->qmpf = NULL;
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, NULL, 0);
	}
	vm->pid = 0;
}

static int unix_connect(const char *path, double timeout)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double end = now() + timeout;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if (now() > end)
			return -1;
		usleep(20000);
	}
}

/* One QMP command; waits for its return or error (events are skipped). 0 on return. */
static int qmp(struct vm *vm, char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[1024], line[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (dprintf(vm->qmp, "%s\n", cmd) < 0)
		return -1;
	while (fgets(line, sizeof(line), vm->qmpf)) {
		if (strstr(line, "\"return\"")) {
			if (out)
				snprintf(out, outlen, "%s", line);
			return 0;
		}
		if (strstr(line, "\"error\"")) {
			printf("# qmp %s: %s", cmd, line);
			return -1;
		}
	}
	printf("# qmp %s: connection closed\n", cmd);
	return -1;
}

static int qmp_open(struct vm *vm)
{
	char path[256], line[4096];

	snprintf(path, sizeof(path), "%s/qmp.sock", vm->dir);
	vm->qmp = unix_connect(path, 60);
	if (vm->qmp < 0)
		return -1;
	vm->qmpf = fdopen(vm->qmp, "r");
	if (!vm->qmpf || !fgets(line, sizeof(line), vm->qmpf))	/* greeting */
		return -1;
	return qmp(vm, NULL, 0, "{\"execute\":\"qmp_capabilities\"}");
}

static size_t pb_string(uint8_t *p, int field, const char *s)
{
	size_t n = strlen(s);

	p[0] = (uint8_t)(field << 3 | 2);
	p[1] = (uint8_t)n;
	memcpy(p + 2, s, n);
	return n + 2;
}

static int read_full(int fd, void *buf, size_t len, double end)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ms = (int)((end - now()) * 1000);
		ssize_t n;

		if (ms <= 0 || poll(&pfd, 1, ms) <= 0)
			return -1;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

/* ttrpc Check on stream @stream; 0 when a response frame on that stream comes. */
static int agent_check(int fd, uint32_t stream, double timeout)
{
	uint8_t frame[128], hdr[10], payload[4096];
	size_t len = 10;
	uint32_t plen, sid;

	len += pb_string(frame + len, 1, SERVICE);
	len += pb_string(frame + len, 2, "Check");
	plen = len - 10;
	frame[0] = plen >> 24;
	frame[1] = plen >> 16;
	frame[2] = plen >> 8;
	frame[3] = plen;
	frame[4] = stream >> 24;
	frame[5] = stream >> 16;
	frame[6] = stream >> 8;
	frame[7] = stream;
	frame[8] = 1;	/* request */
	frame[9] = 0;
	if (write(fd, frame, len) != (ssize_t)len)
		return -1;
	if (read_full(fd, hdr, sizeof(hdr), now() + timeout) < 0)
		return -1;
	plen = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	sid = (uint32_t)hdr[4] << 24 | hdr[5] << 16 | hdr[6] << 8 | hdr[7];
	if (plen > sizeof(payload) || read_full(fd, payload, plen, now() + 10) < 0)
		return -1;
	if (hdr[8] != 2 || sid != stream) {
		printf("# unexpected frame: type %u stream %u\n", hdr[8], sid);
		return -1;
	}
	return 0;
}

static int agent_connect(struct vm *vm)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/agent.sock", vm->dir);
	return unix_connect(path, 60);
}

/*
 * The value of "status" in a QMP reply into @out ("" if none). Not a plain
 * strstr() on the reply: query-status also has "running": false, which
 * matches "running" while the VM is still "inmigrate".
 */
static void qmp_status(const char *reply, char *out, size_t len)
{
	const char *p = strstr(reply, "\"status\"");
	size_t n = 0;

	out[0] = '\0';
	if (!p)
		return;
	p += strlen("\"status\"");
	while (*p == ' ' || *p == ':')
		p++;
	if (*p++ != '"')
		return;
	while (p[n] && p[n] != '"' && n + 1 < len)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Polls @cmd until its "status" is one of @want; its index, -1 after @timeout. */
static int qmp_wait(struct vm *vm, const char *cmd, const char *const *want, double timeout)
{
	double end = now() + timeout;
	char reply[8192], status[64] = "";
	int i;

	while (now() < end) {
		if (qmp(vm, reply, sizeof(reply), "%s", cmd) < 0)
			return -1;
		qmp_status(reply, status, sizeof(status));
		for (i = 0; want[i]; i++)
			if (!strcmp(status, want[i]))
				return i;
		usleep(20000);
	}
	printf("# %s: still %s", cmd, reply);
	return -1;
}

/* Where the clone's CPU is, for a clone that does not answer: status and registers. */
static void vm_dump_cpu(struct vm *vm)
{
	char reply[8192], *p;
	int i;

	if (!vm->qmpf)
		return;
	if (qmp(vm, reply, sizeof(reply), "{\"execute\":\"query-status\"}") == 0)
		printf("# query-status: %s", reply);
	for (i = 0; i < 3; i++) {
		if (qmp(vm, reply, sizeof(reply), "{\"execute\":\"human-monitor-command\","
			"\"arguments\":{\"command-line\":\"info registers\"}}") < 0)
			return;
		/* The first two lines: RAX..RDX, RSI..RSP, R8.., RIP and flags. */
		for (p = reply; (p = strstr(p, "\\r\\n")); p += 4)
			p[0] = ' ', p[1] = '|', p[2] = ' ', p[3] = ' ';
		p = strstr(reply, "RIP=");
		printf("# info registers %d: %.200s\n", i, p ? p : reply);
		sleep(1);
	}
}

/*
 * Compares what MAP_PRIVATE mappings of @file and @node show, page by page
 * (as QEMU maps mem-path with share=off), and what pread() of the node gives.
 * Returns the number of pages that differ.
 */
static long compare_mem(const char *file, const char *node, size_t size)
{
	int ffd = open(file, O_RDONLY), nfd = open(node, O_RDWR);
	unsigned char *f = MAP_FAILED, *n = MAP_FAILED, buf[4096];
	long diff = 0, pdiff = 0, zero = 0;
	size_t off;

	if (ffd < 0 || nfd < 0) {
		NOTE("compare: open %s or %s: %s", file, node, strerror(errno));
		diff = -1;
		goto out;
	}
	NOTE("compare: node lseek(SEEK_END) %lld, file %lld", (long long)lseek(nfd, 0, SEEK_END),
	     (long long)lseek(ffd, 0, SEEK_END));
	f = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, ffd, 0);
	n = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, nfd, 0);
	if (f == MAP_FAILED || n == MAP_FAILED) {
		NOTE("compare: mmap: %s", strerror(errno));
		diff = -1;
		goto out;
	}
	for (off = 0; off < size; off += 4096) {
		static const unsigned char z[4096];

		if (memcmp(f + off, n + off, 4096)) {
			if (diff++ < 8)
				NOTE("compare: page %zu (0x%zx) differs", off / 4096, off);
		}
		if (!memcmp(f + off, z, 4096))
			zero++;
		if (pread(nfd, buf, 4096, off) != 4096 || memcmp(buf, f + off, 4096))
			pdiff++;
	}
	NOTE("compare: %ld of %zu pages differ through MAP_PRIVATE, %ld through pread; "
	     "%ld all-zero pages", diff, size / 4096, pdiff, zero);
	diff += pdiff;
out:
	if (f != MAP_FAILED)
		munmap(f, size);
	if (n != MAP_FAILED)
		munmap(n, size);
	if (ffd >= 0)
		close(ffd);
	if (nfd >= 0)
		close(nfd);
	return diff;
}

/*
 * A clone QEMU in @dir with its RAM from @mem_path (share=off) restores the
 * saved state; its agent must answer Check. With @destroy, the template is
 * destroyed under the running clone, which must answer again.
 */
static int clone_run(const char *dir, const char *mem_path, bool destroy)
{
	/*
	 * As kx_vm_restore(): "inmigrate" and "prelaunch" mean still loading.
	 * A cont before "paused" would only set autostart, and the end of the
	 * load then sets the template's saved runstate (paused): the clone
	 * would never run.
	 */
	static const char *const restored[] = { "paused", "running", NULL };
	struct vm cl = {};
	struct kx_err err = {};
	char path[256];
	double t0 = now(), t1;
	int a, r;

	NOTE("clone: mem-path %s", mem_path);
	CHECK(vm_start(&cl, dir, mem_path, false, true) == 0);
	if (qmp_open(&cl) < 0) {
		vm_dump_logs(&cl);
		vm_kill(&cl);
		return KT_FAIL;
	}
	CHECK(qmp(&cl, NULL, 0, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
		  "{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}") == 0);
	CHECK(qmp(&cl, NULL, 0, "{\"execute\":\"migrate-incoming\",\"arguments\":"
		  "{\"uri\":\"exec:cat " WORK "/state\"}}") == 0);
	r = qmp_wait(&cl, "{\"execute\":\"query-status\"}", restored, 120);
	if (r < 0) {
		vm_dump_logs(&cl);
		vm_kill(&cl);
		return KT_FAIL;
	}
	NOTE("clone: restored %.1f s after QEMU started", now() - t0);
	CHECK(qmp(&cl, NULL, 0, "{\"execute\":\"cont\"}") == 0);
	t1 = now();
	if ((a = agent_connect(&cl)) < 0 || agent_check(a, 1, 180) < 0) {
		NOTE("clone: no agent answer %.1f s after cont", now() - t1);
		vm_dump_cpu(&cl);
		vm_dump_logs(&cl);
		vm_kill(&cl);
		if (a >= 0)
			close(a);
		return KT_FAIL;
	}
	NOTE("clone: agent answered Check %.1f s after QEMU started, %.1f s after cont",
	     now() - t0, now() - t1);

	if (destroy) {
		/* Destroyed under a running clone: it keeps its memory. */
		CHECK(kx_dev_template_destroy(TAG, &err) == 0);
		CHECK(kx_dev_template_find(TAG, path, sizeof(path), &err) == 1);
		r = agent_check(a, 3, 120);
		if (r < 0)
			vm_dump_logs(&cl);
		CHECK(r == 0);
		NOTE("clone: answers after the template was destroyed");
	}
	close(a);
	qmp(&cl, NULL, 0, "{\"execute\":\"quit\"}");
	waitpid(cl.pid, NULL, 0);
	cl.pid = 0;
	vm_kill(&cl);
	return KT_PASS;
}

static int t_clone_qemu(void)
{
	static const char *const mig_done[] = { "completed", "failed", "cancelled", NULL };
	const char *bt = getenv("CLONE_QEMU_BOOT_TIMEOUT"), *mode = getenv("CLONE_QEMU_MEM");
	double boot_timeout = bt ? atof(bt) : 300, t0, t1;
	bool from_file, from_dev;
	struct vm tpl = {};
	char node[64], path[256];
	struct kx_err err = {};
	struct stat st;
	int a = -1, r;

	if (!mode || !*mode)
		mode = "dev";
	from_file = !strcmp(mode, "file") || !strcmp(mode, "both");
	from_dev = !strcmp(mode, "dev") || !strcmp(mode, "both");
	KT_SKIP_IF(!from_file && !from_dev, "CLONE_QEMU_MEM=%s: dev, file or both", mode);
	KT_SKIP_IF(access(qemu_bin, X_OK) < 0, "no %s (the host's QEMU, over 9p)", qemu_bin);
	snprintf(path, sizeof(path), "%s/vmlinux", guest);
	KT_SKIP_IF(access(path, R_OK) < 0, "no guest kernel %s: run make all", path);
	if (from_dev) {
		CHECK(kx_dev_present());
		kx_dev_template_destroy(TAG, NULL);	/* a leftover of an earlier run */
	}
	mkdir(WORK, 0700);

	/* The template: boot, wait for the agent, save the device state. */
	t0 = now();
	NOTE("template: tsc_early_khz=%u", kx_host_tsc_khz());
	CHECK(vm_start(&tpl, WORK "/template", WORK "/memory", true, false) == 0);
	if (qmp_open(&tpl) < 0 || (a = agent_connect(&tpl)) < 0 ||
	    agent_check(a, 1, boot_timeout) < 0) {
		NOTE("template: no agent answer after %.1f s", now() - t0);
		vm_dump_logs(&tpl);
		vm_kill(&tpl);
		return KT_FAIL;
	}
	NOTE("template: agent answered Check %.1f s after QEMU started", now() - t0);
	t1 = now();
	CHECK(qmp(&tpl, NULL, 0, "{\"execute\":\"stop\"}") == 0);
	CHECK(qmp(&tpl, NULL, 0, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
		  "{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}") == 0);
	CHECK(qmp(&tpl, NULL, 0, "{\"execute\":\"migrate\",\"arguments\":"
		  "{\"uri\":\"exec:cat > " WORK "/state\"}}") == 0);
	r = qmp_wait(&tpl, "{\"execute\":\"query-migrate\"}", mig_done, 120);
	CHECK(r == 0);
	qmp(&tpl, NULL, 0, "{\"execute\":\"quit\"}");
	waitpid(tpl.pid, NULL, 0);
	tpl.pid = 0;
	vm_kill(&tpl);
	close(a);
	CHECK(stat(WORK "/state", &st) == 0 && st.st_size > 0);
	NOTE("template: state saved (%lld bytes) in %.1f s", (long long)st.st_size, now() - t1);

	/* CLONE_QEMU_MEM=file|both: the control, a clone of the RAM file itself. */
	if (from_file) {
		r = clone_run(WORK "/clone-file", WORK "/memory", false);
		if (r != KT_PASS)
			return r;
	}
	if (!from_dev)
		return KT_PASS;

	/* Into /dev/katasbx; the RAM file is not needed any more. */
	t1 = now();
	if (kx_dev_template_register(WORK "/memory", (uint64_t)MEM_MIB << 20, TAG, node,
				     sizeof(node), &err) < 0) {
		NOTE("kx_dev_template_register: %s", err.msg);
		return KT_FAIL;
	}
	NOTE("registered as %s in %.2f s", node, now() - t1);
	/* The node must show the guest what the file shows. */
	CHECK(compare_mem(WORK "/memory", node, (size_t)MEM_MIB << 20) == 0);
	CHECK(unlink(WORK "/memory") == 0);
	CHECK(kx_dev_template_find(TAG, path, sizeof(path), &err) == 0 && !strcmp(path, node));

	return clone_run(WORK "/clone", node, true);
}

static const struct kt_case cases[] = {
	{ "clone_qemu_from_dev_katasbx_answers_agent", t_clone_qemu, 900 },
};

int main(void)
{
	const char *q = getenv("CLONE_QEMU"), *g = getenv("CLONE_QEMU_GUEST"), *mode;
	char self[PATH_MAX];
	ssize_t n;
	int r;

	if (q)
		snprintf(qemu_bin, sizeof(qemu_bin), "%s", q);
	if (g) {
		snprintf(guest, sizeof(guest), "%s", g);
	} else {
		/* build/kselftest/clone_qemu -> build/guest */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		if (strrchr(self, '/'))
			*strrchr(self, '/') = '\0';
		snprintf(guest, sizeof(guest), "%s/../guest", self);
	}
	mode = getenv("CLONE_QEMU_MEM");
	/* CLONE_QEMU_MEM=file needs no module. */
	r = kt_main(cases, 1, access(KATASBX_DEVICE, F_OK) < 0 && !(mode && !strcmp(mode, "file")) ?
			  KATASBX_DEVICE " is absent (module not loaded)" : NULL);
	/* A failed run must not leave the module pinned by its template. */
	if (access(KATASBX_DEVICE, F_OK) == 0)
		kx_dev_template_destroy(TAG, NULL);
	return r;
}
