/* decode_value.c: the typed readers every kind's decoder builds on: strings,
 * names, booleans, whole numbers, enums, sizes, UUIDs, paths and {pool, name}
 * references, each reporting a problem at its node and carrying on. Also the
 * messages for unknown, missing and mutually exclusive fields.
 * Not for what a field means to a kind (decode.c, decode_domain.c). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "controller/load/decode_value.h"

void vf_dec__fail(vf_dec *d, vf_code code, vf_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vf_diag_addv(d->diags, code, pos, fmt, ap);
	va_end(ap);
	if (!d->rc)
		d->rc = r;
}

/* Map `n` (at `path`) sets both of two fields that exclude each other:
 * report it at whichever key comes later, the one most likely added last. */
void vf_dec__both(vf_dec *d, const vf_ynode *n, const char *path, const char *a,
		  const char *b)
{
	const vf_ynode *ka = vf_ynode_key(n, a), *kb = vf_ynode_key(n, b);
	vf_dec__fail(d, VF_E_SCHEMA, ka->pos.line > kb->pos.line ? ka->pos : kb->pos,
		     "%s has both %s and %s; give exactly one", path, a, b);
}

/* A value parser's message, placed at the node. */
void vf_dec__fail_err(vf_dec *d, vf_pos pos, vf_error *err)
{
	vf_dec__fail(d, err->code, pos, "%s", err->message);
	vf_error_clear(err);
}

bool vf_dec__is_bool(const vf_ynode *n)
{
	return n->type == VF_YNODE_SCALAR && n->plain &&
	       (strcmp(n->value, "true") == 0 || strcmp(n->value, "false") == 0);
}

/* YAML 1.2 core-schema numbers: 12, -3, 1.5, 1e3, 0x1f, 0o17, .inf, .nan */
bool vf_dec__is_number(const vf_ynode *n)
{
	if (n->type != VF_YNODE_SCALAR || !n->plain)
		return false;
	const char *s = n->value;
	if (strcmp(s, ".inf") == 0 || strcmp(s, "-.inf") == 0 || strcmp(s, ".nan") == 0)
		return true;
	if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) && s[2])
		return strspn(s + 2, "0123456789abcdefABCDEF") == strlen(s + 2);
	if (*s == '-' || *s == '+')
		s++;
	size_t digits = strspn(s, "0123456789");
	s += digits;
	if (*s == '.') {
		size_t f = strspn(s + 1, "0123456789");
		digits += f;
		s += 1 + f;
	}
	if (digits == 0)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		size_t e = strspn(s, "0123456789");
		if (!e)
			return false;
		s += e;
	}
	return *s == '\0';
}

const char *vf_dec__type_of(const vf_ynode *n)
{
	if (n->type == VF_YNODE_MAP)
		return "a mapping";
	if (n->type == VF_YNODE_SEQ)
		return "a list";
	if (vf_ynode_is_null(n))
		return "null";
	if (vf_dec__is_bool(n))
		return "a boolean";
	if (vf_dec__is_number(n))
		return "a number";
	return "a string";
}

const char *vf_dec__suggest(const char *word, const char *const *choices, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3;    /* suggest at distance 2 or less */
	for (size_t i = 0; i < n; i++) {
		if (!choices[i])
			continue;
		if (strcasecmp(word, choices[i]) == 0)
			return choices[i];
		size_t dist = vf_edit_distance(word, choices[i]);
		if (dist < best_d && dist < strlen(word)) {
			best = choices[i];
			best_d = dist;
		}
	}
	return best;
}

