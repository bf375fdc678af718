// SPDX-License-Identifier: GPL-2.0
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <elf.h>
#include <ftw.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "boot.h"
#include "fsutil.h"
#include "kx_time.h"
#include "log.h"
#include "monitor.h"
#include "net/netcheck.h"
#include "sockets.h"

#define CLAIM_SOCK "claim.sock"
#define HOLDER_LOCK "holder.lock"
#define CLAIM_TIMEOUT_MS 5000

void kx_pool_dir(char *buf, size_t len, const char *root)
{
	snprintf(buf, len, "%s/.pool", root);
}

static bool is_vm(const char *name)
{
	return !strncmp(name, "vm-", 3);
}

/* Keeper and holder alike: SIGTERM, SIGINT, SIGHUP and SIGCHLD in a signalfd. */
static int pool_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
	sigaddset(mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, mask, SFD_CLOEXEC);
}

/* ---- the claimer ---- */

/* One holder's answer: 0 with *v filled, else -1 and why in why. */
static int claim_one(const char *vmdir, const char *key, struct kx_pool_vm *v, char *why,
		     size_t whylen)
{
	struct timeval tv = { .tv_sec = CLAIM_TIMEOUT_MS / 1000 };
	char path[4400], buf[256], chan[16];
	int fd, fds[4], nfd = 0, pid, i;
	unsigned int cid, nics;
	struct kx_err err;
	ssize_t r;

	snprintf(path, sizeof(path), "%s/%s", vmdir, CLAIM_SOCK);
	fd = kx_unix_connect(path, &err);
	if (fd < 0) {
		snprintf(why, whylen, "%s", err.msg);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	i = snprintf(buf, sizeof(buf), "claim %s\n", key);
	if (write(fd, buf, i) != i) {
		snprintf(why, whylen, "%s: write: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	r = kx_recv_fds(fd, buf, sizeof(buf) - 1, fds, 4, &nfd);
	close(fd);
	buf[r > 0 ? r : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	/* with network devices, the namespace of their taps comes as a fourth fd */
	if (r > 0 && sscanf(buf, "ok %d %15s %u %u", &pid, chan, &cid, &nics) == 4 &&
	    nfd == (nics ? 4 : 3) && pid > 0 && !kx_channel_parse(chan, &v->channel)) {
		snprintf(v->dir, sizeof(v->dir), "%s", vmdir);
		snprintf(v->key, sizeof(v->key), "%s", key);
		v->pid = pid;
		v->pidfd = fds[0];
		v->qmp_fd = fds[1];
		v->agent_fd = fds[2];
		v->netns_fd = nics ? fds[3] : -1;
		v->vsock_cid = cid;
		return 0;
	}
	for (i = 0; i < nfd; i++)
		close(fds[i]);
	snprintf(why, whylen, "%s: %s", vmdir, r > 0 ? buf : "no answer");
	return -1;
}

int kx_pool_claim(const char *root, const char *key, struct kx_pool_vm *v, struct kx_err *err)
{
	char dir[4096], vmdir[4200], why[512] = "";
	size_t n, i;
	char **names;

	kx_pool_dir(dir, sizeof(dir), root);
	names = kx_dir_names(dir, is_vm, &n);
	for (i = 0; i < n; i++) {
		snprintf(vmdir, sizeof(vmdir), "%s/%s", dir, names[i]);
		if (!claim_one(vmdir, key, v, why, sizeof(why))) {
			kx_strv_free(names);
			return 0;
		}
	}
	kx_strv_free(names);
	return kx_error(err, ENOENT, "no ready VM in %s%s%s", dir, why[0] ? "; last: " : "", why);
}

/* ---- the holder ---- */

struct holder {
	const struct kx_config *cfg;
	char dir[4096];
	char key[KX_TEMPLATE_KEY_LEN + 1];
	struct kx_boot b;
	int keeper_fd;
	unsigned int n_nics;
	int netns_fd;		/* the taps' namespace, -1 without */
};

/*
 * Answer one claimer: 0 when the VM stays here, 1 when it went to the
 * claimer (*claimer: a pidfd of it, or -1), -1 when it is lost between the
 * two (the claimer got nothing).
 */
static int serve_claim(struct holder *h, int c, const char *sock_path, int *claimer)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct timeval tv = { .tv_sec = 2 };
	char req[128], msg[128];
	int fds[4], pidfd, n = 0;
	ssize_t r;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (n < (int)sizeof(req) - 1 && (r = read(c, req + n, sizeof(req) - 1 - n)) > 0) {
		n += r;
		if (memchr(req, '\n', n))
			break;
	}
	req[n] = '\0';
	req[strcspn(req, "\n")] = '\0';
	if (strncmp(req, "claim ", 6)) {
		dprintf(c, "no: not a claim\n");
		return 0;
	}
	if (strcmp(req + 6, h->key)) {
		dprintf(c, "no: template %s here, not %.20s\n", h->key, req + 6);
		return 0;
	}
	pidfd = syscall(SYS_pidfd_open, h->b.vm.pid, 0);
	if (pidfd < 0) {
		dprintf(c, "no: pidfd_open: %s\n", strerror(errno));
		return 0;
	}
	/* no longer on offer before the claimer moves the directory */
	unlink(sock_path);
	/* taken while it waits for the answer: the claimer is alive, its pid its own */
	*claimer = getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ? -1 :
		   (int)syscall(SYS_pidfd_open, cred.pid, 0);
	n = snprintf(msg, sizeof(msg), "ok %d %s %u %u\n", (int)h->b.vm.pid,
		     kx_channel_name(h->b.vm.channel), h->b.vm.vsock_cid, h->n_nics);
	fds[0] = pidfd;
	fds[1] = h->b.vm.qmp_fd;
	fds[2] = h->b.agent.fd;
	fds[3] = h->netns_fd;
	r = kx_send_fds(c, msg, n, fds, h->n_nics ? 4 : 3);
	close(pidfd);
	if (r && *claimer >= 0) {
		close(*claimer);
		*claimer = -1;
	}
	return r == 0 ? 1 : -1;
}

/*
 * After the claim: QEMU is ours to reap and, like a clone's with its monitor
 * (PR_SET_PDEATHSIG), dies with the process that took it, even one that died
 * before it could stop it or record it.
 */
static void __attribute__((noreturn)) watch_claimed(struct holder *h, int claimer, int sfd)
{
	pid_t qemu = h->b.vm.pid;

	for (;;) {
		struct pollfd p[2] = { { .fd = claimer, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents && read(sfd, &si, sizeof(si)) == sizeof(si) &&
		    si.ssi_signo == SIGCHLD && waitpid(qemu, NULL, WNOHANG) == qemu)
			_exit(0);
		if (claimer >= 0 && p[0].revents) {
			kx_debug("pool: the claimer of %s is gone: stopping its VM", h->dir);
			kill(qemu, SIGKILL);
			break;
		}
	}
	while (waitpid(qemu, NULL, 0) < 0 && errno == EINTR)
		;
	kx_vm_dir_remove(h->dir);	/* if the claimer had not moved it yet */
	_exit(0);
}

#define WARMUP_ID "katasbx-warmup"
#define WARMUP_DIR "warmup"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT ? -1 : 0;
}

/*
 * The warm-up's program: the smallest static x86-64 ELF executable, one
 * PT_LOAD of itself, whose code is exit(0).
 */
static int write_exit0(const char *path)
{
	static const unsigned char code[] = {
		0xb8, 0x3c, 0x00, 0x00, 0x00,	/* mov $60, %eax (exit) */
		0x31, 0xff,			/* xor %edi, %edi */
		0x0f, 0x05,			/* syscall */
	};
	const Elf64_Addr base = 0x400000;
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		unsigned char code[sizeof(code)];
	} __attribute__((packed)) img = {
		.eh = {
			.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB,
				     EV_CURRENT, ELFOSABI_SYSV },
			.e_type = ET_EXEC,
			.e_machine = EM_X86_64,
			.e_version = EV_CURRENT,
			.e_entry = base + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr),
			.e_phoff = sizeof(Elf64_Ehdr),
			.e_ehsize = sizeof(Elf64_Ehdr),
			.e_phentsize = sizeof(Elf64_Phdr),
			.e_phnum = 1,
		},
		.ph = {
			.p_type = PT_LOAD,
			.p_flags = PF_R | PF_X,
			.p_vaddr = base,
			.p_paddr = base,
			.p_filesz = sizeof(img),
			.p_memsz = sizeof(img),
			.p_align = 0x1000,
		},
	};
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	int ok;

	if (fd < 0)
		return -1;
	memcpy(img.code, code, sizeof(code));
	ok = write(fd, &img, sizeof(img)) == (ssize_t)sizeof(img);
	return close(fd) || !ok ? -1 : 0;
}

