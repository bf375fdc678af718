/* SPDX-License-Identifier: GPL-2.0 */
/* Directories: make a path, list the names in one, remove a VM's; read a text file. */
#ifndef KX_FSUTIL_H
#define KX_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "kx_error.h"

/* mkdir -p: missing parents 0755, the last one mode; an existing one is fine. */
int kx_mkdir_p(const char *path, mode_t mode);
/*
 * The names in dir for which keep() is true, sorted, NULL-terminated; never
 * NULL (an empty list when dir cannot be read). *n is set. Free with kx_strv_free.
 */
char **kx_dir_names(const char *dir, bool (*keep)(const char *name), size_t *n);
void kx_strv_free(char **v);
/*
 * A lock file: open (made 0600 if missing) and flock it exclusively, waiting
 * or not. The fd, or -1 and err (errnum EWOULDBLOCK: held elsewhere, when
 * not waiting; ENOENT: its directory is missing).
 */
int kx_lock_file(const char *path, bool wait, struct kx_err *err);
/*
 * Remove a sandbox VM's directory (share.h, pool.h) once its QEMU is gone:
 * unmount share/rootfs and share/mounts/N, remove the directories and files it
 * is made of. Never recursive beyond that: whatever is still mounted (not
 * empty) is left in place, not emptied.
 */
void kx_vm_dir_remove(const char *dir);
/*
 * Unmount and remove each mount point in dir (share.h's bind mounts), then
 * dir: true when all is gone (or was), false if something is still there.
 */
bool kx_unbind_dir(const char *dir);
/*
 * All of fd (path names it in errors) as a NUL-terminated string: an error if
 * it holds a NUL byte or more than max bytes.
 */
char *kx_read_text(int fd, const char *path, size_t max, struct kx_err *err);
/* kx_read_text of the file at path. */
char *kx_read_text_file(const char *path, size_t max, struct kx_err *err);

#endif
