// SPDX-License-Identifier: GPL-2.0
/* state, kill, delete, list */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "monitor.h"
#include "monitor.pb-c.h"
#include "runtime.h"
#include "signals.h"
#include "state.h"

int cmd_state(struct kx_config *cfg, int argc, char **argv)
{
	struct kx_state st;
	struct kx_err err;
	char *json;

	if (argc != 2)
		return fail("usage: state ID");
	if (kx_state_read(cfg->root, argv[1], &st, &err))
		return fail("%s", err.msg);
	json = kx_state_oci_json(&st, NULL);
	kx_state_clear(&st);
	if (!json)
		return fail("state %s: out of memory", argv[1]);
	printf("%s\n", json);
	free(json);
	return 0;
}

int cmd_kill(struct kx_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ 0 }
	};
	Katasbx__Monitor__V1__KillRequest req = KATASBX__MONITOR__V1__KILL_REQUEST__INIT;
	const char *id, *signame = "TERM";
	struct kx_state st;
	struct kx_err err;
	enum kx_status s;
	int c, sig;

	while ((c = getopt_cmd(argc, argv, "+a", opts)) != -1) {
		if (c != 'a')
			return 1;
		req.all = true;
	}
	if (optind != argc - 1 && optind != argc - 2)
		return fail("usage: kill [--all] ID [SIGNAL]");
	id = argv[optind];
	if (optind == argc - 2)
		signame = argv[optind + 1];
	sig = kx_signal_parse(signame);
	if (sig < 0)
		return fail("kill: unknown signal \"%s\"", signame);
	if (kx_state_read(cfg->root, id, &st, &err))
		return fail("%s", err.msg);
	s = kx_state_effective(&st);
	kx_state_clear(&st);
	if (s != KX_STATUS_CREATED && s != KX_STATUS_RUNNING)
		/* runc's words, which callers match */
		return fail("cannot kill container %s: container not running (it is %s)", id,
			    kx_status_name(s));
	req.signal = sig;
	if (kx_monitor_call(cfg->root, id, "Kill", &req.base, &err)) {
		struct kx_err e2;

		/* the container ended as it was killed: its monitor went before answering */
		if (kx_state_read(cfg->root, id, &st, &e2) == 0) {
			s = kx_state_effective(&st);
			kx_state_clear(&st);
			if (s == KX_STATUS_STOPPED)
				return 0;
		}
		return fail("kill %s: %s", id, err.msg);
	}
	/*
	 * After SIGKILL the caller may delete at once, as runc's callers do:
	 * return once the monitor has seen the container stop (at most 10 s).
	 */
	for (int ms = 0; sig == SIGKILL && ms < 10000; ms += 10) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (kx_state_read(cfg->root, id, &st, &err))
			return 0;	/* gone already */
		s = kx_state_effective(&st);
		kx_state_clear(&st);
		if (s == KX_STATUS_STOPPED)
			return 0;
		nanosleep(&ts, NULL);
	}
	if (sig == SIGKILL)
		kx_warn("kill %s: still %s 10 s after SIGKILL", id, kx_status_name(s));
	return 0;
}

static void kill_checked(pid_t pid, uint64_t start)
{
	if (pid > 0 && kx_proc_alive(pid, start))
		kill(pid, SIGKILL);
}

/* Wait up to ms for both processes to be gone. */
static bool wait_gone(pid_t a, uint64_t as, pid_t b, uint64_t bs, int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (; ms > 0; ms -= 10) {
		if (!kx_proc_alive(a, as) && !(b > 0 && kx_proc_alive(b, bs)))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

int cmd_delete(struct kx_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ 0 }
	};
	struct kx_state st;
	struct kx_err err;
	bool force = false;
	enum kx_status s;
	const char *id;
	char q[400];
	int c, lock;

	while ((c = getopt_cmd(argc, argv, "+f", opts)) != -1) {
		if (c != 'f')
			return 1;
		force = true;
	}
	if (optind != argc - 1)
		return fail("usage: delete [--force] ID");
	id = argv[optind];
	if (!kx_id_valid(id))
		return fail("invalid container id \"%s\"", kx_quoted(id, q, sizeof(q)));
	if (kx_state_read(cfg->root, id, &st, &err)) {
		char dir[4096];

		/* --force also clears a directory a crashed create left without a state file */
		if (force && !kx_state_path(dir, sizeof(dir), cfg->root, id, NULL) &&
		    access(dir, F_OK) == 0) {
			kx_state_remove(cfg->root, id, &err);
			return 0;
		}
		/* as runc: nothing to force away is not an error */
		if (force && err.errnum == ENOENT)
			return 0;
		return fail("%s", err.msg);
	}
	lock = kx_state_lock(cfg->root, id, &err);
	if (lock < 0) {
		kx_state_clear(&st);
		return fail("%s", err.msg);
	}
	s = kx_state_effective(&st);
	if ((s == KX_STATUS_RUNNING || s == KX_STATUS_PAUSED || s == KX_STATUS_CREATING) &&
	    !force) {
		kx_state_clear(&st);
		close(lock);
		/* runc's words first: callers match them */
		return fail("cannot delete container %s that is not stopped: %s (stop it first, "
			    "or use --force)", id, kx_status_name(s));
	}
	/* The monitor's QEMU dies with it (PDEATHSIG); kill both to be sure. */
	kill_checked(st.pid, st.pid_start);
	kill_checked(st.qemu_pid, st.qemu_start);
	if (!wait_gone(st.pid, st.pid_start, st.qemu_pid, st.qemu_start, 10000)) {
		kx_state_clear(&st);
		close(lock);
		return fail("delete %s: its monitor or QEMU did not exit", id);
	}
	kx_state_clear(&st);
	close(lock);
	if (kx_state_remove(cfg->root, id, &err))
		return fail("%s", err.msg);
	return 0;
}

