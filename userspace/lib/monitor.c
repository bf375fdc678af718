// SPDX-License-Identifier: GPL-2.0
#include "monitor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "hooks.h"
#include "log.h"
#include "monitor.pb-c.h"
#include "placement.h"
#include "sockets.h"
#include "vmsize.h"

void save_state(struct mon *m)
{
	struct kx_err err;

	if (kx_state_write(m->a->cfg->root, &m->st, &err))
		kx_log(KX_LOG_ERROR, "%s", err.msg);
}

static void on_signal(struct mon *m)
{
	struct signalfd_siginfo si;

	while (read(m->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int status;

			if (!m->vm_gone && waitpid(m->b.vm.pid, &status, WNOHANG) == m->b.vm.pid) {
				m->vm_gone = true;
				m->b.vm.reaped = true;
			}
			continue;
		}
		if (si.ssi_signo == SIGWINCH) {
			follow_winsize(m);
			continue;
		}
		if (m->started && !INIT(m)->waited) {
			request_signal(m, m->a->id, "", si.ssi_signo, false, P_FORWARD, -1, 0);
		} else if (!m->started && (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT ||
					   si.ssi_signo == SIGHUP)) {
			/* a created container is torn down by signalling its monitor */
			INIT(m)->waited = INIT(m)->out_eof = INIT(m)->err_eof = true;
			INIT(m)->exit_status = 128 + si.ssi_signo;
		}
	}
}

/* The host cgroup its creator made for the sandbox (placement.h), if any. */
static int load_hostcg(struct mon *m, struct kx_err *err)
{
	int ret = kx_placement_cgroup(m->a->cfg->root, m->a->id, &m->hostcg, err);

	m->has_hostcg = ret == 0;
	return ret < 0 ? -1 : 0;
}

static int listen_monitor(struct mon *m, struct kx_err *err)
{
	if (kx_state_path(m->sock_path, sizeof(m->sock_path), m->a->cfg->root, m->a->id,
			  "monitor.sock"))
		return kx_error(err, ENAMETOOLONG, "monitor socket for %s", m->a->id);
	m->listen_fd = kx_unix_listen(m->sock_path, err);
	return m->listen_fd < 0 ? -1 : 0;
}

static void vm_started(void *ctx, const struct kx_boot *b)
{
	struct mon *m = ctx;

	m->st.qemu_pid = b->vm.pid;
	m->st.qemu_start = kx_proc_start_time(b->vm.pid);
	save_state(m);
}

