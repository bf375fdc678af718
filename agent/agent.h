/* SPDX-License-Identifier: GPL-2.0 */
/*
 * katasbx-agent: PID 1 of the guest. One thread, one poll loop: the host
 * channel, the SIGCHLD signalfd and every container process's pipes.
 */
#ifndef KATASBX_AGENT_H
#define KATASBX_AGENT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent.pb-c.h"
#include "kx_error.h"
#include "kx_id.h"
#include "ttrpc.h"

#define AGENT_VERSION "0.1"
#define AGENT_RUN_DIR "/run/katasbx/c"
#define AGENT_CGROUP_DIR "/sys/fs/cgroup/katasbx"
#define AGENT_ID_MAX KX_ID_MAX

/* Short names for the generated protobuf types. */
typedef Katasbx__Agent__V1__Process pb_process;
typedef Katasbx__Agent__V1__CreateContainerRequest pb_create_req;
typedef Katasbx__Agent__V1__Mount pb_mount;

/* ---- util.c ---- */

struct agent_config {
	bool debug;
	bool vsock;
	unsigned int port;
	/*
	 * A test image's agent only (built with KX_AGENT_FAULTS, for the
	 * hostile-guest suite): katasbx.fault=MODE misbehaves on the wire
	 * from the reply to the first katasbx.fault_on=METHOD on (channel.c).
	 */
	const char *fault;
	const char *fault_on;
};
extern struct agent_config agent_cfg;

void log_open(void);
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Kernel command line: parsed once, then looked up by key. */
int cmdline_load(void);
const char *cmdline_get(const char *key);
/* "mod.param=value" words as a finit_module parameter string (- and _ equal). */
size_t cmdline_module_params(const char *mod, char *out, size_t outlen);

int64_t now_ms(void);
int write_file(const char *path, const char *data);
/* Reads up to len-1 bytes of a small file and NUL-terminates; -1 on error. */
ssize_t read_file(const char *path, char *buf, size_t len);
int mkdir_p(const char *path, mode_t mode);
/*
 * A container's /etc/passwd from fd (closed here; -1: none): at most len-1
 * bytes of it, NUL-terminated, and only if a regular file ("" otherwise).
 */
void passwd_read(int fd, char *buf, size_t len);
/*
 * uid's line of passwd text: its name and home ("name:pw:uid:gid:gecos:home:
 * shell"; either out may be NULL); false when no line has a name (or, if
 * home is asked for, a home) for uid.
 */
bool passwd_lookup(const char *passwd, uint32_t uid, char *name, size_t nlen, char *home,
		   size_t hlen);

/* A byte queue: valid bytes are data[head .. head + len). */
struct buf {
	uint8_t *data;
	size_t head;
	size_t len;
	size_t cap;
};

int buf_reserve(struct buf *b, size_t n);	/* room for n more bytes at the tail */
int buf_append(struct buf *b, const void *p, size_t n);
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);
static inline uint8_t *buf_tail(struct buf *b)
{
	return b->data + b->head + b->len;
}

static inline uint8_t *buf_head(struct buf *b)
{
	return b->data + b->head;
}

/* ---- main.c: the poll loop ---- */

typedef void (*poll_cb)(void *ptr, short revents);
void loop_add(int fd, short events, poll_cb cb, void *ptr);
/* Ask the loop to wake up within ms milliseconds. */
void loop_timeout(int ms);
/* Free p with fn once the current loop iteration is over. */
void defer_free(void (*fn)(void *), void *p);

/* ---- modules.c ---- */

void modules_load(int rootfd);
/* The agent run as /sbin/modprobe by the kernel: the modules on demand. */
int modprobe_main(int argc, char **argv);
/*
 * The files that load want (a module's name, or an alias of one as the kernel
 * asks: "rtnl-link-bridge") among the modules on demand in the directory
 * odfd (its "aliases" and "deps"), in load order, space-separated in files;
 * the module's name in mod. 0, ENOENT when it is not there.
 */
int ondemand_files(int odfd, const char *want, char *mod, size_t mod_len, char *files,
		   size_t files_len);

/* ---- net.c: container networks ---- */

/* How long net_setup waits for an interface's device to appear, in ms (2000). */
extern int net_link_wait_ms;
/* At boot: lo up in the guest's network namespace, an fd of which is kept. -1, logged. */
int net_init(void);
/*
 * At boot, before a template of the VM is saved: the host's network
 * devices (MACs kx_net_device_mac(N)) wait, down, in a network namespace
 * made now, lo up, which the first net_setup with interfaces takes. None:
 * nothing is made. -1, logged: net_setup makes its namespace itself.
 */