/*
 * Under TCG every code path a VM runs for the first time is translated first;
 * a restored clone starts with an empty translation cache. Make and start a
 * throwaway container (its program does not exist: the exec fails, the rest
 * is done) so that a claimed VM finds the kernel's paths for a 9p mount,
 * namespaces, mounts, pivot_root, fork and exit already translated.
 */
static void warm_up(struct holder *h)
{
	static char *args[] = { "/exit0" };
	static char *env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin" };
	static char *o_dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k" };
	static char *o_pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620" };
	static char *o_shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" };
	static char *o_sys[] = { "nosuid", "noexec", "nodev", "ro" };
	Katasbx__Agent__V1__Mount m[5] = {
		KATASBX__AGENT__V1__MOUNT__INIT, KATASBX__AGENT__V1__MOUNT__INIT,
		KATASBX__AGENT__V1__MOUNT__INIT, KATASBX__AGENT__V1__MOUNT__INIT,
		KATASBX__AGENT__V1__MOUNT__INIT,
	};
	Katasbx__Agent__V1__Mount *mp[5] = { &m[0], &m[1], &m[2], &m[3], &m[4] };
	Katasbx__Agent__V1__User user = KATASBX__AGENT__V1__USER__INIT;
	Katasbx__Agent__V1__Process proc = KATASBX__AGENT__V1__PROCESS__INIT;
	Katasbx__Agent__V1__CreateContainerRequest cr =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__ContainerRequest c = KATASBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__ProcessRequest w = KATASBX__AGENT__V1__PROCESS_REQUEST__INIT;
	Katasbx__Agent__V1__WaitProcessResponse *ws = NULL;
	char dir[4400], prog[4500];
	struct kx_err err;
	long long t0 = kx_now_ms();
	int n = 0;

#define MNT(d, t, s, o) do { m[n].destination = d; m[n].type = t; m[n].source = s; \
		m[n].options = o; m[n].n_options = sizeof(o) / sizeof(o[0]); n++; } while (0)
	MNT("/dev", "tmpfs", "tmpfs", o_dev);
	MNT("/dev/pts", "devpts", "devpts", o_pts);
	MNT("/dev/shm", "tmpfs", "shm", o_shm);
	MNT("/sys", "sysfs", "sysfs", o_sys);
	m[n].destination = "/proc";
	m[n].type = "proc";
	m[n].source = "proc";
	n++;
