// SPDX-License-Identifier: GPL-2.0
/*
 * SetIdentity: a guest restored from a template shares the template's RNG
 * state, clock and names with every other clone. The host's first call
 * after restore gives it its own: entropy credited to the kernel RNG (and
 * the crng reseeded from it at once), the wall clock, the hostname.
 *
 * The agent itself keeps no random state of its own, so the kernel RNG is
 * all there is to reseed.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/random.h>

#define ENTROPY_MIN 32
#define ENTROPY_MAX 4096
#define HOSTNAME_MAX 64

typedef Katasbx__Agent__V1__SetIdentityRequest pb_identity_req;

/* Mixes data into the input pool, credited with all its bits, then reseeds. */
static int rng_add(const uint8_t *data, size_t len, struct kx_err *err)
{
	struct {
		struct rand_pool_info info;
		uint8_t buf[ENTROPY_MAX];
	} rp;
	int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
	int ret = -1;

	if (fd < 0)
		return kx_error(err, errno, "open /dev/urandom"), -1;
	rp.info.entropy_count = (int)(len * 8);
	rp.info.buf_size = (int)len;
	memcpy(rp.buf, data, len);
	if (ioctl(fd, RNDADDENTROPY, &rp) < 0) {
		kx_error(err, errno, "RNDADDENTROPY");
		goto out;
	}
#ifdef RNDRESEEDCRNG
	/* Linux 5.x+: the crng uses the new input now, not at its next reseed. */
	if (ioctl(fd, RNDRESEEDCRNG) < 0)
		log_dbg("identity: RNDRESEEDCRNG: %s", strerror(errno));
#endif
	ret = 0;
out:
	explicit_bzero(&rp, sizeof(rp));
	close(fd);
	return ret;
}

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * protobuf-c ends an unpacked string at its first NUL, so a hostname with
 * a NUL in it would come out silently cut: look at the bytes as sent.
 * The payload unpacked already, so it is well-formed.
 */
static bool hostname_has_nul(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	bool nul = false;

	while (p < end) {
		uint64_t key, n;

		if (!varint(&p, end, &key))
			return true;
		switch (key & 7) {
		case 0:
			if (!varint(&p, end, &n))
				return true;
			break;
		case 1:
		case 5:
			n = (key & 7) == 1 ? 8 : 4;
			if (n > (uint64_t)(end - p))
				return true;
			p += n;
			break;
		case 2:
			if (!varint(&p, end, &n) || n > (uint64_t)(end - p))
				return true;
			/* The last occurrence of a field wins; so does its verdict. */
			if (key >> 3 == 3)
				nul = memchr(p, 0, n) != NULL;
			p += n;
			break;
		default:
			return true;
		}
	}
	return nul;
}

static bool valid_hostname(const char *h, const uint8_t *raw, size_t rawlen)
{
	return strlen(h) <= HOSTNAME_MAX && !strchr(h, '/') && !hostname_has_nul(raw, rawlen);
}

int identity_set(const struct call *call, const pb_identity_req *r, const uint8_t *raw,
		 size_t rawlen)
{
	struct kx_err err;

	/* Check everything first: a refused call changes nothing. */
	if (r->entropy.len < ENTROPY_MIN || r->entropy.len > ENTROPY_MAX)
		return reply_err(call, TTRPC_INVALID_ARGUMENT,
				 "entropy: %zu bytes, want %d to %d", r->entropy.len,
				 ENTROPY_MIN, ENTROPY_MAX);
	if (r->realtime_ns < 0)
		return reply_err(call, TTRPC_INVALID_ARGUMENT, "realtime_ns negative");
	if (!valid_hostname(r->hostname, raw, rawlen))
		return reply_err(call, TTRPC_INVALID_ARGUMENT,
				 "hostname: at most %d bytes, no '/' or NUL", HOSTNAME_MAX);

	if (rng_add(r->entropy.data, r->entropy.len, &err) < 0) {
		explicit_bzero(r->entropy.data, r->entropy.len);
		return reply_err(call, TTRPC_INTERNAL, "%s", err.msg);
	}
	/* The unpacked request is freed after us; leave no copy behind. */
	explicit_bzero(r->entropy.data, r->entropy.len);

	if (r->realtime_ns) {
		struct timespec ts = {
			.tv_sec = r->realtime_ns / 1000000000,
			.tv_nsec = r->realtime_ns % 1000000000,
		};

		if (clock_settime(CLOCK_REALTIME, &ts) < 0)
			return reply_err(call, errno == EINVAL ? TTRPC_INVALID_ARGUMENT :
					 TTRPC_INTERNAL, "clock_settime: %s", strerror(errno));
	}
	if (r->hostname[0] && sethostname(r->hostname, strlen(r->hostname)) < 0)
		return reply_err(call, TTRPC_INTERNAL, "sethostname %s: %s", r->hostname,
				 strerror(errno));
	log_dbg("identity: %zu bytes of entropy, realtime %lld ns, hostname '%s', vsock cid %u",
		r->entropy.len, (long long)r->realtime_ns, r->hostname, r->vsock_cid);
	return reply(call, TTRPC_OK, NULL, NULL);
}
