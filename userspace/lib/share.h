/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A sandbox VM's share, its one 9p export: VMDIR/share, holding the
 * container's rootfs bound at rootfs/ and each bind mount of a host path of
 * its spec at mounts/N (N: the mount's index), which the guest binds from
 * there (Mount.share_source). Read-only ones are made read-only on the host,
 * where the guest cannot undo it. kx_vm_dir_remove (fsutil.h) undoes it.
 */
#ifndef KX_SHARE_H
#define KX_SHARE_H

#include "kx_error.h"
#include "oci.h"

#define KX_SHARE_ROOTFS "rootfs"	/* the rootfs's directory in the share */
#define KX_SHARE_MOUNTS "mounts"	/* the host bind mounts' directory in it */

/*
 * Make VMDIR/share (and VMDIR) if missing and bind everything into it; sets
 * each bind mount's share_source. On failure what was bound stays for the
 * caller's kx_vm_dir_remove(VMDIR).
 */
int kx_share_setup(const char *vmdir, const struct kx_spec *spec, struct kx_err *err);
/*
 * Only the bind mounts of host paths, at SHARE/SUBDIR/N (a pod's container's,
 * on its sandbox's share); share_source "SUBDIR/N". Undone by
 * kx_unbind_dir(SHARE/SUBDIR) (fsutil.h); on failure what was bound stays for it.
 */
int kx_share_bind_mounts(const char *share, const char *subdir, const struct kx_spec *spec,
			 struct kx_err *err);
/*
 * Only the names: each bind mount's share_source as kx_share_bind_mounts
 * sets it, for a spec read again by a process that did not bind them (the
 * shim's monitor, exec'd after the shim bound its sandbox's).
 */
int kx_share_name_mounts(const char *subdir, const struct kx_spec *spec, struct kx_err *err);

#endif