static int boot(struct mon *m, struct kx_err *err)
{
	struct kx_config sized = *m->a->cfg;
	const struct kx_config *cfg = &sized;
	char rundir[4096], record[4096], warn[1024];
	Katasbx__Agent__V1__CreateContainerRequest cr =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	cleanup_free char *state_creating = NULL, *state_created = NULL;

	if (kx_state_path(rundir, sizeof(rundir), cfg->root, m->a->id, NULL) ||
	    kx_state_path(record, sizeof(record), cfg->root, m->a->id, KX_NET_RECORD))
		return kx_error(err, ENAMETOOLONG, "state directory of %s", m->a->id);
	const struct kx_spec *spec = m->a->spec;
	bool new_ns = spec->net_ns_index >= 0 && !spec->net_ns_path && !m->a->share_dir;
	bool late = new_ns && m->a->late_net && !m->a->start;
	bool create_hooks = spec->n_hooks[KX_HOOK_PRESTART] || spec->n_hooks[KX_HOOK_CREATE_RUNTIME];

	if (m->has_hostcg)
		sized.hostcg = &m->hostcg;
	if (spec->unknown_caps[0])
		kx_warn(KX_UNKNOWN_CAPS_WARNING, spec->unknown_caps);
	kx_warn_lines(spec->warnings);
	/* the VM sized for the container's limits (a pod's for all its containers') */
	if (m->a->n_size_for)
		kx_vm_size(m->a->cfg, m->a->size_for, m->a->n_size_for, &sized.mem_mib,
			   &sized.vcpus, warn, sizeof(warn));
	else
		kx_vm_size(m->a->cfg, spec->cgroup, spec->n_cgroup, &sized.mem_mib, &sized.vcpus,
			   warn, sizeof(warn));
	kx_warn_lines(warn);
	/*
	 * The task's pid is ours: its network namespace is where CNI (ctr run
	 * --cni, a createRuntime hook as nerdctl's) puts what it makes.
	 */
	if ((late || (new_ns && create_hooks)) && unshare(CLONE_NEWNET))
		return kx_error(err, errno, "a network namespace for %s", m->a->id);
	if (kx_spec_run_hooks(spec, KX_HOOK_PRESTART, &m->st, "creating", err) ||
	    kx_spec_run_hooks(spec, KX_HOOK_CREATE_RUNTIME, &m->st, "creating", err))
		return -1;
	if (late) {
		if (kx_net_open_late(&m->net, err))
			return -1;
	} else if (new_ns && create_hooks) {
		/* what the hooks made in our namespace goes with us and QEMU: no record */
		if (kx_net_open_ns(&m->net, "/proc/self/ns/net", "the network the hooks made", err))
			return -1;
	} else if (kx_net_open(&m->net, spec, err) || kx_net_record(&m->net, record, err)) {
		/* what is to be wired is recorded before it is, for a delete after a crash */
		return -1;
	}
	/* a pod's share holds every container's rootfs: read-only is each one's own */
	if (m->a->share_dir ?
	    kx_boot_vm(cfg, m->a->id, rundir, m->a->share_dir, false, &m->net, &m->b, vm_started,
		       m, err) :
	    kx_boot_sandbox(cfg, m->a->id, rundir, m->a->spec, &m->net, &m->b, vm_started, m,
			    err))
		return -1;
	/* QEMU started in the sandbox's cgroup; its monitor follows (not for the template) */
	if (m->has_hostcg && kx_hostcg_join(&m->hostcg, err))
		return kx_error_wrap(err, "sandbox %s", m->a->id);
	snprintf(m->st.accel, sizeof(m->st.accel), "%s", m->b.accel);
	snprintf(m->st.channel, sizeof(m->st.channel), "%s", m->b.channel);
	snprintf(m->st.boot, sizeof(m->st.boot), "%s", m->b.how);
	m->st.mem_mib = sized.mem_mib;
	m->st.vcpus = sized.vcpus;

	kx_spec_create_request(spec, &cr);
	cr.container_id = (char *)m->a->id;
	cr.hook_state_creating = state_creating = kx_hook_state(spec->oci_version, &m->st, "creating");
	cr.hook_state_created = state_created = kx_hook_state(spec->oci_version, &m->st, "created");
	if (!state_creating || !state_created)
		return kx_error(err, ENOMEM, "create container %s", m->a->id);
	cr.rootfs_tag = KX_ROOTFS_TAG;
	cr.rootfs_subdir = m->a->share_dir ? (char *)m->a->rootfs_subdir : m->b.rootfs_subdir;
	cr.network = m->net.msg;
	if (ttrpc_call(&m->b.agent, KX_AGENT_SERVICE, "CreateContainer", &cr.base,
		       &katasbx__agent__v1__empty__descriptor, NULL, cfg->boot_timeout_ms, err))
		return kx_error_wrap(err, "create container %s in the guest", m->a->id);
	kx_debug("phase container-created %.1f ms", kx_log_elapsed_ms());
	return 0;
}

static int write_pid_file(const char *path, pid_t pid, struct kx_err *err)
{
	char tmp[4200], buf[32];
	int fd, n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return kx_error(err, errno, "write pid file %s", path);
	n = snprintf(buf, sizeof(buf), "%d", pid);
	if (write(fd, buf, n) != n) {
		close(fd);
		unlink(tmp);
		return kx_error(err, errno, "write pid file %s", path);
	}
	close(fd);
	if (rename(tmp, path))
		return kx_error(err, errno, "write pid file %s", path);
	return 0;
}

static void now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

static void teardown(struct mon *m)
{
	int i;

	kx_boot_stop(&m->b);
	kx_net_close(&m->net);	/* after QEMU: its taps are gone with it */
	for (i = 0; i < MAX_CLIENTS; i++)
		if (m->clients[i].used)
			drop_client(m, i);
	if (m->listen_fd >= 0) {
		close(m->listen_fd);
		m->listen_fd = -1;
		unlink(m->sock_path);
	}
}

