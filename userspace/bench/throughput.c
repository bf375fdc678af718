// SPDX-License-Identifier: GPL-2.0
/*
 * --throughput SECS: what one TCP stream carries between a container and the
 * far side of the -net modes' veth, each way, in a VM (clone-net's
 * configuration: a bundle whose network namespace is kb<pid>-near, run under
 * the -net root, a clone where the runtime has templates) and in runc
 * (runc-net's): `iperf3 -c 10.216.0.1 -J [-R]` in the container against a
 * one-off `ip netns exec kb<pid>-far iperf3 -s -1`. Reported beside each
 * other, never asserted: under TCG the VM's figure is bound by the emulated
 * CPU that runs the guest's TCP stack and virtio-net, not by the veth.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* iperf3's own port: the far namespace is the bench's, nothing else listens in it */
#define PORT 5201
#define LISTEN_MS 10000		/* from the server's fork to its listening socket */
#define SERVER_EXIT_MS 10000	/* from the client's exit to the one-off server's */
#define STOP_MS 2000		/* from SIGTERM to SIGKILL of the server's group */

static const char *dir_name[] = { "up", "down" };

struct server {
	pid_t pid;		/* 0 once reaped */
	char log[400];		/* its stdout and stderr */
};

/* name in PATH, else in the Debian places a user's PATH may lack */
static bool which(const char *name, char *buf, size_t len)
{
	static const char *fallback[] = { "/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin" };
	const char *env = getenv("PATH");
	char *dirs = strdup(env ? env : ""), *d, *save = NULL;
	bool found = false;

	for (d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", d, name);
		found = d[0] == '/' && access(buf, X_OK) == 0;
	}
	free(dirs);
	for (size_t i = 0; !found && i < sizeof(fallback) / sizeof(fallback[0]); i++) {
		snprintf(buf, len, "%s/%s", fallback[i], name);
		found = access(buf, X_OK) == 0;
	}
	if (!found)
		buf[0] = 0;
	return found;
}

/* the directories above path, made as on the host (mkdir -p of its dirname) */
static int mkparents(const char *path)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return 0;
}

