/* xmldiff.c: subset comparison of two XML documents with libxml2, for
 * drift on raw-XML domains. Child elements are matched by name plus the
 * identifying attributes the manifest gives (dev, name, type, ...), in
 * order; libvirt's additions (addresses, controllers, seclabels) simply
 * have no counterpart in the manifest and so are never reported.
 * Scaled integers (<memory unit='MiB'>) compare by value, not by spelling. */
#include "controller/plan/xmldiff.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

/* Attributes that say which element this is, not what it is set to. */
static const char *const vf_xmldiff__id_attrs[] = { "dev", "name", "type", "id", "index",
						    "bus", "model", "port", "address" };
/* Child elements whose attributes identify the parent (disk -> target dev). */
static const struct {
	const char *parent, *child, *attr;
} vf_xmldiff__id_children[] = {
	{ "disk", "target", "dev" },
	{ "interface", "mac", "address" },
	{ "interface", "source", "network" },
	{ "interface", "source", "bridge" },
};

typedef struct vf_xmldiff_ctx {
	const char *const *ignore;
	size_t n_ignore;
	vf_xmldiff_list *out;
	bool tolerant;            /* subset mode: machine aliases match their canonical names */
	bool absent_only;         /* the reverse pass of an exact diff: report only what `have` lacks */
	bool swap;                /* ...with old and new swapped, so entries still read have → want */
} vf_xmldiff_ctx;

static void vf_xmldiff__add(vf_xmldiff_ctx *c, const char *path, const char *old_value,
			    const char *new_value)
{
	if (c->absent_only && old_value)
		return; /* a differing value: the forward pass has it */
	if (c->swap) {
		const char *t = old_value;
		old_value = new_value;
		new_value = t;
	}
	vf_xmldiff d = {
		.path = vf_strdup(path),
		.old_value = vf_strdup(old_value),
		.new_value = vf_strdup(new_value),
	};
	VF_APPEND(c->out->items, c->out->n, c->out->cap, d);
}

static bool vf_xmldiff__ignored(const vf_xmldiff_ctx *c, const char *path)
{
	for (size_t i = 0; i < c->n_ignore; i++)
		if (strcmp(c->ignore[i], path) == 0)
			return true;
	return false;
}

static const char *vf_xmldiff__name(const xmlNode *n)
{
	return (const char *)n->name;
}

/* An attribute's value, owned by the caller (xmlFree), or NULL. */
static char *vf_xmldiff__attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

static const xmlNode *vf_xmldiff__child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp(vf_xmldiff__name(c), name) == 0)
			return c;
	return NULL;
}

static bool vf_xmldiff__has_element_children(const xmlNode *n)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return true;
	return false;
}

/* The element's text with surrounding white space trimmed; caller frees. */
static char *vf_xmldiff__text(const xmlNode *n)
{
	xmlChar *raw = xmlNodeGetContent(n);
	if (!raw)
		return vf_strdup("");
	const char *s = (const char *)raw;
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	char *r = vf_strndup(s, len);
	xmlFree(raw);
	return r;
}

bool vf_xmldiff_machine_matches(const char *want, const char *have)
{
	if (!want || !have)
		return want == have;
	if (strcmp(want, have) == 0)
		return true;
	_cleanup_free_ char *p1 = vf_asprintf("%s-", want);
	_cleanup_free_ char *p2 = vf_asprintf("pc-%s-", want);
	if (strncmp(have, p1, strlen(p1)) == 0 || strncmp(have, p2, strlen(p2)) == 0)
		return true;
	return strcmp(want, "pc") == 0 && strncmp(have, "pc-i440fx-", 10) == 0;
}

/* An unsigned integer as libvirt writes them: decimal, or hex after 0x. */
static bool vf_xmldiff__uint(const char *s, unsigned long long *out)
{
	if (!s || !*s || !(isdigit((unsigned char)*s)))
		return false;
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(hex ? s + 2 : s, &end, hex ? 16 : 10);
	if (errno || !end || *end || end == (hex ? s + 2 : s))
		return false;
	*out = v;
	return true;
}

/* Equal, or the same number spelled in another base (slot='0x12' is
 * slot='18'), or (tolerant) a machine alias and its canonical name. */
