// SPDX-License-Identifier: GPL-2.0
/*
 * Selftest of unloading katasbx.ko: refused while a device fd, a CID or a
 * persistent template is alive, then reloaded with the same parameters.
 * Needs KATASBX_KO and nothing else open on the module: the runner runs it
 * after the other katasbx programs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "katasbx_util.h"
#include "ktap.h"

static int read_param(const char *name, char *out, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/katasbx/parameters/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static int t_unload_reload(void)
{
	static const char *const names[] = { "template_mem_mb", "cid_min", "cid_max",
					     "cgroup_pool_max" };
	const char *ko = getenv("KATASBX_KO");
	char params[512] = "", v[64];
	struct katasbx_template_create t;
	struct katasbx_cid_reserve r;
	int kfd, cfd, ko_fd, i;

	KT_SKIP_IF(!ko, "set KATASBX_KO to the module path to test unload and reload");
	CHECK((ko_fd = open(ko, O_RDONLY | O_CLOEXEC)) >= 0);
	for (i = 0; i < 4; i++) {
		CHECK(read_param(names[i], v, sizeof(v)) == 0);
		snprintf(params + strlen(params), sizeof(params) - strlen(params), "%s%s=%s",
			 i ? " " : "", names[i], v);
	}
	CHECK((kfd = kopen()) >= 0);
	CHECK_ERR(syscall(SYS_delete_module, "katasbx", O_NONBLOCK), EWOULDBLOCK);
	CHECK(close(kfd) == 0);
	/* An object outliving the device fd pins the module too. */
	CHECK((kfd = kopen()) >= 0 && cid_reserve(kfd, 0, 0, &r) == 0);
	CHECK(close(kfd) == 0);
	CHECK_ERR(syscall(SYS_delete_module, "katasbx", O_NONBLOCK), EWOULDBLOCK);
	cfd = r.fd;
	CHECK(close(cfd) == 0);
	/* So does a persistent template, with no fd open at all. */
	CHECK((kfd = kopen()) >= 0);
	CHECK(tpl_create_tagged(kfd, 4 * PAGE, 65, KATASBX_TEMPLATE_F_PERSIST, "ksft-unload",
				&t) == 0);
	CHECK(close(t.fd) == 0 && close(kfd) == 0);
	CHECK_ERR(syscall(SYS_delete_module, "katasbx", O_NONBLOCK), EWOULDBLOCK);
	CHECK((kfd = kopen()) >= 0 && destroy_tag(kfd, "ksft-unload") == 0 && close(kfd) == 0);
	CHECK(syscall(SYS_delete_module, "katasbx", O_NONBLOCK) == 0);
	CHECK(access(DEV, F_OK) < 0);
	CHECK(syscall(SYS_finit_module, ko_fd, params, 0) == 0);
	printf("# reloaded with %s\n", params);
	CHECK((kfd = kopen()) >= 0);
	CHECK(cid_reserve(kfd, 0, 0, &r) == 0);
	return KT_PASS;
}

static const struct kt_case cases[] = {
	{ "unload_refused_reload", t_unload_reload, 0 },
};

KT_MAIN(cases, kx_skip_reason())
