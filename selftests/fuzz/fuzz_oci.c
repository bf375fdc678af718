// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the OCI JSON the runtime and the shim parse from their
 * callers: config.json (kx_spec_parse, then the CreateContainer request made
 * from it and packed, as the monitor sends it), an exec's Process, and a
 * LinuxResources update (runc update -r, containerd's Update).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostcg.h"
#include "oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Katasbx__Agent__V1__CreateContainerRequest cr =
		KATASBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	Katasbx__Agent__V1__CgroupWrite **w = NULL;
	Katasbx__Agent__V1__Process *proc = NULL;
	struct kx_hostcg_limits host;
	char *text, caps[256], warn[512];
	struct kx_spec spec;
	struct kx_err err;
	size_t nw = 0;

	if (size < 1)
		return 0;
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		if (!kx_spec_parse(text, "/nonexistent-bundle", &spec, &err)) {
			size_t len;
			uint8_t *buf;

			kx_spec_create_request(&spec, &cr);
			cr.container_id = "fuzz";
			len = katasbx__agent__v1__create_container_request__get_packed_size(&cr);
			buf = malloc(len ? len : 1);
			katasbx__agent__v1__create_container_request__pack(&cr, buf);
			free(buf);
			kx_spec_free(&spec);
		}
		break;
	case 1:
		if (!kx_process_parse(text, &proc, caps, &err))
			katasbx__agent__v1__process__free_unpacked(proc, NULL);
		break;
	default:
		if (!kx_resources_update_host(text, "resources", &w, &nw, &host, warn, sizeof(warn),
					      &err))
			kx_cgroup_writes_free(w, nw);
		break;
	}
	free(text);
	return 0;
}
