/* SPDX-License-Identifier: GPL-2.0 */
/* Monotonic milliseconds for deadlines, and sleeping for a few of them. */
#ifndef KX_TIME_H
#define KX_TIME_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

static inline int64_t kx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void kx_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

#endif
