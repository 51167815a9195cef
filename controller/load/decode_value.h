/* decode_value.h: what every decoder file (decode.c, decode_domain.c)
 * builds on: the decoding context and the typed readers (decode_value.c),
 * below the kinds' decoders and calling none of them. Each
 * reader reports a problem at its node through the context and returns
 * false (or -1); its output is written only on success.
 * Not for callers: the loader uses decode.h, everyone else manifest.h. */
#pragma once

#include "controller/load/decode.h"

#include <libxml/tree.h>

typedef struct vf_dec {
	const char *file;
	vf_diags *diags;
	int rc;                   /* first problem's -code */
	const char *kind;         /* "Domain", for messages */
} vf_dec;

/* ---- messages (decode_value.c) ------------------------------------------ */

void vf_dec__fail(vf_dec *d, vf_code code, vf_pos pos, const char *fmt, ...) VF_PRINTF(4, 5);
/* Map `n` (at `path`) has both `a` and `b`, which exclude each other. */
void vf_dec__both(vf_dec *d, const vf_ynode *n, const char *path, const char *a, const char *b);
/* A value parser's message, placed at `pos`; clears *err. */
void vf_dec__fail_err(vf_dec *d, vf_pos pos, vf_error *err);
/* Every key of `map` not in `known` (NULL-terminated); `where` names the map. */
void vf_dec__fields(vf_dec *d, const vf_ynode *map, const char *const *known, const char *where);
/* `field` is missing from `map`; `why` (may be NULL) is appended as written. */
void vf_dec__missing(vf_dec *d, const vf_ynode *map, const char *field, const char *where,
		     const char *why);
/* The choice within edit distance 2 of `word`, for "did you mean"; or NULL. */
const char *vf_dec__suggest(const char *word, const char *const *choices, size_t n);

/* ---- what a node is (decode_value.c) ------------------------------------ */

bool vf_dec__is_bool(const vf_ynode *n);
bool vf_dec__is_number(const vf_ynode *n);
/* "a mapping", "a list", "null", "a boolean", "a number" or "a string". */
const char *vf_dec__type_of(const vf_ynode *n);

/* ---- typed readers (decode_value.c) ------------------------------------- */

bool vf_dec__map(vf_dec *d, const vf_ynode *n, const char *path);
bool vf_dec__seq(vf_dec *d, const vf_ynode *n, const char *path);
bool vf_dec__str(vf_dec *d, const vf_ynode *n, const char *path, char **out);
bool vf_dec__text(vf_dec *d, const vf_ynode *n, const char *path, const char **out);
bool vf_dec__name(vf_dec *d, const vf_ynode *n, const char *path, char **out);
bool vf_dec__bool(vf_dec *d, const vf_ynode *n, const char *path, bool *out);
bool vf_dec__tri(vf_dec *d, const vf_ynode *n, const char *path, vf_tri *out);
bool vf_dec__uint(vf_dec *d, const vf_ynode *n, const char *path, uint64_t min, uint64_t max,
		  uint64_t *out);
int vf_dec__enum(vf_dec *d, const vf_ynode *n, const char *path, const char *const *choices,
		 size_t n_choices);
void vf_dec__uuid(vf_dec *d, const vf_ynode *n, const char *path, bool *has, uuid_t out,
		  vf_pos *pos);
void vf_dec__size(vf_dec *d, const vf_ynode *n, const char *path, uint64_t *out);
void vf_dec__volref(vf_dec *d, const vf_ynode *n, const char *path, vf_volref *r);
void vf_dec__abspath(vf_dec *d, const vf_ynode *n, const char *path, char **out);
/* spec.permissions (owner, group: a name or a number; mode) of a pool or volume. */
void vf_dec__perms(vf_dec *d, const vf_ynode *n, vf_perms *p);
/* The identity of a kind with a spec.uuid (pools, domains): o->uuid is
 * spec_uuid when the spec has one (has), else derived from kind and name
 * and written back to spec_uuid. */
void vf_dec__spec_uuid(vf_object *o, bool has, uuid_t spec_uuid);

/* Reading a raw-XML manifest's fields the planner's rules need (libxml2
 * trees of spec.xml): parent's first child element <name> (no namespace);
 * the text (attr NULL) or attribute `attr` of n, as the model keeps it,
 * NULL when absent or empty; the same of parent's first <name>. */
xmlNodePtr vf_dec__xml_child(xmlNodePtr parent, const char *name);
char *vf_dec__xml_attr(xmlNodePtr n, const char *attr);
char *vf_dec__xml_get(xmlNodePtr parent, const char *name, const char *attr);

/* spec.xml of a kind with the escape hatch (domains, networks): a string
 * into *ret_xml with its SHA-256 (hex) in hash and its position, checked
 * to be well-formed XML without a DOCTYPE whose root is <root_name>, whose
 * <name> is `name` and whose <uuid>, when given, is spec.uuid (or becomes
 * the identity: *has_uuid, uuid, *uuid_pos). */
void vf_dec__raw_xml(vf_dec *d, const vf_ynode *n, const char *root_name, const char *name,
		     char **ret_xml, char hash[65], vf_pos *xml_pos, bool *has_uuid, uuid_t uuid,
		     vf_pos *uuid_pos);

/* Decode an enum field through the model's string table; *out untouched on error. */
#define VF_DEC_ENUM(d, n, path, name, max, out)                                          \
	({                                                                               \
		const char *ch_[(max) + 1];                                              \
		size_t nch_ = 0;                                                         \
		for (int i_ = 0; i_ < (int)(max); i_++)                                  \
			if (name##_to_string(i_))                                        \
				ch_[nch_++] = name##_to_string(i_);                      \
		int k_ = vf_dec__enum((d), (n), (path), ch_, nch_);                      \
		if (k_ >= 0)                                                             \
			*(out) = name##_from_string(ch_[k_]);                            \
		k_ >= 0;                                                                 \
	})