static bool vf_xmldiff__value_eq(const vf_xmldiff_ctx *c, const char *name, const char *want,
				 const char *have)
{
	if (vf_streq_null(want, have))
		return true;
	if (!want || !have)
		return false;
	unsigned long long a, b;
	if (vf_xmldiff__uint(want, &a) && vf_xmldiff__uint(have, &b))
		return a == b;
	return c->tolerant && name && strcmp(name, "machine") == 0 &&
	       vf_xmldiff_machine_matches(want, have);
}

static bool vf_xmldiff__attr_eq(const xmlNode *a, const xmlNode *b, const char *name)
{
	char *va = vf_xmldiff__attr(a, name);
	char *vb = vf_xmldiff__attr(b, name);
	bool eq = vf_streq_null(va, vb);
	xmlFree(va);
	xmlFree(vb);
	return eq;
}

/* Does `have` carry every identifying attribute `want` gives? */
static bool vf_xmldiff__same_identity(const xmlNode *want, const xmlNode *have)
{
	for (size_t i = 0; i < VF_ARRAY_SIZE(vf_xmldiff__id_attrs); i++) {
		char *w = vf_xmldiff__attr(want, vf_xmldiff__id_attrs[i]);
		if (!w)
			continue;
		xmlFree(w);
		if (!vf_xmldiff__attr_eq(want, have, vf_xmldiff__id_attrs[i]))
			return false;
	}
	for (size_t i = 0; i < VF_ARRAY_SIZE(vf_xmldiff__id_children); i++) {
		if (strcmp(vf_xmldiff__id_children[i].parent, vf_xmldiff__name(want)) != 0)
			continue;
		const xmlNode *wc = vf_xmldiff__child(want, vf_xmldiff__id_children[i].child);
		if (!wc)
			continue;
		char *w = vf_xmldiff__attr(wc, vf_xmldiff__id_children[i].attr);
		if (!w)
			continue;
		xmlFree(w);
		const xmlNode *hc = vf_xmldiff__child(have, vf_xmldiff__id_children[i].child);
		if (!hc || !vf_xmldiff__attr_eq(wc, hc, vf_xmldiff__id_children[i].attr))
			return false;
	}
	return true;
}

/* libvirt's scaled integers: value and unit to bytes. Units default to KiB
 * in domain XML. Returns false when `text` is not a number. */
static bool vf_xmldiff__scaled(const char *text, const char *unit, long double *out)
{
	if (!text || !*text)
		return false;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end)
		return false;
	static const struct {
		const char *unit;
		long double scale;
	} units[] = {
		{ "b", 1 },          { "bytes", 1 },       { "KB", 1e3 },        { "k", 1024.0L },
		{ "KiB", 1024.0L },  { "MB", 1e6 },        { "M", 1048576.0L },  { "MiB", 1048576.0L },
		{ "GB", 1e9 },       { "G", 1073741824.0L }, { "GiB", 1073741824.0L },
		{ "TB", 1e12 },      { "T", 1099511627776.0L }, { "TiB", 1099511627776.0L },
	};
	long double scale = 0;
	if (!unit) {
		scale = 1024.0L;
	} else {
		for (size_t i = 0; i < VF_ARRAY_SIZE(units); i++)
			if (strcmp(units[i].unit, unit) == 0)
				scale = units[i].scale;
	}
	if (scale == 0)
		return false;
	*out = (long double)v * scale;
	return true;
}

static void vf_xmldiff__node(vf_xmldiff_ctx *c, const xmlNode *want, const xmlNode *have,
			     const char *path);