static void serve(struct mon *m)
{
	enum { F_AGENT, F_LISTEN, F_SIG, F_STDIN0, F_CLIENT0 = F_STDIN0 + MAX_PROCS };
	struct pollfd pfd[F_CLIENT0 + MAX_CLIENTS];
	struct proc *init = INIT(m);
	struct kx_err err;
	char why[4200];
	int i, timeout, kill_ms;

	snprintf(why, sizeof(why), "container %s has stopped", m->a->id);
	while (!(init->waited && init->out_eof && init->err_eof)) {
		if (m->vm_gone || m->b.agent.eof) {
			snprintf(why, sizeof(why), "container %s has stopped: %s (see %s)", m->a->id,
				 m->vm_gone ? "its VM exited" :
				 "the channel to its guest agent failed (a malformed or "
				 "oversize frame, or a hang-up)",
				 m->b.vm.console_path);
			kx_log(KX_LOG_ERROR, "%s", why);
			if (!init->waited)
				init->exit_status = 255;
			break;
		}
		memset(pfd, 0, sizeof(pfd));
		pfd[F_AGENT] = (struct pollfd){ .fd = m->b.agent.fd, .events = POLLIN };
		pfd[F_LISTEN] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
		pfd[F_SIG] = (struct pollfd){ .fd = m->sig_fd, .events = POLLIN };
		for (i = 0; i < MAX_PROCS; i++) {
			struct proc *pr = &m->procs[i];

			pfd[F_STDIN0 + i].fd = -1;
			if (pr->used && pr->started && pr->stdin_open && !pr->stdin_busy &&
			    pr->fd[0] >= 0)
				pfd[F_STDIN0 + i] = (struct pollfd){ .fd = pr->fd[0], .events = POLLIN };
		}
		for (i = 0; i < MAX_CLIENTS; i++) {
			pfd[F_CLIENT0 + i].fd = m->clients[i].used ? m->clients[i].conn.fd : -1;
			pfd[F_CLIENT0 + i].events = POLLIN;
		}
		timeout = drain_timeout(m);
		kill_ms = kill_timeout(m);
		if (kill_ms >= 0 && (timeout < 0 || kill_ms < timeout))
			timeout = kill_ms;
		if (poll(pfd, F_CLIENT0 + MAX_CLIENTS, timeout) < 0) {
			if (errno == EINTR)
				continue;
			kx_log(KX_LOG_ERROR, "poll: %s", strerror(errno));
			break;
		}
		end_drains(m);
		end_kill(m);
		if (pfd[F_SIG].revents)
			on_signal(m);
		if (pfd[F_AGENT].revents) {
			if (ttrpc_conn_fill(&m->b.agent, &err) < 0 && err.errnum != EAGAIN)
				m->b.agent.eof = true;
			if (handle_agent_frames(m))
				m->b.agent.eof = true;
		}
		if (pfd[F_LISTEN].revents)
			on_accept(m);
		for (i = 0; i < MAX_PROCS; i++)
			if (pfd[F_STDIN0 + i].revents && m->procs[i].used && m->procs[i].fd[0] >= 0)
				on_stdin(m, i);
		for (i = 0; i < MAX_CLIENTS; i++)
			if (m->clients[i].used && pfd[F_CLIENT0 + i].revents)
				on_client_readable(m, i);
	}
	answer_pending(m, why);
}

static void report_ready(int fd, const char *msg)
{
	char line[1200];
	int n;

	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s\n", msg);
	/* a creator gone before the line is read: nothing to tell, the pipe closed all the same */
	if (write(fd, line, n) < 0)
		kx_debug("report to the creator: %s", strerror(errno));
	close(fd);
}

