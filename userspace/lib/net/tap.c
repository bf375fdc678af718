// SPDX-License-Identifier: GPL-2.0
#include "net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <net/if.h>

#include <linux/if_tun.h>

#include "net/netcheck.h"
#include "net/netlink.h"

int kx_tap_open(int netns_fd, const char *name, struct kx_err *err)
{
	struct ifreq ifr = { 0 };
	int fd, saved, e;

	if (!name || !kx_net_ifname_valid(name))
		return kx_error(err, EINVAL, "tap device \"%.32s\": not a name an interface "
				"can take", name ? name : "");
	if (kx_netns_enter(netns_fd, &saved, err))
		return kx_error_wrap(err, "tap device %s", name);
	/* the tun file's namespace is the device's: TUNSETIFF can come after going back */
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	e = errno;
	if (kx_netns_leave(saved, err)) {
		if (fd >= 0)
			close(fd);
		return kx_error_wrap(err, "tap device %s", name);
	}
	if (fd < 0)
		return kx_error(err, e, "tap device %s: open /dev/net/tun", name);

	strcpy(ifr.ifr_name, name);	/* checked: at most IFNAMSIZ - 1 */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		return kx_error(err, e, "tap device %s: create (TUNSETIFF)%s", name,
				e == EBUSY ? ": a tap of that name is in use" :
				e == EINVAL ? ": the name may be another kind of device's" : "");
	}
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		return kx_error(err, e, "tap device %s: TUNGETIFF", name);
	}
	if (ifr.ifr_flags & IFF_PERSIST) {
		close(fd);
		return kx_error(err, EEXIST, "tap device %s: a persistent tap of that name exists "
				"already; it would outlive the sandbox", name);
	}
	return fd;
}
