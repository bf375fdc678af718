// SPDX-License-Identifier: GPL-2.0
/* Unit tests: id validation, state files, signal names, settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "signals.h"
#include "state.h"

static char root[256];

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/katasbx-unit-state.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static void test_id_valid(void **state)
{
	static const char *const good[] = { "a", "abc", "A-1", "x_y.z+w", "0abc" };
	static const char *const bad[] = {
		"", ".", "..", "-a", ".a", "_a", "a/b", "../x", "a b", "a\nb", "é", "a:b",
	};
	char longid[KX_ID_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(kx_id_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(kx_id_valid(bad[i]));
	assert_false(kx_id_valid(NULL));
	memset(longid, 'a', sizeof(longid));
	longid[KX_ID_MAX] = '\0';
	assert_true(kx_id_valid(longid));
	longid[KX_ID_MAX] = 'a';
	longid[KX_ID_MAX + 1] = '\0';
	assert_false(kx_id_valid(longid));
}

static void test_state_roundtrip(void **state)
{
	struct kx_state st = { 0 }, back;
	struct kx_err err;
	char path[512];
	struct stat sb;

	assert_int_equal(kx_state_mkdir(root, "c1", &err), 0);
	assert_int_equal(kx_state_mkdir(root, "c1", &err), -1);
	assert_string_equal(err.msg, "container with id c1 already exists");
	assert_int_equal(kx_state_mkdir(root, "../x", &err), -1);
	assert_non_null(strstr(err.msg, "invalid container id"));

	snprintf(st.id, sizeof(st.id), "c1");
	snprintf(st.bundle, sizeof(st.bundle), "/b/with \"quote\"");
	st.status = KX_STATUS_RUNNING;
	st.pid = getpid();
	st.pid_start = kx_proc_start_time(getpid());
	st.exit_status = 137;
	st.has_exit = true;
	snprintf(st.created, sizeof(st.created), "2026-01-01T00:00:00Z");
	st.annotations_json = "{\"k\":\"v\"}";
	assert_int_equal(kx_state_write(root, &st, &err), 0);
	/* no temporary file left behind */
	snprintf(path, sizeof(path), "%s/c1/state.json.%d.tmp", root, getpid());
	assert_int_not_equal(stat(path, &sb), 0);

	assert_int_equal(kx_state_read(root, "c1", &back, &err), 0);
	assert_string_equal(back.bundle, st.bundle);
	assert_int_equal(back.status, KX_STATUS_RUNNING);
	assert_int_equal(back.pid, getpid());
	assert_true(back.has_exit);
	assert_int_equal(back.exit_status, 137);
	assert_string_equal(back.annotations_json, "{\"k\":\"v\"}");
	/* we are alive: running stays running */
	assert_int_equal(kx_state_effective(&back), KX_STATUS_RUNNING);
	kx_state_clear(&back);

	assert_int_equal(kx_state_read(root, "nosuch", &back, &err), -1);
	assert_string_equal(err.msg, "container nosuch does not exist");
	assert_int_equal(kx_state_remove(root, "c1", &err), 0);
	assert_int_equal(kx_state_read(root, "c1", &back, &err), -1);
}

static void test_effective_dead_monitor(void **state)
{
	struct kx_state st = { 0 };
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	st.status = KX_STATUS_RUNNING;
	st.pid = pid;
	assert_int_equal(kx_state_effective(&st), KX_STATUS_STOPPED);
	/* a reused pid with another start time is not our monitor */
	st.pid = getpid();
	st.pid_start = kx_proc_start_time(getpid()) + 1;
	assert_int_equal(kx_state_effective(&st), KX_STATUS_STOPPED);
	st.pid_start = 0;
	assert_int_equal(kx_state_effective(&st), KX_STATUS_RUNNING);
}

