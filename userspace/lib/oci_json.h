/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The checked JSON accessors the config.json parser is made of (oci.c,
 * oci_hooks.c, oci_resources.c). Each names the field by its dotted path in
 * its error ("config.json: process.rlimits[1].type: must be a string").
 */
#ifndef KX_OCI_JSON_H
#define KX_OCI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "kx_error.h"

#define PATH_BUF 256	/* a field's dotted path */

/*
 * The document errors and warnings name (NULL: "config.json"), in this
 * thread until set again; returns the one before.
 */
const char *oj_doc(const char *name);
/* "config.json: PATH: MESSAGE"; returns -1. */
int oj_field_error(struct kx_err *err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* PARENT.KEY (KEY alone at the top) into buf (PATH_BUF bytes); returns buf. */
const char *oj_join(char *buf, const char *parent, const char *key);
/* PARENT[I] into buf; returns buf. */
const char *oj_indexed(char *buf, const char *parent, size_t i);
/* A member, or NULL when absent or JSON null (both mean "not set"). */
json_object *oj_member(json_object *o, const char *key);
/* 0 when v is of type t, else "must be a T". */
int oj_want(json_object *v, json_type t, const char *path, struct kx_err *err);
/* v must be a string without NUL bytes; *out is a malloc'd copy. */
int oj_dup_string(json_object *v, const char *path, char **out, struct kx_err *err);
/* Optional string member: *out stays NULL when absent. */
int oj_opt_string(json_object *o, const char *parent, const char *key, char **out,
		  struct kx_err *err);
int oj_req_string(json_object *o, const char *parent, const char *key, char **out,
		  struct kx_err *err);
int oj_opt_bool(json_object *o, const char *parent, const char *key, bool *out,
		struct kx_err *err);
/* A non-negative integer of at most max. */
int oj_get_u64(json_object *v, const char *path, uint64_t max, uint64_t *out,
	       struct kx_err *err);
int oj_get_u32(json_object *v, const char *path, uint32_t *out, struct kx_err *err);
void oj_free_strv(char **v, size_t n);
/* An array of strings; check (may be NULL) gives why an element is wrong. */
int oj_string_array(json_object *v, const char *path, char ***out, size_t *n_out,
		    const char *(*check)(const char *), struct kx_err *err);
const char *oj_check_absolute(const char *s);
const char *oj_check_env(const char *s);

struct kx_spec;
/* Add a line "config.json: PATH: MESSAGE" to buf (size bytes, a string). */
void oj_warn_in(char *buf, size_t size, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* oj_warn_in spec->warnings. */
#define oj_warn(spec, path, ...) \
	oj_warn_in((spec)->warnings, sizeof((spec)->warnings), path, __VA_ARGS__)
/*
 * config.json's "hooks" (v, may be NULL) into spec->hooks (oci_hooks.c): each
 * with an absolute path, args, env and a timeout above zero. A kind of hook
 * the spec does not define is warned about and left out (runc ignores it).
 */
int oj_parse_hooks(json_object *v, struct kx_spec *spec, struct kx_err *err);
void oj_free_hooks(struct kx_spec *spec);
/* linux.seccomp into spec->seccomp (oci_seccomp.c). */
int oj_parse_seccomp(json_object *v, struct kx_spec *spec, struct kx_err *err);
/* linux.resources (v, may be NULL) into spec->resources (oci_resources.c). */
int oj_parse_resources(json_object *v, struct kx_spec *spec, struct kx_err *err);
/*
 * The rest of "linux" (oci_linux.c): sysctl, devices, and what is refused or
 * warned about; after the namespaces are known. And process's oomScoreAdj
 * and security labels, once spec->process is there.
 */
int oj_parse_linux_extra(json_object *v, struct kx_spec *spec, struct kx_err *err);
int oj_parse_process_extra(json_object *v, struct kx_spec *spec, struct kx_err *err);
void oj_free_linux_extra(struct kx_spec *spec);

#endif
