/* yaml.h: a small, bounded YAML node tree built from libyaml's events, with
 * the manifest position of every node. It enforces the hostile-input limits
 * (nesting depth, alias count and expansion, tags) and turns libyaml's errors
 * into diagnostics. Not for manifest semantics; decode*.c give nodes meaning. */
#pragma once

#include "controller/core/error.h"

#define VF_YAML_MAX_DEPTH 64          /* nested collections per document */
#define VF_YAML_MAX_ALIASES 64        /* alias references per file */
#define VF_YAML_MAX_EXPANSION 10000   /* nodes reachable only through aliases, per file */

typedef enum vf_ynode_type {
	VF_YNODE_SCALAR,
	VF_YNODE_MAP,
	VF_YNODE_SEQ,
} vf_ynode_type;

typedef struct vf_ynode vf_ynode;

typedef struct vf_ypair {
	vf_ynode *key;
	vf_ynode *value;
} vf_ypair;

struct vf_ynode {
	vf_ynode_type type;
	vf_pos pos;               /* where the node starts (1-based) */
	/* scalars */
	char *value;              /* NUL-terminated; may hold NULs ("\0" escapes): see len */
	size_t len;
	bool plain;               /* unquoted, untagged: may be a bool, number or null */
	bool literal;             /* a `|` block scalar */
	/* mappings */
	vf_ypair *pairs;
	size_t n_pairs;
	size_t cap_pairs;
	/* sequences */
	vf_ynode **items;
	size_t n_items;
	size_t cap_items;
	size_t weight;            /* nodes in this subtree, aliases expanded */
};

typedef struct vf_ydoc {
	vf_ynode *root;           /* NULL for an empty document */
	vf_pos pos;
} vf_ydoc;

/* Every document of one file. Nodes are owned by the stream (aliases share
 * them), so a node pointer lives as long as the stream. */
typedef struct vf_ystream {
	vf_ydoc *docs;
	size_t n_docs;
	size_t cap_docs;
	vf_ynode **nodes;
	size_t n_nodes;
	size_t cap_nodes;
} vf_ystream;

/* Parse `len` bytes of `text` from `file` (the interned name positions point
 * to). Every complete document before a fatal problem is kept in *out; every
 * problem found is appended to *diags. Returns 0 or the negative vf_code of the
 * first problem. */
int vf_yaml_parse(const char *file, const char *text, size_t len, vf_ystream *out,
		  vf_diags *diags);
void vf_ystream_free(vf_ystream *s);

/* The value of `key` in mapping `map`; NULL when absent or map is not a mapping. */
const vf_ynode *vf_ynode_get(const vf_ynode *map, const char *key);
/* The key node of `key` in `map` (for positions); NULL when absent. */
const vf_ynode *vf_ynode_key(const vf_ynode *map, const char *key);
/* A plain null: empty, `~`, `null`, `Null` or `NULL`, unquoted. */
bool vf_ynode_is_null(const vf_ynode *n);
