// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the ttrpc frame decoder both sides of the channel read
 * with (the host from the guest, the agent from the host, the shim and the
 * monitor from their clients), fed in the splits the input's first bytes
 * choose: whole, byte by byte, or in chunks, so split, coalesced, oversize
 * and truncated frames all occur. Each frame's payload is decoded as the
 * ttrpc Request or Response its type says, as the readers do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ttrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttrpc_decoder d;
	struct ttrpc_frame f;
	size_t off = 0, chunk;
	int r;

	if (size < 2)
		return 0;
	chunk = (size_t)data[0] % 17;	/* 0: all at once */
	ttrpc_decoder_init(&d);
	d.max = data[1] & 1 ? TTRPC_MAX_DATA : 64;	/* the cap, and a small one to hit it */
	data += 2;
	size -= 2;
	while (off < size) {
		size_t n = chunk ? chunk : size;

		if (n > size - off)
			n = size - off;
		if (ttrpc_decoder_feed(&d, data + off, n))
			break;
		off += n;
		while ((r = ttrpc_decoder_next(&d, &f)) == 1) {
			if (f.type == TTRPC_TYPE_REQUEST) {
				Ttrpc__Request *q = ttrpc__request__unpack(NULL, f.len, f.data);

				if (q)
					ttrpc__request__free_unpacked(q, NULL);
			} else if (f.type == TTRPC_TYPE_RESPONSE) {
				Ttrpc__Response *p = ttrpc__response__unpack(NULL, f.len, f.data);

				if (p)
					ttrpc__response__free_unpacked(p, NULL);
			}
			free(f.data);
		}
		if (r < 0)
			break;	/* oversize: the reader closes the connection */
	}
	ttrpc_decoder_free(&d);
	return 0;
}