static void test_paused(void **state)
{
	struct kx_state st = { 0 }, back;
	struct kx_err err;
	char *json;

	assert_string_equal(kx_status_name(KX_STATUS_PAUSED), "paused");
	assert_int_equal(kx_state_mkdir(root, "p1", &err), 0);
	snprintf(st.id, sizeof(st.id), "p1");
	st.status = KX_STATUS_PAUSED;
	st.pid = getpid();
	st.pid_start = kx_proc_start_time(getpid());
	assert_int_equal(kx_state_write(root, &st, &err), 0);
	assert_int_equal(kx_state_read(root, "p1", &back, &err), 0);
	assert_int_equal(back.status, KX_STATUS_PAUSED);
	/* a live monitor: paused stays paused, with its pid */
	assert_int_equal(kx_state_effective(&back), KX_STATUS_PAUSED);
	json = kx_state_oci_json(&back, NULL);
	assert_non_null(strstr(json, "\"status\": \"paused\""));
	assert_null(strstr(json, "\"pid\": 0"));
	free(json);
	/* a dead monitor: stopped */
	back.pid_start++;
	assert_int_equal(kx_state_effective(&back), KX_STATUS_STOPPED);
	kx_state_clear(&back);
	assert_int_equal(kx_state_remove(root, "p1", &err), 0);
}

static void test_oci_json_and_list(void **state)
{
	struct kx_state st = { 0 };
	struct kx_err err;
	char *json, **ids;
	size_t n;

	assert_int_equal(kx_state_mkdir(root, "b", &err), 0);
	assert_int_equal(kx_state_mkdir(root, "a", &err), 0);
	snprintf(st.id, sizeof(st.id), "a");
	snprintf(st.bundle, sizeof(st.bundle), "/bundle");
	st.status = KX_STATUS_STOPPED;
	st.pid = 1234;
	json = kx_state_oci_json(&st, NULL);
	assert_non_null(strstr(json, "\"status\": \"stopped\""));
	assert_non_null(strstr(json, "\"pid\": 0"));	/* no pid once stopped */
	assert_non_null(strstr(json, "\"ociVersion\": \"1.0.2\""));
	assert_non_null(strstr(json, "\"bundle\": \"/bundle\""));
	/* runc's keys: rootfs and owner; no annotations when there are none */
	assert_non_null(strstr(json, "\"rootfs\": \"\""));
	assert_non_null(strstr(json, "\"owner\": \"\""));
	assert_null(strstr(json, "annotations"));
	free(json);
	snprintf(st.rootfs, sizeof(st.rootfs), "/bundle/rootfs");
	st.annotations_json = "{\"k\":\"v\"}";
	json = kx_state_oci_json(&st, "root");
	assert_non_null(strstr(json, "\"rootfs\": \"/bundle/rootfs\""));
	assert_non_null(strstr(json, "\"k\": \"v\""));
	assert_non_null(strstr(json, "\"owner\": \"root\""));
	free(json);
	st.annotations_json = NULL;
	ids = kx_state_list(root, &n);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "a");
	assert_string_equal(ids[1], "b");
	kx_strv_free(ids);
	kx_state_remove(root, "a", &err);
	kx_state_remove(root, "b", &err);
}

static void test_signal_parse(void **state)
{
	assert_int_equal(kx_signal_parse("TERM"), SIGTERM);
	assert_int_equal(kx_signal_parse("SIGTERM"), SIGTERM);
	assert_int_equal(kx_signal_parse("sigkill"), SIGKILL);
	assert_int_equal(kx_signal_parse("9"), SIGKILL);
	assert_int_equal(kx_signal_parse("HUP"), SIGHUP);
	assert_int_equal(kx_signal_parse("RTMIN+1"), SIGRTMIN + 1);
	assert_int_equal(kx_signal_parse("0"), -1);
	assert_int_equal(kx_signal_parse("65"), -1);
	assert_int_equal(kx_signal_parse("9x"), -1);
	assert_int_equal(kx_signal_parse("NOPE"), -1);
	assert_int_equal(kx_signal_parse(""), -1);
	assert_int_equal(kx_signal_parse(NULL), -1);
}