/* Compare text (and unit, for scaled integers) of two leaf elements. */
static void vf_xmldiff__leaf(vf_xmldiff_ctx *c, const xmlNode *want, const xmlNode *have,
			     const char *path, bool *ret_unit_done)
{
	_cleanup_free_ char *wt = vf_xmldiff__text(want);
	_cleanup_free_ char *ht = vf_xmldiff__text(have);
	char *wu = vf_xmldiff__attr(want, "unit");
	char *hu = vf_xmldiff__attr(have, "unit");
	long double wv, hv;
	*ret_unit_done = false;
	if ((wu || hu) && vf_xmldiff__scaled(wt, wu, &wv) && vf_xmldiff__scaled(ht, hu, &hv)) {
		*ret_unit_done = true;
		if (wv != hv) {
			_cleanup_free_ char *o = hu ? vf_asprintf("%s %s", ht, hu) : vf_strdup(ht);
			_cleanup_free_ char *n = wu ? vf_asprintf("%s %s", wt, wu) : vf_strdup(wt);
			vf_xmldiff__add(c, path, o, n);
		}
	} else if (*wt && !vf_xmldiff__value_eq(c, NULL, wt, ht)) {
		vf_xmldiff__add(c, path, *ht ? ht : NULL, wt);
	}
	xmlFree(wu);
	xmlFree(hu);
}

static void vf_xmldiff__attrs(vf_xmldiff_ctx *c, const xmlNode *want, const xmlNode *have,
			      const char *path, bool skip_unit)
{
	for (const xmlAttr *a = want->properties; a; a = a->next) {
		const char *name = (const char *)a->name;
		if (skip_unit && strcmp(name, "unit") == 0)
			continue;
		_cleanup_free_ char *apath = vf_asprintf("%s/@%s", path, name);
		if (vf_xmldiff__ignored(c, apath))
			continue;
		char *wv = vf_xmldiff__attr(want, name);
		char *hv = vf_xmldiff__attr(have, name);
		if (!vf_xmldiff__value_eq(c, name, wv, hv))
			vf_xmldiff__add(c, apath, hv, wv);
		xmlFree(wv);
		xmlFree(hv);
	}
}

static size_t vf_xmldiff__count_named(const xmlNode *parent, const char *name)
{
	size_t n = 0;
	for (const xmlNode *k = parent->children; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE && strcmp(vf_xmldiff__name(k), name) == 0)
			n++;
	return n;
}

static void vf_xmldiff__children(vf_xmldiff_ctx *c, const xmlNode *want, const xmlNode *have,
				 const char *path)
{
	/* Live children already matched, so two manifest disks never pair
	 * with one live disk. */
	size_t n_have = 0;
	for (const xmlNode *k = have->children; k; k = k->next)
		n_have++;
	_cleanup_free_ bool *used = vf_calloc(n_have ? n_have : 1, sizeof(bool));

	for (const xmlNode *w = want->children; w; w = w->next) {
		if (w->type != XML_ELEMENT_NODE)
			continue;
		const char *name = vf_xmldiff__name(w);
		size_t nth = 1;
		for (const xmlNode *p = want->children; p != w; p = p->next)
			if (p->type == XML_ELEMENT_NODE && strcmp(vf_xmldiff__name(p), name) == 0)
				nth++;
		_cleanup_free_ char *cpath = vf_xmldiff__count_named(want, name) > 1
			? vf_asprintf("%s/%s[%zu]", path, name, nth)
			: vf_asprintf("%s/%s", path, name);
		_cleanup_free_ char *plain = vf_asprintf("%s/%s", path, name);
		if (vf_xmldiff__ignored(c, plain) || vf_xmldiff__ignored(c, cpath))
			continue;

		/* First unused live sibling of that name with the same identity,
		 * else the first unused one of that name (its differences are then
		 * reported attribute by attribute). */
		const xmlNode *match = NULL, *fallback = NULL;
		size_t mi = 0, fi = 0, i = 0;
		for (const xmlNode *h = have->children; h; h = h->next, i++) {
			if (h->type != XML_ELEMENT_NODE || used[i] ||
			    strcmp(vf_xmldiff__name(h), name) != 0)
				continue;
			if (!fallback) {
				fallback = h;
				fi = i;
			}
			if (vf_xmldiff__same_identity(w, h)) {
				match = h;
				mi = i;
				break;
			}
		}
		if (!match) {
			match = fallback;
			mi = fi;
		}
		if (!match) {
			_cleanup_free_ char *tag = vf_asprintf("<%s>", name);
			vf_xmldiff__add(c, cpath, NULL, tag);
			continue;
		}
		used[mi] = true;
		vf_xmldiff__node(c, w, match, cpath);
	}
}

