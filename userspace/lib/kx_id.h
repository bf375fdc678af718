/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KX_ID_H
#define KX_ID_H

#include <stdbool.h>

/*
 * A container's or an exec's id, one rule on both sides of the channel
 * (also linked into the agent): runc's characters, bounded.
 * [A-Za-z0-9][A-Za-z0-9_.+-]{0,127}.
 */
#define KX_ID_MAX 128
#define KX_ID_RULE "use 1-128 of [A-Za-z0-9_.+-], starting with a letter or digit"
bool kx_id_valid(const char *id);

#endif
