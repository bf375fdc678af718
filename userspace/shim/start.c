// SPDX-License-Identifier: GPL-2.0
/* The `start` and `delete` commands containerd runs in the bundle directory. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "log.h"
#include "sha256.h"
#include "shim.h"
#include "sockets.h"
#include "state.h"

#define SOCKET_DIR "/run/containerd/s"

int shim_state_root(char *buf, size_t len, const char *ns)
{
	const char *base = getenv("KATASBX_SHIM_ROOT");

	if (!kx_id_valid(ns))
		return -1;
	return snprintf(buf, len, "%s/%s", base && *base ? base : SHIM_STATE_DIR, ns) >=
	       (int)len ? -1 : 0;
}

int shim_load_config(struct kx_config *cfg, const char *ns, struct kx_err *err)
{
	const char *file = getenv("KATASBX_CONFIG");
	char root[1024];

	kx_config_defaults(cfg);
	if (kx_config_load(cfg, file ? file : KX_CONFIG_FILE, file != NULL, err))
		return -1;
	/* the shim's containers are its own: never mixed with katasbx-runtime's */
	if (shim_state_root(root, sizeof(root), ns))
		return kx_error(err, EINVAL, "namespace \"%s\" cannot name a state directory", ns);
	return kx_config_set(cfg, "root", root, err);
}

/* An annotation of the bundle's config.json (in the working directory); NULL if none. */
static char *bundle_annotation(const char *key)
{
	json_object *o = json_object_from_file("config.json"), *ann;
	char *v = NULL;

	if (o && json_object_object_get_ex(o, "annotations", &ann))
		v = shim_annotation(json_object_to_json_string(ann), key);
	json_object_put(o);
	return v;
}

/*
 * As containerd's own shims: a hash of address, namespace and id, so one
 * task, one socket; a pod's tasks group by their sandbox's id, so that the
 * shim of the sandbox serves its containers.
 */
static int socket_path(const struct shim_opts *o, char *buf, size_t len)
{
	const char *dir = getenv("KATASBX_SHIM_SOCKET_DIR");
	char key[PATH_MAX * 2], hex[65];
	char *group = bundle_annotation(SHIM_ANN_SANDBOX);

	snprintf(key, sizeof(key), "%s/%s/%s", o->address, o->namespace,
		 group && kx_id_valid(group) ? group : o->id);
	free(group);
	sha256_hex(key, strlen(key), hex);
	return snprintf(buf, len, "%s/%s", dir && *dir ? dir : SOCKET_DIR, hex) >= (int)len ?
	       -1 : 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode) && errno != EEXIST ? -1 : 0;
}

/* containerd may pass runtime options on stdin; read them so it never blocks, and ignore them. */
static void drain_stdin(void)
{
	char buf[4096];

	if (isatty(0))
		return;
	for (;;) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };

		if (poll(&pfd, 1, 200) <= 0 || read(0, buf, sizeof(buf)) <= 0)
			return;
	}
}

static int write_file(const char *path, const char *text)
{
	char tmp[PATH_MAX + 8];
	int fd;
	ssize_t n = strlen(text);

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, text, n) != n) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

static void print_address(const char *addr)
{
	/* containerd 1.7+ announces itself with MAX_SHIM_VERSION and reads JSON */
	if (getenv("MAX_SHIM_VERSION"))
		printf("{\"version\":2,\"address\":\"%s\",\"protocol\":\"ttrpc\"}", addr);
	else
		printf("%s", addr);
	fflush(stdout);
}

/* stdio of the long-running shim: nothing of containerd's start pipe; logs to the log FIFO. */
static void detach_stdio(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int logfd = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (logfd >= 0)
		fcntl(logfd, F_SETFL, O_WRONLY);	/* blocking again: whole lines */
	else
		logfd = null;
	dup2(null, 0);
	dup2(null, 1);
	dup2(logfd, 2);
	if (logfd != null)
		close(logfd);
	close(null);
}