int net_prepare(void);
/*
 * A new network namespace holding n's interfaces (each device found by its
 * device_mac, moved in as name, then MAC, MTU, up, addresses) and routes,
 * lo up; *netns_fd, close-on-exec, is the namespace. Calls kx_net_check
 * first. The agent is back in its own namespace on return. -1 and msg
 * naming the interface or route and what failed; nothing is left then.
 */
int net_setup(const Katasbx__Agent__V1__Network *n, int *netns_fd, char *msg, size_t len);
/*
 * The same into the existing network namespace netns_fd (a container's,
 * made with none; -1: the guest's own, where a container without a network
 * is), the devices taken from where they wait.
 */
int net_add(const Katasbx__Agent__V1__Network *n, int netns_fd, char *msg, size_t len);
/*
 * n's interfaces, and lo up, in the network namespace netns_fd that a user
 * namespace's init was cloned with (net_setup makes its own for the others).
 */
int net_setup_in(const Katasbx__Agent__V1__Network *n, int netns_fd, char *msg, size_t len);

/* ---- channel.c: host connections ---- */

/* Where a reply goes: a connection session and a stream id. */
struct call {
	uint64_t sid;
	uint32_t stream;
	const char *method;	/* its name (static), NULL before it is known */
};

void channel_init(void);
void channel_poll(void);
/* Queue a response; dropped when the session is gone. */
/* Both return 0, so that a handler can end with "return reply(...)". */
int reply(const struct call *c, int code, const char *msg, const ProtobufCMessage *m);
int reply_err(const struct call *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Push queued responses out, waiting up to timeout_ms. */
void channel_flush(int timeout_ms);
bool session_alive(uint64_t sid);

/* ---- server.c: dispatch ---- */

/* -1: malformed request, the caller drops the connection. */
int server_dispatch(uint64_t sid, const struct ttrpc_frame *f);
/* Answer parked calls whose condition now holds. */
void pending_service(void);

/* ---- identity.c ---- */

/* SetIdentity; raw is the request as received, to see what unpacking hides. */
int identity_set(const struct call *call, const Katasbx__Agent__V1__SetIdentityRequest *r,
		 const uint8_t *raw, size_t rawlen);

/* ---- container.c ---- */

enum proc_state {
	PROC_SETUP,		/* child building its container */
	PROC_CREATED,		/* waiting for the start signal */
	PROC_STARTING,		/* start sent, exec result pending */
	PROC_RUNNING,
	PROC_EXITED,
};

struct out_stream {
	int fd;			/* -1 once closed */
	struct buf buf;
	bool eof;
};

struct in_stream {
	int fd;			/* -1 once closed */
	struct buf buf;
	bool close_pending;
};

struct container;
struct share;

struct process {
	struct process *next;
	struct container *c;
	char exec_id[AGENT_ID_MAX + 1];	/* "" for the container's init */
	pid_t pid;
	enum proc_state state;
	int status;		/* exit code or 128 + signal, once exited */
	bool dead;		/* freed at the end of this loop iteration */
	bool waited;		/* a WaitProcess got the exit status */
	int sync_fd;		/* our end of the setup/exec report socket */
	bool sync_call_set;
	struct call sync_call;	/* Create, Start or Exec waiting on sync_fd */
	bool terminal;
	int tty_fd;		/* pty master, or -1 */
	struct in_stream in;
	struct out_stream out;
	struct out_stream err;
};

struct container {
	struct container *next;
	char id[AGENT_ID_MAX + 1];
	char dir[160];		/* AGENT_RUN_DIR/<id> */
	char rootfs[180];
	char cgroup[180];
	struct share *share;	/* the 9p share the rootfs is bound from */
	bool rootfs_mounted;
	bool removing;		/* killed, waiting for its processes to be reaped */
	bool remove_call_set;
	struct call remove_call;	/* answered once the teardown is done */
	int remove_code;
	char remove_msg[600];
	int64_t remove_deadline;
	struct process *init;
	struct process *procs;	/* init first, then execs */
	void *seccomp;		/* its processes' filter (seccomp.c), NULL: none */
	int netns_fd;		/* its own network namespace (net_setup), or -1 */
};

extern struct container *containers;

struct container *container_find(const char *id);
/*
 * The container id names, or NULL with the call answered (an invalid id,
 * none of that id) and *ret what the answer returned.
 */
struct container *container_get(const struct call *call, const char *id, int *ret);
struct process *process_find(struct container *c, const char *exec_id);
void container_reap(void);
void containers_poll(void);
/* Forget exec processes whose exit status and output were all delivered. */
void containers_gc(void);
void containers_kill_all(void);

/* Handlers: each replies now or parks the call. */
int container_create(const struct call *call, const pb_create_req *r);
int container_start(const struct call *call, const char *id);
int container_exec(const struct call *call, const char *id, const char *exec_id,
		    const pb_process *p);
int container_signal(const struct call *call, const char *id, const char *exec_id,
		      uint32_t sig, bool all);
int container_remove(const struct call *call, const char *id);

/* ---- stats.c ---- */

int container_stats(const struct call *call, const char *id);
int container_processes(const struct call *call, const char *id);

/* ---- cgroup.c ---- */

void cgroup_setup(void);
void cgroup_join(const char *cg, pid_t pid);
void cgroup_kill(const char *cg);
int cgroup_signal(const char *cg, int sig);
/* rmdir now, or later from cgroup_gc() once the killed processes are gone. */
void cgroup_remove(const char *cg);
/* Writes of the spec's or an update's resources: each file allowed (kx_cgroup_file_ok). */
int cgroup_check_writes(Katasbx__Agent__V1__CgroupWrite *const *w, size_t n, char *msg,
			size_t len);
/*
 * Each in order; -1 and "FIELD: FILE \"VALUE\": why" at the first that fails.
 * A keep_quota cpu.max write keeps the quota the file has.
 */
int cgroup_write_all(const char *cg, Katasbx__Agent__V1__CgroupWrite *const *w, size_t n,
		     char *msg, size_t len);
void cgroup_gc(void);
/* A file's number, or the number after "key " in it; 0 when absent. */
uint64_t cgroup_value(const char *cg, const char *file, const char *key);

/* ---- share.c ---- */

struct share *share_get(const char *tag, struct kx_err *err);
void share_put(struct share *sh);
const char *share_path(const struct share *sh);

/* ---- stdio.c: process pipes and pty ---- */

#define OUT_BUF_CAP (1u << 20)
#define IN_BUF_CAP (1u << 20)
#define READ_MAX (64u << 10)

struct child_stdio {
	int fd[3];		/* the child's stdin, stdout, stderr */
};

int stdio_create(struct process *p, bool terminal, struct child_stdio *cs, struct kx_err *err);
void stdio_close_child(struct child_stdio *cs);
void stdio_poll(struct process *p);
void stdio_close(struct process *p);
void stdio_attach_tty(struct process *p, int master);
/* Bytes accepted into the stdin queue, or -1 with err. */
ssize_t stdio_write_stdin(struct process *p, const void *data, size_t len, struct kx_err *err);
int stdio_close_stdin(struct process *p, struct kx_err *err);
int stdio_winsize(struct process *p, unsigned int rows, unsigned int cols, struct kx_err *err);

/* ---- child side: init.c, mounts.c, spawn.c ---- */

/* The namespaces a pod's container may join: fds of its sandbox's init's. */
enum { JOIN_IPC, JOIN_UTS, JOIN_PID, JOIN_NET, N_JOIN };

/* What the child reports on its sync socket. */
enum { SYNC_READY = 1, SYNC_ERROR = 2, SYNC_TTY = 3 };
struct sync_msg {
	int32_t kind;
	int32_t errnum;
	char msg[480];
};

/* Reports an error; sync_report() appends strerror(errnum), _err() sends e as is. */
void sync_report(int fd, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sync_report_err(int fd, const struct kx_err *e);
/* share_root: where the rootfs share is mounted, for mounts with a share_source */
int setup_rootfs(const pb_create_req *r, const char *rootfs, const char *share_root,
		 struct kx_err *err);
void child_set_stdio(const struct child_stdio *cs, bool terminal);
int child_open_tty(int sync_fd, bool console, struct kx_err *err);
/* Close every fd above 2 but those in keep. */
void child_close_fds(const int *keep, size_t n);
/* args[0] in the container's root and PATH, as runc finds it at create; -1 and err. */
int find_program(const pb_process *p, struct kx_err *err);
/*
 * Applies the process fields and execs; reports and _exit(127) on failure.
 * seccomp: a filter (seccomp.c) loaded just before exec, or NULL.
 */
void exec_process(const pb_process *p, void *seccomp, int sync_fd) __attribute__((noreturn));
/* In the child, first thing: the signal mask and dispositions PID 1 set, undone. */
void child_reset_signals(void);
/* Wait for the agent's byte on the sync socket; false when it went away. */
bool child_wait_byte(int fd);
/*
 * The container's init: join ipc and uts (join[], -1: its own) and its
 * network namespace (netns, -1: the guest's), then as init.c says.
 */
void child_init(const pb_create_req *r, const char *rootfs, const char *share_root,
		void *c_seccomp, const int join[N_JOIN], int netns, int sync_fd,
		const struct child_stdio *cs) __attribute__((noreturn));

/* ---- seccomp.c ---- */

/* The filter of a linux.seccomp profile, not loaded; NULL and msg when it is bad. */
void *seccomp_build(const Katasbx__Agent__V1__Seccomp *s, char *msg, size_t len);
/* Load it into this process (NULL: nothing to do); -1 and errno. */
int seccomp_apply(void *filter);
void seccomp_free(void *filter);

#endif
