// SPDX-License-Identifier: GPL-2.0
/* The checked JSON accessors of the config.json parser (oci_json.h). */
#include "oci_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* What errors and warnings name the document by; per thread (the shim's). */
static _Thread_local const char *doc_name;

const char *oj_doc(const char *name)
{
	const char *was = doc_name;

	doc_name = name;
	return was;
}

static const char *doc(void)
{
	return doc_name ? doc_name : "config.json";
}

/* "config.json: PATH: MESSAGE"; returns -1. */
int oj_field_error(struct kx_err *err, const char *path, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return kx_error(err, 0, "%s: %s: %s", doc(), path, msg);
}

void oj_warn_in(char *buf, size_t size, const char *path, const char *fmt, ...)
{
	size_t len = strnlen(buf, size);
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len < size)
		snprintf(buf + len, size - len, "%s%s: %s: %s", len ? "\n" : "", doc(), path, msg);
}

const char *oj_join(char *buf, const char *parent, const char *key)
{
	if (parent && *parent)
		snprintf(buf, PATH_BUF, "%s.%s", parent, key);
	else
		snprintf(buf, PATH_BUF, "%s", key);
	return buf;
}

const char *oj_indexed(char *buf, const char *parent, size_t i)
{
	snprintf(buf, PATH_BUF, "%s[%zu]", parent, i);
	return buf;
}

/* A member, or NULL when absent or JSON null (both mean "not set"). */
json_object *oj_member(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

int oj_want(json_object *v, json_type t, const char *path, struct kx_err *err)
{
	static const char *const what[] = {
		[json_type_null] = "null", [json_type_boolean] = "a boolean",
		[json_type_double] = "a number", [json_type_int] = "a number",
		[json_type_object] = "an object", [json_type_array] = "an array",
		[json_type_string] = "a string",
	};

	if (json_object_is_type(v, t))
		return 0;
	return oj_field_error(err, path, "must be %s", what[t]);
}

/* v must be a string without NUL bytes; *out is a malloc'd copy. */
int oj_dup_string(json_object *v, const char *path, char **out, struct kx_err *err)
{
	const char *s;

	if (oj_want(v, json_type_string, path, err))
		return -1;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return oj_field_error(err, path, "must not contain NUL bytes");
	*out = strdup(s);
	if (!*out)
		return kx_error(err, ENOMEM, "%s: %s", doc(), path);
	return 0;
}

/* Optional string member: *out stays NULL when absent. */
int oj_opt_string(json_object *o, const char *parent, const char *key, char **out,
		  struct kx_err *err)
{
	json_object *v = oj_member(o, key);
	char path[PATH_BUF];

	if (!v)
		return 0;
	return oj_dup_string(v, oj_join(path, parent, key), out, err);
}

int oj_req_string(json_object *o, const char *parent, const char *key, char **out,
		  struct kx_err *err)
{
	json_object *v = oj_member(o, key);
	char path[PATH_BUF];

	oj_join(path, parent, key);
	if (!v)
		return oj_field_error(err, path, "is required");
	return oj_dup_string(v, path, out, err);
}

int oj_opt_bool(json_object *o, const char *parent, const char *key, bool *out,
		struct kx_err *err)
{
	json_object *v = oj_member(o, key);
	char path[PATH_BUF];

	if (!v)
		return 0;
	if (oj_want(v, json_type_boolean, oj_join(path, parent, key), err))
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

int oj_get_u64(json_object *v, const char *path, uint64_t max, uint64_t *out,
	       struct kx_err *err)
{
	if (json_object_is_type(v, json_type_double))
		return oj_field_error(err, path, "must be an integer");
	if (oj_want(v, json_type_int, path, err))
		return -1;
	/* json-c keeps integers above INT64_MAX as uint64; get_int64 saturates. */
	if (json_object_get_int64(v) < 0)
		return oj_field_error(err, path, "must not be negative");
	*out = json_object_get_uint64(v);
	if (*out > max)
		return oj_field_error(err, path, "must be at most %llu", (unsigned long long)max);
	return 0;
}

int oj_get_u32(json_object *v, const char *path, uint32_t *out, struct kx_err *err)
{
	uint64_t u;

	if (oj_get_u64(v, path, UINT32_MAX, &u, err))
		return -1;
	*out = (uint32_t)u;
	return 0;
}

void oj_free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* An array of strings; check (may be NULL) validates each element. */
int oj_string_array(json_object *v, const char *path, char ***out, size_t *n_out,
		    const char *(*check)(const char *), struct kx_err *err)
{
	char elem[PATH_BUF];
	size_t n;
	char **a;

	if (oj_want(v, json_type_array, path, err))
		return -1;
	n = json_object_array_length(v);
	a = calloc(n ? n : 1, sizeof(*a));
	if (!a)
		return kx_error(err, ENOMEM, "%s: %s", doc(), path);
	for (size_t i = 0; i < n; i++) {
		const char *why;

		oj_indexed(elem, path, i);
		if (oj_dup_string(json_object_array_get_idx(v, i), elem, &a[i], err))
			goto fail;
		if (check && (why = check(a[i]))) {
			oj_field_error(err, elem, "%s", why);
			goto fail;
		}
	}
	*out = a;
	*n_out = n;
	return 0;
fail:
	oj_free_strv(a, n);
	return -1;
}

const char *oj_check_absolute(const char *s)
{
	return s[0] == '/' ? NULL : "must be an absolute path";
}

const char *oj_check_env(const char *s)
{
	const char *eq = strchr(s, '=');

	return eq && eq != s ? NULL : "must be of the form KEY=VALUE";
}
