// SPDX-License-Identifier: GPL-2.0
#include "template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "fsutil.h"
#include "kxdev.h"
#include "log.h"
#include "net/sandbox.h"
#include "state.h"
#include "ttrpc.h"

#define AGENT_SERVICE "katasbx.agent.v1.AgentService"
#define SAVE_TIMEOUT_MS 30000

void kx_template_dir(char *buf, size_t len, const char *root)
{
	snprintf(buf, len, "%s/.templates", root);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static int describe_file(char *buf, size_t len, const char *what, const char *path,
			 struct kx_err *err)
{
	struct stat st;

	if (stat(path, &st))
		return kx_error(err, errno, "%s %s", what, path);
	snprintf(buf, len, "|%s=%s:%lld:%lld.%09ld:%llu", what, path, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
	return 0;
}

int kx_template_key(const struct kx_vm_config *vc, char key[KX_TEMPLATE_KEY_LEN + 1],
		    struct kx_err *err)
{
	char part[8192];
	uint64_t h = 0xcbf29ce484222325ull;

	/* bump when the machine line or what a template holds changes */
	h = fnv1a(h, "katasbx-template-v3");
	if (describe_file(part, sizeof(part), "qemu", vc->qemu, err))
		return -1;
	h = fnv1a(h, part);
	if (describe_file(part, sizeof(part), "kernel", vc->kernel, err))
		return -1;
	h = fnv1a(h, part);
	if (describe_file(part, sizeof(part), "initrd", vc->initrd, err))
		return -1;
	h = fnv1a(h, part);
	snprintf(part, sizeof(part), "|mem=%u|vcpus=%u|accel=%s|channel=%s|extra=%s|nics=%u|vhost=%d",
		 vc->mem_mib, vc->vcpus, kx_accel_name(vc->accel), kx_channel_name(vc->channel),
		 vc->cmdline_extra ? vc->cmdline_extra : "", vc->n_nics, vc->n_nics && vc->vhost_net);
	h = fnv1a(h, part);
	snprintf(key, KX_TEMPLATE_KEY_LEN + 1, "%016llx", (unsigned long long)h);
	return 0;
}

/* KEY_LEN lower-case hex digits: the name of a template directory. */
static bool is_key(const char *name)
{
	return strlen(name) == KX_TEMPLATE_KEY_LEN &&
	       strspn(name, "0123456789abcdef") == KX_TEMPLATE_KEY_LEN;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int lock_key(const char *dir, const char *key, struct kx_err *err)
{
	char path[4200];

	if (kx_mkdir_p(dir, 0700))
		return kx_error(err, errno, "template directory %s", dir);
	snprintf(path, sizeof(path), "%s/%s.lock", dir, key);
	return kx_lock_file(path, true, err);
}

static void fill(struct kx_template *t, const char *dir, const char *key, unsigned int mem)
{
	snprintf(t->key, sizeof(t->key), "%s", key);
	snprintf(t->dir, sizeof(t->dir), "%s/%s", dir, key);
	snprintf(t->mem_path, sizeof(t->mem_path), "%s/memory", t->dir);
	snprintf(t->state_path, sizeof(t->state_path), "%s/state", t->dir);
	t->mem_mib = mem;
}

static bool complete(const struct kx_template *t)
{
	char meta[4200];

	snprintf(meta, sizeof(meta), "%s/meta.json", t->dir);
	return !access(meta, R_OK) && !access(t->mem_path, R_OK) && !access(t->state_path, R_OK);
}

static int write_meta(const char *path, const char *key, const struct kx_vm_config *vc,
		      struct kx_err *err)
{
	json_object *o = json_object_new_object();
	char created[40];
	time_t now = time(NULL);
	struct tm tm;
	int ret = 0;

	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(o, "key", json_object_new_string(key));
	json_object_object_add(o, "created", json_object_new_string(created));
	json_object_object_add(o, "qemu", json_object_new_string(vc->qemu));
	json_object_object_add(o, "kernel", json_object_new_string(vc->kernel));
	json_object_object_add(o, "initrd", json_object_new_string(vc->initrd));
	json_object_object_add(o, "memory_mib", json_object_new_int(vc->mem_mib));
	json_object_object_add(o, "vcpus", json_object_new_int(vc->vcpus));
	json_object_object_add(o, "accel", json_object_new_string(kx_accel_name(vc->accel)));
	json_object_object_add(o, "channel", json_object_new_string(kx_channel_name(vc->channel)));
	json_object_object_add(o, "interfaces", json_object_new_int(vc->n_nics));
	if (vc->n_nics)
		json_object_object_add(o, "vhost_net", json_object_new_boolean(vc->vhost_net));
	if (json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY))
		ret = kx_error(err, errno, "write %s", path);
	json_object_put(o);
	return ret;
}

/*
 * Create and remove a container on the template's empty share before saving,
 * so that what the guest kernel sets up on first use (the first 9p mount,
 * namespaces, devpts) is already there in every clone.
 */
static int prewarm(struct ttrpc_conn *conn, int timeout_ms, struct kx_err *err)
{
	Katasbx__Agent__V1__CreateContainerRequest cr =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__ContainerRequest rr = KATASBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__Process proc = KATASBX__AGENT__V1__PROCESS__INIT;
	Katasbx__Agent__V1__User user = KATASBX__AGENT__V1__USER__INIT;
	char *args[] = { "/prewarm" };

	proc.n_args = 1;
	proc.args = args;
	proc.cwd = "/";
	proc.user = &user;
	cr.container_id = "katasbx-prewarm";
	cr.process = &proc;
	cr.rootfs_tag = KX_ROOTFS_TAG;
	if (ttrpc_call(conn, AGENT_SERVICE, "CreateContainer", &cr.base,
		       &katasbx__agent__v1__empty__descriptor, NULL, timeout_ms, err))
		return kx_error_wrap(err, "prewarm the template");
	rr.container_id = "katasbx-prewarm";
	if (ttrpc_call(conn, AGENT_SERVICE, "RemoveContainer", &rr.base,
		       &katasbx__agent__v1__empty__descriptor, NULL, timeout_ms, err))
		return kx_error_wrap(err, "prewarm the template");
	return 0;
}

/* Boot the template VM in tmp, wait for its agent, save it. */
/*
 * On tmpfs, a clone's first write to a page the template never touched
 * allocates that page in this shared file (shmem's fault on a hole), charged
 * to the clone's cgroup and kept after it: measured, a container writing
 * 240 MiB was charged 448 MiB on the host and its QEMU killed at its limit.
 * Every page allocated now, once, is charged to whoever makes the template;
 * a clone then pays only for its own copies. On a disk filesystem holes
 * read as clean page cache, which is reclaimed: nothing to do.
 */
static int fill_holes(const char *mem, uint64_t size, struct kx_err *err)
{
	struct statfs sf;
	int fd, ret = 0;

	if (statfs(mem, &sf) || sf.f_type != TMPFS_MAGIC)
		return 0;
	fd = open(mem, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return kx_error(err, errno, "open %s", mem);
	if (fallocate(fd, 0, 0, (off_t)size))
		ret = kx_error(err, errno, "allocate the template's memory %s (%" PRIu64 " MiB, on "
			       "tmpfs)", mem, size >> 20);
	close(fd);
	return ret;
}

static int make(const char *tmp, const struct kx_vm_config *vc, int boot_timeout_ms,
		bool *silent, struct kx_err *err)
{
	Katasbx__Agent__V1__Empty empty = KATASBX__AGENT__V1__EMPTY__INIT;
	char empty_dir[4200], mem[4200], state[4200], prog[4300];
	struct kx_vm_config tc = *vc;
	struct kx_vm vm = { 0 };
	struct ttrpc_conn conn;
	int fd, ret = -1, taps[KX_NET_MAX_IFACES];

	snprintf(empty_dir, sizeof(empty_dir), "%s/empty", tmp);
	snprintf(mem, sizeof(mem), "%s/memory", tmp);
	snprintf(state, sizeof(state), "%s/state", tmp);
	if (mkdir(empty_dir, 0755))
		return kx_error(err, errno, "create %s", empty_dir);
	/* the prewarm's program: looked up at create (as runc does), never started */
	snprintf(prog, sizeof(prog), "%s/prewarm", empty_dir);
	fd = open(prog, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (fd < 0)
		return kx_error(err, errno, "create %s", prog);
	close(fd);
	/* The 9p device is there but unmounted: each clone points it at its own rootfs. */
	tc.rundir = tmp;
	tc.share_path = empty_dir;
	tc.share_readonly = false;
	tc.mem_path = mem;
	tc.mem_share = true;
	tc.incoming = false;
	tc.cgroup = NULL;	/* a template outlives the sandbox that made it: not its cost */
	/*
	 * Network devices need taps whose features match a clone's (vnet
	 * headers): the template's wait in a namespace of their own.
	 */
	if (tc.n_nics && kx_net_scratch_taps(tc.n_nics, taps, NULL, err))
		return -1;
	tc.tap_fds = taps;
	ret = kx_vm_start(&tc, &vm, err);
	for (unsigned int i = 0; i < tc.n_nics; i++)
		close(taps[i]);	/* QEMU holds them */
	if (ret)
		return -1;
	ret = -1;
	fd = kx_vm_connect_agent(&vm, boot_timeout_ms, err);
	if (fd < 0)
		goto out;
	ttrpc_conn_init(&conn, fd);
	ret = ttrpc_call(&conn, AGENT_SERVICE, "Check", &empty.base,
			 &katasbx__agent__v1__empty__descriptor, NULL, boot_timeout_ms, err);
	if (ret) {
		char tail[300], qemu[300];

		*silent = err->errnum == ETIMEDOUT;
		kx_file_last_line(vm.console_path, tail, sizeof(tail));
		kx_file_last_line(vm.log_path, qemu, sizeof(qemu));
		kx_error_wrap(err, "the template's agent did not answer (the guest console's "
			      "last line: %s; QEMU's: %s)", tail, qemu);
	} else if (!(ret = prewarm(&conn, boot_timeout_ms, err))) {
		ret = kx_vm_save(&vm, state, SAVE_TIMEOUT_MS, err);
		if (!ret)
			ret = fill_holes(mem, (uint64_t)vc->mem_mib << 20, err);
	}
	ttrpc_conn_close(&conn);
out:
	kx_vm_stop(&vm, 2000);
	return ret;
}

/*
 * With /dev/katasbx, clones map the module's copy of the memory: find it by
 * KEY, or register the file. Any failure leaves the file in use, with a word.
 */
static void use_kernel_memory(struct kx_template *t)
{
	char node[256];
	struct kx_err err;
	int ret;

	if (!kx_dev_present())
		return;
	ret = kx_dev_template_find(t->key, node, sizeof(node), &err);
	if (ret == 1)
		ret = kx_dev_template_register(t->mem_path, (uint64_t)t->mem_mib << 20, t->key,
					       node, sizeof(node), &err);
	if (ret) {
		kx_warn("template %s: /dev/katasbx: %s; clones map %s", t->key, err.msg,
			t->mem_path);
		return;
	}
	snprintf(t->mem_path, sizeof(t->mem_path), "%s", node);
	t->in_kernel = true;
}

int kx_template_get(const char *dir, const struct kx_vm_config *vc, int boot_timeout_ms,
		    struct kx_template *t, struct kx_err *err)
{
	char key[KX_TEMPLATE_KEY_LEN + 1], tmp[4200], meta[4200];
	int lock;

	memset(t, 0, sizeof(*t));
	if (kx_template_key(vc, key, err))
		return kx_error_wrap(err, "template");
	fill(t, dir, key, vc->mem_mib);
	lock = lock_key(dir, key, err);
	if (lock < 0)
		return -1;
	if (complete(t)) {
		use_kernel_memory(t);
		close(lock);
		return 0;
	}
	kx_debug("making template %s", key);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, key);
	rm_rf(tmp);
	rm_rf(t->dir);
	if (mkdir(tmp, 0700)) {
		kx_error(err, errno, "create %s", tmp);
		goto fail;
	}
	if (make(tmp, vc, boot_timeout_ms, &t->guest_silent, err))
		goto fail;
	snprintf(meta, sizeof(meta), "%s/meta.json", tmp);
	if (write_meta(meta, key, vc, err))
		goto fail;
	if (rename(tmp, t->dir)) {
		kx_error(err, errno, "rename %s", tmp);
		goto fail;
	}
	t->made = true;
	/* a template made anew must not find an old registration of its key */
	if (kx_dev_present()) {
		struct kx_err ignored;

		kx_dev_template_destroy(key, &ignored);
	}
	use_kernel_memory(t);
	close(lock);
	return 0;
fail:
	rm_rf(tmp);
	close(lock);
	return kx_error_wrap(err, "make template %s", key);
}

int kx_template_destroy(const char *dir, const char *key, struct kx_err *err)
{
	char path[4200], dead[4300];
	int lock;

	if (!is_key(key))
		return kx_error(err, EINVAL, "\"%s\" is not a template key", key);
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (access(path, F_OK))
		return kx_error(err, 0, "template %s does not exist", key);
	lock = lock_key(dir, key, err);
	if (lock < 0)
		return -1;
	/* Running clones hold their own mapping of the memory file: unlinking is safe. */
	snprintf(dead, sizeof(dead), "%s/%s.dead.%d", dir, key, getpid());
	if (rename(path, dead)) {
		close(lock);
		return kx_error(err, errno, "remove template %s", key);
	}
	rm_rf(dead);
	if (kx_dev_present() && kx_dev_template_destroy(key, err) < 0) {
		close(lock);
		return kx_error_wrap(err, "remove template %s from /dev/katasbx", key);
	}
	snprintf(path, sizeof(path), "%s/%s.lock", dir, key);
	unlink(path);
	close(lock);
	return 0;
}

char **kx_template_list(const char *dir, size_t *n)
{
	return kx_dir_names(dir, is_key, n);
}

char *kx_template_meta(const char *dir, const char *key)
{
	char path[4200];
	json_object *o;
	char *s;

	snprintf(path, sizeof(path), "%s/%s/meta.json", dir, key);
	o = json_object_from_file(path);
	if (!o)
		return NULL;
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}
