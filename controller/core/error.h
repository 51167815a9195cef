/* error.h: virtform's error codes, the vf_error a failing call fills in, and
 * vf_diags, the list of every manifest problem found in one run.
 * Library code fills these in; only main() and the daemon loop print them. */
#pragma once

#include <stdio.h>

#include "controller/core/util.h"

/* Every code is documented in docs/errors.md; keep the two in step. */
typedef enum vf_code {
	VF_OK = 0,
	VF_E_NOMEM,        /* out of memory (normally aborts instead) */
	VF_E_IO,           /* a file or directory could not be read or written */
	VF_E_SYNTAX,       /* YAML that does not parse, bad UTF-8, NUL bytes */
	VF_E_LIMIT,        /* a file, nesting depth or alias expansion over its bound */
	VF_E_SCHEMA,       /* wrong apiVersion/kind/field/type/value */
	VF_E_DUPLICATE,    /* the same object declared twice */
	VF_E_CONFLICT,     /* an identity clash found while planning */
	VF_E_BLOCKED,      /* a step would destroy data or break a lease */
	VF_E_DRIVER,       /* libvirt (or another driver) reported an error */
	VF_E_LOCKED,       /* a lock is held by someone else */
	VF_E_TIMEOUT,      /* waited too long */
	VF_E_USAGE,        /* bad command line */
	VF_E_NOT_CONVERGED,/* apply ran but the re-plan was not empty */
	VF_E_INTERNAL,     /* a bug in virtform */
	VF_E_EMPTY,        /* the manifest set is empty and would remove what virtform owns */
	VF_E_HOST,         /* the state directory belongs to another host */
	VF_E_CONNECTION,   /* libvirtd did not answer in time, or the connection to it was lost */
	VF_E_FORMAT,       /* a snapshot or saved plan that is truncated, edited, foreign or of another version */
	VF_E_STALE,        /* a saved plan no longer fits the host, state directory or manifests */
	VF_E_UNSUPPORTED,  /* the host cannot run what the manifest asks (a domain type it does not offer) */
	VF_CODE_MAX,
} vf_code;

VF_STRING_TABLE_DECL(vf_code, vf_code);

/* Where in a manifest something came from. `file` is borrowed from the
 * manifest set that owns the object; line and col are 1-based, 0 = unknown. */
typedef struct vf_pos {
	const char *file;
	int line;
	int col;
} vf_pos;

typedef struct vf_error {
	vf_code code;
	char *message;          /* one whole sentence, never pieced together */
	vf_pos pos;             /* manifest position, when there is one */
	vf_pos other;           /* the other side of a clash, when there is one */
	const char *src_file;   /* C source that raised it (for -v debugging) */
	int src_line;
} vf_error;

/* Fill in *err (if non-NULL) and return -code. Frees any earlier message. */
int vf_error_set_at(vf_error *err, vf_code code, vf_pos pos, const char *src_file,
		    int src_line, const char *fmt, ...) VF_PRINTF(6, 7);
#define vf_error_set(err, code, ...) \
	vf_error_set_at((err), (code), (vf_pos){ 0 }, __FILE__, __LINE__, __VA_ARGS__)
#define vf_error_set_pos(err, code, pos, ...) \
	vf_error_set_at((err), (code), (pos), __FILE__, __LINE__, __VA_ARGS__)

void vf_error_clear(vf_error *err);   /* frees the message; err may be NULL */

/* Every problem a load or plan found, in the order found. */
typedef struct vf_diags {
	vf_error *items;
	size_t n;
	size_t cap;
} vf_diags;

/* Append one problem; returns -code so callers can `return vf_diag_add(...)`. */
int vf_diag_add_at(vf_diags *d, vf_code code, vf_pos pos, vf_pos other,
		   const char *src_file, int src_line, const char *fmt, ...) VF_PRINTF(7, 8);
int vf_diag_addv_at(vf_diags *d, vf_code code, vf_pos pos, vf_pos other, const char *src_file,
		    int src_line, const char *fmt, va_list ap) VF_PRINTF(7, 0);
#define vf_diag_addv(d, code, pos, fmt, ap) \
	vf_diag_addv_at((d), (code), (pos), (vf_pos){ 0 }, __FILE__, __LINE__, (fmt), (ap))
#define vf_diag_add(d, code, pos, ...) \
	vf_diag_add_at((d), (code), (pos), (vf_pos){ 0 }, __FILE__, __LINE__, __VA_ARGS__)
#define vf_diag_add2(d, code, pos, other, ...) \
	vf_diag_add_at((d), (code), (pos), (other), __FILE__, __LINE__, __VA_ARGS__)

void vf_diags_free(vf_diags *d);
/* Sort by file, line, col (stable), so output never depends on discovery order. */
void vf_diags_sort(vf_diags *d);

/* Print like a compiler: `file:line:col: error: message`, then the source
 * line and a caret under the column when the file can be read. With
 * `other`, a `file:line: note: ...` line follows. */
void vf_error_print(FILE *out, const vf_error *e, bool color);
void vf_diags_print(FILE *out, const vf_diags *d, bool color);
