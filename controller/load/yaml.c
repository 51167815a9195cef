/* yaml.c: builds vf_ynode trees from libyaml's event stream, bounded against
 * hostile input (depth, node count, alias references and expansion, tags,
 * duplicate keys), and reports libyaml's own errors at the right line:col.
 * Not for manifest semantics (decode*.c) or for finding files (manifest.c). */
#include "controller/load/yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <yaml.h>

#define VF_YAML_MAX_NODES 250000      /* nodes per file; a 4 MiB file of `[a,a,...]` stays small */

typedef struct vf_anchor {
	char *name;
	vf_ynode *node;
} vf_anchor;

typedef struct vf_yparser {
	const char *file;
	const char *text;
	size_t len;
	vf_ystream *out;
	vf_diags *diags;
	int rc;                                   /* first problem's -code, or 0 */
	vf_ynode *stack[VF_YAML_MAX_DEPTH + 1];   /* open collections */
	char *stack_anchor[VF_YAML_MAX_DEPTH + 1];
	vf_ynode *stack_key[VF_YAML_MAX_DEPTH + 1]; /* a mapping's key awaiting its value */
	size_t depth;
	vf_ynode *doc_root;
	vf_pos doc_pos;
	vf_anchor *anchors;
	size_t n_anchors;
	size_t cap_anchors;
	size_t n_aliases;
	size_t expansion;
} vf_yparser;

static int vf_yaml__problem(vf_yparser *p, vf_code code, vf_pos pos, const char *fmt, ...)
	VF_PRINTF(4, 5);

static int vf_yaml__problem(vf_yparser *p, vf_code code, vf_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vf_diag_addv(p->diags, code, pos, fmt, ap);
	va_end(ap);
	if (!p->rc)
		p->rc = r;
	return r;
}

static vf_pos vf_yaml__mark(const vf_yparser *p, yaml_mark_t m)
{
	return (vf_pos){ .file = p->file, .line = (int)m.line + 1, .col = (int)m.column + 1 };
}

/* Position of byte `offset`: lines end at \n, \r\n or \r (as libyaml counts
 * them) and columns count characters, not bytes. */
static vf_pos vf_yaml__offset_pos(const vf_yparser *p, size_t offset)
{
	int line = 1, col = 1;
	for (size_t i = 0; i < offset && i < p->len; i++) {
		unsigned char c = (unsigned char)p->text[i];
		if (c == '\n' || (c == '\r' && !(i + 1 < p->len && p->text[i + 1] == '\n'))) {
			line++;
			col = 1;
		} else if (c != '\r' && (c & 0xC0) != 0x80) {
			col++;
		}
	}
	return (vf_pos){ .file = p->file, .line = line, .col = col };
}

/* The byte at 0-based line/column (in characters); -1 past the end. */
static int vf_yaml__char_at(const vf_yparser *p, size_t line, size_t column)
{
	size_t i = 0;
	for (size_t l = 0; l < line && i < p->len; i++)
		if (p->text[i] == '\n')
			l++;
	for (size_t c = 0; i < p->len; i++) {
		if ((p->text[i] & 0xC0) == 0x80)
			continue;
		if (c++ == column)
			return (unsigned char)p->text[i];
	}
	return -1;
}

