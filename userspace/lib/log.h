/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging for the runtime and its monitor: to stderr, or to the --log file in
 * text or json (the form containerd reads), with --debug adding detail.
 */
#ifndef KX_LOG_H
#define KX_LOG_H

#include <stdbool.h>

enum kx_log_level { KX_LOG_ERROR = 0, KX_LOG_WARN, KX_LOG_INFO, KX_LOG_DEBUG };

/* path NULL: stderr. json: {"level":..,"msg":..,"time":..}. */
int kx_log_open(const char *path, bool json, bool debug);
/* Stop writing to stderr (a detached monitor must not write into the container's stderr). */
void kx_log_quiet_stderr(void);
/* The program name that starts stderr lines (default "katasbx-runtime"). */
void kx_log_set_name(const char *name);
void kx_log(enum kx_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool kx_log_debug_enabled(void);
/* Milliseconds since the first call in this process, for phase timings. */
double kx_log_elapsed_ms(void);

#define kx_debug(...) kx_log(KX_LOG_DEBUG, __VA_ARGS__)
#define kx_warn(...) kx_log(KX_LOG_WARN, __VA_ARGS__)
/* Each line of text as a warning of its own. */
void kx_warn_lines(const char *text);
#define kx_info(...) kx_log(KX_LOG_INFO, __VA_ARGS__)

#endif