/* "a, b or c" */
static char *vf_dec__choices(const char *const *choices, size_t n)
{
	vf_buf b = { 0 };
	for (size_t i = 0; i < n; i++)
		vf_buf_printf(&b, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", choices[i]);
	return vf_buf_steal(&b);
}

/* Report every key of `map` not in `known` (NULL-terminated); `where` names
 * the mapping ("Domain spec.disks[0]"). */
void vf_dec__fields(vf_dec *d, const vf_ynode *map, const char *const *known, const char *where)
{
	size_t n_known = 0;
	while (known[n_known])
		n_known++;
	for (size_t i = 0; i < map->n_pairs; i++) {
		const vf_ynode *k = map->pairs[i].key;
		if (k->type != VF_YNODE_SCALAR) {
			vf_dec__fail(d, VF_E_SCHEMA, k->pos, "keys in %s must be field names, not %s", where,
				     vf_dec__type_of(k));
			continue;
		}
		bool found = false;
		for (size_t j = 0; j < n_known && !found; j++)
			found = strlen(known[j]) == k->len && strcmp(known[j], k->value) == 0;
		if (found)
			continue;
		_cleanup_free_ char *q = vf_decode_quote(k->value, k->len);
		const char *hint = vf_dec__suggest(k->value, known, n_known);
		if (hint)
			vf_dec__fail(d, VF_E_SCHEMA, k->pos, "unknown field %s in %s; did you mean \"%s\"?", q,
				     where, hint);
		else
			vf_dec__fail(d, VF_E_SCHEMA, k->pos, "unknown field %s in %s", q, where);
	}
}

void vf_dec__missing(vf_dec *d, const vf_ynode *map, const char *field, const char *where,
		     const char *why)
{
	/* A misspelling of it ("taget") was reported already as an unknown
	 * field, with "did you mean" naming this one: a second error at the
	 * map says nothing new. Only a key already reported as unknown
	 * counts, so a valid neighbour never hides the missing field. */
	const char *const only[] = { field, NULL };
	for (size_t i = 0; map->type == VF_YNODE_MAP && i < map->n_pairs; i++) {
		const vf_ynode *k = map->pairs[i].key;
		if (k->type != VF_YNODE_SCALAR || !vf_dec__suggest(k->value, only, 1))
			continue;
		for (size_t j = 0; j < d->diags->n; j++) {
			const vf_error *e = &d->diags->items[j];
			if (e->pos.line == k->pos.line && e->pos.col == k->pos.col &&
			    vf_streq(e->pos.file, k->pos.file) && e->message &&
			    strncmp(e->message, "unknown field ", 14) == 0)
				return;
		}
	}
	vf_dec__fail(d, VF_E_SCHEMA, map->pos, "missing required field \"%s\" in %s%s", field, where,
		     why ? why : "");
}

bool vf_dec__map(vf_dec *d, const vf_ynode *n, const char *path)
{
	if (n->type == VF_YNODE_MAP)
		return true;
	vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a mapping, not %s", path, vf_dec__type_of(n));
	return false;
}

bool vf_dec__seq(vf_dec *d, const vf_ynode *n, const char *path)
{
	if (n->type == VF_YNODE_SEQ)
		return true;
	vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a list, not %s", path, vf_dec__type_of(n));
	return false;
}

/* A string: quoted, or plain text that YAML would not read as a boolean,
 * number or null. *out is set only on success. */
bool vf_dec__str(vf_dec *d, const vf_ynode *n, const char *path, char **out)
{
	if (n->type != VF_YNODE_SCALAR || vf_ynode_is_null(n)) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a string, not %s", path, vf_dec__type_of(n));
		return false;
	}
	if (vf_dec__is_bool(n) || vf_dec__is_number(n)) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a string, not %s; quote it (\"%s\") to use it as text",
			     path, vf_dec__type_of(n), n->value);
		return false;
	}
	if (strlen(n->value) != n->len) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must not contain a NUL byte", path);
		return false;
	}
	*out = vf_strdup(n->value);
	return true;
}

/* A scalar's text, quoted or not (sizes, modes, durations, owners). */
bool vf_dec__text(vf_dec *d, const vf_ynode *n, const char *path, const char **out)
{
	if (n->type != VF_YNODE_SCALAR || vf_ynode_is_null(n) || vf_dec__is_bool(n) ||
	    strlen(n->value) != n->len) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a string or number, not %s", path,
			     vf_dec__type_of(n));
		return false;
	}
	*out = n->value;
	return true;
}

