// SPDX-License-Identifier: GPL-2.0
/*
 * Containers and their processes, agent side: create (the child builds the
 * container and waits), start, exec, signal, reap, remove, stats.
 *
 * Each child has a SOCK_SEQPACKET sync socket: the agent sends one byte to
 * let it go on (after placing it in its cgroup) and one to start it; the
 * child reports "ready" or an error, and the close-on-exec end shuts when
 * the exec succeeded.
 */
#include "agent.h"
#include "net/netcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CONTAINERS 1024
#define MAX_PROCS 1024
#define TEARDOWN_WAIT_MS 5000

struct container *containers;
static size_t ncontainers;
static int agent_pidns = -1;

struct container *container_find(const char *id)
{
	for (struct container *c = containers; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

struct container *container_get(const struct call *call, const char *id, int *ret)
{
	struct container *c;

	if (!kx_id_valid(id)) {
		*ret = reply_err(call, TTRPC_INVALID_ARGUMENT, "container id invalid");
		return NULL;
	}
	c = container_find(id);
	if (!c)
		*ret = reply_err(call, TTRPC_NOT_FOUND, "container %s not found", id);
	return c;
}

struct process *process_find(struct container *c, const char *exec_id)
{
	for (struct process *p = c->procs; p; p = p->next)
		if (!strcmp(p->exec_id, exec_id))
			return p;
	return NULL;
}

static struct process *process_new(struct container *c, const char *exec_id)
{
	struct process *p = calloc(1, sizeof(*p)), **pp;

	if (!p)
		return NULL;
	p->c = c;
	snprintf(p->exec_id, sizeof(p->exec_id), "%s", exec_id);
	p->pid = -1;
	p->sync_fd = p->tty_fd = -1;
	p->in.fd = p->out.fd = p->err.fd = -1;
	for (pp = &c->procs; *pp; pp = &(*pp)->next)
		;
	*pp = p;
	return p;
}

static void process_free(void *ptr)
{
	struct process *p = ptr;

	buf_free(&p->in.buf);
	buf_free(&p->out.buf);
	buf_free(&p->err.buf);
	free(p);
}

/* Unlinks p and frees it after this loop iteration; parked calls see p->dead. */
static void process_forget(struct process *p)
{
	for (struct process **pp = &p->c->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->sync_call_set)
		reply_err(&p->sync_call, TTRPC_ABORTED, "container %s removed", p->c->id);
	p->sync_call_set = false;
	if (p->sync_fd >= 0)
		close(p->sync_fd);
	p->sync_fd = -1;
	stdio_close(p);
	p->dead = true;
	defer_free(process_free, p);
}

/* The last step of a teardown: every process is gone, or we gave up waiting. */
static void container_finish(struct container *c)
{
	while (c->procs)
		process_forget(c->procs);
	for (struct container **pp = &containers; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			ncontainers--;
			break;
		}
	}
	if (c->rootfs_mounted && umount2(c->rootfs, MNT_DETACH) < 0)
		log_err("umount %s: %s", c->rootfs, strerror(errno));
	if (c->share)
		share_put(c->share);
	rmdir(c->rootfs);
	rmdir(c->dir);
	cgroup_remove(c->cgroup);
	seccomp_free(c->seccomp);
	if (c->netns_fd >= 0)
		close(c->netns_fd);
	if (c->remove_call_set)
		reply(&c->remove_call, c->remove_code,
		      c->remove_code == TTRPC_OK ? NULL : c->remove_msg, NULL);
	defer_free(free, c);
}

static void teardown_check(struct container *c)
{
	for (struct process *p = c->procs; p; p = p->next)
		if (p->pid > 0 && p->state != PROC_EXITED)
			return;
	container_finish(c);
}

/*
 * Kill what container_create built and forget it. The 9p share and the
 * id stay taken until the processes are reaped (their mount namespace
 * holds the share), so call, if any, is answered only then.
 */
static void __attribute__((format(printf, 4, 5)))
container_teardown(struct container *c, const struct call *call, int code, const char *fmt, ...)
{
	va_list ap;

	if (c->removing) {
		if (call)
			reply_err(call, TTRPC_FAILED_PRECONDITION, "container %s is being removed",
				  c->id);
		return;
	}
	c->removing = true;
	c->remove_deadline = now_ms() + TEARDOWN_WAIT_MS;
	c->remove_code = code;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(c->remove_msg, sizeof(c->remove_msg), fmt, ap);
		va_end(ap);
	}
	if (call) {
		c->remove_call = *call;
		c->remove_call_set = true;
	}
	for (struct process *p = c->procs; p; p = p->next) {
		if (p->pid > 0 && p->state != PROC_EXITED)
			kill(p->pid, SIGKILL);
		if (p->sync_call_set)
			reply_err(&p->sync_call, TTRPC_ABORTED, "container %s removed", c->id);
		p->sync_call_set = false;
	}
	cgroup_kill(c->cgroup);
	teardown_check(c);
}