int shim_cmd_start(const struct shim_opts *o)
{
	char path[PATH_MAX], addr[PATH_MAX + 8], dir[PATH_MAX];
	struct kx_err err;
	int fd;
	pid_t pid;

	drain_stdin();
	if (socket_path(o, path, sizeof(path))) {
		fprintf(stderr, "start: socket path too long\n");
		return 1;
	}
	snprintf(addr, sizeof(addr), "unix://%s", path);
	/* a shim already serving this task: hand containerd its address */
	fd = kx_unix_connect(path, &err);
	if (fd >= 0) {
		close(fd);
		write_file("address", addr);
		print_address(addr);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (mkdir_p(dir, 0711)) {
		fprintf(stderr, "start: mkdir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	fd = kx_unix_listen(path, &err);
	if (fd < 0) {
		fprintf(stderr, "start: %s\n", err.msg);
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "start: fork: %s\n", strerror(errno));
		unlink(path);
		return 1;
	}
	if (pid == 0) {
		setsid();
		detach_stdio();
		prctl(PR_SET_CHILD_SUBREAPER, 1);
		_exit(shim_serve(o, fd));
	}
	close(fd);
	write_file("address", addr);	/* containerd writes it too; nothing said on failure */
	print_address(addr);
	return 0;
}

/* A pod's task: its rootfs's bind on the sandbox's share, and the share once empty. */
static void pod_cleanup(const struct kx_config *cfg, const char *id)
{
	char *sid = bundle_annotation(SHIM_ANN_SANDBOX);
	char share[PATH_MAX], bind[PATH_MAX + KX_ID_MAX + 2];

	if (sid && kx_id_valid(id) && !shim_pod_share(share, sizeof(share), cfg->root, sid)) {
		snprintf(bind, sizeof(bind), "%s/%s", share, id);
		shim_unbind(bind);
		shim_pod_unbind_mounts(share, id);
		rmdir(share);
		snprintf(share, sizeof(share), "%s/.pods", cfg->root);
		rmdir(share);
	}
	free(sid);
}

/* Kill what a dead shim left of the task, remove its state and mounts. */
int shim_cmd_delete(const struct shim_opts *o)
{
	Containerd__Task__V2__DeleteResponse r = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	char rootfs[PATH_MAX + 8], cwd[PATH_MAX];
	struct kx_config cfg;
	struct kx_state st;
	struct kx_err err;
	struct timespec now;
	uint8_t *buf;
	size_t n;
	int i;

	drain_stdin();
	if (!shim_load_config(&cfg, o->namespace, &err) && kx_id_valid(o->id) &&
	    !kx_state_read(cfg.root, o->id, &st, &err)) {
		if (st.pid > 0 && kx_proc_alive(st.pid, st.pid_start))
			kill(st.pid, SIGKILL);
		if (st.qemu_pid > 0 && kx_proc_alive(st.qemu_pid, st.qemu_start))
			kill(st.qemu_pid, SIGKILL);
		for (i = 0; i < 100 && (kx_proc_alive(st.pid, st.pid_start) ||
					kx_proc_alive(st.qemu_pid, st.qemu_start)); i++)
			usleep(20000);
		kx_state_clear(&st);
		kx_state_remove(cfg.root, o->id, &err);
	}
	pod_cleanup(&cfg, o->id);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs",
		 o->bundle && *o->bundle ? o->bundle : getcwd(cwd, sizeof(cwd)) ? cwd : ".");
	shim_unmount_rootfs(rootfs);

	clock_gettime(CLOCK_REALTIME, &now);
	ts.seconds = now.tv_sec;
	ts.nanos = now.tv_nsec;
	r.exit_status = 128 + SIGKILL;
	r.exited_at = &ts;
	n = containerd__task__v2__delete_response__get_packed_size(&r);
	buf = malloc(n ? n : 1);
	if (!buf)
		return 1;
	containerd__task__v2__delete_response__pack(&r, buf);
	if (fwrite(buf, 1, n, stdout) != n) {
		free(buf);
		return 1;
	}
	free(buf);
	return 0;
}