bool vf_dec__name(vf_dec *d, const vf_ynode *n, const char *path, char **out)
{
	char *s = NULL;
	if (!vf_dec__str(d, n, path, &s)) {
		if (n->type == VF_YNODE_SCALAR && strlen(n->value) != n->len) {
			/* vf_dec__str already said it holds a NUL */
		}
		return false;
	}
	vf_error err = { 0 };
	if (vf_name_check(s, strlen(s), path, &err) < 0) {
		vf_dec__fail_err(d, n->pos, &err);
		free(s);
		return false;
	}
	*out = s;
	return true;
}

bool vf_dec__bool(vf_dec *d, const vf_ynode *n, const char *path, bool *out)
{
	if (vf_dec__is_bool(n)) {
		*out = strcmp(n->value, "true") == 0;
		return true;
	}
	if (n->type != VF_YNODE_SCALAR) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be true or false, not %s", path, vf_dec__type_of(n));
		return false;
	}
	_cleanup_free_ char *q = vf_decode_quote(n->value, n->len);
	static const char *const yaml11[] = { "yes", "no", "on", "off", "y", "n", "True", "False",
					      "TRUE", "FALSE", "Yes", "No", "YES", "NO", "On", "Off" };
	bool old = false;
	for (size_t i = 0; i < VF_ARRAY_SIZE(yaml11); i++)
		old = old || strcmp(n->value, yaml11[i]) == 0;
	if (!n->plain && (strcmp(n->value, "true") == 0 || strcmp(n->value, "false") == 0))
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: a boolean must be written true or false without quotes",
			     path, q);
	else if (old && n->plain)
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: use true or false (YAML 1.1 spellings such as yes, no, on and off are not accepted)",
			     path, q);
	else
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: use true or false", path, q);
	return false;
}

bool vf_dec__tri(vf_dec *d, const vf_ynode *n, const char *path, vf_tri *out)
{
	bool b;
	if (!vf_dec__bool(d, n, path, &b))
		return false;
	*out = b ? VF_TRI_TRUE : VF_TRI_FALSE;
	return true;
}

/* A plain decimal integer in [min, max]. */
bool vf_dec__uint(vf_dec *d, const vf_ynode *n, const char *path, uint64_t min, uint64_t max,
		  uint64_t *out)
{
	if (n->type != VF_YNODE_SCALAR || vf_ynode_is_null(n) || vf_dec__is_bool(n)) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a whole number, not %s", path, vf_dec__type_of(n));
		return false;
	}
	_cleanup_free_ char *q = vf_decode_quote(n->value, n->len);
	const char *s = n->value;
	bool neg = *s == '-';
	if (neg)
		s++;
	bool digits = *s && strspn(s, "0123456789") == strlen(s) && strlen(n->value) == n->len;
	if (!digits) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: expected a whole number", path, q);
		return false;
	}
	if (!n->plain) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: numbers must not be quoted", path, q);
		return false;
	}
	uint64_t v = 0;
	bool over = false;
	for (; *s; s++)
		over = over || __builtin_mul_overflow(v, 10, &v) ||
		       __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v);
	if (neg && v != 0)
		over = true;
	if (over || v < min || v > max) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: must be between %llu and %llu", path,
			     n->value, (unsigned long long)min, (unsigned long long)max);
		return false;
	}
	*out = v;
	return true;
}

/* Index of n's value in choices[n_choices], or -1 after reporting. */
int vf_dec__enum(vf_dec *d, const vf_ynode *n, const char *path, const char *const *choices,
		 size_t n_choices)
{
	if (n->type != VF_YNODE_SCALAR || vf_ynode_is_null(n)) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a string, not %s", path, vf_dec__type_of(n));
		return -1;
	}
	for (size_t i = 0; i < n_choices; i++)
		if (strlen(choices[i]) == n->len && strcmp(choices[i], n->value) == 0)
			return (int)i;
	_cleanup_free_ char *q = vf_decode_quote(n->value, n->len);
	_cleanup_free_ char *list = vf_dec__choices(choices, n_choices);
	const char *hint = vf_dec__suggest(n->value, choices, n_choices);
	if (hint)
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s; did you mean \"%s\"? (use %s)", path, q,
			     hint, list);
	else
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s (use %s)", path, q, list);
	return -1;
}