static int validate_process(const pb_process *p, char *msg, size_t len)
{
	if (!p)
		return snprintf(msg, len, "process is missing"), -1;
	if (!p->n_args || !p->args[0][0])
		return snprintf(msg, len, "process.args is empty"), -1;
	if (p->n_args > 65536 || p->n_env > 65536)
		return snprintf(msg, len, "too many process.args or process.env"), -1;
	for (size_t i = 0; i < p->n_env; i++)
		if (!strchr(p->env[i], '=') || p->env[i][0] == '=')
			return snprintf(msg, len, "process.env[%zu] is not NAME=value", i), -1;
	if (p->cwd[0] && p->cwd[0] != '/')
		return snprintf(msg, len, "process.cwd %s is not absolute", p->cwd), -1;
	if (strlen(p->cwd) >= 4096)
		return snprintf(msg, len, "process.cwd is too long"), -1;
	for (size_t i = 0; i < p->n_rlimits; i++) {
		if (p->rlimits[i]->resource >= RLIMIT_NLIMITS)
			return snprintf(msg, len, "rlimit %u unknown", p->rlimits[i]->resource), -1;
		if (p->rlimits[i]->soft > p->rlimits[i]->hard)
			return snprintf(msg, len, "rlimit %u: soft above hard",
					p->rlimits[i]->resource), -1;
	}
	if (p->user && p->user->n_additional_gids > 65536)
		return snprintf(msg, len, "too many additional gids"), -1;
	if (p->user && p->user->has_umask && p->user->umask > 0777)
		return snprintf(msg, len, "umask %o invalid", p->user->umask), -1;
	return 0;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);

	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || t[i] == '-' || t[i] == '.'))
			return false;
	return true;
}

/* Relative, no "." or ".." component, no empty one: a path below the share. */
static bool valid_subdir(const char *s)
{
	const char *p = s;
	size_t n = strlen(s);

	if (!n)
		return true;
	if (n >= 4096 || s[0] == '/')
		return false;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (!len || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len;
		if (*p == '/' && !*++p)
			return false;
	}
	return true;
}

