// SPDX-License-Identifier: GPL-2.0
/*
 * Save and restore a VM's device state through QMP migration with the
 * x-ignore-shared capability: RAM lives in a file-backed memory backend and
 * is not copied; only device state goes to the state file. QEMU 7.2 has no
 * file: migration URI, so the stream goes through `exec:cat`.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmm/qemu.h"
#include "kx_time.h"

static const char CAPS[] =
	"{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}";


/* The path goes into a shell command line: allow only plain characters. */
static int shell_safe(const char *path, struct kx_err *err)
{
	const char *p;

	for (p = path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._+-", *p))
			continue;
		return kx_error(err, EINVAL,
				"state file %s: only letters, digits and /._+- are allowed", path);
	}
	return 0;
}

/* The "status" string of a QMP query reply into buf. */
static int query_status(struct kx_vm *vm, const char *cmd, char *buf, size_t len,
			struct kx_err *err)
{
	char *ret = NULL;
	json_object *o, *v;

	if (kx_qmp_execute(vm->qmp_fd, cmd, NULL, &ret, 5000, err))
		return -1;
	o = json_tokener_parse(ret);
	free(ret);
	buf[0] = '\0';
	if (o && json_object_object_get_ex(o, "status", &v))
		snprintf(buf, len, "%s", json_object_get_string(v));
	json_object_put(o);
	return 0;
}

int kx_vm_save(struct kx_vm *vm, const char *state_path, int timeout_ms, struct kx_err *err)
{
	long long deadline = kx_now_ms() + timeout_ms;
	char args[4200], status[64];

	if (shell_safe(state_path, err))
		return -1;
	if (kx_qmp_execute(vm->qmp_fd, "stop", NULL, NULL, 5000, err) ||
	    kx_qmp_execute(vm->qmp_fd, "migrate-set-capabilities", CAPS, NULL, 5000, err))
		return kx_error_wrap(err, "save VM state");
	snprintf(args, sizeof(args), "{\"uri\":\"exec:cat > %s\"}", state_path);
	if (kx_qmp_execute(vm->qmp_fd, "migrate", args, NULL, 5000, err))
		return kx_error_wrap(err, "save VM state to %s", state_path);
	for (;;) {
		if (query_status(vm, "query-migrate", status, sizeof(status), err))
			return kx_error_wrap(err, "save VM state");
		if (!strcmp(status, "completed"))
			return 0;
		if (!strcmp(status, "failed") || !strcmp(status, "cancelled"))
			return kx_error(err, EIO, "save VM state to %s: migration %s", state_path,
					status);
		if (kx_now_ms() > deadline)
			return kx_error(err, ETIMEDOUT, "save VM state to %s: not done in %d ms",
					state_path, timeout_ms);
		kx_sleep_ms(2);
	}
}

int kx_vm_restore(struct kx_vm *vm, const char *state_path, int timeout_ms, struct kx_err *err)
{
	long long deadline = kx_now_ms() + timeout_ms;
	char args[4200], status[64];

	if (shell_safe(state_path, err))
		return -1;
	if (kx_qmp_execute(vm->qmp_fd, "migrate-set-capabilities", CAPS, NULL, 5000, err))
		return kx_error_wrap(err, "restore VM state");
	snprintf(args, sizeof(args), "{\"uri\":\"exec:cat %s\"}", state_path);
	if (kx_qmp_execute(vm->qmp_fd, "migrate-incoming", args, NULL, 5000, err))
		return kx_error_wrap(err, "restore VM state from %s", state_path);
	for (;;) {
		if (query_status(vm, "query-status", status, sizeof(status), err))
			return kx_error_wrap(err, "restore VM state from %s", state_path);
		/* the template was saved paused, so a loaded clone stays paused */
		if (!strcmp(status, "paused") || !strcmp(status, "running"))
			break;
		if (strcmp(status, "inmigrate") && strcmp(status, "prelaunch"))
			return kx_error(err, EIO, "restore VM state from %s: VM is %s", state_path,
					status);
		if (kx_now_ms() > deadline)
			return kx_error(err, ETIMEDOUT, "restore VM state from %s: not done in %d ms",
					state_path, timeout_ms);
		kx_sleep_ms(2);
	}
	if (!strcmp(status, "paused") &&
	    kx_qmp_execute(vm->qmp_fd, "cont", NULL, NULL, 5000, err))
		return kx_error_wrap(err, "resume restored VM");
	return 0;
}
