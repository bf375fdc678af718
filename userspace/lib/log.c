// SPDX-License-Identifier: GPL-2.0
#include "log.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = -1;		/* -1: stderr */
static bool log_json;
static bool log_debug;
static bool stderr_quiet;
static const char *log_name = "katasbx-runtime";

static const char *const level_names[] = { "error", "warning", "info", "debug" };

int kx_log_open(const char *path, bool json, bool debug)
{
	log_json = json;
	log_debug = debug;
	kx_log_elapsed_ms();
	if (!path)
		return 0;
	log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	return log_fd < 0 ? -1 : 0;
}

void kx_log_quiet_stderr(void)
{
	stderr_quiet = true;
}

bool kx_log_debug_enabled(void)
{
	return log_debug;
}

double kx_log_elapsed_ms(void)
{
	static struct timespec t0;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!t0.tv_sec && !t0.tv_nsec)
		t0 = now;
	return (now.tv_sec - t0.tv_sec) * 1e3 + (now.tv_nsec - t0.tv_nsec) / 1e6;
}

void kx_log(enum kx_log_level level, const char *fmt, ...)
{
	char msg[2048], line[4096], ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int fd, n;

	if (level == KX_LOG_DEBUG && !log_debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%06ldZ", now.tv_nsec / 1000);

	if (log_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "level", json_object_new_string(level_names[level]));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(ts));
		snprintf(line, sizeof(line), "%s\n",
			 json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else if (log_fd >= 0) {
		snprintf(line, sizeof(line), "%s [%d] %s: %s\n", ts, getpid(), level_names[level],
			 msg);
	} else {
		snprintf(line, sizeof(line), "%s: %s%s\n", log_name,
			 level == KX_LOG_ERROR ? "" : level == KX_LOG_WARN ? "warning: " : "",
			 msg);
	}
	fd = log_fd >= 0 ? log_fd : 2;
	if (fd == 2 && stderr_quiet)
		return;
	if (write(fd, line, strlen(line)) < 0)
		return;
}

void kx_log_set_name(const char *name)
{
	log_name = name;
}

void kx_warn_lines(const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		kx_warn("%.*s", (int)n, text);
		text += n + (text[n] == '\n');
	}
}