static int validate_create(const pb_create_req *r, char *msg, size_t len)
{
	char m[480];

	if (validate_process(r->process, msg, len))
		return -1;
	if (r->network && r->join_net)
		return snprintf(msg, len, "network and join_net are both set"), -1;
	/* a user namespace's init brings its own pid and network namespaces (spawn_userns) */
	if (r->user_ns && (r->ns_container[0] || r->n_devices || r->guest_pid ||
			   !r->n_uid_mappings || !r->n_gid_mappings))
		return snprintf(msg, len, "a user namespace needs uid and gid maps and its own pid "
				"namespace, and takes no devices nor another container's "
				"namespaces"), -1;
	if (r->network && kx_net_check(r->network, m, sizeof(m)))
		return snprintf(msg, len, "network.%s", m), -1;
	if (!valid_tag(r->rootfs_tag))
		return snprintf(msg, len, "rootfs_tag \"%s\" invalid", r->rootfs_tag), -1;
	if (!valid_subdir(r->rootfs_subdir))
		return snprintf(msg, len, "rootfs_subdir \"%.200s\" invalid", r->rootfs_subdir), -1;
	for (size_t i = 0; i < r->n_mounts; i++)
		if (!valid_subdir(r->mounts[i]->share_source))
			return snprintf(msg, len, "mount %.200s: share_source \"%.200s\" invalid",
					r->mounts[i]->destination, r->mounts[i]->share_source), -1;
	if (strlen(r->hostname) > 64)
		return snprintf(msg, len, "hostname too long"), -1;
	if (r->n_mounts > 1024 || r->n_masked_paths > 1024 || r->n_readonly_paths > 1024)
		return snprintf(msg, len, "too many mounts or paths"), -1;
	if (cgroup_check_writes(r->cgroup, r->n_cgroup, msg, len))
		return -1;
	if (r->n_sysctls > 256 || r->n_devices > 256)
		return snprintf(msg, len, "too many sysctls or devices"), -1;
	for (size_t i = 0; i < r->n_sysctls; i++) {
		const char *k = r->sysctls[i]->key;

		if (!k[0] || k[0] == '.' || strchr(k, '/') || strstr(k, "..") || strlen(k) > 200)
			return snprintf(msg, len, "sysctl \"%.80s\" invalid", k), -1;
	}
	for (size_t i = 0; i < r->n_devices; i++)
		if (r->devices[i]->path[0] != '/' || strlen(r->devices[i]->path) >= 4096)
			return snprintf(msg, len, "device %.200s: path not absolute",
					r->devices[i]->path), -1;
	for (size_t i = 0; i < r->n_create_container_hooks + r->n_start_container_hooks; i++) {
		const Katasbx__Agent__V1__Hook *h = i < r->n_create_container_hooks ?
			r->create_container_hooks[i] :
			r->start_container_hooks[i - r->n_create_container_hooks];

		if (h->path[0] != '/' || strlen(h->path) >= 4096)
			return snprintf(msg, len, "hook %.200s: path not absolute", h->path), -1;
	}
	for (size_t i = 0; i < r->n_mounts; i++) {
		const pb_mount *m = r->mounts[i];

		if (m->destination[0] != '/' || strlen(m->destination) >= 4096 ||
		    strlen(m->source) >= 4096 || !m->type[0] || m->n_options > 64)
			return snprintf(msg, len, "mount %zu (%s) invalid", i, m->destination), -1;
	}
	for (size_t i = 0; i < r->n_masked_paths; i++)
		if (r->masked_paths[i][0] != '/' || strlen(r->masked_paths[i]) >= 4096)
			return snprintf(msg, len, "masked path %s invalid", r->masked_paths[i]), -1;
	for (size_t i = 0; i < r->n_readonly_paths; i++)
		if (r->readonly_paths[i][0] != '/' || strlen(r->readonly_paths[i]) >= 4096)
			return snprintf(msg, len, "readonly path %s invalid", r->readonly_paths[i]),
			       -1;
	return 0;
}

static int open_agent_pidns(void)
{
	if (agent_pidns < 0)
		agent_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	return agent_pidns;
}

/*
 * Fork p into pid namespace pidns_fd (-1: a new one, p is its PID 1); the
 * child runs fn and never returns. Returns 0 in the agent.
 */
/* pidns_fd: the pid namespace to fork in; -1: a new one, or the agent's if !new_pid */
static int spawn(struct process *p, int pidns_fd, bool new_pid, int sv[2], struct kx_err *err)
{
	pid_t pid;

	if (open_agent_pidns() < 0)
		return kx_error(err, errno, "open /proc/self/ns/pid");
	if (pidns_fd >= 0 ? setns(pidns_fd, CLONE_NEWPID) : new_pid ? unshare(CLONE_NEWPID) : 0)
		return kx_error(err, errno, "enter the container pid namespace");
	pid = fork();
	if (pid == 0)
		return 1;
	/* Back to our own namespace for later children. */
	if (setns(agent_pidns, CLONE_NEWPID) < 0)
		log_err("setns back to the agent pid namespace: %s", strerror(errno));
	if (pid < 0)
		return kx_error(err, errno, "fork");
	p->pid = pid;
	close(sv[1]);
	p->sync_fd = sv[0];
	cgroup_join(p->c->cgroup, pid);
	/* Let the child go on: it is in its cgroup now. */
	if (send(sv[0], "g", 1, MSG_NOSIGNAL) != 1)
		log_err("process %d: sync: %s", (int)pid, strerror(errno));
	return 0;
}

