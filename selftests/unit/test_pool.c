// SPDX-License-Identifier: GPL-2.0
/* The warm pool's host plumbing: descriptor passing, the claim protocol, VM directory removal. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "pool.h"
#include "sockets.h"

static char root[64];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/kx-test-pool.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* ---- kx_send_fds / kx_recv_fds ---- */

static void test_fds_round_trip(void **state)
{
	int sv[2], p[2], q[2], got[KX_MAX_FDS], n = -1;
	char buf[16] = "";

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	int send[2] = { p[1], q[1] };

	assert_int_equal(kx_send_fds(sv[0], "hello", 5, send, 2), 0);
	assert_int_equal(kx_recv_fds(sv[1], buf, sizeof(buf) - 1, got, KX_MAX_FDS, &n), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(n, 2);
	/* what is written through the received ends arrives at the kept ones */
	assert_int_equal(write(got[0], "a", 1), 1);
	assert_int_equal(write(got[1], "b", 1), 1);
	assert_int_equal(read(p[0], buf, 1), 1);
	assert_int_equal(buf[0], 'a');
	assert_int_equal(read(q[0], buf, 1), 1);
	assert_int_equal(buf[0], 'b');
	assert_true(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
	close(got[0]);
	close(got[1]);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(sv[0]);
	close(sv[1]);
}

static void test_recv_fds_beyond_max_are_closed(void **state)
{
	int sv[2], p[2], got[1], n = -1;
	char buf[8];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	int send[3] = { p[1], p[1], p[1] };

	assert_int_equal(kx_send_fds(sv[0], "x", 1, send, 3), 0);
	close(p[1]);
	assert_int_equal(kx_recv_fds(sv[1], buf, sizeof(buf), got, 1, &n), 1);
	assert_int_equal(n, 1);
	close(got[0]);
	/* every write end is closed now, the two extra ones by kx_recv_fds */
	assert_int_equal(read(p[0], buf, 1), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

static void test_send_fds_too_many(void **state)
{
	int fds[KX_MAX_FDS + 1] = { 0 };

	(void)state;
	errno = 0;
	assert_int_equal(kx_send_fds(-1, "x", 1, fds, KX_MAX_FDS + 1), -1);
	assert_int_equal(errno, EINVAL);
}

/* ---- kx_vm_dir_remove ---- */

static void make_vm_dir(char *dir, size_t len, const char *name)
{
	char path[512];

	snprintf(dir, len, "%s/%s", root, name);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/share", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/share/%s", dir, KX_SHARE_ROOTFS);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/console.log", dir);
	write_file(path, "boot\n");
	snprintf(path, sizeof(path), "%s/qemu.log", dir);
	write_file(path, "");
}

static void test_vm_dir_remove(void **state)
{
	char dir[256];
	struct stat st;

	(void)state;
	make_vm_dir(dir, sizeof(dir), "vm-1");
	kx_vm_dir_remove(dir);
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);
	kx_vm_dir_remove(dir);	/* gone already: nothing to do */
}

/* A rootfs with contents (a bind mount that could not be undone) is never emptied. */
static void test_vm_dir_remove_keeps_a_populated_rootfs(void **state)
{
	char dir[256], path[512];
	struct stat st;

	(void)state;
	make_vm_dir(dir, sizeof(dir), "vm-2");
	snprintf(path, sizeof(path), "%s/share/%s/precious", dir, KX_SHARE_ROOTFS);
	write_file(path, "user data");
	kx_vm_dir_remove(dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 9);
}

/* ---- kx_pool_claim against fake holders ---- */

struct fake_holder {
	char sock[256];
	const char *answer;	/* sent back */
	int nfds;		/* descriptors sent with it */
	int listen_fd;
	char request[128];	/* what the claimer sent */
	pthread_t thread;
};

static void *holder_main(void *arg)
{
	struct fake_holder *h = arg;
	struct pollfd p = { .fd = h->listen_fd, .events = POLLIN };
	int c, fds[4], pidfd = -1, pp[2] = { -1, -1 };
	ssize_t n = 0, r;

	if (poll(&p, 1, 10000) != 1)
		return NULL;
	c = accept(h->listen_fd, NULL, NULL);
	if (c < 0)
		return NULL;
	while (n < (ssize_t)sizeof(h->request) - 1 &&
	       (r = read(c, h->request + n, sizeof(h->request) - 1 - n)) > 0) {
		n += r;
		if (memchr(h->request, '\n', n))
			break;
	}
	h->request[n] = '\0';
	if (h->nfds) {
		pidfd = syscall(SYS_pidfd_open, getpid(), 0);
		if (pipe(pp))
			return NULL;
		fds[0] = pidfd;
		fds[1] = pp[0];
		fds[2] = pp[1];
		fds[3] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);	/* the taps' */
	}
	kx_send_fds(c, h->answer, strlen(h->answer), fds, h->nfds);
	close(c);
	if (h->nfds) {
		close(pidfd);
		close(pp[0]);
		close(pp[1]);
		close(fds[3]);
	}
	return NULL;
}

static void holder_start(struct fake_holder *h, const char *vm, const char *answer, int nfds)
{
	char dir[256];
	struct kx_err err;

	snprintf(dir, sizeof(dir), "%s/.pool/%s", root, vm);
	assert_int_equal(kx_mkdir_p(dir, 0700), 0);
	snprintf(h->sock, sizeof(h->sock), "%s/claim.sock", dir);
	h->answer = answer;
	h->nfds = nfds;
	h->request[0] = '\0';
	h->listen_fd = kx_unix_listen(h->sock, &err);
	assert_true(h->listen_fd >= 0);
	assert_int_equal(pthread_create(&h->thread, NULL, holder_main, h), 0);
}

static void holder_join(struct fake_holder *h)
{
	pthread_join(h->thread, NULL);
	close(h->listen_fd);
}

static void test_claim_without_a_pool(void **state)
{
	struct kx_pool_vm v;
	struct kx_err err;

	(void)state;
	assert_int_equal(kx_pool_claim(root, "0123456789abcdef", &v, &err), -1);
	assert_non_null(strstr(err.msg, "no ready VM"));
}

static void test_claim_skips_a_refusal_and_takes_the_next(void **state)
{
	struct fake_holder a, b;
	struct kx_pool_vm v;
	struct kx_err err;
	char want[256];

	(void)state;
	holder_start(&a, "vm-a", "no: template fedcba9876543210 here, not 0123456789abcdef\n", 0);
	holder_start(&b, "vm-b", "ok 4242 serial 0 0\n", 3);
	assert_int_equal(kx_pool_claim(root, "0123456789abcdef", &v, &err), 0);
	holder_join(&a);
	holder_join(&b);
	assert_string_equal(a.request, "claim 0123456789abcdef\n");
	assert_string_equal(b.request, "claim 0123456789abcdef\n");
	snprintf(want, sizeof(want), "%s/.pool/vm-b", root);
	assert_string_equal(v.dir, want);
	assert_string_equal(v.key, "0123456789abcdef");
	assert_int_equal(v.pid, 4242);
	assert_int_equal(v.channel, KX_CHANNEL_SERIAL);
	assert_int_equal(v.vsock_cid, 0);
	assert_true(fcntl(v.pidfd, F_GETFD) >= 0);
	assert_true(fcntl(v.qmp_fd, F_GETFD) >= 0);
	assert_true(fcntl(v.agent_fd, F_GETFD) >= 0);
	assert_int_equal(v.netns_fd, -1);
	close(v.pidfd);
	close(v.qmp_fd);
	close(v.agent_fd);
}

/* A VM with network devices: the namespace its taps wait in comes as a fourth fd. */
static void test_claim_with_network_devices(void **state)
{
	struct fake_holder a, b;
	struct kx_pool_vm v;
	struct kx_err err;
	char want[256];

	(void)state;
	/* "1" device but only three fds: not a VM a sandbox can wire */
	holder_start(&a, "vm-e", "ok 4242 serial 0 1\n", 3);
	holder_start(&b, "vm-f", "ok 4243 serial 0 1\n", 4);
	assert_int_equal(kx_pool_claim(root, "0123456789abcdef", &v, &err), 0);
	holder_join(&a);
	holder_join(&b);
	snprintf(want, sizeof(want), "%s/.pool/vm-f", root);
	assert_string_equal(v.dir, want);
	assert_int_equal(v.pid, 4243);
	assert_true(v.netns_fd >= 0);
	assert_int_equal(ioctl(v.netns_fd, NS_GET_NSTYPE), CLONE_NEWNET);
	close(v.pidfd);
	close(v.qmp_fd);
	close(v.agent_fd);
	close(v.netns_fd);
}

static void test_claim_refused_says_why(void **state)
{
	struct fake_holder a, b;
	struct kx_pool_vm v;
	struct kx_err err;

	(void)state;
	holder_start(&a, "vm-c", "no: template fedcba9876543210 here, not 0123456789abcdef\n", 0);
	/* "ok" without the three descriptors is not a VM */
	holder_start(&b, "vm-d", "ok 4242 serial 0 0\n", 0);
	assert_int_equal(kx_pool_claim(root, "0123456789abcdef", &v, &err), -1);
	holder_join(&a);
	holder_join(&b);
	assert_non_null(strstr(err.msg, "no ready VM"));
	assert_non_null(strstr(err.msg, "vm-d: ok 4242 serial 0 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fds_round_trip),
		cmocka_unit_test(test_recv_fds_beyond_max_are_closed),
		cmocka_unit_test(test_send_fds_too_many),
		cmocka_unit_test_setup_teardown(test_vm_dir_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_dir_remove_keeps_a_populated_rootfs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_claim_without_a_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_with_network_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_skips_a_refusal_and_takes_the_next, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_claim_refused_says_why, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
