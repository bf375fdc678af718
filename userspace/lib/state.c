// SPDX-License-Identifier: GPL-2.0
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "hostcg.h"
#include "hooks.h"
#include "log.h"
#include "net/sandbox.h"
#include "oci.h"

static const char *const status_names[] = {
	[KX_STATUS_CREATING] = "creating",
	[KX_STATUS_CREATED] = "created",
	[KX_STATUS_RUNNING] = "running",
	[KX_STATUS_STOPPED] = "stopped",
	[KX_STATUS_PAUSED] = "paused",
};

bool kx_status_live(enum kx_status s)
{
	return s == KX_STATUS_CREATED || s == KX_STATUS_RUNNING || s == KX_STATUS_PAUSED;
}

const char *kx_status_name(enum kx_status s)
{
	if ((unsigned int)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[s];
}

int kx_state_path(char *buf, size_t len, const char *root, const char *id, const char *name)
{
	int n;

	if (name)
		n = snprintf(buf, len, "%s/%s/%s", root, id, name);
	else
		n = snprintf(buf, len, "%s/%s", root, id);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int kx_state_mkdir(const char *root, const char *id, struct kx_err *err)
{
	char dir[4096], q[400];

	if (!kx_id_valid(id))
		return kx_error(err, 0, "invalid container id \"%s\": " KX_ID_RULE,
				kx_quoted(id, q, sizeof(q)));
	if (kx_mkdir_p(root, 0711))
		return kx_error(err, errno, "create state root %s", root);
	if (kx_state_path(dir, sizeof(dir), root, id, NULL))
		return kx_error(err, ENAMETOOLONG, "state directory for %s", id);
	if (mkdir(dir, 0700)) {
		if (errno == EEXIST)
			return kx_error(err, 0, "container with id %s already exists", id);
		return kx_error(err, errno, "create %s", dir);
	}
	return 0;
}

int kx_state_lock(const char *root, const char *id, struct kx_err *err)
{
	char path[4096];
	int fd;

	if (kx_state_path(path, sizeof(path), root, id, "lock"))
		return kx_error(err, ENAMETOOLONG, "lock for %s", id);
	fd = kx_lock_file(path, true, err);
	if (fd < 0 && err->errnum == ENOENT)
		return kx_error(err, 0, "container %s does not exist", id);
	return fd;
}

static char *state_json(const struct kx_state *st)
{
	json_object *o = json_object_new_object();
	char *out;

	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
	json_object_object_add(o, "status", json_object_new_string(kx_status_name(st->status)));
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "pid_start", json_object_new_uint64(st->pid_start));
	json_object_object_add(o, "qemu_pid", json_object_new_int(st->qemu_pid));
	json_object_object_add(o, "qemu_start", json_object_new_uint64(st->qemu_start));
	if (st->has_exit)
		json_object_object_add(o, "exit_status", json_object_new_int(st->exit_status));
	json_object_object_add(o, "created", json_object_new_string(st->created));
	json_object_object_add(o, "accel", json_object_new_string(st->accel));
	json_object_object_add(o, "channel", json_object_new_string(st->channel));
	json_object_object_add(o, "boot", json_object_new_string(st->boot));
	json_object_object_add(o, "mem_mib", json_object_new_int64(st->mem_mib));
	json_object_object_add(o, "vcpus", json_object_new_int64(st->vcpus));
	json_object_object_add(o, "annotations",
			       json_tokener_parse(st->annotations_json ? st->annotations_json : "{}"));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

int kx_state_write(const char *root, const struct kx_state *st, struct kx_err *err)
{
	char path[4096], tmp[4200];
	cleanup_free char *text = state_json(st);
	size_t len;
	int fd;

	if (!text)
		return kx_error(err, ENOMEM, "state of %s", st->id);
	if (kx_state_path(path, sizeof(path), root, st->id, "state.json"))
		return kx_error(err, ENAMETOOLONG, "state of %s", st->id);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return kx_error(err, errno, "write %s", tmp);
	len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return kx_error(err, e, "write %s", tmp);
	}
	close(fd);
	if (rename(tmp, path)) {
		int e = errno;

		unlink(tmp);
		return kx_error(err, e, "rename %s", tmp);
	}
	return 0;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *key, bool *present)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v)) {
		if (present)
			*present = false;
		return 0;
	}
	if (present)
		*present = true;
	return json_object_get_int64(v);
}