size_t kx_monitor_read_ready(int fd, char *msg, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n < len - 1 && (r = read(fd, msg + n, len - 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n += r;
		if (memchr(msg, '\n', n))
			break;
	}
	msg[n] = '\0';
	if (n && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	return n;
}

int kx_monitor_run(const struct kx_monitor_args *a, struct kx_err *err)
{
	struct mon m = { .a = a, .listen_fd = -1, .sig_fd = -1 };
	struct kx_err e2;
	sigset_t mask;
	int i, stdin_flags;

	m.b.agent.fd = -1;
	kx_net_init(&m.net);
	for (i = 0; i < MAX_PENDING; i++)
		m.pend[i].client = -1;
	for (i = 0; i < MAX_PROCS * MAX_WAITERS; i++)
		m.procs[i / MAX_WAITERS].waiter[i % MAX_WAITERS].client = -1;
	m.procs[0].used = true;		/* the init, on the monitor's own stdio */
	snprintf(m.procs[0].cid, sizeof(m.procs[0].cid), "%s", a->id);
	m.procs[0].fd[0] = 0;
	m.procs[0].fd[1] = 1;
	m.procs[0].fd[2] = 2;
	snprintf(m.st.id, sizeof(m.st.id), "%s", a->id);
	snprintf(m.st.bundle, sizeof(m.st.bundle), "%s", a->spec->bundle);
	snprintf(m.st.rootfs, sizeof(m.st.rootfs), "%s", a->spec->root_path);
	m.st.status = KX_STATUS_CREATING;
	m.st.pid = getpid();
	m.st.pid_start = kx_proc_start_time(m.st.pid);
	m.st.annotations_json = a->spec->annotations_json;
	now_rfc3339(m.st.created, sizeof(m.st.created));

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	if (a->spec->process->terminal)
		sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	m.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	if (kx_state_write(a->cfg->root, &m.st, err) ||
	    kx_poststop_record(a->cfg->root, a->id, a->spec, err) || load_hostcg(&m, err) ||
	    listen_monitor(&m, err) || boot(&m, err))
		goto fail;
	m.st.status = KX_STATUS_CREATED;
	if (kx_state_write(a->cfg->root, &m.st, err))
		goto fail;
	if (a->pid_file && write_pid_file(a->pid_file, getpid(), err))
		goto fail;

	/* Drain output and watch for exit from the start; start comes later or now. */
	request_read(&m, 0, false);
	request_read(&m, 0, true);
	request_wait(&m, 0);
	follow_winsize(&m);
	report_ready(a->ready_fd, "ok");
	if (a->start)
		request_start(&m, 0, -1, 0);
	stdin_flags = fcntl(0, F_GETFL);
	m.procs[0].stdin_open = stdin_flags >= 0 && (stdin_flags & O_ACCMODE) != O_WRONLY;

	serve(&m);

	m.st.status = KX_STATUS_STOPPED;
	m.st.has_exit = true;
	m.st.exit_status = m.procs[0].exit_status;
	teardown(&m);
	m.st.qemu_pid = 0;
	save_state(&m);
	close(m.sig_fd);
	kx_debug("phase monitor-done %.1f ms", kx_log_elapsed_ms());
	for (i = 1; i < MAX_PROCS; i++)
		close_proc_fds(&m.procs[i]);
	return m.procs[0].exit_status;

fail:
	teardown(&m);
	close(m.sig_fd);
	kx_state_remove(a->cfg->root, a->id, &e2);
	if (a->pid_file)
		unlink(a->pid_file);
	report_ready(a->ready_fd, err->msg);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	return -1;
}

int kx_monitor_call(const char *root, const char *id, const char *method,
		    const ProtobufCMessage *req, struct kx_err *err)
{
	return kx_monitor_call_resp(root, id, method, req, &katasbx__monitor__v1__empty__descriptor,
				    NULL, 30000, err);
}

int kx_monitor_call_resp(const char *root, const char *id, const char *method,
			 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
			 ProtobufCMessage **resp, int timeout_ms, struct kx_err *err)
{
	char path[4096];
	struct ttrpc_conn c;
	int fd, ret;

	if (kx_state_path(path, sizeof(path), root, id, "monitor.sock"))
		return kx_error(err, ENAMETOOLONG, "monitor of %s", id);
	fd = kx_unix_connect(path, err);
	if (fd < 0)
		return kx_error_wrap(err, "container %s: its monitor is gone", id);
	ttrpc_conn_init(&c, fd);
	ret = ttrpc_call(&c, KX_MONITOR_SERVICE, method, req, resp_desc, resp, timeout_ms, err);
	ttrpc_conn_close(&c);
	return ret;
}
