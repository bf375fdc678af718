/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KX_SIGNALS_H
#define KX_SIGNALS_H

/* "TERM", "SIGTERM", "sigterm" or "15" to a signal number; -1 if not a signal. */
int kx_signal_parse(const char *s);

#endif
