// SPDX-License-Identifier: GPL-2.0
/*
 * 9p shares. A tag mounts once (its virtio channel is exclusive), under
 * SHARE_DIR/<tag>; containers bind their rootfs from there, so several
 * containers may use one share. Refcounted; unmounted with the last user.
 */
#include "agent.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define NINEP_OPTS "trans=virtio,version=9p2000.L,msize=262144,cache=mmap"
#define SHARE_DIR "/run/katasbx/share"

struct share {
	struct share *next;
	char tag[72];
	char path[96];
	unsigned int refs;
};

static struct share *shares;

const char *share_path(const struct share *sh)
{
	return sh->path;
}

struct share *share_get(const char *tag, struct kx_err *err)
{
	struct share *sh;

	for (sh = shares; sh; sh = sh->next) {
		if (!strcmp(sh->tag, tag)) {
			sh->refs++;
			return sh;
		}
	}
	sh = calloc(1, sizeof(*sh));
	if (!sh) {
		kx_error(err, ENOMEM, "9p share %s", tag);
		return NULL;
	}
	snprintf(sh->tag, sizeof(sh->tag), "%s", tag);
	snprintf(sh->path, sizeof(sh->path), "%s/%s", SHARE_DIR, tag);
	/* traversable: a user namespace's root binds its rootfs and mounts from here */
	if (mkdir_p(sh->path, 0711) < 0) {
		kx_error(err, errno, "mkdir %s", sh->path);
		goto fail;
	}
	if (mount(tag, sh->path, "9p", 0, NINEP_OPTS) < 0) {
		kx_error(err, errno, "mount 9p share %s", tag);
		rmdir(sh->path);
		goto fail;
	}
	sh->refs = 1;
	sh->next = shares;
	shares = sh;
	return sh;
fail:
	free(sh);
	return NULL;
}

void share_put(struct share *sh)
{
	if (--sh->refs)
		return;
	if (umount2(sh->path, MNT_DETACH) < 0)
		log_err("umount %s: %s", sh->path, strerror(errno));
	rmdir(sh->path);
	for (struct share **pp = &shares; *pp; pp = &(*pp)->next) {
		if (*pp == sh) {
			*pp = sh->next;
			break;
		}
	}
	free(sh);
}