static void vf_yaml__parser_error(vf_yparser *p, const yaml_parser_t *yp)
{
	switch (yp->error) {
	case YAML_MEMORY_ERROR:
		vf_yaml__problem(p, VF_E_NOMEM, (vf_pos){ .file = p->file }, "out of memory while parsing YAML");
		return;
	case YAML_READER_ERROR: {
		const char *problem = yp->problem ? yp->problem : "unreadable input";
		size_t off = yp->problem_offset;
		/* a bad trailing octet is reported where its sequence starts */
		if (strstr(problem, "trailing"))
			while (off > 0 && off <= p->len && ((unsigned char)p->text[off] & 0xC0) != 0xC0)
				off--;
		vf_pos pos = vf_yaml__offset_pos(p, off);
		if (yp->problem_value == 0)
			vf_yaml__problem(p, VF_E_SYNTAX, pos, "file contains a NUL byte; manifests must be UTF-8 text");
		else if (strstr(problem, "control characters"))
			vf_yaml__problem(p, VF_E_SYNTAX, pos,
					 "file contains the control character U+%04X; manifests must be UTF-8 text",
					 (unsigned)yp->problem_value);
		else if (strstr(problem, "UTF-8") && yp->problem_value >= 0)
			vf_yaml__problem(p, VF_E_SYNTAX, pos, "invalid UTF-8: %s 0x%02x", problem,
					 (unsigned)yp->problem_value);
		else if (strstr(problem, "UTF-8"))
			vf_yaml__problem(p, VF_E_SYNTAX, pos, "invalid UTF-8: %s", problem);
		else
			vf_yaml__problem(p, VF_E_SYNTAX, pos, "unreadable YAML: %s", problem);
		return;
	}
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
	default: {
		vf_pos pos = vf_yaml__mark(p, yp->problem_mark);
		const char *problem = yp->problem ? yp->problem : "unknown error";
		const char *hint = vf_yaml__char_at(p, yp->problem_mark.line, yp->problem_mark.column) == '\t'
			? "; tabs are not allowed for indentation" : "";
		if (yp->context && (yp->context_mark.line != yp->problem_mark.line ||
				    yp->context_mark.column != yp->problem_mark.column))
			vf_yaml__problem(p, VF_E_SYNTAX, pos, "invalid YAML: %s (%s at line %zu column %zu)%s",
					 problem, yp->context, yp->context_mark.line + 1,
					 yp->context_mark.column + 1, hint);
		else
			vf_yaml__problem(p, VF_E_SYNTAX, pos, "invalid YAML: %s%s", problem, hint);
		return;
	}
	}
}

static vf_ynode *vf_yaml__node(vf_yparser *p, vf_ynode_type type, vf_pos pos)
{
	vf_ynode *n = vf_calloc(1, sizeof(*n));
	n->type = type;
	n->pos = pos;
	n->weight = 1;
	VF_APPEND(p->out->nodes, p->out->n_nodes, p->out->cap_nodes, n);
	return n;
}

/* Standard tags only: a scalar may say !!str, !!int, !!bool, !!float or
 * !!null (or the non-specific `!`), a collection !!map or !!seq. */
static int vf_yaml__check_tag(vf_yparser *p, const char *tag, vf_ynode_type type, vf_pos pos)
{
	static const char *const prefix = "tag:yaml.org,2002:";
	if (!tag || strcmp(tag, "!") == 0)
		return 0;
	size_t pl = strlen(prefix);
	if (strncmp(tag, prefix, pl) == 0) {
		const char *t = tag + pl;
		bool ok = type == VF_YNODE_SCALAR
			? (strcmp(t, "str") == 0 || strcmp(t, "int") == 0 || strcmp(t, "bool") == 0 ||
			   strcmp(t, "float") == 0 || strcmp(t, "null") == 0)
			: strcmp(t, type == VF_YNODE_MAP ? "map" : "seq") == 0;
		if (ok)
			return 0;
		return vf_yaml__problem(p, VF_E_SCHEMA, pos, "tag \"!!%s\" does not fit this %s", t,
					type == VF_YNODE_SCALAR ? "scalar" :
					type == VF_YNODE_MAP ? "mapping" : "list");
	}
	return vf_yaml__problem(p, VF_E_SCHEMA, pos,
				"unsupported tag \"%s\"; only the standard YAML tags (!!str, !!int, !!bool, "
				"!!float, !!null, !!map, !!seq) are allowed", tag);
}

static vf_ynode *vf_yaml__find_anchor(vf_yparser *p, const char *name)
{
	/* the latest definition of a name wins, as YAML says */
	for (size_t i = p->n_anchors; i-- > 0;)
		if (strcmp(p->anchors[i].name, name) == 0)
			return p->anchors[i].node;
	return NULL;
}

static void vf_yaml__anchor(vf_yparser *p, const char *name, vf_ynode *node)
{
	if (!name)
		return;
	vf_anchor a = { .name = vf_strdup(name), .node = node };
	VF_APPEND(p->anchors, p->n_anchors, p->cap_anchors, a);
}

/* Attach a finished node to the open collection (or make it the root). */
static void vf_yaml__attach(vf_yparser *p, vf_ynode *n)
{
	if (p->depth == 0) {
		p->doc_root = n;
		return;
	}
	vf_ynode *parent = p->stack[p->depth - 1];
	parent->weight += n->weight;
	if (parent->type == VF_YNODE_SEQ) {
		VF_APPEND(parent->items, parent->n_items, parent->cap_items, n);
	} else if (!p->stack_key[p->depth - 1]) {
		p->stack_key[p->depth - 1] = n;
	} else {
		vf_ypair pair = { .key = p->stack_key[p->depth - 1], .value = n };
		VF_APPEND(parent->pairs, parent->n_pairs, parent->cap_pairs, pair);
		p->stack_key[p->depth - 1] = NULL;
	}
}

