/* jsondoc.h: the JSON documents virtform writes for itself and reads back
 * (snapshots, saved plans): writing members in a fixed order, a digest
 * over the content, and reading strictly with every problem reported at
 * its line:col in the file (json-c's tokener offset for syntax, a small
 * path-following scanner for a bad value). Never half-used: a reader
 * keeps the first error and the caller throws the half-read result away.
 * Not for what any document means: its own reader decides that. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "controller/core/error.h"

/* ---- writing -------------------------------------------------------------- */

/* Add a member; NULL strings become null. */
void vf_jw_str(json_object *o, const char *key, const char *s);
void vf_jw_u64(json_object *o, const char *key, uint64_t v);
void vf_jw_i64(json_object *o, const char *key, int64_t v);
void vf_jw_bool(json_object *o, const char *key, bool v);

/* The document as written to a file: pretty, members in insertion order,
 * a trailing newline. Caller frees. */
char *vf_jw_text(json_object *doc);

/* "sha256:HEX" over the document's compact form without its "digest"
 * member, so reformatting never changes it but any edited value does.
 * Caller frees. */
char *vf_jw_digest(json_object *doc);

/* ---- reading -------------------------------------------------------------- */

/* Paths name a value for messages: "" is the document, "domains[2].memory"
 * a member of an element. Keys never contain '.' or '['. */
typedef struct vf_jr {
	const char *file;         /* named in positions; must outlive err */
	const char *text;         /* the whole document, NUL-terminated */
	const char *what;         /* "snapshot", "saved plan": named in messages */
	vf_error *err;
	bool failed;              /* err holds the first problem; later ones are dropped */
} vf_jr;

/* The whole file at `path` for a reader (caller frees *ret_text): VF_E_IO
 * when it cannot be read, VF_E_FORMAT when it holds a NUL byte (no JSON
 * document does). `what` names it: "snapshot", "saved plan". */
int vf_jr_read_file(const char *path, const char *what, char **ret_text, vf_error *err);

/* Parse jr->text. A syntax error, a truncated document or anything after
 * it is refused at its line:col. Returns 0 and *out, or -VF_E_FORMAT. */
int vf_jr_parse(vf_jr *jr, json_object **out);

/* Record a problem with the value at path[.key] (key may be NULL) at its
 * line:col: "PATH.KEY: MESSAGE". Returns -VF_E_FORMAT. Only the first
 * problem is kept. */
int vf_jr_fail(vf_jr *jr, const char *path, const char *key, const char *fmt, ...)
	VF_PRINTF(4, 5);

/* "PATH.KEY" or "PATH[I]"; caller frees. */
char *vf_jr_path(const char *path, const char *key);
char *vf_jr_index(const char *path, size_t i);

/* `o` must be an object whose members are exactly `keys` (NULL-ended):
 * an unknown or a missing member is a problem. */
bool vf_jr_object(vf_jr *jr, json_object *o, const char *path, const char *const *keys);

/* Members of an object already checked by vf_jr_object. Each records a
 * problem on a wrong type and returns a zero value then. */
json_object *vf_jr_get(json_object *o, const char *key);
char *vf_jr_str(vf_jr *jr, json_object *o, const char *path, const char *key, bool nullable);
uint64_t vf_jr_u64(vf_jr *jr, json_object *o, const char *path, const char *key);
int64_t vf_jr_i64(vf_jr *jr, json_object *o, const char *path, const char *key, int64_t min,
		  int64_t max);
bool vf_jr_bool(vf_jr *jr, json_object *o, const char *path, const char *key);
/* An array member (NULL on a problem); *n its length. */
json_object *vf_jr_array(vf_jr *jr, json_object *o, const char *path, const char *key, size_t *n);
/* A string member parsed by `from` (an enum's *_from_string); null gives
 * `unset` when nullable. */
int vf_jr_enum(vf_jr *jr, json_object *o, const char *path, const char *key,
	       int (*from)(const char *), bool nullable, int unset);

/* The document's "digest" matches its content (vf_jw_digest). */
bool vf_jr_digest_ok(vf_jr *jr, json_object *doc);