#undef MNT
	proc.n_args = 1;
	proc.args = args;
	proc.n_env = 1;
	proc.env = env;
	proc.cwd = "/";
	proc.user = &user;
	cr.container_id = WARMUP_ID;
	cr.process = &proc;
	cr.hostname = "warm";
	cr.rootfs_tag = KX_ROOTFS_TAG;
	cr.rootfs_subdir = WARMUP_DIR;
	cr.n_mounts = n;
	cr.mounts = mp;
	c.container_id = WARMUP_ID;
	w.container_id = WARMUP_ID;
	w.exec_id = "";
	snprintf(dir, sizeof(dir), "%s/share/%s", h->dir, WARMUP_DIR);
	snprintf(prog, sizeof(prog), "%s/exit0", dir);
	if (mkdir(dir, 0755) || write_exit0(prog) ||
	    ttrpc_call(&h->b.agent, KX_AGENT_SERVICE, "CreateContainer", &cr.base,
		       &katasbx__agent__v1__empty__descriptor, NULL, 10000, &err)) {
		kx_debug("pool: warm-up in %s: %s", h->dir, errno ? strerror(errno) : err.msg);
		goto out;
	}
	if (ttrpc_call(&h->b.agent, KX_AGENT_SERVICE, "StartContainer", &c.base,
		       &katasbx__agent__v1__empty__descriptor, NULL, 10000, &err))
		kx_debug("pool: warm-up in %s: start: %s", h->dir, err.msg);
	else if (!ttrpc_call(&h->b.agent, KX_AGENT_SERVICE, "WaitProcess", &w.base,
			     &katasbx__agent__v1__wait_process_response__descriptor,
			     (ProtobufCMessage **)&ws, 10000, &err)) {
		kx_debug("pool: warm-up in %s: exit status %d", h->dir, ws->status);
		katasbx__agent__v1__wait_process_response__free_unpacked(ws, NULL);
	}
	if (ttrpc_call(&h->b.agent, KX_AGENT_SERVICE, "RemoveContainer", &c.base,
		       &katasbx__agent__v1__empty__descriptor, NULL, 10000, &err))
		kx_debug("pool: warm-up in %s: remove: %s", h->dir, err.msg);
	kx_debug("pool: warm-up in %s took %lld ms", h->dir, kx_now_ms() - t0);