static int vf_yaml__key_cmp(const void *a, const void *b)
{
	const vf_ypair *x = *(const vf_ypair *const *)a, *y = *(const vf_ypair *const *)b;
	size_t n = x->key->len < y->key->len ? x->key->len : y->key->len;
	int c = memcmp(x->key->value, y->key->value, n);
	if (c)
		return c;
	if (x->key->len != y->key->len)
		return x->key->len < y->key->len ? -1 : 1;
	return x < y ? -1 : x > y ? 1 : 0;   /* pairs are in document order */
}

/* Keys must be unique (YAML says so; libyaml does not check). Sorting keeps
 * this O(n log n) for hostile mappings. */
static void vf_yaml__check_keys(vf_yparser *p, const vf_ynode *map)
{
	_cleanup_free_ const vf_ypair **sorted = NULL;
	size_t n = 0;
	if (map->n_pairs < 2)
		return;
	sorted = vf_calloc(map->n_pairs, sizeof(*sorted));
	for (size_t i = 0; i < map->n_pairs; i++)
		if (map->pairs[i].key->type == VF_YNODE_SCALAR)
			sorted[n++] = &map->pairs[i];
	qsort(sorted, n, sizeof(*sorted), vf_yaml__key_cmp);
	for (size_t i = 1; i < n; i++) {
		const vf_ynode *k = sorted[i]->key, *prev = sorted[i - 1]->key;
		if (k->len == prev->len && memcmp(k->value, prev->value, k->len) == 0) {
			/* find the first occurrence of this key for the message */
			size_t j = i - 1;
			while (j > 0 && sorted[j - 1]->key->len == k->len &&
			       memcmp(sorted[j - 1]->key->value, k->value, k->len) == 0)
				j--;
			vf_yaml__problem(p, VF_E_SCHEMA, k->pos, "duplicate key \"%.*s\"; first given at line %d",
					 (int)(k->len > 64 ? 64 : k->len), k->value, sorted[j]->key->pos.line);
		}
	}
}

static void vf_yaml__reset_doc(vf_yparser *p)
{
	for (size_t i = 0; i < p->depth; i++) {
		free(p->stack_anchor[i]);
		p->stack_anchor[i] = NULL;
		p->stack_key[i] = NULL;
	}
	p->depth = 0;
	p->doc_root = NULL;
	for (size_t i = 0; i < p->n_anchors; i++)
		free(p->anchors[i].name);
	p->n_anchors = 0;   /* anchors never cross documents */
}

