// SPDX-License-Identifier: GPL-2.0
/*
 * The monitor's agent requests (userspace/lib/monitor_io.c): a request that
 * cannot be sent (the agent's connection gone) must not keep its slot for an
 * answer that never comes, or after MAX_PENDING such failures no request
 * could be made at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.pb-c.h"
#include "log.h"
#include "monitor_int.h"

static struct mon m;

static void test_failed_send_frees_its_slot(void **state)
{
	Katasbx__Agent__V1__Empty e = KATASBX__AGENT__V1__EMPTY__INIT;
	int sv[2], i, used = 0;

	(void)state;
	kx_log_quiet_stderr();	/* the 128 failed sends' lines */
	memset(&m, 0, sizeof(m));
	ttrpc_conn_init(&m.b.agent, -1);	/* gone: every send fails */
	m.b.agent.next_stream = 1;
	for (i = 0; i < 2 * MAX_PENDING; i++)
		assert_int_equal(agent_send(&m, "Check", &e.base, P_REPLY, -1, 0), -1);
	for (i = 0; i < MAX_PENDING; i++)
		used += m.pend[i].kind != P_NONE;
	assert_int_equal(used, 0);
	/* a connection that works again: a slot is there for its request */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	m.b.agent.fd = sv[0];
	assert_int_equal(agent_send(&m, "Check", &e.base, P_REPLY, -1, 0), 0);
	assert_int_equal(m.pend[0].kind, P_REPLY);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_send_frees_its_slot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