out:
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void __attribute__((noreturn)) holder_exit(struct holder *h, int status)
{
	kx_boot_stop(&h->b);
	kx_vm_dir_remove(h->dir);
	_exit(status);
}

static void __attribute__((noreturn)) holder_run(struct holder *h, pid_t keeper)
{
	char share[4200], path[4400];
	struct kx_vm_config vc;
	struct kx_err err;
	sigset_t mask;
	int lock, lfd, sfd, claimer = -1, bad;

	/* an unclaimed VM goes with its keeper; a claimed one stays with its sandbox */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != keeper)
		_exit(1);
	setsid();	/* out of the keeper's terminal: a ^C there is not for QEMU */
	sfd = pool_signals(&mask);

	memset(&h->b, 0, sizeof(h->b));
	h->b.agent.fd = -1;
	snprintf(share, sizeof(share), "%s/share", h->dir);
	snprintf(path, sizeof(path), "%s/%s", share, KX_SHARE_ROOTFS);
	if (mkdir(h->dir, 0700) || mkdir(share, 0755) || mkdir(path, 0755)) {
		kx_log(KX_LOG_ERROR, "pool: make %s: %s", path, strerror(errno));
		holder_exit(h, 1);
	}
	snprintf(path, sizeof(path), "%s/%s", h->dir, HOLDER_LOCK);
	lock = kx_lock_file(path, true, &err);
	if (lock < 0) {
		kx_log(KX_LOG_ERROR, "pool: %s", err.msg);
		holder_exit(h, 1);
	}
	h->netns_fd = -1;
	/* the host probed once, for the VM's key and its boot alike */
	bad = kx_vm_config_from(h->cfg, &vc, &err);
	vc.n_nics = h->n_nics;	/* the key counts the network devices */
	if (bad || kx_template_key(&vc, h->key, &err) ||
	    kx_boot_pool_vm(h->cfg, &vc, h->dir, share, &h->b, &h->netns_fd, &err)) {
		kx_log(KX_LOG_ERROR, "pool: VM in %s: %s", h->dir, err.msg);
		holder_exit(h, 1);
	}
	warm_up(h);
	if (kx_qmp_execute(h->b.vm.qmp_fd, "stop", NULL, NULL, 5000, &err)) {
		kx_log(KX_LOG_ERROR, "pool: VM in %s: %s", h->dir, err.msg);
		holder_exit(h, 1);
	}
	snprintf(path, sizeof(path), "%s/%s", h->dir, CLAIM_SOCK);
	lfd = kx_unix_listen(path, &err);
	if (lfd < 0) {
		kx_log(KX_LOG_ERROR, "pool: %s", err.msg);
		holder_exit(h, 1);
	}
	if (write(h->keeper_fd, "r", 1) != 1)
		holder_exit(h, 1);
	kx_debug("pool: VM ready in %s (%s)", h->dir, h->b.how);

	for (;;) {
		struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		struct signalfd_siginfo si;
		int c;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			holder_exit(h, 1);
		}
		if (p[1].revents && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo != SIGCHLD)
				holder_exit(h, 0);
			if (waitpid(h->b.vm.pid, &h->b.vm.exit_status, WNOHANG) == h->b.vm.pid) {
				h->b.vm.reaped = true;
				kx_log(KX_LOG_ERROR, "pool: the VM in %s exited", h->dir);
				holder_exit(h, 1);
			}
		}
		if (!p[0].revents)
			continue;
		c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		switch (serve_claim(h, c, path, &claimer)) {
		case 0:
			close(c);
			continue;
		case -1:
			close(c);
			kx_log(KX_LOG_ERROR, "pool: handing over the VM in %s failed", h->dir);
			holder_exit(h, 1);
		}
		close(c);
		break;
	}

	/* Claimed: the directory, the VM and its connections are the claimer's now. */
	close(lfd);
	if (write(h->keeper_fd, "c", 1) < 0)
		kx_debug("pool: tell the keeper: %s", strerror(errno));
	close(h->keeper_fd);
	prctl(PR_SET_PDEATHSIG, 0);
	close(h->b.vm.qmp_fd);
	ttrpc_conn_close(&h->b.agent);
	if (h->netns_fd >= 0)
		close(h->netns_fd);	/* the taps are the claimer's to move */
	close(lock);
	watch_claimed(h, claimer, sfd);
}

