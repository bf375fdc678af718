/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KX_SHIM_SHA256_H
#define KX_SHIM_SHA256_H

#include <stddef.h>

/* The SHA-256 of data as 64 lowercase hex digits and a NUL. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