static void test_config(void **state)
{
	struct kx_config c;
	struct kx_err err;
	char path[512];
	FILE *f;

	kx_config_defaults(&c);
	assert_string_equal(c.root, "/run/katasbx");
	assert_int_equal(c.mem_mib, 256);
	snprintf(path, sizeof(path), "%s/config.conf", root);
	f = fopen(path, "w");
	fprintf(f, "# comment\n\nmemory_mib = 512\naccel = tcg\nkernel = /k\n");
	fclose(f);
	assert_int_equal(kx_config_load(&c, path, true, &err), 0);
	assert_int_equal(c.mem_mib, 512);
	assert_int_equal(c.accel, KX_ACCEL_TCG);
	assert_string_equal(c.kernel, "/k");

	f = fopen(path, "w");
	fprintf(f, "vcpus = 0\n");
	fclose(f);
	assert_int_equal(kx_config_load(&c, path, true, &err), -1);
	assert_non_null(strstr(err.msg, ":1: vcpus"));
	f = fopen(path, "w");
	fprintf(f, "colour = blue\n");
	fclose(f);
	assert_int_equal(kx_config_load(&c, path, true, &err), -1);
	assert_non_null(strstr(err.msg, "unknown setting \"colour\""));
	assert_int_equal(kx_config_set(&c, "channel", "pigeon", &err), -1);

	/* comments after values, quotes, indentation, as users write them */
	f = fopen(path, "w");
	fprintf(f, "accel = kvm   # a comment\n  memory_mib = 384\n"
		   "kernel_params = \"quiet # not a comment\"  # but this is\n"
		   "template_dir = '/t d'\n; an ini comment\nvcpus = 2 ; inline\n"
		   "root =\n");
	fclose(f);
	assert_int_equal(kx_config_load(&c, path, true, &err), 0);
	assert_int_equal(c.accel, KX_ACCEL_KVM);
	assert_int_equal(c.mem_mib, 384);
	assert_string_equal(c.kernel_params, "quiet # not a comment");
	assert_string_equal(c.template_dir, "/t d");
	assert_int_equal(c.vcpus, 2);
	f = fopen(path, "w");
	fprintf(f, "memory_mib = 256\nno equals sign here\n");
	fclose(f);
	assert_int_equal(kx_config_load(&c, path, true, &err), -1);
	assert_non_null(strstr(err.msg, ":2: expected key = value"));
	f = fopen(path, "w");
	fprintf(f, "kernel_params = \"a\" b\n");
	fclose(f);
	assert_int_equal(kx_config_load(&c, path, true, &err), -1);
	assert_non_null(strstr(err.msg, ":1: kernel_params: a quoted value with something"));
	f = fopen(path, "w");
	fprintf(f, "[runtime]\nvcpus = 1\n");
	fclose(f);
	assert_int_equal(kx_config_load(&c, path, true, &err), -1);
	assert_non_null(strstr(err.msg, ":2: [runtime]: settings have no sections"));
	assert_int_equal(kx_config_load(&c, "/nonexistent", false, &err), 0);
	assert_int_equal(kx_config_load(&c, "/nonexistent", true, &err), -1);
}

static void test_quoted(void **state)
{
	char q[400], small[8], longer[200];

	(void)state;
	assert_string_equal(kx_quoted("a\nb\"c\\d\te\x01", q, sizeof(q)), "a\\nb\\\"c\\\\d\\te\\x01");
	assert_string_equal(kx_quoted("plain", q, sizeof(q)), "plain");
	kx_quoted("abcdefghij", small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	kx_quoted(longer, q, sizeof(q));
	assert_int_equal(strlen(q), 83);	/* 80 bytes and "..." */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_effective_dead_monitor),
		cmocka_unit_test(test_paused),
		cmocka_unit_test(test_oci_json_and_list),
		cmocka_unit_test(test_signal_parse),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