/* ---- the keeper ---- */

enum slot_state { SLOT_FREE = 0, SLOT_BOOTING, SLOT_READY };

struct slot {
	enum slot_state st;
	pid_t pid;
	int fd;			/* the holder's messages: 'r' ready, 'c' claimed */
	char dir[4096];
};

struct keeper {
	const struct kx_config *cfg;
	char dir[4096];
	unsigned int size;
	unsigned int n_nics;
	struct slot slots[KX_POOL_SIZE_MAX];
	unsigned long seq;
	int lock_fd, sig_fd;
	unsigned int failures;	/* holders in a row that ended before their VM was ready */
	bool ever_ready;	/* one VM was ready once */
	bool announced;		/* the "ready:" line is out */
};

static void keeper_close_fds(struct keeper *k)
{
	unsigned int i;

	for (i = 0; i < k->size; i++)
		if (k->slots[i].st != SLOT_FREE)
			close(k->slots[i].fd);
	close(k->lock_fd);
	close(k->sig_fd);
}

static int spawn_holder(struct keeper *k, struct slot *s, struct kx_err *err)
{
	struct holder h = { .cfg = k->cfg, .n_nics = k->n_nics };
	pid_t keeper = getpid();
	int p[2];

	snprintf(s->dir, sizeof(s->dir), "%s/vm-%d-%lu", k->dir, (int)keeper, k->seq++);
	if (pipe2(p, O_CLOEXEC))
		return kx_error(err, errno, "pipe");
	s->pid = fork();
	if (s->pid < 0) {
		close(p[0]);
		close(p[1]);
		return kx_error(err, errno, "fork");
	}
	if (s->pid == 0) {
		close(p[0]);
		keeper_close_fds(k);
		snprintf(h.dir, sizeof(h.dir), "%s", s->dir);
		h.keeper_fd = p[1];
		holder_run(&h, keeper);
	}
	close(p[1]);
	s->fd = p[0];
	s->st = SLOT_BOOTING;
	return 0;
}

