/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The monitor's insides, shared by its three files: monitor.c (the
 * lifecycle and the poll loop), monitor_io.c (the processes, the agent
 * requests made for them, the agent's answers and the stdio relay) and
 * monitor_rpc.c (the monitor.sock methods and their clients).
 */
#ifndef KX_MONITOR_INT_H
#define KX_MONITOR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "monitor.h"
#include "state.h"
#include "ttrpc.h"

#define MAX_CLIENTS 16
#define MAX_PENDING 64
#define MAX_PROCS 32		/* the init (index 0), further containers' inits, execs */
#define MAX_WAITERS 4		/* WaitExec calls parked per exec */
/*
 * How long a process's output is still relayed after it exited, when
 * processes it left behind (a shared pid namespace, or none) hold its stdout
 * or stderr open: its exit is then reported without their EOF, as runc's shim
 * reports an init's exit at once; they are killed with the container.
 */
#define KX_EXIT_DRAIN_MS 1000
/*
 * How long the agent has to carry out a SIGKILL of the container's init
 * before the monitor stops the VM instead: a guest that hangs, or does not
 * answer, must not make kill -9 fail (the container then exits 137, as the
 * signal would have made it).
 */
#define KX_KILL_GRACE_MS 2000

enum pending_kind {
	P_NONE = 0,
	P_START,
	P_KILL,
	P_READ_OUT,
	P_READ_ERR,
	P_WAIT,
	P_WRITE_IN,
	P_CLOSE_IN,
	P_FORWARD,	/* a forwarded signal: nobody waits for the answer */
	P_STATS,	/* the agent's answer relayed as it is: StatsContainer, ListProcesses */
	P_PROCESSES,
	P_EXEC,
	P_CREATE,	/* a further container */
	P_REMOVE,
	P_REPLY,	/* answered to the client as the agent answered */
	P_ADD_NET,	/* AddNetwork before the init's StartContainer */
};

struct pending {
	enum pending_kind kind;
	int proc;		/* index into procs, -1: none (or gone) */
	uint32_t stream;
	int client;		/* index into clients, -1: the monitor itself */
	uint32_t client_stream;
};

/*
 * A process whose stdio the monitor relays: of its own container (cid is
 * the monitor's id) or of a further one made by CreateContainer.
 */
struct proc {
	bool used;
	char cid[KX_ID_MAX + 1];	/* the container's id in the guest */
	char exec_id[KX_ID_MAX + 1];	/* "": the container's init */
	int fd[3];			/* stdin, stdout, stderr on the host; -1: none */
	bool started, starting;		/* starting: a further container's StartContainer */
	bool removing;			/* a further container's RemoveContainer is out */
	bool out_eof, err_eof, waited;
	int64_t drain_deadline;		/* waited, output open: relayed until then (ms) */
	bool stdin_open, stdin_busy;
	int exit_status;
	struct { int client; uint32_t stream; } waiter[MAX_WAITERS];	/* client -1: free */
};

struct client {
	bool used;
	struct ttrpc_conn conn;
};

struct mon {
	const struct kx_monitor_args *a;
	struct kx_state st;
	struct kx_boot b;		/* the VM and the agent connection */
	struct kx_net net;		/* its network namespace's interfaces, wired to its taps */
	struct kx_hostcg hostcg;	/* its cgroup on the host, when it has one */
	bool has_hostcg;
	int listen_fd;
	int sig_fd;
	struct client clients[MAX_CLIENTS];
	struct pending pend[MAX_PENDING];
	bool started, start_pending;
	bool net_added;			/* a late network's scan at start is done */
	struct proc procs[MAX_PROCS];	/* [0]: the init, on fds 0, 1, 2 */
	bool vm_gone;
	bool paused;		/* the VM's vCPUs are stopped (QMP stop) */
	int64_t kill_deadline;	/* a SIGKILL of the init asked for: the VM goes then; 0: none */
	char sock_path[4096];
};

#define INIT(m) (&(m)->procs[0])

/* monitor.c */
void save_state(struct mon *m);

/* monitor_io.c */
int agent_send_proc(struct mon *m, const char *method, const ProtobufCMessage *msg,
		    enum pending_kind kind, int proc, int client, uint32_t client_stream);
int agent_send(struct mon *m, const char *method, const ProtobufCMessage *msg,
	       enum pending_kind kind, int client, uint32_t client_stream);
void request_read(struct mon *m, int pi, bool err_stream);
void request_wait(struct mon *m, int pi);
void request_close_stdin(struct mon *m, int pi);
void request_start(struct mon *m, int pi, int client, uint32_t client_stream);
void request_signal(struct mon *m, const char *cid, const char *exec_id, uint32_t sig,
		    bool all, enum pending_kind kind, int client, uint32_t client_stream);
void close_proc_fds(struct proc *pr);
void check_exec_done(struct mon *m, int pi);
void free_proc(struct mon *m, int pi);
int drain_timeout(const struct mon *m);
void end_drains(struct mon *m);
/* Milliseconds until KX_KILL_GRACE_MS after a SIGKILL ends (-1: none); then the VM is stopped. */
int kill_timeout(const struct mon *m);
void end_kill(struct mon *m);
/*
 * The container has ended, its VM with it, however: what callers still wait
 * for the agent to answer is answered before the monitor goes. A kill is
 * done (kill -9 then waits for the state to say stopped); the rest fail
 * with @why.
 */
void answer_pending(struct mon *m, const char *why);
int handle_agent_frames(struct mon *m);
int find_proc(struct mon *m, const char *cid, const char *exec_id);
int alloc_proc(struct mon *m);
int open_proc_fds(struct proc *pr, const char *const paths[3], char *msg, size_t len);
void on_stdin(struct mon *m, int pi);
void follow_winsize(struct mon *m);

/* monitor_rpc.c */
void reply_client(struct mon *m, int client, uint32_t stream, int code, const char *msg);
void drop_client(struct mon *m, int ci);
void on_client_readable(struct mon *m, int ci);
void on_accept(struct mon *m);

#endif