static void vf_xmldiff__node(vf_xmldiff_ctx *c, const xmlNode *want, const xmlNode *have,
			     const char *path)
{
	bool unit_done = false;
	if (!vf_xmldiff__has_element_children(want))
		vf_xmldiff__leaf(c, want, have, path, &unit_done);
	vf_xmldiff__attrs(c, want, have, path, unit_done);
	vf_xmldiff__children(c, want, have, path);
}

static xmlDoc *vf_xmldiff__parse(const char *text)
{
	return xmlReadMemory(text, (int)strlen(text), "virtform.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
				     XML_PARSE_NOWARNING);
}

/* One pass of `want` against `have`; both parse, or *err says which not. */
static int vf_xmldiff__run(vf_xmldiff_ctx *c, const char *want, const char *have, vf_error *err)
{
	xmlDoc *wd = want ? vf_xmldiff__parse(want) : NULL;
	if (!wd)
		return vf_error_set(err, VF_E_SCHEMA, "the manifest's XML does not parse");
	xmlDoc *hd = have ? vf_xmldiff__parse(have) : NULL;
	if (!hd) {
		xmlFreeDoc(wd);
		return vf_error_set(err, VF_E_DRIVER, "the live XML does not parse");
	}
	const xmlNode *wr = xmlDocGetRootElement(wd);
	const xmlNode *hr = xmlDocGetRootElement(hd);
	_cleanup_free_ char *root = vf_asprintf("/%s", vf_xmldiff__name(wr));
	if (strcmp(vf_xmldiff__name(wr), vf_xmldiff__name(hr)) != 0) {
		_cleanup_free_ char *o = vf_asprintf("<%s>", vf_xmldiff__name(hr));
		_cleanup_free_ char *n = vf_asprintf("<%s>", vf_xmldiff__name(wr));
		vf_xmldiff__add(c, root, o, n);
	} else {
		vf_xmldiff__node(c, wr, hr, root);
	}
	xmlFreeDoc(wd);
	xmlFreeDoc(hd);
	return 0;
}

int vf_xmldiff_subset(const char *want, const char *have, const char *const *ignore,
		      size_t n_ignore, vf_xmldiff_list *out, vf_error *err)
{
	vf_xmldiff_ctx c = { .ignore = ignore, .n_ignore = n_ignore, .out = out, .tolerant = true };
	return vf_xmldiff__run(&c, want, have, err);
}

int vf_xmldiff_exact(const char *want, const char *have, const char *const *ignore,
		     size_t n_ignore, vf_xmldiff_list *out, vf_error *err)
{
	vf_xmldiff_ctx c = { .ignore = ignore, .n_ignore = n_ignore, .out = out };
	int r = vf_xmldiff__run(&c, want, have, err);
	if (r < 0)
		return r;
	/* what `have` has and `want` lacks: the same walk the other way round */
	vf_xmldiff_ctx back = { .ignore = ignore, .n_ignore = n_ignore, .out = out,
				.absent_only = true, .swap = true };
	return vf_xmldiff__run(&back, have, want, err);
}

void vf_xmldiff_list_free(vf_xmldiff_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].path);
		free(l->items[i].old_value);
		free(l->items[i].new_value);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int vf_xmldiff_recorded(const char *want, const char *want_hash, const vf_xml_record *rec,
			const char *have_bare, const char *have_digest, const char *const *ignore_m,
			size_t n_ignore_m, vf_xmldiff_list *out, size_t *ret_n_manifest,
			bool *ret_live_side, vf_error *err)
{
	bool same_manifest = rec->digest && vf_streq(rec->digest, want_hash);
	bool same_live = rec->normalised_digest && have_digest &&
			 vf_streq(rec->normalised_digest, have_digest);
	*ret_n_manifest = 0;
	*ret_live_side = false;
	if (!rec->digest || !have_digest || !(same_manifest || rec->manifest) ||
	    !(same_live || (rec->normalised && have_bare)))
		return 0;
	int r;
	if (!same_manifest && (r = vf_xmldiff_exact(want, rec->manifest, ignore_m, n_ignore_m, out, err)) < 0)
		return r;
	*ret_n_manifest = out->n;
	if (!same_live && (r = vf_xmldiff_exact(rec->normalised, have_bare, NULL, 0, out, err)) < 0) {
		*ret_live_side = true;
		return r;
	}
	return 1;
}
