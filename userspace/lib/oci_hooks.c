// SPDX-License-Identifier: GPL-2.0
/*
 * config.json's "hooks": six lists of {path, args, env, timeout}, checked
 * here as the spec words them (path absolute, timeout above zero) so that a
 * bad hook fails create before anything runs; hookexec.c runs them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "oci.h"
#include "oci_json.h"

static const char *const kind_names[KX_HOOK_KINDS] = {
	[KX_HOOK_PRESTART] = "prestart",
	[KX_HOOK_CREATE_RUNTIME] = "createRuntime",
	[KX_HOOK_CREATE_CONTAINER] = "createContainer",
	[KX_HOOK_START_CONTAINER] = "startContainer",
	[KX_HOOK_POSTSTART] = "poststart",
	[KX_HOOK_POSTSTOP] = "poststop",
};

const char *kx_hook_kind_name(enum kx_hook_kind k)
{
	return k < KX_HOOK_KINDS ? kind_names[k] : "?";
}

static int parse_hook(json_object *v, const char *elem, Katasbx__Agent__V1__Hook *h,
		      struct kx_err *err)
{
	char path[PATH_BUF];
	json_object *f;

	if (oj_want(v, json_type_object, elem, err) ||
	    oj_req_string(v, elem, "path", &h->path, err))
		return -1;
	if (h->path[0] != '/')
		return oj_field_error(err, oj_join(path, elem, "path"),
				      "\"%s\" is not an absolute path", h->path);
	if ((f = oj_member(v, "args")) &&
	    oj_string_array(f, oj_join(path, elem, "args"), &h->args, &h->n_args, NULL, err))
		return -1;
	if ((f = oj_member(v, "env"))) {
		if (oj_string_array(f, oj_join(path, elem, "env"), &h->env, &h->n_env,
				    oj_check_env, err))
			return -1;
		h->env_set = true;
	}
	if ((f = oj_member(v, "timeout"))) {
		oj_join(path, elem, "timeout");
		if (json_object_is_type(f, json_type_int) && json_object_get_int64(f) <= 0)
			return oj_field_error(err, path, "must be greater than zero");
		if (oj_get_u32(f, path, &h->timeout, err))
			return -1;
	}
	return 0;
}

static int parse_kind(json_object *v, const char *name, struct kx_spec *spec,
		      enum kx_hook_kind k, struct kx_err *err)
{
	char path[PATH_BUF], elem[PATH_BUF];
	size_t n;

	oj_join(path, "hooks", name);
	if (oj_want(v, json_type_array, path, err))
		return -1;
	n = json_object_array_length(v);
	spec->hooks[k] = calloc(n ? n : 1, sizeof(*spec->hooks[k]));
	if (!spec->hooks[k])
		return kx_error(err, ENOMEM, "config.json: %s", path);
	for (size_t i = 0; i < n; i++) {
		Katasbx__Agent__V1__Hook *h = malloc(sizeof(*h));

		if (!h)
			return kx_error(err, ENOMEM, "config.json: %s", path);
		katasbx__agent__v1__hook__init(h);
		spec->hooks[k][spec->n_hooks[k]++] = h;
		if (parse_hook(json_object_array_get_idx(v, i), oj_indexed(elem, path, i), h, err))
			return -1;
	}
	return 0;
}

int oj_parse_hooks(json_object *v, struct kx_spec *spec, struct kx_err *err)
{
	if (!v)
		return 0;
	if (oj_want(v, json_type_object, "hooks", err))
		return -1;
	json_object_object_foreach(v, key, val) {
		char path[PATH_BUF];
		int k;

		for (k = 0; k < KX_HOOK_KINDS; k++)
			if (!strcmp(key, kind_names[k]))
				break;
		if (k == KX_HOOK_KINDS) {
			oj_warn(spec, oj_join(path, "hooks", key), "not a kind of hook, ignored");
			continue;
		}
		if (!val)
			continue;
		if (parse_kind(val, key, spec, k, err))
			return -1;
		if (k == KX_HOOK_POSTSTOP &&
		    !(spec->poststop_json = strdup(json_object_to_json_string_ext(
				val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))))
			return kx_error(err, ENOMEM, "config.json: hooks.poststop");
	}
	return 0;
}

void oj_free_hooks(struct kx_spec *spec)
{
	for (int k = 0; k < KX_HOOK_KINDS; k++) {
		for (size_t i = 0; i < spec->n_hooks[k]; i++)
			katasbx__agent__v1__hook__free_unpacked(spec->hooks[k][i], NULL);
		free(spec->hooks[k]);
		spec->hooks[k] = NULL;
		spec->n_hooks[k] = 0;
	}
	free(spec->poststop_json);
	spec->poststop_json = NULL;
}
