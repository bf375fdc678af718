// SPDX-License-Identifier: GPL-2.0
/*
 * kxdev without the module (this build host has no /dev/katasbx): every
 * call fails cleanly, saying the device is absent; argument errors come
 * first. With the module, selftests/katasbx/clone_qemu uses kxdev for real.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kxdev.h"

static char memfile[] = "/tmp/kxdev-unit-XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(memfile);

	(void)state;
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(memfile);
	return 0;
}

static bool module_here(void)
{
	return access("/dev/katasbx", F_OK) == 0;
}

static void test_absent(void **state)
{
	(void)state;
	if (module_here())
		skip();
	assert_false(kx_dev_present());
}

static void test_register_absent(void **state)
{
	struct kx_err err = { 0 };
	char node[64] = "untouched";

	(void)state;
	if (module_here())
		skip();
	assert_int_equal(kx_dev_template_register(memfile, 1 << 20, "unit-key", node, sizeof(node),
						  &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "/dev/katasbx absent"));
	assert_string_equal(node, "untouched");
}

static void test_find_destroy_absent(void **state)
{
	struct kx_err err = { 0 };
	char node[64];

	(void)state;
	if (module_here())
		skip();
	assert_int_equal(kx_dev_template_find("unit-key", node, sizeof(node), &err), -1);
	assert_non_null(strstr(err.msg, "/dev/katasbx absent"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(kx_dev_template_destroy("unit-key", &err), -1);
	assert_non_null(strstr(err.msg, "/dev/katasbx absent"));
	/* A NULL error pointer is allowed. */
	assert_int_equal(kx_dev_template_destroy("unit-key", NULL), -1);
}

static void test_bad_args(void **state)
{
	struct kx_err err = { 0 };
	char tag[KX_DEV_TAG_MAX + 2], node[64];

	(void)state;
	memset(tag, 'k', sizeof(tag) - 1);
	tag[sizeof(tag) - 1] = '\0';
	assert_int_equal(kx_dev_template_register(memfile, 1 << 20, tag, node, sizeof(node), &err),
			 -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "tag"));
	assert_int_equal(kx_dev_template_find("", node, sizeof(node), &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(kx_dev_template_destroy(NULL, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(kx_dev_template_register(memfile, 1000, "k", node, sizeof(node), &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "page size"));
	assert_int_equal(kx_dev_template_register(memfile, 0, "k", node, sizeof(node), &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	/* The longest tag passes the argument check (then fails on the device here). */
	tag[KX_DEV_TAG_MAX] = '\0';
	memset(&err, 0, sizeof(err));
	kx_dev_template_find(tag, node, sizeof(node), &err);
	assert_int_not_equal(err.errnum, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_register_absent),
		cmocka_unit_test(test_find_destroy_absent),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
