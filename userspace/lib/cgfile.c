// SPDX-License-Identifier: GPL-2.0
#include "cgfile.h"

#include <string.h>

bool kx_cgroup_file_ok(const char *file)
{
	static const char *const prefixes[] = { "memory.", "cpu.", "cpuset.", "pids." };

	if (strchr(file, '/') || strlen(file) > 64)
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);

		if (!strncmp(file, prefixes[i], n) && file[n])
			return true;
	}
	return false;
}
