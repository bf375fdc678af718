// SPDX-License-Identifier: GPL-2.0
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hookexec.h"
#include "log.h"
#include "oci.h"
#include "oci_json.h"

char *kx_hook_state(const char *oci_version, const struct kx_state *st, const char *status)
{
	json_object *o = json_object_new_object(), *ann;
	char *out;

	if (!o)
		return NULL;
	json_object_object_add(o, "ociVersion", json_object_new_string(oci_version));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "status", json_object_new_string(status));
	if (st->pid > 0 && strcmp(status, "stopped"))
		json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	ann = st->annotations_json ? json_tokener_parse(st->annotations_json) : NULL;
	if (ann && json_object_is_type(ann, json_type_object) && json_object_object_length(ann))
		json_object_object_add(o, "annotations", ann);
	else
		json_object_put(ann);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

int kx_spec_run_hooks(const struct kx_spec *spec, enum kx_hook_kind k, const struct kx_state *st,
		      const char *status, struct kx_err *err)
{
	cleanup_free char *state = NULL;

	if (!spec->n_hooks[k])
		return 0;
	state = kx_hook_state(spec->oci_version, st, status);
	if (!state)
		return kx_error(err, ENOMEM, "%s hooks", kx_hook_kind_name(k));
	kx_debug("%s hooks: %zu", kx_hook_kind_name(k), spec->n_hooks[k]);
	return kx_hooks_run(spec->hooks[k], spec->n_hooks[k], kx_hook_kind_name(k), spec->bundle,
			    state, err);
}

int kx_poststop_record(const char *root, const char *id, const struct kx_spec *spec,
		       struct kx_err *err)
{
	char path[4096];
	cleanup_close int fd = -1;
	json_object *o;
	const char *text;
	size_t len;
	int ret = 0;

	if (!spec->poststop_json)
		return 0;
	if (kx_state_path(path, sizeof(path), root, id, KX_POSTSTOP_RECORD))
		return kx_error(err, ENAMETOOLONG, "state of %s", id);
	o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string(spec->oci_version));
	json_object_object_add(o, "bundle", json_object_new_string(spec->bundle));
	json_object_object_add(o, "poststop", json_tokener_parse(spec->poststop_json));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		ret = kx_error(err, errno, "write %s", path);
	json_object_put(o);
	return ret;
}

void kx_poststop_run(const char *record, const struct kx_state *st)
{
	struct kx_spec spec = { .net_ns_index = -1 };
	struct kx_state s = *st;
	json_object *o = json_object_from_file(record), *v;
	struct kx_err err;

	if (!o || !json_object_is_type(o, json_type_object)) {
		kx_warn("poststop hooks of %s: %s is not readable JSON", st->id, record);
		goto out;
	}
	spec.oci_version = (char *)((v = oj_member(o, "ociVersion")) ? json_object_get_string(v) :
				    KX_OCI_VERSION);
	/* the bundle as create saw it: the state's may be empty after a crash */
	if ((v = oj_member(o, "bundle")) && json_object_is_type(v, json_type_string))
		snprintf(s.bundle, sizeof(s.bundle), "%s", json_object_get_string(v));
	/* runc runs them where delete runs; here in the bundle, or / if it is gone */
	spec.bundle = access(s.bundle, X_OK) == 0 ? s.bundle : "/";
	if (oj_parse_hooks(o, &spec, &err) ||
	    kx_spec_run_hooks(&spec, KX_HOOK_POSTSTOP, &s, "stopped", &err))
		kx_warn("%s", err.msg);
out:
	spec.oci_version = NULL;
	spec.bundle = NULL;
	oj_free_hooks(&spec);
	json_object_put(o);
}