/* The name of the user owning ROOT/ID (runc's OWNER), its uid if it has none. */
static void owner_of(const char *root, const char *id, char *out, size_t len)
{
	char path[4200];
	struct passwd *pw;
	struct stat sb;

	out[0] = '\0';
	if (kx_state_path(path, sizeof(path), root, id, NULL) || stat(path, &sb))
		return;
	pw = getpwuid(sb.st_uid);
	if (pw)
		snprintf(out, len, "%s", pw->pw_name);
	else
		snprintf(out, len, "#%u", (unsigned int)sb.st_uid);
}

int cmd_list(struct kx_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' },
		{ 0 }
	};
	/* runc's table: columns at least 12 wide, 3 blanks after the longest cell */
	enum { COLS = 6, MIN_WIDTH = 12, PAD = 3 };
	static const char *const head[COLS] = { "ID", "PID", "STATUS", "BUNDLE", "CREATED",
						"OWNER" };
	bool quiet = false, json = false;
	json_object *arr = NULL;
	size_t i, n, rows = 0, width[COLS];
	char **ids, *(*cell)[COLS] = NULL;
	int c;

	while ((c = getopt_cmd(argc, argv, "+qf:", opts)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'f' && (!strcmp(optarg, "json") || !strcmp(optarg, "table")))
			json = !strcmp(optarg, "json");
		else if (c == 'f')
			return fail("list --format \"%s\": use table or json", optarg);
		else
			return 1;	/* getopt_cmd said which flag */
	}
	ids = kx_state_list(cfg->root, &n);
	if (json)
		arr = json_object_new_array();
	else if (!quiet && !(cell = calloc(n + 1, sizeof(*cell))))
		return fail("list: out of memory");
	for (i = 0; i < n; i++) {
		char owner[64];
		struct kx_state st;
		struct kx_err err;
		enum kx_status s;

		if (kx_state_read(cfg->root, ids[i], &st, &err))
			continue;
		s = kx_state_effective(&st);
		owner_of(cfg->root, ids[i], owner, sizeof(owner));
		if (json) {
			char *text = kx_state_oci_json(&st, owner);

			json_object_array_add(arr, json_tokener_parse(text));
			free(text);
		} else if (quiet) {
			printf("%s\n", st.id);
		} else if (asprintf(&cell[rows][0], "%s", st.id) < 0 ||
			   asprintf(&cell[rows][1], "%d", s == KX_STATUS_STOPPED ? 0 : st.pid) < 0 ||
			   asprintf(&cell[rows][2], "%s", kx_status_name(s)) < 0 ||
			   asprintf(&cell[rows][3], "%s", st.bundle) < 0 ||
			   asprintf(&cell[rows][4], "%s", st.created) < 0 ||
			   asprintf(&cell[rows][5], "%s", owner) < 0) {
			kx_state_clear(&st);
			break;
		} else {
			rows++;
		}
		kx_state_clear(&st);
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	} else if (!quiet) {
		for (int k = 0; k < COLS; k++) {
			width[k] = strlen(head[k]) + PAD;
			for (i = 0; i < rows; i++)
				if (cell[i][k] && strlen(cell[i][k]) + PAD > width[k])
					width[k] = strlen(cell[i][k]) + PAD;
			if (width[k] < MIN_WIDTH)
				width[k] = MIN_WIDTH;
		}
		for (i = 0; i <= rows; i++) {
			for (int k = 0; k < COLS; k++) {
				const char *v = i ? cell[i - 1][k] : head[k];

				if (k < COLS - 1)
					printf("%-*s", (int)width[k], v ? v : "");
				else
					printf("%s\n", v ? v : "");
			}
		}
		for (i = 0; i < n; i++)
			for (int k = 0; k < COLS; k++)
				free(cell[i][k]);
		free(cell);
	}
	kx_strv_free(ids);
	return 0;
}