void vf_dec__uuid(vf_dec *d, const vf_ynode *n, const char *path, bool *has, uuid_t out,
		  vf_pos *pos)
{
	char *s = NULL;
	if (!vf_dec__str(d, n, path, &s))
		return;
	vf_error err = { 0 };
	if (vf_uuid_parse_strict(s, out, &err) < 0)
		vf_dec__fail_err(d, n->pos, &err);
	else {
		*has = true;
		*pos = n->pos;
	}
	free(s);
}

void vf_dec__size(vf_dec *d, const vf_ynode *n, const char *path, uint64_t *out)
{
	const char *s;
	if (!vf_dec__text(d, n, path, &s))
		return;
	vf_error err = { 0 };
	if (vf_size_parse(s, out, &err) < 0)
		vf_dec__fail_err(d, n->pos, &err);
}

void vf_dec__volref(vf_dec *d, const vf_ynode *n, const char *path, vf_volref *r)
{
	static const char *const fields[] = { "pool", "name", NULL };
	if (!vf_dec__map(d, n, path))
		return;
	_cleanup_free_ char *where = vf_asprintf("%s %s", d->kind, path);
	vf_dec__fields(d, n, fields, where);
	r->pos = n->pos;
	const vf_ynode *v;
	_cleanup_free_ char *ppath = vf_asprintf("%s.pool", path);
	_cleanup_free_ char *npath = vf_asprintf("%s.name", path);
	if ((v = vf_ynode_get(n, "pool")))
		vf_dec__name(d, v, ppath, &r->pool);
	else
		vf_dec__missing(d, n, "pool", where, NULL);
	if ((v = vf_ynode_get(n, "name")))
		vf_dec__name(d, v, npath, &r->name);
	else
		vf_dec__missing(d, n, "name", where, NULL);
}

void vf_dec__abspath(vf_dec *d, const vf_ynode *n, const char *path, char **out)
{
	char *s = NULL;
	if (!vf_dec__str(d, n, path, &s))
		return;
	if (s[0] != '/') {
		_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: must be an absolute path", path, q);
		free(s);
		return;
	}
	*out = s;
}

/* ---- blocks more than one kind uses ------------------------------------- */

static void vf_dec__id(vf_dec *d, const vf_ynode *n, const char *path, int64_t *out, bool user)
{
	const char *s;
	if (!vf_dec__text(d, n, path, &s))
		return;
	if (*s && strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		unsigned long long v = strtoull(s, NULL, 10);
		if (errno || v >= UINT32_MAX) {
			vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: too large for a %s id", path, s,
				     user ? "user" : "group");
			return;
		}
		*out = (int64_t)v;
		return;
	}
	_cleanup_free_ char *q = vf_decode_quote(n->value, n->len);
	if (user) {
		struct passwd pw, *res = NULL;
		char buf[4096];
		if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) == 0 && res) {
			*out = (int64_t)res->pw_uid;
			return;
		}
	} else {
		struct group gr, *res = NULL;
		char buf[8192];
		if (getgrnam_r(s, &gr, buf, sizeof(buf), &res) == 0 && res) {
			*out = (int64_t)res->gr_gid;
			return;
		}
	}
	vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: no such %s on this host", path, q,
		     user ? "user" : "group");
}

void vf_dec__perms(vf_dec *d, const vf_ynode *n, vf_perms *p)
{
	static const char *const fields[] = { "owner", "group", "mode", NULL };
	if (!vf_dec__map(d, n, "spec.permissions"))
		return;
	_cleanup_free_ char *where = vf_asprintf("%s spec.permissions", d->kind);
	vf_dec__fields(d, n, fields, where);
	p->pos = n->pos;
	const vf_ynode *v;
	if ((v = vf_ynode_get(n, "owner")))
		vf_dec__id(d, v, "spec.permissions.owner", &p->owner, true);
	if ((v = vf_ynode_get(n, "group")))
		vf_dec__id(d, v, "spec.permissions.group", &p->group, false);
	const char *s;
	if ((v = vf_ynode_get(n, "mode")) && vf_dec__text(d, v, "spec.permissions.mode", &s)) {
		vf_error err = { 0 };
		if (vf_mode_parse(s, &p->mode, &err) < 0)
			vf_dec__fail_err(d, v->pos, &err);
	}
}

