// SPDX-License-Identifier: GPL-2.0
#include "kx_id.h"

#include <string.h>

bool kx_id_valid(const char *id)
{
	size_t i, n = id ? strlen(id) : 0;

	if (n == 0 || n > KX_ID_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = id[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr("_.+-", c)))
			return false;
	}
	return true;
}