/* Directories of holders that are gone (killed, or of an earlier keeper). */
static void sweep_stale(struct keeper *k)
{
	char path[4400], vmdir[4200];
	size_t n, i;
	char **names = kx_dir_names(k->dir, is_vm, &n);

	for (i = 0; i < n; i++) {
		struct kx_err err;
		int fd;

		snprintf(vmdir, sizeof(vmdir), "%s/%s", k->dir, names[i]);
		snprintf(path, sizeof(path), "%s/%s", vmdir, HOLDER_LOCK);
		fd = kx_lock_file(path, false, &err);
		if (fd < 0 && err.errnum == EWOULDBLOCK)
			continue;	/* its holder lives */
		if (fd >= 0)
			close(fd);
		kx_debug("pool: removing stale %s", vmdir);
		kx_vm_dir_remove(vmdir);
	}
	kx_strv_free(names);
}

static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* A holder's message, or its end. */
static void on_holder(struct keeper *k, struct slot *s)
{
	unsigned int i, ready = 0;
	char c = 0;

	if (read(s->fd, &c, 1) == 1 && c == 'r') {
		s->st = SLOT_READY;
		k->failures = 0;
		k->ever_ready = true;
		for (i = 0; i < k->size; i++)
			ready += k->slots[i].st == SLOT_READY;
		if (ready == k->size && !k->announced) {
			printf("ready: %u warm VMs in %s\n", ready, k->dir);
			fflush(stdout);
			k->announced = true;
		}
		return;
	}
	/* 'c' (claimed) or the holder's end: either way the slot is free */
	if (c != 'c') {
		if (s->st == SLOT_BOOTING)
			k->failures++;
		/* a holder that died (SIGKILL) could not clean up; its QEMU died with it */
		waitpid(s->pid, NULL, 0);
		kx_vm_dir_remove(s->dir);
	}
	close(s->fd);
	s->st = SLOT_FREE;
}

static void stop_holders(struct keeper *k)
{
	long long deadline = kx_now_ms() + k->cfg->boot_timeout_ms + 5000;
	unsigned int i, left;

	for (i = 0; i < k->size; i++)
		if (k->slots[i].st != SLOT_FREE)
			kill(k->slots[i].pid, SIGTERM);
	for (;;) {
		struct pollfd p[KX_POOL_SIZE_MAX];

		for (i = left = 0; i < k->size; i++) {
			p[i].fd = k->slots[i].st != SLOT_FREE ? k->slots[i].fd : -1;
			p[i].events = POLLIN;
			left += k->slots[i].st != SLOT_FREE;
		}
		if (!left || kx_now_ms() >= deadline)
			break;
		if (poll(p, k->size, 200) <= 0)
			continue;
		for (i = 0; i < k->size; i++) {
			char c;

			if (p[i].fd >= 0 && p[i].revents && read(p[i].fd, &c, 1) <= 0) {
				close(k->slots[i].fd);
				k->slots[i].st = SLOT_FREE;
			}
		}
	}
	for (i = 0; i < k->size; i++) {
		if (k->slots[i].st == SLOT_FREE)
			continue;
		kill(k->slots[i].pid, SIGKILL);	/* its QEMU dies with it */
		waitpid(k->slots[i].pid, NULL, 0);
		kx_vm_dir_remove(k->slots[i].dir);
		close(k->slots[i].fd);
		k->slots[i].st = SLOT_FREE;
	}
	reap();
}

