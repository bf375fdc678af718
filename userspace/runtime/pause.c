// SPDX-License-Identifier: GPL-2.0
/* pause, resume: the container's VM is stopped and continued by its monitor (QMP). */
#include "monitor.h"
#include "monitor.pb-c.h"
#include "runtime.h"
#include "state.h"

static int pause_resume(struct kx_config *cfg, int argc, char **argv, bool pause)
{
	Katasbx__Monitor__V1__Empty req = KATASBX__MONITOR__V1__EMPTY__INIT;
	const char *what = pause ? "pause" : "resume";
	struct kx_state st;
	struct kx_err err;
	enum kx_status s;

	if (argc != 2)
		return fail("usage: %s ID", what);
	if (kx_state_read(cfg->root, argv[1], &st, &err))
		return fail("%s", err.msg);
	s = kx_state_effective(&st);
	kx_state_clear(&st);
	if (pause && s != KX_STATUS_RUNNING && s != KX_STATUS_CREATED)
		return fail("cannot pause container %s: it is %s", argv[1], kx_status_name(s));
	if (!pause && s != KX_STATUS_PAUSED)
		return fail("cannot resume container %s: container not paused (it is %s)", argv[1],
			    kx_status_name(s));
	if (kx_monitor_call(cfg->root, argv[1], pause ? "Pause" : "Resume", &req.base, &err))
		return fail("%s %s: %s", what, argv[1], err.msg);
	return 0;
}

int cmd_pause(struct kx_config *cfg, int argc, char **argv)
{
	return pause_resume(cfg, argc, argv, true);
}

int cmd_resume(struct kx_config *cfg, int argc, char **argv)
{
	return pause_resume(cfg, argc, argv, false);
}
