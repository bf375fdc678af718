// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU microvm: the command line, the process (start, stop, reap) and the
 * connection to the agent channel.
 */
#include "vmm/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "kx_time.h"
#include "kxdev.h"
#include "log.h"
#include "net/netcheck.h"
#include "sockets.h"

/*
 * The machine and the base kernel command line, tested to boot on QEMU 7.2
 * here (TCG and KVM). Change them here and only here.
 */
static const char KX_MACHINE[] = "microvm,x-option-roms=off";
static const char KX_BASE_CMDLINE[] =
	"console=ttyS0 quiet panic=-1 no_timer_check cryptomgr.notests";
/*
 * Under TCG the guest TSC ticks at the host's rate, but the guest's own
 * calibration against the emulated PIT fails now and then (an irregular
 * vCPU; microvm has no HPET or PM timer to fall back on) and the boot hangs
 * with jiffies stuck. Tell it the rate instead, and keep the clocksource
 * watchdog from discarding the TSC under load.
 */
static const char KX_TCG_CLOCK[] = "tsc_early_khz=%u tsc=reliable";

#define QMP_SOCK "qmp.sock"
#define AGENT_SOCK "agent.sock"
#define CONSOLE_LOG "console.log"
#define QEMU_LOG "qemu.log"

#define DEFAULT_MEM_MIB 256
#define DEFAULT_TB_MIB 32
#define QMP_WAIT_MS 30000	/* deadlines: a nested QEMU under TCG took 7 s to answer */
#define QMP_HANDSHAKE_MS 30000

static const char *qemu_name(const char *qemu)
{
	const char *s;

	if (!qemu || !*qemu)
		return "qemu-system-x86_64";
	s = strrchr(qemu, '/');
	return s ? s + 1 : qemu;
}

/* ---- argv ---- */

struct argv_buf {
	char **v;
	size_t n, cap;
	bool oom;
};

static void __attribute__((format(printf, 2, 3))) push(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;
	char *s, **nv;

	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		nv = realloc(a->v, a->cap * sizeof(*nv));
		if (!nv) {
			a->oom = true;
			return;
		}
		a->v = nv;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		a->oom = true;
		s = NULL;
	}
	va_end(ap);
	if (!s)
		return;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void kx_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

/* QEMU's option syntax splits on commas; a path with one would be misparsed. */
static int no_comma(const char *what, const char *path, struct kx_err *err)
{
	if (strchr(path, ','))
		return kx_error(err, EINVAL,
				"%s path '%s' contains a comma, which QEMU's option syntax cannot "
				"take here: use a path without commas",
				what, path);
	return 0;
}

static int readable_file(const char *what, const char *path, struct kx_err *err)
{
	struct stat st;

	if (!path || !*path)
		return kx_error(err, EINVAL,
				"no guest %s given: build the guest image with `make` (it lands in "
				"build/guest/) or point the runtime at one",
				what);
	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return kx_error(err, errno,
				"guest %s %s: build the guest image with `make` (it lands in "
				"build/guest/) or point the runtime at another %s",
				what, path, what);
	if (!S_ISREG(st.st_mode))
		return kx_error(err, EINVAL, "guest %s %s is not a regular file", what, path);
	return 0;
}