/* Handle one event; returns false to stop (a fatal problem was recorded). */
static bool vf_yaml__event(vf_yparser *p, const yaml_event_t *ev)
{
	vf_pos pos = vf_yaml__mark(p, ev->start_mark);
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		vf_yaml__reset_doc(p);
		p->doc_pos = pos;
		return true;
	case YAML_DOCUMENT_END_EVENT: {
		vf_ydoc d = { .root = p->doc_root, .pos = p->doc_pos };
		VF_APPEND(p->out->docs, p->out->n_docs, p->out->cap_docs, d);
		vf_yaml__reset_doc(p);
		return true;
	}
	case YAML_SCALAR_EVENT: {
		if (p->out->n_nodes >= VF_YAML_MAX_NODES) {
			vf_yaml__problem(p, VF_E_LIMIT, pos, "file has more than %d YAML nodes", VF_YAML_MAX_NODES);
			return false;
		}
		vf_ynode *n = vf_yaml__node(p, VF_YNODE_SCALAR, pos);
		n->len = ev->data.scalar.length;
		n->value = vf_malloc(n->len + 1);
		memcpy(n->value, ev->data.scalar.value, n->len);
		n->value[n->len] = '\0';
		const char *tag = (const char *)ev->data.scalar.tag;
		vf_yaml__check_tag(p, tag, VF_YNODE_SCALAR, pos);
		n->literal = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE;
		if (tag && strcmp(tag, "!") != 0)
			n->plain = strcmp(tag, "tag:yaml.org,2002:str") != 0;
		else
			n->plain = !tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		vf_yaml__anchor(p, (const char *)ev->data.scalar.anchor, n);
		vf_yaml__attach(p, n);
		return true;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
		if (p->depth >= VF_YAML_MAX_DEPTH) {
			vf_yaml__problem(p, VF_E_LIMIT, pos, "YAML nested deeper than %d levels",
					 VF_YAML_MAX_DEPTH);
			return false;
		}
		if (p->out->n_nodes >= VF_YAML_MAX_NODES) {
			vf_yaml__problem(p, VF_E_LIMIT, pos, "file has more than %d YAML nodes", VF_YAML_MAX_NODES);
			return false;
		}
		vf_ynode *n = vf_yaml__node(p, seq ? VF_YNODE_SEQ : VF_YNODE_MAP, pos);
		const char *tag = (const char *)(seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag);
		const char *anchor = (const char *)(seq ? ev->data.sequence_start.anchor
						     : ev->data.mapping_start.anchor);
		vf_yaml__check_tag(p, tag, n->type, pos);
		p->stack[p->depth] = n;
		p->stack_anchor[p->depth] = vf_strdup(anchor);
		p->stack_key[p->depth] = NULL;
		p->depth++;
		return true;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: {
		if (p->depth == 0)
			return true;
		p->depth--;
		vf_ynode *n = p->stack[p->depth];
		if (n->type == VF_YNODE_MAP)
			vf_yaml__check_keys(p, n);
		/* registered only once complete, so `&a [*a]` is an undefined alias */
		vf_yaml__anchor(p, p->stack_anchor[p->depth], n);
		free(p->stack_anchor[p->depth]);
		p->stack_anchor[p->depth] = NULL;
		vf_yaml__attach(p, n);
		return true;
	}
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		vf_ynode *target = vf_yaml__find_anchor(p, name);
		if (!target) {
			vf_yaml__problem(p, VF_E_SYNTAX, pos, "undefined alias \"*%s\"", name);
			return false;
		}
		if (++p->n_aliases > VF_YAML_MAX_ALIASES) {
			vf_yaml__problem(p, VF_E_LIMIT, pos, "more than %d alias references in one file",
					 VF_YAML_MAX_ALIASES);
			return false;
		}
		p->expansion += target->weight;
		if (p->expansion > VF_YAML_MAX_EXPANSION) {
			vf_yaml__problem(p, VF_E_LIMIT, pos,
					 "aliases expand to more than %d nodes; refusing a possible \"billion laughs\" document",
					 VF_YAML_MAX_EXPANSION);
			return false;
		}
		vf_yaml__attach(p, target);
		return true;
	}
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_NO_EVENT:
	default:
		return true;
	}
}

int vf_yaml_parse(const char *file, const char *text, size_t len, vf_ystream *out,
		  vf_diags *diags)
{
	vf_yparser p = { .file = file, .text = text, .len = len, .out = out, .diags = diags };
	yaml_parser_t yp;
	if (!yaml_parser_initialize(&yp))
		abort();
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&yp, &ev)) {
			vf_yaml__parser_error(&p, &yp);
			break;
		}
		bool go_on = vf_yaml__event(&p, &ev);
		bool end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (!go_on || end)
			break;
	}
	yaml_parser_delete(&yp);
	vf_yaml__reset_doc(&p);
	free(p.anchors);
	return p.rc;
}

void vf_ystream_free(vf_ystream *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_nodes; i++) {
		vf_ynode *n = s->nodes[i];
		free(n->value);
		free(n->pairs);
		free(n->items);
		free(n);
	}
	free(s->nodes);
	free(s->docs);
	*s = (vf_ystream){ 0 };
}

/* The pair of `map` whose key is the scalar `key`; NULL if none. */
static const vf_ypair *vf_ynode__pair(const vf_ynode *map, const char *key)
{
	if (!map || map->type != VF_YNODE_MAP)
		return NULL;
	size_t kl = strlen(key);
	for (size_t i = 0; i < map->n_pairs; i++) {
		const vf_ynode *k = map->pairs[i].key;
		if (k->type == VF_YNODE_SCALAR && k->len == kl && memcmp(k->value, key, kl) == 0)
			return &map->pairs[i];
	}
	return NULL;
}

const vf_ynode *vf_ynode_key(const vf_ynode *map, const char *key)
{
	const vf_ypair *p = vf_ynode__pair(map, key);
	return p ? p->key : NULL;
}

const vf_ynode *vf_ynode_get(const vf_ynode *map, const char *key)
{
	const vf_ypair *p = vf_ynode__pair(map, key);
	return p ? p->value : NULL;
}

bool vf_ynode_is_null(const vf_ynode *n)
{
	if (!n || n->type != VF_YNODE_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
	       strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}