int kx_pool_keep(const struct kx_config *cfg, unsigned int size, unsigned int n_nics,
		 struct kx_err *err)
{
	struct keeper k = { .cfg = cfg, .size = size, .n_nics = n_nics, .lock_fd = -1,
			    .sig_fd = -1 };
	long long retry_at = 0;
	unsigned int i;
	char path[4200];
	sigset_t mask;

	if (size < 1 || size > KX_POOL_SIZE_MAX)
		return kx_error(err, EINVAL, "pool size %u: use 1 to %d", size, KX_POOL_SIZE_MAX);
	if (n_nics > KX_NET_MAX_IFACES)
		return kx_error(err, EINVAL, "%u network interfaces per VM: use 0 to %d", n_nics,
				KX_NET_MAX_IFACES);
	kx_pool_dir(k.dir, sizeof(k.dir), cfg->root);
	if (kx_mkdir_p(k.dir, 0700))
		return kx_error(err, errno, "make %s", k.dir);
	snprintf(path, sizeof(path), "%s/keeper.lock", k.dir);
	k.lock_fd = kx_lock_file(path, false, err);
	if (k.lock_fd < 0 && err->errnum == EWOULDBLOCK)
		return kx_error(err, 0, "a pool keeper already runs for %s (%s is locked)",
				cfg->root, path);
	if (k.lock_fd < 0)
		return -1;
	sweep_stale(&k);
	k.sig_fd = pool_signals(&mask);
	kx_info("pool: keeping %u warm VMs in %s%s", size, k.dir,
		n_nics ? " (with network devices)" : "");

	for (;;) {
		struct pollfd p[1 + KX_POOL_SIZE_MAX];
		struct signalfd_siginfo si;
		unsigned int active = 0, booting = 0;
		int timeout = -1;
		bool stop = false;

		for (i = 0; i < size; i++) {
			active += k.slots[i].st != SLOT_FREE;
			booting += k.slots[i].st == SLOT_BOOTING;
		}
		/* one VM boots at a time: a boot under TCG takes a core */
		if (active < size && !booting) {
			if (kx_now_ms() >= retry_at) {
				for (i = 0; k.slots[i].st != SLOT_FREE; i++)
					;
				if (spawn_holder(&k, &k.slots[i], err)) {
					kx_log(KX_LOG_ERROR, "pool: %s", err->msg);
					retry_at = kx_now_ms() + 5000;
				}
			}
			if (kx_now_ms() < retry_at)
				timeout = (int)(retry_at - kx_now_ms());
		}
		p[0] = (struct pollfd){ .fd = k.sig_fd, .events = POLLIN };
		for (i = 0; i < size; i++)
			p[1 + i] = (struct pollfd){ .fd = k.slots[i].st ? k.slots[i].fd : -1,
						    .events = POLLIN };
		if (poll(p, 1 + size, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents && read(k.sig_fd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				reap();
			else
				stop = true;
		}
		if (stop)
			break;
		for (i = 0; i < size; i++)
			if (k.slots[i].st != SLOT_FREE && p[1 + i].revents)
				on_holder(&k, &k.slots[i]);
		if (k.failures >= 3 && !k.ever_ready) {
			/* never one ready: the settings are wrong, not the moment */
			kx_error(err, 0, "the first %u VMs failed to start (their errors are above)",
				 k.failures);
			break;
		}
		if (k.failures >= 3) {
			kx_log(KX_LOG_ERROR, "pool: %u VMs in a row failed to start; retrying in 5 s",
			       k.failures);
			k.failures = 0;
			retry_at = kx_now_ms() + 5000;
		}
	}
	kx_info("pool: stopping");
	stop_holders(&k);
	close(k.sig_fd);
	close(k.lock_fd);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	return k.failures >= 3 && !k.ever_ready ? -1 : 0;
}