void vf_dec__spec_uuid(vf_object *o, bool has, uuid_t spec_uuid)
{
	if (has) {
		uuid_copy(o->uuid, spec_uuid);
		return;
	}
	vf_uuid_derive(o->kind, NULL, o->name, o->uuid);
	uuid_copy(spec_uuid, o->uuid);
}

/* ---- spec.xml (decode_value.h) -------------------------------------------- */

xmlNodePtr vf_dec__xml_child(xmlNodePtr parent, const char *name)
{
	for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !c->ns && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

char *vf_dec__xml_attr(xmlNodePtr n, const char *attr)
{
	if (!n)
		return NULL;
	xmlChar *v = attr ? xmlGetProp(n, (const xmlChar *)attr) : xmlNodeGetContent(n);
	char *r = v && *v ? vf_strdup((const char *)v) : NULL;
	xmlFree(v);
	return r;
}

char *vf_dec__xml_get(xmlNodePtr parent, const char *name, const char *attr)
{
	return vf_dec__xml_attr(vf_dec__xml_child(parent, name), attr);
}

void vf_dec__raw_xml(vf_dec *d, const vf_ynode *n, const char *root_name, const char *name,
		     char **ret_xml, char hash[65], vf_pos *xml_pos, bool *has_uuid, uuid_t uuid,
		     vf_pos *uuid_pos)
{
	if (!vf_dec__str(d, n, "spec.xml", ret_xml))
		return;
	const char *xml = *ret_xml;
	*xml_pos = n->pos;
	vf_sha256_hex(xml, strlen(xml), hash);
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	if (!ctxt)
		abort();
	xmlDocPtr doc = xmlCtxtReadMemory(ctxt, xml, (int)strlen(xml), "spec.xml", NULL,
					  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		_cleanup_free_ char *msg = vf_strdup(e && e->message ? e->message : "unknown error");
		size_t l = strlen(msg);
		while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
			msg[--l] = '\0';
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: not well-formed XML (line %d of the XML): %s",
			     e ? e->line : 0, msg);
		xmlFreeParserCtxt(ctxt);
		return;
	}
	xmlFreeParserCtxt(ctxt);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (doc->intSubset) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: a DOCTYPE is not allowed");
	} else if (!root || strcmp((const char *)root->name, root_name) != 0) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: the root element must be <%s>, not <%s>",
			     root_name, root ? (const char *)root->name : "");
	} else {
		xmlChar *xname = NULL, *xuuid = NULL;
		for (xmlNodePtr c = root->children; c; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			if (!xname && strcmp((const char *)c->name, "name") == 0)
				xname = xmlNodeGetContent(c);
			else if (!xuuid && strcmp((const char *)c->name, "uuid") == 0)
				xuuid = xmlNodeGetContent(c);
		}
		if (!xname)
			vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: <name> is missing; it must be \"%s\" (metadata.name)",
				     name ? name : "");
		else if (name && strcmp((const char *)xname, name) != 0) {
			_cleanup_free_ char *q = vf_decode_quote((const char *)xname, strlen((const char *)xname));
			vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: <name> is %s but metadata.name is \"%s\"",
				     q, name);
		}
		if (xuuid) {
			uuid_t u;
			char s[37];
			_cleanup_free_ char *q = vf_decode_quote((const char *)xuuid, strlen((const char *)xuuid));
			vf_error err = { 0 };
			if (vf_uuid_parse_strict((const char *)xuuid, u, &err) < 0) {
				vf_error_clear(&err);
				vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: <uuid> %s is not a valid UUID", q);
			} else if (*has_uuid && uuid_compare(u, uuid) != 0) {
				uuid_unparse_lower(uuid, s);
				vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: <uuid> is %s but spec.uuid is \"%s\"",
					     q, s);
			} else if (!*has_uuid) {
				/* the XML's own UUID is the identity libvirt will use */
				uuid_copy(uuid, u);
				*has_uuid = true;
				*uuid_pos = n->pos;
			}
		}
		xmlFree(xname);
		xmlFree(xuuid);
	}
	xmlFreeDoc(doc);
}