int kx_state_read(const char *root, const char *id, struct kx_state *st, struct kx_err *err)
{
	char path[4096], q[400];
	json_object *o, *ann;
	const char *status;
	int i;

	memset(st, 0, sizeof(*st));
	if (!kx_id_valid(id))
		return kx_error(err, 0, "invalid container id \"%s\"", kx_quoted(id, q, sizeof(q)));
	if (kx_state_path(path, sizeof(path), root, id, "state.json"))
		return kx_error(err, ENAMETOOLONG, "state of %s", id);
	if (access(path, F_OK)) {
		/* runc's words, which callers match; ENOENT for the code */
		if (errno == ENOENT)
			return kx_error_as(err, ENOENT, "container %s does not exist", id);
		return kx_error(err, errno, "read %s", path);
	}
	o = json_object_from_file(path);
	if (!o)
		return kx_error(err, 0, "read %s: corrupt state file", path);
	snprintf(st->id, sizeof(st->id), "%s", jstr(o, "id"));
	snprintf(st->bundle, sizeof(st->bundle), "%s", jstr(o, "bundle"));
	snprintf(st->rootfs, sizeof(st->rootfs), "%s", jstr(o, "rootfs"));
	status = jstr(o, "status");
	st->status = KX_STATUS_STOPPED;
	for (i = 0; i < (int)(sizeof(status_names) / sizeof(status_names[0])); i++)
		if (!strcmp(status, status_names[i]))
			st->status = i;
	st->pid = jint(o, "pid", NULL);
	st->pid_start = jint(o, "pid_start", NULL);
	st->qemu_pid = jint(o, "qemu_pid", NULL);
	st->qemu_start = jint(o, "qemu_start", NULL);
	st->exit_status = jint(o, "exit_status", &st->has_exit);
	snprintf(st->created, sizeof(st->created), "%s", jstr(o, "created"));
	snprintf(st->accel, sizeof(st->accel), "%s", jstr(o, "accel"));
	snprintf(st->channel, sizeof(st->channel), "%s", jstr(o, "channel"));
	snprintf(st->boot, sizeof(st->boot), "%s", jstr(o, "boot"));
	st->mem_mib = jint(o, "mem_mib", NULL);
	st->vcpus = jint(o, "vcpus", NULL);
	if (json_object_object_get_ex(o, "annotations", &ann) && ann)
		st->annotations_json = strdup(json_object_to_json_string_ext(ann,
							JSON_C_TO_STRING_PLAIN));
	else
		st->annotations_json = strdup("{}");
	json_object_put(o);
	return 0;
}

void kx_state_clear(struct kx_state *st)
{
	free(st->annotations_json);
	st->annotations_json = NULL;
}

int kx_state_remove(const char *root, const char *id, struct kx_err *err)
{
	char dir[4096], path[8192];
	struct dirent *de;
	DIR *d;

	if (!kx_id_valid(id) || kx_state_path(dir, sizeof(dir), root, id, NULL))
		return kx_error(err, EINVAL, "remove state of \"%s\"", id);
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return kx_error(err, errno, "open %s", dir);
	}
	/* the container is gone: its poststop hooks run before its state does */
	snprintf(path, sizeof(path), "%s/%s", dir, KX_POSTSTOP_RECORD);
	if (access(path, F_OK) == 0) {
		struct kx_state st;
		struct kx_err e;

		if (kx_state_read(root, id, &st, &e)) {
			memset(&st, 0, sizeof(st));
			snprintf(st.id, sizeof(st.id), "%s", id);
		}
		kx_poststop_run(path, &st);
		kx_state_clear(&st);
		unlink(path);
	}
	/* and its host cgroup, now empty: kept, with the state, if it cannot go */
	snprintf(path, sizeof(path), "%s/%s", dir, KX_HOSTCG_RECORD);
	{
		struct kx_hostcg cg;

		if (kx_hostcg_load(path, &cg, err) == 0 && kx_hostcg_remove(&cg, err)) {
			closedir(d);
			return kx_error_wrap(err, "delete %s", id);
		}
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR && !strcmp(de->d_name, "vm")) {
			kx_vm_dir_remove(path);	/* a warm VM's, left by a crash */
		} else if (!strcmp(de->d_name, KX_NET_RECORD)) {
			struct kx_err e;

			/* the monitor died before it could unwire the network */
			if (kx_net_cleanup_record(path, &e))
				kx_log(KX_LOG_WARN, "%s", e.msg);
			unlink(path);
		} else {
			unlink(path);
		}
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		return kx_error(err, errno, "remove %s", dir);
	return 0;
}

static bool is_id(const char *name)
{
	return kx_id_valid(name);
}

char **kx_state_list(const char *root, size_t *n)
{
	return kx_dir_names(root, is_id, n);
}

uint64_t kx_proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parens: fields restart after the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	if (p[1] && p[2] == 'Z')
		return 0;	/* a zombie is not alive */
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &start);
	return start;
}

bool kx_proc_alive(pid_t pid, uint64_t start)
{
	uint64_t now = kx_proc_start_time(pid);

	if (!now)
		return false;
	return !start || now == start;
}

enum kx_status kx_state_effective(const struct kx_state *st)
{
	if (st->status == KX_STATUS_STOPPED)
		return KX_STATUS_STOPPED;
	if (!kx_proc_alive(st->pid, st->pid_start))
		return KX_STATUS_STOPPED;
	return st->status;
}

char *kx_state_oci_json(const struct kx_state *st, const char *owner)
{
	json_object *o = json_object_new_object();
	enum kx_status s = kx_state_effective(st);
	char *out;

	json_object *ann = json_tokener_parse(st->annotations_json ? st->annotations_json : "{}");

	/* runc's keys, in its order; annotations only when there are some */
	json_object_object_add(o, "ociVersion", json_object_new_string(KX_OCI_VERSION));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid",
			       json_object_new_int(s == KX_STATUS_STOPPED ? 0 : st->pid));
	json_object_object_add(o, "status", json_object_new_string(kx_status_name(s)));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
	json_object_object_add(o, "created", json_object_new_string(st->created));
	if (ann && json_object_object_length(ann))
		json_object_object_add(o, "annotations", ann);
	else
		json_object_put(ann);
	json_object_object_add(o, "owner", json_object_new_string(owner ? owner : ""));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}