/* One of /proc/PID/uid_map or gid_map from the spec's mappings. */
static int write_map(pid_t pid, const char *file, Katasbx__Agent__V1__IdMapping *const *m,
		     size_t n, struct kx_err *err)
{
	char path[64], buf[340 * 36];
	size_t used = 0;

	for (size_t i = 0; i < n && used < sizeof(buf); i++)
		used += snprintf(buf + used, sizeof(buf) - used, "%u %u %u\n", m[i]->container_id,
				 m[i]->host_id, m[i]->size);
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (write_file(path, buf) < 0)
		return kx_error(err, errno, "write %s of the user namespace", file);
	return 0;
}

/*
 * The init of a container with a user namespace: cloned into a new one with
 * new pid and network namespaces, which it then owns (so that its root may
 * mount /proc and sysfs and bind low ports, as under runc); its uid and gid
 * maps written before it goes on. A raw clone(2) is fork() with flags: the
 * child calls nothing that needs glibc's cached thread id (raise(), abort()).
 * Returns 1 in the child, 0 in the agent.
 */
static int spawn_userns(struct process *p, const pb_create_req *r, int sv[2],
			struct kx_err *err)
{
	pid_t pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | SIGCHLD,
			    NULL, NULL, NULL, NULL);
	char path[64];

	if (pid == 0)
		return 1;
	if (pid < 0)
		return kx_error(err, errno, "clone into a user namespace");
	p->pid = pid;
	close(sv[1]);
	p->sync_fd = sv[0];
	sv[0] = sv[1] = -1;	/* the process's now */
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (write_map(pid, "uid_map", r->uid_mappings, r->n_uid_mappings, err) ||
	    write_map(pid, "gid_map", r->gid_mappings, r->n_gid_mappings, err) ||
	    ((p->c->netns_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 &&
	     kx_error(err, errno, "open %s", path))) {
		kill(pid, SIGKILL);	/* it waits for the byte it will not get */
		return -1;
	}
	if (r->network) {
		char msg[400];

		if (net_setup_in(r->network, p->c->netns_fd, msg, sizeof(msg)) < 0) {
			kill(pid, SIGKILL);
			return kx_error(err, 0, "%s", msg);
		}
	}
	cgroup_join(p->c->cgroup, pid);
	if (send(p->sync_fd, "g", 1, MSG_NOSIGNAL) != 1)
		log_err("process %d: sync: %s", (int)pid, strerror(errno));
	return 0;
}

/* Close those of fd[0..n) that are open and mark them closed (-1). */
static void close_all(int *fd, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fd[i] >= 0)
			close(fd[i]);
		fd[i] = -1;
	}
}

/*
 * A pod's container joins namespaces of its sandbox's init: fds of them,
 * ipc, uts, pid, net (-1: not joined). -1 with msg when the sandbox is not there.
 */
static int join_namespaces(const pb_create_req *r, int fd[N_JOIN], char *msg, size_t len)
{
	static const char *const ns[N_JOIN] = { "ipc", "uts", "pid", "net" };
	const bool want[N_JOIN] = { r->join_ipc, r->join_uts, r->join_pid, r->join_net };
	struct container *s;
	char path[64];

	if (!r->ns_container[0] || !(want[0] || want[1] || want[2] || want[3]))
		return 0;
	s = kx_id_valid(r->ns_container) ? container_find(r->ns_container) : NULL;
	if (!s || !s->init || s->init->pid <= 0 || s->init->state == PROC_EXITED)
		return snprintf(msg, len, "container %.140s, whose namespaces to join, is not running",
				r->ns_container), -1;
	for (int i = 0; i < N_JOIN; i++) {
		if (!want[i])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)s->init->pid, ns[i]);
		fd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fd[i] < 0) {
			snprintf(msg, len, "%s namespace of %.140s: %s", ns[i], r->ns_container,
				 strerror(errno));
			close_all(fd, N_JOIN);
			return -1;
		}
	}
	return 0;
}

