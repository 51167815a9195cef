/* decode.c: turns one parsed YAML document into a vf_object, strictly: every
 * unknown field, wrong type, bad value and missing field is reported at its
 * node, and decoding carries on so one run shows every problem. Holds the
 * envelope and metadata, and walks the kinds (decode_kind.h): each kind's
 * spec is its file's, decode_pool.c, decode_volume.c, decode_domain.c.
 * Not for reading files or finding duplicates across documents (manifest.c). */
#include <ctype.h>

#include "controller/load/decode_kind.h"

/* ---- kinds -------------------------------------------------------------- */

/* Every kind a manifest may declare, in the order messages list them. */
static const vf_dec_kind *const vf_dec_kinds[] = {
	&vf_dec_kind_pool,
	&vf_dec_kind_volume,
	&vf_dec_kind_domain,
	&vf_dec_kind_network,
};
#define VF_DEC_N_KINDS VF_ARRAY_SIZE(vf_dec_kinds)

static const vf_dec_kind *vf_dec__kind(const char *name)
{
	for (size_t i = 0; i < VF_DEC_N_KINDS; i++)
		if (strcmp(vf_dec_kinds[i]->name, name) == 0)
			return vf_dec_kinds[i];
	return NULL;
}

/* "StoragePool, Volume, Domain" (last ", ") or "StoragePool, Volume or
 * Domain" (last " or "). Caller frees. */
static char *vf_dec__kind_list(const char *last)
{
	vf_buf b = { 0 };
	for (size_t i = 0; i < VF_DEC_N_KINDS; i++) {
		if (i)
			vf_buf_add(&b, i + 1 == VF_DEC_N_KINDS ? last : ", ");
		vf_buf_add(&b, vf_dec_kinds[i]->name);
	}
	return vf_buf_steal(&b);
}

/* ---- metadata ----------------------------------------------------------- */

static void vf_dec__kvs(vf_dec *d, const vf_ynode *n, const char *path, vf_kv **kv, size_t *n_kv)
{
	if (!vf_dec__map(d, n, path))
		return;
	size_t cap = 0;
	for (size_t i = 0; i < n->n_pairs; i++) {
		_cleanup_free_ char *kpath = vf_asprintf("keys in %s", path);
		char *key = NULL, *value = NULL;
		if (!vf_dec__str(d, n->pairs[i].key, kpath, &key))
			continue;
		_cleanup_free_ char *vpath = vf_asprintf("%s.%s", path, key);
		if (!vf_dec__str(d, n->pairs[i].value, vpath, &value)) {
			free(key);
			continue;
		}
		vf_kv e = { .key = key, .value = value };
		VF_APPEND(*kv, *n_kv, cap, e);
	}
}

/* ---- documents ---------------------------------------------------------- */

static void vf_dec__metadata(vf_dec *d, const vf_ynode *md, vf_object *o)
{
	static const char *const fields[] = { "name", "labels", "annotations", NULL };
	if (!vf_dec__map(d, md, "metadata"))
		return;
	vf_dec__fields(d, md, fields, "metadata");
	const vf_ynode *v;
	if ((v = vf_ynode_get(md, "name"))) {
		o->name_pos = v->pos;
		vf_dec__name(d, v, "metadata.name", &o->name);
	} else {
		vf_dec__missing(d, md, "name", "metadata", NULL);
	}
	if ((v = vf_ynode_get(md, "labels")))
		vf_dec__kvs(d, v, "metadata.labels", &o->labels, &o->n_labels);
	if ((v = vf_ynode_get(md, "annotations")))
		vf_dec__kvs(d, v, "metadata.annotations", &o->annotations, &o->n_annotations);
}

int vf_decode_document(const vf_ydoc *doc, const char *file, vf_desired *out, vf_diags *diags)
{
	static const char *const fields[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	const vf_ynode *root = doc->root;
	if (!root || vf_ynode_is_null(root))
		return 0;   /* an empty document, such as a trailing `---` */
	vf_dec d = { .file = file, .diags = diags };
	if (root->type != VF_YNODE_MAP) {
		vf_dec__fail(&d, VF_E_SCHEMA, root->pos,
			     "a manifest must be a mapping with apiVersion, kind, metadata and spec, not %s",
			     vf_dec__type_of(root));
		return d.rc;
	}
	vf_dec__fields(&d, root, fields, "the manifest");
	const vf_ynode *v;
	char *s = NULL;
	if ((v = vf_ynode_get(root, "apiVersion"))) {
		if (vf_dec__str(&d, v, "apiVersion", &s) && strcmp(s, VF_MANIFEST_API_VERSION) != 0) {
			_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
			vf_dec__fail(&d, VF_E_SCHEMA, v->pos, "unsupported apiVersion %s (use " VF_MANIFEST_API_VERSION ")", q);
		}
		free(s);
	} else {
		vf_dec__missing(&d, root, "apiVersion", "the manifest", " (use " VF_MANIFEST_API_VERSION ")");
	}
	vf_object o = { .kind = VF_KIND_MAX, .pos = doc->pos };
	const vf_dec_kind *kind = NULL;
	if ((v = vf_ynode_get(root, "kind"))) {
		if (vf_dec__str(&d, v, "kind", &s)) {
			kind = vf_dec__kind(s);
			if (!kind) {
				const char *names[VF_DEC_N_KINDS];
				for (size_t i = 0; i < VF_DEC_N_KINDS; i++)
					names[i] = vf_dec_kinds[i]->name;
				_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
				_cleanup_free_ char *known = vf_dec__kind_list(", ");
				const char *hint = vf_dec__suggest(s, names, VF_DEC_N_KINDS);
				if (hint)
					vf_dec__fail(&d, VF_E_SCHEMA, v->pos,
						     "unknown kind %s; did you mean \"%s\"? (known kinds: %s)",
						     q, hint, known);
				else
					vf_dec__fail(&d, VF_E_SCHEMA, v->pos,
						     "unknown kind %s (known kinds: %s)", q, known);
			} else {
				o.kind = kind->kind;
			}
			free(s);
		}
	} else {
		_cleanup_free_ char *use = vf_dec__kind_list(" or ");
		_cleanup_free_ char *why = vf_asprintf(" (use %s)", use);
		vf_dec__missing(&d, root, "kind", "the manifest", why);
	}
	if ((v = vf_ynode_get(root, "metadata")))
		vf_dec__metadata(&d, v, &o);
	else
		vf_dec__missing(&d, root, "metadata", "the manifest", " (metadata.name names the object)");
	d.kind = vf_kind_to_string(o.kind);
	const vf_ynode *spec = vf_ynode_get(root, "spec");
	if (!spec)
		vf_dec__missing(&d, root, "spec", "the manifest", NULL);
	else if (o.kind != VF_KIND_MAX && vf_dec__map(&d, spec, "spec")) {
		kind->spec(&d, spec, &o);
	}
	if (d.rc < 0 || o.kind == VF_KIND_MAX) {
		if (o.kind == VF_KIND_MAX)
			o.kind = VF_KIND_POOL;   /* nothing kind-specific was filled in */
		vf_object_clear(&o);
		return d.rc;
	}
	kind->identity(&o);
	VF_APPEND(out->objs, out->n, out->cap, o);
	return 0;
}