static int validate(const struct kx_vm_config *cfg, struct kx_err *err)
{
	struct sockaddr_un sun;
	struct stat st;

	if (!cfg->qemu || !*cfg->qemu)
		return kx_error(err, ENOENT,
				"qemu-system-x86_64 not found: install qemu-system-x86 "
				"(apt-get install qemu-system-x86) or set KATASBX_QEMU");
	if (readable_file("kernel", cfg->kernel, err) < 0 ||
	    readable_file("initrd", cfg->initrd, err) < 0)
		return -1;
	if (no_comma("kernel", cfg->kernel, err) < 0 || no_comma("initrd", cfg->initrd, err) < 0)
		return -1;
	if (cfg->mem_mib && cfg->mem_mib < 64)
		return kx_error(err, EINVAL, "VM memory %u MiB is too small: at least 64 MiB",
				cfg->mem_mib);
	if (cfg->vcpus > 64)
		return kx_error(err, EINVAL, "VM vCPUs %u out of range 1..64", cfg->vcpus);
	if (cfg->accel != KX_ACCEL_KVM && cfg->accel != KX_ACCEL_TCG)
		return kx_error(err, EINVAL, "VM accelerator not resolved (%s): use kx_accel_choose",
				kx_accel_name(cfg->accel));
	if (cfg->channel != KX_CHANNEL_SERIAL && cfg->channel != KX_CHANNEL_VSOCK)
		return kx_error(err, EINVAL, "agent channel not resolved (%s): use kx_channel_choose",
				kx_channel_name(cfg->channel));
	/* CIDs 0-2 are the hypervisor, local and host; U32_MAX is VMADDR_CID_ANY. */
	if (cfg->channel == KX_CHANNEL_VSOCK && (cfg->vsock_cid < 3 || cfg->vsock_cid == UINT32_MAX))
		return kx_error(err, EINVAL, "vsock CID %u is reserved: use 3..%u", cfg->vsock_cid,
				UINT32_MAX - 1);
	if (!cfg->rundir || !*cfg->rundir)
		return kx_error(err, EINVAL, "no run directory given for the VM");
	if (no_comma("run directory", cfg->rundir, err) < 0)
		return -1;
	if (strlen(cfg->rundir) + 1 + strlen(AGENT_SOCK) >= sizeof(sun.sun_path))
		return kx_error(err, ENAMETOOLONG,
				"run directory %s is too long for a unix socket path (%zu bytes "
				"with /%s): use a shorter one",
				cfg->rundir, sizeof(sun.sun_path) - 1, AGENT_SOCK);
	if (cfg->mem_path && no_comma("memory file", cfg->mem_path, err) < 0)
		return -1;
	if (cfg->n_nics > KX_NET_MAX_IFACES)
		return kx_error(err, EINVAL, "%u network interfaces: a VM takes at most %d",
				cfg->n_nics, KX_NET_MAX_IFACES);
	for (unsigned int i = 0; i < cfg->n_nics; i++)
		if (!cfg->tap_fds || cfg->tap_fds[i] < 0)
			return kx_error(err, EBADF, "network interface %u: no tap device", i);
	if (cfg->share_path) {
		if (no_comma("shared directory", cfg->share_path, err) < 0)
			return -1;
		if (stat(cfg->share_path, &st) < 0)
			return kx_error(err, errno, "shared directory %s", cfg->share_path);
		if (!S_ISDIR(st.st_mode))
			return kx_error(err, ENOTDIR, "shared directory %s", cfg->share_path);
	}
	return 0;
}