int container_create(const struct call *call, const pb_create_req *r)
{
	struct child_stdio cs = { { -1, -1, -1 } };
	struct kx_err err = { 0 };
	struct container *c;
	struct process *p;
	char msg[600], src[4300];
	int sv[2] = { -1, -1 }, nsfd[N_JOIN] = { -1, -1, -1, -1 }, netns = -1, ret;
	void *filter = NULL;

	if (!kx_id_valid(r->container_id))
		return reply_err(call, TTRPC_INVALID_ARGUMENT, "container id \"%.140s\" invalid",
				 r->container_id);
	if (container_find(r->container_id))
		return reply_err(call, TTRPC_ALREADY_EXISTS, "container %s already exists",
				 r->container_id);
	if (validate_create(r, msg, sizeof(msg)))
		return reply_err(call, TTRPC_INVALID_ARGUMENT, "%s", msg);
	if (ncontainers >= MAX_CONTAINERS)
		return reply_err(call, TTRPC_RESOURCE_EXHAUSTED, "too many containers");
	if (join_namespaces(r, nsfd, msg, sizeof(msg)))
		return reply_err(call, TTRPC_FAILED_PRECONDITION, "%s", msg);
	if (r->seccomp && !(filter = seccomp_build(r->seccomp, msg, sizeof(msg)))) {
		close_all(nsfd, N_JOIN);
		return reply_err(call, TTRPC_INVALID_ARGUMENT, "%s", msg);
	}
	if (!r->user_ns && r->network && net_setup(r->network, &netns, msg, sizeof(msg)) < 0) {
		seccomp_free(filter);
		close_all(nsfd, N_JOIN);
		return reply_err(call, TTRPC_FAILED_PRECONDITION, "create container %s: %s",
				 r->container_id, msg);
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		seccomp_free(filter);
		close_all(nsfd, N_JOIN);
		if (netns >= 0)
			close(netns);
		return reply_err(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
	}
	c->seccomp = filter;
	c->netns_fd = netns;
	snprintf(c->id, sizeof(c->id), "%s", r->container_id);
	snprintf(c->dir, sizeof(c->dir), "%s/%s", AGENT_RUN_DIR, c->id);
	snprintf(c->rootfs, sizeof(c->rootfs), "%s/rootfs", c->dir);
	snprintf(c->cgroup, sizeof(c->cgroup), "%s/%s", AGENT_CGROUP_DIR, c->id);
	c->next = containers;
	containers = c;
	ncontainers++;

	if (mkdir_p(c->rootfs, 0755) < 0) {
		kx_error(&err, errno, "mkdir %s", c->rootfs);
		goto fail;
	}
	c->share = share_get(r->rootfs_tag, &err);
	if (!c->share)
		goto fail;
	snprintf(src, sizeof(src), "%s%s%s", share_path(c->share), *r->rootfs_subdir ? "/" : "",
		 r->rootfs_subdir);
	/* O_NOFOLLOW: a symlink in the share must not lead the rootfs elsewhere */
	if (*r->rootfs_subdir) {
		int dfd = open(src, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (dfd < 0) {
			kx_error(&err, errno, "rootfs_subdir %s", r->rootfs_subdir);
			goto fail;
		}
		close(dfd);
	}
	if (mount(src, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
		kx_error(&err, errno, "bind %s on %s", src, c->rootfs);
		goto fail;
	}
	c->rootfs_mounted = true;
	if (mkdir(c->cgroup, 0755) < 0 && errno != EEXIST)
		log_err("mkdir %s: %s", c->cgroup, strerror(errno));
	/* the spec's limits hold from the first instruction of its init */
	if (cgroup_write_all(c->cgroup, r->cgroup, r->n_cgroup, msg, sizeof(msg)) < 0) {
		kx_error(&err, 0, "%s", msg);
		goto fail;
	}
	p = process_new(c, "");
	if (!p) {
		kx_error(&err, ENOMEM, "container %s", c->id);
		goto fail;
	}
	c->init = p;
	if (stdio_create(p, r->process->terminal, &cs, &err) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		kx_error(&err, errno, "socketpair");
		goto fail;
	}
	ret = r->user_ns ? spawn_userns(p, r, sv, &err) :
			   spawn(p, nsfd[JOIN_PID], !r->guest_pid, sv, &err);
	/* a user namespace's init is in its network namespace already */
	if (ret == 1)
		child_init(r, c->rootfs, share_path(c->share), c->seccomp, nsfd,
			   r->user_ns ? -1 : nsfd[JOIN_NET] >= 0 ? nsfd[JOIN_NET] : c->netns_fd,
			   sv[1], &cs);
	close_all(nsfd, N_JOIN);
	if (ret < 0)
		goto fail;
	stdio_close_child(&cs);
	p->state = PROC_SETUP;
	p->sync_call = *call;
	p->sync_call_set = true;
	log_dbg("container %s: init is pid %d", c->id, (int)p->pid);
	return 0;
fail:
	close_all(nsfd, N_JOIN);
	/* spawn() failed before taking the socket over. */
	stdio_close_child(&cs);
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	container_teardown(c, call, TTRPC_FAILED_PRECONDITION, "create container %s: %s", c->id,
			   err.msg);
	return 0;
}

int container_start(const struct call *call, const char *id)
{
	struct container *c;
	struct process *p;
	int ret;

	c = container_get(call, id, &ret);
	if (!c)
		return ret;
	p = c->init;
	if (c->removing)
		return reply_err(call, TTRPC_FAILED_PRECONDITION, "container %s is being removed",
				 id);
	if (p->state == PROC_SETUP)
		return reply_err(call, TTRPC_FAILED_PRECONDITION,
				 "container %s is still being created", id);
	if (p->state == PROC_EXITED)
		return reply_err(call, TTRPC_FAILED_PRECONDITION, "container %s has exited", id);
	if (p->state != PROC_CREATED)
		return reply_err(call, TTRPC_FAILED_PRECONDITION, "container %s already started",
				 id);
	if (p->sync_fd < 0 || send(p->sync_fd, "s", 1, MSG_NOSIGNAL) != 1)
		return reply_err(call, TTRPC_FAILED_PRECONDITION,
				 "container %s: init process is gone", id);
	p->state = PROC_STARTING;
	p->sync_call = *call;
	p->sync_call_set = true;
	return 0;
}

/* user first: a user namespace's own are entered once in it (-1: the agent's, not entered) */
static const char *const exec_ns[] = { "user", "ipc", "uts", "net", "cgroup", "mnt" };
#define N_EXEC_NS (sizeof(exec_ns) / sizeof(exec_ns[0]))

static bool same_ns(int fd, const char *own)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(own, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static void __attribute__((noreturn)) child_exec(const pb_process *proc, void *c_seccomp,
						  int sync_fd, const int *nsfd,
						  const struct child_stdio *cs)
{
	struct kx_err err = { 0 };
	int keep[N_EXEC_NS + 1];

	child_reset_signals();
	child_set_stdio(cs, proc->terminal);
	memcpy(keep, nsfd, sizeof(int) * N_EXEC_NS);
	keep[N_EXEC_NS] = sync_fd;
	child_close_fds(keep, N_EXEC_NS + 1);
	if (!child_wait_byte(sync_fd))
		_exit(1);
	for (size_t i = 0; i < N_EXEC_NS; i++) {
		if (nsfd[i] < 0)
			continue;
		if (setns(nsfd[i], 0) < 0) {
			sync_report(sync_fd, errno, "setns %s", exec_ns[i]);
			_exit(127);
		}
		close(nsfd[i]);
	}
	if (proc->terminal && child_open_tty(sync_fd, false, &err) < 0) {
		sync_report_err(sync_fd, &err);
		_exit(127);
	}
	exec_process(proc, c_seccomp, sync_fd);
}

int container_exec(const struct call *call, const char *id, const char *exec_id,
		    const pb_process *proc)
{
	struct child_stdio cs = { { -1, -1, -1 } };
	struct kx_err err = { 0 };
	int nsfd[N_EXEC_NS], pidns = -1, sv[2] = { -1, -1 }, ret = 0;
	struct container *c;
	struct process *p, *q;
	size_t nprocs = 0;
	char msg[600];

	for (size_t i = 0; i < N_EXEC_NS; i++)
		nsfd[i] = -1;
	if (!kx_id_valid(id) || !kx_id_valid(exec_id))
		return reply_err(call, TTRPC_INVALID_ARGUMENT, "container or exec id invalid");
	c = container_find(id);
	if (!c)
		return reply_err(call, TTRPC_NOT_FOUND, "container %s not found", id);
	if (c->removing)
		return reply_err(call, TTRPC_FAILED_PRECONDITION, "container %s is being removed",
				 id);
	if (process_find(c, exec_id))
		return reply_err(call, TTRPC_ALREADY_EXISTS, "exec %s already exists in %s",
				 exec_id, id);
	if (validate_process(proc, msg, sizeof(msg)))
		return reply_err(call, TTRPC_INVALID_ARGUMENT, "%s", msg);
	/* as runc: a created container's namespaces are made, its init waits in them */
	if (c->init->state != PROC_CREATED && c->init->state != PROC_RUNNING &&
	    c->init->state != PROC_STARTING)
		return reply_err(call, TTRPC_FAILED_PRECONDITION, "container %s is not running",
				 id);
	for (q = c->procs; q; q = q->next)
		nprocs++;
	if (nprocs >= MAX_PROCS)
		return reply_err(call, TTRPC_RESOURCE_EXHAUSTED, "too many processes in %s", id);

	for (size_t i = 0; i <= N_EXEC_NS; i++) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)c->init->pid,
			 i < N_EXEC_NS ? exec_ns[i] : "pid");
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			reply_err(call, TTRPC_FAILED_PRECONDITION, "container %s: %s: %s", id, path,
				  strerror(errno));
			goto out;
		}
		if (i == 0 && same_ns(fd, "/proc/self/ns/user")) {
			close(fd);	/* setns() into one's own user namespace fails */
			fd = -1;
		}
		if (i < N_EXEC_NS)
			nsfd[i] = fd;
		else
			pidns = fd;
	}
	p = process_new(c, exec_id);
	if (!p) {
		reply_err(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	if (stdio_create(p, proc->terminal, &cs, &err) < 0 ||
	    (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 &&
	     kx_error(&err, errno, "socketpair")) || (ret = spawn(p, pidns, true, sv, &err)) < 0) {
		reply_err(call, TTRPC_INTERNAL, "exec %s in %s: %s", exec_id, id, err.msg);
		stdio_close_child(&cs);
		if (sv[0] >= 0) {
			close(sv[0]);
			close(sv[1]);
		}
		process_forget(p);
		goto out;
	}
	if (ret == 1)
		child_exec(proc, c->seccomp, sv[1], nsfd, &cs);
	stdio_close_child(&cs);
	p->state = PROC_STARTING;
	p->sync_call = *call;
	p->sync_call_set = true;
	log_dbg("container %s: exec %s is pid %d", id, exec_id, (int)p->pid);
out:
	close_all(nsfd, N_EXEC_NS);
	if (pidns >= 0)
		close(pidns);
	return 0;
}

/* One message from a child, and the fd it passed (a pty master), if any. */
static ssize_t recv_sync(int sock, struct sync_msg *m, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	}
	return n;
}

/* The child reported, or closed its end: answer the parked Create/Start/Exec. */
static void on_sync(void *ptr, short revents)
{
	struct process *p = ptr;
	struct sync_msg m;
	ssize_t n;
	int fd;

	if (p->dead || p->sync_fd < 0 || p->c->removing)
		return;
	n = recv_sync(p->sync_fd, &m, &fd);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == sizeof(m) && m.kind == SYNC_TTY && fd >= 0) {
		stdio_attach_tty(p, fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	if (n == sizeof(m) && m.kind == SYNC_READY) {
		if (p->state == PROC_SETUP) {
			p->state = PROC_CREATED;
			p->sync_call_set = false;
			reply(&p->sync_call, TTRPC_OK, NULL, NULL);
		}
		return;
	}
	close(p->sync_fd);
	p->sync_fd = -1;
	/* A pty comes before the end of the sync stream, or never. */
	if (p->terminal && p->tty_fd < 0)
		p->out.eof = true;
	if (n == sizeof(m) && m.kind == SYNC_ERROR) {
		m.msg[sizeof(m.msg) - 1] = '\0';
		if (p->state == PROC_SETUP) {
			p->sync_call_set = false;
			container_teardown(p->c, &p->sync_call, TTRPC_FAILED_PRECONDITION,
					   "create container %s: %s", p->c->id, m.msg);
			return;
		}
		if (p->state == PROC_STARTING)
			p->state = PROC_RUNNING;	/* exits with 127 */
		if (p->sync_call_set)
			reply_err(&p->sync_call, m.errnum == ENOENT ? TTRPC_NOT_FOUND :
				  TTRPC_FAILED_PRECONDITION, "%s", m.msg);
		p->sync_call_set = false;
		return;
	}
	/* EOF: exec succeeded, or the child died before reporting. */
	if (p->state == PROC_SETUP) {
		p->sync_call_set = false;
		container_teardown(p->c, &p->sync_call, TTRPC_FAILED_PRECONDITION,
				   "create container %s: init process died during setup", p->c->id);
		return;
	}
	if (p->state == PROC_STARTING)
		p->state = PROC_RUNNING;
	if (p->sync_call_set)
		reply(&p->sync_call, TTRPC_OK, NULL, NULL);
	p->sync_call_set = false;
}

void containers_poll(void)
{
	struct container *c, *next;

	for (c = containers; c; c = next) {
		next = c->next;
		if (!c->removing)
			continue;
		if (now_ms() >= c->remove_deadline) {
			log_err("container %s: processes not gone after %d ms, forgetting it",
				c->id, TEARDOWN_WAIT_MS);
			container_finish(c);
			continue;
		}
		loop_timeout(c->remove_deadline - now_ms());
	}
	for (c = containers; c; c = c->next) {
		for (struct process *p = c->procs; p; p = p->next) {
			if (p->sync_call_set && p->sync_fd >= 0)
				loop_add(p->sync_fd, POLLIN, on_sync, p);
			stdio_poll(p);
		}
	}
}

static bool drained(const struct out_stream *s)
{
	return s->eof && !s->buf.len;
}

/*
 * An exec's record goes once its status and all its output were handed
 * out, so that periodic execs (probes) do not pile up; the init's stays.
 */
void containers_gc(void)
{
	for (struct container *c = containers; c; c = c->next) {
		struct process *p = c->procs, *next;

		if (c->removing)
			continue;
		for (; p; p = next) {
			next = p->next;
			if (p != c->init && p->state == PROC_EXITED && p->waited &&
			    drained(&p->out) && drained(&p->err) && !p->sync_call_set)
				process_forget(p);
		}
	}
}

static struct process *process_by_pid(pid_t pid)
{
	for (struct container *c = containers; c; c = c->next)
		for (struct process *p = c->procs; p; p = p->next)
			if (p->pid == pid)
				return p;
	return NULL;
}

void container_reap(void)
{
	for (;;) {
		struct process *p;
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		p = process_by_pid(pid);
		if (!p)
			continue;
		p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		p->state = PROC_EXITED;
		log_dbg("container %s: process %s (pid %d) exited, status %d", p->c->id,
			*p->exec_id ? p->exec_id : "init", (int)pid, p->status);
		if (p->c->removing)
			teardown_check(p->c);
	}
	cgroup_gc();
}

int container_signal(const struct call *call, const char *id, const char *exec_id,
		      uint32_t sig, bool all)
{
	struct container *c;
	struct process *p;

	if (!kx_id_valid(id) || (*exec_id && !kx_id_valid(exec_id)))
		return reply_err(call, TTRPC_INVALID_ARGUMENT, "container or exec id invalid");
	if (sig > 64)
		return reply_err(call, TTRPC_INVALID_ARGUMENT, "signal %u invalid", sig);
	c = container_find(id);
	if (!c)
		return reply_err(call, TTRPC_NOT_FOUND, "container %s not found", id);
	p = process_find(c, exec_id);
	if (!p)
		return reply_err(call, TTRPC_NOT_FOUND, "process %s not found in %s", exec_id, id);
	if (all) {
		if (cgroup_signal(c->cgroup, sig) < 0)
			return reply_err(call, TTRPC_INTERNAL, "signal %u to container %s: %s", sig,
					 id, strerror(errno));
		return reply(call, TTRPC_OK, NULL, NULL);
	}
	if (p->state == PROC_EXITED || p->pid <= 0)
		return reply_err(call, TTRPC_FAILED_PRECONDITION, "process not running");
	if (kill(p->pid, sig) < 0)
		return reply_err(call, TTRPC_INTERNAL, "kill %d: %s", (int)p->pid,
				 strerror(errno));
	reply(call, TTRPC_OK, NULL, NULL);
	return 0;
}

int container_remove(const struct call *call, const char *id)
{
	struct container *c;
	int ret;

	c = container_get(call, id, &ret);
	if (!c)
		return ret;
	container_teardown(c, call, TTRPC_OK, NULL);
	return 0;
}

void containers_kill_all(void)
{
	for (struct container *c = containers; c; c = c->next) {
		cgroup_kill(c->cgroup);
		for (struct process *p = c->procs; p; p = p->next)
			if (p->pid > 0 && p->state != PROC_EXITED)
				kill(p->pid, SIGKILL);
	}
}
