// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the protobuf decode of every message either side
 * accepts: the agent's from the host and the host's from the guest
 * (agent.proto), the monitor's (monitor.proto), ttrpc's own, and
 * containerd's task API the shim serves. The first byte picks the message
 * (fuzz_descs.h, the list made from the generated headers). A message that
 * decodes must pass protobuf-c's check and survive a round trip: packed
 * again, it decodes again to the same packed bytes. Not one with fields its
 * proto lacks (at any depth): protobuf-c keeps them as they came, and it takes keys that
 * it then refuses to read back (field 0 in an overlong varint, found here);
 * neither side packs again what it received.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "fuzz_descs.h"

/* Fields its proto lacks, in the message or in one it holds. */
static bool has_unknown(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (m->n_unknown_fields)
		return true;
	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *at = (const char *)m + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)at;

			for (size_t j = 0; j < n; j++)
				if (has_unknown(v[j]))
					return true;
		} else if (*(ProtobufCMessage *const *)at &&
			   has_unknown(*(ProtobufCMessage *const *)at)) {
			return true;
		}
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t n = sizeof(fuzz_descs) / sizeof(fuzz_descs[0]);
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage *m, *again;
	uint8_t *buf, *buf2;
	size_t len, len2;

	if (size < 1)
		return 0;
	desc = fuzz_descs[data[0] % n];
	m = protobuf_c_message_unpack(desc, NULL, size - 1, data + 1);
	if (!m)
		return 0;
	if (!protobuf_c_message_check(m))
		abort();
	if (has_unknown(m)) {
		protobuf_c_message_free_unpacked(m, NULL);
		return 0;
	}
	len = protobuf_c_message_get_packed_size(m);
	buf = malloc(len ? len : 1);
	if (protobuf_c_message_pack(m, buf) != len)
		abort();
	again = protobuf_c_message_unpack(desc, NULL, len, buf);
	if (!again)
		abort();
	len2 = protobuf_c_message_get_packed_size(again);
	buf2 = malloc(len2 ? len2 : 1);
	protobuf_c_message_pack(again, buf2);
	if (len2 != len || memcmp(buf, buf2, len))
		abort();
	free(buf2);
	free(buf);
	protobuf_c_message_free_unpacked(again, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