/* host file path into rootfs at the same path, its content (a symlink followed, as cp -L) */
static int copy_in(const char *rootfs, const char *path, char *why, size_t whylen)
{
	char to[4096];
	struct stat st;

	snprintf(to, sizeof(to), "%s%s", rootfs, path);
	if (!lstat(to, &st))
		return 0;	/* ldd names the interpreter too */
	if (mkparents(to) || kb_copy_file(path, to, 0755)) {
		snprintf(why, whylen, "copying %s into %s: %s", path, rootfs, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The ELF interpreter (PT_INTERP) of path into buf, "" for a static binary:
 * the library ldd lists without "=>", checked apart as guest/mkguest.sh does,
 * since without it nothing of the binary runs.
 */
static int elf_interp(const char *path, char *buf, size_t len, char *why, size_t whylen)
{
	union { Elf64_Ehdr e64; Elf32_Ehdr e32; } eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t phnum, phent;
	bool is64;
	off_t phoff;

	buf[0] = 0;
	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) < (ssize_t)sizeof(eh.e32) ||
	    memcmp(eh.e64.e_ident, ELFMAG, SELFMAG)) {
		snprintf(why, whylen, "%s: %s", path, fd < 0 ? strerror(errno) : "not an ELF file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	is64 = eh.e64.e_ident[EI_CLASS] == ELFCLASS64;
	phoff = is64 ? (off_t)eh.e64.e_phoff : (off_t)eh.e32.e_phoff;
	phnum = is64 ? eh.e64.e_phnum : eh.e32.e_phnum;
	phent = is64 ? eh.e64.e_phentsize : eh.e32.e_phentsize;
	for (size_t i = 0; i < phnum; i++) {
		union { Elf64_Phdr p64; Elf32_Phdr p32; } ph;
		size_t n = phent < sizeof(ph) ? phent : sizeof(ph), size;
		off_t off;

		if (pread(fd, &ph, n, phoff + (off_t)(i * phent)) != (ssize_t)n)
			break;
		if ((is64 ? ph.p64.p_type : ph.p32.p_type) != PT_INTERP)
			continue;
		off = is64 ? (off_t)ph.p64.p_offset : (off_t)ph.p32.p_offset;
		size = is64 ? ph.p64.p_filesz : ph.p32.p_filesz;
		if (size >= len || pread(fd, buf, size, off) != (ssize_t)size) {
			snprintf(why, whylen, "%s: cannot read its PT_INTERP", path);
			buf[0] = 0;
			close(fd);
			return -1;
		}
		buf[size] = 0;	/* it has its NUL, unless the file lies */
		break;
	}
	close(fd);
	return 0;
}

/* every library `ldd bin` lists, and the interpreter, into rootfs at their paths */
static int copy_libraries(const char *rootfs, const char *bin, char *why, size_t whylen)
{
	char *argv[] = { "ldd", (char *)bin, NULL }, interp[256], *out, *line, *save = NULL;
	int st = -1, rc = 0;

	if (elf_interp(bin, interp, sizeof(interp), why, whylen))
		return -1;
	if (!interp[0])
		return 0;	/* static: the binary is all it needs */
	out = kb_capture(argv, &st);
	if (!out || st) {
		snprintf(why, whylen, "ldd %s: %s", bin, !out ? strerror(errno) :
			 st == 127 ? "not found (Debian package libc-bin)" : "failed");
		if (out && st != 127)
			snprintf(why + strlen(why), whylen - strlen(why), " (exit status %d)", st);
		free(out);
		return -1;
	}
	/* "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "\t/lib64/ld-linux-x86-64.so.2 (0x...)" */
	for (line = strtok_r(out, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *ts = NULL;

		if (strstr(line, "not found")) {
			line += strspn(line, " \t");
			snprintf(why, whylen, "ldd %s: a library is not installed: %s", bin, line);
			rc = -1;
			break;
		}
		for (tok = strtok_r(line, " \t", &ts); tok && !rc; tok = strtok_r(NULL, " \t", &ts))
			if (tok[0] == '/')
				rc = copy_in(rootfs, tok, why, whylen);
	}
	free(out);
	return rc ? rc : copy_in(rootfs, interp, why, whylen);
}

/* the iperf bundle: the busybox one, plus iperf3 and what it needs to run */
static int make_bundle(struct kb_ctx *c, struct kb_tput *t, char *why, size_t whylen)
{
	char rootfs[400], netns[64];

	snprintf(t->bundle, sizeof(t->bundle), "%s/iperf", c->tmp);
	snprintf(netns, sizeof(netns), "/run/netns/%s", c->net_near);
	if (kb_make_bundle(t->bundle, "\"true\"", netns)) {
		snprintf(why, whylen, "cannot make the busybox bundle %s", t->bundle);
		return -1;
	}
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", t->bundle);
	if (copy_in(rootfs, t->iperf3, why, whylen) || copy_libraries(rootfs, t->iperf3, why, whylen))
		return -1;
	return 0;
}

/*
 * The busybox bundle's config.json with these args, plus a tmpfs on /tmp (as
 * many images have). It is needed: iperf3 keeps its send buffer in a file it
 * makes in /tmp, unlinks, then ftruncates and mmaps, and on a VM's 9p root
 * the ftruncate of an unlinked file fails ENOENT ("unable to create a new
 * stream"). runc gets the same bundle, so both measure the same container.
 */
static int write_config(const struct kb_tput *t, const char *args, const char *netns)
{
	char path[400];
	json_object *o, *mounts, *m, *opts;
	int rc;

	if (kb_bundle_config(t->bundle, args, netns))
		return -1;
	snprintf(path, sizeof(path), "%s/config.json", t->bundle);
	o = json_object_from_file(path);
	if (!o || !json_object_object_get_ex(o, "mounts", &mounts)) {
		json_object_put(o);
		errno = EINVAL;
		return -1;
	}
	m = json_object_new_object();
	opts = json_object_new_array();
	json_object_array_add(opts, json_object_new_string("nosuid"));
	json_object_array_add(opts, json_object_new_string("nodev"));
	json_object_array_add(opts, json_object_new_string("mode=1777"));
	json_object_array_add(opts, json_object_new_string("size=65536k"));
	json_object_object_add(m, "destination", json_object_new_string("/tmp"));
	json_object_object_add(m, "type", json_object_new_string("tmpfs"));
	json_object_object_add(m, "source", json_object_new_string("tmpfs"));
	json_object_object_add(m, "options", opts);
	json_object_array_add(mounts, m);
	rc = json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY);
	json_object_put(o);
	return rc ? -1 : 0;
}

/* the client's process.args, as JSON for config.json and as a command line */
static void client_args(const struct kb_tput *t, int dir, char *json, size_t jl, char *plain,
			size_t pl)
{
	snprintf(json, jl, "\"%s\", \"-c\", \"%s\", \"-p\", \"%d\", \"-t\", \"%d\", \"-J\"%s",
		 t->iperf3, KB_NET_GW, PORT, t->secs, dir == KB_TP_DOWN ? ", \"-R\"" : "");
	snprintf(plain, pl, "%s -c %s -p %d -t %d -J%s", t->iperf3, KB_NET_GW, PORT, t->secs,
		 dir == KB_TP_DOWN ? " -R" : "");
}

static void server_argv(struct kb_ctx *c, struct kb_tput *t, char *port, size_t plen,
			char **argv)
{
	size_t a = 0;

	snprintf(port, plen, "%d", PORT);
	argv[a++] = c->ip;
	argv[a++] = "netns";
	argv[a++] = "exec";
	argv[a++] = c->net_far;
	argv[a++] = t->iperf3;
	argv[a++] = "-s";
	argv[a++] = "-1";	/* one test, then it exits: nothing to stop when all went well */
	argv[a++] = "-p";
	argv[a++] = port;
	argv[a] = NULL;
}

static int server_start(struct kb_ctx *c, struct kb_tput *t, struct server *s, const char *tag,
			char *why, size_t whylen)
{
	char port[16], *argv[12];

	server_argv(c, t, port, sizeof(port), argv);
	snprintf(s->log, sizeof(s->log), "%s/iperf3-server-%s.log", c->logs, tag);
	s->pid = fork();
	if (s->pid < 0) {
		s->pid = 0;
		snprintf(why, whylen, "fork for the iperf3 server: %s", strerror(errno));
		return -1;
	}
	if (s->pid == 0) {
		int null = open("/dev/null", O_RDONLY), log;

		setpgid(0, 0);	/* a ^C on the terminal is the bench's to act on */
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* a bench killed outright takes it along */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		log = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (null < 0 || log < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(s->pid, s->pid);
	return 0;
}

/*
 * Is pid listening on PORT in the far namespace? Read from its own view,
 * /proc/PID/net/tcp6 and tcp, once it is in that namespace (until ip has
 * switched, that view is the host's). No probe connection: the one-off
 * server would take it for its test.
 */
static bool listening(struct kb_ctx *c, pid_t pid)
{
	static const char *files[] = { "tcp6", "tcp" };
	char path[64], ns[64];
	struct stat a, b;

	snprintf(ns, sizeof(ns), "/run/netns/%s", c->net_far);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(ns, &a) || stat(path, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return false;
	for (size_t i = 0; i < 2; i++) {
		char *s, *line, *save = NULL;
		bool yes = false;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, files[i]);
		s = kb_read_file(path, 1 << 20);
		/* "  0: 00000000000000000000000000000000:1451 000...:0000 0A ..." */
		for (line = s ? strtok_r(s, "\n", &save) : NULL; line && !yes;
		     line = strtok_r(NULL, "\n", &save)) {
			unsigned int port, state;

			yes = sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &port,
				     &state) == 2 && port == PORT && state == 0x0A;
		}
		free(s);
		if (yes)
			return true;
	}
	return false;
}

static void exit_how(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "ended");
}

static int server_listen(struct kb_ctx *c, struct server *s, char *why, size_t whylen)
{
	double deadline = kb_now_ms() + LISTEN_MS;
	char how[32], line[300];
	int st;

	while (!kb_stop) {
		if (listening(c, s->pid))
			return 0;
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			s->pid = 0;
			exit_how(st, how, sizeof(how));
			kb_last_line(s->log, line, sizeof(line));
			snprintf(why, whylen, "the iperf3 server ended (%s) before it listened%s%s",
				 how, line[0] ? ": " : "", line);
			return -1;
		}
		if (kb_now_ms() > deadline) {
			snprintf(why, whylen, "the iperf3 server did not listen on port %d in %s within %d s",
				 PORT, c->net_far, LISTEN_MS / 1000);
			return -1;
		}
		usleep(10000);
	}
	snprintf(why, whylen, "interrupted");
	return -1;
}

/* reaped, whatever happened: grace_ms to end by itself, then SIGTERM, then SIGKILL to its group */
static void server_stop(struct server *s, int grace_ms)
{
	double deadline = kb_now_ms() + grace_ms;
	bool termed = false;

	while (s->pid) {
		pid_t w = waitpid(s->pid, NULL, WNOHANG);

		if (w == s->pid || (w < 0 && errno != EINTR)) {
			s->pid = 0;
			break;
		}
		if (kb_now_ms() > deadline && !termed) {
			kill(-s->pid, SIGTERM);
			termed = true;
			deadline = kb_now_ms() + STOP_MS;
		} else if (kb_now_ms() > deadline) {
			kill(-s->pid, SIGKILL);
			kill(s->pid, SIGKILL);
			while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
				;
			s->pid = 0;
			break;
		}
		usleep(10000);
	}
}

/* iperf3's JSON on stdout: its "error", else end.sum_received's bits/s */
static void parse(const char *out, struct kb_tp_one *one, bool ran, const char *err)
{
	char *s = kb_read_file(out, 4 << 20);
	json_object *o = s && s[0] ? json_tokener_parse(s) : NULL, *e, *v;

	if (o && json_object_object_get_ex(o, "error", &e)) {
		snprintf(one->error, sizeof(one->error), "iperf3: %s%s%s%s",
			 json_object_get_string(e), ran ? "" : " (", ran ? "" : err, ran ? "" : ")");
	} else if (!ran) {
		snprintf(one->error, sizeof(one->error), "%s", err);
	} else if (!o) {
		snprintf(one->error, sizeof(one->error), "no JSON from iperf3 on stdout");
	} else if (!json_object_object_get_ex(o, "end", &e) ||
		   !json_object_object_get_ex(e, "sum_received", &v) ||
		   !json_object_object_get_ex(v, "bits_per_second", &v)) {
		snprintf(one->error, sizeof(one->error),
			 "iperf3's JSON has no end.sum_received.bits_per_second");
	} else {
		one->ok = true;
		one->bps = json_object_get_double(v);
		if (json_object_object_get_ex(e, "sum_sent", &v) &&
		    json_object_object_get_ex(v, "bits_per_second", &v))
			one->sent_bps = json_object_get_double(v);
	}
	json_object_put(o);
	free(s);
}

/* one direction of one runtime: the server up, the container's client, the server reaped */
static void measure(struct kb_ctx *c, struct kb_tput *t, int side, int dir)
{
	struct kb_tp_side *sd = &t->side[side];
	struct kb_tp_one *one = &sd->dir[dir];
	char args[512], id[64], out[400], log[400], err[512] = "", netns[64];
	struct server srv = { 0 };
	struct kb_result r = { 0 };
	struct kb_run run = { 0 };
	bool ran;

	one->tried = true;
	client_args(t, dir, args, sizeof(args), one->args, sizeof(one->args));
	snprintf(netns, sizeof(netns), "/run/netns/%s", c->net_near);
	snprintf(id, sizeof(id), "bench-iperf-%s-%s", sd->name, dir_name[dir]);
	snprintf(out, sizeof(out), "%s/%s.json", c->logs, id);
	snprintf(log, sizeof(log), "%s/%s.log", c->logs, id);
	/* one bundle for the four runs: they are sequential, only process.args changes */
	if (write_config(t, args, netns)) {
		snprintf(one->error, sizeof(one->error), "cannot write %s/config.json: %s", t->bundle,
			 strerror(errno));
		return;
	}
	if (server_start(c, t, &srv, id + strlen("bench-iperf-"), one->error, sizeof(one->error)) ||
	    server_listen(c, &srv, one->error, sizeof(one->error))) {
		server_stop(&srv, 0);
		return;
	}
	run = (struct kb_run){ .root = c->net_root, .bundle = t->bundle, .id = id, .out = out,
			       .timeout_s = c->timeout_s + t->secs, .cmdline = one->command,
			       .cmdlen = sizeof(one->command) };
	if (side == KB_TP_VM) {
		/* what clone-net runs: --template on (none without the flag), --warm off */
		run.tmpl = c->template_flag ? "on" : NULL;
		run.log = log;
		unlink(log);
		ran = kb_vm_run_spec(c, &run, &r, err, sizeof(err));
		kb_vm_delete_at(c, c->net_root, id, !ran);
		if (!c->keep)
			unlink(log);
	} else {
		ran = kb_runc_run_spec(c, &run, &r, err, sizeof(err));
	}
	server_stop(&srv, r.interrupted || kb_stop ? 0 : SERVER_EXIT_MS);
	if (r.interrupted) {
		snprintf(one->error, sizeof(one->error), "interrupted");
	} else {
		char why[400];

		parse(out, one, ran, err);
		/* the next run takes the same namespace: it must be as this one found it */
		if (side == KB_TP_VM && !kb_net_intact(c, why, sizeof(why)) && one->ok) {
			one->ok = false;
			snprintf(one->error, sizeof(one->error), "%s", why);
		}
	}
	if (!c->keep)
		unlink(out);
}

/* "412 Mbit/s", "35.21 Gbit/s" */
static void rate_str(double bps, char *buf, size_t len)
{
	if (bps >= 1e9)
		snprintf(buf, len, "%.2f Gbit/s", bps / 1e9);
	else if (bps >= 1e8)
		snprintf(buf, len, "%.0f Mbit/s", bps / 1e6);
	else
		snprintf(buf, len, "%.1f Mbit/s", bps / 1e6);
}

void kb_throughput(struct kb_ctx *c, struct kb_tput *t)
{
	char runc[256], *ver, port[16], *argv[12];
	char *verv[] = { t->iperf3, "--version", NULL };

	t->side[KB_TP_VM] = (struct kb_tp_side){ .name = "vm", .available = true,
						 .start = c->template_flag ? "clone" : "cold" };
	t->side[KB_TP_RUNC] = (struct kb_tp_side){ .name = "runc" };
	t->side[KB_TP_RUNC].available = which("runc", runc, sizeof(runc));
	if (!t->side[KB_TP_RUNC].available)
		snprintf(t->side[KB_TP_RUNC].why, sizeof(t->side[KB_TP_RUNC].why),
			 "runc not found (Debian package runc)");
	if (!which("iperf3", t->iperf3, sizeof(t->iperf3))) {
		snprintf(t->why, sizeof(t->why), "iperf3 not found (Debian package iperf3)");
		return;
	}
	if (strpbrk(t->iperf3, "\"\\ ")) {	/* it goes into config.json and a command line as is */
		snprintf(t->why, sizeof(t->why), "iperf3 found at %s: a path with a quote, backslash or space",
			 t->iperf3);
		return;
	}
	ver = kb_capture(verv, NULL);
	snprintf(t->version, sizeof(t->version), "%.*s", ver ? (int)strcspn(ver, "\n") : 0,
		 ver ? ver : "");
	free(ver);
	/* the -net modes' namespaces, made here if no -net mode made them */
	if (!c->near_made && kb_net_setup(c, t->why, sizeof(t->why)))
		return;
	if (make_bundle(c, t, t->why, sizeof(t->why)))
		return;
	server_argv(c, t, port, sizeof(port), argv);
	t->server[0] = 0;
	for (size_t i = 0, k = 0; argv[i] && k < sizeof(t->server); i++)
		k += snprintf(t->server + k, sizeof(t->server) - k, "%s%s", i ? " " : "", argv[i]);
	t->available = true;

	fprintf(stderr, "throughput (iperf3, %d s each way):", t->secs);
	for (int s = 0; s < 2; s++)
		for (int d = 0; d < 2 && t->side[s].available && !kb_stop; d++) {
			struct kb_tp_one *one = &t->side[s].dir[d];
			char rate[32];

			measure(c, t, s, d);
			rate_str(one->bps, rate, sizeof(rate));
			fprintf(stderr, " %s %s %s", t->side[s].name, dir_name[d],
				one->ok ? rate : "FAILED");
			if (!one->ok)
				fprintf(stderr, " (%s)", one->error);
		}
	fprintf(stderr, "\n");
}

void kb_tput_table(const struct kb_ctx *c, const struct kb_tput *t)
{
	char json[512], up[160];

	if (!t->available) {
		printf("\nthroughput: unavailable: %s\n", t->why);
		fflush(stdout);
		return;
	}
	printf("\nthroughput (iperf3, %d s, one TCP stream each way, container <-> %s in %s; accel %s):\n",
	       t->secs, KB_NET_GW, c->net_far, c->accel);
	for (int s = 0; s < 2; s++) {
		const struct kb_tp_side *sd = &t->side[s];
		char label[32];

		snprintf(label, sizeof(label), "%s%s%s%s", s == KB_TP_VM ? "VM" : "runc",
			 sd->start ? " (" : "", sd->start ? sd->start : "", sd->start ? ")" : "");
		printf("  %-12s", label);
		if (!sd->available) {
			printf(" unavailable: %s\n", sd->why);
			continue;
		}
		for (int d = 0; d < 2; d++) {
			const struct kb_tp_one *one = &sd->dir[d];
			char rate[32];

			rate_str(one->bps, rate, sizeof(rate));
			if (one->ok)
				printf("%s %12s %s", d ? "," : "", rate, dir_name[d]);
			else
				printf("%s %s: %s", d ? "," : "", dir_name[d],
				       one->tried ? "failed" : "not run");
		}
		printf("\n");
		for (int d = 0; d < 2; d++)
			if (sd->dir[d].tried && !sd->dir[d].ok)
				printf("    %s %s: %s\n", label, dir_name[d], sd->dir[d].error);
	}
	client_args(t, KB_TP_UP, json, sizeof(json), up, sizeof(up));
	printf("  up: the container sends (%s), down: it receives (-R); bit/s as received.\n"
	       "  One stream, container to a veth peer on the same host: %s\n", up,
	       strcmp(c->accel, "tcg") ? "the VM's guest runs on its accelerator."
	       : "under TCG the VM's guest CPU, its TCP and virtio-net, is emulated.");
	fflush(stdout);
}

static json_object *bps(double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.0f", v);
	return json_object_new_double_s(v, buf);
}

json_object *kb_tput_json(const struct kb_ctx *c, const struct kb_tput *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "seconds", json_object_new_int(t->secs));
	if (!t->available) {
		json_object_object_add(o, "unavailable", json_object_new_string(t->why));
		return o;
	}
	json_object_object_add(o, "tool", json_object_new_string(t->version));
	json_object_object_add(o, "iperf3", json_object_new_string(t->iperf3));
	json_object_object_add(o, "streams", json_object_new_int(1));
	json_object_object_add(o, "protocol", json_object_new_string("tcp"));
	json_object_object_add(o, "accel", json_object_new_string(c->accel));
	json_object_object_add(o, "netns", json_object_new_string(c->net_near));
	json_object_object_add(o, "peer_netns", json_object_new_string(c->net_far));
	json_object_object_add(o, "peer_address", json_object_new_string(KB_NET_GW));
	json_object_object_add(o, "server", json_object_new_string(t->server));
	for (int s = 0; s < 2; s++) {
		const struct kb_tp_side *sd = &t->side[s];
		json_object *so = json_object_new_object();

		if (sd->start)
			json_object_object_add(so, "start", json_object_new_string(sd->start));
		if (!sd->available)
			json_object_object_add(so, "unavailable", json_object_new_string(sd->why));
		for (int d = 0; d < 2 && sd->available; d++) {
			const struct kb_tp_one *one = &sd->dir[d];
			json_object *od;

			if (!one->tried) {
				json_object_object_add(so, dir_name[d], NULL);
				continue;
			}
			od = json_object_new_object();
			json_object_object_add(od, "bits_per_second", one->ok ? bps(one->bps) : NULL);
			json_object_object_add(od, "sent_bits_per_second",
					       one->ok ? bps(one->sent_bps) : NULL);
			json_object_object_add(od, "command", json_object_new_string(one->command));
			json_object_object_add(od, "args", json_object_new_string(one->args));
			json_object_object_add(od, "error",
					       one->ok ? NULL : json_object_new_string(one->error));
			json_object_object_add(so, dir_name[d], od);
		}
		json_object_object_add(o, sd->name, so);
	}
	return o;
}