int kx_vm_build_argv(const struct kx_vm_config *cfg, char ***argv, struct kx_err *err)
{
	struct argv_buf a = { 0 };
	unsigned int mem = cfg->mem_mib ? cfg->mem_mib : DEFAULT_MEM_MIB;
	unsigned int vcpus = cfg->vcpus ? cfg->vcpus : 1;
	unsigned int tb = cfg->tb_size_mib ? cfg->tb_size_mib : DEFAULT_TB_MIB;
	bool vsock = cfg->channel == KX_CHANNEL_VSOCK;
	const char *extra = cfg->cmdline_extra && *cfg->cmdline_extra ? cfg->cmdline_extra : NULL;
	char clock[64];

	*argv = NULL;
	if (validate(cfg, err) < 0)
		return -1;

	push(&a, "%s", cfg->qemu);
	push(&a, "-M");
	if (cfg->mem_path) {
		push(&a, "%s,memory-backend=mem", KX_MACHINE);
		push(&a, "-object");
		push(&a, "memory-backend-file,id=mem,size=%uM,mem-path=%s,share=%s", mem,
		     cfg->mem_path, cfg->mem_share ? "on" : "off");
	} else {
		push(&a, "%s", KX_MACHINE);
	}
	if (cfg->incoming) {
		push(&a, "-incoming");
		push(&a, "defer");
	}
	push(&a, "-accel");
	if (cfg->accel == KX_ACCEL_KVM) {
		push(&a, "kvm");
		push(&a, "-cpu");
		push(&a, "host");
	} else {
		push(&a, "tcg,tb-size=%u", tb);
		push(&a, "-cpu");
		push(&a, "max");
	}
	push(&a, "-m");
	push(&a, "%u", mem);
	push(&a, "-smp");
	push(&a, "%u", vcpus);
	push(&a, "-nodefaults");
	push(&a, "-no-user-config");
	push(&a, "-display");
	push(&a, "none");
	push(&a, "-no-reboot");
	push(&a, "-serial");
	push(&a, "file:%s/%s", cfg->rundir, CONSOLE_LOG);
	push(&a, "-qmp");
	push(&a, "unix:%s/%s,server=on,wait=off", cfg->rundir, QMP_SOCK);
	push(&a, "-kernel");
	push(&a, "%s", cfg->kernel);
	push(&a, "-initrd");
	push(&a, "%s", cfg->initrd);
	clock[0] = '\0';
	if (cfg->accel != KX_ACCEL_KVM && cfg->tsc_khz) {
		clock[0] = ' ';
		snprintf(clock + 1, sizeof(clock) - 1, KX_TCG_CLOCK, cfg->tsc_khz);
	}
	push(&a, "-append");
	if (vsock)
		push(&a, "%s%s katasbx.channel=vsock katasbx.port=%u%s%s", KX_BASE_CMDLINE, clock,
		     KX_AGENT_VSOCK_PORT, extra ? " " : "", extra ? extra : "");
	else
		push(&a, "%s%s katasbx.channel=serial%s%s", KX_BASE_CMDLINE, clock,
		     extra ? " " : "", extra ? extra : "");
	if (vsock) {
		push(&a, "-device");
		push(&a, "vhost-vsock-device,guest-cid=%u", cfg->vsock_cid);
	} else {
		push(&a, "-device");
		push(&a, "virtio-serial-device");
		push(&a, "-chardev");
		push(&a, "socket,id=agent,path=%s/%s,server=on,wait=off", cfg->rundir, AGENT_SOCK);
		push(&a, "-device");
		push(&a, "virtserialport,chardev=agent,name=%s", KX_AGENT_SERIAL_NAME);
	}
	if (cfg->share_path) {
		push(&a, "-fsdev");
		/* a share holds a rootfs and bind mounts from other filesystems: distinct
		 * inode numbers for the guest (remap), else files of two may collide */
		push(&a, "local,id=fs0,path=%s,security_model=none,multidevs=remap%s", cfg->share_path,
		     cfg->share_readonly ? ",readonly=on" : "");
		push(&a, "-device");
		push(&a, "virtio-9p-device,fsdev=fs0,mount_tag=%s", KX_ROOTFS_TAG);
	}
	push(&a, "-object");
	push(&a, "rng-random,id=rng0,filename=/dev/urandom");
	push(&a, "-device");
	push(&a, "virtio-rng-device,rng=rng0");
	for (unsigned int i = 0; i < cfg->n_nics; i++) {
		uint8_t mac[6];

		kx_net_device_mac(i, mac);
		push(&a, "-netdev");
		push(&a, "tap,id=net%u,fd=%u%s", i, KX_TAP_FD_BASE + i,
		     cfg->vhost_net ? ",vhost=on" : "");
		push(&a, "-device");
		push(&a, "virtio-net-device,netdev=net%u,mac=%02x:%02x:%02x:%02x:%02x:%02x", i,
		     mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	}

	if (a.oom) {
		kx_argv_free(a.v);
		return kx_error(err, ENOMEM, "building the QEMU command line");
	}
	*argv = a.v;
	return 0;
}

/* ---- the QEMU process ---- */

/* The last non-empty line of QEMU's stderr log, for error messages. */
void kx_file_last_line(const char *path, char *out, size_t outsz)
{
	char buf[4096], *end, *start;
	off_t size;
	ssize_t n;
	int fd;

	snprintf(out, outsz, "(no output)");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size < 0) {
		close(fd);
		return;
	}
	n = pread(fd, buf, sizeof(buf) - 1, size > (off_t)sizeof(buf) - 1 ?
			 size - (off_t)(sizeof(buf) - 1) : 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	end = buf + strlen(buf);
	while (end > buf && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	if (end == buf)
		return;
	start = strrchr(buf, '\n');
	start = start ? start + 1 : buf;
	snprintf(out, outsz, "%s", start);
}

static void describe_status(int status, char *out, size_t outsz)
{
	if (WIFEXITED(status))
		snprintf(out, outsz, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, outsz, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(out, outsz, "status 0x%x", status);
}

/* waitpid(WNOHANG) that records the reap: true if QEMU is gone. */
static bool vm_exited(struct kx_vm *vm)
{
	pid_t r;

	if (vm->reaped)
		return true;
	if (vm->pid <= 0)
		return true;
	if (vm->adopted) {
		struct pollfd p = { .fd = vm->pidfd, .events = POLLIN };

		if (poll(&p, 1, 0) == 0)
			return false;
		vm->reaped = true;	/* exited; its parent reaps it */
		return true;
	}
	do
		r = waitpid(vm->pid, &vm->exit_status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == vm->pid || (r < 0 && errno == ECHILD)) {
		vm->reaped = true;
		return true;
	}
	return false;
}

static void vm_kill(struct kx_vm *vm)
{
	pid_t r;

	if (vm->pid <= 0 || vm->reaped)
		return;
	if (vm->adopted) {
		struct pollfd p = { .fd = vm->pidfd, .events = POLLIN };

		syscall(SYS_pidfd_send_signal, vm->pidfd, SIGKILL, NULL, 0);
		while (poll(&p, 1, 5000) < 0 && errno == EINTR)
			;
		vm->reaped = true;
		return;
	}
	kill(vm->pid, SIGKILL);
	do
		r = waitpid(vm->pid, &vm->exit_status, 0);
	while (r < 0 && errno == EINTR);
	vm->reaped = true;
}

static int exited_error(struct kx_vm *vm, const char *qemu, const char *when,
			struct kx_err *err)
{
	char status[64], tail[512];

	describe_status(vm->exit_status, status, sizeof(status));
	kx_file_last_line(vm->log_path, tail, sizeof(tail));
	return kx_error(err, 0, "%s exited %s (%s): %s", qemu, when, status, tail);
}

/* kx_unix_connect, with its errno left for the callers' retry decisions. */
static int unix_connect(const char *path, int *fd_out)
{
	struct kx_err e;
	int fd = kx_unix_connect(path, &e);

	if (fd < 0) {
		errno = e.errnum;
		return -1;
	}
	*fd_out = fd;
	return 0;
}

static int set_paths(struct kx_vm *vm, const char *rundir, struct kx_err *err)
{
	if (snprintf(vm->qmp_path, sizeof(vm->qmp_path), "%s/%s", rundir, QMP_SOCK) >=
		    (int)sizeof(vm->qmp_path) ||
	    snprintf(vm->agent_path, sizeof(vm->agent_path), "%s/%s", rundir, AGENT_SOCK) >=
		    (int)sizeof(vm->agent_path) ||
	    snprintf(vm->console_path, sizeof(vm->console_path), "%s/%s", rundir,
		     CONSOLE_LOG) >= (int)sizeof(vm->console_path) ||
	    snprintf(vm->log_path, sizeof(vm->log_path), "%s/%s", rundir, QEMU_LOG) >=
		    (int)sizeof(vm->log_path))
		return kx_error(err, ENAMETOOLONG, "run directory %s", rundir);
	return 0;
}

/*
 * In the child, between fork and exec: async-signal-safe calls only. The
 * taps become fds KX_TAP_FD_BASE.. (moved above that range first, so that
 * none is overwritten before it is moved), every other fd above 2 closes.
 */
static void __attribute__((noreturn)) child_exec(char **argv, pid_t parent, int nullfd, int logfd,
						 const int *taps, unsigned int ntaps,
						 const struct kx_hostcg_spawn *cg, bool in_cg)
{
	static const char msg[] = "katasbx: exec of QEMU failed\n";
	static const char cg_msg[] = "katasbx: QEMU could not join its cgroup\n";
	int moved[KX_NET_MAX_IFACES];
	sigset_t all;

	/* Dies with the thread that forked it; getppid closes the race with its exit. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(nullfd, 0) < 0 || dup2(nullfd, 1) < 0 || dup2(logfd, 2) < 0)
		_exit(127);
	if (kx_hostcg_spawn_enter(cg, in_cg)) {
		if (write(2, cg_msg, sizeof(cg_msg) - 1) < 0)
			_exit(127);
		_exit(127);
	}
	for (unsigned int i = 0; i < ntaps; i++)
		if ((moved[i] = fcntl(taps[i], F_DUPFD, KX_TAP_FD_BASE + ntaps)) < 0)
			_exit(127);
	for (unsigned int i = 0; i < ntaps; i++)
		if (dup2(moved[i], KX_TAP_FD_BASE + i) < 0)
			_exit(127);
	close_range(KX_TAP_FD_BASE + ntaps, ~0U, 0);
	execv(argv[0], argv);
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(127);
	_exit(127);
}

static int start_once(const struct kx_vm_config *given, struct kx_vm *vm, struct kx_err *err)
{
	struct kx_vm_config c = *given, *cfg = &c;
	const char *name = qemu_name(cfg->qemu);
	char **argv = NULL;
	int nullfd = -1, logfd = -1, qmp = -1;
	struct kx_hostcg_spawn cg = { .dirfd = -1, .v2_procs = -1 };
	bool in_cg = false;
	long long deadline;
	struct stat st;
	pid_t parent;

	if (cfg->accel != KX_ACCEL_KVM && !cfg->incoming && !cfg->tsc_khz)
		cfg->tsc_khz = kx_host_tsc_khz();
	memset(vm, 0, sizeof(*vm));
	vm->pid = -1;
	vm->qmp_fd = -1;
	vm->pidfd = -1;
	vm->cid_lease_fd = -1;
	if (cfg->qemu && *cfg->qemu &&
	    (stat(cfg->qemu, &st) < 0 || !S_ISREG(st.st_mode) || access(cfg->qemu, X_OK) < 0))
		return kx_error(err, ENOENT,
				"%s not found at %s: install qemu-system-x86 "
				"(apt-get install qemu-system-x86) or set KATASBX_QEMU",
				name, cfg->qemu);
	if (kx_vm_build_argv(cfg, &argv, err) < 0)
		return -1;
	if (stat(cfg->rundir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		kx_error(err, errno ? errno : ENOTDIR, "run directory %s", cfg->rundir);
		goto fail;
	}
	if (set_paths(vm, cfg->rundir, err) < 0)
		goto fail;
	/* A stale socket would let us talk to nobody, or to an older QEMU. */
	unlink(vm->qmp_path);
	unlink(vm->agent_path);

	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0) {
		kx_error(err, errno, "open /dev/null");
		goto fail;
	}
	logfd = open(vm->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		kx_error(err, errno, "create %s", vm->log_path);
		goto fail;
	}

	if (cfg->cgroup && kx_hostcg_spawn_open(cfg->cgroup, &cg, err))
		goto fail;
	parent = getpid();
	vm->pid = kx_hostcg_fork(&cg, &in_cg);
	if (vm->pid < 0) {
		kx_error(err, errno, "fork for %s", name);
		goto fail;
	}
	if (vm->pid == 0)
		child_exec(argv, parent, nullfd, logfd, cfg->tap_fds, cfg->n_nics, &cg, in_cg);
	if (cfg->cgroup)
		kx_debug("%s %d started in cgroup %s (%s)", name, (int)vm->pid, cfg->cgroup->inner,
			 in_cg ? "clone3 into it" : "joined before exec");
	kx_hostcg_spawn_close(&cg);
	vm->live = true;
	vm->pidfd = syscall(SYS_pidfd_open, vm->pid, 0);	/* -1: stop polls instead */
	close(nullfd);
	close(logfd);
	nullfd = logfd = -1;

	deadline = kx_now_ms() + QMP_WAIT_MS;
	for (;;) {
		if (vm_exited(vm)) {
			exited_error(vm, name, "during startup", err);
			goto fail;
		}
		if (unix_connect(vm->qmp_path, &qmp) == 0)
			break;
		if (errno != ENOENT && errno != ECONNREFUSED) {
			kx_error(err, errno, "connect to QMP socket %s", vm->qmp_path);
			goto fail;
		}
		if (kx_now_ms() >= deadline) {
			kx_error(err, ETIMEDOUT, "%s did not open its QMP socket %s within %d s",
				 name, vm->qmp_path, QMP_WAIT_MS / 1000);
			goto fail;
		}
		kx_sleep_ms(10);
	}
	if (kx_qmp_handshake(qmp, QMP_HANDSHAKE_MS, err) < 0) {
		if (vm_exited(vm))
			exited_error(vm, name, "during QMP negotiation", err);
		else
			kx_error_wrap(err, "%s QMP socket %s", name, vm->qmp_path);
		goto fail;
	}
	vm->qmp_fd = qmp;
	vm->channel = cfg->channel;
	vm->vsock_cid = cfg->vsock_cid;
	kx_argv_free(argv);
	return 0;

fail:
	kx_hostcg_spawn_close(&cg);
	if (qmp >= 0)
		close(qmp);
	if (nullfd >= 0)
		close(nullfd);
	if (logfd >= 0)
		close(logfd);
	vm_kill(vm);
	if (vm->qmp_path[0])
		unlink(vm->qmp_path);
	if (vm->agent_path[0])
		unlink(vm->agent_path);
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	vm->pidfd = -1;
	vm->live = false;
	vm->pid = -1;
	kx_argv_free(argv);
	return -1;
}

static int vsock_connect(uint32_t cid, int timeout_ms, int *fd_out)
{
	struct sockaddr_vm svm = {
		.svm_family = AF_VSOCK,
		.svm_cid = cid,
		.svm_port = KX_AGENT_VSOCK_PORT,
	};
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd, saved;

	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Bounded by our deadline rather than the 2 s kernel default. */
	setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&svm, sizeof(svm)) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	*fd_out = fd;
	return 0;
}

int kx_vm_connect_agent(struct kx_vm *vm, int timeout_ms, struct kx_err *err)
{
	long long deadline = kx_now_ms() + timeout_ms;
	bool vsock = vm->channel == KX_CHANNEL_VSOCK;
	int fd = -1, left, r;

	if (!vm->live)
		return kx_error(err, EINVAL, "agent channel: the VM is not running");
	for (;;) {
		if (vm_exited(vm))
			return exited_error(vm, "qemu-system-x86_64",
					    "before the agent channel connected", err);
		left = (int)(deadline - kx_now_ms());
		if (vsock)
			r = vsock_connect(vm->vsock_cid, left > 1000 ? 1000 : left > 0 ? left : 1,
					  &fd);
		else
			r = unix_connect(vm->agent_path, &fd);
		if (r == 0)
			return fd;
		if (vsock ? (errno != ECONNRESET && errno != ECONNREFUSED && errno != ETIMEDOUT &&
			     errno != ENODEV && errno != EINTR)
			  : (errno != ENOENT && errno != ECONNREFUSED && errno != EINTR)) {
			if (vsock)
				return kx_error(err, errno, "connect to agent on vsock %u:%u",
						vm->vsock_cid, KX_AGENT_VSOCK_PORT);
			return kx_error(err, errno, "connect to agent socket %s", vm->agent_path);
		}
		if (kx_now_ms() >= deadline) {
			if (vsock)
				return kx_error(err, ETIMEDOUT,
						"agent on vsock %u:%u did not answer within %d ms",
						vm->vsock_cid, KX_AGENT_VSOCK_PORT, timeout_ms);
			return kx_error(err, ETIMEDOUT,
					"agent socket %s did not accept within %d ms",
					vm->agent_path, timeout_ms);
		}
		kx_sleep_ms(20);
	}
}

/*
 * QEMU's words, the last line of its log, when vhost-vsock refused a CID
 * another user of vsock on the host holds (read there, not in the error:
 * QEMU may go while QMP is set up, and the error is then QMP's)
 */
static bool cid_in_use(const struct kx_vm *vm)
{
	char tail[512];

	kx_file_last_line(vm->log_path, tail, sizeof(tail));
	return strstr(tail, "unable to set guest cid") && strstr(tail, strerror(EADDRINUSE));
}

#define MAX_REFUSED_CIDS 8

int kx_vm_start(const struct kx_vm_config *given, struct kx_vm *vm, struct kx_err *err)
{
	struct kx_vm_config c = *given;
	int refused[MAX_REFUSED_CIDS], n_refused = 0, lease = -1, ret;

	if (given->channel != KX_CHANNEL_VSOCK)
		return start_once(given, vm, err);
	for (;;) {
		int r = kx_dev_cid_lease(&c.vsock_cid, &lease, err);

		if (r < 0) {
			ret = -1;
			break;
		}
		ret = start_once(&c, vm, err);
		if (!ret || r == 1 || !cid_in_use(vm) || n_refused == MAX_REFUSED_CIDS)
			break;
		/* held while the next is leased, so that the module does not hand it out again */
		kx_debug("vsock CID %u is in use on the host (vhost-vsock refused it): the next lease",
			 c.vsock_cid);
		refused[n_refused++] = lease;
		lease = -1;
	}
	for (int i = 0; i < n_refused; i++)
		close(refused[i]);
	if (ret) {
		if (lease >= 0)
			close(lease);
		return -1;
	}
	vm->cid_lease_fd = lease;
	if (lease >= 0)
		kx_debug("vsock CID %u leased from /dev/katasbx", c.vsock_cid);
	return 0;
}

void kx_vm_stop(struct kx_vm *vm, int timeout_ms)
{
	long long deadline = kx_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	if (!vm->live)
		return;
	if (vm->qmp_fd >= 0) {
		/* Best effort: QEMU may close the socket before it answers. */
		if (!vm_exited(vm))
			kx_qmp_execute(vm->qmp_fd, "quit", NULL, NULL,
				       timeout_ms > 0 && timeout_ms < 1000 ? timeout_ms : 1000, NULL);
		close(vm->qmp_fd);
		vm->qmp_fd = -1;
	}
	while (!vm_exited(vm) && kx_now_ms() < deadline) {
		struct pollfd p = { .fd = vm->pidfd, .events = POLLIN };

		if (vm->pidfd < 0 || poll(&p, 1, (int)(deadline - kx_now_ms())) < 0)
			kx_sleep_ms(10);
	}
	vm_kill(vm);
	if (vm->qmp_path[0])
		unlink(vm->qmp_path);
	if (vm->agent_path[0])
		unlink(vm->agent_path);
	if (vm->cid_lease_fd >= 0) {
		close(vm->cid_lease_fd);	/* QEMU is gone: its CID is free */
		vm->cid_lease_fd = -1;
	}
	vm->live = false;
	vm->pid = -1;
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	vm->pidfd = -1;
	vm->adopted = false;
}

int kx_vm_adopt(struct kx_vm *vm, pid_t pid, int pidfd, int qmp_fd, const char *rundir,
		enum kx_channel channel, uint32_t vsock_cid, struct kx_err *err)
{
	memset(vm, 0, sizeof(*vm));
	vm->qmp_fd = -1;
	vm->pidfd = -1;
	vm->cid_lease_fd = -1;	/* the warm VM's lease stays with its holder, which outlives it */
	if (set_paths(vm, rundir, err) < 0) {
		/* nobody could stop it later */
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		close(pidfd);
		close(qmp_fd);
		vm->pid = -1;
		return -1;
	}
	vm->pid = pid;
	vm->pidfd = pidfd;
	vm->qmp_fd = qmp_fd;
	vm->adopted = true;
	vm->live = true;
	vm->channel = channel;
	vm->vsock_cid = vsock_cid;
	return 0;
}
