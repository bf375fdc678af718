// SPDX-License-Identifier: GPL-2.0
/*
 * Task events to containerd: packed into an Envelope and sent with
 * containerd.services.events.ttrpc.v1.Events/Forward on TTRPC_ADDRESS, or,
 * when that fails, given to the publish binary (`BIN --address A publish
 * --topic T --namespace NS`, the Any on stdin). One thread sends them, in the
 * order they were published.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "log.h"
#include "shim.h"
#include "sockets.h"
#include "ttrpc.h"

#define EVENTS_SERVICE "containerd.services.events.ttrpc.v1.Events"
#define NS_METADATA "containerd-namespace-ttrpc"

struct event {
	char topic[64];
	char type[96];
	uint8_t *data;
	size_t len;
	struct timespec when;
	struct event *next;
};

static const struct shim_opts *opts;
static const char *ttrpc_address;
static struct event *head, **tail = &head;
static bool sending;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

/* Any{type_url, value} packed; malloc'd. */
static uint8_t *pack_any(const struct event *e, size_t *len)
{
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	uint8_t *buf;

	any.type_url = (char *)e->type;
	any.value.data = e->data;
	any.value.len = e->len;
	*len = google__protobuf__any__get_packed_size(&any);
	buf = malloc(*len ? *len : 1);
	if (buf)
		google__protobuf__any__pack(&any, buf);
	return buf;
}

static int forward(const struct event *e, struct kx_err *err)
{
	Containerd__Services__Events__Ttrpc__V1__ForwardRequest fr =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
	Containerd__Services__Events__Ttrpc__V1__Envelope env =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	Ttrpc__KeyValue md = TTRPC__KEY_VALUE__INIT, *mdv[1] = { &md };
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	Ttrpc__Response *resp;
	struct ttrpc_conn c;
	struct ttrpc_frame f;
	uint8_t *payload = NULL, *frame = NULL;
	int fd, ret = -1;
	size_t n;

	if (!ttrpc_address || !*ttrpc_address)
		return kx_error(err, 0, "TTRPC_ADDRESS is not set");
	fd = kx_unix_connect(ttrpc_address, err);
	if (fd < 0)
		return -1;
	ttrpc_conn_init(&c, fd);
	ts.seconds = e->when.tv_sec;
	ts.nanos = e->when.tv_nsec;
	any.type_url = (char *)e->type;
	any.value.data = e->data;
	any.value.len = e->len;
	env.timestamp = &ts;
	env.namespace_ = (char *)opts->namespace;
	env.topic = (char *)e->topic;
	env.event = &any;
	fr.envelope = &env;
	n = containerd__services__events__ttrpc__v1__forward_request__get_packed_size(&fr);
	payload = malloc(n ? n : 1);
	if (!payload)
		goto out;
	containerd__services__events__ttrpc__v1__forward_request__pack(&fr, payload);
	/* the namespace rides in the metadata too, as containerd's own clients send it */
	md.key = NS_METADATA;
	md.value = (char *)opts->namespace;
	req.service = EVENTS_SERVICE;
	req.method = "Forward";
	req.payload.data = payload;
	req.payload.len = n;
	req.timeout_nano = 5000000000LL;
	req.n_metadata = 1;
	req.metadata = mdv;
	n = ttrpc__request__get_packed_size(&req);
	frame = malloc(n);
	if (!frame)
		goto out;
	ttrpc__request__pack(&req, frame);
	if (ttrpc_conn_write_frame(&c, 1, TTRPC_TYPE_REQUEST, 0, frame, n, err))
		goto out;
	for (;;) {
		int r = ttrpc_conn_read_frame(&c, &f, 5000, err);

		if (r <= 0) {
			if (r == 0)
				kx_error(err, 0, "containerd closed the events connection");
			goto out;
		}
		if (f.stream_id == 1 && f.type == TTRPC_TYPE_RESPONSE)
			break;
		free(f.data);
	}
	resp = ttrpc__response__unpack(NULL, f.len, f.data);
	free(f.data);
	if (!resp) {
		kx_error(err, 0, "malformed response to Forward");
		goto out;
	}
	if (resp->status && resp->status->code)
		kx_error(err, 0, "Forward: %s: %s", ttrpc_code_name(resp->status->code),
			 resp->status->message);
	else
		ret = 0;
	ttrpc__response__free_unpacked(resp, NULL);
out:
	free(payload);
	free(frame);
	ttrpc_conn_close(&c);
	return ret;
}

static int publish_binary(const struct event *e, struct kx_err *err)
{
	uint8_t *any;
	size_t len;
	int in[2], status;
	pid_t pid;

	if (!opts->publish_binary || !*opts->publish_binary)
		return kx_error(err, 0, "no publish binary");
	any = pack_any(e, &len);
	if (!any || pipe2(in, O_CLOEXEC)) {
		free(any);
		return kx_error(err, errno, "publish");
	}
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		execl(opts->publish_binary, opts->publish_binary, "--address", opts->address,
		      "publish", "--topic", e->topic, "--namespace", opts->namespace,
		      (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	if (pid > 0) {
		shim_child_track(pid);
		if (write(in[1], any, len) != (ssize_t)len)
			kx_debug("publish %s: short write", e->topic);
	}
	close(in[1]);
	free(any);
	if (pid < 0)
		return kx_error(err, errno, "fork");
	status = shim_child_wait(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return kx_error(err, 0, "%s publish exited with status %d", opts->publish_binary,
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

static void *sender(void *arg)
{
	for (;;) {
		struct event *e;
		struct kx_err err, err2;

		pthread_mutex_lock(&lock);
		while (!head)
			pthread_cond_wait(&cond, &lock);
		e = head;
		head = e->next;
		if (!head)
			tail = &head;
		sending = true;
		pthread_mutex_unlock(&lock);

		if (forward(e, &err) && publish_binary(e, &err2))
			kx_log(KX_LOG_ERROR, "event %s not published: %s; %s", e->topic, err.msg,
			       err2.msg);
		else
			kx_debug("event %s published", e->topic);
		free(e->data);
		free(e);
		pthread_mutex_lock(&lock);
		sending = false;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int shim_events_init(const struct shim_opts *o)
{
	pthread_t t;

	opts = o;
	ttrpc_address = getenv("TTRPC_ADDRESS");
	if (ttrpc_address && !strncmp(ttrpc_address, "unix://", 7))
		ttrpc_address += 7;
	return pthread_create(&t, NULL, sender, NULL) ? -1 : 0;
}

void shim_publish(const char *topic, const char *type, const ProtobufCMessage *msg)
{
	struct event *e = calloc(1, sizeof(*e));

	if (!e)
		return;
	snprintf(e->topic, sizeof(e->topic), "%s", topic);
	snprintf(e->type, sizeof(e->type), "%s", type);
	e->len = protobuf_c_message_get_packed_size(msg);
	e->data = malloc(e->len ? e->len : 1);
	if (!e->data) {
		free(e);
		return;
	}
	protobuf_c_message_pack(msg, e->data);
	clock_gettime(CLOCK_REALTIME, &e->when);
	pthread_mutex_lock(&lock);
	*tail = e;
	tail = &e->next;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

void shim_events_flush(int ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	while (head || sending)
		if (pthread_cond_timedwait(&cond, &lock, &deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&lock);
}
